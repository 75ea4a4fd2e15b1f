/* extract: image dimensions, index text and metadata; see extract.h. */
#include "extract.h"

#include <json-c/json.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "mime.h"

static uint32_t be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le24(const unsigned char *p)
{
	return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | le24(p);
}

static int image_set(extract_image_t *out, const char *format, uint32_t w, uint32_t h,
		     uint32_t max)
{
	if (w == 0 || h == 0 || w > max || h > max)
		return -1;
	out->format = format;
	out->width = w;
	out->height = h;
	return 0;
}

/* PNG (RFC 2083 / ISO 15948): the signature, then IHDR must come first. */
static int png_size(const unsigned char *p, size_t n, extract_image_t *out)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
	const unsigned char *h = p + 8;
	unsigned depth, color;
	bool depth_ok;

	if (n < 8 + 8 + 13 + 4 || memcmp(p, sig, 8) != 0 || be32(h) != 13 ||
	    memcmp(h + 4, "IHDR", 4) != 0)
		return -1;
	if (crc32(0L, h + 4, 4 + 13) != be32(h + 8 + 13))
		return -1;
	depth = h[16];
	color = h[17];
	/* the bit depths each colour type allows (table 11.1) */
	switch (color) {
	case 0:
		depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
		break;
	case 3:
		depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
		break;
	case 2: case 4: case 6:
		depth_ok = depth == 8 || depth == 16;
		break;
	default:
		depth_ok = false;
		break;
	}
	if (!depth_ok || h[18] != 0 || h[19] != 0 || h[20] > 1)
		return -1;
	return image_set(out, "png", be32(h + 8), be32(h + 12), EXTRACT_PNG_MAX);
}

/* GIF: the logical screen descriptor follows the 6-byte signature. */
static int gif_size(const unsigned char *p, size_t n, extract_image_t *out)
{
	if (n < 10 || (memcmp(p, "GIF87a", 6) != 0 && memcmp(p, "GIF89a", 6) != 0))
		return -1;
	return image_set(out, "gif", le16(p + 6), le16(p + 8), EXTRACT_GIF_MAX);
}

