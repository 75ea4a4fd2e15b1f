#!/usr/bin/perl
# 63-grants: sharing with registered users (plan5b, issue 5 part 2).
# Setting: alice owns folder D (in her root) with sub-folder S, file F in D
# and file G in S; carol gets a viewer grant on D, dave an editor grant on
# D, erin a viewer grant on the file F. Proves: POST
# /api/folders/<id>/grants and /api/files/<id>/grants take {user (username
# or email), role} and answer 201 with Location /api/grants/<id> and the
# grant object (id, kind, item_id, item_name, role, owner {id, username},
# grantee {id, username}, created_at, updated_at); every bad body (missing
# or invalid user or role, unknown fields, granting to yourself, malformed
# JSON) is 400 invalid_request and makes nothing; an unknown or deactivated
# user is 404 user_not_found; a second grant of one item to one user 409
# already_granted; another user's, an unknown, a trashed item 404, a
# grantee 403, no login 401. The item's grants (owner only), GET
# /api/grants (grants made) and GET /api/shared-with-me (grants received)
# list newest first and page by limit/cursor; shared-with-me embeds the
# item as the grantee sees it: the grantee's permissions, the granted
# folder with parent_id null and path "/D" (and breadcrumb [] on GET), S
# as "/D/S" with breadcrumb [D], a file granted by itself with folder_id
# null. PUT /api/grants/<id> changes the role at once (viewer -> editor
# lets PUT /api/files succeed, editor -> viewer makes it 403); only the
# owner may (grantee 403, others 404). DELETE /api/grants/<id> by the owner
# (revoke) or the grantee (leave) takes effect at once (404), anyone else
# 404. An editor's uploads, new versions, folders and copies into D belong
# to alice and are charged to alice's storage_used, not dave's; alice's
# full quota refuses them with 507 although dave has room; an editor's
# deletes go to alice's trash (not dave's); an editor cannot delete D
# itself (403); a viewer's copy out is the viewer's and charged to the
# viewer; an editor moving alice's item into the editor's own folder hands
# it over (it becomes the editor's, its 3000 bytes leave alice's usage for
# the editor's, alice's link to it dies) unless the editor's quota has no
# room (per-item 507, nothing moves), and a viewer may not (403). The
# activity logs of both sides record grant /
# grant_received, grant_update, grant_revoke / grant_revoked, grant_leave,
# and the editor's actions also in alice's log with details.actor_id. A
# granted item in the trash leaves shared-with-me and answers 404 to the
# grantee. The tree stays consistent.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;

use Coffer::Test qw(problem_ok upload_ok sql_id random_bytes);
use Coffer::Tree qw(mkdir_ok list_all uuid tree_consistent);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $carol = $s->register_user;
my $dave = $s->register_user;
my $erin = $s->register_user;
my $gina = $s->register_user;    # deactivated below: not a user one can grant to
my $anon = $s->client;

my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my @PERMS = qw(view download edit delete share upload);

# ------------------------------------------------------------ helpers

sub b { $_[0] ? 1 : 0 }
sub perms01 { my ($p) = @_; ref $p eq 'HASH' ? { map { $_ => b($p->{$_}) } keys %$p } : $p }
sub perms_of { my %on = map { $_ => 1 } @_; return { map { $_ => $on{$_} ? 1 : 0 } @PERMS } }
sub J { my ($r) = @_; ref $r->{json} eq 'HASH' ? $r->{json} : {} }
sub ids { [ map { $_->{id} } @{ $_[0] || [] } ] }

sub up1 {
	my ($c, $name, $data, $folder) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], (defined $folder ? (fields => [ folder_id => $folder ]) : ()));
	my $files = upload_ok($r, 1, [], "upload $name");
	return $files->[0] || { id => uuid() };
}

sub user_ref { my ($c) = @_; return { id => $c->{user}{id}, username => $c->{username} } }

# POST /api/{files,folders}/<id>/grants as $c.
sub grant_req {
	my ($c, $kind, $id, $body) = @_;
	return $c->post_json("/api/${kind}s/" . sql_id($id) . '/grants', $body);
}

# A grant that must be made; returns the grant object ({} on failure).
sub make_grant {
	my ($c, $kind, $id, $user, $role, $name) = @_;
	my $r = grant_req($c, $kind, $id, { user => $user, role => $role });
	is $r->{status}, 201, ($name // "grant $role on a $kind") . ' -> 201' or diag $r->describe;
	return ref $r->{json} eq 'HASH' ? $r->{json} : { id => uuid() };
}

sub grant_count { $s->psql('SELECT count(*) FROM grants') }

# Subtest: $g is a grant object with exactly the fields of the contract, of
# the right shapes, and the values of %$want.
sub grant_object_ok {
	my ($g, $want, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	subtest $name // 'grant object', sub {
		is ref $g, 'HASH', 'an object' or return;
		my %g = %$g;
		delete $g{item};    # shared-with-me adds the item
		is_deeply [ sort keys %g ], [ sort qw(id kind item_id item_name role owner grantee created_at updated_at) ],
			'exactly the fields of a grant';
		like $g->{id} // '', $UUID, 'id is a UUID';
		like $g->{kind} // '', qr/^(?:file|folder)$/, 'kind file|folder';
		like $g->{item_id} // '', $UUID, 'item_id is a UUID';
		like $g->{role} // '', qr/^(?:viewer|editor)$/, 'role viewer|editor';
		for my $who (qw(owner grantee)) {
			is ref $g->{$who}, 'HASH', "$who is an object" or next;
			is_deeply [ sort keys %{ $g->{$who} } ], [qw(id username)], "$who: {id, username}";
		}
		like $g->{created_at} // '', $TIME, 'created_at RFC 3339 UTC';
		like $g->{updated_at} // '', $TIME, 'updated_at RFC 3339 UTC';
		for my $k (sort keys %{ $want || {} }) {
			is_deeply $g->{$k}, $want->{$k}, "$k as expected";
		}
	};
}

# Number of activity_log rows of $who with $action (and SQL $and).
sub activity {
	my ($who, $action, $and) = @_;
	return $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$who->{user}{id}' AND action = '$action'"
		. ($and ? " AND $and" : ''));
}

