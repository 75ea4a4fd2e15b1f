#!/usr/bin/perl
# 20-auth: accounts and cookie sessions through the real stack. Proves:
# registration answers 201 with the user object of plan.md (exact fields,
# storage block, root_folder_id whose folder row exists) and an HttpOnly,
# SameSite=Lax, Path=/ session cookie; field validation answers 400 with an
# `errors` entry per bad field; usernames and emails are unique
# case-insensitively (409 username_taken / email_taken); login works by
# username or email in any case, fails with 401 invalid_credentials for a
# wrong password or an unknown user; logout answers 204 and kills that
# session only; forged, expired and deactivated sessions are 401 and a
# deactivated account cannot log in (403 account_disabled); the database
# holds an argon2id hash and only the SHA-256 of the session cookie; and the
# activity log records register, login, login_failed and logout.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Test::More;

use Coffer::Test qw(problem_ok api_epoch);

my $s = Coffer::Test->stack;

my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $COOKIE = qr/^[A-Za-z0-9_-]{43}$/;
my $QUOTA = 10 * 1024 * 1024 * 1024;    # default_quota 10G

# The `errors` array of a 400, as field => message.
sub error_fields {
	my ($r) = @_;
	my $e = ref $r->{json} eq 'HASH' ? $r->{json}{errors} : undef;
	return undef unless ref $e eq 'ARRAY';
	my %f;
	for (@$e) {
		return undef unless ref $_ eq 'HASH' && join(',', sort keys %$_) eq 'field,message'
			&& length($_->{message} // '');
		$f{ $_->{field} } = $_->{message};
	}
	return \%f;
}

sub invalid_ok {
	my ($r, $fields, $name) = @_;
	subtest $name => sub {
		problem_ok($r, 400, 'invalid_request', '400 invalid_request');
		my $f = error_fields($r);
		ok $f, 'errors is an array of {field, message}' or return;
		is_deeply [ sort keys %$f ], [ sort @$fields ], "errors name exactly: @$fields";
	};
}

sub user_object_ok {
	my ($u, $want, $name) = @_;
	subtest $name => sub {
		is ref $u, 'HASH', 'an object' or return;
		is_deeply [ sort keys %$u ],
			[ sort qw(id username email is_admin is_active created_at root_folder_id storage) ],
			'exactly the fields of plan.md';
		like $u->{id}, $UUID, 'id is a UUID';
		like $u->{root_folder_id}, $UUID, 'root_folder_id is a UUID';
		isnt $u->{root_folder_id}, $u->{id}, 'root folder id differs from the user id';
		is $u->{username}, $want->{username}, 'username as registered';
		is $u->{email}, $want->{email}, 'email as registered';
		ok JSON::PP::is_bool($u->{is_admin}) && !$u->{is_admin}, 'is_admin: false (a JSON boolean)';
		ok JSON::PP::is_bool($u->{is_active}) && $u->{is_active}, 'is_active: true (a JSON boolean)';
		like $u->{created_at}, $TIME, 'created_at is RFC 3339 UTC';
		cmp_ok abs(api_epoch($u->{created_at}) - time), '<', 300, 'created_at is now';
		my $st = $u->{storage};
		is ref $st, 'HASH', 'storage object' or return;
		is_deeply [ sort keys %$st ], [qw(available percent_used quota used)], 'storage fields';
		is $st->{quota}, $QUOTA, 'quota is default_quota (10 GiB)';
		is $st->{used}, 0, 'used 0';
		is $st->{available}, $QUOTA, 'available = quota - used';
		is $st->{percent_used}, 0, 'percent_used 0';
		my $raw = JSON::PP->new->canonical->encode($st);
		unlike $raw, qr/"(?:quota|used|available)":"/, 'sizes are JSON numbers, not strings';
	};
}

sub cookie_ok {
	my ($r, $name) = @_;
	my @sc = grep { /^coffer_session=/ } $r->header('set-cookie');
	subtest $name => sub {
		is scalar @sc, 1, 'one coffer_session cookie' or return;
		my ($pair, @attr) = split /;\s*/, $sc[0];
		my ($v) = $pair =~ /^coffer_session=(.*)$/;
		like $v, $COOKIE, 'value: 43 chars base64url (256 bits)';
		my %a = map { my ($k, $x) = split /=/, $_, 2; (lc $k => $x // 1) } @attr;
		ok $a{httponly}, 'HttpOnly';
		is $a{samesite}, 'Lax', 'SameSite=Lax';
		is $a{path}, '/', 'Path=/';
		is $a{'max-age'}, 1209600, 'Max-Age = session_ttl (14 days)';
		ok !$a{secure}, 'no Secure flag over plain HTTP';
		ok !exists $a{domain}, 'no Domain (host-only cookie)';
	};
	return $sc[0] && $sc[0] =~ /^coffer_session=([^;]*)/ ? $1 : undef;
}

sub digest_of { '\\x' . sha256_hex($_[0]) }

# ------------------------------------------------------------ register

my $name = $s->unique_name('Reg');
my $email = "$name\@Example.com";
my $password = 'correct horse battery staple';
my $alice = $s->client;
my $r = $alice->post_json('/api/auth/register', { username => $name, email => $email, password => $password });
is $r->{status}, 201, 'register -> 201' or diag $r->describe;
like $r->header('content-type'), qr{^application/json; charset=utf-8$}, 'JSON answer';
is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(session user)], 'answer has user and session';
my $user = $r->{json}{user};
user_object_ok($user, { username => $name, email => $email }, 'registered user object');
my $sess = $r->{json}{session};
is_deeply [ sort keys %{ $sess || {} } ], ['expires_at'], 'session object: expires_at';
like $sess->{expires_at}, $TIME, 'expires_at is RFC 3339 UTC';
cmp_ok abs(api_epoch($sess->{expires_at}) - (time + 1209600)), '<', 300, 'expires_at = now + 14 days';
my $cookie1 = cookie_ok($r, 'register sets the session cookie');
is $alice->session, $cookie1, 'the client keeps the cookie';

$r = $alice->get('/api/auth/user');
is $r->{status}, 200, 'GET /api/auth/user with the new session -> 200';
is_deeply $r->{json}, { %$user, notifications => { unread => 0 } },
	'GET /api/auth/user returns the same user object, with notifications {unread: 0}';

# Database side: root folder, password hash, session digest.
my @folder = $s->psql_rows("SELECT user_id, parent_id IS NULL, name, folder_path(id), is_deleted FROM folders WHERE id = '$user->{root_folder_id}'");
is_deeply \@folder, [ [ $user->{id}, 't', '', '/', 'f' ] ], 'the root folder row exists, owned by the user, path /';
is $s->psql("SELECT root_folder_id FROM users WHERE id = '$user->{id}'"), $user->{root_folder_id}, 'users.root_folder_id points at it';
is $s->psql("SELECT count(*) FROM folders WHERE user_id = '$user->{id}'"), 1, 'exactly one folder for a new user';

my $hash = $s->psql("SELECT password_hash FROM users WHERE id = '$user->{id}'");
like $hash, qr/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+\/]{22}\$[A-Za-z0-9+\/]{43}$/,
	'password stored as argon2id v=19 m=19456 t=2 p=1 (16-byte salt, 32-byte hash)';
unlike $hash, qr/\Q$password\E/, 'the password itself is not stored';

my @srows = $s->psql_rows("SELECT length(token_hash), encode(token_hash, 'hex'), host(ip_address), user_agent FROM sessions WHERE user_id = '$user->{id}'");
is scalar @srows, 1, 'one session row';
is_deeply $srows[0], [ 32, sha256_hex($cookie1), $alice->local_address, 'coffer-test/1' ],
	'the session row stores the 32-byte SHA-256 of the cookie, the client address and user agent';
is $s->psql("SELECT count(*) FROM sessions s WHERE strpos(row_to_json(s)::text, '$cookie1') > 0"), 0,
	'the cookie value appears nowhere in the sessions table';

# ------------------------------------------------------------ validation

my $V = '/api/auth/register';
my %ok = (username => $s->unique_name('v'), email => 'valid@example.com', password => 'long enough password');
sub reg { $s->client->post_json($V, { %ok, %{ $_[0] } }) }

invalid_ok($s->client->post_json($V, {}), [qw(username email password)], 'empty object: all three fields required');
invalid_ok($s->client->post_json($V, { username => undef, email => undef, password => undef }),
	[qw(username email password)], 'nulls count as missing');
invalid_ok(reg({ username => 123, email => [], password => { a => 1 } }), [qw(username email password)],
	'wrong JSON types');
invalid_ok(reg({ username => JSON::PP::true }), ['username'], 'boolean username');
for my $u ('ab', 'a' x 33, '_abc', '.abc', '-abc', 'a b c', 'abc!', "ab\x{e9}c", 'abc/def', 'ab@c', '', ' abc') {
	(my $show = $u) =~ s/[^\x21-\x7e]/?/g;
	invalid_ok(reg({ username => $u }), ['username'], "username '$show' is invalid");
}
for my $e ('noat', 'a@b', 'a@b.', 'a@.b', '@b.c', 'a@', 'a@@b.c', 'a b@c.d', 'a@b..c', '<a@b.c>',
	'a@b,c.d', ('x' x 250) . '@b.cd', '') {
	my $show = length $e > 30 ? substr($e, 0, 30) . '...' : $e;
	invalid_ok(reg({ email => $e }), ['email'], "email '$show' is invalid");
}
invalid_ok(reg({ password => '123456789' }), ['password'], 'password of 9 bytes is too short');
invalid_ok(reg({ password => "\x{e9}\x{e9}\x{e9}\x{e9}a" }), ['password'],
	'password of 5 characters / 9 bytes is too short (bytes count)');
invalid_ok(reg({ password => 'x' x 1025 }), ['password'], 'password of 1025 bytes is too long');
invalid_ok(reg({ username => 'a', email => 'b', password => 'c' }), [qw(username email password)],
	'every bad field is reported at once');

# Boundaries that must be accepted: 3- and 32-char usernames, 10- and
# 1024-byte passwords (counted in bytes: 5 x "é" is 10 bytes).
{
	my @chars = ('a' .. 'z', 0 .. 9);
	my $u3 = join '', 'z', map { $chars[ rand @chars ] } 1 .. 2;
	$u3 = join '', 'z', map { $chars[ rand @chars ] } 1 .. 2
		while $s->psql("SELECT count(*) FROM users WHERE lower(username) = '$u3'");
	my $c3 = $s->client;
	my $x = $c3->post_json($V, { username => $u3, email => "$u3\@example.com", password => "\x{e9}" x 5 });
	is $x->{status}, 201, '3-char username with a 10-byte (5-char) password -> 201' or diag $x->describe;
	my $x2 = $c3->login($u3, "\x{e9}" x 5);
	is $x2->{status}, 200, '... and that UTF-8 password logs in' or diag $x2->describe;

	my $u32 = substr('Y' . $s->unique_name('m') . ('k' x 32), 0, 32);
	$x = $s->client->post_json($V, { username => $u32, email => "$u32\@example.com", password => 'p' x 1024 });
	is $x->{status}, 201, '32-char username with a 1024-byte password -> 201' or diag $x->describe;
	is $x->{json}{user}{username}, $u32, '... username kept as sent (case preserved)';
}

# ------------------------------------------------------------ uniqueness

$r = $s->client->post_json($V, { username => lc $name, email => 'other-' . lc($name) . '@example.com', password => $password });
problem_ok($r, 409, 'username_taken', 'same username in another case -> 409 username_taken');
ok !grep({ /coffer_session/ } $r->header('set-cookie')), '... and no session cookie';
$r = $s->client->post_json($V, { username => uc $name, email => 'x' . lc($name) . '@example.com', password => $password });
problem_ok($r, 409, 'username_taken', 'same username upper-cased -> 409 username_taken');
$r = $s->client->post_json($V, { username => $s->unique_name('o'), email => uc $email, password => $password });
problem_ok($r, 409, 'email_taken', 'same email in another case -> 409 email_taken');
ok !grep({ /coffer_session/ } $r->header('set-cookie')), '... and no session cookie';
is $s->psql("SELECT count(*) FROM users WHERE lower(username) = lower('$name') OR lower(email) = lower('$email')"), 1,
	'still exactly one account with that name or email';

# ------------------------------------------------------------ login

my $L = '/api/auth/login';
my $bob = $s->client;
$r = $bob->post_json($L, { login => uc $name, password => $password });
is $r->{status}, 200, 'login by upper-cased username -> 200' or diag $r->describe;
is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(session user)], 'answer has user and session';
is_deeply $r->{json}{user}, $user, 'login returns the user object';
my $cookie2 = cookie_ok($r, 'login sets a session cookie');
isnt $cookie2, $cookie1, 'a new session, not the registration one';

