/* mime: content types; see mime.h. */
#include "mime.h"

#include <magic.h>
#include <string.h>
#include <strings.h>

#include "text.h"

#define OCTET "application/octet-stream"

/*
 * libmagic: MIME type only. No looking inside compressed data (no
 * decompressor forks, no bombs), no ELF section/note walking (a 64 KiB
 * prefix cannot hold them reliably anyway, and it is the part with the
 * longest CVE history), no OS/2 application types. Text, JSON, CSV, tar and
 * CDF (legacy Office, MSI) checks stay: they make the answers specific.
 * The description cookie has the same checks off, only the output differs.
 */
#ifndef MAGIC_NO_COMPRESS_FORK
#define MAGIC_NO_COMPRESS_FORK 0
#endif
#define MIME_MAGIC_CHECKS (MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_COMPRESS_FORK | MAGIC_NO_CHECK_ELF | \
			   MAGIC_NO_CHECK_APPTYPE | MAGIC_NO_CHECK_TOKENS)
#define MIME_MAGIC_FLAGS (MAGIC_MIME_TYPE | MIME_MAGIC_CHECKS)
/* Without MAGIC_RAW libmagic writes bytes it finds unprintable (in the C
 * locale: controls and everything above 0x7e) as \ooo octal escapes. */
#define DESCRIBE_MAGIC_FLAGS (MAGIC_NONE | MIME_MAGIC_CHECKS)

/* one of each per process; workers are single-threaded */
static magic_t cookie, describe_cookie;

static void set_param(magic_t m, int param, size_t v)
{
	(void)magic_setparam(m, param, &v);	/* an old libmagic keeps its default */
}

/* A loaded cookie with these flags and the bounds below, or NULL. */
static magic_t magic_new(int flags)
{
	magic_t m;

	if ((m = magic_open(flags)) == NULL)
		return NULL;
	if (magic_load(m, NULL) != 0) {
		magic_close(m);
		return NULL;	/* tried again next time: a missing database is cheap to retry */
	}
	/* Tighter than libmagic 5.44's defaults (indirections 50, name/use
	 * recursion 50, ELF 2048/32768/256, 7 MiB): bound the work any input can
	 * cause; the database needs far less (the tests pin the answers). */
#ifdef MAGIC_PARAM_INDIR_MAX
	set_param(m, MAGIC_PARAM_INDIR_MAX, 15);
#endif
#ifdef MAGIC_PARAM_NAME_MAX
	set_param(m, MAGIC_PARAM_NAME_MAX, 30);
#endif
#ifdef MAGIC_PARAM_ELF_PHNUM_MAX
	set_param(m, MAGIC_PARAM_ELF_PHNUM_MAX, 128);
#endif
#ifdef MAGIC_PARAM_ELF_SHNUM_MAX
	set_param(m, MAGIC_PARAM_ELF_SHNUM_MAX, 1024);
#endif
#ifdef MAGIC_PARAM_ELF_NOTES_MAX
	set_param(m, MAGIC_PARAM_ELF_NOTES_MAX, 64);
#endif
#ifdef MAGIC_PARAM_BYTES_MAX
	set_param(m, MAGIC_PARAM_BYTES_MAX, MIME_DETECT_MAX);
#endif
#ifdef MAGIC_PARAM_ENCODING_MAX
	set_param(m, MAGIC_PARAM_ENCODING_MAX, MIME_DETECT_MAX);
#endif
	return m;
}

static magic_t mime_magic(void)
{
	if (cookie == NULL)
		cookie = magic_new(MIME_MAGIC_FLAGS);
	return cookie;
}

static magic_t describe_magic(void)
{
	if (describe_cookie == NULL)
		describe_cookie = magic_new(DESCRIBE_MAGIC_FLAGS);
	return describe_cookie;
}

int mime_init(void)
{
	bool ok = mime_magic() != NULL;

	return describe_magic() != NULL && ok ? 0 : -1;
}

/* A media type without parameters: p[0..n), '/' at p[slash]. */
struct mt {
	const char *p;
	size_t n, slash;
};

/* RFC 9110 tchar */
static bool is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parse "type/subtype" at the start of s (leading blanks skipped, anything
 * from ';' or a blank on ignored). False for NULL or a malformed type. */
