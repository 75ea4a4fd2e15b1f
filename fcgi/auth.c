/* auth: registration, login, logout, the current user, API tokens. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "activity.h"
#include "auth.h"
#include "cursor.h"
#include "handlers.h"
#include "http.h"
#include "text.h"

#define SESSION_COOKIE "coffer_session"
#define TOKEN_PREFIX   "cof_"
#define TOKEN_NAME_MAX 100

json_object *user_json(const account_user_t *u)
{
	json_object *o = json_object_new_object(), *s = json_object_new_object();
	long long avail = u->quota > u->used ? u->quota - u->used : 0;
	double pct = u->quota > 0 ? (double)u->used * 100.0 / (double)u->quota : 0.0;

	json_object_object_add(o, "id", jstr(u->id));
	json_object_object_add(o, "username", jstr(u->username));
	json_object_object_add(o, "email", jstr(u->email));
	json_object_object_add(o, "is_admin", jbool(u->is_admin));
	json_object_object_add(o, "is_active", jbool(u->is_active));
	json_object_object_add(o, "created_at", jstr(u->created_at));
	json_object_object_add(o, "root_folder_id", jstr(u->root_folder_id));
	json_object_object_add(s, "quota", jint(u->quota));
	json_object_object_add(s, "used", jint(u->used));
	json_object_object_add(s, "available", jint(avail));
	json_object_object_add(s, "percent_used", json_object_new_double((double)(long long)(pct * 100.0) / 100.0));
	json_object_object_add(o, "storage", s);
	return o;
}

static void log_event(req_t *r, const char *user_id, const char *action, const char *kind,
		      const char *target_id, const char *target_name)
{
	activity_t ev = { user_id, action, target_id, kind, target_name, r->remote_addr,
			  r->user_agent, NULL };

	/* the audit trail is best effort once the operation itself succeeded */
	activity_log(r->db, r->arena, &ev);
}

static bool cookie_secure(req_t *r)
{
	return r->cfg->cookie_secure == 1 || (r->cfg->cookie_secure == -1 && r->https);
}

/* Create a session row for u and set the cookie. Runs inside the caller's
 * transaction, if any. */
static int session_start(req_t *r, const account_user_t *u, const char **expires_at)
{
	char tok[AUTH_TOKEN_CHARS + 1], digest[AUTH_DIGEST_HEX];
	int rc;

	if (auth_token_new("", tok, sizeof(tok)) < 0)
		return DB_ESQL;
	auth_digest(tok, strlen(tok), digest);
	rc = account_session_create(r->db, r->arena, u->id, digest, r->cfg->session_ttl,
				    r->remote_addr, r->user_agent, expires_at);
	if (rc != DB_OK)
		return rc;
	resp_header(r, "Set-Cookie",
		    arena_printf(r->arena, SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; "
				 "SameSite=Lax%s", tok, r->cfg->session_ttl,
				 cookie_secure(r) ? "; Secure" : ""));
	return DB_OK;
}

static json_object *session_reply(const account_user_t *u, const char *expires_at)
{
	json_object *o = json_object_new_object(), *s = json_object_new_object();

	json_object_object_add(o, "user", user_json(u));
	json_object_object_add(s, "expires_at", jstr(expires_at));
	json_object_object_add(o, "session", s);
	return o;
}

/* Read a required string field; records an error when absent or invalid. */
static const char *field(req_t *r, json_object *body, json_object *errors, const char *key,
			 size_t *len)
{
	const char *s = NULL;
	int rc = json_get_string(body, key, &s, len);

	if (rc == 0)
		errors_add(errors, key, "is required");
	else if (rc < 0)
		errors_add(errors, key, "must be a string");
	return rc == 1 ? arena_strndup(r->arena, s, *len) : NULL;
}

