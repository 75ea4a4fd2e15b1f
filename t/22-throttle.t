#!/usr/bin/perl
# 22-throttle: failed-login throttling through the real stack. Proves: after
# login_fail_account (5) failures for one account the next attempt answers
# 429 rate_limited with Retry-After, even with the right password and in any
# letter case, and counts the account however it was named (username or
# email); other accounts from the same address are unaffected until the
# address reaches login_fail_ip (20) failures, after which every login from
# it is 429 while other addresses still log in; a successful login clears the
# account's counter; an expired window starts over; and nginx's limit_req on
# /api/auth/ (finite in the test stack) answers 429 problem JSON to a flood
# from one address only.
#
# Every client here has its own loopback source address (127.x.y.z), so the
# per-address counters of this file do not touch other files; the rows this
# file made in auth_throttle are deleted at the end all the same.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

use Coffer::Test;

my $s = Coffer::Test->stack;
my $L = '/api/auth/login';
my $PW = 'the right password';
my (@ips, @accounts);

sub fresh_ip { my $ip = Coffer::Test::unique_ip(); push @ips, $ip; $ip }

sub new_user {
	my $c = $s->register_user(password => $PW);
	push @accounts, $c->{username}, $c->{email}, $c->{user}{id};
	return $c;
}

sub login {
	my ($ip, $login, $password) = @_;
	return $s->request(POST => $L, { json => { login => $login, password => $password }, local_address => $ip });
}

sub status_ok {
	my ($r, $status, $name) = @_;
	is $r->{status}, $status, $name or diag $r->describe;
}

sub limited_ok {
	my ($r, $name) = @_;
	subtest $name => sub {
		ok $r->is_problem(429, 'rate_limited'), '429 rate_limited problem' or diag $r->describe;
		my $ra = $r->header('retry-after') // '';
		like $ra, qr/^\d+$/, 'Retry-After in seconds';
		cmp_ok $ra || 0, '>=', 1, 'Retry-After >= 1';
		cmp_ok $ra || 0, '<=', 900, 'Retry-After <= login_window';
		ok !grep({ /coffer_session=[^;]/ } $r->header('set-cookie')), 'no session cookie';
	};
}

# ------------------------------------------------------------ per account

{
	my $u = new_user();
	my $ip = fresh_ip();
	my @spell = ($u->{username}, uc $u->{username}, lc $u->{username}, $u->{username}, ucfirst lc $u->{username});
	for my $i (1 .. 5) {
		status_ok(login($ip, $spell[ $i - 1 ], "wrong password $i"), 401, "account failure $i (as '$spell[$i-1]') -> 401");
	}
	is $s->psql("SELECT failures FROM auth_throttle WHERE key = 'acct:$u->{user}{id}'"), 5,
		'five failures counted on the account (keyed by its id) whatever the letter case';
	limited_ok(login($ip, $u->{username}, $PW), '6th attempt with the RIGHT password -> 429');
	limited_ok(login($ip, uc $u->{username}, $PW), '... also in another letter case');
	limited_ok(login(fresh_ip(), $u->{username}, $PW), '... also from another address (the account is locked)');
	limited_ok(login($ip, $u->{username}, 'wrong again'), 'a wrong password -> 429 too');
	is $s->psql("SELECT failures FROM auth_throttle WHERE key = 'acct:$u->{user}{id}'"), 5,
		'refused attempts do not count as failures';

	# the window passes: the account may try again, and a failure starts a new count
	$s->psql("UPDATE auth_throttle SET window_start = now() - interval '901 seconds' WHERE key = 'acct:$u->{user}{id}'");
	status_ok(login($ip, $u->{username}, 'wrong after window'), 401, 'after the window a wrong password is 401 again');
	is $s->psql("SELECT failures FROM auth_throttle WHERE key = 'acct:$u->{user}{id}'"), 1,
		'... and the count restarted at 1';
	status_ok(login($ip, $u->{username}, $PW), 200, 'the right password logs in');
	is $s->psql("SELECT count(*) FROM auth_throttle WHERE key = 'acct:$u->{user}{id}'"), 0,
		'the success cleared the account counter';
}

