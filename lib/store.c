/* store: compression, raw-copy removal, garbage collection, checks, PDF text and
 * the extraction backfill; see store.h. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "compress.h"
#include "extract.h"
#include "log.h"
#include "mime.h"

#define STORE_SAMPLE     (64 * 1024)
#define STORE_MIN_SIZE   1024
#define STORE_MIN_SAVING 0.10   /* compress only when it saves at least this */
#define STORE_GZIP_LEVEL 6

/* Claimed by marking them checked at once, so several compressors (jobs
 * processes on several hosts, coffer-admin compress) share the work instead
 * of all doing the same blobs; one that fails for a passing reason gives its
 * blob back (st_compress_unclaim). */
DB_STMT(st_compress_candidates,
	"UPDATE blobs b SET compress_checked = true FROM ("
	"  SELECT sha256 FROM blobs "
	"  WHERE NOT compress_checked AND compression = 'none' AND ref_count > 0 "
	"  ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED) c "
	"WHERE b.sha256 = c.sha256 "
	"RETURNING encode(b.sha256, 'hex'), b.size, b.mime_type");

DB_STMT(st_compress_unclaim,
	"UPDATE blobs SET compress_checked = false "
	"WHERE sha256 = decode($1, 'hex') AND compression = 'none'");

DB_STMT(st_compress_skip,
	"UPDATE blobs SET compress_checked = true WHERE sha256 = decode($1, 'hex')");

DB_STMT(st_compress_done,
	"UPDATE blobs SET compression = 'gzip', stored_size = $2, compress_checked = true, "
	"       compressed_at = now() "
	"WHERE sha256 = decode($1, 'hex') AND compression = 'none' RETURNING 1");

DB_STMT(st_raw_pending,
	"SELECT encode(sha256, 'hex') FROM blobs "
	"WHERE compression = 'gzip' AND NOT raw_removed "
	"  AND compressed_at <= now() - make_interval(secs => $1::integer) LIMIT 500");

DB_STMT(st_raw_removed,
	"UPDATE blobs SET raw_removed = true WHERE sha256 = decode($1, 'hex') AND compression = 'gzip'");

DB_STMT(st_gc_candidates,
	"SELECT encode(sha256, 'hex') FROM blobs WHERE ref_count = 0 LIMIT 500");

DB_STMT(st_gc_delete,
	"DELETE FROM blobs WHERE sha256 = decode($1, 'hex') AND ref_count = 0 RETURNING 1");

DB_STMT(st_gc_row,
	"SELECT compression, raw_removed FROM blobs WHERE sha256 = decode($1, 'hex')");

DB_STMT(st_gc_lock, "SELECT pg_advisory_xact_lock(blob_lock_key(decode($1, 'hex')))");

/* repairs, when the files on disk and the row disagree (a restore from
 * backups taken at different moments, a crash between two steps) */
DB_STMT(st_blob_back_to_raw,
	"UPDATE blobs SET compression = 'none', stored_size = size, compressed_at = NULL, "
	"       raw_removed = false, compress_checked = false "
	"WHERE sha256 = decode($1, 'hex') AND compression = 'gzip'");

DB_STMT(st_blob_now_gzip,
	"UPDATE blobs SET compression = 'gzip', stored_size = $2, compress_checked = true, "
	"       compressed_at = now(), raw_removed = true "
	"WHERE sha256 = decode($1, 'hex') AND compression = 'none'");

static int skip(db_t *db, arena_t *a, const char *hex, store_stats_t *st)
{
	const char *p[1] = { hex };

	st->not_compressible++;
	return db_query(db, a, &st_compress_skip, 1, p, NULL);
}

