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

/* The leaf's lost caller. A frame-pointer unwinder starts at the sampled ip and goes on at the
 * frame %rbp points to. At the first instruction of a function (`push %rbp`, or `endbr64`
 * before it), after that push (at `mov %rsp,%rbp`) and at a `ret`, %rbp still (or again) points
 * to the caller's frame, so the chain skips the caller: hot_a;main instead of
 * hot_a;worker;main. The return address into the caller is then on top of the stack.
 *
 * c holds the byte before ip (c[0], valid when have_prev) and the 8 bytes from ip (c[1..8]).
 * Returns the 8-byte stack slot above sp that holds the return address (0 or 1), or -1 when the
 * code at ip is none of those canonical patterns (the frame is in place, or cannot be told).
 * For 64-bit code only. The word in that slot is then taken only if the bytes before it end in
 * a call (sampler_after_call): a `ret` used as a jump, or hand-written code that merely looks
 * like a prologue, must not add a frame that is not there.
 * Shared by the BPF sampler and the perf_event fallback. */
static inline __attribute__((always_inline)) int sampler_leaf_ret_slot(const unsigned char *c,
								       int have_prev)
{
	const unsigned char *ip = c + 1;
	if (ip[0] == 0xc3 || (ip[0] == 0xf3 && ip[1] == 0xc3))      /* ret, rep ret */
		return 0;
	if (ip[0] == 0x55 && ip[1] == 0x48 && ip[2] == 0x89 && ip[3] == 0xe5) /* push; mov */
		return 0;
	if (ip[0] == 0xf3 && ip[1] == 0x0f && ip[2] == 0x1e && ip[3] == 0xfa &&  /* endbr64 */
	    ip[4] == 0x55 && ip[5] == 0x48 && ip[6] == 0x89 && ip[7] == 0xe5)
		return 0;
	if (have_prev && c[0] == 0x55 && ip[0] == 0x48 && ip[1] == 0x89 && ip[2] == 0xe5)
		return 1;                                  /* after push %rbp, at mov %rsp,%rbp */
	return -1;
}
#define SAMPLER_LEAF_CODE_LEN 9

/* Whether the 7 bytes b[0..6] just before a return address end in a call instruction: call
 * rel32 (e8, 5 bytes) or call r/m64 (ff /2, 2 to 7 bytes by its ModRM, SIB and displacement;
 * a REX prefix before the ff changes nothing here). */
#define SAMPLER_CALL_CODE_LEN 7
static inline __attribute__((always_inline)) int sampler_after_call(const unsigned char *b)
{
	if (b[2] == 0xe8)
		return 1;
	for (int len = 2; len <= 7; len++) {
		const unsigned char *op = b + 7 - len;
		unsigned char modrm = op[1], mod = modrm >> 6, rm = modrm & 7;
		int want = 2;
		if (op[0] != 0xff || ((modrm >> 3) & 7) != 2)
			continue;
		if (mod != 3 && rm == 4) {          /* a SIB byte follows */
			if (len < 3)
				continue;
			want++;
			if (mod == 0 && (op[2] & 7) == 5)
				want += 4;                  /* no base: disp32 */
		}
		if (mod == 1)
			want += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			want += 4;                          /* disp32, or rip-relative */
		if (want == len)
			return 1;
	}
	return 0;
}

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

/* Insert the leaf's lost caller (sampler_leaf_ret_slot) after the leaf of a user stack of *n
 * ips held in a buffer of cap entries. Skipped when the unwinder already has it (a kernel that
 * handles prologues itself) or the stack is empty. */
void sampler_insert_leaf_caller(uint64_t *ips, uint32_t *n, uint32_t cap, uint64_t caller);

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
