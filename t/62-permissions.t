#!/usr/bin/perl
# 62-permissions: the one authorization rule, route by route, as a table
# (plan5b, issue 5 part 2). Setting: alice owns folder D (in her root) with
# sub-folder S and file F in D, file G in S, and a folder A2 in her root
# that is not shared; bob is an unrelated user; carol has a viewer grant on
# D, dave an editor grant on D, erin a viewer grant on the file F only.
# Proves, for every route of a file, a folder, a link, a trash unit and a
# job, and for every principal (owner alice, other user bob, anonymous,
# viewer carol, editor dave, file grantee erin, and a share-link token sent
# as a bearer token or as the session cookie), the status of the contract:
# the owner may do everything; a viewer views and downloads; an editor also
# edits and uploads, and deletes items strictly below the granted folder but
# not the granted folder itself; nobody but the owner shares (links or
# grants), sees the owner's links, trash or jobs; bulk move, copy and
# delete answer the contract's per-item errors, or for the whole request a
# 404 for a target folder the caller cannot see and a 403 for one they see
# but may not add to; an editor may move the owner's items below the
# granted folder into the editor's own folder (they become the editor's),
# a viewer may not (per-item 403). No
# view is 404 not_found (existence never revealed), view without the action
# 403 forbidden; a link is never a session (its token as bearer or cookie
# is 401 unauthenticated on every logged-in route), and a refused
# state-changing request changes nothing of alice's. Destructive rows run
# on a fresh copy of the setting for each principal, so no row depends on
# another's order. The public link routes (GET /api/shares/<token>,
# /download, /files/<id>/download) answer per link: view link, download
# link, password link with the right, a wrong and no X-Share-Password,
# expired link (410) and revoked link (404). Each principal sees its own
# permissions object on F, D and S. An API token is its user (dave's and
# bob's tokens get dave's and bob's answers). The tree stays consistent.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Coffer::Test qw(problem_ok upload_ok sql_id);
use Coffer::Tree qw(mkdir_ok uuid tree_consistent);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $carol = $s->register_user;
my $dave = $s->register_user;
my $erin = $s->register_user;
my $frank = $s->register_user;    # never granted anything: the grantee of the grant-creation rows

my @PERMS = qw(view download edit delete share upload);

# ------------------------------------------------------------ principals

my @USERS = qw(owner bob carol dave erin);
my @PRINCIPALS = (@USERS, qw(anon link_bearer link_cookie));
my %LABEL = (
	owner => 'owner alice', bob => 'other user bob', carol => 'viewer carol', dave => 'editor dave',
	erin => 'file grantee erin', anon => 'anonymous', link_bearer => 'a link token as bearer token',
	link_cookie => 'a link token as session cookie',
);
my %CLIENT = (owner => $alice, bob => $bob, carol => $carol, dave => $dave, erin => $erin);

# The client of principal $p; anonymous and link principals get a fresh
# client (and address) per request, so no per-address throttle builds up.
sub client_for {
	my ($p, $fx) = @_;
	return $CLIENT{$p} if $CLIENT{$p};
	return $s->client if $p eq 'anon';
	return $s->client(token => $fx->{link_token}) if $p eq 'link_bearer';
	my $c = $s->client;
	$c->set_cookie(coffer_session => $fx->{link_token});
	return $c;
}

# ------------------------------------------------------------ helpers

sub b { $_[0] ? 1 : 0 }
sub perms01 { my ($p) = @_; ref $p eq 'HASH' ? { map { $_ => b($p->{$_}) } keys %$p } : $p }
sub perms_of { my %on = map { $_ => 1 } @_; return { map { $_ => $on{$_} ? 1 : 0 } @PERMS } }

sub up1 {
	my ($c, $name, $data, $folder) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], (defined $folder ? (fields => [ folder_id => $folder ]) : ()));
	return $r->{json}{files}[0] if $r->{status} == 201;
	fail("fixture: upload $name -> 201");
	diag 'got: ' . $r->describe;
	return { id => uuid() };
}

sub mkdir_soft {
	my ($c, $name, $parent) = @_;
	my $f = eval { mkdir_ok($c, $name, $parent) };
	fail("fixture: mkdir $name: $@") unless $f;
	return $f || { id => uuid() };
}

