// SPDX-License-Identifier: GPL-2.0
/* sampler.bpf.c — counts (tgid, pid, comm, kernel stack, user stack) per cpu-clock sample in one
 * of two map sets chosen by the generation user space flips at each snapshot. See sampler.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sampler.h"
#include "leafcall.h"
#include "bpf_count.bpf.h"

#define EFAULT 14

/* Settings, written by user space between open and load. */
const volatile bool filter_pids = false;
const volatile bool include_idle = false;
const volatile __u32 self_tgid = 0;

/* The generation: even -> set a, odd -> set b. User space writes it through the mmap'ed .bss. */
__u32 gen = 0;

/* Sized by user space (sampler_map_sizes). */
COUNT_MAPS(struct sampler_key, 0, counts_a, counts_b);
COUNT_STACK_MAPS(stacks_a, stacks_b);   /* kernel and user stacks */
COUNT_COUNTERS(counters, SAMPLER_CNT_MAX);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

static __always_inline void bump(__u32 g, __u32 idx)
{
	count_bump(&counters, g, idx, SAMPLER_CNT_MAX);
}

static __always_inline void note_stack_err(__u32 g, long id)
{
	if (id == -EEXIST)
		bump(g, SAMPLER_CNT_COLLISIONS);
	else if (id != -EFAULT) /* -EFAULT: no stack of that kind (user-mode or kernel thread) */
		bump(g, SAMPLER_CNT_STACK_ERRORS);
}

/* The return address a frame-pointer chain skips when the user leaf is sampled in its
 * prologue or at its ret (see leafcall_ret_slot), 0 when none is missing or it cannot be
 * told. Only for samples taken in 64-bit user mode (cs is __USER_CS): their registers are the
 * sample's own, and 32-bit code has 4-byte return addresses. No helper newer than the program's
 * others, so kernels before 5.15 still load it. */
/* The sampled registers at the head of the perf_event context: x86-64's UAPI struct pt_regs
 * (asm/ptrace.h), a fixed layout. Declared here, after vmlinux.h, so that reading it needs no
 * CO-RE relocation: with one, libbpf parses the kernel's BTF at load, a transient 8 MB of RSS
 * for the agent. cs is read as the whole 8-byte word (the only size the context allows). */
struct uapi_pt_regs {
	__u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax;
	__u64 ip, cs, flags, sp, ss;
};

static __always_inline __u64 leaf_caller(struct bpf_perf_event_data *ctx)
{
	const volatile struct uapi_pt_regs *regs = (const volatile struct uapi_pt_regs *)ctx;
	unsigned char code[LEAFCALL_CODE_LEN] = {}, call[LEAFCALL_CALL_LEN] = {};
	__u64 ip = regs->ip, sp = regs->sp, ret = 0;
	int have_prev = 1, slot;

	if ((regs->cs & 0xffff) != 0x33)
		return 0;
	if (bpf_probe_read_user(code, sizeof(code), (void *)(ip - 1))) {
		/* ip at the start of a page whose predecessor is not mapped */
		have_prev = 0;
		if (bpf_probe_read_user(code + 1, sizeof(code) - 1, (void *)ip))
			return 0;
	}
	slot = leafcall_ret_slot(code, have_prev);
	if (slot < 0 || bpf_probe_read_user(&ret, sizeof(ret), (void *)(sp + 8 * slot)) ||
	    ret < sizeof(call) ||
	    bpf_probe_read_user(call, sizeof(call), (void *)(ret - sizeof(call))) ||
	    !leafcall_after_call(call))
		return 0;
	return ret;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u32 pid = (__u32)id;
	struct sampler_key key = {};
	void *counts, *stacks;
	__u32 g;

	if (!include_idle && pid == 0)
		return 0;
	if (self_tgid && tgid == self_tgid)
		return 0;
	if (filter_pids && !bpf_map_lookup_elem(&pids, &tgid))
		return 0;

	/* one generation for the whole sample: counters, stacks and counts land in one set */
	g = COUNT_GEN(gen);
	bump(g, SAMPLER_CNT_SAMPLES);
	counts = g & 1 ? (void *)&counts_b : (void *)&counts_a;
	stacks = g & 1 ? (void *)&stacks_b : (void *)&stacks_a;
	count_key_head(&key.h, id, ctx, stacks);
	key.user_stack_id = bpf_get_stackid(ctx, stacks, BPF_F_USER_STACK);
	if (key.h.kern_stack_id < 0)
		note_stack_err(g, key.h.kern_stack_id);
	if (key.user_stack_id < 0)
		note_stack_err(g, key.user_stack_id);
	else
		key.leaf_caller = leaf_caller(ctx);

	if (count_add(counts, &key))
		bump(g, SAMPLER_CNT_LOST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
