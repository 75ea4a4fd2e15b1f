/*
 * tags: the tags of a file, from a form field (a JSON array of strings or a
 * comma-separated list) or a JSON value. Each tag is 1-64 bytes of UTF-8
 * without control characters; at most 32, duplicates dropped (first kept).
 * The result is a JSON array text, which SQL turns into text[].
 */
#ifndef COFFER_TAGS_H
#define COFFER_TAGS_H

#include <json-c/json.h>
#include <stddef.h>

#include "arena.h"

#define TAGS_MAX     32
#define TAGS_TAG_MAX 64

/* From untrusted text v[0..n). NULL with *err a sentence for the client. */
const char *tags_from_text(arena_t *a, const char *v, size_t n, const char **err);
/* From a parsed JSON value, which must be an array of strings. */
const char *tags_from_json(arena_t *a, json_object *v, const char **err);

#endif
