/* tags: parsing and validation of file tags; see tags.h. */
#include "tags.h"

#include <stdbool.h>
#include <string.h>

#include "jsonv.h"
#include "text.h"

static bool tag_valid(const char *p, size_t n)
{
	if (n == 0 || n > TAGS_TAG_MAX || !text_utf8_valid(p, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Add tag p[0..n) to the array unless already there. */
static int tag_add(json_object *arr, const char *p, size_t n, const char **err)
{
	size_t len = json_object_array_length(arr);

	if (!tag_valid(p, n)) {
		*err = "Each tag must be 1-64 bytes of UTF-8 without control characters.";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		json_object *t = json_object_array_get_idx(arr, i);

		if ((size_t)json_object_get_string_len(t) == n &&
		    memcmp(json_object_get_string(t), p, n) == 0)
			return 0;
	}
	if (len >= TAGS_MAX) {
		*err = "At most 32 tags are allowed.";
		return -1;
	}
	json_object_array_add(arr, json_object_new_string_len(p, (int)n));
	return 0;
}

static const char *tags_text(arena_t *a, json_object *arr)
{
	const char *s = arena_strdup(a, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));

	json_object_put(arr);
	return s;
}

const char *tags_from_json(arena_t *a, json_object *v, const char **err)
{
	json_object *arr;
	size_t len;

	if (!json_object_is_type(v, json_type_array)) {
		*err = "tags must be an array of strings.";
		return NULL;
	}
	arr = json_object_new_array();
	len = json_object_array_length(v);
	for (size_t i = 0; i < len; i++) {
		json_object *t = json_object_array_get_idx(v, i);

		if (!json_object_is_type(t, json_type_string)) {
			*err = "tags must be an array of strings.";
			json_object_put(arr);
			return NULL;
		}
		if (tag_add(arr, json_object_get_string(t), (size_t)json_object_get_string_len(t),
			    err) < 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return tags_text(a, arr);
}

const char *tags_from_text(arena_t *a, const char *v, size_t n, const char **err)
{
	json_object *arr;
	size_t i = 0;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i < n && v[i] == '{') {
		*err = "tags must be a JSON array of strings or a comma-separated list.";
		return NULL;
	}
	if (i < n && v[i] == '[') {
		json_tokener *tok;
		json_object *parsed;
		const char *out;

		if (!text_utf8_valid(v, n) || jsonv_check(v, n, 4, NULL) < 0) {
			*err = "tags must be a JSON array of strings or a comma-separated list.";
			return NULL;
		}
		tok = json_tokener_new_ex(4);
		if (tok == NULL) {
			*err = "tags could not be read.";
			return NULL;
		}
		parsed = json_tokener_parse_ex(tok, v, (int)n);
		json_tokener_free(tok);
		if (parsed == NULL) {
			*err = "tags must be a JSON array of strings or a comma-separated list.";
			return NULL;
		}
		out = tags_from_json(a, parsed, err);
		json_object_put(parsed);
		return out;
	}
	arr = json_object_new_array();
	i = 0;
	while (i <= n) {
		size_t s = i, e;

		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (s < e && (v[s] == ' ' || v[s] == '\t'))
			s++;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && tag_add(arr, v + s, e - s, err) < 0) {
			json_object_put(arr);
			return NULL;
		}
		i++;
	}
	return tags_text(a, arr);
}

