/*
 * fuzz-b64-cursor: base64url and pagination cursors.
 * Invariants: b64url_decode writes at most n*3/4 bytes (the output buffer
 * is exactly that size) and anything it accepts re-encodes to the identical
 * text (canonical form); encode then decode is the identity; a cursor that
 * decodes into k parts re-encodes to the identical cursor, with non-empty
 * parts free of '|' and NUL; parts made from the input round-trip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "b64.h"
#include "cursor.h"
#include "fuzz.h"

static void check_decode(const char *p, size_t n)
{
	unsigned char *out = malloc(n * 3 / 4 ? n * 3 / 4 : 1);
	long r = b64url_decode(p, n, out);

	CHECK(r >= -1);
	if (r >= 0) {
		char *back = malloc(B64_ENCODED_SIZE((size_t)r));

		CHECK((size_t)r == n * 3 / 4);
		CHECK(b64url_encode(out, (size_t)r, back) == n);
		CHECK(memcmp(back, p, n) == 0);
		free(back);
	}
	free(out);
}

static void check_encode(const uint8_t *d, size_t n)
{
	char *enc = malloc(B64_ENCODED_SIZE(n));
	size_t el = b64url_encode(d, n, enc);
	unsigned char *dec;

	CHECK(el == n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) && enc[el] == '\0');
	dec = malloc(el * 3 / 4 ? el * 3 / 4 : 1);
	CHECK(b64url_decode(enc, el, dec) == (long)n);
	CHECK(n == 0 || memcmp(dec, d, n) == 0);
	free(dec);
	free(enc);
}

static void check_cursor_decode(arena_t *a, const char *p, size_t n)
{
	for (int k = 0; k <= CURSOR_MAX_PARTS + 1; k++) {
		const char *parts[CURSOR_MAX_PARTS + 1] = { 0 };
		char *again;

		if (cursor_decode(a, p, n, parts, k) != 0)
			continue;
		CHECK(k >= 1 && k <= CURSOR_MAX_PARTS && n <= CURSOR_MAX_LEN);
		for (int i = 0; i < k; i++)
			CHECK(parts[i] && parts[i][0] && strchr(parts[i], '|') == NULL);
		again = cursor_encode(a, parts, k);
		CHECK(strlen(again) == n && memcmp(again, p, n) == 0);
	}
}

/* Split the input into 1..4 non-empty parts (bytes '|' and NUL replaced). */
static void check_cursor_round_trip(arena_t *a, const uint8_t *d, size_t n)
{
	const char *parts[CURSOR_MAX_PARTS], *out[CURSOR_MAX_PARTS];
	char *c;
	int k;
	size_t len, off = 1;

	if (n < 2)
		return;
	k = 1 + d[0] % CURSOR_MAX_PARTS;
	len = n - 1;
	if ((size_t)k > len || 3 + len + (size_t)k > CURSOR_MAX_LEN / 4 * 3)
		return;
	for (int i = 0; i < k; i++) {
		size_t pl = len / (size_t)k + (i == k - 1 ? len % (size_t)k : 0);
		char *s = arena_strndup(a, (const char *)d + off, pl);

		for (size_t j = 0; j < pl; j++)
			if (s[j] == '|' || s[j] == '\0')
				s[j] = 'x';
		parts[i] = s;
		off += pl;
	}
	c = cursor_encode(a, parts, k);
	CHECK(strlen(c) <= CURSOR_MAX_LEN);
	CHECK(cursor_decode(a, c, strlen(c), out, k) == 0);
	for (int i = 0; i < k; i++)
		CHECK(strcmp(out[i], parts[i]) == 0);
	if (k > 1)
		CHECK(cursor_decode(a, c, strlen(c), out, k - 1) == -1);
	if (k < CURSOR_MAX_PARTS)
		CHECK(cursor_decode(a, c, strlen(c), out, k + 1) == -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static arena_t *a;
	char *p;

	if (a == NULL)
		a = arena_new();
	p = dup_exact(data, size);
	check_decode(p, size);
	check_encode(data, size);
	check_cursor_decode(a, p, size);
	check_cursor_round_trip(a, data, size);
	free(p);
	arena_clear(a);
	return 0;
}
