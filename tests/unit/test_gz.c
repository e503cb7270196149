/* test_gz.c — gzip round trips, foreign streams, corruption, and the decompression bound. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gz.h"
#include "t.h"

/* gzip.compress(b"hello fleetprof\n", mtime=0) and zlib.compress(same) from CPython */
static const unsigned char py_gzip[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
	0x57, 0x48, 0xcb, 0x49, 0x4d, 0x2d, 0x29, 0x28, 0xca, 0x4f, 0xe3, 0x02, 0x00, 0xcd, 0x06,
	0xee, 0x26, 0x10, 0x00, 0x00, 0x00,
};
static const unsigned char py_zlib[] = {
	0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48, 0xcb, 0x49, 0x4d, 0x2d, 0x29, 0x28,
	0xca, 0x4f, 0xe3, 0x02, 0x00, 0x34, 0xf9, 0x06, 0x06,
};
static const char hello[] = "hello fleetprof\n";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

T_TEST(gz_foreign_streams)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	T_CHECK(gz_decompress(py_gzip, sizeof(py_gzip), &out) == 0);
	T_CHECKF(strcmp(buf_cstr(&out), hello) == 0, "got '%s'", buf_cstr(&out));
	buf_reset(&out);
	T_CHECK(gz_decompress(py_zlib, sizeof(py_zlib), &out) == 0);
	T_CHECK(strcmp(buf_cstr(&out), hello) == 0);
	T_CHECK(gz_is_gzip(py_gzip, sizeof(py_gzip)));
	T_CHECK(!gz_is_gzip(py_zlib, sizeof(py_zlib)));
	T_CHECK(!gz_is_gzip(py_gzip, 1));
	T_CHECK(!gz_is_gzip(NULL, 0));
	buf_release(&out);
}

T_TEST(gz_roundtrip_sizes)
{
	static const size_t sizes[] = { 0, 1, 100, 65535, 65536, 65537, 1000003 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		unsigned char *data = malloc(n + 1);
		struct buf z, out;
		uint32_t x = 12345;
		for (size_t i = 0; i < n; i++) { /* half-compressible: text-ish pseudo-random */
			x = x * 1103515245u + 12345u;
			data[i] = (unsigned char)("abcdefgh;_[k] 0123"[(x >> 16) % 18]);
		}
		buf_init(&z, 4u << 20);
		buf_init(&out, n);
		T_CHECKF(gz_compress(data, n, &z) == 0, "compress %zu", n);
		T_CHECK(gz_is_gzip(z.data, z.len));
		T_CHECKF(gz_decompress(z.data, z.len, &out) == 0, "decompress %zu", n);
		T_CHECKF(out.len == n && (n == 0 || memcmp(out.data, data, n) == 0), "size %zu", n);
		buf_release(&z);
		buf_release(&out);
		free(data);
	}
}

T_TEST(gz_appends_to_existing)
{
	struct buf out;
	buf_init(&out, 100);
	T_CHECK(buf_puts(&out, "prefix:") == 0);
	T_CHECK(gz_decompress(py_gzip, sizeof(py_gzip), &out) == 0);
	T_CHECK(strcmp(buf_cstr(&out), "prefix:hello fleetprof\n") == 0);
	buf_release(&out);
}

T_TEST(gz_multi_member_and_padding)
{
	unsigned char two[sizeof(py_gzip) * 2 + 8];
	struct buf out;
	memcpy(two, py_gzip, sizeof(py_gzip));
	memcpy(two + sizeof(py_gzip), py_gzip, sizeof(py_gzip));
	memset(two + 2 * sizeof(py_gzip), 0, 8);
	buf_init(&out, 1000);
	T_CHECK(gz_decompress(two, 2 * sizeof(py_gzip), &out) == 0);
	T_CHECK(strcmp(buf_cstr(&out), "hello fleetprof\nhello fleetprof\n") == 0);
	buf_reset(&out);
	T_CHECK(gz_decompress(two, sizeof(two), &out) == 0); /* zero padding after the last member */
	T_CHECK(out.len == 32);
	buf_release(&out);
}

