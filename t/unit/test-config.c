/*
 * test-config: defaults; the "key = value" parser (comments, blanks, CRLF,
 * spaces, values containing '='), errors with line numbers for unknown keys
 * and bad values, size suffixes, octal socket modes, cookie_secure
 * auto/on/off, the origins list and its exact-match lookup; config_load
 * with COFFER_<KEY> environment overrides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "tap.h"

static const char *const env_names[] = {
	"COFFER_LISTEN", "COFFER_SOCKET_MODE", "COFFER_WORKERS", "COFFER_MAX_REQUESTS",
	"COFFER_PID_FILE", "COFFER_DB", "COFFER_BLOB_DIR", "COFFER_MIGRATIONS_DIR",
	"COFFER_DEFAULT_QUOTA", "COFFER_MAX_JSON_BODY", "COFFER_ALLOWED_ORIGINS",
	"COFFER_SESSION_TTL", "COFFER_COOKIE_SECURE", "COFFER_LOGIN_FAIL_ACCOUNT",
	"COFFER_LOGIN_FAIL_IP", "COFFER_LOGIN_WINDOW", "COFFER_ARGON2_M_KIB", "COFFER_ARGON2_T",
};

/* config_parse of a string copied into an exactly-sized heap buffer. */
static int parse(config_t *c, const char *text, char *err, size_t errlen)
{
	size_t n = strlen(text);
	char *p = malloc(n ? n : 1);
	int rc;

	if (p == NULL)
		abort();
	memcpy(p, text, n);
	err[0] = '\0';
	rc = config_parse(c, p, n, err, errlen);
	free(p);
	return rc;
}

static void test_defaults(void)
{
	config_t c;

	config_defaults(&c);
	is_int(c.workers, 0, "default workers 0 (= cores)");
	is_int(c.max_requests, 10000, "default max_requests");
	is_int(c.default_quota, 10LL << 30, "default quota 10G");
	is_int(c.max_json_body, 1 << 20, "default max_json_body 1M");
	is_int(c.session_ttl, 1209600, "default session_ttl 14 days");
	is_int(c.cookie_secure, -1, "default cookie_secure auto");
	is_int(c.login_fail_account, 5, "default login_fail_account");
	is_int(c.login_fail_ip, 20, "default login_fail_ip");
	is_int(c.login_window, 900, "default login_window");
	is_int(c.argon2_m_kib, 19456, "default argon2_m_kib");
	is_int(c.argon2_t, 2, "default argon2_t");
	is_int(c.norigins, 0, "no allowed origins by default");
	is_str(c.listen, "", "no listen by default");
}

static void test_file(void)
{
	config_t c;
	char err[256];
	int rc;

	config_defaults(&c);
	rc = parse(&c,
		   "# Coffer test config\n"
		   "\n"
		   "   # an indented comment\n"
		   "listen          = unix:/tmp/coffer.sock\n"
		   "socket_mode=0666\n"
		   "\tworkers\t=\t3\t\n"
		   "max_requests = 0\r\n"
		   "pid_file = /run/coffer.pid\n"
		   "db              = host=127.0.0.1 port=5432 dbname=coffer password=a#b\n"
		   "blob_dir = /var/lib/coffer/blobs\n"
		   "migrations_dir = /usr/share/coffer/migrations\n"
		   "default_quota   = 500M\n"
		   "max_json_body   = 2M\n"
		   "allowed_origins = http://localhost:3000 https://app.example.com\n"
		   "session_ttl     = 3600\n"
		   "cookie_secure   = on\n"
		   "login_fail_account = 7\n"
		   "login_fail_ip      = 30\n"
		   "login_window       = 600\n"
		   "argon2_m_kib    = 8192\n"
		   "argon2_t        = 1", err, sizeof(err));
	if (!is_int(rc, 0, "a full file parses"))
		diag("error: %s", err);
	is_str(c.listen, "unix:/tmp/coffer.sock", "listen");
	is_int(c.socket_mode, 0666, "socket_mode is octal");
	is_int(c.workers, 3, "workers (tabs around '=')");
	is_int(c.max_requests, 0, "max_requests (CRLF line)");
	is_str(c.pid_file, "/run/coffer.pid", "pid_file");
	is_str(c.db, "host=127.0.0.1 port=5432 dbname=coffer password=a#b",
	       "db keeps '=' and '#' inside the value");
	is_str(c.blob_dir, "/var/lib/coffer/blobs", "blob_dir");
	is_str(c.migrations_dir, "/usr/share/coffer/migrations", "migrations_dir");
	is_int(c.default_quota, 500LL << 20, "default_quota 500M");
	is_int(c.max_json_body, 2 << 20, "max_json_body 2M");
	is_int(c.norigins, 2, "two origins");
	is_str(c.origins[0], "http://localhost:3000", "first origin");
	is_str(c.origins[1], "https://app.example.com", "second origin");
	is_int(c.session_ttl, 3600, "session_ttl");
	is_int(c.cookie_secure, 1, "cookie_secure on");
	is_int(c.login_fail_account, 7, "login_fail_account");
	is_int(c.login_fail_ip, 30, "login_fail_ip");
	is_int(c.login_window, 600, "login_window");
	is_int(c.argon2_m_kib, 8192, "argon2_m_kib");
	is_int(c.argon2_t, 1, "argon2_t (last line without newline)");

	config_defaults(&c);
	is_int(parse(&c, "", err, sizeof(err)), 0, "an empty file parses");
	is_int(parse(&c, "\n\n# only comments\n   \n", err, sizeof(err)), 0,
	       "a file of comments and blanks parses");
	is_int(c.workers, 0, "  and changes nothing");
}

