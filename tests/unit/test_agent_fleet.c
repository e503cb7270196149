/* Heartbeat mode against a scripted server and a fake profiler: priorities, idempotency across
 * restarts, completion reports and their retry. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"
#include "t.h"
#include "agent_fixtures.h"

#define MAXREC 64

struct fake {
	/* server side */
	const char *answers[MAXREC];   /* heartbeat answers, in order; then "no command" */
	int n_answers, next_answer;
	int down;                      /* transport errors for everything */
	char reports[MAXREC][80];      /* "id:completed" / "id:failed:msg" */
	int n_reports;
	int heartbeats;
	char last_executed[MAXREC][40]; int n_last_executed;
	/* profiler side */
	char began[MAXREC][CMDSTATE_ID_MAX + 1];
	int n_began;
	int live, finished_early, fail_begin;
	int64_t last_duration, last_frequency;
	int ended;
};

static int fake_post(void *ctx, const char *url, const char *const *headers, const void *body,
		     size_t len, long *status, struct buf *resp)
{
	struct fake *f = ctx;
	(void)headers;
	if (f->down)
		return -ECONNREFUSED;
	json_t *j = json_loadb(body, len, 0, NULL);
	*status = 200;
	if (strstr(url, "/api/metrics/heartbeat")) {
		json_t *ex = json_object_get(j, "executed_command_ids");
		size_t i;
		json_t *e;
		f->heartbeats++;
		f->n_last_executed = 0;
		json_array_foreach(ex, i, e)
			if (f->n_last_executed < MAXREC)
				snprintf(f->last_executed[f->n_last_executed++], 40, "%s", json_string_value(e));
		json_decref(j);
		if (f->next_answer < f->n_answers)
			return buf_puts(resp, f->answers[f->next_answer++]);
		return buf_puts(resp, "{\"success\":true,\"profiling_command\":null,\"command_id\":null}");
	}
	if (strstr(url, "/api/metrics/command_completion") && f->n_reports < MAXREC) {
		const char *em = json_string_value(json_object_get(j, "error_message"));
		snprintf(f->reports[f->n_reports++], 80, "%s:%s%s%s",
			 json_string_value(json_object_get(j, "command_id")),
			 json_string_value(json_object_get(j, "status")), em ? ":" : "", em ? em : "");
	}
	json_decref(j);
	return buf_puts(resp, "{\"success\":true}");
}

static void *s_begin(void *ctx, const struct hb_command *c, char *err, size_t n)
{
	struct fake *f = ctx;
	if (f->fail_begin) {
		snprintf(err, n, "no BPF here");
		return NULL;
	}
	snprintf(f->began[f->n_began++], sizeof(f->began[0]), "%s", c->id);
	f->last_duration = c->duration;
	f->last_frequency = c->frequency;
	f->live++;
	f->finished_early = 0;
	return f;
}
static void s_stop(void *ctx, void *s) { (void)ctx; (void)s; }
static int s_done(void *ctx, void *s) { (void)s; return ((struct fake *)ctx)->finished_early; }
static int s_end(void *ctx, void *s, char *err, size_t n)
{
	struct fake *f = ctx;
	(void)s; (void)err; (void)n;
	f->live--;
	f->ended++;
	return 0;
}

static char dir[64];

static struct fleet *mk(struct fake *f)
{
	struct httpc_transport tr = { .post = fake_post, .ctx = f };
	struct fleet_cfg c = {
		.api_server = "http://srv:1", .token = "t",
		.id = { .hostname = "me", .ip_address = "127.0.0.1", .service_name = "svc",
			.agent_version = "0.1.0" },
		.state_dir = dir, .heartbeat_interval_ms = 1000, .default_duration = 60,
		.default_frequency = 11, .transport = &tr,
		.ops = { s_begin, s_stop, s_done, s_end, f },
	};
	return fleet_new(&c);
}

/* The fleet for f, whose answers are set (n_answers is counted here). Stops the test when it
 * cannot be made. */
