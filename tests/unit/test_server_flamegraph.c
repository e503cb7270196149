/* test_server_flamegraph.c — tree JSON, collapsed text and top functions on hand-computed
 * inputs, and the collector's bounds. */
#include <errno.h>
#include <string.h>
#include <jansson.h>

#include "t.h"
#include "flamegraph.h"

static int add(struct fg *f, const char *s, uint64_t n)
{
	return fg_add(f, s, strlen(s), n);
}

/* p;main;foo x3, p;main;bar x1, p;main;foo x2 (merged), q;run x4 */
static struct fg *sample(void)
{
	struct fg *f = fg_new(100, 1 << 20);

	if (!f)
		return NULL;
	if (add(f, "p;main;foo", 3) || add(f, "p;main;bar", 1) || add(f, "p;main;foo", 2) ||
	    add(f, "q;run", 4)) {
		fg_free(f);
		return NULL;
	}
	return f;
}

T_TEST(merges_and_totals)
{
	struct fg *f = sample();

	T_REQUIRE(f != NULL);
	T_CHECKF(fg_stacks(f) == 3, "stacks %zu", fg_stacks(f));
	T_CHECKF(fg_total(f) == 10, "total %llu", (unsigned long long)fg_total(f));
	fg_free(f);
}

T_TEST(tree_exact)
{
	static const char want[] =
		"{\"name\":\"all\",\"value\":10,\"children\":["
		"{\"name\":\"p\",\"value\":6,\"children\":["
		"{\"name\":\"main\",\"value\":6,\"children\":["
		"{\"name\":\"bar\",\"value\":1,\"children\":[]},"
		"{\"name\":\"foo\",\"value\":5,\"children\":[]}]}]},"
		"{\"name\":\"q\",\"value\":4,\"children\":["
		"{\"name\":\"run\",\"value\":4,\"children\":[]}]}]}";
	struct fg *f = sample();
	struct buf b;
	json_t *j;

	buf_init(&b, 1 << 20);
	T_CHECK(f && fg_write_tree(f, 100, &b) == 0);
	T_CHECKF(strcmp(buf_cstr(&b), want) == 0, "got %s", buf_cstr(&b));
	j = json_loads(buf_cstr(&b), 0, NULL);
	T_CHECK(j != NULL);   /* valid JSON */
	json_decref(j);
	buf_release(&b);
	fg_free(f);
}

/* a frame name recurring at different depths is a different node; same name under different
 * parents too */
T_TEST(tree_recursion_and_escaping)
{
	static const char want[] =
		"{\"name\":\"all\",\"value\":3,\"children\":["
		"{\"name\":\"c\",\"value\":3,\"children\":["
		"{\"name\":\"f\",\"value\":3,\"children\":["
		"{\"name\":\"f\",\"value\":2,\"children\":["
		"{\"name\":\"a\\\"b\\\\c\",\"value\":2,\"children\":[]}]}]}]}]}";
	struct fg *f = fg_new(10, 1024);
	struct buf b;

	buf_init(&b, 4096);
	T_CHECK(f && add(f, "c;f;f;a\"b\\c", 2) == 0 && add(f, "c;f", 1) == 0);
	T_CHECK(f && fg_write_tree(f, 100, &b) == 0);
	T_CHECKF(strcmp(buf_cstr(&b), want) == 0, "got %s", buf_cstr(&b));
	buf_release(&b);
	fg_free(f);
}

T_TEST(collapsed_sorted)
{
	struct fg *f = sample();
	struct buf b;

	buf_init(&b, 4096);
	T_CHECK(f && fg_write_collapsed(f, &b) == 0);
	T_CHECKF(strcmp(buf_cstr(&b), "p;main;bar 1\np;main;foo 5\nq;run 4\n") == 0, "got %s",
		 buf_cstr(&b));
	/* adding after writing still merges (the index is rebuilt) */
	T_CHECK(f && add(f, "q;run", 1) == 0 && fg_stacks(f) == 3 && fg_total(f) == 11);
	buf_release(&b);
	fg_free(f);
}

