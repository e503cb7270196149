/* samples.h — the sample store's door: uploaded profiles (their stacks, interned, and their
 * counts in time buckets), with each upload's metrics, and the range queries over them. One
 * interface, struct samples_ops; members live in their own folders (sqlite/ today) and are
 * chosen when the store is opened (store.h).
 *
 * Conventions as in control.h: 0 or -errno (-EINVAL bad argument, -EIO storage error, -E2BIG
 * past a bound), borrowed inputs, rows handed to visitors (pointers valid during the call only,
 * no calls back into the store, a non-zero return stops the visit and is returned), times in
 * seconds since the epoch (UTC), any op from any thread.
 *
 * Time resolution is one minute: a query [start, end) covers every minute bucket overlapping
 * it, i.e. [floor(start, 60 s), ceil(end, 60 s)), and an upload counts in the minute of its
 * start_time.
 */
#ifndef FP_STORE_SAMPLES_H
#define FP_STORE_SAMPLES_H

#include <stddef.h>
#include <stdint.h>
#include "collapsed.h"

#define SMP_MAX_CONTAINERS 100000u   /* most containers one containers visit lists */
#define SMP_MAX_METRICS    100000u   /* most uploads one metrics visit lists */

struct samples;

/* One distinct (container, stack) of an upload. Not NUL-terminated: use the lengths. */
struct smp_line {
	const char *container;   /* "" = no container */
	const char *stack;       /* "comm;frame;...;leaf", root first */
	uint32_t clen, slen;
	uint64_t count;          /* < 2^62 */
};

struct smp_upload {
	const char *service_name;     /* required */
	const char *hostname;         /* required */
	int64_t start_time, end_time; /* the profile's span; its samples count at start_time */
	double cpu_avg, mem_avg;      /* NaN when unknown */
	const char *header_json;      /* the profile's header, kept as it is; may be NULL */
	const struct smp_line *lines; /* distinct pairs (merged by the caller) */
	size_t n_lines;
	uint64_t total_samples;
	int64_t gpid;                 /* the agent's gpid, 0 when it has none yet */
};

struct smp_query {
	const char *service;          /* required */
	int64_t start, end;           /* [start, end) */
	const char *hostname;         /* NULL = all */
	const char *container;        /* NULL = all */
};

struct smp_container {
	const char *name;             /* "" = no container */
	uint64_t samples;
};
typedef int (*smp_container_fn)(void *ctx, const struct smp_container *c);

/* One upload's metrics. */
struct smp_metric {
	const char *hostname;
	int64_t time;                 /* its start_time */
	double cpu_avg, mem_avg;      /* NaN when unknown */
};
typedef int (*smp_metric_fn)(void *ctx, const struct smp_metric *m);

/* A service with uploads. */
struct smp_service {
	const char *service_name;
	int64_t last_profile;         /* the newest upload's start_time */
};
typedef int (*smp_service_fn)(void *ctx, const struct smp_service *s);

struct samples_ops {
	const char *name;

	/* Store one upload: all of it or nothing. *gpid_out gets the gpid to answer (the agent's,
	 * or a new one). */
	int (*ingest)(struct samples *s, const struct smp_upload *u, int64_t *gpid_out);

	/* Visit the merged (stack, count) pairs of the query: one call per distinct stack, counts
	 * summed over hosts, containers and buckets, in no particular order; the stacks are
	 * "comm;frame;...;leaf" (no container). -E2BIG when more than max_stacks distinct stacks
	 * match (fn not called then). Unknown service, host or container: 0 and no calls. */
	int (*query_stacks)(struct samples *s, const struct smp_query *q, size_t max_stacks,
			    col_stack_fn fn, void *ctx);

	/* Containers with samples in the query's range (its container filter is ignored), in no
	 * particular order. -E2BIG past SMP_MAX_CONTAINERS. */
	int (*containers)(struct samples *s, const struct smp_query *q, smp_container_fn fn,
			  void *ctx);

	/* Each upload of the query's range (hostname filter applies, container filter does not),
	 * in time order, at most SMP_MAX_METRICS. */
	int (*metrics)(struct samples *s, const struct smp_query *q, smp_metric_fn fn, void *ctx);

	/* Services that have uploads, by name. */
	int (*services)(struct samples *s, smp_service_fn fn, void *ctx);

	/* Delete uploads, samples and metrics older than cutoff (rounded down to a whole hour),
	 * with the stacks and frames no longer used, in batches that hold any lock briefly.
	 * Returns the number of full-resolution sample rows deleted, or -errno. */
	int64_t (*delete_before)(struct samples *s, int64_t cutoff);

	void (*close)(struct samples *s);
};

struct samples {
	const struct samples_ops *ops;
	int schema_version;       /* the member's schema version, set at open */
};

#endif
