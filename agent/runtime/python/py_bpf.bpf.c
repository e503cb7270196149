// SPDX-License-Identifier: GPL-2.0
/* py_bpf.bpf.c — walks the Python frames of the sampled thread of a tracked process and counts
 * (tgid, tid, comm, kernel stack, Python stack) in the map set of the current generation. See
 * py_bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "py_bpf.h"
#include "sample/bpf_count.bpf.h"

#define FNV_PRIME 0x100000001b3ull

const volatile __u32 self_tgid = 0;

__u32 gen = 0;

/* The latest sample of a thread missing from the thread table (a thread started since user
 * space last read the process's threads). User space polls these through the mmap'ed .bss on
 * every tick and reads that process's threads at once, not at its next scan a second later. */
__u32 unknown_tgid = 0;
__u32 unknown_seq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pybpf_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} threads SEC(".maps");

COUNT_MAPS(struct pybpf_key, BPF_F_NO_PREALLOC, counts_a, counts_b);   /* memory for what counts */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct pybpf_stack);
} pystacks_a SEC(".maps"), pystacks_b SEC(".maps");

COUNT_STACK_MAPS(kstacks_a, kstacks_b);
COUNT_COUNTERS(counters, PYBPF_CNT_MAX);

/* scratch: the stack being walked (too big for the BPF stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pybpf_stack);
} scratch SEC(".maps");

struct walk {
	const struct pybpf_proc *pp;
	struct pybpf_stack *st;
	__u64 frame;
	__u64 hash;
	__u32 errors;
};

static __always_inline void bump(__u32 g, __u32 idx)
{
	count_bump(&counters, g, idx, PYBPF_CNT_MAX);
}

static long walk_one(__u32 i, void *arg)
{
	struct walk *w = arg;
	const struct pybpf_proc *pp = w->pp;
	struct pybpf_stack *st = w->st;
	__u64 code = 0, back = 0, ip = 0;
	__u32 n;

	if (!w->frame || st->n >= PYBPF_MAX_FRAMES)
		return 1;
	if (bpf_probe_read_user(&back, sizeof(back), (void *)(w->frame + pp->f_back))) {
		w->errors = 1;
		return 1;
	}
	if (pp->f_owner != PYBPF_NONE) {
		__u8 owner = 0;
		if (bpf_probe_read_user(&owner, 1, (void *)(w->frame + pp->f_owner)) == 0 &&
		    owner == pp->owner_cstack) {
			w->frame = back;
			return 0;
		}
	}
	if (bpf_probe_read_user(&code, sizeof(code), (void *)(w->frame + pp->f_code)) || !code) {
		w->errors = 1;
		return 1;
	}
	if (pp->want_ip) {
		if (pp->ip_is_ptr) {
			bpf_probe_read_user(&ip, sizeof(ip), (void *)(w->frame + pp->f_lasti));
		} else {
			__s32 lasti = 0;
			bpf_probe_read_user(&lasti, sizeof(lasti), (void *)(w->frame + pp->f_lasti));
			ip = (__u64)(__u32)lasti;
		}
	}
	n = st->n & (PYBPF_MAX_FRAMES - 1);
	st->code[n] = code;
	st->ip[n] = ip;
	st->n = n + 1;
	w->hash = (w->hash ^ code) * FNV_PRIME;
	w->hash = (w->hash ^ ip) * FNV_PRIME;
	w->frame = back;
	return 0;
}

SEC("perf_event")
int py_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), *tsp, tstate;
	__u32 tgid = id >> 32, pid = (__u32)id, zero = 0, g;
	const struct pybpf_proc *pp;
	struct pybpf_key key = {};
	struct walk w = {};
	void *counts, *pystacks;
	long err;

	if (pid == 0 || tgid == self_tgid)
		return 0;
	pp = bpf_map_lookup_elem(&procs, &tgid);
	if (!pp)
		return 0;
	g = COUNT_GEN(gen);
	bump(g, PYBPF_CNT_SAMPLES);
	counts = g & 1 ? (void *)&counts_b : (void *)&counts_a;
	pystacks = g & 1 ? (void *)&pystacks_b : (void *)&pystacks_a;
	count_key_head(&key.h, id, ctx, g & 1 ? (void *)&kstacks_b : (void *)&kstacks_a);

	tsp = bpf_map_lookup_elem(&threads, &pid);
	w.st = bpf_map_lookup_elem(&scratch, &zero);
	if (!tsp) {
		key.flags |= PYBPF_F_NO_THREAD;
		bump(g, PYBPF_CNT_NO_THREAD);
		unknown_tgid = tgid;
		__sync_fetch_and_add(&unknown_seq, 1);
	} else if (w.st) {
		tstate = *tsp;
		w.pp = pp;
		w.st->n = 0;
		w.st->truncated = 0;
		w.hash = 0xcbf29ce484222325ull;
		if (pp->ts_cframe != PYBPF_NONE) {
			__u64 cf = 0;
			if (bpf_probe_read_user(&cf, sizeof(cf), (void *)(tstate + pp->ts_cframe)) || !cf ||
			    bpf_probe_read_user(&w.frame, sizeof(w.frame), (void *)(cf + pp->cf_current)))
				w.errors++;
		} else if (bpf_probe_read_user(&w.frame, sizeof(w.frame),
					       (void *)(tstate + pp->ts_frame))) {
			w.errors++;
		}
		if (!w.errors)
			bpf_loop(PYBPF_MAX_WALK, walk_one, &w, 0);
		if (w.errors)
			bump(g, PYBPF_CNT_READ_ERRORS);
		if (w.st->n) {
			w.st->truncated = w.frame != 0;
			if (!w.hash)
				w.hash = 1;
			key.py_hash = w.hash;
			if (!bpf_map_lookup_elem(pystacks, &w.hash)) {
				err = bpf_map_update_elem(pystacks, &w.hash, w.st, BPF_NOEXIST);
				if (err && err != -EEXIST) {
					key.py_hash = 0;
					key.flags |= PYBPF_F_PY_LOST;
					bump(g, PYBPF_CNT_LOST);
				}
			}
		}
	}

	if (count_add(counts, &key))
		bump(g, PYBPF_CNT_LOST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
