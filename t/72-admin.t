#!/usr/bin/perl
# 72-admin: the administrators' routes (issue 6, Administration). Setting:
# two admins made with `coffer-admin create-admin` and users registered
# through the API, some with names and emails made for the search. Proves:
# every /api/admin/* route answers 401 without login and 403 forbidden to a
# logged-in non-admin (by cookie or API token), and works with an admin's
# API token. GET /api/admin/users lists users ordered by lower(username)
# with {id, username, email, is_admin, is_active, created_at, storage
# {quota, used, available, percent_used} (as GET /api/auth/user shows
# them), file_count (live files)}; ?q= finds a case-insensitive substring
# of the username or the email, '%' and '_' literally; limit=1 pages with
# cursors through the same list; a cursor of another q, a bad cursor, limit
# or q is 400. GET /api/admin/users/<id> is one user (404 unknown). PUT
# /api/admin/users/<id> takes quota (bytes or "10M", 0..2^60), is_active,
# is_admin; anything else 400 and changes nothing; a quota below the
# usage is 409 quota_below_usage and changes nothing; an admin cannot
# deactivate themselves or drop their own admin rights (409 self_lockout).
# A new quota shows in the user's GET /api/auth/user and is enforced on the
# next upload (507). Deactivation stops the user's live session and API
# token at once (401), ends their sessions, refuses login (403
# account_disabled) and their share links (404); reactivation lets them
# log in again. Granting admin takes effect on the next request, and so
# does revoking it. Every change is logged in the admin's and the user's
# activity log with details.admin_id, the client address and user agent.
# GET /api/admin/storage adds up exactly against the rows.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA ();
use JSON::PP ();
use Test::More;

use Coffer::Test qw(problem_ok upload_ok sql_id random_bytes wait_until);

my $s = Coffer::Test->stack;
my $anon = $s->client;
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $A = '/api/admin';

# ------------------------------------------------------------ helpers

sub J { my ($r) = @_; ref $r->{json} eq 'HASH' ? $r->{json} : {} }
sub b { $_[0] ? 1 : 0 }

sub enc {
	my ($v) = @_;
	utf8::encode($v) if utf8::is_utf8($v);
	$v =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
	return $v;
}

# An admin made by coffer-admin create-admin, logged in.
sub make_admin {
	my $name = $s->unique_name('adm');
	my $pw = 'admin password ' . int rand 1e9;
	my $r = $s->admin({ env => { COFFER_ADMIN_PASSWORD => $pw } }, 'create-admin', $name, "$name\@example.com");
	$r->{exit} == 0 or BAIL_OUT("create-admin $name: $r->{out}$r->{err}");
	my $c = $s->client;
	@$c{qw(username password)} = ($name, $pw);
	$r = $c->login;
	$r->{status} == 200 or BAIL_OUT("admin login: " . $r->describe);
	$c->{user} = $r->{json}{user};
	return $c;
}

sub new_token {
	my ($c) = @_;
	my $r = $c->post_json('/api/auth/tokens', { name => 'admin test' });
	is $r->{status}, 201, 'create an API token' or diag $r->describe;
	return J($r)->{token} // 'cof_none';
}

# A client that sends only this bearer token.
sub token_client { $s->client(token => $_[0]) }

sub put_user { my ($c, $who, $body) = @_; $c->put_json("$A/users/" . sql_id(ref $who ? $who->{user}{id} : $who), $body) }

sub user_row {
	my ($c) = @_;
	my ($row) = $s->psql_rows("SELECT storage_quota, is_active, is_admin FROM users WHERE id = '" . sql_id($c->{user}{id}) . "'");
	return { quota => $row->[0], is_active => $row->[1] eq 't' ? 1 : 0, is_admin => $row->[2] eq 't' ? 1 : 0 };
}

