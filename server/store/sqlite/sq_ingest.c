/* sq_ingest.c — the sample door's ingest: intern names, frames and stacks, add the counts to
 * the sample tables, record the upload with its metrics. One transaction: all or nothing.
 *
 * The caller has parsed and merged the profile (server/profile.c), so a malformed profile never
 * reaches the database and the write lock is held only for the SQL work. Each line's container
 * becomes a column, and its stack "comm;frame;...;leaf" is interned once per service. Counts go
 * to four tables (per host and per service, per minute and per hour) so range queries read
 * whole hours from the hour tables.
 *
 * Interning is cached in memory (bounded caches on struct sq, emptied when full, on any
 * rollback and by retention), so a profile whose stacks were seen before costs four upserts per
 * line and no lookups. Frames and stacks carry last_used (newest hour bucket using them), which
 * lets retention find orphans without scanning the sample tables. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sq.h"

#define MAX_COUNT ((uint64_t)1 << 62)

/* ---- names (services, hosts, containers) ---- */

static const char *const sql_name_get[] = {
	"SELECT id FROM services WHERE name = ?1",
	"SELECT id FROM hostnames WHERE name = ?1",
	"SELECT id FROM containers WHERE name = ?1",
};
static const char *const sql_name_add[] = {
	"INSERT INTO services (name) VALUES (?1)",
	"INSERT INTO hostnames (name) VALUES (?1)",
	"INSERT INTO containers (name) VALUES (?1)",
};

static int name_lookup(struct sq_conn *c, enum sq_name_kind kind, const char *name,
		       size_t len, int64_t *id)
{
	sqlite3_stmt *st = sq_stmt(c, sql_name_get[kind]);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
	int step = sqlite3_step(st);
	*id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return sq_dberr(c->db, "name lookup");
	return 0;
}

int sq_name_id(struct sq_conn *c, enum sq_name_kind kind, const char *name, int64_t *id)
{
	return name_lookup(c, kind, name, strlen(name), id);
}

static int name_id_n(struct sq *s, enum sq_name_kind kind, const char *name, size_t len,
		     bool create, int64_t *id)
{
	char key[1 + 1024];
	bool cacheable = len < sizeof(key) - 1;
	uint64_t h = 0;
	if (cacheable) {
		key[0] = (char)kind;
		memcpy(key + 1, name, len);
		h = sq_hash(key, len + 1);
		struct sq_kv_entry *e = sq_kv_get(&s->names, key, len + 1, h);
		if (e) {
			*id = e->val;
			return 0;
		}
	}
	int rc = name_lookup(&s->w, kind, name, len, id);
	if (rc || (*id == 0 && !create))
		return rc;
	if (*id == 0) {
		sqlite3_stmt *st = sq_stmt(&s->w, sql_name_add[kind]);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
		int step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return sq_dberr(s->w.db, "name insert");
		*id = sqlite3_last_insert_rowid(s->w.db);
	}
	if (cacheable)
		return sq_kv_put(&s->names, key, len + 1, h, *id, 0);
	return 0;
}


/* ---- frames and stacks ---- */

static const char SQL_FRAME_GET[] = "SELECT id, last_used FROM frames WHERE name = ?1";
static const char SQL_FRAME_ADD[] = "INSERT INTO frames (name, last_used) VALUES (?1, ?2)";
static const char SQL_FRAME_BUMP[] =
	"UPDATE frames SET last_used = ?2 WHERE id = ?1 AND last_used < ?2";
static const char SQL_STACK_GET[] =
	"SELECT id, frames, last_used FROM stacks WHERE service_id = ?1 AND hash = ?2";
static const char SQL_STACK_ADD[] =
	"INSERT INTO stacks (service_id, hash, frames, last_used) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_STACK_BUMP[] =
	"UPDATE stacks SET last_used = ?2 WHERE id = ?1 AND last_used < ?2";

