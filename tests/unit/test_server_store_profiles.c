/* test_server_store_profiles.c — the sample store (server/store/samples.h) on its SQLite member,
 * fed by the profile parser (server/profile.h): ingest, range queries (minute/hour edges checked
 * against a brute-force model), malformed input, bounds, retention, reopen, and concurrency. */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "util.h"
#include "buf.h"
#include "collapsed.h"
#include "log.h"
#include "profile.h"
#include "server_fixtures.h"
#include "store/store.h"
#include "t.h"

static char tdir[256], dbpath[300];
static struct store st;

static struct samples *open_store_opts(size_t wal_limit)
{
	struct store_options o = { .schema_dir = sfx_schema(), .wal_limit = wal_limit };
	const char *d = sfx_tmpdir("fp-storep");

	T_REQUIRE(d != NULL);
	snprintf(tdir, sizeof(tdir), "%s", d);
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", tdir);
	T_REQUIRE(store_open(&st, dbpath, NULL, &o) == 0);
	return st.samples;
}

static struct samples *open_store(void)
{
	return open_store_opts(0);
}

static void close_store(struct samples *s)
{
	(void)s;
	store_close(&st);
	sfx_rmtree(tdir);
}

static int64_t sql_int(const char *sql)
{
	return sfx_sql_int(dbpath, sql);
}

/* Parse text as an upload would be, then store it. */
static int ingest(struct samples *s, const char *svc, const char *host, int64_t t, const char *text,
		  int64_t gpid, int64_t *gpid_out, struct col_error *err)
{
	struct prof p;
	int64_t g = 0;
	int rc = prof_parse(&p, text, strlen(text), err);

	if (!rc) {
		struct smp_upload u = { .service_name = svc, .hostname = host, .start_time = t,
					.end_time = t + 60, .cpu_avg = 12.5, .mem_avg = 40,
					.header_json = p.header, .lines = p.lines,
					.n_lines = p.n_lines, .total_samples = p.total,
					.gpid = gpid };
		rc = s->ops->ingest(s, &u, gpid_out ? gpid_out : &g);
	}
	prof_release(&p);
	return rc;
}

static int agg_cb(void *ctx, const char *stack, size_t len, uint64_t count)
{
	return col_agg_add(ctx, stack, len, count);
}

/* The query's result as sorted "stack count" lines into out (static), or "E<errno>". */
static const char *query(struct samples *s, const char *svc, int64_t start, int64_t end,
			 const char *host, const char *container, size_t max_stacks)
{
	static char out[8192];
	struct col_agg *a = col_agg_new(10000);
	struct smp_query q = { .service = svc, .start = start, .end = end, .hostname = host,
			       .container = container };
	int rc = s->ops->query_stacks(s, &q, max_stacks, agg_cb, a);
	struct buf b;
	buf_init(&b, sizeof(out) - 1);
	if (rc)
		snprintf(out, sizeof(out), "E%d", -rc);
	else if (col_agg_write(a, &b) == 0)
		snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	else
		snprintf(out, sizeof(out), "(too long)");
	buf_release(&b);
	col_agg_free(a);
	return out;
}

#define H0 ((int64_t)3600 * 500000) /* an hour boundary */

/* Visited rows as text, "name@time:cpu/mem " each (times relative to H0). */
struct rows {
	int n;
	char text[1024];
};

