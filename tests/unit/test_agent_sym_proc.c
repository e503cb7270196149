/* test_agent_sym_proc.c — the symbolizer against real processes: fixture binaries built here with
 * cc/c++ (tests/fixtures/sym), started as children that print the addresses of known functions;
 * sym_user must name each exactly. Covers PIE, non-PIE, a shared library, a stripped binary
 * (.dynsym only), C++ demangling, a deleted binary, an address with no symbol, and the kernel
 * (real /proc/kallsyms, root only). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sym/symbolizer.h"
#include "t.h"
#include "agent_fixtures.h"

static char g_dir[256];     /* temp dir of built fixtures; "" when they could not be built */
static char g_why[256];     /* why not */
static char g_rust_why[256]; /* why the Rust fixture is missing, "" when built */
static struct symbolizer *g_sym;

struct child {
	struct fixture_child p; /* closing its stdin ends it */
	char names[16][64];
	uint64_t addrs[16];
	int n;
};

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

static void build_fixtures(void)
{
	const char *root = getenv("FLEETPROF_ROOT");
	char src[512], cmd[4096];
	snprintf(src, sizeof(src), "%s/tests/fixtures/sym", root ? root : ".");
	snprintf(g_dir, sizeof(g_dir), "/tmp/fp-sym-XXXXXX");
	if (!mkdtemp(g_dir)) {
		snprintf(g_why, sizeof(g_why), "mkdtemp: %s", strerror(errno));
		g_dir[0] = '\0';
		return;
	}
	/* Built without sanitizers: ordinary production-like binaries. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && cc -O1 -g -fPIC -shared -o libfix.so %s/libfix.c && "
		 "cc -O1 -g -fPIE -pie -o pie %s/target.c -L. -lfix -Wl,-rpath,'$ORIGIN' && "
		 "cc -O1 -g -fno-pie -no-pie -o nopie %s/target.c -L. -lfix -Wl,-rpath,'$ORIGIN' && "
		 "cc -O1 -fPIE -pie -rdynamic -o stripped %s/target.c -L. -lfix "
		 "-Wl,-rpath,'$ORIGIN' && strip --strip-all stripped && "
		 "cp pie deleted && "
		 "cc -O1 -g -fPIE -pie -Wl,--build-id -o stripdbg %s/target.c -L. -lfix "
		 "-Wl,-rpath,'$ORIGIN' && objcopy --only-keep-debug stripdbg stripdbg.debug && "
		 "strip --strip-all stripdbg && "
		 "id=$(readelf -n stripdbg | awk '/Build ID/ { print $3 }') && [ -n \"$id\" ] && "
		 "mkdir -p dbg/$(echo $id | cut -c1-2) && "
		 "mv stripdbg.debug dbg/$(echo $id | cut -c1-2)/$(echo $id | cut -c3-).debug && "
		 "c++ -O1 -g -o cxx %s/cxx.cc 2>&1",
		 g_dir, src, src, src, src, src, src);
	if (sh(cmd) != 0) {
		snprintf(g_why, sizeof(g_why), "cannot build fixtures with cc/c++ from %.200s", src);
		fixture_rmtree(g_dir);
		g_dir[0] = '\0';
	}
}

/* rustc is optional (the test skips without it): CI images may not have it. */
static void build_rust_fixture(void)
{
	const char *root = getenv("FLEETPROF_ROOT");
	char cmd[2048];
	if (!g_dir[0]) {
		snprintf(g_rust_why, sizeof(g_rust_why), "%s", g_why);
		return;
	}
	if (sh("command -v rustc >/dev/null 2>&1") != 0) {
		snprintf(g_rust_why, sizeof(g_rust_why), "rustc not on PATH");
		return;
	}
	snprintf(cmd, sizeof(cmd), "cd %s && rustc -O -o rust %.512s/tests/fixtures/sym/rust.rs",
		 g_dir, root ? root : ".");
	if (sh(cmd) != 0)
		snprintf(g_rust_why, sizeof(g_rust_why), "rustc failed on tests/fixtures/sym/rust.rs");
}

static void remove_fixtures(void)
{
	fixture_rmtree(g_dir);
}

/* Start argv (or g_dir/name when argv is NULL) and read its "name addr" lines (or bare "addr"
 * lines) up to "ready". */
static int child_start_argv(struct child *c, const char *name, char *const *argv)
{
	char path[512], line[256];
	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	if (fixture_spawn(&c->p, argv ? argv : (char *[]){ path, NULL }))
		return -1;
	while (fgets(line, sizeof(line), c->p.out)) {
		char nm[64] = "", *sp;
		unsigned long long a;
		if (strncmp(line, "ready", 5) == 0)
			return 0;
		if (c->n == 16)
			continue;
		sp = strchr(line, ' ');
		if (sp) {
			snprintf(nm, sizeof(nm), "%.*s", (int)(sp - line), line);
			a = strtoull(sp + 1, NULL, 16);
		} else {
			a = strtoull(line, NULL, 16);
		}
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", nm);
		c->addrs[c->n++] = a;
	}
	return -1;
}

static int child_start(struct child *c, const char *name)
{
	return child_start_argv(c, name, NULL);
}

static void child_stop(struct child *c)
{
	fixture_child_end(&c->p, 2);
	memset(c, 0, sizeof(*c));
}

static const char *addr_of(const struct child *c, const char *name, int nth)
{
	static char buf[32];
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0 && nth-- == 0) {
			snprintf(buf, sizeof(buf), "%llx", (unsigned long long)c->addrs[i]);
			return buf;
		}
	return NULL;
}

