/* session.h — heartbeat-mode profiling sessions: fleet_session_ops over profiler_run, each
 * session in its own thread, created when a start command arrives and freed when it ends. */
#ifndef FP_SESSION_H
#define FP_SESSION_H

#include "fleet/fleet.h"
#include "options.h"

struct output;
struct uploader;

struct session_ctx {
	const struct options *opt;   /* perf mode, idle, run arguments */
	struct uploader *up;         /* every profile is uploaded */
	struct output *out;          /* NULL unless -o was given */
};

/* ops.ctx is ctx (borrowed; must outlive every session). */
struct fleet_session_ops session_ops(struct session_ctx *ctx);

#endif
