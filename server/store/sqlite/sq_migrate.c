/* sq_migrate.c — the schema: files NNN_name.sql applied in order, each in one transaction, the
 * version kept in PRAGMA user_version. Several servers may start on one database at once: each
 * migration re-reads the version inside its write transaction. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "sq.h"

#define SQ_MAX_MIGRATIONS       256
#define SQ_MAX_MIGRATION_BYTES  (1u << 20)

struct migration {
	int version;
	char name[256];
};

static int mig_cmp(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* Files NNN_name.sql in dir, sorted by NNN. 0 or -errno. */
static int scan_migrations(const char *dir, struct migration *out, size_t max, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d) {
		int e = errno;
		log_error("store: cannot open schema directory %s: %s", dir, strerror(e));
		return -e;
	}
	int rc = 0;
	*n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		size_t len = strlen(nm), digits = 0;
		while (nm[digits] >= '0' && nm[digits] <= '9')
			digits++;
		if (digits == 0 || digits > 6 || nm[digits] != '_' || len < 5 ||
		    strcmp(nm + len - 4, ".sql") != 0 || len >= sizeof(out[0].name))
			continue;
		if (*n >= max) {
			log_error("store: more than %zu migrations in %s", max, dir);
			rc = -E2BIG;
			goto out;
		}
		out[*n].version = atoi(nm);
		memcpy(out[*n].name, nm, len + 1);
		(*n)++;
	}
	qsort(out, *n, sizeof(*out), mig_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (out[i].version <= 0 || (i > 0 && out[i].version == out[i - 1].version)) {
			log_error("store: bad or duplicate migration number: %s", out[i].name);
			rc = -EINVAL;
			goto out;
		}
	}
out:
	closedir(d);
	return rc;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*v = sqlite3_column_int(st, 0);
	rc = 0;
out:
	if (rc)
		sq_dberr(db, "reading schema version");
	sqlite3_finalize(st);
	return rc;
}

static int apply_one(sqlite3 *db, const char *dir, const struct migration *m)
{
	char path[4096], pragma[64];
	char *msg = NULL;
	struct buf sql;
	int rc, cur = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, m->name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	buf_init(&sql, SQ_MAX_MIGRATION_BYTES);
	rc = fs_read_file_at(AT_FDCWD, path, SQ_MAX_MIGRATION_BYTES, 0, &sql);
	if (rc) {
		log_error("store: cannot read migration %s: %s", path, strerror(-rc));
		goto out;
	}
	rc = -EIO;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	/* another process may have migrated meanwhile */
	if (user_version(db, &cur) != 0)
		goto rollback;
	if (cur >= m->version) {
		rc = 0;
		goto rollback;
	}
	if (sqlite3_exec(db, buf_cstr(&sql), NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", m->version);
	if (sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	log_info("store: applied migration %s (schema version %d)", m->name, m->version);
	rc = 0;
	goto out;
fail:
	log_error("store: migration %s failed: %s", m->name, msg ? msg : sqlite3_errmsg(db));
	rc = -EIO;
rollback:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_free(msg);
	buf_release(&sql);
	return rc;
}

int sq_migrate(sqlite3 *db, const char *dir, int *version)
{
	struct migration *ms = calloc(SQ_MAX_MIGRATIONS, sizeof(*ms));
	size_t n = 0;
	int rc = -ENOMEM, v = 0;
	if (!ms)
		goto out;
	rc = scan_migrations(dir, ms, SQ_MAX_MIGRATIONS, &n);
	if (rc)
		goto out;
	int newest = n ? ms[n - 1].version : 0;
	rc = user_version(db, &v);
	if (rc)
		goto out;
	if (v > newest) {
		log_error("store: database schema version %d is newer than this server supports (%d)",
			  v, newest);
		rc = -EPROTO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (ms[i].version <= v)
			continue;
		rc = apply_one(db, dir, &ms[i]);
		if (rc)
			goto out;
	}
	rc = user_version(db, version);
out:
	free(ms);
	return rc;
}

