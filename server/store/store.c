/* store.c — choose the member behind each door and open it. See store.h. */
#include <errno.h>
#include <string.h>

#include "store/store.h"
#include "store/sqlite/sqlite.h"
#include "util.h"

/* One line per member; the first that accepts an address opens it. */
static const struct store_member *const members[] = {
	&sqlite_member,
};

static const struct store_member *member_for(const char *addr)
{
	for (size_t i = 0; i < ARRAY_SIZE(members); i++)
		if (members[i]->accepts(addr))
			return members[i];
	return NULL;
}

int store_open(struct store *st, const char *db, const char *samples,
	       const struct store_options *o)
{
	const struct store_member *mc, *ms;
	int rc = -EINVAL;

	memset(st, 0, sizeof(*st));
	if (!db || !*db || !o)
		goto fail;
	if (samples && !strcmp(samples, db))
		samples = NULL;
	rc = -ENOENT;
	mc = member_for(db);
	ms = samples ? member_for(samples) : mc;
	if (!mc || !ms)
		goto fail;
	if (!samples) {
		rc = mc->open(db, o, &st->control, &st->samples);
	} else {
		rc = mc->open(db, o, &st->control, NULL);
		if (!rc)
			rc = ms->open(samples, o, NULL, &st->samples);
	}
	if (rc)
		goto fail;
	return 0;
fail:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->samples)
		st->samples->ops->close(st->samples);
	if (st->control)
		st->control->ops->close(st->control);
	st->samples = NULL;
	st->control = NULL;
}
