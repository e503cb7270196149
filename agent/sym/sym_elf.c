/* sym_elf.c — see sym_elf.h. */
#include "sym_elf.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

struct tmp_sym {
	uint64_t addr, size, sec_end;
	uint32_t name_off;
	uint8_t rank; /* lower is better among aliases at one address */
};

struct loader {
	struct tmp_sym *v;
	size_t n, cap;
	char *strs;
	size_t strs_len, strs_cap;
};

static Elf *elf_open(int fd)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	/* ELF_C_READ (pread of the sections we touch), not an mmap: a file truncated while we read
	 * it must give an error, not SIGBUS in the agent. */
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		return NULL;
	}
	return e;
}

static bool note_build_id(Elf_Data *d, uint8_t *id, size_t cap, size_t *len)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 && nh.n_descsz > 0) {
			size_t l = nh.n_descsz < cap ? nh.n_descsz : cap;
			memcpy(id, (char *)d->d_buf + desc_off, l);
			*len = l;
			return true;
		}
	}
	return false;
}

static void find_build_id(Elf *e, uint8_t *id, size_t cap, size_t *len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	*len = 0;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		if (note_build_id(elf_getdata(scn, NULL), id, cap, len))
			return;
	}
	/* No section headers (or stripped notes): try the PT_NOTE segments. */
	size_t phnum = 0;
	if (elf_getphdrnum(e, &phnum) != 0)
		return;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (note_build_id(d, id, cap, len))
			return;
	}
}

int sym_elf_read_build_id(int fd, uint8_t *id, size_t cap, size_t *len)
{
	Elf *e = elf_open(fd);
	*len = 0;
	if (!e)
		return -EINVAL;
	find_build_id(e, id, cap, len);
	elf_end(e);
	return 0;
}

static int push_sym(struct loader *ld, const char *name, uint64_t addr, uint64_t size,
		    uint64_t sec_end, uint8_t rank)
{
	size_t nl = strlen(name);
	int rc = ARRAY_GROW(ld->v, ld->cap, ld->n + 1, SYM_ELF_MAX_SYMS);
	if (!rc)
		rc = ARRAY_GROW(ld->strs, ld->strs_cap, ld->strs_len + nl + 1, UINT32_MAX);
	if (rc)
		return rc == -ENOSPC ? -E2BIG : rc;
	memcpy(ld->strs + ld->strs_len, name, nl + 1);
	ld->v[ld->n++] = (struct tmp_sym){ addr, size, sec_end, (uint32_t)ld->strs_len, rank };
	ld->strs_len += nl + 1;
	return 0;
}

/* Collect functions of one symbol table section. */
static int read_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct loader *ld)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || sh->sh_entsize == 0)
		return 0;
	size_t count = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym st;
		if (!gelf_getsym(d, (int)i, &st))
			break;
		int type = GELF_ST_TYPE(st.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || st.st_shndx == SHN_UNDEF ||
		    st.st_value == 0)
			continue;
		const char *name = elf_strptr(e, sh->sh_link, st.st_name);
		if (!name || !*name)
			continue;
		uint64_t sec_end = 0;
		if (st.st_shndx < SHN_LORESERVE) {
			GElf_Shdr ssh;
			Elf_Scn *s = elf_getscn(e, st.st_shndx);
			if (s && gelf_getshdr(s, &ssh))
				sec_end = ssh.sh_addr + ssh.sh_size;
		}
		int bind = GELF_ST_BIND(st.st_info);
		uint8_t rank = (uint8_t)((st.st_size ? 0 : 4) +
					 (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2));
		int rc = push_sym(ld, name, st.st_value, st.st_size, sec_end, rank);
		if (rc)
			return rc;
	}
	return 0;
}

static int tmp_cmp(const void *a, const void *b)
{
	const struct tmp_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->name_off < y->name_off ? -1 : (x->name_off > y->name_off);
}

