/* test_agent_options.c — flags, CPU lists, /proc/stat and /proc/meminfo parsing, callchain
 * kernel/user split, map sizing bounds, progress line. Table-driven. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>

#include "t.h"
#include "options.h"
#include "hostinfo.h"
#include "sample/perfev.h"
#include "sample/sampler.h"
#include "sample/leafcall.h"
#include "progress.h"
#include "util.h"

static enum opt_result parse(struct options *o, const char *line)
{
	char copy[512], *argv[32];
	int argc = 0;
	FILE *null = fopen("/dev/null", "w");
	enum opt_result r;
	snprintf(copy, sizeof(copy), "fleetprof-agent %s", line);
	for (char *tok = strtok(copy, " "); tok && argc < 31; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	r = options_parse(o, argc, argv, null, null);
	fclose(null);
	return r;
}

T_TEST(options_defaults)
{
	struct options o;
	T_CHECK(parse(&o, "") == OPT_RUN);
	T_CHECK(o.duration == 60 && o.frequency == 11 && !o.continuous && o.flamegraph);
	T_CHECK(o.output_dir == NULL && o.npids == 0 && o.perf_mode == PERF_MODE_AUTO);
}

T_TEST(options_table)
{
	static const struct {
		const char *line;
		enum opt_result want;
	} cases[] = {
		{ "-d 5 -f 99 -c -o /tmp/x", OPT_RUN },
		{ "--profiling-duration=5 --profiling-frequency 99", OPT_RUN },
		{ "--pids 1,2,3 --perf-mode perf --no-flamegraph --rotating-output -v", OPT_RUN },
		{ "--help", OPT_EXIT_OK },
		{ "--version", OPT_EXIT_OK },
		{ "-d 0", OPT_EXIT_USAGE },
		{ "-d 86401", OPT_EXIT_USAGE },
		{ "-f 1001", OPT_EXIT_USAGE },
		{ "-f 5x", OPT_EXIT_USAGE },
		{ "-f -5", OPT_EXIT_USAGE },
		{ "--pids 0", OPT_EXIT_USAGE },
		{ "--pids 1,", OPT_EXIT_USAGE },
		{ "--pids ,1", OPT_EXIT_USAGE },
		{ "--pids 99999999999", OPT_EXIT_USAGE },
		{ "--perf-mode fp", OPT_EXIT_USAGE },
		{ "--nope", OPT_EXIT_USAGE },
		{ "-o", OPT_EXIT_USAGE },
		{ "stray", OPT_EXIT_USAGE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct options o;
		enum opt_result r = parse(&o, cases[i].line);
		T_CHECKF(r == cases[i].want, "'%s': got %d want %d", cases[i].line, r, cases[i].want);
	}
}

T_TEST(options_values)
{
	struct options o;
	T_CHECK(parse(&o, "-d 5 -f 99 -c -o /tmp/x --pids 10,20 --perf-mode disabled --rotating-output") == OPT_RUN);
	T_CHECK(o.duration == 5 && o.frequency == 99 && o.continuous && strcmp(o.output_dir, "/tmp/x") == 0);
	T_CHECK(o.npids == 2 && o.pids[0] == 10 && o.pids[1] == 20);
	T_CHECK(o.perf_mode == PERF_MODE_DISABLED && o.rotating_output);
	T_CHECKF(strcmp(o.run_arguments, "-d 5 -f 99 -c -o /tmp/x --pids 10,20 --perf-mode disabled --rotating-output") == 0,
		 "run_arguments '%s'", o.run_arguments);
	T_CHECK(strcmp(options_perf_mode_name(PERF_MODE_PERF), "perf") == 0);
}

T_TEST(options_pids_bound)
{
	static char line[16 * (OPT_MAX_PIDS + 2)];
	struct options o;
	size_t used = (size_t)snprintf(line, sizeof(line), "--pids ");
	for (int i = 1; i <= OPT_MAX_PIDS + 1; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%d", i > 1 ? "," : "", i);
	{
		char *argv[] = { "a", "--pids", line + 7, NULL };
		FILE *null = fopen("/dev/null", "w");
		T_CHECK(options_parse(&o, 3, argv, null, null) == OPT_EXIT_USAGE);
		fclose(null);
	}
}

/* The row of the runtime member called name in struct runtime_flags. */
static size_t member(const char *name)
{
	size_t i;
	for (i = 0; runtime_members[i] && strcmp(runtime_members[i]->name, name); i++)
		;
	return i;
}

