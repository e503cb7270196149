/* sq_kv.c — small helpers of the SQLite member: UUIDs, the stable hash of stacks and frames,
 * and the bounded byte-key cache used for interning. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "sq.h"

int64_t sq_floor(int64_t t, int64_t w)
{
	int64_t r = t % w;
	return r < 0 ? t - r - w : t - r;
}

void sq_uuid(char out[37])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

static uint64_t load_le(const unsigned char *b, size_t n)
{
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)b[i] << (8 * i);
	return w;
}

/* Word-at-a-time multiply/xorshift hash. Stable across runs and byte orders: it is stored in the
 * database (stacks.hash). Collisions are handled by the callers. */
uint64_t sq_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
	for (; n >= 8; b += 8, n -= 8) {
		h = (h ^ load_le(b, 8)) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h = (h ^ load_le(b, n)) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 32);
}

/* ---- bounded kv cache ---- */

int sq_kv_init(struct sq_kv *kv, size_t max_count, size_t max_bytes)
{
	memset(kv, 0, sizeof(*kv));
	kv->max_count = max_count;
	kv->max_bytes = max_bytes;
	kv->cap = 1024;
	kv->slots = calloc(kv->cap, sizeof(*kv->slots));
	return kv->slots ? 0 : -ENOMEM;
}

void sq_kv_clear(struct sq_kv *kv)
{
	if (!kv->slots)
		return;
	if (kv->count) {
		for (size_t i = 0; i < kv->cap; i++) {
			free(kv->slots[i].key);
			kv->slots[i].key = NULL;
		}
	}
	kv->count = 0;
	kv->bytes = 0;
}

void sq_kv_release(struct sq_kv *kv)
{
	sq_kv_clear(kv);
	free(kv->slots);
	memset(kv, 0, sizeof(*kv));
}

struct sq_kv_entry *sq_kv_get(struct sq_kv *kv, const void *key, size_t klen,
				    uint64_t hash)
{
	size_t mask = kv->cap - 1;
	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		struct sq_kv_entry *e = &kv->slots[i];
		if (!e->key)
			return NULL;
		if (e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	}
}

static int kv_grow(struct sq_kv *kv)
{
	size_t ncap = kv->cap * 2;
	struct sq_kv_entry *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < kv->cap; i++) {
		struct sq_kv_entry *e = &kv->slots[i];
		if (!e->key)
			continue;
		size_t j = (size_t)e->hash & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = *e;
	}
	free(kv->slots);
	kv->slots = ns;
	kv->cap = ncap;
	return 0;
}

int sq_kv_put(struct sq_kv *kv, const void *key, size_t klen, uint64_t hash, int64_t val,
		 int64_t aux)
{
	if (kv->count + 1 > kv->max_count || kv->bytes + klen > kv->max_bytes)
		sq_kv_clear(kv);
	if ((kv->count + 1) * 4 > kv->cap * 3 && kv_grow(kv) != 0)
		return -ENOMEM;
	char *k = malloc(klen ? klen : 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, klen);
	size_t mask = kv->cap - 1, i = (size_t)hash & mask;
	while (kv->slots[i].key)
		i = (i + 1) & mask;
	kv->slots[i] = (struct sq_kv_entry){ .hash = hash, .key = k, .klen = klen, .val = val,
						.aux = aux };
	kv->count++;
	kv->bytes += klen;
	return 0;
}
