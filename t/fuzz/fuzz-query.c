/*
 * fuzz-query: query strings (http_query_get) and percent-decoding.
 * Invariants: decoded length <= input length; '+' handling never changes
 * validity or length; "malformed" (-1) does not depend on the key looked up;
 * a found value is NUL-terminated and no longer than the query; and any byte
 * string percent-encoded into "a=<enc>" comes back unchanged.
 * Inputs are copied into exactly-sized heap buffers without a terminator so
 * ASan reports any read past the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "fuzz.h"

static void check_decode(const char *p, size_t n)
{
	char *o1 = malloc(n ? n : 1), *o2 = malloc(n ? n : 1);
	long r1 = http_percent_decode(p, n, o1, true);
	long r2 = http_percent_decode(p, n, o2, false);

	CHECK(r1 >= -1 && r1 <= (long)n);
	CHECK(r1 == r2);   /* '+' maps to one byte either way */
	if (r1 >= 0 && memchr(p, '%', n) == NULL) {
		/* nothing to decode: the same bytes, with '+' as ' ' when asked */
		CHECK((size_t)r1 == n && memcmp(o2, p, n) == 0);
		for (size_t i = 0; i < n; i++)
			CHECK(o1[i] == (p[i] == '+' ? ' ' : p[i]));
	}
	free(o1);
	free(o2);
}

static void check_query(arena_t *a, const char *p, size_t n)
{
	static const char *const keys[] = { "a", "cursor", "limit", "q", "", "a b", "x+y" };
	int malformed = -2;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char *v = NULL;
		size_t vl = 0;
		int rc = http_query_get(a, p, n, keys[k], &v, &vl);

		CHECK(rc >= -1 && rc <= 1);
		if (malformed == -2)
			malformed = rc == -1;
		CHECK(malformed == (rc == -1));
		if (rc == 1) {
			CHECK(v != NULL && vl <= n && v[vl] == '\0');
		}
	}
	if (n > HTTP_QUERY_MAX_LEN)
		CHECK(malformed);
}

/* Percent-encode the input as the value of "a" and read it back. */
static void check_round_trip(arena_t *a, const uint8_t *d, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *q, *v = NULL;
	size_t ql = 0, vl = 0;
	int rc;

	if (n * 3 + 2 > HTTP_QUERY_MAX_LEN)
		return;
	q = malloc(n * 3 + 2);
	q[ql++] = 'a';
	q[ql++] = '=';
	for (size_t i = 0; i < n; i++) {
		if ((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') || d[i] == '-') {
			q[ql++] = (char)d[i];
		} else if (d[i] == ' ') {
			q[ql++] = '+';
		} else {
			q[ql++] = '%';
			q[ql++] = hex[d[i] >> 4];
			q[ql++] = (i & 1) ? hex[d[i] & 15] : "0123456789abcdef"[d[i] & 15];
		}
	}
	rc = http_query_get(a, q, ql, "a", &v, &vl);
	CHECK(rc == 1);
	CHECK(vl == n && (n == 0 || memcmp(v, d, n) == 0));
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static arena_t *a;
	char *p;

	if (a == NULL)
		a = arena_new();
	p = dup_exact(data, size);
	check_decode(p, size);
	check_query(a, p, size);
	check_round_trip(a, data, size);
	free(p);
	arena_clear(a);
	return 0;
}
