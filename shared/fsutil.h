/* fsutil.h — files and directories, written once: a bounded whole-file read, an atomic write
 * that cannot be redirected through a planted link, and mkdir -p.
 *
 * Every function takes a directory fd (AT_FDCWD: the name is a path relative to the working
 * directory, or absolute) so that callers that hold a checked directory open write inside it
 * and nowhere else. */
#ifndef FP_FSUTIL_H
#define FP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "buf.h"

#define FS_NOFOLLOW  1u   /* fs_read_file_at: refuse a symbolic link as the last component */

/* Append the whole of dirfd/name to out, reading at most max bytes: a longer file fails with
 * -EFBIG (out keeps what it had). Opened non-blocking and close-on-exec; anything but a regular
 * file (a FIFO, a device, a directory) is refused with -EINVAL, so a planted FIFO cannot hang
 * the caller and /dev/zero cannot make it read without end. Files whose size the kernel does
 * not know (/proc) are read to EOF under the same bound. 0 or -errno. */
int fs_read_file_at(int dirfd, const char *name, size_t max, unsigned flags, struct buf *out)
	__attribute__((warn_unused_result));

/* Replace dirfd/name with the bytes of iov[0..n) atomically: the data goes to a new temporary
 * file in the same directory (created with O_EXCL|O_NOFOLLOW, so a link planted at any name we
 * might use is never followed), is fsync'd, renamed over name, and the directory is fsync'd.
 * name must not contain '/' when dirfd is a directory fd (AT_FDCWD: any path). A reader sees
 * the old file or the new one, never a part. On error nothing is left behind. 0 or -errno. */
int fs_write_atomic_iov(int dirfd, const char *name, const struct iovec *iov, int n, mode_t mode)
	__attribute__((warn_unused_result));
int fs_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
	__attribute__((warn_unused_result));

/* mkdir -p: create path and its missing parents with mode (existing ones are left as they are).
 * 0, or -errno (-ENOTDIR when a component exists and is not a directory). */
int fs_mkdir_p(const char *path, mode_t mode) __attribute__((warn_unused_result));

#endif
