package Coffer::Test;

# The shared test harness: starts a real Coffer stack (a throwaway PostgreSQL
# cluster, the migrations, the FastCGI worker pool, nginx) on free loopback
# ports, and gives tests an HTTP client with a cookie jar plus handles on
# every part of the stack. Core Perl modules only.
#
# scripts/test starts ONE stack per run (run_suite), writes its state to a
# JSON file, exports COFFER_TEST_STATE and runs prove; test files attach to
# it. A test file run alone (prove -I t/lib t/foo.t) starts its own stack and
# stops it at exit. Either way no process outlives the run.
#
#   use Coffer::Test;
#   my $s = Coffer::Test->stack;
#   my $r = $s->request(GET => '/healthz');        # {status, headers, content, json}
#   my $c = $s->register_user;                      # logged-in client
#   is $c->get('/api/auth/user')->{json}{username}, $c->{username};
#
# Test files run one at a time against the shared stack (prove without -j):
# some, like 00-harness.t, stop PostgreSQL or restart the workers.
#
# Environment: COFFER_BUILD (build dir, default build; build-asan for the
# sanitizer run), COFFER_TEST_STATE (set by scripts/test), COFFER_TEST_KEEP=1
# (keep the temp dir with logs and data after the run).

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir tempfile);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $REPO = abs_path(dirname(__FILE__) . '/../../..');
our $PGBIN = '/usr/lib/postgresql/15/bin';
our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# Defaults of the test stack. Login throttles and argon2 cost stay at the
# product defaults on purpose; only nginx's request rate limits are relaxed
# (the auth zone stays finite).
our %NGINX_TEST_LIMITS = (
	API_RATE => '1000r/s', API_BURST => 10000,
	AUTH_RATE => '200r/s', AUTH_BURST => 400,
);
our $ALLOWED_ORIGIN = 'http://localhost:3000';

my $singleton;
my @owned;    # stacks started by this process, stopped in END

# ------------------------------------------------------------ life cycle

# The stack of this test run: the one scripts/test started (COFFER_TEST_STATE),
# or one started now and stopped when this process exits.
sub stack {
	my ($class) = @_;
	return $singleton if $singleton;
	if (my $file = $ENV{COFFER_TEST_STATE}) {
		$singleton = $class->attach($file);
	} else {
		for my $sig (qw(INT TERM HUP)) {
			$SIG{$sig} = sub { print STDERR "# caught SIG$sig, stopping the stack\n"; exit 130 }
				if !$SIG{$sig} || $SIG{$sig} eq 'DEFAULT';
		}
		# `prove t/x.t | head` must not kill us before END stops the stack
		$SIG{PIPE} = 'IGNORE';
		$singleton = $class->start;
	}
	return $singleton;
}

# Attach to a running stack described by a state file.
sub attach {
	my ($class, $file) = @_;
	open my $fh, '<', $file or croak "COFFER_TEST_STATE $file: $!";
	my $state = $JSON->decode(do { local $/; <$fh> });
	close $fh;
	return bless { %$state, state_file => $file, owner_pid => 0 }, $class;
}

