/* searchq: the search query language; see searchq.h. */
#include "searchq.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "text.h"

const char *const searchq_kind_names[SEARCHQ_NKINDS] = { "word", "phrase", "name", "tag",
							  "type", "ext", "size", "before",
							  "after", "in" };
const char *const searchq_op_sql[SEARCHQ_NOPS] = { "<", "<=", "=", ">=", ">" };
const char *const searchq_types[] = { "image", "video", "audio", "document", "archive",
				      "text", "other", "folder", NULL };

/* The fields, in enum order from SEARCHQ_NAME. */
static const char *const fields[] = { "name", "tag", "type", "ext", "size", "before", "after",
				      "in" };

#define E_EMPTY    "q is empty"
#define E_LONG     "q must be at most 1000 bytes"
#define E_UTF8     "q must be valid UTF-8"
#define E_CTRL     "q must not contain control characters"
#define E_TERMS    "q must have at most 32 terms"
#define E_TERM     "each term of q must be at most 200 bytes"
#define E_PHRASE   "a phrase in q is empty"
#define E_OR       "OR must stand between two terms"
#define E_VALUE    "a field in q has no value, e.g. name:report"
#define E_TYPE     "type: must be image, video, audio, document, archive, text, other or folder"
#define E_EXT      "ext: must be 1-16 letters or digits, e.g. ext:pdf"
#define E_SIZE     "size: must be a comparison and a size, e.g. size:>10MB or size:<=512KB"
#define E_TIME     "before: and after: must be a date (2026-01-01) or an RFC 3339 date-time"
#define E_IN       "in: must be a folder ID"

static void add_error(searchq_t *q, const char *message)
{
	for (int i = 0; i < q->nerrors; i++)
		if (q->errors[i].message == message)
			return;
	if (q->nerrors < SEARCHQ_MAX_ERRORS) {
		q->errors[q->nerrors].field = "q";
		q->errors[q->nerrors].message = message;
		q->nerrors++;
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Is p[0..n) the word w, ignoring ASCII case? */
static bool is_ci(const char *p, size_t n, const char *w)
{
	size_t i = 0;

	for (; i < n && w[i]; i++)
		if (lower(p[i]) != w[i])
			return false;
	return i == n && w[i] == '\0';
}

static int parse_size(const char *p, size_t n, searchq_term_t *t)
{
	static const char *const units[] = { "b", "kb", "mb", "gb", "tb" };
	size_t d = 0;
	int shift = 0;

	if (n >= 2 && (p[0] == '<' || p[0] == '>') && p[1] == '=') {
		t->op = p[0] == '<' ? SEARCHQ_LE : SEARCHQ_GE;
		p += 2, n -= 2;
	} else if (n >= 1 && (p[0] == '<' || p[0] == '>' || p[0] == '=')) {
		t->op = p[0] == '<' ? SEARCHQ_LT : p[0] == '>' ? SEARCHQ_GT : SEARCHQ_EQ;
		p++, n--;
	} else {
		return -1;
	}
	while (d < n && p[d] >= '0' && p[d] <= '9')
		d++;
	if (d < n) {
		size_t k;

		for (k = 0; k < 5; k++)
			if (is_ci(p + d, n - d, units[k]))
				break;
		if (k == 5)
			return -1;
		shift = 10 * (int)k;
	}
	/* leading zeros could make a number longer than text_parse_uint takes */
	while (d > 1 && p[0] == '0')
		p++, d--;
	if (text_parse_uint(p, d, INT64_MAX >> shift, &t->bytes) < 0)
		return -1;
	t->bytes <<= shift;
	return 0;
}

/* A date (midnight UTC) or an RFC 3339 date-time in years 0001-9999. */
static int parse_time(arena_t *a, const char *p, size_t n, searchq_term_t *t)
{
	char s[32];
	struct tm tm;

	if (n == 10) {
		memcpy(s, p, 10);
		memcpy(s + 10, "T00:00:00Z", 10);
		p = s, n = 20;
	}
	if (text_rfc3339_parse(p, n, &t->time) < 0 || gmtime_r(&t->time, &tm) == NULL ||
	    tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return -1;
	if (snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) != 20)
		return -1;
	t->text = arena_strndup(a, s, 20);
	t->len = 20;
	return 0;
}

/* Check v[0..n), the value of a field, and fill in t. 0, or -1 with an
 * error added. */
static int parse_field(arena_t *a, const char *v, size_t n, searchq_term_t *t, searchq_t *q)
{
	char *s;

	switch (t->kind) {
	case SEARCHQ_NAME:
	case SEARCHQ_TAG:
		t->text = arena_strndup(a, v, n);
		t->len = n;
		return 0;
	case SEARCHQ_TYPE:
		for (int i = 0; searchq_types[i]; i++)
			if (is_ci(v, n, searchq_types[i])) {
				t->text = searchq_types[i];
				t->len = strlen(t->text);
				return 0;
			}
		add_error(q, E_TYPE);
		return -1;
	case SEARCHQ_EXT:
		if (n > 0 && v[0] == '.')
			v++, n--;
		if (n == 0 || n > SEARCHQ_EXT_MAX) {
			add_error(q, E_EXT);
			return -1;
		}
		s = arena_strndup(a, v, n);
		for (size_t i = 0; i < n; i++) {
			s[i] = lower(s[i]);
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) {
				add_error(q, E_EXT);
				return -1;
			}
		}
		t->text = s;
		t->len = n;
		return 0;
	case SEARCHQ_SIZE:
		if (parse_size(v, n, t) < 0) {
			add_error(q, E_SIZE);
			return -1;
		}
		t->text = arena_printf(a, "%lld", t->bytes);
		t->len = strlen(t->text);
		return 0;
	case SEARCHQ_BEFORE:
	case SEARCHQ_AFTER:
		if (parse_time(a, v, n, t) < 0) {
			add_error(q, E_TIME);
			return -1;
		}
		return 0;
	case SEARCHQ_IN:
		if (!text_uuid_valid(v, n)) {
			add_error(q, E_IN);
			return -1;
		}
		s = arena_strndup(a, v, n);
		for (size_t i = 0; i < n; i++)
			s[i] = lower(s[i]);
		t->text = s;
		t->len = n;
		return 0;
	default:
		return -1;
	}
}

/* A phrase opening at p[*i] == '"': its text p[*start..*end), blanks
 * trimmed off the end when the quote is not closed; *i moves past it. */
static void lex_phrase(const char *p, size_t n, size_t *i, size_t *start, size_t *end)
{
	size_t j = *i + 1;

	*start = j;
	while (j < n && p[j] != '"')
		j++;
	*end = j;
	if (j < n) {
		*i = j + 1;
	} else {
		*i = n;
		while (*end > *start && is_blank(p[*end - 1]))
			(*end)--;
	}
}

static bool all_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank(p[i]))
			return false;
	return true;
}

