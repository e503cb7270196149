/* sym_elf.h — one ELF object's function symbols and load segments, read with libelf.
 *
 * Symbols come from .symtab, else .dynsym (stripped binaries): STT_FUNC and STT_GNU_IFUNC,
 * defined, stored compactly as one strings blob plus an array sorted by address. A symbol of
 * size 0 extends to the next symbol or the end of its section, whichever is first. Names are kept
 * as in the file (mangled); the caller demangles.
 */
#ifndef FP_SYM_ELF_H
#define FP_SYM_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYM_BUILD_ID_MAX  32
#define SYM_ELF_MAX_SEGS  16
#define SYM_ELF_MAX_SYMS  (8u * 1024u * 1024u)

struct sym_elf_seg {
	uint64_t off, vaddr, filesz, memsz; /* PT_LOAD p_offset, p_vaddr, p_filesz, p_memsz */
	uint32_t flags;                     /* PF_X | PF_W | PF_R */
};

struct sym_elf_sym {
	uint64_t addr;     /* st_value (link-time virtual address) */
	uint32_t size;
	uint32_t name_off; /* into strs */
};

struct sym_elf {
	uint8_t build_id[SYM_BUILD_ID_MAX];
	size_t build_id_len;       /* 0: none */
	bool has_symtab;           /* symbols came from .symtab (else .dynsym or none) */
	uint16_t type;             /* ET_EXEC, ET_DYN, ... */
	size_t nsegs;
	struct sym_elf_seg segs[SYM_ELF_MAX_SEGS];
	size_t nsyms;
	struct sym_elf_sym *syms;  /* sorted by addr, one per address */
	char *strs;
	size_t strs_len;
};

/* Read only the GNU build-id note of the ELF file open on fd (fd is not closed; its offset is not
 * used). 0 with *len set (0 when there is none), -EINVAL when not ELF, -errno. */
int sym_elf_read_build_id(int fd, uint8_t *id, size_t cap, size_t *len);

/* Parse the ELF file open on fd. On 0, *out is a new object the caller frees with sym_elf_free.
 * -EINVAL (not ELF / no PT_LOAD), -E2BIG (too many symbols), -ENOMEM. fd stays open. */
int sym_elf_load(int fd, struct sym_elf **out) __attribute__((warn_unused_result));

/* Open path read-only for the symbolizer, which reads files that processes (any user's) can
 * place: never blocks (O_NONBLOCK, so a FIFO cannot hang the agent), never follows a final
 * symlink when nofollow, and accepts only a regular file. fd (caller closes) or -errno
 * (-EINVAL for a FIFO, device or directory). */
int sym_open_regular(const char *path, int nofollow);
void sym_elf_free(struct sym_elf *e); /* NULL is a no-op */

/* Move the symbols of src (e.g. a separate debuginfo file) into dst, replacing dst's; src is
 * freed. Segments and build-id of dst are kept. */
void sym_elf_take_syms(struct sym_elf *dst, struct sym_elf *src);

/* Heap footprint, for the cache's byte bound. */
size_t sym_elf_bytes(const struct sym_elf *e);

/* File offset -> link-time virtual address through the PT_LOAD segment containing it:
 * vaddr = off - p_offset + p_vaddr. 0 or -ENOENT. Load bias of a mapping follows: a runtime
 * address a in a mapping [start, ...) of file offset moff has file offset a - start + moff. */
int sym_elf_file_to_vaddr(const struct sym_elf *e, uint64_t off, uint64_t *vaddr);

/* Name (as stored, mangled) of the function containing vaddr, or NULL. Belongs to e. */
const char *sym_elf_lookup(const struct sym_elf *e, uint64_t vaddr);

#endif
