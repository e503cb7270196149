/* source.c — opening a registered sample source (sources.c), and the "disabled" one; see
 * source.h. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* ---- "disabled": no native sampling; the profiler still runs its runtimes and snapshots ---- */

static char disabled_token;

static void *none_open(const struct sample_config *cfg)
{
	(void)cfg;
	log_info("native sampling disabled (--perf-mode disabled)");
	return &disabled_token;
}

static void none_close(void *v)
{
	(void)v;
}

void sample_source_sleep(void *src, int ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	(void)src;
	nanosleep(&ts, NULL); /* a signal cuts it short */
}

static uint64_t none_samples(void *v)
{
	(void)v;
	return 0;
}

static int none_peek(void *v, sample_fn fn, void *ctx)
{
	(void)v, (void)fn, (void)ctx;
	return 0;
}

static int none_drain(void *v, sample_fn fn, void *ctx, struct sample_counts *out)
{
	(void)v, (void)fn, (void)ctx;
	memset(out, 0, sizeof(*out));
	return 0;
}

static size_t none_bytes(const void *v)
{
	(void)v;
	return 0;
}

static const struct sample_source_ops source_disabled = {
	.name = "disabled", .what = "no sampler", .open = none_open, .close = none_close,
	.wait = sample_source_sleep, .samples_so_far = none_samples, .peek = none_peek, .drain = none_drain,
	.map_bytes = none_bytes,
};

static const struct sample_source_ops *find(const char *name)
{
	if (!strcmp(name, source_disabled.name))
		return &source_disabled;
	for (size_t i = 0; sample_sources[i]; i++)
		if (!strcmp(sample_sources[i]->name, name))
			return sample_sources[i];
	return NULL;
}

static int try_open(struct sample_source *src, const struct sample_source_ops *ops,
		    const struct sample_config *cfg)
{
	src->impl = ops->open(cfg);
	if (!src->impl)
		return errno ? -errno : -EIO;
	src->ops = ops;
	return 0;
}

int sample_source_open(struct sample_source *src, const char *name,
		       const struct sample_config *cfg, char *err, size_t errlen)
{
	const struct sample_source_ops *ops = NULL;
	int rc = -ENOENT;

	memset(src, 0, sizeof(*src));
	if (name) {
		ops = find(name);
		if (!ops) {
			snprintf(err, errlen, "no sample source called '%s'", name);
			goto out;
		}
		rc = try_open(src, ops, cfg);
		goto out;
	}
	for (size_t i = 0; sample_sources[i]; i++) {
		ops = sample_sources[i];
		rc = try_open(src, ops, cfg);
		if (rc == 0 || !sample_sources[i + 1])
			break;
		log_warn("%s cannot start (%s); falling back to the %s", ops->what, strerror(-rc),
			 sample_sources[i + 1]->what);
	}
out:
	if (rc && ops)
		snprintf(err, errlen, "%s cannot start: %s", ops->what, strerror(-rc));
	if (rc)
		log_error("%s", err);
	return rc;
}

void sample_source_close(struct sample_source *src)
{
	if (src->ops)
		src->ops->close(src->impl);
	memset(src, 0, sizeof(*src));
}
