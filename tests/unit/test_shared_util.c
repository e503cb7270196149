/* test_shared_util.c — util.h (ARRAY_SIZE, ARRAY_GROW), jsonstr.h, fsutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "t.h"
#include "util.h"
#include "jsonstr.h"
#include "fsutil.h"

T_TEST(array_size_counts_elements)
{
	int a[7];
	struct { char c[3]; } b[5];
	T_CHECK(ARRAY_SIZE(a) == 7);
	T_CHECK(ARRAY_SIZE(b) == 5);
}

T_TEST(array_grow_doubles_and_stops_at_max)
{
	uint32_t *v = NULL;
	size_t cap = 0;
	T_REQUIRE(ARRAY_GROW(v, cap, 1, 100) == 0);
	T_CHECK(cap >= 1 && v != NULL);
	for (size_t i = 0; i < 100; i++) {
		T_REQUIRE(ARRAY_GROW(v, cap, i + 1, 100) == 0);
		v[i] = (uint32_t)i;
	}
	T_CHECK(cap == 100);              /* capped at max, not the next power of two */
	T_CHECK(v[99] == 99 && v[0] == 0);
	T_CHECK(ARRAY_GROW(v, cap, 101, 100) == -ENOSPC);
	T_CHECK(cap == 100 && v[50] == 50); /* untouched by the refusal */
	T_CHECK(ARRAY_GROW(v, cap, 50, 100) == 0);   /* no shrink, no work */
	free(v);
}

T_TEST(array_grow_refuses_overflowing_sizes)
{
	struct big { char c[1 << 20]; } *v = NULL;
	size_t cap = 0;
	T_CHECK(ARRAY_GROW(v, cap, SIZE_MAX / 1024, SIZE_MAX) == -ENOMEM);
	T_CHECK(v == NULL && cap == 0);
}

static const char *quoted(struct buf *b, const char *s, size_t n, unsigned flags)
{
	buf_reset(b);
	T_REQUIRE(json_str(b, s, n, flags) == 0);
	return buf_cstr(b);
}

T_TEST(json_str_escapes)
{
	static const struct { const char *in; size_t n; unsigned flags; const char *want; } cases[] = {
		{ "abc", 3, 0, "\"abc\"" },
		{ "", 0, 0, "\"\"" },
		{ "a\"b\\c\n\t\r", 8, 0, "\"a\\\"b\\\\c\\n\\t\\r\"" },
		{ "\x01\x7f\x1b", 3, 0, "\"\\u0001\\u007f\\u001b\"" },
		{ "nul\0x", 5, 0, "\"nul\\u0000x\"" },
		{ "\xc3\xa9", 2, 0, "\"\xc3\xa9\"" },
		{ "</script>&", 10, 0, "\"</script>&\"" },
		{ "</script>&", 10, JSONSTR_HTML, "\"\\u003c/script\\u003e\\u0026\"" },
		{ "a\xe2\x80\xa8z\xe2\x80\xa9", 8, JSONSTR_HTML, "\"a\\u2028z\\u2029\"" },
		{ "\xe2\x82\xac", 3, JSONSTR_HTML, "\"\xe2\x82\xac\"" },   /* the euro sign passes */
		{ "\xe2\x80", 2, JSONSTR_HTML, "\"\xe2\x80\"" },           /* cut short: passes */
	};
	struct buf b;
	buf_init(&b, 4096);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = quoted(&b, cases[i].in, cases[i].n, cases[i].flags);
		T_CHECKF(strcmp(got, cases[i].want) == 0, "case %zu: got %s want %s", i, got,
			 cases[i].want);
	}
	buf_release(&b);
}

T_TEST(json_str_bounded)
{
	struct buf b;
	buf_init(&b, 4);
	T_CHECK(json_str(&b, "abcdef", 6, 0) == -ENOSPC);
	buf_release(&b);
}

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/fp-fsutil-XXXXXX");
	T_REQUIRE(mkdtemp(dir) != NULL);
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	T_CHECK(system(cmd) == 0);
}

