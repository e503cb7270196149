/* profiler.h — one profiling run: open the sampler (BPF, else perf_event_open), take snapshots
 * of `duration` seconds, symbolize them, and hand each profile to its sinks (local files, stdout,
 * the uploader). Everything heavy (BPF objects, maps, symbol caches) is created at the start of
 * profiler_run and freed before it returns, so nothing of the profiler exists between runs.
 */
#ifndef FP_PROFILER_H
#define FP_PROFILER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "options.h"

struct output;
struct uploader;

struct profiler_cfg {
	unsigned duration, frequency;   /* seconds per snapshot, Hz */
	bool continuous;                /* snapshots until *stop; else one */
	const pid_t *pids;              /* already checked to exist; NULL/0 = every process */
	size_t npids;
	enum perf_mode perf_mode;
	bool include_idle;
	bool progress;                  /* progress line on stderr (one-shot, terminal) */
	const char *run_arguments;      /* for the profile header */
	struct output *out;             /* borrowed; NULL = no local files */
	struct uploader *up;            /* borrowed; NULL = no uploads */
	bool to_stdout;                 /* print the profile when there is no other sink */
	unsigned min_age_s;             /* --min-profiling-duration: runtimes' discovery only */
	unsigned max_processes;         /* --max-processes-runtime-profiler (0 = all) */
	const struct runtime_flags *runtime_flags;   /* borrowed; the members' own flags */
};

/* Run until the profile (one-shot) or *stop (continuous; also cuts a one-shot run short — its
 * partial profile is still written). The last snapshot is always flushed to the sinks.
 * 0 on success; -errno when the sampler could not start (err says why) or a sink failed. */
int profiler_run(const struct profiler_cfg *cfg, volatile sig_atomic_t *stop, char *err,
		 size_t errlen);

/* Keep the PIDs of in[] that exist, logging the others; returns how many were kept. */
size_t profiler_valid_pids(const pid_t *in, size_t n, pid_t *out);

#endif
