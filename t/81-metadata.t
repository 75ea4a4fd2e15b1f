#!/usr/bin/perl
# 81-metadata: what an upload learns of its content. Proves: GET
# /api/files/<id> carries "metadata"; a PNG, a GIF, a JPEG (APP0 before its
# SOF0) and a WebP (VP8L) give {"image": {format, width, height}} read from
# their headers, and every upload libmagic can describe gets its
# "description" (PNG image data, JPEG image data, GIF image data, Web/P,
# ASCII text, PDF document; an empty file "empty"); content libmagic does
# not know ("data") gives {}; a description holding quotes and a backslash
# (a gzip member's name) comes back as valid JSON with the same text; a new
# version of a file shows its new content's metadata; a second file with
# the same content shows the same metadata (it belongs to the blob);
# listings and upload answers leave metadata out. The text of text-like
# files (plain, Markdown, JSON, source code) is indexed: a word found only
# in the content finds the file through GET /api/search; the same word
# inside a binary file does not; text past the first 1 MiB is not indexed;
# invalid UTF-8 in a text file does not stop the rest from being indexed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib qw(crc32);
use Test::More;

use Coffer::Test qw(upload_ok random_bytes);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;

sub put {
	my ($name, $data, $type) = @_;
	my $f = upload_ok($alice->upload(files => [ [ $name, $data, $type ] ]), 1, [], "upload $name");
	return $f->[0] || {};
}

sub meta {
	my ($f) = @_;
	my $r = $alice->get("/api/files/$f->{id}");
	is $r->{status}, 200, "GET $f->{name}" or diag $r->describe;
	return ref $r->{json} eq 'HASH' ? $r->{json}{metadata} : undef;
}

sub found {
	my ($q) = @_;
	my $enc = join '', map { sprintf '%%%02X', ord } split //, $q;
	my $r = $alice->get("/api/search?q=$enc");
	is $r->{status}, 200, "search $q -> 200" or diag $r->describe;
	return [ sort map { $_->{item}{name} } @{ ref $r->{json} eq 'HASH' ? $r->{json}{items} : [] } ];
}

sub png {
	my ($w, $h) = @_;
	my $ihdr = pack('NNCCCCC', $w, $h, 8, 2, 0, 0, 0);
	my $chunk = pack('N', length $ihdr) . 'IHDR' . $ihdr . pack('N', crc32('IHDR' . $ihdr));
	my $iend = pack('N', 0) . 'IEND' . pack('N', crc32('IEND'));
	return "\x89PNG\r\n\x1a\n" . $chunk . $iend;
}

my $gif = 'GIF89a' . pack('vv', 321, 123) . "\x00\x00\x00" . ';';
my $jpeg = "\xFF\xD8" . "\xFF\xE0" . pack('n', 16) . "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
	. "\xFF\xC0" . pack('n', 17) . "\x08" . pack('nn', 480, 640) . "\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
	. "\xFF\xD9";
# VP8L: signature 0x2f, then 14 bits width-1, 14 bits height-1, alpha, version 0
my $bits = (100 - 1) | ((50 - 1) << 14);
my $vp8l = "\x2f" . pack('V', $bits) . "\x00" x 8;
my $webp = 'RIFF' . pack('V', 4 + 8 + length $vp8l) . 'WEBP' . 'VP8L' . pack('V', length $vp8l) . $vp8l;

