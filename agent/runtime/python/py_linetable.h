/* py_linetable.h — CPython code-object line tables, decoded without the interpreter.
 *
 * Three formats (pure functions, table bytes borrowed, nothing allocated):
 *   3.8, 3.9  co_lnotab:    (address delta, signed line delta) byte pairs; addresses in bytes
 *   3.10      co_linetable: (start delta, signed line delta, -128 = no line) pairs; bytes
 *   3.11+     co_linetable: the location table (PEP 657), entries of 1..8 code units
 * Each returns the line of the instruction at `addr` (bytes for 3.8-3.10, code units for 3.11+,
 * i.e. what the frame's lasti says), or -1 when the table gives no line there.
 */
#ifndef FP_PY_LINETABLE_H
#define FP_PY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

int py_line_lnotab(int firstlineno, const uint8_t *tab, size_t len, uint32_t addr_bytes);
int py_line_310(int firstlineno, const uint8_t *tab, size_t len, uint32_t addr_bytes);
int py_line_311(int firstlineno, const uint8_t *tab, size_t len, uint32_t addr_units);

/* Dispatch on the version (minor of 3.x): addr is in the unit that version's lasti uses. */
int py_line_for(unsigned minor, int firstlineno, const uint8_t *tab, size_t len, uint32_t addr);

#endif
