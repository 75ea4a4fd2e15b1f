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

#endif
