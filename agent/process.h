/* process.h — facts about another process that every part of the agent reads the same way: its
 * memory (process_vm_readv), its /proc/PID/stat (start time, CPU time, name) and its threads' ids
 * in its own PID namespace. Used by the perf_event sampler (the code at a sampled ip) and by the
 * runtime members (interpreter state, process age, container thread ids). Pure reads, no state.
 */
#ifndef FP_PROCESS_H
#define FP_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read len bytes at addr of pid. 0; -EFAULT (addr 0, a short read, an unmapped address); -ESRCH
 * (the process is gone); or -errno (-EPERM...). */
int process_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
	__attribute__((warn_unused_result));

struct process_stat {
	uint64_t start;      /* starttime: clock ticks after boot (field 22) */
	uint64_t cpu;        /* utime + stime, clock ticks (fields 14 + 15) */
	char comm[17];       /* sanitized for a collapsed frame (no ';' or newline) */
};

/* ROOT/PID/stat. 0, -EINVAL (unparsable) or -errno (-ENOENT: gone). */
int process_stat(const char *root, pid_t pid, struct process_stat *out)
	__attribute__((warn_unused_result));

/* Seconds since a process started, from its process_stat start (CLOCK_BOOTTIME). */
double process_age_s(uint64_t start);

/* NSpid of one task of pid, from ROOT/PID/task/TID/status: *host the id in the agent's namespace,
 * *ns the innermost namespace's (equal when the process shares ours). 0 or -errno. */
int process_task_nspid(const char *root, pid_t pid, long tid, uint32_t *host, uint32_t *ns);

#endif
