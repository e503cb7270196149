/* store_hosts.c — heartbeats, host status and the services list.
 *
 * Hosts are keyed by hostname alone: a host belongs to the service it last heartbeated with.
 * A heartbeat with nothing to deliver costs one upsert and one indexed read (commands_open is a
 * partial index holding only pending and sent commands). */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "sq.h"

#define HOST_STATUS_MAX 100000 /* most hosts one host_status answer lists */

static const char SQL_HOST_UPSERT[] =
	"INSERT INTO hosts (hostname, service_name, ip_address, agent_version, agent_status,"
	" last_command_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
	" ON CONFLICT (hostname) DO UPDATE SET service_name = excluded.service_name,"
	" ip_address = coalesce(excluded.ip_address, ip_address),"
	" agent_version = coalesce(excluded.agent_version, agent_version),"
	" agent_status = excluded.agent_status, last_command_id = excluded.last_command_id,"
	" last_seen = max(last_seen, excluded.last_seen)";
static const char SQL_EXECUTED[] =
	"UPDATE commands SET status = 'completed', completed_at = ?3"
	" WHERE command_id = ?1 AND hostname = ?2 AND status IN ('pending', 'sent')";
static const char SQL_RECEIVED[] =
	"UPDATE commands SET status = 'sent', sent_at = ?3"
	" WHERE command_id = ?1 AND hostname = ?2 AND status = 'pending'";
/* the oldest pending command, else the newest sent one */
static const char SQL_CURRENT[] =
	"SELECT id, command_id, command_type, combined_config, status FROM commands"
	" WHERE hostname = ?1 AND status IN ('pending', 'sent')"
	" ORDER BY status = 'pending' DESC, CASE status WHEN 'pending' THEN id ELSE -id END"
	" LIMIT 1";
static const char SQL_MARK_SENT[] =
	"UPDATE commands SET status = 'sent', sent_at = ?2 WHERE id = ?1 AND status = 'pending'";

static int mark_ids(struct store_conn *c, const char *sql, const char *host,
		    const char *const *ids, size_t n, int64_t now)
{
	if (n > STORE_MAX_IDS)
		n = STORE_MAX_IDS;
	for (size_t i = 0; i < n; i++) {
		if (!ids[i] || !*ids[i])
			continue;
		sqlite3_stmt *st = store_stmt(c, sql);
		if (!st)
			return -EIO;
		store_bind_text(st, 1, ids[i]);
		store_bind_text(st, 2, host);
		sqlite3_bind_int64(st, 3, now);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_dberr(c->db, "marking command ids");
	}
	return 0;
}

int store_heartbeat(struct store *s, const struct store_heartbeat *hb, struct store_command *out)
{
	if (!s || !hb || !out || !hb->hostname || !*hb->hostname || !hb->service_name ||
	    !*hb->service_name)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct store_conn *c = store_wlock(s);
	sqlite3_stmt *st = NULL;
	int rc = store_begin(c);
	if (rc)
		goto out;
	rc = -EIO;
	st = store_stmt(c, SQL_HOST_UPSERT);
	if (!st)
		goto out;
	store_bind_text(st, 1, hb->hostname);
	store_bind_text(st, 2, hb->service_name);
	store_bind_text(st, 3, hb->ip_address);
	store_bind_text(st, 4, hb->agent_version);
	store_bind_text(st, 5, hb->status);
	store_bind_text(st, 6, hb->last_command_id);
	sqlite3_bind_int64(st, 7, hb->now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = store_dberr(c->db, "heartbeat upsert");
		goto out;
	}
	sqlite3_reset(st);

	if (hb->executed_ids) {
		rc = mark_ids(c, SQL_EXECUTED, hb->hostname, hb->executed_ids, hb->n_executed,
			      hb->now);
		if (rc)
			goto out;
	}
	if (hb->received_ids) {
		rc = mark_ids(c, SQL_RECEIVED, hb->hostname, hb->received_ids, hb->n_received,
			      hb->now);
		if (rc)
			goto out;
	}

	rc = -EIO;
	st = store_stmt(c, SQL_CURRENT);
	if (!st)
		goto out;
	store_bind_text(st, 1, hb->hostname);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *cid = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		const char *cfg = (const char *)sqlite3_column_text(st, 3);
		bool pending = strcmp((const char *)sqlite3_column_text(st, 4), "pending") == 0;
		snprintf(out->command_id, sizeof(out->command_id), "%s", cid ? cid : "");
		snprintf(out->command_type, sizeof(out->command_type), "%s", type ? type : "");
		out->combined_config = cfg ? json_loads(cfg, 0, NULL) : NULL;
		if (!out->combined_config)
			out->combined_config = json_object();
		sqlite3_reset(st);
		if (pending) {
			st = store_stmt(c, SQL_MARK_SENT);
			if (!st)
				goto out;
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, hb->now);
			if (sqlite3_step(st) != SQLITE_DONE) {
				rc = store_dberr(c->db, "marking command sent");
				goto out;
			}
			sqlite3_reset(st);
		}
	} else if (step != SQLITE_DONE) {
		rc = store_dberr(c->db, "current command");
		goto out;
	} else {
		sqlite3_reset(st);
	}
	rc = store_commit(c);
