/* spool.h — the on-disk queue of profiles waiting to be uploaded.
 *
 * Every snapshot is written here first, so an unreachable server, a 5xx or an agent restart loses
 * nothing; the uploader sends the oldest item, and removes it once the server accepted it.
 * One file per item, DIR/<20-digit sequence>.spool: a first line of metadata text (no newline in
 * it), then the body bytes. Written atomically (temp file, fsync, rename).
 *
 * Bounded by max_bytes: when a put would pass it, the oldest items are deleted first and the loss
 * is logged with a count. Thread-safe (one mutex): the snapshot thread puts, the uploader takes.
 */
#ifndef FP_SPOOL_H
#define FP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

struct spool_item {
	uint64_t seq;
	char *meta;      /* owned: NUL-terminated metadata line */
	char *data;      /* body bytes: inside meta's allocation (NUL after them); not freed alone */
	size_t len;
};

/* Open dir (created with mode 0700 if missing; its parent must exist) and index the items already
 * there. NULL with errno set on failure. */
struct spool *spool_open(const char *dir, uint64_t max_bytes);
void spool_free(struct spool *sp);    /* NULL is a no-op; leaves the files */

/* Add an item. 0; -EFBIG when the item alone is larger than max_bytes; -EINVAL for a meta line with
 * a newline; -errno from writing (ENOSPC on a full disk: nothing is left half-written).
 * *dropped (may be NULL) gets how many old items were deleted to make room. */
int spool_put(struct spool *sp, const char *meta, const void *data, size_t len, size_t *dropped)
	__attribute__((warn_unused_result));

/* Read the oldest item into *it (caller releases). -ENOENT when empty. A file that cannot be read
 * or is malformed is deleted with a warning and the next one is tried. */
int spool_oldest(struct spool *sp, struct spool_item *it) __attribute__((warn_unused_result));

/* Delete the item with this sequence number (after a successful upload, or a permanent refusal). */
int spool_remove(struct spool *sp, uint64_t seq);

void spool_item_release(struct spool_item *it);

size_t spool_count(struct spool *sp);
uint64_t spool_bytes(struct spool *sp);

#endif
