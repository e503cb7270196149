/* py_reader.c — see py_reader.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py_reader.h"
#include "py_names.h"
#include "py_mem.h"
#include "util.h"

#define GLIBC_PTHREAD_TID_OFF 0x2d0  /* struct pthread.tid, glibc x86_64 (before 3.11 only) */
#define HEAD_BYTES            256    /* enough for every field we read of a tstate/frame/code */
#define FRAME_TEXT            1024   /* one rendered frame, at most */

struct py_reader {
	struct py_target t;
	struct py_reader_opts o;
	char proc_root[64];
	struct py_names *names;                /* code object names (py_names.h) */
	bool own_pidns;                        /* thread states hold namespace tids */
	uint32_t xlat[PY_MAX_THREADS][2];      /* namespace tid -> host tid, when own_pidns */
	size_t nxlat;
	struct py_reader_stats st;
	char stack[PY_STACK_MAX];
	char scratch[PY_STACK_MAX];            /* frames leaf first, before they are reversed */
};

static int rd(struct py_reader *r, uint64_t addr, void *buf, size_t len)
{
	return py_read_counted(r->t.pid, addr, buf, len, &r->st.read_errors);
}

/* Namespace tids to host tids for a process in its own PID namespace (a container). */
static void load_xlat(struct py_reader *r)
{
	char path[128];
	struct dirent *de;
	DIR *d;
	r->nxlat = 0;
	snprintf(path, sizeof(path), "%s/%d/task", r->proc_root, (int)r->t.pid);
	d = opendir(path);
	while (d && (de = readdir(d)) && r->nxlat < PY_MAX_THREADS) {
		uint32_t host, ns;
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0 || process_task_nspid(r->proc_root, r->t.pid, tid, &host, &ns))
			continue;
		r->xlat[r->nxlat][0] = ns;
		r->xlat[r->nxlat][1] = host;
		r->nxlat++;
	}
	if (d)
		closedir(d);
}

/* The host tid of a thread state's tid; 0 when that thread is gone. */
static pid_t host_tid(struct py_reader *r, pid_t tid)
{
	if (!r->own_pidns)
		return tid;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->nxlat; i++)
			if (r->xlat[i][0] == (uint32_t)tid)
				return (pid_t)r->xlat[i][1];
		if (pass == 0)
			load_xlat(r);   /* a thread started since: look again, once */
	}
	return 0;
}

/* tid: a host tid */
static bool thread_running(struct py_reader *r, pid_t tid)
{
	char path[160], buf[512], *p;
	ssize_t n;
	int fd;
	if (tid <= 0)
		return false;
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
		return (pid_t)py_u64_at(ts, o->ts_native_tid);
	if (rd(r, py_u64_at(ts, o->ts_thread_id) + GLIBC_PTHREAD_TID_OFF, &tid, sizeof(tid)))
		return 0;
	return tid;
}

/* First frame of a thread state. */
static uint64_t top_frame(struct py_reader *r, const uint8_t *ts)
{
	const struct py_offsets *o = &r->t.off;
	uint64_t cf;
	if (o->ts_cframe == PY_OFF_NONE)
		return py_u64_at(ts, o->ts_frame);
	cf = py_u64_at(ts, o->ts_cframe);
	if (!cf || rd(r, cf + o->cf_current, &cf, sizeof(cf)))
		return 0;
	return cf;
}

/* Walk one thread's frames into r->stack, root first. Returns the number of frames. */
static int walk_thread(struct py_reader *r, uint64_t frame, size_t *len)
{
	const struct py_offsets *o = &r->t.off;
	uint32_t at[PY_MAX_FRAMES];            /* where each frame's text starts in scratch */
	size_t used = 0;
	int n = 0;
	uint8_t fh[HEAD_BYTES], ch[HEAD_BYTES];
	size_t flen = (o->f_lasti > o->f_back ? o->f_lasti : o->f_back) + 8;
	size_t clen = py_names_code_len(o);

	if (o->f_owner != PY_OFF_NONE && o->f_owner + 1 > flen)
		flen = o->f_owner + 1;
	for (int guard = 0; frame && n < PY_MAX_FRAMES && guard < PY_MAX_FRAMES * 2; guard++) {
		uint64_t code, back, instr;
		if (rd(r, frame, fh, flen))
			break;
		code = py_u64_at(fh, o->f_code);
		back = py_u64_at(fh, o->f_back);
		if (o->f_owner != PY_OFF_NONE && r->t.minor >= 12 &&
		    fh[o->f_owner] == PY_FRAME_OWNED_BY_CSTACK) {
			frame = back;
			continue;
		}
		if (!code || clen > sizeof(ch) || rd(r, code, ch, clen))
			break;
		instr = r->t.minor >= 11 ? py_u64_at(fh, o->f_lasti)
					 : (uint64_t)(uint32_t)py_i32_at(fh, o->f_lasti);
		if (used + FRAME_TEXT > sizeof(r->scratch) ||
		    py_names_frame(r->names, code, ch, instr, r->scratch + used, FRAME_TEXT) != 0)
			break;
		at[n++] = (uint32_t)used;
		used += strlen(r->scratch + used) + 1;
		frame = back;
	}
	*len = 0;
	r->stack[0] = '\0';
	for (int i = n; i-- > 0;) {
		const char *f = r->scratch + at[i];
		size_t l = strlen(f);
		if (*len + l + 2 >= sizeof(r->stack))
			break;
		if (*len)
			r->stack[(*len)++] = ';';
		memcpy(r->stack + *len, f, l + 1);
		*len += l;
	}
	r->st.frames += (unsigned)n;
	return n;
}

static size_t ts_len(const struct py_offsets *o)
{
	uint32_t m = o->ts_next;
	const uint32_t f[] = { o->ts_interp, o->ts_thread_id, o->ts_native_tid, o->ts_frame,
			       o->ts_cframe };
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
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
			tid = tid > 0 ? host_tid(r, tid) : 0;
			frame = top_frame(r, ts);
			if (frame && (r->o.all_threads || thread_running(r, tid)) &&
			    walk_thread(r, frame, &len) > 0) {
				rc = fn(ctx, tid, r->stack, len);
				if (rc)
					return rc;
			}
			tstate = py_u64_at(ts, o->ts_next);
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
	r->names = py_names_new(t, o->line_numbers);
	if (!r->names)
		goto nomem;
	{
		uint32_t host, ns;
		r->own_pidns = process_task_nspid(r->proc_root, t->pid, t->pid, &host, &ns) == 0 &&
			       host != ns;
		if (r->own_pidns)
			load_xlat(r);
	}
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
	py_names_free(r->names);
	free(r);
}

void py_reader_get_stats(const struct py_reader *r, struct py_reader_stats *out)
{
	struct py_names_stats ns;
	*out = r->st;
	py_names_get_stats(r->names, &ns);
	out->name_hits = ns.hits;
	out->name_misses = ns.misses;
	out->read_errors += ns.read_errors;
}