static int bump(struct sq_conn *c, const char *sql, int64_t id, int64_t hour)
{
	sqlite3_stmt *st = sq_stmt(c, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, hour);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : sq_dberr(c->db, "last_used update");
}

/* Frame id for name[0..len), created if new, last_used raised to hour. */
static int frame_id(struct sq *s, const char *name, size_t len, int64_t hour, int64_t *id)
{
	struct sq_conn *c = &s->w;
	uint64_t h = sq_hash(name, len);
	struct sq_kv_entry *e = sq_kv_get(&s->frames, name, len, h);
	if (e) {
		*id = e->val;
		if (e->aux < hour) {
			e->aux = hour;
			return bump(c, SQL_FRAME_BUMP, *id, hour);
		}
		return 0;
	}
	sqlite3_stmt *st = sq_stmt(c, SQL_FRAME_GET);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int64_t last = hour;
	int rc = 0;
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		last = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		if (last < hour) {
			rc = bump(c, SQL_FRAME_BUMP, *id, hour);
			last = hour;
		}
	} else if (step == SQLITE_DONE) {
		sqlite3_reset(st);
		st = sq_stmt(c, SQL_FRAME_ADD);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, hour);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return sq_dberr(c->db, "frame insert");
		*id = sqlite3_last_insert_rowid(c->db);
	} else {
		sqlite3_reset(st);
		return sq_dberr(c->db, "frame lookup");
	}
	if (rc)
		return rc;
	if (*id <= 0 || *id > (int64_t)UINT32_MAX)
		return -EOVERFLOW;
	return sq_kv_put(&s->frames, name, len, h, *id, last);
}

struct ingest {
	struct sq *s;
	int64_t service_id, host_id, bucket_m, bucket_h;
	char *key;              /* 8-byte service id + stack text */
	unsigned char *blob;    /* frame ids, uint32 little-endian */
};

/* Frame ids of text as a blob in in->blob; *n bytes. Frames raised to hour. */
static int stack_frames(struct ingest *in, const char *text, size_t len, size_t *n)
{
	size_t start = 0, nb = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != ';')
			continue;
		if (nb / 4 >= COL_MAX_FRAMES)
			return -E2BIG;
		int64_t id = 0;
		int rc = frame_id(in->s, text + start, i - start, in->bucket_h, &id);
		if (rc)
			return rc;
		uint32_t v = (uint32_t)id;
		in->blob[nb++] = (unsigned char)v;
		in->blob[nb++] = (unsigned char)(v >> 8);
		in->blob[nb++] = (unsigned char)(v >> 16);
		in->blob[nb++] = (unsigned char)(v >> 24);
		start = i + 1;
	}
	*n = nb;
	return 0;
}

static int stack_id(struct ingest *in, const char *text, size_t len, int64_t *id)
{
	struct sq *s = in->s;
	struct sq_conn *c = &s->w;
	int64_t hour = in->bucket_h;
	memcpy(in->key, &in->service_id, 8);
	memcpy(in->key + 8, text, len);
	uint64_t kh = sq_hash(in->key, len + 8);
	struct sq_kv_entry *e = sq_kv_get(&s->stacks, in->key, len + 8, kh);
	if (e && e->aux >= hour) {
		*id = e->val;
		return 0;
	}
	/* new, or first use in a newer hour: resolve frames (raising their last_used) */
	size_t nb = 0;
	int rc = stack_frames(in, text, len, &nb);
	if (rc)
		return rc;
	if (e) {
		*id = e->val;
		e->aux = hour;
		return bump(c, SQL_STACK_BUMP, *id, hour);
	}
	uint64_t h = sq_hash(text, len);
	int64_t last = hour;
	for (int probe = 0;; probe++, h++) {
		if (probe > 64)
			return -EIO; /* cannot happen short of a broken hash */
		sqlite3_stmt *st = sq_stmt(c, SQL_STACK_GET);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, in->service_id);
		sqlite3_bind_int64(st, 2, (int64_t)h);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			const void *b = sqlite3_column_blob(st, 1);
			size_t bl = (size_t)sqlite3_column_bytes(st, 1);
			bool same = bl == nb && (nb == 0 || memcmp(b, in->blob, nb) == 0);
			*id = sqlite3_column_int64(st, 0);
			last = sqlite3_column_int64(st, 2);
			sqlite3_reset(st);
			if (!same)
				continue; /* a hash collision: try the next value */
			if (last < hour) {
				rc = bump(c, SQL_STACK_BUMP, *id, hour);
				if (rc)
					return rc;
				last = hour;
			}
			break;
		}
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return sq_dberr(c->db, "stack lookup");
		st = sq_stmt(c, SQL_STACK_ADD);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, in->service_id);
		sqlite3_bind_int64(st, 2, (int64_t)h);
		sqlite3_bind_blob(st, 3, in->blob, (int)nb, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, hour);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return sq_dberr(c->db, "stack insert");
		*id = sqlite3_last_insert_rowid(c->db);
		break;
	}
	return sq_kv_put(&s->stacks, in->key, len + 8, kh, *id, last);
}