/* Every named line of the child must symbolize to its name; "fp_hidden" to hidden_expect. */
/* Start fixture name (argv NULL: the built binary; else this command line) and read its n
 * addresses (n 0: any number); the test stops, the child reaped, when it cannot. */
static void child_require(struct child *c, const char *name, char *const *argv, int n)
{
	int got;
	if (child_start_argv(c, name, argv) == 0 && (!n || c->n == n))
		return;
	got = c->n;
	child_stop(c);
	T_REQUIREF(0, "%s: fixture did not start (%d lines)", name, got);
}

/* The two functions fixture bin prints are named exactly want[0] and want[1]. */
static void check_two(const char *bin, const char *const want[2])
{
	struct child c;
	char out[256];
	child_require(&c, bin, NULL, 2);
	for (int i = 0; i < 2; i++) {
		int rc = sym_user(g_sym, c.p.pid, c.addrs[i], out, sizeof(out));
		T_CHECKF(rc == 0 && strcmp(out, want[i]) == 0, "want \"%s\", got \"%s\"", want[i],
			 out);
	}
	child_stop(&c);
}

static void check_names(const char *bin, const char *hidden_expect)
{
	struct child c;
	char out[256];
	if (!g_dir[0])
		T_SKIP("%s", g_why);
	child_require(&c, bin, NULL, 5);
	for (int i = 0; i < c.n; i++) {
		const char *want = c.names[i];
		if (strcmp(want, "fp_hidden") == 0)
			want = hidden_expect;
		int rc = sym_user(g_sym, c.p.pid, c.addrs[i], out, sizeof(out));
		T_CHECKF(strcmp(out, want) == 0, "%s: %s at %llx -> \"%s\" (rc %d)", bin, want,
			 (unsigned long long)c.addrs[i], out, rc);
		T_CHECKF((rc == 0) == (want[0] != '('), "%s: %s rc %d", bin, want, rc);
	}
	(void)addr_of;
	child_stop(&c);
}

T_TEST(pie_executable_and_library)
{
	check_names("pie", "fp_hidden");
}

T_TEST(non_pie_executable)
{
	check_names("nopie", "fp_hidden");
}

