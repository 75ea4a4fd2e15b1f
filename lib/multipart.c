/* multipart: streaming multipart/form-data parser; see multipart.h. */
#include "multipart.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http.h"

enum {
	S_PREAMBLE,	/* before the first delimiter: skipped */
	S_DELIM,	/* just after "--boundary" */
	S_PAD,		/* transport padding after the boundary */
	S_CR,		/* CR ending the delimiter line seen, LF expected */
	S_DASH,		/* first '-' of the close delimiter seen */
	S_HEADERS,	/* part header lines */
	S_BODY,		/* part data */
	S_DONE,		/* close delimiter seen: the rest is epilogue */
};

#define SEEN_CD 1u	/* Content-Disposition */
#define SEEN_CT 2u	/* Content-Type */

#define GOT_NAME 1u
#define GOT_FN   2u	/* filename= */
#define GOT_FNX  4u	/* filename*= */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_ows(const char *p, size_t i, size_t n)
{
	while (i < n && is_ows(p[i]))
		i++;
	return i;
}

/* RFC 7230 tchar */
static bool is_tchar(char ch)
{
	unsigned char c = (unsigned char)ch;

	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return true;
	}
	return false;
}

/* RFC 2046 bchars */
static bool is_bchar(char ch)
{
	unsigned char c = (unsigned char)ch;

	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	switch (c) {
	case '\'': case '(': case ')': case '+': case '_': case ',': case '-': case '.':
	case '/': case ':': case '=': case '?': case ' ':
		return true;
	}
	return false;
}

static bool boundary_valid(const char *p, size_t n)
{
	if (n < 1 || n > MP_BOUNDARY_MAX || p[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_bchar(p[i]))
			return false;
	return true;
}

/* One parameter as offsets into the list; a quoted value is the raw text
 * between the quotes, escapes still in place. */
struct param {
	size_t name, nlen, val, vlen;
	bool quoted;
};

/*
 * Read the next "; name=value" of a parameter list at p[*pos..n). Returns 1
 * with *pr filled, 0 at the end, -1 on a syntax error. Empty parameters
 * (";;", a trailing ';') are skipped: some clients send them. An unquoted
 * value is any run of visible bytes but ';' and '"' (wider than a token,
 * as unquoted filenames with '/' or UTF-8 exist in the wild).
 */
static int param_next(const char *p, size_t n, size_t *pos, struct param *pr)
{
	size_t i = *pos;

	for (;;) {
		i = skip_ows(p, i, n);
		if (i == n) {
			*pos = i;
			return 0;
		}
		if (p[i] != ';')
			return -1;
		i = skip_ows(p, i + 1, n);
		if (i < n && p[i] != ';')
			break;
	}
	pr->name = i;
	while (i < n && is_tchar(p[i]))
		i++;
	pr->nlen = i - pr->name;
	if (pr->nlen == 0)
		return -1;
	i = skip_ows(p, i, n);
	if (i == n || p[i] != '=')
		return -1;
	i = skip_ows(p, i + 1, n);
	if (i < n && p[i] == '"') {
		pr->val = ++i;
		while (i < n && p[i] != '"')
			i += p[i] == '\\' ? 2 : 1;
		if (i >= n)	/* unterminated, or ends in a lone backslash */
			return -1;
		pr->vlen = i - pr->val;
		pr->quoted = true;
		i++;
	} else {
		pr->val = i;
		while (i < n && (unsigned char)p[i] > ' ' && p[i] != 0x7f && p[i] != ';' &&
		       p[i] != '"')
			i++;
		pr->vlen = i - pr->val;
		pr->quoted = false;
		if (pr->vlen == 0)
			return -1;
	}
	*pos = i;
	return 1;
}

/* Undo the backslash escapes of a quoted value from param_next into out
 * (room for n bytes; may be p itself). Returns the new length. */
static size_t unquote(const char *p, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (p[i] == '\\')
			i++;	/* param_next made sure a byte follows */
		out[o++] = p[i++];
	}
	return o;
}

