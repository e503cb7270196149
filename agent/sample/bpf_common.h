/* bpf_common.h — what the two BPF programs (sample/sampler.bpf.c: native stacks;
 * runtime/python/py_bpf.bpf.c: Python frames) and their loaders share.
 *
 * Both count samples the same way: each sample adds one to its key in the counts map of the
 * current generation's map set (the _a maps when `gen` is even, the _b maps when odd), and bumps
 * per-CPU counters in the half of a counters array that belongs to that set. At a drain, user
 * space flips `gen`, waits a grace period so programs still running on the old set finish, then
 * reads and clears the idle set: nothing is lost or counted twice between drains. The BPF half
 * of that is bpf_count.bpf.h; the user-space half is declared here (bpf_common.c).
 *
 * Keys and values shared with user space use the fixed-width fp_* types below: the same sizes on
 * both sides (vmlinux.h's __u32 in the programs, <stdint.h>'s uint32_t in user space, so that
 * user space reads them as its own uint64_t arrays), and each key is defined once.
 */
#ifndef FP_BPF_COMMON_H
#define FP_BPF_COMMON_H

#ifdef __bpf__
typedef __u32 fp_u32;
typedef __s32 fp_s32;
typedef __u64 fp_u64;
#else
#include <stddef.h>
#include <stdint.h>
typedef uint32_t fp_u32;
typedef int32_t fp_s32;
typedef uint64_t fp_u64;
#endif

#define SAMPLE_COMM_LEN   16    /* TASK_COMM_LEN */
#define SAMPLE_MAX_DEPTH  127   /* PERF_MAX_STACK_DEPTH: frames of a kernel or user stack */

/* The head of every counts-map key: who was sampled, and its kernel stack. */
struct sample_key_head {
	fp_u32 tgid;
	fp_u32 pid;
	fp_s32 kern_stack_id;   /* < 0: no kernel stack (user-mode sample), or lost (-EEXIST) */
	char comm[SAMPLE_COMM_LEN];
};

#ifndef __bpf__
/* Flip the generation the programs read (gen: in the program's mmap'ed .bss) and wait until
 * every program that read the old value has finished. Returns the old set (0 or 1), idle now. */
uint32_t bpfcommon_flip(uint32_t *gen);

/* Counters of one set: out[i] = sum over CPUs of counters[set * n + i], for i < n. fd is the
 * per-CPU counters array; percpu is scratch for one value per possible CPU. 0 or -errno. */
int bpfcommon_read_counters(int fd, uint32_t set, uint32_t n, uint64_t *percpu, int npossible,
			    uint64_t *out);

/* Up to max keys of map fd into keys (key_size bytes each). Returns how many. */
uint32_t bpfcommon_keys(int fd, void *keys, size_t key_size, uint32_t max);

/* Delete the n keys of keys from map fd. */
void bpfcommon_delete(int fd, const void *keys, size_t key_size, uint32_t n);

/* Empty map fd (at most max keys; scratch holds max keys of key_size bytes). */
void bpfcommon_clear(int fd, void *scratch, size_t key_size, uint32_t max);

/* Leaf-first ips of a stack-map entry (depth entries at most; the map's value size), 0 when
 * id < 0 or the stack is gone. */
uint32_t bpfcommon_read_stack(int fd, int32_t id, uint64_t *ips, uint32_t depth);
#endif

#endif
