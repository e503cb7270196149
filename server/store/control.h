/* control.h — the control store's door: hosts and their heartbeats, profiling requests and the
 * commands they create, the service list. One interface, struct control_ops; its members live
 * in their own folders (sqlite/ today) and are chosen when the store is opened (store.h).
 *
 * Conventions, for every member:
 * - int results are 0 or -errno: -ENOENT not found, -EINVAL bad argument, -EIO storage error;
 * - strings passed in are borrowed for the call;
 * - results are C structs. Lists come as rows handed to a visitor; a row's pointers are valid
 *   only during that call, and the visitor must not call back into the store. A non-zero
 *   return from the visitor stops the visit and is returned. The caller builds any JSON;
 * - combined_config and request configs are JSON object texts the store keeps as they are;
 * - times are seconds since the epoch (UTC); 0 means "not yet" / unknown;
 * - every op may be called from any thread.
 *
 * A host is a (service_name, hostname) pair: the same hostname under two services is two hosts,
 * and a command reaches a heartbeat only when both match.
 */
#ifndef FP_STORE_CONTROL_H
#define FP_STORE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CTL_MAX_IDS     1000    /* most received/executed ids looked at per heartbeat */
#define CTL_MAX_TARGETS 10000   /* most hosts one request creates commands for */
#define CTL_MAX_HOSTS   100000  /* most hosts one host_status visit lists */
#define CTL_MAX_LIST    1000    /* most commands one list_commands call visits */
#define CTL_ID_LEN      36      /* a UUID as text */
#define CTL_NAME_MAX    256     /* service and host names */

struct control;

/* ---- heartbeats ---- */

struct ctl_heartbeat {
	const char *hostname;        /* required */
	const char *service_name;    /* required */
	const char *ip_address;      /* may be NULL */
	const char *agent_version;   /* may be NULL */
	const char *status;          /* the agent's own status string, may be NULL */
	const char *last_command_id; /* may be NULL */
	const char *const *received_ids; size_t n_received;   /* at most CTL_MAX_IDS are read */
	const char *const *executed_ids; size_t n_executed;
	int64_t now;
};

/* The command a heartbeat answers with. */
struct ctl_command {
	char command_id[CTL_ID_LEN + 1];  /* "" when there is none */
	char command_type[8];             /* "start" or "stop" */
	char *config;                     /* combined_config (JSON object text), malloc'd: the
					   * caller frees it (ctl_command_release); NULL when none */
};

static inline void ctl_command_release(struct ctl_command *c)
{
	if (c) {
		free(c->config);
		c->config = NULL;
		c->command_id[0] = '\0';
	}
}

/* A host as host_status shows it, with the command a heartbeat would deliver (else its newest). */
struct ctl_host {
	const char *hostname, *service_name;
	const char *ip_address, *agent_version;      /* NULL when never sent */
	int64_t last_seen;
	const char *command_id, *command_type;       /* NULL when the host never had a command */
	const char *command_status;                  /* pending | sent | completed | failed */
};
typedef int (*ctl_host_fn)(void *ctx, const struct ctl_host *h);

/* ---- requests and commands ---- */

enum ctl_req_type { CTL_REQ_START = 0, CTL_REQ_STOP = 1 };
enum ctl_cmd_status { CTL_CMD_COMPLETED = 0, CTL_CMD_FAILED = 1 };

struct ctl_target {
	const char *hostname;     /* required */
	const char *config;       /* this host's combined_config (JSON object text), required */
};

struct ctl_request {
	const char *service_name;          /* required */
	enum ctl_req_type type;
	const char *config;                /* the request as asked, JSON text (kept for the record) */
	const struct ctl_target *targets;  /* the hosts; none (n_targets 0): every host of the */
	size_t n_targets;                  /* service heard from within recent_window seconds */
	const char *host_config;           /* of now, each given host_config */
	int64_t now;
	int64_t recent_window;
};

/* What create_request made. */
struct ctl_created {
	char request_id[CTL_ID_LEN + 1];
	size_t n;                                  /* commands: one per distinct host */
	char (*command_ids)[CTL_ID_LEN + 1];       /* n ids in hostname order; malloc'd, freed by
						    * ctl_created_release */
};

