#!/usr/bin/perl
# 80-search: GET /api/search through the real stack (plan7.md, issue 7
# part 1). Each part has its own fresh users and a corpus made for it, and
# every assertion names the exact hits expected (by id, in order where the
# order is the point). Proves:
# - every operator and field of q: a word finds a prefix of a word of the
#   name (names split at punctuation), of a tag, of the description, of the
#   text content of a text-like file (first 1 MiB only, invalid UTF-8 read
#   as blanks), and a substring of the name; "phrases" in order (content,
#   description, name substring); -excluded words, phrases and fields; OR
#   (binding tighter than AND); name: (substring, case-insensitive), tag:
#   (exact tag, case-insensitive), type: (every category and folder), ext:,
#   size: with > < >= <= = (files only), before:/after: (< and >= on
#   updated_at, or created_at with date_field=created), in:<folder>;
# - the URL filters: file_type, date_from (inclusive) / date_to (exclusive)
#   with date_field created|updated (dates and RFC 3339 with offsets),
#   folder_id (the subtree only, the folder itself excluded; an unknown,
#   another user's, a trashed folder or a file id -> 404), size_min /
#   size_max (bytes or 3KB; folders never match), limit/offset paging (every
#   hit exactly once, next_offset null at the end, defaults 20/0);
# - ranking: exact name, then names starting with q, then full-text rank
#   (name > tag > description > content), then recency, then id;
# - typo tolerance ("reprot" finds report.pdf, only for words of 4+
#   characters) and substrings ("port" finds report.pdf);
# - matched fields and snippets (<mark> around the words, content
#   HTML-escaped: "<b>secret</b> & stuff" -> &lt;b&gt;... &amp;), null
#   snippets for other matches;
# - isolation: other users' items never appear, trashed items (and what is
#   inside a trashed folder) never appear, items granted to the caller (a
#   folder's subtree, a file) appear with the caller's permissions and leave
#   on revoke / leave and while their owner is deactivated;
# - hostile q (SQL and LIKE metacharacters, unbalanced quotes, 10 KB, 1001
#   bytes, invalid UTF-8, NUL, control characters, empty, grammar errors) is
#   always 200 or 400, never 500, and each 400 is invalid_request naming q;
# - 401 without login; 400 invalid_request naming the parameter for every
#   bad limit, offset, file_type, date_from/date_to, date_field, folder_id,
#   size_min/size_max.
use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use Test::More;
use Time::HiRes qw(time);

use Coffer::Test qw(pct_encode problem_ok upload_ok random_bytes sql_id);
use Coffer::Tree qw(mkdir_ok uuid);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $t0 = time;
my $s = Coffer::Test->stack;
my $anon = $s->client;
my @PERMS = qw(view download edit delete share upload);

# ------------------------------------------------------------ contents libmagic recognises

my $PNG = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
my $ZIP = "PK\x05\x06" . ("\0" x 18);    # an empty zip archive
my $WAV = do { my $d = "\0" x 8; 'RIFF' . pack('V', 36 + length $d) . 'WAVE' . 'fmt ' . pack('VvvVVvv', 16, 1, 1, 8000, 8000, 1, 8)
	. 'data' . pack('V', length $d) . $d };

