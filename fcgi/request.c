/* request: request accessors and response building; see request.h. */
#include "request.h"

#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "http.h"
#include "jsonv.h"
#include "log.h"
#include "proxy.h"
#include "text.h"

const char *req_param(req_t *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

const char *req_client_addr(req_t *r)
{
	const char *remote = req_param(r, "REMOTE_ADDR"), *xff;
	proxy_list_t *l;
	char *out;

	if (remote == NULL)
		return "";
	if (r->cfg->trusted_proxies[0] == '\0' || (xff = req_param(r, "HTTP_X_FORWARDED_FOR")) == NULL)
		return remote;
	l = arena_alloc(r->arena, sizeof(*l));
	out = arena_alloc(r->arena, PROXY_ADDR_MAX);
	/* config_load took the list as it is: an entry we cannot read trusts nothing more */
	if (proxy_list_parse(r->cfg->trusted_proxies, strlen(r->cfg->trusted_proxies), l) < 0) {
		static bool warned;

		if (!warned)
			log_error("trusted_proxies: an entry is not an address or CIDR; "
				  "only the entries before it are trusted");
		warned = true;
	}
	return proxy_client(l, remote, xff, strlen(xff), out);
}

int req_query(req_t *r, const char *key, char **v, size_t *vlen)
{
	int rc = http_query_get(r->arena, r->query, strlen(r->query), key, v, vlen);

	if (rc < 0)
		resp_problem(r, 400, "invalid_request", "The query string is malformed.");
	return rc;
}

static void json_put(void *o)
{
	json_object_put(o);
}

json_object *req_json_body(req_t *r)
{
	const char *ct = req_param(r, "CONTENT_TYPE");
	const char *cl = req_param(r, "CONTENT_LENGTH");
	long long len = cl && *cl ? http_content_length(cl, strlen(cl)) : 0;
	json_tokener *tok;
	json_object *obj;
	char *body;
	size_t got = 0, end;

	if (len < 0) {
		resp_problem(r, 400, "invalid_request", "Content-Length is invalid.");
		return NULL;
	}
	if (len == 0) {
		resp_problem(r, 400, "invalid_request", "A JSON object body is required.");
		return NULL;
	}
	if (ct == NULL || !http_media_type_is(ct, strlen(ct), "application/json")) {
		resp_problem(r, 415, "unsupported_media_type",
			     "The body must be application/json.");
		return NULL;
	}
	if (len > r->cfg->max_json_body) {
		resp_problem(r, 413, "body_too_large", "The JSON body is larger than allowed.");
		return NULL;
	}
	body = arena_alloc(r->arena, (size_t)len + 1);
	while (got < (size_t)len) {
		int n = FCGX_GetStr(body + got, (int)((size_t)len - got), r->fcgi->in);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)len) {
		resp_problem(r, 400, "invalid_request", "The body ended early.");
		return NULL;
	}
	if (!text_utf8_valid(body, got)) {
		resp_problem(r, 400, "invalid_request", "The body is not valid UTF-8.");
		return NULL;
	}
	if (jsonv_check(body, got, JSONV_MAX_DEPTH, NULL) < 0) {
		resp_problem(r, 400, "invalid_request", "The body is not well-formed JSON.");
		return NULL;
	}
	tok = json_tokener_new_ex(JSONV_MAX_DEPTH + 1);
	if (tok == NULL) {
		resp_problem(r, 503, "unavailable", "Out of memory.");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)got);
	end = json_tokener_get_parse_end(tok);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		if (obj)
			json_object_put(obj);
		json_tokener_free(tok);
		resp_problem(r, 400, "invalid_request", "The body is not well-formed JSON.");
		return NULL;
	}
	json_tokener_free(tok);
	arena_on_clear(r->arena, json_put, obj);
	for (; end < got; end++) {
		char c = body[end];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			resp_problem(r, 400, "invalid_request",
				     "The body has data after the JSON value.");
			return NULL;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		resp_problem(r, 400, "invalid_request", "The body must be a JSON object.");
		return NULL;
	}
	return obj;
}

int json_get_string(json_object *o, const char *key, const char **s, size_t *n)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	if (memchr(*s, '\0', *n))  /* "\u0000" inside a string */
		return -1;
	return 1;
}

