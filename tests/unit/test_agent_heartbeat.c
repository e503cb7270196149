/* Heartbeat request/answer codec against gProfiler's shapes. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "fleet/heartbeat.h"
#include "t.h"
#include "util.h"

struct parse_case {
	const char *name;
	const char *body;
	int rc;                  /* 1 command, 0 none, -EINVAL malformed */
	enum hb_cmd_type type;
	int64_t duration, frequency;
	bool continuous, for_me;
	size_t n_pids;
	int first_pid;
	const char *err_has;     /* substring of the error for -EINVAL */
};

static const struct parse_case cases[] = {
	{ "no command", "{\"success\":true,\"message\":\"ok\",\"profiling_command\":null,\"command_id\":null}",
	  0, 0, 0, 0, false, false, 0, 0, NULL },
	{ "no command key", "{\"success\":true}", 0, 0, 0, 0, false, false, 0, 0, NULL },
	{ "start", "{\"success\":true,\"command_id\":\"6f1c2d3e-0000-4000-8000-000000000001\","
		   "\"profiling_command\":{\"command_type\":\"start\",\"combined_config\":{\"duration\":60,"
		   "\"frequency\":11,\"profiling_mode\":\"cpu\",\"continuous\":true,\"pids\":[12,34]}}}",
	  1, HB_CMD_START, 60, 11, true, true, 2, 12, NULL },
	{ "stop", "{\"command_id\":\"c2\",\"profiling_command\":{\"command_type\":\"stop\","
		  "\"combined_config\":{\"stop_level\":\"host\"}}}",
	  1, HB_CMD_STOP, 0, 0, false, true, 0, 0, NULL },
	{ "string numbers and pid string", "{\"command_id\":\"c3\",\"profiling_command\":{\"command_type\":"
		  "\"start\",\"combined_config\":{\"duration\":\"30\",\"frequency\":99.0,\"continuous\":\"false\","
		  "\"pids\":\"5, 6,7\"}}}",
	  1, HB_CMD_START, 30, 99, false, true, 3, 5, NULL },
	{ "other host", "{\"command_id\":\"c4\",\"profiling_command\":{\"command_type\":\"start\","
		  "\"combined_config\":{\"target_hostnames\":[\"web-1\",\"web-2\"]}}}",
	  1, HB_CMD_START, 0, 0, false, false, 0, 0, NULL },
	{ "this host listed", "{\"command_id\":\"c5\",\"profiling_command\":{\"command_type\":\"start\","
		  "\"combined_config\":{\"target_hostnames\":[\"web-1\",\"me\"]}}}",
	  1, HB_CMD_START, 0, 0, false, true, 0, 0, NULL },
	{ "unknown type", "{\"command_id\":\"c6\",\"profiling_command\":{\"command_type\":\"pause\"}}",
	  -EINVAL, 0, 0, 0, false, false, 0, 0, "pause" },
	{ "bad id", "{\"command_id\":\"a b\",\"profiling_command\":{\"command_type\":\"start\"}}",
	  -EINVAL, 0, 0, 0, false, false, 0, 0, "command_id" },
	{ "missing id", "{\"profiling_command\":{\"command_type\":\"start\"}}",
	  -EINVAL, 0, 0, 0, false, false, 0, 0, "command_id" },
	{ "negative duration", "{\"command_id\":\"c7\",\"profiling_command\":{\"combined_config\":{\"duration\":-5}}}",
	  -EINVAL, 0, 0, 0, false, false, 0, 0, "duration" },
	{ "huge real duration", "{\"command_id\":\"c9\",\"profiling_command\":{\"combined_config\":"
		  "{\"duration\":1e300}}}", -EINVAL, 0, 0, 0, false, false, 0, 0, "duration" },
	{ "bad pid", "{\"command_id\":\"c8\",\"profiling_command\":{\"combined_config\":{\"pids\":[1,-2]}}}",
	  -EINVAL, 0, 0, 0, false, false, 0, 0, "pids" },
	{ "not json", "<html>502</html>", -EINVAL, 0, 0, 0, false, false, 0, 0, "JSON" },
	{ "array", "[]", -EINVAL, 0, 0, 0, false, false, 0, 0, "JSON" },
};

