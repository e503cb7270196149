/* gz.h — gzip compression and bounded decompression (zlib). */
#ifndef FP_GZ_H
#define FP_GZ_H

#include <stddef.h>
#include "buf.h"

/* Append the gzip (RFC 1952) form of in[0..n) to out. 0, -ENOSPC (out->max) or -ENOMEM/-EIO. */
int gz_compress(const void *in, size_t n, struct buf *out) __attribute__((warn_unused_result));

/* Append the decompression of gzip data (also accepts zlib-wrapped data) to out.
 * The output is bounded by out->max: a larger result (a gzip bomb) stops early with -EFBIG.
 * Corrupt or truncated input gives -EINVAL. Concatenated gzip members are all decoded. */
int gz_decompress(const void *in, size_t n, struct buf *out) __attribute__((warn_unused_result));

/* True when data starts with the gzip magic bytes. */
int gz_is_gzip(const void *in, size_t n);

#endif
