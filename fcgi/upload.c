/*
 * upload: POST /api/upload. The multipart body streams through the parser
 * in fixed-size chunks; each file part goes straight into a temp blob while
 * SHA-256 is computed, so a worker's memory does not depend on file size.
 * Every file is checked (size, type, name) and stored in its own
 * transaction: one bad file does not sink the others.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blob.h"
#include "extract.h"
#include "files.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "mime.h"
#include "multipart.h"
#include "tags.h"
#include "text.h"

#define UP_CHUNK      (256 * 1024)
#define UP_SNIFF      (64 * 1024)
#define UP_FIELD_MAX  8192
#define UP_MAX_FILES  100
/* multipart framing a request may add on top of its file bytes before an
 * early quota refusal is certain: 100 parts of at most 8 KiB of headers */
#define UP_OVERHEAD   (1LL << 20)

enum part_kind { P_NONE, P_FIELD, P_FILE, P_SKIP };

typedef struct upload {
	req_t *r;
	/* settings for the file parts that follow */
	const char *folder_id;
	const char *description;   /* NULL = leave as is (new file: "") */
	const char *tags_json;     /* JSON array text, NULL = leave as is */
	const char *policy;
	json_object *field_error;  /* a bad field: files after it are refused with it */
	int field_status;
	char field_error_name[32]; /* ... until that field comes again, valid */
	json_object *files, *errors;
	int nfiles;
	/* the part being read */
	enum part_kind kind;
	char field[32];
	buf_t value;
	bool value_too_long;
	char *name;
	size_t name_len;
	blob_tmp_t tmp;
	long long size;
	size_t sniff_len;
	bool typed;
	char detected[128];
	const char *mime;
	size_t head_len;           /* bytes of the file in head[] */
	extract_text_t text;       /* its text, for the search index */
} upload_t;

/* per-worker buffers: the same 1.5 MiB or so whatever the upload size */
static char chunk[UP_CHUNK];
static char sniff[UP_SNIFF];
static unsigned char head[EXTRACT_IMAGE_SCAN];   /* where image sizes are read */
static char text_buf[EXTRACT_TEXT_CAP + 1];      /* + its NUL */
static char meta[EXTRACT_METADATA_MAX];          /* the metadata object's JSON */

static void add_error(upload_t *u, const char *name, size_t n, json_object *problem)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "name", name && text_utf8_valid(name, n) ?
			       json_object_new_string_len(name, (int)n) : NULL);
	json_object_object_add(e, "error", problem);
	json_object_array_add(u->errors, e);
}

static void file_error(upload_t *u, int status, const char *code, const char *detail)
{
	add_error(u, u->name, u->name_len, problem_new(status, code, detail));
	blob_tmp_discard(&u->tmp);
	u->kind = P_SKIP;
}

static void field_fail(upload_t *u, int status, const char *code, const char *detail)
{
	json_object *p = problem_new(status, code, detail);

	if (u->field_error)
		json_object_put(u->field_error);
	u->field_error = p;
	u->field_status = status;
	snprintf(u->field_error_name, sizeof(u->field_error_name), "%s", u->field);
	add_error(u, u->field, strlen(u->field), json_object_get(p));
}

static bool known_field(const char *name, size_t n)
{
	static const char *const fields[] = { "folder_id", "description", "tags", "on_conflict" };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (n == strlen(fields[i]) && memcmp(name, fields[i], n) == 0)
			return true;
	return false;
}

static bool file_field(const char *name, size_t n)
{
	return (n == 4 && memcmp(name, "file", 4) == 0) || (n == 5 && memcmp(name, "files", 5) == 0) ||
	       (n == 7 && memcmp(name, "files[]", 7) == 0);
}