static bool kept(const struct options *o, size_t m, const char *value)
{
	for (size_t slot = 0; slot < RUNTIME_FLAGS_MAX; slot++)
		if (o->runtime.v[m][slot] && !strcmp(o->runtime.v[m][slot], value))
			return true;
	return false;
}

T_TEST(options_runtime_flags_kept_for_their_member)
{
	struct options o;
	size_t py = member("python");
	int rows = 0;
	T_REQUIRE(runtime_members[py] != NULL);
	T_CHECK(parse(&o, "--python-mode pyspy --skip-pyperf-profiler-above 3 "
			  "--python-add-line-numbers --min-profiling-duration 0 "
			  "--max-processes-runtime-profiler 2") == OPT_RUN);
	T_CHECK(o.min_profiling_duration == 0 && o.max_processes_runtime == 2);
	/* as given, uninterpreted, in the member's row; the alias fills the same slot */
	for (size_t slot = 0; slot < RUNTIME_FLAGS_MAX; slot++) {
		const char *v = o.runtime.v[py][slot];
		if (!v)
			continue;
		rows++;
		T_CHECKF(!strcmp(v, "pyspy") || !strcmp(v, "3") || !strcmp(v, "1"), "slot %zu: '%s'",
			 slot, v);
	}
	T_CHECKF(rows == 3 && kept(&o, py, "pyspy") && kept(&o, py, "3"), "%d values kept", rows);
	T_CHECK(parse(&o, "") == OPT_RUN && o.min_profiling_duration == 10);
	for (size_t slot = 0; slot < RUNTIME_FLAGS_MAX; slot++)
		T_CHECK(o.runtime.v[py][slot] == NULL);
	/* each member checks its own values */
	T_CHECK(parse(&o, "--python-mode bogus") == OPT_EXIT_USAGE);
	T_CHECK(parse(&o, "--python-skip-pyperf-profiler-above -1") == OPT_EXIT_USAGE);
	T_CHECK(parse(&o, "--python-mode") == OPT_EXIT_USAGE);
	/* and the environment knows their flags like the agent's own */
	setenv("FLEETPROF_PYTHON_MODE", "nope", 1);
	T_CHECK(parse(&o, "") == OPT_EXIT_USAGE);
	options_release(&o);
	setenv("FLEETPROF_PYTHON_MODE", "pyperf", 1);
	T_CHECK(parse(&o, "") == OPT_RUN && kept(&o, py, "pyperf"));
	options_release(&o);
	unsetenv("FLEETPROF_PYTHON_MODE");
}

