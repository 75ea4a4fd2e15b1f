/*
 * test-extract: extract_image_size on minimal headers built here (PNG IHDR
 * with its CRC, GIF screen, JPEG with APPn/DQT segments, fill bytes and
 * each SOFn, WebP VP8, VP8L and VP8X), each cut at every length (-1) and
 * with corrupt lengths and fields; the incremental text extractor (multi-byte
 * characters split across feeds at every position, ill-formed sequences,
 * overlongs, surrogates, controls, the cap); extract_text_wanted against
 * the types lib/mime produces; extract_metadata builds the image size and
 * libmagic's description into JSON that escapes what it must, and nothing
 * for content libmagic does not know. Inputs sit in exactly-sized heap
 * buffers.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "extract.h"
#include "mime.h"
#include "text.h"
#include "tap.h"

#define L(s) (s), (sizeof(s) - 1)

/* A byte string under construction, fixed room (headers are small). */
struct bytes {
	unsigned char p[512];
	size_t n;
};

static void add(struct bytes *b, const void *p, size_t n)
{
	if (b->n + n > sizeof(b->p))
		abort();
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void add1(struct bytes *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	add(b, &c, 1);
}

static void add_be16(struct bytes *b, unsigned v)
{
	add1(b, v >> 8);
	add1(b, v & 0xFF);
}

static void add_be32(struct bytes *b, uint32_t v)
{
	add_be16(b, v >> 16);
	add_be16(b, v & 0xFFFF);
}

static void add_le16(struct bytes *b, unsigned v)
{
	add1(b, v & 0xFF);
	add1(b, (v >> 8) & 0xFF);
}

static void add_le24(struct bytes *b, uint32_t v)
{
	add_le16(b, v & 0xFFFF);
	add1(b, v >> 16);
}

static void add_le32(struct bytes *b, uint32_t v)
{
	add_le16(b, v & 0xFFFF);
	add_le16(b, v >> 16);
}

/* Parse p[0..n) from an exactly-sized copy. */
static int parse(const unsigned char *p, size_t n, extract_image_t *out)
{
	unsigned char *in = (unsigned char *)dup_exact(p, n);
	int rc = extract_image_size(in, n, out);

	free(in);
	return rc;
}

static void img_ok(const struct bytes *b, const char *fmt, uint32_t w, uint32_t h,
		   const char *what)
{
	extract_image_t im = { NULL, 0, 0 };
	int rc = parse(b->p, b->n, &im);

	if (!ok(rc == 0 && im.format != NULL && strcmp(im.format, fmt) == 0 &&
		im.width == w && im.height == h, "%s: %s %ux%u", what, fmt, w, h))
		diag("  rc %d format %s %ux%u", rc, im.format ? im.format : "NULL",
		     im.width, im.height);
}

static void img_fail(const struct bytes *b, const char *what)
{
	extract_image_t im = { "untouched", 7, 7 };
	int rc = parse(b->p, b->n, &im);

	ok(rc == -1 && strcmp(im.format, "untouched") == 0 && im.width == 7,
	   "%s: rejected, out untouched", what);
}

/* Every proper prefix fails; bytes after the header change nothing. */
static void img_cuts(const struct bytes *b, const char *fmt, uint32_t w, uint32_t h,
		     const char *what)
{
	extract_image_t im;
	struct bytes more = *b;
	size_t bad = SIZE_MAX;

	for (size_t k = 0; k < b->n && bad == SIZE_MAX; k++)
		if (parse(b->p, k, &im) != -1)
			bad = k;
	if (!ok(bad == SIZE_MAX, "%s: every prefix of the %zu bytes is rejected", what, b->n))
		diag("  prefix of %zu bytes accepted", bad);
	add(&more, "\xFF\xD8\x00garbage", 10);
	img_ok(&more, fmt, w, h, what);
}

static void png(struct bytes *b, uint32_t w, uint32_t h, unsigned depth, unsigned color,
		unsigned interlace)
{
	size_t start;

	b->n = 0;
	add(b, "\x89PNG\r\n\x1a\n", 8);
	add_be32(b, 13);
	start = b->n;
	add(b, "IHDR", 4);
	add_be32(b, w);
	add_be32(b, h);
	add1(b, depth);
	add1(b, color);
	add1(b, 0);
	add1(b, 0);
	add1(b, interlace);
	add_be32(b, (uint32_t)crc32(0L, b->p + start, (uInt)(b->n - start)));
}

static void test_png(void)
{
	struct bytes b;

	png(&b, 640, 480, 8, 6, 0);
	img_ok(&b, "png", 640, 480, "PNG RGBA");
	img_cuts(&b, "png", 640, 480, "PNG");
	png(&b, 1, 1, 1, 0, 1);
	img_ok(&b, "png", 1, 1, "PNG 1-bit grey interlaced");
	png(&b, 0x7FFFFFFF, 3, 16, 2, 0);
	img_ok(&b, "png", 0x7FFFFFFF, 3, "PNG at the 2^31-1 limit");
	png(&b, 3, 4, 4, 3, 0);
	img_ok(&b, "png", 3, 4, "PNG palette");
	png(&b, 0x80000000u, 3, 8, 2, 0);
	img_fail(&b, "PNG width 2^31");
	png(&b, 0, 3, 8, 2, 0);
	img_fail(&b, "PNG width 0");
	png(&b, 3, 0, 8, 2, 0);
	img_fail(&b, "PNG height 0");
	png(&b, 3, 3, 16, 3, 0);
	img_fail(&b, "PNG palette of depth 16");
	png(&b, 3, 3, 0, 0, 0);
	img_fail(&b, "PNG grey of depth 0");
	png(&b, 3, 3, 3, 0, 0);
	img_fail(&b, "PNG grey of depth 3");
	png(&b, 3, 3, 16, 0, 0);
	img_ok(&b, "png", 3, 3, "PNG grey of depth 16");
	png(&b, 3, 3, 4, 6, 0);
	img_fail(&b, "PNG RGBA of depth 4");
	png(&b, 3, 3, 8, 5, 0);
	img_fail(&b, "PNG colour type 5");
	png(&b, 3, 3, 8, 2, 2);
	img_fail(&b, "PNG interlace 2");
	png(&b, 3, 3, 8, 2, 0);
	b.p[b.n - 1] ^= 1;
	img_fail(&b, "PNG bad CRC");
	png(&b, 3, 3, 8, 2, 0);
	b.p[17] ^= 1;
	img_fail(&b, "PNG width changed after the CRC");
	png(&b, 3, 3, 8, 2, 0);
	b.p[11] = 14;
	img_fail(&b, "PNG IHDR length 14");
	png(&b, 3, 3, 8, 2, 0);
	b.p[8] = 0x80;
	img_fail(&b, "PNG IHDR length 2^31 + 13");
	png(&b, 3, 3, 8, 2, 0);
	b.p[12] = 'i';
	img_fail(&b, "PNG first chunk not IHDR");
	png(&b, 3, 3, 8, 2, 0);
	b.p[1] = 'Q';
	img_fail(&b, "PNG bad signature");
}

static void gif(struct bytes *b, const char *sig, unsigned w, unsigned h)
{
	b->n = 0;
	add(b, sig, 6);
	add_le16(b, w);
	add_le16(b, h);
}

static void test_gif(void)
{
	struct bytes b;

	gif(&b, "GIF89a", 320, 200);
	img_ok(&b, "gif", 320, 200, "GIF89a");
	img_cuts(&b, "gif", 320, 200, "GIF");
	gif(&b, "GIF87a", 65535, 1);
	img_ok(&b, "gif", 65535, 1, "GIF87a 65535x1");
	add(&b, "\xF7\x00\x00", 3);	/* flags, background, aspect */
	img_ok(&b, "gif", 65535, 1, "GIF with the whole screen descriptor");
	gif(&b, "GIF88a", 3, 3);
	img_fail(&b, "GIF88a");
	gif(&b, "GIF89a", 0, 3);
	img_fail(&b, "GIF width 0");
	gif(&b, "GIF89a", 3, 0);
	img_fail(&b, "GIF height 0");
}

/* A segment: marker, length (payload + 2), payload. */
static void jseg(struct bytes *b, unsigned marker, const void *payload, size_t n)
{
	add1(b, 0xFF);
	add1(b, marker);
	add_be16(b, (unsigned)n + 2);
	add(b, payload, n);
}

static void jsof(struct bytes *b, unsigned marker, unsigned w, unsigned h, unsigned nf)
{
	add1(b, 0xFF);
	add1(b, marker);
	add_be16(b, 8 + 3 * nf);
	add1(b, 8);
	add_be16(b, h);
	add_be16(b, w);
	add1(b, nf);
	for (unsigned k = 0; k < nf; k++) {
		add1(b, k + 1);
		add1(b, 0x11);
		add1(b, 0);
	}
}

static void jpeg_start(struct bytes *b)
{
	b->n = 0;
	add(b, "\xFF\xD8", 2);
}

static void test_jpeg(void)
{
	static const char jfif[] = "JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
	/* an Exif segment whose payload looks like SOF0 and EOI: skipped by length */
	static const char exif[] = "Exif\0\0\xFF\xC0\0\x11\x08\0\x01\0\x01\x03\xFF\xD9";
	unsigned char dqt[65] = { 0 };
	struct bytes b;
	char what[64];

	jpeg_start(&b);
	jsof(&b, 0xC0, 1024, 768, 3);
	img_ok(&b, "jpeg", 1024, 768, "JPEG SOF0 right after SOI");

	jpeg_start(&b);
	jseg(&b, 0xE0, jfif, sizeof(jfif) - 1);
	jseg(&b, 0xE1, exif, sizeof(exif) - 1);
	jseg(&b, 0xDB, dqt, sizeof(dqt));
	jseg(&b, 0xFE, "a comment", 9);
	jsof(&b, 0xC2, 4000, 3000, 3);
	img_ok(&b, "jpeg", 4000, 3000, "JPEG APP0, APP1 (fake SOF inside), DQT, COM, SOF2");
	img_cuts(&b, "jpeg", 4000, 3000, "JPEG with segments");

	jpeg_start(&b);
	add(&b, "\xFF\xFF\xFF", 3);	/* fill bytes before a marker's 0xFF */
	jseg(&b, 0xE0, jfif, sizeof(jfif) - 1);
	add(&b, "\xFF\xFF", 2);
	jseg(&b, 0xC4, "\0\0\0", 3);	/* DHT, DAC and JPG are not frame headers */
	jseg(&b, 0xCC, "\0\0", 2);
	jseg(&b, 0xC8, "", 0);
	add(&b, "\xFF\xD0\xFF\x01", 4);	/* RST0 and TEM carry no length */
	add1(&b, 0xFF);
	jsof(&b, 0xC1, 1, 65535, 1);
	img_ok(&b, "jpeg", 1, 65535, "JPEG fill bytes, DHT/DAC/JPG, RST0, TEM, SOF1");
	img_cuts(&b, "jpeg", 1, 65535, "JPEG with fill bytes");

	for (unsigned m = 0xC0; m <= 0xCF; m++) {
		if (m == 0xC4 || m == 0xC8 || m == 0xCC)
			continue;
		jpeg_start(&b);
		jsof(&b, m, 17, 9, 1);
		snprintf(what, sizeof(what), "JPEG SOF marker %02X", m);
		img_ok(&b, "jpeg", 17, 9, what);
	}

	jpeg_start(&b);
	jseg(&b, 0xC4, "\0\0\0", 3);
	img_fail(&b, "JPEG DHT alone (no frame header)");
	jpeg_start(&b);
	jsof(&b, 0xC0, 0, 9, 1);
	img_fail(&b, "JPEG width 0");
	jpeg_start(&b);
	jsof(&b, 0xC0, 9, 0, 1);
	img_fail(&b, "JPEG height 0 (DNL)");
	jpeg_start(&b);
	jsof(&b, 0xC0, 9, 9, 0);
	img_fail(&b, "JPEG no components");
	jpeg_start(&b);
	jsof(&b, 0xC0, 9, 9, 3);
	b.p[5] = 8 + 3 * 2;
	img_fail(&b, "JPEG SOF length short of its components");
	jpeg_start(&b);
	jsof(&b, 0xC0, 9, 9, 1);
	b.p[5] = 12;
	add1(&b, 0);
	img_fail(&b, "JPEG SOF length past its components");
	jpeg_start(&b);
	jsof(&b, 0xC0, 9, 9, 1);
	b.p[5] = 7;
	img_fail(&b, "JPEG SOF length 7");

	jpeg_start(&b);
	add(&b, "\xFF\xE0\x00\x00", 4);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG segment length 0");
	jpeg_start(&b);
	add(&b, "\xFF\xE0\x00\x01", 4);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG segment length 1");
	jpeg_start(&b);
	add(&b, "\xFF\xE0\xFF\xFF", 4);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG segment length past the data");
	jpeg_start(&b);
	jseg(&b, 0xE0, jfif, sizeof(jfif) - 1);
	b.p[5]++;	/* one byte too long: lands on the SOF's 0xFF... */
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG segment length one too long");
	jpeg_start(&b);
	jseg(&b, 0xE0, jfif, sizeof(jfif) - 1);
	b.p[5]--;	/* ...or one short: lands on a payload byte */
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG segment length one too short");
	jpeg_start(&b);
	jseg(&b, 0xE0, jfif, sizeof(jfif) - 1);
	add1(&b, 0x00);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG stray byte between segments");
	jpeg_start(&b);
	add(&b, "\xFF\x00", 2);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG marker 00");
	jpeg_start(&b);
	add(&b, "\xFF\xD9", 2);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG EOI before the frame header");
	jpeg_start(&b);
	add(&b, "\xFF\xD8", 2);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG second SOI");
	jpeg_start(&b);
	jseg(&b, 0xDA, "\x01\x01\x00\x00\x3f\x00", 6);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG SOS before the frame header");
	b.n = 0;
	add(&b, "\xFF\xD9", 2);
	jsof(&b, 0xC0, 9, 9, 1);
	img_fail(&b, "JPEG without SOI");
	jpeg_start(&b);
	for (int k = 0; k < 300; k++)
		add1(&b, 0xFF);
	img_fail(&b, "JPEG nothing but fill bytes");
}

/* RIFF header, then one chunk; riff_adj and size_adj corrupt the sizes. */
static void webp(struct bytes *b, const char *fourcc, const void *payload, size_t n,
		 long riff_adj, long size_adj)
{
	b->n = 0;
	add(b, "RIFF", 4);
	add_le32(b, (uint32_t)((long)(4 + 8 + n + (n & 1)) + riff_adj));
	add(b, "WEBP", 4);
	add(b, fourcc, 4);
	add_le32(b, (uint32_t)((long)n + size_adj));
	add(b, payload, n);
}

/* VP8 key frame header: frame tag, start code, sizes (with scale bits). */
static size_t vp8(unsigned char *p, unsigned w, unsigned h, uint32_t tag)
{
	p[0] = tag & 0xFF;
	p[1] = (tag >> 8) & 0xFF;
	p[2] = (tag >> 16) & 0xFF;
	memcpy(p + 3, "\x9d\x01\x2a", 3);
	p[6] = w & 0xFF;
	p[7] = w >> 8;
	p[8] = h & 0xFF;
	p[9] = h >> 8;
	return 10;
}

/* key frame, profile 0, shown, first partition of 4 bytes */
#define VP8_TAG (0x10u | (4u << 5))

static size_t vp8l(unsigned char *p, unsigned w, unsigned h, unsigned version)
{
	uint32_t bits = (w - 1) | (h - 1) << 14 | 1u << 28 | version << 29;

	p[0] = 0x2F;
	p[1] = bits & 0xFF;
	p[2] = (bits >> 8) & 0xFF;
	p[3] = (bits >> 16) & 0xFF;
	p[4] = bits >> 24;
	return 5;
}

static size_t vp8x(unsigned char *p, uint32_t w, uint32_t h)
{
	struct bytes b = { .n = 0 };

	add(&b, "\x10\0\0\0", 4);	/* alpha flag, reserved */
	add_le24(&b, w - 1);
	add_le24(&b, h - 1);
	memcpy(p, b.p, b.n);
	return b.n;
}

static void test_webp(void)
{
	unsigned char c[64] = { 0 };
	struct bytes b;
	size_t n;

	n = vp8(c, 550, 368, VP8_TAG);
	webp(&b, "VP8 ", c, n, 0, 0);
	img_ok(&b, "webp", 550, 368, "WebP VP8");
	img_cuts(&b, "webp", 550, 368, "WebP VP8");
	n = vp8(c, 16383 | 0xC000, 1 | 0x4000, VP8_TAG);	/* scale bits ignored */
	webp(&b, "VP8 ", c, n, 0, 0);
	img_ok(&b, "webp", 16383, 1, "WebP VP8 14-bit maximum, scale bits set");
	n = vp8(c, 0x4000, 5, VP8_TAG);
	webp(&b, "VP8 ", c, n, 0, 0);
	img_fail(&b, "WebP VP8 width 0 (only the scale bits set)");
	n = vp8(c, 5, 5, VP8_TAG | 1);
	webp(&b, "VP8 ", c, n, 0, 0);
	img_fail(&b, "WebP VP8 interframe");
	n = vp8(c, 5, 5, VP8_TAG | 4u << 1);
	webp(&b, "VP8 ", c, n, 0, 0);
	img_fail(&b, "WebP VP8 profile 4");
	n = vp8(c, 5, 5, VP8_TAG & ~0x10u);
	webp(&b, "VP8 ", c, n, 0, 0);
	img_fail(&b, "WebP VP8 frame not shown");
	n = vp8(c, 5, 5, 0x10u | 10u << 5);
	webp(&b, "VP8 ", c, n, 0, 0);
	img_fail(&b, "WebP VP8 first partition as long as the chunk");
	n = vp8(c, 5, 5, VP8_TAG);
	c[4] = 0x02;
	webp(&b, "VP8 ", c, n, 0, 0);
	img_fail(&b, "WebP VP8 bad start code");
	n = vp8(c, 5, 5, VP8_TAG);
	webp(&b, "VP8 ", c, n, 0, -1);
	img_fail(&b, "WebP VP8 chunk of 9 bytes");
	webp(&b, "VP8 ", c, n, -1, 0);
	img_fail(&b, "WebP chunk larger than the RIFF");
	webp(&b, "VP8 ", c, n, 0, 0);
	memcpy(b.p + 4, "\x0b\0\0\0", 4);
	img_fail(&b, "WebP RIFF size 11");
	webp(&b, "VP8 ", c, n, 0, 0);
	memcpy(b.p + 8, "WEBQ", 4);
	img_fail(&b, "RIFF but not WEBP");
	webp(&b, "VP8 ", c, n, 0, 0);
	memcpy(b.p + 12, "ALPH", 4);
	img_fail(&b, "WebP first chunk ALPH");

	n = vp8l(c, 1, 1, 0);
	webp(&b, "VP8L", c, n, 0, 0);
	img_ok(&b, "webp", 1, 1, "WebP VP8L 1x1");
	img_cuts(&b, "webp", 1, 1, "WebP VP8L");
	n = vp8l(c, 16384, 300, 0);
	webp(&b, "VP8L", c, n, 0, 0);
	img_ok(&b, "webp", 16384, 300, "WebP VP8L 14-bit maximum + 1");
	n = vp8l(c, 5, 5, 1);
	webp(&b, "VP8L", c, n, 0, 0);
	img_fail(&b, "WebP VP8L version 1");
	n = vp8l(c, 5, 5, 0);
	c[0] = 0x2E;
	webp(&b, "VP8L", c, n, 0, 0);
	img_fail(&b, "WebP VP8L bad signature");
	n = vp8l(c, 5, 5, 0);
	webp(&b, "VP8L", c, n, 0, -1);
	img_fail(&b, "WebP VP8L chunk of 4 bytes");

	n = vp8x(c, 1920, 1080);
	webp(&b, "VP8X", c, n, 0, 0);
	img_ok(&b, "webp", 1920, 1080, "WebP VP8X");
	img_cuts(&b, "webp", 1920, 1080, "WebP VP8X");
	n = vp8x(c, 0x1000000, 255);
	webp(&b, "VP8X", c, n, 0, 0);
	img_ok(&b, "webp", 0x1000000, 255, "WebP VP8X 2^24 x 255 (product < 2^32)");
	n = vp8x(c, 0x1000000, 256);
	webp(&b, "VP8X", c, n, 0, 0);
	img_fail(&b, "WebP VP8X 2^24 x 256 (product 2^32)");
	n = vp8x(c, 5, 5);
	webp(&b, "VP8X", c, n, 2, 0);
	b.p[16] = 11;
	img_fail(&b, "WebP VP8X chunk of 11 bytes");
}

static void test_other(void)
{
	extract_image_t im;
	struct bytes b = { .n = 0 };

	ok(extract_image_size(NULL, 0, &im) == -1, "NULL input");
	add(&b, L("%PDF-1.7\n"));
	img_fail(&b, "a PDF");
	b.n = 0;
	add(&b, L("BM\x36\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x10\0\0\0\x10\0\0\0"));
	img_fail(&b, "a BMP");
	b.n = 0;
	add(&b, L("GIF89"));
	img_fail(&b, "\"GIF89\"");
}

/* Text: the input fed in pieces cut at cuts[0..ncuts) (ascending). */
static size_t text_cut(const char *in, size_t n, size_t cap, const size_t *cuts, size_t ncuts,
		       char *out)
{
	extract_text_t t;
	size_t from = 0;

	extract_text_init(&t, out, cap);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : n;
		unsigned char *piece = (unsigned char *)dup_exact(in + from, to - from);

		extract_text_feed(&t, piece, to - from);
		free(piece);
		from = to;
	}
	return extract_text_done(&t);
}

