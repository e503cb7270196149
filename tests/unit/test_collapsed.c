/* test_collapsed.c — collapsed-format parser, frame sanitizer and the bounded aggregation table. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collapsed.h"
#include "t.h"

/* Records callbacks as "stack=count|" into a buf. */
static int record(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct buf *b = ctx;
	if (buf_append(b, stack, len) || buf_printf(b, "=%llu|", (unsigned long long)count))
		return -ENOSPC;
	return 0;
}

static const struct {
	const char *name, *in, *want, *header;
} good[] = {
	{ "plain", "a;b;c 3\nx 1\n", "a;b;c=3|x=1|", NULL },
	{ "no_final_newline", "a;b 2", "a;b=2|", NULL },
	{ "header", "# {\"metadata\":{}}\n0;;python;main 5\n", "0;;python;main=5|", "{\"metadata\":{}}" },
	{ "header_crlf", "# {}\r\na 1\r\nb 2\r\n", "a=1|b=2|", "{}" },
	{ "empty_header", "# \na 1\n", "a=1|", "" },
	{ "hash_not_header", "#x\na 1\n", "a=1|", NULL },
	{ "later_hash_is_comment", "a 1\n# {\"not\":\"header\"}\nb 2\n", "a=1|b=2|", NULL },
	{ "empty_lines", "\n\na 1\n\r\n\nb 2\n\n", "a=1|b=2|", NULL },
	{ "spaces_in_frames", "0;;java;Foo.bar(int, long);std::map<a, b> 7\n",
	  "0;;java;Foo.bar(int, long);std::map<a, b>=7|", NULL },
	{ "count_is_last_token", "a b c 12\n", "a b c=12|", NULL },
	{ "leading_zeros", "a 007\n", "a=7|", NULL },
	{ "uint64_max", "a 18446744073709551615\n", "a=18446744073709551615|", NULL },
	{ "empty_appid_slot", ";;comm;f 1\n", ";;comm;f=1|", NULL },
	{ "empty_container_slot", "3;;comm 1\n", "3;;comm=1|", NULL },
	{ "suffixes", "1;c;p;do_syscall_64_[k];f_[p];g_[j] 4\n", "1;c;p;do_syscall_64_[k];f_[p];g_[j]=4|", NULL },
	{ "utf8", "0;;prog;f\xc3\xa9 1\n", "0;;prog;f\xc3\xa9=1|", NULL },
	{ "empty_text", "", "", NULL },
	{ "duplicates_passed_through", "a 1\na 2\n", "a=1|a=2|", NULL },
};

static const struct {
	const char *name, *in;
	unsigned line;
	const char *msg; /* substring of err.msg */
} bad[] = {
	{ "no_count", "a;b\n", 1, "missing count" },
	{ "zero_count", "a 0\n", 1, "count '0'" },
	{ "negative", "a -1\n", 1, "count '-1'" },
	{ "plus", "a +1\n", 1, "count '+1'" },
	{ "hex", "a 0x10\n", 1, "count" },
	{ "float", "a 1.5\n", 1, "count" },
	{ "overflow", "a 18446744073709551616\n", 1, "count" },
	{ "empty_count", "a \n", 1, "count ''" },
	{ "trailing_space", "a 1 \n", 1, "count" },
	{ "tab_sep", "a\t1\n", 1, "missing count" },
	{ "empty_stack", " 5\n", 1, "empty stack" },
	{ "empty_frame_middle", "0;;a;;b 3\n", 1, "empty frame 4" },
	{ "empty_leaf", "a; 3\n", 1, "empty frame 2" },
	{ "only_separators", "; 3\n", 1, "empty frame 2" },
	{ "empty_root_leaf", "0;; 3\n", 1, "empty frame 3" },
	{ "second_line", "a 1\nb x\n", 2, "count 'x'" },
	{ "after_blank", "a 1\n\n\nb\n", 4, "missing count" },
	{ "nul_byte", "a 1\nb\0c 2\n", 2, "NUL" },
};

T_TEST(col_parse_good)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct buf got;
		struct col_error err;
		char *hdr = (char *)1;
		buf_init(&got, 1 << 16);
		int rc = col_parse(good[i].in, strlen(good[i].in), &hdr, record, &got, &err);
		T_CHECKF(rc == 0, "%s: rc %d (%s)", good[i].name, rc, err.msg);
		T_CHECKF(strcmp(buf_cstr(&got), good[i].want) == 0, "%s: got '%s'", good[i].name,
			 buf_cstr(&got));
		if (good[i].header)
			T_CHECKF(hdr && strcmp(hdr, good[i].header) == 0, "%s: header '%s'",
				 good[i].name, hdr ? hdr : "(null)");
		else
			T_CHECKF(hdr == NULL, "%s: unexpected header", good[i].name);
		free(hdr);
		buf_release(&got);
	}
}

