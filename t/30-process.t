#!/usr/bin/perl
# 30-process: the prefork process model of coffer-fcgi. Proves, on the
# harness stack: the master runs exactly `workers` workers, respawns one
# killed with SIGKILL (new pid) while requests keep succeeding, and many
# concurrent clients all get answers. On private masters this file starts
# itself (a copy of the harness config with its own socket), spoken to with
# a minimal FastCGI client written here: a worker is recycled after
# max_requests (new pid, no request lost); SIGHUP re-reads the config and
# replaces every worker while requests continue; SIGTERM lets a request in
# flight finish, then the master exits 0, removes its socket and pid file
# and leaves no worker behind; a TCP listen address works; `--single` serves
# on an inherited listening socket (fd 0) and is never recycled, spawn-fcgi
# style auto-detection works when `listen` is empty, and --single without a
# socket on fd 0 refuses to start.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(WNOHANG);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(time sleep);

use Coffer::Test;

my $s = Coffer::Test->stack;
my $bin = $s->build_dir . '/coffer-fcgi';
my $dir = tempdir('coffer-proc-XXXXXX', DIR => '/tmp', CLEANUP => 1);
my @started;    # private processes, killed at exit if a test died midway

END {
	for my $pid (@started) {
		next unless $pid && kill 0, $pid;
		kill 'KILL', $pid;
		waitpid $pid, 0;
	}
}

# ------------------------------------------------------------ helpers

# Poll $cond until true or $timeout seconds pass; returns its last value.
sub wait_until {
	my ($timeout, $cond) = @_;
	my $end = time + $timeout;
	my $v;
	until ($v = $cond->()) {
		last if time > $end;
		sleep 0.02;
	}
	return $v;
}

# Live (non-zombie) children of $ppid, sorted.
sub children {
	my ($ppid) = @_;
	my @kids;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open my $fh, '<', $stat or next;
		my $line = <$fh> // next;
		$line =~ /^(\d+) \((.*)\) (\S) (\d+) /s or next;
		# the background jobs process (compression) is not a worker
		push @kids, $1 if $4 == $ppid && $3 ne 'Z' && $2 ne 'coffer-jobs';
	}
	return sort { $a <=> $b } @kids;
}

sub alive {
	my ($pid) = @_;
	return 0 unless kill 0, $pid;
	open my $fh, '<', "/proc/$pid/stat" or return 0;
	my $st = <$fh> // '';
	return $st !~ /^\d+ \(.*\) Z /;
}

# Wait for our child $pid to exit; its exit status, or undef on timeout.
sub reap {
	my ($pid, $timeout) = @_;
	my $status;
	wait_until($timeout, sub {
		my $r = waitpid($pid, WNOHANG);
		$status = $? if $r == $pid;
		return $r == $pid || $r < 0;
	});
	@started = grep { $_ != $pid } @started if defined $status;
	return $status;
}

sub read_file { open my $fh, '<', $_[0] or return ''; local $/; scalar <$fh> // '' }

# The harness config with some keys replaced (or removed with undef).
sub write_config {
	my ($file, %set) = @_;
	my @out;
	for my $line (split /\n/, read_file($s->config_path)) {
		my ($k) = $line =~ /^\s*([A-Za-z_]+)\s*=/;
		next if $k && exists $set{$k};
		push @out, $line;
	}
	push @out, map { "$_ = $set{$_}" } grep { defined $set{$_} } sort keys %set;
	open my $fh, '>', $file or die "$file: $!";
	chmod 0600, $file;
	print $fh join("\n", @out), "\n";
	close $fh or die "$file: $!";
}

# Environment of the processes started here: no stray COFFER_* from the
# caller; sanitizer reports where the harness collects them.
sub child_env {
	delete $ENV{$_} for grep { /^COFFER_/ && !/^COFFER_(BUILD|TEST_)/ } keys %ENV;
	if (my $sd = $s->{sanitizer_dir}) {
		$ENV{ASAN_OPTIONS} //= "log_path=$sd/asan:detect_leaks=1";
		$ENV{UBSAN_OPTIONS} //= "log_path=$sd/ubsan:print_stacktrace=1";
		$ENV{LSAN_OPTIONS} //= "log_path=$sd/lsan";
	}
}

# Start `coffer-fcgi -c CONF @args` with output appended to $log; optional
# $stdin_fh becomes fd 0 (else /dev/null); %env is added to the environment.
sub spawn {
	my ($cmd, $log, $stdin_fh, %env) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		child_env();
		$ENV{$_} = $env{$_} for keys %env;
		if ($stdin_fh) {
			POSIX::dup2(fileno($stdin_fh), 0) // POSIX::_exit(126);
		} else {
			open STDIN, '<', '/dev/null' or POSIX::_exit(126);
		}
		open STDOUT, '>>', $log or POSIX::_exit(126);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
		exec @$cmd or POSIX::_exit(127);
	}
	push @started, $pid;
	return $pid;
}

