#!/usr/bin/perl
# 45-blobs: the content-addressed blob store through the real stack.
# Proves: dedup - the same content uploaded three times by two users is one
# blob row (ref_count 3) and one file on disk at <blob_dir>/ab/cd/<sha256>
# whose bytes hash to its name, while each user is charged the logical
# bytes; trash keeps the references. Compression - a large repetitive text
# becomes a gzip blob (RFC 1952, smaller, gunzips to the original) in the
# background within seconds and its raw copy goes after raw_grace; random
# bytes and tiny texts stay raw; the compressed file downloads byte-exact
# with and without Accept-Encoding: gzip, and Range (single, suffix,
# clamped, multiple, with gzip accepted, If-Range), HEAD, 416 and 304 all
# answer with the original bytes; dedup onto a compressed blob works. GC -
# `coffer-admin gc --grace 0` removes blobs whose last version was trimmed
# (row and file), files on disk without a row, and temp files, keeps temp
# files younger than the grace, keeps every referenced blob intact, and
# running it while an upload is in flight or while a dead blob is being
# uploaded again loses nothing.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use File::Path qw(make_path);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Coffer::Test qw(upload_ok random_bytes sql_id wait_until byteranges multipart_body);

my $s = Coffer::Test->stack;
my $JOBS = $s->config('jobs_interval') // 5;
my $GRACE = $s->config('raw_grace') // 60;
my $compress_on = ($s->config('compress') // 'on') !~ /^(?:off|0|false)$/i;

sub blob_row {
	my ($hex) = @_;
	my ($r) = $s->psql_rows("SELECT size, stored_size, compression, ref_count FROM blobs WHERE sha256 = decode('$hex', 'hex')");
	return $r ? { size => $r->[0], stored_size => $r->[1], compression => $r->[2], ref_count => $r->[3] } : undef;
}

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or return undef;
	local $/;
	return scalar <$fh>;
}

sub up1 {
	my ($c, $name, $data) = @_;
	my $files = upload_ok($c->upload(files => [ [ $name, $data ] ]), 1, [], "upload $name");
	return $files->[0] || {};
}

sub dl {
	my ($c, $f, %h) = @_;
	return $c->get('/api/files/' . sql_id($f->{id}) . '/download', { headers => \%h });
}

# ------------------------------------------------------------ dedup

my $alice = $s->register_user;
my $bob = $s->register_user;
my $X = random_bytes(50_000);
my $xhex = sha256_hex($X);
my $a1 = up1($alice, 'a.bin', $X);
my $b1 = up1($bob, 'b.bin', $X);
my $a2 = up1($alice, 'copy.bin', $X);
is_deeply blob_row($xhex), { size => 50_000, stored_size => 50_000, compression => 'none', ref_count => 3 },
	'one blob row for the three uploads: ref_count 3, raw';
