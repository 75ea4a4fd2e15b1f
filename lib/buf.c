/* buf: growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char buf_empty[1];

void buf_init(buf_t *b)
{
	b->p = buf_empty;
	b->len = 0;
	b->cap = 0;
}

void buf_free(buf_t *b)
{
	if (b->cap)
		free(b->p);
	buf_init(b);
}

void buf_reset(buf_t *b)
{
	b->len = 0;
	if (b->cap)
		b->p[0] = '\0';
}

void buf_grow(buf_t *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->p == NULL)
		buf_init(b);
	if (n > (size_t)-1 / 2 - b->len)
		abort();
	need = b->len + n + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = b->cap ? realloc(b->p, cap) : malloc(cap);
	if (p == NULL)
		abort();
	if (!b->cap)
		p[0] = '\0';
	b->p = p;
	b->cap = cap;
}

void buf_add(buf_t *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_adds(buf_t *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc(buf_t *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vaddf(buf_t *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	buf_grow(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_addf(buf_t *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

const char *buf_str(const buf_t *b)
{
	return b->p ? b->p : "";
}

char *buf_detach(buf_t *b, size_t *len)
{
	char *p;

	if (!b->cap)
		buf_grow(b, 0);
	p = b->p;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
