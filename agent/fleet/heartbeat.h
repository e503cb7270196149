/* heartbeat.h — the agent's side of POST /api/metrics/heartbeat and /api/metrics/command_completion:
 * request bodies and response parsing (gProfiler's shapes). Pure functions: no I/O here.
 */
#ifndef FP_HEARTBEAT_H
#define FP_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "cmdstate.h"

#define HB_MAX_PIDS 1024

struct hb_identity {
	const char *hostname;
	const char *ip_address;
	const char *service_name;
	const char *agent_version;
};

enum hb_cmd_type { HB_CMD_START = 0, HB_CMD_STOP = 1 };

struct hb_command {
	char id[CMDSTATE_ID_MAX + 1];
	enum hb_cmd_type type;
	int64_t duration;          /* seconds; 0 = not given (use the agent's default) */
	int64_t frequency;         /* Hz; 0 = not given */
	bool continuous;
	char profiling_mode[32];   /* "cpu" when not given */
	char stop_level[16];       /* "process" | "host" | "" */
	pid_t pids[HB_MAX_PIDS];   /* empty = every process */
	size_t n_pids;
	bool for_this_host;        /* false when target_hostnames is given and leaves us out */
};

/* The heartbeat body: {ip_address, hostname, service_name, agent_version, last_command_id, status:
 * "active", timestamp (ISO, UTC), received_command_ids[], executed_command_ids[]}. Appends to out.
 * 0 or -ENOSPC/-ENOMEM. */
int hb_build_heartbeat(const struct hb_identity *id, const char *last_command_id,
		       const char *const *received, size_t n_received,
		       const char *const *executed, size_t n_executed, int64_t now,
		       struct buf *out) __attribute__((warn_unused_result));

/* Parse the heartbeat answer {success, message, profiling_command: {command_type,
 * combined_config: {...}} | null, command_id}. Returns 1 with *cmd filled when there is a command,
 * 0 when there is none, -EINVAL with err filled when the answer is malformed (unknown command_type,
 * bad id, wrong types, out-of-range duration/frequency, too many pids). my_hostname decides
 * for_this_host. */
int hb_parse_response(const char *body, size_t len, const char *my_hostname,
		      struct hb_command *cmd, char *err, size_t errlen);

/* The completion body: {command_id, hostname, status: "completed"|"failed", execution_time,
 * error_message (null when none), results_path (null when none)}. */
int hb_build_completion(const char *command_id, const char *hostname, bool ok,
			double execution_time, const char *error_message, const char *results_path,
			struct buf *out) __attribute__((warn_unused_result));

#endif
