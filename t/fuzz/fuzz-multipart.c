/*
 * fuzz-multipart: the streaming multipart/form-data parser and mp_boundary.
 * Byte 0 of the input picks a chunking pattern (bits 0-2) and a boundary
 * (bits 3-4); the rest is the body. Invariants: fed in those chunks the body
 * gives the same code, parts and data as fed in one piece; data handed out
 * lies in the chunk being fed or in the parser (a held delimiter prefix) and
 * totals at most the body's length; part_end never exceeds part_begin nor
 * comes twice; strings fit their arrays and are terminated; a code is one of
 * those documented, sticky, and MP_OK exactly when mp_done; a callback that
 * aborts stops the parse with MP_EABORTED and nothing after it; the body
 * wrapped as the data of a well-formed one-file form comes back unchanged
 * (when it holds no delimiter). mp_boundary, run on the whole input, only
 * accepts multipart/form-data with a valid boundary that mp_init takes and
 * that reads back the same when quoted. Inputs sit in exactly-sized heap
 * buffers without a terminator.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"
#include "fuzz.h"

static const char *const boundaries[] = {
	"b", "AaB03x", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "x y",
};

struct sum {
	uint64_t hash;			/* FNV-1a over events and data bytes */
	size_t begins, ends, bytes;
	bool abort_first;		/* the first callback returns -1 */
	bool aborted;
	const char *chunk;		/* data must lie in the chunk ... */
	size_t chunklen;
	const mp_parser_t *mp;		/* ... or in the parser */
	const char *expect;		/* when set, the data must equal it */
	size_t expect_len;
};

static void mix(struct sum *s, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ b[i]) * 0x100000001b3ULL;
}

static int callback_done(struct sum *s)
{
	CHECK(!s->aborted);
	if (s->abort_first) {
		s->aborted = true;
		return -1;
	}
	return 0;
}

static int on_begin(void *ctx, const mp_part_t *p)
{
	struct sum *s = ctx;
	uint64_t tag = 0xB0B0B0B0B0B0B0B0ULL;

	CHECK(s->begins == s->ends);
	CHECK(p->name_len < sizeof(p->name) && p->name[p->name_len] == '\0');
	CHECK(p->filename_len < sizeof(p->filename) && p->filename[p->filename_len] == '\0');
	CHECK(p->content_type_len < sizeof(p->content_type) &&
	      p->content_type[p->content_type_len] == '\0');
	CHECK(p->has_filename || p->filename_len == 0);
	s->begins++;
	mix(s, &tag, sizeof(tag));
	mix(s, &p->name_len, sizeof(p->name_len));
	mix(s, p->name, p->name_len);
	mix(s, &p->filename_len, sizeof(p->filename_len));
	mix(s, p->filename, p->filename_len);
	mix(s, &p->has_filename, sizeof(p->has_filename));
	mix(s, &p->content_type_len, sizeof(p->content_type_len));
	mix(s, p->content_type, p->content_type_len);
	return callback_done(s);
}

static int on_data(void *ctx, const char *p, size_t n)
{
	struct sum *s = ctx;
	const char *m = (const char *)s->mp;

	CHECK(n > 0 && s->begins == s->ends + 1);
	CHECK((p >= s->chunk && p + n <= s->chunk + s->chunklen) ||
	      (p >= m && p + n <= m + sizeof(*s->mp)));
	if (s->expect) {
		CHECK(n <= s->expect_len - s->bytes);
		CHECK(memcmp(p, s->expect + s->bytes, n) == 0);
	}
	s->bytes += n;
	mix(s, p, n);
	return callback_done(s);
}

static int on_end(void *ctx)
{
	struct sum *s = ctx;
	uint64_t tag = 0xE0E0E0E0E0E0E0E0ULL;

	CHECK(s->begins == s->ends + 1);
	s->ends++;
	mix(s, &tag, sizeof(tag));
	return callback_done(s);
}

static const mp_callbacks_t cbs = { on_begin, on_data, on_end };

/* The size of chunk k for pattern pat (0: everything at once). */
static size_t chunk_size(unsigned pat, size_t k, const char *p, size_t n, uint64_t *rng)
{
	switch (pat) {
	case 0: return n;
	case 1: return 1;
	case 2: return 2;
	case 3: return 3;
	case 4: return 7;
	case 5: return 64;
	case 6:
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		return 1 + *rng % 16;
	default: return n ? 1 + (unsigned char)p[k % n] % 32 : 1;
	}
}

/* Parse p[0..n) in chunks of pattern pat, each an exact heap copy; an empty
 * feed goes between chunks when pattern 7 is used. */
