/* session.c — see session.h. */
#include "session.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "profiler.h"

struct session {
	pthread_t thread;
	volatile sig_atomic_t stop;
	atomic_int finished;
	int rc;
	char err[256];
	struct profiler_cfg cfg;
	pid_t pids[HB_MAX_PIDS];
};

static void *session_main(void *arg)
{
	struct session *s = arg;
	s->rc = profiler_run(&s->cfg, &s->stop, s->err, sizeof(s->err));
	atomic_store(&s->finished, 1);
	return NULL;
}

static void *s_begin(void *vctx, const struct hb_command *c, char *err, size_t errlen)
{
	struct session_ctx *ctx = vctx;
	struct session *s;
	int rc;

	if (c->profiling_mode[0] && strcmp(c->profiling_mode, "cpu") != 0) {
		snprintf(err, errlen, "profiling_mode '%s' is not supported by this agent (cpu only)",
			 c->profiling_mode);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (c->n_pids) {
		s->cfg.npids = profiler_valid_pids(c->pids, c->n_pids, s->pids);
		if (!s->cfg.npids) {
			snprintf(err, errlen, "none of the %zu requested processes exists on this host",
				 c->n_pids);
			free(s);
			return NULL;
		}
		s->cfg.pids = s->pids;
	}
	s->cfg.duration = (unsigned)(c->duration > OPT_MAX_DURATION ? OPT_MAX_DURATION : c->duration);
	s->cfg.frequency = (unsigned)(c->frequency > OPT_MAX_FREQUENCY ? OPT_MAX_FREQUENCY : c->frequency);
	s->cfg.continuous = c->continuous;
	s->cfg.perf_mode = ctx->opt->perf_mode;
	s->cfg.include_idle = ctx->opt->include_idle;
	s->cfg.run_arguments = ctx->opt->run_arguments;
	s->cfg.min_age_s = ctx->opt->min_profiling_duration;
	s->cfg.max_processes = ctx->opt->max_processes_runtime;
	s->cfg.runtime_flags = &ctx->opt->runtime;
	s->cfg.out = ctx->out;
	s->cfg.up = ctx->up;
	atomic_init(&s->finished, 0);
	rc = pthread_create(&s->thread, NULL, session_main, s);
	if (rc) {
		snprintf(err, errlen, "cannot start the profiling thread: %s", strerror(rc));
		free(s);
		return NULL;
	}
	return s;
}

static void s_request_stop(void *ctx, void *sess)
{
	(void)ctx;
	((struct session *)sess)->stop = 1;
}

static int s_done(void *ctx, void *sess)
{
	(void)ctx;
	return atomic_load(&((struct session *)sess)->finished);
}

static int s_end(void *ctx, void *sess, char *err, size_t errlen)
{
	struct session *s = sess;
	int rc;
	(void)ctx;
	pthread_join(s->thread, NULL);
	rc = s->rc;
	if (rc)
		snprintf(err, errlen, "%s", s->err[0] ? s->err : strerror(-rc));
	free(s);
	/* the session thread's malloc arena keeps what the symbolizer freed: give it back, so an
	 * idle agent is as small after a run as before it */
	malloc_trim(0);
	return rc;
}

struct fleet_session_ops session_ops(struct session_ctx *ctx)
{
	return (struct fleet_session_ops){ s_begin, s_request_stop, s_done, s_end, ctx };
}