my $carol = $s->client;
$r = $carol->post_json($L, { email => lc $email, password => $password });
is $r->{status}, 200, 'login with "email" (lower-cased) -> 200' or diag $r->describe;
my $cookie3 = $carol->session;

$r = $s->client->post_json($L, { username => $name, password => $password . 'x' });
problem_ok($r, 401, 'invalid_credentials', 'wrong password -> 401 invalid_credentials');
ok !defined $r->header('set-cookie'), '... and no cookie';
my $wrong_body = $r->{json};
my $ghost = $s->unique_name('ghost');
$r = $s->client->post_json($L, { login => $ghost, password => $password });
problem_ok($r, 401, 'invalid_credentials', 'unknown user -> 401 invalid_credentials');
is_deeply $r->{json}, $wrong_body, '... with the same body as a wrong password (no user enumeration)';
$r = $s->client->post_json($L, { login => $name, password => 'short' });
problem_ok($r, 401, 'invalid_credentials', 'a too-short password on login is just wrong, not a 400');

invalid_ok($s->client->post_json($L, {}), [qw(login password)], 'login: empty object -> login and password required');
invalid_ok($s->client->post_json($L, { login => 5, password => 'x' }), ['login'], 'login: number as login');
invalid_ok($s->client->post_json($L, { login => $name }), ['password'], 'login: password missing');
invalid_ok($s->client->post_json($L, { login => '', password => 'x' x 10 }), ['login'], 'login: empty login');
invalid_ok($s->client->post_json($L, { login => 'x' x 255, password => 'x' x 10 }), ['login'], 'login: 255-byte login');

