/* fuzz_server_bodies.c — libFuzzer target for the agent and control request bodies, through the
 * router and the real handlers: heartbeat, command_completion, profile_request. The control
 * store behind them is a stub (no database), which checks what the handlers hand it.
 *
 * Input: one byte choosing the endpoint, then the JSON body.
 * Invariants: every answer has a status and a JSON body (a 2xx or {"success": false, message});
 * every combined_config and request config a handler writes is a JSON object; the heartbeat
 * answer is valid JSON around the stored config. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "routes.h"
#include "store/control.h"
#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_be_object(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(j))
		abort();
	json_decref(j);
}

/* ---- a control store that remembers nothing ---- */

static int stub_heartbeat(struct control *c, const struct ctl_heartbeat *hb, struct ctl_command *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	if (!hb->hostname || !*hb->hostname || !hb->service_name || !*hb->service_name)
		abort();   /* the handler refuses these itself */
	if (hb->n_received > CTL_MAX_IDS || hb->n_executed > CTL_MAX_IDS)
		abort();
	if (hb->n_received % 2) {   /* sometimes a command, with a config a request once wrote */
		snprintf(out->command_id, sizeof(out->command_id), "%s",
			 "00000000-0000-4000-8000-000000000000");
		snprintf(out->command_type, sizeof(out->command_type), "start");
		out->config = strdup("{\"duration\":60,\"pids\":[1,2]}");
		if (!out->config)
			return -ENOMEM;
	}
	return 0;
}

static int stub_create(struct control *c, const struct ctl_request *r, struct ctl_created *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	must_be_object(r->config);
	if (!r->n_targets)
		must_be_object(r->host_config);
	for (size_t i = 0; i < r->n_targets; i++) {
		if (!r->targets[i].hostname || !*r->targets[i].hostname)
			abort();
		must_be_object(r->targets[i].config);
	}
	out->n = r->n_targets ? r->n_targets : 1;
	out->command_ids = calloc(out->n, sizeof(*out->command_ids));
	if (!out->command_ids)
		return -ENOMEM;
	snprintf(out->request_id, sizeof(out->request_id), "%s",
		 "11111111-1111-4111-8111-111111111111");
	for (size_t i = 0; i < out->n; i++)
		snprintf(out->command_ids[i], sizeof(out->command_ids[i]), "%036zu", i);
	return 0;
}

static int stub_complete(struct control *c, const char *command_id, const char *hostname,
			 enum ctl_cmd_status status, double execution_time,
			 const char *error_message, const char *results_path, int64_t now)
{
	(void)c;
	(void)hostname;
	(void)status;
	(void)error_message;
	(void)results_path;
	(void)now;
	if (!(execution_time >= 0))
		abort();
	return command_id[0] == '0' ? -ENOENT : 0;
}

static const struct control_ops stub_ops = {
	.name = "stub",
	.heartbeat = stub_heartbeat,
	.create_request = stub_create,
	.complete_command = stub_complete,
};

static int64_t fixed_now(void)
{
	return 1800000000;
}

static const struct {
	const char *path;
	const char *auth;
} endpoints[] = {
	{ "/api/metrics/heartbeat", "Bearer agent" },
	{ "/api/metrics/command_completion", "Bearer agent" },
	{ "/api/metrics/profile_request", "Bearer admin" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct tokens toks;
	static struct control stub = { .ops = &stub_ops };
	static struct srv srv;
	struct http_resp resp;
	struct http_req req;
	json_t *answer;

	if (!srv.cfg) {
		char *const argv[] = { "fuzz", NULL };
		char err[256];

		log_init("fuzz", LOG_ERROR);
		if (config_parse(&cfg, 1, argv, NULL, err, sizeof(err)) != CONFIG_RUN ||
		    tokens_load(&toks, "/nonexistent", "agent", "admin") != 0)
			abort();
		srv = (struct srv){ .control = &stub, .cfg = &cfg, .tokens = &toks, .now = fixed_now,
				    .max_query_stacks = 1000 };
	}
	if (size < 1)
		return 0;
	memset(&req, 0, sizeof(req));
	req.method = HTTP_POST;
	req.path = endpoints[data[0] % 3].path;
	req.authorization = endpoints[data[0] % 3].auth;
	req.body = size > 1 ? (const char *)data + 1 : NULL;
	req.body_len = size - 1;
	http_resp_init(&resp);
	routes_handle(&srv, &req, &resp);
	answer = json_loads(buf_cstr(&resp.body), 0, NULL);
	if (!resp.status || !json_is_object(answer))
		abort();
	if (resp.status >= 400 && !json_is_false(json_object_get(answer, "success")))
		abort();
	json_decref(answer);
	http_resp_release(&resp);
	return 0;
}
