/*
 * shares: share links. The owner makes, lists, edits and revokes them; anyone
 * holding a link's token may see (and, with "download", fetch) the shared
 * file or the shared folder's subtree, within what item_permissions()
 * (migration 005) allows the link. Tokens are 256 random bits shown once;
 * the database keeps their SHA-256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "activity.h"
#include "auth.h"
#include "authz.h"
#include "files.h"
#include "folders.h"
#include "handlers.h"
#include "log.h"
#include "text.h"

#define SHARE_PREFIX        "cfs_"
#define SHARE_PASSWORD_MIN  8
#define SHARE_PASSWORD_MAX  256
#define SHARE_EXPIRES_MIN   60
#define SHARE_EXPIRES_MAX   31536000
#define SHARE_LIMIT_MAX     1000000
/* failed passwords per link, unknown tokens per address, per window */
#define SHARE_PW_FAILS      5       /* per link and address */
#define SHARE_PW_FAILS_ALL  50      /* per link */
#define SHARE_PROBES        20
#define SHARE_WINDOW        900
#define SHARE_PASS_TTL      3600    /* seconds an X-Share-Access pass lasts */
#define SHARE_CHALLENGE     "SharePassword realm=\"coffer-share\""

DB_STMT(st_share_create,
	"WITH s AS (INSERT INTO shares (user_id, file_id, folder_id, share_token_hash, token_prefix, "
	"                               permission_level, password_hash, expires_at, download_limit) "
	"           VALUES ($1, CASE WHEN $2 = 'file' THEN $3::uuid END, "
	"                   CASE WHEN $2 = 'folder' THEN $3::uuid END, $4::bytea, $5, $6, $7, "
	"                   coalesce($8::timestamptz, now() + $9::integer * interval '1 second'), "
	"                   $10::bigint) RETURNING *) "
	"SELECT share_json(s), s.id FROM s");

DB_STMT(st_share_update,
	"UPDATE shares s SET permission_level = coalesce($3, s.permission_level), "
	"       password_hash = CASE WHEN $4::boolean THEN $5 ELSE s.password_hash END, "
	"       expires_at = CASE WHEN $6::boolean THEN "
	"                    coalesce($7::timestamptz, now() + $8::integer * interval '1 second') "
	"                    ELSE s.expires_at END, "
	"       download_limit = CASE WHEN $9::boolean THEN $10::bigint ELSE s.download_limit END, "
	"       updated_at = now() "
	"WHERE s.id = $1 AND s.user_id = $2 AND s.is_active RETURNING share_json(s)");

DB_STMT(st_share_revoke,
	"UPDATE shares SET is_active = false, updated_at = now() "
	"WHERE id = $1 AND user_id = $2 AND is_active RETURNING id");

DB_STMT(st_shares_first,
	"SELECT share_json(s), s.created_at::text, s.id FROM shares s "
	"WHERE s.user_id = $1 AND s.is_active ORDER BY s.created_at DESC, s.id DESC LIMIT $2");

DB_STMT(st_shares_after,
	"SELECT share_json(s), s.created_at::text, s.id FROM shares s "
	"WHERE s.user_id = $1 AND s.is_active AND (s.created_at, s.id) < ($3::timestamptz, $4::uuid) "
	"ORDER BY s.created_at DESC, s.id DESC LIMIT $2");

/* ---- the owner's side ---- */

typedef struct sharereq {
	const char *permission;     /* NULL: unchanged / default */
	bool set_password;
	const char *password_hash;  /* NULL: none */
	bool set_expiry;
	const char *expires_at;     /* RFC 3339 text or NULL */
	const char *expires_in;     /* seconds text or NULL */
	bool set_limit;
	const char *limit;          /* NULL: none */
} sharereq_t;

/* The share fields of a body; creating: permission defaults to download.
 * Answers 400 and returns -1 on anything wrong. */
