/*
 * test-multipart: the streaming multipart/form-data parser. Results do not
 * depend on how the body is cut (every split point, every pair of split
 * points, byte by byte, random sizes); delimiter look-alikes and binary data
 * pass through as data; part headers, parameters, filename* and the limits;
 * a body cut at any offset is MP_ETRUNCATED and never ends the cut part;
 * errors are sticky; callbacks can abort; mp_boundary. Every chunk is an
 * exactly-sized heap copy, so ASan/valgrind catch a read past its end. Ends
 * with a throughput figure for 256 MiB in 256 KiB chunks (a comment only).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "multipart.h"
#include "tap.h"

#define L(s) (s), (sizeof(s) - 1)
#define B "AaB03x"
#define CD "Content-Disposition: form-data; "

/* ---- a recorder of everything the callbacks see ---- */

struct rpart {
	mp_part_t meta;
	buf_t data;
	bool ended;
};

struct rec {
	struct rpart *parts;
	size_t n, cap;
	int data_calls;
	int bad;		/* callback protocol violations */
	char abort_kind;	/* 'b', 'd' or 'e': that callback returns -1 ... */
	int abort_n;		/* ... on its abort_n-th call */
	int after_abort;	/* callbacks made after one returned -1 */
	bool aborted;
	bool done;
	const char *chunk;	/* the chunk being fed: data must lie in it ... */
	size_t chunklen;
	const mp_parser_t *mp;	/* ... or in the parser (a held delimiter prefix) */
};

static bool want_abort(struct rec *r, char kind)
{
	if (r->aborted)
		r->after_abort++;
	if (r->abort_kind == kind && --r->abort_n == 0) {
		r->aborted = true;
		return true;
	}
	return false;
}

static int cb_begin(void *ctx, const mp_part_t *pt)
{
	struct rec *r = ctx;

	if (r->n > 0 && !r->parts[r->n - 1].ended)
		r->bad++;
	if (pt->name[pt->name_len] != '\0' || pt->filename[pt->filename_len] != '\0' ||
	    pt->content_type[pt->content_type_len] != '\0' || pt->name_len >= sizeof(pt->name) ||
	    pt->filename_len >= sizeof(pt->filename) ||
	    pt->content_type_len >= sizeof(pt->content_type) ||
	    (pt->filename_len > 0 && !pt->has_filename))
		r->bad++;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->parts = realloc(r->parts, r->cap * sizeof(*r->parts));
		if (r->parts == NULL)
			abort();
	}
	r->parts[r->n].meta = *pt;
	buf_init(&r->parts[r->n].data);
	r->parts[r->n].ended = false;
	r->n++;
	return want_abort(r, 'b') ? -1 : 0;
}

static int cb_data(void *ctx, const char *p, size_t n)
{
	struct rec *r = ctx;
	const char *m = (const char *)r->mp;

	if (n == 0 || r->n == 0 || r->parts[r->n - 1].ended)
		r->bad++;
	else
		buf_add(&r->parts[r->n - 1].data, p, n);
	if (!(p >= r->chunk && p + n <= r->chunk + r->chunklen) &&
	    !(p >= m && p + n <= m + sizeof(*r->mp)))
		r->bad++;
	r->data_calls++;
	return want_abort(r, 'd') ? -1 : 0;
}

static int cb_end(void *ctx)
{
	struct rec *r = ctx;

	if (r->n == 0 || r->parts[r->n - 1].ended)
		r->bad++;
	else
		r->parts[r->n - 1].ended = true;
	return want_abort(r, 'e') ? -1 : 0;
}

static const mp_callbacks_t cbs = { cb_begin, cb_data, cb_end };

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		buf_free(&r->parts[i].data);
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

static size_t rec_ended(const struct rec *r)
{
	size_t e = 0;

	for (size_t i = 0; i < r->n; i++)
		e += r->parts[i].ended;
	return e;
}

static bool meta_same(const mp_part_t *a, const mp_part_t *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
	       a->filename_len == b->filename_len &&
	       memcmp(a->filename, b->filename, a->filename_len) == 0 &&
	       a->has_filename == b->has_filename &&
	       a->content_type_len == b->content_type_len &&
	       memcmp(a->content_type, b->content_type, a->content_type_len) == 0;
}

static bool rec_same(const struct rec *a, const struct rec *b)
{
	if (a->n != b->n || a->bad || b->bad || a->done != b->done)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct rpart *x = &a->parts[i], *y = &b->parts[i];

		if (!meta_same(&x->meta, &y->meta) || x->ended != y->ended ||
		    x->data.len != y->data.len || memcmp(x->data.p, y->data.p, x->data.len) != 0)
			return false;
	}
	return true;
}

/*
 * Parse body[0..n) with boundary bnd, fed in chunks of sizes[0], sizes[1],
 * ... (cycled; ns == 0: one chunk; a size past the end takes the rest),
 * then mp_finish. Returns the first error or mp_finish's answer. Also
 * checks that an error is sticky (counted in r->bad otherwise).
 */
static int run(struct rec *r, const char *bnd, const char *body, size_t n,
	       const size_t *sizes, size_t ns)
{
	mp_parser_t mp;
	size_t off = 0, k = 0;
	int rc;

	rc = mp_init(&mp, bnd, strlen(bnd), &cbs, r);
	r->mp = &mp;
	while (rc == MP_OK && off < n) {
		size_t c = ns ? sizes[k++ % ns] : n - off;
		char *ch;

		if (c == 0 || c > n - off)
			c = n - off;
		ch = dup_exact(body + off, c);
		r->chunk = ch;
		r->chunklen = c;
		rc = mp_feed(&mp, ch, c);
		free(ch);
		off += c;
	}
	r->chunk = NULL;
	if (rc == MP_OK) {
		rc = mp_finish(&mp);
	} else {
		if (mp_finish(&mp) != rc || mp_feed(&mp, L("x")) != rc || mp_done(&mp))
			r->bad++;
	}
	r->done = mp_done(&mp);
	if (r->done != (rc == MP_OK))
		r->bad++;
	r->mp = NULL;
	return rc;
}

