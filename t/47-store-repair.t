#!/usr/bin/perl
# 47-store-repair: the blob store when things disagree or race.
# Proves: several compressors at once (two `coffer-admin compress` next to the
# jobs process) never lose a blob, also after the raw copy is removed; gc
# repairs a row whose files were lost or restored from another moment (a
# .gz missing: back to raw; only the .gz there: recorded as gzip) instead of
# deleting the last copy, and the file downloads byte-exact afterwards.
# Also the small contract points around uploads and downloads: GET on
# /api/upload is 405 with Allow: POST (the nginx pre-check); a cross-origin
# download varies on Origin and Accept-Encoding in one header; the activity
# of a renamed upload names the stored name; a bad field is forgotten when
# the same field comes again, valid.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep);

use Coffer::Test qw(upload_ok sql_id wait_until);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;

sub blob_state {
	my ($hex) = @_;
	my ($r) = $s->psql_rows("SELECT compression, raw_removed FROM blobs WHERE sha256 = decode('$hex', 'hex')");
	return $r ? "$r->[0]/$r->[1]" : 'none';
}

sub up1 {
	my ($name, $data, %o) = @_;
	my $files = upload_ok($alice->upload(files => [ [ $name, $data ] ], %o), 1, [], "upload $name");
	return $files->[0] || {};
}

sub dl_ok {
	my ($f, $data, $name) = @_;
	my $r = $alice->get('/api/files/' . sql_id($f->{id}) . '/download');
	is $r->{status}, 200, "$name: download 200";
	ok defined $r->{content} && $r->{content} eq $data, "$name: byte-exact"
		or diag 'got ' . length($r->{content} // '') . ' bytes';
}

# A few MiB of compressible text, different per call.
my $seq = 0;
sub text_of {
	my ($lines) = @_;
	$seq++;
	return join '', map { "log line $_ of set $seq: user=alice action=upload status=ok\n" } 1 .. $lines;
}

# ------------------------------------------------------------ concurrent compressors

{
	my $data = text_of(60_000);
	my $hex = sha256_hex($data);
	my $f = up1('big.log', $data);
	my @kids;
	for (1 .. 2) {
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			my $r = $s->admin('compress');
			POSIX::_exit($r->{exit});
		}
		push @kids, $pid;
	}
	my $fails = 0;
	for (@kids) { waitpid $_, 0; $fails++ if $? }
	is $fails, 0, 'two coffer-admin compress runs next to the jobs process succeed';
	ok wait_until(sub { blob_state($hex) eq 'gzip/t' }, 30), 'the blob ends up gzip with its raw copy removed';
	ok -f $s->blob_path($hex, 1), '... and its .gz is on disk';
	ok !-e $s->blob_path($hex), '... the raw file is gone';
	dl_ok($f, $data, 'after concurrent compression');
	my $r = $s->gc('--grace', 0);
	is $r->{exit}, 0, 'gc runs';
	dl_ok($f, $data, 'after gc');
}

# ------------------------------------------------------------ repairs

{
	# the .gz is lost while the raw copy is still there
	my $data = text_of(20_000);
	my $hex = sha256_hex($data);
	my $f = up1('lost-gz.log', $data);
	ok wait_until(sub { blob_state($hex) =~ /^gzip/ }, 30), 'compressed in the background';
	# keep the raw copy around: pretend it was just compressed
	$s->psql("UPDATE blobs SET compressed_at = now() + interval '1 hour', raw_removed = false WHERE sha256 = decode('$hex', 'hex')");
	if (!-e $s->blob_path($hex)) {
		# the jobs process removed it already: put the original back
		open my $fh, '>:raw', $s->blob_path($hex) or die $!;
		print $fh $data;
		close $fh;
	}
	unlink $s->blob_path($hex, 1) or die "unlink: $!";
	my $r = $s->gc('--grace', 0);
	is $r->{exit}, 0, 'gc with the .gz missing';
	like $r->{out}, qr/\b1 rows repaired/, '... reports one repaired row';
	is blob_state($hex), 'none/f', 'gc records the blob as raw again instead of losing it';
	ok wait_until(sub { blob_state($hex) =~ /^gzip/ }, 30), '... and it is compressed again later';
	ok -f $s->blob_path($hex), '... the raw copy is kept';
	dl_ok($f, $data, 'lost .gz');
}

{
	# a database from before compression, a volume from after it
	my $data = text_of(20_000);
	my $hex = sha256_hex($data);
	my $f = up1('restored.log', $data);
	ok wait_until(sub { blob_state($hex) eq 'gzip/t' }, 30), 'compressed, raw copy removed';
	$s->psql("UPDATE blobs SET compression = 'none', stored_size = size, compressed_at = NULL, raw_removed = false WHERE sha256 = decode('$hex', 'hex')");
	my $r = $s->gc('--grace', 0);
	is $r->{exit}, 0, 'gc with only the .gz on disk and the row saying raw';
	like $r->{out}, qr/\b1 rows repaired/, '... reports one repaired row';
	is blob_state($hex), 'gzip/t', 'gc records the .gz instead of deleting the last copy';
	ok -f $s->blob_path($hex, 1), '... the .gz is kept';
	dl_ok($f, $data, 'row restored from before compression');
}

# ------------------------------------------------------------ contract points

{
	my $r = $alice->get('/api/upload');
	is $r->{status}, 405, 'GET /api/upload: 405 (the pre-check maps the refusal back)';
	is $r->header('allow'), 'POST', '... Allow: POST';
	is $r->{json} && $r->{json}{code}, 'method_not_allowed', '... code method_not_allowed';
}

{
	my $f = up1('vary.txt', "hello\n");
	my $r = $alice->get('/api/files/' . sql_id($f->{id}) . '/download',
		{ headers => { Origin => $s->allowed_origin } });
	is $r->{status}, 200, 'cross-origin download';
	my @vary = $r->header('vary');
	is scalar @vary, 1, '... one Vary header' or diag "@vary";
	is $vary[0], 'Origin, Accept-Encoding', '... on Origin and Accept-Encoding';
	like $r->header('access-control-expose-headers') // '', qr/\bContent-Disposition\b/,
		'... Content-Disposition is exposed to the page';
}

{
	up1('same.txt', "one\n");
	my $f = up1('same.txt', "two\n", fields => { on_conflict => 'rename' });
	is $f->{name}, 'same (1).txt', 'rename stores "same (1).txt"';
	my $logged = $s->psql("SELECT target_name FROM activity_log WHERE action = 'upload' AND target_id = '" . sql_id($f->{id}) . "'");
	is $logged, 'same (1).txt', '... and the activity names the stored name';
}

{
	my $r = $alice->upload(parts => [
		{ field => 'on_conflict', value => 'sideways' },
		{ field => 'on_conflict', value => 'rename' },
		[ 'after-fix.txt', "ok\n" ],
	]);
	is $r->{status}, 201, 'a bad on_conflict then a good one: the file is stored';
	my $j = $r->{json} || {};
	is scalar @{ $j->{files} || [] }, 1, '... one file';
	is scalar @{ $j->{errors} || [] }, 1, '... and one error entry, for the bad field';
}

done_testing;
