/* sq_hosts.c — the control door's hosts: heartbeats, host status and the services list.
 *
 * Hosts are keyed by (service_name, hostname) (schema/002): a command reaches a heartbeat only
 * when both match, and only that host's commands are touched by its id lists. A heartbeat with nothing to deliver costs one upsert and one indexed read (commands_open is a
 * partial index holding only pending and sent commands). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sq.h"

static const char SQL_HOST_UPSERT[] =
	"INSERT INTO hosts (hostname, service_name, ip_address, agent_version, agent_status,"
	" last_command_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
	" ON CONFLICT (service_name, hostname) DO UPDATE SET"
	" ip_address = coalesce(excluded.ip_address, ip_address),"
	" agent_version = coalesce(excluded.agent_version, agent_version),"
	" agent_status = excluded.agent_status, last_command_id = excluded.last_command_id,"
	" last_seen = max(last_seen, excluded.last_seen)";
static const char SQL_EXECUTED[] =
	"UPDATE commands SET status = 'completed', completed_at = ?3"
	" WHERE command_id = ?1 AND hostname = ?2 AND service_name = ?4"
	" AND status IN ('pending', 'sent')";
static const char SQL_RECEIVED[] =
	"UPDATE commands SET status = 'sent', sent_at = ?3"
	" WHERE command_id = ?1 AND hostname = ?2 AND service_name = ?4 AND status = 'pending'";
/* the oldest pending command, else the newest sent one */
static const char SQL_CURRENT[] =
	"SELECT id, command_id, command_type, combined_config, status FROM commands"
	" WHERE hostname = ?1 AND service_name = ?2 AND status IN ('pending', 'sent')"
	" ORDER BY status = 'pending' DESC, CASE status WHEN 'pending' THEN id ELSE -id END"
	" LIMIT 1";
static const char SQL_MARK_SENT[] =
	"UPDATE commands SET status = 'sent', sent_at = ?2 WHERE id = ?1 AND status = 'pending'";

static int mark_ids(struct sq_conn *c, const char *sql, const struct ctl_heartbeat *hb,
		    const char *const *ids, size_t n)
{
	if (n > CTL_MAX_IDS)
		n = CTL_MAX_IDS;
	for (size_t i = 0; i < n; i++) {
		if (!ids[i] || !*ids[i])
			continue;
		sqlite3_stmt *st = sq_stmt(c, sql);
		if (!st)
			return -EIO;
		sq_bind_text(st, 1, ids[i]);
		sq_bind_text(st, 2, hb->hostname);
		sqlite3_bind_int64(st, 3, hb->now);
		sq_bind_text(st, 4, hb->service_name);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return sq_dberr(c->db, "marking command ids");
	}
	return 0;
}

int sq_heartbeat(struct control *ctl, const struct ctl_heartbeat *hb, struct ctl_command *out)
{
	if (!ctl || !hb || !out || !hb->hostname || !*hb->hostname || !hb->service_name ||
	    !*hb->service_name)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct sq *s = sq_of_ctl(ctl);
	struct sq_conn *c = sq_wlock(s);
	sqlite3_stmt *st = NULL;
	int rc = sq_begin(c);
	if (rc)
		goto out;
	rc = -EIO;
	st = sq_stmt(c, SQL_HOST_UPSERT);
	if (!st)
		goto out;
	sq_bind_text(st, 1, hb->hostname);
	sq_bind_text(st, 2, hb->service_name);
	sq_bind_text(st, 3, hb->ip_address);
	sq_bind_text(st, 4, hb->agent_version);
	sq_bind_text(st, 5, hb->status);
	sq_bind_text(st, 6, hb->last_command_id);
	sqlite3_bind_int64(st, 7, hb->now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sq_dberr(c->db, "heartbeat upsert");
		goto out;
	}
	sqlite3_reset(st);

	if (hb->executed_ids) {
		rc = mark_ids(c, SQL_EXECUTED, hb, hb->executed_ids, hb->n_executed);
		if (rc)
			goto out;
	}
	if (hb->received_ids) {
		rc = mark_ids(c, SQL_RECEIVED, hb, hb->received_ids, hb->n_received);
		if (rc)
			goto out;
	}

	rc = -EIO;
	st = sq_stmt(c, SQL_CURRENT);
	if (!st)
		goto out;
	sq_bind_text(st, 1, hb->hostname);
	sq_bind_text(st, 2, hb->service_name);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *cid = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		const char *cfg = (const char *)sqlite3_column_text(st, 3);
		bool pending = strcmp((const char *)sqlite3_column_text(st, 4), "pending") == 0;
		snprintf(out->command_id, sizeof(out->command_id), "%s", cid ? cid : "");
		snprintf(out->command_type, sizeof(out->command_type), "%s", type ? type : "");
		out->config = strdup(cfg ? cfg : "{}");
		sqlite3_reset(st);
		rc = -ENOMEM;
		if (!out->config)
			goto out;
		rc = -EIO;
		if (pending) {
			st = sq_stmt(c, SQL_MARK_SENT);
			if (!st)
				goto out;
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, hb->now);
			if (sqlite3_step(st) != SQLITE_DONE) {
				rc = sq_dberr(c->db, "marking command sent");
				goto out;
			}
			sqlite3_reset(st);
		}
	} else if (step != SQLITE_DONE) {
		rc = sq_dberr(c->db, "current command");
		goto out;
	} else {
		sqlite3_reset(st);
	}
	rc = sq_commit(c);
