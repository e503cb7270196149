/* sq.h — what the SQLite member's files share: the database handle behind both doors, its
 * connections, the statement cache, the ingest caches and the ops each file implements.
 * Nothing outside server/store/sqlite/ includes this.
 *
 * Concurrency: one write connection guarded by wmu (every write, and reads that must see the
 * caller's own writes, go through it), plus a pool of SQ_READERS read-only connections for
 * queries. In WAL mode readers never wait for the writer, so host_status and flame graph
 * queries do not hold up heartbeats. WAL checkpoints run on their own connection in a
 * background thread.
 */
#ifndef FP_STORE_SQ_H
#define FP_STORE_SQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "store/control.h"
#include "store/samples.h"

#define SQ_READERS        4      /* read connections in the pool */
#define SQ_MAX_STMTS      64     /* distinct SQL texts cached per connection */
#define SQ_BUSY_MS        5000   /* busy_timeout for locks held by other processes */
#define SQ_CHECKPOINT_MS  1000   /* background WAL checkpoint period */
#define SQ_WAL_MAX_DEFAULT (64u << 20) /* WAL size that triggers a TRUNCATE checkpoint */

#define SQ_BUCKET_MIN  60        /* fine bucket width (seconds) */
#define SQ_BUCKET_HOUR 3600      /* coarse bucket width (seconds) */

/* One SQLite connection and its prepared statements, keyed by the address of the SQL text
 * (every SQL text is a string constant in sq_*.c, never built from input). */
struct sq_conn {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[SQ_MAX_STMTS];
	size_t n_stmts;
	bool in_use;            /* read pool bookkeeping, guarded by sq.rmu */
};

/* A bounded byte-key -> int64 cache (open addressing). When it is full it is emptied: simple,
 * bounded, and good enough for interning where the working set is much smaller than the bound. */
struct sq_kv_entry {
	uint64_t hash;
	char *key;              /* owned; NULL = empty slot */
	size_t klen;
	int64_t val;
	int64_t aux;
};
struct sq_kv {
	struct sq_kv_entry *slots;
	size_t cap;             /* power of two */
	size_t count;
	size_t bytes;           /* key bytes held */
	size_t max_count, max_bytes;
};

/* The database behind both doors. */
struct sq {
	struct control ctl;     /* the doors, handed out by the member's open */
	struct samples smp;
	int refs;               /* doors still open */

	pthread_mutex_t wmu;
	struct sq_conn w;       /* guarded by wmu */
	/* ingest caches, guarded by wmu; emptied on any rollback and by retention */
	struct sq_kv frames;    /* frame name -> id (aux: last_used hour) */
	struct sq_kv stacks;    /* service id (8 bytes) + stack text -> id (aux: last_used) */
	struct sq_kv names;     /* kind byte + name -> id for services/hosts/containers */

	pthread_mutex_t rmu;
	pthread_cond_t rcv;
	struct sq_conn r[SQ_READERS];
	int version;

	sqlite3 *ck;            /* the background checkpoint connection */
	char *wal_path;         /* "<db>-wal", for its size */
	size_t wal_max;         /* past this, a TRUNCATE checkpoint under the write lock */
	pthread_t ck_thread;
	bool ck_running, ck_stop;
	pthread_mutex_t ckmu;
	pthread_cond_t ckcv;
};

static inline struct sq *sq_of_ctl(struct control *c)
{
	return (struct sq *)((char *)c - offsetof(struct sq, ctl));
}

static inline struct sq *sq_of_smp(struct samples *s)
{
	return (struct sq *)((char *)s - offsetof(struct sq, smp));
}

/* ---- connections (sq_db.c) ---- */

/* Lock the write connection / unlock it. */
struct sq_conn *sq_wlock(struct sq *s);
void sq_wunlock(struct sq *s);
/* Take a read connection from the pool (waits for one) / give it back. */
struct sq_conn *sq_rget(struct sq *s);
void sq_rput(struct sq *s, struct sq_conn *c);

/* The prepared statement for sql (a string constant), reset with bindings cleared. NULL on a
 * prepare error (logged). Callers sqlite3_reset() it when done so no read stays open. */
