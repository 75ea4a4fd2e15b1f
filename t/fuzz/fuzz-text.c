/*
 * fuzz-text: the text_* validators against independent reference
 * implementations written from the rules (Unicode Table 3-7 for UTF-8, the
 * api.md name and username rules), plus invariants for email, sizes and
 * bounded integers; text_printable's output is bounded, printable UTF-8
 * without stray blanks, a prefix of the uncut output, and unchanged by a
 * second pass. Inputs sit in exactly-sized heap buffers.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"
#include "fuzz.h"

/* Length of the well-formed sequence at p[0..n) per Unicode Table 3-7, or 0. */
static size_t ref_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned c = p[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xBF;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2; *cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3; *cp = c & 0x0F;
		if (c == 0xE0) lo = 0xA0;
		if (c == 0xED) hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4; *cp = c & 0x07;
		if (c == 0xF0) lo = 0x90;
		if (c == 0xF4) hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
		*cp = (*cp << 6) | (p[k] & 0x3F);
	}
	return len;
}

static bool ref_utf8(const unsigned char *p, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, l; i < n; i += l)
		if ((l = ref_seq(p + i, n - i, &cp)) == 0)
			return false;
	return true;
}

static bool ref_name(const unsigned char *p, size_t n)
{
	uint32_t cp;

	if (n < 1 || n > 255 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	for (size_t i = 0, l; i < n; i += l) {
		if ((l = ref_seq(p + i, n - i, &cp)) == 0)
			return false;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == '/')
			return false;
	}
	return true;
}

static bool alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ref_username(const unsigned char *p, size_t n)
{
	if (n < 3 || n > 32 || !alnum(p[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(p[i]) && p[i] != '_' && p[i] != '.' && p[i] != '-')
			return false;
	return true;
}

static bool ref_uuid(const unsigned char *p, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		bool hex = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
			   (p[i] >= 'A' && p[i] <= 'F');

		if (dash ? p[i] != '-' : !hex)
			return false;
	}
	return true;
}

/* Reference for text_parse_uint: digits only, at most 19, value <= max. */
static int ref_uint(const unsigned char *p, size_t n, long long max, long long *out)
{
	unsigned long long v = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');   /* 19 digits fit in 64 unsigned bits */
	}
	if (max < 0 || v > (unsigned long long)max)
		return -1;
	*out = (long long)v;
	return 0;
}

/* No NUL, controls (C0, DEL, C1), or leading, trailing or doubled blanks. */
static void check_printable_shape(const char *o, size_t len)
{
	const unsigned char *u = (const unsigned char *)o;

	CHECK(text_utf8_valid(o, len));
	for (size_t i = 0; i < len; i++) {
		CHECK(u[i] >= 0x20 && u[i] != 0x7f);
		CHECK(!(u[i] == 0xC2 && i + 1 < len && u[i + 1] < 0xA0));
		if (u[i] == ' ')
			CHECK(i > 0 && i + 1 < len && u[i + 1] != ' ');
	}
}

static void check_printable(const char *p, size_t n)
{
	static const size_t sizes[] = { 1, 2, 4, 16, 201 };
	size_t full = 3 * n + 1, len, l2;
	char *out = malloc(full), *again = malloc(full);

	if (out == NULL || again == NULL)
		abort();
	CHECK(text_printable(p, n, out, 0) == 0);
	len = text_printable(p, n, out, full);
	CHECK(len < full && out[len] == '\0' && strlen(out) == len);
	check_printable_shape(out, len);
	l2 = text_printable(out, len, again, full);
	CHECK(l2 == len && memcmp(again, out, len) == 0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char *cut = malloc(sizes[k]);
		size_t cl;

		if (cut == NULL)
			abort();
		cl = text_printable(p, n, cut, sizes[k]);
		CHECK(cl < sizes[k] && cut[cl] == '\0');
		CHECK(cl <= len && memcmp(cut, out, cl) == 0);
		check_printable_shape(cut, cl);
		free(cut);
	}
	free(again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long maxes[] = { 0, 1, 5, 9, 10, 99, 1000, 1LL << 53, LLONG_MAX, -1 };
	const unsigned char *u;
	char *p = dup_exact(data, size);
	bool utf8, email;
	long long v, rv;

	u = (const unsigned char *)p;
	utf8 = text_utf8_valid(p, size);
	CHECK(utf8 == ref_utf8(u, size));
	CHECK(text_name_valid(p, size) == ref_name(u, size));
	CHECK(text_username_valid(p, size) == ref_username(u, size));
	CHECK(text_uuid_valid(p, size) == ref_uuid(u, size));
	check_printable(p, size);

	email = text_email_valid(p, size);
	if (email) {
		const char *at = memchr(p, '@', size);

		CHECK(utf8 && size >= 3 && size <= 254);
		CHECK(at != NULL && at > p && memchr(at + 1, '@', size - (size_t)(at - p) - 1) == NULL);
		CHECK(memchr(at, '.', size - (size_t)(at - p)) != NULL);
		for (size_t i = 0; i < size; i++)
			CHECK(u[i] > 0x20 && u[i] != 0x7F);
	}

	for (size_t k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		int rc = text_parse_uint(p, size, maxes[k], &v), rrc = ref_uint(u, size, maxes[k], &rv);

		CHECK(rc == rrc);
		if (rc == 0)
			CHECK(v == rv && v >= 0 && v <= maxes[k]);
	}

	if (text_parse_size(p, size, &v) == 0) {
		size_t d = 0;

		CHECK(v >= 0);
		while (d < size && p[d] >= '0' && p[d] <= '9')
			d++;
		CHECK(d > 0);
		/* the digits scaled by the suffix, without overflow */
		if (ref_uint(u, d, LLONG_MAX, &rv) == 0 && rv > 0) {
			CHECK(v % rv == 0);
			CHECK(v / rv == 1 || v / rv == 1LL << 10 || v / rv == 1LL << 20 ||
			      v / rv == 1LL << 30 || v / rv == 1LL << 40);
			if (d == size)
				CHECK(v == rv);
		}
	}
	{
		time_t t;

		/* an accepted RFC 3339 time: the right length, and a "Z" time
		 * prints back to the same date and time (gmtime) */
		if (text_rfc3339_parse(p, size, &t) == 0) {
			CHECK(size >= 20 && size <= 40);
			if (size == 20 && (p[19] == 'Z' || p[19] == 'z') && memcmp(p + 17, "60", 2) != 0) {
				struct tm tm;
				char back[32];

				CHECK(gmtime_r(&t, &tm) != NULL);
				snprintf(back, sizeof(back), "%04d-%02d-%02dT%02d:%02d:%02dZ",
					 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
					 tm.tm_min, tm.tm_sec);
				CHECK(memcmp(back, p, 10) == 0 && memcmp(back + 11, p + 11, 8) == 0);
			}
		}
	}
	free(p);
	return 0;
}
