/*
 * test-arena: request arenas hand out aligned, zeroed, non-overlapping
 * memory across chunks and for large sizes; arena_clear runs cleanups
 * newest first, gives memory back (arena_size shrinks to one chunk) and the
 * arena is reusable; arena_free runs pending cleanups too.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "tap.h"

static int order[16];
static int norder;

static void record(void *p)
{
	if (norder < 16)
		order[norder++] = *(int *)p;
}

static void free_it(void *p)
{
	free(p);
}

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_alignment(arena_t *a)
{
	bool aligned = true, zeroed = true;

	for (size_t n = 0; n < 300; n++) {
		unsigned char *p = arena_alloc(a, n);

		if ((uintptr_t)p % alignof(max_align_t) != 0)
			aligned = false;
		if (!all_bytes(p, n, 0))
			zeroed = false;
		memset(p, 0xA5, n);
	}
	ok(aligned, "every allocation is aligned for max_align_t");
	ok(zeroed, "every allocation is zeroed");
}

static void test_many(arena_t *a)
{
	enum { N = 2000, SZ = 37 };
	unsigned char *ptrs[N];
	bool intact = true;
	size_t before = arena_size(a);

	for (int i = 0; i < N; i++) {
		ptrs[i] = arena_alloc(a, SZ);
		memset(ptrs[i], i & 0xFF, SZ);
	}
	for (int i = 0; i < N && intact; i++)
		if (!all_bytes(ptrs[i], SZ, (unsigned char)(i & 0xFF))) {
			intact = false;
			diag("allocation %d was overwritten", i);
		}
	ok(intact, "%d small allocations across chunks do not overlap", N);
	ok(arena_size(a) > before, "the arena grew new chunks (%zu -> %zu)", before,
	   arena_size(a));
	ok(arena_size(a) >= (size_t)N * SZ, "arena_size covers what was allocated");
}

static void test_big(arena_t *a)
{
	size_t n = 3u << 20;
	unsigned char *small1 = arena_alloc(a, 10);
	unsigned char *big, *small2;

	memset(small1, 1, 10);
	big = arena_alloc(a, n);
	ok(big != NULL && all_bytes(big, n, 0), "a 3 MiB allocation is zeroed");
	memset(big, 2, n);
	small2 = arena_alloc(a, 10);
	memset(small2, 3, 10);
	ok(all_bytes(small1, 10, 1) && all_bytes(big, n, 2) && all_bytes(small2, 10, 3),
	   "big allocation does not overlap its neighbours");
	ok(arena_size(a) >= n, "arena_size counts the big chunk");
}

static void test_strings(arena_t *a)
{
	char *s = arena_strndup(a, "ab\0cd", 5);

	ok(memcmp(s, "ab\0cd", 6) == 0, "strndup copies embedded NULs and terminates");
	s = arena_strndup(a, "xyz", 2);
	is_str(s, "xy", "strndup copies only n bytes");
	s = arena_strndup(a, NULL, 0);
	is_str(s, "", "strndup of 0 bytes is \"\"");
	is_str(arena_strdup(a, "hello"), "hello", "strdup");
	is_str(arena_printf(a, "%s=%d", "n", -7), "n=-7", "printf");
	s = arena_printf(a, "%0*d", 5000, 1);
	is_int(strlen(s), 5000, "printf larger than a chunk");
	ok(s[4999] == '1' && s[0] == '0', "printf large output correct");
}

static void test_clear(arena_t *a, size_t fresh)
{
	static int ids[4] = { 1, 2, 3, 4 };
	unsigned char *p;

	norder = 0;
	for (int i = 0; i < 3; i++)
		arena_on_clear(a, record, &ids[i]);
	arena_alloc(a, 1u << 20);   /* a cleanup registered after a big chunk */
	arena_on_clear(a, record, &ids[3]);
	arena_on_clear(a, free_it, malloc(100));  /* valgrind/ASan prove it ran */
	ok(arena_size(a) > fresh, "arena bigger than fresh before clear");
	arena_clear(a);
	is_int(norder, 4, "clear ran every cleanup once");
	ok(norder == 4 && order[0] == 4 && order[1] == 3 && order[2] == 2 && order[3] == 1,
	   "cleanups ran newest first");
	is_int(arena_size(a), fresh, "arena_size shrinks back to one chunk after clear");

	norder = 0;
	arena_clear(a);
	is_int(norder, 0, "cleanups do not run twice");

	p = arena_alloc(a, 64);
	ok(p != NULL && all_bytes(p, 64, 0), "reusable after clear, memory zeroed again");
	memset(p, 0xFF, 64);
	arena_clear(a);
	p = arena_alloc(a, 64);
	ok(all_bytes(p, 64, 0), "reused first chunk is zeroed on allocation");
	is_int(arena_size(a), fresh, "small use after clear stays in the first chunk");
}

static void test_free_runs_cleanups(void)
{
	static int id = 9;
	arena_t *a = arena_new();

	norder = 0;
	arena_on_clear(a, record, &id);
	arena_on_clear(a, free_it, malloc(10));
	arena_alloc(a, 100000);
	arena_free(a);
	ok(norder == 1 && order[0] == 9, "arena_free runs pending cleanups");
	arena_free(NULL);   /* a no-op; a crash here fails the test program */
}

int main(void)
{
	arena_t *a = arena_new();
	size_t fresh = arena_size(a);

	ok(fresh > 0, "a new arena has a first chunk (%zu bytes)", fresh);
	test_alignment(a);
	test_many(a);
	test_big(a);
	test_strings(a);
	test_clear(a, fresh);
	arena_free(a);
	test_free_runs_cleanups();
	return done_testing();
}
