/* http.c — the request/response model's helpers. See http.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http.h"
#include "jsonstr.h"
#include "util.h"

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

/* Length of the valid UTF-8 sequence at s[0..n), 0 when it is not one (overlong forms,
 * surrogates and values past U+10FFFF are not). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

bool http_utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = utf8_seq((const unsigned char *)s + i, n - i)))
			return false;
	return true;
}

int http_resp_error(struct http_resp *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the message may quote what a client sent: keep the answer valid JSON */
	for (size_t i = 0, n = strlen(msg), k; i < n; i += k)
		if (!(k = utf8_seq((unsigned char *)msg + i, n - i))) {
			msg[i] = '?';
			k = 1;
		}
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
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return "OTHER";
}

enum http_method http_method_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i].name, s) == 0)
			return methods[i].m;
	return HTTP_OTHER;
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
