/* container.c — see container.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "util.h"

static int is_hex_run(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)p[i]) || isupper((unsigned char)p[i]))
			return 0;
	return 1;
}

/* Look for a container id in one path component [c, c+len). */
static int component_id(const char *c, size_t len, struct container_info *info)
{
	static const struct {
		const char *prefix;
		enum container_kind kind;
	} scopes[] = {
		{ "docker-", CONTAINER_DOCKER },
		{ "cri-containerd-", CONTAINER_CONTAINERD },
		{ "crio-", CONTAINER_CRIO },
		{ "libpod-", CONTAINER_PODMAN },
	};
	if (len == CONTAINER_ID_LEN && is_hex_run(c, len)) {
		memcpy(info->id, c, len);
		info->id[len] = '\0';
		info->kind = CONTAINER_OTHER;
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(scopes); i++) {
		size_t pl = strlen(scopes[i].prefix);
		if (len == pl + CONTAINER_ID_LEN + 6 && strncmp(c, scopes[i].prefix, pl) == 0 &&
		    strncmp(c + pl + CONTAINER_ID_LEN, ".scope", 6) == 0 &&
		    is_hex_run(c + pl, CONTAINER_ID_LEN)) {
			memcpy(info->id, c + pl, CONTAINER_ID_LEN);
			info->id[CONTAINER_ID_LEN] = '\0';
			info->kind = scopes[i].kind;
			return 1;
		}
	}
	return 0;
}

/* "pod<uid>" or "kubepods-besteffort-pod<uid_with_underscores>.slice" */
static void component_pod(const char *c, size_t len, struct container_info *info)
{
	const char *p = NULL;
	size_t n = 0;
	for (size_t i = 0; i + 3 <= len; i++) {
		if (strncmp(c + i, "pod", 3) == 0 && (i == 0 || c[i - 1] == '-')) {
			p = c + i + 3;
			n = len - i - 3;
			if (n > 6 && strncmp(p + n - 6, ".slice", 6) == 0)
				n -= 6;
			break;
		}
	}
	if (!p || n != 36)
		return;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i] == '_' ? '-' : p[i];
		if (!(isxdigit((unsigned char)ch) || ch == '-'))
			return;
		info->pod_uid[i] = ch;
	}
	info->pod_uid[n] = '\0';
}