static int add_row(struct rows *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_row(struct rows *r, const char *fmt, ...)
{
	size_t len = strlen(r->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->text + len, sizeof(r->text) - len, fmt, ap);
	va_end(ap);
	r->n++;
	return 0;
}

static int metric_row(void *ctx, const struct smp_metric *m)
{
	return add_row(ctx, "%s@%lld:%g/%g ", m->hostname, (long long)(m->time - H0), m->cpu_avg,
		       m->mem_avg);
}

static int service_row(void *ctx, const struct smp_service *sv)
{
	return add_row(ctx, "%s@%lld ", sv->service_name, (long long)(sv->last_profile - H0));
}

T_TEST(ingest_query_exact)
{
	struct samples *s = open_store();
	int64_t g1 = 0, g2 = 0;
	const char *p1 = "# {\"metadata\": {\"hostname\": \"a\"}}\n"
			 "0;c1;python;main;f 5\n"
			 "1;c1;python;main;g 3\n"
			 "0;;bash;main 2\n"
			 "2;c1;python;main;f 1\n";
	const char *p2 = "0;c2;python;main;f 10\n0;c2;java;x_[j] 4\n";
	T_CHECK(ingest(s, "svc", "a", H0 + 30, p1, 0, &g1, NULL) == 0);
	T_CHECK(ingest(s, "svc", "b", H0 + 45, p2, 77, &g2, NULL) == 0);
	T_CHECK(g1 > 0 && g2 == 77);
	T_CHECK(ingest(s, "other", "a", H0, "0;c1;python;main;zzz 100\n", 0, NULL, NULL) == 0);

	const char *r = query(s, "svc", H0, H0 + 60, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "bash;main 2\njava;x_[j] 4\npython;main;f 16\npython;main;g 3\n") == 0,
		 "%s", r);
	r = query(s, "svc", H0, H0 + 60, "a", NULL, 100);
	T_CHECKF(strcmp(r, "bash;main 2\npython;main;f 6\npython;main;g 3\n") == 0, "%s", r);
	r = query(s, "svc", H0, H0 + 60, NULL, "c2", 100);
	T_CHECKF(strcmp(r, "java;x_[j] 4\npython;main;f 10\n") == 0, "%s", r);
	r = query(s, "svc", H0, H0 + 60, "a", "c1", 100);
	T_CHECKF(strcmp(r, "python;main;f 6\npython;main;g 3\n") == 0, "%s", r);
	r = query(s, "svc", H0, H0 + 60, NULL, "", 100);
	T_CHECKF(strcmp(r, "bash;main 2\n") == 0, "%s", r);
	r = query(s, "svc", H0, H0 + 60, "b", "c1", 100);
	T_CHECKF(strcmp(r, "") == 0, "%s", r);
	r = query(s, "svc", H0, H0 + 60, "nohost", NULL, 100);
	T_CHECKF(strcmp(r, "") == 0, "%s", r);
	r = query(s, "nosvc", H0, H0 + 60, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "") == 0, "%s", r);
	r = query(s, "svc", H0 + 60, H0 + 120, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "") == 0, "%s", r);
	r = query(s, "other", 0, H0 * 2, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "python;main;zzz 100\n") == 0, "%s", r);

	/* max_stacks bound */
	r = query(s, "svc", H0, H0 + 60, NULL, NULL, 3);
	T_CHECKF(strcmp(r, "E7") == 0, "%s", r); /* E2BIG */
	r = query(s, "svc", H0, H0 + 60, NULL, NULL, 4);
	T_CHECK(r[0] != 'E');

	/* interned once per service: 4 distinct stacks in svc, 1 in other */
	T_CHECK(sql_int("SELECT count(*) FROM stacks") == 5);
	T_CHECK(sql_int("SELECT count(*) FROM frames") == 8); /* python main f g bash java x zzz */
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 3);
	T_CHECK(sql_int("SELECT samples FROM profiles WHERE gpid = 77") == 14);

	/* metrics */
	struct smp_query q = { .service = "svc", .start = H0, .end = H0 + 60 };
	struct rows m = { 0 };
	T_CHECK(s->ops->metrics(s, &q, metric_row, &m) == 0);
	T_CHECKF(strcmp(m.text, "a@30:12.5/40 b@45:12.5/40 ") == 0, "metrics %s", m.text);
	q.hostname = "b";
	m = (struct rows){ 0 };
	T_CHECK(s->ops->metrics(s, &q, metric_row, &m) == 0 && m.n == 1);

	m = (struct rows){ 0 };
	T_CHECK(s->ops->services(s, service_row, &m) == 0);
	T_CHECKF(strcmp(m.text, "other@0 svc@45 ") == 0, "services %s", m.text);
	close_store(s);
}

