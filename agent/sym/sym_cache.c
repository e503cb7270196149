/* sym_cache.c — see sym_cache.h. Two chained hash indexes (stat identity, build-id) over one
 * doubly-linked LRU list. */
#include "sym_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct sym_file_id id;
	struct sym_elf *elf;
	size_t bytes;
	struct entry *prev, *next;         /* LRU: head is most recent */
	struct entry *id_next, *bid_next;  /* hash chains */
};

struct sym_cache {
	size_t max_files, max_bytes;
	size_t files, bytes;
	uint64_t evictions;
	struct entry *head, *tail;
	struct entry **by_id, **by_bid;
	size_t nbuckets; /* power of two */
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static size_t id_hash(const struct sym_cache *c, const struct sym_file_id *id)
{
	uint64_t h = mix(id->dev * 31 + id->ino) ^ mix((uint64_t)id->mtime_ns + id->size * 7);
	return (size_t)(mix(h) & (c->nbuckets - 1));
}

static size_t bid_hash(const struct sym_cache *c, const uint8_t *bid, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ bid[i]) * 1099511628211ULL;
	return (size_t)(mix(h) & (c->nbuckets - 1));
}

static bool id_eq(const struct sym_file_id *a, const struct sym_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

struct sym_cache *sym_cache_new(size_t max_files, size_t max_bytes)
{
	struct sym_cache *c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->max_files = max_files ? max_files : 1;
	c->max_bytes = max_bytes ? max_bytes : 1;
	c->nbuckets = 16;
	while (c->nbuckets < c->max_files && c->nbuckets < 65536)
		c->nbuckets *= 2;
	c->by_id = calloc(c->nbuckets, sizeof(*c->by_id));
	c->by_bid = calloc(c->nbuckets, sizeof(*c->by_bid));
	if (!c->by_id || !c->by_bid)
		goto fail;
	return c;
fail:
	sym_cache_free(c);
	errno = ENOMEM;
	return NULL;
}

static void lru_unlink(struct sym_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct sym_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void touch(struct sym_cache *c, struct entry *e)
{
	if (c->head != e) {
		lru_unlink(c, e);
		lru_push_front(c, e);
	}
}

static void remove_entry(struct sym_cache *c, struct entry *e)
{
	struct entry **pp = &c->by_id[id_hash(c, &e->id)];
	while (*pp && *pp != e)
		pp = &(*pp)->id_next;
	if (*pp)
		*pp = e->id_next;
	if (e->elf->build_id_len) {
		pp = &c->by_bid[bid_hash(c, e->elf->build_id, e->elf->build_id_len)];
		while (*pp && *pp != e)
			pp = &(*pp)->bid_next;
		if (*pp)
			*pp = e->bid_next;
	}
	lru_unlink(c, e);
	c->files--;
	c->bytes -= e->bytes;
	sym_elf_free(e->elf);
	free(e);
}

void sym_cache_free(struct sym_cache *c)
{
	if (!c)
		return;
	while (c->by_id && c->by_bid && c->head)
		remove_entry(c, c->head);
	free(c->by_id);
	free(c->by_bid);
	free(c);
}

struct sym_elf *sym_cache_get(struct sym_cache *c, const struct sym_file_id *id)
{
	for (struct entry *e = c->by_id[id_hash(c, id)]; e; e = e->id_next)
		if (id_eq(&e->id, id)) {
			touch(c, e);
			return e->elf;
		}
	return NULL;
}

struct sym_elf *sym_cache_get_build_id(struct sym_cache *c, const uint8_t *bid, size_t len,
				       struct sym_file_id *canon)
{
	if (len == 0)
		return NULL;
	for (struct entry *e = c->by_bid[bid_hash(c, bid, len)]; e; e = e->bid_next)
		if (e->elf->build_id_len == len && memcmp(e->elf->build_id, bid, len) == 0) {
			touch(c, e);
			if (canon)
				*canon = e->id;
			return e->elf;
		}
	return NULL;
}

int sym_cache_put(struct sym_cache *c, const struct sym_file_id *id, struct sym_elf *elf)
{
	size_t bytes = sym_elf_bytes(elf) + sizeof(struct entry);
	if (bytes > c->max_bytes)
		return -E2BIG;
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* An older entry with the same identity is replaced. */
	for (struct entry *o = c->by_id[id_hash(c, id)]; o; o = o->id_next)
		if (id_eq(&o->id, id)) {
			remove_entry(c, o);
			break;
		}
	while (c->tail && (c->files + 1 > c->max_files || c->bytes + bytes > c->max_bytes)) {
		remove_entry(c, c->tail);
		c->evictions++;
	}
	e->id = *id;
	e->elf = elf;
	e->bytes = bytes;
	size_t h = id_hash(c, id);
	e->id_next = c->by_id[h];
	c->by_id[h] = e;
	if (elf->build_id_len) {
		h = bid_hash(c, elf->build_id, elf->build_id_len);
		e->bid_next = c->by_bid[h];
		c->by_bid[h] = e;
	}
	lru_push_front(c, e);
	c->files++;
	c->bytes += bytes;
	return 0;
}

size_t sym_cache_files(const struct sym_cache *c)
{
	return c ? c->files : 0;
}

size_t sym_cache_bytes(const struct sym_cache *c)
{
	return c ? c->bytes : 0;
}

uint64_t sym_cache_evictions(const struct sym_cache *c)
{
	return c ? c->evictions : 0;
}
