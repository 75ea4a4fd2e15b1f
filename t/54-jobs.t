#!/usr/bin/perl
# 54-jobs: background jobs through the real stack (jobs_threshold 20 on the
# test stack). Proves: a move of 20 items is answered at once (200) and one
# of 21 becomes a job: 202 {"job": <job object>} with Location
# /api/jobs/<id>; a copy counts the items of folder subtrees (a folder of
# 18 files is 19 items: 200; of 25 files, 26: 202); bulk delete, DELETE of a
# folder with a big subtree and emptying a big trash are jobs too; GET
# /api/jobs/<id> goes queued -> running -> succeeded with done rising to
# total and reports the per-item results (items and errors: 404 unknown or
# another user's, 409 name_conflict) exactly as the synchronous answer
# would; the jobs applied everything (tree, trash units, usage, totals and
# blob reference counts checked); GET /api/jobs lists the caller's jobs newest
# first, paged; another user's job is 404. RECOVERY: a copy job of many
# folders killed (SIGKILL of coffer-jobs) while running with done > 0 is
# resumed by the restarted runner and finishes succeeded with every item
# copied exactly once (no duplicate, nothing missing, totals and usage
# exact); the same for a bulk delete job. A runner stopped cleanly
# (SIGTERM) gives its job back without counting an attempt, and the next
# one finishes it; maintenance removes jobs finished over a week ago.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use Coffer::Test qw(problem_ok upload_ok random_bytes sql_id wait_until api_epoch);
use Coffer::Tree qw(mkdir_ok list_all tree_consistent job_wait uuid);

my $s = Coffer::Test->stack;
my $T = $s->config('jobs_threshold') // 1000;
plan skip_all => "jobs_threshold is $T on this stack; these tests need 20" unless $T == 20;

my $alice = $s->register_user;
my $bob = $s->register_user;
my $aroot = $alice->{user}{root_folder_id};
my $broot = $bob->{user}{root_folder_id};
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $t0 = time;
my @alice_jobs;    # ids of alice's jobs, in the order they were made

