/*
 * admin_api: the administrators' routes. List and search users with their
 * usage, change a user's quota, deactivate or reactivate them, grant or
 * revoke admin rights, and a storage report across all users. Every route
 * answers 403 to a caller who is not an admin (r->user is read from the
 * database on every request, so a revoked admin loses them at once). Every
 * change is logged in the activity log of the admin and of the user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "auth.h"
#include "cursor.h"
#include "handlers.h"
#include "text.h"

#define ADMIN_LIST_DEFAULT 50
#define ADMIN_Q_MAX        254
#define ADMIN_QUOTA_MAX    (1LL << 60)
#define ADMIN_QTAG_LEN     16      /* hex digits of SHA-256(q) a cursor carries */
#define ADMIN_TOP_USERS    10

/* The columns admin_user_from() reads, in this order. */
#define ADMIN_USER_COLS \
	"u.id, u.username, u.email, api_time(u.created_at), u.root_folder_id, " \
	"u.is_admin, u.is_active, u.storage_quota, u.storage_used, " \
	"(SELECT count(*) FROM files f WHERE f.user_id = u.id AND NOT f.is_deleted), " \
	"lower(u.username) "

/* q matches a substring of the username or the email, case-insensitively and
 * literally (strpos: no wildcards). The order is the unique index
 * users_username_key, so the key of a page is lower(username) alone. */
#define ADMIN_LIST_WHERE \
	"WHERE ($1::text IS NULL OR strpos(lower(u.username), lower($1)) > 0 " \
	"       OR strpos(lower(u.email), lower($1)) > 0) "
#define ADMIN_LIST_ORDER "ORDER BY lower(u.username) LIMIT $2"

DB_STMT(st_admin_users_first,
	"SELECT " ADMIN_USER_COLS "FROM users u " ADMIN_LIST_WHERE ADMIN_LIST_ORDER);
DB_STMT(st_admin_users_after,
	"SELECT " ADMIN_USER_COLS "FROM users u " ADMIN_LIST_WHERE
	"AND lower(u.username) > $3 " ADMIN_LIST_ORDER);
DB_STMT(st_admin_user_get,
	"SELECT " ADMIN_USER_COLS "FROM users u WHERE u.id = $1");
DB_STMT(st_admin_user_lock,
	"SELECT " ADMIN_USER_COLS "FROM users u WHERE u.id = $1 FOR UPDATE");

DB_STMT(st_admin_user_set,
	"UPDATE users SET storage_quota = coalesce($2::bigint, storage_quota), "
	"       is_active = coalesce($3::boolean, is_active), "
	"       is_admin = coalesce($4::boolean, is_admin), updated_at = now() "
	"WHERE id = $1");

/* Reactivation then needs a new login; tokens stay, and work again. */
DB_STMT(st_admin_sessions_end, "DELETE FROM sessions WHERE user_id = $1");

/* logical: every version of every file, trash included (what is stored
 * until purged); quota_used: what counts against quotas (not the trash);
 * unique and stored: the blobs those versions refer to, before and after
 * compression. So deduplication saves logical - unique, never below 0. */
DB_STMT(st_admin_storage,
	"SELECT json_build_object("
	"  'users', (SELECT json_build_object('total', count(*), "
	"                   'active', count(*) FILTER (WHERE is_active), "
	"                   'admins', count(*) FILTER (WHERE is_admin)) FROM users), "
	"  'files', (SELECT json_build_object('count', count(*) FILTER (WHERE NOT is_deleted), "
	"                   'trash_count', count(*) FILTER (WHERE is_deleted)) FROM files), "
	"  'logical_bytes', l.bytes, "
	"  'quota_used_bytes', (SELECT coalesce(sum(storage_used), 0) FROM users), "
	"  'trash_bytes', l.trash, "
	"  'unique_bytes', b.unique_bytes, "
	"  'stored_bytes', b.stored_bytes, "
	"  'deduplication_saved_bytes', l.bytes - b.unique_bytes, "
	"  'compression_saved_bytes', b.compression_saved, "
	"  'largest_users', (SELECT coalesce(json_agg(json_build_object('id', x.id, "
	"                          'username', x.username, 'used', x.storage_used, "
	"                          'quota', x.storage_quota) "
	"                        ORDER BY x.storage_used DESC, lower(x.username)), '[]') "
	"                     FROM (SELECT * FROM users "
	"                            ORDER BY storage_used DESC, lower(username) LIMIT $1) x)) "
	"FROM (SELECT coalesce(sum(v.size), 0) AS bytes, "
	"             coalesce(sum(v.size) FILTER (WHERE f.is_deleted), 0) AS trash "
	"        FROM file_versions v JOIN files f ON f.id = v.file_id) l, "
	"     (SELECT coalesce(sum(size), 0) AS unique_bytes, "
	"             coalesce(sum(stored_size), 0) AS stored_bytes, "
	"             coalesce(sum(size - stored_size) FILTER (WHERE compression <> 'none'), 0) "
	"               AS compression_saved "
	"        FROM blobs WHERE ref_count > 0) b");