T_TEST(parse_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct parse_case *k = &cases[i];
		struct hb_command c;
		char err[200] = "";
		int rc = hb_parse_response(k->body, strlen(k->body), "me", &c, err, sizeof(err));
		T_CHECKF(rc == k->rc, "%s: rc %d want %d (%s)", k->name, rc, k->rc, err);
		if (rc != k->rc)
			continue;
		if (rc < 0) {
			T_CHECKF(strstr(err, k->err_has) != NULL, "%s: error '%s'", k->name, err);
			continue;
		}
		if (rc == 0)
			continue;
		T_CHECKF(c.type == k->type, "%s: type", k->name);
		T_CHECKF(c.duration == k->duration, "%s: duration %lld", k->name, (long long)c.duration);
		T_CHECKF(c.frequency == k->frequency, "%s: frequency", k->name);
		T_CHECKF(c.continuous == k->continuous, "%s: continuous", k->name);
		T_CHECKF(c.for_this_host == k->for_me, "%s: for_this_host", k->name);
		T_CHECKF(c.n_pids == k->n_pids, "%s: n_pids %zu", k->name, c.n_pids);
		if (k->n_pids)
			T_CHECKF(c.pids[0] == k->first_pid, "%s: pid", k->name);
	}
}

T_TEST(build_heartbeat_shape)
{
	struct hb_identity id = { .hostname = "h1", .ip_address = "10.0.0.1", .service_name = "svc",
				  .agent_version = "0.1.0" };
	const char *rec[] = { "a", "b" }, *exe[] = { "a" };
	struct buf b;
	buf_init(&b, 4096);
	T_CHECK(hb_build_heartbeat(&id, "a", rec, 2, exe, 1, 1700000000, &b) == 0);
	json_t *j = json_loads(buf_cstr(&b), 0, NULL);
	T_CHECK(j != NULL);
	if (j) {
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "hostname")), "h1"));
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "service_name")), "svc"));
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "ip_address")), "10.0.0.1"));
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "last_command_id")), "a"));
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "status")), "active"));
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "timestamp")), "2023-11-14T22:13:20Z"));
		T_CHECK(json_array_size(json_object_get(j, "received_command_ids")) == 2);
		T_CHECK(!strcmp(json_string_value(json_array_get(json_object_get(j, "executed_command_ids"), 0)), "a"));
	}
	json_decref(j);
	buf_reset(&b);
	T_CHECK(hb_build_heartbeat(&id, NULL, NULL, 0, NULL, 0, 0, &b) == 0);
	j = json_loads(buf_cstr(&b), 0, NULL);
	T_CHECK(j && json_is_null(json_object_get(j, "last_command_id")));
	T_CHECK(j && json_array_size(json_object_get(j, "received_command_ids")) == 0);
	json_decref(j);
	buf_release(&b);
}

T_TEST(build_completion_shape)
{
	struct buf b;
	buf_init(&b, 4096);
	T_CHECK(hb_build_completion("c1", "h1", false, 61.5, "boom", NULL, &b) == 0);
	json_t *j = json_loads(buf_cstr(&b), 0, NULL);
	T_CHECK(j != NULL);
	if (j) {
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "status")), "failed"));
		T_CHECK(json_real_value(json_object_get(j, "execution_time")) == 61.5);
		T_CHECK(!strcmp(json_string_value(json_object_get(j, "error_message")), "boom"));
		T_CHECK(json_is_null(json_object_get(j, "results_path")));
	}
	json_decref(j);
	buf_release(&b);
}

int main(void)
{
	T_RUN(parse_table);
	T_RUN(build_heartbeat_shape);
	T_RUN(build_completion_shape);
	return t_done();
}
