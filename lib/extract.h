/*
 * extract: metadata taken from the first bytes of an upload while it
 * streams in: image dimensions from PNG, JPEG, GIF and WebP headers, and
 * the UTF-8 text of textual files for the search index; and the metadata
 * object built from those bytes (with libmagic's description). Only
 * extract_metadata allocates (json-c, freed before it returns); inputs are
 * a pointer and a length, never read past p[n-1].
 */
#ifndef COFFER_EXTRACT_H
#define COFFER_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXTRACT_IMAGE_SCAN (256 * 1024)  /* bytes worth giving extract_image_size */
#define EXTRACT_TEXT_CAP   (1024 * 1024) /* text kept per file for the index */
#define EXTRACT_METADATA_MAX 2048        /* room for any extract_metadata answer */

/* Format limits on width and height (zero is always rejected). */
#define EXTRACT_PNG_MAX   0x7FFFFFFFu    /* PNG: 2^31 - 1 */
#define EXTRACT_GIF_MAX   0xFFFFu        /* 16-bit fields */
#define EXTRACT_JPEG_MAX  0xFFFFu        /* 16-bit fields */
#define EXTRACT_VP8_MAX   0x3FFFu        /* lossy WebP: 14 bits */
#define EXTRACT_VP8L_MAX  0x4000u        /* lossless WebP: 14 bits + 1 */
#define EXTRACT_VP8X_MAX  0x1000000u     /* extended WebP: 24 bits + 1, w*h < 2^32 */

typedef struct extract_image {
	const char *format;	/* "png", "jpeg", "gif" or "webp" (static) */
	uint32_t width, height;	/* pixels, both >= 1 */
} extract_image_t;

/*
 * Width and height of the image whose first n bytes are p. Returns 0 and
 * fills out, or -1 (out untouched) when p is none of the four formats, is
 * cut before the header is complete, or the header is inconsistent or names
 * a size outside the format's limits. What must be present: PNG the
 * signature and the whole IHDR chunk, CRC included and checked; GIF the
 * logical screen size; JPEG every segment up to and including the first
 * frame header (SOF0-SOF15 but C4/C8/CC), whose length must match its
 * component count (a height of 0, to be given by DNL, gives -1); WebP the
 * first chunk's fields (VP8: key frame tag and start code; VP8L: signature
 * and version 0; VP8X: a 10-byte chunk). The result depends only on the
 * bytes read: more bytes after a success never change it.
 */
int extract_image_size(const unsigned char *p, size_t n, extract_image_t *out);

/*
 * The metadata object of content whose first n bytes are p (give it the
 * first EXTRACT_IMAGE_SCAN bytes, or all of a shorter file): "image":
 * {"format", "width", "height"} when extract_image_size reads a size, and
 * "description": mime_describe's text when it gives one (so an empty file
 * has "empty"). Built with json-c, so the description is escaped properly,
 * and written to out as compact JSON text, NUL-terminated. Returns its
 * length; 0 (out "") when neither was found: no object worth storing; -1
 * when json-c fails or the text does not fit in outsz (it always fits in
 * EXTRACT_METADATA_MAX).
 */
int extract_metadata(const unsigned char *p, size_t n, char *out, size_t outsz);

/*
 * Incremental text extraction. The output is the input with every byte
 * that is not part of a well-formed UTF-8 character (Unicode Table 3-7: no
 * overlongs, surrogates or code points above U+10FFFF), and every C0
 * control but tab, LF and CR (NUL included), replaced by one space;
 * nothing else changes. It is cut, at a character boundary, where the next
 * character would not fit in cap bytes; bytes fed after that are ignored.
 * The output is the same however the input is split into feeds: a character
 * cut by a feed boundary is held (at most 3 bytes) until the next feed.
 * It is valid UTF-8 and holds no NUL, but is not NUL-terminated.
 */
typedef struct extract_text {
	char *buf;		/* the caller's, cap bytes */
	size_t cap, len;
	unsigned char pend[4];	/* a character begun but not complete */
	size_t npend, need;	/* bytes held, bytes that character has */
	bool full;		/* stopped at cap */
} extract_text_t;

/* Start extracting into buf[0..cap) (the caller owns buf; cap may be 0). */
void extract_text_init(extract_text_t *t, char *buf, size_t cap);
/* Process the next n bytes of the file. */
void extract_text_feed(extract_text_t *t, const unsigned char *p, size_t n);
/* True once the output has stopped at cap: further feeds are ignored, the
 * caller may stop feeding. */
bool extract_text_full(const extract_text_t *t);
/* End of input: a character still held is incomplete and becomes spaces.
 * Returns the output length, <= cap. Feed no more after this. */
size_t extract_text_done(extract_text_t *t);

/*
 * Is content of this type (parameters and case ignored) worth extracting
 * text from? Any text/ type (plain, markdown, csv, html, the text/x-<language>
 * types of lib/mime and libmagic ...), JSON and XML (with their +json and
 * +xml application types), JavaScript, and the textual application types
 * lib/mime assigns to scripts, source and configuration (x-sh, sql, yaml,
 * toml, x-httpd-php, x-perl, x-tex ...). Not images (SVG included), not
 * mail (message/rfc822, mbox: mostly base64), not RTF or PostScript (mostly
 * markup), not binary types. NULL or malformed: false.
 */
bool extract_text_wanted(const char *mime);

#endif
