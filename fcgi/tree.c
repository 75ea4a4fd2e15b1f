/*
 * tree: move, copy and delete of mixed selections, the trash, and job
 * status. The work itself is done by tree_apply() in the database (migration
 * 004): one call per request, each item in its own subtransaction, every
 * item reported. Operations larger than jobs_threshold items are queued as
 * jobs instead and answered 202; the coffer-jobs process runs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "cursor.h"
#include "handlers.h"
#include "log.h"
#include "text.h"
#include "tree.h"

#define TREE_MAX_ITEMS 10000
#define TREE_ATTEMPTS  3

/* a copy is charged to the target folder's owner */
DB_STMT(st_tree_plan,
	"SELECT p.items, p.bytes, u.storage_quota - u.storage_used "
	"FROM tree_plan($1, $2::uuid[], $3::boolean) p, users u "
	"WHERE u.id = coalesce(item_owner('folder', $4), $1)");

DB_STMT(st_tree_apply,
	"SELECT item_id, ok, body FROM tree_apply_logged($1, $2, $3::uuid[], $4, $5, $6, $7)");

DB_STMT(st_job_create,
	"WITH j AS (INSERT INTO jobs (user_id, kind, items, target_id, policy, total, ip, user_agent) "
	"           VALUES ($1, $2, $3::uuid[], $4, coalesce($5, 'fail'), cardinality($3::uuid[]), $6, "
	"                   left($7, 512)) RETURNING *), "
	"n AS (SELECT pg_notify('coffer_jobs', 'job')) "
	"SELECT job_json(j), j.id FROM j, n");

DB_STMT(st_tree_lock, "SELECT tree_lock($1)");

int tree_lock(req_t *r, const char *user)
{
	const char *p[1] = { user };

	return db_query(r->db, r->arena, &st_tree_lock, 1, p, NULL);
}

int tree_write(req_t *r, const char *owner, db_stmt_t *st, int n, const char *const *p,
	       PGresult **res)
{
	int rc = db_begin(r->db);

	if (rc == DB_OK && (rc = tree_lock(r, owner)) == DB_OK &&
	    (rc = db_query(r->db, r->arena, st, n, p, res)) == DB_OK)
		return 0;
	db_rollback(r->db);
	if (rc == DB_EUNIQUE)
		resp_problem(r, 409, "name_conflict",
			     "A file or folder with this name already exists in the folder.");
	else
		resp_db_error(r, rc);
	return -1;
}

int tree_policy(json_object *body, const char **policy, json_object *errors)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(body, "on_conflict", &v) || v == NULL)
		return 0;
	s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	if (strcmp(s, "fail") == 0 || strcmp(s, "rename") == 0) {
		*policy = s;
		return 0;
	}
	errors_add(errors, "on_conflict", "must be fail or rename");
	return -1;
}

static int problem_status(json_object *body)
{
	json_object *v;

	return json_object_object_get_ex(body, "status", &v) ? json_object_get_int(v) : 500;
}

/* ---- request bodies ---- */

typedef struct treeq {
	const char *ids;       /* PostgreSQL array literal of the items */
	int n;
	const char *target;
	const char *policy;
} treeq_t;

