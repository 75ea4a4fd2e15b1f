/*
 * test-b64: base64url without padding round-trips every length from 0 to
 * 64 in exactly-sized buffers, matches the RFC 4648 vectors, and the decoder
 * rejects characters outside the alphabet, impossible lengths (n % 4 == 1)
 * and non-canonical trailing bits.
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "tap.h"

#define L(s) (s), (sizeof(s) - 1)

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static long decode(const char *s, size_t n, unsigned char **out)
{
	char *in = malloc(n ? n : 1);
	long r;

	if (in == NULL)
		abort();
	if (n)
		memcpy(in, s, n);
	*out = malloc(n * 3 / 4 ? n * 3 / 4 : 1);  /* exactly the documented room */
	if (*out == NULL)
		abort();
	r = b64url_decode(in, n, *out);
	free(in);
	return r;
}

static void test_vectors(void)
{
	static const struct { const char *raw, *enc; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" }, { "\xfb\xef\xbe", "----" }, { "\xff\xff\xff", "____" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].raw);
		char *enc = malloc(B64_ENCODED_SIZE(n));
		unsigned char *dec;
		size_t el = b64url_encode((const unsigned char *)v[i].raw, n, enc);
		long dl;

		is_str(enc, v[i].enc, "encode vector %zu", i);
		is_int(el, strlen(v[i].enc), "  returned length");
		dl = decode(v[i].enc, strlen(v[i].enc), &dec);
		if (is_int(dl, n, "decode vector %zu: length", i))
			is_mem(dec, (size_t)dl, v[i].raw, n, "  bytes");
		free(enc);
		free(dec);
	}
}

static void test_round_trips(void)
{
	int good = 0, lenok = 0, alpha = 0;

	for (size_t n = 0; n <= 64; n++) {
		unsigned char *raw = malloc(n ? n : 1), *dec;
		char *enc = malloc(B64_ENCODED_SIZE(n));
		size_t el, want = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
		long dl;

		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)(i * 97 + n * 31 + 255);  /* every bit pattern moves */
		el = b64url_encode(raw, n, enc);
		if (el == want && enc[el] == '\0')
			lenok++;
		else
			diag("n=%zu: encoded length %zu, want %zu", n, el, want);
		if (strspn(enc, alphabet) == el)
			alpha++;
		dl = decode(enc, el, &dec);
		if (dl == (long)n && (n == 0 || memcmp(dec, raw, n) == 0))
			good++;
		else
			diag("n=%zu: round trip failed (%ld)", n, dl);
		free(raw);
		free(enc);
		free(dec);
	}
	is_int(lenok, 65, "encoded length is ceil(4n/3) and terminated for n = 0..64");
	is_int(alpha, 65, "encoding uses only the base64url alphabet, no padding");
	is_int(good, 65, "decode(encode(x)) == x for n = 0..64");
}

static void bad(const char *s, size_t n, const char *name)
{
	unsigned char *out;

	is_int(decode(s, n, &out), -1, "decode rejects %s", name);
	free(out);
}

static void test_rejects(void)
{
	int accepted = 0, canonical = 0;

	bad(L("+A"), "'+' (standard base64)");
	bad(L("/A"), "'/' (standard base64)");
	bad(L("Zg=="), "padding");
	bad(L("Zm8="), "one '=' of padding");
	bad(L("Zm9v\n"), "a trailing newline");
	bad(L(" Zm9v"), "a leading space");
	bad(L("Zm\0v"), "an embedded NUL");
	bad(L("Zm9\xc3\xa9"), "non-ASCII bytes");
	bad(L("Z"), "1 character (n % 4 == 1)");
	bad(L("Zm9vY"), "5 characters (n % 4 == 1)");
	bad(L("Zm9vYmFyZ"), "9 characters (n % 4 == 1)");
	/* 'A' carries zero bits, so only the length check can reject these */
	bad(L("A"), "\"A\" (n % 4 == 1, zero bits)");
	bad(L("AAAAA"), "\"AAAAA\" (n % 4 == 1, zero bits)");
	bad(L("Zm9vA"), "\"Zm9vA\" (n % 4 == 1, zero bits)");
	bad(L("Zh"), "non-zero trailing bits after 1 byte");
	bad(L("Zm9"), "non-zero trailing bits after 2 bytes");
	bad(L("Zm9vYmF"), "non-zero trailing bits after 5 bytes");

	/* exhaustive: each byte value in first position of a 4-char group */
	for (int c = 0; c < 256; c++) {
		char s[4] = { (char)c, 'A', 'A', 'A' };
		unsigned char *out;
		long r = decode(s, 4, &out);

		if (r == 3) {
			char back[5];

			accepted++;
			b64url_encode(out, 3, back);
			if (memcmp(back, s, 4) == 0)
				canonical++;
		} else if (r != -1) {
			diag("byte %d: returned %ld", c, r);
		}
		free(out);
	}
	is_int(accepted, 64, "exactly the 64 alphabet characters decode");
	is_int(canonical, 64, "and each re-encodes to itself");

	/* exhaustive: trailing bits of 2- and 3-character tails */
	accepted = 0;
	for (int i = 0; i < 64; i++) {
		char s[2] = { 'Z', alphabet[i] };
		unsigned char *out;

		if (decode(s, 2, &out) == 1)
			accepted++;
		free(out);
	}
	is_int(accepted, 4, "2-char tail: only the 4 characters with zero low bits decode");
	accepted = 0;
	for (int i = 0; i < 64; i++) {
		char s[3] = { 'Z', 'm', alphabet[i] };
		unsigned char *out;

		if (decode(s, 3, &out) == 2)
			accepted++;
		free(out);
	}
	is_int(accepted, 16, "3-char tail: only the 16 characters with zero low bits decode");
}

int main(void)
{
	test_vectors();
	test_round_trips();
	test_rejects();
	return done_testing();
}
