/* http_server.c — the libmicrohttpd front end. See http_server.h. */
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

#include "http_server.h"
#include "gz.h"
#include "log.h"
#include "timeutil.h"

/* A body past its limit is read and thrown away so the client gets to read our 413 (closing on
 * an unread body makes many clients see a reset instead). Past this many bytes, or when the
 * client asked "Expect: 100-continue", we answer at once and let MHD close the connection. */
#define DISCARD_MAX (256ull * 1024 * 1024)

struct http_server {
	struct MHD_Daemon *d;
	const struct http_dispatch *disp;
	void *ctx;
	int port;
	atomic_int inflight;
};

/* Per-request state, from the first access-handler call to the completion callback. */
struct conn {
	struct http_req req;
	struct http_admission adm;  /* adm.status: an error to answer once the body is thrown away */
	struct buf body;
	uint64_t received;
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

/* Hand the request to the dispatcher (which answers refusals too) and send its answer. */
static enum MHD_Result run(struct http_server *h, struct MHD_Connection *c, struct conn *st)
{
	struct http_resp r;
	enum MHD_Result ret;

	http_resp_init(&r);
	h->disp->run(h->ctx, &st->adm, &st->req, &r);
	ret = send_resp(c, st, &r);
	http_resp_release(&r);
	return ret;
}

/* First call for a request: fill req, let the dispatcher admit it (route and credentials, once),
 * check the announced length. */
static enum MHD_Result start_request(struct http_server *h, struct MHD_Connection *c,
				     struct conn *st, const char *url, const char *method)
{
	struct http_req *req = &st->req;
	const char *cl, *expect;
	unsigned long long announced = 0;

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
		if (errno || end == cl || *end) {
			st->adm.status = 400;
			return run(h, c, st);
		}
	}

	h->disp->admit(h->ctx, req, &st->adm);
	if (!st->adm.status && announced > st->adm.body_limit)
		st->adm.status = 413;
	if (st->adm.status) {
		/* Answer now when the client waits for our go-ahead (Expect: 100-continue) or
		 * announced an absurd body; otherwise read and drop the body first so the client
		 * reads the answer instead of a connection reset. */
		if (expect || announced > DISCARD_MAX)
			return run(h, c, st);
		return MHD_YES;
	}
	buf_init(&st->body, st->adm.body_limit ? st->adm.body_limit : 1);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct conn *st = *con_cls;

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
		if (st->adm.status)
			return st->received > DISCARD_MAX ? MHD_NO : MHD_YES;
		if (st->received > st->adm.body_limit || buf_append(&st->body, upload_data, n)) {
			st->adm.status = 413;
			buf_release(&st->body);
		}
		return MHD_YES;
	}
	if (!st->adm.status) {
		st->req.body = st->body.len ? st->body.data : NULL;
		st->req.body_len = st->body.len;
	}
	return run(h, c, st);
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

struct http_server *http_server_start(const struct http_server_opts *o,
				      const struct http_dispatch *d, void *ctx)
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
	h->disp = d;
	h->ctx = ctx;
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
