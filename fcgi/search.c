/*
 * search: GET /api/search. The q language is parsed by lib/searchq into
 * terms; each term becomes a predicate from a fixed set of SQL fragments
 * with its value as a parameter, so no text of the request is ever part of
 * the statement. PostgreSQL does the work (migration 011): tsvector
 * columns with GIN indexes for words and phrases over names, tags,
 * descriptions and the text content of files, pg_trgm for substrings and
 * typos in names.
 *
 * The caller's own live items and the items shared with them (grants) are
 * searched; files and folders in one ranked list: exact name first, then
 * name prefix, then full-text rank, then recency. Each hit says which
 * fields matched and, for content, shows a fragment with the words marked.
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
#define SEARCH_PARAMS_MAX (8 + 2 * SEARCHQ_MAX_TERMS + 8)

/* The statement under construction: the files part, the folders part and
 * the parameters both use. */
typedef struct sb {
	buf_t files, folders;
	const char *p[SEARCH_PARAMS_MAX];
	int np;
	const char *date_col;   /* "created_at" or "updated_at" (fixed strings) */
	arena_t *a;
} sb_t;

static int param(sb_t *b, const char *v)
{
	b->p[b->np++] = v;
	return b->np;
}

/* One term as a predicate on files (alias x, content bt) and on folders
 * (alias f). false for what folders never have. */
