/* migrate: ordered, recorded, idempotent schema migrations; see migrate.h. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define MIGRATE_MAX 1000
#define MIGRATE_LOCK "7340531"  /* advisory lock key: "coffer" migrations */

static int is_migration(const char *n)
{
	size_t l = strlen(n);

	return l > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' &&
	       n[2] >= '0' && n[2] <= '9' && n[3] == '_' && strcmp(n + l - 4, ".sql") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, buf_t *out)
{
	FILE *f = fopen(path, "r");
	char tmp[8192];
	size_t r;

	if (f == NULL)
		return -1;
	while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(out, tmp, r);
	fclose(f);
	return 0;
}

static int applied(db_t *db, int version)
{
	char v[16];
	const char *p[1] = { v };
	PGresult *r;
	int n;

	snprintf(v, sizeof(v), "%d", version);
	r = PQexecParams(db->conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
			 p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db->conn));
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	PQclear(r);
	return n;
}

static int record(db_t *db, int version, const char *name)
{
	char v[16];
	const char *p[2] = { v, name };
	PGresult *r;
	int ok;

	snprintf(v, sizeof(v), "%d", version);
	r = PQexecParams(db->conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
			 2, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "migrate: %s", PQerrorMessage(db->conn));
	PQclear(r);
	return ok ? 0 : -1;
}

int migrate_run(db_t *db, const char *dir)
{
	DIR *d;
	struct dirent *e;
	char *names[MIGRATE_MAX];
	int n = 0, done = 0, rc = -1;

	if (db_ensure(db) != DB_OK) {
		fprintf(stderr, "migrate: cannot connect: %s\n", db->message);
		return -1;
	}
	d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "migrate: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL && n < MIGRATE_MAX)
		if (is_migration(e->d_name))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);

	if (db_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")") != DB_OK ||
	    db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			"version integer PRIMARY KEY, name text NOT NULL, "
			"applied_at timestamptz NOT NULL DEFAULT now())") != DB_OK) {
		fprintf(stderr, "migrate: %s\n", db->message);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int version = atoi(names[i]);
		char path[1024];
		buf_t sql = BUF_INIT;
		int have;

		if (i > 0 && atoi(names[i - 1]) == version) {
			fprintf(stderr, "migrate: two migrations numbered %03d\n", version);
			goto out;
		}
		have = applied(db, version);
		if (have < 0)
			goto out;
		if (have)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_file(path, &sql) < 0) {
			fprintf(stderr, "migrate: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (db_begin(db) != DB_OK || db_exec(db, buf_str(&sql)) != DB_OK ||
		    record(db, version, names[i]) < 0 || db_commit(db) != DB_OK) {
			fprintf(stderr, "migrate: %s failed: %s\n", names[i], db->message);
			db_rollback(db);
			buf_free(&sql);
			goto out;
		}
		buf_free(&sql);
		printf("applied %s\n", names[i]);
		done++;
	}
	rc = done;
out:
	if (db->conn)
		db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")");
	for (int i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

int migrate_current(db_t *db)
{
	PGresult *r;
	int v = 0;

	if (db_ensure(db) != DB_OK)
		return -1;
	r = PQexec(db->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		v = atoi(PQgetvalue(r, 0, 0));
	else if (PQstatus(db->conn) != CONNECTION_OK)
		v = -1;
	PQclear(r);
	return v;
}
