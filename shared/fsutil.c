/* fsutil.c — see fsutil.h. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define READ_CHUNK     65536u
#define TMP_ATTEMPTS   16

int fs_read_file_at(int dirfd, const char *name, size_t max, unsigned flags, struct buf *out)
{
	size_t start = out->len, got = 0;
	struct stat st;
	int fd, rc = 0;
	int oflags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | ((flags & FS_NOFOLLOW) ? O_NOFOLLOW : 0);

	fd = openat(dirfd, name, oflags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > 0 && (unsigned long long)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	for (;;) {
		size_t want = max - got < READ_CHUNK ? max - got : READ_CHUNK;
		char probe;
		ssize_t n;
		if (want == 0) {
			/* max bytes read: one more byte tells a file of exactly max from a longer one */
			n = read(fd, &probe, 1);
			if (n < 0 && errno == EINTR)
				continue;
			rc = n < 0 ? -errno : n > 0 ? -EFBIG : 0;
			goto out;
		}
		rc = buf_reserve(out, want);
		if (rc)
			goto out;
		n = read(fd, out->data + out->len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
out:
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	close(fd);
	return rc;
}

static int write_all(int fd, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		while (len) {
			ssize_t w = write(fd, p, len);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			p += w;
			len -= (size_t)w;
		}
	}
	return 0;
}

/* The directory that holds dirfd/name, opened, for the final fsync (AT_FDCWD + path). */
static int open_parent(int dirfd, const char *name, const char **base)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(name, '/');

	*base = name;
	if (!slash)
		return dirfd == AT_FDCWD ? open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
					 : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (dirfd != AT_FDCWD)
		return -EINVAL;
	*base = slash + 1;
	if ((size_t)(slash - name) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (slash == name)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int fs_write_atomic_iov(int dirfd, const char *name, const struct iovec *iov, int n, mode_t mode)
{
	static unsigned seq;
	char tmp[NAME_MAX + 1];
	const char *base;
	int dfd, fd = -1, rc;

	dfd = open_parent(dirfd, name, &base);
	if (dfd < 0)
		return dfd == -1 ? -errno : dfd;
	if (!*base || strlen(base) > NAME_MAX - 24) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
		snprintf(tmp, sizeof(tmp), ".%s.%d.%u.tmp", base, (int)getpid(),
			 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, iov, n);
	if (!rc && fchmod(fd, mode) != 0)   /* the umask must not widen or narrow what was asked */
		rc = -errno;
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	fd = -1;
	if (!rc && renameat(dfd, tmp, dfd, base) != 0)
		rc = -errno;
	if (rc) {
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	if (fsync(dfd) != 0 && errno != EINVAL)
		rc = -errno;
out:
	close(dfd);
	return rc;
}

int fs_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	struct iovec iov = { (void *)data, len };
	return fs_write_atomic_iov(dirfd, name, &iov, 1, mode);
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	struct stat st;
	size_t len = strlen(path);

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, len + 1);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	for (char *s = p + 1; ; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			int rc = -errno;
			*s = c;
			return rc;
		}
		if (stat(p, &st) != 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		*s = c;
		if (!c)
			break;
	}
	return 0;
}
