/*
 * test-range: range_parse, the Range header (RFC 9110 14.1-14.2): every
 * range-spec form (first-last, first-, -suffix), clamping to the size,
 * request order, dropped unsatisfiable specs (-1 when none is left), empty
 * list elements and blanks, and the cases that make the header ignored (0):
 * other units, bad syntax, numbers above 2^62, more than max specs, overlap.
 * Inputs live in exactly-sized heap buffers with no terminator, and out has
 * exactly max entries, so ASan/valgrind catch a read or write past either.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "range.h"
#include "tap.h"

#define L(s) (s), (sizeof(s) - 1)

/* Parse h for size with max entries; check the result and, when positive,
 * the ranges against want[0..rc). */
static void rp_max(const char *h, size_t n, long long size, size_t max, int rc,
		   const range_t *want)
{
	char *in = dup_exact(h, n);
	range_t *out = malloc((max ? max : 1) * sizeof(*out));
	int got = range_parse(in, n, size, out, max);
	bool same = got == rc;

	for (int k = 0; same && k < rc; k++)
		same = out[k].start == want[k].start && out[k].end == want[k].end;
	if (!ok(same, "range \"%s\" size %lld max %zu -> %d", tap_show(h, n), size, max, rc)) {
		diag("  got %d", got);
		for (int k = 0; k < got; k++)
			diag("  got %lld-%lld", out[k].start, out[k].end);
	}
	free(out);
	free(in);
}

static void rp(const char *h, size_t n, long long size, int rc, const range_t *want)
{
	rp_max(h, n, size, RANGE_MAX, rc, want);
}

#define R(...) ((const range_t[]){ __VA_ARGS__ })