static void term_sql(sb_t *b, const searchq_term_t *t)
{
	int n;

	switch (t->kind) {
	case SEARCHQ_WORD:
		n = param(b, t->text);
		buf_addf(&b->files, "(coalesce(x.search @@ search_prefix_query($%1$d), false)"
			 " OR coalesce(bt.search @@ search_prefix_query($%1$d), false)"
			 " OR strpos(lower(x.name), lower($%1$d)) > 0"
			 " OR (char_length($%1$d) >= 4 AND lower($%1$d) <%% lower(x.name)))", n);
		buf_addf(&b->folders, "(coalesce(f.search @@ search_prefix_query($%1$d), false)"
			 " OR strpos(lower(f.name), lower($%1$d)) > 0"
			 " OR (char_length($%1$d) >= 4 AND lower($%1$d) <%% lower(f.name)))", n);
		break;
	case SEARCHQ_PHRASE:
		n = param(b, t->text);
		buf_addf(&b->files, "(coalesce(x.search @@ phraseto_tsquery('simple', $%1$d), false)"
			 " OR coalesce(bt.search @@ phraseto_tsquery('simple', $%1$d), false)"
			 " OR strpos(lower(x.name), lower($%1$d)) > 0)", n);
		buf_addf(&b->folders, "(coalesce(f.search @@ phraseto_tsquery('simple', $%1$d), false)"
			 " OR strpos(lower(f.name), lower($%1$d)) > 0)", n);
		break;
	case SEARCHQ_NAME:
		n = param(b, t->text);
		buf_addf(&b->files, "strpos(lower(x.name), lower($%d)) > 0", n);
		buf_addf(&b->folders, "strpos(lower(f.name), lower($%d)) > 0", n);
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
}

/* AND of the groups, OR within a group, NOT for negated terms. */
static void query_sql(sb_t *b, const searchq_t *q)
{
	for (int g = 0; g < q->ngroups; g++) {
		const searchq_group_t *grp = &q->group[g];

		buf_adds(&b->files, " AND (");
		buf_adds(&b->folders, " AND (");
		for (int i = 0; i < grp->nalts; i++) {
			const searchq_term_t *t = &grp->alt[i];
			const char *pre = t->negated ? "NOT coalesce(" : "coalesce(";

			if (i) {
				buf_adds(&b->files, " OR ");
				buf_adds(&b->folders, " OR ");
			}
			buf_adds(&b->files, pre);
			buf_adds(&b->folders, pre);
			term_sql(b, t);
			buf_adds(&b->files, ", false)");
			buf_adds(&b->folders, ", false)");
		}
		buf_adds(&b->files, ")");
		buf_adds(&b->folders, ")");
	}
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
	"SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)");

DB_STMT(st_search_folder_visible,
	"SELECT 'view' = ANY (item_permissions($1, NULL, 'folder', $2))");

void h_search(req_t *r)
{
	static const char *const cats[] = { "image", "video", "audio", "document", "archive", "text",
					    "other", "folder", NULL };
	json_object *errors = json_object_new_array();
	const char *qtext = NULL, *file_type = NULL, *from, *to, *folder = NULL, *smin, *smax;
	const char *words, *words_json;
	char *v, lim[24], off[24];
	size_t vn;
	long long limit = 20, offset = 0;
	searchq_t q;
	sb_t b;
	buf_t sql = BUF_INIT;
	PGresult *res;
	int rc, n;

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
	if (folder) {
		const char *p[2] = { r->user.id, folder };

		if ((rc = db_query(r->db, r->arena, &st_search_folder_visible, 2, p, &res)) != DB_OK) {
			resp_db_error(r, rc);
			return;
		}
		if (PQgetvalue(res, 0, 0)[0] != 't') {
			resp_problem(r, 404, "not_found", "No such folder.");
			return;
		}
	}

	words_of(r->arena, &q, &words, &words_json);
	snprintf(lim, sizeof(lim), "%lld", limit + 1);
	snprintf(off, sizeof(off), "%lld", offset);
	param(&b, r->user.id);   /* $1 */
	param(&b, words);        /* $2: the words, for exact and prefix name matches */
	param(&b, words_json);   /* $3: the words as a JSON array */
	param(&b, lim);          /* $4 */
	param(&b, off);          /* $5 */
	buf_adds(&b.files, "SELECT 'file' AS kind, x.id, x.updated_at AS at, "
		 "  CASE WHEN $2 = '' THEN 0 WHEN lower(x.name) = lower($2) THEN 2 "
		 "       WHEN starts_with(lower(x.name), lower($2)) THEN 1 ELSE 0 END AS r1, "
		 "  coalesce(ts_rank(x.search || coalesce(bt.search, ''::tsvector), "
		 "                   (SELECT q FROM qa)), 0) AS r2 "
		 "FROM files x LEFT JOIN blob_text bt ON bt.sha256 = x.sha256 "
		 "WHERE NOT x.is_deleted "
		 "  AND (x.user_id = $1 OR x.folder_id IN (SELECT id FROM shared) "
		 "       OR x.id IN (SELECT g.file_id FROM grants g JOIN users o ON o.id = g.owner_id "
		 "                   AND o.is_active WHERE g.grantee_id = $1 AND g.file_id IS NOT NULL))");
	buf_adds(&b.folders, "SELECT 'folder', f.id, f.updated_at, "
		 "  CASE WHEN $2 = '' THEN 0 WHEN lower(f.name) = lower($2) THEN 2 "
		 "       WHEN starts_with(lower(f.name), lower($2)) THEN 1 ELSE 0 END, "
		 "  coalesce(ts_rank(f.search, (SELECT q FROM qa)), 0) "
		 "FROM folders f "
		 "WHERE NOT f.is_deleted AND f.parent_id IS NOT NULL "
		 "  AND (f.user_id = $1 OR f.id IN (SELECT id FROM shared))");
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
	query_sql(&b, &q);

	buf_adds(&sql, "WITH shared AS MATERIALIZED (SELECT id FROM search_shared_folders($1)), "
		 "w AS MATERIALIZED (SELECT ARRAY(SELECT json_array_elements_text($3::json)) AS words), "
		 "qa AS MATERIALIZED (SELECT search_any_query((SELECT words FROM w)) AS q), "
		 "hits AS (");
	buf_add(&sql, b.files.p, b.files.len);
	buf_adds(&sql, " UNION ALL ");
	buf_add(&sql, b.folders.p, b.folders.len);
	buf_adds(&sql, "), page AS (SELECT * FROM hits ORDER BY r1 DESC, r2 DESC, at DESC, id "
		 "                   LIMIT $4::integer OFFSET $5::integer) "
		 "SELECT p.kind, (SELECT v.item FROM item_view($1, p.kind, p.id) v), "
		 "  to_json(CASE WHEN p.kind = 'file' THEN "
		 "    (SELECT search_matched(x.name, x.tags, x.description, bt.search, (SELECT q FROM qa), "
		 "                           (SELECT words FROM w)) "
		 "       FROM files x LEFT JOIN blob_text bt ON bt.sha256 = x.sha256 WHERE x.id = p.id) "
		 "  ELSE (SELECT search_matched(f.name, NULL, f.description, NULL, (SELECT q FROM qa), "
		 "                              (SELECT words FROM w)) FROM folders f WHERE f.id = p.id) END), "
		 "  CASE WHEN p.kind = 'file' THEN "
		 "    (SELECT search_snippet(bt.content, (SELECT q FROM qa)) "
		 "       FROM files x JOIN blob_text bt ON bt.sha256 = x.sha256 "
		 "      WHERE x.id = p.id AND bt.search @@ (SELECT q FROM qa)) END "
		 "FROM page p ORDER BY p.r1 DESC, p.r2 DESC, p.at DESC, p.id");

	{
		db_stmt_t st = { "search", sql.p, 0, true };

		/* typo tolerance: names whose words are this close to a search
		 * word (pg_trgm word similarity; "reprot" ~ "report": 0.43) */
		if ((rc = db_begin(r->db)) == DB_OK &&
		    (rc = db_query(r->db, r->arena, &st_search_similarity, 0, NULL, NULL)) == DB_OK &&
		    /* a statement of its own shape each time: never prepared */
		    (rc = db_query(r->db, r->arena, &st, b.np, b.p, &res)) == DB_OK)
			rc = db_commit(r->db);
		else
			db_rollback(r->db);
	}
	buf_free(&b.files);
	buf_free(&b.folders);
	buf_free(&sql);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return;
	}
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
}
