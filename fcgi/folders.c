/*
 * folders: creating, showing, renaming and deleting folders, and the
 * listing of a folder's contents (GET /api/files, GET /api/folders/:id).
 *
 * Listings are keyset-paged: folders first, then files, each in the order
 * of one of the partial indexes of migration 004, so page 1,000 costs what
 * page 1 does. The statement for each (sort, order, page shape) is put
 * together from fixed fragments, never from request text; every value the
 * client sends is a parameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "authz.h"
#include "files.h"
#include "folders.h"
#include "listing.h"
#include "handlers.h"
#include "log.h"
#include "text.h"
#include "tree.h"

/* ---- listing ---- */

#define NSORTS LISTING_NSORTS
enum { SHAPE_FIRST, SHAPE_IN_FOLDERS, SHAPE_IN_FILES, NSHAPES };


#define LNAME "(lower(%1$s.name) COLLATE \"C\")"

/* Sort keys per sort and kind: the leading key (NULL: the name is the only
 * key besides id), its cursor text and the cast back from the cursor. */
typedef struct sortkey {
	const char *key;     /* SQL over alias %1$s */
	const char *out;     /* its cursor text */
	const char *cast;    /* cursor parameter back to the key's type; %d = param number */
} sortkey_t;

static const sortkey_t folder_keys[NSORTS] = {
	{ NULL, NULL, NULL },
	{ "%1$s.total_size", "%1$s.total_size::text", "$%d::bigint" },
	{ "%1$s.created_at", "%1$s.created_at::text", "$%d::timestamptz" },
	{ "%1$s.updated_at", "%1$s.updated_at::text", "$%d::timestamptz" },
	{ NULL, NULL, NULL },
};

static const sortkey_t file_keys[NSORTS] = {
	{ NULL, NULL, NULL },
	{ "%1$s.size", "%1$s.size::text", "$%d::bigint" },
	{ "%1$s.created_at", "%1$s.created_at::text", "$%d::timestamptz" },
	{ "%1$s.updated_at", "%1$s.updated_at::text", "$%d::timestamptz" },
	{ "(%1$s.mime_type COLLATE \"C\")", "encode(convert_to(%1$s.mime_type, 'UTF8'), 'hex')",
	  "(convert_from(decode($%d, 'hex'), 'UTF8') COLLATE \"C\")" },
};

/* Parameters: $1 folder, $2 page size + 1, $3 type, $4 mime prefix, $5
 * name substring, $6 the caller's permissions (JSON; NULL: the owner's), $7
 * the folder paths start at (a link's shared folder; NULL: the owner's
 * root), then the cursor's keys and id. */
#define LIST_FIXED_PARAMS 7

static db_stmt_t list_stmts[NSORTS][2][NSHAPES];
static char list_names[NSORTS][2][NSHAPES][32];

static void fmt_alias(buf_t *b, const char *fmt, const char *alias)
{
	buf_addf(b, fmt, alias);
}

/* "k1 DESC, lname DESC, a.id DESC" and the keyset condition. */
static void add_order(buf_t *b, const sortkey_t *k, const char *alias, bool desc)
{
	const char *d = desc ? " DESC" : "";

	if (k->key) {
		fmt_alias(b, k->key, alias);
		buf_addf(b, "%s, ", d);
	}
	fmt_alias(b, LNAME, alias);
	buf_addf(b, "%s, %s.id%s", d, alias, d);
}

static void add_after(buf_t *b, const sortkey_t *k, const char *alias, bool desc)
{
	int p = LIST_FIXED_PARAMS + 1;

	buf_add(b, " AND (", 6);
	if (k->key) {
		fmt_alias(b, k->key, alias);
		buf_add(b, ", ", 2);
	}
	fmt_alias(b, LNAME, alias);
	buf_addf(b, ", %s.id) %s (", alias, desc ? "<" : ">");
	if (k->key) {
		buf_addf(b, k->cast, p++);
		buf_add(b, ", ", 2);
	}
	buf_addf(b, "(convert_from(decode($%d, 'hex'), 'UTF8') COLLATE \"C\"), $%d::uuid)", p, p + 1);
}

