/* test_server_api.c — the handlers through the router, on a real store: validation messages
 * that name the field, body bounds (413, gzip bomb), upload -> flame graph / collapsed / top
 * functions with exact numbers, the heartbeat -> request -> delivery -> completion flow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "util.h"
#include "t.h"
#include "gz.h"
#include "server_api_harness.h"

T_TEST(validation_names_the_field)
{
	static const struct {
		const char *url;
		char tok;
		const char *body;
		const char *want;
	} cases[] = {
		{ "/api/metrics/heartbeat", 'g', "{", "malformed JSON" },
		{ "/api/metrics/heartbeat", 'g', "[1,2]", "" },
		{ "/api/metrics/heartbeat", 'g', "{\"service_name\":\"s\"}", "hostname" },
		{ "/api/metrics/heartbeat", 'g', "{\"hostname\":\"h\",\"service_name\":5}",
		  "service_name" },
		{ "/api/metrics/heartbeat", 'g', "{\"hostname\":\"\",\"service_name\":\"s\"}",
		  "hostname" },
		{ "/api/metrics/heartbeat", 'g',
		  "{\"hostname\":\"h\",\"service_name\":\"s\",\"received_command_ids\":[1]}",
		  "received_command_ids" },
		{ "/api/metrics/heartbeat", 'g',
		  "{\"hostname\":\"h\",\"service_name\":\"s\",\"executed_command_ids\":\"x\"}",
		  "executed_command_ids" },
		{ "/api/metrics/heartbeat", 'g',
		  "{\"hostname\":\"h\",\"service_name\":\"s\",\"timestamp\":[]}", "timestamp" },
		{ "/api/metrics/command_completion", 'g',
		  "{\"command_id\":\"x\",\"hostname\":\"h\",\"status\":\"done\"}", "status" },
		{ "/api/metrics/command_completion", 'g',
		  "{\"command_id\":\"x\",\"hostname\":\"h\",\"status\":\"failed\","
		  "\"execution_time\":\"1\"}", "execution_time" },
		{ "/api/metrics/command_completion", 'g', "{\"hostname\":\"h\",\"status\":\"failed\"}",
		  "command_id" },
		{ "/api/metrics/profile_request", 'd', "{\"service_name\":\"s\"}", "request_type" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"pause\"}", "request_type" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"duration\":\"60\"}",
		  "duration" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"duration\":0}", "duration" },
		/* beyond what an agent can run: refused here, not at every heartbeat */
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"duration\":86401}",
		  "duration" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"frequency\":1001}",
		  "frequency" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"profiling_mode\":\"gpu\"}",
		  "profiling_mode" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"continuous\":1}",
		  "continuous" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"stop\",\"stop_level\":\"all\"}",
		  "stop_level" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"target_hosts\":[\"h\"]}",
		  "target_hosts" },
		{ "/api/metrics/profile_request", 'd',
		  "{\"service_name\":\"s\",\"request_type\":\"start\",\"target_hosts\":{\"h\":[\"1\"]}}",
		  "target_hosts" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k', "{\"start_time\":1}", "profile" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"end_time\":1}", "start_time" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":\"soon\",\"end_time\":1}", "start_time" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":5,\"end_time\":1,\"gpid\":\"\"}",
		  "end_time" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":1,\"end_time\":2,\"cpu_avg\":\"x\"}",
		  "cpu_avg" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":1,\"end_time\":2,\"gpid\":\"abc\"}",
		  "gpid" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f x\\n\",\"start_time\":1,\"end_time\":2,\"gpid\":0}",
		  "profile" },
		/* as Performance Studio: the agent's header line (with metadata) and a gpid */
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"0;;p;f 1\\n\",\"start_time\":1,\"gpid\":0}", "profile" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"# {}\\n0;;p;f 1\\n\",\"start_time\":1,\"gpid\":0}",
		  "metadata" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"# {\\\"metadata\\\":{}}\\n0;;p;f 1\\n\",\"start_time\":1}",
		  "gpid" },
		{ "/api/v2/profiles?hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":1,\"end_time\":2}", "service" },
		{ "/api/v1/flamegraph", 'd', NULL, "service" },
		{ "/api/v1/flamegraph?service=s&format=svg", 'd', NULL, "format" },
		{ "/api/v1/flamegraph?service=s&start_datetime=x", 'd', NULL, "start_datetime" },
		{ "/api/v1/top_functions?service=s&limit=0", 'd', NULL, "limit" },
		{ "/api/v1/top_functions?service=s&sort=name", 'd', NULL, "sort" },
		{ "/api/v1/metrics?service=", 'd', NULL, "service" },
		{ "/api/metrics/commands?limit=abc", 'd', NULL, "limit" },
		{ "/api/metrics/commands?offset=-1", 'd', NULL, "offset" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct treq t;
		const char *m = cases[i].body ? "POST" : "GET";

		call(&t, m, cases[i].url, cases[i].tok, cases[i].body, 0);
		T_CHECKF(expect(&t, 400, cases[i].want), "case %zu %s: %d %s", i, cases[i].url,
			 t.resp.status, buf_cstr(&t.resp.body));
		done(&t);
	}
}