/* Give a claimed blob back for a later pass. 0, or a db error. */
static int unclaim(db_t *db, arena_t *a, const char *hex)
{
	const char *p[1] = { hex };

	return db_query(db, a, &st_compress_unclaim, 1, p, NULL);
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

struct verify {
	EVP_MD_CTX *md;
	long long n;
};

static int verify_cb(void *ctx, const char *p, size_t n)
{
	struct verify *v = ctx;

	v->n += (long long)n;
	return EVP_DigestUpdate(v->md, p, n) == 1 ? 0 : -2;
}

/* Does the gzip file decompress to exactly the content named hex? */
static bool gz_verified(int fd, const char *hex, long long size)
{
	struct verify v = { EVP_MD_CTX_new(), 0 };
	unsigned char sha[32];
	unsigned int len = 0;
	char got[BLOB_HEX_LEN + 1];
	bool ok;

	if (v.md == NULL || EVP_DigestInit_ex(v.md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(v.md);
		return false;
	}
	ok = compress_gunzip_range(fd, 0, LLONG_MAX, verify_cb, &v) == 0 &&
	     EVP_DigestFinal_ex(v.md, sha, &len) == 1 && v.n == size;
	EVP_MD_CTX_free(v.md);
	if (!ok)
		return false;
	blob_hex(sha, got);
	return strcmp(got, hex) == 0;
}

/* Compress one blob. 1 compressed, 0 left raw, < 0 db error. */
static int compress_one(db_t *db, arena_t *a, const config_t *cfg, const char *hex,
			long long size, const char *mime, store_stats_t *st)
{
	static char sample[STORE_SAMPLE];
	char path[BLOB_PATH_MAX], stored[24];
	const char *p[2];
	blob_tmp_t t;
	PGresult *res;
	long long gzsize;
	ssize_t n;
	int fd, rc;

	if (size < STORE_MIN_SIZE || !mime_compressible(mime))
		return skip(db, a, hex, st);
	if (blob_path(cfg->blob_dir, hex, false, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_error("compress: blob %s: %s", hex, strerror(errno));
		return skip(db, a, hex, st);
	}
	n = read_full(fd, sample, sizeof(sample));
	if (n <= 0 || compress_trial(sample, (size_t)n) > 1.0 - STORE_MIN_SAVING) {
		close(fd);
		return skip(db, a, hex, st);
	}
	if (blob_tmp_open(&t, cfg->blob_dir, "gz-") < 0) {
		log_error("compress: temp file: %s", strerror(errno));
		close(fd);
		return unclaim(db, a, hex);   /* try again next pass */
	}
	gzsize = compress_gzip_fd(fd, t.fd, STORE_GZIP_LEVEL);
	close(fd);
	if (gzsize < 0 || fdatasync(t.fd) < 0 || !gz_verified(t.fd, hex, size)) {
		log_error("compress: blob %s: compression failed or did not verify", hex);
		blob_tmp_discard(&t);
		return skip(db, a, hex, st);
	}
	if ((double)gzsize > (double)size * (1.0 - STORE_MIN_SAVING)) {
		blob_tmp_discard(&t);
		return skip(db, a, hex, st);
	}
	if (blob_place(&t, cfg->blob_dir, hex, true, gzsize) < 0) {
		log_error("compress: placing %s.gz: %s", hex, strerror(errno));
		return unclaim(db, a, hex);
	}
	snprintf(stored, sizeof(stored), "%lld", gzsize);
	p[0] = hex;
	p[1] = stored;
	rc = db_query(db, a, &st_compress_done, 2, p, &res);
	if (rc != DB_OK)
		return rc;   /* the .gz stays a stray that gc sorts out */
	if (PQntuples(res) != 1) {
		/* Not ours to record: another compressor (admin command, another
		 * host, a jobs process being replaced) got there first and its .gz
		 * is the file now in place (gzip output is deterministic, and
		 * blob_place kept the existing copy), so leave it; only when gc
		 * removed the blob meanwhile is the .gz surplus. */
		const char *h[1] = { hex };

		rc = db_query(db, a, &st_gc_row, 1, h, &res);
		if (rc == DB_OK && PQntuples(res) == 0 &&
		    blob_path(cfg->blob_dir, hex, true, path, sizeof(path)) == 0)
			unlink(path);
		return rc;
	}
	st->compressed++;
	st->bytes_freed += size - gzsize;
	return 1;
}

int store_compress_pass(db_t *db, arena_t *a, const config_t *cfg, int limit,
			store_stats_t *st)
{
	char lim[16];
	const char *p[1] = { lim };
	PGresult *res;
	long long before;
	int rc, n;

	snprintf(lim, sizeof(lim), "%d", limit);
	rc = db_query(db, a, &st_compress_candidates, 1, p, &res);
	if (rc != DB_OK)
		return rc;
	n = PQntuples(res);
	before = st->compressed + st->not_compressible;
	for (int i = 0; i < n; i++) {
		rc = compress_one(db, a, cfg, PQgetvalue(res, i, 0), atoll(PQgetvalue(res, i, 1)),
				  PQgetvalue(res, i, 2), st);
		if (rc < 0) {
			/* hand back what this pass claimed but did not reach */
			for (int j = i; j < n; j++)
				unclaim(db, a, PQgetvalue(res, j, 0));
			return rc;
		}
	}
	/* blobs settled, so a pass that only gave blobs back (no temp space)
	 * ends the caller's loop instead of spinning */
	return (int)(st->compressed + st->not_compressible - before);
}

int store_remove_raw(db_t *db, arena_t *a, const config_t *cfg, int grace, store_stats_t *st)
{
	char g[16], path[BLOB_PATH_MAX];
	const char *p[1] = { g };
	PGresult *res;
	struct stat sb;
	int rc, n;

	snprintf(g, sizeof(g), "%d", grace);
	rc = db_query(db, a, &st_raw_pending, 1, p, &res);
	if (rc != DB_OK)
		return rc;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *h[1] = { PQgetvalue(res, i, 0) };

		/* never the last copy: without its .gz the raw file stays the blob */
		if (blob_stat(cfg->blob_dir, h[0], true) < 0) {
			log_error("blob %s: recorded as gzip but its .gz is missing; back to raw", h[0]);
			if ((rc = db_query(db, a, &st_blob_back_to_raw, 1, h, NULL)) != DB_OK)
				return rc;
			st->repaired++;
			continue;
		}
		if (blob_path(cfg->blob_dir, h[0], false, path, sizeof(path)) == 0 &&
		    stat(path, &sb) == 0 && unlink(path) == 0) {
			st->raw_removed++;
			st->bytes_freed += (long long)sb.st_size;
		}
		if ((rc = db_query(db, a, &st_raw_removed, 1, h, NULL)) != DB_OK)
			return rc;
	}
	return n;
}

static void unlink_counted(const char *path, long long *counter, store_stats_t *st)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && unlink(path) == 0) {
		(*counter)++;
		st->bytes_freed += (long long)sb.st_size;
	}
}

