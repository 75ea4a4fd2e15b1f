/* dispatch: the request pipeline; see dispatch.h. */
#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "b64.h"
#include "handlers.h"
#include "log.h"
#include "ratelimit.h"
#include "router.h"

#define REQUEST_ID_MAX 64


/* The path for the log: at most 200 bytes, and a share link's token (a
 * credential) replaced by "<token>". */
static const char *log_path(req_t *r)
{
	static const char pre[] = "/api/shares/cfs_";
	size_t n = r->path_len > 200 ? 200 : r->path_len, k = sizeof(pre) - 1, t;

	if (r->path_len > k && strncmp(r->path, pre, k) == 0) {
		for (t = k; t < r->path_len && r->path[t] != '/'; t++)
			;
		return arena_printf(r->arena, "%s<token>%.*s", pre,
				    (int)(r->path_len - t > 100 ? 100 : r->path_len - t), r->path + t);
	}
	return arena_strndup(r->arena, r->path, n);
}

static bool state_changing(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
	       strcmp(m, "DELETE") == 0;
}

static const char *param_or(req_t *r, const char *name, const char *def)
{
	const char *v = req_param(r, name);

	return v ? v : def;
}

/* nginx's $request_id when it is sane, else one of our own. */
static const char *request_id(req_t *r)
{
	const char *id = req_param(r, "REQUEST_ID");
	unsigned char raw[12];
	char *out;

	if (id && *id && strlen(id) <= REQUEST_ID_MAX && strspn(id,
	    "0123456789abcdefABCDEF-_") == strlen(id))
		return id;
	out = arena_alloc(r->arena, B64_ENCODED_SIZE(sizeof(raw)));
	if (auth_random(raw, sizeof(raw)) < 0)
		memset(raw, 0, sizeof(raw));
	b64url_encode(raw, sizeof(raw), out);
	return out;
}

static void preflight(req_t *r, bool origin_ok, const buf_t *allow)
{
	if (r->origin == NULL) {
		resp_header(r, "Allow", buf_str(allow));
		resp_empty(r, 204);
		return;
	}
	if (!origin_ok) {
		resp_problem(r, 403, "origin_not_allowed", "This origin may not use the API.");
		return;
	}
	resp_header(r, "Access-Control-Allow-Methods", buf_str(allow));
	resp_header(r, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type, Upload-Length, Upload-Offset, Tus-Resumable, "
		    "Upload-Metadata, X-Share-Password, X-Share-Access, X-Request-Id, Range, If-Range, If-Match, "
		    "If-None-Match, If-Modified-Since, If-Unmodified-Since");
	resp_header(r, "Access-Control-Max-Age", "600");
	resp_empty(r, 204);
}

#define BUDGET_SLOTS 65536

static rl_table_t *budget;

void dispatch_budget_init(void)
{
	if (budget == NULL && (budget = rl_new_shared(BUDGET_SLOTS)) == NULL)
		log_error("the per-user request budget is off: no shared memory: %s", strerror(errno));
}

/* The user's request budget (user_rate per user_rate_window, across the
 * pool): true after answering 429 with Retry-After. */
static bool over_budget(req_t *r)
{
	int wait = rl_hit(budget, r->user.id, strlen(r->user.id), (long long)time(NULL),
			  r->cfg->user_rate_window, r->cfg->user_rate);
	char ra[16];

	if (wait <= 0)
		return false;
	snprintf(ra, sizeof(ra), "%d", wait);
	resp_header(r, "Retry-After", ra);
	resp_problem(r, 429, "rate_limited", arena_printf(r->arena, "Too many requests for this "
		     "account; try again in %d seconds.", wait));
	return true;
}

