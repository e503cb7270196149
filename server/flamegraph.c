/* flamegraph.c — stack collector, flame graph tree, collapsed text, top functions.
 * See flamegraph.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "jsonstr.h"
#include "util.h"

struct stack {
	const char *s;      /* in the arena, not NUL-terminated */
	uint32_t len;
	uint64_t count;
	uint64_t hash;
};

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	char data[];
};

struct fg {
	struct stack *stacks;
	size_t n, cap, max_stacks;
	uint32_t *index;         /* open addressing: stack index + 1, 0 = empty */
	size_t index_cap;        /* power of two */
	struct arena_blk *arena;
	size_t bytes, max_bytes;
	uint64_t total;
};

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
#define HASH_SEED 0xcbf29ce484222325ull

/* Rebuild an open-addressing index (slot = entry number + bias, 0 = empty) over the entries
 * lo..n-1 of a table, doubling its size (first_cap at first) until it is at least twice n.
 * hash_of gives an entry's hash. 0 or -ENOMEM (the old index is kept). */
static int index_rebuild(uint32_t **index, size_t *index_cap, size_t first_cap, size_t lo, size_t n,
			 uint32_t bias, uint64_t (*hash_of)(const void *tab, size_t i),
			 const void *tab)
{
	size_t cap = *index_cap ? *index_cap * 2 : first_cap;
	uint32_t *idx;

	while (cap < (n + 1) * 2)
		cap *= 2;
	idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = lo; i < n; i++) {
		size_t j = hash_of(tab, i) & (cap - 1);

		while (idx[j])
			j = (j + 1) & (cap - 1);
		idx[j] = (uint32_t)(i + bias);
	}
	free(*index);
	*index = idx;
	*index_cap = cap;
	return 0;
}

static char *arena_copy(struct fg *f, const char *s, size_t n)
{
	struct arena_blk *b = f->arena;
	char *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = f->arena;
		b->used = 0;
		b->cap = cap;
		f->arena = b;
	}
	p = b->data + b->used;
	memcpy(p, s, n);
	b->used += n;
	return p;
}

struct fg *fg_new(size_t max_stacks, size_t max_bytes)
{
	struct fg *f = calloc(1, sizeof(*f));

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->max_stacks = max_stacks < UINT32_MAX - 1 ? max_stacks : UINT32_MAX - 2;
	f->max_bytes = max_bytes;
	return f;
}

void fg_free(struct fg *f)
{
	if (!f)
		return;
	while (f->arena) {
		struct arena_blk *n = f->arena->next;

		free(f->arena);
		f->arena = n;
	}
	free(f->stacks);
	free(f->index);
	free(f);
}

static uint64_t stack_hash(const void *tab, size_t i)
{
	return ((const struct fg *)tab)->stacks[i].hash;
}

static int grow_index(struct fg *f)
{
	return index_rebuild(&f->index, &f->index_cap, 1024, 0, f->n, 1, stack_hash, f);
}

int fg_add(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct fg *f = ctx;
	uint64_t h;
	size_t j;
	struct stack *st;

	if (!len)
		return -EINVAL;
	if (len > UINT32_MAX)
		return -E2BIG;
	if ((f->n + 1) * 2 > f->index_cap && grow_index(f))
		return -ENOMEM;
	h = hash_bytes(HASH_SEED, stack, len);
	for (j = h & (f->index_cap - 1); f->index[j]; j = (j + 1) & (f->index_cap - 1)) {
		st = &f->stacks[f->index[j] - 1];
		if (st->hash == h && st->len == len && memcmp(st->s, stack, len) == 0) {
			st->count += count;
			f->total += count;
			return 0;
		}
	}
	if (f->n >= f->max_stacks || f->bytes + len > f->max_bytes)
		return -E2BIG;
	if (ARRAY_GROW(f->stacks, f->cap, f->n + 1, f->max_stacks))
		return -ENOMEM;
	st = &f->stacks[f->n];
	st->s = arena_copy(f, stack, len);
	if (!st->s)
		return -ENOMEM;
	st->len = (uint32_t)len;
	st->count = count;
	st->hash = h;
	f->index[j] = (uint32_t)(++f->n);
	f->bytes += len;
	f->total += count;
	return 0;
}

size_t fg_stacks(const struct fg *f)
{
	return f->n;
}

uint64_t fg_total(const struct fg *f)
{
	return f->total;
}

/* ---- collapsed ---- */

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct stack *x = a, *y = b;

	return cmp_bytes(x->s, x->len, y->s, y->len);
}

