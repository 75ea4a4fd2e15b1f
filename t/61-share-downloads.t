#!/usr/bin/perl
# 61-share-downloads: fetching content through share links. Proves: a file
# link with permission download serves the file's bytes (GET, HEAD, Range)
# by the owner's download path, counts download_count and logs
# share_download in the owner's activity with the share id; a view link
# answers 403 forbidden; a download limit answers 410 share_expired once
# reached (pieces after the first do not count); a folder link serves files
# anywhere in its subtree by id, 404 for a file outside it, for another
# user's file, for a trashed file, and for /download of the folder link
# itself; a password link needs the password for downloads too; a revoked
# or expired link stops serving at once. A visitor learns nothing of the
# folders above a share: paths start at the shared folder, the shared
# folder's parent and a shared file's folder are not given. Once a limit is
# reached every request is refused (ranges, HEAD); answers without content
# (304, 400) do not use a download up. Tokens never reach the logs.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Coffer::Test qw(problem_ok sql_id);
use Coffer::Tree qw(mkdir_ok);

my $s = Coffer::Test->stack;
my $alice = $s->register_user;
my $bob = $s->register_user;
my $anon = $s->client;

sub up1 {
	my ($c, $name, $data, $folder) = @_;
	my $r = $c->upload(files => [ [ $name, $data ] ], ($folder ? (fields => [ folder_id => $folder ]) : ()));
	$r->{status} == 201 or die "upload $name: " . $r->describe;
	return $r->{json}{files}[0];
}

sub share {
	my ($c, $kind, $id, %o) = @_;
	my $r = $c->post_json("/api/${kind}s/$id/share", {%o});
	$r->{status} == 201 or die "share $kind $id: " . $r->describe;
	return $r->{json};
}

my $pub = mkdir_ok($alice, 'Pub');
my $deep = mkdir_ok($alice, 'deep', mkdir_ok($alice, 'mid', $pub->{id})->{id});
my $f1 = up1($alice, 'one.txt', "first file\n", $pub->{id});
my $f2 = up1($alice, 'two.txt', "second, deeper\n", $deep->{id});
my $out = up1($alice, 'outside.txt', "not shared\n");
my $bobs = up1($bob, 'bob.txt', "bob's\n");

# ---- a file link
my $l = share($alice, 'file', $f1->{id});
my $r = $anon->get("/api/shares/$l->{token}/download");
is $r->{status}, 200, 'file link: GET download -> 200' or diag $r->describe;
is $r->{content}, "first file\n", '... the bytes';
like $r->header('content-disposition') // '', qr/one\.txt/, '... named';
is $r->header('etag'), '"' . $f1->{sha256} . '"', '... with the content ETag';
$r = $anon->request(HEAD => "/api/shares/$l->{token}/download");
is $r->{status}, 200, 'HEAD -> 200';
$r = $anon->get("/api/shares/$l->{token}/download", { headers => { Range => 'bytes=6-9' } });
is $r->{status}, 206, 'Range -> 206';
is $r->{content}, 'file', '... the range';
$s->settle_downloads;
is $s->psql("SELECT download_count FROM shares WHERE id = '" . sql_id($l->{id}) . "'"), 1,
	'download_count: the whole download (HEAD and the later piece do not count)';
