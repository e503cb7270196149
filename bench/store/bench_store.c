/* bench_store.c — the store alone (no HTTP): heartbeat rate and latency, ingest of 2,000-stack
 * profiles, and the 24-hour flamegraph query over 10 hosts uploading every minute.
 * Built and run by bench/store/run.sh; prints one line per measurement. Not a test.
 *
 *   bench_store DBDIR [hosts minutes]   (defaults: 10 hosts x 1440 minutes = 14,400 profiles)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "collapsed.h"
#include "log.h"
#include "profile.h"
#include "store/store.h"

#define STACKS      2000
#define SHARED      1600   /* stacks every host has; the rest are host-specific */
#define FRAME_POOL  3000
#define HB_THREADS  4
#define HB_HOSTS    5000
#define HB_TOTAL    100000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ---- heartbeats ---- */

struct hb_arg {
	struct control *s;
	int id;
	double *lat;
	int n;
	int errors;
};

static void *hb_thread(void *p)
{
	struct hb_arg *a = p;
	char host[32];
	for (int i = 0; i < a->n; i++) {
		int h = (a->id + i * HB_THREADS) % HB_HOSTS;
		snprintf(host, sizeof(host), "bench-host-%05d", h);
		struct ctl_heartbeat hb = { .hostname = host, .service_name = "bench-hb",
					    .ip_address = "10.0.0.1", .agent_version = "1.0",
					    .status = "OK", .now = 1700000000 + i };
		struct ctl_command c;
		double t0 = now_ms();
		if (a->s->ops->heartbeat(a->s, &hb, &c) != 0)
			a->errors++;
		a->lat[i] = now_ms() - t0;
		ctl_command_release(&c);
	}
	return NULL;
}

static int count_host(void *ctx, const struct ctl_host *h)
{
	(void)h;
	(*(long long *)ctx)++;
	return 0;
}

static void bench_heartbeats(struct control *s)
{
	pthread_t th[HB_THREADS];
	struct hb_arg a[HB_THREADS];
	double *lat = calloc(HB_TOTAL, sizeof(double));
	int per = HB_TOTAL / HB_THREADS, errors = 0;
	double t0 = now_ms();
	for (int i = 0; i < HB_THREADS; i++) {
		a[i] = (struct hb_arg){ .s = s, .id = i, .lat = lat + i * per, .n = per };
		pthread_create(&th[i], NULL, hb_thread, &a[i]);
	}
	for (int i = 0; i < HB_THREADS; i++) {
		pthread_join(th[i], NULL);
		errors += a[i].errors;
	}
	double el = now_ms() - t0;
	qsort(lat, (size_t)per * HB_THREADS, sizeof(double), cmp_d);
	size_t n = (size_t)per * HB_THREADS;
	long long hosts = 0;
	if (s->ops->host_status(s, "bench-hb", NULL, count_host, &hosts))
		hosts = -1;
	printf("heartbeats: %zu from %d threads over %d hosts: %.0f/s, p50 %.3f ms, p99 %.3f ms, "
	       "max %.3f ms, errors %d, hosts recorded %lld\n",
	       n, HB_THREADS, HB_HOSTS, n / (el / 1e3), lat[n / 2], lat[n * 99 / 100], lat[n - 1],
	       errors, hosts);
	free(lat);
}

/* ---- profiles ---- */

