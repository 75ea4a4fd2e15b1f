#!/usr/bin/perl
# 23-cors-csrf: cross-origin rules through the real stack. Proves: a CORS
# preflight from an allow-listed origin answers 204 with
# Access-Control-Allow-Origin (that origin, never *), -Credentials,
# -Methods, -Headers and -Max-Age; from any other origin 403; a
# state-changing request (POST/DELETE) carrying a foreign Origin is refused
# with 403 origin_not_allowed before it does anything, even with a valid
# session (which stays logged in); the same request from an allowed origin
# works and carries ACAO + ACAC + Vary: Origin; GETs from foreign origins
# get their answer but no CORS headers; origins match exactly (scheme, host,
# port; no prefix/suffix tricks, no "null").
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Coffer::Test qw(problem_ok api_epoch);

my $s = Coffer::Test->stack;

my @allowed = split ' ', ($s->{config}{allowed_origins} // '');
my $origin = $s->allowed_origin;
plan skip_all => 'the harness configures no allowed origin (allowed_origins is empty)' unless $origin && @allowed;
ok((grep { $_ eq $origin } @allowed), "the harness allows $origin");
my ($origin2) = grep { $_ ne $origin } @allowed;

my $evil = 'https://evil.example';
my @all;    # every response of this file, checked for a wildcard at the end

sub cors_ok {
	my ($r, $o, $name) = @_;
	subtest $name => sub {
		my @acao = $r->header('access-control-allow-origin');
		is_deeply \@acao, [$o], "Access-Control-Allow-Origin: $o (once)";
		is $r->header('access-control-allow-credentials'), 'true', 'Access-Control-Allow-Credentials: true';
		like $r->header('vary') // '', qr/(^|,\s*)Origin(\s*,|$)/i, 'Vary: Origin';
		like $r->header('access-control-expose-headers') // '', qr/\bX-Request-Id\b/i, 'exposes X-Request-Id';
		like $r->header('access-control-expose-headers') // '', qr/\bRetry-After\b/i, 'exposes Retry-After';
	};
}

sub no_cors_ok {
	my ($r, $name) = @_;
	subtest $name => sub {
		ok !defined $r->header('access-control-allow-origin'), 'no Access-Control-Allow-Origin';
		ok !defined $r->header('access-control-allow-credentials'), 'no Access-Control-Allow-Credentials';
		ok !defined $r->header('access-control-allow-methods'), 'no Access-Control-Allow-Methods';
	};
}

sub req {
	my ($c, $method, $path, $o, %h) = @_;
	my $r = $c->request($method, $path, { %{ $o || {} }, headers => \%h });
	push @all, $r;
	return $r;
}

my $alice = $s->register_user;
my $T = '/api/auth/tokens';

# ------------------------------------------------------------ preflight

my $r = req($s->client, OPTIONS => $T, {}, Origin => $origin,
	'Access-Control-Request-Method' => 'POST',
	'Access-Control-Request-Headers' => 'content-type, authorization');
is $r->{status}, 204, 'preflight from the allowed origin -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
cors_ok($r, $origin, 'preflight CORS headers');
my %methods = map { $_ => 1 } split /\s*,\s*/, $r->header('access-control-allow-methods') // '';
ok $methods{$_}, "Allow-Methods lists $_" for qw(GET POST OPTIONS);
ok !$methods{DELETE}, 'Allow-Methods lists only what the resource supports (no DELETE on the collection)';
my %hdrs = map { lc $_ => 1 } split /\s*,\s*/, $r->header('access-control-allow-headers') // '';
ok $hdrs{$_}, "Allow-Headers lists $_" for qw(authorization content-type);
like $r->header('access-control-max-age') // '', qr/^[1-9]\d*$/, 'Access-Control-Max-Age is a positive number';

$r = req($s->client, OPTIONS => "$T/0b3c1a52-7c6e-4a7e-9a55-1d3cf0e1a001", {}, Origin => $origin,
	'Access-Control-Request-Method' => 'DELETE');
is $r->{status}, 204, 'preflight for DELETE on a token -> 204';
like $r->header('access-control-allow-methods') // '', qr/\bDELETE\b/, '... allowing DELETE';

if ($origin2) {
	$r = req($s->client, OPTIONS => '/api/auth/login', {}, Origin => $origin2, 'Access-Control-Request-Method' => 'POST');
	is $r->{status}, 204, "preflight from the second allowed origin ($origin2) -> 204";
	cors_ok($r, $origin2, '... echoing that origin');
}

$r = req($s->client, OPTIONS => $T, {}, Origin => $evil, 'Access-Control-Request-Method' => 'POST');
problem_ok($r, 403, 'origin_not_allowed', 'preflight from a foreign origin -> 403 origin_not_allowed');
no_cors_ok($r, '... without CORS headers');

$r = req($s->client, OPTIONS => '/api/nope', {}, Origin => $origin, 'Access-Control-Request-Method' => 'GET');
is $r->{status}, 404, 'preflight for an unknown path -> 404';

# Exact matching only.
(my $no_port = $origin) =~ s/:\d+$//;
my $other_scheme = $origin =~ /^https:/ ? $origin =~ s/^https:/http:/r : $origin =~ s/^http:/https:/r;
for my $o ("$origin/", uc $origin, "${origin}0", "$origin.evil.example", "$no_port", $other_scheme,
	"x$origin", 'null', '*', "$origin $evil", "$origin, $evil") {
	next if $o eq $origin;
	my $x = req($s->client, OPTIONS => $T, {}, Origin => $o, 'Access-Control-Request-Method' => 'POST');
	problem_ok($x, 403, 'origin_not_allowed', "preflight from '$o' -> 403 (exact match only)");
}

# ------------------------------------------------------------ CSRF

my $sess = $alice->session;
my $tokens_before = $s->psql("SELECT count(*) FROM api_tokens WHERE user_id = '$alice->{user}{id}'");

$r = req($alice, POST => '/api/auth/logout', {}, Origin => $evil);
problem_ok($r, 403, 'origin_not_allowed', 'logout with a foreign Origin and a valid session -> 403');
no_cors_ok($r, '... without CORS headers');
ok !defined $r->header('set-cookie'), '... and the cookie is not touched';
is $alice->session, $sess, 'the client still holds its session';
is $s->psql("SELECT count(*) FROM sessions WHERE user_id = '$alice->{user}{id}'"), 1, 'the session row still exists';
$r = req($alice, GET => '/api/auth/user');
is $r->{status}, 200, 'the session still works';

$r = req($alice, POST => $T, { json => { name => 'csrf' } }, Origin => $evil);
problem_ok($r, 403, 'origin_not_allowed', 'create a token with a foreign Origin -> 403');
$r = req($alice, POST => $T, { json => { name => 'csrf' } }, Origin => 'null');
problem_ok($r, 403, 'origin_not_allowed', '... also with Origin: null (sandboxed frame, file://)');
is $s->psql("SELECT count(*) FROM api_tokens WHERE user_id = '$alice->{user}{id}'"), $tokens_before, 'no token was created';

my $tok = req($alice, POST => $T, { json => { name => 'kept' } })->{json};
$r = req($alice, DELETE => "$T/$tok->{id}", {}, Origin => $evil);
problem_ok($r, 403, 'origin_not_allowed', 'revoke a token with a foreign Origin -> 403');
is req($s->client, GET => '/api/auth/user', {}, Authorization => "Bearer $tok->{token}")->{status}, 200,
	'... the token still works';

# Even bearer-authenticated requests: the Origin says a browser sent it.
$r = req($s->client, POST => $T, { json => { name => 'csrf2' } }, Origin => $evil, Authorization => "Bearer $tok->{token}");
problem_ok($r, 403, 'origin_not_allowed', 'a foreign Origin is refused with a Bearer token too');

# Before any work: no account made, no login attempted (nor counted).
my $victim = $s->unique_name('csrf');
$r = req($s->client, POST => '/api/auth/register',
	{ json => { username => $victim, email => "$victim\@example.com", password => 'long enough password' } }, Origin => $evil);
problem_ok($r, 403, 'origin_not_allowed', 'register from a foreign Origin -> 403');
is $s->psql("SELECT count(*) FROM users WHERE username = '$victim'"), 0, '... no account was made';
my $fc = $s->client;
$r = req($fc, POST => '/api/auth/login', { json => { login => $alice->{username}, password => 'wrong password' } }, Origin => $evil);
problem_ok($r, 403, 'origin_not_allowed', 'login from a foreign Origin -> 403');
is $s->psql("SELECT count(*) FROM auth_throttle WHERE key = 'ip:" . $fc->local_address . "'"), 0,
	'... no login was attempted (no failure counted)';
$r = req($s->client, POST => '/api/auth/login', { json => { login => $alice->{username}, password => $alice->{password} } },
	Origin => $evil);
problem_ok($r, 403, 'origin_not_allowed', 'a login with the right password from a foreign Origin gets no session');
ok !defined $r->header('set-cookie'), '... no cookie';

# ------------------------------------------------------------ allowed origin

my $friend = $s->client(origin => $origin);
my $reg_name = $s->unique_name('cors');
$r = $friend->post_json('/api/auth/register', { username => $reg_name, email => "$reg_name\@example.com", password => 'long enough password' });
push @all, $r;
is $r->{status}, 201, 'register from the allowed origin -> 201' or diag $r->describe;
cors_ok($r, $origin, '... with CORS headers');
$r = $friend->post_json($T, { name => 'from the app' });
push @all, $r;
is $r->{status}, 201, 'create a token from the allowed origin -> 201';
cors_ok($r, $origin, '... with CORS headers');
$r = $friend->delete("$T/$r->{json}{id}");
push @all, $r;
is $r->{status}, 204, 'revoke it from the allowed origin -> 204';
cors_ok($r, $origin, '... with CORS headers');
$r = $friend->get('/api/auth/user');
push @all, $r;
is $r->{status}, 200, 'GET from the allowed origin -> 200';
cors_ok($r, $origin, '... with CORS headers');
$r = $s->client(origin => $origin)->get('/api/auth/user');
push @all, $r;
problem_ok($r, 401, 'unauthenticated', 'an error for the allowed origin');
cors_ok($r, $origin, '... carries CORS headers too (the app can read it)');
$r = $friend->logout;
push @all, $r;
is $r->{status}, 204, 'logout from the allowed origin -> 204';
cors_ok($r, $origin, '... with CORS headers');

# ------------------------------------------------------------ foreign GETs

$r = req($alice, GET => '/api/auth/user', {}, Origin => $evil);
is $r->{status}, 200, 'GET with a foreign Origin is answered (reads are not CSRF)';
no_cors_ok($r, '... but without CORS headers (the foreign page cannot read it)');
like $r->header('vary') // '', qr/\bOrigin\b/i, '... and Vary: Origin for caches';
$r = req($s->client, GET => '/healthz', {}, Origin => $evil);
is $r->{status}, 200, '/healthz with a foreign Origin -> 200';
no_cors_ok($r, '... without CORS headers');
$r = req($s->client, GET => '/healthz');
ok !defined $r->header('access-control-allow-origin'), 'no Origin, no CORS headers';

# ------------------------------------------------------------ never *

my @star = grep { grep { $_ eq '*' } $_->header('access-control-allow-origin') } @all;
is scalar @star, 0, 'no response of this file said Access-Control-Allow-Origin: * (' . scalar(@all) . ' responses)';
my @dup = grep { my @v = $_->header('access-control-allow-origin'); @v > 1 } @all;
is scalar @dup, 0, 'none repeated Access-Control-Allow-Origin';

done_testing;
