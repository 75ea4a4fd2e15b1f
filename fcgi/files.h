/* files: what upload.c and files.c share (validation and storing a file). */
#ifndef COFFER_FILES_H
#define COFFER_FILES_H

#include <json-c/json.h>

#include "blob.h"
#include "request.h"

#define FILES_DESCRIPTION_MAX 4096

typedef struct files_stored {
	json_object *file;      /* on success: the file object (owned by the caller) */
	json_object *problem;   /* on failure: the problem (owned by the caller) */
} files_stored_t;

/* May the caller add files to the live folder v[0..n)? 0 yes, else the
 * status to answer: 400 not a UUID, 404 none they can see, 403 they may
 * only look, 503 database down. */
int files_folder_check(req_t *r, const char *v, size_t n);
/* "version", "rename" or "fail" (static strings), NULL for anything else. */
const char *files_policy(const char *v, size_t n);
/* What the upload learned of the content (lib/extract), kept with the blob. */
typedef struct files_found {
	const char *metadata;   /* JSON object text, or NULL */
	const char *text;       /* text for the search index (valid UTF-8), or NULL */
	bool text_later;        /* a PDF: the jobs process extracts its text */
} files_found_t;

/* Record an uploaded file whose finished temp blob is t (sha its digest) in
 * one transaction, with what was found in it, put the blob in place and log
 * the upload. Returns 201 with out->file, or the status of out->problem. t
 * is consumed on success; on failure the caller discards it. */
int files_store(req_t *r, blob_tmp_t *t, const unsigned char sha[32], const char *folder_id,
		const char *name, const char *mime, const char *description,
		const char *tags_json, const char *policy, const files_found_t *found,
		files_stored_t *out);

/* Who downloads: the file, the user asking (NULL through a link) and the
 * share link it goes through (NULL for a user). item_permissions() decides;
 * the download is logged in the owner's activity. */
typedef struct dl_who {
	const char *file_id;
	const char *user_id;
	const char *share_id;
} dl_who_t;

/* Answer GET (or HEAD) of a file's content (version NULL: the current one):
 * preconditions, Range, X-Accel-Redirect to the blob; counted and logged.
 * 404 when whoever asks may not download it. */
void files_download(req_t *r, const dl_who_t *who, const char *version);

/* Pending download counts and log entries (see files.c): milliseconds until
 * they are due to be written, 0 now, -1 when there are none. */
long long files_downloads_due(void);
/* Write them when due (or now with force); called between requests. */
void files_downloads_flush(db_t *db, arena_t *a, bool force);

#endif