static void err_is(const char *text, const char *want_prefix, const char *name)
{
	config_t c;
	char err[256];
	int rc;

	config_defaults(&c);
	rc = parse(&c, text, err, sizeof(err));
	is_int(rc, -1, "rejected: %s", name);
	ok(strncmp(err, want_prefix, strlen(want_prefix)) == 0, "  message starts \"%s\"",
	   want_prefix);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		diag("message: %s", err);
}

static void test_errors(void)
{
	err_is("workers = 2\n\nbogus = 1\n", "line 3: unknown key 'bogus'", "an unknown key");
	err_is("# c\nworkers 2\n", "line 2: expected key = value", "a line without '='");
	err_is("= 2\n", "line 1: unknown key ''", "an empty key");
	err_is("workers = -1", "line 1: workers: invalid value", "negative workers");
	err_is("workers = 257", "line 1: workers: invalid value", "workers above 256");
	err_is("workers = four", "line 1: workers: invalid value", "non-numeric workers");
	err_is("workers =", "line 1: workers: invalid value", "an empty number");
	err_is("workers = 2 # two", "line 1: workers: invalid value",
	       "a trailing comment on a number");
	err_is("x=1\r\nworkers = 1x\r\n", "line 1: unknown key 'x'", "CRLF, first line");
	err_is("workers=1\r\nworkers = 1x\r\n", "line 2: workers: invalid value",
	       "CRLF, line numbers");
	err_is("session_ttl = 59", "line 1: session_ttl: invalid value", "session_ttl below 60");
	err_is("login_window = 0", "line 1: login_window: invalid value", "login_window 0");
	err_is("argon2_m_kib = 8191", "line 1: argon2_m_kib: invalid value",
	       "argon2_m_kib below 8192");
	err_is("argon2_t = 0", "line 1: argon2_t: invalid value", "argon2_t 0");
	err_is("max_json_body = 1023", "line 1: max_json_body: invalid value",
	       "max_json_body below 1024");
	err_is("max_json_body = 65M", "line 1: max_json_body: invalid value",
	       "max_json_body above 64M");
	err_is("default_quota = 10X", "line 1: default_quota: invalid value", "a bad suffix");
	err_is("default_quota = -1G", "line 1: default_quota: invalid value", "a negative size");
	err_is("socket_mode = 0800", "line 1: socket_mode: invalid value", "an 8 in an octal mode");
	err_is("socket_mode = 4777", "line 1: socket_mode: invalid value",
	       "setuid bit in socket_mode (above 0777)");
	err_is("socket_mode = 1666", "line 1: socket_mode: invalid value",
	       "sticky bit in socket_mode (above 0777)");
	err_is("socket_mode = 00666", "line 1: socket_mode: invalid value",
	       "more than 4 octal digits");
	err_is("socket_mode = ", "line 1: socket_mode: invalid value", "an empty socket_mode");
	err_is("cookie_secure = maybe", "line 1: cookie_secure: invalid value",
	       "cookie_secure maybe");
	err_is("cookie_secure = onn", "line 1: cookie_secure: invalid value", "cookie_secure onn");

	{
		char long_listen[300] = "listen = ";
		size_t l = strlen(long_listen);

		memset(long_listen + l, 'x', 256);
		long_listen[l + 256] = '\0';
		err_is(long_listen, "line 1: listen: value too long", "a 256-byte listen");
	}
}