/* One feed, byte by byte, and every cut in two pieces all give want. */
static void text_check(const char *in, size_t n, size_t cap, const char *want, size_t wn,
		    const char *what)
{
	char *out = malloc(cap ? cap : 1);
	size_t *cuts = malloc((n ? n : 1) * sizeof(*cuts));
	size_t len, bad = SIZE_MAX;

	if (out == NULL || cuts == NULL)
		abort();
	len = text_cut(in, n, cap, NULL, 0, out);
	is_mem(out, len, want, wn, "%s (cap %zu)", what, cap);
	for (size_t k = 0; k <= n && bad == SIZE_MAX; k++) {
		cuts[0] = k;
		len = text_cut(in, n, cap, cuts, 1, out);
		if (len != wn || memcmp(out, want, wn) != 0)
			bad = k;
	}
	if (!ok(bad == SIZE_MAX, "%s: same when cut in two anywhere", what))
		diag("  differs when cut at %zu", bad);
	for (size_t k = 0; k < n; k++)
		cuts[k] = k + 1;
	len = text_cut(in, n, cap, cuts, n > 0 ? n - 1 : 0, out);
	is_mem(out, len, want, wn, "%s: same fed byte by byte", what);
	free(cuts);
	free(out);
}

#define TEXT(in, want, what) text_check(L(in), 64, L(want), what)

