/* worker: accept loop; see worker.h. */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "dispatch.h"
#include "files.h"
#include "log.h"
#include "signals.h"

static volatile sig_atomic_t worker_stop;

static void on_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
}

int worker_run(const config_t *cfg, int fd, long long max_requests)
{
	FCGX_Request fr;
	sigset_t during_poll;
	req_t r;
	db_t db;
	long long served = 0;

	/* Stop signals are only delivered while waiting for a connection, so a
	 * request in flight always completes before the worker exits. */
	signals_stop_when_waiting(on_stop, &during_poll);
	dispatch_budget_init();   /* inherited from the master, or our own */

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, fd, 0) != 0) {
		log_error("worker: FastCGI initialisation failed");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.arena = arena_new();
	r.cfg = cfg;
	r.db = &db;
	buf_init(&r.headers);
	buf_init(&r.body);
	db_init(&db, cfg->db);

	while (!worker_stop && (max_requests == 0 || served < max_requests)) {
		struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
		struct timespec wait;
		long long due;
		int rc;

		/* counted downloads are written once due, also when no request comes */
		files_downloads_flush(&db, r.arena, false);
		arena_clear(r.arena);
		due = files_downloads_due();
		wait.tv_sec = due / 1000;
		wait.tv_nsec = (due % 1000) * 1000000;
		rc = ppoll(&p, 1, due >= 0 ? &wait : NULL, &during_poll);
		if (rc == 0)
			continue;

		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_error("worker: poll: %s", strerror(errno));
			break;
		}
		/* the socket is non-blocking: another worker may have won the race */
		if (FCGX_Accept_r(&fr) < 0)
			continue;
		dispatch(&r, &fr);
		FCGX_Finish_r(&fr);
		served++;
	}
	FCGX_Free(&fr, 0);
	files_downloads_flush(&db, r.arena, true);
	db_close(&db);
	buf_free(&r.headers);
	buf_free(&r.body);
	arena_free(r.arena);
	return 0;
}
