/* sq_query.c — the sample door's range queries: merged stacks, containers, metrics, services.
 *
 * Time resolution is one minute: a query [start, end) covers the minute buckets that overlap it,
 * i.e. [floor(start, 1 min), ceil(end, 1 min)). The range is split into whole hours, read from the
 * hour tables, and the ragged edges, read from the minute tables. Without a hostname filter the
 * per-service tables (hosts already summed) are read, so a 24-hour query over a service reads
 * about 24 x (distinct stacks) hour rows plus at most 118 minute buckets of edges.
 *
 * Each query runs in one read transaction on a pooled read connection: a consistent snapshot that
 * neither blocks nor is blocked by writers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sq.h"


/* ---- an int64 -> value map for one query ---- */

struct qent {
	int64_t key;    /* 0 = empty (ids start at 1) */
	uint64_t count; /* stack map: summed count */
	char *name;     /* frame map: owned name */
	size_t len;
};
struct qmap {
	struct qent *e;
	size_t cap, n;
};

static uint64_t mix(int64_t k)
{
	uint64_t x = (uint64_t)k;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void qmap_free(struct qmap *m)
{
	for (size_t i = 0; m->e && i < m->cap; i++)
		free(m->e[i].name);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static int qmap_grow(struct qmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct qent *ne = calloc(ncap, sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->e[i].key)
			continue;
		size_t j = (size_t)mix(m->e[i].key) & (ncap - 1);
		while (ne[j].key)
			j = (j + 1) & (ncap - 1);
		ne[j] = m->e[i];
	}
	free(m->e);
	m->e = ne;
	m->cap = ncap;
	return 0;
}

/* The entry for key; *added says whether it is new. NULL on ENOMEM. */
static struct qent *qmap_get(struct qmap *m, int64_t key, bool create, bool *added)
{
	if (added)
		*added = false;
	if (m->cap) {
		for (size_t i = (size_t)mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
			if (m->e[i].key == key)
				return &m->e[i];
			if (!m->e[i].key)
				break;
		}
	}
	if (!create)
		return NULL;
	if ((m->n + 1) * 4 > m->cap * 3 && qmap_grow(m) != 0)
		return NULL;
	size_t i = (size_t)mix(key) & (m->cap - 1);
	while (m->e[i].key)
		i = (i + 1) & (m->cap - 1);
	m->e[i].key = key;
	m->n++;
	if (added)
		*added = true;
	return &m->e[i];
}

/* ---- plan ---- */

static int64_t ceil_to(int64_t t, int64_t w)
{
	int64_t f = sq_floor(t, w);
	return f == t ? t : f + w;
}

struct segment {
	bool hour;
	int64_t lo, hi;
};

/* Up to three segments covering [start, end) at minute resolution. */
static size_t plan(int64_t start, int64_t end, struct segment seg[3])
{
	int64_t lo = sq_floor(start, SQ_BUCKET_MIN), hi = ceil_to(end, SQ_BUCKET_MIN);
	if (lo >= hi)
		return 0;
	int64_t hlo = ceil_to(lo, SQ_BUCKET_HOUR), hhi = sq_floor(hi, SQ_BUCKET_HOUR);
	if (hlo >= hhi) {
		seg[0] = (struct segment){ false, lo, hi };
		return 1;
	}
	size_t n = 0;
	if (lo < hlo)
		seg[n++] = (struct segment){ false, lo, hlo };
	seg[n++] = (struct segment){ true, hlo, hhi };
	if (hhi < hi)
		seg[n++] = (struct segment){ false, hhi, hi };
	return n;
}

/* [host tables][hour][container filter] */
static const char *const sql_samples[2][2][2] = {
	{ { "SELECT stack_id, count FROM samples_svc_m"
	    " WHERE service_id = ?1 AND bucket >= ?3 AND bucket < ?4 AND ?2 IS ?2",
	    "SELECT stack_id, count FROM samples_svc_m"
	    " WHERE service_id = ?1 AND bucket >= ?3 AND bucket < ?4 AND container_id = ?5"
	    " AND ?2 IS ?2" },
	  { "SELECT stack_id, count FROM samples_svc_h"
	    " WHERE service_id = ?1 AND bucket >= ?3 AND bucket < ?4 AND ?2 IS ?2",
	    "SELECT stack_id, count FROM samples_svc_h"
	    " WHERE service_id = ?1 AND bucket >= ?3 AND bucket < ?4 AND container_id = ?5"
	    " AND ?2 IS ?2" } },
	{ { "SELECT stack_id, count FROM samples_host_m"
	    " WHERE service_id = ?1 AND host_id = ?2 AND bucket >= ?3 AND bucket < ?4",
	    "SELECT stack_id, count FROM samples_host_m"
	    " WHERE service_id = ?1 AND host_id = ?2 AND bucket >= ?3 AND bucket < ?4"
	    " AND container_id = ?5" },
	  { "SELECT stack_id, count FROM samples_host_h"
	    " WHERE service_id = ?1 AND host_id = ?2 AND bucket >= ?3 AND bucket < ?4",
	    "SELECT stack_id, count FROM samples_host_h"
	    " WHERE service_id = ?1 AND host_id = ?2 AND bucket >= ?3 AND bucket < ?4"
	    " AND container_id = ?5" } },
};

static const char SQL_STACK_FRAMES[] = "SELECT frames FROM stacks WHERE id = ?1";
static const char SQL_FRAME_NAME[] = "SELECT name FROM frames WHERE id = ?1";

struct ids {
	int64_t service, host, container;
};

/* Resolve the filter names; 1 when one of them does not exist (nothing can match). */
static int resolve(struct sq_conn *c, const struct smp_query *q, struct ids *ids)
{
	int rc = sq_name_id(c, SQ_NAME_SERVICE, q->service, &ids->service);
	if (rc || !ids->service)
		return rc ? rc : 1;
	if (q->hostname) {
		rc = sq_name_id(c, SQ_NAME_HOST, q->hostname, &ids->host);
		if (rc || !ids->host)
			return rc ? rc : 1;
	}
	if (q->container) {
		rc = sq_name_id(c, SQ_NAME_CONTAINER, q->container, &ids->container);
		if (rc || !ids->container)
			return rc ? rc : 1;
	}
	return 0;
}

static int sum_segment(struct sq_conn *c, const struct smp_query *q, const struct ids *ids,
		       const struct segment *sg, struct qmap *m, size_t max_stacks)
{
	const char *sql = sql_samples[q->hostname != NULL][sg->hour][q->container != NULL];
	sqlite3_stmt *st = sq_stmt(c, sql);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, ids->service);
	sqlite3_bind_int64(st, 2, ids->host);
	sqlite3_bind_int64(st, 3, sg->lo);
	sqlite3_bind_int64(st, 4, sg->hi);
	if (q->container)
		sqlite3_bind_int64(st, 5, ids->container);
	int rc = 0, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		bool added;
		struct qent *e = qmap_get(m, sqlite3_column_int64(st, 0), true, &added);
		if (!e) {
			rc = -ENOMEM;
			goto out;
		}
		if (added && m->n > max_stacks) {
			rc = -E2BIG;
			goto out;
		}
		e->count += (uint64_t)sqlite3_column_int64(st, 1);
	}
	if (step != SQLITE_DONE)
		rc = sq_dberr(c->db, "sample scan");
