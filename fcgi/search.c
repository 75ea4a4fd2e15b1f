/*
 * search: GET /api/search. The q language is parsed by lib/searchq into
 * terms; each term becomes a predicate from a fixed set of SQL fragments
 * with its value as a parameter, so no text of the request is ever part of
 * the statement. PostgreSQL does the work (migrations 011, 014-016):
 * tsvector columns with GIN indexes for words and phrases over names, tags,
 * descriptions and the text content of files (phrases in content through
 * their pairs of adjacent words), pg_trgm for substrings and typos in
 * names.
 *
 * The caller's own live items and the items shared with them (grants) are
 * searched; files and folders in one ranked list. So that a query matching
 * a hundred thousand files costs about what a rare one does, the statement
 * never ranks every match: one group of the query (the "driving" group,
 * words or names likely to be the rarest) is looked up through the
 * indexes, per kind of match (names and the like; content; own folders;
 * shared items; exact names), and each lookup keeps only its most recent
 * matches. The SEARCH_WINDOW most recent matches are ranked (exact name,
 * name prefix, full-text rank, recency); exact name matches come first
 * wherever they are; the matches after the window follow by recency. For
 * the caller's own files the worker chooses between walking their newest
 * files (common words: PostgreSQL's statistics, asked with EXPLAIN, say
 * a walk would find enough soon) and the indexes of the words (rare
 * ones); a walk that falls short is completed by the indexes.
 *
 * Typos: a word of 4+ characters that matches nothing exactly (checked
 * first, one cheap query per word) also matches names with a word close to
 * it (pg_trgm word similarity >= 0.4: "reprot" finds report.pdf). The close
 * words are looked up first among the words of the caller's names
 * (search_words, migration 015) and then searched like any word, through
 * the full-text index. Words that do match are not widened: a typo search
 * never slows down a normal one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"
#include "jsonv.h"
#include "searchq.h"
#include "text.h"

#define SEARCH_LIMIT_MAX  100
#define SEARCH_OFFSET_MAX 10000
#define SEARCH_WINDOW     100     /* most recent matches ranked by relevance */
#define SEARCH_WALK       150     /* a walk reads up to this many files per match wanted */
#define SEARCH_WALK_SEL   0.01    /* ... when at least this share of them is estimated to match */
#define SEARCH_WALK_SEL_TEXT 0.02 /* the same for text files, when that reads fewer texts than
				     the index lookup would (each costs about the same to test) */
#define SEARCH_SPLIT      2       /* the content lookup is split when the other groups' names are
				     fewer than this many times the driving group's texts */
#define SEARCH_COMMON     1000    /* files a word is expected in to be surely found */
#define SEARCH_FUZZY_MAX  8       /* words checked for typo matching */
#define SEARCH_PARAMS_MAX (8 + 2 * SEARCHQ_MAX_TERMS + 8 + SEARCH_FUZZY_MAX)

/* The statement under construction: the predicates on files and folders,
 * the driving group's index lookups, and the parameters all use. */
typedef struct sb {
	buf_t files, folders;               /* the whole query, as a filter */
	buf_t files_rest, folders_rest;     /* the same without the driving group */
	buf_t files_unsplit;                /* files_rest without the groups that split the
					       content lookup (its texts hold those) */
	buf_t files_fields, folders_fields; /* ... without the groups with a positive word, phrase
					       or name: value (what an exact name satisfies) */
	buf_t drive_name, drive_content, drive_folders;
	/* the content lookup split by the other groups (see own_files()):
	 * which groups, their texts' conditions ANDed, each one's names */
	bool split[SEARCHQ_MAX_TERMS];
	buf_t split_content, split_name[SEARCHQ_MAX_TERMS];
	int nsplit;
	const char *p[SEARCH_PARAMS_MAX];
	int np;
	const char *date_col;   /* "created_at" or "updated_at" (fixed strings) */
	const searchq_term_t *fuzzy[SEARCH_FUZZY_MAX];
	const char *close[SEARCH_FUZZY_MAX];   /* tsquery of the words close to each, or NULL */
	int nfuzzy;
	struct { const searchq_term_t *t; bool content; double rows; } est[2 * SEARCHQ_MAX_TERMS];
	int nest;                           /* estimates of one term, asked once */
	arena_t *a;
} sb_t;

static int param(sb_t *b, const char *v)
{
	b->p[b->np++] = v;
	return b->np;
}

/* The words close to a typo word (a tsquery), or NULL: for a word that
 * matches exactly, and for a typo close to no word of the caller's. */
static const char *close_words(const sb_t *b, const searchq_term_t *t)
{
	for (int i = 0; i < b->nfuzzy; i++)
		if (b->fuzzy[i] == t)
			return b->close[i];
	return NULL;
}

/* Characters, not bytes (q is valid UTF-8). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Whether the text has something the full-text parser makes a word of: a
 * letter or digit (any non-ASCII character counts as a letter). Without
 * one, search_prefix_query() is NULL and the index cannot be asked. */
static bool has_word(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			return true;
	}
	return false;
}

/* The trigram index finds substrings of 3+ characters: a group with a
 * shorter word or name cannot drive the lookups (such words match many
 * names anyway, so the walk through the newest files finds them soon). */
#define SUBSTRING_MIN 3
#define FUZZY_MIN     4

/* That the text of file x holds cond (on blob_text bt): read only for a
 * file that has a text, and for that file (OFFSET 0: never as a hash of
 * every text cond holds). */
static void text_holds(buf_t *sql, const char *cond)
{
	buf_addf(sql, "(x.has_text AND EXISTS (SELECT 1 FROM blob_text bt WHERE bt.sha256 = x.sha256"
		 " AND (%s) OFFSET 0))", cond);
}

/* One term as a predicate on files (alias x) and on folders (alias f).
 * false for what folders never have. */
