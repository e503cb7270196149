/* test_server_store.c — the store's migrations, hosts and commands (server/store.h), on a real
 * SQLite database in a temp dir per test. Profiles: test_server_store_profiles.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "log.h"
#include "store/store.h"
#include "t.h"

static char tdir[256], dbpath[300], schema[512];

static void setup(void)
{
	const char *root = getenv("FLEETPROF_ROOT");
	snprintf(schema, sizeof(schema), "%s/schema", root ? root : ".");
	snprintf(tdir, sizeof(tdir), "/tmp/fp-store-XXXXXX");
	if (!mkdtemp(tdir))
		abort();
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", tdir);
}

static void teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tdir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static int64_t sql_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_open(dbpath, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static const char *sql_text(const char *sql)
{
	static char out[64];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	if (sqlite3_open(dbpath, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static int sql_exec(const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(dbpath, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* ---- migrations ---- */

T_TEST(migrations_fresh_reopen_newer)
{
	setup();
	char mdir[400];
	snprintf(mdir, sizeof(mdir), "%s/schema", tdir);
	T_CHECK(mkdir(mdir, 0700) == 0);
	write_file(mdir, "001_a.sql", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);");
	write_file(mdir, "002_b.sql", "INSERT INTO a VALUES (2);");
	write_file(mdir, "README", "not a migration");

	struct store *s = store_open(dbpath, mdir);
	T_CHECK(s != NULL);
	T_CHECK(store_schema_version(s) == 2);
	store_close(s);
	T_CHECK(sql_int("SELECT count(*) FROM a") == 2);
	T_CHECK(strcmp(sql_text("PRAGMA journal_mode"), "wal") == 0);

	/* re-open: nothing re-applied */
	s = store_open(dbpath, mdir);
	T_CHECK(s != NULL && store_schema_version(s) == 2);
	store_close(s);
	T_CHECK(sql_int("SELECT count(*) FROM a") == 2);

	/* a new migration is applied on the next open */
	write_file(mdir, "003_c.sql", "INSERT INTO a VALUES (3);");
	s = store_open(dbpath, mdir);
	T_CHECK(s != NULL && store_schema_version(s) == 3);
	store_close(s);
	T_CHECK(sql_int("SELECT sum(x) FROM a") == 6);

	/* a failing migration applies nothing and leaves the version */
	write_file(mdir, "004_bad.sql", "INSERT INTO a VALUES (4); THIS IS NOT SQL;");
	s = store_open(dbpath, mdir);
	T_CHECK(s == NULL && errno == EIO);
	T_CHECK(sql_int("PRAGMA user_version") == 3);
	T_CHECK(sql_int("SELECT count(*) FROM a") == 3);
	unlink(strcat(strcpy((char[600]){ 0 }, mdir), "/004_bad.sql"));

	/* a database newer than the code: refused with EPROTO, untouched */
	T_CHECK(sql_exec("PRAGMA user_version = 9") == SQLITE_OK);
	errno = 0;
	s = store_open(dbpath, mdir);
	T_CHECKF(s == NULL && errno == EPROTO, "s=%p errno=%d", (void *)s, errno);
	store_close(s);
	T_CHECK(sql_int("PRAGMA user_version") == 9);

	/* the real schema */
	unlink(dbpath);
	s = store_open(dbpath, schema);
	T_CHECK(s != NULL && store_schema_version(s) == 1);
	store_close(s);
	T_CHECK(store_open(dbpath, "/nonexistent/schema") == NULL);
	teardown();
}

/* ---- commands ---- */

static struct store *open_real(void)
{
	setup();
	struct store *s = store_open(dbpath, schema);
	if (!s)
		abort();
	return s;
}

static void close_real(struct store *s)
{
	store_close(s);
	teardown();
}

static int hb(struct store *s, const char *host, const char *svc, int64_t now,
	      const char *const *executed, size_t n_exec, struct store_command *out)
{
	struct store_heartbeat h = { .hostname = host, .service_name = svc, .ip_address = "10.0.0.1",
				     .agent_version = "1.2.3", .status = "OK",
				     .executed_ids = executed, .n_executed = n_exec, .now = now };
	return store_heartbeat(s, &h, out);
}

