/* py_names.c — see py_names.h. */
#include "py_names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collapsed.h"
#include "py_linetable.h"
#include "py_mem.h"

#define NAME_LEN      256
#define FILE_LEN      512
#define LINETABLE_MAX (16 * 1024)

struct name_slot {
	uint64_t code;                         /* 0 = empty */
	uint64_t name_p, file_p, table_p;      /* validation */
	int firstlineno;
	char *label;                           /* "qualname (file" */
	uint8_t *table;                        /* line table copy, NULL when off or too big */
	uint32_t table_len;
};

struct py_names {
	struct py_target t;
	bool line_numbers;
	struct name_slot *slots;
	size_t used;
	struct py_names_stats st;
};

static int rd(struct py_names *nm, uint64_t addr, void *buf, size_t len)
{
	return py_read_counted(nm->t.pid, addr, buf, len, &nm->st.read_errors);
}

static void put_utf8(char *out, size_t cap, size_t *n, uint32_t c)
{
	uint8_t b[4];
	size_t k;
	if (c < 0x80) { b[0] = (uint8_t)c; k = 1; }
	else if (c < 0x800) { b[0] = (uint8_t)(0xc0 | c >> 6); b[1] = (uint8_t)(0x80 | (c & 63)); k = 2; }
	else if (c < 0x10000) { b[0] = (uint8_t)(0xe0 | c >> 12); b[1] = (uint8_t)(0x80 | ((c >> 6) & 63));
		b[2] = (uint8_t)(0x80 | (c & 63)); k = 3; }
	else { b[0] = (uint8_t)(0xf0 | c >> 18); b[1] = (uint8_t)(0x80 | ((c >> 12) & 63));
		b[2] = (uint8_t)(0x80 | ((c >> 6) & 63)); b[3] = (uint8_t)(0x80 | (c & 63)); k = 4; }
	if (*n + k < cap) {
		memcpy(out + *n, b, k);
		*n += k;
	}
}

