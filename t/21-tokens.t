#!/usr/bin/perl
# 21-tokens: personal API tokens through the real stack. Proves: creating
# one answers 201 with the token object and the secret (cof_ + 43 base64url
# chars) exactly once, the database keeps only its SHA-256; the secret works
# as `Authorization: Bearer` (and updates last_used_at); the list pages with
# keyset cursors, newest first, every token exactly once; revocation answers
# 204 and the token stops working at once; another user's token or an
# unknown id is 404 and stays valid; name and expires_in_days are validated
# (0, 3651, "7", 1.5 -> 400); a malformed or unknown Authorization header is
# 401 and never falls back to a valid cookie; tokens of deactivated users
# and expired tokens are 401.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;

use Coffer::Test qw(problem_ok api_epoch);

my $s = Coffer::Test->stack;

my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $SECRET = qr/^cof_[A-Za-z0-9_-]{43}$/;
my $T = '/api/auth/tokens';

sub invalid_ok {
	my ($r, $field, $name) = @_;
	subtest $name => sub {
		problem_ok($r, 400, 'invalid_request', '400 invalid_request') or return;
		my @f = map { $_->{field} } @{ $r->{json}{errors} || [] };
		is_deeply \@f, [$field], "errors name $field";
	};
}

# A request with exactly these credentials (no cookie jar, no client token).
sub with_auth {
	my ($method, $path, $auth, $cookie, $o) = @_;
	my %h;
	$h{Authorization} = $auth if defined $auth;
	$h{Cookie} = "coffer_session=$cookie" if defined $cookie;
	return $s->request($method, $path, { %{ $o || {} }, headers => \%h });
}

my $alice = $s->register_user;
my $bob = $s->register_user;

# ------------------------------------------------------------ create

my $r = $alice->post_json($T, { name => 'laptop backup' });
is $r->{status}, 201, 'create a token -> 201' or diag $r->describe;
my $tok = $r->{json};
is_deeply [ sort keys %$tok ], [ sort qw(id name created_at expires_at last_used_at prefix token) ],
	'token object fields plus the secret';
like $tok->{id}, $UUID, 'id is a UUID';
is $tok->{name}, 'laptop backup', 'name';
like $tok->{created_at}, $TIME, 'created_at RFC 3339';
ok exists $tok->{expires_at} && !defined $tok->{expires_at}, 'no expiry requested: expires_at null';
ok exists $tok->{last_used_at} && !defined $tok->{last_used_at}, 'never used: last_used_at null';
like $tok->{token}, $SECRET, 'secret is cof_ + 43 base64url chars';
is $tok->{prefix}, substr($tok->{token}, 0, 8), 'prefix is the first 8 chars of the secret (cof_xxxx)';
my $secret = $tok->{token};

my @row = $s->psql_rows("SELECT encode(token_hash, 'hex'), prefix, user_id FROM api_tokens WHERE id = '$tok->{id}'");
is_deeply \@row, [ [ sha256_hex($secret), $tok->{prefix}, $alice->{user}{id} ] ],
	'the database keeps the SHA-256 of the secret, the prefix and the owner';
is $s->psql("SELECT count(*) FROM api_tokens t WHERE strpos(row_to_json(t)::text, '" . substr($secret, 4) . "') > 0"), 0,
	'the secret appears nowhere in api_tokens';

$r = $alice->post_json($T, { name => 'expiring', expires_in_days => 30 });
is $r->{status}, 201, 'token with expires_in_days 30 -> 201';
cmp_ok abs(api_epoch($r->{json}{expires_at}) - api_epoch($r->{json}{created_at}) - 30 * 86400), '<=', 1,
	'expires_at = created_at + 30 days';
