/*
 * config: the settings shared by the worker and the admin CLI. Read from a
 * "key = value" file (# comments), then overridden by COFFER_<KEY> variables
 * from the environment. Unknown keys and bad values are errors, reported
 * with the line number, so a typo never silently falls back to a default.
 */
#ifndef COFFER_CONFIG_H
#define COFFER_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_ORIGINS 16

typedef struct config {
	char listen[256];          /* "unix:/path" or "host:port"; "" = inherited fd 0 */
	int socket_mode;           /* permissions of a unix socket */
	int workers;               /* 0 = number of cores */
	long long max_requests;    /* recycle a worker after this many; 0 = never */
	char pid_file[256];
	char db[1024];             /* libpq conninfo */
	char blob_dir[256];
	char migrations_dir[256];
	long long default_quota;
	long long max_json_body;
	char origins[CONFIG_MAX_ORIGINS][256];
	int norigins;
	long long session_ttl;     /* seconds */
	int cookie_secure;         /* -1 auto, 0 off, 1 on */
	int login_fail_account;
	int login_fail_ip;
	int login_window;          /* seconds */
	int argon2_m_kib;
	int argon2_t;
	/* files */
	long long max_file_size;     /* per uploaded file */
	long long max_request_size;  /* per upload request body */
	int versions_keep;           /* versions retained per file (>= 1) */
	char upload_mime_allow[1024]; /* space-separated patterns; "" = all */
	char upload_mime_block[1024]; /* space-separated patterns; block wins */
	int jobs_interval;           /* seconds between background job passes */
	int compress;                /* -1 auto (on), 0 off, 1 on */
	int raw_grace;               /* seconds a compressed blob keeps its raw copy */
	int jobs_threshold;          /* items above which a tree operation becomes a background job */
	int trash_retention_days;    /* trash units older than this are purged by maintenance; 0 = never */
	int activity_retention_days; /* activity entries older than this are pruned by maintenance; 0 = never */
	char trusted_proxies[1024];  /* space-separated addresses/CIDRs whose X-Forwarded-For is believed */
	int user_rate;               /* requests per user per user_rate_window; 0 = no budget */
	int user_rate_window;        /* seconds */
	char pdftotext[256];         /* poppler's pdftotext, for PDF text; "" = none */
} config_t;

/* Fill c with defaults. */
void config_defaults(config_t *c);
/* Apply one "key", "value" pair. Returns 0, or -1 with a message in err. */
int config_set(config_t *c, const char *key, size_t klen, const char *val, size_t vlen,
	       char *err, size_t errlen);
/* Parse a whole file's text p[0..n). Returns 0, or -1 with "line N: ..." in err. */
int config_parse(config_t *c, const char *p, size_t n, char *err, size_t errlen);
/* Defaults, then path (if not NULL), then the environment. 0 or -1 with err. */
int config_load(config_t *c, const char *path, char *err, size_t errlen);
/* True when origin p[0..n) is in the allow-list. */
int config_origin_allowed(const config_t *c, const char *p, size_t n);

#endif