sub grant {
	my ($kind, $id, $who, $role) = @_;
	my $r = $alice->post_json("/api/${kind}s/$id/grants", { user => $who->{username}, role => $role });
	return $r->{json} if $r->{status} == 201;
	# reported, then made in the database, so that the rest of the table
	# still measures the rule rather than the grant routes
	fail("fixture: POST /api/${kind}s/<id>/grants ($role) -> 201");
	diag 'got: ' . $r->describe;
	$s->psql("INSERT INTO grants (owner_id, grantee_id, ${kind}_id, role) VALUES ('$alice->{user}{id}', '$who->{user}{id}', '"
		. sql_id($id) . "', '$role')");
	return {};
}

sub share {
	my ($kind, $id, %o) = @_;
	my $r = $alice->post_json("/api/${kind}s/$id/share", {%o});
	return $r->{json} if $r->{status} == 201;
	fail("fixture: share $kind -> 201");
	diag 'got: ' . $r->describe;
	return { id => uuid(), token => 'cfs_' . ('A' x 43) };
}

# Everything of alice's that a request could change: her files and folders
# (name, place, trash, version), links and grants.
sub alice_state {
	my $u = sql_id($alice->{user}{id});
	return $s->psql(qq{
		SELECT coalesce(string_agg(x, ',' ORDER BY x), '') FROM (
		  SELECT 'file:' || id || ':' || name || ':' || coalesce(folder_id::text, '') || ':' || is_deleted || ':' || version AS x
		    FROM files WHERE user_id = '$u'
		  UNION ALL
		  SELECT 'folder:' || id || ':' || name || ':' || coalesce(parent_id::text, '') || ':' || is_deleted
		    FROM folders WHERE user_id = '$u'
		  UNION ALL
		  SELECT 'share:' || id || ':' || is_active || ':' || permission_level FROM shares WHERE user_id = '$u'
		  UNION ALL
		  SELECT 'grant:' || id || ':' || grantee_id || ':' || role FROM grants WHERE owner_id = '$u') s});
}

# ------------------------------------------------------------ the setting

# Each principal's own things, for the rows that use "the caller's own"
# root, folder or file (anonymous and link principals have none).
my (%OWN_ROOT, %OWN_FOLDER, %OWN_FILE);
for my $p (@USERS) {
	my $c = $CLIENT{$p};
	$OWN_ROOT{$p} = $c->{user}{root_folder_id};
	$OWN_FOLDER{$p} = mkdir_soft($c, "own-$p")->{id};
	$OWN_FILE{$p} = up1($c, "own-$p.txt", "${p}'s own file\n")->{id};
}

# A fresh copy of the setting: D, S, F, G, A2, the grants, and a link on F
# (whose id the share routes take and whose token the link principals send).
my $fixtures = 0;
sub fixture {
	my $t = ++$fixtures;
	my %fx = (tag => "x$t");
	my $D = mkdir_soft($alice, "D$t");
	my $S = mkdir_soft($alice, 'S', $D->{id});
	$fx{F_data} = "file F of setting $t\n";
	my $F = up1($alice, "F$t.txt", $fx{F_data}, $D->{id});
	$fx{G_data} = "file G of setting $t\n";
	my $G = up1($alice, "G$t.txt", $fx{G_data}, $S->{id});
	my $A2 = mkdir_soft($alice, "A2-$t");
	@fx{qw(D S F G A2 D_name F_name)} = ($D->{id}, $S->{id}, $F->{id}, $G->{id}, $A2->{id}, $D->{name}, $F->{name});
	grant('folder', $fx{D}, $carol, 'viewer');
	grant('folder', $fx{D}, $dave, 'editor');
	grant('file', $fx{F}, $erin, 'viewer');
	my $l = share('file', $fx{F});
	@fx{qw(link_id link_token)} = ($l->{id}, $l->{token});
	return \%fx;
}

my $base = fixture();

# A job of alice's: a move of more ids than jobs_threshold is queued.
my $threshold = $s->config('jobs_threshold') // 1000;
my $jr = $alice->post_json('/api/files/move', { item_ids => [ map { uuid() } 0 .. $threshold ], target_folder_id => $base->{A2} });
is $jr->{status}, 202, "fixture: alice's move of " . ($threshold + 1) . ' ids is queued as a job' or diag $jr->describe;
$base->{job} = ($jr->{json}{job} || {})->{id} // uuid();

