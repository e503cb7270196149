/* test_agent_py_linetable.c — line-table decoding (agent/runtime/python/py_linetable.c) against
 * what each installed CPython reports for the same code objects
 * (tests/workloads/py/linetable_dump.py), plus hand-made tables for the edge cases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "runtime/python/py_linetable.h"
#include "util.h"

#define MAX_TAB 8192

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Runs the dump under python3.<minor>; returns -1 when that interpreter is missing. Otherwise the
 * number of mismatches (first one described in why), *ncheck = lines compared. */
static int check_version(unsigned minor, size_t *ncheck, char *why, size_t whylen)
{
	char cmd[512], line[4 * MAX_TAB];
	static uint8_t tab[MAX_TAB];
	size_t len = 0;
	int first = 0, bad = 0, code_minor = -1;
	const char *root = getenv("FLEETPROF_ROOT");
	FILE *p;
	snprintf(cmd, sizeof(cmd),
		 "exe=$(ls /root/.pyenv/versions/3.%u.*/bin/python3.%u 2>/dev/null | head -1); "
		 "[ -x \"$exe\" ] || exit 97; \"$exe\" %s/tests/workloads/py/linetable_dump.py",
		 minor, minor, root ? root : ".");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	*ncheck = 0;
	while (fgets(line, sizeof(line), p)) {
		if (!strncmp(line, "CODE ", 5)) {
			char *hex = NULL;
			code_minor = (int)strtol(line + 5, &hex, 10);
			first = (int)strtol(hex, &hex, 10);
			while (*hex == ' ')
				hex++;
			len = 0;
			while (hexval(hex[0]) >= 0 && hexval(hex[1]) >= 0 && len < MAX_TAB) {
				tab[len++] = (uint8_t)(hexval(hex[0]) * 16 + hexval(hex[1]));
				hex += 2;
			}
		} else if (line[0] == 'L') {
			unsigned addr;
			int want, got;
			if (sscanf(line, "L %u %d", &addr, &want) != 2)
				continue;
			got = py_line_for((unsigned)code_minor, first, tab, len, addr);
			(*ncheck)++;
			if (got != want && !bad++)
				snprintf(why, whylen, "3.%u: addr %u: decoded line %d, interpreter says %d",
					 minor, addr, got, want);
		}
	}
	if (pclose(p) == 97 << 8)
		return -1;
	return bad;
}

static void one(unsigned minor)
{
	char why[256] = "";
	size_t n = 0;
	int bad = check_version(minor, &n, why, sizeof(why));
	if (bad < 0)
		T_SKIP("python3.%u not installed under /root/.pyenv", minor);
	T_CHECKF(n > 100, "3.%u: only %zu lines compared", minor, n);
	T_CHECKF(bad == 0, "%d mismatches; first: %s", bad, why);
}

T_TEST(interp_3_8) { one(8); }
T_TEST(interp_3_9) { one(9); }
T_TEST(interp_3_10) { one(10); }
T_TEST(interp_3_11) { one(11); }
T_TEST(interp_3_12) { one(12); }
T_TEST(interp_3_13) { one(13); }

/* Hand-made tables: what each format does at its edges. */
T_TEST(table_edges)
{
	static const struct {
		unsigned minor;
		int first;
		uint8_t tab[16];
		size_t len;
		uint32_t addr;
		int want;
	} cases[] = {
		/* lnotab: +0 bytes/+1 line, then +6 bytes/-1 line (signed), big jump in two pairs */
		{ 8, 10, { 0, 1, 6, 0xff }, 4, 0, 11 },
		{ 8, 10, { 0, 1, 6, 0xff }, 4, 5, 11 },
		{ 8, 10, { 0, 1, 6, 0xff }, 4, 6, 10 },
		{ 8, 10, { 4, 127, 0, 100 }, 4, 8, 237 },
		{ 8, 10, { 0 }, 0, 50, 10 },
		/* 3.10: ranges; -128 means no line; past the end: no line */
		{ 10, 5, { 4, 1, 2, 0x80, 4, 2 }, 6, 2, 6 },
		{ 10, 5, { 4, 1, 2, 0x80, 4, 2 }, 6, 4, -1 },
		{ 10, 5, { 4, 1, 2, 0x80, 4, 2 }, 6, 7, 8 },
		{ 10, 5, { 4, 1, 2, 0x80, 4, 2 }, 6, 10, -1 },
		/* 3.11: one-line form code 11 (+1) length 2; no-location (15) length 1; long form (14)
		 * line delta svarint 2*40=80 (+40) over two varint chunks; no-column (13) -3 */
		{ 11, 1, { 0x80 | (11 << 3) | 1, 0, 4, 0x80 | (15 << 3), 0x80 | (14 << 3),
			   0x40 | 16, 1, 0, 0, 0, 0x80 | (13 << 3) | 2, 7 }, 12, 1, 2 },
		{ 11, 1, { 0x80 | (11 << 3) | 1, 0, 4, 0x80 | (15 << 3), 0x80 | (14 << 3),
			   0x40 | 16, 1, 0, 0, 0, 0x80 | (13 << 3) | 2, 7 }, 12, 2, -1 },
		{ 11, 1, { 0x80 | (11 << 3) | 1, 0, 4, 0x80 | (15 << 3), 0x80 | (14 << 3),
			   0x40 | 16, 1, 0, 0, 0, 0x80 | (13 << 3) | 2, 7 }, 12, 3, 42 },
		{ 11, 1, { 0x80 | (11 << 3) | 1, 0, 4, 0x80 | (15 << 3), 0x80 | (14 << 3),
			   0x40 | 16, 1, 0, 0, 0, 0x80 | (13 << 3) | 2, 7 }, 12, 6, 39 },
		/* truncated varint: no line rather than a wrong one */
		{ 11, 1, { 0x80 | (13 << 3), 0x40 }, 2, 0, -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = py_line_for(cases[i].minor, cases[i].first, cases[i].tab, cases[i].len,
				      cases[i].addr);
		T_CHECKF(got == cases[i].want, "case %zu: got %d want %d", i, got, cases[i].want);
	}
}

int main(void)
{
	T_RUN(table_edges);
	T_RUN(interp_3_8);
	T_RUN(interp_3_9);
	T_RUN(interp_3_10);
	T_RUN(interp_3_11);
	T_RUN(interp_3_12);
	T_RUN(interp_3_13);
	return t_done();
}
