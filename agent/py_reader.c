/* py_reader.c — see py_reader.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py_reader.h"
#include "py_linetable.h"
#include "collapsed.h"

#define GLIBC_PTHREAD_TID_OFF 0x2d0  /* struct pthread.tid, glibc x86_64 (before 3.11 only) */
#define HEAD_BYTES            256    /* enough for every field we read of a tstate/frame/code */
#define NAME_LEN              256
#define FILE_LEN              512
#define LINETABLE_MAX         (16 * 1024)

struct name_slot {
	uint64_t code;                         /* 0 = empty */
	uint64_t name_p, file_p, table_p;      /* validation */
	int firstlineno;
	char *label;                           /* "qualname (file" */
	uint8_t *table;                        /* line table copy, NULL when too big */
	uint32_t table_len;
};

struct py_reader {
	struct py_target t;
	struct py_reader_opts o;
	char proc_root[64];
	struct name_slot *names;
	size_t nnames;
	struct py_reader_stats st;
	char stack[PY_STACK_MAX];
	char frame[NAME_LEN + FILE_LEN + 32];
};

static uint64_t u64_at(const uint8_t *b, uint32_t off)
{
	uint64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

static int32_t i32_at(const uint8_t *b, uint32_t off)
{
	int32_t v;
	memcpy(&v, b + off, 4);
	return v;
}

static int rd(struct py_reader *r, uint64_t addr, void *buf, size_t len)
{
	int rc = py_read(r->t.pid, addr, buf, len);
	if (rc)
		r->st.read_errors++;
	return rc;
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

/* A str object into UTF-8 (truncated to cap-1 bytes). 0 or -errno. */
static int read_str(struct py_reader *r, uint64_t addr, char *out, size_t cap)
{
	const struct py_offsets *o = &r->t.off;
	uint8_t head[HEAD_BYTES], raw[FILE_LEN * 4];
	uint32_t state, kind;
	int64_t len;
	size_t n = 0, bytes;
	uint64_t data;
	out[0] = '\0';
	if (rd(r, addr, head, o->str_compact_size))
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
	if (bytes && rd(r, data, raw, bytes))
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

static void names_clear(struct py_reader *r)
{
	for (size_t i = 0; i < PY_NAME_CACHE; i++)
		if (r->names[i].code)
			slot_clear(&r->names[i]);
	r->nnames = 0;
}

/* The cached name of the code object at code (head = its first HEAD_BYTES), filled on a miss. */
static struct name_slot *name_of(struct py_reader *r, uint64_t code, const uint8_t *head)
{
	const struct py_offsets *o = &r->t.off;
	uint64_t name_p = u64_at(head, o->co_qualname != PY_OFF_NONE ? o->co_qualname : o->co_name);
	uint64_t file_p = u64_at(head, o->co_filename), table_p = u64_at(head, o->co_linetable);
	size_t h = (size_t)((code >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (PY_NAME_CACHE - 1);
	struct name_slot *s = NULL;
	char name[NAME_LEN], file[FILE_LEN];

	for (size_t p = 0; p < 8; p++) {
		struct name_slot *c = &r->names[(h + p) & (PY_NAME_CACHE - 1)];
		if (c->code == code) {
			if (c->name_p == name_p && c->file_p == file_p && c->table_p == table_p) {
				r->st.name_hits++;
				return c;
			}
			slot_clear(c); /* the address now holds another code object */
			r->nnames--;
		}
		if (!c->code && !s)
			s = c;
	}
	r->st.name_misses++;
	if (!s || r->nnames >= PY_NAME_CACHE * 3 / 4) {
		names_clear(r);
		s = &r->names[h];
	}
	if (read_str(r, name_p, name, sizeof(name)) || read_str(r, file_p, file, sizeof(file)))
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
	s->firstlineno = i32_at(head, o->co_firstlineno);
	r->nnames++;
	if (r->o.line_numbers) {
		uint8_t bh[64];
		int64_t blen;
		if (rd(r, table_p, bh, o->bytes_sval) == 0) {
			memcpy(&blen, bh + o->bytes_size, 8);
			if (blen > 0 && blen <= LINETABLE_MAX && (s->table = malloc((size_t)blen))) {
				if (rd(r, table_p + o->bytes_sval, s->table, (size_t)blen) == 0) {
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

static bool thread_running(struct py_reader *r, pid_t tid)
{
	char path[160], buf[512], *p;
	ssize_t n;
	int fd;
	snprintf(path, sizeof(path), "%s/%d/task/%d/stat", r->proc_root, (int)r->t.pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'R';
}

static pid_t thread_tid(struct py_reader *r, const uint8_t *ts)
{
	const struct py_offsets *o = &r->t.off;
	int32_t tid = 0;
	if (o->ts_native_tid != PY_OFF_NONE)
		return (pid_t)u64_at(ts, o->ts_native_tid);
	if (rd(r, u64_at(ts, o->ts_thread_id) + GLIBC_PTHREAD_TID_OFF, &tid, sizeof(tid)))
		return 0;
	return tid;
}

/* First frame of a thread state. */
static uint64_t top_frame(struct py_reader *r, const uint8_t *ts)
{
	const struct py_offsets *o = &r->t.off;
	uint64_t cf;
	if (o->ts_cframe == PY_OFF_NONE)
		return u64_at(ts, o->ts_frame);
	cf = u64_at(ts, o->ts_cframe);
	if (!cf || rd(r, cf + o->cf_current, &cf, sizeof(cf)))
		return 0;
	return cf;
}

static int append(struct py_reader *r, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l + 2 >= sizeof(r->stack))
		return -ENOSPC;
	if (*n)
		r->stack[(*n)++] = ';';
	memcpy(r->stack + *n, s, l + 1);
	*n += l;
	return 0;
}

/* Walk one thread's frames into r->stack, root first. Returns the number of frames. */
static int walk_thread(struct py_reader *r, uint64_t frame, size_t *len)
{
	const struct py_offsets *o = &r->t.off;
	struct { struct name_slot *s; int line; } fr[PY_MAX_FRAMES];
	int n = 0;
	uint8_t fh[HEAD_BYTES], ch[HEAD_BYTES];
	size_t flen = (o->f_lasti > o->f_back ? o->f_lasti : o->f_back) + 8;
	size_t clen = o->co_linetable + 8;

	if (o->co_qualname != PY_OFF_NONE && o->co_qualname + 8 > clen)
		clen = o->co_qualname + 8;
	if (o->co_code_adaptive != PY_OFF_NONE && o->co_code_adaptive > clen)
		clen = o->co_code_adaptive;
	if (o->f_owner != PY_OFF_NONE && o->f_owner + 1 > flen)
		flen = o->f_owner + 1;
	for (int guard = 0; frame && n < PY_MAX_FRAMES && guard < PY_MAX_FRAMES * 2; guard++) {
		uint64_t code, back;
		struct name_slot *s;
		int line = -1;
		if (rd(r, frame, fh, flen))
			break;
		code = u64_at(fh, o->f_code);
		back = u64_at(fh, o->f_back);
		if (o->f_owner != PY_OFF_NONE && r->t.minor >= 12 &&
		    fh[o->f_owner] == PY_FRAME_OWNED_BY_CSTACK) {
			frame = back;
			continue;
		}
		if (!code || rd(r, code, ch, clen))
			break;
		s = name_of(r, code, ch);
		if (!s)
			break;
		if (r->o.line_numbers && s->table) {
			uint32_t addr;
			if (r->t.minor >= 11) {
				uint64_t ip = u64_at(fh, o->f_lasti), first = code + o->co_code_adaptive;
				addr = ip > first ? (uint32_t)((ip - first) / 2) : 0;
			} else {
				int32_t lasti = i32_at(fh, o->f_lasti);
				addr = lasti < 0 ? 0 : (uint32_t)lasti * (r->t.minor == 10 ? 2 : 1);
			}
			line = py_line_for(r->t.minor, s->firstlineno, s->table, s->table_len, addr);
		}
		fr[n].s = s;
		fr[n].line = line;
		n++;
		frame = back;
	}
	*len = 0;
	r->stack[0] = '\0';
	for (int i = n; i-- > 0;) {
		if (fr[i].line >= 0)
			snprintf(r->frame, sizeof(r->frame), "%s:%d)_[p]", fr[i].s->label, fr[i].line);
		else
			snprintf(r->frame, sizeof(r->frame), "%s)_[p]", fr[i].s->label);
		if (append(r, len, r->frame))
			break;
	}
	r->st.frames += (unsigned)n;
	return n;
}

static size_t ts_len(const struct py_offsets *o)
{
	uint32_t m = o->ts_next;
	const uint32_t f[] = { o->ts_interp, o->ts_thread_id, o->ts_native_tid, o->ts_frame,
			       o->ts_cframe };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] != PY_OFF_NONE && f[i] > m)
			m = f[i];
	return m + 8;
}

static bool process_gone(struct py_reader *r)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%d", r->proc_root, (int)r->t.pid);
	return access(path, F_OK) != 0;
}

int py_reader_sample(struct py_reader *r, py_stack_fn fn, void *ctx)
{
	const struct py_offsets *o = &r->t.off;
	uint64_t interp;
	uint8_t ts[HEAD_BYTES];
	size_t tlen = ts_len(o);
	int rc;

	rc = rd(r, r->t.runtime + o->rt_interp_head, &interp, sizeof(interp));
	if (rc)
		return rc == -ESRCH || process_gone(r) ? -ESRCH : -EFAULT;
	if (!interp)
		return -EFAULT;
	r->st.samples++;
	for (int ni = 0; interp && ni < PY_MAX_INTERPS; ni++) {
		uint64_t tstate, next_interp;
		if (rd(r, interp + o->is_next, &next_interp, 8) ||
		    rd(r, interp + o->is_tstate_head, &tstate, 8))
			return process_gone(r) ? -ESRCH : -EFAULT;
		for (int nt = 0; tstate && nt < PY_MAX_THREADS; nt++) {
			pid_t tid;
			uint64_t frame;
			size_t len;
			if (rd(r, tstate, ts, tlen))
				break;
			tid = thread_tid(r, ts);
			frame = top_frame(r, ts);
			if (frame && (r->o.all_threads || (tid > 0 && thread_running(r, tid))) &&
			    walk_thread(r, frame, &len) > 0) {
				rc = fn(ctx, tid, r->stack, len);
				if (rc)
					return rc;
			}
			tstate = u64_at(ts, o->ts_next);
		}
		interp = next_interp;
	}
	return 0;
}

/* An interpreter whose first thread state points back at it. */
static int validate(struct py_reader *r)
{
	const struct py_offsets *o = &r->t.off;
	uint64_t interp, tstate, back;
	int rc = rd(r, r->t.runtime + o->rt_interp_head, &interp, 8);
	if (rc)
		return rc == -ESRCH ? -ESRCH : -EINVAL;
	if (!interp || rd(r, interp + o->is_tstate_head, &tstate, 8) || !tstate ||
	    rd(r, tstate + o->ts_interp, &back, 8) || back != interp)
		return -EINVAL;
	return 0;
}

struct py_reader *py_reader_new(const struct py_target *t, const struct py_reader_opts *o)
{
	struct py_reader *r = calloc(1, sizeof(*r));
	int rc;
	if (!r)
		goto nomem;
	r->t = *t;
	r->o = *o;
	snprintf(r->proc_root, sizeof(r->proc_root), "%s", o->proc_root ? o->proc_root : "/proc");
	r->names = calloc(PY_NAME_CACHE, sizeof(*r->names));
	if (!r->names)
		goto nomem;
	rc = validate(r);
	if (rc) {
		py_reader_free(r);
		errno = -rc;
		return NULL;
	}
	return r;
nomem:
	py_reader_free(r);
	errno = ENOMEM;
	return NULL;
}

void py_reader_free(struct py_reader *r)
{
	if (!r)
		return;
	if (r->names)
		names_clear(r);
	free(r->names);
	free(r);
}

void py_reader_get_stats(const struct py_reader *r, struct py_reader_stats *out)
{
	*out = r->st;
}
