/* Uploads through a fake transport: order, retry on 5xx/transport errors, drop on other 4xx,
 * the gpid carried forward, survival across an agent restart, and the non-UTF-8 fallback. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gz.h"
#include "fleet/uploader.h"
#include "t.h"
#include "agent_fixtures.h"

#define MAX_CALLS 64

struct fake {
	pthread_mutex_t mu;
	int script[MAX_CALLS];   /* status per call: 0 = transport error; past the end: 200 */
	int n_script;
	int calls;
	char profiles[MAX_CALLS][64];  /* "profile" of each accepted (200) call */
	char gpids[MAX_CALLS][16];     /* "gpid" sent with each call */
	char urls[MAX_CALLS][256];
	int accepted;
	int saw_key_header;
};

static int fake_post(void *ctx, const char *url, const char *const *headers, const void *body,
		     size_t len, long *status, struct buf *resp)
{
	struct fake *f = ctx;
	struct buf plain;
	json_t *j;
	int st, idx;

	pthread_mutex_lock(&f->mu);
	idx = f->calls++;
	st = idx < f->n_script ? f->script[idx] : 200;
	for (int i = 0; headers[i]; i++)
		if (strcmp(headers[i], "GPROFILER-API-KEY: tok") == 0)
			f->saw_key_header = 1;
	buf_init(&plain, 1 << 20);
	j = NULL;
	if (gz_decompress(body, len, &plain) == 0)
		j = json_loadb(plain.data, plain.len, 0, NULL);
	if (idx < MAX_CALLS) {
		snprintf(f->urls[idx], sizeof(f->urls[idx]), "%s", url);
		snprintf(f->gpids[idx], sizeof(f->gpids[idx]), "%s",
			 j ? json_string_value(json_object_get(j, "gpid")) : "?");
	}
	if (st == 200 && f->accepted < MAX_CALLS && j)
		snprintf(f->profiles[f->accepted++], 64, "%s",
			 json_string_value(json_object_get(j, "profile")));
	json_decref(j);
	buf_release(&plain);
	pthread_mutex_unlock(&f->mu);
	if (st == 0)
		return -ECONNREFUSED;
	*status = st;
	if (st == 200)
		return buf_puts(resp, "{\"message\":\"ok\",\"gpid\":\"77\"}");
	return buf_puts(resp, "{\"success\":false,\"message\":\"nope\"}");
}

static char dir[64];

static struct uploader *mk(struct fake *f)
{
	struct httpc_transport tr = { .post = fake_post, .ctx = f };
	struct uploader_cfg c = {
		.server_url = "http://srv:1/", .token = "tok", .service = "svc a", .hostname = "h1",
		.agent_version = "0.1", .spool_dir = dir, .spool_max_bytes = 1 << 20,
		.transport = &tr, .backoff_min_ms = 5, .backoff_max_ms = 20,
	};
	return uploader_new(&c);
}

static int submit(struct uploader *u, const char *text)
{
	struct upload_profile p = { .text = text, .len = strlen(text), .start_time = 1700000000,
				    .end_time = 1700000060, .spawn_time = 1699999000,
				    .cpu_avg = 12.5, .mem_avg = NAN };
	return uploader_submit(u, &p);
}

static void fresh(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	fixture_tmpdir(dir, sizeof(dir), "fp-upl-");
}

T_TEST(retries_in_order_and_carries_gpid)
{
	struct fake f;
	fresh(&f);
	f.script[0] = 503;
	f.script[1] = 0;
	f.script[2] = 429;
	f.n_script = 3;
	struct uploader *u = mk(&f);
	T_REQUIRE(u != NULL);
	T_CHECK(submit(u, "p1") == 0);
	T_CHECK(submit(u, "p2") == 0);
	T_CHECK(submit(u, "p3") == 0);
	T_CHECK(uploader_wait_idle(u, 5000) == 0);
	struct uploader_stats st;
	uploader_get_stats(u, &st);
	uploader_free(u);
	T_CHECKF(f.accepted == 3, "accepted %d", f.accepted);
	T_CHECK(strcmp(f.profiles[0], "p1") == 0);
	T_CHECK(strcmp(f.profiles[1], "p2") == 0);
	T_CHECK(strcmp(f.profiles[2], "p3") == 0);
	T_CHECKF(f.calls == 6, "calls %d", f.calls);
	T_CHECK(st.sent == 3 && st.retries == 3 && st.rejected == 0 && st.pending == 0);
	T_CHECK(f.saw_key_header);
	/* the gpid answered by the first success is sent with profiles built after it */
	T_CHECK(strcmp(f.gpids[0], "") == 0);
	T_CHECK(strncmp(f.urls[0], "http://srv:1/api/v2/profiles?service=svc%20a&hostname=h1&timestamp=", 67) == 0);
}

