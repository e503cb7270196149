/* server_fixtures.h — what the server's unit tests share: a temp directory per test, files in
 * it, and reading a SQLite database behind the store's back. Self-contained (libc, SQLite and
 * shared/ only): the object is linked into every unit test. Names start with sfx_. */
#ifndef FP_SERVER_FIXTURES_H
#define FP_SERVER_FIXTURES_H

#include <stdint.h>

/* A new directory /tmp/<prefix>-XXXXXX; its path (static storage, until the next call) or NULL. */
const char *sfx_tmpdir(const char *prefix);
/* rm -rf dir; 0 or -1. */
int sfx_rmtree(const char *dir);
/* Write text to dir/name; 0 or -1. */
int sfx_write(const char *dir, const char *name, const char *text);
/* The repository's schema/ ($FLEETPROF_ROOT/schema, else ./schema); static storage. */
const char *sfx_schema(void);

/* The first column of the first row of sql on the database at db: an integer (-1 when there is
 * none), or text (static storage, "" when there is none). */
int64_t sfx_sql_int(const char *db, const char *sql);
const char *sfx_sql_text(const char *db, const char *sql);
/* Run sql (several statements allowed); SQLite's result code. */
int sfx_sql_exec(const char *db, const char *sql);

#endif
