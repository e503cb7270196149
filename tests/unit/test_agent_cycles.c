/* Start/stop cycles through the real heartbeat-session callbacks (BPF sampler loaded and attached
 * on every CPU, symbolizer, profiling thread), as heartbeat mode runs them: open fds, threads and
 * RSS must stay flat. Needs root and BPF; skips cleanly without them.
 *
 *   FLEETPROF_CYCLES=N overrides the number of cycles (default 1000). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "t.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan holds freed memory back (the quarantine), which reads as RSS growth: turn it off here so
 * RSS measures what the agent keeps; LeakSanitizer still checks every allocation at exit. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=0";
}
#endif

static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int one_cycle(struct fleet_session_ops *ops, int i)
{
	struct hb_command c;
	char err[256];
	void *s;
	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "cycle-%d", i);
	c.type = HB_CMD_START;
	c.duration = 60;
	c.frequency = 99;
	c.continuous = i % 2;
	s = ops->begin(ops->ctx, &c, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "cycle %d: begin failed: %s\n", i, err);
		return -1;
	}
	ops->request_stop(ops->ctx, s);
	if (ops->end(ops->ctx, s, err, sizeof(err)) != 0) {
		fprintf(stderr, "cycle %d: end failed: %s\n", i, err);
		return -1;
	}
	return 0;
}

T_TEST(start_stop_cycles_do_not_grow)
{
	struct options o;
	struct session_ctx ctx;
	struct fleet_session_ops ops;
	const char *env = getenv("FLEETPROF_CYCLES");
	int cycles = env ? atoi(env) : 1000, warm = 20;
	long fd0, th0, rss0, fd1, th1, rss1;

	if (geteuid() != 0)
		T_SKIP("needs root for BPF");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		T_SKIP("no BTF in this kernel");
	memset(&o, 0, sizeof(o));
	o.perf_mode = PERF_MODE_BPF;          /* the real thing, no silent fallback */
	snprintf(o.run_arguments, sizeof(o.run_arguments), "test");
	ctx = (struct session_ctx){ .opt = &o };
	ops = session_ops(&ctx);

	for (int i = 0; i < warm; i++)
		T_REQUIREF(one_cycle(&ops, i) == 0, "warm-up cycle %d failed", i);
	fd0 = count_dir("/proc/self/fd");
	th0 = count_dir("/proc/self/task");
	rss0 = rss_kb();
	for (int i = 0; i < cycles; i++)
		T_REQUIREF(one_cycle(&ops, warm + i) == 0, "cycle %d failed", i);
	fd1 = count_dir("/proc/self/fd");
	th1 = count_dir("/proc/self/task");
	rss1 = rss_kb();
	printf("# %d cycles: fds %ld -> %ld, threads %ld -> %ld, RSS %ld -> %ld kB\n", cycles, fd0,
	       fd1, th0, th1, rss0, rss1);
	T_CHECKF(fd1 == fd0, "open fds grew from %ld to %ld over %d cycles", fd0, fd1, cycles);
	T_CHECKF(th1 == th0, "threads grew from %ld to %ld", th0, th1);
	/* The plain build is the measure (tests/run runs it too): a leak of even 2 KiB per cycle
	 * would show as 2 MB. Under ASan, RSS measures the sanitizer: its per-thread bookkeeping
	 * for each session's threads grew RSS by 2.2 MB per 1,000 cycles on a quiet machine and
	 * by 5.3 MB on a loaded one, with the plain build at +4 kB in the same runs. There the
	 * growth is printed, not bounded; LeakSanitizer checks every allocation at exit. */
#if !defined(__SANITIZE_ADDRESS__)
	T_CHECKF(rss1 - rss0 < 2048, "RSS grew by %ld kB over %d cycles", rss1 - rss0, cycles);
#endif
}

int main(void)
{
	log_init("test", LOG_WARN);
	T_RUN(start_stop_cycles_do_not_grow);
	return t_done();
}
