/* handlers_query.c — flame graph, top functions, metrics; and the query-parameter helpers the
 * other handler files share (declared in handlers.h).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "handlers.h"
#include "log.h"
#include "store/samples.h"
#include "timeutil.h"

#define QUERY_MAX_BYTES   (256u * 1024u * 1024u)  /* stack text a query may hold */
#define QUERY_MAX_NODES   2000000u                /* flame graph tree nodes (~80 MB of JSON) */
#define TOP_DEFAULT       100
#define TOP_MAX           100000
#define NAME_MAX_LEN      256

/* ---- parameter helpers ---- */

int q_parse_time(const char *s, int64_t *out)
{
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p == '-')
		p++;
	if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 12) {
		*out = strtoll(s, NULL, 10);
		return 0;
	}
	return time_parse_iso8601(s, out) == 0 ? 0 : -EINVAL;
}

static const char *param2(const struct http_req *req, const char *a, const char *b,
			  const char **name)
{
	const char *v = http_req_param(req, a);

	*name = a;
	if (!v && b) {
		v = http_req_param(req, b);
		if (v)
			*name = b;
	}
	return v;
}

int q_time_range(const struct http_req *req, int64_t now, int64_t *start, int64_t *end,
		 struct http_resp *resp)
{
	const char *sn, *en;
	const char *sv = param2(req, "start_datetime", "start_time", &sn);
	const char *ev = param2(req, "end_datetime", "end_time", &en);

	*end = now;
	if (ev && q_parse_time(ev, end)) {
		http_resp_error(resp, 400, "parameter '%s' must be an ISO 8601 date-time (UTC)", en);
		return 1;
	}
	*start = *end - QUERY_DEFAULT_RANGE;
	if (sv && q_parse_time(sv, start)) {
		http_resp_error(resp, 400, "parameter '%s' must be an ISO 8601 date-time (UTC)", sn);
		return 1;
	}
	if (*end <= *start) {
		http_resp_error(resp, 400, "parameter '%s' must be after '%s'", en, sn);
		return 1;
	}
	if (*end - *start > QUERY_MAX_RANGE) {
		http_resp_error(resp, 400, "time range too long: at most %d days", QUERY_MAX_RANGE / 86400);
		return 1;
	}
	return 0;
}

int q_int(const struct http_req *req, const char *name, int64_t def, int64_t min, int64_t max,
	  int64_t *out, struct http_resp *resp)
{
	const char *v = http_req_param(req, name);
	char *end;
	long long n;

	if (!v) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		http_resp_error(resp, 400, "parameter '%s' must be an integer in [%lld, %lld]", name,
				(long long)min, (long long)max);
		return 1;
	}
	*out = n;
	return 0;
}

const char *q_str(const struct http_req *req, const char *name, size_t max_len, bool *bad,
		  struct http_resp *resp)
{
	const char *v = http_req_param(req, name);

	if (!v)
		return NULL;
	if (!*v || strlen(v) > max_len || !http_utf8_valid(v, strlen(v))) {
		http_resp_error(resp, 400, "parameter '%s' must be 1 to %zu bytes of UTF-8", name,
				max_len);
		*bad = true;
		return NULL;
	}
	return v;
}

/* service, time range, hostname, container. 0, or 1 after answering 400. */
static int query_filters(struct srv *s, const struct http_req *req, struct smp_query *q,
			 struct http_resp *resp)
{
	bool bad = false;

	memset(q, 0, sizeof(*q));
	q->service = q_str(req, "service", NAME_MAX_LEN, &bad, resp);
	if (!bad && !q->service)
		q->service = q_str(req, "service_name", NAME_MAX_LEN, &bad, resp);
	if (bad)
		return 1;
	if (!q->service) {
		http_resp_error(resp, 400, "parameter 'service' is required");
		return 1;
	}
	q->hostname = q_str(req, "hostname", NAME_MAX_LEN, &bad, resp);
	if (!bad)
		q->container = q_str(req, "container", NAME_MAX_LEN, &bad, resp);
	if (bad)
		return 1;
	return q_time_range(req, s->now(), &q->start, &q->end, resp);
}

