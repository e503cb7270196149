/* collapsed.c — parse, sanitize and aggregate collapsed-stack profiles (see collapsed.h). */
#include "collapsed.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ---------------------------------------------------------------------------------- */

static int fail(struct col_error *err, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct col_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -EINVAL;
	err->line = line;
	int n = snprintf(err->msg, sizeof(err->msg), "line %u: ", line);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal digits only, > 0, fits uint64. */
static int parse_count(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9)
			return -1;
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

/* Frames: at most COL_MAX_FRAMES, none empty except the appid and container slots (0 and 1),
 * and never the leaf. */
static int check_frames(const char *s, size_t n, unsigned line, struct col_error *err)
{
	size_t start = 0, idx = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ';')
			continue;
		if (idx >= COL_MAX_FRAMES)
			return fail(err, line, "more than %u frames", COL_MAX_FRAMES);
		bool empty = i == start;
		bool leaf = i == n;
		if (empty && (idx > 1 || leaf))
			return fail(err, line, "empty frame %zu", idx + 1);
		idx++;
		start = i + 1;
	}
	return 0;
}

int col_parse(const char *text, size_t len, char **header, col_stack_fn fn, void *ctx,
	      struct col_error *err)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int rc = 0;

	if (header)
		*header = NULL;
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (!text && len)
		return -EINVAL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n)) {
			rc = fail(err, line, "NUL byte");
			goto out;
		}
		if (line == 1 && n >= 2 && p[0] == '#' && p[1] == ' ') {
			if (header) {
				*header = strndup(p + 2, n - 2);
				if (!*header) {
					rc = -ENOMEM;
					goto out;
				}
			}
		} else if (n == 0 || p[0] == '#') {
			/* empty line or comment */
		} else {
			if (n > COL_MAX_LINE) {
				rc = fail(err, line, "line longer than %u bytes", COL_MAX_LINE);
				goto out;
			}
			const char *sp = p + n;
			while (sp > p && sp[-1] != ' ')
				sp--;
			if (sp == p) {
				rc = fail(err, line, "missing count");
				goto out;
			}
			uint64_t count;
			if (parse_count(sp, (size_t)(p + n - sp), &count)) {
				rc = fail(err, line, "count '%.*s' is not an integer in 1..2^64-1",
					  (int)((p + n - sp) > 32 ? 32 : (p + n - sp)), sp);
				goto out;
			}
			size_t slen = (size_t)(sp - 1 - p);
			if (slen == 0) {
				rc = fail(err, line, "empty stack");
				goto out;
			}
			rc = check_frames(p, slen, line, err);
			if (rc)
				goto out;
			if (fn) {
				rc = fn(ctx, p, slen, count);
				if (rc) {
					if (err) {
						err->line = line;
						snprintf(err->msg, sizeof(err->msg),
							 "line %u: stopped (error %d)", line, rc);
					}
					goto out;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	rc = 0;
out:
	if (rc && header) {
		free(*header);
		*header = NULL;
	}
	return rc;
}

char *col_frame_sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; p && *p; p++) {
		if (*p == ';')
			*p = ':';
		else if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return s;
}

/* ---- aggregation ------------------------------------------------------------------------------ */

struct col_entry {
	uint64_t hash;
	uint64_t count;
	size_t len;
	char stack[];   /* len bytes + NUL */
};

struct col_agg {
	struct col_entry **slots; /* open addressing, linear probing; NULL = empty */
	size_t nslots;            /* power of two */
	size_t size;
	size_t max_stacks;
	uint64_t total;
	uint64_t dropped;
	size_t bytes;             /* heap held: entries + slot array */
};

#define AGG_MIN_SLOTS 64u

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

struct col_agg *col_agg_new(size_t max_stacks)
{
	struct col_agg *a = calloc(1, sizeof(*a));
	if (!a)
		goto fail;
	a->nslots = AGG_MIN_SLOTS;
	a->slots = calloc(a->nslots, sizeof(*a->slots));
	if (!a->slots)
		goto fail;
	a->max_stacks = max_stacks;
	a->bytes = sizeof(*a) + a->nslots * sizeof(*a->slots);
	return a;
fail:
	free(a);
	errno = ENOMEM;
	return NULL;
}

void col_agg_free(struct col_agg *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nslots; i++)
		free(a->slots[i]);
	free(a->slots);
	free(a);
}

