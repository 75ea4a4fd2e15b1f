/*
 * files: file details and changes, downloads and versions.
 * Downloads are authorised and counted here; nginx sends the bytes from the
 * blob store (X-Accel-Redirect), except for Range requests on compressed
 * blobs, which this worker answers by decompressing on the fly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "activity.h"
#include "auth.h"
#include "authz.h"
#include "blob.h"
#include "compress.h"
#include "cursor.h"
#include "files.h"
#include "handlers.h"
#include "http.h"
#include "jsonv.h"
#include "log.h"
#include "mime.h"
#include "range.h"
#include "tags.h"
#include "text.h"
#include "tree.h"

DB_STMT(st_file_store,
	"SELECT file, compression, blob_new, file_id, version, stored_name, owner "
	"FROM file_store($1, $2, $3, decode($4, 'hex'), $5, $6, $7, "
	"  CASE WHEN $8::json IS NULL THEN NULL "
	"       ELSE ARRAY(SELECT json_array_elements_text($8::json)) END, $9, $10)");

/* $4: the text is for the jobs process to find (a PDF) */
DB_STMT(st_blob_found,
	"WITH m AS (UPDATE blobs SET metadata = coalesce($2::jsonb, metadata), "
	"                            text_pending = $4::boolean "
	"           WHERE sha256 = decode($1, 'hex')), "
	"n AS (SELECT pg_notify('coffer_jobs', 'text') WHERE $4::boolean) "
	"INSERT INTO blob_text (sha256, content) "
	"SELECT decode($1, 'hex'), $3 WHERE $3::text IS NOT NULL ON CONFLICT DO NOTHING");

/* the row said gzip but the .gz file is missing: the raw copy we just
 * received becomes the blob again */
DB_STMT(st_blob_reset_raw,
	"UPDATE blobs SET compression = 'none', stored_size = size, compress_checked = false, "
	"       compressed_at = NULL, raw_removed = false "
	"WHERE sha256 = decode($1, 'hex')");

DB_STMT(st_file_update,
	"UPDATE files f SET name = coalesce($3, f.name), "
	"       description = coalesce($4, f.description), "
	"       tags = coalesce(CASE WHEN $5::json IS NULL THEN NULL "
	"                       ELSE ARRAY(SELECT json_array_elements_text($5::json)) END, f.tags), "
	"       updated_at = now() "
	"WHERE f.id = $1 AND NOT f.is_deleted "
	"  AND 'edit' = ANY (item_permissions($2, NULL, 'file', f.id)) "
	"RETURNING f.name, (SELECT o.name FROM files o WHERE o.id = f.id)");   /* new, old */

/* $2 the user, $4 the share link: the one rule decides (item_permissions) */
DB_STMT(st_download_lookup,
	"SELECT f.name, encode(v.sha256, 'hex'), v.size, v.mime_type, "
	"       extract(epoch FROM date_trunc('second', v.created_at))::bigint, b.compression, "
	"       v.version_number, f.user_id "
	"FROM files f "
	"JOIN file_versions v ON v.file_id = f.id "
	"     AND v.version_number = coalesce($3::integer, f.version) "
	"JOIN blobs b ON b.sha256 = v.sha256 "
	"WHERE f.id = $1 AND NOT f.is_deleted "
	"  AND 'download' = ANY (item_permissions($2, $4, 'file', f.id))");

/* Downloads are counted and logged in batches: every download of the last
 * second (or of the last DOWNLOADS_BATCH) in one statement, after the
 * responses went out. Per download that is a fraction of the database work
 * of an UPDATE plus an INSERT each. A worker killed hard loses at most that
 * second of counts and download entries; a graceful stop flushes them. */