static int run(struct sum *s, const char *bnd, const char *p, size_t n, unsigned pat)
{
	mp_parser_t mp;
	uint64_t rng = 0x9E3779B97F4A7C15ULL ^ n;
	size_t off = 0, k = 0;
	int rc = mp_init(&mp, bnd, strlen(bnd), &cbs, s);

	CHECK(rc == MP_OK);
	s->hash = 0xcbf29ce484222325ULL;
	s->mp = &mp;
	while (rc == MP_OK && off < n) {
		size_t c = chunk_size(pat, k++, p, n, &rng);
		char *ch;

		if (c > n - off)
			c = n - off;
		ch = dup_exact(p + off, c);
		s->chunk = ch;
		s->chunklen = c;
		rc = mp_feed(&mp, ch, c);
		free(ch);
		off += c;
		if (rc == MP_OK && pat == 7)
			rc = mp_feed(&mp, NULL, 0);
	}
	s->chunk = NULL;
	if (rc == MP_OK) {
		rc = mp_finish(&mp);
	} else {
		/* sticky */
		CHECK(mp_feed(&mp, "--", 2) == rc);
		CHECK(mp_finish(&mp) == rc);
	}
	CHECK(mp_done(&mp) == (rc == MP_OK));
	CHECK(mp_finish(&mp) == rc);
	CHECK(rc == MP_OK || rc == MP_ESYNTAX || rc == MP_EHEADER_TOO_LARGE ||
	      rc == MP_ETRUNCATED || rc == MP_ETOO_MANY_PARTS || (rc == MP_EABORTED && s->aborted));
	CHECK(s->bytes <= n);
	CHECK(s->ends <= s->begins && s->begins <= s->ends + 1 && s->begins <= MP_MAX_PARTS);
	if (rc == MP_OK)
		CHECK(s->begins == s->ends);
	return rc;
}

static char *put(char *w, const char *p, size_t n)
{
	if (n)
		memcpy(w, p, n);
	return w + n;
}

/* The input as the data of a well-formed one-file form comes back as is. */
static void check_wrapped(const char *bnd, const char *d, size_t n)
{
	static const char head[] = "\r\nContent-Disposition: form-data; name=\"f\"; "
				   "filename=\"x.bin\"\r\nContent-Type: application/octet-stream"
				   "\r\n\r\n";
	size_t bl = strlen(bnd), hl = sizeof(head) - 1;
	size_t len = 2 + bl + hl + n + 4 + bl + 4;
	char *body = malloc(len), *w = body;
	char delim[MP_BOUNDARY_MAX + 4];
	struct sum s;
	int rc;

	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, bnd, bl);
	/* the data must hold no delimiter (nor start with "--boundary") */
	if (memmem(d, n, delim, bl + 4) != NULL || (n >= bl + 2 && memcmp(d, delim + 2, bl + 2) == 0)) {
		free(body);
		return;
	}
	w = put(w, "--", 2);
	w = put(w, bnd, bl);
	w = put(w, head, hl);
	w = put(w, d, n);
	w = put(w, delim, bl + 4);
	w = put(w, "--\r\n", 4);
	CHECK((size_t)(w - body) == len);
	memset(&s, 0, sizeof(s));
	s.expect = d;
	s.expect_len = n;
	rc = run(&s, bnd, body, len, (unsigned)n % 8);
	CHECK(rc == MP_OK && s.begins == 1 && s.ends == 1 && s.bytes == n);
	free(body);
}

static bool is_bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

static void check_boundary(const char *p, size_t n)
{
	char out[MP_BOUNDARY_MAX + 1], again[MP_BOUNDARY_MAX + 1], ct[128];
	size_t ol = 0, al = 0, i = 0;
	mp_parser_t mp;
	int l;

	if (mp_boundary(p, n, out, &ol) != 0)
		return;
	CHECK(ol >= 1 && ol <= MP_BOUNDARY_MAX && out[ol] == '\0' && out[ol - 1] != ' ');
	for (size_t k = 0; k < ol; k++)
		CHECK(is_bchar(out[k]));
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	CHECK(n - i >= 19 && strncasecmp(p + i, "multipart/form-data", 19) == 0);
	CHECK(mp_init(&mp, out, ol, NULL, NULL) == MP_OK);
	l = snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%s\"", out);
	CHECK(l > 0 && (size_t)l < sizeof(ct));
	CHECK(mp_boundary(ct, (size_t)l, again, &al) == 0 && al == ol &&
	      memcmp(again, out, ol + 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = dup_exact(data, size);
	const char *body = all + (size > 0), *bnd;
	size_t n = size ? size - 1 : 0;
	unsigned pat = size ? data[0] & 7 : 0;
	struct sum ref, s, ab;
	int rc;

	bnd = boundaries[size ? (data[0] >> 3) & 3 : 0];
	memset(&ref, 0, sizeof(ref));
	rc = run(&ref, bnd, body, n, 0);

	memset(&s, 0, sizeof(s));
	CHECK(run(&s, bnd, body, n, pat ? pat : 1) == rc);
	CHECK(s.hash == ref.hash && s.begins == ref.begins && s.ends == ref.ends &&
	      s.bytes == ref.bytes);

	/* the first callback aborts: MP_EABORTED if there was one */
	memset(&ab, 0, sizeof(ab));
	ab.abort_first = true;
	if (ref.begins > 0)
		CHECK(run(&ab, bnd, body, n, pat) == MP_EABORTED && ab.begins == 1 && ab.ends == 0);
	else
		CHECK(run(&ab, bnd, body, n, pat) == rc && !ab.aborted);

	check_wrapped(bnd, body, n);
	check_boundary(all, size);
	free(all);
	return 0;
}
