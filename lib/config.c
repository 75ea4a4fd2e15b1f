/* config: settings file and environment; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "text.h"

enum kind { K_STR, K_INT, K_SIZE, K_OCTAL, K_BOOL3, K_ORIGINS };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;  /* for strings: buffer size; for ints: sizeof */
	long long min, max;
};

#define S(f) K_STR, offsetof(config_t, f), sizeof(((config_t *)0)->f), 0, 0
#define I(f, lo, hi) K_INT, offsetof(config_t, f), sizeof(((config_t *)0)->f), lo, hi
#define Z(f, lo, hi) K_SIZE, offsetof(config_t, f), sizeof(((config_t *)0)->f), lo, hi

static const struct key keys[] = {
	{ "listen", S(listen) },
	{ "socket_mode", K_OCTAL, offsetof(config_t, socket_mode), sizeof(int), 0, 0777 },
	{ "workers", I(workers, 0, 256) },
	{ "max_requests", I(max_requests, 0, 1LL << 40) },
	{ "pid_file", S(pid_file) },
	{ "db", S(db) },
	{ "blob_dir", S(blob_dir) },
	{ "migrations_dir", S(migrations_dir) },
	{ "default_quota", Z(default_quota, 0, 1LL << 60) },
	{ "max_json_body", Z(max_json_body, 1024, 64LL << 20) },
	{ "allowed_origins", K_ORIGINS, 0, 0, 0, 0 },
	{ "session_ttl", I(session_ttl, 60, 10LL * 365 * 86400) },
	{ "cookie_secure", K_BOOL3, offsetof(config_t, cookie_secure), sizeof(int), 0, 0 },
	{ "login_fail_account", I(login_fail_account, 1, 1000000) },
	{ "login_fail_ip", I(login_fail_ip, 1, 1000000) },
	{ "login_window", I(login_window, 1, 86400 * 30) },
	{ "argon2_m_kib", I(argon2_m_kib, 8192, 4 * 1024 * 1024) },
	{ "argon2_t", I(argon2_t, 1, 100) },
	{ "max_file_size", Z(max_file_size, 1, 1LL << 50) },
	{ "max_request_size", Z(max_request_size, 1024, 1LL << 50) },
	{ "versions_keep", I(versions_keep, 1, 100000) },
	{ "upload_mime_allow", S(upload_mime_allow) },
	{ "upload_mime_block", S(upload_mime_block) },
	{ "jobs_interval", I(jobs_interval, 1, 86400) },
	{ "compress", K_BOOL3, offsetof(config_t, compress), sizeof(int), 0, 0 },
	{ "raw_grace", I(raw_grace, 0, 86400) },
	{ "jobs_threshold", I(jobs_threshold, 1, 10000000) },
	{ "trash_retention_days", I(trash_retention_days, 0, 36500) },
	{ "activity_retention_days", I(activity_retention_days, 0, 36500) },
	{ "trusted_proxies", S(trusted_proxies) },
	{ "user_rate", I(user_rate, 0, 1000000000) },
	{ "user_rate_window", I(user_rate_window, 1, 86400) },
	{ "pdftotext", S(pdftotext) },
};

void config_defaults(config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->socket_mode = 0660;
	c->workers = 0;
	c->max_requests = 10000;
	snprintf(c->db, sizeof(c->db), "dbname=coffer connect_timeout=3");
	snprintf(c->blob_dir, sizeof(c->blob_dir), "var/blobs");
	snprintf(c->migrations_dir, sizeof(c->migrations_dir), "migrations");
	c->default_quota = 10LL << 30;
	c->max_json_body = 1LL << 20;
	c->session_ttl = 14 * 86400;
	c->cookie_secure = -1;
	c->login_fail_account = 5;
	c->login_fail_ip = 20;
	c->login_window = 900;
	c->argon2_m_kib = 19456;
	c->argon2_t = 2;
	c->max_file_size = 500LL << 20;
	c->max_request_size = 1LL << 30;
	c->versions_keep = 10;
	c->jobs_interval = 5;
	c->compress = -1;
	c->raw_grace = 60;
	c->jobs_threshold = 1000;
	c->trash_retention_days = 30;
	c->activity_retention_days = 365;
	c->user_rate = 6000;
	c->user_rate_window = 60;
	snprintf(c->pdftotext, sizeof(c->pdftotext), "/usr/bin/pdftotext");
}

static void set_int(void *dst, size_t size, long long v)
{
	if (size == sizeof(int))
		*(int *)dst = (int)v;
	else
		*(long long *)dst = v;
}

