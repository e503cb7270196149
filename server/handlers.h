/* handlers.h — the endpoint handlers (one file per group) and the server context they share.
 *
 * A handler parses and validates the request, calls the stores through their doors
 * (store/control.h, store/samples.h), builds the JSON and fills the response. It never touches
 * libmicrohttpd nor storage. Every handler returns 0 after setting resp (errors included: a
 * JSON {"success":false,"message":...} with the right status); a negative return means the
 * handler could not even build an answer and the router answers 500.
 */
#ifndef FP_HANDLERS_H
#define FP_HANDLERS_H

#include <stdint.h>
#include "http.h"

struct control;
struct samples;
struct config;
struct tokens;

struct srv {
	struct control *control;     /* the control store's door */
	struct samples *samples;     /* the sample store's door */
	const struct config *cfg;
	const struct tokens *tokens;
	const char *web_root;        /* realpath of --web, NULL when it does not exist */
	int64_t (*now)(void);        /* seconds; time(NULL) in the server, fixed in tests */
	size_t max_query_stacks;     /* distinct stacks a flame graph query may merge */
};

typedef int (*handler_fn)(struct srv *s, const struct http_req *req, struct http_resp *resp);

/* handlers_agent.c */
int h_health(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_heartbeat(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_command_completion(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_profile_upload(struct srv *s, const struct http_req *req, struct http_resp *resp);

/* handlers_control.c */
int h_profile_request(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_host_status(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_services(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_commands(struct srv *s, const struct http_req *req, struct http_resp *resp);

/* handlers_query.c */
int h_flamegraph(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_top_functions(struct srv *s, const struct http_req *req, struct http_resp *resp);
int h_metrics(struct srv *s, const struct http_req *req, struct http_resp *resp);
/* GET /api/v1/containers: containers with samples for service/range/hostname. */
int h_containers(struct srv *s, const struct http_req *req, struct http_resp *resp);

/* static.c */
int h_static(struct srv *s, const struct http_req *req, struct http_resp *resp);

/* ---- helpers shared by the handler files (handlers_query.c defines them) ---- */

#define QUERY_DEFAULT_RANGE   3600            /* start/end default: the last hour */
#define QUERY_MAX_RANGE       (31 * 86400)    /* longest accepted range */

/* Parse a time parameter: ISO 8601 (shared/timeutil.h) or integer epoch seconds.
 * 0, or -EINVAL. */
int q_parse_time(const char *s, int64_t *out);

/* start_datetime/end_datetime (also start_time/end_time) into [*start, *end), defaulting to the
 * last hour before now. 0, or answers 400 on resp and returns 1. */
int q_time_range(const struct http_req *req, int64_t now, int64_t *start, int64_t *end,
		 struct http_resp *resp);

/* A JSON field that may be a string, a number or null (gProfiler sends ISO strings for some).
 * 0, or answers 400 naming the field and returns 1. */
int body_scalar(json_t *obj, const char *key, struct http_resp *resp);

/* "2026-11-27T13:00:00Z" as a new JSON string; JSON null when t <= 0. */
json_t *json_time(int64_t t);

/* An integer parameter in [min, max], def when absent. 0, or answers 400 and returns 1. */
int q_int(const struct http_req *req, const char *name, int64_t def, int64_t min, int64_t max,
	  int64_t *out, struct http_resp *resp);

/* A string parameter that, when present, must be non-empty and at most max_len bytes. NULL when
 * absent. Answers 400 and sets *bad when invalid. */
const char *q_str(const struct http_req *req, const char *name, size_t max_len, bool *bad,
		  struct http_resp *resp);

#endif