$r = $alice->post_json($T, { name => 'one day', expires_in_days => 1 });
is $r->{status}, 201, 'expires_in_days 1 (minimum) -> 201';
$r = $alice->post_json($T, { name => 'ten years', expires_in_days => 3650 });
is $r->{status}, 201, 'expires_in_days 3650 (maximum) -> 201';
$r = $alice->post_json($T, { name => 'null expiry', expires_in_days => undef });
is $r->{status}, 201, 'expires_in_days null = no expiry -> 201';
ok !defined $r->{json}{expires_at}, '... expires_at null';
$r = $alice->post_json($T, { name => 'x' x 100 });
is $r->{status}, 201, '100-byte name -> 201';
$r = $alice->post_json($T, { name => "caf\x{e9} \x{1F511}" });
is $r->{status}, 201, 'UTF-8 name -> 201';
is $r->{json}{name}, "caf\x{e9} \x{1F511}", '... kept as sent';

# ------------------------------------------------------------ validation

invalid_ok($alice->post_json($T, {}), 'name', 'name missing');
invalid_ok($alice->post_json($T, { name => '' }), 'name', 'empty name');
invalid_ok($alice->post_json($T, { name => 'x' x 101 }), 'name', '101-byte name');
invalid_ok($alice->post_json($T, { name => 'a/b' }), 'name', "name with '/'");
invalid_ok($alice->post_json($T, { name => "a\nb" }), 'name', 'name with a newline');
invalid_ok($alice->post_json($T, { name => 7 }), 'name', 'name as a number');
for my $case ([ 0, '0' ], [ -1, '-1' ], [ 3651, '3651' ], [ '7', 'a string' ], [ 1.5, '1.5' ],
	[ 1e10, '1e10' ], [ JSON::PP::true, 'true' ], [ [7], 'an array' ], [ { d => 7 }, 'an object' ]) {
	my ($d, $show) = @$case;
	invalid_ok($alice->post_json($T, { name => 'bad expiry', expires_in_days => $d }), 'expires_in_days',
		"expires_in_days $show -> 400");
}
# "7" as a string (JSON::PP keeps a string that was never used as a number)
invalid_ok($alice->post_json($T, '{"name":"bad expiry","expires_in_days":"7"}'), 'expires_in_days',
	'expires_in_days "7" (a JSON string) -> 400');
is $s->psql("SELECT count(*) FROM api_tokens WHERE name = 'bad expiry'"), 0, 'no token was created by a rejected request';

# ------------------------------------------------------------ bearer use

$r = with_auth(GET => '/api/auth/user', "Bearer $secret");
is $r->{status}, 200, 'Bearer token -> GET /api/auth/user 200' or diag $r->describe;
is_deeply $r->{json}, { %{ $alice->{user} }, notifications => { unread => 0 } }, '... as its owner';
for my $form ("bearer $secret", "BEARER $secret", "Bearer  $secret", "Bearer\t$secret", "Bearer $secret  ") {
	(my $show = $form) =~ s/cof_\S+/cof_.../;
	$show =~ s/\t/\\t/g;
	is with_auth(GET => '/api/auth/user', $form)->{status}, 200, "Authorization '$show' is accepted";
}
my $used = $s->psql("SELECT last_used_at IS NOT NULL FROM api_tokens WHERE id = '$tok->{id}'");
is $used, 't', 'using the token sets last_used_at';
$r = with_auth(GET => $T, "Bearer $secret");
my ($listed) = grep { $_->{id} eq $tok->{id} } @{ $r->{json}{items} || [] };
like $listed->{last_used_at} // '', $TIME, 'the list shows last_used_at';
ok !exists $listed->{token}, 'the list never shows the secret';

$r = with_auth(POST => $T, "Bearer $secret", undef, { json => { name => 'made by a token' } });
is $r->{status}, 201, 'a token can create a token';
like $r->{json}{token} // '', $SECRET, '... and gets its secret';

# Logout ends a session (plan.md: "Needs a session (401 otherwise)"); a
# token is not a session, and logging out with one must not pretend success.
$r = with_auth(POST => '/api/auth/logout', "Bearer $secret");
problem_ok($r, 401, 'unauthenticated', 'logout with only a Bearer token -> 401 (no session to end)');
is with_auth(GET => '/api/auth/user', "Bearer $secret")->{status}, 200, '... and the token still works';

