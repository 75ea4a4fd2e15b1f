/*
 * migrate: applies migrations/NNN_name.sql in order. Each file runs in its
 * own transaction together with the row that records it in
 * schema_migrations, under an advisory lock, so concurrent or repeated runs
 * apply every migration exactly once.
 */
#ifndef COFFER_MIGRATE_H
#define COFFER_MIGRATE_H

#include "db.h"

/* Apply pending migrations from dir; prints one line per applied file to
 * stdout. Returns the number applied (>= 0) or -1 after printing why. */
int migrate_run(db_t *db, const char *dir);
/* Highest applied version, 0 when none, -1 when the database is unreachable. */
int migrate_current(db_t *db);

#endif
