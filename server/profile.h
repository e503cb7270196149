/* profile.h — an uploaded profile's text as the sample store takes it: the "# {json}" header
 * line kept, each stack line split into its prefix (appid, container) and its stack
 * ("comm;frame;...;leaf"), and duplicate lines merged. Pure: no I/O, no store.
 *
 * Lines are gProfiler's: "<appid>;<container>;<comm>;frame;...;leaf <count>", or without the
 * appid field when the header says "application_metadata_enabled": false (gProfiler's
 * --disable-application-metadata), as Performance Studio's indexer reads them; see has_appid()
 * in profile.c for the one exception.
 */
#ifndef FP_PROFILE_H
#define FP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "collapsed.h"
#include "store/samples.h"

#define PROF_MAX_STACKS 200000u    /* distinct (container, stack) pairs in one profile */
#define PROF_MAX_LINES  2000000u   /* stack lines in one profile (duplicates are merged) */

struct prof {
	char *header;             /* the header line's JSON text (without "# "), NULL when the
				   * profile has none; owned */
	json_t *hdr;              /* that text parsed, NULL when absent or not JSON; owned */
	struct smp_line *lines;   /* the distinct pairs, pointing into the merge table */
	size_t n_lines;
	uint64_t total;           /* samples */
	bool appid;               /* the lines carried the appid field */
	/* private */
	size_t cap;
	uint64_t n_input;
	struct col_agg *agg;
	char msg[160];
};

/* Parse text[0..len) into p (which the caller releases with prof_release, also on error).
 * 0, -ENOMEM, or -EINVAL with err filled (err->line 0 when the problem is not one line's:
 * too many lines or distinct stacks). */
int prof_parse(struct prof *p, const char *text, size_t len, struct col_error *err)
	__attribute__((warn_unused_result));
void prof_release(struct prof *p);

#endif
