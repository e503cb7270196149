/* test_server_store.c — the control store (server/store/control.h) on its SQLite member, a real
 * database in a temp dir per test: migrations, heartbeats, requests and commands with their
 * supersede rules, completion, history. The sample store: test_server_store_profiles.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "log.h"
#include "server_fixtures.h"
#include "store/store.h"
#include "t.h"

static char dir[256], dbpath[300];
static struct store st;

/* Open the store on a fresh database with the schema in schema_dir. */
static int open_at(const char *schema_dir)
{
	struct store_options o = { .schema_dir = schema_dir };

	return store_open(&st, dbpath, NULL, &o);
}

static struct control *open_ctl(void)
{
	const char *d = sfx_tmpdir("fp-store");

	T_REQUIRE(d != NULL);
	snprintf(dir, sizeof(dir), "%s", d);
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", dir);
	T_REQUIRE(open_at(sfx_schema()) == 0);
	return st.control;
}

static void close_ctl(void)
{
	store_close(&st);
	sfx_rmtree(dir);
}

/* ---- migrations ---- */

T_TEST(migrations_fresh_reopen_newer)
{
	char mdir[400];
	const char *d = sfx_tmpdir("fp-store");

	T_REQUIRE(d != NULL);
	snprintf(dir, sizeof(dir), "%s", d);
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", dir);
	snprintf(mdir, sizeof(mdir), "%s/schema", dir);
	T_REQUIRE(mkdir(mdir, 0700) == 0);
	T_REQUIRE(sfx_write(mdir, "001_a.sql", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);") == 0);
	T_REQUIRE(sfx_write(mdir, "002_b.sql", "INSERT INTO a VALUES (2);") == 0);
	T_REQUIRE(sfx_write(mdir, "README", "not a migration") == 0);

	T_REQUIRE(open_at(mdir) == 0);
	T_CHECK(st.control->schema_version == 2);
	T_CHECK(st.samples->schema_version == 2);
	store_close(&st);
	T_CHECK(sfx_sql_int(dbpath, "SELECT count(*) FROM a") == 2);
	T_CHECK(strcmp(sfx_sql_text(dbpath, "PRAGMA journal_mode"), "wal") == 0);

	/* re-open: nothing re-applied */
	T_REQUIRE(open_at(mdir) == 0);
	T_CHECK(st.control->schema_version == 2);
	store_close(&st);
	T_CHECK(sfx_sql_int(dbpath, "SELECT count(*) FROM a") == 2);

	/* a new migration is applied on the next open */
	T_REQUIRE(sfx_write(mdir, "003_c.sql", "INSERT INTO a VALUES (3);") == 0);
	T_REQUIRE(open_at(mdir) == 0);
	T_CHECK(st.control->schema_version == 3);
	store_close(&st);
	T_CHECK(sfx_sql_int(dbpath, "SELECT sum(x) FROM a") == 6);

	/* a failing migration applies nothing and leaves the version */
	T_REQUIRE(sfx_write(mdir, "004_bad.sql", "INSERT INTO a VALUES (4); THIS IS NOT SQL;") == 0);
	T_CHECK(open_at(mdir) == -EIO && !st.control && !st.samples);
	T_CHECK(sfx_sql_int(dbpath, "PRAGMA user_version") == 3);
	T_CHECK(sfx_sql_int(dbpath, "SELECT count(*) FROM a") == 3);
	unlink(strcat(strcpy((char[600]){ 0 }, mdir), "/004_bad.sql"));

	/* a database newer than the code: refused with EPROTO, untouched */
	T_CHECK(sfx_sql_exec(dbpath, "PRAGMA user_version = 9") == SQLITE_OK);
	T_CHECK(open_at(mdir) == -EPROTO);
	T_CHECK(sfx_sql_int(dbpath, "PRAGMA user_version") == 9);

	/* the real schema */
	unlink(dbpath);
	T_REQUIRE(open_at(sfx_schema()) == 0);
	T_CHECK(st.control->schema_version >= 1);
	store_close(&st);
	T_CHECK(open_at("/nonexistent/schema") < 0);
	/* no member takes a URL it does not know */
	{
		struct store_options o = { .schema_dir = sfx_schema() };

		T_CHECK(store_open(&st, "mysql://db/x", NULL, &o) == -ENOENT);
	}
	sfx_rmtree(dir);
}

/* ---- heartbeats and commands ---- */

static int hb(const char *host, const char *svc, int64_t now, const char *const *executed,
	      size_t n_exec, struct ctl_command *out)
{
	struct ctl_heartbeat h = { .hostname = host, .service_name = svc, .ip_address = "10.0.0.1",
				   .agent_version = "1.2.3", .status = "OK",
				   .executed_ids = executed, .n_executed = n_exec, .now = now };
	return st.control->ops->heartbeat(st.control, &h, out);
}

/* A request for one host (or, host NULL, for the service's recent hosts) whose combined_config
 * is cfg; the command id into cid (37 bytes), the request id into rid. */
static int request1(const char *svc, enum ctl_req_type type, const char *host, const char *cfg,
		    int64_t now, char *cid, char *rid)
{
	struct ctl_target t = { .hostname = host, .config = cfg };
	struct ctl_request r = { .service_name = svc, .type = type, .config = "{}",
				 .targets = host ? &t : NULL, .n_targets = host ? 1 : 0,
				 .host_config = cfg, .now = now, .recent_window = 300 };
	struct ctl_created c;
	int rc = st.control->ops->create_request(st.control, &r, &c);

	if (rc == 0) {
		if (cid)
			snprintf(cid, 37, "%s", c.command_ids[0]);
		if (rid)
			snprintf(rid, 37, "%s", c.request_id);
	}
	ctl_created_release(&c);
	return rc;
}

struct find {
	const char *cid, *field;
	char out[256];
};

static int find_cmd(void *ctx, const struct ctl_cmd_row *c)
{
	struct find *f = ctx;
	const char *v = NULL;
	char num[32];

	if (strcmp(c->command_id, f->cid) != 0)
		return 0;
	if (!strcmp(f->field, "status"))
		v = c->status;
	else if (!strcmp(f->field, "request_status"))
		v = c->request_status;
	else if (!strcmp(f->field, "error_message"))
		v = c->error_message;
	else if (!strcmp(f->field, "results_path"))
		v = c->results_path;
	else if (!strcmp(f->field, "config"))
		v = c->config;
	else if (!strcmp(f->field, "sent_at") || !strcmp(f->field, "completed_at")) {
		snprintf(num, sizeof(num), "%lld", (long long)(f->field[0] == 's' ? c->sent_at
										  : c->completed_at));
		v = num;
	} else if (!strcmp(f->field, "execution_time")) {
		snprintf(num, sizeof(num), "%g", c->execution_time);
		v = num;
	}
	snprintf(f->out, sizeof(f->out), "%s", v ? v : "(null)");
	return 1;
}

/* A field of command cid, from the history of host. */
static const char *cmd_field(const char *host, const char *cid, const char *field)
{
	static struct find f;
	int64_t total;

	f = (struct find){ .cid = cid, .field = field };
	T_REQUIRE(st.control->ops->list_commands(st.control, host, NULL, 1000, 0, &total, find_cmd,
						 &f) >= 0);
	return f.out;
}

struct hosts {
	int n, active;
	int64_t now;
	char first_status[16], first_cmd[40], first_ip[32], first_svc[64];
	int64_t first_seen;
};

static int count_host(void *ctx, const struct ctl_host *h)
{
	struct hosts *c = ctx;

	if (c->n++ == 0) {
		snprintf(c->first_status, sizeof(c->first_status), "%s",
			 h->command_status ? h->command_status : "");
		snprintf(c->first_cmd, sizeof(c->first_cmd), "%s", h->command_id ? h->command_id : "");
		snprintf(c->first_ip, sizeof(c->first_ip), "%s", h->ip_address ? h->ip_address : "");
		snprintf(c->first_svc, sizeof(c->first_svc), "%s", h->service_name);
		c->first_seen = h->last_seen;
	}
	c->active += c->now - h->last_seen <= 90;
	return 0;
}

static struct hosts host_status(const char *svc, const char *host, int64_t now)
{
	struct hosts c = { .now = now };

	T_REQUIRE(st.control->ops->host_status(st.control, svc, host, count_host, &c) == 0);
	return c;
}

static const char *const START_CFG = "{\"duration\":45,\"pids\":[123,456]}";

T_TEST(command_lifecycle)
{
	struct control *c = open_ctl();
	struct ctl_command cmd;
	struct ctl_request_info info;
	char cid[37], rid[37], cid2[37];
	struct hosts hs;

	T_CHECK(hb("h1", "svc", 1000, NULL, 0, &cmd) == 0);
	T_CHECK(cmd.command_id[0] == '\0' && cmd.config == NULL);

	T_REQUIRE(request1("svc", CTL_REQ_START, "h1", START_CFG, 1001, cid, rid) == 0);
	T_CHECK(strlen(cid) == 36 && cid[14] == '4'); /* UUID v4 */
	T_CHECK(strcmp(cmd_field("h1", cid, "status"), "pending") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "request_status"), "pending") == 0);

	hs = host_status("svc", "h1", 1002);
	T_CHECK(hs.n == 1 && hs.active == 1);
	T_CHECK(strcmp(hs.first_status, "pending") == 0 && strcmp(hs.first_cmd, cid) == 0);
	T_CHECK(strcmp(hs.first_ip, "10.0.0.1") == 0 && hs.first_seen == 1000);

	/* delivery: pending -> sent, the config exactly as stored */
	T_CHECK(hb("h1", "svc", 1010, NULL, 0, &cmd) == 0);
	T_CHECK(strcmp(cmd.command_id, cid) == 0 && strcmp(cmd.command_type, "start") == 0);
	T_CHECK(cmd.config && strcmp(cmd.config, START_CFG) == 0);
	ctl_command_release(&cmd);
	T_CHECK(strcmp(cmd_field("h1", cid, "status"), "sent") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "sent_at"), "1010") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "request_status"), "sent") == 0);
	/* re-delivered until completed */
	T_CHECK(hb("h1", "svc", 1020, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, cid) == 0);
	ctl_command_release(&cmd);

	/* completion, idempotent, first report kept */
	T_CHECK(c->ops->complete_command(c, cid, "other-host", CTL_CMD_COMPLETED, 1, NULL, NULL,
					 1030) == -EINVAL);
	T_CHECK(c->ops->complete_command(c, cid, "h1", CTL_CMD_COMPLETED, 2.5, NULL, "/r", 1030) == 0);
	T_CHECK(c->ops->complete_command(c, cid, "h1", CTL_CMD_COMPLETED, 2.5, NULL, "/r", 1031) == 0);
	T_CHECK(c->ops->complete_command(c, cid, "h1", CTL_CMD_FAILED, 3, "late", NULL, 1032) == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "status"), "completed") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "error_message"), "(null)") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "completed_at"), "1030") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "execution_time"), "2.5") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid, "results_path"), "/r") == 0);
	T_CHECK(c->ops->complete_command(c, "00000000-0000-4000-8000-000000000000", "h1",
					 CTL_CMD_COMPLETED, 0, NULL, NULL, 1033) == -ENOENT);

	T_CHECK(c->ops->get_request(c, rid, &info) == 0);
	T_CHECK(strcmp(info.status, "completed") == 0 && info.n_commands == 1);
	T_CHECK(strcmp(info.service_name, "svc") == 0 && strcmp(info.request_type, "start") == 0);
	T_CHECK(c->ops->get_request(c, "nope", &info) == -ENOENT);

	/* nothing more to deliver */
	T_CHECK(hb("h1", "svc", 1040, NULL, 0, &cmd) == 0 && cmd.command_id[0] == '\0');

	/* failure report on a pending command */
	T_REQUIRE(request1("svc", CTL_REQ_START, "h1", "{}", 1050, cid2, rid) == 0);
	T_CHECK(c->ops->complete_command(c, cid2, "h1", CTL_CMD_FAILED, NAN, "no such pid", NULL,
					 1051) == 0);
	T_CHECK(strcmp(cmd_field("h1", cid2, "status"), "failed") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid2, "error_message"), "no such pid") == 0);
	T_CHECK(strcmp(cmd_field("h1", cid2, "execution_time"), "nan") == 0);
	T_CHECK(c->ops->get_request(c, rid, &info) == 0 && strcmp(info.status, "failed") == 0);
	close_ctl();
}

