/* handlers_hosts.c — what the control store knows, as JSON: host_status, services, commands. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "handlers.h"
#include "log.h"
#include "store/control.h"
#include "store/samples.h"
#include "util.h"

#define NAME_MAX_LEN     256
#define COMMANDS_DEFAULT 100
#define MAX_SERVICES     100000

json_t *json_time(int64_t t)
{
	char b[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0)
		return json_null();
	if (!gmtime_r(&tt, &tm) || strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(b);
}

/* A string, or JSON null for NULL. */
static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *service_param(const struct http_req *req, bool *bad, struct http_resp *resp)
{
	const char *v = q_str(req, "service_name", NAME_MAX_LEN, bad, resp);

	if (!v && !*bad)
		v = q_str(req, "service", NAME_MAX_LEN, bad, resp);
	return v;
}

/* ---- host_status ---- */

struct hosts_ctx {
	json_t *list;
	int64_t now, window, active;
};

static int host_row(void *ctx, const struct ctl_host *h)
{
	struct hosts_ctx *c = ctx;
	bool active = c->now - h->last_seen <= c->window;
	json_t *o = json_object();

	if (!o || json_array_append_new(c->list, o))
		return -ENOMEM;
	json_object_set_new(o, "hostname", str_or_null(h->hostname));
	json_object_set_new(o, "service_name", str_or_null(h->service_name));
	json_object_set_new(o, "ip_address", str_or_null(h->ip_address));
	json_object_set_new(o, "agent_version", str_or_null(h->agent_version));
	json_object_set_new(o, "last_heartbeat", json_time(h->last_seen));
	json_object_set_new(o, "status", json_string(active ? "active" : "offline"));
	json_object_set_new(o, "command_id", str_or_null(h->command_id));
	json_object_set_new(o, "command_type", str_or_null(h->command_type));
	json_object_set_new(o, "command_status", str_or_null(h->command_status));
	c->active += active;
	return 0;
}

int h_host_status(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	bool bad = false;
	const char *service = service_param(req, &bad, resp), *host = NULL;
	struct hosts_ctx c = { .list = json_array(), .now = s->now(),
			       .window = 3 * (int64_t)s->cfg->heartbeat_interval };
	int rc;

	if (!bad)
		host = q_str(req, "hostname", NAME_MAX_LEN, &bad, resp);
	if (bad || !c.list)
		goto out;
	rc = s->control->ops->host_status(s->control, service, host, host_row, &c);
	if (rc) {
		log_warn("host_status: store error: %s", strerror(-rc));
		http_resp_error(resp, 500, "host status query failed");
		goto out;
	}
	http_resp_json(resp, 200, json_pack("{s:O, s:I, s:I}", "hosts", c.list, "active_count",
					    (json_int_t)c.active, "total_count",
					    (json_int_t)json_array_size(c.list)));
out:
	json_decref(c.list);
	return 0;
}

/* ---- services: hosts from the control store, uploads from the sample store ---- */

struct service {
	char *name;
	int64_t hosts, last_seen, last_profile;
};

struct services {
	struct service *v;
	size_t n, cap;
	size_t merged;    /* the control rows, sorted, that sample rows are merged into */
};

static struct service *service_add(struct services *l, const char *name)
{
	struct service *sv;

	if (ARRAY_GROW(l->v, l->cap, l->n + 1, 2 * MAX_SERVICES))
		return NULL;
	sv = &l->v[l->n];
	memset(sv, 0, sizeof(*sv));
	sv->name = strdup(name);
	if (!sv->name)
		return NULL;
	l->n++;
	return sv;
}

static int control_service(void *ctx, const struct ctl_service *cs)
{
	struct service *sv = service_add(ctx, cs->service_name);

	if (!sv)
		return -ENOMEM;
	sv->hosts = cs->hosts;
	sv->last_seen = cs->last_seen;
	return 0;
}