T_TEST(read_file_bounded)
{
	char path[128];
	struct buf b;
	mkdir_tmp();
	snprintf(path, sizeof(path), "%s/f", dir);
	T_REQUIRE(fs_write_atomic_at(AT_FDCWD, path, "0123456789", 10, 0600) == 0);
	buf_init(&b, 1 << 20);
	T_CHECK(fs_read_file_at(AT_FDCWD, path, 10, 0, &b) == 0);
	T_CHECK(b.len == 10 && strcmp(buf_cstr(&b), "0123456789") == 0);
	buf_reset(&b);
	T_CHECK(fs_read_file_at(AT_FDCWD, path, 9, 0, &b) == -EFBIG);
	T_CHECK(b.len == 0);
	/* /proc files report size 0: read to EOF, under the same bound */
	T_CHECK(fs_read_file_at(AT_FDCWD, "/proc/self/status", 1 << 16, 0, &b) == 0);
	T_CHECK(strstr(buf_cstr(&b), "Name:") != NULL);
	buf_reset(&b);
	T_CHECK(fs_read_file_at(AT_FDCWD, "/proc/self/status", 8, 0, &b) == -EFBIG);
	/* not regular: refused without blocking or reading without end */
	T_CHECK(fs_read_file_at(AT_FDCWD, "/dev/zero", 1 << 20, 0, &b) == -EINVAL);
	T_CHECK(fs_read_file_at(AT_FDCWD, dir, 1 << 20, 0, &b) == -EINVAL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	T_REQUIRE(mkfifo(path, 0600) == 0);
	T_CHECK(fs_read_file_at(AT_FDCWD, path, 1 << 20, 0, &b) == -EINVAL);
	/* a link, refused only when asked */
	snprintf(path, sizeof(path), "%s/link", dir);
	T_REQUIRE(symlink("f", path) == 0);
	T_CHECK(fs_read_file_at(AT_FDCWD, path, 100, FS_NOFOLLOW, &b) == -ELOOP);
	T_CHECK(fs_read_file_at(AT_FDCWD, path, 100, 0, &b) == 0);
	buf_release(&b);
	rm_tmp();
}

T_TEST(write_atomic_never_follows_a_planted_link)
{
	char path[128], victim[128], name[64];
	struct buf b;
	struct stat st;
	int dfd;
	mkdir_tmp();
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	T_REQUIRE(fs_write_atomic_at(AT_FDCWD, victim, "keep", 4, 0600) == 0);
	/* plant links at the temporary names the next writes of "out" would use */
	for (unsigned i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "%s/.out.%d.%u.tmp", dir, (int)getpid(), i);
		T_REQUIRE(symlink(victim, path) == 0);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	T_REQUIRE(dfd >= 0);
	/* each refused name costs an attempt; the write lands once it reaches a free name */
	int rc = -EEXIST;
	for (int i = 0; i < 10 && rc == -EEXIST; i++)
		rc = fs_write_atomic_at(dfd, "out", "new", 3, 0640);
	T_CHECKF(rc == 0, "rc %d", rc);
	buf_init(&b, 100);
	T_CHECK(fs_read_file_at(AT_FDCWD, victim, 100, 0, &b) == 0);
	T_CHECKF(strcmp(buf_cstr(&b), "keep") == 0, "victim now holds %s", buf_cstr(&b));
	buf_reset(&b);
	T_CHECK(fs_read_file_at(dfd, "out", 100, FS_NOFOLLOW, &b) == 0);
	T_CHECK(strcmp(buf_cstr(&b), "new") == 0);
	T_CHECK(fstatat(dfd, "out", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	T_CHECK((st.st_mode & 0777) == 0640);
	/* a name with a slash is refused inside a directory fd */
	snprintf(name, sizeof(name), "sub/x");
	T_CHECK(fs_write_atomic_at(dfd, name, "x", 1, 0600) == -EINVAL);
	close(dfd);
	buf_release(&b);
	rm_tmp();
}

T_TEST(write_atomic_replaces_whole)
{
	char path[128];
	struct iovec iov[3] = { { "a", 1 }, { "\n", 1 }, { "bc", 2 } };
	struct buf b;
	mkdir_tmp();
	snprintf(path, sizeof(path), "%s/f", dir);
	T_REQUIRE(fs_write_atomic_at(AT_FDCWD, path, "old contents", 12, 0600) == 0);
	T_REQUIRE(fs_write_atomic_iov(AT_FDCWD, path, iov, 3, 0600) == 0);
	buf_init(&b, 100);
	T_CHECK(fs_read_file_at(AT_FDCWD, path, 100, 0, &b) == 0);
	T_CHECK(strcmp(buf_cstr(&b), "a\nbc") == 0);
	buf_release(&b);
	T_CHECK(fs_write_atomic_at(AT_FDCWD, "/nonexistent-dir/x", "x", 1, 0600) == -ENOENT);
	rm_tmp();
}

T_TEST(mkdir_p_makes_parents)
{
	char path[160];
	struct stat st;
	mkdir_tmp();
	snprintf(path, sizeof(path), "%s/a/b//c/", dir);
	T_CHECK(fs_mkdir_p(path, 0700) == 0);
	T_CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	T_CHECK(fs_mkdir_p(path, 0700) == 0);                 /* exists: fine */
	snprintf(path, sizeof(path), "%s/file", dir);
	T_REQUIRE(fs_write_atomic_at(AT_FDCWD, path, "x", 1, 0600) == 0);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	T_CHECK(fs_mkdir_p(path, 0700) == -ENOTDIR);
	T_CHECK(fs_mkdir_p("", 0700) == -EINVAL);
	rm_tmp();
}

T_TEST(parse_uint_table)
{
	static const struct {
		const char *s;
		unsigned lo, hi;
		int rc;
		unsigned want;
	} cases[] = {
		{ "0", 0, 10, 0, 0 }, { "10", 0, 10, 0, 10 }, { "11", 0, 10, -EINVAL, 0 },
		{ "1", 2, 10, -EINVAL, 0 }, { "", 0, 10, -EINVAL, 0 }, { "-1", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 }, { " 1", 0, 10, -EINVAL, 0 }, { "1 ", 0, 10, -EINVAL, 0 },
		{ "5x", 0, 10, -EINVAL, 0 }, { "99999999999999999999", 0, ~0u, -EINVAL, 0 },
		{ "4294967295", 0, ~0u, 0, ~0u },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned v = 12345;
		int rc = util_parse_uint(cases[i].s, cases[i].lo, cases[i].hi, &v);
		T_CHECKF(rc == cases[i].rc, "'%s': rc %d", cases[i].s, rc);
		T_CHECKF(rc || v == cases[i].want, "'%s': %u", cases[i].s, v);
		T_CHECKF(!rc || v == 12345, "'%s': out changed on error", cases[i].s);
	}
	T_CHECK(util_parse_uint(NULL, 0, 1, &(unsigned){ 0 }) == -EINVAL);
}

int main(void)
{
	T_RUN(array_size_counts_elements);
	T_RUN(array_grow_doubles_and_stops_at_max);
	T_RUN(array_grow_refuses_overflowing_sizes);
	T_RUN(json_str_escapes);
	T_RUN(json_str_bounded);
	T_RUN(read_file_bounded);
	T_RUN(write_atomic_never_follows_a_planted_link);
	T_RUN(write_atomic_replaces_whole);
	T_RUN(mkdir_p_makes_parents);
	T_RUN(parse_uint_table);
	return t_done();
}
