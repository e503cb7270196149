/* buf.h — a growable byte buffer with a hard maximum.
 *
 * Every buffer has a bound: appends past `max` fail with -ENOSPC and leave the buffer as it was.
 * The data is always NUL-terminated (the NUL is not counted in len), so text can be used as a
 * C string. Embedded in its owner: buf_init/buf_release.
 */
#ifndef FP_BUF_H
#define FP_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
	char *data;   /* NULL until the first append; buf_cstr() never returns NULL */
	size_t len;
	size_t cap;
	size_t max;   /* most bytes len may reach */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);          /* frees data; the buf can be reused after buf_init */
void buf_reset(struct buf *b);            /* len = 0, keeps the memory */

/* 0, -ENOSPC (would pass max; nothing appended) or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int buf_puts(struct buf *b, const char *s) __attribute__((warn_unused_result));
int buf_putc(struct buf *b, char c) __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((warn_unused_result));
/* Reserve room for n more bytes; 0, -ENOSPC or -ENOMEM. */
int buf_reserve(struct buf *b, size_t n) __attribute__((warn_unused_result));

const char *buf_cstr(const struct buf *b); /* "" when empty */

/* Hand the data to the caller (who frees it with free()); the buf is left empty. Returns NULL
 * with errno=ENOMEM only if an empty buffer cannot get its terminating NUL. */
char *buf_steal(struct buf *b, size_t *len);

#endif