T_TEST(supersede_and_stop_precedence)
{
	struct control *c = open_ctl();
	struct ctl_command cmd;
	char a[37], b[37], stop[37], st2[37], c1[37], c2[37], want[80], s1[37], s2[37];

	/* start A then start B: A superseded by B */
	T_REQUIRE(request1("svc", CTL_REQ_START, "h2", "{\"d\":10}", 100, a, NULL) == 0);
	T_REQUIRE(request1("svc", CTL_REQ_START, "h2", "{\"d\":20}", 101, b, NULL) == 0);
	T_CHECK(strcmp(cmd_field("h2", a, "status"), "failed") == 0);
	snprintf(want, sizeof(want), "superseded by %s", b);
	T_CHECK(strcmp(cmd_field("h2", a, "error_message"), want) == 0);
	T_CHECK(strcmp(cmd_field("h2", b, "status"), "pending") == 0);

	/* delivered (sent) commands are not superseded */
	T_CHECK(hb("h2", "svc", 102, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, b) == 0);
	T_CHECK(strcmp(cmd.config, "{\"d\":20}") == 0);
	ctl_command_release(&cmd);
	T_REQUIRE(request1("svc", CTL_REQ_START, "h2", "{\"d\":30}", 103, c1, NULL) == 0);
	T_CHECK(strcmp(cmd_field("h2", b, "status"), "sent") == 0);
	/* the pending one goes first, then the newest sent one again */
	T_CHECK(hb("h2", "svc", 104, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, c1) == 0);
	ctl_command_release(&cmd);
	T_CHECK(hb("h2", "svc", 105, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, c1) == 0);
	ctl_command_release(&cmd);

	/* start then stop: the stop supersedes the pending start */
	T_REQUIRE(request1("svc", CTL_REQ_START, "h4", "{}", 110, c2, NULL) == 0);
	T_REQUIRE(request1("svc", CTL_REQ_STOP, "h4", "{\"stop_level\":\"host\"}", 111, stop,
			   NULL) == 0);
	T_CHECK(strcmp(cmd_field("h4", c2, "status"), "failed") == 0);
	T_CHECK(hb("h4", "svc", 112, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, stop) == 0);
	T_CHECK(strcmp(cmd.command_type, "stop") == 0);
	ctl_command_release(&cmd);

	/* stop then start: the pending stop is kept and delivered first, then the start */
	T_REQUIRE(request1("svc", CTL_REQ_STOP, "h3", "{}", 120, stop, NULL) == 0);
	T_REQUIRE(request1("svc", CTL_REQ_START, "h3", "{}", 121, st2, NULL) == 0);
	T_CHECK(strcmp(cmd_field("h3", stop, "status"), "pending") == 0);
	T_CHECK(strcmp(cmd_field("h3", st2, "status"), "pending") == 0);
	T_CHECK(hb("h3", "svc", 122, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, stop) == 0);
	ctl_command_release(&cmd);
	T_CHECK(c->ops->complete_command(c, stop, "h3", CTL_CMD_COMPLETED, 0, NULL, NULL, 123) == 0);
	T_CHECK(hb("h3", "svc", 124, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, st2) == 0);
	T_CHECK(strcmp(cmd.command_type, "start") == 0);
	ctl_command_release(&cmd);
	/* a second stop supersedes a pending stop */
	T_REQUIRE(request1("svc", CTL_REQ_STOP, "h6", "{}", 130, s1, NULL) == 0);
	T_REQUIRE(request1("svc", CTL_REQ_STOP, "h6", "{}", 131, s2, NULL) == 0);
	T_CHECK(strcmp(cmd_field("h6", s1, "status"), "failed") == 0);
	close_ctl();
}

