/* test_server_routes.c — the router without handlers' side effects: route matching
 * (404/405/Allow), JSON errors, auth, Accept-Encoding, query-parameter parsing, static files,
 * the error escaper. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "util.h"
#include "t.h"
#include "server_api_harness.h"
#include "static.h"

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

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
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
		{ "GET", "/api/v1/health_check", 'k', 200 },          /* a good key: fine */
		{ "GET", "/api/v1/health_check?key=" AGENT, 0, 200 },
		{ "GET", "/api/v1/health_check?key=nope", 0, 400 },   /* a wrong one: Invalid API key */
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

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct treq t;

		call(&t, cases[i].method, cases[i].url, cases[i].tok, NULL, 0);
		T_CHECKF(t.resp.status == cases[i].status, "%s %s tok %c: %d %s", cases[i].method,
			 cases[i].url, cases[i].tok ? cases[i].tok : '-', t.resp.status,
			 buf_cstr(&t.resp.body));
		if (cases[i].status == 401)
			T_CHECK(expect(&t, 401, "token"));
		if (!strcmp(cases[i].url, "/api/v1/health_check?key=nope"))
			T_CHECK(expect(&t, 400, "Invalid API key"));
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
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
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

	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
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

		for (size_t i = 0; i < ARRAY_SIZE(lims); i++) {
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

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
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
	/* a message quoting bytes that are not UTF-8 (found by fuzz_server_bodies) stays JSON */
	http_resp_error(&r, 400, "near '%s'", "a\xd8\xaa\xff\xc0\x80" "b\xe2\x82\xac");
	j = json_loads(buf_cstr(&r.body), 0, NULL);
	T_CHECKF(j && strcmp(json_string_value(json_object_get(j, "message")),
			     "near 'a\xd8\xaa???b\xe2\x82\xac'") == 0, "%s", buf_cstr(&r.body));
	json_decref(j);
	T_CHECK(http_utf8_valid("\xf0\x9f\x94\xa5", 4) && !http_utf8_valid("\xed\xa0\x80", 3));
	http_resp_release(&r);
	/* nor does a query parameter that is not UTF-8 reach an answer */
	{
		struct treq t;

		call(&t, "GET", "/api/v1/flamegraph?service=a\xff", 'd', NULL, 0);
		T_CHECK(expect(&t, 400, "UTF-8"));
		done(&t);
	}
}

int main(void)
{
	int rc;

	if (harness_open("test_server_routes"))
		return 1;
	T_RUN(route_table);
	T_RUN(errors_are_json_with_allow);
	T_RUN(accept_encoding_gzip);
	T_RUN(param_parsing);
	T_RUN(json_escaping);
	T_RUN(static_files);
	T_RUN(auth);
	rc = t_done();
	harness_close();
	return rc;
}
