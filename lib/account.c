/* account: users, sessions, tokens, throttles; see account.h. */
#include "account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns account_user_t is read from, always in this order. */
#define USER_COLS \
	"u.id, u.username, u.email, api_time(u.created_at), u.root_folder_id, " \
	"u.is_admin, u.is_active, u.storage_quota, u.storage_used"
#define USER_NCOLS 9

static void user_from(PGresult *r, int row, int col, account_user_t *u)
{
	u->id = PQgetvalue(r, row, col + 0);
	u->username = PQgetvalue(r, row, col + 1);
	u->email = PQgetvalue(r, row, col + 2);
	u->created_at = PQgetvalue(r, row, col + 3);
	u->root_folder_id = PQgetvalue(r, row, col + 4);
	u->is_admin = PQgetvalue(r, row, col + 5)[0] == 't';
	u->is_active = PQgetvalue(r, row, col + 6)[0] == 't';
	u->quota = strtoll(PQgetvalue(r, row, col + 7), NULL, 10);
	u->used = strtoll(PQgetvalue(r, row, col + 8), NULL, 10);
}

/* The root folder id is drawn first so the user row and its root folder
 * are written by one statement (the foreign key is deferred). */
DB_STMT(st_account_create,
	"WITH u AS (INSERT INTO users (username, email, password_hash, storage_quota, "
	"                              is_admin, root_folder_id) "
	"           VALUES ($1, $2, $3, $4, $5, gen_random_uuid()) RETURNING *), "
	"f AS (INSERT INTO folders (id, user_id, parent_id, name) "
	"      SELECT root_folder_id, id, NULL, '' FROM u) "
	"SELECT " USER_COLS " FROM u");

int account_create(db_t *db, arena_t *a, const char *username, const char *email,
		   const char *pwhash, long long quota, bool is_admin, account_user_t *out)
{
	char q[24];
	const char *v[5] = { username, email, pwhash, q, is_admin ? "t" : "f" };
	PGresult *r;
	int rc;

	snprintf(q, sizeof(q), "%lld", quota);
	rc = db_query(db, a, &st_account_create, 5, v, &r);
	if (rc == DB_OK)
		user_from(r, 0, 0, out);
	return rc;
}

DB_STMT(st_account_find_login,
	"SELECT " USER_COLS ", u.password_hash FROM users u "
	"WHERE lower(u.username) = lower($1) OR lower(u.email) = lower($1) LIMIT 1");

int account_find_login(db_t *db, arena_t *a, const char *login, account_user_t *out,
		       const char **pwhash, bool *found)
{
	PGresult *r;
	int rc = db_query(db, a, &st_account_find_login, 1, &login, &r);

	*found = false;
	if (rc == DB_OK && PQntuples(r) == 1) {
		user_from(r, 0, 0, out);
		*pwhash = PQgetvalue(r, 0, USER_NCOLS);
		*found = true;
	}
	return rc;
}

DB_STMT(st_account_find_username,
	"SELECT " USER_COLS " FROM users u WHERE lower(u.username) = lower($1)");

int account_find_username(db_t *db, arena_t *a, const char *username, account_user_t *out,
			  bool *found)
{
	PGresult *r;
	int rc = db_query(db, a, &st_account_find_username, 1, &username, &r);

	*found = false;
	if (rc == DB_OK && PQntuples(r) == 1) {
		user_from(r, 0, 0, out);
		*found = true;
	}
	return rc;
}

DB_STMT(st_session_create,
	"INSERT INTO sessions (user_id, token_hash, expires_at, ip_address, user_agent) "
	"VALUES ($1, $2, now() + make_interval(secs => $3::bigint), "
	"        CASE WHEN $4 ~ '^[0-9a-fA-F.:]+$' THEN $4::inet END, left($5, 512)) "
	"RETURNING api_time(expires_at)");

int account_session_create(db_t *db, arena_t *a, const char *user_id, const char *digest,
			   long long ttl, const char *ip, const char *ua, const char **expires_at)
{
	char t[24];
	const char *v[5] = { user_id, digest, t, ip ? ip : "", ua ? ua : "" };
	PGresult *r;
	int rc;

	snprintf(t, sizeof(t), "%lld", ttl);
	rc = db_query(db, a, &st_session_create, 5, v, &r);
	if (rc == DB_OK)
		*expires_at = PQgetvalue(r, 0, 0);
	return rc;
}

DB_STMT(st_session_user,
	"SELECT " USER_COLS " FROM sessions s JOIN users u ON u.id = s.user_id "
	"WHERE s.token_hash = $1 AND s.expires_at > now() AND u.is_active");

