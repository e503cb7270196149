/* perfev.h — the fallback sampler: perf_event_open(PERF_COUNT_SW_CPU_CLOCK) on every online
 * CPU with PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN, plus PERF_SAMPLE_REGS_USER (for the ABI)
 * and PERF_SAMPLE_STACK_USER (16 bytes: where the return address a frame-pointer chain skips
 * in a prologue lies), into mmap'ed ring buffers, read in-process and aggregated in user space
 * into the same struct sample_stack (source.h) the BPF sampler produces. No BPF, no perf binary.
 * --pids and the own-pid exclusion are applied in user space. Not thread-safe: one thread polls and
 * drains. */
#ifndef FP_PERFEV_H
#define FP_PERFEV_H

#include <stdint.h>

#include "source.h"

/* The "perf" sample source (source.h). wait polls the ring buffers and reads them into the
 * aggregation; drain reads what is pending first. */
extern const struct sample_source_ops sample_source_perf;

/* Split a raw callchain (leaf first, with PERF_CONTEXT_* markers) into kernel and user parts.
 * Exposed for tests. Writes at most max entries to each; returns 0. */
int perfev_split_callchain(const uint64_t *ips, uint64_t nr, uint64_t *kern, uint32_t *nkern,
			   uint64_t *user, uint32_t *nuser, uint32_t max);

#endif
