/*
 * db: the worker's one PostgreSQL connection. Statements are declared once
 * with DB_STMT and prepared lazily on first use on each connection, so a
 * request costs one round trip. A dropped connection is noticed before the
 * next request and re-established; while PostgreSQL is down every call fails
 * fast with DB_EUNAVAIL, which handlers answer with 503 + Retry-After.
 */
#ifndef COFFER_DB_H
#define COFFER_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "arena.h"

enum db_err {
	DB_OK = 0,
	DB_EUNAVAIL = -1,   /* no connection, or it broke during the call */
	DB_EUNIQUE = -2,    /* unique_violation; db->constraint names the index */
	DB_ECHECK = -3,     /* check_violation; db->constraint names the check */
	DB_EFKEY = -4,      /* foreign_key_violation */
	DB_ERETRY = -5,     /* serialization failure or deadlock: retry the transaction */
	DB_EINPUT = -6,     /* invalid text representation, out of range value... (class 22) */
	DB_ESQL = -7,       /* anything else: a bug, logged with the statement */
};

typedef struct db_stmt {
	const char *name;   /* unique per process */
	const char *sql;
	unsigned gen;       /* connection generation it was prepared on */
	/* never prepared: planned with its values at every run (unnamed
	 * statement), for queries whose best plan depends on them so much that
	 * a generic plan would be a disaster (listings of huge folders) */
	bool plan_each_time;
} db_stmt_t;

/* Declare a statement: DB_STMT(st_user_get, "SELECT ... WHERE id = $1"); */
#define DB_STMT(var, text) static db_stmt_t var = { #var, text, 0, false }

typedef struct db {
	PGconn *conn;
	const char *conninfo;
	unsigned gen;           /* bumped on every new connection */
	bool in_tx;
	long long retry_at_ms;  /* no connection attempt before this (monotonic ms) */
	char sqlstate[6];
	char constraint[64];
	char message[256];
} db_t;

/* Remember conninfo (not copied); no connection is made until needed. */
void db_init(db_t *db, const char *conninfo);
void db_close(db_t *db);
/* Make sure the connection is usable: reconnects when it is missing or the
 * server closed it while idle. Returns DB_OK or DB_EUNAVAIL. */
int db_ensure(db_t *db);
/* Run a declared statement with text parameters (NULL = SQL NULL). On
 * success *out (may be NULL to discard) is cleared with the arena. */
int db_query(db_t *db, arena_t *a, db_stmt_t *st, int n, const char *const *vals,
	     PGresult **out);
/* Run a fixed SQL text with no parameters (BEGIN, migrations). */
int db_exec(db_t *db, const char *sql);
/* Transactions. db_rollback is safe to call when none is open. */
int db_begin(db_t *db);
int db_commit(db_t *db);
void db_rollback(db_t *db);
/* Readable name of an error code, for logs. */
const char *db_strerror(int err);

#endif