/* ---- time edges against a model ---- */

static const int64_t ptimes[] = { H0, H0 + 59, H0 + 60, H0 + 3599, H0 + 3600, H0 + 9000,
				  H0 + 10800, H0 + 17999, H0 - 1 };
#define NP ARRAY_SIZE(ptimes)

static int64_t fl(int64_t t, int64_t w) { return t - (((t % w) + w) % w); }
static int64_t cl(int64_t t, int64_t w) { return fl(t, w) == t ? t : fl(t, w) + w; }

static const char *model(int64_t start, int64_t end, const char *host)
{
	static char out[4096];
	struct col_agg *a = col_agg_new(100);
	int64_t lo = fl(start, 60), hi = cl(end, 60);
	char st[64];
	for (size_t i = 0; i < NP; i++) {
		for (int h = 0; h < 2; h++) {
			if (host && strcmp(host, h ? "hb" : "ha") != 0)
				continue;
			int64_t b = fl(ptimes[i], 60);
			if (b < lo || b >= hi)
				continue;
			int n = snprintf(st, sizeof(st), "comm;s%zu", i);
			if (col_agg_add(a, st, (size_t)n, i + 1 + (size_t)h * 100) ||
			    col_agg_add(a, "comm;common", 11, 1))
				abort();
		}
	}
	struct buf b;
	buf_init(&b, sizeof(out) - 1);
	if (col_agg_write(a, &b) != 0)
		abort();
	snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	buf_release(&b);
	col_agg_free(a);
	return out;
}

T_TEST(time_edges_minute_and_hour_buckets)
{
	struct samples *s = open_store();
	char text[256];
	for (size_t i = 0; i < NP; i++) {
		for (int h = 0; h < 2; h++) {
			snprintf(text, sizeof(text), "0;;comm;s%zu %zu\n1;ctr;comm;common 1\n", i,
				 i + 1 + (size_t)h * 100);
			T_CHECK(ingest(s, "svc", h ? "hb" : "ha", ptimes[i], text, 0, NULL, NULL) ==
				0);
		}
	}
	static const int64_t edges[] = { H0 - 3600, H0 - 60, H0 - 1, H0, H0 + 1, H0 + 30, H0 + 59,
					 H0 + 60, H0 + 61, H0 + 120, H0 + 1800, H0 + 3540,
					 H0 + 3599, H0 + 3600, H0 + 3601, H0 + 7200, H0 + 8999,
					 H0 + 9000, H0 + 9060, H0 + 10800, H0 + 14400, H0 + 17940,
					 H0 + 18000, H0 + 86400 };
	size_t ne = ARRAY_SIZE(edges), checked = 0;
	char want[4096];
	for (size_t i = 0; i < ne; i++) {
		for (size_t j = 0; j < ne; j++) {
			for (int f = 0; f < 2; f++) {
				const char *host = f ? "hb" : NULL;
				snprintf(want, sizeof(want), "%s", model(edges[i], edges[j], host));
				const char *got = query(s, "svc", edges[i], edges[j], host, NULL, 100);
				T_CHECKF(strcmp(got, want) == 0,
					 "[%+lld, %+lld) host %s: got\n%s\nwant\n%s",
					 (long long)(edges[i] - H0), (long long)(edges[j] - H0),
					 host ? host : "-", got, want);
				checked++;
			}
		}
	}
	T_CHECK(checked == ne * ne * 2);
	/* the container filter across buckets: "common" lives in container ctr only */
	const char *r = query(s, "svc", H0 - 3600, H0 + 86400, NULL, "ctr", 100);
	T_CHECKF(strcmp(r, "comm;common 18\n") == 0, "%s", r);
	close_store(s);
}

