/* store_ingest.c — profile ingest: parse the collapsed text, intern names, frames and stacks,
 * add the counts to the sample tables, record the upload. One transaction: all or nothing.
 *
 * Each line is "<appid>;<container>;<comm>;frame;...;leaf count". The appid is dropped, the
 * container becomes a column, and the stack "comm;frame;...;leaf" is interned once per service.
 * Counts go to four tables (per host and per service, per minute and per hour) so range
 * queries read whole hours from the hour tables.
 *
 * The text is parsed and validated first, without the write lock (a malformed profile never
 * reaches the database); the SQL work then runs under the lock in one transaction.
 *
 * Interning is cached in memory (bounded caches on struct store, emptied when full, on any
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

static int name_lookup(struct store_conn *c, enum store_name_kind kind, const char *name,
		       size_t len, int64_t *id)
{
	sqlite3_stmt *st = store_stmt(c, sql_name_get[kind]);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
	int step = sqlite3_step(st);
	*id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_dberr(c->db, "name lookup");
	return 0;
}

int store_name_id(struct store_conn *c, enum store_name_kind kind, const char *name, int64_t *id)
{
	return name_lookup(c, kind, name, strlen(name), id);
}

static int name_id_n(struct store *s, enum store_name_kind kind, const char *name, size_t len,
		     bool create, int64_t *id)
{
	char key[1 + 1024];
	bool cacheable = len < sizeof(key) - 1;
	uint64_t h = 0;
	if (cacheable) {
		key[0] = (char)kind;
		memcpy(key + 1, name, len);
		h = store_hash(key, len + 1);
		struct store_kv_entry *e = store_kv_get(&s->names, key, len + 1, h);
		if (e) {
			*id = e->val;
			return 0;
		}
	}
	int rc = name_lookup(&s->w, kind, name, len, id);
	if (rc || (*id == 0 && !create))
		return rc;
	if (*id == 0) {
		sqlite3_stmt *st = store_stmt(&s->w, sql_name_add[kind]);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
		int step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return store_dberr(s->w.db, "name insert");
		*id = sqlite3_last_insert_rowid(s->w.db);
	}
	if (cacheable)
		return store_kv_put(&s->names, key, len + 1, h, *id, 0);
	return 0;
}

int store_name_id_w(struct store *s, enum store_name_kind kind, const char *name, bool create,
		    int64_t *id)
{
	return name_id_n(s, kind, name, strlen(name), create, id);
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

static int bump(struct store_conn *c, const char *sql, int64_t id, int64_t hour)
{
	sqlite3_stmt *st = store_stmt(c, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, hour);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : store_dberr(c->db, "last_used update");
}

/* Frame id for name[0..len), created if new, last_used raised to hour. */
static int frame_id(struct store *s, const char *name, size_t len, int64_t hour, int64_t *id)
{
	struct store_conn *c = &s->w;
	uint64_t h = store_hash(name, len);
	struct store_kv_entry *e = store_kv_get(&s->frames, name, len, h);
	if (e) {
		*id = e->val;
		if (e->aux < hour) {
			e->aux = hour;
			return bump(c, SQL_FRAME_BUMP, *id, hour);
		}
		return 0;
	}
	sqlite3_stmt *st = store_stmt(c, SQL_FRAME_GET);
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
		st = store_stmt(c, SQL_FRAME_ADD);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, hour);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return store_dberr(c->db, "frame insert");
		*id = sqlite3_last_insert_rowid(c->db);
	} else {
		sqlite3_reset(st);
		return store_dberr(c->db, "frame lookup");
	}
	if (rc)
		return rc;
	if (*id <= 0 || *id > (int64_t)UINT32_MAX)
		return -EOVERFLOW;
	return store_kv_put(&s->frames, name, len, h, *id, last);
}

/* One parsed line: pointers into the caller's text. */
struct pline {
	const char *container;
	const char *stack;
	uint32_t clen, slen;
	int64_t count;
};