static bool name_is(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

int mp_boundary(const char *p, size_t n, char *out, size_t *outlen)
{
	static const char type[] = "multipart/form-data";
	const size_t tl = sizeof(type) - 1;
	char b[2 * MP_BOUNDARY_MAX];
	size_t i = skip_ows(p, 0, n), bl = 0;
	struct param pr;
	bool found = false;
	int r;

	if (n - i < tl || strncasecmp(p + i, type, tl) != 0)
		return -1;
	i += tl;
	while ((r = param_next(p, n, &i, &pr)) == 1) {
		if (!name_is(p + pr.name, pr.nlen, "boundary"))
			continue;
		if (found || pr.vlen > sizeof(b))
			return -1;
		found = true;
		if (pr.quoted) {
			bl = unquote(p + pr.val, pr.vlen, b);
		} else {
			memcpy(b, p + pr.val, pr.vlen);
			bl = pr.vlen;
		}
		if (!boundary_valid(b, bl))
			return -1;
	}
	if (r < 0 || !found)
		return -1;
	memcpy(out, b, bl);
	out[bl] = '\0';
	*outlen = bl;
	return 0;
}

static int fail(mp_parser_t *mp, int err)
{
	if (mp->err == MP_OK)
		mp->err = err;
	return mp->err;
}

static int set_str(char *dst, size_t cap, size_t *dlen, const char *s, size_t n)
{
	if (n >= cap)
		return MP_ESYNTAX;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*dlen = n;
	return MP_OK;
}

/* RFC 5987 ext-value: charset'language'pct-encoded. The charset is not
 * checked (browsers send UTF-8; the caller validates the bytes) and a value
 * without the two quotes is taken as pct-encoded text. Decodes in place;
 * returns the decoded length (at *v) or -1. */
static long ext_value(char **v, size_t n)
{
	char *s = *v, *q1 = memchr(s, '\'', n), *q2;

	if (q1 != NULL) {
		q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s));
		if (q2 == NULL)
			return -1;
		n -= (size_t)(q2 + 1 - s);
		s = q2 + 1;
	}
	*v = s;
	return http_percent_decode(s, n, s, false);
}

/* Content-Disposition value v[0..n), trimmed; parsed in place (the line
 * buffer is ours). */
static int parse_disposition(mp_parser_t *mp, char *v, size_t n)
{
	mp_part_t *pt = &mp->part;
	struct param pr;
	unsigned got = 0;
	size_t i = 0;
	int r;

	while (i < n && is_tchar(v[i]))
		i++;
	if (!name_is(v, i, "form-data"))
		return MP_ESYNTAX;
	while ((r = param_next(v, n, &i, &pr)) == 1) {
		char *val = v + pr.val;
		size_t vlen = pr.quoted ? unquote(val, pr.vlen, val) : pr.vlen;
		const char *pn = v + pr.name;
		unsigned bit;

		if (name_is(pn, pr.nlen, "name"))
			bit = GOT_NAME;
		else if (name_is(pn, pr.nlen, "filename"))
			bit = GOT_FN;
		else if (name_is(pn, pr.nlen, "filename*"))
			bit = GOT_FNX;
		else
			continue;
		if (got & bit)
			return MP_ESYNTAX;
		got |= bit;
		if (bit == GOT_NAME) {
			r = set_str(pt->name, sizeof(pt->name), &pt->name_len, val, vlen);
		} else {
			if (bit == GOT_FNX) {
				long d = ext_value(&val, vlen);

				if (d < 0)
					return MP_ESYNTAX;
				vlen = (size_t)d;
			}
			if (vlen >= sizeof(pt->filename))
				return MP_ESYNTAX;
			/* filename* wins whichever comes first */
			r = bit == GOT_FN && (got & GOT_FNX) ? MP_OK :
			    set_str(pt->filename, sizeof(pt->filename), &pt->filename_len, val, vlen);
		}
		if (r != MP_OK)
			return r;
	}
	if (r < 0 || !(got & GOT_NAME))
		return MP_ESYNTAX;
	pt->has_filename = (got & (GOT_FN | GOT_FNX)) != 0;
	return MP_OK;
}

/* One header line l[0..n), without its CRLF. */
static int header_line(mp_parser_t *mp, char *l, size_t n)
{
	size_t c = 0, vs, ve;

	if (is_ows(l[0]))	/* obs-fold, or a line starting with blanks */
		return MP_ESYNTAX;
	while (c < n && is_tchar(l[c]))
		c++;
	if (c == 0 || c == n || l[c] != ':')
		return MP_ESYNTAX;
	vs = skip_ows(l, c + 1, n);
	ve = n;
	while (ve > vs && is_ows(l[ve - 1]))
		ve--;
	if (name_is(l, c, "content-disposition")) {
		if (mp->seen & SEEN_CD)
			return MP_ESYNTAX;
		mp->seen |= SEEN_CD;
		return parse_disposition(mp, l + vs, ve - vs);
	}
	if (name_is(l, c, "content-type")) {
		if (mp->seen & SEEN_CT)
			return MP_ESYNTAX;
		mp->seen |= SEEN_CT;
		return set_str(mp->part.content_type, sizeof(mp->part.content_type),
			       &mp->part.content_type_len, l + vs, ve - vs);
	}
	return MP_OK;
}

