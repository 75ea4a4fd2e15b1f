#!/usr/bin/perl
# 40-upload: POST /api/upload through the real stack. Proves: one and many
# files in one multipart request answer 201 {files, errors} with full file
# objects (sha256, size, type from the content, root folder by default) and
# the rows, blob, usage and `upload` activity behind them; fields apply to
# the files after them, query parameters work and fields override them;
# description and tags (JSON array or comma list, duplicates removed) are
# stored and validated; on_conflict version (same id, version + 1), rename
# ("a (1).txt", "a (2).txt") and fail (409 name_conflict); a folder_id that is
# unknown or another user's is 404; each per-file check: over max_file_size
# 413 (exactly max_file_size is fine), an executable named .jpg 415, a type
# blocked by upload_mime_block 415, over quota 507, bad names 400 (".", "..",
# "/", control chars, 256 bytes), missing filename and unknown fields give
# error entries while the other files are stored; whole-request failures:
# not multipart 415, no file parts 400, no auth 401, foreign Origin 403; and
# the early refusals from Content-Length alone (413 over max_request_size,
# 507 over quota + 1 MiB) come before any body byte is sent, while a request
# under that margin is read and refused per file.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(time);

use Coffer::Test qw(problem_ok upload_ok upload_refused_ok file_object_ok random_bytes multipart_body wait_until sql_id);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $s = Coffer::Test->stack;
my $MAX_FILE = $s->config_size('max_file_size', 500 << 20);
my $MAX_REQ = $s->config_size('max_request_size', 1 << 30);
my $MiB = 1 << 20;

my $alice = $s->register_user;
my $bob = $s->register_user;
my $root = $alice->{user}{root_folder_id};

