/* folders: what other handlers use of folder listings (folders.c). */
#ifndef COFFER_FOLDERS_H
#define COFFER_FOLDERS_H

#include "buf.h"
#include "listing.h"
#include "request.h"

/* The listing parameters of the request (lib/listing); answers 400 and
 * returns -1 on bad ones. folder: the folder listed when ?folder_id= is
 * absent (binds the cursor). */
int folders_listing_parse(req_t *r, listing_t *q, bool with_folder, const char *folder);
/* Append '"items": [...], "next_cursor": ...' of the listing of folder to
 * out. perms: the caller's permissions object on every item (JSON text), or
 * NULL for the owner's; root: the folder that paths start at (a share
 * link's folder), or NULL for the owner's full paths. Answers and returns
 * -1 on failure. */
int folders_listing(req_t *r, const listing_t *q, const char *folder, const char *perms,
		    const char *root, buf_t *out);

#endif
