/* py_runtime.h — the Python member of the runtime interface (runtime/runtime.h): the only name
 * of this folder the rest of the agent sees, through runtime/registry.c.
 *
 * Flags: --python-mode, --python-add-line-numbers, --python-skip-pyperf-profiler-above (alias
 * --skip-pyperf-profiler-above); the shared --min-profiling-duration and
 * --max-processes-runtime-profiler come in runtime_config.
 *
 * Its parts (py_rt.h holds what they share):
 *   py_runtime.c  the member: flags, start/stop, the thread that scans, reads and flushes, drain
 *   py_procs.c    finding CPython processes, attaching to them, choosing the top N, reading
 *                 them from user space
 *   py_bpfserve.c serving processes with the in-BPF frame walker (py_bpf.h): process and thread
 *                 tables, naming and flushing its samples
 *   py_stacks.c   the aggregate of named stacks, and which threads the member owns
 * and below them py_detect (is it CPython, where is _PyRuntime), py_offsets (struct layouts),
 * py_reader (user-space frame walk), py_bpf (the BPF walker), py_names (code object names),
 * py_linetable (line numbers), py_mem.h (reading the process).
 *
 * The member starts one thread that, every second, finds CPython processes (all, or the --pids
 * ones) and attaches a py_reader to each that is old enough (--min-profiling-duration) and whose
 * interpreter validates; and, at the profiling frequency, reads the stacks of their threads that
 * are running on a CPU (py-spy's way). Stacks are aggregated per (process, stack) in a bounded
 * table that the drain hands to the snapshot.
 *
 * Double counting: a process the Python reader tracks gets its stacks from the reader only; the
 * snapshot drops its native BPF/perf samples (owns_thread). Only the samples of its Python
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
 * Named processes: --pids P attaches to P at the first scan, at start, whatever its age;
 * --min-profiling-duration only keeps system-wide discovery away from young processes.
 *
 * Log levels: every process left to native sampling is said once at INFO, with the reason: too
 * young (discovery), an unsupported CPython version, an embedded libpython that is not an
 * interpreter, PYRT_MAX_PROCS attached already, not among --max-processes-runtime-profiler's
 * top N, BPF cannot serve it (pyperf), reads that keep failing. A process exiting is DEBUG.
 */
#ifndef FP_PY_RUNTIME_H
#define FP_PY_RUNTIME_H

#include "runtime/runtime.h"

extern const struct runtime_ops py_runtime_ops;

#endif
