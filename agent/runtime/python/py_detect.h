/* py_detect.h — is this process a CPython interpreter, which version, and where is _PyRuntime?
 *
 * Looks at /proc/PID/maps for a mapped libpython3.N*.so (shared build) or an executable named
 * python3.N / python3 / python (static build), opens that ELF file through /proc/PID/root (so
 * processes in other mount namespaces and containers work), finds _PyRuntime (the symbol, else
 * the .PyRuntime section) and computes its run-time address with the load bias of that object.
 * The version comes from the Py_Version symbol (3.11+, read from the process), else the file
 * name. For 3.13+ the layout comes from _Py_DebugOffsets (py_offsets.h).
 *
 * Detection does not decide whether the interpreter state is valid: py_reader does that.
 */
#ifndef FP_PY_DETECT_H
#define FP_PY_DETECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "py_offsets.h"

#define PY_PATH_MAX 512

struct py_target {
	pid_t pid;
	unsigned minor;              /* 3.<minor> */
	uint64_t runtime;            /* address of _PyRuntime in the process */
	struct py_offsets off;       /* layout of this version */
	bool embedded;               /* libpython mapped into a non-"python*" executable */
	char elf[PY_PATH_MAX];       /* the object holding _PyRuntime, as the process sees it */
};

/* 0 with *t filled; -ENOENT: no CPython in it (or the process is gone); -ENOTSUP: a CPython we
 * cannot read (version outside 3.8–3.13); other -errno. */
int py_detect(const char *proc_root, pid_t pid, struct py_target *t)
	__attribute__((warn_unused_result));

/* Version from a file name "libpython3.11.so.1.0" / "python3.9": minor, or -1. */
int py_minor_from_name(const char *path);

#endif
