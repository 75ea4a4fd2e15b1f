/* jsonv: strict JSON grammar check; see jsonv.h. */
#include "jsonv.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct jv {
	const char *p;
	size_t n, i;
	int max_depth;
};

static void ws(struct jv *v)
{
	while (v->i < v->n && (v->p[v->i] == ' ' || v->p[v->i] == '\t' || v->p[v->i] == '\n' ||
			       v->p[v->i] == '\r'))
		v->i++;
}

static bool digit(struct jv *v)
{
	return v->i < v->n && v->p[v->i] >= '0' && v->p[v->i] <= '9';
}

static int hex4(struct jv *v, unsigned *out)
{
	unsigned x = 0;

	if (v->n - v->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		char c = v->p[v->i++];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = x;
	return 0;
}

static int string(struct jv *v)
{
	v->i++;  /* opening quote */
	while (v->i < v->n) {
		unsigned char c = (unsigned char)v->p[v->i];
		unsigned u, lo;

		if (c == '"') {
			v->i++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			v->i++;
			continue;
		}
		if (++v->i >= v->n)
			return -1;
		c = (unsigned char)v->p[v->i++];
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			continue;
		if (c != 'u' || hex4(v, &u) < 0)
			return -1;
		if (u >= 0xDC00 && u <= 0xDFFF)
			return -1;  /* a low surrogate without its high half */
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (v->n - v->i < 2 || v->p[v->i] != '\\' || v->p[v->i + 1] != 'u')
				return -1;
			v->i += 2;
			if (hex4(v, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
				return -1;
		}
	}
	return -1;
}

static int number_grammar(struct jv *v);

/* Longer numbers than this are refused: no field of the API needs them. */
#define JSONV_NUMBER_MAX 64

static int number(struct jv *v)
{
	size_t start = v->i;
	char tmp[JSONV_NUMBER_MAX + 1];
	double d;

	if (number_grammar(v) < 0 || v->i - start > JSONV_NUMBER_MAX)
		return -1;
	/* 1e999 is grammatical but would become Infinity */
	memcpy(tmp, v->p + start, v->i - start);
	tmp[v->i - start] = '\0';
	d = strtod(tmp, NULL);
	return isfinite(d) ? 0 : -1;
}

static int number_grammar(struct jv *v)
{
	if (v->p[v->i] == '-')
		v->i++;
	if (!digit(v))
		return -1;
	if (v->p[v->i] == '0')
		v->i++;
	else
		while (digit(v))
			v->i++;
	if (v->i < v->n && v->p[v->i] == '.') {
		v->i++;
		if (!digit(v))
			return -1;
		while (digit(v))
			v->i++;
	}
	if (v->i < v->n && (v->p[v->i] == 'e' || v->p[v->i] == 'E')) {
		v->i++;
		if (v->i < v->n && (v->p[v->i] == '+' || v->p[v->i] == '-'))
			v->i++;
		if (!digit(v))
			return -1;
		while (digit(v))
			v->i++;
	}
	return 0;
}

static int literal(struct jv *v, const char *word)
{
	size_t l = strlen(word);

	if (v->n - v->i < l || memcmp(v->p + v->i, word, l) != 0)
		return -1;
	v->i += l;
	return 0;
}

static int value(struct jv *v, int depth)
{
	char c;

	ws(v);
	if (v->i >= v->n)
		return -1;
	c = v->p[v->i];
	switch (c) {
	case '"':
		return string(v);
	case 't':
		return literal(v, "true");
	case 'f':
		return literal(v, "false");
	case 'n':
		return literal(v, "null");
	case '{':
	case '[':
		if (depth >= v->max_depth)
			return -1;
		v->i++;
		ws(v);
		if (v->i < v->n && v->p[v->i] == (c == '{' ? '}' : ']')) {
			v->i++;
			return 0;
		}
		for (;;) {
			if (c == '{') {
				ws(v);
				if (v->i >= v->n || v->p[v->i] != '"' || string(v) < 0)
					return -1;
				ws(v);
				if (v->i >= v->n || v->p[v->i] != ':')
					return -1;
				v->i++;
			}
			if (value(v, depth + 1) < 0)
				return -1;
			ws(v);
			if (v->i >= v->n)
				return -1;
			if (v->p[v->i] == ',') {
				v->i++;
				continue;
			}
			if (v->p[v->i] != (c == '{' ? '}' : ']'))
				return -1;
			v->i++;
			return 0;
		}
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(v);
		return -1;
	}
}

int jsonv_check(const char *p, size_t n, int max_depth, size_t *where)
{
	struct jv v = { p, n, 0, max_depth };
	int rc = value(&v, 0);

	if (rc == 0) {
		ws(&v);
		if (v.i != n)
			rc = -1;
	}
	if (where)
		*where = v.i;
	return rc;
}