# ------------------------------------------------------------ the table
#
# route: what the test names say; method, path ({KEY} from the setting, or
# own_root / own_folder / own_file of the caller, p: the principal's key);
# body (JSON, templated the same way) or upload ({name, folder_id}); prep:
# run on the setting before the request; fresh: a new setting per
# principal; want: per principal, a status ("204"; errors as
# "STATUS[:code]", default codes 401 unauthenticated, 403 forbidden, 404
# not_found), "ok" (a bulk answer 200 with the one item done and no error)
# or "item:STATUS[:code]" (a bulk answer 200 whose one item failed so).
# Principals left out are not asked; anonymous and the link principals
# answer 401 on every route (auth => 0 leaves them out).
my %CODE = (401 => 'unauthenticated', 403 => 'forbidden', 404 => 'not_found', 409 => 'name_conflict',
	410 => 'share_expired', 507 => 'quota_exceeded');

my @ROWS = (
	{ route => 'GET /api/auth/user', method => 'GET', path => '/api/auth/user',
	  want => { owner => 200, bob => 200, carol => 200, dave => 200, erin => 200 } },
	{ route => 'GET /api/shares (the list)', method => 'GET', path => '/api/shares',
	  want => { owner => 200, bob => 200, carol => 200, dave => 200, erin => 200 } },

	# ---- the file F
	{ route => 'GET /api/files/F', method => 'GET', path => '/api/files/{F}',
	  want => { owner => 200, bob => 404, carol => 200, dave => 200, erin => 200 } },
	{ route => 'PUT /api/files/F {name}', method => 'PUT', path => '/api/files/{F}', body => { name => 'F-renamed-{p}.txt' }, fresh => 1,
	  want => { owner => 200, bob => 404, carol => 403, dave => 200, erin => 403 } },
	{ route => 'DELETE /api/files/F', method => 'DELETE', path => '/api/files/{F}', fresh => 1,
	  want => { owner => 204, bob => 404, carol => 403, dave => 204, erin => 403 } },
	{ route => 'GET /api/files/F/download', method => 'GET', path => '/api/files/{F}/download', content => 'F_data',
	  want => { owner => 200, bob => 404, carol => 200, dave => 200, erin => 200 } },
	{ route => 'GET /api/files/F/versions', method => 'GET', path => '/api/files/{F}/versions',
	  want => { owner => 200, bob => 404, carol => 200, dave => 200, erin => 200 } },
	{ route => 'GET /api/files/F/versions/1/download', method => 'GET', path => '/api/files/{F}/versions/1/download', content => 'F_data',
	  want => { owner => 200, bob => 404, carol => 200, dave => 200, erin => 200 } },
	{ route => 'POST /api/files/F/versions/1/restore', method => 'POST', path => '/api/files/{F}/versions/1/restore', fresh => 1,
	  want => { owner => 200, bob => 404, carol => 403, dave => 200, erin => 403 } },
	{ route => 'POST /api/files/F/share', method => 'POST', path => '/api/files/{F}/share', body => {}, fresh => 1,
	  want => { owner => 201, bob => 404, carol => 403, dave => 403, erin => 403 } },
	{ route => 'POST /api/files/F/grants', method => 'POST', path => '/api/files/{F}/grants',
	  body => { user => $frank->{username}, role => 'viewer' }, fresh => 1,
	  want => { owner => 201, bob => 404, carol => 403, dave => 403, erin => 403 } },
	{ route => 'GET /api/files/F/grants', method => 'GET', path => '/api/files/{F}/grants',
	  want => { owner => 200, bob => 404, carol => 403, dave => 403, erin => 403 } },

	# ---- the folders D and S
	{ route => 'GET /api/folders/D', method => 'GET', path => '/api/folders/{D}',
	  want => { owner => 200, bob => 404, carol => 200, dave => 200, erin => 404 } },
	{ route => 'PUT /api/folders/D {name}', method => 'PUT', path => '/api/folders/{D}', body => { name => '{tag}-D-renamed-{p}' }, fresh => 1,
	  want => { owner => 200, bob => 404, carol => 403, dave => 200, erin => 404 } },
	{ route => 'DELETE /api/folders/D (the granted folder)', method => 'DELETE', path => '/api/folders/{D}', fresh => 1,
	  want => { owner => 204, bob => 404, carol => 403, dave => 403, erin => 404 } },
	{ route => 'DELETE /api/folders/S (below the granted folder)', method => 'DELETE', path => '/api/folders/{S}', fresh => 1,
	  want => { owner => 204, bob => 404, carol => 403, dave => 204, erin => 404 } },
	{ route => 'GET /api/files?folder_id=D', method => 'GET', path => '/api/files?folder_id={D}',
	  want => { owner => 200, bob => 404, carol => 200, dave => 200, erin => 404 } },
	{ route => 'POST /api/folders {parent_id: D}', method => 'POST', path => '/api/folders', body => { name => 'new-{p}', parent_id => '{D}' }, fresh => 1,
	  want => { owner => 201, bob => 404, carol => 403, dave => 201, erin => 404 } },
	{ route => 'POST /api/upload (folder_id=D)', method => 'POST', path => '/api/upload', upload => { name => 'up-{p}.txt', folder_id => '{D}' }, fresh => 1,
	  want => { owner => 201, bob => 404, carol => 403, dave => 201, erin => 404 } },
	{ route => 'POST /api/folders/D/share', method => 'POST', path => '/api/folders/{D}/share', body => {}, fresh => 1,
	  want => { owner => 201, bob => 404, carol => 403, dave => 403, erin => 404 } },
	{ route => 'GET /api/folders/D/grants', method => 'GET', path => '/api/folders/{D}/grants',
	  want => { owner => 200, bob => 404, carol => 403, dave => 403, erin => 404 } },
	{ route => 'POST /api/folders/D/grants', method => 'POST', path => '/api/folders/{D}/grants',
	  body => { user => $frank->{username}, role => 'editor' }, fresh => 1,
	  want => { owner => 201, bob => 404, carol => 403, dave => 403, erin => 404 } },

	# ---- bulk: move, copy, delete
	{ route => 'POST /api/files/move {[F], target S}', method => 'POST', path => '/api/files/move',
	  body => { item_ids => ['{F}'], target_folder_id => '{S}' }, fresh => 1,
	  want => { owner => 'ok', bob => 404, carol => 403, dave => 'ok', erin => 404 } },
	{ route => 'POST /api/files/move {[F], target A2}', method => 'POST', path => '/api/files/move',
	  body => { item_ids => ['{F}'], target_folder_id => '{A2}' }, fresh => 1,
	  want => { owner => 'ok', bob => 404, carol => 404, dave => 404, erin => 404 } },
	{ route => "POST /api/files/move {[F], target the caller's own folder}", method => 'POST', path => '/api/files/move',
	  body => { item_ids => ['{F}'], target_folder_id => '{own_folder}' }, fresh => 1,
	  want => { bob => 'item:404', carol => 'item:403', dave => 'ok', erin => 'item:403' } },
	{ route => "POST /api/files/copy {[F], target the caller's own root}", method => 'POST', path => '/api/files/copy',
	  body => { item_ids => ['{F}'], target_folder_id => '{own_root}', on_conflict => 'rename' }, fresh => 1,
	  want => { owner => 'ok', bob => 'item:404', carol => 'ok', dave => 'ok', erin => 'ok' } },
	{ route => "POST /api/files/copy {[the caller's own file], target D}", method => 'POST', path => '/api/files/copy',
	  body => { item_ids => ['{own_file}'], target_folder_id => '{D}', on_conflict => 'rename' }, fresh => 1,
	  want => { owner => 'ok', bob => 404, carol => 403, dave => 'ok', erin => 404 } },
	{ route => 'POST /api/files/delete {[F]}', method => 'POST', path => '/api/files/delete',
	  body => { item_ids => ['{F}'] }, fresh => 1,
	  want => { owner => 'ok', bob => 'item:404', carol => 'item:403', dave => 'ok', erin => 'item:403' } },

	# ---- alice's link, trash and job
	{ route => "GET /api/shares/<alice's link id>", method => 'GET', path => '/api/shares/{link_id}',
	  want => { owner => 200, bob => 404, carol => 404, dave => 404, erin => 404 } },
	{ route => "PUT /api/shares/<alice's link id>", method => 'PUT', path => '/api/shares/{link_id}', body => { permission => 'view' }, fresh => 1,
	  want => { owner => 200, bob => 404, carol => 404, dave => 404, erin => 404 } },
	{ route => "DELETE /api/shares/<alice's link id>", method => 'DELETE', path => '/api/shares/{link_id}', fresh => 1,
	  want => { owner => 204, bob => 404, carol => 404, dave => 404, erin => 404 } },
	{ route => 'POST /api/trash/F/restore (F in alice\'s trash)', method => 'POST', path => '/api/trash/{F}/restore', fresh => 1,
	  prep => sub { my ($fx) = @_; $alice->delete("/api/files/$fx->{F}")->{status} == 204 or fail('fixture: alice trashes F') },
	  want => { owner => 200, bob => 404, carol => 404, dave => 404, erin => 404 } },
	{ route => 'DELETE /api/trash/F (F in alice\'s trash)', method => 'DELETE', path => '/api/trash/{F}', fresh => 1,
	  prep => sub { my ($fx) = @_; $alice->delete("/api/files/$fx->{F}")->{status} == 204 or fail('fixture: alice trashes F') },
	  want => { owner => 204, bob => 404, carol => 404, dave => 404, erin => 404 } },
	{ route => "GET /api/jobs/<alice's job>", method => 'GET', path => '/api/jobs/{job}',
	  want => { owner => 200, bob => 404, carol => 404, dave => 404, erin => 404 } },
);

