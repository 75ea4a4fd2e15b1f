/*
 * test-http: the request parsers: percent-decoding, query-string lookup
 * (first occurrence wins, '+' is a space, any malformed escape or too many /
 * too long parameters fail the whole query), cookies, bearer tokens, media
 * types, Content-Length, HTTP-dates (three formats, calendar checks, round
 * trips), entity-tag lists (weak and strong comparison), Accept-Encoding
 * q-values, and the Content-Disposition value built from a file name.
 * Inputs live in exactly-sized heap buffers with no terminator, so
 * ASan/valgrind catch a read past the end.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "tap.h"

#define L(s) (s), (sizeof(s) - 1)

static void dec_ok(const char *p, size_t n, bool plus, const char *want, size_t wn)
{
	char *in = dup_exact(p, n), *out = malloc(n ? n : 1);
	long r = http_percent_decode(in, n, out, plus);

	ok(r >= 0 && (size_t)r <= n, "percent_decode(\"%.*s\", plus=%d) succeeds", (int)n, p, plus);
	if (r >= 0)
		is_mem(out, (size_t)r, want, wn, "  decoded bytes");
	free(in);
	free(out);
}

static void dec_bad(const char *p, size_t n, const char *name)
{
	char *in = dup_exact(p, n), *out = malloc(n ? n : 1);

	is_int(http_percent_decode(in, n, out, true), -1, "percent_decode rejects %s", name);
	free(in);
	free(out);
}

static void test_percent(void)
{
	dec_ok(L(""), true, L(""));
	dec_ok(L("abc"), true, L("abc"));
	dec_ok(L("a%20b"), true, L("a b"));
	dec_ok(L("%41%42"), false, L("AB"));
	dec_ok(L("%4a%4A"), false, L("JJ"));
	dec_ok(L("%ff%00x"), false, L("\xff\0x"));
	dec_ok(L("a+b"), true, L("a b"));
	dec_ok(L("a+b"), false, L("a+b"));
	dec_ok(L("%2B+"), true, L("+ "));
	dec_ok(L("%25%32%30"), false, L("%20"));  /* decoded once, not twice */
	dec_bad(L("%"), "a lone '%'");
	dec_bad(L("%4"), "'%' with one digit at the end");
	dec_bad(L("ab%4"), "a truncated escape after text");
	dec_bad(L("%G0"), "a non-hex first digit");
	dec_bad(L("%0G"), "a non-hex second digit");
	dec_bad(L("%%41"), "'%%'");
	dec_bad(L("% 20"), "a space in an escape");
	dec_bad(L("%+20"), "'+' in an escape");
	dec_bad(L("abc%"), "a trailing '%'");
}

/* Run http_query_get on an exact heap copy; returns rc, value in the arena. */
static int query(arena_t *a, const char *q, size_t n, const char *key, char **v, size_t *vn)
{
	char *in = dup_exact(q, n);
	int rc;

	*v = NULL;
	*vn = 0;
	rc = http_query_get(a, in, n, key, v, vn);
	free(in);
	return rc;
}

static void q_is(arena_t *a, const char *q, size_t n, const char *key, const char *want,
		 size_t wn)
{
	char *v;
	size_t vn;
	int rc = query(a, q, n, key, &v, &vn);

	is_int(rc, 1, "query \"%.*s\": %s found", (int)n, q, key);
	if (rc == 1) {
		is_mem(v, vn, want, wn, "  value of %s", key);
		ok(v[vn] == '\0', "  value of %s is NUL-terminated", key);
	}
}

static void q_rc(arena_t *a, const char *q, size_t n, const char *key, int want,
		 const char *name)
{
	char *v;
	size_t vn;

	is_int(query(a, q, n, key, &v, &vn), want, "query %s: %s -> %d", name, key, want);
}

