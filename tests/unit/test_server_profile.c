/* test_server_profile.c — parsing an uploaded profile (server/profile.h): the line prefix read
 * from the header's application_metadata_enabled, as Performance Studio's indexer reads it,
 * fleetprof-agent 0.1.0's header, duplicates merged, bounds and messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "collapsed.h"
#include "log.h"
#include "profile.h"
#include "t.h"
#include "util.h"

/* The parse as sorted "container@stack count" lines, or "E: message". */
static const char *parsed(const char *text)
{
	static char out[1024];
	struct col_agg *a = col_agg_new(100);
	struct col_error err;
	struct prof p;
	struct buf b;
	int rc = prof_parse(&p, text, strlen(text), &err);

	T_REQUIRE(a != NULL);
	buf_init(&b, sizeof(out) - 1);
	if (rc) {
		snprintf(out, sizeof(out), "E: %s", err.msg);
	} else {
		for (size_t i = 0; i < p.n_lines; i++) {
			char key[256];
			int n = snprintf(key, sizeof(key), "%.*s@%.*s", (int)p.lines[i].clen,
					 p.lines[i].container, (int)p.lines[i].slen, p.lines[i].stack);
			T_REQUIRE(col_agg_add(a, key, (size_t)n, p.lines[i].count) == 0);
		}
		T_REQUIRE(col_agg_write(a, &b) == 0);
		snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	}
	buf_release(&b);
	col_agg_free(a);
	prof_release(&p);
	return out;
}

#define ON  "# {\"application_metadata\":[null,{}],\"application_metadata_enabled\":true}\n"
#define OFF "# {\"application_metadata\":[null],\"application_metadata_enabled\":false}\n"

T_TEST(prefix_from_the_header)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		/* appid;container;comm;... */
		{ ON "0;;py;main 2\n1;web;java;run 3\n0;;py;main 1\n", "@py;main 3\nweb@java;run 3\n" },
		/* container;comm;... (--disable-application-metadata) */
		{ OFF ";py;main 2\nweb;java;run 3\n", "@py;main 2\nweb@java;run 3\n" },
		{ OFF "0a;py;main 2\n", "0a@py;main 2\n" },
		/* fleetprof-agent 0.1.0: false, yet every line has the appid "0" */
		{ OFF "0;;py;main 2\n0;web;java;run 3\n", "@py;main 2\nweb@java;run 3\n" },
		/* ... but one line without it and the flag is taken at its word */
		{ OFF "0;;py;main 2\nweb;java;run 3\n",
		  "E: stack 1: expected <container>;<comm>;frames..." },
		/* an index past application_metadata is no appid; nor one with a leading zero */
		{ OFF "1;py;main 2\n", "1@py;main 2\n" },
		{ "# {\"application_metadata\":[null,{}],\"application_metadata_enabled\":false}\n"
		  "01;py;main 2\n", "01@py;main 2\n" },
		/* no header, no flag, a header that is not JSON: appid;container;... */
		{ "0;c;py;main 2\n", "c@py;main 2\n" },
		{ "# {\"metadata\":{}}\r\n0;c;py;main 2\n", "c@py;main 2\n" },
		{ "# not json\n0;c;py;main 2\n", "c@py;main 2\n" },
		{ OFF "", "" },
		/* a process name is required in both forms */
		{ OFF "web;;run 3\n", "E: stack 1: expected <container>;<comm>;frames..." },
		{ OFF "web 3\n", "E: stack 1: expected <container>;<comm>;frames..." },
		{ ON "0;web;;run 3\n", "E: line 2: empty frame 3" },
		{ ON "0;web 3\n", "E: stack 1: expected <appid>;<container>;<comm>;frames..." },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = parsed(cases[i].text);

		T_CHECKF(strcmp(got, cases[i].want) == 0, "case %zu: got '%s' want '%s'", i, got,
			 cases[i].want);
	}
}

T_TEST(header_kept_and_totals)
{
	struct prof p;
	const char *text = "# {\"a\":1}\r\n0;;x;y 5\n0;;x;y 6\n0;c;x;z 1\n";

	T_REQUIRE(prof_parse(&p, text, strlen(text), NULL) == 0);
	T_CHECK(p.header && strcmp(p.header, "{\"a\":1}") == 0);
	T_CHECK(p.n_lines == 2 && p.total == 12 && p.appid);
	prof_release(&p);
	T_REQUIRE(prof_parse(&p, "", 0, NULL) == 0);
	T_CHECK(p.header == NULL && p.n_lines == 0 && p.total == 0);
	prof_release(&p);
}

int main(void)
{
	log_init("test_server_profile", LOG_ERROR);
	T_RUN(prefix_from_the_header);
	T_RUN(header_kept_and_totals);
	return t_done();
}
