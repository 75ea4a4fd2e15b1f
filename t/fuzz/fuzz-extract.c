/*
 * fuzz-extract: extract_image_size and the incremental text extractor.
 * Byte 0 picks the text cap (bits 0-3) and the chunking (bits 4-6); the
 * rest is the input, for both.
 * Image: the input in an exactly-sized buffer; the result is 0 or -1; a
 * success names one of the four formats with 1 <= width, height <= that
 * format's limit (WebP: width * height < 2^32) and is unchanged by bytes
 * appended after the input and by any cut that still succeeds (the result
 * depends only on the bytes read).
 * Text: the output buffer is exactly cap bytes; the output is valid UTF-8
 * with no NUL and no C0 control but tab, LF and CR, at most cap bytes, the
 * same for one feed, byte-by-byte feeds and the chosen chunking (empty feeds
 * included), and equal to a reference that maps the whole input at once per
 * Unicode Table 3-7 and then cuts at the last character boundary <= cap.
 * Metadata: extract_metadata gives 0 or JSON that parses to an object of
 * "image" (exactly extract_image_size's answer, present when it succeeds)
 * and "description" (present when mime_describe gives one: a string of
 * 1-MIME_DESCRIBE_MAX bytes of UTF-8 without controls), and -1 only when
 * the buffer is too small.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extract.h"
#include "mime.h"
#include "text.h"
#include "fuzz.h"

static int parse(const unsigned char *p, size_t n, extract_image_t *out)
{
	unsigned char *in = (unsigned char *)dup_exact(p, n);
	int rc = extract_image_size(in, n, out);

	free(in);
	return rc;
}

static void check_image(const unsigned char *p, size_t n)
{
	extract_image_t a = { NULL, 0, 0 }, b;
	unsigned char *more;
	uint32_t max = 0;
	int rc = parse(p, n, &a);

	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		CHECK(a.format == NULL);
		return;
	}
	CHECK(a.format != NULL);
	if (strcmp(a.format, "png") == 0)
		max = EXTRACT_PNG_MAX;
	else if (strcmp(a.format, "gif") == 0)
		max = EXTRACT_GIF_MAX;
	else if (strcmp(a.format, "jpeg") == 0)
		max = EXTRACT_JPEG_MAX;
	else if (strcmp(a.format, "webp") == 0)
		max = EXTRACT_VP8X_MAX;
	else
		CHECK(!"unknown format");
	CHECK(a.width >= 1 && a.height >= 1 && a.width <= max && a.height <= max);
	if (strcmp(a.format, "webp") == 0)
		CHECK((uint64_t)a.width * a.height <= 0xFFFFFFFFu);

	/* bytes after the header change nothing */
	more = malloc(n + 7);
	if (more == NULL)
		abort();
	memcpy(more, p, n);
	memcpy(more + n, "\xFF\xD8\xFF\0RIF", 7);
	CHECK(parse(more, n + 7, &b) == 0);
	CHECK(b.format == a.format && b.width == a.width && b.height == a.height);
	free(more);
	/* a shorter input that still succeeds gives the same answer */
	for (size_t k = n / 2; k < n; k += (n - k + 1) / 2) {
		if (parse(p, k, &b) == 0)
			CHECK(b.format == a.format && b.width == a.width && b.height == a.height);
	}
}

/* Length of the well-formed sequence at p[0..n) (Unicode Table 3-7), or 0. */
static size_t ref_seq(const unsigned char *p, size_t n)
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
	if (c == 0xE0) lo = 0xA0;
	if (c == 0xED) hi = 0x9F;
	if (c == 0xF0) lo = 0x90;
	if (c == 0xF4) hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return len;
}

/* The whole input mapped at once, then cut at a character boundary. */
static size_t ref_text(const unsigned char *p, size_t n, size_t cap, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t l = ref_seq(p + i, n - i);

		if (l == 0 || (l == 1 && p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
			       p[i] != '\r')) {
			if (o + 1 > cap)
				break;
			out[o++] = ' ';
			i++;
			continue;
		}
		if (o + l > cap)
			break;
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	return o;
}

/* Feed p[0..n) in pieces whose sizes come from mode; seed for the random one. */
static size_t run_text(const unsigned char *p, size_t n, size_t cap, unsigned mode, char *out)
{
	extract_text_t t;
	size_t i = 0, step = 0;
	uint32_t s = 2463534242u ^ (uint32_t)n;

	extract_text_init(&t, out, cap);
	while (i < n) {
		size_t k;

		switch (mode) {
		case 0: k = n; break;
		case 1: k = 1; break;
		case 2: k = 2; break;
		case 3: k = 3; break;
		case 4: k = 5; break;
		case 5: k = 64; break;
		case 6:	/* xorshift: 0-7 bytes, empty feeds included */
			s ^= s << 13; s ^= s >> 17; s ^= s << 5;
			k = s % 8;
			break;
		default:	/* sizes taken from the data, 0-8, not 0 three times running */
			k = p[step % n] % 9;
			if (k == 0 && ++step % 3 == 0)
				k = 1;
			break;
		}
		if (k > n - i)
			k = n - i;
		{
			unsigned char *piece = (unsigned char *)dup_exact(p + i, k);

			extract_text_feed(&t, piece, k);
			free(piece);
		}
		i += k;
		CHECK(t.len <= cap);
	}
	return extract_text_done(&t);
}