# ------------------------------------------------------------ cookies

$r = $s->client->get('/api/auth/user');
problem_ok($r, 401, 'unauthenticated', 'no cookie -> 401 unauthenticated');
like $r->header('www-authenticate') // '', qr/^Bearer realm="coffer"/, '... with WWW-Authenticate';
for my $forged ('A' x 43, substr($cookie2, 0, 42), $cookie2 . 'A', substr($cookie2, 0, 42) . (substr($cookie2, 42) eq 'A' ? 'B' : 'A'), '', digest_of($cookie2)) {
	my $x = $s->request(GET => '/api/auth/user', { headers => { Cookie => "coffer_session=$forged" } });
	problem_ok($x, 401, 'unauthenticated', 'forged cookie (' . length($forged) . ' chars) -> 401');
}
$r = $s->request(GET => '/api/auth/user', { headers => { Cookie => "theme=dark; coffer_session=$cookie2; lang=en" } });
is $r->{status}, 200, 'the session cookie is found among others';
$r = $s->request(GET => '/api/auth/user', { headers => { Cookie => "xcoffer_session=$cookie2" } });
problem_ok($r, 401, 'unauthenticated', 'a cookie whose name merely ends in coffer_session is not the session');

# ------------------------------------------------------------ logout

$r = $bob->logout;
is $r->{status}, 204, 'logout -> 204';
is $r->{content}, '', '... no body';
my ($clear) = grep { /^coffer_session=/ } $r->header('set-cookie');
like $clear // '', qr/^coffer_session=;/, 'logout clears the cookie value';
like $clear // '', qr/;\s*Max-Age=0\b/i, '... with Max-Age=0';
like $clear // '', qr/;\s*Path=\//, '... for Path=/';
like $clear // '', qr/;\s*HttpOnly\b/i, '... HttpOnly';
is $bob->session, undef, 'the client dropped the cookie';
is $s->psql("SELECT count(*) FROM sessions WHERE token_hash = '" . digest_of($cookie2) . "'"), 0, 'the session row is deleted';
$r = $s->request(GET => '/api/auth/user', { headers => { Cookie => "coffer_session=$cookie2" } });
problem_ok($r, 401, 'unauthenticated', 'the logged-out cookie -> 401');
$r = $s->request(POST => '/api/auth/logout', { headers => { Cookie => "coffer_session=$cookie2" } });
problem_ok($r, 401, 'unauthenticated', 'logging out twice -> 401');
$r = $s->client->logout;
problem_ok($r, 401, 'unauthenticated', 'logout without a session -> 401');
is $alice->get('/api/auth/user')->{status}, 200, 'the other sessions of the user are untouched (register session)';
is $carol->get('/api/auth/user')->{status}, 200, '... (email login session)';