static void test_query(arena_t *a)
{
	buf_t b = BUF_INIT;

	q_is(a, L("a=1&b=x%20y"), "a", L("1"));
	q_is(a, L("a=1&b=x%20y"), "b", L("x y"));
	q_rc(a, L("a=1&b=x%20y"), "c", 0, "absent key");
	q_rc(a, L(""), "a", 0, "empty query");
	q_is(a, L("a=1&a=2"), "a", L("1"));            /* first occurrence wins */
	q_is(a, L("q=hello+world%21"), "q", L("hello world!"));
	q_is(a, L("my%20key=v"), "my key", L("v"));
	q_is(a, L("my+key=v"), "my key", L("v"));
	q_is(a, L("a=b=c"), "a", L("b=c"));
	q_is(a, L("flag"), "flag", L(""));
	q_is(a, L("flag=&x=1"), "flag", L(""));
	q_is(a, L("&&a=1&&"), "a", L("1"));
	q_rc(a, L("&&&"), "a", 0, "only separators");
	q_rc(a, L("=1"), "a", 0, "an empty name");
	q_is(a, L("=1&a=2"), "a", L("2"));
	q_is(a, L("a=x%00y"), "a", L("x\0y"));
	q_rc(a, L("A=1"), "a", 0, "keys are case-sensitive");
	q_rc(a, L("ab=1"), "a", 0, "a longer key is not a match");
	q_rc(a, L("a=1"), "ab", 0, "a shorter key is not a match");
	q_rc(a, L("a%00=1"), "a", 0, "a key with a decoded NUL is not a match");

	/* a malformed escape anywhere makes the whole query malformed */
	q_rc(a, L("a=1&b=%zz"), "a", -1, "bad escape in a later value");
	q_rc(a, L("b=%zz&a=1"), "a", -1, "bad escape in an earlier value");
	q_rc(a, L("%zz=1&a=2"), "a", -1, "bad escape in an earlier name");
	q_rc(a, L("a=2&%z"), "a", -1, "bad escape in a later name");
	q_rc(a, L("a=1&a=%zz"), "a", -1, "bad escape in a repeated key's value");
	q_rc(a, L("a=%"), "a", -1, "a truncated escape in the value");
	q_rc(a, L("a=%4"), "a", -1, "a one-digit escape at the end");
	q_rc(a, L("b=%"), "a", -1, "a truncated escape in another value");

	/* HTTP_QUERY_MAX_PARAMS */
	for (int i = 0; i < HTTP_QUERY_MAX_PARAMS; i++)
		buf_addf(&b, "%sp%d=%d", i ? "&" : "", i, i);
	q_is(a, b.p, b.len, "p63", L("63"));
	buf_adds(&b, "&&&&");
	q_rc(a, b.p, b.len, "p0", 1, "empty pairs do not count as parameters");
	buf_adds(&b, "&p64=64");
	q_rc(a, b.p, b.len, "p0", -1, "65 parameters");
	q_rc(a, b.p, b.len, "zz", -1, "65 parameters, absent key");

	/* HTTP_QUERY_MAX_LEN */
	buf_reset(&b);
	buf_adds(&b, "a=");
	while (b.len < HTTP_QUERY_MAX_LEN)
		buf_addc(&b, 'x');
	{
		char *v;
		size_t vn;
		int rc = query(a, b.p, b.len, "a", &v, &vn);

		is_int(rc, 1, "query of exactly HTTP_QUERY_MAX_LEN bytes");
		is_int(vn, HTTP_QUERY_MAX_LEN - 2, "  whole value returned");
	}
	buf_addc(&b, 'x');
	q_rc(a, b.p, b.len, "a", -1, "one byte over HTTP_QUERY_MAX_LEN");
	buf_free(&b);
	arena_clear(a);
}

static int cookie(const char *h, size_t n, const char *name, char *out, size_t outlen,
		  bool *inside)
{
	char *in = dup_exact(h, n);
	const char *v = NULL;
	size_t vn = 0;
	int rc = http_cookie_get(in, n, name, &v, &vn);

	*inside = true;
	out[0] = '\0';
	if (rc == 1) {
		*inside = v >= in && v + vn <= in + n;
		if (vn < outlen) {
			memcpy(out, v, vn);
			out[vn] = '\0';
		}
	}
	free(in);
	return rc;
}

static void c_is(const char *h, size_t n, const char *name, const char *want)
{
	char out[64];
	bool inside;
	int rc = cookie(h, n, name, out, sizeof(out), &inside);

	is_int(rc, 1, "cookie \"%.*s\": %s found", (int)n, h, name);
	is_str(out, want, "  value of %s", name);
	ok(inside, "  value of %s points into the header", name);
}

static void c_absent(const char *h, size_t n, const char *name)
{
	char out[64];
	bool inside;

	is_int(cookie(h, n, name, out, sizeof(out), &inside), 0, "cookie \"%.*s\": no %s",
	       (int)n, h, name);
}

static void test_cookie(void)
{
	c_is(L("a=1; b=2"), "a", "1");
	c_is(L("a=1; b=2"), "b", "2");
	c_absent(L("a=1; b=2"), "c");
	c_absent(L(""), "a");
	c_absent(L(";;; ;"), "a");
	c_is(L("   a=1  ;   coffer_session=xyz   "), "coffer_session", "xyz");
	c_is(L("a=1;\tb=2\t"), "b", "2");
	c_is(L("a=1;b=2"), "b", "2");
	c_is(L("s=\"quoted\""), "s", "quoted");
	c_is(L("s=\"\""), "s", "");
	c_is(L("s=\""), "s", "\"");
	c_is(L("a="), "a", "");
	c_is(L("a=b=c"), "a", "b=c");
	c_is(L("a=1; a=2"), "a", "1");
	c_is(L("xcoffer_session=bad; coffer_session2=bad; coffer_sessio=bad; "
	       "Coffer_session=bad; coffer_session=good"), "coffer_session", "good");
	c_absent(L("xcoffer_session=bad; coffer_session2=bad; coffer_sessio=bad"),
		 "coffer_session");
	c_is(L("coffer_session; coffer_session=ok"), "coffer_session", "ok");
	c_absent(L("coffer_session"), "coffer_session");
	c_absent(L("other=coffer_session=x"), "coffer_session");
}

