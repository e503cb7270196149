/* fuzz_agent_perfmap.c — libFuzzer target for the JIT perf-map parser (sym/sym_perfmap.h). Any
 * process can write /tmp/perf-PID.map, and a root agent reads it: the parser must never crash,
 * read out of bounds or loop, whatever the bytes. Every entry the parser keeps must be found
 * again by address, and every name it returns is one line of the input, without a newline. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sym_perfmap *m;
	FILE *f;
	uint64_t probes[6] = { 0, UINT64_MAX, 0x1000, 0x7fffffffffffull, 0, 0 };

	if (size == 0 || size > (1u << 20))
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	m = sym_perfmap_read(f, "fuzz");
	fclose(f);
	if (!m)
		return 0;
	if (sym_perfmap_count(m) > SYM_PERFMAP_MAX_ENTRIES || sym_perfmap_bytes(m) < sizeof(void *))
		abort();
	/* addresses from the input itself, so that lookups hit entries */
	if (size >= 16) {
		memcpy(&probes[4], data, 8);
		memcpy(&probes[5], data + size - 8, 8);
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const char *name = sym_perfmap_lookup(m, probes[i]);
		if (name && (!*name || strchr(name, '\n') || strlen(name) >= SYM_PERFMAP_MAX_LINE))
			abort();
	}
	/* the first line, when it is a well-formed entry ("START SIZE name", hex, one space
	 * each), is found again at its start address (a later line may have replaced its name) */
	{
		char line[64], *end;
		const char *p = line, *nl = memchr(data, '\n', size < 63 ? size : 63);
		uint64_t start, len;
		if (nl && !memchr(data, '\0', (size_t)(nl - (const char *)data))) {
			memcpy(line, data, (size_t)(nl - (const char *)data));
			line[nl - (const char *)data] = '\0';
			start = strtoull(p, &end, 16);
			if (end != p && *end == ' ') {
				p = end + 1;
				len = strtoull(p, &end, 16);
				if (end != p && *end == ' ' && len && end[1] &&
				    !sym_perfmap_lookup(m, start))
					abort();
			}
		}
	}
	sym_perfmap_free(m);
	return 0;
}
