/* http: request-line and header parsers; see http.h. */
#include "http.h"

#include <string.h>
#include <strings.h>

#include "text.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long http_percent_decode(const char *p, size_t n, char *out, bool plus)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (p[i] == '%') {
			int h, l;

			if (n - i < 3)
				return -1;
			h = hexval(p[i + 1]);
			l = hexval(p[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			out[o++] = (char)(h * 16 + l);
			i += 3;
		} else if (plus && p[i] == '+') {
			out[o++] = ' ';
			i++;
		} else {
			out[o++] = p[i++];
		}
	}
	return (long)o;
}

int http_query_get(arena_t *a, const char *p, size_t n, const char *key,
		   char **val, size_t *vlen)
{
	size_t klen = strlen(key), i = 0;
	int params = 0, found = 0;

	if (n > HTTP_QUERY_MAX_LEN)
		return -1;
	/* walk every pair, so a malformed query is rejected whatever the key */
	while (i < n) {
		const char *pair = p + i, *amp, *eq;
		size_t plen, nlen;
		char *name;
		long dn;

		amp = memchr(pair, '&', n - i);
		plen = amp ? (size_t)(amp - pair) : n - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		if (++params > HTTP_QUERY_MAX_PARAMS)
			return -1;
		eq = memchr(pair, '=', plen);
		nlen = eq ? (size_t)(eq - pair) : plen;
		name = arena_alloc(a, nlen + 1);
		dn = http_percent_decode(pair, nlen, name, true);
		if (dn < 0)
			return -1;
		if (found || (size_t)dn != klen || memcmp(name, key, klen) != 0) {
			if (eq) {	/* still validate the value's escapes */
				char *tmp = arena_alloc(a, plen - nlen);

				if (http_percent_decode(eq + 1, plen - nlen - 1, tmp, true) < 0)
					return -1;
			}
			continue;
		}
		{
			size_t rawlen = eq ? plen - nlen - 1 : 0;
			char *v = arena_alloc(a, rawlen + 1);
			long dv = http_percent_decode(eq ? eq + 1 : "", rawlen, v, true);

			if (dv < 0)
				return -1;
			v[dv] = '\0';
			*val = v;
			*vlen = (size_t)dv;
			found = 1;
		}
	}
	return found;
}

int http_cookie_get(const char *p, size_t n, const char *name,
		    const char **val, size_t *vlen)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		size_t start, end, eq;

		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ';'))
			i++;
		start = i;
		while (i < n && p[i] != ';')
			i++;
		end = i;
		for (eq = start; eq < end && p[eq] != '='; eq++)
			;
		if (eq < end && eq - start == nl && memcmp(p + start, name, nl) == 0) {
			size_t vs = eq + 1, ve = end;

			while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
				ve--;
			if (ve - vs >= 2 && p[vs] == '"' && p[ve - 1] == '"') {
				vs++;
				ve--;
			}
			*val = p + vs;
			*vlen = ve - vs;
			return 1;
		}
	}
	return 0;
}

int http_bearer(const char *p, size_t n, const char **tok, size_t *tlen)
{
	size_t i = 6, e;

	if (n < 7 || strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	e = n;
	while (e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	if (e == i)
		return 0;
	*tok = p + i;
	*tlen = e - i;
	return 1;
}

bool http_media_type_is(const char *p, size_t n, const char *type)
{
	size_t tl = strlen(type), i = 0, e;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (e = i; e < n && p[e] != ';' && p[e] != ' ' && p[e] != '\t'; e++)
		;
	return e - i == tl && strncasecmp(p + i, type, tl) == 0;
}

long long http_content_length(const char *p, size_t n)
{
	long long v;

	if (text_parse_uint(p, n, 1LL << 53, &v) < 0)
		return -1;
	return v;
}
