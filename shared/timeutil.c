/* timeutil.c — clocks and strict ISO 8601 (UTC) parsing/formatting (see timeutil.h).
 *
 * No strptime/timegm: both depend on locale or TZ. Civil dates use Howard Hinnant's
 * days-from-civil arithmetic (proleptic Gregorian calendar).
 */
#include "timeutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 for a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                   /* [0, 399] */
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Read exactly n decimal digits. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

int time_parse_iso8601(const char *s, int64_t *out_sec)
{
	const char *p = s;
	int year, mon, day, hour = 0, min = 0, sec = 0;
	int64_t off = 0;

	if (!s || !out_sec)
		return -EINVAL;
	if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &mon) || *p++ != '-' ||
	    !digits(&p, 2, &day))
		return -EINVAL;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &min))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.' || *p == ',') {
				p++;
				if (*p < '0' || *p > '9')
					return -EINVAL;
				for (int i = 0; *p >= '0' && *p <= '9'; i++, p++)
					if (i >= 9)
						return -EINVAL; /* at most nanoseconds */
			}
		}
		if (hour > 23 || min > 59 || sec > 59)
			return -EINVAL;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
			if (!digits(&p, 2, &oh))
				return -EINVAL;
			if (*p == ':') {
				p++;
				if (!digits(&p, 2, &om))
					return -EINVAL;
			} else if (*p >= '0' && *p <= '9') {
				if (!digits(&p, 2, &om))
					return -EINVAL;
			}
			if (oh > 23 || om > 59)
				return -EINVAL;
			off = sign * ((int64_t)oh * 3600 + om * 60);
		}
	}
	if (*p != '\0')
		return -EINVAL;
	*out_sec = days_from_civil(year, mon, day) * 86400 + (int64_t)hour * 3600 + min * 60 + sec -
		   off;
	return 0;
}

static int format(int64_t sec, char *out, size_t n, char sep)
{
	int64_t y, days, rem;
	int m, d;

	if (!out)
		return -EINVAL;
	if (n < 21)
		return -ENOSPC;
	days = sec / 86400;
	rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return -EINVAL;
	snprintf(out, n, "%04d-%02d-%02dT%02d%c%02d%c%02dZ", (int)y, m, d, (int)(rem / 3600), sep,
		 (int)(rem / 60 % 60), sep, (int)(rem % 60));
	return 0;
}

int time_format_iso8601(int64_t sec, char *out, size_t n)
{
	return format(sec, out, n, ':');
}

int time_format_filename(int64_t sec, char *out, size_t n)
{
	return format(sec, out, n, '-');
}
