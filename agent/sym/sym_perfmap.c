/* sym_perfmap.c — see sym_perfmap.h. */
#include "sym_perfmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sym_elf.h"
#include "util.h"

struct pm_entry {
	uint64_t start, size;
	uint32_t name_off;
	uint32_t seq; /* line number: later lines win on overlap */
};

struct sym_perfmap {
	struct pm_entry *v;
	size_t n;
	char *strs;
	size_t strs_len;
	uint64_t dev, ino, fsize;
	int64_t mtime_ns;
};

static int pm_cmp(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void sym_perfmap_free(struct sym_perfmap *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->strs);
	free(m);
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The lines of f into m, within the bounds; sorted. 0 or an errno (ENOMEM). */
static int read_lines(struct sym_perfmap *m, FILE *f, const char *what)
{
	char line[SYM_PERFMAP_MAX_LINE];
	size_t cap = 0, scap = 0, len;
	uint32_t seq = 0;
	unsigned dropped = 0;

	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			/* longer than any real entry: skip the rest of it */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			dropped++;
			continue;
		}
		seq++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		uint64_t start = strtoull(p, &end, 16);
		if (end == p || *end != ' ')
			continue;
		p = end + 1;
		uint64_t size = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || size == 0)
			continue;
		const char *name = end + 1;
		size_t nl = strlen(name);
		if (nl == 0)
			continue;
		if (m->n >= SYM_PERFMAP_MAX_ENTRIES || m->strs_len + nl + 1 > SYM_PERFMAP_MAX_BYTES) {
			dropped++;
			continue;
		}
		if (ARRAY_GROW(m->v, cap, m->n + 1, SYM_PERFMAP_MAX_ENTRIES) ||
		    ARRAY_GROW(m->strs, scap, m->strs_len + nl + 1, SYM_PERFMAP_MAX_BYTES))
			return ENOMEM;   /* the bounds were checked above */
		memcpy(m->strs + m->strs_len, name, nl + 1);
		m->v[m->n++] = (struct pm_entry){ start, size, (uint32_t)m->strs_len, seq };
		m->strs_len += nl + 1;
	}
	if (dropped)
		log_debug("sym: %s: %u perf map lines past the bounds ignored", what, dropped);
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), pm_cmp);
	return 0;
}

struct sym_perfmap *sym_perfmap_read(FILE *f, const char *what)
{
	struct sym_perfmap *m = calloc(1, sizeof(*m));
	int err = m ? read_lines(m, f, what) : ENOMEM;
	if (err) {
		sym_perfmap_free(m);
		errno = err;
		return NULL;
	}
	return m;
}

struct sym_perfmap *sym_perfmap_load(const char *path)
{
	struct sym_perfmap *m = NULL;
	FILE *f = NULL;
	struct stat st;
	int fd;
	int err = 0;

	m = calloc(1, sizeof(*m));
	if (!m) {
		err = ENOMEM;
		goto out;
	}
	/* written by the profiled process (any user): a FIFO or a link to a device must not hang
	 * or flood the agent */
	fd = sym_open_regular(path, 1);
	if (fd < 0) {
		err = -fd;
		goto out;
	}
	f = fdopen(fd, "re");
	if (!f) {
		err = errno;
		close(fd);
		goto out;
	}
	if (fstat(fileno(f), &st) != 0) {
		err = errno;
		goto out;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->fsize = (uint64_t)st.st_size;
	m->mtime_ns = mtime_ns(&st);
	err = read_lines(m, f, path);
out:
	if (f)
		fclose(f);
	if (err) {
		sym_perfmap_free(m);
		errno = err;
		return NULL;
	}
	return m;
}

int sym_perfmap_changed(const struct sym_perfmap *m, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	return st.st_dev != m->dev || st.st_ino != m->ino || (uint64_t)st.st_size != m->fsize ||
	       mtime_ns(&st) != m->mtime_ns;
}

const char *sym_perfmap_lookup(const struct sym_perfmap *m, uint64_t addr)
{
	if (!m || m->n == 0)
		return NULL;
	size_t lo = 0, hi = m->n; /* first index with start > addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Among entries containing addr (bounded look-back), the latest line wins. */
	const struct pm_entry *best = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < 16; i--, k++) {
		const struct pm_entry *e = &m->v[i - 1];
		if (addr - e->start < e->size && (!best || e->seq > best->seq))
			best = e;
	}
	return best ? m->strs + best->name_off : NULL;
}

size_t sym_perfmap_count(const struct sym_perfmap *m)
{
	return m ? m->n : 0;
}

size_t sym_perfmap_bytes(const struct sym_perfmap *m)
{
	return m ? sizeof(*m) + m->n * sizeof(*m->v) + m->strs_len : 0;
}