T_TEST(top_functions_exact)
{
	/* comm "c" is left out; recursion counted once in total; self only at the leaf */
	struct fg *f = fg_new(10, 1024);
	struct buf b;

	buf_init(&b, 4096);
	T_CHECK(f && add(f, "c;main;f;f", 3) == 0 && add(f, "c;main;g", 2) == 0 &&
		add(f, "c;main", 1) == 0 && add(f, "d;g", 4) == 0);
	T_CHECK(f && fg_write_top(f, 100, false, &b) == 0);
	T_CHECKF(strcmp(buf_cstr(&b),
			"{\"functions\":[{\"name\":\"g\",\"self\":6,\"total\":6},"
			"{\"name\":\"f\",\"self\":3,\"total\":3},"
			"{\"name\":\"main\",\"self\":1,\"total\":6}],\"total_samples\":10}") == 0,
		 "got %s", buf_cstr(&b));
	buf_reset(&b);
	T_CHECK(f && fg_write_top(f, 2, true, &b) == 0);
	T_CHECKF(strcmp(buf_cstr(&b),
			"{\"functions\":[{\"name\":\"g\",\"self\":6,\"total\":6},"
			"{\"name\":\"main\",\"self\":1,\"total\":6}],\"total_samples\":10}") == 0,
		 "got %s", buf_cstr(&b));
	buf_release(&b);
	fg_free(f);
}

T_TEST(bounds)
{
	struct fg *f = fg_new(2, 1024);
	struct buf b;

	T_REQUIRE(f != NULL);
	T_CHECK(add(f, "a;b", 1) == 0);
	T_CHECK(add(f, "a;c", 1) == 0);
	T_CHECK(add(f, "a;b", 5) == 0);          /* existing stack: still fine */
	T_CHECK(add(f, "a;d", 1) == -E2BIG);     /* a third distinct stack */
	T_CHECK(fg_add(f, "", 0, 1) == -EINVAL);
	/* node bound: all + a + b + c = 4 nodes; 2 allowed besides the root */
	buf_init(&b, 4096);
	T_CHECK(fg_write_tree(f, 2, &b) == -E2BIG);
	buf_reset(&b);
	T_CHECK(fg_write_tree(f, 3, &b) == 0);
	buf_release(&b);
	/* output bound */
	buf_init(&b, 10);
	T_CHECK(fg_write_tree(f, 100, &b) == -ENOSPC);
	buf_release(&b);
	fg_free(f);

	f = fg_new(100, 8);   /* bytes bound */
	T_CHECK(f && add(f, "abcd", 1) == 0 && add(f, "efgh", 1) == 0 && add(f, "x", 1) == -E2BIG);
	fg_free(f);
}

T_TEST(many_stacks)
{
	/* 20,000 distinct stacks across index growth; totals exact */
	struct fg *f = fg_new(100000, 1 << 24);
	char s[64];
	struct buf b;
	int ok = 1;

	for (int i = 0; f && i < 20000; i++) {
		int n = snprintf(s, sizeof(s), "p;m%d;f%d", i % 7, i);

		ok &= fg_add(f, s, (size_t)n, (uint64_t)(i % 3 + 1)) == 0;
	}
	T_CHECK(f && ok);
	T_CHECK(f && fg_stacks(f) == 20000);
	/* sum over i of (i%3+1): 6666*(1+2+3) + (19998%3+1)+(19999%3+1) = 39996 + 1 + 2 */
	T_CHECKF(f && fg_total(f) == 39999, "total %llu", f ? (unsigned long long)fg_total(f) : 0);
	buf_init(&b, 1 << 24);
	T_CHECK(f && fg_write_tree(f, 1000000, &b) == 0);
	T_CHECK(strncmp(buf_cstr(&b), "{\"name\":\"all\",\"value\":39999,", 28) == 0);
	buf_release(&b);
	fg_free(f);
}

int main(void)
{
	T_RUN(merges_and_totals);
	T_RUN(tree_exact);
	T_RUN(tree_recursion_and_escaping);
	T_RUN(collapsed_sorted);
	T_RUN(top_functions_exact);
	T_RUN(bounds);
	T_RUN(many_stacks);
	return t_done();
}
