# Smoke test of the test harness (t/lib/Coffer/Test.pm): the stack it starts
# answers through nginx, its handles (processes, psql, coffer-admin, logs)
# work, clients keep cookies and get their own source addresses, and
# PostgreSQL can be stopped and started under a running stack.
use strict;
use warnings;
use Test::More;
use Coffer::Test;

my $s = Coffer::Test->stack;
like $s->base_url, qr{^http://127\.0\.0\.1:\d+$}, 'base_url on loopback';

my $r = $s->request(GET => '/healthz');
is $r->{status}, 200, 'GET /healthz through nginx' or diag $r->describe;
is_deeply $r->{json}, { status => 'ok' }, 'healthz body';
ok $r->header('X-Request-Id'), 'X-Request-Id set';
is $r->header('X-Content-Type-Options'), 'nosniff', 'nginx security header, once';

$r = $s->request(GET => '/readyz');
is $r->{status}, 200, 'GET /readyz' or diag $r->describe;

$r = $s->request(GET => '/no/such/thing');
ok $r->is_problem(404, 'not_found'), 'non-API path: problem JSON 404 from nginx' or diag $r->describe;
$r = $s->request(GET => '/_blobs/anything');
ok $r->is_problem(404, 'not_found'), 'internal blob location not reachable' or diag $r->describe;

ok kill(0, $s->fcgi_master_pid), 'fcgi master runs';
my @w = $s->wait_workers(2);
is scalar(@w), 2, 'two workers by default';

is $s->psql('SELECT 1'), '1', 'psql as superuser';
my @rows = $s->psql_rows("SELECT 'a', 2 UNION ALL SELECT 'b', 3 ORDER BY 1");
is_deeply \@rows, [ [ 'a', 2 ], [ 'b', 3 ] ], 'psql_rows';

my $a = $s->admin('status');
is $a->{exit}, 0, 'coffer-admin status: ready' or diag "$a->{out}$a->{err}";

# clients: cookie jar and distinct source addresses
my $mark = $s->log_mark;
my $c = $s->register_user;
ok $c->session, 'register_user: client holds coffer_session';
$r = $c->get('/api/auth/user');
is $r->{status}, 200, 'cookie sent back' or diag $r->describe;
is $r->{json}{username}, $c->{username}, 'it is our user';
my $c2 = $s->client;
isnt $c2->local_address, $c->local_address, 'each client its own source address';
is $c2->get('/api/auth/user')->{status}, 401, 'a fresh client is anonymous';
ok length($s->log_since($mark)) > 0, 'worker log grows';

open my $fh, '<', $s->nginx_log_path or die $!;
my $seen = grep { index($_, $c->local_address . ' ') == 0 } <$fh>;
ok $seen, 'nginx saw the client address ' . $c->local_address;

# logout expires the cookie in the jar
$r = $c->logout;
is $r->{status}, 204, 'logout' or diag $r->describe;
ok !$c->session, 'cookie gone from the jar';

# PostgreSQL down and up again under the running workers
$s->pg_stop;
$r = $s->request(GET => '/readyz');
ok $r->is_problem(503, 'unavailable'), 'readyz 503 while PostgreSQL is down' or diag $r->describe;
$s->pg_start;
$r = $s->wait_for_status('/readyz', 200, 20);
is $r->{status}, 200, 'ready again after pg_start';
# A worker that failed to reach PostgreSQL may keep answering 503 (with
# Retry-After) for a short back-off before it reconnects; within 15 s every
# worker must be back.
my ($ok, $end) = (0, time + 15);
until ($ok || time > $end) {
	$ok = eval { $s->register_user; 1 };
	select undef, undef, undef, 0.25 unless $ok;
}
ok $ok, 'register works again after the restart' or diag $@;

done_testing;
