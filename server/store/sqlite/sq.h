/* store_internal.h — what the store_*.c files share: connections, the statement cache, the
 * ingest caches and small helpers. Nothing outside server/store*.c includes this.
 *
 * Concurrency: one write connection guarded by s->wmu (every write, and reads that must see the
 * caller's own writes, go through it), plus a pool of STORE_READERS read-only connections for
 * queries. In WAL mode readers never wait for the writer, so host_status and flamegraph queries
 * do not hold up heartbeats.
 */
#ifndef FP_STORE_INTERNAL_H
#define FP_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include "store/store.h"

#define STORE_READERS     4      /* read connections in the pool */
#define STORE_MAX_STMTS   64     /* distinct SQL texts cached per connection */
#define STORE_BUSY_MS     5000   /* busy_timeout for locks held by other processes */
#define STORE_MAX_MIGRATION_BYTES (1u << 20)
#define STORE_CHECKPOINT_MS 1000 /* background WAL checkpoint period */
#define STORE_WAL_MAX_DEFAULT (64u << 20) /* WAL size that triggers a TRUNCATE checkpoint */

#define STORE_BUCKET_MIN  60     /* fine bucket width (seconds) */
#define STORE_BUCKET_HOUR 3600   /* coarse bucket width (seconds) */

/* One SQLite connection and its prepared statements, keyed by the address of the SQL text
 * (every SQL text is a string constant in store_*.c, never built from input). */
struct store_conn {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[STORE_MAX_STMTS];
	size_t n_stmts;
	bool in_use;            /* read pool bookkeeping, guarded by store.rmu */
};

/* A bounded byte-key -> int64 cache (open addressing). When it is full it is emptied: simple,
 * bounded, and good enough for interning where the working set is much smaller than the bound. */
struct store_kv_entry {
	uint64_t hash;
	char *key;              /* owned; NULL = empty slot */
	size_t klen;
	int64_t val;
	int64_t aux;
};
struct store_kv {
	struct store_kv_entry *slots;
	size_t cap;             /* power of two */
	size_t count;
	size_t bytes;           /* key bytes held */
	size_t max_count, max_bytes;
};

struct store {
	pthread_mutex_t wmu;
	struct store_conn w;    /* guarded by wmu */
	/* ingest caches, guarded by wmu; emptied on any rollback and by retention */
	struct store_kv frames;      /* frame name -> id (aux: last_used hour) */
	struct store_kv stacks;      /* service id (8 bytes) + stack text -> id (aux: last_used) */
	struct store_kv names;       /* kind byte + name -> id for services/hosts/containers */

	pthread_mutex_t rmu;
	pthread_cond_t rcv;
	struct store_conn r[STORE_READERS];
	int version;

	/* WAL checkpoints run on their own connection in a background thread (PASSIVE, every
	 * STORE_CHECKPOINT_MS), so the fsyncs never land on a heartbeat's commit. */
	sqlite3 *ck;
	char *wal_path;              /* "<db>-wal", for its size */
	size_t wal_max;              /* past this, a TRUNCATE checkpoint under the write lock */
	pthread_t ck_thread;
	bool ck_running, ck_stop;
	pthread_mutex_t ckmu;
	pthread_cond_t ckcv;
};

/* ---- connections (store.c) ---- */

/* Lock the write connection / unlock it. */
struct store_conn *store_wlock(struct store *s);
void store_wunlock(struct store *s);
/* Take a read connection from the pool (waits for one) / give it back. */
struct store_conn *store_rget(struct store *s);
void store_rput(struct store *s, struct store_conn *c);

/* The prepared statement for sql (a string constant), reset with bindings cleared. NULL on a
 * prepare error (logged). Callers sqlite3_reset() it when done so no read stays open. */
sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql);
/* Run a statement that returns no rows (BEGIN, COMMIT, ...) through the cache. 0 or -EIO. */
int store_exec(struct store_conn *c, const char *sql);
int store_begin(struct store_conn *c);     /* BEGIN IMMEDIATE */
int store_commit(struct store_conn *c);
void store_rollback(struct store *s);      /* on the write connection; empties ingest caches */

/* Log a database error with context; returns -EIO. */
int store_dberr(sqlite3 *db, const char *what);

/* Bind text, or NULL when s is NULL. */
int store_bind_text(sqlite3_stmt *st, int idx, const char *s);

/* ---- helpers ---- */
/* New random (v4) UUID, lower-case text, into out[37]. */
void store_uuid(char out[37]);
/* "2026-11-27T13:00:00Z" as a new json string (NULL when t <= 0: JSON null). */
json_t *store_json_time(int64_t t);
/* A column as a json value: text -> string, integer -> integer, real -> real, NULL -> null. */
json_t *store_json_col(sqlite3_stmt *st, int col);

/* A 64-bit hash of bytes (stable: stored in the database). */
uint64_t store_hash(const void *p, size_t n);

/* ---- kv cache ---- */
int store_kv_init(struct store_kv *kv, size_t max_count, size_t max_bytes);
void store_kv_release(struct store_kv *kv);
void store_kv_clear(struct store_kv *kv);
/* The entry for key, or NULL. */
struct store_kv_entry *store_kv_get(struct store_kv *kv, const void *key, size_t klen,
				    uint64_t hash);
/* Insert (key must be absent). Empties the cache first when it is full. 0 or -ENOMEM. */
int store_kv_put(struct store_kv *kv, const void *key, size_t klen, uint64_t hash, int64_t val,
		 int64_t aux);

/* ---- interning of names (store_ingest.c) ---- */
enum store_name_kind { STORE_NAME_SERVICE = 0, STORE_NAME_HOST = 1, STORE_NAME_CONTAINER = 2 };
/* Id of a service/host/container name on the write connection, creating it if create. 0 and
 * *id = 0 when absent and !create; -EIO. */
int store_name_id_w(struct store *s, enum store_name_kind kind, const char *name, bool create,
		    int64_t *id);
/* Lookup only, on any connection. 0 (*id = 0 when absent) or -EIO. */
int store_name_id(struct store_conn *c, enum store_name_kind kind, const char *name, int64_t *id);

#endif
