/* sym_kallsyms.h — kernel symbols from /proc/kallsyms: one sorted array of text symbols and one
 * strings blob, binary-searched. Module names ("[ext4]") are not part of the name. */
#ifndef FP_SYM_KALLSYMS_H
#define FP_SYM_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define SYM_KSYMS_MAX      (4u * 1024u * 1024u)   /* text symbols kept */
#define SYM_KSYMS_MAX_STRS (128u * 1024u * 1024u) /* bytes of names kept */

struct sym_ksyms;

/* Reads path (normally /proc/kallsyms). NULL with errno set on failure (ENOENT, EACCES, ENOMEM).
 * A file whose addresses are all zero (no privilege / kptr_restrict) loads fine: then
 * sym_ksyms_zeroed() is true and every lookup misses. Caller frees with sym_ksyms_free. */
struct sym_ksyms *sym_ksyms_load(const char *path);
void sym_ksyms_free(struct sym_ksyms *k); /* NULL is a no-op */

/* The name of the text symbol containing addr, or NULL. The string belongs to k. A symbol's
 * extent ends at the next kernel symbol of any type (kallsyms has no sizes). */
const char *sym_ksyms_lookup(const struct sym_ksyms *k, uint64_t addr);

bool sym_ksyms_zeroed(const struct sym_ksyms *k);
size_t sym_ksyms_count(const struct sym_ksyms *k);
size_t sym_ksyms_bytes(const struct sym_ksyms *k); /* heap footprint */

#endif