typedef struct admin_user {
	account_user_t u;
	long long file_count;
	const char *key;       /* lower(username): the list's sort key */
} admin_user_t;

static void admin_user_from(PGresult *res, int row, admin_user_t *a)
{
	a->u.id = PQgetvalue(res, row, 0);
	a->u.username = PQgetvalue(res, row, 1);
	a->u.email = PQgetvalue(res, row, 2);
	a->u.created_at = PQgetvalue(res, row, 3);
	a->u.root_folder_id = PQgetvalue(res, row, 4);
	a->u.is_admin = PQgetvalue(res, row, 5)[0] == 't';
	a->u.is_active = PQgetvalue(res, row, 6)[0] == 't';
	a->u.quota = strtoll(PQgetvalue(res, row, 7), NULL, 10);
	a->u.used = strtoll(PQgetvalue(res, row, 8), NULL, 10);
	a->file_count = strtoll(PQgetvalue(res, row, 9), NULL, 10);
	a->key = PQgetvalue(res, row, 10);
}

/* The user as GET /api/auth/user shows it (same storage figures), without
 * the root folder, with the count of live files. */
static json_object *admin_user_json(const admin_user_t *a)
{
	json_object *o = user_json(&a->u);

	json_object_object_del(o, "root_folder_id");
	json_object_object_add(o, "file_count", jint(a->file_count));
	return o;
}

/* 0 when the caller is an admin; otherwise answers 403 and returns -1. */
static int admin_only(req_t *r)
{
	if (r->user.is_admin)
		return 0;
	resp_problem(r, 403, "forbidden", "This route is for administrators.");
	return -1;
}

/* What a cursor carries of the search it belongs to: the start of SHA-256(q),
 * or "-" for no search, so a cursor cannot be replayed with another q. */
static const char *qtag(req_t *r, const char *q, size_t n)
{
	char d[AUTH_DIGEST_HEX];

	if (q == NULL)
		return "-";
	auth_digest(q, n, d);
	return arena_strndup(r->arena, d, ADMIN_QTAG_LEN);
}

