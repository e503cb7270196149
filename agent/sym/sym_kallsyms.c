/* sym_kallsyms.c — see sym_kallsyms.h. */
#include "sym_kallsyms.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ksym {
	uint64_t addr;
	uint32_t size;     /* up to the next symbol of any type; 0 for non-text while loading */
	uint32_t name_off; /* into strs */
};

struct sym_ksyms {
	struct ksym *syms;
	size_t n;
	char *strs;
	size_t strs_len;
	bool zeroed;
};

/* While loading: every symbol (text or not) with a rank used to choose among aliases. */
struct kload {
	uint64_t addr;
	uint32_t name_off;
	uint8_t text;  /* 1: t/T */
	uint8_t rank;  /* lower is better among aliases at one address */
};

static int kload_cmp(const void *a, const void *b)
{
	const struct kload *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->text != y->text) /* text symbols first at one address */
		return x->text ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->name_off < y->name_off ? -1 : (x->name_off > y->name_off);
}

/* Prefer global over local, then names with fewer leading underscores (so "schedule" beats an
 * alias like "__x_schedule"), and never "__pfx_"-style padding labels. */
static uint8_t rank_of(char type, const char *name)
{
	unsigned us = 0;
	while (name[us] == '_' && us < 7)
		us++;
	return (uint8_t)((type == 'T' ? 0 : 8) + us);
}

void sym_ksyms_free(struct sym_ksyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->strs);
	free(k);
}

struct sym_ksyms *sym_ksyms_load(const char *path)
{
	struct sym_ksyms *k = NULL;
	struct kload *ld = NULL;
	size_t nld = 0, cap = 0, scap = 0;
	FILE *f = NULL;
	char line[1024];
	bool any_nonzero = false;
	int err = 0, rc;

	k = calloc(1, sizeof(*k));
	if (!k) {
		err = ENOMEM;
		goto out;
	}
	f = fopen(path, "re");
	if (!f) {
		err = errno;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		uint64_t addr = strtoull(p, &end, 16);
		if (end == p || *end != ' ')
			continue;
		char type = end[1];
		if (!type || end[2] != ' ')
			continue;
		char *name = end + 3;
		size_t nl = strcspn(name, " \t\n"); /* drops "\t[module]" */
		if (nl == 0)
			continue;
		name[nl] = '\0';
		/* "__pfx_" labels mark the padding before each function (never executed): they
		 * only end the previous symbol, like data symbols do, and cost no name. */
		bool text = (type == 't' || type == 'T') && strncmp(name, "__pfx_", 6) != 0;
		if (addr)
			any_nonzero = true;
		rc = ARRAY_GROW(ld, cap, nld + 1, SYM_KSYMS_MAX * 2u);
		if (rc) {
			err = rc == -ENOSPC ? E2BIG : ENOMEM;
			goto out;
		}
		uint32_t off = 0;
		if (text) {
			if (k->strs_len + nl + 1 > SYM_KSYMS_MAX_STRS) {
				err = E2BIG;
				goto out;
			}
			rc = ARRAY_GROW(k->strs, scap, k->strs_len + nl + 1, SYM_KSYMS_MAX_STRS);
			if (rc) {
				err = ENOMEM;
				goto out;
			}
			off = (uint32_t)k->strs_len;
			memcpy(k->strs + off, name, nl + 1);
			k->strs_len += nl + 1;
		}
		ld[nld++] = (struct kload){ .addr = addr, .name_off = off, .text = text,
					    .rank = text ? rank_of(type, name) : 255 };
	}
	if (ferror(f)) {
		err = EIO;
		goto out;
	}
	k->zeroed = !any_nonzero;
	if (k->zeroed || nld == 0)
		goto out; /* loads fine, every lookup misses */

	qsort(ld, nld, sizeof(*ld), kload_cmp);
	k->syms = malloc((nld < SYM_KSYMS_MAX ? nld : SYM_KSYMS_MAX) * sizeof(*k->syms));
	if (!k->syms) {
		err = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nld && k->n < SYM_KSYMS_MAX; i++) {
		if (!ld[i].text || (i > 0 && ld[i - 1].addr == ld[i].addr))
			continue; /* keep the best-ranked text alias of each address */
		size_t j = i + 1;
		while (j < nld && ld[j].addr == ld[i].addr)
			j++;
		uint64_t sz = j < nld ? ld[j].addr - ld[i].addr : 4096; /* last: one page */
		if (sz > UINT32_MAX)
			sz = UINT32_MAX;
		k->syms[k->n++] = (struct ksym){ ld[i].addr, (uint32_t)sz, ld[i].name_off };
	}
	/* Give back the slack of the doubling growth: the footprint is what we report. */
	if (k->n) {
		struct ksym *t = realloc(k->syms, k->n * sizeof(*k->syms));
		if (t)
			k->syms = t;
	}
	if (k->strs_len) {
		char *t = realloc(k->strs, k->strs_len);
		if (t)
			k->strs = t;
	}
out:
	if (f)
		fclose(f);
	free(ld);
	if (err) {
		sym_ksyms_free(k);
		errno = err;
		return NULL;
	}
	return k;
}

const char *sym_ksyms_lookup(const struct sym_ksyms *k, uint64_t addr)
{
	if (!k || k->n == 0)
		return NULL;
	size_t lo = 0, hi = k->n; /* first index with syms[i].addr > addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ksym *s = &k->syms[lo - 1];
	if (addr - s->addr >= s->size)
		return NULL;
	return k->strs + s->name_off;
}

bool sym_ksyms_zeroed(const struct sym_ksyms *k)
{
	return !k || k->zeroed;
}

size_t sym_ksyms_count(const struct sym_ksyms *k)
{
	return k ? k->n : 0;
}

size_t sym_ksyms_bytes(const struct sym_ksyms *k)
{
	return k ? sizeof(*k) + k->n * sizeof(*k->syms) + k->strs_len : 0;
}
