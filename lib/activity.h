/*
 * activity: the audit trail. One row per operation with who, what, the
 * target, the client address and user agent.
 */
#ifndef COFFER_ACTIVITY_H
#define COFFER_ACTIVITY_H

#include "arena.h"
#include "db.h"

typedef struct activity {
	const char *user_id;      /* NULL for anonymous events */
	const char *action;       /* snake_case, e.g. "login", "login_failed" */
	const char *target_id;    /* uuid or NULL */
	const char *target_kind;  /* "file", "folder", "user", ... or NULL */
	const char *target_name;  /* or NULL */
	const char *ip;           /* client address as text, or NULL */
	const char *user_agent;   /* or NULL; stored truncated to 512 bytes */
	const char *details;      /* JSON object text, or NULL */
} activity_t;

/* Insert one entry. */
int activity_log(db_t *db, arena_t *a, const activity_t *ev);

#endif