static void test_values(void)
{
	config_t c;
	char err[256], line[300];

	config_defaults(&c);
	memcpy(line, "listen = ", 9);
	memset(line + 9, 'y', 255);
	line[9 + 255] = '\0';
	is_int(parse(&c, line, err, sizeof(err)), 0, "a 255-byte listen fits");
	is_int(strlen(c.listen), 255, "  stored whole");

	is_int(parse(&c, "socket_mode = 660", err, sizeof(err)), 0, "socket_mode without a 0");
	is_int(c.socket_mode, 0660, "  is still octal");
	is_int(parse(&c, "socket_mode = 0777", err, sizeof(err)), 0, "socket_mode 0777");
	is_int(c.socket_mode, 0777, "  stored");
	is_int(parse(&c, "socket_mode = 0", err, sizeof(err)), 0, "socket_mode 0");
	is_int(c.socket_mode, 0, "  stored");

	is_int(parse(&c, "cookie_secure = off", err, sizeof(err)), 0, "cookie_secure off");
	is_int(c.cookie_secure, 0, "  is 0");
	is_int(parse(&c, "cookie_secure = AUTO", err, sizeof(err)), 0, "cookie_secure AUTO");
	is_int(c.cookie_secure, -1, "  is -1");
	is_int(parse(&c, "cookie_secure = On", err, sizeof(err)), 0, "cookie_secure On");
	is_int(c.cookie_secure, 1, "  is 1");

	is_int(parse(&c, "default_quota = 10G", err, sizeof(err)), 0, "default_quota 10G");
	is_int(c.default_quota, 10LL << 30, "  is 10 GiB");
	is_int(parse(&c, "default_quota = 64k", err, sizeof(err)), 0, "default_quota 64k");
	is_int(c.default_quota, 64 << 10, "  is 64 KiB");
	is_int(parse(&c, "default_quota = 0", err, sizeof(err)), 0, "default_quota 0");
	is_int(c.default_quota, 0, "  is 0");
	is_int(parse(&c, "max_json_body = 64M", err, sizeof(err)), 0, "max_json_body 64M");
	is_int(c.max_json_body, 64 << 20, "  is the maximum");
	is_int(parse(&c, "workers = 256\nmax_requests = 1099511627776", err, sizeof(err)), 0,
	       "workers and max_requests at their maxima");
	is_int(c.max_requests, 1LL << 40, "  max_requests is a long long");

	/* a later allowed_origins replaces the list */
	is_int(parse(&c, "allowed_origins = https://a.example https://b.example\n"
			 "allowed_origins = https://c.example", err, sizeof(err)), 0,
	       "allowed_origins twice");
	ok(c.norigins == 1 && strcmp(c.origins[0], "https://c.example") == 0,
	   "  the later list replaces the earlier");
	is_int(parse(&c, "allowed_origins =", err, sizeof(err)), 0, "an empty origins list");
	is_int(c.norigins, 0, "  clears the list");
	{
		buf_t b = BUF_INIT;

		buf_adds(&b, "allowed_origins =");
		for (int i = 0; i < CONFIG_MAX_ORIGINS; i++)
			buf_addf(&b, " https://o%d.example", i);
		is_int(parse(&c, buf_str(&b), err, sizeof(err)), 0, "CONFIG_MAX_ORIGINS origins");
		is_int(c.norigins, CONFIG_MAX_ORIGINS, "  all kept");
		buf_adds(&b, " https://one-more.example");
		is_int(parse(&c, buf_str(&b), err, sizeof(err)), -1, "one origin too many");
		buf_free(&b);
	}
}

/* Found by fuzz-config: a NUL inside allowed_origins used to truncate an
 * origin silently; a leading NUL stored "" and then allowed an empty Origin. */
static void test_origin_nul(void)
{
	static const char text[] = "allowed_origins = \0https://a.example https://b\0.example";
	config_t c;
	char err[256], *p = malloc(sizeof(text) - 1);
	int rc;

	memcpy(p, text, sizeof(text) - 1);
	config_defaults(&c);
	rc = config_parse(&c, p, sizeof(text) - 1, err, sizeof(err));
	free(p);
	is_int(rc, -1, "a NUL byte inside allowed_origins is an error");
	is_int(config_origin_allowed(&c, "", 0), 0, "  and the empty origin is not allowed");
}

