/* py_stacks.c — the Python member's named stacks and the threads it owns: the aggregate that
 * both ways of reading fill and the drain empties, and the published sets the snapshot asks
 * (owns_thread) to drop the native samples of Python threads. See py_runtime.h and py_rt.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py_rt.h"
#include "collapsed.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Publish the processes whose native samples are dropped (under mu). */
void pyrt_publish(struct pyrt *p)
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
void pyrt_seen_add(struct pyrt *p, uint32_t tid)
{
	uint32_t h = (tid * 2654435761u) & (PYRT_SEEN_SLOTS - 1);
	if (!p->seen || tid == 0 || p->nseen >= PYRT_SEEN_SLOTS / 2)
		return;
	for (;; h = (h + 1) & (PYRT_SEEN_SLOTS - 1)) {
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
	uint32_t h = (tid * 2654435761u) & (PYRT_SEEN_SLOTS - 1);
	if (!p->seen || p->nseen >= PYRT_SEEN_SLOTS / 2)
		return true; /* no room to tell: all of the process's threads count as Python */
	for (;; h = (h + 1) & (PYRT_SEEN_SLOTS - 1)) {
		if (p->seen[h] == tid)
			return true;
		if (p->seen[h] == 0)
			return false;
	}
}

/* A stack the user-space reader read: a py_stack_fn, ctx the struct pyrt, p->cur the process. */
int pyrt_on_reader_stack(void *ctx, pid_t tid, const char *frames, size_t len)
{
	struct pyrt *p = ctx;
	int n;
	n = snprintf(p->key, sizeof(p->key), "%d;%s;%.*s", (int)p->cur->pid, p->cur->comm, (int)len,
		     frames);
	pthread_mutex_lock(&p->mu);
	if (tid > 0)   /* even when the stack is too long to keep: its native samples still go */
		pyrt_seen_add(p, (uint32_t)tid);
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

bool pyrt_owns_thread(void *ctx, uint32_t tgid, uint32_t tid)
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
	char frames[PYRT_KEY_MAX];
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

int pyrt_drain(void *rt, runtime_stack_fn fn, void *ctx)
{
	struct pyrt *p = rt;
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
	pyrt_bpf_flush(p);
	pyrt_reap_gone(p);
	/* the native samples of this snapshot are drained: the next one starts with the Python
	 * threads that live now */
	pthread_mutex_lock(&p->mu);
	if (p->seen)
		memset(p->seen, 0, PYRT_SEEN_SLOTS * sizeof(*p->seen));
	p->nseen = 0;
	for (size_t i = 0; i < PYRT_MAX_PROCS; i++)
		if (p->procs[i].pid && p->procs[i].in_bpf)
			for (size_t j = 0; j < p->procs[i].ntids; j++)
				pyrt_seen_add(p, p->procs[i].tids[j]);
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

void pyrt_get_stats(void *rt, struct runtime_stats *out)
{
	struct pyrt *p = rt;
	pthread_mutex_lock(&p->mu);
	out->profiled = p->ntracked;
	out->samples = p->samples;
	out->dropped = p->dropped;
	pthread_mutex_unlock(&p->mu);
}

void pyrt_agg_add(struct pyrt *p, const char *key, size_t len, uint64_t count)
{
	pthread_mutex_lock(&p->mu);
	if (col_agg_add(p->agg, key, len, count) == -ENOSPC)
		p->dropped++;
	p->samples += count;
	pthread_mutex_unlock(&p->mu);
}
