/* http: request-line and header parsers; see http.h. */
#include "http.h"

#include <stdint.h>
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

/* Dates. Civil-date arithmetic on the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil / civil_from_days), so nothing depends on the
 * process's time zone or locale, and every year 0000-9999 works. */

static const char wday_short[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const wday_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};
static const char month_name[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

#define DATE_DAY_MIN  (-719528LL)	/* 0000-01-01, days from 1970-01-01 */
#define DATE_DAY_MAX  2932896LL	/* 9999-12-31 */

static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(long long y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static char *put_digits(char *o, long long v, int width)
{
	for (int k = width - 1; k >= 0; k--) {
		o[k] = (char)('0' + v % 10);
		v /= 10;
	}
	return o + width;
}

void http_date_format(time_t t, char out[30])
{
	long long s = (long long)t, days, secs, y;
	int m, d;
	char *o = out;

	if (s < DATE_DAY_MIN * 86400)
		s = DATE_DAY_MIN * 86400;
	if (s > DATE_DAY_MAX * 86400 + 86399)
		s = DATE_DAY_MAX * 86400 + 86399;
	/* floor division: times before 1970 are negative */
	days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	secs = s - days * 86400;
	civil_from_days(days, &y, &m, &d);
	memcpy(o, wday_short[((days % 7) + 11) % 7], 3);	/* 1970-01-01: Thursday */
	o += 3;
	*o++ = ',';
	*o++ = ' ';
	o = put_digits(o, d, 2);
	*o++ = ' ';
	memcpy(o, month_name[m - 1], 3);
	o += 3;
	*o++ = ' ';
	o = put_digits(o, y, 4);
	*o++ = ' ';
	o = put_digits(o, secs / 3600, 2);
	*o++ = ':';
	o = put_digits(o, secs / 60 % 60, 2);
	*o++ = ':';
	o = put_digits(o, secs % 60, 2);
	memcpy(o, " GMT", 5);
}

/* A cursor over the date being parsed; every helper checks the bound. */
struct dcur {
	const char *p;
	size_t n, i;
};

static bool d_lit(struct dcur *c, const char *s)
{
	size_t l = strlen(s);

	if (c->n - c->i < l || memcmp(c->p + c->i, s, l) != 0)
		return false;
	c->i += l;
	return true;
}

/* Exactly k digits. */
static bool d_num(struct dcur *c, size_t k, int *v)
{
	int x = 0;

	if (c->n - c->i < k)
		return false;
	for (size_t j = 0; j < k; j++) {
		char ch = c->p[c->i + j];

		if (ch < '0' || ch > '9')
			return false;
		x = x * 10 + (ch - '0');
	}
	c->i += k;
	*v = x;
	return true;
}

static int d_month(struct dcur *c)
{
	for (int k = 0; k < 12; k++)
		if (d_lit(c, month_name[k]))
			return k + 1;
	return -1;
}

/* time-of-day = hour ":" minute ":" second; second 60 is not accepted. */
static bool d_time(struct dcur *c, int *secs)
{
	int h, mi, s;

	if (!d_num(c, 2, &h) || !d_lit(c, ":") || !d_num(c, 2, &mi) || !d_lit(c, ":") ||
	    !d_num(c, 2, &s) || h > 23 || mi > 59 || s > 59)
		return false;
	*secs = h * 3600 + mi * 60 + s;
	return true;
}

/* The year meant by the two-digit year yy of an RFC 850 date on month m,
 * day d at secs into the day: in the current century, unless that is more
 * than 50 years in the future (RFC 9110 5.6.7), then in the previous one. */
static int rfc850_year(int yy, int m, int d, int secs)
{
	long long now = (long long)time(NULL), cy, y;
	int cm, cd, cs;

	if (now < 0)
		now = 0;
	civil_from_days(now / 86400, &cy, &cm, &cd);
	cs = (int)(now % 86400);
	y = cy - cy % 100 + yy;
	/* compare (y, m, d, secs) with the same moment 50 years from now */
	if (y != cy + 50 ? y > cy + 50 : m != cm ? m > cm : d != cd ? d > cd : secs > cs)
		y -= 100;
	return (int)y;
}

int http_date_parse(const char *p, size_t n, time_t *t)
{
	struct dcur c = { p, n, 0 };
	int y, m, d, secs, k;
	long long v;

	while (c.i < n && (p[c.i] == ' ' || p[c.i] == '\t'))
		c.i++;
	while (c.n > c.i && (p[c.n - 1] == ' ' || p[c.n - 1] == '\t'))
		c.n--;
	for (k = 0; k < 7; k++) {
		size_t save = c.i;

		if (d_lit(&c, wday_long[k]) && d_lit(&c, ", "))
			break;
		c.i = save;
	}
	if (k < 7) {
		/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
		if (!d_num(&c, 2, &d) || !d_lit(&c, "-") || (m = d_month(&c)) < 0 ||
		    !d_lit(&c, "-") || !d_num(&c, 2, &y) || !d_lit(&c, " ") ||
		    !d_time(&c, &secs) || !d_lit(&c, " GMT"))
			return -1;
		y = rfc850_year(y, m, d, secs);
	} else {
		for (k = 0; k < 7; k++)
			if (d_lit(&c, wday_short[k]))
				break;
		if (k == 7)
			return -1;
		if (d_lit(&c, ", ")) {
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			if (!d_num(&c, 2, &d) || !d_lit(&c, " ") || (m = d_month(&c)) < 0 ||
			    !d_lit(&c, " ") || !d_num(&c, 4, &y) || !d_lit(&c, " ") ||
			    !d_time(&c, &secs) || !d_lit(&c, " GMT"))
				return -1;
		} else {
			/* asctime-date: Sun Nov  6 08:49:37 1994 */
			if (!d_lit(&c, " ") || (m = d_month(&c)) < 0 || !d_lit(&c, " "))
				return -1;
			if (d_lit(&c, " ") ? !d_num(&c, 1, &d) : !d_num(&c, 2, &d))
				return -1;
			if (!d_lit(&c, " ") || !d_time(&c, &secs) || !d_lit(&c, " ") ||
			    !d_num(&c, 4, &y))
				return -1;
		}
	}
	if (c.i != c.n || d < 1 || d > days_in_month(y, m))
		return -1;
	v = days_from_civil(y, m, d) * 86400 + secs;
	if ((long long)(time_t)v != v)
		return -1;
	*t = (time_t)v;
	return 0;
}

/* Entity-tags (RFC 9110 8.8.3): entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE,
 * etagc = %x21 / %x23-7E / obs-text. */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* One entity-tag at p[*i..n). *tag and *tlen cover the opaque-tag with its
 * quotes; *weak tells whether "W/" preceded it. */
static bool etag_next(const char *p, size_t n, size_t *i, const char **tag, size_t *tlen,
		      bool *weak)
{
	size_t j = *i, s;

	*weak = false;
	if (n - j >= 2 && p[j] == 'W' && p[j + 1] == '/') {
		*weak = true;
		j += 2;
	}
	if (j >= n || p[j] != '"')
		return false;
	s = j++;
	while (j < n && p[j] != '"') {
		unsigned char c = (unsigned char)p[j];

		if (c < 0x21 || c == 0x7F)
			return false;
		j++;
	}
	if (j == n)
		return false;
	j++;
	*tag = p + s;
	*tlen = j - s;
	*i = j;
	return true;
}

bool http_etag_match(const char *p, size_t n, const char *etag)
{
	size_t i = 0, e = n, el;
	bool match = false, any = false;

	if (etag[0] == 'W' && etag[1] == '/')
		etag += 2;
	el = strlen(etag);
	while (i < e && is_ows(p[i]))
		i++;
	while (e > i && is_ows(p[e - 1]))
		e--;
	if (e - i == 1 && p[i] == '*')
		return true;
	while (i < e) {
		const char *tag;
		size_t tl;
		bool weak;

		if (p[i] == ',') {	/* empty list element */
			i++;
		} else {
			if (!etag_next(p, e, &i, &tag, &tl, &weak))
				return false;
			any = true;
			if (tl == el && memcmp(tag, etag, el) == 0)
				match = true;
			while (i < e && is_ows(p[i]))
				i++;
			if (i < e && p[i] != ',')
				return false;
		}
		while (i < e && is_ows(p[i]))
			i++;
	}
	return any && match;
}

bool http_etag_strong_eq(const char *p, size_t n, const char *etag)
{
	size_t i = 0, e = n, tl;
	const char *tag;
	bool weak;

	if (etag[0] == 'W' && etag[1] == '/')
		return false;
	while (i < e && is_ows(p[i]))
		i++;
	while (e > i && is_ows(p[e - 1]))
		e--;
	if (!etag_next(p, e, &i, &tag, &tl, &weak) || i != e || weak)
		return false;
	return tl == strlen(etag) && memcmp(tag, etag, tl) == 0;
}

/* Accept-Encoding */

static bool is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths. */
static int qvalue(const char *p, size_t n, size_t *i, int *q)
{
	int whole, frac = 0, k = 0;

	if (*i >= n || (p[*i] != '0' && p[*i] != '1'))
		return -1;
	whole = p[(*i)++] - '0';
	if (*i < n && p[*i] == '.') {
		(*i)++;
		while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
			if (++k > 3 || (whole == 1 && p[*i] != '0'))
				return -1;
			frac = frac * 10 + (p[(*i)++] - '0');
		}
	}
	for (; k < 3; k++)
		frac *= 10;
	*q = whole * 1000 + frac;
	return 0;
}

bool http_accepts_gzip(const char *p, size_t n)
{
	bool gzip_yes = false, gzip_no = false, star_yes = false, star_no = false;
	size_t i = 0;

	while (i < n) {
		size_t s, tl;
		int q = 1000;

		if (is_ows(p[i]) || p[i] == ',') {	/* blanks, empty elements */
			i++;
			continue;
		}
		for (s = i; i < n && is_tchar(p[i]); i++)
			;
		if ((tl = i - s) == 0)
			return false;
		while (i < n && is_ows(p[i]))
			i++;
		if (i < n && p[i] == ';') {
			/* weight = OWS ";" OWS "q=" qvalue: the only parameter allowed */
			i++;
			while (i < n && is_ows(p[i]))
				i++;
			if (n - i < 2 || (p[i] != 'q' && p[i] != 'Q') || p[i + 1] != '=')
				return false;
			i += 2;
			if (qvalue(p, n, &i, &q) < 0)
				return false;
			while (i < n && is_ows(p[i]))
				i++;
		}
		if (i < n && p[i] != ',')
			return false;
		if ((tl == 4 && strncasecmp(p + s, "gzip", 4) == 0) ||
		    (tl == 6 && strncasecmp(p + s, "x-gzip", 6) == 0)) {
			if (q > 0)
				gzip_yes = true;
			else
				gzip_no = true;
		} else if (tl == 1 && p[s] == '*') {
			if (q > 0)
				star_yes = true;
			else
				star_no = true;
		}
	}
	if (gzip_no)
		return false;
	return gzip_yes || (star_yes && !star_no);
}

/* Content-Disposition */

/* RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" /
 * "." / "^" / "_" / "`" / "|" / "~" */
static bool is_attr_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

char *http_content_disposition(arena_t *a, const char *disp, const char *name, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char mid1[] = "; filename=\"", mid2[] = "\"; filename*=UTF-8''";
	const char *d = disp != NULL && strcmp(disp, "inline") == 0 ? "inline" : "attachment";
	size_t dl = strlen(d);
	char *out, *o;

	if (n == 0) {
		name = "download";
		n = 8;
	}
	if (n > (SIZE_MAX - 64) / 4)
		return NULL;
	/* the fallback takes n bytes, the percent-encoding at most 3n */
	out = o = arena_alloc(a, dl + sizeof(mid1) - 1 + n + sizeof(mid2) - 1 + 3 * n + 1);
	memcpy(o, d, dl);
	o += dl;
	memcpy(o, mid1, sizeof(mid1) - 1);
	o += sizeof(mid1) - 1;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)name[k];

		*o++ = c < 0x20 || c > 0x7E || c == '"' || c == '\\' || c == '%' || c == ';' ?
		       '_' : (char)c;
	}
	memcpy(o, mid2, sizeof(mid2) - 1);
	o += sizeof(mid2) - 1;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)name[k];

		if (is_attr_char(c)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
