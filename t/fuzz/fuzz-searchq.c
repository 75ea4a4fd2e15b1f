/*
 * fuzz-searchq: the search query language (searchq_parse) on arbitrary
 * bytes. Invariants: the result is 0 or -1; a failure has 1..MAX errors,
 * all on field "q", and no groups; a success is 1..32 terms in groups that
 * tile the term array, each term of a known kind with a non-empty, valid
 * UTF-8 text without control characters of at most 200 bytes, in the shape
 * its kind promises (a category, [a-z0-9]{1,16}, the decimal bytes of the
 * size, a UTC time that parses to the term's time, a lower-case UUID; words
 * without blanks or quotes and never a bare OR); input over 1000 bytes
 * always fails; and the rendering grows the input by at most one byte per
 * term plus one, parses (when it fits) to an equal query and is its own
 * rendering.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "searchq.h"
#include "text.h"
#include "fuzz.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void check_term(const searchq_term_t *t)
{
	const char *s = t->text;
	time_t tt;

	CHECK(t->kind >= 0 && t->kind < SEARCHQ_NKINDS);
	CHECK(s != NULL && t->len == strlen(s) && t->len >= 1 && t->len <= SEARCHQ_TERM_MAX);
	CHECK(text_utf8_valid(s, t->len));
	for (size_t i = 0; i < t->len; i++)
		CHECK(((unsigned char)s[i] >= 0x20 || blank(s[i])) && s[i] != 0x7f);
	switch (t->kind) {
	case SEARCHQ_WORD:
		for (size_t i = 0; i < t->len; i++)
			CHECK(!blank(s[i]) && s[i] != '"');
		CHECK(t->negated || strcmp(s, "OR") != 0);
		CHECK(t->negated || s[0] != '-' || t->len == 1);
		break;
	case SEARCHQ_PHRASE:
	case SEARCHQ_NAME:
	case SEARCHQ_TAG: {
		bool any = false;

		CHECK(strchr(s, '"') == NULL);
		for (size_t i = 0; i < t->len; i++)
			any |= !blank(s[i]);
		CHECK(any);
		break;
	}
	case SEARCHQ_TYPE: {
		bool found = false;

		for (int i = 0; searchq_types[i]; i++)
			found |= s == searchq_types[i];
		CHECK(found);
		break;
	}
	case SEARCHQ_EXT:
		CHECK(t->len <= SEARCHQ_EXT_MAX &&
		      strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == t->len);
		break;
	case SEARCHQ_SIZE: {
		char d[32];

		CHECK(t->op >= 0 && t->op < SEARCHQ_NOPS && t->bytes >= 0);
		snprintf(d, sizeof(d), "%lld", t->bytes);
		CHECK(strcmp(d, s) == 0);
		break;
	}
	case SEARCHQ_BEFORE:
	case SEARCHQ_AFTER:
		CHECK(t->len == 20 && s[19] == 'Z' && text_rfc3339_parse(s, 20, &tt) == 0 &&
		      tt == t->time);
		break;
	case SEARCHQ_IN:
		CHECK(text_uuid_valid(s, t->len) && strspn(s, "0123456789abcdef-") == 36);
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	char *in = dup_exact(data, size);
	searchq_t q, q2;
	int rc = searchq_parse(a, in, size, &q);

	CHECK(rc == 0 || rc == -1);
	if (size > SEARCHQ_MAX_LEN)
		CHECK(rc == -1);
	if (rc < 0) {
		CHECK(q.nerrors >= 1 && q.nerrors <= SEARCHQ_MAX_ERRORS);
		for (int i = 0; i < q.nerrors; i++)
			CHECK(strcmp(q.errors[i].field, "q") == 0 && q.errors[i].message != NULL);
		CHECK(q.group == NULL && q.ngroups == 0 && q.nterms == 0);
	} else {
		int total = 0;
		char *r, *r2, *rin;
		size_t rn;

		CHECK(q.nerrors == 0);
		CHECK(q.nterms >= 1 && q.nterms <= SEARCHQ_MAX_TERMS);
		CHECK(q.ngroups >= 1 && q.ngroups <= q.nterms);
		for (int g = 0; g < q.ngroups; g++) {
			CHECK(q.group[g].nalts >= 1 && q.group[g].alt == q.group[0].alt + total);
			for (int k = 0; k < q.group[g].nalts; k++)
				check_term(&q.group[g].alt[k]);
			total += q.group[g].nalts;
		}
		CHECK(total == q.nterms);

		/* deterministic */
		free(in);
		in = dup_exact(data, size);
		CHECK(searchq_parse(a, in, size, &q2) == 0 && searchq_equal(&q, &q2));

		/* the round trip */
		r = searchq_render(a, &q);
		rn = strlen(r);
		CHECK(rn <= size + 1 + (size_t)q.nterms);
		if (rn <= SEARCHQ_MAX_LEN) {
			rin = dup_exact(r, rn);
			CHECK(searchq_parse(a, rin, rn, &q2) == 0);
			CHECK(searchq_equal(&q, &q2));
			r2 = searchq_render(a, &q2);
			CHECK(strcmp(r, r2) == 0);
			free(rin);
		}
	}
	free(in);
	arena_free(a);
	return 0;
}