T_TEST(body_limits)
{
	size_t n = HTTP_JSON_MAX + 1;
	char *big = malloc(n + 1);
	struct treq t;

	T_REQUIRE(big != NULL);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = 0;
	call(&t, "POST", "/api/metrics/heartbeat", 'g', big, n);
	T_CHECK(expect(&t, 413, "too large"));
	done(&t);
	free(big);
}

static int upload(const char *query, const char *profile, int64_t start, int gzip, int *status,
		  int64_t *gpid)
{
	char url[512];
	json_t *j = json_pack("{s:s, s:I, s:I, s:s, s:f, s:n, s:s}", "profile", profile,
			      "start_time", (json_int_t)start, "end_time", (json_int_t)(start + 60),
			      "hostname", "host-a", "cpu_avg", 12.5, "mem_avg", "gpid", "");
	char *text = json_dumps(j, JSON_COMPACT);
	struct buf gz;
	struct treq t;
	int rc = 0;

	json_decref(j);
	buf_init(&gz, 64u << 20);
	if (!text)
		return -1;
	if (gzip && gz_compress(text, strlen(text), &gz) != 0)
		rc = -1;
	snprintf(url, sizeof(url), "/api/v2/profiles?%s", query);
	if (!rc) {
		call(&t, "POST", url, 'k', gzip ? gz.data : text, gzip ? gz.len : strlen(text));
		*status = t.resp.status;
		if (gpid)
			*gpid = json_integer_value(json_object_get(t.json, "gpid"));
		if (t.resp.status != 200)
			fprintf(stderr, "  upload: %d %s\n", t.resp.status, buf_cstr(&t.resp.body));
		done(&t);
	}
	buf_release(&gz);
	free(text);
	return rc;
}