static int on_part_begin(void *ctx, const mp_part_t *p)
{
	upload_t *u = ctx;
	req_t *r = u->r;

	u->kind = P_SKIP;
	u->name = NULL;
	u->name_len = 0;
	u->size = 0;
	u->sniff_len = 0;
	u->typed = false;
	u->mime = NULL;
	u->head_len = 0;
	extract_text_init(&u->text, text_buf, EXTRACT_TEXT_CAP);
	if (!p->has_filename) {
		snprintf(u->field, sizeof(u->field), "%.*s",
			 (int)(p->name_len < sizeof(u->field) - 1 ? p->name_len : sizeof(u->field) - 1),
			 p->name);
		if (file_field(p->name, p->name_len)) {
			add_error(u, p->name, p->name_len, problem_new(400, "invalid_request",
				  "A file part has no filename."));
		} else if (!known_field(p->name, p->name_len)) {
			add_error(u, p->name, p->name_len, problem_new(400, "invalid_request",
				  "Unknown form field; expected folder_id, description, tags, "
				  "on_conflict or files."));
		} else {
			u->kind = P_FIELD;
			buf_reset(&u->value);
			u->value_too_long = false;
		}
		return 0;
	}
	u->name = arena_strndup(r->arena, p->filename, p->filename_len);
	u->name_len = p->filename_len;
	if (++u->nfiles > UP_MAX_FILES) {
		add_error(u, u->name, u->name_len, problem_new(400, "invalid_request",
			  "At most 100 files can be uploaded in one request."));
		return 0;
	}
	if (u->field_error) {
		add_error(u, u->name, u->name_len, json_object_get(u->field_error));
		return 0;
	}
	if (!text_name_valid(u->name, u->name_len)) {
		add_error(u, u->name, u->name_len, problem_new(400, "invalid_request",
			  "A file name must be 1-255 bytes of UTF-8 without '/' or control "
			  "characters, and not '.' or '..'."));
		return 0;
	}
	if (blob_tmp_open(&u->tmp, r->cfg->blob_dir, "up-") < 0) {
		log_error("upload: cannot create a temp file in %s/tmp: %s", r->cfg->blob_dir,
			  strerror(errno));
		add_error(u, u->name, u->name_len, problem_new(503, "unavailable",
			  "The storage volume is unavailable; try again shortly."));
		return 0;
	}
	u->kind = P_FILE;
	return 0;
}

/* Type checks on the first bytes: libmagic, the extension, the policy. */
static bool check_type(upload_t *u)
{
	const config_t *cfg = u->r->cfg;
	char detail[512];

	u->typed = true;
	mime_detect(sniff, u->sniff_len, u->detected, sizeof(u->detected));
	u->mime = mime_choose(u->name, u->name_len, u->detected);
	if (mime_contradicts(u->name, u->name_len, u->detected)) {
		snprintf(detail, sizeof(detail),
			 "The content (%s) does not match the file name's extension.", u->detected);
		file_error(u, 415, "file_type_not_allowed", detail);
		return false;
	}
	if (!mime_allowed(cfg->upload_mime_allow, cfg->upload_mime_block, u->mime)) {
		snprintf(detail, sizeof(detail), "Files of type %s are not allowed here.", u->mime);
		file_error(u, 415, "file_type_not_allowed", detail);
		return false;
	}
	return true;
}

