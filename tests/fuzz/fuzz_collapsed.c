/* fuzz_collapsed.c — libFuzzer target for col_parse, col_agg and col_frame_sanitize.
 * Invariant checked: what the table writes parses back to the same stacks and total. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collapsed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct col_agg *a = col_agg_new(1000), *b = col_agg_new(1000);
	struct col_error err;
	struct buf out;
	char *hdr = NULL;

	buf_init(&out, 4u << 20);
	if (!a || !b)
		abort();
	if (col_parse((const char *)data, size, &hdr, col_agg_add_cb, a, &err) == 0) {
		if (col_agg_write(a, &out) == 0) {
			if (col_parse(out.data ? out.data : "", out.len, NULL, col_agg_add_cb, b, &err))
				abort(); /* our own output must parse */
			if (col_agg_size(a) != col_agg_size(b) || col_agg_total(a) != col_agg_total(b))
				abort();
		}
	} else if (hdr != NULL || strlen(err.msg) >= sizeof(err.msg)) {
		abort();
	}
	free(hdr);

	char *s = malloc(size + 1);
	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
		col_frame_sanitize(s);
		for (unsigned char *p = (unsigned char *)s; *p; p++)
			if (*p == ';' || *p < 0x20 || *p == 0x7f)
				abort();
		free(s);
	}
	buf_release(&out);
	col_agg_free(a);
	col_agg_free(b);
	return 0;
}
