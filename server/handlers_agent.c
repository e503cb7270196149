/* handlers_agent.c — the agent API: health check, heartbeat, command completion, profile upload.
 * Shapes follow gProfiler's agent (client.py, heartbeat.py); see DESIGN.md "Wire protocol".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "handlers.h"
#include "jsonstr.h"
#include "jsonv.h"
#include "log.h"
#include "store/control.h"
#include "store/samples.h"
#include "upload.h"

#define NAME_MAX_LEN   256
#define ID_MAX_LEN     64
#define TEXT_MAX_LEN   4096
#define IDS_ON_STACK   32

int h_health(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	static const char ok[] = "{\"success\":true,\"message\":\"ok\",\"status\":\"healthy\"}";

	(void)s;
	(void)req;
	return http_resp_text(resp, 200, "application/json", ok, sizeof(ok) - 1);
}

/* Parse the body as a JSON object; NULL after answering 400. */
static json_t *body_object(const struct http_req *req, struct http_resp *resp)
{
	struct jv_err err;
	json_t *j;

	if (!req->body_len) {
		http_resp_error(resp, 400, "a JSON object body is required");
		return NULL;
	}
	j = jv_parse_object(req->body, req->body_len, &err);
	if (!j)
		http_resp_error(resp, 400, "malformed JSON: %s", err.msg);
	return j;
}

/* An array of strings (at most CTL_MAX_IDS). *ids points at stack (n <= IDS_ON_STACK) or at
 * malloc'd memory the caller frees when it differs from stack. 0, or 1 after answering. */
static int id_list(json_t *obj, const char *key, const char **stack, const char ***ids,
		   size_t *n, struct http_resp *resp)
{
	struct jv_err err;
	json_t *arr = NULL, *v;
	size_t i;
	int rc;

	*ids = stack;
	*n = 0;
	rc = jv_array(obj, key, false, CTL_MAX_IDS, &arr, &err);
	if (rc < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		return 1;
	}
	if (rc == 1 || json_array_size(arr) == 0)
		return 0;
	if (json_array_size(arr) > IDS_ON_STACK) {
		*ids = malloc(json_array_size(arr) * sizeof(**ids));
		if (!*ids) {
			*ids = stack;
			http_resp_error(resp, 500, "out of memory");
			return 1;
		}
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) > ID_MAX_LEN) {
			http_resp_error(resp, 400, "field '%s' must be an array of command id strings",
					key);
			return 1;
		}
		(*ids)[(*n)++] = json_string_value(v);
	}
	return 0;
}

int body_scalar(json_t *obj, const char *key, struct http_resp *resp)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v) || json_is_string(v) || json_is_number(v))
		return 0;
	http_resp_error(resp, 400, "field '%s' must be a string or a number", key);
	return 1;
}

static int heartbeat_answer(struct http_resp *resp, const struct ctl_command *cmd)
{
	struct buf *b = &resp->body;
	int rc;

	buf_reset(b);
	if (!cmd->command_id[0])
		return buf_puts(b, "{\"success\":true,\"message\":\"Heartbeat received. No pending "
			       "profiling commands.\",\"profiling_command\":null,"
			       "\"command_id\":null}");
	rc = buf_puts(b, "{\"success\":true,\"message\":\"Heartbeat received. New profiling "
		      "command available.\",\"profiling_command\":{\"command_type\":");
	if (!rc)
		rc = json_str(b, cmd->command_type, strlen(cmd->command_type), 0);
	if (!rc)
		rc = buf_puts(b, ",\"combined_config\":");
	/* the stored text is the JSON object the request handler wrote: sent as it is */
	if (!rc)
		rc = buf_puts(b, cmd->config ? cmd->config : "{}");
	if (!rc)
		rc = buf_puts(b, "},\"command_id\":");
	if (!rc)
		rc = json_str(b, cmd->command_id, strlen(cmd->command_id), 0);
	if (!rc)
		rc = buf_putc(b, '}');
	return rc;
}