T_TEST(malformed_profile_stores_nothing)
{
	struct samples *s = open_store();
	struct col_error err;
	/* a bad count after good lines */
	T_CHECK(ingest(s, "svc", "h", H0, "0;c;comm;f 5\n0;c;comm;newframe 3\n0;c;comm;g x\n", 0,
		       NULL, &err) == -EINVAL);
	T_CHECKF(err.line == 3, "line %u: %s", err.line, err.msg);
	/* a line without appid;container;comm */
	T_CHECK(ingest(s, "svc", "h", H0, "0;c;comm;f 5\n0;comm 2\n", 0, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "stack 2") != NULL, "%s", err.msg);
	T_CHECK(ingest(s, "svc", "h", H0, "0;c;comm;;f 5\n", 0, NULL, &err) == -EINVAL);
	T_CHECK(ingest(s, "", "h", H0, "0;c;comm;f 5\n", 0, NULL, &err) == -EINVAL);
	static const char *const tables[] = { "profiles", "samples_host_m", "samples_host_h",
					      "samples_svc_m", "samples_svc_h", "stacks", "frames",
					      "services", "hostnames", "containers" };
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		char sql[80];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		T_CHECKF(sql_int(sql) == 0, "%s not empty", tables[i]);
	}
	/* the rolled-back ids are not reused from a cache */
	T_CHECK(ingest(s, "svc", "h", H0, "0;c;comm;newframe 3\n0;c;comm;f 1\n", 0, NULL, &err) == 0);
	const char *r = query(s, "svc", H0, H0 + 60, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "comm;f 1\ncomm;newframe 3\n") == 0, "%s", r);
	/* an empty profile is an upload with no samples */
	T_CHECK(ingest(s, "svc", "h", H0 + 60, "", 0, NULL, &err) == 0);
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 2);
	close_store(s);
}

T_TEST(retention_deletes_exactly_old_rows)
{
	struct samples *s = open_store();
	int64_t H = H0;
	T_CHECK(ingest(s, "svc", "a", H - 3 * 3600 + 10, "0;;comm;old1 1\n", 0, NULL, NULL) == 0);
	T_CHECK(ingest(s, "svc", "a", H - 2 * 3600 + 120,
		       "0;;comm;old1 2\n0;;comm;shared 3\n", 0, NULL, NULL) == 0);
	T_CHECK(ingest(s, "svc", "b", H - 2 * 3600 + 120, "0;;comm;old2 7\n", 0, NULL, NULL) == 0);
	T_CHECK(ingest(s, "svc", "a", H - 3600, "0;;comm;shared 4\n", 0, NULL, NULL) == 0);
	T_CHECK(ingest(s, "svc", "a", H + 60, "0;;comm;new 5\n0;;comm;shared 6\n", 0, NULL,
		       NULL) == 0);
	T_CHECK(sql_int("SELECT count(*) FROM samples_host_m") == 7);

	/* old commands: a terminal one goes, a pending one stays */
	struct control *c = st.control;
	struct ctl_target t = { .hostname = "a", .config = "{}" };
	struct ctl_request rq = { .service_name = "svc", .type = CTL_REQ_STOP, .config = "{}",
				  .targets = &t, .n_targets = 1, .now = H - 3 * 3600 };
	struct ctl_created cr;
	T_REQUIRE(c->ops->create_request(c, &rq, &cr) == 0);
	T_CHECK(c->ops->complete_command(c, cr.command_ids[0], "a", CTL_CMD_COMPLETED, 1, NULL,
					 NULL, H) == 0);
	ctl_created_release(&cr);
	struct ctl_target t2 = { .hostname = "z", .config = "{}" };
	rq.targets = &t2;
	T_REQUIRE(c->ops->create_request(c, &rq, &cr) == 0);
	ctl_created_release(&cr);

	/* cutoff in the middle of hour H-1 rounds down to H-1: the first three uploads go */
	int64_t n = s->ops->delete_before(s, H - 3600 + 1800);
	T_CHECK(c->ops->delete_before(c, H - 3600 + 1800) == 0);
	T_CHECKF(n == 4, "deleted %lld", (long long)n);
	T_CHECK(sql_int("SELECT count(*) FROM samples_host_m") == 3);
	T_CHECK(sql_int("SELECT count(*) FROM samples_host_h") == 3);
	T_CHECK(sql_int("SELECT count(*) FROM samples_svc_m") == 3);
	T_CHECK(sql_int("SELECT count(*) FROM samples_svc_h") == 3);
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 2);
	T_CHECK(sql_int("SELECT count(*) FROM stacks") == 2);  /* shared, new */
	T_CHECK(sql_int("SELECT count(*) FROM frames") == 3);  /* comm, shared, new */
	T_CHECK(sql_int("SELECT count(*) FROM commands") == 1);
	T_CHECK(sql_int("SELECT count(*) FROM requests") == 1);
	const char *r = query(s, "svc", 0, H * 2, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "comm;new 5\ncomm;shared 10\n") == 0, "%s", r);
	T_CHECK(s->ops->delete_before(s, H - 3600 + 1800) == 0);

	/* a deleted stack comes back with new ids */
	T_CHECK(ingest(s, "svc", "a", H + 120, "0;;comm;old1 9\n", 0, NULL, NULL) == 0);
	r = query(s, "svc", H, H + 3600, "a", NULL, 100);
	T_CHECKF(strcmp(r, "comm;new 5\ncomm;old1 9\ncomm;shared 6\n") == 0, "%s", r);

	/* reopen keeps everything */
	store_close(&st);
	struct store_options o = { .schema_dir = sfx_schema() };
	T_REQUIRE(store_open(&st, dbpath, NULL, &o) == 0);
	s = st.samples;
	r = query(s, "svc", 0, H * 2, NULL, NULL, 100);
	T_CHECKF(strcmp(r, "comm;new 5\ncomm;old1 9\ncomm;shared 10\n") == 0, "%s", r);
	T_CHECK(sql_int("SELECT count(*) FROM commands") == 1);
	close_store(s);
}

