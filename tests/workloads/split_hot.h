/* split_hot.h — the two hot functions of the split workload, shared by split.c (built in) and
 * lib/splithot.c (the shared-library variant). Both are NON-leaf (they call tick()), so they
 * keep a frame and a frame-pointer unwinder sees their caller: see the note on leaf
 * functions. Their cost is exactly proportional to n: same loop body, same tick rate. */
#ifndef SPLIT_HOT_H
#define SPLIT_HOT_H

__attribute__((noinline)) void split_tick(volatile unsigned long *x);
__attribute__((noinline)) void split_tick(volatile unsigned long *x)
{
	*x ^= *x >> 7;
}

__attribute__((noinline)) unsigned long hot_a(unsigned long n);
__attribute__((noinline)) unsigned long hot_a(unsigned long n)
{
	volatile unsigned long x = n;
	for (unsigned long i = 0; i < n; i++) {
		x = x * 6364136223846793005ul + 1442695040888963407ul;
		if ((i & 0xfff) == 0)
			split_tick(&x);
	}
	return x;
}

__attribute__((noinline)) unsigned long hot_b(unsigned long n);
__attribute__((noinline)) unsigned long hot_b(unsigned long n)
{
	volatile unsigned long x = n;
	for (unsigned long i = 0; i < n; i++) {
		x = x * 6364136223846793005ul + 1442695040888963407ul;
		if ((i & 0xfff) == 0)
			split_tick(&x);
	}
	return x;
}

#endif
