/* py_procs.c — the Python member's processes: finding CPython processes (all, or the --pids
 * ones), attaching to them, choosing the N most busy, reading them from user space, and
 * forgetting them when they exit. See py_runtime.h and py_rt.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py_rt.h"
#include "py_names.h"
#include "process.h"
#include "log.h"

#define MAX_FAILS       50       /* consecutive failed reads before a process is dropped */
#define REVERIFY_SCANS  10       /* a process known not to be Python is looked at again this rarely */

static size_t nopy_slot(pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (PYRT_NOPY_SLOTS - 1);
}

/* true the first time a skip for reason why is logged about this process */
static bool tell_once(struct pyrt *p, pid_t pid, uint64_t start, unsigned why)
{
	struct pidstart *t = &p->told[nopy_slot(pid)];
	if (t->pid != pid || t->start != start) {
		t->pid = pid;
		t->start = start;
		t->told = 0;
	}
	if (t->told & why)
		return false;
	t->told |= why;
	return true;
}

static bool nopy_has(struct pyrt *p, pid_t pid, uint64_t start)
{
	struct pidstart *n = &p->nopy[nopy_slot(pid)];
	return n->pid == pid && n->start == start;
}

/* Known not to be Python under this pid, whatever its start time (no /proc read). */
static bool nopy_has_pid(struct pyrt *p, pid_t pid)
{
	return p->nopy[nopy_slot(pid)].pid == pid;
}

void pyrt_nopy_add(struct pyrt *p, pid_t pid, uint64_t start)
{
	struct pidstart *n = &p->nopy[nopy_slot(pid)];   /* a collision just forgets the older one */
	n->pid = pid;
	n->start = start;
}

struct proc *pyrt_proc_find(struct pyrt *p, pid_t pid)
{
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid == pid)
			return &p->procs[i];
	return NULL;
}

void pyrt_proc_detach(struct pyrt *p, struct proc *pr)
{
	if (p->bpf)
		pyrt_bpf_forget(p, pr);
	py_reader_free(pr->r);
	py_names_free(pr->names);
	memset(pr, 0, sizeof(*pr));
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

static void consider(struct pyrt *p, pid_t pid)
{
	struct proc *pr = pyrt_proc_find(p, pid), *slot;
	struct process_stat ps;
	struct py_target t;
	uint64_t start, cpu;
	const char *comm = ps.comm;
	double age;
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
		pyrt_proc_detach(p, pr); /* pid reused */
	}
	if (nopy_has(p, pid, start))
		return;
	/* The age filter guards discovery only: a process named with --pids is profiled at once.
	 * A young one is looked at again at the next scan; it is said once, when it is Python
	 * (detected then without being judged: it may still be on its way to exec'ing Python). */
	age = process_age_s(start);
	if (!p->cfg.npids && age < p->cfg.min_age_s) {
		if (tell_once(p, pid, start, PYRT_TOLD_YOUNG) &&
		    py_detect(p->cfg.proc_root, pid, &t) == 0)
			log_info("python: process %d (%s) started %.0f s ago, less than "
				 "--min-profiling-duration %u s: native stacks only until then",
				 (int)pid, comm, age, p->cfg.min_age_s);
		return;
	}
	rc = py_detect(p->cfg.proc_root, pid, &t);
	if (rc) {
		if (rc == -ENOTSUP)
			log_info("python: process %d (%s): unsupported CPython version, left to native "
				 "sampling", (int)pid, comm);
		else if (rc == -ENOENT && age < p->cfg.min_age_s)
			return;   /* named and young: it may be exec'ing Python still; next scan */
		pyrt_nopy_add(p, pid, start);
		return;
	}
	slot = pyrt_proc_find(p, 0);
	if (!slot) {
		if (tell_once(p, pid, start, PYRT_TOLD_FULL))
			log_info("python: process %d (%s): %d processes attached already, left to "
				 "native sampling", (int)pid, comm, PYRT_MAX_PROCS);
		return;
	}
	slot->r = py_reader_new(&t, &p->ropt);
	if (!slot->r) {
		if (errno == EINVAL)
			log_info("python: process %d (%s) maps %s but has no valid 3.%u interpreter state "
				 "(embeds libpython, not an interpreter): left to native sampling",
				 (int)pid, comm, t.elf, t.minor);
		pyrt_nopy_add(p, pid, start);
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

void pyrt_scan(struct pyrt *p)
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
			if (!reverify && nopy_has_pid(p, (pid_t)pid) && !pyrt_proc_find(p, (pid_t)pid))
				continue;
			consider(p, (pid_t)pid);
		}
		if (d)
			closedir(d);
	}
	choose_active(p);
	pyrt_bpf_sync(p);
	pyrt_publish(p);
}

void pyrt_read_all(struct pyrt *p)
{
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++) {
		struct proc *pr = &p->procs[i];
		int rc;
		if (!pr->pid || !pr->active || pr->in_bpf || pr->gone)
			continue;
		p->cur = pr;
		rc = py_reader_sample(pr->r, pyrt_on_reader_stack, p);
		if (rc == -ESRCH) {
			log_debug("python: process %d (%s) exited", (int)pr->pid, pr->comm);
			pr->gone = true;
		} else if (rc) {
			if (++pr->fails >= MAX_FAILS) {
				log_info("python: process %d (%s): reading its interpreter keeps failing, "
					 "dropped (left to native sampling)", (int)pr->pid, pr->comm);
				pyrt_nopy_add(p, pr->pid, pr->start);
				pyrt_proc_detach(p, pr);
			}
		} else {
			pr->fails = 0;
		}
	}
}

/* At a snapshot boundary, after the BPF drain: forget the processes that exited. They stayed
 * published until now, so the native samples they had before exiting were dropped too. */
void pyrt_reap_gone(struct pyrt *p)
{
	bool any = false;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid && p->procs[i].gone) {
			pyrt_proc_detach(p, &p->procs[i]);
			any = true;
		}
	if (any)
		pyrt_publish(p);
}
