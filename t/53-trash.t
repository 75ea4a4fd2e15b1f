#!/usr/bin/perl
# 53-trash: the trash through the real stack. Proves: GET /api/trash lists
# trash units only (a deleted folder once, never its contents), newest first,
# paged by ?limit/?cursor, each with exactly {kind, id, name, deleted_at,
# size, file_count, original_parent_id, original_path}; a nested folder goes
# to the trash as one unit (usage released, ancestors' totals drop, every
# route 404) and comes back with the same ids, the same tree, the same totals
# and usage; a file deleted on its own before its folder stays its own unit
# and comes back to that folder once the folder is back; a unit whose
# original parent is trashed or purged lands in the root (once the parent is
# purged, the trash lists the root as its original place); a name taken meanwhile gives "name (1)" (also
# across kinds), or 409 name_conflict with on_conflict=fail; a restore over
# quota is 507 and leaves the unit in the trash (one that fits exactly is
# restored); POST /api/files/delete makes each item its own unit; purging a
# unit (DELETE /api/trash/<id>) removes its rows and every version, leaves
# usage as it was, drops the blob reference counts, and gc then removes the
# blob files nothing else references (a blob shared with a live file stays);
# DELETE /api/trash empties the whole trash of the caller only; restore and
# purge answer 404 for another user's unit, for an item inside a unit, for a
# live item and for an unknown id; `coffer-admin maintenance` purges the
# units deleted more than trash_retention_days (30) ago, of every user,
# keeps the younger ones, says how many it purged and runs gc. Folder
# totals, usage and blob reference counts match a recount (tree_consistent)
# after every step.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(sleep time);

use Coffer::Test qw(problem_ok upload_ok random_bytes sql_id api_epoch);
use Coffer::Tree qw(mkdir_ok list_all tree_consistent uuid put_files);

my $s = Coffer::Test->stack;
my $THRESHOLD = $s->config('jobs_threshold') // 1000;
plan skip_all => "jobs_threshold is $THRESHOLD on this stack; these tests need at least 20" if $THRESHOLD < 20;

my $alice = $s->register_user;
my $bob = $s->register_user;
my $aroot = $alice->{user}{root_folder_id};
my $broot = $bob->{user}{root_folder_id};
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $t0 = time;

sub put1 { my ($c, $folder, $name, $data) = @_; return put_files($c, $folder, $name => $data)->{$name} || { id => uuid() } }

