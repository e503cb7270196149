/* test_log.c — line format, levels, file output, size rotation, reopen, threads, truncation. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "t.h"

static char dir[64];
static char path[128];

/* Read a whole small file; caller frees. */
static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "r");
	char *s = NULL;
	size_t n = 0, cap = 0;
	if (!f)
		return NULL;
	for (int c; (c = fgetc(f)) != EOF;) {
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			s = realloc(s, cap);
		}
		s[n++] = (char)c;
	}
	fclose(f);
	if (!s)
		s = calloc(1, 1);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

T_TEST(log_parse_level_table)
{
	static const struct { const char *s; int rc; enum log_level l; } cases[] = {
		{ "debug", 0, LOG_DEBUG }, { "INFO", 0, LOG_INFO }, { "Warn", 0, LOG_WARN },
		{ "warning", 0, LOG_WARN }, { "error", 0, LOG_ERROR }, { "ERROR", 0, LOG_ERROR },
		{ "", -EINVAL, 0 }, { "fatal", -EINVAL, 0 }, { "info ", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level l = (enum log_level)99;
		int rc = log_parse_level(cases[i].s, &l);
		T_CHECKF(rc == cases[i].rc, "'%s': rc %d", cases[i].s, rc);
		if (rc == 0)
			T_CHECKF(l == cases[i].l, "'%s': level %d", cases[i].s, (int)l);
	}
	T_CHECK(log_parse_level(NULL, &(enum log_level){ 0 }) == -EINVAL);
}

T_TEST(log_line_format_and_levels)
{
	size_t n;
	log_init("tester", LOG_INFO);
	T_CHECK(log_get_level() == LOG_INFO);
	T_CHECK(log_open_file(path, 0) == 0);
	int64_t before = time_now_ms() / 1000;
	log_debug("hidden %d", 1);
	log_info("listening on %s:%d", "0.0.0.0", 8080);
	log_warn("two\n"); /* trailing newline not doubled */
	log_set_level(LOG_ERROR);
	log_warn("hidden too");
	log_error("bad %s", "thing");
	log_set_level(LOG_DEBUG);
	log_debug("now shown");
	int64_t after = time_now_ms() / 1000;
	log_close();
	char *s = slurp(path, &n);
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_CHECKF(count_lines(s) == 4, "%zu lines:\n%s", count_lines(s), s);
	T_CHECK(strstr(s, "hidden") == NULL);
	/* 2026-11-27T13:00:00.123Z INFO  tester: listening on 0.0.0.0:8080 */
	T_CHECKF(strlen(s) > 25 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z' &&
		 s[24] == ' ', "%s", s);
	char ts[32];
	snprintf(ts, sizeof(ts), "%.23s", s);
	int64_t t;
	T_CHECKF(time_parse_iso8601(ts, &t) == 0 && t >= before && t <= after, "timestamp %s", ts);
	T_CHECKF(strncmp(s + 25, "INFO  tester: listening on 0.0.0.0:8080\n", 40) == 0, "%s", s + 25);
	T_CHECK(strstr(s, " WARN  tester: two\n") != NULL);
	T_CHECK(strstr(s, " ERROR tester: bad thing\n") != NULL);
	T_CHECK(strstr(s, " DEBUG tester: now shown\n") != NULL);
	free(s);
	unlink(path);
	log_set_level(LOG_INFO);
}

T_TEST(log_rotation)
{
	char old[160], *s, *o;
	snprintf(old, sizeof(old), "%s.1", path);
	log_init("rot", LOG_INFO);
	T_CHECK(log_open_file(path, 1000) == 0);
	for (int i = 0; i < 100; i++)
		log_info("message number %04d padded to be about sixty bytes", i);
	log_close();
	struct stat st;
	T_CHECK(stat(path, &st) == 0 && st.st_size < 1000);
	T_CHECK(stat(old, &st) == 0 && st.st_size >= 1000 && st.st_size < 1000 + 100);
	s = slurp(path, NULL);
	o = slurp(old, NULL);
	T_CHECK(s && o);
	if (!s || !o)
		goto out;
	/* the newest line is in PATH, PATH.1 holds the lines just before PATH's first */
	T_CHECK(strstr(s, "message number 0099") != NULL);
	const char *first = strstr(s, "message number ");
	int n0 = first ? atoi(first + 15) : -1;
	char prev[32];
	snprintf(prev, sizeof(prev), "number %04d padded", n0 - 1);
	T_CHECKF(n0 > 0 && strstr(o, prev) != NULL, "PATH starts at %d", n0);
	T_CHECK(count_lines(s) == (size_t)(100 - n0));
out:
	free(s);
	free(o);
	unlink(path);
	unlink(old);
}

T_TEST(log_reopen_after_external_rotation)
{
	char moved[160], *a, *b;
	snprintf(moved, sizeof(moved), "%s.moved", path);
	log_init("re", LOG_INFO);
	T_CHECK(log_open_file(path, 0) == 0);
	log_info("before");
	T_CHECK(rename(path, moved) == 0);
	log_info("still old fd");
	T_CHECK(access(path, F_OK) != 0);
	T_CHECK(log_reopen() == 0);
	log_info("after");
	log_close();
	a = slurp(moved, NULL);
	b = slurp(path, NULL);
	T_CHECK(a && strstr(a, "before") && strstr(a, "still old fd") && !strstr(a, "after"));
	T_CHECK(b && strstr(b, "re: after") && count_lines(b) == 1);
	free(a);
	free(b);
	unlink(path);
	unlink(moved);
	T_CHECK(log_reopen() == 0); /* no file: no-op */
	T_CHECK(log_open_file("/nonexistent-dir/x.log", 0) == -ENOENT);
	T_CHECK(log_open_file("", 0) == -EINVAL);
}

#define THREADS 4
#define PER_THREAD 500

static void *spam(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++)
		log_info("thread %d line %d %s", id, i, "payload-payload-payload-payload-payload");
	return NULL;
}

