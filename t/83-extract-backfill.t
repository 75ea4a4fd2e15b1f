#!/usr/bin/perl
# 83-extract-backfill: content stored before uploads extracted its metadata
# and text (migration 011) is worked off by the jobs process (migration 013
# marks it extract_pending; lib/store.c store_extract_pass). Proves, after
# putting uploaded blobs back in the pre-011 state (no blob_text, metadata
# NULL, marked as the migration marks the rows already there): until the
# jobs process runs, their files show "metadata": {} and their words find
# nothing; then it clears every mark and stores exactly what the uploads had
# stored: the same metadata (image size and libmagic's description) for a
# PNG, a JPEG, text and a PDF, the same text to the byte for text files,
# including one stored gzipped whose raw copy is gone (read through the
# decompressor, words past its first 256 KiB found) and one over 1 MiB
# (nothing past the first 1 MiB indexed); a PDF goes on to the pdftotext
# pass and is found by its text (where pdftotext is installed). A blob whose
# file is missing is unmarked with a log line and left without metadata,
# never tried again, and the jobs process carries on (same pid). A backlog
# larger than one batch (32) is worked off; marking blobs that already have
# their metadata and text changes nothing (idempotent).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib qw(crc32);
use Digest::SHA qw(sha256_hex);
use Test::More;

