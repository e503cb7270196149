/* http.h — the request/response model every layer above the socket uses, and the dispatch
 * interface through which the HTTP front end (http_server.c, libmicrohttpd) hands requests up.
 *
 * Layers, lowest first: http (this model) <- http_server (the adapter: sockets, bodies, gzip of
 * answers) and routes (the route table, auth) <- handlers. The adapter knows no route: it calls
 * the dispatch it was started with, once when the headers are in (admit: the route is matched
 * and the token checked, once per request) and once when the body is in (run). Nothing outside
 * http_server.c includes microhttpd.h, so unit tests drive the router and handlers without a
 * socket.
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

/* Whether s[0..n) is valid UTF-8 (what a JSON text may carry). */
bool http_utf8_valid(const char *s, size_t n);

/* First value of a query parameter, NULL when absent. */
const char *http_req_param(const struct http_req *r, const char *key);

const char *http_method_name(enum http_method m);
enum http_method http_method_parse(const char *s);

/* ---- dispatch: how the front end hands a request up ---- */

/* What admit decided for one request. The front end keeps it for the request's life. */
struct http_admission {
	const void *route;   /* the dispatcher's own handle for run(); NULL when refused */
	int status;          /* 0 = go on; else the error to answer (400, 401, 404, 405, 413) */
	size_t body_limit;   /* most body bytes the route takes (0: none) */
	char allow[64];      /* the Allow list for a 405 */
};

struct http_dispatch {
	/* The request line, query and headers are in (req->body is not): match the route, check
	 * the credentials, fill adm. Called once per request. */
	void (*admit)(void *ctx, const struct http_req *req, struct http_admission *adm);
	/* The body is in, or the request was refused (adm->status != 0, possibly set by the front
	 * end itself: 400 for a bad Content-Length, 413 for a body past adm->body_limit): answer in
	 * resp, which always ends up with a status. */
	void (*run)(void *ctx, const struct http_admission *adm, const struct http_req *req,
		    struct http_resp *resp);
};

#endif