static void test_text(void)
{
	TEXT("hello, world\n", "hello, world\n", "ASCII");
	TEXT("", "", "empty");
	TEXT("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z",
	     "2-, 3- and 4-byte characters");
	TEXT("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	     "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	     "the edges of each length (U+0080 ... U+10FFFF)");
	TEXT("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80", "U+D7FF and U+E000");
	TEXT("a\x00" "b\x01\x1f\x7f", "a b  \x7f", "NUL and C0 controls; DEL kept");
	TEXT("\t\n\r", "\t\n\r", "tab, LF, CR kept");
	TEXT("\xc2\x85\xc2\x9f", "\xc2\x85\xc2\x9f", "C1 controls (valid UTF-8) kept");
	TEXT("a\x80z", "a z", "a lone continuation byte");
	TEXT("\x80\xbf\x80", "   ", "continuation bytes, each a space");
	TEXT("\xc0\xaf", "  ", "overlong '/' (C0 AF)");
	TEXT("\xc1\xbf", "  ", "overlong (C1 BF)");
	TEXT("\xe0\x80\xaf", "   ", "overlong 3-byte");
	TEXT("\xe0\x9f\xbf", "   ", "overlong 3-byte U+07FF");
	TEXT("\xf0\x80\x80\xaf", "    ", "overlong 4-byte");
	TEXT("\xf0\x8f\xbf\xbf", "    ", "overlong 4-byte U+FFFF");
	TEXT("\xed\xa0\x80", "   ", "surrogate U+D800");
	TEXT("\xed\xbf\xbf", "   ", "surrogate U+DFFF");
	TEXT("\xed\xa0\xbd\xed\xb8\x80", "      ", "a surrogate pair (CESU-8)");
	TEXT("\xf4\x90\x80\x80", "    ", "U+110000");
	TEXT("\xf5\x80\x80\x80", "    ", "F5 lead");
	TEXT("\xf8\x88\x80\x80\x80", "     ", "5-byte form");
	TEXT("\xfe\xff", "  ", "FE FF");
	TEXT("\xe2\x82", "  ", "a 3-byte character cut by the end");
	TEXT("\xf0\x9f\x98", "   ", "a 4-byte character cut by the end");
	TEXT("\xe2\x82" "A", "  A", "a 3-byte character cut by ASCII");
	TEXT("\xf0\x9f\x98\xe2\x82\xac", "   \xe2\x82\xac", "a 4-byte character cut by a 3-byte one");
	TEXT("\xc3\xc3\xa9", " \xc3\xa9", "a lead byte cut by a lead byte");
	TEXT("\xe2\x00\xac", "   ", "NUL inside a sequence");
	TEXT("caf\xe9 latin-1", "caf  latin-1", "ISO-8859-1 text");
}

