/* http.c — request/response helpers and the libmicrohttpd front end. See http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "jsonstr.h"
#include "http.h"
#include "gz.h"
#include "routes.h"
#include "log.h"
#include "timeutil.h"

/* A body past its limit is read and thrown away so the client gets to read our 413 (closing on
 * an unread body makes many clients see a reset instead). Past this many bytes, or when the
 * client asked "Expect: 100-continue", we answer at once and let MHD close the connection. */
#define DISCARD_MAX (256ull * 1024 * 1024)

/* ---- response helpers ---- */

void http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, HTTP_RESP_MAX);
	r->fd = -1;
	r->content_type = "application/json";
}

void http_resp_release(struct http_resp *r)
{
	buf_release(&r->body);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int http_resp_error(struct http_resp *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	if (buf_puts(&r->body, "{\"success\":false,\"message\":") ||
	    json_str(&r->body, msg, strlen(msg), 0) || buf_putc(&r->body, '}'))
		buf_reset(&r->body);
	return 0;
}

static int dump_cb(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n) ? -1 : 0;
}

int http_resp_json(struct http_resp *r, int status, json_t *j)
{
	int rc = 0;

	if (!j) {
		http_resp_error(r, 500, "out of memory");
		return -ENOMEM;
	}
	buf_reset(&r->body);
	if (json_dump_callback(j, dump_cb, &r->body, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
		rc = -ENOSPC;
		http_resp_error(r, 500, "response too large");
		goto out;
	}
	r->status = status;
	r->content_type = "application/json";
out:
	json_decref(j);
	return rc;
}

int http_resp_text(struct http_resp *r, int status, const char *content_type, const char *s,
		   size_t n)
{
	buf_reset(&r->body);
	if (buf_append(&r->body, s, n)) {
		http_resp_error(r, 500, "out of memory");
		return -ENOMEM;
	}
	r->status = status;
	r->content_type = content_type;
	return 0;
}

const char *http_req_param(const struct http_req *r, const char *key)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].value;
	return NULL;
}

static const struct {
	enum http_method m;
	const char *name;
} methods[] = {
	{ HTTP_GET, "GET" }, { HTTP_HEAD, "HEAD" }, { HTTP_POST, "POST" }, { HTTP_PUT, "PUT" },
	{ HTTP_DELETE, "DELETE" }, { HTTP_PATCH, "PATCH" }, { HTTP_OPTIONS, "OPTIONS" },
};

const char *http_method_name(enum http_method m)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "OTHER";
}

enum http_method http_method_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, s) == 0)
			return methods[i].m;
	return HTTP_OTHER;
}

/* ---- the MHD front end ---- */

struct http_server {
	struct MHD_Daemon *d;
	struct srv *srv;
	int port;
	atomic_int inflight;
};

/* Per-request state, from the first access-handler call to the completion callback. */
struct conn {
	struct http_req req;
	const struct route *route;
	struct buf body;
	size_t limit;
	uint64_t received;
	int deferred;         /* an error status to answer once the body has been thrown away */
	char allow[64];       /* for a deferred 405 */
	int64_t t0;
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct http_req *req = cls;

	(void)kind;
	if (req->n_params >= HTTP_MAX_PARAMS) {
		req->params_overflow = true;
		return MHD_NO;
	}
	req->params[req->n_params].key = key;
	req->params[req->n_params].value = value ? value : "";
	req->n_params++;
	return MHD_YES;
}

int http_accepts_gzip(const char *h)
{
	while (h && *h) {
		size_t n;
		const char *q;
		while (*h == ' ' || *h == ',')
			h++;
		n = strcspn(h, ",;");
		int match = (n == 4 && !strncasecmp(h, "gzip", 4)) ||
			    (n == 6 && !strncasecmp(h, "x-gzip", 6)) || (n == 1 && *h == '*');
		h += n;
		q = NULL;
		while (*h == ';') {   /* parameters: only q matters */
			h++;
			while (*h == ' ')
				h++;
			if (!strncasecmp(h, "q=", 2))
				q = h + 2;
			h += strcspn(h, ",;");
		}
		if (match)
			return !q || strtod(q, NULL) > 0.0;
	}
	return 0;
}

/* Compress a large body when the client takes gzip (flame graphs of big selections are tens
 * of MB of text). On any failure the body goes out as it is. */
