package Bench;

# Helpers shared by the benchmarks in bench/ (bench/run, bench/files,
# bench/folders, bench/search): small utilities and statistics, process
# clean-up, the reference nginx, the nginx access-log check, the CPU
# accounting from /proc, timed requests one at a time over keep-alive
# connections (MiniHTTP) measured in alternating chunks, and psql sessions
# on a stack's database. Core Perl modules only. Everything is exported; the
# scripts keep their own END blocks and signal handlers, since what must be
# stopped differs between them.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use MiniHTTP;

our @EXPORT = qw(note fatal env_int ncpu free_port slurp write_file first_line mem_kib mib
	to_ms median pct commify gone stop_pid $NGINX ref_nginx_conf start_nginx wait_nginx
	access_statuses status_summary $CLK_TCK proc_snapshot machine_ticks busy_share cpu_mark
	cpu_delta self_ticks cpu_add cpu_table_head cpu_table_row cpu_table_foot timed_headers timed describe
	measure_chunks psql_session psql_try catch_signals bench_cleanup bench_setup start_bench_stack
	bench_token_user gen_sql gen_steps ref_static_conf machine_info quiet_share bench_end);

our $NGINX = -x '/usr/sbin/nginx' ? '/usr/sbin/nginx' : 'nginx';
our $CLK_TCK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

sub note { print STDERR "bench: @_\n" }
sub fatal { print STDERR "bench: FAIL: @_\n"; exit 1 }

# An integer from the environment, or $def; fatal unless >= $min.
sub env_int {
	my ($name, $def, $min) = @_;
	my $v = $ENV{$name} // $def;
	$v =~ /^\d+\z/ && $v >= $min or fatal("$name must be an integer >= $min (got '$v')");
	return $v + 0;
}

sub ncpu { my $n = `nproc 2>/dev/null`; chomp $n; $n =~ /^\d+\z/ ? $n : 1 }

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1)
		or fatal("no free port: $!");
	my $p = $s->sockport;
	close $s;
	return $p;
}

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or return '';
	local $/;
	return scalar(<$fh>) // '';
}

sub write_file {
	my ($f, $text) = @_;
	open my $fh, '>', $f or fatal("$f: $!");
	print $fh $text;
	close $fh or fatal("$f: $!");
}

