/* routes.c — the route table and the dispatcher. See routes.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "routes.h"
#include "config.h"
#include "log.h"
#include "tokens.h"
#include "util.h"

#define GET  (HTTP_GET | HTTP_HEAD)
#define POST HTTP_POST

const struct route routes_table[] = {
	/* agent API */
	{ GET,  "/api/v1/health_check",           false, ROUTE_AUTH_PROBE, ROUTE_BODY_NONE,   h_health },
	{ POST, "/api/metrics/heartbeat",         false, ROUTE_AUTH_AGENT, ROUTE_BODY_JSON,   h_heartbeat },
	{ POST, "/api/metrics/command_completion", false, ROUTE_AUTH_AGENT, ROUTE_BODY_JSON,  h_command_completion },
	{ POST, "/api/v2/profiles",               false, ROUTE_AUTH_AGENT, ROUTE_BODY_UPLOAD, h_profile_upload },
	/* control API */
	{ POST, "/api/metrics/profile_request",   false, ROUTE_AUTH_ADMIN, ROUTE_BODY_JSON,   h_profile_request },
	{ GET,  "/api/metrics/profiling/host_status", false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE, h_host_status },
	{ GET,  "/api/metrics/commands",          false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE,   h_commands },
	{ GET,  "/api/v1/services",               false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE,   h_services },
	/* query API */
	{ GET,  "/api/v1/flamegraph",             false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE,   h_flamegraph },
	{ GET,  "/api/v1/top_functions",          false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE,   h_top_functions },
	{ GET,  "/api/v1/metrics",                false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE,   h_metrics },
	{ GET,  "/api/v1/containers",             false, ROUTE_AUTH_ADMIN, ROUTE_BODY_NONE,   h_containers },
	/* the dashboard: everything else that is not under /api/ */
	{ GET,  "/",                              true,  ROUTE_AUTH_NONE,  ROUTE_BODY_NONE,   h_static },
};
const size_t routes_count = ARRAY_SIZE(routes_table);

static bool path_matches(const struct route *r, const char *path)
{
	if (!r->prefix)
		return strcmp(r->path, path) == 0;
	if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0)
		return false;
	return strncmp(r->path, path, strlen(r->path)) == 0;
}

static void allow_list(unsigned methods, char *out, size_t n)
{
	static const enum http_method order[] = { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT,
						  HTTP_DELETE, HTTP_PATCH };
	size_t len = 0;

	out[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		int w;

		if (!(methods & order[i]))
			continue;
		w = snprintf(out + len, n - len, "%s%s", len ? ", " : "", http_method_name(order[i]));
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

const struct route *routes_match(const struct http_req *req, int *status, char *allow,
				 size_t allow_len)
{
	unsigned methods = 0;

	for (size_t i = 0; i < routes_count; i++) {
		const struct route *r = &routes_table[i];

		if (!path_matches(r, req->path))
			continue;
		if (r->methods & req->method)
			return r;
		methods |= r->methods;
	}
	if (methods) {
		*status = 405;
		if (allow && allow_len)
			allow_list(methods, allow, allow_len);
	} else {
		*status = 404;
		if (allow && allow_len)
			allow[0] = 0;
	}
	return NULL;
}

static const char *bearer(const char *h)
{
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

/* 0 when req carries a token good enough for the route, else the status to answer. Agent routes
 * take the agent or the admin token (Authorization: Bearer, GPROFILER-API-KEY, or gProfiler's
 * ?key=), else 401; admin routes only the admin token (not as ?key=), else 401. A probe route
 * (the health check) is open, but a key that is presented and wrong is 400, as Performance
 * Studio answers, so that a misconfigured agent fails when it starts. */
static int check_auth(const struct srv *s, const struct route *r, const struct http_req *req)
{
	const char *b = bearer(req->authorization);
	const char *k = req->api_key;
	/* gProfiler's agent also sends its key as ?key= on every request */
	const char *q = r->auth != ROUTE_AUTH_ADMIN ? http_req_param(req, "key") : NULL;
	int ok;

	switch (r->auth) {
	case ROUTE_AUTH_NONE:
		return 0;
	case ROUTE_AUTH_PROBE:
		if (!b && !k && !q)
			return 0;
		__attribute__((fallthrough));
	case ROUTE_AUTH_AGENT:
		/* evaluate all of them so the time does not depend on which one matched */
		ok = (int)tokens_equal(b, s->tokens->agent);
		ok |= (int)tokens_equal(k, s->tokens->agent);
		ok |= (int)tokens_equal(q, s->tokens->agent);
		ok |= (int)tokens_equal(b, s->tokens->admin);
		ok |= (int)tokens_equal(k, s->tokens->admin);
		if (ok)
			return 0;
		return r->auth == ROUTE_AUTH_PROBE ? 400 : 401;
	case ROUTE_AUTH_ADMIN:
		ok = (int)tokens_equal(b, s->tokens->admin);
		ok |= (int)tokens_equal(k, s->tokens->admin);
		return ok ? 0 : 401;
	}
	return 401;
}

static size_t body_limit(const struct srv *s, const struct route *r)
{
	switch (r->body) {
	case ROUTE_BODY_NONE:
		return 0;
	case ROUTE_BODY_JSON:
		return HTTP_JSON_MAX;
	case ROUTE_BODY_UPLOAD:
		return config_upload_max(s->cfg);
	}
	return 0;
}

/* Answer a refusal (no route, credentials, body size). */
static void refuse(struct http_resp *resp, const struct route *r, int status, const char *allow)
{
	switch (status) {
	case 400:
		http_resp_error(resp, 400, r && r->auth == ROUTE_AUTH_PROBE ? "Invalid API key"
									   : "bad request");
		break;
	case 401:
		http_resp_error(resp, 401, "missing or invalid token");
		break;
	case 404:
		http_resp_error(resp, 404, "not found");
		break;
	case 405:
		http_resp_error(resp, 405, "method not allowed");
		snprintf(resp->allow, sizeof(resp->allow), "%s", allow ? allow : "");
		break;
	case 413:
		http_resp_error(resp, 413, "request body too large");
		break;
	default:
		http_resp_error(resp, status, "error");
		break;
	}
}

static void admit(void *ctx, const struct http_req *req, struct http_admission *adm)
{
	const struct srv *s = ctx;
	const struct route *r;

	memset(adm, 0, sizeof(*adm));
	r = routes_match(req, &adm->status, adm->allow, sizeof(adm->allow));
	if (!r)
		return;
	adm->route = r;
	adm->body_limit = body_limit(s, r);
	adm->status = check_auth(s, r, req);
}

static void run(void *ctx, const struct http_admission *adm, const struct http_req *req,
		struct http_resp *resp)
{
	struct srv *s = ctx;
	const struct route *r = adm->route;

	if (adm->status || !r) {
		refuse(resp, r, adm->status ? adm->status : 500, adm->allow);
		return;
	}
	if (req->params_overflow) {
		http_resp_error(resp, 400, "too many query parameters (at most %d)", HTTP_MAX_PARAMS);
		return;
	}
	if (r->fn(s, req, resp) < 0 || !resp->status) {
		log_warn("%s %s: handler failed", http_method_name(req->method), req->path);
		http_resp_error(resp, 500, "internal error");
	}
}

const struct http_dispatch routes_dispatch = { .admit = admit, .run = run };

void routes_handle(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct http_admission adm;

	admit(s, req, &adm);
	if (!adm.status && req->body_len > adm.body_limit)
		adm.status = 413;
	run(s, &adm, req, resp);
}