# ok() that $who's log has an entry $action (matching SQL $and); shows
# that user's entries of $action if not.
sub activity_ok {
	my ($who, $action, $and, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	ok activity($who, $action, $and), $name or diag join "\n", "$action entries of that user:",
		map { join ' | ', @$_ } $s->psql_rows("SELECT target_kind, target_id, target_name, details FROM activity_log
			WHERE user_id = '$who->{user}{id}' AND action = '$action' ORDER BY created_at");
}

# SQL conditions: the entry's target is $id (and dave is its actor).
sub target_is { "target_id = '" . sql_id($_[0]) . "'" }
sub dave_did { target_is($_[0]) . " AND details->>'actor_id' = '$dave->{user}{id}'" }

sub used { $s->usage($_[0])->{used} }

sub owner_of {
	my ($kind, $id) = @_;
	return $s->psql("SELECT user_id FROM ${kind}s WHERE id = '" . sql_id($id) . "'");
}

sub in_trash {
	my ($c, $id) = @_;
	my $r = $c->get('/api/trash');
	return scalar grep { ($_->{id} // '') eq ($id // '-') } @{ J($r)->{items} || [] };
}

# Every grant of a list route, following next_cursor ($limit a page).
sub all_of {
	my ($c, $path, $limit) = @_;
	my ($items) = eval { list_all($c, $path, $limit) };
	diag "list $path: $@" unless $items;
	return $items || [];
}

# ------------------------------------------------------------ setting

my $D = mkdir_ok($alice, 'D');
my $S = mkdir_ok($alice, 'S', $D->{id});
my $A2 = mkdir_ok($alice, 'A2');
my $F = up1($alice, 'F.txt', "the file F\n", $D->{id});
my $G = up1($alice, 'G.txt', "the file G\n", $S->{id});
my $Fsize = length "the file F\n";

# ============================================================ create

my $r = grant_req($alice, 'folder', $D->{id}, { user => $carol->{username}, role => 'viewer' });
is $r->{status}, 201, 'POST /api/folders/D/grants {user: username, role: viewer} -> 201' or diag $r->describe;
my $gc = J($r);
like $r->header('location') // '', qr{^/api/grants/[0-9a-f-]{36}$}, 'Location /api/grants/<id>';
is $r->header('location'), '/api/grants/' . ($gc->{id} // ''), '... of the grant';
grant_object_ok($gc, { kind => 'folder', item_id => $D->{id}, item_name => 'D', role => 'viewer',
	owner => user_ref($alice), grantee => user_ref($carol) }, "carol's grant on D");
is $gc->{created_at}, $gc->{updated_at}, 'a new grant: updated_at = created_at';

$r = grant_req($alice, 'folder', $D->{id}, { user => $dave->{email}, role => 'editor' });
is $r->{status}, 201, 'POST /api/folders/D/grants {user: email, role: editor} -> 201' or diag $r->describe;
my $gd = J($r);
grant_object_ok($gd, { kind => 'folder', item_id => $D->{id}, item_name => 'D', role => 'editor',
	owner => user_ref($alice), grantee => user_ref($dave) }, "dave's grant on D, made by email");

$r = grant_req($alice, 'file', $F->{id}, { user => $erin->{username}, role => 'viewer' });
is $r->{status}, 201, 'POST /api/files/F/grants -> 201' or diag $r->describe;
my $ge = J($r);
like $r->header('location') // '', qr{^/api/grants/[0-9a-f-]{36}$}, 'Location /api/grants/<id>';
grant_object_ok($ge, { kind => 'file', item_id => $F->{id}, item_name => 'F.txt', role => 'viewer',
	owner => user_ref($alice), grantee => user_ref($erin) }, "erin's grant on the file F");

is $s->psql("SELECT count(*) FROM grants WHERE owner_id = '$alice->{user}{id}'"), 3, 'three grant rows';
my $gc_where = "target_id = '" . sql_id($D->{id}) . "' AND details->>'grant_id' = '" . sql_id($gc->{id}) . "'";
activity_ok($alice, 'grant', "$gc_where AND details->>'role' = 'viewer'", "alice's log: grant (target D, details grant_id, role)");
activity_ok($alice, 'grant', "$gc_where AND details->>'grantee_id' = '$carol->{user}{id}'",
	"... details.grantee_id carol");
is activity($carol, 'grant_received'), 1, "carol's log: grant_received";
is activity($dave, 'grant_received'), 1, "dave's log: grant_received";

# ============================================================ invalid bodies

my $n = grant_count();
for my $bad (
	[ 'an empty object', {} ],
	[ 'no user', { role => 'viewer' } ],
	[ 'no role', { user => $bob->{username} } ],
	[ 'user empty', { user => '', role => 'viewer' } ],
	[ 'user a number', { user => 42, role => 'viewer' } ],
	[ 'user null', { user => undef, role => 'viewer' } ],
	[ 'user an object', { user => { id => $bob->{user}{id} }, role => 'viewer' } ],
	[ 'role owner', { user => $bob->{username}, role => 'owner' } ],
	[ 'role download', { user => $bob->{username}, role => 'download' } ],
	[ 'role empty', { user => $bob->{username}, role => '' } ],
	[ 'role null', { user => $bob->{username}, role => undef } ],
	[ 'role a number', { user => $bob->{username}, role => 1 } ],
	[ 'an unknown field', { user => $bob->{username}, role => 'viewer', expires_at => '2099-01-01T00:00:00Z' } ],
	[ 'a grantee_id instead of user', { grantee_id => $bob->{user}{id}, role => 'viewer' } ],
	[ 'granting to yourself by username', { user => $alice->{username}, role => 'viewer' } ],
	[ 'granting to yourself by email', { user => $alice->{email}, role => 'editor' } ],
) {
	my ($what, $body) = @$bad;
	problem_ok(grant_req($alice, 'folder', $D->{id}, $body), 400, 'invalid_request', "POST /api/folders/D/grants $what -> 400");
}
problem_ok(grant_req($alice, 'file', $F->{id}, { user => $alice->{username}, role => 'viewer' }), 400, 'invalid_request',
	'POST /api/files/F/grants to yourself -> 400');
problem_ok(grant_req($alice, 'file', $F->{id}, { user => $bob->{username}, role => 'viewer', permission => 'view' }), 400,
	'invalid_request', 'POST /api/files/F/grants with an unknown field -> 400');
problem_ok(grant_req($alice, 'folder', $D->{id}, '{"user":'), 400, 'invalid_request', 'malformed JSON -> 400');
problem_ok(grant_req($alice, 'folder', $D->{id}, '[]'), 400, 'invalid_request', 'a JSON array -> 400');
$r = grant_req($alice, 'folder', $D->{id}, { user => $bob->{username}, role => 'viewer' });
is grant_count(), $n + 1, 'the refused bodies made nothing (one valid grant to bob made after them)';
my $gb = J($r);
is $r->{status}, 201, '... the valid grant to bob -> 201' or diag $r->describe;

# ============================================================ user_not_found, already_granted

$n = grant_count();
problem_ok(grant_req($alice, 'folder', $D->{id}, { user => 'nosuchuser' . int(rand 1e9), role => 'viewer' }), 404,
	'user_not_found', 'an unknown username -> 404 user_not_found');
problem_ok(grant_req($alice, 'folder', $D->{id}, { user => 'nobody' . int(rand 1e9) . '@example.com', role => 'viewer' }), 404,
	'user_not_found', 'an unknown email -> 404 user_not_found');
$s->psql("UPDATE users SET is_active = false WHERE id = '$gina->{user}{id}'");
problem_ok(grant_req($alice, 'folder', $D->{id}, { user => $gina->{username}, role => 'viewer' }), 404,
	'user_not_found', 'a deactivated user -> 404 user_not_found');
problem_ok(grant_req($alice, 'file', $F->{id}, { user => $gina->{email}, role => 'viewer' }), 404,
	'user_not_found', '... also by email on a file');
problem_ok(grant_req($alice, 'folder', $D->{id}, { user => $carol->{username}, role => 'viewer' }), 409,
	'already_granted', 'carol again on D -> 409 already_granted');
problem_ok(grant_req($alice, 'folder', $D->{id}, { user => $carol->{email}, role => 'editor' }), 409,
	'already_granted', '... also with another role and by email');
problem_ok(grant_req($alice, 'file', $F->{id}, { user => $erin->{username}, role => 'editor' }), 409,
	'already_granted', 'erin again on F -> 409 already_granted');
is grant_count(), $n, '... none of them made a grant';

# the grant to bob was for the validation section only
is $alice->delete('/api/grants/' . sql_id($gb->{id}))->{status}, 204, 'alice revokes the grant to bob';

# ============================================================ item routes for others

$n = grant_count();
problem_ok(grant_req($bob, 'folder', $D->{id}, { user => $carol->{username}, role => 'viewer' }), 404, 'not_found',
	"bob: POST /api/folders/<alice's D>/grants -> 404");
problem_ok(grant_req($bob, 'file', $F->{id}, { user => $erin->{username}, role => 'viewer' }), 404, 'not_found',
	"bob: POST /api/files/<alice's F>/grants -> 404");
problem_ok($bob->get("/api/folders/$D->{id}/grants"), 404, 'not_found', "bob: GET /api/folders/<alice's D>/grants -> 404");
problem_ok($bob->get("/api/files/$F->{id}/grants"), 404, 'not_found', "bob: GET /api/files/<alice's F>/grants -> 404");
problem_ok(grant_req($alice, 'folder', uuid(), { user => $bob->{username}, role => 'viewer' }), 404, 'not_found',
	'an unknown folder -> 404');
problem_ok(grant_req($alice, 'file', uuid(), { user => $bob->{username}, role => 'viewer' }), 404, 'not_found',
	'an unknown file -> 404');
problem_ok(grant_req($alice, 'file', $D->{id}, { user => $bob->{username}, role => 'viewer' }), 404, 'not_found',
	"a folder's id on the file route -> 404");
problem_ok(grant_req($alice, 'folder', $F->{id}, { user => $bob->{username}, role => 'viewer' }), 404, 'not_found',
	"a file's id on the folder route -> 404");
problem_ok($alice->get('/api/folders/' . uuid() . '/grants'), 404, 'not_found', 'GET the grants of an unknown folder -> 404');
problem_ok(grant_req($carol, 'folder', $D->{id}, { user => $bob->{username}, role => 'viewer' }), 403, 'forbidden',
	'viewer carol: POST /api/folders/D/grants -> 403');
problem_ok(grant_req($dave, 'folder', $D->{id}, { user => $bob->{username}, role => 'viewer' }), 403, 'forbidden',
	'editor dave: POST /api/folders/D/grants -> 403');
problem_ok(grant_req($dave, 'file', $F->{id}, { user => $bob->{username}, role => 'viewer' }), 403, 'forbidden',
	'editor dave: POST /api/files/F/grants -> 403');
problem_ok($carol->get("/api/folders/$D->{id}/grants"), 403, 'forbidden', 'viewer carol: GET /api/folders/D/grants -> 403');
problem_ok($erin->get("/api/files/$F->{id}/grants"), 403, 'forbidden', 'file grantee erin: GET /api/files/F/grants -> 403');
problem_ok(grant_req($anon, 'folder', $D->{id}, { user => $bob->{username}, role => 'viewer' }), 401, 'unauthenticated',
	'no login: POST -> 401');
problem_ok($anon->get("/api/folders/$D->{id}/grants"), 401, 'unauthenticated', 'no login: GET -> 401');
problem_ok($anon->get('/api/grants'), 401, 'unauthenticated', 'no login: GET /api/grants -> 401');
problem_ok($anon->get('/api/shared-with-me'), 401, 'unauthenticated', 'no login: GET /api/shared-with-me -> 401');
is grant_count(), $n, '... nothing made';

# ============================================================ lists

$r = $alice->get("/api/folders/$D->{id}/grants");
is $r->{status}, 200, 'GET /api/folders/D/grants -> 200' or diag $r->describe;
is_deeply ids(J($r)->{items}), [ $gd->{id}, $gc->{id} ], "... dave's and carol's grants, newest first";
ok exists J($r)->{next_cursor} && !defined J($r)->{next_cursor}, '... next_cursor null';
grant_object_ok(J($r)->{items}[1], { id => $gc->{id}, role => 'viewer', grantee => user_ref($carol) }, '... a listed grant');
$r = $alice->get("/api/folders/$D->{id}/grants?limit=1");
is scalar @{ J($r)->{items} || [] }, 1, '?limit=1: one grant';
ok defined J($r)->{next_cursor}, '... and a next_cursor';
is_deeply ids(all_of($alice, "/api/folders/$D->{id}/grants", 1)), [ $gd->{id}, $gc->{id} ], 'paged one at a time: the same, in order';
$r = $alice->get("/api/files/$F->{id}/grants");
is $r->{status}, 200, 'GET /api/files/F/grants -> 200' or diag $r->describe;
is_deeply ids(J($r)->{items}), [ $ge->{id} ], "... erin's grant";
is_deeply ids(all_of($alice, "/api/folders/$S->{id}/grants", 1)), [], "S's own grants: none (D's are not S's)";

is_deeply ids(all_of($alice, '/api/grants', 100)), [ $ge->{id}, $gd->{id}, $gc->{id} ], 'GET /api/grants: the grants alice made, newest first';
$r = $alice->get('/api/grants?limit=1');
is scalar @{ J($r)->{items} || [] }, 1, '?limit=1: one grant';
ok defined J($r)->{next_cursor}, '... and a next_cursor';
is_deeply ids(all_of($alice, '/api/grants', 1)), [ $ge->{id}, $gd->{id}, $gc->{id} ], '... paged one at a time: the same';
is_deeply J($bob->get('/api/grants')), { items => [], next_cursor => undef }, 'bob made none: empty list';
is_deeply J($carol->get('/api/grants')), { items => [], next_cursor => undef }, 'carol (a grantee) made none: empty list';
problem_ok($alice->get('/api/grants?limit=0'), 400, 'invalid_request', 'GET /api/grants?limit=0 -> 400');
problem_ok($alice->get('/api/grants?cursor=garbage'), 400, 'invalid_request', 'GET /api/grants?cursor=garbage -> 400');
problem_ok($carol->get('/api/shared-with-me?limit=1001'), 400, 'invalid_request', 'GET /api/shared-with-me?limit=1001 -> 400');

# ============================================================ shared with me

my $FOLDER_VIEWER = perms_of(qw(view download));
my $FOLDER_EDITOR = perms_of(qw(view download edit upload));    # no delete: the granted folder itself

$r = $carol->get('/api/shared-with-me');
is $r->{status}, 200, "carol: GET /api/shared-with-me -> 200" or diag $r->describe;
is_deeply ids(J($r)->{items}), [ $gc->{id} ], '... her grant on D';
my $sw = J($r)->{items}[0] || {};
grant_object_ok($sw, { kind => 'folder', item_id => $D->{id}, role => 'viewer', owner => user_ref($alice),
	grantee => user_ref($carol) }, '... a grant object');
my $it = ref $sw->{item} eq 'HASH' ? $sw->{item} : {};
is $it->{kind}, 'folder', '... with the item: a folder';
is $it->{id}, $D->{id}, '... D';
is $it->{name}, 'D', '... named D';
ok exists $it->{parent_id} && !defined $it->{parent_id}, '... parent_id null (nothing above the grant)';
is $it->{path}, '/D', '... path /D';
is_deeply perms01($it->{permissions}), $FOLDER_VIEWER, "... carol's permissions (view, download)";

$it = (J($dave->get('/api/shared-with-me'))->{items} || [])->[0] || {};
is $it->{id}, $gd->{id}, "dave's shared-with-me: his grant on D";
is_deeply perms01(($it->{item} || {})->{permissions}), $FOLDER_EDITOR, '... D with his permissions (view, download, edit, upload; not delete)';

$it = (J($erin->get('/api/shared-with-me'))->{items} || [])->[0] || {};
is $it->{id}, $ge->{id}, "erin's shared-with-me: her grant on F";
my $ei = ref $it->{item} eq 'HASH' ? $it->{item} : {};
is $ei->{kind}, 'file', '... the item is a file';
is $ei->{id}, $F->{id}, '... F';
ok exists $ei->{folder_id} && !defined $ei->{folder_id}, '... folder_id null (a file granted by itself)';
is_deeply perms01($ei->{permissions}), perms_of(qw(view download)), '... view and download';

# a second grant to carol, from bob: paging, and only the grants to the caller
my $bobs = up1($bob, 'bobs.txt', "bob's file\n");
my $gbc = make_grant($bob, 'file', $bobs->{id}, $carol->{username}, 'viewer', "bob grants carol his file");
is_deeply ids(all_of($carol, '/api/shared-with-me', 1)), [ $gbc->{id}, $gc->{id} ],
	"carol's shared-with-me paged one at a time: bob's then alice's, newest first";
$r = $carol->get('/api/shared-with-me?limit=1');
is scalar @{ J($r)->{items} || [] }, 1, '?limit=1: one item';
ok defined J($r)->{next_cursor}, '... and a next_cursor';
is_deeply ids(all_of($bob, '/api/shared-with-me', 100)), [], "bob's shared-with-me: empty (he only gave)";
ok !grep({ $_ eq ($gbc->{id} // '-') } @{ ids(all_of($alice, '/api/grants', 100)) }), "bob's grant is not in alice's GET /api/grants";

# ============================================================ what a grantee sees

$r = $carol->get("/api/folders/$D->{id}");
is $r->{status}, 200, 'carol: GET /api/folders/D -> 200' or diag $r->describe;
ok exists J($r)->{parent_id} && !defined J($r)->{parent_id}, '... parent_id null';
is J($r)->{path}, '/D', '... path /D';
is_deeply J($r)->{breadcrumb}, [], '... breadcrumb []';
is_deeply perms01(J($r)->{permissions}), $FOLDER_VIEWER, "... carol's permissions";
my ($si) = grep { ($_->{id} // '') eq $S->{id} } @{ J($r)->{items} || [] };
is $si && $si->{path}, '/D/S', '... S listed with path /D/S';
my ($fi) = grep { ($_->{id} // '') eq $F->{id} } @{ J($r)->{items} || [] };
is_deeply perms01($fi && $fi->{permissions}), perms_of(qw(view download)), '... F listed with her permissions';

$r = $carol->get("/api/folders/$S->{id}");
is $r->{status}, 200, 'carol: GET /api/folders/S -> 200' or diag $r->describe;
is J($r)->{path}, '/D/S', '... path /D/S';
is_deeply J($r)->{breadcrumb}, [ { id => $D->{id}, name => 'D' } ], '... breadcrumb [D]';
is J($r)->{parent_id}, $D->{id}, '... parent_id D (inside the grant)';

$r = $carol->get("/api/files/$F->{id}");
is_deeply perms01(J($r)->{permissions}), perms_of(qw(view download)),
	'carol sees F with {view, download: true; edit, delete, share, upload: false}';
ok !exists J($r)->{sharing}, "... without the count of alice's links";
$r = $carol->get("/api/files?folder_id=$D->{id}");
ok !grep({ exists $_->{sharing} } @{ J($r)->{items} || [] }), "... nor in D's listing";
ok scalar(grep { ($_->{kind} // '') eq 'file' } @{ J($r)->{items} || [] }), '... which lists files';
ok exists $alice->get("/api/files/$F->{id}")->{json}{sharing}, 'alice sees it';
$r = $erin->get("/api/files/$F->{id}");
is $r->{status}, 200, 'erin: GET /api/files/F -> 200' or diag $r->describe;
ok exists J($r)->{folder_id} && !defined J($r)->{folder_id}, '... folder_id null';
problem_ok($erin->get("/api/folders/$D->{id}"), 404, 'not_found', 'erin: GET /api/folders/D -> 404');
problem_ok($erin->get("/api/files?folder_id=$D->{id}"), 404, 'not_found', 'erin: GET /api/files?folder_id=D -> 404');

$r = $dave->get("/api/folders/$D->{id}");
is_deeply perms01(J($r)->{permissions}), $FOLDER_EDITOR, 'dave sees D with view, download, edit, upload (not delete)';
$r = $dave->get("/api/folders/$S->{id}");
is_deeply perms01(J($r)->{permissions}), perms_of(qw(view download edit delete upload)), 'dave sees S (below D) with delete too';

# ============================================================ PUT /api/grants/<id>: the role

my $gcid = sql_id($gc->{id});
problem_ok($carol->put_json("/api/files/$F->{id}", { name => 'F-by-carol.txt' }), 403, 'forbidden', 'viewer carol: PUT /api/files/F -> 403');
$r = $alice->put_json("/api/grants/$gcid", { role => 'editor' });
is $r->{status}, 200, 'PUT /api/grants/<carol\'s> {role: editor} -> 200' or diag $r->describe;
grant_object_ok(J($r), { id => $gc->{id}, role => 'editor', kind => 'folder', item_id => $D->{id}, grantee => user_ref($carol) },
	'... the changed grant');
$r = $carol->put_json("/api/files/$F->{id}", { name => 'F-by-carol.txt' });
is $r->{status}, 200, '... at once carol may PUT /api/files/F' or diag $r->describe;
is J($r)->{name}, 'F-by-carol.txt', '... renamed';
is owner_of('file', $F->{id}), $alice->{user}{id}, "... F stays alice's";
is_deeply ids(J($alice->get('/api/shared-with-me'))->{items}), [], 'alice has nothing shared with her';
$r = $alice->put_json("/api/grants/$gcid", { role => 'viewer' });
is $r->{status}, 200, 'PUT {role: viewer} -> 200' or diag $r->describe;
is J($r)->{role}, 'viewer', '... viewer';
problem_ok($carol->put_json("/api/files/$F->{id}", { name => 'F.txt' }), 403, 'forbidden', '... at once carol: PUT /api/files/F -> 403');
is $alice->put_json("/api/files/$F->{id}", { name => 'F.txt' })->{status}, 200, 'alice renames F back';

my $row = $s->psql("SELECT role FROM grants WHERE id = '$gcid'");
problem_ok($carol->put_json("/api/grants/$gcid", { role => 'editor' }), 403, 'forbidden', 'the grantee: PUT -> 403');
problem_ok($bob->put_json("/api/grants/$gcid", { role => 'editor' }), 404, 'not_found', 'another user: PUT -> 404');
problem_ok($dave->put_json("/api/grants/$gcid", { role => 'editor' }), 404, 'not_found', 'another grantee of D: PUT -> 404');
problem_ok($anon->put_json("/api/grants/$gcid", { role => 'editor' }), 401, 'unauthenticated', 'no login: PUT -> 401');
problem_ok($alice->put_json('/api/grants/' . uuid(), { role => 'editor' }), 404, 'not_found', 'an unknown grant: PUT -> 404');
for my $bad ([ 'role owner', { role => 'owner' } ], [ 'no role', {} ], [ 'role null', { role => undef } ],
	[ 'an unknown field', { role => 'editor', user => $bob->{username} } ]) {
	problem_ok($alice->put_json("/api/grants/$gcid", $bad->[1]), 400, 'invalid_request', "PUT $bad->[0] -> 400");
}
is $s->psql("SELECT role FROM grants WHERE id = '$gcid'"), $row, '... the refused PUTs changed nothing';
is activity($alice, 'grant_update'), 2, "alice's log: grant_update twice";
is activity($carol, 'grant_update'), 2, "carol's log: grant_update twice";

# ============================================================ an editor's uploads, folders, copies: alice's

my $ua = used($alice);
my $ud = used($dave);
my $blob1 = random_bytes(3000);
$r = $dave->upload(files => [ [ 'by-dave.bin', $blob1 ] ], fields => [ folder_id => $D->{id} ]);
my $dfile = (upload_ok($r, 1, [], 'editor dave uploads 3000 bytes into D') || [])->[0] || { id => uuid() };
is owner_of('file', $dfile->{id}), $alice->{user}{id}, "... the file is alice's";
is used($alice), $ua + 3000, "... alice's storage_used grows by 3000";
is used($dave), $ud, "... dave's does not";
is_deeply perms01($dfile->{permissions}), perms_of(qw(view download edit delete upload)), "... the answer shows dave's permissions";
activity_ok($dave, 'upload', target_is($dfile->{id}), "dave's log: upload");
activity_ok($alice, 'upload', dave_did($dfile->{id}), "alice's log: upload with details.actor_id dave");

$r = $dave->upload(files => [ [ 'by-dave.bin', random_bytes(2000) ] ], fields => [ folder_id => $D->{id} ]);
my $v2 = (upload_ok($r, 1, [], 'dave uploads a new version of it') || [])->[0] || {};
is $v2->{version}, 2, '... version 2';
is used($alice), $ua + 5000, "... charged to alice (both versions retained)";
is used($dave), $ud, "... not to dave";

$r = $dave->post_json('/api/folders', { name => 'made-by-dave', parent_id => $D->{id} });
is $r->{status}, 201, 'dave: POST /api/folders {parent_id: D} -> 201' or diag $r->describe;
my $dfold = J($r);
is owner_of('folder', $dfold->{id}), $alice->{user}{id}, "... the folder is alice's";
is $dfold->{path}, '/D/made-by-dave', '... path within the grant';
activity_ok($dave, 'create_folder', target_is($dfold->{id}), "dave's log: create_folder");
activity_ok($alice, 'create_folder', dave_did($dfold->{id}), "alice's log: create_folder with details.actor_id");

my $down = up1($dave, 'dave-own.txt', 'd' x 500);
$ua = used($alice);
$ud = used($dave);
$r = $dave->post_json('/api/files/copy', { item_ids => [ $down->{id} ], target_folder_id => $D->{id} });
is $r->{status}, 200, 'dave copies his own file into D -> 200' or diag $r->describe;
my $dcopy = (J($r)->{items} || [])->[0] || {};
is_deeply J($r)->{errors}, [], '... no error';
is owner_of('file', $dcopy->{id}), $alice->{user}{id}, "... the copy is alice's";
is used($alice), $ua + 500, "... charged to alice";
is used($dave), $ud, "... not to dave";
activity_ok($dave, 'copy', target_is($dcopy->{id}), "dave's log: copy");
activity_ok($alice, 'copy', dave_did($dcopy->{id}), "alice's log: copy with details.actor_id");

# ---- alice's quota full, dave has room: 507
my $quota = $s->usage($alice)->{quota};
$s->set_quota($alice, used($alice) + 100);
$ud = used($dave);
$ua = used($alice);
$r = $dave->upload(files => [ [ 'too-much.bin', random_bytes(1000) ] ], fields => [ folder_id => $D->{id} ]);
problem_ok($r, 507, 'quota_exceeded', "alice's quota full: dave's 1000-byte upload into D -> 507 quota_exceeded");
$r = $dave->post_json('/api/files/copy', { item_ids => [ $down->{id} ], target_folder_id => $D->{id}, on_conflict => 'rename' });
problem_ok($r, 507, 'quota_exceeded', "... and his copy into D -> 507");
is used($alice), $ua, "... alice's usage unchanged";
$r = $dave->upload(files => [ [ 'into-own.bin', random_bytes(1000) ] ]);
is $r->{status}, 201, '... while dave can still upload into his own root' or diag $r->describe;
is used($dave), $ud + 1000, '... charged to him';
$s->set_quota($alice, $quota);

# ============================================================ an editor's deletes: alice's trash

is $dave->delete("/api/files/$dfile->{id}")->{status}, 204, 'dave: DELETE his upload in D -> 204';
ok in_trash($alice, $dfile->{id}), "... it is in alice's trash";
ok !in_trash($dave, $dfile->{id}), "... not in dave's";
activity_ok($dave, 'delete', target_is($dfile->{id}), "dave's log: delete");
activity_ok($alice, 'delete', dave_did($dfile->{id}), "alice's log: delete with details.actor_id");
problem_ok($dave->post("/api/trash/$dfile->{id}/restore"), 404, 'not_found', "dave cannot restore from alice's trash (404)");
problem_ok($dave->delete("/api/trash/$dfile->{id}"), 404, 'not_found', '... nor purge it (404)');
is $dave->delete("/api/folders/$dfold->{id}")->{status}, 204, 'dave: DELETE the folder he made in D -> 204';
ok in_trash($alice, $dfold->{id}), "... in alice's trash";
ok !in_trash($dave, $dfold->{id}), "... not in dave's";

problem_ok($dave->delete("/api/folders/$D->{id}"), 403, 'forbidden', 'dave: DELETE /api/folders/D (the granted folder) -> 403');
$r = $dave->post_json('/api/files/delete', { item_ids => [ $D->{id} ] });
is $r->{status}, 200, 'dave: POST /api/files/delete {[D]} -> 200' or diag $r->describe;
my $de = ((J($r)->{errors} || [])->[0] || {})->{error} || {};
is_deeply [ $de->{status}, $de->{code} ], [ 403, 'forbidden' ], '... D: per-item 403 forbidden';
is $alice->get("/api/folders/$D->{id}")->{status}, 200, '... D is still live';

# ============================================================ copy out, move out

$ua = used($alice);
my $uc = used($carol);
$r = $carol->post_json('/api/files/copy', { item_ids => [ $F->{id} ], target_folder_id => $carol->{user}{root_folder_id} });
is $r->{status}, 200, 'viewer carol copies F into her root -> 200' or diag $r->describe;
my $ccopy = (J($r)->{items} || [])->[0] || {};
is_deeply J($r)->{errors}, [], '... no error';
is owner_of('file', $ccopy->{id}), $carol->{user}{id}, "... the copy is carol's";
is used($carol), $uc + $Fsize, "... charged to carol";
is used($alice), $ua, "... alice's usage unchanged";
is_deeply perms01($ccopy->{permissions}), perms_of(@PERMS), "... carol's own permissions on it";

my $dfolder = mkdir_ok($dave, 'dave-folder');
# moving between owners hands the item over: edit and delete on it (dave has
# both below D), upload on the target; usage moves in the same statement
my $hdata = random_bytes(3000);
my $Hm = up1($alice, 'H.bin', $hdata, $D->{id});
my $hlink = $alice->post_json("/api/files/$Hm->{id}/share", {});
is $hlink->{status}, 201, "alice makes a link to H" or diag $hlink->describe;
$r = $carol->post_json('/api/files/move', { item_ids => [ $Hm->{id} ], target_folder_id => $carol->{user}{root_folder_id} });
my $e = (J($r)->{errors} || [])->[0] || {};
is_deeply [ $r->{status}, ($e->{error} || {})->{status} ], [ 200, 403 ], 'viewer carol moves H into her root: per-item 403';
$s->set_quota($dave, used($dave) + 100);
$r = $dave->post_json('/api/files/move', { item_ids => [ $Hm->{id} ], target_folder_id => $dfolder->{id} });
$e = (J($r)->{errors} || [])->[0] || {};
is_deeply [ $r->{status}, ($e->{error} || {})->{status}, ($e->{error} || {})->{code} ], [ 200, 507, 'quota_exceeded' ],
	"dave moves H into his folder with no room: per-item 507";
is owner_of('file', $Hm->{id}), $alice->{user}{id}, "... H is still alice's";
$s->set_quota($dave, '1G');
$ua = used($alice);
$ud = used($dave);
$r = $dave->post_json('/api/files/move', { item_ids => [ $Hm->{id} ], target_folder_id => $dfolder->{id} });
is $r->{status}, 200, "dave moves H into his own folder -> 200" or diag $r->describe;
is_deeply [ ids(J($r)->{items}), J($r)->{errors} ], [ [ $Hm->{id} ], [] ], '... moved';
is owner_of('file', $Hm->{id}), $dave->{user}{id}, "... H is dave's now";
is used($alice), $ua - 3000, "... alice's usage gave its 3000 bytes back";
is used($dave), $ud + 3000, "... dave's usage took them";
is_deeply perms01((J($r)->{items} || [])->[0]{permissions}), perms_of(@PERMS), "... with dave's owner permissions";
problem_ok($alice->get("/api/files/$Hm->{id}"), 404, 'not_found', "... alice no longer sees it");
problem_ok($s->client->get('/api/shares/' . (J($hlink)->{token} // 'cfs_x')), 404, 'not_found',
	"... alice's link to it is gone");
activity_ok($dave, 'move', target_is($Hm->{id}), "dave's log: move");
activity_ok($alice, 'move', dave_did($Hm->{id}), "alice's log: move with details.actor_id");
is $dave->get("/api/files/$Hm->{id}/download")->{content}, $hdata, '... dave downloads the same bytes';

# a folder: what is live below goes with it; what alice trashed inside stays
# hers, in her trash, with her root as its place
my $M = mkdir_ok($alice, 'M', $D->{id});
my $m1 = up1($alice, 'm1.bin', random_bytes(1000), $M->{id});
my $m2 = up1($alice, 'm2.bin', random_bytes(500), $M->{id});
is $alice->delete("/api/files/$m2->{id}")->{status}, 204, 'alice trashes m2 inside M';
$ua = used($alice);
$ud = used($dave);
$r = $dave->post_json('/api/files/move', { item_ids => [ $M->{id} ], target_folder_id => $dfolder->{id} });
is_deeply [ $r->{status}, ids(J($r)->{items}) ], [ 200, [ $M->{id} ] ], 'dave moves folder M into his folder';
is_deeply [ owner_of('folder', $M->{id}), owner_of('file', $m1->{id}), owner_of('file', $m2->{id}) ],
	[ $dave->{user}{id}, $dave->{user}{id}, $alice->{user}{id} ], "... M and m1 are dave's, the trashed m2 still alice's";
is_deeply [ used($alice), used($dave) ], [ $ua - 1000, $ud + 1000 ], '... 1000 bytes moved from alice to dave';
is $s->psql("SELECT folder_id FROM files WHERE id = '" . sql_id($m2->{id}) . "'"), $alice->{user}{root_folder_id},
	"... m2's place is alice's root";
$r = $alice->post_json("/api/trash/$m2->{id}/restore", {});
is $r->{status}, 200, '... alice restores m2 (into her root)' or diag $r->describe;
is J($r)->{folder_id}, $alice->{user}{root_folder_id}, '... there';

$r = $dave->post_json('/api/files/move', { item_ids => [ $G->{id} ], target_folder_id => $D->{id} });
is $r->{status}, 200, 'dave moves G from S to D -> 200' or diag $r->describe;
is_deeply ids(J($r)->{items}), [ $G->{id} ], '... moved';
is owner_of('file', $G->{id}), $alice->{user}{id}, "... still alice's";
activity_ok($dave, 'move', target_is($G->{id}), "dave's log: move");
activity_ok($alice, 'move', dave_did($G->{id}), "alice's log: move with details.actor_id");
$r = $dave->put_json("/api/files/$G->{id}", { description => 'edited by dave' });
is $r->{status}, 200, 'dave: PUT /api/files/G {description} -> 200' or diag $r->describe;
activity_ok($dave, 'update', target_is($G->{id}), "dave's log: update");
activity_ok($alice, 'update', dave_did($G->{id}), "alice's log: update with details.actor_id");

# ============================================================ revoke and leave

problem_ok($bob->delete("/api/grants/$gcid"), 404, 'not_found', "another user: DELETE carol's grant -> 404");
problem_ok($dave->delete("/api/grants/$gcid"), 404, 'not_found', "another grantee of D: DELETE carol's grant -> 404");
problem_ok($anon->delete("/api/grants/$gcid"), 401, 'unauthenticated', 'no login: DELETE -> 401');
is $carol->get("/api/folders/$D->{id}")->{status}, 200, '... carol still sees D';

my $revokes = activity($alice, 'grant_revoke');
$r = $alice->delete("/api/grants/$gcid");
is $r->{status}, 204, 'alice revokes carol\'s grant: DELETE /api/grants/<id> -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
problem_ok($carol->get("/api/folders/$D->{id}"), 404, 'not_found', '... at once carol: GET /api/folders/D -> 404');
problem_ok($carol->get("/api/files/$F->{id}"), 404, 'not_found', '... GET /api/files/F -> 404');
problem_ok($carol->get("/api/folders/$S->{id}"), 404, 'not_found', '... GET /api/folders/S -> 404');
is_deeply ids(all_of($carol, '/api/shared-with-me', 100)), [ $gbc->{id} ], "... D left carol's shared-with-me";
ok !grep({ $_ eq $gc->{id} } @{ ids(all_of($alice, '/api/grants', 100)) }), "... and alice's GET /api/grants";
problem_ok($alice->delete("/api/grants/$gcid"), 404, 'not_found', 'a second DELETE -> 404');
problem_ok($alice->put_json("/api/grants/$gcid", { role => 'editor' }), 404, 'not_found', 'PUT a revoked grant -> 404');
is activity($alice, 'grant_revoke'), $revokes + 1, "alice's log: grant_revoke";
is activity($carol, 'grant_revoked'), 1, "carol's log: grant_revoked";

my $geid = sql_id($ge->{id});
$r = $erin->delete("/api/grants/$geid");
is $r->{status}, 204, 'erin leaves her grant: DELETE /api/grants/<id> -> 204' or diag $r->describe;
problem_ok($erin->get("/api/files/$F->{id}"), 404, 'not_found', '... at once erin: GET /api/files/F -> 404');
is_deeply ids(all_of($erin, '/api/shared-with-me', 100)), [], "... her shared-with-me is empty";
is_deeply ids(all_of($alice, "/api/files/$F->{id}/grants", 100)), [], "... F has no grant left";
is activity($erin, 'grant_leave'), 1, "erin's log: grant_leave";
is activity($alice, 'grant_leave'), 1, "alice's log: grant_leave";
is activity($alice, 'grant_revoke'), $revokes + 1, '... (not a grant_revoke)';

# ============================================================ a granted item in the trash

my $T = mkdir_ok($alice, 'T');
my $H = up1($alice, 'H.txt', "the file H\n");
my $gt = make_grant($alice, 'folder', $T->{id}, $carol->{username}, 'viewer', 'carol gets T');
my $gh = make_grant($alice, 'file', $H->{id}, $carol->{email}, 'editor', 'carol gets H');
is_deeply ids(all_of($carol, '/api/shared-with-me', 100)), [ $gh->{id}, $gt->{id}, $gbc->{id} ], "carol's shared-with-me: H, T, bob's file";
is $alice->delete("/api/folders/$T->{id}")->{status}, 204, 'alice trashes T';
is $alice->delete("/api/files/$H->{id}")->{status}, 204, 'alice trashes H';
is_deeply ids(all_of($carol, '/api/shared-with-me', 100)), [ $gbc->{id} ], '... both left carol\'s shared-with-me';
problem_ok($carol->get("/api/folders/$T->{id}"), 404, 'not_found', '... carol: GET /api/folders/T -> 404');
problem_ok($carol->get("/api/files/$H->{id}"), 404, 'not_found', '... carol: GET /api/files/H -> 404');
problem_ok(grant_req($alice, 'folder', $T->{id}, { user => $bob->{username}, role => 'viewer' }), 404, 'not_found',
	'granting a trashed folder -> 404');
problem_ok($alice->get("/api/folders/$T->{id}/grants"), 404, 'not_found', "a trashed folder's grants -> 404");

tree_consistent($s, 'after the grants');

done_testing;
