/*
 * test-searchq: the search query language of GET /api/search. Words,
 * phrases (balanced, unbalanced, empty), negation, OR and its precedence
 * (a b OR c d = a (b|c) d), misplaced ORs, every field (name, tag, type,
 * ext, size, before, after, in) with good and bad values, unknown prefixes
 * as words; hostile input (SQL and LIKE metacharacters stay plain text,
 * 10 KB refused, invalid UTF-8, NUL and control bytes refused); the limits
 * (1000 bytes, 32 terms, 200-byte terms); several errors reported once
 * each; and the canonical rendering, which parses back to the same query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "searchq.h"
#include "tap.h"

#define UUID "258C9D0D-85c7-4a63-9158-c14520e34ff1"

static int parse_n(arena_t *a, const char *s, size_t n, searchq_t *q)
{
	char *in = dup_exact(s, n);
	int rc = searchq_parse(a, in, n, q);

	free(in);
	return rc;
}

static int parse(arena_t *a, const char *s, searchq_t *q)
{
	return parse_n(a, s, strlen(s), q);
}

static bool has_error(const searchq_t *q, const char *prefix)
{
	for (int i = 0; i < q->nerrors; i++)
		if (strcmp(q->errors[i].field, "q") == 0 &&
		    strncmp(q->errors[i].message, prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* parse(render(parse(s))) == parse(s) */
static bool round_trips(arena_t *a, const searchq_t *q)
{
	searchq_t q2;
	char *r = searchq_render(a, q);

	return parse(a, r, &q2) == 0 && searchq_equal(q, &q2);
}

