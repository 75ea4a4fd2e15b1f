/*
 * router: the route table maps method + path pattern to a handler.
 * Patterns are literal segments and ":name" segments; a segment named
 * ":id" only matches a UUID. A path no pattern matches is 404; a path that
 * matches with another method is 405 with the Allow list.
 */
#ifndef COFFER_ROUTER_H
#define COFFER_ROUTER_H

#include <stddef.h>

#include "buf.h"
#include "request.h"

#define ROUTE_AUTH     1   /* needs a session or API token: 401 otherwise */
#define ROUTE_SESSION  2   /* needs a browser session specifically (logout) */

typedef void (*handler_fn)(req_t *r);

typedef struct route {
	const char *method;
	const char *pattern;
	handler_fn handler;
	int flags;
} route_t;

extern const route_t routes[];
extern const size_t nroutes;

/* Find the route for method and path[0..n). On a match stores the ":..."
 * segments in params and returns the route. Otherwise returns NULL and
 * *status is 404, or 405 with the allowed methods appended to allow
 * ("GET, HEAD, POST"). HEAD matches GET routes. */
const route_t *router_match(const route_t *table, size_t count, const char *method,
			    const char *path, size_t n, const char **params, arena_t *a,
			    int *status, buf_t *allow);

#endif
