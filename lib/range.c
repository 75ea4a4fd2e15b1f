/* range: the Range request header; see range.h. */
#include "range.h"

#include <stdbool.h>
#include <strings.h>

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1*DIGIT at p[*i..n) into *v; -1 when there is none or it exceeds
 * RANGE_NUM_MAX. Leading zeros are fine, however many. */
static int range_num(const char *p, size_t n, size_t *i, long long *v)
{
	size_t s = *i;
	long long x = 0;

	while (*i < n && is_digit(p[*i])) {
		int d = p[*i] - '0';

		if (x > (RANGE_NUM_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		(*i)++;
	}
	if (*i == s)
		return -1;
	*v = x;
	return 0;
}

int range_parse(const char *p, size_t n, long long size, range_t *out, size_t max)
{
	size_t i = 0, specs = 0, count = 0;
	long long total = 0;

	if (size < 0)
		return 0;
	while (i < n && is_ows(p[i]))
		i++;
	if (n - i < 6 || strncasecmp(p + i, "bytes=", 6) != 0)
		return 0;
	i += 6;
	for (;;) {
		long long first = 0, last = 0, start, end;
		bool suffix = false, open = false;

		while (i < n && is_ows(p[i]))
			i++;
		if (i == n)
			break;
		if (p[i] == ',') {	/* empty list element (RFC 9110 5.6.1) */
			i++;
			continue;
		}
		/* every range-spec counts, satisfiable or not */
		if (++specs > max)
			return 0;
		if (p[i] == '-') {
			suffix = true;
			i++;
			if (range_num(p, n, &i, &last) < 0)
				return 0;
		} else {
			if (range_num(p, n, &i, &first) < 0 || i == n || p[i] != '-')
				return 0;
			i++;
			if (i < n && is_digit(p[i])) {
				if (range_num(p, n, &i, &last) < 0 || last < first)
					return 0;
			} else {
				open = true;
			}
		}
		while (i < n && is_ows(p[i]))
			i++;
		if (i < n) {
			if (p[i] != ',')
				return 0;
			i++;
		}

		if (suffix) {
			if (last == 0)
				continue;
			if (size == 0)
				return 0;	/* satisfiable, but no interval to send */
			start = last >= size ? 0 : size - last;
			end = size - 1;
		} else {
			if (first >= size)
				continue;
			start = first;
			end = open || last >= size ? size - 1 : last;
		}
		/* nginx's rule against overlapping or repeated ranges */
		if (end - start + 1 > size - total)
			return 0;
		total += end - start + 1;
		out[count].start = start;
		out[count].end = end;
		count++;
	}
	if (specs == 0)
		return 0;
	return count > 0 ? (int)count : -1;
}
