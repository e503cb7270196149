/* fuzz_gz.c — libFuzzer target for gz_decompress (bounded) and a compress round trip. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, z, back;
	buf_init(&out, 1u << 20);
	buf_init(&z, 2u << 20);
	buf_init(&back, 1u << 20);

	(void)gz_is_gzip(data, size);
	int rc = gz_decompress(data, size, &out);
	if (rc != 0 && rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM)
		abort();
	if (rc != 0 && out.len != 0)
		abort(); /* failures leave the buffer as it was */
	if (out.len > out.max || out.cap > out.max + 1)
		abort();
	if (rc == 0) {
		if (gz_compress(out.data ? out.data : "", out.len, &z) != 0)
			abort();
		if (gz_decompress(z.data, z.len, &back) != 0 || back.len != out.len ||
		    (out.len && memcmp(back.data, out.data, out.len) != 0))
			abort();
	}
	buf_release(&out);
	buf_release(&z);
	buf_release(&back);
	return 0;
}