/* A compact str object into UTF-8 (truncated to cap-1 bytes). 0 or -errno. */
static int read_str(struct py_names *nm, uint64_t addr, char *out, size_t cap)
{
	const struct py_offsets *o = &nm->t.off;
	uint8_t head[PY_CODE_HEAD_MAX], raw[FILE_LEN * 4];
	uint32_t state, kind;
	int64_t len;
	size_t n = 0, bytes;
	uint64_t data;
	out[0] = '\0';
	if (o->str_compact_size > sizeof(head) || rd(nm, addr, head, o->str_compact_size))
		return -EFAULT;
	memcpy(&state, head + o->str_state, 4);
	memcpy(&len, head + o->str_length, 8);
	kind = (state >> 2) & 7;
	if (!(state & (1u << 5)) || len < 0 || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL; /* not compact: never the case for code object names */
	if ((size_t)len > cap - 1)
		len = (int64_t)(cap - 1);
	data = addr + ((state & (1u << 6)) ? o->str_ascii_size : o->str_compact_size);
	bytes = (size_t)len * kind;
	if (bytes > sizeof(raw))
		bytes = sizeof(raw) / kind * kind;
	if (bytes && rd(nm, data, raw, bytes))
		return -EFAULT;
	for (size_t i = 0; i < bytes / kind; i++) {
		uint32_t c = kind == 1 ? raw[i] : kind == 2 ? (uint32_t)(raw[2 * i] | raw[2 * i + 1] << 8)
			: (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
			  (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
		put_utf8(out, cap, &n, c);
	}
	out[n] = '\0';
	return 0;
}

static void slot_clear(struct name_slot *s)
{
	free(s->label);
	free(s->table);
	memset(s, 0, sizeof(*s));
}

static void names_clear(struct py_names *nm)
{
	for (size_t i = 0; i < PY_NAMES_MAX; i++)
		if (nm->slots[i].code)
			slot_clear(&nm->slots[i]);
	nm->used = 0;
}

struct py_names *py_names_new(const struct py_target *t, bool line_numbers)
{
	struct py_names *nm = calloc(1, sizeof(*nm));
	if (!nm)
		return NULL;
	nm->t = *t;
	nm->line_numbers = line_numbers;
	nm->slots = calloc(PY_NAMES_MAX, sizeof(*nm->slots));
	if (!nm->slots) {
		free(nm);
		return NULL;
	}
	return nm;
}

void py_names_free(struct py_names *nm)
{
	if (!nm)
		return;
	names_clear(nm);
	free(nm->slots);
	free(nm);
}

size_t py_names_code_len(const struct py_offsets *o)
{
	size_t l = o->co_linetable + 8;
	if (o->co_qualname != PY_OFF_NONE && o->co_qualname + 8 > l)
		l = o->co_qualname + 8;
	if (o->co_name + 8 > l)
		l = o->co_name + 8;
	if (o->co_filename + 8 > l)
		l = o->co_filename + 8;
	if (o->co_firstlineno + 4 > l)
		l = o->co_firstlineno + 4;
	return l;
}

/* The slot naming code, filled on a miss. head: the code object's first bytes, NULL when they
 * could not be read (the process is gone): then only a cached name serves. */
static struct name_slot *lookup(struct py_names *nm, uint64_t code, const uint8_t *head)
{
	const struct py_offsets *o = &nm->t.off;
	size_t h = (size_t)((code >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (PY_NAMES_MAX - 1);
	uint64_t name_p = 0, file_p = 0, table_p = 0;
	struct name_slot *s = NULL;
	char name[NAME_LEN], file[FILE_LEN];

	if (head) {
		name_p = py_u64_at(head, o->co_qualname != PY_OFF_NONE ? o->co_qualname : o->co_name);
		file_p = py_u64_at(head, o->co_filename);
		table_p = py_u64_at(head, o->co_linetable);
	}
	for (size_t p = 0; p < 8; p++) {
		struct name_slot *c = &nm->slots[(h + p) & (PY_NAMES_MAX - 1)];
		if (c->code == code) {
			if (!head || (c->name_p == name_p && c->file_p == file_p && c->table_p == table_p)) {
				nm->st.hits++;
				return c;
			}
			slot_clear(c); /* the address now holds another code object */
			nm->used--;
		}
		if (!c->code && !s)
			s = c;
	}
	nm->st.misses++;
	if (!head)
		return NULL;
	if (!s || nm->used >= PY_NAMES_MAX * 3 / 4) {
		names_clear(nm);
		s = &nm->slots[h];
	}
	if (read_str(nm, name_p, name, sizeof(name)) || read_str(nm, file_p, file, sizeof(file)))
		return NULL;
	col_frame_sanitize(name);
	col_frame_sanitize(file);
	if (asprintf(&s->label, "%s (%s", name[0] ? name : "[unknown]", file) < 0) {
		s->label = NULL;
		return NULL;
	}
	s->code = code;
	s->name_p = name_p;
	s->file_p = file_p;
	s->table_p = table_p;
	memcpy(&s->firstlineno, head + o->co_firstlineno, 4);
	nm->used++;
	if (nm->line_numbers) {
		uint8_t bh[64];
		int64_t blen;
		if (o->bytes_sval <= sizeof(bh) && rd(nm, table_p, bh, o->bytes_sval) == 0) {
			memcpy(&blen, bh + o->bytes_size, 8);
			if (blen > 0 && blen <= LINETABLE_MAX && (s->table = malloc((size_t)blen))) {
				if (rd(nm, table_p + o->bytes_sval, s->table, (size_t)blen) == 0) {
					s->table_len = (uint32_t)blen;
				} else {
					free(s->table);
					s->table = NULL;
				}
			}
		}
	}
	return s;
}

int py_names_frame(struct py_names *nm, uint64_t code, const uint8_t *head, uint64_t instr,
		   char *out, size_t n)
{
	uint8_t own[PY_CODE_HEAD_MAX];
	size_t clen = py_names_code_len(&nm->t.off);
	struct name_slot *s;
	int line = -1;

	if (!head && clen <= sizeof(own) && rd(nm, code, own, clen) == 0)
		head = own;
	s = lookup(nm, code, head);
	if (!s) {
		snprintf(out, n, "[unknown]_[p]");
		return -ENOENT;
	}
	if (nm->line_numbers && s->table) {
		uint32_t addr;
		if (nm->t.minor >= 11) {
			uint64_t first = code + nm->t.off.co_code_adaptive;
			addr = instr > first ? (uint32_t)((instr - first) / 2) : 0;
		} else {
			int32_t lasti = (int32_t)(uint32_t)instr;
			addr = lasti < 0 ? 0 : (uint32_t)lasti * (nm->t.minor == 10 ? 2 : 1);
		}
		line = py_line_for(nm->t.minor, s->firstlineno, s->table, s->table_len, addr);
	}
	if (line >= 0)
		snprintf(out, n, "%s:%d)_[p]", s->label, line);
	else
		snprintf(out, n, "%s)_[p]", s->label);
	return 0;
}

void py_names_get_stats(const struct py_names *nm, struct py_names_stats *out)
{
	*out = nm->st;
}
