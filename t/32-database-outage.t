#!/usr/bin/perl
# 32-database-outage: PostgreSQL going away and coming back under a running
# stack. Proves: with the database stopped, routes that need it answer 503
# problem `unavailable` with Retry-After (never 500, never a hang), /readyz
# says 503, /healthz still 200, and the workers stay alive (same pids);
# when PostgreSQL is back the same workers reconnect by themselves within
# seconds and the same session works again, statements included (they are
# prepared afresh on the new connection); and a quick restart between two
# requests costs no failed request at all (the worker notices its dead
# connection before using it).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);

use Coffer::Test;

my $s = Coffer::Test->stack;
my @workers = $s->wait_workers;
my $n = scalar @workers;
my $log_mark = $s->log_mark;

my $alice = $s->register_user;
my $tok = $alice->post_json('/api/auth/tokens', { name => 'outage' })->{json};
my $bearer = { headers => { Authorization => "Bearer $tok->{token}" } };

# Every worker has a live database connection before the outage: enough
# requests that each worker served some.
is $alice->get('/api/auth/user')->{status}, 200, 'session works before the outage' for 1 .. 2 * $n;

sub unavailable_ok {
	my ($r, $name) = @_;
	subtest $name => sub {
		ok $r->is_problem(503, 'unavailable'), '503 problem unavailable' or diag $r->describe;
		like $r->header('retry-after') // '', qr/^[1-9]\d*$/, 'Retry-After in seconds';
		like $r->header('x-request-id') // '', qr/^[0-9a-f]{32}$/, 'X-Request-Id';
	};
}

# ------------------------------------------------------------ down

$s->pg_stop;
my $t0 = time;
for my $i (1 .. 2 * $n) {
	unavailable_ok($alice->get('/api/auth/user', { timeout => 20 }), "GET /api/auth/user with the database down ($i)");
}
unavailable_ok($s->request(GET => '/api/auth/user', $bearer), 'a Bearer token -> 503, not 401');
unavailable_ok($s->request(GET => '/api/auth/user'), 'no credentials at all -> 503 (cannot tell yet)');
unavailable_ok($alice->get('/api/auth/tokens'), 'GET /api/auth/tokens -> 503');
unavailable_ok($alice->post_json('/api/auth/tokens', { name => 'x' }), 'POST /api/auth/tokens -> 503');
unavailable_ok($s->client->post_json('/api/auth/login', { login => $alice->{username}, password => $alice->{password} }),
	'POST /api/auth/login -> 503');
my $nu = $s->unique_name('down');
unavailable_ok($s->client->post_json('/api/auth/register', { username => $nu, email => "$nu\@example.com", password => 'long enough password' }),
	'POST /api/auth/register -> 503');
my $lo = $alice->logout;
unavailable_ok($lo, 'POST /api/auth/logout -> 503');
ok !grep({ /coffer_session=;/ } $lo->header('set-cookie')), '... and the cookie is not cleared';
is $alice->session && length $alice->session, 43, 'the client keeps its session cookie';

my $r = $s->request(GET => '/readyz');
unavailable_ok($r, 'GET /readyz -> 503');
$r = $s->request(GET => '/healthz');
is $r->{status}, 200, 'GET /healthz -> 200 (no database needed)';
is_deeply $r->{json}, { status => 'ok' }, '... {"status":"ok"}';
$r = $s->request(GET => '/api/nope');
ok $r->is_problem(404, 'not_found'), 'unknown paths are still 404' or diag $r->describe;
cmp_ok time - $t0, '<', 60, 'the outage requests all came back (none hung)';

is_deeply [ $s->worker_pids ], \@workers, 'the same workers are alive during the outage';

# ------------------------------------------------------------ back

$s->pg_start;
my ($back, $last);
my $end = time + 15;
until ($back || time > $end) {
	$last = $alice->get('/api/auth/user', { timeout => 10 });
	$back = $last->{status} == 200;
	sleep 0.1 unless $back;
}
ok $back, 'within 15 s of PostgreSQL starting again, the same session works' or diag $last->describe;
# a few more so that every worker has reconnected
my $ok = 0;
$end = time + 15;
while ($ok < 4 * $n && time < $end) {
	my $x = $alice->get('/api/auth/user');
	$ok = $x->{status} == 200 ? $ok + 1 : 0;
	sleep 0.1 unless $x->{status} == 200;
}
is $ok, 4 * $n, "then $ok consecutive requests succeed (every worker reconnected)";
is $alice->get('/api/auth/user')->{json}{id}, $alice->{user}{id}, '... as the same user';
is $s->request(GET => '/api/auth/user', $bearer)->{status}, 200, 'the Bearer token works again';
is $s->request(GET => '/readyz')->{status}, 200, '/readyz -> 200 again';
$r = $alice->get('/api/auth/tokens');
is $r->{status}, 200, 'GET /api/auth/tokens -> 200 (statement prepared on the new connection)';
is_deeply [ map { $_->{id} } @{ $r->{json}{items} || [] } ], [ $tok->{id} ], '... nothing was created during the outage';
$r = $alice->post_json('/api/auth/tokens', { name => 'after' });
is $r->{status}, 201, 'POST /api/auth/tokens -> 201';
is $s->psql("SELECT count(*) FROM users WHERE username = '$nu'"), 0, 'the registration refused during the outage left no user';
is_deeply [ $s->worker_pids ], \@workers, 'the same workers, never restarted';

# ------------------------------------------------------------ quick restart

# Each worker holds an idle connection the restart kills. The next request
# on it must reconnect rather than fail.
is $alice->get('/api/auth/user')->{status}, 200, 'warm up' for 1 .. 2 * $n;
$s->pg_restart;
my @st = map { $alice->get('/api/auth/user', { timeout => 20 })->{status} } 1 .. 3 * $n;
is "@st", join(' ', (200) x (3 * $n)), 'right after a PostgreSQL restart every request succeeds (no 503 from a stale connection)';
is $s->request(GET => '/readyz')->{status}, 200, '/readyz 200 after the restart';
is_deeply [ $s->worker_pids ], \@workers, 'still the same workers';

my $log = $s->log_since($log_mark);
unlike $log, qr/ 500 [\d.]+ms/, 'no request was answered 500 during all this';
like $log, qr/db: .*connect/, 'the outage was logged';
# one record per line: a libpq message's own line breaks must not split it
my @stray = grep { !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z / } split /\n/, $log;
is scalar @stray, 0, 'every line of the worker log during the outage is a whole timestamped record'
	or diag "stray lines:\n" . join "\n", map { "  [$_]" } @stray[0 .. ($#stray < 5 ? $#stray : 5)];

done_testing;
