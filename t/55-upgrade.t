#!/usr/bin/perl
# 55-upgrade: migration 004 (and every later one) on a database that
# already holds data of schema 3 (issue 3: files in the root and in
# folders, versions, a file in the trash). Proves: `coffer-admin migrate` applies 004 to it; folders' totals
# are recounted from the files that were there (recursive, live files
# only); a file trashed before gets its trash unit (it is listed in the trash
# and can be restored); paths are computed; usage and blob reference counts
# stay exact; and the tree then works through the API as for new data.
# Migration 013 marks every blob stored before it extract_pending (for the
# jobs process to extract its metadata and text), and no blob stored after.
# Migration 016 gives the texts stored before it (at schema 015) their
# pairs of adjacent words and keeps their vectors; a text stored after gets
# both from its trigger.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Test::More;

use Coffer::Test;
use Coffer::Tree qw(tree_consistent);

my $s = Coffer::Test->stack;
my $db = 'coffer_upgrade' . $$;
my $conninfo = $s->conninfo =~ s/dbname=\S+/dbname=$db/r;
$s->psql("CREATE DATABASE $db");
END { eval { $s->psql("DROP DATABASE IF EXISTS $db WITH (FORCE)") } if $s }

# schema 3: the first three migrations alone
my $old = tempdir(CLEANUP => 1);
copy("$FindBin::Bin/../migrations/$_", "$old/$_") or die "$_: $!"
	for qw(001_initial.sql 002_stable_time_functions.sql 003_files.sql);
my $env = { env => { COFFER_DB => $conninfo } };
my $r = $s->admin($env, 'migrate', '--dir', $old);
is $r->{exit}, 0, 'schema 3 made' or diag "$r->{out}$r->{err}";

my ($U, $ROOT, $SUB, $DEEP) = ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222',
	'33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444');
sub store {
	my ($folder, $name, $hexbyte, $size) = @_;
	return "SELECT stored_name FROM file_store('$U', '$folder', '$name', decode(repeat('$hexbyte', 32), 'hex'),
		$size, 'text/plain', NULL, NULL, 'version', 10);";
}
$s->psql(join("\n", 'BEGIN;',
	"INSERT INTO users (id, username, email, password_hash, storage_quota, root_folder_id)
	   VALUES ('$U', 'upgrader', 'upgrader\@example.com', 'x', 1000000, '$ROOT');",
	"INSERT INTO folders (id, user_id, parent_id, name, path) VALUES ('$ROOT', '$U', NULL, '', '/');",
	"INSERT INTO folders (id, user_id, parent_id, name, path) VALUES ('$SUB', '$U', '$ROOT', 'sub', '/sub');",
	"INSERT INTO folders (id, user_id, parent_id, name, path) VALUES ('$DEEP', '$U', '$SUB', 'deep', '/sub/deep');",
	store($ROOT, 'a.txt', 'ab', 10), store($SUB, 'b.txt', 'cd', 20), store($DEEP, 'c.txt', 'ef', 40),
	store($DEEP, 'c.txt', 'ee', 45),   # a second version
	store($ROOT, 'gone.txt', '12', 7),
	"UPDATE files SET is_deleted = true, deleted_at = now() WHERE name = 'gone.txt';",
	'COMMIT;'), database => $db);
is $s->psql('SELECT max(version) FROM schema_migrations', database => $db), 3, 'at schema 3, with data';

# up to 015 first, then texts stored at that schema, then the rest: 016
# computes the pairs of words of texts it finds
opendir my $md, "$FindBin::Bin/../migrations" or die "migrations: $!";
my @migrations = grep { /^\d{3}_.*\.sql$/ } readdir $md;
my $to15 = tempdir(CLEANUP => 1);
copy("$FindBin::Bin/../migrations/$_", "$to15/$_") or die "$_: $!" for grep { /^(\d{3})/ && $1 <= 15 } @migrations;
$r = $s->admin($env, 'migrate', '--dir', $to15);
is $r->{exit}, 0, 'coffer-admin migrate applies 004 to 015 to it' or diag "$r->{out}$r->{err}";
$s->psql(q{INSERT INTO blob_text (sha256, content) VALUES
	(decode(repeat('ab', 32), 'hex'), 'the quarterly report of the lighthouse keeper'),
	(decode(repeat('cd', 32), 'hex'), 'report quarterly')}, database => $db);