/* ---- samples ---- */

static const char SQL_UP_HOST_M[] =
	"INSERT INTO samples_host_m (service_id, host_id, bucket, container_id, stack_id, count)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET count = count + excluded.count";
static const char SQL_UP_HOST_H[] =
	"INSERT INTO samples_host_h (service_id, host_id, bucket, container_id, stack_id, count)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET count = count + excluded.count";
static const char SQL_UP_SVC_M[] =
	"INSERT INTO samples_svc_m (service_id, bucket, container_id, stack_id, count)"
	" VALUES (?1, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET count = count + excluded.count";
static const char SQL_UP_SVC_H[] =
	"INSERT INTO samples_svc_h (service_id, bucket, container_id, stack_id, count)"
	" VALUES (?1, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET count = count + excluded.count";

static int add_sample(struct ingest *in, const char *sql, int64_t bucket, int64_t container,
		      int64_t stack, int64_t count)
{
	struct sq_conn *c = &in->s->w;
	sqlite3_stmt *st = sq_stmt(c, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->service_id);
	sqlite3_bind_int64(st, 2, in->host_id);
	sqlite3_bind_int64(st, 3, bucket);
	sqlite3_bind_int64(st, 4, container);
	sqlite3_bind_int64(st, 5, stack);
	sqlite3_bind_int64(st, 6, count);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : sq_dberr(c->db, "sample upsert");
}

/* Write phase (write lock held, in the transaction): intern and add one line's samples. */
static int store_line(struct ingest *in, const struct smp_line *l)
{
	int64_t cont = 0, sid = 0, n = l->count > MAX_COUNT ? (int64_t)MAX_COUNT : (int64_t)l->count;
	int rc = name_id_n(in->s, SQ_NAME_CONTAINER, l->container, l->clen, true, &cont);
	if (rc)
		return rc;
	rc = stack_id(in, l->stack, l->slen, &sid);
	if (rc)
		return rc;
	if ((rc = add_sample(in, SQL_UP_HOST_M, in->bucket_m, cont, sid, n)) ||
	    (rc = add_sample(in, SQL_UP_HOST_H, in->bucket_h, cont, sid, n)) ||
	    (rc = add_sample(in, SQL_UP_SVC_M, in->bucket_m, cont, sid, n)) ||
	    (rc = add_sample(in, SQL_UP_SVC_H, in->bucket_h, cont, sid, n)))
		return rc;
	return 0;
}

static const char SQL_PROFILE_ADD[] =
	"INSERT INTO profiles (service_id, host_id, start_time, end_time, gpid, cpu_avg, mem_avg,"
	" header, samples, stacks, received_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char SQL_PROFILE_GPID[] = "UPDATE profiles SET gpid = id WHERE id = ?1";