# ------------------------------------------------------------ expiry

$s->psql("UPDATE sessions SET created_at = now() - interval '15 days', expires_at = now() - interval '1 second' WHERE token_hash = '" . digest_of($cookie3) . "'");
$r = $carol->get('/api/auth/user');
problem_ok($r, 401, 'unauthenticated', 'an expired session -> 401');
is $alice->get('/api/auth/user')->{status}, 200, '... other sessions still valid';

# ------------------------------------------------------------ deactivation

$s->psql("UPDATE users SET is_active = false WHERE id = '$user->{id}'");
$r = $alice->get('/api/auth/user');
problem_ok($r, 401, 'unauthenticated', 'session of a deactivated user -> 401');
$r = $s->client->post_json($L, { login => $name, password => $password });
problem_ok($r, 403, 'account_disabled', 'deactivated user, right password -> 403 account_disabled');
ok !grep({ /coffer_session=[^;]/ } $r->header('set-cookie')), '... and no session';
$r = $s->client->post_json($L, { login => $name, password => 'wrong password!' });
problem_ok($r, 401, 'invalid_credentials', 'deactivated user, wrong password -> 401 (the state is not revealed)');
$s->psql("UPDATE users SET is_active = true WHERE id = '$user->{id}'");

# ------------------------------------------------------------ activity log

