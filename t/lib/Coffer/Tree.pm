package Coffer::Tree;
# Helpers for the tree tests (t/5x-*.t): folders, listings, jobs, and the
# invariants every tree change must keep, checked against a recount from the
# rows themselves.
use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use Test::More ();

use Coffer::Test qw(sql_id upload_ok wait_until);

our @EXPORT_OK = qw(mkdir_ok list_all tree_consistent job_wait uuid put_files);

# POST /api/folders as $c; returns the folder object (croaks unless 201).
# $parent: a folder id or undef (root). %o: extra body members.
sub mkdir_ok {
	my ($c, $name, $parent, %o) = @_;
	my $r = $c->post_json('/api/folders', { name => $name, (defined $parent ? (parent_id => $parent) : ()), %o });
	$r->{status} == 201 or croak "mkdir $name: " . $r->describe;
	return $r->{json};
}

# Every item of a listing ($path with its query, e.g. "/api/files?sort=size"),
# following next_cursor. Returns (\@items, $pages); croaks on a non-200 page.
sub list_all {
	my ($c, $path, $limit) = @_;
	my (@items, $cursor);
	my $pages = 0;
	my $sep = $path =~ /\?/ ? '&' : '?';
	while (1) {
		my $url = $path . $sep . 'limit=' . ($limit // 100) . (defined $cursor ? "&cursor=$cursor" : '');
		my $r = $c->get($url);
		$r->{status} == 200 or croak "list $url: " . $r->describe;
		$pages++;
		push @items, @{ $r->{json}{items} || [] };
		$cursor = $r->{json}{next_cursor};
		last unless defined $cursor;
		croak "list $path: more than 10000 pages" if $pages > 10000;
	}
	return (\@items, $pages);
}

# The tree invariants, for every user (or only $who, a client): each
# folder's file_count and total_size equal a recount of the live files in
# its live subtree; users.storage_used equals the retained versions of live
# files; blobs.ref_count equals the versions pointing at each blob; no live
# item sits in a trashed or missing folder. One ok() per invariant.
sub tree_consistent {
	my ($s, $name, $who) = @_;
	local $Test::Builder::Level = ($Test::Builder::Level // 1) + 1;
	my $user = $who ? "'" . sql_id($who->{user}{id}) . "'" : 'NULL';
	my @bad = $s->psql_rows(qq{
		WITH RECURSIVE sub(top, id) AS (
		    SELECT id, id FROM folders WHERE NOT is_deleted AND (${user}::uuid IS NULL OR user_id = ${user}::uuid)
		  UNION ALL
		    SELECT sub.top, c.id FROM sub JOIN folders c ON c.parent_id = sub.id AND NOT c.is_deleted)
		SELECT f.id, f.file_count, f.total_size, r.n, r.s
		  FROM folders f
		  JOIN (SELECT sub.top, count(x.id) AS n, coalesce(sum(x.size), 0) AS s
		          FROM sub LEFT JOIN files x ON x.folder_id = sub.id AND NOT x.is_deleted
		         GROUP BY sub.top) r ON r.top = f.id
		 WHERE f.file_count <> r.n OR f.total_size <> r.s});
	Test::More::ok(!@bad, "$name: folder totals match a recount")
		or Test::More::diag(join "\n", map { "folder $_->[0]: has $_->[1] files/$_->[2] B, recount $_->[3]/$_->[4]" } @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
	my @drift = $s->psql_rows(qq{
		SELECT u.id, u.storage_used, (SELECT coalesce(sum(v.size), 0) FROM file_versions v JOIN files f ON f.id = v.file_id
		                               WHERE f.user_id = u.id AND NOT f.is_deleted)
		  FROM users u WHERE (${user}::uuid IS NULL OR u.id = ${user}::uuid)
		   AND u.storage_used <> (SELECT coalesce(sum(v.size), 0) FROM file_versions v JOIN files f ON f.id = v.file_id
		                           WHERE f.user_id = u.id AND NOT f.is_deleted)});
	Test::More::ok(!@drift, "$name: storage_used matches the retained versions")
		or Test::More::diag(join "\n", map { "user $_->[0]: storage_used $_->[1], recount $_->[2]" } @drift);
	my @refs = $s->psql_rows(q{
		SELECT encode(b.sha256, 'hex'), b.ref_count, (SELECT count(*) FROM file_versions v WHERE v.sha256 = b.sha256)
		  FROM blobs b WHERE b.ref_count <> (SELECT count(*) FROM file_versions v WHERE v.sha256 = b.sha256)});
	Test::More::ok(!@refs, "$name: blob reference counts match the versions")
		or Test::More::diag(join "\n", map { "blob $_->[0]: ref_count $_->[1], versions $_->[2]" } @refs);
	my @orphans = $s->psql_rows(qq{
		SELECT 'folder', c.id FROM folders c JOIN folders p ON p.id = c.parent_id
		 WHERE NOT c.is_deleted AND p.is_deleted AND (${user}::uuid IS NULL OR c.user_id = ${user}::uuid)
		UNION ALL
		SELECT 'file', x.id FROM files x JOIN folders p ON p.id = x.folder_id
		 WHERE NOT x.is_deleted AND p.is_deleted AND (${user}::uuid IS NULL OR x.user_id = ${user}::uuid)});
	Test::More::ok(!@orphans, "$name: no live item inside a trashed folder")
		or Test::More::diag(join "\n", map { "$_->[0] $_->[1] is live in a trashed folder" } @orphans);
	return !@bad && !@drift && !@refs && !@orphans;
}

# Poll GET /api/jobs/<id> until the job has finished (succeeded or failed);
# returns its last job object (croaks after $timeout seconds, default 60).
sub job_wait {
	my ($c, $id, $timeout) = @_;
	my $job;
	wait_until(sub {
		my $r = $c->get("/api/jobs/$id");
		croak "GET /api/jobs/$id: " . $r->describe unless $r->{status} == 200;
		$job = $r->{json};
		return $job->{state} eq 'succeeded' || $job->{state} eq 'failed';
	}, $timeout // 60, 0.1) or croak "job $id did not finish in " . ($timeout // 60) . " s";
	return $job;
}

# A random (version 4) UUID no row has.
sub uuid {
	my @b = map { int rand 256 } 1 .. 16;
	$b[6] = ($b[6] & 0x0f) | 0x40;
	$b[8] = ($b[8] & 0x3f) | 0x80;
	my $h = join '', map { sprintf '%02x', $_ } @b;
	return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4), substr($h, 16, 4), substr($h, 20);
}

# Upload name => bytes pairs into $folder as $c (one request, each must be
# stored: one ok()); returns {name => file object}.
sub put_files {
	my ($c, $folder, @pairs) = @_;
	local $Test::Builder::Level = ($Test::Builder::Level // 1) + 1;
	my @files;
	while (@pairs) {
		my ($n, $d) = splice @pairs, 0, 2;
		push @files, [ $n, $d ];
	}
	my $r = $c->upload(files => \@files, fields => [ folder_id => $folder ]);
	my $got = upload_ok($r, scalar @files, [], 'upload ' . join(', ', map { $_->[0] } @files));
	return { map { $_->{name} => $_ } @$got };
}

1;