int h_heartbeat(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	const char *recv_stack[IDS_ON_STACK], *exec_stack[IDS_ON_STACK];
	const char **recv = recv_stack, **exec = exec_stack;
	struct ctl_heartbeat hb;
	struct ctl_command cmd;
	struct jv_err err;
	json_t *j;
	int rc;

	memset(&hb, 0, sizeof(hb));
	memset(&cmd, 0, sizeof(cmd));
	j = body_object(req, resp);
	if (!j)
		return 0;
	if (jv_string(j, "hostname", true, NAME_MAX_LEN, &hb.hostname, &err) < 0 ||
	    jv_string(j, "service_name", true, NAME_MAX_LEN, &hb.service_name, &err) < 0 ||
	    jv_string(j, "ip_address", false, NAME_MAX_LEN, &hb.ip_address, &err) < 0 ||
	    jv_string(j, "agent_version", false, NAME_MAX_LEN, &hb.agent_version, &err) < 0 ||
	    jv_string(j, "status", false, NAME_MAX_LEN, &hb.status, &err) < 0 ||
	    jv_string(j, "last_command_id", false, ID_MAX_LEN, &hb.last_command_id, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (!hb.hostname[0] || !hb.service_name[0]) {
		http_resp_error(resp, 400, "field '%s' must not be empty",
				hb.hostname[0] ? "service_name" : "hostname");
		goto out;
	}
	if (!hb.agent_version &&
	    jv_string(j, "version", false, NAME_MAX_LEN, &hb.agent_version, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (body_scalar(j, "timestamp", resp) ||
	    id_list(j, "received_command_ids", recv_stack, &recv, &hb.n_received, resp) ||
	    id_list(j, "executed_command_ids", exec_stack, &exec, &hb.n_executed, resp))
		goto out;
	hb.received_ids = recv;
	hb.executed_ids = exec;
	hb.now = s->now();
	rc = s->control->ops->heartbeat(s->control, &hb, &cmd);
	if (rc == -EINVAL) {
		http_resp_error(resp, 400, "invalid heartbeat");
	} else if (rc) {
		log_warn("heartbeat from %s: store error: %s", hb.hostname, strerror(-rc));
		http_resp_error(resp, 500, "could not record the heartbeat");
	} else if (heartbeat_answer(resp, &cmd)) {
		http_resp_error(resp, 500, "out of memory");
	} else {
		resp->status = 200;
		resp->content_type = "application/json";
	}
	ctl_command_release(&cmd);
out:
	if (recv != recv_stack)
		free(recv);
	if (exec != exec_stack)
		free(exec);
	json_decref(j);
	return 0;
}

int h_command_completion(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	static const char *const statuses[] = { "completed", "failed", NULL };
	const char *id = NULL, *host = NULL, *msg = NULL, *path = NULL;
	double exec_time = 0;
	struct jv_err err;
	int status = 0, rc;
	json_t *j;

	j = body_object(req, resp);
	if (!j)
		return 0;
	if (jv_string(j, "command_id", true, ID_MAX_LEN, &id, &err) < 0 ||
	    jv_string(j, "hostname", true, NAME_MAX_LEN, &host, &err) < 0 ||
	    jv_enum(j, "status", true, statuses, &status, &err) < 0 ||
	    jv_number(j, "execution_time", false, &exec_time, &err) < 0 ||
	    jv_string(j, "error_message", false, TEXT_MAX_LEN, &msg, &err) < 0 ||
	    jv_string(j, "results_path", false, TEXT_MAX_LEN, &path, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (!(exec_time >= 0 && exec_time < 1e9)) {
		http_resp_error(resp, 400, "field 'execution_time' must be a number of seconds >= 0");
		goto out;
	}
	rc = s->control->ops->complete_command(s->control, id, host,
					       status == 0 ? CTL_CMD_COMPLETED : CTL_CMD_FAILED,
					       exec_time, msg, path, s->now());
	if (rc == -ENOENT)
		http_resp_error(resp, 404, "unknown command_id '%s'", id);
	else if (rc == -EINVAL)
		http_resp_error(resp, 400, "command '%s' was not sent to host '%s'", id, host);
	else if (rc) {
		log_warn("command_completion %s: store error: %s", id, strerror(-rc));
		http_resp_error(resp, 500, "could not record the completion");
	} else {
		http_resp_json(resp, 200, json_pack("{s:b, s:s+}", "success", 1, "message",
						    "Command completion recorded for ", id));
	}
out:
	json_decref(j);
	return 0;
}

int h_profile_upload(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct upload up;
	int64_t gpid = 0;
	int rc;

	if (upload_parse(req, config_decompressed_max(s->cfg), &up, resp))
		goto out;
	rc = s->samples->ops->ingest(s->samples, &up.u, &gpid);
	if (rc == -EINVAL) {
		http_resp_error(resp, 400, "field 'profile': a stack the store cannot take");
	} else if (rc) {
		log_warn("upload from %s/%s: store error: %s", up.u.service_name, up.u.hostname,
			 strerror(-rc));
		http_resp_error(resp, 500, "could not store the profile");
	} else {
		buf_reset(&resp->body);
		if (buf_printf(&resp->body, "{\"message\":\"ok\",\"gpid\":%" PRId64 "}", gpid)) {
			http_resp_error(resp, 500, "out of memory");
		} else {
			resp->status = 200;
			resp->content_type = "application/json";
		}
	}
out:
	upload_release(&up);
	return 0;
}