/* The request's filters, its stacks run into a collector. NULL after answering the error. */
static struct fg *collect(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	struct smp_query q;
	struct fg *f;
	int rc;

	if (query_filters(s, req, &q, resp))
		return NULL;
	f = fg_new(s->max_query_stacks, QUERY_MAX_BYTES);
	if (!f) {
		http_resp_error(resp, 500, "out of memory");
		return NULL;
	}
	rc = s->samples->ops->query_stacks(s->samples, &q, s->max_query_stacks, fg_add, f);
	if (rc == 0)
		return f;
	fg_free(f);
	if (rc == -E2BIG)
		http_resp_error(resp, 413, "the query matches more than %zu distinct stacks; narrow "
				"the time range or filter by hostname or container",
				s->max_query_stacks);
	else if (rc == -EINVAL)
		http_resp_error(resp, 400, "invalid query");
	else {
		log_warn("flamegraph query for service %s failed: %s", q.service, strerror(-rc));
		http_resp_error(resp, 500, "query failed");
	}
	return NULL;
}

static int write_failed(struct http_resp *resp, int rc)
{
	if (rc == -ENOSPC || rc == -E2BIG)
		return http_resp_error(resp, 413, "the result is too large; narrow the query");
	return http_resp_error(resp, 500, "out of memory");
}

int h_flamegraph(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	const char *format = http_req_param(req, "format");
	struct fg *f;
	bool collapsed;
	int rc;

	if (!format || strcmp(format, "flamegraph") == 0 || strcmp(format, "json") == 0)
		collapsed = false;
	else if (strcmp(format, "collapsed_file") == 0 || strcmp(format, "collapsed") == 0)
		collapsed = true;
	else
		return http_resp_error(resp, 400, "parameter 'format' must be flamegraph or "
				       "collapsed_file");
	f = collect(s, req, resp);
	if (!f)
		return 0;
	buf_reset(&resp->body);
	if (collapsed) {
		rc = fg_write_collapsed(f, &resp->body);
		resp->content_type = "text/plain; charset=utf-8";
	} else {
		rc = fg_write_tree(f, QUERY_MAX_NODES, &resp->body);
		resp->content_type = "application/json";
	}
	fg_free(f);
	if (rc)
		return write_failed(resp, rc);
	resp->status = 200;
	return 0;
}

int h_top_functions(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	const char *sort = http_req_param(req, "sort");
	int64_t limit;
	struct fg *f;
	bool by_total;
	int rc;

	if (!sort || strcmp(sort, "self") == 0)
		by_total = false;
	else if (strcmp(sort, "total") == 0)
		by_total = true;
	else
		return http_resp_error(resp, 400, "parameter 'sort' must be self or total");
	if (q_int(req, "limit", TOP_DEFAULT, 1, TOP_MAX, &limit, resp))
		return 0;
	f = collect(s, req, resp);
	if (!f)
		return 0;
	buf_reset(&resp->body);
	rc = fg_write_top(f, (size_t)limit, by_total, &resp->body);
	fg_free(f);
	if (rc)
		return write_failed(resp, rc);
	resp->status = 200;
	resp->content_type = "application/json";
	return 0;
}

static json_t *real_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static int metric_row(void *ctx, const struct smp_metric *m)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "hostname", m->hostname, "time",
			      json_time(m->time), "cpu_avg", real_or_null(m->cpu_avg), "mem_avg",
			      real_or_null(m->mem_avg));

	return o && !json_array_append_new(ctx, o) ? 0 : -ENOMEM;
}

static int container_row(void *ctx, const struct smp_container *c)
{
	json_t *o = json_pack("{s:s, s:I}", "name", c->name, "samples", (json_int_t)c->samples);

	return o && !json_array_append_new(ctx, o) ? 0 : -ENOMEM;
}

static int list_metrics(struct srv *s, const struct smp_query *q, json_t *list)
{
	return s->samples->ops->metrics(s->samples, q, metric_row, list);
}

static int list_containers(struct srv *s, const struct smp_query *q, json_t *list)
{
	return s->samples->ops->containers(s->samples, q, container_row, list);
}

/* {key: [...]} from a query's rows. */
static int answer_list(struct srv *s, const struct http_req *req, struct http_resp *resp,
		       const char *key, int (*fill)(struct srv *, const struct smp_query *, json_t *))
{
	struct smp_query q;
	json_t *list;
	int rc;

	if (query_filters(s, req, &q, resp))
		return 0;
	list = json_array();
	rc = list ? fill(s, &q, list) : -ENOMEM;
	if (rc) {
		log_warn("%s query for service %s failed: %s", key, q.service, strerror(-rc));
		http_resp_error(resp, 500, "%s query failed", key);
	} else {
		http_resp_json(resp, 200, json_pack("{s:O}", key, list));
	}
	json_decref(list);
	return 0;
}

int h_metrics(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	return answer_list(s, req, resp, "metrics", list_metrics);
}

int h_containers(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	return answer_list(s, req, resp, "containers", list_containers);
}
