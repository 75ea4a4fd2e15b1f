/*
 * ratelimit: a request budget per key (a user id) in fixed windows, kept in
 * memory that every worker shares: the master maps it before it forks them,
 * so the budget is the user's across the whole pool, without a database
 * round trip per request. Lock-free: each slot is two 64-bit atomics (the
 * key's hash; the window number and the count in that window), updated by
 * compare-and-swap. The table is fixed-size; when no slot can be had the
 * request is let through (the budget guards against floods, it is not a
 * ledger), and slots of keys idle for a window are reused.
 */
#ifndef COFFER_RATELIMIT_H
#define COFFER_RATELIMIT_H

#include <stddef.h>

#define RL_PROBES 16

typedef struct rl_table rl_table_t;

/* Bytes for a table of nslots slots (nslots >= 1). */
size_t rl_size(unsigned nslots);
/* Make mem (rl_size(nslots) bytes, zeroed or not) an empty table. */
rl_table_t *rl_init(void *mem, unsigned nslots);
/* A table in anonymous shared memory (inherited by children forked after),
 * or NULL when the system refuses. */
rl_table_t *rl_new_shared(unsigned nslots);

/* Count one request of key[0..n) at time now (seconds) against limit
 * requests per window seconds. 0: allowed; > 0: over the budget, the
 * seconds until the window ends (for Retry-After). limit <= 0 or window
 * <= 0: always allowed. */
int rl_hit(rl_table_t *t, const char *key, size_t n, long long now, int window, int limit);

#endif
