/* test_agent_sym.c — symbolizer units without live fixtures: demangling table, kallsyms parsing
 * (fake file), load-bias arithmetic, the ELF cache's bounds and LRU order, and — through a fake
 * proc root that copies this process's own maps — PID reuse, perf maps (parse, overlap, growth)
 * and cache eviction seen through sym_user. No root needed. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sym/sym_cache.h"
#include "sym/sym_demangle.h"
#include "sym/sym_elf.h"
#include "sym/sym_kallsyms.h"
#include "sym/sym_maps.h"
#include "sym/sym_perfmap.h"
#include "sym/symbolizer.h"
#include "t.h"
#include "agent_fixtures.h"
#include "util.h"

static char g_root[128]; /* fake proc root */

static int write_file(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* ---- demangling -------------------------------------------------------------------------- */

T_TEST(demangle_table)
{
	static const struct { const char *in, *want; int rc; } cases[] = {
		{ "main", "main", 0 },
		{ "_ZN2ns6Widget4spinEi", "ns::Widget::spin(int)", 1 },
		{ "_Z5twiceIiET_S0_", "int twice<int>(int)", 1 },
		{ "_ZNSt6vectorIiSaIiEE9push_backERKi", "std::vector<int, std::allocator<int> >::push_back(int const&)", 1 },
		{ "_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write", 1 },
		{ "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h5a6b7c8d9e0f1a2bE",
		  "std::rt::lang_start::{{closure}}", 1 },
		{ "_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h1234567890abcdefE",
		  "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop", 1 },
		{ "_RNvCs1234_7mycrate3foo", "mycrate::foo", 1 },
		{ "_RNvNtCs1234_7mycrate5inner3foo", "mycrate::inner::foo", 1 },
		{ "_RNCNvCs1234_7mycrate4main0B3_", "mycrate::main::{closure}", 1 },
		{ "_RNvCs1234_7mycrate3foo.llvm.987", "mycrate::foo", 1 },
		{ "_RNvMNtCs1234_7mycrate1aNtB2_3Foo3new", "_RNvMNtCs1234_7mycrate1aNtB2_3Foo3new", 0 },
		{ "_RINvCs1234_7mycrate3fooE", "_RINvCs1234_7mycrate3fooE", 0 }, /* generics: kept */
		{ "_Znotmangled", "_Znotmangled", 0 },
		{ "", "", 0 },
	};
	char out[256];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = sym_demangle(cases[i].in, out, sizeof(out));
		T_CHECKF(rc == cases[i].rc && strcmp(out, cases[i].want) == 0,
			 "%s -> \"%s\" rc %d, want \"%s\"", cases[i].in, out, rc, cases[i].want);
	}
	/* truncation keeps a terminated string */
	char small[8];
	sym_demangle("_ZN4core3fmt5write17h0123456789abcdefE", small, sizeof(small));
	T_CHECKF(strcmp(small, "core::f") == 0, "got %s", small);
	sym_demangle("_ZN2ns6Widget4spinEi", small, sizeof(small));
	T_CHECKF(strcmp(small, "ns::Wid") == 0, "got %s", small);
}

/* ---- kallsyms ---------------------------------------------------------------------------- */

