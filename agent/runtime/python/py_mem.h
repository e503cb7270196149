/* py_mem.h — reading a CPython process's structures, as the reader, the name cache and the BPF
 * thread table all do: fields at an offset of a copied struct head, and reads that count their
 * failures. x86-64 only (little-endian, 8-byte pointers); fields may be unaligned in the copy.
 */
#ifndef FP_PY_MEM_H
#define FP_PY_MEM_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "process.h"

static inline uint64_t py_u64_at(const uint8_t *b, uint32_t off)
{
	uint64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

static inline int32_t py_i32_at(const uint8_t *b, uint32_t off)
{
	int32_t v;
	memcpy(&v, b + off, 4);
	return v;
}

/* process_read_mem, adding one to *errors when it fails. */
static inline int py_read_counted(pid_t pid, uint64_t addr, void *buf, size_t len,
				  unsigned long long *errors)
{
	int rc = process_read_mem(pid, addr, buf, len);
	if (rc)
		(*errors)++;
	return rc;
}

#endif