static int sharereq_parse(req_t *r, json_object *body, bool creating, sharereq_t *q)
{
	json_object *errors = json_object_new_array(), *v;
	int fields;

	memset(q, 0, sizeof(*q));
	fields = errors_unknown(errors, body, (const char *const[]){ "permission", "password",
				"expires_at", "expires_in", "download_limit", NULL },
				"is not a field of a share link");
	if (json_object_object_get_ex(body, "permission", &v)) {
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (strcmp(s, "view") == 0 || strcmp(s, "download") == 0)
			q->permission = s;
		else
			errors_add(errors, "permission", "must be view or download");
	}
	if (creating && q->permission == NULL)
		q->permission = "download";
	if (json_object_object_get_ex(body, "password", &v)) {
		q->set_password = true;
		if (v != NULL) {
			size_t n = (size_t)json_object_get_string_len(v);
			char hash[AUTH_HASH_MAX];

			if (!json_object_is_type(v, json_type_string) || n < SHARE_PASSWORD_MIN ||
			    n > SHARE_PASSWORD_MAX || !text_utf8_valid(json_object_get_string(v), n))
				errors_add(errors, "password", "must be 8-256 bytes of UTF-8, or null");
			else if (auth_password_hash(json_object_get_string(v), n, r->cfg->argon2_m_kib,
						    r->cfg->argon2_t, hash) < 0)
				errors_add(errors, "password", "could not be hashed");
			else
				q->password_hash = arena_strdup(r->arena, hash);
		}
	}
	if (json_object_object_get_ex(body, "expires_at", &v)) {
		q->set_expiry = true;
		if (v != NULL) {
			time_t t;
			const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

			if (text_rfc3339_parse(s, strlen(s), &t) < 0 || t <= time(NULL))
				errors_add(errors, "expires_at", "must be an RFC 3339 time in the future, or null");
			else
				q->expires_at = s;
		}
	}
	if (json_object_object_get_ex(body, "expires_in", &v) && v != NULL) {
		if (q->expires_at) {
			errors_add(errors, "expires_in", "give expires_at or expires_in, not both");
		} else if (!json_object_is_type(v, json_type_int) ||
			   json_object_get_int64(v) < SHARE_EXPIRES_MIN ||
			   json_object_get_int64(v) > SHARE_EXPIRES_MAX) {
			errors_add(errors, "expires_in", "must be a number of seconds from 60 to 31536000");
		} else {
			q->set_expiry = true;
			q->expires_in = arena_printf(r->arena, "%lld", (long long)json_object_get_int64(v));
		}
	}
	if (json_object_object_get_ex(body, "download_limit", &v)) {
		q->set_limit = true;
		if (v != NULL) {
			if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
			    json_object_get_int64(v) > SHARE_LIMIT_MAX)
				errors_add(errors, "download_limit", "must be an integer from 1 to 1000000, or null");
			else
				q->limit = arena_printf(r->arena, "%lld", (long long)json_object_get_int64(v));
		}
	}
	if (!creating && fields == 0)
		errors_add(errors, "permission", "at least one field is required");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The share link is invalid.", errors);
		return -1;
	}
	json_object_put(errors);
	return 0;
}

/* "<scheme>://<host>/api/shares/<token>", from the request's Host when it
 * looks like a host name, else the path alone. */
static const char *share_url(req_t *r, const char *token)
{
	const char *host = req_param(r, "HTTP_HOST");

	if (host && *host && strlen(host) < 256 &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
	    strlen(host))
		return arena_printf(r->arena, "%s://%s/api/shares/%s", r->https ? "https" : "http",
				    host, token);
	return arena_printf(r->arena, "/api/shares/%s", token);
}

