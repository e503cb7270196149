/* util.h — small helpers every module needs, written once.
 *
 *   ARRAY_SIZE(a)                    elements of a true array (not a pointer: that fails to build)
 *   ARRAY_GROW(arr, cap, need, max)  make room for `need` elements in a heap array `arr` whose
 *                                    capacity is `cap` (both lvalues, updated in place), doubling;
 *                                    never past `max` elements. 0, -ENOSPC (need > max; nothing
 *                                    changed) or -ENOMEM (nothing changed). The caller owns arr
 *                                    and frees it with free().
 *   util_parse_uint(s, lo, hi, &out)  a decimal in lo..hi, nothing else (no sign, no blank, no
 *                                    trailing text): 0 or -EINVAL (out untouched)
 */
#ifndef FP_UTIL_H
#define FP_UTIL_H

#include <stddef.h>

/* A compile error when a is a pointer rather than an array. */
#define UTIL_IS_ARRAY(a) (!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])))
#define ARRAY_SIZE(a) \
	(sizeof(a) / sizeof((a)[0]) + 0 * sizeof(struct { int _[UTIL_IS_ARRAY(a) ? 1 : -1]; }))

int util_array_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t max)
	__attribute__((warn_unused_result));
#define ARRAY_GROW(arr, cap, need, max) \
	util_array_grow(&(arr), &(cap), (need), sizeof(*(arr)), (max))

int util_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
	__attribute__((warn_unused_result));

#endif