/* ---- concurrency ---- */

#define HB_THREADS 4
#define HB_PER     250
#define HB_HOSTS   50
#define UPLOADS    20

struct thr {
	struct store *s;
	int id;
	int errors;
};

static void *hb_thread(void *arg)
{
	struct thr *t = arg;
	char host[32];
	for (int i = 0; i < HB_PER; i++) {
		snprintf(host, sizeof(host), "t%d-h%d", t->id, i % HB_HOSTS);
		struct ctl_heartbeat hb = { .hostname = host, .service_name = "conc",
					    .now = 1000 + i };
		struct ctl_command c;
		if (t->s->control->ops->heartbeat(t->s->control, &hb, &c) != 0)
			t->errors++;
		ctl_command_release(&c);
	}
	return NULL;
}

static void *ingest_thread(void *arg)
{
	struct thr *t = arg;
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int u = 0; u < UPLOADS; u++) {
		buf_reset(&b);
		for (int k = 0; k < 200; k++)
			if (buf_printf(&b, "0;c;comm;f%d;g%d %d\n", k % 17, k, 1 + k % 3))
				t->errors++;
		if (ingest(t->s->samples, "conc", "up", H0 + u * 60, buf_cstr(&b), 0, NULL, NULL) != 0)
			t->errors++;
	}
	buf_release(&b);
	return NULL;
}

static int count_cb(void *ctx, const char *stack, size_t len, uint64_t count)
{
	(void)stack;
	(void)len;
	*(uint64_t *)ctx += count;
	return 0;
}

struct host_count {
	int64_t now, window, total, active;
};

static int count_host(void *ctx, const struct ctl_host *h)
{
	struct host_count *c = ctx;

	c->total++;
	c->active += c->now - h->last_seen <= c->window;
	return 0;
}

static void *query_thread(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 30; i++) {
		uint64_t total = 0;
		struct smp_query q = { .service = "conc", .start = H0, .end = H0 + 7200 };
		struct host_count hc = { .now = 2000, .window = 5000 };
		if (t->s->samples->ops->query_stacks(t->s->samples, &q, 10000, count_cb, &total) != 0)
			t->errors++;
		if (t->s->control->ops->host_status(t->s->control, "conc", NULL, count_host, &hc))
			t->errors++;
	}
	return NULL;
}