static bool mt_parse(const char *s, struct mt *m)
{
	size_t i = 0, e, slash = 0;
	int slashes = 0;

	m->p = "";
	m->n = m->slash = 0;
	if (s == NULL)
		return false;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	for (e = i; s[e] != '\0' && s[e] != ';' && s[e] != ' ' && s[e] != '\t'; e++) {
		if (s[e] == '/') {
			slashes++;
			slash = e - i;
		} else if (!is_tchar(s[e])) {
			return false;
		}
	}
	if (slashes != 1 || slash == 0 || slash + 1 == e - i)
		return false;
	m->p = s + i;
	m->n = e - i;
	m->slash = slash;
	return true;
}

static bool mt_is(const struct mt *m, const char *type)
{
	size_t l = strlen(type);

	return m->n == l && strncasecmp(m->p, type, l) == 0;
}

static bool mt_in(const struct mt *m, const char *const *list)
{
	for (; *list != NULL; list++)
		if (mt_is(m, *list))
			return true;
	return false;
}

static bool mt_top(const struct mt *m, const char *top)
{
	size_t l = strlen(top);

	return m->slash == l && strncasecmp(m->p, top, l) == 0;
}

/* The type starts with prefix (which includes the '/'). */
static bool mt_prefix(const struct mt *m, const char *prefix)
{
	size_t l = strlen(prefix);

	return m->n > l && strncasecmp(m->p, prefix, l) == 0;
}

/* The subtype ends with suffix and has something before it. */
static bool mt_suffix(const struct mt *m, const char *suffix)
{
	size_t l = strlen(suffix);

	return m->n - m->slash - 1 > l && strncasecmp(m->p + m->n - l, suffix, l) == 0;
}

/* Extensions. M_STRONG: a type family specific enough that other content
 * under this name is a disguise. M_EXEC: a name executables legitimately
 * have. Unknown extensions are neither (see mime_contradicts). */
enum { M_STRONG = 1, M_EXEC = 2 };

struct ext {
	const char *ext, *type;
	unsigned flags;
};