/* Unreferenced blobs: the row goes, and its files with it, in one
 * transaction that holds the row lock until the files are gone. */
static int gc_rows(db_t *db, arena_t *a, const config_t *cfg, store_stats_t *st)
{
	char path[BLOB_PATH_MAX];
	PGresult *res, *del;
	int rc, n;

	do {
		rc = db_query(db, a, &st_gc_candidates, 0, NULL, &res);
		if (rc != DB_OK)
			return rc;
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			const char *h[1] = { PQgetvalue(res, i, 0) };
			long long ignored = 0;

			if ((rc = db_begin(db)) != DB_OK)
				return rc;
			rc = db_query(db, a, &st_gc_delete, 1, h, &del);
			if (rc != DB_OK) {
				db_rollback(db);
				return rc;
			}
			if (PQntuples(del) == 1) {
				if (blob_path(cfg->blob_dir, h[0], false, path, sizeof(path)) == 0)
					unlink_counted(path, &ignored, st);
				if (blob_path(cfg->blob_dir, h[0], true, path, sizeof(path)) == 0)
					unlink_counted(path, &ignored, st);
				st->blobs_removed++;
			}
			if ((rc = db_commit(db)) != DB_OK)
				return rc;
		}
	} while (n == 500);
	return DB_OK;
}

/* Files on disk that no row accounts for. */
static int gc_file(db_t *db, arena_t *a, const config_t *cfg, const char *dir, const char *name,
		   time_t cutoff, store_stats_t *st)
{
	char path[BLOB_PATH_MAX], hex[BLOB_HEX_LEN + 1];
	const char *h[1] = { hex };
	size_t len = strlen(name);
	bool gz = len == BLOB_HEX_LEN + 3 && strcmp(name + BLOB_HEX_LEN, ".gz") == 0;
	struct stat sb;
	PGresult *res;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_mtime > cutoff)
		return DB_OK;
	if (!blob_hex_valid(name, BLOB_HEX_LEN) || (len != BLOB_HEX_LEN && !gz))
		return DB_OK;   /* not ours: leave it */
	memcpy(hex, name, BLOB_HEX_LEN);
	hex[BLOB_HEX_LEN] = '\0';
	rc = db_query(db, a, &st_gc_row, 1, h, &res);
	if (rc != DB_OK)
		return rc;
	if (PQntuples(res) == 0) {
		/* again under the lock file_store() takes: an upload placing this
		 * very content now either committed its row or waits for us */
		if ((rc = db_begin(db)) != DB_OK)
			return rc;
		rc = db_query(db, a, &st_gc_lock, 1, h, NULL);
		if (rc == DB_OK)
			rc = db_query(db, a, &st_gc_row, 1, h, &res);
		if (rc == DB_OK && PQntuples(res) == 0)
			unlink_counted(path, &st->orphans_removed, st);
		if (rc != DB_OK) {
			db_rollback(db);
			return rc;
		}
		return db_commit(db);
	}
	if (gz && strcmp(PQgetvalue(res, 0, 0), "none") == 0) {
		/* a .gz the row does not know: surplus while the raw file is
		 * there (a compressor stopped between two steps), else it is the
		 * only copy left and the row is what is wrong */
		if (blob_stat(cfg->blob_dir, hex, false) >= 0) {
			unlink_counted(path, &st->orphans_removed, st);
		} else {
			char stored[24];
			const char *q[2] = { hex, stored };

			snprintf(stored, sizeof(stored), "%lld", (long long)sb.st_size);
			log_error("blob %s: only its .gz is on disk; recorded as gzip", hex);
			if ((rc = db_query(db, a, &st_blob_now_gzip, 2, q, NULL)) != DB_OK)
				return rc;
			st->repaired++;
		}
	} else if (!gz && strcmp(PQgetvalue(res, 0, 0), "gzip") == 0) {
		/* a raw copy of a compressed blob: surplus once its .gz is there
		 * and the grace has passed (store_remove_raw), else the .gz is
		 * lost and this is the blob */
		if (blob_stat(cfg->blob_dir, hex, true) >= 0) {
			if (PQgetvalue(res, 0, 1)[0] == 't')
				unlink_counted(path, &st->orphans_removed, st);
		} else {
			log_error("blob %s: its .gz is missing; recorded as raw again", hex);
			if ((rc = db_query(db, a, &st_blob_back_to_raw, 1, h, NULL)) != DB_OK)
				return rc;
			st->repaired++;
		}
	}
	return DB_OK;
}