T_TEST(col_parse_bad)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct col_error err;
		size_t len = strlen(bad[i].in);
		if (strcmp(bad[i].name, "nul_byte") == 0)
			len = 10;
		int rc = col_parse(bad[i].in, len, NULL, NULL, NULL, &err);
		T_CHECKF(rc == -EINVAL, "%s: rc %d", bad[i].name, rc);
		T_CHECKF(err.line == bad[i].line, "%s: line %u", bad[i].name, err.line);
		T_CHECKF(strstr(err.msg, bad[i].msg) != NULL, "%s: msg '%s'", bad[i].name, err.msg);
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "line %u: ", bad[i].line);
		T_CHECKF(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s: msg '%s'", bad[i].name,
			 err.msg);
		/* err may be NULL */
		T_CHECK(col_parse(bad[i].in, len, NULL, NULL, NULL, NULL) == -EINVAL);
	}
}

T_TEST(col_parse_error_frees_header)
{
	char *hdr = (char *)1;
	struct col_error err;
	const char *in = "# {\"h\":1}\na 1\nb\n";
	T_CHECK(col_parse(in, strlen(in), &hdr, NULL, NULL, &err) == -EINVAL);
	T_CHECK(hdr == NULL); /* and ASan checks it was freed */
	T_CHECK(err.line == 3);
}

static int stop_at_b(void *ctx, const char *stack, size_t len, uint64_t count)
{
	(void)count;
	int *seen = ctx;
	(*seen)++;
	return len == 1 && stack[0] == 'b' ? -ECANCELED : 0;
}

T_TEST(col_parse_callback_stops)
{
	int seen = 0;
	char *hdr = NULL;
	struct col_error err;
	const char *in = "# {}\na 1\nb 2\nc 3\n";
	T_CHECK(col_parse(in, strlen(in), &hdr, stop_at_b, &seen, &err) == -ECANCELED);
	T_CHECK(seen == 2);
	T_CHECK(hdr == NULL);
	T_CHECK(err.line == 3);
}

T_TEST(col_parse_line_limit)
{
	struct buf in;
	struct col_error err;
	buf_init(&in, 2 * COL_MAX_LINE);
	/* exactly COL_MAX_LINE bytes of line content (without the newline) */
	for (size_t i = 0; i < COL_MAX_LINE - 2; i++)
		T_CHECK(buf_putc(&in, 'x') == 0);
	T_CHECK(buf_puts(&in, " 1\r\n") == 0);
	T_CHECK(col_parse(in.data, in.len, NULL, NULL, NULL, &err) == 0);
	buf_reset(&in);
	for (size_t i = 0; i < COL_MAX_LINE - 1; i++)
		T_CHECK(buf_putc(&in, 'x') == 0);
	T_CHECK(buf_puts(&in, " 1\n") == 0);
	T_CHECK(col_parse(in.data, in.len, NULL, NULL, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "longer than") != NULL, "%s", err.msg);
	buf_release(&in);
}

T_TEST(col_parse_frame_limit)
{
	struct buf in;
	struct col_error err;
	buf_init(&in, 1 << 16);
	for (unsigned i = 0; i < COL_MAX_FRAMES; i++)
		T_CHECK(buf_puts(&in, i ? ";f" : "f") == 0);
	T_CHECK(buf_puts(&in, " 1\n") == 0);
	T_CHECK(col_parse(in.data, in.len, NULL, NULL, NULL, &err) == 0);
	buf_reset(&in);
	for (unsigned i = 0; i <= COL_MAX_FRAMES; i++)
		T_CHECK(buf_puts(&in, i ? ";f" : "f") == 0);
	T_CHECK(buf_puts(&in, " 1\n") == 0);
	T_CHECK(col_parse(in.data, in.len, NULL, NULL, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "more than 1024 frames") != NULL, "%s", err.msg);
	buf_release(&in);
}

T_TEST(col_frame_sanitize_table)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "plain", "plain" },
		{ "a;b;c", "a:b:c" },
		{ "line\nbreak\r\ttab", "line break  tab" },
		{ "bell\x07" "del\x7f", "bell del " },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "", "" },
		{ "std::vector<int, x> ", "std::vector<int, x> " },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char s[64];
		snprintf(s, sizeof(s), "%s", cases[i].in);
		T_CHECK(col_frame_sanitize(s) == s);
		T_CHECKF(strcmp(s, cases[i].want) == 0, "'%s' -> '%s'", cases[i].in, s);
	}
}