static void b_is(const char *h, size_t n, const char *want)
{
	char *in = dup_exact(h, n);
	const char *t = NULL;
	size_t tn = 0;
	int rc = http_bearer(in, n, &t, &tn);

	is_int(rc, 1, "bearer \"%.*s\" has a token", (int)n, h);
	if (rc == 1) {
		is_mem(t, tn, want, strlen(want), "  token");
		ok(t >= in && t + tn <= in + n, "  token points into the header");
	}
	free(in);
}

static void b_none(const char *h, size_t n, const char *name)
{
	char *in = dup_exact(h, n);
	const char *t = NULL;
	size_t tn = 0;

	is_int(http_bearer(in, n, &t, &tn), 0, "bearer: no token in %s", name);
	free(in);
}

static void test_bearer(void)
{
	b_is(L("Bearer cof_abc"), "cof_abc");
	b_is(L("bearer cof_abc"), "cof_abc");
	b_is(L("BEARER cof_abc"), "cof_abc");
	b_is(L("bEaReR\tx"), "x");
	b_is(L("Bearer    tok   "), "tok");
	b_is(L("Bearer t\t"), "t");
	b_none(L(""), "an empty header");
	b_none(L("Bearer"), "\"Bearer\"");
	b_none(L("Bearer "), "\"Bearer \"");
	b_none(L("Bearer  \t  "), "\"Bearer\" and blanks");
	b_none(L("Bearerx tok"), "\"Bearerx tok\"");
	b_none(L("Bearertok"), "a missing space");
	b_none(L("Basic dXNlcjpwYXNz"), "Basic credentials");
	b_none(L("Bear tok"), "a truncated scheme");
	b_none(L("Bearer\0tok"), "a NUL after the scheme");
}

static void mt(const char *h, size_t n, const char *type, bool want)
{
	char *in = dup_exact(h, n);

	ok(http_media_type_is(in, n, type) == want, "media type \"%.*s\" %s %s", (int)n, h,
	   want ? "is" : "is not", type);
	free(in);
}

static void test_media_type(void)
{
	const char *j = "application/json";

	mt(L("application/json"), j, true);
	mt(L("Application/JSON"), j, true);
	mt(L("application/json; charset=utf-8"), j, true);
	mt(L("application/json;charset=UTF-8"), j, true);
	mt(L("  application/json"), j, true);
	mt(L("application/json "), j, true);
	mt(L("multipart/form-data; boundary=xyz"), "multipart/form-data", true);
	mt(L(""), j, false);
	mt(L("application/jso"), j, false);
	mt(L("application/jsonx"), j, false);
	mt(L("application/json-patch+json"), j, false);
	mt(L("application/problem+json"), j, false);
	mt(L("text/plain; x=application/json"), j, false);
	mt(L("application/x-www-form-urlencoded"), j, false);
	mt(L("application/json\0"), j, false);
}

static void cl(const char *p, size_t n, long long want)
{
	char *in = dup_exact(p, n);

	is_int(http_content_length(in, n), want, "content_length(\"%.*s\") = %lld", (int)n, p,
	       want);
	free(in);
}

static void test_content_length(void)
{
	cl(L("0"), 0);
	cl(L("123"), 123);
	cl(L("1048576"), 1048576);
	cl(L("9007199254740992"), 1LL << 53);
	cl(L("9007199254740993"), -1);
	cl(L("99999999999999999999"), -1);
	cl(L(""), -1);
	cl(L("-1"), -1);
	cl(L("+1"), -1);
	cl(L(" 1"), -1);
	cl(L("1 "), -1);
	cl(L("1e3"), -1);
	cl(L("0x10"), -1);
	cl(L("12, 12"), -1);
	cl(L("1\0"), -1);
}

static void date_fmt(time_t t, const char *want)
{
	char out[30];

	memset(out, 'X', sizeof(out));
	http_date_format(t, out);
	is_str(out, want, "date_format(%lld)", (long long)t);
}

/* Parse on an exact heap copy: returns rc, the time in *t. */
static int date_parse(const char *p, size_t n, time_t *t)
{
	char *in = dup_exact(p, n);
	int rc;

	*t = (time_t)-12345;
	rc = http_date_parse(in, n, t);
	free(in);
	return rc;
}

static void dp(const char *p, size_t n, long long want)
{
	time_t t;
	int rc = date_parse(p, n, &t);

	ok(rc == 0 && (long long)t == want, "date_parse(\"%s\") = %lld", tap_show(p, n), want);
	if (rc != 0 || (long long)t != want)
		diag("  rc %d, t %lld", rc, (long long)t);
}

static void dp_bad(const char *p, size_t n, const char *why)
{
	time_t t;

	is_int(date_parse(p, n, &t), -1, "date_parse rejects \"%s\" (%s)", tap_show(p, n), why);
}

/* The Unix time of a civil date through the C library (UTC), for checks. */
static long long utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (long long)timegm(&tm);
}

