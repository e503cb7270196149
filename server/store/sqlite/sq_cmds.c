/* store_cmds.c — profiling requests and their commands: creation with the supersede rules,
 * completion reports, history.
 *
 * A request's status is derived from its commands: "pending" while all are pending, "sent" while
 * any is still pending or sent (and at least one went further), then "completed" when every
 * command completed, else "failed". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sq.h"

#define STORE_MAX_TARGETS 10000 /* most hosts one request creates commands for */
#define LIST_MAX_LIMIT    1000
#define LIST_DEF_LIMIT    100

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
/* a new stop supersedes every pending command of the host; a new start only pending starts */
static const char SQL_SUPERSEDE[] =
	"UPDATE commands SET status = 'failed', error_message = 'superseded by ' || ?2,"
	" completed_at = ?3 WHERE hostname = ?1 AND status = 'pending'"
	" AND (?4 = 'stop' OR command_type = 'start')";
static const char SQL_INSERT_COMMAND[] =
	"INSERT INTO commands (command_id, request_id, hostname, service_name, command_type,"
	" combined_config, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static const char *const type_names[] = { "start", "stop" };

static json_t *pids_json(const int64_t *pids, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(pids[i]));
	return a;
}

/* combined_config for one host, gProfiler's shape. New reference or NULL. */
static json_t *combined_config(const struct store_request *r, const struct store_target *t)
{
	json_t *cfg = json_object();
	if (!cfg)
		return NULL;
	bool has_pids = t && t->pids && t->n_pids;
	if (r->type == STORE_REQ_START) {
		json_object_set_new(cfg, "duration", json_integer(r->duration));
		json_object_set_new(cfg, "frequency", json_integer(r->frequency));
		json_object_set_new(cfg, "profiling_mode",
				    json_string(r->profiling_mode ? r->profiling_mode : "cpu"));
		json_object_set_new(cfg, "continuous", json_boolean(r->continuous));
	} else {
		const char *lvl = r->stop_level ? r->stop_level : has_pids ? "process" : "host";
		json_object_set_new(cfg, "stop_level", json_string(lvl));
	}
	if (has_pids)
		json_object_set_new(cfg, "pids", pids_json(t->pids, t->n_pids));
	if (r->extra_config && json_is_object(r->extra_config))
		json_object_update_missing(cfg, r->extra_config);
	return cfg;
}

static int target_cmp(const void *a, const void *b)
{
	const struct store_target *x = a, *y = b;
	return strcmp(x->hostname, y->hostname);
}

static int add_command(struct store_conn *c, const struct store_request *r, const char *req_id,
		       const struct store_target *t, json_t *ids)
{
	char cid[37];
	char *cfg_text = NULL;
	json_t *cfg = combined_config(r, t);
	int rc = -ENOMEM;
	if (!cfg)
		goto out;
	cfg_text = json_dumps(cfg, JSON_COMPACT);
	if (!cfg_text)
		goto out;
	store_uuid(cid);
	rc = -EIO;
	sqlite3_stmt *st = store_stmt(c, SQL_SUPERSEDE);
	if (!st)
		goto out;
	store_bind_text(st, 1, t->hostname);
	store_bind_text(st, 2, cid);
	sqlite3_bind_int64(st, 3, r->now);
	store_bind_text(st, 4, type_names[r->type]);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_dberr(c->db, "supersede");
		goto out;
	}
	sqlite3_reset(st);
	st = store_stmt(c, SQL_INSERT_COMMAND);
	if (!st)
		goto out;
	store_bind_text(st, 1, cid);
	store_bind_text(st, 2, req_id);
	store_bind_text(st, 3, t->hostname);
	store_bind_text(st, 4, r->service_name);
	store_bind_text(st, 5, type_names[r->type]);
	store_bind_text(st, 6, cfg_text);
	sqlite3_bind_int64(st, 7, r->now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_dberr(c->db, "insert command");
		goto out;
	}
	sqlite3_reset(st);
	rc = json_array_append_new(ids, json_string(cid)) ? -ENOMEM : 0;
out:
	free(cfg_text);
	json_decref(cfg);
	return rc;
}

/* The request's own parameters, kept in requests.config. */
static char *request_config_text(const struct store_request *r)
{
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:s?, s:s?}", "request_type",
			      type_names[r->type], "continuous", r->continuous, "duration",
			      (json_int_t)r->duration, "frequency", (json_int_t)r->frequency,
			      "profiling_mode", r->profiling_mode, "stop_level", r->stop_level);
	if (!o)
		return NULL;
	if (r->extra_config && json_is_object(r->extra_config))
		json_object_set(o, "extra", r->extra_config);
	char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return t;
}

