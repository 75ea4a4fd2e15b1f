/* text: validation of untrusted strings; see text.h. */
#include "text.h"

#include <stdint.h>
#include <string.h>

bool text_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t len;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2; cp = c & 0x1F; min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3; cp = c & 0x0F; min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool text_uuid_valid(const char *p, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return false;
		} else if (!is_hex(p[i])) {
			return false;
		}
	}
	return true;
}

bool text_name_valid(const char *p, size_t n)
{
	if (n < 1 || n > 255)
		return false;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7F || c == '/')
			return false;
		/* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F */
		if (c == 0xC2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 &&
		    (unsigned char)p[i + 1] <= 0x9F)
			return false;
	}
	return text_utf8_valid(p, n);
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool text_username_valid(const char *p, size_t n)
{
	if (n < 3 || n > 32 || !is_alnum(p[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(p[i]) && p[i] != '_' && p[i] != '.' && p[i] != '-')
			return false;
	return true;
}

bool text_email_valid(const char *p, size_t n)
{
	const char *at = NULL;
	size_t i;

	if (n < 3 || n > 254 || !text_utf8_valid(p, n))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == ',' ||
		    c == ';' || c == '"' || c == '\\')
			return false;
		if (c == '@') {
			if (at)
				return false;
			at = p + i;
		}
	}
	if (at == NULL || at == p || at == p + n - 1)
		return false;
	{
		const char *dom = at + 1;
		size_t dn = (size_t)(p + n - dom);
		const char *dot = memchr(dom, '.', dn);

		if (dot == NULL || dot == dom || dom[dn - 1] == '.')
			return false;
		for (i = 0; i + 1 < dn; i++)
			if (dom[i] == '.' && dom[i + 1] == '.')
				return false;
	}
	return true;
}

int text_parse_uint(const char *p, size_t n, long long max, long long *out)
{
	long long v = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		/* max - digit < 0 would divide to 0 (C truncates), letting v = 0 through */
		if (p[i] - '0' > max || v > (max - (p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int text_parse_size(const char *p, size_t n, long long *out)
{
	long long v, mul = 1;

	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n > 1 && (p[n - 1] == 'B' || p[n - 1] == 'b') && p[n - 2] != '\0' &&
	    strchr("kKmMgGtT", p[n - 2]) != NULL)
		n--;
	if (n == 0)
		return -1;
	switch (p[n - 1]) {
	case 'k': case 'K': mul = 1LL << 10; n--; break;
	case 'm': case 'M': mul = 1LL << 20; n--; break;
	case 'g': case 'G': mul = 1LL << 30; n--; break;
	case 't': case 'T': mul = 1LL << 40; n--; break;
	}
	if (text_parse_uint(p, n, INT64_MAX / mul, &v) < 0)
		return -1;
	*out = v * mul;
	return 0;
}

/* n decimal digits at p as a number, or -1 */
static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static long long days_from_civil(long long y, int m, int d)
{
	/* days since 1970-01-01 of a proleptic Gregorian date */
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int text_rfc3339_parse(const char *p, size_t n, time_t *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int Y, M, D, h, m, s, off = 0, dim;
	size_t i = 19;

	if (n < 20 || n > 40 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') ||
	    p[13] != ':' || p[16] != ':')
		return -1;
	Y = digits(p, 4);
	M = digits(p + 5, 2);
	D = digits(p + 8, 2);
	h = digits(p + 11, 2);
	m = digits(p + 14, 2);
	s = digits(p + 17, 2);
	if (Y < 0 || M < 1 || M > 12 || D < 1 || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 ||
	    s > 60)
		return -1;
	dim = mdays[M - 1];
	if (M == 2 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
		dim = 28;
	if (D > dim)
		return -1;
	if (p[i] == '.') {
		i++;
		if (i >= n || p[i] < '0' || p[i] > '9')
			return -1;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	if (i >= n)
		return -1;
	if ((p[i] == 'Z' || p[i] == 'z') && i + 1 == n) {
		off = 0;
	} else if ((p[i] == '+' || p[i] == '-') && i + 6 == n && p[i + 3] == ':') {
		int oh = digits(p + i + 1, 2), om = digits(p + i + 4, 2);

		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60 * (p[i] == '+' ? 1 : -1);
	} else {
		return -1;
	}
	if (s == 60)
		s = 59;   /* a leap second: the second before it will do */
	*out = (time_t)(days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + s - off);
	return 0;
}

bool text_is(const char *v, size_t n, const char *w)
{
	return n == strlen(w) && memcmp(v, w, n) == 0;
}

/* Length of the well-formed UTF-8 character at p[0..n) (Unicode Table
 * 3-7: no overlongs, surrogates or code points above U+10FFFF), 0 if none. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
	unsigned c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return len;
}

size_t text_printable(const char *s, size_t n, char *out, size_t outsz)
{
	static const char replacement[] = "\xEF\xBF\xBD";	/* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (outsz == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_char(p + i, n - i), cl = l;
		const char *c = s + i;

		if (l == 0) {
			l = 1;	/* one replacement character per stray byte */
			c = replacement;
			cl = sizeof(replacement) - 1;
		} else if ((l == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
			   (l == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)) {
			c = " ";	/* C0, DEL and C1 controls */
			cl = 1;
		}
		i += l;
		if (c[0] == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;	/* no leading or doubled blanks */
		if (o + cl > outsz - 1)
			break;	/* cut at a character boundary */
		memcpy(out + o, c, cl);
		o += cl;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}
