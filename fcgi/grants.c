/*
 * grants: sharing a file or folder with another registered user, as viewer
 * (see, download) or editor (also change, add, and delete below the shared
 * folder). The owner grants, lists, changes and revokes; the grantee finds
 * what was shared with them and may leave it. What a grant allows is decided
 * where everything else is: item_permissions() (migrations 005 and 006), so
 * a change here takes effect with the next request.
 */
#include <stdio.h>
#include <string.h>

#include "activity.h"
#include "authz.h"
#include "handlers.h"
#include "log.h"
#include "text.h"

DB_STMT(st_grantee_find,
	"SELECT id FROM users "
	"WHERE (lower(username) = lower($1) OR lower(email) = lower($1)) AND is_active LIMIT 1");

DB_STMT(st_grant_create,
	"INSERT INTO grants (owner_id, grantee_id, file_id, folder_id, role) "
	"VALUES ($1, $2, CASE WHEN $3 = 'file' THEN $4::uuid END, "
	"        CASE WHEN $3 = 'folder' THEN $4::uuid END, $5) "
	"RETURNING grant_json(grants), id");

DB_STMT(st_grant_update,
	"UPDATE grants g SET role = $3, updated_at = now() WHERE g.id = $1 AND g.owner_id = $2 "
	"RETURNING grant_json(g), g.owner_id, g.grantee_id, "
	"          CASE WHEN g.file_id IS NOT NULL THEN 'file' ELSE 'folder' END, "
	"          coalesce(g.file_id, g.folder_id), g.role");

DB_STMT(st_grant_delete,
	"DELETE FROM grants g WHERE g.id = $1 AND (g.owner_id = $2 OR g.grantee_id = $2) "
	"RETURNING g.owner_id, g.grantee_id, "
	"          CASE WHEN g.file_id IS NOT NULL THEN 'file' ELSE 'folder' END, "
	"          coalesce(g.file_id, g.folder_id), g.role");

DB_STMT(st_grant_party,
	"SELECT 1 FROM grants WHERE id = $1 AND grantee_id = $2");

/* The item's name for the activity log (the owner's; NULL when gone). */
DB_STMT(st_item_name,
	"SELECT coalesce((SELECT name FROM files WHERE id = $1), "
	"                (SELECT name FROM folders WHERE id = $1))");

#define GRANT_COLS "grant_json(g), g.created_at::text, g.id FROM grants g "
#define GRANT_ORDER " ORDER BY g.created_at DESC, g.id DESC LIMIT $2"
#define GRANT_AFTER " AND (g.created_at, g.id) < ($3::timestamptz, $4::uuid)"

DB_STMT(st_item_grants_first,
	"SELECT " GRANT_COLS "WHERE (g.file_id = $1 OR g.folder_id = $1)" GRANT_ORDER);
DB_STMT(st_item_grants_after,
	"SELECT " GRANT_COLS "WHERE (g.file_id = $1 OR g.folder_id = $1)" GRANT_AFTER GRANT_ORDER);
DB_STMT(st_grants_first,
	"SELECT " GRANT_COLS "WHERE g.owner_id = $1" GRANT_ORDER);
DB_STMT(st_grants_after,
	"SELECT " GRANT_COLS "WHERE g.owner_id = $1" GRANT_AFTER GRANT_ORDER);

/* What was shared with the caller, each with the item as they see it; items
 * in the owner's trash are left out. */
#define SWM_COLS \
	"(grant_json(g)::jsonb || jsonb_build_object('item', " \
	"  (SELECT v.item FROM item_view($1, CASE WHEN g.file_id IS NOT NULL THEN 'file' " \
	"                                    ELSE 'folder' END, coalesce(g.file_id, g.folder_id)) v)))" \
	"::json, g.created_at::text, g.id FROM grants g "
DB_STMT(st_swm_first,
	"SELECT " SWM_COLS "WHERE g.grantee_id = $1 AND grant_live(g)" GRANT_ORDER);
DB_STMT(st_swm_after,
	"SELECT " SWM_COLS "WHERE g.grantee_id = $1 AND grant_live(g)" GRANT_AFTER GRANT_ORDER);

static bool role_valid(json_object *v)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

	return strcmp(s, "viewer") == 0 || strcmp(s, "editor") == 0;
}

/* An event about a grant, in the owner's log (owner_action) and in the
 * grantee's (grantee_action): the target is the item. */
static void log_grant(req_t *r, const char *owner_action, const char *grantee_action,
		      const char *kind, const char *item, const char *grant_id, const char *role,
		      const char *owner, const char *grantee)
{
	const char *p[1] = { item };
	PGresult *res;
	const char *name = NULL;
	activity_t ev = { owner, owner_action, item, kind, NULL, r->remote_addr, r->user_agent,
			  arena_printf(r->arena, "{\"grant_id\": \"%s\", \"role\": \"%s\", "
				       "\"owner_id\": \"%s\", \"grantee_id\": \"%s\"}", grant_id,
				       role, owner, grantee) };

	if (db_query(r->db, r->arena, &st_item_name, 1, p, &res) == DB_OK && !PQgetisnull(res, 0, 0))
		name = PQgetvalue(res, 0, 0);
	ev.target_name = name;
	activity_log(r->db, r->arena, &ev);
	ev.user_id = grantee;
	ev.action = grantee_action;
	activity_log(r->db, r->arena, &ev);
}