json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *jint(long long v)
{
	return json_object_new_int64(v);
}

json_object *jbool(bool v)
{
	return json_object_new_boolean(v);
}

void resp_header(req_t *r, const char *name, const char *value)
{
	buf_adds(&r->headers, name);
	buf_add(&r->headers, ": ", 2);
	/* header values we send never carry line breaks, whatever their source */
	for (const char *p = value; *p; p++)
		buf_addc(&r->headers, (*p == '\r' || *p == '\n') ? ' ' : *p);
	buf_add(&r->headers, "\r\n", 2);
}

void resp_json(req_t *r, int status, json_object *obj)
{
	size_t n = 0;
	const char *s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	buf_reset(&r->body);
	buf_add(&r->body, s, n);
	buf_addc(&r->body, '\n');
	json_object_put(obj);
	r->responded = true;
}

void resp_json_text(req_t *r, int status, const char *text, size_t n)
{
	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	buf_reset(&r->body);
	buf_add(&r->body, text, n);
	buf_addc(&r->body, '\n');
	r->responded = true;
}

void resp_empty(req_t *r, int status)
{
	r->status = status;
	r->content_type = NULL;
	buf_reset(&r->body);
	r->responded = true;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

json_object *problem_new(int status, const char *code, const char *detail)
{
	json_object *o = json_object_new_object();
	char type[128];

	snprintf(type, sizeof(type), "https://coffer.dev/problems/%s", code);
	json_object_object_add(o, "type", jstr(type));
	json_object_object_add(o, "title", jstr(reason(status)));
	json_object_object_add(o, "status", jint(status));
	json_object_object_add(o, "detail", jstr(detail));
	json_object_object_add(o, "code", jstr(code));
	return o;
}

void resp_problem(req_t *r, int status, const char *code, const char *detail)
{
	resp_problem_obj(r, status, problem_new(status, code, detail));
}

void resp_problem_obj(req_t *r, int status, json_object *problem)
{
	json_object *code;

	r->problem_code = json_object_object_get_ex(problem, "code", &code) ?
		arena_strdup(r->arena, json_object_get_string(code)) : "error";
	resp_json(r, status, problem);
	r->content_type = "application/problem+json; charset=utf-8";
}

void resp_invalid(req_t *r, const char *detail, json_object *errors)
{
	json_object *o = problem_new(400, "invalid_request", detail);

	json_object_object_add(o, "errors", errors);
	resp_problem_obj(r, 400, o);
}

void errors_add(json_object *errors, const char *field, const char *message)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "field", jstr(field));
	json_object_object_add(e, "message", jstr(message));
	json_object_array_add(errors, e);
}

