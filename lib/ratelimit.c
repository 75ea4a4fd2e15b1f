/* ratelimit: see ratelimit.h. */
#include "ratelimit.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

typedef struct rl_slot {
	_Atomic uint64_t key;     /* hash of the key; 0: free */
	_Atomic uint64_t state;   /* window number << 32 | requests in it */
} rl_slot_t;

struct rl_table {
	unsigned nslots;
	rl_slot_t slots[];
};

size_t rl_size(unsigned nslots)
{
	return sizeof(rl_table_t) + (size_t)(nslots ? nslots : 1) * sizeof(rl_slot_t);
}

rl_table_t *rl_init(void *mem, unsigned nslots)
{
	rl_table_t *t = mem;

	t->nslots = nslots ? nslots : 1;
	for (unsigned i = 0; i < t->nslots; i++) {
		atomic_init(&t->slots[i].key, 0);
		atomic_init(&t->slots[i].state, 0);
	}
	return t;
}

rl_table_t *rl_new_shared(unsigned nslots)
{
	void *m = mmap(NULL, rl_size(nslots), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	return m == MAP_FAILED ? NULL : rl_init(m, nslots);
}

/* FNV-1a, never 0 (0 marks a free slot). */
static uint64_t hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
}

/* The slot of h: found, claimed when free, or taken over from a key idle
 * since before the previous window. NULL when all probes are busy. */
static rl_slot_t *slot_for(rl_table_t *t, uint64_t h, uint64_t win)
{
	for (unsigned i = 0; i < RL_PROBES && i < t->nslots; i++) {
		rl_slot_t *s = &t->slots[(h + i) % t->nslots];
		uint64_t k = atomic_load(&s->key);

		if (k == h)
			return s;
		if (k == 0 && atomic_compare_exchange_strong(&s->key, &k, h))
			return s;
		if (k == h)   /* another process claimed it for the same key */
			return s;
		if ((atomic_load(&s->state) >> 32) + 1 < win &&
		    atomic_compare_exchange_strong(&s->key, &k, h)) {
			atomic_store(&s->state, 0);
			return s;
		}
	}
	return NULL;
}

int rl_hit(rl_table_t *t, const char *key, size_t n, long long now, int window, int limit)
{
	uint64_t win, st, next;
	rl_slot_t *s;

	if (t == NULL || limit <= 0 || window <= 0 || now < 0)
		return 0;
	win = (uint64_t)(now / window) & 0xffffffffu;
	if ((s = slot_for(t, hash(key, n), win)) == NULL)
		return 0;
	st = atomic_load(&s->state);
	do {
		if ((st >> 32) != win)
			next = win << 32 | 1;
		else if ((st & 0xffffffffu) >= (uint64_t)limit)
			return (int)((long long)(win + 1) * window - now);
		else
			next = st + 1;
	} while (!atomic_compare_exchange_weak(&s->state, &st, next));
	return 0;
}