/* Exactly cap bytes; the EXTRACT_TEXT_CAP ones are made once (a fresh
 * MiB per run is slow under ASan) and never freed. */
static char *out_buf(size_t cap, int which)
{
	static char *big[3];
	char *p;

	if (cap == EXTRACT_TEXT_CAP && big[which] != NULL)
		return big[which];
	if ((p = malloc(cap ? cap : 1)) == NULL)
		abort();
	if (cap == EXTRACT_TEXT_CAP)
		big[which] = p;
	return p;
}

static void out_free(char *p, size_t cap)
{
	if (cap != EXTRACT_TEXT_CAP)
		free(p);
}

static void check_text(const unsigned char *p, size_t n, size_t cap, unsigned mode)
{
	char *a = out_buf(cap, 0), *b = out_buf(cap, 1), *r = out_buf(cap, 2);
	size_t la, lb, lr;
	la = run_text(p, n, cap, 0, a);
	lb = run_text(p, n, cap, mode, b);
	lr = ref_text(p, n, cap, r);
	CHECK(la <= cap && la <= n);
	CHECK(text_utf8_valid(a, la));
	for (size_t k = 0; k < la; k++) {
		unsigned char c = (unsigned char)a[k];

		CHECK(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
	}
	CHECK(la == lb && memcmp(a, b, la) == 0);
	CHECK(la == lr && memcmp(a, r, la) == 0);
	if (mode != 1) {
		lb = run_text(p, n, cap, 1, b);
		CHECK(la == lb && memcmp(a, b, la) == 0);
	}
	out_free(r, cap);
	out_free(b, cap);
	out_free(a, cap);
}

static void check_metadata(const unsigned char *p, size_t n)
{
	unsigned char *in = (unsigned char *)dup_exact(p, n);
	char out[EXTRACT_METADATA_MAX], desc[MIME_DESCRIBE_MAX + 1], small[8];
	extract_image_t img;
	bool has_img = extract_image_size(in, n, &img) == 0;
	bool has_desc = mime_describe(in, n, desc, sizeof(desc)) > 0;
	int rc = extract_metadata(in, n, out, sizeof(out));
	json_object *o, *v, *f;

	CHECK(rc >= 0 && (size_t)rc < sizeof(out) && strlen(out) == (size_t)rc);
	CHECK((rc == 0) == (!has_img && !has_desc));
	if (rc > 0) {
		CHECK(extract_metadata(in, n, small, sizeof(small)) == -1);
		o = json_tokener_parse(out);
		CHECK(o != NULL && json_object_is_type(o, json_type_object));
		CHECK(json_object_object_length(o) == (int)has_img + (int)has_desc);
		if (has_img) {
			CHECK(json_object_object_get_ex(o, "image", &v));
			CHECK(json_object_object_get_ex(v, "format", &f) &&
			      strcmp(json_object_get_string(f), img.format) == 0);
			CHECK(json_object_object_get_ex(v, "width", &f) &&
			      json_object_get_int64(f) == (int64_t)img.width);
			CHECK(json_object_object_get_ex(v, "height", &f) &&
			      json_object_get_int64(f) == (int64_t)img.height);
		}
		if (has_desc) {
			const char *d;
			size_t dl;

			CHECK(json_object_object_get_ex(o, "description", &v) &&
			      json_object_is_type(v, json_type_string));
			d = json_object_get_string(v);
			dl = (size_t)json_object_get_string_len(v);
			CHECK(dl >= 1 && dl <= MIME_DESCRIBE_MAX && strcmp(d, desc) == 0);
			CHECK(text_utf8_valid(d, dl));
			for (size_t k = 0; k < dl; k++)
				CHECK((unsigned char)d[k] >= 0x20 && d[k] != 0x7f);
		}
		json_object_put(o);
	}
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[16] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 16, 31, 64, 255, 4096, EXTRACT_TEXT_CAP
	};

	if (size < 1)
		return 0;
	check_image(data + 1, size - 1);
	check_metadata(data + 1, size - 1);
	check_text(data + 1, size - 1, caps[data[0] & 15], (data[0] >> 4) & 7);
	return 0;
}