/* a fan-out directory name: two lowercase hex digits */
static bool hex2(const char *s)
{
	return strlen(s) == 2 && strchr("0123456789abcdef", s[0]) && strchr("0123456789abcdef", s[1]);
}

static int gc_walk(db_t *db, arena_t *a, const config_t *cfg, time_t cutoff, store_stats_t *st)
{
	DIR *top = opendir(cfg->blob_dir);
	struct dirent *e1;
	int rc = DB_OK;

	if (top == NULL)
		return DB_OK;
	while (rc == DB_OK && (e1 = readdir(top)) != NULL) {
		char d1[BLOB_PATH_MAX];
		DIR *mid;
		struct dirent *e2;

		if (!hex2(e1->d_name) ||
		    snprintf(d1, sizeof(d1), "%s/%s", cfg->blob_dir, e1->d_name) >= (int)sizeof(d1))
			continue;
		if ((mid = opendir(d1)) == NULL)
			continue;
		while (rc == DB_OK && (e2 = readdir(mid)) != NULL) {
			char d2[BLOB_PATH_MAX];
			DIR *leaf;
			struct dirent *e3;

			if (!hex2(e2->d_name) ||
			    snprintf(d2, sizeof(d2), "%s/%s", d1, e2->d_name) >= (int)sizeof(d2))
				continue;
			if ((leaf = opendir(d2)) == NULL)
				continue;
			while (rc == DB_OK && (e3 = readdir(leaf)) != NULL)
				if (e3->d_name[0] != '.')
					rc = gc_file(db, a, cfg, d2, e3->d_name, cutoff, st);
			closedir(leaf);
		}
		closedir(mid);
	}
	closedir(top);
	return rc;
}

static void gc_temps(const config_t *cfg, time_t cutoff, store_stats_t *st)
{
	char dir[BLOB_PATH_MAX], path[BLOB_PATH_MAX];
	DIR *d;
	struct dirent *e;
	struct stat sb;

	if (snprintf(dir, sizeof(dir), "%s/tmp", cfg->blob_dir) >= (int)sizeof(dir) ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "up-", 3) != 0 && strncmp(e->d_name, "gz-", 3) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_mtime > cutoff)
			continue;
		unlink_counted(path, &st->temps_removed, st);
	}
	closedir(d);
}

int store_gc(db_t *db, arena_t *a, const config_t *cfg, int grace, store_stats_t *st)
{
	time_t cutoff = time(NULL) - grace;
	int rc;

	if ((rc = gc_rows(db, a, cfg, st)) != DB_OK)
		return rc;
	if ((rc = store_remove_raw(db, a, cfg, grace, st)) < 0)
		return rc;
	if ((rc = gc_walk(db, a, cfg, cutoff, st)) != DB_OK)
		return rc;
	gc_temps(cfg, cutoff, st);
	return DB_OK;
}

/* ---- check ---- */