void h_register(req_t *r)
{
	json_object *body = req_json_body(r), *errors;
	const char *username, *email, *password, *expires_at;
	size_t ul = 0, el = 0, pl = 0;
	char hash[AUTH_HASH_MAX];
	account_user_t u;
	int rc;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	username = field(r, body, errors, "username", &ul);
	email = field(r, body, errors, "email", &el);
	password = field(r, body, errors, "password", &pl);
	if (username && !text_username_valid(username, ul))
		errors_add(errors, "username", "must be 3-32 characters of letters, digits, "
			   "'_', '.' or '-', starting with a letter or digit");
	if (email && !text_email_valid(email, el))
		errors_add(errors, "email", "must be a valid email address");
	if (password && (pl < AUTH_PASSWORD_MIN || pl > AUTH_PASSWORD_MAX))
		errors_add(errors, "password", "must be 10 to 1024 bytes long");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The registration data is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if (auth_password_hash(password, pl, r->cfg->argon2_m_kib, r->cfg->argon2_t, hash) < 0) {
		resp_problem(r, 503, "unavailable", "Could not hash the password.");
		return;
	}
	rc = db_begin(r->db);
	if (rc == DB_OK)
		rc = account_create(r->db, r->arena, username, email, hash,
				    r->cfg->default_quota, false, &u);
	if (rc == DB_OK)
		rc = session_start(r, &u, &expires_at);
	if (rc == DB_OK)
		rc = db_commit(r->db);
	if (rc != DB_OK) {
		db_rollback(r->db);
		buf_reset(&r->headers);  /* no cookie for a session that was not stored */
		if (rc == DB_EUNIQUE && strcmp(r->db->constraint, "users_username_key") == 0)
			resp_problem(r, 409, "username_taken", "That username is already taken.");
		else if (rc == DB_EUNIQUE && strcmp(r->db->constraint, "users_email_key") == 0)
			resp_problem(r, 409, "email_taken",
				     "An account with that email already exists.");
		else
			resp_db_error(r, rc);
		return;
	}
	log_event(r, u.id, "register", "user", u.id, u.username);
	resp_json(r, 201, session_reply(&u, expires_at));
}

/* Throttle key for an account: its id when the login names a user, so
 * "alice" and "alice@example.com" share one counter; otherwise the login as
 * typed, lowercased and bounded, so probing unknown names is limited too. */
static const char *account_key(req_t *r, const account_user_t *u, bool found,
			       const char *login, size_t n)
{
	char *k;

	if (found)
		return arena_printf(r->arena, "acct:%s", u->id);
	k = arena_alloc(r->arena, 5 + (n > 254 ? 254 : n) + 1);
	memcpy(k, "acct:", 5);
	for (size_t i = 0; i < n && i < 254; i++)
		k[5 + i] = (char)tolower((unsigned char)login[i]);
	return k;
}

static void too_many(req_t *r, int retry)
{
	resp_header(r, "Retry-After", arena_printf(r->arena, "%d", retry > 0 ? retry : 1));
	resp_problem(r, 429, "rate_limited",
		     "Too many failed login attempts; try again later.");
}

