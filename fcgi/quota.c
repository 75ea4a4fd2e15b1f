/*
 * quota: GET /api/quota, the caller's storage report: quota and use, what
 * the use is made of (by category and type, largest files and folders,
 * older versions), the trash, what deduplication and compression save, and
 * recommendations to free space. The database computes it (quota_report(),
 * migration 007) in one statement, from the same rows the usage triggers
 * count, so the figures add up to users.storage_used.
 */
#include "handlers.h"

DB_STMT(st_quota_report, "SELECT quota_report($1)");

void h_quota(req_t *r)
{
	const char *p[1] = { r->user.id };
	PGresult *res;
	int rc = db_query(r->db, r->arena, &st_quota_report, 1, p, &res);

	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
	r->cache_control = "private, no-cache";
	resp_json_text(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}
