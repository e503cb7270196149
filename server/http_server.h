/* http_server.h — the libmicrohttpd front end: listens, reads request bodies within the limit
 * the dispatcher admitted, gzips large answers for clients that take it, and hands every request
 * to a struct http_dispatch (http.h). It knows no route and no token.
 */
#ifndef FP_HTTP_SERVER_H
#define FP_HTTP_SERVER_H

#include "http.h"

#define HTTP_GZIP_MIN (16u * 1024u)   /* smaller answers are sent as they are */

struct http_server_opts {
	const char *bind;          /* numeric IPv4 or IPv6 address */
	int port;                  /* 0 = ephemeral */
	unsigned threads;          /* worker pool size */
	unsigned connection_limit;
	unsigned timeout_sec;      /* idle connection timeout */
	const char *tls_cert_pem;  /* both set: HTTPS (borrowed for the server's life) */
	const char *tls_key_pem;
};

struct http_server;

/* Start listening; every request goes to d with ctx (both borrowed for the server's life).
 * NULL with errno set on failure. */
struct http_server *http_server_start(const struct http_server_opts *o,
				      const struct http_dispatch *d, void *ctx);
int http_server_port(const struct http_server *h);   /* the bound port */
/* Stop accepting new connections, wait up to wait_ms for requests in flight, then stop and
 * free. NULL is a no-op. */
void http_server_stop(struct http_server *h, int wait_ms);

#endif