struct ingest {
	struct store *s;
	struct col_agg *agg;    /* "container;stack" -> count: duplicate lines merged while parsing */
	struct pline *v;        /* the merged lines, filled before the write lock is taken */
	size_t n, cap;
	int64_t service_id, host_id, bucket_m, bucket_h;
	int64_t total;
	int64_t lines;
	char *key;              /* 8-byte service id + stack text */
	unsigned char *blob;    /* frame ids, uint32 little-endian */
	char msg[160];          /* our own error, when a callback fails */
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
	struct store *s = in->s;
	struct store_conn *c = &s->w;
	int64_t hour = in->bucket_h;
	memcpy(in->key, &in->service_id, 8);
	memcpy(in->key + 8, text, len);
	uint64_t kh = store_hash(in->key, len + 8);
	struct store_kv_entry *e = store_kv_get(&s->stacks, in->key, len + 8, kh);
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
	uint64_t h = store_hash(text, len);
	int64_t last = hour;
	for (int probe = 0;; probe++, h++) {
		if (probe > 64)
			return -EIO; /* cannot happen short of a broken hash */
		sqlite3_stmt *st = store_stmt(c, SQL_STACK_GET);
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
			return store_dberr(c->db, "stack lookup");
		st = store_stmt(c, SQL_STACK_ADD);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, in->service_id);
		sqlite3_bind_int64(st, 2, (int64_t)h);
		sqlite3_bind_blob(st, 3, in->blob, (int)nb, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, hour);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return store_dberr(c->db, "stack insert");
		*id = sqlite3_last_insert_rowid(c->db);
		break;
	}
	return store_kv_put(&s->stacks, in->key, len + 8, kh, *id, last);
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
	struct store_conn *c = &in->s->w;
	sqlite3_stmt *st = store_stmt(c, sql);
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
	return step == SQLITE_DONE ? 0 : store_dberr(c->db, "sample upsert");
}

/* Parse phase (no lock held): validate a line and merge it with its duplicates. */
static int on_stack(void *ctx, const char *line, size_t len, uint64_t count)
{
	struct ingest *in = ctx;
	in->lines++;
	if (in->lines > STORE_MAX_PROFILE_LINES) {
		snprintf(in->msg, sizeof(in->msg), "profile has more than %u lines",
			 STORE_MAX_PROFILE_LINES);
		return -EINVAL;
	}
	const char *a = memchr(line, ';', len);
	const char *b = a ? memchr(a + 1, ';', len - (size_t)(a + 1 - line)) : NULL;
	if (!b) {
		snprintf(in->msg, sizeof(in->msg),
			 "stack %lld: expected <appid>;<container>;<comm>;frames...",
			 (long long)in->lines);
		return -EINVAL;
	}
	if (count > MAX_COUNT) {
		snprintf(in->msg, sizeof(in->msg), "stack %lld: count too large",
			 (long long)in->lines);
		return -EINVAL;
	}
	/* the appid is not kept: "container;comm;frames" is the key */
	int rc = col_agg_add(in->agg, a + 1, len - (size_t)(a + 1 - line), count);
	if (rc == -ENOSPC) {
		snprintf(in->msg, sizeof(in->msg), "profile has more than %u distinct stacks",
			 STORE_MAX_PROFILE_STACKS);
		return -EINVAL;
	}
	if (rc)
		return rc;
	int64_t n = (int64_t)count;
	in->total = in->total > INT64_MAX - n ? INT64_MAX : in->total + n;
	return 0;
}

