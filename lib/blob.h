/*
 * blob: the content-addressed store on the shared volume. A blob lives at
 *   <blob_dir>/<hex[0:2]>/<hex[2:4]>/<hex>      (raw)
 *   <blob_dir>/<hex[0:2]>/<hex[2:4]>/<hex>.gz   (gzip, RFC 1952)
 * where hex is the SHA-256 of the original content, so no user input ever
 * reaches a path. New content is written to <blob_dir>/tmp/, hashed on the
 * way (OpenSSL EVP, which uses the CPU's SHA instructions), fsynced, and
 * renamed into place: a crash leaves either nothing or a complete blob.
 */
#ifndef COFFER_BLOB_H
#define COFFER_BLOB_H

#include <stdbool.h>
#include <stddef.h>

#define BLOB_HEX_LEN   64
#define BLOB_PATH_MAX  512
#define BLOB_REL_MAX   (6 + BLOB_HEX_LEN + 4)   /* "ab/cd/<hex>.gz" + NUL */

typedef struct blob_tmp {
	int fd;
	char path[BLOB_PATH_MAX];
	void *md;              /* EVP_MD_CTX */
	long long size;
	long long synced;       /* bytes already handed to the disk (sync_file_range) */
} blob_tmp_t;

/* Lowercase hex of a 32-byte digest; hex has room for 65 bytes. */
void blob_hex(const unsigned char sha[32], char *hex);
/* True for 64 lowercase hex digits. */
bool blob_hex_valid(const char *p, size_t n);
/* "ab/cd/<hex>" or "ab/cd/<hex>.gz" into rel (BLOB_REL_MAX bytes). */
void blob_relpath(const char *hex, bool gz, char *rel);
/* <blob_dir>/<rel>; -1 when it does not fit. */
int blob_path(const char *blob_dir, const char *hex, bool gz, char *out, size_t outsz);

/* Create a temp file <blob_dir>/tmp/<prefix>XXXXXX ready for writing and
 * hashing. -1 with errno on failure (t->fd = -1). */
int blob_tmp_open(blob_tmp_t *t, const char *blob_dir, const char *prefix);
/* Hash and write all of p[0..n). -1 with errno. */
int blob_tmp_write(blob_tmp_t *t, const void *p, size_t n);
/* fsync the data and produce the digest. -1 with errno. */
int blob_tmp_finish(blob_tmp_t *t, unsigned char sha[32]);
/* Close and unlink the temp file (safe to call twice, or after place). */
void blob_tmp_discard(blob_tmp_t *t);
/* Move a finished temp file to its place for hex (raw unless gz). When a
 * complete file of the same size is already there the temp file is dropped
 * instead. The directory entry is made durable (fsync of the directory).
 * -1 with errno. The temp file is gone afterwards either way. */
int blob_place(blob_tmp_t *t, const char *blob_dir, const char *hex, bool gz,
	       long long expect_size);
/* Size of the stored file for hex, or -1 when absent. */
long long blob_stat(const char *blob_dir, const char *hex, bool gz);
/* fsync a directory by path. */
int blob_sync_dir(const char *dir);

#endif