# Start a new stack. Options: workers (default 2), config => {key => value}
# (extra coffer.conf keys), nginx => {KEY => value} (nginx/render keys).
sub start {
	my ($class, %o) = @_;
	my $build = $ENV{COFFER_BUILD} || 'build';
	$build = "$REPO/$build" unless $build =~ m{^/};
	for my $bin (qw(coffer-fcgi coffer-admin)) {
		-x "$build/$bin" or croak "$build/$bin not built (run make, or scripts/test)";
	}
	# /tmp, not $TMPDIR: the postgres user must be able to reach it.
	my $tmp = tempdir('coffer-test-XXXXXX', DIR => '/tmp', CLEANUP => 0);
	chmod 0755, $tmp;
	my $self = bless {
		repo => $REPO, build => $build, tmpdir => $tmp, owner_pid => $$,
		state_file => "$tmp/state.json",
		config_path => "$tmp/coffer.conf",
		socket => "$tmp/run/coffer.sock",
		pid_file => "$tmp/run/coffer-fcgi.pid",
		blob_dir => "$tmp/blobs",
		sanitizer_dir => "$tmp/sanitizer",
		nginx_prefix => "$tmp/nginx",
		allowed_origin => $ALLOWED_ORIGIN,
		logs => {
			fcgi => "$tmp/log/coffer-fcgi.log",
			admin => "$tmp/log/coffer-admin.log",
			nginx_error => "$tmp/nginx/logs/error.log",
			nginx_access => "$tmp/nginx/logs/access.log",
			pg => "$tmp/pg/postgresql.log",
		},
	}, $class;
	$self->{log_path} = $self->{logs}{fcgi};
	push @owned, $self;
	make_path("$tmp/run", "$tmp/log", "$tmp/blobs", "$tmp/sanitizer");

	my $ok = eval {
		local $SIG{INT} = local $SIG{TERM} = local $SIG{HUP} = sub { die "interrupted\n" };
		$self->_pg_init;
		$self->pg_start;
		$self->_write_config($o{workers} // 2, $o{config} || {});
		my $m = $self->admin('migrate');
		$m->{exit} == 0 or die "coffer-admin migrate failed (exit $m->{exit}):\n$m->{out}$m->{err}";
		$self->fcgi_start;
		$self->_nginx_start($o{nginx} || {});
		$self->_wait_http('/healthz', 200, 60);
		$self->_wait_http('/readyz', 200, 30);
		$self->_save_state;
		1;
	};
	unless ($ok) {
		my $err = $@ || 'unknown error';
		print STDERR "# stack start failed: $err";
		$self->dump_logs;
		$self->stop;
		die "Coffer::Test: could not start the stack: $err";
	}
	return $self;
}

# Stop everything this process started: nginx, the worker master, PostgreSQL.
# Safe to call twice. Keeps the temp dir when COFFER_TEST_KEEP is set.
sub stop {
	my ($self) = @_;
	return if !$self->{owner_pid} || $self->{owner_pid} != $$ || $self->{stopped}++;
	# a test may have restarted the master: the state file has its pid
	if (-s $self->{state_file}) {
		my $st = eval { (ref $self)->attach($self->{state_file}) };
		$self->{$_} = $st->{$_} for grep { $st && defined $st->{$_} } qw(fcgi_pid nginx_pid);
	}
	$self->_stop_pid($self->{nginx_pid}, 'QUIT', 10) if $self->{nginx_pid};
	$self->fcgi_stop;
	$self->pg_stop if $self->{pg} && -e "$self->{pg}{datadir}/PG_VERSION";
	if ($ENV{COFFER_TEST_KEEP}) {
		print STDERR "# COFFER_TEST_KEEP: logs and data kept in $self->{tmpdir}\n";
	} else {
		$self->{sanitizer_reports} = [ $self->sanitizer_reports_text ];
		remove_tree($self->{tmpdir}, { safe => 1 });
	}
}

END {
	my $status = $?;
	for my $s (@owned) {
		next if $s->{owner_pid} != $$ || $s->{stopped};
		my @reports = $s->sanitizer_reports_text;
		$s->stop;
		if (@reports) {
			print STDERR "# sanitizer reports from the stack:\n", @reports;
			$status ||= 1;
		}
	}
	$? = $status;
}

# Run prove on @args against one stack; returns the exit status for scripts/test.
sub run_suite {
	my (@args) = @_;
	my $s = Coffer::Test->start;
	$ENV{COFFER_TEST_STATE} = $s->{state_file};
	print STDERR "# Coffer stack: $s->{base_url} (PostgreSQL 127.0.0.1:$s->{pg}{port}, build $s->{build}, tmp $s->{tmpdir})\n";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		# own process group, so a signal to the harness reaches prove and
		# every test it runs
		setpgrp(0, 0);
		exec 'prove', @args or do { print STDERR "exec prove: $!\n"; POSIX::_exit(127) };
	}
	my $signal;
	local $SIG{INT} = local $SIG{TERM} = local $SIG{HUP} = sub {
		$signal = shift;
		kill 'TERM', -$pid;
	};
	1 while waitpid($pid, 0) == -1 && $!{EINTR};
	my $status = $? >> 8 || ($? & 127 ? 1 : 0);
	$status = 1 if $signal && !$status;

	my @reports = $s->sanitizer_reports_text;
	if ($status || @reports) {
		$s->dump_logs(@reports ? () : (60));
	}
	$s->stop;
	if (@reports) {
		print STDERR "# FAIL: sanitizer reports from the stack's processes:\n", @reports;
		print "Result: FAIL (sanitizer reports from the stack)\n";
		$status ||= 1;
	}
	print STDERR "# interrupted by SIG$signal\n" if $signal;
	return $status;
}

# ------------------------------------------------------------ accessors