static unsigned rnd(unsigned *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

/* The stack text of stack k of host h (k < SHARED: the same on every host). */
static int stack_of(struct buf *b, int h, int k)
{
	unsigned st = (unsigned)(k < SHARED ? k : k + 100000 * (h + 1)) * 2654435761u + 7;
	int depth = 10 + (int)(rnd(&st) % 30);
	int rc = buf_printf(b, "0;%s;%s", k % 5 == 0 ? "container-a" : "",
			    k % 3 ? "python3" : "java");
	for (int d = 0; d < depth && !rc; d++) {
		unsigned f = rnd(&st) % FRAME_POOL;
		rc = buf_printf(b, ";module_%u.function_name_%u_[%s]", f / 40, f,
				f % 4 ? "p" : "k");
	}
	return rc;
}

static char *profile_text(int h, int minute, size_t *len)
{
	struct buf b;
	buf_init(&b, 64u << 20);
	unsigned st = (unsigned)(h * 7919 + minute * 104729 + 1);
	int rc = buf_printf(&b, "# {\"metadata\": {\"hostname\": \"host-%d\"}}\n", h);
	for (int k = 0; k < STACKS && !rc; k++) {
		rc = stack_of(&b, h, k);
		if (!rc)
			rc = buf_printf(&b, " %u\n", 1 + rnd(&st) % 50);
	}
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

static int count_cb(void *ctx, const char *stack, size_t len, uint64_t count)
{
	(void)stack;
	(void)len;
	((uint64_t *)ctx)[0] += count;
	((uint64_t *)ctx)[1]++;
	return 0;
}

static int agg_cb(void *ctx, const char *stack, size_t len, uint64_t count)
{
	return col_agg_add(ctx, stack, len, count);
}

static int count_metric(void *ctx, const struct smp_metric *m)
{
	(void)m;
	(*(size_t *)ctx)++;
	return 0;
}

/* Parse (as an upload is parsed) and store one profile. */
static int ingest(struct samples *s, const char *host, int64_t start, const char *text, size_t len)
{
	struct prof p;
	int64_t gpid;
	int rc = prof_parse(&p, text, len, NULL);

	if (!rc) {
		struct smp_upload u = { .service_name = "bench", .hostname = host,
					.start_time = start, .end_time = start + 60, .cpu_avg = 10,
					.mem_avg = 20, .header_json = p.header, .lines = p.lines,
					.n_lines = p.n_lines, .total_samples = p.total };
		rc = s->ops->ingest(s, &u, &gpid);
	}
	prof_release(&p);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DBDIR [hosts minutes]\n", argv[0]);
		return 2;
	}
	int hosts = argc > 3 ? atoi(argv[2]) : 10, minutes = argc > 3 ? atoi(argv[3]) : 1440;
	log_init("bench_store", LOG_WARN);
	char db[512], schema[512];
	snprintf(db, sizeof(db), "%s/bench.db", argv[1]);
	const char *root = getenv("FLEETPROF_ROOT");
	snprintf(schema, sizeof(schema), "%s/schema", root ? root : ".");
	struct store st;
	struct store_options so = { .schema_dir = schema };
	int orc = store_open(&st, db, NULL, &so);
	if (orc) {
		fprintf(stderr, "store_open: %s\n", strerror(-orc));
		return 1;
	}
	struct samples *s = st.samples;
	if (!getenv("BENCH_SKIP_HB"))
		bench_heartbeats(st.control);

	/* ingest: every host uploads every minute for `minutes` minutes */
	const int64_t t0 = 1700000000 - 1700000000 % 86400;
	double worst = 0, sum_first = 0, sum_rest = 0;
	int n_first = 0, n_rest = 0, errors = 0;
	double all0 = now_ms();
	for (int m = 0; m < minutes; m++) {
		for (int h = 0; h < hosts; h++) {
			size_t len;
			char *text = profile_text(h, m, &len);
			char host[32];
			snprintf(host, sizeof(host), "host-%02d", h);
			double a = now_ms();
			if (!text || ingest(s, host, t0 + m * 60 + 5, text, len) != 0)
				errors++;
			double d = now_ms() - a;
			free(text);
			if (m == 0) {
				sum_first += d;
				n_first++;
			} else {
				sum_rest += d;
				n_rest++;
			}
			if (d > worst)
				worst = d;
		}
		if (m && m % 240 == 0)
			fprintf(stderr, "  ... %d minutes ingested (%.0f s)\n", m,
				(now_ms() - all0) / 1e3);
	}
	double all = now_ms() - all0;
	printf("ingest: %d profiles of %d stacks: %.1f uploads/s; first upload per host %.1f ms "
	       "(new stacks), later %.1f ms avg, worst %.1f ms, errors %d\n",
	       hosts * minutes, STACKS, hosts * minutes / (all / 1e3),
	       n_first ? sum_first / n_first : 0, n_rest ? sum_rest / n_rest : 0, worst, errors);

	/* queries: 24 h (or the whole span) with ragged edges, the worst case for the minute table */
	int64_t span = (int64_t)minutes * 60;
	int64_t edge = span > 7200 ? 1830 : 0;
	struct smp_query q = { .service = "bench", .start = t0 + edge,
				 .end = t0 + span - (edge ? edge - 60 : 0) };
	for (int rep = 0; rep < 3; rep++) {
		uint64_t acc[2] = { 0, 0 };
		double a = now_ms();
		int rc = s->ops->query_stacks(s, &q, 200000, count_cb, acc);
		double d = now_ms() - a;
		struct col_agg *ag = col_agg_new(200000);
		double b0 = now_ms();
		int rc2 = s->ops->query_stacks(s, &q, 200000, agg_cb, ag);
		double d2 = now_ms() - b0;
		printf("query service, %.1f h ragged: rc %d, %llu stacks, %llu samples: %.1f ms "
		       "(%.1f ms into a col_agg, rc %d)\n",
		       (double)(q.end - q.start) / 3600, rc, (unsigned long long)acc[1],
		       (unsigned long long)acc[0], d, d2, rc2);
		col_agg_free(ag);
	}
	q.hostname = "host-03";
	uint64_t acc[2] = { 0, 0 };
	double a = now_ms();
	int rc = s->ops->query_stacks(s, &q, 200000, count_cb, acc);
	printf("query one host, same range: rc %d, %llu stacks: %.1f ms\n", rc,
	       (unsigned long long)acc[1], now_ms() - a);
	q.hostname = NULL;
	q.container = "container-a";
	acc[0] = acc[1] = 0;
	a = now_ms();
	rc = s->ops->query_stacks(s, &q, 200000, count_cb, acc);
	printf("query one container, same range: rc %d, %llu stacks: %.1f ms\n", rc,
	       (unsigned long long)acc[1], now_ms() - a);
	q.container = NULL;
	q.start = t0;
	q.end = t0 + span;
	a = now_ms();
	size_t points = 0;
	rc = s->ops->metrics(s, &q, count_metric, &points);
	printf("metrics: %zu points: %.1f ms (rc %d)\n", points, now_ms() - a, rc);

	a = now_ms();
	int64_t del = s->ops->delete_before(s, t0 + span / 2);
	printf("retention: deleted %lld sample rows (half the span) in %.1f ms\n", (long long)del,
	       now_ms() - a);
	store_close(&st);
	return errors ? 1 : 0;
}
