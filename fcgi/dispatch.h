/*
 * dispatch: one request through the pipeline: read the FastCGI params,
 * CORS and CSRF checks, routing, authentication, the handler, the response
 * and the log line.
 */
#ifndef COFFER_DISPATCH_H
#define COFFER_DISPATCH_H

#include "request.h"

/* Serve the request accepted into fr. r is reset first; its buffers are
 * reused between requests. */
void dispatch(req_t *r, FCGX_Request *fr);

/* The per-user request budget's table (lib/ratelimit), in memory shared
 * with the workers forked afterwards: the master calls this before forking;
 * a worker that finds none (spawn-fcgi single mode) makes its own. */
void dispatch_budget_init(void);

#endif
