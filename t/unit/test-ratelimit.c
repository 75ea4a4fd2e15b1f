/* test-ratelimit: the shared per-user request budget (lib/ratelimit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ratelimit.h"
#include "tap.h"

#define NOW 1790000040LL   /* a multiple of 60: a window starts here */

static rl_table_t *table(unsigned nslots)
{
	rl_table_t *t = rl_init(malloc(rl_size(nslots)), nslots);

	if (t == NULL)
		abort();
	return t;
}

static int hits(rl_table_t *t, const char *key, long long now, int window, int limit, int n)
{
	int allowed = 0;

	for (int i = 0; i < n; i++)
		allowed += rl_hit(t, key, strlen(key), now, window, limit) == 0;
	return allowed;
}

static void test_budget(void)
{
	rl_table_t *t = table(64);

	is_int(hits(t, "alice", NOW, 60, 5, 5), 5, "5 requests within a budget of 5: all allowed");
	is_int(rl_hit(t, "alice", 5, NOW + 10, 60, 5), 50, "the 6th: refused, 50 s until the window ends");
	is_int(rl_hit(t, "alice", 5, NOW + 59, 60, 5), 1, "  a second before the end: 1 s");
	is_int(hits(t, "bob", NOW + 10, 60, 5, 5), 5, "another key has its own budget");
	is_int(hits(t, "alice", NOW + 60, 60, 5, 6), 5, "the next window: 5 again, then refused");
	is_int(hits(t, "alice", NOW + 3 * 60, 60, 5, 1), 1, "an idle user starts afresh");
	is_int(hits(t, "carol", NOW, 60, 0, 1000), 1000, "limit 0: no budget");
	is_int(hits(t, "carol", NOW, 0, 5, 100), 100, "window 0: no budget");
	is_int(rl_hit(NULL, "x", 1, NOW, 60, 1), 0, "no table: allowed");
	is_int(hits(t, "dave", NOW, 2, 3, 3), 3, "a 2-second window");
	is_int(rl_hit(t, "dave", 4, NOW + 1, 2, 3), 1, "  refused for the 1 s left");
	is_int(rl_hit(t, "dave", 4, NOW + 2, 2, 3), 0, "  allowed again in the next window");
	free(t);
}

static void test_full_table(void)
{
	rl_table_t *t = table(4);
	char key[16];
	int allowed = 0;

	for (int k = 0; k < 4; k++) {
		snprintf(key, sizeof(key), "user%d", k);
		hits(t, key, NOW, 60, 1, 1);
	}
	/* all four slots are taken in this window: a fifth key is let through */
	for (int i = 0; i < 10; i++)
		allowed += rl_hit(t, "user9", 5, NOW, 60, 1) == 0;
	is_int(allowed, 10, "a full table lets unknown keys through (no false refusal)");
	is_int(rl_hit(t, "user0", 5, NOW, 60, 1), 60, "  while the known keys keep their budget");
	/* two windows later the slots of idle keys are taken over */
	is_int(hits(t, "user9", NOW + 120, 60, 1, 3), 1, "an idle key's slot is reused: budget counted");
	free(t);
}

static void test_processes(void)
{
	rl_table_t *t = rl_new_shared(256);
	int allowed = 0, status;
	int fds[2];

	ok(t != NULL, "a table in shared memory");
	if (t == NULL || pipe(fds) < 0)
		return;
	/* 8 processes x 500 requests of one user against a budget of 1000 */
	for (int p = 0; p < 8; p++) {
		if (fork() == 0) {
			int n = hits(t, "shared-user", NOW, 60, 1000, 500);

			if (write(fds[1], &n, sizeof(n)) != (ssize_t)sizeof(n))
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	for (int p = 0; p < 8; p++) {
		int n = 0;

		if (read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
			allowed += n;
		wait(&status);
	}
	close(fds[0]);
	is_int(allowed, 1000, "8 processes at once: exactly the budget (1000 of 4000) allowed");
}

int main(void)
{
	test_budget();
	test_full_table();
	test_processes();
	return done_testing();
}
