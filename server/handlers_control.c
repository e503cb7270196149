/* handlers_control.c — POST /api/metrics/profile_request: the request checked, each target
 * host's combined_config written (gProfiler's shape), and the commands created. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "jsonv.h"
#include "log.h"
#include "profiler_cfg.h"
#include "store/control.h"

#define NAME_MAX_LEN     256
#define MAX_TARGETS      10000
#define MAX_PIDS         1000            /* per host */
#define RECENT_WINDOW    300             /* no target_hosts: hosts heard from in 5 minutes */
#define DEFAULT_DURATION 60
#define DEFAULT_FREQ     11

static const char *const req_types[] = { "start", "stop", NULL };
static const char *const modes[] = { "cpu", "allocation", "none", NULL };
static const char *const stop_levels[] = { "process", "host", NULL };
static const char *const scopes[] = { "host", NULL };

/* One target host as asked. */
struct target {
	const char *hostname;
	const int64_t *pids;    /* NULL/0: the whole host */
	size_t n_pids;
};

struct targets {
	struct target *t;
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

static int add_pids(struct targets *tg, struct target *t, json_t *v, const char *field,
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
		if (json_object_size(map) == 0) {
			/* Performance Studio: "target_hosts cannot be empty"; leave it out to target
			 * every recent host of the service */
			http_resp_error(resp, 400, "field '%s' must not be empty", field);
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
	if (!json_is_array(names) || json_array_size(names) == 0 ||
	    json_array_size(names) > MAX_TARGETS) {
		http_resp_error(resp, 400, "field 'target_hostnames' must be an array of 1 to %d "
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

/* Performance Studio's rules for a stop's level: "process" needs pids for at least one host,
 * "host" takes none. Without stop_level (a fleetprof extension), pids make it "process" and none
 * "host". 0, or 1 after answering. */
static int check_stop_level(int type, int level, const struct targets *tg, struct http_resp *resp)
{
	bool any_pids = false;

	if (type != 1 || level < 0)
		return 0;
	for (size_t i = 0; i < tg->n; i++)
		any_pids |= tg->t[i].n_pids > 0;
	if (!strcmp(stop_levels[level], "process") && !any_pids) {
		http_resp_error(resp, 400, "field 'stop_level': a stop at 'process' level needs the "
				"pids to stop in 'target_hosts'");
		return 1;
	}
	if (!strcmp(stop_levels[level], "host") && any_pids) {
		http_resp_error(resp, 400, "field 'stop_level': a stop at 'host' level takes no pids "
				"in 'target_hosts'");
		return 1;
	}
	return 0;
}

/* The request as asked, after defaults. */
struct preq {
	const char *service;
	int type;               /* index in req_types */
	bool continuous;
	int64_t duration, frequency;
	int mode;               /* index in modes */
	int level;              /* index in stop_levels, -1 when not given */
	json_t *extra;          /* additional_args (borrowed), may be NULL */
	bool dry_run;           /* check and answer, create nothing */
};

/* Performance Studio's workload-level targets (target_scope other than "host",
 * target_entities) are not resolved here: refused rather than widened to whole hosts.
 * 0, or 1 after answering. */
static int check_scope(json_t *j, struct http_resp *resp)
{
	json_t *ents = json_object_get(j, "target_entities");
	struct jv_err err;
	int scope = 0;

	if (jv_enum(j, "target_scope", false, scopes, &scope, &err) < 0) {
		http_resp_error(resp, 400, "field 'target_scope': only 'host' targets are supported");
		return 1;
	}
	if (ents && !json_is_null(ents) && !(json_is_array(ents) && !json_array_size(ents))) {
		http_resp_error(resp, 400, "field 'target_entities': workload targets are not "
				"supported; name the hosts in 'target_hosts'");
		return 1;
	}
	return 0;
}

static json_t *pids_json(const int64_t *pids, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(pids[i]));
	return a;
}

/* One host's combined_config, gProfiler's shape: {duration, frequency, profiling_mode,
 * continuous, pids?, ...additional_args} for a start, {stop_level, pids?, ...} for a stop
 * (stop_level defaults to "process" with pids, else "host"); additional_args never override
 * these keys. A malloc'd compact JSON text, or NULL. */
static char *combined_config(const struct preq *q, const struct target *t)
{
	bool has_pids = t && t->pids && t->n_pids;
	json_t *cfg = json_object();
	char *text;

	if (!cfg)
		return NULL;
	if (q->type == 0) {
		json_object_set_new(cfg, "duration", json_integer(q->duration));
		json_object_set_new(cfg, "frequency", json_integer(q->frequency));
		json_object_set_new(cfg, "profiling_mode", json_string(modes[q->mode]));
		json_object_set_new(cfg, "continuous", json_boolean(q->continuous));
	} else {
		const char *lvl = q->level >= 0 ? stop_levels[q->level] : has_pids ? "process" : "host";

		json_object_set_new(cfg, "stop_level", json_string(lvl));
	}
	if (has_pids)
		json_object_set_new(cfg, "pids", pids_json(t->pids, t->n_pids));
	if (q->extra)
		json_object_update_missing(cfg, q->extra);
	text = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	return text;
}

/* The request's own parameters, kept with it. */
static char *request_config(const struct preq *q)
{
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:s, s:s?}", "request_type",
			      req_types[q->type], "continuous", q->continuous, "duration",
			      (json_int_t)q->duration, "frequency", (json_int_t)q->frequency,
			      "profiling_mode", modes[q->mode], "stop_level",
			      q->level >= 0 ? stop_levels[q->level] : NULL);
	char *text;

	if (!o)
		return NULL;
	if (q->extra)
		json_object_set(o, "extra", q->extra);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

/* The store's request: every target's config (hosts without pids share one text). 0, or 1
 * after answering. *texts gets what to free. */
static int build_request(const struct preq *q, const struct targets *tg, struct ctl_request *r,
			 char ***texts, size_t *n_texts, struct http_resp *resp)
{
	struct ctl_target *t = NULL;
	char *shared = combined_config(q, NULL);

	*texts = calloc(tg->n + 2, sizeof(**texts));
	if (!*texts) {
		free(shared);
		goto oom;
	}
	(*texts)[(*n_texts)++] = shared;
	if (!shared || (tg->n && !(t = calloc(tg->n, sizeof(*t)))))
		goto oom;
	for (size_t i = 0; i < tg->n; i++) {
		t[i].hostname = tg->t[i].hostname;
		t[i].config = shared;
		if (tg->t[i].n_pids) {
			char *own = combined_config(q, &tg->t[i]);

			if (!own)
				goto oom;
			(*texts)[(*n_texts)++] = own;
			t[i].config = own;
		}
	}
	r->config = request_config(q);
	if (!r->config)
		goto oom;
	(*texts)[(*n_texts)++] = (char *)r->config;
	r->service_name = q->service;
	r->type = q->type == 0 ? CTL_REQ_START : CTL_REQ_STOP;
	r->targets = t;
	r->n_targets = tg->n;
	r->host_config = shared;
	r->recent_window = RECENT_WINDOW;
	return 0;
oom:
	free(t);
	http_resp_error(resp, 500, "out of memory");
	return 1;
}

/* {success, message, request_id, status, command_ids, estimated_completion_time}: the time is
 * when a start's profiles should be done (now + duration), null for a stop. */
static json_t *request_answer(const struct preq *q, const struct ctl_created *c, int64_t now)
{
	json_t *ids = json_array();
	char msg[128];

	for (size_t i = 0; ids && i < c->n; i++)
		json_array_append_new(ids, json_string(c->command_ids[i]));
	snprintf(msg, sizeof(msg), "%s request created for %zu host%s", req_types[q->type], c->n,
		 c->n == 1 ? "" : "s");
	return json_pack("{s:b, s:s, s:s, s:s, s:o, s:o}", "success", 1, "message", msg,
			 "request_id", c->request_id, "status", "pending", "command_ids", ids,
			 "estimated_completion_time",
			 q->type == 0 ? json_time(now + q->duration) : json_null());
}

int h_profile_request(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct preq q = { .duration = DEFAULT_DURATION, .frequency = DEFAULT_FREQ, .level = -1 };
	struct ctl_request r = { 0 };
	struct ctl_created created = { 0 };
	struct targets tg = { 0 };
	struct jv_err err;
	char **texts = NULL;
	size_t n_texts = 0;
	json_t *j;
	int rc;

	if (!req->body_len)
		return http_resp_error(resp, 400, "a JSON object body is required");
	j = jv_parse_object(req->body, req->body_len, &err);
	if (!j)
		return http_resp_error(resp, 400, "malformed JSON: %s", err.msg);
	if (jv_string(j, "service_name", true, NAME_MAX_LEN, &q.service, &err) < 0 ||
	    jv_enum(j, "request_type", true, req_types, &q.type, &err) < 0 ||
	    jv_bool(j, "continuous", false, &q.continuous, &err) < 0 ||
	    /* what an agent can run: a profile of at most a day, at most 1,000 Hz */
	    jv_int(j, "duration", false, 1, 86400, &q.duration, &err) < 0 ||
	    jv_int(j, "frequency", false, 1, 1000, &q.frequency, &err) < 0 ||
	    jv_enum(j, "profiling_mode", false, modes, &q.mode, &err) < 0 ||
	    jv_enum(j, "stop_level", false, stop_levels, &q.level, &err) < 0 ||
	    jv_object(j, "additional_args", false, &q.extra, &err) < 0 ||
	    jv_bool(j, "dry_run", false, &q.dry_run, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (!*q.service) {
		http_resp_error(resp, 400, "field 'service_name' must not be empty");
		goto out;
	}
	if (pcfg_check(q.extra, err.msg, sizeof(err.msg))) {
		http_resp_error(resp, 400, "%s", err.msg);
		goto out;
	}
	if (check_scope(j, resp) || parse_targets(j, &tg, resp) ||
	    check_stop_level(q.type, q.level, &tg, resp) ||
	    build_request(&q, &tg, &r, &texts, &n_texts, resp))
		goto out;
	if (q.dry_run) {   /* as Performance Studio answers one */
		http_resp_json(resp, 200, json_pack("{s:b, s:s, s:n, s:[], s:n}", "success", 1,
						    "message", "Dry run: profiling request validated",
						    "request_id", "command_ids",
						    "estimated_completion_time"));
		goto out;
	}
	r.now = s->now();
	rc = s->control->ops->create_request(s->control, &r, &created);
	if (rc == -ENOENT)
		http_resp_error(resp, 404, "no target hosts: no host of service '%s' was heard from "
				"in the last %d minutes; name them in 'target_hosts'", q.service,
				RECENT_WINDOW / 60);
	else if (rc == -EINVAL)
		http_resp_error(resp, 400, "invalid profiling request");
	else if (rc) {
		log_warn("profile_request for %s: store error: %s", q.service, strerror(-rc));
		http_resp_error(resp, 500, "could not create the request");
	} else {
		http_resp_json(resp, 200, request_answer(&q, &created, r.now));
	}
out:
	ctl_created_release(&created);
	for (size_t i = 0; i < n_texts; i++)
		free(texts[i]);
	free(texts);
	free((void *)r.targets);
	targets_release(&tg);
	json_decref(j);
	return 0;
}