int store_create_request(struct store *s, const struct store_request *r, json_t **result)
{
	if (!s || !r || !result || !r->service_name || !*r->service_name ||
	    (r->type != STORE_REQ_START && r->type != STORE_REQ_STOP) ||
	    r->n_targets > STORE_MAX_TARGETS || (r->n_targets && !r->targets))
		return -EINVAL;
	for (size_t i = 0; i < r->n_targets; i++)
		if (!r->targets[i].hostname || !*r->targets[i].hostname)
			return -EINVAL;
	*result = NULL;

	char req_id[37];
	char *cfg_text = NULL, **names = NULL;
	struct store_target *targets = NULL;
	size_t n = 0;
	json_t *ids = json_array();
	struct store_conn *c = store_wlock(s);
	int rc = -ENOMEM;
	cfg_text = request_config_text(r);
	if (!ids || !cfg_text)
		goto out;
	rc = store_begin(c);
	if (rc)
		goto out;

	if (r->n_targets) {
		/* sorted copy, duplicates dropped (the first one's pids kept) */
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
		rc = -EIO;
		sqlite3_stmt *st = store_stmt(c, SQL_RECENT_HOSTS);
		if (!st)
			goto out;
		store_bind_text(st, 1, r->service_name);
		sqlite3_bind_int64(st, 2, r->now - r->recent_window);
		rc = -ENOMEM;
		names = calloc(STORE_MAX_TARGETS + 1, sizeof(*names));
		targets = calloc(STORE_MAX_TARGETS + 1, sizeof(*targets));
		if (!names || !targets)
			goto out;
		int step;
		while ((step = sqlite3_step(st)) == SQLITE_ROW && n < STORE_MAX_TARGETS) {
			names[n] = strdup((const char *)sqlite3_column_text(st, 0));
			if (!names[n]) {
				sqlite3_reset(st);
				goto out;
			}
			targets[n].hostname = names[n];
			n++;
		}
		sqlite3_reset(st);
		if (step != SQLITE_DONE && step != SQLITE_ROW) {
			rc = store_dberr(c->db, "recent hosts");
			goto out;
		}
	}
	if (n == 0) {
		rc = -ENOENT;
		goto out;
	}

	store_uuid(req_id);
	rc = -EIO;
	sqlite3_stmt *st = store_stmt(c, SQL_INSERT_REQUEST);
	if (!st)
		goto out;
	store_bind_text(st, 1, req_id);
	store_bind_text(st, 2, r->service_name);
	store_bind_text(st, 3, type_names[r->type]);
	store_bind_text(st, 4, cfg_text);
	sqlite3_bind_int64(st, 5, r->now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_dberr(c->db, "insert request");
		goto out;
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		rc = add_command(c, r, req_id, &targets[i], ids);
		if (rc)
			goto out;
	}
	rc = store_commit(c);
	if (rc)
		goto out;
	char msg[128];
	snprintf(msg, sizeof(msg), "%s request created for %zu host%s", type_names[r->type], n,
		 n == 1 ? "" : "s");
	*result = json_pack("{s:b, s:s, s:s, s:s, s:O}", "success", 1, "message", msg, "request_id",
			    req_id, "status", "pending", "command_ids", ids);
	rc = *result ? 0 : -ENOMEM;
out:
	if (rc)
		store_rollback(s);
	store_wunlock(s);
	if (names)
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	free(names);
	free(targets);
	free(cfg_text);
	json_decref(ids);
	return rc;
}

static const char SQL_CMD_GET[] = "SELECT hostname, status FROM commands WHERE command_id = ?1";
static const char SQL_CMD_COMPLETE[] =
	"UPDATE commands SET status = ?2, completed_at = ?3, execution_time = ?4,"
	" error_message = ?5, results_path = ?6"
	" WHERE command_id = ?1 AND status IN ('pending', 'sent')";

int store_complete_command(struct store *s, const char *command_id, const char *hostname,
			   enum store_cmd_status status, double execution_time,
			   const char *error_message, const char *results_path, int64_t now)
{
	if (!s || !command_id || !*command_id ||
	    (status != STORE_CMD_COMPLETED && status != STORE_CMD_FAILED))
		return -EINVAL;
	struct store_conn *c = store_wlock(s);
	int rc = store_begin(c);
	if (rc)
		goto out;
	rc = -EIO;
	sqlite3_stmt *st = store_stmt(c, SQL_CMD_GET);
	if (!st)
		goto out;
	store_bind_text(st, 1, command_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		sqlite3_reset(st);
		rc = -ENOENT;
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = store_dberr(c->db, "command lookup");
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
		st = store_stmt(c, SQL_CMD_COMPLETE);
		if (!st)
			goto out;
		store_bind_text(st, 1, command_id);
		store_bind_text(st, 2, status == STORE_CMD_COMPLETED ? "completed" : "failed");
		sqlite3_bind_int64(st, 3, now);
		if (execution_time == execution_time && execution_time >= 0)
			sqlite3_bind_double(st, 4, execution_time);
		store_bind_text(st, 5, error_message);
		store_bind_text(st, 6, results_path);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = store_dberr(c->db, "completing command");
			goto out;
		}
		sqlite3_reset(st);
	}
	rc = store_commit(c);
