/* main.c — fleetprof-server: configuration, store, tokens, HTTP, retention, shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "fsutil.h"
#include "handlers.h"
#include "http_server.h"
#include "routes.h"
#include "log.h"
#include "store/store.h"
#include "tokens.h"

extern char **environ;

#define MAX_QUERY_STACKS  200000
#define TLS_FILE_MAX      (1024 * 1024)
#define RETENTION_PERIOD  3600

static int64_t now_sec(void)
{
	return (int64_t)time(NULL);
}

/* mkdir -p for the directory part of path. 0 or -errno. */
static int make_parent_dirs(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	return fs_mkdir_p(dir, 0755);
}

/* A PEM file, whole (malloc'd), or NULL with errno set. */
static char *read_pem(const char *path)
{
	struct buf b;
	int rc;

	buf_init(&b, TLS_FILE_MAX);
	rc = fs_read_file_at(AT_FDCWD, path, TLS_FILE_MAX, 0, &b);
	if (!rc && b.len == 0)
		rc = -EINVAL;
	if (rc) {
		buf_release(&b);
		errno = -rc;
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* ---- retention ---- */

struct retention {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct store *store;
	int days;
};

static void *retention_main(void *arg)
{
	struct retention *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct timespec until;
		int64_t cutoff = now_sec() - (int64_t)r->days * 86400, n;

		pthread_mutex_unlock(&r->lock);
		n = r->store->samples->ops->delete_before(r->store->samples, cutoff);
		if (n >= 0) {
			int rc = r->store->control->ops->delete_before(r->store->control, cutoff);

			if (rc)
				n = rc;
		}
		if (n < 0)
			log_warn("retention: delete failed: %s", strerror((int)-n));
		else if (n > 0)
			log_info("retention: deleted %lld sample rows older than %d days",
				 (long long)n, r->days);
		pthread_mutex_lock(&r->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += RETENTION_PERIOD;
		while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static int retention_start(struct retention *r, struct store *s, int days)
{
	pthread_condattr_t ca;
	int rc;

	memset(r, 0, sizeof(*r));
	r->store = s;
	r->days = days;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&r->thread, NULL, retention_main, r);
	return -rc;
}

static void retention_stop(struct retention *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
}

/* ---- main ---- */

static struct config cfg;

int main(int argc, char **argv)
{
	struct http_server_opts ho;
	struct http_server *http = NULL;
	struct store store = { 0 };
	struct store_options so;
	struct retention ret;
	bool ret_started = false;
	struct tokens tokens;
	struct srv srv;
	char err[512], tok_path[CONFIG_PATH_MAX + 16], web_real[PATH_MAX];
	char *cert = NULL, *key = NULL;
	sigset_t sigs;
	int rc, sig, exit_code = 1;

	rc = config_parse(&cfg, argc, argv, environ, err, sizeof(err));
	if (rc == CONFIG_HELP) {
		config_usage(stdout);
		return 0;
	}
	if (rc == CONFIG_VERSION) {
		printf("fleetprof-server %s\n", FLEETPROF_VERSION);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "fleetprof-server: %s\n", err);
		return 2;
	}
	log_init("server", cfg.log_level);
	signal(SIGPIPE, SIG_IGN);

	/* every thread started from here on inherits the blocked set; main takes them sigwait */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	rc = make_parent_dirs(cfg.db);
	if (rc) {
		log_error("cannot create the directory of --db %s: %s", cfg.db, strerror(-rc));
		goto out;
	}
	if (tokens_path_for_db(cfg.db, tok_path, sizeof(tok_path)) != 0) {
		log_error("--db path too long");
		goto out;
	}
	rc = tokens_load(&tokens, tok_path, cfg.agent_token, cfg.admin_token);
	if (rc) {
		log_error("tokens: %s: %s", tok_path, rc == -EINVAL ?
			  "malformed token file (want agent_token=...\\nadmin_token=...)" :
			  strerror(-rc));
		goto out;
	}
	if (tokens.created)
		log_info("generated agent and admin tokens in %s (mode 0600)", tokens.path);

	memset(&so, 0, sizeof(so));
	so.schema_dir = cfg.schema;
	rc = store_open(&store, cfg.db, NULL, &so);
	if (rc) {
		log_error("cannot open the database %s (schema %s): %s", cfg.db, cfg.schema,
			  strerror(-rc));
		goto out;
	}

	memset(&srv, 0, sizeof(srv));
	srv.control = store.control;
	srv.samples = store.samples;
	srv.cfg = &cfg;
	srv.tokens = &tokens;
	srv.now = now_sec;
	srv.max_query_stacks = MAX_QUERY_STACKS;
	if (realpath(cfg.web, web_real))
		srv.web_root = web_real;
	else
		log_warn("--web %s: %s; serving a placeholder page at /", cfg.web, strerror(errno));

	if (cfg.tls_cert[0]) {
		cert = read_pem(cfg.tls_cert);
		key = read_pem(cfg.tls_key);
		if (!cert || !key) {
			log_error("cannot read --tls-cert %s / --tls-key %s: %s", cfg.tls_cert,
				  cfg.tls_key, strerror(errno));
			goto out;
		}
	}
	memset(&ho, 0, sizeof(ho));
	ho.bind = cfg.bind;
	ho.port = cfg.port;
	ho.threads = (unsigned)cfg.threads;
	ho.connection_limit = 4096;
	ho.timeout_sec = 60;
	ho.tls_cert_pem = cert;
	ho.tls_key_pem = key;
	http = http_server_start(&ho, &routes_dispatch, &srv);
	if (!http) {
		log_error("cannot listen on %s:%d: %s", cfg.bind, cfg.port, strerror(errno));
		goto out;
	}
	rc = retention_start(&ret, &store, cfg.retention_days);
	if (rc) {
		log_error("cannot start the retention thread: %s", strerror(-rc));
		goto out;
	}
	ret_started = true;

	log_info("fleetprof-server %s: bind %s:%d, db %s (schema version %d), web %s, tokens %s, "
		 "%d threads, retention %d days", FLEETPROF_VERSION, cfg.bind,
		 http_server_port(http), cfg.db, store.control->schema_version,
		 srv.web_root ? srv.web_root : "(none)", tokens.path[0] ? tokens.path : "(flags)",
		 cfg.threads, cfg.retention_days);
	fprintf(stderr, "listening on %s://%s%s%s:%d\n", cert ? "https" : "http",
		strchr(cfg.bind, ':') ? "[" : "", cfg.bind,
		strchr(cfg.bind, ':') ? "]" : "", http_server_port(http));
	fflush(stderr);

	do {
		rc = sigwait(&sigs, &sig);
	} while (rc == EINTR);
	log_info("signal %d: stopping (finishing requests in flight)", sig);
	exit_code = 0;
out:
	http_server_stop(http, 10000);
	if (ret_started)
		retention_stop(&ret);
	store_close(&store);
	free(cert);
	free(key);
	if (exit_code == 0)
		log_info("stopped");
	return exit_code;
}
