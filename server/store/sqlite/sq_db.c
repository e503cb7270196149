/* sq_db.c — the SQLite member's database: connections, pragmas, the statement cache, the read
 * pool, background WAL checkpoints; opening it behind one or both doors (the ops tables). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "sq.h"
#include "store/sqlite/sqlite.h"

/* ---- statement cache ---- */

sqlite3_stmt *sq_stmt(struct sq_conn *c, const char *sql)
{
	for (size_t i = 0; i < c->n_stmts; i++) {
		if (c->stmts[i].sql == sql) {
			sqlite3_stmt *st = c->stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (c->n_stmts >= SQ_MAX_STMTS) {
		log_error("store: statement cache full (%d)", SQ_MAX_STMTS);
		return NULL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_error("store: prepare failed: %s (in: %.80s)", sqlite3_errmsg(c->db), sql);
		sqlite3_finalize(st);
		return NULL;
	}
	c->stmts[c->n_stmts].sql = sql;
	c->stmts[c->n_stmts].st = st;
	c->n_stmts++;
	return st;
}

int sq_rows(struct sq_conn *c, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *ctx),
	    void *ctx, const char *what)
{
	int rc = 0, step = SQLITE_DONE;

	if (!st)
		return -EIO;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = row(st, ctx);
	if (!rc && step != SQLITE_DONE)
		rc = sq_dberr(c->db, what);
	sqlite3_reset(st);
	return rc;
}

int sq_dberr(sqlite3 *db, const char *what)
{
	log_error("store: %s: %s", what, db ? sqlite3_errmsg(db) : "no database");
	return -EIO;
}

int sq_exec(struct sq_conn *c, const char *sql)
{
	sqlite3_stmt *st = sq_stmt(c, sql);
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_dberr(c->db, sql);
	return 0;
}

int sq_begin(struct sq_conn *c)
{
	return sq_exec(c, "BEGIN IMMEDIATE");
}

int sq_commit(struct sq_conn *c)
{
	return sq_exec(c, "COMMIT");
}

void sq_rollback(struct sq *s)
{
	if (!sqlite3_get_autocommit(s->w.db)) {
		/* reset every statement first: an active one could keep the rollback from running */
		for (size_t i = 0; i < s->w.n_stmts; i++)
			sqlite3_reset(s->w.stmts[i].st);
		if (sqlite3_exec(s->w.db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
			sq_dberr(s->w.db, "rollback");
	}
	/* ids handed out inside the transaction are gone: forget everything cached */
	sq_kv_clear(&s->frames);
	sq_kv_clear(&s->stacks);
	sq_kv_clear(&s->names);
}

int sq_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

const char *sq_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

double sq_real(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* ---- connections ---- */

struct sq_conn *sq_wlock(struct sq *s)
{
	pthread_mutex_lock(&s->wmu);
	return &s->w;
}

void sq_wunlock(struct sq *s)
{
	pthread_mutex_unlock(&s->wmu);
}

struct sq_conn *sq_rget(struct sq *s)
{
	struct sq_conn *c = NULL;
	pthread_mutex_lock(&s->rmu);
	for (;;) {
		for (int i = 0; i < SQ_READERS; i++) {
			if (!s->r[i].in_use) {
				c = &s->r[i];
				break;
			}
		}
		if (c)
			break;
		pthread_cond_wait(&s->rcv, &s->rmu);
	}
	c->in_use = true;
	pthread_mutex_unlock(&s->rmu);
	return c;
}

void sq_rput(struct sq *s, struct sq_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_stmts; i++)
		sqlite3_reset(c->stmts[i].st);
	pthread_mutex_lock(&s->rmu);
	c->in_use = false;
	pthread_cond_signal(&s->rcv);
	pthread_mutex_unlock(&s->rmu);
}

static void conn_close(struct sq_conn *c)
{
	for (size_t i = 0; i < c->n_stmts; i++)
		sqlite3_finalize(c->stmts[i].st);
	c->n_stmts = 0;
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
}

static int conn_open(struct sq_conn *c, const char *path, bool writer)
{
	int flags = SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
						  : SQLITE_OPEN_READONLY);
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		log_error("store: cannot open %s: %s", path,
			  c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return -EIO;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	/* fixed pragma texts only */
	static const char *const wpragmas =
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
		"PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;"
		"PRAGMA journal_size_limit=67108864;";
	static const char *const rpragmas =
		"PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;";
	char *msg = NULL;
	if (sqlite3_exec(c->db, writer ? wpragmas : rpragmas, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: setting up %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* ---- background checkpoints ---- */

/* Keep the WAL bounded: writers that never pause stop PASSIVE checkpoints from restarting it. */
static void wal_bound(struct sq *s)
{
	struct stat st;
	size_t max;
	int rc;

	pthread_mutex_lock(&s->ckmu);
	max = s->wal_max;
	pthread_mutex_unlock(&s->ckmu);
	if (stat(s->wal_path, &st) != 0 || (size_t)st.st_size <= max)
		return;
	sq_wlock(s);
	rc = sqlite3_wal_checkpoint_v2(s->w.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sq_wunlock(s);
	if (rc == SQLITE_OK)
		log_info("store: WAL reached %lld MB; checkpointed and truncated",
			 (long long)(st.st_size >> 20));
	else if (rc != SQLITE_BUSY)
		sq_dberr(s->w.db, "WAL truncate checkpoint");
	/* SQLITE_BUSY: a reader held on; the next round tries again */
}

static void *checkpoint_thread(void *arg)
{
	struct sq *s = arg;
	pthread_mutex_lock(&s->ckmu);
	while (!s->ck_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(SQ_CHECKPOINT_MS % 1000) * 1000000L;
		ts.tv_sec += SQ_CHECKPOINT_MS / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->ckcv, &s->ckmu, &ts);
		if (s->ck_stop)
			break;
		pthread_mutex_unlock(&s->ckmu);
		int rc = sqlite3_wal_checkpoint_v2(s->ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			sq_dberr(s->ck, "background checkpoint");
		wal_bound(s);
		pthread_mutex_lock(&s->ckmu);
	}
	pthread_mutex_unlock(&s->ckmu);
	return NULL;
}

static int checkpoint_start(struct sq *s, const char *path)
{
	if (sqlite3_open_v2(path, &s->ck, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return sq_dberr(s->ck, "opening the checkpoint connection");
	sqlite3_busy_timeout(s->ck, 100);
	/* the write connection no longer checkpoints on commit */
	if (sqlite3_wal_autocheckpoint(s->w.db, 0) != SQLITE_OK)
		return sq_dberr(s->w.db, "wal_autocheckpoint");
	if (pthread_create(&s->ck_thread, NULL, checkpoint_thread, s) != 0) {
		sqlite3_wal_autocheckpoint(s->w.db, 1000);
		return -EAGAIN;
	}
	s->ck_running = true;
	return 0;
}

static void checkpoint_stop(struct sq *s)
{
	if (s->ck_running) {
		pthread_mutex_lock(&s->ckmu);
		s->ck_stop = true;
		pthread_cond_signal(&s->ckcv);
		pthread_mutex_unlock(&s->ckmu);
		pthread_join(s->ck_thread, NULL);
		s->ck_running = false;
	}
	if (s->ck)
		sqlite3_close(s->ck);
	s->ck = NULL;
}

/* ---- open / close ---- */

static void sq_free(struct sq *s)
{
	if (!s)
		return;
	checkpoint_stop(s);
	for (int i = 0; i < SQ_READERS; i++)
		conn_close(&s->r[i]);
	if (s->w.db) {
		for (size_t i = 0; i < s->w.n_stmts; i++)
			sqlite3_reset(s->w.stmts[i].st);
		if (sqlite3_wal_checkpoint_v2(s->w.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
					      NULL) != SQLITE_OK)
			sq_dberr(s->w.db, "checkpoint on close");
	}
	conn_close(&s->w);
	sq_kv_release(&s->frames);
	sq_kv_release(&s->stacks);
	sq_kv_release(&s->names);
	pthread_cond_destroy(&s->ckcv);
	pthread_mutex_destroy(&s->ckmu);
	pthread_cond_destroy(&s->rcv);
	pthread_mutex_destroy(&s->rmu);
	pthread_mutex_destroy(&s->wmu);
	free(s->wal_path);
	free(s);
}

/* Open (creating if needed) the database at path, enable WAL, apply the migrations. */
static int sq_new(const char *path, const struct store_options *o, struct sq **out)
{
	int rc = -EINVAL;
	struct sq *s = NULL;

	if (!path || !*path || !o->schema_dir)
		goto fail;
	rc = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->rmu, NULL);
	pthread_cond_init(&s->rcv, NULL);
	pthread_mutex_init(&s->ckmu, NULL);
	pthread_cond_init(&s->ckcv, NULL);
	if (sq_kv_init(&s->frames, 200000, 32u << 20) ||
	    sq_kv_init(&s->stacks, 200000, 64u << 20) ||
	    sq_kv_init(&s->names, 20000, 4u << 20))
		goto fail;
	rc = conn_open(&s->w, path, true);
	if (rc)
		goto fail;
	rc = sq_migrate(s->w.db, o->schema_dir, &s->version);
	if (rc)
		goto fail;
	for (int i = 0; i < SQ_READERS; i++) {
		rc = conn_open(&s->r[i], path, false);
		if (rc)
			goto fail;
	}
	s->wal_max = o->wal_limit ? o->wal_limit : SQ_WAL_MAX_DEFAULT;
	if (asprintf(&s->wal_path, "%s-wal", path) < 0) {
		s->wal_path = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	rc = checkpoint_start(s, path);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	sq_free(s);
	return rc;
}

static void sq_release(struct sq *s)
{
	if (--s->refs == 0)
		sq_free(s);
}

static void ctl_close(struct control *c)
{
	sq_release(sq_of_ctl(c));
}

static void smp_close(struct samples *smp)
{
	sq_release(sq_of_smp(smp));
}

static const struct control_ops ctl_ops = {
	.name = "sqlite",
	.heartbeat = sq_heartbeat,
	.host_status = sq_host_status,
	.create_request = sq_create_request,
	.get_request = sq_get_request,
	.complete_command = sq_complete_command,
	.list_commands = sq_list_commands,
	.list_services = sq_list_services,
	.delete_before = sq_ctl_delete_before,
	.close = ctl_close,
};

static const struct samples_ops smp_ops = {
	.name = "sqlite",
	.ingest = sq_ingest,
	.query_stacks = sq_query_stacks,
	.containers = sq_containers,
	.metrics = sq_metrics,
	.services = sq_services,
	.delete_before = sq_smp_delete_before,
	.close = smp_close,
};

/* Any address that is not a URL is a database path. */
static bool accepts(const char *addr)
{
	return !strstr(addr, "://");
}

static int open_doors(const char *addr, const struct store_options *o, struct control **ctl,
		      struct samples **smp)
{
	struct sq *s = NULL;
	int rc = sq_new(addr, o, &s);

	if (rc)
		return rc;
	s->ctl = (struct control){ .ops = &ctl_ops, .schema_version = s->version };
	s->smp = (struct samples){ .ops = &smp_ops, .schema_version = s->version };
	if (ctl) {
		*ctl = &s->ctl;
		s->refs++;
	}
	if (smp) {
		*smp = &s->smp;
		s->refs++;
	}
	if (!s->refs)
		sq_free(s);
	return 0;
}

const struct store_member sqlite_member = {
	.name = "sqlite",
	.accepts = accepts,
	.open = open_doors,
};
