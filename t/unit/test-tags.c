/*
 * test-tags: the tags field of uploads and of PUT /api/files/<id>: JSON
 * arrays and comma-separated lists, trimming, duplicates, the limits (32
 * tags, 64 bytes each), and what is refused (objects, non-strings, control
 * characters, invalid UTF-8).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "tags.h"
#include "tap.h"

static arena_t *a;

static const char *tt(const char *s)
{
	const char *err = NULL;
	char *in = dup_exact(s, strlen(s));
	const char *out = tags_from_text(a, in, strlen(s), &err);

	free(in);
	return out ? out : "ERR";
}

int main(void)
{
	char many[2048] = "", big[100];
	const char *err = NULL;
	json_object *v;

	a = arena_new();
	tap_is_str(tt("a, b ,c"), "[\"a\",\"b\",\"c\"]", "comma list, blanks trimmed");
	tap_is_str(tt(""), "[]", "empty field: no tags");
	tap_is_str(tt(" , ,"), "[]", "only separators: no tags");
	tap_is_str(tt("x,x, x"), "[\"x\"]", "duplicates dropped");
	tap_is_str(tt("[\"r\\u00e9sum\\u00e9\", \"b\"]"), "[\"résumé\",\"b\"]", "JSON array with escapes");
	tap_is_str(tt("  [\"a\",\"a\"]"), "[\"a\"]", "JSON array after blanks, deduplicated");
	tap_is_str(tt("[]"), "[]", "empty JSON array");
	tap_is_str(tt("{\"a\":1}"), "ERR", "a JSON object is refused");
	tap_is_str(tt("[1,2]"), "ERR", "numbers are refused");
	tap_is_str(tt("[\"a\""), "ERR", "unterminated array is refused");
	tap_is_str(tt("[[\"a\"]]"), "ERR", "nested arrays are refused");
	tap_is_str(tt("a\tb"), "ERR", "a control character inside a tag is refused");
	tap_is_str(tt("[\"\"]"), "ERR", "an empty tag in an array is refused");
	tap_is_str(tt("caf\xe9"), "ERR", "invalid UTF-8 is refused");
	memset(big, 'x', 64);
	big[64] = '\0';
	tap_ok(strcmp(tt(big), "ERR") != 0, "a 64-byte tag is fine");
	big[64] = 'x';
	big[65] = '\0';
	tap_is_str(tt(big), "ERR", "a 65-byte tag is refused");
	for (int i = 0; i < 32; i++)
		sprintf(many + strlen(many), "t%d,", i);
	tap_ok(strcmp(tt(many), "ERR") != 0, "32 tags are fine");
	strcat(many, "t32");
	tap_is_str(tt(many), "ERR", "33 tags are refused");
	strcat(many, ",t0");
	tap_is_str(tt(many), "ERR", "... duplicates do not hide the 33rd");
	v = json_tokener_parse("[\"q\", \"q\", \"w\"]");
	tap_is_str(tags_from_json(a, v, &err), "[\"q\",\"w\"]", "tags_from_json deduplicates");
	json_object_put(v);
	v = json_tokener_parse("\"q\"");
	tap_ok(tags_from_json(a, v, &err) == NULL && err && *err, "tags_from_json wants an array");
	json_object_put(v);
	arena_free(a);
	return done_testing();
}