T_TEST(kallsyms_fake)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/kallsyms", g_root);
	T_CHECK(write_file(path,
			   "ffffffff81000000 T _stext\n"
			   "ffffffff81000000 T startup_64\n"
			   "ffffffff81000100 t __pfx_foo\n"
			   "ffffffff81000110 T foo\n"
			   "ffffffff81000200 D some_data\n"
			   "ffffffff81000300 t bar\n"
			   "ffffffff81000400 T _etext\n"
			   "ffffffff81000500 B bss_thing\n"
			   "ffffffffc0000000 t mod_fn\t[mymod]\n"
			   "ffffffffc0000040 d mod_data\t[mymod]\n"
			   "garbage line\n", "w") == 0);
	struct sym_ksyms *k = sym_ksyms_load(path);
	T_REQUIRE(k != NULL);
	static const struct { uint64_t a; const char *want; } cases[] = {
		{ 0xffffffff81000000, "startup_64" }, /* alias: fewer leading underscores wins */
		{ 0xffffffff810000ff, "startup_64" },
		{ 0xffffffff81000105, NULL },        /* __pfx_ padding: named by nothing */
		{ 0xffffffff81000110, "foo" },
		{ 0xffffffff81000111, "foo" },
		{ 0xffffffff810001ff, "foo" },
		{ 0xffffffff81000200, NULL },        /* data */
		{ 0xffffffff81000250, NULL },
		{ 0xffffffff810003ff, "bar" },
		{ 0xffffffffc0000010, "mod_fn" },    /* module name not in the name */
		{ 0xffffffffc0000040, NULL },
		{ 0xffffffff80000000, NULL },        /* below everything */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = sym_ksyms_lookup(k, cases[i].a);
		T_CHECKF(cases[i].want ? got && strcmp(got, cases[i].want) == 0 : got == NULL,
			 "%llx -> %s, want %s", (unsigned long long)cases[i].a, got ? got : "NULL",
			 cases[i].want ? cases[i].want : "NULL");
	}
	T_CHECKF(sym_ksyms_count(k) == 5, "count %zu", sym_ksyms_count(k));
	T_CHECK(!sym_ksyms_zeroed(k));
	sym_ksyms_free(k);

	/* Through the symbolizer, with the fake root. */
	struct sym_options o = { .proc_root = g_root };
	struct symbolizer *s = sym_new(&o);
	char out[64];
	T_CHECK(sym_kernel(s, 0xffffffffc0000001, out, sizeof(out)) == 0 &&
		strcmp(out, "mod_fn_[k]") == 0);
	T_CHECK(sym_kernel(s, 0xffffffff81000250, out, sizeof(out)) == -ENOENT &&
		strcmp(out, "[unknown]_[k]") == 0);
	sym_free(s);

	/* Addresses hidden: every lookup is [unknown]_[k]. */
	T_CHECK(write_file(path, "0000000000000000 T _stext\n0000000000000000 T foo\n", "w") == 0);
	k = sym_ksyms_load(path);
	T_CHECK(k && sym_ksyms_zeroed(k) && sym_ksyms_lookup(k, 0) == NULL);
	sym_ksyms_free(k);
	s = sym_new(&o);
	T_CHECK(sym_kernel(s, 0, out, sizeof(out)) == -ENOENT && strcmp(out, "[unknown]_[k]") == 0);
	sym_free(s);
	unlink(path);
}

/* ---- load bias --------------------------------------------------------------------------- */

T_TEST(file_offset_to_vaddr)
{
	struct sym_elf e = { 0 };
	uint64_t v;
	/* A PIE / shared object laid out by ld with -z separate-code, plus a data segment whose
	 * vaddr-offset delta differs (as after .bss alignment). */
	e.nsegs = 4;
	e.segs[0] = (struct sym_elf_seg){ 0x0, 0x0, 0x6f8, 0x6f8, PF_R };
	e.segs[1] = (struct sym_elf_seg){ 0x1000, 0x1000, 0x1b5, 0x1b5, PF_R | PF_X };
	e.segs[2] = (struct sym_elf_seg){ 0x2000, 0x2000, 0x100, 0x100, PF_R };
	e.segs[3] = (struct sym_elf_seg){ 0x2de8, 0x3de8, 0x248, 0x250, PF_R | PF_W };
	T_CHECK(sym_elf_file_to_vaddr(&e, 0x1123, &v) == 0 && v == 0x1123);
	T_CHECK(sym_elf_file_to_vaddr(&e, 0x2e00, &v) == 0 && v == 0x3e00);
	T_CHECK(sym_elf_file_to_vaddr(&e, 0x9000, &v) == -ENOENT);
	/* Non-PIE: text at 0x401000 from offset 0x1000. */
	e.nsegs = 2;
	e.segs[0] = (struct sym_elf_seg){ 0x0, 0x400000, 0x500, 0x500, PF_R };
	e.segs[1] = (struct sym_elf_seg){ 0x1000, 0x401000, 0x2000, 0x2000, PF_R | PF_X };
	T_CHECK(sym_elf_file_to_vaddr(&e, 0x1170, &v) == 0 && v == 0x401170);
	/* Old single-segment layout: text and headers in one R+X segment whose p_offset is not
	 * page aligned relative to the mapping. */
	e.nsegs = 1;
	e.segs[0] = (struct sym_elf_seg){ 0x40, 0x400040, 0x8000, 0x8000, PF_R | PF_X };
	T_CHECK(sym_elf_file_to_vaddr(&e, 0x10, &v) == 0 && v == 0x400010);
	T_CHECK(sym_elf_file_to_vaddr(&e, 0x1234, &v) == 0 && v == 0x401234);
}

