/* profile.c — parse an uploaded profile. See profile.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "util.h"

#define MAX_COUNT ((uint64_t)1 << 62)

/* One stack line: validate it and merge it with its duplicates, keyed "container;stack". */
static int on_stack(void *ctx, const char *line, size_t len, uint64_t count)
{
	struct prof *p = ctx;
	const char *a, *b;
	int rc;

	p->n_input++;
	if (p->n_input > PROF_MAX_LINES) {
		snprintf(p->msg, sizeof(p->msg), "profile has more than %u lines", PROF_MAX_LINES);
		return -EINVAL;
	}
	a = memchr(line, ';', len);
	b = a ? memchr(a + 1, ';', len - (size_t)(a + 1 - line)) : NULL;
	if (!b) {
		snprintf(p->msg, sizeof(p->msg),
			 "stack %llu: expected <appid>;<container>;<comm>;frames...",
			 (unsigned long long)p->n_input);
		return -EINVAL;
	}
	if (count > MAX_COUNT) {
		snprintf(p->msg, sizeof(p->msg), "stack %llu: count too large",
			 (unsigned long long)p->n_input);
		return -EINVAL;
	}
	/* the appid is not kept: "container;comm;frames" is the key */
	rc = col_agg_add(p->agg, a + 1, len - (size_t)(a + 1 - line), count);
	if (rc == -ENOSPC) {
		snprintf(p->msg, sizeof(p->msg), "profile has more than %u distinct stacks",
			 PROF_MAX_STACKS);
		return -EINVAL;
	}
	if (rc)
		return rc;
	p->total = p->total > UINT64_MAX - count ? UINT64_MAX : p->total + count;
	return 0;
}

/* One merged "container;stack" key as a line for the store (pointers into the table). */
static int on_merged(void *ctx, const char *key, size_t len, uint64_t count)
{
	struct prof *p = ctx;
	const char *semi = memchr(key, ';', len);
	int rc;

	if (!semi)
		return -EINVAL;   /* cannot happen: on_stack checked it */
	rc = ARRAY_GROW(p->lines, p->cap, p->n_lines + 1, PROF_MAX_STACKS);
	if (rc)
		return rc == -ENOSPC ? -EINVAL : rc;
	p->lines[p->n_lines++] = (struct smp_line){
		.container = key, .clen = (uint32_t)(semi - key), .stack = semi + 1,
		.slen = (uint32_t)(len - (size_t)(semi + 1 - key)),
		.count = count > MAX_COUNT ? MAX_COUNT : count,
	};
	return 0;
}

int prof_parse(struct prof *p, const char *text, size_t len, struct col_error *err)
{
	struct col_error lerr;
	int rc;

	if (!err)
		err = &lerr;
	memset(err, 0, sizeof(*err));
	memset(p, 0, sizeof(*p));
	p->agg = col_agg_new(PROF_MAX_STACKS);
	if (!p->agg)
		return -ENOMEM;
	rc = col_parse(text ? text : "", text ? len : 0, &p->header, on_stack, p, err);
	if (!rc)
		rc = col_agg_foreach(p->agg, false, on_merged, p);
	if (rc && p->msg[0]) {
		err->line = 0;
		snprintf(err->msg, sizeof(err->msg), "%s", p->msg);
	}
	return rc;
}

void prof_release(struct prof *p)
{
	if (!p)
		return;
	free(p->header);
	free(p->lines);
	col_agg_free(p->agg);
	memset(p, 0, sizeof(*p));
}
