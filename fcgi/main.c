/*
 * coffer-fcgi: the Coffer FastCGI worker program. By default a prefork
 * master with a pool of workers; with --single (or when started by
 * spawn-fcgi on an inherited socket) one worker on fd 0.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "mime.h"
#include "worker.h"

#include <fcntl.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer-fcgi [-c CONFIG] [--single]\n"
		   "  -c CONFIG   settings file (default: $COFFER_CONFIG, else built-in defaults)\n"
		   "  --single    serve as one worker on the inherited FastCGI socket (fd 0),\n"
		   "              as spawn-fcgi starts it\n");
}

/* True when fd 0 is a listening socket (spawn-fcgi, systemd socket activation). */
static int stdin_is_listener(void)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

static void make_dirs(const char *blob_dir)
{
	char tmp[512];

	if (mkdir(blob_dir, 0755) < 0 && errno != EEXIST)
		log_error("blob_dir %s: %s", blob_dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/tmp", blob_dir);
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		log_error("blob_dir %s: %s", tmp, strerror(errno));
}

int main(int argc, char **argv)
{
	const char *path = getenv("COFFER_CONFIG");
	int single = 0;
	config_t cfg;
	char err[256];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--single") == 0) {
			single = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	log_set_name("coffer-fcgi");
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		log_error("config: %s", err);
		return 2;
	}
	/* Large allocations (argon2's 19 MiB) go straight back to the kernel,
	 * so a worker's resident size stays flat between requests. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 512 * 1024);
	make_dirs(cfg.blob_dir);
	/* libmagic's database loaded once here (for types and descriptions) is
	 * shared by every forked worker and the jobs process */
	if (mime_init() < 0)
		log_error("libmagic: cannot load its database; uploads will be typed "
			  "application/octet-stream and get no description");

	if (single || (!*cfg.listen && stdin_is_listener())) {
		int fl = fcntl(0, F_GETFL);

		if (!stdin_is_listener()) {
			log_error("--single: fd 0 is not a listening socket");
			return 2;
		}
		fcntl(0, F_SETFL, fl | O_NONBLOCK);
		log_set_name("coffer-worker");
		/* nobody respawns a single worker, so it is never recycled */
		return worker_run(&cfg, 0, 0);
	}
	if (!*cfg.listen) {
		log_error("config: 'listen' is not set and fd 0 is not a socket");
		return 2;
	}
	return master_run(path, &cfg);
}