T_TEST(gz_corrupt_and_truncated)
{
	unsigned char bad[sizeof(py_gzip) + 4];
	struct buf out;
	buf_init(&out, 1000);
	T_CHECK(buf_puts(&out, "keep") == 0);
	/* every strict prefix is truncated */
	for (size_t n = 1; n < sizeof(py_gzip); n++)
		T_CHECKF(gz_decompress(py_gzip, n, &out) == -EINVAL, "prefix %zu accepted", n);
	T_CHECK(gz_decompress(py_gzip, 0, &out) == -EINVAL);
	memcpy(bad, py_gzip, sizeof(py_gzip));
	bad[sizeof(py_gzip) - 6] ^= 0xff; /* CRC32 */
	T_CHECK(gz_decompress(bad, sizeof(py_gzip), &out) == -EINVAL);
	memcpy(bad, py_gzip, sizeof(py_gzip));
	bad[sizeof(py_gzip) - 1] ^= 0x01; /* ISIZE */
	T_CHECK(gz_decompress(bad, sizeof(py_gzip), &out) == -EINVAL);
	memcpy(bad, py_gzip, sizeof(py_gzip));
	memcpy(bad + sizeof(py_gzip), "junk", 4); /* trailing garbage */
	T_CHECK(gz_decompress(bad, sizeof(bad), &out) == -EINVAL);
	T_CHECK(gz_decompress("not gzip at all", 15, &out) == -EINVAL);
	/* failures leave out as it was */
	T_CHECKF(out.len == 4 && strcmp(buf_cstr(&out), "keep") == 0, "out '%s'", buf_cstr(&out));
	buf_release(&out);
}

T_TEST(gz_bound_exact)
{
	struct buf z, out;
	char data[1000];
	memset(data, 'q', sizeof(data));
	buf_init(&z, 1 << 16);
	T_CHECK(gz_compress(data, sizeof(data), &z) == 0);
	buf_init(&out, 1000);
	T_CHECK(gz_decompress(z.data, z.len, &out) == 0 && out.len == 1000);
	buf_release(&out);
	buf_init(&out, 999);
	T_CHECK(gz_decompress(z.data, z.len, &out) == -EFBIG);
	T_CHECK(out.len == 0);
	buf_release(&out);
	/* bound across members: two members of 1000 */
	char copy[1024];
	size_t one = z.len;
	T_CHECK(one <= sizeof(copy));
	memcpy(copy, z.data, one); /* not from z itself: the append may move z.data */
	T_CHECK(buf_append(&z, copy, one) == 0);
	buf_init(&out, 2000);
	T_CHECK(gz_decompress(z.data, z.len, &out) == 0 && out.len == 2000);
	buf_release(&out);
	buf_init(&out, 1999);
	T_CHECK(gz_decompress(z.data, z.len, &out) == -EFBIG);
	buf_release(&out);
	buf_release(&z);
}

T_TEST(gz_compress_bounded)
{
	struct buf z;
	char data[5000];
	uint32_t x = 7;
	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (char)(x >> 24); /* incompressible */
	}
	buf_init(&z, 1000);
	T_CHECK(buf_puts(&z, "hdr") == 0);
	T_CHECK(gz_compress(data, sizeof(data), &z) == -ENOSPC);
	T_CHECK(z.len == 3 && strcmp(buf_cstr(&z), "hdr") == 0);
	buf_release(&z);
}

/* A 1 MiB member of zeros is ~1 KiB compressed; 1024 copies inflate to 1 GiB. Decompression
 * into an 8 MiB bound must stop at the bound, quickly, without allocating past it. */
T_TEST(gz_bomb_stops_at_bound)
{
	struct buf member, bomb, out;
	char *zeros = calloc(1, 1u << 20);
	buf_init(&member, 1u << 20);
	T_CHECK(zeros && gz_compress(zeros, 1u << 20, &member) == 0);
	T_CHECKF(member.len < 1200, "member %zu bytes", member.len);
	buf_init(&bomb, 2u << 20);
	for (int i = 0; i < 1024; i++)
		T_CHECK(buf_append(&bomb, member.data, member.len) == 0);
	buf_init(&out, 8u << 20);
	double t0 = now_s();
	int rc = gz_decompress(bomb.data, bomb.len, &out);
	double dt = now_s() - t0;
	T_CHECKF(rc == -EFBIG, "rc %d", rc);
	T_CHECK(out.len == 0);
	T_CHECKF(out.cap <= (8u << 20) + 1, "cap %zu", out.cap);
	T_CHECKF(dt < 2.0, "took %.2f s", dt);
	/* the single member fits a 1 MiB bound exactly */
	buf_release(&out);
	buf_init(&out, 1u << 20);
	T_CHECK(gz_decompress(member.data, member.len, &out) == 0 && out.len == 1u << 20);
	buf_release(&out);
	buf_release(&bomb);
	buf_release(&member);
	free(zeros);
}

int main(void)
{
	T_RUN(gz_foreign_streams);
	T_RUN(gz_roundtrip_sizes);
	T_RUN(gz_appends_to_existing);
	T_RUN(gz_multi_member_and_padding);
	T_RUN(gz_corrupt_and_truncated);
	T_RUN(gz_bound_exact);
	T_RUN(gz_compress_bounded);
	T_RUN(gz_bomb_stops_at_bound);
	return t_done();
}
