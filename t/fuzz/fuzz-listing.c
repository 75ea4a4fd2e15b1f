/*
 * fuzz-listing: listing parameters (listing_parse) from arbitrary query
 * strings. Invariants: a successful parse leaves only whitelisted or
 * well-shaped values (a known sort, a category, a MIME prefix of allowed
 * characters, a UTF-8 name of 1-255 bytes, a limit of 1-1000, a UUID
 * folder) and a cursor, when taken, has a kind of 'd' or 'f', a hex name
 * and a UUID id; a failed parse says why (malformed, or 1..LISTING_MAX_ERRORS
 * errors); and the cursor made for a parsed listing is accepted by that
 * same listing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "listing.h"
#include "text.h"
#include "fuzz.h"

#define ROOT "0daabd72-6436-4912-b886-73d1b2f47475"
#define ID   "258c9d0d-85c7-4a63-9158-c14520e34ff1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	char *q = dup_exact(data, size);
	listing_t l;
	int rc = listing_parse(a, q, size, size % 2 == 0, ROOT, &l);

	if (rc == 0) {
		CHECK(l.sort >= 0 && l.sort < LISTING_NSORTS);
		CHECK(l.limit >= 1 && l.limit <= LISTING_MAX);
		CHECK(l.nerrors == 0 && !l.malformed);
		if (l.folder_id)
			CHECK(text_uuid_valid(l.folder_id, strlen(l.folder_id)));
		if (l.mime)
			CHECK(strlen(l.mime) >= 1 && strlen(l.mime) <= 255 && !strchr(l.mime, '\''));
		if (l.name)
			CHECK(strlen(l.name) >= 1 && strlen(l.name) <= 255 &&
			      text_utf8_valid(l.name, strlen(l.name)));
		if (l.after) {
			CHECK(l.after_kind == 'd' || l.after_kind == 'f');
			CHECK(text_uuid_valid(l.after_id, strlen(l.after_id)));
			CHECK(strspn(l.after_name, "0123456789abcdef") == strlen(l.after_name));
		} else {
			/* the cursor of this listing is accepted by it */
			const char *folder = l.folder_id ? l.folder_id : ROOT;
			const char *key = l.sort == LISTING_SIZE ? "42" :
					  l.sort == LISTING_TYPE ? "746578742f706c61696e" :
					  l.sort == LISTING_NAME ? NULL : "2026-11-26 02:36:25.5+00";
			char *c = listing_cursor(a, &l, folder, 'f', key, "61", ID);
			size_t cn = strlen(c);
			char *q2 = malloc(size + cn + 9);
			listing_t l2;

			memcpy(q2, "cursor=", 7);
			memcpy(q2 + 7, c, cn);
			q2[7 + cn] = '&';
			memcpy(q2 + 8 + cn, q, size);
			if (listing_parse(a, q2, size + cn + 8, size % 2 == 0, ROOT, &l2) == 0)
				CHECK(l2.after && l2.after_kind == 'f' && strcmp(l2.after_id, ID) == 0);
			free(q2);
		}
	} else {
		CHECK(rc == -1);
		CHECK(l.malformed || (l.nerrors >= 1 && l.nerrors <= LISTING_MAX_ERRORS));
	}
	free(q);
	arena_free(a);
	return 0;
}
