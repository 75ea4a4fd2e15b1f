/*
 * jobs: the background process the master keeps next to its workers. It
 * runs the tree jobs of large move/copy/delete requests (migration 004:
 * claimed with FOR UPDATE SKIP LOCKED, applied in batches, each committed
 * with its progress), compresses new blobs (off the upload path) and removes
 * raw copies of compressed blobs once raw_grace has passed, extracts the
 * metadata and text of content stored before uploads did (migration 013)
 * and the text of PDFs, a batch of each per round. It wakes on NOTIFY
 * coffer_jobs (sent when an upload adds a blob or a job is queued) or every
 * jobs_interval seconds, at once while the extraction backlog lasts, and
 * stops on SIGTERM between two blobs.
 */
#ifndef COFFER_JOBS_H
#define COFFER_JOBS_H

#include "config.h"

/* Run until SIGTERM/SIGINT. Returns the process exit status. */
int jobs_run(const config_t *cfg);

#endif
