/*
 * test-text: the validators of untrusted strings accept exactly what
 * text.h documents: well-formed UTF-8, UUIDs, file names, usernames,
 * emails, sizes and bounded unsigned integers; text_printable makes any
 * bytes printable UTF-8 within a bound. Every input is copied into
 * an exactly-sized heap buffer so ASan/valgrind catch a read past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "text.h"

typedef bool (*validator)(const char *, size_t);

static bool run(validator fn, const char *p, size_t n)
{
	char *d = dup_exact(p, n);
	bool r = fn(d, n);

	free(d);
	return r;
}

/* Literal with its exact length, embedded NULs included. */
#define L(s) (s), (sizeof(s) - 1)
#define YES(fn, s, name) ok(run(fn, L(s)), "%s accepts %s", #fn, name)
#define NO(fn, s, name) ok(!run(fn, L(s)), "%s rejects %s", #fn, name)

static void test_utf8(void)
{
	YES(text_utf8_valid, "", "empty");
	YES(text_utf8_valid, "plain ASCII", "ASCII");
	YES(text_utf8_valid, "a\0b", "an embedded NUL (U+0000 is valid UTF-8)");
	YES(text_utf8_valid, "\xC2\x80", "U+0080 (smallest 2-byte)");
	YES(text_utf8_valid, "caf\xC3\xA9", "2-byte U+00E9");
	YES(text_utf8_valid, "\xDF\xBF", "U+07FF (largest 2-byte)");
	YES(text_utf8_valid, "\xE0\xA0\x80", "U+0800 (smallest 3-byte)");
	YES(text_utf8_valid, "\xE2\x82\xAC", "3-byte U+20AC");
	YES(text_utf8_valid, "\xED\x9F\xBF", "U+D7FF (just below surrogates)");
	YES(text_utf8_valid, "\xEE\x80\x80", "U+E000 (just above surrogates)");
	YES(text_utf8_valid, "\xEF\xBF\xBF", "U+FFFF");
	YES(text_utf8_valid, "\xF0\x90\x80\x80", "U+10000 (smallest 4-byte)");
	YES(text_utf8_valid, "\xF0\x9D\x84\x9E", "4-byte U+1D11E");
	YES(text_utf8_valid, "\xF4\x8F\xBF\xBF", "U+10FFFF (largest code point)");

	NO(text_utf8_valid, "\xC0\x80", "overlong NUL C0 80");
	NO(text_utf8_valid, "\xC1\xBF", "overlong 2-byte C1 BF");
	NO(text_utf8_valid, "\xE0\x80\x80", "overlong 3-byte E0 80 80");
	NO(text_utf8_valid, "\xE0\x9F\xBF", "overlong 3-byte E0 9F BF");
	NO(text_utf8_valid, "\xF0\x80\x80\x80", "overlong 4-byte F0 80 80 80");
	NO(text_utf8_valid, "\xF0\x8F\xBF\xBF", "overlong 4-byte F0 8F BF BF");
	NO(text_utf8_valid, "\xED\xA0\x80", "surrogate U+D800");
	NO(text_utf8_valid, "\xED\xBF\xBF", "surrogate U+DFFF");
	NO(text_utf8_valid, "\xED\xA0\xBD\xED\xB2\xA9", "CESU-8 surrogate pair");
	NO(text_utf8_valid, "\xF4\x90\x80\x80", "U+110000");
	NO(text_utf8_valid, "\xF5\x80\x80\x80", "lead byte F5");
	NO(text_utf8_valid, "\xF7\xBF\xBF\xBF", "lead byte F7 (U+1FFFFF)");
	NO(text_utf8_valid, "\xF8\x88\x80\x80\x80", "5-byte sequence");
	NO(text_utf8_valid, "\xFC\x84\x80\x80\x80\x80", "6-byte sequence");
	NO(text_utf8_valid, "\xFE", "byte FE");
	NO(text_utf8_valid, "\xFF", "byte FF");
	NO(text_utf8_valid, "\x80", "lone continuation byte 80");
	NO(text_utf8_valid, "a\xBF" "b", "lone continuation byte BF");
	NO(text_utf8_valid, "\xC3", "truncated 2-byte at end");
	NO(text_utf8_valid, "ok\xE2\x82", "truncated 3-byte at end");
	NO(text_utf8_valid, "\xF0\x9D\x84", "truncated 4-byte at end");
	NO(text_utf8_valid, "\xE2\x82" "a", "3-byte with an ASCII byte in place of a continuation");
	NO(text_utf8_valid, "\xC3\x28", "2-byte with a bad continuation");
	NO(text_utf8_valid, "\xF0\x9D\x84\xC3\xA9", "4-byte interrupted by a new lead byte");
	/* only the first n bytes count: a valid prefix of an invalid string */
	ok(text_utf8_valid("ab\xFF", 2), "text_utf8_valid looks at n bytes only");
}