DB_STMT(st_downloads_flush,
	"WITH ev AS (SELECT * FROM json_to_recordset($1::json) AS x(file_id uuid, user_id uuid, "
	"            share_id uuid, actor_id uuid, name text, ip text, ua text, version integer, "
	"            at timestamptz)), "
	"c AS (UPDATE files f SET download_count = f.download_count + n.cnt "
	"      FROM (SELECT file_id, count(*) AS cnt FROM ev GROUP BY file_id) n "
	"      WHERE f.id = n.file_id) "
	"INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, "
	"                          ip_address, user_agent, details, created_at) "
	"SELECT user_id, CASE WHEN share_id IS NULL THEN 'download' ELSE 'share_download' END, "
	"       file_id, 'file', name, "
	"       CASE WHEN ip ~ '^[0-9a-fA-F.:]+$' THEN ip::inet END, left(ua, 512), "
	"       jsonb_strip_nulls(jsonb_build_object('version', version, 'share_id', share_id, "
	"                                            'actor_id', actor_id)), at FROM ev");

#define DOWNLOADS_BATCH    128
#define DOWNLOADS_DELAY_MS 1000

static json_object *downloads;      /* pending events, a JSON array */
static long long downloads_first;   /* monotonic ms of the oldest */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void download_record(req_t *r, const dl_who_t *who, const char *owner, const char *name,
			    const char *version)
{
	json_object *ev = json_object_new_object();
	struct timespec ts;
	struct tm tm;
	char at[96];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(at, sizeof(at), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
	json_object_object_add(ev, "file_id", jstr(who->file_id));
	json_object_object_add(ev, "user_id", jstr(owner));
	json_object_object_add(ev, "share_id", jstr(who->share_id));
	/* someone the owner shared the file with */
	json_object_object_add(ev, "actor_id", who->user_id && strcmp(who->user_id, owner) != 0 ?
			       jstr(who->user_id) : NULL);
	json_object_object_add(ev, "name", jstr(name));
	json_object_object_add(ev, "ip", jstr(r->remote_addr));
	json_object_object_add(ev, "ua", r->user_agent && text_utf8_valid(r->user_agent,
			       strlen(r->user_agent)) ? jstr(r->user_agent) : NULL);
	json_object_object_add(ev, "version", jint(atoll(version)));
	json_object_object_add(ev, "at", jstr(at));
	if (downloads == NULL) {
		downloads = json_object_new_array();
		downloads_first = now_ms();
	}
	json_object_array_add(downloads, ev);
}

long long files_downloads_due(void)
{
	long long left;

	if (downloads == NULL)
		return -1;
	if (json_object_array_length(downloads) >= DOWNLOADS_BATCH)
		return 0;
	left = downloads_first + DOWNLOADS_DELAY_MS - now_ms();
	return left > 0 ? left : 0;
}

void files_downloads_flush(db_t *db, arena_t *a, bool force)
{
	const char *p[1];
	size_t n;
	int rc;

	if (downloads == NULL || (!force && files_downloads_due() > 0))
		return;
	n = json_object_array_length(downloads);
	p[0] = json_object_to_json_string_ext(downloads, JSON_C_TO_STRING_PLAIN);
	rc = db_ensure(db);
	if (rc == DB_OK)
		rc = db_query(db, a, &st_downloads_flush, 1, p, NULL);
	if (rc != DB_OK)
		log_error("downloads: %zu counts and log entries lost: %s", n, db_strerror(rc));
	json_object_put(downloads);
	downloads = NULL;
}

DB_STMT(st_versions_list,
	"SELECT v.version_number, v.size, encode(v.sha256, 'hex'), v.mime_type, "
	"       api_time(v.created_at), v.is_current "
	"FROM file_versions v "
	"WHERE v.file_id = $1 AND ($2::integer IS NULL OR v.version_number < $2::integer) "
	"ORDER BY v.version_number DESC LIMIT $3");

/* the file row is locked as file_restore_version locks it: a version is
 * not deleted under a restore of it */
DB_STMT(st_version_delete,
	"WITH f AS (SELECT id, name FROM files WHERE id = $1 AND NOT is_deleted FOR UPDATE), "
	"d AS (DELETE FROM file_versions v USING f WHERE v.file_id = f.id "
	"      AND v.version_number = $2::integer AND NOT v.is_current RETURNING v.size) "
	"SELECT (SELECT size FROM d), "
	"       (SELECT is_current FROM file_versions WHERE file_id = $1 AND version_number = $2::integer), "
	"       (SELECT name FROM f)");

DB_STMT(st_version_restore,
	"SELECT file FROM file_restore_version($1, $2, $3, $4)");

/* ---- shared validation ---- */

int files_folder_check(req_t *r, const char *v, size_t n)
{
	authz_t az;

	if (!text_uuid_valid(v, n))
		return 400;
	return authz_check(r, "upload", "folder", arena_strndup(r->arena, v, n), &az);
}

const char *files_policy(const char *v, size_t n)
{
	static const char *const policies[] = { "version", "rename", "fail" };

	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (n == strlen(policies[i]) && memcmp(v, policies[i], n) == 0)
			return policies[i];
	return NULL;
}

/* In the caller's log, and in the owner's when that is someone else. */
static void log_file_event(req_t *r, const char *owner, const char *action, const char *id,
			   const char *name, const char *details)
{
	activity_t ev = { r->user.id, action, id, "file", name, r->remote_addr, r->user_agent,
			  details };

	authz_log(r, owner, &ev);
}

static int store_problem(files_stored_t *out, int status, const char *code, const char *detail)
{
	out->file = NULL;
	out->problem = problem_new(status, code, detail);
	return status;
}

static int db_problem(req_t *r, files_stored_t *out, int err)
{
	if (err == DB_ECHECK && strcmp(r->db->constraint, "users_usage_within_quota") == 0)
		return store_problem(out, 507, "quota_exceeded",
				     "Storing this file would exceed your storage quota.");
	if (err == DB_EUNIQUE && strcmp(r->db->constraint, "files_sibling_name") == 0)
		return store_problem(out, 409, "name_conflict",
				     "A file with this name already exists in the folder.");
	if (err == DB_EFKEY)
		return store_problem(out, 404, "not_found", "The folder does not exist.");
	if (err == DB_EUNAVAIL || err == DB_ERETRY)
		return store_problem(out, 503, "unavailable",
				     "The database is unavailable; try again shortly.");
	if (err == DB_EINPUT)
		return store_problem(out, 400, "invalid_request", "A value is invalid.");
	log_error("request %s: storing a file: %s: %s", r->request_id, db_strerror(err),
		  r->db->message);
	return store_problem(out, 500, "internal_error", "The file could not be stored.");
}

int files_store(req_t *r, blob_tmp_t *t, const unsigned char sha[32], const char *folder_id,
		const char *name, const char *mime, const char *description,
		const char *tags_json, const char *policy, const files_found_t *found,
		files_stored_t *out)
{
	char hex[BLOB_HEX_LEN + 1], size[24], keep[16], *details;
	const char *p[10];
	PGresult *res;
	const char *compression, *file_id;
	int rc, attempt = 0;

	blob_hex(sha, hex);
	snprintf(size, sizeof(size), "%lld", t->size);
	snprintf(keep, sizeof(keep), "%d", r->cfg->versions_keep);
	p[0] = r->user.id;
	p[1] = folder_id;
	p[2] = name;
	p[3] = hex;
	p[4] = size;
	p[5] = mime;
	p[6] = description;
	p[7] = tags_json;
	p[8] = policy;
	p[9] = keep;
again:
	if ((rc = db_begin(r->db)) != DB_OK)
		return db_problem(r, out, rc);
	rc = db_query(r->db, r->arena, &st_file_store, 10, p, &res);
	if (rc != DB_OK) {
		db_rollback(r->db);
		if (rc == DB_ERETRY && ++attempt < 3)
			goto again;
		return db_problem(r, out, rc);
	}
	compression = PQgetvalue(res, 0, 1);
	file_id = PQgetvalue(res, 0, 3);
	/* a new content's metadata and text, once per blob */
	if (found && PQgetvalue(res, 0, 2)[0] == 't' &&
	    (found->metadata || found->text || found->text_later)) {
		const char *fp[4] = { hex, found->metadata, found->text,
				      found->text_later ? "true" : "false" };

		if ((rc = db_query(r->db, r->arena, &st_blob_found, 4, fp, NULL)) != DB_OK) {
			db_rollback(r->db);
			return db_problem(r, out, rc);
		}
	}
	/* the row lock taken by file_store keeps gc away from this blob until
	 * commit, so what is checked and placed here stays in place */
	if (strcmp(compression, "gzip") == 0 && blob_stat(r->cfg->blob_dir, hex, true) >= 0) {
		blob_tmp_discard(t);
	} else {
		if (strcmp(compression, "gzip") == 0) {
			const char *h[1] = { hex };

			log_error("blob %s: gzip copy missing; storing the upload raw again", hex);
			if ((rc = db_query(r->db, r->arena, &st_blob_reset_raw, 1, h, NULL)) != DB_OK) {
				db_rollback(r->db);
				return db_problem(r, out, rc);
			}
		}
		if (blob_place(t, r->cfg->blob_dir, hex, false, t->size) < 0) {
			log_error("upload: placing blob %s: %s", hex, strerror(errno));
			db_rollback(r->db);
			return store_problem(out, 503, "unavailable",
					     "The storage volume is unavailable; try again shortly.");
		}
	}
	details = arena_printf(r->arena, "{\"version\": %s}", PQgetvalue(res, 0, 4));
	log_file_event(r, PQgetvalue(res, 0, 6), "upload", file_id, PQgetvalue(res, 0, 5), details);
	if ((rc = db_commit(r->db)) != DB_OK)
		return db_problem(r, out, rc);
	out->problem = NULL;
	out->file = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (out->file == NULL)
		return store_problem(out, 500, "internal_error", "The file could not be read back.");
	return 201;
}

/* ---- GET / PUT / DELETE /api/files/:id ---- */

static void answer_json_text(req_t *r, int status, const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (o == NULL) {
		resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
		return;
	}
	resp_json(r, status, o);
}

static void not_found(req_t *r)
{
	resp_problem(r, 404, "not_found", "No such file.");
}

void h_file_get(req_t *r)
{
	authz_answer_item(r, 200, "file", r->params[0]);
}

void h_file_update(req_t *r)
{
	json_object *body = req_json_body(r), *errors, *v;
	const char *p[5] = { r->params[0], r->user.id, NULL, NULL, NULL };
	const char *err = NULL;
	PGresult *res;
	authz_t az;
	int rc, fields = 0;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	errors_unknown(errors, body, (const char *const[]){ "name", "description", "tags", NULL },
		       "is not a field that can be changed");
	if (json_object_object_get_ex(body, "name", &v)) {
		fields++;
		if (!json_object_is_type(v, json_type_string) ||
		    !text_name_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			errors_add(errors, "name", "must be 1-255 bytes of UTF-8 without '/' or control "
				   "characters, and not '.' or '..'");
		else
			p[2] = json_object_get_string(v);
	}
	if (json_object_object_get_ex(body, "description", &v)) {
		fields++;
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > FILES_DESCRIPTION_MAX ||
		    memchr(json_object_get_string(v), 0, (size_t)json_object_get_string_len(v)))
			errors_add(errors, "description", "must be a string of at most 4096 bytes");
		else
			p[3] = json_object_get_string(v);
	}
	if (json_object_object_get_ex(body, "tags", &v)) {
		fields++;
		p[4] = v ? tags_from_json(r->arena, v, &err) : NULL;
		if (p[4] == NULL)
			errors_add(errors, "tags", err ? err : "must be an array of strings");
	}
	if (fields == 0 && json_object_array_length(errors) == 0)
		errors_add(errors, "name", "at least one of name, description or tags is required");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The file data is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if (authz(r, "edit", "file", r->params[0], &az) < 0 ||
	    tree_write(r, az.owner, &st_file_update, 5, p, &res) < 0)
		return;
	if (PQntuples(res) != 1) {
		db_rollback(r->db);
		not_found(r);
		return;
	}
	/* a new name is a rename (with the old one), anything else an update */
	if (strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) != 0)
		log_file_event(r, az.owner, "rename", r->params[0], PQgetvalue(res, 0, 0),
			       req_json_pair(r, "from", PQgetvalue(res, 0, 1)));
	else
		log_file_event(r, az.owner, "update", r->params[0], PQgetvalue(res, 0, 0), NULL);
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	authz_answer_item(r, 200, "file", r->params[0]);
}

