/* sym_maps.h — the executable mappings of one process, from /proc/PID/maps, and the few other
 * /proc facts the symbolizer needs (start time, namespace pid). */
#ifndef FP_SYM_MAPS_H
#define FP_SYM_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sym_cache.h"

#define SYM_MAPS_MAX 65536u /* executable mappings kept per process (vm.max_map_count is 65530) */

enum sym_map_kind {
	SYM_MAP_FILE,    /* file-backed: ELF lookup */
	SYM_MAP_ANON,    /* anonymous or [anon:...]: JIT, perf map lookup */
	SYM_MAP_SPECIAL, /* [vdso], [vsyscall], ... */
};

enum sym_map_state { SYM_MAP_UNRESOLVED, SYM_MAP_RESOLVED, SYM_MAP_FAILED };

struct sym_map {
	uint64_t start, end, off;  /* [start, end), file offset of start */
	uint64_t ino;              /* inode as /proc/PID/maps shows it */
	uint32_t path_off;         /* into sym_maps.paths; " (deleted)" removed */
	uint8_t kind;              /* enum sym_map_kind */
	bool deleted;
	/* Filled in by the symbolizer on first use: */
	uint8_t state;             /* enum sym_map_state */
	struct sym_file_id id;     /* cache key once resolved */
};

struct sym_maps {
	struct sym_map *v;         /* sorted by start, non-overlapping */
	size_t n;
	char *paths;
	size_t paths_len;
};

/* Parse a maps file (e.g. "/proc/123/maps"), keeping executable mappings only. On 0, out holds new
 * arrays (release with sym_maps_release); -errno (ENOENT: the process is gone). */
int sym_maps_read(const char *path, struct sym_maps *out) __attribute__((warn_unused_result));
void sym_maps_release(struct sym_maps *m);

/* The mapping containing addr, or NULL. */
struct sym_map *sym_maps_find(const struct sym_maps *m, uint64_t addr);
const char *sym_map_path(const struct sym_maps *m, const struct sym_map *map);

/* Field 22 (starttime, clock ticks since boot) of <proc_root>/<pid>/stat. 0 or -errno. */
int sym_proc_start_time(const char *proc_root, pid_t pid, uint64_t *out);
/* Innermost pid namespace pid (last NSpid field of <proc_root>/<pid>/status); pid itself when
 * the kernel shows no NSpid. 0 or -errno. */
int sym_proc_nspid(const char *proc_root, pid_t pid, pid_t *out);

#endif