static struct fleet *open_fleet(struct fake *f)
{
	struct fleet *fl;
	for (f->n_answers = 0; f->n_answers < MAXREC && f->answers[f->n_answers];)
		f->n_answers++;
	fl = mk(f);
	T_REQUIRE(fl != NULL);
	return fl;
}

static void fresh(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	fixture_tmpdir(dir, sizeof(dir), "fp-fleet-");
}

#define START(id, cont) "{\"success\":true,\"command_id\":\"" id "\",\"profiling_command\":" \
	"{\"command_type\":\"start\",\"combined_config\":{\"duration\":30,\"frequency\":99," \
	"\"continuous\":" cont "}}}"
#define STOP(id) "{\"success\":true,\"command_id\":\"" id "\",\"profiling_command\":" \
	"{\"command_type\":\"stop\",\"combined_config\":{}}}"

static int has_report(const struct fake *f, const char *want)
{
	for (int i = 0; i < f->n_reports; i++)
		if (strcmp(f->reports[i], want) == 0)
			return 1;
	return 0;
}

T_TEST(adhoc_runs_once_and_reports)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = START("c1", "false");
	f.answers[1] = START("c1", "false");   /* re-delivered until the report lands */
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	T_CHECK(f.n_began == 1 && !strcmp(f.began[0], "c1"));
	T_CHECK(f.last_duration == 30 && f.last_frequency == 99);
	fleet_tick(fl, 100, 1);                  /* the same id again: ignored */
	T_CHECK(f.n_began == 1);
	T_CHECK(f.n_last_executed == 0);         /* still running: never reported as executed */
	f.finished_early = 1;                    /* the run ends by itself */
	fleet_tick(fl, 200, 0);
	T_CHECK(f.live == 0);
	T_CHECK(has_report(&f, "c1:completed"));
	fleet_tick(fl, 300, 1);
	T_CHECK(f.n_last_executed == 1 && !strcmp(f.last_executed[0], "c1"));
	fleet_free(fl);

	/* restart: the server delivers c1 once more (say it lost the report) — not run again */
	struct fake g;
	memset(&g, 0, sizeof(g));
	g.answers[0] = START("c1", "false");
	fl = open_fleet(&g);
	fleet_tick(fl, 0, 1);
	T_CHECK(g.n_began == 0);
	T_CHECK(g.n_reports == 0);               /* it was reported before the restart */
	fleet_free(fl);
}

T_TEST(adhoc_pauses_continuous_then_resumes)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = START("cont", "true");
	f.answers[1] = START("adhoc", "false");
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	fleet_tick(fl, 1000, 1);
	T_CHECK(f.n_began == 2 && !strcmp(f.began[1], "adhoc"));
	T_CHECK(f.live == 1 && f.ended == 1);    /* the continuous session was ended (paused) */
	T_CHECK(f.n_reports == 0);               /* a pause is not a completion */
	f.finished_early = 1;
	fleet_tick(fl, 2000, 0);
	T_CHECK(has_report(&f, "adhoc:completed"));
	T_CHECK(f.n_began == 3 && !strcmp(f.began[2], "cont"));   /* resumed */
	struct fleet_stats st;
	fleet_get_stats(fl, &st);
	T_CHECK(st.session_running && st.running_continuous && !strcmp(st.running_id, "cont"));
	fleet_free(fl);
}

T_TEST(stop_wins_and_cancels_queue)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = START("a1", "false");
	f.answers[1] = START("a2", "false");     /* queued behind a1 */
	f.answers[2] = START("k1", "true");      /* waits for the ad-hoc runs */
	f.answers[3] = STOP("s1");
	struct fleet *fl = open_fleet(&f);
	for (int i = 0; i < 4; i++)
		fleet_tick(fl, i * 1000, 1);
	T_CHECK(f.n_began == 1 && f.live == 0);
	T_CHECK(has_report(&f, "a1:completed"));
	T_CHECK(has_report(&f, "a2:failed:cancelled by stop command s1"));
	T_CHECK(has_report(&f, "k1:completed"));
	T_CHECK(has_report(&f, "s1:completed"));
	T_CHECK(f.n_reports == 4);
	fleet_free(fl);
}