static const struct ext exts[] = {
	/* text, code, data */
	{ "txt", "text/plain", 0 }, { "text", "text/plain", 0 }, { "log", "text/plain", 0 },
	{ "conf", "text/plain", 0 }, { "cfg", "text/plain", 0 }, { "ini", "text/plain", 0 },
	{ "csv", "text/csv", 0 }, { "tsv", "text/tab-separated-values", 0 },
	{ "md", "text/markdown", 0 }, { "markdown", "text/markdown", 0 },
	{ "rst", "text/x-rst", 0 }, { "html", "text/html", 0 }, { "htm", "text/html", 0 },
	{ "xhtml", "application/xhtml+xml", 0 }, { "xml", "application/xml", 0 },
	{ "xsl", "application/xslt+xml", 0 }, { "xslt", "application/xslt+xml", 0 },
	{ "xsd", "application/xml", 0 }, { "rss", "application/rss+xml", 0 },
	{ "atom", "application/atom+xml", 0 }, { "kml", "application/vnd.google-earth.kml+xml", 0 },
	{ "gpx", "application/gpx+xml", 0 }, { "svg", "image/svg+xml", 0 },
	{ "css", "text/css", 0 }, { "js", "text/javascript", 0 }, { "mjs", "text/javascript", 0 },
	{ "cjs", "text/javascript", 0 }, { "json", "application/json", 0 },
	{ "jsonld", "application/ld+json", 0 }, { "geojson", "application/geo+json", 0 },
	{ "webmanifest", "application/manifest+json", 0 },
	{ "ipynb", "application/x-ipynb+json", 0 }, { "ndjson", "application/x-ndjson", 0 },
	{ "jsonl", "application/x-ndjson", 0 }, { "yaml", "application/yaml", 0 },
	{ "yml", "application/yaml", 0 }, { "toml", "application/toml", 0 },
	{ "sql", "application/sql", 0 }, { "sh", "application/x-sh", 0 },
	{ "bash", "application/x-sh", 0 }, { "py", "text/x-python", 0 },
	{ "rb", "text/x-ruby", 0 }, { "pl", "text/x-perl", 0 },
	{ "php", "application/x-httpd-php", 0 }, { "c", "text/x-c", 0 }, { "h", "text/x-c", 0 },
	{ "cc", "text/x-c++", 0 }, { "cpp", "text/x-c++", 0 }, { "hpp", "text/x-c++", 0 },
	{ "java", "text/x-java", 0 }, { "go", "text/x-go", 0 }, { "rs", "text/x-rust", 0 },
	{ "lua", "text/x-lua", 0 }, { "tex", "application/x-tex", 0 },
	{ "bat", "text/x-msdos-batch", 0 }, { "ics", "text/calendar", 0 },
	{ "vcf", "text/vcard", 0 }, { "vtt", "text/vtt", 0 }, { "srt", "application/x-subrip", 0 },
	{ "diff", "text/x-diff", 0 }, { "patch", "text/x-diff", 0 },
	{ "rtf", "application/rtf", 0 }, { "ps", "application/postscript", 0 },
	{ "eps", "application/postscript", 0 }, { "eml", "message/rfc822", 0 },
	{ "mbox", "application/mbox", 0 },
	/* images */
	{ "png", "image/png", M_STRONG }, { "apng", "image/apng", M_STRONG },
	{ "jpg", "image/jpeg", M_STRONG }, { "jpeg", "image/jpeg", M_STRONG },
	{ "jpe", "image/jpeg", M_STRONG }, { "jfif", "image/jpeg", M_STRONG },
	{ "gif", "image/gif", M_STRONG }, { "webp", "image/webp", M_STRONG },
	{ "avif", "image/avif", M_STRONG }, { "heic", "image/heic", M_STRONG },
	{ "heif", "image/heif", M_STRONG }, { "jxl", "image/jxl", M_STRONG },
	{ "jp2", "image/jp2", M_STRONG }, { "bmp", "image/bmp", M_STRONG },
	{ "ico", "image/vnd.microsoft.icon", M_STRONG }, { "tif", "image/tiff", M_STRONG },
	{ "tiff", "image/tiff", M_STRONG }, { "psd", "image/vnd.adobe.photoshop", M_STRONG },
	/* audio, video */
	{ "mp3", "audio/mpeg", M_STRONG }, { "wav", "audio/wav", M_STRONG },
	{ "ogg", "audio/ogg", M_STRONG }, { "oga", "audio/ogg", M_STRONG },
	{ "opus", "audio/ogg", M_STRONG }, { "flac", "audio/flac", M_STRONG },
	{ "m4a", "audio/mp4", M_STRONG }, { "aac", "audio/aac", M_STRONG },
	{ "mid", "audio/midi", M_STRONG }, { "midi", "audio/midi", M_STRONG },
	{ "aif", "audio/aiff", M_STRONG }, { "aiff", "audio/aiff", M_STRONG },
	{ "weba", "audio/webm", M_STRONG }, { "amr", "audio/amr", M_STRONG },
	{ "mp4", "video/mp4", M_STRONG }, { "m4v", "video/x-m4v", M_STRONG },
	{ "mov", "video/quicktime", M_STRONG }, { "webm", "video/webm", M_STRONG },
	{ "mkv", "video/x-matroska", M_STRONG }, { "avi", "video/x-msvideo", M_STRONG },
	{ "ogv", "video/ogg", M_STRONG }, { "mpg", "video/mpeg", M_STRONG },
	{ "mpeg", "video/mpeg", M_STRONG }, { "3gp", "video/3gpp", M_STRONG },
	{ "3g2", "video/3gpp2", M_STRONG }, { "wmv", "video/x-ms-wmv", M_STRONG },
	{ "flv", "video/x-flv", M_STRONG },
	/* documents */
	{ "pdf", "application/pdf", M_STRONG },
	{ "doc", "application/msword", 0 }, { "xls", "application/vnd.ms-excel", 0 },
	{ "ppt", "application/vnd.ms-powerpoint", 0 }, { "msg", "application/vnd.ms-outlook", 0 },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 0 },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 0 },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", 0 },
	{ "odt", "application/vnd.oasis.opendocument.text", 0 },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet", 0 },
	{ "odp", "application/vnd.oasis.opendocument.presentation", 0 },
	{ "odg", "application/vnd.oasis.opendocument.graphics", 0 },
	{ "epub", "application/epub+zip", 0 },
	/* archives and zip containers */
	{ "zip", "application/zip", M_STRONG }, { "gz", "application/gzip", M_STRONG },
	{ "tgz", "application/gzip", M_STRONG }, { "bz2", "application/x-bzip2", M_STRONG },
	{ "xz", "application/x-xz", M_STRONG }, { "txz", "application/x-xz", M_STRONG },
	{ "zst", "application/zstd", M_STRONG }, { "7z", "application/x-7z-compressed", M_STRONG },
	{ "rar", "application/vnd.rar", M_STRONG }, { "tar", "application/x-tar", M_STRONG },
	{ "lz", "application/x-lzip", M_STRONG }, { "lzma", "application/x-lzma", M_STRONG },
	{ "lz4", "application/x-lz4", M_STRONG },
	{ "cab", "application/vnd.ms-cab-compressed", M_STRONG },
	{ "jar", "application/java-archive", 0 },
	{ "apk", "application/vnd.android.package-archive", 0 },
	{ "xpi", "application/x-xpinstall", 0 }, { "kmz", "application/vnd.google-earth.kmz", 0 },
	{ "cbz", "application/vnd.comicbook+zip", 0 },
	{ "iso", "application/x-iso9660-image", 0 }, { "dmg", "application/x-apple-diskimage", 0 },
	{ "deb", "application/vnd.debian.binary-package", 0 }, { "rpm", "application/x-rpm", 0 },
	/* fonts, other data */
	{ "ttf", "font/ttf", 0 }, { "otf", "font/otf", 0 }, { "woff", "font/woff", 0 },
	{ "woff2", "font/woff2", 0 }, { "eot", "application/vnd.ms-fontobject", 0 },
	{ "wasm", "application/wasm", 0 }, { "sqlite", "application/vnd.sqlite3", 0 },
	{ "swf", "application/x-shockwave-flash", 0 }, { "torrent", "application/x-bittorrent", 0 },
	{ "glb", "model/gltf-binary", 0 }, { "gltf", "model/gltf+json", 0 },
	/* executables and object code */
	{ "exe", "application/vnd.microsoft.portable-executable", M_EXEC },
	{ "dll", "application/vnd.microsoft.portable-executable", M_EXEC },
	{ "sys", "application/vnd.microsoft.portable-executable", M_EXEC },
	{ "scr", "application/vnd.microsoft.portable-executable", M_EXEC },
	{ "efi", "application/vnd.microsoft.portable-executable", M_EXEC },
	{ "msi", "application/x-msi", M_EXEC }, { "lnk", "application/x-ms-shortcut", M_EXEC },
	{ "so", "application/x-sharedlib", M_EXEC }, { "elf", "application/x-executable", M_EXEC },
	{ "out", "application/x-executable", M_EXEC }, { "o", "application/x-object", M_EXEC },
	{ "ko", "application/x-object", M_EXEC }, { "bin", OCTET, M_EXEC },
	{ "dylib", "application/x-mach-binary", M_EXEC }, { "app", OCTET, M_EXEC },
	{ "class", "application/java-vm", M_EXEC },
};

