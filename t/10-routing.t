#!/usr/bin/perl
# 10-routing: the request pipeline seen from HTTP, through nginx and a real
# worker pool. Proves: unknown paths answer 404 problem JSON (nginx's and the
# worker's alike), a known path with the wrong method 405 + Allow, HEAD works
# on GET routes without a body, /healthz and /readyz answer, every response
# carries X-Request-Id, Cache-Control: no-store and nginx's security headers
# exactly once, and hostile request bodies and query strings (malformed JSON,
# non-objects, trailing garbage, invalid UTF-8, "\u0000", wrong media type,
# no body, > max_json_body, deep nesting, bad escapes, bad limit/cursor)
# are refused with the right 4xx, never a 500 and never a dead worker; and
# requests nginx itself refuses while parsing them (duplicate Host, %00 in
# the path, ...) get problem JSON as well, not nginx's HTML.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time);

use Coffer::Test;

my $s = Coffer::Test->stack;
my $log_mark = $s->log_mark;
my $workers_before = join ',', $s->wait_workers;

my @problem_keys = qw(code detail status title type);

# A problem+json answer with exactly these fields, status and code.
sub problem_ok {
	my ($r, $status, $code, $name) = @_;
	subtest $name => sub {
		like $r->header('x-request-id') // '', qr/^[0-9a-f]{32}$/, 'X-Request-Id';
		is $r->header('cache-control'), 'no-store', 'Cache-Control: no-store';
		is $r->{status}, $status, "status $status" or do { diag 'got: ' . $r->describe; return };
		like $r->header('content-type') // '', qr{^application/problem\+json\b}, 'problem content type';
		my $j = $r->{json};
		is ref $j, 'HASH', 'body is a JSON object' or return;
		is $j->{code}, $code, "code $code";
		is $j->{status}, $status, 'status field matches';
		ok !ref $j->{status} && $j->{status} =~ /^\d+$/, 'status field is a number';
		is $j->{type}, "https://coffer.dev/problems/$code", 'type URI';
		ok defined $j->{title} && length $j->{title}, 'title';
		ok defined $j->{detail} && length $j->{detail}, 'detail';
		my @extra = grep { my $k = $_; !grep { $_ eq $k } @problem_keys, 'errors' } sort keys %$j;
		is "@extra", '', 'no unexpected fields';
	};
}

# Headers every response carries, exactly once.
sub common_headers_ok {
	my ($r, $name) = @_;
	subtest "common headers: $name" => sub {
		for my $h (qw(x-request-id cache-control x-content-type-options x-frame-options
			referrer-policy content-security-policy)) {
			my @v = $r->header($h);
			is scalar @v, 1, "$h exactly once" or diag "$h: @v";
		}
		like $r->header('x-request-id') // '', qr/^[0-9a-f]{32}$/, 'X-Request-Id is nginx\'s $request_id';
		is $r->header('cache-control'), 'no-store', 'Cache-Control: no-store';
		is $r->header('x-content-type-options'), 'nosniff', 'nosniff';
		is $r->header('x-frame-options'), 'DENY', 'X-Frame-Options DENY';
		is $r->header('referrer-policy'), 'no-referrer', 'Referrer-Policy';
		like $r->header('content-security-policy') // '', qr/default-src 'none'/, 'CSP';
		ok !defined $r->header('strict-transport-security'), 'no HSTS over plain HTTP';
		ok !defined $r->header('x-powered-by'), 'no X-Powered-By';
	};
}

# ------------------------------------------------------------ health

my $r = $s->request(GET => '/healthz');
is $r->{status}, 200, 'GET /healthz 200';
like $r->header('content-type'), qr{^application/json; charset=utf-8$}i, '/healthz is JSON';
is_deeply $r->{json}, { status => 'ok' }, '/healthz body';
common_headers_ok($r, '/healthz');

my ($schema) = sort { $b <=> $a } map { m{/(\d+)_[^/]*\.sql$} ? $1 + 0 : () } glob "$Coffer::Test::REPO/migrations/*.sql";
$r = $s->request(GET => '/readyz');
is $r->{status}, 200, 'GET /readyz 200' or diag $r->describe;
is_deeply $r->{json}, { status => 'ready', schema_version => $schema }, "/readyz reports schema_version $schema";
ok !ref $r->{json}{schema_version}, 'schema_version is a JSON number';
common_headers_ok($r, '/readyz');

# ------------------------------------------------------------ request ids

