#!/usr/bin/perl
# 70-quota-report: GET /api/quota and DELETE /api/files/<id>/versions/<n>
# (plan6.md) through the real stack. Proves, against a model of every
# upload, version, copy, trash and purge kept by the test (known sizes and
# SHA-256s), that every figure of the report is exact: quota, used,
# available, percent_used (small quota set with coffer-admin), files /
# versions / trash counts and bytes, used = files.bytes + versions.bytes =
# /api/auth/user's storage.used; by_category and by_mime_type (text/plain,
# image/png, application/pdf, application/zip, octet-stream and an exotic
# type -> other; bytes desc, ties by name); largest_files (18 live files:
# the top-10 cut, size desc, ties by id, path); largest_folders (12 nested
# folders: recursive total_size and file_count, root and trashed folders
# excluded, top-10 cut); storage: deduplication_saved_bytes for one content
# under three names plus a POST /api/files/copy, stored_bytes and
# compression_saved_bytes equal to the sums over the blobs table once the
# texts are gzip, an incompressible upload saving 0; recommendations:
# absent ([]) for a fresh user, each kind with its count, bytes and a
# message with the count and the human size (plural and singular), gone
# when the cause goes (versions deleted, trash emptied, duplicates
# deleted). DELETE of a version: 204 and used drops by its size, it leaves
# the versions list, activity delete_version {version, size} (and in the
# owner's log with actor_id for an editor), the blob stays until gc; 409
# version_current, 404 for an unknown number, a trashed file and another
# user, 403 for a viewer; an editor may, charged back to the owner.
# Isolation: other users' files never appear, an item shared with a user
# does not count for them, a file an editor uploads into the owner's shared
# folder counts for the owner, not the editor. 401 without login.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib qw(crc32 compress);
use Digest::SHA qw(sha256_hex);
use IO::Compress::Zip qw(zip $ZipError);
use Test::More;

use Coffer::Test qw(problem_ok upload_ok random_bytes sql_id wait_until);

