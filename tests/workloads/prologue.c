/* prologue.c — ground truth for the frame-pointer prologue: worker() calls a tiny function,
 * tiny(), in a tight loop, so a large share of tiny()'s samples land on its `push %rbp`, its
 * `mov %rsp,%rbp` or its `ret`. There %rbp still (or again) points to worker's frame and a plain
 * frame-pointer chain reads tiny;main, skipping worker. A correct profile shows worker right
 * below tiny in every sample, and main right below worker on the main thread.
 *
 *   prologue SECONDS [THREADS]      (THREADS default 1; SECONDS 0 = until killed)
 *
 * Prints "ready <pid>" once all threads run. */
#include "workload.h"

static volatile unsigned long sink;

__attribute__((noinline)) unsigned long tiny(unsigned long x);
__attribute__((noinline)) unsigned long tiny(unsigned long x)
{
	volatile unsigned long y = x; /* a stack slot: GCC then keeps the frame pointer */
	return y * 3 + 1;
}

__attribute__((noinline)) void *worker(void *arg);
__attribute__((noinline)) void *worker(void *arg)
{
	double end = now() + seconds;
	unsigned long x = 1;
	(void)arg;
	while (seconds <= 0 || now() < end) {
		for (int i = 0; i < 1000000; i++)
			x = tiny(x);
		sink = x;
	}
	return NULL;
}

WORKLOAD_MAIN(worker)