/* SOF0-SOF15; C4 (DHT), C8 (JPG, reserved) and CC (DAC) share the range. */
static bool jpeg_is_sof(unsigned m)
{
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* JPEG (ITU T.81 annex B): walk the marker segments from SOI to the first
 * frame header. Strict: a segment must be followed by a marker (libjpeg
 * skips stray bytes with a warning; nothing legitimate has them). */
static int jpeg_size(const unsigned char *p, size_t n, extract_image_t *out)
{
	size_t i = 2;

	if (n < 2 || p[0] != 0xFF || p[1] != 0xD8)
		return -1;
	for (;;) {
		unsigned m, nf;
		size_t len;

		if (i >= n || p[i] != 0xFF)
			return -1;
		while (i < n && p[i] == 0xFF)	/* fill bytes (B.1.1.2) */
			i++;
		if (i >= n)
			return -1;
		m = p[i++];
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
			continue;	/* TEM, RSTn: no length */
		/* stuffed 0, a second SOI, EOI or a scan before any frame header */
		if (m == 0x00 || m == 0xD8 || m == 0xD9 || m == 0xDA)
			return -1;
		if (n - i < 2 || (len = be16(p + i)) < 2 || n - i < len)
			return -1;
		if (!jpeg_is_sof(m)) {
			i += len;
			continue;
		}
		/* Lf P Y(2) X(2) Nf, then Nf components of 3 bytes */
		if (len < 8)
			return -1;
		nf = p[i + 7];
		if (nf == 0 || len != 8 + 3 * (size_t)nf)
			return -1;
		return image_set(out, "jpeg", be16(p + i + 5), be16(p + i + 3), EXTRACT_JPEG_MAX);
	}
}

/* WebP (RFC 9649): RIFF, "WEBP", then VP8, VP8L or VP8X as the first chunk. */
static int webp_size(const unsigned char *p, size_t n, extract_image_t *out)
{
	const unsigned char *c;
	uint32_t riff, size, w, h;
	size_t have;

	if (n < 20 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WEBP", 4) != 0)
		return -1;
	c = p + 20;
	have = n - 20;
	riff = le32(p + 4);
	size = le32(p + 16);
	if (riff < 12 || size > riff - 12)	/* "WEBP" + chunk header + payload */
		return -1;
	if (memcmp(p + 12, "VP8 ", 4) == 0) {
		/* RFC 6386 9.1: 3-byte frame tag, start code, 2+14-bit sizes */
		uint32_t tag;

		if (size < 10 || have < 10)
			return -1;
		tag = le24(c);
		if ((tag & 1) != 0 || ((tag >> 1) & 7) > 3 || !((tag >> 4) & 1) ||
		    (tag >> 5) >= size)	/* not a key frame, bad profile, hidden, partition */
			return -1;
		if (c[3] != 0x9D || c[4] != 0x01 || c[5] != 0x2A)
			return -1;
		w = le16(c + 6) & 0x3FFF;	/* the top 2 bits are a scaling hint */
		h = le16(c + 8) & 0x3FFF;
		return image_set(out, "webp", w, h, EXTRACT_VP8_MAX);
	}
	if (memcmp(p + 12, "VP8L", 4) == 0) {
		/* signature 0x2f, then 14-bit width-1, 14-bit height-1, alpha, version 0 */
		uint32_t bits;

		if (size < 5 || have < 5 || c[0] != 0x2F)
			return -1;
		bits = le32(c + 1);
		if ((bits >> 29) != 0)
			return -1;
		w = (bits & 0x3FFF) + 1;
		h = ((bits >> 14) & 0x3FFF) + 1;
		return image_set(out, "webp", w, h, EXTRACT_VP8L_MAX);
	}
	if (memcmp(p + 12, "VP8X", 4) == 0) {
		/* flags, 3 reserved bytes, 24-bit canvas width-1, height-1 */
		if (size != 10 || have < 10)
			return -1;
		w = le24(c + 4) + 1;
		h = le24(c + 7) + 1;
		if ((uint64_t)w * h > 0xFFFFFFFFu)
			return -1;
		return image_set(out, "webp", w, h, EXTRACT_VP8X_MAX);
	}
	return -1;
}

int extract_image_size(const unsigned char *p, size_t n, extract_image_t *out)
{
	if (p == NULL || n < 2)
		return -1;
	switch (p[0]) {
	case 0x89: return png_size(p, n, out);
	case 0xFF: return jpeg_size(p, n, out);
	case 'G': return gif_size(p, n, out);
	case 'R': return webp_size(p, n, out);
	default: return -1;
	}
}

int extract_metadata(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	char desc[MIME_DESCRIBE_MAX + 1];
	extract_image_t img;
	json_object *m, *i;
	const char *text;
	size_t len;
	int rc = -1;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if ((m = json_object_new_object()) == NULL)
		return -1;
	if (extract_image_size(p, n, &img) == 0) {
		if ((i = json_object_new_object()) == NULL)
			goto out;
		json_object_object_add(m, "image", i);
		json_object_object_add(i, "format", json_object_new_string(img.format));
		json_object_object_add(i, "width", json_object_new_int64(img.width));
		json_object_object_add(i, "height", json_object_new_int64(img.height));
	}
	if (mime_describe(p, n, desc, sizeof(desc)) > 0)
		json_object_object_add(m, "description", json_object_new_string(desc));
	if (json_object_object_length(m) == 0) {
		rc = 0;
		goto out;
	}
	text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL || (len = strlen(text)) >= outsz)
		goto out;
	memcpy(out, text, len + 1);
	rc = (int)len;
out:
	json_object_put(m);
	return rc;
}

void extract_text_init(extract_text_t *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = buf != NULL ? cap : 0;
	t->len = 0;
	t->npend = t->need = 0;
	t->full = false;
}

/* Append one whole character, or stop for good when it does not fit:
 * the output is then a prefix of what an unbounded buffer would hold. */
static bool put(extract_text_t *t, const void *p, size_t n)
{
	if (t->cap - t->len < n) {
		t->full = true;
		return false;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	return true;
}

/* Each held byte of a sequence that turned out ill-formed becomes a space
 * (bytes 2-4 are continuation bytes, which could start nothing anyway). */
static bool flush_pending(extract_text_t *t)
{
	size_t k = t->npend;

	t->npend = 0;
	while (k-- > 0)
		if (!put(t, " ", 1))
			return false;
	return true;
}

void extract_text_feed(extract_text_t *t, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !t->full) {
		unsigned c = p[i], lo = 0x80, hi = 0xBF;

		if (t->npend == 0) {
			char o = (char)c;

			i++;
			if (c < 0x80) {
				if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
					o = ' ';
				(void)put(t, &o, 1);
				continue;
			}
			if (c >= 0xC2 && c <= 0xDF)
				t->need = 2;
			else if (c >= 0xE0 && c <= 0xEF)
				t->need = 3;
			else if (c >= 0xF0 && c <= 0xF4)
				t->need = 4;
			else {
				(void)put(t, " ", 1);
				continue;
			}
			t->pend[t->npend++] = (unsigned char)c;
			continue;
		}
		/* Table 3-7: the second byte rules out overlongs (E0, F0),
		 * surrogates (ED) and code points past U+10FFFF (F4) */
		if (t->npend == 1) {
			switch (t->pend[0]) {
			case 0xE0: lo = 0xA0; break;
			case 0xED: hi = 0x9F; break;
			case 0xF0: lo = 0x90; break;
			case 0xF4: hi = 0x8F; break;
			default: break;
			}
		}
		if (c < lo || c > hi) {
			(void)flush_pending(t);	/* then c again, as a first byte */
			continue;
		}
		t->pend[t->npend++] = (unsigned char)c;
		i++;
		if (t->npend == t->need) {
			t->npend = 0;
			(void)put(t, t->pend, t->need);
		}
	}
}

bool extract_text_full(const extract_text_t *t)
{
	return t->full;
}

size_t extract_text_done(extract_text_t *t)
{
	if (!t->full)
		(void)flush_pending(t);
	t->npend = 0;
	return t->len;
}

static bool type_in(const char *p, size_t n, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && strncasecmp(p, *list, n) == 0)
			return true;
	return false;
}

