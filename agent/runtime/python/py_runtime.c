/* py_runtime.c — the Python member (py_runtime.h): its flags, its start and stop, and the thread
 * that scans for processes, reads them and flushes the BPF walker's counts. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "py_runtime.h"
#include "py_rt.h"
#include "collapsed.h"
#include "util.h"

#define FLUSH_MS        250      /* BPF counts are named at least this often (exiting processes) */
#define BPF_TICK_MS     20       /* tick while only BPF serves processes (new-thread checks) */

static const char *const mode_names[] = { "auto", "pyperf", "pyspy", "disabled" };

int py_mode_parse(const char *s, enum py_mode *out)
{
	for (unsigned i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(s, mode_names[i])) {
			*out = (enum py_mode)i;
			return 0;
		}
	if (!strcmp(s, "py-spy")) {   /* gProfiler's spelling */
		*out = PY_MODE_PYSPY;
		return 0;
	}
	return -EINVAL;
}

/* How long the thread may sleep after a tick: the profiling period while it reads a process
 * from user space (each tick reads its threads); BPF_TICK_MS while BPF serves processes (new
 * threads are looked for that often); else until the next flush or scan. A host without Python
 * costs one wake-up a second, not one per sampling period. Under wmu. */
static int64_t tick_ns(const struct pyrt *p, int64_t period_ns)
{
	bool reader = false, bpf = false;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++) {
		const struct proc *pr = &p->procs[i];
		if (!pr->pid || pr->gone || !pr->active)
			continue;
		if (pr->in_bpf)
			bpf = true;
		else
			reader = true;
	}
	if (reader)
		return period_ns;
	if (bpf)
		return period_ns > BPF_TICK_MS * 1000000LL ? period_ns : BPF_TICK_MS * 1000000LL;
	return INT64_MAX;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *run(void *arg)
{
	struct pyrt *p = arg;
	int64_t period_ns = 1000000000LL / (p->cfg.frequency ? p->cfg.frequency : 11);
	int64_t now = mono_ns(), next_tick = now, next_scan = now, next_flush = now;

	while (!p->stop) {
		int64_t wake, step;
		struct timespec ts;

		now = mono_ns();
		pthread_mutex_lock(&p->wmu);
		if (now >= next_flush) {
			pyrt_bpf_flush(p);
			next_flush = now + FLUSH_MS * 1000000LL;
		}
		if (now >= next_scan) {
			pyrt_scan(p);
			next_scan = now + PYRT_SCAN_MS * 1000000LL;
		}
		if (p->bpf)
			pyrt_bpf_quick_refresh(p);
		pyrt_read_all(p);
		step = tick_ns(p, period_ns);
		pthread_mutex_unlock(&p->wmu);

		/* the next tick keeps its phase while ticking; after a long sleep it starts anew */
		next_tick = step == period_ns && next_tick + step > now ? next_tick + step :
			    (step == INT64_MAX ? INT64_MAX : now + step);
		wake = next_scan;
		if (p->bpf && next_flush < wake)
			wake = next_flush;
		if (next_tick < wake)
			wake = next_tick;
		ts.tv_sec = (time_t)(wake / 1000000000LL);
		ts.tv_nsec = (long)(wake % 1000000000LL);
		pthread_mutex_lock(&p->smu);
		while (!p->stop && mono_ns() < wake)
			if (pthread_cond_timedwait(&p->scv, &p->smu, &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&p->smu);
	}
	return NULL;
}

static void pyrt_stop(void *rt);

static struct pyrt *pyrt_start(const struct pyrt_config *cfg)
{
	struct pyrt *p;
	if (cfg->mode == PY_MODE_DISABLED) {
		errno = 0;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->cfg = *cfg;
	if (!p->cfg.proc_root)
		p->cfg.proc_root = "/proc";
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->wmu, NULL);
	pthread_mutex_init(&p->smu, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->scv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (cfg->npids) {
		p->pids = calloc(cfg->npids, sizeof(*p->pids));
		if (!p->pids)
			goto nomem;
		memcpy(p->pids, cfg->pids, cfg->npids * sizeof(*p->pids));
	}
	p->nopy = calloc(PYRT_NOPY_SLOTS, sizeof(*p->nopy));
	p->told = calloc(PYRT_NOPY_SLOTS, sizeof(*p->told));
	p->seen = calloc(PYRT_SEEN_SLOTS, sizeof(*p->seen));
	p->agg = col_agg_new(PYRT_MAX_STACKS);
	if (!p->nopy || !p->told || !p->seen || !p->agg)
		goto nomem;
	p->ropt.line_numbers = cfg->line_numbers;
	p->ropt.proc_root = p->cfg.proc_root;
	p->bpf_max_procs = PYBPF_MAX_PROCS;
	{
		/* test hook: how many processes BPF serves before the others fall back */
		const char *e = getenv("FLEETPROF_PYBPF_MAX_PROCS");
		if (e && *e)
			p->bpf_max_procs = (unsigned)strtoul(e, NULL, 10);
	}
	/* the BPF program is loaded when the first Python process is attached (pyrt_bpf_sync) */
	p->bpf_failed = !(cfg->mode == PY_MODE_AUTO || cfg->mode == PY_MODE_PYPERF);
	if (pthread_create(&p->thread, NULL, run, p)) {
		pyrt_stop(p);
		errno = EAGAIN;
		return NULL;
	}
	p->thread_started = true;
	return p;
nomem:
	pyrt_stop(p);
	errno = ENOMEM;
	return NULL;
}

static void pyrt_stop(void *rt)
{
	struct pyrt *p = rt;

	if (!p)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->smu);
		p->stop = 1;
		pthread_cond_signal(&p->scv);
		pthread_mutex_unlock(&p->smu);
		pthread_join(p->thread, NULL);
	}
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid)
			pyrt_proc_detach(p, &p->procs[i]);
	pybpf_free(p->bpf);
	pthread_mutex_destroy(&p->wmu);
	col_agg_free(p->agg);
	free(p->nopy);
	free(p->told);
	free(p->seen);
	free(p->pids);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->smu);
	pthread_cond_destroy(&p->scv);
	free(p);
}

