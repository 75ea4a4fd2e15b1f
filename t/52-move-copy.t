#!/usr/bin/perl
# 52-move-copy: POST /api/files/move and POST /api/files/copy through the
# real stack, with selections under jobs_threshold (answered at once, 200
# {items, errors}). Proves: a mixed selection of files and folders moves,
# and each item that cannot reports its own error next to the ones that
# could (404 for an unknown id, another user's item or a trashed one, 409
# name_conflict, 409 invalid_move for a folder into itself, its child, a deep
# descendant, and for the root); on_conflict=rename gives "name (1)"; moving
# an item to the folder it is in is a no-op success; an unknown, trashed or
# other user's target is a 404 for the whole request and moves nothing; bad
# bodies (missing/empty/non-array item_ids, non-UUIDs, duplicates, over
# 10000 ids, bad target, bad on_conflict, unknown fields, malformed JSON)
# are 400 and move nothing; paths and breadcrumbs follow a moved subtree;
# two requests racing to move A into B and B into A (also into each other's
# descendants) never make a cycle: at most one succeeds, the other is a
# per-item 409 invalid_move, and every folder still reaches the root.
# Copy: a nested subtree is copied with new ids and identical contents
# (names, sizes, sha256, mime types), each copied file at version 1 of its
# current content, sharing the blob (ref_count + 1, no new file on disk),
# charged to usage; copies into the same folder conflict or are renamed;
# into itself or a descendant is invalid_move; a copy that does not fit in
# the quota is 507 quota_exceeded and copies nothing (one that fits exactly
# succeeds). Folder totals, usage and blob reference counts match a recount
# (tree_consistent) after every scenario.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Coffer::Test qw(problem_ok upload_ok random_bytes sql_id wait_until);
use Coffer::Tree qw(mkdir_ok tree_consistent uuid put_files);

my $s = Coffer::Test->stack;
my $THRESHOLD = $s->config('jobs_threshold') // 1000;
plan skip_all => "jobs_threshold is $THRESHOLD on this stack; these tests need at least 20" if $THRESHOLD < 20;

my $alice = $s->register_user;
my $bob = $s->register_user;
my $aroot = $alice->{user}{root_folder_id};
my $broot = $bob->{user}{root_folder_id};
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my %STATUS = (not_found => 404, name_conflict => 409, invalid_move => 409);

sub bulk {
	my ($c, $op, $ids, $target, %o) = @_;
	return $c->post_json("/api/files/$op",
		{ item_ids => $ids, (defined $target ? (target_folder_id => $target) : ()), %o });
}