static bool ends_with(const char *p, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n >= l && strncasecmp(p + n - l, suffix, l) == 0;
}

bool extract_text_wanted(const char *mime)
{
	static const char *const app[] = {
		"json", "xml", "javascript", "ecmascript", "x-javascript", "x-ecmascript",
		"x-ndjson", "x-sh", "x-shellscript", "x-csh", "sql", "x-sql", "yaml", "x-yaml",
		"toml", "x-toml", "x-httpd-php", "x-php", "x-perl", "x-tex", "x-latex",
		"x-troff", "x-subrip", NULL
	};
	size_t s = 0, e, slash = 0;

	if (mime == NULL)
		return false;
	while (mime[s] == ' ' || mime[s] == '\t')
		s++;
	for (e = s; mime[e] != '\0' && mime[e] != ';' && mime[e] != ' ' && mime[e] != '\t'; e++) {
		if (mime[e] == '/') {
			if (slash != 0)
				return false;
			slash = e;
		}
	}
	if (slash == 0 || slash == s || slash + 1 == e)
		return false;
	if (slash - s == 4 && strncasecmp(mime + s, "text", 4) == 0)
		return true;
	if (slash - s != 11 || strncasecmp(mime + s, "application", 11) != 0)
		return false;
	/* "+xml" and "+json" need something before the suffix */
	return type_in(mime + slash + 1, e - slash - 1, app) ||
	       (e - slash - 1 > 4 && ends_with(mime + slash + 1, e - slash - 1, "+xml")) ||
	       (e - slash - 1 > 5 && ends_with(mime + slash + 1, e - slash - 1, "+json"));
}