/* One merged "container;comm;frames" key as a line to store (pointers into the table). */
static int on_merged(void *ctx, const char *key, size_t len, uint64_t count)
{
	struct ingest *in = ctx;
	const char *semi = memchr(key, ';', len);
	if (!semi)
		return -EINVAL;   /* cannot happen: on_stack checked it */
	if (in->n == in->cap) {
		size_t ncap = in->cap ? in->cap * 2 : 1024;
		struct pline *nv = realloc(in->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		in->v = nv;
		in->cap = ncap;
	}
	in->v[in->n++] = (struct pline){ .container = key, .clen = (uint32_t)(semi - key),
					 .stack = semi + 1,
					 .slen = (uint32_t)(len - (size_t)(semi + 1 - key)),
					 .count = count > MAX_COUNT ? (int64_t)MAX_COUNT : (int64_t)count };
	return 0;
}

/* Write phase (write lock held, in the transaction): intern and add one line's samples. */
static int store_line(struct ingest *in, const struct pline *l)
{
	int64_t cont = 0, sid = 0;
	int rc = name_id_n(in->s, STORE_NAME_CONTAINER, l->container, l->clen, true, &cont);
	if (rc)
		return rc;
	rc = stack_id(in, l->stack, l->slen, &sid);
	if (rc)
		return rc;
	if ((rc = add_sample(in, SQL_UP_HOST_M, in->bucket_m, cont, sid, l->count)) ||
	    (rc = add_sample(in, SQL_UP_HOST_H, in->bucket_h, cont, sid, l->count)) ||
	    (rc = add_sample(in, SQL_UP_SVC_M, in->bucket_m, cont, sid, l->count)) ||
	    (rc = add_sample(in, SQL_UP_SVC_H, in->bucket_h, cont, sid, l->count)))
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

static int64_t floor_to(int64_t t, int64_t w)
{
	int64_t r = t % w;
	return r < 0 ? t - r - w : t - r;
}

static int record_profile(struct ingest *in, const struct store_profile *p, const char *header,
			  int64_t *gpid_out)
{
	struct store_conn *c = &in->s->w;
	sqlite3_stmt *st = store_stmt(c, SQL_PROFILE_ADD);
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
	store_bind_text(st, 8, header);
	sqlite3_bind_int64(st, 9, in->total);
	sqlite3_bind_int64(st, 10, (int64_t)in->n);   /* distinct stacks after merging */
	sqlite3_bind_int64(st, 11, (int64_t)time(NULL));
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		return store_dberr(c->db, "profile insert");
	int64_t id = sqlite3_last_insert_rowid(c->db);
	*gpid_out = p->gpid > 0 ? p->gpid : id;
	if (p->gpid <= 0) {
		st = store_stmt(c, SQL_PROFILE_GPID);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, id);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_DONE)
			return store_dberr(c->db, "profile gpid");
	}
	st = store_stmt(c, SQL_SERVICE_SEEN);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->service_id);
	sqlite3_bind_int64(st, 2, p->start_time);
	step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : store_dberr(c->db, "service last_profile");
}

int store_ingest_profile(struct store *s, const struct store_profile *p, int64_t *gpid_out,
			 struct col_error *err)
{
	struct col_error lerr;
	if (!err)
		err = &lerr;
	memset(err, 0, sizeof(*err));
	if (!s || !p || !p->service_name || !*p->service_name || !p->hostname || !*p->hostname ||
	    (!p->text && p->text_len) || p->start_time < 0) {
		snprintf(err->msg, sizeof(err->msg), "missing service, hostname or start time");
		return -EINVAL;
	}
	int64_t gpid = 0;
	char *header = NULL;
	struct ingest in = { .s = s };
	in.bucket_m = floor_to(p->start_time, STORE_BUCKET_MIN);
	in.bucket_h = floor_to(p->start_time, STORE_BUCKET_HOUR);
	/* parse and validate everything before taking the write lock: a malformed profile never
	 * touches the database, and heartbeats wait only for the SQL work */
	int rc = -ENOMEM;
	in.agg = col_agg_new(STORE_MAX_PROFILE_STACKS);
	if (!in.agg)
		goto out_free;
	rc = col_parse(p->text ? p->text : "", p->text_len, &header, on_stack, &in, err);
	if (!rc)
		rc = col_agg_foreach(in.agg, false, on_merged, &in);
	if (rc) {
		if (in.msg[0]) {
			err->line = 0;
			snprintf(err->msg, sizeof(err->msg), "%s", in.msg);
		}
		goto out_free;
	}
	rc = -ENOMEM;
	in.key = malloc(COL_MAX_LINE + 8);
	in.blob = malloc(COL_MAX_FRAMES * 4);
	if (!in.key || !in.blob)
		goto out_free;

	struct store_conn *c = store_wlock(s);
	rc = store_begin(c);
	if (rc)
		goto out;
	if ((rc = store_name_id_w(s, STORE_NAME_SERVICE, p->service_name, true, &in.service_id)) ||
	    (rc = store_name_id_w(s, STORE_NAME_HOST, p->hostname, true, &in.host_id)))
		goto out;
	for (size_t i = 0; i < in.n; i++) {
		rc = store_line(&in, &in.v[i]);
		if (rc) {
			log_warn("store: ingest for %s/%s failed at stack %zu: %d", p->service_name,
				 p->hostname, i + 1, rc);
			snprintf(err->msg, sizeof(err->msg), "storing stack %zu failed", i + 1);
			goto out;
		}
	}
	rc = record_profile(&in, p, p->header_json ? p->header_json : header, &gpid);
	if (rc)
		goto out;
	rc = store_commit(c);
out:
	if (rc)
		store_rollback(s);
	store_wunlock(s);
out_free:
	if (!rc && gpid_out)
		*gpid_out = gpid;
	free(header);
	free(in.key);
	free(in.blob);
	free(in.v);
	col_agg_free(in.agg);
	return rc;
}