T_TEST(stripped_dynsym_only_and_module_fallback)
{
	/* fp_hidden is static: .dynsym does not have it, so only the module can be named. */
	check_names("stripped", "(stripped)");
}

T_TEST(cxx_demangled)
{
	static const char *const want[] = { "fpns::Widget::spin(int)",
					    "void* fpns::twice<long>(long)" };
	if (!g_dir[0])
		T_SKIP("%s", g_why);
	check_two("cxx", want);
}

T_TEST(separate_debuginfo_by_build_id)
{
	/* stripdbg has no .symtab and exports nothing; its symbols are in dbg/xx/yyyy.debug. */
	struct child c;
	char dbg[300], out[256];
	if (!g_dir[0])
		T_SKIP("%s", g_why);
	snprintf(dbg, sizeof(dbg), "%s/dbg", g_dir);
	struct sym_options o = { .debug_dir = dbg };
	struct symbolizer *with = sym_new(&o), *without = sym_new(NULL);
	T_CHECK(with && without);
	if (child_start(&c, "stripdbg") != 0 || c.n != 5) {
		T_CHECKF(0, "stripdbg fixture did not start");   /* then the symbolizers are freed */
		goto out;
	}
	for (int i = 0; with && without && i < c.n; i++) {
		int rc = sym_user(with, c.p.pid, c.addrs[i], out, sizeof(out));
		T_CHECKF(rc == 0 && strcmp(out, c.names[i]) == 0, "%s -> \"%s\"", c.names[i], out);
		if (strcmp(c.names[i], "fixlib_where") == 0)
			continue;
		rc = sym_user(without, c.p.pid, c.addrs[i], out, sizeof(out));
		T_CHECKF(rc == -ENOENT && strcmp(out, "(stripdbg)") == 0, "no debuginfo: %s -> %s",
			 c.names[i], out);
	}
out:
	child_stop(&c);
	sym_free(with);
	sym_free(without);
}

T_TEST(rust_legacy_demangled)
{
	static const char *const want[] = { "rust::inner::work", "rust::inner::Holder<T>::get" };
	if (g_rust_why[0])
		T_SKIP("%s", g_rust_why);
	check_two("rust", want);
}

