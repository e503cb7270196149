/* sampler.h — the BPF stack sampler: types shared by sampler.bpf.c and user space, and the
 * user-space API of sampler.c (loader and drainer).
 *
 * The BPF program runs on a PERF_COUNT_SW_CPU_CLOCK event on every online CPU. Each sample
 * counts one struct sampler_key in the map set of the current generation (counts_a/stacks_a
 * when gen is even, counts_b/stacks_b when odd; bpf_common.h): nothing is lost or counted
 * twice between snapshots.
 */
#ifndef FP_SAMPLER_H
#define FP_SAMPLER_H

#include "bpf_common.h"

/* indexes into the per-CPU counters array */
enum sampler_counter {
	SAMPLER_CNT_SAMPLES = 0,     /* samples seen (after filtering) */
	SAMPLER_CNT_COLLISIONS,      /* bpf_get_stackid -EEXIST: stack map bucket taken */
	SAMPLER_CNT_STACK_ERRORS,    /* other bpf_get_stackid failures (map full, -ENOMEM...) */
	SAMPLER_CNT_LOST,            /* counts map full: sample not counted */
	SAMPLER_CNT_MAX
};

/* The key of the counts maps. */
struct sampler_key {
	struct sample_key_head h;   /* tgid, pid, comm, kernel stack */
	fp_s32 user_stack_id;        /* < 0: no user stack (kernel thread) or error */
	fp_u64 leaf_caller;          /* return address to insert after the user leaf, 0 = none */
};

#ifndef __bpf__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One aggregated stack as both samplers (BPF and perf_event) hand it to the snapshot.
 * Arrays are leaf first (as the kernel records them) and borrowed for the callback only. */
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
struct sampler_counts {
	uint64_t samples;      /* samples taken */
	uint64_t lost;         /* samples not counted (map or ring buffer full, records lost) */
	uint64_t collisions;   /* stack-map collisions: stack dropped, sample kept without it */
	uint64_t stack_errors; /* other stack capture failures */
};

struct sampler_config {
	unsigned frequency;        /* Hz per CPU */
	unsigned duration;         /* seconds per snapshot, sizes the maps */
	const pid_t *pids;         /* restrict to these processes (tgids); NULL/0 = system-wide */
	size_t npids;
	pid_t self_pid;            /* excluded; 0 = do not exclude */
	bool include_idle;         /* count the idle task (pid 0); off by default */
};

struct sampler;

/* Open, size, load and attach the BPF sampler on every online CPU. NULL with errno set when
 * BPF is unavailable (no BTF, no privilege, old kernel): the caller falls back to perfev. */
struct sampler *sampler_new(const struct sampler_config *cfg);
void sampler_free(struct sampler *s);   /* detaches; NULL is a no-op */

/* Samples counted so far in the current generation plus drained ones (for progress). */
uint64_t sampler_samples_so_far(struct sampler *s);

/* Flip the generation, wait a grace period, hand every stack of the idle set to fn, clear it.
 * out gets this snapshot's counters. 0 or -errno (or fn's error). */
int sampler_drain(struct sampler *s, sample_fn fn, void *ctx, struct sampler_counts *out);

/* While a snapshot runs: hand fn one stack (count 0) of each process that appeared in the
 * current set since the last peek, so its names can be resolved while it still lives (a
 * process that exits before the drain cannot be read from /proc any more). 0 or -errno. */
int sampler_peek(struct sampler *s, sample_fn fn, void *ctx);

/* Memory the maps may use in the kernel, bytes (for logs). */
size_t sampler_map_bytes(const struct sampler *s);

/* Map sizing rule, exposed for tests: entries for the counts map and the stack map. */
void sampler_map_sizes(unsigned frequency, unsigned ncpus, unsigned duration,
		       uint32_t *count_entries, uint32_t *stack_entries);
#endif

#endif
