#!/usr/bin/perl
# 42-files-meta: GET, PUT and DELETE /api/files/:id through the real stack,
# and who may touch a file at all. Proves: GET returns the file object
# (sharing.link_count counts active share links); PUT changes name,
# description and tags (at least one; arrays only for tags; unknown keys,
# bad names, long descriptions, bad tags, malformed JSON -> 400, nothing
# changed), refuses a sibling's name with 409 name_conflict, allows the
# file's own name and the name of a trashed file, never touches content or
# version, and logs `update`; DELETE answers 204, moves the file to the
# trash (row kept with its versions, restorable), releases the usage of all
# its versions, deactivates its share links, logs `delete`, and every route
# then answers 404 (second DELETE included) while a new upload of the same
# name makes a new file; and EVERY file route answers 404 for another
# user's file and for an unknown id (leaving the file untouched), and 401
# without credentials.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;

use Coffer::Test qw(problem_ok upload_ok file_object_ok random_bytes sql_id api_epoch);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $root = $alice->{user}{root_folder_id};

sub up1 {
	my ($c, $name, $data, %o) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], %o);
	my $files = upload_ok($r, 1, [], "upload $name");
	return $files->[0] || {};
}

sub row {
	my ($id) = @_;
	my ($r) = $s->psql_rows("SELECT name, description, array_to_json(tags), version, size, encode(sha256, 'hex'), is_deleted
		FROM files WHERE id = '" . sql_id($id) . "'");
	return $r || [];
}

# ------------------------------------------------------------ GET

my $doc = up1($alice, 'doc.txt', "document v1\n", fields => [ description => 'first', tags => '["a","b"]' ]);
my $id = sql_id($doc->{id});
my $r = $alice->get("/api/files/$id");
is $r->{status}, 200, 'GET /api/files/:id -> 200' or diag $r->describe;
like $r->header('content-type') // '', qr{^application/json}, 'JSON';
file_object_ok($r->{json}, { %$doc }, 'the same file object as the upload answer');
file_object_ok($r->{json}, { name => 'doc.txt', description => 'first', folder_id => $root, version => 1,
	size => 12, sha256 => sha256_hex("document v1\n"), sharing => { link_count => 0 } }, 'with the uploaded metadata');

# a share link shows in sharing.link_count (shares come with a later issue:
# the row is made directly)
my $share_sql = "INSERT INTO shares (user_id, file_id, share_token_hash, permission_level)
	VALUES ('$alice->{user}{id}', '%s', decode(md5(random()::text) || md5(random()::text), 'hex'), 'view')";
$s->psql(sprintf $share_sql, $id) if $doc->{id};
$s->psql(sprintf "$share_sql; UPDATE shares SET is_active = false WHERE id = (SELECT id FROM shares WHERE file_id = '%s' ORDER BY created_at DESC LIMIT 1)", $id, $id)
	if $doc->{id};
is $alice->get("/api/files/$id")->{json}{sharing}{link_count}, 1, 'sharing.link_count counts the active share link only';

# ------------------------------------------------------------ PUT

my $before = $alice->get("/api/files/$id")->{json} || {};
sleep 1;    # updated_at has a resolution of one second
$r = $alice->put_json("/api/files/$id", { name => 'renamed.txt' });
is $r->{status}, 200, 'PUT {name} -> 200' or diag $r->describe;
file_object_ok($r->{json}, { name => 'renamed.txt', description => 'first', tags => [qw(a b)], version => 1,
	sha256 => $doc->{sha256}, size => 12, id => $doc->{id}, created_at => $before->{created_at} }, 'the renamed file');
cmp_ok api_epoch($r->{json}{updated_at}) // 0, '>', api_epoch($before->{updated_at}) // 1e10, 'updated_at moved forward';
is_deeply $alice->get("/api/files/$id")->{json}, $r->{json}, 'GET shows the same object';
is_deeply [ $s->psql_rows("SELECT action, target_id, target_name, details->>'from' FROM activity_log
	WHERE user_id = '$alice->{user}{id}' AND action IN ('update', 'rename')") ],
	[ [ 'rename', $id, 'renamed.txt', $doc->{name} ] ], 'activity: rename, with the old name';

$r = $alice->put_json("/api/files/$id", { description => 'Ünïcødé ✓ description' });
is $r->{status}, 200, 'PUT {description} -> 200' or diag $r->describe;
is $r->{json}{description}, 'Ünïcødé ✓ description', 'description changed';
is $r->{json}{name}, 'renamed.txt', 'name kept';

$r = $alice->put_json("/api/files/$id", { tags => [qw(x y x ß)] });
is $r->{status}, 200, 'PUT {tags} -> 200' or diag $r->describe;
is_deeply [ sort @{ $r->{json}{tags} || [] } ], [ sort qw(x y ß) ], 'tags replaced, duplicates removed';

$r = $alice->put_json("/api/files/$id", { name => 'all.txt', description => '', tags => [] });
is $r->{status}, 200, 'PUT {name, description, tags} -> 200' or diag $r->describe;
is_deeply [ @{ $r->{json} || {} }{qw(name description tags)} ], [ 'all.txt', '', [] ], 'all three changed (empty description and tags allowed)';

$r = $alice->put_json("/api/files/$id", { name => 'all.txt' });
is $r->{status}, 200, "PUT the file's own name -> 200 (no conflict with itself)" or diag $r->describe;

my $n255 = ('é' x 125) . '.txt' . 'x';    # 250 + 4 + 1 = 255 bytes
$r = $alice->put_json("/api/files/$id", { name => $n255 });
is $r->{status}, 200, 'a UTF-8 name of 255 bytes -> 200' or diag $r->describe;
is $r->{json}{name}, $n255, '... stored as sent';
$alice->put_json("/api/files/$id", { name => 'all.txt' });

my $state = row($id);
for my $bad (
	[ 'an empty object', {} ],
	[ 'an unknown key', { size => 1 } ],
	[ 'a known key next to an unknown one', { name => 'sneaky.txt', owner => $bob->{user}{id} } ],
	[ 'an empty name', { name => '' } ],
	[ 'name "."', { name => '.' } ],
	[ 'name ".."', { name => '..' } ],
	[ 'a name with /', { name => 'a/b.txt' } ],
	[ 'a name with a control character', { name => "a\x01b.txt" } ],
	[ 'a name with a newline', { name => "a\nb.txt" } ],
	[ 'a name of 256 bytes', { name => ('n' x 252) . '.txt' } ],
	[ 'a name that is not a string', { name => 5 } ],
	[ 'a null name', { name => undef } ],
	[ 'a description of 4097 bytes', { description => 'd' x 4097 } ],
	[ 'a description that is not a string', { description => [1] } ],
	[ 'tags as a string', { tags => 'a,b' } ],
	[ '33 tags', { tags => [ map { "t$_" } 1 .. 33 ] } ],
	[ 'a tag of 65 bytes', { tags => [ 'x' x 65 ] } ],
	[ 'an empty tag', { tags => [''] } ],
	[ 'a tag with a control character', { tags => ["a\tb"] } ],
	[ 'a tag that is not a string', { tags => [1] } ],
) {
	my ($what, $body) = @$bad;
	problem_ok($alice->put_json("/api/files/$id", $body), 400, 'invalid_request', "PUT $what -> 400");
}
problem_ok($alice->put_json("/api/files/$id", '{"name": "x.txt"'), 400, 'invalid_request', 'PUT malformed JSON -> 400');
problem_ok($alice->put_json("/api/files/$id", '[]'), 400, 'invalid_request', 'PUT a JSON array -> 400');
is_deeply row($id), $state, 'none of the refused PUTs changed anything';

my $sib = up1($alice, 'sibling.txt', "sibling\n");
$r = $alice->put_json("/api/files/$id", { name => 'sibling.txt' });
problem_ok($r, 409, 'name_conflict', "PUT a sibling's name -> 409 name_conflict");
is row($id)->[0], 'all.txt', '... name unchanged';
is row($sib->{id})->[0], 'sibling.txt', '... the sibling unchanged';

my $gone = up1($alice, 'gone.txt', "gone\n");
is $alice->delete('/api/files/' . sql_id($gone->{id}))->{status}, 204, 'delete gone.txt';
$r = $alice->put_json("/api/files/$id", { name => 'gone.txt' });
is $r->{status}, 200, 'PUT the name of a file in the trash -> 200' or diag $r->describe;
$alice->put_json("/api/files/$id", { name => 'all.txt' });

is_deeply [ @{ row($id) }[ 3, 4, 5 ] ], [ 1, 12, sha256_hex("document v1\n") ], 'PUT never touched version, size or content';

# ------------------------------------------------------------ every route: not yours, not there, not logged in

my $victim = up1($alice, 'victim.txt', "victim content\n");
my $vid = sql_id($victim->{id});
my $victim_row = row($vid);
my $unknown = '3b241101-e2bb-4255-8caf-4136c566a962';
my @routes = (
	[ GET => '/api/files/%s' ],
	[ PUT => '/api/files/%s', { name => 'stolen.txt' } ],
	[ DELETE => '/api/files/%s' ],
	[ GET => '/api/files/%s/download' ],
	[ HEAD => '/api/files/%s/download' ],
	[ GET => '/api/files/%s/download?version=1' ],
	[ GET => '/api/files/%s/versions' ],
	[ GET => '/api/files/%s/versions/1/download' ],
	[ HEAD => '/api/files/%s/versions/1/download' ],
	[ POST => '/api/files/%s/versions/1/restore' ],
);

sub call {
	my ($c, $method, $tmpl, $body, $fid) = @_;
	my $path = sprintf $tmpl, $fid;
	return $c->request($method => $path, defined $body ? { json => $body } : {});
}

for my $rt (@routes) {
	my ($m, $tmpl, $body) = @$rt;
	my $label = "$m " . sprintf($tmpl, ':id');
	my $ok404 = sub {
		my ($r, $name) = @_;
		if ($m eq 'HEAD') { is $r->{status}, 404, $name or diag $r->describe }
		else { problem_ok($r, 404, 'not_found', $name) }
	};
	$ok404->(call($bob, $m, $tmpl, $body, $vid), "$label of another user's file -> 404");
	$ok404->(call($alice, $m, $tmpl, $body, $unknown), "$label of an unknown id -> 404");
	my $anon = call($s->client, $m, $tmpl, $body, $vid);
	if ($m eq 'HEAD') { is $anon->{status}, 401, "$label without credentials -> 401" }
	else { problem_ok($anon, 401, 'unauthenticated', "$label without credentials -> 401") }
}
is_deeply row($vid), $victim_row, "the other user's attempts changed nothing";
$s->settle_downloads;   # counts are written in batches
is $s->psql("SELECT download_count FROM files WHERE id = '$vid'"), 0, '... and counted no download';
is $s->psql("SELECT count(*) FROM activity_log WHERE target_id = '$vid' AND action <> 'upload'"), 0, '... and logged nothing';
is $alice->get("/api/files/$vid")->{status}, 200, 'the owner still sees the file';

# ------------------------------------------------------------ DELETE

my $del = up1($alice, 'delete-me.bin', random_bytes(3000));
up1($alice, 'delete-me.bin', random_bytes(5000));    # a second version: both are released
my $did = sql_id($del->{id});
$s->psql(sprintf $share_sql, $did) if $del->{id};
is $alice->get("/api/files/$did")->{json}{sharing}{link_count}, 1, 'delete-me.bin has a share link';
my $u0 = $s->usage($alice);
$r = $alice->delete("/api/files/$did");
is $r->{status}, 204, 'DELETE -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
my $u1 = $s->usage($alice);
is $u0->{used} - $u1->{used}, 8000, 'usage released by the sizes of both versions (3000 + 5000)';
is $u1->{used}, $u1->{retained}, 'usage = sum of the retained versions of live files';
is_deeply [ $s->psql_rows("SELECT is_deleted, deleted_at IS NOT NULL FROM files WHERE id = '$did'") ], [ [ 't', 't' ] ],
	'the row stays, in the trash (is_deleted, deleted_at)';
is $s->psql("SELECT count(*) FROM file_versions WHERE file_id = '$did'"), 2, '... with its versions (restorable)';
is $s->psql("SELECT count(*) FROM shares WHERE file_id = '$did' AND is_active"), 0, 'its share links are gone';
is $s->psql("SELECT count(*) FROM activity_log WHERE target_id = '$did' AND action = 'delete'"), 1, 'activity: delete';

for my $rt (@routes) {
	my ($m, $tmpl, $body) = @$rt;
	my $r = call($alice, $m, $tmpl, $body, $did);
	is $r->{status}, 404, "$m " . sprintf($tmpl, ':id') . ' of a trashed file -> 404' or diag $r->describe;
}
is_deeply [ $s->psql_rows("SELECT is_deleted, name FROM files WHERE id = '$did'") ], [ [ 't', 'delete-me.bin' ] ],
	'the trashed file was not renamed or restored by those';
is $s->usage($alice)->{used}, $u1->{used}, 'nor charged again';

my $again = up1($alice, 'delete-me.bin', "new life\n");
isnt $again->{id}, $del->{id}, 'uploading the same name again makes a new file';
is $again->{version}, 1, '... at version 1';

# bob cannot delete alice's file
is $bob->delete("/api/files/$vid")->{status}, 404, "DELETE another user's file -> 404";
is row($vid)->[6], 'f', '... it stays live';

done_testing;