T_TEST(upload_then_query_exact)
{
	static const char prof[] =
		"# {\"metadata\":{\"hostname\":\"host-a\"}}\n"
		"0;;python;main;foo 3\n"
		"0;;python;main;bar 1\n"
		"0;web;python;main;foo 2\n"
		"1;;nginx;epoll_wait_[k] 4\n";
	struct treq t;
	int status = 0;
	int64_t gpid = -1;

	T_CHECK(upload("service=svc&hostname=host-a&version=1.0", prof, NOW - 600, 1, &status,
		       &gpid) == 0);
	T_CHECK(status == 200 && gpid > 0);
	/* plain JSON, no Content-Encoding: accepted too (same profile again: counts double) */
	T_CHECK(upload("service=svc&hostname=host-a", prof, NOW - 300, 0, &status, NULL) == 0);
	T_CHECK(status == 200);

	call(&t, "GET", "/api/v1/flamegraph?service=svc", 'd', NULL, 0);
	T_CHECK(expect(&t, 200, NULL));
	T_CHECKF(strcmp(buf_cstr(&t.resp.body),
			"{\"name\":\"all\",\"value\":20,\"children\":["
			"{\"name\":\"nginx\",\"value\":8,\"children\":["
			"{\"name\":\"epoll_wait_[k]\",\"value\":8,\"children\":[]}]},"
			"{\"name\":\"python\",\"value\":12,\"children\":["
			"{\"name\":\"main\",\"value\":12,\"children\":["
			"{\"name\":\"bar\",\"value\":2,\"children\":[]},"
			"{\"name\":\"foo\",\"value\":10,\"children\":[]}]}]}]}") == 0,
		 "tree %s", buf_cstr(&t.resp.body));
	done(&t);

	call(&t, "GET", "/api/v1/flamegraph?service=svc&format=collapsed_file&container=web", 'd',
	     NULL, 0);
	T_CHECK(t.resp.status == 200);
	T_CHECKF(strcmp(buf_cstr(&t.resp.body), "python;main;foo 4\n") == 0, "collapsed %s",
		 buf_cstr(&t.resp.body));
	T_CHECK(strncmp(t.resp.content_type, "text/plain", 10) == 0);
	done(&t);

	/* only the first upload's bucket */
	call(&t, "GET", "/api/v1/flamegraph?service=svc&format=collapsed_file"
	     "&start_datetime=2027-01-15T07:50:00Z&end_datetime=2027-01-15T07:55:00Z", 'd', NULL, 0);
	T_CHECKF(strcmp(buf_cstr(&t.resp.body),
			"nginx;epoll_wait_[k] 4\npython;main;bar 1\npython;main;foo 5\n") == 0,
		 "collapsed range %s", buf_cstr(&t.resp.body));
	done(&t);

	call(&t, "GET", "/api/v1/top_functions?service=svc&limit=2", 'd', NULL, 0);
	T_CHECKF(strcmp(buf_cstr(&t.resp.body),
			"{\"functions\":[{\"name\":\"foo\",\"self\":10,\"total\":10},"
			"{\"name\":\"epoll_wait_[k]\",\"self\":8,\"total\":8}],"
			"\"total_samples\":20}") == 0, "top %s", buf_cstr(&t.resp.body));
	done(&t);

	call(&t, "GET", "/api/v1/flamegraph?service=svc&hostname=other", 'd', NULL, 0);
	T_CHECK(strcmp(buf_cstr(&t.resp.body), "{\"name\":\"all\",\"value\":0,\"children\":[]}") == 0);
	done(&t);

	call(&t, "GET", "/api/v1/metrics?service=svc", 'd', NULL, 0);
	T_CHECK(t.resp.status == 200 && json_array_size(json_object_get(t.json, "metrics")) == 2);
	done(&t);

	/* the distinct-stack bound: 3 stacks match, allow 2 */
	srv.max_query_stacks = 2;
	call(&t, "GET", "/api/v1/flamegraph?service=svc", 'd', NULL, 0);
	T_CHECK(expect(&t, 413, "distinct stacks"));
	done(&t);
	srv.max_query_stacks = 100000;
}

