/* log.c — leveled, thread-safe logging to stderr or a size-rotated file (see log.h).
 *
 * Each line is formatted into a bounded stack buffer and written with one write(2), under one
 * mutex, so lines from different threads never interleave. Over-long messages are truncated and
 * end in "...".
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_PROG_MAX 64

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_level_min = LOG_INFO;
static char log_prog[LOG_PROG_MAX] = "fleetprof";
static int log_fd = -1;           /* -1: stderr */
static char *log_path;            /* owned; NULL when logging to stderr */
static size_t log_max_bytes;
static size_t log_size;           /* bytes in the current file */

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_init(const char *prog, enum log_level level)
{
	pthread_mutex_lock(&log_mu);
	snprintf(log_prog, sizeof(log_prog), "%s", prog ? prog : "");
	if (level >= LOG_DEBUG && level <= LOG_ERROR)
		log_level_min = level;
	pthread_mutex_unlock(&log_mu);
}

void log_set_level(enum log_level level)
{
	if (level < LOG_DEBUG || level > LOG_ERROR)
		return;
	pthread_mutex_lock(&log_mu);
	log_level_min = level;
	pthread_mutex_unlock(&log_mu);
}

enum log_level log_get_level(void)
{
	pthread_mutex_lock(&log_mu);
	enum log_level l = log_level_min;
	pthread_mutex_unlock(&log_mu);
	return l;
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level level; } names[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN },
		{ "warning", LOG_WARN }, { "error", LOG_ERROR },
	};
	if (!s || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/* Open log_path for appending into log_fd; caller holds log_mu. */
static int open_locked(void)
{
	struct stat st;
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		log_size = (size_t)st.st_size;
	else
		log_size = 0;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	return 0;
}

static void close_locked(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
	log_size = 0;
	log_max_bytes = 0;
}

int log_open_file(const char *path, size_t max_bytes)
{
	int rc;
	char *p;

	if (!path || !*path)
		return -EINVAL;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&log_mu);
	close_locked();
	log_path = p;
	log_max_bytes = max_bytes;
	rc = open_locked();
	if (rc)
		close_locked();
	pthread_mutex_unlock(&log_mu);
	return rc;
}

int log_reopen(void)
{
	int rc = 0;
	pthread_mutex_lock(&log_mu);
	if (log_path)
		rc = open_locked();
	pthread_mutex_unlock(&log_mu);
	return rc;
}

void log_close(void)
{
	pthread_mutex_lock(&log_mu);
	close_locked();
	pthread_mutex_unlock(&log_mu);
}

/* Rename PATH to PATH.1 and start a new file; caller holds log_mu. */
static void rotate_locked(void)
{
	char old[PATH_MAX];
	int n = snprintf(old, sizeof(old), "%s.1", log_path);
	if (n < 0 || (size_t)n >= sizeof(old))
		return;
	if (rename(log_path, old) != 0)
		return;
	if (open_locked() != 0) {
		/* keep going on stderr rather than lose lines */
		if (log_fd >= 0)
			close(log_fd);
		log_fd = -1;
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t len;
	int n;

	if (level < LOG_DEBUG || level > LOG_ERROR)
		level = LOG_ERROR;
	int saved_errno = errno; /* callers may log strerror(errno) and then test errno */
	pthread_mutex_lock(&log_mu);
	if (level < log_level_min)
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[level], log_prog);
	if (n < 0)
		goto out;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - len) {
		len = sizeof(line) - 1;
		memcpy(line + len - 4, "...", 3);
		len -= 1;
	} else {
		len += (size_t)n;
	}
	while (len > 0 && line[len - 1] == '\n')
		len--; /* one line per message, whatever the caller passed */
	line[len++] = '\n';
	if (log_fd >= 0) {
		write_all(log_fd, line, len);
		log_size += len;
		if (log_max_bytes && log_size >= log_max_bytes)
			rotate_locked();
	} else {
		write_all(STDERR_FILENO, line, len);
	}
out:
	pthread_mutex_unlock(&log_mu);
	errno = saved_errno;
}
