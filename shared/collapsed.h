/* collapsed.h — the collapsed-stack profile format (DESIGN.md "Profile format").
 *
 *   # {"metadata": {...}, "metrics": {...}, "application_metadata": ...}
 *   <appid>;<container>;<comm>;frame;frame;...;leaf <count>
 *
 * The header line is optional for the parser (plain collapsed files from other tools parse too).
 * Stacks are root first; the count is the last space-separated token of the line.
 */
#ifndef FP_COLLAPSED_H
#define FP_COLLAPSED_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buf.h"

#define COL_MAX_LINE   (256u * 1024u)  /* longest accepted stack line */
#define COL_MAX_FRAMES 1024u           /* most frames in one stack */

struct col_error {
	unsigned line;       /* 1-based line of the problem, 0 when not tied to a line */
	char msg[160];
};

/* Called for each stack line: stack is NOT NUL-terminated (use len), count > 0.
 * Return 0 to go on, a negative errno to stop parsing (col_parse then returns it). */
typedef int (*col_stack_fn)(void *ctx, const char *stack, size_t len, uint64_t count);

/* Parse a whole profile text. If the first line starts with "# ", its remainder is the header:
 * *header (if header != NULL) gets a malloc'd NUL-terminated copy (caller frees), else NULL.
 * Empty lines are skipped; lines starting with '#' after the first are comments and skipped.
 * Lines end in "\n" or "\r\n". The count is the text after the last space: decimal digits only,
 * 1..UINT64_MAX. The stack is everything before that space (frames may contain spaces).
 * Empty frames: the first two frames (appid index and container name, which gProfiler leaves
 * empty when container names are off: "0;;python;main 3") may be empty; any other empty frame
 * and an empty leaf are errors ("a; 3", "0;;a;;b 3").
 * Returns 0, a callback's error, or -EINVAL with err filled (bad count, empty stack, empty frame,
 * line too long, too many frames, NUL byte). err may be NULL; err->msg starts with "line N: ".
 * fn may be NULL (validation only). On error *header is freed and set to NULL. */
int col_parse(const char *text, size_t len, char **header, col_stack_fn fn, void *ctx,
	      struct col_error *err) __attribute__((warn_unused_result));

/* Make a frame name safe: ';' becomes ':', newlines, tabs and other control bytes become ' '.
 * In place; returns s. */
char *col_frame_sanitize(char *s);

/* ---- aggregation: stack string -> count, bounded ---- */

struct col_agg;

/* A table of at most max_stacks distinct stacks. NULL (errno=ENOMEM) on failure. */
struct col_agg *col_agg_new(size_t max_stacks);
void col_agg_free(struct col_agg *a);           /* NULL is a no-op */

/* Add count to stack (copied; any bytes, len may be 0). count 0 is a no-op. Counts saturate at
 * UINT64_MAX. 0, -ENOSPC when a new stack would pass max_stacks (its count is
 * added to the dropped tally instead), -ENOMEM. */
int col_agg_add(struct col_agg *a, const char *stack, size_t len, uint64_t count);

/* A col_stack_fn that adds into the struct col_agg passed as ctx, for col_parse(..., col_agg_add_cb,
 * agg, ...). Stacks refused for space are counted in col_agg_dropped() and do not stop parsing. */
int col_agg_add_cb(void *agg, const char *stack, size_t len, uint64_t count);

size_t col_agg_size(const struct col_agg *a);      /* distinct stacks */
uint64_t col_agg_total(const struct col_agg *a);   /* sum of counts kept */
uint64_t col_agg_dropped(const struct col_agg *a); /* sum of counts refused for space */
/* Heap bytes the table holds (entries, stack copies, slot array; malloc overhead not counted),
 * for memory self-limits: a caller may stop adding, or swap tables, past a byte budget. */
size_t col_agg_bytes(const struct col_agg *a);

/* Visit every stack (order unspecified unless sorted: then by stack string, bytewise).
 * Stop early if fn returns non-zero and return that value. */
int col_agg_foreach(const struct col_agg *a, bool sorted, col_stack_fn fn, void *ctx);

/* Append "stack count\n" lines to out, sorted by stack. 0 or -ENOSPC/-ENOMEM. */
int col_agg_write(const struct col_agg *a, struct buf *out) __attribute__((warn_unused_result));

#endif
