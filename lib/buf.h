/*
 * buf: the one growable byte buffer used for every string built at run time.
 * Always NUL-terminated for convenience, but the length is authoritative:
 * a buf may hold NUL bytes. Allocation failure aborts (a worker that cannot
 * allocate a few bytes cannot answer anyway; the master respawns it).
 */
#ifndef COFFER_BUF_H
#define COFFER_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
	char *p;     /* data, NUL-terminated; never NULL after buf_init */
	size_t len;  /* bytes used, excluding the terminator */
	size_t cap;  /* bytes allocated, including the terminator */
} buf_t;

#define BUF_INIT { NULL, 0, 0 }

/* Prepare an empty buffer (no allocation until the first append). */
void buf_init(buf_t *b);
/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(buf_t *b);
/* Forget the contents, keep the allocation. */
void buf_reset(buf_t *b);
/* Make room for at least n more bytes. */
void buf_grow(buf_t *b, size_t n);
void buf_add(buf_t *b, const void *p, size_t n);
void buf_adds(buf_t *b, const char *s);
void buf_addc(buf_t *b, char c);
/* printf-style append; the format is always a literal in this code base. */
void buf_addf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(buf_t *b, const char *fmt, va_list ap);
/* Return the data as a C string (never NULL, "" when empty). */
const char *buf_str(const buf_t *b);
/* Hand the allocation to the caller (who frees it with free()); b is emptied. */
char *buf_detach(buf_t *b, size_t *len);

#endif
