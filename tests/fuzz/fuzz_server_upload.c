/* fuzz_server_upload.c — libFuzzer target for the profile upload path before the store: the body
 * decompressed (gzip, bounded), parsed as JSON, its fields checked, the collapsed profile with
 * its "# {json}" header parsed and merged (server/upload.c, server/profile.c).
 *
 * Input: one flag byte, then the body. Flag bit 0 set: the rest is JSON that is gzipped here
 * first, so mutations of the JSON and the profile text reach the parser through the
 * decompressor; clear: the rest is sent as it is (raw gzip or plain JSON).
 * Invariants: an accepted upload's merged lines are distinct, inside the parsed text's table,
 * and sum to its total; a refused one has a 4xx/5xx JSON answer {"success": false, ...}. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "gz.h"
#include "http.h"
#include "log.h"
#include "upload.h"

#define MAX_PLAIN (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct upload *up)
{
	uint64_t sum = 0;

	if (!up->u.service_name || !up->u.hostname || up->u.end_time < up->u.start_time)
		abort();
	for (size_t i = 0; i < up->u.n_lines; i++) {
		const struct smp_line *l = &up->u.lines[i];

		if (!l->stack || !l->slen || !l->container || l->count == 0)
			abort();
		if (memchr(l->container, ';', l->clen) || memchr(l->stack, '\n', l->slen))
			abort();
		sum += l->count;
	}
	if (up->u.n_lines > PROF_MAX_STACKS || (sum != up->u.total_samples && sum < (1ull << 62)))
		abort();
}

static void check_refused(const struct http_resp *r)
{
	json_t *j;

	if (r->status < 400 || r->status > 599)
		abort();
	j = json_loads(buf_cstr(&r->body), 0, NULL);
	if (!j || !json_is_false(json_object_get(j, "success")) ||
	    !json_is_string(json_object_get(j, "message")))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req req = { .method = HTTP_POST, .path = "/api/v2/profiles", .n_params = 2,
				.params = { { "service", "svc" }, { "hostname", "h" } } };
	struct http_resp resp;
	struct upload up;
	struct buf gz;

	if (size < 1)
		return 0;
	log_init("fuzz", LOG_ERROR);
	buf_init(&gz, MAX_PLAIN);
	if (data[0] & 1) {
		if (gz_compress(data + 1, size - 1, &gz))
			goto out;
		req.body = gz.data;
		req.body_len = gz.len;
		req.content_encoding = "gzip";
	} else {
		req.body = (const char *)data + 1;
		req.body_len = size - 1;
	}
	http_resp_init(&resp);
	if (upload_parse(&req, MAX_PLAIN, &up, &resp) == 0)
		check_accepted(&up);
	else
		check_refused(&resp);
	upload_release(&up);
	http_resp_release(&resp);
out:
	buf_release(&gz);
	return 0;
}
