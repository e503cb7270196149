/* flamegraph_html.c — see flamegraph_html.h. The page and the renderer come from web/ through
 * gen/flamegraph_page.h, which the Makefile generates; this file only fills in the data. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph_html.h"
#include "jsonstr.h"
#include "collapsed.h"
#include "gen/flamegraph_page.h"   /* fp_export_template_html[], fp_flame_js[] */

#define PH_DATA  "{{DATA}}"
#define PH_FLAME "{{FLAME_JS}}"

static bool all_digits(const char *p, const char *end)
{
	if (p == end)
		return false;
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* "appid;container;comm;frames" -> "[container;]comm;frames count\n": the page, like the
 * dashboard, puts the process right under the root. */
static int add_stack(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct buf *lines = ctx;
	const char *p = stack, *end = stack + len;
	const char *semi = memchr(p, ';', len);
	int rc;

	if (semi && all_digits(p, semi))
		p = semi + 1;
	if (p < end && *p == ';')
		p++;
	if (p == end)
		return 0;
	rc = buf_append(lines, p, (size_t)(end - p));
	if (!rc)
		rc = buf_printf(lines, " %llu\n", (unsigned long long)count);
	return rc;
}

int flamegraph_html_render(const char *text, size_t len, struct buf *out)
{
	const char *tpl = (const char *)fp_export_template_html;
	const size_t tlen = sizeof(fp_export_template_html);
	const char *pd = memmem(tpl, tlen, PH_DATA, strlen(PH_DATA));
	const char *pf = memmem(tpl, tlen, PH_FLAME, strlen(PH_FLAME));
	const char *after_d, *after_f;
	struct buf lines;
	char *header = NULL;
	int rc;

	buf_init(&lines, out->max);
	if (!pd || !pf || pf < pd) {   /* the build embeds a template without its placeholders */
		rc = -EINVAL;
		goto out;
	}
	after_d = pd + strlen(PH_DATA);
	after_f = pf + strlen(PH_FLAME);
	rc = col_parse(text, len, &header, add_stack, &lines, NULL);
	if (!rc)
		rc = buf_append(out, tpl, (size_t)(pd - tpl));
	if (!rc)
		rc = buf_puts(out, "{\"title\":null,\"header\":");
	if (!rc)
		rc = header ? json_str(out, header, strlen(header), JSONSTR_HTML) : buf_puts(out, "null");
	if (!rc)
		rc = buf_puts(out, ",\"collapsed\":");
	if (!rc)
		rc = json_str(out, buf_cstr(&lines), lines.len, JSONSTR_HTML);
	if (!rc)
		rc = buf_putc(out, '}');
	if (!rc)
		rc = buf_append(out, after_d, (size_t)(pf - after_d));
	if (!rc)
		rc = buf_append(out, (const char *)fp_flame_js, sizeof(fp_flame_js));
	if (!rc)
		rc = buf_append(out, after_f, (size_t)(tpl + tlen - after_f));
out:
	free(header);
	buf_release(&lines);
	return rc;
}
