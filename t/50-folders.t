#!/usr/bin/perl
# 50-folders: POST, GET, PUT and DELETE /api/folders through the real stack.
# Proves: POST answers 201 with the folder object (kind, path, parent_id
# defaulting to the root, description, file_count/total_size 0, the owner's
# permissions) and a Location header; a sibling folder OR file of the same
# name is 409 name_conflict (exact, case-sensitive comparison; trashed items
# do not count; other parents do not count), on_conflict "rename" gives
# "name (1)", "name (2)"; invalid names (empty, "/", ".", "..", control
# characters, over 255 bytes, invalid UTF-8 sent as raw bytes), unknown
# fields and wrong types are 400 and create nothing; a parent that is
# unknown, another user's or trashed is 404. Folders nest 50 deep with the
# right path and breadcrumb at every level. GET /api/folders/<id> and
# /api/folders/root return the folder, its breadcrumb (root .. parent) and a
# page of its contents. PUT renames and describes (409 on a sibling's name,
# 403 for the root, 400 for empty or unknown bodies) and descendants' paths
# follow a rename. file_count and total_size are recursive and exact after
# uploads, new versions, file deletes and folder deletes (recounted from the
# rows, and checked as numbers on every ancestor). DELETE answers 204, puts
# the subtree in the trash as one unit, hides it from every route and
# listing and releases its usage; the root cannot be deleted (403). Every
# folder route answers 404 for another user's folder (which stays
# untouched) and 401 without credentials.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Coffer::Test qw(problem_ok upload_ok random_bytes sql_id api_epoch);
use Coffer::Tree qw(mkdir_ok list_all tree_consistent);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $root = $alice->{user}{root_folder_id};
my $aid = $alice->{user}{id};

my $UUID_RE = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my @FOLDER_KEYS = qw(kind id name parent_id path description file_count total_size created_at updated_at permissions);
my @GET_KEYS = (@FOLDER_KEYS, qw(breadcrumb items next_cursor));
my @PERMS = qw(view download edit delete share upload);
my $JSON = JSON::PP->new->canonical;
my $UNKNOWN = '6f1c9a3e-0d7b-4b8a-9e2f-5a4c3b2d1e0f';

# ------------------------------------------------------------ helpers

# Subtest: $f is a folder object of plan4.md (exactly its fields, plus
# @$extra, each of the right shape) and each key of %$want has that value.
sub folder_object_ok {
	my ($f, $want, $name, $extra) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return subtest $name => sub {
		is ref $f, 'HASH', 'an object' or return;
		is_deeply [ sort keys %$f ], [ sort @FOLDER_KEYS, @{ $extra || [] } ], 'exactly the fields of a folder object'
			. ($extra ? " plus @$extra" : '');
		is $f->{kind}, 'folder', 'kind: folder';
		like $f->{id} // '', $UUID_RE, 'id is a UUID';
		ok !defined $f->{parent_id} || $f->{parent_id} =~ $UUID_RE, 'parent_id is a UUID or null';
		like $f->{path} // '', qr{^/}, 'path starts with /';
		ok defined $f->{description} && !ref $f->{description}, 'description is a string';
		my $raw = $JSON->encode($f);
		unlike $raw, qr/"(?:file_count|total_size)":"/, 'file_count and total_size are JSON numbers';
		like $f->{file_count} // '', qr/^\d+$/, 'file_count is an integer';
		like $f->{total_size} // '', qr/^\d+$/, 'total_size is an integer';
		like $f->{created_at} // '', $TIME_RE, 'created_at RFC 3339 UTC';
		like $f->{updated_at} // '', $TIME_RE, 'updated_at RFC 3339 UTC';
		my $p = ref $f->{permissions} eq 'HASH' ? $f->{permissions} : {};
		is ref $f->{permissions}, 'HASH', 'permissions is an object';
		ok JSON::PP::is_bool($p->{$_}) && $p->{$_}, "permissions.$_ is true" for @PERMS;
		for my $k (sort keys %{ $want || {} }) {
			is_deeply $f->{$k}, $want->{$k}, "$k as expected";
		}
	};
}

sub mk { my ($c, $body) = @_; return $c->post_json('/api/folders', $body) }

sub getf {
	my ($c, $id, $q) = @_;
	my $r = $c->get("/api/folders/$id" . ($q // ''));
	return $r->{status} == 200 && ref $r->{json} eq 'HASH' ? $r->{json} : { status => $r->{status} };
}

# Upload one file into $folder (undef: root); returns its file object.
sub up1 {
	my ($c, $folder, $name, $data) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], (defined $folder ? (fields => [ folder_id => $folder ]) : ()));
	my $files = upload_ok($r, 1, [], "upload $name");
	return $files->[0] || {};
}

# [file_count, total_size] of a folder as GET /api/folders/<id> reports it.
sub counts {
	my ($c, $id) = @_;
	my $f = getf($c, $id);
	return [ $f->{file_count}, $f->{total_size} ];
}

sub folder_count {
	my ($c) = @_;
	return $s->psql("SELECT count(*) FROM folders WHERE user_id = '$c->{user}{id}'");
}

