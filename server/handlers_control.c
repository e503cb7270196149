/* handlers_control.c — the control API: profile_request, host_status, services, commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "config.h"
#include "jsonv.h"
#include "log.h"
#include "store/store.h"

#define NAME_MAX_LEN     256
#define MAX_TARGETS      10000
#define MAX_PIDS         1000            /* per host */
#define RECENT_WINDOW    300             /* no target_hosts: hosts heard from in 5 minutes */
#define DEFAULT_DURATION 60
#define DEFAULT_FREQ     11
#define COMMANDS_DEFAULT 100
#define COMMANDS_MAX     1000

static const char *const req_types[] = { "start", "stop", NULL };
static const char *const modes[] = { "cpu", "allocation", "none", NULL };
static const char *const stop_levels[] = { "process", "host", NULL };

struct targets {
	struct store_target *t;
	int64_t *pids;          /* all hosts' pids, one block */
	size_t n, n_pids;
};

static void targets_release(struct targets *tg)
{
	free(tg->t);
	free(tg->pids);
}

/* Count the pids a value holds (array of integers or null). -1 when it is neither. */
static long pid_count(json_t *v)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return -1;
	return (long)json_array_size(v);
}

static int add_pids(struct targets *tg, struct store_target *t, json_t *v, const char *field,
		    struct http_resp *resp)
{
	size_t i;
	json_t *p;

	t->pids = NULL;
	t->n_pids = 0;
	if (!v || json_is_null(v) || json_array_size(v) == 0)
		return 0;
	t->pids = tg->pids + tg->n_pids;
	json_array_foreach(v, i, p) {
		if (!json_is_integer(p) || json_integer_value(p) <= 0 ||
		    json_integer_value(p) > 4194304) {
			http_resp_error(resp, 400, "field '%s' must hold process ids (positive "
					"integers)", field);
			return 1;
		}
		tg->pids[tg->n_pids++] = json_integer_value(p);
		t->n_pids++;
	}
	return 0;
}

/* target_hosts {host: [pids]|null} (DESIGN.md), or Performance Studio's host_pid_mapping, or
 * target_hostnames [..] with pids [..]. 0, or 1 after answering. */
static int parse_targets(json_t *j, struct targets *tg, struct http_resp *resp)
{
	json_t *map = json_object_get(j, "target_hosts"), *names, *pids, *v;
	const char *field = "target_hosts", *host;
	size_t total = 0, i;
	long c;

	memset(tg, 0, sizeof(*tg));
	if (!map || json_is_null(map)) {
		map = json_object_get(j, "host_pid_mapping");
		field = "host_pid_mapping";
	}
	if (map && !json_is_null(map)) {
		if (!json_is_object(map)) {
			http_resp_error(resp, 400, "field '%s' must be an object {hostname: [pids] | "
					"null}", field);
			return 1;
		}
		if (json_object_size(map) > MAX_TARGETS) {
			http_resp_error(resp, 400, "field '%s' has more than %d hosts", field,
					MAX_TARGETS);
			return 1;
		}
		json_object_foreach(map, host, v) {
			c = pid_count(v);
			if (c < 0 || c > MAX_PIDS) {
				http_resp_error(resp, 400, "field '%s' must map each hostname to an "
						"array of at most %d pids, or null", field, MAX_PIDS);
				return 1;
			}
			if (!*host || strlen(host) > NAME_MAX_LEN) {
				http_resp_error(resp, 400, "field '%s' has an empty or too long "
						"hostname", field);
				return 1;
			}
			total += (size_t)c;
		}
		tg->t = calloc(json_object_size(map) + 1, sizeof(*tg->t));
		tg->pids = malloc((total + 1) * sizeof(*tg->pids));
		if (!tg->t || !tg->pids) {
			http_resp_error(resp, 500, "out of memory");
			return 1;
		}
		json_object_foreach(map, host, v) {
			tg->t[tg->n].hostname = host;
			if (add_pids(tg, &tg->t[tg->n], v, field, resp))
				return 1;
			tg->n++;
		}
		return 0;
	}
	names = json_object_get(j, "target_hostnames");
	if (!names || json_is_null(names))
		return 0;
	pids = json_object_get(j, "pids");
	c = pid_count(pids);
	if (!json_is_array(names) || json_array_size(names) > MAX_TARGETS) {
		http_resp_error(resp, 400, "field 'target_hostnames' must be an array of at most %d "
				"hostnames", MAX_TARGETS);
		return 1;
	}
	if (c < 0 || c > MAX_PIDS) {
		http_resp_error(resp, 400, "field 'pids' must be an array of at most %d pids",
				MAX_PIDS);
		return 1;
	}
	tg->t = calloc(json_array_size(names) + 1, sizeof(*tg->t));
	tg->pids = malloc(((size_t)c + 1) * sizeof(*tg->pids));
	if (!tg->t || !tg->pids) {
		http_resp_error(resp, 500, "out of memory");
		return 1;
	}
	json_array_foreach(names, i, v) {
		if (!json_is_string(v) || !json_string_length(v) ||
		    json_string_length(v) > NAME_MAX_LEN) {
			http_resp_error(resp, 400, "field 'target_hostnames' must hold hostnames");
			return 1;
		}
		tg->t[tg->n].hostname = json_string_value(v);
		if (i == 0) {
			if (add_pids(tg, &tg->t[0], pids, "pids", resp))
				return 1;
		} else {   /* every host gets the same pid list */
			tg->t[tg->n].pids = tg->t[0].pids;
			tg->t[tg->n].n_pids = tg->t[0].n_pids;
		}
		tg->n++;
	}
	return 0;
}

