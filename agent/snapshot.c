/* snapshot.c — see snapshot.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "sym/symbolizer.h"
#include "container.h"
#include "hostinfo.h"
#include "timeutil.h"
#include "log.h"

#define NAME_MAX_LEN     512
#define CONT_SLOTS       4096          /* processes whose container is remembered per snapshot */
#define KERNEL_TGID      UINT32_MAX    /* memo key for kernel addresses */

struct memo_slot {
	uint64_t addr;
	uint32_t tgid;
	bool used;
	char *name;
};

struct cont_slot {
	uint32_t tgid;                 /* 0 = empty */
	char *name;                    /* NULL: on the host (Kubernetes names run to 400 bytes) */
};

struct snapshot {
	struct snapshot_config cfg;
	struct col_agg *agg;
	struct memo_slot *memo;       /* calloc'd: pages stay untouched until used */
	size_t memo_cap, memo_used;
	uint32_t *memo_idx;           /* slots in use, so clearing touches only those */
	struct cont_slot *conts;
	struct buf line;
	char name[NAME_MAX_LEN];
};

static int sym_kernel_cb(void *ctx, uint64_t addr, char *out, size_t n)
{
	return sym_kernel(ctx, addr, out, n);
}

static int sym_user_cb(void *ctx, uint32_t tgid, uint64_t addr, char *out, size_t n)
{
	return sym_user(ctx, (pid_t)tgid, addr, out, n);
}

static void sym_begin_cb(void *ctx)
{
	sym_snapshot_begin(ctx);
}

struct snapshot_namer snapshot_namer_sym(struct symbolizer *sym)
{
	struct snapshot_namer n = { sym_kernel_cb, sym_user_cb, sym_begin_cb, sym };
	return n;
}

static void memo_clear(struct snapshot *s)
{
	for (size_t i = 0; i < s->memo_used; i++) {
		struct memo_slot *m = &s->memo[s->memo_idx[i]];
		free(m->name);
		m->name = NULL;
		m->used = false;
	}
	s->memo_used = 0;
}

static void conts_clear(struct snapshot *s)
{
	if (!s->conts)
		return;
	for (uint32_t i = 0; i < CONT_SLOTS; i++) {
		free(s->conts[i].name);
		s->conts[i].name = NULL;
		s->conts[i].tgid = 0;
	}
}

struct snapshot *snapshot_new(const struct snapshot_config *cfg)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	size_t want;
	if (!s)
		goto fail;
	s->cfg = *cfg;
	if (!s->cfg.proc_root)
		s->cfg.proc_root = "/proc";
	if (!s->cfg.max_stacks)
		s->cfg.max_stacks = 65536;
	if (!s->cfg.max_memo)
		s->cfg.max_memo = 131072;
	/* open addressing at most half full */
	for (want = 1024; want < s->cfg.max_memo * 2; want <<= 1)
		;
	s->memo_cap = want;
	s->memo = calloc(s->memo_cap, sizeof(*s->memo));
	s->memo_idx = calloc(s->cfg.max_memo, sizeof(*s->memo_idx));
	s->conts = calloc(CONT_SLOTS, sizeof(*s->conts));
	s->agg = col_agg_new(s->cfg.max_stacks);
	if (!s->memo || !s->memo_idx || !s->conts || !s->agg)
		goto fail;
	buf_init(&s->line, COL_MAX_LINE);
	return s;
fail:
	snapshot_free(s);
	errno = ENOMEM;
	return NULL;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	if (s->memo && s->memo_idx)
		memo_clear(s);
	free(s->memo);
	free(s->memo_idx);
	conts_clear(s);
	free(s->conts);
	col_agg_free(s->agg);
	buf_release(&s->line);
	free(s);
}

int snapshot_begin(struct snapshot *s)
{
	struct col_agg *fresh = col_agg_new(s->cfg.max_stacks);
	if (!fresh)
		return -ENOMEM;
	col_agg_free(s->agg);
	s->agg = fresh;
	memo_clear(s);
	conts_clear(s);
	if (s->cfg.namer.begin)
		s->cfg.namer.begin(s->cfg.namer.ctx);
	return 0;
}

const struct col_agg *snapshot_stacks(const struct snapshot *s)
{
	return s->agg;
}

uint64_t snapshot_total(const struct snapshot *s)
{
	return col_agg_total(s->agg);
}

static size_t memo_hash(uint32_t tgid, uint64_t addr, size_t cap)
{
	uint64_t h = (addr ^ ((uint64_t)tgid << 40) ^ tgid) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 17) & (cap - 1);
}

/* Name of addr in tgid (KERNEL_TGID for kernel), memoized. Returns a string valid until the
 * next call (when not memoized) or the next snapshot_begin. */