sub base_url       { $_[0]{base_url} }
sub url            { $_[0]{base_url} . ($_[1] // '/') }
sub port           { $_[0]{port} }
sub config_path    { $_[0]{config_path} }
sub log_path       { $_[0]{logs}{fcgi} }
sub nginx_log_path { $_[0]{logs}{nginx_access} }
sub nginx_error_log_path { $_[0]{logs}{nginx_error} }
sub pg_log_path    { $_[0]{logs}{pg} }
sub tmpdir         { $_[0]{tmpdir} }
sub blob_dir       { $_[0]{blob_dir} }
sub build_dir      { $_[0]{build} }
sub allowed_origin { $_[0]{allowed_origin} }
sub state          { +{ %{ $_[0] } } }

# ------------------------------------------------------------ HTTP

# One HTTP request through nginx. $o: json (data or pre-encoded string; sets
# Content-Type application/json unless given), body (raw bytes), headers
# ({name => value}), local_address (source address, e.g. 127.0.0.5),
# timeout (s). Returns a Coffer::Test::Response: {status, reason, headers
# (lower-case names; repeated headers as array refs), content, json (decoded
# when the body is JSON, else undef)}. Status 599 = connection-level failure.
sub request {
	my ($self, $method, $path, $o) = @_;
	$o ||= {};
	my %h = %{ $o->{headers} || {} };
	my %args = (headers => \%h);
	if (exists $o->{json}) {
		$args{content} = ref $o->{json} ? $JSON->encode($o->{json}) : $o->{json};
		$h{'Content-Type'} //= 'application/json' unless grep { lc eq 'content-type' } keys %h;
	} elsif (defined $o->{body}) {
		$args{content} = $o->{body};
	}
	my $http = HTTP::Tiny->new(
		agent => 'coffer-test/1', max_redirect => 0, keep_alive => 0,
		timeout => $o->{timeout} // 60,
		($o->{local_address} ? (local_address => $o->{local_address}) : ()),
	);
	my $url = $path =~ m{^https?://} ? $path : $self->url($path);
	my $r = $http->request(uc $method, $url, \%args);
	return Coffer::Test::Response->new($r);
}

sub get    { my ($s, $p, $o) = @_; $s->request(GET => $p, $o) }
sub delete { my ($s, $p, $o) = @_; $s->request(DELETE => $p, $o) }
sub post_json  { my ($s, $p, $d, $o) = @_; $s->request(POST => $p, { %{ $o || {} }, json => $d }) }
sub put_json   { my ($s, $p, $d, $o) = @_; $s->request(PUT => $p, { %{ $o || {} }, json => $d }) }
sub patch_json { my ($s, $p, $d, $o) = @_; $s->request(PATCH => $p, { %{ $o || {} }, json => $d }) }

# A client with its own cookie jar (and optional bearer token). Options:
# local_address (default: a fresh 127.x.y.z, so per-address throttles of one
# test do not leak into another; pass '127.0.0.1' to share), origin (sent as
# Origin on every request), token (Authorization: Bearer).
sub client {
	my ($self, %o) = @_;
	return Coffer::Test::Client->new($self, %o);
}

my $ip_counter = 0;

# A loopback source address not handed out before by this process.
sub unique_ip {
	my $a = 10 + $$ % 200;
	my $n = $ip_counter++;
	return sprintf '127.%d.%d.%d', $a, int($n / 250) % 250, $n % 250 + 1;
}

my $name_counter = 0;

# A unique name (valid as a username): PREFIX + pid + counter + random.
sub unique_name {
	my ($self, $prefix) = @_;
	$prefix //= 'u';
	return sprintf '%s%dx%d%04x', $prefix, $$, ++$name_counter, int rand 0x10000;
}

# Register a fresh user; returns its logged-in client, with {username,
# email, password, user (the user object), response}. Options: username,
# email, password, plus client options. Dies unless the answer is 201.
sub register_user {
	my ($self, %o) = @_;
	my $username = CORE::delete $o{username} // $self->unique_name('u');
	my $email = CORE::delete $o{email} // lc($username) . '@example.com';
	my $password = CORE::delete $o{password} // 'correct horse battery staple';
	my $c = $self->client(%o);
	my $r = $c->post_json('/api/auth/register', { username => $username, email => $email, password => $password });
	$r->{status} == 201
		or croak "register_user($username): $r->{status} " . ($r->{content} // '');
	@$c{qw(username email password user response)} = ($username, $email, $password, $r->{json}{user}, $r);
	return $c;
}

# Poll until $path answers $status (or croak after $timeout seconds).
sub wait_for_status {
	my ($self, $path, $status, $timeout) = @_;
	return $self->_wait_http($path, $status, $timeout // 30);
}

sub _wait_http {
	my ($self, $path, $want, $timeout) = @_;
	my $end = time + $timeout;
	my $r;
	while (1) {
		$r = $self->request(GET => $path, { timeout => 10 });
		return $r if $r->{status} == $want;
		last if time > $end;
		sleep 0.1;
	}
	die "GET $path: wanted $want, still $r->{status} after ${timeout}s: " . ($r->{content} // '') . "\n";
}

# ------------------------------------------------------------ PostgreSQL

# A command line that runs @cmd as the cluster's owner (postgres when we are
# root: PostgreSQL refuses root). Run it with cwd => '/' (see _run_pg).
sub _as_pg {
	my ($self, @cmd) = @_;
	return $> == 0 ? ('runuser', '-u', 'postgres', '--', @cmd) : @cmd;
}

sub _run_pg {
	my ($self, $cmd, %o) = @_;
	return _run([ $self->_as_pg(@$cmd) ], cwd => '/', %o);
}

sub _pg_init {
	my ($self) = @_;
	my $base = "$self->{tmpdir}/pg";
	mkdir $base, 0700 or die "mkdir $base: $!";
	my $password = join '', map { sprintf '%02x', int rand 256 } 1 .. 16;
	my $pwfile = "$base/pwfile";
	_write_file($pwfile, "$password\n", 0600);
	if ($> == 0) {
		my (undef, undef, $uid, $gid) = getpwnam('postgres') or die "no postgres user\n";
		chown $uid, $gid, $base, $pwfile;
	}
	my %pg = (
		bin => $PGBIN, base => $base, datadir => "$base/data", log => "$base/postgresql.log",
		user => 'coffer', password => $password, database => 'coffer',
		os_user => ($> == 0 ? 'postgres' : scalar getpwuid($>)),
	);
	my $r = $self->_run_pg([ "$PGBIN/initdb", '-D', $pg{datadir}, '-U', 'coffer',
		"--pwfile=$pwfile", '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync',
		'--auth-local=scram-sha-256', '--auth-host=scram-sha-256' ]);
	$r->{exit} == 0 or die "initdb failed:\n$r->{out}$r->{err}";
	unlink $pwfile;
	$self->{pg} = \%pg;
	# Throwaway cluster: durability off for speed. The port is set at start.
	my $conf = join '', map { "$_\n" } (
		'', '# --- Coffer::Test ---',
		"listen_addresses = '127.0.0.1'", "unix_socket_directories = ''",
		'fsync = off', 'synchronous_commit = off', 'full_page_writes = off',
		"timezone = 'UTC'", "log_timezone = 'UTC'",
	);
	my $a = $self->_run_pg([ 'sh', '-c', "cat >> '$pg{datadir}/postgresql.conf'" ], stdin => $conf);
	$a->{exit} == 0 or die "cannot write postgresql.conf: $a->{err}";
}

# Start PostgreSQL (again) and wait until it accepts queries. The first start
# picks a free port; later starts (after pg_stop) reuse it.
sub pg_start {
	my ($self) = @_;
	my $pg = $self->{pg};
	for my $try (1 .. 3) {
		$pg->{port} ||= _free_port();
		my $r = $self->_run_pg([ "$PGBIN/pg_ctl", '-D', $pg->{datadir}, '-l', $pg->{log},
			'-o', "-p $pg->{port}", '-w', '-t', '60', 'start' ]);
		last if $r->{exit} == 0;
		die "pg_ctl start failed:\n$r->{out}$r->{err}" . _tail($pg->{log}, 20) if $try == 3 || $self->{base_url};
		CORE::delete $pg->{port};    # probably lost a race for the port: pick another
	}
	my $end = time + 30;
	until (eval { $self->psql('SELECT 1', database => 'postgres'); 1 }) {
		die "PostgreSQL does not answer: $@" if time > $end;
		sleep 0.1;
	}
	unless ($self->psql("SELECT 1 FROM pg_database WHERE datname = 'coffer'", database => 'postgres')) {
		$self->psql('CREATE DATABASE coffer', database => 'postgres');
	}
	return 1;
}

# Stop PostgreSQL (fast mode: sessions are cut) and wait until it is down.
sub pg_stop {
	my ($self) = @_;
	my $r = $self->_run_pg([ "$PGBIN/pg_ctl", '-D', $self->{pg}{datadir}, '-m', 'fast', '-w', '-t', '60', 'stop' ]);
	return 1 if $r->{exit} == 0;
	my $st = $self->_run_pg([ "$PGBIN/pg_ctl", '-D', $self->{pg}{datadir}, 'status' ]);
	return 1 if $st->{exit} == 3;    # was not running
	croak "pg_ctl stop failed: $r->{out}$r->{err}";
}

sub pg_restart { my ($self) = @_; $self->pg_stop; $self->pg_start }

# Run SQL as the superuser in database coffer (option database => NAME).
# Returns psql's unaligned output (rows joined by "\n", columns by "|"),
# chomped; croaks when psql fails.
sub psql {
	my ($self, $sql, %o) = @_;
	my $pg = $self->{pg};
	my $r = _run([ "$PGBIN/psql", '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		'-h', '127.0.0.1', '-p', $pg->{port}, '-U', $pg->{user}, '-d', $o{database} // $pg->{database},
		($o{separator} ? ('-F', $o{separator}) : ()), '-c', $sql ],
		env => { PGPASSWORD => $pg->{password}, PGCONNECT_TIMEOUT => 5 });
	$r->{exit} == 0 or croak "psql failed ($sql): $r->{err}";
	chomp(my $out = $r->{out});
	return $out;
}

# Rows of a query as a list of array refs.
sub psql_rows {
	my ($self, $sql, %o) = @_;
	my $out = $self->psql($sql, %o, separator => "\x1f");
	return map { [ split /\x1f/, $_, -1 ] } grep { length } split /\n/, $out;
}

# The libpq connection string of the test database (superuser).
sub conninfo {
	my ($self) = @_;
	my $pg = $self->{pg};
	return "host=127.0.0.1 port=$pg->{port} dbname=$pg->{database} user=$pg->{user} password=$pg->{password} connect_timeout=3";
}

# ------------------------------------------------------------ workers

sub _write_config {
	my ($self, $workers, $extra) = @_;
	my %c = (
		listen => "unix:$self->{socket}",
		socket_mode => '0660',
		workers => $workers,
		pid_file => $self->{pid_file},
		db => $self->conninfo,
		blob_dir => $self->{blob_dir},
		migrations_dir => "$REPO/migrations",
		allowed_origins => "$ALLOWED_ORIGIN https://app.example.com",
		%$extra,
	);
	my $text = "# written by Coffer::Test\n" . join '', map { "$_ = $c{$_}\n" } sort keys %c;
	_write_file($self->{config_path}, $text, 0600);
	$self->{config} = \%c;
}

# Environment for the stack's own processes: no stray COFFER_<KEY> overrides
# from the caller, and sanitizer reports into files that the run checks.
sub _child_env {
	my ($self) = @_;
	my %env = (map { $_ => undef } grep { /^COFFER_/ && !/^COFFER_(BUILD|TEST_)/ } keys %ENV);
	my $dir = $self->{sanitizer_dir};
	$env{ASAN_OPTIONS} = "log_path=$dir/asan:detect_leaks=1" unless $ENV{ASAN_OPTIONS};
	$env{UBSAN_OPTIONS} = "log_path=$dir/ubsan:print_stacktrace=1" unless $ENV{UBSAN_OPTIONS};
	$env{LSAN_OPTIONS} = "log_path=$dir/lsan" unless $ENV{LSAN_OPTIONS};
	return \%env;
}

# Start the prefork master (coffer-fcgi -c CONFIG) and wait for its socket.
sub fcgi_start {
	my ($self) = @_;
	unlink $self->{socket};
	my $pid = _spawn([ "$self->{build}/coffer-fcgi", '-c', $self->{config_path} ],
		log => $self->{logs}{fcgi}, env => $self->_child_env);
	$self->{fcgi_pid} = $pid;
	my $end = time + 30;
	until (-S $self->{socket}) {
		_gone($pid) and die "coffer-fcgi exited at start:\n" . _tail($self->{logs}{fcgi}, 30);
		time > $end and die "coffer-fcgi made no socket in 30s:\n" . _tail($self->{logs}{fcgi}, 30);
		sleep 0.05;
	}
	$self->_save_state if $self->{base_url};
	return $pid;
}

# Stop the master gracefully (SIGTERM: in-flight requests finish); SIGKILL
# its process group after $timeout seconds (default 30).
sub fcgi_stop {
	my ($self, $timeout) = @_;
	my $pid = $self->{fcgi_pid} or return;
	$self->_stop_pid($pid, 'TERM', $timeout // 30);
	CORE::delete $self->{fcgi_pid};
	$self->_save_state if $self->{base_url} && -d $self->{tmpdir};
}

# Replace the worker master (e.g. after a test killed it).
sub fcgi_restart {
	my ($self) = @_;
	$self->fcgi_stop;
	$self->fcgi_start;
	$self->_wait_http('/healthz', 200, 30);
}

sub fcgi_master_pid { $_[0]{fcgi_pid} }

# Pids of the master's current children (the workers), sorted.
sub worker_pids {
	my ($self) = @_;
	my $master = $self->{fcgi_pid} or return ();
	return sort { $a <=> $b } _children($master);
}

# Wait until the master has $n workers (default: the configured count).
sub wait_workers {
	my ($self, $n, $timeout) = @_;
	$n //= $self->{config}{workers};
	my $end = time + ($timeout // 30);
	while (1) {
		my @w = $self->worker_pids;
		return @w if @w == $n;
		croak "wanted $n workers, have " . scalar(@w) if time > $end;
		sleep 0.05;
	}
}

# True while $pid runs. Unlike kill 0, a zombie (a stopped process that its
# parent, perhaps the harness in another process, has not reaped) is dead.
sub pid_alive { my ($self, $pid) = @_; return !_gone($pid) }

# Send a signal to the master (e.g. 'HUP').
sub fcgi_signal {
	my ($self, $sig) = @_;
	return kill $sig, $self->{fcgi_pid};
}

# Run build/coffer-admin -c CONFIG @args from the repo root. An optional
# leading hash ref gives {stdin => text, env => {NAME => value}}. Returns
# {exit, out, err}.
sub admin {
	my ($self, @args) = @_;
	my $o = ref $args[0] eq 'HASH' ? shift @args : {};
	my $env = { %{ $self->_child_env }, %{ $o->{env} || {} } };
	my $r = _run([ "$self->{build}/coffer-admin", '-c', $self->{config_path}, @args ],
		stdin => $o->{stdin}, env => $env, cwd => $REPO);
	if (open my $log, '>>', $self->{logs}{admin}) {
		print $log "\$ coffer-admin @args  (exit $r->{exit})\n$r->{out}$r->{err}";
	}
	return $r;
}

# ------------------------------------------------------------ nginx

sub _nginx_start {
	my ($self, $opts) = @_;
	my $prefix = $self->{nginx_prefix};
	my $nginx = -x '/usr/sbin/nginx' ? '/usr/sbin/nginx' : 'nginx';
	my $stderr = "$self->{tmpdir}/log/nginx.stderr";
	for my $try (1 .. 3) {
		my $port = _free_port();
		my %keys = (%NGINX_TEST_LIMITS, WORKER_PROCESSES => 1, %$opts,
			PORT => $port, FCGI_UPSTREAM => "unix:$self->{socket}", BLOB_DIR => $self->{blob_dir});
		my $r = _run([ "$REPO/nginx/render", $prefix, map { "$_=$keys{$_}" } sort keys %keys ]);
		$r->{exit} == 0 or die "nginx/render failed: $r->{err}";
		unlink "$prefix/nginx.pid";
		my $pid = _spawn([ $nginx, '-p', $prefix, '-c', "$prefix/nginx.conf", '-g', 'daemon off;' ],
			log => $stderr);
		# nginx writes its pid file only once it has bound its port
		my $end = time + 30;
		my $up;
		until ($up) {
			if (_gone($pid)) {
				my $why = _tail($stderr, 10) . _tail($self->{logs}{nginx_error}, 10);
				last if $try < 3 && $why =~ /Address already in use/;    # lost a race for the port
				die "nginx exited at start:\n$why";
			}
			die "nginx did not start in 30s\n" if time > $end;
			my $written = -s "$prefix/nginx.pid" && _tail("$prefix/nginx.pid", 1);
			$up = $written && $written =~ /^\s*$pid\s*$/;
			sleep 0.05 unless $up;
		}
		next unless $up;
		$self->{nginx_pid} = $pid;
		$self->{port} = $port;
		$self->{base_url} = "http://127.0.0.1:$port";
		return;
	}
}

# ------------------------------------------------------------ logs

# Current size of the worker log: pass it to log_since to get what was
# logged after it.
sub log_mark { -s $_[0]->log_path || 0 }

sub log_since {
	my ($self, $mark, $file) = @_;
	$file //= $self->log_path;
	open my $fh, '<', $file or return '';
	seek $fh, $mark // 0, 0;
	local $/;
	return scalar(<$fh>) // '';
}

# Print the tails of every log of the stack to stderr.
sub dump_logs {
	my ($self, $lines) = @_;
	$lines //= 40;
	for my $f ($self->{logs}{fcgi}, $self->{logs}{admin}, "$self->{tmpdir}/log/nginx.stderr",
		$self->{logs}{nginx_error}, $self->{logs}{pg}) {
		next unless $f && -s $f;
		print STDERR "# ---- last $lines lines of $f\n", _tail($f, $lines);
	}
}

# Text of sanitizer reports written by the stack's processes so far.
sub sanitizer_reports_text {
	my ($self) = @_;
	return @{ $self->{sanitizer_reports} } if $self->{sanitizer_reports};
	my @out;
	for my $f (sort glob("$self->{sanitizer_dir}/*")) {
		open my $fh, '<', $f or next;
		push @out, "# ---- $f\n", <$fh>;
	}
	return @out;
}

sub _save_state {
	my ($self) = @_;
	my %st = map { $_ => $self->{$_} } grep {
		!/^(owner_pid|stopped|state_file|sanitizer_reports)$/
	} keys %$self;
	_write_file("$self->{state_file}.tmp", JSON::PP->new->canonical->pretty->encode(\%st), 0600);
	rename "$self->{state_file}.tmp", $self->{state_file} or die "rename state: $!";
}

# ------------------------------------------------------------ processes

# Run a command to completion. Options: stdin (text), env ({NAME => value,
# undef deletes}), cwd. Returns {exit, out, err}.
sub _run {
	my ($cmd, %o) = @_;
	my ($out_fh, $out_file) = tempfile(UNLINK => 1);
	my ($err_fh, $err_file) = tempfile(UNLINK => 1);
	my ($in_fh, $in_file) = tempfile(UNLINK => 1);
	print $in_fh $o{stdin} if defined $o{stdin};
	close $in_fh;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', $in_file or POSIX::_exit(126);
		open STDOUT, '>', $out_file or POSIX::_exit(126);
		open STDERR, '>', $err_file or POSIX::_exit(126);
		_apply_env($o{env});
		chdir $o{cwd} or POSIX::_exit(126) if $o{cwd};
		exec { $cmd->[0] } @$cmd or do { print STDERR "exec $cmd->[0]: $!\n"; POSIX::_exit(127) };
	}
	1 while waitpid($pid, 0) == -1 && $!{EINTR};
	my $status = $?;
	my $slurp = sub { open my $fh, '<', $_[0] or return ''; local $/; scalar(<$fh>) // '' };
	my %r = (exit => ($status & 127 ? 128 + ($status & 127) : $status >> 8),
		out => $slurp->($out_file), err => $slurp->($err_file));
	unlink $out_file, $err_file, $in_file;
	return \%r;
}

# Start a long-running process in its own session (so a terminal's Ctrl-C
# reaches only the harness, which then stops it in order), output appended
# to a log. Returns its pid.
sub _spawn {
	my ($cmd, %o) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		POSIX::setsid();
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $o{log} or POSIX::_exit(126);
		open STDERR, '>&', \*STDOUT;
		_apply_env($o{env});
		chdir $REPO;
		exec { $cmd->[0] } @$cmd or do { print STDERR "exec $cmd->[0]: $!\n"; POSIX::_exit(127) };
	}
	return $pid;
}

sub _apply_env {
	my ($env) = @_;
	return unless $env;
	while (my ($k, $v) = each %$env) {
		if (defined $v) { $ENV{$k} = $v } else { CORE::delete $ENV{$k} }
	}
}

# True when $pid no longer runs (reaped here if it was our child; a zombie
# of another parent counts as gone).
sub _gone {
	my ($pid) = @_;
	my $r = waitpid($pid, WNOHANG);
	return 1 if $r == $pid;
	return 1 unless kill 0, $pid;
	if (open my $fh, '<', "/proc/$pid/stat") {
		my $st = <$fh>;
		return 1 if $st && $st =~ /\)\s+Z/;
	}
	return 0;
}

# Stop $pid with $sig, SIGKILL its process group after $timeout seconds; then
# end whatever is left of the group (workers orphaned by a crashed master).
sub _stop_pid {
	my ($self, $pid, $sig, $timeout) = @_;
	return unless $pid;
	$self->_stop_leader($pid, $sig, $timeout);
	if (_group_members($pid)) {
		kill 'TERM', -$pid;
		my $end = time + 2;
		sleep 0.05 while _group_members($pid) && time < $end;
		kill 'KILL', -$pid if _group_members($pid);
	}
}

sub _stop_leader {
	my ($self, $pid, $sig, $timeout) = @_;
	return if _gone($pid);
	kill $sig, $pid;
	my $end = time + $timeout;
	until (_gone($pid)) {
		if (time > $end) {
			print STDERR "# pid $pid ignored SIG$sig for ${timeout}s: killing its process group\n";
			kill 'KILL', -$pid;
			kill 'KILL', $pid;
			$end = time + 5;
			$timeout = 0;
			until (_gone($pid)) { last if time > $end; sleep 0.05 }
			return;
		}
		sleep 0.05;
	}
}

# Live (not zombie) processes as [pid, state, ppid, pgrp], from /proc.
sub _procs {
	my @p;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open my $fh, '<', $stat or next;
		my $line = <$fh> // next;
		# pid (comm) state ppid pgrp ...; comm may contain spaces and parens
		$line =~ /^(\d+) \(.*\) (\S) (\d+) (\d+) / or next;
		push @p, [ $1, $2, $3, $4 ] if $2 ne 'Z' && $2 ne 'X';
	}
	return @p;
}

sub _children {
	my ($ppid) = @_;
	return map { $_->[0] } grep { $_->[2] == $ppid } _procs();
}

sub _group_members {
	my ($pgid) = @_;
	return map { $_->[0] } grep { $_->[3] == $pgid } _procs();
}

sub _free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
		or die "no free port: $!";
	my $port = $s->sockport;
	close $s;
	return $port;
}

sub _write_file {
	my ($file, $text, $mode) = @_;
	open my $fh, '>', $file or die "$file: $!";
	chmod $mode, $file if defined $mode;
	print $fh $text;
	close $fh or die "$file: $!";
}

sub _tail {
	my ($file, $n) = @_;
	open my $fh, '<', $file or return '';
	my @lines = <$fh>;
	splice @lines, 0, @lines - $n if @lines > $n;
	return join '', @lines;
}

# ================================================================ Response

# ------------------------------------------------------------ test helpers
# Exported on request: use Coffer::Test qw(problem_ok api_epoch);
our @EXPORT_OK = qw(problem_ok api_epoch);

# ok() that $r is problem JSON with this status and code; shows it if not.
sub problem_ok {
	my ($r, $status, $code, $name) = @_;
	local $Test::Builder::Level = ($Test::Builder::Level // 1) + 1;
	my $ok = $r->is_problem($status, $code);
	Test::More::ok($ok, $name) or Test::More::diag('got: ' . $r->describe);
	return $ok;
}

# Seconds since the epoch of an API timestamp (2026-11-23T22:44:00Z), or undef.
sub api_epoch {
	my ($t) = @_;
	require Time::Local;
	my ($Y, $M, $D, $h, $m, $sec) = ($t // '') =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or return undef;
	return Time::Local::timegm($sec, $m, $h, $D, $M - 1, $Y);
}

package Coffer::Test::Response;

# A plain hash {status, reason, headers, content, json} with helpers.
sub new {
	my ($class, $r) = @_;
	my $self = bless {
		status => $r->{status}, reason => $r->{reason},
		headers => $r->{headers} || {}, content => $r->{content} // '',
		json => undef,
	}, $class;
	my $ct = $self->header('content-type') // '';
	if ($ct =~ m{^application/(?:[\w.+-]+\+)?json\b}i && length $self->{content}) {
		$self->{json} = eval { $Coffer::Test::JSON->decode($self->{content}) };
		$self->{json_error} = $@ if $@;
	}
	return $self;
}

# Value of a header (case-insensitive); repeated headers joined with ", ".
# In list context, every value.
sub header {
	my ($self, $name) = @_;
	my $v = $self->{headers}{ lc $name };
	my @v = !defined $v ? () : ref $v ? @$v : ($v);
	return wantarray ? @v : @v ? join(', ', @v) : undef;
}

sub is_problem {
	my ($self, $status, $code) = @_;
	return ($self->header('content-type') // '') =~ m{^application/problem\+json}
		&& $self->{status} == $status && ref $self->{json} eq 'HASH'
		&& (!defined $code || ($self->{json}{code} // '') eq $code);
}

# "STATUS body" for test diagnostics.
sub describe { my ($self) = @_; "$self->{status} $self->{content}" }

# ================================================================ Client

package Coffer::Test::Client;

use Carp qw(croak);

sub new {
	my ($class, $stack, %o) = @_;
	return bless {
		stack => $stack, jar => {},
		local_address => $o{local_address} // Coffer::Test::unique_ip(),
		origin => $o{origin}, token => $o{token},
		headers => $o{headers} || {},
	}, $class;
}

# Like Coffer::Test::request, plus this client's cookies, token, Origin and
# source address; Set-Cookie answers update the jar.
sub request {
	my ($self, $method, $path, $o) = @_;
	$o = { %{ $o || {} } };
	my %h = (%{ $self->{headers} }, %{ $o->{headers} || {} });
	my $lc = sub { my $n = shift; grep { lc eq $n } keys %h };
	if (%{ $self->{jar} } && !$lc->('cookie')) {
		$h{Cookie} = join '; ', map { "$_=$self->{jar}{$_}" } sort keys %{ $self->{jar} };
	}
	$h{Authorization} = "Bearer $self->{token}" if defined $self->{token} && !$lc->('authorization');
	$h{Origin} = $self->{origin} if defined $self->{origin} && !$lc->('origin');
	$o->{headers} = \%h;
	$o->{local_address} //= $self->{local_address};
	my $r = $self->{stack}->request($method, $path, $o);
	$self->_take_cookies($r);
	return $self->{last} = $r;
}

sub _take_cookies {
	my ($self, $r) = @_;
	for my $sc ($r->header('set-cookie')) {
		my ($pair, @attrs) = split /;\s*/, $sc;
		my ($name, $value) = $pair =~ /^\s*([^=]+?)\s*=\s*(.*?)\s*$/ or next;
		my $expired = $value eq '';
		for (@attrs) {
			$expired = 1 if /^max-age\s*=\s*(-?\d+)/i && $1 <= 0;
			$expired = 1 if /^expires\s*=\s*.*\b19[0-9][0-9]\b/i;
		}
		if ($expired) { CORE::delete $self->{jar}{$name} } else { $self->{jar}{$name} = $value }
	}
}

sub get     { my ($s, $p, $o) = @_; $s->request(GET => $p, $o) }
sub head    { my ($s, $p, $o) = @_; $s->request(HEAD => $p, $o) }
sub delete  { my ($s, $p, $o) = @_; $s->request(DELETE => $p, $o) }
sub options { my ($s, $p, $o) = @_; $s->request(OPTIONS => $p, $o) }
sub post    { my ($s, $p, $o) = @_; $s->request(POST => $p, $o) }
sub post_json  { my ($s, $p, $d, $o) = @_; $s->request(POST => $p, { %{ $o || {} }, json => $d }) }
sub put_json   { my ($s, $p, $d, $o) = @_; $s->request(PUT => $p, { %{ $o || {} }, json => $d }) }
sub patch_json { my ($s, $p, $d, $o) = @_; $s->request(PATCH => $p, { %{ $o || {} }, json => $d }) }

# Log in with username/email + password (default: the registered ones).
sub login {
	my ($self, $login, $password) = @_;
	return $self->post_json('/api/auth/login',
		{ login => $login // $self->{username}, password => $password // $self->{password} });
}

sub logout { $_[0]->post('/api/auth/logout') }

sub cookie      { $_[0]{jar}{ $_[1] } }
sub set_cookie  { $_[0]{jar}{ $_[1] } = $_[2] }
sub clear_cookies { %{ $_[0]{jar} } = () }
sub session     { $_[0]{jar}{coffer_session} }
sub token       { my $s = shift; $s->{token} = shift if @_; $s->{token} }
sub origin      { my $s = shift; $s->{origin} = shift if @_; $s->{origin} }
sub local_address { $_[0]{local_address} }
sub last        { $_[0]{last} }

1;
