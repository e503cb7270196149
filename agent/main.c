/* main.c — fleetprof-agent: samples every process's stacks (BPF, or perf_event_open as the
 * fallback), symbolizes them in-process and writes collapsed profiles with a JSON header and
 * HTML flame graphs. One-shot by default; -c for a snapshot every duration until a signal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "options.h"
#include "sampler.h"
#include "perfev.h"
#include "snapshot.h"
#include "symbolizer.h"
#include "output.h"
#include "hostinfo.h"
#include "progress.h"
#include "buf.h"
#include "log.h"
#include "timeutil.h"

#define TICK_MS            200
#define PROFILE_MAX_BYTES  (512u * 1024u * 1024u)
#define LOG_FILE_MAX       (10u * 1024u * 1024u)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct source {
	struct sampler *bpf;
	struct perfev *pe;
	const char *mode;   /* "bpf", "perf", "disabled" */
};

static int source_open(struct source *src, const struct options *o, const pid_t *pids,
		       size_t npids)
{
	struct sampler_config cfg = {
		.frequency = o->frequency,
		.duration = o->duration,
		.pids = pids,
		.npids = npids,
		.self_pid = getpid(),
		.include_idle = o->include_idle,
	};
	memset(src, 0, sizeof(*src));
	if (o->perf_mode == PERF_MODE_DISABLED) {
		src->mode = "disabled";
		log_info("native sampling disabled (--perf-mode disabled)");
		return 0;
	}
	if (o->perf_mode == PERF_MODE_AUTO || o->perf_mode == PERF_MODE_BPF) {
		src->bpf = sampler_new(&cfg);
		if (src->bpf) {
			src->mode = "bpf";
			return 0;
		}
		if (o->perf_mode == PERF_MODE_BPF) {
			log_error("BPF sampler cannot load: %s", strerror(errno));
			return -errno;
		}
		log_warn("BPF sampler cannot load (%s); falling back to perf_event_open", strerror(errno));
	}
	src->pe = perfev_new(&cfg);
	if (!src->pe) {
		int rc = -errno;
		log_error("perf_event_open sampler cannot start: %s", strerror(errno));
		return rc;
	}
	src->mode = "perf";
	return 0;
}

static void source_close(struct source *src)
{
	sampler_free(src->bpf);
	perfev_free(src->pe);
}

/* Wait up to ms, reading ring buffers meanwhile in perf mode. */
static void source_wait(struct source *src, int64_t ms)
{
	if (ms <= 0)
		return;
	if (src->pe) {
		perfev_poll(src->pe, (int)ms);
	} else {
		struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
		nanosleep(&ts, NULL); /* a signal cuts it short */
	}
}

static uint64_t source_samples(struct source *src)
{
	if (src->bpf)
		return sampler_samples_so_far(src->bpf);
	if (src->pe)
		return perfev_samples_so_far(src->pe);
	return 0;
}

/* Name what the running snapshot has seen so far, while its processes live. */
static void source_peek(struct source *src, struct snapshot *snap)
{
	if (src->bpf)
		sampler_peek(src->bpf, snapshot_warm, snap);
	else if (src->pe)
		perfev_peek(src->pe, snapshot_warm, snap);
}

static int source_drain(struct source *src, struct snapshot *snap, struct sampler_counts *c)
{
	memset(c, 0, sizeof(*c));
	if (src->bpf)
		return sampler_drain(src->bpf, snapshot_add, snap, c);
	if (src->pe)
		return perfev_drain(src->pe, snapshot_add, snap, c);
	return 0;
}

/* Keep the PIDs that exist; report the others. */
static size_t valid_pids(const struct options *o, pid_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < o->npids; i++) {
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d", (int)o->pids[i]);
		if (stat(path, &st) != 0) {
			log_warn("--pids: process %d does not exist, skipped", (int)o->pids[i]);
			continue;
		}
		out[n++] = o->pids[i];
	}
	return n;
}

static int write_profile(const struct options *o, struct output *out, struct snapshot *snap,
			 const struct snapshot_meta *meta)
{
	struct buf text;
	int rc;
	buf_init(&text, PROFILE_MAX_BYTES);
	rc = snapshot_render(snap, meta, &text);
	if (rc) {
		log_error("rendering the profile: %s", strerror(-rc));
		goto out;
	}
	if (out) {
		rc = output_write(out, meta->end_ms / 1000, buf_cstr(&text), text.len);
	} else {
		if (fwrite(buf_cstr(&text), 1, text.len, stdout) != text.len || fflush(stdout))
			rc = -EIO;
	}
	(void)o;
out:
	buf_release(&text);
	return rc;
}