static int parse1(struct rec *r, const char *body, size_t n)
{
	memset(r, 0, sizeof(*r));
	return run(r, B, body, n, NULL, 0);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/*
 * Parse in every way: one chunk (into *ref), every split point, every pair
 * of split points (bodies up to 400 bytes), byte by byte, and 200 random
 * chunkings. Each must give the same code and the same parts as the
 * reference. One test line per way. Returns the reference code; *ref is
 * kept for the caller (rec_free it).
 */
static int parse_all_ways(struct rec *ref, const char *bnd, const char *body, size_t n,
			  const char *what)
{
	int want;
	bool same;
	struct rec r;
	size_t sz[3];

	memset(ref, 0, sizeof(*ref));
	want = run(ref, bnd, body, n, NULL, 0);
	ok(ref->bad == 0, "%s: one chunk: callbacks in order", what);

	same = true;
	for (size_t a = 1; a < n && same; a++) {
		memset(&r, 0, sizeof(r));
		sz[0] = a;
		sz[1] = n;
		same = run(&r, bnd, body, n, sz, 2) == want && rec_same(ref, &r);
		if (!same)
			diag("split at %zu differs", a);
		rec_free(&r);
	}
	ok(same, "%s: every split point gives the same result", what);

	if (n <= 400) {
		same = true;
		for (size_t a = 1; a < n && same; a++) {
			for (size_t b = 1; a + b < n && same; b++) {
				memset(&r, 0, sizeof(r));
				sz[0] = a;
				sz[1] = b;
				sz[2] = n;
				same = run(&r, bnd, body, n, sz, 3) == want && rec_same(ref, &r);
				if (!same)
					diag("splits at %zu and %zu differ", a, a + b);
				rec_free(&r);
			}
		}
		ok(same, "%s: every pair of split points gives the same result", what);
	}

	memset(&r, 0, sizeof(r));
	sz[0] = 1;
	same = run(&r, bnd, body, n, sz, 1) == want && rec_same(ref, &r);
	rec_free(&r);
	ok(same, "%s: byte by byte gives the same result", what);

	same = true;
	for (int t = 0; t < 200 && same; t++) {
		size_t rs[16];

		for (size_t i = 0; i < 16; i++)
			rs[i] = 1 + rng() % (rng() % 2 ? 8 : n + 1);
		memset(&r, 0, sizeof(r));
		same = run(&r, bnd, body, n, rs, 16) == want && rec_same(ref, &r);
		rec_free(&r);
	}
	ok(same, "%s: random chunk sizes give the same result", what);
	return want;
}

/* The body must fail with want whatever the chunking, before any part_end
 * of the part at fault. */
static void expect_rc(const char *body, size_t n, int want, const char *what)
{
	struct rec r, s;
	size_t one = 1;
	int rc = parse1(&r, body, n);
	bool same = true;

	is_int(rc, want, "%s -> %s", what, mp_strerror(want));
	memset(&s, 0, sizeof(s));
	same = run(&s, B, body, n, &one, 1) == rc && rec_same(&r, &s);
	rec_free(&s);
	for (size_t a = 1; a < n && same; a++) {
		size_t sz[2] = { a, n };

		memset(&s, 0, sizeof(s));
		same = run(&s, B, body, n, sz, 2) == rc && rec_same(&r, &s);
		rec_free(&s);
	}
	ok(same && r.bad == 0, "  %s: same for every chunking", what);
	rec_free(&r);
}

static void part_is(const struct rec *r, size_t i, const char *name, size_t nl,
		    const char *fn, size_t fl, bool has_fn, const char *ct, size_t cl,
		    const char *data, size_t dl)
{
	const struct rpart *p;

	if (!ok(i < r->n, "part %zu exists", i))
		return;
	p = &r->parts[i];
	is_mem(p->meta.name, p->meta.name_len, name, nl, "  part %zu: name", i);
	is_int(p->meta.has_filename, has_fn, "  part %zu: has_filename", i);
	is_mem(p->meta.filename, p->meta.filename_len, fn, fl, "  part %zu: filename", i);
	is_mem(p->meta.content_type, p->meta.content_type_len, ct, cl,
	       "  part %zu: content type", i);
	is_mem(p->data.p, p->data.len, data, dl, "  part %zu: data", i);
	ok(p->ended, "  part %zu: ended", i);
}

/* ---- mp_boundary ---- */

static void bnd_ok(const char *ct, size_t n, const char *want)
{
	char *in = dup_exact(ct, n), out[MP_BOUNDARY_MAX + 1];
	size_t ol = 999;
	int rc = mp_boundary(in, n, out, &ol);

	if (is_int(rc, 0, "mp_boundary(\"%.*s\") succeeds", (int)n, ct))
		ok(ol == strlen(want) && memcmp(out, want, ol) == 0 && out[ol] == '\0',
		   "  boundary is \"%s\"", want);
	free(in);
}

static void bnd_bad(const char *ct, size_t n, const char *why)
{
	char *in = dup_exact(ct, n), out[MP_BOUNDARY_MAX + 1] = "untouched";
	size_t ol = 999;

	ok(mp_boundary(in, n, out, &ol) == -1 && ol == 999 && strcmp(out, "untouched") == 0,
	   "mp_boundary rejects %s", why);
	free(in);
}

static void test_boundary(void)
{
	const char *b70 = "0123456789012345678901234567890123456789012345678901234567890123456789";
	buf_t b = BUF_INIT;

	bnd_ok(L("multipart/form-data; boundary=" B), B);
	bnd_ok(L("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
	       "----WebKitFormBoundary7MA4YWxkTrZu0gW");
	bnd_ok(L("Multipart/Form-Data; BOUNDARY=abc"), "abc");
	bnd_ok(L("multipart/form-data;boundary=abc"), "abc");
	bnd_ok(L("  multipart/form-data ;  boundary=abc  "), "abc");
	bnd_ok(L("multipart/form-data; boundary = abc"), "abc");
	bnd_ok(L("multipart/form-data; boundary=\"abc\""), "abc");
	bnd_ok(L("multipart/form-data; boundary=\"a b:c\""), "a b:c");
	bnd_ok(L("multipart/form-data; boundary=\"a\\bc\""), "abc");
	bnd_ok(L("multipart/form-data; charset=utf-8; boundary=x; foo=\"b;a\""), "x");
	bnd_ok(L("multipart/form-data; boundary=x;"), "x");
	bnd_ok(L("multipart/form-data; boundary='()+_,-./:=?"), "'()+_,-./:=?");
	bnd_ok(L("multipart/form-data; boundary=\"'()+_,-./:=? x\""), "'()+_,-./:=? x");
	buf_addf(&b, "multipart/form-data; boundary=%s", b70);
	bnd_ok(b.p, b.len, b70);
	buf_reset(&b);
	buf_addf(&b, "multipart/form-data; boundary=\"%s\"", b70);
	bnd_ok(b.p, b.len, b70);
	buf_reset(&b);
	buf_addf(&b, "multipart/form-data; boundary=%s1", b70);
	bnd_bad(b.p, b.len, "a 71-byte boundary");
	buf_reset(&b);
	buf_addf(&b, "multipart/form-data; boundary=\"%s1\"", b70);
	bnd_bad(b.p, b.len, "a quoted 71-byte boundary");
	buf_free(&b);

	bnd_bad(L(""), "an empty value");
	bnd_bad(L("multipart/form-data"), "a missing boundary");
	bnd_bad(L("multipart/form-data;"), "a missing boundary after ';'");
	bnd_bad(L("multipart/form-data; charset=utf-8"), "another parameter only");
	bnd_bad(L("multipart/form-data; boundary="), "an empty boundary");
	bnd_bad(L("multipart/form-data; boundary=\"\""), "an empty quoted boundary");
	bnd_bad(L("multipart/form-data; boundary=\"abc \""), "a boundary ending in a space");
	bnd_bad(L("multipart/form-data; boundary=a b"), "an unquoted space");
	bnd_bad(L("multipart/form-data; boundary=ab@c"), "'@' (not a bchar)");
	bnd_bad(L("multipart/form-data; boundary=\"ab\\\"c\""), "an escaped quote (not a bchar)");
	bnd_bad(L("multipart/form-data; boundary=\"abc"), "an unterminated quote");
	bnd_bad(L("multipart/form-data; boundary=a; boundary=b"), "two boundaries");
	bnd_bad(L("multipart/mixed; boundary=abc"), "multipart/mixed");
	bnd_bad(L("multipart/form-datax; boundary=abc"), "a longer media type");
	bnd_bad(L("multipart/form-dat"), "a shorter media type");
	bnd_bad(L("application/x-www-form-urlencoded"), "a urlencoded form");
	bnd_bad(L("text/plain; boundary=abc"), "text/plain");
	bnd_bad(L("multipart/form-data boundary=abc"), "a missing ';'");
	bnd_bad(L("multipart/form-data; boundary"), "a parameter without '='");
	bnd_bad(L("multipart/form-data; =abc"), "a parameter without a name");
	bnd_bad(L("multipart/form-data; boundary=abc\0"), "a NUL byte");
	bnd_bad(L("multipart/form-data; boundary=abc\r\n"), "a CRLF");
	bnd_bad(L("multipart/form-data; boundary=\"a\\"), "a quote ending in a backslash");
	bnd_bad(L("multipart\0form-data; boundary=abc"), "a NUL in the media type");
	bnd_bad(L("multipart/form-data; boundary=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		"a 160-byte boundary");
	bnd_bad(L("multipart/form-data; boundary=a\x7f"), "a DEL byte");
}

/* ---- mp_init ---- */

static void test_init(void)
{
	mp_parser_t mp;
	char b71[72];

	memset(b71, 'a', sizeof(b71));
	is_int(mp_init(&mp, L("x"), NULL, NULL), MP_OK, "mp_init: a 1-byte boundary");
	is_int(mp_init(&mp, b71, 70, NULL, NULL), MP_OK, "mp_init: a 70-byte boundary");
	is_int(mp_init(&mp, L("a b"), NULL, NULL), MP_OK, "mp_init: an inner space");
	is_int(mp_init(&mp, b71, 71, NULL, NULL), MP_EBOUNDARY, "mp_init: a 71-byte boundary");
	is_int(mp_init(&mp, "", 0, NULL, NULL), MP_EBOUNDARY, "mp_init: an empty boundary");
	is_int(mp_init(&mp, NULL, 0, NULL, NULL), MP_EBOUNDARY, "mp_init: NULL");
	is_int(mp_init(&mp, L("ab "), NULL, NULL), MP_EBOUNDARY, "mp_init: a trailing space");
	is_int(mp_init(&mp, L("a\rb"), NULL, NULL), MP_EBOUNDARY, "mp_init: a CR");
	is_int(mp_init(&mp, L("a\0b"), NULL, NULL), MP_EBOUNDARY, "mp_init: a NUL");
	is_int(mp_init(&mp, L("a\"b"), NULL, NULL), MP_EBOUNDARY, "mp_init: a quote");
	is_int(mp_feed(&mp, L("--a\"b--")), MP_EBOUNDARY, "  feeding then fails with MP_EBOUNDARY");
	is_int(mp_finish(&mp), MP_EBOUNDARY, "  and so does mp_finish");
	ok(!mp_done(&mp), "  and mp_done is false");
}

/* ---- well-formed bodies ---- */

static const char form[] =
	"--" B "\r\n"
	CD "name=\"folder_id\"\r\n"
	"\r\n"
	"6f1c2f0e-8d0b-4c59-9f55-0b5a2b1f3c77\r\n"
	"--" B "\r\n"
	"Content-Disposition: form-data; name=\"description\"\r\n"
	"Content-Type: text/plain; charset=UTF-8\r\n"
	"\r\n"
	"two\r\nlines\r\n"
	"--" B "\r\n"
	CD "name=\"file\"; filename=\"notes.txt\"\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"hello\r\n-- " B "\r\nworld\n\r\n\r\n"
	"--" B "\r\n"
	CD "name=\"files[]\"; filename=\"bin.dat\"\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"\0\1\2\r\r\n\r\n-\r\n--\r\n--A\r\n--AaB03\0"
	"\r\n--" B "--\r\n";

static void test_form(void)
{
	struct rec r;
	int rc = parse_all_ways(&r, B, L(form), "browser-like form");

	is_int(rc, MP_OK, "browser-like form parses");
	is_int(r.n, 4, "  4 parts");
	part_is(&r, 0, L("folder_id"), L(""), false, L(""),
		L("6f1c2f0e-8d0b-4c59-9f55-0b5a2b1f3c77"));
	part_is(&r, 1, L("description"), L(""), false, L("text/plain; charset=UTF-8"),
		L("two\r\nlines"));
	part_is(&r, 2, L("file"), L("notes.txt"), true, L("text/plain"),
		L("hello\r\n-- " B "\r\nworld\n\r\n"));
	part_is(&r, 3, L("files[]"), L("bin.dat"), true, L("application/octet-stream"),
		L("\0\1\2\r\r\n\r\n-\r\n--\r\n--A\r\n--AaB03\0"));
	ok(r.done, "  mp_done");
	rec_free(&r);
}

static void test_single(void)
{
	static const char body[] = "--" B "\r\n" CD "name=a\r\n\r\nvalue\r\n--" B "--";
	struct rec r;

	is_int(parse_all_ways(&r, B, L(body), "one field"), MP_OK, "one field parses");
	is_int(r.n, 1, "  1 part");
	part_is(&r, 0, L("a"), L(""), false, L(""), L("value"));
	rec_free(&r);
}

/* Data that looks like a delimiter but is not one passes through. */
static void lookalike(const char *data, size_t dl, const char *what)
{
	buf_t b = BUF_INIT;
	struct rec r;
	int rc;

	buf_adds(&b, "--" B "\r\n" CD "name=f; filename=x\r\n\r\n");
	buf_add(&b, data, dl);
	buf_adds(&b, "\r\n--" B "--\r\n");
	rc = parse_all_ways(&r, B, b.p, b.len, what);
	if (is_int(rc, MP_OK, "%s: parses", what) && is_int(r.n, 1, "  one part"))
		is_mem(r.parts[0].data.p, r.parts[0].data.len, data, dl, "  data intact");
	rec_free(&r);
	buf_free(&b);
}

static void test_lookalikes(void)
{
	static const char delim[] = "\r\n--" B;
	buf_t b = BUF_INIT;

	lookalike(L("a\r\n--" "AaB03y" "b"), "\"CRLF--AaB03y\" inside data");
	lookalike(L("a\r\n--" "AaB03"), "data ending in the delimiter less its last byte");
	lookalike(L("a\n--" B "\nb"), "bare LF before --boundary");
	lookalike(L("a\r--" B "\rb"), "bare CR before --boundary");
	lookalike(L("a\r\n-" B "\r\nb"), "one dash");
	lookalike(L("a\r\n--aab03x\r\nb"), "the boundary in another case");
	lookalike(L("x--" B "--\r\n"), "--boundary-- without CRLF before it");
	lookalike(L("\r\r\r\n\r\n--\r\n--A\r\n--Aa\r\r\n--AaB0"), "many partial delimiters");
	lookalike(L("-"), "data \"-\"");
	lookalike(L("--"), "data \"--\"");
	lookalike(L("--AaB03"), "data \"--AaB03\" (the boundary less a byte)");
	lookalike(L("--AaB03y"), "data \"--AaB03y\"");
	lookalike(L("\r\n"), "data CRLF");
	lookalike(L("\r\n\r\n"), "data CRLF CRLF");
	lookalike(L("\r\n--\r\n--"), "data \"CRLF--CRLF--\"");
	for (size_t k = 1; k < sizeof(delim) - 1; k++) {
		char what[64];

		snprintf(what, sizeof(what), "data = first %zu bytes of the delimiter", k);
		lookalike(delim, k, what);
	}
	for (int i = 0; i < 40; i++)
		buf_add(&b, delim, sizeof(delim) - 2);
	lookalike(b.p, b.len, "40 delimiters less a byte");
	buf_reset(&b);
	for (int i = 0; i < 300; i++)
		buf_addc(&b, '\r');
	lookalike(b.p, b.len, "300 CRs");
	buf_free(&b);
	/* a real delimiter inside data is one: what follows it must be valid */
	expect_rc(L("--" B "\r\n" CD "name=f\r\n\r\na\r\n--" B "b\r\n--" B "--"), MP_ESYNTAX,
		  "data containing CRLF--boundary then a byte");
	expect_rc(L("--" B "\r\n" CD "name=f\r\n\r\n--" B "xyz\r\n--" B "--"), MP_ESYNTAX,
		  "data starting with --boundary then a byte");
}

/* Every body cut a chunk end inside the delimiter, in every way. */
static void test_chunk_edges(void)
{
	static const char body[] = "--" B "\r\n" CD "name=a\r\n\r\n0123456789\r\n--" B
		"\r\n" CD "name=b\r\n\r\n\r\n--" B "--";
	struct rec r;

	is_int(parse_all_ways(&r, B, L(body), "two short parts"), MP_OK, "two short parts parse");
	part_is(&r, 0, L("a"), L(""), false, L(""), L("0123456789"));
	part_is(&r, 1, L("b"), L(""), false, L(""), L(""));
	rec_free(&r);
}

static void test_empty(void)
{
	struct rec r;
	static const char three[] = "--" B "\r\n" CD "name=a\r\n\r\n\r\n--" B "\r\n"
		CD "name=b; filename=\"\"\r\n\r\n\r\n--" B "\r\n"
		CD "name=c\r\n\r\n--" B "--";

	is_int(parse_all_ways(&r, B, L(three), "empty parts"), MP_OK, "three empty parts parse");
	is_int(r.n, 3, "  3 parts");
	part_is(&r, 0, L("a"), L(""), false, L(""), L(""));
	part_is(&r, 1, L("b"), L(""), true, L(""), L(""));
	/* RFC 2046: body-part := headers [CRLF *OCTET]: the data may be absent */
	part_is(&r, 2, L("c"), L(""), false, L(""), L(""));
	is_int(r.data_calls, 0, "  part_data never called with nothing");
	rec_free(&r);

	is_int(parse1(&r, L("--" B "--")), MP_OK, "a body with no parts parses");
	is_int(r.n, 0, "  0 parts");
	rec_free(&r);
	is_int(parse1(&r, L("")), MP_ETRUNCATED, "an empty body is truncated");
	rec_free(&r);
	is_int(parse1(&r, L("\r\n")), MP_ETRUNCATED, "a body of CRLF is truncated");
	rec_free(&r);
	is_int(parse1(&r, L("no delimiter at all")), MP_ETRUNCATED,
	       "a body without delimiter is truncated");
	rec_free(&r);
}

/* ---- part headers ---- */

/* Parse one part with the given header block (lines with CRLF, without
 * the empty line) and data "d"; returns the code, part in r. */
static int hdr(struct rec *r, const char *h, size_t hl)
{
	buf_t b = BUF_INIT;
	int rc;

	buf_adds(&b, "--" B "\r\n");
	buf_add(&b, h, hl);
	buf_adds(&b, "\r\nd\r\n--" B "--");
	rc = parse1(r, b.p, b.len);
	buf_free(&b);
	return rc;
}

static void hdr_ok(const char *h, size_t hl, const char *name, size_t nl, const char *fn,
		   size_t fl, bool has_fn, const char *ct, size_t cl, const char *what)
{
	struct rec r;
	int rc = hdr(&r, h, hl);

	if (is_int(rc, MP_OK, "headers: %s", what) && is_int(r.n, 1, "  one part")) {
		const mp_part_t *m = &r.parts[0].meta;

		ok(m->name_len == nl && memcmp(m->name, name, nl) == 0 &&
		   m->filename_len == fl && memcmp(m->filename, fn, fl) == 0 &&
		   m->has_filename == has_fn && m->content_type_len == cl &&
		   memcmp(m->content_type, ct, cl) == 0 && r.parts[0].data.len == 1,
		   "  name, filename and type as expected");
		if (m->name_len != nl || memcmp(m->name, name, nl) != 0)
			tap_dump("name", m->name, m->name_len);
		if (m->filename_len != fl || memcmp(m->filename, fn, fl) != 0)
			tap_dump("filename", m->filename, m->filename_len);
		if (m->content_type_len != cl || memcmp(m->content_type, ct, cl) != 0)
			tap_dump("content type", m->content_type, m->content_type_len);
	}
	rec_free(&r);
}

static void hdr_bad(const char *h, size_t hl, int want, const char *what)
{
	buf_t b = BUF_INIT;

	buf_adds(&b, "--" B "\r\n" CD "name=ok\r\n\r\nfirst\r\n--" B "\r\n");
	buf_add(&b, h, hl);
	buf_adds(&b, "\r\nd\r\n--" B "--");
	{
		struct rec r;
		int rc = parse1(&r, b.p, b.len);

		ok(rc == want && r.n == 1 && r.parts[0].ended, "headers: %s -> %s", what,
		   mp_strerror(want));
		if (rc != want)
			diag("got %s", mp_strerror(rc));
		rec_free(&r);
	}
	buf_free(&b);
}

static void test_headers(void)
{
	char big[1100];

	hdr_ok(L(CD "name=\"a\"\r\n"), L("a"), L(""), false, L(""), "quoted name");
	hdr_ok(L("content-disposition: FORM-DATA; NAME=a\r\n"), L("a"), L(""), false, L(""),
	       "case-insensitive header, type and parameter names");
	hdr_ok(L("CONTENT-DISPOSITION:form-data;name=a;filename=b.txt\r\n"), L("a"),
	       L("b.txt"), true, L(""), "no blanks at all");
	hdr_ok(L("Content-Disposition: \t form-data \t ; \t name \t = \t a \t ; "
		 "filename = \"b c\" \t \r\n"), L("a"), L("b c"), true, L(""),
	       "blanks around ';' and '=' and at the ends");
	hdr_ok(L(CD "name=a;\r\n"), L("a"), L(""), false, L(""), "a trailing ';'");
	hdr_ok(L(CD ";; name=a;;\r\n"), L("a"), L(""), false, L(""), "empty parameters");
	hdr_ok(L(CD "name=\"\"\r\n"), L(""), L(""), false, L(""), "an empty name");
	hdr_ok(L(CD "name=a; filename=\"\"\r\n"), L("a"), L(""), true, L(""),
	       "an empty filename");
	hdr_ok(L(CD "name=\"a\\\"b\\\\c\\d\"\r\n"), L("a\"b\\cd"), L(""), false, L(""),
	       "backslash escapes in a quoted name");
	hdr_ok(L(CD "name=\"a;b=c\"; filename=\"x\\\\y\"\r\n"), L("a;b=c"), L("x\\y"), true,
	       L(""), "';' and '=' inside quotes");
	hdr_ok(L(CD "name=a; filename=/tmp/r\xc3\xa9sum\xc3\xa9.pdf\r\n"), L("a"),
	       L("/tmp/r\xc3\xa9sum\xc3\xa9.pdf"), true, L(""), "an unquoted UTF-8 filename");
	hdr_ok(L(CD "name=a; filename=\"na\xc3\xafve \xe6\x96\x87.txt\"\r\n"), L("a"),
	       L("na\xc3\xafve \xe6\x96\x87.txt"), true, L(""), "a raw UTF-8 filename");
	hdr_ok(L(CD "name=a; filename=\"a%22b.txt\"\r\n"), L("a"), L("a%22b.txt"), true, L(""),
	       "filename= is not percent-decoded");
	hdr_ok(L(CD "name=a; filename*=UTF-8''na%C3%AFve%20%e6%96%87.txt\r\n"), L("a"),
	       L("na\xc3\xafve \xe6\x96\x87.txt"), true, L(""), "filename* (RFC 5987)");
	hdr_ok(L(CD "name=a; filename*=utf-8'en'x%41\r\n"), L("a"), L("xA"), true, L(""),
	       "filename* with a language");
	hdr_ok(L(CD "name=a; filename*=iso-8859-1''caf%E9\r\n"), L("a"), L("caf\xe9"), true,
	       L(""), "filename* in another charset: bytes as sent");
	hdr_ok(L(CD "name=a; filename*=plain%2Etxt\r\n"), L("a"), L("plain.txt"), true, L(""),
	       "filename* without charset''");
	hdr_ok(L(CD "name=a; filename*=\"UTF-8''q%20q\"\r\n"), L("a"), L("q q"), true, L(""),
	       "filename* quoted");
	hdr_ok(L(CD "name=a; filename=\"fallback.txt\"; filename*=UTF-8''real.txt\r\n"), L("a"),
	       L("real.txt"), true, L(""), "filename* wins over an earlier filename");
	hdr_ok(L(CD "name=a; filename*=UTF-8''real.txt; filename=\"fallback.txt\"\r\n"), L("a"),
	       L("real.txt"), true, L(""), "filename* wins over a later filename");
	hdr_ok(L(CD "name=a; filename*=UTF-8''\r\n"), L("a"), L(""), true, L(""),
	       "an empty filename*");
	hdr_ok(L(CD "name=a; filename*=UTF-8''a%00b\r\n"), L("a"), L("a\0b"), true, L(""),
	       "filename* with %00 keeps the NUL (use the length)");
	hdr_ok(L(CD "name=\"a\0b\"\r\n"), L("a\0b"), L(""), false, L(""), "a raw NUL in a name");
	hdr_ok(L(CD "name=a; size=10; creation-date=\"x\"\r\n"), L("a"), L(""), false, L(""),
	       "unknown parameters ignored");
	hdr_ok(L(CD "name=a\r\nContent-Type:  image/png  \r\n"), L("a"), L(""), false,
	       L("image/png"), "Content-Type trimmed");
	hdr_ok(L("content-type: text/plain;charset=utf-8\r\n" CD "name=a\r\n"), L("a"), L(""),
	       false, L("text/plain;charset=utf-8"), "Content-Type first, parameters kept");
	hdr_ok(L(CD "name=a\r\nContent-Type:\r\n"), L("a"), L(""), false, L(""),
	       "an empty Content-Type");
	hdr_ok(L("X-Foo: bar\r\n" CD "name=a\r\nContent-Transfer-Encoding: binary\r\n"
		 "Content-Length: 1\r\nX-Bin: \x80\xff\x01\r\n"), L("a"), L(""), false, L(""),
	       "unknown headers ignored");

	hdr_bad(L("Content-Type: text/plain\r\n"), MP_ESYNTAX, "no Content-Disposition");
	hdr_bad(L(""), MP_ESYNTAX, "no headers at all");
	hdr_bad(L("Content-Disposition: attachment; name=a\r\n"), MP_ESYNTAX,
		"disposition attachment");
	hdr_bad(L("Content-Disposition: form-data\r\n"), MP_ESYNTAX, "no name parameter");
	hdr_bad(L("Content-Disposition: form-data; filename=a\r\n"), MP_ESYNTAX,
		"a filename but no name");
	hdr_bad(L("Content-Disposition: form-datax; name=a\r\n"), MP_ESYNTAX,
		"disposition form-datax");
	hdr_bad(L("Content-Disposition: form-data name=a\r\n"), MP_ESYNTAX, "a missing ';'");
	hdr_bad(L(CD "name=a; name=b\r\n"), MP_ESYNTAX, "name twice");
	hdr_bad(L(CD "name=a; NAME=a\r\n"), MP_ESYNTAX, "name twice in other case");
	hdr_bad(L(CD "name=a; filename=b; filename=c\r\n"), MP_ESYNTAX, "filename twice");
	hdr_bad(L(CD "name=a; filename*=b; filename*=c\r\n"), MP_ESYNTAX, "filename* twice");
	hdr_bad(L(CD "name=a\r\n" CD "name=b\r\n"), MP_ESYNTAX, "Content-Disposition twice");
	hdr_bad(L(CD "name=a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n"), MP_ESYNTAX,
		"Content-Type twice");
	hdr_bad(L(CD "name=a;\r\n filename=b\r\n"), MP_ESYNTAX, "obsolete line folding");
	hdr_bad(L(CD "name=a\r\n\tX: y\r\n"), MP_ESYNTAX, "folding with a tab");
	hdr_bad(L(CD "name=a\n"), MP_ESYNTAX, "a bare LF ending a line");
	hdr_bad(L(CD "name=a\r\nX: a\rb\r\n"), MP_ESYNTAX, "a bare CR inside a line");
	hdr_bad(L(CD "name=a\r\nno colon\r\n"), MP_ESYNTAX, "a line without ':'");
	hdr_bad(L(CD "name=a\r\nX-Foo : bar\r\n"), MP_ESYNTAX, "a blank before ':'");
	hdr_bad(L(CD "name=a\r\n: bar\r\n"), MP_ESYNTAX, "an empty header name");
	hdr_bad(L(CD "name=a\r\nX-Foo\r\n"), MP_ESYNTAX, "a header name alone");
	hdr_bad(L(CD "name=a\x7f\r\n"), MP_ESYNTAX, "a DEL in an unquoted value");
	hdr_bad(L(CD "name=a\r\nX(y): bar\r\n"), MP_ESYNTAX, "a non-token header name");
	hdr_bad(L(CD "name=\"a\r\n"), MP_ESYNTAX, "an unterminated quote");
	hdr_bad(L(CD "name=\"a\\\"\r\n"), MP_ESYNTAX, "a quote escaped by a trailing backslash");
	hdr_bad(L(CD "name=a b\r\n"), MP_ESYNTAX, "a blank inside an unquoted value");
	hdr_bad(L(CD "name=\"a\"b\r\n"), MP_ESYNTAX, "text after a quoted value");
	hdr_bad(L(CD "name\r\n"), MP_ESYNTAX, "a parameter without '='");
	hdr_bad(L(CD "name=\r\n"), MP_ESYNTAX, "an empty unquoted value");
	hdr_bad(L(CD "=a\r\n"), MP_ESYNTAX, "a parameter without a name");
	hdr_bad(L(CD "name=a; filename*=UTF-8''%zz\r\n"), MP_ESYNTAX, "a bad %-escape in filename*");
	hdr_bad(L(CD "name=a; filename*=UTF-8''%4\r\n"), MP_ESYNTAX, "a cut %-escape in filename*");
	hdr_bad(L(CD "name=a; filename*=UTF-8'x.txt\r\n"), MP_ESYNTAX,
		"filename* with a single quote");

	/* lengths: every string must fit its array with the NUL */
	memset(big, 'n', sizeof(big));
	{
		buf_t h = BUF_INIT;

		buf_adds(&h, CD "name=");
		buf_add(&h, big, 255);
		buf_adds(&h, "\r\n");
		hdr_ok(h.p, h.len, big, 255, L(""), false, L(""), "a 255-byte name");
		buf_reset(&h);
		buf_adds(&h, CD "name=");
		buf_add(&h, big, 256);
		buf_adds(&h, "\r\n");
		hdr_bad(h.p, h.len, MP_ESYNTAX, "a 256-byte name");
		buf_reset(&h);
		buf_adds(&h, CD "name=\"");
		for (int i = 0; i < 255; i++)
			buf_adds(&h, "\\n");
		buf_adds(&h, "\"\r\n");
		hdr_ok(h.p, h.len, big, 255, L(""), false, L(""),
		       "a 255-byte name written with 510 bytes of escapes");
		buf_reset(&h);
		buf_adds(&h, CD "name=a; filename=\"");
		buf_add(&h, big, 1023);
		buf_adds(&h, "\"\r\n");
		hdr_ok(h.p, h.len, L("a"), big, 1023, true, L(""), "a 1023-byte filename");
		buf_reset(&h);
		buf_adds(&h, CD "name=a; filename=\"");
		buf_add(&h, big, 1024);
		buf_adds(&h, "\"\r\n");
		hdr_bad(h.p, h.len, MP_ESYNTAX, "a 1024-byte filename");
		buf_reset(&h);
		buf_adds(&h, CD "name=a; filename*=UTF-8''");
		for (int i = 0; i < 1023; i++)
			buf_adds(&h, "%6e");
		buf_adds(&h, "\r\n");
		hdr_ok(h.p, h.len, L("a"), big, 1023, true, L(""),
		       "a 1023-byte filename* written with 3069 bytes");
		buf_reset(&h);
		buf_adds(&h, CD "name=a; filename*=UTF-8''");
		for (int i = 0; i < 1024; i++)
			buf_adds(&h, "%6e");
		buf_adds(&h, "\r\n");
		hdr_bad(h.p, h.len, MP_ESYNTAX, "a 1024-byte filename*");
		buf_reset(&h);
		buf_adds(&h, CD "name=a; filename*=UTF-8''x; filename=\"");
		buf_add(&h, big, 1024);
		buf_adds(&h, "\"\r\n");
		hdr_bad(h.p, h.len, MP_ESYNTAX, "a 1024-byte filename beside filename*");
		buf_reset(&h);
		buf_adds(&h, CD "name=a\r\nContent-Type: ");
		buf_add(&h, big, 255);
		buf_adds(&h, " \r\n");
		hdr_ok(h.p, h.len, L("a"), L(""), false, big, 255, "a 255-byte Content-Type");
		buf_reset(&h);
		buf_adds(&h, CD "name=a\r\nContent-Type: ");
		buf_add(&h, big, 256);
		buf_adds(&h, "\r\n");
		hdr_bad(h.p, h.len, MP_ESYNTAX, "a 256-byte Content-Type");
		buf_free(&h);
	}
}

/* A header block of exactly n bytes (all lines and the empty line). */
static void header_block(buf_t *b, size_t n)
{
	static const char cd[] = CD "name=a\r\n";
	size_t pad = n - (sizeof(cd) - 1) - 11;	/* "X-Pad: " CRLF, empty line */

	buf_adds(b, cd);
	buf_adds(b, "X-Pad: ");
	for (size_t i = 0; i < pad; i++)
		buf_addc(b, 'p');
	buf_adds(b, "\r\n\r\n");
}

static void test_header_limit(void)
{
	buf_t b = BUF_INIT;
	struct rec r;
	mp_parser_t mp;
	int rc = MP_OK;
	char chunk[4096];

	buf_adds(&b, "--" B "\r\n");
	header_block(&b, MP_HEADER_MAX);
	buf_adds(&b, "x\r\n--" B "\r\n");
	header_block(&b, MP_HEADER_MAX);
	buf_adds(&b, "y\r\n--" B "--");
	rc = parse1(&r, b.p, b.len);
	is_int(rc, MP_OK, "two header blocks of exactly MP_HEADER_MAX bytes");
	is_int(r.n, 2, "  two parts");
	rec_free(&r);
	{
		size_t one = 1;

		memset(&r, 0, sizeof(r));
		is_int(run(&r, B, b.p, b.len, &one, 1), MP_OK, "  also byte by byte");
		rec_free(&r);
	}

	buf_reset(&b);
	buf_adds(&b, "--" B "\r\n");
	header_block(&b, MP_HEADER_MAX + 1);
	buf_adds(&b, "x\r\n--" B "--");
	expect_rc(b.p, b.len, MP_EHEADER_TOO_LARGE, "a header block of MP_HEADER_MAX + 1 bytes");

	buf_reset(&b);
	buf_adds(&b, "--" B "\r\n" CD "name=a\r\n\r\nfirst\r\n--" B "\r\n");
	header_block(&b, MP_HEADER_MAX + 1);
	rc = parse1(&r, b.p, b.len);
	ok(rc == MP_EHEADER_TOO_LARGE && r.n == 1 && r.parts[0].ended,
	   "  the limit applies to each part; the previous part ended");
	rec_free(&r);

	/* an endless header line fails as soon as it passes the limit */
	memset(chunk, 'h', sizeof(chunk));
	mp_init(&mp, L(B), NULL, NULL);
	mp_feed(&mp, L("--" B "\r\nX-Long: "));
	for (int i = 0; i < 3 && rc != MP_EHEADER_TOO_LARGE; i++)
		rc = mp_feed(&mp, chunk, sizeof(chunk));
	is_int(rc, MP_EHEADER_TOO_LARGE, "an endless header line fails within 12 KiB");
	buf_free(&b);
}

/* ---- truncation ---- */

static void test_truncation(void)
{
	const size_t n = sizeof(form) - 1;
	const char *close = memmem(form, n, "\r\n--" B "--", 12);
	size_t close_end = (size_t)(close - form) + 12;
	struct rec full, r;
	bool all_trunc = true, no_end = true, ended_ok = true, mono = true, cut_ok = true;
	bool bytewise = true;
	size_t last_ended = 0;

	parse1(&full, form, n);
	for (size_t k = 0; k < n; k++) {
		int rc = parse1(&r, form, k);
		size_t e = rec_ended(&r), one = 1;
		struct rec s;

		if (k < close_end) {
			if (rc != MP_ETRUNCATED) {
				all_trunc = false;
				diag("cut at %zu: %s", k, mp_strerror(rc));
			}
			if (e == r.n && r.n == full.n)
				no_end = false;
		} else if (rc != MP_OK || e != full.n) {
			all_trunc = false;
			diag("cut at %zu (after the close): %s", k, mp_strerror(rc));
		}
		for (size_t i = 0; i < r.n; i++) {
			const struct rpart *p = &r.parts[i], *f = &full.parts[i];

			if (!meta_same(&p->meta, &f->meta))
				ended_ok = false;
			if (p->ended && (p->data.len != f->data.len ||
					 memcmp(p->data.p, f->data.p, f->data.len) != 0))
				ended_ok = false;
			if (!p->ended && (i + 1 != r.n || p->data.len > f->data.len ||
					  memcmp(p->data.p, f->data.p, p->data.len) != 0))
				cut_ok = false;
		}
		if (e < last_ended || r.bad)
			mono = false;
		last_ended = e;
		memset(&s, 0, sizeof(s));
		if (run(&s, B, form, k, &one, 1) != rc || !rec_same(&r, &s))
			bytewise = false;
		rec_free(&s);
		rec_free(&r);
	}
	ok(all_trunc, "a body cut at any offset before the close is MP_ETRUNCATED");
	ok(no_end, "  the last part is never ended when the close is missing");
	ok(ended_ok, "  every ended part has its full data and headers");
	ok(cut_ok, "  only the last part is open, and its data is a prefix of the full data");
	ok(mono, "  ended parts only grow with the cut, callbacks in order");
	ok(bytewise, "  the same fed byte by byte");

	/* exactly where a part ends: with the CRLF (or "--") after the boundary */
	{
		const char *d = memmem(form, n, "\r\n--" B "\r\n", 12);
		size_t at = (size_t)(d - form);

		parse1(&r, form, at + 10);
		ok(r.n == 1 && !r.parts[0].ended, "cut after \"CRLF--boundary\": part not ended");
		rec_free(&r);
		parse1(&r, form, at + 11);
		ok(r.n == 1 && !r.parts[0].ended, "cut after \"CRLF--boundary CR\": part not ended");
		rec_free(&r);
		parse1(&r, form, at + 12);
		ok(r.n == 1 && r.parts[0].ended, "cut after \"CRLF--boundary CRLF\": part ended");
		rec_free(&r);
		is_int(parse1(&r, form, close_end - 1), MP_ETRUNCATED,
		       "cut before the last '-' of the close: MP_ETRUNCATED");
		ok(r.n == 4 && !r.parts[3].ended, "  last part not ended");
		rec_free(&r);
	}
	rec_free(&full);
}

/* ---- preamble, epilogue, padding ---- */

static void test_preamble_epilogue(void)
{
	static const char pre[] = "This is the preamble.\r\n--AaB03y\r\n-- " B "\r\n--"
		"\r\n--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "--";
	static const char crlf_first[] = "\r\n--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "--";
	static const char epi[] = "--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "--\r\n"
		"This is the epilogue.\r\n--" B "\r\n" CD "name=b\r\n\r\nB\r\n--" B "x--\r\n\0\xff";
	struct rec r;
	mp_parser_t mp;

	is_int(parse_all_ways(&r, B, L(pre), "preamble with look-alikes"), MP_OK,
	       "a preamble with look-alikes is skipped");
	part_is(&r, 0, L("a"), L(""), false, L(""), L("A"));
	rec_free(&r);
	is_int(parse1(&r, L(crlf_first)), MP_OK, "a body starting with CRLF--boundary");
	is_int(r.n, 1, "  one part");
	rec_free(&r);
	is_int(parse_all_ways(&r, B, L(epi), "epilogue"), MP_OK, "the epilogue is ignored");
	is_int(r.n, 1, "  one part only (the epilogue's is not parsed)");
	part_is(&r, 0, L("a"), L(""), false, L(""), L("A"));
	rec_free(&r);

	expect_rc(L("preamble\r\n--" B "X\r\n" CD "name=a\r\n\r\nA\r\n--" B "--"), MP_ESYNTAX,
		  "a delimiter in the preamble followed by a byte");
	expect_rc(L("preamble--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "--"), MP_OK,
		  "--boundary not at the start of a line is preamble (up to the close)");
	is_int(parse1(&r, L("preamble--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "--")), MP_OK,
	       "  so that body has no parts");
	is_int(r.n, 0, "  0 parts");
	rec_free(&r);

	memset(&r, 0, sizeof(r));
	mp_init(&mp, L(B), &cbs, &r);
	is_int(mp_feed(&mp, L("--" B "--")), MP_OK, "feed a close delimiter");
	ok(mp_done(&mp), "  mp_done");
	is_int(mp_feed(&mp, L("anything\r\n--" B "\r\n")), MP_OK, "  more bytes are epilogue");
	is_int(mp_feed(&mp, NULL, 0), MP_OK, "  an empty feed is fine");
	is_int(mp_finish(&mp), MP_OK, "  mp_finish: MP_OK");
	is_int(mp_finish(&mp), MP_OK, "  twice");
	rec_free(&r);

	mp_init(&mp, L(B), NULL, NULL);
	is_int(mp_feed(&mp, NULL, 0), MP_OK, "an empty first feed");
	ok(!mp_done(&mp), "  not done");
	is_int(mp_finish(&mp), MP_ETRUNCATED, "  mp_finish: MP_ETRUNCATED");
	is_int(mp_finish(&mp), MP_ETRUNCATED, "  sticky");
	is_int(mp_feed(&mp, L("--" B "--")), MP_ETRUNCATED, "  feeding after it fails too");
}

static void test_padding(void)
{
	struct rec r;

	is_int(parse_all_ways(&r, B, L("--" B " \t \r\n" CD "name=a\r\n\r\nA\r\n--" B
				       "\t\r\n" CD "name=b\r\n\r\nB\r\n--" B "--  \r\n"),
			      "transport padding"),
	       MP_OK, "transport padding after delimiters");
	is_int(r.n, 2, "  two parts");
	rec_free(&r);
	expect_rc(L("--" B "  --"), MP_ESYNTAX, "padding before the close \"--\"");
	expect_rc(L("--" B "X\r\n"), MP_ESYNTAX, "a byte after the first boundary");
	expect_rc(L("--" B "\rX"), MP_ESYNTAX, "CR without LF after a boundary");
	expect_rc(L("--" B "\n" CD "name=a\r\n\r\nA\r\n--" B "--"), MP_ESYNTAX,
		  "a bare LF after a boundary");
	expect_rc(L("--" B "-X"), MP_ESYNTAX, "a single '-' after a boundary");
	expect_rc(L("--" B " x\r\n"), MP_ESYNTAX, "a byte after padding");
	expect_rc(L("--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "-"), MP_ETRUNCATED,
		  "a body ending in one '-' of the close");
	expect_rc(L("--" B "\r\n" CD "name=a\r\n\r\nA\r\n--" B "   "), MP_ETRUNCATED,
		  "a body ending in padding");
}

/* ---- binary data ---- */

static void test_binary(void)
{
	buf_t data = BUF_INIT, body = BUF_INIT;
	struct rec r, s;
	bool same = true;

	for (int rep = 0; rep < 4; rep++)
		for (int c = 0; c < 256; c++)
			buf_addc(&data, (char)c);
	for (int i = 0; i < 65536; i++) {
		uint64_t x = rng();

		/* many CR, LF and '-' among random bytes */
		buf_addc(&data, (char)(x % 4 == 0 ? "\r\n-A"[(x >> 8) % 4] : (char)(x >> 16)));
	}
	buf_adds(&body, "--" B "\r\n" CD "name=bin; filename=\"b.bin\"\r\n\r\n");
	buf_add(&body, data.p, data.len);
	buf_adds(&body, "\r\n--" B "--");
	ok(memmem(data.p, data.len, "\r\n--" B, 10) == NULL, "random data holds no delimiter");
	is_int(parse1(&r, body.p, body.len), MP_OK, "binary data with NULs, CRs, LFs parses");
	if (is_int(r.n, 1, "  one part"))
		is_mem(r.parts[0].data.p, r.parts[0].data.len, data.p, data.len,
		       "  data intact (%zu bytes)", data.len);
	for (int t = 0; t < 100 && same; t++) {
		size_t rs[8];

		for (size_t i = 0; i < 8; i++)
			rs[i] = 1 + rng() % (t % 2 ? 13 : 9000);
		memset(&s, 0, sizeof(s));
		same = run(&s, B, body.p, body.len, rs, 8) == MP_OK && rec_same(&r, &s);
		rec_free(&s);
	}
	ok(same, "  the same with 100 random chunkings");
	rec_free(&r);
	buf_free(&data);
	buf_free(&body);
}

/* Data of every length up to 200 made of delimiter bytes (CR, LF, '-',
 * the boundary's first and last byte), for boundaries of several lengths:
 * the delimiter after it sits at every offset of the 16-byte blocks the
 * search works in, and near misses abound. */
static void test_alignment(void)
{
	static const size_t blens[] = { 1, 2, 11, 15, 16, 17, 31, 69, 70 };

	for (size_t bi = 0; bi < sizeof(blens) / sizeof(blens[0]); bi++) {
		char bnd[MP_BOUNDARY_MAX + 1], delim[MP_BOUNDARY_MAX + 5];
		size_t bl = blens[bi], runs = 0;
		bool good = true;
		buf_t data, body;

		buf_init(&data);	/* data.p is never NULL, even when empty */
		buf_init(&body);
		for (size_t i = 0; i < bl; i++)
			bnd[i] = "AaB03x-_"[i % 8];
		bnd[bl] = '\0';
		snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
		for (size_t len = 0; len <= 200 && good; len++) {
			for (int t = 0; t < 8 && good; t++) {
				const char pool[] = { '\r', '\n', '-', bnd[0], bnd[bl - 1], 'z' };
				struct rec r;
				size_t rs[4];

				buf_reset(&data);
				for (size_t i = 0; i < len; i++) {
					/* sometimes a whole near miss: the delimiter less one byte */
					if (rng() % 16 == 0 && i + bl + 4 <= len) {
						buf_add(&data, delim, bl + 4);
						data.p[data.len - 1 - rng() % (bl + 3)] = 'z';
						i += bl + 3;
						continue;
					}
					buf_addc(&data, pool[rng() % sizeof(pool)]);
				}
				if (memmem(data.p, data.len, delim, bl + 4) != NULL ||
				    (data.len >= bl + 2 && memcmp(data.p, delim + 2, bl + 2) == 0))
					continue;
				buf_reset(&body);
				buf_addf(&body, "--%s\r\n" CD "name=a\r\n\r\n", bnd);
				buf_add(&body, data.p, data.len);
				buf_addf(&body, "\r\n--%s--", bnd);
				for (size_t i = 0; i < 4; i++)
					rs[i] = 1 + rng() % (t < 4 ? body.len : 20);
				memset(&r, 0, sizeof(r));
				good = run(&r, bnd, body.p, body.len, t ? rs : NULL, t ? 4 : 0) == MP_OK &&
				       r.n == 1 && r.parts[0].data.len == data.len &&
				       memcmp(r.parts[0].data.p, data.p, data.len) == 0 && !r.bad;
				if (!good)
					tap_dump("data", data.p, data.len);
				rec_free(&r);
				runs++;
			}
		}
		ok(good, "boundary of %zu bytes: data of 0-200 delimiter bytes intact (%zu runs)", bl,
		   runs);
		buf_free(&data);
		buf_free(&body);
	}
}

/* Random mutations of a valid body: every chunking agrees with one chunk. */
static void test_mutations(void)
{
	bool same = true, sane = true;
	char *m = malloc(sizeof(form));
	struct rec r, s;

	for (int t = 0; t < 3000 && same && sane; t++) {
		size_t n = sizeof(form) - 1, rs[8];
		int rc;

		memcpy(m, form, n);
		for (int k = 0; k < 1 + (int)(rng() % 4) && n > 0; k++) {
			size_t at = rng() % n;

			switch (rng() % 4) {
			case 0:
				m[at] = (char)rng();
				break;
			case 1:
				m[at] = "\r\n-\" ;=\\"[rng() % 8];
				break;
			case 2:
				n = at;
				break;
			default:
				memmove(m + at, m + at + 1, n - at - 1);
				n--;
				break;
			}
		}
		for (size_t i = 0; i < 8; i++)
			rs[i] = 1 + rng() % 40;
		rc = parse1(&r, m, n);
		memset(&s, 0, sizeof(s));
		same = run(&s, B, m, n, rs, 8) == rc && rec_same(&r, &s);
		sane = r.bad == 0 && rc <= 0 && rc >= MP_ETOO_MANY_PARTS && rc != MP_EBOUNDARY &&
		       rc != MP_EABORTED && rec_ended(&r) + 1 >= r.n;
		if (!same || !sane)
			tap_dump("mutated body", m, n);
		rec_free(&r);
		rec_free(&s);
	}
	ok(same, "3000 random mutations of a form: chunking never changes the result");
	ok(sane, "  and callbacks always come in order");
	free(m);
}

/* ---- callbacks ---- */

static void abort_case(char kind, int nth, size_t want_parts, size_t want_ended,
		       const char *what)
{
	struct rec r;
	size_t sz[2] = { 50, 7 };
	int rc;

	memset(&r, 0, sizeof(r));
	r.abort_kind = kind;
	r.abort_n = nth;
	rc = run(&r, B, form, sizeof(form) - 1, sz, 2);
	is_int(rc, MP_EABORTED, "callback abort: %s -> MP_EABORTED", what);
	ok(r.n == want_parts && rec_ended(&r) == want_ended && r.after_abort == 0 && !r.bad,
	   "  no callback after the abort, %zu parts begun, %zu ended", want_parts, want_ended);
	rec_free(&r);
}

static int begin_only(void *ctx, const mp_part_t *p)
{
	(*(int *)ctx)++;
	(void)p;
	return 0;
}

static void test_callbacks(void)
{
	mp_parser_t mp;
	mp_callbacks_t some = { begin_only, NULL, NULL };
	int count = 0;

	abort_case('b', 1, 1, 0, "first part_begin");
	abort_case('b', 3, 3, 2, "third part_begin");
	abort_case('d', 1, 1, 0, "first part_data");
	abort_case('e', 1, 1, 1, "first part_end");
	abort_case('e', 4, 4, 4, "the last part_end (at the close)");
	{
		/* the second data call hands back a held "\r\n-" that was not a delimiter */
		static const char body[] = "--" B "\r\n" CD "name=a\r\n\r\nxy\r\n-z\r\n--" B "--";
		size_t sz[2] = { sizeof(body) - 1 - 13, 100 };
		struct rec r;

		memset(&r, 0, sizeof(r));
		r.abort_kind = 'd';
		r.abort_n = 2;
		is_int(run(&r, B, L(body), sz, 2), MP_EABORTED,
		       "callback abort on data given back from a held delimiter prefix");
		ok(r.n == 1 && r.parts[0].data.len == 5 && memcmp(r.parts[0].data.p, "xy\r\n-", 5) == 0 &&
		   r.after_abort == 0, "  \"xy\" then \"\\r\\n-\" were handed out, nothing after");
		rec_free(&r);
	}

	is_int(mp_init(&mp, L(B), NULL, NULL), MP_OK, "no callbacks at all");
	is_int(mp_feed(&mp, form, sizeof(form) - 1), MP_OK, "  the form parses");
	is_int(mp_finish(&mp), MP_OK, "  to the end");
	mp_init(&mp, L(B), &some, &count);
	is_int(mp_feed(&mp, form, sizeof(form) - 1), MP_OK, "only part_begin set");
	is_int(count, 4, "  called 4 times with ctx");
}

static void test_sticky(void)
{
	mp_parser_t mp;

	mp_init(&mp, L(B), NULL, NULL);
	is_int(mp_feed(&mp, L("--" B "\r\nbad header\r\n")), MP_ESYNTAX, "a syntax error");
	is_int(mp_feed(&mp, form, sizeof(form) - 1), MP_ESYNTAX, "  sticky in mp_feed");
	is_int(mp_finish(&mp), MP_ESYNTAX, "  and in mp_finish");
	ok(!mp_done(&mp), "  not done");
	is_int(mp_init(&mp, L(B), NULL, NULL), MP_OK, "mp_init resets the parser");
	is_int(mp_feed(&mp, form, sizeof(form) - 1), MP_OK, "  and it parses again");
	ok(mp_done(&mp), "  to the end");
}

static void test_many_parts(void)
{
	buf_t b = BUF_INIT;
	struct rec r;

	for (int i = 0; i < MP_MAX_PARTS; i++)
		buf_addf(&b, "--" B "\r\n" CD "name=f%d\r\n\r\n%d\r\n", i, i);
	buf_adds(&b, "--" B "--");
	is_int(parse1(&r, b.p, b.len), MP_OK, "MP_MAX_PARTS parts parse");
	ok(r.n == MP_MAX_PARTS && rec_ended(&r) == MP_MAX_PARTS, "  all begun and ended");
	ok(r.n == MP_MAX_PARTS && r.parts[999].data.len == 3 &&
	   memcmp(r.parts[999].data.p, "999", 3) == 0 && r.parts[999].meta.name_len == 4,
	   "  the last one intact");
	rec_free(&r);
	b.len -= 4;	/* drop "--" B "--" ... */
	b.len -= sizeof(B) - 1;
	buf_adds(&b, "--" B "\r\n" CD "name=one-too-many\r\n\r\nx\r\n--" B "--");
	is_int(parse1(&r, b.p, b.len), MP_ETOO_MANY_PARTS, "MP_MAX_PARTS + 1 parts");
	ok(r.n == MP_MAX_PARTS && rec_ended(&r) == MP_MAX_PARTS,
	   "  the first MP_MAX_PARTS parts were delivered and ended");
	rec_free(&r);
	buf_free(&b);
}

static void test_strerror(void)
{
	static const int errs[] = { MP_OK, MP_EBOUNDARY, MP_ESYNTAX, MP_EHEADER_TOO_LARGE,
				    MP_ETRUNCATED, MP_EABORTED, MP_ETOO_MANY_PARTS };
	bool distinct = true;

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(mp_strerror(errs[i]), mp_strerror(errs[j])) == 0)
				distinct = false;
	ok(distinct, "mp_strerror: a distinct message per code");
	is_str(mp_strerror(-99), "unknown multipart error", "mp_strerror: unknown code");
	is_str(mp_strerror(MP_ETRUNCATED), "multipart body truncated", "mp_strerror: truncated");
}

/* ---- throughput ---- */

static uint64_t sink_bytes;

static int sink_data(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	sink_bytes += n;
	return 0;
}

static void test_throughput(void)
{
	enum { CHUNK = 256 * 1024, TOTAL = 256 * 1024 * 1024 };
	static const char bnd[] = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
	static const char head[] = "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
		CD "name=\"file\"; filename=\"big.bin\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n";
	static const char tail[] = "\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n";
	mp_callbacks_t cb = { NULL, sink_data, NULL };
	char *chunk = malloc(CHUNK);
	struct timespec t0, t1;
	mp_parser_t mp;
	int rc;
	double s;

	for (size_t i = 0; i < CHUNK; i += 8) {
		uint64_t x = rng();

		memcpy(chunk + i, &x, 8);
	}
	sink_bytes = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = mp_init(&mp, bnd, strlen(bnd), &cb, NULL);
	if (rc == MP_OK)
		rc = mp_feed(&mp, head, sizeof(head) - 1);
	for (size_t done = 0; rc == MP_OK && done < TOTAL; done += CHUNK)
		rc = mp_feed(&mp, chunk, CHUNK);
	if (rc == MP_OK)
		rc = mp_feed(&mp, tail, sizeof(tail) - 1);
	if (rc == MP_OK)
		rc = mp_finish(&mp);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	is_int(rc, MP_OK, "throughput: 256 MiB of random data in 256 KiB chunks parses");
	is_int(sink_bytes, TOTAL, "  every byte delivered");
	diag("throughput: %.0f MB/s (256 MiB random data, 256 KiB chunks, %.3f s)",
	     (double)TOTAL / 1e6 / s, s);
	free(chunk);
}

int main(void)
{
	test_boundary();
	test_init();
	test_single();
	test_form();
	test_lookalikes();
	test_chunk_edges();
	test_empty();
	test_headers();
	test_header_limit();
	test_truncation();
	test_preamble_epilogue();
	test_padding();
	test_binary();
	test_alignment();
	test_mutations();
	test_callbacks();
	test_sticky();
	test_many_parts();
	test_strerror();
	test_throughput();
	return done_testing();
}