static int grow(struct col_agg *a)
{
	size_t n = a->nslots * 2;
	if (n < a->nslots || n > SIZE_MAX / sizeof(*a->slots))
		return -ENOMEM;
	struct col_entry **s = calloc(n, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < a->nslots; i++) {
		struct col_entry *e = a->slots[i];
		if (!e)
			continue;
		size_t j = (size_t)e->hash & (n - 1);
		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = e;
	}
	free(a->slots);
	a->bytes += (n - a->nslots) * sizeof(*s);
	a->slots = s;
	a->nslots = n;
	return 0;
}

int col_agg_add(struct col_agg *a, const char *stack, size_t len, uint64_t count)
{
	if (!a || (!stack && len))
		return -EINVAL;
	if (count == 0)
		return 0;
	uint64_t h = fnv1a(stack, len);
	size_t mask = a->nslots - 1, i = (size_t)h & mask;
	for (struct col_entry *e; (e = a->slots[i]); i = (i + 1) & mask) {
		if (e->hash == h && e->len == len && memcmp(e->stack, stack, len) == 0) {
			e->count = sat_add(e->count, count);
			a->total = sat_add(a->total, count);
			return 0;
		}
	}
	if (a->size >= a->max_stacks) {
		a->dropped = sat_add(a->dropped, count);
		return -ENOSPC;
	}
	if (len > SIZE_MAX - sizeof(struct col_entry) - 1)
		return -ENOMEM;
	struct col_entry *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->count = count;
	e->len = len;
	if (len)
		memcpy(e->stack, stack, len);
	e->stack[len] = '\0';
	/* keep the load factor under 3/4; grow before inserting so i stays valid otherwise */
	if ((a->size + 1) * 4 > a->nslots * 3) {
		int rc = grow(a);
		if (rc) {
			free(e);
			return rc;
		}
		mask = a->nslots - 1;
		i = (size_t)h & mask;
		while (a->slots[i])
			i = (i + 1) & mask;
	}
	a->slots[i] = e;
	a->size++;
	a->bytes += sizeof(*e) + len + 1;
	a->total = sat_add(a->total, count);
	return 0;
}

int col_agg_add_cb(void *agg, const char *stack, size_t len, uint64_t count)
{
	int rc = col_agg_add(agg, stack, len, count);
	return rc == -ENOSPC ? 0 : rc;
}

size_t col_agg_size(const struct col_agg *a)
{
	return a ? a->size : 0;
}

uint64_t col_agg_total(const struct col_agg *a)
{
	return a ? a->total : 0;
}

uint64_t col_agg_dropped(const struct col_agg *a)
{
	return a ? a->dropped : 0;
}

size_t col_agg_bytes(const struct col_agg *a)
{
	return a ? a->bytes : 0;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct col_entry *a = *(const struct col_entry *const *)x;
	const struct col_entry *b = *(const struct col_entry *const *)y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->stack, b->stack, n);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

int col_agg_foreach(const struct col_agg *a, bool sorted, col_stack_fn fn, void *ctx)
{
	struct col_entry **v = NULL;
	size_t n = 0;
	int rc = 0;

	if (!a || !fn)
		return a ? -EINVAL : 0;
	if (!sorted) {
		for (size_t i = 0; i < a->nslots; i++) {
			struct col_entry *e = a->slots[i];
			if (e && (rc = fn(ctx, e->stack, e->len, e->count)))
				return rc;
		}
		return 0;
	}
	if (a->size == 0)
		return 0;
	v = malloc(a->size * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < a->nslots; i++)
		if (a->slots[i])
			v[n++] = a->slots[i];
	qsort(v, n, sizeof(*v), cmp_entry);
	for (size_t i = 0; i < n; i++)
		if ((rc = fn(ctx, v[i]->stack, v[i]->len, v[i]->count)))
			break;
	free(v);
	return rc;
}

static int write_one(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct buf *out = ctx;
	int rc = buf_append(out, stack, len);
	if (!rc)
		rc = buf_printf(out, " %llu\n", (unsigned long long)count);
	return rc;
}

int col_agg_write(const struct col_agg *a, struct buf *out)
{
	size_t len0 = out->len;
	int rc = col_agg_foreach(a, true, write_one, out);
	if (rc) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
	}
	return rc;
}
