/* store.h — everything the server keeps: hosts, profiling requests and commands, profiles
 * (interned stacks + time-bucketed samples), metrics. SQLite (WAL) behind this interface; nothing
 * outside store*.c sees SQL. Thread-safe: every function may be called from any HTTP worker.
 *
 * Conventions: int functions return 0 or -errno (-ENOENT not found, -EINVAL bad argument,
 * -EIO database error, -EEXIST conflict). json_t results are new references owned by the caller.
 * Strings passed in are borrowed for the call. Times are seconds since the epoch (UTC).
 */
#ifndef FP_STORE_H
#define FP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "collapsed.h"

struct store;

#define STORE_MAX_IDS 1000   /* most received/executed ids looked at per heartbeat */

/* Open (creating if needed) the database at path, enable WAL, apply schema/ migrations found in
 * schema_dir (files NNN_name.sql, in order, each in a transaction, version recorded). A database
 * whose version is newer than the newest migration is refused: NULL with errno=EPROTO and a
 * logged message saying which versions. NULL with errno set on other failures. */
struct store *store_open(const char *path, const char *schema_dir);
/* Checkpoint the WAL (TRUNCATE) and close. NULL is a no-op. */
void store_close(struct store *s);
int store_schema_version(struct store *s);

/* ---- hosts and heartbeats ---- */

struct store_heartbeat {
	const char *hostname;        /* required */
	const char *service_name;    /* required */
	const char *ip_address;      /* may be NULL */
	const char *agent_version;   /* may be NULL */
	const char *status;          /* agent's own status string, may be NULL */
	const char *last_command_id; /* may be NULL */
	const char *const *received_ids; size_t n_received;
	const char *const *executed_ids; size_t n_executed;
	int64_t now;
};

/* What the heartbeat answers: the host's current command, if any. */
struct store_command {
	char command_id[40];        /* UUID text, "" when there is none */
	char command_type[8];       /* "start" or "stop" */
	json_t *combined_config;    /* owned by the caller (json_decref), NULL when none */
};

/* Hosts are keyed by hostname alone: a host belongs to the service it last heartbeated with.
 * Record the heartbeat (upsert host: service, ip, version, last_seen=now), mark ids in
 * executed_ids completed (if not already completed/failed), and return the host's current
 * command in *out, marking it sent if it was pending. Current command: the oldest pending one;
 * else the newest sent one (re-delivered until completed, failed or executed).
 * received_ids of this host's pending commands are marked sent. Only the host's own commands are
 * touched by either list. */
int store_heartbeat(struct store *s, const struct store_heartbeat *hb, struct store_command *out);
void store_command_release(struct store_command *c);

/* host_status: {hosts: [{hostname, service_name, ip_address, agent_version, last_heartbeat (ISO),
 * status: "active"|"offline", command_id, command_type, command_status}], active_count,
 * total_count}. Filters may be NULL. Active = heard within active_window seconds of now. */
json_t *store_host_status(struct store *s, const char *service, const char *hostname, int64_t now,
			  int64_t active_window);

/* ---- profiling requests and commands ---- */

enum store_req_type { STORE_REQ_START = 0, STORE_REQ_STOP = 1 };

struct store_target {
	const char *hostname;
	const int64_t *pids;   /* NULL/0 = all processes */
	size_t n_pids;
};

struct store_request {
	const char *service_name;          /* required */
	enum store_req_type type;
	bool continuous;
	int64_t duration;                  /* seconds */
	int64_t frequency;                 /* Hz */
	const char *profiling_mode;        /* "cpu", "allocation", "none" ... */
	const char *stop_level;            /* "process" | "host", stops only; may be NULL */
	json_t *extra_config;              /* borrowed, may be NULL: other combined_config keys */
	const struct store_target *targets;/* NULL/0 targets = every host of the service heard from
					    * within recent_window seconds of now */
	size_t n_targets;
	int64_t now;
	int64_t recent_window;
};

/* Create a request (UUID) and one command (UUID) per target host, with combined_config
 * {duration, frequency, profiling_mode, continuous, pids, ...extra} for a start and
 * {stop_level, pids, ...extra} for a stop (stop_level defaults to "process" with pids, else
 * "host"); pids is omitted when the target has none; extra keys never override these.
 * Duplicate target hostnames count once (the first one's pids). Supersede rules, per host:
 * a new command marks the host's older *pending* commands failed with error_message
 * "superseded by <id>" — except that a pending stop is kept when the new command is a start
 * (a stop wins: it is delivered first, the start after it).
 * Result: {success, message, request_id, status: "pending", command_ids[]} (new reference).
 * -ENOENT when no target host can be found (no hosts given and none heard from recently).
 *
 * A request's status follows its commands: "pending" while all are pending, "sent" while any is
 * pending or sent (and one went further), then "completed" if every command completed, else
 * "failed". */
int store_create_request(struct store *s, const struct store_request *r, json_t **result);

