/* upload.c — decoding and checking a profile upload. See upload.h. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gz.h"
#include "handlers.h"
#include "jsonv.h"
#include "upload.h"

#define NAME_MAX_LEN 256

/* start_time / end_time: ISO string or epoch number. 0, or 1 after answering. */
static int time_field(json_t *obj, const char *key, bool required, int64_t *out,
		      struct http_resp *resp)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		http_resp_error(resp, 400, "field '%s' is required", key);
		return 1;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	/* epoch seconds as a number: range-checked before the conversion (1e300 would be UB) */
	if (json_is_real(v) && isfinite(json_real_value(v)) && json_real_value(v) >= 0 &&
	    json_real_value(v) < 1e11) {
		*out = (int64_t)json_real_value(v);
		return 0;
	}
	if (json_is_string(v) && q_parse_time(json_string_value(v), out) == 0)
		return 0;
	http_resp_error(resp, 400, "field '%s' must be an ISO 8601 date-time", key);
	return 1;
}

/* cpu_avg / mem_avg: number, or null/absent = NaN. */
static int avg_field(json_t *obj, const char *key, double *out, struct http_resp *resp)
{
	struct jv_err err;

	*out = NAN;
	if (jv_number(obj, key, false, out, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		return 1;
	}
	return 0;
}

/* gpid: an integer or a digit string, "" while the agent has none (0). Required, as in
 * Performance Studio's AgentData (gProfiler always sends it). */
static int gpid_field(json_t *obj, int64_t *out, struct http_resp *resp)
{
	json_t *v = json_object_get(obj, "gpid");
	const char *s;
	char *end;

	*out = 0;
	if (!v || json_is_null(v)) {
		http_resp_error(resp, 400, "field 'gpid' is required (\"\" when the agent has none yet)");
		return 1;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (!*s)
			return 0;
		errno = 0;
		*out = strtoll(s, &end, 10);
		if (!errno && !*end && *out >= 0 && s[0] != '-' && s[0] != ' ')
			return 0;
	}
	http_resp_error(resp, 400, "field 'gpid' must be a non-negative integer");
	return 1;
}

static bool is_gzip_encoding(const char *ce)
{
	return ce && (strcasestr(ce, "gzip") != NULL);
}

/* Parse the body as a JSON object; NULL after answering 400. */
static json_t *body_json(const char *body, size_t len, struct http_resp *resp)
{
	struct jv_err err;
	json_t *j;

	if (!len) {
		http_resp_error(resp, 400, "a JSON object body is required");
		return NULL;
	}
	j = jv_parse_object(body, len, &err);
	if (!j)
		http_resp_error(resp, 400, "malformed JSON: %s", err.msg);
	return j;
}

/* The query and headers: service (?service= or GPROFILER-SERVICE-NAME), ?hostname=. */
static int from_query(const struct http_req *req, struct upload *up, struct http_resp *resp)
{
	const char *service = http_req_param(req, "service");

	if (!service || !*service)
		service = req->service_header;
	if (!service || !*service || strlen(service) > NAME_MAX_LEN ||
	    !http_utf8_valid(service, strlen(service))) {
		http_resp_error(resp, 400, "parameter 'service' is required (1 to %d bytes of UTF-8)",
				NAME_MAX_LEN);
		return 1;
	}
	up->u.service_name = service;
	up->u.hostname = http_req_param(req, "hostname");
	if (up->u.hostname && (!*up->u.hostname || strlen(up->u.hostname) > NAME_MAX_LEN ||
			       !http_utf8_valid(up->u.hostname, strlen(up->u.hostname)))) {
		http_resp_error(resp, 400, "parameter 'hostname' must be 1 to %d bytes of UTF-8",
				NAME_MAX_LEN);
		return 1;
	}
	return 0;
}

/* The body, gzip or plain JSON; the decompressed text goes to up->plain. */
static int decode_body(const struct http_req *req, struct upload *up, struct http_resp *resp)
{
	const char *body = req->body;
	size_t len = req->body_len;
	int rc;

	if (len && gz_is_gzip(body, len)) {
		rc = gz_decompress(body, len, &up->plain);
		if (rc == -EFBIG || rc == -ENOSPC) {
			http_resp_error(resp, 413, "decompressed profile exceeds %zu MiB",
					up->plain.max >> 20);
			return 1;
		}
		if (rc) {
			http_resp_error(resp, 400, "body is not valid gzip data");
			return 1;
		}
		body = up->plain.data;
		len = up->plain.len;
	} else if (is_gzip_encoding(req->content_encoding)) {
		http_resp_error(resp, 400, "Content-Encoding is gzip but the body is not gzip data");
		return 1;
	}
	up->json = body_json(body, len, resp);
	return up->json ? 0 : 1;
}

/* The profile text: parsed, its stacks merged. */
static int profile_text(struct upload *up, const char *text, struct http_resp *resp)
{
	struct col_error cerr;
	int rc;

	rc = prof_parse(&up->prof, text, json_string_length(json_object_get(up->json, "profile")),
			&cerr);
	if (rc == -EINVAL) {
		if (cerr.line)
			http_resp_error(resp, 400, "field 'profile': line %u: %s", cerr.line, cerr.msg);
		else
			http_resp_error(resp, 400, "field 'profile': %s",
					cerr.msg[0] ? cerr.msg : "malformed profile");
		return 1;
	}
	if (rc) {
		http_resp_error(resp, 500, "out of memory");
		return 1;
	}
	/* as Performance Studio: the first line is the agent's header, with its metadata */
	if (!json_is_object(up->prof.hdr)) {
		http_resp_error(resp, 400, "field 'profile': the first line must be '# ' and the "
				"agent's JSON header object");
		return 1;
	}
	if (!json_is_object(json_object_get(up->prof.hdr, "metadata"))) {
		http_resp_error(resp, 400, "field 'profile': the header has no 'metadata' object");
		return 1;
	}
	up->u.header_json = up->prof.header;
	up->u.lines = up->prof.lines;
	up->u.n_lines = up->prof.n_lines;
	up->u.total_samples = up->prof.total;
	return 0;
}

int upload_parse(const struct http_req *req, size_t max_plain, struct upload *up,
		 struct http_resp *resp)
{
	const char *bhost = NULL, *text = NULL;
	struct smp_upload *u = &up->u;
	struct jv_err err;

	memset(up, 0, sizeof(*up));
	buf_init(&up->plain, max_plain);
	if (from_query(req, up, resp) || decode_body(req, up, resp))
		return 1;
	if (jv_string(up->json, "hostname", false, NAME_MAX_LEN, &bhost, &err) < 0 ||
	    jv_string(up->json, "profile", true, SIZE_MAX, &text, &err) < 0) {
		http_resp_error(resp, 400, "%s", err.msg);
		return 1;
	}
	if (bhost && *bhost)
		u->hostname = bhost;
	if (!u->hostname) {
		http_resp_error(resp, 400, "field 'hostname' is required");
		return 1;
	}
	u->end_time = INT64_MIN;   /* not sent: the start (Performance Studio's AgentData has none) */
	if (time_field(up->json, "start_time", true, &u->start_time, resp) ||
	    time_field(up->json, "end_time", false, &u->end_time, resp) ||
	    avg_field(up->json, "cpu_avg", &u->cpu_avg, resp) ||
	    avg_field(up->json, "mem_avg", &u->mem_avg, resp) ||
	    body_scalar(up->json, "spawn_time", resp) || gpid_field(up->json, &u->gpid, resp))
		return 1;
	if (u->end_time == INT64_MIN)
		u->end_time = u->start_time;
	if (u->end_time < u->start_time) {
		http_resp_error(resp, 400, "field 'end_time' is before 'start_time'");
		return 1;
	}
	return profile_text(up, text, resp);
}

void upload_release(struct upload *up)
{
	if (!up)
		return;
	prof_release(&up->prof);
	json_decref(up->json);
	buf_release(&up->plain);
	memset(up, 0, sizeof(*up));
}
