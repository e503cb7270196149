/* split.c — ground-truth workload: THREADS threads each loop { hot_a(3K); hot_b(K); } for
 * SECONDS, so CPU time splits 3:1 between hot_a and hot_b, each called from worker() (and the
 * main thread's worker() is called from main()).
 *
 *   split SECONDS [THREADS]      (THREADS default 1; SECONDS 0 = until killed)
 *
 * Built by build.sh as: split (non-PIE), split_pie (PIE), split_lib (hot functions in
 * libsplithot.so), split_strip (PIE, stripped: only .dynsym names, via -rdynamic).
 * Prints "ready <pid>" once all threads run. */
#include "workload.h"

#ifdef SPLIT_LIB
unsigned long hot_a(unsigned long n);
unsigned long hot_b(unsigned long n);
#else
#include "split_hot.h"
#endif

#define K 40000ul

static volatile unsigned long sink;

__attribute__((noinline)) void *worker(void *arg);
__attribute__((noinline)) void *worker(void *arg)
{
	double end = now() + seconds;
	unsigned long r = (unsigned long)(size_t)&end;
	(void)arg;
	while (seconds <= 0 || now() < end) {
		/* a random cycle length (K/2..3K/2) so the cycle cannot alias with the sampling
		 * period; hot_a always gets exactly three times hot_b's work */
		unsigned long k;
		r = r * 6364136223846793005ul + 1442695040888963407ul;
		k = K / 2 + (r >> 33) % K;
		sink += hot_a(3 * k);
		sink += hot_b(k);
	}
	return NULL;
}

WORKLOAD_MAIN(worker)