/* Accepted queries and their canonical text. */
static void canonical(arena_t *a)
{
	static const char *const cases[][2] = {
		{ "report", "report" },
		{ "  report \t\n summary  ", "report summary" },
		{ "\"exact  phrase\"", "\"exact  phrase\"" },
		{ "-draft -\"old copy\" -type:image", "-draft -\"old copy\" -type:image" },
		{ "report OR summary", "report OR summary" },
		{ "a b OR c d", "a b OR c d" },
		{ "a OR b OR c", "a OR b OR c" },
		{ "or Or oR", "or Or oR" },
		{ "-OR \"OR\"", "-OR \"OR\"" },
		{ "(a OR b)", "(a OR b)" },
		{ "a - b", "a - b" },
		{ "--x ---", "--x ---" },
		{ "ab\"cd\"ef", "ab \"cd\" ef" },
		{ "\"abc def", "\"abc def\"" },
		{ "\"abc def  \t", "\"abc def\"" },
		{ "name:report", "name:report" },
		{ "NAME:\"q3 report\"", "name:\"q3 report\"" },
		{ "name:\"x\"", "name:x" },
		{ "name:\"q3 rep", "name:\"q3 rep\"" },
		{ "name:a:b", "name:a:b" },
		{ "tag:work Tag:\"to do\"", "tag:work tag:\"to do\"" },
		{ "type:IMAGE type:folder", "type:image type:folder" },
		{ "ext:PDF ext:.Tar ext:0123456789abcdef", "ext:pdf ext:tar ext:0123456789abcdef" },
		{ "size:>10MB size:<1kb size:>=1Gb size:<=5 size:=5B", "size:>10MB size:<1KB size:>=1GB size:<=5 size:=5" },
		{ "size:>1048576 size:>1536 size:>0 size:>0TB size:>2048KB", "size:>1MB size:>1536 size:>0 size:>0 size:>2MB" },
		{ "size:>000000000000000000000000001KB", "size:>1KB" },
		{ "size:<8388607TB", "size:<8388607TB" },
		{ "size:<9223372036854775807", "size:<9223372036854775807" },
		{ "before:2026-01-01 after:2025-06-30", "before:2026-01-01 after:2025-06-30" },
		{ "before:2026-01-01T00:00:00Z", "before:2026-01-01" },
		{ "after:2026-01-01T10:30:00.75+02:00", "after:2026-01-01T08:30:00Z" },
		{ "in:" UUID, "in:258c9d0d-85c7-4a63-9158-c14520e34ff1" },
		{ "foo:bar http://x.y/z :x x:", "foo:bar http://x.y/z :x x:" },
		{ "-name:x OR tag:y z", "-name:x OR tag:y z" },
		{ "size:>10 MB", "size:>10 MB" },
		{ "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		searchq_t q;
		int rc = parse(a, cases[i][0], &q);

		if (!is_int(rc, 0, "accepted: %s", tap_show(cases[i][0], strlen(cases[i][0]))))
			diag("error: %s", q.nerrors ? q.errors[0].message : "(none)");
		if (rc != 0)
			continue;
		is_str(searchq_render(a, &q), cases[i][1], "... renders canonically");
		ok(round_trips(a, &q), "... and the rendering parses to the same query");
	}
}

/* Refused queries and the error they give. */
static void refused(arena_t *a)
{
	static const char *const cases[][2] = {
		{ "", "q is empty" }, { "   \t\r\n", "q is empty" },
		{ "OR", "OR must" }, { "OR a", "OR must" }, { "a OR", "OR must" },
		{ "a OR OR b", "OR must" }, { "a OR  ", "OR must" },
		{ "\"\"", "a phrase" }, { "\"   \"", "a phrase" }, { "\"", "a phrase" },
		{ "a \"", "a phrase" }, { "-\"", "a phrase" }, { "name:\"\"", "a phrase" },
		{ "name:\" ", "a phrase" },
		{ "name:", "a field" }, { "name: x", "a field" }, { "-tag:", "a field" },
		{ "type:", "a field" }, { "size:", "a field" },
		{ "type:images", "type:" }, { "type:ima", "type:" },
		{ "ext:tar.gz", "ext:" }, { "ext:.", "ext:" }, { "ext:0123456789abcdefg", "ext:" },
		{ "ext:p\xc3\xa9", "ext:" }, { "ext:..pdf", "ext:" },
		{ "size:10MB", "size:" }, { "size:>", "size:" }, { "size:>MB", "size:" },
		{ "size:>10XB", "size:" }, { "size:>1.5GB", "size:" }, { "size:>-1", "size:" },
		{ "size:=>5", "size:" }, { "size:<>5", "size:" }, { "size:\"> 10MB\"", "size:" },
		{ "size:>10K", "size:" }, { "size:>8388608TB", "size:" },
		{ "size:>9223372036854775808", "size:" }, { "size:>10MBB", "size:" },
		{ "before:2026-02-30", "before:" }, { "before:2026-1-1", "before:" },
		{ "after:2026-01-01T25:00:00Z", "before:" }, { "after:2026-01-01T10:00:00", "before:" },
		{ "after:0000-01-01", "before:" }, { "after:0001-01-01T00:00:00+01:00", "before:" },
		{ "before:9999-12-31T23:00:00-05:00", "before:" }, { "after:yesterday", "before:" },
		{ "in:root", "in:" }, { "in:258c9d0d85c74a639158c14520e34ff1", "in:" },
		{ "in:" UUID "x", "in:" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		searchq_t q;

		is_int(parse(a, cases[i][0], &q), -1, "refused: %s",
		       tap_show(cases[i][0], strlen(cases[i][0])));
		if (!ok(has_error(&q, cases[i][1]) && q.group == NULL && q.ngroups == 0,
			"... with \"%s...\"", cases[i][1]))
			diag("error: %s", q.nerrors ? q.errors[0].message : "(none)");
	}
}

static const searchq_term_t *term(const searchq_t *q, int g, int k)
{
	return &q->group[g].alt[k];
}

/* What the caller gets: kinds, flags and values, group by group. */
static void structure(arena_t *a)
{
	searchq_t q;
	const searchq_term_t *t;

	is_int(parse(a, "a b OR c d", &q), 0, "a b OR c d");
	ok(q.ngroups == 3 && q.nterms == 4 && q.group[0].nalts == 1 && q.group[1].nalts == 2 &&
	   q.group[2].nalts == 1, "... is a AND (b OR c) AND d");
	ok(strcmp(term(&q, 0, 0)->text, "a") == 0 && strcmp(term(&q, 1, 0)->text, "b") == 0 &&
	   strcmp(term(&q, 1, 1)->text, "c") == 0 && strcmp(term(&q, 2, 0)->text, "d") == 0,
	   "... in order");

	is_int(parse(a, "-\"old copy\" OR -type:Video", &q), 0, "negated phrase OR negated field");
	t = term(&q, 0, 0);
	ok(q.ngroups == 1 && t->kind == SEARCHQ_PHRASE && t->negated && t->len == 8 &&
	   strcmp(t->text, "old copy") == 0, "... the phrase");
	t = term(&q, 0, 1);
	ok(t->kind == SEARCHQ_TYPE && t->negated && strcmp(t->text, "video") == 0,
	   "... the category");
	ok(t->text == searchq_types[1], "... as a static string");

	is_int(parse(a, "size:>=10MB size:<1KB size:=0 size:<=5 size:>1TB", &q), 0, "sizes");
	ok(term(&q, 0, 0)->op == SEARCHQ_GE && term(&q, 0, 0)->bytes == 10485760 &&
	   strcmp(term(&q, 0, 0)->text, "10485760") == 0, ">=10MB");
	ok(term(&q, 1, 0)->op == SEARCHQ_LT && term(&q, 1, 0)->bytes == 1024, "<1KB");
	ok(term(&q, 2, 0)->op == SEARCHQ_EQ && term(&q, 2, 0)->bytes == 0, "=0");
	ok(term(&q, 3, 0)->op == SEARCHQ_LE && term(&q, 3, 0)->bytes == 5, "<=5");
	ok(term(&q, 4, 0)->op == SEARCHQ_GT && term(&q, 4, 0)->bytes == 1099511627776LL, ">1TB");
	is_str(searchq_op_sql[term(&q, 0, 0)->op], ">=", "... the SQL operator");

	is_int(parse(a, "before:2026-01-01 after:2026-01-01T10:00:00+02:00", &q), 0, "times");
	ok(term(&q, 0, 0)->kind == SEARCHQ_BEFORE && term(&q, 0, 0)->time == 1767225600 &&
	   strcmp(term(&q, 0, 0)->text, "2026-01-01T00:00:00Z") == 0, "a date is midnight UTC");
	ok(term(&q, 1, 0)->kind == SEARCHQ_AFTER && term(&q, 1, 0)->time == 1767225600 + 8 * 3600 &&
	   strcmp(term(&q, 1, 0)->text, "2026-01-01T08:00:00Z") == 0, "a date-time in UTC");

	is_int(parse(a, "in:" UUID " ext:JPEG name:\"Q3 Report\" tag:x", &q), 0, "in, ext, name, tag");
	ok(term(&q, 0, 0)->kind == SEARCHQ_IN &&
	   strcmp(term(&q, 0, 0)->text, "258c9d0d-85c7-4a63-9158-c14520e34ff1") == 0, "in: lower-cased");
	ok(term(&q, 1, 0)->kind == SEARCHQ_EXT && strcmp(term(&q, 1, 0)->text, "jpeg") == 0,
	   "ext: lower-cased");
	ok(term(&q, 2, 0)->kind == SEARCHQ_NAME && strcmp(term(&q, 2, 0)->text, "Q3 Report") == 0,
	   "name: kept as typed");
	ok(term(&q, 3, 0)->kind == SEARCHQ_TAG && !term(&q, 3, 0)->negated, "tag:");

	is_int(parse(a, "a - --b", &q), 0, "dashes");
	ok(!term(&q, 1, 0)->negated && strcmp(term(&q, 1, 0)->text, "-") == 0, "a lone - is a word");
	ok(term(&q, 2, 0)->negated && strcmp(term(&q, 2, 0)->text, "-b") == 0,
	   "--b excludes the word -b");
	is_int(parse(a, "-OR", &q), 0, "-OR");
	ok(term(&q, 0, 0)->kind == SEARCHQ_WORD && term(&q, 0, 0)->negated, "... excludes the word OR");
	is_int(parse(a, "zip:x", &q), 0, "unknown field");
	ok(term(&q, 0, 0)->kind == SEARCHQ_WORD && strcmp(term(&q, 0, 0)->text, "zip:x") == 0,
	   "... is a word");
	is_int(parse(a, "\"a \"b", &q), 0, "a phrase then a word without a blank");
	ok(q.ngroups == 2 && term(&q, 0, 0)->kind == SEARCHQ_PHRASE &&
	   strcmp(term(&q, 0, 0)->text, "a ") == 0 && term(&q, 1, 0)->kind == SEARCHQ_WORD,
	   "... two terms, the phrase keeps its blank");
}

static void hostile(arena_t *a)
{
	searchq_t q;
	char big[10240], s[1100];
	static const char *const sql[] = { "';", "DROP", "TABLE", "files;", "100%_done\\",
					   "$1", "E'\\x00'" };

	is_int(parse(a, "'; DROP TABLE files; -- 100%_done\\ $1 E'\\x00'", &q), 0, "SQL in q");
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		int g = i < 4 ? (int)i : (int)i + 1;

		ok(term(&q, g, 0)->kind == SEARCHQ_WORD && strcmp(term(&q, g, 0)->text, sql[i]) == 0,
		   "... %s stays plain text", sql[i]);
	}
	ok(term(&q, 4, 0)->negated && strcmp(term(&q, 4, 0)->text, "-") == 0, "... -- is -\"-\"");
	is_int(parse(a, "name:\"x' OR 1=1 --\"", &q), 0, "SQL in a name");
	is_str(term(&q, 0, 0)->text, "x' OR 1=1 --", "... kept as typed");

	memset(big, 'a', sizeof(big));
	is_int(parse_n(a, big, sizeof(big), &q), -1, "10 KB refused");
	ok(has_error(&q, "q must be at most 1000 bytes") && q.nerrors == 1, "... as too long");
	memset(s, ' ', sizeof(s));
	s[500] = 'x';
	is_int(parse_n(a, s, SEARCHQ_MAX_LEN, &q), 0, "1000 bytes (mostly blanks) accepted");
	is_int(parse_n(a, s, SEARCHQ_MAX_LEN + 1, &q), -1, "1001 bytes refused");

	static const struct { const char *s; size_t n; const char *err; } bad[] = {
		{ "\xff", 1, "q must be valid UTF-8" },
		{ "ok \xc0\xaf", 5, "q must be valid UTF-8" },
		{ "\xe2\x82", 2, "q must be valid UTF-8" },
		{ "\xed\xa0\x80", 3, "q must be valid UTF-8" },
		{ "\"\xf4\x90\x80\x80\"", 6, "q must be valid UTF-8" },
		{ "a\0b", 3, "q must not contain control" },
		{ "name:\"a\0b\"", 10, "q must not contain control" },
		{ "\0", 1, "q must not contain control" },
		{ "a\x01", 2, "q must not contain control" },
		{ "a\x7f", 2, "q must not contain control" },
		{ "a\x1b[2J", 5, "q must not contain control" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(parse_n(a, bad[i].s, bad[i].n, &q), -1, "refused: %s", tap_show(bad[i].s, bad[i].n));
		ok(has_error(&q, bad[i].err) && q.nerrors == 1, "... %s", bad[i].err);
	}
}

static void limits(arena_t *a)
{
	searchq_t q;
	char s[1100];
	size_t n = 0;

	for (int i = 0; i < SEARCHQ_MAX_TERMS; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "t%d ", i);
	is_int(parse_n(a, s, n, &q), 0, "32 terms");
	is_int(q.nterms, 32, "... all there");
	memcpy(s + n, "x", 1);
	is_int(parse_n(a, s, n + 1, &q), -1, "33 terms refused");
	ok(has_error(&q, "q must have at most 32 terms"), "... as too many terms");

	n = 0;
	for (int i = 0; i < SEARCHQ_MAX_TERMS; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%st%d", i ? " OR " : "", i);
	is_int(parse_n(a, s, n, &q), 0, "32 alternatives");
	ok(q.ngroups == 1 && q.group[0].nalts == 32, "... in one group");
	memcpy(s + n, " OR x", 5);
	is_int(parse_n(a, s, n + 5, &q), -1, "33 alternatives refused");
	ok(has_error(&q, "q must have at most 32 terms"), "... as too many terms");

	static const char *const forms[] = { "", "-", "\"", "name:", "tag:", "-name:\"" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t p = strlen(forms[i]);

		memcpy(s, forms[i], p);
		memset(s + p, 'w', SEARCHQ_TERM_MAX);
		is_int(parse_n(a, s, p + SEARCHQ_TERM_MAX, &q), 0, "%s + 200 bytes accepted", forms[i]);
		ok(q.nterms == 1 && term(&q, 0, 0)->len == SEARCHQ_TERM_MAX, "... whole");
		s[p + SEARCHQ_TERM_MAX] = 'w';
		is_int(parse_n(a, s, p + SEARCHQ_TERM_MAX + 1, &q), -1, "%s + 201 bytes refused",
		       forms[i]);
		ok(has_error(&q, "each term of q must be at most 200 bytes"), "... as too long");
	}
	/* 200 bytes of a multibyte character: 66 x 3 bytes + 2 */
	n = 0;
	for (int i = 0; i < 66; i++, n += 3)
		memcpy(s + n, "\xe6\x97\xa5", 3);
	is_int(parse_n(a, s, n, &q), 0, "198 bytes of CJK accepted");
	memcpy(s + n, "\xe6\x97\xa5", 3);
	is_int(parse_n(a, s, n + 3, &q), -1, "201 bytes of CJK refused");
}

static void errors(arena_t *a)
{
	searchq_t q;

	is_int(parse(a, "type:x size:y", &q), -1, "two bad fields");
	is_int(q.nerrors, 2, "... two errors");
	ok(has_error(&q, "type:") && has_error(&q, "size:"), "... each said");
	is_int(parse(a, "type:x type:y type:z", &q), -1, "three bad types");
	is_int(q.nerrors, 1, "... one error, said once");
	is_int(parse(a, "type:x OR b", &q), -1, "a bad term beside an OR");
	ok(q.nerrors == 1 && has_error(&q, "type:"), "... blames the term, not the OR");
	is_int(parse(a, "OR a OR b", &q), -1, "leading OR");
	ok(q.nerrors == 1 && has_error(&q, "OR must"), "... reported once");
}

int main(void)
{
	arena_t *a = arena_new();

	canonical(a);
	refused(a);
	structure(a);
	hostile(a);
	limits(a);
	errors(a);
	arena_free(a);
	return done_testing();
}
