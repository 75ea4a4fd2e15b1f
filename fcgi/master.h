/*
 * master: the prefork supervisor. Opens the FastCGI socket, keeps the
 * configured number of workers running, replaces workers that exit,
 * stops gracefully on SIGTERM/SIGINT and reloads on SIGHUP.
 */
#ifndef COFFER_MASTER_H
#define COFFER_MASTER_H

#include "config.h"

/* Open the listening socket described by cfg->listen ("unix:/path" or
 * "host:port"), non-blocking. Returns the fd or -1 after logging why. */
int master_listen(const config_t *cfg);
/* Run the master until stopped; config_path is re-read on SIGHUP.
 * Returns the process exit status. */
int master_run(const char *config_path, config_t *cfg);

#endif
