/* test_agent_py_bpf.c — the pieces of in-BPF Python sampling that need no Python process:
 * the snapshot's decoding of a BPF stack's kernel part (SNAPSHOT_KSEP) below its Python frames,
 * and the BPF process/thread tables' bounds (the per-process fallback relies on -ENOSPC). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "snapshot.h"
#include "runtime/python/py_bpf.h"
#include "runtime/python/py_offsets.h"
#include "log.h"

static int fake_kernel(void *ctx, uint64_t addr, char *out, size_t n)
{
	(void)ctx;
	snprintf(out, n, "k%llx_[k]", (unsigned long long)addr);
	return 0;
}

static int fake_user(void *ctx, uint32_t tgid, uint64_t addr, char *out, size_t n)
{
	(void)ctx;
	snprintf(out, n, "u%u_%llx", tgid, (unsigned long long)addr);
	return 0;
}

static int collect_fn(void *ctx, const char *stack, size_t len, uint64_t count)
{
	char *text = ctx;
	size_t used = strlen(text);
	snprintf(text + used, 4096 - used, "%.*s %llu\n", (int)len, stack, (unsigned long long)count);
	return 0;
}

T_TEST(kernel_frames_below_python_frames)
{
	struct snapshot_config cfg = { 0 };
	struct snapshot *s;
	char text[4096] = "";
	cfg.namer.kernel = fake_kernel;
	cfg.namer.user = fake_user;
	cfg.proc_root = "/nonexistent-proc";
	s = snapshot_new(&cfg);
	T_REQUIRE(s != NULL);
	T_CHECK(snapshot_begin(s) == 0);
	/* kernel addresses leaf first; non-leaf ones are return addresses, named at -1 */
	T_CHECK(snapshot_add_frames(s, 7, "py", "main (a.py)_[p];leaf (a.py)_[p]\x01" "a000,b001", 3) == 0);
	T_CHECK(snapshot_add_frames(s, 7, "py", "main (a.py)_[p]\x01L,c000", 2) == 0);
	T_CHECK(snapshot_add_frames(s, 7, "py", "main (a.py)_[p]\x01L", 1) == 0);
	T_CHECK(snapshot_add_frames(s, 7, "py", "main (a.py)_[p]", 4) == 0);
	T_CHECK(col_agg_foreach(snapshot_stacks(s), true, collect_fn, text) == 0);
	T_CHECKF(strcmp(text,
			"0;;py;main (a.py)_[p] 4\n"
			"0;;py;main (a.py)_[p];[lost stack]_[k] 1\n"
			"0;;py;main (a.py)_[p];[lost stack]_[k];kc000_[k] 2\n"
			"0;;py;main (a.py)_[p];leaf (a.py)_[p];kb000_[k];ka000_[k] 3\n") == 0,
		 "got:\n%s", text);
	T_CHECK(snapshot_total(s) == 10);
	snapshot_free(s);
}

T_TEST(bpf_process_table_full_is_enospc)
{
	const struct py_offsets *o = py_offsets_for(12);
	struct pybpf *b;
	int rc = 0;
	uint32_t n = 0;
	if (geteuid() != 0) {
		T_SKIP("needs root for BPF");
		return;
	}
	b = pybpf_new(11, false);
	if (!b) {
		T_SKIP("BPF cannot load here: %s", strerror(errno));
		return;
	}
	T_CHECK(o != NULL);
	/* tgids nobody uses: the program only looks them up */
	for (n = 0; n < PYBPF_MAX_PROCS + 1 && rc == 0; n++)
		rc = pybpf_proc_add(b, 0x7ff00000u + n, o);
	T_CHECKF(rc == -ENOSPC && n == PYBPF_MAX_PROCS + 1, "rc %d after %u", rc, n);
	pybpf_proc_del(b, 0x7ff00000u);
	T_CHECK(pybpf_proc_add(b, 0x7ff10000u, o) == 0);   /* a freed slot is reusable */
	T_CHECK(pybpf_thread_set(b, 0x7ff00001u, 0x1000) == 0);
	pybpf_thread_del(b, 0x7ff00001u);
	pybpf_free(b);
}

int main(void)
{
	log_set_level(LOG_WARN);
	T_RUN(kernel_frames_below_python_frames);
	T_RUN(bpf_process_table_full_is_enospc);
	return t_done();
}
