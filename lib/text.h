/*
 * text: validation of untrusted strings. Every function takes a pointer and
 * a length, never relies on a NUL terminator and reads nothing past p[n-1].
 */
#ifndef COFFER_TEXT_H
#define COFFER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool text_utf8_valid(const char *p, size_t n);
/* A canonical lowercase or uppercase UUID "8-4-4-4-12" hex string. */
bool text_uuid_valid(const char *p, size_t n);
/* File/folder name rule of api.md: 1-255 bytes of valid UTF-8, no '/',
 * no control characters (C0, DEL, C1), not "." or "..". */
bool text_name_valid(const char *p, size_t n);
/* Username: 3-32 of [A-Za-z0-9_.-], first character alphanumeric. */
bool text_username_valid(const char *p, size_t n);
/* Email: <= 254 bytes, one '@', non-empty local part, a dot in the domain,
 * no whitespace or control characters, valid UTF-8. */
bool text_email_valid(const char *p, size_t n);
/* Parse a size such as "1048576", "10G", "500M", "64k" (powers of 1024).
 * Returns 0 and stores the value, or -1 on syntax error or overflow. */
int text_parse_size(const char *p, size_t n, long long *out);
/* Parse a non-negative decimal integer without sign or spaces. */
int text_parse_uint(const char *p, size_t n, long long max, long long *out);
/* An RFC 3339 date-time, "2026-11-23T22:44:00Z" (seconds may carry a
 * fraction, 't' and 'z' are accepted, the offset may be +hh:mm / -hh:mm),
 * as seconds since the epoch (fractions dropped). 0, or -1 when p[0..n) is
 * not one, or names no real date (2026-02-30, 25:00...). */
int text_rfc3339_parse(const char *p, size_t n, time_t *out);

/* p[0..n) made fit to show, into out: controls (C0 with tab and line
 * breaks, DEL, C1) become blanks; leading, trailing and doubled blanks go;
 * each byte that is not part of a well-formed UTF-8 character becomes
 * U+FFFD. Cut at a character boundary to at most outsz - 1 bytes and
 * NUL-terminated (nothing written when outsz is 0): valid UTF-8 without
 * controls or NUL. Returns the length. */
size_t text_printable(const char *p, size_t n, char *out, size_t outsz);

/* Is v[0..n) exactly the word w? */
bool text_is(const char *v, size_t n, const char *w);

#endif