const char *req_json_pair(req_t *r, const char *key, const char *value)
{
	json_object *o = json_object_new_object();
	const char *t;

	json_object_object_add(o, key, jstr(value));
	t = arena_strdup(r->arena, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return t;
}

int errors_unknown(json_object *errors, json_object *body, const char *const *allowed,
		   const char *message)
{
	int n = 0;

	json_object_object_foreach(body, key, val) {
		size_t i = 0;

		(void)val;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			errors_add(errors, key, message);
		n++;
	}
	return n;
}

void resp_db_error(req_t *r, int err)
{
	if (err == DB_EUNAVAIL) {
		resp_header(r, "Retry-After", "5");
		resp_problem(r, 503, "unavailable",
			     "The database is unavailable; try again shortly.");
		return;
	}
	if (err == DB_EINPUT) {
		resp_problem(r, 400, "invalid_request", "A parameter has an invalid value.");
		return;
	}
	log_error("request %s: unexpected database error: %s: %s", r->request_id,
		  db_strerror(err), r->db->message);
	resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
}

static void write_head(req_t *r, buf_t *head, long long content_length)
{
	buf_addf(head, "Status: %d %s\r\n", r->status, reason(r->status));
	if (r->content_type)
		buf_addf(head, "Content-Type: %s\r\n", r->content_type);
	if (content_length >= 0 && r->status != 304)
		buf_addf(head, "Content-Length: %lld\r\n", content_length);
	if (r->cache_control)
		buf_addf(head, "Cache-Control: %s\r\n", r->cache_control);
	/* one Vary line: nginx passes only the first of several on X-Accel-Redirect */
	if (r->origin && r->vary)
		buf_addf(head, "Vary: Origin, %s\r\n", r->vary);
	else if (r->origin || r->vary)
		buf_addf(head, "Vary: %s\r\n", r->origin ? "Origin" : r->vary);
}

void resp_stream_head(req_t *r, int status, const char *content_type,
		      long long content_length)
{
	buf_t head = BUF_INIT;

	r->status = status;
	r->content_type = content_type;
	write_head(r, &head, content_length);
	buf_add(&head, r->headers.p, r->headers.len);
	buf_add(&head, "\r\n", 2);
	FCGX_PutStr(head.p, (int)head.len, r->fcgi->out);
	buf_free(&head);
	r->responded = true;
	r->streamed = true;
}

void resp_send(req_t *r)
{
	buf_t head = BUF_INIT;

	if (r->streamed)
		return;
	write_head(r, &head, (long long)r->body.len);
	buf_add(&head, r->headers.p, r->headers.len);
	buf_add(&head, "\r\n", 2);
	FCGX_PutStr(head.p, (int)head.len, r->fcgi->out);
	if (r->body.len && strcmp(r->method, "HEAD") != 0)
		FCGX_PutStr(r->body.p, (int)r->body.len, r->fcgi->out);
	buf_free(&head);
}

int req_query_uint(req_t *r, const char *key, long long min, long long max,
		   const char *detail, long long *out)
{
	char *v;
	size_t n;
	int rc = req_query(r, key, &v, &n);

	if (rc != 1)
		return rc;
	if (text_parse_uint(v, n, max, out) < 0 || *out < min) {
		resp_problem(r, 400, "invalid_request", detail);
		return -1;
	}
	return 1;
}

int req_page_limit(req_t *r)
{
	long long l = REQ_LIST_DEFAULT;
	int rc = req_query_uint(r, "limit", 1, REQ_LIST_MAX,
				"limit must be an integer from 1 to 1000.", &l);

	return rc < 0 ? -1 : (int)l;
}

int req_cursor(req_t *r, const char **parts, int n)
{
	char *c;
	size_t cl;
	int rc = req_query(r, "cursor", &c, &cl);

	if (rc != 1)
		return rc;
	if (cursor_decode(r->arena, c, cl, parts, n) < 0) {
		resp_problem(r, 400, "invalid_request", "The cursor is invalid.");
		return -1;
	}
	return 1;
}

void req_list_by_time(req_t *r, db_stmt_t *first, db_stmt_t *after_st)
{
	req_list_by_time_of(r, r->user.id, first, after_st);
}

void req_list_by_time_of(req_t *r, const char *key, db_stmt_t *first, db_stmt_t *after_st)
{
	const char *after[2] = { NULL, NULL }, *p[4];
	char lim[16];
	int limit = req_page_limit(r), rc, n;
	PGresult *res;
	json_object *o, *items;

	if (limit < 0 || (rc = req_cursor(r, after, 2)) < 0)
		return;
	if (rc == 1 && (!text_uuid_valid(after[1], strlen(after[1])) || strlen(after[0]) > 40 ||
			strspn(after[0], "0123456789-:. +") != strlen(after[0]))) {
		resp_problem(r, 400, "invalid_request", "The cursor is invalid.");
		return;
	}
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[0] = key;
	p[1] = lim;
	p[2] = after[0];
	p[3] = after[1];
	rc = db_query(r->db, r->arena, rc == 1 ? after_st : first, rc == 1 ? 4 : 2, p, &res);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	n = PQntuples(res);
	o = json_object_new_object();
	items = json_object_new_array();
	for (int i = 0; i < n && i < limit; i++)
		json_object_array_add(items, json_tokener_parse(PQgetvalue(res, i, 0)));
	json_object_object_add(o, "items", items);
	if (n > limit) {
		const char *parts[2] = { PQgetvalue(res, limit - 1, 1), PQgetvalue(res, limit - 1, 2) };

		json_object_object_add(o, "next_cursor", jstr(cursor_encode(r->arena, parts, 2)));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	resp_json(r, 200, o);
}
