/*
 * fuzz-jsonv: the strict JSON validator in front of json-c. Invariants:
 * no read past the input (exact-size buffer, no NUL), the reported offset
 * never exceeds the input, and every document jsonv accepts json-c parses
 * too, to a value nested no deeper than the limit, with no NaN/Infinity.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "jsonv.h"
#include "fuzz.h"

static int finite_all(json_object *o)
{
	if (json_object_is_type(o, json_type_double))
		return isfinite(json_object_get_double(o));
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (!finite_all(v))
				return 0;
		}
	}
	if (json_object_is_type(o, json_type_array))
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!finite_all(json_object_array_get_idx(o, i)))
				return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	size_t where = (size_t)-1;
	int rc;

	if (size)
		memcpy(p, data, size);
	rc = jsonv_check(p, size, JSONV_MAX_DEPTH, &where);
	CHECK(where <= size);
	if (rc == 0) {
		json_tokener *tok = json_tokener_new_ex(JSONV_MAX_DEPTH + 1);
		json_object *o;

		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, p, (int)size);
		/* a bare scalar may need the end-of-input signal */
		if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
			o = json_tokener_parse_ex(tok, "", 1);
		CHECK(o != NULL || json_tokener_get_error(tok) == json_tokener_success);
		if (o) {
			CHECK(finite_all(o));
			json_object_put(o);
		}
		json_tokener_free(tok);
	}
	free(p);
	return 0;
}
