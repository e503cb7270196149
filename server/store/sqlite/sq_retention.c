/* sq_retention.c — deleting old data in small transactions, for both doors.
 *
 * The cutoff is rounded down to a whole hour so the minute and hour tables always cover the same
 * time span. Old uploads are found through profiles (indexed by start time) in batches; each
 * batch deletes its uploads' minute and hour buckets by primary key and the profiles rows, then
 * releases the write lock. Stacks and frames whose last_used hour is before the cutoff are no
 * longer referenced by any sample and go next, also in batches. Terminal commands created before
 * the cutoff (and requests left without commands) go last. */
#include <errno.h>

#include "log.h"
#include "sq.h"

#define BATCH_PROFILES 200
#define BATCH_ROWS     2000

static const char SQL_OLD_PROFILES[] =
	"SELECT id, service_id, host_id, start_time FROM profiles WHERE start_time < ?1"
	" ORDER BY start_time LIMIT ?2";
static const char SQL_DEL_HOST_M[] =
	"DELETE FROM samples_host_m WHERE service_id = ?1 AND host_id = ?2 AND bucket = ?3";
static const char SQL_DEL_HOST_H[] =
	"DELETE FROM samples_host_h WHERE service_id = ?1 AND host_id = ?2 AND bucket = ?3";
static const char SQL_DEL_SVC_M[] =
	"DELETE FROM samples_svc_m WHERE service_id = ?1 AND bucket = ?3 AND ?2 IS ?2";
static const char SQL_DEL_SVC_H[] =
	"DELETE FROM samples_svc_h WHERE service_id = ?1 AND bucket = ?3 AND ?2 IS ?2";
static const char SQL_DEL_PROFILE[] = "DELETE FROM profiles WHERE id = ?1";
static const char SQL_DEL_STACKS[] =
	"DELETE FROM stacks WHERE id IN (SELECT id FROM stacks WHERE last_used < ?1 LIMIT ?2)";
static const char SQL_DEL_FRAMES[] =
	"DELETE FROM frames WHERE id IN (SELECT id FROM frames WHERE last_used < ?1 LIMIT ?2)";
static const char SQL_DEL_COMMANDS[] =
	"DELETE FROM commands WHERE id IN (SELECT id FROM commands WHERE created_at < ?1"
	" AND status IN ('completed', 'failed') LIMIT ?2)";
static const char SQL_DEL_REQUESTS[] =
	"DELETE FROM requests WHERE request_id IN (SELECT q.request_id FROM requests q"
	" WHERE q.created_at < ?1 AND NOT EXISTS (SELECT 1 FROM commands c"
	" WHERE c.request_id = q.request_id) LIMIT ?2)";

static int del_bucket(struct sq_conn *c, const char *sql, int64_t svc, int64_t host,
		      int64_t bucket, int64_t *changes)
{
	sqlite3_stmt *st = sq_stmt(c, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, svc);
	sqlite3_bind_int64(st, 2, host);
	sqlite3_bind_int64(st, 3, bucket);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		return sq_dberr(c->db, "retention delete");
	if (changes)
		*changes += sqlite3_changes(c->db);
	return 0;
}

/* One batch of old uploads. *done when there were none left. */
static int profiles_batch(struct sq *s, int64_t cutoff, int64_t *deleted, bool *done)
{
	int64_t ids[BATCH_PROFILES][4];
	size_t n = 0;
	struct sq_conn *c = sq_wlock(s);
	int rc = sq_begin(c);
	if (rc)
		goto out;
	rc = -EIO;
	sqlite3_stmt *st = sq_stmt(c, SQL_OLD_PROFILES);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int64(st, 2, BATCH_PROFILES);
	int step;
	while (n < BATCH_PROFILES && (step = sqlite3_step(st)) == SQLITE_ROW) {
		for (int k = 0; k < 4; k++)
			ids[n][k] = sqlite3_column_int64(st, k);
		n++;
	}
	sqlite3_reset(st);
	*done = n == 0;
	int64_t samples = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t svc = ids[i][1], host = ids[i][2];
		int64_t bm = sq_floor(ids[i][3], SQ_BUCKET_MIN);
		int64_t bh = sq_floor(ids[i][3], SQ_BUCKET_HOUR);
		if ((rc = del_bucket(c, SQL_DEL_HOST_M, svc, host, bm, &samples)) ||
		    (rc = del_bucket(c, SQL_DEL_HOST_H, svc, host, bh, NULL)) ||
		    (rc = del_bucket(c, SQL_DEL_SVC_M, svc, host, bm, NULL)) ||
		    (rc = del_bucket(c, SQL_DEL_SVC_H, svc, host, bh, NULL)))
			goto out;
		rc = -EIO;
		st = sq_stmt(c, SQL_DEL_PROFILE);
		if (!st)
			goto out;
		sqlite3_bind_int64(st, 1, ids[i][0]);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE) {
			rc = sq_dberr(c->db, "retention delete profile");
			goto out;
		}
	}
	rc = sq_commit(c);
	if (!rc)
		*deleted += samples;
out:
	if (rc)
		sq_rollback(s);
	sq_wunlock(s);
	return rc;
}

/* Repeat a batched DELETE until it deletes nothing. Empties the ingest caches when
 * clear_caches (ids of deleted stacks/frames must not be handed out again). */
static int delete_batches(struct sq *s, const char *sql, int64_t cutoff, bool clear_caches)
{
	for (;;) {
		struct sq_conn *c = sq_wlock(s);
		int rc = -EIO, changes = 0;
		sqlite3_stmt *st = sq_stmt(c, sql);
		if (st) {
			sqlite3_bind_int64(st, 1, cutoff);
			sqlite3_bind_int64(st, 2, BATCH_ROWS);
			int step = sqlite3_step(st);
			sqlite3_reset(st);
			if (step == SQLITE_DONE) {
				rc = 0;
				changes = sqlite3_changes(c->db);
			} else {
				rc = sq_dberr(c->db, "retention batch");
			}
		}
		if (clear_caches && changes) {
			sq_kv_clear(&s->frames);
			sq_kv_clear(&s->stacks);
		}
		sq_wunlock(s);
		if (rc || changes == 0)
			return rc;
	}
}

int64_t sq_smp_delete_before(struct samples *smp, int64_t cutoff)
{
	if (!smp)
		return -EINVAL;
	struct sq *s = sq_of_smp(smp);
	int64_t hcut = sq_floor(cutoff, SQ_BUCKET_HOUR), deleted = 0;
	bool done = false;
	int rc = 0;
	while (!done && !rc)
		rc = profiles_batch(s, hcut, &deleted, &done);
	if (!rc)
		rc = delete_batches(s, SQL_DEL_STACKS, hcut, true);
	if (!rc)
		rc = delete_batches(s, SQL_DEL_FRAMES, hcut, true);
	if (rc)
		return rc;
	if (deleted)
		log_info("store: retention deleted %lld sample rows before %lld",
			 (long long)deleted, (long long)hcut);
	return deleted;
}

int sq_ctl_delete_before(struct control *ctl, int64_t cutoff)
{
	if (!ctl)
		return -EINVAL;
	struct sq *s = sq_of_ctl(ctl);
	int rc = delete_batches(s, SQL_DEL_COMMANDS, cutoff, false);
	if (!rc)
		rc = delete_batches(s, SQL_DEL_REQUESTS, cutoff, false);
	return rc;
}
