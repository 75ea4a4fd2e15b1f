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
	SHARE_RATE => '200r/s', SHARE_BURST => 400,
);
our $ALLOWED_ORIGIN = 'http://localhost:3000';

# coffer.conf keys of the stacks the test suite runs against (scripts/test,
# or a test file run alone), on top of start()'s: limits small enough to
# reach in a test, a blocked type for the upload policy, few versions kept,
# and a background job that runs every second. start() itself keeps the
# product defaults (bench/ uses it).
our %SUITE_CONFIG = (
	max_file_size => '4M',
	max_request_size => '16M',
	versions_keep => 3,
	upload_mime_block => 'application/x-dosexec',
	jobs_interval => 1,
	raw_grace => 1,
	compress => 'on',
	jobs_threshold => 20,
);
# nginx/render keys of those stacks. COFFER_TEST_UPLOAD_BUFFERING=off runs
# the suite with upload bodies streamed to the workers as they arrive
# (nginx/render UPLOAD_BUFFERING; its default, on, buffers them first).
our %SUITE_NGINX = (
	(defined $ENV{COFFER_TEST_UPLOAD_BUFFERING} ? (UPLOAD_BUFFERING => $ENV{COFFER_TEST_UPLOAD_BUFFERING}) : ()),
);

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
		$singleton = $class->start(config => {%SUITE_CONFIG}, nginx => {%SUITE_NGINX});
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
# (extra coffer.conf keys), nginx => {KEY => value} (nginx/render keys),
# pg_conf => {name => value} (extra postgresql.conf settings, appended after
# the harness's own, each value single-quoted: e.g. shared_buffers => '1GB'
# for bench/search; none by default).
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
		$self->_pg_init($o{pg_conf} || {});
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
	my $s = Coffer::Test->start(config => {%SUITE_CONFIG}, nginx => {%SUITE_NGINX});
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

# The stack's coffer.conf settings: a copy of all (hash ref), or one value.
sub config {
	my ($self, $key) = @_;
	return defined $key ? $self->{config}{$key} : { %{ $self->{config} || {} } };
}

# A size setting in bytes (suffixes K, M, G, T are binary, as in
# coffer.conf), or $default when the stack's config does not set it.
sub config_size {
	my ($self, $key, $default) = @_;
	my $v = $self->{config}{$key};
	return $default unless defined $v && length $v;
	return parse_size($v);
}

# Bytes of a coffer.conf size ("4M", "512k", "1G", "123"); croaks if bad.
sub parse_size {
	my ($v) = @_;
	my ($n, $u) = $v =~ /^\s*(\d+)\s*([kKmMgGtT]?)[bB]?\s*$/ or croak "bad size '$v'";
	my %mul = ('' => 1, k => 1 << 10, m => 1 << 20, g => 1 << 30, t => 1 << 40);
	return $n * $mul{ lc $u };
}

# Where the blob of this SHA-256 (64 hex) lives: <blob_dir>/ab/cd/<hex>, or
# its gzip copy <...>.gz when $gz.
sub blob_path {
	my ($self, $hex, $gz) = @_;
	croak "blob_path: not a SHA-256 hex '$hex'" unless $hex =~ /^[0-9a-f]{64}$/;
	return join('/', $self->{blob_dir}, substr($hex, 0, 2), substr($hex, 2, 2), $hex) . ($gz ? '.gz' : '');
}

# <blob_dir>/tmp, where uploads (up-*) and the compression job (gz-*) write.
sub blob_tmp_dir { "$_[0]{blob_dir}/tmp" }

# Names of the entries in <blob_dir>/tmp (none when it does not exist).
sub tmp_files {
	my ($self) = @_;
	opendir my $dh, $self->blob_tmp_dir or return ();
	return sort grep { $_ ne '.' && $_ ne '..' } readdir $dh;
}

# Paths (relative to blob_dir) of every file under blob_dir outside tmp/.
sub blob_files {
	my ($self) = @_;
	my @out;
	my @dirs = ('');
	while (defined(my $rel = shift @dirs)) {
		opendir my $dh, "$self->{blob_dir}/$rel" or next;
		for my $e (sort readdir $dh) {
			next if $e eq '.' || $e eq '..' || ($rel eq '' && $e eq 'tmp');
			my $r = $rel eq '' ? $e : "$rel/$e";
			if (-d "$self->{blob_dir}/$r") { push @dirs, $r } else { push @out, $r }
		}
	}
	return sort @out;
}

