/* tree: operations on many items (move, copy, delete, trash) and the jobs
 * that run the large ones; see tree.c. */
#ifndef COFFER_TREE_H
#define COFFER_TREE_H

#include "request.h"

/* DELETE of one item (kind "folder" or "file"): 204, or 202 with a job
 * when its subtree is over the jobs threshold, or the item's problem. */
void tree_delete_one(req_t *r, const char *id, const char *kind);

/* Take user's tree lock (migration 004) in the open transaction: every
 * change to names or places of a user's items does, first. */
int tree_lock(req_t *r, const char *user);

/* Open a transaction, take the tree lock of owner (whose items st changes)
 * and run st: 0 with the transaction open (the caller commits), or -1 after
 * rolling back and answering (409 name_conflict for a taken name, 503...). */
int tree_write(req_t *r, const char *owner, db_stmt_t *st, int n, const char *const *p,
	       PGresult **res);
/* body's "on_conflict" ("fail" or "rename") into *policy when present;
 * -1 after adding an error to errors when it is anything else. */
int tree_policy(json_object *body, const char **policy, json_object *errors);

#endif