sqlite3_stmt *sq_stmt(struct sq_conn *c, const char *sql);
/* Run a statement that returns no rows (BEGIN, COMMIT, ...) through the cache. 0 or -EIO. */
int sq_exec(struct sq_conn *c, const char *sql);
int sq_begin(struct sq_conn *c);     /* BEGIN IMMEDIATE */
int sq_commit(struct sq_conn *c);
void sq_rollback(struct sq *s);      /* on the write connection; empties the ingest caches */

/* Step st to its end, calling row for each row until row returns non-zero; then reset st.
 * 0, row's return, or -EIO (logged with what; also when st is NULL: a failed prepare). */
int sq_rows(struct sq_conn *c, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *ctx),
	    void *ctx, const char *what);
/* Log a database error with context; returns -EIO. */
int sq_dberr(sqlite3 *db, const char *what);
/* Bind text, or NULL when s is NULL. */
int sq_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* A text column, NULL for SQL NULL. */
const char *sq_text(sqlite3_stmt *st, int col);
/* A real column, NaN for SQL NULL. */
double sq_real(sqlite3_stmt *st, int col);

/* ---- migrations (sq_migrate.c) ---- */

/* Apply the files NNN_name.sql of dir newer than the database's PRAGMA user_version, in order,
 * each in its own transaction; *version gets the version reached. A database newer than the
 * newest file is -EPROTO (logged with both numbers). */
int sq_migrate(sqlite3 *db, const char *dir, int *version);

/* ---- small helpers (sq_kv.c) ---- */

/* New random (v4) UUID, lower-case text, into out[37]. */
void sq_uuid(char out[37]);
/* A 64-bit hash of bytes (stable: stored in the database). */
uint64_t sq_hash(const void *p, size_t n);

int sq_kv_init(struct sq_kv *kv, size_t max_count, size_t max_bytes);
void sq_kv_release(struct sq_kv *kv);
void sq_kv_clear(struct sq_kv *kv);
/* The entry for key, or NULL. */
struct sq_kv_entry *sq_kv_get(struct sq_kv *kv, const void *key, size_t klen, uint64_t hash);
/* Insert (key must be absent). Empties the cache first when it is full. 0 or -ENOMEM. */
int sq_kv_put(struct sq_kv *kv, const void *key, size_t klen, uint64_t hash, int64_t val,
	      int64_t aux);

/* floor(t / w) * w for any sign of t. */
int64_t sq_floor(int64_t t, int64_t w);

/* ---- interning of names (sq_ingest.c) ---- */

enum sq_name_kind { SQ_NAME_SERVICE = 0, SQ_NAME_HOST = 1, SQ_NAME_CONTAINER = 2 };
/* Lookup only, on any connection. 0 (*id = 0 when absent) or -EIO. */
int sq_name_id(struct sq_conn *c, enum sq_name_kind kind, const char *name, int64_t *id);

/* ---- the ops, one file per group ---- */

/* sq_hosts.c */
int sq_heartbeat(struct control *c, const struct ctl_heartbeat *hb, struct ctl_command *out);
int sq_host_status(struct control *c, const char *service, const char *hostname, ctl_host_fn fn,
		   void *ctx);
int sq_list_services(struct control *c, ctl_service_fn fn, void *ctx);

/* sq_cmds.c */
int sq_create_request(struct control *c, const struct ctl_request *r, struct ctl_created *out);
int sq_get_request(struct control *c, const char *request_id, struct ctl_request_info *out);
int sq_complete_command(struct control *c, const char *command_id, const char *hostname,
			enum ctl_cmd_status status, double execution_time,
			const char *error_message, const char *results_path, int64_t now);
int sq_list_commands(struct control *c, const char *hostname, const char *service, int64_t limit,
		     int64_t offset, int64_t *total, ctl_cmd_fn fn, void *ctx);

/* sq_ingest.c */
int sq_ingest(struct samples *s, const struct smp_upload *u, int64_t *gpid_out);

/* sq_query.c */
int sq_query_stacks(struct samples *s, const struct smp_query *q, size_t max_stacks,
		    col_stack_fn fn, void *ctx);
int sq_containers(struct samples *s, const struct smp_query *q, smp_container_fn fn, void *ctx);
int sq_metrics(struct samples *s, const struct smp_query *q, smp_metric_fn fn, void *ctx);
int sq_services(struct samples *s, smp_service_fn fn, void *ctx);

/* sq_retention.c */
int sq_ctl_delete_before(struct control *c, int64_t cutoff);
int64_t sq_smp_delete_before(struct samples *s, int64_t cutoff);

#endif
