/* db: PostgreSQL connection, lazily prepared statements, transactions; see db.h. */
#include "db.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

void db_init(db_t *db, const char *conninfo)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
}

void db_close(db_t *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->in_tx = false;
}

static void notice_quiet(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

/* After a failed attempt, requests within this window fail fast instead of
 * each waiting for a connect (up to connect_timeout when the host is gone). */
#define DB_RETRY_MS 200

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_connect(db_t *db)
{
	db_close(db);
	if (now_ms() < db->retry_at_ms)
		return DB_EUNAVAIL;
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		snprintf(db->message, sizeof(db->message), "%s", PQerrorMessage(db->conn));
		db->message[strcspn(db->message, "\n")] = '\0';
		log_error("db: connect failed: %s", db->message);
		db_close(db);
		db->retry_at_ms = now_ms() + DB_RETRY_MS;
		return DB_EUNAVAIL;
	}
	PQsetNoticeReceiver(db->conn, notice_quiet, NULL);
	db->gen++;
	db->retry_at_ms = 0;
	return DB_OK;
}

int db_ensure(db_t *db)
{
	struct pollfd pfd;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return db_connect(db);
	if (db->in_tx)
		return DB_OK;
	/* Nothing is ever left unread after a statement, so an idle connection
	 * that turned readable is being closed by the server (restart, admin
	 * shutdown, idle timeout): its farewell error may arrive before the
	 * close itself, so do not wait for the close: reconnect now. */
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) > 0)
		return db_connect(db);
	return DB_OK;
}

static int classify(db_t *db, PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *cn = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", st ? st : "");
	snprintf(db->constraint, sizeof(db->constraint), "%s", cn ? cn : "");
	snprintf(db->message, sizeof(db->message), "%s",
		 msg ? msg : PQerrorMessage(db->conn));
	db->message[strcspn(db->message, "\n")] = '\0';  /* one log record, one line */
	if (PQstatus(db->conn) != CONNECTION_OK || st == NULL)
		return DB_EUNAVAIL;
	if (strcmp(st, "23505") == 0)
		return DB_EUNIQUE;
	if (strcmp(st, "23514") == 0)
		return DB_ECHECK;
	if (strcmp(st, "23503") == 0)
		return DB_EFKEY;
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return DB_ERETRY;
	if (strncmp(st, "22", 2) == 0)
		return DB_EINPUT;
	/* connection exceptions, shutdown, too many connections, out of disk/memory */
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 || strcmp(st, "53300") == 0 ||
	    strncmp(st, "53", 2) == 0)
		return DB_EUNAVAIL;
	return DB_ESQL;
}

static void clear_result(void *p)
{
	PQclear(p);
}

static int fail(db_t *db, PGresult *res, const char *what)
{
	int err = classify(db, res);

	PQclear(res);
	if (err == DB_EUNAVAIL) {
		log_error("db: %s: connection lost: %s", what, db->message);
		db_close(db);
	} else if (err == DB_ESQL) {
		log_error("db: %s: %s (SQLSTATE %s)", what, db->message, db->sqlstate);
	}
	if (db->in_tx && err == DB_EUNAVAIL)
		db->in_tx = false;
	return err;
}

int db_query(db_t *db, arena_t *a, db_stmt_t *st, int n, const char *const *vals,
	     PGresult **out)
{
	PGresult *res;
	ExecStatusType rs;

	if (out)
		*out = NULL;
	if (db->conn == NULL && db_connect(db) != DB_OK)
		return DB_EUNAVAIL;
	if (st->plan_each_time) {
		res = PQexecParams(db->conn, st->sql, n, NULL, vals, NULL, NULL, 0);
		goto done;
	}
	if (st->gen != db->gen) {
		res = PQprepare(db->conn, st->name, st->sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return fail(db, res, st->name);
		PQclear(res);
		st->gen = db->gen;
	}
	res = PQexecPrepared(db->conn, st->name, n, vals, NULL, NULL, 0);
done:
	rs = PQresultStatus(res);
	if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
		return fail(db, res, st->name);
	if (out) {
		*out = res;
		arena_on_clear(a, clear_result, res);
	} else {
		PQclear(res);
	}
	return DB_OK;
}

int db_exec(db_t *db, const char *sql)
{
	PGresult *res;
	ExecStatusType rs;

	if (db->conn == NULL && db_connect(db) != DB_OK)
		return DB_EUNAVAIL;
	res = PQexec(db->conn, sql);
	rs = PQresultStatus(res);
	if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
		return fail(db, res, "exec");
	PQclear(res);
	return DB_OK;
}

int db_begin(db_t *db)
{
	int rc = db_exec(db, "BEGIN");

	if (rc == DB_OK)
		db->in_tx = true;
	return rc;
}

int db_commit(db_t *db)
{
	int rc = db_exec(db, "COMMIT");

	db->in_tx = false;
	return rc;
}

void db_rollback(db_t *db)
{
	if (!db->in_tx)
		return;
	db->in_tx = false;
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
		db_exec(db, "ROLLBACK");
}

const char *db_strerror(int err)
{
	switch (err) {
	case DB_OK: return "ok";
	case DB_EUNAVAIL: return "database unavailable";
	case DB_EUNIQUE: return "unique violation";
	case DB_ECHECK: return "check violation";
	case DB_EFKEY: return "foreign key violation";
	case DB_ERETRY: return "serialization failure";
	case DB_EINPUT: return "invalid input";
	default: return "database error";
	}
}