/* request for one host; command id into cid (37 bytes), request id into rid */
static int request1(struct store *s, const char *svc, enum store_req_type type, const char *host,
		    const int64_t *pids, size_t n_pids, int64_t duration, int64_t now, char *cid,
		    char *rid)
{
	struct store_target t = { .hostname = host, .pids = pids, .n_pids = n_pids };
	struct store_request r = { .service_name = svc, .type = type, .continuous = true,
				   .duration = duration, .frequency = 19, .profiling_mode = "cpu",
				   .stop_level = type == STORE_REQ_STOP ? "host" : NULL,
				   .targets = host ? &t : NULL, .n_targets = host ? 1 : 0,
				   .now = now, .recent_window = 300 };
	json_t *res = NULL;
	int rc = store_create_request(s, &r, &res);
	if (rc == 0) {
		json_t *ids = json_object_get(res, "command_ids");
		if (cid)
			snprintf(cid, 37, "%s", json_string_value(json_array_get(ids, 0)));
		if (rid)
			snprintf(rid, 37, "%s", json_string_value(json_object_get(res, "request_id")));
	}
	json_decref(res);
	return rc;
}

/* status of command cid from the history */
static char *cmd_field(struct store *s, const char *host, const char *cid, const char *field)
{
	static char buf[256];
	buf[0] = '\0';
	json_t *l = store_list_commands(s, host, NULL, 1000, 0);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(l, "commands"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "command_id")), cid) == 0) {
			json_t *v = json_object_get(c, field);
			snprintf(buf, sizeof(buf), "%s",
				 json_is_string(v) ? json_string_value(v) : json_is_null(v) ? "(null)"
											 : "?");
		}
	}
	json_decref(l);
	return buf;
}

T_TEST(command_lifecycle)
{
	struct store *s = open_real();
	struct store_command c;
	char cid[37], rid[37];
	T_CHECK(hb(s, "h1", "svc", 1000, NULL, 0, &c) == 0);
	T_CHECK(c.command_id[0] == '\0' && c.combined_config == NULL);

	int64_t pids[] = { 123, 456 };
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h1", pids, 2, 45, 1001, cid, rid) == 0);
	T_CHECK(strlen(cid) == 36 && cid[14] == '4'); /* UUID v4 */
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "status"), "pending") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "request_status"), "pending") == 0);

	json_t *hs = store_host_status(s, "svc", "h1", 1002, 90);
	json_t *h0 = json_array_get(json_object_get(hs, "hosts"), 0);
	T_CHECK(json_integer_value(json_object_get(hs, "total_count")) == 1);
	T_CHECK(json_integer_value(json_object_get(hs, "active_count")) == 1);
	T_CHECK(strcmp(json_string_value(json_object_get(h0, "command_status")), "pending") == 0);
	T_CHECK(strcmp(json_string_value(json_object_get(h0, "command_id")), cid) == 0);
	T_CHECK(strcmp(json_string_value(json_object_get(h0, "ip_address")), "10.0.0.1") == 0);
	T_CHECK(strcmp(json_string_value(json_object_get(h0, "agent_version")), "1.2.3") == 0);
	T_CHECK(strcmp(json_string_value(json_object_get(h0, "last_heartbeat")),
		       "1970-01-01T00:16:40Z") == 0);
	json_decref(hs);

	/* delivery: pending -> sent, exact combined_config */
	T_CHECK(hb(s, "h1", "svc", 1010, NULL, 0, &c) == 0);
	T_CHECK(strcmp(c.command_id, cid) == 0 && strcmp(c.command_type, "start") == 0);
	char *cfg = json_dumps(c.combined_config, JSON_SORT_KEYS | JSON_COMPACT);
	T_CHECKF(strcmp(cfg, "{\"continuous\":true,\"duration\":45,\"frequency\":19,"
			     "\"pids\":[123,456],\"profiling_mode\":\"cpu\"}") == 0, "%s", cfg);
	free(cfg);
	store_command_release(&c);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "status"), "sent") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "sent_at"), "1970-01-01T00:16:50Z") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "request_status"), "sent") == 0);
	/* re-delivered until completed */
	T_CHECK(hb(s, "h1", "svc", 1020, NULL, 0, &c) == 0 && strcmp(c.command_id, cid) == 0);
	store_command_release(&c);

	/* completion, idempotent, first report kept */
	T_CHECK(store_complete_command(s, cid, "other-host", STORE_CMD_COMPLETED, 1, NULL, NULL,
				       1030) == -EINVAL);
	T_CHECK(store_complete_command(s, cid, "h1", STORE_CMD_COMPLETED, 2.5, NULL, "/r", 1030) == 0);
	T_CHECK(store_complete_command(s, cid, "h1", STORE_CMD_COMPLETED, 2.5, NULL, "/r", 1031) == 0);
	T_CHECK(store_complete_command(s, cid, "h1", STORE_CMD_FAILED, 3, "late", NULL, 1032) == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "status"), "completed") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "error_message"), "(null)") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "completed_at"), "1970-01-01T00:17:10Z") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid, "results_path"), "/r") == 0);
	T_CHECK(store_complete_command(s, "00000000-0000-4000-8000-000000000000", "h1",
				       STORE_CMD_COMPLETED, 0, NULL, NULL, 1033) == -ENOENT);

	json_t *rq = store_get_request(s, rid);
	T_CHECK(rq && strcmp(json_string_value(json_object_get(rq, "status")), "completed") == 0);
	T_CHECK(json_array_size(json_object_get(rq, "command_ids")) == 1);
	json_decref(rq);
	errno = 0;
	T_CHECK(store_get_request(s, "nope") == NULL && errno == ENOENT);

	/* nothing more to deliver */
	T_CHECK(hb(s, "h1", "svc", 1040, NULL, 0, &c) == 0 && c.command_id[0] == '\0');

	/* failure report on a pending command */
	char cid2[37];
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h1", NULL, 0, 10, 1050, cid2, rid) == 0);
	T_CHECK(store_complete_command(s, cid2, "h1", STORE_CMD_FAILED, 0, "no such pid", NULL,
				       1051) == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid2, "status"), "failed") == 0);
	T_CHECK(strcmp(cmd_field(s, "h1", cid2, "error_message"), "no such pid") == 0);
	rq = store_get_request(s, rid);
	T_CHECK(rq && strcmp(json_string_value(json_object_get(rq, "status")), "failed") == 0);
	json_decref(rq);
	close_real(s);
}

