/* flamegraph_html.h — a self-contained interactive flame graph (one HTML file, no network):
 * click a frame to zoom, Reset to zoom out, search to highlight matching frames with their
 * share; hover shows the frame, its samples and percentage. */
#ifndef FP_FLAMEGRAPH_HTML_H
#define FP_FLAMEGRAPH_HTML_H

#include <stddef.h>
#include "buf.h"

/* Render the profile text (collapsed format, optional "# {header}" first line) as HTML,
 * appended to out. Stacks are embedded as a JSON array, escaped so no "</script>" can appear.
 * 0, -EINVAL (a malformed stack line), -ENOSPC or -ENOMEM. */
int flamegraph_html_render(const char *text, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

#endif
