/* source.h — the sample-source interface: where native stacks come from.
 *
 * A sample source samples every CPU at the profiling frequency (PERF_COUNT_SW_CPU_CLOCK),
 * aggregates the stacks it sees per (process, thread, kernel stack, user stack), and hands them
 * to a sample_fn at each drain. Members, in order of preference (sources.c, one line each):
 *
 *   "bpf"   sampler.h: a BPF program counts stacks in the kernel, in two map sets
 *   "perf"  perfev.h: perf_event_open ring buffers read and aggregated in user space
 *
 * plus "disabled", which samples nothing (--perf-mode disabled). The profiler opens one with
 * sample_source_open and calls it only through its ops: adding a member is its file and one
 * line in sources.c.
 *
 * A later unwinder that needs per-process tables (.eh_frame unwinding in BPF) is a member like
 * the others; note_process is its hook: the profiler tells the source about each process its
 * samples show (from the peek, once per process per snapshot, while the process lives), so the
 * member can build or refresh that process's tables (and drop those of processes it no longer
 * hears about). Members that unwind with frame pointers leave it NULL.
 *
 * One thread drives a source (open, wait, peek, drain, close); none is thread-safe.
 */
#ifndef FP_SAMPLE_SOURCE_H
#define FP_SAMPLE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf_common.h"   /* SAMPLE_COMM_LEN, SAMPLE_MAX_DEPTH */

/* One aggregated stack as every source hands it over. Arrays are leaf first (as the kernel
 * records them) and borrowed for the callback only. */
struct sample_stack {
	uint32_t tgid, pid;
	char comm[SAMPLE_COMM_LEN];   /* NUL-terminated */
	uint64_t count;
	uint32_t nkern, nuser;
	const uint64_t *kern;
	const uint64_t *user;
	bool kern_lost, user_lost;   /* the stack existed but was dropped (stack-map collision) */
};

/* Return 0 to go on, a negative errno to stop the drain (which returns it). */
typedef int (*sample_fn)(void *ctx, const struct sample_stack *s);

/* Counters of one snapshot (deltas since the previous drain). */
struct sample_counts {
	uint64_t samples;      /* samples taken */
	uint64_t lost;         /* samples not counted (map or ring buffer full, records lost) */
	uint64_t collisions;   /* stack-map collisions: stack dropped, sample kept without it */
	uint64_t stack_errors; /* other stack capture failures */
};

struct sample_config {
	unsigned frequency;        /* Hz per CPU */
	unsigned duration;         /* seconds per snapshot, sizes the tables */
	const pid_t *pids;         /* restrict to these processes (tgids); NULL/0 = system-wide */
	size_t npids;
	pid_t self_pid;            /* excluded; 0 = do not exclude */
	bool include_idle;         /* count the idle task (pid 0); off by default */
};

enum sample_proc_event {
	SAMPLE_PROC_SEEN,          /* its samples showed up in this snapshot (it is alive) */
};

struct sample_source_ops {
	const char *name;          /* "bpf", "perf", "disabled": the profile header's perf_mode */
	const char *what;          /* for log lines: "BPF sampler" */
	/* Open and start sampling. NULL with errno set when this source cannot run here (no BPF,
	 * no privilege): the next one in order of preference is tried. */
	void *(*open)(const struct sample_config *cfg);
	void (*close)(void *src);                     /* stops sampling; NULL is a no-op */
	/* Wait up to ms (a signal cuts it short), taking in what arrives meanwhile. */
	void (*wait)(void *src, int ms);
	uint64_t (*samples_so_far)(void *src);        /* in this snapshot, for the progress line */
	/* While a snapshot runs: hand fn one stack (count 0) of each process that appeared since
	 * the last peek, so its names can be resolved while it still lives (a process that exits
	 * before the drain cannot be read from /proc any more). 0 or fn's error. */
	int (*peek)(void *src, sample_fn fn, void *ctx);
	/* End the snapshot: hand every stack to fn and forget them; out gets its counters.
	 * 0, -errno or fn's error. */
	int (*drain)(void *src, sample_fn fn, void *ctx, struct sample_counts *out);
	size_t (*map_bytes)(const void *src);         /* kernel or table memory it may use */
	/* Optional (NULL: not needed): what the profiler learnt about process tgid. 0 or -errno
	 * (logged by the caller; sampling goes on). */
	int (*note_process)(void *src, uint32_t tgid, enum sample_proc_event ev);
};

/* An open source. */
struct sample_source {
	const struct sample_source_ops *ops;
	void *impl;
};

/* Open the source called name, or with name NULL each registered source in order of
 * preference until one opens (every failure but the last logged at WARN). 0 with *src set, or
 * -errno with err saying why (logged at ERROR). */
int sample_source_open(struct sample_source *src, const char *name,
		       const struct sample_config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void sample_source_close(struct sample_source *src);   /* safe on a zeroed one */

/* A wait for sources that take samples in without the caller (in the kernel): just sleep. */
void sample_source_sleep(void *src, int ms);

/* The sources, in order of preference (NULL-terminated; sources.c). */
extern const struct sample_source_ops *const sample_sources[];

#endif
