/*
 * fuzz-range: range_parse. The first input byte picks the representation
 * size (0-199, or one of a few large sizes up to LLONG_MAX), the second the
 * max (0..RANGE_MAX+1); the rest is the Range value, in an exactly-sized heap
 * buffer without a terminator, and out has exactly max entries, so ASan
 * catches a read or write past either.
 * Invariants: the result is -1..max; every range is 0 <= start <= end < size
 * and they add up to at most size; the result and the ranges equal those of
 * a reference written differently (split on commas first, then each
 * range-spec on its '-'); the same header with max = RANGE_MAX agrees too.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"
#include "fuzz.h"

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool all_digits(const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (p[k] < '0' || p[k] > '9')
			return false;
	return true;
}

/* Decimal digits to a value; -1 when it exceeds RANGE_NUM_MAX. */
static long long ref_num(const char *p, size_t n)
{
	unsigned long long v = 0;

	while (n > 0 && *p == '0') {
		p++;
		n--;
	}
	if (n > 19)
		return -1;
	for (size_t k = 0; k < n; k++)
		v = v * 10 + (unsigned long long)(p[k] - '0');	/* < 10^19 < 2^64 */
	return v > (unsigned long long)RANGE_NUM_MAX ? -1 : (long long)v;
}

struct spec {
	long long first, last;	/* first -1: suffix range of length last */
	bool open;		/* first- */
};

static int ref_parse(const char *p, size_t n, long long size, range_t *out, size_t max)
{
	static const char unit[] = "bytes=";
	struct spec *specs;
	size_t i = 0, ns = 0, count = 0;
	long long total = 0;
	int rc = 0;

	if (size < 0)
		return 0;
	while (i < n && ows(p[i]))
		i++;
	if (n - i < 6)
		return 0;
	for (size_t k = 0; k < 6; k++)
		if ((p[i + k] | 0x20) != unit[k] || (unit[k] == '=' && p[i + k] != '='))
			return 0;
	i += 6;
	specs = malloc((n / 2 + 1) * sizeof(*specs));
	if (specs == NULL)
		abort();
	/* phase 1: the syntax of every element */
	while (i <= n) {
		const char *comma = memchr(p + i, ',', n - i), *e = p + i, *dash;
		size_t el = comma ? (size_t)(comma - e) : n - i, al, bl;

		i += el + 1;
		while (el > 0 && ows(e[0])) {
			e++;
			el--;
		}
		while (el > 0 && ows(e[el - 1]))
			el--;
		if (el == 0)
			continue;
		dash = memchr(e, '-', el);
		if (dash == NULL)
			goto out;
		al = (size_t)(dash - e);
		bl = el - al - 1;
		if ((al == 0 && bl == 0) || !all_digits(e, al) || !all_digits(dash + 1, bl))
			goto out;
		if (al == 0) {
			specs[ns].first = -1;
			specs[ns].open = false;
			if ((specs[ns].last = ref_num(dash + 1, bl)) < 0)
				goto out;
		} else {
			if ((specs[ns].first = ref_num(e, al)) < 0)
				goto out;
			specs[ns].open = bl == 0;
			specs[ns].last = 0;
			if (bl > 0 && ((specs[ns].last = ref_num(dash + 1, bl)) < 0 ||
				       specs[ns].last < specs[ns].first))
				goto out;
		}
		ns++;
	}
	if (ns == 0 || ns > max)
		goto out;
	/* phase 2: what each spec selects */
	for (size_t k = 0; k < ns; k++) {
		long long s, e;

		if (specs[k].first < 0) {
			if (specs[k].last == 0)
				continue;
			if (size == 0)
				goto out;
			s = specs[k].last >= size ? 0 : size - specs[k].last;
			e = size - 1;
		} else {
			if (specs[k].first >= size)
				continue;
			s = specs[k].first;
			e = specs[k].open || specs[k].last >= size ? size - 1 : specs[k].last;
		}
		out[count].start = s;
		out[count].end = e;
		count++;
	}
	for (size_t k = 0; k < count; k++) {
		long long len = out[k].end - out[k].start + 1;

		if (len > size - total)
			goto out;
		total += len;
	}
	rc = count > 0 ? (int)count : -1;
out:
	free(specs);
	return rc;
}

static void check(const char *p, size_t n, long long size, size_t max)
{
	range_t *out = malloc((max ? max : 1) * sizeof(*out));
	range_t *ref = malloc((n / 2 + 1) * sizeof(*ref));
	int rc, want;
	long long total = 0;

	if (out == NULL || ref == NULL)
		abort();
	rc = range_parse(p, n, size, out, max);
	want = ref_parse(p, n, size, ref, max);
	CHECK(rc >= -1 && rc <= (int)max);
	CHECK(rc == want);
	for (int k = 0; k < rc; k++) {
		CHECK(out[k].start >= 0 && out[k].start <= out[k].end && out[k].end < size);
		CHECK(out[k].start == ref[k].start && out[k].end == ref[k].end);
		CHECK(out[k].end - out[k].start + 1 <= size - total);
		total += out[k].end - out[k].start + 1;
	}
	free(ref);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long big[] = {
		1000, 4096, 1LL << 20, 1LL << 53, RANGE_NUM_MAX - 1, RANGE_NUM_MAX,
		RANGE_NUM_MAX + 1, LLONG_MAX - 1, LLONG_MAX, 999999999999LL, -1
	};
	long long rsize;
	size_t max;
	char *p;

	if (size < 2)
		return 0;
	rsize = data[0] < 200 ? data[0] : big[(data[0] - 200) % (sizeof(big) / sizeof(big[0]))];
	max = data[1] % (RANGE_MAX + 2);
	p = dup_exact(data + 2, size - 2);
	check(p, size - 2, rsize, max);
	check(p, size - 2, rsize, RANGE_MAX);
	free(p);
	return 0;
}
