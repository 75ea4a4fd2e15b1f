/*
 * multipart: a streaming (push) parser for multipart/form-data bodies
 * (RFC 7578, RFC 2046 section 5.1). The caller feeds the body in chunks of
 * any size; each part's headers are parsed into an mp_part_t and its data
 * flows out through callbacks straight from the caller's chunks, never
 * copied. No allocation: the state (about 10 KiB) lives where the caller
 * puts it, normally on the stack.
 *
 * Syntax accepted (anything else is MP_ESYNTAX):
 * - Preamble before the first "--boundary" is skipped; that delimiter may
 *   open the body without a CRLF before it. Inside the body a delimiter is
 *   CRLF "--" boundary, then optional spaces/tabs and CRLF (next part) or
 *   "--" (close); anything else after it is an error, never data. After
 *   the close everything is epilogue and ignored.
 * - Lines end in CRLF only: a bare CR or LF in part headers is an error
 *   (RFC 7578 requires CRLF; accepting bare LF would let two readers of one
 *   body disagree on its parts).
 * - Part headers end at an empty line; the block (all header lines and the
 *   empty line, with their CRLFs) is at most MP_HEADER_MAX bytes. Names
 *   are tokens, case-insensitive; no blanks before ':'; folded lines are
 *   errors; unknown headers are ignored. Content-Disposition is required:
 *   "form-data" with a name parameter; Content-Disposition, Content-Type and
 *   name/filename/filename* given twice are errors (ambiguous).
 * - Parameters: token or quoted-string (backslash escapes any byte), blanks
 *   allowed around ';' and '=', names case-insensitive, unknown ones ignored.
 *   An unquoted value may hold any visible byte but ';' and '"' (clients
 *   send unquoted UTF-8 names). filename= is kept as sent; filename* is
 *   percent-decoded.
 * - A part with headers only ("...\r\n\r\n--boundary") has empty data,
 *   as RFC 2046's grammar allows.
 */
#ifndef COFFER_MULTIPART_H
#define COFFER_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#define MP_BOUNDARY_MAX 70      /* RFC 2046 */
#define MP_HEADER_MAX   8192    /* bytes of header block per part (all header lines) */
#define MP_MAX_PARTS    1000

enum mp_err {
	MP_OK = 0,
	MP_EBOUNDARY = -1,          /* invalid boundary given to mp_init */
	MP_ESYNTAX = -2,
	MP_EHEADER_TOO_LARGE = -3,
	MP_ETRUNCATED = -4,
	MP_EABORTED = -5,           /* a callback returned < 0 */
	MP_ETOO_MANY_PARTS = -6,
};

typedef struct mp_part {
	char name[256];  size_t name_len;          /* form field name (Content-Disposition name=) */
	char filename[1024]; size_t filename_len;  /* raw bytes as sent; filename* (RFC 5987, UTF-8'' or ''-less charset ignored, percent-decoded) preferred over filename= when present */
	bool has_filename;                          /* a filename or filename* parameter was present (may be empty "") */
	char content_type[256]; size_t content_type_len;   /* part Content-Type value, "" if absent */
} mp_part_t;   /* all three strings also NUL-terminated, but may contain NUL bytes from percent-decoding: use the lengths */

typedef struct mp_callbacks {
	int (*part_begin)(void *ctx, const mp_part_t *part);  /* after the part's headers; < 0 aborts */
	int (*part_data)(void *ctx, const char *p, size_t n);  /* body bytes, any chunking, n > 0 */
	int (*part_end)(void *ctx);                            /* the part's closing delimiter was seen */
} mp_callbacks_t;

/* Parser state. Every field is private: use the functions below. */
typedef struct mp_parser {
	mp_callbacks_t cb;             /* a copy; NULL members are skipped */
	void *ctx;
	int state;
	int err;                       /* sticky error, MP_OK while none */
	char delim[MP_BOUNDARY_MAX + 4];   /* "\r\n--" boundary */
	size_t dlen;
	size_t held;                   /* delim[0..held) ended the last chunk */
	size_t virt;                   /* of those, how many were not input (0 or 2) */
	unsigned parts;                /* parts started */
	bool in_part;                  /* part_begin called, part_end not yet */
	unsigned seen;                 /* headers seen in this part */
	size_t hdr_used;               /* header block bytes of this part */
	size_t line_len;
	mp_part_t part;
	char line[MP_HEADER_MAX];      /* the header line being read (last member) */
} mp_parser_t;

/* Extract the boundary from a Content-Type value p[0..n): the media type
 * must be multipart/form-data (case-insensitive), boundary parameter as
 * token or quoted-string, 1-70 chars of RFC 2046 bchars, not ending in
 * space. Returns 0 and copies into out (NUL-terminated, out has
 * MP_BOUNDARY_MAX+1 bytes) or -1 (out untouched). A malformed parameter
 * list or a second boundary parameter is -1 too. */
int mp_boundary(const char *p, size_t n, char *out, size_t *outlen);

/* Start parsing a body with this boundary (without the leading "--").
 * cb may be NULL; the struct is copied. Returns MP_OK or MP_EBOUNDARY,
 * which later calls then return too. */
int mp_init(mp_parser_t *mp, const char *boundary, size_t blen, const mp_callbacks_t *cb, void *ctx);

/* Feed the next bytes. Returns MP_OK, or an error (sticky: later calls
 * return it again). After the closing delimiter ("--boundary--") the rest
 * is epilogue and ignored. part_end runs once the delimiter line after the
 * part is complete (its CRLF or the "--" of the close), so a body cut
 * inside it never ends the part; no part_end follows an error. */
int mp_feed(mp_parser_t *mp, const char *p, size_t n);

/* End of body: MP_OK if the closing delimiter was seen, else MP_ETRUNCATED
 * (or the sticky error). */
int mp_finish(mp_parser_t *mp);

/* True once the closing delimiter was seen (and no callback aborted at it). */
bool mp_done(const mp_parser_t *mp);

/* A short English description of an mp_err value (static storage). */
const char *mp_strerror(int err);

#endif
