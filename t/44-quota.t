#!/usr/bin/perl
# 44-quota: storage quota under concurrency, through the real stack. Proves:
# 8 uploads of 2 MiB started at the same instant against a 10 MiB quota
# store exactly the 5 that fit and refuse the other 3 with 507
# quota_exceeded (no other answer); storage_used never exceeds the quota and
# always equals the sum of the sizes of every retained version of every
# live file, which is also what /api/auth/user reports; what was stored is
# byte-exact, and what was refused leaves no file, no version and (after
# gc) no blob. 6 concurrent uploads of one name (policy version) make one
# file with versions 1..6, versions_keep of them retained and counted.
# Deleting a file releases its usage so the next upload fits, and a quota of
# 0 still takes an empty file but not one byte.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

use Coffer::Test qw(problem_ok upload_ok upload_refused_ok random_bytes sql_id);

my $s = Coffer::Test->stack;
my $MiB = 1 << 20;
my $KEEP = $s->config('versions_keep') // 10;
my $MAX_FILE = $s->config_size('max_file_size', 500 * $MiB);
plan skip_all => 'max_file_size is under 2 MiB on this stack' if $MAX_FILE < 2 * $MiB;

# Start one upload per job in its own process, all released at the same
# instant; returns their answers as {status, json}, in job order.
sub race {
	my ($c, @jobs) = @_;
	pipe(my $go_r, my $go_w) or die "pipe: $!";
	my @kids;
	for my $job (@jobs) {
		pipe(my $res_r, my $res_w) or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			close $go_w;
			close $res_r;
			sysread $go_r, my $x, 1;    # returns when the parent closes $go_w
			my $r = eval { $c->upload(%$job, timeout => 120) };
			my $out = $Coffer::Test::JSON->encode($r ? { status => $r->{status}, json => $r->{json} }
				: { status => 0, error => "$@" });
			syswrite $res_w, $out;
			close $res_w;
			POSIX::_exit(0);    # no END blocks: the stack belongs to the parent
		}
		close $res_w;
		push @kids, [ $pid, $res_r ];
	}
	close $go_r;
	sleep 0.3;    # every child waits at the barrier
	close $go_w;
	my @res;
	for my $k (@kids) {
		my ($pid, $fh) = @$k;
		my $out = do { local $/; <$fh> };
		close $fh;
		waitpid $pid, 0;
		push @res, eval { $Coffer::Test::JSON->decode($out // '') } || { status => 0, error => 'no answer' };
	}
	return @res;
}

sub consistent_ok {
	my ($c, $name) = @_;
	my $u = $s->usage($c);
	subtest $name => sub {
		cmp_ok $u->{used}, '<=', $u->{quota}, "storage_used $u->{used} <= quota $u->{quota}";
		is $u->{used}, $u->{retained}, 'storage_used = sum of the retained versions of live files';
		is $c->get('/api/auth/user')->{json}{storage}{used}, $u->{used}, '/api/auth/user reports the same usage';
	};
	return $u;
}

# ------------------------------------------------------------ 8 x 2 MiB against 10 MiB

my $alice = $s->register_user;
$s->set_quota($alice, 10 * $MiB);
my @data = map { random_bytes(2 * $MiB) } 1 .. 8;
my @res = race($alice, map { { files => [ [ "race-$_.bin", $data[$_] ] ] } } 0 .. 7);
my @status = map { $_->{status} } @res;
my $ok = grep { $_ == 201 } @status;
my $full = grep { $_ == 507 } @status;
is $ok + $full, 8, 'every answer is 201 or 507' or diag "statuses: @status";
is $ok, 5, 'exactly the 5 uploads that fit were stored (10 MiB / 2 MiB)' or diag "statuses: @status";
is $full, 3, 'the other 3 were refused with 507';
for my $i (grep { $status[$_] == 507 } 0 .. 7) {
	my $j = $res[$i]{json} || {};
	is $j->{code}, 'quota_exceeded', "upload $i: 507 quota_exceeded";
}
my @stored = grep { $status[$_] == 201 } 0 .. 7;
my @refused = grep { $status[$_] != 201 } 0 .. 7;
my $u = consistent_ok($alice, 'after the race: usage within quota and consistent');
is $u->{used}, 2 * $MiB * $ok, 'storage_used = 2 MiB x stored uploads';
is $u->{files}, $ok, 'one live file per 201';
is_deeply [ sort map { $_->[0] } $s->psql_rows("SELECT name FROM files WHERE user_id = '$alice->{user}{id}'") ],
	[ sort map { "race-$_.bin" } @stored ], 'exactly the files whose upload answered 201';
for my $i (@stored) {
	my $f = $res[$i]{json}{files}[0] || {};
	my $r = $alice->get('/api/files/' . sql_id($f->{id}) . '/download');
	ok $r->{status} == 200 && $r->{content} eq $data[$i], "race-$i.bin downloads byte-exact";
}
my $gc = $s->gc('--grace', 0);
is $gc->{exit}, 0, 'coffer-admin gc --grace 0' or diag "$gc->{out}$gc->{err}";
for my $i (@refused) {
	my $hex = sha256_hex($data[$i]);
	is $s->psql("SELECT count(*) FROM blobs WHERE sha256 = decode('$hex', 'hex')"), 0, "refused race-$i.bin: no blob row";
	ok !-e $s->blob_path($hex) && !-e $s->blob_path($hex, 1), "refused race-$i.bin: no blob on disk after gc";
}

# ------------------------------------------------------------ delete releases usage

my $victim = $res[ $stored[0] // 0 ]{json}{files}[0] || {};
my $r = $alice->delete('/api/files/' . sql_id($victim->{id}));
is $r->{status}, 204, 'delete one stored file' or diag $r->describe;
$u = consistent_ok($alice, 'after the delete');
is $u->{used}, 2 * $MiB * ($ok - 1), 'its 2 MiB were released';
$r = $alice->upload(files => [ [ 'after-delete.bin', random_bytes(2 * $MiB) ] ]);
upload_ok($r, 1, [], 'a 2 MiB upload fits again');
$r = $alice->upload(files => [ [ 'one-more.bin', random_bytes(2 * $MiB) ] ]);
# (refused early from Content-Length: a plain problem without files/errors)
problem_ok($r, 507, 'quota_exceeded', '... and the next one does not');
consistent_ok($alice, 'at the end for alice');

# ------------------------------------------------------------ one name, concurrent versions

my $bob = $s->register_user;
$s->set_quota($bob, 6 * $MiB);
my @vdata = map { random_bytes($MiB) } 1 .. 6;
@res = race($bob, map { { files => [ [ 'shared.bin', $vdata[$_] ] ] } } 0 .. 5);
@status = map { $_->{status} } @res;
is "@status", join(' ', (201) x 6), 'six concurrent uploads of one name: all 201';
my @files = map { $_->{json}{files}[0] || {} } @res;
my %ids = map { $_->{id} => 1 } grep { defined $_->{id} } @files;
is scalar keys %ids, 1, 'all six are the same file (no duplicate, no conflict)';
is_deeply [ sort { $a <=> $b } map { $_->{version} // 0 } @files ], [ 1 .. 6 ], 'with versions 1..6, one each';
is $s->psql("SELECT count(*) FROM files WHERE user_id = '$bob->{user}{id}' AND name = 'shared.bin' AND NOT is_deleted"), 1,
	'one live shared.bin';
my $keep = $KEEP < 6 ? $KEEP : 6;
my $fid = sql_id((keys %ids)[0]);
is_deeply [ map { $_->[0] } $s->psql_rows("SELECT version_number FROM file_versions WHERE file_id = '$fid' ORDER BY 1") ],
	[ 7 - $keep .. 6 ], "versions @{[ 7 - $keep ]}..6 retained (versions_keep $KEEP)";
$u = consistent_ok($bob, 'bob after the version race');
is $u->{used}, $keep * $MiB, "usage = $keep MiB (the retained versions)";
my ($idx) = grep { ($files[$_]{version} // 0) == 6 } 0 .. 5;
ok defined $idx && $bob->get("/api/files/$fid/download")->{content} eq $vdata[$idx], 'the current content is the upload that got version 6';

# ------------------------------------------------------------ quota 0

my $carol = $s->register_user;
$s->set_quota($carol, 0);
$r = $carol->upload(files => [ [ 'empty.txt', '' ] ]);
upload_ok($r, 1, [], 'quota 0: an empty file -> 201');
$r = $carol->upload(files => [ [ 'one.txt', 'x' ] ]);
upload_refused_ok($r, 507, 'quota_exceeded', [ [ 'one.txt', 507, 'quota_exceeded' ] ], 'quota 0: one byte -> 507');
consistent_ok($carol, 'carol: usage 0 within quota 0');

done_testing;
