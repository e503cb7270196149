/* options.h — the agent's command line. Flag names follow gProfiler's where the meaning is the
 * same (-d/--profiling-duration, -f/--profiling-frequency, -c/--continuous, -o/--output-dir,
 * --no-flamegraph, --rotating-output, --pids, --perf-mode, -v/--verbose, --log-file). */
#ifndef FP_OPTIONS_H
#define FP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "runtime/runtime.h"

#define OPT_MAX_PIDS      1024
#define OPT_MAX_FREQUENCY 1000
#define OPT_MAX_DURATION  86400
#define FLEETPROF_VERSION "0.1.0"

enum perf_mode {
	PERF_MODE_AUTO = 0,   /* BPF, falling back to perf_event_open when BPF cannot load */
	PERF_MODE_BPF,        /* BPF only: fail if it cannot load */
	PERF_MODE_PERF,       /* perf_event_open ring buffers, no BPF */
	PERF_MODE_DISABLED,   /* no native sampling */
};

struct options {
	unsigned duration;        /* seconds per profile */
	unsigned frequency;       /* Hz */
	bool continuous;
	const char *output_dir;   /* borrowed from argv; NULL = no local output */
	bool flamegraph;
	bool rotating_output;
	pid_t pids[OPT_MAX_PIDS];
	size_t npids;
	enum perf_mode perf_mode;
	bool verbose;
	const char *log_file;     /* borrowed from argv */
	bool include_idle;
	bool progress;            /* may be switched off with --no-progress */
	char run_arguments[1024]; /* argv joined with spaces (token masked), for the header */

	/* fleet: uploads and heartbeat mode (issue 4) */
	bool upload;              /* -u/--upload-results */
	const char *server_host;  /* --server-host URL */
	const char *api_server;   /* --api-server URL, heartbeats; defaults to server_host */
	const char *token;        /* --token */
	const char *service_name; /* --service-name */
	const char *state_dir;    /* --state-dir (default /var/lib/fleetprof) */
	unsigned spool_max_mb;    /* --spool-max-mb (default 256) */
	const char *tls_ca_bundle, *tls_client_cert, *tls_client_key;
	bool no_verify;
	bool heartbeat;           /* --enable-heartbeat-server */
	unsigned heartbeat_interval; /* seconds (default 30) */
	const char *config_path;  /* the config file read, NULL if none */

	/* runtimes (runtime/runtime.h) */
	unsigned min_profiling_duration; /* --min-profiling-duration seconds (default 10) */
	unsigned max_processes_runtime;  /* --max-processes-runtime-profiler (0 = all) */
	struct runtime_flags runtime;    /* each member's own flags, as given: the member reads them */

	char **owned;             /* strings from the config file and environment */
	size_t n_owned, cap_owned;
};

enum opt_result { OPT_RUN = 0, OPT_EXIT_OK, OPT_EXIT_USAGE };

/* Parse argv into o (defaults first). The runtime members' flags (runtime.h) are accepted like
 * the agent's own, checked by their member, and kept uninterpreted in o->runtime.
 * Settings come from, lowest precedence first: the config file (--config PATH, else
 * $FLEETPROF_CONFIG, else /etc/fleetprof/agent.conf when it exists; lines "name = value" or
 * "name" for switches, names as the long flags), FLEETPROF_<NAME> environment variables
 * (FLEETPROF_SERVER_HOST for --server-host), then the command line.
 * Help and version go to out; errors to err. OPT_RUN: go on; OPT_EXIT_OK: --help/--version
 * printed, exit 0; OPT_EXIT_USAGE: exit 2. Call options_release() afterwards in every case. */
enum opt_result options_parse(struct options *o, int argc, char **argv, FILE *out, FILE *err);
void options_release(struct options *o);

const char *options_perf_mode_name(enum perf_mode m);

#endif
