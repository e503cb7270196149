/* profiler.c — one profiling run; see profiler.h. */
#include "profiler.h"

#include <errno.h>
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

int profiler_run(const struct profiler_cfg *o, volatile sig_atomic_t *stop, char *errbuf,
		 size_t errlen)
{
	struct sample_source src = { 0 };
	struct symbolizer *sym = NULL;
	struct snapshot *snap = NULL;
	struct runtime_set rts = { 0 };
	struct hostinfo host;
	struct progress prog;
	struct snapshot_config scfg = { 0 };
	const pid_t *pids = o->pids;
	size_t npids = o->npids;
	int rc = -EIO, err, sink_err = 0;
	int64_t start_ms;

	errbuf[0] = '\0';
	hostinfo_read(&host, "/proc");
	sym = sym_new(NULL);
	if (!sym) {
		rc = -errno;
		snprintf(errbuf, errlen, "symbolizer: %s", strerror(errno));
		log_error("%s", errbuf);
		goto out;
	}
	scfg.namer = snapshot_namer_sym(sym);
	scfg.proc_root = "/proc";
	scfg.containers.docker = "/var/lib/docker";
	scfg.containers.kube_logs = "/var/log";
	{
		/* runtimes: named frames of their processes, whose native samples are dropped */
		struct runtime_config rc = {
			.frequency = o->frequency, .duration = o->duration,
			.pids = npids ? pids : NULL, .npids = npids, .self_pid = getpid(),
			.proc_root = "/proc", .min_age_s = o->min_age_s,
			.max_processes = o->max_processes,
			.native_off = o->perf_mode == PERF_MODE_DISABLED,
		};
		runtime_set_start(&rts, &rc, o->runtime_flags);
		scfg.skip_native = rts.n ? runtime_set_owns_thread : NULL;
		scfg.skip_ctx = &rts;
	}
	snap = snapshot_new(&scfg);
	if (!snap) {
		rc = -errno;
		snprintf(errbuf, errlen, "snapshot: %s", strerror(errno));
		log_error("%s", errbuf);
		goto out;
	}
	rc = source_open(&src, o, npids ? pids : NULL, npids, errbuf, errlen);
	if (rc)
		goto out;
	rc = -EIO;
	progress_init(&prog, stderr, o->progress && !o->continuous);
	log_info("profiling %s at %u Hz, %u s per profile%s (%s)",
		 npids ? "selected processes" : "all processes", o->frequency, o->duration,
		 o->continuous ? ", continuously" : "", src.ops->name);

	start_ms = time_now_ms();
	for (;;) {
		struct hostinfo_metrics metrics;
		struct snapshot_meta meta = { 0 };
		int64_t mono0 = time_mono_ms(), total = (int64_t)o->duration * 1000, last_tick = mono0;
		int64_t elapsed = 0;

		err = snapshot_begin(snap);
		if (err) {
			rc = err;
			snprintf(errbuf, errlen, "snapshot: %s", strerror(-err));
			log_error("%s", errbuf);
			goto out;
		}
		hostinfo_metrics_begin(&metrics, "/proc");
		while (!*stop && (elapsed = time_mono_ms() - mono0) < total) {
			int64_t wait = total - elapsed;
			src.ops->wait(src.impl, (int)(wait < TICK_MS ? wait : TICK_MS));
			if (time_mono_ms() - last_tick >= 1000) {
				last_tick = time_mono_ms();
				hostinfo_metrics_tick(&metrics);
				source_peek(&src, snap);
			}
			progress_update(&prog, time_mono_ms() - mono0, total,
					src.ops->samples_so_far(src.impl));
		}
		progress_done(&prog);
		meta.end_ms = time_now_ms();
		meta.start_ms = start_ms;
		start_ms = meta.end_ms;
		err = src.ops->drain(src.impl, snapshot_add, snap, &meta.counts);
		if (err) {
			rc = err;
			snprintf(errbuf, errlen, "draining samples: %s", strerror(-err));
			log_error("%s", errbuf);
			goto out;
		}
		err = runtime_set_drain(&rts, snapshot_add_frames, snap, errbuf, errlen);
		if (err) {
			rc = err;
			log_error("%s", errbuf);
			goto out;
		}
		hostinfo_metrics_end(&metrics);
		meta.host = &host;
		meta.agent_version = FLEETPROF_VERSION;
		meta.run_arguments = o->run_arguments;
		meta.mode = src.ops->name;
		meta.frequency = o->frequency;
		meta.duration = o->duration;
		meta.cpu_avg = metrics.cpu_avg;
		meta.mem_avg = metrics.mem_avg;
		log_info("snapshot: %llu samples, %zu stacks, %llu lost, %llu stack collisions",
			 (unsigned long long)meta.counts.samples, col_agg_size(snapshot_stacks(snap)),
			 (unsigned long long)meta.counts.lost,
			 (unsigned long long)meta.counts.collisions);
		{
			struct sym_stats ss;
			sym_get_stats(sym, &ss);
			log_debug("symbolizer: %zu files, %zu KiB cached, %zu processes, %llu lookups, "
				  "%llu misses, %llu evictions", ss.files_cached, ss.bytes_cached / 1024,
				  ss.processes, (unsigned long long)ss.lookups,
				  (unsigned long long)ss.misses, (unsigned long long)ss.evictions);
		}
		err = write_profile(o, snap, &meta);
		if (err) {
			/* one lost snapshot must not end continuous profiling: go on, report it at the end */
			sink_err = err;
			snprintf(errbuf, errlen, "writing the profile: %s", strerror(-err));
			if (!o->continuous)
				break;
			log_error("snapshot could not be written (%s); profiling goes on", strerror(-err));
		}
		if (!o->continuous || *stop)
			break;
	}
	rc = sink_err;
	if (!rc)
		errbuf[0] = '\0';
out:
	sample_source_close(&src);
	runtime_set_stop(&rts);
	snapshot_free(snap);
	sym_free(sym);
	return rc;
}

