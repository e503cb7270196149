/* timeutil.h — clocks and ISO 8601 (UTC) parsing and formatting. */
#ifndef FP_TIMEUTIL_H
#define FP_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t time_now_ms(void);    /* CLOCK_REALTIME, milliseconds since the epoch */
int64_t time_mono_ms(void);   /* CLOCK_MONOTONIC, milliseconds */

/* Parse an ISO 8601 date-time into seconds since the epoch (UTC). Accepts
 *   2026-11-27T13:00:00   2026-11-27 13:00:00   2026-11-27T13:00:00Z   2026-11-27T13:00:00.123456
 *   2026-11-27T13:00:00+02:00   2026-11-27T13:00:00-0500   2026-11-27T13:00   2026-11-27
 * A value without a zone is UTC. Fractional seconds are accepted and truncated.
 * Fields are range-checked (month 1-12, day valid for the month, hour 0-23, ...).
 * Returns 0 or -EINVAL. */
int time_parse_iso8601(const char *s, int64_t *out_sec);

/* Format as "2026-11-27T13:00:00Z" into out (at least 21 bytes). 0 or -EINVAL/-ENOSPC. */
int time_format_iso8601(int64_t sec, char *out, size_t n);

/* Format for file names: "2026-11-27T13-00-00Z" style without colons (at least 21 bytes). */
int time_format_filename(int64_t sec, char *out, size_t n);

#endif
