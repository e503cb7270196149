/* sources.c — the sample sources (source.h), one line each, in order of preference: the first
 * that opens serves when --perf-mode does not name one. */
#include "source.h"
#include "perfev.h"
#include "sampler.h"

const struct sample_source_ops *const sample_sources[] = {
	&sample_source_bpf,
	&sample_source_perf,
	NULL,
};
