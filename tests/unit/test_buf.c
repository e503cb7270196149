/* test_buf.c — struct buf: growth, the hard maximum, NUL termination, steal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "t.h"

T_TEST(buf_empty_cstr)
{
	struct buf b;
	buf_init(&b, 100);
	T_CHECK(b.data == NULL);
	T_CHECK(strcmp(buf_cstr(&b), "") == 0);
	T_CHECK(b.len == 0);
	buf_reset(&b); /* on an empty buf: no crash */
	buf_release(&b);
	buf_release(&b); /* twice is fine */
}

T_TEST(buf_append_and_terminate)
{
	struct buf b;
	buf_init(&b, 1000);
	T_CHECK(buf_append(&b, "abc", 3) == 0);
	T_CHECK(buf_putc(&b, 'd') == 0);
	T_CHECK(buf_puts(&b, "ef") == 0);
	T_CHECK(buf_printf(&b, "-%d-%s", 42, "x") == 0);
	T_CHECKF(strcmp(buf_cstr(&b), "abcdef-42-x") == 0, "got '%s'", buf_cstr(&b));
	T_CHECK(b.len == 11);
	T_CHECK(b.data[b.len] == '\0');
	T_CHECK(buf_append(&b, NULL, 0) == 0);
	T_CHECK(b.len == 11);
	buf_reset(&b);
	T_CHECK(b.len == 0 && strcmp(buf_cstr(&b), "") == 0);
	T_CHECK(b.cap > 0); /* memory kept */
	buf_release(&b);
}

T_TEST(buf_max_exact_and_over)
{
	struct buf b;
	buf_init(&b, 10);
	T_CHECK(buf_append(&b, "0123456789", 10) == 0); /* exactly max */
	T_CHECK(b.len == 10);
	T_CHECK(buf_putc(&b, 'x') == -ENOSPC);
	T_CHECK(b.len == 10 && strcmp(buf_cstr(&b), "0123456789") == 0);
	T_CHECK(b.cap <= 11); /* never allocates past max + NUL */
	buf_reset(&b);
	T_CHECK(buf_append(&b, "0123456789A", 11) == -ENOSPC);
	T_CHECK(b.len == 0 && strcmp(buf_cstr(&b), "") == 0);
	buf_release(&b);

	buf_init(&b, 0);
	T_CHECK(buf_putc(&b, 'x') == -ENOSPC);
	T_CHECK(buf_append(&b, "", 0) == 0);
	T_CHECK(strcmp(buf_cstr(&b), "") == 0);
	buf_release(&b);
}

T_TEST(buf_printf_over_max_leaves_intact)
{
	struct buf b;
	buf_init(&b, 300);
	T_CHECK(buf_puts(&b, "keep") == 0);
	/* longer than the internal 256-byte fast path and than max */
	T_CHECK(buf_printf(&b, "%400s", "y") == -ENOSPC);
	T_CHECKF(b.len == 4 && strcmp(buf_cstr(&b), "keep") == 0, "len %zu", b.len);
	/* long but fits: takes the slow path */
	T_CHECK(buf_printf(&b, "%290s", "z") == 0);
	T_CHECK(b.len == 294 && b.data[293] == 'z' && b.data[294] == '\0');
	buf_release(&b);
}

T_TEST(buf_growth_geometric)
{
	struct buf b;
	size_t reallocs = 0, last_cap = 0;
	buf_init(&b, 1u << 20);
	for (int i = 0; i < (1 << 20); i++) {
		T_CHECK(buf_putc(&b, (char)('a' + i % 26)) == 0);
		if (b.cap != last_cap) {
			reallocs++;
			last_cap = b.cap;
		}
	}
	T_CHECK(b.len == 1u << 20);
	T_CHECK(buf_putc(&b, 'x') == -ENOSPC);
	T_CHECKF(reallocs <= 20, "%zu reallocations for 1 MiB", reallocs);
	T_CHECK(b.cap == (1u << 20) + 1);
	T_CHECK(b.data[12345] == (char)('a' + 12345 % 26));
	buf_release(&b);
}

/* max == SIZE_MAX ("unbounded") must still grow geometrically, and never overflow */
T_TEST(buf_unbounded_max)
{
	struct buf b;
	size_t reallocs = 0, last_cap = 0;
	buf_init(&b, (size_t)-1);
	for (int i = 0; i < 100000; i++) {
		T_CHECK(buf_putc(&b, 'x') == 0);
		if (b.cap != last_cap) {
			reallocs++;
			last_cap = b.cap;
		}
	}
	T_CHECKF(reallocs <= 20, "%zu reallocations", reallocs);
	T_CHECK(buf_reserve(&b, (size_t)-1 - b.len) == -ENOMEM);
	T_CHECK(b.len == 100000);
	buf_release(&b);
}

T_TEST(buf_reserve_bounds)
{
	struct buf b;
	buf_init(&b, 100);
	T_CHECK(buf_reserve(&b, 100) == 0);
	T_CHECK(b.cap >= 101);
	T_CHECK(buf_reserve(&b, 101) == -ENOSPC);
	T_CHECK(buf_reserve(&b, (size_t)-1) == -ENOSPC); /* no overflow */
	T_CHECK(buf_append(&b, "ab", 2) == 0);
	T_CHECK(buf_reserve(&b, 99) == -ENOSPC);
	T_CHECK(buf_reserve(&b, 98) == 0);
	buf_release(&b);
}

T_TEST(buf_steal_transfers)
{
	struct buf b;
	size_t n = 99;
	buf_init(&b, 100);
	char *p = buf_steal(&b, &n); /* empty: still a valid "" */
	T_CHECK(p && p[0] == '\0' && n == 0);
	free(p);
	T_CHECK(buf_puts(&b, "hello") == 0);
	p = buf_steal(&b, &n);
	T_CHECK(p && strcmp(p, "hello") == 0 && n == 5);
	T_CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	T_CHECK(b.max == 100);
	free(p);
	/* reusable after steal */
	T_CHECK(buf_puts(&b, "again") == 0);
	T_CHECK(strcmp(buf_cstr(&b), "again") == 0);
	buf_release(&b);
}

int main(void)
{
	T_RUN(buf_empty_cstr);
	T_RUN(buf_append_and_terminate);
	T_RUN(buf_max_exact_and_over);
	T_RUN(buf_printf_over_max_leaves_intact);
	T_RUN(buf_growth_geometric);
	T_RUN(buf_unbounded_max);
	T_RUN(buf_reserve_bounds);
	T_RUN(buf_steal_transfers);
	return t_done();
}
