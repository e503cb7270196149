/* fleet.h — heartbeat mode: poll the server, run the commands it hands out, report completions.
 *
 * Priorities (as gProfiler's heartbeat agents): stop > ad-hoc > continuous.
 * - stop: ends the running session (its last snapshot is flushed), drops queued ad-hoc commands
 *   (reported failed, "cancelled by stop ..."), ends a paused continuous one (reported completed),
 *   then reports the stop completed.
 * - ad-hoc start (continuous=false): one run of `duration`. It pauses a running continuous session
 *   (resumed afterwards) and queues behind a running ad-hoc one (at most FLEET_MAX_ADHOC queued;
 *   more are reported failed).
 * - continuous start: snapshots every `duration` until stopped; replaces the previous continuous
 *   command (which is reported completed).
 * - A command is reported once it has really finished: its profiles uploaded or spooled.
 *
 * Idempotency: every id is persisted (cmdstate) as received, then as executed BEFORE the agent
 * acts on it, and as reported once the server accepted the completion. An id already executed is
 * never run again, across restarts and kill -9. Reports owed from before a restart are sent as
 * failed ("agent restarted while the command was in progress").
 *
 * Deferred initialization: nothing of the profiler exists until a start arrives (ops.begin), and
 * all of it is freed after the session ends (ops.end).
 */
#ifndef FP_FLEET_H
#define FP_FLEET_H

#include <signal.h>
#include <stdint.h>

#include "heartbeat.h"
#include "uploader.h"

#define FLEET_MAX_ADHOC 10
#define FLEET_MAX_OWED_REPORTS 100

struct fleet_session_ops {
	/* Start profiling as cmd says (defaults already applied). NULL with err on failure. */
	void *(*begin)(void *ctx, const struct hb_command *cmd, char *err, size_t errlen);
	/* Ask the session to stop; it flushes its last snapshot. Must not block long. */
	void (*request_stop)(void *ctx, void *sess);
	/* 1 once the session has finished (by itself or after request_stop), else 0. */
	int (*done)(void *ctx, void *sess);
	/* Join and free everything. 0 when every snapshot reached the uploader (sent or spooled),
	 * -errno with err filled otherwise. */
	int (*end)(void *ctx, void *sess, char *err, size_t errlen);
	void *ctx;
};

struct fleet_cfg {
	const char *api_server;        /* "http(s)://host[:port]" */
	const char *token;             /* Authorization: Bearer */
	struct hb_identity id;
	const char *state_dir;         /* commands.state lives here (must exist) */
	int64_t heartbeat_interval_ms; /* 0 = 30 s */
	int64_t default_duration;      /* for commands that do not say; seconds */
	int64_t default_frequency;     /* Hz */
	const struct httpc_transport *transport;   /* NULL = libcurl with http */
	struct httpc_opts http;
	struct fleet_session_ops ops;
};

struct fleet;

/* Strings in cfg are copied. NULL with errno set (and a logged reason) on failure. */
struct fleet *fleet_new(const struct fleet_cfg *cfg);
/* Ends a running session (ops.request_stop + ops.end) and frees. NULL is a no-op. */
void fleet_free(struct fleet *f);

/* One step of the loop at monotonic time now_ms: reap a finished session and report it, start
 * what is next, send a heartbeat when one is due (or `force`), act on its command, resend owed
 * reports. Returns 0, or -errno for a failure worth logging (the loop goes on). */
int fleet_tick(struct fleet *f, int64_t now_ms, int force_heartbeat);

/* The loop: fleet_tick about every 200 ms until *stop becomes non-zero. */
int fleet_run(struct fleet *f, volatile sig_atomic_t *stop);

struct fleet_stats {
	uint64_t heartbeats_ok, heartbeats_failed, commands_run, commands_skipped, reports_sent;
	int session_running;           /* 1 while a session exists */
	int running_continuous;        /* 1 when that session is a continuous command */
	char running_id[CMDSTATE_ID_MAX + 1];
	size_t adhoc_queued, owed_reports;
};
void fleet_get_stats(const struct fleet *f, struct fleet_stats *out);

#endif