static void test_origins(void)
{
	config_t c;
	char err[256];
	static const struct { const char *o; int want; } cases[] = {
		{ "http://localhost:3000", 1 },
		{ "https://app.example.com", 1 },
		{ "http://localhost:300", 0 },
		{ "http://localhost:30000", 0 },
		{ "HTTP://localhost:3000", 0 },
		{ "http://LOCALHOST:3000", 0 },
		{ "http://localhost:3000/", 0 },
		{ " http://localhost:3000", 0 },
		{ "https://localhost:3000", 0 },
		{ "https://app.example.com.evil.test", 0 },
		{ "https://evil.app.example.com", 0 },
		{ "null", 0 },
		{ "", 0 },
	};

	config_defaults(&c);
	is_int(config_origin_allowed(&c, "http://localhost:3000", 21), 0,
	       "nothing allowed without a list");
	parse(&c, "allowed_origins = http://localhost:3000\thttps://app.example.com", err,
	      sizeof(err));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].o);
		char *p = malloc(n ? n : 1);

		memcpy(p, cases[i].o, n);
		is_int(config_origin_allowed(&c, p, n), cases[i].want, "origin \"%s\" %s",
		       cases[i].o, cases[i].want ? "allowed" : "refused");
		free(p);
	}
	is_int(config_origin_allowed(&c, "http://localhost:3000x", 21), 1,
	       "only n bytes of the origin are compared");
}

static void test_load(void)
{
	config_t c;
	char err[256], path[] = "/tmp/coffer-test-config-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "workers = 3\nmax_json_body = 4M\ncookie_secure = off\n";
	FILE *f;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		ok(0, "could not create a temporary file");
		return;
	}
	fputs(text, f);
	fclose(f);

	is_int(config_load(&c, path, err, sizeof(err)), 0, "config_load reads a file");
	ok(c.workers == 3 && c.max_json_body == 4 << 20 && c.cookie_secure == 0,
	   "  values from the file");
	is_int(c.login_window, 900, "  defaults for keys not in the file");

	setenv("COFFER_WORKERS", "7", 1);
	setenv("COFFER_ALLOWED_ORIGINS", "https://env.example", 1);
	setenv("COFFER_MAX_JSON_BODY", "8M", 1);
	setenv("COFFER_COOKIE_SECURE", "auto", 1);
	setenv("COFFER_DB", "dbname=fromenv", 1);
	is_int(config_load(&c, path, err, sizeof(err)), 0, "config_load with env overrides");
	is_int(c.workers, 7, "  COFFER_WORKERS overrides the file");
	is_int(c.max_json_body, 8 << 20, "  COFFER_MAX_JSON_BODY with a suffix");
	is_int(c.cookie_secure, -1, "  COFFER_COOKIE_SECURE");
	is_str(c.db, "dbname=fromenv", "  COFFER_DB");
	ok(c.norigins == 1 && config_origin_allowed(&c, "https://env.example", 19),
	   "  COFFER_ALLOWED_ORIGINS");

	is_int(config_load(&c, NULL, err, sizeof(err)), 0, "config_load without a file");
	is_int(c.workers, 7, "  env still applies");

	setenv("COFFER_WORKERS", "many", 1);
	err[0] = '\0';
	is_int(config_load(&c, path, err, sizeof(err)), -1, "a bad env value fails the load");
	ok(strstr(err, "COFFER_WORKERS") != NULL, "  the message names the variable (%s)", err);
	unsetenv("COFFER_WORKERS");

	is_int(config_load(&c, "/nonexistent/coffer.conf", err, sizeof(err)), -1,
	       "a missing file fails the load");
	ok(strstr(err, "/nonexistent/coffer.conf") != NULL, "  the message names the file");

	f = fopen(path, "w");
	if (f) {
		fputs("workers = 1\nnope = 2\n", f);
		fclose(f);
	}
	err[0] = '\0';
	is_int(config_load(&c, path, err, sizeof(err)), -1, "a bad file fails the load");
	ok(strncmp(err, "line 2:", 7) == 0, "  with the line number (%s)", err);

	unlink(path);
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
}

int main(void)
{
	/* the tests must not depend on the caller's environment */
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	test_defaults();
	test_file();
	test_errors();
	test_values();
	test_origins();
	test_origin_nul();
	test_load();
	return done_testing();
}
