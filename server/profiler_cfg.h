/* profiler_cfg.h — the profiler settings a profiling request may carry to gProfiler's agent
 * (additional_args.profiler_configs), checked against the values the agent knows
 * (gprofiler/dynamic_profiling_management: _apply_profiler_configs) and Performance Studio's
 * own check (validate_async_profiler_config). An unknown value is refused when the request is
 * made instead of failing the command on every host later. Settings this list does not know are
 * passed on as they are. Pure: no I/O. */
#ifndef FP_PROFILER_CFG_H
#define FP_PROFILER_CFG_H

#include <stddef.h>
#include <jansson.h>

/* 0 when additional_args (an object, may be NULL) carries no profiler setting the agent would
 * refuse; else -EINVAL with err naming the field ("field 'additional_args.profiler_configs.
 * async_profiler.time' must be one of ..."). */
int pcfg_check(json_t *additional_args, char *err, size_t errlen);

#endif
