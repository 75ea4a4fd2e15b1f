/*
 * request: one FastCGI request as the handlers see it: method, path, query,
 * selected headers, the authenticated principal, and the response being
 * built. All memory hangs off the request arena.
 */
#ifndef COFFER_REQUEST_H
#define COFFER_REQUEST_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "account.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "db.h"

#define REQ_MAX_ROUTE_PARAMS 4
#define UPLOAD_CHECK_PATH    "/_internal/upload-check"
#define REQ_LIST_DEFAULT     100
#define REQ_LIST_MAX         1000

typedef struct req {
	FCGX_Request *fcgi;
	arena_t *arena;
	const config_t *cfg;
	db_t *db;

	const char *method;
	const char *path;          /* decoded-free raw path, without the query */
	size_t path_len;
	const char *query;         /* raw query string, "" when none */
	const char *remote_addr;
	const char *user_agent;
	const char *origin;        /* NULL when absent */
	const char *request_id;
	bool https;
	const char *params[REQ_MAX_ROUTE_PARAMS];  /* ":id" segments of the route */

	/* principal */
	bool authed;
	account_user_t user;
	const char *session_digest;  /* set when authenticated by cookie */
	const char *token_id;        /* set when authenticated by API token */

	/* response */
	int status;
	buf_t headers;
	buf_t body;
	const char *content_type;
	const char *cache_control;  /* "no-store" unless a handler says otherwise */
	bool responded;
	bool streamed;              /* head and body already written by the handler */
	const char *problem_code;   /* code of the problem answered, if any */
	const char *vary;           /* request headers the answer varies on, besides Origin */
	bool upload_check;          /* nginx asks whether an upload may start (auth_request) */
} req_t;

/* Header or FastCGI parameter by its CGI name ("HTTP_COOKIE"), or NULL. */
const char *req_param(req_t *r, const char *name);
/* The client's address: REMOTE_ADDR, or when that is one of trusted_proxies
 * the address X-Forwarded-For names (lib/proxy). "" when unknown. */
const char *req_client_addr(req_t *r);
/* Query parameter: 1 found (*v decoded, NUL-terminated), 0 absent; on a
 * malformed query string answers 400 and returns -1. */
int req_query(req_t *r, const char *key, char **v, size_t *vlen);
/* ?limit= of a list (default 100, 1-1000); on a bad value answers 400 and
 * returns -1. */
int req_page_limit(req_t *r);
/* An integer query parameter in [min, max]: 1 found (*out), 0 absent (*out
 * untouched); anything else answers 400 with detail and returns -1. */
int req_query_uint(req_t *r, const char *key, long long min, long long max,
		   const char *detail, long long *out);
/* ?cursor= of a list, decoded into exactly n parts (lib/cursor): 1 found,
 * 0 absent; on a malformed cursor answers 400 and returns -1. The caller
 * still validates what each part holds. */
int req_cursor(req_t *r, const char **parts, int n);
/* Answer a list of the caller's rows paged by (timestamp, id), newest
 * first: first(user id, limit) and after(user id, limit, time, id) return
 * (JSON text, time as text, id); ?limit= and ?cursor= are taken care of. */
void req_list_by_time(req_t *r, db_stmt_t *first, db_stmt_t *after);
/* The same with key (e.g. an item's id) in place of the user id. */
void req_list_by_time_of(req_t *r, const char *key, db_stmt_t *first, db_stmt_t *after);
/* Read and parse a JSON object body. On any problem (wrong type, too large,
 * malformed, invalid UTF-8, not an object) answers 4xx and returns NULL.
 * The object is released with the arena. */
json_object *req_json_body(req_t *r);

/* Response building. */
void resp_header(req_t *r, const char *name, const char *value);
void resp_json(req_t *r, int status, json_object *obj);   /* takes ownership */
/* Answer with JSON text the handler composed (from JSON the database made). */
void resp_json_text(req_t *r, int status, const char *text, size_t n);
void resp_empty(req_t *r, int status);
void resp_problem(req_t *r, int status, const char *code, const char *detail);
/* A problem JSON object (RFC 9457) with our type URI and code. */
json_object *problem_new(int status, const char *code, const char *detail);
/* Answer with a problem object built by problem_new (takes ownership). */
void resp_problem_obj(req_t *r, int status, json_object *problem);
/* 400 with an "errors" array of {field, message}; takes ownership of errors. */
void resp_invalid(req_t *r, const char *detail, json_object *errors);
/* Map a db error to a response (503 for DB_EUNAVAIL, 500 otherwise). */
void resp_db_error(req_t *r, int err);
/* Append {"field":..., "message":...} to an errors array. */
void errors_add(json_object *errors, const char *field, const char *message);
/* '{"key": "value"}' with value JSON-escaped, in the request's arena. */
const char *req_json_pair(req_t *r, const char *key, const char *value);
/* errors_add(message) for every member of the object body whose name is
 * not in allowed (NULL-terminated). Returns how many members body has. */
int errors_unknown(json_object *errors, json_object *body, const char *const *allowed,
		   const char *message);

/* json-c helpers that keep handler code short. */
json_object *jstr(const char *s);          /* NULL -> JSON null */
json_object *jint(long long v);
json_object *jbool(bool v);
/* Get a string member: 1 ok (*s, *n), 0 absent or null, -1 wrong type. */
int json_get_string(json_object *o, const char *key, const char **s, size_t *n);

/* Send the response (status line, headers, body) to the client. */
void resp_send(req_t *r);
/* Write the status line and headers now (Content-Length when content_length
 * >= 0); the handler then writes the body to r->fcgi->out itself. */
void resp_stream_head(req_t *r, int status, const char *content_type,
		      long long content_length);

#endif
