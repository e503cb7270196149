/* py_runtime.c — see py_runtime.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "py_runtime.h"
#include "py_detect.h"
#include "py_reader.h"
#include "py_bpf.h"
#include "py_names.h"
#include "process.h"
#include "collapsed.h"
#include "log.h"
#include "timeutil.h"
#include "util.h"

#define SCAN_MS         1000
#define FLUSH_MS        250      /* BPF counts are named at least this often (exiting processes) */
#define MAX_FAILS       50       /* consecutive failed reads before a process is dropped */
#define NOPY_SLOTS      8192     /* processes known not to be (readable) Python */
#define KEY_MAX         (PY_STACK_MAX + 4096)
#define PROC_THREADS    256
#define QUICK_MIN_MS    50       /* a process's threads re-read this soon after a new one shows */
#define SEEN_SLOTS      16384    /* Python threads of BPF-served processes, per snapshot */
#define BPF_TICK_MS     20       /* tick while only BPF serves processes (new-thread checks) */
#define REVERIFY_SCANS  10       /* a process known not to be Python is looked at again this rarely */

struct proc {
	pid_t pid;                   /* 0 = free slot */
	uint64_t start;              /* starttime, clock ticks since boot */
	struct py_reader *r;
	char comm[17];
	unsigned fails;
	bool active;                 /* sampled (top-N) */
	uint64_t cpu_prev, cpu_delta;
	/* BPF mode */
	struct py_target t;
	struct py_names *names;   /* code object names of BPF samples */
	bool in_bpf;                 /* described to the BPF program */
	bool bpf_refused;            /* BPF cannot serve it: the reader does (auto) */
	bool gone;                   /* exited: detached after the next BPF drain */
	bool own_pidns;              /* thread ids in its thread states are another namespace's */
	uint32_t tids[PROC_THREADS]; /* threads in the BPF thread table */
	size_t ntids;
	int64_t quick_at_ms;         /* last early re-read of its threads (monotonic ms) */
	int64_t quick_gap_ms;        /* wait before the next; doubles while they find nothing */
};

struct nopy {
	pid_t pid;
	uint64_t start;
};

struct pyrt {
	struct pyrt_config cfg;
	pid_t *pids;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;          /* agg, tracked, stats */
	volatile int stop;
	pthread_mutex_t smu;         /* stop and scv: wakes the thread's sleep at once */
	pthread_cond_t scv;
	struct proc procs[PYRT_MAX_PROCS];
	struct nopy *nopy;
	uint32_t tracked[PYRT_MAX_PROCS];  /* sorted tgids of active processes, under mu */
	size_t ntracked;
	uint32_t perthread[PYRT_MAX_PROCS]; /* sorted tgids whose Python threads are known by tid */
	size_t nperthread;           /* under mu: BPF-served, and read ones unless all_threads */
	uint32_t *seen;              /* hash set: host tids of their Python threads this snapshot */
	size_t nseen;                /* under mu; full: every thread of theirs counts as Python */
	struct col_agg *agg;         /* "tgid;comm;frames" -> count, under mu */
	uint64_t samples, dropped;
	struct py_reader_opts ropt;
	char key[KEY_MAX];
	struct proc *cur;            /* process being sampled (callback context) */
	/* BPF mode (pyperf; auto when it loads) */
	struct pybpf *bpf;
	pthread_mutex_t wmu;         /* procs, names and the BPF drain: thread vs pyrt_drain */
	unsigned bpf_max_procs;      /* processes BPF serves at most */
	bool bpf_off;                /* more processes than --python-skip-pyperf-profiler-above */
	bool bpf_failed;             /* BPF not wanted (pyspy) or it could not load */
	uint32_t newtids[PROC_THREADS];
	uint32_t xlat[PROC_THREADS][2];   /* namespace tid -> host tid, of one process */
	size_t nxlat;
	size_t nnew;
	struct pybpf_counts bcounts;
	uint32_t unknown_seq;        /* pybpf_unknown_thread's cursor */
	unsigned scans;              /* system-wide scans so far */
	uint64_t bpf_unnamed;        /* samples without Python frames (thread unknown yet...) */
	char kframe[PY_STACK_MAX];
	char fname[1024];
};