/* Sort, keep one symbol per address, give size-0 symbols their extent, compact. */
static int finish(struct loader *ld, struct sym_elf *out)
{
	if (ld->n == 0)
		return 0;
	qsort(ld->v, ld->n, sizeof(*ld->v), tmp_cmp);
	struct sym_elf_sym *syms = malloc(ld->n * sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < ld->n; i++) {
		if (i > 0 && ld->v[i - 1].addr == ld->v[i].addr)
			continue;
		uint64_t size = ld->v[i].size;
		if (size == 0) {
			size_t j = i + 1;
			while (j < ld->n && ld->v[j].addr == ld->v[i].addr)
				j++;
			uint64_t end = j < ld->n ? ld->v[j].addr : UINT64_MAX;
			if (ld->v[i].sec_end > ld->v[i].addr && ld->v[i].sec_end < end)
				end = ld->v[i].sec_end;
			size = end == UINT64_MAX ? 1 : end - ld->v[i].addr;
		}
		if (size > UINT32_MAX)
			size = UINT32_MAX;
		syms[n++] = (struct sym_elf_sym){ ld->v[i].addr, (uint32_t)size, ld->v[i].name_off };
	}
	struct sym_elf_sym *t = realloc(syms, n * sizeof(*syms));
	out->syms = t ? t : syms;
	out->nsyms = n;
	/* The blob keeps names of dropped aliases too; shrinking it is not worth a copy. */
	char *s = realloc(ld->strs, ld->strs_len);
	out->strs = s ? s : ld->strs;
	out->strs_len = ld->strs_len;
	ld->strs = NULL;
	return 0;
}

int sym_elf_load(int fd, struct sym_elf **out)
{
	struct loader ld = { 0 };
	struct sym_elf *r = NULL;
	Elf *e = NULL;
	int rc = -EINVAL;
	GElf_Ehdr eh;
	size_t phnum = 0;

	*out = NULL;
	e = elf_open(fd);
	if (!e || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &phnum) != 0)
		goto out;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = -ENOMEM;
		goto out;
	}
	r->type = eh.e_type;
	for (size_t i = 0; i < phnum && r->nsegs < SYM_ELF_MAX_SEGS; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		r->segs[r->nsegs++] = (struct sym_elf_seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz,
							    ph.p_memsz, ph.p_flags };
	}
	find_build_id(e, r->build_id, sizeof(r->build_id), &r->build_id_len);

	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr sh, symsh, dynsh;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB && !symtab) {
			symtab = scn;
			symsh = sh;
		} else if (sh.sh_type == SHT_DYNSYM && !dynsym) {
			dynsym = scn;
			dynsh = sh;
		}
	}
	if (symtab) {
		rc = read_symtab(e, symtab, &symsh, &ld);
		if (rc)
			goto out;
		r->has_symtab = ld.n > 0;
	}
	if (ld.n == 0 && dynsym) {
		rc = read_symtab(e, dynsym, &dynsh, &ld);
		if (rc)
			goto out;
	}
	rc = finish(&ld, r);
	if (rc)
		goto out;
	if (r->nsegs == 0 && r->nsyms == 0) {
		rc = -EINVAL;
		goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	free(ld.v);
	free(ld.strs);
	sym_elf_free(r);
	if (e)
		elf_end(e);
	return rc;
}

void sym_elf_free(struct sym_elf *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->strs);
	free(e);
}

void sym_elf_take_syms(struct sym_elf *dst, struct sym_elf *src)
{
	free(dst->syms);
	free(dst->strs);
	dst->syms = src->syms;
	dst->nsyms = src->nsyms;
	dst->strs = src->strs;
	dst->strs_len = src->strs_len;
	dst->has_symtab = src->has_symtab;
	src->syms = NULL;
	src->strs = NULL;
	sym_elf_free(src);
}

size_t sym_elf_bytes(const struct sym_elf *e)
{
	return e ? sizeof(*e) + e->nsyms * sizeof(*e->syms) + e->strs_len : 0;
}

int sym_elf_file_to_vaddr(const struct sym_elf *e, uint64_t off, uint64_t *vaddr)
{
	/* Exact file extent first (executable segments preferred), then the page-rounded start
	 * a mapping of the segment begins at. */
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < e->nsegs; i++) {
			const struct sym_elf_seg *s = &e->segs[i];
			uint64_t lo = s->off, hi = s->off + s->filesz;
			if (pass == 0 && !(s->flags & PF_X))
				continue;
			if (pass == 2)
				lo &= ~(uint64_t)0xfff;
			if (off >= lo && off < hi) {
				*vaddr = off - s->off + s->vaddr;
				return 0;
			}
		}
	}
	return -ENOENT;
}

const char *sym_elf_lookup(const struct sym_elf *e, uint64_t vaddr)
{
	if (!e || e->nsyms == 0)
		return NULL;
	size_t lo = 0, hi = e->nsyms; /* first index with addr > vaddr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest start usually contains it; a few steps back catch nested symbols. */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) {
		const struct sym_elf_sym *s = &e->syms[i - 1];
		if (vaddr - s->addr < s->size)
			return e->strs + s->name_off;
	}
	return NULL;
}

int sym_open_regular(const char *path, int nofollow)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}
