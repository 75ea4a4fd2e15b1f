/*
 * account: users, sessions, API tokens and login throttles in PostgreSQL.
 * Every statement is prepared and parameterised; strings returned point
 * into PGresults owned by the arena passed in.
 */
#ifndef COFFER_ACCOUNT_H
#define COFFER_ACCOUNT_H

#include <stdbool.h>

#include "arena.h"
#include "db.h"

typedef struct account_user {
	const char *id;
	const char *username;
	const char *email;
	const char *created_at;
	const char *root_folder_id;
	bool is_admin;
	bool is_active;
	long long quota;
	long long used;
} account_user_t;

typedef struct account_token {
	const char *id;
	const char *name;
	const char *prefix;
	const char *created_at;
	const char *expires_at;    /* NULL = never */
	const char *last_used_at;  /* NULL = never used */
	const char *cursor_time;   /* created_at with microseconds, for cursors */
} account_token_t;

/* Create a user and its root folder in one statement. DB_EUNIQUE with
 * db->constraint "users_username_key" or "users_email_key" on a clash. */
int account_create(db_t *db, arena_t *a, const char *username, const char *email,
		   const char *pwhash, long long quota, bool is_admin, account_user_t *out);
/* Find by username or email (case-insensitive). Returns DB_OK with
 * *found = false when there is none; *pwhash points into the result. */
int account_find_login(db_t *db, arena_t *a, const char *login, account_user_t *out,
		       const char **pwhash, bool *found);
/* Find by exact username (case-insensitive). */
int account_find_username(db_t *db, arena_t *a, const char *username, account_user_t *out,
			  bool *found);
/* Store a session for user_id (digest from auth_digest), valid ttl seconds. */
int account_session_create(db_t *db, arena_t *a, const char *user_id, const char *digest,
			   long long ttl, const char *ip, const char *ua, const char **expires_at);
/* The active user behind a session digest (unexpired, user active). */
int account_session_user(db_t *db, arena_t *a, const char *digest, account_user_t *out,
			 bool *found);
int account_session_delete(db_t *db, arena_t *a, const char *digest);
/* The active user behind an API token digest (not revoked or expired). */
int account_token_user(db_t *db, arena_t *a, const char *digest, account_user_t *out,
		       const char **token_id, bool *found);
/* days <= 0: never expires. */
int account_token_create(db_t *db, arena_t *a, const char *user_id, const char *name,
			 const char *digest, const char *prefix, int days, account_token_t *out);
/* A page of the user's live tokens, newest first, after the cursor (time, id)
 * when given. *n is the count; at most limit. */
int account_token_list(db_t *db, arena_t *a, const char *user_id, const char *after_time,
		       const char *after_id, int limit, account_token_t **out, int *n);
/* Revoke; *found = false when the id is not a live token of this user. */
int account_token_revoke(db_t *db, arena_t *a, const char *user_id, const char *token_id,
			 bool *found);
/* Seconds until any of the keys may try again (0 = not throttled). A key
 * with "ip:" prefix uses ip_limit failures, others acct_limit. */
int account_throttle_check(db_t *db, arena_t *a, const char *acct_key, const char *ip_key,
			   int acct_limit, int ip_limit, int window, int *retry_after);
/* Count a failure against key within the window. */
int account_throttle_fail(db_t *db, arena_t *a, const char *key, int window);
int account_throttle_clear(db_t *db, arena_t *a, const char *key);
/* Admin: set quota by username; DB_ECHECK when below current usage. */
int account_set_quota(db_t *db, arena_t *a, const char *username, long long quota,
		      bool *found);
int account_set_admin(db_t *db, arena_t *a, const char *username, bool admin, bool *found);
/* Delete expired sessions, throttle windows older than window seconds and
 * tokens revoked or expired more than 30 days ago. *removed counts rows. */
int account_prune(db_t *db, arena_t *a, int window, long long *removed);

#endif