T_TEST(executed_ids)
{
	struct control *c = open_ctl();
	struct ctl_command cmd;
	char e[37], other[37];

	T_REQUIRE(request1("svc", CTL_REQ_START, "h5", "{}", 100, e, NULL) == 0);
	T_REQUIRE(request1("svc", CTL_REQ_START, "h7", "{}", 100, other, NULL) == 0);
	T_CHECK(hb("h5", "svc", 101, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, e) == 0);
	ctl_command_release(&cmd);
	/* executed: completed, not delivered again; another host's id is not touched */
	const char *ids[] = { e, other, "unknown-id" };
	T_CHECK(hb("h5", "svc", 102, ids, 3, &cmd) == 0 && cmd.command_id[0] == '\0');
	T_CHECK(strcmp(cmd_field("h5", e, "status"), "completed") == 0);
	T_CHECK(strcmp(cmd_field("h7", other, "status"), "pending") == 0);
	/* executed ids of an already terminal command change nothing */
	T_CHECK(c->ops->complete_command(c, other, "h7", CTL_CMD_FAILED, 0, "x", NULL, 103) == 0);
	const char *ids2[] = { other };
	T_CHECK(hb("h7", "svc", 104, ids2, 1, &cmd) == 0 && cmd.command_id[0] == '\0');
	T_CHECK(strcmp(cmd_field("h7", other, "status"), "failed") == 0);
	T_CHECK(strcmp(host_status(NULL, "h5", 105).first_status, "completed") == 0);
	close_ctl();
}

