/* httpc.c — libcurl client; see httpc.h. */
#include "httpc.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpc {
	CURL *curl;
	char *ca_bundle, *client_cert, *client_key;
	int no_verify;
	long connect_timeout_ms, timeout_ms;
};

int httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct httpc *httpc_new(const struct httpc_opts *o)
{
	struct httpc *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	if (o) {
		h->ca_bundle = dup_or_null(o->ca_bundle);
		h->client_cert = dup_or_null(o->client_cert);
		h->client_key = dup_or_null(o->client_key);
		h->no_verify = o->no_verify;
		h->connect_timeout_ms = o->connect_timeout_ms;
		h->timeout_ms = o->timeout_ms;
	}
	if (!h->connect_timeout_ms)
		h->connect_timeout_ms = 10000;
	if (!h->timeout_ms)
		h->timeout_ms = 60000;
	return h;
}

void httpc_free(struct httpc *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h->client_cert);
	free(h->client_key);
	free(h);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	size_t n = size * nmemb, room = b->max > b->len ? b->max - b->len : 0;
	/* keep what fits; report all consumed so the transfer completes */
	if (room && buf_append(b, p, n < room ? n : room) != 0)
		return 0;
	return n;
}

int httpc_status_retryable(long status)
{
	return status == 408 || status == 429 || status >= 500;
}

static int map_error(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE: return -EPROTO;
	default: return -EIO;
	}
}

int httpc_post(struct httpc *h, const char *url, const char *const *headers, const void *body,
	       size_t len, long *status, struct buf *resp, char *err, size_t errlen)
{
	struct curl_slist *hl = NULL, *tmp;
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *c = h->curl;
	CURLcode cc;
	int rc = -EIO;

	*status = 0;
	if (err && errlen)
		err[0] = '\0';
	for (size_t i = 0; headers && headers[i]; i++) {
		tmp = curl_slist_append(hl, headers[i]);
		if (!tmp) {
			rc = -ENOMEM;
			goto out;
		}
		hl = tmp;
	}
	/* no "Expect: 100-continue" round trip for large bodies */
	tmp = curl_slist_append(hl, "Expect:");
	if (!tmp) {
		rc = -ENOMEM;
		goto out;
	}
	hl = tmp;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fleetprof-agent");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->ca_bundle)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
	if (h->no_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->client_cert && h->client_key) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->client_key);
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = map_error(cc);
		if (err && errlen)
			snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	rc = 0;
out:
	curl_slist_free_all(hl);
	/* the error buffer lives on this stack frame: never leave curl pointing at it */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	return rc;
}

static int transport_post(void *ctx, const char *url, const char *const *headers, const void *body,
			  size_t len, long *status, struct buf *resp)
{
	char err[256];
	int rc = httpc_post(ctx, url, headers, body, len, status, resp, err, sizeof(err));
	if (rc)
		log_debug("http: %s: %s", url, err);
	return rc;
}

struct httpc_transport httpc_transport(struct httpc *h)
{
	return (struct httpc_transport){ .post = transport_post, .ctx = h };
}