T_TEST(col_agg_basic_sorted_write)
{
	struct col_agg *a = col_agg_new(100);
	struct buf out;
	T_CHECK(a != NULL);
	T_CHECK(col_agg_add(a, "main;b", 6, 2) == 0);
	T_CHECK(col_agg_add(a, "main;a", 6, 1) == 0);
	T_CHECK(col_agg_add(a, "main;b", 6, 5) == 0);
	T_CHECK(col_agg_add(a, "main", 4, 1) == 0);
	T_CHECK(col_agg_add(a, "mainx", 5, 3) == 0);
	T_CHECK(col_agg_add(a, "main;a", 6, 0) == 0);       /* count 0: no-op */
	T_CHECK(col_agg_add(a, "zero", 4, 0) == 0);         /* no entry created */
	T_CHECK(col_agg_add(a, "main;bXX", 6, 1) == 0);     /* len counts, not the NUL */
	T_CHECK(col_agg_size(a) == 4);
	T_CHECK(col_agg_total(a) == 13);
	T_CHECK(col_agg_dropped(a) == 0);
	buf_init(&out, 1 << 12);
	T_CHECK(col_agg_write(a, &out) == 0);
	/* bytewise order: "main" < "main;a" < "main;b" < "mainx" (';' 0x3b < 'x') */
	T_CHECKF(strcmp(buf_cstr(&out), "main 1\nmain;a 1\nmain;b 8\nmainx 3\n") == 0, "got:\n%s",
		 buf_cstr(&out));
	buf_release(&out);
	col_agg_free(a);
	col_agg_free(NULL);
}

T_TEST(col_agg_max_stacks)
{
	struct col_agg *a = col_agg_new(3);
	T_CHECK(col_agg_add(a, "a", 1, 1) == 0);
	T_CHECK(col_agg_add(a, "b", 1, 1) == 0);
	T_CHECK(col_agg_add(a, "c", 1, 1) == 0);
	T_CHECK(col_agg_add(a, "d", 1, 10) == -ENOSPC);
	T_CHECK(col_agg_add(a, "e", 1, 5) == -ENOSPC);
	T_CHECK(col_agg_add(a, "a", 1, 4) == 0); /* existing stacks still count when full */
	T_CHECK(col_agg_size(a) == 3);
	T_CHECK(col_agg_total(a) == 7);
	T_CHECK(col_agg_dropped(a) == 15);
	col_agg_free(a);

	/* bytes grow with the stacks kept, not with repeats or refusals */
	a = col_agg_new(2);
	size_t b0 = col_agg_bytes(a);
	T_CHECK(b0 > 0);
	T_CHECK(col_agg_add(a, "0123456789", 10, 1) == 0);
	size_t b1 = col_agg_bytes(a);
	T_CHECK(b1 >= b0 + 11);
	T_CHECK(col_agg_add(a, "0123456789", 10, 1) == 0);
	T_CHECK(col_agg_add(a, "x", 1, 1) == 0);
	size_t b2 = col_agg_bytes(a);
	T_CHECK(col_agg_add(a, "refused stack", 13, 1) == -ENOSPC);
	T_CHECK(col_agg_bytes(a) == b2 && b2 > b1);
	T_CHECK(col_agg_bytes(NULL) == 0);
	col_agg_free(a);

	a = col_agg_new(0);
	T_CHECK(a && col_agg_add(a, "a", 1, 1) == -ENOSPC && col_agg_size(a) == 0);
	col_agg_free(a);
}

T_TEST(col_agg_saturates)
{
	struct col_agg *a = col_agg_new(2);
	T_CHECK(col_agg_add(a, "a", 1, UINT64_MAX - 1) == 0);
	T_CHECK(col_agg_add(a, "a", 1, 5) == 0);
	T_CHECK(col_agg_total(a) == UINT64_MAX);
	struct buf out;
	buf_init(&out, 100);
	T_CHECK(col_agg_write(a, &out) == 0);
	T_CHECK(strcmp(buf_cstr(&out), "a 18446744073709551615\n") == 0);
	buf_release(&out);
	col_agg_free(a);
}

struct visit {
	size_t n;
	uint64_t sum;
	int stop_after;
	char last[32];
	int ordered;
};

static int visit(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct visit *v = ctx;
	char cur[32];
	snprintf(cur, sizeof(cur), "%.*s", (int)len, stack);
	if (v->n && strcmp(v->last, cur) >= 0)
		v->ordered = 0;
	snprintf(v->last, sizeof(v->last), "%s", cur);
	v->n++;
	v->sum += count;
	return v->stop_after && (int)v->n == v->stop_after ? 77 : 0;
}