sub file_row {
	my $id = sql_id(shift);
	my ($row) = $s->psql_rows("SELECT user_id, folder_id, name, size, encode(sha256, 'hex'), mime_type, version, is_deleted
		FROM files WHERE id = '$id'");
	return $row;
}

sub live_names {
	my ($c) = @_;
	return [ map { $_->[0] } $s->psql_rows("SELECT name FROM files WHERE user_id = '$c->{user}{id}' AND NOT is_deleted ORDER BY name") ];
}

sub usage_consistent_ok {
	my ($c, $want, $name) = @_;
	my $u = $s->usage($c);
	subtest $name => sub {
		is $u->{used}, $u->{retained}, 'storage_used = sum of the retained versions of live files';
		is $u->{used}, $want, "storage_used = $want" if defined $want;
	};
}

# ------------------------------------------------------------ one file

my $hello = "hello, world\n";
my $r = $alice->upload(files => [ { name => 'hello.txt', data => $hello, type => 'text/plain' } ]);
my ($f) = @{ upload_ok($r, 1, [], 'one file -> 201 {files: [file], errors: []}') };
file_object_ok($f, {
	name => 'hello.txt', folder_id => $root, size => length $hello, sha256 => sha256_hex($hello),
	mime_type => 'text/plain', description => '', tags => [], version => 1, download_count => 0,
	sharing => { link_count => 0 },
}, 'the file object');
is_deeply file_row($f->{id}), [ $alice->{user}{id}, $root, 'hello.txt', length $hello, sha256_hex($hello), 'text/plain', 1, 'f' ],
	'files row: owner, root folder, name, size, sha256, type, version 1, live';
is_deeply [ $s->psql_rows("SELECT version_number, size, encode(sha256, 'hex'), is_current FROM file_versions WHERE file_id = '@{[ sql_id($f->{id}) ]}'") ],
	[ [ 1, length $hello, sha256_hex($hello), 't' ] ], 'one current file_versions row';
my @blob = $s->psql_rows("SELECT size, ref_count FROM blobs WHERE sha256 = decode('" . sha256_hex($hello) . "', 'hex')");
is_deeply \@blob, [ [ length $hello, 1 ] ], 'a blob row with ref_count 1';
my $on_disk = -e $s->blob_path(sha256_hex($hello)) ? $s->blob_path(sha256_hex($hello)) : $s->blob_path(sha256_hex($hello), 1);
ok -f $on_disk, 'the blob is on disk under its hash';
usage_consistent_ok($alice, length $hello, 'usage after one file');
is $alice->get('/api/auth/user')->{json}{storage}{used}, length $hello, 'GET /api/auth/user shows the usage';
my $g = $alice->get("/api/files/" . sql_id($f->{id}));
is $g->{status}, 200, 'GET /api/files/:id of the new file -> 200';
is_deeply $g->{json}, { %$f, metadata => { description => 'ASCII text' } },
	"... the same object as the upload answer, with its metadata (for text, libmagic's description)";
is_deeply [ $s->psql_rows("SELECT action, details->>'version' FROM activity_log
	WHERE user_id = '$alice->{user}{id}' AND target_id = '@{[ sql_id($f->{id}) ]}'") ],
	[ [ 'upload', 1 ] ], 'activity: upload of the file (target_id), details {"version":1}';

# ------------------------------------------------------------ several files

my @many = map { { name => "m$_.bin", data => random_bytes(1000 + $_) } } 1 .. 3;
$r = $alice->upload(files => \@many);
my $files = upload_ok($r, 3, [], 'three files in one request -> 201');
is_deeply [ map { $_->{name} } @$files ], [qw(m1.bin m2.bin m3.bin)], 'files in request order';
is_deeply [ map { $_->{sha256} } @$files ], [ map { sha256_hex($_->{data}) } @many ], 'each with its own sha256';
is_deeply [ map { $_->{size} } @$files ], [ 1001, 1002, 1003 ], 'and size';
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$alice->{user}{id}' AND action = 'upload'"), 4,
	'one upload activity per stored file';
usage_consistent_ok($alice, length($hello) + 3006, 'usage after four files');

# a bearer token works as well as the session
my $tok = $alice->post_json('/api/auth/tokens', { name => 'uploads' })->{json}{token};
my $script = $s->client(token => $tok);
$r = $script->upload(files => [ [ 'by-token.txt', "token\n", 'text/plain' ] ]);
upload_ok($r, 1, [], 'upload with Authorization: Bearer -> 201');

# ------------------------------------------------------------ type detection

my $png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
$r = $alice->upload(files => [
	{ name => 'pixel.png', data => $png, type => 'application/octet-stream' },
	{ name => 'notes.txt', data => "plain words\n", type => 'image/png' },
	{ name => 'table.csv', data => "a,b,c\n1,2,3\n4,5,6\n", type => 'text/plain' },
	{ name => 'doc.json', data => qq({"a": [1, 2, 3], "b": {"c": "d"}}\n) },
	{ name => 'readme.md', data => "# Title\n\nSome *text* here.\n" },
]);
$files = upload_ok($r, 5, [], 'five files of different types -> 201');
is_deeply [ map { $_->{mime_type} } @$files ], [qw(image/png text/plain text/csv application/json text/markdown)],
	'types from the content (the part Content-Type is ignored), refined by extension for text';

# ------------------------------------------------------------ fields

$r = $alice->upload(parts => [
	{ name => 'before.txt', data => "b\n" },
	{ field => 'description', value => 'Ünïcødé description' },
	{ field => 'tags', value => '["x","y","x","ß"]' },
	{ name => 'after.txt', data => "a\n" },
]);
$files = upload_ok($r, 2, [], 'fields between files -> 201');
is $files->[0]{description}, '', 'a field does not apply to the file before it';
is_deeply $files->[0]{tags}, [], '... nor do tags';
is $files->[1]{description}, 'Ünïcødé description', 'description (UTF-8) applies to the file after it';
is_deeply [ sort @{ $files->[1]{tags} || [] } ], [ sort qw(x y ß) ], 'tags from a JSON array, duplicates removed';

$r = $alice->upload(fields => [ tags => 'red,green,red' ], files => [ [ 'comma.txt', "c\n" ] ]);
$files = upload_ok($r, 1, [], 'tags as a comma-separated string -> 201');
is_deeply [ sort @{ $files->[0]{tags} || [] } ], [qw(green red)], 'comma-separated tags, duplicates removed';

$r = $alice->upload(fields => [ description => 'd' x 4096 ], files => [ [ 'desc4096.txt', "d\n" ] ]);
$files = upload_ok($r, 1, [], 'description of 4096 bytes -> 201');
is length($files->[0]{description} // ''), 4096, '... stored whole';

for my $bad (
	[ 'description of 4097 bytes', description => 'd' x 4097 ],
	[ '33 tags', tags => $Coffer::Test::JSON->encode([ map { "t$_" } 1 .. 33 ]) ],
	[ 'a tag of 65 bytes', tags => $Coffer::Test::JSON->encode([ 'x' x 65 ]) ],
	[ 'an empty tag', tags => '["ok",""]' ],
	[ 'a tag with a control character', tags => $Coffer::Test::JSON->encode(["a\x01b"]) ],
	[ 'tags neither JSON array nor list', tags => '{"a":1}' ],
) {
	my ($what, $field, $value) = @$bad;
	my $fname = "bad-$field-" . $s->unique_name('f') . '.txt';
	$r = $alice->upload(fields => [ $field => $value ], files => [ [ $fname, "x\n" ] ]);
	subtest "$what: an error entry for the field, never stored with it" => sub {
		my $errs = ref $r->{json} eq 'HASH' ? $r->{json}{errors} || [] : [];
		my @e = grep { ($_->{name} // '') eq $field } @$errs;
		is scalar @e, 1, "one error entry names '$field'" or diag $r->describe;
		is $e[0]{error}{status}, 400, '... 400' if @e;
		is $e[0]{error}{code}, 'invalid_request', '... invalid_request' if @e;
		my @stored = grep { $_->{name} eq $fname } @{ ref $r->{json} eq 'HASH' ? $r->{json}{files} || [] : [] };
		if (@stored) {
			my $t = $stored[0]{tags} || [];
			ok @$t <= 32 && !grep({ !length || length > 64 || /[\x00-\x1f\x7f]/ } @$t),
				'the file stored after it carries no invalid tag';
			ok $stored[0]{description} eq '', '... and no (cut) description' if $field eq 'description';
		} else {
			is $r->{status}, 400, 'nothing stored: the answer is 400';
		}
		isnt $r->{status}, 500, 'not 500';
	};
}

$r = $alice->upload(fields => [ colour => 'blue' ], files => [ [ 'colour.txt', "c\n" ] ]);
upload_ok($r, 1, [ [ 'colour', 400, 'invalid_request' ] ], 'an unknown text field -> error entry, the file is stored');

$r = $alice->upload(parts => [
	{ field => 'file', no_filename => 1, name => 'ignored', data => "no name\n" },
	{ name => 'named.txt', data => "named\n" },
]);
upload_ok($r, 1, [ [ 'file', 400, 'invalid_request' ] ], 'a part "file" without filename -> error entry, the other file is stored');

# ------------------------------------------------------------ folder_id

$r = $alice->upload(fields => [ folder_id => $root ], files => [ [ 'explicit-root.txt', "r\n" ] ]);
$files = upload_ok($r, 1, [], 'folder_id = own root folder -> 201');
is $files->[0]{folder_id}, $root, '... stored there';

my $nf = 'nowhere.txt';
# (whether a bad folder_id is a whole-request problem or an error entry per
# file is not fixed: either way 404 not_found and no file stored)
sub folder_404_ok {
	my ($r, $name) = @_;
	subtest $name => sub {
		problem_ok($r, 404, 'not_found', '404 problem not_found');
		is_deeply $r->{json}{files}, [], 'files: [] when present' if ref $r->{json} eq 'HASH' && exists $r->{json}{files};
	};
}
$r = $alice->upload(fields => [ folder_id => $bob->{user}{root_folder_id} ], files => [ [ $nf, "n\n" ] ]);
folder_404_ok($r, "folder_id of another user's folder -> 404");
$r = $alice->upload(fields => [ folder_id => '8d6a0a52-37c6-4d8e-9b1f-0c5a7f0e2b11' ], files => [ [ $nf, "n\n" ] ]);
folder_404_ok($r, 'folder_id of no folder -> 404');
$r = $alice->upload(query => { folder_id => $bob->{user}{root_folder_id} }, files => [ [ $nf, "n\n" ] ]);
folder_404_ok($r, "?folder_id= of another user's folder -> 404");
$r = $alice->upload(fields => [ folder_id => 'not-a-uuid' ], files => [ [ $nf, "n\n" ] ]);
is $r->{status}, 400, 'folder_id that is not a UUID -> 400' or diag $r->describe;
is $s->psql("SELECT count(*) FROM files WHERE name = '$nf'"), 0, 'none of these stored a file anywhere';
is $s->psql("SELECT count(*) FROM files WHERE user_id = '$bob->{user}{id}'"), 0, 'bob has no files';

# ------------------------------------------------------------ on_conflict

my ($v1, $v2) = ("first version\n", "second, longer version\n");
$r = $alice->upload(files => [ [ 'conflict.txt', $v1 ] ]);
my ($c1) = @{ upload_ok($r, 1, [], 'conflict.txt v1') };
$r = $alice->upload(files => [ [ 'conflict.txt', $v2 ] ]);
my ($c2) = @{ upload_ok($r, 1, [], 'same name again (default policy: version) -> 201') };
is $c2->{id}, $c1->{id}, 'the same file';
is $c2->{version}, 2, 'version 2';
is $c2->{size}, length $v2, 'size of the new content';
is $c2->{sha256}, sha256_hex($v2), 'sha256 of the new content';
is $s->psql("SELECT count(*) FROM file_versions WHERE file_id = '@{[ sql_id($c1->{id}) ]}'"), 2, 'two versions kept';
is $s->psql("SELECT details->>'version' FROM activity_log WHERE target_id = '@{[ sql_id($c1->{id}) ]}' AND action = 'upload' ORDER BY created_at DESC, details->>'version' DESC LIMIT 1"), 2,
	'activity upload with details {"version":2}';
my $u = $s->usage($alice);
is $u->{used}, $u->{retained}, 'usage counts both versions (old versions count toward quota)';

$r = $alice->upload(query => { on_conflict => 'version' }, files => [ [ 'conflict.txt', "third\n" ] ]);
my ($c3) = @{ upload_ok($r, 1, [], '?on_conflict=version -> 201') };
is "$c3->{id} $c3->{version}", "$c1->{id} 3", 'same file, version 3';

$r = $alice->upload(fields => [ on_conflict => 'fail' ], files => [ [ 'conflict.txt', "refused\n" ] ]);
upload_refused_ok($r, 409, 'name_conflict', [ [ 'conflict.txt', 409, 'name_conflict' ] ], 'on_conflict=fail -> 409 name_conflict');
is $alice->get("/api/files/" . sql_id($c1->{id}))->{json}{version}, 3, '... the existing file is unchanged';

$r = $alice->upload(fields => [ on_conflict => 'fail' ], files => [ [ 'fresh-name.txt', "ok\n" ] ]);
upload_ok($r, 1, [], 'on_conflict=fail without a conflict -> 201');

my @renamed;
for my $i (0 .. 2) {
	$r = $alice->upload(fields => [ on_conflict => 'rename' ], files => [ [ 'a.txt', "a$i\n" ] ]);
	push @renamed, @{ upload_ok($r, 1, [], "a.txt with on_conflict=rename ($i)") };
}
is_deeply [ map { $_->{name} } @renamed ], [ 'a.txt', 'a (1).txt', 'a (2).txt' ], 'rename: a.txt, "a (1).txt", "a (2).txt"';
my %renamed_ids = map { $_->{id} => 1 } @renamed;
is scalar keys %renamed_ids, 3, 'three distinct files';
is_deeply [ map { $_->{version} } @renamed ], [ 1, 1, 1 ], 'each at version 1';

$r = $alice->upload(files => [ [ 'README', "1\n" ] ]);
upload_ok($r, 1, [], 'README');
$r = $alice->upload(query => { on_conflict => 'rename' }, files => [ [ 'README', "2\n" ] ]);
is eval { $r->{json}{files}[0]{name} }, 'README (1)', '?on_conflict=rename, no extension -> "README (1)"' or diag $r->describe;

$r = $alice->upload(query => { on_conflict => 'fail' }, fields => [ on_conflict => 'rename' ], files => [ [ 'a.txt', "a3\n" ] ]);
is eval { $r->{json}{files}[0]{name} }, 'a (3).txt', 'the field overrides the query (rename, not fail)' or diag $r->describe;

$r = $alice->upload(fields => [ on_conflict => 'overwrite' ], files => [ [ 'a.txt', "x\n" ] ]);
is $r->{status}, 400, 'on_conflict=overwrite (not a policy) -> 400' or diag $r->describe;
is $s->psql("SELECT version FROM files WHERE id = '@{[ sql_id($renamed[0]{id}) ]}'"), 1, '... a.txt untouched';

# ------------------------------------------------------------ names

my $n255 = ('n' x 251) . '.txt';
my $n256 = ('n' x 252) . '.txt';
my $utf = 'résumé 文件 ✓.txt';
$r = $alice->upload(files => [ [ $n255, "255\n" ], [ 'x', "1\n" ], [ $utf, "utf\n" ] ]);
$files = upload_ok($r, 3, [], 'names of 255 bytes, 1 byte, and UTF-8 -> 201');
is_deeply [ map { $_->{name} } @$files ], [ $n255, 'x', $utf ], 'names stored as sent';

$r = $alice->upload(files => [ { name => 'fallback.txt', filename_star => "UTF-8''%C3%A9t%C3%A9%20%E2%9C%93.txt", data => "star\n" } ]);
$files = upload_ok($r, 1, [], 'filename*= (RFC 5987) -> 201');
is $files->[0]{name}, 'été ✓.txt', 'filename* is preferred over filename';

my $before = scalar @{ live_names($alice) };
my @bad_names = ('.', '..', 'a/b.txt', '/abs.txt', "tab\there.txt", $n256, "del\x7f.txt", "esc\x1b[31m.txt");
$r = $alice->upload(files => [ [ 'good.txt', "g\n" ], map { [ $_, "bad\n" ] } @bad_names ]);
upload_ok($r, 1, [ map { [ $_, 400, 'invalid_request' ] } @bad_names ],
	'bad names (".", "..", "/", TAB, 256 bytes, DEL, ESC) -> one error entry each, the good file stored');
is scalar @{ live_names($alice) }, $before + 1, 'exactly one more file in the database';
$r = $alice->upload(files => [ [ "nul\0.txt", "z\n" ] ]);
upload_refused_ok($r, 400, 'invalid_request', undef, 'a NUL in the filename -> 400, not stored');

# ------------------------------------------------------------ size and type limits

SKIP: {
	skip "max_file_size is $MAX_FILE bytes: too large to reach in a test", 6 if $MAX_FILE > 64 * $MiB;
	my $exact = random_bytes($MAX_FILE);
	$r = $alice->upload(files => [ [ 'exact.bin', $exact ] ]);
	my ($ex) = @{ upload_ok($r, 1, [], "a file of exactly max_file_size ($MAX_FILE bytes) -> 201") };
	is $ex->{sha256}, sha256_hex($exact), '... stored whole (sha256)';
	$r = $alice->upload(files => [ [ 'small.txt', "small\n" ], [ 'big.bin', $exact . 'x' ] ]);
	upload_ok($r, 1, [ [ 'big.bin', 413, 'file_too_large' ] ], 'max_file_size + 1 next to a small file -> 201, 413 entry');
	is $s->psql("SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND name = 'big.bin'"), 0, 'big.bin not stored';
	$r = $alice->upload(files => [ [ 'big.bin', $exact . 'x' ] ]);
	upload_refused_ok($r, 413, 'file_too_large', [ [ 'big.bin', 413, 'file_too_large' ] ], 'only the big file -> 413');
	usage_consistent_ok($alice, undef, 'usage consistent after the refusals');
}

open my $true, '<:raw', '/bin/true' or die "/bin/true: $!";
read $true, my $elf, 8192;
close $true;
my $mz = "MZ\x90\0" . ("\0" x 56) . pack('V', 64) . ("\0" x 200);
$r = $alice->upload(files => [ [ 'photo.jpg', $elf, 'image/jpeg' ], [ 'ok.txt', "ok\n" ] ]);
upload_ok($r, 1, [ [ 'photo.jpg', 415, 'file_type_not_allowed' ] ], 'an ELF executable named photo.jpg -> 415 entry');
$r = $alice->upload(files => [ [ 'photo.jpg', $elf, 'image/jpeg' ] ]);
upload_refused_ok($r, 415, 'file_type_not_allowed', [ [ 'photo.jpg', 415, 'file_type_not_allowed' ] ], '... alone -> 415');
SKIP: {
	skip 'upload_mime_block does not block application/x-dosexec on this stack', 2
		unless ($s->config('upload_mime_block') // '') =~ m{application/x-dosexec};
	$r = $alice->upload(files => [ [ 'setup.exe', $mz, 'application/x-msdownload' ] ]);
	upload_refused_ok($r, 415, 'file_type_not_allowed', [ [ 'setup.exe', 415, 'file_type_not_allowed' ] ],
		'a DOS executable named setup.exe (type blocked by upload_mime_block) -> 415');
	$r = $alice->upload(files => [ [ 'setup.bin', $mz ] ]);
	upload_refused_ok($r, 415, 'file_type_not_allowed', undef, '... whatever its name');
}
is $s->psql("SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND name IN ('photo.jpg', 'setup.exe', 'setup.bin')"), 0,
	'no refused executable stored';

# ------------------------------------------------------------ quota

my $carol = $s->register_user;
$s->set_quota($carol, 100 * 1024);
$r = $carol->upload(files => [ [ 'fits.bin', random_bytes(60 * 1024) ] ]);
upload_ok($r, 1, [], '60 KiB under a 100 KiB quota -> 201');
$r = $carol->upload(files => [ [ 'small.bin', random_bytes(10 * 1024) ], [ 'toobig.bin', random_bytes(50 * 1024) ] ]);
upload_ok($r, 1, [ [ 'toobig.bin', 507, 'quota_exceeded' ] ], '10 KiB fits, 50 KiB more does not -> 201 with a 507 entry');
$r = $carol->upload(files => [ [ 'toobig.bin', random_bytes(40 * 1024) ] ]);
upload_refused_ok($r, 507, 'quota_exceeded', [ [ 'toobig.bin', 507, 'quota_exceeded' ] ], 'only the too-big file -> 507');
usage_consistent_ok($carol, 70 * 1024, 'usage: exactly the two stored files');
cmp_ok $s->usage($carol)->{used}, '<=', 100 * 1024, 'within quota';

# ------------------------------------------------------------ whole-request failures

$r = $s->client->upload(files => [ [ 'anon.txt', "a\n" ] ]);
problem_ok($r, 401, 'unauthenticated', 'no session or token -> 401');
$r = $alice->request(POST => '/api/upload', { json => { name => 'x.txt' } });
problem_ok($r, 415, 'unsupported_media_type', 'application/json body -> 415 unsupported_media_type');
$r = $alice->request(POST => '/api/upload', { body => "just text\n", headers => { 'Content-Type' => 'text/plain' } });
problem_ok($r, 415, 'unsupported_media_type', 'text/plain body -> 415');
$r = $alice->upload(fields => [ description => 'no file here' ]);
problem_ok($r, 400, 'invalid_request', 'fields but no file part -> 400');
$r = $alice->upload(files => [ [ 'evil.txt', "e\n" ] ], headers => { Origin => 'https://evil.example' });
problem_ok($r, 403, 'origin_not_allowed', 'a foreign Origin -> 403 (CSRF)');
is $s->psql("SELECT count(*) FROM files WHERE name IN ('anon.txt', 'evil.txt')"), 0, 'none of them stored anything';

# at most 100 file parts
my @parts101 = map { [ sprintf('p%03d.txt', $_), "$_\n" ] } 1 .. 101;
my $dave = $s->register_user;
$r = $dave->upload(files => \@parts101);
my $stored = $s->psql("SELECT count(*) FROM files WHERE user_id = '$dave->{user}{id}'");
subtest '101 file parts: never more than 100 stored, the excess refused with 400' => sub {
	if ($r->{status} == 201) {
		is scalar @{ $r->{json}{files} }, 100, '201 with the first 100 files';
		my @e = @{ $r->{json}{errors} || [] };
		ok @e >= 1 && !grep({ $_->{error}{status} != 400 } @e), 'and 400 error entries for the rest' or diag $r->describe;
	} else {
		ok $r->is_problem(400), 'or the whole request refused with 400' or diag $r->describe;
	}
	is $stored, ($r->{status} == 201 ? 100 : 0), 'the database holds what the answer says';
};

# ------------------------------------------------------------ early refusal from Content-Length

# The head alone, with a Content-Length and no body: the answer must come
# without a single body byte.
sub head_only {
	my ($c, $len, $wait) = @_;
	my $raw = $c->raw;
	my (undef, $ct) = multipart_body(files => []);
	$raw->send_head(POST => '/api/upload', { 'Content-Type' => $ct, 'Content-Length' => $len });
	my $t0 = time;
	my $resp = $raw->read_response(timeout => $wait // 5);
	return ($raw, $resp, time - $t0);
}

my ($raw, $resp, $took) = head_only($alice, $MAX_REQ + 1);
problem_ok($resp, 413, 'file_too_large', 'Content-Length = max_request_size + 1, no body sent -> 413 at once');
cmp_ok $took, '<', 5, sprintf('... within %.2fs', $took);
$raw->close;
($raw, $resp) = head_only($alice, 50 * 1024 * $MiB);
problem_ok($resp, 413, 'file_too_large', 'Content-Length of 50 GiB -> 413 at once');
$raw->close;

my $erin = $s->register_user;
$s->set_quota($erin, $MiB);
($raw, $resp, $took) = head_only($erin, 3 * $MiB);
problem_ok($resp, 507, 'quota_exceeded', 'quota 1 MiB, Content-Length 3 MiB, no body sent -> 507 at once');
$raw->close;

# Under quota + 1 MiB the request is read, and the file refused on its own.
my $body_data = random_bytes($MiB + $MiB / 2);
my ($body, $ct) = multipart_body(files => [ [ 'one-and-a-half.bin', $body_data ] ]);
$raw = $erin->raw;
$raw->send_head(POST => '/api/upload', { 'Content-Type' => $ct, 'Content-Length' => length $body });
$resp = $raw->read_response(timeout => 1);
ok $resp->{timed_out}, 'quota 1 MiB, Content-Length 1.5 MiB (under quota + 1 MiB): no early answer'
	or diag $resp->describe;
$raw->send($body);
$resp = $raw->read_response(timeout => 20) if $resp->{timed_out};
upload_refused_ok($resp, 507, 'quota_exceeded', [ [ 'one-and-a-half.bin', 507, 'quota_exceeded' ] ],
	'... then, with the body, 507 for the file');
$raw->close;
usage_consistent_ok($erin, 0, 'erin stored nothing');

usage_consistent_ok($alice, undef, 'alice: usage equals her retained versions at the end');
done_testing;
