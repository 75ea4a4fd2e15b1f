/*
 * fuzz-tags-mime: the upload form's tags field (tags_from_text) and the
 * type policies applied to a client's file name (mime_from_name,
 * mime_choose, mime_contradicts, mime_allowed). Invariants: accepted tags
 * are a JSON array of at most 32 distinct strings of 1-64 bytes of UTF-8
 * without control characters, and parsing that array again gives the same
 * text; a name's type is a lowercase "type/subtype"; a chosen type is never
 * NULL; an empty policy allows everything, "*" in the block list nothing.
 * Inputs sit in exactly-sized heap buffers without a terminator.
 */
#include <json-c/json.h>

#include "arena.h"
#include "fuzz.h"
#include "mime.h"
#include "tags.h"
#include "text.h"

static void check_type_shape(const char *t)
{
	size_t n = strlen(t), slash = 0;

	CHECK(n > 2 && n < MIME_TYPE_MAX);
	for (size_t i = 0; i < n; i++) {
		CHECK(!(t[i] >= 'A' && t[i] <= 'Z') && t[i] > ' ' && t[i] < 0x7f);
		slash += t[i] == '/';
	}
	CHECK(slash == 1);
}

static void check_tags(arena_t *a, const char *p, size_t n)
{
	const char *err = NULL, *again, *out = tags_from_text(a, p, n, &err);
	json_object *arr;
	size_t len;

	if (out == NULL) {
		CHECK(err != NULL && *err);
		return;
	}
	arr = json_tokener_parse(out);
	CHECK(arr && json_object_is_type(arr, json_type_array));
	len = json_object_array_length(arr);
	CHECK(len <= TAGS_MAX);
	for (size_t i = 0; i < len; i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		const char *s = json_object_get_string(t);
		size_t sl = (size_t)json_object_get_string_len(t);

		CHECK(json_object_is_type(t, json_type_string));
		CHECK(sl >= 1 && sl <= TAGS_TAG_MAX && text_utf8_valid(s, sl));
		for (size_t k = 0; k < sl; k++)
			CHECK((unsigned char)s[k] >= 0x20 && s[k] != 0x7f);
		for (size_t j = 0; j < i; j++) {
			json_object *u = json_object_array_get_idx(arr, j);

			CHECK(!((size_t)json_object_get_string_len(u) == sl &&
				memcmp(json_object_get_string(u), s, sl) == 0));
		}
	}
	again = tags_from_text(a, out, strlen(out), &err);
	CHECK(again && strcmp(again, out) == 0);
	json_object_put(arr);
}

static void check_mime(const char *p, size_t n)
{
	static const char *const detected[] = {
		"application/octet-stream", "text/plain", "image/png", "application/x-executable",
		"application/x-sharedlib", "text/html", "image/svg+xml", "application/zip",
		"application/x-empty", "application/pdf",
	};
	const char *byname = mime_from_name(p, n);
	char type[MIME_TYPE_MAX];

	if (byname)
		check_type_shape(byname);
	for (size_t i = 0; i < sizeof(detected) / sizeof(detected[0]); i++) {
		const char *c = mime_choose(p, n, detected[i]);

		CHECK(c != NULL);
		check_type_shape(c);
		(void)mime_contradicts(p, n, detected[i]);
	}
	/* the name as a type, and as a policy list */
	if (n < sizeof(type) && memchr(p, 0, n) == NULL) {
		memcpy(type, p, n);
		type[n] = '\0';
		CHECK(mime_allowed("", "", type));
		(void)mime_is_active(type);
		(void)mime_compressible(type);
		(void)mime_allowed(type, "", "image/png");
		(void)mime_allowed("", type, "text/plain");
		if (strchr(type, '/'))
			CHECK(!mime_allowed("", "*", type));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static arena_t *a;
	char *p = dup_exact(data, size);

	if (a == NULL)
		a = arena_new();
	check_tags(a, p, size);
	check_mime(p, size);
	arena_clear(a);
	free(p);
	return 0;
}
