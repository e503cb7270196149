/* heartbeat.c — heartbeat and completion bodies, heartbeat answer parsing; see heartbeat.h. */
#include "heartbeat.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int dump_into(json_t *j, struct buf *out)
{
	char *s;
	int rc;
	if (!j)
		return -ENOMEM;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	rc = buf_puts(out, s);
	free(s);
	return rc;
}

int hb_build_heartbeat(const struct hb_identity *id, const char *last_command_id,
		       const char *const *received, size_t n_received,
		       const char *const *executed, size_t n_executed, int64_t now,
		       struct buf *out)
{
	char ts[32];
	if (time_format_iso8601(now, ts, sizeof(ts)))
		return -EINVAL;
	return dump_into(json_pack("{s:s?, s:s, s:s, s:s?, s:s?, s:s, s:s, s:o, s:o}",
				   "ip_address", id->ip_address, "hostname", id->hostname,
				   "service_name", id->service_name, "agent_version", id->agent_version,
				   "last_command_id", last_command_id, "status", "active",
				   "timestamp", ts,
				   "received_command_ids", str_array(received, n_received),
				   "executed_command_ids", str_array(executed, n_executed)),
			 out);
}

int hb_build_completion(const char *command_id, const char *hostname, bool ok,
			double execution_time, const char *error_message, const char *results_path,
			struct buf *out)
{
	return dump_into(json_pack("{s:s, s:s, s:s, s:f, s:s?, s:s?}", "command_id", command_id,
				   "hostname", hostname, "status", ok ? "completed" : "failed",
				   "execution_time", execution_time, "error_message", error_message,
				   "results_path", results_path),
			 out);
}

static int fail(char *err, size_t n, const char *msg, const char *what)
{
	snprintf(err, n, "%s%s%s", msg, what ? ": " : "", what ? what : "");
	return -EINVAL;
}

/* An integer that may come as a JSON number or a numeric string. 1 = absent/null, 0 = set. */
static int get_int(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* range first: converting 1e300 to an integer is undefined */
		if (!isfinite(d) || d < -9.2e18 || d > 9.2e18 || d != (double)(int64_t)d)
			return -EINVAL;
		*out = (int64_t)d;
		return 0;
	}
	if (json_is_string(v)) {
		char *end;
		long long x = strtoll(json_string_value(v), &end, 10);
		if (*json_string_value(v) && !*end) {
			*out = x;
			return 0;
		}
	}
	return -EINVAL;
}

static int get_bool(json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 1;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v) && (!strcmp(json_string_value(v), "true") ||
				  !strcmp(json_string_value(v), "false"))) {
		*out = !strcmp(json_string_value(v), "true");
		return 0;
	}
	return -EINVAL;
}

/* pids: a list of integers, or a comma-separated string ("123,456"), as different servers send */
static int get_pids(json_t *cfg, struct hb_command *c, char *err, size_t n)
{
	json_t *v = json_object_get(cfg, "pids");
	size_t i;
	json_t *e;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		const char *p = json_string_value(v);
		while (*p) {
			char *end;
			long x = strtol(p, &end, 10);
			if (end == p || x <= 0 || x > 0x7fffffff)
				return fail(err, n, "combined_config.pids: not a list of process ids", p);
			if (c->n_pids == HB_MAX_PIDS)
				return fail(err, n, "combined_config.pids: too many pids", NULL);
			c->pids[c->n_pids++] = (pid_t)x;
			p = end;
			while (*p == ',' || *p == ' ')
				p++;
		}
		return 0;
	}
	if (!json_is_array(v))
		return fail(err, n, "combined_config.pids must be a list", NULL);
	if (json_array_size(v) > HB_MAX_PIDS)
		return fail(err, n, "combined_config.pids: too many pids", NULL);
	json_array_foreach(v, i, e) {
		json_int_t x = json_is_integer(e) ? json_integer_value(e) : 0;
		if (json_is_string(e))
			x = strtoll(json_string_value(e), NULL, 10);
		if (x <= 0 || x > 0x7fffffff)
			return fail(err, n, "combined_config.pids: not a process id", NULL);
		c->pids[c->n_pids++] = (pid_t)x;
	}
	return 0;
}

static int targets_host(json_t *cfg, json_t *pc, const char *me)
{
	json_t *t = json_object_get(cfg, "target_hostnames");
	size_t i;
	json_t *e;
	if (!t || json_is_null(t))
		t = json_object_get(pc, "target_hostnames");
	if (!t || json_is_null(t) || !json_is_array(t) || json_array_size(t) == 0)
		return 1;
	json_array_foreach(t, i, e)
		if (json_is_string(e) && me && strcmp(json_string_value(e), me) == 0)
			return 1;
	return 0;
}

int hb_parse_response(const char *body, size_t len, const char *my_hostname,
		      struct hb_command *c, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, 0, &je), *pc, *cfg, *idv, *tv;
	const char *type;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!root || !json_is_object(root)) {
		rc = fail(err, errlen, "heartbeat answer is not a JSON object", root ? NULL : je.text);
		goto out;
	}
	pc = json_object_get(root, "profiling_command");
	if (!pc || json_is_null(pc)) {
		rc = 0;
		goto out;
	}
	if (!json_is_object(pc)) {
		rc = fail(err, errlen, "profiling_command must be an object", NULL);
		goto out;
	}
	idv = json_object_get(root, "command_id");
	if (!json_is_string(idv))
		idv = json_object_get(pc, "command_id");
	if (!json_is_string(idv) || !cmdstate_valid_id(json_string_value(idv))) {
		rc = fail(err, errlen, "command_id missing or malformed", NULL);
		goto out;
	}
	snprintf(c->id, sizeof(c->id), "%s", json_string_value(idv));
	tv = json_object_get(pc, "command_type");
	type = json_is_string(tv) ? json_string_value(tv) : "start";
	if (!strcmp(type, "start")) {
		c->type = HB_CMD_START;
	} else if (!strcmp(type, "stop")) {
		c->type = HB_CMD_STOP;
	} else {
		rc = fail(err, errlen, "unknown command_type", type);
		goto out;
	}
	cfg = json_object_get(pc, "combined_config");
	if (!cfg || json_is_null(cfg))
		cfg = pc;
	if (!json_is_object(cfg)) {
		rc = fail(err, errlen, "combined_config must be an object", NULL);
		goto out;
	}
	if (get_int(cfg, "duration", &c->duration) < 0 || c->duration < 0 || c->duration > 86400) {
		rc = fail(err, errlen, "combined_config.duration must be 1..86400 seconds", NULL);
		goto out;
	}
	if (get_int(cfg, "frequency", &c->frequency) < 0 || c->frequency < 0 || c->frequency > 10000) {
		rc = fail(err, errlen, "combined_config.frequency must be 1..10000 Hz", NULL);
		goto out;
	}
	if (get_bool(cfg, "continuous", &c->continuous) < 0) {
		rc = fail(err, errlen, "combined_config.continuous must be a boolean", NULL);
		goto out;
	}
	tv = json_object_get(cfg, "profiling_mode");
	snprintf(c->profiling_mode, sizeof(c->profiling_mode), "%s",
		 json_is_string(tv) ? json_string_value(tv) : "cpu");
	tv = json_object_get(cfg, "stop_level");
	snprintf(c->stop_level, sizeof(c->stop_level), "%s", json_is_string(tv) ? json_string_value(tv) : "");
	rc = get_pids(cfg, c, err, errlen);
	if (rc)
		goto out;
	c->for_this_host = targets_host(cfg, pc, my_hostname);
	rc = 1;
out:
	json_decref(root);
	return rc;
}