static void test_uuid(void)
{
	YES(text_uuid_valid, "123e4567-e89b-12d3-a456-426614174000", "a lowercase UUID");
	YES(text_uuid_valid, "123E4567-E89B-12D3-A456-426614174ABC", "an uppercase UUID");
	YES(text_uuid_valid, "00000000-0000-0000-0000-000000000000", "the nil UUID");
	NO(text_uuid_valid, "", "empty");
	NO(text_uuid_valid, "123e4567-e89b-12d3-a456-42661417400", "35 characters");
	NO(text_uuid_valid, "123e4567-e89b-12d3-a456-4266141740000", "37 characters");
	NO(text_uuid_valid, "{123e4567-e89b-12d3-a456-42661417400}", "braces");
	NO(text_uuid_valid, "123e4567e89b-12d3-a456-4266141740000", "a misplaced hyphen");
	NO(text_uuid_valid, "123e4567-e89b-12d3-a456_426614174000", "'_' for '-'");
	NO(text_uuid_valid, "123g4567-e89b-12d3-a456-426614174000", "a non-hex digit");
	NO(text_uuid_valid, "123e4567-e89b-12d3-a456-42661417400\0", "a trailing NUL");
	NO(text_uuid_valid, "123e4567-e89b-12d3-a456-42661417400 ", "a trailing space");
	NO(text_uuid_valid, "123e4567e89b12d3a456426614174000", "the unhyphenated form");
}

static void test_name(void)
{
	char n255[256], n256[257];

	YES(text_name_valid, "a", "one byte");
	YES(text_name_valid, "report (final).pdf", "spaces and punctuation");
	YES(text_name_valid, "...", "\"...\"");
	YES(text_name_valid, ".hidden", "a leading dot");
	YES(text_name_valid, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "non-ASCII UTF-8");
	YES(text_name_valid, "\xC2\xA0", "U+00A0 (first after the C1 range)");
	YES(text_name_valid, "a\\b", "a backslash");
	NO(text_name_valid, "", "empty");
	NO(text_name_valid, ".", "\".\"");
	NO(text_name_valid, "..", "\"..\"");
	NO(text_name_valid, "/", "\"/\"");
	NO(text_name_valid, "a/b", "'/' inside");
	NO(text_name_valid, "a\0b", "NUL");
	NO(text_name_valid, "a\tb", "TAB");
	NO(text_name_valid, "a\nb", "newline");
	NO(text_name_valid, "\x1F", "U+001F");
	NO(text_name_valid, "a\x7F", "DEL");
	NO(text_name_valid, "a\xC2\x80", "C1 control U+0080");
	NO(text_name_valid, "\xC2\x85" "b", "C1 control U+0085 (NEL)");
	NO(text_name_valid, "\xC2\x9F", "C1 control U+009F");
	NO(text_name_valid, "a\xFF", "invalid UTF-8");
	NO(text_name_valid, "\xC0\xAF", "overlong '/'");
	NO(text_name_valid, "a\xC3", "truncated UTF-8");

	memset(n255, 'x', sizeof(n255));
	ok(run(text_name_valid, n255, 255), "text_name_valid accepts 255 bytes");
	memset(n256, 'x', sizeof(n256));
	ok(!run(text_name_valid, n256, 256), "text_name_valid rejects 256 bytes");
	for (int i = 0; i < 85; i++)
		memcpy(n255 + 3 * i, "\xE2\x82\xAC", 3);
	ok(run(text_name_valid, n255, 255), "text_name_valid accepts 85 3-byte characters (255 bytes)");
	n256[0] = 'a';
	memcpy(n256 + 1, n255, 255);
	ok(!run(text_name_valid, n256, 256), "text_name_valid rejects 256 bytes of UTF-8");
	n255[254] = '\xC3';
	ok(!run(text_name_valid, n255, 255), "text_name_valid rejects a split character at 255");
}