my $nmaster = 0;

# A private prefork master on its own socket. Returns {pid, conf, addr, sock, pid_file, log}.
sub start_master {
	my (%set) = @_;
	my $n = ++$nmaster;
	my $m = { conf => "$dir/m$n.conf", log => "$dir/m$n.log", pid_file => "$dir/m$n.pid" };
	$m->{sock} = "$dir/m$n.sock";
	my $listen = delete $set{listen} // "unix:$m->{sock}";
	$m->{addr} = $listen =~ /^unix:(.*)$/ ? $1 : $listen;
	write_config($m->{conf}, listen => $listen, pid_file => $m->{pid_file}, socket_mode => '0600', %set);
	$m->{pid} = spawn([ $bin, '-c', $m->{conf} ], $m->{log});
	my $ready = wait_until(30, sub {
		return 0 if !alive($m->{pid});
		return $listen =~ /^unix:/ ? -S $m->{sock} : IO::Socket::INET->new(PeerAddr => $listen, Timeout => 1);
	});
	die "private master did not start:\n" . read_file($m->{log}) unless $ready;
	return $m;
}

# ------------------------------------------------------------ FastCGI client

use constant { FCGI_BEGIN => 1, FCGI_END => 3, FCGI_PARAMS => 4, FCGI_STDIN => 5, FCGI_STDOUT => 6, FCGI_STDERR => 7 };

sub fcgi_record { my ($type, $content) = @_; pack('CCnnCC', 1, $type, 1, length $content, 0, 0) . $content }

sub fcgi_params {
	my (%p) = @_;
	my $enc = sub { my $l = length $_[0]; $l < 128 ? pack('C', $l) : pack('N', $l | 0x80000000) };
	return join '', map { $enc->($_) . $enc->($p{$_}) . $_ . $p{$_} } sort keys %p;
}

sub fcgi_connect {
	my ($addr) = @_;
	return $addr =~ m{^/}
		? IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $addr)
		: IO::Socket::INET->new(PeerAddr => $addr, Timeout => 10);
}

# Send BEGIN_REQUEST + PARAMS (+ $stdin, unless $o{partial}); returns the socket.
sub fcgi_send {
	my ($addr, $method, $uri, %o) = @_;
	my $sock = fcgi_connect($addr) or die "connect $addr: $!";
	my $body = $o{body} // '';
	my ($path, $query) = $uri =~ /^([^?]*)(?:\?(.*))?$/;
	my %p = (
		REQUEST_METHOD => $method, REQUEST_URI => $uri, DOCUMENT_URI => $path,
		QUERY_STRING => $query // '', REMOTE_ADDR => '127.0.0.1', SERVER_PROTOCOL => 'HTTP/1.1',
		REQUEST_ID => sprintf('%032x', int rand 2**31),
		CONTENT_LENGTH => $o{content_length} // length $body,
		($o{content_type} ? (CONTENT_TYPE => $o{content_type}) : ()),
		%{ $o{params} || {} },
	);
	my $out = fcgi_record(FCGI_BEGIN, pack('nCx5', 1, 0)) . fcgi_record(FCGI_PARAMS, fcgi_params(%p))
		. fcgi_record(FCGI_PARAMS, '');
	$out .= fcgi_record(FCGI_STDIN, $body) if length $body;
	$out .= fcgi_record(FCGI_STDIN, '') unless $o{partial};
	syswrite $sock, $out;
	return $sock;
}