void h_file_delete(req_t *r)
{
	tree_delete_one(r, r->params[0], "file");
}

/* ---- downloads ---- */

DB_STMT(st_share_download_take,
	"UPDATE shares SET download_count = download_count + 1 "
	"WHERE id = $1 AND is_active "
	"  AND (download_limit IS NULL OR download_count < download_limit) RETURNING id");

/* Count a download through a share link against its limit: 0, or -1 after
 * answering 410 (the limit is reached) or 503. */
static int share_download_take(req_t *r, const char *share_id)
{
	const char *p[1] = { share_id };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_share_download_take, 1, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	if (PQntuples(res) != 1) {
		resp_problem(r, 410, "share_expired", "This share link has reached its download limit.");
		return -1;
	}
	return 0;
}

typedef struct dl {
	const char *name;
	const char *hex;
	long long size;
	const char *mime;
	time_t mtime;
	bool gz;
	const char *version;
	char etag[BLOB_HEX_LEN + 3];      /* the content: "<hex>" */
	char etag_gz[BLOB_HEX_LEN + 8];   /* its gzip encoding: "<hex>-gzip" */
} dl_t;

/* RFC 9110 13.2.2: 0 carry on, else the status answered (304 or 412). */
static int preconditions(req_t *r, const dl_t *d)
{
	const char *im = req_param(r, "HTTP_IF_MATCH");
	const char *ius = req_param(r, "HTTP_IF_UNMODIFIED_SINCE");
	const char *inm = req_param(r, "HTTP_IF_NONE_MATCH");
	const char *ims = req_param(r, "HTTP_IF_MODIFIED_SINCE");
	time_t t;

	if (im) {
		if (!http_etag_match(im, strlen(im), d->etag) &&
		    !http_etag_match(im, strlen(im), d->etag_gz))
			return 412;
	} else if (ius && http_date_parse(ius, strlen(ius), &t) == 0 && d->mtime > t) {
		return 412;
	}
	if (inm) {
		if (http_etag_match(inm, strlen(inm), d->etag) ||
		    http_etag_match(inm, strlen(inm), d->etag_gz))
			return 304;
	} else if (ims && http_date_parse(ims, strlen(ims), &t) == 0 && d->mtime <= t) {
		return 304;
	}
	return 0;
}