# ------------------------------------------------------------ malformed credentials

my $other_secret = 'cof_' . ('A' x 43);
for my $case (
	[ 'Bearer', 'scheme only' ],
	[ 'Bearer ', 'empty token' ],
	[ "Bearer cof_short", 'short token' ],
	[ "Bearer " . substr($secret, 4), 'secret without cof_' ],
	[ "Bearer x$secret", 'prefix-mangled secret' ],
	[ "Bearer ${secret}A", 'secret with a char appended' ],
	[ "Bearer $other_secret", 'well-formed unknown token' ],
	[ "Basic YWxpY2U6cGFzc3dvcmQ=", 'Basic auth' ],
	[ "Token $secret", 'other scheme with the right secret' ],
	[ "Bearer$secret", 'no space after Bearer' ],
	[ $secret, 'bare secret' ],
	[ "Bearer $secret $secret", 'two tokens' ],
) {
	my ($h, $what) = @$case;
	my $x = with_auth(GET => '/api/auth/user', $h, $alice->session);
	problem_ok($x, 401, 'unauthenticated', "Authorization: $what -> 401 even with a valid cookie");
}
is $alice->get('/api/auth/user')->{status}, 200, 'the cookie alone still works';

# ------------------------------------------------------------ list and pagination

{
	my $carol = $s->register_user;
	my @made;
	for my $i (1 .. 5) {
		my $x = $carol->post_json($T, { name => "page $i" });
		is $x->{status}, 201, "carol's token $i" or diag $x->describe;
		push @made, $x->{json}{id};
	}
	my @newest_first = reverse @made;

	my $all = $carol->get($T);
	is $all->{status}, 200, 'list -> 200';
	is_deeply [ sort keys %{ $all->{json} } ], [qw(items next_cursor)], 'list has items and next_cursor';
	is_deeply [ map { $_->{id} } @{ $all->{json}{items} } ], \@newest_first, 'all five, newest first';
	ok exists $all->{json}{next_cursor} && !defined $all->{json}{next_cursor}, 'one page: next_cursor null';
	is_deeply [ sort keys %{ $all->{json}{items}[0] } ], [ sort qw(id name created_at expires_at last_used_at prefix) ],
		'list items: token fields, no secret';

	for my $limit (1, 2, 3, 4) {
		my (@seen, @sizes);
		my $url = "$T?limit=$limit";
		my $pages = 0;
		while (1) {
			my $x = $carol->get($url);
			is $x->{status}, 200, "limit=$limit page " . ($pages + 1) or last;
			push @sizes, scalar @{ $x->{json}{items} };
			push @seen, map { $_->{id} } @{ $x->{json}{items} };
			my $next = $x->{json}{next_cursor};
			last unless defined $next;
			like $next, qr/^[A-Za-z0-9_-]+$/, 'next_cursor is URL-safe';
			$url = "$T?limit=$limit&cursor=$next";
			last if ++$pages > 10;
		}
		is_deeply \@seen, \@newest_first, "limit=$limit: the cursor chain yields every token exactly once, newest first";
		my $full = int(5 / $limit);
		my @want = ((($limit) x $full), (5 % $limit ? (5 % $limit) : ()));
		is_deeply \@sizes, \@want, "limit=$limit: page sizes @want";
	}
	my $x = $carol->get("$T?limit=5");
	ok !defined $x->{json}{next_cursor}, 'limit = count: no next_cursor';

	# a cursor from carol's list shows nothing of carol to bob
	my $page = $carol->get("$T?limit=2");
	$x = $bob->get("$T?limit=2&cursor=$page->{json}{next_cursor}");
	is $x->{status}, 200, "another user's cursor is just a position";
	ok !(grep { my $id = $_->{id}; grep { $_ eq $id } @made } @{ $x->{json}{items} }), '... and yields none of carol\'s tokens';

	# revoke: 204, gone from the list, Bearer refused
	my $victim = $carol->post_json($T, { name => 'to revoke' })->{json};
	is with_auth(GET => '/api/auth/user', "Bearer $victim->{token}")->{status}, 200, 'fresh token works';
	$r = $bob->delete("$T/$victim->{id}");
	problem_ok($r, 404, 'not_found', "revoking another user's token -> 404");
	is with_auth(GET => '/api/auth/user', "Bearer $victim->{token}")->{status}, 200, '... which still works';
	$r = with_auth(DELETE => "$T/$victim->{id}", "Bearer $secret");
	problem_ok($r, 404, 'not_found', "... also when asked with a token of another user");
	$r = $carol->delete("$T/$victim->{id}");
	is $r->{status}, 204, 'owner revokes -> 204';
	is $r->{content}, '', '... no body';
	$r = with_auth(GET => '/api/auth/user', "Bearer $victim->{token}");
	problem_ok($r, 401, 'unauthenticated', 'revoked token -> 401');
	$x = $carol->get($T);
	ok !(grep { $_->{id} eq $victim->{id} } @{ $x->{json}{items} }), 'revoked token is not listed';
	$r = $carol->delete("$T/$victim->{id}");
	problem_ok($r, 404, 'not_found', 'revoking it again -> 404');
	$r = $carol->delete("$T/00000000-0000-4000-8000-000000000000");
	problem_ok($r, 404, 'not_found', 'unknown id -> 404');
	$r = $carol->delete("$T/not-a-uuid");
	problem_ok($r, 404, 'not_found', 'malformed id -> 404');
	$r = $carol->delete("$T/" . uc $made[0]);
	is $r->{status}, 204, 'an upper-case UUID names the same token';
	$r = $s->request(DELETE => "$T/$made[1]");
	problem_ok($r, 401, 'unauthenticated', 'revoking without credentials -> 401');

	# a token can revoke itself, and then it is dead
	my $self = $carol->post_json($T, { name => 'self' })->{json};
	$r = with_auth(DELETE => "$T/$self->{id}", "Bearer $self->{token}");
	is $r->{status}, 204, 'a token revokes itself -> 204';
	problem_ok(with_auth(GET => '/api/auth/user', "Bearer $self->{token}"), 401, 'unauthenticated', '... and is dead');
}

