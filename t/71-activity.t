#!/usr/bin/perl
# 71-activity: GET /api/activity through the real stack. Proves: the
# caller's own entries only (another user's never appear), newest first by
# (created_at, id); the entry shape (id, action, target {id, kind, name} or
# null, ip, user_agent, details, created_at) with the client address and
# user agent of a real upload; the filters action (a list), target_id,
# target_kind, from (inclusive) and to (exclusive), each alone and
# combined, against the rows in the database; keyset pagination with every
# limit from 1 to n returns every entry exactly once, in order; a cursor
# used with other filters is 400; stats (total, by_action sorted by count
# then action, by_day in UTC ascending) exact over the whole filtered range,
# not the page; 400 invalid_request naming the field for every bad
# parameter, unknown parameters ignored, 401 without login; coffer-admin
# maintenance deletes entries older than activity_retention_days (and
# nothing with 0) and says how many; and with trusted_proxies set (config
# changed, workers reloaded by SIGHUP, restored at the end), X-Forwarded-For
# from a trusted peer gives the logged client address, from others it is
# ignored, and a malformed one falls back to the peer.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX qw(strftime);
use Test::More;

use Coffer::Test qw(problem_ok upload_ok sql_id wait_until);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $aid = $alice->{user}{id};
my $bid = $bob->{user}{id};
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

# ------------------------------------------------------------ helpers

sub q_string {
	my (%q) = @_;
	return join '&', map { "$_=$q{$_}" } sort keys %q;
}

sub act {
	my ($c, %q) = @_;
	my $qs = q_string(%q);
	return $c->get('/api/activity' . (length $qs ? "?$qs" : ''));
}

# Every entry of a query, page by page; dies on anything but 200.
sub all_pages {
	my ($c, %q) = @_;
	my (@items, $cursor, $pages);
	while (1) {
		my $r = act($c, %q, (defined $cursor ? (cursor => $cursor) : ()));
		$r->{status} == 200 or die "page: " . $r->describe;
		push @items, @{ $r->{json}{items} };
		$pages++;
		$cursor = $r->{json}{next_cursor} // last;
		die "runaway paging" if $pages > 500;
	}
	return \@items;
}

