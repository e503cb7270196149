/* snapshot.h — turns the sampled stacks of one snapshot into a profile: symbolized collapsed
 * stacks "<appid>;<container>;<comm>;root;...;leaf count" in a col_agg, and the JSON header
 * line (DESIGN.md "Profile format", gProfiler's shape).
 *
 * appid is always 0 for now: it indexes "application_metadata", whose entry 0 is null (no
 * per-application metadata yet); runtime modules (Python, Java) will append entries later.
 *
 * Each distinct address is symbolized once per snapshot (a bounded memo keyed by process and
 * address; kernel addresses are shared). A sample's user stack is the caller of its kernel
 * part, so a line reads comm;user root..user leaf;kernel entry..kernel leaf. A stack the
 * sampler had to drop (stack-map collision) shows as one "[lost stack]" (or "[lost stack]_[k]")
 * frame, so its samples are counted without being attributed to a wrong function.
 */
#ifndef FP_SNAPSHOT_H
#define FP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "container.h"
#include "sample/source.h"
#include "collapsed.h"
#include "buf.h"

struct symbolizer;
struct hostinfo;

/* Names addresses; the default wraps symbolizer.h. Tests substitute their own. Each returns 0
 * or -ENOENT and always fills out (NUL-terminated). */
struct snapshot_namer {
	int (*kernel)(void *ctx, uint64_t addr, char *out, size_t n);
	int (*user)(void *ctx, uint32_t tgid, uint64_t addr, char *out, size_t n);
	void (*begin)(void *ctx);               /* may be NULL */
	void *ctx;
};

struct snapshot_config {
	struct snapshot_namer namer;
	const char *proc_root;     /* "/proc" unless testing */
	struct container_roots containers; /* name look-ups; all NULL (tests) to skip them */
	size_t max_stacks;         /* distinct stacks per profile; 0 = 65536 */
	size_t max_memo;           /* memoized addresses per snapshot; 0 = 131072 */
	/* Threads whose stacks come from a runtime (runtime/runtime.h): their native samples are
	 * dropped so nothing is counted twice. NULL = keep every native sample. */
	bool (*skip_native)(void *ctx, uint32_t tgid, uint32_t tid);
	void *skip_ctx;
};

struct snapshot;

/* Wrap a symbolizer (borrowed) as a namer. */
struct snapshot_namer snapshot_namer_sym(struct symbolizer *sym);

/* NULL with errno set on failure. cfg is copied. */
struct snapshot *snapshot_new(const struct snapshot_config *cfg);
void snapshot_free(struct snapshot *s);   /* NULL is a no-op */

/* Start a new snapshot: forgets the stacks, memo and container names of the previous one. */
int snapshot_begin(struct snapshot *s) __attribute__((warn_unused_result));

/* A sample_fn: ctx is the struct snapshot. Adds one aggregated stack. */
int snapshot_add(void *ctx, const struct sample_stack *st);

/* Adds count samples of an already named stack (frames "root;...;leaf", e.g. Python frames
 * from a runtime) of process tgid under the usual "0;<container>;<comm>" prefix. frames may
 * end with SNAPSHOT_KSEP and the sample's kernel stack as hex addresses, leaf first, comma
 * separated ("L," first when it was lost): they are named like snapshot_add's and go below. */
#define SNAPSHOT_KSEP '\x01'
int snapshot_add_frames(void *ctx, uint32_t tgid, const char *comm, const char *frames,
			uint64_t count);

/* A sample_fn for a source's peek (source.h): names the user frames of st and its container now
 * (memoized for this snapshot), so they are known at the drain even if the process has exited
 * by then. Adds no samples. */
int snapshot_warm(void *ctx, const struct sample_stack *st);

/* The stacks so far (borrowed, valid until the next snapshot_begin or snapshot_free). */
const struct col_agg *snapshot_stacks(const struct snapshot *s);
uint64_t snapshot_total(const struct snapshot *s);

/* What the header says besides host facts. */
struct snapshot_meta {
	const struct hostinfo *host;
	const char *agent_version;
	const char *run_arguments;
	const char *mode;           /* "bpf", "perf" or "disabled" */
	unsigned frequency, duration;
	int64_t start_ms, end_ms;   /* wall clock */
	struct sample_counts counts;
	double cpu_avg, mem_avg;
};

/* The header object (caller owns: json_decref):
 * {"metadata": {...}, "metrics": {"cpu_avg", "mem_avg"}, "application_metadata": [null],
 *  "containers": [...], "container_names_enabled": true, "application_metadata_enabled": false}
 */
json_t *snapshot_header(const struct snapshot *s, const struct snapshot_meta *m);

/* The whole profile text: "# " + header + "\n" + stack lines sorted. Appends to out.
 * 0, -ENOSPC or -ENOMEM. */
int snapshot_render(const struct snapshot *s, const struct snapshot_meta *m, struct buf *out)
	__attribute__((warn_unused_result));

#endif
