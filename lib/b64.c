/* b64: base64url; see b64.h. */
#include "b64.h"

static const char b64_tab[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encode(const unsigned char *p, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64_tab[v >> 18 & 63];
		out[o++] = b64_tab[v >> 12 & 63];
		out[o++] = b64_tab[v >> 6 & 63];
		out[o++] = b64_tab[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		out[o++] = b64_tab[v >> 18 & 63];
		out[o++] = b64_tab[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		out[o++] = b64_tab[v >> 18 & 63];
		out[o++] = b64_tab[v >> 12 & 63];
		out[o++] = b64_tab[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long b64url_decode(const char *s, size_t n, unsigned char *out)
{
	size_t i, o = 0;
	unsigned acc = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64_val(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)  /* leftover bits must be zero in canonical form */
		return -1;
	return (long)o;
}
