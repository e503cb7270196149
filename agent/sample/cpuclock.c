/* cpuclock.c — see cpuclock.h. */
#include "cpuclock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>

#include "hostinfo.h"
#include "log.h"

void cpuclock_event_attr(struct perf_event_attr *attr, unsigned freq)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = PERF_TYPE_SOFTWARE;
	attr->size = sizeof(*attr);
	attr->config = PERF_COUNT_SW_CPU_CLOCK;
	attr->freq = 1;
	attr->sample_freq = freq;
}

int cpuclock_open(struct perf_event_attr *attr, int cpu)
{
	int fd = (int)syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cpuclock_attach(struct cpuclock *c, struct bpf_program *prog, unsigned freq, const char *who)
{
	int cpus[HOSTINFO_MAX_CPUS];
	int n = hostinfo_online_cpus(cpus, HOSTINFO_MAX_CPUS), rc = 0;

	memset(c, 0, sizeof(*c));
	if (n <= 0)
		return n < 0 ? n : -ENODEV;
	c->links = calloc((size_t)n, sizeof(*c->links));
	c->fds = calloc((size_t)n, sizeof(*c->fds));
	if (!c->links || !c->fds) {
		rc = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		struct perf_event_attr attr;
		int fd;
		cpuclock_event_attr(&attr, freq);
		fd = cpuclock_open(&attr, cpus[i]);
		if (fd == -ENODEV) /* went offline meanwhile */
			continue;
		if (fd < 0) {
			rc = fd;
			log_warn("%s: perf_event_open on cpu %d: %s", who, cpus[i], strerror(-rc));
			goto fail;
		}
		c->links[c->n] = bpf_program__attach_perf_event(prog, fd);
		if (!c->links[c->n]) {
			rc = -errno;
			close(fd);
			log_warn("%s: attach on cpu %d: %s", who, cpus[i], strerror(-rc));
			goto fail;
		}
		c->fds[c->n++] = fd;
	}
	if (c->n)
		return 0;
	rc = -ENODEV;
fail:
	cpuclock_release(c);
	return rc;
}

void cpuclock_release(struct cpuclock *c)
{
	for (int i = 0; i < c->n; i++) {
		bpf_link__destroy(c->links[i]);
		close(c->fds[i]);
	}
	free(c->links);
	free(c->fds);
	memset(c, 0, sizeof(*c));
}
