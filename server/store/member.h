/* member.h — what a store member provides to be chosen by store_open (store.c), and the options
 * it is opened with. A member lives in its own folder and adds one line to the table in
 * store.c. */
#ifndef FP_STORE_MEMBER_H
#define FP_STORE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include "store/control.h"
#include "store/samples.h"

struct store_options {
	const char *schema_dir;   /* SQL migrations, NNN_name.sql, applied in order at open */
	size_t wal_limit;         /* SQLite: WAL bytes past which a TRUNCATE checkpoint runs under
				   * the write lock (0: 64 MiB) */
};

struct store_member {
	const char *name;
	/* Whether this member opens addr ("postgresql://..." and the like; a path for SQLite). */
	bool (*accepts)(const char *addr);
	/* Open the doors asked for (the non-NULL out pointers) at addr, sharing one connection
	 * set between them when both are asked for. 0 or -errno; nothing is left open on error. */
	int (*open)(const char *addr, const struct store_options *o, struct control **ctl,
		    struct samples **smp);
};

#endif