# Pids of the workers that hold a file under <blob_dir>/tmp open (an upload
# or a job in progress), per /proc/PID/fd.
sub workers_with_tmp_open {
	my ($self) = @_;
	my $tmp = $self->blob_tmp_dir;
	my @pids;
	for my $pid ($self->worker_pids) {
		opendir my $dh, "/proc/$pid/fd" or next;
		for my $fd (readdir $dh) {
			my $t = readlink "/proc/$pid/fd/$fd" // next;
			if (index($t, "$tmp/") == 0) { push @pids, $pid; last }
		}
	}
	return @pids;
}

# Workers write download counts and download log entries in batches, at
# most a second after the download (fcgi/files.c, DOWNLOADS_DELAY_MS): wait
# that long before looking at them.
sub settle_downloads {
	Time::HiRes::sleep(1.3);
}

# coffer-admin gc @args (e.g. '--grace', 0). Returns {exit, out, err}.
sub gc {
	my ($self, @args) = @_;
	return $self->admin('gc', @args);
}

# Set a user's quota with `coffer-admin set-quota` ($who: a username or a
# client from register_user; $size: bytes or "10M"). Croaks on failure.
sub set_quota {
	my ($self, $who, $size) = @_;
	my $name = ref $who ? $who->{username} : $who;
	my $r = $self->admin('set-quota', $name, $size);
	$r->{exit} == 0 or croak "set-quota $name $size: exit $r->{exit}: $r->{out}$r->{err}";
	return $r;
}