static inline void ctl_created_release(struct ctl_created *c)
{
	if (c) {
		free(c->command_ids);
		c->command_ids = NULL;
		c->n = 0;
	}
}

struct ctl_request_info {
	char request_id[CTL_ID_LEN + 1];
	char service_name[CTL_NAME_MAX + 1];
	char request_type[8];
	char status[12];          /* derived from its commands, see create_request */
	int64_t created_at;
	size_t n_commands;
};

/* One command of the history. */
struct ctl_cmd_row {
	const char *command_id, *request_id, *hostname, *service_name, *command_type;
	const char *status, *request_status;
	const char *config;                          /* combined_config text */
	int64_t created_at, sent_at, completed_at;   /* 0: not yet */
	double execution_time;                       /* NaN when not reported */
	const char *error_message, *results_path;    /* NULL when none */
};
typedef int (*ctl_cmd_fn)(void *ctx, const struct ctl_cmd_row *c);

/* A service with hosts. */
struct ctl_service {
	const char *service_name;
	int64_t hosts;
	int64_t last_seen;        /* the newest heartbeat of its hosts */
};
typedef int (*ctl_service_fn)(void *ctx, const struct ctl_service *s);

/* ---- the interface ---- */

struct control_ops {
	const char *name;

	/* Record the heartbeat (the host's ip, version, status, last_seen = now), mark the host's
	 * commands named in executed_ids completed (unless already completed or failed) and those
	 * in received_ids that are pending sent; then answer the host's current command in *out
	 * (marking it sent if it was pending): the oldest pending one, else the newest sent one
	 * (re-delivered until it is completed, failed or executed). Only this host's commands are
	 * touched. */
	int (*heartbeat)(struct control *c, const struct ctl_heartbeat *hb, struct ctl_command *out);

	/* Hosts ordered by (service_name, hostname), filters may be NULL. */
	int (*host_status)(struct control *c, const char *service, const char *hostname,
			   ctl_host_fn fn, void *ctx);

	/* Create a request and one command per target host (duplicate hostnames count once, the
	 * first one's config kept). Supersede rules, per host: a new command marks the host's
	 * older pending commands failed with error_message "superseded by <new id>", except that
	 * a pending stop is kept when the new command is a start (a stop wins: it is delivered
	 * first, the start after it). -ENOENT when no target host can be found.
	 * A request's status follows its commands: "pending" while all are pending, "sent" while
	 * any is pending or sent (and one went further), then "completed" if every command
	 * completed, else "failed". */
	int (*create_request)(struct control *c, const struct ctl_request *r,
			      struct ctl_created *out);
	int (*get_request)(struct control *c, const char *request_id,
			   struct ctl_request_info *out);

	/* Record a completion. Idempotent: a command already completed or failed keeps its first
	 * report (0). -ENOENT unknown id; -EINVAL when hostname is not the command's host. */
	int (*complete_command)(struct control *c, const char *command_id, const char *hostname,
				enum ctl_cmd_status status, double execution_time,
				const char *error_message, const char *results_path, int64_t now);

	/* The command history, newest first, filters may be NULL; *total counts every match.
	 * limit is clamped to [1, CTL_MAX_LIST], offset to >= 0. */
	int (*list_commands)(struct control *c, const char *hostname, const char *service,
			     int64_t limit, int64_t offset, int64_t *total, ctl_cmd_fn fn,
			     void *ctx);

	/* Services that have hosts, by name. */
	int (*list_services)(struct control *c, ctl_service_fn fn, void *ctx);

	/* Delete completed and failed commands created before cutoff, and requests left with no
	 * command. 0 or -errno. */
	int (*delete_before)(struct control *c, int64_t cutoff);

	/* Release this door (a member serving both doors from one place closes it with the
	 * last one). */
	void (*close)(struct control *c);
};

/* Every member's handle starts with this. */
struct control {
	const struct control_ops *ops;
	int schema_version;       /* the member's schema version, set at open */
};

#endif