out:
	if (rc) {
		sq_rollback(s);
		ctl_command_release(out);
	}
	sq_wunlock(s);
	return rc;
}

/* The host's command to show: the one a heartbeat would deliver, else its newest. */
static const char SQL_HOST_STATUS[] =
	"SELECT h.hostname, h.service_name, h.ip_address, h.agent_version, h.last_seen,"
	" c.command_id, c.command_type, c.status"
	" FROM hosts h LEFT JOIN commands c ON c.id = coalesce("
	"  (SELECT id FROM commands WHERE hostname = h.hostname AND service_name = h.service_name"
	"   AND status = 'pending' ORDER BY id LIMIT 1),"
	"  (SELECT id FROM commands WHERE hostname = h.hostname AND service_name = h.service_name"
	"   AND status = 'sent' ORDER BY id DESC LIMIT 1),"
	"  (SELECT id FROM commands WHERE hostname = h.hostname AND service_name = h.service_name"
	"   ORDER BY id DESC LIMIT 1))"
	" WHERE (?1 IS NULL OR h.service_name = ?1) AND (?2 IS NULL OR h.hostname = ?2)"
	" ORDER BY h.service_name, h.hostname LIMIT ?3";

struct host_visit {
	ctl_host_fn fn;
	void *ctx;
};

static int host_row(sqlite3_stmt *st, void *arg)
{
	const struct host_visit *v = arg;
	struct ctl_host h = {
		.hostname = sq_text(st, 0), .service_name = sq_text(st, 1),
		.ip_address = sq_text(st, 2), .agent_version = sq_text(st, 3),
		.last_seen = sqlite3_column_int64(st, 4), .command_id = sq_text(st, 5),
		.command_type = sq_text(st, 6), .command_status = sq_text(st, 7),
	};

	return v->fn(v->ctx, &h);
}

int sq_host_status(struct control *ctl, const char *service, const char *hostname, ctl_host_fn fn,
		   void *ctx)
{
	struct host_visit v = { fn, ctx };
	struct sq *s;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if (!ctl || !fn)
		return -EINVAL;
	s = sq_of_ctl(ctl);
	c = sq_rget(s);
	st = sq_stmt(c, SQL_HOST_STATUS);
	if (st) {
		sq_bind_text(st, 1, service);
		sq_bind_text(st, 2, hostname);
		sqlite3_bind_int64(st, 3, CTL_MAX_HOSTS);
	}
	rc = sq_rows(c, st, host_row, &v, "host_status");
	sq_rput(s, c);
	return rc;
}

static const char SQL_SERVICES[] =
	"SELECT service_name, count(*), max(last_seen) FROM hosts GROUP BY service_name"
	" ORDER BY service_name LIMIT 100000";

struct service_visit {
	ctl_service_fn fn;
	void *ctx;
};

static int service_row(sqlite3_stmt *st, void *arg)
{
	const struct service_visit *v = arg;
	struct ctl_service sv = { .service_name = sq_text(st, 0),
				  .hosts = sqlite3_column_int64(st, 1),
				  .last_seen = sqlite3_column_int64(st, 2) };

	return v->fn(v->ctx, &sv);
}

int sq_list_services(struct control *ctl, ctl_service_fn fn, void *ctx)
{
	struct service_visit v = { fn, ctx };
	struct sq *s;
	struct sq_conn *c;
	int rc;

	if (!ctl || !fn)
		return -EINVAL;
	s = sq_of_ctl(ctl);
	c = sq_rget(s);
	rc = sq_rows(c, sq_stmt(c, SQL_SERVICES), service_row, &v, "list services");
	sq_rput(s, c);
	return rc;
}