/* The LF ending the header line in mp->line was read. */
static void line_done(mp_parser_t *mp)
{
	char *l = mp->line;
	size_t n = mp->line_len;
	int r;

	mp->line_len = 0;
	if (n == 0 || l[n - 1] != '\r' || memchr(l, '\r', n - 1) != NULL) {
		fail(mp, MP_ESYNTAX);
		return;
	}
	n--;
	if (n > 0) {
		r = header_line(mp, l, n);
		if (r != MP_OK)
			fail(mp, r);
		return;
	}
	if (!(mp->seen & SEEN_CD)) {
		fail(mp, MP_ESYNTAX);
		return;
	}
	/* The empty line's CRLF may double as the CRLF of the next delimiter
	 * (a part without data), so it is held as a virtual delimiter prefix. */
	mp->state = S_BODY;
	mp->held = mp->virt = 2;
	mp->in_part = true;
	if (mp->cb.part_begin && mp->cb.part_begin(mp->ctx, &mp->part) < 0)
		fail(mp, MP_EABORTED);
}

/* Header bytes: whole lines are collected in mp->line, then parsed. */
static size_t headers(mp_parser_t *mp, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n, keep = take - (lf != NULL);

	if (take > MP_HEADER_MAX - mp->hdr_used) {
		fail(mp, MP_EHEADER_TOO_LARGE);
		return n;
	}
	/* line_len <= hdr_used, so the line fits in MP_HEADER_MAX bytes */
	mp->hdr_used += take;
	memcpy(mp->line + mp->line_len, p, keep);
	mp->line_len += keep;
	if (lf)
		line_done(mp);
	return take;
}

static void emit(mp_parser_t *mp, const char *p, size_t n)
{
	if (n == 0 || mp->state != S_BODY || mp->cb.part_data == NULL)
		return;
	if (mp->cb.part_data(mp->ctx, p, n) < 0)
		fail(mp, MP_EABORTED);
}

/* 16 bytes, compared all at once (GCC/clang vector extension: SSE2 on
 * x86-64, NEON on arm64, plain code elsewhere). */
typedef signed char v16 __attribute__((vector_size(16)));

/*
 * Preamble or part data: find the delimiter and hand everything before it
 * to part_data in one call. A delimiter starting at i has its only CR at i
 * and the boundary's last byte at i + dlen - 1; both are tested for 16
 * start positions at a time, and only positions passing both get a full
 * compare (random data has one such position in 64 KiB). A compare that
 * fails after matching q bytes rules out the next q - 1 starts too, as none
 * of them holds a CR, so crafted near misses cost at most a few passes over
 * the data. The last (at most dlen + 14) start positions, whose 16-byte
 * block would pass the end of p, are tried one by one: a delimiter cut by
 * the end of the chunk is held (its bytes are delim's, so nothing is
 * copied) and completed or given back as data by the next call.
 */
static size_t scan(mp_parser_t *mp, const char *p, size_t n)
{
	const char *d = mp->delim;
	size_t dl = mp->dlen, i = 0;

	if (mp->held) {
		size_t want = dl - mp->held, m = n < want ? n : want;

		if (memcmp(p, d + mp->held, m) == 0) {
			if (m < want) {
				mp->held += m;
				return n;
			}
			mp->held = mp->virt = 0;
			mp->state = S_DELIM;
			return m;
		}
		emit(mp, d + mp->virt, mp->held - mp->virt);
		mp->held = mp->virt = 0;
		if (mp->err)
			return n;
	}
	if (n >= dl + 15) {
		v16 cr, last;

		memset(&cr, '\r', sizeof(cr));
		memset(&last, d[dl - 1], sizeof(last));
		for (; i <= n - dl - 15; i += 16) {
			v16 a, b, m;
			uint64_t w[2];

			memcpy(&a, p + i, 16);
			memcpy(&b, p + i + dl - 1, 16);
			m = (a == cr) & (b == last);
			memcpy(w, &m, 16);
			if ((w[0] | w[1]) == 0)
				continue;
			for (size_t k = 0; k < 16; k++) {
				const char *c = p + i + k;
				size_t q = 1;

				if (!m[k])
					continue;
				/* CR and last byte match: compare the rest inline
				 * (a call per near miss would cost more) */
				while (q < dl - 1 && c[q] == d[q])
					q++;
				if (q == dl - 1) {
					emit(mp, p, i + k);
					mp->state = S_DELIM;
					return i + k + dl;
				}
			}
		}
	}
	for (; i < n; i++) {
		const char *cr = memchr(p + i, '\r', n - i);
		size_t rem;

		if (cr == NULL)
			break;
		i = (size_t)(cr - p);
		rem = n - i;
		if (memcmp(p + i, d, rem < dl ? rem : dl) != 0)
			continue;
		emit(mp, p, i);
		if (rem < dl) {
			mp->held = rem;
			return n;
		}
		mp->state = S_DELIM;
		return i + dl;
	}
	emit(mp, p, n);
	return n;
}

