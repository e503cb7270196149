/* perfev.h — the fallback sampler: perf_event_open(PERF_COUNT_SW_CPU_CLOCK) on every online
 * CPU with PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN, plus PERF_SAMPLE_REGS_USER (for the ABI)
 * and PERF_SAMPLE_STACK_USER (16 bytes: where the return address a frame-pointer chain skips
 * in a prologue lies), into mmap'ed ring buffers, read in-process and aggregated in user space
 * into the same struct sample_stack the BPF sampler produces. No BPF, no perf binary. --pids
 * and the own-pid exclusion are applied in user space. Not thread-safe: one thread polls and
 * drains. */
#ifndef FP_PERFEV_H
#define FP_PERFEV_H

#include <stdint.h>
#include "sampler.h"

struct perfev;

/* Open and enable the events. NULL with errno set on failure. */
struct perfev *perfev_new(const struct sampler_config *cfg);
void perfev_free(struct perfev *p);   /* NULL is a no-op */

/* Wait up to timeout_ms for data, then read every ring buffer into the aggregation.
 * 0 or -errno (-EINTR when a signal arrived: not an error for the caller). */
int perfev_poll(struct perfev *p, int timeout_ms);

/* Read what is pending, hand every aggregated stack to fn, then forget them. out gets the
 * counters since the previous drain. 0, -errno or fn's error. */
int perfev_drain(struct perfev *p, sample_fn fn, void *ctx, struct sampler_counts *out);

/* Hand fn (count 0) every stack aggregated since the last peek; see sampler_peek. */
int perfev_peek(struct perfev *p, sample_fn fn, void *ctx);

uint64_t perfev_samples_so_far(const struct perfev *p);

/* Split a raw callchain (leaf first, with PERF_CONTEXT_* markers) into kernel and user parts.
 * Exposed for tests. Writes at most max entries to each; returns 0. */
int perfev_split_callchain(const uint64_t *ips, uint64_t nr, uint64_t *kern, uint32_t *nkern,
			   uint64_t *user, uint32_t *nuser, uint32_t max);

#endif