static const char SQL_SERVICE_SEEN[] =
	"UPDATE services SET last_profile = max(coalesce(last_profile, 0), ?2) WHERE id = ?1";

static int record_profile(struct ingest *in, const struct smp_upload *p, int64_t *gpid_out)
{
	struct sq_conn *c = &in->s->w;
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILE_ADD);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->service_id);
	sqlite3_bind_int64(st, 2, in->host_id);
	sqlite3_bind_int64(st, 3, p->start_time);
	sqlite3_bind_int64(st, 4, p->end_time > p->start_time ? p->end_time : p->start_time);
	sqlite3_bind_int64(st, 5, p->gpid > 0 ? p->gpid : 0);
	if (isfinite(p->cpu_avg))
		sqlite3_bind_double(st, 6, p->cpu_avg);
	if (isfinite(p->mem_avg))
		sqlite3_bind_double(st, 7, p->mem_avg);
	sq_bind_text(st, 8, p->header_json);
	sqlite3_bind_int64(st, 9, p->total_samples > INT64_MAX ? INT64_MAX
							       : (int64_t)p->total_samples);
	sqlite3_bind_int64(st, 10, (int64_t)p->n_lines);   /* distinct stacks after merging */
	sqlite3_bind_int64(st, 11, (int64_t)time(NULL));
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		return sq_dberr(c->db, "profile insert");
	int64_t id = sqlite3_last_insert_rowid(c->db);
	*gpid_out = p->gpid > 0 ? p->gpid : id;
	if (p->gpid <= 0) {
		st = sq_stmt(c, SQL_PROFILE_GPID);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, id);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return sq_dberr(c->db, "profile gpid");
	}
	st = sq_stmt(c, SQL_SERVICE_SEEN);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->service_id);
	sqlite3_bind_int64(st, 2, p->start_time);
	step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : sq_dberr(c->db, "service last_profile");
}

int sq_ingest(struct samples *smp, const struct smp_upload *p, int64_t *gpid_out)
{
	if (!smp || !p || !p->service_name || !*p->service_name || !p->hostname || !*p->hostname ||
	    (p->n_lines && !p->lines) || p->start_time < 0)
		return -EINVAL;
	struct sq *s = sq_of_smp(smp);
	int64_t gpid = 0;
	struct ingest in = { .s = s };
	in.bucket_m = sq_floor(p->start_time, SQ_BUCKET_MIN);
	in.bucket_h = sq_floor(p->start_time, SQ_BUCKET_HOUR);
	int rc = -ENOMEM;
	in.key = malloc(COL_MAX_LINE + 8);
	in.blob = malloc(COL_MAX_FRAMES * 4);
	if (!in.key || !in.blob)
		goto out_free;

	struct sq_conn *c = sq_wlock(s);
	rc = sq_begin(c);
	if (rc)
		goto out;
	if ((rc = name_id_n(s, SQ_NAME_SERVICE, p->service_name, strlen(p->service_name), true,
			    &in.service_id)) ||
	    (rc = name_id_n(s, SQ_NAME_HOST, p->hostname, strlen(p->hostname), true, &in.host_id)))
		goto out;
	for (size_t i = 0; i < p->n_lines; i++) {
		if (p->lines[i].slen > COL_MAX_LINE) {
			rc = -EINVAL;
			goto out;
		}
		rc = store_line(&in, &p->lines[i]);
		if (rc) {
			log_warn("store: ingest for %s/%s failed at stack %zu: %d", p->service_name,
				 p->hostname, i + 1, rc);
			goto out;
		}
	}
	rc = record_profile(&in, p, &gpid);
	if (rc)
		goto out;
	rc = sq_commit(c);
out:
	if (rc)
		sq_rollback(s);
	sq_wunlock(s);
out_free:
	if (!rc && gpid_out)
		*gpid_out = gpid;
	free(in.key);
	free(in.blob);
	return rc;
}
