/* profiler.c — one profiling run; see profiler.h. */
#include "profiler.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sample/source.h"
#include "snapshot.h"
#include "sym/symbolizer.h"
#include "output.h"
#include "hostinfo.h"
#include "progress.h"
#include "fleet/uploader.h"
#include "runtime/runtime.h"
#include "buf.h"
#include "log.h"
#include "timeutil.h"

#define TICK_MS            200
#define PROFILE_MAX_BYTES  (512u * 1024u * 1024u)

/* when this agent process started: gProfiler's "spawn_time" of every upload */
static int64_t spawn_time_s;

__attribute__((constructor)) static void note_spawn_time(void)
{
	spawn_time_s = time(NULL);
}

/* The source --perf-mode names; NULL (auto): the first registered one that opens. */
static const char *source_name(enum perf_mode m)
{
	switch (m) {
	case PERF_MODE_BPF: return "bpf";
	case PERF_MODE_PERF: return "perf";
	case PERF_MODE_DISABLED: return "disabled";
	case PERF_MODE_AUTO: break;
	}
	return NULL;
}

static int source_open(struct sample_source *src, const struct profiler_cfg *o, const pid_t *pids,
		       size_t npids, char *err, size_t errlen)
{
	struct sample_config cfg = {
		.frequency = o->frequency,
		.duration = o->duration,
		.pids = pids,
		.npids = npids,
		.self_pid = getpid(),
		.include_idle = o->include_idle,
	};
	return sample_source_open(src, source_name(o->perf_mode), &cfg, err, errlen);
}

/* A sample_fn for the peek: names what the running snapshot has seen so far, while its
 * processes live, and tells a source that keeps per-process tables which processes live. */
struct peek_ctx {
	struct sample_source *src;
	struct snapshot *snap;
};

static int peek_one(void *ctx, const struct sample_stack *st)
{
	struct peek_ctx *pc = ctx;
	if (pc->src->ops->note_process) {
		int rc = pc->src->ops->note_process(pc->src->impl, st->tgid, SAMPLE_PROC_SEEN);
		if (rc)
			log_debug("%s: process %u: %s", pc->src->ops->name, st->tgid, strerror(-rc));
	}
	return snapshot_warm(pc->snap, st);
}

static void source_peek(struct sample_source *src, struct snapshot *snap)
{
	struct peek_ctx pc = { src, snap };
	src->ops->peek(src->impl, peek_one, &pc);
}

size_t profiler_valid_pids(const pid_t *in, size_t n_in, pid_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < n_in; i++) {
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d", (int)in[i]);
		if (stat(path, &st) != 0) {
			log_warn("process %d does not exist, skipped", (int)in[i]);
			continue;
		}
		out[n++] = in[i];
	}
	return n;
}

/* Hand the profile to every sink. A sink that fails does not keep the others from getting it
 * (a full local disk must not stop uploads). Returns 0, or the first sink's error. */
static int write_profile(const struct profiler_cfg *o, struct snapshot *snap,
			 const struct snapshot_meta *meta)
{
	struct buf text;
	int rc, first = 0;
	buf_init(&text, PROFILE_MAX_BYTES);
	rc = snapshot_render(snap, meta, &text);
	if (rc) {
		log_error("rendering the profile: %s", strerror(-rc));
		goto out;
	}
	if (o->out) {
		rc = output_write(o->out, meta->end_ms / 1000, buf_cstr(&text), text.len);
		if (rc) {
			log_error("writing the profile to the output directory: %s", strerror(-rc));
			first = rc;
		}
	}
	if (o->up) {
		struct upload_profile p = {
			.text = buf_cstr(&text), .len = text.len,
			.start_time = meta->start_ms / 1000, .end_time = meta->end_ms / 1000,
			.spawn_time = spawn_time_s, .cpu_avg = meta->cpu_avg, .mem_avg = meta->mem_avg,
		};
		rc = uploader_submit(o->up, &p);
		if (rc && !first)
			first = rc;
	}
	if (!o->out && !o->up && o->to_stdout) {
		if (fwrite(buf_cstr(&text), 1, text.len, stdout) != text.len || fflush(stdout))
			first = -EIO;
	}
	rc = first;
out:
	buf_release(&text);
	return rc;
}

/* One run: what profiler_run opens, uses and closes. */
struct run {
	const struct profiler_cfg *cfg;
	volatile sig_atomic_t *stop;
	char *err;
	size_t errlen;
	struct hostinfo host;
	struct symbolizer *sym;
	struct runtime_set rts;
	struct snapshot *snap;
	struct sample_source src;
	struct progress prog;
	int64_t start_ms;           /* wall clock start of the current snapshot */
};

/* Say why the run stops (err, and the log at ERROR); returns rc. */
static int __attribute__((format(printf, 3, 4))) fail(struct run *r, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	log_error("%s", r->err);
	return rc;
}

/* Runtimes first: their named frames replace the native samples of the threads they own, which
 * the snapshot asks them about. */
static void start_runtimes(struct run *r, struct snapshot_config *scfg)
{
	const struct profiler_cfg *o = r->cfg;
	struct runtime_config rc = {
		.frequency = o->frequency, .duration = o->duration,
		.pids = o->npids ? o->pids : NULL, .npids = o->npids, .self_pid = getpid(),
		.proc_root = "/proc", .min_age_s = o->min_age_s, .max_processes = o->max_processes,
		.native_off = o->perf_mode == PERF_MODE_DISABLED,
	};
	runtime_set_start(&r->rts, &rc, o->runtime_flags);
	scfg->skip_native = r->rts.n ? runtime_set_owns_thread : NULL;
	scfg->skip_ctx = &r->rts;
}

