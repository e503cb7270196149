/* fuzz_timeutil.c — libFuzzer target for time_parse_iso8601 (query parameters and upload
 * fields reach it): never crashes, and every accepted time formats and parses back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128], back[64];
	int64_t sec, again;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (time_parse_iso8601(s, &sec) != 0)
		return 0;
	if (time_format_iso8601(sec, back, sizeof(back)) != 0)
		return 0;   /* out of the formatter's range: a refusal, not a fault */
	if (time_parse_iso8601(back, &again) != 0 || again != sec)
		abort();
	return 0;
}