static void test_date_format(void)
{
	bool same = true;
	long long bad = 0;

	date_fmt(0, "Thu, 01 Jan 1970 00:00:00 GMT");
	date_fmt(784111777, "Sun, 06 Nov 1994 08:49:37 GMT");
	date_fmt(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
	date_fmt(951868799, "Tue, 29 Feb 2000 23:59:59 GMT");
	date_fmt(1709208000, "Thu, 29 Feb 2024 12:00:00 GMT");
	date_fmt(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
	date_fmt(-86400, "Wed, 31 Dec 1969 00:00:00 GMT");
	date_fmt(-2203891200LL, "Thu, 01 Mar 1900 00:00:00 GMT");
	date_fmt(2147483647, "Tue, 19 Jan 2038 03:14:07 GMT");
	date_fmt(2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT");
	date_fmt(253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT");
	date_fmt(-62167219200LL, "Sat, 01 Jan 0000 00:00:00 GMT");
	/* clamped to the years 0000-9999 */
	date_fmt(253402300800LL, "Fri, 31 Dec 9999 23:59:59 GMT");
	date_fmt(LLONG_MAX, "Fri, 31 Dec 9999 23:59:59 GMT");
	date_fmt(-62167219201LL, "Sat, 01 Jan 0000 00:00:00 GMT");
	date_fmt(LLONG_MIN, "Sat, 01 Jan 0000 00:00:00 GMT");

	/* against gmtime_r + strftime ("C" locale) over 1900-2100, every ~3.7 days
	 * at a varying time of day */
	for (long long t = -2208988800LL; t < 4102444800LL; t += 321987) {
		char got[30], want[64];
		struct tm tm;
		time_t tt = (time_t)t;

		http_date_format(tt, got);
		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (strcmp(got, want) != 0 && same) {
			same = false;
			bad = t;
		}
	}
	ok(same, "date_format agrees with gmtime_r/strftime from 1900 to 2100");
	if (!same)
		diag("  first difference at %lld", bad);
}

static void test_date_parse(void)
{
	const long long t94 = 784111777;
	time_t now = time(NULL), t;
	struct tm tm;
	int cur, yy;
	char buf[64];
	bool fine = true;

	/* the three formats of RFC 9110 5.6.7 */
	dp(L("Sun, 06 Nov 1994 08:49:37 GMT"), t94);
	dp(L("Sunday, 06-Nov-94 08:49:37 GMT"), t94);
	dp(L("Sun Nov  6 08:49:37 1994"), t94);
	dp(L("Sun Nov 06 08:49:37 1994"), t94);
	dp(L("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	dp(L("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
	dp(L("Thu Jan  1 00:00:00 1970"), 0);
	dp(L("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL);
	dp(L("Sat, 01 Jan 0000 00:00:00 GMT"), -62167219200LL);
	dp(L("Tue, 19 Jan 2038 03:14:08 GMT"), 2147483648LL);
	dp(L("Mon, 17 Nov 2025 23:59:59 GMT"), utc(2025, 11, 17, 23, 59, 59));
	dp(L("Wed, 31 Dec 2025 00:00:00 GMT"), utc(2025, 12, 31, 0, 0, 0));
	/* every month name */
	{
		static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

		for (int m = 0; m < 12; m++) {
			int n = snprintf(buf, sizeof(buf), "Sun, 15 %s 2023 10:20:30 GMT", mon[m]);

			dp(buf, (size_t)n, utc(2023, m + 1, 15, 10, 20, 30));
		}
	}
	/* blanks around the value are allowed */
	dp(L("  Sun, 06 Nov 1994 08:49:37 GMT\t "), t94);
	dp(L("\tSun Nov  6 08:49:37 1994 "), t94);
	/* the day name is not checked against the date */
	dp(L("Mon, 06 Nov 1994 08:49:37 GMT"), t94);
	dp(L("Friday, 06-Nov-94 08:49:37 GMT"), t94);

	/* leap years */
	dp(L("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
	dp(L("Thu, 29 Feb 2024 12:00:00 GMT"), 1709208000);
	dp(L("Sat, 29 Feb 1896 00:00:00 GMT"), utc(1896, 2, 29, 0, 0, 0));
	dp(L("Tue Feb 29 00:00:00 2000"), 951782400);
	dp_bad(L("Thu, 29 Feb 1900 00:00:00 GMT"), "1900 is not a leap year");
	dp_bad(L("Wed, 29 Feb 2023 00:00:00 GMT"), "2023 is not a leap year");
	dp_bad(L("Mon, 29 Feb 2100 00:00:00 GMT"), "2100 is not a leap year");
	dp_bad(L("Tue, 30 Feb 2000 00:00:00 GMT"), "30 February");
	dp_bad(L("Wed Feb 29 00:00:00 2023"), "asctime, 2023 is not a leap year");

	/* invalid days and months */
	dp_bad(L("Sun, 00 Nov 1994 08:49:37 GMT"), "day 0");
	dp_bad(L("Sun, 31 Nov 1994 08:49:37 GMT"), "31 November");
	dp_bad(L("Sun, 31 Apr 1994 08:49:37 GMT"), "31 April");
	dp_bad(L("Sun, 32 Jan 1994 08:49:37 GMT"), "32 January");
	dp_bad(L("Sun, 99 Dec 1994 08:49:37 GMT"), "day 99");
	dp_bad(L("Sunday, 31-Jun-94 08:49:37 GMT"), "31 June, RFC 850");
	dp_bad(L("Sun Sep 31 08:49:37 1994"), "31 September, asctime");
	dp_bad(L("Sun Nov  0 08:49:37 1994"), "day 0, asctime");
	dp_bad(L("Sun, 06 Foo 1994 08:49:37 GMT"), "unknown month");
	dp_bad(L("Sun, 06 nov 1994 08:49:37 GMT"), "lowercase month");
	dp_bad(L("Sun, 06 NOV 1994 08:49:37 GMT"), "uppercase month");
	dp_bad(L("Sun, 06 November 1994 08:49:37 GMT"), "long month name");
	dp_bad(L("Sun, 06 11 1994 08:49:37 GMT"), "numeric month");
	dp_bad(L("Sux, 06 Nov 1994 08:49:37 GMT"), "unknown day name");
	dp_bad(L("sun, 06 Nov 1994 08:49:37 GMT"), "lowercase day name");
	dp_bad(L("Sunday, 06 Nov 1994 08:49:37 GMT"), "long day name in IMF-fixdate");
	dp_bad(L("Sun, 06-Nov-94 08:49:37 GMT"), "short day name in RFC 850");
	dp_bad(L("Sunday, 06-Nov-1994 08:49:37 GMT"), "four-digit year in RFC 850");

	/* times */
	dp_bad(L("Sun, 06 Nov 1994 24:00:00 GMT"), "hour 24");
	dp_bad(L("Sun, 06 Nov 1994 08:60:00 GMT"), "minute 60");
	dp_bad(L("Sun, 06 Nov 1994 08:49:60 GMT"), "second 60");
	dp_bad(L("Sun, 06 Nov 1994 8:49:37 GMT"), "one-digit hour");
	dp_bad(L("Sun, 06 Nov 1994 08:49 GMT"), "no seconds");
	dp_bad(L("Sun, 06 Nov 1994 08.49.37 GMT"), "dots in the time");

	/* shape */
	dp_bad(L(""), "empty");
	dp_bad(L("   "), "blanks");
	dp_bad(L("Sun"), "a day name");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37 UTC"), "UTC");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37 gmt"), "lowercase gmt");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37"), "no GMT");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37 GMTx"), "trailing text");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37 GMT; length=1234"), "trailing parameter");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37 +0000"), "numeric zone");
	dp_bad(L("Sun,  06 Nov 1994 08:49:37 GMT"), "two spaces");
	dp_bad(L("Sun,06 Nov 1994 08:49:37 GMT"), "no space after the comma");
	dp_bad(L("Sun, 6 Nov 1994 08:49:37 GMT"), "one-digit day in IMF-fixdate");
	dp_bad(L("Sun, 06 Nov 94 08:49:37 GMT"), "two-digit year in IMF-fixdate");
	dp_bad(L("Sun, 06 Nov 01994 08:49:37 GMT"), "five-digit year");
	dp_bad(L("Sun, 06 Nov -994 08:49:37 GMT"), "negative year");
	dp_bad(L("Sun Nov 6 08:49:37 1994"), "asctime with one space before a one-digit day");
	dp_bad(L("Sun Nov   6 08:49:37 1994"), "asctime with three spaces");
	dp_bad(L("Sun Nov  6 08:49:37 94"), "asctime with a two-digit year");
	dp_bad(L("Sun Nov  6 08:49:37 1994 GMT"), "asctime with GMT");
	dp_bad(L("Sun, 06 Nov 1994 08:49:37 GMT\0"), "a trailing NUL");
	dp_bad(L("Sun, 06 Nov\0 1994 08:49:37 GMT"), "a NUL inside");
	dp_bad(L("1994-11-06T08:49:37Z"), "ISO 8601");
	dp_bad(L("784111777"), "a number");

	/* every proper prefix of each format is invalid (and read in bounds) */
	{
		static const char *const full[] = { "Sun, 06 Nov 1994 08:49:37 GMT",
						    "Sunday, 06-Nov-94 08:49:37 GMT",
						    "Sun Nov  6 08:49:37 1994" };

		for (size_t f = 0; f < 3; f++)
			for (size_t k = 0; k < strlen(full[f]); k++)
				if (date_parse(full[f], k, &t) != -1)
					fine = false;
		ok(fine, "every proper prefix of the three formats is invalid");
	}

	/* RFC 850 two-digit years: more than 50 years ahead means the last century */
	gmtime_r(&now, &tm);
	cur = tm.tm_year + 1900;
	{
		static const struct {
			int ahead;	/* years from now */
			const char *rest;	/* "-Mon-YY time GMT" after the year */
			int mo, d, h, mi, s;
			int shift;	/* centuries back */
		} yc[] = {
			{ 0, "Mar-%02d 00:00:00 GMT", 3, 1, 0, 0, 0, 0 },
			{ 1, "Mar-%02d 00:00:00 GMT", 3, 1, 0, 0, 0, 0 },
			{ -1, "Mar-%02d 00:00:00 GMT", 3, 1, 0, 0, 0, 0 },
			{ -30, "Mar-%02d 00:00:00 GMT", 3, 1, 0, 0, 0, 0 },
			{ -49, "Mar-%02d 00:00:00 GMT", 3, 1, 0, 0, 0, 0 },
			{ 50, "Jan-%02d 00:00:00 GMT", 1, 1, 0, 0, 0, 0 },
			{ 50, "Dec-%02d 23:59:59 GMT", 12, 31, 23, 59, 59, 1 },
			{ 51, "Jan-%02d 00:00:00 GMT", 1, 1, 0, 0, 0, 1 },
		};

		for (size_t k = 0; k < sizeof(yc) / sizeof(yc[0]); k++) {
			int y = cur + yc[k].ahead, n;
			char fmt[64];

			if (yc[k].mo == 12 && tm.tm_mon == 11 && tm.tm_mday == 31)
				continue;	/* today is the boundary itself */
			yy = ((y % 100) + 100) % 100;
			snprintf(fmt, sizeof(fmt), "Monday, %02d-%s", yc[k].d, yc[k].rest);
			n = snprintf(buf, sizeof(buf), fmt, yy);
			dp(buf, (size_t)n, utc(y - 100 * yc[k].shift, yc[k].mo, yc[k].d, yc[k].h,
					       yc[k].mi, yc[k].s));
		}
	}

	/* format then parse is the identity over the whole range */
	fine = true;
	for (long long v = -62167219200LL; v <= 253402300799LL; v += 987654321) {
		char out[30];

		http_date_format((time_t)v, out);
		if (date_parse(out, strlen(out), &t) != 0 || (long long)t != v) {
			if (fine)
				diag("  round trip failed at %lld (%s)", v, out);
			fine = false;
		}
	}
	ok(fine, "format then parse gives the same time, years 0000-9999");
}

static void em(const char *p, size_t n, const char *etag, bool want)
{
	char *in = dup_exact(p, n);

	ok(http_etag_match(in, n, etag) == want, "etag_match([%s], %s) is %s", tap_show(p, n), etag,
	   want ? "true" : "false");
	free(in);
}

static void es(const char *p, size_t n, const char *etag, bool want)
{
	char *in = dup_exact(p, n);

	ok(http_etag_strong_eq(in, n, etag) == want, "etag_strong_eq([%s], %s) is %s", tap_show(p, n),
	   etag, want ? "true" : "false");
	free(in);
}

static void test_etag(void)
{
	const char *e = "\"abc\"";

	em(L("\"abc\""), e, true);
	em(L("W/\"abc\""), e, true);
	em(L("\"abc\""), "W/\"abc\"", true);	/* weak comparison either way */
	em(L("W/\"abc\""), "W/\"abc\"", true);
	em(L("\"xyz\""), e, false);
	em(L("\"xyz\", \"abc\""), e, true);
	em(L("\"xyz\",\"abc\""), e, true);
	em(L("\"xyz\" ,\t W/\"abc\""), e, true);
	em(L("\"abc\", \"xyz\""), e, true);
	em(L(" \"abc\" "), e, true);
	em(L("\"abc\",,"), e, true);	/* empty list elements */
	em(L(", ,\"abc\""), e, true);
	em(L("\"ab\""), e, false);
	em(L("\"abcd\""), e, false);
	em(L("\"ABC\""), e, false);	/* opaque tags are case-sensitive */
	em(L("\"\""), e, false);
	em(L("\"\""), "\"\"", true);	/* the empty tag is a tag */
	em(L("*"), e, true);
	em(L("  *\t"), e, true);
	em(L("*"), "\"\"", true);
	/* malformed: the whole list is false, even with a matching tag in it */
	em(L(""), e, false);
	em(L("  "), e, false);
	em(L(",,,"), e, false);
	em(L("abc"), e, false);
	em(L("\"abc"), e, false);
	em(L("abc\""), e, false);
	em(L("\"abc\"x"), e, false);
	em(L("\"abc\" \"xyz\""), e, false);
	em(L("\"abc\"\"xyz\""), e, false);
	em(L("\"abc\", xyz"), e, false);
	em(L("xyz, \"abc\""), e, false);
	em(L("\"abc\", \"x"), e, false);
	em(L("*, \"abc\""), e, false);
	em(L("\"abc\", *"), e, false);
	em(L("**"), e, false);
	em(L("w/\"abc\""), e, false);	/* W/ is case-sensitive */
	em(L("W/ \"abc\""), e, false);
	em(L("W\"abc\""), e, false);
	em(L("W/abc"), e, false);
	em(L("'abc'"), e, false);
	em(L("\"ab c\""), "\"ab c\"", false);	/* SP is not an etagc */
	em(L("\"ab\tc\""), "\"ab\tc\"", false);
	em(L("\"a\x01\""), "\"a\x01\"", false);
	em(L("\"a\x7f\""), "\"a\x7f\"", false);
	em(L("\"abc\"\0"), e, false);
	em(L("\"ab\0c\""), e, false);
	/* RFC 9110 8.8.3: etagc = %x21 / %x23-7E / obs-text, so ',' is a legal
	 * etagc (0x2C) and "a,b" is one tag; backslash has no escaping role */
	em(L("\"a,b\""), "\"a,b\"", true);
	em(L("\"a,b\", \"abc\""), e, true);
	em(L("\"a,b\""), "\"a\"", false);
	em(L("\"a\\\""), "\"a\\\"", true);
	em(L("\"\xff\xfe\", \"abc\""), e, true);	/* obs-text */
	em(L("\"\xe2\x82\xac\""), "\"\xe2\x82\xac\"", true);

	es(L("\"abc\""), e, true);
	es(L(" \"abc\"\t"), e, true);
	es(L("W/\"abc\""), e, false);
	es(L("\"abc\""), "W/\"abc\"", false);
	es(L("W/\"abc\""), "W/\"abc\"", false);
	es(L("\"xyz\""), e, false);
	es(L("\"ab\""), e, false);
	es(L("\"abcd\""), e, false);
	es(L("\"abc\", \"abc\""), e, false);
	es(L("\"abc\","), e, false);
	es(L("*"), e, false);
	es(L(""), e, false);
	es(L("\"abc"), e, false);
	es(L("\"abc\"x"), e, false);
	es(L("\"abc\"\0"), e, false);
	es(L("Sun, 06 Nov 1994 08:49:37 GMT"), e, false);
	es(L("\"a,b\""), "\"a,b\"", true);
}

static void ag(const char *p, size_t n, bool want)
{
	char *in = dup_exact(p, n);

	ok(http_accepts_gzip(in, n) == want, "accepts_gzip(\"%s\") is %s", tap_show(p, n),
	   want ? "true" : "false");
	free(in);
}

static void test_accept_encoding(void)
{
	ag(L("gzip"), true);
	ag(L("GZIP"), true);
	ag(L("Gzip"), true);
	ag(L("x-gzip"), true);
	ag(L("X-GZip"), true);
	ag(L("gzip, deflate, br"), true);
	ag(L("deflate, gzip"), true);
	ag(L("br;q=1.0, gzip;q=0.8, *;q=0.1"), true);
	ag(L("gzip;q=1.0"), true);
	ag(L("gzip;q=1"), true);
	ag(L("gzip;q=1."), true);
	ag(L("gzip;q=1.000"), true);
	ag(L("gzip;q=0.5"), true);
	ag(L("gzip;q=0.001"), true);
	ag(L("gzip;Q=0.5"), true);
	ag(L("gzip ; q=0.5"), true);
	ag(L("gzip;\tq=0.5 , br"), true);
	ag(L("  gzip  "), true);
	ag(L("gzip,,  ,deflate"), true);
	ag(L("*"), true);
	ag(L("*;q=0.5"), true);
	ag(L("identity, *;q=0.5"), true);
	ag(L("*;q=0, gzip"), true);	/* an explicit gzip beats "*" */
	ag(L("gzip, *;q=0"), true);
	/* refused */
	ag(L("gzip;q=0"), false);
	ag(L("gzip;q=0."), false);
	ag(L("gzip;q=0.0"), false);
	ag(L("gzip; q=0.000"), false);
	ag(L("GZIP;Q=0"), false);
	ag(L("x-gzip;q=0"), false);
	ag(L("gzip;q=0, *"), false);
	ag(L("*, gzip;q=0"), false);
	ag(L("gzip;q=0, x-gzip"), false);	/* x-gzip is gzip: any q=0 refuses */
	ag(L("gzip, gzip;q=0"), false);
	ag(L("*;q=0"), false);
	ag(L("*;q=0.5, *;q=0"), false);
	ag(L("identity"), false);
	ag(L("identity, *;q=0"), false);
	ag(L("deflate, br"), false);
	ag(L("gzipx"), false);
	ag(L("xgzip"), false);
	ag(L("x-gzip2"), false);
	ag(L(""), false);
	ag(L(" , "), false);
	/* malformed */
	ag(L("gzip;q=1.001"), false);
	ag(L("gzip;q=1.5"), false);
	ag(L("gzip;q=2"), false);
	ag(L("gzip;q=0.0000"), false);
	ag(L("gzip;q=0.5000"), false);
	ag(L("gzip;q="), false);
	ag(L("gzip;q=.5"), false);
	ag(L("gzip;q= 0.5"), false);
	ag(L("gzip;q =0.5"), false);
	ag(L("gzip;q=-1"), false);
	ag(L("gzip;q=0.5x"), false);
	ag(L("gzip;q"), false);
	ag(L("gzip;"), false);
	ag(L("gzip;level=9"), false);
	ag(L("gzip;q=0.5;x=1"), false);
	ag(L("gzip deflate"), false);
	ag(L("gzip, @"), false);
	ag(L("gzip, de/flate"), false);
	ag(L("\"gzip\""), false);
	ag(L("gzip\0"), false);
	ag(L("gzip\r\n"), false);
	ag(L(";q=1"), false);
}

static void cd(arena_t *a, const char *disp, const char *name, size_t n, const char *want)
{
	char *in = dup_exact(name, n);

	is_str(http_content_disposition(a, disp, in, n), want, "content_disposition(%s, \"%s\")",
	       disp ? disp : "NULL", tap_show(name, n));
	free(in);
}

static void test_content_disposition(arena_t *a)
{
	bool clean = true;

	cd(a, "attachment", L("report.pdf"),
	   "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
	cd(a, "inline", L("report.pdf"),
	   "inline; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
	cd(a, "form-data", L("a"), "attachment; filename=\"a\"; filename*=UTF-8''a");
	cd(a, "INLINE", L("a"), "attachment; filename=\"a\"; filename*=UTF-8''a");
	cd(a, NULL, L("a"), "attachment; filename=\"a\"; filename*=UTF-8''a");
	cd(a, "attachment", L(""), "attachment; filename=\"download\"; filename*=UTF-8''download");
	cd(a, "attachment", L("my file.txt"),
	   "attachment; filename=\"my file.txt\"; filename*=UTF-8''my%20file.txt");
	cd(a, "attachment", L("a\"b.txt"),
	   "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt");
	cd(a, "attachment", L("\"\""), "attachment; filename=\"__\"; filename*=UTF-8''%22%22");
	cd(a, "attachment", L("a\\b"), "attachment; filename=\"a_b\"; filename*=UTF-8''a%5Cb");
	cd(a, "attachment", L("100%.txt"),
	   "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt");
	cd(a, "attachment", L("%41"), "attachment; filename=\"_41\"; filename*=UTF-8''%2541");
	cd(a, "attachment", L("a;b"), "attachment; filename=\"a_b\"; filename*=UTF-8''a%3Bb");
	cd(a, "attachment", L("r\xc3\xa9sum\xc3\xa9.pdf"),
	   "attachment; filename=\"r__sum__.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
	cd(a, "attachment", L("\xe6\x96\x87\xe4\xbb\xb6.txt"),
	   "attachment; filename=\"______.txt\"; filename*=UTF-8''%E6%96%87%E4%BB%B6.txt");
	cd(a, "attachment", L("\xf0\x9f\x98\x80"),
	   "attachment; filename=\"____\"; filename*=UTF-8''%F0%9F%98%80");
	cd(a, "attachment", L("a\r\nb\tc\x7f"),
	   "attachment; filename=\"a__b_c_\"; filename*=UTF-8''a%0D%0Ab%09c%7F");
	cd(a, "attachment", L("x\r\nSet-Cookie: a=b"),
	   "attachment; filename=\"x__Set-Cookie: a=b\"; "
	   "filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db");
	cd(a, "attachment", L("a\0b"), "attachment; filename=\"a_b\"; filename*=UTF-8''a%00b");
	cd(a, "attachment", L("\xff\xfe"), "attachment; filename=\"__\"; filename*=UTF-8''%FF%FE");
	/* attr-chars pass through; other printable ASCII stays in the fallback
	 * and is percent-encoded in filename* */
	cd(a, "attachment", L("!#$&+-.^_`|~"),
	   "attachment; filename=\"!#$&+-.^_`|~\"; filename*=UTF-8''!#$&+-.^_`|~");
	cd(a, "attachment", L("'()*,/:<=>?@[]{}"),
	   "attachment; filename=\"'()*,/:<=>?@[]{}\"; "
	   "filename*=UTF-8''%27%28%29%2A%2C%2F%3A%3C%3D%3E%3F%40%5B%5D%7B%7D");

	/* every single byte gives printable ASCII, no CR/LF, fallback 1 byte */
	for (int c = 0; c < 256; c++) {
		char nm = (char)c;
		const char *v = http_content_disposition(a, "attachment", &nm, 1);
		size_t vl = strlen(v);

		for (size_t k = 0; k < vl; k++)
			if ((unsigned char)v[k] < 0x20 || (unsigned char)v[k] > 0x7E)
				clean = false;
		if (strncmp(v, "attachment; filename=\"", 22) != 0 || v[23] != '"')
			clean = false;
	}
	ok(clean, "content_disposition of each single byte is printable ASCII");
	arena_clear(a);
}

int main(void)
{
	arena_t *a = arena_new();

	test_percent();
	test_query(a);
	test_cookie();
	test_bearer();
	test_media_type();
	test_content_length();
	test_date_format();
	test_date_parse();
	test_etag();
	test_accept_encoding();
	test_content_disposition(a);
	arena_free(a);
	return done_testing();
}