/* Many stacks: the table grows; every count is kept; sorted iteration is strictly ordered. */
T_TEST(col_agg_many_stacks)
{
	enum { N = 50000 };
	struct col_agg *a = col_agg_new(N);
	char s[32];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			int n = snprintf(s, sizeof(s), "main;f%d;g%d", i * 7919 % N, i % 13);
			T_CHECK(col_agg_add(a, s, (size_t)n, (uint64_t)(i % 5 + 1)) == 0);
		}
	T_CHECK(col_agg_size(a) == N);
	uint64_t want = 0;
	for (int i = 0; i < N; i++)
		want += 2 * (uint64_t)(i % 5 + 1);
	T_CHECK(col_agg_total(a) == want);
	T_CHECK(col_agg_add(a, "one more", 8, 1) == -ENOSPC);

	struct visit v = { .ordered = 1 };
	T_CHECK(col_agg_foreach(a, true, visit, &v) == 0);
	T_CHECK(v.n == N && v.sum == want && v.ordered);
	struct visit u = { .ordered = 1 };
	T_CHECK(col_agg_foreach(a, false, visit, &u) == 0);
	T_CHECK(u.n == N && u.sum == want);
	struct visit w = { .ordered = 1, .stop_after = 10 };
	T_CHECK(col_agg_foreach(a, true, visit, &w) == 77);
	T_CHECK(w.n == 10);
	col_agg_free(a);
}

T_TEST(col_agg_write_bounded)
{
	struct col_agg *a = col_agg_new(10);
	struct buf out;
	T_CHECK(col_agg_add(a, "aaaa", 4, 1) == 0);
	T_CHECK(col_agg_add(a, "bbbb", 4, 1) == 0);
	buf_init(&out, 12);
	T_CHECK(buf_puts(&out, "x") == 0);
	T_CHECK(col_agg_write(a, &out) == -ENOSPC); /* "x" + 7 + 7 > 12 */
	T_CHECK(out.len == 1 && strcmp(buf_cstr(&out), "x") == 0);
	buf_release(&out);
	col_agg_free(a);
}

/* The parser feeding the table, as the server does with an uploaded profile. */
T_TEST(col_parse_into_agg)
{
	const char *in = "# {\"metadata\":{\"hostname\":\"h\"}}\n"
			 "0;;python;main;work_[p] 30\n"
			 "0;;python;main;idle_[p] 10\n"
			 "0;;python;main;work_[p] 15\n"
			 "1;web;nginx;ngx_process 5\n";
	struct col_agg *a = col_agg_new(2);
	struct col_error err;
	struct buf out;
	char *hdr = NULL;
	T_CHECK(col_parse(in, strlen(in), &hdr, col_agg_add_cb, a, &err) == 0);
	T_CHECK(hdr && strcmp(hdr, "{\"metadata\":{\"hostname\":\"h\"}}") == 0);
	T_CHECK(col_agg_size(a) == 2);
	T_CHECK(col_agg_total(a) == 55);
	T_CHECK(col_agg_dropped(a) == 5);
	buf_init(&out, 1 << 10);
	T_CHECK(col_agg_write(a, &out) == 0);
	T_CHECKF(strcmp(buf_cstr(&out), "0;;python;main;idle_[p] 10\n0;;python;main;work_[p] 45\n") == 0,
		 "%s", buf_cstr(&out));
	/* what we write parses back to the same table */
	struct col_agg *b = col_agg_new(10);
	T_CHECK(col_parse(out.data, out.len, NULL, col_agg_add_cb, b, &err) == 0);
	T_CHECK(col_agg_size(b) == 2 && col_agg_total(b) == 55);
	col_agg_free(b);
	buf_release(&out);
	free(hdr);
	col_agg_free(a);
}

int main(void)
{
	T_RUN(col_parse_good);
	T_RUN(col_parse_bad);
	T_RUN(col_parse_error_frees_header);
	T_RUN(col_parse_callback_stops);
	T_RUN(col_parse_line_limit);
	T_RUN(col_parse_frame_limit);
	T_RUN(col_frame_sanitize_table);
	T_RUN(col_agg_basic_sorted_write);
	T_RUN(col_agg_max_stacks);
	T_RUN(col_agg_saturates);
	T_RUN(col_agg_many_stacks);
	T_RUN(col_agg_write_bounded);
	T_RUN(col_parse_into_agg);
	return t_done();
}
