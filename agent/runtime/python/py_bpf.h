/* py_bpf.h — Python frames walked in BPF (PyPerf's way): types shared by py_bpf.bpf.c and user
 * space, and the user-space API of py_bpf.c (loader, process/thread tables, drainer).
 *
 * A perf_event program on a PERF_COUNT_SW_CPU_CLOCK event per online CPU (its own events, at the
 * profiling frequency) looks the sampled thread's tgid up in `procs` (per-process frame-walk
 * offsets, written by user space) and its tid in `threads` (tid -> PyThreadState*, refreshed by
 * user space from its interpreter walk). It walks that thread's frames with bpf_loop, at most
 * PYBPF_MAX_FRAMES, and counts (tgid, tid, comm, kernel stack id, python stack hash) in the map
 * set of the current generation; the frames themselves (code object address and instruction
 * position per frame, leaf first) are stored once per distinct stack under their 64-bit hash.
 * Two map sets, flipped like the native sampler's (sample/bpf_common.h): nothing is lost or
 * counted twice between drains.
 * User space names the code objects (py_bpf.c keeps a bounded, validated name cache per process).
 */
#ifndef FP_PY_BPF_H
#define FP_PY_BPF_H

#define PYBPF_MAX_FRAMES   128     /* power of two: the BPF side masks indexes with it */
#define PYBPF_MAX_WALK     160     /* frames visited, C-stack shims included */
#define PYBPF_MAX_PROCS    256     /* == PYRT_MAX_PROCS */
#define PYBPF_MAX_THREADS  16384
#define PYBPF_NONE         0xffffffffu

#include "sample/bpf_common.h"

enum pybpf_counter {
	PYBPF_CNT_SAMPLES = 0,    /* samples of tracked processes */
	PYBPF_CNT_NO_THREAD,      /* thread not (yet) in the thread table: no Python frames */
	PYBPF_CNT_READ_ERRORS,    /* a frame or thread state could not be read */
	PYBPF_CNT_LOST,           /* counts or stacks map full */
	PYBPF_CNT_MAX
};

/* Per-process frame-walk layout (from py_offsets.h); value of `procs`, keyed by tgid. */
struct pybpf_proc {
	fp_u32 ts_frame;       /* tstate -> frame (3.8-3.10, 3.13+), or PYBPF_NONE */
	fp_u32 ts_cframe;      /* tstate -> cframe (3.11-3.12), or PYBPF_NONE */
	fp_u32 cf_current;     /* cframe -> current_frame */
	fp_u32 f_back, f_code, f_lasti;
	fp_u32 f_owner;        /* PYBPF_NONE: no shim frames to skip (before 3.12) */
	fp_u32 owner_cstack;   /* the owner value of a C-stack shim frame */
	fp_u32 ip_is_ptr;      /* 3.11+: f_lasti holds an instruction pointer (8 bytes) */
	fp_u32 want_ip;        /* record instruction positions (line numbers) */
};

/* One Python stack, leaf first; value of `pystacks`, keyed by its hash. */
struct pybpf_stack {
	fp_u32 n;
	fp_u32 truncated;
	fp_u64 code[PYBPF_MAX_FRAMES];
	fp_u64 ip[PYBPF_MAX_FRAMES];   /* 0 unless want_ip */
};

struct pybpf_key {
	struct sample_key_head h;   /* tgid, pid, comm, kernel stack */
	fp_u32 flags;                /* PYBPF_F_* */
	fp_u64 py_hash;              /* 0: no Python frames */
};

#define PYBPF_F_NO_THREAD  1u      /* thread unknown to the table */
#define PYBPF_F_PY_LOST    2u      /* frames walked but not stored (map full) */

#ifndef __bpf__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct py_offsets;

struct pybpf;

/* Open, load and attach on every online CPU at freq Hz. NULL with errno set when BPF cannot
 * run (no privilege, no BTF, verifier): the caller uses the user-space reader instead. */
struct pybpf *pybpf_new(unsigned freq, bool line_numbers);
void pybpf_free(struct pybpf *b);   /* detaches; NULL is a no-op */

/* Describe process tgid (layout o). 0, -ENOSPC (table full: serve it another way), -errno. */
int pybpf_proc_add(struct pybpf *b, uint32_t tgid, const struct py_offsets *o);
void pybpf_proc_del(struct pybpf *b, uint32_t tgid);

/* The thread table: tid -> PyThreadState address. 0, -ENOSPC, -errno. */
int pybpf_thread_set(struct pybpf *b, uint32_t tid, uint64_t tstate);
void pybpf_thread_del(struct pybpf *b, uint32_t tid);

/* The process of the latest sample whose thread was not in the thread table, when there was
 * one since *seq (which it updates); else 0. No system call: reads the program's globals. */
uint32_t pybpf_unknown_thread(struct pybpf *b, uint32_t *seq);

/* One counted stack of the idle set: frames leaf first, borrowed for the call. */
struct pybpf_sample {
	uint32_t tgid, pid, flags;
	char comm[SAMPLE_COMM_LEN + 1];
	uint64_t count;
	uint32_t nframes;
	const uint64_t *code, *ip;
	uint32_t nkern;
	const uint64_t *kern;       /* leaf first */
	bool kern_lost;             /* stack-map collision */
};
typedef int (*pybpf_fn)(void *ctx, const struct pybpf_sample *s);

struct pybpf_counts {
	uint64_t samples, no_thread, read_errors, lost;
};

/* Flip the generation, wait a grace period, hand every stack of the idle set to fn, clear it.
 * out (may be NULL) gets the counters of that set since its previous drain. 0 or -errno. */
int pybpf_drain(struct pybpf *b, pybpf_fn fn, void *ctx, struct pybpf_counts *out);

/* Code objects the BPF side recorded are named with py_names.h, like the reader's. */
struct py_target;

/* Every thread state of every interpreter of t: fn(ctx, tid, tstate) for each (bounded like
 * py_reader.h). Number of threads, or -ESRCH (process gone), -EFAULT. */
typedef int (*pybpf_thread_fn)(void *ctx, uint32_t tid, uint64_t tstate);
int pybpf_threads(const struct py_target *t, pybpf_thread_fn fn, void *ctx);
#endif

#endif
