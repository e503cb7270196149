/* symbolizer.c — see symbolizer.h. Glue: the kernel table, the process table (pid + start time,
 * LRU-bounded), file resolution through /proc/PID/root or map_files into the shared ELF cache,
 * perf maps, demangling and sanitizing. */
#include "symbolizer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collapsed.h"
#include "log.h"
#include "sym_cache.h"
#include "sym_demangle.h"
#include "sym_elf.h"
#include "sym_kallsyms.h"
#include "sym_maps.h"
#include "sym_perfmap.h"
#include "timeutil.h"

#define DEFAULT_MAX_FILES  256
#define DEFAULT_MAX_BYTES  (64u * 1024u * 1024u)
#define DEFAULT_MAX_PROCS  4096
#define DEFAULT_PROC_BYTES (32u * 1024u * 1024u)
#define KSYMS_RELOAD_MS    60000 /* a kernel miss reloads kallsyms (new modules) this rarely */
#define DEBUG_DIR          "/usr/lib/debug/.build-id"
#define ROOT_MAX           256  /* longest proc_root */
#define PBUF               (ROOT_MAX + PATH_MAX + 64) /* any path we build */

enum pm_state { PM_UNKNOWN, PM_LOADED, PM_MISSING };

struct proc {
	pid_t pid;
	uint64_t start_time;
	bool dead;               /* gone when first seen: answers "[unknown]" until dropped */
	struct sym_maps maps;
	uint64_t maps_gen;       /* snapshot generation of the last maps read */
	struct sym_perfmap *pm;
	uint8_t pm_state;
	uint64_t pm_gen;         /* snapshot generation of the last perf map check */
	pid_t nspid;
	size_t bytes;            /* maps + perf map footprint, counted in symbolizer.proc_bytes */
	struct proc *hnext;
	struct proc *prev, *next; /* LRU, head most recent */
};

struct symbolizer {
	char proc_root[ROOT_MAX];
	char debug_dir[ROOT_MAX];
	size_t max_procs;
	size_t max_proc_bytes, proc_bytes;
	struct sym_ksyms *ks;
	bool ks_failed_logged;
	int64_t ks_loaded_ms;
	struct sym_cache *cache;
	struct proc **ptab;
	size_t nbuckets, nprocs;
	struct proc *head, *tail;
	struct sym_elf *vdso;     /* our own [vdso] image: the kernel maps the same one everywhere */
	uint64_t vdso_size;
	bool vdso_tried;
	uint64_t gen;
	uint64_t lookups, misses;
	char tmp[1024];
};

/* ---- process table ---------------------------------------------------------------------- */

static size_t pid_bucket(const struct symbolizer *s, pid_t pid)
{
	return ((size_t)(uint32_t)pid * 2654435761u) & (s->nbuckets - 1);
}

static void plru_unlink(struct symbolizer *s, struct proc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		s->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		s->tail = p->prev;
	p->prev = p->next = NULL;
}

static void plru_front(struct symbolizer *s, struct proc *p)
{
	p->next = s->head;
	p->prev = NULL;
	if (s->head)
		s->head->prev = p;
	s->head = p;
	if (!s->tail)
		s->tail = p;
}

static void proc_drop(struct symbolizer *s, struct proc *p)
{
	struct proc **pp = &s->ptab[pid_bucket(s, p->pid)];
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	plru_unlink(s, p);
	sym_maps_release(&p->maps);
	sym_perfmap_free(p->pm);
	s->proc_bytes -= p->bytes;
	free(p);
	s->nprocs--;
}

static size_t maps_bytes(const struct sym_maps *m)
{
	return m->n * sizeof(*m->v) + m->paths_len;
}

/* Recount p's footprint after its maps or perf map changed, then drop least recently used other
 * processes until the total fits. If p alone passes the bound, its perf map goes (then, if need
 * be, its maps: it is named "[unknown]" until the next snapshot). */
