/*
 * activity_api: GET /api/activity, the caller's own activity log, newest
 * first, filtered by action, target and time (lib/activityq), paged by
 * (created_at, id) keyset cursors, with optional counts per action and per
 * UTC day over the whole filtered range.
 */
#include <stdio.h>
#include <string.h>

#include "activityq.h"
#include "handlers.h"

/* The filters of both statements: $1 user, $2 actions (text[]), $3 target
 * id, $4 target kind, $5 from (inclusive), $6 to (exclusive). The time
 * bounds are coalesced rather than OR'ed so that they stay index conditions
 * on activity_user_time, as does the cursor's row comparison. */
#define ACTIVITY_FILTER \
	"a.user_id = $1 AND ($2::text[] IS NULL OR a.action = ANY ($2::text[])) " \
	"AND ($3::uuid IS NULL OR a.target_id = $3::uuid) " \
	"AND ($4::text IS NULL OR a.target_kind = $4::text) " \
	"AND a.created_at >= coalesce($5::timestamptz, '-infinity') " \
	"AND a.created_at < coalesce($6::timestamptz, 'infinity') "

/* $7 limit, $8/$9 the cursor (time, id) or NULL */
DB_STMT(st_activity_page,
	"SELECT json_build_object('id', a.id, 'action', a.action, "
	"         'target', CASE WHEN a.target_id IS NOT NULL OR a.target_kind IS NOT NULL "
	"                             OR a.target_name IS NOT NULL "
	"                        THEN json_build_object('id', a.target_id, 'kind', a.target_kind, "
	"                                               'name', a.target_name) END, "
	"         'ip', host(a.ip_address), 'user_agent', a.user_agent, 'details', a.details, "
	"         'created_at', api_time(a.created_at))::text, "
	"       cursor_time(a.created_at), a.id "
	"FROM activity_log a WHERE " ACTIVITY_FILTER
	"AND (a.created_at, a.id) < (coalesce($8::timestamptz, 'infinity'), "
	"                            coalesce($9::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) "
	"ORDER BY a.created_at DESC, a.id DESC LIMIT $7::integer");

/* Action names sort bytewise (COLLATE "C") so that the order does not
 * depend on the database's locale. */
DB_STMT(st_activity_stats,
	"WITH f AS (SELECT a.action, a.created_at FROM activity_log a WHERE " ACTIVITY_FILTER ") "
	"SELECT json_build_object("
	"  'total', (SELECT count(*) FROM f), "
	"  'by_action', coalesce((SELECT json_agg(json_build_object('action', x.action, 'count', x.n) "
	"                                         ORDER BY x.n DESC, x.action COLLATE \"C\") "
	"                         FROM (SELECT action, count(*) AS n FROM f GROUP BY action) x), "
	"                        '[]'), "
	"  'by_day', coalesce((SELECT json_agg(json_build_object('day', y.day, 'count', y.n) "
	"                                      ORDER BY y.day) "
	"                      FROM (SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
	"                                   count(*) AS n FROM f GROUP BY 1) y), "
	"                     '[]'))::text");

/* The parameters; answers 400 and returns -1 on bad ones. */
static int activity_parse(req_t *r, activityq_t *q)
{
	json_object *errors;

	if (activityq_parse(r->arena, r->query, strlen(r->query), r->user.id, q) == 0)
		return 0;
	if (q->malformed) {
		resp_problem(r, 400, "invalid_request", "The query string is malformed.");
		return -1;
	}
	errors = json_object_new_array();
	for (int i = 0; i < q->nerrors; i++)
		errors_add(errors, q->errors[i].field, q->errors[i].message);
	resp_invalid(r, "The activity query parameters are invalid.", errors);
	return -1;
}

void h_activity(req_t *r)
{
	activityq_t q;
	const char *p[9];
	char lim[16];
	PGresult *res, *stats = NULL;
	buf_t out = BUF_INIT;
	int rc, n;

	if (activity_parse(r, &q) < 0)
		return;
	snprintf(lim, sizeof(lim), "%d", q.limit + 1);
	p[0] = r->user.id;
	p[1] = q.actions;
	p[2] = q.target_id;
	p[3] = q.target_kind;
	p[4] = q.from;
	p[5] = q.to;
	p[6] = lim;
	p[7] = q.after ? q.after_time : NULL;
	p[8] = q.after ? q.after_id : NULL;
	/* page and stats in one snapshot, so the figures agree with the entries */
	if ((rc = db_begin(r->db)) != DB_OK ||
	    (rc = db_exec(r->db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")) !=
	    DB_OK ||
	    (rc = db_query(r->db, r->arena, &st_activity_page, 9, p, &res)) != DB_OK ||
	    (q.stats && (rc = db_query(r->db, r->arena, &st_activity_stats, 6, p, &stats)) != DB_OK)) {
		db_rollback(r->db);
		resp_db_error(r, rc);
		return;
	}
	db_rollback(r->db);
	n = PQntuples(res);
	buf_adds(&out, "{\"items\": [");
	for (int i = 0; i < n && i < q.limit; i++) {
		if (i)
			buf_add(&out, ", ", 2);
		buf_adds(&out, PQgetvalue(res, i, 0));
	}
	buf_adds(&out, "], \"next_cursor\": ");
	if (n > q.limit)
		buf_addf(&out, "\"%s\"", activityq_cursor(r->arena, &q, r->user.id,
							   PQgetvalue(res, q.limit - 1, 1),
							   PQgetvalue(res, q.limit - 1, 2)));
	else
		buf_adds(&out, "null");
	if (stats) {
		buf_adds(&out, ", \"stats\": ");
		buf_adds(&out, PQgetvalue(stats, 0, 0));
	}
	buf_addc(&out, '}');
	resp_json_text(r, 200, out.p, out.len);
	buf_free(&out);
}
