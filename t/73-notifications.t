#!/usr/bin/perl
# 73-notifications: quota alerts and the notification routes through the
# real stack. Proves: crossing 80%, 90% and 100% of the quota upwards makes
# one notification each (kind quota, details {threshold, used, quota}, a
# message naming the share and the sizes) and one quota_alert activity
# entry, in the transaction that changed the usage; staying above a
# threshold or rising within a band alerts no more; dropping below (files
# to the trash, or a bigger quota) alerts nothing, and crossing again alerts
# again; a jump over several thresholds alerts once, for the highest; a
# smaller quota that puts the usage over a threshold alerts too.
# GET /api/auth/user carries notifications.unread. GET /api/notifications
# lists newest first, ?unread=true only the unread ones, paged with
# limit/cursor (every one once); POST /api/notifications/read marks given
# ids or all, answers {marked, unread}, ignores ids of another user's
# notifications, and refuses bad bodies with 400; ?unread= other than
# true/false is 400; another user sees none of them; no login is 401.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Coffer::Test qw(problem_ok upload_ok);
use Coffer::Tree qw(list_all);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
$s->set_quota($alice, 1000);
my $n = 0;

# Upload $size bytes as a new file; returns its id.
sub put {
	my ($c, $size) = @_;
	$n++;
	my $files = upload_ok($c->upload(files => [ [ "f$n.bin", pack('N', $n) . ('z' x ($size - 4)),
						      'application/octet-stream' ] ]), 1, [], "upload $size bytes");
	return $files->[0]{id};
}

