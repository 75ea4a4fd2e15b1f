/*
 * activityq: the parameters of GET /api/activity from a raw query string:
 * action (a comma-separated list), target_id, target_kind, from, to, limit,
 * stats and the keyset cursor. Every value is checked against a whitelist
 * or a strict shape and put in a canonical form here, before any of it
 * reaches SQL (as a parameter). A cursor is bound to the filters it was
 * made for: used with others it is refused. Unknown parameters are ignored.
 */
#ifndef COFFER_ACTIVITYQ_H
#define COFFER_ACTIVITYQ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"

#define ACTIVITYQ_MAX_ACTIONS 20    /* names in ?action= */
#define ACTIVITYQ_ACTION_MAX  40    /* bytes of one name, [a-z_] */
#define ACTIVITYQ_DEFAULT     50
#define ACTIVITYQ_MAX         1000
#define ACTIVITYQ_MAX_ERRORS  10
#define ACTIVITYQ_TIME_LEN    27    /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */

typedef struct activityq_error {
	const char *field;
	const char *message;
} activityq_error_t;

typedef struct activityq {
	/* actions, sorted and without duplicates, and as a PostgreSQL text[]
	 * literal ("{download,upload}"); NULL / 0 when not filtered */
	const char *actions;
	const char *action[ACTIVITYQ_MAX_ACTIONS];
	int nactions;
	const char *target_id;    /* lower-case UUID or NULL */
	const char *target_kind;  /* static string or NULL */
	const char *from;         /* canonical UTC time (see activityq_time) or NULL */
	const char *to;           /* idem */
	int limit;
	bool stats;
	/* the cursor, when given: the last entry of the previous page */
	bool after;
	const char *after_time;   /* canonical UTC time */
	const char *after_id;
	/* what went wrong: cursor problems come alone, with field "cursor" */
	activityq_error_t errors[ACTIVITYQ_MAX_ERRORS];
	int nerrors;
	bool malformed;           /* the query string itself is malformed */
} activityq_t;

/* Parse q[0..n) for the log of user (binds the cursor). Returns 0, or -1
 * with a->errors (or a->malformed) set. */
int activityq_parse(arena_t *a, const char *q, size_t n, const char *user, activityq_t *out);
/* Split an action list p[0..n) ("upload,download") into out (arena
 * strings, sorted, duplicates dropped). Returns the count (>= 1), or -1
 * when an item is empty, not ^[a-z_]{1,40}$, or there are more than max. */
int activityq_actions(arena_t *a, const char *p, size_t n, const char **out, int max);
/* An RFC 3339 time p[0..n) (text_rfc3339_parse; the fraction is kept to
 * microseconds, truncated) in canonical UTC form, written to
 * out[ACTIVITYQ_TIME_LEN + 1]. 0, or -1 when invalid or outside years
 * 0001-9999. */
int activityq_time(const char *p, size_t n, char *out);
/* The cursor after the entry (time as cursor_time() writes it, id) of the
 * listing q of user. */
char *activityq_cursor(arena_t *a, const activityq_t *q, const char *user, const char *time,
		       const char *id);

#endif