/* The checks on the whole of q that stop everything. */
static const char *check_input(const char *p, size_t n)
{
	if (n > SEARCHQ_MAX_LEN)
		return E_LONG;
	if (!text_utf8_valid(p, n))
		return E_UTF8;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && !is_blank((char)c)) || c == 0x7f)
			return E_CTRL;
	}
	if (all_blank(p, n))
		return E_EMPTY;
	return NULL;
}

int searchq_parse(arena_t *a, const char *p, size_t n, searchq_t *q)
{
	searchq_term_t *terms;
	searchq_group_t *groups;
	const char *err;
	size_t i = 0;
	bool any = false, or_pending = false;

	memset(q, 0, sizeof(*q));
	if ((err = check_input(p, n)) != NULL) {
		add_error(q, err);
		return -1;
	}
	terms = arena_alloc(a, SEARCHQ_MAX_TERMS * sizeof(*terms));
	groups = arena_alloc(a, SEARCHQ_MAX_TERMS * sizeof(*groups));
	q->group = groups;
	for (;;) {
		searchq_term_t t = { .kind = SEARCHQ_WORD };
		size_t start, end;
		bool good = true;

		while (i < n && is_blank(p[i]))
			i++;
		if (i == n)
			break;
		/* a lone "-" is a word */
		if (p[i] == '-' && i + 1 < n && !is_blank(p[i + 1])) {
			t.negated = true;
			i++;
		}
		if (p[i] == '"') {
			t.kind = SEARCHQ_PHRASE;
			lex_phrase(p, n, &i, &start, &end);
		} else {
			const char *colon;

			start = i;
			while (i < n && !is_blank(p[i]) && p[i] != '"')
				i++;
			end = i;
			if (!t.negated && end - start == 2 && memcmp(p + start, "OR", 2) == 0) {
				if (!any || or_pending)
					add_error(q, E_OR);
				or_pending = true;
				continue;
			}
			colon = memchr(p + start, ':', end - start);
			for (size_t f = 0; colon && f < sizeof(fields) / sizeof(fields[0]); f++) {
				if (!is_ci(p + start, (size_t)(colon - p) - start, fields[f]))
					continue;
				t.kind = (enum searchq_kind)(SEARCHQ_NAME + (int)f);
				start = (size_t)(colon - p) + 1;
				if (start == end && i < n && p[i] == '"') {
					lex_phrase(p, n, &i, &start, &end);
					if (all_blank(p + start, end - start)) {
						add_error(q, E_PHRASE);
						good = false;
					}
				} else if (start == end) {
					add_error(q, E_VALUE);
					good = false;
				}
				break;
			}
		}
		if (t.kind == SEARCHQ_PHRASE && all_blank(p + start, end - start)) {
			add_error(q, E_PHRASE);
			good = false;
		}
		if (good && end - start > SEARCHQ_TERM_MAX) {
			add_error(q, E_TERM);
			good = false;
		}
		if (good) {
			if (t.kind == SEARCHQ_WORD || t.kind == SEARCHQ_PHRASE) {
				t.text = arena_strndup(a, p + start, end - start);
				t.len = end - start;
			} else if (parse_field(a, p + start, end - start, &t, q) < 0) {
				good = false;
			}
		}
		/* a bad term is kept in its place (the query fails anyway), so
		 * that the ORs around it are not reported too */
		if (q->nterms == SEARCHQ_MAX_TERMS) {
			add_error(q, E_TERMS);
			or_pending = false;
			break;
		}
		/* after a misplaced leading OR there is no group to join */
		if (!or_pending || q->ngroups == 0)
			groups[q->ngroups++] = (searchq_group_t){ terms + q->nterms, 0 };
		groups[q->ngroups - 1].nalts++;
		terms[q->nterms++] = t;
		or_pending = false;
		any = true;
	}
	if (or_pending)
		add_error(q, E_OR);
	if (q->nerrors > 0) {
		q->group = NULL;
		q->ngroups = q->nterms = 0;
		return -1;
	}
	return 0;
}