out:
	if (rc)
		store_rollback(s);
	store_wunlock(s);
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

static json_t *command_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	static const char *const names[] = { "command_id", "request_id", "hostname",
					     "service_name", "command_type", "status",
					     "request_status" };
	for (int i = 0; i < 7; i++)
		json_object_set_new(o, names[i], store_json_col(st, i));
	const char *cfg = (const char *)sqlite3_column_text(st, 7);
	json_t *cj = cfg ? json_loads(cfg, 0, NULL) : NULL;
	json_object_set_new(o, "combined_config", cj ? cj : json_null());
	json_object_set_new(o, "created_at", store_json_time(sqlite3_column_int64(st, 8)));
	json_object_set_new(o, "sent_at", store_json_time(sqlite3_column_int64(st, 9)));
	json_object_set_new(o, "completed_at", store_json_time(sqlite3_column_int64(st, 10)));
	json_object_set_new(o, "execution_time", store_json_col(st, 11));
	json_object_set_new(o, "error_message", store_json_col(st, 12));
	json_object_set_new(o, "results_path", store_json_col(st, 13));
	return o;
}

json_t *store_list_commands(struct store *s, const char *hostname, const char *service,
			    int64_t limit, int64_t offset)
{
	if (!s)
		return NULL;
	if (limit <= 0)
		limit = LIST_DEF_LIMIT;
	if (limit > LIST_MAX_LIMIT)
		limit = LIST_MAX_LIMIT;
	if (offset < 0)
		offset = 0;
	int v = (hostname ? 1 : 0) | (service ? 2 : 0);
	json_t *res = NULL, *list = json_array();
	int64_t total = 0;
	struct store_conn *c = store_rget(s);
	sqlite3_stmt *st = store_stmt(c, sql_count[v]);
	if (!st || !list)
		goto out;
	store_bind_text(st, 1, hostname);
	store_bind_text(st, 2, service);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_dberr(c->db, "count commands");
		goto out;
	}
	total = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = store_stmt(c, sql_list[v]);
	if (!st)
		goto out;
	if (hostname)
		store_bind_text(st, 1, hostname);
	if (service)
		store_bind_text(st, 2, service);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, offset);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = command_row(st);
		if (!o)
			goto out;
		json_array_append_new(list, o);
	}
	if (step != SQLITE_DONE) {
		store_dberr(c->db, "list commands");
		goto out;
	}
	res = json_pack("{s:O, s:I, s:I, s:I}", "commands", list, "total", (json_int_t)total,
			"limit", (json_int_t)limit, "offset", (json_int_t)offset);
out:
	if (st)
		sqlite3_reset(st);
	store_rput(s, c);
	json_decref(list);
	if (!res)
		errno = EIO;
	return res;
}

static const char SQL_REQUEST[] =
	"SELECT q.request_id, q.service_name, q.request_type, q.created_at, " REQ_STATUS_SQL("q")
	" FROM requests q WHERE q.request_id = ?1";
static const char SQL_REQUEST_CMDS[] =
	"SELECT command_id FROM commands WHERE request_id = ?1 ORDER BY id";

json_t *store_get_request(struct store *s, const char *request_id)
{
	if (!s || !request_id) {
		errno = EINVAL;
		return NULL;
	}
	json_t *res = NULL, *ids = json_array();
	int err = EIO;
	struct store_conn *c = store_rget(s);
	sqlite3_stmt *st = store_stmt(c, SQL_REQUEST);
	if (!st || !ids)
		goto out;
	store_bind_text(st, 1, request_id);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		err = ENOENT;
		goto out;
	}
	if (step != SQLITE_ROW) {
		store_dberr(c->db, "get request");
		goto out;
	}
	res = json_pack("{s:o, s:o, s:o, s:o, s:o}", "request_id", store_json_col(st, 0),
			"service_name", store_json_col(st, 1), "request_type",
			store_json_col(st, 2), "created_at",
			store_json_time(sqlite3_column_int64(st, 3)), "status",
			store_json_col(st, 4));
	sqlite3_reset(st);
	st = store_stmt(c, SQL_REQUEST_CMDS);
	if (!res || !st)
		goto fail;
	store_bind_text(st, 1, request_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(ids, store_json_col(st, 0));
	if (step != SQLITE_DONE)
		goto fail;
	json_object_set(res, "command_ids", ids);
	goto out;
fail:
	json_decref(res);
	res = NULL;
out:
	if (st)
		sqlite3_reset(st);
	store_rput(s, c);
	json_decref(ids);
	if (!res)
		errno = err;
	return res;
}