out:
	sqlite3_reset(st);
	return rc;
}

/* Name of frame id, cached in fm. */
static int frame_name(struct sq_conn *c, struct qmap *fm, int64_t id, const char **name,
		      size_t *len)
{
	struct qent *e = qmap_get(fm, id, false, NULL);
	if (!e) {
		sqlite3_stmt *st = sq_stmt(c, SQL_FRAME_NAME);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, id);
		int step = sqlite3_step(st);
		if (step != SQLITE_ROW) {
			sqlite3_reset(st);
			log_error("store: frame %lld missing", (long long)id);
			return -EIO;
		}
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		char *copy = malloc(n + 1);
		if (copy) {
			memcpy(copy, sqlite3_column_text(st, 0), n);
			copy[n] = '\0';
		}
		sqlite3_reset(st);
		e = copy ? qmap_get(fm, id, true, NULL) : NULL;
		if (!e) {
			free(copy);
			return -ENOMEM;
		}
		e->name = copy;
		e->len = n;
	}
	*name = e->name;
	*len = e->len;
	return 0;
}

/* Text of stack id into buf (at least COL_MAX_LINE bytes); *len. */
static int stack_text(struct sq_conn *c, struct qmap *fm, int64_t id, char *buf, size_t *len)
{
	sqlite3_stmt *st = sq_stmt(c, SQL_STACK_FRAMES);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	int rc = -EIO;
	if (sqlite3_step(st) != SQLITE_ROW) {
		log_error("store: stack %lld missing", (long long)id);
		goto out;
	}
	const unsigned char *b = sqlite3_column_blob(st, 0);
	size_t nb = (size_t)sqlite3_column_bytes(st, 0), n = 0;
	for (size_t i = 0; i + 4 <= nb; i += 4) {
		int64_t fid = (int64_t)((uint32_t)b[i] | (uint32_t)b[i + 1] << 8 |
					(uint32_t)b[i + 2] << 16 | (uint32_t)b[i + 3] << 24);
		const char *name;
		size_t nl;
		rc = frame_name(c, fm, fid, &name, &nl);
		if (rc)
			goto out;
		if (n + nl + 1 > COL_MAX_LINE) {
			rc = -E2BIG;
			goto out;
		}
		if (i)
			buf[n++] = ';';
		memcpy(buf + n, name, nl);
		n += nl;
	}
	*len = n;
	rc = 0;
out:
	sqlite3_reset(st);
	return rc;
}