T_TEST(deleted_binary_via_map_files)
{
	struct child c;
	char path[512], out[256];
	if (!g_dir[0])
		T_SKIP("%s", g_why);
	if (geteuid() != 0)
		T_SKIP("map_files needs root");
	/* A fresh symbolizer: the cache must not already know the file from the "pie" test. */
	struct symbolizer *s = sym_new(NULL);
	T_REQUIRE(s != NULL);
	if (child_start(&c, "deleted") != 0 || c.n != 5) {
		T_CHECKF(0, "deleted fixture did not start");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/deleted", g_dir);
	T_CHECK(unlink(path) == 0);
	for (int i = 0; i < c.n; i++) {
		int rc = sym_user(s, c.p.pid, c.addrs[i], out, sizeof(out));
		T_CHECKF(rc == 0 && strcmp(out, c.names[i]) == 0, "%s -> \"%s\"", c.names[i], out);
	}
out:
	child_stop(&c);
	sym_free(s);
}

T_TEST(no_mapping_is_unknown_and_exited_process)
{
	struct child c;
	char out[256];
	if (!g_dir[0])
		T_SKIP("%s", g_why);
	child_require(&c, "pie", NULL, 0);
	pid_t pid = c.p.pid;
	T_CHECK(sym_user(g_sym, pid, 0x10, out, sizeof(out)) == -ENOENT);
	T_CHECKF(strcmp(out, "[unknown]") == 0, "got %s", out);
	uint64_t a = c.addrs[1];
	T_CHECK(sym_user(g_sym, pid, a, out, sizeof(out)) == 0 && strcmp(out, "fp_alpha") == 0);
	child_stop(&c);
	/* Gone: after the snapshot boundary its state is dropped and nothing is named. */
	sym_snapshot_begin(g_sym);
	T_CHECK(sym_user(g_sym, pid, a, out, sizeof(out)) == -ENOENT);
	T_CHECKF(strcmp(out, "[unknown]") == 0, "got %s", out);
	struct sym_stats st;
	sym_get_stats(g_sym, &st);
	T_CHECKF(st.files_cached >= 2, "files cached %zu", st.files_cached);
}

T_TEST(own_mount_namespace)
{
	/* The binary and its library live on a tmpfs mounted only inside the child's mount
	 * namespace: reachable through /proc/PID/root, not through the host path. */
	struct child c;
	char script[1024], out[256];
	struct stat st;
	if (!g_dir[0])
		T_SKIP("%s", g_why);
	if (geteuid() != 0)
		T_SKIP("unshare -m needs root");
	if (access("/usr/bin/unshare", X_OK) != 0)
		T_SKIP("no unshare(1) (util-linux)");
	if (stat("/mnt/pie", &st) == 0)
		T_SKIP("/mnt/pie exists on the host");
	/* The tmpfs covers /mnt in the child's namespace only; nothing is created on the host. */
	snprintf(script, sizeof(script),
		 "mount -t tmpfs fpsym /mnt && cp %s/pie %s/libfix.so /mnt/ && exec /mnt/pie",
		 g_dir, g_dir);
	char *argv[] = { "unshare", "-m", "--propagation", "private", "sh", "-c", script, NULL };
	if (child_start_argv(&c, "pie", argv) != 0 || c.n != 5) {
		child_stop(&c);
		T_SKIP("could not start a process in its own mount namespace");
	}
	T_CHECKF(stat("/mnt/pie", &st) != 0, "the host sees the namespace's file");
	struct symbolizer *s = sym_new(NULL);
	for (int i = 0; s && i < c.n; i++) {
		int rc = sym_user(s, c.p.pid, c.addrs[i], out, sizeof(out));
		T_CHECKF(rc == 0 && strcmp(out, c.names[i]) == 0, "%s -> \"%s\"", c.names[i], out);
	}
	sym_free(s);
	child_stop(&c);
}

T_TEST(kernel_schedule_roundtrip)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], out[256];
	unsigned long long addr = 0;
	if (!f)
		T_SKIP("no /proc/kallsyms");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, name[256];
		if (sscanf(line, "%llx %c %255s", &a, &type, name) == 3 &&
		    strcmp(name, "schedule") == 0 && (type == 'T' || type == 't')) {
			addr = a;
			break;
		}
	}
	fclose(f);
	if (addr == 0)
		T_SKIP("kallsyms addresses hidden (not root?) or no schedule symbol");
	T_CHECK(sym_kernel(g_sym, addr, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "schedule_[k]") == 0, "got %s", out);
	T_CHECK(sym_kernel(g_sym, addr + 1, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "schedule_[k]") == 0, "+1 got %s", out);
	T_CHECK(sym_kernel(g_sym, 0x1000, out, sizeof(out)) == -ENOENT);
	T_CHECKF(strcmp(out, "[unknown]_[k]") == 0, "low got %s", out);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	build_fixtures();
	build_rust_fixture();
	g_sym = sym_new(NULL);
	if (!g_sym) {
		printf("FAIL sym_new: %s\n", strerror(errno));
		remove_fixtures();
		return 1;
	}
	T_RUN(pie_executable_and_library);
	T_RUN(non_pie_executable);
	T_RUN(stripped_dynsym_only_and_module_fallback);
	T_RUN(cxx_demangled);
	T_RUN(rust_legacy_demangled);
	T_RUN(separate_debuginfo_by_build_id);
	T_RUN(deleted_binary_via_map_files);
	T_RUN(no_mapping_is_unknown_and_exited_process);
	T_RUN(own_mount_namespace);
	T_RUN(kernel_schedule_roundtrip);
	sym_free(g_sym);
	remove_fixtures();
	return t_done();
}
