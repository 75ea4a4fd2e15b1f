/*
 * mime: the type of uploaded content. libmagic looks at the first bytes; the
 * file name's extension only refines a generic or ambiguous detection and
 * never overrides a specific one. libmagic's description of the content for
 * its metadata. Also the policies built on types: which are
 * active in a browser, which are worth compressing, which an admin allows.
 * Type arguments are C strings; parameters ("; charset=...") and case are
 * ignored wherever a type is compared.
 */
#ifndef COFFER_MIME_H
#define COFFER_MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_DETECT_MAX (64 * 1024)  /* mime_detect looks at this many bytes at most */
#define MIME_TYPE_MAX   256          /* room for any type mime_detect writes, NUL included */

#define MIME_DESCRIBE_MAX 200        /* bytes of a mime_describe answer, NUL not included */

/* Load the magic database now rather than on the first mime_detect or
 * mime_describe (one libmagic cookie each): called in a master before fork,
 * the database is shared by the workers. Returns 0, or -1 when libmagic
 * cannot load for either (the functions retry on their next call). */
int mime_init(void);

/* Detect the type of p[0..n) (bytes past MIME_DETECT_MAX are ignored) with
 * libmagic, opened lazily once per process (not thread-safe). Writes a
 * lowercase "type/subtype" such as "image/png" into out; an empty input
 * gives "application/x-empty". Returns 0, or -1 when libmagic fails, its
 * answer is not a well-formed type or does not fit: out is then
 * "application/octet-stream" (or "" when even that does not fit). */
int mime_detect(const void *p, size_t n, char *out, size_t outsz);

/* libmagic's description of p[0..n) (bytes past MIME_DETECT_MAX are
 * ignored), as file(1) prints it: "PNG image data, 640 x 480, 8-bit/color
 * RGBA, non-interlaced", "ASCII text", "PDF document, version 1.4"; an
 * empty input is "empty". Same libmagic checks and bounds as mime_detect,
 * through a second cookie. Written to out as printable UTF-8: controls
 * (C0, DEL, C1) become blanks, leading, trailing and doubled blanks go,
 * bytes that are not UTF-8 become U+FFFD each; at most MIME_DESCRIBE_MAX
 * bytes (and outsz - 1), cut at a character boundary; NUL-terminated, no
 * NUL inside. Returns its length, or -1 (out "" when outsz > 0) when
 * libmagic fails or says nothing about the content: "data" (binary it does
 * not know), "very short file (no magic)" (under two bytes) or blanks. */
int mime_describe(const void *p, size_t n, char *out, size_t outsz);

/* The type the name's last extension stands for (case-insensitive:
 * "a.tar.gz" -> application/gzip), or NULL for an unknown extension, no
 * extension, a dot-file (".bashrc") or a trailing dot. Static string. */
const char *mime_from_name(const char *name, size_t n);

/* The type to store for content detected as `detected` (NULL = unknown)
 * under this name. The extension refines only what libmagic cannot tell:
 * text/plain and text/x-* guesses -> a textual extension's type (.csv,
 * .json, .md, .js, .css, .svg ...); XML -> a *+xml extension's type; HTML
 * -> .xhtml; JSON -> a *+json extension's type; JavaScript -> text/javascript;
 * application/zip -> a zip container's type (.docx .xlsx .odt .jar .apk ...);
 * OLE/CDF -> .doc .xls .ppt .msg .msi; an empty file -> the extension's type
 * (else application/octet-stream). Everything else, application/octet-stream
 * included, keeps the detected type. Returns `detected` or a static string. */
const char *mime_choose(const char *name, size_t n, const char *detected);

/* True when content detected as `detected` contradicts the name (refuse the
 * upload). Only a known extension can be contradicted (mime_from_name !=
 * NULL): no extension, an unknown one ("tool-1.2.3", "libz.so.1") and
 * generic detections (application/octet-stream, text/plain, empty) never
 * contradict. Contradictions: an executable (ELF, PE/DOS, Mach-O, MSI,
 * Java class, Windows shortcut, core dump) under a known non-executable
 * extension (.exe .dll .so .bin .elf .out .o .ko .msi .dylib .app .class
 * .efi .sys .scr .lnk are executable); and, under a "strong" extension
 * (media: image/audio/video as one family; application/pdf; archives such as
 * .zip .gz .tar .7z), content of another family or active content (a PNG
 * named .jpg is fine, HTML or SVG named .png and an image named .pdf are
 * not). Text-based and container extensions (.svg, .docx, .doc) are not
 * strong: their content is too varied to contradict. */
bool mime_contradicts(const char *name, size_t n, const char *detected);

/* Types a browser may execute or render as a document with script:
 * HTML, XHTML, XML and every *+xml (SVG, RSS, MathML ...), XSL, JavaScript /
 * ECMAScript, Flash, multipart/x-mixed-replace. Served as attachment always.
 * NULL, empty or malformed types count as active (fail safe). PDF is not
 * active: browsers render it in an isolated viewer, without the site's
 * origin, and Content-Security-Policy: sandbox applies. */
bool mime_is_active(const char *type);

/* Worth a trial deflate: all text, JSON, XML, JavaScript, scripts, SQL,
 * YAML, TOML, NDJSON, SVG, PostScript, RTF, tar, cpio, uncompressed fonts
 * (ttf, otf, eot), WebAssembly, uncompressed images (BMP, TIFF, ICO, PNM,
 * PSD), WAV/AIFF, executables and object code, SQLite, legacy (OLE) Office
 * documents, and application/octet-stream (the trial decides). Not:
 * compressed images, audio and video, PDF (range-heavy, mostly deflated
 * already), zip/gzip/bzip2/xz/zstd/7z/rar and the zip containers (office,
 * jar, apk, epub), woff/woff2. */
bool mime_compressible(const char *type);

/* Upload policy: allow and block are lists of patterns separated by blanks
 * or commas, case-insensitive, NULL = empty. A pattern is a type
 * ("application/pdf"), a type with any subtype ("image/" "*") or any type
 * ("*", or "*" "/" "*"). Block wins; an empty allow list allows everything.
 * A malformed type matches only the any-type patterns. */
bool mime_allowed(const char *allow, const char *block, const char *type);

#endif