static const char *lower_id(arena_t *a, const char *id)
{
	char *s = arena_strdup(a, id);

	for (char *c = s; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	return s;
}

static int uuid_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* {"item_ids": [...], "target_folder_id": ..., "on_conflict": ...}; with
 * want_target false only item_ids is allowed. Answers 400 and returns -1
 * on anything wrong. */
static int treeq_parse(req_t *r, treeq_t *q, bool want_target)
{
	json_object *body = req_json_body(r), *errors, *v;
	const char **sorted;
	buf_t lit = BUF_INIT;
	size_t n = 0;

	memset(q, 0, sizeof(*q));
	q->policy = "fail";
	if (body == NULL)
		return -1;
	errors = json_object_new_array();
	errors_unknown(errors, body, want_target ?
		       (const char *const[]){ "item_ids", "target_folder_id", "on_conflict", NULL } :
		       (const char *const[]){ "item_ids", NULL }, "is not a field of this request");
	if (!json_object_object_get_ex(body, "item_ids", &v) || !json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0 || n > TREE_MAX_ITEMS) {
		errors_add(errors, "item_ids", "is required: an array of 1-10000 file or folder IDs");
		n = 0;
	}
	sorted = arena_alloc(r->arena, (n ? n : 1) * sizeof(*sorted));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string) ||
		    !text_uuid_valid(json_object_get_string(e), (size_t)json_object_get_string_len(e))) {
			errors_add(errors, "item_ids", arena_printf(r->arena, "item %zu is not an ID", i));
			n = 0;
			break;
		}
		/* lower case, so that one ID written twice in two cases is seen */
		sorted[i] = lower_id(r->arena, json_object_get_string(e));
	}
	if (n > 1) {
		const char **copy = arena_alloc(r->arena, n * sizeof(*copy));

		memcpy(copy, sorted, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), uuid_cmp);
		for (size_t i = 1; i < n; i++)
			if (strcmp(copy[i - 1], copy[i]) == 0) {
				errors_add(errors, "item_ids", "contains the same ID twice");
				break;
			}
	}
	if (want_target) {
		if (!json_object_object_get_ex(body, "target_folder_id", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    !text_uuid_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			errors_add(errors, "target_folder_id", "is required: a folder ID");
		else
			q->target = json_object_get_string(v);
		tree_policy(body, &q->policy, errors);
	}
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The request is invalid.", errors);
		return -1;
	}
	json_object_put(errors);
	buf_add(&lit, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_add(&lit, ",", 1);
		buf_adds(&lit, sorted[i]);
	}
	buf_add(&lit, "}", 1);
	q->ids = arena_strndup(r->arena, lit.p, lit.len);
	buf_free(&lit);
	q->n = (int)n;
	return 0;
}

/* ---- running ---- */

static void answer_job(req_t *r, PGresult *res)
{
	json_object *o = json_object_new_object(), *job = json_tokener_parse(PQgetvalue(res, 0, 0));

	json_object_object_add(o, "job", job);
	resp_header(r, "Location", arena_printf(r->arena, "/api/jobs/%s", PQgetvalue(res, 0, 1)));
	resp_json(r, 202, o);
}

/* Queue op as a job; answers 202. */
static void queue_job(req_t *r, const char *op, const treeq_t *q)
{
	const char *p[7] = { r->user.id, op, q->ids, q->target, q->policy, r->remote_addr,
			     r->user_agent };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_job_create, 7, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	answer_job(r, res);
}

/* Run op now in one transaction. Returns the rows of tree_apply, or NULL
 * after answering (404 when the target folder is gone, 503...). */
static PGresult *apply_now(req_t *r, const char *op, const treeq_t *q)
{
	const char *p[7] = { r->user.id, op, q->ids, q->target, q->policy, r->remote_addr,
			     r->user_agent };
	PGresult *res;
	int rc;

	for (int attempt = 1;; attempt++) {
		if ((rc = db_begin(r->db)) != DB_OK)
			break;
		rc = db_query(r->db, r->arena, &st_tree_apply, 7, p, &res);
		if (rc == DB_OK && (rc = db_commit(r->db)) == DB_OK)
			return res;
		db_rollback(r->db);
		if (rc != DB_ERETRY || attempt >= TREE_ATTEMPTS)
			break;
	}
	if (strcmp(r->db->sqlstate, "P0002") == 0)
		resp_problem(r, 404, "not_found", "The target folder does not exist.");
	else
		resp_db_error(r, rc);
	return NULL;
}

/* {"items": [...], "errors": [{"id", "error"}]} from tree_apply's rows. */
static json_object *results_json(PGresult *res)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array(),
		    *errors = json_object_new_array();

	for (int i = 0; i < PQntuples(res); i++) {
		json_object *body = json_tokener_parse(PQgetvalue(res, i, 2));

		if (strcmp(PQgetvalue(res, i, 1), "t") == 0) {
			json_object_array_add(items, body);
		} else {
			json_object *e = json_object_new_object(), *code, *detail;
			int status = problem_status(body);

			json_object_object_get_ex(body, "code", &code);
			json_object_object_get_ex(body, "detail", &detail);
			json_object_object_add(e, "id", jstr(PQgetvalue(res, i, 0)));
			json_object_object_add(e, "error", problem_new(status,
					       code ? json_object_get_string(code) : "internal_error",
					       detail ? json_object_get_string(detail) : ""));
			json_object_array_add(errors, e);
			json_object_put(body);
		}
	}
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "errors", errors);
	return o;
}

/* The size of op on q's items: -1 after answering. For copies, also the
 * up-front quota check (507). */