/* every user whose storage_used differs from the versions of their live files */
DB_STMT(st_check_usage,
	"SELECT u.id, u.username, u.storage_used, coalesce(x.s, 0), u.storage_quota "
	"FROM users u LEFT JOIN (SELECT f.user_id, sum(v.size) AS s FROM files f "
	"                        JOIN file_versions v ON v.file_id = f.id "
	"                        WHERE NOT f.is_deleted GROUP BY f.user_id) x ON x.user_id = u.id "
	"WHERE u.storage_used <> coalesce(x.s, 0) ORDER BY u.username");

DB_STMT(st_check_users, "SELECT count(*) FROM users");

/* The usage triggers update the user row in the statement that adds or
 * removes versions: once we hold the row lock, every version not yet
 * counted belongs to a transaction that will count it after we commit. */
DB_STMT(st_check_usage_lock, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE");
DB_STMT(st_check_usage_fix,
	"UPDATE users u SET storage_used = x.s "
	"FROM (SELECT coalesce(sum(v.size), 0) AS s FROM files f JOIN file_versions v "
	"      ON v.file_id = f.id WHERE f.user_id = $1 AND NOT f.is_deleted) x "
	"WHERE u.id = $1 AND x.s <= u.storage_quota RETURNING u.storage_used");

DB_STMT(st_check_refs,
	"SELECT encode(b.sha256, 'hex'), b.ref_count, coalesce(x.n, 0) FROM blobs b "
	"LEFT JOIN (SELECT sha256, count(*) AS n FROM file_versions GROUP BY sha256) x "
	"       ON x.sha256 = b.sha256 "
	"WHERE b.ref_count <> coalesce(x.n, 0) ORDER BY b.sha256");
DB_STMT(st_check_refs_fix,
	"WITH l AS (SELECT sha256 FROM blobs WHERE sha256 = decode($1, 'hex') FOR NO KEY UPDATE) "
	"UPDATE blobs b SET ref_count = (SELECT count(*) FROM file_versions v "
	"                                WHERE v.sha256 = b.sha256) "
	"FROM l WHERE b.sha256 = l.sha256 RETURNING b.ref_count");

DB_STMT(st_check_blobs,
	"SELECT encode(sha256, 'hex'), size, compression FROM blobs "
	"WHERE ref_count > 0 AND sha256 > decode($1, 'hex') ORDER BY sha256 LIMIT 200");

static void sayf(void (*say)(void *, const char *), void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sayf(void (*say)(void *, const char *), void *ctx, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(ctx, line);
}

static int check_usage(db_t *db, arena_t *a, bool repair, void (*say)(void *, const char *),
		       void *ctx, store_check_t *st)
{
	PGresult *res, *fix;
	int rc = db_query(db, a, &st_check_users, 0, NULL, &res), n;

	if (rc != DB_OK)
		return rc;
	st->users = atoll(PQgetvalue(res, 0, 0));
	if ((rc = db_query(db, a, &st_check_usage, 0, NULL, &res)) != DB_OK)
		return rc;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *p[1] = { PQgetvalue(res, i, 0) };
		bool over = atoll(PQgetvalue(res, i, 3)) > atoll(PQgetvalue(res, i, 4));

		st->usage_drift++;
		sayf(say, ctx, "usage: %s: storage_used %s, its files' versions add up to %s%s",
		     PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
		     over ? " (over its quota: raise the quota to repair)" : "");
		if (over)
			st->usage_over_quota++;
		if (!repair || over)
			continue;
		if ((rc = db_begin(db)) != DB_OK)
			return rc;
		if ((rc = db_query(db, a, &st_check_usage_lock, 1, p, NULL)) != DB_OK ||
		    (rc = db_query(db, a, &st_check_usage_fix, 1, p, &fix)) != DB_OK) {
			db_rollback(db);
			return rc;
		}
		if ((rc = db_commit(db)) != DB_OK)
			return rc;
		if (PQntuples(fix) == 1) {
			st->usage_repaired++;
			sayf(say, ctx, "usage: %s: repaired: storage_used is now %s",
			     PQgetvalue(res, i, 1), PQgetvalue(fix, 0, 0));
		}
	}
	return DB_OK;
}

static int check_refs(db_t *db, arena_t *a, bool repair, void (*say)(void *, const char *),
		      void *ctx, store_check_t *st)
{
	PGresult *res, *fix;
	int rc = db_query(db, a, &st_check_refs, 0, NULL, &res), n;

	if (rc != DB_OK)
		return rc;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *p[1] = { PQgetvalue(res, i, 0) };

		st->refs_drift++;
		sayf(say, ctx, "blob %s: ref_count %s, referred to by %s versions", p[0],
		     PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		if (!repair)
			continue;
		if ((rc = db_begin(db)) != DB_OK)
			return rc;
		if ((rc = db_query(db, a, &st_check_refs_fix, 1, p, &fix)) != DB_OK) {
			db_rollback(db);
			return rc;
		}
		if ((rc = db_commit(db)) != DB_OK)
			return rc;
		if (PQntuples(fix) == 1) {
			st->refs_repaired++;
			sayf(say, ctx, "blob %s: repaired: ref_count is now %s", p[0], PQgetvalue(fix, 0, 0));
		}
	}
	return DB_OK;
}

/* Does the raw file hash to hex, with size bytes? */
static bool raw_verified(int fd, const char *hex, long long size, long long *read_bytes)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sha[32];
	unsigned int len = 0;
	char buf[1 << 16], got[BLOB_HEX_LEN + 1];
	long long n = 0;
	ssize_t r;
	bool ok;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return false;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
		if (r < 0)
			continue;
		n += r;
		EVP_DigestUpdate(md, buf, (size_t)r);
	}
	ok = r == 0 && EVP_DigestFinal_ex(md, sha, &len) == 1 && n == size;
	EVP_MD_CTX_free(md);
	*read_bytes += n;
	if (!ok)
		return false;
	blob_hex(sha, got);
	return strcmp(got, hex) == 0;
}