/* ---- the runtime member (runtime.h) ------------------------------------------------------- */

enum { PYF_MODE, PYF_LINES, PYF_SKIP_PYPERF };

static const struct runtime_flag py_flags[] = {
	{ "python-mode", true, PYF_MODE },
	{ "python-add-line-numbers", false, PYF_LINES },
	{ "python-skip-pyperf-profiler-above", true, PYF_SKIP_PYPERF },
	{ "skip-pyperf-profiler-above", true, PYF_SKIP_PYPERF },   /* gProfiler's older name */
	{ NULL, false, 0 },
};

static const char py_help[] =
"Python (CPython 3.8-3.13, named frames 'qualname (file)_[p]'):\n"
"      --python-mode MODE            auto (default), pyperf, pyspy or disabled. pyperf walks\n"
"                                    the frames of the sampled thread in BPF; pyspy reads\n"
"                                    the threads running on a CPU with process_vm_readv at\n"
"                                    the profiling frequency. auto uses BPF and falls back\n"
"                                    to pyspy per process when BPF cannot serve it; pyperf\n"
"                                    leaves such a process to native sampling. Threads\n"
"                                    with Python frames lose their native samples, so\n"
"                                    nothing is counted twice; native-only threads (a BLAS\n"
"                                    pool) keep them.\n"
"      --python-add-line-numbers     frames as 'qualname (file:line)'\n"
"      --python-skip-pyperf-profiler-above N  (alias --skip-pyperf-profiler-above) with\n"
"                                    more than N Python processes use pyspy (default 0: never)\n";

#define SKIP_PYPERF_MAX 1000000

static int py_check_flag(unsigned slot, const char *value, char *err, size_t errlen)
{
	enum py_mode m;
	unsigned n;
	if (slot == PYF_MODE && py_mode_parse(value, &m)) {
		snprintf(err, errlen, "--python-mode must be auto, pyperf, pyspy or disabled, got '%s'",
			 value);
		return -EINVAL;
	}
	if (slot == PYF_SKIP_PYPERF && util_parse_uint(value, 0, SKIP_PYPERF_MAX, &n)) {
		snprintf(err, errlen, "--python-skip-pyperf-profiler-above must be a number 0..%u, "
			 "got '%s'", SKIP_PYPERF_MAX, value);
		return -EINVAL;
	}
	return 0;
}

static void *py_start(const struct runtime_config *rc)
{
	struct pyrt_config pc = {
		.mode = PY_MODE_AUTO, .frequency = rc->frequency, .min_age_s = rc->min_age_s,
		.max_processes = rc->max_processes, .pids = rc->npids ? rc->pids : NULL,
		.npids = rc->npids, .self_pid = rc->self_pid, .proc_root = rc->proc_root,
	};
	const char *const *f = rc->flags;
	/* the values were checked when the options were parsed */
	if (f[PYF_MODE] && py_mode_parse(f[PYF_MODE], &pc.mode))
		pc.mode = PY_MODE_AUTO;
	pc.line_numbers = f[PYF_LINES] != NULL;
	if (f[PYF_SKIP_PYPERF] && util_parse_uint(f[PYF_SKIP_PYPERF], 0, SKIP_PYPERF_MAX,
						  &pc.skip_pyperf_above))
		pc.skip_pyperf_above = 0;
	/* no native sampling means no sampling at all unless Python was asked for by name */
	if (rc->native_off && pc.mode == PY_MODE_AUTO)
		pc.mode = PY_MODE_DISABLED;
	return pyrt_start(&pc);
}

const struct runtime_ops py_runtime_ops = {
	.name = "python", .flags = py_flags, .help = py_help, .check_flag = py_check_flag,
	.start = py_start, .stop = pyrt_stop, .owns_thread = pyrt_owns_thread,
	.drain = pyrt_drain, .get_stats = pyrt_get_stats,
};