sub invalid_ok {
	my ($r, $fields, $name) = @_;
	subtest $name => sub {
		problem_ok($r, 400, 'invalid_request', '400 invalid_request') or return;
		if ($fields) {
			my @f = sort map { $_->{field} // '' } @{ J($r)->{errors} || [] };
			is_deeply \@f, [ sort @$fields ], "errors name @$fields";
		}
	};
}

# The activity entries of $action about $target (a client) in the log of
# $who (a client): [{ip, ua, admin_id, old, new}], oldest first.
sub acts {
	my ($who, $action, $target) = @_;
	my @rows = $s->psql_rows("SELECT host(ip_address), user_agent, details->>'admin_id', coalesce(details->>'old', ''),
		coalesce(details->>'new', ''), target_kind, target_name
		FROM activity_log WHERE user_id = '" . sql_id($who->{user}{id}) . "' AND action = '$action'
		AND target_id = '" . sql_id($target->{user}{id}) . "' ORDER BY created_at, id");
	return [ map { { ip => $_->[0], ua => $_->[1], admin_id => $_->[2], old => $_->[3], new => $_->[4],
		kind => $_->[5], name => $_->[6] } } @rows ];
}

# Subtest: exactly one entry of $action about $target in the admin's log and
# one in the target's, with the admin's id, address, user agent (and old,
# new). $n: how many such entries there should be by now (default 1).
sub logged_ok {
	my ($admin, $target, $action, $extra, $n) = @_;
	$n //= 1;
	subtest "activity $action logged for $target->{username} and the admin" => sub {
		for my $side ([ admin => $admin ], [ user => $target ]) {
			my $a = acts($side->[1], $action, $target);
			is scalar @$a, $n, "$n $action in the $side->[0]'s log" or next;
			my $e = $a->[-1];
			is $e->{admin_id}, $admin->{user}{id}, 'details.admin_id';
			is $e->{ip}, $admin->local_address, 'the client address';
			is $e->{ua}, 'coffer-test/1', 'the user agent';
			is $e->{kind}, 'user', 'target_kind user';
			is $e->{name}, $target->{username}, 'target_name: the username';
			for my $k (sort keys %{ $extra || {} }) {
				is $e->{$k}, $extra->{$k}, "details.$k = $extra->{$k}";
			}
		}
	};
}

sub nacts { my ($who) = @_; $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '" . sql_id($who->{user}{id}) . "' AND action LIKE 'admin\\_%'") }

sub up1 {
	my ($c, $name, $data) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ]);
	my $f = upload_ok($r, 1, [], "upload $name");
	return $f->[0] || { id => '00000000-0000-0000-0000-000000000000' };
}

# ------------------------------------------------------------ setup

my $admin = make_admin();
my $admin2 = make_admin();
ok JSON::PP::is_bool($admin->{user}{is_admin}) && $admin->{user}{is_admin}, 'create-admin made an admin';
my $admin_token = new_token($admin);
my $alice = $s->register_user;
my $alice_token = new_token($alice);
my $bob = $s->register_user;
my $carol = $s->register_user;

# users for the search: a unique stem, one '_' and one '%' made literal
my $P = sprintf 'k%d%04x', $$ % 100000, int rand 0x10000;
my %su;
$su{under} = $s->register_user(username => "${P}Zed_one", email => "${P}zu\@example.com");
$su{plain} = $s->register_user(username => "${P}zedXone", email => "${P}zp\@example.com");
$su{pct}   = $s->register_user(username => "${P}mail", email => "${P}100%off\@Example.COM");
$su{other} = $s->register_user(username => "${P}.other-1", email => "other-${P}\@example.org");

# ------------------------------------------------------------ 401 / 403

my @routes = (
	[ GET => "$A/users" ],
	[ GET => "$A/users/$alice->{user}{id}" ],
	[ PUT => "$A/users/$alice->{user}{id}", { is_active => JSON::PP::true } ],
	[ GET => "$A/storage" ],
);
my $alice_tc = token_client($alice_token);
my $admin_tc = token_client($admin_token);
for my $rt (@routes) {
	my ($m, $p, $body) = @$rt;
	my %o = defined $body ? (json => $body) : ();
	problem_ok($anon->request($m => $p, {%o}), 401, 'unauthenticated', "$m $p without login -> 401");
	problem_ok($alice->request($m => $p, {%o}), 403, 'forbidden', "$m $p as a user (cookie) -> 403");
	problem_ok($alice_tc->request($m => $p, {%o}), 403, 'forbidden', "$m $p as a user (API token) -> 403");
	my $r = $admin_tc->request($m => $p, {%o});
	is $r->{status}, 200, "$m $p with an admin's API token -> 200" or diag $r->describe;
}
is nacts($alice), 0, 'refused requests changed and logged nothing';

# ------------------------------------------------------------ listing and search

my $f1 = up1($su{under}, 'one.txt', "one\n");
my $f2 = up1($su{under}, 'two.txt', "two two\n");
my $f3 = up1($su{under}, 'three.txt', "three three three\n");
is $su{under}->delete('/api/files/' . sql_id($f3->{id}))->{status}, 204, 'trash one of the three files';

my $r = $admin->get("$A/users?q=" . enc($P));
is $r->{status}, 200, 'GET /api/admin/users?q=<stem> -> 200' or diag $r->describe;
my $items = J($r)->{items} || [];
my @want = sort { lc $a cmp lc $b } map { $_->{username} } values %su;
is_deeply [ map { $_->{username} } @$items ], \@want, 'the four search users, ordered by lower(username)';
ok exists J($r)->{next_cursor} && !defined J($r)->{next_cursor}, 'next_cursor: null on the last page';
my ($iu) = grep { ($_->{username} // '') eq $su{under}{username} } @$items;
$iu ||= {};
is_deeply [ sort keys %$iu ], [ sort qw(id username email is_admin is_active created_at storage file_count) ],
	'an item has exactly id, username, email, is_admin, is_active, created_at, storage, file_count';
is $iu->{id}, $su{under}{user}{id}, 'id';
is $iu->{email}, $su{under}{email}, 'email';
ok JSON::PP::is_bool($iu->{is_admin}) && !$iu->{is_admin}, 'is_admin: false (a JSON boolean)';
ok JSON::PP::is_bool($iu->{is_active}) && $iu->{is_active}, 'is_active: true (a JSON boolean)';
like $iu->{created_at} // '', $TIME, 'created_at RFC 3339';
is $iu->{created_at}, $su{under}{user}{created_at}, 'created_at as at registration';
is $iu->{file_count}, 2, 'file_count: the live files (the trashed one left out)';
is_deeply $iu->{storage}, J($su{under}->get('/api/auth/user'))->{storage},
	'storage: exactly what GET /api/auth/user shows the user';
is $iu->{storage}{used}, length("one\n") + length("two two\n"), 'storage.used: the live files';

$r = $admin->get("$A/users/" . sql_id($su{under}{user}{id}));
is $r->{status}, 200, 'GET /api/admin/users/<id> -> 200' or diag $r->describe;
is_deeply J($r), $iu, '... the same object as in the list';
problem_ok($admin->get("$A/users/00000000-0000-4000-8000-000000000000"), 404, 'not_found', 'unknown id -> 404 not_found');
is $admin->get("$A/users/not-a-uuid")->{status}, 404, 'not a uuid -> 404';

my %search = (
	uc($P) . 'ZED' => [qw(under plain)],
	"${P}zed_" => [qw(under)],
	'Zed_One' => [qw(under)],
	'100%off' => [qw(pct)],
	'%off@example.com' => [qw(pct)],
	"other-${P}\@EXAMPLE" => [qw(other)],
	".other-1" => [qw(other)],
	"${P}zed%" => [],
	"${P}z_d" => [],
);
for my $q (sort keys %search) {
	my $r = $admin->get("$A/users?q=" . enc($q));
	my @got = map { $_->{username} } @{ J($r)->{items} || [] };
	is_deeply \@got, [ sort { lc $a cmp lc $b } map { $su{$_}{username} } @{ $search{$q} } ], "q=$q finds @{ $search{$q} }"
		or diag $r->describe;
}
$r = $admin->get("$A/users?q=%25");
ok((grep { $_->{username} eq $su{pct}{username} } @{ J($r)->{items} || [] }), "q=% finds the email with a '%'");
is $s->psql("SELECT count(*) FROM users WHERE strpos(username || email, '%') > 0"), scalar @{ J($r)->{items} || [] },
	"... and only users with a '%' (not everybody)";

# paging
my @seen;
my $cursor;
my $pages = 0;
do {
	my $r = $admin->get("$A/users?limit=1&q=" . enc($P) . (defined $cursor ? "&cursor=$cursor" : ''));
	is $r->{status}, 200, "page " . ($pages + 1) . ' -> 200' or diag $r->describe;
	is scalar @{ J($r)->{items} || [] }, 1, '... one item';
	push @seen, map { $_->{username} } @{ J($r)->{items} || [] };
	$cursor = J($r)->{next_cursor};
	$pages++;
} while (defined $cursor && $pages < 10);
is_deeply \@seen, \@want, 'limit=1 pages through the same four users in order';
is $pages, 4, 'four pages, the last without next_cursor';

$r = $admin->get("$A/users?limit=2&q=" . enc($P));
my $c2 = J($r)->{next_cursor};
ok defined $c2, 'limit=2 of four: a next_cursor';
$r = $admin->get("$A/users?limit=2&q=" . enc($P) . "&cursor=$c2");
is_deeply [ map { $_->{username} } @{ J($r)->{items} || [] } ], [ @want[2, 3] ], 'the second page of two';
problem_ok($admin->get("$A/users?limit=2&q=" . enc(uc $P) . "&cursor=$c2"), 400, 'invalid_request', 'the cursor with another q -> 400');
problem_ok($admin->get("$A/users?limit=2&cursor=$c2"), 400, 'invalid_request', 'the cursor without its q -> 400');
problem_ok($admin->get("$A/users?cursor=bm9wZQ"), 400, 'invalid_request', 'a malformed cursor -> 400');
for my $bad ('limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'q=', 'q=' . ('a' x 255), 'q=%FF%FE', 'q=a%00b') {
	problem_ok($admin->get("$A/users?$bad"), 400, 'invalid_request', "?$bad -> 400");
}
$r = $admin->get("$A/users?q=" . ('a' x 254));
is $r->{status}, 200, 'q of 254 bytes -> 200';
$r = $admin->get("$A/users?limit=1000");
my $total = $s->psql('SELECT count(*) FROM users');
is scalar @{ J($r)->{items} || [] }, ($total > 1000 ? 1000 : $total), 'limit=1000: every user (up to 1000)';
is_deeply [ map { $_->{username} } @{ J($r)->{items} || [] } ],
	[ map { $_->[0] } $s->psql_rows('SELECT username FROM users ORDER BY lower(username) COLLATE "C" LIMIT 1000') ],
	'... ordered by lower(username)';
$r = $admin->get("$A/users");
is scalar @{ J($r)->{items} || [] }, ($total > 50 ? 50 : $total), 'no limit: 50 per page by default';
is defined J($r)->{next_cursor} ? 1 : 0, ($total > 50 ? 1 : 0), '... next_cursor when there are more';

# ------------------------------------------------------------ PUT validation

my $before = user_row($alice);
my @bad = (
	[ {}, ['quota'], 'an empty object' ],
	[ { name => 'x' }, ['name'], 'an unknown field' ],
	[ { quota => 10, email => 'x@y.z' }, ['email'], 'a good field and an unknown one' ],
	[ { quota => -1 }, ['quota'], 'quota -1' ],
	[ { quota => 1.5 }, ['quota'], 'quota 1.5' ],
	[ '{"quota": 1e3}', ['quota'], 'quota 1e3 (a JSON float)' ],
	[ '{"quota": 99999999999999999999999}', ['quota'], 'quota 99999999999999999999999' ],
	[ { quota => (1 << 60) + 1 }, ['quota'], 'quota 2^60 + 1' ],
	[ { quota => '1152921504606846977' }, ['quota'], 'quota "2^60 + 1"' ],
	[ { quota => '2000000T' }, ['quota'], 'quota "2000000T" (over 2^60)' ],
	[ { quota => '99999999999999999999999' }, ['quota'], 'quota too big to parse' ],
	[ { quota => 'ten' }, ['quota'], 'quota "ten"' ],
	[ { quota => '' }, ['quota'], 'quota ""' ],
	[ { quota => '-5M' }, ['quota'], 'quota "-5M"' ],
	[ { quota => JSON::PP::true }, ['quota'], 'quota true' ],
	[ { quota => undef }, ['quota'], 'quota null' ],
	[ { is_active => 'no' }, ['is_active'], 'is_active "no"' ],
	[ { is_active => 0 }, ['is_active'], 'is_active 0' ],
	[ { is_admin => undef }, ['is_admin'], 'is_admin null' ],
	[ { is_admin => 'true', quota => '10M' }, ['is_admin'], 'a bad is_admin with a good quota' ],
);
for my $t (@bad) {
	invalid_ok(put_user($admin, $alice, $t->[0]), $t->[1], "PUT $t->[2] -> 400");
}
invalid_ok($admin->put_json("$A/users/$alice->{user}{id}", '[1]'), undef, 'PUT an array -> 400');
invalid_ok($admin->put_json("$A/users/$alice->{user}{id}", '{"quota":'), undef, 'PUT malformed JSON -> 400');
is_deeply user_row($alice), $before, 'none of the bad requests changed anything';
problem_ok(put_user($admin, '00000000-0000-4000-8000-000000000000', { quota => 5 }), 404, 'not_found', 'PUT an unknown id -> 404');
is nacts($alice), 0, '... and nothing was logged';

# ------------------------------------------------------------ quota

my $data = random_bytes(3000);
my $af = up1($alice, 'alice.bin', $data);
my $used = length $data;
$r = put_user($admin, $alice, { quota => '10M' });
is $r->{status}, 200, 'PUT {quota: "10M"} -> 200' or diag $r->describe;
is J($r)->{storage}{quota}, 10 * 1024 * 1024, 'the answer shows quota 10485760';
is J($r)->{storage}{used}, $used, '... and the usage';
is_deeply [ sort keys %{ J($r) } ], [ sort qw(id username email is_admin is_active created_at storage file_count) ],
	'the answer is the admin user object';
my $old_q = $before->{quota};
logged_ok($admin, $alice, 'admin_set_quota', { old => $old_q, new => 10485760 });
is J($alice->get('/api/auth/user'))->{storage}{quota}, 10485760, "the user's GET /api/auth/user shows the new quota";

$r = put_user($admin, $alice, { quota => 1 << 60 });
is $r->{status}, 200, 'quota 2^60 (an integer) -> 200' or diag $r->describe;
is J($r)->{storage}{quota}, 1 << 60, '... stored exactly';
$r = put_user($admin, $alice, { quota => '64kB' });
is J($r)->{storage}{quota}, 65536, 'quota "64kB" -> 65536';
is scalar @{ acts($alice, 'admin_set_quota', $alice) }, 3, 'each change logged';

problem_ok(put_user($admin, $alice, { quota => $used - 1 }), 409, 'quota_below_usage', 'a quota one byte below the usage -> 409 quota_below_usage');
problem_ok(put_user($admin, $alice, { quota => 0, is_admin => JSON::PP::true }), 409, 'quota_below_usage',
	'quota 0 together with is_admin -> 409');
is_deeply user_row($alice), { quota => 65536, is_active => 1, is_admin => 0 }, '... and nothing changed (not even is_admin)';
is scalar @{ acts($alice, 'admin_set_quota', $alice) }, 3, '... nor was logged';

$r = put_user($admin, $alice, { quota => $used + 10 });
is $r->{status}, 200, 'a quota 10 bytes above the usage -> 200';
is J($r)->{storage}{available}, 10, 'available: 10';
is J($alice->get('/api/auth/user'))->{storage}{available}, 10, "the user's own view agrees";
$r = $alice->upload(files => [ [ 'over.bin', random_bytes(100) ] ]);
is $r->{status}, 507, "the user's next upload of 100 bytes -> 507" or diag $r->describe;
is J($r)->{code}, 'quota_exceeded', '... quota_exceeded';
$r = $alice->upload(files => [ [ 'fits.bin', 'x' x 10 ] ]);
is $r->{status}, 201, '10 bytes still fit' or diag $r->describe;
$r = put_user($admin, $alice, { quota => $used + 10 });
is $r->{status}, 200, 'the same quota again -> 200';
is scalar @{ acts($alice, 'admin_set_quota', $alice) }, 4, '... a quota that does not change is not logged';
is J(put_user($admin, $alice, { quota => '1G' }))->{storage}{quota}, 1 << 30, 'quota back to 1G';

# ------------------------------------------------------------ deactivation

my $bob_token = new_token($bob);
my $bob_tc = token_client($bob_token);
my $bf = up1($bob, 'bob.txt', "bob's file\n");
$r = $bob->post_json('/api/files/' . sql_id($bf->{id}) . '/share', {});
is $r->{status}, 201, 'bob shares his file by link' or diag $r->describe;
my $link = J($r)->{token} // 'cfs_none';
is $anon->get("/api/shares/$link")->{status}, 200, 'the link opens';
is $bob->get('/api/auth/user')->{status}, 200, "bob's session works";
is $bob_tc->get('/api/auth/user')->{status}, 200, "bob's token works";
my $bob2 = $s->client;
@$bob2{qw(username password)} = @$bob{qw(username password)};
is $bob2->login->{status}, 200, 'bob has a second session';

$r = put_user($admin, $bob, { is_active => JSON::PP::false });
is $r->{status}, 200, 'PUT {is_active: false} -> 200' or diag $r->describe;
ok JSON::PP::is_bool(J($r)->{is_active}) && !J($r)->{is_active}, '... is_active: false';
logged_ok($admin, $bob, 'admin_deactivate');
problem_ok($bob->get('/api/auth/user'), 401, 'unauthenticated', "bob's live session -> 401 at once");
problem_ok($bob2->get('/api/files'), 401, 'unauthenticated', "his second session too");
problem_ok($bob_tc->get('/api/auth/user'), 401, 'unauthenticated', "his API token -> 401 at once");
is $s->psql("SELECT count(*) FROM sessions WHERE user_id = '" . sql_id($bob->{user}{id}) . "'"), 0, 'his sessions are deleted';
my $bob3 = $s->client;
problem_ok($bob3->login($bob->{username}, $bob->{password}), 403, 'account_disabled', 'his login -> 403 account_disabled');
my $lr = $anon->get("/api/shares/$link");
is $lr->{status}, 404, "his share link -> 404 (needs item_permissions() to check the owner is active)"
	or diag $lr->describe;
$r = $admin->get("$A/users/" . sql_id($bob->{user}{id}));
ok !J($r)->{is_active}, 'the admin sees him inactive';
$r = put_user($admin, $bob, { is_active => JSON::PP::false });
is $r->{status}, 200, 'deactivating again -> 200';
is scalar @{ acts($admin, 'admin_deactivate', $bob) }, 1, '... and is not logged again';

$r = put_user($admin, $bob, { is_active => JSON::PP::true });
is $r->{status}, 200, 'PUT {is_active: true} -> 200';
ok J($r)->{is_active}, '... is_active: true';
logged_ok($admin, $bob, 'admin_reactivate');
problem_ok($bob->get('/api/auth/user'), 401, 'unauthenticated', 'the old session stays ended');
$r = $bob->login;
is $r->{status}, 200, 'bob logs in again' or diag $r->describe;
is $bob->get('/api/auth/user')->{status}, 200, '... and his new session works';
is $bob_tc->get('/api/auth/user')->{status}, 200, 'his API token works again (tokens are not revoked)';
is $anon->get("/api/shares/$link")->{status}, 200, 'his share link opens again';

# ------------------------------------------------------------ admin rights

problem_ok($carol->get("$A/users"), 403, 'forbidden', 'carol is no admin');
$r = put_user($admin, $carol, { is_admin => JSON::PP::true });
is $r->{status}, 200, 'PUT {is_admin: true} -> 200' or diag $r->describe;
ok J($r)->{is_admin}, '... is_admin: true';
logged_ok($admin, $carol, 'admin_grant_admin');
is $carol->get("$A/users")->{status}, 200, 'carol, in the same session, may use the admin routes at once';
is J($carol->get('/api/auth/user'))->{is_admin}, JSON::PP::true, 'her GET /api/auth/user says is_admin';
$r = put_user($carol, $admin2, { is_admin => JSON::PP::false });
is $r->{status}, 200, 'the new admin revokes another admin' or diag $r->describe;
logged_ok($carol, $admin2, 'admin_revoke_admin');
problem_ok($admin2->get("$A/storage"), 403, 'forbidden', 'the revoked admin -> 403 on the next request');
$r = put_user($admin, $carol, { is_admin => JSON::PP::false });
is $r->{status}, 200, 'revoke carol';
logged_ok($admin, $carol, 'admin_revoke_admin');
problem_ok($carol->get("$A/users"), 403, 'forbidden', 'carol -> 403 again');

# several fields at once: one entry each
$r = put_user($admin, $carol, { is_admin => JSON::PP::true, is_active => JSON::PP::false, quota => '2G' });
is $r->{status}, 200, 'three fields at once -> 200';
is_deeply user_row($carol), { quota => 2 << 30, is_active => 0, is_admin => 1 }, '... all three applied';
logged_ok($admin, $carol, 'admin_grant_admin', undef, 2);
logged_ok($admin, $carol, 'admin_deactivate');
logged_ok($admin, $carol, 'admin_set_quota', { new => 2 << 30 });
problem_ok($carol->get("$A/users"), 401, 'unauthenticated', 'an inactive admin is no admin (401)');
is put_user($admin, $carol, { is_active => JSON::PP::true, is_admin => JSON::PP::false })->{status}, 200, 'carol restored';
is $carol->login->{status}, 200, '... and logs in again';

# ------------------------------------------------------------ self lockout

my $n0 = nacts($admin);
problem_ok(put_user($admin, $admin, { is_active => JSON::PP::false }), 409, 'self_lockout', 'deactivating yourself -> 409 self_lockout');
problem_ok(put_user($admin, $admin, { is_admin => JSON::PP::false }), 409, 'self_lockout', 'dropping your own admin rights -> 409');
problem_ok(put_user($admin_tc, $admin, { is_admin => JSON::PP::false, quota => '5G' }), 409, 'self_lockout',
	'... with an API token, together with a quota -> 409');
is_deeply user_row($admin), { %{ user_row($admin) }, is_active => 1, is_admin => 1 }, 'the admin is still an active admin';
isnt user_row($admin)->{quota}, 5 << 30, '... and the quota did not change';
is nacts($admin), $n0, 'nothing logged';
$r = put_user($admin, $admin, { is_admin => JSON::PP::true, is_active => JSON::PP::true });
is $r->{status}, 200, 'confirming your own rights -> 200';
is nacts($admin), $n0, '... changes and logs nothing';
$r = put_user($admin, $admin, { quota => '3G' });
is $r->{status}, 200, 'an admin may change their own quota';
my $self_q = acts($admin, 'admin_set_quota', $admin);
is scalar @$self_q, 1, '... logged once (admin and user are one)';

# ------------------------------------------------------------ storage report

# a compressible file, so that compression saves something, and a duplicate
my $text = "All work and no play makes Jack a dull boy.\n" x 2000;
my $text_hex = Digest::SHA::sha256_hex($text);
up1($carol, 'dull.txt', $text);
my $r0 = J($admin->get("$A/storage"));
up1($carol, 'dull-copy.txt', $text);
my $r1 = J($admin->get("$A/storage"));
is $r1->{logical_bytes} - $r0->{logical_bytes}, length $text, 'a copy of a file: logical_bytes + its size';
is $r1->{unique_bytes}, $r0->{unique_bytes}, '... unique_bytes unchanged';
is $r1->{deduplication_saved_bytes} - $r0->{deduplication_saved_bytes}, length $text, '... deduplication_saved_bytes + its size';
ok wait_until(sub { $s->psql("SELECT count(*) FROM blobs WHERE sha256 = decode('$text_hex', 'hex') AND compression <> 'none'") == 1 }, 20),
	'the compression job compressed the text';

my $expected_sql = q{SELECT json_build_object(
	'users', json_build_object('total', (SELECT count(*) FROM users),
		'active', (SELECT count(*) FROM users WHERE is_active),
		'admins', (SELECT count(*) FROM users WHERE is_admin)),
	'files', json_build_object('count', (SELECT count(*) FROM files WHERE NOT is_deleted),
		'trash_count', (SELECT count(*) FROM files WHERE is_deleted)),
	'logical_bytes', (SELECT coalesce(sum(size), 0) FROM file_versions),
	'quota_used_bytes', (SELECT coalesce(sum(storage_used), 0) FROM users),
	'trash_bytes', (SELECT coalesce(sum(v.size), 0) FROM file_versions v JOIN files f ON f.id = v.file_id
		WHERE f.is_deleted),
	'unique_bytes', (SELECT coalesce(sum(size), 0) FROM blobs WHERE ref_count > 0),
	'stored_bytes', (SELECT coalesce(sum(stored_size), 0) FROM blobs WHERE ref_count > 0),
	'deduplication_saved_bytes', (SELECT coalesce(sum(size), 0) FROM file_versions)
		- (SELECT coalesce(sum(size), 0) FROM blobs WHERE ref_count > 0),
	'compression_saved_bytes', (SELECT coalesce(sum(size - stored_size), 0) FROM blobs
		WHERE ref_count > 0 AND compression = 'gzip'),
	'largest_users', (SELECT json_agg(json_build_object('id', id, 'username', username, 'used', storage_used,
		'quota', storage_quota)) FROM (SELECT * FROM users ORDER BY storage_used DESC, lower(username) LIMIT 10) x))};
my ($got, $exp);
# the compression job may change a blob between two looks: compare a report
# framed by two identical readings of the rows
ok wait_until(sub {
	my $e1 = $s->psql($expected_sql);
	my $g = $admin->get("$A/storage");
	my $e2 = $s->psql($expected_sql);
	$got = J($g);
	$exp = $Coffer::Test::JSON->decode($e2);
	return $e1 eq $e2 && $g->{status} == 200;
}, 20), 'GET /api/admin/storage between two equal readings of the rows';
is_deeply [ sort keys %$got ], [ sort qw(users files logical_bytes quota_used_bytes trash_bytes unique_bytes stored_bytes
	deduplication_saved_bytes compression_saved_bytes largest_users) ], 'the report has exactly its fields';
for my $k (qw(users files logical_bytes quota_used_bytes trash_bytes unique_bytes stored_bytes deduplication_saved_bytes
	compression_saved_bytes)) {
	is_deeply $got->{$k}, $exp->{$k}, "$k as the rows say" or diag explain [ $got->{$k}, $exp->{$k} ];
}
is_deeply [ map { [ @$_{qw(id username used quota)} ] } @{ $got->{largest_users} || [] } ],
	[ map { [ @$_{qw(id username used quota)} ] } @{ $exp->{largest_users} || [] } ], 'largest_users: the top 10 by storage_used';
cmp_ok $got->{compression_saved_bytes}, '>', 0, 'compression saved something';
ok !grep({ !/^\d+$/ } map { $got->{$_} // 'x' } qw(logical_bytes unique_bytes stored_bytes compression_saved_bytes)),
	'the byte counts are JSON integers';

# what we upload moves the figures by exactly its size
my $before_rep = $got;
my $extra = random_bytes(5000);
my $xf = up1($su{plain}, 'extra.bin', $extra);
my $rep = J($admin->get("$A/storage"));
is $rep->{logical_bytes} - $before_rep->{logical_bytes}, 5000, 'a new 5000-byte file: logical_bytes + 5000';
is $rep->{unique_bytes} - $before_rep->{unique_bytes}, 5000, '... unique_bytes + 5000';
is $rep->{files}{count} - $before_rep->{files}{count}, 1, '... files.count + 1';
is $su{plain}->delete('/api/files/' . sql_id($xf->{id}))->{status}, 204, 'trash it';
$rep = J($admin->get("$A/storage"));
is $rep->{logical_bytes} - $before_rep->{logical_bytes}, 5000, 'in the trash it is still stored: logical_bytes + 5000';
is $rep->{quota_used_bytes}, $before_rep->{quota_used_bytes}, '... but not counted against the quota';
is $rep->{trash_bytes} - $before_rep->{trash_bytes}, 5000, '... trash_bytes + 5000';
cmp_ok $rep->{deduplication_saved_bytes}, '>=', 0, 'deduplication_saved_bytes is never negative';
is $rep->{files}{trash_count} - $before_rep->{files}{trash_count}, 1, '... trash_count + 1';
is $rep->{users}{total}, $s->psql('SELECT count(*) FROM users'), 'users.total';

# the largest users: make one the largest and see it first
my $big = random_bytes(3_500_000);
up1($su{other}, 'big.bin', $big);
$rep = J($admin->get("$A/storage"));
my $top_used = $s->psql('SELECT max(storage_used) FROM users');
is $rep->{largest_users}[0]{used}, $top_used, 'the first of largest_users has the largest usage';
ok @{ $rep->{largest_users} } <= 10, 'at most 10';

done_testing;
