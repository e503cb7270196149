/* sym_maps.c — see sym_maps.h. */
#include "sym_maps.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELETED_SUFFIX " (deleted)"

void sym_maps_release(struct sym_maps *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->paths);
	memset(m, 0, sizeof(*m));
}

static int add_path(struct sym_maps *m, size_t *cap, const char *p, size_t len, uint32_t *off)
{
	int rc = ARRAY_GROW(m->paths, *cap, m->paths_len + len + 1, UINT32_MAX);
	if (rc)
		return rc == -ENOSPC ? -E2BIG : rc;
	memcpy(m->paths + m->paths_len, p, len);
	m->paths[m->paths_len + len] = '\0';
	*off = (uint32_t)m->paths_len;
	m->paths_len += len + 1;
	return 0;
}

int sym_maps_read(const char *path, struct sym_maps *out)
{
	struct sym_maps m = { 0 };
	FILE *f = NULL;
	char *line = NULL;
	size_t linecap = 0, cap = 0, pcap = 0;
	ssize_t len;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		goto out;
	}
	/* An empty string at offset 0 names anonymous mappings. */
	uint32_t empty_off;
	rc = add_path(&m, &pcap, "", 0, &empty_off);
	if (rc)
		goto out;
	while ((len = getline(&line, &linecap, f)) > 0) {
		uint64_t start, end, off, ino;
		unsigned dmaj, dmin;
		char perms[8];
		int pos = 0;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &start,
			   &end, perms, &off, &dmaj, &dmin, &ino, &pos) < 7 || pos == 0)
			continue;
		if (strlen(perms) < 3 || perms[2] != 'x' || end <= start)
			continue;
		if (m.n >= SYM_MAPS_MAX)
			break;
		rc = ARRAY_GROW(m.v, cap, m.n + 1, SYM_MAPS_MAX);
		if (rc)
			goto out;
		struct sym_map *mp = &m.v[m.n];
		memset(mp, 0, sizeof(*mp));
		mp->start = start;
		mp->end = end;
		mp->off = off;
		mp->ino = ino;
		const char *p = line + pos;
		size_t pl = strlen(p);
		if (pl == 0 || strncmp(p, "[anon:", 6) == 0) {
			mp->kind = SYM_MAP_ANON;
			mp->path_off = empty_off;
		} else {
			mp->kind = p[0] == '[' ? SYM_MAP_SPECIAL : SYM_MAP_FILE;
			size_t sl = sizeof(DELETED_SUFFIX) - 1;
			if (mp->kind == SYM_MAP_FILE && pl > sl &&
			    strcmp(p + pl - sl, DELETED_SUFFIX) == 0) {
				mp->deleted = true;
				pl -= sl;
			}
			rc = add_path(&m, &pcap, p, pl, &mp->path_off);
			if (rc)
				goto out;
		}
		/* The kernel lists mappings in address order; keep that invariant for search. */
		if (m.n > 0 && m.v[m.n - 1].end > start)
			continue;
		m.n++;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	*out = m;
	memset(&m, 0, sizeof(m));
out:
	free(line);
	if (f)
		fclose(f);
	sym_maps_release(&m);
	return rc;
}

struct sym_map *sym_maps_find(const struct sym_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].end <= addr)
			lo = mid + 1;
		else if (m->v[mid].start > addr)
			hi = mid;
		else
			return &m->v[mid];
	}
	return NULL;
}

const char *sym_map_path(const struct sym_maps *m, const struct sym_map *map)
{
	return m->paths + map->path_off;
}

static int read_small(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t got = fread(buf, 1, n - 1, f);
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	buf[got] = '\0';
	return rc;
}

int sym_proc_start_time(const char *proc_root, pid_t pid, uint64_t *out)
{
	char path[256], buf[1024];
	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	int rc = read_small(path, buf, sizeof(buf));
	if (rc)
		return rc;
	/* comm may hold spaces and ')': fields resume after the last ')'. Field 3 follows. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 22) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p, &end, 10);
			if (end == p || errno)
				return -EINVAL;
			*out = v;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EINVAL;
}

int sym_proc_nspid(const char *proc_root, pid_t pid, pid_t *out)
{
	char path[256], buf[4096];
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	int rc = read_small(path, buf, sizeof(buf));
	if (rc)
		return rc;
	*out = pid;
	char *p = strstr(buf, "\nNSpid:");
	if (!p)
		return 0;
	p += 7;
	char *eol = strchr(p, '\n');
	if (eol)
		*eol = '\0';
	char *tok, *save = NULL;
	for (tok = strtok_r(p, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		long v = strtol(tok, NULL, 10);
		if (v > 0)
			*out = (pid_t)v;
	}
	return 0;
}
