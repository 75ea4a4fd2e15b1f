/*
 * test-cursor: pagination cursors round-trip 1..CURSOR_MAX_PARTS parts, and
 * cursor_decode rejects anything else: another version, missing, extra or
 * empty parts, a trailing separator, NUL bytes, invalid base64url, and
 * cursors longer than CURSOR_MAX_LEN.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "b64.h"
#include "cursor.h"
#include "tap.h"

#define L(s) (s), (sizeof(s) - 1)

/* cursor_decode on an exactly-sized heap copy of s[0..n). */
static int decode(arena_t *a, const char *s, size_t n, const char **parts, int np)
{
	char *in = malloc(n ? n : 1);
	int rc;

	if (in == NULL)
		abort();
	if (n)
		memcpy(in, s, n);
	rc = cursor_decode(a, in, n, parts, np);
	free(in);
	return rc;
}

/* Encode raw bytes as a cursor would look on the wire. */
static char *wire(arena_t *a, const char *raw, size_t n)
{
	char *s = arena_alloc(a, B64_ENCODED_SIZE(n));

	b64url_encode((const unsigned char *)raw, n, s);
	return s;
}

static void raw_rc(arena_t *a, const char *raw, size_t n, int np, int want, const char *name)
{
	const char *parts[CURSOR_MAX_PARTS + 1] = { 0 };
	char *s = wire(a, raw, n);

	is_int(decode(a, s, strlen(s), parts, np), want, "decode %s (%d parts) -> %d", name, np,
	       want);
}

static void test_round_trip(arena_t *a)
{
	const char *in[CURSOR_MAX_PARTS] = {
		"2024-05-01 12:34:56.123456+00", "123e4567-e89b-12d3-a456-426614174000",
		"x", "a b=c&d%e", "6361742e6a7067", "-"
	};

	for (int n = 1; n <= CURSOR_MAX_PARTS; n++) {
		const char *out[CURSOR_MAX_PARTS] = { 0 };
		char *c = cursor_encode(a, in, n);
		int rc = decode(a, c, strlen(c), out, n), same = rc == 0;

		ok(c != NULL && strlen(c) > 0, "encode %d part(s)", n);
		ok(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		   strlen(c), "  the cursor is base64url");
		is_int(rc, 0, "  decodes");
		for (int i = 0; i < n && same; i++)
			same = out[i] != NULL && strcmp(out[i], in[i]) == 0;
		ok(same, "  every part round-trips");
		if (n > 1) {
			is_int(decode(a, c, strlen(c), out, n - 1), -1, "  rejected as %d parts (extra)",
			       n - 1);
		}
		if (n < CURSOR_MAX_PARTS)
			is_int(decode(a, c, strlen(c), out, n + 1), -1,
			       "  rejected as %d parts (missing)", n + 1);
	}
}

static void test_rejects(arena_t *a)
{
	const char *parts[CURSOR_MAX_PARTS + 1];
	char buf[CURSOR_MAX_LEN + 16];
	char *c;

	raw_rc(a, L("v1|a|b"), 2, 0, "a valid control");
	raw_rc(a, L("v2|a|b"), 2, -1, "another version");
	raw_rc(a, L("V1|a|b"), 2, -1, "an uppercase version");
	raw_rc(a, L("v1a|b"), 2, -1, "a missing separator after the version");
	raw_rc(a, L("|a|b"), 2, -1, "no version");
	raw_rc(a, L("v1"), 1, -1, "the version alone");
	raw_rc(a, L("v1|"), 1, -1, "an empty only part");
	raw_rc(a, L("v1||b"), 2, -1, "an empty first part");
	raw_rc(a, L("v1|a|"), 2, -1, "an empty last part");
	raw_rc(a, L("v1|a|"), 1, -1, "a trailing separator");
	raw_rc(a, L("v1|a|b|"), 2, -1, "a trailing separator after 2 parts");
	raw_rc(a, L("v1|a|b|c"), 2, -1, "an extra part");
	raw_rc(a, L("v1|a"), 2, -1, "a missing part");
	raw_rc(a, L("v1|a\0b|c"), 2, -1, "a NUL inside a part");
	raw_rc(a, L("v1|a|b\0"), 2, -1, "a trailing NUL");
	raw_rc(a, L("v1|a|b|c|d|e|f|g"), 7, -1, "more than CURSOR_MAX_PARTS");

	is_int(decode(a, L(""), parts, 1), -1, "decode rejects an empty cursor");
	c = wire(a, L("v1|a|b"));
	memcpy(buf, c, strlen(c));
	buf[strlen(c) - 1] = '\0';
	is_int(decode(a, buf, strlen(c), parts, 2), -1, "decode rejects an embedded NUL");
	buf[strlen(c) - 1] = '+';
	is_int(decode(a, buf, strlen(c), parts, 2), -1, "decode rejects '+'");
	memcpy(buf, c, strlen(c));
	buf[strlen(c)] = '=';
	is_int(decode(a, buf, strlen(c) + 1, parts, 2), -1, "decode rejects padding");
	is_int(decode(a, c, strlen(c) - 1, parts, 2), -1, "decode rejects a truncated cursor");

	/* CURSOR_MAX_LEN: 1536 raw bytes encode to exactly 2048 characters */
	memcpy(buf, "v1|", 3);
	memset(buf + 3, 'x', CURSOR_MAX_LEN);
	c = wire(a, buf, CURSOR_MAX_LEN / 4 * 3);
	is_int(strlen(c), CURSOR_MAX_LEN, "a cursor of exactly CURSOR_MAX_LEN characters");
	is_int(decode(a, c, strlen(c), parts, 1), 0, "  decodes");
	c = wire(a, buf, CURSOR_MAX_LEN / 4 * 3 + 1);
	ok(strlen(c) > CURSOR_MAX_LEN, "a cursor longer than CURSOR_MAX_LEN");
	is_int(decode(a, c, strlen(c), parts, 1), -1, "  is rejected");
}

int main(void)
{
	arena_t *a = arena_new();

	test_round_trip(a);
	test_rejects(a);
	arena_free(a);
	return done_testing();
}
