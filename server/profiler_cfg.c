/* profiler_cfg.c — see profiler_cfg.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "profiler_cfg.h"
#include "util.h"

#define PREFIX "additional_args.profiler_configs."

static const char *const perf_modes[] = { "enabled_restricted", "enabled_aggressive", "disabled",
					  NULL };
static const char *const on_off[] = { "enabled", "disabled", NULL };
static const char *const pyspy_modes[] = { "enabled_fallback", "enabled", "disabled", NULL };
static const char *const ap_modes[] = { "cpu", "itimer", "wall", "auto", "alloc", NULL };
static const char *const ap_shorthands[] = { "enabled", "disabled", "enabled_wall",
					     "enabled_alloc", NULL };

/* Settings that are one of a few strings. */
static const struct {
	const char *key;
	const char *const *values;
} simple[] = {
	{ "pyperf", on_off },
	{ "pyspy", pyspy_modes },
	{ "phpspy", on_off },
	{ "rbspy", on_off },
	{ "dotnet_trace", on_off },
	{ "nodejs_perf", on_off },
};

static bool one_of(json_t *v, const char *const *values)
{
	if (!json_is_string(v))
		return false;
	for (size_t i = 0; values[i]; i++)
		if (!strcmp(json_string_value(v), values[i]))
			return true;
	return false;
}

static int bad_value(char *err, size_t n, const char *field, const char *const *values)
{
	int w = snprintf(err, n, "field '" PREFIX "%s' must be one of", field);

	for (size_t i = 0; values[i] && w > 0 && (size_t)w < n; i++)
		w += snprintf(err + w, n - (size_t)w, "%s %s", i ? "," : "", values[i]);
	return -EINVAL;
}

/* A size as async-profiler's alloc_interval takes it: a number and a byte unit ("2MB",
 * "512KiB", "1.5 GB"). */
static bool is_size(const char *s)
{
	const char *p = s;
	size_t digits = strspn(p, "0123456789");

	if (!digits)
		return false;
	p += digits;
	if (*p == '.') {
		digits = strspn(++p, "0123456789");
		if (!digits)
			return false;
		p += digits;
	}
	if (*p == ' ')
		p++;
	if (*p && strchr("kKMGTPE", *p))
		p++;
	if (*p == 'i')
		p++;
	return p[0] == 'B' && p[1] == '\0';
}

static int check_perf(json_t *v, char *err, size_t n)
{
	json_t *ev, *e;
	size_t i;

	if (!json_is_object(v))
		return one_of(v, perf_modes) ? 0 : bad_value(err, n, "perf", perf_modes);
	if (json_object_get(v, "mode") && !one_of(json_object_get(v, "mode"), perf_modes))
		return bad_value(err, n, "perf.mode", perf_modes);
	ev = json_object_get(v, "events");
	if (!ev || json_is_null(ev) || json_is_string(ev))
		return 0;
	json_array_foreach(ev, i, e)
		if (!json_is_string(e))
			break;
	if (json_is_array(ev) && i == json_array_size(ev))
		return 0;
	snprintf(err, n, "field '" PREFIX "perf.events' must be an event name or a list of them");
	return -EINVAL;
}

static int check_async_profiler(json_t *v, char *err, size_t n)
{
	json_t *time, *interval, *enabled;

	if (!json_is_object(v))
		return one_of(v, ap_shorthands) ? 0
						: bad_value(err, n, "async_profiler", ap_shorthands);
	enabled = json_object_get(v, "enabled");
	if (enabled && !json_is_boolean(enabled)) {
		snprintf(err, n, "field '" PREFIX "async_profiler.enabled' must be true or false");
		return -EINVAL;
	}
	if (json_is_false(enabled))
		return 0;
	time = json_object_get(v, "time");
	if (time && !one_of(time, ap_modes))
		return bad_value(err, n, "async_profiler.time", ap_modes);
	if (!time || strcmp(json_string_value(time), "alloc") != 0)
		return 0;
	interval = json_object_get(v, "alloc_interval");
	if (json_is_string(interval) && is_size(json_string_value(interval)))
		return 0;
	snprintf(err, n, "field '" PREFIX "async_profiler.alloc_interval' must be a size such as "
		 "'2MB' or '512KiB' when time is 'alloc'");
	return -EINVAL;
}

int pcfg_check(json_t *additional_args, char *err, size_t n)
{
	json_t *cfg = json_object_get(additional_args, "profiler_configs"), *v;

	if (!cfg || json_is_null(cfg))
		return 0;
	if (!json_is_object(cfg)) {
		snprintf(err, n, "field 'additional_args.profiler_configs' must be an object");
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
		v = json_object_get(cfg, simple[i].key);
		if (v && !json_is_null(v) && !one_of(v, simple[i].values))
			return bad_value(err, n, simple[i].key, simple[i].values);
	}
	v = json_object_get(cfg, "perf");
	if (v && !json_is_null(v) && check_perf(v, err, n))
		return -EINVAL;
	v = json_object_get(cfg, "async_profiler");
	if (v && !json_is_null(v) && check_async_profiler(v, err, n))
		return -EINVAL;
	return 0;
}
