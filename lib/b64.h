/*
 * b64: base64url without padding (RFC 4648 section 5), for tokens and
 * cursors. The decoder takes a pointer and a length and rejects anything
 * that is not canonical base64url.
 */
#ifndef COFFER_B64_H
#define COFFER_B64_H

#include <stddef.h>

/* Room needed to encode n bytes, including the NUL. */
#define B64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Encode p[0..n) into out; returns the length written (NUL-terminated). */
size_t b64url_encode(const unsigned char *p, size_t n, char *out);
/* Decode s[0..n) into out (room for n*3/4 bytes). Returns the decoded
 * length, or -1 on a character outside the alphabet, a length that cannot
 * occur (n % 4 == 1) or non-zero trailing bits. */
long b64url_decode(const char *s, size_t n, unsigned char *out);

#endif