# Upload $n files named f001.. (content $data, or fresh random bytes) into
# $folder in one request; returns the file objects in name order.
sub fill {
	my ($c, $folder, $n, $data, $prefix) = @_;
	my @files = map { [ sprintf('%s%03d', $prefix // 'f', $_), $data // random_bytes(100 + $_) ] } 1 .. $n;
	my $r = $c->upload(files => \@files, fields => [ folder_id => $folder ]);
	return upload_ok($r, $n, [], "upload $n files");
}
# The same, quietly (no test unless it fails); for building big trees.
sub fill_quiet {
	my ($c, $folder, $n, $data) = @_;
	my @files = map { [ sprintf('f%03d', $_), $data ] } 1 .. $n;
	my $r = $c->upload(files => \@files, fields => [ folder_id => $folder ]);
	die "upload into $folder: " . $r->describe unless $r->{status} == 201 && @{ $r->{json}{files} || [] } == $n;
	return $r->{json}{files};
}

sub bulk {
	my ($c, $op, $ids, $target, %o) = @_;
	return $c->post_json("/api/files/$op",
		{ item_ids => $ids, (defined $target ? (target_folder_id => $target) : ()), %o });
}

my @JOB_FIELDS = qw(id kind state total done result error created_at started_at finished_at);

# Subtest: $r is 202 {"job": <job object of $kind>} with Location
# /api/jobs/<id>. Returns the job object (or {}).
sub job_accepted_ok {
	my ($r, $kind, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $j = ref $r->{json} eq 'HASH' && ref $r->{json}{job} eq 'HASH' ? $r->{json}{job} : {};
	subtest $name => sub {
		is $r->{status}, 202, '202 Accepted' or diag $r->describe;
		like $r->header('content-type') // '', qr{^application/json}, 'JSON';
		is_deeply [ keys %{ $r->{json} || {} } ], ['job'], 'exactly {job}';
		like $j->{id} // '', $UUID, 'job.id is a UUID';
		is $j->{kind}, $kind, "job.kind $kind";
		like $j->{state} // '', qr/^(?:queued|running|succeeded)$/, 'job.state queued, running or succeeded';
		ok exists $j->{$_}, "job.$_ present" for @JOB_FIELDS;
		like $r->header('location') // '', qr{(?:^|/)api/jobs/\Q@{[ $j->{id} // 'none' ]}\E$}, 'Location: /api/jobs/<id>';
	};
	push @alice_jobs, $j->{id} if $j->{id} && $r->{json}{job};
	return $j;
}

# Subtest: $job finished: succeeded, done = total, no error, timestamps in
# order, result {items, errors}. Returns the result (or {}).
sub job_done_ok {
	my ($job, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $res = ref $job->{result} eq 'HASH' ? $job->{result} : {};
	subtest $name => sub {
		is $job->{state}, 'succeeded', 'state succeeded' or diag $Coffer::Test::JSON->encode($job);
		is $job->{done}, $job->{total}, "done = total ($job->{total})";
		is $job->{error}, undef, 'error null';
		like $job->{$_} // '', $TIME, "$_ RFC 3339 UTC" for qw(created_at started_at finished_at);
		ok((api_epoch($job->{created_at}) // 9e9) <= (api_epoch($job->{started_at}) // 0)
			&& (api_epoch($job->{started_at}) // 9e9) <= (api_epoch($job->{finished_at}) // 0), 'created_at <= started_at <= finished_at');
		is ref $res->{items}, 'ARRAY', 'result.items is an array';
		is ref $res->{errors}, 'ARRAY', 'result.errors is an array';
	};
	return $res;
}

# {id => code} of a result's errors.
sub error_codes {
	my ($res) = @_;
	return { map { (($_->{id} // '?') => ($_->{error}{code} // '?')) } @{ $res->{errors} || [] } };
}

sub loc {
	my ($id) = @_;
	$id = sql_id($id);
	my ($r) = $s->psql_rows("SELECT folder_id::text, name, is_deleted FROM files WHERE id = '$id'
		UNION ALL SELECT coalesce(parent_id::text, '-'), name, is_deleted FROM folders WHERE id = '$id'");
	return 'none' unless $r;
	return "$r->[0]/$r->[1]" . ($r->[2] eq 't' ? ' (trashed)' : '');
}
sub folder_totals {
	my ($c, $id) = @_;
	my $r = $c->get('/api/folders/' . sql_id($id));
	return [ $r->{json}{file_count}, $r->{json}{total_size} ];
}
sub trash_ids { my ($items) = list_all($_[0], '/api/trash', 1000); return [ map { $_->{id} } @$items ] }

# ------------------------------------------------------------ move: 20 at once, 21 as a job

my $j1 = mkdir_ok($alice, 'J1');
my $k = mkdir_ok($alice, 'K');
my $l = mkdir_ok($alice, 'L');
my @f = @{ fill($alice, $j1->{id}, 21) };
my @fid = map { $_->{id} } @f;
my $bytes21 = 0;
$bytes21 += $_->{size} for @f;
my $r = bulk($alice, move => [ @fid[ 0 .. 19 ] ], $k->{id});
is $r->{status}, 200, 'move of 20 items (= jobs_threshold): 200 at once' or diag $r->describe;
is scalar @{ $r->{json}{items} || [] }, 20, '... 20 items moved';
is_deeply folder_totals($alice, $k->{id}), [ 20, $bytes21 - $f[20]{size} ], 'K holds 20 files';

$r = bulk($alice, move => \@fid, $l->{id});
my $job = job_accepted_ok($r, 'move', 'move of 21 items: 202 job');
is $job->{total}, 21, 'total 21';
my (@states, @dones, $bad_poll);
my $final;
wait_until(sub {
	my $g = $alice->get('/api/jobs/' . sql_id($job->{id}));
	if ($g->{status} != 200) { $bad_poll = $g->describe; return 1 }
	push @states, $g->{json}{state};
	push @dones, $g->{json}{done};
	$final = $g->{json};
	return $final->{state} =~ /^(?:succeeded|failed)$/;
}, 60, 0.01);
is $bad_poll, undef, 'GET /api/jobs/<id> answered 200 all along';
my %rank = (queued => 0, running => 1, succeeded => 2, failed => 2);
my @order = map { $rank{ $_ // '' } // -1 } @states;
ok !grep({ $order[$_] < $order[ $_ - 1 ] || $order[$_] < 0 } 1 .. $#order), 'states only move forward (queued -> running -> succeeded)'
	or diag "states seen: @states";
ok !grep({ ($dones[$_] // 0) < ($dones[ $_ - 1 ] // 0) } 1 .. $#dones), 'done never goes back' or diag "done seen: @dones";
my $res = job_done_ok($final || {}, 'the move job finished');
is_deeply [ sort map { $_->{id} // '' } @{ $res->{items} || [] } ], [ sort @fid ], 'result.items: the 21 files';
ok !grep({ ($_->{folder_id} // '') ne $l->{id} } @{ $res->{items} || [] }), '... each with folder_id L';
is_deeply $res->{errors}, [], 'result.errors: none';
is_deeply [ map { loc($_) } @fid ], [ map { "$l->{id}/$_->{name}" } @f ], 'all 21 files are in L';
is_deeply folder_totals($alice, $l->{id}), [ 21, $bytes21 ], 'L totals: 21 files';
is_deeply folder_totals($alice, $k->{id}), [ 0, 0 ], 'K is empty';
tree_consistent($s, 'after the move job', $alice);
diag sprintf 'move job of 21: states %s', join ' ', map { "$states[$_]/$dones[$_]" } grep { $_ == 0 || $states[$_] ne $states[ $_ - 1 ] || $dones[$_] != $dones[ $_ - 1 ] } 0 .. $#states;

# per-item results of a job: successes next to failures
my $m = mkdir_ok($alice, 'M');
my $clash = fill($alice, $m->{id}, 1)->[0] || {};    # M/f001 clashes with L/f001
my $bob_file = fill($bob, $broot, 1, undef, 'bob')->[0] || {};
my $unknown = uuid();
$r = bulk($alice, move => [ @fid, $unknown, $bob_file->{id} ], $m->{id});
$job = job_accepted_ok($r, 'move', "move of 21 files (one clashing), an unknown id and bob's file into M: 202");
is $job->{total}, 23, 'total 23';
$res = job_done_ok(job_wait($alice, $job->{id}, 60), 'the job finished');
is_deeply [ sort map { $_->{id} // '' } @{ $res->{items} || [] } ], [ sort @fid[ 1 .. 20 ] ], 'result.items: the 20 files that could move';
is_deeply error_codes($res), { $fid[0] => 'name_conflict', $unknown => 'not_found', $bob_file->{id} => 'not_found' },
	'result.errors: name_conflict, not_found, not_found';
ok !grep({ !defined $_->{error}{status} || !defined $_->{error}{title} } @{ $res->{errors} || [] }), '... each error a problem object';
is loc($fid[0]), "$l->{id}/f001", 'the clashing f001 stayed in L';
is loc($bob_file->{id}), "$broot/bob001", "bob's file untouched";
is_deeply folder_totals($alice, $m->{id}), [ 21, $bytes21 - $f[0]{size} + $clash->{size} ], 'M: its own f001 and the 20 moved files';
tree_consistent($s, 'after the move job with errors');

# ------------------------------------------------------------ copy: subtree items count

my $c18 = mkdir_ok($alice, 'C18');
fill($alice, $c18->{id}, 18);
my $d = mkdir_ok($alice, 'D');
$r = bulk($alice, copy => [ $c18->{id} ], $d->{id});
is $r->{status}, 200, 'copy of a folder with 18 files (19 items): 200 at once' or diag $r->describe;
is $r->{json}{items}[0]{file_count}, 18, '... the copy has 18 files';
my $c25 = mkdir_ok($alice, 'C25');
my @c25f = @{ fill($alice, $c25->{id}, 25) };
my $use = $s->usage($alice)->{used};
my $bytes25 = 0;
$bytes25 += $_->{size} for @c25f;
$r = bulk($alice, copy => [ $c25->{id} ], $d->{id});
$job = job_accepted_ok($r, 'copy', 'copy of one folder with 25 files (26 items): 202 job');
$res = job_done_ok(job_wait($alice, $job->{id}, 60), 'the copy job finished');
my @new = @{ $res->{items} || [] };
is scalar @new, 1, 'result.items: one new folder';
is_deeply [ @{ $new[0] || {} }{qw(kind name parent_id file_count total_size)} ], [ 'folder', 'C25', $d->{id}, 25, $bytes25 ],
	'... C25 in D with 25 files';
isnt $new[0]{id}, $c25->{id}, '... a new id';
is_deeply $res->{errors}, [], 'result.errors: none';
my $newid = sql_id($new[0]{id});
is_deeply [ map { "@$_" } $s->psql_rows("SELECT name, encode(sha256, 'hex'), size, version FROM files WHERE folder_id = '$newid' AND NOT is_deleted ORDER BY name") ],
	[ map { "$_->{name} $_->{sha256} $_->{size} 1" } @c25f ], 'the copy holds the 25 files: same names, contents, sizes, version 1';
is $s->usage($alice)->{used}, $use + $bytes25, 'usage rose by the 25 files';
tree_consistent($s, 'after the copy job', $alice);

# ------------------------------------------------------------ delete: bulk, a folder, the trash

my $del = mkdir_ok($alice, 'Del');
my @df = @{ fill($alice, $del->{id}, 22) };
$use = $s->usage($alice)->{used};
my $bytes22 = 0;
$bytes22 += $_->{size} for @df;
$r = $alice->post_json('/api/files/delete', { item_ids => [ map { $_->{id} } @df ] });
$job = job_accepted_ok($r, 'delete', 'POST /api/files/delete of 22 files: 202 job');
$res = job_done_ok(job_wait($alice, $job->{id}, 60), 'the delete job finished');
is_deeply [ sort map { join ':', @$_{qw(kind id name)} } @{ $res->{items} || [] } ], [ sort map { "file:$_->{id}:$_->{name}" } @df ],
	'result.items: {kind, id, name} of the 22 files';
is $s->usage($alice)->{used}, $use - $bytes22, 'their usage is released';
my %intrash = map { $_ => 1 } @{ trash_ids($alice) };
is scalar(grep { $intrash{ $_->{id} } } @df), 22, 'each of the 22 is its own unit in the trash';
is_deeply folder_totals($alice, $del->{id}), [ 0, 0 ], 'Del is empty';
tree_consistent($s, 'after the bulk delete job', $alice);

my $big = mkdir_ok($alice, 'Big');
my $bigsub = mkdir_ok($alice, 'sub', $big->{id});
fill($alice, $big->{id}, 12);
fill($alice, $bigsub->{id}, 12);
$use = $s->usage($alice)->{used};
my $bigbytes = folder_totals($alice, $big->{id})->[1];
$r = $alice->delete("/api/folders/$big->{id}");
$job = job_accepted_ok($r, 'delete', 'DELETE /api/folders/<id> of a subtree of 26 items: 202 job');
$res = job_done_ok(job_wait($alice, $job->{id}, 60), 'the folder delete job finished');
is $alice->get("/api/folders/$big->{id}")->{status}, 404, 'the folder is gone (404)';
my ($unit) = grep { ($_->{id} // '') eq $big->{id} } @{ (list_all($alice, '/api/trash', 1000))[0] };
is_deeply [ @{ $unit || {} }{qw(kind file_count size)} ], [ 'folder', 24, $bigbytes ], 'one unit in the trash: Big with its 24 files';
is $s->psql("SELECT count(*) FROM files WHERE trash_id = '$big->{id}'"), 24, 'its files belong to the unit';
is $s->usage($alice)->{used}, $use - $bigbytes, 'usage released';
tree_consistent($s, 'after the folder delete job', $alice);

my $ntrash = scalar @{ trash_ids($alice) };
my $nfiles = $s->psql("SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND is_deleted");
$use = $s->usage($alice)->{used};
$r = $alice->delete('/api/trash');
$job = job_accepted_ok($r, 'empty_trash', "DELETE /api/trash with $ntrash units ($nfiles files): 202 job");
$res = job_done_ok(job_wait($alice, $job->{id}, 60), 'the empty-trash job finished');
is_deeply trash_ids($alice), [], 'the trash is empty';
is $s->psql("SELECT (SELECT count(*) FROM files WHERE user_id = '$alice->{user}{id}' AND is_deleted)
	+ (SELECT count(*) FROM folders WHERE user_id = '$alice->{user}{id}' AND is_deleted)"), 0, 'no trashed row left';
is $s->usage($alice)->{used}, $use, 'usage unchanged';
tree_consistent($s, 'after the empty-trash job');

# ------------------------------------------------------------ GET /api/jobs, and whose jobs

my ($list, $pages) = list_all($alice, '/api/jobs', 2);
is_deeply [ map { $_->{id} } @$list ], [ reverse @alice_jobs ], 'GET /api/jobs: every job of alice, newest first';
cmp_ok $pages, '>=', 3, "... over $pages pages of 2";
ok !grep({ my $x = $_; grep { !exists $x->{$_} } qw(id kind state total done created_at) } @$list), '... each a job object';
ok !grep({ ($_->{state} // '') ne 'succeeded' } @$list), '... all succeeded';
is_deeply $bob->get('/api/jobs')->{json}{items}, [], "bob's list is empty";
for my $id (@alice_jobs[ 0, -1 ]) {
	problem_ok($bob->get("/api/jobs/$id"), 404, 'not_found', "bob GET alice's job -> 404");
}
problem_ok($alice->get('/api/jobs/' . uuid()), 404, 'not_found', 'an unknown job -> 404');
problem_ok($s->client->get("/api/jobs/$alice_jobs[0]"), 401, 'unauthenticated', 'without credentials -> 401');
problem_ok($alice->get('/api/jobs?limit=0'), 400, 'invalid_request', 'GET /api/jobs?limit=0 -> 400');

# ------------------------------------------------------------ recovery: kill the runner mid-job

diag sprintf "before the recovery tests: %.1f s", time - $t0;
my $carol = $s->register_user;
my $croot = $carol->{user}{root_folder_id};
my $content = random_bytes(64);
my $FILES = $T;    # files per folder: copied in at once (a copy of $T items is not a job)
my $tseed = time;
my $seed = mkdir_ok($carol, 'seed');
my @seed = map { $_->{id} } @{ fill_quiet($carol, $seed->{id}, $FILES, $content) };
my ($caught, @tries);
my ($src, $target, @srcf, $cjob, $done_at_kill, $killed_pid);
my $serial = 0;

# Poll the job as fast as the API answers until it is running with
# 0 < done < total (returns that job object), or has finished (undef).
sub catch_running {
	my ($c, $id, $timeout) = @_;
	my $end = time + ($timeout // 60);
	while (time < $end) {
		my $g = $c->get("/api/jobs/$id");
		return undef unless $g->{status} == 200;
		my $j = $g->{json};
		return $j if $j->{state} eq 'running' && $j->{done} > 0 && $j->{done} < $j->{total};
		return undef if $j->{state} eq 'succeeded' || $j->{state} eq 'failed';
	}
	return undef;
}

# Many folders of $FILES files each: made with POST /api/folders and one
# synchronous copy of the seed's files into each (much faster than uploads).
sub build_source {
	my ($name, $n) = @_;
	my $src = mkdir_ok($carol, $name);
	my @folders = map { mkdir_ok($carol, sprintf('d%03d', $_), $src->{id}) } 1 .. $n;
	for my $f (@folders) {
		my $r = bulk($carol, copy => \@seed, $f->{id});
		die "copy of the seed into $f->{name}: " . $r->describe
			unless $r->{status} == 200 && @{ $r->{json}{items} || [] } == $FILES;
	}
	return ($src, @folders);
}

for my $nfolders (150, 300, 600) {
	$serial++;
	my $tb = time;
	($src, @srcf) = build_source("src$serial", $nfolders);
	my $built = time - $tb;
	$target = mkdir_ok($carol, "copy$serial");
	my $tj = time;
	$r = bulk($carol, copy => [ map { $_->{id} } @srcf ], $target->{id});
	unless ($r->{status} == 202 && ref $r->{json} eq 'HASH' && $r->{json}{job}) {
		fail("copy of $nfolders folders with $FILES files each: 202") or diag $r->describe;
		last;
	}
	$cjob = $r->{json}{job};
	my $running = catch_running($carol, $cjob->{id}, 60);
	if ($running) {
		$done_at_kill = $running->{done};
		$killed_pid = $s->jobs_pid;
		ok $killed_pid, "the jobs process runs (pid $killed_pid)";
		kill 'KILL', $killed_pid if $killed_pid;
		$caught = $nfolders;
		push @tries, sprintf('%d folders x %d files: built in %.1f s, job caught running at %d/%d after %.2f s and killed',
			$nfolders, $FILES, $built, $done_at_kill, $running->{total}, time - $tj);
		last;
	}
	my $fin = job_wait($carol, $cjob->{id}, 60);
	push @tries, sprintf('%d folders x %d files: built in %.1f s, job %s in %.2f s before it was seen running with done > 0',
		$nfolders, $FILES, $built, $fin->{state}, time - $tj);
	last if time - $t0 > 50;    # no time for a bigger one
}
diag "recovery: $_" for @tries;
ok $caught, 'a copy job was caught running with 0 < done < total and its runner killed' or diag join "\n", @tries;

SKIP: {
	skip 'no job was caught running', 12 unless $caught;
	my $new_pid;
	my $tk = time;
	ok wait_until(sub { $new_pid = $s->jobs_pid; $new_pid && $new_pid != $killed_pid }, 15, 0.05),
		'the master started a new jobs process' or diag 'jobs pid: ' . ($new_pid // 'none');
	ok !$s->pid_alive($killed_pid), 'the old one is gone';
	my $fin = eval { job_wait($carol, $cjob->{id}, 90) } || {};
	diag sprintf 'recovery: the job finished %.2f s after the kill (new jobs pid %s)', time - $tk, $new_pid // '?';
	my $cres = job_done_ok($fin, 'the killed job was resumed and succeeded');
	cmp_ok $fin->{done}, '>=', $done_at_kill, 'done did not go back';
	cmp_ok $s->psql("SELECT attempts FROM jobs WHERE id = '" . sql_id($cjob->{id}) . "'"), '>=', 2,
		'jobs.attempts: taken again after the kill';
	my $n = scalar @srcf;
	my @items = @{ $cres->{items} || [] };
	is scalar @items, $n, "result.items: $n new folders (one per item, none twice)";
	my %ids = map { ($_->{id} // '') => 1 } @items;
	is scalar keys %ids, $n, '... with distinct ids';
	is_deeply [ sort map { $_->{name} // '' } @items ], [ map { $_->{name} } @srcf ], '... one per source folder';
	is_deeply $cres->{errors}, [], 'result.errors: none';
	my $tid = sql_id($target->{id});
	is_deeply [ map { $_->[0] } $s->psql_rows("SELECT name FROM folders WHERE parent_id = '$tid' AND NOT is_deleted ORDER BY name") ],
		[ map { $_->{name} } @srcf ], "the target holds exactly the $n folders, each once (no \"(1)\" copies)";
	is_deeply [ map { "@$_" } $s->psql_rows("SELECT count(*), count(DISTINCT (f.folder_id, f.name)), count(DISTINCT f.folder_id)
		FROM files f JOIN folders p ON p.id = f.folder_id WHERE p.parent_id = '$tid' AND NOT f.is_deleted") ],
		[ join ' ', $n * $FILES, $n * $FILES, $n ], "... with $FILES files each, every name once";
	is $s->psql("SELECT count(*) FROM folders WHERE user_id = '$carol->{user}{id}' AND parent_id IN
		(SELECT id FROM folders WHERE parent_id = '$tid')"), 0, '... and no stray folder inside them';
	is_deeply folder_totals($carol, $target->{id}), [ $n * $FILES, $n * $FILES * length $content ], 'the target totals';
	tree_consistent($s, 'after the recovered copy job', $carol);
}

# a bulk delete job of every copied file, killed too if it can be caught
SKIP: {
	skip 'no copy to delete', 6 unless $caught;
	my $tid = sql_id($target->{id});
	my @ids = map { $_->[0] } $s->psql_rows("SELECT f.id FROM files f JOIN folders p ON p.id = f.folder_id
		WHERE p.parent_id = '$tid' AND NOT f.is_deleted ORDER BY f.name, f.id");
	my @chunk = @ids[ 0 .. ($#ids < 9999 ? $#ids : 9999) ];
	my $use0 = $s->usage($carol)->{used};
	$r = $carol->post_json('/api/files/delete', { item_ids => \@chunk });
	my $dj = ref $r->{json} eq 'HASH' ? $r->{json}{job} || {} : {};
	is $r->{status}, 202, scalar(@chunk) . ' files to delete: 202 job' or diag $r->describe;
	my $tj = time;
	my $running = catch_running($carol, sql_id($dj->{id}), 60);
	my $killed = '';
	if ($running) {
		my $pid = $s->jobs_pid;
		kill 'KILL', $pid if $pid;
		$killed = "killed at $running->{done}/$running->{total} after " . sprintf('%.2f s', time - $tj);
		wait_until(sub { my $p = $s->jobs_pid; $p && $p != $pid }, 15, 0.05);
	}
	diag 'delete job: ' . ($killed || sprintf 'finished before it was seen running (%.2f s)', time - $tj);
	my $fin = eval { job_wait($carol, sql_id($dj->{id}), 90) } || {};
	my $dres = job_done_ok($fin, 'the delete job succeeded' . ($killed ? ' after the kill' : ''));
	my @items = @{ $dres->{items} || [] };
	my %seen;
	$seen{ $_->{id} // '' }++ for @items;
	ok @items == @chunk && !grep({ $_ != 1 } values %seen) && !grep({ !$seen{$_} } @chunk),
		'result.items: every file exactly once' or diag scalar(@items) . ' items for ' . scalar(@chunk) . ' files';
	is_deeply [ map { "@$_" } $s->psql_rows("SELECT count(*), count(*) FILTER (WHERE f.trash_id = f.id) FROM files f
		JOIN folders p ON p.id = f.folder_id WHERE p.parent_id = '$tid' AND f.is_deleted") ],
		[ join ' ', scalar @chunk, scalar @chunk ], 'every file is in the trash as its own unit';
	is $s->usage($carol)->{used}, $use0 - @chunk * length $content, 'usage released once for each';
	tree_consistent($s, 'after the delete job', $carol);
}

# a runner stopped cleanly (SIGTERM) between two batches gives its job back
# without counting an attempt; the next runner finishes it
SKIP: {
	skip 'no source folders', 5 unless $caught && @srcf;
	my $again = mkdir_ok($carol, 'copy-term');
	my $r2 = bulk($carol, copy => [ map { $_->{id} } @srcf ], $again->{id});
	my $tj = ref $r2->{json} eq 'HASH' && $r2->{json}{job} ? $r2->{json}{job} : {};
	is $r2->{status}, 202, 'another copy job' or diag $r2->describe;
	my $running = catch_running($carol, sql_id($tj->{id}), 60);
	skip 'the job finished before it was seen running', 4 unless $running;
	my $pid = $s->jobs_pid;
	kill 'TERM', $pid if $pid;
	ok wait_until(sub { my $p = $s->jobs_pid; $p && $p != $pid }, 15, 0.05), 'SIGTERM: a new jobs process';
	my $fin = eval { job_wait($carol, sql_id($tj->{id}), 90) } || {};
	my $res = job_done_ok($fin, 'the job stopped cleanly was finished by the next runner');
	is scalar @{ $res->{items} || [] }, scalar @srcf, '... every item once';
	is $s->psql("SELECT attempts FROM jobs WHERE id = '" . sql_id($tj->{id}) . "'"), 1,
		'jobs.attempts: a clean stop is not counted';
}

# coffer-admin maintenance removes jobs finished more than 7 days ago
{
	my $jid = sql_id($cjob ? $cjob->{id} : undef);
	$s->psql("UPDATE jobs SET finished_at = now() - interval '8 days' WHERE id = '$jid'");
	my $m = $s->admin('maintenance');
	is $m->{exit}, 0, 'maintenance: exit 0' or diag "$m->{out}$m->{err}";
	like $m->{out}, qr/removed [1-9]\d* jobs finished more than 7 days ago/, '... reports the old jobs it removed';
	is $s->psql("SELECT count(*) FROM jobs WHERE id = '$jid'"), 0, 'the old job is gone';
	is $carol->get("/api/jobs/$jid")->{status}, 404, '... and GET /api/jobs/<id> answers 404';
	cmp_ok $s->psql("SELECT count(*) FROM jobs WHERE finished_at > now() - interval '1 day'"), '>', 0,
		'recent jobs are kept';
}

diag sprintf 'ran in %.1f s', time - $t0;
done_testing;
