/* arena: request-scoped bump allocator with cleanups; see arena.h. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 8192
#define ARENA_ALIGN 16

struct chunk {
	struct chunk *next;
	size_t size;  /* usable bytes after the header */
	size_t used;
	max_align_t data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *ptr;
};

struct arena {
	struct chunk *head;     /* current chunk; the last in the list is the first one made,
				 * always ARENA_CHUNK bytes, the only one kept by arena_clear */
	struct cleanup *cleanups;
};

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = malloc(sizeof(*c) + size);

	if (c == NULL)
		abort();
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

arena_t *arena_new(void)
{
	arena_t *a = malloc(sizeof(*a));

	if (a == NULL)
		abort();
	a->head = chunk_new(ARENA_CHUNK);
	a->cleanups = NULL;
	return a;
}

void arena_clear(arena_t *a)
{
	while (a->cleanups) {
		struct cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->ptr);
	}
	while (a->head->next) {
		struct chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	a->head->used = 0;
}

void arena_free(arena_t *a)
{
	if (a == NULL)
		return;
	arena_clear(a);
	free(a->head);
	free(a);
}

void *arena_alloc(arena_t *a, size_t n)
{
	struct chunk *c = a->head;
	size_t off = (c->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (n > SIZE_MAX / 2)
		abort();
	if (off > c->size || n > c->size - off) {
		struct chunk *nc = chunk_new(n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK);

		nc->next = a->head;
		a->head = nc;
		c = nc;
		off = 0;
	}
	p = (char *)c->data + off;
	c->used = off + n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(arena_t *a, const char *p, size_t n)
{
	char *s = arena_alloc(a, n + 1);

	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *arena_strdup(arena_t *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
	va_list ap, cp;
	int n;
	char *s;

	va_start(ap, fmt);
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	s = arena_alloc(a, (size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void arena_on_clear(arena_t *a, void (*fn)(void *), void *ptr)
{
	struct cleanup *c = arena_alloc(a, sizeof(*c));

	c->fn = fn;
	c->ptr = ptr;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t arena_size(const arena_t *a)
{
	size_t n = 0;

	for (const struct chunk *c = a->head; c; c = c->next)
		n += c->size;
	return n;
}
