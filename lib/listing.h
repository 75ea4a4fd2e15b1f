/*
 * listing: the parameters of a folder listing (GET /api/files, GET
 * /api/folders/:id) from a raw query string: folder_id, sort, order, type,
 * mime, name, limit and the keyset cursor. Every value is checked against a
 * whitelist or a strict shape here, before any of it reaches SQL (as a
 * parameter). A cursor is bound to the parameters it was made for: used
 * with others it is refused.
 */
#ifndef COFFER_LISTING_H
#define COFFER_LISTING_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

enum listing_sort { LISTING_NAME, LISTING_SIZE, LISTING_CREATED, LISTING_UPDATED, LISTING_TYPE,
		    LISTING_NSORTS };

#define LISTING_MAX_ERRORS 8
#define LISTING_DEFAULT    100
#define LISTING_MAX        1000

typedef struct listing_error {
	const char *field;
	const char *message;
} listing_error_t;

typedef struct listing {
	const char *folder_id;   /* from ?folder_id= (a UUID), or NULL */
	int sort;                /* enum listing_sort */
	bool desc;
	const char *type;        /* a category (static string) or NULL */
	const char *mime;        /* a MIME type or prefix, or NULL */
	const char *name;        /* a name substring (UTF-8), or NULL */
	int limit;
	/* the cursor, when given: the last item of the previous page */
	bool after;
	char after_kind;         /* 'd' folder, 'f' file */
	const char *after_key;   /* leading sort key as text ("-" when the sort has none) */
	const char *after_name;  /* hex of the item's lower-cased name */
	const char *after_id;
	/* what went wrong: cursor problems come alone, with field "cursor" */
	listing_error_t errors[LISTING_MAX_ERRORS];
	int nerrors;
	bool malformed;          /* the query string itself is malformed */
} listing_t;

extern const char *const listing_sort_names[LISTING_NSORTS];

/* Parse q[0..n). with_folder: whether folder_id is a parameter here.
 * Returns 0, or -1 with l->errors (or l->malformed) set. The folder the
 * listing is of (folder, never NULL) binds the cursor. */
int listing_parse(arena_t *a, const char *q, size_t n, bool with_folder, const char *folder,
		  listing_t *l);
/* Does the sort have a leading key (besides the name) for this kind? */
bool listing_keyed(int sort, char kind);
/* The cursor after an item of the listing l over folder. */
char *listing_cursor(arena_t *a, const listing_t *l, const char *folder, char kind,
		     const char *key, const char *name_hex, const char *id);

#endif