static const char *const mode_names[] = { "auto", "pyperf", "pyspy", "disabled" };

const char *py_mode_name(enum py_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "?";
}

int py_mode_parse(const char *s, enum py_mode *out)
{
	for (unsigned i = 0; i < 4; i++)
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

static size_t nopy_slot(pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (NOPY_SLOTS - 1);
}

static bool nopy_has(struct pyrt *p, pid_t pid, uint64_t start)
{
	struct nopy *n = &p->nopy[nopy_slot(pid)];
	return n->pid == pid && n->start == start;
}

/* Known not to be Python under this pid, whatever its start time (no /proc read). */
static bool nopy_has_pid(struct pyrt *p, pid_t pid)
{
	return p->nopy[nopy_slot(pid)].pid == pid;
}

static void nopy_add(struct pyrt *p, pid_t pid, uint64_t start)
{
	struct nopy *n = &p->nopy[nopy_slot(pid)];   /* a collision just forgets the older one */
	n->pid = pid;
	n->start = start;
}

static struct proc *proc_find(struct pyrt *p, pid_t pid)
{
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid == pid)
			return &p->procs[i];
	return NULL;
}

static void bpf_forget(struct pyrt *p, struct proc *pr)
{
	if (!pr->in_bpf)
		return;
	pybpf_proc_del(p->bpf, (uint32_t)pr->pid);
	for (size_t i = 0; i < pr->ntids; i++)
		pybpf_thread_del(p->bpf, pr->tids[i]);
	pr->ntids = 0;
	pr->in_bpf = false;
}

static void proc_detach_p(struct pyrt *p, struct proc *pr)
{
	if (p->bpf)
		bpf_forget(p, pr);
	py_reader_free(pr->r);
	py_names_free(pr->names);
	memset(pr, 0, sizeof(*pr));
}


static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_cpu_desc(const void *a, const void *b)
{
	const struct proc *x = *(struct proc *const *)a, *y = *(struct proc *const *)b;
	return x->cpu_delta < y->cpu_delta ? 1 : x->cpu_delta > y->cpu_delta ? -1 : 0;
}

/* Which attached processes are sampled (top N by CPU since the last scan), published to mu. */
static void choose_active(struct pyrt *p)
{
	struct proc *v[PYRT_MAX_PROCS];
	size_t n = 0;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid)
			v[n++] = &p->procs[i];
	qsort(v, n, sizeof(v[0]), cmp_cpu_desc);
	for (size_t i = 0; i < n; i++) {
		bool was = v[i]->active;
		v[i]->active = !p->cfg.max_processes || i < p->cfg.max_processes;
		if (was != v[i]->active && p->cfg.max_processes)
			log_info("python: process %d (%s) %s (--max-processes-runtime-profiler %u)",
				 (int)v[i]->pid, v[i]->comm, v[i]->active ? "profiled" : "not profiled",
				 p->cfg.max_processes);
	}
}

/* Publish the processes whose native samples are dropped (under mu). */
static void publish(struct pyrt *p)
{
	pthread_mutex_lock(&p->mu);   /* nothing but memory under the lock */
	p->ntracked = p->nperthread = 0;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++) {
		const struct proc *pr = &p->procs[i];
		if (pr->pid && pr->active)
			p->tracked[p->ntracked++] = (uint32_t)pr->pid;
		if (pr->pid && pr->active && (pr->in_bpf || !p->ropt.all_threads))
			p->perthread[p->nperthread++] = (uint32_t)pr->pid;
	}
	qsort(p->tracked, p->ntracked, sizeof(p->tracked[0]), cmp_u32);
	qsort(p->perthread, p->nperthread, sizeof(p->perthread[0]), cmp_u32);
	pthread_mutex_unlock(&p->mu);
}

