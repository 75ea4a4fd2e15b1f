/*
 * coffer-admin: the operator's command line: migrations, admin accounts,
 * quotas, readiness. Talks to PostgreSQL with the same config as the workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "arena.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "store.h"
#include "text.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coffer-admin [-c CONFIG] COMMAND [ARGS]\n"
		"commands:\n"
		"  migrate [--dir DIR]           apply pending migrations (idempotent)\n"
		"  status                        schema version and readiness (exit 0 when ready)\n"
		"  create-admin USERNAME EMAIL   create an admin user, or make an existing one admin;\n"
		"                                password from $COFFER_ADMIN_PASSWORD or stdin\n"
		"  set-quota USERNAME SIZE       set a user's quota (bytes, or 500M, 10G, 1T)\n"
		"  maintenance                   prune expired sessions, old login throttles and\n"
		"                                long-dead API tokens, purge trash older than\n"
		"                                trash_retention_days, delete activity entries older\n"
		"                                than activity_retention_days, then gc (run it hourly)\n"
		"  gc [--grace SECONDS]          remove unreferenced blobs, files on the volume no row\n"
		"                                accounts for and temp files of crashed uploads older\n"
		"                                than the grace period (default 3600); safe while\n"
		"                                workers run\n"
		"  compress                      compress every pending blob now (what the jobs\n"
		"                                process does in the background)\n"
		"  check [--repair]              recompute every user's usage and every blob's\n"
		"                                reference count from the rows and report drift\n"
		"                                (--repair corrects it), and read back every\n"
		"                                referenced blob and check its SHA-256; exit 0 when\n"
		"                                nothing is left wrong\n");
}

static int db_fail(db_t *db, int rc)
{
	fprintf(stderr, "coffer-admin: %s: %s\n", db_strerror(rc), db->message);
	return 1;
}

static int cmd_create_admin(db_t *db, const config_t *cfg, const char *username,
			    const char *email)
{
	arena_t *a = arena_new();
	char line[AUTH_PASSWORD_MAX + 2], hash[AUTH_HASH_MAX];
	const char *pw = getenv("COFFER_ADMIN_PASSWORD");
	account_user_t u;
	bool found;
	int rc, ret = 1;

	if (!text_username_valid(username, strlen(username)) ||
	    !text_email_valid(email, strlen(email))) {
		fprintf(stderr, "coffer-admin: invalid username or email\n");
		goto out;
	}
	rc = account_find_username(db, a, username, &u, &found);
	if (rc != DB_OK) {
		ret = db_fail(db, rc);
		goto out;
	}
	if (found) {
		rc = account_set_admin(db, a, username, true, &found);
		if (rc != DB_OK) {
			ret = db_fail(db, rc);
			goto out;
		}
		printf("%s is now an admin\n", username);
		ret = 0;
		goto out;
	}
	if (pw == NULL) {
		if (isatty(0))
			fprintf(stderr, "password: ");
		if (fgets(line, sizeof(line), stdin) == NULL) {
			fprintf(stderr, "coffer-admin: no password given\n");
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		pw = line;
	}
	if (strlen(pw) < AUTH_PASSWORD_MIN || strlen(pw) > AUTH_PASSWORD_MAX) {
		fprintf(stderr, "coffer-admin: the password must be 10 to 1024 bytes\n");
		goto out;
	}
	if (auth_password_hash(pw, strlen(pw), cfg->argon2_m_kib, cfg->argon2_t, hash) < 0) {
		fprintf(stderr, "coffer-admin: hashing failed\n");
		goto out;
	}
	rc = account_create(db, a, username, email, hash, cfg->default_quota, true, &u);
	if (rc != DB_OK) {
		ret = db_fail(db, rc);
		goto out;
	}
	printf("created admin %s (%s)\n", u.username, u.id);
	ret = 0;
out:
	arena_free(a);
	return ret;
}

static int cmd_set_quota(db_t *db, const char *username, const char *size)
{
	arena_t *a = arena_new();
	long long q;
	bool found;
	int rc, ret = 1;

	if (text_parse_size(size, strlen(size), &q) < 0) {
		fprintf(stderr, "coffer-admin: invalid size '%s'\n", size);
		goto out;
	}
	rc = account_set_quota(db, a, username, q, &found);
	if (rc == DB_ECHECK) {
		fprintf(stderr, "coffer-admin: %s uses more than %lld bytes already\n", username, q);
		goto out;
	}
	if (rc != DB_OK) {
		ret = db_fail(db, rc);
		goto out;
	}
	if (!found) {
		fprintf(stderr, "coffer-admin: no user '%s'\n", username);
		goto out;
	}
	printf("quota of %s set to %lld bytes\n", username, q);
	ret = 0;
out:
	arena_free(a);
	return ret;
}

static int cmd_gc(db_t *db, const config_t *cfg, const char *grace_arg)
{
	arena_t *a = arena_new();
	store_stats_t st;
	long long grace = 3600;
	int rc;

	if (grace_arg && text_parse_uint(grace_arg, strlen(grace_arg), 10LL * 365 * 86400, &grace) < 0) {
		fprintf(stderr, "coffer-admin: gc: --grace takes a number of seconds\n");
		arena_free(a);
		return 2;
	}
	memset(&st, 0, sizeof(st));
	rc = store_gc(db, a, cfg, (int)grace, &st);
	arena_free(a);
	if (rc < 0)
		return db_fail(db, rc);
	printf("gc: removed %lld unreferenced blobs, %lld raw copies of compressed blobs, "
	       "%lld orphaned files, %lld temp files; %lld bytes freed; %lld rows repaired\n",
	       st.blobs_removed, st.raw_removed, st.orphans_removed, st.temps_removed,
	       st.bytes_freed, st.repaired);
	return 0;
}

static void say_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("check: %s\n", line);
	fflush(stdout);
}

static int cmd_check(db_t *db, const config_t *cfg, bool repair)
{
	arena_t *a = arena_new();
	store_check_t st;
	long long left;
	int rc = store_check(db, a, cfg, repair, say_line, NULL, &st);

	arena_free(a);
	if (rc != DB_OK)
		return db_fail(db, rc);
	left = st.usage_drift - st.usage_repaired + st.refs_drift - st.refs_repaired +
	       st.blobs_missing + st.blobs_corrupt;
	printf("check: %lld users, usage drift %lld (repaired %lld, %lld over quota); "
	       "reference count drift %lld (repaired %lld); %lld blobs read (%lld bytes): "
	       "%lld missing, %lld corrupt\n", st.users, st.usage_drift, st.usage_repaired,
	       st.usage_over_quota, st.refs_drift, st.refs_repaired, st.blobs, st.bytes_read,
	       st.blobs_missing, st.blobs_corrupt);
	printf("check: %s\n", left == 0 ? "ok" : "problems remain");
	return left == 0 ? 0 : 1;
}

DB_STMT(st_trash_expire, "SELECT trash_purge_expired($1, $2)");
DB_STMT(st_jobs_prune, "SELECT jobs_prune($1)");
/* $1 days, $2 batch size; uses activity_created (migration 009) */
DB_STMT(st_activity_prune,
	"WITH d AS (DELETE FROM activity_log WHERE id IN "
	"             (SELECT id FROM activity_log "
	"              WHERE created_at < now() - $1::integer * interval '1 day' LIMIT $2::integer) "
	"           RETURNING 1) "
	"SELECT count(*) FROM d");

