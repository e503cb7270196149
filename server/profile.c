/* profile.c — parse an uploaded profile. See profile.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "profile.h"
#include "util.h"

#define MAX_COUNT ((uint64_t)1 << 62)

/* The header line's JSON text, when there is one: text after "# " up to the end of the line. */
static const char *header_line(const char *text, size_t len, size_t *hlen)
{
	const char *eol;

	if (len < 2 || text[0] != '#' || text[1] != ' ')
		return NULL;
	eol = memchr(text, '\n', len);
	*hlen = (eol ? (size_t)(eol - text) : len) - 2;
	if (*hlen && text[2 + *hlen - 1] == '\r')
		(*hlen)--;
	return text + 2;
}

/* Whether every stack line starts with a decimal appid below n (the header's
 * application_metadata entries). */
static bool lines_start_with_appid(const char *text, size_t len, size_t n)
{
	const char *p = text, *end = text + len;
	bool any = false;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *e = eol ? eol : end;
		unsigned long long v = 0;
		const char *q = p;

		if (e > p && *p != '#' && !(e - p == 1 && *p == '\r')) {
			while (q < e && *q >= '0' && *q <= '9' && v < n)
				v = v * 10 + (unsigned)(*q++ - '0');
			if (q == p || q == e || *q != ';' || v >= n || (q - p > 1 && *p == '0'))
				return false;
			any = true;
		}
		p = eol ? eol + 1 : end;
	}
	return any;
}

/* How the lines are prefixed, from the header (hdr, may be NULL), as Performance Studio's indexer
 * reads it: "application_metadata_enabled": true is appid;container;..., false is container;...
 * fleetprof-agent 0.1.0 wrote false with the appid field on every line (always an index into
 * "application_metadata", as gProfiler writes it): such a profile is read as it was meant.
 * No header, or no flag in it: appid;container;... (what every fleetprof tool writes).
 * lines: the text after the header line. */
static bool has_appid(json_t *hdr, const char *lines, size_t len)
{
	if (!json_is_false(json_object_get(hdr, "application_metadata_enabled")))
		return true;
	return lines_start_with_appid(lines, len,
				      json_array_size(json_object_get(hdr, "application_metadata")));
}

/* One stack line: validate it and merge it with its duplicates, keyed "container;stack". */
static int on_stack(void *ctx, const char *line, size_t len, uint64_t count)
{
	struct prof *p = ctx;
	const char *key, *b;
	size_t klen;
	int rc;

	p->n_input++;
	if (p->n_input > PROF_MAX_LINES) {
		snprintf(p->msg, sizeof(p->msg), "profile has more than %u lines", PROF_MAX_LINES);
		return -EINVAL;
	}
	/* the appid is not kept: "container;comm;frames" is the key */
	key = line;
	if (p->appid) {
		const char *a = memchr(line, ';', len);

		key = a ? a + 1 : line + len;
	}
	klen = len - (size_t)(key - line);
	b = memchr(key, ';', klen);
	if (!b || (!p->appid && (size_t)(b + 1 - key) < klen && b[1] == ';')) {
		/* (without the appid field, col_parse lets an empty process name through) */
		snprintf(p->msg, sizeof(p->msg), "stack %llu: expected %s<container>;<comm>;frames...",
			 (unsigned long long)p->n_input, p->appid ? "<appid>;" : "");
		return -EINVAL;
	}
	if (count > MAX_COUNT) {
		snprintf(p->msg, sizeof(p->msg), "stack %llu: count too large",
			 (unsigned long long)p->n_input);
		return -EINVAL;
	}
	rc = col_agg_add(p->agg, key, klen, count);
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
	const char *h, *rest;
	size_t hlen = 0;
	int rc;

	if (!err)
		err = &lerr;
	memset(err, 0, sizeof(*err));
	memset(p, 0, sizeof(*p));
	p->agg = col_agg_new(PROF_MAX_STACKS);
	if (!p->agg)
		return -ENOMEM;
	if (!text)
		text = "", len = 0;
	h = header_line(text, len, &hlen);
	if (h && hlen <= COL_MAX_LINE)
		p->hdr = json_loadb(h, hlen, JSON_REJECT_DUPLICATES, NULL);
	rest = h ? h + hlen : text;
	p->appid = has_appid(p->hdr, rest, len - (size_t)(rest - text));
	rc = col_parse(text, len, &p->header, on_stack, p, err);
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
	json_decref(p->hdr);
	free(p->lines);
	col_agg_free(p->agg);
	memset(p, 0, sizeof(*p));
}
