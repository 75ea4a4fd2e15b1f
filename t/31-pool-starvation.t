#!/usr/bin/perl
# 31-pool-starvation: a handful of prefork workers must not be pinned by
# clients that hold connections to nginx. Proves, through the real stack:
# with 200 connected-but-silent clients, 100 clients stuck halfway through
# their request headers, 50 keep-alive clients idle after one request and
# 20 clients that sent only part of a body, a fresh client still gets its
# answers (health, a session route, an argon2 login); and more slow-loris
# bodies than there are workers, trickled a byte at a time, do not hold up
# other requests (nginx buffers bodies before a worker sees them); the
# trickled requests are answered properly once complete. A correctness test:
# timeouts are generous (10 s), nothing asserts a duration.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

use Coffer::Test;

my $s = Coffer::Test->stack;
my @workers = $s->wait_workers;
my $nworkers = scalar @workers;
$SIG{PIPE} = 'IGNORE';

my $user = $s->register_user;
my $cookie = $user->session;

sub connect_nginx {
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Timeout => 10)
		or die "connect to nginx: $!";
	return $sock;
}

# Read one Content-Length framed response; returns [status, body] or undef.
sub read_response {
	my ($sock, $timeout) = @_;
	my $buf = '';
	my $end = time + ($timeout // 10);
	my $sel = IO::Select->new($sock);
	while (time < $end) {
		if ((my $i = index $buf, "\r\n\r\n") >= 0) {
			my ($len) = substr($buf, 0, $i) =~ /^Content-Length:\s*(\d+)/mi;
			my ($status) = $buf =~ m{^HTTP/1\.[01] (\d{3})};
			return [ $status, substr($buf, $i + 4, $len) ] if defined $len && length($buf) >= $i + 4 + $len;
		}
		next unless $sel->can_read(0.2);
		my $n = sysread $sock, my $chunk, 65536;
		return undef unless $n;
		$buf .= $chunk;
	}
	return undef;
}

# A connection is still open when it is not readable (no EOF, no data).
sub still_open { my ($sock) = @_; !IO::Select->new($sock)->can_read(0) }

sub fresh_requests_ok {
	my ($what) = @_;
	subtest "a fresh client is served despite $what" => sub {
		my $c = $s->client;
		my $r = $s->request(GET => '/healthz', { timeout => 10 });
		is $r->{status}, 200, 'GET /healthz 200' or diag $r->describe;
		$r = $s->request(GET => '/api/auth/user', { headers => { Cookie => "coffer_session=$cookie" }, timeout => 10 });
		is $r->{status}, 200, 'GET /api/auth/user with a session 200' or diag $r->describe;
		$r = $c->post_json('/api/auth/login', { login => $user->{username}, password => $user->{password} }, { timeout => 10 });
		is $r->{status}, 200, 'POST /api/auth/login (argon2) 200' or diag $r->describe;
		$r = $s->request(GET => '/readyz', { timeout => 10 });
		is $r->{status}, 200, 'GET /readyz 200' or diag $r->describe;
	};
}

# ------------------------------------------------------------ idle clients

my @silent = map { connect_nginx() } 1 .. 200;
is scalar @silent, 200, '200 clients connected and silent';

my @half_headers = map {
	my $c = connect_nginx();
	print {$c} "GET /api/auth/user HTTP/1.1\r\nHost: t\r\nCookie: coffer_session=$cookie\r\n";
	$c;
} 1 .. 100;
is scalar @half_headers, 100, '100 clients stopped halfway through their headers';

my @keepalive;
for (1 .. 50) {
	my $c = connect_nginx();
	print {$c} "GET /api/auth/user HTTP/1.1\r\nHost: t\r\nCookie: coffer_session=$cookie\r\n\r\n";
	my $r = read_response($c);
	push @keepalive, $c if $r && $r->[0] == 200;
}
is scalar @keepalive, 50, '50 keep-alive clients made one request each (200) and stay connected';

my @half_body = map {
	my $c = connect_nginx();
	print {$c} "POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		. "Content-Length: 1000\r\n\r\n{\"login\":";
	$c;
} 1 .. 20;
is scalar @half_body, 20, '20 clients sent 10 bytes of a 1000-byte body';

fresh_requests_ok("370 idle connections and $nworkers workers");
my $open = grep { still_open($_) } @silent, @half_headers, @keepalive, @half_body;
is $open, 370, 'the idle connections were all still open while the fresh client was served';
is_deeply [ $s->worker_pids ], \@workers, 'the same workers served everything';

# the idle keep-alive clients can still use their connections
{
	my $c = $keepalive[0];
	print {$c} "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	my $r = read_response($c);
	is $r && $r->[0], 200, 'an idle keep-alive client can make a second request';
}
close $_ for @silent, @half_headers, @keepalive, @half_body;

# ------------------------------------------------------------ slow loris bodies

{
	my $n = $nworkers + 2;
	my $body = '{"login":"slowloris","note":"' . ('z' x 40) . '"}';    # no password: 400
	my @slow = map {
		my $c = connect_nginx();
		print {$c} "POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			. 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n";
		$c;
	} 1 .. $n;

	# The trickler sends one byte per socket every 50 ms; it reports after the
	# first few bytes, and sends the rest when told (SIGUSR1), so the fresh
	# requests below provably ran while every body was incomplete.
	pipe my $rd, my $wr or die "pipe: $!";
	my $kid = fork // die "fork: $!";
	if ($kid == 0) {
		close $rd;
		my $go = 0;
		local $SIG{USR1} = sub { $go = 1 };
		my $sent = 0;
		my $end = time + 60;
		while ($sent < length($body) - 1 && !$go && time < $end) {
			for my $c (@slow) { syswrite $c, substr($body, $sent, 1) }
			$sent++;
			if ($sent == 3) { syswrite $wr, "trickling\n" }
			sleep 0.05;
		}
		my $early = $go ? 0 : 1;
		for my $c (@slow) { syswrite $c, substr($body, $sent) }
		my @st = map { my $r = read_response($_, 15); $r ? "$r->[0]:" . ($r->[1] =~ /"field":"password"/ ? 'password' : 'other') : 'none' } @slow;
		syswrite $wr, "early=$early sent=$sent @st\n";
		POSIX::_exit(0);
	}
	close $wr;
	my $line = <$rd> // '';
	is $line, "trickling\n", "$n clients (more than the $nworkers workers) are trickling request bodies";
	fresh_requests_ok("$n slow-loris bodies in progress");
	kill 'USR1', $kid;
	my $report = <$rd> // '';
	waitpid $kid, 0;
	like $report, qr/^early=0 /, 'the bodies were still incomplete when the fresh requests had all been answered';
	my ($statuses) = $report =~ /sent=\d+ (.*)$/;
	is $statuses, join(' ', ('400:password') x $n), 'each trickled request, once complete, got its real answer (400: password missing)';
	close $_ for @slow;
}

is_deeply [ $s->worker_pids ], \@workers, 'no worker was replaced during the whole file';
is $s->request(GET => '/healthz')->{status}, 200, 'the stack is healthy at the end';

done_testing;