static void test_cap(void)
{
	extract_text_t t;
	char buf[8];

	text_check(L("ab\xe2\x82\xac"), 4, L("ab"), "cap 4 cuts before a 3-byte character");
	text_check(L("ab\xe2\x82\xac"), 5, L("ab\xe2\x82\xac"), "cap 5 holds it");
	text_check(L("ab\xe2\x82\xac" "c"), 4, L("ab"), "nothing after a character that did not fit");
	text_check(L("\xf0\x9f\x98\x80"), 3, L(""), "a 4-byte character in cap 3");
	text_check(L("\xf0\x9f\x98\x80"), 4, L("\xf0\x9f\x98\x80"), "a 4-byte character in cap 4");
	text_check(L("a\x80\x80\x80"), 3, L("a  "), "spaces for bad bytes stop at cap");
	text_check(L("ab\xe2\x82"), 3, L("ab "), "a cut character at the end, at cap");
	text_check(L("abc"), 0, L(""), "cap 0");
	text_check(L("abc"), 3, L("abc"), "exactly cap");

	extract_text_init(&t, buf, 3);
	extract_text_feed(&t, (const unsigned char *)"ab", 2);
	ok(!extract_text_full(&t), "not full at 2 of 3");
	extract_text_feed(&t, (const unsigned char *)"\xc3\xa9", 2);
	ok(extract_text_full(&t), "full when a character does not fit");
	extract_text_feed(&t, (const unsigned char *)"x", 1);
	is_int(extract_text_done(&t), 2, "a feed after full is ignored");
	extract_text_init(&t, NULL, 100);
	extract_text_feed(&t, (const unsigned char *)"x", 1);
	is_int(extract_text_done(&t), 0, "a NULL buffer takes nothing");
}

