/* static.c — web/ at /. See static.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "static.h"
#include "handlers.h"
#include "log.h"

#define STATIC_MAX_PATH 1024

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".htm", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".gif", "image/gif" },
	{ ".ico", "image/x-icon" },
	{ ".webp", "image/webp" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff", "font/woff" },
	{ ".woff2", "font/woff2" },
	{ ".wasm", "application/wasm" },
};

const char *static_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *slash = strrchr(name, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* Refuse anything that could climb out or confuse: "." / ".." segments, empty segments,
 * backslashes, control bytes, '%' (MHD already decoded the path once; a '%' left over means a
 * double encoding such as %252e). */
static int path_ok(const char *path)
{
	const char *p = path;

	if (p[0] != '/')
		return 0;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\' || *c == '%')
			return 0;
	while (*p == '/') {
		const char *seg = p + 1, *next = strchr(seg, '/');
		size_t len = next ? (size_t)(next - seg) : strlen(seg);

		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (len == 0 && next)   /* "//" */
			return 0;
		if (!next)
			break;
		p = next;
	}
	return 1;
}

static int under_root(const char *root, const char *real)
{
	size_t n = strlen(root);

	return strncmp(real, root, n) == 0 && (real[n] == '/' || (n == 1 && root[0] == '/'));
}

int static_resolve(const char *root, const char *path, char *out, size_t n)
{
	char joined[STATIC_MAX_PATH + 32];
	char real[PATH_MAX];
	struct stat st;
	int w;

	if (!root)
		return -ENOENT;
	if (!path_ok(path))
		return -EACCES;
	w = snprintf(joined, sizeof(joined), "%s%s", root, path);
	if (w < 0 || (size_t)w >= sizeof(joined) - 16)
		return -ENAMETOOLONG;
	if (path[strlen(path) - 1] == '/')
		strcat(joined, "index.html");
	if (!realpath(joined, real))
		return errno == ENAMETOOLONG ? -ENAMETOOLONG : -ENOENT;
	if (!under_root(root, real))
		return -EACCES;
	if (stat(real, &st) != 0)
		return -ENOENT;
	if (S_ISDIR(st.st_mode)) {
		if (strlen(real) + sizeof("/index.html") > sizeof(real))
			return -ENAMETOOLONG;
		strcat(real, "/index.html");
		if (stat(real, &st) != 0)
			return -ENOENT;
	}
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	if (strlen(real) >= n)
		return -ENAMETOOLONG;
	memcpy(out, real, strlen(real) + 1);
	return 0;
}

static const char placeholder[] =
	"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>fleetprof</title></head>\n"
	"<body><h1>fleetprof</h1><p>The control server is running. The dashboard is not "
	"installed (no index.html in the --web directory).</p>\n"
	"<p>API: <code>/api/v1/health_check</code>, <code>/api/v1/services</code>, "
	"<code>/api/v1/flamegraph</code>.</p></body></html>\n";

int h_static(struct srv *s, const struct http_req *req, struct http_resp *resp)
{
	char real[PATH_MAX];
	struct stat st;
	int rc, fd;

	if (strlen(req->path) > STATIC_MAX_PATH)
		return http_resp_error(resp, 404, "not found");
	rc = static_resolve(s->web_root, req->path, real, sizeof(real));
	if (rc == -ENOENT && strcmp(req->path, "/") == 0) {
		rc = http_resp_text(resp, 200, "text/html; charset=utf-8", placeholder,
				    sizeof(placeholder) - 1);
		resp->cache_control = "no-cache";
		return rc;
	}
	if (rc == -EACCES)
		log_debug("static: refused path %s", req->path);
	if (rc)
		return http_resp_error(resp, 404, "not found");
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return http_resp_error(resp, 404, "not found");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return http_resp_error(resp, 404, "not found");
	}
	resp->status = 200;
	resp->fd = fd;
	resp->fd_size = (uint64_t)st.st_size;
	resp->content_type = static_content_type(real);
	resp->cache_control = "no-cache";
	return 0;
}
