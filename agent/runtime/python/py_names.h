/* py_names.h — names of one CPython process's code objects, for both ways of sampling (the
 * user-space reader and the BPF walker): a bounded cache (PY_NAMES_MAX entries, cleared when 3/4
 * full) keyed by code object address and validated on every use against the object's name, file
 * and line-table pointers, so a freed and reused address is named again. When the process is
 * gone, a cached name stands: nothing can reuse the address any more.
 *
 * Frames are "qualname (file)_[p]" (co_name before 3.11, which has no co_qualname), or
 * "qualname (file:line)_[p]" with line numbers on. Not thread-safe: one owner.
 */
#ifndef FP_PY_NAMES_H
#define FP_PY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_detect.h"

#define PY_NAMES_MAX     4096
#define PY_CODE_HEAD_MAX 256    /* bytes of a code object read, at most */

struct py_names;

struct py_names_stats {
	unsigned long long hits, misses, read_errors;
};

/* t is copied. NULL with errno set on failure. */
struct py_names *py_names_new(const struct py_target *t, bool line_numbers);
void py_names_free(struct py_names *nm);   /* NULL is a no-op */

/* Bytes of a code object that py_names_frame() looks at (for callers that read it themselves). */
size_t py_names_code_len(const struct py_offsets *o);

/* The frame text for the code object at code, executing at instr (3.11+: the instruction
 * pointer; before: f_lasti as read, in its low 32 bits). head: the first py_names_code_len()
 * bytes of the code object when the caller has them, else NULL (then they are read here).
 * 0, or -ENOENT with "[unknown]_[p]" in out. out is always NUL-terminated. */
int py_names_frame(struct py_names *nm, uint64_t code, const uint8_t *head, uint64_t instr,
		   char *out, size_t n);

void py_names_get_stats(const struct py_names *nm, struct py_names_stats *out);

#endif