int sq_query_stacks(struct samples *smp, const struct smp_query *q, size_t max_stacks,
		    col_stack_fn fn, void *ctx)
{
	if (!smp || !q || !q->service || !fn)
		return -EINVAL;
	struct sq *s = sq_of_smp(smp);
	struct segment seg[3];
	size_t nseg = plan(q->start, q->end, seg);
	struct qmap stacks = { 0 }, frames = { 0 };
	struct ids ids = { 0 };
	char *buf = NULL;
	struct sq_conn *c = sq_rget(s);
	int rc = sq_exec(c, "BEGIN");
	if (rc)
		goto out_put;
	rc = resolve(c, q, &ids);
	if (rc) {
		rc = rc > 0 ? 0 : rc;
		goto out;
	}
	for (size_t i = 0; i < nseg; i++) {
		rc = sum_segment(c, q, &ids, &seg[i], &stacks, max_stacks);
		if (rc)
			goto out;
	}
	rc = -ENOMEM;
	buf = malloc(COL_MAX_LINE + 1);
	if (!buf)
		goto out;
	rc = 0;
	for (size_t i = 0; i < stacks.cap && !rc; i++) {
		struct qent *e = &stacks.e[i];
		if (!e->key)
			continue;
		size_t len;
		rc = stack_text(c, &frames, e->key, buf, &len);
		if (!rc)
			rc = fn(ctx, buf, len, e->count);
	}
out:
	sq_exec(c, "COMMIT");
out_put:
	sq_rput(s, c);
	free(buf);
	qmap_free(&stacks);
	qmap_free(&frames);
	return rc;
}

/* [host tables][hour] */
static const char *const sql_containers[2][2] = {
	{ "SELECT container_id, sum(count) FROM samples_svc_m"
	  " WHERE service_id = ?1 AND bucket >= ?3 AND bucket < ?4 AND ?2 IS ?2 GROUP BY container_id",
	  "SELECT container_id, sum(count) FROM samples_svc_h"
	  " WHERE service_id = ?1 AND bucket >= ?3 AND bucket < ?4 AND ?2 IS ?2 GROUP BY container_id" },
	{ "SELECT container_id, sum(count) FROM samples_host_m"
	  " WHERE service_id = ?1 AND host_id = ?2 AND bucket >= ?3 AND bucket < ?4"
	  " GROUP BY container_id",
	  "SELECT container_id, sum(count) FROM samples_host_h"
	  " WHERE service_id = ?1 AND host_id = ?2 AND bucket >= ?3 AND bucket < ?4"
	  " GROUP BY container_id" },
};
static const char SQL_CONTAINER_NAME[] = "SELECT name FROM containers WHERE id = ?1";

int sq_containers(struct samples *smp, const struct smp_query *q, smp_container_fn fn, void *ctx)
{
	struct segment seg[3];
	struct qmap m = { 0 };
	struct ids ids = { 0 };
	struct sq *s;
	struct sq_conn *c;
	size_t nseg;
	int rc;

	if (!smp || !q || !q->service || !fn)
		return -EINVAL;
	s = sq_of_smp(smp);
	nseg = plan(q->start, q->end, seg);
	c = sq_rget(s);
	rc = sq_exec(c, "BEGIN");
	if (rc)
		goto out_put;
	rc = resolve(c, &(struct smp_query){ .service = q->service, .hostname = q->hostname }, &ids);
	for (size_t i = 0; rc == 0 && i < nseg; i++) {
		sqlite3_stmt *st = sq_stmt(c, sql_containers[q->hostname != NULL][seg[i].hour]);
		int step;
		if (!st) {
			rc = -EIO;
			goto out;
		}
		sqlite3_bind_int64(st, 1, ids.service);
		sqlite3_bind_int64(st, 2, ids.host);
		sqlite3_bind_int64(st, 3, seg[i].lo);
		sqlite3_bind_int64(st, 4, seg[i].hi);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			struct qent *e = qmap_get(&m, sqlite3_column_int64(st, 0), true, NULL);
			if (!e || m.n > SMP_MAX_CONTAINERS) {
				sqlite3_reset(st);
				rc = e ? -E2BIG : -ENOMEM;
				goto out;
			}
			e->count += (uint64_t)sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		if (step != SQLITE_DONE) {
			rc = sq_dberr(c->db, "container scan");
			goto out;
		}
	}
	if (rc > 0)   /* an unknown service or host: no containers */
		rc = 0;
	for (size_t i = 0; !rc && i < m.cap; i++) {
		struct qent *e = &m.e[i];
		sqlite3_stmt *st;
		if (!e->key)
			continue;
		st = sq_stmt(c, SQL_CONTAINER_NAME);
		if (!st) {
			rc = -EIO;
			goto out;
		}
		sqlite3_bind_int64(st, 1, e->key);
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = fn(ctx, &(struct smp_container){ .name = sq_text(st, 0),
							      .samples = e->count });
		sqlite3_reset(st);
	}
out:
	sq_exec(c, "COMMIT");
out_put:
	sq_rput(s, c);
	qmap_free(&m);
	return rc;
}

