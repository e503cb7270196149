/* jsonstr.c — see jsonstr.h. */
#include "jsonstr.h"

#include <stdbool.h>

static bool needs_escape(unsigned char c, unsigned flags)
{
	if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
		return true;
	return (flags & JSONSTR_HTML) && (c == '<' || c == '>' || c == '&' || c == 0xe2);
}

int json_str(struct buf *b, const char *s, size_t n, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	int rc = buf_putc(b, '"');

	for (i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 'u', '0', '0', 0, 0, 0 };
		const char *e = esc;
		size_t elen = 2, skip = 0;

		if (!needs_escape(c, flags)) {
			run++;
			continue;
		}
		if (c == 0xe2) {   /* HTML mode only: U+2028 / U+2029 are E2 80 A8 / E2 80 A9 */
			if (i + 2 >= n || (unsigned char)s[i + 1] != 0x80 ||
			    ((unsigned char)s[i + 2] != 0xa8 && (unsigned char)s[i + 2] != 0xa9)) {
				run++;
				continue;
			}
			e = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			elen = 6;
			skip = 2;
		} else if (c == '"') {
			e = "\\\"";
		} else if (c == '\\') {
			e = "\\\\";
		} else if (c == '\n') {
			e = "\\n";
		} else if (c == '\t') {
			e = "\\t";
		} else if (c == '\r') {
			e = "\\r";
		} else {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if (run)
			rc = buf_append(b, s + i - run, run);
		run = 0;
		if (rc == 0)
			rc = buf_append(b, e, elen);
		i += skip;
	}
	if (rc == 0 && run)
		rc = buf_append(b, s + n - run, run);
	if (rc == 0)
		rc = buf_putc(b, '"');
	return rc;
}
