/* py_runtime.h — the Python runtime module (DESIGN.md: detect, attach, name frames, detach).
 *
 * pyrt_start() starts one thread that, every second, finds CPython processes (all, or the --pids
 * ones) and attaches a py_reader to each that is old enough (--min-profiling-duration) and whose
 * interpreter validates; and, at the profiling frequency, reads the stacks of their threads that
 * are running on a CPU (py-spy's way). Stacks are aggregated per (process, stack) in a bounded
 * table that pyrt_drain() hands to the snapshot.
 *
 * Double counting: a process the Python reader tracks gets its stacks from the reader only; the
 * snapshot drops its native BPF/perf samples (pyrt_tracks). Only the samples of its Python
 * threads are dropped (those in the BPF thread table, or read from user space, during the
 * snapshot): a native thread of a Python process (a BLAS pool, a C extension's worker) keeps
 * its native stacks, which no Python frame walk would show. Both sample running threads at the
 * same frequency, so the process keeps its share of the profile, with Python names instead of
 * _PyEval_EvalFrameDefault. Processes not tracked (too young, embedded libpython that is not an
 * interpreter, failing reads, beyond --max-processes-runtime-profiler) keep native sampling.
 *
 * Modes (--python-mode): pyperf walks the frames in BPF (py_bpf.h): at each scan, every
 * attached process is described to the BPF program (its layout, and its threads' tid ->
 * PyThreadState*), and the BPF counts are moved into the aggregate every scan and at each drain,
 * named with a per-process code-object cache; a process BPF cannot serve (its tables full, threads
 * unreadable) is left to native sampling, as is every process when BPF cannot load (it is
 * loaded when the first Python process is attached, logged once at WARN). auto does the
 * same but falls back to the reader per process (and for all when BPF cannot load). pyspy uses
 * the reader only; disabled starts nothing. With more attached processes than
 * skip_pyperf_above, every process is read from user space until the count drops again.
 * BPF samples carry the sample's kernel stack after the Python frames (snapshot.h's
 * SNAPSHOT_KSEP encoding); samples of a thread with no Python frames (not yet in the thread
 * table, or running no Python code) are not counted, as the reader skips such threads.
 * A process in its own PID namespace (a container) has namespace tids in its thread states:
 * they are translated to host tids through /proc/PID/task/TID/status NSpid for the BPF table.
 * (The user-space reader does not translate: such a process read in pyspy mode gets no stacks.)
 * A process that exits is forgotten at the end of the snapshot, after the BPF drain, so its
 * samples are named and its native samples of before the exit stay dropped.
 * FLEETPROF_PYBPF_MAX_PROCS (environment, for tests) caps the processes BPF serves.
 *
 * Log levels: an embedded libpython that is not an interpreter is INFO; a process exiting is
 * DEBUG; a process whose reads keep failing is dropped with one INFO line.
 */
#ifndef FP_PY_RUNTIME_H
#define FP_PY_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"

/* The Python member of the runtime interface (runtime.h): flags --python-mode,
 * --python-add-line-numbers, --python-skip-pyperf-profiler-above (alias
 * --skip-pyperf-profiler-above); start builds a pyrt_config from them and the session's
 * runtime_config, and the other operations are pyrt_*. */
extern const struct runtime_ops py_runtime_ops;

#define PYRT_MAX_PROCS   256     /* Python processes attached at once */
#define PYRT_MAX_STACKS  65536   /* distinct (process, stack) per snapshot */

enum py_mode { PY_MODE_AUTO = 0, PY_MODE_PYPERF, PY_MODE_PYSPY, PY_MODE_DISABLED };

struct pyrt_config {
	enum py_mode mode;
	unsigned frequency;          /* Hz */
	unsigned min_age_s;          /* skip processes younger than this */
	unsigned max_processes;      /* track only the top N by recent CPU; 0 = all */
	unsigned skip_pyperf_above;  /* more Python processes than this: user-space mode; 0 = never */
	bool line_numbers;
	const pid_t *pids;           /* NULL/0 = every process; copied */
	size_t npids;
	pid_t self_pid;
	const char *proc_root;       /* "/proc" */
};

struct pyrt;

/* NULL (errno set) on failure; for PY_MODE_DISABLED returns NULL with errno 0. */
struct pyrt *pyrt_start(const struct pyrt_config *cfg);
void pyrt_stop(struct pyrt *p);   /* stops the thread, detaches everything; NULL is a no-op */

/* Does the reader own this thread's stacks (its native samples are to be dropped)? */
bool pyrt_tracks(void *p, uint32_t tgid, uint32_t tid);

/* Hand over and forget the stacks aggregated since the last drain. 0 or the callback's error. */
int pyrt_drain(struct pyrt *p, runtime_stack_fn fn, void *ctx);

struct pyrt_stats {
	size_t tracked;               /* processes attached now */
	uint64_t samples, stacks_dropped;
};
void pyrt_get_stats(struct pyrt *p, struct pyrt_stats *out);

const char *py_mode_name(enum py_mode m);
int py_mode_parse(const char *s, enum py_mode *out);   /* 0 or -EINVAL */

#endif