# Subtest: $r is a 200 {items, errors} answer with $want items (a count, or
# the exact ids in any order) and exactly the per-item errors of %$errors
# ({id => code}), each {id, error: problem with the code's status}.
# Returns the items.
sub bulk_ok {
	my ($r, $want, $errors, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
	my @items = ref $j->{items} eq 'ARRAY' ? @{ $j->{items} } : ();
	my @errs = ref $j->{errors} eq 'ARRAY' ? @{ $j->{errors} } : ();
	subtest $name => sub {
		is $r->{status}, 200, 'status 200' or diag $r->describe;
		like $r->header('content-type') // '', qr{^application/json}, 'JSON';
		is_deeply [ sort keys %$j ], [qw(errors items)], 'exactly {items, errors}';
		if (ref $want) {
			is_deeply [ sort map { $_->{id} // '?' } @items ], [ sort @$want ], 'items: the expected ids';
		} else {
			is scalar @items, $want, "$want item(s)";
		}
		my %got = map { (ref $_ eq 'HASH' ? ($_->{id} // '?') : '?') => (ref $_ eq 'HASH' ? $_->{error} : undef) } @errs;
		is scalar @errs, scalar keys %$errors, scalar(keys %$errors) . ' error entries'
			or diag 'errors: ' . $Coffer::Test::JSON->encode(\@errs);
		is_deeply +{ map { $_ => (ref $got{$_} eq 'HASH' ? $got{$_}{code} : undef) } keys %got }, $errors,
			'per-item errors: {id => code}' or diag 'errors: ' . $Coffer::Test::JSON->encode(\@errs);
		for my $id (sort keys %got) {
			my $p = $got{$id};
			next unless ref $p eq 'HASH';
			is $p->{status}, $STATUS{ $p->{code} // '' } // 'a known code', "error for $id: status matches $p->{code}"
				if defined $p->{code};
			ok defined $p->{type} && defined $p->{title} && defined $p->{detail}, "error for $id: type, title, detail";
		}
	};
	return \@items;
}

# Where an item is: "parent-id/name" (files: folder_id), with " (trashed)"
# when deleted; "none" when there is no such row.
sub loc {
	my ($id) = @_;
	$id = sql_id($id);
	my ($r) = $s->psql_rows("SELECT folder_id::text, name, is_deleted FROM files WHERE id = '$id'
		UNION ALL SELECT coalesce(parent_id::text, '-'), name, is_deleted FROM folders WHERE id = '$id'");
	return 'none' unless $r;
	return "$r->[0]/$r->[1]" . ($r->[2] eq 't' ? ' (trashed)' : '');
}

# Every live folder and file under folder $id, relative to it, as
# [kind, relative path, size, sha256, mime type, id], sorted by path.
sub subtree {
	my ($id) = @_;
	$id = sql_id($id);
	return [ $s->psql_rows(qq{
		WITH RECURSIVE t(id, rel) AS (
		    SELECT id, ''::text FROM folders WHERE id = '$id'
		  UNION ALL
		    SELECT c.id, t.rel || '/' || c.name FROM t JOIN folders c ON c.parent_id = t.id AND NOT c.is_deleted)
		SELECT 'd', rel, '', '', '', id::text FROM t
		UNION ALL
		SELECT 'f', t.rel || '/' || f.name, f.size::text, encode(f.sha256, 'hex'), f.mime_type, f.id::text
		  FROM t JOIN files f ON f.folder_id = t.id AND NOT f.is_deleted
		 ORDER BY 2, 1}) ];
}
sub without_ids { [ map { [ @$_[ 0 .. 4 ] ] } @{ $_[0] } ] }

# Everything a user has (every row, trashed or not), to prove a request changed nothing.
sub everything {
	my ($c) = @_;
	my $u = sql_id($c->{user}{id});
	return [ $s->psql_rows(qq{
		SELECT 'd', id, coalesce(parent_id::text, ''), name, is_deleted, file_count, total_size FROM folders WHERE user_id = '$u'
		UNION ALL
		SELECT 'f', id, folder_id::text, name, is_deleted, version, size FROM files WHERE user_id = '$u'
		 ORDER BY 2}), $s->psql("SELECT storage_used FROM users WHERE id = '$u'") ];
}

sub folder_get {
	my ($c, $id) = @_;
	my $r = $c->get('/api/folders/' . sql_id($id));
	return $r->{status} == 200 ? $r->{json} : { status => $r->{status} };
}

# [file_count, total_size] of a folder as the API reports them.
sub totals {
	my ($c, $id) = @_;
	my $f = folder_get($c, $id);
	return [ $f->{file_count}, $f->{total_size} ];
}

sub parent_of { my ($o) = @_; ref $o eq 'HASH' ? ($o->{kind} // '') eq 'folder' ? $o->{parent_id} : $o->{folder_id} : undef }

sub activity_count {
	my ($c, $action) = @_;
	return $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '" . sql_id($c->{user}{id}) . "' AND action = '$action'");
}

# Folders of $c that do not reach the root by their parent chain (a cycle).
sub unreachable_folders {
	my ($c) = @_;
	my $u = sql_id($c->{user}{id});
	return $s->psql(qq{
		WITH RECURSIVE t(id) AS (
		    SELECT id FROM folders WHERE user_id = '$u' AND parent_id IS NULL
		  UNION
		    SELECT c.id FROM t JOIN folders c ON c.parent_id = t.id)
		SELECT count(*) FROM folders f WHERE f.user_id = '$u' AND f.id NOT IN (SELECT id FROM t)});
}

my $t0 = time;

# ------------------------------------------------------------ move: a mixed selection

my $src = mkdir_ok($alice, 'src');
my $dst = mkdir_ok($alice, 'dst');
my $sub = mkdir_ok($alice, 'sub', $src->{id});
my %size = ('a.bin' => 1000, report => 1100, 'keep.bin' => 1200, 'c.bin' => 1300, 'gone.bin' => 100);
my $sf = put_files($alice, $src->{id}, map { ($_ => random_bytes($size{$_})) } 'a.bin', 'report', 'keep.bin', 'gone.bin');
my $cf = put_files($alice, $sub->{id}, 'c.bin' => random_bytes($size{'c.bin'}));
my $df = put_files($alice, $dst->{id}, report => random_bytes(900));
my $bf = put_files($bob, $broot, 'bob.bin' => random_bytes(500));
my $bfolder = mkdir_ok($bob, 'bobs');
my ($a_id, $rep_id, $keep_id, $gone_id, $c_id) =
	map { $_->{id} // uuid() } @$sf{qw(a.bin report keep.bin gone.bin)}, $cf->{'c.bin'};
my $bob_id = $bf->{'bob.bin'}{id} // uuid();
is $alice->delete('/api/files/' . sql_id($gone_id))->{status}, 204, 'gone.bin deleted (in the trash)';
is_deeply totals($alice, $src->{id}), [ 4, 1000 + 1100 + 1200 + 1300 ], 'src holds 4 files (one in sub)';
tree_consistent($s, 'before any move', $alice);

my $unknown = uuid();
my $moves_before = activity_count($alice, 'move');
my $r = bulk($alice, move => [ $a_id, $rep_id, $sub->{id}, $unknown, $bob_id, $gone_id ], $dst->{id});
my $items = bulk_ok($r, [ $a_id, $sub->{id} ],
	{ $rep_id => 'name_conflict', $unknown => 'not_found', $bob_id => 'not_found', $gone_id => 'not_found' },
	'move [a.bin, report, sub, unknown, bob\'s file, trashed file] -> dst: 2 moved, 4 per-item errors');
my %it = map { ($_->{id} // '') => $_ } @$items;
is $it{$a_id}{kind}, 'file', 'a.bin: kind file';
is $it{$a_id}{folder_id}, $dst->{id}, 'a.bin: folder_id is dst';
is $it{$a_id}{name}, 'a.bin', 'a.bin: name kept';
is $it{$sub->{id}}{kind}, 'folder', 'sub: kind folder';
is $it{$sub->{id}}{parent_id}, $dst->{id}, 'sub: parent_id is dst';
is $it{$sub->{id}}{path}, '/dst/sub', 'sub: path /dst/sub';
is loc($a_id), "$dst->{id}/a.bin", 'a.bin is in dst';
is loc($sub->{id}), "$dst->{id}/sub", 'sub is in dst';
is loc($c_id), "$sub->{id}/c.bin", 'c.bin moved along inside sub';
is loc($rep_id), "$src->{id}/report", 'the conflicting report stayed in src';
is loc($bob_id), "$broot/bob.bin", "bob's file untouched";
is loc($gone_id), "$src->{id}/gone.bin (trashed)", 'the trashed file stayed in the trash';
is_deeply totals($alice, $src->{id}), [ 2, 1100 + 1200 ], 'src totals: report + keep.bin';
is_deeply totals($alice, $dst->{id}), [ 3, 900 + 1000 + 1300 ], 'dst totals: its report + a.bin + sub/c.bin';
cmp_ok activity_count($alice, 'move'), '>', $moves_before, 'activity: move logged';
my $g = folder_get($alice, $sub->{id});
is $g->{path}, '/dst/sub', 'GET sub: path /dst/sub';
is_deeply $g->{breadcrumb}, [ { id => $aroot, name => '' }, { id => $dst->{id}, name => 'dst' } ], 'GET sub: breadcrumb root > dst';
is $alice->get('/api/files/' . sql_id($c_id))->{json}{folder_id}, $sub->{id}, 'GET c.bin: still in sub';
tree_consistent($s, 'after the mixed move', $alice);

# ------------------------------------------------------------ on_conflict rename, no-op moves

$r = bulk($alice, move => [$rep_id], $dst->{id}, on_conflict => 'fail');
bulk_ok($r, [], { $rep_id => 'name_conflict' }, 'move report -> dst, on_conflict fail: name_conflict');
$r = bulk($alice, move => [$rep_id], $dst->{id}, on_conflict => 'rename');
$items = bulk_ok($r, [$rep_id], {}, 'move report -> dst, on_conflict rename');
is $items->[0]{name}, 'report (1)', 'renamed "report (1)"';
is loc($rep_id), "$dst->{id}/report (1)", 'stored as dst/report (1)';
is loc($df->{report}{id}), "$dst->{id}/report", "dst's own report untouched";

my $before = everything($alice);
$r = bulk($alice, move => [ $a_id, $sub->{id} ], $dst->{id});
$items = bulk_ok($r, [ $a_id, $sub->{id} ], {}, 'move a.bin and sub into dst, where they are: a no-op success');
is_deeply [ sort map { $_->{name} // '' } @$items ], [ 'a.bin', 'sub' ], 'names unchanged (no "(1)")';
is_deeply everything($alice), $before, 'nothing changed';
$r = bulk($alice, move => [$a_id], $dst->{id}, on_conflict => 'rename');
$items = bulk_ok($r, [$a_id], {}, 'the same with on_conflict rename');
is $items->[0]{name}, 'a.bin', '... still a.bin (an item does not conflict with itself)';
tree_consistent($s, 'after rename and no-op moves', $alice);

# ------------------------------------------------------------ invalid_move

my $deep = mkdir_ok($alice, 'deep');
my $l1 = mkdir_ok($alice, 'l1', $deep->{id});
my $l2 = mkdir_ok($alice, 'l2', $l1->{id});
my $l3 = mkdir_ok($alice, 'l3', $l2->{id});
put_files($alice, $l2->{id}, 'in-l2.bin' => random_bytes(700));
$before = everything($alice);
for my $case (
	[ 'deep into itself', $deep->{id}, $deep->{id} ],
	[ 'deep into its child l1', $deep->{id}, $l1->{id} ],
	[ 'deep into its deep descendant l3', $deep->{id}, $l3->{id} ],
	[ 'l1 into itself', $l1->{id}, $l1->{id} ],
	[ 'l1 into its grandchild l3', $l1->{id}, $l3->{id} ],
	[ 'the root into dst', $aroot, $dst->{id} ],
	[ 'the root into itself', $aroot, $aroot ],
) {
	my ($what, $item, $target) = @$case;
	$r = bulk($alice, move => [$item], $target);
	bulk_ok($r, [], { $item => 'invalid_move' }, "move $what: 409 invalid_move");
}
$r = bulk($alice, move => [ $deep->{id}, $l1->{id} ], $l3->{id}, on_conflict => 'rename');
bulk_ok($r, [], { $deep->{id} => 'invalid_move', $l1->{id} => 'invalid_move' }, 'move [deep, l1] into l3 with rename: both invalid_move');
is_deeply everything($alice), $before, 'none of the invalid moves changed anything';

$r = bulk($alice, move => [ $deep->{id}, $keep_id, $aroot, $broot ], $l3->{id});
bulk_ok($r, [$keep_id], { $deep->{id} => 'invalid_move', $aroot => 'invalid_move', $broot => 'not_found' },
	"move [deep, keep.bin, root, bob's root] into l3: keep.bin moves, the others fail");
is loc($keep_id), "$l3->{id}/keep.bin", 'keep.bin is in l3';
is loc($deep->{id}), "$aroot/deep", 'deep is still in the root';
is loc($broot), '-/', "bob's root untouched";
is_deeply totals($alice, $deep->{id}), [ 2, 700 + 1200 ], 'deep totals: in-l2.bin + keep.bin';
is unreachable_folders($alice), 0, 'every folder still reaches the root';
tree_consistent($s, 'after the invalid moves', $alice);

# a deep subtree moves as a whole; paths and breadcrumbs follow
$r = bulk($alice, move => [ $deep->{id} ], $sub->{id});
bulk_ok($r, [ $deep->{id} ], {}, 'move deep (4 levels) into dst/sub');
$g = folder_get($alice, $l3->{id});
is $g->{path}, '/dst/sub/deep/l1/l2/l3', 'l3: path /dst/sub/deep/l1/l2/l3';
is_deeply [ map { $_->{name} } @{ $g->{breadcrumb} || [] } ], [ '', qw(dst sub deep l1 l2) ], 'l3: breadcrumb names root > dst > sub > deep > l1 > l2';
is_deeply [ map { $_->{id} } @{ $g->{breadcrumb} || [] } ], [ $aroot, $dst->{id}, $sub->{id}, $deep->{id}, $l1->{id}, $l2->{id} ], 'l3: breadcrumb ids';
is_deeply totals($alice, $sub->{id}), [ 3, 1300 + 700 + 1200 ], 'sub totals now include deep';
is_deeply totals($alice, $aroot), [ 6, 1000 + 1100 + 900 + 1300 + 700 + 1200 ], 'root totals: all 6 live files';
tree_consistent($s, 'after moving a deep subtree', $alice);
$r = bulk($alice, move => [ $l2->{id} ], $src->{id});
bulk_ok($r, [ $l2->{id} ], {}, 'move l2 (with l3) out to src');
is folder_get($alice, $l3->{id})->{path}, '/src/l2/l3', 'l3: path /src/l2/l3';
is_deeply totals($alice, $deep->{id}), [ 0, 0 ], 'deep is empty now';
is_deeply totals($alice, $src->{id}), [ 2, 700 + 1200 ], 'src: in-l2.bin + keep.bin';
tree_consistent($s, 'after moving l2 out', $alice);

# ------------------------------------------------------------ whole-request 404: the target

my $trashed_folder = mkdir_ok($alice, 'trashed-target');
is $alice->delete("/api/folders/$trashed_folder->{id}")->{status}, 204, 'a folder deleted (trashed target)';
$before = everything($alice);
my $bob_before = everything($bob);
for my $case (
	[ 'an unknown target', uuid() ],
	[ "bob's folder", $bfolder->{id} ],
	[ "bob's root", $broot ],
	[ 'a trashed folder', $trashed_folder->{id} ],
	[ 'a file as target', $a_id ],
) {
	my ($what, $target) = @$case;
	problem_ok(bulk($alice, move => [ $a_id, $l1->{id} ], $target), 404, 'not_found', "move into $what -> 404");
	problem_ok(bulk($alice, copy => [ $a_id, $l1->{id} ], $target), 404, 'not_found', "copy into $what -> 404");
}
is_deeply everything($alice), $before, 'nothing moved or copied';
is_deeply everything($bob), $bob_before, "bob's tree untouched";

# bob cannot move or copy alice's items, even into his own folder
$r = bulk($bob, move => [ $a_id, $src->{id} ], $bfolder->{id});
bulk_ok($r, [], { $a_id => 'not_found', $src->{id} => 'not_found' }, "bob moves alice's file and folder: 404 per item");
$r = bulk($bob, copy => [ $a_id, $src->{id} ], $bfolder->{id});
bulk_ok($r, [], { $a_id => 'not_found', $src->{id} => 'not_found' }, "bob copies alice's file and folder: 404 per item");
is_deeply everything($alice), $before, "alice's tree untouched";
is_deeply everything($bob), $bob_before, "bob's tree unchanged";
tree_consistent($s, 'after the refused targets');

# ------------------------------------------------------------ body validation

my @many = map { uuid() } 1 .. 10001;
my %seen;
@many = grep { !$seen{$_}++ } @many;
push @many, uuid() while @many < 10001;
$before = everything($alice);
for my $op (qw(move copy)) {
	for my $bad (
		[ 'an empty object', {} ],
		[ 'no item_ids', { target_folder_id => $dst->{id} } ],
		[ 'item_ids []', { item_ids => [], target_folder_id => $dst->{id} } ],
		[ 'item_ids as a string', { item_ids => $a_id, target_folder_id => $dst->{id} } ],
		[ 'item_ids as an object', { item_ids => { id => $a_id }, target_folder_id => $dst->{id} } ],
		[ 'item_ids null', { item_ids => undef, target_folder_id => $dst->{id} } ],
		[ 'a number in item_ids', { item_ids => [ $a_id, 5 ], target_folder_id => $dst->{id} } ],
		[ 'a null in item_ids', { item_ids => [ $a_id, undef ], target_folder_id => $dst->{id} } ],
		[ 'a non-UUID in item_ids', { item_ids => [ $a_id, 'not-a-uuid' ], target_folder_id => $dst->{id} } ],
		[ 'a UUID with a trailing character in item_ids', { item_ids => [ $a_id . 'x' ], target_folder_id => $dst->{id} } ],
		[ 'an array in item_ids', { item_ids => [ [$a_id] ], target_folder_id => $dst->{id} } ],
		[ 'duplicate ids', { item_ids => [ $a_id, $sub->{id}, $a_id ], target_folder_id => $src->{id} } ],
		[ '10001 ids', { item_ids => \@many, target_folder_id => $dst->{id} } ],
		[ 'no target_folder_id', { item_ids => [$a_id] } ],
		[ 'target_folder_id a number', { item_ids => [$a_id], target_folder_id => 7 } ],
		[ 'target_folder_id not a UUID', { item_ids => [$a_id], target_folder_id => 'dst' } ],
		[ 'target_folder_id an array', { item_ids => [$a_id], target_folder_id => [ $src->{id} ] } ],
		[ 'on_conflict "version"', { item_ids => [$a_id], target_folder_id => $src->{id}, on_conflict => 'version' } ],
		[ 'on_conflict "overwrite"', { item_ids => [$a_id], target_folder_id => $src->{id}, on_conflict => 'overwrite' } ],
		[ 'on_conflict a boolean', { item_ids => [$a_id], target_folder_id => $src->{id}, on_conflict => JSON::PP::true } ],
		[ 'an unknown field', { item_ids => [$a_id], target_folder_id => $src->{id}, force => JSON::PP::true } ],
		[ 'a misspelled field', { item_ids => [$a_id], target_id => $src->{id} } ],
	) {
		my ($what, $body) = @$bad;
		$r = $alice->post_json("/api/files/$op", $body);
		problem_ok($r, 400, 'invalid_request', "$op with $what -> 400");
	}
	problem_ok($alice->post_json("/api/files/$op", '{"item_ids": ["' . $a_id . '"], "target_folder_id": '),
		400, 'invalid_request', "$op with malformed JSON -> 400");
	problem_ok($alice->post_json("/api/files/$op", [ { item_ids => [$a_id], target_folder_id => $src->{id} } ]),
		400, 'invalid_request', "$op with a JSON array body -> 400");
}
$r = $alice->post_json('/api/files/move', { item_ids => [ $a_id, $a_id ], target_folder_id => $src->{id} });
ok ref $r->{json} eq 'HASH' && ref $r->{json}{errors} eq 'ARRAY' && grep({ ($_->{field} // '') =~ /item_ids/ } @{ $r->{json}{errors} }),
	'the 400 for duplicates names the field item_ids' or diag $r->describe;
is_deeply everything($alice), $before, 'none of the refused requests moved or copied anything';
problem_ok($s->client->post_json('/api/files/move', { item_ids => [$a_id], target_folder_id => $src->{id} }),
	401, 'unauthenticated', 'move without credentials -> 401');
problem_ok($s->client->post_json('/api/files/copy', { item_ids => [$a_id], target_folder_id => $src->{id} }),
	401, 'unauthenticated', 'copy without credentials -> 401');

# ------------------------------------------------------------ race: A into B against B into A

my $race = mkdir_ok($alice, 'race');

# Run each code ref in its own process, all released at the same instant;
# returns their answers as {status, json}, in order.
sub race {
	my (@subs) = @_;
	pipe(my $go_r, my $go_w) or die "pipe: $!";
	my @kids;
	for my $code (@subs) {
		pipe(my $res_r, my $res_w) or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			close $go_w;
			close $res_r;
			sysread $go_r, my $x, 1;    # returns when the parent closes $go_w
			my $r = eval { $code->() };
			syswrite $res_w, $Coffer::Test::JSON->encode($r ? { status => $r->{status}, json => $r->{json} }
				: { status => 0, error => "$@" });
			close $res_w;
			POSIX::_exit(0);    # no END blocks: the stack belongs to the parent
		}
		close $res_w;
		push @kids, [ $pid, $res_r ];
	}
	close $go_r;
	sleep 0.1;
	close $go_w;
	my @res;
	for my $k (@kids) {
		my ($pid, $fh) = @$k;
		my $out = do { local $/; <$fh> };
		close $fh;
		waitpid $pid, 0;
		push @res, eval { $Coffer::Test::JSON->decode($out // '') } || { status => 0, error => 'no answer' };
	}
	return @res;
}

my $REPS = 20;
my (@bad_race, $both_failed, %outcomes);
for my $rep (1 .. $REPS) {
	my $A = mkdir_ok($alice, "A$rep", $race->{id});
	my $B = mkdir_ok($alice, "B$rep", $race->{id});
	my ($ta, $tb) = ($B->{id}, $A->{id});    # A into B, B into A
	my $how = 'A into B, B into A';
	if ($rep % 2 == 0) {    # into each other's grandchildren
		my $a1 = mkdir_ok($alice, 'a1', $A->{id});
		my $a2 = mkdir_ok($alice, 'a2', $a1->{id});
		my $b1 = mkdir_ok($alice, 'b1', $B->{id});
		my $b2 = mkdir_ok($alice, 'b2', $b1->{id});
		($ta, $tb) = ($b2->{id}, $a2->{id});
		$how = 'A into B/b1/b2, B into A/a1/a2';
	}
	my @res = race(sub { bulk($alice, move => [ $A->{id} ], $ta) }, sub { bulk($alice, move => [ $B->{id} ], $tb) });
	my @outcome;
	for my $i (0, 1) {
		my $x = $res[$i];
		my $id = $i ? $B->{id} : $A->{id};
		my $j = ref $x->{json} eq 'HASH' ? $x->{json} : {};
		my @items = ref $j->{items} eq 'ARRAY' ? @{ $j->{items} } : ();
		my @errs = ref $j->{errors} eq 'ARRAY' ? @{ $j->{errors} } : ();
		if ($x->{status} == 200 && @items == 1 && !@errs && ($items[0]{id} // '') eq $id) {
			push @outcome, 'moved';
		} elsif ($x->{status} == 200 && !@items && @errs == 1 && ($errs[0]{id} // '') eq $id
			&& ($errs[0]{error}{code} // '') eq 'invalid_move' && ($errs[0]{error}{status} // 0) == 409) {
			push @outcome, 'invalid_move';
		} else {
			push @outcome, 'unexpected: ' . $Coffer::Test::JSON->encode($x);
		}
	}
	my $moved = grep { $_ eq 'moved' } @outcome;
	$outcomes{"@outcome"}++;
	$both_failed++ if !$moved;
	my $pa = loc($A->{id});
	my $pb = loc($B->{id});
	my $state_ok = $outcome[0] eq 'moved' ? ($pa eq "$ta/A$rep" && $pb eq "$race->{id}/B$rep")
		: $outcome[1] eq 'moved' ? ($pb eq "$tb/B$rep" && $pa eq "$race->{id}/A$rep")
		: ($pa eq "$race->{id}/A$rep" && $pb eq "$race->{id}/B$rep");
	push @bad_race, "rep $rep ($how): @outcome; A at $pa, B at $pb"
		if $moved > 1 || grep({ /^unexpected/ } @outcome) || !$state_ok || unreachable_folders($alice);
}
ok !@bad_race, "$REPS races of two crossing moves: at most one moved, the other 409 invalid_move, no cycle"
	or diag join "\n", @bad_race;
diag "both moves refused in $both_failed of $REPS races" if $both_failed;
diag 'race outcomes (A, B): ' . join ', ', map { "$_ x$outcomes{$_}" } sort keys %outcomes;
is unreachable_folders($alice), 0, 'after the races every folder of alice reaches the root';
tree_consistent($s, 'after the races', $alice);

# ------------------------------------------------------------ copy of a nested subtree

# wait until the compression job has looked at every blob, so the blob
# files on disk change only through what this test does
sub blobs_settled {
	wait_until(sub { $s->psql('SELECT count(*) FROM blobs WHERE NOT compress_checked') == 0 }, 20, 0.2);
}

my $lib = mkdir_ok($alice, 'lib');
my $album = mkdir_ok($alice, 'album', $lib->{id});
my $sub1 = mkdir_ok($alice, 'sub1', $album->{id});
my $sub2 = mkdir_ok($alice, 'sub2', $sub1->{id});
my $empty = mkdir_ok($alice, 'empty', $album->{id});
my %csize = (p1 => 2100, p2 => 2200, p3 => 2300, p4 => 2400, p5 => 2500);
put_files($alice, $album->{id}, p1 => random_bytes(999));    # p1 gets a second version below
my $p = put_files($alice, $album->{id}, map { ($_ => random_bytes($csize{$_})) } qw(p1 p2));
put_files($alice, $sub1->{id}, p3 => random_bytes($csize{p3}));
put_files($alice, $sub2->{id}, map { ($_ => random_bytes($csize{$_})) } qw(p4 p5));
is $p->{p1}{version}, 2, 'album/p1 is at version 2';
my $album_bytes = 0;
$album_bytes += $_ for values %csize;
is_deeply totals($alice, $album->{id}), [ 5, $album_bytes ], 'album: 5 files (current sizes)';
my $dst2 = mkdir_ok($alice, 'dst2');

my $orig = subtree($album->{id});
my %refs_before = map { $_->[0] => $_->[1] } $s->psql_rows(q{SELECT encode(sha256, 'hex'), ref_count FROM blobs});
ok blobs_settled(), 'the compression job has checked every blob';
my @disk_before = $s->blob_files;
my $use_before = $s->usage($alice);
my $copies_before = activity_count($alice, 'copy');
$r = bulk($alice, copy => [ $album->{id} ], $dst2->{id});
$items = bulk_ok($r, 1, {}, 'copy album (4 folders, 5 files) into dst2');
my $copy = $items->[0] || {};
is $copy->{kind}, 'folder', 'the new item is a folder';
like $copy->{id} // '', $UUID, '... with an id';
isnt $copy->{id}, $album->{id}, '... a new id';
is $copy->{name}, 'album', '... named album';
is $copy->{parent_id}, $dst2->{id}, '... in dst2';
is $copy->{path}, '/dst2/album', '... path /dst2/album';
is $copy->{file_count}, 5, '... file_count 5';
is $copy->{total_size}, $album_bytes, '... total_size: the current sizes';
my $copied = subtree($copy->{id});
is_deeply without_ids($copied), without_ids($orig), 'the copy has the same folders and files: names, sizes, sha256, mime types';
my %orig_ids = map { $_->[5] => 1 } @$orig;
is scalar(grep { $orig_ids{ $_->[5] } } @$copied), 0, 'every item of the copy has a new id';
is scalar(@$copied), 9, '9 items in the copy (4 folders, 5 files)';
is_deeply subtree($album->{id}), $orig, 'the original is unchanged';
my @cfiles = map { $_->[5] } grep { $_->[0] eq 'f' } @$copied;
my $in = join ',', map { "'" . sql_id($_) . "'" } @cfiles;
is_deeply [ map { "@$_" } $s->psql_rows("SELECT count(*), min(version), max(version) FROM files WHERE id IN ($in)") ],
	[ '5 1 1' ], 'the copied files are at version 1';
is_deeply [ map { "@$_" } $s->psql_rows("SELECT count(*), count(DISTINCT file_id), bool_and(version_number = 1 AND is_current) FROM file_versions WHERE file_id IN ($in)") ],
	[ '5 5 t' ], '... with one version each, the current content';
my %refs_after = map { $_->[0] => $_->[1] } $s->psql_rows(q{SELECT encode(sha256, 'hex'), ref_count FROM blobs});
my %want_refs = %refs_before;
$want_refs{ $_->[3] }++ for grep { $_->[0] eq 'f' } @$orig;
is_deeply \%refs_after, \%want_refs, 'blobs.ref_count rose by one for each copied file, nothing else changed';
is_deeply [ $s->blob_files ], \@disk_before, 'no blob file was written: the copy shares the blobs';
my $use_after = $s->usage($alice);
is $use_after->{used}, $use_before->{used} + $album_bytes, 'usage rose by the current sizes of the copied files';
is $use_after->{files}, $use_before->{files} + 5, '5 more live files';
cmp_ok activity_count($alice, 'copy'), '>', $copies_before, 'activity: copy logged';
my $cs2 = (grep { $_->[1] eq '/sub1/sub2' } @$copied)[0] || [];
$g = folder_get($alice, $cs2->[5]);
is $g->{path}, '/dst2/album/sub1/sub2', 'copied sub2: path /dst2/album/sub1/sub2';
is_deeply [ map { $_->{name} } @{ $g->{breadcrumb} || [] } ], [ '', qw(dst2 album sub1) ], 'copied sub2: breadcrumb';
is $g->{breadcrumb}[2]{id}, $copy->{id}, '... through the copied album, not the original';
tree_consistent($s, 'after copying a subtree', $alice);

# the copy is independent of the original
my $cp1 = (grep { $_->[1] eq '/p1' } @$copied)[0] || [];
is $alice->delete('/api/files/' . sql_id($cp1->[5]))->{status}, 204, 'delete the copy of p1';
is_deeply subtree($album->{id}), $orig, 'the original album is untouched';
is_deeply totals($alice, $copy->{id}), [ 4, $album_bytes - $csize{p1} ], 'the copy has 4 files left';
tree_consistent($s, 'after deleting in the copy', $alice);

# ------------------------------------------------------------ copy: conflicts, renames, invalid_move, mixed

$before = everything($alice);
$r = bulk($alice, copy => [ $album->{id} ], $lib->{id});
bulk_ok($r, [], { $album->{id} => 'name_conflict' }, 'copy album into its own folder (on_conflict fail): name_conflict');
$r = bulk($alice, copy => [ $p->{p2}{id} ], $album->{id}, on_conflict => 'fail');
bulk_ok($r, [], { $p->{p2}{id} => 'name_conflict' }, 'copy p2 into its own folder: name_conflict');
$r = bulk($alice, copy => [ $album->{id} ], $album->{id});
bulk_ok($r, [], { $album->{id} => 'invalid_move' }, 'copy album into itself: invalid_move');
$r = bulk($alice, copy => [ $album->{id} ], $sub2->{id}, on_conflict => 'rename');
bulk_ok($r, [], { $album->{id} => 'invalid_move' }, 'copy album into its descendant sub1/sub2: invalid_move');
is_deeply everything($alice), $before, 'none of these copied anything';
{
	# the root of a user with a small tree (alice's root is over jobs_threshold items)
	my $dan = $s->register_user;
	my $x = mkdir_ok($dan, 'x');
	put_files($dan, $x->{id}, 'x.bin' => random_bytes(10));
	my $dbefore = everything($dan);
	$r = bulk($dan, copy => [ $dan->{user}{root_folder_id} ], $x->{id});
	bulk_ok($r, [], { $dan->{user}{root_folder_id} => 'invalid_move' }, 'copy the root into its folder x: invalid_move');
	is_deeply everything($dan), $dbefore, '... nothing copied';
}

$r = bulk($alice, copy => [ $album->{id} ], $lib->{id}, on_conflict => 'rename');
$items = bulk_ok($r, 1, {}, 'copy album into its own folder, on_conflict rename');
is $items->[0]{name}, 'album (1)', 'named "album (1)"';
is $items->[0]{parent_id}, $lib->{id}, '... next to the original';
is_deeply without_ids(subtree($items->[0]{id})), without_ids($orig), '... with the same contents';
$r = bulk($alice, copy => [ $album->{id} ], $lib->{id}, on_conflict => 'rename');
$items = bulk_ok($r, 1, {}, 'again');
is $items->[0]{name}, 'album (2)', 'named "album (2)"';
$r = bulk($alice, copy => [ $p->{p2}{id} ], $album->{id}, on_conflict => 'rename');
$items = bulk_ok($r, 1, {}, 'copy p2 into its own folder, on_conflict rename');
is $items->[0]{name}, 'p2 (1)', 'named "p2 (1)"';
is $items->[0]{kind}, 'file', '... a file';
is $items->[0]{folder_id}, $album->{id}, '... in album';
is $items->[0]{version}, 1, '... at version 1';
is $items->[0]{sha256}, $p->{p2}{sha256}, '... with the same sha256';
isnt $items->[0]{id}, $p->{p2}{id}, '... and a new id';
tree_consistent($s, 'after the renamed copies', $alice);

my $dst3 = mkdir_ok($alice, 'dst3');
$unknown = uuid();
$r = bulk($alice, copy => [ $p->{p2}{id}, $sub1->{id}, $unknown, $bob_id, $gone_id ], $dst3->{id});
$items = bulk_ok($r, 2, { $unknown => 'not_found', $bob_id => 'not_found', $gone_id => 'not_found' },
	"copy [p2, sub1, unknown, bob's file, trashed file] into dst3: 2 copied, 3 per-item 404");
is_deeply [ sort map { ($_->{kind} // '') . ':' . ($_->{name} // '') . ':' . (parent_of($_) // '') } @$items ],
	[ "file:p2:$dst3->{id}", "folder:sub1:$dst3->{id}" ], 'the new items: p2 and sub1, in dst3';
is_deeply totals($alice, $dst3->{id}), [ 4, $csize{p2} + $csize{p3} + $csize{p4} + $csize{p5} ], 'dst3 totals: p2 + sub1 (p3, sub2/p4, sub2/p5)';
is loc($bob_id), "$broot/bob.bin", "bob's file untouched";
is $s->psql("SELECT count(*) FROM files WHERE user_id = '$bob->{user}{id}'"), 1, 'bob still has one file';
tree_consistent($s, 'after the mixed copy');

# ------------------------------------------------------------ copy and quota

my $carol = $s->register_user;
my $croot = $carol->{user}{root_folder_id};
my $q = mkdir_ok($carol, 'q');
my $qsub = mkdir_ok($carol, 'qsub', $q->{id});
put_files($carol, $q->{id}, map { ("q$_" => random_bytes(1000)) } 1, 2);
put_files($carol, $qsub->{id}, q3 => random_bytes(1000));
is $s->usage($carol)->{used}, 3000, 'carol uses 3000 bytes';
$s->set_quota($carol, 5999);
my $cbefore = everything($carol);
my $crefs = $s->psql('SELECT sum(ref_count) FROM blobs');
$r = bulk($carol, copy => [ $q->{id} ], $croot, on_conflict => 'rename');
problem_ok($r, 507, 'quota_exceeded', 'copy of 3000 bytes with 2999 left -> 507 quota_exceeded');
is_deeply everything($carol), $cbefore, 'nothing copied, usage unchanged';
is $s->psql('SELECT sum(ref_count) FROM blobs'), $crefs, 'no blob reference taken';
$r = bulk($carol, copy => [ $q->{id}, $qsub->{id} ], $croot, on_conflict => 'rename');
problem_ok($r, 507, 'quota_exceeded', 'copy of q and qsub (4000 bytes) -> 507');
is_deeply everything($carol), $cbefore, '... nothing copied';
$s->set_quota($carol, 6000);
$r = bulk($carol, copy => [ $q->{id} ], $croot, on_conflict => 'rename');
$items = bulk_ok($r, 1, {}, 'with exactly 3000 bytes left the copy of 3000 bytes fits');
is $items->[0]{name}, 'q (1)', 'q (1)';
is $s->usage($carol)->{used}, 6000, 'carol uses 6000 bytes: all of her quota';
$cbefore = everything($carol);
$r = bulk($carol, copy => [ $qsub->{id} ], $croot);
problem_ok($r, 507, 'quota_exceeded', 'a full quota refuses the next copy');
is_deeply everything($carol), $cbefore, '... nothing copied';
my $empty_copy = bulk($carol, copy => [ mkdir_ok($carol, 'nothing-inside')->{id} ], $q->{id});
bulk_ok($empty_copy, 1, {}, 'a folder without files still copies at a full quota (0 bytes)');
tree_consistent($s, 'after the quota copies', $carol);

tree_consistent($s, 'at the end');
diag sprintf 'ran in %.1f s', time - $t0;
done_testing;
