/* py_bpf.c — loads py_bpf.bpf.c, keeps its process and thread tables, drains its idle map set.
 * See py_bpf.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "py_bpf.h"
#include "sample/cpuclock.h"
#include "py_offsets.h"
#include "py_detect.h"
#include "process.h"
#include "runtime/python/py_bpf.skel.h"
#include "hostinfo.h"
#include "log.h"

#define COUNT_ENTRIES   16384u
#define STACK_ENTRIES   8192u     /* distinct Python stacks per set, at most 8192 * 2 KiB = 16 MiB
				    * (not preallocated; drained every 250 ms by py_runtime) */
#define KSTACK_ENTRIES  2048u     /* preallocated: 2048 * 1016 B = 2 MiB per set */

struct pybpf {
	struct py_bpf_bpf *skel;
	struct cpuclock clk;         /* py_sample on every CPU */
	bool line_numbers;
	uint64_t base[2][PYBPF_CNT_MAX];
	uint64_t *percpu;
	int npossible;
	struct pybpf_key *keys;         /* drain scratch, COUNT_ENTRIES */
	uint64_t *hashes;               /* drain scratch, STACK_ENTRIES */
	uint32_t *ids;                  /* drain scratch, KSTACK_ENTRIES */
	struct pybpf_stack stack;
	uint64_t kips[SAMPLE_MAX_DEPTH];
};

static int read_counters(struct pybpf *b, uint32_t set, uint64_t out[PYBPF_CNT_MAX])
{
	return bpfcommon_read_counters(bpf_map__fd(b->skel->maps.counters), set, PYBPF_CNT_MAX,
				       b->percpu, b->npossible, out);
}

struct pybpf *pybpf_new(unsigned freq, bool line_numbers)
{
	struct pybpf *b = calloc(1, sizeof(*b));
	int err = -ENOMEM;
	if (!b)
		goto fail;
	b->line_numbers = line_numbers;
	b->npossible = libbpf_num_possible_cpus();
	if (b->npossible <= 0) {
		err = -EINVAL;
		goto fail;
	}
	b->percpu = calloc((size_t)b->npossible, sizeof(uint64_t));
	b->keys = calloc(COUNT_ENTRIES, sizeof(*b->keys));
	b->hashes = calloc(STACK_ENTRIES, sizeof(*b->hashes));
	b->ids = calloc(KSTACK_ENTRIES, sizeof(*b->ids));
	if (!b->percpu || !b->keys || !b->hashes || !b->ids)
		goto fail;
	b->skel = py_bpf_bpf__open();
	if (!b->skel) {
		err = -errno;
		goto fail;
	}
	b->skel->rodata->self_tgid = (uint32_t)getpid();
	bpf_map__set_max_entries(b->skel->maps.counts_a, COUNT_ENTRIES);
	bpf_map__set_max_entries(b->skel->maps.counts_b, COUNT_ENTRIES);
	bpf_map__set_max_entries(b->skel->maps.pystacks_a, STACK_ENTRIES);
	bpf_map__set_max_entries(b->skel->maps.pystacks_b, STACK_ENTRIES);
	bpf_map__set_max_entries(b->skel->maps.kstacks_a, KSTACK_ENTRIES);
	bpf_map__set_max_entries(b->skel->maps.kstacks_b, KSTACK_ENTRIES);
	err = py_bpf_bpf__load(b->skel);
	if (err) {
		err = err < 0 ? err : -EINVAL;
		goto fail;
	}
	err = cpuclock_attach(&b->clk, b->skel->progs.py_sample, freq ? freq : 11, "python");
	if (err)
		goto fail;
	log_info("python: in-BPF frame walking on %d CPUs at %u Hz (at most %d frames)", b->clk.n,
		 freq, PYBPF_MAX_FRAMES);
	return b;
fail:
	pybpf_free(b);
	errno = err < 0 ? -err : ENOMEM;
	return NULL;
}

void pybpf_free(struct pybpf *b)
{
	if (!b)
		return;
	cpuclock_release(&b->clk);
	py_bpf_bpf__destroy(b->skel);
	free(b->percpu);
	free(b->keys);
	free(b->hashes);
	free(b->ids);
	free(b);
}

int pybpf_proc_add(struct pybpf *b, uint32_t tgid, const struct py_offsets *o)
{
	struct pybpf_proc pp = {
		.ts_frame = o->ts_cframe == PY_OFF_NONE ? o->ts_frame : PYBPF_NONE,
		.ts_cframe = o->ts_cframe == PY_OFF_NONE ? PYBPF_NONE : o->ts_cframe,
		.cf_current = o->cf_current == PY_OFF_NONE ? 0 : o->cf_current,
		.f_back = o->f_back, .f_code = o->f_code, .f_lasti = o->f_lasti,
		.f_owner = o->minor >= 12 && o->f_owner != PY_OFF_NONE ? o->f_owner : PYBPF_NONE,
		.owner_cstack = PY_FRAME_OWNED_BY_CSTACK,
		.ip_is_ptr = o->minor >= 11,
		.want_ip = b->line_numbers,
	};
	if (pp.ts_frame == PY_OFF_NONE && pp.ts_cframe == PYBPF_NONE)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.procs), &tgid, &pp, BPF_ANY))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

void pybpf_proc_del(struct pybpf *b, uint32_t tgid)
{
	bpf_map_delete_elem(bpf_map__fd(b->skel->maps.procs), &tgid);
}