int account_session_user(db_t *db, arena_t *a, const char *digest, account_user_t *out,
			 bool *found)
{
	PGresult *r;
	int rc = db_query(db, a, &st_session_user, 1, &digest, &r);

	*found = false;
	if (rc == DB_OK && PQntuples(r) == 1) {
		user_from(r, 0, 0, out);
		*found = true;
	}
	return rc;
}

DB_STMT(st_session_delete, "DELETE FROM sessions WHERE token_hash = $1");

int account_session_delete(db_t *db, arena_t *a, const char *digest)
{
	return db_query(db, a, &st_session_delete, 1, &digest, NULL);
}

/* last_used_at is refreshed at most once a minute, in the same round trip. */
DB_STMT(st_token_user,
	"WITH t AS (SELECT id, user_id, last_used_at FROM api_tokens "
	"           WHERE token_hash = $1 AND revoked_at IS NULL "
	"             AND (expires_at IS NULL OR expires_at > now())), "
	"touch AS (UPDATE api_tokens k SET last_used_at = now() FROM t "
	"          WHERE k.id = t.id AND (t.last_used_at IS NULL "
	"                OR t.last_used_at < now() - interval '1 minute')) "
	"SELECT " USER_COLS ", t.id FROM t JOIN users u ON u.id = t.user_id WHERE u.is_active");

int account_token_user(db_t *db, arena_t *a, const char *digest, account_user_t *out,
		       const char **token_id, bool *found)
{
	PGresult *r;
	int rc = db_query(db, a, &st_token_user, 1, &digest, &r);

	*found = false;
	if (rc == DB_OK && PQntuples(r) == 1) {
		user_from(r, 0, 0, out);
		*token_id = PQgetvalue(r, 0, USER_NCOLS);
		*found = true;
	}
	return rc;
}

#define TOKEN_COLS \
	"id, name, prefix, api_time(created_at), api_time(expires_at), " \
	"api_time(last_used_at), cursor_time(created_at)"

static void token_from(PGresult *r, int row, account_token_t *t)
{
	t->id = PQgetvalue(r, row, 0);
	t->name = PQgetvalue(r, row, 1);
	t->prefix = PQgetvalue(r, row, 2);
	t->created_at = PQgetvalue(r, row, 3);
	t->expires_at = PQgetisnull(r, row, 4) ? NULL : PQgetvalue(r, row, 4);
	t->last_used_at = PQgetisnull(r, row, 5) ? NULL : PQgetvalue(r, row, 5);
	t->cursor_time = PQgetvalue(r, row, 6);
}

DB_STMT(st_token_create,
	"INSERT INTO api_tokens (user_id, name, token_hash, prefix, expires_at) "
	"VALUES ($1, $2, $3, $4, CASE WHEN $5::int > 0 "
	"        THEN now() + make_interval(days => $5::int) END) "
	"RETURNING " TOKEN_COLS);

int account_token_create(db_t *db, arena_t *a, const char *user_id, const char *name,
			 const char *digest, const char *prefix, int days, account_token_t *out)
{
	char d[16];
	const char *v[5] = { user_id, name, digest, prefix, d };
	PGresult *r;
	int rc;

	snprintf(d, sizeof(d), "%d", days);
	rc = db_query(db, a, &st_token_create, 5, v, &r);
	if (rc == DB_OK)
		token_from(r, 0, out);
	return rc;
}

DB_STMT(st_token_list,
	"SELECT " TOKEN_COLS " FROM api_tokens "
	"WHERE user_id = $1 AND revoked_at IS NULL "
	"  AND (expires_at IS NULL OR expires_at > now()) "
	"  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid)) "
	"ORDER BY created_at DESC, id DESC LIMIT $4");

int account_token_list(db_t *db, arena_t *a, const char *user_id, const char *after_time,
		       const char *after_id, int limit, account_token_t **out, int *n)
{
	char l[16];
	const char *v[4] = { user_id, after_time, after_id, l };
	PGresult *r;
	int rc;

	snprintf(l, sizeof(l), "%d", limit);
	*n = 0;
	rc = db_query(db, a, &st_token_list, 4, v, &r);
	if (rc != DB_OK)
		return rc;
	*n = PQntuples(r);
	*out = arena_alloc(a, sizeof(**out) * (size_t)(*n ? *n : 1));
	for (int i = 0; i < *n; i++)
		token_from(r, i, &(*out)[i]);
	return DB_OK;
}

DB_STMT(st_token_revoke,
	"UPDATE api_tokens SET revoked_at = now() "
	"WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL");