$r = $s->admin($env, 'migrate');
is $r->{exit}, 0, '... and then the later ones' or diag "$r->{out}$r->{err}";
my ($latest) = sort { $b <=> $a } map { /^(\d{3})_/ ? $1 + 0 : () } @migrations;
is $s->psql('SELECT max(version) FROM schema_migrations', database => $db), $latest,
	"now at the latest schema ($latest)";

is_deeply [ map { "@$_" } $s->psql_rows('SELECT folder_path(id), file_count, total_size FROM folders ORDER BY 1', database => $db) ],
	[ '/ 3 75', '/sub 2 65', '/sub/deep 1 45' ], 'totals recounted: live files of each subtree, current sizes';
is_deeply [ map { "@$_" } $s->psql_rows(q{SELECT encode(sha256, 'hex'), extract_pending, metadata IS NULL FROM blobs ORDER BY 1}, database => $db) ],
	[ map { ("$_" x 32) . ' t t' } qw(12 ab cd ee ef) ],
	'every blob stored before is marked for the extraction backfill (013), without metadata yet';
is_deeply [ map { "@$_" } $s->psql_rows(q{SELECT name, is_deleted, trash_id = id FROM files WHERE trash_id IS NOT NULL}, database => $db) ],
	[ 'gone.txt t t' ], 'the trashed file is a trash unit of its own';
is $s->psql("SELECT storage_used FROM users WHERE id = '$U'", database => $db), 10 + 20 + 40 + 45,
	'usage unchanged: every retained version of the live files';

my $texts = q{SELECT left(encode(sha256, 'hex'), 4), search = to_tsvector('simple', content),
	pairs = search_pairs(search), cardinality(pairs) FROM blob_text ORDER BY 1};
is_deeply [ map { "@$_" } $s->psql_rows($texts, database => $db) ], [ 'abab t t 6', 'cdcd t t 1' ],
	'016: the texts stored before it keep their vector and get their pairs of words';
is $s->psql(q{SELECT string_agg(left(encode(sha256, 'hex'), 4), ' ') FROM blob_text
	WHERE pairs @> search_phrase_pairs('quarterly report') AND search @@ phraseto_tsquery('simple', 'quarterly report')},
	database => $db), 'abab', '... by which a phrase is found';

# the tree works on the upgraded data
$s->psql(store($DEEP, 'd.txt', '34', 5), database => $db);
$s->psql(q{INSERT INTO blob_text (sha256, content) VALUES (decode(repeat('34', 32), 'hex'), 'a b c')}, database => $db);
is_deeply [ map { "@$_" } $s->psql_rows($texts, database => $db) ], [ '3434 t t 2', 'abab t t 6', 'cdcd t t 1' ],
	'a text stored after the upgrade gets its vector and pairs from the trigger';
is $s->psql(q{SELECT extract_pending FROM blobs WHERE sha256 = decode(repeat('34', 32), 'hex')}, database => $db), 'f',
	'a blob stored after the upgrade is not marked (its upload extracts it)';
is_deeply [ map { "@$_" } $s->psql_rows('SELECT folder_path(id), file_count, total_size FROM folders ORDER BY 1', database => $db) ],
	[ '/ 4 80', '/sub 3 70', '/sub/deep 2 50' ], 'a new upload adds to every ancestor';
is $s->psql("SELECT body->>'name' FROM tree_apply('$U', 'restore', ARRAY['" .
	$s->psql(q{SELECT id FROM files WHERE name = 'gone.txt'}, database => $db) . "'::uuid], NULL, 'rename')", database => $db),
	'gone.txt', 'the old trashed file restores';
is $s->psql("SELECT file_count || ' ' || total_size FROM folders WHERE id = '$ROOT'", database => $db), '5 87',
	'... and counts again';
is_deeply [ $s->psql_rows(q{SELECT b.ref_count, (SELECT count(*) FROM file_versions v WHERE v.sha256 = b.sha256)
	FROM blobs b WHERE b.ref_count <> (SELECT count(*) FROM file_versions v WHERE v.sha256 = b.sha256)}, database => $db) ],
	[], 'blob reference counts exact';
is $s->psql(q{SELECT count(*) FROM users u WHERE storage_used <> (SELECT coalesce(sum(v.size), 0)
	FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.user_id = u.id AND NOT f.is_deleted)}, database => $db),
	0, 'usage exact';

done_testing;