/* {request_id, service_name, request_type, created_at, status, command_ids[]}, new reference;
 * NULL with errno ENOENT (unknown id) or EIO. */
json_t *store_get_request(struct store *s, const char *request_id);

enum store_cmd_status { STORE_CMD_COMPLETED = 0, STORE_CMD_FAILED = 1 };

/* Record completion. Idempotent: a repeat of the same terminal report is 0 and changes nothing;
 * a command already terminal keeps its first report. -ENOENT unknown id; -EINVAL hostname does
 * not match the command's host. */
int store_complete_command(struct store *s, const char *command_id, const char *hostname,
			   enum store_cmd_status status, double execution_time,
			   const char *error_message, const char *results_path, int64_t now);

/* Commands history, newest first: {commands: [{command_id, request_id, hostname, service_name,
 * command_type, status, request_status, combined_config, created_at, sent_at, completed_at,
 * execution_time, error_message, results_path}], total, limit, offset}. Filters may be NULL.
 * limit <= 0 means 100; at most 1000. */
json_t *store_list_commands(struct store *s, const char *hostname, const char *service,
			    int64_t limit, int64_t offset);

/* Services: {services: [{service_name, hosts, last_seen, last_profile}]}. */
json_t *store_list_services(struct store *s);

/* ---- profiles ---- */

struct store_profile {
	const char *service_name;   /* required */
	const char *hostname;       /* required */
	int64_t start_time, end_time; /* the profile's span; samples are bucketed at start_time */
	double cpu_avg, mem_avg;    /* NaN when unknown */
	const char *header_json;    /* the profile's "# {...}" header, may be NULL */
	const char *text; size_t text_len; /* collapsed text (header line included or not) */
	int64_t gpid;               /* the agent's gpid, 0 when it has none yet */
};

#define STORE_MAX_PROFILE_STACKS 200000u   /* distinct stacks in one profile */
#define STORE_MAX_PROFILE_LINES  2000000u  /* lines in one profile (duplicates are merged) */

/* Parse the collapsed text (duplicate lines merged; more than STORE_MAX_PROFILE_STACKS distinct
 * stacks or STORE_MAX_PROFILE_LINES lines is -EINVAL), intern stacks and frames, add samples to
 * the time buckets, record metrics. All or nothing (one transaction). *gpid_out gets the gpid to answer (the agent's, or a
 * new one). -EINVAL with err filled for a malformed profile. */
int store_ingest_profile(struct store *s, const struct store_profile *p, int64_t *gpid_out,
			 struct col_error *err);

struct store_query {
	const char *service;     /* required */
	int64_t start, end;      /* [start, end) seconds */
	const char *hostname;    /* NULL = all */
	const char *container;   /* NULL = all */
};

/* Visit the merged (stack, count) pairs for the query: one call per distinct stack, counts summed
 * over hosts, containers and buckets, in no particular order. Stacks are "comm;frame;...;leaf"
 * (the container is not in the stack). Bounded by max_stacks: -E2BIG when more distinct stacks
 * match (fn not called then). Time resolution is one minute: the query covers every minute
 * bucket overlapping [start, end), i.e. [floor(start, 60 s), ceil(end, 60 s)); a profile counts
 * in the minute of its start_time. fn must not call back into the store; a non-zero return from
 * fn stops the visit and is returned. Unknown service/host/container: 0 and no calls. */
int store_query_stacks(struct store *s, const struct store_query *q, size_t max_stacks,
		       col_stack_fn fn, void *ctx);

#define STORE_MAX_CONTAINERS 100000u

/* Containers that have samples for the query (service, range, optional hostname; the container
 * filter is ignored): {containers: [{name, samples}]}, in no particular order; the name "" is
 * "no container". NULL with errno set on failure (EIO also past STORE_MAX_CONTAINERS). */
json_t *store_list_containers(struct store *s, const struct store_query *q);

/* Metrics over time: {metrics: [{hostname, time (ISO), cpu_avg, mem_avg}]} in time order, one per
 * upload whose start_time lies in the same minute-rounded range as store_query_stacks. Unknown
 * values are null. The container filter does not apply (metrics are per host). */
json_t *store_query_metrics(struct store *s, const struct store_query *q);

/* The WAL bound: a PASSIVE checkpoint runs every second without blocking anyone, but under
 * sustained writes it never lets the WAL restart, so past `bytes` (default 64 MiB) the background
 * thread takes the write lock for a TRUNCATE checkpoint. */
void store_set_wal_limit(struct store *s, size_t bytes);

/* ---- retention ---- */

/* Delete samples and metrics older than cutoff (and stacks/frames no longer used), in batches that
 * hold the write lock briefly. The cutoff is rounded down to a whole hour (the hour rollups cannot
 * be split). Also deletes completed/failed commands created before cutoff and requests left with
 * no command. Returns the number of full-resolution sample rows (per host, per minute) deleted,
 * or -errno. */
int64_t store_delete_before(struct store *s, int64_t cutoff);

#endif