/* ---- cache ------------------------------------------------------------------------------- */

static struct sym_elf *fake_elf(size_t strs_len, uint8_t bid)
{
	struct sym_elf *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->strs = calloc(1, strs_len ? strs_len : 1);
	e->strs_len = strs_len;
	if (bid) {
		memset(e->build_id, bid, 20);
		e->build_id_len = 20;
	}
	return e;
}

static struct sym_file_id fid(uint64_t ino)
{
	return (struct sym_file_id){ .dev = 8, .ino = ino, .size = 100, .mtime_ns = 42 };
}

T_TEST(cache_count_bound_lru)
{
	struct sym_cache *c = sym_cache_new(3, 1 << 30);
	struct sym_file_id id;
	T_REQUIRE(c != NULL);
	for (uint64_t i = 1; i <= 3; i++) {
		id = fid(i);
		T_CHECK(sym_cache_put(c, &id, fake_elf(10, (uint8_t)i)) == 0);
	}
	id = fid(1);
	T_CHECK(sym_cache_get(c, &id) != NULL); /* 1 is now most recent: 2 is the LRU */
	id = fid(4);
	T_CHECK(sym_cache_put(c, &id, fake_elf(10, 4)) == 0);
	T_CHECKF(sym_cache_files(c) == 3 && sym_cache_evictions(c) == 1, "files %zu ev %llu",
		 sym_cache_files(c), (unsigned long long)sym_cache_evictions(c));
	id = fid(2);
	T_CHECK(sym_cache_get(c, &id) == NULL);
	id = fid(1);
	T_CHECK(sym_cache_get(c, &id) != NULL);
	/* mtime is part of the identity: a rebuilt file is another entry */
	id.mtime_ns++;
	T_CHECK(sym_cache_get(c, &id) == NULL);
	/* by build-id, with the canonical identity returned */
	uint8_t bid[20];
	memset(bid, 3, sizeof(bid));
	struct sym_file_id canon = { 0 };
	T_CHECK(sym_cache_get_build_id(c, bid, 20, &canon) != NULL && canon.ino == 3);
	memset(bid, 2, sizeof(bid));
	T_CHECK(sym_cache_get_build_id(c, bid, 20, NULL) == NULL); /* evicted with its entry */
	sym_cache_free(c);
}

T_TEST(cache_byte_bound)
{
	/* Each entry: header + 10000 bytes of names; two fit in 25000, three do not. */
	struct sym_cache *c = sym_cache_new(100, 25000);
	struct sym_file_id id;
	T_REQUIRE(c != NULL);
	for (uint64_t i = 1; i <= 5; i++) {
		id = fid(i);
		T_CHECK(sym_cache_put(c, &id, fake_elf(10000, 0)) == 0);
		T_CHECKF(sym_cache_bytes(c) <= 25000, "bytes %zu", sym_cache_bytes(c));
	}
	T_CHECKF(sym_cache_files(c) == 2 && sym_cache_evictions(c) == 3, "files %zu ev %llu",
		 sym_cache_files(c), (unsigned long long)sym_cache_evictions(c));
	id = fid(5);
	T_CHECK(sym_cache_get(c, &id) != NULL);
	id = fid(4);
	T_CHECK(sym_cache_get(c, &id) != NULL);
	/* Alone larger than the bound: refused, caller keeps it, nothing evicted. */
	struct sym_elf *big = fake_elf(30000, 0);
	id = fid(9);
	T_CHECK(sym_cache_put(c, &id, big) == -E2BIG);
	sym_elf_free(big);
	T_CHECK(sym_cache_files(c) == 2);
	sym_cache_free(c);
}

/* ---- maps / perf map parsing ------------------------------------------------------------- */