void h_login(req_t *r)
{
	json_object *body = req_json_body(r), *errors;
	const char *login = NULL, *password, *pwhash = NULL, *akey, *ikey, *expires_at;
	const char *keys[] = { "login", "username", "email" };
	size_t ll = 0, pl = 0;
	account_user_t u;
	bool found = false, ok;
	int rc, retry = 0;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	for (size_t i = 0; i < 3 && login == NULL; i++) {
		int g = json_get_string(body, keys[i], &login, &ll);

		if (g < 0)
			errors_add(errors, keys[i], "must be a string");
		if (g != 1)
			login = NULL;
	}
	if (login == NULL && json_object_array_length(errors) == 0)
		errors_add(errors, "login", "is required (username or email)");
	password = field(r, body, errors, "password", &pl);
	if (login && (ll == 0 || ll > 254 || !text_utf8_valid(login, ll)))
		errors_add(errors, "login", "must be a username or an email address");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The login data is invalid.", errors);
		return;
	}
	json_object_put(errors);
	login = arena_strndup(r->arena, login, ll);
	rc = account_find_login(r->db, r->arena, login, &u, &pwhash, &found);
	if (rc == DB_OK) {
		akey = account_key(r, &u, found, login, ll);
		ikey = arena_printf(r->arena, "ip:%s", r->remote_addr);
		rc = account_throttle_check(r->db, r->arena, akey, ikey,
					    r->cfg->login_fail_account, r->cfg->login_fail_ip,
					    r->cfg->login_window, &retry);
	}
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	/* checked before the password, so a locked account costs no argon2 time */
	if (retry > 0) {
		too_many(r, retry);
		return;
	}
	ok = auth_password_verify(found ? pwhash : NULL, password, pl, r->cfg->argon2_m_kib,
				  r->cfg->argon2_t);
	if (!ok) {
		account_throttle_fail(r->db, r->arena, akey, r->cfg->login_window);
		account_throttle_fail(r->db, r->arena, ikey, r->cfg->login_window);
		log_event(r, found ? u.id : NULL, "login_failed", "user", found ? u.id : NULL,
			  login);
		resp_problem(r, 401, "invalid_credentials", "The login or password is wrong.");
		return;
	}
	if (!u.is_active) {
		resp_problem(r, 403, "account_disabled", "This account has been deactivated.");
		return;
	}
	account_throttle_clear(r->db, r->arena, akey);
	rc = session_start(r, &u, &expires_at);
	if (rc != DB_OK) {
		buf_reset(&r->headers);
		resp_db_error(r, rc);
		return;
	}
	log_event(r, u.id, "login", "session", NULL, u.username);
	resp_json(r, 200, session_reply(&u, expires_at));
}

void h_logout(req_t *r)
{
	int rc;

	/* logout ends a browser session; API tokens are revoked explicitly */
	if (r->session_digest == NULL) {
		resp_header(r, "WWW-Authenticate", "Bearer realm=\"coffer\"");
		resp_problem(r, 401, "unauthenticated", "Logout needs a session cookie; "
			     "revoke an API token with DELETE /api/auth/tokens/{id}.");
		return;
	}
	rc = account_session_delete(r->db, r->arena, r->session_digest);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	log_event(r, r->user.id, "logout", "session", NULL, r->user.username);
	resp_header(r, "Set-Cookie",
		    arena_printf(r->arena, SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
				 "SameSite=Lax%s", cookie_secure(r) ? "; Secure" : ""));
	resp_empty(r, 204);
}

DB_STMT(st_unread,
	"SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL");

/* The caller, with the number of unread notifications. */
void h_user(req_t *r)
{
	const char *p[1] = { r->user.id };
	json_object *o, *n;
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_unread, 1, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	o = user_json(&r->user);
	n = json_object_new_object();
	json_object_object_add(n, "unread", json_object_new_int64(atoll(PQgetvalue(res, 0, 0))));
	json_object_object_add(o, "notifications", n);
	resp_json(r, 200, o);
}

static json_object *token_json(const account_token_t *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", jstr(t->id));
	json_object_object_add(o, "name", jstr(t->name));
	json_object_object_add(o, "prefix", jstr(t->prefix));
	json_object_object_add(o, "created_at", jstr(t->created_at));
	json_object_object_add(o, "expires_at", jstr(t->expires_at));
	json_object_object_add(o, "last_used_at", jstr(t->last_used_at));
	return o;
}