sub has_error_field {
	my ($r, $field) = @_;
	my $e = ref $r->{json} eq 'HASH' && ref $r->{json}{errors} eq 'ARRAY' ? $r->{json}{errors} : [];
	return scalar grep { ref $_ eq 'HASH' && ($_->{field} // '') eq $field } @$e;
}

# ------------------------------------------------------------ POST /api/folders

my $r = mk($alice, { name => 'Photos' });
is $r->{status}, 201, 'POST /api/folders {name} -> 201' or diag $r->describe;
like $r->header('content-type') // '', qr{^application/json}, 'JSON';
my $photos = ref $r->{json} eq 'HASH' ? $r->{json} : {};
my $pid = sql_id($photos->{id});
folder_object_ok($photos, { name => 'Photos', parent_id => $root, path => '/Photos', description => '',
	file_count => 0, total_size => 0 }, 'the new folder: in the root by default, empty');
like $r->header('location') // '', qr{^(?:https?://[^/]+)?/api/folders/\Q$pid\E$}, 'Location: /api/folders/<id>';
is_deeply [ $s->psql_rows("SELECT user_id, parent_id, name, is_deleted FROM folders WHERE id = '$pid'") ],
	[ [ $aid, $root, 'Photos', 'f' ] ], 'folders row: owner, parent = root, name, live';
my $g = $alice->get("/api/folders/$pid");
is $g->{status}, 200, 'GET the Location -> 200' or diag $g->describe;
folder_object_ok($g->{json}, { %$photos, breadcrumb => [ { id => $root, name => '' } ], items => [], next_cursor => undef },
	'GET shows the same folder, breadcrumb [root], no items', [qw(breadcrumb items next_cursor)]);
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$aid' AND action = 'create_folder' AND target_id = '$pid'"), 1,
	'activity: create_folder';

$r = mk($alice, { name => '2024', parent_id => $pid, description => 'Summer ✓ Ünïcødé' });
is $r->{status}, 201, 'POST {name, parent_id, description} -> 201' or diag $r->describe;
my $y2024 = ref $r->{json} eq 'HASH' ? $r->{json} : {};
folder_object_ok($y2024, { name => '2024', parent_id => $pid, path => '/Photos/2024', description => 'Summer ✓ Ünïcødé' },
	'a folder inside Photos: path /Photos/2024, description kept');

$r = mk($alice, { name => '📷 Ünïcødé name', parent_id => $root, description => '' });
is $r->{status}, 201, 'a Unicode name, explicit parent_id = root -> 201' or diag $r->describe;
is $r->{json}{path}, '/📷 Ünïcødé name', '... path /📷 Ünïcødé name';

my $n255 = ('é' x 127) . 'x';    # 254 + 1 = 255 bytes
$r = mk($alice, { name => $n255 });
is $r->{status}, 201, 'a name of 255 bytes (128 characters) -> 201' or diag $r->describe;
is $r->{json}{name}, $n255, '... stored as sent';

$r = mk($alice, { name => 'Photos', parent_id => $pid });
is $r->{status}, 201, 'the same name under another parent -> 201' or diag $r->describe;
is $r->{json}{path}, '/Photos/Photos', '... path /Photos/Photos';

$r = mk($alice, { name => 'photos' });
is $r->{status}, 201, 'a name differing only in case -> 201 (exact comparison)' or diag $r->describe;

# ------------------------------------------------------------ conflicts

problem_ok(mk($alice, { name => 'Photos' }), 409, 'name_conflict', 'a sibling folder has that name -> 409 name_conflict');
problem_ok(mk($alice, { name => 'Photos', on_conflict => 'fail' }), 409, 'name_conflict', '... also with on_conflict "fail"');
problem_ok(mk($alice, { name => '2024', parent_id => $pid }), 409, 'name_conflict', '... also below the root');
my $report = up1($alice, $pid, 'report.txt', "a report\n");
problem_ok(mk($alice, { name => 'report.txt', parent_id => $pid }), 409, 'name_conflict',
	'a sibling FILE has that name -> 409 name_conflict');
is $s->psql("SELECT count(*) FROM folders WHERE user_id = '$aid' AND name IN ('Photos', 'report.txt') AND parent_id = '$root' AND NOT is_deleted"), 1,
	'no second Photos was made in the root';
is $s->psql("SELECT count(*) FROM folders WHERE name = 'report.txt'"), 0, 'no folder report.txt was made';

$r = mk($alice, { name => 'Photos', on_conflict => 'rename' });
is $r->{status}, 201, 'on_conflict "rename" -> 201' or diag $r->describe;
is $r->{json}{name}, 'Photos (1)', '... named "Photos (1)"';
is $r->{json}{path}, '/Photos (1)', '... path /Photos (1)';
$r = mk($alice, { name => 'Photos', on_conflict => 'rename' });
is $r->{json}{name}, 'Photos (2)', 'again -> "Photos (2)"' or diag $r->describe;
mkdir_ok($alice, 'Gap');
mkdir_ok($alice, 'Gap (1)');
$r = mk($alice, { name => 'Gap', on_conflict => 'rename' });
is $r->{json}{name}, 'Gap (2)', '"Gap" when "Gap" and "Gap (1)" exist -> "Gap (2)"' or diag $r->describe;
$r = mk($alice, { name => 'report.txt', parent_id => $pid, on_conflict => 'rename' });
is $r->{status}, 201, 'on_conflict "rename" against a file -> 201' or diag $r->describe;
ok +($r->{json}{name} // '') =~ /^(?:report\.txt \(1\)|report \(1\)\.txt)$/, '... under a new name "report.txt (1)"'
	or diag $r->describe;
$r = mk($alice, { name => 'Fresh', on_conflict => 'rename' });
is $r->{json}{name}, 'Fresh', 'on_conflict "rename" without a conflict keeps the name' or diag $r->describe;

my $old = mkdir_ok($alice, 'Old');
is $alice->delete('/api/folders/' . sql_id($old->{id}))->{status}, 204, 'delete folder Old';
$r = mk($alice, { name => 'Old' });
is $r->{status}, 201, 'the name of a trashed folder is free again -> 201' or diag $r->describe;
isnt $r->{json}{id}, $old->{id}, '... a new folder';

# ------------------------------------------------------------ invalid bodies

my $before = folder_count($alice);
for my $bad (
	[ 'an empty name', { name => '' } ],
	[ 'name "/"', { name => '/' } ],
	[ 'a name with /', { name => 'a/b' } ],
	[ 'name "."', { name => '.' } ],
	[ 'name ".."', { name => '..' } ],
	[ 'a name with NUL', { name => "a\x00b" } ],
	[ 'a name with \x01', { name => "a\x01b" } ],
	[ 'a name with a newline', { name => "a\nb" } ],
	[ 'a name with a tab', { name => "a\tb" } ],
	[ 'a name with DEL', { name => "a\x7fb" } ],
	[ 'a name with a C1 control (U+0085)', { name => "a\x{85}b" } ],
	[ 'a name of 256 bytes', { name => 'n' x 256 } ],
	[ 'a name of 256 bytes in 128 characters', { name => 'é' x 128 } ],
) {
	my ($what, $body) = @$bad;
	$r = mk($alice, $body);
	problem_ok($r, 400, 'invalid_request', "POST $what -> 400");
	ok has_error_field($r, 'name'), "... errors names the field name" or diag $r->describe;
}
for my $raw (
	[ 'invalid UTF-8 (raw \xff\xfe)', qq({"name": "bad\xff\xfename"}) ],
	[ 'invalid UTF-8 (overlong \xc0\xaf)', qq({"name": "a\xc0\xafb"}) ],
	[ 'invalid UTF-8 (truncated sequence)', qq({"name": "a\xe2\x82"}) ],
	[ 'invalid UTF-8 (encoded surrogate)', qq({"name": "a\xed\xa0\x80b"}) ],
	[ 'a lone surrogate escape', q({"name": "a\ud800b"}) ],
	[ 'malformed JSON', q({"name": "x") ],
	[ 'a JSON array', q(["x"]) ],
	[ 'a JSON string', q("x") ],
	[ 'an empty body', '' ],
) {
	my ($what, $body) = @$raw;
	problem_ok($alice->request(POST => '/api/folders', { body => $body, headers => { 'Content-Type' => 'application/json' } }),
		400, 'invalid_request', "POST $what -> 400");
}
for my $bad (
	[ 'an empty object (no name)', {} ],
	[ 'no name, only a parent', { parent_id => $root } ],
	[ 'an unknown field', { name => 'u1', color => 'red' } ],
	[ 'a path field', { name => 'u2', path => '/u2' } ],
	[ 'a user_id field', { name => 'u3', user_id => $bob->{user}{id} } ],
	[ 'a name that is a number', { name => 5 } ],
	[ 'a null name', { name => undef } ],
	[ 'a name that is an array', { name => ['x'] } ],
	[ 'a name that is an object', { name => { a => 1 } } ],
	[ 'a name that is a boolean', { name => JSON::PP::true } ],
	[ 'a parent_id that is a number', { name => 'u4', parent_id => 5 } ],
	[ 'a parent_id that is not a UUID', { name => 'u5', parent_id => 'not-a-uuid' } ],
	[ 'a parent_id that is an array', { name => 'u6', parent_id => [$root] } ],
	[ 'a description that is a number', { name => 'u7', description => 5 } ],
	[ 'a description of 4097 bytes', { name => 'u8', description => 'd' x 4097 } ],
	[ 'on_conflict "overwrite"', { name => 'u9', on_conflict => 'overwrite' } ],
	[ 'on_conflict "version"', { name => 'u10', on_conflict => 'version' } ],
	[ 'on_conflict that is a number', { name => 'u11', on_conflict => 1 } ],
) {
	my ($what, $body) = @$bad;
	problem_ok(mk($alice, $body), 400, 'invalid_request', "POST $what -> 400");
}
is folder_count($alice), $before, 'none of the refused POSTs made a folder';

# a parent that is not there for alice
my $bob_f = mkdir_ok($bob, 'Bob parent');
my $gone = mkdir_ok($alice, 'Gone parent');
is $alice->delete('/api/folders/' . sql_id($gone->{id}))->{status}, 204, 'delete folder "Gone parent"';
$before = folder_count($alice);
for my $p (
	[ "another user's root folder", $bob->{user}{root_folder_id} ],
	[ "another user's folder", $bob_f->{id} ],
	[ 'an unknown folder', $UNKNOWN ],
	[ 'a trashed folder', $gone->{id} ],
) {
	my ($what, $parent) = @$p;
	problem_ok(mk($alice, { name => 'child', parent_id => $parent }), 404, 'not_found', "POST with parent_id of $what -> 404");
}
is folder_count($alice), $before, 'none of them made a folder';
is $s->psql("SELECT count(*) FROM folders WHERE name = 'child'"), 0, 'no folder "child" anywhere';

# ------------------------------------------------------------ 50 levels

my @chain;
my $parent;
for my $i (1 .. 50) {
	my $f = eval { mkdir_ok($alice, "d$i", $parent) } or do { fail "mkdir d$i: $@"; last };
	push @chain, $f;
	$parent = $f->{id};
}
is scalar @chain, 50, '50 nested folders made';
is_deeply [ map { $_->{path} } @chain ], [ map { join '', map { "/d$_" } 1 .. $_ } 1 .. 50 ],
	'each POST answered the full path of its level';
my $deep = getf($alice, sql_id($chain[-1]{id}));
folder_object_ok($deep, { name => 'd50', parent_id => $chain[-2]{id}, path => join('', map { "/d$_" } 1 .. 50),
	items => [], next_cursor => undef }, 'GET the folder at depth 50', [qw(breadcrumb items next_cursor)]);
is_deeply $deep->{breadcrumb}, [ { id => $root, name => '' }, map { { id => $_->{id}, name => $_->{name} } } @chain[ 0 .. 48 ] ],
	'breadcrumb at depth 50: root, d1 .. d49 (50 entries)';
my $mid = getf($alice, sql_id($chain[24]{id}));
is $mid->{path}, join('', map { "/d$_" } 1 .. 25), 'GET at depth 25: path /d1/../d25';
is scalar @{ $mid->{breadcrumb} || [] }, 25, '... breadcrumb of 25 entries';
is_deeply [ map { $_->{id} } @{ $mid->{items} || [] } ], [ $chain[25]{id} ], '... items: d26 only';
is_deeply [ map { $_->{path} } @{ $mid->{items} || [] } ], [ $chain[25]{path} ], '... whose path is right in the listing too';

my $root_before = counts($alice, 'root');
my $deep_file = up1($alice, $chain[-1]{id}, 'deep.bin', random_bytes(1234));
is $deep_file->{folder_id}, $chain[-1]{id}, 'a file uploaded at depth 50 lands there';
my @deep_counts = map { counts($alice, sql_id($_->{id})) } @chain;
is_deeply \@deep_counts, [ map { [ 1, 1234 ] } 1 .. 50 ], 'every one of the 50 ancestors: file_count 1, total_size 1234';
is_deeply counts($alice, 'root'), [ $root_before->[0] + 1, $root_before->[1] + 1234 ], 'the root counted it too';
tree_consistent($s, '50 levels', $alice);

# ------------------------------------------------------------ GET /api/folders/root

$r = $alice->get('/api/folders/root');
is $r->{status}, 200, 'GET /api/folders/root -> 200' or diag $r->describe;
my $rootf = ref $r->{json} eq 'HASH' ? $r->{json} : {};
folder_object_ok($rootf, { id => $root, name => '', parent_id => undef, path => '/', breadcrumb => [] },
	'the root: name "", parent_id null, path "/", breadcrumb []', [qw(breadcrumb items next_cursor)]);
my $byid = getf($alice, $root);
is_deeply $byid, $rootf, 'GET /api/folders/<root id> is the same answer';
my ($all_root) = eval { list_all($alice, '/api/files', 1000) };
is_deeply [ map { $_->{id} } @{ $rootf->{items} || [] } ], [ map { $_->{id} } @{ $all_root || [] } ],
	'items: the same as GET /api/files (the root, default order)';
ok +(grep { ($_->{id} // '') eq $photos->{id} } @{ $rootf->{items} || [] }), '... Photos is among them';
ok !(grep { ($_->{id} // '') eq $y2024->{id} } @{ $rootf->{items} || [] }), '... 2024 (inside Photos) is not';
my $n_root = scalar @{ $all_root || [] };
cmp_ok $n_root, '>', 3, "the root holds $n_root items";

$r = $alice->get('/api/folders/root?limit=2');
is scalar @{ $r->{json}{items} || [] }, 2, 'GET /api/folders/root?limit=2: two items' or diag $r->describe;
my $cur = $r->{json}{next_cursor};
ok defined $cur && length $cur, '... and a next_cursor';
(my $cur_q = $cur // '') =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
my $r2 = $alice->get("/api/folders/root?limit=2&cursor=$cur_q");
is $r2->{status}, 200, '... which GET /api/folders/root takes back' or diag $r2->describe;
is_deeply [ map { $_->{id} } @{ $r->{json}{items} || [] }, @{ $r2->{json}{items} || [] } ],
	[ map { $_->{id} } @{ $all_root || [] }[ 0 .. 3 ] ], '... the first four items, as GET /api/files has them';
$r = $alice->get('/api/folders/root?sort=size&order=desc&limit=1000');
my ($sorted) = eval { list_all($alice, '/api/files?sort=size&order=desc', 1000) };
is_deeply [ map { $_->{id} } @{ $r->{json}{items} || [] } ], [ map { $_->{id} } @{ $sorted || [] } ],
	'GET /api/folders/root?sort=size&order=desc lists as GET /api/files with the same parameters';
problem_ok($alice->get('/api/folders/root?sort=bogus'), 400, 'invalid_request', 'GET /api/folders/root?sort=bogus -> 400');
problem_ok($alice->get("/api/folders/$pid?limit=0"), 400, 'invalid_request', 'GET /api/folders/<id>?limit=0 -> 400');
problem_ok($alice->get("/api/folders/$UNKNOWN"), 404, 'not_found', 'GET an unknown folder -> 404');

$g = getf($alice, $pid);
my ($renamed) = grep { ($_->{name} // '') =~ /^report/ && $_->{kind} eq 'folder' } @{ $g->{items} || [] };
is_deeply [ map { $_->{kind} . ':' . $_->{name} } @{ $g->{items} || [] } ],
	[ 'folder:2024', 'folder:Photos', 'folder:' . ($renamed->{name} // 'report.txt (1)'), 'file:report.txt' ],
	'GET Photos: its folders (by name) first, then its file';

# ------------------------------------------------------------ PUT

my $docs = mkdir_ok($alice, 'Docs');
my $sub = mkdir_ok($alice, 'Sub', $docs->{id});
my $leaf = mkdir_ok($alice, 'Leaf', $sub->{id});
my $other = mkdir_ok($alice, 'Other');
up1($alice, undef, 'taken.txt', "taken\n");
my $did = sql_id($docs->{id});
sleep 1;    # updated_at has a resolution of one second
$r = $alice->put_json("/api/folders/$did", { name => 'Papers' });
is $r->{status}, 200, 'PUT {name} -> 200' or diag $r->describe;
folder_object_ok($r->{json}, { id => $docs->{id}, name => 'Papers', path => '/Papers', parent_id => $root,
	created_at => $docs->{created_at}, description => '' }, 'the renamed folder');
cmp_ok api_epoch($r->{json}{updated_at}) // 0, '>', api_epoch($docs->{updated_at}) // 1e10, 'updated_at moved forward';
my $leaf_now = getf($alice, sql_id($leaf->{id}));
is $leaf_now->{path}, '/Papers/Sub/Leaf', 'a descendant two levels down has the new path';
is_deeply [ map { $_->{name} } @{ $leaf_now->{breadcrumb} || [] } ], [ '', 'Papers', 'Sub' ], '... and breadcrumb';
is getf($alice, sql_id($sub->{id}))->{path}, '/Papers/Sub', 'the child too';
is getf($alice, sql_id($sub->{id}))->{items}[0]{path}, '/Papers/Sub/Leaf', '... and Leaf as listed in Sub';

$r = $alice->put_json("/api/folders/$did", { description => 'Ünïcødé description' });
is $r->{status}, 200, 'PUT {description} -> 200' or diag $r->describe;
is_deeply [ @{ $r->{json} || {} }{qw(name description)} ], [ 'Papers', 'Ünïcødé description' ], 'description changed, name kept';
$r = $alice->put_json("/api/folders/$did", { name => 'Docs', description => '' });
is $r->{status}, 200, 'PUT {name, description} -> 200' or diag $r->describe;
is_deeply [ @{ $r->{json} || {} }{qw(name description path)} ], [ 'Docs', '', '/Docs' ], 'both changed';
$r = $alice->put_json("/api/folders/$did", { name => 'Docs' });
is $r->{status}, 200, "PUT the folder's own name -> 200" or diag $r->describe;
is_deeply [ $s->psql_rows("SELECT action, target_name, coalesce(details->>'from', '-') FROM activity_log
	WHERE user_id = '$aid' AND target_id = '$did' AND action IN ('rename', 'update') ORDER BY created_at, id") ],
	[ [ 'rename', 'Papers', 'Docs' ], [ 'update', 'Papers', '-' ], [ 'rename', 'Docs', 'Papers' ], [ 'update', 'Docs', '-' ] ],
	'activity: rename (with the old name) when the name changes, update otherwise';

problem_ok($alice->put_json("/api/folders/$did", { name => 'Other' }), 409, 'name_conflict', "PUT a sibling folder's name -> 409");
problem_ok($alice->put_json("/api/folders/$did", { name => 'taken.txt' }), 409, 'name_conflict', "PUT a sibling file's name -> 409");
is getf($alice, $did)->{name}, 'Docs', '... name unchanged';
is getf($alice, sql_id($other->{id}))->{name}, 'Other', '... the sibling unchanged';
$r = $alice->put_json("/api/folders/$did", { name => 'Old' });
problem_ok($r, 409, 'name_conflict', 'PUT the name of a live folder that replaced a trashed one -> 409');
$r = $alice->put_json("/api/folders/$did", { name => 'Gone parent' });
is $r->{status}, 200, 'PUT the name of a trashed folder -> 200' or diag $r->describe;
$alice->put_json("/api/folders/$did", { name => 'Docs' });

# plan4.md defines the literal "root" for GET only: PUT and DELETE on it may
# be refused as 403 forbidden or 405 (no such method on that resource)
$r = $alice->put_json('/api/folders/root', { name => 'x' });
ok $r->is_problem(403, 'forbidden') || $r->is_problem(405), 'PUT /api/folders/root {name} -> 403 (or 405)' or diag $r->describe;
problem_ok($alice->put_json("/api/folders/$root", { name => 'x' }), 403, 'forbidden', 'PUT /api/folders/<root id> {name} -> 403');
is $s->psql("SELECT name FROM folders WHERE id = '$root'"), '', 'the root keeps its empty name';

my $state_sql = "SELECT name, description, parent_id, updated_at FROM folders WHERE id = '$did'";
my @state = $s->psql_rows($state_sql);
for my $bad (
	[ 'an empty object', {} ],
	[ 'an unknown field', { color => 'red' } ],
	[ 'a known field next to an unknown one', { name => 'sneaky', owner => $bob->{user}{id} } ],
	[ 'parent_id (moves go through /api/files/move)', { parent_id => $other->{id} } ],
	[ 'an empty name', { name => '' } ],
	[ 'name "."', { name => '.' } ],
	[ 'name ".."', { name => '..' } ],
	[ 'a name with /', { name => 'a/b' } ],
	[ 'a name with a control character', { name => "a\x01b" } ],
	[ 'a name of 256 bytes', { name => 'n' x 256 } ],
	[ 'a name that is a number', { name => 5 } ],
	[ 'a null name', { name => undef } ],
	[ 'a description that is an array', { description => [1] } ],
	[ 'a description of 4097 bytes', { description => 'd' x 4097 } ],
) {
	my ($what, $body) = @$bad;
	problem_ok($alice->put_json("/api/folders/$did", $body), 400, 'invalid_request', "PUT $what -> 400");
}
problem_ok($alice->request(PUT => "/api/folders/$did", { body => '', headers => { 'Content-Type' => 'application/json' } }),
	400, 'invalid_request', 'PUT an empty body -> 400');
problem_ok($alice->put_json("/api/folders/$did", '{"name": "x"'), 400, 'invalid_request', 'PUT malformed JSON -> 400');
problem_ok($alice->put_json("/api/folders/$did", qq({"name": "bad\xff"})), 400, 'invalid_request', 'PUT invalid UTF-8 -> 400');
is_deeply [ $s->psql_rows($state_sql) ], \@state, 'none of the refused PUTs changed anything';
problem_ok($alice->put_json("/api/folders/$UNKNOWN", { name => 'x' }), 404, 'not_found', 'PUT an unknown folder -> 404');

# ------------------------------------------------------------ recursive totals

my $ta = mkdir_ok($alice, 'TA');
my $tb = mkdir_ok($alice, 'TB', $ta->{id});
my $tc = mkdir_ok($alice, 'TC', $tb->{id});
my $td = mkdir_ok($alice, 'TD', $tc->{id});
my ($A, $B, $C, $D) = map { sql_id($_->{id}) } $ta, $tb, $tc, $td;
my $r0 = counts($alice, 'root');
my $u0 = $s->usage($alice);

my $f1 = up1($alice, $C, 'f1.bin', random_bytes(100));
my $f2 = up1($alice, $B, 'f2.bin', random_bytes(200));
my $f3 = up1($alice, $A, 'f3.bin', random_bytes(50));
my $f4 = up1($alice, undef, 'f4.bin', random_bytes(70));
my $f5 = up1($alice, $D, 'f5.bin', random_bytes(30));
is_deeply [ map { $_->{folder_id} } $f1, $f2, $f3, $f4, $f5 ], [ $C, $B, $A, $root, $D ], 'each file landed in its folder';
is_deeply [ map { counts($alice, $_) } $A, $B, $C, $D ], [ [ 4, 380 ], [ 3, 330 ], [ 2, 130 ], [ 1, 30 ] ],
	'after uploads: TA 4/380, TB 3/330, TC 2/130, TD 1/30';
is_deeply counts($alice, 'root'), [ $r0->[0] + 5, $r0->[1] + 450 ], 'the root: +5 files, +450 bytes';
tree_consistent($s, 'after uploads', $alice);

my $l = $alice->get("/api/files?folder_id=$A");
my ($tb_item) = grep { ($_->{id} // '') eq $B } @{ $l->{json}{items} || [] };
is_deeply [ @{ $tb_item || {} }{qw(file_count total_size)} ], [ 3, 330 ], 'TB as listed in TA carries the same totals';

my $f1v2 = up1($alice, $C, 'f1.bin', random_bytes(160));
is_deeply [ $f1v2->{id}, $f1v2->{version} ], [ $f1->{id}, 2 ], 'f1.bin again: version 2 of the same file';
is_deeply [ map { counts($alice, $_) } $A, $B, $C, $D ], [ [ 4, 440 ], [ 3, 390 ], [ 2, 190 ], [ 1, 30 ] ],
	'after a new version (100 -> 160 bytes): sizes follow the current version, counts unchanged';
is_deeply counts($alice, 'root'), [ $r0->[0] + 5, $r0->[1] + 510 ], 'the root: +60 more';
tree_consistent($s, 'after a new version', $alice);

is $alice->delete('/api/files/' . sql_id($f2->{id}))->{status}, 204, 'delete f2 (200 bytes, in TB)';
is_deeply [ map { counts($alice, $_) } $A, $B, $C, $D ], [ [ 3, 240 ], [ 2, 190 ], [ 2, 190 ], [ 1, 30 ] ],
	'after a file delete: TA 3/240, TB 2/190';
is_deeply counts($alice, 'root'), [ $r0->[0] + 4, $r0->[1] + 310 ], 'the root: -1 file, -200 bytes';
tree_consistent($s, 'after a file delete', $alice);

# ------------------------------------------------------------ DELETE

my $u1 = $s->usage($alice);
$r = $alice->delete("/api/folders/$C");
is $r->{status}, 204, 'DELETE /api/folders/<TC> (TC/TD, 2 files, 3 versions) -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
my $u2 = $s->usage($alice);
is $u1->{used} - $u2->{used}, 100 + 160 + 30, 'usage released: every retained version in the subtree (100 + 160 + 30)';
is $u2->{used}, $u2->{retained}, 'usage = the retained versions of live files';
is_deeply [ map { counts($alice, $_) } $A, $B ], [ [ 1, 50 ], [ 0, 0 ] ], 'after the folder delete: TA 1/50, TB 0/0';
is_deeply counts($alice, 'root'), [ $r0->[0] + 2, $r0->[1] + 120 ], 'the root: -2 files, -190 bytes';
tree_consistent($s, 'after a folder delete', $alice);
is_deeply [ $s->psql_rows("SELECT id, is_deleted, trash_id FROM folders WHERE id IN ('$C', '$D') ORDER BY name") ],
	[ [ $C, 't', $C ], [ $D, 't', $C ] ], 'TC and TD are in the trash as the unit TC';
is_deeply [ $s->psql_rows("SELECT id, is_deleted, trash_id FROM files WHERE id IN ('" . sql_id($f1->{id}) . "', '" . sql_id($f5->{id}) . "') ORDER BY name") ],
	[ [ $f1->{id}, 't', $C ], [ $f5->{id}, 't', $C ] ], '... and so are their files';
is $s->psql("SELECT count(*) FROM file_versions WHERE file_id = '" . sql_id($f1->{id}) . "'"), 2, "f1's versions are kept (restorable)";

my ($tb_list) = eval { list_all($alice, "/api/files?folder_id=$B") };
is_deeply $tb_list, [], 'TB lists nothing now';
for my $x ([ TC => $C ], [ TD => $D ]) {
	my ($n, $id) = @$x;
	problem_ok($alice->get("/api/folders/$id"), 404, 'not_found', "GET /api/folders/<$n> (trashed) -> 404");
	problem_ok($alice->get("/api/files?folder_id=$id"), 404, 'not_found', "GET /api/files?folder_id=<$n> -> 404");
	problem_ok($alice->put_json("/api/folders/$id", { name => 'back' }), 404, 'not_found', "PUT /api/folders/<$n> -> 404");
	problem_ok($alice->delete("/api/folders/$id"), 404, 'not_found', "DELETE /api/folders/<$n> again -> 404");
	problem_ok(mk($alice, { name => 'inside', parent_id => $id }), 404, 'not_found', "POST /api/folders into <$n> -> 404");
	problem_ok($alice->upload(files => [ [ 'inside.txt', "x\n" ] ], fields => [ folder_id => $id ]), 404, 'not_found',
		"upload into <$n> -> 404");
}
problem_ok($alice->get('/api/files/' . sql_id($f5->{id})), 404, 'not_found', 'GET a file of the trashed subtree -> 404');
is $s->psql("SELECT count(*) FROM folders WHERE name = 'inside' OR name = 'back'"), 0, 'nothing was made inside the trash';
is $s->psql("SELECT count(*) FROM files WHERE name = 'inside.txt'"), 0, '... no file either';

$r = $alice->delete('/api/folders/root');
ok $r->is_problem(403, 'forbidden') || $r->is_problem(405), 'DELETE /api/folders/root -> 403 (or 405)' or diag $r->describe;
problem_ok($alice->delete("/api/folders/$root"), 403, 'forbidden', 'DELETE /api/folders/<root id> -> 403');
is $s->psql("SELECT is_deleted FROM folders WHERE id = '$root'"), 'f', 'the root is still live';
problem_ok($alice->delete("/api/folders/$UNKNOWN"), 404, 'not_found', 'DELETE an unknown folder -> 404');

# ------------------------------------------------------------ another user's folder, no credentials

my $bf = mkdir_ok($bob, 'Bob private', undef, description => 'private');
my $bs = mkdir_ok($bob, 'inner', $bf->{id});
my $bfile = up1($bob, $bf->{id}, 'secret.txt', "bob's secret\n");
my $afile = up1($alice, undef, 'mine.txt', "alice's own\n");
my $BF = sql_id($bf->{id});
my $BROOT = $bob->{user}{root_folder_id};
my $bob_sql = "SELECT 'd', id, parent_id, name, description, is_deleted, file_count, total_size, updated_at FROM folders WHERE user_id = '$bob->{user}{id}'
	UNION ALL SELECT 'f', id, folder_id, name, description, is_deleted, version, size, updated_at FROM files WHERE user_id = '$bob->{user}{id}' ORDER BY 1, 2";
my @bob_before = $s->psql_rows($bob_sql);
my $alice_folders = folder_count($alice);

for my $target ([ "another user's folder" => $BF ], [ "another user's root" => $BROOT ], [ 'an unknown folder' => $UNKNOWN ]) {
	my ($what, $id) = @$target;
	problem_ok($alice->get("/api/folders/$id"), 404, 'not_found', "GET /api/folders/:id of $what -> 404");
	problem_ok($alice->get("/api/folders/$id?limit=1&sort=size"), 404, 'not_found', "GET /api/folders/:id?limit=1&sort=size of $what -> 404");
	problem_ok($alice->put_json("/api/folders/$id", { name => 'stolen' }), 404, 'not_found', "PUT {name} on $what -> 404");
	problem_ok($alice->put_json("/api/folders/$id", { description => 'mine now' }), 404, 'not_found', "PUT {description} on $what -> 404");
	problem_ok($alice->delete("/api/folders/$id"), 404, 'not_found', "DELETE $what -> 404");
	problem_ok(mk($alice, { name => 'intrusion', parent_id => $id }), 404, 'not_found', "POST /api/folders with parent_id of $what -> 404");
	problem_ok(mk($alice, { name => 'intrusion', parent_id => $id, on_conflict => 'rename' }), 404, 'not_found',
		"... also with on_conflict rename");
	problem_ok($alice->get("/api/files?folder_id=$id"), 404, 'not_found', "GET /api/files?folder_id= of $what -> 404");
	my $up = $alice->upload(files => [ [ 'intrusion.txt', "x\n" ] ], fields => [ folder_id => $id ]);
	problem_ok($up, 404, 'not_found', "upload into $what -> 404");
	problem_ok($alice->post_json('/api/files/move', { item_ids => [ $afile->{id} ], target_folder_id => $id }), 404, 'not_found',
		"POST /api/files/move with target $what -> 404");
	problem_ok($alice->post_json('/api/files/copy', { item_ids => [ $afile->{id} ], target_folder_id => $id }), 404, 'not_found',
		"POST /api/files/copy with target $what -> 404");
}
for my $op (qw(move copy)) {
	$r = $alice->post_json("/api/files/$op", { item_ids => [ $bf->{id} ], target_folder_id => $root });
	is $r->{status}, 200, "POST /api/files/$op of another user's folder -> 200 with a per-item error" or diag $r->describe;
	is_deeply $r->{json}{items}, [], '... nothing done';
	is_deeply [ map { [ $_->{id}, $_->{error}{status}, $_->{error}{code} ] } @{ $r->{json}{errors} || [] } ],
		[ [ $bf->{id}, 404, 'not_found' ] ], '... the folder: 404 not_found';
}
$r = $alice->post_json('/api/files/delete', { item_ids => [ $bf->{id} ] });
is $r->{status}, 200, "POST /api/files/delete of another user's folder -> 200 with a per-item error" or diag $r->describe;
is_deeply [ map { [ $_->{id}, $_->{error}{status} ] } @{ $r->{json}{errors} || [] } ], [ [ $bf->{id}, 404 ] ], '... 404 for it';
is_deeply $r->{json}{items}, [], '... nothing deleted';

is_deeply [ $s->psql_rows($bob_sql) ], \@bob_before, "the other user's folders and files are unchanged";
is folder_count($alice), $alice_folders, 'alice made no folder on the way';
is $s->psql("SELECT count(*) FROM files WHERE name = 'intrusion.txt'"), 0, '... and stored no file';
$g = getf($bob, $BF);
is_deeply [ @$g{qw(name description file_count total_size)} ], [ 'Bob private', 'private', 1, length "bob's secret\n" ],
	'bob still sees his folder as it was';
is_deeply [ map { $_->{id} } @{ $g->{items} || [] } ], [ $bs->{id}, $bfile->{id} ], '... with its contents';

my $anon = $s->client;
for my $call (
	[ GET => '/api/folders/root' ],
	[ GET => "/api/folders/$pid" ],
	[ PUT => "/api/folders/$pid", { name => 'anon' } ],
	[ DELETE => "/api/folders/$pid" ],
	[ POST => '/api/folders', { name => 'anon' } ],
	[ POST => '/api/folders', { name => 'anon', parent_id => $pid } ],
	[ GET => '/api/files' ],
	[ GET => "/api/files?folder_id=$pid" ],
) {
	my ($m, $path, $body) = @$call;
	problem_ok($anon->request($m => $path, defined $body ? { json => $body } : {}), 401, 'unauthenticated',
		"$m $path without credentials -> 401");
}
is $s->psql("SELECT count(*) FROM folders WHERE name = 'anon'"), 0, 'no folder made without credentials';
is_deeply [ @{ getf($alice, $pid) }{qw(name path)} ], [ 'Photos', '/Photos' ], 'Photos untouched';

tree_consistent($s, 'at the end (every user)');

done_testing;
