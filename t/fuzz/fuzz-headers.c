/*
 * fuzz-headers: Cookie, Authorization, Content-Type, Content-Length,
 * HTTP-date, If-None-Match/If-Match/If-Range and Accept-Encoding values, and
 * the Content-Disposition built from a file name. Invariants: returned
 * pointers lie inside the input; a cookie value holds no ';'; a bearer token
 * is non-empty, without surrounding blanks, and the header starts with
 * "Bearer" (any case); a matching media type begins the value; a
 * Content-Length is all digits and at most 2^53; a parsed date formats to an
 * IMF-fixdate that parses to the same time (and equals the input but for the
 * day name when the input was one); any time formats to 29 printable bytes
 * that parse back to it (clamped to 0000-9999); entity-tag matching and
 * Accept-Encoding equal reference implementations and keep their
 * metamorphic rules; Content-Disposition is printable ASCII whose fallback
 * mirrors the name and whose filename* decodes back to it.
 * Inputs sit in exactly-sized heap buffers without a terminator.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "fuzz.h"

static void check_cookies(const char *p, size_t n)
{
	static const char *const names[] = { "coffer_session", "a", "" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		const char *v = NULL;
		size_t vl = 0, nl = strlen(names[k]);

		if (http_cookie_get(p, n, names[k], &v, &vl) != 1)
			continue;
		CHECK(v >= p + nl + 1 && v + vl <= p + n);
		CHECK(memchr(v, ';', vl) == NULL);
		/* the value follows "name=" (possibly after an opening quote) */
		{
			const char *eq = v[-1] == '"' && v - 1 >= p + nl + 1 && v[-2] == '=' ? v - 2 : v - 1;

			const char *name = eq - nl;

			CHECK(*eq == '=' && name >= p && memcmp(name, names[k], nl) == 0);
			CHECK(name == p || name[-1] == ' ' || name[-1] == '\t' || name[-1] == ';');
		}
	}
}

