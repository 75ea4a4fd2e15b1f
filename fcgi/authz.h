/* authz: the one question every handler asks before it touches an item:
 * may the caller do this? The answer comes from item_permissions() in the
 * database (migrations 005 and 006): owners may do everything; a grant on
 * the item or a folder above it gives its role's rights; nothing else gives
 * anything. A caller who may not even see the item learns nothing (404);
 * one who sees it but may not do this gets 403. */
#ifndef COFFER_AUTHZ_H
#define COFFER_AUTHZ_H

#include "request.h"

typedef struct authz {
	const char *owner;   /* the item's owner (in the request's arena) */
	bool is_owner;       /* the caller owns it */
	int db_rc;           /* the database's error when the status is 503 */
} authz_t;

/* May the caller do action ("view", "download", "edit", "delete", "share",
 * "upload") on the live item kind ("file" or "folder") id? 0 yes (out
 * filled), else the status to answer: 404, 403 or 503. Answers nothing. */
int authz_check(req_t *r, const char *action, const char *kind, const char *id, authz_t *out);

/* authz_check, answering the refusal: 0, or -1 after answering. */
int authz(req_t *r, const char *action, const char *kind, const char *id, authz_t *out);

/* Answer status with the item as the caller sees it now (404 when they
 * no longer may). */
void authz_answer_item(req_t *r, int status, const char *kind, const char *id);

/* The activity entry ev in the caller's log, and when owner is someone
 * else also in the owner's, with details.actor_id naming the caller. */
struct activity;
void authz_log(req_t *r, const char *owner, const struct activity *ev);

#endif