void h_tokens_list(req_t *r)
{
	const char *after[2] = { NULL, NULL };
	account_token_t *t;
	json_object *o, *items;
	int limit = req_page_limit(r), n, rc;

	if (limit < 0)
		return;
	rc = req_cursor(r, after, 2);
	if (rc < 0)
		return;
	if (rc == 1 && !text_uuid_valid(after[1], strlen(after[1]))) {
		resp_problem(r, 400, "invalid_request", "The cursor is invalid.");
		return;
	}
	/* one extra row tells whether another page follows */
	rc = account_token_list(r->db, r->arena, r->user.id, after[0], after[1], limit + 1, &t,
				&n);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	o = json_object_new_object();
	items = json_object_new_array();
	for (int i = 0; i < n && i < limit; i++)
		json_object_array_add(items, token_json(&t[i]));
	json_object_object_add(o, "items", items);
	if (n > limit) {
		const char *parts[2] = { t[limit - 1].cursor_time, t[limit - 1].id };

		json_object_object_add(o, "next_cursor", jstr(cursor_encode(r->arena, parts, 2)));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	resp_json(r, 200, o);
}

void h_tokens_create(req_t *r)
{
	json_object *body = req_json_body(r), *errors, *v, *o;
	const char *name;
	size_t nl = 0;
	long long days = 0;
	char tok[sizeof(TOKEN_PREFIX) + AUTH_TOKEN_CHARS], digest[AUTH_DIGEST_HEX], prefix[16];
	account_token_t t;
	int rc;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	name = field(r, body, errors, "name", &nl);
	if (name && (nl > TOKEN_NAME_MAX || !text_name_valid(name, nl)))
		errors_add(errors, "name", "must be 1-100 bytes of printable UTF-8 without '/'");
	if (json_object_object_get_ex(body, "expires_in_days", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int) ||
		    (days = json_object_get_int64(v)) < 1 || days > 3650)
			errors_add(errors, "expires_in_days", "must be an integer from 1 to 3650");
	}
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The token data is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if (auth_token_new(TOKEN_PREFIX, tok, sizeof(tok)) < 0) {
		resp_problem(r, 503, "unavailable", "No randomness available.");
		return;
	}
	auth_digest(tok, strlen(tok), digest);
	snprintf(prefix, sizeof(prefix), "%.8s", tok);
	rc = account_token_create(r->db, r->arena, r->user.id, name, digest, prefix, (int)days,
				  &t);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	log_event(r, r->user.id, "token_create", "token", t.id, t.name);
	o = token_json(&t);
	json_object_object_add(o, "token", jstr(tok));
	resp_json(r, 201, o);
}

void h_tokens_delete(req_t *r)
{
	bool found;
	int rc = account_token_revoke(r->db, r->arena, r->user.id, r->params[0], &found);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (!found) {
		resp_problem(r, 404, "not_found", "No such token.");
		return;
	}
	log_event(r, r->user.id, "token_revoke", "token", r->params[0], NULL);
	resp_empty(r, 204);
}

int auth_resolve(req_t *r)
{
	const char *h = req_param(r, "HTTP_AUTHORIZATION"), *tok, *tid = NULL;
	char digest[AUTH_DIGEST_HEX];
	size_t tl;
	bool found = false;
	int rc;

	if (h && *h) {
		/* a presented credential that is wrong never falls back to the cookie */
		if (!http_bearer(h, strlen(h), &tok, &tl) ||
		    tl != strlen(TOKEN_PREFIX) + AUTH_TOKEN_CHARS ||
		    memcmp(tok, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
			return 0;
		auth_digest(tok, tl, digest);
		rc = account_token_user(r->db, r->arena, digest, &r->user, &tid, &found);
		if (rc != DB_OK) {
			resp_db_error(r, rc);
			return -1;
		}
		if (found) {
			r->authed = true;
			r->token_id = tid;
		}
		return found;
	}
	h = req_param(r, "HTTP_COOKIE");
	if (h && http_cookie_get(h, strlen(h), SESSION_COOKIE, &tok, &tl) && tl == AUTH_TOKEN_CHARS) {
		auth_digest(tok, tl, digest);
		rc = account_session_user(r->db, r->arena, digest, &r->user, &found);
		if (rc != DB_OK) {
			resp_db_error(r, rc);
			return -1;
		}
		if (found) {
			r->authed = true;
			r->session_digest = arena_strdup(r->arena, digest);
		}
		return found;
	}
	return 0;
}