static int term_sql(sb_t *b, const searchq_term_t *t)
{
	int n = 0, c;

	switch (t->kind) {
	case SEARCHQ_WORD:
		/* the cheap tests first; a file's text last (text_holds()) */
		n = param(b, t->text);
		buf_addf(&b->files, "(coalesce(x.search @@ search_prefix_query($%1$d), false)"
			 " OR lower(x.name) LIKE search_like($%1$d)", n);
		buf_addf(&b->folders, "(coalesce(f.search @@ search_prefix_query($%1$d), false)"
			 " OR lower(f.name) LIKE search_like($%1$d)", n);
		if (close_words(b, t)) {
			c = param(b, close_words(b, t));   /* n + 1 */
			buf_addf(&b->files, " OR x.search @@ $%d::tsquery", c);
			buf_addf(&b->folders, " OR f.search @@ $%d::tsquery", c);
		}
		buf_adds(&b->files, " OR ");
		text_holds(&b->files, arena_printf(b->a, "bt.search @@ search_prefix_query($%d)", n));
		buf_adds(&b->files, ")");
		buf_adds(&b->folders, ")");
		break;
	case SEARCHQ_PHRASE:
		n = param(b, t->text);
		buf_addf(&b->files, "(coalesce(x.search @@ phraseto_tsquery('simple', $%1$d), false)"
			 " OR lower(x.name) LIKE search_like($%1$d) OR ", n);
		text_holds(&b->files, arena_printf(b->a, "bt.search @@ phraseto_tsquery('simple', $%d)", n));
		buf_adds(&b->files, ")");
		buf_addf(&b->folders, "(coalesce(f.search @@ phraseto_tsquery('simple', $%1$d), false)"
			 " OR lower(f.name) LIKE search_like($%1$d))", n);
		break;
	case SEARCHQ_NAME:
		n = param(b, t->text);
		buf_addf(&b->files, "lower(x.name) LIKE search_like($%d)", n);
		buf_addf(&b->folders, "lower(f.name) LIKE search_like($%d)", n);
		break;
	case SEARCHQ_TAG:
		n = param(b, t->text);
		buf_addf(&b->files, "lower($%d) = ANY (SELECT lower(g) FROM unnest(x.tags) g)", n);
		buf_adds(&b->folders, "false");
		break;
	case SEARCHQ_TYPE:
		if (strcmp(t->text, "folder") == 0) {
			buf_adds(&b->files, "false");
			buf_adds(&b->folders, "true");
		} else {
			n = param(b, t->text);
			buf_addf(&b->files, "mime_category(x.mime_type) = $%d", n);
			buf_adds(&b->folders, "false");
		}
		break;
	case SEARCHQ_EXT:
		n = param(b, t->text);
		buf_addf(&b->files, "right(lower(x.name), char_length($%1$d) + 1) = '.' || $%1$d", n);
		buf_adds(&b->folders, "false");
		break;
	case SEARCHQ_SIZE:
		n = param(b, t->text);
		buf_addf(&b->files, "x.size %s $%d::bigint", searchq_op_sql[t->op], n);
		buf_adds(&b->folders, "false");
		break;
	case SEARCHQ_BEFORE:
	case SEARCHQ_AFTER:
		n = param(b, t->text);
		buf_addf(&b->files, "x.%s %s $%d::timestamptz", b->date_col,
			 t->kind == SEARCHQ_BEFORE ? "<" : ">=", n);
		buf_addf(&b->folders, "f.%s %s $%d::timestamptz", b->date_col,
			 t->kind == SEARCHQ_BEFORE ? "<" : ">=", n);
		break;
	case SEARCHQ_IN:
	default:
		/* only a folder the caller may see narrows anything: of any
		 * other, nothing is found (and nothing learnt) */
		n = param(b, t->text);
		buf_addf(&b->files, "((SELECT 'view' = ANY (item_permissions($1, NULL, 'folder', $%1$d::uuid)))"
			 " AND x.folder_id IN (SELECT id FROM folder_subtree($%1$d::uuid)))", n);
		buf_addf(&b->folders, "((SELECT 'view' = ANY (item_permissions($1, NULL, 'folder', $%1$d::uuid)))"
			 " AND f.parent_id IN (SELECT id FROM folder_subtree($%1$d::uuid)))", n);
		break;
	}
	return n;
}

/* A phrase $n in the texts (blob_text bt), as the indexes look it up: by
 * the pairs of adjacent words it holds (migration 016: blob_text.pairs),
 * then checked; a phrase of one word by its word. The phrase is a
 * constant of the plan, so PostgreSQL reduces this to the branch that
 * applies before it chooses indexes; coalesce() keeps the check from being
 * looked up as the words anywhere as well. A text tested on its own (a
 * walk) is checked first by the phrase, in the row, then by the pairs,
 * which are kept out of it (TOAST). Without check: the pairs alone (what
 * the estimates ask). */
static void phrase_lookup(buf_t *sql, int n, bool check)
{
	buf_addf(sql, "((cardinality(search_phrase_pairs($%1$d)) = 0 AND bt.search @@ phraseto_tsquery('simple', $%1$d))"
		 " OR (cardinality(search_phrase_pairs($%1$d)) > 0", n);
	if (check)
		buf_addf(sql, " AND coalesce(bt.search @@ phraseto_tsquery('simple', $%d), false)", n);
	buf_addf(sql, " AND bt.pairs @> search_phrase_pairs($%d)))", n);
}

/* How an alternative of a group (the driving group; a group that splits
 * the content lookup) is looked up in the indexes: by name and the like
 * (files x into name, folders f into folders), by content (blob_text bt
 * into content); with name NULL, nothing is written. Returns false when
 * its name lookup would not use an index. */
static bool drive_alt(sb_t *b, const searchq_term_t *t, int n, buf_t *name, buf_t *content, buf_t *folders)
{
	bool word = t->kind != SEARCHQ_NAME && has_word(t->text);
	bool sub = utf8_chars(t->text) >= SUBSTRING_MIN;
	const char *tsq = t->kind == SEARCHQ_PHRASE ? "phraseto_tsquery('simple', $%d)"
						     : "search_prefix_query($%d)";
	const char *alias[2] = { "x", "f" };
	buf_t *out[2] = { name, folders };

	if (t->negated || (t->kind != SEARCHQ_WORD && t->kind != SEARCHQ_PHRASE && t->kind != SEARCHQ_NAME) ||
	    !sub)
		return false;
	if (!name)
		return true;
	for (int k = 0; k < 2; k++) {
		const char *or = "";

		buf_adds(out[k], out[k]->len ? " OR " : "");
		if (word) {
			buf_addf(out[k], "%s.search @@ ", alias[k]);
			buf_addf(out[k], tsq, n);
			or = " OR ";
		}
		buf_addf(out[k], "%slower(%s.name) LIKE search_like($%d)", or, alias[k], n);
		or = " OR ";
		if (close_words(b, t))   /* the parameter after the word's */
			buf_addf(out[k], "%s%s.search @@ $%d::tsquery", or, alias[k], n + 1);
	}
	if (word && t->kind == SEARCHQ_PHRASE) {
		buf_adds(content, content->len ? " OR " : "");
		phrase_lookup(content, n, true);
	} else if (word) {
		buf_adds(content, content->len ? " OR bt.search @@ " : "bt.search @@ ");
		buf_addf(content, tsq, n);
	}
	return true;
}

/* AND of the groups, OR within a group, NOT for negated terms; the
 * driving group's lookups as well. Each group goes to files and folders,
 * and but for the driving group (which its lookups already ensure) to
 * files_rest and folders_rest; a group without a positive word, phrase
 * or name: value also to files_fields and folders_fields (a name equal to
 * the positive words joined by blanks contains each of them). */