/* The set of Python threads seen this snapshot: in a BPF thread table, or read from user space
 * while running. Under mu. */
static void seen_add(struct pyrt *p, uint32_t tid)
{
	uint32_t h = (tid * 2654435761u) & (SEEN_SLOTS - 1);
	if (!p->seen || tid == 0 || p->nseen >= SEEN_SLOTS / 2)
		return;
	for (;; h = (h + 1) & (SEEN_SLOTS - 1)) {
		if (p->seen[h] == tid)
			return;
		if (p->seen[h] == 0) {
			p->seen[h] = tid;
			p->nseen++;
			return;
		}
	}
}

static bool seen_has(const struct pyrt *p, uint32_t tid)
{
	uint32_t h = (tid * 2654435761u) & (SEEN_SLOTS - 1);
	if (!p->seen || p->nseen >= SEEN_SLOTS / 2)
		return true; /* no room to tell: all of the process's threads count as Python */
	for (;; h = (h + 1) & (SEEN_SLOTS - 1)) {
		if (p->seen[h] == tid)
			return true;
		if (p->seen[h] == 0)
			return false;
	}
}

static void consider(struct pyrt *p, pid_t pid)
{
	struct proc *pr = proc_find(p, pid), *slot;
	struct process_stat ps;
	struct py_target t;
	uint64_t start, cpu;
	const char *comm = ps.comm;
	int rc;

	if (process_stat(p->cfg.proc_root, pid, &ps))
		return;
	start = ps.start;
	cpu = ps.cpu;
	if (pr) {
		if (pr->start == start) {
			pr->cpu_delta = cpu - pr->cpu_prev;
			pr->cpu_prev = cpu;
			return;
		}
		proc_detach_p(p, pr); /* pid reused */
	}
	if (nopy_has(p, pid, start))
		return;
	if (process_age_s(start) < p->cfg.min_age_s)
		return; /* too young (--min-profiling-duration): looked at again next scan */
	rc = py_detect(p->cfg.proc_root, pid, &t);
	if (rc) {
		if (rc == -ENOTSUP)
			log_info("python: process %d (%s): unsupported CPython version, left to native "
				 "sampling", (int)pid, comm);
		nopy_add(p, pid, start);
		return;
	}
	slot = proc_find(p, 0);
	if (!slot) {
		log_debug("python: %d processes attached already, %d (%s) left to native sampling",
			  PYRT_MAX_PROCS, (int)pid, comm);
		return;
	}
	slot->r = py_reader_new(&t, &p->ropt);
	if (!slot->r) {
		if (errno == EINVAL)
			log_info("python: process %d (%s) maps %s but has no valid 3.%u interpreter state "
				 "(embeds libpython, not an interpreter): left to native sampling",
				 (int)pid, comm, t.elf, t.minor);
		nopy_add(p, pid, start);
		return;
	}
	slot->t = t;
	slot->pid = pid;
	slot->start = start;
	slot->cpu_prev = cpu;
	slot->cpu_delta = 0;
	memcpy(slot->comm, ps.comm, sizeof(slot->comm));
	log_debug("python: attached to process %d (%s), CPython 3.%u%s", (int)pid, comm, t.minor,
		  t.embedded ? " (embedded)" : "");
}

static void bpf_sync(struct pyrt *p);
static void publish(struct pyrt *p);

