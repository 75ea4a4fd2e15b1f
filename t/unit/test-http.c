/*
 * test-http: the request parsers: percent-decoding, query-string lookup
 * (first occurrence wins, '+' is a space, any malformed escape or too many /
 * too long parameters fail the whole query), cookies, bearer tokens, media
 * types and Content-Length. Inputs live in exactly-sized heap buffers with
 * no terminator, so ASan/valgrind catch a read past the end.
 */
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	arena_t *a = arena_new();

	test_percent();
	test_query(a);
	test_cookie();
	test_bearer();
	test_media_type();
	test_content_length();
	arena_free(a);
	return done_testing();
}
