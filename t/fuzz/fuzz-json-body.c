/*
 * fuzz-json-body: what the worker does to a JSON request body
 * (fcgi/request.c req_json_body): reject invalid UTF-8, validate strictly
 * with jsonv_check (RFC 8259, depth JSONV_MAX_DEPTH), parse with
 * json_tokener_new_ex(JSONV_MAX_DEPTH + 1) in JSON_TOKENER_STRICT |
 * JSON_TOKENER_VALIDATE_UTF8 mode, allow only whitespace after the value,
 * require an object, then read string members the way json_get_string does.
 * Invariants: jsonv_check never reads past the body (it gets an
 * exactly-sized copy) and reports an offset inside it; every object jsonv
 * accepts json-c accepts too (else valid JSON would get a 400); an accepted
 * body nests at most JSONV_MAX_DEPTH levels and its serialisation parses
 * again to an equal object (numbers that overflow to infinity, e.g. 1e400,
 * are only required to parse again, as inf != inf comparisons are moot).
 * Like the worker, json-c gets a buffer of len + 1 bytes ending in NUL.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "jsonv.h"
#include "text.h"
#include "fuzz.h"

static int depth(json_object *o)
{
	int d = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			int c = depth(v);

			(void)k;
			if (c > d)
				d = c;
		}
		return d + 1;
	}
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			int c = depth(json_object_array_get_idx(o, i));

			if (c > d)
				d = c;
		}
		return d + 1;
	}
	return 0;
}

static bool has_nonfinite(json_object *o)
{
	if (json_object_is_type(o, json_type_double))
		return !isfinite(json_object_get_double(o));
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (has_nonfinite(v))
				return true;
		}
	}
	if (json_object_is_type(o, json_type_array))
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (has_nonfinite(json_object_array_get_idx(o, i)))
				return true;
	return false;
}

/* NULL when the worker would answer 400 invalid_request. */
static json_object *parse_body(const char *body, size_t got)
{
	json_tokener *tok;
	json_object *obj;
	size_t end, where = (size_t)-1;
	char *exact;
	int v;

	if (!text_utf8_valid(body, got))
		return NULL;
	exact = malloc(got ? got : 1);
	if (exact == NULL)
		abort();
	if (got)
		memcpy(exact, body, got);
	v = jsonv_check(exact, got, JSONV_MAX_DEPTH, &where);
	free(exact);
	CHECK(v == 0 || v == -1);
	if (v < 0) {
		CHECK(where <= got);
		return NULL;
	}
	tok = json_tokener_new_ex(JSONV_MAX_DEPTH + 1);
	CHECK(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)got);
	end = json_tokener_get_parse_end(tok);
	/* jsonv accepted it: for an object (all the worker takes) json-c must
	 * agree. A bare top-level number is "continue" to json-c, which cannot
	 * see where it ends; the worker answers 400 for any non-object anyway. */
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		size_t i = 0;

		while (i < got && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
				   body[i] == '\n'))
			i++;
		CHECK(i == got || body[i] != '{');
		if (obj)
			json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	CHECK(end <= got);
	for (; end < got; end++) {
		char c = body[end];

		CHECK(c == ' ' || c == '\t' || c == '\r' || c == '\n');
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;
	json_object *obj, *again;
	const char *ser;
	size_t sl;

	if (size > 1 << 20)   /* max_json_body default */
		return 0;
	body = calloc(1, size + 1);
	if (body == NULL)
		abort();
	if (size)
		memcpy(body, data, size);
	obj = parse_body(body, size);
	if (obj == NULL) {
		free(body);
		return 0;
	}
	CHECK(text_utf8_valid(body, size));
	CHECK(depth(obj) <= JSONV_MAX_DEPTH);

	/* what handlers do with members: typed reads, NUL check on strings */
	json_object_object_foreach(obj, key, val) {
		CHECK(text_utf8_valid(key, strlen(key)));
		if (json_object_is_type(val, json_type_string)) {
			const char *s = json_object_get_string(val);
			int n = json_object_get_string_len(val);

			CHECK(n >= 0 && s != NULL && s[n] == '\0');
			CHECK(text_utf8_valid(s, (size_t)n));
			(void)memchr(s, '\0', (size_t)n);
		} else if (json_object_is_type(val, json_type_int)) {
			(void)json_object_get_int64(val);
		}
	}

	ser = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &sl);
	CHECK(ser != NULL && strlen(ser) == sl);
	again = parse_body(ser, sl);
	CHECK(again != NULL);
	CHECK(has_nonfinite(obj) || json_object_equal(obj, again));
	json_object_put(again);
	json_object_put(obj);
	free(body);
	return 0;
}
