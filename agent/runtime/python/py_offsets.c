/* py_offsets.c — see py_offsets.h. Values from offsetof() against each version's headers
 * (pyenv builds, x86_64; regenerate with bench/python/offsets.sh). */
#include <errno.h>
#include <string.h>

#include "py_offsets.h"
#include "util.h"

#define N PY_OFF_NONE

static const struct py_offsets tables[] = {
	{ .minor = 8, .rt_interp_head = 32, .is_next = 0, .is_tstate_head = 8,
	  .ts_next = 8, .ts_interp = 16, .ts_thread_id = 176, .ts_native_tid = N, .ts_frame = 24,
	  .ts_cframe = N, .cf_current = N, .f_back = 24, .f_code = 32, .f_lasti = 104,
	  .f_owner = N, .co_name = 112, .co_qualname = N, .co_filename = 104,
	  .co_firstlineno = 40, .co_linetable = 120, .co_code_adaptive = N, .ob_type = 8,
	  .str_state = 32, .str_length = 16, .str_ascii_size = 48, .str_compact_size = 72,
	  .bytes_size = 16, .bytes_sval = 32 },
	{ .minor = 9, .rt_interp_head = 32, .is_next = 0, .is_tstate_head = 8,
	  .ts_next = 8, .ts_interp = 16, .ts_thread_id = 176, .ts_native_tid = N, .ts_frame = 24,
	  .ts_cframe = N, .cf_current = N, .f_back = 24, .f_code = 32, .f_lasti = 104,
	  .f_owner = N, .co_name = 112, .co_qualname = N, .co_filename = 104,
	  .co_firstlineno = 40, .co_linetable = 120, .co_code_adaptive = N, .ob_type = 8,
	  .str_state = 32, .str_length = 16, .str_ascii_size = 48, .str_compact_size = 72,
	  .bytes_size = 16, .bytes_sval = 32 },
	{ .minor = 10, .rt_interp_head = 32, .is_next = 0, .is_tstate_head = 8,
	  .ts_next = 8, .ts_interp = 16, .ts_thread_id = 176, .ts_native_tid = N, .ts_frame = 24,
	  .ts_cframe = N, .cf_current = N, .f_back = 24, .f_code = 32, .f_lasti = 96,
	  .f_owner = N, .co_name = 112, .co_qualname = N, .co_filename = 104,
	  .co_firstlineno = 40, .co_linetable = 120, .co_code_adaptive = N, .ob_type = 8,
	  .str_state = 32, .str_length = 16, .str_ascii_size = 48, .str_compact_size = 72,
	  .bytes_size = 16, .bytes_sval = 32 },
	{ .minor = 11, .rt_interp_head = 40, .is_next = 0, .is_tstate_head = 16,
	  .ts_next = 8, .ts_interp = 16, .ts_thread_id = 152, .ts_native_tid = 160,
	  .ts_frame = N, .ts_cframe = 56, .cf_current = 8, .f_back = 48, .f_code = 32,
	  .f_lasti = 56, .f_owner = 69, .co_name = 120, .co_qualname = 128, .co_filename = 112,
	  .co_firstlineno = 72, .co_linetable = 136, .co_code_adaptive = 184, .ob_type = 8,
	  .str_state = 32, .str_length = 16, .str_ascii_size = 48, .str_compact_size = 72,
	  .bytes_size = 16, .bytes_sval = 32 },
	{ .minor = 12, .rt_interp_head = 40, .is_next = 0, .is_tstate_head = 72,
	  .ts_next = 8, .ts_interp = 16, .ts_thread_id = 136, .ts_native_tid = 144,
	  .ts_frame = N, .ts_cframe = 56, .cf_current = 0, .f_back = 8, .f_code = 0,
	  .f_lasti = 56, .f_owner = 70, .co_name = 120, .co_qualname = 128, .co_filename = 112,
	  .co_firstlineno = 68, .co_linetable = 136, .co_code_adaptive = 192, .ob_type = 8,
	  .str_state = 32, .str_length = 16, .str_ascii_size = 40, .str_compact_size = 56,
	  .bytes_size = 16, .bytes_sval = 32 },
};

const struct py_offsets *py_offsets_for(unsigned minor)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		if (tables[i].minor == minor)
			return &tables[i];
	return NULL;
}

static uint64_t u64_at(const uint8_t *buf, unsigned idx)
{
	uint64_t v;
	memcpy(&v, buf + idx * 8, 8);
	return v;
}