T_TEST(concurrency_exact_counts)
{
	struct samples *s = open_store();
	pthread_t th[HB_THREADS + 2];
	struct thr a[HB_THREADS + 2];
	for (int i = 0; i < HB_THREADS + 2; i++) {
		a[i] = (struct thr){ .s = &st, .id = i };
		void *(*fn)(void *) = i < HB_THREADS ? hb_thread
				      : i == HB_THREADS ? ingest_thread : query_thread;
		T_CHECK(pthread_create(&th[i], NULL, fn, &a[i]) == 0);
	}
	int errors = 0;
	for (int i = 0; i < HB_THREADS + 2; i++) {
		pthread_join(th[i], NULL);
		errors += a[i].errors;
	}
	T_CHECK(errors == 0);
	struct host_count hc = { .now = 1000 + HB_PER, .window = 10 };
	T_CHECK(st.control->ops->host_status(st.control, "conc", NULL, count_host, &hc) == 0);
	T_CHECK(hc.total == HB_THREADS * HB_HOSTS);
	/* each host's last heartbeat was at 1000 + HB_PER - HB_HOSTS + (index) */
	T_CHECK(hc.active == HB_THREADS * 10);
	uint64_t total = 0;
	struct smp_query q = { .service = "conc", .start = H0, .end = H0 + 7200 };
	T_CHECK(s->ops->query_stacks(s, &q, 10000, count_cb, &total) == 0);
	uint64_t per = 0;
	for (int k = 0; k < 200; k++)
		per += 1 + k % 3;
	T_CHECKF(total == per * UPLOADS, "total %llu", (unsigned long long)total);
	close_store(s);
}

/* Sustained ingest with no pause must not grow the WAL without bound (seen: 3.8 GB after 14,400
 * uploads before the fix). */
T_TEST(wal_stays_bounded_under_sustained_ingest)
{
	struct samples *s = open_store_opts(1u << 20);
	struct buf text;
	struct col_error err;
	char path[400];
	struct stat sb;
	int ok = 1;

	buf_init(&text, 1u << 20);
	for (int i = 0; i < 400 && ok; i++)
		ok = buf_printf(&text, "0;;app;main;mod%d;fn%d_%d 3\n", i % 7, i, i * 31) == 0;
	T_CHECK(ok);
	for (int i = 0; i < 60 && ok; i++)
		ok = ingest(s, "svc", "h", H0 + i * 60, buf_cstr(&text), 0, NULL, &err) == 0;
	T_CHECK(ok);
	usleep(2500 * 1000);   /* two rounds of the background checkpoint */
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	T_CHECKF(stat(path, &sb) != 0 || sb.st_size <= (2 << 20), "WAL is %lld bytes, bound 1 MiB",
		 (long long)sb.st_size);
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 60);
	buf_release(&text);
	close_store(s);
}

/* Duplicate lines are merged before the write lock (a 97 KB gzip of 5 M identical lines once
 * held it for 16 s); distinct stacks and lines per profile are bounded. */
