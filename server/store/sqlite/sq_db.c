/* store.c — opening and closing the store: connections, pragmas, migrations, the statement
 * cache and the read pool; small helpers the other store_*.c files share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "sq.h"

#define STORE_MAX_MIGRATIONS 256

/* ---- statement cache ---- */

sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql)
{
	for (size_t i = 0; i < c->n_stmts; i++) {
		if (c->stmts[i].sql == sql) {
			sqlite3_stmt *st = c->stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (c->n_stmts >= STORE_MAX_STMTS) {
		log_error("store: statement cache full (%d)", STORE_MAX_STMTS);
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

int store_dberr(sqlite3 *db, const char *what)
{
	log_error("store: %s: %s", what, db ? sqlite3_errmsg(db) : "no database");
	return -EIO;
}

int store_exec(struct store_conn *c, const char *sql)
{
	sqlite3_stmt *st = store_stmt(c, sql);
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_dberr(c->db, sql);
	return 0;
}

int store_begin(struct store_conn *c)
{
	return store_exec(c, "BEGIN IMMEDIATE");
}

int store_commit(struct store_conn *c)
{
	return store_exec(c, "COMMIT");
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->w.db)) {
		/* reset every statement first: an active one could keep the rollback from running */
		for (size_t i = 0; i < s->w.n_stmts; i++)
			sqlite3_reset(s->w.stmts[i].st);
		if (sqlite3_exec(s->w.db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
			store_dberr(s->w.db, "rollback");
	}
	/* ids handed out inside the transaction are gone: forget everything cached */
	store_kv_clear(&s->frames);
	store_kv_clear(&s->stacks);
	store_kv_clear(&s->names);
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

/* ---- connections ---- */

struct store_conn *store_wlock(struct store *s)
{
	pthread_mutex_lock(&s->wmu);
	return &s->w;
}

void store_wunlock(struct store *s)
{
	pthread_mutex_unlock(&s->wmu);
}

struct store_conn *store_rget(struct store *s)
{
	struct store_conn *c = NULL;
	pthread_mutex_lock(&s->rmu);
	for (;;) {
		for (int i = 0; i < STORE_READERS; i++) {
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

void store_rput(struct store *s, struct store_conn *c)
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

static void conn_close(struct store_conn *c)
{
	for (size_t i = 0; i < c->n_stmts; i++)
		sqlite3_finalize(c->stmts[i].st);
	c->n_stmts = 0;
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
}

static int conn_open(struct store_conn *c, const char *path, bool writer)
{
	int flags = SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
						  : SQLITE_OPEN_READONLY);
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		log_error("store: cannot open %s: %s", path,
			  c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return -EIO;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, STORE_BUSY_MS);
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

/* ---- migrations ---- */

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

static char *read_file(const char *path)
{
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat stt;
	if (fstat(fd, &stt) != 0)
		goto fail;
	if (stt.st_size < 0 || (size_t)stt.st_size > STORE_MAX_MIGRATION_BYTES) {
		errno = EFBIG;
		goto fail;
	}
	size_t len = (size_t)stt.st_size, got = 0;
	buf = malloc(len + 1);
	if (!buf)
		goto fail;
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r < 0 ? errno : EIO;
			goto fail;
		}
		got += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail: {
	int e = errno;
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}
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
		store_dberr(db, "reading schema version");
	sqlite3_finalize(st);
	return rc;
}

static int apply_one(sqlite3 *db, const char *dir, const struct migration *m)
{
	char path[4096], pragma[64];
	char *sql = NULL, *msg = NULL;
	int rc = -EIO, cur = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, m->name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	sql = read_file(path);
	if (!sql) {
		rc = -errno;
		log_error("store: cannot read migration %s: %s", path, strerror(errno));
		goto out;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	/* another process may have migrated meanwhile */
	if (user_version(db, &cur) != 0)
		goto rollback;
	if (cur >= m->version) {
		rc = 0;
		goto rollback;
	}
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
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
	free(sql);
	return rc;
}

static int migrate(struct store *s, const char *dir)
{
	struct migration *ms = calloc(STORE_MAX_MIGRATIONS, sizeof(*ms));
	size_t n = 0;
	int rc = -ENOMEM, v = 0;
	if (!ms)
		goto out;
	rc = scan_migrations(dir, ms, STORE_MAX_MIGRATIONS, &n);
	if (rc)
		goto out;
	int newest = n ? ms[n - 1].version : 0;
	rc = user_version(s->w.db, &v);
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
		rc = apply_one(s->w.db, dir, &ms[i]);
		if (rc)
			goto out;
	}
	rc = user_version(s->w.db, &s->version);
out:
	free(ms);
	return rc;
}

/* ---- background checkpoints ---- */

void store_set_wal_limit(struct store *s, size_t bytes)
{
	pthread_mutex_lock(&s->ckmu);
	s->wal_max = bytes ? bytes : STORE_WAL_MAX_DEFAULT;
	pthread_mutex_unlock(&s->ckmu);
}

/* Keep the WAL bounded: writers that never pause stop PASSIVE checkpoints from restarting it. */
static void wal_bound(struct store *s)
{
	struct stat st;
	size_t max;
	int rc;

	pthread_mutex_lock(&s->ckmu);
	max = s->wal_max;
	pthread_mutex_unlock(&s->ckmu);
	if (stat(s->wal_path, &st) != 0 || (size_t)st.st_size <= max)
		return;
	store_wlock(s);
	rc = sqlite3_wal_checkpoint_v2(s->w.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	store_wunlock(s);
	if (rc == SQLITE_OK)
		log_info("store: WAL reached %lld MB; checkpointed and truncated",
			 (long long)(st.st_size >> 20));
	else if (rc != SQLITE_BUSY)
		store_dberr(s->w.db, "WAL truncate checkpoint");
	/* SQLITE_BUSY: a reader held on; the next round tries again */
}

static void *checkpoint_thread(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->ckmu);
	while (!s->ck_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(STORE_CHECKPOINT_MS % 1000) * 1000000L;
		ts.tv_sec += STORE_CHECKPOINT_MS / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->ckcv, &s->ckmu, &ts);
		if (s->ck_stop)
			break;
		pthread_mutex_unlock(&s->ckmu);
		int rc = sqlite3_wal_checkpoint_v2(s->ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			store_dberr(s->ck, "background checkpoint");
		wal_bound(s);
		pthread_mutex_lock(&s->ckmu);
	}
	pthread_mutex_unlock(&s->ckmu);
	return NULL;
}

static int checkpoint_start(struct store *s, const char *path)
{
	if (sqlite3_open_v2(path, &s->ck, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return store_dberr(s->ck, "opening the checkpoint connection");
	sqlite3_busy_timeout(s->ck, 100);
	/* the write connection no longer checkpoints on commit */
	if (sqlite3_wal_autocheckpoint(s->w.db, 0) != SQLITE_OK)
		return store_dberr(s->w.db, "wal_autocheckpoint");
	if (pthread_create(&s->ck_thread, NULL, checkpoint_thread, s) != 0) {
		sqlite3_wal_autocheckpoint(s->w.db, 1000);
		return -EAGAIN;
	}
	s->ck_running = true;
	return 0;
}

static void checkpoint_stop(struct store *s)
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

struct store *store_open(const char *path, const char *schema_dir)
{
	int rc = -EINVAL;
	struct store *s = NULL;
	if (!path || !schema_dir || !*path)
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
	if (store_kv_init(&s->frames, 200000, 32u << 20) ||
	    store_kv_init(&s->stacks, 200000, 64u << 20) ||
	    store_kv_init(&s->names, 20000, 4u << 20))
		goto fail;
	rc = conn_open(&s->w, path, true);
	if (rc)
		goto fail;
	rc = migrate(s, schema_dir);
	if (rc)
		goto fail;
	for (int i = 0; i < STORE_READERS; i++) {
		rc = conn_open(&s->r[i], path, false);
		if (rc)
			goto fail;
	}
	s->wal_max = STORE_WAL_MAX_DEFAULT;
	if (asprintf(&s->wal_path, "%s-wal", path) < 0) {
		s->wal_path = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	rc = checkpoint_start(s, path);
	if (rc)
		goto fail;
	return s;
fail:
	store_close(s);
	errno = -rc;
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	checkpoint_stop(s);
	for (int i = 0; i < STORE_READERS; i++)
		conn_close(&s->r[i]);
	if (s->w.db) {
		for (size_t i = 0; i < s->w.n_stmts; i++)
			sqlite3_reset(s->w.stmts[i].st);
		if (sqlite3_wal_checkpoint_v2(s->w.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
					      NULL) != SQLITE_OK)
			store_dberr(s->w.db, "checkpoint on close");
	}
	conn_close(&s->w);
	store_kv_release(&s->frames);
	store_kv_release(&s->stacks);
	store_kv_release(&s->names);
	pthread_cond_destroy(&s->ckcv);
	pthread_mutex_destroy(&s->ckmu);
	pthread_cond_destroy(&s->rcv);
	pthread_mutex_destroy(&s->rmu);
	pthread_mutex_destroy(&s->wmu);
	free(s->wal_path);
	free(s);
}

int store_schema_version(struct store *s)
{
	return s ? s->version : -EINVAL;
}

/* ---- helpers ---- */

void store_uuid(char out[37])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

json_t *store_json_time(int64_t t)
{
	if (t <= 0)
		return json_null();
	char b[32];
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(b);
}

json_t *store_json_col(sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, col));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, col));
	case SQLITE_TEXT:
		return json_stringn((const char *)sqlite3_column_text(st, col),
				    (size_t)sqlite3_column_bytes(st, col));
	default:
		return json_null();
	}
}

static uint64_t load_le(const unsigned char *b, size_t n)
{
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)b[i] << (8 * i);
	return w;
}

/* Word-at-a-time multiply/xorshift hash. Stable across runs and byte orders: it is stored in the
 * database (stacks.hash). Collisions are handled by the callers. */
uint64_t store_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
	for (; n >= 8; b += 8, n -= 8) {
		h = (h ^ load_le(b, 8)) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h = (h ^ load_le(b, n)) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 32);
}

/* ---- bounded kv cache ---- */

int store_kv_init(struct store_kv *kv, size_t max_count, size_t max_bytes)
{
	memset(kv, 0, sizeof(*kv));
	kv->max_count = max_count;
	kv->max_bytes = max_bytes;
	kv->cap = 1024;
	kv->slots = calloc(kv->cap, sizeof(*kv->slots));
	return kv->slots ? 0 : -ENOMEM;
}

void store_kv_clear(struct store_kv *kv)
{
	if (!kv->slots)
		return;
	if (kv->count) {
		for (size_t i = 0; i < kv->cap; i++) {
			free(kv->slots[i].key);
			kv->slots[i].key = NULL;
		}
	}
	kv->count = 0;
	kv->bytes = 0;
}

void store_kv_release(struct store_kv *kv)
{
	store_kv_clear(kv);
	free(kv->slots);
	memset(kv, 0, sizeof(*kv));
}

struct store_kv_entry *store_kv_get(struct store_kv *kv, const void *key, size_t klen,
				    uint64_t hash)
{
	size_t mask = kv->cap - 1;
	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		struct store_kv_entry *e = &kv->slots[i];
		if (!e->key)
			return NULL;
		if (e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	}
}

static int kv_grow(struct store_kv *kv)
{
	size_t ncap = kv->cap * 2;
	struct store_kv_entry *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < kv->cap; i++) {
		struct store_kv_entry *e = &kv->slots[i];
		if (!e->key)
			continue;
		size_t j = (size_t)e->hash & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = *e;
	}
	free(kv->slots);
	kv->slots = ns;
	kv->cap = ncap;
	return 0;
}

int store_kv_put(struct store_kv *kv, const void *key, size_t klen, uint64_t hash, int64_t val,
		 int64_t aux)
{
	if (kv->count + 1 > kv->max_count || kv->bytes + klen > kv->max_bytes)
		store_kv_clear(kv);
	if ((kv->count + 1) * 4 > kv->cap * 3 && kv_grow(kv) != 0)
		return -ENOMEM;
	char *k = malloc(klen ? klen : 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, klen);
	size_t mask = kv->cap - 1, i = (size_t)hash & mask;
	while (kv->slots[i].key)
		i = (i + 1) & mask;
	kv->slots[i] = (struct store_kv_entry){ .hash = hash, .key = k, .klen = klen, .val = val,
						.aux = aux };
	kv->count++;
	kv->bytes += klen;
	return 0;
}