static void route(req_t *r)
{
	const route_t *rt;
	buf_t allow = BUF_INIT;
	bool origin_ok = r->origin && config_origin_allowed(r->cfg, r->origin, strlen(r->origin));
	int status = 404, rc;

	if (origin_ok) {
		resp_header(r, "Access-Control-Allow-Origin", r->origin);
		resp_header(r, "Access-Control-Allow-Credentials", "true");
		resp_header(r, "Access-Control-Expose-Headers",
			    "Retry-After, X-Request-Id, Location, Upload-Offset, ETag, Last-Modified, "
			    "Content-Disposition, Content-Range, Accept-Ranges, X-Share-Access");
	}
	rt = router_match(routes, nroutes, r->method, r->path, r->path_len, r->params, r->arena,
			  &status, &allow);
	if (rt == NULL) {
		if (status == 405 && strcmp(r->method, "OPTIONS") == 0) {
			preflight(r, origin_ok, &allow);
		} else if (status == 405) {
			resp_header(r, "Allow", buf_str(&allow));
			resp_problem(r, 405, "method_not_allowed",
				     "This resource does not support that method.");
		} else {
			resp_problem(r, 404, "not_found", "No such resource.");
		}
		buf_free(&allow);
		return;
	}
	buf_free(&allow);
	/* CSRF: a browser on a foreign origin may not change anything */
	if (state_changing(r->method) && r->origin && !origin_ok) {
		resp_problem(r, 403, "origin_not_allowed",
			     "Requests from this origin may not change data.");
		return;
	}
	if (rt->handler != h_healthz && (rc = db_ensure(r->db)) != DB_OK && rt->handler != h_readyz) {
		resp_db_error(r, rc);
		return;
	}
	if (rt->flags & ROUTE_AUTH) {
		rc = auth_resolve(r);
		if (rc < 0)
			return;
		if (rc == 0) {
			resp_header(r, "WWW-Authenticate", "Bearer realm=\"coffer\"");
			resp_problem(r, 401, "unauthenticated",
				     "A valid session or API token is required.");
			return;
		}
		if (over_budget(r))
			return;
	}
	rt->handler(r);
	if (!r->responded) {
		log_error("request %s: handler sent no response", r->request_id);
		resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
	}
}

/* auth_request passes only 2xx, 401 and 403 on: any other refusal becomes 403
 * naming the problem, which nginx turns back into the right status and
 * problem JSON (@upload_refused). */
static void upload_check_answer(req_t *r)
{
	if ((r->status >= 200 && r->status < 300) || r->status == 401)
		return;
	resp_header(r, "X-Coffer-Refusal", r->problem_code ? r->problem_code : "unavailable");
	r->status = 403;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void dispatch(req_t *r, FCGX_Request *fr)
{
	struct timespec t0;
	const char *uri, *q;
	const char *https;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf_reset(&r->headers);
	buf_reset(&r->body);
	r->fcgi = fr;
	r->status = 0;
	r->content_type = NULL;
	r->responded = false;
	r->streamed = false;
	r->cache_control = "no-store";
	r->problem_code = NULL;
	r->vary = NULL;
	r->authed = false;
	r->session_digest = NULL;
	r->token_id = NULL;
	memset(&r->user, 0, sizeof(r->user));
	memset(r->params, 0, sizeof(r->params));

	r->method = param_or(r, "REQUEST_METHOD", "GET");
	uri = param_or(r, "REQUEST_URI", param_or(r, "DOCUMENT_URI", "/"));
	/* nginx's auth_request before an upload body is read (nginx/coffer-server.conf.in);
	 * only nginx sets FastCGI parameters, so a client cannot ask for this */
	r->upload_check = req_param(r, "COFFER_UPLOAD_CHECK") != NULL;
	if (r->upload_check)
		uri = UPLOAD_CHECK_PATH;
	q = strchr(uri, '?');
	r->path = uri;
	r->path_len = q ? (size_t)(q - uri) : strlen(uri);
	r->query = param_or(r, "QUERY_STRING", q ? q + 1 : "");
	r->remote_addr = req_client_addr(r);
	r->user_agent = req_param(r, "HTTP_USER_AGENT");
	r->origin = req_param(r, "HTTP_ORIGIN");
	https = req_param(r, "HTTPS");
	r->https = https && strcmp(https, "on") == 0;
	r->request_id = request_id(r);
	resp_header(r, "X-Request-Id", r->request_id);

	route(r);
	if (r->upload_check)
		upload_check_answer(r);
	db_rollback(r->db);  /* a handler that left a transaction open changes nothing */
	resp_send(r);
	log_info("%s %s %d %.2fms user=%s rid=%s", r->method, log_path(r), r->status,
		 elapsed_ms(&t0), r->authed ? r->user.id : "-", r->request_id);

	/* nothing of this request may survive it */
	arena_clear(r->arena);
	if (r->body.cap > 1 << 20)
		buf_free(&r->body);
	if (r->headers.cap > 1 << 16)
		buf_free(&r->headers);
}
