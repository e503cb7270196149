/* test_server_store_profiles.c — profile ingest, range queries (minute/hour edges checked
 * against a brute-force model), malformed input, bounds, retention, reopen, and concurrency. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "buf.h"
#include "collapsed.h"
#include "log.h"
#include "store/store.h"
#include "t.h"

static char tdir[256], dbpath[300], schema[512];

static struct store *open_store(void)
{
	const char *root = getenv("FLEETPROF_ROOT");
	snprintf(schema, sizeof(schema), "%s/schema", root ? root : ".");
	snprintf(tdir, sizeof(tdir), "/tmp/fp-storep-XXXXXX");
	if (!mkdtemp(tdir))
		abort();
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", tdir);
	struct store *s = store_open(dbpath, schema);
	if (!s)
		abort();
	return s;
}

static void close_store(struct store *s)
{
	store_close(s);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tdir);
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

static int ingest(struct store *s, const char *svc, const char *host, int64_t t, const char *text,
		  int64_t gpid, int64_t *gpid_out, struct col_error *err)
{
	struct store_profile p = { .service_name = svc, .hostname = host, .start_time = t,
				   .end_time = t + 60, .cpu_avg = 12.5, .mem_avg = 40,
				   .text = text, .text_len = strlen(text), .gpid = gpid };
	int64_t g = 0;
	return store_ingest_profile(s, &p, gpid_out ? gpid_out : &g, err);
}

static int agg_cb(void *ctx, const char *stack, size_t len, uint64_t count)
{
	return col_agg_add(ctx, stack, len, count);
}

/* The query's result as sorted "stack count" lines into out (static), or "E<errno>". */
static const char *query(struct store *s, const char *svc, int64_t start, int64_t end,
			 const char *host, const char *container, size_t max_stacks)
{
	static char out[8192];
	struct col_agg *a = col_agg_new(10000);
	struct store_query q = { .service = svc, .start = start, .end = end, .hostname = host,
				 .container = container };
	int rc = store_query_stacks(s, &q, max_stacks, agg_cb, a);
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

T_TEST(ingest_query_exact)
{
	struct store *s = open_store();
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
	struct store_query q = { .service = "svc", .start = H0, .end = H0 + 60 };
	json_t *m = store_query_metrics(s, &q);
	json_t *ml = json_object_get(m, "metrics");
	T_CHECK(json_array_size(ml) == 2);
	json_t *m0 = json_array_get(ml, 0);
	T_CHECK(strcmp(json_string_value(json_object_get(m0, "hostname")), "a") == 0);
	T_CHECK(json_real_value(json_object_get(m0, "cpu_avg")) == 12.5);
	T_CHECK(json_number_value(json_object_get(m0, "mem_avg")) == 40);
	json_decref(m);
	q.hostname = "b";
	m = store_query_metrics(s, &q);
	T_CHECK(json_array_size(json_object_get(m, "metrics")) == 1);
	json_decref(m);

	json_t *sv = store_list_services(s);
	json_t *s1 = json_array_get(json_object_get(sv, "services"), 1);
	T_CHECK(strcmp(json_string_value(json_object_get(s1, "service_name")), "svc") == 0);
	T_CHECK(json_is_string(json_object_get(s1, "last_profile")));
	T_CHECK(json_integer_value(json_object_get(s1, "hosts")) == 0);
	json_decref(sv);
	close_store(s);
}

/* ---- time edges against a model ---- */

static const int64_t ptimes[] = { H0, H0 + 59, H0 + 60, H0 + 3599, H0 + 3600, H0 + 9000,
				  H0 + 10800, H0 + 17999, H0 - 1 };
#define NP (sizeof(ptimes) / sizeof(ptimes[0]))

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
	struct store *s = open_store();
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
	size_t ne = sizeof(edges) / sizeof(edges[0]), checked = 0;
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
	struct store *s = open_store();
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
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
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
	struct store *s = open_store();
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
	struct store_target t = { .hostname = "a" };
	struct store_request rq = { .service_name = "svc", .type = STORE_REQ_STOP, .targets = &t,
				    .n_targets = 1, .now = H - 3 * 3600 };
	json_t *res = NULL;
	T_CHECK(store_create_request(s, &rq, &res) == 0);
	const char *old_cid = json_string_value(json_array_get(json_object_get(res, "command_ids"), 0));
	T_CHECK(store_complete_command(s, old_cid, "a", STORE_CMD_COMPLETED, 1, NULL, NULL, H) == 0);
	json_decref(res);
	struct store_target t2 = { .hostname = "z" };
	rq.targets = &t2;
	T_CHECK(store_create_request(s, &rq, &res) == 0);
	json_decref(res);

	/* cutoff in the middle of hour H-1 rounds down to H-1: the first three uploads go */
	int64_t n = store_delete_before(s, H - 3600 + 1800);
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
	T_CHECK(store_delete_before(s, H - 3600 + 1800) == 0);

	/* a deleted stack comes back with new ids */
	T_CHECK(ingest(s, "svc", "a", H + 120, "0;;comm;old1 9\n", 0, NULL, NULL) == 0);
	r = query(s, "svc", H, H + 3600, "a", NULL, 100);
	T_CHECKF(strcmp(r, "comm;new 5\ncomm;old1 9\ncomm;shared 6\n") == 0, "%s", r);

	/* reopen keeps everything */
	store_close(s);
	s = store_open(dbpath, schema);
	T_CHECK(s != NULL);
	if (s) {
		r = query(s, "svc", 0, H * 2, NULL, NULL, 100);
		T_CHECKF(strcmp(r, "comm;new 5\ncomm;old1 9\ncomm;shared 10\n") == 0, "%s", r);
		json_t *l = store_list_commands(s, NULL, NULL, 0, 0);
		T_CHECK(json_integer_value(json_object_get(l, "total")) == 1);
		json_decref(l);
	}
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
		struct store_heartbeat hb = { .hostname = host, .service_name = "conc",
					      .now = 1000 + i };
		struct store_command c;
		if (store_heartbeat(t->s, &hb, &c) != 0)
			t->errors++;
		store_command_release(&c);
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
		if (ingest(t->s, "conc", "up", H0 + u * 60, buf_cstr(&b), 0, NULL, NULL) != 0)
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

static void *query_thread(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 30; i++) {
		uint64_t total = 0;
		struct store_query q = { .service = "conc", .start = H0, .end = H0 + 7200 };
		if (store_query_stacks(t->s, &q, 10000, count_cb, &total) != 0)
			t->errors++;
		json_t *hs = store_host_status(t->s, "conc", NULL, 2000, 5000);
		if (!hs)
			t->errors++;
		json_decref(hs);
	}
	return NULL;
}