T_TEST(maps_parse)
{
	char path[256];
	struct sym_maps m;
	snprintf(path, sizeof(path), "%s/maps-test", g_root);
	T_CHECK(write_file(path,
		"55d0a0000000-55d0a0001000 r--p 00000000 08:01 1234    /usr/bin/app\n"
		"55d0a0001000-55d0a0002000 r-xp 00001000 08:01 1234    /usr/bin/app\n"
		"7f0000000000-7f0000010000 rwxp 00000000 00:00 0 \n"
		"7f0000010000-7f0000020000 r-xp 00000000 00:00 0                  [anon:v8 code]\n"
		"7f1000000000-7f1000001000 r-xp 00002000 08:01 99 /tmp/x y (deleted)\n"
		"7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                  [vdso]\n"
		"not a maps line\n", "w") == 0);
	T_CHECK(sym_maps_read(path, &m) == 0);
	T_CHECKF(m.n == 5, "n %zu", m.n);
	if (m.n == 5) {
		T_CHECK(m.v[0].kind == SYM_MAP_FILE && m.v[0].off == 0x1000 && m.v[0].ino == 1234 &&
			strcmp(sym_map_path(&m, &m.v[0]), "/usr/bin/app") == 0);
		T_CHECK(m.v[1].kind == SYM_MAP_ANON && m.v[2].kind == SYM_MAP_ANON);
		T_CHECK(m.v[3].kind == SYM_MAP_FILE && m.v[3].deleted &&
			strcmp(sym_map_path(&m, &m.v[3]), "/tmp/x y") == 0);
		T_CHECK(m.v[4].kind == SYM_MAP_SPECIAL);
		T_CHECK(sym_maps_find(&m, 0x55d0a0001fff) == &m.v[0]);
		T_CHECK(sym_maps_find(&m, 0x55d0a0002000) == NULL);
		T_CHECK(sym_maps_find(&m, 0x55d0a0000000) == NULL); /* not executable */
	}
	sym_maps_release(&m);
	T_CHECK(sym_maps_read("/nonexistent/maps", &m) == -ENOENT);
	unlink(path);
}

/* A perf map is written by the profiled process, so by any user: a FIFO, a link to a device
 * or an endless line must neither hang nor flood the agent. */
T_TEST(perfmap_hostile_files)
{
	char fifo[256], link[256], big[256];
	snprintf(fifo, sizeof(fifo), "%s/perf-fifo.map", g_root);
	snprintf(link, sizeof(link), "%s/perf-link.map", g_root);
	snprintf(big, sizeof(big), "%s/perf-big.map", g_root);
	unlink(fifo);
	unlink(link);
	T_CHECK(mkfifo(fifo, 0666) == 0);
	T_CHECK(sym_perfmap_load(fifo) == NULL && errno == EINVAL);   /* returns, no writer needed */
	T_CHECK(symlink("/dev/zero", link) == 0);
	T_CHECK(sym_perfmap_load(link) == NULL);
	FILE *f = fopen(big, "w");
	T_CHECK(f != NULL);
	if (f) {
		fputs("1000 10 before\n3000 10 ", f);
		for (int i = 0; i < 100000; i++)
			fputs("x", f);
		fputs("\n2000 10 after\n", f);
		fclose(f);
	}
	struct sym_perfmap *m = sym_perfmap_load(big);
	T_CHECK(m != NULL);
	if (m) {
		T_CHECK(sym_perfmap_lookup(m, 0x1004) && !strcmp(sym_perfmap_lookup(m, 0x1004), "before"));
		T_CHECK(sym_perfmap_lookup(m, 0x2004) && !strcmp(sym_perfmap_lookup(m, 0x2004), "after"));
		T_CHECK(sym_perfmap_lookup(m, 0x3004) == NULL);   /* the overlong entry was skipped */
		sym_perfmap_free(m);
	}
	unlink(fifo);
	unlink(link);
	unlink(big);
}

