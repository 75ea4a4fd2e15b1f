#!/usr/bin/perl
# 51-listing: GET /api/files (and the same listing in GET /api/folders/<id>)
# through the real stack. Proves: the root is listed by default; folders
# always come before files, in both orders; every sort key (name, size,
# created_at, updated_at, type) in both orders gives exactly the order
# computed here from the items and the rows' exact timestamps (folders by
# total_size for size and by name for type; ties by lower(name), then id);
# the type filter puts each file in its category (image, video, audio,
# document, archive, text, other) from the content libmagic saw (a real PNG,
# GIF, WAV, PDF, ZIP, text, JSON, random bytes), the mime filter is a prefix,
# the name filter is a case-insensitive substring in which % _ and \ are
# plain characters, filters combine, and folders are left out when type or
# mime is given; limit is 1..1000 (0, 1001, -1, abc ... -> 400); walking the
# pages of a 260-item folder with any limit gives exactly the full listing
# once, with no duplicates and no gaps, also while items are created and
# deleted between pages (keyset: nothing already passed comes back, nothing
# still ahead is skipped); a cursor used with another sort, order or filter
# and a garbage cursor are 400; bad sort/order/type are 400 naming the
# field; an unknown, another user's or trashed folder is 404; every item
# carries kind and the caller's permissions.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use Test::More;
use Time::HiRes qw(time);

use Coffer::Test qw(problem_ok upload_ok random_bytes sql_id);
use Coffer::Tree qw(mkdir_ok list_all tree_consistent);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $t0 = time;
my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $root = $alice->{user}{root_folder_id};
my $UNKNOWN = '6f1c9a3e-0d7b-4b8a-9e2f-5a4c3b2d1e0f';

# ------------------------------------------------------------ contents libmagic recognises

my $PNG = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
my $GIF = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00"
	. "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";
my $PDF = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
my $ZIP = "PK\x05\x06" . ("\0" x 18);    # an empty zip archive
my $WAV = do { my $d = "\0" x 8; 'RIFF' . pack('V', 36 + length $d) . 'WAVE' . 'fmt ' . pack('VvvVVvv', 16, 1, 1, 8000, 8000, 1, 8)
	. 'data' . pack('V', length $d) . $d };
sub json_doc { my ($n) = @_; return qq({"a": [1, 2, $n], "b": {"c": "d"}}\n) }

# The category of a MIME type, as plan4.md defines them.
sub category {
	my ($m) = @_;
	return 'image' if $m =~ m{^image/};
	return 'video' if $m =~ m{^video/};
	return 'audio' if $m =~ m{^audio/};
	return 'archive' if $m =~ m{^application/(?:zip|x-tar|gzip|x-7z-compressed|vnd\.rar|x-rar|x-bzip2|x-xz|zstd)$};
	return 'document' if $m =~ m{^application/(?:pdf|msword|vnd\.openxmlformats-officedocument\..+|vnd\.oasis\.opendocument\..+|vnd\.ms-excel|vnd\.ms-powerpoint|rtf|epub\+zip)$};
	return 'text' if $m =~ m{^text/} || $m =~ m{^application/(?:json|xml)$};
	return 'other';
}
my @CATEGORIES = qw(image video audio document archive text other);

# ------------------------------------------------------------ helpers

sub pct {
	my ($v) = @_;
	utf8::encode($v) if utf8::is_utf8($v);
	$v =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
	return $v;
}

sub q_string {
	my (%q) = @_;
	return join '&', map { "$_=" . pct($q{$_}) } sort keys %q;
}

sub ids { return [ map { $_->{id} } @{ $_[0] || [] } ] }
sub names { return [ map { $_->{name} } @{ $_[0] || [] } ] }

sub up_many {
	my ($c, $folder, @files) = @_;
	my @out;
	while (my @batch = splice @files, 0, 100) {
		my $r = $c->upload(files => \@batch, (defined $folder ? (fields => [ folder_id => $folder ]) : ()));
		push @out, @{ upload_ok($r, scalar @batch, [], 'upload ' . scalar(@batch) . ' files') };
	}
	return @out;
}

# Walk a listing page by page. Returns {items, sizes (items per page),
# error (the answer that was not 200)}.
sub walk {
	my ($c, $path, $limit, $between) = @_;
	my (@items, @sizes, $cursor);
	my $sep = $path =~ /\?/ ? '&' : '?';
	while (1) {
		my $r = $c->get($path . $sep . "limit=$limit" . (defined $cursor ? '&cursor=' . pct($cursor) : ''));
		return { items => \@items, sizes => \@sizes, error => $r } unless $r->{status} == 200 && ref $r->{json} eq 'HASH';
		my $page = ref $r->{json}{items} eq 'ARRAY' ? $r->{json}{items} : [];
		push @items, @$page;
		push @sizes, scalar @$page;
		$cursor = $r->{json}{next_cursor};
		last unless defined $cursor;
		return { items => \@items, sizes => \@sizes, error => $r } if @sizes > 2000;
		$between->(\@items) if $between;
	}
	return { items => \@items, sizes => \@sizes };
}

