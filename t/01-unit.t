# The C unit tests: runs every $COFFER_BUILD/t/test-* program (built by make
# from t/unit/test-*.c; each prints TAP) and relays its results as a subtest.
# Fails when a program fails a test, breaks its plan, exits non-zero or dies
# by a signal (a sanitizer report), or when there is no program at all.
use strict;
use warnings;
use FindBin;
use File::Basename qw(basename);
use TAP::Parser;
use Test::More;

my $repo = "$FindBin::Bin/..";
my $build = $ENV{COFFER_BUILD} || 'build';
$build = "$repo/$build" unless $build =~ m{^/};
my @bins = sort grep { -f && -x } glob "$build/t/test-*";

ok scalar(@bins), "unit test programs found in $build/t" or diag 'run make first';

for my $bin (@bins) {
	subtest basename($bin) => sub {
		my $p = TAP::Parser->new({ exec => [$bin] });
		my $n = 0;
		while (my $r = $p->next) {
			if ($r->is_test) {
				$n++;
				my $name = $r->description;
				$name =~ s/^-\s*//;
				if ($r->has_skip) {
				SKIP: { skip $r->explanation || $name, 1 }
				} elsif ($r->has_todo) {
				TODO: { local $TODO = $r->explanation; ok($r->is_actual_ok, $name) }
				} else {
					ok($r->is_ok, $name);
				}
			} elsif ($r->is_bailout) {
				fail('Bail out! ' . $r->explanation);
			} elsif ($r->is_comment) {
				note $r->as_string;
			}
		}
		ok $n > 0 || $p->skip_all, 'ran some tests' if !$p->skip_all;
		ok !$p->parse_errors, 'valid TAP' or diag join "\n", $p->parse_errors;
		is $p->wait, 0, 'exit status 0' or diag 'exit ' . ($p->exit // '?') . ', wait ' . $p->wait;
		done_testing;
	};
}

done_testing;