static void scan(struct pyrt *p)
{
	if (p->cfg.npids) {
		for (size_t i = 0; i < p->cfg.npids && !p->stop; i++)
			consider(p, p->pids[i]);
	} else {
		DIR *d = opendir(p->cfg.proc_root);
		struct dirent *de;
		/* A pid known not to be Python is read again only every REVERIFY_SCANS scans, in
		 * case it was reused: on a busy host the /proc reads were most of this thread's
		 * cost. A reused pid waits at most that long, about --min-profiling-duration's
		 * default, before which it could not be read anyway. */
		bool reverify = p->scans++ % REVERIFY_SCANS == 0;
		while (d && !p->stop && (de = readdir(d))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			if (*end || pid <= 0 || pid == p->cfg.self_pid)
				continue;
			if (!reverify && nopy_has_pid(p, (pid_t)pid) && !proc_find(p, (pid_t)pid))
				continue;
			consider(p, (pid_t)pid);
		}
		if (d)
			closedir(d);
	}
	choose_active(p);
	bpf_sync(p);
	publish(p);
}


/* ---- BPF mode ---------------------------------------------------------------------------- */

/* A process in its own PID namespace: its thread states hold namespace tids, the BPF program
 * sees host tids. Fills p->xlat (namespace tid -> host tid); false when it is in ours. */
static bool load_xlat(struct pyrt *p, struct proc *pr)
{
	char path[128];
	DIR *d;
	struct dirent *de;
	bool other = false;
	p->nxlat = 0;
	snprintf(path, sizeof(path), "%s/%d/task", p->cfg.proc_root, (int)pr->pid);
	d = opendir(path);
	while (d && (de = readdir(d)) && p->nxlat < PROC_THREADS) {
		uint32_t host = 0, ns = 0;
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0 || process_task_nspid(p->cfg.proc_root, pr->pid, tid, &host, &ns))
			continue;
		other |= host != ns;
		p->xlat[p->nxlat][0] = ns;
		p->xlat[p->nxlat][1] = host;
		p->nxlat++;
	}
	if (d)
		closedir(d);
	return other;
}

static int note_tid(void *ctx, uint32_t tid, uint64_t tstate)
{
	struct pyrt *p = ctx;
	int rc;
	if (p->nnew >= PROC_THREADS)
		return 0;
	if (p->cur->own_pidns) {
		uint32_t host = 0;
		for (size_t i = 0; i < p->nxlat && !host; i++)
			if (p->xlat[i][0] == tid)
				host = p->xlat[i][1];
		if (!host)
			return 0; /* a thread that is gone, or not started yet */
		tid = host;
	}
	rc = pybpf_thread_set(p->bpf, tid, tstate);
	if (rc)
		return rc;
	p->newtids[p->nnew++] = tid;
	pthread_mutex_lock(&p->mu);
	seen_add(p, tid);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Refresh a BPF process's threads in the thread table. The number of threads new to it,
 * -ESRCH (gone) or -errno. */
static int refresh_threads(struct pyrt *p, struct proc *pr)
{
	int added = 0;
	int rc;
	p->nnew = 0;
	p->cur = pr;
	if (pr->own_pidns)
		load_xlat(p, pr);
	rc = pybpf_threads(&pr->t, note_tid, p);
	if (rc < 0) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%d", p->cfg.proc_root, (int)pr->pid);
		if (rc == -ESRCH || access(path, F_OK) != 0)
			rc = -ESRCH;
	}
	for (size_t i = 0; i < pr->ntids; i++) {
		bool still = false;
		for (size_t j = 0; j < p->nnew && !still; j++)
			still = p->newtids[j] == pr->tids[i];
		if (!still)
			pybpf_thread_del(p->bpf, pr->tids[i]);
	}
	for (size_t j = 0; j < p->nnew; j++) {
		bool known = false;
		for (size_t i = 0; i < pr->ntids && !known; i++)
			known = pr->tids[i] == p->newtids[j];
		added += !known;
	}
	memcpy(pr->tids, p->newtids, p->nnew * sizeof(pr->tids[0]));
	pr->ntids = p->nnew;
	return rc < 0 ? rc : added;
}