my @log = $s->psql_rows("SELECT action, coalesce(target_kind, ''), coalesce(target_id::text, ''), coalesce(target_name, ''), coalesce(host(ip_address), ''), coalesce(user_agent, '') FROM activity_log WHERE user_id = '$user->{id}' ORDER BY created_at, action");
my %by = map { $_->[0] => [] } @log;
push @{ $by{ $_->[0] } }, $_ for @log;
is_deeply [ map { [ @$_[1 .. 5] ] } @{ $by{register} || [] } ],
	[ [ 'user', $user->{id}, $name, $alice->local_address, 'coffer-test/1' ] ],
	'activity: one register row (user, its id and name, client address, user agent)';
is scalar @{ $by{login} || [] }, 2, 'activity: two login rows (by username, by email)';
is_deeply [ sort map { $_->[4] } @{ $by{login} || [] } ], [ sort $bob->local_address, $carol->local_address ],
	'... from the clients\' addresses';
is scalar @{ $by{logout} || [] }, 1, 'activity: one logout row';
is $by{logout}[0][4], $bob->local_address, '... from the client that logged out';
cmp_ok scalar @{ $by{login_failed} || [] }, '>=', 3, 'activity: login_failed rows for the wrong passwords';
ok((grep { $_->[3] eq $name } @{ $by{login_failed} || [] }), '... naming the login as typed');
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id IS NULL AND action = 'login_failed' AND target_name = '$ghost'"), 1,
	'activity: a failed login for an unknown name is logged without a user';

done_testing;
