/* flamegraph_html.h — a self-contained interactive flame graph (one HTML file, no network): the
 * dashboard's own export page (web/export-template.html) with the dashboard's renderer
 * (web/js/flame.js), both embedded at build time, so the agent's file and the dashboard draw
 * with the same code. Click a frame to zoom, Reset to zoom out, search to highlight matching
 * frames with their share; hover shows the frame, its samples and percentage. */
#ifndef FP_FLAMEGRAPH_HTML_H
#define FP_FLAMEGRAPH_HTML_H

#include <stddef.h>
#include "buf.h"

/* Render the profile text (collapsed format, optional "# {header}" first line) as HTML,
 * appended to out. The page's data is one JSON object {title, header, collapsed} in a
 * <script type="application/json"> element, escaped so no "</script>" can appear: header is the
 * profile's header line as a JSON string, collapsed the stacks as "[container;]comm;frame;...
 * count" lines (the appid field and an empty container field dropped).
 * 0, -EINVAL (a malformed stack line), -ENOSPC (out's bound) or -ENOMEM. */
int flamegraph_html_render(const char *text, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

#endif