/* Why BPF cannot serve pr, or NULL when it is described to the BPF program now. */
static const char *bpf_take(struct pyrt *p, struct proc *pr)
{
	size_t n = 0;
	int rc;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		n += p->procs[i].in_bpf;
	if (n >= p->bpf_max_procs)
		return "its process table is full";
	if (!pr->names)
		pr->names = py_names_new(&pr->t, p->cfg.line_numbers);
	if (!pr->names)
		return "out of memory";
	pr->own_pidns = load_xlat(p, pr);
	rc = pybpf_proc_add(p->bpf, (uint32_t)pr->pid, &pr->t.off);
	if (rc)
		return rc == -ENOSPC ? "its process table is full" : "its process table refused it";
	pr->in_bpf = true;
	rc = refresh_threads(p, pr);
	if (rc < 0 && rc != -ESRCH) {
		bpf_forget(p, pr);
		return "its thread table is full or the threads cannot be read";
	}
	return NULL;
}

/* Which processes BPF serves, after the scan: the active ones, unless BPF cannot (auto: the
 * reader takes them; pyperf: left to native sampling). */
static void bpf_sync(struct pyrt *p)
{
	size_t nattached = 0;
	bool off;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		nattached += p->procs[i].pid && !p->procs[i].gone;
	if (!p->bpf && !p->bpf_failed && nattached) {
		p->bpf = pybpf_new(p->cfg.frequency, p->cfg.line_numbers);
		if (!p->bpf) {
			p->bpf_failed = true;
			if (p->cfg.mode == PY_MODE_PYPERF)
				log_warn("python: in-BPF frame walking cannot load (%s); Python processes "
					 "get native stacks only (--python-mode pyperf)", strerror(errno));
			else
				log_info("python: in-BPF frame walking cannot load (%s); reading Python "
					 "stacks from user space", strerror(errno));
		}
	}
	if (!p->bpf) {
		if (p->cfg.mode != PY_MODE_PYPERF)
			return;
		for (size_t i = 0; i < PYRT_MAX_PROCS; i++)   /* pyperf without BPF: native */
			if (p->procs[i].pid && !p->procs[i].gone) {
				nopy_add(p, p->procs[i].pid, p->procs[i].start);
				proc_detach_p(p, &p->procs[i]);
			}
		return;
	}
	off = p->cfg.skip_pyperf_above && nattached > p->cfg.skip_pyperf_above;
	if (off != p->bpf_off)
		log_info("python: %zu Python processes, %s --python-skip-pyperf-profiler-above %u: "
			 "%s", nattached, off ? "more than" : "no more than", p->cfg.skip_pyperf_above,
			 off ? "reading them from user space" : "back to in-BPF frame walking");
	p->bpf_off = off;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++) {
		struct proc *pr = &p->procs[i];
		const char *why;
		bool want = pr->pid && pr->active && !pr->gone && !off && !pr->bpf_refused;
		if (!pr->pid || pr->gone)
			continue;
		if (!want) {
			bpf_forget(p, pr);
			continue;
		}
		if (pr->in_bpf) {
			if (refresh_threads(p, pr) == -ESRCH) {
				log_debug("python: process %d (%s) exited", (int)pr->pid, pr->comm);
				bpf_forget(p, pr);
				pr->gone = true;
			}
			continue;
		}
		why = bpf_take(p, pr);
		if (!why) {
			log_info("python: process %d (%s), CPython 3.%u: frames walked in BPF",
				 (int)pr->pid, pr->comm, pr->t.minor);
			continue;
		}
		pr->bpf_refused = true;
		if (p->cfg.mode == PY_MODE_PYPERF) {
			log_info("python: process %d (%s): BPF cannot serve it (%s); left to native "
				 "sampling (--python-mode pyperf)", (int)pr->pid, pr->comm, why);
			nopy_add(p, pr->pid, pr->start);
			proc_detach_p(p, pr);
		} else {
			log_info("python: process %d (%s): BPF cannot serve it (%s); reading it from "
				 "user space", (int)pr->pid, pr->comm, why);
		}
	}
}