static int check_blobs(db_t *db, arena_t *a, const config_t *cfg,
		       void (*say)(void *, const char *), void *ctx, store_check_t *st)
{
	char after[BLOB_HEX_LEN + 1], path[BLOB_PATH_MAX];

	memset(after, '0', BLOB_HEX_LEN);
	after[BLOB_HEX_LEN] = '\0';
	/* "0...0" itself is a possible digest: start below it */
	for (bool first = true;; first = false) {
		const char *p[1] = { first ? "" : after };
		PGresult *res;
		int rc = db_query(db, a, &st_check_blobs, 1, p, &res), n;

		if (rc != DB_OK)
			return rc;
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			const char *hex = PQgetvalue(res, i, 0);
			long long size = atoll(PQgetvalue(res, i, 1));
			bool gz = strcmp(PQgetvalue(res, i, 2), "gzip") == 0;
			struct stat sb;
			bool ok;
			int fd;

			st->blobs++;
			if (blob_path(cfg->blob_dir, hex, gz, path, sizeof(path)) < 0 ||
			    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
				st->blobs_missing++;
				sayf(say, ctx, "blob %s: missing from the volume (%s)", hex,
				     gz ? "its .gz" : "its file");
				continue;
			}
			if (gz) {
				ok = gz_verified(fd, hex, size);
				if (fstat(fd, &sb) == 0)
					st->bytes_read += (long long)sb.st_size;
			} else {
				ok = raw_verified(fd, hex, size, &st->bytes_read);
			}
			close(fd);
			if (!ok) {
				st->blobs_corrupt++;
				sayf(say, ctx, "blob %s: corrupt: its %s does not hold the %lld bytes "
				     "that hash to its name", hex, gz ? ".gz" : "file", size);
			}
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s", PQgetvalue(res, n - 1, 0));
		arena_clear(a);
		if (n < 200)
			return DB_OK;
	}
}

int store_check(db_t *db, arena_t *a, const config_t *cfg, bool repair,
		void (*say)(void *ctx, const char *line), void *ctx, store_check_t *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = check_usage(db, a, repair, say, ctx, st)) != DB_OK ||
	    (rc = check_refs(db, a, repair, say, ctx, st)) != DB_OK)
		return rc;
	return check_blobs(db, a, cfg, say, ctx, st);
}

/* ---- text of PDFs ---- */

/* claimed by clearing the mark, committed at once: pdftotext may take
 * seconds, and no row lock is held meanwhile */
DB_STMT(st_text_claim,
	"UPDATE blobs SET text_pending = false WHERE sha256 IN ("
	"  SELECT sha256 FROM blobs WHERE text_pending ORDER BY created_at LIMIT $1 "
	"  FOR UPDATE SKIP LOCKED) "
	"RETURNING encode(sha256, 'hex'), compression");
DB_STMT(st_text_store,
	"INSERT INTO blob_text (sha256, content) SELECT decode($1, 'hex'), $2 "
	"WHERE EXISTS (SELECT 1 FROM blobs WHERE sha256 = decode($1, 'hex')) ON CONFLICT DO NOTHING");

/* the text of a PDF, or of a blob store_extract_pass reads (one at a time) */
static char text_out[EXTRACT_TEXT_CAP + 1];

/* Run pdftotext on path: its text (valid UTF-8, at most 1 MiB) in
 * text_out, the length returned; -1 when it failed or took too long. */