T_TEST(cpulist_table)
{
	static const struct {
		const char *s;
		int n, first, last;
	} cases[] = {
		{ "0", 1, 0, 0 }, { "0-3\n", 4, 0, 3 }, { "0-1,4,6-7", 5, 0, 7 }, { "5", 1, 5, 5 },
		{ "", 0, -1, -1 }, { "3-1", -EINVAL, 0, 0 }, { "a", -EINVAL, 0, 0 }, { "1,,2", -EINVAL, 0, 0 },
		{ "-1", -EINVAL, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int cpus[16];
		int n = hostinfo_parse_cpulist(cases[i].s, cpus, 16);
		T_CHECKF(n == cases[i].n, "'%s': %d", cases[i].s, n);
		if (n > 0)
			T_CHECKF(cpus[0] == cases[i].first && cpus[n - 1] == cases[i].last, "'%s'", cases[i].s);
	}
	{
		int cpus[2];
		T_CHECK(hostinfo_parse_cpulist("0-9", cpus, 2) == 2);   /* bounded */
		T_CHECK(hostinfo_parse_cpulist("0-9", NULL, 0) == 10);  /* count only */
	}
	T_CHECK(hostinfo_online_cpus(NULL, 0) >= 1);
}

T_TEST(proc_stat_and_meminfo)
{
	uint64_t busy, total, t, a;
	T_CHECK(hostinfo_parse_stat("cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4\n", &busy, &total) == 0);
	T_CHECKF(total == 1000 && busy == 160, "busy %llu total %llu", (unsigned long long)busy,
		 (unsigned long long)total);
	T_CHECK(hostinfo_parse_stat("cpu0 1 2 3 4\n", &busy, &total) == -EINVAL);
	T_CHECK(hostinfo_parse_stat("cpu  1 2\n", &busy, &total) == -EINVAL);
	T_CHECK(hostinfo_parse_meminfo("MemTotal:       16000 kB\nMemFree: 1 kB\nMemAvailable:    4000 kB\n",
				       &t, &a) == 0 && t == 16000 && a == 4000);
	T_CHECK(hostinfo_parse_meminfo("MemTotal: 16000 kB\n", &t, &a) == -EINVAL);
	T_CHECK(hostinfo_parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n", &t, &a) == -EINVAL);
}

T_TEST(metrics_window_on_live_proc)
{
	struct hostinfo_metrics m;
	struct hostinfo h;
	hostinfo_metrics_begin(&m, "/proc");
	for (volatile unsigned long i = 0; i < 30000000ul; i++)
		;
	hostinfo_metrics_end(&m);
	T_CHECKF(m.cpu_avg > 0 && m.cpu_avg <= 100, "cpu_avg %f", m.cpu_avg);
	T_CHECKF(m.mem_avg > 0 && m.mem_avg < 100 && m.mem_n == 2, "mem_avg %f n %u", m.mem_avg, m.mem_n);
	hostinfo_read(&h, "/proc");
	T_CHECK(h.hostname[0] && h.kernel_release[0] && h.processors >= 1 && h.memory_mb > 0);
}

T_TEST(callchain_split)
{
	uint64_t k[8], u[8];
	uint32_t nk, nu;
	const uint64_t chain[] = { (uint64_t)PERF_CONTEXT_KERNEL, 0xffffffff81000010ull, 0xffffffff81000020ull,
				   (uint64_t)PERF_CONTEXT_USER, 0x401000, 0x402000, 0x403000 };
	const uint64_t user_only[] = { (uint64_t)PERF_CONTEXT_USER, 0x401000 };
	const uint64_t guest[] = { (uint64_t)PERF_CONTEXT_GUEST_KERNEL, 0x1, (uint64_t)PERF_CONTEXT_KERNEL, 0xffffffff81000010ull };
	perfev_split_callchain(chain, 7, k, &nk, u, &nu, 8);
	T_CHECK(nk == 2 && k[0] == 0xffffffff81000010ull && k[1] == 0xffffffff81000020ull);
	T_CHECK(nu == 3 && u[0] == 0x401000 && u[2] == 0x403000);
	perfev_split_callchain(user_only, 2, k, &nk, u, &nu, 8);
	T_CHECK(nk == 0 && nu == 1);
	perfev_split_callchain(guest, 4, k, &nk, u, &nu, 8);
	T_CHECK(nk == 1 && nu == 0);
	perfev_split_callchain(chain, 7, k, &nk, u, &nu, 2);   /* bounded */
	T_CHECK(nk == 2 && nu == 2);
	perfev_split_callchain(chain, 0, k, &nk, u, &nu, 8);
	T_CHECK(nk == 0 && nu == 0);
}

T_TEST(leaf_ret_slot_patterns)
{
	/* c[0] is the byte before ip */
	const unsigned char entry[9] = { 0xcc, 0x55, 0x48, 0x89, 0xe5, 0x41, 0x57, 0, 0 };
	const unsigned char after_push[9] = { 0x55, 0x48, 0x89, 0xe5, 0x41, 0x57, 0, 0, 0 };
	const unsigned char endbr[9] = { 0xcc, 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5 };
	const unsigned char ret[9] = { 0x5d, 0xc3, 0xcc, 0, 0, 0, 0, 0, 0 };
	const unsigned char body[9] = { 0x01, 0x48, 0x8b, 0x45, 0xf8, 0x48, 0x8d, 0x44, 0x40 };
	const unsigned char push_only[9] = { 0x90, 0x55, 0x53, 0x48, 0x83, 0xec, 0x08, 0, 0 };
	const unsigned char endbr_no_frame[9] = { 0xcc, 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08 };
	T_CHECK(leafcall_ret_slot(entry, 1) == 0);
	T_CHECK(leafcall_ret_slot(after_push, 1) == 1);
	T_CHECK(leafcall_ret_slot(after_push, 0) == -1);  /* byte before unknown: no guess */
	T_CHECK(leafcall_ret_slot(endbr, 1) == 0);
	T_CHECK(leafcall_ret_slot(ret, 0) == 0);
	T_CHECK(leafcall_ret_slot(body, 1) == -1);
	/* push %rbp not followed by mov %rsp,%rbp: rbp is a plain register there, no guess */
	T_CHECK(leafcall_ret_slot(push_only, 1) == -1);
	T_CHECK(leafcall_ret_slot(endbr_no_frame, 1) == -1);
}

T_TEST(after_call_forms)
{
	/* the 7 bytes before a return address */
	static const struct {
		unsigned char b[7];
		int want;
		const char *what;
	} cases[] = {
		{ { 0x90, 0x90, 0xe8, 0x10, 0x20, 0x30, 0x40 }, 1, "call rel32" },
		{ { 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xd0 }, 1, "call *%rax" },
		{ { 0x90, 0x90, 0x90, 0x90, 0x41, 0xff, 0xd3 }, 1, "call *%r11 (REX)" },
		{ { 0x90, 0xff, 0x15, 0x10, 0x20, 0x30, 0x40 }, 1, "call *disp32(%rip)" },
		{ { 0x90, 0x90, 0x90, 0x90, 0xff, 0x55, 0x08 }, 1, "call *8(%rbp)" },
		{ { 0x90, 0x90, 0x90, 0x90, 0xff, 0x14, 0x24 }, 1, "call *(%rsp)" },
		{ { 0x90, 0x90, 0x90, 0xff, 0x54, 0x24, 0x08 }, 1, "call *8(%rsp)" },
		{ { 0x90, 0xff, 0x90, 0x10, 0x20, 0x30, 0x40 }, 1, "call *disp32(%rax)" },
		{ { 0xff, 0x94, 0x24, 0x10, 0x20, 0x30, 0x40 }, 1, "call *disp32(%rsp)" },
		{ { 0x48, 0x8b, 0x45, 0xf8, 0x48, 0x01, 0xd0 }, 0, "mov; add" },
		{ { 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xe0 }, 0, "jmp *%rax (ff /4)" },
		{ { 0x90, 0x90, 0x90, 0x90, 0xff, 0x15, 0x10 }, 0, "ff 15 cut short" },
		{ { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xc3 }, 0, "ret" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		T_CHECKF(leafcall_after_call(cases[i].b) == cases[i].want, "%s", cases[i].what);
}

T_TEST(leaf_caller_insert)
{
	uint64_t ips[4] = { 0x10, 0x30, 0x40, 0 };
	uint32_t n = 3;
	leafcall_insert(ips, &n, 4, 0x20);
	T_CHECK(n == 4 && ips[0] == 0x10 && ips[1] == 0x20 && ips[2] == 0x30 && ips[3] == 0x40);
	leafcall_insert(ips, &n, 4, 0x20);      /* already there: unchanged */
	T_CHECK(n == 4 && ips[1] == 0x20 && ips[2] == 0x30);
	leafcall_insert(ips, &n, 4, 0x15);      /* full: the root-most frame gives way */
	T_CHECK(n == 4 && ips[1] == 0x15 && ips[2] == 0x20 && ips[3] == 0x30);
	leafcall_insert(ips, &n, 4, 0);         /* none */
	T_CHECK(n == 4);
	n = 1;
	leafcall_insert(ips, &n, 4, 0x99);
	T_CHECK(n == 2 && ips[0] == 0x10 && ips[1] == 0x99);
	n = 0;
	leafcall_insert(ips, &n, 4, 0x99);
	T_CHECK(n == 0);
}

T_TEST(map_sizes_bounded)
{
	uint32_t c, s;
	sampler_map_sizes(11, 2, 60, &c, &s);            /* 1320 samples */
	T_CHECKF(c == 2048 && s == 16384, "%u %u", c, s);
	sampler_map_sizes(1, 1, 1, &c, &s);
	T_CHECK(c == 1024 && s == 4096);                  /* floors */
	sampler_map_sizes(1000, 1024, 86400, &c, &s);
	T_CHECK(c == 65536 && s == 32768);                /* the fixed memory bound */
	sampler_map_sizes(99, 2, 20, &c, &s);
	T_CHECKF((c & (c - 1)) == 0 && c >= 3960 && s == 32768, "%u %u", c, s);
}

T_TEST(progress_line)
{
	char line[128];
	progress_format(line, sizeof(line), 12400, 60000, 2345);
	T_CHECKF(strcmp(line, "profiling: 12s elapsed, 48s left, 2345 samples") == 0, "'%s'", line);
	progress_format(line, sizeof(line), 70000, 60000, 0);
	T_CHECKF(strcmp(line, "profiling: 70s elapsed, 0s left, 0 samples") == 0, "'%s'", line);
}

int main(void)
{
	T_RUN(options_defaults);
	T_RUN(options_table);
	T_RUN(options_values);
	T_RUN(options_pids_bound);
	T_RUN(options_runtime_flags_kept_for_their_member);
	T_RUN(cpulist_table);
	T_RUN(proc_stat_and_meminfo);
	T_RUN(metrics_window_on_live_proc);
	T_RUN(callchain_split);
	T_RUN(leaf_ret_slot_patterns);
	T_RUN(after_call_forms);
	T_RUN(leaf_caller_insert);
	T_RUN(map_sizes_bounded);
	T_RUN(progress_line);
	return t_done();
}
