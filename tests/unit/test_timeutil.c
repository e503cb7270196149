/* test_timeutil.c — ISO 8601 parsing/formatting against known epoch values. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"
#include "t.h"

static const struct {
	const char *in;
	int64_t want;
} good[] = {
	{ "1970-01-01", 0 },
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2026-11-27T13:00:00", 1795784400 },
	{ "2026-11-27 13:00:00", 1795784400 },
	{ "2026-11-27T13:00:00Z", 1795784400 },
	{ "2026-11-27t13:00:00z", 1795784400 },
	{ "2026-11-27T13:00:00.123456", 1795784400 },
	{ "2026-11-27T13:00:00.999Z", 1795784400 },
	{ "2026-11-27T13:00:00,5", 1795784400 },
	{ "2026-11-27T13:00:00+02:00", 1795784400 - 7200 },
	{ "2026-11-27T13:00:00-0500", 1795784400 + 5 * 3600 },
	{ "2026-11-27T13:00:00+05", 1795784400 - 5 * 3600 },
	{ "2026-11-27T13:00:00+05:30", 1795784400 - 5 * 3600 - 1800 },
	{ "2026-11-27T13:00", 1795784400 },
	{ "2026-11-27T13:00Z", 1795784400 },
	{ "2026-11-27", 1795737600 },
	{ "2000-02-29T00:00:00Z", 951782400 },    /* divisible by 400: leap */
	{ "2024-02-29T12:00:00Z", 1709208000 },
	{ "2024-12-31T23:59:59Z", 1735689599 },
	{ "2025-01-01T00:00:00Z", 1735689600 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "1900-03-01T00:00:00Z", -2203891200 },
	{ "2038-01-19T03:14:08Z", 2147483648 },   /* past 32-bit time_t */
	{ "9999-12-31T23:59:59Z", 253402300799 },
	{ "2026-01-01T00:30:00+01:00", 1767223800 }, /* offset crosses the year */
};

static const char *const bad[] = {
	"", "2026", "2026-11", "2026-11-2", "26-11-27", "2026/11/27", "2026-13-01", "2026-00-10",
	"2026-11-00", "2026-11-31", "2026-02-29", "1900-02-29", "2100-02-29", "2026-04-31",
	"2026-11-27T24:00:00", "2026-11-27T23:60:00", "2026-11-27T23:59:60", "2026-11-27T13",
	"2026-11-27T13:00:00Q", "2026-11-27T13:00:00+", "2026-11-27T13:00:00+2", "2026-11-27T13:00:00+24:00",
	"2026-11-27T13:00:00+02:60", "2026-11-27T13:00:00.", "2026-11-27T13:00:00.1234567890",
	"2026-11-27T", "2026-11-27X13:00:00", " 2026-11-27", "2026-11-27 ", "2026-11-27T13:00:00Z ",
	"2026-11-27Z", "+2026-11-27", "2026-11-27T1:00:00", "2026-11-27T13:0", "2026-1a-27",
	"2026-11-27T13:00:00+02:00:00",
};

T_TEST(time_parse_good)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t got = 42;
		int rc = time_parse_iso8601(good[i].in, &got);
		T_CHECKF(rc == 0 && got == good[i].want, "%s: rc %d got %lld want %lld", good[i].in,
			 rc, (long long)got, (long long)good[i].want);
	}
}

T_TEST(time_parse_bad)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t got = 42;
		int rc = time_parse_iso8601(bad[i], &got);
		T_CHECKF(rc == -EINVAL && got == 42, "'%s' accepted (rc %d, %lld)", bad[i], rc,
			 (long long)got);
	}
	T_CHECK(time_parse_iso8601(NULL, &(int64_t){ 0 }) == -EINVAL);
}

/* Every day from 1900 to 2200 round-trips and agrees with the C library's gmtime_r. */
T_TEST(time_roundtrip_vs_gmtime)
{
	char s[32], f[80];
	int64_t from, to;
	T_CHECK(time_parse_iso8601("1900-01-01", &from) == 0);
	T_CHECK(time_parse_iso8601("2200-01-01", &to) == 0);
	for (int64_t t = from; t < to; t += 86400 + 3661) {
		struct tm tm;
		time_t tt = (time_t)t;
		int64_t back;
		gmtime_r(&tt, &tm);
		T_CHECK(time_format_iso8601(t, s, sizeof(s)) == 0);
		snprintf(f, sizeof(f), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		T_CHECKF(strcmp(s, f) == 0, "%lld: %s vs %s", (long long)t, s, f);
		T_CHECKF(time_parse_iso8601(s, &back) == 0 && back == t, "%s", s);
		if (t_cur_failed)
			return;
	}
}

T_TEST(time_format)
{
	char s[32];
	T_CHECK(time_format_iso8601(1795784400, s, sizeof(s)) == 0);
	T_CHECKF(strcmp(s, "2026-11-27T13:00:00Z") == 0, "%s", s);
	T_CHECK(time_format_filename(1795784400 + 59, s, sizeof(s)) == 0);
	T_CHECKF(strcmp(s, "2026-11-27T13-00-59Z") == 0, "%s", s);
	T_CHECK(time_format_iso8601(-1, s, sizeof(s)) == 0);
	T_CHECKF(strcmp(s, "1969-12-31T23:59:59Z") == 0, "%s", s);
	T_CHECK(time_format_iso8601(0, s, 21) == 0);
	T_CHECK(strcmp(s, "1970-01-01T00:00:00Z") == 0);
	T_CHECK(time_format_iso8601(0, s, 20) == -ENOSPC);
	T_CHECK(time_format_iso8601(253402300800, s, sizeof(s)) == -EINVAL); /* year 10000 */
	T_CHECK(time_format_iso8601(INT64_MAX, s, sizeof(s)) == -EINVAL);
	T_CHECK(time_format_iso8601(INT64_MIN, s, sizeof(s)) == -EINVAL);
}

T_TEST(time_clocks)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = time_now_ms();
	T_CHECK(now / 1000 - ts.tv_sec <= 1 && now / 1000 >= ts.tv_sec);
	int64_t a = time_mono_ms();
	struct timespec d = { 0, 20 * 1000 * 1000 };
	nanosleep(&d, NULL);
	int64_t b = time_mono_ms();
	T_CHECKF(b - a >= 19 && b - a < 1000, "mono delta %lld", (long long)(b - a));
}

int main(void)
{
	T_RUN(time_parse_good);
	T_RUN(time_parse_bad);
	T_RUN(time_roundtrip_vs_gmtime);
	T_RUN(time_format);
	T_RUN(time_clocks);
	return t_done();
}
