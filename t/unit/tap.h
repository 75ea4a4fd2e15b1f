/*
 * tap.h: a tiny header-only TAP producer for the C unit tests. Each test
 * prints "ok N - name" or "not ok N - name" and, at the end, the plan "1..N"
 * (a trailing plan is valid TAP). done_testing() returns the exit status:
 * 0 when every test passed, 1 otherwise.
 */
#ifndef COFFER_TAP_H
#define COFFER_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every helper is static (one copy per test program) and may go unused. */
#define TAP_FN static __attribute__((unused))
#define TAP_FMT(f, a) __attribute__((format(printf, f, a)))

static int tap_run, tap_failed;

TAP_FN bool tap_vok(bool pass, const char *fmt, va_list ap) TAP_FMT(2, 0);
TAP_FN bool tap_ok(bool pass, const char *fmt, ...) TAP_FMT(2, 3);
TAP_FN void diag(const char *fmt, ...) TAP_FMT(1, 2);
TAP_FN bool tap_is_int(long long got, long long want, const char *fmt, ...) TAP_FMT(3, 4);
TAP_FN bool tap_is_str(const char *got, const char *want, const char *fmt, ...) TAP_FMT(3, 4);
TAP_FN bool tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
		       const char *fmt, ...) TAP_FMT(5, 6);

TAP_FN bool tap_vok(bool pass, const char *fmt, va_list ap)
{
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	return pass;
}

TAP_FN bool tap_ok(bool pass, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(pass, fmt, ap);
	va_end(ap);
	return r;
}

/* Diagnostics go to stdout as "# ..." lines, which TAP harnesses show. */
TAP_FN void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Print bytes readably (C escapes for non-printables) in a diagnostic. */
TAP_FN void tap_dump(const char *label, const void *p, size_t n)
{
	const unsigned char *s = p;

	printf("#   %s: ", label);
	if (p == NULL) {
		puts("NULL");
		return;
	}
	putchar('"');
	for (size_t i = 0; i < n && i < 200; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\')
			putchar(s[i]);
		else
			printf("\\x%02x", s[i]);
	}
	printf("\"%s (%zu bytes)\n", n > 200 ? "..." : "", n);
}

TAP_FN bool tap_is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#   got: %lld\n#   expected: %lld\n", got, want);
	return r;
}

TAP_FN bool tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
		       const char *fmt, ...)
{
	va_list ap;
	bool r = got != NULL && want != NULL && glen == wlen &&
		 (glen == 0 || memcmp(got, want, glen) == 0);

	va_start(ap, fmt);
	r = tap_vok(r, fmt, ap);
	va_end(ap);
	if (!r) {
		tap_dump("got", got, glen);
		tap_dump("expected", want, wlen);
	}
	return r;
}

TAP_FN bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	bool r = got != NULL && want != NULL && strcmp(got, want) == 0;

	va_start(ap, fmt);
	r = tap_vok(r, fmt, ap);
	va_end(ap);
	if (!r) {
		tap_dump("got", got, got ? strlen(got) : 0);
		tap_dump("expected", want, want ? strlen(want) : 0);
	}
	return r;
}

/* p[0..n) made printable for a test name (TAP names stay on one line):
 * bytes outside printable ASCII, and the backslash, as \xNN; long ones cut with
 * "...". The result lives until the next call. */
TAP_FN const char *tap_show(const char *p, size_t n)
{
	static char s[256];
	size_t o = 0;

	for (size_t k = 0; k < n && o + 5 < sizeof(s); k++) {
		unsigned char c = (unsigned char)p[k];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			s[o++] = (char)c;
		else
			o += (size_t)snprintf(s + o, sizeof(s) - o, "\\x%02x", c);
	}
	if (o + 5 >= sizeof(s))
		memcpy(s + o - 3, "...", 3);
	s[o] = '\0';
	return s;
}

/* Print the plan and return the process exit status. */
TAP_FN int done_testing(void)
{
	printf("1..%d\n", tap_run);
	if (tap_failed)
		diag("failed %d of %d tests", tap_failed, tap_run);
	return tap_failed ? 1 : 0;
}

#define ok(cond, ...)               tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, ...)      tap_is_int((long long)(got), (long long)(want), __VA_ARGS__)
#define is_str(got, want, ...)      tap_is_str((got), (want), __VA_ARGS__)
#define is_mem(g, gl, w, wl, ...)   tap_is_mem((g), (gl), (w), (wl), __VA_ARGS__)

/* A copy of p[0..n) in an exactly-sized buffer without a NUL, so ASan and
 * valgrind catch a parser reading past the end. Free with free(). */
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
