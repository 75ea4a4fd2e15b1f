#!/usr/bin/perl
# 41-download: GET|HEAD /api/files/:id/download of raw (uncompressed) blobs
# through the real stack. Proves: the bytes come back exactly (sha256) with
# Content-Type of the stored type, Content-Length, ETag "<sha256>",
# Last-Modified, Cache-Control private, no-cache, nosniff (once), CSP
# sandbox, Accept-Ranges, Vary: Accept-Encoding and no X-Accel-Redirect
# leaking out; HEAD gives the same head without a body; If-None-Match and
# If-Modified-Since answer 304; Range answers 206 for one range (clamped),
# an open and a suffix range, multipart/byteranges for several, 416 with
# Content-Range bytes */SIZE past the end, and If-Range only honours a
# matching validator; Content-Disposition carries the UTF-8 name as
# filename*=UTF-8''... with an ASCII fallback and cannot be broken by quotes
# or semicolons in the name; ?disposition=inline is honoured for images and
# text but HTML, SVG, XML and JavaScript are always attachments; the
# download count and `download` activity grow for GET only (not HEAD, not
# 304); and another user's file, an unknown id, or no auth are 404/404/401.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use POSIX qw(strftime);
use Test::More;

use Coffer::Test qw(problem_ok upload_ok file_object_ok random_bytes sql_id byteranges content_disposition
	http_date_epoch api_epoch);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;

