/* cpuclock.h — the cpu-clock sampling event every sampler uses (the BPF sampler, the Python frame
 * walker, the perf_event fallback), and a BPF perf_event program attached to it on every online
 * CPU. cpuclock_attach is embedded in its owner: cpuclock_attach / cpuclock_release. */
#ifndef FP_CPUCLOCK_H
#define FP_CPUCLOCK_H

#include <linux/perf_event.h>

struct bpf_program;
struct bpf_link;

/* The event: PERF_COUNT_SW_CPU_CLOCK sampled at freq Hz (the rest zero: callers add their sample
 * type and records). */
void cpuclock_event_attr(struct perf_event_attr *attr, unsigned freq);

/* perf_event_open(attr) on cpu for every process, close-on-exec. The fd, or -errno (-ENODEV: the
 * CPU went offline). */
int cpuclock_open(struct perf_event_attr *attr, int cpu);

struct cpuclock {
	struct bpf_link **links;
	int *fds;      /* the perf events, one per attached CPU */
	int n;         /* CPUs attached */
};

/* Open a cpu-clock event at freq Hz on every online CPU and attach prog to each; a CPU that went
 * offline meanwhile is skipped. 0, or -errno (-ENODEV when no CPU could be used); on failure
 * nothing stays open. who names the caller in log lines. */
int cpuclock_attach(struct cpuclock *c, struct bpf_program *prog, unsigned freq, const char *who)
	__attribute__((warn_unused_result));

/* Detach and close everything; safe on a zeroed or released struct. */
void cpuclock_release(struct cpuclock *c);

#endif
