/* cmdstate.h — the ids of heartbeat commands this agent has seen, persisted across restarts.
 *
 * A command id moves forward only: RECEIVED (the heartbeat delivered it) -> EXECUTED (we started
 * acting on it; recorded BEFORE acting, so a kill -9 at any moment never runs it twice) ->
 * REPORTED (the server accepted its completion report). Ids of EXECUTED commands not yet
 * REPORTED are the completion reports still owed (resent after a restart).
 *
 * The file STATE_DIR/commands.state is rewritten whole at every change: temp file, fsync, rename,
 * fsync of the directory. Only the newest `cap` ids are kept (oldest forgotten first).
 * Not thread-safe: one owner (the heartbeat loop).
 */
#ifndef FP_CMDSTATE_H
#define FP_CMDSTATE_H

#include <stddef.h>
#include <stdint.h>

#define CMDSTATE_ID_MAX 64     /* longest accepted id (UUIDs are 36) */
#define CMDSTATE_DEFAULT_CAP 1000

enum cmd_state { CMD_UNKNOWN = 0, CMD_RECEIVED = 1, CMD_EXECUTED = 2, CMD_REPORTED = 3 };

struct cmdstate;

/* Load (or start empty) the state under dir, which must exist. Malformed lines are skipped with
 * a warning; a missing file is an empty state. NULL with errno set on failure (EINVAL for cap 0). */
struct cmdstate *cmdstate_open(const char *dir, size_t cap);
void cmdstate_free(struct cmdstate *cs);     /* NULL is a no-op */

/* 1 when id is usable as a command id: 1..CMDSTATE_ID_MAX characters of [A-Za-z0-9._:-]. */
int cmdstate_valid_id(const char *id);

enum cmd_state cmdstate_get(const struct cmdstate *cs, const char *id);

/* Move id forward to st and persist before returning. Moving backwards (or to the same state)
 * changes nothing and returns 0. A new id beyond cap evicts the oldest. 0, -EINVAL (empty, too
 * long, or a character outside [A-Za-z0-9._:-]), or -errno from writing (the in-memory state is
 * then unchanged). */
int cmdstate_set(struct cmdstate *cs, const char *id, enum cmd_state st)
	__attribute__((warn_unused_result));

/* Up to max ids whose state is exactly st (or any state >= st when at_least), newest last.
 * The strings are borrowed: valid until the next cmdstate_set or cmdstate_free. */
size_t cmdstate_list(const struct cmdstate *cs, enum cmd_state st, int at_least,
		     const char **ids, size_t max);

size_t cmdstate_count(const struct cmdstate *cs);

#endif