static void add_part(buf_t *b, bool folders, const sortkey_t *k, bool desc, bool after)
{
	const char *a = folders ? "f" : "x";

	buf_addf(b, "(SELECT %d AS g, ", folders ? 0 : 1);
	if (folders)
		buf_adds(b, "folder_json(f, (SELECT path FROM p) || f.name, $6::json)::text AS j, ");
	else
		buf_adds(b, "file_json_as(x, $6::json)::text AS j, ");
	if (k->out)
		fmt_alias(b, k->out, a);
	else
		buf_adds(b, "NULL");
	buf_adds(b, " AS k1, ");
	fmt_alias(b, "encode(convert_to(lower(%1$s.name), 'UTF8'), 'hex')", a);
	buf_addf(b, " AS k2, %s.id::text AS id, row_number() OVER (ORDER BY ", a);
	add_order(b, k, a, desc);
	buf_adds(b, ") AS o ");
	if (folders)
		buf_adds(b, "FROM folders f WHERE f.parent_id = $1 AND NOT f.is_deleted "
			       "AND $3::text IS NULL AND $4::text IS NULL "
			       "AND ($5::text IS NULL OR strpos(lower(f.name), lower($5)) > 0)");
	else
		buf_adds(b, "FROM files x WHERE x.folder_id = $1 AND NOT x.is_deleted "
			       "AND ($3::text IS NULL OR mime_category(x.mime_type) = $3) "
			       "AND ($4::text IS NULL OR starts_with(x.mime_type, $4)) "
			       "AND ($5::text IS NULL OR strpos(lower(x.name), lower($5)) > 0)");
	if (after)
		add_after(b, k, a, desc);
	buf_adds(b, " ORDER BY ");
	add_order(b, k, a, desc);
	buf_adds(b, " LIMIT $2)");
}

static db_stmt_t *list_stmt(int sort, bool desc, int shape)
{
	db_stmt_t *st = &list_stmts[sort][desc][shape];
	buf_t b = BUF_INIT;

	if (st->sql)
		return st;
	/* path of the listed folder with a trailing slash, for the folders' paths */
	buf_adds(&b, "WITH p AS MATERIALIZED (SELECT rtrim(folder_path_within($1, $7), '/') || '/' "
			"AS path) "
			"SELECT g, j, k1, k2, id FROM (");
	if (shape != SHAPE_IN_FILES) {
		add_part(&b, true, &folder_keys[sort], desc, shape == SHAPE_IN_FOLDERS);
		buf_adds(&b, " UNION ALL ");
	}
	add_part(&b, false, &file_keys[sort], desc, shape == SHAPE_IN_FILES);
	buf_adds(&b, ") page ORDER BY g, o LIMIT $2");
	snprintf(list_names[sort][desc][shape], sizeof(list_names[0][0][0]), "st_list_%d_%d_%d",
		 sort, (int)desc, shape);
	st->name = list_names[sort][desc][shape];
	st->sql = b.p;   /* kept for the life of the process */
	/* a generic plan cannot know how big the folder is, and may sort all
	 * of it; with the values, the index gives the page directly */
	st->plan_each_time = true;
	return st;
}

/* The listing's parameters; answers 400 and returns -1 on bad ones. */
int folders_listing_parse(req_t *r, listing_t *q, bool with_folder, const char *folder)
{
	if (listing_parse(r->arena, r->query, strlen(r->query), with_folder, folder, q) == 0)
		return 0;
	if (q->malformed) {
		resp_problem(r, 400, "invalid_request", "The query string is malformed.");
	} else {
		json_object *errors = json_object_new_array();

		for (int i = 0; i < q->nerrors; i++)
			errors_add(errors, q->errors[i].field, q->errors[i].message);
		resp_invalid(r, "The listing parameters are invalid.", errors);
	}
	return -1;
}

