/*
 * worker: the accept loop of one worker process. Workers share the
 * listening socket and each serves one request at a time.
 */
#ifndef COFFER_WORKER_H
#define COFFER_WORKER_H

#include <stdbool.h>

#include "config.h"

/* Serve requests on the listening socket fd until SIGTERM/SIGINT (after
 * finishing the request in flight) or, when max_requests > 0, until that
 * many have been served. Returns the process exit status. */
int worker_run(const config_t *cfg, int fd, long long max_requests);

#endif