T_TEST(gpid_used_after_first_answer)
{
	struct fake f;
	fresh(&f);
	struct uploader *u = mk(&f);
	T_REQUIRE(u != NULL);
	T_CHECK(submit(u, "a") == 0);
	T_CHECK(uploader_wait_idle(u, 5000) == 0);
	T_CHECK(submit(u, "b") == 0);
	T_CHECK(uploader_wait_idle(u, 5000) == 0);
	uploader_free(u);
	T_CHECK(f.calls == 2);
	T_CHECK(strcmp(f.gpids[0], "") == 0 && strcmp(f.gpids[1], "77") == 0);
}

T_TEST(other_4xx_dropped)
{
	struct fake f;
	fresh(&f);
	f.script[0] = 400;
	f.n_script = 1;
	struct uploader *u = mk(&f);
	T_REQUIRE(u != NULL);
	T_CHECK(submit(u, "bad") == 0);
	T_CHECK(submit(u, "good") == 0);
	T_CHECK(uploader_wait_idle(u, 5000) == 0);
	struct uploader_stats st;
	uploader_get_stats(u, &st);
	uploader_free(u);
	T_CHECK(st.rejected == 1 && st.sent == 1);
	T_CHECK(f.accepted == 1 && strcmp(f.profiles[0], "good") == 0);
}

T_TEST(survives_restart_while_server_down)
{
	struct fake down;
	fresh(&down);
	for (int i = 0; i < MAX_CALLS; i++)
		down.script[i] = 0;
	down.n_script = MAX_CALLS;
	struct uploader *u = mk(&down);
	T_REQUIRE(u != NULL);
	T_CHECK(submit(u, "kept-1") == 0);
	T_CHECK(submit(u, "kept-2") == 0);
	T_CHECK(uploader_wait_idle(u, 50) == -ETIMEDOUT);
	uploader_free(u);          /* the agent stops with the server still down */

	struct fake up;
	memset(&up, 0, sizeof(up));
	pthread_mutex_init(&up.mu, NULL);
	u = mk(&up);               /* same spool directory */
	T_REQUIRE(u != NULL);
	T_CHECK(uploader_wait_idle(u, 5000) == 0);
	uploader_free(u);
	T_CHECK(up.accepted == 2);
	T_CHECK(strcmp(up.profiles[0], "kept-1") == 0 && strcmp(up.profiles[1], "kept-2") == 0);
}

T_TEST(non_utf8_profile_kept)
{
	struct fake f;
	fresh(&f);
	struct uploader *u = mk(&f);
	T_REQUIRE(u != NULL);
	T_CHECK(submit(u, "a;b\xff\xfe;c 1") == 0);
	T_CHECK(uploader_wait_idle(u, 5000) == 0);
	uploader_free(u);
	T_CHECK(f.accepted == 1 && strcmp(f.profiles[0], "a;b??;c 1") == 0);
}

T_TEST(urlencode)
{
	struct buf b;
	buf_init(&b, 64);
	T_CHECK(uploader_urlencode("a b&c=d/é~", &b) == 0);
	T_CHECK(strcmp(buf_cstr(&b), "a%20b%26c%3Dd%2F%C3%A9~") == 0);
	buf_release(&b);
	buf_init(&b, 4);
	T_CHECK(uploader_urlencode("&&&", &b) == -ENOSPC);
	buf_release(&b);
}

int main(void)
{
	T_RUN(retries_in_order_and_carries_gpid);
	T_RUN(gpid_used_after_first_answer);
	T_RUN(other_4xx_dropped);
	T_RUN(survives_restart_while_server_down);
	T_RUN(non_utf8_profile_kept);
	T_RUN(urlencode);
	fixture_rmtree(dir);
	return t_done();
}
