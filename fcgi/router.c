/* router: route matching; see router.h. */
#include "router.h"

#include <string.h>

#include "text.h"

#define ROUTER_SEGMENT_MAX 512

/* ":n": a positive decimal number without leading zeros, at most 9 digits */
static bool version_number(const char *p, size_t n)
{
	if (n == 0 || n > 9 || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Match one pattern against the path; fill params on success. */
static int match(const char *pat, const char *path, size_t n, const char **params,
		 arena_t *a)
{
	size_t i = 0;
	int np = 0;

	while (*pat) {
		const char *pend;
		size_t seg, plen;

		if (*pat != '/' || i >= n || path[i] != '/')
			return 0;
		pat++;
		i++;
		pend = strchr(pat, '/');
		plen = pend ? (size_t)(pend - pat) : strlen(pat);
		for (seg = 0; i + seg < n && path[i + seg] != '/'; seg++)
			;
		if (plen && pat[0] == ':') {
			if (seg == 0 || seg > ROUTER_SEGMENT_MAX)
				return 0;
			if (plen == 3 && memcmp(pat, ":id", 3) == 0 && !text_uuid_valid(path + i, seg))
				return 0;
			if (plen == 2 && memcmp(pat, ":n", 2) == 0 && !version_number(path + i, seg))
				return 0;
			if (params && np < REQ_MAX_ROUTE_PARAMS)
				params[np] = arena_strndup(a, path + i, seg);
			np++;
		} else if (seg != plen || memcmp(pat, path + i, seg) != 0) {
			return 0;
		}
		pat += plen;
		i += seg;
	}
	return i == n;
}

const route_t *router_match(const route_t *table, size_t count, const char *method,
			    const char *path, size_t n, const char **params, arena_t *a,
			    int *status, buf_t *allow)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	int path_known = 0;

	for (size_t i = 0; i < count; i++) {
		if (!match(table[i].pattern, path, n, NULL, NULL))
			continue;
		if (strcmp(table[i].method, m) == 0) {
			match(table[i].pattern, path, n, params, a);
			return &table[i];
		}
		path_known = 1;
	}
	*status = 404;
	if (!path_known)
		return NULL;
	*status = 405;
	for (size_t i = 0; i < count; i++) {
		if (!match(table[i].pattern, path, n, NULL, NULL))
			continue;
		if (allow->len)
			buf_adds(allow, ", ");
		buf_adds(allow, table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			buf_adds(allow, ", HEAD");
	}
	buf_adds(allow, ", OPTIONS");
	return NULL;
}