static int run_open(struct run *r)
{
	const struct profiler_cfg *o = r->cfg;
	struct snapshot_config scfg = {
		.proc_root = "/proc",
		.containers = { .docker = "/var/lib/docker", .kube_logs = "/var/log" },
	};
	int rc;

	hostinfo_read(&r->host, "/proc");
	r->sym = sym_new(NULL);
	if (!r->sym)
		return fail(r, -errno, "symbolizer: %s", strerror(errno));
	scfg.namer = snapshot_namer_sym(r->sym);
	start_runtimes(r, &scfg);
	r->snap = snapshot_new(&scfg);
	if (!r->snap)
		return fail(r, -errno, "snapshot: %s", strerror(errno));
	rc = source_open(&r->src, o, o->npids ? o->pids : NULL, o->npids, r->err, r->errlen);
	if (rc)
		return rc;
	progress_init(&r->prog, stderr, o->progress && !o->continuous);
	log_info("profiling %s at %u Hz, %u s per profile%s (%s)",
		 o->npids ? "selected processes" : "all processes", o->frequency, o->duration,
		 o->continuous ? ", continuously" : "", r->src.ops->name);
	r->start_ms = time_now_ms();
	return 0;
}

static void run_close(struct run *r)
{
	sample_source_close(&r->src);
	runtime_set_stop(&r->rts);
	snapshot_free(r->snap);
	sym_free(r->sym);
}

/* Sample for one snapshot's duration (or until *stop): the source takes samples in while we
 * wait; once a second the host's load is read and what was sampled so far is named. */
static void collect(struct run *r, struct hostinfo_metrics *metrics)
{
	int64_t mono0 = time_mono_ms(), total = (int64_t)r->cfg->duration * 1000, last_tick = mono0;
	int64_t elapsed;

	while (!*r->stop && (elapsed = time_mono_ms() - mono0) < total) {
		int64_t wait = total - elapsed;
		r->src.ops->wait(r->src.impl, (int)(wait < TICK_MS ? wait : TICK_MS));
		if (time_mono_ms() - last_tick >= 1000) {
			last_tick = time_mono_ms();
			hostinfo_metrics_tick(metrics);
			source_peek(&r->src, r->snap);
		}
		progress_update(&r->prog, time_mono_ms() - mono0, total,
				r->src.ops->samples_so_far(r->src.impl));
	}
	progress_done(&r->prog);
}

static void log_snapshot(const struct run *r, const struct snapshot_meta *meta)
{
	struct sym_stats ss;
	log_info("snapshot: %llu samples, %zu stacks, %llu lost, %llu stack collisions",
		 (unsigned long long)meta->counts.samples, col_agg_size(snapshot_stacks(r->snap)),
		 (unsigned long long)meta->counts.lost, (unsigned long long)meta->counts.collisions);
	sym_get_stats(r->sym, &ss);
	log_debug("symbolizer: %zu files, %zu KiB cached, %zu processes, %llu lookups, "
		  "%llu misses, %llu evictions", ss.files_cached, ss.bytes_cached / 1024,
		  ss.processes, (unsigned long long)ss.lookups, (unsigned long long)ss.misses,
		  (unsigned long long)ss.evictions);
}

/* One snapshot: collect, then drain the source and the runtimes into it; meta describes it. */
static int take_snapshot(struct run *r, struct snapshot_meta *meta)
{
	const struct profiler_cfg *o = r->cfg;
	struct hostinfo_metrics metrics;
	int err;

	memset(meta, 0, sizeof(*meta));
	err = snapshot_begin(r->snap);
	if (err)
		return fail(r, err, "snapshot: %s", strerror(-err));
	hostinfo_metrics_begin(&metrics, "/proc");
	collect(r, &metrics);
	meta->start_ms = r->start_ms;
	meta->end_ms = r->start_ms = time_now_ms();
	err = r->src.ops->drain(r->src.impl, snapshot_add, r->snap, &meta->counts);
	if (err)
		return fail(r, err, "draining samples: %s", strerror(-err));
	err = runtime_set_drain(&r->rts, snapshot_add_frames, r->snap, r->err, r->errlen);
	if (err) {
		log_error("%s", r->err);
		return err;
	}
	hostinfo_metrics_end(&metrics);
	meta->host = &r->host;
	meta->agent_version = FLEETPROF_VERSION;
	meta->run_arguments = o->run_arguments;
	meta->mode = r->src.ops->name;
	meta->frequency = o->frequency;
	meta->duration = o->duration;
	meta->cpu_avg = metrics.cpu_avg;
	meta->mem_avg = metrics.mem_avg;
	log_snapshot(r, meta);
	return 0;
}

int profiler_run(const struct profiler_cfg *o, volatile sig_atomic_t *stop, char *errbuf,
		 size_t errlen)
{
	struct run r = { .cfg = o, .stop = stop, .err = errbuf, .errlen = errlen };
	int rc, sink_err = 0;

	errbuf[0] = '\0';
	rc = run_open(&r);
	while (rc == 0) {
		struct snapshot_meta meta;
		rc = take_snapshot(&r, &meta);
		if (rc)
			break;
		rc = write_profile(o, r.snap, &meta);
		if (rc) {
			/* one lost snapshot must not end continuous profiling: go on, report it at the end */
			sink_err = rc;
			snprintf(errbuf, errlen, "writing the profile: %s", strerror(-rc));
			if (!o->continuous)
				break;
			log_error("snapshot could not be written (%s); profiling goes on", strerror(-rc));
			rc = 0;
		}
		if (!o->continuous || *stop)
			break;
	}
	if (rc == 0) {   /* ended as asked: report a snapshot that could not be written */
		rc = sink_err;
		if (!rc)
			errbuf[0] = '\0';
	}
	run_close(&r);
	return rc;
}