int h_profile_request(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct store_request r;
	struct targets tg;
	struct jv_err err;
	json_t *j, *extra = NULL, *result = NULL;
	int type = 0, mode = 0, level = -1, rc;
	bool continuous = false;
	int64_t duration = DEFAULT_DURATION, freq = DEFAULT_FREQ;
	const char *service = NULL;

	memset(&tg, 0, sizeof(tg));
	memset(&r, 0, sizeof(r));
	if (!req->body_len)
		return http_resp_error(resp, 400, "a JSON object body is required");
	j = jv_parse_object(req->body, req->body_len, &err);
	if (!j)
		return http_resp_error(resp, 400, "malformed JSON: %s", err.msg);
	if (jv_string(j, "service_name", true, NAME_MAX_LEN, &service, &err) < 0 ||
	    jv_enum(j, "request_type", true, req_types, &type, &err) < 0 ||
	    jv_bool(j, "continuous", false, &continuous, &err) < 0 ||
	    /* what an agent can run: a profile of at most a day, at most 1,000 Hz */
	    jv_int(j, "duration", false, 1, 86400, &duration, &err) < 0 ||
	    jv_int(j, "frequency", false, 1, 1000, &freq, &err) < 0 ||
	    jv_enum(j, "profiling_mode", false, modes, &mode, &err) < 0 ||
	    jv_enum(j, "stop_level", false, stop_levels, &level, &err) < 0 ||
	    jv_object(j, "additional_args", false, &extra, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (!*service) {
		http_resp_error(resp, 400, "field 'service_name' must not be empty");
		goto out;
	}
	if (parse_targets(j, &tg, resp))
		goto out;
	r.service_name = service;
	r.type = type == 0 ? STORE_REQ_START : STORE_REQ_STOP;
	r.continuous = continuous;
	r.duration = duration;
	r.frequency = freq;
	r.profiling_mode = modes[mode];
	r.stop_level = level >= 0 ? stop_levels[level] : NULL;
	r.extra_config = extra;
	r.targets = tg.n ? tg.t : NULL;
	r.n_targets = tg.n;
	r.now = s->now();
	r.recent_window = RECENT_WINDOW;
	rc = store_create_request(s->store, &r, &result);
	if (rc == -ENOENT)
		http_resp_error(resp, 404, "no target hosts: no host of service '%s' was heard from "
				"in the last %d minutes; name them in 'target_hosts'", service,
				RECENT_WINDOW / 60);
	else if (rc == -EINVAL)
		http_resp_error(resp, 400, "invalid profiling request");
	else if (rc) {
		log_warn("profile_request for %s: store error: %s", service, strerror(-rc));
		http_resp_error(resp, 500, "could not create the request");
	} else {
		http_resp_json(resp, 200, result);
		result = NULL;
	}
out:
	json_decref(result);
	targets_release(&tg);
	json_decref(j);
	return 0;
}

static const char *service_param(const struct http_req *req, bool *bad, struct http_resp *resp)
{
	const char *v = q_str(req, "service_name", NAME_MAX_LEN, bad, resp);

	if (!v && !*bad)
		v = q_str(req, "service", NAME_MAX_LEN, bad, resp);
	return v;
}

int h_host_status(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	bool bad = false;
	const char *service = service_param(req, &bad, resp), *host = NULL;
	json_t *j;

	if (!bad)
		host = q_str(req, "hostname", NAME_MAX_LEN, &bad, resp);
	if (bad)
		return 0;
	j = store_host_status(s->store, service, host, s->now(),
			      3 * (int64_t)s->cfg->heartbeat_interval);
	if (!j)
		return http_resp_error(resp, 500, "host status query failed");
	http_resp_json(resp, 200, j);
	return 0;
}

int h_services(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	json_t *j;

	(void)req;
	j = store_list_services(s->store);
	if (!j)
		return http_resp_error(resp, 500, "services query failed");
	http_resp_json(resp, 200, j);
	return 0;
}

int h_commands(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	bool bad = false;
	const char *service = service_param(req, &bad, resp), *host = NULL;
	int64_t limit, offset;
	json_t *j;

	if (!bad)
		host = q_str(req, "hostname", NAME_MAX_LEN, &bad, resp);
	if (bad || q_int(req, "limit", COMMANDS_DEFAULT, 1, COMMANDS_MAX, &limit, resp) ||
	    q_int(req, "offset", 0, 0, 1000000000, &offset, resp))
		return 0;
	j = store_list_commands(s->store, host, service, limit, offset);
	if (!j)
		return http_resp_error(resp, 500, "commands query failed");
	http_resp_json(resp, 200, j);
	return 0;
}
