/* leafcall.c — see leafcall.h. */
#include "leafcall.h"

#include <string.h>

void leafcall_insert(uint64_t *ips, uint32_t *n, uint32_t cap, uint64_t caller)
{
	uint32_t len = *n;
	/* ips[1] == caller: the unwinder had it already (a kernel that handles prologues); this
	 * also hides one level of direct recursion sampled in its prologue, the lesser harm */
	if (!caller || len == 0 || cap < 2 || len > cap || (len > 1 && ips[1] == caller))
		return;
	if (len == cap)
		len--; /* full: the root-most frame gives way */
	memmove(ips + 2, ips + 1, (len - 1) * sizeof(*ips));
	ips[1] = caller;
	*n = len + 1;
}