static long run_pdftotext(const char *prog, const char *path)
{
	extract_text_t t;
	unsigned char buf[65536];
	int fds[2], status;
	pid_t pid;
	time_t deadline = time(NULL) + STORE_PDF_SECONDS;
	bool failed = false;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(fds[1], 1);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		close(fds[0]);
		close(fds[1]);
		execl(prog, prog, "-q", "-enc", "UTF-8", "-l", "200", path, "-", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	extract_text_init(&t, text_out, EXTRACT_TEXT_CAP);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		long left = (long)(deadline - time(NULL));
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left * 1000) <= 0) {
			failed = true;   /* too slow */
			break;
		}
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		extract_text_feed(&t, buf, (size_t)n);
		if (extract_text_full(&t))
			break;   /* enough: the rest is not indexed anyway */
	}
	close(fds[0]);
	kill(pid, SIGKILL);   /* harmless when it has exited */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (failed)
		return -1;
	{
		size_t len = extract_text_done(&t);

		text_out[len] = '\0';
		return (long)len;
	}
}

int store_text_pass(db_t *db, arena_t *a, const config_t *cfg, int limit, long long *extracted)
{
	char lim[16], path[BLOB_PATH_MAX];
	const char *p[1] = { lim };
	PGresult *res;
	int rc, n;

	if (!cfg->pdftotext[0] || access(cfg->pdftotext, X_OK) != 0)
		return 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	if ((rc = db_query(db, a, &st_text_claim, 1, p, &res)) != DB_OK)
		return rc;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *hex = PQgetvalue(res, i, 0);
		long len;

		if (strcmp(PQgetvalue(res, i, 1), "none") != 0 ||
		    blob_path(cfg->blob_dir, hex, false, path, sizeof(path)) < 0)
			continue;   /* PDFs are stored raw; a compressed one is left unindexed */
		len = run_pdftotext(cfg->pdftotext, path);
		if (len < 0) {
			log_error("text: blob %s: pdftotext failed or took over %d s", hex,
				  STORE_PDF_SECONDS);
			continue;
		}
		if (len > 0) {
			const char *q[2] = { hex, text_out };

			if ((rc = db_query(db, a, &st_text_store, 2, q, NULL)) != DB_OK)
				return rc;
			(*extracted)++;
		}
	}
	return n;
}

/* ---- metadata and text of content stored before the upload extracted them ---- */

/* Claimed one at a time by clearing the mark, committed at once: a blob
 * that cannot be read, or that brought the process down, is not tried
 * again, and a crash loses the extraction of that one blob only. */
DB_STMT(st_extract_claim,
	"UPDATE blobs b SET extract_pending = false WHERE b.sha256 IN ("
	"  SELECT x.sha256 FROM blobs x WHERE x.extract_pending ORDER BY x.created_at LIMIT 1 "
	"  FOR UPDATE SKIP LOCKED) "
	"RETURNING encode(b.sha256, 'hex'), b.compression, b.mime_type, "
	"          EXISTS (SELECT 1 FROM blob_text t WHERE t.sha256 = b.sha256)");

/* What an upload of the content would have stored, in one statement: the
 * metadata (merged over any there is), the text, and for a PDF ($4) the
 * text_pending mark unless it has its text. Nothing when gc removed the
 * blob meanwhile; the row lock of the UPDATE keeps gc away until commit. */
DB_STMT(st_extract_store,
	"WITH m AS (UPDATE blobs b SET "
	"             metadata = CASE WHEN $2::jsonb IS NULL THEN b.metadata "
	"                             ELSE coalesce(b.metadata, '{}'::jsonb) || $2::jsonb END, "
	"             text_pending = b.text_pending OR ($4::boolean AND NOT EXISTS "
	"                            (SELECT 1 FROM blob_text t WHERE t.sha256 = b.sha256)) "
	"           WHERE b.sha256 = decode($1, 'hex') RETURNING 1) "
	"INSERT INTO blob_text (sha256, content) "
	"SELECT decode($1, 'hex'), $3 FROM m WHERE $3::text IS NOT NULL ON CONFLICT DO NOTHING");

/* Bytes read for text: the upload keeps the first 1 MiB of text, and the
 * 3 bytes after it complete a character cut there, so the text is the
 * upload's to the byte. */
#define EXTRACT_READ_TEXT ((long long)EXTRACT_TEXT_CAP + 3)

struct grab {
	unsigned char *head;   /* EXTRACT_IMAGE_SCAN bytes */
	size_t head_len;
	extract_text_t *text;  /* NULL: no text wanted */
};

