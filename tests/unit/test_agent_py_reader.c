/* test_agent_py_reader.c — detection and the process_vm_readv reader against every installed
 * CPython 3.8–3.13: tests/workloads/py/stacks.py prints what the interpreter itself says its
 * two threads' stacks are (names and lines); the reader must read exactly those. Also: the name
 * cache hits on a second read, a process that is not Python is not detected, and a process that
 * exits makes the reader say -ESRCH. Root is not needed (the workload is our child). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "t.h"
#include "agent_fixtures.h"
#include "runtime/python/py_detect.h"
#include "runtime/python/py_reader.h"

static int find_exe(unsigned minor, char *out, size_t n)
{
	char cmd[256];
	FILE *p;
	snprintf(cmd, sizeof(cmd), "ls /root/.pyenv/versions/3.%u.*/bin/python3.%u 2>/dev/null | head -1",
		 minor, minor);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	out[0] = '\0';
	if (!fgets(out, (int)n, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
	return out[0] ? 0 : -1;
}

#define MAX_GOT 16
struct got {
	char *stacks[MAX_GOT];
	size_t n;
};

static int collect(void *ctx, pid_t tid, const char *frames, size_t len)
{
	struct got *g = ctx;
	(void)tid;
	if (g->n < MAX_GOT && strlen(frames) == len)
		g->stacks[g->n++] = strdup(frames);
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->stacks[i]);
	g->n = 0;
}

static bool has(const struct got *g, const char *want)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->stacks[i], want))
			return true;
	return false;
}

/* "a (f:1)_[p];b (f:2)_[p]" -> "a (f)_[p];b (f)_[p]" */
static void strip_lines(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = in; *p && o + 1 < n; p++) {
		if (*p == ':' && strchr(p, ')') && strspn(p + 1, "0123456789") == (size_t)(strchr(p, ')') - p - 1)) {
			p = strchr(p, ')') - 1;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

static void one(unsigned minor)
{
	char exe[256], script[1024], want[2][4096], plain[4096];
	const char *root = getenv("FLEETPROF_ROOT");
	struct fixture_child c = { .pid = -1, .in_fd = -1 };
	struct py_target t;
	struct py_reader *r = NULL;
	struct py_reader_opts o = { .line_numbers = true, .all_threads = true, .proc_root = "/proc" };
	struct py_reader_stats st;
	struct got g = { { 0 }, 0 };
	int rc;

	if (find_exe(minor, exe, sizeof(exe)))
		T_SKIP("python3.%u not installed under /root/.pyenv", minor);
	snprintf(script, sizeof(script), "%.900s/tests/workloads/py/stacks.py", root ? root : ".");
	if (!realpath(script, plain))
		T_SKIP("no %.400s", script);
	if (fixture_spawn(&c, (char *[]){ exe, plain, NULL }))
		T_SKIP("cannot start %s", exe);
	for (int i = 0; i < 2; i++) {
		char line[4096];
		if (!fgets(line, sizeof(line), c.out) || strncmp(line, "EXPECT ", 7)) {
			T_CHECKF(0, "workload said no EXPECT line");
			goto out;
		}
		line[strcspn(line, "\n")] = '\0';
		snprintf(want[i], sizeof(want[i]), "%s", line + 7);
	}
	usleep(100 * 1000); /* let both threads reach their sleep */
	rc = py_detect("/proc", c.pid, &t);
	T_CHECKF(rc == 0, "py_detect: %d", rc);
	if (rc)
		goto out;
	T_CHECKF(t.minor == minor, "detected 3.%u", t.minor);
	T_CHECK(!t.embedded);
	r = py_reader_new(&t, &o);
	T_CHECKF(r != NULL, "py_reader_new: %s", strerror(errno));
	if (!r)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		got_free(&g);
		rc = py_reader_sample(r, collect, &g);
		T_CHECKF(rc == 0, "sample: %d", rc);
		T_CHECKF(g.n == 3, "%zu threads read, want 3 (two known, one reading stdin)", g.n);
		for (int i = 0; i < 2; i++)
			T_CHECKF(has(&g, want[i]), "pass %d: want %s; got %s | %s", pass, want[i],
				 g.n > 0 ? g.stacks[0] : "", g.n > 1 ? g.stacks[1] : "");
	}
	py_reader_get_stats(r, &st);
	T_CHECKF(st.name_hits >= st.name_misses, "cache: %llu hits, %llu misses", st.name_hits,
		 st.name_misses);
	py_reader_free(r);
	/* without line numbers */
	o.line_numbers = false;
	o.all_threads = false; /* both threads sleep: nothing is running */
	r = py_reader_new(&t, &o);
	got_free(&g);
	T_CHECK(r && py_reader_sample(r, collect, &g) == 0 && g.n == 0);
	py_reader_free(r);
	o.all_threads = true;
	r = py_reader_new(&t, &o);
	got_free(&g);
	T_CHECK(r && py_reader_sample(r, collect, &g) == 0);
	strip_lines(want[1], plain, sizeof(plain));
	T_CHECKF(has(&g, plain), "want %s", plain);
	/* the process exits: the reader says so */
	close(c.in_fd);
	c.in_fd = -1;
	waitpid(c.pid, NULL, 0);
	c.pid = -1;
	got_free(&g);
	rc = py_reader_sample(r, collect, &g);
	T_CHECKF(rc == -ESRCH, "after exit: %d", rc);
out:
	got_free(&g);
	py_reader_free(r);
	fixture_child_end(&c, 0);
}

T_TEST(read_3_8) { one(8); }
T_TEST(read_3_9) { one(9); }
T_TEST(read_3_10) { one(10); }
T_TEST(read_3_11) { one(11); }
T_TEST(read_3_12) { one(12); }
T_TEST(read_3_13) { one(13); }

T_TEST(not_python)
{
	struct py_target t;
	int rc = py_detect("/proc", getpid(), &t);
	T_CHECKF(rc == -ENOENT, "py_detect(self): %d", rc);
	rc = py_detect("/proc", 0x3fffffff, &t);
	T_CHECKF(rc == -ENOENT, "py_detect(no such pid): %d", rc);
	T_CHECK(py_minor_from_name("/usr/lib/libpython3.11.so.1.0") == 11);
	T_CHECK(py_minor_from_name("python3.8") == 8);
	T_CHECK(py_minor_from_name("/usr/bin/perl") == -1);
}

int main(void)
{
	T_RUN(not_python);
	T_RUN(read_3_8);
	T_RUN(read_3_9);
	T_RUN(read_3_10);
	T_RUN(read_3_11);
	T_RUN(read_3_12);
	T_RUN(read_3_13);
	return t_done();
}
