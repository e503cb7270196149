/* cpuclock.h — a BPF perf_event program attached to a cpu-clock event on every online CPU, as
 * both samplers (native: sampler.c; Python frames: py_bpf.c) need it. Embedded in its owner:
 * cpuclock_attach / cpuclock_release. */
#ifndef FP_CPUCLOCK_H
#define FP_CPUCLOCK_H

struct bpf_program;
struct bpf_link;

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
