/* bench_sym.c — symbolizer throughput: for each shared object named on the command line (plus
 * libc), dlopen it into this process, draw random addresses in its executable mapping and name
 * them with sym_user(getpid()). Prints, per object:
 *   cold: the first lookup of a fresh symbolizer (open, parse, sort the symbol table)
 *   warm: lookups per second once the table is cached (demangling and sanitizing included)
 * and writes the same addresses as link-time addresses to <outdir>/<base>.addrs for a peer
 * (addr2line) run by run.sh. */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sym/sym_elf.h"
#include "sym/symbolizer.h"

#define NADDR 200000
#define NPEER 20000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The executable mapping whose path ends with base. */
static int find_map(const char *base, uint64_t *lo, uint64_t *hi, uint64_t *off, char *path,
		    size_t pn)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int rc = -ENOENT;
	while (f && fgets(line, sizeof(line), f)) {
		char perms[8], p[768] = "";
		uint64_t a, b, o;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %767s", &a, &b, perms,
			   &o, p) != 5 || perms[2] != 'x')
			continue;
		const char *bn = strrchr(p, '/');
		if (bn && strcmp(bn + 1, base) == 0) {
			*lo = a;
			*hi = b;
			*off = o;
			snprintf(path, pn, "%s", p);
			rc = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return rc;
}

static void bench_one(const char *lib, const char *outdir)
{
	const char *base = strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib;
	uint64_t lo, hi, off;
	char path[768], out[512];
	static uint64_t addrs[NADDR];

	if (strcmp(base, "libc.so.6") != 0 && !dlopen(lib, RTLD_LAZY | RTLD_LOCAL)) {
		printf("%-22s cannot dlopen: %s\n", base, dlerror());
		return;
	}
	if (find_map(base, &lo, &hi, &off, path, sizeof(path)) != 0) {
		printf("%-22s no executable mapping\n", base);
		return;
	}
	for (size_t i = 0; i < NADDR; i++)
		addrs[i] = lo + xorshift() % (hi - lo);

	pid_t pid = getpid();
	struct symbolizer *s = sym_new(NULL);
	if (!s)
		return;
	double t0 = now_s();
	sym_user(s, pid, addrs[0], out, sizeof(out));
	double cold = now_s() - t0;
	struct sym_stats st;
	sym_get_stats(s, &st);

	size_t named = 0;
	t0 = now_s();
	for (size_t i = 0; i < NADDR; i++)
		named += sym_user(s, pid, addrs[i], out, sizeof(out)) == 0;
	double warm = now_s() - t0;
	printf("%-22s text %6.1f MB  cold first lookup %7.1f ms (table %6.1f MB)  "
	       "warm %8.0f lookups/s  named %4.1f%%\n",
	       base, (double)(hi - lo) / 1e6, cold * 1e3, (double)st.bytes_cached / 1e6,
	       NADDR / warm, 100.0 * (double)named / NADDR);
	sym_free(s);

	/* Link-time addresses for the peer: this mapping's file offset equals its vaddr for these
	 * objects only when p_offset == p_vaddr, so go through the ELF segments like sym_user. */
	if (outdir) {
		char fn[1024];
		snprintf(fn, sizeof(fn), "%s/%s.addrs", outdir, base);
		FILE *f = fopen(fn, "w");
		FILE *elf = fopen(path, "r");
		struct sym_elf *e = NULL;
		if (f && elf && sym_elf_load(fileno(elf), &e) == 0) {
			for (size_t i = 0; i < NPEER; i++) {
				uint64_t v;
				if (sym_elf_file_to_vaddr(e, addrs[i] - lo + off, &v) == 0)
					fprintf(f, "%" PRIx64 "\n", v);
			}
			printf("%-22s wrote %s\n", "", fn);
		}
		sym_elf_free(e);
		if (elf)
			fclose(elf);
		if (f)
			fclose(f);
	}
}

/* Kernel: load /proc/kallsyms on the first lookup, then random addresses in the kernel text. */
static void bench_kernel(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], out[256];
	uint64_t lo = 0, hi = 0;
	static uint64_t addrs[NADDR];
	while (f && fgets(line, sizeof(line), f)) {
		uint64_t a;
		char t, name[256];
		if (sscanf(line, "%" SCNx64 " %c %255s", &a, &t, name) != 3)
			continue;
		if (strcmp(name, "_stext") == 0)
			lo = a;
		else if (strcmp(name, "_etext") == 0)
			hi = a;
	}
	if (f)
		fclose(f);
	if (!lo || hi <= lo) {
		printf("%-22s kallsyms addresses hidden (not root?)\n", "kernel");
		return;
	}
	for (size_t i = 0; i < NADDR; i++)
		addrs[i] = lo + xorshift() % (hi - lo);
	struct symbolizer *s = sym_new(NULL);
	if (!s)
		return;
	double t0 = now_s();
	sym_kernel(s, addrs[0], out, sizeof(out));
	double cold = now_s() - t0;
	size_t named = 0;
	t0 = now_s();
	for (size_t i = 0; i < NADDR; i++)
		named += sym_kernel(s, addrs[i], out, sizeof(out)) == 0;
	double warm = now_s() - t0;
	struct sym_stats st;
	sym_get_stats(s, &st);
	printf("%-22s text %6.1f MB  cold first lookup %7.1f ms (table %6.1f MB)  "
	       "warm %8.0f lookups/s  named %4.1f%%\n", "kernel", (double)(hi - lo) / 1e6,
	       cold * 1e3, (double)st.bytes_kernel / 1e6, NADDR / warm,
	       100.0 * (double)named / NADDR);
	sym_free(s);
}

int main(int argc, char **argv)
{
	bench_kernel();
	const char *outdir = getenv("BENCH_OUT");
	bench_one("libc.so.6", outdir);
	for (int i = 1; i < argc; i++)
		bench_one(argv[i], outdir);
	return 0;
}