static void maybe_gzip(struct MHD_Connection *c, struct http_resp *r, int *gzipped)
{
	struct buf gz;
	*gzipped = 0;
	if (r->fd >= 0 || r->body.len < HTTP_GZIP_MIN ||
	    !http_accepts_gzip(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_ACCEPT_ENCODING)))
		return;
	buf_init(&gz, r->body.len);   /* no larger than the original, or not worth it */
	if (gz_compress(r->body.data, r->body.len, &gz) == 0) {
		buf_release(&r->body);
		r->body = gz;
		*gzipped = 1;
	} else {
		buf_release(&gz);
	}
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct conn *st, struct http_resp *r)
{
	int gzipped;
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (!r->status)
		http_resp_error(r, 500, "no answer");
	maybe_gzip(c, r, &gzipped);
	int from_buffer = r->fd < 0;
	if (r->fd >= 0) {
		mr = MHD_create_response_from_fd64(r->fd_size, r->fd);
		if (mr)
			r->fd = -1;   /* MHD closes it */
	} else {
		size_t len = 0;
		char *data = buf_steal(&r->body, &len);

		if (!data)
			return MHD_NO;
		mr = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		if (!mr)
			free(data);
	}
	if (!mr)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	if (r->allow[0])
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->cache_control)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, r->cache_control);
	if (gzipped)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	if (from_buffer)   /* the answer depends on Accept-Encoding */
		MHD_add_response_header(mr, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	ret = MHD_queue_response(c, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	if (r->status >= 500)
		log_warn("%s %s -> %d", http_method_name(st->req.method), st->req.path, r->status);
	else if (log_get_level() <= LOG_DEBUG)
		log_debug("%s %s -> %d (%lld ms)", http_method_name(st->req.method), st->req.path,
			  r->status, (long long)(time_mono_ms() - st->t0));
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct conn *st, int status,
				  const char *allow)
{
	struct http_resp r;
	enum MHD_Result ret;

	http_resp_init(&r);
	routes_answer(&r, status, allow);
	ret = send_resp(c, st, &r);
	http_resp_release(&r);
	return ret;
}

/* First call for a request: fill req, find the route, check auth and the announced length. */
static enum MHD_Result start_request(struct http_server *h, struct MHD_Connection *c,
				     struct conn *st, const char *url, const char *method)
{
	struct http_req *req = &st->req;
	const char *cl, *expect;
	unsigned long long announced = 0;
	char allow[64] = "";
	int status = 0;

	req->method = http_method_parse(method);
	req->path = url;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, req);
	req->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_AUTHORIZATION);
	req->api_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "GPROFILER-API-KEY");
	req->service_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							  "GPROFILER-SERVICE-NAME");
	req->content_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_CONTENT_ENCODING);

	expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;

		errno = 0;
		announced = strtoull(cl, &end, 10);
		if (errno || end == cl || *end)
			return send_error(c, st, 400, NULL);
	}

	st->route = routes_match(req, &status, allow, sizeof(allow));
	if (!st->route) {
		snprintf(st->allow, sizeof(st->allow), "%s", allow);
	} else {
		status = routes_check_auth(h->srv, st->route, req);
		st->limit = routes_body_limit(h->srv, st->route);
		if (!status && announced > st->limit)
			status = 413;
	}
	if (status) {
		/* Answer now when the client waits for our go-ahead (Expect: 100-continue) or
		 * announced an absurd body; otherwise read and drop the body first so the client
		 * reads the answer instead of a connection reset. */
		if (expect || announced > DISCARD_MAX)
			return send_error(c, st, status, st->allow);
		st->deferred = status;
		return MHD_YES;
	}
	buf_init(&st->body, st->limit ? st->limit : 1);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct conn *st = *con_cls;
	struct http_resp r;
	enum MHD_Result ret;

	(void)version;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		*con_cls = st;
		st->t0 = time_mono_ms();
		atomic_fetch_add(&h->inflight, 1);
		return start_request(h, c, st, url, method);
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		st->received += n;
		if (st->deferred)
			return st->received > DISCARD_MAX ? MHD_NO : MHD_YES;
		if (st->received > st->limit || buf_append(&st->body, upload_data, n)) {
			st->deferred = 413;
			buf_release(&st->body);
		}
		return MHD_YES;
	}
	if (st->deferred)
		return send_error(c, st, st->deferred, st->allow);

	st->req.body = st->body.len ? st->body.data : NULL;
	st->req.body_len = st->body.len;
	http_resp_init(&r);
	routes_handle(h->srv, &st->req, &r);
	ret = send_resp(c, st, &r);
	http_resp_release(&r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct conn *st = *con_cls;

	(void)c;
	(void)toe;
	if (!st)
		return;
	buf_release(&st->body);
	free(st);
	*con_cls = NULL;
	atomic_fetch_sub(&h->inflight, 1);
}

static void __attribute__((format(printf, 2, 0))) on_mhd_log(void *cls, const char *fmt,
								 va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_warn("http: %s", msg);
}

struct http_server *http_server_start(const struct http_server_opts *o, struct srv *srv)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr *sa;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem tls[3];
	int err = EINVAL;

	if (!h)
		return NULL;
	h->srv = srv;
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, o->bind, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)o->port);
		sa = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, o->bind, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)o->port);
		sa = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		log_error("http: bad bind address '%s'", o->bind);
		goto fail;
	}
	memset(tls, 0, sizeof(tls));
	tls[0].option = MHD_OPTION_END;
	if (o->tls_cert_pem && o->tls_key_pem) {
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						   (void *)o->tls_cert_pem };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						   (void *)o->tls_key_pem };
		tls[2] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 1),
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->connection_limit,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_sec,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_ARRAY, tls,
				MHD_OPTION_END);
	if (!h->d) {
		err = errno ? errno : EADDRINUSE;
		goto fail;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : o->port;
	return h;
fail:
	free(h);
	errno = err;
	return NULL;
}

int http_server_port(const struct http_server *h)
{
	return h->port;
}

void http_server_stop(struct http_server *h, int wait_ms)
{
	MHD_socket lfd;
	int64_t deadline;

	if (!h)
		return;
	lfd = MHD_quiesce_daemon(h->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	deadline = time_mono_ms() + wait_ms;
	while (atomic_load(&h->inflight) > 0 && time_mono_ms() < deadline) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(h->d);
	free(h);
}
