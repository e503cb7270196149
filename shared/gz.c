/* gz.c — gzip compression and bounded decompression with zlib (see gz.h).
 *
 * Output goes straight into the caller's buf, reserved in steps no larger than what out->max
 * still allows, so a decompression bomb never makes us allocate past the bound. On any error
 * the buf is put back to the length it had on entry.
 */
#include "gz.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define GZ_STEP (64u * 1024u)

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Feed at most UINT_MAX input bytes at a time. */
static void feed(z_stream *zs, const unsigned char **in, size_t *left)
{
	if (zs->avail_in == 0 && *left > 0) {
		uInt take = (uInt)min_sz(*left, UINT_MAX);
		zs->next_in = (Bytef *)(uintptr_t)*in;
		zs->avail_in = take;
		*in += take;
		*left -= take;
	}
}

static void restore(struct buf *out, size_t len0)
{
	out->len = len0;
	if (out->data)
		out->data[len0] = '\0';
}

int gz_compress(const void *in, size_t n, struct buf *out)
{
	z_stream zs;
	const unsigned char *ip = in;
	size_t left = n, len0 = out->len;
	int rc, zrc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	for (;;) {
		feed(&zs, &ip, &left);
		size_t room = out->max - out->len;
		if (room == 0) {
			rc = -ENOSPC;
			goto out;
		}
		rc = buf_reserve(out, min_sz(room, GZ_STEP));
		if (rc)
			goto out;
		size_t avail = min_sz(min_sz(room, GZ_STEP), UINT_MAX);
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)avail;
		zrc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		out->len += avail - zs.avail_out;
		out->data[out->len] = '\0';
		if (zrc == Z_STREAM_END)
			break;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			rc = -EIO;
			goto out;
		}
	}
	rc = 0;
out:
	deflateEnd(&zs);
	if (rc)
		restore(out, len0);
	return rc;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int gz_decompress(const void *in, size_t n, struct buf *out)
{
	z_stream zs;
	const unsigned char *ip = in;
	size_t left = n, len0 = out->len;
	int rc, zrc;

	if (!in || n == 0)
		return -EINVAL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return -ENOMEM;
	for (;;) {
		feed(&zs, &ip, &left);
		size_t room = out->max - out->len;
		if (room == 0) {
			/* At the bound: finished only if the stream ends without another byte. */
			unsigned char probe;
			zs.next_out = &probe;
			zs.avail_out = 1;
			zrc = inflate(&zs, Z_NO_FLUSH);
			if (zs.avail_out == 0) {
				rc = -EFBIG;
				goto out;
			}
		} else {
			rc = buf_reserve(out, min_sz(room, GZ_STEP));
			if (rc)
				goto out;
			size_t avail = min_sz(min_sz(room, GZ_STEP), UINT_MAX);
			zs.next_out = (Bytef *)out->data + out->len;
			zs.avail_out = (uInt)avail;
			zrc = inflate(&zs, Z_NO_FLUSH);
			out->len += avail - zs.avail_out;
			out->data[out->len] = '\0';
		}
		if (zrc == Z_STREAM_END) {
			/* Another member may follow; trailing zero padding is tolerated. */
			size_t rest = zs.avail_in + left;
			if (rest == 0 || (all_zero(zs.next_in, zs.avail_in) && all_zero(ip, left)))
				break;
			if (inflateReset(&zs) != Z_OK) {
				rc = -EINVAL;
				goto out;
			}
			continue;
		}
		if (zrc == Z_BUF_ERROR) {
			if (zs.avail_in == 0 && left == 0) {
				rc = -EINVAL; /* truncated */
				goto out;
			}
			continue; /* no progress possible only for lack of output room: loop grows it */
		}
		if (zrc != Z_OK) {
			rc = zrc == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
			goto out;
		}
		if (zs.avail_in == 0 && left == 0 && zs.avail_out != 0) {
			/* all input consumed, output room left, but no stream end: truncated */
			rc = -EINVAL;
			goto out;
		}
	}
	rc = 0;
out:
	inflateEnd(&zs);
	if (rc)
		restore(out, len0);
	return rc;
}

int gz_is_gzip(const void *in, size_t n)
{
	const unsigned char *p = in;
	return p && n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}
