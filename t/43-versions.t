#!/usr/bin/perl
# 43-versions: file versions through the real stack. Proves: uploading the
# same name again makes versions 1..5, of which only the newest
# versions_keep (3 on the test stack) are retained (older rows gone, their
# blob references released, their bytes no longer counted); GET
# /api/files/:id/versions lists them newest first with exactly
# {version, size, sha256, mime_type, created_at, is_current}, pages with
# ?limit and ?cursor (every version once, next_cursor null at the end) and
# validates both; each retained version downloads byte-exact with its own
# ETag and Last-Modified by ?version=N and /versions/N/download (HEAD too),
# trimmed or unknown versions are 404 and malformed ones 400; restoring
# version N makes its content a new current version (latest + 1), trims to
# versions_keep, keeps usage = sum of retained versions, logs
# `restore_version`, refuses with 507 over quota (changing nothing) and 404
# for unknown versions and other users' files.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;

use Coffer::Test qw(problem_ok upload_ok file_object_ok random_bytes sql_id api_epoch http_date_epoch);

my $s = Coffer::Test->stack;
my $KEEP = $s->config('versions_keep') // 10;
plan skip_all => "versions_keep is $KEEP on this stack; these tests need 2..4" unless $KEEP >= 2 && $KEEP <= 4;
my $N = $KEEP + 2;    # versions uploaded: the first two get trimmed

my $alice = $s->register_user;
my $bob = $s->register_user;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

# ------------------------------------------------------------ versions 1..N

my @content = map { random_bytes(1000 * $_ + 17) } 1 .. $N;    # distinct sizes and contents
my ($f, @obj);
for my $v (1 .. $N) {
	my $r = $alice->upload(files => [ [ 'doc.bin', $content[ $v - 1 ] ] ]);
	my ($o) = @{ upload_ok($r, 1, [], "upload doc.bin, version $v") };
	push @obj, $o || {};
}
$f = $obj[-1];
my $id = sql_id($f->{id});
is_deeply [ map { $_->{id} } @obj ], [ ($f->{id}) x $N ], "one file for all $N uploads";
is_deeply [ map { $_->{version} } @obj ], [ 1 .. $N ], "versions 1..$N";
file_object_ok($alice->get("/api/files/$id")->{json}, { version => $N, size => length $content[-1],
	sha256 => sha256_hex($content[-1]) }, "the file is at version $N with the last content");

my @kept = ($N - $KEEP + 1 .. $N);    # retained version numbers
is_deeply [ map { $_->[0] } $s->psql_rows("SELECT version_number FROM file_versions WHERE file_id = '$id' ORDER BY 1") ],
	\@kept, "only the newest $KEEP versions are kept (versions_keep = $KEEP)";
my $u = $s->usage($alice);
my $kept_bytes = 0;
$kept_bytes += length $content[ $_ - 1 ] for @kept;
is $u->{used}, $kept_bytes, 'usage = the sizes of the retained versions only';
is $u->{used}, $u->{retained}, '... = sum of retained versions';
for my $v (1, 2) {
	my $hex = sha256_hex($content[ $v - 1 ]);
	is $s->psql("SELECT count(*) FROM file_versions WHERE sha256 = decode('$hex', 'hex')"), 0,
		"no version row of trimmed version $v is left";
	is $s->psql("SELECT coalesce((SELECT ref_count FROM blobs WHERE sha256 = decode('$hex', 'hex')), 0)"), 0,
		"... its blob has no reference left";
}

# ------------------------------------------------------------ list

my $r = $alice->get("/api/files/$id/versions");
is $r->{status}, 200, 'GET versions -> 200' or diag $r->describe;
is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(items next_cursor)], '{items, next_cursor}';
my $items = $r->{json}{items} || [];
ok exists $r->{json}{next_cursor} && !defined $r->{json}{next_cursor}, 'next_cursor null: one page';
is_deeply [ map { $_->{version} } @$items ], [ reverse @kept ], 'newest first';
for my $it (@$items) {
	my $v = $it->{version} // 0;
	subtest "item of version $v" => sub {
		is_deeply [ sort keys %$it ], [qw(created_at is_current mime_type sha256 size version)], 'exactly its fields';
		is $it->{size}, length $content[ $v - 1 ], 'size';
		is $it->{sha256}, sha256_hex($content[ $v - 1 ]), 'sha256';
		is $it->{mime_type}, 'application/octet-stream', 'mime_type';
		like $it->{created_at}, $TIME, 'created_at';
		ok JSON::PP::is_bool($it->{is_current}), 'is_current is a boolean';
		is !!$it->{is_current}, $v == $N, $v == $N ? 'the current one' : 'not current';
	};
}