T_TEST(log_threads_no_interleaving)
{
	pthread_t th[THREADS];
	int seen[THREADS] = { 0 };
	log_init("mt", LOG_INFO);
	T_CHECK(log_open_file(path, 0) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, spam, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	log_close();
	char *s = slurp(path, NULL);
	T_CHECK(s != NULL);
	if (!s)
		return;
	T_CHECK(count_lines(s) == THREADS * PER_THREAD);
	int bad = 0;
	for (char *line = s, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		int id, n;
		*nl = '\0';
		if (sscanf(line + 25, "INFO  mt: thread %d line %d payload-payload-payload-payload-payload",
			   &id, &n) != 2 || id < 0 || id >= THREADS ||
		    strlen(line) != 25 + strlen("INFO  mt: thread 0 line  payload-payload-payload-payload-payload") +
					   (size_t)snprintf(NULL, 0, "%d", n))
			bad++;
		else
			seen[id]++;
	}
	T_CHECKF(bad == 0, "%d malformed lines", bad);
	for (int i = 0; i < THREADS; i++)
		T_CHECKF(seen[i] == PER_THREAD, "thread %d: %d lines", i, seen[i]);
	free(s);
	unlink(path);
}

T_TEST(log_truncates_long_message)
{
	char *big = malloc(20001);
	memset(big, 'm', 20000);
	big[20000] = '\0';
	log_init("long", LOG_INFO);
	T_CHECK(log_open_file(path, 0) == 0);
	errno = 1234;
	log_info("%s", big);
	T_CHECK(errno == 1234); /* logging keeps errno */
	log_info("next");
	log_close();
	size_t n;
	char *s = slurp(path, &n);
	T_CHECK(s && count_lines(s) == 2);
	char *nl = s ? strchr(s, '\n') : NULL;
	T_CHECKF(nl && nl - s == 8190 && strncmp(nl - 3, "...", 3) == 0, "first line %td bytes",
		 nl ? nl - s : -1);
	T_CHECK(s && strstr(s, "long: next\n") != NULL);
	free(s);
	free(big);
	unlink(path);
}

T_TEST(log_to_stderr)
{
	char errpath[160];
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	log_init("se", LOG_WARN);
	log_info("not shown");
	log_warn("to stderr %d", 7);
	dup2(saved, 2);
	close(saved);
	close(fd);
	char *s = slurp(errpath, NULL);
	T_CHECK(s && count_lines(s) == 1 && strstr(s, " WARN  se: to stderr 7\n"));
	free(s);
	unlink(errpath);
	log_set_level(LOG_INFO);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/fp-test-log-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/test.log", dir);
	T_RUN(log_parse_level_table);
	T_RUN(log_line_format_and_levels);
	T_RUN(log_rotation);
	T_RUN(log_reopen_after_external_rotation);
	T_RUN(log_threads_no_interleaving);
	T_RUN(log_truncates_long_message);
	T_RUN(log_to_stderr);
	/* leave nothing behind, even after failures */
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		char p[400];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return t_done();
}
