/* upload.h — a profile upload (POST /api/v2/profiles) decoded and checked: the service and
 * hostname from the query, headers or body, the gzip or plain JSON body within a bound, its
 * fields (times, metrics, gpid), and the profile text parsed (profile.h). No store is touched,
 * so this is the whole of what outside input can reach before the sample store. */
#ifndef FP_UPLOAD_H
#define FP_UPLOAD_H

#include <jansson.h>
#include "buf.h"
#include "http.h"
#include "profile.h"
#include "store/samples.h"

struct upload {
	struct smp_upload u;   /* what the sample store takes; its strings point into the members
				* below and into the request */
	struct prof prof;
	struct buf plain;      /* the decompressed body */
	json_t *json;
};

/* Decode req into up (the caller releases it with upload_release in every case), the body's
 * decompressed size bounded by max_plain. 0 when it is good; 1 after answering the error in
 * resp (a 4xx naming the field, 413 past the bound, 500 out of memory). */
int upload_parse(const struct http_req *req, size_t max_plain, struct upload *up,
		 struct http_resp *resp);
void upload_release(struct upload *up);

#endif
