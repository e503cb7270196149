/* bpf_count.bpf.h — the BPF half of counting in two map sets (bpf_common.h), for both programs.
 * Include after vmlinux.h and bpf_helpers.h. */
#ifndef FP_BPF_COUNT_BPF_H
#define FP_BPF_COUNT_BPF_H

#ifndef EEXIST
#define EEXIST 17
#endif

/* The maps of the two sets, declared alike by both programs. max_entries are set by user space
 * between open and load. Counts: key -> number of samples, one map per set (flags: 0, or
 * BPF_F_NO_PREALLOC for maps that are mostly empty). Kernel stacks: a stack-trace map per set.
 * Counters: n per-CPU counters for each set, [set][counter]. */
#define COUNT_MAPS(key_type, flags, a, b)                                                   \
	struct {                                                                            \
		__uint(type, BPF_MAP_TYPE_HASH);                                            \
		__uint(max_entries, 1024);                                                  \
		__uint(map_flags, flags);                                                   \
		__type(key, key_type);                                                      \
		__type(value, __u64);                                                       \
	} a SEC(".maps"), b SEC(".maps")

#define COUNT_STACK_MAPS(a, b)                                                              \
	struct {                                                                            \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                                     \
		__uint(max_entries, 1024);                                                  \
		__uint(key_size, sizeof(__u32));                                            \
		__uint(value_size, SAMPLE_MAX_DEPTH * sizeof(__u64));                       \
	} a SEC(".maps"), b SEC(".maps")

#define COUNT_COUNTERS(name, n)                                                             \
	struct {                                                                            \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                    \
		__uint(max_entries, 2 * (n));                                               \
		__type(key, __u32);                                                         \
		__type(value, __u64);                                                       \
	} name SEC(".maps")

/* The generation, read once per sample so that everything the sample counts lands in one set.
 * User space flips it through the mmap'ed .bss (bpfcommon_flip). */
#define COUNT_GEN(gen) (*(volatile __u32 *)&(gen))

/* The head of a sample's key (bpf_common.h): who was sampled (pid_tgid as the helper returns
 * it), and its kernel stack in kstacks, the stack map of the sample's set. */
static __always_inline void count_key_head(struct sample_key_head *h, __u64 pid_tgid, void *ctx,
					   void *kstacks)
{
	h->tgid = pid_tgid >> 32;
	h->pid = (__u32)pid_tgid;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	h->kern_stack_id = bpf_get_stackid(ctx, kstacks, 0);
}

/* counters[(g & 1) * n + idx] += 1 in a per-CPU array: no atomics needed. */
static __always_inline void count_bump(void *counters, __u32 g, __u32 idx, __u32 n)
{
	__u32 k = idx + (g & 1) * n;
	__u64 *v = bpf_map_lookup_elem(counters, &k);
	if (v)
		*v += 1;
}

/* One more sample of key in the counts map (the set of the sample's generation). 0, or -1 when
 * the map is full (the caller counts it as lost). */
static __always_inline int count_add(void *counts, const void *key)
{
	__u64 one = 1, *val = bpf_map_lookup_elem(counts, key);
	long err;

	if (val) {
		__sync_fetch_and_add(val, 1);
		return 0;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) { /* another CPU inserted it meanwhile */
		val = bpf_map_lookup_elem(counts, key);
		if (!val)
			return -1;
		__sync_fetch_and_add(val, 1);
		return 0;
	}
	return err ? -1 : 0;
}

#endif