/* indexes (in u64 units) of the fields of 3.13's _Py_DebugOffsets */
enum {
	D_VERSION = 1, D_FREE_THREADED = 2, D_RT_INTERP_HEAD = 5, D_IS_NEXT = 8,
	D_IS_THREADS_HEAD = 9, D_TS_NEXT = 21, D_TS_INTERP = 22, D_TS_CURRENT_FRAME = 23,
	D_TS_THREAD_ID = 24, D_TS_NATIVE_TID = 25, D_IF_PREVIOUS = 29, D_IF_EXECUTABLE = 30,
	D_IF_INSTR_PTR = 31, D_IF_OWNER = 33, D_CO_FILENAME = 35, D_CO_NAME = 36,
	D_CO_QUALNAME = 37, D_CO_LINETABLE = 38, D_CO_FIRSTLINENO = 39, D_CO_CODE_ADAPTIVE = 43,
	D_OB_TYPE = 45, D_BYTES_SIZE = 65, D_BYTES_SVAL = 66, D_STR_STATE = 68,
	D_STR_LENGTH = 69, D_STR_ASCII_SIZE = 70,
};

int py_offsets_from_debug(const uint8_t *buf, size_t len, struct py_offsets *o)
{
	static const unsigned idx[] = {
		D_RT_INTERP_HEAD, D_IS_NEXT, D_IS_THREADS_HEAD, D_TS_NEXT, D_TS_INTERP,
		D_TS_CURRENT_FRAME, D_TS_THREAD_ID, D_TS_NATIVE_TID, D_IF_PREVIOUS, D_IF_EXECUTABLE,
		D_IF_INSTR_PTR, D_IF_OWNER, D_CO_FILENAME, D_CO_NAME, D_CO_QUALNAME, D_CO_LINETABLE,
		D_CO_FIRSTLINENO, D_CO_CODE_ADAPTIVE, D_OB_TYPE, D_BYTES_SIZE, D_BYTES_SVAL,
		D_STR_STATE, D_STR_LENGTH, D_STR_ASCII_SIZE,
	};
	uint64_t version;
	if (len < PY_DEBUG_OFFSETS_BYTES || memcmp(buf, "xdebugpy", 8) != 0)
		return -EINVAL;
	version = u64_at(buf, D_VERSION);
	/* PY_VERSION_HEX; this parser knows the 3.13 layout only, and not the free-threaded build */
	if ((version >> 16) != 0x030D || u64_at(buf, D_FREE_THREADED))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++)
		if (u64_at(buf, idx[i]) > (1u << 20))
			return -EINVAL;
	memset(o, 0, sizeof(*o));
	o->minor = 13;
	o->rt_interp_head = (uint32_t)u64_at(buf, D_RT_INTERP_HEAD);
	o->is_next = (uint32_t)u64_at(buf, D_IS_NEXT);
	o->is_tstate_head = (uint32_t)u64_at(buf, D_IS_THREADS_HEAD);
	o->ts_next = (uint32_t)u64_at(buf, D_TS_NEXT);
	o->ts_interp = (uint32_t)u64_at(buf, D_TS_INTERP);
	o->ts_thread_id = (uint32_t)u64_at(buf, D_TS_THREAD_ID);
	o->ts_native_tid = (uint32_t)u64_at(buf, D_TS_NATIVE_TID);
	o->ts_frame = (uint32_t)u64_at(buf, D_TS_CURRENT_FRAME);
	o->ts_cframe = PY_OFF_NONE;
	o->cf_current = PY_OFF_NONE;
	o->f_back = (uint32_t)u64_at(buf, D_IF_PREVIOUS);
	o->f_code = (uint32_t)u64_at(buf, D_IF_EXECUTABLE);
	o->f_lasti = (uint32_t)u64_at(buf, D_IF_INSTR_PTR);
	o->f_owner = (uint32_t)u64_at(buf, D_IF_OWNER);
	o->co_name = (uint32_t)u64_at(buf, D_CO_NAME);
	o->co_qualname = (uint32_t)u64_at(buf, D_CO_QUALNAME);
	o->co_filename = (uint32_t)u64_at(buf, D_CO_FILENAME);
	o->co_firstlineno = (uint32_t)u64_at(buf, D_CO_FIRSTLINENO);
	o->co_linetable = (uint32_t)u64_at(buf, D_CO_LINETABLE);
	o->co_code_adaptive = (uint32_t)u64_at(buf, D_CO_CODE_ADAPTIVE);
	o->ob_type = (uint32_t)u64_at(buf, D_OB_TYPE);
	o->str_state = (uint32_t)u64_at(buf, D_STR_STATE);
	o->str_length = (uint32_t)u64_at(buf, D_STR_LENGTH);
	o->str_ascii_size = (uint32_t)u64_at(buf, D_STR_ASCII_SIZE);
	o->str_compact_size = o->str_ascii_size + 16; /* utf8_length + utf8 pointer */
	o->bytes_size = (uint32_t)u64_at(buf, D_BYTES_SIZE);
	o->bytes_sval = (uint32_t)u64_at(buf, D_BYTES_SVAL);
	return 0;
}
