/* registry.c — the runtime members (runtime.h), one line each. */
#include "runtime.h"
#include "python/py_runtime.h"

const struct runtime_ops *const runtime_members[] = {
	&py_runtime_ops,
	NULL,
};