int fg_write_collapsed(struct fg *f, struct buf *out)
{
	int rc = 0;

	if (f->n)
		qsort(f->stacks, f->n, sizeof(*f->stacks), cmp_stack);
	f->index_cap = 0;   /* the order changed: the index is stale; rebuild on the next add */
	free(f->index);
	f->index = NULL;
	for (size_t i = 0; rc == 0 && i < f->n; i++) {
		rc = buf_append(out, f->stacks[i].s, f->stacks[i].len);
		if (rc == 0)
			rc = buf_printf(out, " %" PRIu64 "\n", f->stacks[i].count);
	}
	return rc;
}

/* ---- tree ---- */

struct node {
	const char *name;
	uint32_t name_len;
	uint32_t parent;      /* index; the root is 0 and its own parent */
	uint32_t first_child; /* 0 = none (the root is never a child) */
	uint32_t next;        /* next sibling, 0 = none */
	uint64_t value;
	uint64_t hash;
};

struct tree {
	struct node *nodes;
	size_t n, cap, max;
	uint32_t *index;
	size_t index_cap;
	uint32_t *scratch;    /* child list for sorting, per depth level reused */
};

static uint64_t node_hash(const void *tab, size_t i)
{
	return ((const struct tree *)tab)->nodes[i].hash;
}

static int tree_grow_index(struct tree *t)
{
	return index_rebuild(&t->index, &t->index_cap, 4096, 1, t->n, 0, node_hash, t);
}

/* The child of parent named name, created when missing. Index, or negative errno. */
static int64_t tree_child(struct tree *t, uint32_t parent, const char *name, size_t len)
{
	uint64_t h = hash_bytes(HASH_SEED ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull), name, len);
	struct node *nd;
	size_t j;

	if ((t->n + 1) * 2 > t->index_cap && tree_grow_index(t))
		return -ENOMEM;
	for (j = h & (t->index_cap - 1); t->index[j]; j = (j + 1) & (t->index_cap - 1)) {
		nd = &t->nodes[t->index[j]];
		if (nd->hash == h && nd->parent == parent && nd->name_len == len &&
		    memcmp(nd->name, name, len) == 0)
			return t->index[j];
	}
	if (t->n >= t->max)
		return -E2BIG;
	if (ARRAY_GROW(t->nodes, t->cap, t->n + 1, t->max))
		return -ENOMEM;
	nd = &t->nodes[t->n];
	nd->name = name;
	nd->name_len = (uint32_t)len;
	nd->parent = parent;
	nd->first_child = 0;
	nd->next = t->nodes[parent].first_child;
	nd->value = 0;
	nd->hash = h;
	t->nodes[parent].first_child = (uint32_t)t->n;
	t->index[j] = (uint32_t)t->n;
	return (int64_t)t->n++;
}

static int cmp_node(const void *a, const void *b, void *ctx)
{
	const struct node *nodes = ctx;
	const struct node *x = &nodes[*(const uint32_t *)a];
	const struct node *y = &nodes[*(const uint32_t *)b];

	return cmp_bytes(x->name, x->name_len, y->name, y->name_len);
}

/* Relink every node's children in name order. */
static void tree_sort(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		size_t k = 0;

		for (uint32_t c = t->nodes[i].first_child; c; c = t->nodes[c].next)
			t->scratch[k++] = c;
		if (k < 2)
			continue;
		qsort_r(t->scratch, k, sizeof(*t->scratch), cmp_node, t->nodes);
		t->nodes[i].first_child = t->scratch[0];
		for (size_t m = 0; m + 1 < k; m++)
			t->nodes[t->scratch[m]].next = t->scratch[m + 1];
		t->nodes[t->scratch[k - 1]].next = 0;
	}
}

/* Iterative depth-first JSON writer (stacks can be 1,000 frames deep). */
static int tree_write(struct tree *t, struct buf *out)
{
	uint32_t cur = 0;
	int rc;

	for (;;) {
		struct node *nd = &t->nodes[cur];

		rc = buf_puts(out, "{\"name\":");
		if (!rc)
			rc = json_str(out, nd->name, nd->name_len, 0);
		if (!rc)
			rc = buf_printf(out, ",\"value\":%" PRIu64 ",\"children\":[", nd->value);
		if (rc)
			return rc;
		if (nd->first_child) {
			cur = nd->first_child;
			continue;
		}
		/* close this node, then climb until a node with a next sibling */
		for (;;) {
			rc = buf_puts(out, "]}");
			if (rc)
				return rc;
			if (cur == 0)
				return 0;
			if (t->nodes[cur].next) {
				cur = t->nodes[cur].next;
				rc = buf_putc(out, ',');
				if (rc)
					return rc;
				break;
			}
			cur = t->nodes[cur].parent;
		}
	}
}

