/*
 * searchq: the q parameter of GET /api/search (issue 7) as a structure the
 * caller turns into parameterised SQL: an AND of groups, each an OR of
 * terms (words, "phrases", and fields such as type:image or size:>10MB).
 * Every value is validated and put in a canonical form here; no text of q
 * is ever meant to be spliced into SQL, only bound as a parameter.
 *
 *   q       = term *( ws [ "OR" ws ] term )    AND binds weaker than OR:
 *                                               a b OR c d = a (b|c) d
 *   term    = [ "-" ] ( word | phrase | field ) "-" negates
 *   phrase  = '"' chars [ '"' ]                 unbalanced: runs to the end
 *   field   = name ":" ( word | phrase )        name case-insensitive;
 *                                               unknown names: plain words
 *
 * Blanks are ASCII (space, \t \n \v \f \r); a '"' also ends a word, so
 * ab"cd" is two terms. An unclosed quote runs to the end of q, less trailing
 * blanks (friendly to search-as-you-type); an empty or all-blank phrase is
 * an error, and so is an OR at either end or next to another OR. "OR" is an
 * operator only in upper case and alone; "-OR" and "\"OR\"" search for it.
 * A lone "-" is a word. Times have whole seconds (a fraction is dropped);
 * the caller should read before:T as "< T" and after:T as ">= T", so that
 * after:2026-01-01 before:2026-01-02 is that day (UTC).
 */
#ifndef COFFER_SEARCHQ_H
#define COFFER_SEARCHQ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"

#define SEARCHQ_MAX_LEN     1000  /* bytes of q */
#define SEARCHQ_MAX_TERMS   32    /* terms (every OR alternative counts) */
#define SEARCHQ_TERM_MAX    200   /* bytes of one word, phrase or field value */
#define SEARCHQ_EXT_MAX     16    /* ext: 1-16 of [a-z0-9] */
#define SEARCHQ_MAX_ERRORS  8

enum searchq_kind {
	SEARCHQ_WORD,    /* text: as typed, no blanks or '"' */
	SEARCHQ_PHRASE,  /* text: as typed between the quotes (blanks kept) */
	SEARCHQ_NAME,    /* name:  text: as typed */
	SEARCHQ_TAG,     /* tag:   text: as typed */
	SEARCHQ_TYPE,    /* type:  text: a category (static string, see searchq_types) */
	SEARCHQ_EXT,     /* ext:   text: lower-case [a-z0-9]{1,16}, no dot */
	SEARCHQ_SIZE,    /* size:  op, bytes; text: bytes in decimal */
	SEARCHQ_BEFORE,  /* before: time; text: "YYYY-MM-DDTHH:MM:SSZ" (UTC) */
	SEARCHQ_AFTER,   /* after:  idem */
	SEARCHQ_IN,      /* in:    text: a lower-case folder UUID */
	SEARCHQ_NKINDS
};

/* Comparison of a size: the SQL operator is searchq_op_sql[op]. */
enum searchq_op { SEARCHQ_LT, SEARCHQ_LE, SEARCHQ_EQ, SEARCHQ_GE, SEARCHQ_GT, SEARCHQ_NOPS };

typedef struct searchq_term {
	enum searchq_kind kind;
	bool negated;        /* "-" in front: the term must NOT match */
	const char *text;    /* never NULL, never empty, NUL-terminated, valid UTF-8
	                      * with no control character but the blanks (which
	                      * only phrases, names and tags hold); see searchq_kind */
	size_t len;          /* strlen(text) */
	enum searchq_op op;  /* SIZE only */
	long long bytes;     /* SIZE only: 0..INT64_MAX */
	time_t time;         /* BEFORE, AFTER only: seconds since the epoch */
} searchq_term_t;

typedef struct searchq_group {
	const searchq_term_t *alt;  /* alternatives: any one may match */
	int nalts;                  /* >= 1 */
} searchq_group_t;

typedef struct searchq_error {
	const char *field;          /* always "q" */
	const char *message;        /* a static sentence */
} searchq_error_t;

typedef struct searchq {
	const searchq_group_t *group;  /* every group must match; arena memory */
	int ngroups;                   /* >= 1 on success */
	int nterms;                    /* alternatives of all groups, 1..SEARCHQ_MAX_TERMS */
	searchq_error_t errors[SEARCHQ_MAX_ERRORS];
	int nerrors;
} searchq_t;

extern const char *const searchq_kind_names[SEARCHQ_NKINDS];  /* "word", ..., "in" */
extern const char *const searchq_op_sql[SEARCHQ_NOPS];        /* "<", "<=", "=", ">=", ">" */
extern const char *const searchq_types[];                      /* categories, NULL-ended */

/* Parse q[0..n) into out (memory from a). Returns 0, or -1 with
 * out->errors set (each with field "q"; duplicates reported once) and no
 * groups. */
int searchq_parse(arena_t *a, const char *q, size_t n, searchq_t *out);
/* The canonical text of a parsed query (arena string): groups joined by
 * " ", alternatives by " OR ", fields in lower case, sizes in the largest
 * exact unit, times in UTC (a date alone when at midnight). Parsing it gives
 * an equal query (searchq_equal). It is at most one byte per term plus one
 * longer than q (a blank after a quote, a closing quote), so it can exceed
 * SEARCHQ_MAX_LEN (and then not parse) only for such a q near the limit. */
char *searchq_render(arena_t *a, const searchq_t *q);
/* Do two parsed queries mean the same, term for term in the same order? */
bool searchq_equal(const searchq_t *x, const searchq_t *y);

#endif