T_TEST(supersede_and_stop_precedence)
{
	struct store *s = open_real();
	struct store_command c;
	char a[37], b[37], stop[37], st2[37], c1[37], c2[37];

	/* start A then start B: A superseded by B */
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h2", NULL, 0, 10, 100, a, NULL) == 0);
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h2", NULL, 0, 20, 101, b, NULL) == 0);
	T_CHECK(strcmp(cmd_field(s, "h2", a, "status"), "failed") == 0);
	char want[80];
	snprintf(want, sizeof(want), "superseded by %s", b);
	T_CHECK(strcmp(cmd_field(s, "h2", a, "error_message"), want) == 0);
	T_CHECK(strcmp(cmd_field(s, "h2", b, "status"), "pending") == 0);

	/* delivered (sent) commands are not superseded */
	T_CHECK(hb(s, "h2", "svc", 102, NULL, 0, &c) == 0 && strcmp(c.command_id, b) == 0);
	T_CHECK(json_integer_value(json_object_get(c.combined_config, "duration")) == 20);
	T_CHECK(json_object_get(c.combined_config, "pids") == NULL);
	store_command_release(&c);
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h2", NULL, 0, 30, 103, c1, NULL) == 0);
	T_CHECK(strcmp(cmd_field(s, "h2", b, "status"), "sent") == 0);
	/* the pending one goes first, then the newest sent one again */
	T_CHECK(hb(s, "h2", "svc", 104, NULL, 0, &c) == 0 && strcmp(c.command_id, c1) == 0);
	store_command_release(&c);
	T_CHECK(hb(s, "h2", "svc", 105, NULL, 0, &c) == 0 && strcmp(c.command_id, c1) == 0);
	store_command_release(&c);

	/* start then stop: the stop supersedes the pending start */
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h4", NULL, 0, 10, 110, c2, NULL) == 0);
	T_CHECK(request1(s, "svc", STORE_REQ_STOP, "h4", NULL, 0, 0, 111, stop, NULL) == 0);
	T_CHECK(strcmp(cmd_field(s, "h4", c2, "status"), "failed") == 0);
	T_CHECK(hb(s, "h4", "svc", 112, NULL, 0, &c) == 0 && strcmp(c.command_id, stop) == 0);
	T_CHECK(strcmp(c.command_type, "stop") == 0);
	char *cfg = json_dumps(c.combined_config, JSON_SORT_KEYS | JSON_COMPACT);
	T_CHECKF(strcmp(cfg, "{\"stop_level\":\"host\"}") == 0, "%s", cfg);
	free(cfg);
	store_command_release(&c);

	/* stop then start: the pending stop is kept and delivered first, then the start */
	T_CHECK(request1(s, "svc", STORE_REQ_STOP, "h3", NULL, 0, 0, 120, stop, NULL) == 0);
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h3", NULL, 0, 7, 121, st2, NULL) == 0);
	T_CHECK(strcmp(cmd_field(s, "h3", stop, "status"), "pending") == 0);
	T_CHECK(strcmp(cmd_field(s, "h3", st2, "status"), "pending") == 0);
	T_CHECK(hb(s, "h3", "svc", 122, NULL, 0, &c) == 0 && strcmp(c.command_id, stop) == 0);
	store_command_release(&c);
	T_CHECK(store_complete_command(s, stop, "h3", STORE_CMD_COMPLETED, 0, NULL, NULL, 123) == 0);
	T_CHECK(hb(s, "h3", "svc", 124, NULL, 0, &c) == 0 && strcmp(c.command_id, st2) == 0);
	T_CHECK(strcmp(c.command_type, "start") == 0);
	store_command_release(&c);
	/* a second stop supersedes a pending stop */
	char s1[37], s2[37];
	T_CHECK(request1(s, "svc", STORE_REQ_STOP, "h6", NULL, 0, 0, 130, s1, NULL) == 0);
	T_CHECK(request1(s, "svc", STORE_REQ_STOP, "h6", NULL, 0, 0, 131, s2, NULL) == 0);
	T_CHECK(strcmp(cmd_field(s, "h6", s1, "status"), "failed") == 0);
	close_real(s);
}

