/*
 * cursor: opaque keyset-pagination cursors. A cursor carries the sort key
 * of the last item of a page (e.g. a timestamp and an id) as base64url of
 * "v1|part|part...". Clients must treat it as opaque; the server validates
 * every decoded part before it reaches SQL (as a parameter).
 */
#ifndef COFFER_CURSOR_H
#define COFFER_CURSOR_H

#include <stddef.h>

#include "arena.h"

#define CURSOR_MAX_PARTS 6
#define CURSOR_MAX_LEN   2048   /* encoded length accepted from clients */

/* Encode n parts (none may contain '|'); returns an arena string. */
char *cursor_encode(arena_t *a, const char *const *parts, int n);
/* Decode s[0..len) into exactly n parts (arena strings). Returns 0, or -1
 * when the cursor is malformed. */
int cursor_decode(arena_t *a, const char *s, size_t len, const char **parts, int n);

#endif
