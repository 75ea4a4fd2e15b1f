/* master: prefork supervisor; see master.h. */
#include "dispatch.h"
#include "master.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "jobs.h"
#include "worker.h"

#define MASTER_MAX_CHILDREN 512
#define MASTER_BACKLOG      1024
#define MASTER_STOP_GRACE   30   /* seconds before in-flight requests are cut off */

struct child {
	pid_t pid;
	unsigned gen;      /* workers of an older generation are being retired */
	time_t started;
	bool jobs;         /* the background jobs process, not a worker */
};

static struct child children[MASTER_MAX_CHILDREN];
static int nchildren;

int master_listen(const config_t *cfg)
{
	const char *l = cfg->listen;
	int fd = -1, one = 1;

	if (strncmp(l, "unix:", 5) == 0) {
		struct sockaddr_un sa;
		const char *path = l + 5;

		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sa.sun_path)) {
			log_error("listen: socket path too long: %s", path);
			return -1;
		}
		memcpy(sa.sun_path, path, strlen(path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			goto fail;
		unlink(path);	/* a stale socket from a previous run */
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    chmod(path, (mode_t)cfg->socket_mode) < 0)
			goto fail;
	} else {
		struct addrinfo hints, *ai = NULL;
		char host[256];
		const char *colon = strrchr(l, ':');
		int rc;

		if (colon == NULL || colon == l || (size_t)(colon - l) >= sizeof(host)) {
			log_error("listen: expected unix:/path or host:port, got '%s'", l);
			return -1;
		}
		memcpy(host, l, (size_t)(colon - l));
		host[colon - l] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		rc = getaddrinfo(host, colon + 1, &hints, &ai);
		if (rc != 0) {
			log_error("listen: %s: %s", l, gai_strerror(rc));
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			freeaddrinfo(ai);
			goto fail;
		}
		freeaddrinfo(ai);
	}
	if (listen(fd, MASTER_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	log_error("listen: %s: %s", l, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int want_workers(const config_t *cfg)
{
	/* a worker waits on PostgreSQL for part of each request: two per core
	 * keep the CPUs busy (see docs/benchmarks.md) */
	long n = cfg->workers > 0 ? cfg->workers : 2 * sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > MASTER_MAX_CHILDREN / 2)
		n = MASTER_MAX_CHILDREN / 2;
	return (int)n;
}

static pid_t spawn(const config_t *cfg, int fd, unsigned gen, bool jobs)
{
	pid_t pid;

	if (nchildren == MASTER_MAX_CHILDREN)
		return -1;
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (jobs) {
			close(fd);
			_exit(jobs_run(cfg));
		}
		log_set_name("coffer-worker");
		_exit(worker_run(cfg, fd, cfg->max_requests));
	}
	children[nchildren].pid = pid;
	children[nchildren].gen = gen;
	children[nchildren].started = time(NULL);
	children[nchildren].jobs = jobs;
	nchildren++;
	return pid;
}

static void signal_all(int sig, int only_old, unsigned gen)
{
	for (int i = 0; i < nchildren; i++)
		if (!only_old || children[i].gen != gen)
			kill(children[i].pid, sig);
}

/* Reap exited children. Returns how many of the current generation died
 * within a second of starting (a crash loop, to be slowed down). */
static int reap(unsigned gen)
{
	int status, early = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < nchildren; i++) {
			if (children[i].pid != pid)
				continue;
			if (WIFSIGNALED(status))
				log_error("worker %d killed by signal %d", (int)pid, WTERMSIG(status));
			else if (WEXITSTATUS(status) != 0)
				log_error("worker %d exited with status %d", (int)pid,
					  WEXITSTATUS(status));
			if (children[i].gen == gen && time(NULL) - children[i].started < 1 &&
			    (WIFSIGNALED(status) || WEXITSTATUS(status) != 0))
				early++;
			children[i] = children[--nchildren];
			break;
		}
	}
	return early;
}

static int live(unsigned gen, bool jobs)
{
	int n = 0;

	for (int i = 0; i < nchildren; i++)
		n += children[i].gen == gen && children[i].jobs == jobs;
	return n;
}

static void write_pid_file(const char *path)
{
	FILE *f;

	if (!*path)
		return;
	f = fopen(path, "w");
	if (f == NULL) {
		log_error("pid file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

int master_run(const char *config_path, config_t *cfg)
{
	sigset_t set;
	unsigned gen = 1;
	int fd, stopping = 0;
	time_t stop_deadline = 0, spawn_after = 0;
	char listen_addr[sizeof(cfg->listen)];

	fd = master_listen(cfg);
	if (fd < 0)
		return 1;
	dispatch_budget_init();   /* before the workers: they share it */
	memcpy(listen_addr, cfg->listen, sizeof(listen_addr));
	write_pid_file(cfg->pid_file);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("master: listening on %s with %d workers", cfg->listen, want_workers(cfg));

	for (;;) {
		struct timespec tick = { 1, 0 };
		siginfo_t si;
		int sig;
		time_t now = time(NULL);

		if (!stopping && now >= spawn_after) {
			while (live(gen, false) < want_workers(cfg) && spawn(cfg, fd, gen, false) > 0)
				;
			if (live(gen, true) == 0)
				spawn(cfg, fd, gen, true);
		}
		if (stopping && nchildren == 0)
			break;
		if (stopping && now >= stop_deadline) {
			log_error("master: workers still busy after %ds, killing them",
				  MASTER_STOP_GRACE);
			signal_all(SIGKILL, 0, gen);
			stop_deadline = now + MASTER_STOP_GRACE;
		}
		sig = sigtimedwait(&set, &si, &tick);
		if (sig < 0)
			continue;
		switch (sig) {
		case SIGCHLD:
			if (reap(gen) > 0 && !stopping) {
				log_error("master: workers are crashing at start; retrying in 1s");
				spawn_after = time(NULL) + 1;
			}
			break;
		case SIGTERM:
		case SIGINT:
			if (!stopping) {
				log_info("master: stopping; waiting for requests in flight");
				stopping = 1;
				stop_deadline = time(NULL) + MASTER_STOP_GRACE;
				signal_all(SIGTERM, 0, gen);
			}
			break;
		case SIGHUP: {
			config_t next;
			char err[256];

			if (config_load(&next, config_path, err, sizeof(err)) < 0) {
				log_error("master: reload failed, keeping the old config: %s", err);
				break;
			}
			if (strcmp(next.listen, listen_addr) != 0)
				log_error("master: a new listen address needs a restart; keeping %s",
					  listen_addr);
			memcpy(next.listen, listen_addr, sizeof(next.listen));
			*cfg = next;
			gen++;
			log_info("master: reloaded; replacing workers");
			/* new workers start at the top of the loop; old ones finish first */
			signal_all(SIGTERM, 1, gen);
			spawn_after = 0;
			break;
		}
		}
	}
	if (strncmp(listen_addr, "unix:", 5) == 0)
		unlink(listen_addr + 5);
	if (*cfg->pid_file)
		unlink(cfg->pid_file);
	close(fd);
	log_info("master: stopped");
	return 0;
}