/* Does If-Range (when present) let the Range header apply? */
static bool if_range_ok(req_t *r, const dl_t *d)
{
	const char *ir = req_param(r, "HTTP_IF_RANGE");
	size_t n;
	time_t t;

	if (ir == NULL)
		return true;
	n = strlen(ir);
	if (n > 0 && ir[n - 1] == '"')
		return http_etag_strong_eq(ir, n, d->etag);
	return http_date_parse(ir, n, &t) == 0 && t == d->mtime;
}

struct sink {
	FCGX_Stream *out;
};

static int sink_write(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	while (n > 0) {
		int part = n > (1 << 30) ? 1 << 30 : (int)n;

		if (FCGX_PutStr(p, part, s->out) != part)
			return -2;   /* the client went away */
		p += part;
		n -= (size_t)part;
	}
	return 0;
}

/* Range requests on a gzip blob: decompress and send the original bytes. */
static void send_gz_ranges(req_t *r, const dl_t *d, const range_t *rg, int nr)
{
	char path[BLOB_PATH_MAX], boundary[33], cr[96];
	struct sink s = { r->fcgi->out };
	bool head = strcmp(r->method, "HEAD") == 0;
	int fd;

	if (blob_path(r->cfg->blob_dir, d->hex, true, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_error("download: blob %s.gz: %s", d->hex, strerror(errno));
		resp_header(r, "Retry-After", "5");
		resp_problem(r, 503, "unavailable", "The file is temporarily unavailable.");
		return;
	}
	if (nr == 1) {
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", rg[0].start, rg[0].end, d->size);
		resp_header(r, "Content-Range", cr);
		resp_stream_head(r, 206, d->mime, rg[0].end - rg[0].start + 1);
		if (!head && compress_gunzip_range(fd, rg[0].start, rg[0].end, sink_write, &s) == -1)
			log_error("download: blob %s.gz: corrupt or unreadable", d->hex);
		close(fd);
		return;
	}
	{
		unsigned char raw[16];
		buf_t part = BUF_INIT;
		long long total = 0;

		if (auth_random(raw, sizeof(raw)) < 0)
			memset(raw, 7, sizeof(raw));
		for (int i = 0; i < 16; i++)
			snprintf(boundary + 2 * i, 3, "%02x", raw[i]);
		for (int i = 0; i < nr; i++) {
			buf_reset(&part);
			buf_addf(&part, "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %lld-%lld/%lld"
				 "\r\n\r\n", boundary, d->mime, rg[i].start, rg[i].end, d->size);
			total += (long long)part.len + rg[i].end - rg[i].start + 1;
		}
		total += (long long)strlen(boundary) + 8;   /* "\r\n--" B "--\r\n" */
		resp_stream_head(r, 206, arena_printf(r->arena, "multipart/byteranges; boundary=%s",
						      boundary), total);
		for (int i = 0; i < nr && !head; i++) {
			buf_reset(&part);
			buf_addf(&part, "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %lld-%lld/%lld"
				 "\r\n\r\n", boundary, d->mime, rg[i].start, rg[i].end, d->size);
			if (sink_write(&s, part.p, part.len) < 0 ||
			    compress_gunzip_range(fd, rg[i].start, rg[i].end, sink_write, &s) != 0)
				break;
			if (i == nr - 1) {
				buf_reset(&part);
				buf_addf(&part, "\r\n--%s--\r\n", boundary);
				sink_write(&s, part.p, part.len);
			}
		}
		buf_free(&part);
	}
	close(fd);
}

void files_download(req_t *r, const dl_who_t *who, const char *version)
{
	const char *p[4] = { who->file_id, who->user_id, version, who->share_id };
	const char *range = req_param(r, "HTTP_RANGE"), *disp = "attachment", *loc;
	const char *ae, *owner;
	bool gz_out;
	char lm[30], rel[BLOB_REL_MAX], *v;
	range_t rg[RANGE_MAX];
	PGresult *res;
	size_t vl;
	dl_t d;
	int rc, nr = 0;

	rc = req_query(r, "disposition", &v, &vl);
	if (rc < 0)
		return;
	if (rc == 1) {
		if (strcmp(v, "inline") == 0) {
			disp = "inline";
		} else if (strcmp(v, "attachment") != 0) {
			resp_problem(r, 400, "invalid_request",
				     "disposition must be inline or attachment.");
			return;
		}
	}
	rc = db_query(r->db, r->arena, &st_download_lookup, 4, p, &res);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		resp_problem(r, 404, "not_found", version ? "No such file or version." : "No such file.");
		return;
	}
	d.name = PQgetvalue(res, 0, 0);
	d.hex = PQgetvalue(res, 0, 1);
	d.size = atoll(PQgetvalue(res, 0, 2));
	d.mime = PQgetvalue(res, 0, 3);
	d.mtime = (time_t)atoll(PQgetvalue(res, 0, 4));
	d.gz = strcmp(PQgetvalue(res, 0, 5), "gzip") == 0;
	d.version = PQgetvalue(res, 0, 6);
	owner = PQgetvalue(res, 0, 7);
	snprintf(d.etag, sizeof(d.etag), "\"%s\"", d.hex);
	snprintf(d.etag_gz, sizeof(d.etag_gz), "\"%s-gzip\"", d.hex);
	if (mime_is_active(d.mime))
		disp = "attachment";

	http_date_format(d.mtime, lm);
	r->cache_control = "private, no-cache";
	resp_header(r, "Last-Modified", lm);
	r->vary = "Accept-Encoding";
	/* a gzip blob goes out gzip-encoded to clients that take it: another
	 * representation, so another entity tag */
	ae = req_param(r, "HTTP_ACCEPT_ENCODING");
	gz_out = d.gz && ae && http_accepts_gzip(ae, strlen(ae));
	rc = preconditions(r, &d);
	if (rc == 304) {
		resp_header(r, "ETag", gz_out ? d.etag_gz : d.etag);
		resp_empty(r, 304);
		return;
	}
	if (rc == 412) {
		resp_header(r, "ETag", gz_out ? d.etag_gz : d.etag);
		resp_problem(r, 412, "precondition_failed", "The file does not match the precondition.");
		return;
	}
	if (range && if_range_ok(r, &d)) {
		nr = range_parse(range, strlen(range), d.size, rg, RANGE_MAX);
		if (nr < 0) {
			resp_header(r, "Content-Range", arena_printf(r->arena, "bytes */%lld", d.size));
			resp_problem(r, 416, "range_not_satisfiable",
				     "The requested range is outside the file.");
			return;
		}
	}
	resp_header(r, "Content-Disposition",
		    http_content_disposition(r->arena, disp, d.name, strlen(d.name)));
	/* a download counts once: a client fetching a file in pieces (resuming,
	 * parallel ranges) is counted for the piece that starts at byte 0 */
	if (strcmp(r->method, "HEAD") != 0 && (nr == 0 || rg[0].start == 0)) {
		/* a link's download limit: this download takes one, atomically */
		if (who->share_id && share_download_take(r, who->share_id) < 0)
			return;
		download_record(r, who, owner, d.name, d.version);
	}
	resp_header(r, "ETag", gz_out && nr == 0 ? d.etag_gz : d.etag);
	if (d.gz && nr > 0) {
		send_gz_ranges(r, &d, rg, nr);
		return;
	}
	/* nginx sends the file: /_blobs/ honours Range, /_blobs_full/ always
	 * sends the whole file (a Range we ignore or a failed If-Range),
	 * /_blobz/ sends the gzip copy, decompressing for clients without gzip */
	blob_relpath(d.hex, false, rel);
	loc = d.gz ? "/_blobz/" : range && nr == 0 ? "/_blobs_full/" : "/_blobs/";
	/* nginx says so itself for /_blobs/; a gzip-encoded answer must not
	 * invite ranges, which count original bytes, not the encoded ones */
	if (strcmp(loc, "/_blobs/") != 0 && !gz_out)
		resp_header(r, "Accept-Ranges", "bytes");
	resp_header(r, "X-Accel-Redirect", arena_printf(r->arena, "%s%s", loc, rel));
	r->content_type = d.mime;
	r->status = 200;
	buf_reset(&r->body);
	r->responded = true;
}

