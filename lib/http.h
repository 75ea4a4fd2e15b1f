/*
 * http: parsers for the untrusted parts of a request line and headers
 * (query strings, cookies, Authorization, media types). Each takes a pointer
 * and a length, checks every bound and never needs a NUL terminator.
 */
#ifndef COFFER_HTTP_H
#define COFFER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
