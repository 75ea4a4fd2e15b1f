#!/usr/bin/perl
# 81-metadata: what an upload learns of its content. Proves: GET
# /api/files/<id> carries "metadata"; a PNG, a GIF, a JPEG (APP0 before its
# SOF0) and a WebP (VP8L) give {"image": {format, width, height}} read from
# their headers; text and other content give {}; a second file with the same
# content shows the same metadata (it belongs to the blob); listings and
# upload answers leave metadata out. The text of text-like files (plain,
# Markdown, JSON, source code) is indexed: a word found only in the content
# finds the file through GET /api/search; the same word inside a binary file
# does not; text past the first 1 MiB is not indexed; invalid UTF-8 in a
# text file does not stop the rest from being indexed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib qw(crc32);
use Test::More;

use Coffer::Test qw(upload_ok);

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

my $p = put('pixel.png', png(640, 480), 'image/png');
is_deeply meta($p), { image => { format => 'png', width => 640, height => 480 } }, 'PNG: 640x480 from IHDR';
my $g = put('anim.gif', $gif, 'image/gif');
is_deeply meta($g), { image => { format => 'gif', width => 321, height => 123 } }, 'GIF: 321x123';
my $j = put('photo.jpg', $jpeg, 'image/jpeg');
is_deeply meta($j), { image => { format => 'jpeg', width => 640, height => 480 } }, 'JPEG: 640x480 from SOF0 after APP0';
my $wb = put('pic.webp', $webp, 'image/webp');
is_deeply meta($wb), { image => { format => 'webp', width => 100, height => 50 } }, 'WebP (VP8L): 100x50';
my $t = put('plain.txt', "just words\n", 'text/plain');
is_deeply meta($t), {}, 'text: {}';
my $p2 = put('same-pixel.png', png(640, 480), 'image/png');
is_deeply meta($p2), { image => { format => 'png', width => 640, height => 480 } }, 'the same content again: the same metadata';
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
