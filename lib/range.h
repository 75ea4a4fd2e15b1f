/*
 * range: the Range request header for byte ranges (RFC 9110 14.1-14.2),
 * turned into the list of byte intervals a 206 response sends. Takes a
 * pointer and a length, never needs a NUL terminator.
 */
#ifndef COFFER_RANGE_H
#define COFFER_RANGE_H

#include <stddef.h>

#define RANGE_MAX     16          /* more range-specs than this -> header ignored */
#define RANGE_NUM_MAX (1LL << 62) /* larger positions -> header invalid */

/* One satisfiable range, inclusive: 0 <= start <= end < size. */
typedef struct range {
	long long start, end;
} range_t;

/*
 * Parse a Range value ("bytes=0-99, 200-, -50") for a representation of
 * size bytes. Returns:
 *   n > 0  the satisfiable ranges, in request order, in out[0..n): ends past
 *          the representation are clamped to size - 1, suffix ranges longer
 *          than it start at 0; unsatisfiable range-specs are dropped;
 *   0      ignore the header and send the whole representation: not the
 *          "bytes" unit (compared case-insensitively), invalid syntax
 *          (last < first, a number above RANGE_NUM_MAX, no range-spec), more
 *          than max range-specs, satisfiable ranges adding up to more than
 *          size (overlap, as nginx), a negative size, or a non-zero suffix
 *          range on an empty representation (satisfiable per RFC 9110 14.1.2
 *          but not expressible as a byte interval: the empty 200 is the answer);
 *  -1      valid, but no range-spec is satisfiable (answer 416): first >= size,
 *          "-0", or any int-range when size is 0.
 * Empty list elements and blanks (OWS) around elements are accepted. out
 * needs room for max entries; its contents are unspecified unless n > 0.
 */
int range_parse(const char *p, size_t n, long long size, range_t *out, size_t max);

#endif