# ------------------------------------------------------------ running a cell

# The value of {KEY} for principal $p in setting $fx.
sub value {
	my ($key, $fx, $p) = @_;
	return $p if $key eq 'p';
	return $OWN_ROOT{$p} // uuid() if $key eq 'own_root';
	return $OWN_FOLDER{$p} // uuid() if $key eq 'own_folder';
	return $OWN_FILE{$p} // uuid() if $key eq 'own_file';
	return $fx->{$key} // die "no {$key} in the setting";
}

sub expand {
	my ($t, $fx, $p) = @_;
	return { map { $_ => expand($t->{$_}, $fx, $p) } keys %$t } if ref $t eq 'HASH';
	return [ map { expand($_, $fx, $p) } @$t ] if ref $t eq 'ARRAY';
	return $t unless defined $t;
	(my $v = $t) =~ s/\{(\w+)\}/value($1, $fx, $p)/ge;
	return $v;
}

sub run_request {
	my ($row, $c, $fx, $p) = @_;
	my $path = expand($row->{path}, $fx, $p);
	if (my $u = $row->{upload}) {
		my $up = expand($u, $fx, $p);
		return $c->upload(files => [ [ $up->{name}, "uploaded by $p\n" ] ], fields => [ folder_id => $up->{folder_id} ]);
	}
	return $c->request($row->{method} => $path, exists $row->{body} ? { json => expand($row->{body}, $fx, $p) } : {});
}