static int on_part_data(void *ctx, const char *p, size_t n)
{
	upload_t *u = ctx;

	if (u->kind == P_FIELD) {
		if (u->value.len + n > UP_FIELD_MAX)
			u->value_too_long = true;
		else
			buf_add(&u->value, p, n);
		return 0;
	}
	if (u->kind != P_FILE)
		return 0;
	if (u->size + (long long)n > u->r->cfg->max_file_size) {
		char detail[128];

		snprintf(detail, sizeof(detail), "The file is larger than the %lld-byte limit.",
			 u->r->cfg->max_file_size);
		file_error(u, 413, "file_too_large", detail);
		return 0;
	}
	if (!u->typed) {
		size_t take = n < UP_SNIFF - u->sniff_len ? n : UP_SNIFF - u->sniff_len;

		memcpy(sniff + u->sniff_len, p, take);
		u->sniff_len += take;
		if (u->sniff_len == UP_SNIFF && !check_type(u))
			return 0;
	}
	if (u->head_len < sizeof(head)) {
		size_t take = n < sizeof(head) - u->head_len ? n : sizeof(head) - u->head_len;

		memcpy(head + u->head_len, p, take);
		u->head_len += take;
	}
	if (!extract_text_full(&u->text))
		extract_text_feed(&u->text, (const unsigned char *)p, n);
	if (blob_tmp_write(&u->tmp, p, n) < 0) {
		log_error("upload: writing %s: %s", u->tmp.path, strerror(errno));
		file_error(u, 503, "unavailable", "The storage volume is unavailable; try again shortly.");
		return 0;
	}
	u->size += (long long)n;
	return 0;
}

static void apply_field_value(upload_t *u);

static void apply_field(upload_t *u)
{
	json_object *before = u->field_error;

	apply_field_value(u);
	/* the same field again, now valid: the files after it go ahead */
	if (u->field_error && u->field_error == before &&
	    strcmp(u->field_error_name, u->field) == 0) {
		json_object_put(u->field_error);
		u->field_error = NULL;
	}
}

static void apply_field_value(upload_t *u)
{
	req_t *r = u->r;
	const char *v = u->value.p ? u->value.p : "";
	size_t n = u->value.len;
	int rc;

	if (u->value_too_long) {
		field_fail(u, 400, "invalid_request", "A form field is longer than 8192 bytes.");
		return;
	}
	if (strcmp(u->field, "folder_id") == 0) {
		rc = files_folder_check(r, v, n);
		if (rc == 0)
			u->folder_id = arena_strndup(r->arena, v, n);
		else
			field_fail(u, rc, rc == 404 ? "not_found" : rc == 400 ? "invalid_request" :
				   rc == 403 ? "forbidden" : "unavailable",
				   rc == 404 ? "The folder does not exist." :
				   rc == 400 ? "folder_id must be a folder ID." :
				   rc == 403 ? "You may not add files to this folder." :
				   "The database is unavailable; try again shortly.");
	} else if (strcmp(u->field, "description") == 0) {
		if (n > FILES_DESCRIPTION_MAX || !text_utf8_valid(v, n) || memchr(v, 0, n))
			field_fail(u, 400, "invalid_request",
				   "description must be at most 4096 bytes of UTF-8.");
		else
			u->description = arena_strndup(r->arena, v, n);
	} else if (strcmp(u->field, "tags") == 0) {
		const char *err = NULL;
		const char *tags = tags_from_text(r->arena, v, n, &err);

		if (tags == NULL)
			field_fail(u, 400, "invalid_request", err);
		else
			u->tags_json = tags;
	} else if (strcmp(u->field, "on_conflict") == 0) {
		const char *pol = files_policy(v, n);

		if (pol == NULL)
			field_fail(u, 400, "invalid_request",
				   "on_conflict must be version, rename or fail.");
		else
			u->policy = pol;
	}
}

static void store(upload_t *u)
{
	req_t *r = u->r;
	unsigned char sha[32];
	files_found_t found;
	files_stored_t st;
	int status;

	if (blob_tmp_finish(&u->tmp, sha) < 0) {
		log_error("upload: syncing %s: %s", u->tmp.path, strerror(errno));
		file_error(u, 503, "unavailable", "The storage volume is unavailable; try again shortly.");
		return;
	}
	{
		/* what the first bytes say: an image's size, libmagic's
		 * description; a text file's words */
		size_t tl = extract_text_done(&u->text);

		found.metadata = extract_metadata(head, u->head_len, meta, sizeof(meta)) > 0 ?
				 meta : NULL;
		text_buf[tl] = '\0';
		found.text = tl > 0 && extract_text_wanted(u->mime) ? text_buf : NULL;
		found.text_later = strcmp(u->mime, "application/pdf") == 0;
	}
	status = files_store(r, &u->tmp, sha, u->folder_id, u->name, u->mime, u->description,
			     u->tags_json, u->policy, &found, &st);
	if (status != 201) {
		add_error(u, u->name, u->name_len, st.problem);
		blob_tmp_discard(&u->tmp);
		return;
	}
	json_object_array_add(u->files, st.file);
}

