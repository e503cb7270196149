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
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.freq = 1,
			.sample_freq = freq,
		};
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV) /* went offline meanwhile */
				continue;
			rc = -errno;
			log_warn("%s: perf_event_open on cpu %d: %s", who, cpus[i], strerror(errno));
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