my $s = Coffer::Test->stack;
my $KEEP = $s->config('versions_keep') // 10;
plan skip_all => "versions_keep is $KEEP on this stack; this test keeps 3 versions of a file" if $KEEP < 3;
my $JOBS = $s->config('jobs_interval') // 5;
my $compress_on = ($s->config('compress') // 'on') !~ /^(?:off|0|false)$/i;
my $OCTET = 'application/octet-stream';
my $TOKEN = sprintf '%d-%04x', $$, int rand 0x10000;    # makes every text of this run unique

# ------------------------------------------------------------ content

# $len bytes of repetitive (well compressible) text, unique per $tag.
sub text {
	my ($tag, $len) = @_;
	my ($t, $i) = ('', 0);
	$t .= "$TOKEN $tag: the quick brown fox jumps over the lazy dog; line " . $i++ . "\n" while length $t < $len;
	return substr $t, 0, $len;
}

sub png_chunk { my ($type, $data) = @_; pack('N', length $data) . $type . $data . pack('N', crc32($type . $data)) }

# A valid 32x32 PNG of random pixels, padded after IEND to $len bytes.
sub png {
	my ($len) = @_;
	my $raw = join '', map { "\0" . random_bytes(96) } 1 .. 32;
	my $p = "\x89PNG\r\n\x1a\n" . png_chunk('IHDR', pack('NNCCCCC', 32, 32, 8, 2, 0, 0, 0))
		. png_chunk('IDAT', compress($raw)) . png_chunk('IEND', '');
	die "png: $len is too small" if length $p > $len;
	return $p . random_bytes($len - length $p);
}

# A PDF header and trailer around random bytes: $len bytes.
sub pdf {
	my ($len) = @_;
	my ($h, $t) = ("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "\n%%EOF\n");
	return $h . random_bytes($len - length($h) - length($t)) . $t;
}

# A real zip archive holding $n random bytes, stored.
sub zipfile {
	my ($n) = @_;
	my $in = random_bytes($n);
	my $out;
	zip(\$in => \$out, Name => 'payload.bin', Method => 0) or die "zip: $ZipError";
	return $out;
}

# An SQLite header and random bytes: a type that is none of the categories.
sub sqlite { my ($len) = @_; "SQLite format 3\0" . pack('n', 4096) . random_bytes($len - 18) }

# ------------------------------------------------------------ the model

# Per user: {root, quota, folders => {id => {name, parent}}, files => {id =>
# {name, folder, mime, trashed, versions => [{n, size, sha}, ...]}}}.
my %M;

sub model {
	my ($c) = @_;
	return $M{ $c->{username} } //= { root => $c->{user}{root_folder_id}, quota => $c->{user}{storage}{quota},
		folders => {}, files => {} };
}

sub cur { my ($f) = @_; (sort { $b->{n} <=> $a->{n} } @{ $f->{versions} })[0] }

sub folder_path {
	my ($m, $id) = @_;
	my @names;
	while (defined $id && $id ne $m->{root}) {
		my $f = $m->{folders}{$id} or return undef;
		unshift @names, $f->{name};
		$id = $f->{parent};
	}
	return '/' . join '/', @names;
}

sub file_path {
	my ($m, $f) = @_;
	my $p = folder_path($m, $f->{folder});
	return ($p eq '/' ? '' : $p) . "/$f->{name}";
}

# 1024-based, one decimal, rounded half up (PostgreSQL's round(numeric)).
sub human {
	my ($b) = @_;
	return "$b bytes" if $b < 1024;
	my ($unit, $div) = $b < 1024**2 ? ('KB', 1024) : $b < 1024**3 ? ('MB', 1024**2) : ('GB', 1024**3);
	my $tenths = int((20 * $b + $div) / (2 * $div));
	return sprintf '%d.%d %s', int($tenths / 10), $tenths % 10, $unit;
}

sub category {
	my ($m) = @_;
	return 'image' if $m =~ m{^image/};
	return 'video' if $m =~ m{^video/};
	return 'audio' if $m =~ m{^audio/};
	return 'archive' if $m eq 'application/zip';
	return 'document' if $m eq 'application/pdf';
	return 'text' if $m =~ m{^text/};
	return 'other';
}

sub group_by {
	my ($key, $name, @files) = @_;
	my %g;
	for my $f (@files) {
		my $k = $key->($f);
		$g{$k}{bytes} += cur($f)->{size};
		$g{$k}{count}++;
	}
	return [ map { { $name => $_, bytes => $g{$_}{bytes}, count => $g{$_}{count} } }
		sort { $g{$b}{bytes} <=> $g{$a}{bytes} || $a cmp $b } keys %g ];
}

# The expected report of a model, but for storage.stored_bytes and
# compression_saved_bytes (from the blobs table) and percent_used.
sub expected {
	my ($m) = @_;
	my @live = map { { %{ $m->{files}{$_} }, id => $_ } } grep { !$m->{files}{$_}{trashed} } sort keys %{ $m->{files} };
	my @trash = grep { $_->{trashed} } values %{ $m->{files} };
	my ($fb, $vn, $vb, $tb) = (0, 0, 0, 0);
	my %uniq;
	for my $f (@live) {
		my $c = cur($f);
		$fb += $c->{size};
		for my $v (@{ $f->{versions} }) {
			$uniq{ $v->{sha} } = $v->{size};
			next if $v == $c;
			$vn++;
			$vb += $v->{size};
		}
	}
	for my $f (@trash) { $tb += $_->{size} for @{ $f->{versions} } }
	my $used = $fb + $vb;
	my $unique = 0;
	$unique += $_ for values %uniq;

	my @by_size = sort { cur($b)->{size} <=> cur($a)->{size} || $a->{id} cmp $b->{id} } @live;
	my @largest = map { { id => $_->{id}, name => $_->{name}, size => cur($_)->{size}, mime_type => $_->{mime},
		folder_id => $_->{folder}, path => file_path($m, $_) } } @by_size[ 0 .. ($#by_size < 9 ? $#by_size : 9) ];

	my %tot;
	for my $f (@live) {
		my $id = $f->{folder};
		while (defined $id && $id ne $m->{root}) {
			$tot{$id}{size} += cur($f)->{size};
			$tot{$id}{count}++;
			$id = $m->{folders}{$id}{parent};
		}
	}
	my @folders = map { { id => $_, name => $m->{folders}{$_}{name}, path => folder_path($m, $_),
		total_size => $tot{$_}{size} // 0, file_count => $tot{$_}{count} // 0 } }
		grep { !$m->{folders}{$_}{trashed} } keys %{ $m->{folders} };
	@folders = sort { $b->{total_size} <=> $a->{total_size} || $a->{id} cmp $b->{id} } @folders;
	splice @folders, 10 if @folders > 10;

	my %groups;
	push @{ $groups{ cur($_)->{sha} } }, $_ for @live;
	my ($dn, $db) = (0, 0);
	for my $g (values %groups) {
		my @g = sort { $a->{id} cmp $b->{id} } @$g;
		shift @g;
		$dn += @g;
		$db += cur($_)->{size} for @g;
	}
	my @recs;
	push @recs, { kind => 'old_versions', count => $vn, bytes => $vb,
		prefix => "$vn old version" . ($vn == 1 ? ' takes ' : 's take ') . human($vb) . ' of your quota: ' } if $vn;
	push @recs, { kind => 'trash', count => scalar @trash, bytes => $tb,
		prefix => 'The trash holds ' . human($tb) . ' in ' . @trash . (@trash == 1 ? ' file: ' : ' files: ') } if @trash;
	push @recs, { kind => 'duplicates', count => $dn, bytes => $db,
		prefix => "$dn " . ($dn == 1 ? 'file is an exact duplicate of others and counts ' : 'files are exact duplicates of others and count ')
			. human($db) . ' ' } if $dn;

	return {
		quota => $m->{quota}, used => $used,
		available => $m->{quota} > $used ? $m->{quota} - $used : 0,
		files => { count => scalar @live, bytes => $fb },
		versions => { count => $vn, bytes => $vb },
		trash => { count => scalar @trash, bytes => $tb },
		by_category => group_by(sub { category($_[0]{mime}) }, 'category', @live),
		by_mime_type => group_by(sub { $_[0]{mime} }, 'mime_type', @live),
		largest_files => \@largest,
		largest_folders => \@folders,
		storage => { logical_bytes => $used, unique_bytes => $unique, deduplication_saved_bytes => $used - $unique },
		recommendations => \@recs,
		blobs => [ sort keys %uniq ],
	};
}

# SQL list of the blobs of these SHA-256s.
sub sha_in { join(', ', map { "decode('$_', 'hex')" } @_) || 'NULL' }

# (rows, sum size, sum stored_size, sum of size - stored_size of the gzip ones) from blobs.
sub blob_sums {
	my (@hex) = @_;
	my ($r) = $s->psql_rows('SELECT count(*), coalesce(sum(size), 0), coalesce(sum(stored_size), 0), '
		. "coalesce(sum(size - stored_size) FILTER (WHERE compression = 'gzip'), 0) FROM blobs WHERE sha256 IN ("
		. sha_in(@hex) . ')');
	return @$r;
}

my $json = JSON::PP->new->canonical;

# The caller's GET /api/quota checked against its model, figure by figure.
sub report_ok {
	my ($c, $name) = @_;
	my $m = model($c);
	my $e = expected($m);
	my @before = blob_sums(@{ $e->{blobs} });
	my $r = $c->get('/api/quota');
	my @after = blob_sums(@{ $e->{blobs} });
	my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	subtest $name => sub {
		is $r->{status}, 200, 'GET /api/quota -> 200' or diag $r->describe;
		like $r->header('content-type') // '', qr{^application/json}, 'JSON';
		is_deeply [ sort keys %$j ], [ sort qw(quota used available percent_used files versions trash by_category
			by_mime_type largest_files largest_folders storage recommendations) ], 'exactly the fields of the contract';
		is $j->{quota}, $e->{quota}, "quota $e->{quota}";
		is $j->{used}, $e->{used}, "used $e->{used} (every retained version of every live file)";
		is $j->{available}, $e->{available}, "available $e->{available}";
		my $pct = $e->{quota} == 0 ? 0 : int(10000 * $e->{used} / $e->{quota}) / 100;
		ok defined $j->{percent_used} && !ref $j->{percent_used} && abs($j->{percent_used} - $pct) < 1e-9,
			"percent_used $pct" or diag 'got ' . ($j->{percent_used} // 'undef');
		is_deeply $j->{files}, $e->{files}, "files: count $e->{files}{count}, bytes $e->{files}{bytes} (current versions)";
		is_deeply $j->{versions}, $e->{versions}, "versions: count $e->{versions}{count}, bytes $e->{versions}{bytes} (older versions)";
		is_deeply $j->{trash}, $e->{trash}, "trash: count $e->{trash}{count}, bytes $e->{trash}{bytes} (all their versions)";
		is(($j->{files}{bytes} // 0) + ($j->{versions}{bytes} // 0), $j->{used}, 'used == files.bytes + versions.bytes');
		my $u = $c->get('/api/auth/user')->{json} || {};
		is $u->{storage}{used}, $j->{used}, "used == GET /api/auth/user's storage.used";
		is $s->usage($c)->{used}, $e->{used}, 'used == users.storage_used';
		is_deeply $j->{by_category}, $e->{by_category}, 'by_category (bytes desc, then category)'
			or diag 'got ' . $json->encode($j->{by_category} // []) . "\nwant " . $json->encode($e->{by_category});
		is_deeply $j->{by_mime_type}, $e->{by_mime_type}, 'by_mime_type (bytes desc, then type)'
			or diag 'got ' . $json->encode($j->{by_mime_type} // []) . "\nwant " . $json->encode($e->{by_mime_type});
		is_deeply $j->{largest_files}, $e->{largest_files},
			scalar(@{ $e->{largest_files} }) . ' largest_files (size desc, ties by id) with their paths'
			or diag 'got ' . $json->encode($j->{largest_files} // []) . "\nwant " . $json->encode($e->{largest_files});
		is_deeply $j->{largest_folders}, $e->{largest_folders},
			scalar(@{ $e->{largest_folders} }) . ' largest_folders (recursive total_size desc, ties by id)'
			or diag 'got ' . $json->encode($j->{largest_folders} // []) . "\nwant " . $json->encode($e->{largest_folders});
		is_deeply \@after, \@before, 'the blobs did not change during the request';
		is $after[0], scalar @{ $e->{blobs} }, 'every blob of the live versions has its row';
		my $st = ref $j->{storage} eq 'HASH' ? $j->{storage} : {};
		is_deeply [ sort keys %$st ], [qw(compression_saved_bytes deduplication_saved_bytes logical_bytes stored_bytes unique_bytes)],
			'storage: exactly its fields';
		is $st->{logical_bytes}, $e->{used}, 'storage.logical_bytes = used';
		is $st->{unique_bytes}, $e->{storage}{unique_bytes}, "storage.unique_bytes $e->{storage}{unique_bytes} (distinct contents)";
		is $after[1], $e->{storage}{unique_bytes}, '... = sum of blobs.size of those blobs';
		is $st->{deduplication_saved_bytes}, $e->{storage}{deduplication_saved_bytes},
			"storage.deduplication_saved_bytes $e->{storage}{deduplication_saved_bytes}";
		is $st->{stored_bytes}, $after[2], "storage.stored_bytes = sum of blobs.stored_size ($after[2])";
		is $st->{compression_saved_bytes}, $after[3], "storage.compression_saved_bytes = sum over the gzip blobs ($after[3])";
		my $recs = ref $j->{recommendations} eq 'ARRAY' ? $j->{recommendations} : [ 'not an array' ];
		is_deeply [ map { ref $_ eq 'HASH' ? { %$_, message => undef } : $_ } @$recs ],
			[ map { { kind => $_->{kind}, count => $_->{count}, bytes => $_->{bytes}, message => undef } } @{ $e->{recommendations} } ],
			'recommendations: ' . (join(', ', map { "$_->{kind} ($_->{count}, $_->{bytes})" } @{ $e->{recommendations} }) || 'none')
			or diag 'got ' . $json->encode($recs);
		for my $i (0 .. $#{ $e->{recommendations} }) {
			my $want = $e->{recommendations}[$i];
			like +(ref $recs->[$i] eq 'HASH' ? $recs->[$i]{message} : undef) // '', qr/^\Q$want->{prefix}\E/,
				"$want->{kind} message starts '$want->{prefix}'";
		}
	};
	return $j;
}

# ------------------------------------------------------------ helpers

# Upload $data as $name into $folder (default root) as client $c, for the
# model of $owner (the folder's owner). Checks the type when $mime is given.
sub up {
	my ($c, $owner, $name, $data, $folder, $mime) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], (defined $folder ? (fields => [ folder_id => $folder ]) : ()));
	my ($f) = @{ upload_ok($r, 1, [], "upload $name (" . length($data) . ' bytes)') };
	$f ||= {};
	if (defined $mime) {
		ref $mime ? like($f->{mime_type}, $mime, "$name is $f->{mime_type}") : is($f->{mime_type}, $mime, "$name is $mime");
	}
	my $m = model($owner);
	my $mf = $m->{files}{ $f->{id} // 'none' } //= { name => $name, folder => $folder // $m->{root}, versions => [] };
	$mf->{mime} = $f->{mime_type};
	push @{ $mf->{versions} }, { n => $f->{version} // 0, size => length $data, sha => sha256_hex($data) };
	shift @{ $mf->{versions} } while @{ $mf->{versions} } > $KEEP;
	return $f;
}

sub mkfolder {
	my ($c, $name, $parent) = @_;
	my $r = $c->post_json('/api/folders', { name => $name, (defined $parent ? (parent_id => $parent) : ()) });
	is $r->{status}, 201, "create folder $name" or diag $r->describe;
	my $m = model($c);
	my $id = $r->{json}{id} // 'none';
	$m->{folders}{$id} = { name => $name, parent => $parent // $m->{root} };
	return $id;
}

sub grant {
	my ($c, $kind, $id, $who, $role) = @_;
	my $r = $c->post_json("/api/${kind}s/" . sql_id($id) . '/grants', { user => $who->{username}, role => $role });
	is $r->{status}, 201, "grant $who->{username} $role on the $kind" or diag $r->describe;
}

sub trash_file {
	my ($c, $id, $name) = @_;
	my $r = $c->delete('/api/files/' . sql_id($id));
	is $r->{status}, 204, "DELETE $name -> 204 (to the trash)" or diag $r->describe;
	model($c)->{files}{$id}{trashed} = 1;
}

sub empty_trash {
	my ($c) = @_;
	my $r = $c->delete('/api/trash');
	is $r->{status}, 204, 'DELETE /api/trash -> 204' or diag $r->describe;
	my $m = model($c);
	for my $k (qw(files folders)) {
		delete $m->{$k}{$_} for grep { $m->{$k}{$_}{trashed} } keys %{ $m->{$k} };
	}
}

sub versions_of {
	my ($c, $id) = @_;
	return [ map { $_->{version} } @{ $c->get('/api/files/' . sql_id($id) . '/versions')->{json}{items} || [] } ];
}

sub delete_version_rows {
	my ($id) = @_;
	return [ map { { user_id => $_->[0], details => $json->decode($_->[1]) } }
		$s->psql_rows("SELECT user_id, details FROM activity_log WHERE action = 'delete_version' AND target_id = '"
			. sql_id($id) . "' ORDER BY created_at, user_id") ];
}

# ------------------------------------------------------------ 401, fresh user

problem_ok($s->client->get('/api/quota'), 401, 'unauthenticated', 'GET /api/quota without login -> 401');
problem_ok($s->client->delete('/api/files/' . sql_id(undef) . '/versions/1'), 401, 'unauthenticated',
	'DELETE /api/files/<id>/versions/1 without login -> 401');

my $fresh = $s->register_user;
my $Q0 = $fresh->{user}{storage}{quota};
my $r = $fresh->get('/api/quota');
is $r->{status}, 200, 'a fresh user: GET /api/quota -> 200' or diag $r->describe;
my %j = %{ $r->{json} || {} };
my $pct = delete $j{percent_used};
is_deeply \%j, {
	quota => $Q0, used => 0, available => $Q0,
	files => { count => 0, bytes => 0 }, versions => { count => 0, bytes => 0 }, trash => { count => 0, bytes => 0 },
	by_category => [], by_mime_type => [], largest_files => [], largest_folders => [],
	storage => { logical_bytes => 0, unique_bytes => 0, stored_bytes => 0, deduplication_saved_bytes => 0,
		compression_saved_bytes => 0 },
	recommendations => [],
}, "... all zero, empty lists, quota = the default ($Q0), no recommendations ([])";
ok defined $pct && $pct == 0, '... percent_used 0';
$s->set_quota($fresh, 0);
model($fresh)->{quota} = 0;
report_ok($fresh, 'a fresh user with quota 0: available 0, percent_used 0');

# ------------------------------------------------------------ alice's storage

my $alice = $s->register_user;
my $bob = $s->register_user;      # another user: nothing shared
my $carol = $s->register_user;    # viewer of alice's notes.txt
my $dave = $s->register_user;     # editor of alice's /Shared and notes.txt
my $A = model($alice);

my $Docs = mkfolder($alice, 'Docs');
my $Reports = mkfolder($alice, 'Reports', $Docs);
my $Y2026 = mkfolder($alice, '2026', $Reports);
my $Media = mkfolder($alice, 'Media');
my $Photos = mkfolder($alice, 'Photos', $Media);
my $Archive = mkfolder($alice, 'Archive');
my $Shared = mkfolder($alice, 'Shared');
my $Empty = mkfolder($alice, 'Empty');
my @Misc = map { mkfolder($alice, "Misc$_") } 1 .. 4;
my $Tmp = mkfolder($alice, 'Tmp');

my $DUP = random_bytes(600_000);
my $ZIP = zipfile(50_000);
my $ZLEN = length $ZIP;
my %TEXT = (readme => text('readme', 3000), q1 => text('q1', 40_000), bydave => text('by dave', 2500));
my @NOTES = map { text("notes v$_", 3000 + 2000 * $_) } 1 .. 3;    # 5000, 7000, 9000 bytes
my $NOISE = random_bytes(64_000);

up($alice, $alice, 'readme.txt', $TEXT{readme}, undef, 'text/plain');
my $notes;
$notes = up($alice, $alice, 'notes.txt', $_, $Docs, 'text/plain') for @NOTES;
is $notes->{version}, 3, 'notes.txt is at version 3';
my $pdf = up($alice, $alice, 'report.pdf', pdf($ZLEN), $Docs, 'application/pdf');
up($alice, $alice, 'q1.txt', $TEXT{q1}, $Reports, 'text/plain');
my $dupa = up($alice, $alice, 'dup-a.bin', $DUP, undef, $OCTET);
my $dupb = up($alice, $alice, 'dup-b.bin', $DUP, $Reports, $OCTET);
my $dupc = up($alice, $alice, 'dup-c.bin', $DUP, $Media, $OCTET);
up($alice, $alice, 'deep.png', png(80_000), $Y2026, 'image/png');
up($alice, $alice, 'a.png', png(120_000), $Photos, 'image/png');
up($alice, $alice, 'b.png', png(20_000), $Photos, 'image/png');
my $zipf = up($alice, $alice, 'bundle.zip', $ZIP, $Archive, 'application/zip');
up($alice, $alice, "m$_.bin", random_bytes(100 * $_), $Misc[ $_ - 1 ], $OCTET) for 1 .. 3;
my $odd = up($alice, $alice, 'm4.db', sqlite(400), $Misc[3], qr{^application/(?:vnd\.|x-)sqlite3?$});
ok category($odd->{mime_type} // 'text/') eq 'other', "... $odd->{mime_type}: a type of no category (other)";
my $noise = up($alice, $alice, 'noise.bin', $NOISE, undef, $OCTET);

$r = $alice->post_json('/api/files/copy', { item_ids => [ $dupa->{id} ], target_folder_id => $Archive });
is $r->{status}, 200, 'POST /api/files/copy dup-a.bin into /Archive -> 200' or diag $r->describe;
my $copy = ($r->{json}{items} || [])->[0] || {};
is_deeply [ @$copy{qw(name size sha256 folder_id)} ], [ 'dup-a.bin', 600_000, sha256_hex($DUP), $Archive ],
	'... a copy of the same content in /Archive';
$A->{files}{ $copy->{id} // 'none' } = { name => 'dup-a.bin', folder => $Archive, mime => $copy->{mime_type},
	versions => [ { n => 1, size => 600_000, sha => sha256_hex($DUP) } ] };

# the trash: a file with two versions, and a folder with two files
my $old = up($alice, $alice, 'old.bin', random_bytes(1000), $Docs);
up($alice, $alice, 'old.bin', random_bytes(1500), $Docs);
trash_file($alice, $old->{id}, 'old.bin');
up($alice, $alice, 't1.txt', text('t1', 300), $Tmp, 'text/plain');
up($alice, $alice, 't2.bin', random_bytes(700), $Tmp);
$r = $alice->delete("/api/folders/$Tmp");
is $r->{status}, 204, 'DELETE /Tmp -> 204 (to the trash with its two files)' or diag $r->describe;
$A->{folders}{$Tmp}{trashed} = 1;
$_->{trashed} = 1 for grep { $_->{folder} eq $Tmp } values %{ $A->{files} };

# sharing: an editor's upload into /Shared is alice's
grant($alice, 'folder', $Shared, $dave, 'editor');
grant($alice, 'file', $notes->{id}, $carol, 'viewer');
grant($alice, 'file', $notes->{id}, $dave, 'editor');
my $bydave = up($dave, $alice, 'by-dave.txt', $TEXT{bydave}, $Shared, 'text/plain');
my %OTHER = (dave => text('dave own', 1800), bob => text('bob', 4000));
up($dave, $dave, 'dave-own.txt', $OTHER{dave}, undef, 'text/plain');
my $bobs = up($bob, $bob, 'bobs.bin', $DUP, undef, $OCTET);    # alice's content, bob's file
my $bobt = up($bob, $bob, 'bob-notes.txt', $OTHER{bob}, undef, 'text/plain');
up($carol, $carol, 'carol.txt', text('carol', 500), undef, 'text/plain');

# compression: wait until every blob of the users' live versions has been
# looked at and the texts of 1 KiB or more are gzip (so that the reports
# below see no blob change)
my @texts = map { sha256_hex($_) } @TEXT{qw(readme q1 bydave)}, @NOTES;
my @gzip = (@texts, map { sha256_hex($_) } values %OTHER);
my @mine = @{ expected($A)->{blobs} };
my @all = map { @{ expected($_)->{blobs} } } values %M;
SKIP: {
	skip 'compress is off on this stack', 2 unless $compress_on;
	my $done = wait_until(sub {
		$s->psql('SELECT count(*) FROM blobs WHERE compression = \'gzip\' AND sha256 IN (' . sha_in(@gzip) . ')') == @gzip
			&& $s->psql('SELECT count(*) FROM blobs WHERE NOT compress_checked AND sha256 IN (' . sha_in(@all) . ')') == 0
	}, 15 + 3 * $JOBS, 0.2);
	ok $done, 'the texts are compressed in the background (gzip) and every other blob was looked at';
	my ($gz) = $s->psql_rows('SELECT count(*), coalesce(sum(size - stored_size), 0) FROM blobs WHERE compression = \'gzip\' AND sha256 IN ('
		. sha_in(@mine) . ')');
	is $gz->[0], scalar @texts, '... exactly the six texts are gzip, saving ' . $gz->[1] . ' bytes';
}
my $nhex = sha256_hex($NOISE);
is $s->psql("SELECT compression || ' ' || (size = stored_size)::text FROM blobs WHERE sha256 = decode('$nhex', 'hex')"), 'none true',
	'noise.bin (incompressible) stays raw: stored_size = size, saves 0';

# a small quota, for a percentage with two decimals that rounding (rather
# than flooring) would change: 10000 * used / quota = k + f, f >= 0.5
my $used = expected($A)->{used};
my $Q = int($used * 1.37) + 1001;
$Q++ until (10000 * $used) % $Q * 2 >= $Q && int(10000 * $used / $Q) % 10 != 0;
$s->set_quota($alice, $Q);
$A->{quota} = $Q;

my $rep = report_ok($alice, 'alice: the whole report');
# what the model says, spelled out
is_deeply [ map { [ $_->{kind}, $_->{count}, $_->{bytes} ] } @{ $rep->{recommendations} || [] } ],
	[ [ 'old_versions', 2, 12_000 ], [ 'trash', 3, 3500 ], [ 'duplicates', 3, 1_800_000 ] ],
	'recommendations: 2 old versions (12000), 3 files in the trash (3500), 3 duplicates (1800000)';
like $rep->{recommendations}[0]{message} // '', qr/^2 old versions take 11\.7 KB of your quota: /, '... "2 old versions take 11.7 KB"';
like $rep->{recommendations}[1]{message} // '', qr/^The trash holds 3\.4 KB in 3 files: /, '... "The trash holds 3.4 KB in 3 files"';
like $rep->{recommendations}[2]{message} // '', qr/^3 files are exact duplicates of others and count 1\.7 MB /,
	'... "3 files are exact duplicates of others and count 1.7 MB"';
is $rep->{storage}{deduplication_saved_bytes}, 1_800_000, 'deduplication saves 3 x 600000 (three names and a copy of one content)';
is_deeply { map { $_->{category} => $_->{count} } @{ $rep->{by_category} || [] } },
	{ other => 9, text => 4, image => 3, document => 1, archive => 1 }, 'by_category counts: 9 other, 4 text, 3 image, 1 document, 1 archive';
is_deeply [ map { $_->{category} } grep { $_->{category} =~ /^(?:archive|document)$/ } @{ $rep->{by_category} || [] } ],
	[qw(archive document)], '... archive and document (same bytes) by name';
is scalar @{ $rep->{largest_files} || [] }, 10, 'largest_files: 10 of the 18 live files';
is_deeply [ sort map { $_->{name} } @{ $rep->{largest_files} || [] }[ 0 .. 3 ] ], [ sort qw(dup-a.bin dup-a.bin dup-b.bin dup-c.bin) ],
	'... the four 600000-byte files first';
my ($df) = grep { ($_->{id} // '') eq ($dupb->{id} // '-') } @{ $rep->{largest_files} || [] };
is $df->{path}, '/Docs/Reports/dup-b.bin', '... with paths (/Docs/Reports/dup-b.bin)';
my ($rd) = grep { ($_->{id} // '') eq $Reports } @{ $rep->{largest_folders} || [] };
is_deeply [ @{ $rd || {} }{qw(path total_size file_count)} ], [ '/Docs/Reports', 720_000, 3 ],
	'largest_folders: /Docs/Reports holds 720000 bytes in 3 files (2026/deep.png included)';
ok !grep({ ($_->{id} // '') eq $Tmp } @{ $rep->{largest_folders} || [] }), '... the trashed /Tmp is not listed';
ok !grep({ ($_->{id} // '') eq $A->{root} } @{ $rep->{largest_folders} || [] }), '... nor the root';
is scalar @{ $rep->{largest_folders} || [] }, 10, '... 10 of the 12 live folders';
my ($sh) = grep { ($_->{id} // '') eq $Shared } @{ $rep->{largest_folders} || [] };
is_deeply [ @{ $sh || {} }{qw(total_size file_count)} ], [ 2500, 1 ], "... /Shared counts dave's upload for alice";
my @ids = map { $_->{id} } @{ $rep->{largest_files} || [] };
ok !grep({ $_ eq ($bobs->{id} // '-') } @ids), "bob's file with alice's content is not in alice's report";
isnt $rep->{percent_used}, int($rep->{percent_used} // 0), "percent_used $rep->{percent_used} has decimals";

# ------------------------------------------------------------ isolation

my $rb = report_ok($bob, 'bob: only his two files');
is_deeply $rb->{recommendations}, [], "bob: no recommendations (alice's copies of his content are not his duplicates)";
is_deeply [ sort map { $_->{id} } @{ $rb->{largest_files} || [] } ], [ sort grep { defined } $bobs->{id}, $bobt->{id} ],
	'bob: largest_files are his own';
my $rc = report_ok($carol, 'carol: her file only, not the one shared with her');
is $rc->{files}{count}, 1, '... one file';
my $rdv = report_ok($dave, 'dave: his own file only, not what he uploaded into alice\'s folder');
is_deeply [ map { $_->{name} } @{ $rdv->{largest_files} || [] } ], ['dave-own.txt'], '... dave-own.txt alone';

# ------------------------------------------------------------ DELETE a version

my $nid = sql_id($notes->{id});
my $nf = $A->{files}{$nid};
problem_ok($alice->delete("/api/files/$nid/versions/3"), 409, 'version_current', 'DELETE the current version -> 409 version_current');
problem_ok($alice->delete("/api/files/$nid/versions/99"), 404, 'not_found', 'DELETE an unknown version number -> 404');
problem_ok($bob->delete("/api/files/$nid/versions/1"), 404, 'not_found', "DELETE a version of another user's file -> 404");
problem_ok($carol->delete("/api/files/$nid/versions/1"), 403, 'forbidden', 'a viewer: DELETE a version -> 403');
problem_ok($alice->delete('/api/files/' . sql_id($old->{id}) . '/versions/1'), 404, 'not_found',
	'DELETE an old version of a file in the trash -> 404');
is_deeply versions_of($alice, $nid), [ 3, 2, 1 ], 'notes.txt still has versions 3, 2, 1';
is $s->usage($alice)->{used}, expected($A)->{used}, '... and the usage is unchanged';
is_deeply delete_version_rows($nid), [], '... nothing logged';

my $v1hex = sha256_hex($NOTES[0]);
$r = $alice->delete("/api/files/$nid/versions/1");
is $r->{status}, 204, 'the owner: DELETE version 1 -> 204' or diag $r->describe;
is $r->{content}, '', '... no body';
@{ $nf->{versions} } = grep { $_->{n} != 1 } @{ $nf->{versions} };
is $s->usage($alice)->{used}, $used - 5000, 'used drops by its size (5000)';
is_deeply versions_of($alice, $nid), [ 3, 2 ], 'version 1 left GET /versions';
is_deeply delete_version_rows($nid), [ { user_id => $alice->{user}{id}, details => { version => 1, size => 5000 } } ],
	"alice's activity log: delete_version {version: 1, size: 5000}";
is $s->psql("SELECT ref_count FROM blobs WHERE sha256 = decode('$v1hex', 'hex')"), 0,
	'its blob is no longer referenced, but stays until gc';
problem_ok($alice->delete("/api/files/$nid/versions/1"), 404, 'not_found', 'DELETE it again -> 404');
$rep = report_ok($alice, 'alice after deleting version 1');
like $rep->{recommendations}[0]{message} // '', qr/^1 old version takes 6\.8 KB of your quota: /,
	'... "1 old version takes 6.8 KB" (singular)';

my $dave_used = $s->usage($dave)->{used};
$r = $dave->delete("/api/files/$nid/versions/2");
is $r->{status}, 204, 'an editor: DELETE version 2 -> 204' or diag $r->describe;
@{ $nf->{versions} } = grep { $_->{n} != 2 } @{ $nf->{versions} };
is $s->usage($alice)->{used}, $used - 12_000, "... charged back to the owner: alice's used drops by 7000";
is $s->usage($dave)->{used}, $dave_used, "... dave's used unchanged";
is_deeply versions_of($alice, $nid), [3], 'notes.txt has only its current version';
my $rows = delete_version_rows($nid);
my ($in_dave) = grep { $_->{user_id} eq $dave->{user}{id} } @$rows;
my ($in_alice) = grep { $_->{user_id} eq $alice->{user}{id} && $_->{details}{version} == 2 } @$rows;
is scalar @$rows, 3, 'activity: one more delete_version in each log';
is_deeply $in_dave && $in_dave->{details}, { version => 2, size => 7000 }, "... dave's: {version: 2, size: 7000}";
is_deeply $in_alice && $in_alice->{details}, { version => 2, size => 7000, actor_id => $dave->{user}{id} },
	"... alice's: {version: 2, size: 7000, actor_id: dave}";
$rep = report_ok($alice, 'alice after the editor deleted version 2: no older versions');
ok !grep({ ($_->{kind} // '') eq 'old_versions' } @{ $rep->{recommendations} || [] }), '... the old_versions recommendation is gone';

my $gc = $s->gc('--grace', 0);
is $gc->{exit}, 0, 'coffer-admin gc --grace 0' or diag "$gc->{out}$gc->{err}";
is $s->psql("SELECT count(*) FROM blobs WHERE sha256 = decode('$v1hex', 'hex')"), 0, "gc removed version 1's blob";
is $s->psql('SELECT count(*) FROM blobs WHERE sha256 = decode(\'' . sha256_hex($NOTES[2]) . '\', \'hex\')'), 1,
	'... and kept the current one';

# ------------------------------------------------------------ the trash, the duplicates

empty_trash($alice);
$rep = report_ok($alice, 'alice after emptying the trash');
is_deeply [ map { $_->{kind} } @{ $rep->{recommendations} || [] } ], ['duplicates'], '... only the duplicates are left to recommend';

trash_file($alice, $dupb->{id}, 'dup-b.bin');
trash_file($alice, $dupc->{id}, 'dup-c.bin');
trash_file($alice, $copy->{id}, 'the copy of dup-a.bin');
$rep = report_ok($alice, 'alice after deleting the duplicates');
is_deeply [ map { [ $_->{kind}, $_->{count}, $_->{bytes} ] } @{ $rep->{recommendations} || [] } ], [ [ 'trash', 3, 1_800_000 ] ],
	'... the duplicates recommendation is gone (they are in the trash now)';
like $rep->{recommendations}[0]{message} // '', qr/^The trash holds 1\.7 MB in 3 files: /, '... "The trash holds 1.7 MB in 3 files"';
is $rep->{storage}{deduplication_saved_bytes}, 0, '... deduplication saves nothing now';

empty_trash($alice);
$rep = report_ok($alice, 'alice at the end');
is_deeply $rep->{recommendations}, [], 'no recommendation left: []';
report_ok($dave, 'dave at the end: unchanged');

done_testing;