T_TEST(executed_ids)
{
	struct store *s = open_real();
	struct store_command c;
	char e[37], other[37];
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h5", NULL, 0, 10, 100, e, NULL) == 0);
	T_CHECK(request1(s, "svc", STORE_REQ_START, "h7", NULL, 0, 10, 100, other, NULL) == 0);
	T_CHECK(hb(s, "h5", "svc", 101, NULL, 0, &c) == 0 && strcmp(c.command_id, e) == 0);
	store_command_release(&c);
	/* executed: completed, not delivered again; another host's id is not touched */
	const char *ids[] = { e, other, "unknown-id" };
	T_CHECK(hb(s, "h5", "svc", 102, ids, 3, &c) == 0 && c.command_id[0] == '\0');
	T_CHECK(strcmp(cmd_field(s, "h5", e, "status"), "completed") == 0);
	T_CHECK(strcmp(cmd_field(s, "h7", other, "status"), "pending") == 0);
	/* executed ids of an already terminal command change nothing */
	T_CHECK(store_complete_command(s, other, "h7", STORE_CMD_FAILED, 0, "x", NULL, 103) == 0);
	const char *ids2[] = { other };
	T_CHECK(hb(s, "h7", "svc", 104, ids2, 1, &c) == 0 && c.command_id[0] == '\0');
	T_CHECK(strcmp(cmd_field(s, "h7", other, "status"), "failed") == 0);
	json_t *hs = store_host_status(s, NULL, "h5", 105, 90);
	json_t *h0 = json_array_get(json_object_get(hs, "hosts"), 0);
	T_CHECK(strcmp(json_string_value(json_object_get(h0, "command_status")), "completed") == 0);
	json_decref(hs);
	close_real(s);
}