int account_token_revoke(db_t *db, arena_t *a, const char *user_id, const char *token_id,
			 bool *found)
{
	const char *v[2] = { user_id, token_id };
	PGresult *r;
	int rc = db_query(db, a, &st_token_revoke, 2, v, &r);

	*found = rc == DB_OK && strcmp(PQcmdTuples(r), "1") == 0;
	return rc;
}

DB_STMT(st_throttle_check,
	"SELECT coalesce(max(ceil(extract(epoch FROM "
	"         window_start + make_interval(secs => $5::int) - now())))::int, 0) "
	"FROM auth_throttle "
	"WHERE key IN ($1, $2) AND window_start > now() - make_interval(secs => $5::int) "
	"  AND failures >= CASE WHEN key = $2 THEN $4::int ELSE $3::int END");

int account_throttle_check(db_t *db, arena_t *a, const char *acct_key, const char *ip_key,
			   int acct_limit, int ip_limit, int window, int *retry_after)
{
	char al[16], il[16], w[16];
	const char *v[5] = { acct_key, ip_key, al, il, w };
	PGresult *r;
	int rc;

	snprintf(al, sizeof(al), "%d", acct_limit);
	snprintf(il, sizeof(il), "%d", ip_limit);
	snprintf(w, sizeof(w), "%d", window);
	*retry_after = 0;
	rc = db_query(db, a, &st_throttle_check, 5, v, &r);
	if (rc == DB_OK)
		*retry_after = atoi(PQgetvalue(r, 0, 0));
	if (*retry_after < 0)
		*retry_after = 1;
	return rc;
}

/* A failure after the window has passed starts a new window. */
DB_STMT(st_throttle_fail,
	"INSERT INTO auth_throttle AS t (key, failures, window_start) VALUES ($1, 1, now()) "
	"ON CONFLICT (key) DO UPDATE SET "
	"  failures = CASE WHEN t.window_start <= now() - make_interval(secs => $2::int) "
	"                  THEN 1 ELSE t.failures + 1 END, "
	"  window_start = CASE WHEN t.window_start <= now() - make_interval(secs => $2::int) "
	"                  THEN now() ELSE t.window_start END");

int account_throttle_fail(db_t *db, arena_t *a, const char *key, int window)
{
	char w[16];
	const char *v[2] = { key, w };

	snprintf(w, sizeof(w), "%d", window);
	return db_query(db, a, &st_throttle_fail, 2, v, NULL);
}

DB_STMT(st_throttle_clear, "DELETE FROM auth_throttle WHERE key = $1");

int account_throttle_clear(db_t *db, arena_t *a, const char *key)
{
	return db_query(db, a, &st_throttle_clear, 1, &key, NULL);
}

DB_STMT(st_set_quota,
	"UPDATE users SET storage_quota = $2, updated_at = now() WHERE lower(username) = lower($1)");

int account_set_quota(db_t *db, arena_t *a, const char *username, long long quota,
		      bool *found)
{
	char q[24];
	const char *v[2] = { username, q };
	PGresult *r;
	int rc;

	snprintf(q, sizeof(q), "%lld", quota);
	rc = db_query(db, a, &st_set_quota, 2, v, &r);
	*found = rc == DB_OK && strcmp(PQcmdTuples(r), "1") == 0;
	return rc;
}

DB_STMT(st_set_admin,
	"UPDATE users SET is_admin = $2, updated_at = now() WHERE lower(username) = lower($1)");

int account_set_admin(db_t *db, arena_t *a, const char *username, bool admin, bool *found)
{
	const char *v[2] = { username, admin ? "t" : "f" };
	PGresult *r;
	int rc = db_query(db, a, &st_set_admin, 2, v, &r);

	*found = rc == DB_OK && strcmp(PQcmdTuples(r), "1") == 0;
	return rc;
}

DB_STMT(st_account_prune,
	"WITH s AS (DELETE FROM sessions WHERE expires_at <= now() RETURNING 1), "
	"t AS (DELETE FROM auth_throttle "
	"      WHERE window_start <= now() - make_interval(secs => $1::int) RETURNING 1), "
	"k AS (DELETE FROM api_tokens WHERE revoked_at < now() - interval '30 days' "
	"      OR expires_at < now() - interval '30 days' RETURNING 1) "
	"SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM t) + (SELECT count(*) FROM k)");

int account_prune(db_t *db, arena_t *a, int window, long long *removed)
{
	char w[16];
	const char *v[1] = { w };
	PGresult *r;
	int rc;

	snprintf(w, sizeof(w), "%d", window);
	rc = db_query(db, a, &st_account_prune, 1, v, &r);
	*removed = rc == DB_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	return rc;
}