/* A name or tag value: bare unless it holds a blank. */
static void render_value(buf_t *b, const char *s)
{
	bool quote = false;

	for (const char *c = s; *c; c++)
		if (is_blank(*c))
			quote = true;
	if (quote)
		buf_addc(b, '"');
	buf_adds(b, s);
	if (quote)
		buf_addc(b, '"');
}

static void render_term(buf_t *b, const searchq_term_t *t)
{
	static const char *const units[] = { "", "KB", "MB", "GB", "TB" };
	long long v;
	int u = 0;

	if (t->negated)
		buf_addc(b, '-');
	if (t->kind != SEARCHQ_WORD && t->kind != SEARCHQ_PHRASE) {
		buf_adds(b, searchq_kind_names[t->kind]);
		buf_addc(b, ':');
	}
	switch (t->kind) {
	case SEARCHQ_PHRASE:
		buf_addc(b, '"');
		buf_adds(b, t->text);
		buf_addc(b, '"');
		break;
	case SEARCHQ_NAME:
	case SEARCHQ_TAG:
		render_value(b, t->text);
		break;
	case SEARCHQ_SIZE:
		v = t->bytes;
		while (u < 4 && v != 0 && v % 1024 == 0)
			v /= 1024, u++;
		buf_addf(b, "%s%lld%s", searchq_op_sql[t->op], v, units[u]);
		break;
	case SEARCHQ_BEFORE:
	case SEARCHQ_AFTER:
		/* text is "YYYY-MM-DDTHH:MM:SSZ": a date alone at midnight */
		if (strcmp(t->text + 10, "T00:00:00Z") == 0)
			buf_add(b, t->text, 10);
		else
			buf_adds(b, t->text);
		break;
	default:
		buf_adds(b, t->text);
		break;
	}
}

char *searchq_render(arena_t *a, const searchq_t *q)
{
	buf_t b = BUF_INIT;
	char *s;

	for (int g = 0; g < q->ngroups; g++) {
		for (int k = 0; k < q->group[g].nalts; k++) {
			if (g || k)
				buf_adds(&b, k ? " OR " : " ");
			render_term(&b, &q->group[g].alt[k]);
		}
	}
	s = arena_strndup(a, buf_str(&b), b.len);
	buf_free(&b);
	return s;
}

static bool term_equal(const searchq_term_t *x, const searchq_term_t *y)
{
	if (x->kind != y->kind || x->negated != y->negated || x->len != y->len ||
	    memcmp(x->text, y->text, x->len) != 0)
		return false;
	if (x->kind == SEARCHQ_SIZE)
		return x->op == y->op && x->bytes == y->bytes;
	if (x->kind == SEARCHQ_BEFORE || x->kind == SEARCHQ_AFTER)
		return x->time == y->time;
	return true;
}

bool searchq_equal(const searchq_t *x, const searchq_t *y)
{
	if (x->ngroups != y->ngroups || x->nterms != y->nterms)
		return false;
	for (int g = 0; g < x->ngroups; g++) {
		if (x->group[g].nalts != y->group[g].nalts)
			return false;
		for (int k = 0; k < x->group[g].nalts; k++)
			if (!term_equal(&x->group[g].alt[k], &y->group[g].alt[k]))
				return false;
	}
	return true;
}