T_TEST(request_without_targets)
{
	struct store *s = open_real();
	struct store_command c;
	int64_t now = 100000;
	T_CHECK(hb(s, "r1", "svc-b", now - 10, NULL, 0, &c) == 0);
	T_CHECK(hb(s, "r2", "svc-b", now - 300, NULL, 0, &c) == 0);
	T_CHECK(hb(s, "old", "svc-b", now - 301, NULL, 0, &c) == 0);
	T_CHECK(hb(s, "elsewhere", "svc-c", now, NULL, 0, &c) == 0);
	/* a host moves to the service it last heartbeated with */
	T_CHECK(hb(s, "moved", "svc-c", now - 5, NULL, 0, &c) == 0);
	T_CHECK(hb(s, "moved", "svc-b", now - 4, NULL, 0, &c) == 0);

	struct store_request r = { .service_name = "svc-b", .type = STORE_REQ_START,
				   .duration = 60, .frequency = 11, .profiling_mode = "cpu",
				   .now = now, .recent_window = 300 };
	json_t *res = NULL;
	T_CHECK(store_create_request(s, &r, &res) == 0);
	T_CHECK(json_array_size(json_object_get(res, "command_ids")) == 3);
	T_CHECK(strcmp(json_string_value(json_object_get(res, "status")), "pending") == 0);
	json_decref(res);
	json_t *l = store_list_commands(s, NULL, "svc-b", 0, 0);
	T_CHECK(json_integer_value(json_object_get(l, "total")) == 3);
	const char *want[] = { "r2", "r1", "moved" }; /* newest first; created in hostname order */
	for (size_t i = 0; i < 3; i++) {
		json_t *cm = json_array_get(json_object_get(l, "commands"), i);
		T_CHECKF(strcmp(json_string_value(json_object_get(cm, "hostname")), want[i]) == 0,
			 "command %zu", i);
	}
	json_decref(l);

	r.service_name = "svc-nobody";
	res = NULL;
	T_CHECK(store_create_request(s, &r, &res) == -ENOENT && res == NULL);
	l = store_list_commands(s, NULL, NULL, 0, 0);
	T_CHECK(json_integer_value(json_object_get(l, "total")) == 3);
	json_decref(l);
	T_CHECK(sql_int("SELECT count(*) FROM requests") == 1);

	/* host_status filters and counts */
	json_t *hs = store_host_status(s, "svc-b", NULL, now, 90);
	T_CHECK(json_integer_value(json_object_get(hs, "total_count")) == 4);
	T_CHECK(json_integer_value(json_object_get(hs, "active_count")) == 2); /* r1, moved */
	json_decref(hs);
	hs = store_host_status(s, NULL, NULL, now, 90);
	T_CHECK(json_integer_value(json_object_get(hs, "total_count")) == 5);
	json_decref(hs);

	json_t *sv = store_list_services(s);
	json_t *list = json_object_get(sv, "services");
	T_CHECK(json_array_size(list) == 2);
	json_t *b = json_array_get(list, 0);
	T_CHECK(strcmp(json_string_value(json_object_get(b, "service_name")), "svc-b") == 0);
	T_CHECK(json_integer_value(json_object_get(b, "hosts")) == 4);
	T_CHECK(json_is_null(json_object_get(b, "last_profile")));
	json_decref(sv);
	close_real(s);
}

