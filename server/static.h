/* static.h — serving web/ at /: path checks, content types. The handler (h_static) is declared
 * in handlers.h.
 */
#ifndef FP_STATIC_H
#define FP_STATIC_H

#include <stddef.h>

/* Map a request path to a file under root (a realpath). Rejects "..", "." segments, "//",
 * backslashes, control bytes and anything whose realpath leaves root (symlinks). "/" and
 * directories map to their index.html. 0 with the resolved path in out, -ENOENT when there is no
 * such file, -EACCES when the path is refused, -ENAMETOOLONG. */
int static_resolve(const char *root, const char *path, char *out, size_t n);

/* The Content-Type for a file name, by extension ("application/octet-stream" when unknown). */
const char *static_content_type(const char *name);

#endif