static void check_bearer(const char *p, size_t n)
{
	const char *t = NULL;
	size_t tl = 0;

	if (http_bearer(p, n, &t, &tl) != 1)
		return;
	CHECK(n > 6 && strncasecmp(p, "bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\t'));
	CHECK(tl > 0 && t > p + 6 && t + tl <= p + n);
	CHECK(t[0] != ' ' && t[0] != '\t' && t[tl - 1] != ' ' && t[tl - 1] != '\t');
}

static void check_media_type(const char *p, size_t n)
{
	static const char *const types[] = { "application/json", "multipart/form-data", "" };

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		size_t tl = strlen(types[k]), i = 0;

		if (!http_media_type_is(p, n, types[k]))
			continue;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		CHECK(n - i >= tl && strncasecmp(p + i, types[k], tl) == 0);
		CHECK(i + tl == n || p[i + tl] == ';' || p[i + tl] == ' ' || p[i + tl] == '\t');
	}
}

static void check_content_length(const char *p, size_t n)
{
	long long v = http_content_length(p, n), ref = 0;
	bool digits = n > 0;

	CHECK(v >= -1 && v <= (1LL << 53));
	for (size_t i = 0; i < n && digits; i++) {
		if (p[i] < '0' || p[i] > '9')
			digits = false;
		else if (ref <= (1LL << 53))
			ref = ref * 10 + (p[i] - '0');
	}
	/* reference: all digits and at most 2^53 (long inputs capped by text_parse_uint) */
	if (!digits || ref > (1LL << 53))
		CHECK(v == -1);
	else if (n <= 19)
		CHECK(v == ref);
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim blanks: *b..*e becomes the value without surrounding OWS. */
static void trim(const char *p, size_t n, size_t *b, size_t *e)
{
	*b = 0;
	*e = n;
	while (*b < *e && ows(p[*b]))
		(*b)++;
	while (*e > *b && ows(p[*e - 1]))
		(*e)--;
}

static void check_date_format(long long v)
{
	char out[30];
	time_t t;
	long long want = v;

	if (want < -62167219200LL)
		want = -62167219200LL;
	if (want > 253402300799LL)
		want = 253402300799LL;
	memset(out, 0, sizeof(out));
	http_date_format((time_t)v, out);
	CHECK(strlen(out) == 29 && memcmp(out + 25, " GMT", 4) == 0);
	for (size_t k = 0; k < 29; k++)
		CHECK(out[k] >= 0x20 && out[k] < 0x7F);
	CHECK(http_date_parse(out, 29, &t) == 0 && (long long)t == want);
}

static void check_date(const char *p, size_t n)
{
	time_t t, t2;
	char out[30];
	size_t b, e;

	if (n >= 8) {
		uint64_t u;

		memcpy(&u, p, 8);
		check_date_format((long long)u);
		check_date_format((long long)(u % 400000000000ULL) - 100000000000LL);
	}
	if (http_date_parse(p, n, &t) != 0)
		return;
	http_date_format(t, out);
	{
		char *c = dup_exact(out, 29);

		CHECK(http_date_parse(c, 29, &t2) == 0 && t2 == t);
		free(c);
	}
	/* an accepted IMF-fixdate is canonical but for the unchecked day name */
	trim(p, n, &b, &e);
	if (e - b == 29 && p[b + 3] == ',')
		CHECK(memcmp(out + 3, p + b + 3, 26) == 0);
}

/* Entity-tags, written as a small state machine rather than the library's
 * token loop. */
static bool ref_etag_match(const char *p, size_t n, const char *etag)
{
	enum { SEP, TAG, AFTER } st = SEP;
	size_t b, e, ts = 0, el;
	bool any = false, match = false;

	if (etag[0] == 'W' && etag[1] == '/')
		etag += 2;
	el = strlen(etag);
	trim(p, n, &b, &e);
	if (e - b == 1 && p[b] == '*')
		return true;
	for (size_t k = b; k < e; k++) {
		unsigned char c = (unsigned char)p[k];

		switch (st) {
		case SEP:
			if (ows((char)c) || c == ',')
				break;
			if (c == 'W' && k + 1 < e && p[k + 1] == '/' && k + 2 < e && p[k + 2] == '"')
				k += 2;
			else if (c != '"')
				return false;
			ts = k;
			st = TAG;
			break;
		case TAG:
			if (c == '"') {
				any = true;
				if (k + 1 - ts == el && memcmp(p + ts, etag, el) == 0)
					match = true;
				st = AFTER;
			} else if (c < 0x21 || c == 0x7F) {
				return false;
			}
			break;
		case AFTER:
			if (c == ',')
				st = SEP;
			else if (!ows((char)c))
				return false;
			break;
		}
	}
	return st != TAG && any && match;
}

static void check_etag(const char *p, size_t n)
{
	static const char *const tags[] = {
		"\"abc\"", "W/\"abc\"", "\"\"", "\"a,b\"",
		"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
	};
	size_t b, e;

	trim(p, n, &b, &e);
	for (size_t k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
		const char *t = tags[k], *opaque = t[0] == 'W' ? t + 2 : t;
		bool m = http_etag_match(p, n, t), s = http_etag_strong_eq(p, n, t);

		CHECK(m == ref_etag_match(p, n, t));
		if (s) {
			CHECK(m && t[0] != 'W');
			CHECK(e - b == strlen(t) && memcmp(p + b, t, e - b) == 0);
		}
		if (m)
			CHECK((e - b == 1 && p[b] == '*') ||
			      memmem(p, n, opaque, strlen(opaque)) != NULL);
	}
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* qvalue exactly p[0..n), in thousandths, or -1. */
static int ref_qvalue(const char *p, size_t n)
{
	int q = 0, scale = 100;

	if (n == 0 || (p[0] != '0' && p[0] != '1') || n > 5 || (n > 1 && p[1] != '.'))
		return -1;
	for (size_t k = 2; k < n; k++, scale /= 10) {
		if (p[k] < '0' || p[k] > '9' || (p[0] == '1' && p[k] != '0'))
			return -1;
		q += (p[k] - '0') * scale;
	}
	return (p[0] - '0') * 1000 + q;
}

/* Accept-Encoding: split on ',' then on ';', as a reference. */
static bool ref_accepts_gzip(const char *p, size_t n)
{
	bool gy = false, gn = false, sy = false, sn = false;
	size_t i = 0;

	while (i <= n) {
		const char *el = p + i, *comma = memchr(el, ',', n - i), *semi;
		size_t len = comma ? (size_t)(comma - el) : n - i, b, e, tl;
		int q = 1000;

		i += len + 1;
		trim(el, len, &b, &e);
		if (b == e)
			continue;
		semi = memchr(el + b, ';', e - b);
		tl = semi ? (size_t)(semi - (el + b)) : e - b;
		while (tl > 0 && ows(el[b + tl - 1]))
			tl--;
		if (tl == 0)
			return false;
		for (size_t k = 0; k < tl; k++)
			if (!is_tchar((unsigned char)el[b + k]))
				return false;
		if (semi) {
			size_t pb, pe;

			trim(semi + 1, (size_t)(el + e - semi - 1), &pb, &pe);
			if (pe - pb < 2 || (semi[1 + pb] | 0x20) != 'q' || semi[2 + pb] != '=')
				return false;
			if ((q = ref_qvalue(semi + 3 + pb, pe - pb - 2)) < 0)
				return false;
		}
		if ((tl == 4 && strncasecmp(el + b, "gzip", 4) == 0) ||
		    (tl == 6 && strncasecmp(el + b, "x-gzip", 6) == 0)) {
			gy |= q > 0;
			gn |= q == 0;
		} else if (tl == 1 && el[b] == '*') {
			sy |= q > 0;
			sn |= q == 0;
		}
	}
	return !gn && (gy || (sy && !sn));
}

static bool gzip_with(const char *p, size_t n, const char *tail)
{
	size_t tl = strlen(tail);
	char *c = malloc(n + tl);
	bool r;

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	memcpy(c + n, tail, tl);
	r = http_accepts_gzip(c, n + tl);
	free(c);
	return r;
}

static void check_accept_encoding(const char *p, size_t n)
{
	bool g = http_accepts_gzip(p, n);

	CHECK(g == ref_accepts_gzip(p, n));
	if (g) {
		bool named = memchr(p, '*', n) != NULL;

		for (size_t k = 0; k + 4 <= n && !named; k++)
			named = strncasecmp(p + k, "gzip", 4) == 0;
		CHECK(named);
	}
	/* an extra element: identity changes nothing, gzip;q=0 always refuses */
	CHECK(gzip_with(p, n, ", identity") == g);
	CHECK(!gzip_with(p, n, ", gzip;q=0"));
}

static bool attr_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_disposition(const char *p, size_t n)
{
	static const char *const disp[] = { "attachment", "inline" };
	static const char mid[] = "\"; filename*=UTF-8''";
	arena_t *a = arena_new();
	const char *name = n ? p : "download";
	size_t nl = n ? n : 8;

	for (size_t k = 0; k < 2; k++) {
		const char *v = http_content_disposition(a, disp[k], p, n), *f, *x;
		size_t dl = strlen(disp[k]), vl, o = 0;

		CHECK(v != NULL);
		vl = strlen(v);
		for (size_t j = 0; j < vl; j++)
			CHECK(v[j] >= 0x20 && v[j] < 0x7F);
		CHECK(vl > dl + 12 && memcmp(v, disp[k], dl) == 0 &&
		      memcmp(v + dl, "; filename=\"", 12) == 0);
		f = v + dl + 12;
		CHECK((size_t)(v + vl - f) >= nl + sizeof(mid) - 1);
		for (size_t j = 0; j < nl; j++) {
			CHECK(f[j] == name[j] || f[j] == '_');
			CHECK(f[j] != '"' && f[j] != '\\' && f[j] != '%' && f[j] != ';');
		}
		CHECK(memcmp(f + nl, mid, sizeof(mid) - 1) == 0);
		/* filename* is attr-chars and %XX, and decodes to the name */
		for (x = f + nl + sizeof(mid) - 1; *x; o++) {
			CHECK(o < nl);
			if (*x == '%') {
				int h = hexv(x[1]), l = h < 0 ? -1 : hexv(x[2]);

				CHECK(h >= 0 && l >= 0 && (unsigned char)name[o] == h * 16 + l);
				CHECK(!attr_char((unsigned char)name[o]));
				x += 3;
			} else {
				CHECK(attr_char((unsigned char)*x) && *x == name[o]);
				x++;
			}
		}
		CHECK(o == nl);
	}
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = dup_exact(data, size);

	check_cookies(p, size);
	check_bearer(p, size);
	check_media_type(p, size);
	check_content_length(p, size);
	check_date(p, size);
	check_etag(p, size);
	check_accept_encoding(p, size);
	check_disposition(p, size);
	free(p);
	return 0;
}