#define EXT_MAX 15	/* longer "extensions" are not extensions */

static const struct ext *ext_lookup(const char *name, size_t n)
{
	size_t i = n, len;

	if (name == NULL)
		return NULL;
	while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
		i--;
	/* i is just past the last '.' (or '/', or 0) */
	if (i < 2 || name[i - 1] != '.' || name[i - 2] == '/')
		return NULL;	/* no dot, or a dot-file such as ".bashrc" */
	len = n - i;
	if (len == 0 || len > EXT_MAX)
		return NULL;
	for (size_t k = 0; k < sizeof(exts) / sizeof(exts[0]); k++)
		if (strlen(exts[k].ext) == len && strncasecmp(exts[k].ext, name + i, len) == 0)
			return &exts[k];
	return NULL;
}

const char *mime_from_name(const char *name, size_t n)
{
	const struct ext *e = ext_lookup(name, n);

	return e != NULL ? e->type : NULL;
}

int mime_detect(const void *p, size_t n, char *out, size_t outsz)
{
	magic_t m = mime_magic();
	const char *r = NULL;
	struct mt t;

	if (n > MIME_DETECT_MAX)
		n = MIME_DETECT_MAX;
	if (m != NULL)
		r = magic_buffer(m, n > 0 ? p : "", n);
	/* the answer ends up in a Content-Type header: only a bare, well-formed
	 * type goes through */
	if (r != NULL && mt_parse(r, &t) && t.p == r && r[t.n] == '\0' && t.n < outsz) {
		for (size_t i = 0; i < t.n; i++)
			out[i] = r[i] >= 'A' && r[i] <= 'Z' ? (char)(r[i] - 'A' + 'a') : r[i];
		out[t.n] = '\0';
		/* libmagic also calls DOS .COM programs x-dosexec, judged by weak
		 * patterns (a jump opcode first...) that about one random file in
		 * forty matches: only an "MZ" header makes it an executable here */
		if (strcmp(out, "application/x-dosexec") == 0 && (n < 2 || memcmp(p, "MZ", 2) != 0) &&
		    outsz > strlen(OCTET))
			memcpy(out, OCTET, sizeof(OCTET));
		return 0;
	}
	if (outsz > strlen(OCTET))
		memcpy(out, OCTET, sizeof(OCTET));
	else if (outsz > 0)
		out[0] = '\0';
	return -1;
}