static void test_username(void)
{
	char u[40];

	YES(text_username_valid, "abc", "3 characters");
	YES(text_username_valid, "a_b.c-d", "'_', '.', '-' after the first");
	YES(text_username_valid, "9lives", "a leading digit");
	YES(text_username_valid, "Alice", "uppercase");
	NO(text_username_valid, "", "empty");
	NO(text_username_valid, "ab", "2 characters");
	NO(text_username_valid, "_abc", "a leading '_'");
	NO(text_username_valid, ".abc", "a leading '.'");
	NO(text_username_valid, "-abc", "a leading '-'");
	NO(text_username_valid, "ab c", "a space");
	NO(text_username_valid, "a@bc", "'@'");
	NO(text_username_valid, "ab\0c", "NUL");
	NO(text_username_valid, "caf\xC3\xA9", "non-ASCII");
	NO(text_username_valid, "abc/", "'/'");
	memset(u, 'a', sizeof(u));
	ok(run(text_username_valid, u, 32), "text_username_valid accepts 32 characters");
	ok(!run(text_username_valid, u, 33), "text_username_valid rejects 33 characters");
}

static void test_email(void)
{
	char e[300];

	YES(text_email_valid, "a@b.c", "a@b.c");
	YES(text_email_valid, "first.last+tag@mail.example.com", "a typical address");
	YES(text_email_valid, "j\xC3\xB6rg@example.de", "UTF-8 in the local part");
	NO(text_email_valid, "", "empty");
	NO(text_email_valid, "a@b", "no dot in the domain");
	NO(text_email_valid, "@b.c", "an empty local part");
	NO(text_email_valid, "ab.c@", "an empty domain");
	NO(text_email_valid, "a@@b.c", "two '@' in a row");
	NO(text_email_valid, "a@b@c.d", "two '@'");
	NO(text_email_valid, "a b@c.d", "a space");
	NO(text_email_valid, "a@b.c\n", "a trailing newline");
	NO(text_email_valid, "a\t@b.c", "a TAB");
	NO(text_email_valid, "a\0@b.c", "NUL");
	NO(text_email_valid, "a@b.c\x7F", "DEL");
	NO(text_email_valid, "a@.b", "a dot right after '@'");
	NO(text_email_valid, "a@b.", "a trailing dot");
	NO(text_email_valid, "a@b..c", "two dots in the domain");
	NO(text_email_valid, "<a@b.c>", "angle brackets");
	NO(text_email_valid, "a@b.c,d@e.f", "a list");
	NO(text_email_valid, "\xFF@b.c", "invalid UTF-8");
	NO(text_email_valid, "abc", "no '@'");

	/* 254 bytes: 64 + '@' + 189 */
	memset(e, 'a', sizeof(e));
	e[64] = '@';
	memcpy(e + 250, ".com", 4);
	ok(run(text_email_valid, e, 254), "text_email_valid accepts 254 bytes");
	e[250] = 'a';
	memcpy(e + 251, ".com", 4);
	ok(!run(text_email_valid, e, 255), "text_email_valid rejects 255 bytes");
}

static void size_ok(const char *s, long long want)
{
	char *d = dup_exact(s, strlen(s));
	long long v = -12345;
	int rc = text_parse_size(d, strlen(s), &v);

	free(d);
	ok(rc == 0 && v == want, "parse_size(\"%s\") = %lld", s, want);
	if (rc != 0 || v != want)
		diag("rc %d value %lld", rc, v);
}

static void size_bad(const char *p, size_t n, const char *name)
{
	char *d = dup_exact(p, n);
	long long v = -12345;
	int rc = text_parse_size(d, n, &v);

	free(d);
	is_int(rc, -1, "parse_size rejects %s", name);
}