/* Expired sessions and tokens, trash past trash_retention_days and activity
 * past activity_retention_days (in batches, each its own transaction), jobs
 * finished a week ago, then gc with the default grace. */
static int cmd_maintenance(db_t *db, const config_t *cfg)
{
	arena_t *a = arena_new();
	long long removed = 0, purged = 0, jobs = 0, pruned = 0;
	char days[16], adays[16];
	const char *ap[2] = { adays, "5000" };
	const char *p[2] = { days, "500" };
	PGresult *res;
	int rc = account_prune(db, a, cfg->login_window, &removed), n;

	snprintf(days, sizeof(days), "%d", cfg->trash_retention_days);
	while (rc == DB_OK && cfg->trash_retention_days > 0 &&
	       (rc = db_query(db, a, &st_trash_expire, 2, p, &res)) == DB_OK) {
		n = atoi(PQgetvalue(res, 0, 0));
		purged += n;
		arena_clear(a);
		if (n < 500)
			break;
	}
	snprintf(adays, sizeof(adays), "%d", cfg->activity_retention_days);
	while (rc == DB_OK && cfg->activity_retention_days > 0 &&
	       (rc = db_query(db, a, &st_activity_prune, 2, ap, &res)) == DB_OK) {
		n = atoi(PQgetvalue(res, 0, 0));
		pruned += n;
		arena_clear(a);
		if (n < 5000)
			break;
	}
	if (rc == DB_OK && (rc = db_query(db, a, &st_jobs_prune, 1, (const char *[]){ "7" }, &res)) ==
	    DB_OK)
		jobs = atoll(PQgetvalue(res, 0, 0));
	arena_free(a);
	if (rc != DB_OK)
		return db_fail(db, rc);
	printf("maintenance: removed %lld expired sessions, throttles and tokens\n", removed);
	printf("maintenance: removed %lld jobs finished more than 7 days ago\n", jobs);
	if (cfg->trash_retention_days > 0)
		printf("maintenance: purged %lld trash items deleted more than %d days ago\n", purged,
		       cfg->trash_retention_days);
	else
		printf("maintenance: trash_retention_days is 0: the trash is kept\n");
	if (cfg->activity_retention_days > 0)
		printf("maintenance: removed %lld activity entries older than %d days\n", pruned,
		       cfg->activity_retention_days);
	else
		printf("maintenance: activity_retention_days is 0: the activity log is kept\n");
	fflush(stdout);
	return cmd_gc(db, cfg, NULL);
}