T_TEST(perfmap_parse_overlap)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/perf-test.map", g_root);
	T_CHECK(write_file(path,
		"1000 100 first\n"
		"0x2000 0x10 LazyCompile:*foo bar.js:1\n"
		"1080 20 rejit_inside_first\n"
		"zzz 10 bad\n"
		"3000 0 zero_size\n", "w") == 0);
	struct sym_perfmap *m = sym_perfmap_load(path);
	T_REQUIRE(m != NULL);
	T_CHECK(sym_perfmap_count(m) == 3);
	const char *n;
	n = sym_perfmap_lookup(m, 0x1000);
	T_CHECK(n && strcmp(n, "first") == 0);
	n = sym_perfmap_lookup(m, 0x1090); /* later line wins where they overlap */
	T_CHECK(n && strcmp(n, "rejit_inside_first") == 0);
	n = sym_perfmap_lookup(m, 0x10a0);
	T_CHECK(n && strcmp(n, "first") == 0);
	n = sym_perfmap_lookup(m, 0x200f);
	T_CHECK(n && strcmp(n, "LazyCompile:*foo bar.js:1") == 0);
	T_CHECK(sym_perfmap_lookup(m, 0x2010) == NULL);
	T_CHECK(sym_perfmap_lookup(m, 0x3000) == NULL);
	T_CHECK(sym_perfmap_changed(m, path) == 0);
	T_CHECK(write_file(path, "4000 10 grown\n", "a") == 0);
	T_CHECK(sym_perfmap_changed(m, path) == 1);
	sym_perfmap_free(m);
	unlink(path);
}

/* ---- through sym_user with a fake /proc ---------------------------------------------------- */

/* Make <g_root>/<pid>/ with stat (given start time), maps (text), status, root -> "/" or a dir. */
static int fake_proc(int pid, unsigned long long start, const char *maps, bool root_is_dir)
{
	char path[512], text[512];
	snprintf(path, sizeof(path), "%s/%d", g_root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/stat", g_root, pid);
	snprintf(text, sizeof(text),
		 "%d (fake (x) comm) S 1 %d %d 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %llu "
		 "1000 100 18446744073709551615\n", pid, pid, pid, start);
	if (write_file(path, text, "w"))
		return -1;
	snprintf(path, sizeof(path), "%s/%d/status", g_root, pid);
	if (write_file(path, "Name:\tfake\nTgid:\t4242\nNSpid:\t4242\t7\n", "w"))
		return -1;
	snprintf(path, sizeof(path), "%s/%d/maps", g_root, pid);
	if (write_file(path, maps, "w"))
		return -1;
	snprintf(path, sizeof(path), "%s/%d/root", g_root, pid);
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (root_is_dir) {
			if (mkdir(path, 0755))
				return -1;
			snprintf(path, sizeof(path), "%s/%d/root/tmp", g_root, pid);
			return mkdir(path, 0755);
		}
		return symlink("/", path);
	}
	return 0;
}

static char *self_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	static char buf[256 * 1024];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

T_TEST(pid_reuse_and_forget)
{
	struct sym_options o = { .proc_root = g_root };
	struct symbolizer *s = sym_new(&o);
	char out[128];
	uint64_t a = (uint64_t)(uintptr_t)&sym_demangle + 1; /* in libagent.a, linked in */
	const char *maps = self_maps();
	T_CHECK(s && fake_proc(4242, 100, maps, false) == 0);
	T_CHECK(sym_user(s, 4242, a, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "sym_demangle") == 0, "got %s", out);
	a = (uint64_t)(uintptr_t)&elf_version; /* a shared library: libelf */
	T_CHECK(sym_user(s, 4242, a, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "elf_version") == 0, "got %s", out);

	/* Same start time, new snapshot: state kept (the maps are not re-read). */
	T_CHECK(fake_proc(4242, 100, "", false) == 0);
	sym_snapshot_begin(s);
	T_CHECK(sym_user(s, 4242, a, out, sizeof(out)) == 0 && strcmp(out, "elf_version") == 0);
	/* The pid is reused by another process (start time differs) with nothing mapped there. */
	T_CHECK(fake_proc(4242, 200, "", false) == 0);
	sym_snapshot_begin(s);
	T_CHECK(sym_user(s, 4242, a, out, sizeof(out)) == -ENOENT);
	T_CHECKF(strcmp(out, "[unknown]") == 0, "stale name after reuse: %s", out);
	/* And back: sym_forget drops state immediately. */
	T_CHECK(fake_proc(4242, 300, maps, false) == 0);
	sym_forget(s, 4242);
	T_CHECK(sym_user(s, 4242, a, out, sizeof(out)) == 0 && strcmp(out, "elf_version") == 0);
	T_CHECK(fake_proc(4242, 400, "", false) == 0);
	sym_forget(s, 4242);
	T_CHECK(sym_user(s, 4242, a, out, sizeof(out)) == -ENOENT && strcmp(out, "[unknown]") == 0);
	/* A pid that does not exist at all. */
	T_CHECK(sym_user(s, 999999, a, out, sizeof(out)) == -ENOENT && strcmp(out, "[unknown]") == 0);
	struct sym_stats st;
	sym_get_stats(s, &st);
	T_CHECKF(st.lookups == 7 && st.misses == 3, "lookups %llu misses %llu",
		 (unsigned long long)st.lookups, (unsigned long long)st.misses);
	sym_free(s);
	fixture_rmtree("4242");
}

