/* sq_cmds.c — the control door's requests and commands: creation with the supersede rules,
 * completion reports, history.
 *
 * A request's status is derived from its commands: "pending" while all are pending, "sent" while
 * any is still pending or sent (and at least one went further), then "completed" when every
 * command completed, else "failed". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sq.h"
#include "util.h"

#define LIST_DEF_LIMIT 100

#define REQ_STATUS_SQL(alias)                                                                    \
	"(SELECT CASE WHEN count(*) = sum(r.status = 'pending') THEN 'pending'"                  \
	" WHEN sum(r.status IN ('pending', 'sent')) > 0 THEN 'sent'"                             \
	" WHEN sum(r.status = 'failed') > 0 THEN 'failed' ELSE 'completed' END"                  \
	" FROM commands r WHERE r.request_id = " alias ".request_id)"

static const char SQL_RECENT_HOSTS[] =
	"SELECT hostname FROM hosts WHERE service_name = ?1 AND last_seen >= ?2 ORDER BY hostname"
	" LIMIT 10001";
static const char SQL_INSERT_REQUEST[] =
	"INSERT INTO requests (request_id, service_name, request_type, config, created_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";
/* a new stop supersedes every pending command of the (service, host); a new start only pending
 * starts */
static const char SQL_SUPERSEDE[] =
	"UPDATE commands SET status = 'failed', error_message = 'superseded by ' || ?2,"
	" completed_at = ?3 WHERE hostname = ?1 AND service_name = ?5 AND status = 'pending'"
	" AND (?4 = 'stop' OR command_type = 'start')";
static const char SQL_INSERT_COMMAND[] =
	"INSERT INTO commands (command_id, request_id, hostname, service_name, command_type,"
	" combined_config, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static const char *const type_names[] = { "start", "stop" };

static int target_cmp(const void *a, const void *b)
{
	const struct ctl_target *x = a, *y = b;
	return strcmp(x->hostname, y->hostname);
}

static int add_command(struct sq_conn *c, const struct ctl_request *r, const char *req_id,
		       const struct ctl_target *t, char cid[CTL_ID_LEN + 1])
{
	sq_uuid(cid);
	sqlite3_stmt *st = sq_stmt(c, SQL_SUPERSEDE);
	if (!st)
		return -EIO;
	sq_bind_text(st, 1, t->hostname);
	sq_bind_text(st, 2, cid);
	sqlite3_bind_int64(st, 3, r->now);
	sq_bind_text(st, 4, type_names[r->type]);
	sq_bind_text(st, 5, r->service_name);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_dberr(c->db, "supersede");
	sqlite3_reset(st);
	st = sq_stmt(c, SQL_INSERT_COMMAND);
	if (!st)
		return -EIO;
	sq_bind_text(st, 1, cid);
	sq_bind_text(st, 2, req_id);
	sq_bind_text(st, 3, t->hostname);
	sq_bind_text(st, 4, r->service_name);
	sq_bind_text(st, 5, type_names[r->type]);
	sq_bind_text(st, 6, t->config);
	sqlite3_bind_int64(st, 7, r->now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_dberr(c->db, "insert command");
	sqlite3_reset(st);
	return 0;
}

/* The hosts of the service heard from recently, each with the request's host_config, into
 * *targets (malloc'd) and *names (their strings, malloc'd). */
static int recent_hosts(struct sq_conn *c, const struct ctl_request *r, struct ctl_target **targets,
			char ***names, size_t *n)
{
	sqlite3_stmt *st = sq_stmt(c, SQL_RECENT_HOSTS);
	size_t cap_t = 0, cap_n = 0;
	int rc = -EIO, step;

	if (!st)
		return -EIO;
	sq_bind_text(st, 1, r->service_name);
	sqlite3_bind_int64(st, 2, r->now - r->recent_window);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < CTL_MAX_TARGETS) {
		char *name;
		if ((rc = ARRAY_GROW(*targets, cap_t, *n + 1, CTL_MAX_TARGETS)) ||
		    (rc = ARRAY_GROW(*names, cap_n, *n + 1, CTL_MAX_TARGETS)))
			goto out;
		name = strdup(sq_text(st, 0));
		rc = -ENOMEM;
		if (!name)
			goto out;
		(*names)[*n] = name;
		(*targets)[*n] = (struct ctl_target){ .hostname = name, .config = r->host_config };
		(*n)++;
	}
	rc = step == SQLITE_DONE || step == SQLITE_ROW ? 0 : sq_dberr(c->db, "recent hosts");
out:
	sqlite3_reset(st);
	return rc;
}

