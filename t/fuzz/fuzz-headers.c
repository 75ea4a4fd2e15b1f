/*
 * fuzz-headers: Cookie, Authorization, Content-Type and Content-Length
 * values. Invariants: returned pointers lie inside the input; a cookie value
 * holds no ';'; a bearer token is non-empty, without surrounding blanks, and
 * the header starts with "Bearer" (any case); a matching media type begins the
 * value; a Content-Length is all digits and at most 2^53.
 * Inputs sit in exactly-sized heap buffers without a terminator.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "fuzz.h"

static void check_cookies(const char *p, size_t n)
{
	static const char *const names[] = { "coffer_session", "a", "" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		const char *v = NULL;
		size_t vl = 0, nl = strlen(names[k]);

		if (http_cookie_get(p, n, names[k], &v, &vl) != 1)
			continue;
		CHECK(v >= p + nl + 1 && v + vl <= p + n);
		CHECK(memchr(v, ';', vl) == NULL);
		/* the value follows "name=" (possibly after an opening quote) */
		{
			const char *eq = v[-1] == '"' && v - 1 >= p + nl + 1 && v[-2] == '=' ? v - 2 : v - 1;

			const char *name = eq - nl;

			CHECK(*eq == '=' && name >= p && memcmp(name, names[k], nl) == 0);
			CHECK(name == p || name[-1] == ' ' || name[-1] == '\t' || name[-1] == ';');
		}
	}
}

static void check_bearer(const char *p, size_t n)
{
	const char *t = NULL;
	size_t tl = 0;

	if (http_bearer(p, n, &t, &tl) != 1)
		return;
	CHECK(n > 6 && strncasecmp(p, "bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\t'));
	CHECK(tl > 0 && t > p + 6 && t + tl <= p + n);
	CHECK(t[0] != ' ' && t[0] != '\t' && t[tl - 1] != ' ' && t[tl - 1] != '\t');
}

static void check_media_type(const char *p, size_t n)
{
	static const char *const types[] = { "application/json", "multipart/form-data", "" };

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		size_t tl = strlen(types[k]), i = 0;

		if (!http_media_type_is(p, n, types[k]))
			continue;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		CHECK(n - i >= tl && strncasecmp(p + i, types[k], tl) == 0);
		CHECK(i + tl == n || p[i + tl] == ';' || p[i + tl] == ' ' || p[i + tl] == '\t');
	}
}

static void check_content_length(const char *p, size_t n)
{
	long long v = http_content_length(p, n), ref = 0;
	bool digits = n > 0;

	CHECK(v >= -1 && v <= (1LL << 53));
	for (size_t i = 0; i < n && digits; i++) {
		if (p[i] < '0' || p[i] > '9')
			digits = false;
		else if (ref <= (1LL << 53))
			ref = ref * 10 + (p[i] - '0');
	}
	/* reference: all digits and at most 2^53 (long inputs capped by text_parse_uint) */
	if (!digits || ref > (1LL << 53))
		CHECK(v == -1);
	else if (n <= 19)
		CHECK(v == ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = dup_exact(data, size);

	check_cookies(p, size);
	check_bearer(p, size);
	check_media_type(p, size);
	check_content_length(p, size);
	free(p);
	return 0;
}
