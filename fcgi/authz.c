/* authz: see authz.h. */
#include <string.h>

#include "activity.h"
#include "authz.h"
#include "log.h"

DB_STMT(st_authz,
	"SELECT $4 = ANY (p), 'view' = ANY (p), item_owner($2, $3) "
	"FROM item_permissions($1, NULL, $2, $3) p");

DB_STMT(st_item_view, "SELECT v.item FROM item_view($1, $2, $3) v");

DB_STMT(st_activity_owner,
	"INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, "
	"                          ip_address, user_agent, details) "
	"VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 ~ '^[0-9a-fA-F.:]+$' THEN $6::inet END, "
	"        left($7, 512), coalesce($8::jsonb, '{}') || jsonb_build_object('actor_id', $9::uuid))");

static const char *what(const char *kind)
{
	return strcmp(kind, "folder") == 0 ? "folder" : "file";
}

int authz_check(req_t *r, const char *action, const char *kind, const char *id, authz_t *out)
{
	const char *p[4] = { r->user.id, kind, id, action };
	PGresult *res;

	out->owner = NULL;
	out->is_owner = false;
	out->db_rc = db_query(r->db, r->arena, &st_authz, 4, p, &res);
	if (out->db_rc != DB_OK)
		return 503;
	if (PQgetvalue(res, 0, 1)[0] != 't')
		return 404;
	if (PQgetvalue(res, 0, 0)[0] != 't')
		return 403;
	out->owner = arena_strdup(r->arena, PQgetvalue(res, 0, 2));
	out->is_owner = strcmp(out->owner, r->user.id) == 0;
	return 0;
}

int authz(req_t *r, const char *action, const char *kind, const char *id, authz_t *out)
{
	int rc = authz_check(r, action, kind, id, out);

	if (rc == 0)
		return 0;
	if (rc == 404)
		resp_problem(r, 404, "not_found", strcmp(kind, "folder") == 0 ? "No such folder." :
			     "No such file.");
	else if (rc == 403)
		resp_problem(r, 403, "forbidden", arena_printf(r->arena,
			     "You may not %s this %s.", strcmp(action, "upload") == 0 ?
			     "add items to" : action, what(kind)));
	else
		resp_db_error(r, out->db_rc);
	return -1;
}

void authz_answer_item(req_t *r, int status, const char *kind, const char *id)
{
	const char *p[3] = { r->user.id, kind, id };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_item_view, 3, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		resp_problem(r, 404, "not_found", strcmp(kind, "folder") == 0 ? "No such folder." :
			     "No such file.");
		return;
	}
	resp_json_text(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

void authz_log(req_t *r, const char *owner, const activity_t *ev)
{
	activity_log(r->db, r->arena, ev);
	if (owner && strcmp(owner, ev->user_id) != 0) {
		const char *p[9] = { owner, ev->action, ev->target_id, ev->target_kind,
				     ev->target_name, ev->ip ? ev->ip : "", ev->user_agent,
				     ev->details, ev->user_id };

		db_query(r->db, r->arena, &st_activity_owner, 9, p, NULL);
	}
}