static void share_create(req_t *r, const char *kind)
{
	json_object *body = req_json_body(r), *o;
	char tok[sizeof(SHARE_PREFIX) + AUTH_TOKEN_CHARS], digest[AUTH_DIGEST_HEX], prefix[16];
	const char *p[10];
	sharereq_t q;
	PGresult *res;
	authz_t az;
	int rc;

	if (body == NULL || sharereq_parse(r, body, true, &q) < 0)
		return;
	if (authz(r, "share", kind, r->params[0], &az) < 0)
		return;
	p[0] = r->user.id;
	p[1] = kind;
	p[2] = r->params[0];
	if (auth_token_new(SHARE_PREFIX, tok, sizeof(tok)) < 0) {
		resp_problem(r, 503, "unavailable", "No randomness available; try again shortly.");
		return;
	}
	auth_digest(tok, strlen(tok), digest);
	snprintf(prefix, sizeof(prefix), "%.10s", tok);
	p[3] = digest;
	p[4] = prefix;
	p[5] = q.permission;
	p[6] = q.password_hash;
	p[7] = q.expires_at;
	p[8] = q.expires_in;
	p[9] = q.limit;
	if ((rc = db_query(r->db, r->arena, &st_share_create, 10, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	{
		activity_t ev = { r->user.id, "share", r->params[0], kind, NULL, r->remote_addr,
				  r->user_agent, arena_printf(r->arena, "{\"share_id\": \"%s\"}",
							      PQgetvalue(res, 0, 1)) };

		activity_log(r->db, r->arena, &ev);
	}
	o = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (o == NULL) {
		resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
		return;
	}
	json_object_object_add(o, "token", jstr(tok));
	json_object_object_add(o, "url", jstr(share_url(r, tok)));
	resp_header(r, "Location", arena_printf(r->arena, "/api/shares/%s", PQgetvalue(res, 0, 1)));
	resp_json(r, 201, o);
}

void h_file_share(req_t *r)
{
	share_create(r, "file");
}

void h_folder_share(req_t *r)
{
	share_create(r, "folder");
}

void h_shares_list(req_t *r)
{
	req_list_by_time(r, &st_shares_first, &st_shares_after);
}

void h_share_update(req_t *r)
{
	json_object *body = req_json_body(r), *o;
	const char *p[10];
	sharereq_t q;
	PGresult *res;
	int rc;

	if (body == NULL || sharereq_parse(r, body, false, &q) < 0)
		return;
	p[0] = r->params[0];
	p[1] = r->user.id;
	p[2] = q.permission;
	p[3] = q.set_password ? "true" : "false";
	p[4] = q.password_hash;
	p[5] = q.set_expiry ? "true" : "false";
	p[6] = q.expires_at;
	p[7] = q.expires_in;
	p[8] = q.set_limit ? "true" : "false";
	p[9] = q.limit;
	if ((rc = db_query(r->db, r->arena, &st_share_update, 10, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1 || (o = json_tokener_parse(PQgetvalue(res, 0, 0))) == NULL) {
		resp_problem(r, 404, "not_found", "No such share link.");
		return;
	}
	{
		/* what changed, never the password itself */
		json_object *d = json_object_new_object();
		activity_t ev = { r->user.id, "share_update", r->params[0], "share", NULL, r->remote_addr,
				  r->user_agent, NULL };

		if (q.permission)
			json_object_object_add(d, "permission", jstr(q.permission));
		if (q.set_password)
			json_object_object_add(d, "password", jstr(q.password_hash ? "set" : "removed"));
		if (q.set_expiry)
			json_object_object_add(d, "expires_at", json_object_get(
					       json_object_object_get(o, "expires_at")));
		if (q.set_limit)
			json_object_object_add(d, "download_limit", json_object_get(
					       json_object_object_get(o, "download_limit")));
		ev.details = arena_strdup(r->arena, json_object_to_json_string_ext(d,
					  JSON_C_TO_STRING_PLAIN));
		json_object_put(d);
		activity_log(r->db, r->arena, &ev);
	}
	resp_json(r, 200, o);
}

void h_share_delete(req_t *r)
{
	const char *p[2] = { r->params[0], r->user.id };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_share_revoke, 2, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		resp_problem(r, 404, "not_found", "No such share link.");
		return;
	}
	{
		activity_t ev = { r->user.id, "unshare", r->params[0], "share", NULL, r->remote_addr,
				  r->user_agent, NULL };

		activity_log(r->db, r->arena, &ev);
	}
	resp_empty(r, 204);
}

/* ---- the public side ---- */

DB_STMT(st_share_lookup,
	"SELECT id, owner, kind, item, active, expired, password_hash, permission, "
	"       download_limit, download_count, expires_at FROM share_lookup($1::bytea)");

/* The item as the link's visitor sees it (NULL: the link gives nothing on
 * it) and the link's permissions object on it. */
DB_STMT(st_share_item_json,
	"SELECT share_item_json($1, $2, $3, $4)::text, "
	"       permissions_json(item_permissions(NULL, $1, $2, $3))::text");

DB_STMT(st_share_within,
	"SELECT folder_is_within($1, $2) AND 'view' = ANY (item_permissions(NULL, $3, 'folder', $1))");

DB_STMT(st_share_accessed,
	"WITH s AS (UPDATE shares SET access_count = access_count + 1, last_access_at = now() "
	"           WHERE id = $1 RETURNING user_id, id) "
	"INSERT INTO activity_log (user_id, action, target_id, target_kind, ip_address, user_agent, "
	"                          details) "
	"SELECT s.user_id, 'share_access', s.id, 'share', "
	"       CASE WHEN $2 ~ '^[0-9a-fA-F.:]+$' THEN $2::inet END, left($3, 512), "
	"       jsonb_build_object('item_id', $4::uuid) FROM s");

static bool token_valid(const char *t)
{
	size_t n = strlen(t), k = strlen(SHARE_PREFIX);

	if (n != k + AUTH_TOKEN_CHARS || strncmp(t, SHARE_PREFIX, k) != 0)
		return false;
	return strspn(t + k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
	       AUTH_TOKEN_CHARS;
}

static void rate_limited(req_t *r, int retry)
{
	resp_header(r, "Retry-After", arena_printf(r->arena, "%d", retry > 0 ? retry : 1));
	resp_problem(r, 429, "rate_limited", "Too many attempts; try again later.");
}

static void share_not_found(req_t *r, const char *probe_key)
{
	account_throttle_fail(r->db, r->arena, probe_key, SHARE_WINDOW / 15);
	resp_problem(r, 404, "not_found", "No such share link.");
}

typedef struct share {
	const char *id, *owner, *kind, *target, *permission;
	const char *expires_at;   /* RFC 3339, or NULL */
} share_t;

/* The link of the route's token, checked: known and active (else 404, and
 * the address's probe counted), not expired (410), its password given in
 * X-Share-Password when it has one (401; failures counted per link, 429
 * past the limit). 0, or -1 when answered. */
/* After the right password, the answer carries a pass (X-Share-Access, valid
 * SHARE_PASS_TTL seconds) that the visitor sends instead of the password:
 * argon2id runs once per visit, not once per page and download. The pass
 * is signed with the link's password hash, so a new password ends it. */
static void share_pass_give(req_t *r, const char *id, const char *pwhash)
{
	char pass[AUTH_PASS_MAX];

	if (auth_pass_new(pwhash, id, (long long)time(NULL) + SHARE_PASS_TTL, pass) == 0)
		resp_header(r, "X-Share-Access", arena_strdup(r->arena, pass));
}

static bool share_pass_ok(req_t *r, const char *id, const char *pwhash)
{
	const char *pass = req_param(r, "HTTP_X_SHARE_ACCESS");

	return pass && auth_pass_valid(pass, strlen(pass), pwhash, id, (long long)time(NULL),
				       SHARE_PASS_TTL);
}

static int share_resolve(req_t *r, share_t *sh)
{
	const char *token = r->params[0], *probe, *p[1], *pw;
	char digest[AUTH_DIGEST_HEX];
	PGresult *res;
	int rc, retry = 0;

	probe = arena_printf(r->arena, "sprobe:%s", r->remote_addr ? r->remote_addr : "");
	if ((rc = account_throttle_check(r->db, r->arena, NULL, probe, SHARE_PW_FAILS, SHARE_PROBES,
					 SHARE_WINDOW / 15, &retry)) != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	if (retry > 0) {
		rate_limited(r, retry);
		return -1;
	}
	if (!token_valid(token)) {
		share_not_found(r, probe);
		return -1;
	}
	auth_digest(token, strlen(token), digest);
	p[0] = digest;
	if ((rc = db_query(r->db, r->arena, &st_share_lookup, 1, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 4), "t") != 0) {
		share_not_found(r, probe);
		return -1;
	}
	sh->id = PQgetvalue(res, 0, 0);
	sh->owner = PQgetvalue(res, 0, 1);
	sh->kind = PQgetvalue(res, 0, 2);
	sh->target = PQgetvalue(res, 0, 3);
	sh->permission = PQgetvalue(res, 0, 7);
	sh->expires_at = PQgetisnull(res, 0, 10) ? NULL : PQgetvalue(res, 0, 10);
	if (strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
		resp_problem(r, 410, "share_expired", "This share link has expired.");
		return -1;
	}
	if (!PQgetisnull(res, 0, 6) && !share_pass_ok(r, sh->id, PQgetvalue(res, 0, 6))) {
		/* guesses are counted per link and address (SHARE_PW_FAILS), and
		 * per link from everywhere (SHARE_PW_FAILS_ALL): one guesser cannot
		 * lock the link for everyone, nor shut out those holding a pass */
		const char *key = arena_printf(r->arena, "sharepw:%s", sh->id);
		const char *ipkey = arena_printf(r->arena, "sharepw:%s:%s", sh->id,
						 r->remote_addr ? r->remote_addr : "");

		if ((rc = account_throttle_check(r->db, r->arena, key, ipkey, SHARE_PW_FAILS_ALL,
						 SHARE_PW_FAILS, SHARE_WINDOW, &retry)) != DB_OK) {
			resp_db_error(r, rc);
			return -1;
		}
		if (retry > 0) {
			rate_limited(r, retry);
			return -1;
		}
		pw = req_param(r, "HTTP_X_SHARE_PASSWORD");
		if (pw == NULL || *pw == '\0') {
			resp_header(r, "WWW-Authenticate", SHARE_CHALLENGE);
			resp_problem(r, 401, "share_password_required",
				     "This share link needs its password, in the X-Share-Password header.");
			return -1;
		}
		if (!auth_password_verify(PQgetvalue(res, 0, 6), pw, strlen(pw), r->cfg->argon2_m_kib,
					  r->cfg->argon2_t)) {
			account_throttle_fail(r->db, r->arena, key, SHARE_WINDOW);
			account_throttle_fail(r->db, r->arena, ipkey, SHARE_WINDOW);
			resp_header(r, "WWW-Authenticate", SHARE_CHALLENGE);
			resp_problem(r, 401, "share_password_invalid", "The share password is wrong.");
			return -1;
		}
		share_pass_give(r, sh->id, PQgetvalue(res, 0, 6));
	}
	return 0;
}

DB_STMT(st_share_get,
	"SELECT share_json(s) FROM shares s WHERE s.id = $1 AND s.user_id = $2 AND s.is_active");

/* GET /api/shares/<id>: the owner's view of one of their links (a token is
 * never a UUID: it starts with cfs_). */
static void share_get(req_t *r)
{
	const char *p[2] = { r->params[0], NULL };
	PGresult *res;
	int rc = auth_resolve(r);

	if (rc < 0)
		return;
	if (rc == 0) {
		resp_header(r, "WWW-Authenticate", "Bearer realm=\"coffer\"");
		resp_problem(r, 401, "unauthenticated", "A valid session or API token is required.");
		return;
	}
	p[1] = r->user.id;
	if ((rc = db_query(r->db, r->arena, &st_share_get, 2, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		resp_problem(r, 404, "not_found", "No such share link.");
		return;
	}
	resp_json_text(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

void h_share_open(req_t *r)
{
	const char *p[4], *shown;
	PGresult *item;
	int rc;
	buf_t out = BUF_INIT;
	listing_t q;
	share_t sh;
	bool folder = false;

	if (text_uuid_valid(r->params[0], strlen(r->params[0]))) {
		share_get(r);
		return;
	}
	if (share_resolve(r, &sh) < 0)
		return;
	folder = strcmp(sh.kind, "folder") == 0;
	shown = sh.target;
	if (folder) {
		/* ?folder_id= browses the shared subtree; item is where one is */
		if (folders_listing_parse(r, &q, true, sh.target) < 0)
			return;
		if (q.folder_id && strcmp(q.folder_id, sh.target) != 0) {
			const char *w[3] = { q.folder_id, sh.target, sh.id };
			PGresult *in;

			if ((rc = db_query(r->db, r->arena, &st_share_within, 3, w, &in)) != DB_OK) {
				resp_db_error(r, rc);
				return;
			}
			if (strcmp(PQgetvalue(in, 0, 0), "t") != 0) {
				resp_problem(r, 404, "not_found", "No such folder in this share.");
				return;
			}
			shown = q.folder_id;
		}
	}
	p[0] = sh.id;
	p[1] = sh.kind;
	p[2] = shown;
	p[3] = folder ? sh.target : NULL;
	if ((rc = db_query(r->db, r->arena, &st_share_item_json, 4, p, &item)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(item) != 1 || PQgetisnull(item, 0, 0)) {
		/* the item went to the trash or is gone */
		resp_problem(r, 404, "not_found", "No such share link.");
		return;
	}
	buf_adds(&out, "{\"share\": {\"kind\": \"");
	buf_adds(&out, sh.kind);
	buf_adds(&out, "\", \"permission\": \"");
	buf_adds(&out, sh.permission);
	buf_adds(&out, "\", \"expires_at\": ");
	if (sh.expires_at)
		buf_addf(&out, "\"%s\"", sh.expires_at);   /* RFC 3339: nothing to escape */
	else
		buf_adds(&out, "null");
	buf_adds(&out, "}, \"item\": ");
	buf_add(&out, PQgetvalue(item, 0, 0), (size_t)PQgetlength(item, 0, 0));
	if (folder) {
		buf_adds(&out, ", ");
		if (folders_listing(r, &q, shown, PQgetvalue(item, 0, 1), sh.target, &out) < 0)
			goto done;
	}
	buf_addc(&out, '}');
	p[0] = sh.id;
	p[1] = r->remote_addr ? r->remote_addr : "";
	p[2] = r->user_agent;
	p[3] = shown;
	if ((rc = db_query(r->db, r->arena, &st_share_accessed, 4, p, NULL)) != DB_OK)
		log_error("request %s: share %s: access not counted: %s", r->request_id, sh.id,
			  db_strerror(rc));
	resp_json_text(r, 200, out.p, out.len);
done:
	buf_free(&out);
}

DB_STMT(st_share_file_perms,
	"SELECT item_permissions(NULL, $1, 'file', $2)::text[]");

/* Nothing more to download: the limit refuses every request, ranges too. */
DB_STMT(st_share_limit_reached,
	"SELECT download_limit IS NOT NULL AND download_count >= download_limit FROM shares "
	"WHERE id = $1");

static void share_download(req_t *r, const share_t *sh, const char *file_id)
{
	const char *p[2] = { sh->id, file_id };
	PGresult *res;
	const char *perms;
	dl_who_t who = { file_id, NULL, sh->id };
	int rc = db_query(r->db, r->arena, &st_share_file_perms, 2, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	perms = PQgetvalue(res, 0, 0);
	if (strstr(perms, "view") == NULL) {
		resp_problem(r, 404, "not_found", "No such file in this share.");
		return;
	}
	if (strstr(perms, "download") == NULL) {
		resp_problem(r, 403, "forbidden", "This share link lets you see the file, not download it.");
		return;
	}
	/* counted (and the limit taken) by files_download, where the owner's
	 * downloads are counted: once per download, after its checks */
	if ((rc = db_query(r->db, r->arena, &st_share_limit_reached, 1, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		resp_problem(r, 410, "share_expired", "This share link has reached its download limit.");
		return;
	}
	files_download(r, &who, NULL);
}

void h_share_download(req_t *r)
{
	share_t sh;

	if (share_resolve(r, &sh) < 0)
		return;
	if (strcmp(sh.kind, "file") != 0) {
		resp_problem(r, 404, "not_found",
			     "This link shares a folder: download its files by their id.");
		return;
	}
	share_download(r, &sh, sh.target);
}

void h_share_file_download(req_t *r)
{
	share_t sh;

	if (share_resolve(r, &sh) < 0)
		return;
	share_download(r, &sh, r->params[1]);
}