# ok() that a walk ran through: every page 200, each full but the last
# ($n items in all).
sub walk_ok {
	my ($w, $limit, $n, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return subtest $name => sub {
		ok !$w->{error}, 'every page answered 200' or diag $w->{error}->describe;
		my @s = @{ $w->{sizes} };
		my $pages = $n ? int(($n + $limit - 1) / $limit) : 1;
		ok @s == $pages || (@s == $pages + 1 && $n % $limit == 0 && $s[-1] == 0), "$pages page(s) of at most $limit"
			or diag "page sizes: @s";
		ok !(grep { $_ != $limit } @s[ 0 .. $pages - 2 ]), 'every page but the last is full' if $pages > 1;
		my %seen;
		my @dup = grep { $seen{ $_->{id} // '' }++ } @{ $w->{items} };
		is scalar @dup, 0, 'no item twice' or diag 'duplicates: ' . join ' ', map { $_->{name} } @dup;
	};
}

# Exact timestamps of the live items of a folder (the API shows seconds).
sub db_times {
	my ($folder) = @_;
	my $f = sql_id($folder);
	my $ts = q{to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')};
	my %t;
	for my $row ($s->psql_rows(sprintf(qq{
		SELECT id, $ts, $ts FROM folders WHERE parent_id = '$f' AND NOT is_deleted
		UNION ALL SELECT id, $ts, $ts FROM files WHERE folder_id = '$f' AND NOT is_deleted},
		qw(created_at updated_at created_at updated_at)))) {
		$t{ $row->[0] } = { created_at => $row->[1], updated_at => $row->[2] };
	}
	return \%t;
}

# The order plan4.md gives $items for sort $sort and order $order: folders
# first, then files; ties by lower(name), then id; desc reverses.
sub expected_order {
	my ($items, $sort, $order, $t) = @_;
	my $key = sub {
		my ($i) = @_;
		return $i->{kind} eq 'folder' ? $i->{total_size} : $i->{size} if $sort eq 'size';
		return $i->{kind} eq 'folder' ? '' : $i->{mime_type} if $sort eq 'type';
		return $t->{ $i->{id} }{$sort} // '' if $sort eq 'created_at' || $sort eq 'updated_at';
		return '';
	};
	my $cmp = sub {
		my ($x, $y) = @_;
		my ($kx, $ky) = ($key->($x), $key->($y));
		return ($sort eq 'size' ? $kx <=> $ky : $kx cmp $ky) || lc($x->{name}) cmp lc($y->{name}) || $x->{id} cmp $y->{id};
	};
	my @f = sort { $cmp->($a, $b) } grep { $_->{kind} eq 'folder' } @$items;
	my @x = sort { $cmp->($a, $b) } grep { $_->{kind} ne 'folder' } @$items;
	if ($order eq 'desc') { @f = reverse @f; @x = reverse @x }
	return [ @f, @x ];
}

sub folders_first_ok {
	my ($items, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $seen_file;
	my $bad = 0;
	for (@$items) {
		$seen_file = 1 if ($_->{kind} // '') eq 'file';
		$bad++ if $seen_file && ($_->{kind} // '') eq 'folder';
	}
	return ok !$bad, $name;
}

sub list_names {
	my ($c, %q) = @_;
	my $w = walk($c, '/api/files?' . q_string(%q), 1000);
	return $w->{error} ? [ 'status ' . $w->{error}{status} ] : names($w->{items});
}

sub bad_param_ok {
	my ($r, $field, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return subtest $name => sub {
		problem_ok($r, 400, 'invalid_request', '400 invalid_request');
		return unless defined $field;
		my $e = ref $r->{json} eq 'HASH' && ref $r->{json}{errors} eq 'ARRAY' ? $r->{json}{errors} : [];
		ok scalar(grep { ref $_ eq 'HASH' && ($_->{field} // '') eq $field } @$e), "errors names the field $field"
			or diag $r->describe;
	};
}

# ------------------------------------------------------------ the big folder: 40 folders, 220 files

my $big = mkdir_ok($alice, 'Big');
my $BIG = sql_id($big->{id});
my @sub_names = ((map { sprintf '%s %02d', (qw(alpha Beta gamma DELTA))[ $_ % 4 ], $_ } 0 .. 35), 'Same', 'same', 'zz last', '_under');
my @subs = map { mkdir_ok($alice, $_, $BIG) } @sub_names;
my @sub_sizes = (500, 300, 500, 10, 2000, 300, 1, 777);
for my $i (0 .. $#sub_sizes) {
	up_many($alice, $subs[ $i * 3 ]{id}, [ "inner-$i.bin", random_bytes($sub_sizes[$i]) ]);
}
up_many($alice, $subs[9]{id}, [ 'second.bin', random_bytes(23) ]);    # a folder with 2 files

my @specs;
for my $i (0 .. 214) {
	my $p = ('', 'X', 'x')[ $i % 3 ];
	my $k = $i % 6;
	push @specs,
		  $k == 0 ? [ "${p}text-$i.txt", "line $i\n" x (1 + $i % 7) ]
		: $k == 1 ? [ "${p}rand-$i.bin", random_bytes(20 + ($i % 11) * 10) ]
		: $k == 2 ? [ "${p}img-$i.png", $PNG ]
		: $k == 3 ? [ "${p}doc-$i.pdf", $PDF . '%' . ('x' x ($i % 5)) . "\n" ]
		: $k == 4 ? [ "${p}data-$i.json", json_doc($i) ]
		:           [ "${p}arc-$i.zip", $ZIP ];
}
push @specs, [ 'Case.txt', "same text\n" ], [ 'case.txt', "same text\n" ], [ 'CASE.txt', "same text\n" ],
	[ 'anim.gif', $GIF ], [ 'sound.wav', $WAV ];
my @big_files = up_many($alice, $BIG, @specs);
is scalar @big_files, 220, '220 files uploaded into Big';

# later changes: renames (updated_at) and new versions (size, updated_at)
for my $i (5, 17, 40, 101, 160) {
	my $f = $big_files[$i] or next;
	(my $n = $f->{name}) =~ s/^/renamed-/;
	my $r = $alice->put_json('/api/files/' . sql_id($f->{id}), { name => $n });
	is $r->{status}, 200, "rename $f->{name}" or diag $r->describe;
}
my @v2 = up_many($alice, $BIG, [ 'text-0.txt', "a longer second version\n" x 9 ], [ 'text-12.txt', "v2\n" ]);
is_deeply [ map { $_->{version} } @v2 ], [ 2, 2 ], 'text-0.txt and text-12.txt: new versions of the same files';

my $N_BIG = 40 + 220;
my $w = walk($alice, "/api/files?folder_id=$BIG", 1000);
walk_ok($w, 1000, $N_BIG, "Big in one page of 1000");
my @all = @{ $w->{items} };
is scalar @all, $N_BIG, "Big lists $N_BIG items (40 folders, 220 files)";
my %by_id = map { $_->{id} => $_ } @all;

# every item: kind, permissions, the fields of its kind
my @bad_items;
for my $i (@all) {
	my $p = ref $i->{permissions} eq 'HASH' ? $i->{permissions} : {};
	my @perm = ($i->{kind} // '') eq 'folder' ? qw(view download edit delete share upload) : qw(view download edit delete share);
	my @need = ($i->{kind} // '') eq 'folder' ? qw(id name parent_id path file_count total_size created_at updated_at)
		: qw(id name folder_id size mime_type sha256 version created_at updated_at);
	push @bad_items, $i->{name} // '?'
		unless ($i->{kind} // '') =~ /^(?:file|folder)$/
		&& !grep({ !(JSON::PP::is_bool($p->{$_}) && $p->{$_}) } @perm)
		&& !grep({ !exists $i->{$_} } @need);
}
is scalar @bad_items, 0, 'every item has kind, all permissions true for the owner, and the fields of its kind'
	or diag "bad: @bad_items[0 .. ($#bad_items < 9 ? $#bad_items : 9)]";
my ($sample_file) = grep { $_->{kind} eq 'file' && $_->{name} eq 'anim.gif' } @all;
my $g = $alice->get('/api/files/' . sql_id($sample_file->{id}));
is_deeply { %$sample_file, metadata => $g->{json}{metadata} }, $g->{json},
	'a file item is the object GET /api/files/:id answers (permissions included), but for the metadata of details';
ok !exists $sample_file->{metadata}, '... which listings leave out';
my ($sample_folder) = grep { $_->{kind} eq 'folder' && $_->{name} eq 'alpha 00' } @all;
$g = $alice->get('/api/folders/' . sql_id($sample_folder->{id}));
my %gf = %{ $g->{json} || {} };
delete @gf{qw(breadcrumb items next_cursor)};
is_deeply $sample_folder, \%gf, 'a folder item is the folder object of GET /api/folders/:id';
is_deeply [ @$sample_folder{qw(file_count total_size path parent_id)} ], [ 1, 500, '/Big/alpha 00', $big->{id} ],
	'... with its totals and path';
is_deeply [ @{ $by_id{ $subs[9]{id} } }{qw(file_count total_size)} ], [ 2, 10 + 23 ], 'a folder holding two files: 2 / 33';

my %mime = map { $_->{name} => $_->{mime_type} } grep { $_->{kind} eq 'file' } @all;
is_deeply [ @mime{qw(text-6.txt Xrand-1.bin ximg-2.png doc-3.pdf Xdata-4.json xarc-11.zip anim.gif)} ],
	[qw(text/plain application/octet-stream image/png application/pdf application/json application/zip image/gif)],
	'libmagic typed the contents as intended';
like $mime{'sound.wav'} // '', qr{^audio/}, '... sound.wav as audio';

# ------------------------------------------------------------ sort and order

my $times = db_times($BIG);
is scalar keys %$times, $N_BIG, 'exact timestamps of every item read from the rows';
for my $sort (qw(name size created_at updated_at type)) {
	for my $order (qw(asc desc)) {
		my $want = expected_order(\@all, $sort, $order, $times);
		my $one = $alice->get("/api/files?folder_id=$BIG&sort=$sort&order=$order&limit=1000");
		is_deeply ids($one->{json}{items}), ids($want), "sort=$sort&order=$order: one page of 1000 in exactly the order computed from the items"
			or diag $one->{status};
		my $w = walk($alice, "/api/files?folder_id=$BIG&sort=$sort&order=$order", 7);
		walk_ok($w, 7, $N_BIG, "sort=$sort&order=$order in pages of 7");
		folders_first_ok($w->{items}, "sort=$sort&order=$order: folders first");
		is_deeply ids($w->{items}), ids($want), "sort=$sort&order=$order: exactly the order computed from the items"
			or diag 'got:  ' . join(', ', map { $_->{name} // '-' } grep { defined } @{ $w->{items} }[ 0 .. 11 ]) . "\nwant: "
				. join(', ', map { $_->{name} // '-' } grep { defined } @{$want}[ 0 .. 11 ]);
	}
}
my $w_default = walk($alice, "/api/files?folder_id=$BIG", 100);
is_deeply ids($w_default->{items}), ids(expected_order(\@all, 'name', 'asc', $times)), 'the default is sort=name&order=asc';
$w = walk($alice, "/api/files?folder_id=$BIG&order=desc", 100);
is_deeply ids($w->{items}), ids(expected_order(\@all, 'name', 'desc', $times)), 'order=desc alone sorts by name';
is_deeply [ map { $_->{name} } grep { lc $_->{name} eq 'case.txt' } @{ $w_default->{items} } ],
	[ map { $_->{name} } sort { $a->{id} cmp $b->{id} } grep { lc $_->{name} eq 'case.txt' } @all ],
	'Case.txt, case.txt, CASE.txt (same size, type, time) follow their ids';

# ------------------------------------------------------------ paging

for my $limit (1, 13, 100, 259, 260, 999, 1000) {
	my $w = walk($alice, "/api/files?folder_id=$BIG&sort=size&order=desc", $limit);
	walk_ok($w, $limit, $N_BIG, "sort=size&order=desc, limit=$limit");
	is_deeply ids($w->{items}), ids(expected_order(\@all, 'size', 'desc', $times)), "limit=$limit: the full listing, in order";
}
my $first = $alice->get("/api/files?folder_id=$BIG&limit=1");
is scalar @{ $first->{json}{items} || [] }, 1, 'limit=1: one item' or diag $first->describe;
my $r = $alice->get("/api/files?folder_id=$BIG");
is scalar @{ $r->{json}{items} || [] }, 100, 'no limit: 100 items (the default)';
ok defined $r->{json}{next_cursor}, '... and a next_cursor';
$r = $alice->get("/api/files?folder_id=$BIG&limit=1000");
is $r->{json}{next_cursor}, undef, 'limit=1000 holds all 260: next_cursor null';
for my $bad ('0', '1001', 'abc', '-1', '1.5', '', '99999999999999999999', '10abc') {
	bad_param_ok($alice->get("/api/files?folder_id=$BIG&limit=" . pct($bad)), undef, "limit='$bad' -> 400");
}

# GET /api/folders/<id> lists the same way
$r = $alice->get("/api/folders/$BIG?sort=size&order=desc&limit=50&folder_id=$root");
is $r->{status}, 200, 'GET /api/folders/<Big>?sort=size&order=desc&limit=50 -> 200' or diag $r->describe;
is_deeply ids($r->{json}{items}), [ @{ ids(expected_order(\@all, 'size', 'desc', $times)) }[ 0 .. 49 ] ],
	'... its items: the first 50 of that listing (folder_id in the query ignored)';

# ------------------------------------------------------------ cursors

$r = $alice->get("/api/files?folder_id=$BIG&sort=name&order=asc&limit=5");
my $cursor = $r->{json}{next_cursor} // '';
ok length $cursor, 'a first page of 5 has a next_cursor';
$r = $alice->get("/api/files?folder_id=$BIG&sort=name&order=asc&limit=5&cursor=" . pct($cursor));
is_deeply ids($r->{json}{items}), [ @{ ids(expected_order(\@all, 'name', 'asc', $times)) }[ 5 .. 9 ] ],
	'the cursor with the same parameters gives items 6..10';
$r = $alice->get("/api/files?folder_id=$BIG&limit=20&cursor=" . pct($cursor));
is $r->{status}, 200, '... also with another limit (and sort/order left at their defaults)' or diag $r->describe;
for my $other ('sort=size', 'sort=created_at', 'sort=type', 'order=desc', 'sort=name&order=desc', 'name=a', 'type=text', 'mime=image/') {
	bad_param_ok($alice->get("/api/files?folder_id=$BIG&$other&limit=5&cursor=" . pct($cursor)), undef,
		"a cursor of sort=name&order=asc used with $other -> 400");
}
$r = $alice->get("/api/files?folder_id=$BIG&sort=size&order=desc&limit=5");
my $c_size = $r->{json}{next_cursor} // '';
$r = $alice->get("/api/files?folder_id=$BIG&sort=size&order=desc&limit=5&cursor=" . pct($c_size));
is_deeply ids($r->{json}{items}), [ @{ ids(expected_order(\@all, 'size', 'desc', $times)) }[ 5 .. 9 ] ],
	'a cursor of sort=size&order=desc with the same parameters gives items 6..10';
for my $other ('sort=name&order=desc', 'sort=created_at&order=desc', 'sort=updated_at&order=desc', 'sort=type&order=desc',
	'sort=size&order=asc', 'sort=size', '', 'sort=size&order=desc&name=a', 'sort=size&order=desc&type=text',
	'sort=size&order=desc&mime=image/') {
	bad_param_ok($alice->get("/api/files?folder_id=$BIG&$other&limit=5&cursor=" . pct($c_size)), undef,
		"a cursor of sort=size&order=desc used with '$other' -> 400");
}
$r = $alice->get("/api/files?folder_id=$BIG&sort=size&order=desc&type=text&limit=3");
my $c2 = $r->{json}{next_cursor} // '';
$r = $alice->get("/api/files?folder_id=$BIG&sort=size&order=desc&type=text&limit=3&cursor=" . pct($c2));
is $r->{status}, 200, 'a cursor of a type=text listing with the same parameters -> 200' or diag $r->describe;
bad_param_ok($alice->get("/api/files?folder_id=$BIG&sort=size&order=desc&limit=3&cursor=" . pct($c2)), undef,
	'a cursor of a type=text listing used without the filter -> 400');
bad_param_ok($alice->get("/api/files?folder_id=$BIG&sort=size&order=desc&type=image&limit=3&cursor=" . pct($c2)), undef,
	'... or with type=image -> 400');
bad_param_ok($alice->get("/api/files?folder_id=$BIG&sort=size&order=asc&type=text&limit=3&cursor=" . pct($c2)), undef,
	'... or with order=asc -> 400');
for my $garbage (
	[ 'garbage', 'garbage' ],
	[ 'one character', 'A' ],
	[ 'base64 of "v1|x|y"', encode_base64url('v1|x|y') ],
	[ 'base64 of "v9|a|b|c"', encode_base64url('v9|a|b|c') ],
	[ 'base64 of an SQL fragment', encode_base64url("v1|name|x' OR '1'='1|00000000-0000-0000-0000-000000000000") ],
	[ 'the first half of a cursor', substr($cursor, 0, int(length($cursor) / 2)) ],
	[ 'a cursor with junk appended', "$cursor!!" ],
	[ '2000 characters', 'A' x 2000 ],
	[ 'a NUL byte', "\0" ],
	[ 'invalid UTF-8', "\xff\xfe" ],
) {
	my ($what, $c) = @$garbage;
	bad_param_ok($alice->get("/api/files?folder_id=$BIG&limit=5&cursor=" . pct($c)), undef, "cursor: $what -> 400");
	bad_param_ok($alice->get("/api/files?folder_id=$BIG&sort=size&limit=5&cursor=" . pct($c)), undef, "... also with sort=size");
}

# ------------------------------------------------------------ bad parameters, folders that are not there

for my $bad (
	[ sort => 'bogus' ], [ sort => 'id' ], [ sort => 'name;drop' ], [ sort => 'mime_type' ],
	[ order => 'up' ], [ order => 'ascending' ], [ order => '1' ],
	[ type => 'pictures' ], [ type => 'images' ], [ type => 'image/png' ], [ type => 'folder' ],
) {
	my ($p, $v) = @$bad;
	bad_param_ok($alice->get("/api/files?folder_id=$BIG&$p=" . pct($v)), $p, "$p='$v' -> 400 naming $p");
}
bad_param_ok($alice->get('/api/files?folder_id=not-a-uuid'), 'folder_id', 'folder_id=not-a-uuid -> 400');
my $bob_folder = mkdir_ok($bob, 'Bob folder');
my $trashed = mkdir_ok($alice, 'Trashed');
is $alice->delete('/api/folders/' . sql_id($trashed->{id}))->{status}, 204, 'delete folder Trashed';
for my $f ([ 'an unknown folder', $UNKNOWN ], [ "another user's root", $bob->{user}{root_folder_id} ],
	[ "another user's folder", $bob_folder->{id} ], [ 'a trashed folder', $trashed->{id} ]) {
	my ($what, $id) = @$f;
	problem_ok($alice->get("/api/files?folder_id=$id"), 404, 'not_found', "folder_id of $what -> 404");
	problem_ok($alice->get("/api/files?folder_id=$id&sort=size&type=text&limit=5"), 404, 'not_found', '... also with other parameters');
}
problem_ok($s->client->get("/api/files?folder_id=$BIG"), 401, 'unauthenticated', 'no credentials -> 401');

# ------------------------------------------------------------ type, mime, name filters (explicit)

my $types = mkdir_ok($alice, 'Types');
my $T = sql_id($types->{id});
mkdir_ok($alice, 'notes folder', $T);
mkdir_ok($alice, 'images', $T);
my @tf = up_many($alice, $T, [ 'pixel.png', $PNG ], [ 'anim.gif', $GIF ], [ 'notes.txt', "some notes\n" ],
	[ 'Notes-Upper.txt', "more notes, longer than the others\n" ], [ 'data.json', json_doc(7) ], [ 'doc.pdf', $PDF ],
	[ 'empty.zip', $ZIP ], [ 'sound.wav', $WAV ], [ 'blob.bin', random_bytes(64) ]);
my %tm = map { $_->{name} => $_->{mime_type} } @tf;
is_deeply [ @tm{qw(pixel.png anim.gif notes.txt Notes-Upper.txt data.json doc.pdf empty.zip blob.bin)} ],
	[qw(image/png image/gif text/plain text/plain application/json application/pdf application/zip application/octet-stream)],
	'the Types files have the intended MIME types';
like $tm{'sound.wav'} // '', qr{^audio/}, '... sound.wav audio/*';

my %want_type = (
	image => [qw(anim.gif pixel.png)],
	video => [],
	audio => ['sound.wav'],
	document => ['doc.pdf'],
	archive => ['empty.zip'],
	text => [qw(data.json Notes-Upper.txt notes.txt)],
	other => ['blob.bin'],
);
for my $type (@CATEGORIES) {
	is_deeply list_names($alice, folder_id => $T, type => $type), $want_type{$type}, "type=$type: @{ $want_type{$type} }";
}
for my $m (
	[ 'image/', [qw(anim.gif pixel.png)] ],
	[ 'image/png', ['pixel.png'] ],
	[ 'image/p', ['pixel.png'] ],
	[ 'text/', [qw(Notes-Upper.txt notes.txt)] ],
	[ 'text/plain', [qw(Notes-Upper.txt notes.txt)] ],
	[ 'application/', [qw(blob.bin data.json doc.pdf empty.zip)] ],
	[ 'application/json', ['data.json'] ],
	[ 'audio/', ['sound.wav'] ],
	[ 'video/', [] ],
	[ 'plain', [] ],
) {
	my ($prefix, $want) = @$m;
	is_deeply list_names($alice, folder_id => $T, mime => $prefix), $want, "mime=$prefix (a prefix): @$want";
}
for my $n (
	[ 'notes', [ 'notes folder', 'Notes-Upper.txt', 'notes.txt' ] ],
	[ 'NOTES', [ 'notes folder', 'Notes-Upper.txt', 'notes.txt' ] ],
	[ 'nOtEs.TxT', ['notes.txt'] ],
	[ '.TXT', [ 'Notes-Upper.txt', 'notes.txt' ] ],
	[ 'IMAGES', ['images'] ],
	[ 'i', [ 'images', 'anim.gif', 'blob.bin', 'empty.zip', 'pixel.png' ] ],
	[ 'zzz', [] ],
) {
	my ($sub, $want) = @$n;
	is_deeply list_names($alice, folder_id => $T, name => $sub), $want, "name=$sub (case-insensitive substring, folders too): @$want";
}
for my $combo (
	[ { type => 'text', name => 'notes' }, [ 'Notes-Upper.txt', 'notes.txt' ], 'type=text&name=notes: no folder' ],
	[ { type => 'text', name => 'upper' }, ['Notes-Upper.txt'], 'type=text&name=upper' ],
	[ { mime => 'image/', name => 'PIX' }, ['pixel.png'], 'mime=image/&name=PIX' ],
	[ { type => 'image', mime => 'image/gif' }, ['anim.gif'], 'type=image&mime=image/gif' ],
	[ { type => 'text', mime => 'image/' }, [], 'type=text&mime=image/: nothing' ],
	[ { type => 'image', name => 'images' }, [], 'type=image&name=images: the folder is left out' ],
	[ { type => 'text', sort => 'size', order => 'desc' }, [qw(Notes-Upper.txt data.json notes.txt)], 'type=text&sort=size&order=desc' ],
	[ { type => 'other', name => 'blob', sort => 'type' }, ['blob.bin'], 'type=other&name=blob&sort=type' ],
) {
	my ($q, $want, $what) = @$combo;
	is_deeply list_names($alice, folder_id => $T, %$q), $want, "$what: @$want";
}

# the same filters over Big, against what the items say
for my $type (@CATEGORIES) {
	my $want = [ grep { $_->{kind} eq 'file' && category($_->{mime_type}) eq $type } @{ expected_order(\@all, 'size', 'asc', $times) } ];
	my $w = walk($alice, "/api/files?folder_id=$BIG&type=$type&sort=size", 9);
	walk_ok($w, 9, scalar @$want, "Big, type=$type, in pages of 9");
	is_deeply ids($w->{items}), ids($want), "Big, type=$type: the " . scalar(@$want) . ' files of that category, by size';
}
for my $m ('image/', 'application/', 'text/plain', 'application/pdf') {
	my $want = [ grep { $_->{kind} eq 'file' && index($_->{mime_type}, $m) == 0 } @{ expected_order(\@all, 'type', 'desc', $times) } ];
	my $w = walk($alice, "/api/files?folder_id=$BIG&mime=" . pct($m) . '&sort=type&order=desc', 11);
	walk_ok($w, 11, scalar @$want, "Big, mime=$m, in pages of 11");
	is_deeply ids($w->{items}), ids($want), "Big, mime=$m: " . scalar(@$want) . ' files';
}
for my $n ('case', 'X', 'ALPHA', '-1', ' 0') {
	my $want = [ grep { index(lc $_->{name}, lc $n) >= 0 } @{ expected_order(\@all, 'updated_at', 'asc', $times) } ];
	my $w = walk($alice, "/api/files?folder_id=$BIG&name=" . pct($n) . '&sort=updated_at', 10);
	walk_ok($w, 10, scalar @$want, "Big, name='$n', in pages of 10");
	is_deeply ids($w->{items}), ids($want), "Big, name='$n': " . scalar(@$want) . ' items';
}

# % _ and \ are plain characters in the name filter
my $sp = mkdir_ok($alice, 'Specials');
my $SP = sql_id($sp->{id});
mkdir_ok($alice, $_, $SP) for '100%_done', '100xxdone', 'a_b', 'aXb', '50%', '500', 'back\\slash', 'backslash', 'AB_CD';
my @spf = up_many($alice, $SP, [ 'plain1.txt', "one\n" ], [ 'plain2.txt', "two\n" ]);
for ([ $spf[0], '10%_off.txt' ], [ $spf[1], '10x_off.txt' ]) {
	my ($f, $n) = @$_;
	my $r = $alice->put_json('/api/files/' . sql_id($f->{id}), { name => $n });
	is $r->{status}, 200, "rename to $n" or diag $r->describe;
}
for my $n (
	[ '%', [ '100%_done', '50%', '10%_off.txt' ] ],
	[ '_', [ '100%_done', 'a_b', 'AB_CD', '10%_off.txt', '10x_off.txt' ] ],
	[ '%_', [ '100%_done', '10%_off.txt' ] ],
	[ '0%_d', ['100%_done'] ],
	[ 'a_b', ['a_b'] ],
	[ 'B_C', ['AB_CD'] ],
	[ '\\', ['back\\slash'] ],
	[ '\\%', [] ],
	[ 'SLASH', [ 'back\\slash', 'backslash' ] ],
	[ '0x', [ '100xxdone', '10x_off.txt' ] ],
) {
	my ($sub, $want) = @$n;
	is_deeply list_names($alice, folder_id => $SP, name => $sub), $want, "name=$sub taken literally: @$want";
}

# ------------------------------------------------------------ the root by default

my $top = (up_many($alice, undef, [ 'top.txt', "top\n" ]))[0];
my $wr = walk($alice, '/api/files', 100);
my $wr2 = walk($alice, "/api/files?folder_id=$root", 100);
ok !$wr->{error}, 'GET /api/files without folder_id -> 200';
is_deeply ids($wr->{items}), ids($wr2->{items}), '... the same listing as folder_id=<root>';
is_deeply names($wr->{items}), [ 'Big', 'Specials', 'Types', 'top.txt' ], '... the root: its folders by name, then its file';
is_deeply [ map { $_->{kind} } @{ $wr->{items} } ], [qw(folder folder folder file)], '... with their kinds';

# ------------------------------------------------------------ paging while the folder changes

my $churn = mkdir_ok($alice, 'Churn');
my $CH = sql_id($churn->{id});
mkdir_ok($alice, "cf$_", $CH) for 1 .. 3;
up_many($alice, $CH, map { [ sprintf('c%02d.txt', $_), "churn $_\n" x ($_ + 1) ] } 0 .. 23);
my $start = walk($alice, "/api/files?folder_id=$CH", 1000)->{items};
is scalar @$start, 27, 'Churn: 3 folders and 24 files';
my @order = @{ ids($start) };
my %name_of = map { $_->{id} => $_->{name} } @$start;
my (%deleted_unseen, %deleted_seen, @inserted_after, @inserted_before, %ever);
my $k = 0;
my $between = sub {
	my ($seen) = @_;
	my %seen = map { $_->{id} => 1 } @$seen;
	my $last = $seen->[-1]{name} // '';
	$k++;
	# created behind the position: a folder (folders come first) and a file named before it
	push @inserted_before, mkdir_ok($alice, sprintf('aa-new-%02d', $k), $CH)->{id};
	push @inserted_before, (up_many($alice, $CH, [ sprintf('b-new-%02d.txt', $k), "b $k\n" ]))[0]{id};
	# created ahead of it (only while the walk is still among the c* files)
	push @inserted_after, (up_many($alice, $CH, [ sprintf('z-new-%02d.txt', $k), "z $k\n" ]))[0]{id} if $last lt 'z';
	# the next item not yet seen goes away
	my ($next) = grep { !$seen{$_} && !$deleted_unseen{$_} && $name_of{$_} =~ /^c\d/ } @order;
	if ($next && $k % 2) {
		is $alice->delete("/api/files/$next")->{status}, 204, "between pages: delete $name_of{$next} (not seen yet)";
		$deleted_unseen{$next} = 1;
	}
	# a file already seen goes away: every third time the one the cursor points at
	my ($done) = $k % 3 == 0 ? ($seen->[-1]{id}) : grep { $seen{$_} && !$deleted_seen{$_} && $name_of{$_} =~ /^c\d/ } @order;
	if ($done && ($name_of{$done} // '') =~ /^c\d/) {
		is $alice->delete("/api/files/$done")->{status}, 204, "between pages: delete $name_of{$done} (already seen)";
		$deleted_seen{$done} = 1;
	}
};
my $cw = walk($alice, "/api/files?folder_id=$CH&sort=name", 4, $between);
ok !$cw->{error}, 'a walk of Churn in pages of 4 with changes between the pages ran through' or diag $cw->{error}->describe;
cmp_ok $k, '>=', 6, "... $k times something changed between pages";
my @got = @{ ids($cw->{items}) };
my %count;
$count{$_}++ for @got;
is scalar(grep { $count{$_} > 1 } keys %count), 0, 'no item came twice';
my @want_seen = ((grep { !$deleted_unseen{$_} } @order), @inserted_after);
is_deeply [ sort grep { $count{$_} } @want_seen ], [ sort @want_seen ],
	'every item of the start not deleted before it was reached came, and every item created ahead of the position';
is scalar(grep { $count{$_} } keys %deleted_unseen), 0, 'no item deleted before it was reached came';
is scalar(grep { $count{$_} } @inserted_before), 0, 'no item created behind the position came';
is scalar @got, scalar @want_seen, 'nothing else came';
my @keys = map { [ $_->{kind} eq 'folder' ? 0 : 1, lc $_->{name}, $_->{id} ] } @{ $cw->{items} };
my $monotone = !grep { my ($x, $y) = @keys[ $_ - 1, $_ ]; ($x->[0] <=> $y->[0] || $x->[1] cmp $y->[1] || $x->[2] cmp $y->[2]) >= 0 } 1 .. $#keys;
ok $monotone, 'the walk went strictly forward in (folders first, lower(name), id) order';

# newest first: what is created during the walk lies behind the position
my $start2 = walk($alice, "/api/files?folder_id=$CH&sort=created_at&order=desc", 1000)->{items};
my %was = map { $_->{id} => 1 } @$start2;
my (@new2, %gone2);
my $j = 0;
my $cw2 = walk($alice, "/api/files?folder_id=$CH&sort=created_at&order=desc", 5, sub {
	my ($seen) = @_;
	my %seen = map { $_->{id} => 1 } @$seen;
	$j++;
	# a new folder is the newest folder: behind the position once the walk is
	# past the first page; a new file only once the walk is among the files
	push @new2, mkdir_ok($alice, sprintf('nf2-%02d', $j), $CH)->{id};
	push @new2, (up_many($alice, $CH, [ sprintf('n2-%02d.txt', $j), "n $j\n" ]))[0]{id}
		if ($seen->[-1]{kind} // '') eq 'file';
	my ($victim) = grep { !$seen{ $_->{id} } && !$gone2{ $_->{id} } && $_->{kind} eq 'file' } @$start2;
	if ($victim && $j % 2) {
		is $alice->delete('/api/files/' . sql_id($victim->{id}))->{status}, 204, "between pages: delete $victim->{name}";
		$gone2{ $victim->{id} } = 1;
	}
});
ok !$cw2->{error}, 'a walk newest first in pages of 5 with changes between the pages ran through' or diag $cw2->{error}->describe;
my %count2;
$count2{$_}++ for @{ ids($cw2->{items}) };
is scalar(grep { $count2{$_} > 1 } keys %count2), 0, 'no item came twice';
is scalar(grep { $count2{$_} } @new2), 0, 'nothing created during the walk came (it is newer than the position)';
is_deeply [ sort keys %count2 ], [ sort grep { !$gone2{$_} } keys %was ], 'exactly the items of the start that were not deleted on the way';

tree_consistent($s, 'after the listing tests', $alice);
diag sprintf 'ran in %.1f s', time - $t0;

done_testing;