# One ok() (or subtest) that $r answers $want.
sub cell_ok {
	my ($r, $want, $name, $fx, $row) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	if ($want eq 'ok') {
		my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
		my $ok = $r->{status} == 200 && ref $j->{items} eq 'ARRAY' && @{ $j->{items} } == 1
			&& ref $j->{errors} eq 'ARRAY' && !@{ $j->{errors} };
		return ok($ok, $name) || diag('got: ' . $r->describe);
	}
	if ($want =~ /^item:(\d+)(?::(\w+))?$/) {
		my ($st, $code) = ($1, $2 // $CODE{$1});
		my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
		my $e = ref $j->{errors} eq 'ARRAY' && @{ $j->{errors} } == 1 ? $j->{errors}[0] : {};
		my $ok = $r->{status} == 200 && ref $j->{items} eq 'ARRAY' && !@{ $j->{items} }
			&& ref $e->{error} eq 'HASH' && ($e->{error}{status} // 0) == $st && ($e->{error}{code} // '') eq $code;
		return ok($ok, $name) || diag('got: ' . $r->describe);
	}
	my ($st, $code) = $want =~ /^(\d+)(?::(\w+))?$/ or die "bad cell '$want'";
	if ($st >= 400) {
		return problem_ok($r, $st, $code // $CODE{$st}, $name);
	}
	my $ok = is($r->{status}, $st, $name) or diag('got: ' . $r->describe);
	if ($ok && $row && $row->{content}) {
		is $r->{content}, $fx->{ $row->{content} }, "$name: the content";
	}
	return $ok;
}

sub want_label {
	my ($w) = @_;
	return 'ok' if $w eq 'ok';
	return "per-item $1" . (defined $2 ? " $2" : '') if $w =~ /^item:(\d+)(?::(\w+))?$/;
	my ($st, $code) = $w =~ /^(\d+)(?::(\w+))?$/;
	return $st >= 400 ? "$st " . ($code // $CODE{$st}) : $st;
}

# ============================================================ the matrix of logged-in routes

for my $row (@ROWS) {
	my %want = %{ $row->{want} };
	if ($row->{auth} // 1) {
		$want{$_} //= 401 for qw(anon link_bearer link_cookie);
	}
	for my $p (grep { defined $want{$_} } @PRINCIPALS) {
		my $fx = $row->{fresh} ? fixture() : $base;
		$row->{prep}->($fx) if $row->{prep};
		my $c = client_for($p, $fx);
		my $before = $row->{method} ne 'GET' ? alice_state() : undef;
		my $r = run_request($row, $c, $fx, $p);
		my $name = "$row->{route} x $LABEL{$p} -> " . want_label($want{$p});
		my $ok = cell_ok($r, $want{$p}, $name, $fx, $row);
		# a refused change changes nothing (401, 403, 404, per-item errors)
		if (defined $before && $want{$p} ne 'ok' && $want{$p} !~ /^2/) {
			is alice_state(), $before, "$name: nothing of alice's changed";
		}
	}
}

# ============================================================ what the successes did

{
	# an editor's new folder and upload in D belong to alice
	my $fx = fixture();
	my $r = $dave->post_json('/api/folders', { name => 'by-dave', parent_id => $fx->{D} });
	is $r->{status}, 201, 'dave makes a folder in D' or diag $r->describe;
	is $s->psql("SELECT user_id FROM folders WHERE id = '" . sql_id($r->{json}{id}) . "'"), $alice->{user}{id},
		"... it is alice's";
	$r = $dave->upload(files => [ [ 'by-dave.txt', "dave was here\n" ] ], fields => [ folder_id => $fx->{D} ]);
	my $files = upload_ok($r, 1, [], 'dave uploads into D');
	is $s->psql("SELECT user_id FROM files WHERE id = '" . sql_id(($files->[0] || {})->{id}) . "'"), $alice->{user}{id},
		"... the file is alice's";
	# a viewer's copy out is the viewer's
	$r = $carol->post_json('/api/files/copy', { item_ids => [ $fx->{F} ], target_folder_id => $OWN_ROOT{carol}, on_conflict => 'rename' });
	my $copy = ((ref $r->{json} eq 'HASH' ? $r->{json}{items} : undef) || [])->[0] || {};
	is $s->psql("SELECT user_id FROM files WHERE id = '" . sql_id($copy->{id}) . "'"), $carol->{user}{id},
		"carol's copy of F into her root is carol's";
	# an editor's delete puts F into alice's trash, a move by the editor stays alice's
	is $dave->delete("/api/files/$fx->{F}")->{status}, 204, 'dave deletes F';
	ok grep({ ($_->{id} // '') eq $fx->{F} } @{ $alice->get('/api/trash')->{json}{items} || [] }), "... F is in alice's trash";
	ok !grep({ ($_->{id} // '') eq $fx->{F} } @{ $dave->get('/api/trash')->{json}{items} || [] }), "... not in dave's";
	problem_ok($carol->get("/api/files/$fx->{F}"), 404, 'not_found', '... and answers 404 to carol');
	problem_ok($erin->get("/api/files/$fx->{F}"), 404, 'not_found', '... and to erin');
}

# ============================================================ the public link routes

# Links on F (file links) and on D (folder links) of the base setting:
# view, download, password, expired, revoked.
my $PW = 'open sesame 62';
my (%FILE_LINK, %FOLDER_LINK);
for my $set ([ \%FILE_LINK, 'file', $base->{F} ], [ \%FOLDER_LINK, 'folder', $base->{D} ]) {
	my ($h, $kind, $id) = @$set;
	$h->{view} = share($kind, $id, permission => 'view');
	$h->{download} = share($kind, $id, permission => 'download');
	$h->{password} = share($kind, $id, password => $PW);
	$h->{expired} = share($kind, $id);
	$h->{revoked} = share($kind, $id);
	$s->psql("UPDATE shares SET expires_at = now() - interval '1 minute' WHERE id = '" . sql_id($h->{expired}{id}) . "'");
	is $alice->delete('/api/shares/' . sql_id($h->{revoked}{id}))->{status}, 204, "fixture: revoke a $kind link";
}
my $outside = up1($alice, 'outside-62.txt', "not under D\n", $base->{A2});

my @LINK_PRINCIPALS = qw(view_link download_link password_ok password_wrong password_missing expired_link revoked_link);
my %LINK_LABEL = (
	view_link => 'view link', download_link => 'download link', password_ok => 'password link with the password',
	password_wrong => 'password link with a wrong password', password_missing => 'password link without the password',
	expired_link => 'expired link', revoked_link => 'revoked link',
);
my %LINK_OF = (view_link => 'view', download_link => 'download', password_ok => 'password', password_wrong => 'password',
	password_missing => 'password', expired_link => 'expired', revoked_link => 'revoked');
my %PW_HEADER = (password_ok => $PW, password_wrong => 'not the password');

# The checks every public route makes come first (401, 410, 404); then the
# route's own answer for a link that passes them, per permission.
sub public_want {
	my (%o) = @_;    # view => ..., download => ... (the route's own answer)
	return {
		view_link => $o{view}, download_link => $o{download}, password_ok => $o{download},
		password_wrong => '401:share_password_invalid', password_missing => '401:share_password_required',
		expired_link => '410:share_expired', revoked_link => 404,
	};
}

my @PUBLIC_ROWS = (
	{ route => 'GET /api/shares/<token> (file link on F)', links => \%FILE_LINK, path => '/api/shares/{token}',
	  want => public_want(view => 200, download => 200) },
	{ route => 'GET /api/shares/<token> (folder link on D)', links => \%FOLDER_LINK, path => '/api/shares/{token}',
	  want => public_want(view => 200, download => 200) },
	{ route => 'GET /api/shares/<token>?folder_id=S (folder link on D)', links => \%FOLDER_LINK, path => "/api/shares/{token}?folder_id=$base->{S}",
	  want => public_want(view => 200, download => 200) },
	{ route => 'GET /api/shares/<token>?folder_id=A2 (folder link on D, A2 outside)', links => \%FOLDER_LINK,
	  path => "/api/shares/{token}?folder_id=$base->{A2}", want => public_want(view => 404, download => 404) },
	{ route => 'GET /api/shares/<token>/download (file link on F)', links => \%FILE_LINK, path => '/api/shares/{token}/download',
	  content => 'F_data', want => public_want(view => 403, download => 200) },
	{ route => 'GET /api/shares/<token>/files/F/download (file link on F)', links => \%FILE_LINK,
	  path => "/api/shares/{token}/files/$base->{F}/download", content => 'F_data', want => public_want(view => 403, download => 200) },
	{ route => 'GET /api/shares/<token>/files/G/download (folder link on D, G in S)', links => \%FOLDER_LINK,
	  path => "/api/shares/{token}/files/$base->{G}/download", content => 'G_data', want => public_want(view => 403, download => 200) },
	{ route => 'GET /api/shares/<token>/download (folder link on D)', links => \%FOLDER_LINK, path => '/api/shares/{token}/download',
	  want => public_want(view => 404, download => 404) },
	{ route => 'GET /api/shares/<token>/files/<a file outside D>/download (folder link on D)', links => \%FOLDER_LINK,
	  path => "/api/shares/{token}/files/$outside->{id}/download", want => public_want(view => 404, download => 404) },
);

for my $row (@PUBLIC_ROWS) {
	for my $p (@LINK_PRINCIPALS) {
		my $want = $row->{want}{$p} // next;
		my $link = $row->{links}{ $LINK_OF{$p} };
		(my $path = $row->{path}) =~ s/\{token\}/$link->{token}/;
		my $r = $s->client->get($path, { headers => { defined $PW_HEADER{$p} ? ('X-Share-Password' => $PW_HEADER{$p}) : () } });
		my $name = "$row->{route} x $LINK_LABEL{$p} -> " . want_label($want);
		my $ok = cell_ok($r, $want, $name);
		is $r->{content}, $base->{ $row->{content} }, "$name: the content" if $ok && $row->{content} && $want eq '200';
	}
}

# ============================================================ permissions objects

# Each principal's permissions on F (strictly below D), D (the granted
# folder) and S (below it), as GET shows them.
my %PERM_WANT = (
	owner => { F => [@PERMS], D => [@PERMS], S => [@PERMS] },
	carol => { F => [qw(view download)], D => [qw(view download)], S => [qw(view download)] },
	dave => { F => [qw(view download edit delete upload)], D => [qw(view download edit upload)],
	          S => [qw(view download edit delete upload)] },
	erin => { F => [qw(view download)] },
);
for my $p (qw(owner carol dave erin)) {
	for my $item (qw(F D S)) {
		my $want = $PERM_WANT{$p}{$item} or next;
		my $kind = $item eq 'F' ? 'files' : 'folders';
		my $r = $CLIENT{$p}->get("/api/$kind/$base->{$item}");
		is_deeply perms01(ref $r->{json} eq 'HASH' ? $r->{json}{permissions} : undef), perms_of(@$want),
			"GET /api/$kind/$item x $LABEL{$p}: permissions {" . join(', ', @$want) . '}'
			or diag $r->describe;
	}
}
{
	my $r = $carol->get("/api/files?folder_id=$base->{D}");
	my ($f) = grep { ($_->{id} // '') eq $base->{F} } @{ (ref $r->{json} eq 'HASH' ? $r->{json}{items} : undef) || [] };
	is_deeply perms01($f && $f->{permissions}), perms_of(qw(view download)), "F in carol's listing of D: carol's permissions";
	$r = $dave->get("/api/folders/$base->{D}");
	my ($sub) = grep { ($_->{id} // '') eq $base->{S} } @{ (ref $r->{json} eq 'HASH' ? $r->{json}{items} : undef) || [] };
	is_deeply perms01($sub && $sub->{permissions}), perms_of(qw(view download edit delete upload)),
		"S in dave's listing of D: dave's permissions";
}

# An API token is its user: the rule sees dave and bob, not how they logged in.
{
	my %tok;
	for my $who (qw(dave bob)) {
		my $r = $CLIENT{$who}->post_json('/api/auth/tokens', { name => "matrix $who" });
		is $r->{status}, 201, "$who makes an API token" or diag $r->describe;
		$tok{$who} = ref $r->{json} eq 'HASH' ? $r->{json}{token} // 'none' : 'none';
	}
	my $as = sub {
		my ($who, $method, $path, $body) = @_;
		return $s->request($method, $path, { headers => { Authorization => "Bearer $tok{$who}" },
						     defined $body ? (json => $body) : () });
	};
	is $as->('dave', GET => "/api/folders/$base->{D}")->{status}, 200, "GET /api/folders/D x dave's API token -> 200";
	is $as->('dave', GET => "/api/files/$base->{F}/download")->{status}, 200,
		"GET /api/files/F/download x dave's API token -> 200";
	problem_ok($as->('dave', DELETE => "/api/folders/$base->{D}"), 403, 'forbidden',
		"DELETE /api/folders/D x dave's API token -> 403 forbidden");
	problem_ok($as->('dave', POST => "/api/folders/$base->{D}/share", {}), 403, 'forbidden',
		"POST /api/folders/D/share x dave's API token -> 403 forbidden");
	problem_ok($as->('bob', GET => "/api/folders/$base->{D}"), 404, 'not_found',
		"GET /api/folders/D x bob's API token -> 404 not_found");
	problem_ok($as->('bob', GET => "/api/files/$base->{F}/download"), 404, 'not_found',
		"GET /api/files/F/download x bob's API token -> 404 not_found");
}

tree_consistent($s, 'after the matrix');

done_testing;