struct svc_list {
	int n;
	char first[64];
	int64_t first_hosts;
};

static int count_service(void *ctx, const struct ctl_service *s)
{
	struct svc_list *l = ctx;

	if (l->n++ == 0) {
		snprintf(l->first, sizeof(l->first), "%s", s->service_name);
		l->first_hosts = s->hosts;
	}
	return 0;
}

static int64_t count_commands(const char *host, const char *svc)
{
	int64_t total = -1;
	struct find f = { .cid = "", .field = "" };

	T_REQUIRE(st.control->ops->list_commands(st.control, host, svc, 10, 0, &total, find_cmd,
						 &f) == 0);
	return total;
}

T_TEST(request_without_targets)
{
	struct control *c = open_ctl();
	struct ctl_command cmd;
	struct ctl_created cr;
	struct svc_list sl = { 0 };
	int64_t now = 100000;

	T_CHECK(hb("r1", "svc-b", now - 10, NULL, 0, &cmd) == 0);
	T_CHECK(hb("r2", "svc-b", now - 300, NULL, 0, &cmd) == 0);
	T_CHECK(hb("old", "svc-b", now - 301, NULL, 0, &cmd) == 0);
	T_CHECK(hb("elsewhere", "svc-c", now, NULL, 0, &cmd) == 0);
	/* one hostname under two services is two hosts */
	T_CHECK(hb("both", "svc-c", now - 5, NULL, 0, &cmd) == 0);
	T_CHECK(hb("both", "svc-b", now - 4, NULL, 0, &cmd) == 0);

	struct ctl_request r = { .service_name = "svc-b", .type = CTL_REQ_START, .config = "{}",
				 .host_config = "{\"all\":1}", .now = now, .recent_window = 300 };
	T_REQUIRE(c->ops->create_request(c, &r, &cr) == 0);
	T_CHECK(cr.n == 3);
	ctl_created_release(&cr);
	T_CHECK(count_commands(NULL, "svc-b") == 3);

	r.service_name = "svc-nobody";
	T_CHECK(c->ops->create_request(c, &r, &cr) == -ENOENT && cr.n == 0 && !cr.command_ids);
	T_CHECK(count_commands(NULL, NULL) == 3);
	T_CHECK(sfx_sql_int(dbpath, "SELECT count(*) FROM requests") == 1);

	/* host_status filters and counts */
	struct hosts hs = host_status("svc-b", NULL, now);
	T_CHECK(hs.n == 4 && hs.active == 2);   /* r1, both */
	hs = host_status(NULL, NULL, now);
	T_CHECK(hs.n == 6);
	hs = host_status(NULL, "both", now);
	T_CHECK(hs.n == 2 && strcmp(hs.first_svc, "svc-b") == 0);

	T_CHECK(c->ops->list_services(c, count_service, &sl) == 0);
	T_CHECK(sl.n == 2 && strcmp(sl.first, "svc-b") == 0 && sl.first_hosts == 4);
	/* the command for (svc-b, both) is not delivered to (svc-c, both) */
	T_CHECK(hb("both", "svc-c", now, NULL, 0, &cmd) == 0 && cmd.command_id[0] == '\0');
	T_CHECK(hb("both", "svc-b", now, NULL, 0, &cmd) == 0 && cmd.command_id[0] != '\0');
	T_CHECK(cmd.config && strcmp(cmd.config, "{\"all\":1}") == 0);
	ctl_command_release(&cmd);
	close_ctl();
}