T_TEST(upload_gzip_errors)
{
	struct buf gz, plain;
	struct treq t;
	char *bomb;
	size_t n = 9u << 20;   /* > 8 MiB decompressed cap of --max-upload-mb 1 */
	int old = cfg.max_upload_mb;

	/* Content-Encoding: gzip but not gzip data */
	{
		struct http_req r = { .method = HTTP_POST, .path = "/api/v2/profiles",
				      .api_key = AGENT, .content_encoding = "gzip",
				      .n_params = 1, .params = { { "service", "svc" } },
				      .body = "{\"a\":1}", .body_len = 7 };

		memset(&t, 0, sizeof(t));
		http_resp_init(&t.resp);
		routes_handle(&srv, &r, &t.resp);
		T_CHECK(t.resp.status == 400 &&
			strstr(buf_cstr(&t.resp.body), "not gzip") != NULL);
		http_resp_release(&t.resp);
	}
	/* corrupt gzip */
	call(&t, "POST", "/api/v2/profiles?service=svc&hostname=h", 'k',
	     "\x1f\x8b\x08\x00garbagegarbage", 18);
	T_CHECK(expect(&t, 400, "gzip"));
	done(&t);

	/* a time as a huge number: refused, never converted (1e300 to int64 is undefined) */
	{
		static const char huge[] = "{\"start_time\":1e300,\"end_time\":2,\"hostname\":\"h\","
					   "\"profile\":\"0;;a;b 1\\n\"}";
		call(&t, "POST", "/api/v2/profiles?service=svc&hostname=h", 'k', huge, 0);
		T_CHECK(expect(&t, 400, "start_time"));
		done(&t);
	}

	/* a gzip bomb: 9 MiB of JSON that compresses to a few KiB */
	cfg.max_upload_mb = 1;
	bomb = malloc(n);
	buf_init(&gz, 1u << 20);
	buf_init(&plain, 1);
	T_REQUIRE(bomb != NULL);
	memset(bomb, 'a', n);
	memcpy(bomb, "{\"profile\":\"", 12);
	memcpy(bomb + n - 2, "\"}", 2);
	T_CHECK(gz_compress(bomb, n, &gz) == 0 && gz.len < 64 * 1024);
	call(&t, "POST", "/api/v2/profiles?service=svc&hostname=h", 'k', gz.data, gz.len);
	T_CHECK(expect(&t, 413, "decompressed"));
	done(&t);
	/* compressed body over --max-upload-mb */
	{
		char *over = calloc(1, (1u << 20) + 1);

		T_REQUIRE(over != NULL);
		call(&t, "POST", "/api/v2/profiles?service=svc", 'k', over, (1u << 20) + 1);
		T_CHECK(expect(&t, 413, NULL));
		done(&t);
		free(over);
	}
	cfg.max_upload_mb = old;
	free(bomb);
	buf_release(&gz);
	buf_release(&plain);
}

static const char *cmd_id(json_t *hb)
{
	json_t *v = json_object_get(hb, "command_id");

	return json_is_string(v) ? json_string_value(v) : NULL;
}