static int sample_service(void *ctx, const struct smp_service *ss)
{
	struct services *l = ctx;
	size_t lo = 0, hi = l->merged;
	struct service *sv;

	while (lo < hi) {   /* the control rows are sorted by name */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].name, ss->service_name);

		if (c == 0) {
			l->v[mid].last_profile = ss->last_profile;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	sv = service_add(l, ss->service_name);
	if (!sv)
		return -ENOMEM;
	sv->last_profile = ss->last_profile;
	return 0;
}

static int service_cmp(const void *a, const void *b)
{
	return strcmp(((const struct service *)a)->name, ((const struct service *)b)->name);
}

int h_services(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct services l = { 0 };
	json_t *list = json_array();
	int rc;

	(void)req;
	rc = list ? s->control->ops->list_services(s->control, control_service, &l) : -ENOMEM;
	l.merged = l.n;
	if (!rc)
		rc = s->samples->ops->services(s->samples, sample_service, &l);
	if (rc) {
		log_warn("services: store error: %s", strerror(-rc));
		http_resp_error(resp, 500, "services query failed");
		goto out;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), service_cmp);
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(list, json_pack("{s:s, s:I, s:o, s:o}", "service_name",
						      l.v[i].name, "hosts", (json_int_t)l.v[i].hosts,
						      "last_seen", json_time(l.v[i].last_seen),
						      "last_profile", json_time(l.v[i].last_profile)));
	http_resp_json(resp, 200, json_pack("{s:O}", "services", list));
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	json_decref(list);
	return 0;
}

/* ---- commands ---- */

static int command_row(void *ctx, const struct ctl_cmd_row *c)
{
	json_t *o = json_object(), *cfg = c->config ? json_loads(c->config, 0, NULL) : NULL;

	if (!o || json_array_append_new(ctx, o)) {
		json_decref(cfg);
		return -ENOMEM;
	}
	json_object_set_new(o, "command_id", str_or_null(c->command_id));
	json_object_set_new(o, "request_id", str_or_null(c->request_id));
	json_object_set_new(o, "hostname", str_or_null(c->hostname));
	json_object_set_new(o, "service_name", str_or_null(c->service_name));
	json_object_set_new(o, "command_type", str_or_null(c->command_type));
	json_object_set_new(o, "status", str_or_null(c->status));
	json_object_set_new(o, "request_status", str_or_null(c->request_status));
	json_object_set_new(o, "combined_config", cfg ? cfg : json_null());
	json_object_set_new(o, "created_at", json_time(c->created_at));
	json_object_set_new(o, "sent_at", json_time(c->sent_at));
	json_object_set_new(o, "completed_at", json_time(c->completed_at));
	json_object_set_new(o, "execution_time", isnan(c->execution_time)
				   ? json_null() : json_real(c->execution_time));
	json_object_set_new(o, "error_message", str_or_null(c->error_message));
	json_object_set_new(o, "results_path", str_or_null(c->results_path));
	return 0;
}

int h_commands(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	bool bad = false;
	const char *service = service_param(req, &bad, resp), *host = NULL;
	int64_t limit, offset, total = 0;
	json_t *list = json_array();
	int rc;

	if (!bad)
		host = q_str(req, "hostname", NAME_MAX_LEN, &bad, resp);
	if (bad || !list || q_int(req, "limit", COMMANDS_DEFAULT, 1, CTL_MAX_LIST, &limit, resp) ||
	    q_int(req, "offset", 0, 0, 1000000000, &offset, resp))
		goto out;
	rc = s->control->ops->list_commands(s->control, host, service, limit, offset, &total,
					    command_row, list);
	if (rc) {
		log_warn("commands: store error: %s", strerror(-rc));
		http_resp_error(resp, 500, "commands query failed");
		goto out;
	}
	http_resp_json(resp, 200, json_pack("{s:O, s:I, s:I, s:I}", "commands", list, "total",
					    (json_int_t)total, "limit", (json_int_t)limit,
					    "offset", (json_int_t)offset));
out:
	json_decref(list);
	return 0;
}
