/* py_rt.h — what the parts of the Python member share (py_runtime.h lists them): its settings,
 * its state, and the functions one part calls in another. Internal to this folder.
 *
 * Locking: the member's thread runs scans, reads and BPF flushes under wmu; the profiler's
 * thread takes wmu for the drain. mu guards what the profiler reads at any time (the aggregate,
 * the published process and thread sets, the counters): only memory work under it.
 */
#ifndef FP_PY_RT_H
#define FP_PY_RT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "py_bpf.h"
#include "py_detect.h"
#include "py_reader.h"
#include "runtime/runtime.h"

#define PYRT_MAX_PROCS   256     /* Python processes attached at once (== PYBPF_MAX_PROCS) */
#define PYRT_MAX_STACKS  65536   /* distinct (process, stack) per snapshot */
#define PYRT_SCAN_MS     1000    /* processes are looked for this often */
#define PYRT_KEY_MAX     (PY_STACK_MAX + 4096)
#define PYRT_THREADS     256     /* threads of one process in the BPF thread table */
#define PYRT_NOPY_SLOTS  8192    /* processes known not to be (readable) Python */
#define PYRT_SEEN_SLOTS  16384   /* Python threads of BPF-served processes, per snapshot */

enum py_mode { PY_MODE_AUTO = 0, PY_MODE_PYPERF, PY_MODE_PYSPY, PY_MODE_DISABLED };

int py_mode_parse(const char *s, enum py_mode *out);   /* 0 or -EINVAL */

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

/* One attached process. */
struct proc {
	pid_t pid;                   /* 0 = free slot */
	uint64_t start;              /* starttime, clock ticks since boot */
	struct py_reader *r;
	char comm[17];
	unsigned fails;
	bool active;                 /* sampled (top-N) */
	uint64_t cpu_prev, cpu_delta;
	/* BPF mode */
	struct py_target t;
	struct py_names *names;      /* code object names of BPF samples */
	bool in_bpf;                 /* described to the BPF program */
	bool bpf_refused;            /* BPF cannot serve it: the reader does (auto) */
	bool gone;                   /* exited: detached after the next BPF drain */
	bool own_pidns;              /* thread ids in its thread states are another namespace's */
	uint32_t tids[PYRT_THREADS]; /* threads in the BPF thread table */
	size_t ntids;
	int64_t quick_at_ms;         /* last early re-read of its threads (monotonic ms) */
	int64_t quick_gap_ms;        /* wait before the next; doubles while they find nothing */
};

/* A process remembered by pid and start time (a reused pid is another process), in a bounded
 * table indexed by pid (a collision forgets the older one); told: the PYRT_TOLD_* skips logged
 * about it (in p->told only). */
struct pidstart {
	pid_t pid;
	unsigned told;
	uint64_t start;
};

#define PYRT_TOLD_YOUNG  1u      /* younger than --min-profiling-duration (discovery) */
#define PYRT_TOLD_FULL   2u      /* PYRT_MAX_PROCS attached already */

struct pyrt {
	struct pyrt_config cfg;
	pid_t *pids;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;          /* agg, tracked, stats */
	volatile int stop;
	pthread_mutex_t smu;         /* stop and scv: wakes the thread's sleep at once */
	pthread_cond_t scv;
	struct proc procs[PYRT_MAX_PROCS];
	struct pidstart *nopy;       /* known not to be (readable) Python */
	struct pidstart *told;       /* skips logged at INFO, once per process and reason */
	uint32_t tracked[PYRT_MAX_PROCS];  /* sorted tgids of active processes, under mu */
	size_t ntracked;
	uint32_t perthread[PYRT_MAX_PROCS]; /* sorted tgids whose Python threads are known by tid */
	size_t nperthread;           /* under mu: BPF-served, and read ones unless all_threads */
	uint32_t *seen;              /* hash set: host tids of their Python threads this snapshot */
	size_t nseen;                /* under mu; full: every thread of theirs counts as Python */
	struct col_agg *agg;         /* "tgid;comm;frames" -> count, under mu */
	uint64_t samples, dropped;
	struct py_reader_opts ropt;
	char key[PYRT_KEY_MAX];
	struct proc *cur;            /* process being sampled (callback context) */
	/* BPF mode (pyperf; auto when it loads) */
	struct pybpf *bpf;
	pthread_mutex_t wmu;         /* procs, names and the BPF drain: thread vs the drain */
	unsigned bpf_max_procs;      /* processes BPF serves at most */
	bool bpf_off;                /* more processes than --python-skip-pyperf-profiler-above */
	bool bpf_failed;             /* BPF not wanted (pyspy) or it could not load */
	uint32_t newtids[PYRT_THREADS];
	uint32_t xlat[PYRT_THREADS][2];   /* namespace tid -> host tid, of one process */
	size_t nxlat;
	size_t nnew;
	struct pybpf_counts bcounts;
	uint32_t unknown_seq;        /* pybpf_unknown_thread's cursor */
	unsigned scans;              /* system-wide scans so far */
	uint64_t bpf_unnamed;        /* samples without Python frames (thread unknown yet...) */
	char fname[1024];
};

/* py_procs.c: processes. Under wmu (the member's thread), but for pyrt_proc_detach at stop. */
struct proc *pyrt_proc_find(struct pyrt *p, pid_t pid);   /* pid 0: a free slot */
void pyrt_proc_detach(struct pyrt *p, struct proc *pr);
void pyrt_nopy_add(struct pyrt *p, pid_t pid, uint64_t start);
void pyrt_scan(struct pyrt *p);          /* find, attach, choose the active ones, publish */
void pyrt_read_all(struct pyrt *p);      /* read the processes BPF does not serve, once */
void pyrt_reap_gone(struct pyrt *p);     /* at a snapshot boundary: forget the exited ones */

/* py_bpfserve.c: the in-BPF frame walker's side. Under wmu. */
void pyrt_bpf_forget(struct pyrt *p, struct proc *pr);
void pyrt_bpf_sync(struct pyrt *p);      /* after a scan: which processes BPF serves */
void pyrt_bpf_flush(struct pyrt *p);     /* BPF's counts into the aggregate */
void pyrt_bpf_quick_refresh(struct pyrt *p);   /* a new thread showed up: read its threads */

/* py_stacks.c: the aggregate and the owned threads. */
void pyrt_publish(struct pyrt *p);       /* the processes whose native samples are dropped */
void pyrt_seen_add(struct pyrt *p, uint32_t tid);   /* under mu */
void pyrt_agg_add(struct pyrt *p, const char *key, size_t len, uint64_t count); /* takes mu */
int pyrt_on_reader_stack(void *ctx, pid_t tid, const char *frames, size_t len); /* py_stack_fn */
bool pyrt_owns_thread(void *rt, uint32_t tgid, uint32_t tid);
int pyrt_drain(void *rt, runtime_stack_fn fn, void *ctx);
void pyrt_get_stats(void *rt, struct runtime_stats *out);

#endif
