/* main.c — fleetprof-agent: samples every process's stacks (BPF, or perf_event_open as the
 * fallback), symbolizes them in-process and writes collapsed profiles with a JSON header and
 * HTML flame graphs, uploads them (-u), or waits for the server's commands (heartbeat mode). */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fleet/fleet.h"
#include "fleet/httpc.h"
#include "fsutil.h"
#include "log.h"
#include "options.h"
#include "output.h"
#include "profiler.h"
#include "session.h"
#include "fleet/uploader.h"

#define LOG_FILE_MAX   (10u * 1024u * 1024u)
#define FLUSH_WAIT_MS  10000

static volatile sig_atomic_t stop_requested;

/* SIGINT/SIGTERM end the run; SIGHUP reopens the log file. Handled by one thread with
 * sigwait, so log_reopen runs outside a signal handler. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			int rc = log_reopen();
			if (rc)
				fprintf(stderr, "fleetprof-agent: reopening the log: %s\n", strerror(-rc));
			else
				log_info("SIGHUP: log file reopened");
		} else {
			log_info("signal %d: stopping (the current snapshot is flushed)", sig);
			stop_requested = 1;
		}
	}
	return NULL;
}

static struct uploader *make_uploader(const struct options *o, const char *hostname)
{
	char spool[PATH_MAX];
	struct uploader *up;
	int rc = fs_mkdir_p(o->state_dir, 0700);

	if (rc) {
		log_error("state directory %s: %s", o->state_dir, strerror(-rc));
		return NULL;
	}
	snprintf(spool, sizeof(spool), "%s/spool", o->state_dir);
	struct uploader_cfg c = {
		.server_url = o->server_host, .token = o->token, .service = o->service_name,
		.hostname = hostname, .agent_version = FLEETPROF_VERSION, .spool_dir = spool,
		.spool_max_bytes = (uint64_t)o->spool_max_mb << 20,
		.http = { .ca_bundle = o->tls_ca_bundle, .no_verify = o->no_verify,
			  .client_cert = o->tls_client_cert, .client_key = o->tls_client_key },
	};
	up = uploader_new(&c);
	if (!up)
		log_error("uploads: %s", strerror(errno));
	else
		log_info("uploading to %s as service '%s' (spool %s, at most %u MB)", o->server_host,
			 o->service_name, spool, o->spool_max_mb);
	return up;
}

/* Send what is spooled before exiting; what cannot be sent stays for the next start. */
static void flush_uploads(struct uploader *up)
{
	struct uploader_stats st;
	if (!up)
		return;
	if (uploader_wait_idle(up, FLUSH_WAIT_MS) != 0) {
		uploader_get_stats(up, &st);
		log_warn("server not reachable: %zu profile(s) stay spooled and are sent at the next start",
			 st.pending);
	}
}

/* The address other hosts see us by: the source address of a route to the server (no packet is
 * sent: a UDP connect only picks the route). */
static void local_ip(const char *url, char *out, size_t n)
{
	char host[256] = "";
	const char *p = strstr(url, "://");
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) }, src;
	socklen_t len = sizeof(src);
	int fd;

	snprintf(out, n, "127.0.0.1");
	p = p ? p + 3 : url;
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(p, ":/"), p);
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr);   /* any routable address will do */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&src, &len) == 0)
		inet_ntop(AF_INET, &src.sin_addr, out, (socklen_t)n);
	close(fd);
}

static int run_local(const struct options *o, const char *hostname)
{
	pid_t pids[OPT_MAX_PIDS];
	struct output *out = NULL;
	struct uploader *up = NULL;
	char err[256];
	int rc = 1;

	struct profiler_cfg cfg = {
		.duration = o->duration, .frequency = o->frequency, .continuous = o->continuous,
		.perf_mode = o->perf_mode, .include_idle = o->include_idle,
		.progress = o->progress && !o->log_file, .run_arguments = o->run_arguments,
		.to_stdout = !o->output_dir && !o->upload,
		.min_age_s = o->min_profiling_duration, .max_processes = o->max_processes_runtime,
		.runtime_flags = &o->runtime,
	};
	if (o->npids) {
		cfg.npids = profiler_valid_pids(o->pids, o->npids, pids);
		if (!cfg.npids) {
			log_error("--pids: none of the given processes exists; nothing to profile");
			return 1;
		}
		cfg.pids = pids;
	}
	if (o->output_dir) {
		out = output_new(o->output_dir, o->flamegraph, o->rotating_output);
		if (!out) {
			log_error("output directory %s: %s", o->output_dir, strerror(errno));
			goto out;
		}
		cfg.out = out;
	}
	if (o->upload) {
		up = make_uploader(o, hostname);
		if (!up)
			goto out;
		cfg.up = up;
	}
	if (profiler_run(&cfg, &stop_requested, err, sizeof(err)) == 0)
		rc = 0;
	flush_uploads(up);
out:
	uploader_free(up);
	output_free(out);
	return rc;
}