T_TEST(new_continuous_replaces_old)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = START("k1", "true");
	f.answers[1] = START("k2", "true");
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	fleet_tick(fl, 1000, 1);
	T_CHECK(f.n_began == 2 && f.live == 1 && !strcmp(f.began[1], "k2"));
	T_CHECK(has_report(&f, "k1:completed") && f.n_reports == 1);
	fleet_free(fl);
}

T_TEST(stop_with_nothing_running_and_other_host)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = STOP("s0");
	f.answers[1] = "{\"command_id\":\"x1\",\"profiling_command\":{\"command_type\":\"start\","
		       "\"combined_config\":{\"target_hostnames\":[\"other\"]}}}";
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	fleet_tick(fl, 1000, 1);
	T_CHECK(f.n_began == 0);
	T_CHECK(has_report(&f, "s0:completed"));
	T_CHECK(has_report(&f, "x1:failed:command targets other hosts; skipped"));
	fleet_free(fl);
}

T_TEST(reports_retried_after_outage_and_restart)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = START("r1", "false");
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	f.down = 1;
	f.finished_early = 1;
	fleet_tick(fl, 100, 0);                  /* finished, but the report cannot be delivered */
	T_CHECK(f.n_reports == 0);
	struct fleet_stats st;
	fleet_get_stats(fl, &st);
	T_CHECK(st.owed_reports == 1);
	f.down = 0;
	fleet_tick(fl, 200, 1);                  /* next heartbeat: sent */
	T_CHECK(has_report(&f, "r1:completed"));
	fleet_free(fl);

	/* kill -9 while a command ran (state EXECUTED, never reported): reported failed at start */
	struct fake g;
	memset(&g, 0, sizeof(g));
	g.answers[0] = START("r2", "true");
	fl = open_fleet(&g);
	fleet_tick(fl, 0, 1);
	T_CHECK(g.n_began == 1);
	g.down = 1;                              /* nothing gets out */
	/* simulate the crash: drop the object without ending (free would end the session) */
	fleet_free(fl);
	struct fake h;
	memset(&h, 0, sizeof(h));
	h.answers[0] = START("r2", "true");      /* still re-delivered by the server */
	fl = open_fleet(&h);
	fleet_tick(fl, 0, 1);
	T_CHECK(h.n_began == 0);
	T_CHECK(has_report(&h, "r2:failed:agent restarted while the command was in progress"));
	fleet_free(fl);
}

T_TEST(unrunnable_command_reported_failed)
{
	struct fake f;
	fresh(&f);
	f.answers[0] = "{\"command_id\":\"u1\",\"profiling_command\":{\"command_type\":\"start\","
		       "\"combined_config\":{\"duration\":999999}}}";
	f.answers[1] = f.answers[0];   /* re-delivered: reported once, never run */
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	fleet_tick(fl, 1000, 1);
	T_CHECK(f.n_began == 0);
	T_CHECK(f.n_reports == 1);
	T_CHECKF(strncmp(f.reports[0], "u1:failed:combined_config.duration", 34) == 0, "report %s",
		 f.reports[0]);
	fleet_free(fl);
}

T_TEST(begin_failure_reported)
{
	struct fake f;
	fresh(&f);
	f.fail_begin = 1;
	f.answers[0] = START("b1", "false");
	struct fleet *fl = open_fleet(&f);
	fleet_tick(fl, 0, 1);
	T_CHECK(has_report(&f, "b1:failed:no BPF here"));
	fleet_free(fl);
}

int main(void)
{
	T_RUN(adhoc_runs_once_and_reports);
	T_RUN(adhoc_pauses_continuous_then_resumes);
	T_RUN(stop_wins_and_cancels_queue);
	T_RUN(new_continuous_replaces_old);
	T_RUN(stop_with_nothing_running_and_other_host);
	T_RUN(reports_retried_after_outage_and_restart);
	T_RUN(unrunnable_command_reported_failed);
	T_RUN(begin_failure_reported);
	fixture_rmtree(dir);
	return t_done();
}
