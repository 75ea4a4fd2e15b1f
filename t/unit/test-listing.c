/*
 * test-listing: listing parameters. Defaults; every sort, order, type;
 * mime and name shapes; limit bounds; several errors reported together;
 * malformed query strings; and cursors: a cursor made for a listing is
 * accepted by the same listing (same folder, sort, order and filters) and
 * refused by any other, and forged cursors with bad kinds, keys, names or
 * ids are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "listing.h"
#include "tap.h"

#define ROOT "0daabd72-6436-4912-b886-73d1b2f47475"
#define ID   "258c9d0d-85c7-4a63-9158-c14520e34ff1"

static int parse(arena_t *a, const char *q, bool with_folder, listing_t *l)
{
	char *in = dup_exact(q, strlen(q));
	int rc = listing_parse(a, in, strlen(q), with_folder, ROOT, l);

	free(in);
	return rc;
}

static bool has_error(const listing_t *l, const char *field)
{
	for (int i = 0; i < l->nerrors; i++)
		if (strcmp(l->errors[i].field, field) == 0)
			return true;
	return false;
}

static void defaults(arena_t *a)
{
	listing_t l;

	is_int(parse(a, "", true, &l), 0, "empty query: ok");
	ok(l.folder_id == NULL && l.sort == LISTING_NAME && !l.desc && l.type == NULL &&
	   l.mime == NULL && l.name == NULL && l.limit == LISTING_DEFAULT && !l.after,
	   "defaults: root, name, asc, no filters, 100, no cursor");
	is_int(parse(a, "folder_id=" ID "&sort=size&order=desc&type=image&mime=image/&name=Cat&limit=7",
		     true, &l), 0, "every parameter");
	ok(l.folder_id && strcmp(l.folder_id, ID) == 0, "folder_id");
	ok(l.sort == LISTING_SIZE && l.desc && strcmp(l.type, "image") == 0 &&
	   strcmp(l.mime, "image/") == 0 && strcmp(l.name, "Cat") == 0 && l.limit == 7, "values");
	is_int(parse(a, "folder_id=" ID, false, &l), 0, "folder_id ignored where not a parameter");
	ok(l.folder_id == NULL, "... and not taken");
	for (int i = 0; i < LISTING_NSORTS; i++) {
		char q[64];

		snprintf(q, sizeof(q), "sort=%s", listing_sort_names[i]);
		is_int(parse(a, q, true, &l), 0, "sort=%s", listing_sort_names[i]);
		is_int(l.sort, i, "... parsed");
	}
	is_int(parse(a, "name=%C3%A9t%C3%A9", true, &l), 0, "UTF-8 name");
	is_str(l.name, "\xc3\xa9t\xc3\xa9", "... decoded");
	is_int(parse(a, "limit=1000", true, &l), 0, "limit 1000");
	is_int(l.limit, 1000, "... parsed");
}

static void errors(arena_t *a)
{
	listing_t l;
	static const char *const bad[][2] = {
		{ "sort=Name", "sort" }, { "sort=", "sort" }, { "order=up", "order" },
		{ "type=images", "type" }, { "mime=", "mime" }, { "mime=text/plain;x=1", "mime" },
		{ "name=", "name" }, { "name=%FF", "name" }, { "name=a%00b", "name" },
		{ "limit=0", "limit" }, { "limit=1001", "limit" }, { "limit=abc", "limit" },
		{ "limit=-1", "limit" }, { "folder_id=root", "folder_id" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(parse(a, bad[i][0], true, &l), -1, "%s refused", bad[i][0]);
		ok(has_error(&l, bad[i][1]) && !l.malformed, "... as a %s error", bad[i][1]);
	}
	is_int(parse(a, "sort=x&order=y&type=z", true, &l), -1, "three bad values");
	is_int(l.nerrors, 3, "... three errors");
	is_int(parse(a, "name=%zz", true, &l), -1, "bad escape");
	ok(l.malformed, "... is a malformed query");
}

static const char *cursor_for(arena_t *a, const char *q, char kind, const char *key)
{
	listing_t l;

	if (parse(a, q, true, &l) != 0)
		return "";
	return listing_cursor(a, &l, l.folder_id ? l.folder_id : ROOT, kind, key, "6361742e6a7067", ID);
}

static void cursors(arena_t *a)
{
	listing_t l;
	const char *c;
	char q[4096];

	c = cursor_for(a, "sort=size", 'f', "1234");
	snprintf(q, sizeof(q), "sort=size&cursor=%s", c);
	is_int(parse(a, q, true, &l), 0, "a cursor works for its own listing");
	ok(l.after && l.after_kind == 'f' && strcmp(l.after_key, "1234") == 0 &&
	   strcmp(l.after_name, "6361742e6a7067") == 0 && strcmp(l.after_id, ID) == 0,
	   "... and carries the last item");
	snprintf(q, sizeof(q), "sort=size&limit=5&cursor=%s", c);
	is_int(parse(a, q, true, &l), 0, "... whatever the page size");
	static const char *const others[] = { "sort=name", "sort=size&order=desc", "sort=size&type=text",
					      "sort=size&mime=image/", "sort=size&name=a",
					      ("sort=size&folder_id=" ID) };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		snprintf(q, sizeof(q), "%s&cursor=%s", others[i], c);
		is_int(parse(a, q, true, &l), -1, "refused by another listing: %s", others[i]);
		ok(has_error(&l, "cursor"), "... as a cursor error");
	}
	c = cursor_for(a, "", 'd', NULL);
	snprintf(q, sizeof(q), "cursor=%s", c);
	is_int(parse(a, q, true, &l), 0, "name sort: no key");
	is_str(l.after_key, "-", "... '-' stands for it");
	c = cursor_for(a, "sort=type", 'd', NULL);
	snprintf(q, sizeof(q), "sort=type&cursor=%s", c);
	is_int(parse(a, q, true, &l), 0, "type sort, folder: no key");
	c = cursor_for(a, "sort=created_at", 'f', "2026-11-26 02:36:25.123456+00");
	snprintf(q, sizeof(q), "sort=created_at&cursor=%s", c);
	is_int(parse(a, q, true, &l), 0, "timestamp key");

	/* forged: right signature, wrong contents */
	{
		listing_t base;
		const char *parts[5];
		static const char *const forged[][3] = {
			{ "x", "12", ID }, { "f", "", ID }, { "f", "12a", ID }, { "f", "12", "nope" },
			{ "f", "-", ID }, { "f", "99999999999999999999", ID },
		};

		parse(a, "sort=size", true, &base);
		/* take the signature of a genuine cursor */
		cursor_decode(a, cursor_for(a, "sort=size", 'f', "1"), strlen(cursor_for(a, "sort=size", 'f', "1")),
			      parts, 5);
		for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
			const char *p[5] = { parts[0], forged[i][0], forged[i][1], "6162", forged[i][2] };
			char *fc;

			if (p[2][0] == '\0')
				p[2] = "-";
			fc = cursor_encode(a, p, 5);
			snprintf(q, sizeof(q), "sort=size&cursor=%s", fc);
			is_int(parse(a, q, true, &l), -1, "forged cursor %zu refused", i);
		}
		{
			const char *p[5] = { parts[0], "f", "1", "6G", ID };

			snprintf(q, sizeof(q), "sort=size&cursor=%s", cursor_encode(a, p, 5));
			is_int(parse(a, q, true, &l), -1, "a name that is not hex refused");
		}
	}
	is_int(parse(a, "cursor=garbage", true, &l), -1, "garbage cursor refused");
	ok(has_error(&l, "cursor"), "... as a cursor error");
}

int main(void)
{
	arena_t *a = arena_new();

	defaults(a);
	errors(a);
	cursors(a);
	arena_free(a);
	return done_testing();
}
