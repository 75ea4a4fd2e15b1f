/* activity: the audit trail; see activity.h. */
#include "activity.h"

/* A client address that is not an IP (a unix socket peer) is stored as NULL. */
DB_STMT(st_activity_log,
	"INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, "
	"                          ip_address, user_agent, details) "
	"VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 ~ '^[0-9a-fA-F.:]+$' THEN $6::inet END, "
	"        left($7, 512), $8::jsonb)");

int activity_log(db_t *db, arena_t *a, const activity_t *ev)
{
	const char *v[8] = { ev->user_id, ev->action, ev->target_id, ev->target_kind,
			     ev->target_name, ev->ip ? ev->ip : "", ev->user_agent, ev->details };

	return db_query(db, a, &st_activity_log, 8, v, NULL);
}