static void grant_create(req_t *r, const char *kind)
{
	json_object *body = req_json_body(r), *errors, *v;
	const char *p[5], *user = NULL, *role = NULL;
	PGresult *res;
	authz_t az;
	int rc;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	errors_unknown(errors, body, (const char *const[]){ "user", "role", NULL },
		       "is not a field of a grant");
	if (!json_object_object_get_ex(body, "user", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) < 1 || json_object_get_string_len(v) > 254 ||
	    !text_utf8_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v)) ||
	    memchr(json_object_get_string(v), 0, (size_t)json_object_get_string_len(v)))
		errors_add(errors, "user", "is required: the username or email of a registered user");
	else
		user = json_object_get_string(v);
	if (!json_object_object_get_ex(body, "role", &v) || !role_valid(v))
		errors_add(errors, "role", "is required: viewer or editor");
	else
		role = json_object_get_string(v);
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The grant is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if (authz(r, "share", kind, r->params[0], &az) < 0)
		return;
	p[0] = user;
	if ((rc = db_query(r->db, r->arena, &st_grantee_find, 1, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		resp_problem(r, 404, "user_not_found", "No registered user has this username or email.");
		return;
	}
	p[1] = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	if (strcmp(p[1], r->user.id) == 0) {
		errors = json_object_new_array();
		errors_add(errors, "user", "is you: you already have every right on your items");
		resp_invalid(r, "The grant is invalid.", errors);
		return;
	}
	p[0] = r->user.id;
	p[2] = kind;
	p[3] = r->params[0];
	p[4] = role;
	if ((rc = db_begin(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	rc = db_query(r->db, r->arena, &st_grant_create, 5, p, &res);
	if (rc == DB_EUNIQUE) {
		db_rollback(r->db);
		resp_problem(r, 409, "already_granted", "This user already has a grant on this item; "
			     "change its role with PUT /api/grants/<id>.");
		return;
	}
	if (rc != DB_OK) {
		db_rollback(r->db);
		resp_db_error(r, rc);
		return;
	}
	{
		const char *gid = PQgetvalue(res, 0, 1);

		log_grant(r, "grant", "grant_received", kind, r->params[0], gid, role, r->user.id, p[1]);
	}
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	resp_header(r, "Location", arena_printf(r->arena, "/api/grants/%s", PQgetvalue(res, 0, 1)));
	resp_json_text(r, 201, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

void h_file_grant(req_t *r)
{
	grant_create(r, "file");
}

void h_folder_grant(req_t *r)
{
	grant_create(r, "folder");
}

static void item_grants(req_t *r, const char *kind)
{
	authz_t az;

	if (authz(r, "share", kind, r->params[0], &az) < 0)
		return;
	req_list_by_time_of(r, r->params[0], &st_item_grants_first, &st_item_grants_after);
}

void h_file_grants(req_t *r)
{
	item_grants(r, "file");
}

void h_folder_grants(req_t *r)
{
	item_grants(r, "folder");
}

void h_grants_list(req_t *r)
{
	req_list_by_time(r, &st_grants_first, &st_grants_after);
}

void h_shared_with_me(req_t *r)
{
	req_list_by_time(r, &st_swm_first, &st_swm_after);
}

/* 404 for a grant the caller is no party to, 403 for its grantee. */
static void grant_refused(req_t *r)
{
	const char *p[2] = { r->params[0], r->user.id };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_grant_party, 2, p, &res);

	if (rc != DB_OK)
		resp_db_error(r, rc);
	else if (PQntuples(res) == 1)
		resp_problem(r, 403, "forbidden", "Only the owner may change a grant.");
	else
		resp_problem(r, 404, "not_found", "No such grant.");
}

void h_grant_update(req_t *r)
{
	json_object *body = req_json_body(r), *errors, *v;
	const char *p[3] = { r->params[0], r->user.id, NULL };
	PGresult *res;
	int rc;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	errors_unknown(errors, body, (const char *const[]){ "role", NULL },
		       "is not a field that can be changed (only role)");
	if (!json_object_object_get_ex(body, "role", &v) || !role_valid(v))
		errors_add(errors, "role", "is required: viewer or editor");
	else
		p[2] = json_object_get_string(v);
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The grant is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if ((rc = db_begin(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if ((rc = db_query(r->db, r->arena, &st_grant_update, 3, p, &res)) != DB_OK) {
		db_rollback(r->db);
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		db_rollback(r->db);
		grant_refused(r);
		return;
	}
	log_grant(r, "grant_update", "grant_update", PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
		  r->params[0], p[2], PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	resp_json_text(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

void h_grant_delete(req_t *r)
{
	const char *p[2] = { r->params[0], r->user.id };
	const char *owner, *grantee, *kind, *item, *role;
	PGresult *res;
	bool leave;
	int rc;

	if ((rc = db_begin(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if ((rc = db_query(r->db, r->arena, &st_grant_delete, 2, p, &res)) != DB_OK) {
		db_rollback(r->db);
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1) {
		db_rollback(r->db);
		resp_problem(r, 404, "not_found", "No such grant.");
		return;
	}
	owner = PQgetvalue(res, 0, 0);
	grantee = PQgetvalue(res, 0, 1);
	kind = PQgetvalue(res, 0, 2);
	item = PQgetvalue(res, 0, 3);
	role = PQgetvalue(res, 0, 4);
	leave = strcmp(grantee, r->user.id) == 0;
	log_grant(r, leave ? "grant_leave" : "grant_revoke", leave ? "grant_leave" : "grant_revoked",
		  kind, item, r->params[0], role, owner, grantee);
	if ((rc = db_commit(r->db)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	resp_empty(r, 204);
}