/* [hostname filter] */
static const char *const sql_metrics[2] = {
	"SELECT h.name, p.start_time, p.cpu_avg, p.mem_avg FROM profiles p"
	" JOIN hostnames h ON h.id = p.host_id"
	" WHERE p.service_id = ?1 AND p.start_time >= ?3 AND p.start_time < ?4 AND ?2 IS ?2"
	" ORDER BY p.start_time, h.name, p.id LIMIT ?5",
	"SELECT h.name, p.start_time, p.cpu_avg, p.mem_avg FROM profiles p"
	" JOIN hostnames h ON h.id = p.host_id"
	" WHERE p.service_id = ?1 AND p.host_id = ?2 AND p.start_time >= ?3 AND p.start_time < ?4"
	" ORDER BY p.start_time, h.name, p.id LIMIT ?5",
};

struct metric_visit {
	smp_metric_fn fn;
	void *ctx;
};

static int metric_row(sqlite3_stmt *st, void *arg)
{
	const struct metric_visit *v = arg;
	struct smp_metric m = { .hostname = sq_text(st, 0), .time = sqlite3_column_int64(st, 1),
				.cpu_avg = sq_real(st, 2), .mem_avg = sq_real(st, 3) };

	return v->fn(v->ctx, &m);
}

int sq_metrics(struct samples *smp, const struct smp_query *q, smp_metric_fn fn, void *ctx)
{
	struct metric_visit v = { fn, ctx };
	struct ids ids = { 0 };
	struct sq *s;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if (!smp || !q || !q->service || !fn)
		return -EINVAL;
	s = sq_of_smp(smp);
	c = sq_rget(s);
	rc = resolve(c, q, &ids);
	/* metrics are per upload (host), not per container: a container filter is ignored */
	if (rc == 0 || (rc > 0 && q->container && ids.service && (!q->hostname || ids.host))) {
		st = sq_stmt(c, sql_metrics[q->hostname != NULL]);
		if (st) {
			sqlite3_bind_int64(st, 1, ids.service);
			sqlite3_bind_int64(st, 2, ids.host);
			sqlite3_bind_int64(st, 3, sq_floor(q->start, SQ_BUCKET_MIN));
			sqlite3_bind_int64(st, 4, ceil_to(q->end, SQ_BUCKET_MIN));
			sqlite3_bind_int64(st, 5, SMP_MAX_METRICS);
		}
		rc = sq_rows(c, st, metric_row, &v, "metrics");
	}
	sq_rput(s, c);
	return rc > 0 ? 0 : rc;
}

static const char SQL_SERVICES[] =
	"SELECT name, last_profile FROM services ORDER BY name LIMIT 100000";

struct service_visit {
	smp_service_fn fn;
	void *ctx;
};

static int service_row(sqlite3_stmt *st, void *arg)
{
	const struct service_visit *v = arg;
	struct smp_service sv = { .service_name = sq_text(st, 0),
				  .last_profile = sqlite3_column_int64(st, 1) };

	return v->fn(v->ctx, &sv);
}

int sq_services(struct samples *smp, smp_service_fn fn, void *ctx)
{
	struct service_visit v = { fn, ctx };
	struct sq *s;
	struct sq_conn *c;
	int rc;

	if (!smp || !fn)
		return -EINVAL;
	s = sq_of_smp(smp);
	c = sq_rget(s);
	rc = sq_rows(c, sq_stmt(c, SQL_SERVICES), service_row, &v, "services");
	sq_rput(s, c);
	return rc;
}
