#!/usr/bin/perl
# 74-rate-limits: every request-rate limit engages and releases, on a stack
# of its own with small limits (the suite's stack keeps them out of the
# way). Proves:
# - the workers' per-user request budget (user_rate per user_rate_window,
#   counted across the whole worker pool): the request after the budget is
#   429 rate_limited with Retry-After (1..window s) from whatever address
#   the user comes, API token or session alike, while another user is
#   unaffected; the next window lets the user in again;
# - nginx's per-address zones: /api/ (API_RATE), /api/auth/ (AUTH_RATE) and
#   the public share-link routes /api/shares/cfs_... (SHARE_RATE, stricter
#   than /api/): a burst from one address beyond the zone's burst is 429
#   problem JSON with the code rate_limited, another address is unaffected,
#   and after a pause the address is let in again.
# The per-account limits of the workers for failed logins and share
# passwords are proven in t/22-throttle.t and t/60-share-links.t.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use Coffer::Test qw(problem_ok);

my $WINDOW = 3;
my $BUDGET = 25;
my $s = Coffer::Test->start(
	config => { %Coffer::Test::SUITE_CONFIG, user_rate => $BUDGET, user_rate_window => $WINDOW },
	nginx => { %Coffer::Test::SUITE_NGINX, API_RATE => '5r/s', API_BURST => 20,
		   AUTH_RATE => '2r/s', AUTH_BURST => 5, SHARE_RATE => '2r/s', SHARE_BURST => 5 });

# Wait until the next budget window starts (plus a margin), so that a
# sequence of requests falls inside one window.
sub window_start {
	my $t = time;
	my $next = (int($t / $WINDOW) + 1) * $WINDOW;
	sleep($next - $t + 0.05);
}

# A client of $user's credentials from a fresh address (nginx limits are
# per address; the budget is per user).
sub from_new_address {
	my ($token) = @_;
	my $c = $s->client(local_address => $s->unique_ip);
	$c->token($token);
	return $c;
}

my $alice = $s->register_user(local_address => $s->unique_ip);
my $bob = $s->register_user(local_address => $s->unique_ip);
my %tok;
for my $u ([ alice => $alice ], [ bob => $bob ]) {
	my $r = $u->[1]->post_json('/api/auth/tokens', { name => 'rate test' });
	is $r->{status}, 201, "$u->[0]: an API token" or diag $r->describe;
	$tok{ $u->[0] } = ref $r->{json} eq 'HASH' ? $r->{json}{token} : '';
}

# ------------------------------------------------------------ the per-user budget

window_start();
my ($ok, $first429) = (0, undef);
for my $i (1 .. $BUDGET + 5) {
	# a new address every time: nginx's per-address zone stays out of it
	my $c = from_new_address($tok{alice});
	my $r = $c->get('/api/quota');
	if ($r->{status} == 200) {
		$ok++;
	} elsif (!$first429) {
		$first429 = $r;
	}
	last if $first429;
}
is $ok, $BUDGET, "the budget: $BUDGET requests per window allowed";
ok $first429, '... then a refusal';
if ($first429) {
	problem_ok($first429, 429, 'rate_limited', '... 429 rate_limited');
	like $first429->{json}{detail} // '', qr/for this account/, '... from the worker (the account budget)';
	my $ra = $first429->header('retry-after') // '';
	like $ra, qr/^\d+$/, '... with Retry-After';
	ok $ra >= 1 && $ra <= $WINDOW, "... of 1..$WINDOW s (got $ra)" if $ra =~ /^\d+$/;
}
problem_ok($alice->get('/api/quota'), 429, 'rate_limited', '... the session of the same user too');
is from_new_address($tok{bob})->get('/api/quota')->{status}, 200, 'another user is unaffected';
window_start();
is from_new_address($tok{alice})->get('/api/quota')->{status}, 200, 'the next window: alice is let in again';

# ------------------------------------------------------------ nginx zones per address

# $n requests as fast as possible from one address; the statuses.
sub burst {
	my ($c, $path, $n, %o) = @_;
	return [ map { $c->request($o{method} // 'GET', $path, $o{opts})->{status} } 1 .. $n ];
}

sub zone_ok {
	my ($name, $path, $n, $rate, %o) = @_;
	window_start();   # the budget of the users involved starts afresh too
	my $c = $o{client}->();
	my $st = burst($c, $path, $n, %o);
	my $limited = grep { $_ == 429 } @$st;
	ok $limited > 0, "$name: a burst of $n from one address meets 429 ($limited of them)"
		or diag "statuses: @$st";
	my $r = $c->request($o{method} // 'GET', $path, $o{opts});
	problem_ok($r, 429, 'rate_limited', "$name: the next one too, answered as problem JSON");
	unlike $r->{content} // '', qr/for this account/, "$name: ... from nginx, not the account budget";
	my $other = $o{client}->();
	isnt $other->request($o{method} // 'GET', $path, $o{opts})->{status}, 429, "$name: another address is let in";
	sleep(1.0 / $rate * 3 + 0.2);
	isnt $c->request($o{method} // 'GET', $path, $o{opts})->{status}, 429, "$name: after a pause the address is let in again";
}

# /api/: 5 r/s, burst 20; the requests alternate between two users, so
# neither reaches the account budget
my @users = map { $s->register_user(local_address => $s->unique_ip) } 1 .. 2;
my @utok = map { my $r = $_->post_json('/api/auth/tokens', { name => 'z' }); $r->{json}{token} } @users;
my $k = 0;
zone_ok('/api/ (API_RATE 5r/s, burst 20)', '/api/notifications', 40, 5,
	client => sub { my $c = $s->client(local_address => $s->unique_ip); $c->token($utok[ $k++ % 2 ]); $c });

# /api/auth/: 2 r/s, burst 5 (no login: 401 until the zone says 429; no
# worker throttle is involved)
zone_ok('/api/auth/ (AUTH_RATE 2r/s, burst 5)', '/api/auth/user', 15, 2,
	client => sub { $s->client(local_address => $s->unique_ip) });

# the public share routes: 2 r/s, burst 5, stricter than /api/
window_start();
my $up = $alice->upload(files => [ [ 'shared.txt', 'shared text', 'text/plain' ] ]);
my $fid = ref $up->{json} eq 'HASH' && $up->{json}{files} ? $up->{json}{files}[0]{id} : '';
my $link = $alice->post_json("/api/files/$fid/share", {});
is $link->{status}, 201, 'a share link' or diag $link->describe;
my $token = ref $link->{json} eq 'HASH' ? $link->{json}{token} // 'cfs_x' : 'cfs_x';
zone_ok('/api/shares/<token> (SHARE_RATE 2r/s, burst 5)', "/api/shares/$token", 15, 2,
	client => sub { $s->client(local_address => $s->unique_ip) });
# the same burst on an ordinary /api/ route passes: the share zone is stricter
my $c = $s->client(local_address => $s->unique_ip);
$c->token($tok{bob});
window_start();
is_deeply [ grep { $_ == 429 } @{ burst($c, '/api/quota', 9) } ], [], '... while 9 at once on /api/quota pass';

done_testing;