static void query_sql(sb_t *b, const searchq_t *q, int drive)
{
	buf_t all_files = b->files, all_folders = b->folders;

	for (int g = 0; g < q->ngroups; g++) {
		const searchq_group_t *grp = &q->group[g];
		buf_t sname = BUF_INIT, scontent = BUF_INIT, sfolders = BUF_INIT;
		bool textual = false;

		b->files = (buf_t)BUF_INIT;
		b->folders = (buf_t)BUF_INIT;
		buf_adds(&b->files, " AND (");
		buf_adds(&b->folders, " AND (");
		for (int i = 0; i < grp->nalts; i++) {
			const searchq_term_t *t = &grp->alt[i];
			int n;
			const char *pre = t->negated ? "NOT coalesce(" : "coalesce(";

			if (!t->negated && (t->kind == SEARCHQ_WORD || t->kind == SEARCHQ_PHRASE ||
					    t->kind == SEARCHQ_NAME))
				textual = true;

			if (i) {
				buf_adds(&b->files, " OR ");
				buf_adds(&b->folders, " OR ");
			}
			buf_adds(&b->files, pre);
			buf_adds(&b->folders, pre);
			n = term_sql(b, t);
			buf_adds(&b->files, ", false)");
			buf_adds(&b->folders, ", false)");
			if (g == drive)
				drive_alt(b, t, n, &b->drive_name, &b->drive_content, &b->drive_folders);
			else if (b->split[g])
				drive_alt(b, t, n, &sname, &scontent, &sfolders);
		}
		buf_adds(&b->files, ")");
		buf_adds(&b->folders, ")");
		buf_add(&all_files, b->files.p, b->files.len);
		buf_add(&all_folders, b->folders.p, b->folders.len);
		if (g != drive) {
			buf_add(&b->files_rest, b->files.p, b->files.len);
			if (!b->split[g])
				buf_add(&b->files_unsplit, b->files.p, b->files.len);
			buf_add(&b->folders_rest, b->folders.p, b->folders.len);
		}
		if (!textual) {
			buf_add(&b->files_fields, b->files.p, b->files.len);
			buf_add(&b->folders_fields, b->folders.p, b->folders.len);
		}
		buf_free(&b->files);
		buf_free(&b->folders);
		if (g != drive && b->split[g]) {
			buf_addf(&b->split_content, " AND (%s)", scontent.len ? scontent.p : "false");
			b->split_name[b->nsplit++] = sname;
		} else {
			buf_free(&sname);
		}
		buf_free(&scontent);
		buf_free(&sfolders);
	}
	b->files = all_files;
	b->folders = all_folders;
}
/* The positive words and phrases: for ranking (joined by blanks) and for
 * "matched" and snippets (a JSON array). */
