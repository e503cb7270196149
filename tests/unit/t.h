/* t.h — the unit-test harness. One binary per tests/unit/test_*.c, table-driven tests inside.
 *
 *   T_TEST(parse_counts) { ... T_CHECK(x == 1); T_CHECKF(a == b, "got %d", a); ... }
 *   int main(void) { T_RUN(parse_counts); ...; return t_done(); }
 *
 * Output, one line per test, read by tests/run:  "ok NAME" | "FAIL NAME: file:line: what" |
 * "skip NAME: reason". T_SKIP("reason") inside a test skips the rest of it.
 *
 * T_REQUIRE(c) / T_REQUIREF(c, fmt, ...) fail like T_CHECK and stop the test at once (also from
 * a helper function the test calls): use them where going on would dereference what failed.
 */
#ifndef FP_T_H
#define FP_T_H

#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <setjmp.h>

static int t_passed, t_failed, t_skipped;
static int t_cur_failed, t_cur_skipped;
static char t_cur_msg[512];
static jmp_buf t_stop;

static void __attribute__((format(printf, 3, 4), unused))
t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (t_cur_failed++)
		return; /* keep the first failure's message */
	int n = snprintf(t_cur_msg, sizeof(t_cur_msg), "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(t_cur_msg))
		return;
	va_start(ap, fmt);
	vsnprintf(t_cur_msg + n, sizeof(t_cur_msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

#define T_TEST(name) static void name(void)
#define T_CHECK(c) do { if (!(c)) t_fail_at(__FILE__, __LINE__, "%s", #c); } while (0)
#define T_CHECKF(c, ...) do { if (!(c)) t_fail_at(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define T_REQUIRE(c) do { if (!(c)) { t_fail_at(__FILE__, __LINE__, "%s", #c); \
	longjmp(t_stop, 1); } } while (0)
#define T_REQUIREF(c, ...) do { if (!(c)) { t_fail_at(__FILE__, __LINE__, __VA_ARGS__); \
	longjmp(t_stop, 1); } } while (0)
#define T_SKIP(...) do { t_cur_skipped = 1; snprintf(t_cur_msg, sizeof(t_cur_msg), __VA_ARGS__); \
	return; } while (0)

#define T_RUN(name) t_run(#name, name)

static void __attribute__((unused)) t_run(const char *name, void (*fn)(void))
{
	t_cur_failed = 0;
	t_cur_skipped = 0;
	t_cur_msg[0] = '\0';
	if (setjmp(t_stop) == 0)
		fn();
	if (t_cur_failed) {
		t_failed++;
		printf("FAIL %s: %s\n", name, t_cur_msg);
	} else if (t_cur_skipped) {
		t_skipped++;
		printf("skip %s: %s\n", name, t_cur_msg);
	} else {
		t_passed++;
		printf("ok %s\n", name);
	}
	fflush(stdout);
}

static int __attribute__((unused)) t_done(void)
{
	printf("# %d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped);
	return t_failed ? 1 : 0;
}

#endif
