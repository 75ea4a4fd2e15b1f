/*
 * fuzz.h: what every libFuzzer target here shares: CHECK (abort with the
 * failed condition, so libFuzzer records the input) and dup_exact (a copy
 * of the input in an exactly-sized buffer with no NUL, so ASan catches
 * any read past the end).
 */
#ifndef COFFER_FUZZ_H
#define COFFER_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline char *dup_exact(const void *p, size_t n)
{
	char *d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	if (n)
		memcpy(d, p, n);
	return d;
}

#endif