sub invalid_ok {
	my ($r, $field, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ok = $r->{status} == 400 && ($r->{json}{code} // '') eq 'invalid_request'
		&& grep { ($_->{field} // '') eq $field } @{ $r->{json}{errors} || [] };
	ok $ok, $name or diag $r->describe;
}

# The caller's rows as the database has them, newest first.
sub rows_of {
	my ($uid) = @_;
	return map { +{ id => $_->[0], action => $_->[1], target_id => $_->[2], target_kind => $_->[3],
		us => $_->[4], day => $_->[5] } }
		$s->psql_rows("SELECT id, action, coalesce(target_id::text, ''), coalesce(target_kind, ''), "
			. "(extract(epoch FROM created_at) * 1000000)::bigint, "
			. "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM activity_log "
			. "WHERE user_id = '$uid' ORDER BY created_at DESC, id DESC");
}

# ------------------------------------------------------------ fixture

# A real entry first: an upload, with this client's address and agent.
my $up = $alice->upload(files => [ { name => 'a.txt', content => 'hello' } ]);
is $up->{status}, 201, 'upload' or diag $up->describe;
my $fid = $up->{json}{files}[0]{id} // $up->{json}{items}[0]{id} // $up->{json}{id};
{
	my $r = act($alice, action => 'upload');
	is $r->{status}, 200, 'GET /api/activity?action=upload';
	my $e = $r->{json}{items}[0];
	is_deeply [ sort keys %$e ], [qw(action created_at details id ip target user_agent)], 'entry fields';
	like $e->{id}, $UUID, 'id';
	is $e->{action}, 'upload', 'action';
	is $e->{target}{kind}, 'file', 'target kind';
	is $e->{target}{name}, 'a.txt', 'target name';
	like $e->{target}{id} // '', $UUID, 'target id';
	is $e->{ip}, $alice->{local_address}, 'ip is the client address';
	is $e->{user_agent}, 'coffer-test/1', 'user agent';
	like $e->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at';
	$fid = $e->{target}{id};
}

# Synthetic entries: 3 days, several actions, kinds and targets, ties on
# created_at broken by id, one without a target.
my $T1 = '11111111-1111-4111-8111-111111111111';
my $T2 = '22222222-2222-4222-8222-222222222222';
my @rows;
my @acts = qw(download download rename move copy delete restore share share_access login logout login_failed);
for my $i (0 .. 35) {
	my $action = $acts[ $i % @acts ];
	my $tid = $i % 3 == 0 ? $T1 : $i % 3 == 1 ? $T2 : undef;
	my $kind = $i % 3 == 0 ? 'file' : $i % 3 == 1 ? 'folder' : undef;
	# days 2026-03-01..03, hours apart; pairs share a timestamp
	my $sec = 1772323200 + int($i / 2) * 3 * 3600;
	push @rows, sprintf "('%s', '%s', %s, %s, %s, '10.0.0.%d', 'ua', '{\"n\": %d}', to_timestamp(%d))",
		$aid, $action, $tid ? "'$tid'" : 'NULL', $kind ? "'$kind'" : 'NULL',
		$tid ? "'name$i'" : 'NULL', $i, $i, $sec;
}
push @rows, "('$bid', 'download', '$T1', 'file', 'bobs', '10.9.9.9', 'ua', NULL, to_timestamp(1772323200))";
$s->psql("INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, ip_address, "
	. "user_agent, details, created_at) VALUES " . join(', ', @rows));

my @all = rows_of($aid);
my @bobs = rows_of($bid);
cmp_ok scalar @all, '>=', 38, 'alice has the synthetic entries, register and upload';

# ------------------------------------------------------------ order, isolation

{
	my $r = act($alice, limit => 1000);
	is_deeply [ map { $_->{id} } @{ $r->{json}{items} } ], [ map { $_->{id} } @all ],
		'every entry, newest first by (created_at, id)';
	is $r->{json}{next_cursor}, undef, 'no next cursor on the last page';
	ok !(grep { $_->{target} && ($_->{target}{name} // '') eq 'bobs' } @{ $r->{json}{items} }),
		"bob's entry is not in alice's log";
	my ($plain) = grep { $_->{details} && ref $_->{details} eq 'HASH' && defined $_->{details}{n} && $_->{details}{n} == 2 } @{ $r->{json}{items} };
	ok $plain && !defined $plain->{target}, 'an entry without target has target null';
	is $plain && $plain->{ip}, '10.0.0.2', '... its ip';
	my $rb = act($bob, limit => 1000);
	is_deeply [ sort map { $_->{id} } @{ $rb->{json}{items} } ], [ sort map { $_->{id} } @bobs ],
		"bob sees only his own entries";
	is $s->get('/api/activity')->{status}, 401, 'no login: 401';
	is scalar @{ act($alice)->{json}{items} || [] }, @all < 50 ? scalar @all : 50, 'default limit 50';
}

# ------------------------------------------------------------ filters

my $F = '2026-03-02T00:00:00Z';    # 1772409600
my $TO = '2026-03-03T03:00:00Z';   # 1772506800
my %cases = (
	'action one' => [ { action => 'download' }, sub { $_[0]{action} eq 'download' } ],
	'action list' => [ { action => 'rename,move,login_failed' }, sub { $_[0]{action} =~ /^(rename|move|login_failed)$/ } ],
	'target_id' => [ { target_id => $T1 }, sub { $_[0]{target_id} eq $T1 } ],
	'target_id upper case' => [ { target_id => uc $T2 }, sub { $_[0]{target_id} eq $T2 } ],
	'target_kind' => [ { target_kind => 'folder' }, sub { $_[0]{target_kind} eq 'folder' } ],
	'from' => [ { from => $F }, sub { $_[0]{us} >= 1772409600e6 } ],
	'to' => [ { to => $TO }, sub { $_[0]{us} < 1772506800e6 } ],
	'from and to' => [ { from => $F, to => $TO }, sub { $_[0]{us} >= 1772409600e6 && $_[0]{us} < 1772506800e6 } ],
	'to with an offset' => [ { to => '2026-03-02T01:00:00%2B01:00' }, sub { $_[0]{us} < 1772409600e6 } ],
	'combined' => [ { action => 'download,share,copy', target_kind => 'file', from => '2026-03-01T03:00:00Z', to => $TO },
		sub { $_[0]{action} =~ /^(download|share|copy)$/ && $_[0]{target_kind} eq 'file'
			&& $_[0]{us} >= 1772334000e6 && $_[0]{us} < 1772506800e6 } ],
	'action and target_id' => [ { action => 'download,delete', target_id => $T2 },
		sub { $_[0]{action} =~ /^(download|delete)$/ && $_[0]{target_id} eq $T2 } ],
	'nothing matches' => [ { action => 'no_such_action' }, sub { 0 } ],
	'unknown parameter ignored' => [ { action => 'move', foo => 'bar', sort => 'x' }, sub { $_[0]{action} eq 'move' } ],
);
for my $name (sort keys %cases) {
	my ($q, $pred) = @{ $cases{$name} };
	my @want = map { $_->{id} } grep { $pred->($_) } @all;
	my $r = act($alice, %$q, limit => 1000);
	is $r->{status}, 200, "filter $name: 200";
	is_deeply [ map { $_->{id} } @{ $r->{json}{items} || [] } ], \@want, "filter $name: " . scalar(@want) . " entries, in order";
}

# boundaries: an entry exactly at from is in, exactly at to is out
{
	my $at = '2026-03-01T03:00:00Z';    # entries 2 and 3
	my @at = grep { $_->{us} == 1772334000e6 } @all;
	is scalar @at, 2, 'two entries share the boundary time';
	my $in = act($alice, from => $at, to => '2026-03-01T03:00:00.000001Z', limit => 1000);
	is_deeply [ map { $_->{id} } @{ $in->{json}{items} } ], [ map { $_->{id} } @at ], 'from is inclusive (a one-microsecond range holds both)';
	my $out = act($alice, from => '2026-03-01T00:00:00.000001Z', to => $at, limit => 1000);
	ok !(grep { my $i = $_->{id}; grep { $_->{id} eq $i } @at } @{ $out->{json}{items} }), 'to is exclusive';
	is scalar @{ $out->{json}{items} }, 0, '... and (00:00:00.000001, 03:00) holds nothing';
	my $empty = act($alice, from => $at, to => $at);
	is_deeply $empty->{json}{items}, [], 'from = to: empty';
}

# ------------------------------------------------------------ pagination

for my $q ({}, { action => 'download,share,login', target_kind => 'file' }) {
	my $qn = q_string(%$q) || 'no filter';
	my @want = map { $_->{id} } grep { !$q->{action} || ($_->{action} =~ /^(download|share|login)$/ && $_->{target_kind} eq 'file') } @all;
	my $bad = 0;
	for my $limit (1 .. @want + 1) {
		my $got = eval { all_pages($alice, %$q, limit => $limit) } || [];
		my $same = join(',', map { $_->{id} } @$got) eq join(',', @want);
		$bad++ unless $same;
		diag "limit $limit ($qn): " . scalar(@$got) . " of " . scalar(@want) unless $same;
	}
	is $bad, 0, "pages of every limit from 1 to " . (@want + 1) . " ($qn): each entry once, in order";
}
{
	my $r = act($alice, action => 'download', limit => 2);
	my $c = $r->{json}{next_cursor};
	ok $c, 'a cursor';
	is act($alice, action => 'download', limit => 5, stats => 'true', cursor => $c)->{status}, 200,
		'... usable with another limit and stats';
	invalid_ok act($alice, action => 'upload', limit => 2, cursor => $c), 'cursor', 'cursor with another action: 400';
	invalid_ok act($alice, limit => 2, cursor => $c), 'cursor', 'cursor without the filter: 400';
	invalid_ok act($alice, action => 'download', target_kind => 'file', cursor => $c), 'cursor', 'cursor with an added filter: 400';
	invalid_ok act($alice, action => 'download', from => $F, cursor => $c), 'cursor', 'cursor with from: 400';
	invalid_ok act($bob, action => 'download', cursor => $c), 'cursor', "alice's cursor for bob: 400";
	invalid_ok act($alice, cursor => 'djF8eHx5'), 'cursor', 'forged cursor: 400';
}

# ------------------------------------------------------------ stats

for my $q ({}, { action => 'download,share,login_failed' }, { from => $F, to => $TO, target_kind => 'file' }, { action => 'none_at_all' }) {
	my %q = %$q;
	my $pred = sub {
		my $e = shift;
		return 0 if $q{action} && !grep { $_ eq $e->{action} } split /,/, $q{action};
		return 0 if $q{target_kind} && $e->{target_kind} ne $q{target_kind};
		return 0 if $q{from} && $e->{us} < 1772409600e6;
		return 0 if $q{to} && $e->{us} >= 1772506800e6;
		return 1;
	};
	my @m = grep { $pred->($_) } @all;
	my (%a, %d);
	$a{ $_->{action} }++ for @m;
	$d{ $_->{day} }++ for @m;
	my $want = {
		total => scalar @m,
		by_action => [ map { { action => $_, count => $a{$_} } } sort { $a{$b} <=> $a{$a} || $a cmp $b } keys %a ],
		by_day => [ map { { day => $_, count => $d{$_} } } sort keys %d ],
	};
	my $r = act($alice, %q, stats => 'true', limit => 1);
	is $r->{status}, 200, 'stats ' . (q_string(%q) || 'no filter');
	is_deeply $r->{json}{stats}, $want, '... exact over the whole filtered range, not the page' or diag explain $r->{json}{stats};
	ok !exists act($alice, %q, stats => 'false')->{json}{stats}, '... no stats with stats=false';
}

# ------------------------------------------------------------ bad parameters

my @bad = (
	[ action => '' ], [ action => 'Upload' ], [ action => 'a,,b' ], [ action => 'a,' ], [ action => 'up-load' ],
	[ action => 'a' x 41 ], [ action => join ',', map { "a$_" } 'a' .. 'u' ],
	[ target_id => 'x' ], [ target_id => '' ], [ target_kind => 'blob' ], [ target_kind => 'File' ],
	[ from => 'yesterday' ], [ from => '2026-03-01' ], [ to => '2026-03-01T00:00:00' ], [ to => '2026-02-30T00:00:00Z' ],
	[ limit => 0 ], [ limit => 1001 ], [ limit => 'x' ], [ limit => '' ], [ stats => 'yes' ], [ stats => '1' ],
	[ cursor => 'garbage' ], [ cursor => '' ],
);
for my $b (@bad) {
	invalid_ok act($alice, @$b), $b->[0], "$b->[0]=$b->[1]: 400 naming $b->[0]";
}
invalid_ok act($alice, from => $TO, to => $F), 'from', 'from after to: 400';
{
	my $r = act($alice, action => 'X', target_kind => 'y', limit => 0);
	is scalar @{ $r->{json}{errors} || [] }, 3, 'three bad parameters: three errors';
	is act($alice, limit => '%zz')->{status}, 400, 'malformed query string: 400';
}

# ------------------------------------------------------------ retention

{
	my $old = join ', ', map { "('$aid', 'download', now() - interval '$_ days')" } 400, 366, 364, 31, 29;
	$s->psql("INSERT INTO activity_log (user_id, action, created_at) VALUES $old");
	my $older = sub { $s->psql("SELECT count(*) FROM activity_log WHERE created_at < now() - interval '$_[0] days'") };
	my $n365 = $older->(365);
	cmp_ok $n365, '>=', 2, 'entries older than 365 days exist';
	my $m = $s->admin('maintenance');
	is $m->{exit}, 0, 'maintenance (default 365 days)' or diag $m->{err};
	like $m->{out}, qr/removed $n365 activity entries older than 365 days/, "... says it removed $n365";
	is $older->(365), 0, '... none older than 365 days is left';
	is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$aid' AND created_at < now() - interval '363 days'"), 1,
		'... the 364-day-old one stays';
	my $n30 = $older->(30);
	$m = $s->admin({ env => { COFFER_ACTIVITY_RETENTION_DAYS => 0 } }, 'maintenance');
	like $m->{out}, qr/activity_retention_days is 0: the activity log is kept/, '0: kept, says so';
	is $older->(30), $n30, '... nothing removed';
	$m = $s->admin({ env => { COFFER_ACTIVITY_RETENTION_DAYS => 30 } }, 'maintenance');
	like $m->{out}, qr/removed $n30 activity entries older than 30 days/, "30 days: removed $n30";
	is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$aid' AND created_at > now() - interval '30 days' AND created_at < now() - interval '28 days'"), 1,
		'... the 29-day-old one stays';
}

# ------------------------------------------------------------ trusted proxies

{
	my $proxy = $s->client;                    # a trusted peer
	my $other = $s->client;                    # an untrusted one
	my $conf = $s->config_path;
	open my $fh, '<', $conf or die "$conf: $!";
	my $saved = do { local $/; <$fh> };
	close $fh;
	my $reload = sub {
		my ($text) = @_;
		my @old = $s->worker_pids;
		open my $w, '>', $conf or die "$conf: $!";
		print $w $text;
		close $w;
		$s->fcgi_signal('HUP');
		return wait_until(sub {
			my @now = $s->worker_pids;
			@now && !grep { my $p = $_; grep { $_ == $p } @old } @now;
		}, 20) && $s->wait_for_status('/readyz', 200, 20);
	};
	ok $reload->($saved . "trusted_proxies = $proxy->{local_address} 2001:db8::/32\n"), 'workers reloaded with trusted_proxies';
	my $login = sub {
		my ($c, $xff) = @_;
		my $r = $c->post_json('/api/auth/login', { login => $alice->{username}, password => $alice->{password} },
			{ headers => { (defined $xff ? ('X-Forwarded-For' => $xff) : ()) } });
		$r->{status} == 200 or diag $r->describe;
		return $s->psql("SELECT host(ip_address) FROM activity_log WHERE user_id = '$aid' AND action = 'login' ORDER BY created_at DESC LIMIT 1");
	};
	is $login->($proxy, '198.51.100.7'), '198.51.100.7', 'trusted peer: the X-Forwarded-For address is logged';
	is $login->($proxy, '6.6.6.6, 198.51.100.8'), '198.51.100.8', '... the rightmost untrusted one';
	is $login->($proxy, "203.0.113.5, $proxy->{local_address}"), '203.0.113.5', '... trusted hops skipped';
	is $login->($proxy, '2001:DB9::5'), '2001:db9::5', '... IPv6, canonical';
	is $login->($proxy, 'garbage'), $proxy->{local_address}, '... a malformed header: the peer';
	is $login->($proxy, undef), $proxy->{local_address}, '... no header: the peer';
	is $login->($other, '198.51.100.9'), $other->{local_address}, 'untrusted peer: X-Forwarded-For ignored';
	my $r = act($alice, action => 'login', limit => 1);
	is $r->{json}{items}[0]{ip}, $other->{local_address}, 'GET /api/activity shows the logged address';
	ok $reload->($saved), 'config restored';
}

done_testing;