T_TEST(request_status_and_paging)
{
	struct control *c = open_ctl();
	struct ctl_target t[3] = { { .hostname = "p2", .config = "{}" },
				   { .hostname = "p1", .config = "{}" },
				   { .hostname = "p2", .config = "{\"second\":1}" } };
	struct ctl_request r = { .service_name = "svc", .type = CTL_REQ_START, .config = "{}",
				 .targets = t, .n_targets = 3, .now = 10 };
	struct ctl_request_info info;
	struct ctl_created cr;
	char last[37] = "", id1[37], id2[37], rid[37];
	struct find f;
	int64_t total;

	T_REQUIRE(c->ops->create_request(c, &r, &cr) == 0);
	T_REQUIRE(cr.n == 2);   /* duplicate p2 counted once */
	snprintf(rid, sizeof(rid), "%s", cr.request_id);
	snprintf(id1, sizeof(id1), "%s", cr.command_ids[0]);   /* p1 */
	snprintf(id2, sizeof(id2), "%s", cr.command_ids[1]);   /* p2 */
	ctl_created_release(&cr);
	T_CHECK(strcmp(cmd_field("p2", id2, "config"), "{}") == 0);   /* the first one's config */
	T_CHECK(c->ops->complete_command(c, id1, "p1", CTL_CMD_COMPLETED, 1, NULL, NULL, 11) == 0);
	T_CHECK(c->ops->get_request(c, rid, &info) == 0 && strcmp(info.status, "sent") == 0);
	T_CHECK(c->ops->complete_command(c, id2, "p2", CTL_CMD_COMPLETED, 1, NULL, NULL, 12) == 0);
	T_CHECK(c->ops->get_request(c, rid, &info) == 0 && strcmp(info.status, "completed") == 0);

	/* 25 more commands for p1; paging newest first */
	for (int i = 0; i < 25; i++)
		T_CHECK(request1("svc", CTL_REQ_START, "p1", "{}", 20 + i, last, NULL) == 0);
	f = (struct find){ .cid = last, .field = "status" };
	T_CHECK(c->ops->list_commands(c, "p1", NULL, 1, 0, &total, find_cmd, &f) == 1);
	T_CHECK(total == 26 && strcmp(f.out, "pending") == 0);   /* the newest is the first */
	f = (struct find){ .cid = id1, .field = "status" };
	T_CHECK(c->ops->list_commands(c, "p1", "svc", 10, 25, &total, find_cmd, &f) == 1);
	T_CHECK(strcmp(f.out, "completed") == 0);   /* the oldest is the last */
	T_CHECK(count_commands(NULL, "other") == 0);
	close_ctl();
}

