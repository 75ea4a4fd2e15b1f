/* listing: folder-listing parameters; see listing.h. */
#include "listing.h"

#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "http.h"
#include "text.h"

const char *const listing_sort_names[LISTING_NSORTS] = { "name", "size", "created_at",
							  "updated_at", "type" };

static const char *const categories[] = { "image", "video", "audio", "document", "archive",
					  "text", "other" };

static void add_error(listing_t *l, const char *field, const char *message)
{
	if (l->nerrors < LISTING_MAX_ERRORS) {
		l->errors[l->nerrors].field = field;
		l->errors[l->nerrors].message = message;
		l->nerrors++;
	}
}

static bool hex_valid(const char *s, size_t n)
{
	if (n % 2 || n > 2048)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool listing_keyed(int sort, char kind)
{
	if (sort == LISTING_NAME)
		return false;
	if (sort == LISTING_TYPE)
		return kind == 'f';   /* folders have no type: they sort by name */
	return true;
}

/* The leading key as the database writes it: a size, a timestamp
 * (timestamptz text) or the hex of a MIME type. */
static bool key_valid(int sort, const char *s, size_t n)
{
	switch (sort) {
	case LISTING_SIZE:
		return n > 0 && n <= 19 && strspn(s, "0123456789") == n;
	case LISTING_CREATED:
	case LISTING_UPDATED:
		return n >= 10 && n <= 40 && strspn(s, "0123456789-:. +") == n;
	default:
		return n > 0 && hex_valid(s, n);
	}
}

/* FNV-1a over what a cursor pages through, as 16 hex digits. */
static void signature(const listing_t *l, const char *folder, char out[17])
{
	const char *bind[6] = { folder, listing_sort_names[l->sort], l->desc ? "d" : "a",
				l->type ? l->type : "", l->mime ? l->mime : "",
				l->name ? l->name : "" };
	unsigned long long h = 1469598103934665603ULL;

	for (int i = 0; i < 6; i++) {
		for (const unsigned char *c = (const unsigned char *)bind[i]; *c; c++)
			h = (h ^ *c) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	snprintf(out, 17, "%016llx", h);
}

/* Look up key: 1 found (*v, *vn), 0 absent, -1 malformed query. */
static int get(arena_t *a, const char *q, size_t n, const char *key, char **v, size_t *vn,
	       listing_t *l)
{
	int rc = http_query_get(a, q, n, key, v, vn);

	if (rc < 0)
		l->malformed = true;
	return rc;
}

static void parse_cursor(arena_t *a, const char *c, size_t cn, const char *folder, listing_t *l)
{
	const char *p[5];
	char sig[17];

	signature(l, folder, sig);
	if (cursor_decode(a, c, cn, p, 5) < 0 || strcmp(p[0], sig) != 0 ||
	    (strcmp(p[1], "d") != 0 && strcmp(p[1], "f") != 0)) {
		add_error(l, "cursor", "is invalid, or belongs to a listing with other parameters");
		return;
	}
	l->after_kind = p[1][0];
	if ((listing_keyed(l->sort, l->after_kind) ? !key_valid(l->sort, p[2], strlen(p[2]))
						    : strcmp(p[2], "-") != 0) ||
	    !hex_valid(p[3], strlen(p[3])) || !text_uuid_valid(p[4], strlen(p[4]))) {
		add_error(l, "cursor", "is invalid, or belongs to a listing with other parameters");
		return;
	}
	l->after = true;
	l->after_key = p[2];
	l->after_name = p[3];
	l->after_id = p[4];
}

int listing_parse(arena_t *a, const char *q, size_t n, bool with_folder, const char *folder,
		  listing_t *l)
{
	char *v;
	size_t vn;
	int rc;
	long long lim;

	memset(l, 0, sizeof(*l));
	l->limit = LISTING_DEFAULT;
	if (with_folder && (rc = get(a, q, n, "folder_id", &v, &vn, l)) == 1) {
		if (text_uuid_valid(v, vn))
			l->folder_id = v;
		else
			add_error(l, "folder_id", "must be a folder ID");
	}
	if ((rc = get(a, q, n, "sort", &v, &vn, l)) == 1) {
		l->sort = -1;
		for (int i = 0; i < LISTING_NSORTS; i++)
			if (text_is(v, vn, listing_sort_names[i]))
				l->sort = i;
		if (l->sort < 0) {
			l->sort = LISTING_NAME;
			add_error(l, "sort", "must be name, size, created_at, updated_at or type");
		}
	}
	if ((rc = get(a, q, n, "order", &v, &vn, l)) == 1) {
		if (text_is(v, vn, "desc"))
			l->desc = true;
		else if (!text_is(v, vn, "asc"))
			add_error(l, "order", "must be asc or desc");
	}
	if ((rc = get(a, q, n, "type", &v, &vn, l)) == 1) {
		for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
			if (text_is(v, vn, categories[i]))
				l->type = categories[i];
		if (l->type == NULL)
			add_error(l, "type", "must be image, video, audio, document, archive, text "
				  "or other");
	}
	if ((rc = get(a, q, n, "mime", &v, &vn, l)) == 1) {
		if (vn == 0 || vn > 255 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&^_.+-/") != vn)
			add_error(l, "mime", "must be a MIME type or its prefix, e.g. image/");
		else
			l->mime = v;
	}
	if ((rc = get(a, q, n, "name", &v, &vn, l)) == 1) {
		if (vn == 0 || vn > 255 || memchr(v, '\0', vn) || !text_utf8_valid(v, vn))
			add_error(l, "name", "must be 1-255 bytes of UTF-8");
		else
			l->name = v;
	}
	if ((rc = get(a, q, n, "limit", &v, &vn, l)) == 1) {
		if (text_parse_uint(v, vn, LISTING_MAX, &lim) < 0 || lim < 1)
			add_error(l, "limit", "must be an integer from 1 to 1000");
		else
			l->limit = (int)lim;
	}
	if (l->malformed)
		return -1;
	if (l->nerrors > 0)
		return -1;
	if ((rc = get(a, q, n, "cursor", &v, &vn, l)) == 1)
		parse_cursor(a, v, vn, l->folder_id ? l->folder_id : folder, l);
	return l->malformed || l->nerrors > 0 ? -1 : 0;
}

char *listing_cursor(arena_t *a, const listing_t *l, const char *folder, char kind,
		     const char *key, const char *name_hex, const char *id)
{
	char sig[17], k[2] = { kind, '\0' };
	/* cursor parts are never empty: "-" stands for no key */
	const char *parts[5] = { sig, k, listing_keyed(l->sort, kind) ? key : "-", name_hex, id };

	signature(l, folder, sig);
	return cursor_encode(a, parts, 5);
}