static int grab_cb(void *ctx, const char *p, size_t n)
{
	struct grab *g = ctx;

	if (g->head_len < EXTRACT_IMAGE_SCAN) {
		size_t take = n < EXTRACT_IMAGE_SCAN - g->head_len ? n : EXTRACT_IMAGE_SCAN - g->head_len;

		memcpy(g->head + g->head_len, p, take);
		g->head_len += take;
	}
	if (g->text != NULL && !extract_text_full(g->text))
		extract_text_feed(g->text, (const unsigned char *)p, n);
	return 0;
}

/* Give the first want bytes of the blob (all of a shorter one) to grab_cb,
 * from the form its row names (.gz decompressed on the way), else from the
 * other one (compressed, or its raw copy removed, since the claim). Memory
 * stays one 64 KiB buffer whatever the size. 0, or -1 with errno. */
static int extract_read(const config_t *cfg, const char *hex, bool gz, long long want,
			struct grab *g)
{
	char path[BLOB_PATH_MAX];
	const bool forms[2] = { gz, !gz };
	int fd = -1, rc = 0, err;

	errno = ENOENT;
	for (int k = 0; k < 2 && fd < 0; k++)
		if (blob_path(cfg->blob_dir, hex, forms[k], path, sizeof(path)) == 0 &&
		    (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
			gz = forms[k];
	if (fd < 0)
		return -1;
	if (gz) {
		rc = compress_gunzip_range(fd, 0, want - 1, grab_cb, g);
	} else {
		char buf[65536];
		long long off = 0;

		while (off < want) {
			size_t k = want - off < (long long)sizeof(buf) ? (size_t)(want - off) : sizeof(buf);
			ssize_t r = pread(fd, buf, k, (off_t)off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = -1;
				break;
			}
			if (r == 0)
				break;
			grab_cb(g, buf, (size_t)r);
			off += r;
		}
	}
	err = errno;
	close(fd);
	errno = err;
	return rc < 0 ? -1 : 0;
}

/* Extract one claimed blob as an upload would have. 1 when something was
 * stored, 0 when there was nothing to store or the blob could not be read
 * (logged), or a db error (< 0). */
static int extract_one(db_t *db, arena_t *a, const config_t *cfg, const char *hex, bool gz,
		       const char *mime, bool has_text)
{
	static unsigned char head[EXTRACT_IMAGE_SCAN];
	char meta[EXTRACT_METADATA_MAX];
	struct grab g = { head, 0, NULL };
	extract_text_t t;
	bool want_text = !has_text && extract_text_wanted(mime);
	bool pdf = !has_text && strcmp(mime, "application/pdf") == 0;
	size_t tl = 0;
	const char *q[4];
	int rc;

	if (want_text) {
		extract_text_init(&t, text_out, EXTRACT_TEXT_CAP);
		g.text = &t;
	}
	if (extract_read(cfg, hex, gz, want_text ? EXTRACT_READ_TEXT : EXTRACT_IMAGE_SCAN, &g) < 0) {
		log_error("extract: blob %s: cannot read it (%s); left without metadata", hex,
			  strerror(errno));
		return 0;
	}
	if (want_text) {
		tl = extract_text_done(&t);
		text_out[tl] = '\0';
	}
	q[0] = hex;
	q[1] = extract_metadata(head, g.head_len, meta, sizeof(meta)) > 0 ? meta : NULL;
	q[2] = tl > 0 ? text_out : NULL;
	q[3] = pdf ? "true" : "false";
	if (q[1] == NULL && q[2] == NULL && !pdf)
		return 0;
	rc = db_query(db, a, &st_extract_store, 4, q, NULL);
	return rc == DB_OK ? 1 : rc;
}

int store_extract_pass(db_t *db, arena_t *a, const config_t *cfg, int limit, long long *done)
{
	int n;

	for (n = 0; n < limit; n++) {
		PGresult *res;
		char hex[BLOB_HEX_LEN + 1];
		int rc = db_query(db, a, &st_extract_claim, 0, NULL, &res);

		if (rc != DB_OK)
			return rc;
		if (PQntuples(res) == 0)
			break;
		snprintf(hex, sizeof(hex), "%s", PQgetvalue(res, 0, 0));
		rc = extract_one(db, a, cfg, hex, strcmp(PQgetvalue(res, 0, 1), "gzip") == 0,
				 PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3)[0] == 't');
		arena_clear(a);
		if (rc < 0) {
			log_error("extract: blob %s: %s: %s; left without metadata", hex,
				  db_strerror(rc), db->message);
			return rc;
		}
		*done += rc;
	}
	return n;
}
