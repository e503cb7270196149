/* output.c — see output.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "output.h"
#include "flamegraph_html.h"
#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "timeutil.h"

#define FG_MAX_BYTES (256u * 1024u * 1024u)

struct output {
	char dir[PATH_MAX / 2];
	bool flamegraph, rotating;
	char last_col[PATH_MAX], last_html[PATH_MAX];
	char prev_stamp[64];
	unsigned same_stamp;
};

struct output *output_new(const char *dir, bool flamegraph, bool rotating)
{
	struct output *o;
	if (strlen(dir) >= sizeof(o->dir)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	snprintf(o->dir, sizeof(o->dir), "%s", dir);
	o->flamegraph = flamegraph;
	o->rotating = rotating;
	return o;
}

void output_free(struct output *o)
{
	free(o);
}

const char *output_last_path(const struct output *o)
{
	return o->last_col;
}

static int relink(const char *dir, const char *target_path, const char *name)
{
	char link[PATH_MAX], tmp[PATH_MAX];
	const char *base = strrchr(target_path, '/');
	base = base ? base + 1 : target_path;
	snprintf(link, sizeof(link), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", dir, name, (int)getpid());
	unlink(tmp);
	if (symlink(base, tmp))
		return -errno;
	if (rename(tmp, link)) {
		int rc = -errno;
		unlink(tmp);
		return rc;
	}
	return 0;
}

int output_write(struct output *o, int64_t end_sec, const char *text, size_t len)
{
	char stamp[64], col[PATH_MAX], html[PATH_MAX] = "";
	int rc;

	if (time_format_filename(end_sec, stamp, sizeof(stamp)))
		snprintf(stamp, sizeof(stamp), "%lld", (long long)end_sec);
	if (strcmp(stamp, o->prev_stamp) == 0) {
		o->same_stamp++;
		snprintf(col, sizeof(col), "%s/profile_%s_%u.col", o->dir, stamp, o->same_stamp);
	} else {
		snprintf(o->prev_stamp, sizeof(o->prev_stamp), "%s", stamp);
		o->same_stamp = 0;
		snprintf(col, sizeof(col), "%s/profile_%s.col", o->dir, stamp);
	}
	rc = fs_write_atomic_at(AT_FDCWD, col, text, len, 0644);
	if (rc) {
		log_error("output: writing %s: %s", col, strerror(-rc));
		return rc;
	}
	rc = relink(o->dir, col, "last_profile.col");
	if (rc)
		log_warn("output: symlink last_profile.col: %s", strerror(-rc));
	if (o->flamegraph) {
		struct buf b;
		size_t cl = strlen(col);
		snprintf(html, sizeof(html), "%.*s.html", (int)(cl - 4), col);
		buf_init(&b, FG_MAX_BYTES);
		rc = flamegraph_html_render(text, len, &b);
		if (rc == 0)
			rc = fs_write_atomic_at(AT_FDCWD, html, buf_cstr(&b), b.len, 0644);
		buf_release(&b);
		if (rc) {
			log_error("output: writing %s: %s", html, strerror(-rc));
			html[0] = '\0';
		} else if ((rc = relink(o->dir, html, "last_flamegraph.html"))) {
			log_warn("output: symlink last_flamegraph.html: %s", strerror(-rc));
		}
		rc = 0;
	}
	if (o->rotating) {
		if (o->last_col[0] && strcmp(o->last_col, col) != 0)
			unlink(o->last_col);
		if (o->last_html[0] && strcmp(o->last_html, html) != 0)
			unlink(o->last_html);
	}
	snprintf(o->last_col, sizeof(o->last_col), "%s", col);
	snprintf(o->last_html, sizeof(o->last_html), "%s", html);
	log_info("output: wrote %s%s%s", col, html[0] ? " and " : "", html);
	return 0;
}