static long long plan(req_t *r, const char *op, const treeq_t *q, bool trashed)
{
	const char *p[4] = { r->user.id, q->ids, trashed ? "true" : "false", q->target };
	PGresult *res;
	int rc;

	if (strcmp(op, "move") == 0 || strcmp(op, "restore") == 0)
		return q->n;   /* one row per item, whatever is below it */
	if ((rc = db_query(r->db, r->arena, &st_tree_plan, 4, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	if (strcmp(op, "copy") == 0 &&
	    atoll(PQgetvalue(res, 0, 1)) > atoll(PQgetvalue(res, 0, 2))) {
		resp_problem(r, 507, "quota_exceeded", "The copy would exceed the storage quota of "
			     "the target folder's owner; nothing was copied.");
		return -1;
	}
	return atoll(PQgetvalue(res, 0, 0));
}

/* The caller may add items to the target folder (404 or 403 answered). */
static bool target_ok(req_t *r, const char *target)
{
	authz_t az;

	return authz(r, "upload", "folder", target, &az) == 0;
}

static void bulk(req_t *r, const char *op)
{
	bool targeted = strcmp(op, "delete") != 0;
	treeq_t q;
	long long size;
	PGresult *res;

	if (treeq_parse(r, &q, targeted) < 0)
		return;
	if (targeted && !target_ok(r, q.target))
		return;
	if ((size = plan(r, op, &q, false)) < 0)
		return;
	if (size > r->cfg->jobs_threshold) {
		queue_job(r, op, &q);
		return;
	}
	if ((res = apply_now(r, op, &q)) != NULL)
		resp_json(r, 200, results_json(res));
}

void h_files_move(req_t *r)
{
	bulk(r, "move");
}

void h_files_copy(req_t *r)
{
	bulk(r, "copy");
}

void h_files_delete_many(req_t *r)
{
	bulk(r, "delete");
}

/* One item by its route id: 2xx, or the item's own problem. */
static void one(req_t *r, const char *op, const char *id, const char *policy, int ok_status,
		bool trashed)
{
	treeq_t q = { arena_printf(r->arena, "{%s}", id), 1, NULL, policy };
	long long size = plan(r, op, &q, trashed);
	PGresult *res;
	json_object *body;

	if (size < 0)
		return;
	if (size > r->cfg->jobs_threshold) {
		queue_job(r, op, &q);
		return;
	}
	if ((res = apply_now(r, op, &q)) == NULL)
		return;
	body = PQntuples(res) == 1 ? json_tokener_parse(PQgetvalue(res, 0, 2)) : NULL;
	if (body == NULL) {
		resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		if (ok_status == 204) {
			json_object_put(body);
			resp_empty(r, 204);
		} else {
			resp_json(r, ok_status, body);
		}
		return;
	}
	{
		json_object *code, *detail;
		int status = problem_status(body);

		json_object_object_get_ex(body, "code", &code);
		json_object_object_get_ex(body, "detail", &detail);
		resp_problem(r, status, code ? json_object_get_string(code) : "internal_error",
			     detail ? json_object_get_string(detail) : "");
		json_object_put(body);
	}
}

void tree_delete_one(req_t *r, const char *id, const char *kind)
{
	authz_t az;

	/* a file id on the folders route (or the reverse) is not found */
	if (authz(r, "delete", kind, id, &az) < 0)
		return;
	if (strcmp(id, r->user.root_folder_id) == 0) {
		resp_problem(r, 403, "forbidden", "The root folder cannot be deleted.");
		return;
	}
	one(r, "delete", id, NULL, 204, false);
}

/* ---- trash ---- */

#define TRASH_COLS(t, kind, parent, size, count) \
	"SELECT json_build_object('kind', '" kind "', 'id', " t ".id, 'name', " t ".name, " \
	"  'deleted_at', api_time(" t ".deleted_at), 'size', " size ", 'file_count', " count ", " \
	"  'original_parent_id', " t "." parent ", 'original_path', folder_path(" t "." parent ")) AS j, " \
	"  " t ".deleted_at AS del, " t ".id AS id "
#define TRASH_FILES \
	TRASH_COLS("x", "file", "folder_id", "x.size", "1") \
	"FROM files x WHERE x.user_id = $1 AND x.trash_id = x.id "
#define TRASH_FOLDERS \
	TRASH_COLS("f", "folder", "parent_id", \
		   "(SELECT coalesce(sum(y.size), 0) FROM files y WHERE y.trash_id = f.id)", \
		   "(SELECT count(*) FROM files y WHERE y.trash_id = f.id)") \
	"FROM folders f WHERE f.user_id = $1 AND f.trash_id = f.id "

DB_STMT(st_trash_first,
	"SELECT j, del::text, id FROM ("
	"(" TRASH_FILES "ORDER BY x.deleted_at DESC, x.id DESC LIMIT $2) UNION ALL "
	"(" TRASH_FOLDERS "ORDER BY f.deleted_at DESC, f.id DESC LIMIT $2)) t "
	"ORDER BY del DESC, id DESC LIMIT $2");

DB_STMT(st_trash_after,
	"SELECT j, del::text, id FROM ("
	"(" TRASH_FILES "AND (x.deleted_at, x.id) < ($3::timestamptz, $4::uuid) "
	"  ORDER BY x.deleted_at DESC, x.id DESC LIMIT $2) UNION ALL "
	"(" TRASH_FOLDERS "AND (f.deleted_at, f.id) < ($3::timestamptz, $4::uuid) "
	"  ORDER BY f.deleted_at DESC, f.id DESC LIMIT $2)) t "
	"ORDER BY del DESC, id DESC LIMIT $2");

void h_trash_list(req_t *r)
{
	req_list_by_time(r, &st_trash_first, &st_trash_after);
}

void h_trash_restore(req_t *r)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");
	const char *policy = "rename";

	if (cl && *cl && strcmp(cl, "0") != 0) {
		json_object *body = req_json_body(r), *errors;

		if (body == NULL)
			return;
		errors = json_object_new_array();
		errors_unknown(errors, body, (const char *const[]){ "on_conflict", NULL },
			       "is not a field of this request");
		tree_policy(body, &policy, errors);
		if (json_object_array_length(errors) > 0) {
			resp_invalid(r, "The request is invalid.", errors);
			return;
		}
		json_object_put(errors);
	}
	one(r, "restore", r->params[0], policy, 200, true);
}

void h_trash_purge(req_t *r)
{
	one(r, "purge", r->params[0], NULL, 204, true);
}

DB_STMT(st_trash_units,
	"SELECT coalesce(array_agg(id)::text, '{}'), count(*), "
	"       (SELECT count(*) FROM files WHERE user_id = $1 AND is_deleted) + "
	"       (SELECT count(*) FROM folders WHERE user_id = $1 AND is_deleted) "
	"FROM (SELECT id FROM files WHERE user_id = $1 AND trash_id = id "
	"      UNION ALL SELECT id FROM folders WHERE user_id = $1 AND trash_id = id) u");

void h_trash_empty(req_t *r)
{
	const char *p[1] = { r->user.id };
	treeq_t q = { NULL, 0, NULL, NULL };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_trash_units, 1, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	q.ids = PQgetvalue(res, 0, 0);
	q.n = atoi(PQgetvalue(res, 0, 1));
	if (q.n == 0) {
		resp_empty(r, 204);
		return;
	}
	if (atoll(PQgetvalue(res, 0, 2)) > r->cfg->jobs_threshold) {
		queue_job(r, "empty_trash", &q);
		return;
	}
	if (apply_now(r, "purge", &q) != NULL)
		resp_empty(r, 204);
}

/* ---- jobs ---- */

DB_STMT(st_job_get,
	"SELECT job_json(j) FROM jobs j WHERE j.id = $1 AND j.user_id = $2");

DB_STMT(st_jobs_first,
	"SELECT job_json(j, false), j.created_at::text, j.id FROM jobs j WHERE j.user_id = $1 "
	"ORDER BY j.created_at DESC, j.id DESC LIMIT $2");

DB_STMT(st_jobs_after,
	"SELECT job_json(j, false), j.created_at::text, j.id FROM jobs j WHERE j.user_id = $1 "
	"  AND (j.created_at, j.id) < ($3::timestamptz, $4::uuid) "
	"ORDER BY j.created_at DESC, j.id DESC LIMIT $2");

void h_job_get(req_t *r)
{
	const char *p[2] = { r->params[0], r->user.id };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_job_get, 2, p, &res);
	json_object *o;

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1 || (o = json_tokener_parse(PQgetvalue(res, 0, 0))) == NULL) {
		resp_problem(r, 404, "not_found", "No such job.");
		return;
	}
	resp_json(r, 200, o);
}

void h_jobs_list(req_t *r)
{
	req_list_by_time(r, &st_jobs_first, &st_jobs_after);
}
