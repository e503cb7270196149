/* hostinfo.c — see hostinfo.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "hostinfo.h"

static int read_text(const char *root, const char *name, char *out, size_t n)
{
	char path[512];
	FILE *f;
	size_t got;
	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	got = fread(out, 1, n - 1, f);
	out[got] = '\0';
	fclose(f);
	return 0;
}

int hostinfo_parse_cpulist(const char *s, int *cpus, int max)
{
	int count = 0;
	const char *p = s;
	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b;
		if (end == p || a < 0 || a >= 1 << 20)
			return -EINVAL;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b >= 1 << 20)
				return -EINVAL;
			p = end;
		}
		for (long c = a; c <= b; c++) {
			if (cpus && count < max)
				cpus[count] = (int)c;
			count++;
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	if (cpus && count > max)
		count = max;
	return count;
}

int hostinfo_online_cpus(int *cpus, int max)
{
	char text[4096];
	int rc = read_text("/sys/devices/system/cpu", "online", text, sizeof(text));
	if (rc < 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n <= 0)
			return rc;
		for (long i = 0; cpus && i < n && i < max; i++)
			cpus[i] = (int)i;
		return cpus && n > max ? max : (int)n;
	}
	return hostinfo_parse_cpulist(text, cpus, max);
}

int hostinfo_parse_stat(const char *text, uint64_t *busy, uint64_t *total)
{
	unsigned long long v[10] = { 0 };
	int n;
	if (strncmp(text, "cpu ", 4) != 0)
		return -EINVAL;
	n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return -EINVAL;
	/* user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice] */
	*total = 0;
	for (int i = 0; i < 8 && i < n; i++)
		*total += v[i];
	*busy = *total - v[3] - (n > 4 ? v[4] : 0);
	return 0;
}

int hostinfo_parse_meminfo(const char *text, uint64_t *total_kb, uint64_t *avail_kb)
{
	const char *t = strstr(text, "MemTotal:");
	const char *a = strstr(text, "MemAvailable:");
	unsigned long long tv, av;
	if (!t || !a || sscanf(t, "MemTotal: %llu", &tv) != 1 ||
	    sscanf(a, "MemAvailable: %llu", &av) != 1 || tv == 0)
		return -EINVAL;
	*total_kb = tv;
	*avail_kb = av;
	return 0;
}

void hostinfo_read(struct hostinfo *h, const char *proc_root)
{
	struct utsname u;
	char *text = malloc(65536);
	uint64_t total, avail;
	int n;

	memset(h, 0, sizeof(*h));
	if (gethostname(h->hostname, sizeof(h->hostname) - 1) != 0)
		h->hostname[0] = '\0';
	if (uname(&u) == 0) {
		snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", u.release);
		snprintf(h->kernel_version, sizeof(h->kernel_version), "%s", u.version);
		snprintf(h->arch, sizeof(h->arch), "%s", u.machine);
	}
	n = hostinfo_online_cpus(NULL, 0);
	h->processors = n > 0 ? n : 0;
	if (!text)
		return;
	if (read_text(proc_root, "cpuinfo", text, 65536) == 0) {
		const char *m = strstr(text, "model name");
		if (m && (m = strchr(m, ':'))) {
			size_t len;
			m++;
			while (*m == ' ' || *m == '\t')
				m++;
			len = strcspn(m, "\n");
			if (len >= sizeof(h->cpu_model))
				len = sizeof(h->cpu_model) - 1;
			memcpy(h->cpu_model, m, len);
			h->cpu_model[len] = '\0';
		}
	}
	if (read_text(proc_root, "meminfo", text, 65536) == 0 &&
	    hostinfo_parse_meminfo(text, &total, &avail) == 0)
		h->memory_mb = total / 1024;
	free(text);
}

static int read_stat(const char *root, uint64_t *busy, uint64_t *total)
{
	char text[512];
	int rc = read_text(root, "stat", text, sizeof(text));
	return rc ? rc : hostinfo_parse_stat(text, busy, total);
}

void hostinfo_metrics_begin(struct hostinfo_metrics *m, const char *proc_root)
{
	memset(m, 0, sizeof(*m));
	m->proc_root = proc_root;
	if (read_stat(proc_root, &m->cpu_busy0, &m->cpu_total0))
		m->cpu_total0 = 0;
	hostinfo_metrics_tick(m);
}

void hostinfo_metrics_tick(struct hostinfo_metrics *m)
{
	char text[8192];
	uint64_t total, avail;
	if (read_text(m->proc_root, "meminfo", text, sizeof(text)) == 0 &&
	    hostinfo_parse_meminfo(text, &total, &avail) == 0) {
		m->mem_sum += 100.0 * (double)(total - (avail < total ? avail : total)) / (double)total;
		m->mem_n++;
	}
}

void hostinfo_metrics_end(struct hostinfo_metrics *m)
{
	uint64_t busy, total;
	hostinfo_metrics_tick(m);
	m->cpu_avg = 0;
	if (m->cpu_total0 && read_stat(m->proc_root, &busy, &total) == 0 && total > m->cpu_total0 &&
	    busy >= m->cpu_busy0)
		m->cpu_avg = 100.0 * (double)(busy - m->cpu_busy0) / (double)(total - m->cpu_total0);
	m->mem_avg = m->mem_n ? m->mem_sum / m->mem_n : 0;
}
