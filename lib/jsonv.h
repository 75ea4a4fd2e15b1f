/*
 * jsonv: a strict RFC 8259 validator run on every JSON body before json-c
 * builds objects from it. json-c's own strict mode still lets NaN, Infinity
 * and raw control characters in strings through; this does not. Takes a
 * pointer and a length, never reads past p[n-1], bounds nesting depth.
 */
#ifndef COFFER_JSONV_H
#define COFFER_JSONV_H

#include <stddef.h>

#define JSONV_MAX_DEPTH 32

/* 0 when p[0..n) is exactly one JSON value (surrounded by optional
 * whitespace) nested at most max_depth deep; -1 otherwise, with the byte
 * offset of the first problem in *where (may be NULL). UTF-8 validity of
 * string contents is left to text_utf8_valid(). */
int jsonv_check(const char *p, size_t n, int max_depth, size_t *where);

#endif