use Coffer::Test qw(upload_ok wait_until random_bytes pdf_text);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $compress_on = ($s->config('compress') // 'on') !~ /^(?:off|0|false)$/i;
my $have_pdftotext = -x ($s->config('pdftotext') // '/usr/bin/pdftotext');

sub png {
	my ($w, $h) = @_;
	my $ihdr = pack('NNCCCCC', $w, $h, 8, 6, 0, 0, 0);
	my $chunk = pack('N', length $ihdr) . 'IHDR' . $ihdr . pack('N', crc32('IHDR' . $ihdr));
	return "\x89PNG\r\n\x1a\n" . $chunk . pack('N', 0) . 'IEND' . pack('N', crc32('IEND'));
}
my $jpeg = "\xFF\xD8" . "\xFF\xE0" . pack('n', 16) . "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
	. "\xFF\xC0" . pack('n', 17) . "\x08" . pack('nn', 200, 300) . "\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
	. "\xFF\xD9";

# ~600 KiB of compressible log text: "narwhal" in the first line, "manatee"
# near 500 KiB (past the 256 KiB head an image size is read from).
my $long = "aquarium log: the narwhal arrived\n";
$long .= sprintf("%06d the tanks were checked and nothing happened\n", $_) for 1 .. 10_000;
$long .= "late entry: a manatee was seen\n";
$long .= sprintf("%06d the tanks were checked again, all quiet\n", $_) for 1 .. 3_000;
# over 1 MiB: "axolotl" near the start, "needle" past 1 MiB
my $huge = "huge file about an axolotl\n" . ('filler ' x 160_000) . "needle\n";

my %content = (
	'pic.png' => png(640, 480),
	'photo.jpg' => $jpeg,
	'notes.txt' => "the ocelot sleeps all day\n",
	'long.txt' => $long,
	'huge.txt' => $huge,
	'report.pdf' => pdf_text('Quarterly report on the dugong population'),
	'gone.txt' => "the tapir is not here any more\n",
	'noise.bin' => random_bytes(300),
);
my %type = ('pic.png' => 'image/png', 'photo.jpg' => 'image/jpeg', 'report.pdf' => 'application/pdf',
	'noise.bin' => 'application/octet-stream');
my @names = sort keys %content;
my $files = upload_ok($alice->upload(files => [ map { [ $_, $content{$_}, $type{$_} // 'text/plain' ] } @names ]),
	scalar @names, [], 'upload ' . scalar(@names) . ' files');
my %file = map { $_->{name} => $_ } @$files;
my %hex = map { $_ => sha256_hex($content{$_}) } @names;
my $in = join ', ', map { "decode('$hex{$_}', 'hex')" } @names;

sub meta {
	my ($name) = @_;
	my $r = $alice->get("/api/files/$file{$name}{id}");
	return ref $r->{json} eq 'HASH' ? $r->{json}{metadata} : undef;
}
sub found {
	my ($q) = @_;
	my $r = $alice->get("/api/search?q=$q&limit=100");
	return [ sort map { $_->{item}{name} } @{ ref $r->{json} eq 'HASH' ? $r->{json}{items} || [] : [] } ];
}
sub texts {
	return { map { @$_ } $s->psql_rows("SELECT encode(sha256, 'hex'), md5(content) FROM blob_text WHERE sha256 IN ($in)") };
}
sub blob_row {
	my ($name) = @_;
	my ($r) = $s->psql_rows("SELECT compression, extract_pending, text_pending, metadata IS NULL FROM blobs "
		. "WHERE sha256 = decode('$hex{$name}', 'hex')");
	return $r || [];
}

# what the uploads stored, once the PDF has its text
ok wait_until(sub { !$have_pdftotext || @{ found('dugong') } }, 30), 'the upload of the PDF got its text'
	or diag 'PDF row: @{ blob_row("report.pdf") }';
my %meta = map { $_ => meta($_) } @names;
my $texts = texts();
like $meta{'pic.png'}{description} // '', qr/^PNG image data, 640 x 480/, 'at upload: the PNG described';
is_deeply [ sort grep { $texts->{ $hex{$_} } } @names ],
	[ sort 'gone.txt', 'huge.txt', 'long.txt', 'notes.txt', ($have_pdftotext ? 'report.pdf' : ()) ],
	'at upload: the text files (and the PDF) have text';

SKIP: {
	skip 'compress is off on this stack', 1 unless $compress_on;
	ok wait_until(sub { (blob_row('long.txt')->[0] // '') eq 'gzip' && !-e $s->blob_path($hex{'long.txt'}) }, 30, 0.1),
		'long.txt is stored gzipped, its raw copy gone' or diag "row: @{ blob_row('long.txt') }";
}
ok -e $s->blob_path($hex{'gone.txt'}), 'gone.txt is stored raw';
unlink $s->blob_path($hex{'gone.txt'});
ok !-e $s->blob_path($hex{'gone.txt'}), '... and its file is now missing from the volume';

# the state of content stored before 011, with the jobs process stopped
my $jobs = $s->jobs_pid;
ok $jobs, 'the jobs process runs';
my $stopped;
END { kill 'CONT', $stopped if $stopped }
$stopped = $jobs if kill 'STOP', $jobs;
$s->psql("BEGIN; DELETE FROM blob_text WHERE sha256 IN ($in); "
	. "UPDATE blobs SET metadata = NULL, text_pending = false, extract_pending = true WHERE sha256 IN ($in); COMMIT");
is $s->psql("SELECT count(*) FROM blobs WHERE extract_pending AND sha256 IN ($in)"), scalar @names,
	'every blob marked, as migration 013 marks the rows already there';
is_deeply meta('pic.png'), {}, 'before the backfill: "metadata": {}';
is_deeply found('ocelot'), [], '... and a word of a text file finds nothing';

my $mark = $s->log_mark;
kill 'CONT', $jobs;
undef $stopped;
ok wait_until(sub { $s->psql("SELECT count(*) FROM blobs WHERE extract_pending AND sha256 IN ($in)") == 0 }, 30, 0.1),
	'the jobs process clears every mark';
ok wait_until(sub { !$have_pdftotext || @{ found('dugong') } }, 30), '... and the PDF goes on to pdftotext';

for my $n (grep { $_ ne 'gone.txt' } @names) {
	is_deeply meta($n), $meta{$n}, "$n: the metadata its upload stored"
		. (%{ $meta{$n} || {} } ? ' (' . join(', ', sort keys %{ $meta{$n} }) . ')' : ' ({})');
}
like meta('photo.jpg')->{description} // '', qr/^JPEG image data\b/, 'the JPEG: described';
is_deeply meta('photo.jpg')->{image}, { format => 'jpeg', width => 300, height => 200 }, '... and its size';
like meta('notes.txt')->{description} // '', qr/\btext\b/, 'the text file: described';
like meta('report.pdf')->{description} // '', qr/^PDF document\b/, 'the PDF: described';
is_deeply meta('noise.bin'), {}, 'unknown binary: {}';
my $after = texts();
for my $n (grep { $_ ne 'gone.txt' } @names) {
	is $after->{ $hex{$n} }, $texts->{ $hex{$n} }, "$n: " . ($texts->{ $hex{$n} } ? 'the same text, to the byte' : 'no text');
}
is_deeply found('ocelot'), ['notes.txt'], 'a word of a text file finds it again';
is_deeply found('narwhal'), ['long.txt'], 'a word of the gzipped file finds it';
is_deeply found('manatee'), ['long.txt'], '... a word past its first 256 KiB too';
is_deeply found('axolotl'), ['huge.txt'], 'a word of the file over 1 MiB finds it';
is_deeply found('needle'), [], '... a word past its first 1 MiB does not';
is_deeply found('dugong'), [$have_pdftotext ? 'report.pdf' : ()], 'the PDF found by its text' . ($have_pdftotext ? '' : ' (no pdftotext: not)');

# the missing file: unmarked, logged, left without; the process lives on
is_deeply meta('gone.txt'), {}, 'the blob whose file is missing: "metadata": {}';
is_deeply found('tapir'), [], '... no text';
is blob_row('gone.txt')->[1], 'f', '... unmarked: not tried again';
my $log = $s->log_since($mark);
like $log, qr/extract: blob $hex{'gone.txt'}: cannot read it \(No such file or directory\)/, '... with a log line';
like $log, qr/jobs: extracted the metadata or text of \d+ blobs/, 'the jobs process logs what it did';
is $s->jobs_pid, $jobs, 'the jobs process is the same one (it did not crash)';

# a backlog larger than one batch
my @many = map { [ sprintf('many%02d.txt', $_), "backlog file $_ about a quetzal\n" ] } 1 .. 40;
upload_ok($alice->upload(files => \@many), 40, [], 'upload 40 small text files');
my $many_in = join ', ', map { "decode('" . sha256_hex($_->[1]) . "', 'hex')" } @many;
$s->psql("BEGIN; DELETE FROM blob_text WHERE sha256 IN ($many_in); "
	. "UPDATE blobs SET metadata = NULL, extract_pending = true WHERE sha256 IN ($many_in); COMMIT");
ok wait_until(sub { $s->psql("SELECT count(*) FROM blobs WHERE extract_pending AND sha256 IN ($many_in)") == 0 }, 30, 0.1),
	'40 marked blobs (more than a batch of 32) are worked off';
is scalar @{ found('quetzal') }, 40, '... all found by their text again';
is $s->psql("SELECT count(*) FROM blobs WHERE metadata->>'description' = 'ASCII text' AND sha256 IN ($many_in)"), 40,
	'... all described';

# idempotent: marking blobs that have their metadata and text changes nothing
$s->psql("UPDATE blobs SET extract_pending = true WHERE sha256 IN ($in)");
ok wait_until(sub { $s->psql("SELECT count(*) FROM blobs WHERE extract_pending AND sha256 IN ($in)") == 0 }, 30, 0.1),
	'marked again: worked off again';
is_deeply { map { $_ => meta($_) } grep { $_ ne 'gone.txt' } @names }, { map { $_ => $meta{$_} } grep { $_ ne 'gone.txt' } @names },
	'... the same metadata';
is_deeply texts(), $after, '... the same texts, one row each';
is $s->psql("SELECT count(*) FROM blobs WHERE text_pending AND sha256 IN ($in)"), 0, '... and no PDF text asked for again';

done_testing;