is $s->psql("SELECT count(*) FROM activity_log WHERE action = 'share_download' AND user_id = '$alice->{user}{id}'
	AND details->>'share_id' = '" . sql_id($l->{id}) . "'"), 1, "share_download in the owner's activity";

# ---- view links and limits
my $v = share($alice, 'file', $f1->{id}, permission => 'view');
problem_ok $anon->get("/api/shares/$v->{token}/download"), 403, 'forbidden', 'view link: download -> 403';
my $lim = share($alice, 'file', $f1->{id}, download_limit => 2);
is $anon->get("/api/shares/$lim->{token}/download")->{status}, 200, 'limit 2: first download';
is $anon->get("/api/shares/$lim->{token}/download", { headers => { Range => 'bytes=3-5' } })->{status}, 206,
	'... a later piece (not counted)';
is $anon->get("/api/shares/$lim->{token}/download")->{status}, 200, '... second download';
problem_ok $anon->get("/api/shares/$lim->{token}/download"), 410, 'share_expired', '... third: 410';
problem_ok $anon->get("/api/shares/$lim->{token}/download", { headers => { Range => 'bytes=-100' } }), 410,
	'share_expired', '... a suffix range too';
problem_ok $anon->get("/api/shares/$lim->{token}/download", { headers => { Range => 'junk' } }), 410,
	'share_expired', '... and a malformed range (which would be ignored)';
is $anon->request(HEAD => "/api/shares/$lim->{token}/download")->{status}, 410, '... and HEAD';
my $lim1 = share($alice, 'file', $f1->{id}, download_limit => 1);
is $anon->get("/api/shares/$lim1->{token}/download", { headers => { 'If-None-Match' => '"' . $f1->{sha256} . '"' } })->{status},
	304, 'limit 1: a conditional GET answered 304 ...';
is $anon->get("/api/shares/$lim1->{token}/download?disposition=bogus")->{status}, 400, '... and a bad request ...';
is $anon->get("/api/shares/$lim1->{token}/download")->{status}, 200, '... do not use the download up';
problem_ok $anon->get("/api/shares/$lim1->{token}/download"), 410, 'share_expired', '... the real one did';

# ---- a folder link
my $fl = share($alice, 'folder', $pub->{id});
$r = $anon->get("/api/shares/$fl->{token}/files/$f2->{id}/download");
is $r->{status}, 200, 'folder link: a file two levels down -> 200' or diag $r->describe;
is $r->{content}, "second, deeper\n", '... its bytes';
problem_ok $anon->get("/api/shares/$fl->{token}/files/$out->{id}/download"), 404, 'not_found',
	"the owner's file outside the folder -> 404";
problem_ok $anon->get("/api/shares/$fl->{token}/files/$bobs->{id}/download"), 404, 'not_found',
	"another user's file -> 404";
problem_ok $anon->get("/api/shares/$fl->{token}/download"), 404, 'not_found', '/download of a folder link -> 404';
is $alice->delete("/api/files/$f2->{id}")->{status}, 204, 'the deep file goes to the trash';
problem_ok $anon->get("/api/shares/$fl->{token}/files/$f2->{id}/download"), 404, 'not_found', '... and is no longer served';

# ---- passwords, revocation, expiry
my $pw = share($alice, 'file', $f1->{id}, password => 'open sesame');
problem_ok $anon->get("/api/shares/$pw->{token}/download"), 401, 'share_password_required', 'password link: no password -> 401';
problem_ok $anon->get("/api/shares/$pw->{token}/download", { headers => { 'X-Share-Password' => 'nope nope' } }),
	401, 'share_password_invalid', '... wrong -> 401';
is $anon->get("/api/shares/$pw->{token}/download", { headers => { 'X-Share-Password' => 'open sesame' } })->{status},
	200, '... right -> 200';
is $alice->delete("/api/shares/$l->{id}")->{status}, 204, 'revoke the file link';
problem_ok $anon->get("/api/shares/$l->{token}/download"), 404, 'not_found', '... it stops serving at once';
$s->psql("UPDATE shares SET expires_at = now() - interval '1 minute' WHERE id = '" . sql_id($fl->{id}) . "'");
problem_ok $anon->get("/api/shares/$fl->{token}/files/$f1->{id}/download"), 410, 'share_expired', 'an expired folder link -> 410';

# ---- what a visitor learns of the folders above a share: nothing
my $private = mkdir_ok($alice, 'Private');
my $inner = mkdir_ok($alice, 'Inner', $private->{id});
my $leaf = mkdir_ok($alice, 'leaf', $inner->{id});
my $doc = up1($alice, 'doc.txt', "inner doc\n", $inner->{id});
my $il = share($alice, 'folder', $inner->{id});
$r = $anon->get("/api/shares/$il->{token}");
is $r->{status}, 200, 'a link on a nested folder' or diag $r->describe;
is $r->{json}{item}{path}, '/Inner', '... its path starts at the shared folder';
is $r->{json}{item}{parent_id}, undef, '... and its parent is not given';
is_deeply [ map { $_->{path} // $_->{name} } @{ $r->{json}{items} || [] } ], [ '/Inner/leaf', 'doc.txt' ],
	'... nor in the paths of what it lists';
$r = $anon->get("/api/shares/$il->{token}?folder_id=$leaf->{id}");
is $r->{json}{item}{path}, '/Inner/leaf', '... nor of a folder below';
my $dl = share($alice, 'file', $doc->{id});
$r = $anon->get("/api/shares/$dl->{token}");
is $r->{json}{item}{folder_id}, undef, "a file link does not give the file's folder";
is_deeply $r->{json}{share}, { kind => 'file', permission => 'download', expires_at => undef },
	'the share part: kind, permission, expiry';

# ---- tokens are credentials: they stay out of the logs
{
	my $all = '';
	for my $log ($s->nginx_log_path, $s->log_path) {
		open my $fh, '<', $log or next;
		local $/;
		$all .= <$fh>;
	}
	ok length $all, 'the access and worker logs have lines';
	my @seen = grep { index($all, $_->{token}) >= 0 } ($l, $v, $lim, $fl, $pw, $il, $dl);
	is scalar @seen, 0, 'no share token appears in the nginx access log or the worker log'
		or diag 'found: ' . join ', ', map { $_->{token} } @seen;
	like $all, qr{/api/shares/cfs_<token>}, '... they are logged as cfs_<token>';
}

done_testing;