static int on_part_end(void *ctx)
{
	upload_t *u = ctx;

	if (u->kind == P_FIELD)
		apply_field(u);
	else if (u->kind == P_FILE && (u->typed || check_type(u)))
		store(u);
	u->kind = P_NONE;
	return 0;
}

/* Settings given in the query string are defaults for the whole request. */
static int query_defaults(upload_t *u)
{
	static const char *const keys[] = { "folder_id", "description", "tags", "on_conflict" };
	req_t *r = u->r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v;
		size_t n;
		int rc = req_query(r, keys[i], &v, &n);

		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		snprintf(u->field, sizeof(u->field), "%s", keys[i]);
		buf_reset(&u->value);
		buf_add(&u->value, v, n);
		u->value_too_long = n > UP_FIELD_MAX;
		apply_field(u);
		if (u->field_error) {
			json_object *p = json_object_get(u->field_error);

			resp_problem_obj(r, u->field_status, p);
			return -1;
		}
	}
	return 0;
}

static void upload_cleanup(void *p)
{
	upload_t *u = p;

	blob_tmp_discard(&u->tmp);
	buf_free(&u->value);
	if (u->field_error)
		json_object_put(u->field_error);
	if (u->files)
		json_object_put(u->files);
	if (u->errors)
		json_object_put(u->errors);
}

/* Read and drop what is left of the body, so nginx is not cut off while it
 * still sends (it would answer 502 instead of our answer). */
static void drain(req_t *r)
{
	while (FCGX_GetStr(chunk, sizeof(chunk), r->fcgi->in) > 0)
		;
}

static void answer(upload_t *u)
{
	req_t *r = u->r;
	json_object *o;

	if (json_object_array_length(u->files) > 0 || json_object_array_length(u->errors) == 0) {
		o = json_object_new_object();
		json_object_object_add(o, "files", json_object_get(u->files));
		json_object_object_add(o, "errors", json_object_get(u->errors));
		resp_json(r, 201, o);
		return;
	}
	/* nothing stored: the first error decides the status */
	{
		json_object *first = json_object_array_get_idx(u->errors, 0), *p, *st;

		json_object_object_get_ex(first, "error", &p);
		o = json_object_new_object();
		json_object_object_foreach(p, k, v)
			json_object_object_add(o, k, json_object_get(v));
		json_object_object_add(o, "files", json_object_get(u->files));
		json_object_object_add(o, "errors", json_object_get(u->errors));
		json_object_object_get_ex(p, "status", &st);
		resp_problem_obj(r, (int)json_object_get_int(st), o);
	}
}

DB_STMT(st_editor_somewhere,
	"SELECT EXISTS (SELECT 1 FROM grants WHERE grantee_id = $1 AND role = 'editor')");

/* An editor of someone's folder may upload there on the owner's quota, so
 * their own quota alone does not refuse an upload before its folder is
 * known (file_store charges whoever owns the folder). */
static bool may_upload_for_others(req_t *r)
{
	const char *p[1] = { r->user.id };
	PGresult *res;

	return db_query(r->db, r->arena, &st_editor_somewhere, 1, p, &res) == DB_OK &&
	       PQgetvalue(res, 0, 0)[0] == 't';
}

/* What can be judged from the headers alone: the type, the boundary, and a
 * Content-Length already over the request limit or the quota left. 0 when
 * the body is worth reading (*len = Content-Length or -1), else answered. */
