/* symbolizer.h — names addresses: kernel (kallsyms), user ELF code (.symtab, then .dynsym, via
 * libelf), and JIT code (perf-PID.map). One symbolizer per agent; not thread-safe (the snapshot
 * thread owns it).
 *
 * Names written by sym_kernel/sym_user are final frame text for the collapsed format: already
 * demangled, sanitized (no ';' or newline), with the runtime suffix ("_[k]" for kernel, "_[j]"
 * for perf-map JIT frames, none for native). An address that cannot be named gives its module in
 * parentheses, e.g. "(libfoo.so)", or "[unknown]" when not even the mapping is known — never an
 * empty or a wrong name.
 */
#ifndef FP_SYMBOLIZER_H
#define FP_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

struct sym_options {
	size_t max_files;        /* ELF files kept in the cache (LRU eviction); 0 = default 256 */
	size_t max_bytes;        /* memory bound for cached symbol tables; 0 = default 64 MiB */
	size_t max_processes;    /* per-process states kept; 0 = default 4096 */
	size_t max_proc_bytes;   /* all per-process state (maps + JIT perf maps); 0 = default 32 MiB.
				  * Least recently used processes are dropped to stay within it. */
	const char *proc_root;   /* "/proc" unless testing */
	const char *debug_dir;   /* separate debuginfo by build-id: <debug_dir>/xx/yyyy.debug, read
				  * for objects with no .symtab; NULL = "/usr/lib/debug/.build-id" */
};

/* NULL with errno set on failure. opt may be NULL for defaults. */
struct symbolizer *sym_new(const struct sym_options *opt);
void sym_free(struct symbolizer *s);   /* NULL is a no-op */

/* Kernel address -> "name_[k]". Returns 0, or -ENOENT when it falls outside known symbols (out
 * still gets "[unknown]_[k]"). */
int sym_kernel(struct symbolizer *s, uint64_t addr, char *out, size_t n);

/* User address in process pid -> name. Loads /proc/PID/maps on first use for that pid (files
 * opened via /proc/PID/root, or /proc/PID/map_files for deleted ones); perf-<nspid>.map for
 * anonymous executable mappings, re-read when it grew. Returns 0 when a symbol was found,
 * -ENOENT when only the module (or nothing) is known: out is filled in every case. */
int sym_user(struct symbolizer *s, pid_t pid, uint64_t addr, char *out, size_t n);

/* Call at the start of each snapshot's symbolization: per-process maps are re-read lazily when a
 * process's mappings may have changed (new sample addresses outside known maps), and states of
 * processes that no longer exist (or whose PID was reused: start time differs) are dropped. */
void sym_snapshot_begin(struct symbolizer *s);

/* Forget everything about pid (it exited). */
void sym_forget(struct symbolizer *s, pid_t pid);

struct sym_stats {
	size_t files_cached, bytes_cached, processes;
	size_t bytes_processes;  /* maps + perf maps of all processes */
	size_t bytes_kernel;     /* kallsyms table */
	uint64_t lookups, misses, evictions;
};
void sym_get_stats(const struct symbolizer *s, struct sym_stats *out);

#endif
