#!/usr/bin/perl
# 75-check: `coffer-admin check [--repair]` on a stack of its own (the
# suite's stack carries the deliberate damage of other tests). Proves: on a
# healthy store it reads back every referenced blob (raw and gzip, the trash
# included), reports the count and bytes and exits 0 with "check: ok"; a
# user's storage_used that drifted from the versions of their live files is
# reported with both figures and exit 1, repaired by --repair (the figure
# then equals a recount) and not by a plain check; a drift whose true usage
# is over the quota is reported as such and left until the quota is raised;
# a blob's ref_count that drifted from its versions is reported and
# repaired; a blob file missing from the volume, a raw file with one byte
# changed and a truncated .gz are each reported (missing, corrupt) with exit
# 1 and come back to ok when the files are restored; and --repair while
# uploads and deletes run leaves no drift behind (it holds the row lock the
# usage triggers take).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use File::Copy qw(copy move);
use POSIX qw(WNOHANG);
use Test::More;

use Coffer::Test qw(upload_ok wait_until);

my $s = Coffer::Test->start(config => {%Coffer::Test::SUITE_CONFIG}, nginx => {%Coffer::Test::SUITE_NGINX});
my $alice = $s->register_user;
my $bob = $s->register_user;

sub check {
	my (@args) = @_;
	my $r = $s->admin('check', @args);
	return ($r->{exit}, $r->{out} . $r->{err});
}