T_TEST(concurrency_exact_counts)
{
	struct store *s = open_store();
	pthread_t th[HB_THREADS + 2];
	struct thr a[HB_THREADS + 2];
	for (int i = 0; i < HB_THREADS + 2; i++) {
		a[i] = (struct thr){ .s = s, .id = i };
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
	json_t *hs = store_host_status(s, "conc", NULL, 1000 + HB_PER, 10);
	T_CHECK(json_integer_value(json_object_get(hs, "total_count")) == HB_THREADS * HB_HOSTS);
	/* each host's last heartbeat was at 1000 + HB_PER - HB_HOSTS + (index) */
	T_CHECK(json_integer_value(json_object_get(hs, "active_count")) == HB_THREADS * 10);
	json_decref(hs);
	uint64_t total = 0;
	struct store_query q = { .service = "conc", .start = H0, .end = H0 + 7200 };
	T_CHECK(store_query_stacks(s, &q, 10000, count_cb, &total) == 0);
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
	struct store *s = open_store();
	struct buf text;
	struct col_error err;
	char path[400];
	struct stat st;
	int ok = 1;

	store_set_wal_limit(s, 1u << 20);
	buf_init(&text, 1u << 20);
	for (int i = 0; i < 400 && ok; i++)
		ok = buf_printf(&text, "0;;app;main;mod%d;fn%d_%d 3\n", i % 7, i, i * 31) == 0;
	T_CHECK(ok);
	for (int i = 0; i < 60 && ok; i++)
		ok = ingest(s, "svc", "h", H0 + i * 60, buf_cstr(&text), 0, NULL, &err) == 0;
	T_CHECK(ok);
	usleep(2500 * 1000);   /* two rounds of the background checkpoint */
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	T_CHECKF(stat(path, &st) != 0 || st.st_size <= (2 << 20), "WAL is %lld bytes, bound 1 MiB",
		 (long long)st.st_size);
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 60);
	buf_release(&text);
	close_store(s);
}

