/* progress.c — see progress.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

void progress_init(struct progress *p, FILE *out, bool wanted)
{
	p->out = out;
	p->enabled = wanted && out && isatty(fileno(out));
	p->last_len = 0;
}

int progress_format(char *out, size_t n, int64_t elapsed_ms, int64_t total_ms, uint64_t samples)
{
	int64_t left = total_ms - elapsed_ms;
	if (left < 0)
		left = 0;
	if (elapsed_ms < 0)
		elapsed_ms = 0;
	int len = snprintf(out, n, "profiling: %llds elapsed, %llds left, %llu samples",
			   (long long)(elapsed_ms / 1000), (long long)((left + 999) / 1000),
			   (unsigned long long)samples);
	return len < 0 ? 0 : len;
}

void progress_update(struct progress *p, int64_t elapsed_ms, int64_t total_ms, uint64_t samples)
{
	char line[160];
	int len;
	if (!p->enabled)
		return;
	len = progress_format(line, sizeof(line), elapsed_ms, total_ms, samples);
	fprintf(p->out, "\r%s%*s", line, p->last_len > len ? p->last_len - len : 0, "");
	fflush(p->out);
	p->last_len = len;
}

void progress_done(struct progress *p)
{
	if (!p->enabled || !p->last_len)
		return;
	fprintf(p->out, "\r%*s\r", p->last_len, "");
	fflush(p->out);
	p->last_len = 0;
}
