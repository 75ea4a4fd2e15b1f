/*
 * notifications: what the service has to tell a user (today: quota alerts,
 * made by the database when usage crosses 80%, 90% or 100% of the quota;
 * migration 008). GET /api/notifications lists them, newest first, all or
 * only the unread ones; POST /api/notifications/read marks some or all read.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "text.h"

#define N_COLS "notification_json(n), n.created_at::text, n.id FROM notifications n "
#define N_ORDER " ORDER BY n.created_at DESC, n.id DESC LIMIT $2"
#define N_AFTER " AND (n.created_at, n.id) < ($3::timestamptz, $4::uuid)"

DB_STMT(st_n_first, "SELECT " N_COLS "WHERE n.user_id = $1" N_ORDER);
DB_STMT(st_n_after, "SELECT " N_COLS "WHERE n.user_id = $1" N_AFTER N_ORDER);
DB_STMT(st_n_unread_first, "SELECT " N_COLS "WHERE n.user_id = $1 AND n.read_at IS NULL" N_ORDER);
DB_STMT(st_n_unread_after,
	"SELECT " N_COLS "WHERE n.user_id = $1 AND n.read_at IS NULL" N_AFTER N_ORDER);

DB_STMT(st_n_read,
	"WITH m AS (UPDATE notifications SET read_at = now() "
	"           WHERE user_id = $1 AND read_at IS NULL "
	"             AND ($2::boolean OR id = ANY ($3::uuid[])) RETURNING id) "
	"SELECT (SELECT count(*) FROM m), "
	"       (SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL) "
	"       - (SELECT count(*) FROM m)");

void h_notifications_list(req_t *r)
{
	char *v;
	size_t n;
	int rc = req_query(r, "unread", &v, &n);

	if (rc < 0)
		return;
	if (rc == 1 && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
		json_object *errors = json_object_new_array();

		errors_add(errors, "unread", "must be true or false");
		resp_invalid(r, "The listing parameters are invalid.", errors);
		return;
	}
	if (rc == 1 && strcmp(v, "true") == 0)
		req_list_by_time(r, &st_n_unread_first, &st_n_unread_after);
	else
		req_list_by_time(r, &st_n_first, &st_n_after);
}

/* {"ids": [up to 1000 ids]} or {"all": true}. */
void h_notifications_read(req_t *r)
{
	json_object *body = req_json_body(r), *errors, *v, *o;
	const char *p[3] = { r->user.id, "false", "{}" };
	buf_t lit = BUF_INIT;
	PGresult *res;
	bool have_ids = false, have_all = false;
	int rc;

	if (body == NULL)
		return;
	errors = json_object_new_array();
	errors_unknown(errors, body, (const char *const[]){ "ids", "all", NULL },
		       "is not a field of this request (ids or all)");
	if (json_object_object_get_ex(body, "all", &v)) {
		if (!json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v))
			errors_add(errors, "all", "must be true");
		else
			have_all = true;
	}
	if (json_object_object_get_ex(body, "ids", &v)) {
		size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;

		if (!json_object_is_type(v, json_type_array) || n < 1 || n > 1000) {
			errors_add(errors, "ids", "must be an array of 1-1000 notification IDs");
		} else {
			buf_addc(&lit, '{');
			for (size_t i = 0; i < n; i++) {
				json_object *e = json_object_array_get_idx(v, i);

				if (!json_object_is_type(e, json_type_string) ||
				    !text_uuid_valid(json_object_get_string(e),
						     (size_t)json_object_get_string_len(e))) {
					errors_add(errors, "ids", "must be an array of 1-1000 notification IDs");
					break;
				}
				if (i)
					buf_addc(&lit, ',');
				buf_adds(&lit, json_object_get_string(e));
			}
			buf_addc(&lit, '}');
			have_ids = true;
		}
	}
	if (json_object_array_length(errors) == 0 && have_ids == have_all)
		errors_add(errors, "ids", "give either ids or \"all\": true");
	if (json_object_array_length(errors) > 0) {
		buf_free(&lit);
		resp_invalid(r, "The request is invalid.", errors);
		return;
	}
	json_object_put(errors);
	if (have_all)
		p[1] = "true";
	else
		p[2] = arena_strndup(r->arena, lit.p, lit.len);
	buf_free(&lit);
	if ((rc = db_query(r->db, r->arena, &st_n_read, 3, p, &res)) != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "marked", json_object_new_int64(atoll(PQgetvalue(res, 0, 0))));
	json_object_object_add(o, "unread", json_object_new_int64(atoll(PQgetvalue(res, 0, 1))));
	resp_json(r, 200, o);
}