static const char *name_of(struct snapshot *s, uint32_t tgid, uint64_t addr)
{
	size_t i = memo_hash(tgid, addr, s->memo_cap);
	struct memo_slot *slot = NULL;
	for (size_t probe = 0; probe < s->memo_cap; probe++) {
		struct memo_slot *m = &s->memo[(i + probe) & (s->memo_cap - 1)];
		if (!m->used) {
			slot = m;
			break;
		}
		if (m->tgid == tgid && m->addr == addr)
			return m->name;
	}
	s->name[0] = '\0';
	if (tgid == KERNEL_TGID)
		s->cfg.namer.kernel(s->cfg.namer.ctx, addr, s->name, sizeof(s->name));
	else
		s->cfg.namer.user(s->cfg.namer.ctx, tgid, addr, s->name, sizeof(s->name));
	s->name[sizeof(s->name) - 1] = '\0';
	if (!s->name[0])
		snprintf(s->name, sizeof(s->name), "[unknown]%s", tgid == KERNEL_TGID ? "_[k]" : "");
	col_frame_sanitize(s->name);
	if (slot && s->memo_used < s->cfg.max_memo) {
		char *copy = strdup(s->name);
		if (copy) {
			slot->used = true;
			slot->tgid = tgid;
			slot->addr = addr;
			slot->name = copy;
			s->memo_idx[s->memo_used++] = (uint32_t)(slot - s->memo);
			return copy;
		}
	}
	return s->name;
}

static const char *container_of(struct snapshot *s, uint32_t tgid)
{
	uint32_t h = (tgid * 2654435761u) & (CONT_SLOTS - 1);
	static const char none[] = "";
	if (tgid == 0)
		return none;
	for (uint32_t probe = 0; probe < 32; probe++) {
		struct cont_slot *c = &s->conts[(h + probe) & (CONT_SLOTS - 1)];
		if (c->tgid == tgid)
			return c->name ? c->name : none;
		if (c->tgid == 0) {
			container_name_of_pid(s->cfg.proc_root, &s->cfg.containers, (pid_t)tgid,
					      s->name, sizeof(s->name));
			col_frame_sanitize(s->name);
			if (s->name[0] && !(c->name = strdup(s->name)))
				return s->name; /* not remembered: looked up again next time */
			c->tgid = tgid;
			return c->name ? c->name : none;
		}
	}
	/* table crowded: look it up without remembering */
	container_name_of_pid(s->cfg.proc_root, &s->cfg.containers, (pid_t)tgid, s->name,
			      sizeof(s->name));
	return col_frame_sanitize(s->name);
}

static int put_frame(struct buf *b, const char *name)
{
	int rc = buf_putc(b, ';');
	return rc ? rc : buf_puts(b, name);
}

int snapshot_add(void *ctx, const struct sample_stack *st)
{
	struct snapshot *s = ctx;
	char comm[SAMPLE_COMM_LEN + 1];
	int rc;

	if (s->cfg.skip_native && s->cfg.skip_native(s->cfg.skip_ctx, st->tgid, st->pid))
		return 0;
	buf_reset(&s->line);
	memcpy(comm, st->comm, SAMPLE_COMM_LEN);
	comm[SAMPLE_COMM_LEN] = '\0';
	col_frame_sanitize(comm);
	/* container first: its lookup may use s->name, which frames below also use */
	rc = buf_printf(&s->line, "0;%s;%s", container_of(s, st->tgid), comm[0] ? comm : "[unknown]");
	/* user frames root first: the last ip is the root; ips after the leaf are return
	 * addresses, so name ip-1 (the call instruction) for them */
	if (rc == 0 && st->user_lost)
		rc = put_frame(&s->line, "[lost stack]");
	for (uint32_t i = st->nuser; rc == 0 && i-- > 0;)
		rc = put_frame(&s->line, name_of(s, st->tgid, i ? st->user[i] - 1 : st->user[i]));
	if (rc == 0 && st->kern_lost)
		rc = put_frame(&s->line, "[lost stack]_[k]");
	for (uint32_t i = st->nkern; rc == 0 && i-- > 0;)
		rc = put_frame(&s->line, name_of(s, KERNEL_TGID, i ? st->kern[i] - 1 : st->kern[i]));
	if (rc == -ENOSPC) {
		log_debug("snapshot: stack of %s (%u) too long, truncated", comm, st->tgid);
		rc = 0;
	}
	if (rc)
		return rc;
	rc = col_agg_add(s->agg, buf_cstr(&s->line), s->line.len, st->count);
	if (rc == -ENOSPC)
		rc = 0; /* counted in col_agg_dropped */
	return rc;
}

/* Kernel part of a frames string: "[L,]addr,addr..." hex, leaf first; named root first. */
static int put_kernel(struct snapshot *s, const char *k)
{
	uint64_t addrs[SAMPLE_MAX_DEPTH];
	uint32_t n = 0;
	int rc = 0;
	if (*k == 'L') {
		rc = put_frame(&s->line, "[lost stack]_[k]");
		k++;
		if (*k == ',')
			k++;
	}
	while (rc == 0 && *k && n < SAMPLE_MAX_DEPTH) {
		char *end;
		unsigned long long a = strtoull(k, &end, 16);
		if (end == k)
			break;
		addrs[n++] = a;
		k = *end == ',' ? end + 1 : end;
	}
	for (uint32_t i = n; rc == 0 && i-- > 0;)
		rc = put_frame(&s->line, name_of(s, KERNEL_TGID, i ? addrs[i] - 1 : addrs[i]));
	return rc;
}

