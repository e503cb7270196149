/* sym_cache.h — the one cache of parsed ELF symbol tables, keyed by file identity and shared by
 * every process that maps the file. Bounded by entry count and by bytes; least recently used
 * entries are evicted first.
 *
 * A file is found by its stat identity (device, inode, mtime, size: no parsing needed) or by its
 * build-id (the same binary seen through another path or container layer). Pointers returned by
 * lookups stay valid until the next sym_cache_put or sym_cache_free (which may evict).
 */
#ifndef FP_SYM_CACHE_H
#define FP_SYM_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "sym_elf.h"

struct sym_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct sym_cache;

/* NULL with errno=ENOMEM. max_files and max_bytes must be > 0. */
struct sym_cache *sym_cache_new(size_t max_files, size_t max_bytes);
void sym_cache_free(struct sym_cache *c); /* NULL is a no-op; frees every entry */

/* Lookups mark the entry most recently used. NULL when absent. */
struct sym_elf *sym_cache_get(struct sym_cache *c, const struct sym_file_id *id);
/* By build-id; *canon (if not NULL) gets the identity the entry is stored under, so later
 * lookups of the same file can use sym_cache_get. */
struct sym_elf *sym_cache_get_build_id(struct sym_cache *c, const uint8_t *bid, size_t len,
				       struct sym_file_id *canon);

/* Insert e (parsed from the file with identity id), evicting the least recently used entries
 * until both bounds hold. On 0 the cache owns e. -E2BIG: e alone passes max_bytes and was not
 * stored (caller still owns it); -ENOMEM likewise. */
int sym_cache_put(struct sym_cache *c, const struct sym_file_id *id, struct sym_elf *e);

size_t sym_cache_files(const struct sym_cache *c);
size_t sym_cache_bytes(const struct sym_cache *c);
uint64_t sym_cache_evictions(const struct sym_cache *c);

#endif
