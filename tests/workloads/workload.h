/* workload.h — what every ground-truth workload shares: the run time, a clock, and a main()
 * that runs worker() on THREADS threads (the main thread included, so its stacks read
 * main;worker;...) and prints "ready <pid>" once they all run.
 *
 *   NAME SECONDS [THREADS]      (THREADS default 1, at most 64; SECONDS 0 = until killed)
 *
 * A macro, not a function: a helper between main and worker would show in every stack. */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double seconds;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define WORKLOAD_MAIN(worker)                                                  \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		int threads = argc > 2 ? atoi(argv[2]) : 1;                    \
		pthread_t tids[64];                                            \
		seconds = argc > 1 ? atof(argv[1]) : 5;                        \
		if (threads < 1 || threads > 64)                               \
			threads = 1;                                           \
		for (int i = 1; i < threads; i++)                              \
			pthread_create(&tids[i], NULL, worker, NULL);          \
		printf("ready %d\n", (int)getpid());                           \
		fflush(stdout);                                                \
		worker(NULL);                                                  \
		for (int i = 1; i < threads; i++)                              \
			pthread_join(tids[i], NULL);                           \
		return 0;                                                      \
	}

#endif