static int run(const struct options *o)
{
	pid_t pids[OPT_MAX_PIDS];
	size_t npids = 0;
	struct source src = { 0 };
	struct symbolizer *sym = NULL;
	struct snapshot *snap = NULL;
	struct output *out = NULL;
	struct hostinfo host;
	struct progress prog;
	struct snapshot_config scfg = { 0 };
	int rc = 1, err;
	int64_t start_ms;

	if (o->npids) {
		npids = valid_pids(o, pids);
		if (npids == 0) {
			log_error("--pids: none of the given processes exists; nothing to profile");
			return 1;
		}
	}
	hostinfo_read(&host, "/proc");
	sym = sym_new(NULL);
	if (!sym) {
		log_error("symbolizer: %s", strerror(errno));
		goto out;
	}
	scfg.namer = snapshot_namer_sym(sym);
	scfg.proc_root = "/proc";
	scfg.docker_root = "/var/lib/docker";
	snap = snapshot_new(&scfg);
	if (!snap) {
		log_error("snapshot: %s", strerror(errno));
		goto out;
	}
	if (o->output_dir) {
		out = output_new(o->output_dir, o->flamegraph, o->rotating_output);
		if (!out) {
			log_error("output directory %s: %s", o->output_dir, strerror(errno));
			goto out;
		}
	}
	if (source_open(&src, o, npids ? pids : NULL, npids))
		goto out;
	progress_init(&prog, stderr, o->progress && !o->continuous && !o->log_file);
	log_info("profiling %s at %u Hz, %u s per profile%s (%s)",
		 npids ? "selected processes" : "all processes", o->frequency, o->duration,
		 o->continuous ? ", continuously" : "", src.mode);

	start_ms = time_now_ms();
	for (;;) {
		struct hostinfo_metrics metrics;
		struct snapshot_meta meta = { 0 };
		int64_t mono0 = time_mono_ms(), total = (int64_t)o->duration * 1000, last_tick = mono0;
		int64_t elapsed = 0;

		err = snapshot_begin(snap);
		if (err) {
			log_error("snapshot: %s", strerror(-err));
			goto out;
		}
		hostinfo_metrics_begin(&metrics, "/proc");
		while (!stop_requested && (elapsed = time_mono_ms() - mono0) < total) {
			int64_t wait = total - elapsed;
			source_wait(&src, wait < TICK_MS ? wait : TICK_MS);
			if (time_mono_ms() - last_tick >= 1000) {
				last_tick = time_mono_ms();
				hostinfo_metrics_tick(&metrics);
				source_peek(&src, snap);
			}
			progress_update(&prog, time_mono_ms() - mono0, total, source_samples(&src));
		}
		progress_done(&prog);
		meta.end_ms = time_now_ms();
		meta.start_ms = start_ms;
		start_ms = meta.end_ms;
		err = source_drain(&src, snap, &meta.counts);
		if (err) {
			log_error("draining samples: %s", strerror(-err));
			goto out;
		}
		hostinfo_metrics_end(&metrics);
		meta.host = &host;
		meta.agent_version = FLEETPROF_VERSION;
		meta.run_arguments = o->run_arguments;
		meta.mode = src.mode;
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
		err = write_profile(o, out, snap, &meta);
		if (err)
			goto out;
		if (!o->continuous || stop_requested)
			break;
	}
	rc = 0;
out:
	source_close(&src);
	output_free(out);
	snapshot_free(snap);
	sym_free(sym);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct sigaction sa;
	int rc;

	switch (options_parse(&o, argc, argv, stdout, stderr)) {
	case OPT_EXIT_OK: return 0;
	case OPT_EXIT_USAGE: return 2;
	case OPT_RUN: break;
	}
	log_init("agent", o.verbose ? LOG_DEBUG : LOG_INFO);
	if (o.log_file && (rc = log_open_file(o.log_file, LOG_FILE_MAX)) != 0) {
		fprintf(stderr, "fleetprof-agent: cannot open log file %s: %s\n", o.log_file,
			strerror(-rc));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = run(&o);
	log_close();
	return rc;
}