T_TEST(command_flow)
{
	const char *hb = "{\"hostname\":\"h1\",\"service_name\":\"flow\",\"ip_address\":\"10.0.0.1\","
			 "\"last_command_id\":null,\"status\":\"active\","
			 "\"timestamp\":\"2027-01-15T08:00:00.123456\"}";
	char id[64] = "", body[512];
	struct treq t;
	json_t *cc;

	call(&t, "POST", "/api/metrics/heartbeat", 'g', hb, 0);
	T_CHECK(t.resp.status == 200);
	T_CHECK(json_is_true(json_object_get(t.json, "success")));
	T_CHECK(json_is_null(json_object_get(t.json, "profiling_command")));
	T_CHECK(json_is_null(json_object_get(t.json, "command_id")));
	done(&t);

	call(&t, "POST", "/api/metrics/profile_request", 'd',
	     "{\"service_name\":\"flow\",\"request_type\":\"start\",\"duration\":45,"
	     "\"frequency\":99,\"profiling_mode\":\"cpu\",\"target_hosts\":{\"h1\":[42,43]}}", 0);
	T_CHECK(t.resp.status == 200);
	T_CHECK(json_array_size(json_object_get(t.json, "command_ids")) == 1);
	if (json_array_size(json_object_get(t.json, "command_ids")) == 1)
		snprintf(id, sizeof(id), "%s", json_string_value(json_array_get(
			json_object_get(t.json, "command_ids"), 0)));
	done(&t);

	call(&t, "POST", "/api/metrics/heartbeat", 'g', hb, 0);
	T_CHECK(t.resp.status == 200 && cmd_id(t.json) && strcmp(cmd_id(t.json), id) == 0);
	cc = json_object_get(json_object_get(t.json, "profiling_command"), "combined_config");
	T_CHECK(strcmp(json_string_value(json_object_get(json_object_get(t.json,
		"profiling_command"), "command_type")) ?: "", "start") == 0);
	{
		char *text = json_dumps(cc, JSON_COMPACT);

		/* gProfiler's shape, in this order */
		T_CHECKF(text && strcmp(text, "{\"duration\":45,\"frequency\":99,\"profiling_mode\":"
				       "\"cpu\",\"continuous\":false,\"pids\":[42,43]}") == 0,
			 "combined_config %s", text);
		free(text);
	}
	done(&t);

	call(&t, "GET", "/api/metrics/profiling/host_status?service_name=flow", 'd', NULL, 0);
	T_CHECK(t.resp.status == 200);
	T_CHECK(json_integer_value(json_object_get(t.json, "active_count")) == 1);
	done(&t);

	snprintf(body, sizeof(body), "{\"command_id\":\"%s\",\"hostname\":\"h1\","
		 "\"status\":\"completed\",\"execution_time\":null,\"error_message\":null,"
		 "\"results_path\":null}", id);
	call(&t, "POST", "/api/metrics/command_completion", 'g', body, 0);
	T_CHECK(t.resp.status == 200 && json_is_true(json_object_get(t.json, "success")));
	done(&t);
	call(&t, "POST", "/api/metrics/command_completion", 'g', body, 0);   /* idempotent */
	T_CHECK(t.resp.status == 200);
	done(&t);

	call(&t, "POST", "/api/metrics/heartbeat", 'g', hb, 0);   /* nothing left */
	T_CHECK(t.resp.status == 200 && json_is_null(json_object_get(t.json, "command_id")));
	done(&t);

	call(&t, "POST", "/api/metrics/command_completion", 'g',
	     "{\"command_id\":\"00000000-0000-0000-0000-000000000000\",\"hostname\":\"h1\","
	     "\"status\":\"failed\"}", 0);
	T_CHECK(expect(&t, 404, "command_id"));
	done(&t);

	/* a stop for the whole host, extra settings that never override ours */
	call(&t, "POST", "/api/metrics/profile_request", 'd',
	     "{\"service_name\":\"flow\",\"request_type\":\"stop\",\"target_hosts\":{\"h1\":null},"
	     "\"additional_args\":{\"stop_level\":\"all\",\"max_processes\":5}}", 0);
	T_CHECK(t.resp.status == 200);
	done(&t);
	call(&t, "POST", "/api/metrics/heartbeat", 'g', hb, 0);
	cc = json_object_get(json_object_get(t.json, "profiling_command"), "combined_config");
	{
		char *text = json_dumps(cc, JSON_COMPACT);

		T_CHECKF(text && strcmp(text, "{\"stop_level\":\"host\",\"max_processes\":5}") == 0,
			 "stop combined_config %s", text);
		free(text);
	}
	done(&t);

	call(&t, "POST", "/api/metrics/profile_request", 'd',
	     "{\"service_name\":\"nobody\",\"request_type\":\"start\"}", 0);
	T_CHECK(expect(&t, 404, "no target hosts"));
	done(&t);

	call(&t, "GET", "/api/metrics/commands?service_name=flow&limit=5", 'd', NULL, 0);
	T_CHECK(t.resp.status == 200 && json_integer_value(json_object_get(t.json, "total")) == 2);
	done(&t);
	call(&t, "GET", "/api/v1/services", 'd', NULL, 0);
	T_CHECK(t.resp.status == 200 && json_is_array(json_object_get(t.json, "services")));
	done(&t);
}

int main(void)
{
	int rc;

	if (harness_open("test_server_api"))
		return 1;
	T_RUN(validation_names_the_field);
	T_RUN(body_limits);
	T_RUN(upload_then_query_exact);
	T_RUN(upload_gzip_errors);
	T_RUN(command_flow);
	rc = t_done();
	harness_close();
	return rc;
}
