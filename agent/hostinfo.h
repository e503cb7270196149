/* hostinfo.h — facts about the host for the profile header (hostname, kernel, CPUs, memory) and
 * host metrics over a snapshot (cpu_avg, mem_avg) from /proc/stat and /proc/meminfo. */
#ifndef FP_HOSTINFO_H
#define FP_HOSTINFO_H

#include <stddef.h>
#include <stdint.h>

#define HOSTINFO_MAX_CPUS 1024

struct hostinfo {
	char hostname[256];
	char kernel_release[80];
	char kernel_version[80];
	char arch[80];
	char cpu_model[256];
	int processors;          /* online CPUs */
	uint64_t memory_mb;      /* MemTotal */
};

/* Fill h; never fails (unknown fields are left empty or 0). proc_root is "/proc" or a fixture. */
void hostinfo_read(struct hostinfo *h, const char *proc_root);

/* Online CPU ids from /sys/devices/system/cpu/online ("0-3,5"): up to max written to cpus
 * (may be NULL to count). Returns the number of online CPUs or -errno. */
int hostinfo_online_cpus(int *cpus, int max);

/* Parse a CPU list like "0-3,5,7-8"; same contract as hostinfo_online_cpus. -EINVAL if bad. */
int hostinfo_parse_cpulist(const char *s, int *cpus, int max);

/* Host metrics over a window: begin at the snapshot start, tick now and then (about once a
 * second), end at its end. Percentages 0..100. */
struct hostinfo_metrics {
	const char *proc_root;
	uint64_t cpu_busy0, cpu_total0;   /* /proc/stat at begin */
	double mem_sum;                   /* sum of memory-used percentages sampled */
	unsigned mem_n;
	double cpu_avg, mem_avg;          /* results after hostinfo_metrics_end */
};
void hostinfo_metrics_begin(struct hostinfo_metrics *m, const char *proc_root);
void hostinfo_metrics_tick(struct hostinfo_metrics *m);
void hostinfo_metrics_end(struct hostinfo_metrics *m);

/* Pure parsers, exposed for tests. 0 or -EINVAL. */
int hostinfo_parse_stat(const char *text, uint64_t *busy, uint64_t *total);
int hostinfo_parse_meminfo(const char *text, uint64_t *total_kb, uint64_t *avail_kb);

#endif
