/* test_server_routes.c — the router and the handlers without a socket: route matching
 * (404/405/Allow), auth, query-parameter parsing, validation messages that name the field, body
 * bounds (413, gzip bomb), the heartbeat -> request -> delivery -> completion flow, upload ->
 * flame graph / collapsed / top functions with exact numbers, static files.
 *
 * Uses a real store (SQLite in a temp dir, migrations from $FLEETPROF_ROOT/schema).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "t.h"
#include "config.h"
#include "gz.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "routes.h"
#include "static.h"
#include "store/store.h"
#include "tokens.h"

#define NOW 1800000000LL   /* 2027-01-15T08:00:00Z */
#define AGENT "agent-secret"
#define ADMIN "admin-secret"

static struct config cfg;
static struct tokens toks;
static struct srv srv;
static char tmpdir[] = "/tmp/fp-routes-XXXXXX";

static int64_t fixed_now(void)
{
	return NOW;
}

/* ---- request building ---- */

struct treq {
	struct http_req r;
	char query[2048];
	char auth[128];
	struct http_resp resp;
	json_t *json;
};

/* method, "path?query", token kind ('g' agent bearer, 'd' admin bearer, 'k' agent api key,
 * 0 none), body (may be NULL) */
static void call(struct treq *t, const char *method, const char *url, char tok, const char *body,
		 size_t body_len)
{
	const char *q = strchr(url, '?');
	static char path[512];

	memset(t, 0, sizeof(*t));
	http_resp_init(&t->resp);
	t->r.method = http_method_parse(method);
	snprintf(path, sizeof(path), "%.*s", (int)(q ? (size_t)(q - url) : strlen(url)), url);
	t->r.path = path;
	if (q) {
		char *save = NULL, *kv;

		snprintf(t->query, sizeof(t->query), "%s", q + 1);
		for (kv = strtok_r(t->query, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');

			if (t->r.n_params == HTTP_MAX_PARAMS) {
				t->r.params_overflow = true;
				break;
			}
			if (eq)
				*eq = 0;
			t->r.params[t->r.n_params].key = kv;
			t->r.params[t->r.n_params].value = eq ? eq + 1 : "";
			t->r.n_params++;
		}
	}
	if (tok == 'g' || tok == 'd') {
		snprintf(t->auth, sizeof(t->auth), "Bearer %s", tok == 'g' ? AGENT : ADMIN);
		t->r.authorization = t->auth;
	} else if (tok == 'k') {
		t->r.api_key = AGENT;
	}
	t->r.body = body;
	t->r.body_len = body ? (body_len ? body_len : strlen(body)) : 0;
	routes_handle(&srv, &t->r, &t->resp);
	if (t->resp.fd < 0)
		t->json = json_loads(buf_cstr(&t->resp.body), JSON_DECODE_ANY, NULL);
}

static void done(struct treq *t)
{
	json_decref(t->json);
	http_resp_release(&t->resp);
}

static const char *msg(const struct treq *t)
{
	json_t *m = json_object_get(t->json, "message");

	return json_is_string(m) ? json_string_value(m) : "";
}

/* status and, for errors, the message must contain want */
static int expect(struct treq *t, int status, const char *want)
{
	int ok = t->resp.status == status;

	if (ok && status >= 400) {
		ok = json_is_false(json_object_get(t->json, "success")) &&
		     (!want || strstr(msg(t), want) != NULL);
	}
	if (!ok)
		fprintf(stderr, "  %s %s: status %d body %s (wanted %d '%s')\n",
			http_method_name(t->r.method), t->r.path, t->resp.status,
			buf_cstr(&t->resp.body), status, want ? want : "");
	return ok;
}

/* ---- tests ---- */

T_TEST(route_table)
{
	static const struct {
		const char *method, *path;
		int status;           /* 0 = matched */
		const char *allow_or_route;
	} cases[] = {
		{ "GET", "/api/v1/health_check", 0, "/api/v1/health_check" },
		{ "HEAD", "/api/v1/health_check", 0, "/api/v1/health_check" },
		{ "POST", "/api/v1/health_check", 405, "GET, HEAD" },
		{ "GET", "/api/metrics/heartbeat", 405, "POST" },
		{ "POST", "/api/metrics/heartbeat", 0, "/api/metrics/heartbeat" },
		{ "PUT", "/api/v2/profiles", 405, "POST" },
		{ "POST", "/api/v2/profiles", 0, "/api/v2/profiles" },
		{ "DELETE", "/api/v1/flamegraph", 405, "GET, HEAD" },
		{ "GET", "/api/v1/top_functions", 0, "/api/v1/top_functions" },
		{ "GET", "/api/v1/nope", 404, "" },
		{ "GET", "/api/metrics/heartbeat/x", 404, "" },
		{ "GET", "/api", 404, "" },
		{ "GET", "/", 0, "/" },
		{ "GET", "/app.js", 0, "/" },
		{ "POST", "/index.html", 405, "GET, HEAD" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_req r = { .method = http_method_parse(cases[i].method),
				      .path = cases[i].path };
		char allow[64] = "x";
		int status = 0;
		const struct route *rt = routes_match(&r, &status, allow, sizeof(allow));

		if (cases[i].status == 0) {
			T_CHECKF(rt && strcmp(rt->path, cases[i].allow_or_route) == 0,
				 "%s %s: no route", cases[i].method, cases[i].path);
		} else {
			T_CHECKF(!rt && status == cases[i].status &&
				 strcmp(allow, cases[i].allow_or_route) == 0,
				 "%s %s: status %d allow '%s'", cases[i].method, cases[i].path,
				 status, allow);
		}
	}
}

T_TEST(errors_are_json_with_allow)
{
	struct treq t;

	call(&t, "POST", "/api/v1/services", 'd', "{}", 0);
	T_CHECK(expect(&t, 405, "method not allowed"));
	T_CHECK(strcmp(t.resp.allow, "GET, HEAD") == 0);
	done(&t);
	call(&t, "GET", "/api/v1/unknown", 'd', NULL, 0);
	T_CHECK(expect(&t, 404, "not found"));
	T_CHECK(t.resp.allow[0] == 0);
	done(&t);
}

T_TEST(auth)
{
	static const struct {
		const char *method, *url;
		char tok;
		int status;
	} cases[] = {
		{ "GET", "/api/v1/health_check", 0, 200 },
		{ "POST", "/api/metrics/heartbeat", 0, 401 },
		{ "POST", "/api/metrics/heartbeat", 'g', 400 },   /* in, then: empty body */
		{ "POST", "/api/metrics/heartbeat", 'd', 400 },   /* admin accepted too */
		{ "POST", "/api/metrics/heartbeat", 'k', 400 },   /* GPROFILER-API-KEY */
		{ "POST", "/api/v2/profiles", 0, 401 },
		{ "POST", "/api/v2/profiles", 'k', 400 },
		{ "POST", "/api/v2/profiles?key=" AGENT "&service=s", 0, 400 },   /* gProfiler's ?key= */
		{ "POST", "/api/v2/profiles?key=wrong&service=s", 0, 401 },
		{ "GET", "/api/v1/services?key=" ADMIN, 0, 401 },  /* ?key= is for agent routes only */
		{ "GET", "/api/v1/services", 0, 401 },
		{ "GET", "/api/v1/services", 'g', 401 },         /* agent token is not admin */
		{ "GET", "/api/v1/services", 'k', 401 },
		{ "GET", "/api/v1/services", 'd', 200 },
		{ "POST", "/api/metrics/profile_request", 'g', 401 },
		{ "GET", "/api/metrics/profiling/host_status", 'g', 401 },
		{ "GET", "/api/v1/flamegraph?service=x", 'g', 401 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct treq t;

		call(&t, cases[i].method, cases[i].url, cases[i].tok, NULL, 0);
		T_CHECKF(t.resp.status == cases[i].status, "%s %s tok %c: %d %s", cases[i].method,
			 cases[i].url, cases[i].tok ? cases[i].tok : '-', t.resp.status,
			 buf_cstr(&t.resp.body));
		if (cases[i].status == 401)
			T_CHECK(expect(&t, 401, "token"));
		done(&t);
	}
	/* a wrong bearer */
	{
		struct treq t;
		struct http_req r = { .method = HTTP_GET, .path = "/api/v1/services",
				      .authorization = "Bearer admin-secreT" };

		memset(&t, 0, sizeof(t));
		http_resp_init(&t.resp);
		routes_handle(&srv, &r, &t.resp);
		T_CHECK(t.resp.status == 401);
		http_resp_release(&t.resp);
	}
}

T_TEST(accept_encoding_gzip)
{
	static const struct { const char *h; int want; } cases[] = {
		{ NULL, 0 }, { "", 0 }, { "gzip", 1 }, { "GZIP", 1 }, { "deflate, br", 0 },
		{ "gzip, deflate, br, zstd", 1 }, { "br;q=1.0, gzip;q=0.8", 1 }, { "gzip;q=0", 0 },
		{ "gzip; q=0.000", 0 }, { "*", 1 }, { "x-gzip", 1 }, { "gzipx", 0 },
		{ "identity, *;q=0", 0 }, { "deflate;q=0.5,gzip", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_CHECKF(http_accepts_gzip(cases[i].h) == cases[i].want, "'%s'",
			 cases[i].h ? cases[i].h : "(null)");
}

T_TEST(param_parsing)
{
	static const struct {
		const char *s;
		int rc;
		int64_t v;
	} times[] = {
		{ "2027-01-15T08:00:00Z", 0, NOW },
		{ "2027-01-15T08:00:00", 0, NOW },
		{ "2027-01-15T10:00:00+02:00", 0, NOW },
		{ "1800000000", 0, NOW },
		{ "2027-13-01T00:00:00", -EINVAL, 0 },
		{ "yesterday", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	struct http_resp resp;
	int64_t a, b;

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		int64_t v = 0;
		int rc = q_parse_time(times[i].s, &v);

		T_CHECKF(rc == times[i].rc && (rc || v == times[i].v), "'%s': rc %d v %lld",
			 times[i].s, rc, (long long)v);
	}

	http_resp_init(&resp);
	{
		struct http_req r = { .n_params = 0 };

		T_CHECK(q_time_range(&r, NOW, &a, &b, &resp) == 0 && a == NOW - 3600 && b == NOW);
	}
	{
		struct http_req r = { .n_params = 2, .params = {
			{ "start_datetime", "2027-01-15T07:00:00" },
			{ "end_datetime", "2027-01-15T07:30:00Z" } } };

		T_CHECK(q_time_range(&r, NOW, &a, &b, &resp) == 0 && a == NOW - 3600 &&
			b == NOW - 1800);
	}
	{
		struct http_req r = { .n_params = 1, .params = {
			{ "end_datetime", "2027-01-15T07:00:00" } } };

		T_CHECK(q_time_range(&r, NOW, &a, &b, &resp) == 0 && a == NOW - 7200 &&
			b == NOW - 3600);
	}
	{
		struct http_req r = { .n_params = 2, .params = {
			{ "start_datetime", "2027-01-15T08:00:00" },
			{ "end_datetime", "2027-01-15T08:00:00" } } };

		T_CHECK(q_time_range(&r, NOW, &a, &b, &resp) == 1 && resp.status == 400);
		T_CHECK(strstr(buf_cstr(&resp.body), "end_datetime") != NULL);
	}
	{
		struct http_req r = { .n_params = 1, .params = {
			{ "start_datetime", "2026-11-01T00:00:00" } } };

		T_CHECK(q_time_range(&r, NOW, &a, &b, &resp) == 1 && resp.status == 400);
		T_CHECK(strstr(buf_cstr(&resp.body), "31 days") != NULL);
	}
	{
		struct http_req r = { .n_params = 1, .params = { { "start_datetime", "bad" } } };

		T_CHECK(q_time_range(&r, NOW, &a, &b, &resp) == 1 &&
			strstr(buf_cstr(&resp.body), "start_datetime") != NULL);
	}
	{
		static const struct {
			const char *v;
			int rc;
			int64_t want;
		} lims[] = { { "5", 0, 5 }, { "1000", 0, 1000 }, { "0", 1, 0 }, { "1001", 1, 0 },
			     { "-3", 1, 0 }, { "5x", 1, 0 }, { "", 1, 0 },
			     { "99999999999999999999", 1, 0 } };

		for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
			struct http_req r = { .n_params = 1, .params = { { "limit", lims[i].v } } };
			int64_t v = -1;
			int rc = q_int(&r, "limit", 100, 1, 1000, &v, &resp);

			T_CHECKF(rc == lims[i].rc && (rc || v == lims[i].want), "limit '%s': %d %lld",
				 lims[i].v, rc, (long long)v);
		}
		struct http_req none = { .n_params = 0 };
		int64_t v = 0;

		T_CHECK(q_int(&none, "limit", 100, 1, 1000, &v, &resp) == 0 && v == 100);
	}
	http_resp_release(&resp);
}

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
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":5,\"end_time\":1}", "end_time" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":1,\"end_time\":2,\"cpu_avg\":\"x\"}",
		  "cpu_avg" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f 1\\n\",\"start_time\":1,\"end_time\":2,\"gpid\":\"abc\"}",
		  "gpid" },
		{ "/api/v2/profiles?service=s&hostname=h", 'k',
		  "{\"profile\":\"p;f x\\n\",\"start_time\":1,\"end_time\":2}", "profile" },
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

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
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

	T_CHECK(big != NULL);
	if (!big)
		return;
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
	T_CHECK(bomb != NULL);
	if (bomb) {
		memset(bomb, 'a', n);
		memcpy(bomb, "{\"profile\":\"", 12);
		memcpy(bomb + n - 2, "\"}", 2);
		T_CHECK(gz_compress(bomb, n, &gz) == 0 && gz.len < 64 * 1024);
		call(&t, "POST", "/api/v2/profiles?service=svc&hostname=h", 'k', gz.data, gz.len);
		T_CHECK(expect(&t, 413, "decompressed"));
		done(&t);
	}
	/* compressed body over --max-upload-mb */
	{
		char *over = calloc(1, (1u << 20) + 1);

		T_CHECK(over != NULL);
		if (over) {
			call(&t, "POST", "/api/v2/profiles?service=svc", 'k', over, (1u << 20) + 1);
			T_CHECK(expect(&t, 413, NULL));
			done(&t);
		}
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
	T_CHECK(json_integer_value(json_object_get(cc, "duration")) == 45);
	T_CHECK(json_integer_value(json_object_get(cc, "frequency")) == 99);
	T_CHECK(json_array_size(json_object_get(cc, "pids")) == 2);
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

	call(&t, "POST", "/api/metrics/profile_request", 'd',
	     "{\"service_name\":\"nobody\",\"request_type\":\"start\"}", 0);
	T_CHECK(expect(&t, 404, "no target hosts"));
	done(&t);

	call(&t, "GET", "/api/metrics/commands?service_name=flow&limit=5", 'd', NULL, 0);
	T_CHECK(t.resp.status == 200 && json_integer_value(json_object_get(t.json, "total")) == 1);
	done(&t);
	call(&t, "GET", "/api/v1/services", 'd', NULL, 0);
	T_CHECK(t.resp.status == 200 && json_is_array(json_object_get(t.json, "services")));
	done(&t);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

T_TEST(static_files)
{
	char web[300], p[400], real[4096], outside[300];
	const char *old = srv.web_root;
	struct treq t;

	snprintf(web, sizeof(web), "%s/web", tmpdir);
	snprintf(outside, sizeof(outside), "%s/secret.txt", tmpdir);
	mkdir(web, 0755);
	snprintf(p, sizeof(p), "%s/sub", web);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/index.html", web);
	write_file(p, "<html>dash</html>");
	snprintf(p, sizeof(p), "%s/sub/app.js", web);
	write_file(p, "let x = 1;");
	write_file(outside, "secret");
	snprintf(p, sizeof(p), "%s/escape.txt", web);
	T_CHECK(symlink(outside, p) == 0);
	snprintf(p, sizeof(p), "%s/inside.js", web);
	T_CHECK(symlink("sub/app.js", p) == 0);

	T_CHECK(realpath(web, real) != NULL);
	srv.web_root = real;
	{
		static const struct {
			const char *path;
			int rc;
			const char *suffix;
		} cases[] = {
			{ "/", 0, "/index.html" },
			{ "/index.html", 0, "/index.html" },
			{ "/sub", -ENOENT, NULL },   /* a directory without index.html */
			{ "/sub/app.js", 0, "/sub/app.js" },
			{ "/inside.js", 0, "/sub/app.js" },
			{ "/escape.txt", -EACCES, NULL },
			{ "/../secret.txt", -EACCES, NULL },
			{ "/sub/../index.html", -EACCES, NULL },
			{ "/./index.html", -EACCES, NULL },
			{ "/%2e%2e/secret.txt", -EACCES, NULL },
			{ "//etc/passwd", -EACCES, NULL },
			{ "/sub\\..\\x", -EACCES, NULL },
			{ "/missing.css", -ENOENT, NULL },
			{ "relative", -EACCES, NULL },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char out[4096] = "";
			int rc = static_resolve(real, cases[i].path, out, sizeof(out));
			int want = cases[i].rc;

			T_CHECKF(rc == want, "%s: rc %d want %d (%s)", cases[i].path, rc, want, out);
			if (rc == 0 && want == 0) {
				size_t ol = strlen(out), sl = strlen(cases[i].suffix);

				T_CHECKF(strncmp(out, real, strlen(real)) == 0 && ol > sl &&
					 strcmp(out + ol - sl, cases[i].suffix) == 0, "%s -> %s",
					 cases[i].path, out);
			}
		}
	}
	T_CHECK(strcmp(static_content_type("a/b.js"), "text/javascript; charset=utf-8") == 0);
	T_CHECK(strcmp(static_content_type("x.CSS"), "text/css; charset=utf-8") == 0);
	T_CHECK(strcmp(static_content_type("x.svg"), "image/svg+xml") == 0);
	T_CHECK(strcmp(static_content_type("dir.d/noext"), "application/octet-stream") == 0);

	call(&t, "GET", "/sub/app.js", 0, NULL, 0);
	T_CHECK(t.resp.status == 200 && t.resp.fd >= 0 && t.resp.fd_size == 10);
	T_CHECK(strcmp(t.resp.content_type, "text/javascript; charset=utf-8") == 0);
	done(&t);
	call(&t, "GET", "/escape.txt", 0, NULL, 0);
	T_CHECK(expect(&t, 404, NULL));
	done(&t);
	/* no web root: a placeholder page at /, 404 elsewhere */
	srv.web_root = NULL;
	call(&t, "GET", "/", 0, NULL, 0);
	T_CHECK(t.resp.status == 200 && strstr(buf_cstr(&t.resp.body), "fleetprof") != NULL);
	done(&t);
	call(&t, "GET", "/app.js", 0, NULL, 0);
	T_CHECK(t.resp.status == 404);
	done(&t);
	srv.web_root = old;
}

T_TEST(json_escaping)
{
	struct http_resp r;
	json_t *j;

	/* the escaper itself is tested in test_shared_util.c */
	http_resp_init(&r);
	http_resp_error(&r, 400, "field '%s' bad", "x\"y");
	j = json_loads(buf_cstr(&r.body), 0, NULL);
	T_CHECK(r.status == 400 && j && json_is_false(json_object_get(j, "success")) &&
		strcmp(json_string_value(json_object_get(j, "message")), "field 'x\"y' bad") == 0);
	json_decref(j);
	http_resp_release(&r);
}

static int rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const char *root = getenv("FLEETPROF_ROOT");
	char schema[1024], db[300], err[256];
	char *const argv[] = { "test", NULL };
	int rc;

	log_init("test", LOG_ERROR);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(schema, sizeof(schema), "%s/schema", root ? root : ".");
	snprintf(db, sizeof(db), "%s/fp.db", tmpdir);
	if (config_parse(&cfg, 1, argv, NULL, err, sizeof(err)) != CONFIG_RUN)
		return 1;
	if (tokens_load(&toks, "/nonexistent", AGENT, ADMIN) != 0)
		return 1;
	srv.cfg = &cfg;
	srv.tokens = &toks;
	srv.now = fixed_now;
	srv.max_query_stacks = 100000;
	srv.store = store_open(db, schema);

	T_RUN(route_table);
	T_RUN(errors_are_json_with_allow);
	T_RUN(accept_encoding_gzip);
	T_RUN(param_parsing);
	T_RUN(json_escaping);
	T_RUN(static_files);
	if (srv.store) {
		T_RUN(auth);
		T_RUN(validation_names_the_field);
		T_RUN(body_limits);
		T_RUN(upload_then_query_exact);
		T_RUN(upload_gzip_errors);
		T_RUN(command_flow);
	} else {
		printf("skip store_backed: store_open(%s, %s) failed: %s\n", db, schema,
		       strerror(errno));
	}
	store_close(srv.store);
	rc = t_done();
	rm_tree(tmpdir);
	return rc;
}