static int put_s(char *buf, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l + 1 >= cap)
		return -ENOSPC;
	memcpy(buf + *n, s, l + 1);
	*n += l;
	return 0;
}

/* One BPF stack into the aggregate: "tgid;comm;pyroot;...;pyleaf" + KSEP + kernel addresses
 * (leaf first, hex, comma separated; "L" when the kernel stack was lost) for the snapshot. */
static int on_bpf_sample(void *ctx, const struct pybpf_sample *s)
{
	struct pyrt *p = ctx;
	struct proc *pr = proc_find(p, (pid_t)s->tgid);
	size_t n = 0;
	int rc = 0;
	char comm[SAMPLE_COMM_LEN + 1];

	if (!pr || !pr->names || s->nframes == 0) {
		p->bpf_unnamed += s->count;
		return 0;
	}
	memcpy(comm, s->comm, sizeof(comm));
	col_frame_sanitize(comm);
	rc = snprintf(p->key, sizeof(p->key), "%u;%s", s->tgid, comm);
	if (rc < 0 || (size_t)rc >= sizeof(p->key))
		return 0;
	n = (size_t)rc;
	rc = 0;
	for (uint32_t i = s->nframes; rc == 0 && i-- > 0;) {
		py_names_frame(pr->names, s->code[i], NULL, s->ip[i], p->fname, sizeof(p->fname));
		rc = put_s(p->key, sizeof(p->key), &n, ";");
		if (rc == 0)
			rc = put_s(p->key, sizeof(p->key), &n, p->fname);
	}
	if (rc == 0 && (s->nkern || s->kern_lost)) {
		char a[24];
		rc = put_s(p->key, sizeof(p->key), &n, "\x01");
		if (rc == 0 && s->kern_lost)
			rc = put_s(p->key, sizeof(p->key), &n, "L");
		for (uint32_t i = 0; rc == 0 && i < s->nkern; i++) {
			snprintf(a, sizeof(a), "%s%llx", i || s->kern_lost ? "," : "",
				 (unsigned long long)s->kern[i]);
			rc = put_s(p->key, sizeof(p->key), &n, a);
		}
	}
	if (rc)
		return 0; /* too long: dropped like an oversized reader stack */
	pthread_mutex_lock(&p->mu);
	if (col_agg_add(p->agg, p->key, n, s->count) == -ENOSPC)
		p->dropped++;
	p->samples += s->count;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Move what BPF counted into the aggregate. Under wmu. */
static void bpf_flush(struct pyrt *p)
{
	struct pybpf_counts c = { 0 };
	if (!p->bpf)
		return;
	pybpf_drain(p->bpf, on_bpf_sample, p, &c);
	p->bcounts.samples += c.samples;
	p->bcounts.no_thread += c.no_thread;
	p->bcounts.read_errors += c.read_errors;
	p->bcounts.lost += c.lost;
}

/* At a snapshot boundary, after the BPF drain: forget the processes that exited. They stayed
 * published until now, so the native samples they had before exiting were dropped too. */
static void reap_gone(struct pyrt *p)
{
	bool any = false;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid && p->procs[i].gone) {
			proc_detach_p(p, &p->procs[i]);
			any = true;
		}
	if (any)
		publish(p);
}

