/* spool.c — on-disk upload queue; see spool.h. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

#define SPOOL_MAX_ITEMS 100000u   /* index bound, far above any sane byte budget */

struct entry {
	uint64_t seq;
	uint64_t size;   /* bytes on disk */
};

struct spool {
	pthread_mutex_t mu;
	char dir[PATH_MAX - 32];
	uint64_t max_bytes, bytes, next_seq;
	struct entry *e;   /* sorted by seq, oldest first */
	size_t n, cap;
};

static void item_path(const struct spool *sp, uint64_t seq, char *out, size_t n)
{
	snprintf(out, n, "%s/%020" PRIu64 ".spool", sp->dir, seq);
}

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const struct entry *)a)->seq, y = ((const struct entry *)b)->seq;
	return x < y ? -1 : x > y;
}

static int append_entry(struct spool *sp, uint64_t seq, uint64_t size)
{
	int rc = ARRAY_GROW(sp->e, sp->cap, sp->n + 1, SPOOL_MAX_ITEMS);
	if (rc)
		return rc;
	sp->e[sp->n++] = (struct entry){ .seq = seq, .size = size };
	sp->bytes += size;
	return 0;
}

static void drop_index(struct spool *sp, size_t i)
{
	sp->bytes -= sp->e[i].size;
	memmove(&sp->e[i], &sp->e[i + 1], (sp->n - i - 1) * sizeof(*sp->e));
	sp->n--;
}

/* The temporary file of a write that never finished (the agent died in it): fs_write_atomic's
 * ".<item>.<pid>.<n>.tmp", or "<item>.tmp" from before it. */
static bool is_leftover(const char *name, size_t len)
{
	if (len == 20 + 6 + 4 && strcmp(name + 20, ".spool.tmp") == 0)
		return true;
	return len > 1 + 26 + 4 && name[0] == '.' && strncmp(name + 21, ".spool.", 7) == 0 &&
	       strcmp(name + len - 4, ".tmp") == 0;
}