static int run_fleet(const struct options *o, const char *hostname)
{
	struct output *out = NULL;
	struct uploader *up = NULL;
	struct fleet *f = NULL;
	struct session_ctx sctx;
	char ip[64];
	int rc = 1;

	if (o->npids || o->continuous)
		log_warn("heartbeat mode: --pids and --continuous come from the server's commands; ignored");
	if (o->output_dir) {
		out = output_new(o->output_dir, o->flamegraph, o->rotating_output);
		if (!out) {
			log_error("output directory %s: %s", o->output_dir, strerror(errno));
			goto out;
		}
	}
	up = make_uploader(o, hostname);
	if (!up)
		goto out;
	sctx = (struct session_ctx){ .opt = o, .up = up, .out = out };
	local_ip(o->api_server, ip, sizeof(ip));
	struct fleet_cfg fc = {
		.api_server = o->api_server, .token = o->token,
		.id = { .hostname = hostname, .ip_address = ip, .service_name = o->service_name,
			.agent_version = FLEETPROF_VERSION },
		.state_dir = o->state_dir,
		.heartbeat_interval_ms = (int64_t)o->heartbeat_interval * 1000,
		.default_duration = o->duration, .default_frequency = o->frequency,
		.http = { .ca_bundle = o->tls_ca_bundle, .no_verify = o->no_verify,
			  .client_cert = o->tls_client_cert, .client_key = o->tls_client_key,
			  .timeout_ms = 30000 },
		.ops = session_ops(&sctx),
	};
	f = fleet_new(&fc);
	if (!f)
		goto out;
	fleet_run(f, &stop_requested);
	rc = 0;
out:
	fleet_free(f);       /* ends a running session: its last snapshot is flushed */
	flush_uploads(up);
	uploader_free(up);
	output_free(out);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	sigset_t set;
	pthread_t sig_th;
	char hostname[256] = "localhost";
	int rc;

	/* Fixed thresholds: large buffers (a snapshot's tables, the kernel symbol table) go straight
	 * back to the system when freed, and glibc's dynamic adjustment cannot leave an idle agent
	 * holding megabytes a past session freed. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
	switch (options_parse(&o, argc, argv, stdout, stderr)) {
	case OPT_EXIT_OK: options_release(&o); return 0;
	case OPT_EXIT_USAGE: options_release(&o); return 2;
	case OPT_RUN: break;
	}
	log_init("agent", o.verbose ? LOG_DEBUG : LOG_INFO);
	if (o.log_file && (rc = log_open_file(o.log_file, LOG_FILE_MAX)) != 0) {
		fprintf(stderr, "fleetprof-agent: cannot open log file %s: %s\n", o.log_file,
			strerror(-rc));
		options_release(&o);
		return 1;
	}
	if (o.config_path)
		log_info("settings read from %s", o.config_path);
	gethostname(hostname, sizeof(hostname) - 1);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);   /* every thread started later inherits this */
	if (pthread_create(&sig_th, NULL, signal_thread, &set) != 0) {
		fprintf(stderr, "fleetprof-agent: cannot start the signal thread\n");
		options_release(&o);
		return 1;
	}
	pthread_detach(sig_th);
	if (o.upload && httpc_global_init() != 0) {
		log_error("libcurl initialisation failed");
		options_release(&o);
		return 1;
	}
	rc = o.heartbeat ? run_fleet(&o, hostname) : run_local(&o, hostname);
	if (o.upload)
		httpc_global_cleanup();
	options_release(&o);
	log_close();
	return rc;
}
