/* py_detect.c — see py_detect.h. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py_detect.h"
#include "process.h"
#include "sym/sym_elf.h"
#include "log.h"

int py_minor_from_name(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *p;
	char *end;
	long minor;
	base = base ? base + 1 : path;
	if (!strncmp(base, "libpython3.", 11))
		p = base + 11;
	else if (!strncmp(base, "python3.", 8))
		p = base + 8;
	else
		return -1;
	minor = strtol(p, &end, 10);
	if (end == p || minor < 0 || minor > 99)
		return -1;
	return (int)minor;
}

static bool is_python_exe_name(const char *base)
{
	return !strcmp(base, "python") || !strcmp(base, "python3") ||
	       py_minor_from_name(base) >= 0;
}

struct elf_facts {
	uint64_t runtime_vaddr, version_vaddr;   /* 0 = not found */
	uint64_t first_load_vaddr;               /* p_vaddr - p_offset of the PT_LOAD at offset 0 */
	bool have_load;
};

static void scan_symtab(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct elf_facts *f)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;
	if (!data || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		if (!f->runtime_vaddr && !strcmp(name, "_PyRuntime"))
			f->runtime_vaddr = sym.st_value;
		else if (!f->version_vaddr && !strcmp(name, "Py_Version"))
			f->version_vaddr = sym.st_value;
	}
}

/* Symbols and the .PyRuntime section of the ELF file at path. */
static int elf_facts_read(const char *path, struct elf_facts *f)
{
	/* a path inside the process's root: never block on a FIFO, read only a regular file */
	int fd = sym_open_regular(path, 0), rc = -EINVAL;
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx, nph;
	uint64_t section_vaddr = 0;

	memset(f, 0, sizeof(*f));
	if (fd < 0)
		return fd;
	elf_version(EV_CURRENT);
	/* read, not mmap: a file truncated while we look at it must not SIGBUS the agent */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) ||
	    elf_getphdrnum(elf, &nph))
		goto out;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && !f->have_load) {
			f->first_load_vaddr = ph.p_vaddr - ph.p_offset;
			f->have_load = true;
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			scan_symtab(elf, scn, &sh, f);
		else if (name && !strcmp(name, ".PyRuntime"))
			section_vaddr = sh.sh_addr;
	}
	if (!f->runtime_vaddr)
		f->runtime_vaddr = section_vaddr;
	rc = f->runtime_vaddr && f->have_load ? 0 : -ENOENT;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}

struct found {
	char path[PY_PATH_MAX];
	uint64_t start, off;         /* lowest mapping of it */
	bool is_lib;
};

/* The libpython (preferred) or python executable mapped in pid; the exe path too. */
static int find_mapping(const char *proc_root, pid_t pid, struct found *fo, char *exe,
			size_t exelen)
{
	char path[96], line[PY_PATH_MAX + 128];
	FILE *f;
	ssize_t n;
	bool have = false;

	snprintf(path, sizeof(path), "%s/%d/exe", proc_root, (int)pid);
	n = readlink(path, exe, exelen - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/maps", proc_root, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		int pos = 0;
		char *p, *base;
		bool lib;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s%n", &start, &end, &off, &pos) < 3)
			continue;
		p = line + pos;
		while (*p == ' ')
			p++;
		p[strcspn(p, "\n")] = '\0';
		if (*p != '/')
			continue;
		base = strrchr(p, '/') + 1;
		lib = !strncmp(base, "libpython3.", 11);
		if (!lib && !(strcmp(p, exe) == 0 && is_python_exe_name(base)))
			continue;
		if (have && (fo->is_lib && !lib))
			continue;
		if (have && fo->is_lib == lib && strcmp(fo->path, p) == 0) {
			if (start < fo->start) {
				fo->start = start;
				fo->off = off;
			}
			continue;
		}
		if (have && fo->is_lib == lib)
			continue; /* two different ones: keep the first */
		snprintf(fo->path, sizeof(fo->path), "%s", p);
		fo->start = start;
		fo->off = off;
		fo->is_lib = lib;
		have = true;
	}
	fclose(f);
	return have ? 0 : -ENOENT;
}

int py_detect(const char *proc_root, pid_t pid, struct py_target *t)
{
	struct found fo;
	struct elf_facts ef;
	char exe[PY_PATH_MAX], file[PY_PATH_MAX + 64];
	const char *exe_base;
	uint64_t bias;
	int rc, minor;

	memset(t, 0, sizeof(*t));
	rc = find_mapping(proc_root, pid, &fo, exe, sizeof(exe));
	if (rc)
		return rc;
	snprintf(file, sizeof(file), "%s/%d/root%s", proc_root, (int)pid, fo.path);
	rc = elf_facts_read(file, &ef);
	if (rc)
		return rc == -EINVAL ? -ENOENT : rc;
	/* the mapping at file offset fo.off starts at fo.start */
	bias = fo.start - fo.off - ef.first_load_vaddr;
	t->pid = pid;
	t->runtime = ef.runtime_vaddr + bias;
	snprintf(t->elf, sizeof(t->elf), "%s", fo.path);
	exe_base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	t->embedded = fo.is_lib && !is_python_exe_name(exe_base);
	minor = -1;
	if (ef.version_vaddr) {
		uint32_t hex;
		if (process_read_mem(pid, ef.version_vaddr + bias, &hex, sizeof(hex)) == 0 &&
		    (hex >> 24) == 3)
			minor = (int)((hex >> 16) & 0xff);
	}
	if (minor < 0)
		minor = py_minor_from_name(fo.path);
	if (minor < 0)
		minor = py_minor_from_name(exe);
	if (minor < 8 || minor > 13)
		return -ENOTSUP;
	t->minor = (unsigned)minor;
	if (minor >= 13) {
		uint8_t dbg[PY_DEBUG_OFFSETS_BYTES];
		rc = process_read_mem(pid, t->runtime, dbg, sizeof(dbg));
		if (rc)
			return rc;
		if (py_offsets_from_debug(dbg, sizeof(dbg), &t->off))
			return -ENOTSUP;
	} else {
		t->off = *py_offsets_for((unsigned)minor);
	}
	return 0;
}