static int scan(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		struct stat st;
		unsigned long long seq;
		size_t len = strlen(de->d_name);

		if (is_leftover(de->d_name, len)) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (len != 26 || strcmp(de->d_name + 20, ".spool") != 0)
			continue;
		errno = 0;
		seq = strtoull(de->d_name, &end, 10);
		if (errno || end != de->d_name + 20)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sp->dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (append_entry(sp, seq, (uint64_t)st.st_size) != 0)
			break;
	}
	closedir(d);
	if (sp->n)
		qsort(sp->e, sp->n, sizeof(*sp->e), cmp_entry);
	sp->next_seq = sp->n ? sp->e[sp->n - 1].seq + 1 : 1;
	return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes)
{
	struct spool *sp;
	int rc;

	if (!dir || !*dir || max_bytes == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return NULL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	pthread_mutex_init(&sp->mu, NULL);
	sp->max_bytes = max_bytes;
	if (snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >= (int)sizeof(sp->dir)) {
		spool_free(sp);
		errno = ENAMETOOLONG;
		return NULL;
	}
	rc = scan(sp);
	if (rc) {
		spool_free(sp);
		errno = -rc;
		return NULL;
	}
	if (sp->n)
		log_info("spool: %zu profile(s), %" PRIu64 " bytes waiting in %s", sp->n, sp->bytes, dir);
	return sp;
}

void spool_free(struct spool *sp)
{
	if (!sp)
		return;
	pthread_mutex_destroy(&sp->mu);
	free(sp->e);
	free(sp);
}

int spool_put(struct spool *sp, const char *meta, const void *data, size_t len, size_t *dropped)
{
	char path[PATH_MAX];
	size_t mlen = strlen(meta), ndrop = 0;
	uint64_t need = mlen + 1 + len, seq, dropped_bytes = 0;
	struct iovec iov[3] = { { (void *)meta, mlen }, { "\n", 1 }, { (void *)data, len } };
	int rc;

	if (dropped)
		*dropped = 0;
	if (strchr(meta, '\n'))
		return -EINVAL;
	if (need > sp->max_bytes)
		return -EFBIG;

	pthread_mutex_lock(&sp->mu);
	seq = sp->next_seq++;
	item_path(sp, seq, path, sizeof(path));
	rc = fs_write_atomic_iov(AT_FDCWD, path, iov, 3, 0600);
	if (rc)
		goto out;
	/* make room: the oldest go first */
	while (sp->n && sp->bytes + need > sp->max_bytes) {
		char old[PATH_MAX];
		item_path(sp, sp->e[0].seq, old, sizeof(old));
		unlink(old);
		dropped_bytes += sp->e[0].size;
		drop_index(sp, 0);
		ndrop++;
	}
	rc = append_entry(sp, seq, need);
	if (rc)
		unlink(path);
out:
	pthread_mutex_unlock(&sp->mu);
	if (ndrop) {
		log_warn("spool: full (%" PRIu64 " bytes max): dropped the %zu oldest profile(s), "
			 "%" PRIu64 " bytes", sp->max_bytes, ndrop, dropped_bytes);
		if (dropped)
			*dropped = ndrop;
	}
	return rc;
}

/* The whole item file, bounded: an item never passes the spool's own bound (spool_put). The
 * caller frees *out. */
static int read_file(const struct spool *sp, const char *path, char **out, size_t *len)
{
	struct buf b;
	int rc;
	buf_init(&b, sp->max_bytes < SIZE_MAX - 1 ? (size_t)sp->max_bytes : SIZE_MAX - 1);
	rc = fs_read_file_at(AT_FDCWD, path, b.max, FS_NOFOLLOW, &b);
	if (rc == 0) {
		*out = buf_steal(&b, len);
		rc = *out ? 0 : -ENOMEM;
	}
	buf_release(&b);
	return rc;
}

int spool_oldest(struct spool *sp, struct spool_item *it)
{
	int rc = -ENOENT;

	memset(it, 0, sizeof(*it));
	pthread_mutex_lock(&sp->mu);
	while (sp->n) {
		char path[PATH_MAX], *raw = NULL, *nl;
		size_t len = 0;
		uint64_t seq = sp->e[0].seq;

		item_path(sp, seq, path, sizeof(path));
		rc = read_file(sp, path, &raw, &len);
		if (rc == -ENOMEM)
			break;
		nl = rc == 0 ? memchr(raw, '\n', len) : NULL;
		if (!nl) {
			log_warn("spool: %s unreadable or malformed, deleted", path);
			free(raw);
			unlink(path);
			drop_index(sp, 0);
			rc = -ENOENT;
			continue;
		}
		*nl = '\0';
		it->seq = seq;
		it->meta = raw;
		it->data = nl + 1;
		it->len = len - (size_t)(nl + 1 - raw);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

int spool_remove(struct spool *sp, uint64_t seq)
{
	char path[PATH_MAX];
	int rc = -ENOENT;

	pthread_mutex_lock(&sp->mu);
	for (size_t i = 0; i < sp->n; i++) {
		if (sp->e[i].seq != seq)
			continue;
		item_path(sp, seq, path, sizeof(path));
		rc = unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
		drop_index(sp, i);
		break;
	}
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

void spool_item_release(struct spool_item *it)
{
	if (!it)
		return;
	free(it->meta);   /* data points into the same allocation */
	memset(it, 0, sizeof(*it));
}

size_t spool_count(struct spool *sp)
{
	size_t n;
	pthread_mutex_lock(&sp->mu);
	n = sp->n;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

uint64_t spool_bytes(struct spool *sp)
{
	uint64_t b;
	pthread_mutex_lock(&sp->mu);
	b = sp->bytes;
	pthread_mutex_unlock(&sp->mu);
	return b;
}