T_TEST(reopen_keeps_commands)
{
	struct ctl_command cmd;
	char cid[37];

	open_ctl();
	T_REQUIRE(request1("svc", CTL_REQ_START, "k1", "{\"duration\":9}", 50, cid, NULL) == 0);
	T_CHECK(hb("k1", "svc", 51, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, cid) == 0);
	ctl_command_release(&cmd);
	store_close(&st);
	T_REQUIRE(open_at(sfx_schema()) == 0);
	T_CHECK(strcmp(cmd_field("k1", cid, "status"), "sent") == 0);
	T_CHECK(hb("k1", "svc", 52, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, cid) == 0);
	T_CHECK(cmd.config && strcmp(cmd.config, "{\"duration\":9}") == 0);
	ctl_command_release(&cmd);
	close_ctl();
}

T_TEST(bad_arguments)
{
	struct control *c = open_ctl();
	struct ctl_command cmd;
	struct ctl_created cr;

	T_CHECK(hb(NULL, "svc", 1, NULL, 0, &cmd) == -EINVAL);
	T_CHECK(hb("h", "", 1, NULL, 0, &cmd) == -EINVAL);
	struct ctl_target t = { .hostname = "", .config = "{}" };
	struct ctl_request r = { .service_name = "svc", .config = "{}", .targets = &t,
				 .n_targets = 1 };
	T_CHECK(c->ops->create_request(c, &r, &cr) == -EINVAL);
	r.type = (enum ctl_req_type)7;
	t.hostname = "x";
	T_CHECK(c->ops->create_request(c, &r, &cr) == -EINVAL);
	r.type = CTL_REQ_START;
	t.config = NULL;
	T_CHECK(c->ops->create_request(c, &r, &cr) == -EINVAL);
	T_CHECK(c->ops->complete_command(c, NULL, "h", CTL_CMD_COMPLETED, 0, NULL, NULL, 1) ==
		-EINVAL);
	/* hostile strings are data, not SQL */
	T_CHECK(hb("x'); DROP TABLE hosts; --", "svc", 5, NULL, 0, &cmd) == 0);
	T_CHECK(host_status(NULL, "x'); DROP TABLE hosts; --", 5).n == 1);
	close_ctl();
}