/* libmagic's answers that tell nothing about the content: binary it does
 * not know, and an input of under two bytes that it does not even try. */
static bool describe_useless(const char *d)
{
	return strcmp(d, "data") == 0 || strcmp(d, "very short file (no magic)") == 0;
}

int mime_describe(const void *p, size_t n, char *out, size_t outsz)
{
	magic_t m = describe_magic();
	const char *r = NULL;
	size_t len;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (n > MIME_DETECT_MAX)
		n = MIME_DETECT_MAX;
	if (m != NULL)
		r = magic_buffer(m, n > 0 ? p : "", n);
	if (r == NULL)
		return -1;
	/* The answer quotes bytes of the content (a gzip member's name, a
	 * volume label...), escaped by libmagic, but it is kept and shown: only
	 * printable UTF-8 goes through, whatever libmagic or its locale does. */
	len = text_printable(r, strlen(r), out, outsz < MIME_DESCRIBE_MAX + 1 ? outsz :
			     MIME_DESCRIBE_MAX + 1);
	if (len == 0 || describe_useless(out)) {
		out[0] = '\0';
		return -1;
	}
	return (int)len;
}

/* Detections that say nothing about the content. */
static bool is_generic(const struct mt *m)
{
	static const char *const l[] = { OCTET, "text/plain", "application/x-empty", NULL };

	return mt_in(m, l) || mt_top(m, "inode");
}

static bool is_empty(const struct mt *m)
{
	return mt_is(m, "application/x-empty") || mt_is(m, "inode/x-empty");
}

/* WHATWG MIME Sniffing, "JavaScript MIME type" */
static bool is_js(const struct mt *m)
{
	static const char *const l[] = {
		"application/ecmascript", "application/javascript", "application/x-ecmascript",
		"application/x-javascript", "text/ecmascript", "text/javascript",
		"text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
		"text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript",
		"text/livescript", "text/x-ecmascript", "text/x-javascript", NULL
	};

	return mt_in(m, l);
}

static bool is_xml(const struct mt *m)
{
	return mt_is(m, "text/xml") || mt_is(m, "application/xml") || mt_suffix(m, "+xml");
}

static bool is_json(const struct mt *m)
{
	return mt_is(m, "application/json") || mt_is(m, "application/x-ndjson") ||
	       mt_suffix(m, "+json");
}

static bool is_textual(const struct mt *m)
{
	static const char *const l[] = {
		"application/x-ndjson", "application/x-sh", "application/x-shellscript",
		"application/x-csh", "application/sql", "application/x-sql", "application/yaml",
		"application/x-yaml", "application/toml", "application/x-toml",
		"application/x-httpd-php", "application/x-php", "application/x-perl",
		"application/x-tex", "application/x-latex", "application/x-troff",
		"application/x-subrip", "application/rtf", "application/postscript",
		"application/mbox", "message/rfc822", NULL
	};

	return mt_top(m, "text") || is_xml(m) || is_json(m) || is_js(m) || mt_in(m, l);
}