int sq_create_request(struct control *ctl, const struct ctl_request *r, struct ctl_created *out)
{
	if (!ctl || !r || !out || !r->service_name || !*r->service_name || !r->config ||
	    (r->type != CTL_REQ_START && r->type != CTL_REQ_STOP) ||
	    r->n_targets > CTL_MAX_TARGETS || (r->n_targets && !r->targets) ||
	    (!r->n_targets && !r->host_config))
		return -EINVAL;
	for (size_t i = 0; i < r->n_targets; i++)
		if (!r->targets[i].hostname || !*r->targets[i].hostname || !r->targets[i].config)
			return -EINVAL;
	memset(out, 0, sizeof(*out));

	struct sq *s = sq_of_ctl(ctl);
	char **names = NULL;
	struct ctl_target *targets = NULL;
	size_t n = 0;
	struct sq_conn *c = sq_wlock(s);
	int rc = sq_begin(c);
	if (rc)
		goto out;

	if (r->n_targets) {
		/* sorted copy, duplicates dropped (the first one's config kept) */
		rc = -ENOMEM;
		targets = malloc(r->n_targets * sizeof(*targets));
		if (!targets)
			goto out;
		memcpy(targets, r->targets, r->n_targets * sizeof(*targets));
		qsort(targets, r->n_targets, sizeof(*targets), target_cmp);
		for (size_t i = 0; i < r->n_targets; i++)
			if (n == 0 || strcmp(targets[n - 1].hostname, targets[i].hostname) != 0)
				targets[n++] = targets[i];
	} else {
		rc = recent_hosts(c, r, &targets, &names, &n);
		if (rc)
			goto out;
	}
	rc = -ENOENT;
	if (n == 0)
		goto out;
	rc = -ENOMEM;
	out->command_ids = calloc(n, sizeof(*out->command_ids));
	if (!out->command_ids)
		goto out;

	sq_uuid(out->request_id);
	rc = -EIO;
	sqlite3_stmt *st = sq_stmt(c, SQL_INSERT_REQUEST);
	if (!st)
		goto out;
	sq_bind_text(st, 1, out->request_id);
	sq_bind_text(st, 2, r->service_name);
	sq_bind_text(st, 3, type_names[r->type]);
	sq_bind_text(st, 4, r->config);
	sqlite3_bind_int64(st, 5, r->now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sq_dberr(c->db, "insert request");
		goto out;
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		rc = add_command(c, r, out->request_id, &targets[i], out->command_ids[i]);
		if (rc)
			goto out;
	}
	rc = sq_commit(c);
	if (!rc)
		out->n = n;
out:
	if (rc) {
		sq_rollback(s);
		ctl_created_release(out);
	}
	sq_wunlock(s);
	if (names)
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	free(names);
	free(targets);
	return rc;
}

static const char SQL_CMD_GET[] = "SELECT hostname, status FROM commands WHERE command_id = ?1";
static const char SQL_CMD_COMPLETE[] =
	"UPDATE commands SET status = ?2, completed_at = ?3, execution_time = ?4,"
	" error_message = ?5, results_path = ?6"
	" WHERE command_id = ?1 AND status IN ('pending', 'sent')";