static void proc_account(struct symbolizer *s, struct proc *p)
{
	s->proc_bytes -= p->bytes;
	p->bytes = sizeof(*p) + maps_bytes(&p->maps) + sym_perfmap_bytes(p->pm);
	s->proc_bytes += p->bytes;
	while (s->proc_bytes > s->max_proc_bytes && s->tail && s->tail != p)
		proc_drop(s, s->tail);
	if (s->proc_bytes <= s->max_proc_bytes)
		return;
	log_debug("sym: pid %d: its maps and perf map pass the per-process memory bound",
		  (int)p->pid);
	if (p->pm) {
		sym_perfmap_free(p->pm);
		p->pm = NULL;
		p->pm_state = PM_MISSING;
	}
	if (sizeof(*p) + maps_bytes(&p->maps) > s->max_proc_bytes) {
		sym_maps_release(&p->maps);
		p->dead = true;
	}
	s->proc_bytes -= p->bytes;
	p->bytes = sizeof(*p) + maps_bytes(&p->maps);
	s->proc_bytes += p->bytes;
}

static struct proc *proc_find(struct symbolizer *s, pid_t pid)
{
	for (struct proc *p = s->ptab[pid_bucket(s, pid)]; p; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

/* The state for pid, created (maps read) on first use. NULL only on ENOMEM. */
static struct proc *proc_get(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (p) {
		if (s->head != p) {
			plru_unlink(s, p);
			plru_front(s, p);
		}
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = p->nspid = pid;
	int rc = sym_proc_start_time(s->proc_root, pid, &p->start_time);
	if (rc == 0) {
		char path[PBUF];
		snprintf(path, sizeof(path), "%s/%d/maps", s->proc_root, (int)pid);
		rc = sym_maps_read(path, &p->maps);
		p->maps_gen = s->gen;
	}
	if (rc) {
		log_debug("sym: pid %d: %s; its frames stay unnamed", (int)pid, strerror(-rc));
		p->dead = true;
	}
	while (s->nprocs >= s->max_procs && s->tail)
		proc_drop(s, s->tail);
	size_t b = pid_bucket(s, pid);
	p->hnext = s->ptab[b];
	s->ptab[b] = p;
	plru_front(s, p);
	s->nprocs++;
	proc_account(s, p);
	return p;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

struct symbolizer *sym_new(const struct sym_options *opt)
{
	struct sym_options o = { 0 };
	struct symbolizer *s = NULL;
	if (opt)
		o = *opt;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	const char *root = o.proc_root ? o.proc_root : "/proc";
	if (strlen(root) >= sizeof(s->proc_root)) {
		free(s);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(s->proc_root, root, strlen(root) + 1);
	const char *dbg = o.debug_dir ? o.debug_dir : DEBUG_DIR;
	if (strlen(dbg) >= sizeof(s->debug_dir)) {
		free(s);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(s->debug_dir, dbg, strlen(dbg) + 1);
	s->max_procs = o.max_processes ? o.max_processes : DEFAULT_MAX_PROCS;
	s->max_proc_bytes = o.max_proc_bytes ? o.max_proc_bytes : DEFAULT_PROC_BYTES;
	s->cache = sym_cache_new(o.max_files ? o.max_files : DEFAULT_MAX_FILES,
				 o.max_bytes ? o.max_bytes : DEFAULT_MAX_BYTES);
	if (!s->cache)
		goto fail;
	s->nbuckets = 64;
	while (s->nbuckets < s->max_procs && s->nbuckets < (1u << 16))
		s->nbuckets *= 2;
	s->ptab = calloc(s->nbuckets, sizeof(*s->ptab));
	if (!s->ptab)
		goto fail;
	s->gen = 1;
	return s;
fail:
	sym_free(s);
	errno = ENOMEM;
	return NULL;
}

void sym_free(struct symbolizer *s)
{
	if (!s)
		return;
	while (s->ptab && s->head)
		proc_drop(s, s->head);
	free(s->ptab);
	sym_cache_free(s->cache);
	sym_ksyms_free(s->ks);
	sym_elf_free(s->vdso);
	free(s);
}

void sym_snapshot_begin(struct symbolizer *s)
{
	s->gen++;
	struct proc *p = s->head, *next;
	for (; p; p = next) {
		uint64_t st;
		next = p->next;
		if (p->dead || sym_proc_start_time(s->proc_root, p->pid, &st) != 0 ||
		    st != p->start_time)
			proc_drop(s, p);
	}
}

void sym_forget(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (p)
		proc_drop(s, p);
}

void sym_get_stats(const struct symbolizer *s, struct sym_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->files_cached = sym_cache_files(s->cache);
	out->bytes_cached = sym_cache_bytes(s->cache);
	out->evictions = sym_cache_evictions(s->cache);
	out->processes = s->nprocs;
	out->bytes_processes = s->proc_bytes;
	out->bytes_kernel = sym_ksyms_bytes(s->ks);
	out->lookups = s->lookups;
	out->misses = s->misses;
}

/* ---- naming ---------------------------------------------------------------------------- */

/* out = demangled, sanitized name + suffix. */
static void put_name(struct symbolizer *s, const char *raw, const char *suffix, char *out,
		     size_t n)
{
	sym_demangle(raw, s->tmp, sizeof(s->tmp));
	col_frame_sanitize(s->tmp);
	snprintf(out, n, "%s%s", s->tmp, suffix);
}

static void put_module(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!*base) {
		snprintf(out, n, "[unknown]");
		return;
	}
	/* the module text is sanitized like a frame name */
	snprintf(out, n, "(%s)", base);
	col_frame_sanitize(out);
}

static void ksyms_load(struct symbolizer *s, int64_t now)
{
	char path[PBUF];
	snprintf(path, sizeof(path), "%s/kallsyms", s->proc_root);
	sym_ksyms_free(s->ks);
	s->ks = sym_ksyms_load(path);
	s->ks_loaded_ms = now ? now : 1;
	if (s->ks_failed_logged)
		return;
	if (!s->ks) {
		log_warn("sym: cannot read %s (%s): kernel frames are [unknown]_[k]", path,
			 strerror(errno));
		s->ks_failed_logged = true;
	} else if (sym_ksyms_zeroed(s->ks)) {
		log_warn("sym: %s shows no addresses (not root, or kptr_restrict): kernel frames "
			 "are [unknown]_[k]", path);
		s->ks_failed_logged = true;
	}
}

int sym_kernel(struct symbolizer *s, uint64_t addr, char *out, size_t n)
{
	int64_t now = time_mono_ms();
	s->lookups++;
	if (s->ks_loaded_ms == 0)
		ksyms_load(s, now);
	const char *name = sym_ksyms_lookup(s->ks, addr);
	if (!name && now - s->ks_loaded_ms >= KSYMS_RELOAD_MS) {
		/* Perhaps a module was loaded since (or kallsyms became readable): reload, rarely. */
		ksyms_load(s, now);
		name = sym_ksyms_lookup(s->ks, addr);
	}
	if (!name) {
		s->misses++;
		snprintf(out, n, "[unknown]_[k]");
		return -ENOENT;
	}
	snprintf(s->tmp, sizeof(s->tmp), "%s", name);
	col_frame_sanitize(s->tmp);
	snprintf(out, n, "%s_[k]", s->tmp);
	return 0;
}

static int stat_id(int fd, struct sym_file_id *id)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = (uint64_t)st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

/* Open the file behind a mapping: through the process's root (so container paths resolve),
 * else (deleted, replaced, or unreachable) through map_files. -errno on failure. */
static int open_mapped(struct symbolizer *s, const struct proc *p, const struct sym_map *m,
		       struct sym_file_id *id)
{
	char path[PBUF];
	int fd = -1;
	if (!m->deleted) {
		snprintf(path, sizeof(path), "%s/%d/root%s", s->proc_root, (int)p->pid,
			 sym_map_path(&p->maps, m));
		fd = sym_open_regular(path, 0);
		/* The path now names another file (replaced on disk): not the mapped one. */
		if (fd >= 0 && (stat_id(fd, id) != 0 || id->ino != m->ino)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/%d/map_files/%" PRIx64 "-%" PRIx64, s->proc_root,
			 (int)p->pid, m->start, m->end);
		fd = sym_open_regular(path, 0);
		if (fd < 0)
			return fd;
		int rc = stat_id(fd, id);
		if (rc) {
			close(fd);
			return rc;
		}
	}
	return fd;
}

/* Replace a .dynsym-only table by the symbols of /usr/lib/debug/.build-id/xx/yyyy.debug. */
static void try_debuginfo(const struct symbolizer *s, struct sym_elf *e)
{
	char path[PBUF];
	int fd;
	if (e->has_symtab || e->build_id_len < 2)
		return;
	int k = snprintf(path, sizeof(path), "%s/%02x/", s->debug_dir, e->build_id[0]);
	for (size_t i = 1; i < e->build_id_len && k > 0 && (size_t)k + 3 < sizeof(path); i++)
		k += snprintf(path + k, sizeof(path) - (size_t)k, "%02x", e->build_id[i]);
	snprintf(path + k, sizeof(path) - (size_t)k, ".debug");
	fd = sym_open_regular(path, 0);
	if (fd < 0)
		return;
	struct sym_elf *d = NULL;
	if (sym_elf_load(fd, &d) == 0 && d->has_symtab) {
		log_debug("sym: symbols from %s", path);
		sym_elf_take_syms(e, d);
	} else {
		sym_elf_free(d);
	}
	close(fd);
}

/* The symbol table of a file mapping, from the cache or parsed into it. NULL when the file cannot
 * be read or parsed (the mapping is then marked failed and named by its module). *owned is set
 * when the table could not be cached and the caller must free it after use. */
static struct sym_elf *map_elf(struct symbolizer *s, struct proc *p, struct sym_map *m,
			       struct sym_elf **owned)
{
	struct sym_elf *e = NULL;
	struct sym_file_id id;
	uint8_t bid[SYM_BUILD_ID_MAX];
	size_t bid_len = 0;
	int fd = -1, rc;

	*owned = NULL;
	if (m->state == SYM_MAP_FAILED)
		return NULL;
	if (m->state == SYM_MAP_RESOLVED) {
		e = sym_cache_get(s->cache, &m->id);
		if (e)
			return e;
		/* evicted since: parse again */
	}
	fd = open_mapped(s, p, m, &id);
	if (fd < 0) {
		log_debug("sym: pid %d: cannot open %s: %s", (int)p->pid, sym_map_path(&p->maps, m),
			  strerror(-fd));
		goto fail;
	}
	e = sym_cache_get(s->cache, &id);
	if (e)
		goto found;
	if (sym_elf_read_build_id(fd, bid, sizeof(bid), &bid_len) == 0 && bid_len) {
		e = sym_cache_get_build_id(s->cache, bid, bid_len, &id);
		if (e)
			goto found;
	}
	rc = sym_elf_load(fd, &e);
	if (rc) {
		log_debug("sym: pid %d: %s: not a usable ELF file (%s)", (int)p->pid,
			  sym_map_path(&p->maps, m), strerror(-rc));
		goto fail;
	}
	try_debuginfo(s, e);
	rc = sym_cache_put(s->cache, &id, e);
	if (rc) {
		log_debug("sym: %s: symbol table not cached (%s)", sym_map_path(&p->maps, m),
			  strerror(-rc));
		*owned = e;
	}
found:
	close(fd);
	m->id = id;
	m->state = SYM_MAP_RESOLVED;
	return e;
fail:
	if (fd >= 0)
		close(fd);
	m->state = SYM_MAP_FAILED;
	return NULL;
}

/* JIT frames: the process's perf map, loaded on first use and re-read when the file changed. */
static const char *perfmap_name(struct symbolizer *s, struct proc *p, uint64_t addr)
{
	char path[PBUF];
	const char *name = p->pm ? sym_perfmap_lookup(p->pm, addr) : NULL;
	if (name)
		return name;
	/* A miss: the map may have grown since it was read, or appeared since we looked. A missing
	 * map is looked for once per snapshot; an existing one is stat'ed on each miss. */
	if (p->pm_state == PM_MISSING && p->pm_gen == s->gen)
		return NULL;
	if (p->pm_state == PM_UNKNOWN && sym_proc_nspid(s->proc_root, p->pid, &p->nspid) != 0)
		p->nspid = p->pid;
	snprintf(path, sizeof(path), "%s/%d/root/tmp/perf-%d.map", s->proc_root, (int)p->pid,
		 (int)p->nspid);
	if (p->pm && sym_perfmap_changed(p->pm, path) == 0)
		return NULL;
	p->pm_gen = s->gen;
	struct sym_perfmap *pm = sym_perfmap_load(path);
	if (!pm) {
		if (p->pm_state == PM_UNKNOWN)
			log_debug("sym: pid %d: no perf map %s (%s)", (int)p->pid, path,
				  strerror(errno));
		if (!p->pm)
			p->pm_state = PM_MISSING;
		return NULL;
	}
	sym_perfmap_free(p->pm);
	p->pm = pm;
	p->pm_state = PM_LOADED;
	proc_account(s, p);
	return p->pm ? sym_perfmap_lookup(p->pm, addr) : NULL;
}

/* Parse this process's vDSO (copied to a memfd so the file-based ELF reader can take it). */
static void vdso_load(struct symbolizer *s)
{
	FILE *f = NULL;
	char line[512];
	int fd = -1;
	uint64_t lo = 0, hi = 0;

	s->vdso_tried = true;
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return;
	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") &&
		    sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 && lo == base)
			break;
	if (f)
		fclose(f);
	if (lo != base || hi <= lo || hi - lo > (1u << 20))
		return;
	fd = memfd_create("fp-vdso", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, (const void *)base, hi - lo) == (ssize_t)(hi - lo) &&
	    sym_elf_load(fd, &s->vdso) == 0)
		s->vdso_size = hi - lo;
	else
		log_debug("sym: cannot read the vDSO; its frames are [vdso]");
	close(fd);
}

/* A [vdso] frame: named from our own copy when the mapping has the same size. */
static const char *vdso_name(struct symbolizer *s, const struct sym_map *m, uint64_t addr)
{
	uint64_t vaddr;
	if (!s->vdso_tried)
		vdso_load(s);
	if (!s->vdso || m->end - m->start != s->vdso_size ||
	    sym_elf_file_to_vaddr(s->vdso, addr - m->start, &vaddr) != 0)
		return NULL;
	return sym_elf_lookup(s->vdso, vaddr);
}

int sym_user(struct symbolizer *s, pid_t pid, uint64_t addr, char *out, size_t n)
{
	struct proc *p;
	struct sym_map *m;
	int rc = -ENOENT;

	s->lookups++;
	p = proc_get(s, pid);
	if (!p || p->dead)
		goto unknown;
	m = sym_maps_find(&p->maps, addr);
	if (!m && p->maps_gen != s->gen) {
		/* New mappings since we read them (dlopen, JIT): re-read once per snapshot. */
		char path[PBUF];
		struct sym_maps fresh;
		snprintf(path, sizeof(path), "%s/%d/maps", s->proc_root, (int)pid);
		p->maps_gen = s->gen;
		if (sym_maps_read(path, &fresh) == 0) {
			sym_maps_release(&p->maps);
			p->maps = fresh;
			proc_account(s, p);
			m = p->dead ? NULL : sym_maps_find(&p->maps, addr);
		}
	}
	if (!m)
		goto unknown;
	if (m->kind == SYM_MAP_ANON) {
		const char *name = perfmap_name(s, p, addr);
		if (!name)
			goto unknown;
		put_name(s, name, "_[j]", out, n);
		return 0;
	}
	if (m->kind == SYM_MAP_SPECIAL) {
		const char *name = strcmp(sym_map_path(&p->maps, m), "[vdso]") == 0 ?
			vdso_name(s, m, addr) : NULL;
		if (name) {
			put_name(s, name, "", out, n);
			return 0;
		}
		snprintf(out, n, "%s", sym_map_path(&p->maps, m));
		col_frame_sanitize(out);
		s->misses++;
		return -ENOENT;
	}
	struct sym_elf *owned = NULL;
	struct sym_elf *e = map_elf(s, p, m, &owned);
	uint64_t vaddr;
	const char *name = NULL;
	if (e && sym_elf_file_to_vaddr(e, addr - m->start + m->off, &vaddr) == 0)
		name = sym_elf_lookup(e, vaddr);
	if (name) {
		put_name(s, name, "", out, n);
		rc = 0;
	} else {
		put_module(sym_map_path(&p->maps, m), out, n);
		s->misses++;
	}
	sym_elf_free(owned);
	return rc;
unknown:
	s->misses++;
	snprintf(out, n, "[unknown]");
	return -ENOENT;
}
