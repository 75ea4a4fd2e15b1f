/*
 * http: parsers for the untrusted parts of a request line and headers
 * (query strings, cookies, Authorization, media types, dates, entity-tags,
 * Accept-Encoding), and the response header values built from user data.
 * Each parser takes a pointer and a length, checks every bound and never
 * needs a NUL terminator.
 */
#ifndef COFFER_HTTP_H
#define COFFER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"

#define HTTP_QUERY_MAX_PARAMS 64    /* more parameters than this -> malformed */
#define HTTP_QUERY_MAX_LEN    8192  /* longer query strings -> malformed */

/* Percent-decode p[0..n) into out (room for n bytes); '+' becomes ' ' when
 * plus is true. Returns the decoded length, or -1 on a malformed escape. */
long http_percent_decode(const char *p, size_t n, char *out, bool plus);

/* Look up key in a query string ("a=1&b=x%20y"). On success *val is a
 * decoded, NUL-terminated copy in the arena (may contain NUL bytes: check
 * *vlen). Returns 1 found, 0 absent, -1 malformed query string (bad
 * escape, too long, too many parameters). The first occurrence wins. */
int http_query_get(arena_t *a, const char *p, size_t n, const char *key,
		   char **val, size_t *vlen);

/* Find cookie name in a Cookie header ("a=1; b=2"). *val points into p.
 * Returns 1 found, 0 absent. */
int http_cookie_get(const char *p, size_t n, const char *name,
		    const char **val, size_t *vlen);

/* Parse "Bearer <token>" (scheme case-insensitive). *tok points into p.
 * Returns 1 when a bearer token is present, 0 otherwise. */
int http_bearer(const char *p, size_t n, const char **tok, size_t *tlen);

/* True when the media type of a Content-Type value is type (case-insensitive,
 * parameters such as "; charset=utf-8" ignored). */
bool http_media_type_is(const char *p, size_t n, const char *type);

/* Parse a Content-Length value: digits only, at most 2^53. -1 if invalid. */
long long http_content_length(const char *p, size_t n);

/* Format t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes and
 * a NUL). Times outside the years 0000-9999 are clamped to them. */
void http_date_format(time_t t, char out[30]);

/* Parse an HTTP-date (RFC 9110 5.6.7): IMF-fixdate, or the obsolete RFC 850
 * ("Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more than 50 years
 * ahead means the previous century) and asctime ("Sun Nov  6 08:49:37 1994")
 * forms. Names are case-sensitive; the day name is not checked against the
 * date; blanks around the value are allowed. 0 ok, -1 invalid (including
 * days that do not exist, seconds 60 and years outside 0000-9999). */
int http_date_parse(const char *p, size_t n, time_t *t);

/* If-None-Match / If-Match (RFC 9110 13.1.1-2): "*" alone, or a list of
 * entity-tags ([W/]"opaque", empty elements allowed). True when "*" or when
 * a listed tag equals etag by weak comparison (W/ ignored on both sides).
 * etag is the tag with its quotes ("\"abc\""). A malformed list is false as a
 * whole. A comma is a legal etagc, so "\"a,b\"" is one tag. */
bool http_etag_match(const char *p, size_t n, const char *etag);

/* If-Range with an entity-tag: true when the value is exactly one strong
 * entity-tag (blanks around it allowed) equal to etag, which must be strong
 * too. Weak or malformed values, lists and dates are false. */
bool http_etag_strong_eq(const char *p, size_t n, const char *etag);

/* Accept-Encoding (RFC 9110 12.5.3): true when gzip is acceptable: "gzip" or
 * "x-gzip" listed with q > 0, or else "*" with q > 0; any gzip/x-gzip (or, for
 * the fallback, "*") with q=0 refuses it. Codings and "q" are case-insensitive.
 * An empty or malformed value (bad token, qvalue, or parameter) is false. */
bool http_accepts_gzip(const char *p, size_t n);

/* Content-Disposition for a download of the file called name[0..n):
 * <disp>; filename="<fallback>"; filename*=UTF-8''<pct>
 * disp is "inline" when disp is "inline", otherwise "attachment". fallback is
 * name with each byte outside 0x20-0x7E and each of " \ % ; replaced by '_';
 * pct is name percent-encoded outside RFC 8187 attr-char. An empty name is
 * sent as "download" in both. The value is printable ASCII without CR or LF,
 * in arena memory, NUL-terminated; NULL only when n is too large to encode. */
char *http_content_disposition(arena_t *a, const char *disp, const char *name, size_t n);

#endif