/* Run the listing and append '"items": [...], "next_cursor": ...' to out:
 * the items are the database's JSON text, passed through unparsed. Answers
 * and returns -1 on failure. */
int folders_listing(req_t *r, const listing_t *q, const char *folder, const char *perms,
		    const char *root, buf_t *out)
{
	const char *p[LIST_FIXED_PARAMS + 3];
	char lim[16];
	int shape = SHAPE_FIRST, np = LIST_FIXED_PARAMS, rc, n;
	PGresult *res;

	snprintf(lim, sizeof(lim), "%d", q->limit + 1);
	p[0] = folder;
	p[1] = lim;
	p[2] = q->type;
	p[3] = q->mime;
	p[4] = q->name;
	p[5] = perms;
	p[6] = root;
	if (q->after) {
		shape = q->after_kind == 'd' ? SHAPE_IN_FOLDERS : SHAPE_IN_FILES;
		if (listing_keyed(q->sort, q->after_kind))
			p[np++] = q->after_key;
		p[np++] = q->after_name;
		p[np++] = q->after_id;
	}
	rc = db_query(r->db, r->arena, list_stmt(q->sort, q->desc, shape), np, p, &res);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	n = PQntuples(res);
	buf_adds(out, "\"items\": [");
	for (int i = 0; i < n && i < q->limit; i++) {
		if (i)
			buf_addc(out, ',');
		buf_add(out, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
	}
	buf_adds(out, "], \"next_cursor\": ");
	if (n > q->limit) {
		int last = q->limit - 1;
		char kind = strcmp(PQgetvalue(res, last, 0), "0") == 0 ? 'd' : 'f';

		/* base64url: nothing to escape */
		buf_addf(out, "\"%s\"", listing_cursor(r->arena, q, folder, kind,
						       PQgetvalue(res, last, 2),
						       PQgetvalue(res, last, 3),
						       PQgetvalue(res, last, 4)));
	} else {
		buf_adds(out, "null");
	}
	return 0;
}

/* The folder as the caller sees it: NULL item when they may not; the
 * permissions of its contents and where paths start (NULL: the owner's). */
DB_STMT(st_folder_view,
	"SELECT v.item, v.breadcrumb, v.child_perms, v.root FROM item_view($2, 'folder', $1) v");

static void folder_not_found(req_t *r)
{
	resp_problem(r, 404, "not_found", "No such folder.");
}

void h_files_list(req_t *r)
{
	listing_t q;
	const char *p[2], *folder, *perms = NULL, *root = NULL;
	PGresult *res;
	buf_t out = BUF_INIT;
	int rc;

	if (folders_listing_parse(r, &q, true, r->user.root_folder_id) < 0)
		return;
	folder = q.folder_id ? q.folder_id : r->user.root_folder_id;
	if (q.folder_id) {
		p[0] = folder;
		p[1] = r->user.id;
		if ((rc = db_query(r->db, r->arena, &st_folder_view, 2, p, &res)) != DB_OK) {
			resp_db_error(r, rc);
			return;
		}
		if (PQgetisnull(res, 0, 0)) {
			folder_not_found(r);
			return;
		}
		if (!PQgetisnull(res, 0, 2))
			perms = PQgetvalue(res, 0, 2);
		if (!PQgetisnull(res, 0, 3))
			root = PQgetvalue(res, 0, 3);
	}
	buf_addc(&out, '{');
	if (folders_listing(r, &q, folder, perms, root, &out) == 0) {
		buf_addc(&out, '}');
		resp_json_text(r, 200, out.p, out.len);
	}
	buf_free(&out);
}

/* ---- folders ---- */

/* a new folder belongs to the parent's owner; the caller may add to it */
DB_STMT(st_folder_create,
	"WITH par AS (SELECT id, user_id FROM folders WHERE id = $2 AND NOT is_deleted "
	"               AND 'upload' = ANY (item_permissions($1, NULL, 'folder', id))), "
	"ins AS (INSERT INTO folders (user_id, parent_id, name, description) "
	"        SELECT par.user_id, par.id, tree_free_name(par.id, $3, 'folder', NULL, $5), "
	"               coalesce($4, '') "
	"          FROM par RETURNING *) "
	"SELECT folder_json(ins), ins.id, ins.name FROM ins");

DB_STMT(st_folder_update,
	"WITH cur AS (SELECT * FROM folders WHERE id = $1 AND NOT is_deleted "
	"               AND 'edit' = ANY (item_permissions($2, NULL, 'folder', id)) FOR UPDATE), "
	"upd AS (UPDATE folders f SET name = coalesce(CASE WHEN $3::text IS NULL THEN NULL "
	"            ELSE tree_free_name(cur.parent_id, $3, 'folder', cur.id, 'fail') END, f.name), "
	"        description = coalesce($4, f.description), updated_at = now() "
	"        FROM cur WHERE f.id = cur.id AND cur.parent_id IS NOT NULL RETURNING f.*) "
	"SELECT (SELECT folder_json(upd) FROM upd), (SELECT upd.name FROM upd), "
	"       (SELECT cur.parent_id IS NULL FROM cur), (SELECT cur.name FROM cur)");

/* In the caller's log, and in the owner's when that is someone else. */
static void log_folder_event(req_t *r, const char *owner, const char *action, const char *id,
			     const char *name, const char *details)
{
	activity_t ev = { r->user.id, action, id, "folder", name, r->remote_addr, r->user_agent,
			  details };

	authz_log(r, owner, &ev);
}

static void answer_text(req_t *r, int status, const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (o == NULL) {
		resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
		return;
	}
	resp_json(r, status, o);
}

static bool description_valid(json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       json_object_get_string_len(v) <= FILES_DESCRIPTION_MAX &&
	       !memchr(json_object_get_string(v), 0, (size_t)json_object_get_string_len(v)) &&
	       text_utf8_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

void h_folder_create(req_t *r)
{
	json_object *body = req_json_body(r), *errors, *v;
	const char *p[5] = { r->user.id, r->user.root_folder_id, NULL, NULL, "fail" };
	PGresult *res;
	authz_t az;
	int rc;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	errors_unknown(errors, body, (const char *const[]){ "name", "parent_id", "description",
		       "on_conflict", NULL }, "is not a folder field");
	if (!json_object_object_get_ex(body, "name", &v) || !json_object_is_type(v, json_type_string) ||
	    !text_name_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
		errors_add(errors, "name", "is required: 1-255 bytes of UTF-8 without '/' or control "
			   "characters, and not '.' or '..'");
	else
		p[2] = json_object_get_string(v);
	if (json_object_object_get_ex(body, "parent_id", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    !text_uuid_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			errors_add(errors, "parent_id", "must be a folder ID");
		else
			p[1] = json_object_get_string(v);
	}
	if (json_object_object_get_ex(body, "description", &v) && v != NULL) {
		if (!description_valid(v))
			errors_add(errors, "description", "must be a string of at most 4096 bytes");
		else
			p[3] = json_object_get_string(v);
	}
	tree_policy(body, &p[4], errors);
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The folder data is invalid.", errors);
		return;
	}
	json_object_put(errors);
	rc = authz_check(r, "upload", "folder", p[1], &az);
	if (rc == 404 || rc == 403) {
		resp_problem(r, rc, rc == 404 ? "not_found" : "forbidden", rc == 404 ?
			     "The parent folder does not exist." :
			     "You may not add folders to this folder.");
		return;
	}
	if (rc != 0) {
		resp_db_error(r, az.db_rc);
		return;
	}
	if (tree_write(r, az.owner, &st_folder_create, 5, p, &res) < 0)
		return;
	if (PQntuples(res) != 1) {
		db_rollback(r->db);
		resp_problem(r, 404, "not_found", "The parent folder does not exist.");
		return;
	}
	log_folder_event(r, az.owner, "create_folder", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
			 NULL);
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	resp_header(r, "Location", arena_printf(r->arena, "/api/folders/%s", PQgetvalue(res, 0, 1)));
	if (az.is_owner)
		answer_text(r, 201, PQgetvalue(res, 0, 0));
	else
		authz_answer_item(r, 201, "folder", PQgetvalue(res, 0, 1));
}

void h_folder_get(req_t *r)
{
	const char *id = r->params[0] ? r->params[0] : r->user.root_folder_id;
	const char *p[2] = { id, r->user.id }, *perms, *root;
	listing_t q;
	PGresult *res;
	buf_t out = BUF_INIT;
	const char *obj;
	int rc, len;

	if (folders_listing_parse(r, &q, false, id) < 0)
		return;
	if ((rc = db_query(r->db, r->arena, &st_folder_view, 2, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		folder_not_found(r);
		return;
	}
	perms = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	root = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	/* the folder object, opened up to take the breadcrumb and the listing */
	obj = PQgetvalue(res, 0, 0);
	len = PQgetlength(res, 0, 0);
	while (len > 0 && obj[len - 1] != '}')
		len--;
	if (len < 2) {
		resp_problem(r, 500, "internal_error", "An unexpected error occurred.");
		return;
	}
	buf_add(&out, obj, (size_t)len - 1);
	buf_adds(&out, ", \"breadcrumb\": ");
	buf_add(&out, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	buf_adds(&out, ", ");
	if (folders_listing(r, &q, id, perms, root, &out) == 0) {
		buf_addc(&out, '}');
		resp_json_text(r, 200, out.p, out.len);
	}
	buf_free(&out);
}

void h_folder_update(req_t *r)
{
	json_object *body = req_json_body(r), *errors, *v;
	/* /api/folders/root has no id parameter */
	const char *id = r->params[0] ? r->params[0] : r->user.root_folder_id;
	const char *p[4] = { id, r->user.id, NULL, NULL };
	PGresult *res;
	authz_t az;
	int rc, fields = 0;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	errors_unknown(errors, body, (const char *const[]){ "name", "description", NULL },
		       "is not a field that can be changed (move folders with POST /api/files/move)");
	if (json_object_object_get_ex(body, "name", &v)) {
		fields++;
		if (!json_object_is_type(v, json_type_string) ||
		    !text_name_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
			errors_add(errors, "name", "must be 1-255 bytes of UTF-8 without '/' or control "
				   "characters, and not '.' or '..'");
		else
			p[2] = json_object_get_string(v);
	}
	if (json_object_object_get_ex(body, "description", &v)) {
		fields++;
		if (!description_valid(v))
			errors_add(errors, "description", "must be a string of at most 4096 bytes");
		else
			p[3] = json_object_get_string(v);
	}
	if (fields == 0 && json_object_array_length(errors) == 0)
		errors_add(errors, "name", "at least one of name or description is required");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The folder data is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if (authz(r, "edit", "folder", id, &az) < 0 ||
	    tree_write(r, az.owner, &st_folder_update, 4, p, &res) < 0)
		return;
	if (PQgetisnull(res, 0, 2)) {
		db_rollback(r->db);
		folder_not_found(r);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		db_rollback(r->db);
		resp_problem(r, 403, "forbidden", "The root folder cannot be changed.");
		return;
	}
	/* a new name is a rename (with the old one), anything else an update */
	if (strcmp(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 3)) != 0)
		log_folder_event(r, az.owner, "rename", id, PQgetvalue(res, 0, 1),
				 req_json_pair(r, "from", PQgetvalue(res, 0, 3)));
	else
		log_folder_event(r, az.owner, "update", id, PQgetvalue(res, 0, 1), NULL);
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (az.is_owner)
		answer_text(r, 200, PQgetvalue(res, 0, 0));
	else
		authz_answer_item(r, 200, "folder", id);
}

void h_folder_delete(req_t *r)
{
	tree_delete_one(r, r->params[0] ? r->params[0] : r->user.root_folder_id, "folder");
}