T_TEST(duplicates_merged_and_profile_bounds)
{
	struct samples *s = open_store();
	struct buf text;
	struct col_error err;
	int ok = 1;

	buf_init(&text, 64u << 20);
	for (int i = 0; i < 100000 && ok; i++)
		ok = buf_puts(&text, i % 2 ? "0;c1;app;main;f 2\n" : "0;;app;main;f 1\n") == 0;
	T_CHECK(ok && ingest(s, "dup", "h", H0, buf_cstr(&text), 0, NULL, &err) == 0);
	T_CHECKF(!strcmp(query(s, "dup", H0, H0 + 60, NULL, NULL, 100), "app;main;f 150000\n"),
		 "merged: %s", query(s, "dup", H0, H0 + 60, NULL, NULL, 100));
	T_CHECK(!strcmp(query(s, "dup", H0, H0 + 60, NULL, "c1", 100), "app;main;f 100000\n"));
	T_CHECK(sql_int("SELECT stacks FROM profiles") == 2);

	buf_reset(&text);
	for (unsigned i = 0; i <= PROF_MAX_STACKS && ok; i++)
		ok = buf_printf(&text, "0;;app;f%u 1\n", i) == 0;
	T_CHECK(ok && ingest(s, "many", "h", H0, buf_cstr(&text), 0, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "distinct stacks") != NULL, "message: %s", err.msg);

	buf_reset(&text);
	for (unsigned i = 0; i <= PROF_MAX_LINES && ok; i++)
		ok = buf_puts(&text, "0;;a;b 1\n") == 0;
	T_CHECK(ok && ingest(s, "lines", "h", H0, buf_cstr(&text), 0, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "lines") != NULL, "message: %s", err.msg);
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 1);   /* the refused ones stored nothing */
	buf_release(&text);
	close_store(s);
}

/* Each container as "-name" (so that "no container" shows as "-") with its samples. */
static int container_row(void *ctx, const struct smp_container *c)
{
	char key[80];
	int n = snprintf(key, sizeof(key), "-%s", c->name);

	return col_agg_add(ctx, key, (size_t)n, c->samples);
}

T_TEST(containers_listed_with_samples)
{
	struct samples *s = open_store();
	struct col_error err;
	T_CHECK(ingest(s, "ctr", "h1", H0 + 60, "0;web;app;f 5\n0;;app;g 2\n0;db;pg;q 1\n", 0, NULL,
		       &err) == 0);
	T_CHECK(ingest(s, "ctr", "h2", H0 + 3 * 3600, "0;web;app;f 7\n", 0, NULL, &err) == 0);
	T_CHECK(ingest(s, "other", "h3", H0 + 60, "0;elsewhere;x;y 1\n", 0, NULL, &err) == 0);

	struct { const char *host; int64_t lo, hi; const char *want; } cases[] = {
		/* whole range: hour tables plus both edges */
		{ NULL, H0 - 1800, H0 + 5 * 3600 + 600, "- 2\n-db 1\n-web 12\n" },
		{ "h1", H0 - 1800, H0 + 5 * 3600, "- 2\n-db 1\n-web 5\n" },
		{ "h2", H0, H0 + 5 * 3600, "-web 7\n" },
		{ NULL, H0 + 3600, H0 + 2 * 3600, "" },          /* nothing in that hour */
		{ NULL, H0 + 60, H0 + 120, "- 2\n-db 1\n-web 5\n" },  /* one minute bucket */
		{ "nobody", H0, H0 + 3600, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct smp_query q = { .service = "ctr", .start = cases[i].lo, .end = cases[i].hi,
				       .hostname = cases[i].host };
		struct col_agg *a = col_agg_new(16);
		struct buf b;
		T_REQUIRE(a != NULL);
		T_CHECK(s->ops->containers(s, &q, container_row, a) == 0);
		buf_init(&b, 256);
		/* sorted by name for a stable comparison: "name samples\n" lines */
		T_CHECK(col_agg_write(a, &b) == 0);
		T_CHECKF(!strcmp(buf_cstr(&b), cases[i].want), "case %zu: got '%s' want '%s'", i,
			 buf_cstr(&b), cases[i].want);
		buf_release(&b);
		col_agg_free(a);
	}
	close_store(s);
}

int main(void)
{
	log_init("test_server_store_profiles", LOG_ERROR);
	T_RUN(ingest_query_exact);
	T_RUN(time_edges_minute_and_hour_buckets);
	T_RUN(malformed_profile_stores_nothing);
	T_RUN(retention_deletes_exactly_old_rows);
	T_RUN(concurrency_exact_counts);
	T_RUN(wal_stays_bounded_under_sustained_ingest);
	T_RUN(duplicates_merged_and_profile_bounds);
	T_RUN(containers_listed_with_samples);
	return t_done();
}
