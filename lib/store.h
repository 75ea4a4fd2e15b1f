/*
 * store: upkeep of the blob store, shared by the background jobs process
 * and the admin CLI. Compression runs here, off the upload path: a new
 * blob of a compressible type whose first 64 KiB deflate by at least 10% is
 * gzipped to a temp file, verified (decompressed and hashed again), put in
 * place as <hex>.gz and recorded; the raw copy stays until raw_grace has
 * passed, so downloads already redirected to it finish. Garbage collection
 * removes blobs no version references, files on disk that no row accounts
 * for, and temp files left by crashed uploads. The text of PDFs and the
 * metadata and text of content stored before uploads extracted them are
 * taken from the stored blobs here too.
 *
 * Concurrency with uploads: file_store() (migrations/003) locks the blob
 * row before the uploader puts its file in place; gc deletes a row (which
 * waits for that lock) and unlinks the files before committing, so an
 * upload either sees the row gone and places its own copy, or keeps the row.
 */
#ifndef COFFER_STORE_H
#define COFFER_STORE_H

#include "arena.h"
#include "config.h"
#include "db.h"

typedef struct store_stats {
	long long compressed;       /* blobs now stored gzipped */
	long long not_compressible; /* looked at, left raw */
	long long raw_removed;      /* raw copies of compressed blobs removed */
	long long blobs_removed;    /* unreferenced blobs (rows and files) removed */
	long long orphans_removed;  /* files on disk without a matching row */
	long long temps_removed;    /* stale temp files */
	long long repaired;         /* rows corrected to match the files on disk */
	long long bytes_freed;
} store_stats_t;

/* Claim up to limit blobs not yet considered for compression and settle
 * them (compressed, or left raw for good). Returns how many were settled
 * (0: nothing to do, or only passing failures), or a db error (< 0). */
int store_compress_pass(db_t *db, arena_t *a, const config_t *cfg, int limit,
			store_stats_t *st);
/* Remove raw copies of blobs compressed more than grace seconds ago. */
int store_remove_raw(db_t *db, arena_t *a, const config_t *cfg, int grace, store_stats_t *st);
/* Garbage collection; files younger than grace seconds are left alone. */
int store_gc(db_t *db, arena_t *a, const config_t *cfg, int grace, store_stats_t *st);

/* Text of PDF blobs for the search index (migration 012): claim up to
 * limit blobs marked text_pending, run pdftotext on each (at most
 * STORE_PDF_SECONDS, its first 1 MiB of text kept) and store the text.
 * Nothing happens when cfg->pdftotext is not an executable. Returns how
 * many were claimed, or a db error (< 0). */
#define STORE_PDF_SECONDS 60
int store_text_pass(db_t *db, arena_t *a, const config_t *cfg, int limit, long long *extracted);

/* Metadata and text of content stored before the upload extracted them
 * (migration 013 marks those blobs extract_pending): claim marked blobs
 * one at a time, oldest first, by clearing the mark (committed at once, so
 * none is tried twice), up to limit; read the start of each from the store
 * (a .gz decompressed on the way; EXTRACT_IMAGE_SCAN bytes, or the first
 * 1 MiB when its type is text-like and it has no text yet) and store what
 * an upload would have: blobs.metadata (extract_metadata), its blob_text,
 * or for a PDF the text_pending mark that store_text_pass takes. A blob
 * that cannot be read, or that gc removed meanwhile, is left without (and
 * logged when unreadable). Returns how many were claimed (limit: there may
 * be more), or a db error (< 0); *done grows by those that got something. */
int store_extract_pass(db_t *db, arena_t *a, const config_t *cfg, int limit, long long *done);

typedef struct store_check {
	long long users;            /* users whose usage was recomputed */
	long long usage_drift;      /* ... whose storage_used disagreed with their rows */
	long long usage_repaired;
	long long usage_over_quota; /* drifted, but the true usage is over the quota: not repaired */
	long long refs_drift;       /* blobs whose ref_count disagreed with the versions */
	long long refs_repaired;
	long long blobs;            /* referenced blobs read back */
	long long blobs_missing;    /* ... whose file is not on the volume */
	long long blobs_corrupt;    /* ... whose content does not hash to their name */
	long long bytes_read;
} store_check_t;

/* Check the store against itself: recompute every user's usage and every
 * blob's reference count from the rows (with repair, correct each one
 * that drifted, under the row lock the usage triggers take, so concurrent
 * uploads stay counted), then read every referenced blob back from the
 * volume and hash it. Each finding is reported through say(). Returns
 * DB_OK or a db error. */
int store_check(db_t *db, arena_t *a, const config_t *cfg, bool repair,
		void (*say)(void *ctx, const char *line), void *ctx, store_check_t *st);

#endif