sub del_file {
	my ($c, $id, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $r = $c->delete('/api/files/' . sql_id($id));
	is $r->{status}, 204, "delete $what -> 204" or diag $r->describe;
}
sub del_folder {
	my ($c, $id, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $r = $c->delete('/api/folders/' . sql_id($id));
	is $r->{status}, 204, "delete folder $what -> 204" or diag $r->describe;
}
sub restore {
	my ($c, $id, $body) = @_;
	my $path = '/api/trash/' . sql_id($id) . '/restore';
	return defined $body ? $c->post_json($path, $body) : $c->post($path);
}
sub purge { my ($c, $id) = @_; return $c->delete('/api/trash/' . sql_id($id)) }

# The caller's whole trash, following next_cursor with pages of $limit.
sub trash {
	my ($c, $limit) = @_;
	my ($items) = list_all($c, '/api/trash', $limit // 100);
	return $items;
}
sub trash_ids { [ map { $_->{id} // '?' } @{ trash($_[0]) } ] }

# Where an item is: "parent-id/name" plus " (trashed)"; "none" if no row.
sub loc {
	my ($id) = @_;
	$id = sql_id($id);
	my ($r) = $s->psql_rows("SELECT folder_id::text, name, is_deleted FROM files WHERE id = '$id'
		UNION ALL SELECT coalesce(parent_id::text, '-'), name, is_deleted FROM folders WHERE id = '$id'");
	return 'none' unless $r;
	return "$r->[0]/$r->[1]" . ($r->[2] eq 't' ? ' (trashed)' : '');
}

# Every live folder and file under folder $id, relative to it, as
# [kind, relative path, size, sha256, id, file_count, total_size], sorted.
sub subtree {
	my ($id) = @_;
	$id = sql_id($id);
	return [ $s->psql_rows(qq{
		WITH RECURSIVE t(id, rel) AS (
		    SELECT id, ''::text FROM folders WHERE id = '$id' AND NOT is_deleted
		  UNION ALL
		    SELECT c.id, t.rel || '/' || c.name FROM t JOIN folders c ON c.parent_id = t.id AND NOT c.is_deleted)
		SELECT 'd', t.rel, '', '', t.id::text, d.file_count::text, d.total_size::text FROM t JOIN folders d ON d.id = t.id
		UNION ALL
		SELECT 'f', t.rel || '/' || f.name, f.size::text, encode(f.sha256, 'hex'), f.id::text, f.version::text, ''
		  FROM t JOIN files f ON f.folder_id = t.id AND NOT f.is_deleted
		 ORDER BY 2, 1}) ];
}

sub folder_get {
	my ($c, $id) = @_;
	my $r = $c->get('/api/folders/' . sql_id($id));
	return $r->{status} == 200 ? $r->{json} : { status => $r->{status} };
}
sub totals { my $f = folder_get(@_); return [ $f->{file_count}, $f->{total_size} ] }
sub used { $s->usage($_[0])->{used} }
sub activity_count {
	my ($c, $action) = @_;
	return $s->psql("SELECT count(*) FROM activity_log WHERE user_id = '" . sql_id($c->{user}{id}) . "' AND action = '$action'");
}

# Subtest: $t is a trash item with exactly the fields of the contract and
# the values of %$want.
my @TRASH_FIELDS = sort qw(kind id name deleted_at size file_count original_parent_id original_path);
sub trash_item_ok {
	my ($t, $want, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	subtest $name => sub {
		is ref $t, 'HASH', 'an object' or return;
		is_deeply [ sort keys %$t ], \@TRASH_FIELDS, 'exactly the fields of a trash item';
		like $t->{deleted_at} // '', $TIME, 'deleted_at RFC 3339 UTC';
		like $t->{size} // '', qr/^\d+$/, 'size is an integer';
		like $t->{file_count} // '', qr/^\d+$/, 'file_count is an integer';
		unlike $Coffer::Test::JSON->encode($t), qr/"(?:size|file_count)":"/, 'numbers are JSON numbers';
		my $ok = 1;
		is_deeply($t->{$_}, $want->{$_}, "$_ as expected") or $ok = 0 for sort keys %$want;
		diag 'got: ' . $Coffer::Test::JSON->encode($t) unless $ok;
	};
}

# ------------------------------------------------------------ the listing

my $docs = mkdir_ok($alice, 'Docs');
my $inner = mkdir_ok($alice, 'Inner', $docs->{id});
my $photos = mkdir_ok($alice, 'Photos');
my $y2024 = mkdir_ok($alice, '2024', $photos->{id});
my $fa = put1($alice, $docs->{id}, a => random_bytes(100));
my $fbc = put_files($alice, $inner->{id}, b => random_bytes(200), c => random_bytes(300));
my $p1 = put1($alice, $y2024->{id}, p1 => random_bytes(400));
my $loose = put1($alice, $aroot, loose => random_bytes(50));
tree_consistent($s, 'the first tree', $alice);
my $docs_tree = subtree($docs->{id});
is scalar(@$docs_tree), 5, 'Docs holds 2 folders and 3 files';
my $use0 = used($alice);
is $use0, 1050, 'alice uses 1050 bytes';
my $root_totals0 = totals($alice, $aroot);
is_deeply $root_totals0, [ 5, 1050 ], 'root totals: 5 files, 1050 bytes';

del_file($alice, $p1->{id}, 'Photos/2024/p1');
del_file($alice, $loose->{id}, 'loose');
my $deletes = activity_count($alice, 'delete');
del_folder($alice, $docs->{id}, 'Docs (with Inner, 3 files)');
cmp_ok activity_count($alice, 'delete'), '>', $deletes, 'activity: delete logged';
is used($alice), 0, 'every file is in the trash: usage 0';
is_deeply totals($alice, $aroot), [ 0, 0 ], 'root totals: 0 files';
is_deeply totals($alice, $photos->{id}), [ 0, 0 ], 'Photos totals: 0 files';
is folder_get($alice, $docs->{id})->{status}, 404, 'GET the trashed folder -> 404';
is folder_get($alice, $inner->{id})->{status}, 404, 'GET a folder inside it -> 404';
is $alice->get("/api/files/$fbc->{b}{id}")->{status}, 404, 'GET a file inside it -> 404';
my $root_list = $alice->get('/api/files')->{json}{items} || [];
is_deeply [ map { $_->{name} } @$root_list ], ['Photos'], 'the root lists only Photos';
is_deeply [ map { "@$_" } $s->psql_rows("SELECT count(*) FROM files WHERE trash_id = '$docs->{id}'") ], ['3'],
	'the 3 files of Docs carry its trash_id';
is_deeply [ map { "@$_" } $s->psql_rows("SELECT count(*) FROM folders WHERE trash_id = '$docs->{id}'") ], ['2'],
	'Docs and Inner carry its trash_id';

my ($tl, $pages) = list_all($alice, '/api/trash', 2);
is_deeply [ map { $_->{id} } @$tl ], [ $docs->{id}, $loose->{id}, $p1->{id} ], 'the trash: Docs, loose, p1 (newest first, units only)';
is $pages, 2, 'two pages of 2';
trash_item_ok($tl->[0], { kind => 'folder', id => $docs->{id}, name => 'Docs', size => 600, file_count => 3,
	original_parent_id => $aroot, original_path => '/' }, 'trash item: Docs');
trash_item_ok($tl->[1], { kind => 'file', id => $loose->{id}, name => 'loose', size => 50, file_count => 1,
	original_parent_id => $aroot, original_path => '/' }, 'trash item: loose');
trash_item_ok($tl->[2], { kind => 'file', id => $p1->{id}, name => 'p1', size => 400, file_count => 1,
	original_parent_id => $y2024->{id}, original_path => '/Photos/2024' }, 'trash item: p1');
my @when = map { api_epoch($_->{deleted_at}) // 0 } @$tl;
ok $when[0] >= $when[1] && $when[1] >= $when[2], 'deleted_at does not increase down the list';
ok abs($when[0] - time) < 120, 'deleted_at is now';
my $r = $alice->get('/api/trash?limit=1');
is scalar @{ $r->{json}{items} || [] }, 1, '?limit=1: one item';
ok defined $r->{json}{next_cursor}, '... and a next_cursor';
is $alice->get('/api/trash')->{json}{next_cursor}, undef, 'one page of everything: next_cursor null';
problem_ok($alice->get($_), 400, 'invalid_request', "GET $_ -> 400")
	for '/api/trash?limit=0', '/api/trash?limit=1001', '/api/trash?limit=x', '/api/trash?cursor=garbage';
is_deeply $bob->get('/api/trash')->{json}, { items => [], next_cursor => undef }, "bob's trash is empty";
problem_ok($s->client->get('/api/trash'), 401, 'unauthenticated', 'GET /api/trash without credentials -> 401');
tree_consistent($s, 'after the deletes', $alice);

# ------------------------------------------------------------ round trip of a nested folder

my $restores = activity_count($alice, 'restore');
$r = restore($alice, $docs->{id});
is $r->{status}, 200, 'restore Docs -> 200' or diag $r->describe;
my $o = $r->{json} || {};
is_deeply [ @$o{qw(kind id name parent_id path file_count total_size)} ],
	[ 'folder', $docs->{id}, 'Docs', $aroot, '/Docs', 3, 600 ], 'the answer: the folder object, back in the root';
is_deeply subtree($docs->{id}), $docs_tree, 'the same tree: same ids, names, contents, totals';
is used($alice), 600, 'usage charged again for the 600 bytes of Docs';
is_deeply totals($alice, $aroot), [ 3, 600 ], 'root totals: the 3 files of Docs';
is_deeply trash_ids($alice), [ $loose->{id}, $p1->{id} ], 'the trash: loose, p1';
is $s->psql("SELECT count(*) FROM files WHERE trash_id = '$docs->{id}' OR (folder_id IN ('$docs->{id}', '$inner->{id}') AND is_deleted)"), 0,
	'no trash marks left in Docs';
cmp_ok activity_count($alice, 'restore'), '>', $restores, 'activity: restore logged';
problem_ok(restore($alice, $docs->{id}), 404, 'not_found', 'restore it again -> 404 (not in the trash)');
tree_consistent($s, 'after the round trip', $alice);
my $use1 = used($alice);

# ------------------------------------------------------------ a file deleted before its folder stays its own unit

del_file($alice, $fa->{id}, 'Docs/a on its own');
del_folder($alice, $docs->{id}, 'Docs');
$tl = trash($alice);
is_deeply [ map { $_->{id} } @$tl ], [ $docs->{id}, $fa->{id}, $loose->{id}, $p1->{id} ], 'the trash: Docs, a, loose, p1';
trash_item_ok($tl->[0], { kind => 'folder', size => 500, file_count => 2, original_path => '/' }, 'Docs: 2 files, 500 bytes (without a)');
trash_item_ok($tl->[1], { kind => 'file', name => 'a', size => 100, file_count => 1, original_parent_id => $docs->{id} }, 'a: its own unit');
is $s->psql("SELECT trash_id FROM files WHERE id = '$fa->{id}'"), $fa->{id}, 'a keeps its own trash_id';
$r = restore($alice, $docs->{id});
is $r->{status}, 200, 'restore Docs -> 200' or diag $r->describe;
is_deeply totals($alice, $docs->{id}), [ 2, 500 ], 'Docs back with b and c only';
is loc($fa->{id}), "$docs->{id}/a (trashed)", 'a is still in the trash';
is_deeply trash_ids($alice), [ $fa->{id}, $loose->{id}, $p1->{id} ], 'the trash: a, loose, p1';
$r = restore($alice, $fa->{id});
is $r->{status}, 200, 'restore a -> 200' or diag $r->describe;
is_deeply [ @{ $r->{json} || {} }{qw(kind id name folder_id)} ], [ 'file', $fa->{id}, 'a', $docs->{id} ], 'a is back in Docs (its original parent is live)';
is_deeply subtree($docs->{id}), $docs_tree, 'Docs is whole again, same ids';
is used($alice), $use1, 'usage as before';
tree_consistent($s, 'after restoring a into Docs', $alice);

# ------------------------------------------------------------ original parent trashed or purged: into the root

del_folder($alice, $photos->{id}, 'Photos (p1 was deleted before it)');
$r = restore($alice, $p1->{id});
is $r->{status}, 200, 'restore p1 while its parent Photos/2024 is in the trash -> 200' or diag $r->describe;
is $r->{json}{folder_id}, $aroot, 'p1 lands in the root';
is loc($p1->{id}), "$aroot/p1", '... and is stored there';
$r = restore($alice, $photos->{id});
is $r->{status}, 200, 'restore Photos -> 200' or diag $r->describe;
is_deeply totals($alice, $photos->{id}), [ 0, 0 ], 'Photos is back, empty (p1 stays in the root)';
is loc($y2024->{id}), "$photos->{id}/2024", '2024 is back in Photos';
tree_consistent($s, 'after restoring into the root', $alice);

my $tmp = mkdir_ok($alice, 'Tmp');
my $t1 = put1($alice, $tmp->{id}, t1 => random_bytes(60));
del_file($alice, $t1->{id}, 'Tmp/t1');
del_folder($alice, $tmp->{id}, 'Tmp');
my $purges = activity_count($alice, 'purge');
$r = purge($alice, $tmp->{id});
is $r->{status}, 204, 'purge Tmp -> 204' or diag $r->describe;
cmp_ok activity_count($alice, 'purge'), '>', $purges, 'activity: purge logged';
is loc($tmp->{id}), 'none', 'the Tmp row is gone';
like loc($t1->{id}), qr/\(trashed\)$/, 't1, its own unit, is still in the trash (not purged with Tmp)';
my ($t1_item) = grep { ($_->{id} // '') eq $t1->{id} } @{ trash($alice) };
trash_item_ok($t1_item, { kind => 'file', name => 't1', size => 60, original_parent_id => $aroot,
	original_path => '/' }, 't1 in the trash: its parent is gone, so it now belongs to the root')
	or diag 't1: original_parent_id is ' . (($t1_item->{original_parent_id} // '') eq $tmp->{id}
		? 'the purged Tmp' : 'something else');
$r = restore($alice, $t1->{id});
is $r->{status}, 200, 'restore t1 -> 200' or diag $r->describe;
is $r->{json}{folder_id}, $aroot, 't1 lands in the root';
tree_consistent($s, 'after the purged parent', $alice);

# ------------------------------------------------------------ name conflicts on restore

my $notes = mkdir_ok($alice, 'Notes');
my $n1 = put1($alice, $notes->{id}, n1 => random_bytes(10));
del_folder($alice, $notes->{id}, 'Notes');
my $notes2 = mkdir_ok($alice, 'Notes');
$r = restore($alice, $notes->{id});
is $r->{status}, 200, 'restore Notes while a new Notes exists -> 200' or diag $r->describe;
is $r->{json}{name}, 'Notes (1)', 'restored as "Notes (1)"';
is loc($notes->{id}), "$aroot/Notes (1)", '... stored so';
is loc($n1->{id}), "$notes->{id}/n1", 'with its file';
is loc($notes2->{id}), "$aroot/Notes", 'the new Notes untouched';

my $memo = put1($alice, $aroot, memo => random_bytes(20));
del_file($alice, $memo->{id}, 'memo');
my $memo2 = put1($alice, $aroot, memo => random_bytes(21));
isnt $memo2->{id}, $memo->{id}, 'a new memo is a new file';
$r = restore($alice, $memo->{id}, { on_conflict => 'fail' });
problem_ok($r, 409, 'name_conflict', 'restore memo with on_conflict fail -> 409 name_conflict');
like loc($memo->{id}), qr/\(trashed\)$/, '... memo is still in the trash';
problem_ok(restore($alice, $memo->{id}, { on_conflict => 'version' }), 400, 'invalid_request', 'on_conflict "version" -> 400');
problem_ok(restore($alice, $memo->{id}, { on_conflict => 'rename', to => $aroot }), 400, 'invalid_request', 'an unknown field -> 400');
problem_ok(restore($alice, $memo->{id}, '{"on_conflict": '), 400, 'invalid_request', 'malformed JSON -> 400');
like loc($memo->{id}), qr/\(trashed\)$/, '... still in the trash';
$r = restore($alice, $memo->{id}, { on_conflict => 'rename' });
is $r->{status}, 200, 'restore memo with on_conflict rename -> 200' or diag $r->describe;
is $r->{json}{name}, 'memo (1)', 'restored as "memo (1)"';
is loc($memo2->{id}), "$aroot/memo", 'the new memo untouched';

my $mix = put1($alice, $aroot, mix => random_bytes(30));
del_file($alice, $mix->{id}, 'mix');
my $mixdir = mkdir_ok($alice, 'mix');
$r = restore($alice, $mix->{id});
is $r->{status}, 200, 'restore the file mix while a folder mix exists -> 200' or diag $r->describe;
is $r->{json}{name}, 'mix (1)', 'restored as "mix (1)" (names are unique across kinds)';
tree_consistent($s, 'after the conflicting restores', $alice);

# ------------------------------------------------------------ restore over quota

my $dave = $s->register_user;
my $droot = $dave->{user}{root_folder_id};
my $big = put1($dave, $droot, big => random_bytes(6000));
my $box = mkdir_ok($dave, 'Box');
put_files($dave, $box->{id}, x1 => random_bytes(2500), x2 => random_bytes(2500));
del_file($dave, $big->{id}, 'big');
del_folder($dave, $box->{id}, 'Box');
my $filler = put1($dave, $droot, filler => random_bytes(6000));
is used($dave), 6000, 'dave uses 6000 bytes';
$s->set_quota($dave, 10000);
my $dstate = subtree($droot);
problem_ok(restore($dave, $big->{id}), 507, 'quota_exceeded', 'restore big (6000) with 4000 left -> 507');
problem_ok(restore($dave, $box->{id}), 507, 'quota_exceeded', 'restore Box (5000) with 4000 left -> 507');
is_deeply trash_ids($dave), [ $box->{id}, $big->{id} ], 'both still in the trash';
is_deeply subtree($droot), $dstate, 'nothing restored';
is used($dave), 6000, 'usage unchanged';
del_file($dave, $filler->{id}, 'filler');
$r = restore($dave, $box->{id});
is $r->{status}, 200, 'with 10000 left, restore Box (5000) -> 200' or diag $r->describe;
problem_ok(restore($dave, $big->{id}), 507, 'quota_exceeded', 'restore big (6000) with 5000 left -> 507');
$s->set_quota($dave, 11000);
$r = restore($dave, $big->{id});
is $r->{status}, 200, 'with exactly 6000 left, restore big -> 200' or diag $r->describe;
is used($dave), 11000, 'dave uses all of his 11000 bytes';
is_deeply trash_ids($dave), [ $filler->{id} ], 'only filler is in the trash';
tree_consistent($s, 'after the quota restores', $dave);

# ------------------------------------------------------------ bulk delete: one unit per item

my $bulk = mkdir_ok($alice, 'Bulk');
my $by = mkdir_ok($alice, 'Y', $bulk->{id});
my $bf = put_files($alice, $bulk->{id}, x1 => random_bytes(11), x2 => random_bytes(12));
my $yf = put1($alice, $by->{id}, y1 => random_bytes(13));
my $unknown = uuid();
my $bob_file = put1($bob, $broot, 'bobtrash' => random_bytes(14));
$r = $alice->post_json('/api/files/delete', { item_ids => [ $bf->{x1}{id}, $by->{id}, $unknown, $bf->{x2}{id}, $bob_file->{id} ] });
is $r->{status}, 200, 'POST /api/files/delete [x1, Y, unknown, x2, bob\'s file] -> 200' or diag $r->describe;
is_deeply [ sort map { join ':', @$_{qw(kind id name)} } @{ $r->{json}{items} || [] } ],
	[ sort "file:$bf->{x1}{id}:x1", "file:$bf->{x2}{id}:x2", "folder:$by->{id}:Y" ], 'items: {kind, id, name} of the three deleted';
is_deeply [ sort map { ($_->{id} // '') . ':' . ($_->{error}{status} // '') . ':' . ($_->{error}{code} // '') } @{ $r->{json}{errors} || [] } ],
	[ sort "$unknown:404:not_found", "$bob_file->{id}:404:not_found" ], 'errors: 404 for the unknown id and for bob\'s file';
is loc($bob_file->{id}), "$broot/bobtrash", "bob's file untouched";
my @units = @{ trash($alice) }[ 0 .. 2 ];
is_deeply [ sort map { $_->{id} // '' } @units ], [ sort $bf->{x1}{id}, $bf->{x2}{id}, $by->{id} ], 'three units on top of the trash';
ok !grep({ ($_->{id} // '') eq $yf->{id} } @{ trash($alice) }), 'y1 (inside Y) is not listed on its own';
is $s->psql("SELECT trash_id FROM files WHERE id = '$yf->{id}'"), $by->{id}, 'y1 belongs to the unit Y';
is_deeply totals($alice, $bulk->{id}), [ 0, 0 ], 'Bulk is empty';
problem_ok($alice->post_json('/api/files/delete', {}), 400, 'invalid_request', 'POST /api/files/delete {} -> 400');
problem_ok($alice->post_json('/api/files/delete', { item_ids => [ $fa->{id}, $fa->{id} ] }), 400, 'invalid_request', '... duplicate ids -> 400');
problem_ok($alice->post_json('/api/files/delete', { item_ids => [ $fa->{id} ], target_folder_id => $aroot }), 400, 'invalid_request', '... an unknown field -> 400');
is loc($fa->{id}), "$docs->{id}/a", 'a untouched by the refused deletes';
tree_consistent($s, 'after the bulk delete', $alice);
is $bob->delete("/api/files/$bob_file->{id}")->{status}, 204, "bob deletes his file";

# ------------------------------------------------------------ purge one unit; gc removes its blobs

my $old = mkdir_ok($alice, 'Old');
my $oldsub = mkdir_ok($alice, 'sub', $old->{id});
my @X = map { random_bytes(3000 + $_) } 1 .. 3;
my $shared = random_bytes(3100);
put1($alice, $old->{id}, o1 => $X[0]);
my $o1 = put1($alice, $old->{id}, o1 => $X[1]);    # version 2
my $o2 = put1($alice, $oldsub->{id}, o2 => $X[2]);
my $o3 = put1($alice, $oldsub->{id}, o3 => $shared);
my $twin = put1($alice, $aroot, twin => $shared);
is $o1->{version}, 2, 'Old/o1 has 2 versions';
my @hex = map { sha256_hex($_) } @X;
my $shex = sha256_hex($shared);
my $refs = sub { [ map { $s->psql("SELECT coalesce((SELECT ref_count FROM blobs WHERE sha256 = decode('$_', 'hex')), -1)") } @_ ] };
is_deeply $refs->(@hex, $shex), [ 1, 1, 1, 2 ], 'ref counts: 1 for the contents of Old, 2 for the shared one';
del_folder($alice, $old->{id}, 'Old');
my $use2 = used($alice);
my @old_files = map { $_->{id} } $o1, $o2, $o3;
my $in = join ',', map { "'" . sql_id($_) . "'" } @old_files;
$r = purge($alice, $old->{id});
is $r->{status}, 204, 'purge Old -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
ok !grep({ ($_->{id} // '') eq $old->{id} } @{ trash($alice) }), 'Old is no longer in the trash';
is $s->psql("SELECT count(*) FROM files WHERE id IN ($in)"), 0, 'its file rows are gone';
is $s->psql("SELECT count(*) FROM file_versions WHERE file_id IN ($in)"), 0, '... with every version';
is $s->psql("SELECT count(*) FROM folders WHERE id IN ('$old->{id}', '$oldsub->{id}')"), 0, 'its folder rows are gone';
is used($alice), $use2, 'usage unchanged (released when it went to the trash)';
is_deeply $refs->(@hex, $shex), [ 0, 0, 0, 1 ], 'ref counts dropped: 0 for its own contents, 1 for the shared one';
problem_ok(purge($alice, $old->{id}), 404, 'not_found', 'purge it again -> 404');
problem_ok(restore($alice, $old->{id}), 404, 'not_found', 'restore it -> 404');
my $gc = $s->gc('--grace', 0);
is $gc->{exit}, 0, 'coffer-admin gc --grace 0' or diag "$gc->{out}$gc->{err}";
for my $i (0 .. 2) {
	ok !-e $s->blob_path($hex[$i]) && !-e $s->blob_path($hex[$i], 1), "blob $i of Old: no file on disk after gc";
}
is_deeply $refs->(@hex), [ -1, -1, -1 ], '... and no blob row';
ok -e $s->blob_path($shex) || -e $s->blob_path($shex, 1), 'the blob shared with the live file twin is kept';
$r = $alice->get("/api/files/$twin->{id}/download");
ok $r->{status} == 200 && $r->{content} eq $shared, 'twin downloads byte-exact';
tree_consistent($s, 'after the purge and gc', $alice);

# purge a single-file unit
$r = purge($alice, $loose->{id});
is $r->{status}, 204, 'purge the file unit loose -> 204' or diag $r->describe;
is loc($loose->{id}), 'none', 'loose is gone';

# ------------------------------------------------------------ 404: not yours, not a unit, not in the trash

my $secret = put1($alice, $aroot, secret => random_bytes(40));
del_file($alice, $secret->{id}, 'secret');
my $grp = mkdir_ok($alice, 'Grp');
my $g1 = put1($alice, $grp->{id}, g1 => random_bytes(41));
my $gsub = mkdir_ok($alice, 'gsub', $grp->{id});
del_folder($alice, $grp->{id}, 'Grp');
my $atrash = trash_ids($alice);
problem_ok(restore($bob, $secret->{id}), 404, 'not_found', "bob restores alice's file unit -> 404");
problem_ok(purge($bob, $secret->{id}), 404, 'not_found', "bob purges alice's file unit -> 404");
problem_ok(restore($bob, $grp->{id}), 404, 'not_found', "bob restores alice's folder unit -> 404");
problem_ok(purge($bob, $grp->{id}), 404, 'not_found', "bob purges alice's folder unit -> 404");
ok !grep({ $_ eq $secret->{id} || $_ eq $grp->{id} } @{ trash_ids($bob) }), "bob's trash does not list them";
problem_ok(restore($alice, $g1->{id}), 404, 'not_found', 'restore a file inside a trashed folder -> 404');
problem_ok(purge($alice, $g1->{id}), 404, 'not_found', 'purge a file inside a trashed folder -> 404');
problem_ok(restore($alice, $gsub->{id}), 404, 'not_found', 'restore a folder inside a trashed folder -> 404');
problem_ok(purge($alice, $gsub->{id}), 404, 'not_found', 'purge a folder inside a trashed folder -> 404');
problem_ok(restore($alice, $twin->{id}), 404, 'not_found', 'restore a live file -> 404');
problem_ok(purge($alice, $twin->{id}), 404, 'not_found', 'purge a live file -> 404');
problem_ok(restore($alice, $docs->{id}), 404, 'not_found', 'restore a live folder -> 404');
problem_ok(purge($alice, $aroot), 404, 'not_found', 'purge the root -> 404');
problem_ok(restore($alice, uuid()), 404, 'not_found', 'restore an unknown id -> 404');
problem_ok(purge($alice, uuid()), 404, 'not_found', 'purge an unknown id -> 404');
problem_ok($s->client->post("/api/trash/$secret->{id}/restore"), 401, 'unauthenticated', 'restore without credentials -> 401');
problem_ok($s->client->delete("/api/trash/$secret->{id}"), 401, 'unauthenticated', 'purge without credentials -> 401');
is_deeply trash_ids($alice), $atrash, "alice's trash unchanged";
is loc($twin->{id}), "$aroot/twin", 'twin untouched';
is loc($g1->{id}), "$grp->{id}/g1 (trashed)", 'g1 still in the trash with Grp';
tree_consistent($s, 'after the refused restores and purges');

# ------------------------------------------------------------ empty the trash

my $nrows = $s->psql("SELECT (SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND is_deleted)
	+ (SELECT count(*) FROM folders WHERE user_id = '$alice->{user}{id}' AND is_deleted)");
cmp_ok $nrows, '<=', $THRESHOLD, "alice's trash holds $nrows rows (under jobs_threshold: emptied at once)";
my @blobs_trashed = map { $_->[0] } $s->psql_rows("SELECT DISTINCT encode(v.sha256, 'hex') FROM file_versions v JOIN files f ON f.id = v.file_id
	WHERE f.user_id = '$alice->{user}{id}' AND f.is_deleted");
my $use3 = used($alice);
my $bob_trash = trash_ids($bob);
is scalar @$bob_trash, 1, 'bob has one unit in his trash';
$r = $alice->delete('/api/trash');
is $r->{status}, 204, 'DELETE /api/trash -> 204' or diag $r->describe;
is_deeply $alice->get('/api/trash')->{json}, { items => [], next_cursor => undef }, "alice's trash is empty";
is $s->psql("SELECT (SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND is_deleted)
	+ (SELECT count(*) FROM folders WHERE user_id = '$alice->{user}{id}' AND is_deleted)"), 0, 'no trashed row of alice left';
is used($alice), $use3, 'usage unchanged';
is_deeply trash_ids($bob), $bob_trash, "bob's trash untouched";
is $alice->delete('/api/trash')->{status}, 204, 'DELETE /api/trash on an empty trash -> 204';
$gc = $s->gc('--grace', 0);
is $gc->{exit}, 0, 'gc --grace 0' or diag "$gc->{out}$gc->{err}";
my @left = grep { -e $s->blob_path($_) || -e $s->blob_path($_, 1) } @blobs_trashed;
my %live = map { $_->[0] => 1 } $s->psql_rows(q{SELECT encode(sha256, 'hex') FROM file_versions});
is_deeply [ grep { !$live{$_} } @left ], [], 'gc removed the blobs of the emptied trash (those no live version shares)';
tree_consistent($s, 'after emptying the trash', $alice);

# ------------------------------------------------------------ automatic purge: coffer-admin maintenance

my $erin = $s->register_user;
my $eroot = $erin->{user}{root_folder_id};
my %E = map { $_ => random_bytes(500 + length $_) } qw(e1 e2 e3 e4 e5 bo);
my $oldf = mkdir_ok($erin, 'OldF');
my $ef = put_files($erin, $oldf->{id}, e1 => $E{e1}, e2 => $E{e2});
my $e3 = put1($erin, $eroot, e3 => $E{e3});
my $e4 = put1($erin, $eroot, e4 => $E{e4});
my $e5 = put1($erin, $eroot, e5 => $E{e5});
my $bo = put1($bob, $broot, bo => $E{bo});
del_folder($erin, $oldf->{id}, 'OldF');
del_file($erin, $_->[0]{id}, $_->[1]) for [ $e3, 'e3' ], [ $e4, 'e4' ], [ $e5, 'e5' ];
del_file($bob, $bo->{id}, "bob's bo");
sub backdate {
	my ($unit, $days) = @_;
	$unit = sql_id($unit);
	$s->psql("UPDATE folders SET deleted_at = now() - interval '$days days' WHERE trash_id = '$unit';
		UPDATE files SET deleted_at = now() - interval '$days days' WHERE trash_id = '$unit'");
}
backdate($oldf->{id}, 31);
backdate($e3->{id}, 45);
backdate($e4->{id}, 29);
backdate($bo->{id}, 31);
is $s->psql("SELECT count(*) FROM files WHERE deleted_at < now() - interval '30 days' AND id IN ('$ef->{e1}{id}', '$ef->{e2}{id}', '$e3->{id}', '$bo->{id}')"), 4,
	'4 files backdated past 30 days';
my $euse = used($erin);
my $buse = used($bob);
my $m = $s->admin('maintenance');
is $m->{exit}, 0, 'coffer-admin maintenance: exit 0' or diag "$m->{out}$m->{err}";
like "$m->{out}$m->{err}", qr/(?:purg|trash)[^\n]*\d|\d[^\n]*(?:purg|trash)/i, 'its output says how much of the trash it purged'
	or diag "output: $m->{out}$m->{err}";
diag "maintenance said: $m->{out}$m->{err}";
is_deeply trash_ids($erin), [ $e5->{id}, $e4->{id} ], "erin's trash keeps e5 (now) and e4 (29 days)";
is loc($oldf->{id}), 'none', 'OldF (31 days) purged';
is loc($ef->{e1}{id}), 'none', '... with e1';
is loc($e3->{id}), 'none', 'e3 (45 days) purged';
is loc($bo->{id}), 'none', "bob's bo (31 days) purged too";
is_deeply trash_ids($bob), $bob_trash, "bob's younger unit kept";
is used($erin), $euse, "erin's usage unchanged";
is used($bob), $buse, "bob's usage unchanged";
for my $k (qw(e1 e2 e3 bo)) {
	my $hex = sha256_hex($E{$k});
	ok !-e $s->blob_path($hex) && !-e $s->blob_path($hex, 1), "the blob of $k is gone from disk (maintenance ran gc)";
}
for my $k (qw(e4 e5)) {
	my $hex = sha256_hex($E{$k});
	ok -e $s->blob_path($hex) || -e $s->blob_path($hex, 1), "the blob of $k is kept";
}
$r = restore($erin, $e4->{id});
is $r->{status}, 200, 'the 29-day-old e4 can still be restored' or diag $r->describe;
$m = $s->admin('maintenance');
is $m->{exit}, 0, 'a second maintenance run: exit 0' or diag "$m->{out}$m->{err}";
is_deeply trash_ids($erin), [ $e5->{id} ], 'and purges nothing young';
tree_consistent($s, 'after maintenance');

diag sprintf 'ran in %.1f s', time - $t0;
done_testing;
