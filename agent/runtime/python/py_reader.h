/* py_reader.h — reads one CPython process's thread stacks from user space (py-spy's way):
 * process_vm_readv through _PyRuntime → interpreters → thread states → frames, bounded at
 * PY_MAX_FRAMES frames per thread, PY_MAX_THREADS threads and PY_MAX_INTERPS interpreters.
 *
 * Frames are named "qualname (file)_[p]" (co_name before 3.11, which has no co_qualname), or
 * "qualname (file:line)_[p]" with line numbers on, through the process's py_names cache
 * (py_names.h), which lives in the reader: the caller frees it when the process exits.
 *
 * Not thread-safe: one reader is used by one thread at a time.
 */
#ifndef FP_PY_READER_H
#define FP_PY_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "py_detect.h"

#define PY_MAX_FRAMES   128
#define PY_MAX_THREADS  256
#define PY_MAX_INTERPS  16
#define PY_STACK_MAX    (32 * 1024)   /* bytes of one rendered stack */

struct py_reader;

struct py_reader_opts {
	bool line_numbers;        /* "qualname (file:line)" */
	bool all_threads;         /* also threads not running on a CPU (wall time); off = CPU time */
	const char *proc_root;    /* "/proc" */
};

/* Called once per sampled thread: tid is its host tid (0 when unknown, which only all_threads
 * lets through); frames is "root;...;leaf" (NUL-terminated, len bytes), borrowed for the call.
 * Return 0 to go on. */
typedef int (*py_stack_fn)(void *ctx, pid_t tid, const char *frames, size_t len);

/* Attach to t (copied). Validates the interpreter state (a readable interpreter whose threads
 * point back to it): NULL with errno EINVAL when it does not validate (e.g. a program that embeds
 * libpython without running it), ESRCH when the process is gone, ENOMEM. */
struct py_reader *py_reader_new(const struct py_target *t, const struct py_reader_opts *o);
void py_reader_free(struct py_reader *r);   /* NULL is a no-op */

/* Read every (running) thread's stack once. 0; -ESRCH when the process is gone; -EFAULT when
 * the interpreter could not be read at all this time (threads already reported stay reported). */
int py_reader_sample(struct py_reader *r, py_stack_fn fn, void *ctx);

struct py_reader_stats {
	unsigned long long samples, frames, name_hits, name_misses, read_errors;
};
void py_reader_get_stats(const struct py_reader *r, struct py_reader_stats *out);

#endif
