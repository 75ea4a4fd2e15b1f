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

use Coffer::Test qw(upload_ok wait_until pdf_text);

plan skip_all => 'pdftotext is not installed' unless -x '/usr/bin/pdftotext';

my $s = Coffer::Test->stack;
my $alice = $s->register_user;

sub found {
	my ($q) = @_;
	my $r = $alice->get("/api/search?q=$q");
	return ref $r->{json} eq 'HASH' ? $r->{json}{items} || [] : [];
}

sub pending {
	my ($data) = @_;
	return $s->psql("SELECT text_pending FROM blobs WHERE sha256 = decode('" . sha256_hex($data) . "', 'hex')");
}

my $doc = pdf_text('Minutes about the capybara enclosure');
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
my $next = pdf_text('Second file mentions a pangolin');
upload_ok($alice->upload(files => [ [ 'second.pdf', $next, 'application/pdf' ] ]), 1, [], 'and another PDF after it');
ok wait_until(sub { @{ found('pangolin') } }, 30), 'the next PDF is still extracted';
is pending($junk), 'f', 'the unreadable one is not left pending';
is $s->psql("SELECT count(*) FROM blob_text WHERE sha256 = decode('" . sha256_hex($junk) . "', 'hex')"), 0,
	'... and has no text';

done_testing;