int fg_write_tree(struct fg *f, size_t max_nodes, struct buf *out)
{
	struct tree t;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	t.max = max_nodes < UINT32_MAX - 1 ? max_nodes + 1 : UINT32_MAX - 1;
	t.cap = 1024;
	t.nodes = malloc(t.cap * sizeof(*t.nodes));
	if (!t.nodes) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&t.nodes[0], 0, sizeof(t.nodes[0]));
	t.nodes[0].name = "all";
	t.nodes[0].name_len = 3;
	t.nodes[0].value = f->total;
	t.n = 1;
	for (size_t i = 0; i < f->n; i++) {
		const struct stack *st = &f->stacks[i];
		const char *p = st->s, *end = st->s + st->len;
		uint32_t parent = 0;

		while (p <= end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			size_t len = semi ? (size_t)(semi - p) : (size_t)(end - p);
			int64_t c = tree_child(&t, parent, p, len);

			if (c < 0) {
				rc = (int)c;
				goto out;
			}
			t.nodes[c].value += st->count;
			parent = (uint32_t)c;
			if (!semi)
				break;
			p = semi + 1;
		}
	}
	t.scratch = malloc(t.n * sizeof(*t.scratch));
	if (!t.scratch) {
		rc = -ENOMEM;
		goto out;
	}
	tree_sort(&t);
	rc = tree_write(&t, out);
out:
	free(t.scratch);
	free(t.index);
	free(t.nodes);
	return rc;
}

/* ---- top functions ---- */

struct func {
	const char *name;
	uint32_t len;
	uint32_t last;       /* stack index + 1 that last added to total */
	uint64_t self, total, hash;
};

struct ftab {
	struct func *v;
	size_t n, cap;
	uint32_t *index;
	size_t index_cap;
};

static uint64_t func_hash(const void *tab, size_t i)
{
	return ((const struct ftab *)tab)->v[i].hash;
}

static int ftab_grow(struct ftab *t)
{
	return index_rebuild(&t->index, &t->index_cap, 4096, 0, t->n, 1, func_hash, t);
}

static struct func *ftab_get(struct ftab *t, const char *name, size_t len)
{
	uint64_t h = hash_bytes(HASH_SEED, name, len);
	struct func *fn;
	size_t j;

	if ((t->n + 1) * 2 > t->index_cap && ftab_grow(t))
		return NULL;
	for (j = h & (t->index_cap - 1); t->index[j]; j = (j + 1) & (t->index_cap - 1)) {
		fn = &t->v[t->index[j] - 1];
		if (fn->hash == h && fn->len == len && memcmp(fn->name, name, len) == 0)
			return fn;
	}
	if (ARRAY_GROW(t->v, t->cap, t->n + 1, UINT32_MAX))
		return NULL;
	fn = &t->v[t->n];
	memset(fn, 0, sizeof(*fn));
	fn->name = name;
	fn->len = (uint32_t)len;
	fn->hash = h;
	t->index[j] = (uint32_t)(++t->n);
	return fn;
}

static int cmp_self(const void *a, const void *b)
{
	const struct func *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return cmp_bytes(x->name, x->len, y->name, y->len);
}

static int cmp_total(const void *a, const void *b)
{
	const struct func *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return cmp_bytes(x->name, x->len, y->name, y->len);
}

int fg_write_top(struct fg *f, size_t limit, bool by_total, struct buf *out)
{
	struct ftab t;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < f->n; i++) {
		const struct stack *st = &f->stacks[i];
		const char *p = st->s, *end = st->s + st->len;
		const char *semi = memchr(p, ';', st->len);

		if (semi)   /* skip the comm */
			p = semi + 1;
		while (p <= end) {
			struct func *fn;
			size_t len;

			semi = memchr(p, ';', (size_t)(end - p));
			len = semi ? (size_t)(semi - p) : (size_t)(end - p);
			fn = ftab_get(&t, p, len);
			if (!fn) {
				rc = -ENOMEM;
				goto out;
			}
			if (fn->last != i + 1) {
				fn->total += st->count;
				fn->last = (uint32_t)(i + 1);
			}
			if (!semi) {
				fn->self += st->count;
				break;
			}
			p = semi + 1;
		}
	}
	if (t.n)
		qsort(t.v, t.n, sizeof(*t.v), by_total ? cmp_total : cmp_self);
	rc = buf_puts(out, "{\"functions\":[");
	for (size_t i = 0; rc == 0 && i < t.n && i < limit; i++) {
		if (i)
			rc = buf_putc(out, ',');
		if (!rc)
			rc = buf_puts(out, "{\"name\":");
		if (!rc)
			rc = json_str(out, t.v[i].name, t.v[i].len, 0);
		if (!rc)
			rc = buf_printf(out, ",\"self\":%" PRIu64 ",\"total\":%" PRIu64 "}",
					t.v[i].self, t.v[i].total);
	}
	if (!rc)
		rc = buf_printf(out, "],\"total_samples\":%" PRIu64 "}", f->total);
out:
	free(t.v);
	free(t.index);
	return rc;
}