T_TEST(eviction_through_sym_user)
{
	/* One file in the cache: alternating between two objects evicts every time and still names
	 * each correctly. Process count bound 2: a third process evicts the least recent. */
	struct sym_options o = { .proc_root = g_root, .max_files = 1, .max_processes = 2 };
	struct symbolizer *s = sym_new(&o);
	char out[128];
	const char *maps = self_maps();
	uint64_t a1 = (uint64_t)(uintptr_t)&sym_demangle, a2 = (uint64_t)(uintptr_t)&elf_version;
	T_CHECK(s && fake_proc(5001, 1, maps, false) == 0 && fake_proc(5002, 1, maps, false) == 0 &&
		fake_proc(5003, 1, maps, false) == 0);
	for (int i = 0; i < 3; i++) {
		T_CHECK(sym_user(s, 5001, a1, out, sizeof(out)) == 0 &&
			strcmp(out, "sym_demangle") == 0);
		T_CHECK(sym_user(s, 5002, a2, out, sizeof(out)) == 0 &&
			strcmp(out, "elf_version") == 0);
	}
	struct sym_stats st;
	sym_get_stats(s, &st);
	T_CHECKF(st.files_cached == 1 && st.evictions == 5, "files %zu evictions %llu",
		 st.files_cached, (unsigned long long)st.evictions);
	T_CHECK(sym_user(s, 5003, a2, out, sizeof(out)) == 0);
	sym_get_stats(s, &st);
	T_CHECKF(st.processes == 2, "processes %zu", st.processes);
	sym_free(s);
	fixture_rmtree("5001");
	fixture_rmtree("5002");
	fixture_rmtree("5003");
}

T_TEST(perfmap_through_sym_user)
{
	struct sym_options o = { .proc_root = g_root };
	struct symbolizer *s = sym_new(&o);
	char out[128], path[256];
	T_CHECK(s && fake_proc(4343, 1,
		"7f0000000000-7f0000100000 r-xp 00000000 00:00 0 \n"
		"7f0000100000-7f0000200000 r-xp 00000000 00:00 0       [anon:jit]\n", true) == 0);
	/* No perf map yet: unknown; it appears: still unknown until the next snapshot. */
	T_CHECK(sym_user(s, 4343, 0x7f0000000010, out, sizeof(out)) == -ENOENT &&
		strcmp(out, "[unknown]") == 0);
	snprintf(path, sizeof(path), "%s/4343/root/tmp/perf-7.map", g_root); /* NSpid 7 */
	T_CHECK(write_file(path, "7f0000000000 40 py::work:/app/x.py\n"
				 "7f0000100000 80 LazyCompile:*a;b\n", "w") == 0);
	sym_snapshot_begin(s);
	T_CHECK(sym_user(s, 4343, 0x7f0000000010, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "py::work:/app/x.py_[j]") == 0, "got %s", out);
	T_CHECK(sym_user(s, 4343, 0x7f000010007f, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "LazyCompile:*a:b_[j]") == 0, "not sanitized: %s", out);
	/* The map grows: a miss re-reads it, without waiting for the next snapshot. */
	T_CHECK(sym_user(s, 4343, 0x7f0000000050, out, sizeof(out)) == -ENOENT);
	T_CHECK(write_file(path, "7f0000000040 40 grown_later\n", "a") == 0);
	T_CHECK(sym_user(s, 4343, 0x7f0000000050, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "grown_later_[j]") == 0, "got %s", out);
	/* Outside any mapping. */
	T_CHECK(sym_user(s, 4343, 0x1000, out, sizeof(out)) == -ENOENT &&
		strcmp(out, "[unknown]") == 0);
	sym_free(s);
	fixture_rmtree("4343");
}

