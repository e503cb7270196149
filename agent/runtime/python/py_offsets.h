/* py_offsets.h — where CPython keeps what the frame walker reads, per version (x86_64).
 *
 * 3.8–3.12: tables in py_offsets.c, taken with offsetof() from each version's own
 * Include/internal headers (the layouts are stable within a minor version). 3.13+: the
 * interpreter publishes them itself in _Py_DebugOffsets at the start of _PyRuntime
 * ("xdebugpy" cookie); py_offsets_from_debug() parses that block (3.13 layout).
 */
#ifndef FP_PY_OFFSETS_H
#define FP_PY_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#define PY_OFF_NONE UINT32_MAX   /* field absent in this version */

struct py_offsets {
	unsigned minor;                  /* 3.<minor> */
	uint32_t rt_interp_head;         /* _PyRuntimeState.interpreters.head */
	uint32_t is_next, is_tstate_head;
	uint32_t ts_next, ts_interp, ts_thread_id;
	uint32_t ts_native_tid;          /* PY_OFF_NONE before 3.11: use pthread's tid */
	uint32_t ts_frame;               /* 3.8–3.10 PyFrameObject*; 3.13 current_frame */
	uint32_t ts_cframe, cf_current;  /* 3.11–3.12: tstate->cframe->current_frame */
	/* frame: PyFrameObject (< 3.11) or _PyInterpreterFrame (3.11+) */
	uint32_t f_back, f_code, f_lasti; /* f_lasti: int (< 3.11) or instruction pointer */
	uint32_t f_owner;                /* 3.11+: char owner; PY_OFF_NONE before */
	uint32_t co_name, co_qualname, co_filename, co_firstlineno, co_linetable;
	uint32_t co_code_adaptive;       /* 3.11+: first instruction inside the code object */
	uint32_t ob_type;
	uint32_t str_state, str_length, str_ascii_size, str_compact_size;
	uint32_t bytes_size, bytes_sval;
};

#define PY_FRAME_OWNED_BY_CSTACK 3   /* 3.12+: shim frame of a C call, not Python code */

/* The table for 3.<minor>, or NULL when unknown (3.13+ use py_offsets_from_debug). */
const struct py_offsets *py_offsets_for(unsigned minor);

/* Size of the _Py_DebugOffsets prefix py_offsets_from_debug reads. */
#define PY_DEBUG_OFFSETS_BYTES (71 * 8)

/* Fill out from the raw _Py_DebugOffsets bytes (buf, at least PY_DEBUG_OFFSETS_BYTES).
 * 0, or -EINVAL when the cookie or version is wrong or an offset is implausible. */
int py_offsets_from_debug(const uint8_t *buf, size_t len, struct py_offsets *out);

#endif
