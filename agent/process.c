/* process.c — see process.h. */
#include "process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>

#include "collapsed.h"

int process_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;
	if (!addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int process_stat(const char *root, pid_t pid, struct process_stat *out)
{
	char path[128], buf[1024], *p, *lp;
	unsigned long long ut, st, sta;
	FILE *f;
	size_t n, l;
	snprintf(path, sizeof(path), "%s/%d/stat", root, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	lp = strchr(buf, '(');
	p = strrchr(buf, ')');
	if (!p || !lp || p < lp ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		   "%*d %*d %*d %*d %*d %*d %llu", &ut, &st, &sta) != 3)
		return -EINVAL;
	l = (size_t)(p - lp - 1);
	if (l >= sizeof(out->comm))
		l = sizeof(out->comm) - 1;
	memcpy(out->comm, lp + 1, l);
	out->comm[l] = '\0';
	col_frame_sanitize(out->comm);
	out->start = sta;
	out->cpu = ut + st;
	return 0;
}

double process_age_s(uint64_t start)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 -
	       (double)start / (double)sysconf(_SC_CLK_TCK);
}

int process_task_nspid(const char *root, pid_t pid, long tid, uint32_t *host, uint32_t *ns)
{
	char path[160], line[256];
	FILE *f;
	int rc = -ENOENT;
	snprintf(path, sizeof(path), "%s/%d/task/%ld/status", root, (int)pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *q, *end;
		if (strncmp(line, "NSpid:", 6))
			continue;
		q = line + 6;
		*host = (uint32_t)strtoul(q, &end, 10);
		*ns = *host;
		while (end != q) {
			unsigned long v;
			q = end;
			v = strtoul(q, &end, 10);
			if (end != q)
				*ns = (uint32_t)v;
		}
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}
