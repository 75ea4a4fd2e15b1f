/* activityq: activity-log query parameters; see activityq.h. */
#include "activityq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "http.h"
#include "text.h"

static const char *const kinds[] = { "file", "folder", "share", "user", "token", "session" };

static void add_error(activityq_t *q, const char *field, const char *message)
{
	if (q->nerrors < ACTIVITYQ_MAX_ERRORS) {
		q->errors[q->nerrors].field = field;
		q->errors[q->nerrors].message = message;
		q->nerrors++;
	}
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int activityq_actions(arena_t *a, const char *p, size_t n, const char **out, int max)
{
	size_t i = 0;
	int k = 0, kept = 0;

	for (;;) {
		size_t start = i;

		while (i < n && p[i] != ',')
			i++;
		if (i == start || i - start > ACTIVITYQ_ACTION_MAX || k == max)
			return -1;
		for (size_t j = start; j < i; j++)
			if (!((p[j] >= 'a' && p[j] <= 'z') || p[j] == '_'))
				return -1;
		out[k++] = arena_strndup(a, p + start, i - start);
		if (i == n)
			break;
		i++;   /* the comma; one at the very end leaves an empty item */
	}
	qsort(out, (size_t)k, sizeof(out[0]), cmp_str);
	for (int j = 0; j < k; j++)
		if (kept == 0 || strcmp(out[kept - 1], out[j]) != 0)
			out[kept++] = out[j];
	return kept;
}

int activityq_time(const char *p, size_t n, char *out)
{
	char frac[7] = "000000", buf[80];
	struct tm tm;
	time_t t;
	size_t i = 20;

	if (text_rfc3339_parse(p, n, &t) < 0)
		return -1;
	/* text_rfc3339_parse checked the shape: a fraction follows a '.' at 19 */
	if (p[19] == '.')
		for (int k = 0; k < 6 && i < n && p[i] >= '0' && p[i] <= '9'; k++, i++)
			frac[k] = p[i];
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return -1;
	if (snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%sZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac) !=
	    ACTIVITYQ_TIME_LEN)
		return -1;
	memcpy(out, buf, ACTIVITYQ_TIME_LEN + 1);
	return 0;
}

/* FNV-1a over the filters a cursor pages through, as 16 hex digits. */
static void signature(const activityq_t *q, const char *user, char out[17])
{
	const char *bind[6] = { user, q->actions ? q->actions : "", q->target_id ? q->target_id : "",
				q->target_kind ? q->target_kind : "", q->from ? q->from : "",
				q->to ? q->to : "" };
	unsigned long long h = 1469598103934665603ULL;

	for (int i = 0; i < 6; i++) {
		for (const unsigned char *c = (const unsigned char *)bind[i]; *c; c++)
			h = (h ^ *c) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	snprintf(out, 17, "%016llx", h);
}

static void parse_cursor(arena_t *a, const char *c, size_t cn, const char *user, activityq_t *q)
{
	const char *p[3];
	char sig[17], t[ACTIVITYQ_TIME_LEN + 1];

	signature(q, user, sig);
	if (cursor_decode(a, c, cn, p, 3) < 0 || strcmp(p[0], sig) != 0 ||
	    activityq_time(p[1], strlen(p[1]), t) < 0 || strcmp(t, p[1]) != 0 ||
	    !text_uuid_valid(p[2], strlen(p[2]))) {
		add_error(q, "cursor", "is invalid, or belongs to a query with other filters");
		return;
	}
	q->after = true;
	q->after_time = p[1];
	q->after_id = p[2];
}

/* Look up key: 1 found (*v, *vn), 0 absent, -1 malformed query. */
static int get(arena_t *a, const char *s, size_t n, const char *key, char **v, size_t *vn,
	       activityq_t *q)
{
	int rc = http_query_get(a, s, n, key, v, vn);

	if (rc < 0)
		q->malformed = true;
	return rc;
}

static const char *parse_time(arena_t *a, const char *v, size_t vn)
{
	char t[ACTIVITYQ_TIME_LEN + 1];

	return activityq_time(v, vn, t) == 0 ? arena_strdup(a, t) : NULL;
}

int activityq_parse(arena_t *a, const char *s, size_t n, const char *user, activityq_t *q)
{
	char *v;
	size_t vn;
	long long lim;

	memset(q, 0, sizeof(*q));
	q->limit = ACTIVITYQ_DEFAULT;
	if (get(a, s, n, "action", &v, &vn, q) == 1) {
		int k = activityq_actions(a, v, vn, q->action, ACTIVITYQ_MAX_ACTIONS);

		if (k < 0) {
			add_error(q, "action", "must be a comma-separated list of 1 to 20 actions, "
				  "each 1-40 of a-z and _");
		} else {
			size_t len = 2;
			char *lit, *o;

			q->nactions = k;
			for (int i = 0; i < k; i++)
				len += strlen(q->action[i]) + 1;
			o = lit = arena_alloc(a, len + 1);
			*o++ = '{';
			for (int i = 0; i < k; i++) {
				size_t l = strlen(q->action[i]);

				if (i)
					*o++ = ',';
				memcpy(o, q->action[i], l);
				o += l;
			}
			*o++ = '}';
			*o = '\0';
			q->actions = lit;
		}
	}
	if (get(a, s, n, "target_id", &v, &vn, q) == 1) {
		if (text_uuid_valid(v, vn)) {
			for (size_t i = 0; i < vn; i++)
				if (v[i] >= 'A' && v[i] <= 'F')
					v[i] = (char)(v[i] - 'A' + 'a');
			q->target_id = v;
		} else {
			add_error(q, "target_id", "must be a UUID");
		}
	}
	if (get(a, s, n, "target_kind", &v, &vn, q) == 1) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (text_is(v, vn, kinds[i]))
				q->target_kind = kinds[i];
		if (q->target_kind == NULL)
			add_error(q, "target_kind", "must be file, folder, share, user, token or session");
	}
	if (get(a, s, n, "from", &v, &vn, q) == 1 && (q->from = parse_time(a, v, vn)) == NULL)
		add_error(q, "from", "must be an RFC 3339 date-time, e.g. 2026-11-23T22:44:00Z");
	if (get(a, s, n, "to", &v, &vn, q) == 1 && (q->to = parse_time(a, v, vn)) == NULL)
		add_error(q, "to", "must be an RFC 3339 date-time, e.g. 2026-11-23T22:44:00Z");
	/* canonical times of the same shape compare as text */
	if (q->from && q->to && strcmp(q->from, q->to) > 0)
		add_error(q, "from", "must not be after to");
	if (get(a, s, n, "limit", &v, &vn, q) == 1) {
		if (text_parse_uint(v, vn, ACTIVITYQ_MAX, &lim) < 0 || lim < 1)
			add_error(q, "limit", "must be an integer from 1 to 1000");
		else
			q->limit = (int)lim;
	}
	if (get(a, s, n, "stats", &v, &vn, q) == 1) {
		if (text_is(v, vn, "true"))
			q->stats = true;
		else if (!text_is(v, vn, "false"))
			add_error(q, "stats", "must be true or false");
	}
	if (q->malformed || q->nerrors > 0)
		return -1;
	if (get(a, s, n, "cursor", &v, &vn, q) == 1)
		parse_cursor(a, v, vn, user, q);
	return q->malformed || q->nerrors > 0 ? -1 : 0;
}

char *activityq_cursor(arena_t *a, const activityq_t *q, const char *user, const char *time,
		       const char *id)
{
	char sig[17];
	const char *parts[3] = { sig, time, id };

	signature(q, user, sig);
	return cursor_encode(a, parts, 3);
}
