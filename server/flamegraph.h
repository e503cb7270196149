/* flamegraph.h — merged stacks -> flame graph tree JSON, collapsed text, top functions.
 *
 * A collector takes (stack, count) pairs (the store's col_stack_fn shape: "comm;frame;...;leaf",
 * root first), merging equal stacks, up to a bound of distinct stacks and bytes. The outputs:
 *  - tree: {"name":"all","value":TOTAL,"children":[{"name":..,"value":..,"children":[..]},..]}
 *    children sorted by name (bytewise), a node's value = the samples of every stack through it;
 *  - collapsed: "stack count\n" lines sorted by stack;
 *  - top functions: per frame name, self = samples where it is the leaf, total = samples of the
 *    stacks it appears in (once per stack, so recursion does not double count). The first
 *    element (the process comm) is not a function and is left out unless it is the whole stack.
 *    {"functions":[{"name","self","total"}], "total_samples": N}, sorted by self (or total)
 *    descending, then name.
 */
#ifndef FP_FLAMEGRAPH_H
#define FP_FLAMEGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buf.h"

struct fg;

/* A collector of at most max_stacks distinct stacks and max_bytes of stack text.
 * NULL with errno=ENOMEM. */
struct fg *fg_new(size_t max_stacks, size_t max_bytes);
void fg_free(struct fg *f);    /* NULL is a no-op */

/* Add count samples of stack (len bytes, not NUL-terminated). 0, -E2BIG over a bound, -EINVAL
 * for an empty stack, -ENOMEM. Matches col_stack_fn when f is passed as ctx. */
int fg_add(void *f, const char *stack, size_t len, uint64_t count);

size_t fg_stacks(const struct fg *f);
uint64_t fg_total(const struct fg *f);

/* Append outputs to out. 0, -ENOSPC (out's max), -E2BIG (tree past max_nodes), -ENOMEM. */
int fg_write_tree(struct fg *f, size_t max_nodes, struct buf *out)
	__attribute__((warn_unused_result));
int fg_write_collapsed(struct fg *f, struct buf *out) __attribute__((warn_unused_result));
int fg_write_top(struct fg *f, size_t limit, bool by_total, struct buf *out)
	__attribute__((warn_unused_result));

#endif