sub put {
	my ($c, $name, $data, $type) = @_;
	my $f = upload_ok($c->upload(fields => { on_conflict => 'version' },
				     files => [ [ $name, $data, $type // 'application/octet-stream' ] ]), 1, [], "upload $name");
	return $f->[0];
}

sub recount {
	my ($c) = @_;
	return $s->psql("SELECT coalesce(sum(v.size), 0) FROM files f JOIN file_versions v ON v.file_id = f.id
		WHERE f.user_id = '$c->{user}{id}' AND NOT f.is_deleted");
}

my $text = "The quick brown fox jumps over the lazy dog; again and again.\n" x 3000;
my $t = put($alice, 'fox.txt', $text, 'text/plain');
my $raw = put($alice, 'noise.bin', join('', map { chr(int rand 256) } 1 .. 40000));
put($alice, 'noise.bin', join('', map { chr(int rand 256) } 1 .. 30000));   # a second version
my $gone = put($bob, 'old.bin', 'x' x 5000 . 'bob');
is $bob->delete("/api/files/$gone->{id}")->{status}, 204, "bob's file to the trash";
put($bob, 'copy-of-fox.txt', $text, 'text/plain');   # the same blob as alice's
my $fox_hex = sha256_hex($text);
ok wait_until(sub { $s->psql("SELECT compression FROM blobs WHERE sha256 = decode('$fox_hex', 'hex')") eq 'gzip'
		&& !-e $s->blob_path($fox_hex) }, 30), 'the text blob is stored gzip (raw copy gone)';

# ---- healthy
my ($exit, $out) = check();
is $exit, 0, 'a healthy store: exit 0' or diag $out;
like $out, qr/^check: ok$/m, '... "check: ok"';
my $nblobs = $s->psql('SELECT count(*) FROM blobs WHERE ref_count > 0');
like $out, qr/ $nblobs blobs read \(\d+ bytes\): 0 missing, 0 corrupt/, "... read back all $nblobs referenced blobs";
like $out, qr/check: 2 users, usage drift 0 .*reference count drift 0/, '... 2 users, no drift';

# ---- usage drift
my $used = $s->psql("SELECT storage_used FROM users WHERE id = '$alice->{user}{id}'");
$s->psql("UPDATE users SET storage_used = storage_used - 1234 WHERE id = '$alice->{user}{id}'");
($exit, $out) = check();
is $exit, 1, 'usage drift: exit 1';
like $out, qr/usage: \Q$alice->{username}\E: storage_used @{[ $used - 1234 ]}, its files' versions add up to $used/,
	'... reported with both figures';
is $s->psql("SELECT storage_used FROM users WHERE id = '$alice->{user}{id}'"), $used - 1234, '... not repaired by a plain check';
($exit, $out) = check('--repair');
is $exit, 0, 'check --repair: exit 0' or diag $out;
like $out, qr/usage: \Q$alice->{username}\E: repaired: storage_used is now $used/, '... repaired';
is $s->psql("SELECT storage_used FROM users WHERE id = '$alice->{user}{id}'"), recount($alice), '... equal to a recount';
is((check())[0], 0, 'a check afterwards: ok');

# ---- drift over the quota: reported, left alone until the quota allows it
my $bused = recount($bob);
$s->psql("UPDATE users SET storage_used = 0, storage_quota = 10 WHERE id = '$bob->{user}{id}'");
($exit, $out) = check('--repair');
is $exit, 1, 'drift over the quota: --repair exits 1';
like $out, qr/usage: \Q$bob->{username}\E: storage_used 0, its files' versions add up to $bused \(over its quota/,
	'... reported as over the quota';
is $s->psql("SELECT storage_used FROM users WHERE id = '$bob->{user}{id}'"), 0, '... and left alone';
$s->set_quota($bob, '1G');
($exit, $out) = check('--repair');
is $exit, 0, 'with a larger quota --repair fixes it' or diag $out;
is $s->psql("SELECT storage_used FROM users WHERE id = '$bob->{user}{id}'"), $bused, '... to the recount';

# ---- reference count drift
$s->psql("UPDATE blobs SET ref_count = ref_count + 5 WHERE sha256 = decode('$fox_hex', 'hex')");
($exit, $out) = check();
is $exit, 1, 'ref_count drift: exit 1';
like $out, qr/blob $fox_hex: ref_count 7, referred to by 2 versions/, '... reported';
($exit, $out) = check('--repair');
is $exit, 0, '... --repair: exit 0' or diag $out;
is $s->psql("SELECT ref_count FROM blobs WHERE sha256 = decode('$fox_hex', 'hex')"), 2, '... ref_count 2 again';

# ---- damage on the volume
my $raw_path = $s->blob_path($raw->{sha256});
move($raw_path, "$raw_path.away") or die "move: $!";
($exit, $out) = check('--repair');
is $exit, 1, 'a blob file missing: exit 1 (nothing to repair it from)';
like $out, qr/blob $raw->{sha256}: missing from the volume \(its file\)/, '... reported missing';
move("$raw_path.away", $raw_path) or die "move back: $!";

copy($raw_path, "$raw_path.orig") or die "copy: $!";
chmod 0644, $raw_path;
open my $fh, '+<', $raw_path or die "open: $!";
binmode $fh;
seek $fh, 1000, 0;
my $byte;
read $fh, $byte, 1;
seek $fh, 1000, 0;
print $fh chr((ord($byte) + 1) % 256);
close $fh;
($exit, $out) = check();
is $exit, 1, 'one byte changed in a raw blob: exit 1';
like $out, qr/blob $raw->{sha256}: corrupt: its file does not hold the 40000 bytes/, '... reported corrupt';
move("$raw_path.orig", $raw_path) or die "restore: $!";

my $gz_path = $s->blob_path($fox_hex, 1);
copy($gz_path, "$gz_path.orig") or die "copy: $!";
chmod 0644, $gz_path;
truncate $gz_path, int((-s $gz_path) / 2) or die "truncate: $!";
($exit, $out) = check();
is $exit, 1, 'a truncated .gz: exit 1';
like $out, qr/blob $fox_hex: corrupt: its \.gz does not hold/, '... reported corrupt';
move("$gz_path.orig", $gz_path) or die "restore: $!";
($exit, $out) = check();
is $exit, 0, 'files restored: ok again' or diag $out;

# ---- --repair while the usage changes
my $pid = fork // die "fork: $!";
if ($pid == 0) {
	my $c = $s->client;
	$c->login($alice->{username}, $alice->{password});
	for my $i (1 .. 40) {
		my $r = $c->upload(files => [ [ "busy-$i.bin", "busy $i " x (100 + $i), 'application/octet-stream' ] ]);
		my $id = ref $r->{json} eq 'HASH' && $r->{json}{files} ? $r->{json}{files}[0]{id} : undef;
		$c->delete("/api/files/$id") if $id && $i % 3 == 0;
	}
	exit 0;
}
my $runs = 0;
while (waitpid($pid, WNOHANG) == 0) {
	check('--repair');
	$runs++;
}
is $?, 0, 'the uploader finished';
is $s->psql("SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND name LIKE 'busy-%' AND NOT is_deleted"), 27,
	'... 40 uploads, 13 of them deleted again';
ok $runs >= 1, "check --repair ran $runs times while alice uploaded and deleted";
is $s->psql("SELECT storage_used FROM users WHERE id = '$alice->{user}{id}'"), recount($alice),
	"... alice's usage still equals a recount";
($exit, $out) = check();
is $exit, 0, '... and a check finds nothing wrong' or diag $out;

done_testing;