/* Pseudo-random bytes biased towards UTF-8 structure, random cuts: the
 * output is valid UTF-8 without NUL, within cap, whatever the cuts. */
static void test_random(void)
{
	unsigned long long s = 0x9E3779B97F4A7C15ull;
	static const unsigned char pick[] = {
		'a', ' ', 0, '\n', 0x7F, 0x80, 0xBF, 0xC2, 0xC0, 0xDF, 0xE0, 0xED, 0xEF,
		0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90
	};
	bool fine = true;

	for (int round = 0; round < 2000 && fine; round++) {
		char in[64], one[80], cut[80];
		size_t n, cap, cuts[64], nc = 0, l1, l2;

		s = s * 6364136223846793005ull + 1442695040888963407ull;
		n = (s >> 33) % sizeof(in);
		cap = (s >> 45) % 72;
		for (size_t k = 0; k < n; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			in[k] = (char)pick[(s >> 33) % sizeof(pick)];
			if ((s >> 50) % 3 == 0)
				cuts[nc++] = k;
		}
		l1 = text_cut(in, n, cap, NULL, 0, one);
		l2 = text_cut(in, n, cap, cuts, nc, cut);
		fine = l1 == l2 && memcmp(one, cut, l1) == 0 && l1 <= cap && l1 <= n &&
		       text_utf8_valid(one, l1) && memchr(one, 0, l1) == NULL;
		if (!fine)
			tap_dump("input", in, n);
	}
	ok(fine, "2000 random inputs: valid UTF-8, no NUL, <= cap, same for random cuts");
}

