/* uploader.h — ships profiles to the server without ever losing one or blocking the snapshot.
 *
 * uploader_submit() builds the gProfiler upload body (gzip JSON {start_time, end_time, hostname,
 * profile, cpu_avg, mem_avg, spawn_time, gpid}) and writes it to the on-disk spool; a sender
 * thread posts the oldest spooled profile to POST /api/v2/profiles?service=&hostname=&timestamp=
 * &version= and removes it once the server accepted it. A transport failure, 408, 429 or 5xx keeps
 * it and retries with exponential backoff (1 s doubling to 60 s, +-20% jitter); any other 4xx is
 * logged with the server's message and dropped. The gpid the server answers is sent with every
 * later profile.
 *
 * The transport sits behind struct httpc_transport so tests can replace libcurl.
 */
#ifndef FP_UPLOADER_H
#define FP_UPLOADER_H

#include <stdint.h>
#include <stddef.h>
#include "buf.h"
#include "httpc.h"

struct uploader_cfg {
	const char *server_url;       /* "http(s)://host[:port]", no trailing path */
	const char *token;            /* sent as GPROFILER-API-KEY */
	const char *service;
	const char *hostname;
	const char *agent_version;
	const char *spool_dir;        /* created if missing */
	uint64_t spool_max_bytes;
	struct httpc_opts http;
	const struct httpc_transport *transport;  /* NULL = libcurl with `http` */
	int64_t backoff_min_ms, backoff_max_ms;   /* 0 = 1000 and 60000 */
};

struct upload_profile {
	const char *text;             /* the collapsed profile, header line included */
	size_t len;
	int64_t start_time, end_time, spawn_time;   /* seconds since the epoch */
	double cpu_avg, mem_avg;      /* percent; NaN when unknown (sent as null) */
};

struct uploader_stats {
	uint64_t submitted, sent, retries, rejected, dropped_full, dropped_unspoolable;
	size_t pending;
};

struct uploader;

/* Strings in cfg are copied. Starts the sender thread. NULL with errno set on failure. */
struct uploader *uploader_new(const struct uploader_cfg *cfg);
/* Stops the sender thread (an upload in flight is finished or abandoned after its timeout). What
 * is still spooled stays on disk for the next start. NULL is a no-op. */
void uploader_free(struct uploader *u);

/* Queue a profile. 0 once it is safe on disk (or, when the spool cannot be written, once it was
 * delivered directly); -errno when it could not be kept at all (logged). */
int uploader_submit(struct uploader *u, const struct upload_profile *p)
	__attribute__((warn_unused_result));

/* Wait until nothing is pending, at most timeout_ms. 0, or -ETIMEDOUT. */
int uploader_wait_idle(struct uploader *u, int64_t timeout_ms);

void uploader_get_stats(struct uploader *u, struct uploader_stats *out);

/* Percent-encode s for a query string into out. 0 or -ENOSPC. */
int uploader_urlencode(const char *s, struct buf *out) __attribute__((warn_unused_result));

#endif