static void test_parse_size(void)
{
	size_ok("0", 0);
	size_ok("1048576", 1048576);
	size_ok("64k", 64LL << 10);
	size_ok("64K", 64LL << 10);
	size_ok("500M", 500LL << 20);
	size_ok("500m", 500LL << 20);
	size_ok("10G", 10LL << 30);
	size_ok("2T", 2LL << 40);
	size_ok("9223372036854775807", INT64_MAX);
	size_ok("8388607T", 8388607LL << 40);
	size_ok("9007199254740991K", 9007199254740991LL << 10);
	size_ok("8589934591G", 8589934591LL << 30);
	size_bad(L(""), "empty");
	size_bad(L("G"), "a suffix alone");
	size_bad(L("-1"), "a minus sign");
	size_bad(L("+1"), "a plus sign");
	size_bad(L(" 1"), "a leading space");
	size_bad(L("1.5G"), "a fraction");
	size_bad(L("1X"), "an unknown suffix");
	size_bad(L("1P"), "a peta suffix");
	size_bad(L("1GG"), "two suffixes");
	size_bad(L("0x10"), "hex");
	size_bad(L("1\0"), "a NUL");
	size_bad(L("9223372036854775808"), "INT64_MAX + 1");
	size_bad(L("99999999999999999999"), "20 digits");
	size_bad(L("8388608T"), "2^63 via a suffix (overflow)");
	size_bad(L("9007199254740992K"), "2^63 via K (overflow)");
	size_bad(L("8589934592G"), "2^63 via G (overflow)");
	size_bad(L("9007199254740992G"), "2^83 via G (overflow)");
}

static void uint_ok(const char *s, long long max, long long want)
{
	char *d = dup_exact(s, strlen(s));
	long long v = -12345;
	int rc = text_parse_uint(d, strlen(s), max, &v);

	free(d);
	ok(rc == 0 && v == want, "parse_uint(\"%s\", max %lld) = %lld", s, max, want);
	if (rc != 0 || v != want)
		diag("rc %d value %lld", rc, v);
}

static void uint_bad(const char *p, size_t n, long long max, const char *name)
{
	char *d = dup_exact(p, n);
	long long v = -12345;
	int rc = text_parse_uint(d, n, max, &v);

	free(d);
	is_int(rc, -1, "parse_uint rejects %s (max %lld)", name, max);
}

static void test_parse_uint(void)
{
	uint_ok("0", 0, 0);
	uint_ok("5", 5, 5);
	uint_ok("10", 10, 10);
	uint_ok("007", 10, 7);
	uint_ok("1000", 1000, 1000);
	uint_ok("9007199254740992", 1LL << 53, 1LL << 53);
	uint_ok("9223372036854775807", INT64_MAX, INT64_MAX);
	uint_bad(L("1"), 0, "1");
	uint_bad(L("6"), 5, "6");
	uint_bad(L("9"), 5, "9");          /* a single digit above a small max */
	uint_bad(L("9"), 8, "9");
	uint_bad(L("11"), 10, "11");
	uint_bad(L("19"), 15, "19");
	uint_bad(L("1001"), 1000, "1001");
	uint_bad(L("9007199254740993"), 1LL << 53, "2^53 + 1");
	uint_bad(L("9223372036854775808"), INT64_MAX, "INT64_MAX + 1");
	uint_bad(L("18446744073709551616"), INT64_MAX, "2^64");
	uint_bad(L(""), 100, "empty");
	uint_bad(L("-1"), 100, "a minus sign");
	uint_bad(L("+1"), 100, "a plus sign");
	uint_bad(L(" 1"), 100, "a leading space");
	uint_bad(L("1 "), 100, "a trailing space");
	uint_bad(L("1a"), 100, "a trailing letter");
	uint_bad(L("1\0"), 100, "a NUL");
	uint_bad(L("0x1"), 100, "hex");
	uint_bad(L("1"), -1, "anything when max is negative");
}

