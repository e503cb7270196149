/* server_api_harness.h — drive the router and handlers without a socket, on a real store
 * (SQLite in a temp dir, migrations from $FLEETPROF_ROOT/schema), for test_server_routes.c and
 * test_server_api.c. Header-only (static), like t.h: it uses the server's own functions, which
 * only the server's tests link.
 *
 *   if (harness_open()) return 1;  ... call(&t, "GET", "/api/v1/services", 'd', NULL, 0); ...
 *   expect(&t, 200, NULL); done(&t); ... harness_close();
 */
#ifndef FP_SERVER_API_HARNESS_H
#define FP_SERVER_API_HARNESS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "routes.h"
#include "server_fixtures.h"
#include "store/store.h"
#include "tokens.h"

#define NOW 1800000000LL   /* 2027-01-15T08:00:00Z */
#define AGENT "agent-secret"
#define ADMIN "admin-secret"

static struct config cfg;
static struct tokens toks;
static struct srv srv;
static struct store store;
static char tmpdir[256];

static int64_t __attribute__((unused)) fixed_now(void)
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
static void __attribute__((unused)) call(struct treq *t, const char *method, const char *url, char tok, const char *body,
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

static void __attribute__((unused)) done(struct treq *t)
{
	json_decref(t->json);
	http_resp_release(&t->resp);
}

static const char *__attribute__((unused)) msg(const struct treq *t)
{
	json_t *m = json_object_get(t->json, "message");

	return json_is_string(m) ? json_string_value(m) : "";
}

/* status and, for errors, the message must contain want */
static int __attribute__((unused)) expect(struct treq *t, int status, const char *want)
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

/* Config with defaults, fixed tokens and a fixed clock, a fresh store. 0, or 1 (printed). */
static int __attribute__((unused)) harness_open(const char *name)
{
	char *const argv[] = { "test", NULL };
	struct store_options o = { .schema_dir = sfx_schema() };
	char db[300], err[256];
	const char *d;
	int rc;

	log_init(name, LOG_ERROR);
	d = sfx_tmpdir("fp-routes");
	if (!d) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", d);
	snprintf(db, sizeof(db), "%s/fp.db", tmpdir);
	if (config_parse(&cfg, 1, argv, NULL, err, sizeof(err)) != CONFIG_RUN ||
	    tokens_load(&toks, "/nonexistent", AGENT, ADMIN) != 0)
		return 1;
	srv.cfg = &cfg;
	srv.tokens = &toks;
	srv.now = fixed_now;
	srv.max_query_stacks = 100000;
	rc = store_open(&store, db, NULL, &o);
	if (rc) {
		printf("FAIL harness: store_open(%s, %s): %s\n", db, o.schema_dir, strerror(-rc));
		return 1;
	}
	srv.control = store.control;
	srv.samples = store.samples;
	return 0;
}

static void __attribute__((unused)) harness_close(void)
{
	store_close(&store);
	sfx_rmtree(tmpdir);
}

#endif