my (@seen, $cursor, $pages);
do {
	$r = $alice->get("/api/files/$id/versions?limit=1" . (defined $cursor ? "&cursor=$cursor" : ''));
	is $r->{status}, 200, 'page ' . ($pages // 0) . ' -> 200' or diag $r->describe;
	push @seen, map { $_->{version} } @{ $r->{json}{items} || [] };
	$cursor = $r->{json}{next_cursor};
	$pages++;
} while (defined $cursor && $pages < 10);
is_deeply \@seen, [ reverse @kept ], '?limit=1 pages through every version once, newest first';
is $pages, $KEEP, "$KEEP pages (the last one, full, has next_cursor null)";
for my $bad ('limit=0', 'limit=1001', 'limit=x', 'cursor=!!!not-a-cursor') {
	problem_ok($alice->get("/api/files/$id/versions?$bad"), 400, 'invalid_request', "versions?$bad -> 400");
}

# ------------------------------------------------------------ download a version

for my $v (@kept) {
	my $want = $content[ $v - 1 ];
	for my $path ("/api/files/$id/download?version=$v", "/api/files/$id/versions/$v/download") {
		$r = $alice->get($path);
		subtest "GET $path" => sub {
			is $r->{status}, 200, 'status 200' or return diag $r->describe;
			ok $r->{content} eq $want, "the bytes of version $v";
			is $r->header('etag'), '"' . sha256_hex($want) . '"', "ETag of version $v";
			my $ca = api_epoch($s->psql("SELECT api_time(created_at) FROM file_versions WHERE file_id = '$id' AND version_number = $v"));
			cmp_ok abs((http_date_epoch($r->header('last-modified')) // 0) - ($ca // -10)), '<=', 1,
				"Last-Modified = created_at of version $v";
			like $r->header('content-disposition') // '', qr/^attachment; filename="doc\.bin"/, 'the file name';
		};
	}
}
$r = $alice->head("/api/files/$id/versions/$kept[0]/download");
is $r->{status}, 200, 'HEAD an old version -> 200';
is $r->header('content-length'), length $content[ $kept[0] - 1 ], '... its Content-Length';
$r = $alice->get("/api/files/$id/download");
ok $r->{content} eq $content[-1], 'without ?version: the current version';

for my $v (1, 2, $N + 1, 999999) {
	problem_ok($alice->get("/api/files/$id/download?version=$v"), 404, 'not_found', "?version=$v (trimmed or never made) -> 404");
}
problem_ok($alice->get("/api/files/$id/versions/1/download"), 404, 'not_found', '/versions/1/download (trimmed) -> 404');
for my $v ('0', '-1', 'abc', '1.5', '', '99999999999999999999') {
	problem_ok($alice->get("/api/files/$id/download?version=$v"), 400, 'invalid_request', "?version=$v -> 400");
}
$s->settle_downloads;   # counts are written in batches
my $dc = $s->psql("SELECT download_count FROM files WHERE id = '$id'");
is $dc, 2 * $KEEP + 1, 'download_count counted each GET of a version (not HEAD, not the refused ones)';
$r = $alice->get("/api/files/$id/versions/$kept[0]/download", { headers => { Range => 'bytes=10-19' } });
is $r->{status}, 206, 'Range on an old version -> 206';
ok $r->{content} eq substr($content[ $kept[0] - 1 ], 10, 10), '... its bytes';

# ------------------------------------------------------------ restore

my $old = $kept[0];    # the oldest retained version
my $act0 = $s->psql("SELECT count(*) FROM activity_log WHERE target_id = '$id' AND action = 'restore_version'");
$r = $alice->post("/api/files/$id/versions/$old/restore");
is $r->{status}, 200, "restore version $old -> 200" or diag $r->describe;
file_object_ok($r->{json}, { id => $f->{id}, version => $N + 1, size => length $content[ $old - 1 ],
	sha256 => sha256_hex($content[ $old - 1 ]), name => 'doc.bin' }, "the file at version @{[ $N + 1 ]} with version ${old}'s content");
my @kept2 = ($N + 2 - $KEEP .. $N + 1);
is_deeply [ map { $_->{version} } @{ $alice->get("/api/files/$id/versions")->{json}{items} || [] } ], [ reverse @kept2 ],
	"versions now @{[ reverse @kept2 ]} (trimmed to versions_keep again)";
$r = $alice->get("/api/files/$id/download");
ok $r->{content} eq $content[ $old - 1 ], "the current download is version ${old}'s content";
is $r->header('etag'), '"' . sha256_hex($content[ $old - 1 ]) . '"', '... with its ETag';
$u = $s->usage($alice);
my $kept2_bytes = 0;
$kept2_bytes += length $content[ ($_ <= $N ? $_ : $old) - 1 ] for @kept2;
is $u->{used}, $kept2_bytes, 'usage = sizes of the retained versions after the restore';
is $u->{used}, $u->{retained}, '... consistent';
is $s->psql("SELECT count(*) FROM activity_log WHERE target_id = '$id' AND action = 'restore_version'"), $act0 + 1,
	'activity: restore_version';

problem_ok($alice->post("/api/files/$id/versions/1/restore"), 404, 'not_found', 'restore a trimmed version -> 404');
problem_ok($alice->post("/api/files/$id/versions/99/restore"), 404, 'not_found', 'restore a version never made -> 404');
problem_ok($bob->post("/api/files/$id/versions/$N/restore"), 404, 'not_found', "restore another user's file -> 404");
problem_ok($bob->get("/api/files/$id/versions"), 404, 'not_found', "versions of another user's file -> 404");
problem_ok($bob->get("/api/files/$id/download?version=$N"), 404, 'not_found', "?version= of another user's file -> 404");
is $alice->get("/api/files/$id")->{json}{version}, $N + 1, "bob's attempts changed nothing";

# ------------------------------------------------------------ restore over quota

my $carol = $s->register_user;
my $big = random_bytes(20_000);
my $small = random_bytes(100);
my ($q1) = @{ upload_ok($carol->upload(files => [ [ 'q.bin', $big ] ]), 1, [], 'carol: q.bin v1 (20000 bytes)') };
my ($q2) = @{ upload_ok($carol->upload(files => [ [ 'q.bin', $small ] ]), 1, [], 'carol: q.bin v2 (100 bytes)') };
my @qv = ($big, $small);    # contents of q.bin's versions 1, 2, ...
my $retained = sub {        # the retained tail of @qv: (bytes, references to $big)
	my @tail = @qv > $KEEP ? @qv[ @qv - $KEEP .. $#qv ] : @qv;
	my $bytes = 0;
	$bytes += length for @tail;
	return ($bytes, scalar grep { $_ eq $big } @tail);
};
my $qid = sql_id($q1->{id});
$s->set_quota($carol, 20_100 + 50);    # room for 50 more bytes
$r = $carol->post("/api/files/$qid/versions/1/restore");
problem_ok($r, 507, 'quota_exceeded', 'restoring 20000 bytes with 50 left -> 507 quota_exceeded');
is $carol->get("/api/files/$qid")->{json}{version}, 2, '... the file stays at version 2';
is $s->psql("SELECT count(*) FROM file_versions WHERE file_id = '$qid'"), 2, '... with two versions';
is $s->usage($carol)->{used}, 20_100, '... and the usage unchanged';
$s->set_quota($carol, 50_000);
$r = $carol->post("/api/files/$qid/versions/1/restore");
is $r->{status}, 200, 'with room -> 200' or diag $r->describe;
is $r->{json}{version}, 3, '... version 3';
push @qv, $big;
ok $carol->get("/api/files/$qid/download")->{content} eq $big, '... with the big content';
is $s->usage($carol)->{used}, ($retained->())[0], 'usage counts every retained version';

# restoring the current version is allowed and still makes a new version
$r = $carol->post("/api/files/$qid/versions/3/restore");
is $r->{status}, 200, 'restore the current version -> 200' or diag $r->describe;
is $r->{json}{version}, 4, '... version 4 (same content)';
push @qv, $big;
is $s->psql("SELECT ref_count FROM blobs WHERE sha256 = decode('" . sha256_hex($big) . "', 'hex')"), ($retained->())[1],
	'the big blob is referenced once per retained version holding it';
is $s->usage($carol)->{used}, ($retained->())[0], 'usage counts every retained version';

done_testing;