int sq_complete_command(struct control *ctl, const char *command_id, const char *hostname,
			enum ctl_cmd_status status, double execution_time,
			const char *error_message, const char *results_path, int64_t now)
{
	if (!ctl || !command_id || !*command_id ||
	    (status != CTL_CMD_COMPLETED && status != CTL_CMD_FAILED))
		return -EINVAL;
	struct sq *s = sq_of_ctl(ctl);
	struct sq_conn *c = sq_wlock(s);
	int rc = sq_begin(c);
	if (rc)
		goto out;
	rc = -EIO;
	sqlite3_stmt *st = sq_stmt(c, SQL_CMD_GET);
	if (!st)
		goto out;
	sq_bind_text(st, 1, command_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		sqlite3_reset(st);
		rc = -ENOENT;
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = sq_dberr(c->db, "command lookup");
		goto out;
	}
	bool host_ok = !hostname || strcmp((const char *)sqlite3_column_text(st, 0), hostname) == 0;
	const char *cur = (const char *)sqlite3_column_text(st, 1);
	bool terminal = strcmp(cur, "completed") == 0 || strcmp(cur, "failed") == 0;
	sqlite3_reset(st);
	if (!host_ok) {
		rc = -EINVAL;
		goto out;
	}
	if (!terminal) {
		st = sq_stmt(c, SQL_CMD_COMPLETE);
		if (!st)
			goto out;
		sq_bind_text(st, 1, command_id);
		sq_bind_text(st, 2, status == CTL_CMD_COMPLETED ? "completed" : "failed");
		sqlite3_bind_int64(st, 3, now);
		if (execution_time == execution_time && execution_time >= 0)
			sqlite3_bind_double(st, 4, execution_time);
		sq_bind_text(st, 5, error_message);
		sq_bind_text(st, 6, results_path);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = sq_dberr(c->db, "completing command");
			goto out;
		}
		sqlite3_reset(st);
	}
	rc = sq_commit(c);
out:
	if (rc)
		sq_rollback(s);
	sq_wunlock(s);
	return rc;
}

/* ---- history ---- */

#define CMD_COLS                                                                                 \
	"SELECT c.command_id, c.request_id, c.hostname, c.service_name, c.command_type,"         \
	" c.status, " REQ_STATUS_SQL("c") ", c.combined_config, c.created_at, c.sent_at,"        \
	" c.completed_at, c.execution_time, c.error_message, c.results_path FROM commands c"
#define CMD_ORDER " ORDER BY c.id DESC LIMIT ?3 OFFSET ?4"

/* indexed by (hostname given) | (service given) << 1 */
static const char SQL_LIST_0[] = CMD_COLS CMD_ORDER;
static const char SQL_LIST_1[] = CMD_COLS " WHERE c.hostname = ?1" CMD_ORDER;
static const char SQL_LIST_2[] = CMD_COLS " WHERE c.service_name = ?2" CMD_ORDER;
static const char SQL_LIST_3[] = CMD_COLS " WHERE c.hostname = ?1 AND c.service_name = ?2"
	CMD_ORDER;
static const char *const sql_list[4] = { SQL_LIST_0, SQL_LIST_1, SQL_LIST_2, SQL_LIST_3 };
static const char SQL_COUNT_0[] = "SELECT count(*) FROM commands WHERE ?1 IS ?1 AND ?2 IS ?2";
static const char SQL_COUNT_1[] = "SELECT count(*) FROM commands WHERE hostname = ?1 AND ?2 IS ?2";
static const char SQL_COUNT_2[] =
	"SELECT count(*) FROM commands WHERE service_name = ?2 AND ?1 IS ?1";
static const char SQL_COUNT_3[] =
	"SELECT count(*) FROM commands WHERE hostname = ?1 AND service_name = ?2";
static const char *const sql_count[4] = { SQL_COUNT_0, SQL_COUNT_1, SQL_COUNT_2, SQL_COUNT_3 };

struct cmd_visit {
	ctl_cmd_fn fn;
	void *ctx;
};

