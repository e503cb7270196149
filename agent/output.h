/* output.h — local profile files in one directory:
 *   profile_<UTC time>.col  (+ symlink last_profile.col)
 *   profile_<UTC time>.html (+ symlink last_flamegraph.html) unless flame graphs are off.
 * Files are written atomically (fs_write_atomic: a temporary file, fsync'd, renamed) and symlinks
 * replaced atomically, so a reader never sees a partial file. With rotation only the newest
 * profile (and flame graph) is kept. */
#ifndef FP_OUTPUT_H
#define FP_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct output;

/* dir is created if missing (one level). NULL with errno set on failure. */
struct output *output_new(const char *dir, bool flamegraph, bool rotating);
void output_free(struct output *o);   /* NULL is a no-op; files stay */

/* Write one profile (text of len bytes) taken at end_sec (UTC seconds; names the files).
 * Two profiles in the same second get a "_N" suffix. 0 or -errno. */
int output_write(struct output *o, int64_t end_sec, const char *text, size_t len)
	__attribute__((warn_unused_result));

/* Path of the last .col written ("" before the first). Borrowed. */
const char *output_last_path(const struct output *o);

#endif
