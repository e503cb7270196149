/* bpf_common.c — the user-space half of the two map sets; see bpf_common.h. */
#include "bpf_common.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#define GRACE_NS (10 * 1000 * 1000)   /* programs on the old set finish within this */

uint32_t bpfcommon_flip(uint32_t *gen)
{
	uint32_t old = __atomic_load_n(gen, __ATOMIC_SEQ_CST);
	struct timespec grace = { 0, GRACE_NS };
	__atomic_store_n(gen, old + 1, __ATOMIC_SEQ_CST);
	nanosleep(&grace, NULL);
	return old & 1;
}

int bpfcommon_read_counters(int fd, uint32_t set, uint32_t n, uint64_t *percpu, int npossible,
			    uint64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = set * n + i;
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &idx, percpu))
			return -errno;
		for (int c = 0; c < npossible; c++)
			out[i] += percpu[c];
	}
	return 0;
}

uint32_t bpfcommon_keys(int fd, void *keys, size_t key_size, uint32_t max)
{
	unsigned char *k = keys;
	const void *prev = NULL;
	uint32_t n = 0;
	while (n < max && bpf_map_get_next_key(fd, prev, k + (size_t)n * key_size) == 0) {
		prev = k + (size_t)n * key_size;
		n++;
	}
	return n;
}

void bpfcommon_delete(int fd, const void *keys, size_t key_size, uint32_t n)
{
	const unsigned char *k = keys;
	for (uint32_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, k + (size_t)i * key_size);
}

void bpfcommon_clear(int fd, void *scratch, size_t key_size, uint32_t max)
{
	bpfcommon_delete(fd, scratch, key_size, bpfcommon_keys(fd, scratch, key_size, max));
}

uint32_t bpfcommon_read_stack(int fd, int32_t id, uint64_t *ips, uint32_t depth)
{
	uint32_t n = 0;
	if (id < 0 || bpf_map_lookup_elem(fd, &id, ips))
		return 0;
	while (n < depth && ips[n])
		n++;
	return n;
}