/* [vdso] frames: ground truth from reading our vDSO image with elf_memory (another path than
 * the symbolizer's memfd copy). */
T_TEST(vdso_frames)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	char out[128];
	uint64_t want_addr = 0;
	if (!base)
		T_SKIP("no vDSO");
	if (elf_version(EV_CURRENT) == EV_NONE)
		T_SKIP("libelf");
	Elf *e = elf_memory((char *)base, 1u << 16);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while (e && (scn = elf_nextscn(e, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym st;
			const char *nm;
			if (gelf_getsym(d, (int)i, &st) && st.st_size &&
			    (nm = elf_strptr(e, sh.sh_link, st.st_name)) &&
			    strcmp(nm, "__vdso_clock_gettime") == 0)
				want_addr = base + st.st_value + 3;
		}
	}
	if (e)
		elf_end(e);
	if (!want_addr)
		T_SKIP("no __vdso_clock_gettime in this vDSO");
	struct sym_options o = { .proc_root = g_root };
	struct symbolizer *s = sym_new(&o);
	T_CHECK(s && fake_proc(4444, 1, self_maps(), false) == 0);
	T_CHECK(sym_user(s, 4444, want_addr, out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "__vdso_clock_gettime") == 0, "got %s", out);
	sym_free(s);
	/* Another special mapping: named by itself. */
	s = sym_new(&o);
	T_CHECK(s && fake_proc(4445, 1, "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
				"                  [vsyscall]\n", false) == 0);
	T_CHECK(sym_user(s, 4445, 0xffffffffff600010, out, sizeof(out)) == -ENOENT);
	T_CHECKF(strcmp(out, "[vsyscall]") == 0, "got %s", out);
	sym_free(s);
	fixture_rmtree("4444");
	fixture_rmtree("4445");
}

T_TEST(process_bytes_bound)
{
	/* Learn one process's footprint, then allow two and a half: the third evicts the LRU. */
	struct sym_options o = { .proc_root = g_root };
	struct symbolizer *s = sym_new(&o);
	struct sym_stats st;
	char out[128];
	uint64_t a = (uint64_t)(uintptr_t)&elf_version;
	const char *maps = self_maps();
	T_CHECK(s && fake_proc(5101, 1, maps, false) == 0 && fake_proc(5102, 1, maps, false) == 0 &&
		fake_proc(5103, 1, maps, false) == 0);
	T_CHECK(sym_user(s, 5101, a, out, sizeof(out)) == 0);
	sym_get_stats(s, &st);
	size_t one = st.bytes_processes;
	T_CHECKF(one > 1000, "one process %zu bytes", one);
	sym_free(s);
	o.max_proc_bytes = one * 5 / 2;
	s = sym_new(&o);
	T_CHECK(s != NULL);
	for (int pid = 5101; s && pid <= 5103; pid++) {
		T_CHECK(sym_user(s, pid, a, out, sizeof(out)) == 0 && strcmp(out, "elf_version") == 0);
		sym_get_stats(s, &st);
		T_CHECKF(st.bytes_processes <= o.max_proc_bytes, "%zu > %zu", st.bytes_processes,
			 o.max_proc_bytes);
	}
	T_CHECKF(st.processes == 2, "processes %zu", st.processes);
	sym_free(s);

	/* A perf map bigger than the whole bound is dropped: its frames are unknown, no crash. */
	char path[256];
	T_CHECK(fake_proc(5104, 1, "7f0000000000-7f0000100000 r-xp 00000000 00:00 0 \n", true) == 0);
	snprintf(path, sizeof(path), "%s/5104/root/tmp/perf-7.map", g_root);
	FILE *f = fopen(path, "w");
	for (int i = 0; f && i < 20000; i++)
		fprintf(f, "%llx 10 jitted_function_with_a_long_name_%d\n",
			0x7f0000000000ull + (unsigned long long)i * 16, i);
	if (f)
		fclose(f);
	o.max_proc_bytes = 64 * 1024;
	s = sym_new(&o);
	T_CHECK(s && sym_user(s, 5104, 0x7f0000000010, out, sizeof(out)) == -ENOENT);
	T_CHECKF(strcmp(out, "[unknown]") == 0, "got %s", out);
	sym_get_stats(s, &st);
	T_CHECKF(st.bytes_processes <= o.max_proc_bytes, "%zu", st.bytes_processes);
	sym_free(s);
	fixture_rmtree("5101");
	fixture_rmtree("5102");
	fixture_rmtree("5103");
	fixture_rmtree("5104");
}