# A PDF of exactly $n bytes.
sub pdf {
	my ($n) = @_;
	my ($h, $t) = ("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "trailer\n<<>>\n%%EOF\n");
	return $h . '%' . ('x' x ($n - length($h) - length($t) - 2)) . "\n" . $t;
}

# ------------------------------------------------------------ helpers

sub b { $_[0] ? 1 : 0 }
sub perms01 { my ($p) = @_; ref $p eq 'HASH' ? { map { $_ => b($p->{$_}) } keys %$p } : $p }
sub perms_of { my %on = map { $_ => 1 } @_; return { map { $_ => $on{$_} ? 1 : 0 } @PERMS } }
sub J { my ($r) = @_; ref $r->{json} eq 'HASH' ? $r->{json} : {} }

# Labels of the items made here, by id: what the assertions compare, so a
# failure reads "zebra-notes.txt" rather than a UUID; an item from anywhere
# else shows as "?name".
my %LABEL;
sub reg { my ($label, $o) = @_; $LABEL{ $o->{id} // '' } = $label if ref $o eq 'HASH' && defined $o->{id}; return $o }
sub label_of {
	my ($hit) = @_;
	my $it = ref $hit eq 'HASH' && ref $hit->{item} eq 'HASH' ? $hit->{item} : {};
	return $LABEL{ $it->{id} // '' } // ('?' . ($it->{name} // 'undef') . ' (' . ($it->{id} // 'no id') . ')');
}

# GET /api/search as $c. $p: the q text alone, or [name => value, ...]
# (encoded here), or \"raw query string" (sent as it is).
sub search {
	my ($c, $p) = @_;
	my $qs = ref $p eq 'SCALAR' ? $$p
		: ref $p eq 'ARRAY' ? join('&', map { pct_encode($p->[ 2 * $_ ]) . '=' . pct_encode($p->[ 2 * $_ + 1 ]) } 0 .. $#$p / 2)
		: 'q=' . pct_encode($p);
	return $c->get("/api/search?$qs");
}

sub show { my ($p) = @_; ref $p eq 'SCALAR' ? $$p : ref $p eq 'ARRAY' ? join('&', map { defined $_ ? $_ : '' } @$p) : "q=$p" }

# What is wrong with a hit, or '': kind (file|folder, the item's), matched
# (an array of distinct fields; at least one when q has only plain words
# and phrases), snippet (a string with <mark> when the content matched,
# else null).
my %FIELD = map { $_ => 1 } qw(name tags description content);
sub hit_problem {
	my ($h, $words_only) = @_;
	return 'not an object' unless ref $h eq 'HASH' && ref $h->{item} eq 'HASH';
	return 'kind' unless ($h->{kind} // '') =~ /^(?:file|folder)$/ && $h->{kind} eq ($h->{item}{kind} // '');
	my $m = $h->{matched};
	return 'matched not an array' unless ref $m eq 'ARRAY';
	my %seen;
	return 'matched: ' . join(',', map { $_ // 'null' } @$m) if grep { !defined $_ || !$FIELD{$_} || $seen{$_}++ } @$m;
	return 'matched empty' if $words_only && !@$m;
	return 'snippet should be null' if !$seen{content} && defined $h->{snippet};
	return 'snippet without <mark>' if $seen{content} && (ref \$h->{snippet} ne 'SCALAR' || ($h->{snippet} // '') !~ m{<mark>.+?</mark>});
	return '';
}

# ok() that the search $p by $c answers 200 with exactly the items
# labelled @$want (in that order with ordered => 1, else as a set),
# next_offset null, and well-formed hits. Returns the answer's JSON.
sub found_ok {
	my ($c, $p, $want, $name, %o) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $r = search($c, $p);
	my $j = J($r);
	my $items = ref $j->{items} eq 'ARRAY' ? $j->{items} : [];
	my @got = map { label_of($_) } @$items;
	my @exp = @$want;
	unless ($o{ordered}) { @got = sort @got; @exp = sort @exp }
	my %pp = ref $p eq 'ARRAY' ? @$p : ref $p ? () : (q => $p);
	my $words_only = defined $pp{q} && $pp{q} !~ /:/ && $pp{q} !~ /(?:^|\s)-\S/;
	my @bad = grep { $_->[1] ne '' } map { [ label_of($_), hit_problem($_, $words_only) ] } @$items;
	my $ok = $r->{status} == 200 && ref $j->{items} eq 'ARRAY' && exists $j->{next_offset} && !defined $j->{next_offset}
		&& Test::More::eq_array(\@got, \@exp) && !@bad;
	ok $ok, ($name // show($p)) . ' -> [' . join(', ', @exp) . ']' or diag 'search ' . show($p) . ': got ['
		. join(', ', @got) . '] ' . ($r->{status} == 200 ? 'next_offset ' . ($j->{next_offset} // 'null') : $r->describe)
		. join('', map { "\n  hit $_->[0]: $_->[1]" } @bad);
	return $j;
}

# The hit of item $o in a search answer (or {}).
sub hit_of {
	my ($j, $o) = @_;
	my ($h) = grep { ref $_->{item} eq 'HASH' && ($_->{item}{id} // '') eq ($o->{id} // '-') } @{ $j->{items} || [] };
	return $h || {};
}

# ok() that $r is 400 invalid_request whose errors name $field.
sub bad_param_ok {
	my ($r, $field, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $errs = ref J($r)->{errors} eq 'ARRAY' ? J($r)->{errors} : [];
	ok $r->is_problem(400, 'invalid_request') && grep({ ref $_ eq 'HASH' && ($_->{field} // '') eq $field } @$errs),
		"$name -> 400 invalid_request naming $field" or diag 'got: ' . $r->describe;
}

# One file uploaded by $c into $folder with %f form fields (description,
# tags); registered under $label (default its name). Returns its object.
sub up {
	my ($c, $name, $data, $folder, %f) = @_;
	my $label = delete $f{label};
	my $r = $c->upload(files => [ [ $name, $data, 'application/octet-stream' ] ],
		fields => [ (defined $folder ? (folder_id => $folder) : ()), %f ]);
	my $files = upload_ok($r, 1, [], "upload $name");
	return reg($label // $name, $files->[0] || { id => uuid(), name => $name });
}

sub dir {
	my ($c, $name, $parent, %o) = @_;
	return reg($name, mkdir_ok($c, $name, $parent, %o));
}

sub set_times {
	my ($kind, $o, $created, $updated) = @_;
	$s->psql("UPDATE ${kind}s SET " . join(', ', (defined $created ? "created_at = '$created'" : ()),
		(defined $updated ? "updated_at = '$updated'" : ())) . " WHERE id = '" . sql_id($o->{id}) . "'");
}

# ============================================================ alice: every operator and field

my $alice = $s->register_user;
my $bob = $s->register_user;
my $aroot = $alice->{user}{root_folder_id};

my $Projects = dir($alice, 'Projects', undef, description => 'ongoing engagements');
my $Alpha = dir($alice, 'Alpha', $Projects->{id});
my $Photos = dir($alice, 'Photos', undef);
my $Gone = dir($alice, 'Gone', $Projects->{id});
my $rep = up($alice, 'report_2024-final.pdf', pdf(1500), $Alpha->{id}, tags => '["Ledger","fiscal"]',
	description => 'quarterly summary for the board');
my $zeb = up($alice, 'zebra-notes.txt', "Meeting minutes: the budget for the lighthouse renovation was approved.\n",
	$Alpha->{id}, tags => '["ledger"]');
my $kiwi = up($alice, 'kiwi.json', qq({"fruit": "kiwi", "colour": "green"}\n), $Projects->{id});
my $sun = up($alice, 'sunset.png', $PNG, $Photos->{id}, tags => '["holiday"]', description => 'beach at dusk');
my $wav = up($alice, 'chirp.wav', $WAV, undef);
my $zip = up($alice, 'bundle.zip', $ZIP, undef);
my $dat = up($alice, 'data.bin', random_bytes(3072), undef);
my $big = up($alice, 'big.bin', random_bytes(1572864), undef);
my $gonef = up($alice, 'gone-ledger.txt', "ledger lighthouse kiwi\n", $Gone->{id}, tags => '["ledger"]');
is $alice->delete("/api/folders/$Gone->{id}")->{status}, 204, 'alice trashes Gone (with gone-ledger.txt inside)';

# bob: the same words, names and tags; never in alice's answers
my $Bobdir = dir($bob, 'BobProjects', undef);
my $brep = up($bob, 'report_2024-final.pdf', pdf(1500), $Bobdir->{id}, tags => '["ledger"]', label => 'bob:report',
	description => 'quarterly summary for the board');
my $bzeb = up($bob, 'zebra-notes.txt', "the budget for the lighthouse\n", undef, label => 'bob:zebra', tags => '["ledger"]');
my $bkiwi = up($bob, 'kiwi.json', qq({"fruit": "kiwi"}\n), undef, label => 'bob:kiwi');

# the categories the tests below rely on
ok $rep->{mime_type} eq 'application/pdf' && $sun->{mime_type} eq 'image/png' && $wav->{mime_type} =~ m{^audio/}
	&& $zip->{mime_type} eq 'application/zip' && $dat->{mime_type} eq 'application/octet-stream'
	&& $big->{mime_type} eq 'application/octet-stream' && $kiwi->{mime_type} eq 'application/json'
	&& $zeb->{mime_type} =~ m{^text/plain}, 'the corpus has the types the tests expect (pdf, png, audio, zip, binary, json, text)'
	or diag join ', ', map { "$_->{name}: $_->{mime_type}" } $rep, $zeb, $kiwi, $sun, $wav, $zip, $dat, $big;

my ($REP, $ZEB, $KIWI, $SUN, $WAVL, $ZIPL, $DAT, $BIG) =
	('report_2024-final.pdf', 'zebra-notes.txt', 'kiwi.json', 'sunset.png', 'chirp.wav', 'bundle.zip', 'data.bin', 'big.bin');

# ---- the answer's shape
my $j = found_ok($alice, 'repo', [$REP], 'a prefix of a name word: repo');
my $h = ($j->{items} || [])->[0] || {};
is_deeply [ sort keys %$j ], [qw(items next_offset)], 'the answer: exactly {items, next_offset}';
is_deeply [ sort keys %$h ], [qw(item kind matched snippet)], 'a hit: exactly {kind, item, matched, snippet}';
is $h->{kind}, 'file', '... kind file';
my $g = J($alice->get("/api/files/$rep->{id}"));
delete $g->{metadata};
my %hi = %{ ref $h->{item} eq 'HASH' ? $h->{item} : {} };
delete $hi{metadata};
is_deeply \%hi, $g, '... item: the file object as GET /api/files/<id> shows it (metadata aside)';
is_deeply perms01($hi{permissions}), perms_of(@PERMS), "... with the owner's permissions";
is_deeply $h->{matched}, ['name'], '... matched ["name"]';
ok exists $h->{snippet} && !defined $h->{snippet}, '... snippet null (no content match)';

$j = found_ok($alice, [ q => 'alpha', folder_id => $Projects->{id} ], ['Alpha'], 'a folder: alpha within Projects');
$h = ($j->{items} || [])->[0] || {};
is $h->{kind}, 'folder', '... kind folder';
my $ga = J($alice->get("/api/folders/$Alpha->{id}"));
is_deeply [ @{ $h->{item} || {} }{qw(kind id name parent_id path)} ], [ 'folder', @$ga{qw(id name parent_id path)} ],
	'... item: the folder object (kind, id, name, parent_id, path as GET /api/folders/<id>)';
is_deeply perms01(($h->{item} || {})->{permissions}), perms_of(@PERMS), "... with the owner's permissions";

# ---- words
found_ok($alice, '2024', [$REP], 'a name word after punctuation: 2024');
found_ok($alice, 'FINAL', [$REP], 'a name word, any case: FINAL');
found_ok($alice, 'ledg', [ $REP, $ZEB ], 'a prefix of a tag: ledg (not the trashed gone-ledger.txt, not bob\'s)');
found_ok($alice, 'quarter', [$REP], 'a prefix of a description word: quarter');
found_ok($alice, 'engage', ['Projects'], "a prefix of a folder's description word: engage");
found_ok($alice, 'lighthouse', [$ZEB], 'a word of the content: lighthouse');
found_ok($alice, 'lightho', [$ZEB], 'a prefix of a word of the content: lightho');
found_ok($alice, 'fru', [$KIWI], 'a prefix of a word of JSON content: fru');
found_ok($alice, 'dusk', [$SUN], 'a description word: dusk');
found_ok($alice, 'unse', [$SUN], 'a substring of a name: unse');
found_ok($alice, 'ledger kiwi', [], 'two words: AND (no item has both)');
found_ok($alice, 'ledger budget', [$ZEB], 'two words: tag and content of one file');
found_ok($alice, 'pdf', [$REP], 'the extension is a name word: pdf');

# ---- phrases
found_ok($alice, '"budget for the lighthouse"', [$ZEB], 'a phrase of the content');
found_ok($alice, '"lighthouse the budget"', [], 'the same words in another order: nothing');
found_ok($alice, '"summary for the board"', [$REP], 'a phrase of the description');
found_ok($alice, '"board summary"', [], '... out of order: nothing');
found_ok($alice, '"2024-final"', [$REP], 'a phrase that is a substring of the name');
found_ok($alice, '"notes.txt"', [$ZEB], 'a phrase that is a substring of the name: notes.txt');

# ---- excluded
found_ok($alice, 'ledger -zebra', [$REP], '-word: excluded by the name');
found_ok($alice, 'ledger -quarterly', [$ZEB], '-word: excluded by the description');
found_ok($alice, 'ledger -lighthouse', [$REP], '-word: excluded by the content');
found_ok($alice, 'ledger -fiscal', [$ZEB], '-word: excluded by a tag');
found_ok($alice, 'ledger -"budget for"', [$REP], '-"phrase"');
found_ok($alice, 'ledger -ext:pdf', [$ZEB], '-ext:');
found_ok($alice, 'ledger -tag:FISCAL', [$ZEB], '-tag:');
found_ok($alice, 'ledger -type:text', [$REP], '-type:');
found_ok($alice, 'ledger -name:zebra', [$REP], '-name:');
found_ok($alice, 'ledger -size:>1KB', [$ZEB], '-size:');
found_ok($alice, "ledger -in:$Alpha->{id}", [], '-in:');

# ---- OR
found_ok($alice, 'kiwi OR sunset', [ $KIWI, $SUN ], 'OR');
found_ok($alice, 'ledger zebra OR kiwi', [$ZEB], 'OR binds tighter than AND: ledger (zebra|kiwi)');
found_ok($alice, 'zebra OR kiwi ledger', [$ZEB], '... (zebra|kiwi) ledger');
found_ok($alice, 'kiwi OR sunset OR dusk -holiday', [$KIWI], 'three alternatives and an exclusion');
found_ok($alice, 'name:kiwi OR tag:holiday OR ext:wav', [ $KIWI, $SUN, $WAVL ], 'OR between fields');

# ---- name:
found_ok($alice, 'name:NOTES', [$ZEB], 'name: a substring, any case');
found_ok($alice, 'name:"2024-fin"', [$REP], 'name:"..."');
found_ok($alice, 'name:port', [$REP], 'name: inside a word');
found_ok($alice, 'name:ledger', [], 'name: not the tags');
found_ok($alice, 'name:lighthouse', [], 'name: not the content');
found_ok($alice, 'name:pha', ['Alpha'], 'name: finds folders');
found_ok($alice, 'NAME:kiwi', [$KIWI], 'field names are case-insensitive');

# ---- tag:
found_ok($alice, 'tag:LEDGER', [ $REP, $ZEB ], 'tag: exact, any case');
found_ok($alice, 'tag:ledg', [], 'tag: not a prefix');
found_ok($alice, 'tag:holiday', [$SUN], 'tag:holiday');
found_ok($alice, 'tag:quarterly', [], 'tag: not the description');

# ---- type:
found_ok($alice, 'type:image', [$SUN], 'type:image');
found_ok($alice, 'type:document', [$REP], 'type:document');
found_ok($alice, 'type:archive', [$ZIPL], 'type:archive');
found_ok($alice, 'type:text', [ $ZEB, $KIWI ], 'type:text (text/plain and JSON)');
found_ok($alice, 'type:audio', [$WAVL], 'type:audio');
found_ok($alice, 'type:video', [], 'type:video');
found_ok($alice, 'type:other', [ $DAT, $BIG ], 'type:other');
found_ok($alice, 'TYPE:Image', [$SUN], 'type: any case');
found_ok($alice, [ q => 'type:folder', folder_id => $aroot ], [ 'Projects', 'Alpha', 'Photos' ],
	"type:folder below the root (not the trashed Gone)");
found_ok($alice, 'type:folder alpha OR photos', [ 'Alpha', 'Photos' ], 'type:folder with words');
found_ok($alice, 'type:image OR type:audio', [ $SUN, $WAVL ], 'type: OR type:');

# ---- ext:
found_ok($alice, 'ext:pdf', [$REP], 'ext:pdf');
found_ok($alice, 'ext:.TXT', [$ZEB], 'ext:.TXT (dot and case)');
found_ok($alice, 'ext:json', [$KIWI], 'ext:json');
found_ok($alice, 'ext:bin', [ $DAT, $BIG ], 'ext:bin');
found_ok($alice, 'ext:df', [], 'ext: the whole extension (ext:df is not .pdf)');

# ---- size: (3072 = 3KB; sizes 1024-based)
found_ok($alice, 'size:>1MB', [$BIG], 'size:>1MB');
found_ok($alice, 'size:>=3KB', [ $DAT, $BIG ], 'size:>=3KB (3072 included)');
found_ok($alice, 'size:>3KB', [$BIG], 'size:>3KB (3072 excluded)');
found_ok($alice, 'size:<=3KB type:other', [$DAT], 'size:<=3KB');
found_ok($alice, 'size:<3KB type:other', [], 'size:<3KB');
found_ok($alice, 'size:=3072', [$DAT], 'size:=3072');
found_ok($alice, 'size:<1KB', [ $ZEB, $KIWI, $SUN, $WAVL, $ZIPL ], 'size:<1KB: the small files, never a folder');
found_ok($alice, 'size:>=1500 size:<=1500', [$REP], 'two sizes: exactly 1500 bytes');

# ---- before:/after: on updated_at (default) or created_at
set_times(file => $rep, '2021-01-05T10:00:00Z', '2021-03-10T12:00:00Z');
set_times(file => $zeb, '2021-02-01T00:00:00Z', '2022-07-01T00:00:00Z');
found_ok($alice, 'ledger before:2022-01-01', [$REP], 'before: (updated_at)');
found_ok($alice, 'ledger after:2022-01-01', [$ZEB], 'after: (updated_at)');
found_ok($alice, 'ledger after:2021-03-10T12:00:00Z', [ $REP, $ZEB ], 'after: is >= (the exact instant included)');
found_ok($alice, 'ledger before:2021-03-10T12:00:00Z', [], 'before: is < (the exact instant excluded)');
found_ok($alice, 'ledger after:2021-03-10T13:00:00+01:00', [ $REP, $ZEB ], 'after: with an offset');
found_ok($alice, 'before:2023-01-01', [ $REP, $ZEB ], 'before: alone: only the old files, no folder made now');
found_ok($alice, 'after:2021-03-10 before:2021-03-11', [$REP], 'after: before: one day');
found_ok($alice, [ q => 'ledger before:2021-02-01', date_field => 'created' ], [$REP], 'before: on created_at (date_field=created)');
found_ok($alice, [ q => 'after:2021-02-01 before:2021-02-02', date_field => 'created' ], [$ZEB], 'after: before: on created_at');
found_ok($alice, [ q => 'ledger before:2021-03-01', date_field => 'updated' ], [], 'date_field=updated: the updated times');
found_ok($alice, [ q => 'ledger before:2021-03-01', date_field => 'created' ], [ $REP, $ZEB ], '... the same q on created_at');

# ---- in:
found_ok($alice, "in:$Projects->{id} ledger", [ $REP, $ZEB ], 'in:<Projects> (the subtree)');
found_ok($alice, "in:$Projects->{id} ledger OR kiwi", [ $REP, $ZEB, $KIWI ], 'in:<Projects> ledger OR kiwi');
found_ok($alice, "in:$Alpha->{id} ledger OR kiwi", [ $REP, $ZEB ], 'in:<Alpha>: not kiwi.json above it');
found_ok($alice, "in:$Photos->{id} ledger", [], 'in:<Photos>: nothing');
found_ok($alice, "in:$Projects->{id} alpha", ['Alpha'], 'in: finds folders below');
found_ok($alice, 'in:' . uc($Projects->{id}) . ' ledger', [ $REP, $ZEB ], 'in: with an upper-case UUID');
found_ok($alice, "ledger OR kiwi -in:$Alpha->{id}", [$KIWI], '-in:');

# ---- file_type
found_ok($alice, [ q => 'ledger OR kiwi OR sunset', file_type => 'text' ], [ $ZEB, $KIWI ], 'file_type=text');
found_ok($alice, [ q => 'ledger OR kiwi OR sunset', file_type => 'image' ], [$SUN], 'file_type=image');
found_ok($alice, [ q => 'ledger OR kiwi OR sunset', file_type => 'document' ], [$REP], 'file_type=document');
found_ok($alice, [ q => 'bin', file_type => 'other' ], [ $DAT, $BIG ], 'file_type=other');
found_ok($alice, [ q => 'bundle OR chirp', file_type => 'archive' ], [$ZIPL], 'file_type=archive');
found_ok($alice, [ q => 'bundle OR chirp', file_type => 'audio' ], [$WAVL], 'file_type=audio');
found_ok($alice, [ q => 'p', file_type => 'folder' ], [ 'Alpha', 'Photos', 'Projects' ], 'file_type=folder: only folders');
found_ok($alice, [ q => 'p', file_type => 'video' ], [], 'file_type=video: nothing');

# ---- date_from / date_to
found_ok($alice, [ q => 'ledger', date_from => '2022-07-01' ], [$ZEB], 'date_from (a date, inclusive)');
found_ok($alice, [ q => 'ledger', date_to => '2022-07-01' ], [$REP], 'date_to (a date, exclusive)');
found_ok($alice, [ q => 'ledger', date_from => '2021-03-10T12:00:00Z', date_to => '2021-03-10T12:00:01Z' ], [$REP],
	'date_from/date_to RFC 3339: one second');
found_ok($alice, [ q => 'ledger', date_from => '2021-03-10T13:00:00+01:00', date_to => '2021-03-10T12:00:01Z' ], [$REP],
	'date_from with an offset');
found_ok($alice, [ q => 'ledger', date_from => '2021-03-10T12:00:01Z', date_to => '2022-07-01T00:00:00Z' ], [],
	'date_from just after one, date_to exactly at the other: nothing');
found_ok($alice, [ q => 'ledger', date_field => 'created', date_from => '2021-02-01', date_to => '2021-02-02' ], [$ZEB],
	'date_field=created');
found_ok($alice, [ q => 'ledger', date_field => 'created', date_to => '2021-02-01' ], [$REP], 'date_field=created, date_to');
found_ok($alice, [ q => 'ledger', date_field => 'updated', date_to => '2022-01-01' ], [$REP], 'date_field=updated');
found_ok($alice, [ q => 'p', date_from => '2020-01-01', date_to => '2023-01-01' ], [$REP], 'dates leave out the folders made now');

# ---- folder_id
found_ok($alice, [ q => 'ledger OR kiwi', folder_id => $Projects->{id} ], [ $REP, $ZEB, $KIWI ], 'folder_id=Projects: the subtree');
found_ok($alice, [ q => 'ledger OR kiwi', folder_id => $Alpha->{id} ], [ $REP, $ZEB ], 'folder_id=Alpha');
found_ok($alice, [ q => 'ledger OR kiwi', folder_id => $Photos->{id} ], [], 'folder_id=Photos: nothing');
found_ok($alice, [ q => 'alpha', folder_id => $Alpha->{id} ], [], 'folder_id: the folder itself excluded');
found_ok($alice, [ q => 'ledger', folder_id => $aroot ], [ $REP, $ZEB ], 'folder_id=root: everything');
problem_ok(search($alice, [ q => 'ledger', folder_id => uuid() ]), 404, 'not_found', 'folder_id unknown -> 404');
problem_ok(search($alice, [ q => 'ledger', folder_id => $Bobdir->{id} ]), 404, 'not_found', "folder_id another user's -> 404");
problem_ok(search($alice, [ q => 'ledger', folder_id => $Gone->{id} ]), 404, 'not_found', 'folder_id trashed -> 404');
problem_ok(search($alice, [ q => 'ledger', folder_id => $rep->{id} ]), 404, 'not_found', "folder_id a file's id -> 404");
problem_ok(search($bob, [ q => 'ledger', folder_id => $Projects->{id} ]), 404, 'not_found', "bob: alice's folder -> 404");

# ---- size_min / size_max
found_ok($alice, [ q => 'type:other', size_min => 3072 ], [ $DAT, $BIG ], 'size_min=3072 (inclusive)');
found_ok($alice, [ q => 'type:other', size_min => 3073 ], [$BIG], 'size_min=3073');
found_ok($alice, [ q => 'type:other', size_max => 3072 ], [$DAT], 'size_max=3072 (inclusive)');
found_ok($alice, [ q => 'type:other', size_max => 3071 ], [], 'size_max=3071');
found_ok($alice, [ q => 'bin', size_min => '3KB', size_max => '3KB' ], [$DAT], 'size_min=size_max=3KB');
found_ok($alice, [ q => 'bin', size_min => '1MB' ], [$BIG], 'size_min=1MB');
found_ok($alice, [ q => 'type:folder', size_max => '1TB' ], [], 'folders never match a size filter (size_max)');
found_ok($alice, [ q => 'alpha OR repo', size_min => 0 ], [$REP], '... nor size_min=0');

# ---- isolation from bob
found_ok($bob, 'ledger', [ 'bob:report', 'bob:zebra' ], "bob: ledger -> his own files only");
found_ok($bob, 'lighthouse OR kiwi', [ 'bob:zebra', 'bob:kiwi' ], "bob: his content only");
found_ok($bob, [ q => 'type:image OR type:folder', folder_id => $bob->{user}{root_folder_id} ], ['BobProjects'],
	"bob: none of alice's");

# ============================================================ ranking

my $ranker = $s->register_user;
my %rk;
$rk{Report} = dir($ranker, 'Report', undef);
$rk{$_->[0]} = up($ranker, $_->[0], $_->[1], undef, @{ $_->[2] || [] }) for
	[ 'report-a.txt', "xaa\n" ], [ 'report-b.txt', "xbb\n" ], [ 'report-c.txt', "xcc\n" ], [ 'report-d.txt', "xdd\n" ],
	[ 'annual-report.txt', "xee\n" ], [ 'ideas.txt', "xff\n", [ tags => '["report"]' ] ],
	[ 'draft.txt', "xgg\n", [ description => 'report' ] ], [ 'minutes.txt', "xhh\n", [ description => 'report' ] ],
	[ 'memo.txt', "report\n" ], [ 'other.txt', "xii\n" ];
my %when = ('Report' => '2018-01-01', 'report-a.txt' => '2023-01-01', 'report-b.txt' => '2020-01-01',
	'report-c.txt' => '2021-06-01', 'report-d.txt' => '2021-06-01', 'annual-report.txt' => '2019-01-01',
	'ideas.txt' => '2019-06-01', 'draft.txt' => '2024-01-01', 'minutes.txt' => '2020-06-01', 'memo.txt' => '2025-01-01');
set_times($_ eq 'Report' ? 'folder' : 'file', $rk{$_}, undef, "$when{$_}T00:00:00Z") for keys %when;
my @cd = sort { $a->{id} cmp $b->{id} } @rk{qw(report-c.txt report-d.txt)};
my @rank = ('Report', 'report-a.txt', (map { $LABEL{ $_->{id} } } @cd), 'report-b.txt', 'annual-report.txt', 'ideas.txt',
	'draft.txt', 'minutes.txt', 'memo.txt');
found_ok($ranker, 'report', \@rank, 'ranking: exact name, prefixes (newest first, then id), then name > tag > description'
	. ' (newest first) > content, whatever the dates', ordered => 1);
found_ok($ranker, 'REPORT', \@rank, '... the same for REPORT', ordered => 1);
found_ok($ranker, [ q => 'report', file_type => 'text', limit => 100 ], [ @rank[ 1 .. $#rank ] ], '... with a filter', ordered => 1);
my @pages;
for my $off (0, 3, 6, 9) {
	my $r = search($ranker, [ q => 'report', limit => 3, offset => $off ]);
	push @pages, map { label_of($_) } @{ J($r)->{items} || [] };
}
is_deeply \@pages, \@rank, 'paged 3 at a time: the same order';

# ============================================================ typos and substrings

my $typo = $s->register_user;
my $trep = up($typo, 'report.pdf', pdf(900), undef);
up($typo, 'invoice.txt', "unrelated words\n", undef);
up($typo, 'gallery.png', $PNG, undef);
$j = found_ok($typo, 'reprot', ['report.pdf'], 'a typo: reprot finds report.pdf');
is_deeply hit_of($j, $trep)->{matched}, ['name'], '... matched ["name"]';
found_ok($typo, 'REPROT', ['report.pdf'], '... in any case');
found_ok($typo, 'invocie', ['invoice.txt'], 'invocie finds invoice.txt');
$j = found_ok($typo, 'port', ['report.pdf'], 'a substring: port finds report.pdf');
is_deeply((($j->{items} || [])->[0] || {})->{matched}, ['name'], '... matched ["name"]');
found_ok($typo, 'eport.p', ['report.pdf'], 'a substring across the dot: eport.p');
found_ok($typo, 'rep', ['report.pdf'], 'a prefix of three letters');
found_ok($typo, 'rpe', [], 'no typo tolerance under 4 characters: rpe');
found_ok($typo, 'xyzzy', [], 'a word like nothing: xyzzy');
found_ok($typo, 'reprot OR gallery', [ 'report.pdf', 'gallery.png' ], 'a typo OR a word');

# The close words come from the words of the caller's names (search_words):
# a new name, a folder's name, and never another user's names.
my $tr = $typo->put_json("/api/files/$trep->{id}", { name => 'quarterly-report.pdf' });
is $tr->{status}, 200, 'rename report.pdf to quarterly-report.pdf' or diag $tr->describe;
found_ok($typo, 'quartelry', ['report.pdf'], 'a typo of a word the file got by a rename: quartelry');
found_ok($typo, 'reprot', ['report.pdf'], '... and of the word it kept: reprot');
dir($typo, 'Holidays', undef);
found_ok($typo, 'holidyas', ['Holidays'], 'a typo of a folder name: holidyas');
my $typo2 = $s->register_user;
up($typo2, 'budget-summary.xlsx', "numbers\n", undef);
up($typo2, 'misc.txt', "numbers\n", undef, tags => '["budget"]', description => 'budget notes');
found_ok($typo2, 'budegt', ['budget-summary.xlsx'], 'another user: budegt finds their budget-summary.xlsx (names only, not misc.txt by its tag)');
found_ok($typo, 'budegt', [], '... and nothing of theirs for the first user');
found_ok($typo2, 'quartelry', [], '... who in turn finds nothing with quartelry');
my $TShared = dir($typo2, 'Shared', undef);
up($typo2, 'lighthouse-survey.txt', "notes\n", $TShared->{id});
found_ok($typo, 'lighthuose', [], 'before a grant: lighthuose finds nothing');
my $tg = $typo2->post_json("/api/folders/$TShared->{id}/grants", { user => $typo->{username}, role => 'viewer' });
is $tg->{status}, 201, 'the second user grants Shared to the first' or diag $tg->describe;
found_ok($typo, 'lighthuose', ['lighthouse-survey.txt'], '... after it: a typo finds a shared file by the owner\'s words');
found_ok($typo, 'budegt', [], '... and still nothing the grant does not cover (budegt)');
is $typo->delete("/api/files/$trep->{id}")->{status}, 204, 'trash quarterly-report.pdf';
found_ok($typo, 'quartelry', [], 'a typo of a word no live name has any more finds nothing');

# Two words, each in a name or a text: every combination is found, however
# the lookups are split between names and texts.
my $mix = $s->register_user;
up($mix, 'zebrawood-notes.txt', "a quokkafish in the text\n", undef);
up($mix, 'plain.txt', "quokkafish and zebrawood both in the text\n", undef);
up($mix, 'quokkafish.txt', "zebrawood in the text\n", undef);
up($mix, 'quokkafish-zebrawood.txt', "neither\n", undef);
up($mix, 'zebrawood.txt', "nothing else\n", undef);
up($mix, 'other.txt', "quokkafish alone\n", undef);
for my $q ('quokkafish zebrawood', 'zebrawood quokkafish') {
	found_ok($mix, $q, [ 'zebrawood-notes.txt', 'plain.txt', 'quokkafish.txt', 'quokkafish-zebrawood.txt' ],
		"$q: both words, each by name or by content");
}
found_ok($mix, 'quokkafish zebrawood -neither', [ 'zebrawood-notes.txt', 'plain.txt', 'quokkafish.txt' ],
	'... and a third group, negated');

# ============================================================ matched fields and snippets

my $snip = $s->register_user;
my $esc = up($snip, 'escape.txt', "Intro line.\n<b>secret</b> & stuff\n", undef);
my $plan = up($snip, 'lighthouse-plan.txt', "Plan: paint the lighthouse red.\n", undef);
my $tagged = up($snip, 'tagged.txt', "nothing of note\n", undef, tags => '["beacon"]', description => 'harbour notes');
my $latin = up($snip, 'binaryish.txt', "caf\xe9 latte\n", undef);
my $bigtxt = up($snip, 'long.txt', 'quokka ' . ('filler ' x 160_000) . "zanzibar\n", undef);    # zanzibar after 1 MiB

$j = found_ok($snip, 'secret', ['escape.txt'], 'content: secret');
$h = hit_of($j, $esc);
is_deeply $h->{matched}, ['content'], '... matched ["content"]';
my $sn = $h->{snippet} // '';
like $sn, qr{<mark>secret</mark>}, '... the snippet marks the word';
like $sn, qr{&lt;b&gt;<mark>secret</mark>&lt;/b&gt;}, '... the content HTML-escaped around it (&lt;b&gt;)';
like $sn, qr{&amp; stuff}, '... & as &amp;';
(my $bare = $sn) =~ s{</?mark>}{}g;
unlike $bare, qr{[<>]|&(?!(?:lt|gt|amp|quot|#39|#x27|apos);)}, '... nothing unescaped but the marks';
(my $plain = $bare) =~ s/&lt;/</g;
$plain =~ s/&gt;/>/g;
$plain =~ s/&amp;/&/g;
ok index("Intro line.\n<b>secret</b> & stuff\n" =~ s/\s+/ /gr, $plain =~ s/\s+/ /gr =~ s/^ | $//gr) >= 0,
	'... a fragment of the content' or diag "snippet: $sn";

$j = found_ok($snip, 'lighthouse', ['lighthouse-plan.txt'], 'name and content: lighthouse');
$h = hit_of($j, $plan);
is_deeply [ sort @{ $h->{matched} || [] } ], [qw(content name)], '... matched name and content';
like $h->{snippet} // '', qr{paint the <mark>lighthouse</mark>}, '... the snippet marks it in the content';
$j = found_ok($snip, 'lightho', ['lighthouse-plan.txt'], 'a prefix: lightho');
like hit_of($j, $plan)->{snippet} // '', qr{<mark>lighthouse</mark>}, '... the snippet marks the whole word';
$j = found_ok($snip, '"paint the lighthouse"', ['lighthouse-plan.txt'], 'a phrase in the content');
like hit_of($j, $plan)->{snippet} // '', qr{<mark>paint</mark>}, '... the snippet marks its words';

for my $c ([ 'beacon', ['tags'] ], [ 'harbour', ['description'] ], [ 'tagged', ['name'] ]) {
	$j = found_ok($snip, $c->[0], ['tagged.txt'], "$c->[1][0]: $c->[0]");
	$h = hit_of($j, $tagged);
	is_deeply $h->{matched}, $c->[1], "... matched [\"$c->[1][0]\"]";
	ok exists $h->{snippet} && !defined $h->{snippet}, '... snippet null';
}
$j = found_ok($snip, 'beacon OR harbour', ['tagged.txt'], 'two fields of one file');
is_deeply [ sort @{ hit_of($j, $tagged)->{matched} || [] } ], [qw(description tags)], '... matched both';
$j = found_ok($snip, 'beacon -secret', ['tagged.txt'], 'a negated word');
is_deeply hit_of($j, $tagged)->{matched}, ['tags'], '... is not a matched field';
$j = found_ok($snip, 'tag:beacon', ['tagged.txt'], 'fields only');
is ref hit_of($j, $tagged)->{matched}, 'ARRAY', '... matched is still an array';

$j = found_ok($snip, 'latte', ['binaryish.txt'], 'content with invalid UTF-8: latte');
like hit_of($j, $latin)->{snippet} // '', qr{<mark>latte</mark>}, '... snippet marks it';
found_ok($snip, 'caf', ['binaryish.txt'], '... caf (the invalid byte read as a blank)');
found_ok($snip, 'quokka', ['long.txt'], 'content: a word at the start of a long file');
found_ok($snip, 'filler', ['long.txt'], '... filler');
found_ok($snip, 'zanzibar', [], 'content after the first MiB is not indexed');

# Snippets come from 400 characters around the first place a word occurs
# (migration 016), or from the whole text when that place holds no match.
my $far = up($snip, 'far.txt', ('padding ' x 20_000) . "where the pelican sat
" . ('padding ' x 50), undef);
$j = found_ok($snip, 'pelican', ['far.txt'], 'a word 160,000 characters into the text');
like hit_of($j, $far)->{snippet} // '', qr{the <mark>pelican</mark> sat}, '... the snippet shows it in its place';
my $cat = up($snip, 'concat.txt', 'concatenate ' . ('fill ' x 200) . "the cat food\n", undef);
$j = found_ok($snip, 'cat', ['concat.txt'], 'a word first occurring inside another (concatenate)');
like hit_of($j, $cat)->{snippet} // '', qr{the <mark>cat</mark> food}, '... the snippet marks the word itself';

# ============================================================ trash

my $dave = $s->register_user;
my $ka = up($dave, 'kumquat-a.txt', "a\n", undef);
my $kb = up($dave, 'kumquat-b.txt', "b\n", undef);
my $KD = dir($dave, 'KumquatDir', undef);
my $kc = up($dave, 'kumquat-c.txt', "c\n", $KD->{id});
my $Sub = dir($dave, 'Inside', $KD->{id});
my $kd = up($dave, 'deep.txt', "kumquat pie\n", $Sub->{id});
my $bk = up($bob, 'kumquat-x.txt', "x\n", undef, label => 'bob:kumquat');
found_ok($dave, 'kumquat', [ 'kumquat-a.txt', 'kumquat-b.txt', 'KumquatDir', 'kumquat-c.txt', 'deep.txt' ], 'dave: kumquat');
is $dave->delete("/api/files/$ka->{id}")->{status}, 204, 'dave trashes kumquat-a.txt';
found_ok($dave, 'kumquat', [ 'kumquat-b.txt', 'KumquatDir', 'kumquat-c.txt', 'deep.txt' ], '... it is gone from the answers');
found_ok($dave, 'name:kumquat-a', [], '... also by name:');
is $dave->delete("/api/folders/$KD->{id}")->{status}, 204, 'dave trashes KumquatDir';
found_ok($dave, 'kumquat', ['kumquat-b.txt'], '... the folder and everything below it are gone');
found_ok($dave, [ q => 'type:folder OR pie', folder_id => $dave->{user}{root_folder_id} ], [], '... Inside and deep.txt too');
found_ok($bob, 'kumquat', ['bob:kumquat'], "bob: his kumquat only, none of dave's");
my $rr = $dave->post_json("/api/trash/$ka->{id}/restore", {});
is $rr->{status}, 200, 'dave restores kumquat-a.txt' or diag $rr->describe;
found_ok($dave, 'kumquat', [ 'kumquat-a.txt', 'kumquat-b.txt' ], '... it is found again');

# ============================================================ grants

my $gwen = $s->register_user;
my $carol = $s->register_user;
my $Vault = dir($gwen, 'Vault', undef);
my $Inner = dir($gwen, 'Inner', $Vault->{id});
my $vp = up($gwen, 'vault-plan.txt', "hazelnut harvest\n", $Vault->{id});
my $id_ = up($gwen, 'inner-doc.txt', "inside\n", $Inner->{id}, tags => '["hazelnut"]');
my $loose = up($gwen, 'loose.txt', "loose\n", undef, tags => '["hazelnut"]');
my $single = up($gwen, 'single.txt', "single\n", undef, tags => '["hazelnut"]');
my $mine = up($carol, 'hazelnut-mine.txt', "mine\n", undef);

found_ok($carol, 'hazelnut', ['hazelnut-mine.txt'], 'carol before any grant: her own file only');
my $gv = $gwen->post_json("/api/folders/$Vault->{id}/grants", { user => $carol->{username}, role => 'viewer' });
is $gv->{status}, 201, 'gwen grants Vault to carol (viewer)' or diag $gv->describe;
my $gs = $gwen->post_json("/api/files/$single->{id}/grants", { user => $carol->{username}, role => 'editor' });
is $gs->{status}, 201, 'gwen grants single.txt to carol (editor)' or diag $gs->describe;

$j = found_ok($carol, 'hazelnut', [ 'hazelnut-mine.txt', 'vault-plan.txt', 'inner-doc.txt', 'single.txt' ],
	'carol: her file, the granted subtree and the granted file (not loose.txt)');
for my $o ($vp, $id_, $single) {
	my $got = hit_of($j, $o)->{item} || {};
	my $want = J($carol->get("/api/files/$o->{id}"));
	is_deeply [ @$got{qw(id name folder_id size permissions)} ], [ @$want{qw(id name folder_id size permissions)} ],
		"... $o->{name}: as carol sees it (GET /api/files/<id>)";
}
is_deeply perms01((hit_of($j, $vp)->{item} || {})->{permissions}), perms_of(qw(view download)),
	"... vault-plan.txt with a viewer's permissions";
ok b(((hit_of($j, $single)->{item} || {})->{permissions} || {})->{edit}), "... single.txt with an editor's (edit)";
ok !b(((hit_of($j, $single)->{item} || {})->{permissions} || {})->{share}), "... but not the owner's (share)";
is_deeply perms01((hit_of($j, $mine)->{item} || {})->{permissions}), perms_of(@PERMS), '... her own file with all permissions';
$j = found_ok($carol, 'vault', [ 'Vault', 'vault-plan.txt' ], 'carol: the granted folder itself');
is_deeply perms01((hit_of($j, $Vault)->{item} || {})->{permissions}), perms_of(qw(view download)), "... with a viewer's permissions";
found_ok($carol, 'inner', [ 'Inner', 'inner-doc.txt' ], 'carol: a folder below it');
found_ok($carol, [ q => 'hazelnut', folder_id => $Vault->{id} ], [ 'vault-plan.txt', 'inner-doc.txt' ], 'carol: folder_id=Vault');
{
	my $dan = $s->register_user;
	is $gwen->post_json("/api/folders/$Inner->{id}/grants", { user => $dan->{username}, role => 'viewer' })->{status}, 201,
		'gwen grants Inner (inside Vault) to dan';
	found_ok($dan, 'hazelnut', ['inner-doc.txt'], 'dan: the Inner subtree');
	found_ok($dan, "in:$Inner->{id} hazelnut", ['inner-doc.txt'], 'dan: in:<Inner>');
	found_ok($dan, "in:$Vault->{id} hazelnut", [],
		'dan: in:<Vault>, a folder he cannot see: nothing (not even that Inner lies in it)');
}
found_ok($carol, "in:$Vault->{id} hazelnut", [ 'vault-plan.txt', 'inner-doc.txt' ], 'carol: in:<Vault>');
found_ok($gwen, 'hazelnut', [ 'vault-plan.txt', 'inner-doc.txt', 'loose.txt', 'single.txt' ], "gwen: her files, not carol's");
found_ok($bob, 'hazelnut', [], 'bob: nothing of either');
problem_ok(search($bob, [ q => 'hazelnut', folder_id => $Vault->{id} ]), 404, 'not_found', 'bob: folder_id=Vault -> 404');

is $gwen->delete('/api/grants/' . sql_id(J($gv)->{id}))->{status}, 204, 'gwen revokes the grant on Vault';
found_ok($carol, 'hazelnut', [ 'hazelnut-mine.txt', 'single.txt' ], '... carol no longer finds the subtree');
found_ok($carol, 'vault OR inner', [], '... nor the folders');
problem_ok(search($carol, [ q => 'hazelnut', folder_id => $Vault->{id} ]), 404, 'not_found', '... folder_id=Vault -> 404');

$s->psql("UPDATE users SET is_active = false WHERE id = '$gwen->{user}{id}'");
found_ok($carol, 'hazelnut', ['hazelnut-mine.txt'], 'gwen deactivated: carol no longer finds single.txt');
$s->psql("UPDATE users SET is_active = true WHERE id = '$gwen->{user}{id}'");
found_ok($carol, 'hazelnut', [ 'hazelnut-mine.txt', 'single.txt' ], 'gwen active again: single.txt is back');
is $carol->delete('/api/grants/' . sql_id(J($gs)->{id}))->{status}, 204, 'carol leaves the grant on single.txt';
found_ok($carol, 'hazelnut', ['hazelnut-mine.txt'], '... gone from her answers');

# ============================================================ paging

my $pager = $s->register_user;
my $pr = $pager->upload(files => [ map { [ sprintf('page-%02d.txt', $_), "page number $_\n", 'text/plain' ] } 1 .. 25 ]);
reg($_->{name}, $_) for @{ upload_ok($pr, 25, [], 'pager uploads page-01..25.txt') };
my $all = J(search($pager, [ q => 'page', limit => 100 ]));
my @all = map { label_of($_) } @{ $all->{items} || [] };
is_deeply [ sort @all ], [ map { sprintf 'page-%02d.txt', $_ } 1 .. 25 ], 'limit=100: the 25 files';
ok exists $all->{next_offset} && !defined $all->{next_offset}, '... next_offset null';
my $p1 = J(search($pager, 'page'));
is_deeply [ map { label_of($_) } @{ $p1->{items} || [] } ], [ @all[ 0 .. 19 ] ], 'no limit: the first 20 (default)';
is $p1->{next_offset}, 20, '... next_offset 20';
my $p2 = J(search($pager, [ q => 'page', offset => 20 ]));
is_deeply [ map { label_of($_) } @{ $p2->{items} || [] } ], [ @all[ 20 .. 24 ] ], 'offset=20: the last 5';
ok exists $p2->{next_offset} && !defined $p2->{next_offset}, '... next_offset null';
my (@walk, @offs);
my $off = 0;
for (1 .. 10) {
	my $pj = J(search($pager, [ q => 'page', limit => 7, offset => $off ]));
	push @walk, map { label_of($_) } @{ $pj->{items} || [] };
	push @offs, $pj->{next_offset};
	last unless defined $pj->{next_offset};
	$off = $pj->{next_offset};
}
is_deeply \@walk, \@all, 'limit=7 following next_offset: every hit once, in order';
is_deeply \@offs, [ 7, 14, 21, undef ], '... next_offset 7, 14, 21, null';
my $pe = J(search($pager, [ q => 'page', limit => 25 ]));
is scalar @{ $pe->{items} || [] }, 25, 'limit=25 (all of them): 25';
ok exists $pe->{next_offset} && !defined $pe->{next_offset}, '... next_offset null';
$pe = J(search($pager, [ q => 'page', limit => 24 ]));
is_deeply [ scalar @{ $pe->{items} || [] }, $pe->{next_offset} ], [ 24, 24 ], 'limit=24: 24 and next_offset 24';
$pe = J(search($pager, [ q => 'page', limit => 1, offset => 24 ]));
is_deeply [ (map { label_of($_) } @{ $pe->{items} || [] }), $pe->{next_offset} ], [ $all[24], undef ],
	'limit=1 offset=24: the last, next_offset null';
found_ok($pager, [ q => 'page', offset => 25 ], [], 'offset=25: nothing');
found_ok($pager, [ q => 'page', offset => 10000 ], [], 'offset=10000 (the most): nothing');
found_ok($pager, [ q => 'page', limit => 100, offset => 0 ], \@all, 'limit=100 offset=0: all, in order', ordered => 1);

# ============================================================ hostile queries

my $hos = $s->register_user;
up($hos, 'plain.txt', "hello world\n", undef);
up($hos, 'pct%_done.txt', "zzz\n", undef);
found_ok($hos, "' OR 1=1 --", [], q{' OR 1=1 --});
found_ok($hos, '%', ['pct%_done.txt'], '% is a plain character');
found_ok($hos, '_', ['pct%_done.txt'], '_ is a plain character');
found_ok($hos, '%_', ['pct%_done.txt'], '%_');
found_ok($hos, 'name:%', ['pct%_done.txt'], 'name:%');
found_ok($hos, 'name:_', ['pct%_done.txt'], 'name:_');
found_ok($hos, 'tag:%', [], 'tag:%');
found_ok($hos, '\\', [], 'a backslash');
found_ok($hos, 'name:\\', [], 'name:\\');
found_ok($hos, ';', [], ';');
found_ok($hos, "'", [], q{'});
found_ok($hos, q{"'; DROP TABLE files; --"}, [], 'a phrase of SQL');
found_ok($hos, q{'); SELECT pg_sleep(5); --}, [], 'SQL in words');
found_ok($hos, '$1 $$ :: ::text', [], 'placeholders and casts');
found_ok($hos, '"hello world', ['plain.txt'], 'an unclosed quote runs to the end: "hello world');
found_ok($hos, '"hello world   ', ['plain.txt'], '... less trailing blanks');
found_ok($hos, 'hello', ['plain.txt'], 'the files table is still there: hello');
found_ok($hos, '-', [], 'a lone -');
found_ok($hos, '"OR"', [], '"OR"');
found_ok($hos, 'foo:bar', [], 'an unknown field is a word');
found_ok($hos, 'hello & world | !x <-> y:*', [], 'tsquery operators are plain text');
found_ok($hos, "h\x{e9}llo \x{1F600}", [], 'non-ASCII words');

for my $c (
	[ 'a 10 KB q', \('q=' . ('a' x 10240)) ],
	[ 'a q of 1001 bytes', \('q=' . ('a' x 1001)) ],
	[ 'a term of 201 bytes', \('q=' . ('a' x 201)) ],
	[ '33 terms', \('q=' . join('+', ('a') x 33)) ],
	[ 'invalid UTF-8 %FF%FE', \'q=%FF%FE' ],
	[ 'invalid UTF-8 caf%E9', \'q=caf%E9' ],
	[ 'an overlong UTF-8 %C0%AF', \'q=%C0%AF' ],
	[ 'a NUL (%00)', \'q=abc%00def' ],
	[ 'a lone NUL', \'q=%00' ],
	[ 'a control character (%01)', \'q=a%01b' ],
	[ 'DEL (%7F)', \'q=a%7Fb' ],
	[ 'q empty', \'q=' ],
	[ 'q missing', \'limit=5' ],
	[ 'q blanks only', \'q=%20%20%09' ],
	[ 'an empty phrase ""', '""' ],
	[ 'an unclosed empty phrase', 'hello "' ],
	[ 'a lone quote', '"' ],
	[ 'OR alone', 'OR' ],
	[ 'OR at the end', 'a OR' ],
	[ 'OR at the start', 'OR a' ],
	[ 'OR OR', 'a OR OR b' ],
	[ 'type:bogus', 'type:bogus' ],
	[ 'ext: empty', 'ext:' ],
	[ 'ext: of 17 characters', 'ext:abcdefghijklmnopq' ],
	[ 'ext:p-f', 'ext:p-f' ],
	[ 'size: without a comparison', 'size:10MB' ],
	[ 'size:>>1', 'size:>>1' ],
	[ 'size:>10XB', 'size:>10XB' ],
	[ 'size: too large', 'size:>9999999999TB' ],
	[ 'before:garbage', 'before:garbage' ],
	[ 'after:2026-13-01', 'after:2026-13-01' ],
	[ 'in:not-a-uuid', 'in:not-a-uuid' ],
	[ "in:' OR 1=1", q{in:' OR 1=1} ],
	[ 'name: empty', 'name:' ],
	[ 'tag:""', 'tag:""' ],
) {
	my ($what, $p) = @$c;
	my $r = search($hos, $p);
	bad_param_ok($r, 'q', "q: $what");
}
# more: any answer but 200, or 400 naming q, is a failure (a malformed
# query string, the last two, may be 400 without naming q)
my %st;
for my $p ("' OR 1=1 --", '%', '_', '\\', ';', '"unbalanced', 'a"b"c', "x'y", '%00', "--", "/*", "*/", 'a OR', '""""', '-OR', 'hello:',
	'a:b:c', '-name:x', '-"x y"', "\\'", '\\"', 'name:"x', '-"', '-type:', 'in:', "\x{2028}", "a\tb\nc", \'q=a&q=b', \'q=%E2%82',
	\('q=' . ('%22' x 600)), \'q=%', \'q=%G0') {
	my $r = search($hos, $p);
	my $named = grep { ref $_ eq 'HASH' && ($_->{field} // '') eq 'q' } @{ J($r)->{errors} || [] };
	my $malformed = ref $p eq 'SCALAR' && $$p =~ /^q=%(?:G0)?$/;
	$st{ show($p) } = $r->{status} . ($r->{status} == 400 && !$named && !$malformed ? ' without errors naming q' : '');
}
is_deeply [ grep { $st{$_} !~ /^(?:200|400)$/ } sort keys %st ], [], 'hostile queries: always 200 or 400 naming q, never 500'
	or diag join "\n", map { "$_ -> $st{$_}" } sort keys %st;

# ============================================================ many matches: the window of 100

# Relevance ranks the 100 newest matches; exact names come first wherever
# they are; older matches follow by recency. 130 files "zz-lantern-<i>.txt"
# (i days after 2020-01-01), a prefix match inside the window
# (lantern-new.txt), one outside it (lantern-old.txt, 2010), and an exact
# name older than everything (lantern, 2009).
my $many = $s->register_user;
for my $part (0, 1) {
	my @f = map { [ sprintf('zz-lantern-%03d.txt', $_), "beacon number $_\n", 'text/plain' ] } 65 * $part + 1 .. 65 * $part + 65;
	upload_ok($many->upload(files => \@f), 65, [], "130 lantern files, part " . ($part + 1));
}
my $mid = $many->{user}{id};
$s->psql("UPDATE files SET updated_at = timestamptz '2020-01-01 00:00:00+00' + substring(name from 'zz-lantern-([0-9]+)')::int"
	. " * interval '1 day' WHERE user_id = '" . sql_id($mid) . "' AND name LIKE 'zz-lantern-%'");
my %lan;
for my $l ([ 'lantern', '2009-01-01T00:00:00Z' ], [ 'lantern-old.txt', '2010-01-01T00:00:00Z' ],
	[ 'lantern-new.txt', '2020-03-15T12:00:00Z' ], [ 'lantenr.txt', '2000-01-01T00:00:00Z' ]) {
	$lan{ $l->[0] } = up($many, $l->[0], "plain\n", undef);
	set_times('file', $lan{ $l->[0] }, undef, $l->[1]);
}
my %zz = map { my $o = $_; ($o->{name} =~ /(\d+)/)[0] + 0 => $o }
	grep { $_->{name} =~ /^zz-lantern-/ } map { $_->{item} } map { @{ J(search($many, [ q => "name:$_", limit => 100 ]))->{items} || [] } } qw(zz-lantern-0 zz-lantern-1);
reg($zz{$_}{name}, $zz{$_}) for keys %zz;
is scalar(keys %zz), 130, 'the 130 lantern files found by name:';
my @order = ('lantern', 'lantern-new.txt', map({ sprintf 'zz-lantern-%03d.txt', $_ } reverse 1 .. 130), 'lantern-old.txt');
# the 100 newest: zz 130..75, lantern-new (between 74 and 75), zz 74..32
my @paged;
for my $off (0, 50, 100) {
	my $j = J(search($many, [ q => 'lantern', limit => 50, offset => $off ]));
	push @paged, map { label_of($_) } @{ $j->{items} || [] };
	is $j->{next_offset}, $off == 100 ? undef : $off + 50, "offset $off: next_offset";
}
is_deeply \@paged, \@order, 'exact name first, the prefix match in the window next, the window by rank then date, '
	. 'then older matches by date (the old prefix match last)';
{
	my @got = map { label_of($_) } @{ J(search($many, [ q => 'lantern -plain', limit => 100 ]))->{items} || [] };
	is_deeply [ @got[ 0, 1 ] ], [ 'zz-lantern-130.txt', 'zz-lantern-129.txt' ],
		'lantern -plain: the exact name (its text is "plain") is left out, not ranked first';
	ok !grep({ /^lantern/ } @got), '... as are the other files with "plain"';
}
found_ok($many, 'lantenr', ['lantenr.txt'], 'a word that matches exactly is not widened to typos: lantenr');
my $jl = J(search($many, [ q => 'lantern', limit => 100, offset => 100 ]));
ok !grep({ label_of($_) eq 'lantenr.txt' } @{ $jl->{items} || [] }), '... nor is lantern (lantenr.txt stays out)';
my $jt = J(search($many, [ q => 'lanterm', limit => 100 ]));
is scalar(@{ $jt->{items} || [] }), 100, 'a typo nothing matches exactly (lanterm) finds the lantern files';
is $jt->{next_offset}, 100, '... more than 100 of them';
{
	my $j = J(search($many, [ q => 'beacon', limit => 3 ]));
	is_deeply [ map { label_of($_) } @{ $j->{items} || [] } ], [ map { sprintf 'zz-lantern-%03d.txt', $_ } 130, 129, 128 ],
		'a word in the content of 130 files: the newest first';
	is $j->{next_offset}, 3, '... and more';
}

# A phrase among 300+ texts: its share is tried on the caller's 300 newest
# texts, which decides between a walk and the lookup; either way the
# answer is the same. 170 older files hold both words, not in a row.
for my $part (0, 1) {
	my @f = map { [ sprintf('filler-%03d.txt', $_), "number then beacon $_\n", 'text/plain' ] } 85 * $part + 1 .. 85 * $part + 85;
	reg($_->{name}, $_) for @{ upload_ok($many->upload(files => \@f), 85, [], "170 filler files, part " . ($part + 1)) };
}
$s->psql("UPDATE files SET updated_at = timestamptz '2015-01-01 00:00:00+00' WHERE user_id = '" . sql_id($mid)
	. "' AND name LIKE 'filler-%'");
{
	my $j = J(search($many, [ q => '"beacon number"', limit => 3 ]));
	is_deeply [ map { label_of($_) } @{ $j->{items} || [] } ], [ map { sprintf 'zz-lantern-%03d.txt', $_ } 130, 129, 128 ],
		'a phrase in 130 of the 300 newest texts: the newest first';
	is $j->{next_offset}, 3, '... and more';
	found_ok($many, '"beacon number 7"', ['zz-lantern-007.txt'], 'a phrase in one text of 304');
	found_ok($many, '"then beacon 17"', ['filler-017.txt'], 'a phrase in one older text');
	found_ok($many, '"number beacon"', [], 'both words in every text, never in that order: nothing');
}

# files.has_text: what the content walks read
my ($ht_text, $ht_png, $ht_many) = map { $s->psql($_) } (
	"SELECT has_text FROM files WHERE id = '" . sql_id($zz{1}{id}) . "'",
	"SELECT has_text FROM files WHERE id = '" . sql_id($sun->{id}) . "'",
	"SELECT count(*) FILTER (WHERE has_text) || '/' || count(*) FROM files WHERE user_id = '" . sql_id($mid) . "'");
is $ht_text, 't', 'has_text: a text file';
is $ht_png, 'f', 'has_text: an image';
is $ht_many, '304/304', 'has_text: every text file of the lantern user';

# Phrases in content are looked up by their pairs of adjacent words
# (blob_text.pairs, migration 016). The trigger keeps the vector and the
# pairs; a text that holds a phrase holds every pair of it, for phrases of
# 2 and 3 words of every text here (the 1 MiB one of 160,000 words whose
# positions the vector clamps included).
is $s->psql("SELECT count(*) FROM blob_text WHERE search IS DISTINCT FROM to_tsvector('simple', content)"
	. " OR pairs IS DISTINCT FROM search_pairs(search)"), '0', 'pairs: every text has its vector and its pairs';
is $s->psql(<<'SQL'), '0', 'pairs: no text holds a phrase of 2 or 3 of its words without its pairs';
WITH w AS (SELECT bt.sha256, t.word, t.n FROM blob_text bt,
             LATERAL regexp_split_to_table(left(bt.content, 5000), '\s+') WITH ORDINALITY t(word, n)),
     p AS (SELECT DISTINCT a.word || ' ' || b.word || CASE WHEN n3 THEN ' ' || c.word ELSE '' END AS phrase
             FROM w a JOIN w b ON b.sha256 = a.sha256 AND b.n = a.n + 1
             JOIN w c ON c.sha256 = a.sha256 AND c.n = a.n + 2, (VALUES (false), (true)) v(n3)
            WHERE a.n % 7 = 0 OR a.n < 20)
SELECT count(*) FROM blob_text bt, p
 WHERE bt.search @@ phraseto_tsquery('simple', p.phrase)
   AND NOT bt.pairs @> search_phrase_pairs(p.phrase)
SQL
ok $s->psql("SELECT count(*) FROM blob_text WHERE search @@ phraseto_tsquery('simple', 'filler filler')") >= 1,
	'... (the clamped text holds "filler filler")';
found_ok($many, '"beacon beacon"', [], 'a phrase of one word twice, in no text');
{
	my $twice = up($many, 'twice.txt', "signal beacon beacon number\n", undef);
	my $dash = up($many, 'dash.txt', "the north-east beacon tower\n", undef);
	found_ok($many, '"beacon beacon"', ['twice.txt'], 'a phrase of one word twice');
	found_ok($many, '"north-east beacon"', ['dash.txt'], 'a phrase with a hyphenated word');
	found_ok($many, '"east beacon tower"', ['dash.txt'], 'a phrase of three words, from inside a hyphenated one');
	found_ok($many, '"beacon north"', [], '... its words in another order: nothing');
}

# ============================================================ 401 and bad parameters

problem_ok(search($anon, 'report'), 401, 'unauthenticated', 'no login -> 401');
problem_ok(search($anon, [ q => 'report', limit => 0 ]), 401, 'unauthenticated', 'no login, a bad limit -> 401');
problem_ok($anon->get('/api/search'), 401, 'unauthenticated', 'no login, no q -> 401');

for my $c (
	[ limit => 0 ], [ limit => 101 ], [ limit => 'abc' ], [ limit => -1 ], [ limit => '1.5' ], [ limit => '' ],
	[ offset => -1 ], [ offset => 10001 ], [ offset => 'abc' ],
	[ file_type => 'bogus' ], [ file_type => '' ], [ file_type => 'images' ],
	[ date_from => 'garbage' ], [ date_from => '2026-02-30' ], [ date_to => 'yesterday' ], [ date_to => '2026-01-01T25:00:00Z' ],
	[ date_field => 'bogus' ], [ date_field => '' ], [ date_field => 'deleted' ],
	[ folder_id => 'not-a-uuid' ], [ folder_id => '' ], [ folder_id => "' OR 1=1 --" ],
	[ size_min => 'abc' ], [ size_min => '-1' ], [ size_max => '10XB' ], [ size_max => 'abc' ],
) {
	my ($k, $v) = @$c;
	bad_param_ok(search($alice, [ q => 'ledger', $k => $v ]), $k, "$k=$v");
}
my $r2 = search($alice, [ q => 'ledger', limit => 0, offset => -1 ]);
bad_param_ok($r2, 'limit', 'limit=0 and offset=-1');
bad_param_ok($r2, 'offset', '... also');
$r2 = search($alice, [ q => '', file_type => 'bogus' ]);
bad_param_ok($r2, 'q', 'q empty and file_type bogus');
bad_param_ok($r2, 'file_type', '... also');
found_ok($alice, [ q => 'ledger', limit => 1, offset => 1 ], [$REP], 'limit=1 offset=1 (newest first: zebra-notes, then the report)');
found_ok($alice, [ q => 'ledger', limit => 100, offset => 10000 ], [], 'limit=100 offset=10000: valid');

diag sprintf 'ran in %.1f s', time - $t0;

done_testing;
