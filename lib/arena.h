/*
 * arena: request-scoped memory. Allocations are bump-allocated from chunks
 * and released together by arena_clear(); cleanups registered with
 * arena_on_clear() (PGresult, json-c objects, file descriptors) run first,
 * newest first, so nothing a request owned can outlive it.
 */
#ifndef COFFER_ARENA_H
#define COFFER_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

/* A new empty arena; aborts on allocation failure. */
arena_t *arena_new(void);
/* Run cleanups and free every chunk but the first (kept for reuse). */
void arena_clear(arena_t *a);
/* arena_clear() and free the arena itself. */
void arena_free(arena_t *a);
/* n bytes aligned for any type, zeroed. Never NULL. */
void *arena_alloc(arena_t *a, size_t n);
/* Copy of p[0..n) with a NUL appended. */
char *arena_strndup(arena_t *a, const char *p, size_t n);
char *arena_strdup(arena_t *a, const char *s);
/* printf into arena memory. */
char *arena_printf(arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Call fn(ptr) when the arena is cleared. */
void arena_on_clear(arena_t *a, void (*fn)(void *), void *ptr);
/* Bytes currently held in chunks (for tests and diagnostics). */
size_t arena_size(const arena_t *a);

#endif
