/*
 * fuzz-config: config_parse on arbitrary file text. Invariants: it returns
 * 0 or -1; an error message is "line N: ..." with N within the text's line
 * count; on success every setting is within its documented range, strings
 * are terminated inside their arrays and every listed origin is allowed;
 * parsing is deterministic. The text sits in an exactly-sized heap buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_ranges(const config_t *c)
{
	CHECK(TERMINATED(c->listen) && TERMINATED(c->pid_file) && TERMINATED(c->db) &&
	      TERMINATED(c->blob_dir) && TERMINATED(c->migrations_dir));
	CHECK(c->socket_mode >= 0 && c->socket_mode <= 0777);
	CHECK(c->workers >= 0 && c->workers <= 256);
	CHECK(c->max_requests >= 0 && c->max_requests <= 1LL << 40);
	CHECK(c->default_quota >= 0 && c->default_quota <= 1LL << 60);
	CHECK(c->max_json_body >= 1024 && c->max_json_body <= 64LL << 20);
	CHECK(c->session_ttl >= 60 && c->session_ttl <= 10LL * 365 * 86400);
	CHECK(c->cookie_secure >= -1 && c->cookie_secure <= 1);
	CHECK(c->login_fail_account >= 1 && c->login_fail_ip >= 1);
	CHECK(c->login_window >= 1 && c->login_window <= 86400 * 30);
	CHECK(c->argon2_m_kib >= 8192 && c->argon2_m_kib <= 4 * 1024 * 1024);
	CHECK(c->argon2_t >= 1 && c->argon2_t <= 100);
	CHECK(c->norigins >= 0 && c->norigins <= CONFIG_MAX_ORIGINS);
	for (int i = 0; i < c->norigins; i++) {
		size_t n = strnlen(c->origins[i], sizeof(c->origins[i]));

		CHECK(n > 0 && n < sizeof(c->origins[i]));
		CHECK(strpbrk(c->origins[i], " \t,") == NULL);
		CHECK(config_origin_allowed(c, c->origins[i], n));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	config_t c1, c2;
	char err1[256], err2[256];
	char *p = malloc(size ? size : 1);
	int rc1, rc2;

	if (p == NULL)
		abort();
	if (size)
		memcpy(p, data, size);
	config_defaults(&c1);
	config_defaults(&c2);
	memset(err1, 'E', sizeof(err1));
	rc1 = config_parse(&c1, p, size, err1, sizeof(err1));
	rc2 = config_parse(&c2, p, size, err2, sizeof(err2));
	CHECK(rc1 == 0 || rc1 == -1);
	CHECK(rc1 == rc2);
	if (rc1 == 0) {
		check_ranges(&c1);
		CHECK(memcmp(&c1, &c2, sizeof(c1)) == 0);
	} else {
		size_t lines = 1;
		long line;

		for (size_t i = 0; i < size; i++)
			lines += p[i] == '\n';
		CHECK(memchr(err1, '\0', sizeof(err1)) != NULL);
		CHECK(strncmp(err1, "line ", 5) == 0);
		line = strtol(err1 + 5, NULL, 10);
		CHECK(line >= 1 && (size_t)line <= lines);
		CHECK(strcmp(err1, err2) == 0);
	}
	free(p);
	return 0;
}