# Read STDOUT until END_REQUEST: {status, headers (lc name => value), body, app_status}
# or {error} when the connection ends first.
sub fcgi_read {
	my ($sock, $timeout) = @_;
	my ($buf, $stdout, $end) = ('', '', time + ($timeout // 20));
	my $app;
	while (!defined $app) {
		while (length $buf >= 8) {
			my (undef, $type, undef, $len, $pad) = unpack 'CCnnC', $buf;
			last if length $buf < 8 + $len + $pad;
			my $content = substr $buf, 8, $len;
			substr($buf, 0, 8 + $len + $pad) = '';
			$stdout .= $content if $type == FCGI_STDOUT;
			($app) = unpack 'N', $content if $type == FCGI_END;
		}
		last if defined $app;
		return { error => 'timeout' } if time > $end;
		my $rin = '';
		vec($rin, fileno $sock, 1) = 1;
		next unless select(my $rout = $rin, undef, undef, 0.2);
		my $n = sysread $sock, my $chunk, 65536;
		return { error => defined $n ? 'connection closed before END_REQUEST' : "read: $!", partial => $stdout } unless $n;
		$buf .= $chunk;
	}
	close $sock;
	my ($head, $body) = split /\r?\n\r?\n/, $stdout, 2;
	my %h;
	for (split /\r?\n/, $head // '') {
		my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
		$h{ lc $k } = $v;
	}
	my ($status) = ($h{status} // '200') =~ /^(\d{3})/;
	return { status => $status, headers => \%h, body => $body // '', app_status => $app };
}

sub fcgi {
	my ($addr, $method, $uri, %o) = @_;
	my $sock = eval { fcgi_send($addr, $method, $uri, %o) } or return { error => $@ || 'connect failed' };
	return fcgi_read($sock);
}

sub fcgi_ok {
	my ($r, $status, $name) = @_;
	my $ok = !$r->{error} && $r->{status} == $status;
	ok $ok, $name or diag 'got: ' . ($r->{error} // "$r->{status} $r->{body}");
	return $ok;
}

# ------------------------------------------------------------ the harness master

my $want = $s->{config}{workers};
my @w = $s->wait_workers;
is scalar @w, $want, "the master runs the configured $want workers";
ok alive($s->fcgi_master_pid), 'the master is alive';
is_deeply [ children($s->fcgi_master_pid) ], \@w, 'the workers are the master\'s children';
ok $s->jobs_pid, 'the master also runs the background jobs process';

{
	my $victim = $w[0];
	kill 'KILL', $victim;
	my $now = wait_until(15, sub {
		my @c = $s->worker_pids;
		return @c == $want && !grep({ $_ == $victim } @c) ? [@c] : 0;
	}) || [];
	is scalar @$now, $want, "after SIGKILL of worker $victim the master is back to $want workers";
	ok !grep({ $_ == $victim } @$now), '... the killed pid is gone';
	my @new = grep { my $p = $_; !grep { $_ == $p } @w } @$now;
	is scalar @new, 1, '... replaced by one new worker (' . join(',', @new) . ')';
	ok alive($w[1]), '... the other worker was left alone' if $want > 1;
	my @bad = grep { $_ != 200 } map { $s->request(GET => '/healthz')->{status} } 1 .. 20;
	is scalar @bad, 0, '20 requests after the respawn all answer 200';
	is $s->request(GET => '/readyz')->{status}, 200, 'a database route works on the new worker';
	@w = $s->wait_workers;
}

{
	my $u = $s->register_user;
	my $cookie = $u->session;
	my ($clients, $each) = (12, 25);
	my @kids;
	for my $k (1 .. $clients) {
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			my $bad = 0;
			for my $i (1 .. $each) {
				my $r = $i % 2
					? $s->request(GET => '/api/auth/user', { headers => { Cookie => "coffer_session=$cookie" }, timeout => 30 })
					: $s->request(GET => '/healthz', { timeout => 30 });
				$bad++ unless $r->{status} == 200 && $r->{json};
			}
			POSIX::_exit($bad > 250 ? 250 : $bad);
		}
		push @kids, $pid;
	}
	my $failed = 0;
	for (@kids) { waitpid $_, 0; $failed += $? >> 8 || ($? & 127 ? $each : 0) }
	is $failed, 0, "$clients concurrent clients x $each requests (session + health): all 200";
	is_deeply [ $s->worker_pids ], \@w, '... and no worker died under the load';
}

# ------------------------------------------------------------ recycling (private master)

my $m = start_master(workers => 1, max_requests => 3);
my $gen = wait_until(10, sub { my @c = children($m->{pid}); @c == 1 ? [@c] : 0 }) || [];
is scalar @$gen, 1, 'private master (workers = 1, max_requests = 3) runs one worker';
fcgi_ok(fcgi($m->{sock}, GET => '/healthz'), 200, 'FastCGI client: GET /healthz 200 on the private master');
{
	my $r = fcgi($m->{sock}, GET => '/readyz');
	fcgi_ok($r, 200, 'FastCGI client: GET /readyz 200');
	like $r->{body}, qr/"status":"ready"/, '... ready';
	is $r->{app_status}, 0, '... END_REQUEST app status 0';
	like $r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/, '... echoes REQUEST_ID as X-Request-Id';
}
fcgi_ok(fcgi($m->{sock}, GET => '/healthz'), 200, 'third request');
{
	my @pids = ($gen->[0]);
	for my $round (1 .. 3) {
		my $next = wait_until(10, sub { my @c = children($m->{pid}); @c == 1 && $c[0] != $pids[-1] ? $c[0] : 0 });
		ok $next, "after 3 requests worker $pids[-1] was recycled (round $round)" or last;
		ok !alive($pids[-1]), '... the old worker exited';
		push @pids, $next;
		fcgi_ok(fcgi($m->{sock}, GET => '/healthz'), 200, "request 1 of the new worker $next") for 1;
		fcgi_ok(fcgi($m->{sock}, GET => '/readyz'), 200, "request 2 of the new worker");
		fcgi_ok(fcgi($m->{sock}, GET => '/healthz'), 200, "request 3 of the new worker");
	}
	my %u = map { $_ => 1 } @pids;
	is scalar keys %u, 4, 'four distinct worker pids over 12 requests';
	my @bad = grep { $_->{error} || $_->{status} != 200 } map { fcgi($m->{sock}, GET => '/healthz') } 1 .. 10;
	is scalar @bad, 0, '10 back-to-back requests across recycling: none lost';
	my $log = read_file($m->{log});
	unlike $log, qr/killed by signal|exited with status|crashing/, 'recycled workers exit cleanly (status 0)';
}

# ------------------------------------------------------------ SIGHUP (private master)

# Wait until the master's children are $n pids none of which is in @$old.
sub replaced {
	my ($master, $n, $old) = @_;
	return wait_until(15, sub {
		my @c = children($master);
		return @c == $n && !grep({ my $p = $_; grep { $_ == $p } @$old } @c) ? [@c] : 0;
	});
}

{
	# 1: the config changes (workers 1 -> 2, max_requests 3 -> 0); the
	# master is idle, so its one worker is a stable pid.
	my $old = wait_until(10, sub { my @c = children($m->{pid}); @c == 1 ? [@c] : 0 }) || [];
	write_config($m->{conf}, listen => "unix:$m->{sock}", pid_file => $m->{pid_file}, socket_mode => '0600',
		workers => 2, max_requests => 0);
	ok kill('HUP', $m->{pid}), 'SIGHUP the private master after changing its config';
	my $new = replaced($m->{pid}, 2, $old);
	ok $new, "after SIGHUP: the new config's 2 workers, the old one (@$old) gone"
		or diag 'children: ' . join(',', children($m->{pid}));
	ok !alive($old->[0]), '... the old worker exited' if @$old;
	ok alive($m->{pid}), 'the master is still the same process';
	if ($new) {
		fcgi_ok(fcgi($m->{sock}, GET => '/healthz'), 200, "request $_ after the reload") for 1 .. 10;
		is_deeply [ children($m->{pid}) ], $new, 'max_requests = 0 from the new config: no recycling after 10 requests';
	}

	# 2: reload under traffic: every worker is replaced, no request fails.
	$old = [ children($m->{pid}) ];
	pipe my $rd, my $wr or die "pipe: $!";
	my $kid = fork // die "fork: $!";
	if ($kid == 0) {
		close $rd;
		my ($n, $bad) = (0, 0);
		my $end = time + 1.5;
		while (time < $end) {
			my $r = fcgi($m->{sock}, GET => ($n % 2 ? '/healthz' : '/readyz'));
			$n++;
			$bad++ if $r->{error} || $r->{status} != 200;
		}
		print $wr "$n $bad\n";
		close $wr;
		POSIX::_exit(0);
	}
	close $wr;
	sleep 0.3;
	ok kill('HUP', $m->{pid}), 'SIGHUP again while a client sends requests';
	$new = replaced($m->{pid}, 2, $old);
	ok $new, "every worker replaced (old @$old, new " . join(' ', @{ $new || [] }) . ')';
	my ($n, $bad) = split ' ', (<$rd> // '0 -1');
	waitpid $kid, 0;
	cmp_ok $n, '>', 10, "the client made $n requests around the reload";
	is $bad, 0, '... and none failed';
}

# ------------------------------------------------------------ SIGTERM (private master)

{
	kill 'TERM', $m->{pid};
	my $st = reap($m->{pid}, 10);
	is $st, 0, 'SIGTERM: an idle master exits 0';
	ok !-e $m->{sock}, '... its socket file is removed';
	ok !-e $m->{pid_file}, '... its pid file is removed';
}

{
	# A request in flight: BEGIN + PARAMS + half the body, then SIGTERM. The
	# worker has passed the database check (its connection shows up under
	# our application_name) and is reading the body.
	my $app = "coffer-t30-$$";
	my $t = start_master(workers => 2, max_requests => 0, db => $s->conninfo . " application_name=$app");
	# the master writes it just after it starts listening, so it may lag the socket
	ok wait_until(10, sub { -s $t->{pid_file} }), 'pid file written';
	is read_file($t->{pid_file}) =~ s/\s+//gr, $t->{pid}, '... with the master pid';
	my @kids = wait_until(10, sub { my @c = children($t->{pid}); @c == 2 ? [@c] : 0 }) ? children($t->{pid}) : ();
	is scalar @kids, 2, 'second private master runs 2 workers';
	my $body = '{"username":"x"}';
	my $sock = fcgi_send($t->{sock}, POST => '/api/auth/register', body => substr($body, 0, 5),
		content_length => length $body, content_type => 'application/json', partial => 1);
	my $busy = wait_until(10, sub { $s->psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app'") == 1 });
	ok $busy, 'a worker took the request and is waiting for the rest of the body';
	kill 'TERM', $t->{pid};
	my $left = wait_until(10, sub { my @c = children($t->{pid}); @c == 1 ? $c[0] : 0 });
	ok $left, 'SIGTERM: the idle worker exits at once, the busy one stays';
	ok alive($t->{pid}), '... and the master waits for it';
	syswrite $sock, fcgi_record(FCGI_STDIN, substr($body, 5)) . fcgi_record(FCGI_STDIN, '');
	my $r = fcgi_read($sock);
	fcgi_ok($r, 400, 'the request in flight completes after SIGTERM');
	like $r->{body}, qr/"code":"invalid_request"/, '... with its real answer (field validation ran)';
	like $r->{body}, qr/"field":"password"/, '... naming the missing fields';
	my $st = reap($t->{pid}, 15);
	is $st, 0, 'then the master exits 0';
	ok !-e $t->{sock}, '... socket removed';
	ok !-e $t->{pid_file}, '... pid file removed';
	ok !grep({ alive($_) } @kids), '... no worker left behind';
	unlike read_file($t->{log}), qr/killing them/, '... none had to be killed';
}

# ------------------------------------------------------------ TCP listen

{
	my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die "port: $!";
	my $port = $probe->sockport;
	close $probe;
	my $t = start_master(workers => 1, listen => "127.0.0.1:$port");
	fcgi_ok(fcgi("127.0.0.1:$port", GET => '/healthz'), 200, "a master listening on 127.0.0.1:$port answers over TCP");
	kill 'TERM', $t->{pid};
	is reap($t->{pid}, 10), 0, '... and stops with exit 0';
}

# ------------------------------------------------------------ --single

{
	my $conf = "$dir/single.conf";
	write_config($conf, max_requests => 3, workers => 4);
	my $path = "$dir/single.sock";
	my $lsock = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 16) or die "listen $path: $!";
	my $log = "$dir/single.log";
	my $pid = spawn([ $bin, '-c', $conf, '--single' ], $log, $lsock);
	close $lsock;
	my $r = fcgi($path, GET => '/healthz');
	fcgi_ok($r, 200, '--single: GET /healthz 200 on the inherited socket');
	fcgi_ok(fcgi($path, GET => '/readyz'), 200, '--single: GET /readyz 200');
	fcgi_ok(fcgi($path, GET => '/healthz'), 200, "--single: request $_") for 3 .. 6;
	ok alive($pid), '--single is never recycled (max_requests = 3 in its config, 6 served)';
	is_deeply [ children($pid) ], [], '--single forks no workers';
	kill 'TERM', $pid;
	is reap($pid, 10), 0, '--single: SIGTERM -> exit 0';
	like read_file($log), qr{GET /healthz 200}, '--single logs its requests';
	unlink $path;
}

SKIP: {
	my ($spawn) = grep { -x } map { "$_/spawn-fcgi" } split /:/, "$ENV{PATH}:/usr/bin:/usr/sbin";
	skip 'spawn-fcgi is not installed', 3 unless $spawn;
	my $path = "$dir/spawn.sock";
	my $log = "$dir/spawn.log";
	# -n: spawn-fcgi binds the socket, puts it on fd 0 and execs the program
	my $pid = spawn([ $spawn, '-n', '-s', $path, '-M', '0600', '--', $bin, '-c', "$dir/single.conf" ], $log, undef,
		COFFER_LISTEN => '');
	ok wait_until(10, sub { -S $path }), 'spawn-fcgi made the socket';
	fcgi_ok(fcgi($path, GET => '/healthz'), 200, 'auto-detected single mode (listen empty, fd 0 a listener): /healthz 200');
	kill 'TERM', $pid;
	is reap($pid, 10), 0, '... SIGTERM -> exit 0';
}

{
	my $log = "$dir/nosock.log";
	my $pid = spawn([ $bin, '-c', "$dir/single.conf", '--single' ], $log);
	my $st = reap($pid, 10);
	is $st >> 8, 2, '--single without a listening socket on fd 0 exits 2';
	like read_file($log), qr/not a listening socket/, '... saying why';
}

# The harness master was never disturbed by the private ones.
is_deeply [ $s->worker_pids ], \@w, 'the harness workers are the same after all this';
is $s->request(GET => '/readyz')->{status}, 200, 'and the stack still answers';

done_testing;
