/* server_fixtures.c — see server_fixtures.h. Uses libc, SQLite and shared/ only. */
#include "server_fixtures.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "fsutil.h"

const char *sfx_tmpdir(const char *prefix)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "/tmp/%s-XXXXXX", prefix);
	return mkdtemp(dir);
}

int sfx_rmtree(const char *dir)
{
	char cmd[600];

	if (!dir || strncmp(dir, "/tmp/", 5) != 0 || strchr(dir, '\''))
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int sfx_write(const char *dir, const char *name, const char *text)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return fs_write_atomic_at(AT_FDCWD, p, text, strlen(text), 0644) ? -1 : 0;
}

const char *sfx_schema(void)
{
	static char path[512];
	const char *root = getenv("FLEETPROF_ROOT");

	snprintf(path, sizeof(path), "%s/schema", root ? root : ".");
	return path;
}

/* The first row of sql, stepped; NULL when there is none. The caller finalizes st. */
static sqlite3_stmt *first_row(sqlite3 **db, const char *path, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_open(path, db) != SQLITE_OK ||
	    sqlite3_prepare_v2(*db, sql, -1, &st, NULL) != SQLITE_OK)
		return st;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int64_t sfx_sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = first_row(&db, path, sql);
	int64_t v = st ? sqlite3_column_int64(st, 0) : -1;

	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

const char *sfx_sql_text(const char *path, const char *sql)
{
	static char out[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = first_row(&db, path, sql);
	const unsigned char *t = st ? sqlite3_column_text(st, 0) : NULL;

	snprintf(out, sizeof(out), "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

int sfx_sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}