{
	my %seen;
	my $mark = $s->log_mark;
	for (1 .. 5) {
		my $x = $s->request(GET => '/healthz');
		$seen{ $x->header('x-request-id') // '' }++;
	}
	is scalar(keys %seen), 5, 'five requests, five distinct request ids';
	my $log = $s->log_since($mark);
	my @logged = grep { $log =~ /rid=\Q$_\E\b/ } keys %seen;
	is scalar @logged, 5, 'the worker log names every request id it echoed';

	# a client cannot choose the id (nor smuggle header lines through it)
	my $x = $s->request(GET => '/healthz', { headers => { 'X-Request-Id' => 'client-chosen' } });
	like $x->header('x-request-id'), qr/^[0-9a-f]{32}$/, 'a client X-Request-Id is not echoed';
}

# ------------------------------------------------------------ 404

for my $path ('/', '/nope', '/index.html', '/api', '/api/', '/api/nope', '/api/auth', '/api/auth/',
	'/api/auth/user/', '/api/auth/userx', '/healthz/', '/healthzx', '/api/auth/tokens/',
	'/api/auth/tokens/not-a-uuid', '/api/auth/tokens/00000000-0000-0000-0000-00000000000g',
	'/API/AUTH/USER', '/api/auth/tokens/00000000-0000-0000-0000-000000000000/x') {
	my $x = $s->request(GET => $path);
	problem_ok($x, 404, 'not_found', "GET $path -> 404 problem");
	common_headers_ok($x, "404 $path");
}
$r = $s->request(DELETE => '/api/auth/tokens/not-a-uuid');
problem_ok($r, 404, 'not_found', 'DELETE /api/auth/tokens/not-a-uuid -> 404 (the :id must be a UUID)');
$r = $s->request(POST => '/api/nope', { json => {} });
problem_ok($r, 404, 'not_found', 'POST to an unknown /api path -> 404');

# ------------------------------------------------------------ 405

for my $case (
	[ POST => '/healthz', 'GET, HEAD, OPTIONS' ],
	[ DELETE => '/readyz', 'GET, HEAD, OPTIONS' ],
	[ GET => '/api/auth/login', 'POST, OPTIONS' ],
	[ PUT => '/api/auth/register', 'POST, OPTIONS' ],
	[ GET => '/api/auth/logout', 'POST, OPTIONS' ],
	[ POST => '/api/auth/user', 'GET, HEAD, OPTIONS' ],
	[ PATCH => '/api/auth/tokens', 'GET, HEAD, POST, OPTIONS' ],
	[ DELETE => '/api/auth/tokens', 'GET, HEAD, POST, OPTIONS' ],
	[ GET => '/api/auth/tokens/0b3c1a52-7c6e-4a7e-9a55-1d3cf0e1a001', 'DELETE, OPTIONS' ],
) {
	my ($m, $p, $allow) = @$case;
	my $x = $s->request($m => $p, $m =~ /^(POST|PUT|PATCH)$/ ? { json => {} } : {});
	problem_ok($x, 405, 'method_not_allowed', "$m $p -> 405");
	my @allow = $x->header('allow');
	is scalar @allow, 1, "$m $p: one Allow header";
	is $allow[0], $allow, "$m $p: Allow: $allow";
	common_headers_ok($x, "405 $m $p") if $p eq '/healthz';
}

# OPTIONS without an Origin is not a preflight: 204 with Allow.
$r = $s->request(OPTIONS => '/api/auth/tokens');
is $r->{status}, 204, 'OPTIONS without Origin -> 204';
is $r->header('allow'), 'GET, HEAD, POST, OPTIONS', 'OPTIONS lists the allowed methods';
is $r->{content}, '', 'OPTIONS has no body';

# ------------------------------------------------------------ HEAD

for my $path ('/healthz', '/readyz') {
	my $get = $s->request(GET => $path);
	my $head = $s->request(HEAD => $path);
	is $head->{status}, 200, "HEAD $path 200";
	is $head->{content}, '', "HEAD $path has no body";
	is $head->header('content-type'), $get->header('content-type'), "HEAD $path: same Content-Type as GET";
	common_headers_ok($head, "HEAD $path");
}
$r = $s->request(HEAD => '/api/auth/user');
is $r->{status}, 401, 'HEAD /api/auth/user without a session -> 401';
is $r->{content}, '', '... and no body';
$r = $s->request(HEAD => '/api/auth/login');
is $r->{status}, 405, 'HEAD on a POST-only route -> 405';
is $r->header('allow'), 'POST, OPTIONS', '... with Allow';

my $c = $s->register_user;
$r = $c->head('/api/auth/user');
is $r->{status}, 200, 'HEAD /api/auth/user with a session 200';
is $r->{content}, '', '... without a body';
$r = $c->head('/api/auth/tokens?limit=5');
is $r->{status}, 200, 'HEAD /api/auth/tokens 200';

# ------------------------------------------------------------ JSON bodies

# Bodies go to /api/auth/register, which parses the body before anything
# else (no argon2 is spent on these).
my $REG = '/api/auth/register';

sub post_raw {
	my ($body, %h) = @_;
	my %headers = ('Content-Type' => 'application/json', %h);
	delete $headers{'Content-Type'} if exists $h{'Content-Type'} && !defined $h{'Content-Type'};
	return $s->request(POST => $REG, { body => $body, headers => \%headers });
}

my %bad_json = (
	'truncated object' => '{"username":',
	'unquoted key' => '{username: "x"}',
	'single quotes' => "{'username': 'x'}",
	'trailing comma' => '{"username":"x",}',
	'bare word' => 'hello',
	'comment' => '{"a": 1 /* c */}',
	'array' => '[1,2,3]',
	'empty array' => '[]',
	'string' => '"username"',
	'number' => '42',
	'null' => 'null',
	'true' => 'true',
	'trailing garbage' => '{} x',
	'two objects' => '{}{}',
	'object then comma' => '{},',
	'object then NUL' => "{}\0",
	'invalid UTF-8 (\xff)' => qq({"username":"a\xffb","email":"a\@b.c","password":"0123456789"}),
	'overlong UTF-8 (C0 AF)' => qq({"username":"a\xc0\xafb"}),
	'UTF-16 surrogate in UTF-8 (ED A0 80)' => qq({"username":"a\xed\xa0\x80b"}),
	'truncated UTF-8 sequence' => qq({"username":"ab\xe2\x82"}),
	'UTF-8 above U+10FFFF' => qq({"username":"a\xf4\x90\x80\x80"}),
	'invalid UTF-8 outside strings' => qq({"username":"abc"}\xff),
	'bad escape' => '{"username":"a\qb"}',
);
for my $name (sort keys %bad_json) {
	my $x = post_raw($bad_json{$name});
	problem_ok($x, 400, 'invalid_request', "malformed body ($name) -> 400");
	ok !exists $x->{json}{errors}, "$name: refused as a whole body, not field by field" if $x->{json};
}

# Strict JSON (RFC 8259): what json-c's lenient mode would let through must
# be refused too. Sent to POST /api/auth/tokens with an otherwise valid body,
# so a lenient parser shows up as a 201 (a token created from a non-JSON body).
for my $case (
	[ 'NaN' => '{"name":"strict","x":NaN}' ],
	[ 'Infinity' => '{"name":"strict","x":Infinity}' ],
	[ '-Infinity' => '{"name":"strict","x":-Infinity}' ],
	[ 'number with a trailing dot' => '{"name":"strict","x":1.}' ],
	[ 'unescaped control character in a string' => qq({"name":"strict","x":"a\x01b"}) ],
	[ 'unescaped newline in a string' => qq({"name":"strict","x":"a\nb"}) ],
	[ 'leading zero' => '{"name":"strict","x":01}' ],
	[ 'single quotes' => q({"name":'strict'}) ],
	[ 'hex number' => '{"name":"strict","x":0x10}' ],
) {
	my $x = $c->request(POST => '/api/auth/tokens',
		{ body => $case->[1], headers => { 'Content-Type' => 'application/json' } });
	problem_ok($x, 400, 'invalid_request', "not JSON ($case->[0]) -> 400");
}

# Trailing whitespace is fine: the body parses and field validation runs.
$r = post_raw("{}  \r\n\t\n");
problem_ok($r, 400, 'invalid_request', 'an empty object with trailing whitespace reaches validation');
is_deeply [ sort map { $_->{field} } @{ $r->{json}{errors} || [] } ], [qw(email password username)],
	'... which names the three missing fields';

# "\u0000" decodes to a NUL inside a string: refused as an invalid field.
$r = post_raw('{"username":"ab\u0000cd","email":"x@example.com","password":"0123456789abc"}');
problem_ok($r, 400, 'invalid_request', '"\u0000" inside a string -> 400');
is_deeply [ map { $_->{field} } @{ $r->{json}{errors} || [] } ], ['username'], '... naming the field';

# Media type.
for my $ct ('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
	'application/jsonx', 'application/json-patch+json', 'json', '') {
	my $x = post_raw('{}', 'Content-Type' => $ct);
	problem_ok($x, 415, 'unsupported_media_type', "Content-Type '$ct' -> 415");
}
$r = post_raw('{}', 'Content-Type' => undef);
problem_ok($r, 415, 'unsupported_media_type', 'no Content-Type -> 415');
for my $ct ('application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8') {
	my $x = post_raw('{}', 'Content-Type' => $ct);
	is $x->{status}, 400, "Content-Type '$ct' is JSON (validation runs)";
	ok $x->{json} && $x->{json}{errors}, '... with field errors';
}

# Missing body.
$r = post_raw('');
problem_ok($r, 400, 'invalid_request', 'empty body -> 400');
$r = $s->request(POST => $REG, { headers => { 'Content-Type' => 'application/json' } });
problem_ok($r, 400, 'invalid_request', 'POST without a body -> 400');

# Size: exactly max_json_body (1 MiB) is read; one byte more is 413.
my $MiB = 1 << 20;
{
	my $head = '{"username":"x","pad":"';
	my $tail = '"}';
	my $body = $head . ('a' x ($MiB - length($head) - length($tail))) . $tail;
	is length $body, $MiB, 'a body of exactly 1 MiB';
	my $x = post_raw($body);
	is $x->{status}, 400, '1 MiB body is parsed (400 for its fields, not 413)' or diag $x->describe;
	ok $x->{json} && $x->{json}{errors}, '... field errors prove it was parsed';

	$x = post_raw($body . ' ');
	problem_ok($x, 413, 'body_too_large', '1 MiB + 1 byte -> 413 body_too_large');
	$x = post_raw('{"pad":"' . ('a' x (3 * $MiB)) . '"}');
	problem_ok($x, 413, 'body_too_large', '3 MiB body -> 413 body_too_large');
}

# Deep nesting: refused, never a crash or a 500.
for my $case ([ arrays => '[' x 1000 . ']' x 1000 ],
	[ 'arrays in an object' => '{"a":' . '[' x 1000 . ']' x 1000 . '}' ],
	[ objects => '{"a":' x 1000 . '1' . '}' x 1000 ],
	[ 'unclosed arrays' => '[' x 100000 ]) {
	my $x = post_raw($case->[1]);
	problem_ok($x, 400, 'invalid_request', "1000-deep $case->[0] -> 400");
}

# A chunked request body (no Content-Length from the client): nginx buffers
# it and passes its length on, so the worker must see the same body.
{
	my $body = '{"username":"x"}';
	my $raw = raw_http("POST $REG HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		. "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		. sprintf('%x', length $body) . "\r\n$body\r\n0\r\n\r\n");
	like $raw, qr{^HTTP/1\.1 400 }, 'chunked JSON body -> 400 for its fields';
	like $raw, qr/"errors":\[/, '... i.e. the body reached validation';
	unlike $raw, qr/A JSON object body is required/, '... and was not seen as missing';
}

# ------------------------------------------------------------ requests nginx refuses

# Requests nginx itself rejects while parsing must still get problem JSON
# (and never a 500): error_page has to work before any URI is known.
for my $case (
	[ 'duplicate Host' => "GET /healthz HTTP/1.1\r\nHost: t\r\nHost: u\r\n", 400, 'invalid_request' ],
	[ 'HTTP/1.1 without Host' => "GET /healthz HTTP/1.1\r\n", 400, 'invalid_request' ],
	[ 'two Content-Lengths' => "POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n", 400, 'invalid_request' ],
	[ '%00 in the path' => "GET /api/auth/%00user HTTP/1.1\r\nHost: t\r\n", 400, 'invalid_request' ],
	[ '%00 at the end of /healthz' => "GET /healthz%00 HTTP/1.1\r\nHost: t\r\n", 400, 'invalid_request' ],
	[ 'path escaping the root' => "GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\n", 400, 'invalid_request' ],
) {
	my ($what, $head, $status, $code) = @$case;
	my $raw = raw_http("${head}Connection: close\r\n\r\n");
	my ($got) = $raw =~ m{^HTTP/1\.[01] (\d{3})};
	my ($h, $b) = split /\r\n\r\n/, $raw, 2;
	subtest "$what -> $status problem JSON" => sub {
		is $got, $status, "status $status" or do { diag $raw; return };
		like $h, qr{^Content-Type: application/problem\+json}mi, 'problem JSON';
		like $b // '', qr/"code":"$code"/, "code $code";
		like $h, qr/^X-Request-Id: [0-9a-f]{32}\r?$/mi, 'X-Request-Id';
	};
}
{
	my $raw = raw_http("BREW /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	like $raw, qr{^HTTP/1\.1 405 }, 'an unknown method on a known path -> 405';
	like $raw, qr{^Allow: GET, HEAD, OPTIONS\r$}m, '... with Allow';
}

# ------------------------------------------------------------ query strings

for my $q ('limit=%zz', 'limit=%', 'limit=%4', 'cursor=%g0', 'foo=%zz', '%zz=1', 'limit=10&x=%',
	'a=' . ('b&a=' x 100), 'limit=' . ('1' x 9000)) {
	my $x = $c->get("/api/auth/tokens?$q");
	my $show = length $q > 40 ? substr($q, 0, 40) . '...' : $q;
	problem_ok($x, 400, 'invalid_request', "malformed query '$show' -> 400");
}
for my $l ('0', '1001', 'abc', '-1', '1.5', '', '%205', '5%20', '+5', '%2B5', '0x10', '99999999999999999999999',
	'%00', '1e3') {
	my $x = $c->get("/api/auth/tokens?limit=$l");
	problem_ok($x, 400, 'invalid_request', "limit='$l' -> 400");
}
for my $l (1, 1000, '0001', '%35') {
	my $x = $c->get("/api/auth/tokens?limit=$l");
	is $x->{status}, 200, "limit=$l -> 200" or diag $x->describe;
	is ref $x->{json}{items}, 'ARRAY', "limit=$l: a list";
	cmp_ok scalar @{ $x->{json}{items} || [] }, '<=', $l =~ /^%/ ? 5 : $l, "limit=$l: at most that many items";
}
my $b64 = sub { (my $e = encode_base64($_[0], '')) =~ tr{+/=}{-_}d; $e };
my $uuid = '0b3c1a52-7c6e-4a7e-9a55-1d3cf0e1a001';
for my $case (
	[ 'not base64' => '!!!!' ],
	[ empty => '' ],
	[ 'random base64' => $b64->('hello world') ],
	[ 'wrong version' => $b64->("v2|2026-01-01T00:00:00.000000Z|$uuid") ],
	[ 'one part' => $b64->('v1|2026-01-01T00:00:00.000000Z') ],
	[ 'three parts' => $b64->("v1|2026-01-01T00:00:00.000000Z|$uuid|x") ],
	[ 'bad uuid' => $b64->('v1|2026-01-01T00:00:00.000000Z|not-a-uuid') ],
	[ 'bad time' => $b64->("v1|not-a-time|$uuid") ],
	[ 'absurd time' => $b64->("v1|99999-99-99T99:99:99Z|$uuid") ],
	[ 'NUL inside' => $b64->("v1|2026\0|$uuid") ],
	[ 'too long' => 'A' x 2000 ],
) {
	my $x = $c->get("/api/auth/tokens?cursor=$case->[1]");
	problem_ok($x, 400, 'invalid_request', "cursor ($case->[0]) -> 400");
}
$r = $c->get('/api/auth/tokens?cursor=' . $b64->("v1|2026-01-01T00:00:00.000000Z|$uuid"));
is $r->{status}, 200, 'a well-formed cursor -> 200' or diag $r->describe;

# ------------------------------------------------------------ the pool survived

is join(',', $s->worker_pids), $workers_before, 'no worker died or was replaced during these requests';
my $log = $s->log_since($log_mark);
unlike $log, qr/ 500 [\d.]+ms/, 'the worker log shows no 500 answer';
unlike $log, qr/handler sent no response|unexpected database error/, 'no internal errors logged';

done_testing;

# One raw HTTP exchange (the request must close the connection).
sub raw_http {
	my ($req) = @_;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Timeout => 10)
		or die "connect: $!";
	print {$sock} $req;
	my $out = '';
	my $end = time + 20;
	while (time < $end) {
		my $n = sysread $sock, my $buf, 65536;
		last unless $n;
		$out .= $buf;
	}
	close $sock;
	return $out;
}
