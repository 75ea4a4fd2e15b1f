/*
 * fuzz-activityq: activity-log parameters (activityq_parse) from arbitrary
 * query strings. Invariants: a successful parse leaves only canonical
 * values (1-20 sorted, distinct [a-z_]{1,40} actions in a text[] literal,
 * a lower-case UUID, a known kind, 27-byte UTC times with from <= to, a
 * limit of 1-1000) and a cursor, when taken, has a canonical time and a
 * UUID; a failed parse says why; and the cursor made for a parsed query is
 * accepted by that same query.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activityq.h"
#include "arena.h"
#include "text.h"
#include "fuzz.h"

#define USER "0daabd72-6436-4912-b886-73d1b2f47475"
#define ID   "258c9d0d-85c7-4a63-9158-c14520e34ff1"
#define T    "2026-11-26T02:36:25.500000Z"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	char *s = dup_exact(data, size);
	activityq_t q;
	int rc = activityq_parse(a, s, size, USER, &q);

	if (rc == 0) {
		CHECK(q.nerrors == 0 && !q.malformed);
		CHECK(q.limit >= 1 && q.limit <= ACTIVITYQ_MAX);
		CHECK((q.actions == NULL) == (q.nactions == 0));
		CHECK(q.nactions >= 0 && q.nactions <= ACTIVITYQ_MAX_ACTIONS);
		for (int i = 0; i < q.nactions; i++) {
			size_t l = strlen(q.action[i]);

			CHECK(l >= 1 && l <= ACTIVITYQ_ACTION_MAX &&
			      strspn(q.action[i], "abcdefghijklmnopqrstuvwxyz_") == l);
			CHECK(i == 0 || strcmp(q.action[i - 1], q.action[i]) < 0);
		}
		if (q.actions)
			CHECK(q.actions[0] == '{' && strspn(q.actions + 1, "abcdefghijklmnopqrstuvwxyz_,") ==
			      strlen(q.actions) - 2 && q.actions[strlen(q.actions) - 1] == '}');
		if (q.target_id)
			CHECK(text_uuid_valid(q.target_id, strlen(q.target_id)) &&
			      strspn(q.target_id, "0123456789abcdef-") == 36);
		if (q.from)
			CHECK(strlen(q.from) == ACTIVITYQ_TIME_LEN);
		if (q.to)
			CHECK(strlen(q.to) == ACTIVITYQ_TIME_LEN);
		if (q.from && q.to)
			CHECK(strcmp(q.from, q.to) <= 0);
		if (q.after) {
			CHECK(strlen(q.after_time) == ACTIVITYQ_TIME_LEN);
			CHECK(text_uuid_valid(q.after_id, strlen(q.after_id)));
		} else {
			char *c = activityq_cursor(a, &q, USER, T, ID);
			size_t cn = strlen(c);
			char *s2 = malloc(size + cn + 8);
			activityq_t q2;

			memcpy(s2, "cursor=", 7);
			memcpy(s2 + 7, c, cn);
			s2[7 + cn] = '&';
			memcpy(s2 + 8 + cn, s, size);
			if (activityq_parse(a, s2, size + cn + 8, USER, &q2) == 0)
				CHECK(q2.after && strcmp(q2.after_time, T) == 0 &&
				      strcmp(q2.after_id, ID) == 0);
			free(s2);
		}
	} else {
		CHECK(rc == -1);
		CHECK(q.malformed || (q.nerrors >= 1 && q.nerrors <= ACTIVITYQ_MAX_ERRORS));
	}
	free(s);
	arena_free(a);
	return 0;
}