void h_admin_users(req_t *r)
{
	const char *after[2] = { NULL, NULL }, *p[3], *tag;
	char *q = NULL, lim[24];
	size_t ql = 0;
	long long limit = ADMIN_LIST_DEFAULT;
	PGresult *res;
	json_object *o, *items;
	int rc, cr, n;

	if (admin_only(r) < 0)
		return;
	if ((rc = req_query(r, "q", &q, &ql)) < 0)
		return;
	if (rc == 1 && (ql < 1 || ql > ADMIN_Q_MAX || !text_utf8_valid(q, ql) || memchr(q, 0, ql))) {
		resp_problem(r, 400, "invalid_request", "q must be 1 to 254 bytes of UTF-8 text.");
		return;
	}
	if (rc == 0)
		q = NULL;
	if (req_query_uint(r, "limit", 1, REQ_LIST_MAX, "limit must be an integer from 1 to 1000.",
			   &limit) < 0 || (cr = req_cursor(r, after, 2)) < 0)
		return;
	tag = qtag(r, q, ql);
	if (cr == 1 && (strcmp(after[0], tag) != 0 || !text_username_valid(after[1], strlen(after[1])))) {
		resp_problem(r, 400, "invalid_request",
			     "The cursor is invalid, or belongs to another search (q).");
		return;
	}
	snprintf(lim, sizeof(lim), "%lld", limit + 1);
	p[0] = q;
	p[1] = lim;
	p[2] = after[1];
	rc = db_query(r->db, r->arena, cr == 1 ? &st_admin_users_after : &st_admin_users_first,
		      cr == 1 ? 3 : 2, p, &res);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	n = PQntuples(res);
	o = json_object_new_object();
	items = json_object_new_array();
	for (int i = 0; i < n && i < limit; i++) {
		admin_user_t a;

		admin_user_from(res, i, &a);
		json_object_array_add(items, admin_user_json(&a));
	}
	json_object_object_add(o, "items", items);
	if (n > limit) {
		const char *parts[2] = { tag, PQgetvalue(res, (int)limit - 1, 10) };

		json_object_object_add(o, "next_cursor", jstr(cursor_encode(r->arena, parts, 2)));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	resp_json(r, 200, o);
}

/* Read the user r->params[0] with st (locking it or not): 1 found, 0 not
 * (404 answered), -1 error (answered). */
static int admin_user_load(req_t *r, db_stmt_t *st, admin_user_t *a)
{
	const char *p[1] = { r->params[0] };
	PGresult *res;
	int rc = db_query(r->db, r->arena, st, 1, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	if (PQntuples(res) != 1) {
		resp_problem(r, 404, "not_found", "No such user.");
		return 0;
	}
	admin_user_from(res, 0, a);
	return 1;
}

void h_admin_user_get(req_t *r)
{
	admin_user_t a;

	if (admin_only(r) < 0 || admin_user_load(r, &st_admin_user_get, &a) != 1)
		return;
	resp_json(r, 200, admin_user_json(&a));
}

/* The change a PUT asks for; NULL: leave as is. */
typedef struct admin_change {
	const char *quota;      /* decimal bytes */
	long long quota_v;
	int is_active;          /* -1: not given */
	int is_admin;
} admin_change_t;

/* Parse the body into c; 0 ok, -1 when a 400 was answered. */
static int admin_change_parse(req_t *r, json_object *body, admin_change_t *c)
{
	json_object *errors = json_object_new_array();
	int fields = 0;

	*c = (admin_change_t){ NULL, 0, -1, -1 };
	json_object_object_foreach(body, key, v) {
		if (strcmp(key, "quota") == 0) {
			long long q = -1;

			fields++;
			if (json_object_is_type(v, json_type_int)) {
				/* json-c saturates huge numbers at INT64_MAX: out of range anyway */
				q = json_object_get_int64(v);
			} else if (json_object_is_type(v, json_type_string)) {
				const char *s = json_object_get_string(v);
				size_t n = (size_t)json_object_get_string_len(v);

				if (memchr(s, 0, n) || text_parse_size(s, n, &q) < 0)
					q = -1;
			}
			if (q < 0 || q > ADMIN_QUOTA_MAX) {
				errors_add(errors, "quota", "must be a number of bytes from 0 to 2^60, "
					   "as an integer or a size such as \"500M\", \"10G\" or \"1T\"");
				continue;
			}
			c->quota_v = q;
			c->quota = arena_printf(r->arena, "%lld", q);
		} else if (strcmp(key, "is_active") == 0 || strcmp(key, "is_admin") == 0) {
			int *dst = strcmp(key, "is_active") == 0 ? &c->is_active : &c->is_admin;

			fields++;
			if (!json_object_is_type(v, json_type_boolean))
				errors_add(errors, key, "must be true or false");
			else
				*dst = json_object_get_boolean(v) ? 1 : 0;
		} else {
			errors_add(errors, key, "is not a field that can be changed "
				   "(quota, is_active, is_admin)");
		}
	}
	if (fields == 0 && json_object_array_length(errors) == 0)
		errors_add(errors, "quota", "at least one of quota, is_active, is_admin is required");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The change of the user is invalid.", errors);
		return -1;
	}
	json_object_put(errors);
	return 0;
}

/* One admin action in the log of the admin and of the user (once when the
 * admin acts on themselves). extra: more members of details, or "". */
static int admin_log(req_t *r, const admin_user_t *t, const char *action, const char *extra)
{
	const char *details = arena_printf(r->arena, "{\"admin_id\": \"%s\"%s}", r->user.id, extra);
	activity_t ev = { r->user.id, action, t->u.id, "user", t->u.username, r->remote_addr,
			  r->user_agent, details };
	int rc = activity_log(r->db, r->arena, &ev);

	if (rc == DB_OK && strcmp(r->user.id, t->u.id) != 0) {
		ev.user_id = t->u.id;
		rc = activity_log(r->db, r->arena, &ev);
	}
	return rc;
}

/* Apply c to t inside the open transaction and log it; DB_OK or an error
 * (nothing answered). */
static int admin_change_apply(req_t *r, const admin_user_t *t, const admin_change_t *c)
{
	const char *p[4] = { t->u.id, c->quota, NULL, NULL };
	bool deactivate = c->is_active == 0 && t->u.is_active;
	int rc;

	if (c->is_active >= 0)
		p[2] = c->is_active ? "t" : "f";
	if (c->is_admin >= 0)
		p[3] = c->is_admin ? "t" : "f";
	if ((rc = db_query(r->db, r->arena, &st_admin_user_set, 4, p, NULL)) != DB_OK)
		return rc;
	if (deactivate && (rc = db_query(r->db, r->arena, &st_admin_sessions_end, 1, p, NULL)) != DB_OK)
		return rc;
	if (c->quota && c->quota_v != t->u.quota &&
	    (rc = admin_log(r, t, "admin_set_quota",
			    arena_printf(r->arena, ", \"old\": %lld, \"new\": %lld", t->u.quota,
					 c->quota_v))) != DB_OK)
		return rc;
	if (c->is_active >= 0 && c->is_active != t->u.is_active &&
	    (rc = admin_log(r, t, c->is_active ? "admin_reactivate" : "admin_deactivate", "")) != DB_OK)
		return rc;
	if (c->is_admin >= 0 && c->is_admin != t->u.is_admin &&
	    (rc = admin_log(r, t, c->is_admin ? "admin_grant_admin" : "admin_revoke_admin", "")) != DB_OK)
		return rc;
	return DB_OK;
}

void h_admin_user_update(req_t *r)
{
	json_object *body;
	admin_change_t c;
	admin_user_t t;
	int rc;

	if (admin_only(r) < 0 || (body = req_json_body(r)) == NULL ||
	    admin_change_parse(r, body, &c) < 0)
		return;
	if ((rc = db_begin(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (admin_user_load(r, &st_admin_user_lock, &t) != 1) {
		db_rollback(r->db);
		return;
	}
	if (strcmp(t.u.id, r->user.id) == 0 && (c.is_active == 0 || c.is_admin == 0)) {
		db_rollback(r->db);
		resp_problem(r, 409, "self_lockout", "You cannot deactivate yourself or remove your "
			     "own admin rights; another admin can.");
		return;
	}
	/* the row is locked: usage cannot grow between this check and the update */
	if (c.quota && c.quota_v < t.u.used) {
		db_rollback(r->db);
		resp_problem(r, 409, "quota_below_usage",
			     arena_printf(r->arena, "The user already uses %lld bytes, more than the "
					  "quota asked for (%lld bytes).", t.u.used, c.quota_v));
		return;
	}
	rc = admin_change_apply(r, &t, &c);
	if (rc == DB_OK && admin_user_load(r, &st_admin_user_get, &t) != 1) {
		db_rollback(r->db);
		return;
	}
	if (rc == DB_OK)
		rc = db_commit(r->db);
	if (rc != DB_OK) {
		db_rollback(r->db);
		if (rc == DB_ECHECK && strcmp(r->db->constraint, "users_usage_within_quota") == 0)
			resp_problem(r, 409, "quota_below_usage",
				     "The user already uses more than the quota asked for.");
		else
			resp_db_error(r, rc);
		return;
	}
	resp_json(r, 200, admin_user_json(&t));
}

void h_admin_storage(req_t *r)
{
	char top[8];
	const char *p[1] = { top };
	PGresult *res;
	int rc;

	if (admin_only(r) < 0)
		return;
	snprintf(top, sizeof(top), "%d", ADMIN_TOP_USERS);
	if ((rc = db_query(r->db, r->arena, &st_admin_storage, 1, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	resp_json_text(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}
