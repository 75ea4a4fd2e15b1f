#!/usr/bin/perl
# 82-pdf-text: the text of PDF files, extracted by the jobs process with
# pdftotext (poppler-utils), never on the request path. Proves: an upload
# of new PDF content answers at once and marks the blob text_pending; the
# jobs process then clears the mark and stores the text, so GET /api/search
# finds the PDF by a word of its text (matched "content", with a snippet);
# a second file with the same content needs no second extraction; a PDF
# pdftotext cannot read leaves no text and no mark behind, and the jobs
# process carries on with the next one. Skipped where pdftotext is not
# installed (scripts/deps.txt installs it).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;

use Coffer::Test qw(upload_ok wait_until);

plan skip_all => 'pdftotext is not installed' unless -x '/usr/bin/pdftotext';

my $s = Coffer::Test->stack;
my $alice = $s->register_user;

# A one-page PDF showing $text, with a correct cross-reference table.
sub pdf {
	my ($text) = @_;
	my $stream = "BT /F1 24 Tf 72 700 Td ($text) Tj ET";
	my @obj = (
		'<< /Type /Catalog /Pages 2 0 R >>',
		'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
		'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
			. '/Resources << /Font << /F1 5 0 R >> >> >>',
		'<< /Length ' . length($stream) . " >>\nstream\n$stream\nendstream",
		'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
	);
	my $out = "%PDF-1.4\n";
	my @off;
	for my $i (0 .. $#obj) {
		push @off, length $out;
		$out .= ($i + 1) . " 0 obj\n$obj[$i]\nendobj\n";
	}
	my $xref = length $out;
	$out .= "xref\n0 " . (@obj + 1) . "\n0000000000 65535 f \n";
	$out .= sprintf("%010d 00000 n \n", $_) for @off;
	$out .= "trailer\n<< /Size " . (@obj + 1) . " /Root 1 0 R >>\nstartxref\n$xref\n%%EOF\n";
	return $out;
}

sub found {
	my ($q) = @_;
	my $r = $alice->get("/api/search?q=$q");
	return ref $r->{json} eq 'HASH' ? $r->{json}{items} || [] : [];
}

sub pending {
	my ($data) = @_;
	return $s->psql("SELECT text_pending FROM blobs WHERE sha256 = decode('" . sha256_hex($data) . "', 'hex')");
}

my $doc = pdf('Minutes about the capybara enclosure');
my $f = upload_ok($alice->upload(files => [ [ 'minutes.pdf', $doc, 'application/pdf' ] ]), 1, [], 'upload a PDF');
is $f->[0]{mime_type}, 'application/pdf', 'stored as application/pdf';
ok wait_until(sub { pending($doc) eq 'f' && @{ found('capybara') } }, 30),
	'the jobs process extracted its text: a word of it finds the PDF';
my ($hit) = @{ found('capybara') };
is $hit->{item}{name}, 'minutes.pdf', '... the PDF';
is_deeply $hit->{matched}, ['content'], '... matched: content';
like $hit->{snippet} // '', qr{<mark>capybara</mark> enclosure}, '... with a snippet';
is $s->psql("SELECT count(*) FROM blob_text WHERE sha256 = decode('" . sha256_hex($doc) . "', 'hex')"), 1,
	'one text row for the content';

upload_ok($alice->upload(files => [ [ 'copy.pdf', $doc, 'application/pdf' ] ]), 1, [], 'the same PDF again');
is pending($doc), 'f', '... no new extraction is asked for';
is_deeply [ sort map { $_->{item}{name} } @{ found('capybara') } ], [ 'copy.pdf', 'minutes.pdf' ], '... both found';

my $junk = "%PDF-1.4\nthis is not really a PDF at all, no objects, no xref\n%%EOF\n";
upload_ok($alice->upload(files => [ [ 'broken.pdf', $junk, 'application/pdf' ] ]), 1, [], 'a PDF pdftotext cannot read');
my $next = pdf('Second file mentions a pangolin');
upload_ok($alice->upload(files => [ [ 'second.pdf', $next, 'application/pdf' ] ]), 1, [], 'and another PDF after it');
ok wait_until(sub { @{ found('pangolin') } }, 30), 'the next PDF is still extracted';
is pending($junk), 'f', 'the unreadable one is not left pending';
is $s->psql("SELECT count(*) FROM blob_text WHERE sha256 = decode('" . sha256_hex($junk) . "', 'hex')"), 0,
	'... and has no text';

done_testing;