static int on_stack(void *ctx, pid_t tid, const char *frames, size_t len)
{
	struct pyrt *p = ctx;
	int n;
	n = snprintf(p->key, sizeof(p->key), "%d;%s;%.*s", (int)p->cur->pid, p->cur->comm, (int)len,
		     frames);
	pthread_mutex_lock(&p->mu);
	if (tid > 0)   /* even when the stack is too long to keep: its native samples still go */
		seen_add(p, (uint32_t)tid);
	if (n < 0 || (size_t)n >= sizeof(p->key)) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	if (col_agg_add(p->agg, p->key, (size_t)n, 1) == -ENOSPC)
		p->dropped++;
	p->samples++;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void sample_all(struct pyrt *p)
{
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++) {
		struct proc *pr = &p->procs[i];
		int rc;
		if (!pr->pid || !pr->active || pr->in_bpf || pr->gone)
			continue;
		p->cur = pr;
		rc = py_reader_sample(pr->r, on_stack, p);
		if (rc == -ESRCH) {
			log_debug("python: process %d (%s) exited", (int)pr->pid, pr->comm);
			pr->gone = true;
		} else if (rc) {
			if (++pr->fails >= MAX_FAILS) {
				log_info("python: process %d (%s): reading its interpreter keeps failing, "
					 "dropped (left to native sampling)", (int)pr->pid, pr->comm);
				nopy_add(p, pr->pid, pr->start);
				proc_detach_p(p, pr);
			}
		} else {
			pr->fails = 0;
		}
	}
}

/* A sample landed on a thread the BPF thread table does not know: a thread started since the
 * process's threads were last read. Read them now rather than at the next scan, so a new thread
 * loses one tick of Python frames, not up to a second. A process whose unknown thread is not
 * Python at all (a native worker) would ask on every tick: its wait doubles, up to the scan
 * period, while the re-reads find nothing new. Under wmu. */
static void quick_refresh(struct pyrt *p)
{
	uint32_t tgid = pybpf_unknown_thread(p->bpf, &p->unknown_seq);
	struct proc *pr = NULL;
	int64_t now;
	int rc;

	if (!tgid)
		return;
	for (size_t i = 0; i < PYRT_MAX_PROCS && !pr; i++)
		if (p->procs[i].pid == (pid_t)tgid && p->procs[i].in_bpf && !p->procs[i].gone)
			pr = &p->procs[i];
	if (!pr)
		return;
	now = time_mono_ms();
	if (pr->quick_gap_ms == 0)
		pr->quick_gap_ms = QUICK_MIN_MS;
	if (pr->quick_at_ms && now - pr->quick_at_ms < pr->quick_gap_ms)
		return;
	pr->quick_at_ms = now;
	rc = refresh_threads(p, pr);
	if (rc > 0)
		pr->quick_gap_ms = QUICK_MIN_MS;
	else if (pr->quick_gap_ms < SCAN_MS)
		pr->quick_gap_ms *= 2;
	/* gone (-ESRCH) or unreadable: the next scan decides, as for any process */
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
			bpf_flush(p);
			next_flush = now + FLUSH_MS * 1000000LL;
		}
		if (now >= next_scan) {
			scan(p);
			next_scan = now + SCAN_MS * 1000000LL;
		}
		if (p->bpf)
			quick_refresh(p);
		sample_all(p);
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

struct pyrt *pyrt_start(const struct pyrt_config *cfg)
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
	p->nopy = calloc(NOPY_SLOTS, sizeof(*p->nopy));
	p->seen = calloc(SEEN_SLOTS, sizeof(*p->seen));
	p->agg = col_agg_new(PYRT_MAX_STACKS);
	if (!p->nopy || !p->seen || !p->agg)
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
	/* the BPF program is loaded when the first Python process is attached (bpf_sync) */
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

void pyrt_stop(struct pyrt *p)
{
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
			proc_detach_p(p, &p->procs[i]);
	pybpf_free(p->bpf);
	pthread_mutex_destroy(&p->wmu);
	col_agg_free(p->agg);
	free(p->nopy);
	free(p->seen);
	free(p->pids);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->smu);
	pthread_cond_destroy(&p->scv);
	free(p);
}

