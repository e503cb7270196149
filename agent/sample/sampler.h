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
#include <stdint.h>

#include "source.h"

/* The "bpf" sample source (source.h): the program above on every online CPU. Its open fails
 * (errno set) when BPF is unavailable (no BTF, no privilege, old kernel). */
extern const struct sample_source_ops sample_source_bpf;

/* Map sizing rule, exposed for tests and the perf source: entries for the counts map and the
 * stack map, from the samples a snapshot may take. */
void sampler_map_sizes(unsigned frequency, unsigned ncpus, unsigned duration,
		       uint32_t *count_entries, uint32_t *stack_entries);
#endif

#endif
