#!/usr/bin/perl
# 60-share-links: share links through the real stack. Proves: POST
# /api/files/<id>/share and /api/folders/<id>/share answer 201 with
# Location /api/shares/<id> and the share object (id, kind, item_id,
# item_name, permission, expires_at, has_password, download_limit,
# access_count, download_count, is_active, created_at) plus a token
# ("cfs_" + 43 base64url characters, 47 in all, kept in the database only as
# its SHA-256) and a ready url; permission defaults to download; expires_at
# (RFC 3339 in the future, offsets normalised to UTC) or expires_in
# (60..31536000 s, boundaries included) set the expiry; every invalid body
# (bad permission, past or non-RFC 3339 expires_at, expires_in out of range
# or not an integer, both expiry forms, a password under 8 or over 256
# bytes, download_limit 0 or out of range, unknown fields, wrong types,
# malformed JSON) is 400 invalid_request and makes nothing; another user's,
# an unknown, a trashed item, or the wrong kind answer 404, no login 401;
# creation logs `share`. GET /api/shares lists the caller's active links
# only, newest first, paged by limit/cursor, never with a token; PUT
# /api/shares/<id> changes permission, expiry (also reviving an expired
# link), password (null removes it) and download_limit (null removes it),
# refuses bad values with 400 and changes nothing then; DELETE answers 204
# and the token answers 404 at once while the link leaves the list; another
# user's share id answers 404 to PUT and DELETE and stays untouched.
# GET /api/shares/<token> needs no login: a file link answers {share, item}
# with the file's name, size and mime_type and permissions {view: true,
# download: per link, the rest false}; a folder link answers the folder and
# its listing (items, next_cursor, paged), navigates into subfolders with
# ?folder_id=, and answers 404 for any folder outside the shared subtree
# (the owner's root, a sibling, another user's folder, a folder moved out,
# a trashed one); unknown, malformed and revoked tokens 404; an expired link
# 410 share_expired; a password link 401 share_password_required without
# the X-Share-Password header (a password in the URL does not count), 401
# share_password_invalid with a wrong one (both with WWW-Authenticate), 200
# with the right one and a pass in X-Share-Access (valid an hour, signed:
# a tampered, forged-expiry, garbage or expired pass, or one made before the
# password changed, is 401; another link's pass opens nothing); 5 wrong
# passwords lock that link (429 rate_limited with Retry-After, even with the
# right password, from any address) but not others; 20 unknown-token probes
# from one address are answered, the next is 429 with Retry-After while
# another address still works; each access raises access_count and logs
# `share_access` (IP, user agent) in the owner's activity; trashing the item
# (or a folder above it) makes the link 404.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(time);

use Coffer::Test qw(problem_ok upload_ok sql_id api_epoch wait_until);
use Coffer::Tree qw(mkdir_ok list_all uuid);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $aroot = $alice->{user}{root_folder_id};
my $broot = $bob->{user}{root_folder_id};

my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $TOKEN = qr/^cfs_[A-Za-z0-9_-]{43}$/;
my $UA = 'coffer-test/1';    # Coffer::Test's HTTP::Tiny agent
my @PERMS = qw(view download edit delete share upload);

# ------------------------------------------------------------ helpers

# A well-formed token that no link has.
sub random_token {
	my @c = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');
	return 'cfs_' . join '', map { $c[ int rand @c ] } 1 .. 43;
}

sub iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

# JSON booleans (and anything else) as 0/1, for is_deeply.
sub b { $_[0] ? 1 : 0 }
sub perms01 { my ($p) = @_; ref $p eq 'HASH' ? { map { $_ => b($p->{$_}) } keys %$p } : $p }
sub link_perms { my ($download) = @_; return { (map { $_ => 0 } @PERMS), view => 1, download => b($download) } }

sub up1 {
	my ($c, $name, $data, $folder) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], (defined $folder ? (fields => [ folder_id => $folder ]) : ()));
	my $files = upload_ok($r, 1, [], "upload $name");
	return $files->[0] || { id => uuid() };
}

