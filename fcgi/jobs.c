/* jobs: tree jobs (migration 004), compression and extraction; see jobs.h. */
#include "jobs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "arena.h"
#include "db.h"
#include "log.h"
#include "signals.h"
#include "store.h"

#define JOBS_BATCH 8
/* blobs of the extraction backfill per round: each is at most 1 MiB read
 * and a libmagic call, so a round stays well under a second */
#define EXTRACT_BATCH 32
/* items of a tree job applied per transaction: progress is committed with
 * them, so a runner killed mid-job loses at most one batch of work, which
 * the next runner redoes (it was rolled back, never half applied) */
#define TREE_BATCH 50

DB_STMT(st_job_claim, "SELECT job_claim()");
DB_STMT(st_job_step, "SELECT job_step($1, $2)");
DB_STMT(st_job_release, "SELECT job_release($1)");

static volatile sig_atomic_t jobs_stop;

static void on_stop(int sig)
{
	(void)sig;
	jobs_stop = 1;
}

/* Stop signals stay blocked while a pass runs: a long backlog still ends at
 * the next batch when one is waiting (the master replacing us on SIGHUP
 * must not leave two compressors running for long). */
static bool stop_pending(void)
{
	sigset_t pending;

	if (jobs_stop)
		return true;
	return sigpending(&pending) == 0 &&
	       (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
}

/* Wait for a notification, secs seconds, or a stop signal (one already
 * pending is taken even when secs is 0). */
static void wait_for_work(db_t *db, int secs, const sigset_t *during_wait)
{
	struct pollfd p = { .fd = db->conn ? PQsocket(db->conn) : -1, .events = POLLIN };
	struct timespec ts = { secs, 0 };
	PGnotify *n;

	if (ppoll(&p, 1, &ts, during_wait) > 0 && db->conn) {
		PQconsumeInput(db->conn);
		while ((n = PQnotifies(db->conn)) != NULL)
			PQfreemem(n);
	}
}

/* Run one step of a job in its own transaction: items applied, 0 when the
 * job is finished (or no longer ours), -1 on a database error. */
static int tree_job_step(db_t *db, arena_t *a, const char *id)
{
	char batch[16];
	const char *p[2] = { id, batch };
	PGresult *res;
	int rc, n;

	snprintf(batch, sizeof(batch), "%d", TREE_BATCH);
	for (int attempt = 1;; attempt++) {
		if ((rc = db_begin(db)) == DB_OK &&
		    (rc = db_query(db, a, &st_job_step, 2, p, &res)) == DB_OK) {
			n = atoi(PQgetvalue(res, 0, 0));
			if ((rc = db_commit(db)) == DB_OK)
				return n;
		}
		db_rollback(db);
		if (rc != DB_ERETRY || attempt >= 5)
			break;
	}
	log_error("jobs: job %s: %s: %s", id, db_strerror(rc), db->message);
	return -1;
}

/* Take and run queued tree jobs (and those whose runner died) until none is
 * left or a stop signal waits. */
static void tree_jobs_pass(db_t *db, arena_t *a)
{
	while (!stop_pending()) {
		PGresult *res;
		char *id;
		int n, total = 0;

		if (db_query(db, a, &st_job_claim, 0, NULL, &res) != DB_OK || PQgetisnull(res, 0, 0))
			return;
		id = arena_strdup(a, PQgetvalue(res, 0, 0));
		log_info("jobs: running job %s", id);
		while ((n = tree_job_step(db, a, id)) > 0) {
			total += n;
			if (stop_pending()) {
				const char *p[1] = { id };

				db_query(db, a, &st_job_release, 1, p, NULL);
				log_info("jobs: stopping; job %s goes on in the next runner", id);
				return;
			}
		}
		if (n == 0)
			log_info("jobs: job %s finished (%d items)", id, total);
		arena_clear(a);
		if (n < 0)
			return;
	}
}

int jobs_run(const config_t *cfg)
{
	sigset_t during_wait;
	arena_t *a = arena_new();
	unsigned listening = 0;
	char conninfo[sizeof(cfg->db) + 40];
	db_t db;

	prctl(PR_SET_NAME, "coffer-jobs", 0, 0, 0);
	log_set_name("coffer-jobs");
	/* stop signals arrive only while waiting, never in the middle of a blob */
	signals_stop_when_waiting(on_stop, &during_wait);
	/* its own application_name, so pg_stat_activity tells it from the workers
	 * (a later keyword wins in a libpq conninfo string) */
	if (strncmp(cfg->db, "postgres", 8) == 0)   /* a URI: leave it as it is */
		snprintf(conninfo, sizeof(conninfo), "%s", cfg->db);
	else
		snprintf(conninfo, sizeof(conninfo), "%s application_name=coffer-jobs", cfg->db);
	db_init(&db, conninfo);

	while (!jobs_stop) {
		store_stats_t st;
		int rc = DB_OK;
		bool more = false;   /* a backlog is left: the next round starts at once */

		memset(&st, 0, sizeof(st));
		if (db_ensure(&db) == DB_OK) {
			/* LISTEN again on every new connection */
			if (listening != db.gen && db_exec(&db, "LISTEN coffer_jobs") == DB_OK)
				listening = db.gen;
			tree_jobs_pass(&db, a);
			arena_clear(a);
			if (cfg->compress != 0)
				while ((rc = store_compress_pass(&db, a, cfg, JOBS_BATCH, &st)) > 0) {
					arena_clear(a);
					if (stop_pending())
						break;
				}
			arena_clear(a);
			if (rc >= 0)
				store_remove_raw(&db, a, cfg, cfg->raw_grace, &st);
			arena_clear(a);
			{
				long long found = 0;

				/* before the PDF text pass: it takes the PDFs this marks */
				more = store_extract_pass(&db, a, cfg, EXTRACT_BATCH, &found) >= EXTRACT_BATCH;
				if (found)
					log_info("jobs: extracted the metadata or text of %lld blobs stored "
						 "before extraction at upload", found);
			}
			arena_clear(a);
			{
				long long texts = 0;

				/* one batch per round: a backlog of PDFs does not hold up
				 * tree jobs and compression */
				store_text_pass(&db, a, cfg, JOBS_BATCH, &texts);
				if (texts)
					log_info("jobs: extracted the text of %lld PDF files", texts);
			}
			arena_clear(a);
			if (st.compressed || st.not_compressible || st.raw_removed)
				log_info("jobs: compressed %lld, left raw %lld, raw copies removed %lld, "
					 "%lld bytes freed", st.compressed, st.not_compressible,
					 st.raw_removed, st.bytes_freed);
		}
		if (!jobs_stop)
			wait_for_work(&db, more ? 0 : cfg->jobs_interval, &during_wait);
	}
	db_close(&db);
	arena_free(a);
	return 0;
}