static int early_checks(req_t *r, char *boundary, size_t *blen, long long *len)
{
	const char *ct = req_param(r, "CONTENT_TYPE");
	const char *cl = req_param(r, r->upload_check ? "COFFER_UPLOAD_LENGTH" : "CONTENT_LENGTH");

	*len = -1;
	if (ct == NULL || !http_media_type_is(ct, strlen(ct), "multipart/form-data")) {
		resp_problem(r, 415, "unsupported_media_type",
			     "Uploads must be multipart/form-data.");
		return -1;
	}
	if (mp_boundary(ct, strlen(ct), boundary, blen) < 0) {
		resp_problem(r, 400, "invalid_request",
			     "The multipart boundary is missing or invalid.");
		return -1;
	}
	if (cl && *cl && (*len = http_content_length(cl, strlen(cl))) < 0) {
		resp_problem(r, 400, "invalid_request", "Content-Length is invalid.");
		return -1;
	}
	if (*len > r->cfg->max_request_size) {
		resp_problem(r, 413, "file_too_large", "The upload is larger than allowed.");
		return -1;
	}
	if (*len > r->user.quota - r->user.used + UP_OVERHEAD && !may_upload_for_others(r)) {
		resp_problem(r, 507, "quota_exceeded",
			     "The upload is larger than the storage quota left.");
		return -1;
	}
	return 0;
}

/* nginx asks (auth_request, before it reads the body) whether an upload
 * may go ahead: 204 yes; a refusal goes to the client at once. */
void h_upload_check(req_t *r)
{
	char boundary[MP_BOUNDARY_MAX + 1];
	size_t blen;
	long long len;

	if (early_checks(r, boundary, &blen, &len) == 0)
		resp_empty(r, 204);
}

void h_upload(req_t *r)
{
	long long len;
	char boundary[MP_BOUNDARY_MAX + 1];
	size_t blen;
	mp_parser_t mp;
	mp_callbacks_t cb = { on_part_begin, on_part_data, on_part_end };
	upload_t *u;
	int rc = MP_OK, n;

	if (early_checks(r, boundary, &blen, &len) < 0)
		return;
	u = arena_alloc(r->arena, sizeof(*u));
	u->r = r;
	u->tmp.fd = -1;
	u->policy = "version";
	u->folder_id = r->user.root_folder_id;
	buf_init(&u->value);
	u->files = json_object_new_array();
	u->errors = json_object_new_array();
	arena_on_clear(r->arena, upload_cleanup, u);
	if (query_defaults(u) < 0)
		return;
	mp_init(&mp, boundary, blen, &cb, u);
	while ((n = FCGX_GetStr(chunk, sizeof(chunk), r->fcgi->in)) > 0) {
		rc = mp_feed(&mp, chunk, (size_t)n);
		if (rc != MP_OK || mp_done(&mp))
			break;
	}
	if (rc == MP_OK)
		rc = mp_finish(&mp);
	if (rc != MP_OK) {
		const char *what = rc == MP_ETRUNCATED ? "The request body ended early." :
			rc == MP_EHEADER_TOO_LARGE ? "A part's headers are larger than 8 KiB." :
			rc == MP_ETOO_MANY_PARTS ? "The request has too many parts." :
			"The multipart body is malformed.";

		/* named after the part it broke, when it broke one */
		if (u->kind == P_FIELD)
			add_error(u, u->field, strlen(u->field), problem_new(400, "invalid_request", what));
		else
			add_error(u, u->kind == P_NONE ? NULL : u->name, u->name_len,
				  problem_new(400, "invalid_request", what));
		blob_tmp_discard(&u->tmp);
		u->kind = P_NONE;
	}
	drain(r);
	if (u->nfiles == 0 && json_object_array_length(u->errors) == 0) {
		resp_problem(r, 400, "invalid_request", "The request has no file parts.");
		return;
	}
	answer(u);
}