# POST /api/{files,folders}/<id>/share as $c.
sub share_req {
	my ($c, $kind, $id, $body) = @_;
	return $c->post_json("/api/${kind}s/" . sql_id($id) . '/share', $body // {});
}

# Make a link that must succeed; returns its object ({} on failure, so the
# tests that use it fail rather than die).
sub make_share {
	my ($c, $kind, $id, $body, $name) = @_;
	my $r = share_req($c, $kind, $id, $body);
	is $r->{status}, 201, ($name // "share $kind") . ' -> 201' or diag $r->describe;
	return ref $r->{json} eq 'HASH' ? $r->{json} : { token => random_token(), id => uuid() };
}

# GET /api/shares/<token> without login. %o: client, query ("?..."),
# password, pass (X-Share-Access).
sub open_share {
	my ($tok, %o) = @_;
	my $c = $o{client} // $s->client;
	return $c->get("/api/shares/$tok" . ($o{query} // ''),
		{ headers => { defined $o{password} ? ('X-Share-Password' => $o{password}) : (),
			       defined $o{pass} ? ('X-Share-Access' => $o{pass}) : () } });
}

# Every link of $c, following next_cursor.
sub my_shares {
	my ($c, $limit) = @_;
	my ($items) = eval { list_all($c, '/api/shares', $limit // 100) };
	return $items || [];
}

sub share_in_list {
	my ($c, $id) = @_;
	my ($hit) = grep { ($_->{id} // '') eq ($id // '') } @{ my_shares($c) };
	return $hit;
}

sub share_row {
	my ($id) = @_;
	my ($row) = $s->psql_rows("SELECT permission_level, coalesce(api_time(expires_at), ''), password_hash IS NOT NULL,
		coalesce(download_limit::text, ''), is_active FROM shares WHERE id = '" . sql_id($id) . "'");
	return $row || [];
}

sub count_shares { my ($c) = @_; $s->psql("SELECT count(*) FROM shares WHERE user_id = '$c->{user}{id}'") }

# Subtest: $o is a share object with the fields of the contract, each of the
# right shape, and the values of %$want (booleans compared as 0/1).
sub share_object_ok {
	my ($o, $want, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	subtest $name // 'share object', sub {
		is ref $o, 'HASH', 'an object' or return;
		for my $k (qw(id kind item_id item_name permission expires_at has_password download_limit
			access_count download_count is_active created_at)) {
			ok exists $o->{$k}, "has $k";
		}
		like $o->{id} // '', $UUID, 'id is a UUID';
		like $o->{kind} // '', qr/^(?:file|folder)$/, 'kind file|folder';
		like $o->{item_id} // '', $UUID, 'item_id is a UUID';
		like $o->{permission} // '', qr/^(?:view|download)$/, 'permission view|download';
		ok !defined $o->{expires_at} || $o->{expires_at} =~ $TIME, 'expires_at null or RFC 3339 UTC';
		ok JSON::PP::is_bool($o->{has_password}), 'has_password is a boolean';
		ok JSON::PP::is_bool($o->{is_active}), 'is_active is a boolean';
		ok !defined $o->{download_limit} || $o->{download_limit} =~ /^\d+$/, 'download_limit null or integer';
		like $o->{access_count} // '', qr/^\d+$/, 'access_count is an integer';
		like $o->{download_count} // '', qr/^\d+$/, 'download_count is an integer';
		like $o->{created_at} // '', $TIME, 'created_at RFC 3339 UTC';
		unlike $Coffer::Test::JSON->encode($o), qr/"(?:access_count|download_count|download_limit)":"/, 'counts are JSON numbers';
		ok !exists $o->{password} && !exists $o->{password_hash} && !exists $o->{share_token_hash},
			'no password or hash';
		for my $k (sort keys %{ $want || {} }) {
			my $w = $want->{$k};
			my $g = $o->{$k};
			if ($k =~ /^(?:has_password|is_active)$/) { is b($g), b($w), "$k " . (b($w) ? 'true' : 'false') }
			else { is_deeply $g, $w, "$k as expected" }
		}
	};
}

# ------------------------------------------------------------ setup

my $report = up1($alice, 'report.txt', "quarterly numbers\n");
my $rid = sql_id($report->{id});
my $shared = mkdir_ok($alice, 'Shared', undef);
my $sub = mkdir_ok($alice, 'Sub', $shared->{id});
my $deeper = mkdir_ok($alice, 'Deeper', $sub->{id});
my $gone_sub = mkdir_ok($alice, 'GoneSub', $shared->{id});
my $mover = mkdir_ok($alice, 'Mover', $shared->{id});
my $private = mkdir_ok($alice, 'Private', undef);
my $fa = up1($alice, 'a.txt', "alpha\n", $shared->{id});
my $fb = up1($alice, 'b.txt', "bravo bravo\n", $shared->{id});
my $fc = up1($alice, 'c.txt', "charlie\n", $sub->{id});
my $ft = up1($alice, 'trashed.txt', "trash me\n", $shared->{id});
my $secret = up1($alice, 'secret.txt', "top secret\n", $private->{id});
my $bobs_folder = mkdir_ok($bob, 'BobFolder', undef);
my $bobs_file = up1($bob, 'bob.txt', "bob's\n");
is $alice->delete('/api/files/' . sql_id($ft->{id}))->{status}, 204, 'trash trashed.txt (inside Shared)';
is $alice->delete('/api/folders/' . sql_id($gone_sub->{id}))->{status}, 204, 'trash GoneSub (inside Shared)';

# ============================================================ create

my $t0 = time;
my $r = share_req($alice, 'file', $rid, {});
is $r->{status}, 201, 'POST /api/files/:id/share {} -> 201' or diag $r->describe;
like $r->header('content-type') // '', qr{^application/json}, 'JSON';
my $link = ref $r->{json} eq 'HASH' ? $r->{json} : {};
share_object_ok($link, { kind => 'file', item_id => $report->{id}, item_name => 'report.txt', permission => 'download',
	expires_at => undef, has_password => 0, download_limit => undef, access_count => 0, download_count => 0,
	is_active => 1 }, 'the share object, with the defaults (download, no expiry, no password, no limit)');
my $tok = $link->{token} // random_token();
like $link->{token} // '', $TOKEN, 'token: cfs_ + 43 base64url characters';
is length($link->{token} // ''), 47, 'token is 47 characters';
is $link->{url}, $s->url("/api/shares/$tok"), 'url: <scheme://host>/api/shares/<token>';
like $r->header('location') // '', qr{^(?:https?://[^/]+)?/api/shares/\Q@{[ $link->{id} // 'none' ]}\E$}, 'Location: /api/shares/<id>';
cmp_ok abs((api_epoch($link->{created_at}) // 0) - $t0), '<=', 5, 'created_at is now';
is $s->psql("SELECT count(*) FROM shares WHERE id = '" . sql_id($link->{id}) . "'
	AND share_token_hash = sha256(convert_to('$tok', 'UTF8'))"), 1, 'the database keeps the SHA-256 of the token';
is $s->psql("SELECT count(*) FROM shares WHERE id = '" . sql_id($link->{id}) . "'
	AND (position(convert_to('$tok', 'UTF8') in share_token_hash) > 0 OR token_prefix = '$tok')"), 0, '... never the token itself';
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$alice->{user}{id}' AND action = 'share' AND target_id = '$rid'"),
	1, 'activity: share';
is $alice->get("/api/files/$rid")->{json}{sharing}{link_count}, 1, 'the file counts the link (sharing.link_count)';

my $r2 = share_req($alice, 'file', $rid, { permission => 'view' });
is $r2->{status}, 201, 'a second link to the same file -> 201' or diag $r2->describe;
my $viewlink = ref $r2->{json} eq 'HASH' ? $r2->{json} : {};
is $viewlink->{permission}, 'view', '... with permission view';
like $viewlink->{token} // '', $TOKEN, '... and a token';
isnt $viewlink->{token}, $link->{token}, '... of its own';
isnt $viewlink->{id}, $link->{id}, '... and an id of its own';

# a folder
$r = share_req($alice, 'folder', $shared->{id}, { permission => 'view' });
is $r->{status}, 201, 'POST /api/folders/:id/share -> 201' or diag $r->describe;
my $flink = ref $r->{json} eq 'HASH' ? $r->{json} : { token => random_token() };
share_object_ok($flink, { kind => 'folder', item_id => $shared->{id}, item_name => 'Shared', permission => 'view',
	has_password => 0, is_active => 1, access_count => 0 }, 'the folder share object');
like $flink->{token} // '', $TOKEN, 'folder link token';
is $flink->{url}, $s->url('/api/shares/' . ($flink->{token} // '')), 'folder link url';
like $r->header('location') // '', qr{/api/shares/\Q@{[ $flink->{id} // 'none' ]}\E$}, 'Location';
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$alice->{user}{id}' AND action = 'share' AND target_id = '"
	. sql_id($shared->{id}) . "'"), 1, 'activity: share (folder)';

# every body member
my $in_day = time + 86400;
my $full = make_share($alice, 'file', $fa->{id}, { permission => 'download', expires_at => iso($in_day),
	password => 'pass word', download_limit => 7 }, 'all members');
share_object_ok($full, { permission => 'download', expires_at => iso($in_day), has_password => 1, download_limit => 7 },
	'all members stored');
my $offset = make_share($alice, 'file', $fa->{id}, { expires_at => strftime('%Y-%m-%dT%H:%M:%S+02:00', gmtime($in_day + 7200)) },
	'expires_at with an offset');
is $offset->{expires_at}, iso($in_day), '... answered in UTC';
my $ein = make_share($alice, 'file', $fa->{id}, { expires_in => 3600 }, 'expires_in 3600');
cmp_ok abs((api_epoch($ein->{expires_at}) // 0) - (time + 3600)), '<=', 10, '... expires_at = now + 3600 s';
for my $edge (60, 31536000) {
	my $e = make_share($alice, 'file', $fa->{id}, { expires_in => $edge }, "expires_in $edge");
	cmp_ok abs((api_epoch($e->{expires_at}) // 0) - (time + $edge)), '<=', 10, "... expires_at = now + $edge s";
}
my $nulls = make_share($alice, 'file', $fa->{id}, { expires_at => undef, password => undef, download_limit => undef },
	'explicit nulls');
share_object_ok($nulls, { expires_at => undef, has_password => 0, download_limit => undef, permission => 'download' },
	'nulls: no expiry, no password, no limit');
my $pw8 = make_share($alice, 'file', $fa->{id}, { password => '12345678' }, 'a password of 8 bytes');
is b($pw8->{has_password}), 1, '... has_password';
make_share($alice, 'file', $fa->{id}, { password => 'p' x 256 }, 'a password of 256 bytes');
make_share($alice, 'file', $fa->{id}, { download_limit => 1 }, 'download_limit 1');
make_share($alice, 'file', $fa->{id}, { download_limit => 1000000 }, 'download_limit 1000000');

# refused bodies
my $before = count_shares($alice);
my $acts = $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$alice->{user}{id}' AND action = 'share'");
for my $bad (
	[ 'permission edit', { permission => 'edit' } ],
	[ 'permission ""', { permission => '' } ],
	[ 'permission null', { permission => undef } ],
	[ 'permission as a number', { permission => 1 } ],
	[ 'permission as an array', { permission => ['view'] } ],
	[ 'expires_at in the past', { expires_at => '2001-01-01T00:00:00Z' } ],
	[ 'expires_at a minute ago', { expires_at => iso(time - 60) } ],
	[ 'expires_at "tomorrow"', { expires_at => 'tomorrow' } ],
	[ 'expires_at a date only', { expires_at => strftime('%Y-%m-%d', gmtime($in_day)) } ],
	[ 'expires_at without a zone', { expires_at => strftime('%Y-%m-%dT%H:%M:%S', gmtime($in_day)) } ],
	[ 'expires_at month 13', { expires_at => '2099-13-01T00:00:00Z' } ],
	[ 'expires_at as a number', { expires_at => $in_day } ],
	[ 'expires_in 59', { expires_in => 59 } ],
	[ 'expires_in 0', { expires_in => 0 } ],
	[ 'expires_in -60', { expires_in => -60 } ],
	[ 'expires_in 31536001', { expires_in => 31536001 } ],
	[ 'expires_in as a string', { expires_in => '3600' } ],
	[ 'expires_in 3600.5', { expires_in => 3600.5 } ],
	[ 'expires_in true', { expires_in => JSON::PP::true() } ],
	[ 'both expires_at and expires_in', { expires_at => iso($in_day), expires_in => 3600 } ],
	[ 'a password of 7 bytes', { password => '1234567' } ],
	[ 'an empty password', { password => '' } ],
	[ 'a password of 257 bytes', { password => 'p' x 257 } ],
	[ 'a password as a number', { password => 12345678 } ],
	[ 'download_limit 0', { download_limit => 0 } ],
	[ 'download_limit -1', { download_limit => -1 } ],
	[ 'download_limit 1000001', { download_limit => 1000001 } ],
	[ 'download_limit as a string', { download_limit => '5' } ],
	[ 'download_limit 1.5', { download_limit => 1.5 } ],
	[ 'an unknown field', { foo => 1 } ],
	[ 'a token chosen by the client', { token => random_token() } ],
	[ 'a known field next to an unknown one', { permission => 'view', user_id => $bob->{user}{id} } ],
) {
	my ($what, $body) = @$bad;
	problem_ok(share_req($alice, 'file', $rid, $body), 400, 'invalid_request', "create with $what -> 400");
}
problem_ok($alice->post_json("/api/files/$rid/share", '{"permission": "view"'), 400, 'invalid_request', 'malformed JSON -> 400');
problem_ok($alice->post_json("/api/files/$rid/share", '[]'), 400, 'invalid_request', 'a JSON array -> 400');
problem_ok(share_req($alice, 'folder', $shared->{id}, { expires_in => 10 }), 400, 'invalid_request', 'folder: expires_in 10 -> 400');
is count_shares($alice), $before, 'the refused bodies made no link';
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$alice->{user}{id}' AND action = 'share'"), $acts, '... and logged nothing';

# whose item, which item
$before = count_shares($alice);
my $bbefore = count_shares($bob);
problem_ok(share_req($bob, 'file', $rid, {}), 404, 'not_found', "share another user's file -> 404");
problem_ok(share_req($bob, 'folder', $shared->{id}, {}), 404, 'not_found', "share another user's folder -> 404");
problem_ok(share_req($bob, 'folder', $aroot, {}), 404, 'not_found', "share another user's root folder -> 404");
problem_ok(share_req($alice, 'file', uuid(), {}), 404, 'not_found', 'share an unknown file -> 404');
problem_ok(share_req($alice, 'folder', uuid(), {}), 404, 'not_found', 'share an unknown folder -> 404');
problem_ok(share_req($alice, 'file', $ft->{id}, {}), 404, 'not_found', 'share a trashed file -> 404');
problem_ok(share_req($alice, 'folder', $gone_sub->{id}, {}), 404, 'not_found', 'share a trashed folder -> 404');
problem_ok(share_req($alice, 'file', $shared->{id}, {}), 404, 'not_found', "/api/files/<a folder's id>/share -> 404");
problem_ok(share_req($alice, 'folder', $rid, {}), 404, 'not_found', "/api/folders/<a file's id>/share -> 404");
problem_ok($alice->post_json('/api/files/not-a-uuid/share', {}), 404, 'not_found', '/api/files/not-a-uuid/share -> 404');
my $anon = $s->client;
problem_ok(share_req($anon, 'file', $rid, {}), 401, 'unauthenticated', 'share a file without login -> 401');
problem_ok(share_req($anon, 'folder', $shared->{id}, {}), 401, 'unauthenticated', 'share a folder without login -> 401');
is count_shares($alice), $before, 'none of those made a link for alice';
is count_shares($bob), $bbefore, '... nor for bob';

# ============================================================ open a file link

my $c1 = $s->client;
$r = open_share($tok, client => $c1);
is $r->{status}, 200, 'GET /api/shares/<token> without login -> 200' or diag $r->describe;
like $r->header('content-type') // '', qr{^application/json}, 'JSON';
my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
is ref $j->{share}, 'HASH', 'has share';
is ref $j->{item}, 'HASH', 'has item';
is $j->{share}{permission}, 'download', 'share.permission download';
is $j->{share}{kind}, 'file', 'share.kind file';
ok exists $j->{share}{expires_at} && !defined $j->{share}{expires_at}, 'share.expires_at null';
is $j->{item}{kind}, 'file', 'item.kind file';
is $j->{item}{id}, $report->{id}, "item.id is the file's";
is $j->{item}{name}, 'report.txt', 'item.name';
is $j->{item}{size}, 18, 'item.size';
is $j->{item}{mime_type}, $report->{mime_type}, 'item.mime_type';
is_deeply perms01($j->{item}{permissions}), link_perms(1), 'item.permissions: view and download only';
ok $r->{content} !~ /\Q$tok\E/, 'the answer does not repeat the token';

$r = open_share($viewlink->{token} // random_token());
is $r->{status}, 200, 'the view link -> 200' or diag $r->describe;
is $r->{json}{share}{permission}, 'view', 'share.permission view';
is_deeply perms01($r->{json}{item}{permissions}), link_perms(0), 'item.permissions: view only';
ok !exists $r->{json}{item}{sharing}, "item: no count of the owner's links";

$r = open_share($tok, client => $bob);
is $r->{status}, 200, 'another logged-in user may open the link too' or diag $r->describe;

# a UUID is not a token: it names a link for its owner (GET /api/shares/<id>)
problem_ok(open_share($link->{id} // uuid()), 401, 'unauthenticated', 'a link id without login -> 401');
problem_ok(open_share($link->{id} // uuid(), client => $bob), 404, 'not_found', "a link id to another user -> 404");
$r = open_share($link->{id} // uuid(), client => $alice);
is $r->{status}, 200, 'its id to the owner -> 200' or diag $r->describe;
is $r->{json}{id}, $link->{id}, '... the link';
ok !exists $r->{json}{token}, '... without its token';

# unknown and malformed tokens
problem_ok(open_share(random_token()), 404, 'not_found', 'an unknown token -> 404');
for my $bad ('abc', 'cfs_', 'cfs_' . ('A' x 42), 'cfs_' . ('A' x 44), 'xyz_' . substr($tok, 4), substr($tok, 0, 46),
	$tok . 'A', 'CFS_' . substr($tok, 4)) {
	problem_ok(open_share($bad), 404, 'not_found', "a malformed token ($bad) -> 404");
}
problem_ok(open_share('cfs_' . ('A' x 42) . '%21'), 404, 'not_found', 'a token with a non-base64url character -> 404');

# ============================================================ open a folder link

my $ftok = $flink->{token} // random_token();
$r = open_share($ftok);
is $r->{status}, 200, 'folder link -> 200' or diag $r->describe;
$j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
is $j->{share}{kind}, 'folder', 'share.kind folder';
is $j->{share}{permission}, 'view', 'share.permission view';
is $j->{item}{kind}, 'folder', 'item.kind folder';
is $j->{item}{id}, $shared->{id}, 'item is the shared folder';
is $j->{item}{name}, 'Shared', 'item.name';
is_deeply perms01($j->{item}{permissions}), link_perms(0), "the folder's permissions: view only";
is ref $j->{items}, 'ARRAY', 'items is an array';
ok exists $j->{next_cursor}, 'has next_cursor';
is_deeply [ map { $_->{name} } @{ $j->{items} || [] } ], [qw(Mover Sub a.txt b.txt)],
	'the listing: folders first, by name; the trashed file and folder are absent';
is_deeply [ grep { my $p = perms01($_->{permissions}); !ref $p || grep { $p->{$_} } qw(edit delete share upload) } @{ $j->{items} || [] } ],
	[], 'no listed item claims edit, delete, share or upload';
is_deeply [ grep { !b(($_->{permissions} || {})->{view}) || b(($_->{permissions} || {})->{download}) } @{ $j->{items} || [] } ],
	[], 'every listed item: view, no download (view link)';

my ($paged) = eval { list_all($s->client, "/api/shares/$ftok", 1) };
is_deeply [ map { $_->{name} } @{ $paged || [] } ], [qw(Mover Sub a.txt b.txt)], 'paged by ?limit=1 and next_cursor: the same listing';
$r = open_share($ftok, query => '?limit=2');
is scalar @{ $r->{json}{items} || [] }, 2, '?limit=2: two items';
ok defined $r->{json}{next_cursor}, '... and a next_cursor';

$r = open_share($ftok, query => '?folder_id=' . $sub->{id});
is $r->{status}, 200, '?folder_id=<Sub, inside> -> 200' or diag $r->describe;
is $r->{json}{item}{id}, $sub->{id}, '... item is Sub, the folder browsed';
is $r->{json}{item}{path}, '/Shared/Sub', '... its path starts at the shared folder';
is_deeply [ map { $_->{name} } @{ $r->{json}{items} || [] } ], [qw(Deeper c.txt)], "... Sub's listing";
$r = open_share($ftok, query => '?folder_id=' . $deeper->{id});
is $r->{status}, 200, '?folder_id=<Deeper, two levels down> -> 200' or diag $r->describe;
is $r->{json}{item}{name}, 'Deeper', '... item is Deeper';
is_deeply $r->{json}{items}, [], '... empty';
$r = open_share($ftok, query => '?folder_id=' . $shared->{id});
is $r->{status}, 200, '?folder_id=<the shared folder itself> -> 200' or diag $r->describe;

for my $out (
	[ "the owner's root", $aroot ],
	[ 'a sibling folder (Private)', $private->{id} ],
	[ "another user's folder", $bobs_folder->{id} ],
	[ "another user's root", $broot ],
	[ 'a trashed folder inside the share', $gone_sub->{id} ],
	[ 'an unknown id', uuid() ],
) {
	my ($what, $fid) = @$out;
	problem_ok(open_share($ftok, query => "?folder_id=$fid"), 404, 'not_found', "?folder_id=<$what> -> 404");
}
$r = $alice->post_json('/api/files/move', { item_ids => [ $mover->{id} ], target_folder_id => $aroot });
is scalar @{ $r->{json}{items} || [] }, 1, 'alice moves Mover out of Shared' or diag $r->describe;
problem_ok(open_share($ftok, query => "?folder_id=$mover->{id}"), 404, 'not_found', '?folder_id=<a folder moved out> -> 404');
is_deeply [ map { $_->{name} } @{ open_share($ftok)->{json}{items} || [] } ], [qw(Sub a.txt b.txt)], '... and it left the listing';

# a download folder link
my $dl = make_share($alice, 'folder', $sub->{id}, {}, 'download link to Sub');
$r = open_share($dl->{token} // random_token());
is $r->{status}, 200, 'download folder link -> 200' or diag $r->describe;
is $r->{json}{share}{permission}, 'download', 'share.permission download';
is_deeply perms01($r->{json}{item}{permissions}), link_perms(1), "the folder's permissions: view and download";
problem_ok(open_share($dl->{token} // random_token(), query => '?folder_id=' . $shared->{id}), 404, 'not_found',
	'?folder_id=<the parent of the shared folder> -> 404');

# ============================================================ expiry

my $exp = make_share($alice, 'file', $rid, { expires_in => 3600 }, 'a link for expiry');
is open_share($exp->{token} // random_token())->{status}, 200, 'before expiry -> 200';
$s->psql("UPDATE shares SET expires_at = now() - interval '1 minute' WHERE id = '" . sql_id($exp->{id}) . "'");
problem_ok(open_share($exp->{token} // random_token()), 410, 'share_expired', 'expired -> 410 share_expired');
$r = $alice->put_json('/api/shares/' . sql_id($exp->{id}), { expires_in => 3600 });
is $r->{status}, 200, 'PUT {expires_in: 3600} on the expired link -> 200' or diag $r->describe;
cmp_ok abs((api_epoch($r->{json}{expires_at}) // 0) - (time + 3600)), '<=', 10, '... expires in an hour';
is open_share($exp->{token} // random_token())->{status}, 200, '... and the link works again';
$s->psql("UPDATE shares SET expires_at = now() - interval '1 minute' WHERE id = '" . sql_id($exp->{id}) . "'");
$r = $alice->put_json('/api/shares/' . sql_id($exp->{id}), { expires_at => undef });
is $r->{status}, 200, 'PUT {expires_at: null} -> 200' or diag $r->describe;
ok exists $r->{json}{expires_at} && !defined $r->{json}{expires_at}, '... no expiry';
is open_share($exp->{token} // random_token())->{status}, 200, '... the link works';

# ============================================================ passwords

my $pw = make_share($alice, 'file', $rid, { password => 'open sesame' }, 'a password link');
my $ptok = $pw->{token} // random_token();
is b($pw->{has_password}), 1, 'has_password true';
unlike $Coffer::Test::JSON->encode($pw), qr/open sesame/, 'the password is not echoed';
$r = open_share($ptok);
problem_ok($r, 401, 'share_password_required', 'no X-Share-Password -> 401 share_password_required');
like $r->header('www-authenticate') // '', qr/^SharePassword realm="coffer-share"$/, '... with WWW-Authenticate';
problem_ok(open_share($ptok, query => '?password=open%20sesame'), 401, 'share_password_required',
	'the password in the URL does not count -> 401 share_password_required');
$r = open_share($ptok, password => 'open sesamE');
problem_ok($r, 401, 'share_password_invalid', 'a wrong password -> 401 share_password_invalid');
ok defined $r->header('www-authenticate'), '... with WWW-Authenticate';
ok !defined $r->header('x-share-access'), '... and no pass';
$r = open_share($ptok, password => 'open sesame');
is $r->{status}, 200, 'the right password -> 200' or diag $r->describe;
is $r->{json}{item}{name}, 'report.txt', '... the file';

# the pass: the password once per visit, not argon2id on every request
my $pass = $r->header('x-share-access') // '';
like $pass, qr/^(\d{10})\.[A-Za-z0-9_-]{43}$/, '... and a pass in X-Share-Access';
my ($pass_exp) = $pass =~ /^(\d+)\./;
ok defined $pass_exp && abs($pass_exp - time - 3600) <= 120, '... valid for an hour';
$r = open_share($ptok, pass => $pass);
is $r->{status}, 200, 'the pass without the password -> 200' or diag $r->describe;
is $r->{json}{item}{name}, 'report.txt', '... the file';
$r = $s->client->get("/api/shares/$ptok/download", { headers => { 'X-Share-Access' => $pass } });
is $r->{status}, 200, '... and it downloads with the pass' or diag $r->describe;
(my $forged = $pass) =~ s/^(\d+)/$1 + 86400/e;
problem_ok(open_share($ptok, pass => $forged), 401, 'share_password_required',
	'a pass with its expiry pushed a day later -> 401');
(my $tampered = $pass) =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e;
problem_ok(open_share($ptok, pass => $tampered), 401, 'share_password_required', 'a tampered pass -> 401');
problem_ok(open_share($ptok, pass => 'garbage'), 401, 'share_password_required', 'a garbage pass -> 401');
problem_ok(open_share($ptok, pass => '1.' . ('A' x 43)), 401, 'share_password_required', 'an expired pass -> 401');
problem_ok(open_share($ptok, pass => $tampered, password => 'open sesamE'), 401, 'share_password_invalid',
	'a bad pass and a wrong password -> 401 share_password_invalid');

$r = $alice->put_json('/api/shares/' . sql_id($pw->{id}), { password => 'new password 2' });
is $r->{status}, 200, 'PUT {password} -> 200' or diag $r->describe;
is b($r->{json}{has_password}), 1, '... has_password';
{
	my @upd = $s->psql_rows("SELECT details::text FROM activity_log WHERE user_id = '$alice->{user}{id}'
		AND action = 'share_update' AND target_id = '" . sql_id($pw->{id}) . "' ORDER BY created_at DESC LIMIT 1");
	is $upd[0][0] // '', '{"password": "set"}', '... logged as share_update {password: set}, never the password';
}
problem_ok(open_share($ptok, password => 'open sesame'), 401, 'share_password_invalid', 'the old password -> 401');
problem_ok(open_share($ptok, pass => $pass), 401, 'share_password_required', "the old password's pass -> 401");
is open_share($ptok, password => 'new password 2')->{status}, 200, 'the new one -> 200';
$r = $alice->put_json('/api/shares/' . sql_id($pw->{id}), { password => undef });
is $r->{status}, 200, 'PUT {password: null} -> 200' or diag $r->describe;
is b($r->{json}{has_password}), 0, '... has_password false';
is open_share($ptok)->{status}, 200, '... no password needed any more';

# throttle: 5 failures per link
my $lock = make_share($alice, 'file', $rid, { password => 'letmein-please' }, 'a link to lock');
my $other_pw = make_share($alice, 'file', $rid, { password => 'letmein-please' }, 'another password link');
my $ltok = $lock->{token} // random_token();
my $guesser = $s->client(local_address => $s->unique_ip);
for my $i (1 .. 5) {
	problem_ok(open_share($ltok, client => $guesser, password => "wrong guess $i"), 401, 'share_password_invalid',
		"wrong password $i -> 401 share_password_invalid");
}
$r = open_share($ltok, client => $guesser, password => 'letmein-please');
problem_ok($r, 429, 'rate_limited', 'after 5 wrong passwords even the right one -> 429 rate_limited');
my $ra = $r->header('retry-after') // '';
like $ra, qr/^\d+$/, 'Retry-After in seconds';
ok $ra >= 1 && $ra <= 900, "Retry-After $ra within 1..900" if $ra =~ /^\d+$/;
# counted per link and address: one guesser does not lock the link for
# everyone (a link-wide cap of 50 guesses per 15 minutes stays)
$r = open_share($ltok, password => 'letmein-please');
is $r->{status}, 200, '... while another address still opens it with the password' or diag $r->describe;
$r = open_share($other_pw->{token} // random_token(), client => $guesser, password => 'letmein-please');
is $r->{status}, 200, 'another password link still opens from the same address' or diag $r->describe;
is open_share($other_pw->{token} // random_token(), client => $guesser, pass => $r->header('x-share-access') // '')->{status},
	200, '... and so does its pass';
problem_ok(open_share($ltok, client => $guesser, pass => $r->header('x-share-access') // ''), 429, 'rate_limited',
	"another link's pass does not open the locked link");
# the lock releases when its window (15 minutes) has passed
$s->psql("UPDATE auth_throttle SET window_start = now() - interval '901 seconds'
	WHERE key LIKE 'sharepw:" . sql_id($lock->{id}) . "%'");
$r = open_share($ltok, client => $guesser, password => 'letmein-please');
is $r->{status}, 200, 'after the window the locked address opens the link with the password' or diag $r->describe;

# ============================================================ unknown-token probes per address

my $prober = $s->client(local_address => $s->unique_ip);
my @probe = map { open_share(random_token(), client => $prober)->{status} } 1 .. 20;
is_deeply \@probe, [ (404) x 20 ], '20 unknown tokens from one address -> 404 each';
$r = open_share(random_token(), client => $prober);
problem_ok($r, 429, 'rate_limited', 'the 21st -> 429 rate_limited');
$ra = $r->header('retry-after') // '';
like $ra, qr/^\d+$/, 'Retry-After in seconds';
ok $ra >= 1 && $ra <= 60, "Retry-After $ra within 1..60 (20 per minute)" if $ra =~ /^\d+$/;
my $bystander = $s->client(local_address => $s->unique_ip);
is open_share($tok, client => $bystander)->{status}, 200, 'another address: a good token still -> 200';
problem_ok(open_share(random_token(), client => $bystander), 404, 'not_found', 'another address: an unknown token still -> 404');

# ============================================================ counting and activity

my $cnt = make_share($alice, 'file', $rid, {}, 'a link to count');
my $counter = $s->client(local_address => $s->unique_ip);
my $cip = $counter->local_address;
is open_share($cnt->{token} // random_token(), client => $counter)->{status}, 200, "access $_ -> 200" for 1 .. 3;
my $seen = wait_until(sub { my $h = share_in_list($alice, $cnt->{id}); $h && ($h->{access_count} // 0) >= 3 ? $h : undef }, 5, 0.2);
is $seen && $seen->{access_count}, 3, 'access_count 3 in GET /api/shares';
is $s->psql("SELECT access_count FROM shares WHERE id = '" . sql_id($cnt->{id}) . "'"), 3, '... and in the row';
wait_until(sub { $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$alice->{user}{id}'
	AND action = 'share_access' AND host(ip_address) = '$cip'") >= 3 }, 5, 0.2);
my @acc = $s->psql_rows("SELECT host(ip_address), user_agent FROM activity_log WHERE user_id = '$alice->{user}{id}'
	AND action = 'share_access' AND host(ip_address) = '$cip'");
is scalar @acc, 3, "three share_access entries in the owner's activity with the visitor's IP";
is_deeply [ map { $_->[1] } @acc ], [ ($UA) x 3 ], '... and user agent';
my $before_access = $s->psql("SELECT count(*) FROM activity_log WHERE action = 'share_access'");
ok $before_access >= 3, 'share_access entries exist';
is $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '$bob->{user}{id}' AND action = 'share_access'"), 0,
	'no share_access in the activity of others';

# ============================================================ GET /api/shares

my $carol = $s->register_user;
my $cfile = up1($carol, 'carol.txt', "carol's file\n");
my $cfold = mkdir_ok($carol, 'CarolFolder', undef);
my @made;
for my $i (1 .. 5) {
	push @made, make_share($carol, $i % 2 ? 'file' : 'folder', $i % 2 ? $cfile->{id} : $cfold->{id}, {}, "carol's link $i");
}
my $dave = $s->register_user;
up1($dave, 'dave.txt', "dave\n");
make_share($bob, 'file', $bobs_file->{id}, {}, "bob's link");
is $carol->delete('/api/shares/' . sql_id($made[2]{id}))->{status}, 204, 'carol revokes link 3';
$r = $carol->get('/api/shares');
is $r->{status}, 200, 'GET /api/shares -> 200' or diag $r->describe;
is ref $r->{json}{items}, 'ARRAY', 'items';
ok exists $r->{json}{next_cursor} && !defined $r->{json}{next_cursor}, 'next_cursor null';
my @want = map { $_->{id} } reverse @made[ 0, 1, 3, 4 ];
is_deeply [ map { $_->{id} } @{ $r->{json}{items} || [] } ], \@want, "carol's active links only, newest first";
share_object_ok($r->{json}{items}[0], { id => $made[4]{id}, kind => 'file', item_name => 'carol.txt', is_active => 1 },
	'a listed share object');
is_deeply [ grep { exists $_->{token} } @{ $r->{json}{items} || [] } ], [], 'no item carries a token';
my @leaked = grep { my $t = $_->{token}; defined $t && index($r->{content}, $t) >= 0 } @made;
is scalar @leaked, 0, 'no token appears anywhere in the list';
my ($p1) = $carol->get('/api/shares?limit=2');
is scalar @{ $p1->{json}{items} || [] }, 2, '?limit=2: two links';
ok defined $p1->{json}{next_cursor}, '... and a next_cursor';
is_deeply [ map { $_->{id} } @{ my_shares($carol, 2) } ], \@want, 'paged two at a time: the same links in the same order';
is_deeply [ map { $_->{id} } @{ my_shares($carol, 1) } ], \@want, 'paged one at a time: the same';
is_deeply $dave->get('/api/shares')->{json}, { items => [], next_cursor => undef }, 'a user without links: empty list';
problem_ok($carol->get('/api/shares?limit=0'), 400, 'invalid_request', '?limit=0 -> 400');
problem_ok($carol->get('/api/shares?limit=1001'), 400, 'invalid_request', '?limit=1001 -> 400');
problem_ok($carol->get('/api/shares?cursor=garbage'), 400, 'invalid_request', 'a cursor this route did not make -> 400');
problem_ok($s->client->get('/api/shares'), 401, 'unauthenticated', 'GET /api/shares without login -> 401');
ok !grep({ ($_->{id} // '') eq ($made[0]{id} // '-') } @{ my_shares($alice) }), "carol's links are not in alice's list";

# ============================================================ PUT /api/shares/<id>

my $e = $made[0];
my $eid = sql_id($e->{id});
my $etok = $e->{token} // random_token();
$r = $carol->put_json("/api/shares/$eid", { permission => 'view' });
is $r->{status}, 200, 'PUT {permission: view} -> 200' or diag $r->describe;
share_object_ok($r->{json}, { id => $e->{id}, permission => 'view', item_name => 'carol.txt', is_active => 1 }, 'the changed share');
ok !exists $r->{json}{token}, 'PUT does not show the token';
$r = open_share($etok);
is $r->{json}{share}{permission}, 'view', 'the link now says view';
is_deeply perms01($r->{json}{item}{permissions}), link_perms(0), '... and gives no download';
$r = $carol->put_json("/api/shares/$eid", { permission => 'download' });
is $r->{json}{permission}, 'download', 'PUT {permission: download}';
is_deeply perms01(open_share($etok)->{json}{item}{permissions}), link_perms(1), '... download again';

my $at = time + 2 * 86400;
$r = $carol->put_json("/api/shares/$eid", { expires_at => iso($at) });
is $r->{status}, 200, 'PUT {expires_at} -> 200' or diag $r->describe;
is $r->{json}{expires_at}, iso($at), '... expires_at set';
is open_share($etok)->{json}{share}{expires_at}, iso($at), '... and shown by the link';
$r = $carol->put_json("/api/shares/$eid", { expires_in => 600 });
cmp_ok abs((api_epoch($r->{json}{expires_at}) // 0) - (time + 600)), '<=', 10, 'PUT {expires_in: 600}: now + 600 s';
$r = $carol->put_json("/api/shares/$eid", { download_limit => 5 });
is $r->{status}, 200, 'PUT {download_limit: 5} -> 200' or diag $r->describe;
is $r->{json}{download_limit}, 5, '... limit 5';
is $r->{json}{permission}, 'download', '... permission kept';
ok defined $r->{json}{expires_at}, '... expiry kept';
$r = $carol->put_json("/api/shares/$eid", { download_limit => undef });
ok exists $r->{json}{download_limit} && !defined $r->{json}{download_limit}, 'PUT {download_limit: null}: no limit';
$r = $carol->put_json("/api/shares/$eid", { password => 'abcdefgh' });
is b($r->{json}{has_password}), 1, 'PUT {password}: has_password';
problem_ok(open_share($etok), 401, 'share_password_required', '... the link asks for it');
is open_share($etok, password => 'abcdefgh')->{status}, 200, '... and opens with it';
$r = $carol->put_json("/api/shares/$eid", { password => undef, expires_at => undef, permission => 'view' });
is $r->{status}, 200, 'PUT several fields at once -> 200' or diag $r->describe;
share_object_ok($r->{json}, { has_password => 0, expires_at => undef, permission => 'view', download_limit => undef }, '... all applied');
is open_share($etok)->{status}, 200, '... the link opens without a password';

my $row = share_row($eid);
for my $bad (
	[ 'permission edit', { permission => 'edit' } ],
	[ 'permission as a number', { permission => 2 } ],
	[ 'expires_at in the past', { expires_at => '2001-01-01T00:00:00Z' } ],
	[ 'expires_at not RFC 3339', { expires_at => 'next week' } ],
	[ 'expires_in 59', { expires_in => 59 } ],
	[ 'expires_in 31536001', { expires_in => 31536001 } ],
	[ 'both expires_at and expires_in', { expires_at => iso($at), expires_in => 3600 } ],
	[ 'a password of 7 bytes', { password => 'short12' } ],
	[ 'download_limit 0', { download_limit => 0 } ],
	[ 'download_limit as a string', { download_limit => '3' } ],
	[ 'an unknown field', { item_id => $cfold->{id} } ],
	[ 'a good field next to an unknown one', { permission => 'download', is_active => JSON::PP::false() } ],
) {
	my ($what, $body) = @$bad;
	problem_ok($carol->put_json("/api/shares/$eid", $body), 400, 'invalid_request', "PUT $what -> 400");
}
problem_ok($carol->put_json("/api/shares/$eid", '{"permission":'), 400, 'invalid_request', 'PUT malformed JSON -> 400');
is_deeply share_row($eid), $row, 'the refused PUTs changed nothing';

# another user's share, unknown ids
my $victim = $made[1];
my $vid = sql_id($victim->{id});
$row = share_row($vid);
problem_ok($bob->put_json("/api/shares/$vid", { permission => 'view' }), 404, 'not_found', "PUT another user's share -> 404");
problem_ok($bob->delete("/api/shares/$vid"), 404, 'not_found', "DELETE another user's share -> 404");
is_deeply share_row($vid), $row, '... it is untouched';
is open_share($victim->{token} // random_token())->{status}, 200, '... and its link still works';
problem_ok($carol->put_json('/api/shares/' . uuid(), { permission => 'view' }), 404, 'not_found', 'PUT an unknown share id -> 404');
problem_ok($carol->delete('/api/shares/' . uuid()), 404, 'not_found', 'DELETE an unknown share id -> 404');
$r = $carol->delete('/api/shares/' . ($victim->{token} // random_token()));
like $r->{status}, qr/^40[45]$/, 'DELETE /api/shares/<token> (not an id) -> 404 or 405 (GET only)' or diag $r->describe;
is open_share($victim->{token} // random_token())->{status}, 200, '... the link still works';
problem_ok($s->client->put_json("/api/shares/$vid", { permission => 'view' }), 401, 'unauthenticated', 'PUT without login -> 401');
problem_ok($s->client->delete("/api/shares/$vid"), 401, 'unauthenticated', 'DELETE without login -> 401');

# ============================================================ DELETE /api/shares/<id>

$r = $carol->delete("/api/shares/$vid");
is $r->{status}, 204, 'DELETE /api/shares/<id> -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
problem_ok(open_share($victim->{token} // random_token()), 404, 'not_found', 'the revoked token -> 404 at once');
problem_ok(open_share($victim->{token} // random_token(), client => $carol), 404, 'not_found', '... for its owner too');
ok !grep({ ($_->{id} // '') eq ($victim->{id} // '-') } @{ my_shares($carol) }), '... and it left the list';
is share_row($vid)->[4], 'f', '... the row is inactive';
problem_ok($carol->delete("/api/shares/$vid"), 404, 'not_found', 'a second DELETE -> 404');
problem_ok($carol->put_json("/api/shares/$vid", { permission => 'view' }), 404, 'not_found', 'PUT a revoked share -> 404');
problem_ok(open_share($victim->{token} // random_token()), 404, 'not_found', 'the revoked token stays dead');

# alice's folder link: revoke works the same
is $alice->delete('/api/shares/' . sql_id($flink->{id}))->{status}, 204, "revoke alice's folder link";
problem_ok(open_share($ftok), 404, 'not_found', 'the folder link -> 404');
problem_ok(open_share($ftok, query => '?folder_id=' . $sub->{id}), 404, 'not_found', '... also inside it');

# ============================================================ the item trashed

my $tf = up1($alice, 'to-trash.txt', "soon gone\n");
my $tl = make_share($alice, 'file', $tf->{id}, {}, 'a link to a file about to be trashed');
is open_share($tl->{token} // random_token())->{status}, 200, 'the link works';
is $alice->delete('/api/files/' . sql_id($tf->{id}))->{status}, 204, 'trash the file';
problem_ok(open_share($tl->{token} // random_token()), 404, 'not_found', 'the trashed file -> 404');

my $outer = mkdir_ok($alice, 'Outer', undef);
my $inner = mkdir_ok($alice, 'Inner', $outer->{id});
up1($alice, 'in.txt', "inside\n", $inner->{id});
my $il = make_share($alice, 'folder', $inner->{id}, {}, 'a link to Inner');
is open_share($il->{token} // random_token())->{status}, 200, 'the folder link works';
is $alice->delete('/api/folders/' . sql_id($outer->{id}))->{status}, 204, 'trash Outer (above Inner)';
problem_ok(open_share($il->{token} // random_token()), 404, 'not_found', 'the link to a folder inside a trashed folder -> 404');

done_testing;
