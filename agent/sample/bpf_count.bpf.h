/* bpf_count.bpf.h — the BPF half of counting in two map sets (bpf_common.h), for both programs.
 * Include after vmlinux.h and bpf_helpers.h. */
#ifndef FP_BPF_COUNT_BPF_H
#define FP_BPF_COUNT_BPF_H

#ifndef EEXIST
#define EEXIST 17
#endif

/* The generation, read once per sample so that everything the sample counts lands in one set.
 * User space flips it through the mmap'ed .bss (bpfcommon_flip). */
#define COUNT_GEN(gen) (*(volatile __u32 *)&(gen))

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