void h_file_download(req_t *r)
{
	long long ver;
	int rc = req_query_uint(r, "version", 1, 999999999, "version must be a positive integer.",
				&ver);

	if (rc < 0)
		return;
	dl_who_t who = { r->params[0], r->user.id, NULL };

	files_download(r, &who, rc == 1 ? arena_printf(r->arena, "%lld", ver) : NULL);
}

void h_file_version_download(req_t *r)
{
	dl_who_t who = { r->params[0], r->user.id, NULL };

	files_download(r, &who, r->params[1]);
}

/* ---- versions ---- */

static bool file_visible(req_t *r)
{
	authz_t az;

	return authz(r, "view", "file", r->params[0], &az) == 0;
}

void h_file_versions(req_t *r)
{
	const char *after = NULL, *p[3];
	char lim[16];
	json_object *o, *items;
	PGresult *res;
	int limit = req_page_limit(r), rc, n;

	if (limit < 0)
		return;
	rc = req_cursor(r, &after, 1);
	if (rc < 0)
		return;
	if (rc == 1) {
		long long vn;

		if (text_parse_uint(after, strlen(after), 999999999, &vn) < 0 || vn < 1) {
			resp_problem(r, 400, "invalid_request", "The cursor is invalid.");
			return;
		}
	}
	if (!file_visible(r))
		return;
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[0] = r->params[0];
	p[1] = after;
	p[2] = lim;
	rc = db_query(r->db, r->arena, &st_versions_list, 3, p, &res);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	n = PQntuples(res);
	o = json_object_new_object();
	items = json_object_new_array();
	for (int i = 0; i < n && i < limit; i++) {
		json_object *it = json_object_new_object();

		json_object_object_add(it, "version", jint(atoll(PQgetvalue(res, i, 0))));
		json_object_object_add(it, "size", jint(atoll(PQgetvalue(res, i, 1))));
		json_object_object_add(it, "sha256", jstr(PQgetvalue(res, i, 2)));
		json_object_object_add(it, "mime_type", jstr(PQgetvalue(res, i, 3)));
		json_object_object_add(it, "created_at", jstr(PQgetvalue(res, i, 4)));
		json_object_object_add(it, "is_current", jbool(PQgetvalue(res, i, 5)[0] == 't'));
		json_object_array_add(items, it);
	}
	json_object_object_add(o, "items", items);
	if (n > limit) {
		const char *part = PQgetvalue(res, limit - 1, 0);

		json_object_object_add(o, "next_cursor", jstr(cursor_encode(r->arena, &part, 1)));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	resp_json(r, 200, o);
}

void h_file_version_restore(req_t *r)
{
	char keep[16];
	const char *p[4] = { NULL, r->params[0], r->params[1], keep };
	PGresult *res;
	authz_t az;
	int rc;

	if (authz(r, "edit", "file", r->params[0], &az) < 0)
		return;
	/* the owner's file: restored in the owner's name, charged to them */
	p[0] = az.owner;
	snprintf(keep, sizeof(keep), "%d", r->cfg->versions_keep);
	if ((rc = db_begin(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	rc = db_query(r->db, r->arena, &st_version_restore, 4, p, &res);
	if (rc == DB_ECHECK && strcmp(r->db->constraint, "users_usage_within_quota") == 0) {
		db_rollback(r->db);
		resp_problem(r, 507, "quota_exceeded",
			     "Restoring this version would exceed the owner's storage quota.");
		return;
	}
	if (rc != DB_OK) {
		db_rollback(r->db);
		resp_db_error(r, rc);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		db_rollback(r->db);
		resp_problem(r, 404, "not_found", "No such file or version.");
		return;
	}
	log_file_event(r, az.owner, "restore_version", r->params[0], NULL,
		       arena_printf(r->arena, "{\"restored\": %s}", r->params[1]));
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (az.is_owner)
		answer_json_text(r, 200, PQgetvalue(res, 0, 0));
	else
		authz_answer_item(r, 200, "file", r->params[0]);
}

/* DELETE /api/files/:id/versions/:n: an older version goes, and with it
 * its bytes from the owner's quota (the blob stays while anything else
 * refers to it; gc removes it afterwards). */
void h_file_version_delete(req_t *r)
{
	const char *p[2] = { r->params[0], r->params[1] };
	PGresult *res;
	authz_t az;
	int rc;

	if (authz(r, "edit", "file", r->params[0], &az) < 0)
		return;
	if ((rc = db_begin(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if ((rc = db_query(r->db, r->arena, &st_version_delete, 2, p, &res)) != DB_OK) {
		db_rollback(r->db);
		resp_db_error(r, rc);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		db_rollback(r->db);
		if (!PQgetisnull(res, 0, 1) && PQgetvalue(res, 0, 1)[0] == 't')
			resp_problem(r, 409, "version_current", "The current version cannot be deleted: "
				     "restore another version first, or delete the file.");
		else
			resp_problem(r, 404, "not_found", "No such file or version.");
		return;
	}
	log_file_event(r, az.owner, "delete_version", r->params[0], PQgetvalue(res, 0, 2),
		       arena_printf(r->arena, "{\"version\": %s, \"size\": %s}", r->params[1],
				    PQgetvalue(res, 0, 0)));
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	resp_empty(r, 204);
}
