/* jsonstr.h — the one JSON string writer: s[0..n) as a quoted, escaped JSON string appended to
 * a bounded buffer. Control characters and DEL become \uXXXX (\n, \t, \r, \", \\ short forms);
 * bytes >= 0x80 pass through (the input is expected to be UTF-8).
 *
 * JSONSTR_HTML additionally escapes <, > and & and the JavaScript line terminators U+2028 and
 * U+2029, so the result may stand inside an HTML <script> element as a JavaScript literal. */
#ifndef FP_JSONSTR_H
#define FP_JSONSTR_H

#include <stddef.h>

#include "buf.h"

#define JSONSTR_HTML 1u

/* 0, or -ENOSPC / -ENOMEM from the buffer (what was appended may then be cut short). */
int json_str(struct buf *b, const char *s, size_t n, unsigned flags)
	__attribute__((warn_unused_result));

#endif