out:
	if (rc) {
		store_rollback(s);
		store_command_release(out);
	}
	store_wunlock(s);
	return rc;
}

void store_command_release(struct store_command *c)
{
	if (!c)
		return;
	json_decref(c->combined_config);
	memset(c, 0, sizeof(*c));
}

/* The host's command to show: the one a heartbeat would deliver, else its newest. */
static const char SQL_HOST_STATUS[] =
	"SELECT h.hostname, h.service_name, h.ip_address, h.agent_version, h.last_seen,"
	" c.command_id, c.command_type, c.status"
	" FROM hosts h LEFT JOIN commands c ON c.id = coalesce("
	"  (SELECT id FROM commands WHERE hostname = h.hostname AND status = 'pending'"
	"   ORDER BY id LIMIT 1),"
	"  (SELECT id FROM commands WHERE hostname = h.hostname AND status = 'sent'"
	"   ORDER BY id DESC LIMIT 1),"
	"  (SELECT id FROM commands WHERE hostname = h.hostname ORDER BY id DESC LIMIT 1))"
	" WHERE (?1 IS NULL OR h.service_name = ?1) AND (?2 IS NULL OR h.hostname = ?2)"
	" ORDER BY h.service_name, h.hostname LIMIT ?3";

json_t *store_host_status(struct store *s, const char *service, const char *hostname, int64_t now,
			  int64_t active_window)
{
	if (!s)
		return NULL;
	json_t *res = NULL, *hosts = json_array();
	int64_t active = 0, total = 0;
	struct store_conn *c = store_rget(s);
	sqlite3_stmt *st = store_stmt(c, SQL_HOST_STATUS);
	if (!st || !hosts)
		goto out;
	store_bind_text(st, 1, service);
	store_bind_text(st, 2, hostname);
	sqlite3_bind_int64(st, 3, HOST_STATUS_MAX);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t last = sqlite3_column_int64(st, 4);
		bool is_active = now - last <= active_window;
		json_t *h = json_object();
		if (!h)
			goto out;
		json_object_set_new(h, "hostname", store_json_col(st, 0));
		json_object_set_new(h, "service_name", store_json_col(st, 1));
		json_object_set_new(h, "ip_address", store_json_col(st, 2));
		json_object_set_new(h, "agent_version", store_json_col(st, 3));
		json_object_set_new(h, "last_heartbeat", store_json_time(last));
		json_object_set_new(h, "status", json_string(is_active ? "active" : "offline"));
		json_object_set_new(h, "command_id", store_json_col(st, 5));
		json_object_set_new(h, "command_type", store_json_col(st, 6));
		json_object_set_new(h, "command_status", store_json_col(st, 7));
		json_array_append_new(hosts, h);
		total++;
		active += is_active;
	}
	if (step != SQLITE_DONE) {
		store_dberr(c->db, "host_status");
		goto out;
	}
	res = json_pack("{s:O, s:I, s:I}", "hosts", hosts, "active_count", (json_int_t)active,
			"total_count", (json_int_t)total);
out:
	if (st)
		sqlite3_reset(st);
	store_rput(s, c);
	json_decref(hosts);
	if (!res)
		errno = EIO;
	return res;
}

static const char SQL_SERVICES[] =
	"WITH names (n) AS (SELECT service_name FROM hosts UNION SELECT name FROM services)"
	" SELECT n, (SELECT count(*) FROM hosts WHERE service_name = n),"
	" (SELECT max(last_seen) FROM hosts WHERE service_name = n),"
	" (SELECT last_profile FROM services WHERE name = n)"
	" FROM names ORDER BY n LIMIT 100000";

json_t *store_list_services(struct store *s)
{
	if (!s)
		return NULL;
	json_t *res = NULL, *list = json_array();
	struct store_conn *c = store_rget(s);
	sqlite3_stmt *st = store_stmt(c, SQL_SERVICES);
	if (!st || !list)
		goto out;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:o, s:I, s:o, s:o}", "service_name", store_json_col(st, 0),
				      "hosts", (json_int_t)sqlite3_column_int64(st, 1),
				      "last_seen", store_json_time(sqlite3_column_int64(st, 2)),
				      "last_profile", store_json_time(sqlite3_column_int64(st, 3)));
		if (!o)
			goto out;
		json_array_append_new(list, o);
	}
	if (step != SQLITE_DONE) {
		store_dberr(c->db, "list services");
		goto out;
	}
	res = json_pack("{s:O}", "services", list);
out:
	if (st)
		sqlite3_reset(st);
	store_rput(s, c);
	json_decref(list);
	if (!res)
		errno = EIO;
	return res;
}