static void words_of(arena_t *a, const searchq_t *q, const char **text, const char **json)
{
	json_object *arr = json_object_new_array();
	buf_t t = BUF_INIT;

	for (int g = 0; g < q->ngroups; g++)
		for (int i = 0; i < q->group[g].nalts; i++) {
			const searchq_term_t *x = &q->group[g].alt[i];

			if (x->negated || (x->kind != SEARCHQ_WORD && x->kind != SEARCHQ_PHRASE &&
					   x->kind != SEARCHQ_NAME))
				continue;
			if (t.len)
				buf_addc(&t, ' ');
			buf_adds(&t, x->text);
			json_object_array_add(arr, json_object_new_string(x->text));
		}
	*text = arena_strndup(a, t.p ? t.p : "", t.len);
	*json = arena_strdup(a, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	buf_free(&t);
	json_object_put(arr);
}

/* A date parameter: RFC 3339, or YYYY-MM-DD (midnight UTC). */
static const char *date_param(req_t *r, const char *key, json_object *errors)
{
	char *v, out[32];
	size_t n;
	time_t t;
	struct tm tm;
	int rc = req_query(r, key, &v, &n);

	if (rc != 1)
		return NULL;
	if (n == 10 && text_rfc3339_parse(arena_printf(r->arena, "%sT00:00:00Z", v), 20, &t) == 0) {
		/* a date alone */
	} else if (text_rfc3339_parse(v, n, &t) != 0) {
		errors_add(errors, key, "must be a date (YYYY-MM-DD) or an RFC 3339 time");
		return NULL;
	}
	gmtime_r(&t, &tm);
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(r->arena, out);
}

static const char *size_param(req_t *r, const char *key, json_object *errors)
{
	char *v;
	size_t n;
	long long sz;

	if (req_query(r, key, &v, &n) != 1)
		return NULL;
	if (text_parse_size(v, n, &sz) != 0 || sz < 0) {
		errors_add(errors, key, "must be a size in bytes, or like 10MB");
		return NULL;
	}
	return arena_printf(r->arena, "%lld", sz);
}

DB_STMT(st_search_similarity,
	"SELECT set_config('pg_trgm.word_similarity_threshold', '0.4', true),"
	"       set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)");

DB_STMT(st_search_folder_visible,
	"SELECT 'view' = ANY (item_permissions($1, NULL, 'folder', $2))");

/* Whether a word matches anything of the caller's exactly (as a word start
 * or a substring of a name, or in content). Never prepared: planned with
 * the word, so the indexes serve it. */
static db_stmt_t st_search_word_found = { "search_word_found",
	/* one EXISTS per index, cheapest first: PostgreSQL stops at the first
	 * that finds something (one OR of them would build every bitmap) */
	"SELECT EXISTS (SELECT 1 FROM files x WHERE NOT x.is_deleted AND x.user_id = $1"
	"                AND x.search @@ search_prefix_query($2))"
	"    OR EXISTS (SELECT 1 FROM folders f WHERE NOT f.is_deleted AND f.user_id = $1"
	"                AND f.search @@ search_prefix_query($2))"
	/* from the texts with the word to their files (never the other way:
	 * for a word in no text that would read every file) */
	"    OR EXISTS (SELECT 1 FROM (SELECT bt.sha256 FROM blob_text bt"
	"                               WHERE bt.search @@ search_prefix_query($2) OFFSET 0) m"
	"                CROSS JOIN LATERAL (SELECT 1 FROM files x WHERE x.sha256 = m.sha256"
	"                                       AND NOT x.is_deleted AND x.user_id = $1 OFFSET 0) y)"
	"    OR EXISTS (SELECT 1 FROM files x WHERE NOT x.is_deleted AND x.user_id = $1"
	"                AND lower(x.name) LIKE search_like($2))"
	"    OR EXISTS (SELECT 1 FROM folders f WHERE NOT f.is_deleted AND f.user_id = $1"
	"                AND lower(f.name) LIKE search_like($2))",
	0, true };

DB_STMT(st_search_close, "SELECT search_close_query($1, $2)::text");

static double estimate(req_t *r, sb_t *b, const searchq_group_t *g, bool content, int *rc);

/* The words of 4+ characters that match nothing exactly get typo matching
 * (b->fuzzy), by the words of the caller's names close to them (b->close,
 * from search_words: migration 015); their JSON array in *json. A word
 * PostgreSQL's statistics expect in SEARCH_COMMON files or texts is taken
 * to match without asking. */
static int fuzzy_words(req_t *r, sb_t *b, const searchq_t *q, const char **json)
{
	json_object *arr = json_object_new_array();
	int rc = DB_OK;

	for (int g = 0; g < q->ngroups && rc == DB_OK; g++)
		for (int i = 0; i < q->group[g].nalts && rc == DB_OK; i++) {
			const searchq_term_t *t = &q->group[g].alt[i];
			const char *p[2] = { r->user.id, t->text };
			PGresult *res;

			if (t->negated || t->kind != SEARCHQ_WORD || utf8_chars(t->text) < FUZZY_MIN ||
			    b->nfuzzy == SEARCH_FUZZY_MAX)
				continue;
			{
				searchq_group_t one = { t, 1 };

				if (estimate(r, b, &one, false, &rc) >= SEARCH_COMMON || rc != DB_OK ||
				    estimate(r, b, &one, true, &rc) >= SEARCH_COMMON || rc != DB_OK)
					continue;
			}
			rc = db_query(r->db, r->arena, &st_search_word_found, 2, p, &res);
			if (rc != DB_OK || PQgetvalue(res, 0, 0)[0] == 't')
				continue;
			rc = db_query(r->db, r->arena, &st_search_close, 2, p, &res);
			if (rc != DB_OK)
				continue;
			b->close[b->nfuzzy] = PQgetisnull(res, 0, 0) ? NULL
					    : arena_strdup(r->arena, PQgetvalue(res, 0, 0));
			b->fuzzy[b->nfuzzy++] = t;
			json_object_array_add(arr, json_object_new_string(t->text));
		}
	*json = arena_strdup(r->arena, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return rc;
}

/* One lookup of matches: at most $6 of them, newest first. hide_order:
 * the date order hidden from the planner (a lookup of few matches, which
 * must not be found by reading every file in date order). */
static void lookup(buf_t *sql, const char *kind, const char *from, const char *where,
		   const char *drive, const buf_t *pred, bool hide_order)
{
	bool file = kind[0] == 'f' && kind[1] == 'i';
	const char *a = file ? "x" : "f";

	if (sql->len)
		buf_adds(sql, " UNION ALL ");
	buf_addf(sql, "(SELECT '%s' AS kind, %s.id, %s.updated_at AS at, %s.name, %s.search, %s AS sha256 "
		 "FROM %s WHERE NOT %s.is_deleted AND %s", kind, a, a, a, a, file ? "x.sha256" : "NULL::bytea",
		 from, a, where);
	if (drive && drive[0])
		buf_addf(sql, " AND (%s)", drive);
	buf_add(sql, pred->p, pred->len);
	buf_addf(sql, " ORDER BY %s.updated_at%s DESC, %s.id LIMIT $6::integer)", a,
		 hide_order ? " + interval '0 s'" : "", a);
}

/* A branch of own_files() that finds the files by the indexes (from: the
 * FROM and the start of the WHERE), when the walk `name` found fewer than
 * $6 (name NULL: there is no walk). */
static void index_way(buf_t *sql, const char *name, const buf_t *from, const buf_t *pred)
{
	if (sql->len)
		buf_adds(sql, " UNION ALL ");
	buf_adds(sql, "(SELECT 'file' AS kind, x.id, x.updated_at AS at, x.name, x.search, x.sha256 FROM ");
	buf_add(sql, from->p, from->len);
	if (name)
		buf_addf(sql, "(SELECT count(*) FROM %s) < $6::integer AND ", name);
	buf_adds(sql, "NOT x.is_deleted AND x.user_id = $1");
	buf_add(sql, pred->p, pred->len);
	buf_adds(sql, " ORDER BY x.updated_at + interval '0 s' DESC, x.id LIMIT $6::integer)");
}

/* The walk of own_files(): the CTE `name`, the caller's $walk newest files
 * (text files, for content) that match, at most $6, and the branch that
 * takes them when they are $6. */
static void walk_way(buf_t *ctes, buf_t *sql, const char *name, const char *drive, const char *content,
		     const buf_t *pred, int walk)
{
	buf_addf(ctes, ", %1$s AS MATERIALIZED (SELECT 'file'::text AS kind, x.id, x.updated_at AS at, x.name, "
		 "x.search, x.sha256 FROM (SELECT * FROM files x WHERE NOT x.is_deleted AND x.user_id = $1%2$s "
		 "ORDER BY x.updated_at DESC, x.id LIMIT $%3$d::integer) x WHERE CASE WHEN ", name,
		 content ? " AND x.has_text" : "", walk);
	/* the driving group first, then the rest (CASE: in that order, and
	 * the text test stays a test per file, in date order) */
	if (content)
		text_holds(ctes, content);
	else
		buf_addf(ctes, "(%s)", drive);
	buf_adds(ctes, " THEN true");
	buf_add(ctes, pred->p, pred->len);
	buf_adds(ctes, " ELSE false END ORDER BY x.updated_at DESC, x.id LIMIT $6::integer)");
	if (sql->len)
		buf_adds(sql, " UNION ALL ");
	buf_addf(sql, "(SELECT * FROM %1$s WHERE (SELECT count(*) FROM %1$s) >= $6::integer)", name);
}

/* The caller's own files matching the driving group and pred, at most
 * $6, newest first, found one of two ways. The walk reads the caller's $8
 * newest files (or text files, for content: an index of each in date
 * order) and keeps those that match: when
 * that gives $6 matches, the words are common and those are the answer.
 * Otherwise the indexes of the words give every match, which are then
 * sorted: by name (drive: the files x lookups) or by content (content:
 * the blob_text bt lookups, then the files of each blob). PostgreSQL skips
 * the second way when the first suffices (a one-time filter). The date
 * order is hidden from the planner there, so that it cannot choose to read
 * every file in date order for a rare word.
 *
 * By content, each text of the driving group costs a look at its files
 * and at the other groups. When the other groups are rarer by name than
 * the driving group is in texts (b->split), the lookup is split instead:
 * the texts that hold every group (the indexes intersect them), and for
 * each other group the files whose name matches it (its indexes) and
 * whose text holds the driving group. A file matches D by content and
 * each other group O by its text or its name, so it is in one of them. */
static void own_files(buf_t *ctes, buf_t *sql, const sb_t *b, const char *name, const char *drive,
		      const char *content, const buf_t *pred, int walk)
{
	buf_t from = BUF_INIT;

	/* no walk: the indexes alone, unguarded */
	if (strcmp(b->p[walk - 1], "0") == 0)
		name = NULL;
	else
		walk_way(ctes, sql, name, drive, content, pred, walk);
	if (!content) {
		buf_addf(&from, "files x WHERE (%s) AND ", drive);
		index_way(sql, name, &from, pred);
		buf_free(&from);
		return;
	}
	/* the texts that hold every group that splits need not be tested
	 * for those again */
	buf_addf(&from, "(SELECT bt.sha256 FROM blob_text bt WHERE (%s)%s) m CROSS JOIN LATERAL "
		 "(SELECT * FROM files x WHERE x.sha256 = m.sha256 OFFSET 0) x WHERE ", content,
		 b->nsplit ? b->split_content.p : "");
	index_way(sql, name, &from, b->nsplit ? &b->files_unsplit : pred);
	for (int k = 0; k < b->nsplit; k++) {
		buf_reset(&from);
		buf_addf(&from, "files x WHERE (%s) AND ", b->split_name[k].p);
		text_holds(&from, content);
		buf_adds(&from, " AND ");
		index_way(sql, name, &from, pred);
	}
	buf_free(&from);
}

DB_STMT(st_search_scope,
	"SELECT EXISTS (SELECT 1 FROM grants g JOIN users o ON o.id = g.owner_id AND o.is_active"
	"               WHERE g.grantee_id = $1),"
	"       (SELECT reltuples FROM pg_class WHERE oid = 'files'::regclass),"
	"       (SELECT reltuples FROM pg_class WHERE oid = 'blob_text'::regclass)");

/* The words and phrases of a group as a condition on files x or on
 * blob_text bt, their values in p; returns how many. phrase_words: a
 * phrase on files as its distinct words anywhere. */
static int group_cond(const sb_t *b, const searchq_group_t *g, bool content, bool phrase_words, buf_t *sql,
		      const char **p)
{
	const char *a = content ? "bt" : "x";
	int n = 0;

	for (int i = 0; i < g->nalts; i++) {
		const searchq_term_t *t = &g->alt[i];

		if (t->kind == SEARCHQ_NAME || !has_word(t->text))
			continue;
		p[n] = t->text;
		buf_adds(sql, n ? " OR " : "");
		if (content && t->kind == SEARCHQ_PHRASE) {
			/* by its pairs (the check of the phrase after them would
			 * count as half of them) */
			phrase_lookup(sql, n + 1, false);
		} else {
			buf_addf(sql, "%s.search @@ ", a);
			buf_addf(sql, t->kind != SEARCHQ_PHRASE || phrase_words ? "search_prefix_query($%d)"
								       : "phraseto_tsquery('simple', $%d)", n + 1);
		}
		n++;
		if (!content && close_words(b, t)) {
			p[n] = close_words(b, t);
			buf_addf(sql, " OR x.search @@ $%d::tsquery", n + 1);
			n++;
		}
	}
	return n;
}

/* PostgreSQL's estimate of how many live files (or texts, for content)
 * the words and phrases of a group match, from its statistics of the
 * words (for a typo, of the words close to it). A phrase is estimated by
 * name as its words anywhere: the names the lookup reads (the substring
 * test of a phrase reads every name holding its words), and in names
 * words that are together mostly stand together; in content by its
 * pairs of words. */
static double estimate(req_t *r, sb_t *b, const searchq_group_t *g, bool content, int *rc)
{
	buf_t sql = BUF_INIT;
	const char *p[2 * SEARCHQ_MAX_TERMS];
	double rows = 0;
	int n;
	PGresult *res;

	/* one term without close words: asked once (typo check, choose()) */
	bool once = g->nalts == 1 && !close_words(b, g->alt);

	for (int i = 0; once && i < b->nest; i++)
		if (b->est[i].t == g->alt && b->est[i].content == content)
			return b->est[i].rows;
	buf_adds(&sql, content ? "EXPLAIN (FORMAT JSON) SELECT 1 FROM blob_text bt WHERE ("
			       : "EXPLAIN (FORMAT JSON) SELECT 1 FROM files x WHERE NOT x.is_deleted AND (");
	n = group_cond(b, g, content, true, &sql, p);
	buf_adds(&sql, ")");
	if (n > 0) {
		db_stmt_t st = { "search_estimate", sql.p, 0, true };

		*rc = db_query(r->db, r->arena, &st, n, p, &res);
		if (*rc == DB_OK) {
			const char *j = strstr(PQgetvalue(res, 0, 0), "\"Plan Rows\": ");

			if (j)
				rows = strtod(j + strlen("\"Plan Rows\": "), NULL);
			if (once && b->nest < 2 * SEARCHQ_MAX_TERMS) {
				b->est[b->nest].t = g->alt;
				b->est[b->nest].content = content;
				b->est[b->nest++].rows = rows;
			}
		}
	}
	buf_free(&sql);
	return rows;
}

#define SEARCH_ESTIMATED_MAX 8   /* groups whose matches are estimated */

static double share(double v)
{
	return v < 1 ? v : 1;
}

#define SEARCH_SAMPLE     300     /* newest files a phrase is tried on to estimate its share */
#define SEARCH_SAMPLE_FEW  10     /* ... when it is in fewer of them than this */
#define SEARCH_SAMPLE_MORE 3000   /* ... but its words are common, this many */

/* How many of the caller's `size` newest files a group with a phrase
 * matches by name (the statistics of names take a phrase for its words
 * anywhere, which common words are in far more often than in a row);
 * these are the files a walk would read first. -1 when the caller has
 * fewer. */
static int sample_count(req_t *r, const sb_t *b, const searchq_group_t *g, int size, int *rc)
{
	buf_t sql = BUF_INIT;
	const char *p[2 * SEARCHQ_MAX_TERMS + 1];
	int found = -1;
	int n;
	PGresult *res;

	buf_adds(&sql, "SELECT count(*) FILTER (WHERE (");
	n = group_cond(b, g, false, false, &sql, p);
	p[n] = r->user.id;
	buf_addf(&sql, ")), count(*) FROM (SELECT x.search FROM files x WHERE NOT x.is_deleted"
		 " AND x.user_id = $%d ORDER BY x.updated_at DESC, x.id LIMIT %d) x", n + 1, size);
	if (n > 0) {
		db_stmt_t st = { "search_sample", sql.p, 0, true };

		*rc = db_query(r->db, r->arena, &st, n + 1, p, &res);
		if (*rc == DB_OK && atoi(PQgetvalue(res, 0, 1)) == size)
			found = atoi(PQgetvalue(res, 0, 0));
	}
	buf_free(&sql);
	return found;
}

/* The driving group and how many of the newest files (names) and text
 * files (content) its walks may read. Of the groups the indexes can look
 * up, PostgreSQL's statistics pick the one estimated to match fewest
 * files (by name or content); the walks run only when the whole query
 * (every such group, taken as independent) is estimated common enough
 * that a walk reads fewer files than the lookup would (the rules below):
 * a rare query asks the indexes at once. A typo is estimated by the words
 * close to it, a phrase in content by its pairs of words, by name by the
 * caller's newest files. Also which other
 * groups split the content lookup (b->split). */
static int choose(req_t *r, sb_t *b, const searchq_t *q, double files, double texts, long long keep,
		  int *drive, char *names, char *content)
{
	double nm[SEARCH_ESTIMATED_MAX], ct[SEARCH_ESTIMATED_MAX], other = 1, other_text = 1, by_name = 0;
	double need = -1;
	int found = -1, size = SEARCH_SAMPLE;
	int grp[SEARCH_ESTIMATED_MAX], ng = 0, best = -1, rc = DB_OK;
	size_t best_len = 0;
	bool phrase = false;

	*drive = -1;
	for (int g = 0; g < q->ngroups && ng < SEARCH_ESTIMATED_MAX; g++) {
		size_t len = (size_t)-1;
		int i;

		for (i = 0; i < q->group[g].nalts; i++) {
			if (!drive_alt(b, &q->group[g].alt[i], 0, NULL, NULL, NULL))
				break;
			if (utf8_chars(q->group[g].alt[i].text) < len)
				len = utf8_chars(q->group[g].alt[i].text);
		}
		if (i < q->group[g].nalts)
			continue;
		nm[ng] = estimate(r, b, &q->group[g], false, &rc);
		ct[ng] = rc == DB_OK ? estimate(r, b, &q->group[g], true, &rc) : 0;
		if (rc != DB_OK)
			return rc;
		grp[ng] = g;
		/* fewest estimated matches; among equals the longest words */
		if (best < 0 || nm[ng] + ct[ng] < nm[best] + ct[best] ||
		    (nm[ng] + ct[ng] == nm[best] + ct[best] && len > best_len)) {
			best = ng;
			best_len = len;
		}
		ng++;
	}
	if (best < 0)
		return DB_OK;
	*drive = grp[best];
	/* the share of the files (of the text files) the other groups match,
	 * taken as independent */
	for (int k = 0; k < ng && files > 0 && texts > 0; k++)
		if (k != best) {
			other *= share((nm[k] + ct[k]) / files);
			other_text *= share(ct[k] / texts + nm[k] / files);
		}
	for (int i = 0; i < q->group[*drive].nalts; i++)
		if (q->group[*drive].alt[i].kind == SEARCHQ_PHRASE)
			phrase = true;
	/* by name: from SEARCH_WALK_SEL of the files; below, while the walk
	 * would read fewer files than the lookup (each cheaper to test than
	 * a match the lookup finds and sorts) and at most SEARCH_WALK per
	 * match wanted, twice what it needs. A phrase's share is tried on the
	 * caller's 300 newest files (3,000 when fewer than 10 of those hold
	 * it and the lookup would read more names than any walk); its lookup
	 * reads every name holding all its words (the estimate), so its walk
	 * may read up to that many */
	if (phrase && (found = sample_count(r, b, &q->group[*drive], size, &rc)) >= 0 &&
	    found < SEARCH_SAMPLE_FEW && nm[best] > keep * SEARCH_WALK) {
		/* in few of them, but the lookup would read more names than
		 * any walk: a closer look decides */
		size = SEARCH_SAMPLE_MORE;
		found = sample_count(r, b, &q->group[*drive], size, &rc);
	}
	if (phrase && found >= 0) {
		/* a phrase: its share of the newest names, less its error
		 * (about its square root), so that the walk rather reads too
		 * far than falls short; none or one: the lookup */
		int root = 0;

		while ((root + 1) * (root + 1) <= found)
			root++;
		need = found > 1 ? keep / ((double)(found - root) / size * other) : -1;
		if (need > 0 && 2 * need < nm[best])
			snprintf(names, 24, "%.0f", 2 * need);
		need = -1;
	} else if (rc != DB_OK) {
		return rc;
	} else if (files > 0 && nm[best] / files * other >= SEARCH_WALK_SEL) {
		snprintf(names, 24, "%lld", keep * SEARCH_WALK);
	} else if (files > 0 && nm[best] > 0 && other > 0) {
		need = keep / (nm[best] / files * other);
	}
	if (need > 0 && need < nm[best] && need <= keep * SEARCH_WALK)
		snprintf(names, 24, "%.0f", 2 * need);
	/* by content: the walk reads about keep / share texts, the lookup
	 * tests each text the driving group is in (for a phrase, each text
	 * holding its pairs of words, which the statistics estimate well) */
	if (texts > 0 && ct[best] / texts * other_text >= SEARCH_WALK_SEL_TEXT &&
	    keep / (ct[best] / texts * other_text) < ct[best])
		snprintf(content, 24, "%lld", keep * SEARCH_WALK);
	/* the content lookup split by the other groups (own_files()) when
	 * their names are fewer than SEARCH_SPLIT times the driving group's
	 * texts (a file found by name is cheaper to test than a text) */
	for (int k = 0; k < ng; k++)
		if (k != best)
			by_name += nm[k];
	for (int k = 0; k < ng && by_name < SEARCH_SPLIT * ct[best]; k++)
		if (k != best)
			b->split[grp[k]] = true;
	return DB_OK;
}

void h_search(req_t *r)
{
	static const char *const cats[] = { "image", "video", "audio", "document", "archive", "text",
					    "other", "folder", NULL };
	json_object *errors = json_object_new_array();
	const char *qtext = NULL, *file_type = NULL, *from, *to, *folder = NULL, *smin, *smax;
	const char *words, *words_json, *fuzzy_json = "[]";
	char *v, lim[24], off[24], win[24], walk_names[24] = "0", walk_content[24] = "0";
	long long keep;
	double files_n, texts_n;
	bool shared;
	size_t vn;
	long long limit = 20, offset = 0;
	searchq_t q;
	sb_t b;
	buf_t sql = BUF_INIT, look = BUF_INIT, ctes = BUF_INIT;
	PGresult *res;
	int rc, n, drive;

	memset(&b, 0, sizeof(b));
	b.date_col = "updated_at";
	b.a = r->arena;
	if (strlen(r->query) > HTTP_QUERY_MAX_LEN) {
		/* the query language allows 1000 bytes: say so about q */
		errors_add(errors, "q", "is too long: at most 1000 bytes");
		resp_invalid(r, "The search parameters are invalid.", errors);
		return;
	}
	rc = req_query(r, "q", &v, &vn);
	if (rc < 0) {
		json_object_put(errors);
		return;
	}
	if (rc == 0 || vn == 0)
		errors_add(errors, "q", "is required: what to search for");
	else
		qtext = v;
	if (qtext && searchq_parse(r->arena, qtext, vn, &q) != 0) {
		for (int i = 0; i < q.nerrors; i++)
			errors_add(errors, q.errors[i].field, q.errors[i].message);
		qtext = NULL;
	}
	if (req_query(r, "file_type", &v, &vn) == 1) {
		for (int i = 0; cats[i]; i++)
			if (text_is(v, vn, cats[i]))
				file_type = cats[i];
		if (!file_type)
			errors_add(errors, "file_type", "must be image, video, audio, document, archive, text, "
			    "other or folder");
	}
	if (req_query(r, "date_field", &v, &vn) == 1) {
		if (text_is(v, vn, "created"))
			b.date_col = "created_at";
		else if (!text_is(v, vn, "updated"))
			errors_add(errors, "date_field", "must be created or updated");
	}
	from = date_param(r, "date_from", errors);
	to = date_param(r, "date_to", errors);
	smin = size_param(r, "size_min", errors);
	smax = size_param(r, "size_max", errors);
	if (req_query(r, "folder_id", &v, &vn) == 1) {
		if (!text_uuid_valid(v, vn))
			errors_add(errors, "folder_id", "must be a folder ID");
		else
			folder = v;
	}
	if (req_query(r, "limit", &v, &vn) == 1 &&
	    (text_parse_uint(v, vn, SEARCH_LIMIT_MAX, &limit) != 0 || limit < 1))
		errors_add(errors, "limit", "must be an integer from 1 to 100");
	if (req_query(r, "offset", &v, &vn) == 1 &&
	    text_parse_uint(v, vn, SEARCH_OFFSET_MAX, &offset) != 0)
		errors_add(errors, "offset", "must be an integer from 0 to 10000");
	if (json_object_array_length(errors) > 0) {
		resp_invalid(r, "The search parameters are invalid.", errors);
		return;
	}
	json_object_put(errors);

	/* one transaction: the typo threshold is local to it */
	if ((rc = db_begin(r->db)) != DB_OK ||
	    (rc = db_query(r->db, r->arena, &st_search_similarity, 0, NULL, NULL)) != DB_OK)
		goto db_failed;
	if (folder) {
		const char *p[2] = { r->user.id, folder };

		if ((rc = db_query(r->db, r->arena, &st_search_folder_visible, 2, p, &res)) != DB_OK)
			goto db_failed;
		if (PQgetvalue(res, 0, 0)[0] != 't') {
			db_rollback(r->db);
			resp_problem(r, 404, "not_found", "No such folder.");
			return;
		}
	}
	if ((rc = db_query(r->db, r->arena, &st_search_scope, 1, &r->user.id, &res)) != DB_OK)
		goto db_failed;
	shared = PQgetvalue(res, 0, 0)[0] == 't';
	files_n = strtod(PQgetvalue(res, 0, 1), NULL);
	texts_n = strtod(PQgetvalue(res, 0, 2), NULL);
	if ((rc = fuzzy_words(r, &b, &q, &fuzzy_json)) != DB_OK)
		goto db_failed;

	words_of(r->arena, &q, &words, &words_json);
	snprintf(lim, sizeof(lim), "%lld", limit + 1);
	snprintf(off, sizeof(off), "%lld", offset);
	keep = offset + limit + 1 > SEARCH_WINDOW ? offset + limit + 1 : SEARCH_WINDOW;
	snprintf(win, sizeof(win), "%lld", keep);
	param(&b, r->user.id);   /* $1 */
	param(&b, words);        /* $2: the words, for exact and prefix name matches */
	param(&b, words_json);   /* $3: the words as a JSON array */
	param(&b, lim);          /* $4 */
	param(&b, off);          /* $5 */
	param(&b, win);          /* $6: matches kept per lookup */
	param(&b, fuzzy_json);   /* $7: the words matched with typos */
	param(&b, walk_names);   /* $8: newest files a walk by name reads */
	param(&b, walk_content); /* $9: newest text files a walk by content reads */
	if (file_type) {
		if (strcmp(file_type, "folder") == 0) {
			buf_adds(&b.files, " AND false");
		} else {
			buf_addf(&b.files, " AND mime_category(x.mime_type) = $%d", param(&b, file_type));
			buf_adds(&b.folders, " AND false");
		}
	}
	if (from) {
		n = param(&b, from);
		buf_addf(&b.files, " AND x.%s >= $%d::timestamptz", b.date_col, n);
		buf_addf(&b.folders, " AND f.%s >= $%d::timestamptz", b.date_col, n);
	}
	if (to) {
		n = param(&b, to);
		buf_addf(&b.files, " AND x.%s < $%d::timestamptz", b.date_col, n);
		buf_addf(&b.folders, " AND f.%s < $%d::timestamptz", b.date_col, n);
	}
	if (smin || smax) {
		if (smin)
			buf_addf(&b.files, " AND x.size >= $%d::bigint", param(&b, smin));
		if (smax)
			buf_addf(&b.files, " AND x.size <= $%d::bigint", param(&b, smax));
		buf_adds(&b.folders, " AND false");
	}
	if (folder) {
		n = param(&b, folder);
		buf_addf(&b.files, " AND x.folder_id IN (SELECT id FROM folder_subtree($%d::uuid))", n);
		buf_addf(&b.folders, " AND f.parent_id IN (SELECT id FROM folder_subtree($%d::uuid))", n);
	}
	buf_add(&b.files_rest, b.files.p, b.files.len);
	buf_add(&b.files_unsplit, b.files.p, b.files.len);
	buf_add(&b.folders_rest, b.folders.p, b.folders.len);
	buf_add(&b.files_fields, b.files.p, b.files.len);
	buf_add(&b.folders_fields, b.folders.p, b.folders.len);
	if ((rc = choose(r, &b, &q, files_n, texts_n, keep, &drive, walk_names, walk_content)) != DB_OK)
		drive = -1;
	query_sql(&b, &q, drive);

	/* the lookups: own files by name and the like, and by content; own
	 * folders; what is shared with the caller; exact names anywhere */
	if (drive < 0) {
		lookup(&look, "file", "files x", "x.user_id = $1", NULL, &b.files, false);
	} else {
		own_files(&ctes, &look, &b, "own_name", b.drive_name.p, NULL, &b.files_rest, 8);
		if (b.drive_content.len)
			own_files(&ctes, &look, &b, "own_content", NULL, b.drive_content.p, &b.files_rest, 9);
	}
	lookup(&look, "folder", "folders f", "f.parent_id IS NOT NULL AND f.user_id = $1",
	       drive >= 0 ? b.drive_folders.p : NULL, &b.folders_rest, false);
	if (shared) {
		lookup(&look, "file", "files x", "x.user_id <> $1 AND (x.folder_id = ANY ((SELECT a FROM sh)::uuid[])"
		       " OR x.id = ANY ((SELECT a FROM gr)::uuid[]))", NULL, &b.files, false);
		lookup(&look, "folder", "folders f", "f.user_id <> $1 AND f.id = ANY ((SELECT a FROM sh)::uuid[])",
		       NULL, &b.folders, false);
	}
	if (words[0]) {
		lookup(&look, "file", "files x", shared ? "lower(x.name) COLLATE \"C\" = lower($2) AND (x.user_id = $1"
		       " OR x.folder_id = ANY ((SELECT a FROM sh)::uuid[]) OR x.id = ANY ((SELECT a FROM gr)::uuid[]))"
		       : "lower(x.name) COLLATE \"C\" = lower($2) AND x.user_id = $1", NULL, &b.files_fields, true);
		lookup(&look, "folder", "folders f", shared ? "lower(f.name) COLLATE \"C\" = lower($2) AND "
		       "f.parent_id IS NOT NULL AND (f.user_id = $1 OR f.id = ANY ((SELECT a FROM sh)::uuid[]))"
		       : "lower(f.name) COLLATE \"C\" = lower($2) AND f.parent_id IS NOT NULL AND f.user_id = $1",
		       NULL, &b.folders_fields, true);
	}

	buf_adds(&sql, "WITH sh AS MATERIALIZED (SELECT coalesce(array_agg(id), '{}') AS a "
		 "  FROM search_shared_folders($1)), "
		 "gr AS MATERIALIZED (SELECT coalesce(array_agg(g.file_id), '{}') AS a FROM grants g "
		 "  JOIN users o ON o.id = g.owner_id AND o.is_active "
		 "  WHERE g.grantee_id = $1 AND g.file_id IS NOT NULL), "
		 "w AS MATERIALIZED (SELECT ARRAY(SELECT json_array_elements_text($3::json)) AS words, "
		 "  ARRAY(SELECT json_array_elements_text($7::json)) AS fuzzy, "
		 "  $8::integer AS walk_names, $9::integer AS walk_content), "
		 "qa AS MATERIALIZED (SELECT search_any_query((SELECT words FROM w)) AS q)");
	buf_add(&sql, ctes.p, ctes.len);
	buf_adds(&sql, ", cand AS (SELECT DISTINCT ON (kind, id) * FROM (");
	buf_add(&sql, look.p, look.len);
	buf_addf(&sql, ") u ORDER BY kind, id), "
		 "win AS (SELECT c.*, CASE WHEN $2 = '' THEN 0 WHEN lower(c.name) = lower($2) THEN 2 "
		 "         WHEN starts_with(lower(c.name), lower($2)) THEN 1 ELSE 0 END AS r1, "
		 "         row_number() OVER (ORDER BY c.at DESC, c.id) <= %d AS inwin FROM cand c), "
		 "page AS (SELECT h.kind, h.id, h.at, h.r1 = 2 AS exact, h.inwin, "
		 "           CASE WHEN h.inwin THEN h.r1 END AS r1, "
		 "           CASE WHEN h.inwin THEN coalesce(ts_rank(h.search, (SELECT q FROM qa)), 0) "
		 "             + coalesce((SELECT ts_rank(bt.search, (SELECT q FROM qa)) FROM blob_text bt "
		 "                          WHERE bt.sha256 = h.sha256), 0) END AS r2 "
		 "         FROM win h "
		 "         ORDER BY exact DESC, inwin DESC, r1 DESC NULLS LAST, r2 DESC NULLS LAST, "
		 "                  h.at DESC, h.id LIMIT $4::integer OFFSET $5::integer) "
		 /* the caller's own items as item_view() shows them to their
		  * owner, built here (a function per item would plan its
		  * statements per item); anything else through item_view() */
		 "SELECT p.kind, coalesce(CASE WHEN p.kind = 'file' THEN "
		 "    (SELECT (file_json_as(x, NULL)::jsonb || jsonb_build_object('metadata', "
		 "             coalesce((SELECT b.metadata FROM blobs b WHERE b.sha256 = x.sha256), '{}')))::json "
		 "       FROM files x WHERE x.id = p.id AND x.user_id = $1 AND NOT x.is_deleted) "
		 "  ELSE (SELECT folder_json(f, NULL, NULL) FROM folders f "
		 "         WHERE f.id = p.id AND f.user_id = $1 AND NOT f.is_deleted) END, "
		 "  (SELECT v.item FROM item_view($1, p.kind, p.id) v)), "
		 "  to_json(CASE WHEN p.kind = 'file' THEN "
		 "    (SELECT search_matched(x.name, x.tags, x.description, bt.search, (SELECT q FROM qa), "
		 "                           (SELECT words FROM w), (SELECT fuzzy FROM w)) "
		 "       FROM files x LEFT JOIN blob_text bt ON bt.sha256 = x.sha256 WHERE x.id = p.id) "
		 "  ELSE (SELECT search_matched(f.name, NULL, f.description, NULL, (SELECT q FROM qa), "
		 "                              (SELECT words FROM w), (SELECT fuzzy FROM w)) "
		 "          FROM folders f WHERE f.id = p.id) END), "
		 "  CASE WHEN p.kind = 'file' THEN "
		 "    (SELECT search_snippet(bt.content, (SELECT q FROM qa), (SELECT words FROM w)) "
		 "       FROM files x JOIN blob_text bt ON bt.sha256 = x.sha256 "
		 "      WHERE x.id = p.id AND bt.search @@ (SELECT q FROM qa)) END "
		 "FROM page p ORDER BY p.exact DESC, p.inwin DESC, p.r1 DESC NULLS LAST, p.r2 DESC NULLS LAST, "
		 "  p.at DESC, p.id", SEARCH_WINDOW);

	{
		db_stmt_t st = { "search", sql.p, 0, true };

		/* a statement of its own shape each time: never prepared */
		if (rc == DB_OK && (rc = db_query(r->db, r->arena, &st, b.np, b.p, &res)) == DB_OK)
			rc = db_commit(r->db);
	}
	buf_free(&b.files);
	buf_free(&b.folders);
	buf_free(&b.files_rest);
	buf_free(&b.files_unsplit);
	buf_free(&b.folders_rest);
	buf_free(&b.files_fields);
	buf_free(&b.folders_fields);
	buf_free(&b.drive_name);
	buf_free(&b.drive_content);
	buf_free(&b.drive_folders);
	buf_free(&b.split_content);
	for (int k = 0; k < b.nsplit; k++)
		buf_free(&b.split_name[k]);
	buf_free(&look);
	buf_free(&ctes);
	buf_free(&sql);
	if (rc != DB_OK)
		goto db_failed;
	n = PQntuples(res);
	{
		buf_t out = BUF_INIT;
		int shown = 0;

		buf_adds(&out, "{\"items\": [");
		for (int i = 0; i < n && i < limit; i++) {
			if (PQgetisnull(res, i, 1))
				continue;   /* gone between the two looks */
			if (shown++)
				buf_addc(&out, ',');
			buf_addf(&out, "{\"kind\": \"%s\", \"item\": ", PQgetvalue(res, i, 0));
			buf_add(&out, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
			buf_adds(&out, ", \"matched\": ");
			buf_add(&out, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
			buf_adds(&out, ", \"snippet\": ");
			if (PQgetisnull(res, i, 3)) {
				buf_adds(&out, "null");
			} else {
				json_object *s = json_object_new_string(PQgetvalue(res, i, 3));

				buf_adds(&out, json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
				json_object_put(s);
			}
			buf_addc(&out, '}');
		}
		if (n > limit && offset + limit <= SEARCH_OFFSET_MAX)
			buf_addf(&out, "], \"next_offset\": %lld}", offset + limit);
		else
			buf_adds(&out, "], \"next_offset\": null}");
		resp_json_text(r, 200, out.p, out.len);
		buf_free(&out);
	}
	return;
db_failed:
	db_rollback(r->db);
	resp_db_error(r, rc);
}
