/* log.h — leveled, thread-safe logging to stderr or a size-rotated file.
 *
 * Lines look like: 2026-11-27T13:00:00.123Z INFO  server: listening on 0.0.0.0:8080
 * The process name prefix is set once with log_init().
 */
#ifndef FP_LOG_H
#define FP_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the program name shown on each line and the minimum level. Call once, early. */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* "debug", "info", "warn"/"warning", "error" (case-insensitive). 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

/* Log to PATH (appended) instead of stderr; when the file passes max_bytes it is renamed to
 * PATH.1 (one old copy kept) and a new file is started. max_bytes 0 means no rotation.
 * 0 or -errno. */
int log_open_file(const char *path, size_t max_bytes);
/* Reopen the log file (for SIGHUP after an external rotation). Safe to call from a normal
 * thread, not from a signal handler: set a flag in the handler and call this from the loop. */
int log_reopen(void);
void log_close(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