static int cmd_compress(db_t *db, const config_t *cfg)
{
	arena_t *a = arena_new();
	store_stats_t st;
	int rc;

	memset(&st, 0, sizeof(st));
	while ((rc = store_compress_pass(db, a, cfg, 64, &st)) > 0)
		arena_clear(a);
	arena_free(a);
	if (rc < 0)
		return db_fail(db, rc);
	printf("compress: %lld blobs compressed, %lld left raw, %lld bytes saved\n",
	       st.compressed, st.not_compressible, st.bytes_freed);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = getenv("COFFER_CONFIG"), *cmd;
	config_t cfg;
	db_t db;
	char err[256];
	int i = 1, ret;

	if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[i++];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	log_set_name("coffer-admin");
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "coffer-admin: config: %s\n", err);
		return 2;
	}
	db_init(&db, cfg.db);
	if (strcmp(cmd, "migrate") == 0) {
		const char *dir = cfg.migrations_dir;

		if (i + 1 < argc && strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		ret = migrate_run(&db, dir) < 0;
	} else if (strcmp(cmd, "status") == 0 && i == argc) {
		int v = migrate_current(&db);

		if (v < 0) {
			printf("database: unreachable\n");
			ret = 1;
		} else {
			printf("database: ok\nschema_version: %d (this build expects %d)\n", v,
			       COFFER_SCHEMA_VERSION);
			ret = v != COFFER_SCHEMA_VERSION;
		}
	} else if (strcmp(cmd, "create-admin") == 0 && argc - i == 2) {
		ret = cmd_create_admin(&db, &cfg, argv[i], argv[i + 1]);
	} else if (strcmp(cmd, "maintenance") == 0 && i == argc) {
		ret = cmd_maintenance(&db, &cfg);
	} else if (strcmp(cmd, "set-quota") == 0 && argc - i == 2) {
		ret = cmd_set_quota(&db, argv[i], argv[i + 1]);
	} else if (strcmp(cmd, "gc") == 0 && i == argc) {
		ret = cmd_gc(&db, &cfg, NULL);
	} else if (strcmp(cmd, "gc") == 0 && argc - i == 2 && strcmp(argv[i], "--grace") == 0) {
		ret = cmd_gc(&db, &cfg, argv[i + 1]);
	} else if (strcmp(cmd, "check") == 0 && i == argc) {
		ret = cmd_check(&db, &cfg, false);
	} else if (strcmp(cmd, "check") == 0 && argc - i == 1 && strcmp(argv[i], "--repair") == 0) {
		ret = cmd_check(&db, &cfg, true);
	} else if (strcmp(cmd, "compress") == 0 && i == argc) {
		ret = cmd_compress(&db, &cfg);
	} else {
		usage(stderr);
		ret = 2;
	}
	db_close(&db);
	return ret;
}
