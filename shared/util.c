/* util.c — see util.h. */
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GROW_MIN 8u

/* arrp points to the caller's pointer variable (of any object pointer type): it is read and
 * written through memcpy, so no pointer is accessed through an incompatible type. */
int util_array_grow(void *arrp, size_t *cap, size_t need, size_t elem, size_t max)
{
	void *arr, *n;
	size_t ncap;

	if (need <= *cap)
		return 0;
	if (need > max || elem == 0)
		return -ENOSPC;
	ncap = *cap ? *cap : GROW_MIN;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > max)
		ncap = max;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	memcpy(&arr, arrp, sizeof(arr));
	n = realloc(arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	memcpy(arrp, &n, sizeof(n));
	*cap = ncap;
	return 0;
}

int util_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}