# A one-page PDF (no text layer needed here: only libmagic looks at it).
my $pdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
# A gzip member whose name holds a quote and a backslash, which libmagic's
# description quotes: was "q"uote\back.txt"
my $gz = "\x1f\x8b\x08\x08" . "\0\0\0\0" . "\0\x03" . qq{q"uote\\back.txt\0}
	. "\xcb\xc8\x04\x00\xac\x2a\x93\xd8\x02\x00\x00\x00";

# Subtest: $f's metadata has exactly image $image (undef: none) and a
# description matching $desc (undef: none).
sub meta_ok {
	my ($f, $image, $desc, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	subtest $name => sub {
		my $m = meta($f);
		is ref $m, 'HASH', 'metadata is an object' or return;
		is_deeply [ sort keys %$m ], [ sort +(defined $image ? 'image' : ()), (defined $desc ? 'description' : ()) ],
			'its members: ' . (join(', ', +(defined $image ? 'image' : ()), (defined $desc ? 'description' : ())) || 'none');
		is_deeply $m->{image}, $image, 'image: ' . ($image ? "$image->{format} $image->{width}x$image->{height}" : 'none')
			if defined $image;
		like $m->{description} // '', $desc, "description: $m->{description}" if defined $desc;
	};
}

my $p = put('pixel.png', png(640, 480), 'image/png');
meta_ok $p, { format => 'png', width => 640, height => 480 },
	qr/^PNG image data, 640 x 480, 8-bit\/color RGB, non-interlaced$/, 'PNG: 640x480 from IHDR, described';
my $g = put('anim.gif', $gif, 'image/gif');
meta_ok $g, { format => 'gif', width => 321, height => 123 }, qr/^GIF image data, version 89a, 321 x 123$/, 'GIF: 321x123';
my $j = put('photo.jpg', $jpeg, 'image/jpeg');
meta_ok $j, { format => 'jpeg', width => 640, height => 480 }, qr/^JPEG image data, JFIF standard 1\.01\b/,
	'JPEG: 640x480 from SOF0 after APP0';
my $wb = put('pic.webp', $webp, 'image/webp');
meta_ok $wb, { format => 'webp', width => 100, height => 50 }, qr/\bWeb\/P image\b/, 'WebP (VP8L): 100x50';
my $t = put('plain.txt', "just words\n", 'text/plain');
meta_ok $t, undef, qr/^ASCII text$/, 'text: its description only';
my $d = put('minutes.pdf', $pdf, 'application/pdf');
meta_ok $d, undef, qr/^PDF document, version 1\.4\b/, 'PDF: "PDF document, version 1.4"';
meta_ok put('empty.txt', '', 'text/plain'), undef, qr/^empty$/, 'an empty file: "empty"';
meta_ok put('noise.bin', random_bytes(256), 'application/octet-stream'), undef, undef,
	'content libmagic does not know ("data"): {}';

# quotes and a backslash in a description: valid JSON, the same text
my $q = put('escapes.gz', $gz, 'application/gzip');
my $r = $alice->get("/api/files/$q->{id}");
is $r->{status}, 200, 'GET escapes.gz';
ok !defined $r->{json_error} && ref $r->{json} eq 'HASH', '... valid JSON' or diag $r->{json_error} // $r->{content};
is $r->{json}{metadata}{description}, q{gzip compressed data, was "q"uote\back.txt", from Unix},
	'... its description holds the quotes and the backslash as libmagic wrote them';
like $r->{content}, qr/was \\"q\\"uote\\\\back\.txt\\"/, '... escaped in the JSON text';

# a new version with other content shows that content's metadata
my $v = put('pixel.png', png(320, 200), 'image/png');
is $v->{id}, $p->{id}, 'pixel.png again: the same file';
is $v->{version}, 2, '... version 2';
meta_ok $v, { format => 'png', width => 320, height => 200 }, qr/^PNG image data, 320 x 200\b/,
	"the new version: its own content's size and description";

my $p2 = put('same-pixel.png', png(640, 480), 'image/png');
meta_ok $p2, { format => 'png', width => 640, height => 480 }, qr/^PNG image data, 640 x 480\b/,
	'the first content again, in another file: the same metadata';
ok !exists $p->{metadata}, 'the upload answer has no metadata';
my $list = $alice->get('/api/files');
ok !grep({ exists $_->{metadata} } @{ $list->{json}{items} || [] }), 'listings have none';

# content indexing
put('zoo.txt', "animals: a zebrafish and a quokka\n", 'text/plain');
put('notes.md', "# Plan\nfeed the quokka\n", 'text/markdown');
put('data.json', '{"animal": "axolotl"}', 'application/json');
put('main.c', "int wombat(void) { return 0; }\n", 'text/x-c');
put('blob.bin', "\x00\x01\x02 zebrafish axolotl \x00\xff", 'application/octet-stream');
is_deeply found('zebrafish'), ['zoo.txt'], 'a word of a text file finds it; the same word in a binary file does not';
is_deeply found('quokka'), [ 'notes.md', 'zoo.txt' ], 'Markdown too';
is_deeply found('axolotl'), ['data.json'], 'JSON too';
is_deeply found('wombat'), ['main.c'], 'source code too';
my $big = ('filler ' x 160000) . "needle\n";    # "needle" starts past 1 MiB
put('big.txt', $big, 'text/plain');
is_deeply found('needle'), [], 'text past the first 1 MiB is not indexed';
put('mixed.txt', "before \xff\xfe broken \xc3 bytes after okapi\n", 'text/plain');
is_deeply found('okapi'), ['mixed.txt'], 'invalid UTF-8 does not stop the rest of the text from being indexed';

done_testing;