my $xpath = $s->blob_path($xhex);
like $xpath, qr{/blobs/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$}, 'path <blob_dir>/ab/cd/<sha256>';
ok -f $xpath, 'the blob file is there';
is -s $xpath, 50_000, '... 50000 bytes';
is sha256_hex(slurp($xpath) // ''), $xhex, '... whose SHA-256 is its name';
is_deeply [ grep { /$xhex/ } $s->blob_files ], [ substr($xpath, length($s->blob_dir) + 1) ], 'stored once on disk (no copy, no .gz)';
is $s->usage($alice)->{used}, 100_000, 'alice is charged both of her files (dedup does not reduce logical bytes)';
is $s->usage($bob)->{used}, 50_000, 'bob is charged his';
ok dl($alice, $a1)->{content} eq $X && dl($bob, $b1)->{content} eq $X && dl($alice, $a2)->{content} eq $X,
	'all three download byte-exact';
is scalar(grep { /^up-/ } $s->tmp_files), 0, 'no upload temp file left in blob_dir/tmp';

is $bob->delete('/api/files/' . sql_id($b1->{id}))->{status}, 204, 'bob moves b.bin to the trash';
is +(blob_row($xhex) || {})->{ref_count}, 3, 'the trashed version still references the blob (restorable)';
is $s->usage($bob)->{used}, 0, "bob's usage released";

# ------------------------------------------------------------ compression

my $T = join '', map { sprintf "2026-11-26T00:%02d:%02dZ INFO coffer-worker[%d] GET /api/files/%06d/download 200 %dms\n",
	$_ / 60 % 60, $_ % 60, 4000 + $_ % 7, $_, $_ % 13 } 1 .. 20_000;
my $thex = sha256_hex($T);
my $LEN = length $T;
my $R = random_bytes(64 * 1024);
my $small = "small text file\n" x 10;    # 160 bytes
my $r1 = up1($alice, 'noise.bin', $R);
my $s1 = up1($alice, 'small.txt', $small);
my $t1 = up1($alice, 'log.txt', $T);

SKIP: {
	skip 'compress is off on this stack', 1 unless $compress_on;
	my $t0 = time;
	my $done = wait_until(sub { ((blob_row($thex) || {})->{compression} // '') eq 'gzip' }, 10 + 3 * $JOBS, 0.1);
	ok $done, sprintf('the log is compressed in the background (%.1fs; jobs_interval %ds)', time - $t0, $JOBS)
		or diag 'blob: ' . $Coffer::Test::JSON->encode(blob_row($thex));
	my $row = blob_row($thex) || {};
	my $gz = $s->blob_path($thex, 1);
	ok -f $gz, 'the .gz file is there';
	ok defined $row->{stored_size} && -f $gz && $row->{stored_size} == -s $gz, 'stored_size is the size of the .gz';
	is $row->{size}, $LEN, 'size stays the original size';
	cmp_ok $row->{stored_size} // $LEN, '<', $LEN / 4, 'it saves a lot (repetitive text)';
	my $gzdata = slurp($gz) // '';
	is substr($gzdata, 0, 3), "\x1f\x8b\x08", 'gzip format (RFC 1952, deflate)';
	my $plain;
	ok length $gzdata && gunzip(\$gzdata => \$plain), 'gunzips' or diag $GunzipError // '';
	ok defined $plain && $plain eq $T, '... to exactly the original';
	ok wait_until(sub { !-e $s->blob_path($thex) }, $GRACE + 3 * $JOBS + 5, 0.1) && -f $gz,
		"the raw copy is removed after raw_grace ($GRACE s), the .gz stays";
	sleep 2 * $JOBS;    # another pass or two of the job
	is +(blob_row(sha256_hex($R)) || {})->{compression}, 'none', 'random bytes stay raw';
	ok -f $s->blob_path(sha256_hex($R)), '... raw file in place';
	is +(blob_row(sha256_hex($small)) || {})->{compression}, 'none', 'a 160-byte text stays raw (under 1 KiB)';
	is $s->usage($alice)->{used}, 100_000 + 64 * 1024 + length($small) + $LEN, 'usage counts original sizes, not compressed ones';

	# downloads of the compressed blob
	my $r = dl($alice, $t1);
	is $r->{status}, 200, 'GET without Accept-Encoding -> 200';
	ok $r->{content} eq $T, '... the original bytes (nginx gunzips)';
	ok !defined $r->header('content-encoding'), '... no Content-Encoding';
	like $r->header('etag') // '', qr/^(?:W\/)?"$thex"$/, '... ETag of the original content';
	is $r->header('x-content-type-options'), 'nosniff', '... nosniff';

	$r = dl($alice, $t1, 'Accept-Encoding' => 'gzip');
	is $r->{status}, 200, 'GET with Accept-Encoding: gzip -> 200';
	is $r->header('content-encoding'), 'gzip', '... Content-Encoding: gzip (the stored .gz)';
	like $r->header('vary') // '', qr/Accept-Encoding/i, '... Vary: Accept-Encoding';
	my $unz;
	ok gunzip(\$r->{content} => \$unz) && $unz eq $T, '... which gunzips to the original';

	$r = dl($alice, $t1, 'Accept-Encoding' => 'br;q=1.0, gzip;q=0.5, identity;q=0.1');
	is $r->{status}, 200, 'Accept-Encoding with q-values -> 200';
	my $body = ($r->header('content-encoding') // '') eq 'gzip' ? do { my $u; gunzip(\$r->{content} => \$u); $u } : $r->{content};
	ok defined $body && $body eq $T, '... the original, encoded or not';

	for my $case (
		[ 'bytes=0-99', 0, 99 ],
		[ 'bytes=700000-700999', 700_000, 700_999 ],
		[ 'bytes=-1234', $LEN - 1234, $LEN - 1 ],
		[ "bytes=@{[ $LEN - 10 ]}-@{[ $LEN + 1000 ]}", $LEN - 10, $LEN - 1 ],
		[ 'bytes=123456-', 123_456, $LEN - 1 ],
	) {
		my ($range, $from, $to) = @$case;
		for my $ae (undef, 'gzip') {
			$r = dl($alice, $t1, Range => $range, (defined $ae ? ('Accept-Encoding' => $ae) : ()));
			subtest "compressed blob, Range $range" . (defined $ae ? ', Accept-Encoding: gzip' : '') => sub {
				is $r->{status}, 206, 'status 206' or return diag $r->describe;
				is $r->header('content-range'), "bytes $from-$to/$LEN", "Content-Range bytes $from-$to/$LEN";
				ok !defined $r->header('content-encoding'), 'no Content-Encoding: original bytes';
				ok $r->{content} eq substr($T, $from, $to - $from + 1), 'byte-exact';
				is $r->header('content-length'), $to - $from + 1, 'Content-Length' if defined $r->header('content-length');
			};
		}
	}
	$r = dl($alice, $t1, Range => 'bytes=0-9,500000-500099,-5');
	is $r->{status}, 206, 'compressed blob, three ranges -> 206';
	my $parts = byteranges($r);
	is_deeply [ map { [ $_->{start}, $_->{end} ] } @{ $parts || [] } ], [ [ 0, 9 ], [ 500_000, 500_099 ], [ $LEN - 5, $LEN - 1 ] ],
		'... multipart/byteranges with the three parts';
	ok $parts && !grep({ $_->{data} ne substr($T, $_->{start}, $_->{end} - $_->{start} + 1) } @$parts), '... byte-exact';
	$r = dl($alice, $t1, Range => "bytes=$LEN-");
	is $r->{status}, 416, 'compressed blob, Range past the end -> 416';
	is $r->header('content-range'), "bytes */$LEN", "... Content-Range: bytes */$LEN (the original size)";
	$r = dl($alice, $t1, Range => 'bytes=100-199', 'If-Range' => qq("$thex"));
	is $r->{status}, 206, 'compressed blob, If-Range: the ETag -> 206';
	ok $r->{content} eq substr($T, 100, 100), '... byte-exact';
	$r = dl($alice, $t1, Range => 'bytes=100-199', 'If-Range' => '"' . ('0' x 64) . '"');
	is $r->{status}, 200, 'compressed blob, If-Range: another ETag -> 200';
	my $full = ($r->header('content-encoding') // '') eq 'gzip' ? do { my $u; gunzip(\$r->{content} => \$u); $u } : $r->{content};
	ok defined $full && $full eq $T, '... the whole original';
	for my $ae (undef, 'gzip') {
		$r = dl($alice, $t1, 'If-None-Match' => qq("$thex"), (defined $ae ? ('Accept-Encoding' => $ae) : ()));
		is $r->{status}, 304, 'compressed blob, If-None-Match -> 304' . (defined $ae ? ' (gzip accepted)' : '');
	}
	$r = $alice->head('/api/files/' . sql_id($t1->{id}) . '/download');
	is $r->{status}, 200, 'HEAD of the compressed blob -> 200';
	is $r->{content}, '', '... no body';
	ok !defined $r->header('content-length') || $r->header('content-length') == $LEN, '... Content-Length, if any, is the original size';
	ok !defined $r->header('content-encoding'), '... no Content-Encoding without Accept-Encoding';

	# dedup onto the compressed blob
	my $t2 = up1($bob, 'log-copy.txt', $T);
	is +(blob_row($thex) || {})->{ref_count}, 2, 'the same text uploaded again references the compressed blob';
	is +(blob_row($thex) || {})->{compression}, 'gzip', '... which stays gzip';
	ok dl($bob, $t2)->{content} eq $T, '... and downloads byte-exact';
	my $gc = $s->gc('--grace', 0);
	is $gc->{exit}, 0, 'gc --grace 0' or diag "$gc->{out}$gc->{err}";
	ok !-e $s->blob_path($thex) && -f $gz, 'after gc: only the .gz of the text remains';
	ok dl($bob, $t2, Range => 'bytes=5-14')->{content} eq substr($T, 5, 10), '... Range still byte-exact';
}

# ------------------------------------------------------------ gc

my $carol = $s->register_user;
my @gcv = map { random_bytes(3000 + $_) } 1 .. 4;
up1($carol, 'gc.bin', $_) for @gcv;    # versions_keep 3 on the test stack: version 1 is trimmed
my $dead = sha256_hex($gcv[0]);
my $keep = $s->config('versions_keep') // 10;
SKIP: {
	skip "versions_keep $keep keeps all four versions", 2 if $keep >= 4;
	my $row = blob_row($dead);
	ok !$row || $row->{ref_count} == 0, 'the blob of the trimmed version has ref_count 0 (or is gone)';
	is $s->psql("SELECT count(*) FROM file_versions WHERE sha256 = decode('$dead', 'hex')"), 0, '... no version points at it';
}

my $fake = sha256_hex('never uploaded ' . rand);
my $fake_path = $s->blob_path($fake);
make_path(substr $fake_path, 0, rindex $fake_path, '/');
open my $fh, '>', $fake_path or die "$fake_path: $!";
print $fh 'orphan';
close $fh;
my $fake2 = sha256_hex('never uploaded either ' . rand);
my $fake2_path = $s->blob_path($fake2, 1);
make_path(substr $fake2_path, 0, rindex $fake2_path, '/');
open $fh, '>', $fake2_path or die "$fake2_path: $!";
print $fh "\x1f\x8b\x08orphan";
close $fh;

my $tmp = $s->blob_tmp_dir;
make_path($tmp);
for my $n (qw(up-stale-45 up-fresh-45 gz-stale-45)) {
	open $fh, '>', "$tmp/$n" or die "$tmp/$n: $!";
	print $fh 'partial';
	close $fh;
}
utime time - 7200, time - 7200, "$tmp/up-stale-45", "$tmp/gz-stale-45";

my $gc = $s->gc;
is $gc->{exit}, 0, 'coffer-admin gc (default grace 3600 s)' or diag "$gc->{out}$gc->{err}";
ok !-e "$tmp/up-stale-45", 'removes an upload temp file two hours old';
ok !-e "$tmp/gz-stale-45", 'removes a compression temp file two hours old';
ok -e "$tmp/up-fresh-45", 'keeps a temp file younger than the grace (an upload may be writing it)';

$gc = $s->gc('--grace', 0);
is $gc->{exit}, 0, 'coffer-admin gc --grace 0' or diag "$gc->{out}$gc->{err}";
ok !-e "$tmp/up-fresh-45", 'removes the fresh temp file with --grace 0';
ok !-e $fake_path, 'removes a blob file that has no row';
ok !-e $fake2_path, 'removes a .gz file that has no row';
SKIP: {
	skip "versions_keep $keep keeps all four versions", 2 if $keep >= 4;
	ok !blob_row($dead), 'removes the row of the unreferenced blob';
	ok !-e $s->blob_path($dead) && !-e $s->blob_path($dead, 1), '... and its file';
}
my @broken;
for my $b ($s->psql_rows("SELECT encode(sha256, 'hex'), compression, stored_size FROM blobs WHERE ref_count > 0")) {
	my ($hex, $comp, $size) = @$b;
	my $p = $s->blob_path($hex, $comp eq 'gzip');
	push @broken, "$hex ($comp)" unless -f $p && (-s $p || 0) == $size;
}
is_deeply \@broken, [], 'every referenced blob is still on disk with its stored_size';
ok dl($alice, $a1)->{content} eq $X, 'downloads still byte-exact after gc';
is $alice->get('/api/files/' . sql_id($a1->{id}))->{status}, 200, '... and the files are all there';

# gc with the default grace while an upload is in flight loses nothing
my $slow = random_bytes(300_000);
my ($body, $ct) = multipart_body(files => [ [ 'in-flight.bin', $slow ] ]);
my $raw = $carol->raw;
$raw->send_head(POST => '/api/upload', { 'Content-Type' => $ct, 'Content-Length' => length $body });
$raw->send(substr $body, 0, 150_000);
sleep 0.5;
$gc = $s->gc;
is $gc->{exit}, 0, 'gc during an upload in flight';
$raw->send(substr $body, 150_000);
my $resp = $raw->read_response(timeout => 30);
$raw->close;
is $resp->{status}, 201, '... the upload still succeeds' or diag $resp->describe;
my $inf = ($resp->{json} && $resp->{json}{files} || [])->[0] || {};
ok dl($carol, $inf)->{content} eq $slow, '... byte-exact';

# uploading the content of a dead blob while gc --grace 0 removes it: the
# upload either revives it (row referenced, file on disk) or stores it anew
SKIP: {
	skip "versions_keep $keep keeps every version", 3 if $keep >= 4;
	my @revived;
	for my $i (1 .. 3) {
		my @v = map { random_bytes(2000 + $_) } 1 .. $keep + 1;
		up1($carol, "revive-$i.bin", $_) for @v;    # $v[0] is now unreferenced
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			my $r = $carol->upload(files => [ [ "revived-$i.bin", $v[0] ] ]);
			POSIX::_exit($r->{status} == 201 ? 0 : 1);
		}
		$s->gc('--grace', 0);
		waitpid $pid, 0;
		my $st = $? >> 8;
		my $hex = sha256_hex($v[0]);
		my $row = blob_row($hex) || {};
		push @revived, {
			i => $i, upload => $st, ref => $row->{ref_count},
			disk => (-f $s->blob_path($hex) || -f $s->blob_path($hex, 1)) ? 1 : 0,
		};
	}
	is_deeply [ map { $_->{upload} } @revived ], [ 0, 0, 0 ], 'each upload of a dead blob\'s content succeeded during gc';
	is_deeply [ map { $_->{ref} } @revived ], [ 1, 1, 1 ], '... its blob row is referenced once';
	is_deeply [ map { $_->{disk} } @revived ], [ 1, 1, 1 ], '... and its file is on disk' or diag explain \@revived;
}
is scalar(grep { /^up-/ } $s->tmp_files), 0, 'no upload temp file left behind';

done_testing;