# ------------------------------------------------------------ success clears

{
	my $u = new_user();
	my $ip = fresh_ip();
	status_ok(login($ip, $u->{username}, "wrong $_"), 401, "failure $_ of 4 -> 401") for 1 .. 4;
	status_ok(login($ip, $u->{username}, $PW), 200, 'success after 4 failures -> 200');
	status_ok(login($ip, $u->{username}, "wrong again $_"), 401, "failure $_ after the success -> 401, not 429") for 1 .. 5;
	limited_ok(login($ip, $u->{username}, $PW), 'the 5th failure of the new count locks it');
}

# ------------------------------------------------------------ one account, two names

# The limit is per account: failures by username and by email add up.
# (Were the counter keyed by the login as typed, an attacker would get 5
# guesses per name the account answers to.)
{
	my $u = new_user();
	my $ip = fresh_ip();
	status_ok(login($ip, $u->{username}, "wrong u$_"), 401, "failure $_ by username") for 1 .. 3;
	status_ok(login($ip, uc $u->{email}, "wrong e$_"), 401, "failure $_ by email") for 1 .. 2;
	limited_ok(login($ip, $u->{username}, $PW), '5 failures across username and email lock the account (by username)');
	limited_ok(login($ip, $u->{email}, $PW), '... and by email');
}

# ------------------------------------------------------------ per address

{
	my $a = new_user();
	my $b = new_user();
	my $ip = fresh_ip();
	status_ok(login($ip, $a->{username}, "wrong $_"), 401, "address X: failure $_ for account A") for 1 .. 5;
	limited_ok(login($ip, $a->{username}, $PW), 'account A is locked');
	status_ok(login($ip, $b->{username}, $PW), 200, 'account B logs in from the same address (5 address failures < 20)');

	# 14 more failures from X on names that do not exist (4 per name, never
	# 5): 19 in all, one below the address limit.
	my $n = 5;
	for my $k (1 .. 4) {
		my $ghost = $s->unique_name('ghost');
		push @accounts, $ghost;
		for my $i (1 .. ($k < 4 ? 4 : 2)) {
			$n++;
			status_ok(login($ip, $ghost, 'nope nope nope'), 401, "address X: failure $n (unknown name $k)");
		}
	}
	is $n, 19, '19 failures from address X so far';
	is $s->psql("SELECT failures FROM auth_throttle WHERE key = 'ip:$ip'"), 19, 'the address counter says 19';
	status_ok(login($ip, $b->{username}, $PW), 200, 'at 19 failures account B still logs in from X');
	status_ok(login($ip, $b->{username}, 'wrong for B'), 401, 'failure 20 (for B) -> 401');
	limited_ok(login($ip, $b->{username}, $PW), 'now B with the right password from X -> 429 (address limit)');
	my $c = new_user();
	limited_ok(login($ip, $c->{username}, $PW), '... and any other account from X');
	limited_ok(login($ip, $s->unique_name('ghost'), 'whatever'), '... and unknown names from X');
	status_ok(login(fresh_ip(), $b->{username}, $PW), 200, 'B logs in from another address');
	status_ok(login(fresh_ip(), $c->{username}, $PW), 200, 'so does another account');
}

# ------------------------------------------------------------ nginx limit_req on /api/auth/