static void test_rfc3339(void)
{
	static const struct { const char *s; int rc; long long t; } cases[] = {
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2026-11-23T22:44:00Z", 0, 1795473840 },
		{ "2026-11-23t22:44:00z", 0, 1795473840 },
		{ "2026-11-23T22:44:00.123456Z", 0, 1795473840 },
		{ "2026-11-24T00:44:00+02:00", 0, 1795473840 },
		{ "2026-11-23T20:14:00-02:30", 0, 1795473840 },
		{ "2024-02-29T00:00:00Z", 0, 1709164800 },
		{ "2016-12-31T23:59:60Z", 0, 1483228799 },
		{ "2026-02-29T00:00:00Z", -1, 0 },
		{ "2026-04-31T00:00:00Z", -1, 0 },
		{ "2026-13-01T00:00:00Z", -1, 0 },
		{ "2026-11-23T24:00:00Z", -1, 0 },
		{ "2026-11-23T22:60:00Z", -1, 0 },
		{ "2026-11-23 22:44:00Z", -1, 0 },
		{ "2026-11-23T22:44:00", -1, 0 },
		{ "2026-11-23T22:44:00.Z", -1, 0 },
		{ "2026-11-23T22:44:00+0200", -1, 0 },
		{ "2026-11-23T22:44:00+24:00", -1, 0 },
		{ "2026-11-23T22:44:00ZZ", -1, 0 },
		{ "26-11-23T22:44:00Z", -1, 0 },
		{ "", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *in = dup_exact(cases[i].s, strlen(cases[i].s));
		time_t t = -12345;
		int rc = text_rfc3339_parse(in, strlen(cases[i].s), &t);

		is_int(rc, cases[i].rc, "rfc3339 \"%s\" -> %d", cases[i].s, cases[i].rc);
		if (rc == 0 && cases[i].rc == 0)
			is_int(t, cases[i].t, "  = %lld", cases[i].t);
		free(in);
	}
}

/* text_printable of p[0..n) into an out of exactly outsz bytes (heap). */
static void printable_is(const char *p, size_t n, size_t outsz, const char *want,
			 const char *name)
{
	char *d = dup_exact(p, n), *out = malloc(outsz ? outsz : 1);
	size_t len;

	if (out == NULL)
		abort();
	memset(out, 'x', outsz);
	len = text_printable(d, n, out, outsz);
	if (outsz == 0) {
		is_int(len, 0, "%s: 0", name);
	} else {
		is_str(out, want, "%s", name);
		is_int(len, strlen(want), "  its length");
		ok(text_utf8_valid(out, len), "  valid UTF-8");
	}
	free(out);
	free(d);
}

#define P(s) (s), (sizeof(s) - 1)

static void test_printable(void)
{
	printable_is(P("ASCII text"), 64, "ASCII text", "plain text as it is");
	printable_is(P(""), 64, "", "empty");
	printable_is(P("   "), 64, "", "blanks only: empty");
	printable_is(P("  a  b  "), 64, "a b", "leading, trailing, doubled blanks go");
	printable_is(P("a\tb\nc\rd\0e\x1f" "f\x7fg"), 64, "a b c d e f g",
		     "tab, line breaks, NUL, other C0 and DEL become blanks");
	printable_is(P("a\xc2\x80" "b\xc2\x9f" "c\xc2\xa0" "d"), 64, "a b c\xc2\xa0" "d",
		     "C1 controls become blanks, U+00A0 stays");
	printable_is(P("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 64,
		     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "2-, 3- and 4-byte characters stay");
	printable_is(P("a\xff" "b\xc3" "c"), 64, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c",
		     "a stray byte becomes U+FFFD");
	printable_is(P("\xe2\x82"), 64, "\xef\xbf\xbd\xef\xbf\xbd", "a cut character: U+FFFD per byte");
	printable_is(P("\xc0\xaf" "\xed\xa0\x80" "\xf4\x90\x80\x80"), 64,
		     "\xef\xbf\xbd\xef\xbf\xbd" "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		     "overlong, surrogate, above U+10FFFF: U+FFFD per byte");
	printable_is(P("say \"hi\" \\ there"), 64, "say \"hi\" \\ there", "quotes and backslashes stay");
	printable_is(P("abcdef"), 4, "abc", "cut to outsz - 1 bytes");
	printable_is(P("ab\xc3\xa9"), 4, "ab", "cut before a character that does not fit");
	printable_is(P("ab\xe2\x82\xac"), 6, "ab\xe2\x82\xac", "a character that just fits");
	printable_is(P("ab\xe2\x82\xac"), 5, "ab", "... and one byte less");
	printable_is(P("ab \xe2\x82\xac"), 5, "ab", "a blank before the cut is trimmed");
	printable_is(P("a\xff"), 3, "a", "U+FFFD does not fit: cut");
	printable_is(P("abc"), 1, "", "outsz 1: empty");
	printable_is(P("abc"), 0, "", "outsz 0: nothing written");
}

int main(void)
{
	test_utf8();
	test_uuid();
	test_name();
	test_username();
	test_email();
	test_parse_size();
	test_parse_uint();
	test_rfc3339();
	test_printable();
	return done_testing();
}