static bool is_exec(const struct mt *m)
{
	static const char *const l[] = {
		"application/x-executable", "application/x-pie-executable",
		"application/x-sharedlib", "application/x-object", "application/x-coredump",
		"application/x-elf", "application/x-dosexec", "application/x-dosdriver",
		"application/vnd.microsoft.portable-executable", "application/x-msdownload",
		"application/x-msdos-program", "application/x-ms-ne-executable",
		"application/x-ms-w3-executable", "application/x-ms-w4-executable",
		"application/x-lx-executable", "application/x-mach-binary",
		"application/x-mach-o-executable", "application/x-msi",
		"application/x-ms-installer", "application/x-ms-shortcut",
		"application/x-java-applet", "application/java-vm", NULL
	};

	return mt_in(m, l);
}

/* Zip files whose extension names what is inside. */
static bool is_zip_container(const struct mt *m)
{
	static const char *const l[] = {
		"application/java-archive", "application/vnd.android.package-archive",
		"application/x-xpinstall", "application/vnd.google-earth.kmz", NULL
	};

	return mt_in(m, l) || mt_suffix(m, "+zip") ||
	       mt_prefix(m, "application/vnd.openxmlformats-officedocument.") ||
	       mt_prefix(m, "application/vnd.oasis.opendocument.");
}

/* OLE2 compound files (CDF): legacy Office, Outlook, MSI. */
static bool is_ole(const struct mt *m)
{
	return mt_is(m, "application/x-ole-storage") || mt_is(m, "application/cdfv2") ||
	       mt_prefix(m, "application/cdfv2-");	/* -encrypted, -corrupt, -unknown */
}

static bool is_ole_doc(const struct mt *m)
{
	static const char *const l[] = {
		"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
		"application/vnd.ms-outlook", "application/x-msi", NULL
	};

	return mt_in(m, l);
}

enum family { F_OTHER, F_MEDIA, F_PDF, F_ARCHIVE };

/* Image, audio and video are one family: RIFF (WebP, WAV, AVI), ISO BMFF
 * (HEIC, AVIF, MP4) and Ogg blur the lines and none of them is a threat
 * named as another. */
static enum family family(const struct mt *m)
{
	static const char *const media[] = {
		"application/ogg", "application/mp4", "application/mxf",
		"application/vnd.rn-realmedia", "application/x-riff", NULL
	};
	static const char *const archive[] = {
		"application/zip", "application/x-zip", "application/x-zip-compressed",
		"application/gzip", "application/x-gzip", "application/x-bzip2",
		"application/x-bzip", "application/x-xz", "application/zstd", "application/x-zstd",
		"application/x-7z-compressed", "application/x-rar", "application/vnd.rar",
		"application/x-rar-compressed", "application/x-tar", "application/x-gtar",
		"application/x-ustar", "application/x-lzip", "application/x-lzma",
		"application/x-lz4", "application/x-lrzip", "application/x-compress",
		"application/vnd.ms-cab-compressed", "application/x-cpio", "application/x-archive",
		"application/x-rpm", "application/vnd.debian.binary-package", NULL
	};

	if (mt_top(m, "image") || mt_top(m, "audio") || mt_top(m, "video") || mt_in(m, media))
		return F_MEDIA;
	if (mt_is(m, "application/pdf"))
		return F_PDF;
	if (mt_in(m, archive) || is_zip_container(m))
		return F_ARCHIVE;
	return F_OTHER;
}

static bool is_active(const struct mt *m)
{
	static const char *const l[] = {
		"text/html", "text/xsl", "application/x-shockwave-flash",
		"application/futuresplash", "application/vnd.adobe.flash-movie",
		"multipart/x-mixed-replace", NULL
	};

	return is_xml(m) || is_js(m) || mt_in(m, l);
}