SKIP: {
	my $prefix = $s->{nginx_prefix};
	my $conf = join '', map { open my $fh, '<', $_ or next; local $/; <$fh> }
		grep { defined $prefix } "$prefix/nginx.conf", "$prefix/coffer-server.conf";
	my ($rate) = $conf =~ /zone=coffer_auth:\S+\s+rate=(\d+)r\/s/;
	my ($burst) = $conf =~ m!location /api/auth/ \{[^}]*limit_req zone=coffer_auth burst=(\d+)!;
	skip 'the harness exposes no finite nginx auth rate limit (rendered config not found)', 1
		unless $rate && defined $burst;
	skip "nginx auth limit too loose to flood from a test (rate $rate r/s, burst $burst)", 1
		if $rate > 1000 || $burst > 2000;

	my $ip = fresh_ip();
	my (%count, $limited, $first_429);
	my $sent = 0;
	my $deadline = time + 30;
	# pipelined batches on one keep-alive connection: far faster than the
	# zone's rate, so the burst must run out
	local $SIG{PIPE} = 'IGNORE';
	while (!$limited && $sent < 10 * ($burst + $rate) && time < $deadline) {
		# a fresh connection per batch stays below nginx's keepalive_requests
		my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, LocalAddr => $ip, Timeout => 10)
			or die "connect: $!";
		my $batch = 200;
		print {$sock} "GET /api/auth/user HTTP/1.1\r\nHost: t\r\n\r\n" x $batch;
		$sent += $batch;
		for (1 .. $batch) {
			my $r = read_response($sock) or do { $count{'no answer'}++; last };
			$count{ $r->{status} }++;
			if ($r->{status} == 429 && !$first_429) {
				$first_429 = $r;
				$limited = 1;
			}
		}
		close $sock;
	}
	ok $limited, "a flood from one address hits nginx's auth limit (sent $sent: "
		. join(', ', map { "$_ x$count{$_}" } sort keys %count) . ')';
	cmp_ok $count{401} // 0, '>=', $burst, "at least the burst ($burst) passed before the limit";
	is join(',', grep { $_ ne '401' && $_ ne '429' } sort keys %count), '', 'nothing but 401 (no credentials) and 429';
	if ($first_429) {
		like $first_429->{head}, qr{^Content-Type: application/problem\+json}mi, 'nginx 429 is problem JSON';
		like $first_429->{body}, qr/"code":"rate_limited"/, '... code rate_limited';
		like $first_429->{head}, qr/^Retry-After: \d+\r?$/mi, '... with Retry-After';
		like $first_429->{head}, qr/^X-Request-Id: [0-9a-f]{32}\r?$/mi, '... with X-Request-Id';
	}
	my $other = $s->request(GET => '/api/auth/user', { local_address => fresh_ip() });
	is $other->{status}, 401, 'another address is not limited meanwhile';
	my $h = $s->request(GET => '/healthz', { local_address => $ip });
	is $h->{status}, 200, '/healthz is never rate limited';
	# the bucket drains at $rate per second: poll until the address gets through
	my ($back, $r);
	my $end = time + 15;
	until ($back || time > $end) {
		$r = $s->request(GET => '/api/auth/user', { local_address => $ip });
		$back = $r->{status} == 401;
		sleep 0.2 unless $back;
	}
	ok $back, 'the limited address gets through again once the bucket drained' or diag $r->describe;
}

# ------------------------------------------------------------ cleanup

my @keys = ((map { "ip:$_" } @ips), (map { 'acct:' . lc } @accounts));
my $list = join ',', map { "'$_'" } @keys;
$s->psql("DELETE FROM auth_throttle WHERE key IN ($list)");
is $s->psql("SELECT count(*) FROM auth_throttle WHERE key IN ($list)"), 0, 'this file left no throttle rows behind';

done_testing;

# One HTTP/1.1 response from a keep-alive socket (Content-Length framed).
sub read_response {
	my ($sock) = @_;
	my $buf = ${*$sock}{coffer_buf} // '';
	my $end = time + 20;
	my $need = sub {
		my ($cond) = @_;
		until ($cond->()) {
			return 0 if time > $end;
			my $n = sysread $sock, my $chunk, 65536;
			return 0 unless $n;
			$buf .= $chunk;
		}
		return 1;
	};
	$need->(sub { index($buf, "\r\n\r\n") >= 0 }) or return undef;
	my $i = index($buf, "\r\n\r\n");
	my $head = substr($buf, 0, $i + 2);
	my ($status) = $head =~ m{^HTTP/1\.1 (\d{3})} or return undef;
	my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
	$len //= 0;
	$need->(sub { length($buf) >= $i + 4 + $len }) or return undef;
	my $body = substr($buf, $i + 4, $len);
	${*$sock}{coffer_buf} = substr($buf, $i + 4 + $len);
	return { status => $status, head => $head, body => $body };
}