int container_parse_cgroup(const char *text, struct container_info *info)
{
	const char *line = text;
	memset(info, 0, sizeof(*info));
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', llen);
		const char *c2 = c1 ? memchr(c1 + 1, ':', llen - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			const char *p = c2 + 1, *end = line + llen;
			struct container_info cur = { 0 };
			while (p < end) {
				const char *slash = memchr(p, '/', (size_t)(end - p));
				const char *ce = slash ? slash : end;
				if (ce > p) {
					component_pod(p, (size_t)(ce - p), &cur);
					component_id(p, (size_t)(ce - p), &cur);
				}
				p = ce + 1;
			}
			if (cur.kind != CONTAINER_NONE) {
				if (cur.kind == CONTAINER_OTHER && strstr(line, "/docker/") &&
				    (size_t)(strstr(line, "/docker/") - line) < llen)
					cur.kind = CONTAINER_DOCKER;
				*info = cur;
				return 1;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* A runtime's container name made safe as a stack's first frame: ';' and control bytes -> '_'. */
static void name_sanitize(char *out)
{
	for (char *s = out; *s; s++)
		if (*s == ';' || (unsigned char)*s < 0x20)
			*s = '_';
}

/* "Name":"/foo" from Docker's config.v2.json, bounded read. */
static int docker_name(const char *docker_root, const char *id, char *out, size_t n)
{
	char path[512], *buf = NULL, *p, *q;
	FILE *f;
	size_t got;
	int rc = -ENOENT;
	snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", docker_root, id);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	buf = malloc(256 * 1024);
	if (!buf)
		goto out;
	got = fread(buf, 1, 256 * 1024 - 1, f);
	buf[got] = '\0';
	p = strstr(buf, "\"Name\":\"");
	if (!p)
		goto out;
	p += 8;
	if (*p == '/')
		p++;
	q = strchr(p, '"');
	if (!q || q == p || (size_t)(q - p) >= n)
		goto out;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	name_sanitize(out);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Split "<a>_<b>_<c>" at its first and last '_' (Kubernetes names and namespaces have none). */
static int split3(const char *s, size_t len, const char **b, size_t *blen, const char **c)
{
	const char *u1 = memchr(s, '_', len), *u2 = NULL;
	for (const char *q = s + len; q-- > s;)
		if (*q == '_') {
			u2 = q;
			break;
		}
	if (!u1 || u2 == u1 || u1 == s || u2 + 1 == s + len || u2 == u1 + 1)
		return -1;
	*b = u1 + 1;
	*blen = (size_t)(u2 - u1 - 1);
	*c = u2 + 1;
	return 0;
}

int container_kube_name(const char *link_target, char *out, size_t n)
{
	/* .../pods/<namespace>_<pod>_<pod uid>/<container>/<restart count>.log */
	const char *end = link_target + strlen(link_target), *seg[3] = { 0 }, *p = end;
	size_t seglen[3], pdlen, podlen;
	const char *pod, *uid;
	int k = 3, w;
	while (k > 0 && p > link_target) {
		const char *e = p;
		while (p > link_target && p[-1] != '/')
			p--;
		seg[--k] = p;
		seglen[k] = (size_t)(e - p);
		if (p > link_target)
			p--; /* the '/' */
	}
	if (k != 0 || seglen[2] < 5 || strcmp(seg[2] + seglen[2] - 4, ".log") != 0 ||
	    seglen[1] == 0)
		return -EINVAL;
	for (size_t i = 0; i + 4 < seglen[2]; i++)
		if (!isdigit((unsigned char)seg[2][i]))
			return -EINVAL;
	pdlen = seglen[0];
	if (split3(seg[0], pdlen, &pod, &podlen, &uid))
		return -EINVAL;
	/* dockershim's name, which gProfiler also builds for CRI containers:
	 * k8s_<container>_<pod>_<namespace>_<pod uid>_<restart count> */
	w = snprintf(out, n, "k8s_%.*s_%.*s_%.*s_%.*s_%.*s", (int)seglen[1], seg[1], (int)podlen, pod,
		     (int)(pod - 1 - seg[0]), seg[0], (int)(seg[0] + pdlen - uid), uid,
		     (int)(seglen[2] - 4), seg[2]);
	if (w < 0 || (size_t)w >= n) {
		if (n)
			out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Kubernetes, whatever the runtime: the kubelet links each container's log as
 * <log_root>/containers/<pod>_<namespace>_<container>-<container id>.log -> the pod log. */
static int kube_name(const char *log_root, const struct container_info *info, char *out,
		     size_t n)
{
	const char *id = info->id;
	char dir[512], path[1024], target[1024];
	size_t idlen = strlen(id);
	struct dirent *de;
	ssize_t got;
	DIR *d;
	int rc = -ENOENT;

	if (snprintf(dir, sizeof(dir), "%s/containers", log_root) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < idlen + 5 || de->d_name[len - idlen - 5] != '-' ||
		    strncmp(de->d_name + len - idlen - 4, id, idlen) != 0 ||
		    strcmp(de->d_name + len - 4, ".log") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			break;
		got = readlink(path, target, sizeof(target));
		if (got <= 0 || (size_t)got >= sizeof(target))
			break; /* unreadable, or too long to be whole */
		target[got] = '\0';
		rc = container_kube_name(target, out, n);
		/* the cgroup path names the pod too: both must agree */
		if (rc == 0 && info->pod_uid[0] && !strstr(out, info->pod_uid)) {
			out[0] = '\0';
			rc = -ESTALE;
		}
		break;
	}
	closedir(d);
	return rc;
}

int container_name_of_pid(const char *proc_root, const struct container_roots *roots, pid_t pid,
			  char *out, size_t n)
{
	char path[128], text[4096];
	struct container_info info;
	FILE *f;
	size_t got;

	if (n)
		out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[got] = '\0';
	if (!container_parse_cgroup(text, &info))
		return 0;
	if (roots && roots->docker &&
	    (info.kind == CONTAINER_DOCKER || info.kind == CONTAINER_OTHER) &&
	    docker_name(roots->docker, info.id, out, n) == 0)
		return 1;
	if (roots && roots->kube_logs && kube_name(roots->kube_logs, &info, out, n) == 0) {
		name_sanitize(out);
		return 1;
	}
	snprintf(out, n, "%.12s", info.id);
	return 1;
}
