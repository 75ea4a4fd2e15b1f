package Bench;

# Helpers shared by the benchmarks in bench/ (bench/run, bench/files,
# bench/folders): small utilities, process clean-up, the reference nginx,
# the nginx access-log check, and the CPU accounting from /proc. Core Perl
# modules only. Everything is exported; the scripts keep their own END blocks
# and signal handlers, since what must be stopped differs between them.

use strict;
use warnings;

use Exporter qw(import);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @EXPORT = qw(note fatal env_int ncpu free_port slurp write_file first_line mem_kib mib
	to_ms gone stop_pid $NGINX ref_nginx_conf start_nginx wait_nginx access_statuses
	status_summary $CLK_TCK proc_snapshot machine_ticks busy_share cpu_mark cpu_delta);

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

1;
