/* py_bpfserve.c — the Python member's processes served by the in-BPF frame walker (py_bpf.h):
 * loading it with the first process, describing each process and its threads to it (host tids
 * for a process in its own PID namespace), refreshing a process's threads when a new one shows
 * up, and moving what it counted into the aggregate, named. See py_runtime.h and py_rt.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py_rt.h"
#include "py_names.h"
#include "process.h"
#include "collapsed.h"
#include "log.h"
#include "timeutil.h"

#define QUICK_MIN_MS    50       /* a process's threads re-read this soon after a new one shows */

void pyrt_bpf_forget(struct pyrt *p, struct proc *pr)
{
	if (!pr->in_bpf)
		return;
	pybpf_proc_del(p->bpf, (uint32_t)pr->pid);
	for (size_t i = 0; i < pr->ntids; i++)
		pybpf_thread_del(p->bpf, pr->tids[i]);
	pr->ntids = 0;
	pr->in_bpf = false;
}

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
	while (d && (de = readdir(d)) && p->nxlat < PYRT_THREADS) {
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
	if (p->nnew >= PYRT_THREADS)
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
	pyrt_seen_add(p, tid);
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
		pyrt_bpf_forget(p, pr);
		return "its thread table is full or the threads cannot be read";
	}
	return NULL;
}

/* Which processes BPF serves, after the scan: the active ones, unless BPF cannot (auto: the
 * reader takes them; pyperf: left to native sampling). */
void pyrt_bpf_sync(struct pyrt *p)
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
				pyrt_nopy_add(p, p->procs[i].pid, p->procs[i].start);
				pyrt_proc_detach(p, &p->procs[i]);
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
			pyrt_bpf_forget(p, pr);
			continue;
		}
		if (pr->in_bpf) {
			if (refresh_threads(p, pr) == -ESRCH) {
				log_debug("python: process %d (%s) exited", (int)pr->pid, pr->comm);
				pyrt_bpf_forget(p, pr);
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
			pyrt_nopy_add(p, pr->pid, pr->start);
			pyrt_proc_detach(p, pr);
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
	struct proc *pr = pyrt_proc_find(p, (pid_t)s->tgid);
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
	pyrt_agg_add(p, p->key, n, s->count);
	return 0;
}

/* Move what BPF counted into the aggregate. Under wmu. */
void pyrt_bpf_flush(struct pyrt *p)
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

/* A sample landed on a thread the BPF thread table does not know: a thread started since the
 * process's threads were last read. Read them now rather than at the next scan, so a new thread
 * loses one tick of Python frames, not up to a second. A process whose unknown thread is not
 * Python at all (a native worker) would ask on every tick: its wait doubles, up to the scan
 * period, while the re-reads find nothing new. Under wmu. */
void pyrt_bpf_quick_refresh(struct pyrt *p)
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
	else if (pr->quick_gap_ms < PYRT_SCAN_MS)
		pr->quick_gap_ms *= 2;
	/* gone (-ESRCH) or unreadable: the next scan decides, as for any process */
}