T_TEST(request_status_and_paging)
{
	struct store *s = open_real();
	struct store_target t[3] = { { .hostname = "p2" }, { .hostname = "p1" },
				     { .hostname = "p2" } };
	struct store_request r = { .service_name = "svc", .type = STORE_REQ_START, .duration = 5,
				   .frequency = 11, .targets = t, .n_targets = 3, .now = 10 };
	json_t *res = NULL;
	T_CHECK(store_create_request(s, &r, &res) == 0);
	json_t *ids = json_object_get(res, "command_ids");
	T_CHECK(json_array_size(ids) == 2); /* duplicate p2 counted once */
	const char *rid = json_string_value(json_object_get(res, "request_id"));
	const char *id1 = json_string_value(json_array_get(ids, 0)); /* p1 */
	const char *id2 = json_string_value(json_array_get(ids, 1)); /* p2 */
	T_CHECK(store_complete_command(s, id1, "p1", STORE_CMD_COMPLETED, 1, NULL, NULL, 11) == 0);
	json_t *rq = store_get_request(s, rid);
	T_CHECK(strcmp(json_string_value(json_object_get(rq, "status")), "sent") == 0);
	json_decref(rq);
	T_CHECK(store_complete_command(s, id2, "p2", STORE_CMD_COMPLETED, 1, NULL, NULL, 12) == 0);
	rq = store_get_request(s, rid);
	T_CHECK(strcmp(json_string_value(json_object_get(rq, "status")), "completed") == 0);
	json_decref(rq);
	json_decref(res);

	/* 25 more commands for p1; paging newest first */
	char last[37] = "";
	for (int i = 0; i < 25; i++)
		T_CHECK(request1(s, "svc", STORE_REQ_START, "p1", NULL, 0, i + 1, 20 + i, last,
				 NULL) == 0);
	json_t *l = store_list_commands(s, "p1", NULL, 10, 0);
	T_CHECK(json_integer_value(json_object_get(l, "total")) == 26);
	T_CHECK(json_array_size(json_object_get(l, "commands")) == 10);
	json_t *first = json_array_get(json_object_get(l, "commands"), 0);
	T_CHECK(strcmp(json_string_value(json_object_get(first, "command_id")), last) == 0);
	json_decref(l);
	l = store_list_commands(s, "p1", "svc", 10, 20);
	T_CHECK(json_array_size(json_object_get(l, "commands")) == 6);
	json_t *oldest = json_array_get(json_object_get(l, "commands"), 5);
	T_CHECK(strcmp(json_string_value(json_object_get(oldest, "status")), "completed") == 0);
	json_decref(l);
	l = store_list_commands(s, NULL, "other", 10, 0);
	T_CHECK(json_integer_value(json_object_get(l, "total")) == 0);
	json_decref(l);
	close_real(s);
}

T_TEST(reopen_keeps_commands)
{
	struct store *s = open_real();
	struct store_command c;
	char cid[37];
	T_CHECK(request1(s, "svc", STORE_REQ_START, "k1", NULL, 0, 9, 50, cid, NULL) == 0);
	T_CHECK(hb(s, "k1", "svc", 51, NULL, 0, &c) == 0 && strcmp(c.command_id, cid) == 0);
	store_command_release(&c);
	store_close(s);
	s = store_open(dbpath, schema);
	T_CHECK(s != NULL);
	if (!s) {
		teardown();
		return;
	}
	T_CHECK(strcmp(cmd_field(s, "k1", cid, "status"), "sent") == 0);
	T_CHECK(hb(s, "k1", "svc", 52, NULL, 0, &c) == 0 && strcmp(c.command_id, cid) == 0);
	T_CHECK(json_integer_value(json_object_get(c.combined_config, "duration")) == 9);
	store_command_release(&c);
	close_real(s);
}

T_TEST(bad_arguments)
{
	struct store *s = open_real();
	struct store_command c;
	T_CHECK(hb(s, NULL, "svc", 1, NULL, 0, &c) == -EINVAL);
	T_CHECK(hb(s, "h", "", 1, NULL, 0, &c) == -EINVAL);
	struct store_target t = { .hostname = "" };
	struct store_request r = { .service_name = "svc", .targets = &t, .n_targets = 1 };
	json_t *res = NULL;
	T_CHECK(store_create_request(s, &r, &res) == -EINVAL);
	r.type = (enum store_req_type)7;
	t.hostname = "x";
	T_CHECK(store_create_request(s, &r, &res) == -EINVAL);
	T_CHECK(store_complete_command(s, NULL, "h", STORE_CMD_COMPLETED, 0, NULL, NULL, 1) ==
		-EINVAL);
	/* hostile strings are data, not SQL */
	T_CHECK(hb(s, "x'); DROP TABLE hosts; --", "svc", 5, NULL, 0, &c) == 0);
	json_t *hs = store_host_status(s, NULL, "x'); DROP TABLE hosts; --", 5, 90);
	T_CHECK(json_integer_value(json_object_get(hs, "total_count")) == 1);
	json_decref(hs);
	close_real(s);
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
	return t_done();
}
