/* health: /healthz (the process serves) and /readyz (it can do real work). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "handlers.h"
#include "migrate.h"

#ifndef COFFER_SCHEMA_VERSION
#error "COFFER_SCHEMA_VERSION must be defined by the build (highest migration number)"
#endif

void h_healthz(req_t *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", jstr("ok"));
	resp_json(r, 200, o);
}

/* A file created and removed in the volume's tmp/ proves it is writable. */
static int volume_writable(const char *dir)
{
	char path[512];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/tmp/.readyz-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	fd = mkstemp(path);
	if (fd < 0)
		return 0;
	close(fd);
	unlink(path);
	return 1;
}

void h_readyz(req_t *r)
{
	int v = migrate_current(r->db);
	const char *why = NULL;
	json_object *o;

	if (v < 0)
		why = "The database is unreachable.";
	else if (v != COFFER_SCHEMA_VERSION)
		why = "The database schema is not at the version this build expects.";
	else if (!volume_writable(r->cfg->blob_dir))
		why = "The blob volume is not writable.";
	if (why) {
		resp_header(r, "Retry-After", "5");
		resp_problem(r, 503, "unavailable", why);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", jstr("ready"));
	json_object_object_add(o, "schema_version", jint(v));
	resp_json(r, 200, o);
}