int config_set(config_t *c, const char *key, size_t klen, const char *val, size_t vlen,
	       char *err, size_t errlen)
{
	const struct key *k = NULL;
	char *dst;
	long long v;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == klen && strncasecmp(keys[i].name, key, klen) == 0)
			k = &keys[i];
	if (k == NULL) {
		snprintf(err, errlen, "unknown key '%.*s'", (int)(klen > 64 ? 64 : klen), key);
		return -1;
	}
	dst = (char *)c + k->off;
	switch (k->kind) {
	case K_STR:
		if (vlen >= k->size || memchr(val, '\0', vlen)) {
			snprintf(err, errlen, "%s: value too long", k->name);
			return -1;
		}
		memcpy(dst, val, vlen);
		dst[vlen] = '\0';
		return 0;
	case K_INT:
		if (text_parse_uint(val, vlen, k->max, &v) < 0 || v < k->min)
			goto range;
		set_int(dst, k->size, v);
		return 0;
	case K_SIZE:
		if (text_parse_size(val, vlen, &v) < 0 || v < k->min || v > k->max)
			goto range;
		set_int(dst, k->size, v);
		return 0;
	case K_OCTAL:
		v = 0;
		if (vlen == 0 || vlen > 4)
			goto range;
		for (size_t i = 0; i < vlen; i++) {
			if (val[i] < '0' || val[i] > '7')
				goto range;
			v = v * 8 + (val[i] - '0');
		}
		if (v > k->max)
			goto range;
		set_int(dst, k->size, v);
		return 0;
	case K_BOOL3:
		if (vlen == 4 && strncasecmp(val, "auto", 4) == 0)
			v = -1;
		else if ((vlen == 2 && strncasecmp(val, "on", 2) == 0) || (vlen == 1 && val[0] == '1') ||
			 (vlen == 4 && strncasecmp(val, "true", 4) == 0))
			v = 1;
		else if ((vlen == 3 && strncasecmp(val, "off", 3) == 0) || (vlen == 1 && val[0] == '0') ||
			 (vlen == 5 && strncasecmp(val, "false", 5) == 0))
			v = 0;
		else
			goto range;
		set_int(dst, k->size, v);
		return 0;
	case K_ORIGINS: {
		size_t i = 0;

		if (memchr(val, '\0', vlen))
			goto range;
		c->norigins = 0;
		while (i < vlen) {
			size_t s;

			while (i < vlen && (val[i] == ' ' || val[i] == '\t' || val[i] == ','))
				i++;
			s = i;
			while (i < vlen && val[i] != ' ' && val[i] != '\t' && val[i] != ',')
				i++;
			if (i == s)
				break;
			if (c->norigins == CONFIG_MAX_ORIGINS || i - s >= sizeof(c->origins[0])) {
				snprintf(err, errlen, "allowed_origins: too many or too long");
				return -1;
			}
			memcpy(c->origins[c->norigins], val + s, i - s);
			c->origins[c->norigins][i - s] = '\0';
			c->norigins++;
		}
		return 0;
	}
	}
range:
	snprintf(err, errlen, "%s: invalid value '%.*s'", k->name, (int)(vlen > 64 ? 64 : vlen), val);
	return -1;
}

static void trim(const char **p, size_t *n)
{
	while (*n && isspace((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

int config_parse(config_t *c, const char *p, size_t n, char *err, size_t errlen)
{
	size_t i = 0;
	int line = 0;

	while (i < n) {
		const char *l = p + i, *nl = memchr(l, '\n', n - i), *eq;
		size_t ll = nl ? (size_t)(nl - l) : n - i;
		const char *k, *v;
		size_t kl, vl;
		char e[200];

		i += ll + 1;
		line++;
		k = l;
		kl = ll;
		trim(&k, &kl);
		if (kl == 0 || k[0] == '#')
			continue;
		eq = memchr(k, '=', kl);
		if (eq == NULL) {
			snprintf(err, errlen, "line %d: expected key = value", line);
			return -1;
		}
		v = eq + 1;
		vl = kl - (size_t)(v - k);
		kl = (size_t)(eq - k);
		trim(&k, &kl);
		trim(&v, &vl);
		if (config_set(c, k, kl, v, vl, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "line %d: %s", line, e);
			return -1;
		}
	}
	return 0;
}

int config_load(config_t *c, const char *path, char *err, size_t errlen)
{
	config_defaults(c);
	if (path) {
		FILE *f = fopen(path, "r");
		buf_t b = BUF_INIT;
		char tmp[4096];
		size_t r;
		int rc;

		if (f == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0)
			buf_add(&b, tmp, r);
		fclose(f);
		rc = config_parse(c, b.p ? b.p : "", b.len, err, errlen);
		buf_free(&b);
		if (rc < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char name[64], e[200];
		const char *v;
		size_t j;

		snprintf(name, sizeof(name), "COFFER_%s", keys[i].name);
		for (j = 7; name[j]; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		v = getenv(name);
		if (v && config_set(c, keys[i].name, strlen(keys[i].name), v, strlen(v), e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s: %s", name, e);
			return -1;
		}
	}
	return 0;
}

int config_origin_allowed(const config_t *c, const char *p, size_t n)
{
	for (int i = 0; i < c->norigins; i++)
		if (strlen(c->origins[i]) == n && memcmp(c->origins[i], p, n) == 0)
			return 1;
	return 0;
}
