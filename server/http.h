/* http.h — the HTTP layer: a small request/response model that handlers use, and the
 * libmicrohttpd front end that fills it.
 *
 * Handlers (handlers_*.c), the router (routes.c), the flame graph and static-file code see only
 * struct http_req / struct http_resp; nothing outside http.c includes microhttpd.h. That lets the
 * unit tests drive the router and handlers without a socket.
 */
#ifndef FP_HTTP_H
#define FP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "buf.h"

#define HTTP_MAX_PARAMS   32               /* query parameters kept; more is a 400 */
#define HTTP_JSON_MAX     (1024u * 1024u)  /* JSON request bodies */
#define HTTP_RESP_MAX     (512u * 1024u * 1024u) /* any one response body */

enum http_method {
	HTTP_GET = 1, HTTP_HEAD = 2, HTTP_POST = 4, HTTP_PUT = 8, HTTP_DELETE = 16,
	HTTP_PATCH = 32, HTTP_OPTIONS = 64, HTTP_OTHER = 128,
};

struct http_param {
	const char *key;
	const char *value;   /* "" for "?key" without '=' */
};

/* Everything borrowed: strings live as long as the request (MHD's connection memory, or the
 * test's own storage). */
struct http_req {
	enum http_method method;
	const char *path;              /* decoded path without the query string */
	struct http_param params[HTTP_MAX_PARAMS];
	size_t n_params;
	bool params_overflow;          /* more than HTTP_MAX_PARAMS were sent */
	const char *authorization;     /* header values; NULL when absent */
	const char *api_key;           /* GPROFILER-API-KEY */
	const char *service_header;    /* GPROFILER-SERVICE-NAME */
	const char *content_encoding;
	const char *body;              /* NULL/0 when there is none */
	size_t body_len;
	const char *peer;              /* client address text for logs, may be NULL */
};

struct http_resp {
	int status;                    /* 0 until set */
	const char *content_type;      /* static string */
	struct buf body;               /* bounded by HTTP_RESP_MAX */
	int fd;                        /* >= 0: send this file instead of body (owned; closed by
					* http_resp_release or by the server after sending) */
	uint64_t fd_size;
	char allow[64];                /* Allow header for 405, "" otherwise */
	const char *cache_control;     /* static string or NULL */
};

/* 1 when an Accept-Encoding header value accepts gzip ("gzip", "x-gzip" or "*", without q=0). */
int http_accepts_gzip(const char *accept_encoding);

#define HTTP_GZIP_MIN (16u * 1024u)   /* smaller bodies are sent as they are */

void http_resp_init(struct http_resp *r);
void http_resp_release(struct http_resp *r);

/* {"success":false,"message":"<formatted>"} with the given status. Returns 0 (never fails
 * visibly: on no memory the body is left empty and the status still set). */
int http_resp_error(struct http_resp *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Serialize j (compact) as the body with the status; steals the reference to j (NULL gives a
 * 500). Returns 0, or -ENOMEM/-ENOSPC after answering 500. */
int http_resp_json(struct http_resp *r, int status, json_t *j);

/* Set a text body (copied). */
int http_resp_text(struct http_resp *r, int status, const char *content_type, const char *s,
		   size_t n);

/* First value of a query parameter, NULL when absent. */
const char *http_req_param(const struct http_req *r, const char *key);

const char *http_method_name(enum http_method m);
enum http_method http_method_parse(const char *s);

/* ---- the libmicrohttpd front end ---- */

struct srv;   /* handlers.h */

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

/* Start listening; requests go to routes_handle with srv. NULL with errno set on failure. */
struct http_server *http_server_start(const struct http_server_opts *o, struct srv *srv);
int http_server_port(const struct http_server *h);   /* the bound port */
/* Stop accepting new connections, wait up to wait_ms for requests in flight, then stop and
 * free. NULL is a no-op. */
void http_server_stop(struct http_server *h, int wait_ms);

#endif