int snapshot_add_frames(void *ctx, uint32_t tgid, const char *comm, const char *frames,
			uint64_t count)
{
	struct snapshot *s = ctx;
	char c[SAMPLE_COMM_LEN + 1];
	const char *ksep;
	size_t plen;
	int rc;
	snprintf(c, sizeof(c), "%s", comm);
	col_frame_sanitize(c);
	buf_reset(&s->line);
	rc = buf_printf(&s->line, "0;%s;%s", container_of(s, tgid), c[0] ? c : "[unknown]");
	ksep = strchr(frames, SNAPSHOT_KSEP);
	plen = ksep ? (size_t)(ksep - frames) : strlen(frames);
	if (rc == 0 && plen)
		rc = buf_putc(&s->line, ';');
	if (rc == 0 && plen)
		rc = buf_append(&s->line, frames, plen);
	if (rc == 0 && ksep)
		rc = put_kernel(s, ksep + 1);
	if (rc == -ENOSPC) {
		log_debug("snapshot: stack of %s (%u) too long, dropped", c, tgid);
		return 0;
	}
	if (rc)
		return rc;
	rc = col_agg_add(s->agg, buf_cstr(&s->line), s->line.len, count);
	return rc == -ENOSPC ? 0 : rc;
}

int snapshot_warm(void *ctx, const struct sample_stack *st)
{
	struct snapshot *s = ctx;
	if (s->cfg.skip_native && s->cfg.skip_native(s->cfg.skip_ctx, st->tgid, st->pid))
		return 0;
	container_of(s, st->tgid);
	for (uint32_t i = st->nuser; i-- > 0;)
		name_of(s, st->tgid, i ? st->user[i] - 1 : st->user[i]);
	return 0;
}

json_t *snapshot_header(const struct snapshot *s, const struct snapshot_meta *m)
{
	const struct hostinfo *h = m->host;
	char start[32] = "", end[32] = "";
	json_t *root, *conts;

	time_format_iso8601(m->start_ms / 1000, start, sizeof(start));
	time_format_iso8601(m->end_ms / 1000, end, sizeof(end));
	conts = json_array();
	if (conts) {
		for (uint32_t i = 0; i < CONT_SLOTS; i++) {
			const char *name = s->conts[i].name;
			bool seen = false;
			if (!s->conts[i].tgid || !name)
				continue;
			for (size_t j = 0; j < json_array_size(conts) && !seen; j++)
				seen = strcmp(json_string_value(json_array_get(conts, j)), name) == 0;
			if (!seen && json_array_size(conts) < 1024)
				json_array_append_new(conts, json_string(name));
		}
	}
	root = json_pack("{s:{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i,"
			 " s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I},"
			 " s:{s:f, s:f}, s:[n], s:b, s:o, s:b}",
			 "metadata",
			 "hostname", h->hostname,
			 "kernel_release", h->kernel_release,
			 "kernel_version", h->kernel_version,
			 "arch", h->arch,
			 "processors", h->processors,
			 "cpu_model_name", h->cpu_model,
			 "memory_capacity_mb", (json_int_t)h->memory_mb,
			 "agent_version", m->agent_version ? m->agent_version : "",
			 "run_arguments", m->run_arguments ? m->run_arguments : "",
			 "profiling_mode", "cpu",
			 "perf_mode", m->mode ? m->mode : "",
			 "frequency", (int)m->frequency,
			 "duration", (int)m->duration,
			 "start_time", start,
			 "end_time", end,
			 "samples", (json_int_t)m->counts.samples,
			 "lost_samples", (json_int_t)m->counts.lost,
			 "stack_collisions", (json_int_t)m->counts.collisions,
			 "stack_errors", (json_int_t)m->counts.stack_errors,
			 "stacks", (json_int_t)col_agg_size(s->agg),
			 "stacks_dropped", (json_int_t)col_agg_dropped(s->agg),
			 "metrics", "cpu_avg", m->cpu_avg, "mem_avg", m->mem_avg,
			 "application_metadata",
			 "application_metadata_enabled", 0,
			 "containers", conts ? conts : json_array(),
			 "container_names_enabled", 1);
	return root;
}

int snapshot_render(const struct snapshot *s, const struct snapshot_meta *m, struct buf *out)
{
	json_t *hdr = snapshot_header(s, m);
	char *text;
	int rc;
	if (!hdr)
		return -ENOMEM;
	text = json_dumps(hdr, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(hdr);
	if (!text)
		return -ENOMEM;
	rc = buf_printf(out, "# %s\n", text);
	free(text);
	if (rc)
		return rc;
	return col_agg_write(s->agg, out);
}
