/* prologue.c — ground truth for the frame-pointer prologue: worker() calls a tiny function,
 * tiny(), in a tight loop, so a large share of tiny()'s samples land on its `push %rbp`, its
 * `mov %rsp,%rbp` or its `ret`. There %rbp still (or again) points to worker's frame and a plain
 * frame-pointer chain reads tiny;main, skipping worker. A correct profile shows worker right
 * below tiny in every sample, and main right below worker on the main thread.
 *
 *   prologue SECONDS [THREADS]      (THREADS default 1; SECONDS 0 = until killed)
 *
 * Prints "ready <pid>" once all threads run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double seconds;
static volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t tids[64];
	seconds = argc > 1 ? atof(argv[1]) : 5;
	if (threads < 1 || threads > 64)
		threads = 1;
	for (int i = 1; i < threads; i++)
		pthread_create(&tids[i], NULL, worker, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	worker(NULL);
	for (int i = 1; i < threads; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