sub first_line { my $o = `@_ 2>&1`; ($o // '') =~ /^(.*)/ ? $1 : '?' }

# VmRSS and VmHWM of a process, in KiB.
sub mem_kib {
	my ($pid) = @_;
	my $st = slurp("/proc/$pid/status");
	my ($rss) = $st =~ /^VmRSS:\s+(\d+) kB/m;
	my ($hwm) = $st =~ /^VmHWM:\s+(\d+) kB/m;
	return ($rss, $hwm);
}

sub mib { defined $_[0] ? sprintf('%.1f MiB', $_[0] / 1024) : '-' }

# wrk prints times as 812.00us, 1.23ms, 2.01s, 1.00m
sub to_ms {
	my ($v) = @_;
	my ($n, $u) = $v =~ /^([\d.]+)(us|ms|s|m|h)\z/ or return undef;
	return $n * { us => 0.001, ms => 1, s => 1000, m => 60_000, h => 3_600_000 }->{$u};
}

sub median {
	my @s = sort { $a <=> $b } @_;
	return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

# Nearest-rank percentile ($p in 0-100) of a list.
sub pct {
	my ($p, @v) = @_;
	my @s = sort { $a <=> $b } @v;
	my $i = POSIX::ceil($p / 100 * @s) - 1;
	return $s[$i < 0 ? 0 : $i];
}

sub commify { my $n = reverse shift; $n =~ s/(\d{3})(?=\d)/$1,/g; return scalar reverse $n }

# ------------------------------------------------------------ processes

sub gone {
	my ($pid) = @_;
	return 1 if waitpid($pid, WNOHANG) == $pid || !kill 0, $pid;
	return 0;
}

# Send $sig to $pid; SIGKILL it (and its process group) after $timeout s.
sub stop_pid {
	my ($pid, $sig, $timeout) = @_;
	return if gone($pid);
	kill $sig, $pid;
	my $end = time + $timeout;
	until (gone($pid)) {
		if (time > $end) { kill 'KILL', -$pid; kill 'KILL', $pid; waitpid $pid, 0; return }
		sleep 0.05;
	}
}

# ------------------------------------------------------------ nginx

# nginx.conf of a bare reference nginx in $o{dir} (logs/ and tmp/ under
# it): the stack's http-level settings (worker_processes, log format,
# sendfile, keep-alive), listening on 127.0.0.1:$o{port}, with the
# location blocks of $o{locations} (text, already indented).
sub ref_nginx_conf {
	my (%o) = @_;
	my $dir = $o{dir};
	return join "\n",
		($> == 0 ? 'user root;' : ''),
		"worker_processes $o{workers};",
		"pid $dir/nginx.pid;",
		"error_log $dir/logs/error.log warn;",
		'events { worker_connections 1024; }',
		'http {',
		'    server_tokens off;',
		'    types { }',
		"    default_type $o{default_type};",
		q{    log_format coffer '$remote_addr [$time_iso8601] "$request" $status '},
		q{                      '$body_bytes_sent $request_time '},
		q{                      'up=$upstream_response_time rid=$request_id '},
		q{                      '"$http_user_agent"';},
		"    access_log $dir/logs/access.log coffer;",
		'    map $https $coffer_hsts { on "max-age=31536000"; default ""; }',
		(map { "    ${_}_temp_path $dir/tmp/$_;" } qw(client_body fastcgi proxy uwsgi scgi)),
		'    sendfile on;', '    tcp_nopush on;', '    tcp_nodelay on;',
		'    keepalive_timeout 65s;',
		'    server {',
		"        listen 127.0.0.1:$o{port} default_server;",
		$o{locations},
		'    }',
		'}', '';
}

# Check $dir/nginx.conf and start nginx on it in its own session (output
# to $dir/logs/stderr.log). Returns its pid; fatal when the config is bad.
sub start_nginx {
	my ($dir) = @_;
	system($NGINX, '-t', '-q', '-p', $dir, '-c', "$dir/nginx.conf") == 0
		or fatal("nginx config rejected ($dir/nginx.conf)");
	my $pid = fork // fatal("fork: $!");
	if ($pid == 0) {
		POSIX::setsid();
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$dir/logs/stderr.log";
		open STDERR, '>&', \*STDOUT;
		exec { $NGINX } $NGINX, '-p', $dir, '-c', "$dir/nginx.conf", '-g', 'daemon off;'
			or POSIX::_exit(127);
	}
	return $pid;
}

# Wait (10 s at most) until GET $url answers 200; fatal with nginx's logs
# (under $dir/logs) if it does not. $stack: a Coffer::Test (its HTTP client).
sub wait_nginx {
	my ($stack, $url, $pid, $dir, %o) = @_;
	my $end = time + 10;
	my $r;
	until (($r = $stack->request(GET => $url, { headers => $o{headers} || {} }))->{status} == 200) {
		fatal("nginx at $url does not answer: " . $r->describe
			. "\n" . slurp("$dir/logs/stderr.log") . slurp("$dir/logs/error.log"))
			if time > $end || gone($pid);
		sleep 0.05;
	}
	return $r;
}

# Statuses in an nginx access log (format coffer) after byte offset $mark.
sub access_statuses {
	my ($log, $mark) = @_;
	my %n;
	open my $fh, '<', $log or return %n;
	seek $fh, $mark, 0;
	while (my $line = <$fh>) { $n{$1}++ if $line =~ /"[^"]*" (\d{3}) / }
	return %n;
}

sub status_summary {
	my ($log, $mark) = @_;
	my %n = access_statuses($log, $mark);
	return "\nstatuses in $log since the cell began: "
		. join(', ', map { "$_ x$n{$_}" } sort keys %n) . "\n";
}

# ------------------------------------------------------------ CPU accounting
#
# CPU time (from /proc, in clock ticks) of each process of the bench
# (descendants of the script: nginx, the workers; and of the postmaster), of
# reaped children (wrk, curl: times()), and of the whole machine
# (/proc/stat). "other" is what the rest of the machine used meanwhile: a
# benchmark on a shared box is only as good as that number is small.

# {pid => [ppid, comm, utime+stime, starttime, utime, stime]}
sub proc_snapshot {
	my %p;
	opendir my $d, '/proc' or return {};
	for my $pid (grep { /^\d+\z/ } readdir $d) {
		open my $fh, '<', "/proc/$pid/stat" or next;
		my $line = <$fh> // next;
		# pid (comm) state ppid ... utime stime: comm may hold spaces and parens
		$line =~ /^\d+ \((.*)\) (\S) (\d+) (.*)/s or next;
		my ($comm, $ppid, @f) = ($1, $3, split ' ', $4);
		$p{$pid} = [ $ppid, $comm, $f[9] + $f[10], $f[17], $f[9], $f[10] ];    # fields 14, 15, 22
	}
	return \%p;
}

# user+nice+system, everything but idle/iowait, all, steal (CPU the
# hypervisor gave to someone else), and iowait, summed over all CPUs
sub machine_ticks {
	my ($cpu) = slurp('/proc/stat') =~ /^cpu\s+(.*)$/m or return (0, 0, 0, 0, 0);
	my @f = split ' ', $cpu;
	my $total = 0;
	$total += $_ for @f[0 .. 7];
	return ($f[0] + $f[1] + $f[2], $total - $f[3] - $f[4], $total, $f[7] // 0, $f[4]);
}

# Share of the machine's CPU (0-1) in use during the next $secs seconds.
sub busy_share {
	my ($secs) = @_;
	my @a = machine_ticks();
	sleep $secs;
	my @b = machine_ticks();
	return ($b[1] - $a[1]) / (($b[2] - $a[2]) || 1);
}

sub cpu_mark {
	my @t = POSIX::times();
	return { procs => proc_snapshot(), machine => [ machine_ticks() ], reaped => $t[3] + $t[4],
		time => time };
}

# Ticks (total, user, system) a process had at the first mark; 0 when it
# was born since (a pid reused by a new process has another start time).
sub was_ticks {
	my ($p0, $pid, $now) = @_;
	my $was = $p0->{$pid};
	return $was && $was->[3] == $now->[3] ? @$was[2, 4, 5] : (0, 0, 0);
}

# CPU per component between two marks, in ticks: {nginx, fcgi (also
# fcgi_user, fcgi_sys), postgres, bench (other descendants of this script
# still running), reaped (children reaped meanwhile: wrk, curl), other,
# top_other ([name, ticks] of the 3 biggest outside processes), busy
# (machine, excluding idle and iowait), total (machine), steal, iowait,
# wall (seconds)}. $postmaster_file: the stack's postmaster.pid.
sub cpu_delta {
	my ($m0, $m1, $postmaster_file) = @_;
	my ($p0, $p1) = ($m0->{procs}, $m1->{procs});
	my %kids;
	push @{ $kids{ $p1->{$_}[0] } }, $_ for keys %$p1;
	my $pm = (slurp($postmaster_file) =~ /^(\d+)/) ? $1 : 0;
	my %ours;
	my @todo = ($$, $pm ? ($pm) : ());
	while (defined(my $pid = shift @todo)) {
		next if $ours{$pid}++;
		push @todo, @{ $kids{$pid} || [] };
	}
	my %d = (nginx => 0, fcgi => 0, fcgi_user => 0, fcgi_sys => 0, postgres => 0, bench => 0);
	for my $pid (keys %ours) {
		my $now = $p1->{$pid} or next;
		my @was = was_ticks($p0, $pid, $now);
		my $g = $now->[1] =~ /^nginx/ ? 'nginx' : $now->[1] =~ /^coffer-fcgi/ ? 'fcgi'
			: $now->[1] =~ /^postgres/ ? 'postgres' : 'bench';
		$d{$g} += $now->[2] - $was[0];
		if ($g eq 'fcgi') {
			$d{fcgi_user} += $now->[4] - $was[1];
			$d{fcgi_sys} += $now->[5] - $was[2];
		}
	}
	# the biggest CPU users outside the benchmark, to tell kernel threads
	# working for our traffic (ksoftirqd, kworker) from another program
	my %foreign;
	for my $pid (keys %$p1) {
		next if $ours{$pid};
		my $now = $p1->{$pid};
		my ($was) = was_ticks($p0, $pid, $now);
		(my $name = $now->[1]) =~ s{/.*}{};    # kworker/0:2-events, ksoftirqd/1: by kind
		$foreign{$name} += $now->[2] - $was if $now->[2] > $was;
	}
	my @top = sort { $foreign{$b} <=> $foreign{$a} } keys %foreign;
	splice @top, 3 if @top > 3;
	$d{top_other} = [ map { [ $_, $foreign{$_} ] } @top ];
	$d{reaped} = $m1->{reaped} - $m0->{reaped};
	my ($procs, $busy, $total, $steal, $iowait) = map { $m1->{machine}[$_] - $m0->{machine}[$_] } 0 .. 4;
	my $mine = 0;
	$mine += $d{$_} for qw(nginx fcgi postgres bench reaped);
	$d{other} = $procs - $mine < 0 ? 0 : $procs - $mine;
	@d{qw(busy total steal iowait)} = ($busy, $total || 1, $steal, $iowait);
	$d{wall} = $m1->{time} - $m0->{time};
	return \%d;
}

# CPU ticks (user + system) this process used so far: the client's share
# of a measurement without the cost of reading /proc for cpu_mark.
sub self_ticks { my @t = POSIX::times(); return $t[1] + $t[2] }

# Sum of two cpu_delta results (ticks; top_other and wall left out).
sub cpu_add {
	my ($acc, $d) = @_;
	$acc->{$_} += $d->{$_} // 0 for qw(nginx fcgi postgres bench reaped other busy total steal iowait);
	return $acc;
}

# The table of CPU per request: its head, a row ($cpu: the cpu_add sum of
# the figure's chunks, $n requests, in seconds x $scale: 1e6 for
# microseconds), and the note under it. cpu_table_row returns the row and
# whether other processes (noisy) or the hypervisor (stolen) took more than
# 10% of the machine.
my $CPU_FMT = "%-44s %7s %7s %7s %8s %7s %8s %6s %6s  %s\n";

sub cpu_table_head {
	return sprintf($CPU_FMT, 'measurement', 'client', 'nginx', 'fcgi', 'postgres', 'other', 'sum', 'busy', 'steal', '')
		. sprintf($CPU_FMT, '-' x 44, '-' x 7, '-' x 7, '-' x 7, '-' x 8, '-' x 7, '-' x 8, '-' x 6, '-' x 6, '');
}

sub cpu_table_row {
	my ($name, $cpu, $n, $scale) = @_;
	my $u = sub { sprintf '%.0f', $_[0] / $CLK_TCK / ($n || 1) * $scale };
	my $sum = 0;
	$sum += $cpu->{$_} // 0 for qw(nginx fcgi postgres bench reaped);
	my $other = ($cpu->{other} // 0) / ($cpu->{total} || 1);
	my $steal = ($cpu->{steal} // 0) / ($cpu->{total} || 1);
	my $line = sprintf $CPU_FMT, $name, $u->(($cpu->{bench} // 0) + ($cpu->{reaped} // 0)), $u->($cpu->{nginx} // 0),
		$u->($cpu->{fcgi} // 0), $u->($cpu->{postgres} // 0), $u->($cpu->{other} // 0), $u->($sum),
		sprintf('%.0f%%', 100 * ($cpu->{busy} // 0) / ($cpu->{total} || 1)), sprintf('%.0f%%', 100 * $steal), '';
	return ($line, $other > 0.10 ? 1 : 0, $steal > 0.10 ? 1 : 0);
}

sub cpu_table_foot {
	return "(busy: share of all CPUs in use; other: CPU of processes outside the benchmark; ticks are\n"
		. " 1/$CLK_TCK s, so per-request figures of a few microseconds are imprecise)\n";
}

# ------------------------------------------------------------ timed requests

my %http;             # connection name => MiniHTTP: one keep-alive connection each
my %timed_headers;    # headers every timed request sends (Authorization)
my $JSON = JSON::PP->new->utf8->canonical;

# Set the headers every timed request sends from now on.
sub timed_headers { %timed_headers = @_ }

# One request on the keep-alive connection named $conn (opened on first
# use, to the host and port of its first URL); returns (response, ms).
# $body: data sent as JSON. The response is MiniHTTP's {status, reason,
# headers, content}.
sub timed {
	my ($conn, $method, $url, $body) = @_;
	my ($host, $port, $path) = $url =~ m{^http://([^/:]+):(\d+)(/.*)\z} or fatal("bad URL $url");
	my $h = $http{$conn} //= MiniHTTP->new($host, $port);
	my %headers = %timed_headers;
	my $content;
	if (defined $body) {
		$content = $JSON->encode($body);
		$headers{'Content-Type'} = 'application/json';
	}
	my $t0 = time;
	my $r = $h->request($method, $path, \%headers, $content);
	my $ms = (time - $t0) * 1000;
	return ($r, $ms);
}

sub describe {
	my ($what, $r) = @_;
	my $c = $r->{content} // '';
	$c = substr($c, 0, 400) . '...' if length $c > 400;
	return "$what: $r->{status} $r->{reason}\n$c";
}

# Time $n requests of each figure, alternating in chunks of $o->{chunk}
# (after $warm unmeasured requests each), with the CPU each chunk used
# ($o->{postmaster_file}: the stack's postmaster.pid, for cpu_delta).
# A figure is [name, connection, method, url, body, check]; url may be a
# code ref, called as url->($i, $warm) for the $i-th request (from 0) of
# the warm-up ($warm true) or of the measurement; check->(response, $i,
# $warm) returns an error text, or '' when the answer is as expected (an
# error is fatal). Results go to $fig->{name}: {ms => [...], urls =>
# [...] (the same order), cpu => {...}, n, p50, p99}.
sub measure_chunks {
	my ($fig, $o, $n, $warm, @figs) = @_;
	my $url_of = sub { my ($f, $i, $w) = @_; ref $f->[3] eq 'CODE' ? $f->[3]->($i, $w) : $f->[3] };
	for my $f (@figs) {
		for my $i (0 .. $warm - 1) {
			my ($r) = timed(@$f[1, 2], $url_of->($f, $i, 1), $f->[4]);
			my $err = $f->[5]->($r, $i, 1);
			fatal("$f->[0] (warm-up): $err") if $err;
		}
	}
	my %left = map { $_->[0] => $n } @figs;
	while (grep { $left{$_} > 0 } keys %left) {
		for my $f (@figs) {
			my $k = $left{ $f->[0] } < $o->{chunk} ? $left{ $f->[0] } : $o->{chunk};
			next unless $k;
			my $g = $fig->{ $f->[0] } //= { ms => [], urls => [], cpu => {} };
			my $cpu0 = cpu_mark();
			my $self0 = self_ticks();
			my (@ms, @urls);
			for (1 .. $k) {
				my $i = @{ $g->{ms} } + @ms;
				my $url = $url_of->($f, $i, 0);
				my ($r, $ms) = timed(@$f[1, 2], $url, $f->[4]);
				my $err = $f->[5]->($r, $i, 0);
				fatal("$f->[0]: $err") if $err;
				push @ms, $ms;
				push @urls, $url;
			}
			my $self1 = self_ticks();
			my $d = cpu_delta($cpu0, cpu_mark(), $o->{postmaster_file});
			$d->{bench} = $self1 - $self0;
			push @{ $g->{ms} }, @ms;
			push @{ $g->{urls} }, @urls;
			cpu_add($g->{cpu}, $d);
			$left{ $f->[0] } -= $k;
		}
	}
	for my $f (@figs) {
		my $g = $fig->{ $f->[0] };
		$g->{n} = @{ $g->{ms} };
		$g->{p50} = median(@{ $g->{ms} });
		$g->{p99} = pct(99, @{ $g->{ms} });
		note(sprintf '%-40s p50 %7.2f ms  p99 %7.2f ms  (%d requests)', $f->[0], @$g{qw(p50 p99 n)});
	}
}

# ------------------------------------------------------------ psql

# Run psql in one session on the database of $stack (a Coffer::Test), one
# -c per element of @cmds (SQL or a single backslash command); returns its
# output (unaligned, tuples only; psql's errors go to stderr). Fatal when
# psql fails.
sub psql_session {
	my ($stack, @cmds) = @_;
	my ($ok, $out) = _psql($stack, 0, @cmds);
	$ok or fatal("psql failed:\n$out");
	return $out;
}

# The same, but never fatal: returns (success, output and psql's errors).
sub psql_try { my ($stack, @cmds) = @_; return _psql($stack, 1, @cmds) }

sub _psql {
	my ($stack, $merge, @cmds) = @_;
	my $pg = $stack->{pg};
	my $bin = do { no warnings q(once); $Coffer::Test::PGBIN };
	my @cmd = ("$bin/psql", '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		'-h', '127.0.0.1', '-p', $pg->{port}, '-U', $pg->{user}, '-d', $pg->{database},
		map { ('-c', $_) } @cmds);
	my $pid = open(my $fh, '-|') // fatal("fork: $!");
	if (!$pid) {
		$ENV{PGPASSWORD} = $pg->{password};
		open STDERR, '>&', \*STDOUT if $merge;
		exec { $cmd[0] } @cmd or POSIX::_exit(127);
	}
	my $out = do { local $/; <$fh> } // '';
	my $ok = close $fh;
	return ($ok, $out);
}

# ------------------------------------------------------------ the scripts' frame
#
# What bench/folders and bench/search do alike: clean-up, the stack, the
# user with a token, the static reference nginx, the machine's description.

# Ctrl-C and the like end the script through exit, so its END block runs.
sub catch_signals {
	for my $sig (qw(INT TERM HUP)) {
		$SIG{$sig} = sub { note("caught SIG$sig, stopping everything"); exit 130 };
	}
	$SIG{PIPE} = 'IGNORE';
}

# For a script's END block, which runs before Coffer::Test's (END blocks run
# last-defined first): the reference nginx ($ref_pid) first, the bench's
# temp dir $tmp (kept with BENCH_KEEP), then the stack (its temp dir kept
# with BENCH_KEEP too). Keeps the exit status.
sub bench_cleanup {
	my ($stack, $ref_pid, $tmp) = @_;
	my $status = $?;
	stop_pid($ref_pid, 'QUIT', 10) if $ref_pid;
	if ($tmp && -d $tmp) {
		if ($ENV{BENCH_KEEP}) { note("BENCH_KEEP: bench files kept in $tmp") }
		else { remove_tree($tmp, { safe => 1 }) }
	}
	$ENV{COFFER_TEST_KEEP} = 1 if $ENV{BENCH_KEEP};
	$stack->stop if $stack;
	$? = $status;
}

# The start of a run: `make` (unless BENCH_NO_MAKE), then the bench's temp
# dir /tmp/coffer-bench-$name-XXXXXX with static/ in it (the reference
# nginx's files); returns the temp dir.
sub bench_setup {
	my ($name) = @_;
	unless ($ENV{BENCH_NO_MAKE}) {
		note('make');
		system('make', '-s', '-C', abs_path(dirname(__FILE__) . '/../..')) == 0 or fatal('make failed');
	}
	my $tmp = tempdir("coffer-bench-$name-XXXXXX", DIR => '/tmp', CLEANUP => 0);
	chmod 0755, $tmp;
	mkdir "$tmp/static" or fatal("mkdir $tmp/static: $!");
	return $tmp;
}

# Coffer::Test->start with $o{workers} FastCGI workers, nginx
# worker_processes $o{nginx_workers}, the request rate limits lifted (as in
# bench/run: measure the service, not its limiter), $o{pg_conf} (extra
# postgresql.conf settings, if any); everything else the product's
# defaults, jobs_threshold (1000) included.
sub start_bench_stack {
	my (%o) = @_;
	note("starting the stack: $o{workers} FastCGI workers, nginx worker_processes $o{nginx_workers}");
	return Coffer::Test->start(
		workers => $o{workers},
		config => { max_requests => 0, user_rate => 0 },
		nginx => {
			WORKER_PROCESSES => $o{nginx_workers},
			API_RATE => '1000000r/s', API_BURST => 1000000,
			AUTH_RATE => '1000000r/s', AUTH_BURST => 1000000,
			SHARE_RATE => '1000000r/s', SHARE_BURST => 1000000,
		},
		($o{pg_conf} ? (pg_conf => $o{pg_conf}) : ()),
	);
}

# A registered user with a 1 TiB quota and an API token, which every timed
# request sends from now on (Authorization: Bearer). Returns the client
# (Coffer::Test::Client) and the user's id.
sub bench_token_user {
	my ($stack) = @_;
	my $client = $stack->register_user(local_address => '127.0.0.1');
	$stack->set_quota($client, '1T');
	my $tok = $client->post_json('/api/auth/tokens', { name => 'bench' });
	$tok->{status} == 201 && ($tok->{json}{token} // '') =~ /^cof_/
		or fatal('POST /api/auth/tokens: ' . $tok->describe);
	timed_headers(Authorization => "Bearer $tok->{json}{token}");
	my $uid = $client->{user}{id};
	$uid =~ /^[0-9a-f-]{36}\z/ or fatal('registration gave no user id');
	return ($client, $uid);
}

# Run one statement that generates data (its own session and transaction;
# several statements separated by ";" run together) in the database of
# $stack, adding its time to $step; returns psql's output. Fatal on error.
my (%gen, @gen_steps);    # step => seconds; the steps in order
sub gen_sql {
	my ($stack, $step, $sql) = @_;
	my $t0 = time;
	my $out = eval { $stack->psql($sql) } // fatal("generating ($step): $@");
	push @gen_steps, $step unless exists $gen{$step};
	$gen{$step} += time - $t0;
	return $out;
}

# "step 1.2 s, step 0.3 s, ...": the steps of gen_sql so far, in order.
sub gen_steps { return join ', ', map { sprintf '%s %.1f s', $_, $gen{$_} } @gen_steps }

# nginx.conf of the reference nginx in $o{dir} (made, with logs/ and tmp/):
# the files of $o{static} as /static/ (JSON), with what the stack's nginx
# adds to an answer (its security headers, X-Request-Id, Cache-Control), on
# 127.0.0.1:$o{port}, $o{workers} worker_processes. Start it with
# start_nginx($o{dir}).
sub ref_static_conf {
	my (%o) = @_;
	my $dir = $o{dir};
	-d $_ or mkdir $_ or fatal("mkdir $_: $!") for $dir, "$dir/logs", "$dir/tmp";
	my $sec_headers = "$o{stack}{nginx_prefix}/security_headers.conf";
	write_file("$dir/nginx.conf", ref_nginx_conf(
		dir => $dir, port => $o{port}, workers => $o{workers},
		default_type => 'application/json', locations => join "\n",
		'        location /static/ {',
		"            alias $o{static}/;",
		'            etag off;', '            if_modified_since off;',
		(-e $sec_headers ? "            include $sec_headers;" : ()),
		q{            add_header X-Request-Id $request_id always;},
		q{            add_header Cache-Control no-store always;},
		'        }'));
}

# {cpu (model), kernel, nginx (version), pg (postgres --version), mem_gib}
sub machine_info {
	my $bin = do { no warnings q(once); $Coffer::Test::PGBIN };
	return {
		# "$1": a copy, or the next match would change it before the hash is built
		cpu => (slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.*)$/m ? "$1" : '?'),
		kernel => first_line('uname -r'),
		nginx => first_line("$NGINX -v") =~ s{^nginx version: }{}r,
		pg => first_line("$bin/postgres --version"),
		mem_gib => (slurp('/proc/meminfo') =~ /^MemTotal:\s+(\d+)/m ? "$1" : 0) / 1024 / 1024,
	};
}

# How busy the machine is (0-1) with the stack idle: other processes.
# BENCH_QUIET_WAIT=N waits up to N s for it to drop under 10%.
sub quiet_share {
	my $quiet_wait = env_int('BENCH_QUIET_WAIT', 0, 0);
	my $busy = busy_share(1);
	if ($quiet_wait && $busy > 0.10) {
		note(sprintf 'machine %.0f%% busy before we start; waiting up to %d s for it to calm down',
			100 * $busy, $quiet_wait);
		my $end = time + $quiet_wait;
		$busy = busy_share(2) while $busy > 0.10 && time < $end;
	}
	note(sprintf 'machine %.0f%% busy with the stack idle (other processes)', 100 * $busy);
	return $busy;
}

# The last lines of a report: no failure (a failure exits before), the time
# since $t_start, and the warnings: $below figures under their target,
# $noisy and $stolen measurements that other processes or the hypervisor
# disturbed (cpu_table_row).
sub bench_end {
	my (%o) = @_;
	printf "\nevery request answered as expected; total time %.0f s (load average %s at the end)\n",
		time - $o{t_start}, (split ' ', slurp('/proc/loadavg'))[0];
	print "BELOW TARGET: $o{below} measurement(s); see bench/README.md (speed never fails this script)\n"
		if $o{below};
	print "NOISY: other processes used more than 10% of the machine in $o{noisy} measurement(s); "
		. "rerun on a quiet machine\n" if $o{noisy};
	print "STEAL: the hypervisor kept more than 10% of the CPU in $o{stolen} measurement(s)\n" if $o{stolen};
	note('stack logs in ' . $o{stack}->tmpdir) if $ENV{BENCH_KEEP};
}

1;
