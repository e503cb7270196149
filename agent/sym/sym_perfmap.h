/* sym_perfmap.h — a JIT perf map (/tmp/perf-PID.map): lines "START SIZE name", START and SIZE in
 * hex (with or without 0x), written by Node --perf-basic-prof, Python -X perf, Java perf-map
 * agents. Entries are kept sorted; where entries overlap, the later line wins (code was re-JITed
 * at the same address). Bounded in entries and bytes.
 */
#ifndef FP_SYM_PERFMAP_H
#define FP_SYM_PERFMAP_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define SYM_PERFMAP_MAX_ENTRIES (1u << 20)
#define SYM_PERFMAP_MAX_BYTES   (64u * 1024u * 1024u) /* of names */
#define SYM_PERFMAP_MAX_LINE    8192u  /* longer lines are skipped (counted as dropped) */

struct sym_perfmap;

/* Load path. NULL with errno (ENOENT when the process has no perf map). Lines past the bounds
 * are ignored (logged at debug). Caller frees with sym_perfmap_free. */
struct sym_perfmap *sym_perfmap_load(const char *path);
void sym_perfmap_free(struct sym_perfmap *m); /* NULL is a no-op */

/* The same parser on an open stream (f is read to its end, not closed; what names it in logs):
 * for tests and the fuzz target. The result reports no file identity (sym_perfmap_changed says
 * "changed" for any path). NULL with errno (ENOMEM). */
struct sym_perfmap *sym_perfmap_read(FILE *f, const char *what);

/* 1 when the file at path is not the one loaded (different inode, size or mtime), 0 when
 * unchanged, -errno when it cannot be stat'ed. */
int sym_perfmap_changed(const struct sym_perfmap *m, const char *path);

/* Name of the entry containing addr, or NULL. Belongs to m. */
const char *sym_perfmap_lookup(const struct sym_perfmap *m, uint64_t addr);

size_t sym_perfmap_count(const struct sym_perfmap *m);
size_t sym_perfmap_bytes(const struct sym_perfmap *m);

#endif
