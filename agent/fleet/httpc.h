/* httpc.h — the agent's HTTP client (libcurl): one keep-alive connection per client, TLS options,
 * bounded responses. Not thread-safe: each thread that talks to the server owns its own client.
 */
#ifndef FP_HTTPC_H
#define FP_HTTPC_H

#include <stddef.h>
#include "buf.h"

#define HTTPC_MAX_RESPONSE (1u << 20)   /* bytes of a response body kept */

struct httpc_opts {
	const char *ca_bundle;     /* PEM file of trusted CAs; NULL = system store */
	int no_verify;             /* do not verify the server's certificate (testing only) */
	const char *client_cert;   /* PEM client certificate for mTLS, with client_key */
	const char *client_key;
	long connect_timeout_ms;   /* 0 = 10 s */
	long timeout_ms;           /* whole request; 0 = 60 s */
};

struct httpc;

/* Call once at program start, before any thread starts (libcurl's global init). 0 or -EIO. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

/* Strings in opts are copied. NULL with errno set on failure. */
struct httpc *httpc_new(const struct httpc_opts *opts);
void httpc_free(struct httpc *h);   /* NULL is a no-op */

/* POST body to url with extra header lines ("Name: value", NULL-terminated array, may be NULL).
 * On an answer of any status: 0, *status set, the body appended to resp (bounded by resp->max; a
 * longer body is cut, not an error). Transport failures: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH
 * (DNS or routing), -EPROTO (TLS), -EIO (other); err (may be NULL) gets curl's message. */
int httpc_post(struct httpc *h, const char *url, const char *const *headers, const void *body,
	       size_t len, long *status, struct buf *resp, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The agent's HTTP transport as an interface, so tests can replace libcurl. post() has
 * httpc_post's contract without the error text. */
struct httpc_transport {
	int (*post)(void *ctx, const char *url, const char *const *headers, const void *body,
		    size_t len, long *status, struct buf *resp);
	void *ctx;
};

/* A transport over h (borrowed); transport errors are logged at debug. */
struct httpc_transport httpc_transport(struct httpc *h);

/* True for answers worth retrying later: 408, 429 and 5xx. */
int httpc_status_retryable(long status);

#endif