/* A database written with schema 1 (hosts keyed by hostname alone) upgrades in place. */
T_TEST(upgrade_from_schema_1)
{
	char v1[400], src[600], dst[600];
	struct ctl_command cmd;
	struct svc_list sl = { 0 };
	const char *d = sfx_tmpdir("fp-store");

	T_REQUIRE(d != NULL);
	snprintf(dir, sizeof(dir), "%s", d);
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", dir);
	snprintf(v1, sizeof(v1), "%s/schema1", dir);
	T_REQUIRE(mkdir(v1, 0700) == 0);
	snprintf(src, sizeof(src), "%s/001_init.sql", sfx_schema());
	snprintf(dst, sizeof(dst), "%s/001_init.sql", v1);
	T_REQUIRE(link(src, dst) == 0 || symlink(src, dst) == 0);
	T_REQUIRE(open_at(v1) == 0);
	T_CHECK(st.control->schema_version == 1);
	store_close(&st);
	/* rows as the schema-1 server wrote them */
	T_REQUIRE(sfx_sql_exec(dbpath,
		"INSERT INTO hosts VALUES ('h1', 'svc', '10.0.0.9', '1.0', 'OK', NULL, 100, 200);"
		"INSERT INTO hosts VALUES ('h2', 'other', NULL, NULL, NULL, NULL, 150, 150);"
		"INSERT INTO requests VALUES ('r1', 'svc', 'start', '{}', 190);"
		"INSERT INTO commands (command_id, request_id, hostname, service_name, command_type,"
		" status, combined_config, created_at) VALUES"
		" ('c-sent', 'r1', 'h1', 'svc', 'start', 'sent', '{\"duration\":5}', 190),"
		" ('c-pend', 'r1', 'h1', 'svc', 'start', 'pending', '{\"duration\":6}', 191);") ==
		SQLITE_OK);

	T_REQUIRE(open_at(sfx_schema()) == 0);
	T_CHECK(st.control->schema_version >= 2);
	struct hosts hs = host_status("svc", "h1", 200);
	T_CHECK(hs.n == 1 && hs.first_seen == 200 && strcmp(hs.first_ip, "10.0.0.9") == 0);
	T_CHECK(strcmp(hs.first_cmd, "c-pend") == 0 && strcmp(hs.first_status, "pending") == 0);
	T_CHECK(st.control->ops->list_services(st.control, count_service, &sl) == 0 && sl.n == 2);
	/* the host heartbeating under another service does not get svc's command */
	T_CHECK(hb("h1", "other", 300, NULL, 0, &cmd) == 0 && cmd.command_id[0] == '\0');
	T_CHECK(hb("h1", "svc", 301, NULL, 0, &cmd) == 0 && strcmp(cmd.command_id, "c-pend") == 0);
	T_CHECK(cmd.config && strcmp(cmd.config, "{\"duration\":6}") == 0);
	ctl_command_release(&cmd);
	T_CHECK(host_status(NULL, "h1", 301).n == 2);
	T_CHECK(sfx_sql_int(dbpath, "SELECT count(*) FROM hosts") == 3);
	close_ctl();
}

int main(void)
{
	log_init("test_server_store", LOG_ERROR);
	T_RUN(migrations_fresh_reopen_newer);
	T_RUN(command_lifecycle);
	T_RUN(supersede_and_stop_precedence);
	T_RUN(executed_ids);
	T_RUN(request_without_targets);
	T_RUN(request_status_and_paging);
	T_RUN(reopen_keeps_commands);
	T_RUN(bad_arguments);
	T_RUN(upgrade_from_schema_1);
	return t_done();
}