/* Truncated and corrupted ELF files: load fails cleanly or gives a table lookups can use;
 * ASan watches for anything else. */
T_TEST(elf_garbage_inputs)
{
	char src[] = "/proc/self/exe", path[256];
	int in = open(src, O_RDONLY);
	struct stat st;
	T_REQUIRE(in >= 0 && fstat(in, &st) == 0);
	size_t len = (size_t)st.st_size;
	char *img = malloc(len);
	bool read_ok = img && pread(in, img, len, 0) == (ssize_t)len;
	close(in);
	T_REQUIRE(read_ok);
	snprintf(path, sizeof(path), "%s/garbage.elf", g_root);
	uint64_t seed = 12345;
	int loaded = 0;
	for (int round = 0; round < 40; round++) {
		size_t n = len;
		if (round < 12) {
			static const size_t cut[] = { 0, 4, 16, 52, 64, 100, 512, 4096, 8192, 65536 };
			n = round < 10 ? cut[round] : (round == 10 ? len / 2 : len - 1);
			if (n > len)
				n = len;
		} else {
			/* flip 32 random bytes, biased to the headers at both ends */
			for (int k = 0; k < 32; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				size_t at = (size_t)(seed >> 33) % (k & 1 ? 4096 : len);
				if (k & 2)
					at = len - 1 - at % 65536 % len;
				img[at] ^= (char)(seed >> 20 | 1);
			}
		}
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		T_CHECK(fd >= 0 && write(fd, img, n) == (ssize_t)n);
		struct sym_elf *e = NULL;
		uint8_t bid[SYM_BUILD_ID_MAX];
		size_t bl;
		(void)sym_elf_read_build_id(fd, bid, sizeof(bid), &bl);
		if (sym_elf_load(fd, &e) == 0) {
			uint64_t v;
			loaded++;
			for (uint64_t a = 0; a < 0x40000; a += 0x111)
				if (sym_elf_file_to_vaddr(e, a, &v) == 0)
					(void)sym_elf_lookup(e, v);
			T_CHECK(e->nsegs <= SYM_ELF_MAX_SEGS);
		}
		sym_elf_free(e);
		close(fd);
	}
	T_CHECKF(loaded >= 1, "the whole, uncorrupted file should load (loaded %d)", loaded);
	free(img);
	unlink(path);
}

int main(void)
{
	snprintf(g_root, sizeof(g_root), "/tmp/fp-symroot-XXXXXX");
	if (!mkdtemp(g_root)) {
		printf("FAIL setup: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (chdir(g_root) != 0) {
		printf("FAIL setup: chdir: %s\n", strerror(errno));
		return 1;
	}
	T_RUN(demangle_table);
	T_RUN(kallsyms_fake);
	T_RUN(file_offset_to_vaddr);
	T_RUN(cache_count_bound_lru);
	T_RUN(cache_byte_bound);
	T_RUN(maps_parse);
	T_RUN(perfmap_hostile_files);
	T_RUN(perfmap_parse_overlap);
	T_RUN(pid_reuse_and_forget);
	T_RUN(eviction_through_sym_user);
	T_RUN(perfmap_through_sym_user);
	T_RUN(vdso_frames);
	T_RUN(process_bytes_bound);
	T_RUN(elf_garbage_inputs);
	if (chdir("/") != 0)
		perror("chdir");
	fixture_rmtree(g_root);
	return t_done();
}