my $SIZE = 200_000;
my $data = random_bytes($SIZE);
my $sha = sha256_hex($data);
my $png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
my %content = (
	'data.bin' => $data,
	'résumé 文件 ✓.txt' => "Grüße\n",
	'page.html' => "<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n",
	'image.svg' => qq(<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n),
	'feed.xml' => qq(<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel></channel></rss>\n),
	'app.js' => "document.write('hi');\nalert(1);\n",
	'pixel.png' => $png,
	'notes.txt' => "just some notes\n",
);
my @names = sort keys %content;
my $r = $alice->upload(files => [ map { [ $_, $content{$_} ] } @names ]);
my $up = upload_ok($r, scalar @names, [], 'upload the files to download');
my %file = map { ($_->{name} // '') => $_ } @$up;
my $f = $file{'data.bin'} || {};
my $id = sql_id($f->{id});
my $D = "/api/files/$id/download";

# ------------------------------------------------------------ GET

$r = $alice->get($D);
is $r->{status}, 200, 'GET download -> 200' or diag $r->describe;
ok $r->{content} eq $data, "the bytes are exactly the upload's ($SIZE bytes)";
is sha256_hex($r->{content}), $sha, 'sha256 of the body';
is $r->header('content-length'), $SIZE, 'Content-Length';
is $r->header('content-type'), 'application/octet-stream', 'Content-Type: the stored type';
is $r->header('etag'), qq("$sha"), 'ETag: "<sha256>"';
my $lm = http_date_epoch($r->header('last-modified'));
ok defined $lm, 'Last-Modified is an HTTP date' or diag $r->header('last-modified');
my $vc = api_epoch($s->psql("SELECT api_time(created_at) FROM file_versions WHERE file_id = '$id' AND is_current"));
cmp_ok abs(($lm // 0) - ($vc // -10)), '<=', 1, "Last-Modified is the version's created_at";
is $r->header('cache-control'), 'private, no-cache', 'Cache-Control: private, no-cache';
is_deeply [ $r->header('x-content-type-options') ], ['nosniff'], 'X-Content-Type-Options: nosniff, once';
like $r->header('content-security-policy') // '', qr/(^|[;,]\s*)sandbox\b/, 'Content-Security-Policy: sandbox';
is $r->header('accept-ranges'), 'bytes', 'Accept-Ranges: bytes';
like $r->header('vary') // '', qr/(^|,\s*)Accept-Encoding(\s*,|$)/i, 'Vary: Accept-Encoding';
ok !defined $r->header('content-encoding'), 'no Content-Encoding (raw blob)';
ok !defined $r->header('x-accel-redirect'), 'X-Accel-Redirect does not reach the client';
like $r->header('x-request-id') // '', qr/^[0-9a-f]{32}$/, 'X-Request-Id';
my $cd = content_disposition($r->header('content-disposition'));
is_deeply [ @{ $cd || {} }{qw(type filename filename_star)} ], [ 'attachment', 'data.bin', 'data.bin' ],
	q(Content-Disposition: attachment; filename="data.bin"; filename*=UTF-8''data.bin)
	or diag $r->header('content-disposition');
my $etag = $r->header('etag') // '"none"';
my $cd_raw = $r->header('content-disposition') // 'none';
my $last_modified = $r->header('last-modified') // 'Thu, 01 Jan 1970 00:00:00 GMT';

# ------------------------------------------------------------ HEAD, counting

$r = $alice->head($D);
is $r->{status}, 200, 'HEAD download -> 200' or diag $r->describe;
is $r->{content}, '', '... no body';
is $r->header('content-length'), $SIZE, '... Content-Length of the file';
is $r->header('etag'), qq("$sha"), '... same ETag';
is $r->header('content-disposition'), $cd_raw, '... same Content-Disposition';

$r = $alice->get($D, { headers => { 'If-None-Match' => $etag } });
is $r->{status}, 304, 'If-None-Match: the ETag -> 304' or diag $r->describe;
is $r->{content}, '', '... no body';
is $r->header('etag'), qq("$sha"), '... with the ETag';

$s->settle_downloads;   # counts are written in batches
my $g = $alice->get("/api/files/$id");
is $g->{json}{download_count}, 1, 'download_count 1: the GET counted, HEAD and 304 did not' or diag $g->describe;
is $s->psql("SELECT count(*) FROM activity_log WHERE target_id = '$id' AND action = 'download'"), 1,
	'one download activity';

$r = $alice->get($D, { headers => { 'If-None-Match' => '"' . ('0' x 64) . '"' } });
is $r->{status}, 200, 'If-None-Match: another ETag -> 200';
ok $r->{content} eq $data, '... full body';
$r = $alice->get($D, { headers => { 'If-None-Match' => qq("abc", $etag) } });
is $r->{status}, 304, 'If-None-Match: a list containing the ETag -> 304';
$r = $alice->get($D, { headers => { 'If-Modified-Since' => $last_modified } });
is $r->{status}, 304, 'If-Modified-Since: Last-Modified -> 304';
$r = $alice->get($D, { headers => { 'If-Modified-Since' => strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(($lm // time) - 86400)) } });
is $r->{status}, 200, 'If-Modified-Since: a day earlier -> 200';
ok $r->{content} eq $data, '... full body';

# ------------------------------------------------------------ Range

sub range_ok {
	my ($range, $start, $end, $name) = @_;
	my $r = $alice->get($D, { headers => { Range => $range } });
	subtest $name => sub {
		is $r->{status}, 206, 'status 206' or return diag $r->describe;
		is $r->header('content-range'), "bytes $start-$end/$SIZE", "Content-Range: bytes $start-$end/$SIZE";
		is $r->header('content-length'), $end - $start + 1, 'Content-Length of the range';
		ok $r->{content} eq substr($data, $start, $end - $start + 1), 'exactly those bytes';
		is $r->header('etag'), qq("$sha"), 'ETag';
	};
}
range_ok('bytes=0-99', 0, 99, 'Range bytes=0-99');
range_ok('bytes=1000-', 1000, $SIZE - 1, 'Range bytes=1000- (open)');
range_ok('bytes=-500', $SIZE - 500, $SIZE - 1, 'Range bytes=-500 (suffix)');
range_ok("bytes=@{[ $SIZE - 10 ]}-@{[ $SIZE + 5000 ]}", $SIZE - 10, $SIZE - 1, 'Range past the end is clamped');
range_ok("bytes=-@{[ $SIZE * 2 ]}", 0, $SIZE - 1, 'a suffix longer than the file is the whole file');
range_ok('bytes=12345-12345', 12345, 12345, 'a one-byte range');

$r = $alice->get($D, { headers => { Range => 'bytes=0-9,100-199,150000-150099' } });
is $r->{status}, 206, 'three ranges -> 206' or diag $r->describe;
like $r->header('content-type') // '', qr{^multipart/byteranges; boundary=}, 'multipart/byteranges';
my $parts = byteranges($r);
is_deeply [ map { [ $_->{start}, $_->{end}, $_->{total} ] } @{ $parts || [] } ],
	[ [ 0, 9, $SIZE ], [ 100, 199, $SIZE ], [ 150000, 150099, $SIZE ] ], 'three parts with their Content-Range';
ok $parts && !grep({ $_->{data} ne substr($data, $_->{start}, $_->{end} - $_->{start} + 1) } @$parts),
	'each part holds exactly its bytes';
is_deeply [ map { $_->{type} } @{ $parts || [] } ], [ ('application/octet-stream') x 3 ], 'each part has the file type';

for my $bad ("bytes=$SIZE-", "bytes=@{[ $SIZE + 100 ]}-@{[ $SIZE + 200 ]}") {
	$r = $alice->get($D, { headers => { Range => $bad } });
	is $r->{status}, 416, "Range $bad -> 416" or diag $r->describe;
	is $r->header('content-range'), "bytes */$SIZE", "... Content-Range: bytes */$SIZE";
}
$r = $alice->get($D, { headers => { Range => 'items=0-9' } });
is $r->{status}, 200, 'Range in another unit is ignored -> 200';
ok $r->{content} eq $data, '... full body';

$r = $alice->get($D, { headers => { Range => 'bytes=0-99', 'If-Range' => $etag } });
is $r->{status}, 206, 'If-Range: the ETag -> 206';
ok $r->{content} eq substr($data, 0, 100), '... the range';
$r = $alice->get($D, { headers => { Range => 'bytes=0-99', 'If-Range' => '"' . ('f' x 64) . '"' } });
is $r->{status}, 200, 'If-Range: another ETag -> 200 with the whole file';
ok $r->{content} eq $data, '... full body';
$r = $alice->get($D, { headers => { Range => 'bytes=0-99', 'If-Range' => $last_modified } });
is $r->{status}, 206, 'If-Range: the Last-Modified date -> 206';
$r = $alice->get($D, { headers => { Range => 'bytes=0-99', 'If-Range' => 'Thu, 01 Jan 2015 00:00:00 GMT' } });
is $r->{status}, 200, 'If-Range: another date -> 200';

$r = $alice->head($D, { headers => { Range => 'bytes=0-99' } });
ok $r->{status} == 206 || $r->{status} == 200, 'HEAD with Range -> 206 or 200' or diag $r->describe;
is $r->{content}, '', '... no body';

# ------------------------------------------------------------ names and disposition

sub download_of {
	my ($name, $query) = @_;
	return $alice->get('/api/files/' . sql_id($file{$name}{id}) . '/download' . ($query // ''));
}

$r = download_of('résumé 文件 ✓.txt');
is $r->{status}, 200, 'download the UTF-8 named file';
ok $r->{content} eq "Gr\xc3\xbc\xc3\x9fe\n", '... its bytes (UTF-8 content untouched)';
like $r->header('content-type') // '', qr{^text/plain(?:;|$)}, '... Content-Type text/plain';
$cd = content_disposition($r->header('content-disposition'));
ok $cd, 'Content-Disposition parses strictly (ASCII fallback, RFC 5987 filename*)' or diag $r->header('content-disposition');
is $cd->{type}, 'attachment', '... attachment';
is $cd->{filename_star}, 'résumé 文件 ✓.txt', "... filename*=UTF-8'' decodes to the name";
like $cd->{filename} // '', qr/^[\x20-\x7e]+$/, '... the fallback filename is printable ASCII';
like $cd->{filename} // '', qr/\.txt$/, '... and keeps the extension';

my $evil = qq(q"uote; filename=evil.html; x\\y.txt);
$r = $alice->put_json('/api/files/' . sql_id($file{'notes.txt'}{id}), { name => $evil });
is $r->{status}, 200, 'rename notes.txt to a name with quotes, semicolons and a backslash' or diag $r->describe;
$r = download_of('notes.txt');
$cd = content_disposition($r->header('content-disposition'));
ok $cd, 'Content-Disposition still parses strictly: nothing injected' or diag $r->header('content-disposition');
is $cd->{filename_star}, $evil, '... filename* decodes to the exact name';
like $cd->{filename} // '', qr/\.txt$/, '... the fallback (quotes escaped or replaced) keeps the extension';

for my $case (
	[ 'pixel.png', 'inline', qr{^image/png$} ],
	[ 'notes.txt', 'inline', qr{^text/plain(?:;|$)} ],
	[ 'page.html', 'attachment', qr{^text/html(?:;|$)} ],
	[ 'image.svg', 'attachment', qr{^image/svg\+xml(?:;|$)} ],
	[ 'feed.xml', 'attachment', qr{xml} ],
	[ 'app.js', 'attachment', qr{javascript} ],
) {
	my ($name, $want, $type) = @$case;
	$r = download_of($name, '?disposition=inline');
	subtest "$name with ?disposition=inline -> $want" => sub {
		is $r->{status}, 200, 'status 200' or return diag $r->describe;
		ok $r->{content} eq $content{$name}, 'the bytes';
		like $r->header('content-type') // '', $type, 'Content-Type of the stored type';
		is +(content_disposition($r->header('content-disposition')) || {})->{type}, $want, "Content-Disposition: $want"
			or diag $r->header('content-disposition');
		is $r->header('x-content-type-options'), 'nosniff', 'nosniff';
		like $r->header('content-security-policy') // '', qr/\bsandbox\b/, 'CSP sandbox';
	};
	$r = download_of($name);
	is +(content_disposition($r->header('content-disposition')) || {})->{type}, 'attachment',
		"$name without ?disposition -> attachment";
}

# ------------------------------------------------------------ not yours, not there, not logged in

my $other = "/api/files/$id/download";
for my $m (qw(GET HEAD)) {
	$r = $bob->request($m => $other);
	is $r->{status}, 404, "$m another user's file -> 404" or diag $r->describe;
	ok $r->{content} eq '' || $r->is_problem(404, 'not_found'), '... problem not_found' if $m eq 'GET';
	ok index($r->{content}, substr($data, 0, 64)) < 0, '... none of its bytes';
}
problem_ok($bob->get($other, { headers => { Range => 'bytes=0-9' } }), 404, 'not_found', "Range on another user's file -> 404");
problem_ok($bob->get($other, { headers => { 'If-None-Match' => $etag } }), 404, 'not_found',
	"If-None-Match with the right ETag on another user's file -> 404, not 304");
problem_ok($alice->get('/api/files/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f/download'), 404, 'not_found', 'an unknown id -> 404');
problem_ok($alice->get('/api/files/not-a-uuid/download'), 404, 'not_found', 'a malformed id -> 404');
problem_ok($s->client->get($other), 401, 'unauthenticated', 'no auth -> 401');
$s->settle_downloads;   # counts are written in batches
is $s->psql("SELECT download_count FROM files WHERE id = '$id'"), $s->psql("SELECT count(*) FROM activity_log WHERE target_id = '$id' AND action = 'download'"),
	'download_count equals the download activities (refused requests counted nothing)';

# a token works as well as the session
my $tok = $alice->post_json('/api/auth/tokens', { name => 'dl' })->{json}{token};
$r = $s->client(token => $tok)->get($D);
is $r->{status}, 200, 'download with a Bearer token -> 200';
ok $r->{content} eq $data, '... the bytes';

done_testing;