static void wanted(const char *type, bool want)
{
	ok(extract_text_wanted(type) == want, "wanted(%s) is %s", type ? type : "NULL",
	   want ? "true" : "false");
}

static void test_wanted(void)
{
	static const char *const yes[] = {
		"text/plain", "TEXT/PLAIN; charset=utf-8", " text/plain", "text/markdown",
		"text/csv", "text/html", "text/xml", "text/css", "text/javascript",
		"text/x-c", "text/x-script.python", "text/x-shellscript", "text/x-makefile",
		"application/json", "application/xml", "application/javascript",
		"application/x-sh", "application/ld+json", "application/atom+xml",
		"application/xhtml+xml", "application/yaml", "application/sql",
		"application/x-httpd-php", "Application/JSON", NULL
	};
	static const char *const no[] = {
		"", "text", "text/", "/plain", "text/plain/x", "image/png", "image/svg+xml",
		"application/octet-stream", "application/pdf", "application/zip",
		"application/x-empty", "message/rfc822", "application/mbox", "application/rtf",
		"application/+xml", "application/+json", "application/jsonx", "video/mp4",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/x-executable", "texts/plain", NULL
	};
	/* extensions lib/mime maps to a textual type (for text/plain content) */
	static const char *const exts[] = {
		"c", "h", "cpp", "py", "go", "rs", "md", "txt", "csv", "tsv", "json", "js",
		"mjs", "css", "html", "xml", "svg", "sh", "sql", "yaml", "toml", "php", "pl",
		"rb", "java", "lua", "tex", "srt", "ics", "diff", "ndjson", "ipynb", NULL
	};
	static const struct {
		const char *ext, *detected;
	} binary[] = {
		{ "png", "image/png" }, { "jpg", "image/jpeg" }, { "pdf", "application/pdf" },
		{ "zip", "application/zip" }, { "mp4", "video/mp4" },
		{ "docx", "application/zip" }, { "bin", "application/octet-stream" },
	};
	char name[32];
	char type[MIME_TYPE_MAX];

	for (size_t k = 0; yes[k] != NULL; k++)
		wanted(yes[k], true);
	for (size_t k = 0; no[k] != NULL; k++)
		wanted(no[k], false);
	wanted(NULL, false);
	for (size_t k = 0; exts[k] != NULL; k++) {
		const char *t;
		int len = snprintf(name, sizeof(name), "x.%s", exts[k]);

		t = mime_choose(name, (size_t)len, "text/plain");
		/* SVG is an image: its text is path data */
		ok(extract_text_wanted(t) == (strcmp(exts[k], "svg") != 0),
		   "%s as text/plain -> %s, wanted %s", name, t,
		   strcmp(exts[k], "svg") != 0 ? "yes" : "no");
	}
	for (size_t k = 0; k < sizeof(binary) / sizeof(binary[0]); k++) {
		const char *t;
		int len = snprintf(name, sizeof(name), "x.%s", binary[k].ext);

		t = mime_choose(name, (size_t)len, binary[k].detected);
		ok(!extract_text_wanted(t), "%s as %s -> %s, not wanted", name, binary[k].detected, t);
	}
	if (mime_detect(L("#include <stdio.h>\nint main(void) { return 0; }\n"), type,
			sizeof(type)) == 0)
		ok(extract_text_wanted(mime_choose(L("main.c"), type)), "detected C source (%s)", type);
	else
		ok(0, "libmagic detects C source");
	if (mime_detect(L("#!/usr/bin/env python3\nprint('x')\n"), type, sizeof(type)) == 0)
		ok(extract_text_wanted(mime_choose(L("run.py"), type)), "detected Python (%s)", type);
	else
		ok(0, "libmagic detects Python");
}