/* The delimiter line before a part is complete: end the previous part,
 * start reading the next one's headers. */
static void next_part(mp_parser_t *mp)
{
	if (mp->in_part) {
		mp->in_part = false;
		if (mp->cb.part_end && mp->cb.part_end(mp->ctx) < 0) {
			fail(mp, MP_EABORTED);
			return;
		}
	}
	if (mp->parts >= MP_MAX_PARTS) {
		fail(mp, MP_ETOO_MANY_PARTS);
		return;
	}
	mp->parts++;
	memset(&mp->part, 0, sizeof(mp->part));
	mp->seen = 0;
	mp->hdr_used = 0;
	mp->line_len = 0;
	mp->state = S_HEADERS;
}

int mp_init(mp_parser_t *mp, const char *boundary, size_t blen, const mp_callbacks_t *cb, void *ctx)
{
	/* the line buffer needs no clearing */
	memset(mp, 0, offsetof(mp_parser_t, line));
	if (cb)
		mp->cb = *cb;
	mp->ctx = ctx;
	if (boundary == NULL || !boundary_valid(boundary, blen))
		return mp->err = MP_EBOUNDARY;
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, blen);
	mp->dlen = blen + 4;
	/* a virtual CRLF lets the first delimiter open the body */
	mp->state = S_PREAMBLE;
	mp->held = mp->virt = 2;
	return MP_OK;
}

int mp_feed(mp_parser_t *mp, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && mp->err == MP_OK) {
		switch (mp->state) {
		case S_PREAMBLE:
		case S_BODY:
			i += scan(mp, p + i, n - i);
			break;
		case S_DELIM:
			if (p[i] == '-') {
				i++;
				mp->state = S_DASH;
			} else {
				mp->state = S_PAD;
			}
			break;
		case S_PAD:
			i = skip_ows(p, i, n);
			if (i == n)
				break;
			if (p[i++] == '\r')
				mp->state = S_CR;
			else
				fail(mp, MP_ESYNTAX);
			break;
		case S_CR:
			if (p[i++] != '\n')
				fail(mp, MP_ESYNTAX);
			else
				next_part(mp);
			break;
		case S_DASH:
			if (p[i++] != '-') {
				fail(mp, MP_ESYNTAX);
				break;
			}
			mp->state = S_DONE;
			if (mp->in_part) {
				mp->in_part = false;
				if (mp->cb.part_end && mp->cb.part_end(mp->ctx) < 0)
					fail(mp, MP_EABORTED);
			}
			break;
		case S_HEADERS:
			i += headers(mp, p + i, n - i);
			break;
		default:	/* S_DONE: epilogue */
			return MP_OK;
		}
	}
	return mp->err;
}

int mp_finish(mp_parser_t *mp)
{
	if (mp->err != MP_OK)
		return mp->err;
	if (mp->state == S_DONE)
		return MP_OK;
	return fail(mp, MP_ETRUNCATED);
}

bool mp_done(const mp_parser_t *mp)
{
	return mp->err == MP_OK && mp->state == S_DONE;
}

const char *mp_strerror(int err)
{
	switch (err) {
	case MP_OK:
		return "no error";
	case MP_EBOUNDARY:
		return "invalid multipart boundary";
	case MP_ESYNTAX:
		return "malformed multipart body";
	case MP_EHEADER_TOO_LARGE:
		return "multipart part headers too large";
	case MP_ETRUNCATED:
		return "multipart body truncated";
	case MP_EABORTED:
		return "multipart parsing aborted";
	case MP_ETOO_MANY_PARTS:
		return "too many multipart parts";
	}
	return "unknown multipart error";
}
