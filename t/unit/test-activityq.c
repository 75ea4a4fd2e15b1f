/*
 * test-activityq: the parameters of GET /api/activity. Defaults; every
 * filter and its canonical form (sorted, de-duplicated actions; lower-case
 * target ids; times in UTC with microseconds); bounds of the action list
 * and of limit; from after to; several errors together; unknown
 * parameters ignored; and cursors: accepted by the same filters (whatever
 * the limit or stats), refused with any other filter or forged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activityq.h"
#include "arena.h"
#include "cursor.h"
#include "tap.h"

#define USER "0daabd72-6436-4912-b886-73d1b2f47475"
#define ID   "258c9d0d-85c7-4a63-9158-c14520e34ff1"
#define T    "2026-11-23T22:44:00.123456Z"

static int parse(arena_t *a, const char *q, activityq_t *out)
{
	char *in = dup_exact(q, strlen(q));
	int rc = activityq_parse(a, in, strlen(q), USER, out);

	free(in);
	return rc;
}

static bool has_error(const activityq_t *q, const char *field)
{
	for (int i = 0; i < q->nerrors; i++)
		if (strcmp(q->errors[i].field, field) == 0)
			return true;
	return false;
}

static void values(arena_t *a)
{
	activityq_t q;
	char t[ACTIVITYQ_TIME_LEN + 1];

	is_int(parse(a, "", &q), 0, "empty query");
	ok(!q.actions && !q.target_id && !q.target_kind && !q.from && !q.to && !q.stats &&
	   !q.after && q.limit == ACTIVITYQ_DEFAULT, "defaults: no filters, 50, no stats");
	is_int(parse(a, "action=upload,download,upload&target_id=258C9D0D-85C7-4A63-9158-C14520E34FF1"
		     "&target_kind=file&from=2026-01-01T00:00:00Z&to=2026-01-02T01:00:00%2B01:00"
		     "&limit=7&stats=true&whatever=1", &q), 0, "every parameter, and an unknown one");
	is_str(q.actions, "{download,upload}", "actions sorted, without duplicates");
	is_int(q.nactions, 2, "... two");
	is_str(q.target_id, ID, "target_id in lower case");
	is_str(q.target_kind, "file", "target_kind");
	is_str(q.from, "2026-01-01T00:00:00.000000Z", "from in canonical form");
	is_str(q.to, "2026-01-02T00:00:00.000000Z", "to converted to UTC");
	ok(q.limit == 7 && q.stats, "limit and stats");
	is_int(parse(a, "stats=false&limit=1000&action=login_failed", &q), 0, "stats=false, limit 1000");
	ok(!q.stats && q.limit == 1000 && strcmp(q.actions, "{login_failed}") == 0, "... parsed");
	is_int(parse(a, "from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", &q), 0,
	       "from equal to to (an empty range)");
	is_int(activityq_time("2026-11-23T22:44:00.1234567891Z", 31, t), 0, "long fraction");
	is_str(t, "2026-11-23T22:44:00.123456Z", "... truncated to microseconds");
	is_int(activityq_time("2026-11-23t22:44:00.5z", 22, t), 0, "lower-case t and z");
	is_str(t, "2026-11-23T22:44:00.500000Z", "... canonical");
	is_int(activityq_time("0001-01-01T00:30:00+01:00", 25, t), -1, "year 0 after the offset");
	is_int(activityq_time("9999-12-31T23:30:00-01:00", 25, t), -1, "year 10000 after the offset");
	is_int(activityq_time("2026-02-29T00:00:00Z", 20, t), -1, "no such day");
}

static void actions(arena_t *a)
{
	const char *out[ACTIVITYQ_MAX_ACTIONS];
	char list[1024] = "";

	is_int(activityq_actions(a, "b,a,b,a", 7, out, ACTIVITYQ_MAX_ACTIONS), 2, "duplicates dropped");
	ok(strcmp(out[0], "a") == 0 && strcmp(out[1], "b") == 0, "... sorted");
	for (int i = 0; i < ACTIVITYQ_MAX_ACTIONS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sa%c", i ? "," : "",
			 'a' + i);
	is_int(activityq_actions(a, list, strlen(list), out, ACTIVITYQ_MAX_ACTIONS), 20, "20 actions");
	strcat(list, ",zz");
	is_int(activityq_actions(a, list, strlen(list), out, ACTIVITYQ_MAX_ACTIONS), -1, "21 refused");
	is_int(activityq_actions(a, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 40, out, 20), 1,
	       "a 40-byte name");
	is_int(activityq_actions(a, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 41, out, 20), -1,
	       "a 41-byte name");
}

static void errors(arena_t *a)
{
	activityq_t q;
	static const char *const bad[][2] = {
		{ "action=", "action" }, { "action=Upload", "action" }, { "action=a,", "action" },
		{ "action=,a", "action" }, { "action=a,,b", "action" }, { "action=a%20b", "action" },
		{ "action=a%00", "action" }, { "action=up-load", "action" },
		{ "target_id=x", "target_id" }, { "target_id=", "target_id" },
		{ "target_id=258c9d0d85c74a639158c14520e34ff1", "target_id" },
		{ "target_kind=File", "target_kind" }, { "target_kind=blob", "target_kind" },
		{ "target_kind=", "target_kind" },
		{ "from=2026-01-01", "from" }, { "from=yesterday", "from" }, { "from=", "from" },
		{ "to=2026-01-01T00:00:00", "to" }, { "to=2026-13-01T00:00:00Z", "to" },
		{ "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from" },
		{ "from=2026-01-01T00:00:00.000002Z&to=2026-01-01T00:00:00.000001Z", "from" },
		{ "limit=0", "limit" }, { "limit=1001", "limit" }, { "limit=", "limit" },
		{ "limit=-1", "limit" }, { "limit=1e3", "limit" },
		{ "stats=1", "stats" }, { "stats=TRUE", "stats" }, { "stats=", "stats" },
		{ "cursor=abc", "cursor" }, { "cursor=", "cursor" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(parse(a, bad[i][0], &q), -1, "%s refused", bad[i][0]);
		ok(has_error(&q, bad[i][1]) && !q.malformed, "... as a %s error", bad[i][1]);
	}
	is_int(parse(a, "action=X&target_id=y&target_kind=z&from=a&to=b&limit=0&stats=no", &q), -1,
	       "seven bad parameters");
	is_int(q.nerrors, 7, "... seven errors");
	is_int(parse(a, "limit=%zz", &q), -1, "a malformed escape");
	ok(q.malformed, "... is a malformed query");
}

static void cursors(arena_t *a)
{
	activityq_t q, q2;
	const char *base = "action=upload,download&target_kind=file&from=2026-01-01T00:00:00Z";
	char buf[2048];
	char *c;
	static const char *const other[] = {
		"action=upload&target_kind=file&from=2026-01-01T00:00:00Z",
		"action=upload,download&target_kind=folder&from=2026-01-01T00:00:00Z",
		"action=upload,download&from=2026-01-01T00:00:00Z",
		"action=upload,download&target_kind=file&from=2026-01-01T00:00:01Z",
		("action=upload,download&target_kind=file&from=2026-01-01T00:00:00Z"
		 "&to=2027-01-01T00:00:00Z"),
		("action=upload,download&target_kind=file&from=2026-01-01T00:00:00Z"
		 "&target_id=" ID),
		"",
	};

	is_int(parse(a, base, &q), 0, "a filtered query");
	c = activityq_cursor(a, &q, USER, T, ID);
	snprintf(buf, sizeof(buf), "%s&cursor=%s", base, c);
	is_int(parse(a, buf, &q2), 0, "its cursor is accepted by it");
	ok(q2.after && strcmp(q2.after_time, T) == 0 && strcmp(q2.after_id, ID) == 0, "... decoded");
	snprintf(buf, sizeof(buf), "action=download,upload,upload&target_kind=file&"
		 "from=2026-01-01T01:00:00%%2B01:00&limit=3&stats=true&cursor=%s", c);
	is_int(parse(a, buf, &q2), 0, "... and by the same filters written otherwise, "
	       "with another limit and stats");
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		snprintf(buf, sizeof(buf), "%s&cursor=%s", other[i], c);
		is_int(parse(a, buf, &q2), -1, "refused with other filters: %s", other[i][0] ? other[i] : "none");
		ok(has_error(&q2, "cursor") && q2.nerrors == 1, "... as a cursor error");
	}
	{
		activityq_t q3;

		snprintf(buf, sizeof(buf), "%s&cursor=%s", base, c);
		is_int(activityq_parse(a, buf, strlen(buf), ID, &q3), -1, "refused for another user");
	}
	{
		const char *forged[][3] = {
			{ "x", T, ID }, { NULL, "2026-11-23T22:44:00Z", ID },
			{ NULL, "2026-11-23T22:44:00.123456+00:00", ID }, { NULL, T, "nope" },
			{ NULL, "2026-02-30T00:00:00.000000Z", ID },
		};
		char sig[17];
		const char *p[3];
		const char *c0 = activityq_cursor(a, &q, USER, T, ID);
		const char *dec[3];

		cursor_decode(a, c0, strlen(c0), dec, 3);
		snprintf(sig, sizeof(sig), "%s", dec[0]);
		for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
			p[0] = forged[i][0] ? forged[i][0] : sig;
			p[1] = forged[i][1];
			p[2] = forged[i][2];
			snprintf(buf, sizeof(buf), "%s&cursor=%s", base, cursor_encode(a, p, 3));
			is_int(parse(a, buf, &q2), -1, "forged cursor %zu refused", i);
		}
	}
}

int main(void)
{
	arena_t *a = arena_new();

	values(a);
	actions(a);
	errors(a);
	cursors(a);
	arena_free(a);
	return done_testing();
}
