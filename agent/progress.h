/* progress.h — a one-line progress display for one-shot runs on a terminal:
 *   "profiling: 12s elapsed, 48s left, 2,345 samples" rewritten in place with \r. */
#ifndef FP_PROGRESS_H
#define FP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
	FILE *out;
	bool enabled;
	int last_len;
};

/* enabled only when wanted and out is a terminal. */
void progress_init(struct progress *p, FILE *out, bool wanted);
void progress_update(struct progress *p, int64_t elapsed_ms, int64_t total_ms, uint64_t samples);
void progress_done(struct progress *p);   /* clears the line */

/* Format the line into out (for tests). Returns its length. */
int progress_format(char *out, size_t n, int64_t elapsed_ms, int64_t total_ms, uint64_t samples);

#endif