# ------------------------------------------------------------ expiry and deactivation

{
	my $dave = $s->register_user;
	my $t1 = $dave->post_json($T, { name => 'soon expired', expires_in_days => 1 })->{json};
	my $t2 = $dave->post_json($T, { name => 'forever' })->{json};
	is with_auth(GET => '/api/auth/user', "Bearer $t1->{token}")->{status}, 200, 'token works before expiry';
	$s->psql("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = '$t1->{id}'");
	problem_ok(with_auth(GET => '/api/auth/user', "Bearer $t1->{token}"), 401, 'unauthenticated', 'expired token -> 401');
	my $x = $dave->get($T);
	is_deeply [ map { $_->{id} } @{ $x->{json}{items} } ], [ $t2->{id} ], 'expired tokens are not listed';

	$s->psql("UPDATE users SET is_active = false WHERE id = '$dave->{user}{id}'");
	problem_ok(with_auth(GET => '/api/auth/user', "Bearer $t2->{token}"), 401, 'unauthenticated', 'token of a deactivated user -> 401');
	problem_ok(with_auth(POST => $T, "Bearer $t2->{token}", undef, { json => { name => 'x' } }), 401, 'unauthenticated',
		'... cannot create tokens either');
	$s->psql("UPDATE users SET is_active = true WHERE id = '$dave->{user}{id}'");
	is with_auth(GET => '/api/auth/user', "Bearer $t2->{token}")->{status}, 200, 'reactivated: the token works again';
}

done_testing;
