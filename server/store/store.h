/* store.h — opening the two stores the server keeps: the control store (control.h: hosts,
 * requests, commands) and the sample store (samples.h: uploaded profiles and their queries).
 * Each is a door (an ops table); the member behind it is chosen here, by the address it is
 * opened with. SQLite serves both today, from one database file; a member that serves both
 * doors from one place shares it between them.
 */
#ifndef FP_STORE_STORE_H
#define FP_STORE_STORE_H

#include "store/control.h"
#include "store/member.h"
#include "store/samples.h"

struct store {
	struct control *control;
	struct samples *samples;
};

/* Open the control store at db (a path: SQLite) and the sample store at samples (NULL: the same
 * as db). 0, or -errno with nothing left open: -EPROTO for a database written by a newer schema
 * (logged with both versions), -ENOENT when no member takes the address. */
int store_open(struct store *st, const char *db, const char *samples,
	       const struct store_options *o) __attribute__((warn_unused_result));
/* Close both doors; a zeroed struct is a no-op. */
void store_close(struct store *st);

#endif