static int command_row(sqlite3_stmt *st, void *arg)
{
	const struct cmd_visit *v = arg;
	struct ctl_cmd_row r = {
		.command_id = sq_text(st, 0), .request_id = sq_text(st, 1),
		.hostname = sq_text(st, 2), .service_name = sq_text(st, 3),
		.command_type = sq_text(st, 4), .status = sq_text(st, 5),
		.request_status = sq_text(st, 6), .config = sq_text(st, 7),
		.created_at = sqlite3_column_int64(st, 8), .sent_at = sqlite3_column_int64(st, 9),
		.completed_at = sqlite3_column_int64(st, 10), .execution_time = sq_real(st, 11),
		.error_message = sq_text(st, 12), .results_path = sq_text(st, 13),
	};
	return v->fn(v->ctx, &r);
}

int sq_list_commands(struct control *ctl, const char *hostname, const char *service, int64_t limit,
		     int64_t offset, int64_t *total, ctl_cmd_fn fn, void *ctx)
{
	struct cmd_visit v = { fn, ctx };
	struct sq *s;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc = -EIO, w = (hostname ? 1 : 0) | (service ? 2 : 0);

	if (!ctl || !total || !fn)
		return -EINVAL;
	limit = limit <= 0 ? LIST_DEF_LIMIT : limit > CTL_MAX_LIST ? CTL_MAX_LIST : limit;
	offset = offset < 0 ? 0 : offset;
	s = sq_of_ctl(ctl);
	c = sq_rget(s);
	st = sq_stmt(c, sql_count[w]);
	if (!st)
		goto out;
	sq_bind_text(st, 1, hostname);
	sq_bind_text(st, 2, service);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		rc = sq_dberr(c->db, "count commands");
		goto out;
	}
	*total = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = sq_stmt(c, sql_list[w]);
	if (st) {
		if (hostname)
			sq_bind_text(st, 1, hostname);
		if (service)
			sq_bind_text(st, 2, service);
		sqlite3_bind_int64(st, 3, limit);
		sqlite3_bind_int64(st, 4, offset);
	}
	rc = sq_rows(c, st, command_row, &v, "list commands");
out:
	sq_rput(s, c);
	return rc;
}

static const char SQL_REQUEST[] =
	"SELECT q.request_id, q.service_name, q.request_type, q.created_at, " REQ_STATUS_SQL("q")
	" FROM requests q WHERE q.request_id = ?1";
static const char SQL_REQUEST_CMDS[] = "SELECT count(*) FROM commands WHERE request_id = ?1";

int sq_get_request(struct control *ctl, const char *request_id, struct ctl_request_info *out)
{
	if (!ctl || !request_id || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct sq *s = sq_of_ctl(ctl);
	struct sq_conn *c = sq_rget(s);
	sqlite3_stmt *st = sq_stmt(c, SQL_REQUEST);
	int rc = -EIO, step;
	if (!st)
		goto out;
	sq_bind_text(st, 1, request_id);
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? -ENOENT : sq_dberr(c->db, "get request");
		goto out;
	}
	snprintf(out->request_id, sizeof(out->request_id), "%s", sq_text(st, 0));
	snprintf(out->service_name, sizeof(out->service_name), "%s", sq_text(st, 1));
	snprintf(out->request_type, sizeof(out->request_type), "%s", sq_text(st, 2));
	out->created_at = sqlite3_column_int64(st, 3);
	snprintf(out->status, sizeof(out->status), "%s", sq_text(st, 4));
	sqlite3_reset(st);
	st = sq_stmt(c, SQL_REQUEST_CMDS);
	if (!st)
		goto out;
	sq_bind_text(st, 1, request_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = sq_dberr(c->db, "request commands");
		goto out;
	}
	out->n_commands = (size_t)sqlite3_column_int64(st, 0);
	rc = 0;
out:
	if (st)
		sqlite3_reset(st);
	sq_rput(s, c);
	return rc;
}