# A user's usage from the database: {used (users.storage_used), quota,
# retained (sum of the sizes of every version of every file not in the
# trash: what used must equal), files (live files), versions}. $who: a user
# id or a client from register_user.
sub usage {
	my ($self, $who) = @_;
	my $id = ref $who ? $who->{user}{id} : $who;
	croak "usage: not a user id" unless ($id // '') =~ /^[0-9a-f-]{36}$/;
	my ($row) = $self->psql_rows(qq{
		SELECT u.storage_used, u.storage_quota,
		       (SELECT coalesce(sum(v.size), 0) FROM file_versions v JOIN files f ON f.id = v.file_id
		         WHERE f.user_id = u.id AND NOT f.is_deleted),
		       (SELECT count(*) FROM files f WHERE f.user_id = u.id AND NOT f.is_deleted),
		       (SELECT count(*) FROM file_versions v JOIN files f ON f.id = v.file_id
		         WHERE f.user_id = u.id AND NOT f.is_deleted)
		  FROM users u WHERE u.id = '$id'});
	croak "usage: no user $id" unless $row;
	my %u;
	@u{qw(used quota retained files versions)} = @$row;
	return \%u;
}

# A raw HTTP/1.1 connection to nginx (Coffer::Test::Raw). Options:
# local_address, headers ({name => value} sent with send_head).
sub raw {
	my ($self, %o) = @_;
	return Coffer::Test::Raw->new($self, %o);
}

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
	my ($self, $extra) = @_;
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
		(map { my $v = $extra->{$_} =~ s/'/''/gr; "$_ = '$v'" } sort keys %{ $extra || {} }),
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
	return sort { $a <=> $b } map { $_->[0] }
		grep { $_->[2] == $master && $_->[4] ne 'coffer-jobs' } _procs();
}

# The background jobs process (compression) of the master, or undef.
sub jobs_pid {
	my ($self) = @_;
	my $master = $self->{fcgi_pid} or return undef;
	my ($p) = grep { $_->[2] == $master && $_->[4] eq 'coffer-jobs' } _procs();
	return $p ? $p->[0] : undef;
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
		# nginx's limit on an upload body (MAX_BODY) follows max_request_size
		my $body = $self->{config}{max_request_size};
		my %keys = (%NGINX_TEST_LIMITS, WORKER_PROCESSES => 1,
			(defined $body ? (MAX_BODY => parse_size($body)) : ()), %$opts,
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

# Live (not zombie) processes as [pid, state, ppid, pgrp, comm], from /proc.
sub _procs {
	my @p;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open my $fh, '<', $stat or next;
		my $line = <$fh> // next;
		# pid (comm) state ppid pgrp ...; comm may contain spaces and parens
		$line =~ /^(\d+) \((.*)\) (\S) (\d+) (\d+) /s or next;
		push @p, [ $1, $3, $4, $5, $2 ] if $3 ne 'Z' && $3 ne 'X';
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
our @EXPORT_OK = qw(pdf_text pct_encode problem_ok api_epoch wait_until multipart_body upload random_bytes
	file_object_ok http_date_epoch upload_ok upload_refused_ok sql_id byteranges
	content_disposition);

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

# Call $cond every $interval seconds (default 0.05) until it returns true or
# $timeout seconds (default 10) have passed. Returns its last value (false
# on timeout). $cond runs at least once, and once more after the deadline.
sub wait_until {
	my ($cond, $timeout, $interval) = @_;
	my $end = time + ($timeout // 10);
	while (1) {
		my $last = time >= $end;
		my $v = $cond->();
		return $v if $v || $last;
		sleep($interval // 0.05);
	}
}

# $id when it is a UUID, else the nil UUID: for SQL built around an id from
# an answer, so that a broken answer fails the test's checks rather than
# the query.
sub sql_id {
	my ($id) = @_;
	return defined $id && $id =~ /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
		? $id : '00000000-0000-0000-0000-000000000000';
}

# $n bytes of incompressible content: "rnd\0" then bytes from /dev/urandom
# (plain random bytes look like a DOS executable to libmagic about once in
# 40 files; with the prefix it always says application/octet-stream).
# A one-page PDF showing $text, with a correct cross-reference table.
sub pdf_text {
	my ($text) = @_;
	my $stream = "BT /F1 24 Tf 72 700 Td ($text) Tj ET";
	my @obj = (
		'<< /Type /Catalog /Pages 2 0 R >>',
		'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
		'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
			. '/Resources << /Font << /F1 5 0 R >> >> >>',
		'<< /Length ' . length($stream) . " >>\nstream\n$stream\nendstream",
		'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
	);
	my $out = "%PDF-1.4\n";
	my @off;
	for my $i (0 .. $#obj) {
		push @off, length $out;
		$out .= ($i + 1) . " 0 obj\n$obj[$i]\nendobj\n";
	}
	my $xref = length $out;
	$out .= "xref\n0 " . (@obj + 1) . "\n0000000000 65535 f \n";
	$out .= sprintf("%010d 00000 n \n", $_) for @off;
	$out .= "trailer\n<< /Size " . (@obj + 1) . " /Root 1 0 R >>\nstartxref\n$xref\n%%EOF\n";
	return $out;
}

sub random_bytes {
	my ($n) = @_;
	return '' unless $n;
	open my $fh, '<:raw', '/dev/urandom' or croak "/dev/urandom: $!";
	my $buf = substr "rnd\0", 0, $n >= 16 ? 4 : 0;
	while (length $buf < $n) {
		my $got = read $fh, $buf, $n - length $buf, length $buf;
		croak "/dev/urandom: $!" unless $got;
	}
	return $buf;
}

my $boundary_counter = 0;

# A multipart/form-data body. Returns ($body, $content_type).
#   fields   => [name => value, ...] or {name => value} (sorted): text parts,
#               sent first (the server applies fields to the files after them)
#   files    => [file, ...], after the fields; a file is
#               {name => filename, data => bytes, type => Content-Type
#                (default application/octet-stream; undef: no header),
#                field => the part's name (default "file"),
#                filename_star => value of a filename*= parameter
#                (e.g. "UTF-8''%C3%A9.txt"), no_filename => 1 (omit
#                filename=), headers => [extra header lines]}
#               or [filename, data, type] for short
#   parts    => [part, ...]: the exact sequence instead of fields + files; a
#               part is a file as above, {field => name, value => text} for
#               a text field, or {raw => bytes} for everything between two
#               delimiter lines (its headers, blank line and content)
#   boundary => the boundary (default a fresh random one)
#   preamble, epilogue => text before the first / after the last delimiter
#   truncate => cut the body after this many bytes (no closing delimiter)
# Character strings (utf8 flag on, e.g. literals under `use utf8`) in names,
# values and file data are sent UTF-8 encoded; byte strings exactly as they
# are, so "caf\xe9.txt" is a Latin-1, not UTF-8, name. Names are put between quotes
# unchanged: a name with a '"' makes a malformed header on purpose.
sub multipart_body {
	my (%o) = @_;
	my $b = $o{boundary} // sprintf('----CofferTest%d%d%08x', $$, ++$boundary_counter, int rand 0xffffffff);
	my @parts;
	if ($o{parts}) {
		@parts = @{ $o{parts} };
	} else {
		my $f = $o{fields} || [];
		my @kv = ref $f eq 'HASH' ? map { ($_, $f->{$_}) } sort keys %$f : @$f;
		while (@kv) {
			my ($k, $v) = splice @kv, 0, 2;
			push @parts, { field => $k, value => $v };
		}
		push @parts, @{ $o{files} || [] };
	}
	my $bytes = sub { my $x = shift // ''; utf8::encode($x) if utf8::is_utf8($x); $x };
	my $body = $o{preamble} // '';
	for my $p (@parts) {
		$p = { name => $p->[0], data => $p->[1], (@$p > 2 ? (type => $p->[2]) : ()) } if ref $p eq 'ARRAY';
		$body .= "--$b\r\n";
		if (exists $p->{raw}) {
			$body .= $p->{raw} . "\r\n";
			next;
		}
		if (exists $p->{value}) {    # text field
			$body .= 'Content-Disposition: form-data; name="' . $bytes->($p->{field}) . "\"\r\n";
			$body .= "$_\r\n" for @{ $p->{headers} || [] };
			$body .= "\r\n" . $bytes->($p->{value}) . "\r\n";
			next;
		}
		my $cd = 'Content-Disposition: form-data; name="' . $bytes->($p->{field} // 'file') . '"';
		$cd .= '; filename="' . $bytes->($p->{name}) . '"' unless $p->{no_filename};
		$cd .= "; filename*=$p->{filename_star}" if defined $p->{filename_star};
		$body .= "$cd\r\n";
		my $type = exists $p->{type} ? $p->{type} : 'application/octet-stream';
		$body .= "Content-Type: $type\r\n" if defined $type;
		$body .= "$_\r\n" for @{ $p->{headers} || [] };
		$body .= "\r\n" . $bytes->($p->{data}) . "\r\n";
	}
	$body .= "--$b--\r\n" . ($o{epilogue} // '');
	$body = substr($body, 0, $o{truncate}) if defined $o{truncate};
	return ($body, "multipart/form-data; boundary=$b");
}

# POST /api/upload as $client (a Coffer::Test::Client) with a body from
# multipart_body(%o) (files, fields, parts, boundary, ...). Also: query =>
# {name => value} or "a=b&c=d" (appended to the URL), content_type =>
# override the Content-Type header, headers => {...}, timeout. Returns the
# Coffer::Test::Response.
sub upload {
	my ($client, %o) = @_;
	my ($body, $ct) = multipart_body(%o);
	my $q = $o{query} // '';
	if (ref $q eq 'HASH') {
		$q = join '&', map { pct_encode($_) . '=' . pct_encode($q->{$_}) } sort keys %$q;
	}
	my $path = '/api/upload' . (length $q ? "?$q" : '');
	return $client->request(POST => $path, {
		body => $body,
		headers => { 'Content-Type' => $o{content_type} // $ct, %{ $o{headers} || {} } },
		(defined $o{timeout} ? (timeout => $o{timeout}) : ()),
	});
}

# A query string value, percent-encoded (UTF-8; unreserved characters kept).
sub pct_encode {
	my ($v) = @_;
	$v //= '';
	utf8::encode($v) if utf8::is_utf8($v);
	$v =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
	return $v;
}

my $UUID_RE = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

# Subtest: $f is a file object of plan.md (exactly its fields, each of the
# right shape) and every key of %$want has that value (is_deeply).
sub file_object_ok {
	my ($f, $want, $name) = @_;
	local $Test::Builder::Level = ($Test::Builder::Level // 1) + 1;
	return Test::More::subtest($name // 'file object', sub {
		Test::More::is(ref $f, 'HASH', 'an object') or return;
		# file details (GET) add metadata; upload answers and listings do not
		Test::More::is_deeply([ sort grep { $_ ne 'metadata' } keys %$f ], [ sort qw(kind id name folder_id size
			mime_type sha256 description tags version download_count created_at updated_at sharing permissions) ],
			'exactly the fields of a file object');
		Test::More::is(ref $f->{metadata}, 'HASH', 'metadata is an object') if exists $f->{metadata};
		Test::More::is_deeply($f->{permissions}, { map { $_ => JSON::PP::true() } qw(view download edit delete share upload) },
			"the owner's permissions") if ref $f->{permissions};
		Test::More::is($f->{kind}, 'file', 'kind: file');
		Test::More::like($f->{id} // '', $UUID_RE, 'id is a UUID');
		Test::More::like($f->{folder_id} // '', $UUID_RE, 'folder_id is a UUID');
		Test::More::like($f->{sha256} // '', qr/^[0-9a-f]{64}$/, 'sha256: 64 lowercase hex');
		my $raw = $JSON->encode($f);
		Test::More::unlike($raw, qr/"(?:size|version|download_count)":"/, 'numbers are JSON numbers');
		Test::More::like($f->{size} // '', qr/^\d+$/, 'size is an integer');
		Test::More::like($f->{version} // '', qr/^[1-9]\d*$/, 'version >= 1');
		Test::More::like($f->{download_count} // '', qr/^\d+$/, 'download_count is an integer');
		Test::More::like($f->{created_at} // '', $TIME_RE, 'created_at RFC 3339 UTC');
		Test::More::like($f->{updated_at} // '', $TIME_RE, 'updated_at RFC 3339 UTC');
		Test::More::ok(defined $f->{mime_type} && $f->{mime_type} =~ m{^[\w.+-]+/[\w.+-]+}, 'mime_type is a type/subtype');
		Test::More::ok(defined $f->{description} && !ref $f->{description}, 'description is a string');
		Test::More::is(ref $f->{tags}, 'ARRAY', 'tags is an array');
		Test::More::is(ref $f->{sharing}, 'HASH', 'sharing is an object');
		Test::More::like($f->{sharing}{link_count} // '', qr/^\d+$/, 'sharing.link_count is an integer')
			if ref $f->{sharing} eq 'HASH';
		for my $k (sort keys %{ $want || {} }) {
			Test::More::is_deeply($f->{$k}, $want->{$k}, "$k as expected");
		}
	});
}

# Check the {name, error} entries of an upload answer against $want:
# [[name, status, code], ...] in order (code undef: any).
sub _upload_errors_ok {
	my ($errors, $want) = @_;
	Test::More::is(ref $errors, 'ARRAY', 'errors is an array') or return;
	Test::More::is(scalar @$errors, scalar @$want, scalar(@$want) . ' error entries')
		or Test::More::diag('errors: ' . $JSON->encode($errors));
	for my $i (0 .. $#$want) {
		my ($name, $status, $code) = @{ $want->[$i] };
		my $e = $errors->[$i];
		next unless Test::More::is(ref $e, 'HASH', "error $i is an object");
		Test::More::is_deeply([ sort keys %$e ], [qw(error name)], "error $i: {name, error}");
		Test::More::is($e->{name}, $name, "error $i names " . (defined $name ? "'$name'" : 'undef'));
		my $p = $e->{error};
		next unless Test::More::is(ref $p, 'HASH', "error $i: error is a problem object");
		Test::More::is($p->{status}, $status, "error $i: status $status");
		Test::More::is($p->{code}, $code, "error $i: code $code") if defined $code;
		Test::More::ok(defined $p->{type} && defined $p->{title} && defined $p->{detail},
			"error $i: problem has type, title, detail");
	}
}

# Subtest: $r is an upload that stored something: 201 JSON
# {"files": [$nfiles file objects], "errors": [...]} with the errors of
# $errors ([[name, status, code], ...], default none). Returns the files.
sub upload_ok {
	my ($r, $nfiles, $errors, $name) = @_;
	local $Test::Builder::Level = ($Test::Builder::Level // 1) + 1;
	my $files = ref $r->{json} eq 'HASH' && ref $r->{json}{files} eq 'ARRAY' ? $r->{json}{files} : [];
	Test::More::subtest($name // "upload stored $nfiles", sub {
		Test::More::is($r->{status}, 201, '201 Created') or Test::More::diag($r->describe);
		Test::More::like($r->header('content-type') // '', qr{^application/json}, 'JSON');
		Test::More::is_deeply([ sort keys %{ ref $r->{json} eq 'HASH' ? $r->{json} : {} } ], [qw(errors files)],
			'exactly {files, errors}');
		Test::More::is(scalar @$files, $nfiles, "$nfiles file(s)");
		_upload_errors_ok($r->{json}{errors}, $errors || []) if ref $r->{json} eq 'HASH';
	});
	return $files;
}

# Subtest: $r is an upload that stored nothing: status $status, problem
# JSON with code $code (the first error's), "files": [] and "errors" as
# $errors ([[name, status, code], ...]; undef: not checked beyond >= 1).
sub upload_refused_ok {
	my ($r, $status, $code, $errors, $name) = @_;
	local $Test::Builder::Level = ($Test::Builder::Level // 1) + 1;
	return Test::More::subtest($name // "upload refused $status $code", sub {
		Test::More::ok($r->is_problem($status, $code), "problem JSON $status $code") or Test::More::diag($r->describe);
		my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
		Test::More::is_deeply($j->{files}, [], 'files: []');
		if ($errors) {
			_upload_errors_ok($j->{errors}, $errors);
		} else {
			Test::More::ok(ref $j->{errors} eq 'ARRAY' && @{ $j->{errors} } >= 1, 'errors: at least one entry');
		}
	});
}

# The parts of a 206 multipart/byteranges answer, in order, as
# {start, end, total, type, data}, each part's data as long as its
# Content-Range says; undef when the body does not parse that way.
sub byteranges {
	my ($r) = @_;
	my ($b) = ($r->header('content-type') // '') =~ m{^multipart/byteranges;\s*boundary="?([^";\s]+)"?}i or return undef;
	my $body = $r->{content};
	my $pos = index $body, "--$b\r\n";
	return undef if $pos < 0;
	my @parts;
	while (1) {
		$pos += length("--$b\r\n");
		my $hend = index $body, "\r\n\r\n", $pos;
		return undef if $hend < 0;
		my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1 => $2) : () } split /\r\n/, substr($body, $pos, $hend - $pos);
		my ($start, $end, $total) = ($h{'content-range'} // '') =~ m{^bytes (\d+)-(\d+)/(\d+)$} or return undef;
		my $data = substr $body, $hend + 4, $end - $start + 1;
		return undef unless length $data == $end - $start + 1;
		push @parts, { start => $start, end => $end, total => $total, type => $h{'content-type'}, data => $data };
		$pos = $hend + 4 + length $data;
		return undef unless substr($body, $pos, 2) eq "\r\n";
		$pos += 2;
		return \@parts if substr($body, $pos, length("--$b--")) eq "--$b--";
		return undef unless substr($body, $pos, length("--$b\r\n")) eq "--$b\r\n";
	}
}

# A Content-Disposition value taken apart strictly: {type, filename (the
# quoted fallback, unescaped), filename_star (decoded from
# UTF-8''pct-encoding, as a character string), star_raw}; undef unless it
# is exactly `TYPE; filename="..."; filename*=UTF-8''...` with an ASCII
# fallback and a filename* of RFC 5987 attr-chars and %XX only.
sub content_disposition {
	my ($v) = @_;
	my ($type, $q, $star) = ($v // '') =~
		m{^(attachment|inline); filename="((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*)"; filename\*=UTF-8''([A-Za-z0-9!#\$&+\-.^_`|~%]+)$}
		or return undef;
	(my $fallback = $q) =~ s/\\(.)/$1/g;
	(my $bytes = $star) =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
	return undef if $star =~ /%(?![0-9A-Fa-f]{2})/;
	my $name = $bytes;
	utf8::decode($name) or return undef;
	return { type => $type, filename => $fallback, filename_star => $name, star_raw => $star };
}

# Seconds since the epoch of an HTTP date (IMF-fixdate: "Sun, 06 Nov 1994
# 08:49:37 GMT"), or undef.
sub http_date_epoch {
	my ($t) = @_;
	require Time::Local;
	my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7,
		Sep => 8, Oct => 9, Nov => 10, Dec => 11);
	my ($D, $M, $Y, $h, $m, $sec) = ($t // '') =~ /^\w{3}, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/
		or return undef;
	return undef unless exists $mon{$M};
	return Time::Local::timegm($sec, $m, $h, $D, $mon{$M}, $Y);
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

# POST /api/upload as this client: see Coffer::Test::upload.
sub upload { my $self = shift; return Coffer::Test::upload($self, @_) }

# The credentials this client would send (Cookie, Authorization, Origin).
sub auth_headers {
	my ($self) = @_;
	my %h;
	$h{Cookie} = join '; ', map { "$_=$self->{jar}{$_}" } sort keys %{ $self->{jar} } if %{ $self->{jar} };
	$h{Authorization} = "Bearer $self->{token}" if defined $self->{token};
	$h{Origin} = $self->{origin} if defined $self->{origin};
	return \%h;
}

# A raw connection (Coffer::Test::Raw) from this client's source address
# whose send_head carries its credentials.
sub raw {
	my ($self, %o) = @_;
	return $self->{stack}->raw(local_address => $self->{local_address},
		%o, headers => { %{ $self->auth_headers }, %{ $o{headers} || {} } });
}

# ================================================================ Raw

package Coffer::Test::Raw;

# A raw HTTP/1.1 connection to the stack's nginx, for what HTTP::Tiny cannot
# do: send the head and only part of a body, stall, close mid-body, read the
# answer to a request whose body was never sent.
#
#   my $raw = $client->raw;
#   $raw->send_head(POST => '/api/upload', { 'Content-Type' => $ct, 'Content-Length' => 1 << 30 });
#   my $r = $raw->read_response(timeout => 5);   # a Coffer::Test::Response
#   $raw->close;

use Carp qw(croak);
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

sub new {
	my ($class, $stack, %o) = @_;
	my $sock = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1', PeerPort => $stack->port, Proto => 'tcp', Timeout => 10,
		($o{local_address} ? (LocalAddr => $o{local_address}) : ()),
	) or croak "raw: connect to 127.0.0.1:" . $stack->port . ": $@";
	binmode $sock;
	setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
	return bless { sock => $sock, stack => $stack, headers => $o{headers} || {}, sent => 0, buf => '' }, $class;
}

# Write all of $bytes. False (and {error}) when the peer has closed.
sub send {
	my ($self, $bytes) = @_;
	return 0 unless $self->{sock};
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length $bytes) {
		my $n = syswrite $self->{sock}, $bytes, length($bytes) - $off, $off;
		unless (defined $n) {
			next if $!{EINTR} || $!{EAGAIN};
			$self->{error} = "$!";
			return 0;
		}
		$off += $n;
		$self->{sent} += $n;
	}
	return 1;
}

# Send the request line and headers: Host, then the connection's default
# headers (credentials), then %$headers (same name replaces; value undef
# drops it). Connection: close unless given.
sub send_head {
	my ($self, $method, $path, $headers) = @_;
	my %h = (Host => '127.0.0.1:' . $self->{stack}->port, Connection => 'close', %{ $self->{headers} },
		%{ $headers || {} });
	my $head = "$method $path HTTP/1.1\r\n";
	for my $k (sort { ($a eq 'Host' ? 0 : 1) <=> ($b eq 'Host' ? 0 : 1) || $a cmp $b } keys %h) {
		$head .= "$k: $h{$k}\r\n" if defined $h{$k};
	}
	return $self->send("$head\r\n");
}

# Send $bytes in pieces of $o{chunk} bytes (default 4096), sleeping
# $o{delay} seconds (default 0.01) between them. False when the peer closed.
sub send_slowly {
	my ($self, $bytes, %o) = @_;
	my $chunk = $o{chunk} || 4096;
	for (my $off = 0; $off < length $bytes; $off += $chunk) {
		$self->send(substr $bytes, $off, $chunk) or return 0;
		sleep($o{delay} // 0.01) if $off + $chunk < length $bytes;
	}
	return 1;
}

# Half-close: no more data from us, the answer can still be read.
sub shutdown_write { my ($self) = @_; shutdown($self->{sock}, 1) if $self->{sock}; }

sub close {
	my ($self) = @_;
	CORE::close($self->{sock}) if $self->{sock};
	CORE::delete $self->{sock};
}

# Wait up to $timeout seconds for bytes; append them to {buf}. Returns the
# count read: 0 at end of stream, undef on timeout or error.
sub _fill {
	my ($self, $timeout) = @_;
	my $sock = $self->{sock} or return 0;
	my $sel = IO::Select->new($sock);
	return undef unless $sel->can_read($timeout < 0 ? 0 : $timeout);
	my $n = sysread $sock, $self->{buf}, 65536, length $self->{buf};
	return defined $n ? $n : ($!{ECONNRESET} ? 0 : undef);
}

# Read one answer within $o{timeout} seconds (default 10): the head, then
# the body by Content-Length, chunked encoding, or up to end of stream
# (none for HEAD => 1 or 1xx/204/304). Returns a Coffer::Test::Response;
# status 599 when no complete head came (content says why; {timed_out} set
# on timeout, {closed} when the server closed first).
sub read_response {
	my ($self, %o) = @_;
	my $end = time + ($o{timeout} // 10);
	my $fail = sub {
		my ($why, %f) = @_;
		my $r = Coffer::Test::Response->new({ status => 599, reason => 'Internal Exception',
			headers => {}, content => "$why (received: " . length($self->{buf}) . " bytes)" });
		@$r{ keys %f } = values %f;
		return $r;
	};
	my $eof = 0;
	my $hend;
	until (($hend = index $self->{buf}, "\r\n\r\n") >= 0) {
		return $fail->('connection closed before a response head', closed => 1) if $eof;
		my $n = $self->_fill($end - time);
		return $fail->('timeout waiting for a response head', timed_out => 1) unless defined $n;
		$eof = 1 if $n == 0;
	}
	my $head = substr $self->{buf}, 0, $hend;
	$self->{buf} = substr $self->{buf}, $hend + 4;
	my ($line, @lines) = split /\r\n/, $head;
	my ($status, $reason) = $line =~ m{^HTTP/1\.[01] (\d{3})(?: (.*))?$} or return $fail->("bad status line '$line'");
	my %h;
	for (@lines) {
		my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
		$k = lc $k;
		if (exists $h{$k}) { $h{$k} = [ ref $h{$k} ? @{ $h{$k} } : $h{$k}, $v ] } else { $h{$k} = $v }
	}
	my $body = '';
	my $te = ref $h{'transfer-encoding'} ? join(',', @{ $h{'transfer-encoding'} }) : $h{'transfer-encoding'} // '';
	my $timed_out;
	if ($o{head} || $status =~ /^(?:1\d\d|204|304)$/) {
		# no body
	} elsif ($te =~ /chunked/i) {
		CHUNK: while (1) {
			my $i;
			until (($i = index $self->{buf}, "\r\n") >= 0) {
				my $n = $self->_fill($end - time);
				if (!$n) { $timed_out = !defined $n; last CHUNK }
			}
			my ($size) = substr($self->{buf}, 0, $i) =~ /^([0-9a-fA-F]+)/;
			$size = hex($size // 0);
			until (length $self->{buf} >= $i + 2 + $size + 2) {
				my $n = $self->_fill($end - time);
				if (!$n) { $timed_out = !defined $n; last CHUNK }
			}
			$body .= substr $self->{buf}, $i + 2, $size;
			$self->{buf} = substr $self->{buf}, $i + 2 + $size + 2;
			last if $size == 0;
		}
	} elsif (defined $h{'content-length'} && !ref $h{'content-length'}) {
		my $len = $h{'content-length'};
		until (length $self->{buf} >= $len) {
			my $n = $self->_fill($end - time);
			if (!$n) { $timed_out = !defined $n; last }
		}
		$body = substr $self->{buf}, 0, $len;
		$self->{buf} = substr $self->{buf}, length $body;
	} else {
		while (1) {
			my $n = $self->_fill($end - time);
			if (!$n) { $timed_out = !defined $n; last }
		}
		$body = $self->{buf};
		$self->{buf} = '';
	}
	my $r = Coffer::Test::Response->new({ status => $status, reason => $reason, headers => \%h, content => $body });
	$r->{timed_out} = 1 if $timed_out;
	return $r;
}

# True when the server closes the connection (or resets it) within
# $timeout seconds; data it sends meanwhile is kept in {buf}.
sub closed_by_peer {
	my ($self, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		my $n = $self->_fill($end - time);
		return 1 if defined $n && $n == 0;
		return 0 if !defined $n && time >= $end;
	}
}

1;