sub notes {
	my ($c, $q) = @_;
	my $r = $c->get('/api/notifications' . ($q // ''));
	is $r->{status}, 200, 'GET /api/notifications' . ($q // '') . ' -> 200' or diag $r->describe;
	return ref $r->{json} eq 'HASH' ? $r->{json}{items} || [] : [];
}

sub unread {
	my ($c) = @_;
	my $r = $c->get('/api/auth/user');
	return ref $r->{json} eq 'HASH' && ref $r->{json}{notifications} eq 'HASH'
		? $r->{json}{notifications}{unread} : undef;
}

sub alerts {
	my ($c) = @_;
	return [ map { $_->[0] } $s->psql_rows("SELECT details->>'threshold' FROM activity_log
		WHERE user_id = '$c->{user}{id}' AND action = 'quota_alert' ORDER BY created_at, id") ];
}

sub thresholds { [ map { $_->{details}{threshold} } reverse @{ $_[0] } ] }

problem_ok($s->client->get('/api/notifications'), 401, 'unauthenticated', 'no login -> 401');
problem_ok($s->client->post_json('/api/notifications/read', { all => JSON::PP::true() }), 401, 'unauthenticated',
	'no login: mark read -> 401');

is_deeply notes($alice), [], 'a new user has no notifications';
is unread($alice), 0, 'GET /api/auth/user: notifications.unread 0';

# ---- crossing each threshold once
my @f;
push @f, put($alice, 700);
is_deeply notes($alice), [], '70%: nothing';
push @f, put($alice, 100);
my $items = notes($alice);
is scalar @$items, 1, '80%: one notification';
my $x = $items->[0] || {};
is $x->{kind}, 'quota', '... kind quota';
is_deeply $x->{details}, { threshold => 80, used => 800, quota => 1000 }, '... details {threshold, used, quota}';
like $x->{message}, qr/80% full: 800 bytes of 1000 bytes used/, '... message';
ok !$x->{read} && !defined $x->{read_at}, '... unread';
like $x->{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '... created_at';
is unread($alice), 1, 'notifications.unread 1';
is_deeply alerts($alice), [80], 'activity: quota_alert 80';

push @f, put($alice, 50);
is scalar @{ notes($alice) }, 1, '85%: no new notification';
push @f, put($alice, 60);
is_deeply thresholds(notes($alice)), [80, 90], '91%: a 90% notification';
push @f, put($alice, 90);
$items = notes($alice);
is_deeply thresholds($items), [80, 90, 100], '100%: a 100% notification';
like $items->[0]{message}, qr/storage is full/, '... "storage is full"';
is unread($alice), 3, 'notifications.unread 3';
is_deeply alerts($alice), [80, 90, 100], 'activity: 80, 90, 100';
problem_ok($alice->upload(files => [ [ 'over.bin', 'x', 'application/octet-stream' ] ]), 507, 'quota_exceeded',
	'full: the next upload -> 507');
is scalar @{ notes($alice) }, 3, '... and no new notification';

# ---- dropping below alerts nothing; crossing again alerts again
my $r = $alice->post_json('/api/files/delete', { item_ids => [ @f[1 .. 4] ] });
is $r->{status}, 200, 'trash 300 bytes (back to 70%)' or diag $r->describe;
is scalar @{ notes($alice) }, 3, 'dropping below: nothing';
my ($lvl) = map { $_->[0] } $s->psql_rows("SELECT quota_alert_level FROM users WHERE id = '$alice->{user}{id}'");
is $lvl, 0, '... the alert level fell to 0';
push @f, put($alice, 120);
is_deeply thresholds(notes($alice)), [80, 90, 100, 80], 'crossing 80% again: a new 80% notification';

# ---- a jump over two thresholds alerts once, for the highest
put($alice, 130);   # 820 -> 950
is_deeply thresholds(notes($alice)), [80, 90, 100, 80, 90], '82% -> 95%: one notification, 90%';

# ---- a bigger quota lowers the level without alerting; a smaller one alerts
$s->set_quota($alice, 10000);
is scalar @{ notes($alice) }, 5, 'a bigger quota: nothing';
$s->set_quota($alice, 1000);
$items = notes($alice);
is_deeply thresholds($items), [80, 90, 100, 80, 90, 90], 'the quota lowered under the usage: a 90% notification';
is_deeply alerts($alice), [80, 90, 100, 80, 90, 90], 'activity: one quota_alert per notification';

# ---- listing, paging, unread filter
my ($all) = list_all($alice, '/api/notifications', 1);
is scalar @$all, 6, 'paged with limit=1: 6 notifications';
is_deeply [ map { $_->{id} } @$all ], [ map { $_->{id} } @$items ], '... each once, newest first';
problem_ok($alice->get('/api/notifications?unread=maybe'), 400, 'invalid_request', '?unread=maybe -> 400');
problem_ok($alice->get('/api/notifications?limit=0'), 400, 'invalid_request', '?limit=0 -> 400');
problem_ok($alice->get('/api/notifications?cursor=%%%'), 400, 'invalid_request', 'a malformed cursor -> 400');

# ---- marking read
for my $bad ({}, { ids => [] }, { ids => 'x' }, { ids => ['nope'] }, { all => JSON::PP::false() }, { all => 1 },
	{ ids => [ $items->[0]{id} ], all => JSON::PP::true() }, { other => 1 }, { ids => [ ('00000000-0000-0000-0000-000000000000') x 1001 ] }) {
	problem_ok($alice->post_json('/api/notifications/read', $bad), 400, 'invalid_request',
		'mark read ' . $Coffer::Test::JSON->encode($bad) . ' -> 400');
}
is unread($alice), 6, '... nothing marked';
$r = $alice->post_json('/api/notifications/read', { ids => [ $items->[0]{id}, $items->[1]{id} ] });
is $r->{status}, 200, 'mark two read -> 200' or diag $r->describe;
is_deeply $r->{json}, { marked => 2, unread => 4 }, '... {marked: 2, unread: 4}';
$r = $alice->post_json('/api/notifications/read', { ids => [ $items->[0]{id} ] });
is_deeply $r->{json}, { marked => 0, unread => 4 }, 'again: marked 0';
my $unread = notes($alice, '?unread=true');
is_deeply [ map { $_->{id} } @$unread ], [ map { $_->{id} } @$items[2 .. 5] ], '?unread=true: the other four';
my ($read) = grep { $_->{id} eq $items->[0]{id} } @{ notes($alice) };
ok $read && $read->{read} && $read->{read_at}, 'a read one has read true and read_at';
is unread($alice), 4, 'notifications.unread 4';

# ---- isolation
is_deeply notes($bob), [], "bob sees none of alice's";
$r = $bob->post_json('/api/notifications/read', { ids => [ map { $_->{id} } @$unread ] });
is_deeply $r->{json}, { marked => 0, unread => 0 }, "bob cannot mark alice's read";
is unread($alice), 4, "... alice's stay unread";
$r = $bob->post_json('/api/notifications/read', { all => JSON::PP::true() });
is_deeply $r->{json}, { marked => 0, unread => 0 }, 'bob marks all of his: none';
is unread($alice), 4, "... alice's stay unread";

$r = $alice->post_json('/api/notifications/read', { all => JSON::PP::true() });
is_deeply $r->{json}, { marked => 4, unread => 0 }, 'alice marks all: 4, none left';
is_deeply notes($alice, '?unread=true'), [], '?unread=true: empty';
is unread($alice), 0, 'notifications.unread 0';

done_testing;