uint32_t pybpf_unknown_thread(struct pybpf *b, uint32_t *seq)
{
	uint32_t s = __atomic_load_n(&b->skel->bss->unknown_seq, __ATOMIC_ACQUIRE);
	if (s == *seq)
		return 0;
	*seq = s;
	return __atomic_load_n(&b->skel->bss->unknown_tgid, __ATOMIC_RELAXED);
}

int pybpf_thread_set(struct pybpf *b, uint32_t tid, uint64_t tstate)
{
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.threads), &tid, &tstate, BPF_ANY))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

void pybpf_thread_del(struct pybpf *b, uint32_t tid)
{
	bpf_map_delete_elem(bpf_map__fd(b->skel->maps.threads), &tid);
}

int pybpf_drain(struct pybpf *b, pybpf_fn fn, void *ctx, struct pybpf_counts *out)
{
	uint32_t old = bpfcommon_flip(&b->skel->bss->gen), n;
	int cfd = bpf_map__fd(old ? b->skel->maps.counts_b : b->skel->maps.counts_a);
	int pfd = bpf_map__fd(old ? b->skel->maps.pystacks_b : b->skel->maps.pystacks_a);
	int kfd = bpf_map__fd(old ? b->skel->maps.kstacks_b : b->skel->maps.kstacks_a);
	uint64_t c[PYBPF_CNT_MAX];
	int rc = 0;

	if (out && read_counters(b, old, c) == 0) {
		uint64_t *base = b->base[old];
		out->samples = c[PYBPF_CNT_SAMPLES] - base[PYBPF_CNT_SAMPLES];
		out->no_thread = c[PYBPF_CNT_NO_THREAD] - base[PYBPF_CNT_NO_THREAD];
		out->read_errors = c[PYBPF_CNT_READ_ERRORS] - base[PYBPF_CNT_READ_ERRORS];
		out->lost = c[PYBPF_CNT_LOST] - base[PYBPF_CNT_LOST];
		memcpy(base, c, sizeof(c));
	}
	n = bpfcommon_keys(cfd, b->keys, sizeof(*b->keys), COUNT_ENTRIES);
	for (uint32_t i = 0; i < n; i++) {
		struct pybpf_key *k = &b->keys[i];
		struct pybpf_sample s = { 0 };
		uint64_t count = 0;
		if (bpf_map_lookup_elem(cfd, k, &count) || count == 0)
			continue;
		s.tgid = k->h.tgid;
		s.pid = k->h.pid;
		s.flags = k->flags;
		memcpy(s.comm, k->h.comm, SAMPLE_COMM_LEN);
		s.comm[SAMPLE_COMM_LEN] = '\0';
		s.count = count;
		if (k->py_hash && bpf_map_lookup_elem(pfd, &k->py_hash, &b->stack) == 0) {
			s.nframes = b->stack.n > PYBPF_MAX_FRAMES ? PYBPF_MAX_FRAMES : b->stack.n;
			s.code = b->stack.code;
			s.ip = b->stack.ip;
		} else if (k->py_hash) {
			s.flags |= PYBPF_F_PY_LOST;
		}
		s.nkern = bpfcommon_read_stack(kfd, k->h.kern_stack_id, b->kips, SAMPLE_MAX_DEPTH);
		s.kern = b->kips;
		s.kern_lost = k->h.kern_stack_id == -EEXIST;
		if (rc == 0)
			rc = fn(ctx, &s);
	}
	bpfcommon_delete(cfd, b->keys, sizeof(*b->keys), n);
	bpfcommon_clear(pfd, b->hashes, sizeof(*b->hashes), STACK_ENTRIES);
	bpfcommon_clear(kfd, b->ids, sizeof(*b->ids), KSTACK_ENTRIES);
	return rc;
}

/* ---- thread states ------------------------------------------------------------------------ */

#define GLIBC_PTHREAD_TID_OFF 0x2d0   /* struct pthread.tid, glibc x86_64 (before 3.11 only) */
#define MAX_INTERPS           16
#define MAX_THREADS           256

int pybpf_threads(const struct py_target *t, pybpf_thread_fn fn, void *ctx)
{
	const struct py_offsets *o = &t->off;
	uint64_t interp;
	int rc, count = 0;

	rc = process_read_mem(t->pid, t->runtime + o->rt_interp_head, &interp, sizeof(interp));
	if (rc)
		return rc == -ESRCH ? -ESRCH : -EFAULT;
	for (int ni = 0; interp && ni < MAX_INTERPS; ni++) {
		uint64_t ts, next_interp;
		if (process_read_mem(t->pid, interp + o->is_next, &next_interp, 8) ||
		    process_read_mem(t->pid, interp + o->is_tstate_head, &ts, 8))
			return -EFAULT;
		for (int nt = 0; ts && nt < MAX_THREADS; nt++) {
			uint64_t next = 0, tid = 0;
			if (process_read_mem(t->pid, ts + o->ts_next, &next, 8))
				break;
			if (o->ts_native_tid != PY_OFF_NONE) {
				if (process_read_mem(t->pid, ts + o->ts_native_tid, &tid, 8))
					tid = 0;
			} else {
				uint64_t pth = 0;
				int32_t t32 = 0;
				if (process_read_mem(t->pid, ts + o->ts_thread_id, &pth, 8) == 0 && pth &&
				    process_read_mem(t->pid, pth + GLIBC_PTHREAD_TID_OFF, &t32, 4) == 0 && t32 > 0)
					tid = (uint64_t)t32;
			}
			if (tid > 0 && tid < UINT32_MAX) {
				rc = fn(ctx, (uint32_t)tid, ts);
				if (rc)
					return rc;
				count++;
			}
			ts = next;
		}
		interp = next_interp;
	}
	return count;
}