/* Duplicate lines are merged before the write lock (a 97 KB gzip of 5 M identical lines once
 * held it for 16 s); distinct stacks and lines per profile are bounded. */
T_TEST(duplicates_merged_and_profile_bounds)
{
	struct store *s = open_store();
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
	for (unsigned i = 0; i <= STORE_MAX_PROFILE_STACKS && ok; i++)
		ok = buf_printf(&text, "0;;app;f%u 1\n", i) == 0;
	T_CHECK(ok && ingest(s, "many", "h", H0, buf_cstr(&text), 0, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "distinct stacks") != NULL, "message: %s", err.msg);

	buf_reset(&text);
	for (unsigned i = 0; i <= STORE_MAX_PROFILE_LINES && ok; i++)
		ok = buf_puts(&text, "0;;a;b 1\n") == 0;
	T_CHECK(ok && ingest(s, "lines", "h", H0, buf_cstr(&text), 0, NULL, &err) == -EINVAL);
	T_CHECKF(strstr(err.msg, "lines") != NULL, "message: %s", err.msg);
	T_CHECK(sql_int("SELECT count(*) FROM profiles") == 1);   /* the refused ones stored nothing */
	buf_release(&text);
	close_store(s);
}

T_TEST(containers_listed_with_samples)
{
	struct store *s = open_store();
	struct col_error err;
	T_CHECK(ingest(s, "ctr", "h1", H0 + 60, "0;web;app;f 5\n0;;app;g 2\n0;db;pg;q 1\n", 0, NULL,
		       &err) == 0);
	T_CHECK(ingest(s, "ctr", "h2", H0 + 3 * 3600, "0;web;app;f 7\n", 0, NULL, &err) == 0);
	T_CHECK(ingest(s, "other", "h3", H0 + 60, "0;elsewhere;x;y 1\n", 0, NULL, &err) == 0);

	struct { const char *host; int64_t lo, hi; const char *want; } cases[] = {
		/* whole range: hour tables plus both edges */
		{ NULL, H0 - 1800, H0 + 5 * 3600 + 600, "=2 db=1 web=12" },
		{ "h1", H0 - 1800, H0 + 5 * 3600, "=2 db=1 web=5" },
		{ "h2", H0, H0 + 5 * 3600, "web=7" },
		{ NULL, H0 + 3600, H0 + 2 * 3600, "" },          /* nothing in that hour */
		{ NULL, H0 + 60, H0 + 120, "=2 db=1 web=5" },  /* one minute bucket */
		{ "nobody", H0, H0 + 3600, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_query q = { .service = "ctr", .start = cases[i].lo, .end = cases[i].hi,
					 .hostname = cases[i].host };
		json_t *j = store_list_containers(s, &q), *e;
		char got[256] = "", item[64];
		const char *names[8];
		json_int_t counts[8];
		size_t n = 0, k;
		T_CHECK(j != NULL);
		if (!j)
			continue;
		json_array_foreach(json_object_get(j, "containers"), k, e) {
			if (n < 8) {
				names[n] = json_string_value(json_object_get(e, "name"));
				counts[n++] = json_integer_value(json_object_get(e, "samples"));
			}
		}
		/* sorted by name for a stable comparison */
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (strcmp(names[b], names[a]) < 0) {
					const char *tn = names[a]; names[a] = names[b]; names[b] = tn;
					json_int_t tc = counts[a]; counts[a] = counts[b]; counts[b] = tc;
				}
		for (size_t a = 0; a < n; a++) {
			snprintf(item, sizeof(item), "%s%s=%lld", a ? " " : "", names[a],
				 (long long)counts[a]);
			strncat(got, item, sizeof(got) - strlen(got) - 1);
		}
		T_CHECKF(!strcmp(got, cases[i].want), "case %zu: got '%s' want '%s'", i, got,
			 cases[i].want);
		json_decref(j);
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