/* --- extract_metadata ------------------------------------------------- */

/* extract_metadata of p[0..n) (an exactly-sized heap copy) into out[outsz]. */
static int metadata(const void *p, size_t n, char *out, size_t outsz)
{
	unsigned char *d = (unsigned char *)dup_exact(p, n);
	int rc;

	memset(out, 'x', outsz);
	rc = extract_metadata(d, n, out, outsz);
	free(d);
	return rc;
}

static void metadata_is(const void *p, size_t n, const char *want, const char *what)
{
	char out[EXTRACT_METADATA_MAX];
	int rc = metadata(p, n, out, sizeof(out));

	is_int(rc, (long long)strlen(want), "extract_metadata(%s) -> its length", what);
	is_str(out, want, "  %s", what);
}

static void test_metadata(void)
{
	/* a gzip member named q"uote\back.txt: libmagic quotes the name */
	static const char gz[] = "\x1f\x8b\x08\x08\0\0\0\0\0\x03q\"uote\\back.txt\0"
				 "\xcb\xc8\x04\0\xac\x2a\x93\xd8\x02\0\0\0";
	struct bytes b;
	char out[EXTRACT_METADATA_MAX];
	json_object *o, *d;
	int rc;

	png(&b, 640, 480, 8, 2, 0);
	metadata_is(b.p, b.n, "{\"image\":{\"format\":\"png\",\"width\":640,\"height\":480},"
		    "\"description\":\"PNG image data, 640 x 480, 8-bit/color RGB, non-interlaced\"}",
		    "a PNG: its size and description");
	gif(&b, "GIF89a", 321, 123);
	metadata_is(b.p, b.n, "{\"image\":{\"format\":\"gif\",\"width\":321,\"height\":123},"
		    "\"description\":\"GIF image data, version 89a, 321 x 123\"}", "a GIF");
	metadata_is(L("just words\n"), "{\"description\":\"ASCII text\"}", "text: a description only");
	metadata_is(L(""), "{\"description\":\"empty\"}", "an empty file: \"empty\"");
	memset(b.p, 0, 64);
	memcpy(b.p, "rnd", 3);
	rc = metadata(b.p, 64, out, sizeof(out));
	is_int(rc, 0, "unknown binary (libmagic: \"data\"): 0, nothing to store");
	is_str(out, "", "  out is empty");

	rc = metadata(L(gz), out, sizeof(out));
	is_str(out, "{\"description\":\"gzip compressed data, was \\\"q\\\"uote\\\\back.txt\\\", from Unix\"}",
	       "quotes and backslashes of a description are escaped");
	is_int(rc, (long long)strlen(out), "  its length");
	o = json_tokener_parse(out);
	ok(o != NULL && json_object_object_get_ex(o, "description", &d) &&
	   strcmp(json_object_get_string(d), "gzip compressed data, was \"q\"uote\\back.txt\", from Unix") == 0,
	   "  the JSON parses back to libmagic's text");
	json_object_put(o);
	rc = metadata(L(gz), out, 20);
	is_int(rc, -1, "-1 when the text does not fit");
	rc = metadata(L(gz), out, 0);
	is_int(rc, -1, "  (outsz 0 too)");
}

int main(void)
{
	test_png();
	test_gif();
	test_jpeg();
	test_webp();
	test_other();
	test_text();
	test_cap();
	test_random();
	test_wanted();
	test_metadata();
	return done_testing();
}