const char *mime_choose(const char *name, size_t n, const char *detected)
{
	const struct ext *e = ext_lookup(name, n);
	struct mt d, t;

	if (!mt_parse(detected, &d))
		return OCTET;
	if (is_empty(&d))
		return e != NULL ? e->type : OCTET;
	if (e == NULL)
		return detected;
	(void)mt_parse(e->type, &t);
	/* text/plain and libmagic's text/x-<language> guesses */
	if (mt_is(&d, "text/plain") || mt_prefix(&d, "text/x-"))
		return is_textual(&t) ? e->type : detected;
	if ((is_xml(&d) && mt_suffix(&t, "+xml")) ||
	    (mt_is(&d, "text/html") && mt_is(&t, "application/xhtml+xml")) ||
	    (mt_is(&d, "application/json") && is_json(&t)) ||
	    (is_js(&d) && is_js(&t)) ||
	    ((mt_is(&d, "application/zip") || mt_is(&d, "application/x-zip")) &&
	     is_zip_container(&t)) ||
	    (is_ole(&d) && is_ole_doc(&t)))
		return e->type;
	return detected;
}

bool mime_contradicts(const char *name, size_t n, const char *detected)
{
	const struct ext *e = ext_lookup(name, n);
	struct mt d, t;

	if (e == NULL || !mt_parse(detected, &d) || is_generic(&d))
		return false;
	if (is_exec(&d))
		return !(e->flags & M_EXEC);
	if (!(e->flags & M_STRONG))
		return false;
	(void)mt_parse(e->type, &t);
	return is_active(&d) || family(&d) != family(&t);
}

bool mime_is_active(const char *type)
{
	struct mt m;

	return !mt_parse(type, &m) || is_active(&m);
}

bool mime_compressible(const char *type)
{
	static const char *const l[] = {
		OCTET, "application/x-tar", "application/x-gtar", "application/x-ustar",
		"application/x-cpio", "application/x-archive", "application/wasm",
		"font/ttf", "font/otf", "font/sfnt", "font/collection", "application/x-font-ttf",
		"application/x-font-otf", "application/font-sfnt", "application/vnd.ms-fontobject",
		"application/vnd.ms-opentype",
		"image/bmp", "image/x-ms-bmp", "image/x-bmp", "image/tiff",
		"image/vnd.microsoft.icon", "image/x-icon", "image/x-portable-anymap",
		"image/x-portable-arbitrarymap", "image/x-portable-bitmap",
		"image/x-portable-graymap", "image/x-portable-greymap", "image/x-portable-pixmap",
		"image/vnd.adobe.photoshop", "image/x-xcf", "image/x-tga", "image/x-xbitmap",
		"image/x-xpixmap",
		"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/aiff",
		"audio/x-aiff",
		"application/vnd.sqlite3", "application/x-sqlite3", "application/msword",
		"application/vnd.ms-excel", "application/vnd.ms-powerpoint",
		"application/vnd.ms-outlook", NULL
	};
	struct mt m;

	if (!mt_parse(type, &m))
		return false;
	return is_textual(&m) || is_exec(&m) || is_ole(&m) || mt_in(&m, l);
}

/* Does the pattern p[0..n) match m (valid says whether m parsed)? */
static bool pattern_match(const char *p, size_t n, const struct mt *m, bool valid)
{
	if ((n == 1 && p[0] == '*') || (n == 3 && memcmp(p, "*/*", 3) == 0))
		return true;
	if (!valid)
		return false;
	if (n >= 2 && p[n - 2] == '/' && p[n - 1] == '*')
		return n - 1 == m->slash + 1 && strncasecmp(p, m->p, n - 1) == 0;
	return n == m->n && strncasecmp(p, m->p, n) == 0;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r';
}

/* -1: the list has no pattern; 1: a pattern matches; 0: none does. */
static int list_match(const char *list, const struct mt *m, bool valid)
{
	size_t i = 0;
	int r = -1;

	if (list == NULL)
		return -1;
	while (list[i] != '\0') {
		size_t s;

		if (is_sep(list[i])) {
			i++;
			continue;
		}
		for (s = i; list[i] != '\0' && !is_sep(list[i]); i++)
			;
		if (pattern_match(list + s, i - s, m, valid))
			return 1;
		r = 0;
	}
	return r;
}

bool mime_allowed(const char *allow, const char *block, const char *type)
{
	struct mt m;
	bool valid = mt_parse(type, &m);

	if (list_match(block, &m, valid) == 1)
		return false;
	return list_match(allow, &m, valid) != 0;
}