static void test_forms(void)
{
	rp(L("bytes=0-99"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=0-0"), 1000, 1, R({ 0, 0 }));
	rp(L("bytes=999-999"), 1000, 1, R({ 999, 999 }));
	rp(L("bytes=0-999"), 1000, 1, R({ 0, 999 }));
	rp(L("bytes=0-1000"), 1000, 1, R({ 0, 999 }));
	rp(L("bytes=10-123456789"), 1000, 1, R({ 10, 999 }));
	rp(L("bytes=0-"), 1000, 1, R({ 0, 999 }));
	rp(L("bytes=500-"), 1000, 1, R({ 500, 999 }));
	rp(L("bytes=999-"), 1000, 1, R({ 999, 999 }));
	rp(L("bytes=-50"), 1000, 1, R({ 950, 999 }));
	rp(L("bytes=-1"), 1000, 1, R({ 999, 999 }));
	rp(L("bytes=-999"), 1000, 1, R({ 1, 999 }));
	rp(L("bytes=-1000"), 1000, 1, R({ 0, 999 }));
	rp(L("bytes=-5000"), 1000, 1, R({ 0, 999 }));
	rp(L("Bytes=0-1"), 1000, 1, R({ 0, 1 }));
	rp(L("BYTES=0-1"), 1000, 1, R({ 0, 1 }));
	rp(L("bytes=0000-0099"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=-0050"), 1000, 1, R({ 950, 999 }));
}

static void test_unsatisfiable(void)
{
	rp(L("bytes=1000-"), 1000, -1, NULL);
	rp(L("bytes=1000-1000"), 1000, -1, NULL);
	rp(L("bytes=1000-2000"), 1000, -1, NULL);
	rp(L("bytes=-0"), 1000, -1, NULL);
	rp(L("bytes=-000"), 1000, -1, NULL);
	rp(L("bytes=5000-,-0"), 1000, -1, NULL);
	rp(L("bytes=1000-, 2000-3000, -0"), 1000, -1, NULL);
	/* unsatisfiable specs are dropped from a list that has others */
	rp(L("bytes=0-99,5000-6000"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=5000-6000,-0,0-99"), 1000, 1, R({ 0, 99 }));
}

static void test_lists(void)
{
	rp(L("bytes=0-99,200-299"), 1000, 2, R({ 0, 99 }, { 200, 299 }));
	rp(L("bytes=0-99,200-299,-50"), 1000, 3, R({ 0, 99 }, { 200, 299 }, { 950, 999 }));
	/* the example of the brief: 200- and -50 overlap but add up to <= size */
	rp(L("bytes=0-99, 200-, -50"), 1000, 3, R({ 0, 99 }, { 200, 999 }, { 950, 999 }));
	rp(L("bytes=200-299,0-99"), 1000, 2, R({ 200, 299 }, { 0, 99 }));	/* request order */
	rp(L("bytes=0-99 , 200-299"), 1000, 2, R({ 0, 99 }, { 200, 299 }));
	rp(L("bytes=0-99,\t200-299"), 1000, 2, R({ 0, 99 }, { 200, 299 }));
	rp(L("bytes=0-99 \t,\t 200-299"), 1000, 2, R({ 0, 99 }, { 200, 299 }));
	rp(L(" bytes=0-99 "), 1000, 1, R({ 0, 99 }));
	rp(L("bytes= 0-99"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=0-99,,200-299"), 1000, 2, R({ 0, 99 }, { 200, 299 }));
	rp(L("bytes=,0-99"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=0-99,"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=, ,0-99, ,"), 1000, 1, R({ 0, 99 }));
	rp(L("bytes=0-0,1-1,2-2"), 3, 3, R({ 0, 0 }, { 1, 1 }, { 2, 2 }));
}

static void test_invalid(void)
{
	rp(L(""), 1000, 0, NULL);
	rp(L("bytes"), 1000, 0, NULL);
	rp(L("bytes="), 1000, 0, NULL);
	rp(L("bytes= "), 1000, 0, NULL);
	rp(L("bytes=,"), 1000, 0, NULL);
	rp(L("bytes=, ,"), 1000, 0, NULL);
	rp(L("byte=0-1"), 1000, 0, NULL);
	rp(L("bytesx=0-1"), 1000, 0, NULL);
	rp(L("items=0-1"), 1000, 0, NULL);
	rp(L("bytes 0-1"), 1000, 0, NULL);
	rp(L("bytes =0-1"), 1000, 0, NULL);
	rp(L("bytes:0-1"), 1000, 0, NULL);
	rp(L("bytes=0 -1"), 1000, 0, NULL);
	rp(L("bytes=0- 1"), 1000, 0, NULL);
	rp(L("bytes=- 1"), 1000, 0, NULL);
	rp(L("bytes=a-b"), 1000, 0, NULL);
	rp(L("bytes=1"), 1000, 0, NULL);
	rp(L("bytes=-"), 1000, 0, NULL);
	rp(L("bytes=--1"), 1000, 0, NULL);
	rp(L("bytes=1--2"), 1000, 0, NULL);
	rp(L("bytes=1-2-3"), 1000, 0, NULL);
	rp(L("bytes=5-4"), 1000, 0, NULL);
	rp(L("bytes=5000-4000"), 1000, 0, NULL);	/* invalid beats unsatisfiable */
	rp(L("bytes=+1-2"), 1000, 0, NULL);
	rp(L("bytes=1-+2"), 1000, 0, NULL);
	rp(L("bytes=0x10-20"), 1000, 0, NULL);
	rp(L("bytes=1.5-2"), 1000, 0, NULL);
	rp(L("bytes=0-99;x"), 1000, 0, NULL);
	rp(L("bytes=1-2 3-4"), 1000, 0, NULL);
	rp(L("bytes=1-2;3-4"), 1000, 0, NULL);
	rp(L("bytes=0-1\0"), 1000, 0, NULL);
	rp(L("bytes=0-1\0,2-3"), 1000, 0, NULL);
	rp(L("bytes\0=0-1"), 1000, 0, NULL);
	rp(L("bytes=0-1\r\n"), 1000, 0, NULL);
	/* one bad spec anywhere invalidates the whole header */
	rp(L("bytes=0-1,5-4"), 1000, 0, NULL);
	rp(L("bytes=0-1,x"), 1000, 0, NULL);
	rp(L("bytes=0-1,-"), 1000, 0, NULL);
	rp(L("bytes=x,0-1"), 1000, 0, NULL);
	rp(L("bytes=5000-,x"), 1000, 0, NULL);
	/* a negative size is the caller's bug: ignore the header */
	rp(L("bytes=0-1"), -1, 0, NULL);
}

static void test_numbers(void)
{
	const long long big = RANGE_NUM_MAX;

	rp(L("bytes=4611686018427387904-"), 1000, -1, NULL);	/* 2^62 */
	rp(L("bytes=4611686018427387905-"), 1000, 0, NULL);	/* 2^62 + 1 */
	rp(L("bytes=0-4611686018427387904"), 1000, 1, R({ 0, 999 }));
	rp(L("bytes=0-4611686018427387905"), 1000, 0, NULL);
	rp(L("bytes=-4611686018427387904"), 1000, 1, R({ 0, 999 }));
	rp(L("bytes=-4611686018427387905"), 1000, 0, NULL);
	rp(L("bytes=9223372036854775807-"), 1000, 0, NULL);
	rp(L("bytes=9223372036854775808-"), 1000, 0, NULL);
	rp(L("bytes=99999999999999999999999999-"), 1000, 0, NULL);
	rp(L("bytes=0-18446744073709551616"), 1000, 0, NULL);	/* 2^64 wraps to 0 */
	rp(L("bytes=00000000000000000000000000000001-0000000000000000000000000000002"),
	   1000, 1, R({ 1, 2 }));
	/* huge representations */
	rp(L("bytes=-1"), big, 1, R({ big - 1, big - 1 }));
	rp(L("bytes=0-"), LLONG_MAX, 1, R({ 0, LLONG_MAX - 1 }));
	rp(L("bytes=4611686018427387904-"), LLONG_MAX, 1, R({ big, LLONG_MAX - 1 }));
	rp(L("bytes=-4611686018427387904"), LLONG_MAX, 1, R({ LLONG_MAX - big, LLONG_MAX - 1 }));
	rp(L("bytes=0-,0-"), LLONG_MAX, 0, NULL);	/* overlap; the sum must not overflow */
}

static void test_small_sizes(void)
{
	/* size 0: no byte exists, so no int-range is satisfiable */
	rp(L("bytes=0-"), 0, -1, NULL);
	rp(L("bytes=0-0"), 0, -1, NULL);
	rp(L("bytes=0-100"), 0, -1, NULL);
	rp(L("bytes=5-"), 0, -1, NULL);
	rp(L("bytes=-0"), 0, -1, NULL);
	rp(L("bytes=0-0,1-1,-0"), 0, -1, NULL);
	/* ...but RFC 9110 14.1.2 calls a non-zero suffix satisfiable: it is the
	 * whole (empty) representation, which a 200 sends */
	rp(L("bytes=-1"), 0, 0, NULL);
	rp(L("bytes=-500"), 0, 0, NULL);
	rp(L("bytes=0-0,-1"), 0, 0, NULL);
	rp(L("bytes=x"), 0, 0, NULL);
	/* size 1 */
	rp(L("bytes=0-0"), 1, 1, R({ 0, 0 }));
	rp(L("bytes=0-"), 1, 1, R({ 0, 0 }));
	rp(L("bytes=0-5"), 1, 1, R({ 0, 0 }));
	rp(L("bytes=-1"), 1, 1, R({ 0, 0 }));
	rp(L("bytes=-100"), 1, 1, R({ 0, 0 }));
	rp(L("bytes=1-"), 1, -1, NULL);
	rp(L("bytes=1-1"), 1, -1, NULL);
	rp(L("bytes=-0"), 1, -1, NULL);
	rp(L("bytes=1-,0-0"), 1, 1, R({ 0, 0 }));
	rp(L("bytes=0-0,0-0"), 1, 0, NULL);	/* the same byte twice */
}

static void test_overlap(void)
{
	rp(L("bytes=0-999,0-0"), 1000, 0, NULL);
	rp(L("bytes=0-599,400-999"), 1000, 0, NULL);
	rp(L("bytes=-600,0-599"), 1000, 0, NULL);
	rp(L("bytes=0-,0-"), 1000, 0, NULL);
	rp(L("bytes=0-499,500-999"), 1000, 2, R({ 0, 499 }, { 500, 999 }));	/* exactly size */
	rp(L("bytes=0-10,5-15"), 1000, 2, R({ 0, 10 }, { 5, 15 }));	/* small overlap: kept */
	/* overlap makes the header ignored even when syntax errors follow */
	rp(L("bytes=0-,0-,x"), 1000, 0, NULL);
}

static void test_max(void)
{
	buf_t b = BUF_INIT;
	range_t want[RANGE_MAX + 1];

	buf_adds(&b, "bytes=");
	for (int k = 0; k < RANGE_MAX; k++) {
		buf_addf(&b, "%s%d-%d", k ? "," : "", 2 * k, 2 * k);
		want[k].start = want[k].end = 2 * k;
	}
	rp(b.p, b.len, 1000, RANGE_MAX, want);
	rp_max(b.p, b.len, 1000, RANGE_MAX - 1, 0, NULL);
	rp_max(b.p, b.len, 1000, RANGE_MAX + 1, RANGE_MAX, want);
	buf_adds(&b, ",,, ");	/* empty elements do not count */
	rp(b.p, b.len, 1000, RANGE_MAX, want);
	buf_adds(&b, ",100-100");
	rp(b.p, b.len, 1000, 0, NULL);
	/* unsatisfiable specs count too */
	buf_reset(&b);
	buf_adds(&b, "bytes=0-0");
	for (int k = 0; k < RANGE_MAX; k++)
		buf_adds(&b, ",5000-");
	rp(b.p, b.len, 1000, 0, NULL);
	buf_free(&b);

	rp_max(L("bytes=0-1"), 1000, 1, 1, R({ 0, 1 }));
	rp_max(L("bytes=0-1,5-6"), 1000, 1, 0, NULL);
	rp_max(L("bytes=0-1"), 1000, 0, 0, NULL);
	rp_max(L("bytes="), 1000, 0, 0, NULL);
}

/* Every proper prefix of a valid header parses without reading past it. */
static void test_prefixes(void)
{
	static const char h[] = "bytes=0-99, 200-299 ,-50";
	range_t out[RANGE_MAX];
	bool fine = true;

	for (size_t k = 0; k < sizeof(h) - 1; k++) {
		char *in = dup_exact(h, k);
		int rc = range_parse(in, k, 1000, out, RANGE_MAX);

		if (rc < -1 || rc > 3)
			fine = false;
		free(in);
	}
	ok(fine, "every prefix of \"%s\" parses to -1..3", h);
}

int main(void)
{
	test_forms();
	test_unsatisfiable();
	test_lists();
	test_invalid();
	test_numbers();
	test_small_sizes();
	test_overlap();
	test_max();
	test_prefixes();
	return done_testing();
}
