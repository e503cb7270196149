/* cmdstate.c — persisted heartbeat command ids; see cmdstate.h. */
#include "cmdstate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"

#define STATE_FILE "commands.state"
#define STATE_MAGIC "fleetprof-commands 1"

struct entry {
	char id[CMDSTATE_ID_MAX + 1];
	enum cmd_state st;
};

struct cmdstate {
	char path[PATH_MAX];
	struct entry *e;   /* ring of cap entries, oldest at head */
	size_t head, n, cap;
};

int cmdstate_valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > CMDSTATE_ID_MAX)
		return 0;
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

static struct entry *at(const struct cmdstate *cs, size_t i)
{
	return &cs->e[(cs->head + i) % cs->cap];
}

static struct entry *find(const struct cmdstate *cs, const char *id)
{
	/* newest first: recent ids are the ones asked about */
	for (size_t i = cs->n; i-- > 0;) {
		struct entry *e = at(cs, i);
		if (strcmp(e->id, id) == 0)
			return e;
	}
	return NULL;
}

static void push(struct cmdstate *cs, const char *id, enum cmd_state st)
{
	struct entry *e;
	if (cs->n == cs->cap) {
		cs->head = (cs->head + 1) % cs->cap;
		cs->n--;
	}
	e = at(cs, cs->n++);
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->st = st;
}

static char state_char(enum cmd_state st)
{
	return st == CMD_RECEIVED ? 'R' : st == CMD_EXECUTED ? 'E' : 'C';
}

static int save(const struct cmdstate *cs)
{
	struct buf text;
	int rc;

	/* the magic line, then one "S id" line per entry: bounded by cap */
	buf_init(&text, sizeof(STATE_MAGIC) + cs->cap * (CMDSTATE_ID_MAX + 3));
	rc = buf_printf(&text, "%s\n", STATE_MAGIC);
	for (size_t i = 0; i < cs->n && !rc; i++)
		rc = buf_printf(&text, "%c %s\n", state_char(at(cs, i)->st), at(cs, i)->id);
	if (!rc)
		rc = fs_write_atomic_at(AT_FDCWD, cs->path, text.data ? text.data : "", text.len, 0600);
	buf_release(&text);
	return rc;
}

static int load(struct cmdstate *cs)
{
	char line[256];
	unsigned lineno = 0, bad = 0;
	FILE *f = fopen(cs->path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		enum cmd_state st;
		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (lineno == 1 && strcmp(line, STATE_MAGIC) == 0)
			continue;
		if (len < 3 || line[1] != ' ') {
			bad++;
			continue;
		}
		switch (line[0]) {
		case 'R': st = CMD_RECEIVED; break;
		case 'E': st = CMD_EXECUTED; break;
		case 'C': st = CMD_REPORTED; break;
		default: bad++; continue;
		}
		if (!cmdstate_valid_id(line + 2)) {
			bad++;
			continue;
		}
		struct entry *e = find(cs, line + 2);
		if (e) {
			if (st > e->st)
				e->st = st;
		} else {
			push(cs, line + 2, st);
		}
	}
	fclose(f);
	if (bad)
		log_warn("cmdstate: %s: skipped %u malformed line(s)", cs->path, bad);
	return 0;
}

struct cmdstate *cmdstate_open(const char *dir, size_t cap)
{
	struct cmdstate *cs;
	int rc;

	if (!dir || cap == 0) {
		errno = EINVAL;
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->cap = cap;
	cs->e = calloc(cap, sizeof(*cs->e));
	if (!cs->e)
		goto fail_errno;
	if (snprintf(cs->path, sizeof(cs->path), "%s/%s", dir, STATE_FILE) >= (int)sizeof(cs->path)) {
		errno = ENAMETOOLONG;
		goto fail_errno;
	}
	rc = load(cs);
	if (rc) {
		errno = -rc;
		goto fail_errno;
	}
	return cs;
fail_errno:
	rc = errno;
	cmdstate_free(cs);
	errno = rc;
	return NULL;
}

void cmdstate_free(struct cmdstate *cs)
{
	if (!cs)
		return;
	free(cs->e);
	free(cs);
}

enum cmd_state cmdstate_get(const struct cmdstate *cs, const char *id)
{
	const struct entry *e = id ? find(cs, id) : NULL;
	return e ? e->st : CMD_UNKNOWN;
}

int cmdstate_set(struct cmdstate *cs, const char *id, enum cmd_state st)
{
	struct entry *e, saved;
	size_t head = cs->head, n = cs->n;
	int rc;

	if (!id || !cmdstate_valid_id(id) || st < CMD_RECEIVED || st > CMD_REPORTED)
		return -EINVAL;
	e = find(cs, id);
	if (e && e->st >= st)
		return 0;
	if (e) {
		enum cmd_state old = e->st;
		e->st = st;
		rc = save(cs);
		if (rc)
			e->st = old;
		return rc;
	}
	/* remember the slot a push may overwrite, to undo on a failed save */
	saved = cs->n == cs->cap ? *at(cs, 0) : (struct entry){0};
	push(cs, id, st);
	rc = save(cs);
	if (rc) {
		cs->head = head;
		cs->n = n;
		if (n == cs->cap)
			*at(cs, 0) = saved;
	}
	return rc;
}

size_t cmdstate_list(const struct cmdstate *cs, enum cmd_state st, int at_least,
		     const char **ids, size_t max)
{
	size_t k = 0, first;

	/* count matches so the newest `max` are returned, oldest of them first */
	size_t total = 0;
	for (size_t i = 0; i < cs->n; i++) {
		enum cmd_state s = at(cs, i)->st;
		if (at_least ? s >= st : s == st)
			total++;
	}
	first = total > max ? total - max : 0;
	total = 0;
	for (size_t i = 0; i < cs->n && k < max; i++) {
		struct entry *e = at(cs, i);
		if (!(at_least ? e->st >= st : e->st == st))
			continue;
		if (total++ < first)
			continue;
		ids[k++] = e->id;
	}
	return k;
}

size_t cmdstate_count(const struct cmdstate *cs)
{
	return cs->n;
}
