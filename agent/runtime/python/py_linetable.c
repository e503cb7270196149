/* py_linetable.c — see py_linetable.h. Written from the format descriptions in CPython's
 * Objects/lnotab_notes.txt and Objects/locations.md. */
#include "py_linetable.h"

int py_line_lnotab(int firstlineno, const uint8_t *tab, size_t len, uint32_t addr)
{
	int line = firstlineno;
	uint32_t a = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		a += tab[i];
		if (a > addr)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line;
}

int py_line_310(int firstlineno, const uint8_t *tab, size_t len, uint32_t addr)
{
	int computed = firstlineno;
	uint32_t start = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t end = start + tab[i];
		int8_t ld = (int8_t)tab[i + 1];
		int line = -1;
		if (ld != -128) {
			computed += ld;
			line = computed;
		}
		if (addr >= start && addr < end)
			return line;
		start = end;
	}
	return -1;
}

/* varint of 6-bit chunks, bit 6 = more follows. 0 or -1 (truncated). */
static int read_varint(const uint8_t *tab, size_t len, size_t *i, uint32_t *out)
{
	uint32_t v = 0;
	unsigned shift = 0;
	for (;;) {
		uint8_t b;
		if (*i >= len || shift > 28)
			return -1;
		b = tab[(*i)++];
		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	*out = v;
	return 0;
}

static int read_svarint(const uint8_t *tab, size_t len, size_t *i, int *out)
{
	uint32_t u;
	if (read_varint(tab, len, i, &u))
		return -1;
	*out = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
	return 0;
}

int py_line_311(int firstlineno, const uint8_t *tab, size_t len, uint32_t addr)
{
	int line = firstlineno;
	uint32_t start = 0, skip;
	size_t i = 0;
	while (i < len) {
		uint8_t b = tab[i++];
		unsigned code = (b >> 3) & 15;
		uint32_t end = start + (b & 7) + 1;
		int delta = 0, has_line = 1;
		if (!(b & 128))
			return -1; /* not at an entry start: corrupt table */
		switch (code) {
		case 15: /* no location */
			has_line = 0;
			break;
		case 14: /* long form: line delta, end line delta, column, end column */
			if (read_svarint(tab, len, &i, &delta) || read_varint(tab, len, &i, &skip) ||
			    read_varint(tab, len, &i, &skip) || read_varint(tab, len, &i, &skip))
				return -1;
			break;
		case 13: /* no column */
			if (read_svarint(tab, len, &i, &delta))
				return -1;
			break;
		case 10: case 11: case 12: /* one line, delta = code - 10, two column bytes */
			delta = (int)code - 10;
			i += 2;
			break;
		default: /* short form, same line, one column byte */
			i += 1;
			break;
		}
		line += delta;
		if (addr >= start && addr < end)
			return has_line ? line : -1;
		start = end;
	}
	return -1;
}

int py_line_for(unsigned minor, int firstlineno, const uint8_t *tab, size_t len, uint32_t addr)
{
	if (minor >= 11)
		return py_line_311(firstlineno, tab, len, addr);
	if (minor == 10)
		return py_line_310(firstlineno, tab, len, addr);
	return py_line_lnotab(firstlineno, tab, len, addr);
}