bool pyrt_tracks(void *ctx, uint32_t tgid, uint32_t tid)
{
	struct pyrt *p = ctx;
	bool found;
	if (!p)
		return false;
	pthread_mutex_lock(&p->mu);
	found = bsearch(&tgid, p->tracked, p->ntracked, sizeof(tgid), cmp_u32) != NULL;
	/* only the threads with Python stacks: the others (native workers) keep their native ones */
	if (found && bsearch(&tgid, p->perthread, p->nperthread, sizeof(tgid), cmp_u32))
		found = seen_has(p, tid);
	pthread_mutex_unlock(&p->mu);
	return found;
}

struct drain_ctx {
	runtime_stack_fn fn;
	void *ctx;
	char frames[KEY_MAX];
};

static int drain_one(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct drain_ctx *d = ctx;
	char comm[17];
	const char *a = memchr(stack, ';', len), *b;
	long tgid;
	size_t cl;
	if (!a)
		return 0;
	b = memchr(a + 1, ';', len - (size_t)(a + 1 - stack));
	if (!b)
		return 0;
	tgid = strtol(stack, NULL, 10);
	cl = (size_t)(b - a - 1) < sizeof(comm) - 1 ? (size_t)(b - a - 1) : sizeof(comm) - 1;
	memcpy(comm, a + 1, cl);
	comm[cl] = '\0';
	cl = len - (size_t)(b + 1 - stack);
	if (cl >= sizeof(d->frames))
		return 0;
	memcpy(d->frames, b + 1, cl);
	d->frames[cl] = '\0';
	return d->fn(d->ctx, (uint32_t)tgid, comm, d->frames, count);
}

int pyrt_drain(struct pyrt *p, runtime_stack_fn fn, void *ctx)
{
	struct col_agg *fresh = col_agg_new(PYRT_MAX_STACKS), *old;
	struct drain_ctx *d = malloc(sizeof(*d));
	int rc;
	if (!fresh || !d) {
		col_agg_free(fresh);
		free(d);
		return -ENOMEM;
	}
	d->fn = fn;
	d->ctx = ctx;
	pthread_mutex_lock(&p->wmu);   /* BPF samples up to now join this snapshot */
	bpf_flush(p);
	reap_gone(p);
	/* the native samples of this snapshot are drained: the next one starts with the Python
	 * threads that live now */
	pthread_mutex_lock(&p->mu);
	if (p->seen)
		memset(p->seen, 0, SEEN_SLOTS * sizeof(*p->seen));
	p->nseen = 0;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid && p->procs[i].in_bpf)
			for (size_t j = 0; j < p->procs[i].ntids; j++)
				seen_add(p, p->procs[i].tids[j]);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->wmu);
	pthread_mutex_lock(&p->mu);
	old = p->agg;
	p->agg = fresh;
	pthread_mutex_unlock(&p->mu);
	rc = col_agg_foreach(old, false, drain_one, d);
	col_agg_free(old);
	free(d);
	return rc;
}

void pyrt_get_stats(struct pyrt *p, struct pyrt_stats *out)
{
	pthread_mutex_lock(&p->mu);
	out->tracked = p->ntracked;
	out->samples = p->samples;
	out->stacks_dropped = p->dropped;
	pthread_mutex_unlock(&p->mu);
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

static void py_stop(void *rt)
{
	pyrt_stop(rt);
}

static int py_drain(void *rt, runtime_stack_fn fn, void *ctx)
{
	return pyrt_drain(rt, fn, ctx);
}

static void py_get_stats(void *rt, struct runtime_stats *out)
{
	struct pyrt_stats ps;
	pyrt_get_stats(rt, &ps);
	out->profiled = ps.tracked;
	out->samples = ps.samples;
	out->dropped = ps.stacks_dropped;
}

const struct runtime_ops py_runtime_ops = {
	.name = "python",
	.flags = py_flags,
	.help = py_help,
	.check_flag = py_check_flag,
	.start = py_start,
	.stop = py_stop,
	.owns_thread = pyrt_tracks,
	.drain = py_drain,
	.get_stats = py_get_stats,
};
