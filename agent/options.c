/* options.c — see options.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

static const char usage_head[] =
"Usage: fleetprof-agent [OPTIONS]\n"
"\n"
"Samples the stacks of every process on this host (kernel and native code) and writes\n"
"collapsed-stack profiles with a JSON header, and interactive flame graphs. Run as root.\n"
"\n"
"Profiling:\n"
"  -d, --profiling-duration SECONDS  length of one profile (default 60; 1..86400)\n"
"  -f, --profiling-frequency HZ      samples per second per CPU (default 11; 1..1000)\n"
"  -c, --continuous                  profile again and again, one snapshot every duration,\n"
"                                    until SIGINT/SIGTERM; the last snapshot is flushed then.\n"
"                                    Without it: one profile, then exit.\n"
"      --pids PID[,PID...]           sample only these processes (filtered in the kernel).\n"
"                                    PIDs that do not exist are reported and skipped; if none\n"
"                                    exists the agent exits with status 1.\n"
"      --perf-mode MODE              how native stacks are sampled:\n"
"                                      auto     BPF, or perf_event_open if BPF cannot load\n"
"                                               (default)\n"
"                                      bpf      BPF only; fail when it cannot load\n"
"                                      perf     perf_event_open ring buffers read in-process,\n"
"                                               no BPF (the fallback, forced)\n"
"                                      disabled no native sampling at all\n"
"      --include-idle                count samples of the idle task (swapper) too\n"
"\n"
"Runtimes (named frames of interpreted and JIT code; each runtime's own flags follow):\n"
"      --min-profiling-duration SEC  when finding processes host-wide, skip those younger\n"
"                                    than SEC seconds (default 10): native sampling sees them\n"
"                                    until then. A process named with --pids is profiled at\n"
"                                    once\n"
"      --max-processes-runtime-profiler N  profile only the N processes of each runtime using\n"
"                                    the most CPU (default 0: all)\n";

static const char usage_tail[] =
"\n"
"Output:\n"
"  -o, --output-dir DIR              write profile_<UTC time>.col (symlink last_profile.col)\n"
"                                    and profile_<UTC time>.html (symlink\n"
"                                    last_flamegraph.html) into DIR, created if missing\n"
"      --no-flamegraph               do not write the HTML flame graph\n"
"      --rotating-output             keep only the newest profile (and flame graph) in DIR\n"
"      --no-progress                 no progress line, even on a terminal\n"
"\n"
"Fleet (uploads and on-demand profiling from the server):\n"
"  -u, --upload-results              send every profile to the server (gzip JSON to\n"
"                                    /api/v2/profiles). Profiles are spooled on disk first and\n"
"                                    resent with backoff while the server is unreachable.\n"
"      --server-host URL             the server, e.g. http://fleetprof:8080 (required with -u)\n"
"      --token TOKEN                 the server's agent token (required with -u); not shown in\n"
"                                    logs or profile headers\n"
"      --service-name NAME           the service this host belongs to (required with -u)\n"
"      --enable-heartbeat-server     heartbeat mode: do nothing until the server asks. Poll\n"
"                                    /api/metrics/heartbeat, run the start/stop commands it\n"
"                                    returns (duration, frequency, pids, continuous), upload the\n"
"                                    profiles and report completion. Implies -u; -d and -f are\n"
"                                    the defaults for commands that do not set them.\n"
"      --api-server URL              server for heartbeats (default: --server-host)\n"
"      --heartbeat-interval SECONDS  seconds between heartbeats (default 30; 1..3600)\n"
"      --state-dir DIR               where the upload spool and the executed command ids are\n"
"                                    kept (default /var/lib/fleetprof; created if missing)\n"
"      --spool-max-mb MB             bound of the upload spool; the oldest profiles are\n"
"                                    dropped first, with a log line (default 256)\n"
"      --tls-ca-bundle FILE          PEM CA bundle to verify the server with\n"
"      --tls-client-cert FILE        PEM client certificate (mTLS), with --tls-client-key\n"
"      --tls-client-key FILE         PEM key of --tls-client-cert\n"
"      --no-verify                   do not verify the server's TLS certificate (testing only)\n"
"      --config FILE                 settings file (default /etc/fleetprof/agent.conf when it\n"
"                                    exists): one 'name = value' (or 'name' for a switch) per\n"
"                                    line, names as the long flags, # comments. Every flag can\n"
"                                    also be set as FLEETPROF_<NAME> in the environment\n"
"                                    (FLEETPROF_SERVER_HOST). Precedence: flag, environment, file.\n"
"\n"
"Logging:\n"
"  -v, --verbose                     debug logging\n"
"      --log-file PATH               log to PATH (rotated at 10 MB, SIGHUP reopens it) instead\n"
"                                    of stderr\n"
"\n"
"  -h, --help                        this text\n"
"  -V, --version                     print the version\n"
"\n"
"Exit status: 0 on success (also after SIGINT/SIGTERM), 1 on a runtime error, 2 on bad usage.\n";

enum { O_NO_FG = 256, O_ROT, O_PIDS, O_PERF_MODE, O_LOG_FILE, O_IDLE, O_NO_PROGRESS,
       O_SERVER, O_API, O_TOKEN, O_SERVICE, O_STATE, O_SPOOL, O_CA, O_CERT, O_KEY, O_NOVERIFY,
       O_HB, O_HB_INT, O_CONFIG, O_MIN_DUR, O_RT_MAXP,
       O_RUNTIME = 0x10000 };   /* + (member << 8) + index in its flags: a runtime member's flag */

static const struct option base_longopts[] = {
	{ "profiling-duration", required_argument, NULL, 'd' },
	{ "profiling-frequency", required_argument, NULL, 'f' },
	{ "continuous", no_argument, NULL, 'c' },
	{ "output-dir", required_argument, NULL, 'o' },
	{ "no-flamegraph", no_argument, NULL, O_NO_FG },
	{ "rotating-output", no_argument, NULL, O_ROT },
	{ "pids", required_argument, NULL, O_PIDS },
	{ "perf-mode", required_argument, NULL, O_PERF_MODE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "log-file", required_argument, NULL, O_LOG_FILE },
	{ "include-idle", no_argument, NULL, O_IDLE },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "upload-results", no_argument, NULL, 'u' },
	{ "server-host", required_argument, NULL, O_SERVER },
	{ "api-server", required_argument, NULL, O_API },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "service-name", required_argument, NULL, O_SERVICE },
	{ "state-dir", required_argument, NULL, O_STATE },
	{ "spool-max-mb", required_argument, NULL, O_SPOOL },
	{ "tls-ca-bundle", required_argument, NULL, O_CA },
	{ "tls-client-cert", required_argument, NULL, O_CERT },
	{ "tls-client-key", required_argument, NULL, O_KEY },
	{ "no-verify", no_argument, NULL, O_NOVERIFY },
	{ "enable-heartbeat-server", no_argument, NULL, O_HB },
	{ "heartbeat-interval", required_argument, NULL, O_HB_INT },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "min-profiling-duration", required_argument, NULL, O_MIN_DUR },
	{ "max-processes-runtime-profiler", required_argument, NULL, O_RT_MAXP },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

/* The agent's flags, then every runtime member's, then the terminator. */
#define MAX_LONGOPTS (ARRAY_SIZE(base_longopts) + RUNTIME_MAX * 2 * RUNTIME_FLAGS_MAX + 1)

static void build_longopts(struct option *out)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(base_longopts); i++)
		out[n++] = base_longopts[i];
	for (size_t m = 0; m < RUNTIME_MAX && runtime_members[m]; m++) {
		const struct runtime_flag *f = runtime_members[m]->flags;
		for (size_t i = 0; f && f[i].name && i < 2 * RUNTIME_FLAGS_MAX; i++)
			out[n++] = (struct option){ f[i].name,
						    f[i].has_value ? required_argument : no_argument,
						    NULL, O_RUNTIME + (int)(m << 8) + (int)i };
	}
	out[n] = (struct option){ NULL, 0, NULL, 0 };
}

static void print_usage(FILE *out)
{
	fputs(usage_head, out);
	for (size_t m = 0; m < RUNTIME_MAX && runtime_members[m]; m++)
		if (runtime_members[m]->help && *runtime_members[m]->help) {
			fputc('\n', out);
			fputs(runtime_members[m]->help, out);
		}
	fputs(usage_tail, out);
}

/* A runtime member's flag (getopt value c >= O_RUNTIME): checked by the member, kept as given. */
static int runtime_flag(struct options *o, int c, const char *value, FILE *err)
{
	size_t m = (size_t)(c - O_RUNTIME) >> 8, i = (size_t)(c - O_RUNTIME) & 0xff;
	const struct runtime_ops *ops = runtime_members[m];
	const struct runtime_flag *f = &ops->flags[i];
	char why[256];

	if (f->slot >= RUNTIME_FLAGS_MAX)
		return -EINVAL;
	if (!f->has_value) {
		o->runtime.v[m][f->slot] = "1";
		return 0;
	}
	if (ops->check_flag && ops->check_flag(f->slot, value, why, sizeof(why))) {
		fprintf(err, "fleetprof-agent: %s\n", why);
		return -EINVAL;
	}
	o->runtime.v[m][f->slot] = value;
	return 0;
}

static const char *const mode_names[] = { "auto", "bpf", "perf", "disabled" };

const char *options_perf_mode_name(enum perf_mode m)
{
	return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

static int parse_pids(struct options *o, const char *s)
{
	const char *p = s;
	o->npids = 0;   /* a later setting replaces an earlier one */
	while (*p) {
		size_t len = strcspn(p, ",");
		char tok[16];
		unsigned v;
		if (len == 0 || len >= sizeof(tok))
			return -EINVAL;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (util_parse_uint(tok, 1, INT_MAX, &v))
			return -EINVAL;
		if (o->npids >= OPT_MAX_PIDS)
			return -E2BIG;
		o->pids[o->npids++] = (pid_t)v;
		p += len;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;
	}
	return o->npids ? 0 : -EINVAL;
}

static void join_args(struct options *o, int argc, char **argv)
{
	size_t used = 0;
	o->run_arguments[0] = '\0';
	for (int i = 1; i < argc; i++) {
		/* the token goes to the server in every profile header: never write it there */
		int secret = i > 1 && strcmp(argv[i - 1], "--token") == 0;
		int inline_secret = strncmp(argv[i], "--token=", 8) == 0;
		int n = snprintf(o->run_arguments + used, sizeof(o->run_arguments) - used, "%s%s",
				 i > 1 ? " " : "",
				 secret ? "***" : inline_secret ? "--token=***" : argv[i]);
		if (n < 0 || (size_t)n >= sizeof(o->run_arguments) - used)
			break;
		used += (size_t)n;
	}
}

#define MAX_SYNTH_ARGS 512
#define CONFIG_DEFAULT "/etc/fleetprof/agent.conf"

static char *own(struct options *o, char *s)
{
	if (!s)
		return NULL;
	if (ARRAY_GROW(o->owned, o->cap_owned, o->n_owned + 1, MAX_SYNTH_ARGS + 1)) {
		free(s);
		return NULL;
	}
	o->owned[o->n_owned++] = s;
	return s;
}

void options_release(struct options *o)
{
	for (size_t i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	free(o->owned);
	o->owned = NULL;
	o->n_owned = o->cap_owned = 0;
}

static const struct option *find_long(const struct option *longopts, const char *name, size_t len)
{
	for (const struct option *lo = longopts; lo->name; lo++)
		if (strlen(lo->name) == len && strncmp(lo->name, name, len) == 0)
			return lo;
	return NULL;
}

/* Settings that make no sense outside the command line. */
static int cli_only(const char *name)
{
	return !strcmp(name, "help") || !strcmp(name, "version") || !strcmp(name, "config");
}

static int add_arg(struct options *o, char **v, int *n, const char *name, const char *value)
{
	char *a;
	if (*n >= MAX_SYNTH_ARGS - 1)
		return -E2BIG;
	if (value) {
		if (asprintf(&a, "--%s=%s", name, value) < 0)
			return -ENOMEM;
	} else if (asprintf(&a, "--%s", name) < 0) {
		return -ENOMEM;
	}
	if (!own(o, a))
		return -ENOMEM;
	v[(*n)++] = a;
	return 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int is_true(const char *v)
{
	return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	       !strcasecmp(v, "on");
}

static int is_false(const char *v)
{
	return !*v || !strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	       !strcasecmp(v, "off");
}

/* One setting from the config file or the environment, as a synthetic argument. */
static int add_setting(struct options *o, const struct option *longopts, char **v, int *n,
		       const char *name, const char *value, const char *where, FILE *err)
{
	const struct option *lo = find_long(longopts, name, strlen(name));
	if (!lo || cli_only(name)) {
		fprintf(err, "fleetprof-agent: %s: unknown setting '%s'\n", where, name);
		return -EINVAL;
	}
	if (lo->has_arg == no_argument) {
		if (value && is_false(value))
			return 0;
		if (value && !is_true(value)) {
			fprintf(err, "fleetprof-agent: %s: '%s' is a switch: true or false, got '%s'\n",
				where, name, value);
			return -EINVAL;
		}
		return add_arg(o, v, n, name, NULL);
	}
	if (!value || !*value) {
		fprintf(err, "fleetprof-agent: %s: '%s' needs a value\n", where, name);
		return -EINVAL;
	}
	return add_arg(o, v, n, name, value);
}

static int read_config(struct options *o, const struct option *longopts, const char *path,
		       int must_exist, char **v, int *n, FILE *err)
{
	char line[4096], where[PATH_MAX + 32];
	unsigned no = 0;
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		fprintf(err, "fleetprof-agent: cannot read config file %s: %s\n", path, strerror(errno));
		return -errno;
	}
	o->config_path = own(o, strdup(path));
	while (!rc && fgets(line, sizeof(line), f)) {
		char *l = trim(line), *eq, *name, *value = NULL;
		no++;
		if (!*l || *l == '#')
			continue;
		eq = strchr(l, '=');
		if (eq) {
			*eq = '\0';
			value = trim(eq + 1);
		}
		name = trim(l);
		while (*name == '-')
			name++;
		snprintf(where, sizeof(where), "%s:%u", path, no);
		rc = add_setting(o, longopts, v, n, name, value, where, err);
	}
	fclose(f);
	return rc;
}

static int read_env(struct options *o, const struct option *longopts, char **v, int *n, FILE *err)
{
	for (const struct option *lo = longopts; lo->name; lo++) {
		char var[96], where[128];
		const char *val;
		size_t i;
		if (cli_only(lo->name))
			continue;
		snprintf(var, sizeof(var), "FLEETPROF_%s", lo->name);
		for (i = 10; var[i]; i++)
			var[i] = var[i] == '-' ? '_' : (char)toupper((unsigned char)var[i]);
		val = getenv(var);
		if (!val)
			continue;
		snprintf(where, sizeof(where), "environment %s", var);
		if (add_setting(o, longopts, v, n, lo->name, val, where, err))
			return -EINVAL;
	}
	return 0;
}

/* --config from the command line, else the environment, else the default when it exists. */
static const char *config_path(int argc, char **argv, int *must_exist)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			*must_exist = 1;
			return argv[i + 1];
		}
		if (!strncmp(argv[i], "--config=", 9)) {
			*must_exist = 1;
			return argv[i] + 9;
		}
	}
	if (getenv("FLEETPROF_CONFIG") && *getenv("FLEETPROF_CONFIG")) {
		*must_exist = 1;
		return getenv("FLEETPROF_CONFIG");
	}
	*must_exist = 0;
	return CONFIG_DEFAULT;
}

static int parse_url(const char *flag, const char *v, FILE *err)
{
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		fprintf(err, "fleetprof-agent: %s must be an http:// or https:// URL, got '%s'\n", flag, v);
		return -EINVAL;
	}
	return 0;
}

static enum opt_result check_fleet(struct options *o, FILE *err)
{
	if (o->heartbeat)
		o->upload = true;
	if (!o->api_server)
		o->api_server = o->server_host;
	if (!o->upload)
		return OPT_RUN;
	if (!o->server_host && !(o->heartbeat && o->api_server)) {
		fprintf(err, "fleetprof-agent: %s needs --server-host URL\n",
			o->heartbeat ? "--enable-heartbeat-server" : "--upload-results");
		return OPT_EXIT_USAGE;
	}
	if (!o->server_host)
		o->server_host = o->api_server;
	if (!o->token || !*o->token) {
		fprintf(err, "fleetprof-agent: uploads need --token (the server's agent token)\n");
		return OPT_EXIT_USAGE;
	}
	if (!o->service_name || !*o->service_name) {
		fprintf(err, "fleetprof-agent: uploads need --service-name NAME\n");
		return OPT_EXIT_USAGE;
	}
	if (parse_url("--server-host", o->server_host, err) ||
	    parse_url("--api-server", o->api_server, err))
		return OPT_EXIT_USAGE;
	if (!o->tls_client_cert != !o->tls_client_key) {
		fprintf(err, "fleetprof-agent: --tls-client-cert and --tls-client-key go together\n");
		return OPT_EXIT_USAGE;
	}
	return OPT_RUN;
}

enum opt_result options_parse(struct options *o, int argc, char **argv, FILE *out, FILE *err)
{
	struct option longopts[MAX_LONGOPTS];
	char *v[MAX_SYNTH_ARGS];
	int n = 0, c, must_exist;
	const char *cfg;

	memset(o, 0, sizeof(*o));
	o->duration = 60;
	o->frequency = 11;
	o->flamegraph = true;
	o->progress = true;
	o->state_dir = "/var/lib/fleetprof";
	o->spool_max_mb = 256;
	o->heartbeat_interval = 30;
	o->min_profiling_duration = 10;
	build_longopts(longopts);
	join_args(o, argc, argv);

	/* lowest precedence first: config file, environment, command line (later wins) */
	v[n++] = argv[0];
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_usage(out);
			return OPT_EXIT_OK;
		}
	cfg = config_path(argc, argv, &must_exist);
	if (read_config(o, longopts, cfg, must_exist, v, &n, err) ||
	    read_env(o, longopts, v, &n, err))
		return OPT_EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		if (n >= MAX_SYNTH_ARGS - 1) {
			fprintf(err, "fleetprof-agent: too many arguments\n");
			return OPT_EXIT_USAGE;
		}
		v[n++] = argv[i];
	}
	v[n] = NULL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(n, v, ":d:f:co:uvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (util_parse_uint(optarg, 1, OPT_MAX_DURATION, &o->duration)) {
				fprintf(err, "fleetprof-agent: --profiling-duration must be 1..%d seconds, got '%s'\n",
					OPT_MAX_DURATION, optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		case 'f':
			if (util_parse_uint(optarg, 1, OPT_MAX_FREQUENCY, &o->frequency)) {
				fprintf(err, "fleetprof-agent: --profiling-frequency must be 1..%d Hz, got '%s'\n",
					OPT_MAX_FREQUENCY, optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		case 'c': o->continuous = true; break;
		case 'o': o->output_dir = optarg; break;
		case O_NO_FG: o->flamegraph = false; break;
		case O_ROT: o->rotating_output = true; break;
		case O_PIDS:
			if (parse_pids(o, optarg)) {
				fprintf(err, "fleetprof-agent: --pids wants PID[,PID...] (at most %d), got '%s'\n",
					OPT_MAX_PIDS, optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		case O_PERF_MODE: {
			size_t i, n = ARRAY_SIZE(mode_names);
			for (i = 0; i < n && strcmp(optarg, mode_names[i]) != 0; i++)
				;
			if (i == n) {
				fprintf(err, "fleetprof-agent: --perf-mode must be auto, bpf, perf or disabled, got '%s'\n",
					optarg);
				return OPT_EXIT_USAGE;
			}
			o->perf_mode = (enum perf_mode)i;
			break;
		}
		case 'v': o->verbose = true; break;
		case O_LOG_FILE: o->log_file = optarg; break;
		case O_IDLE: o->include_idle = true; break;
		case O_NO_PROGRESS: o->progress = false; break;
		case 'h': print_usage(out); return OPT_EXIT_OK;
		case 'V': fprintf(out, "fleetprof-agent %s\n", FLEETPROF_VERSION); return OPT_EXIT_OK;
		case 'u': o->upload = true; break;
		case O_SERVER: o->server_host = optarg; break;
		case O_API: o->api_server = optarg; break;
		case O_TOKEN: o->token = optarg; break;
		case O_SERVICE: o->service_name = optarg; break;
		case O_STATE: o->state_dir = optarg; break;
		case O_SPOOL:
			if (util_parse_uint(optarg, 1, 1024 * 1024, &o->spool_max_mb)) {
				fprintf(err, "fleetprof-agent: --spool-max-mb must be 1..1048576, got '%s'\n", optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		case O_CA: o->tls_ca_bundle = optarg; break;
		case O_CERT: o->tls_client_cert = optarg; break;
		case O_KEY: o->tls_client_key = optarg; break;
		case O_NOVERIFY: o->no_verify = true; break;
		case O_HB: o->heartbeat = true; break;
		case O_HB_INT:
			if (util_parse_uint(optarg, 1, 3600, &o->heartbeat_interval)) {
				fprintf(err, "fleetprof-agent: --heartbeat-interval must be 1..3600 seconds, got '%s'\n",
					optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		case O_CONFIG: break;   /* read before the other settings */
		case O_MIN_DUR:
		case O_RT_MAXP: {
			unsigned *dst = c == O_MIN_DUR ? &o->min_profiling_duration :
					&o->max_processes_runtime;
			if (util_parse_uint(optarg, 0, 1000000, dst)) {
				fprintf(err, "fleetprof-agent: --%s must be a number 0..1000000, got '%s'\n",
					c == O_MIN_DUR ? "min-profiling-duration" :
					"max-processes-runtime-profiler", optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		}
		case ':':
			fprintf(err, "fleetprof-agent: option '%s' needs a value\n", v[optind - 1]);
			return OPT_EXIT_USAGE;
		default:
			if (c >= O_RUNTIME) {
				if (runtime_flag(o, c, optarg, err))
					return OPT_EXIT_USAGE;
				break;
			}
			fprintf(err, "fleetprof-agent: unknown option '%s' (see --help)\n", v[optind - 1]);
			return OPT_EXIT_USAGE;
		}
	}
	if (optind < n) {
		fprintf(err, "fleetprof-agent: unexpected argument '%s' (see --help)\n", v[optind]);
		return OPT_EXIT_USAGE;
	}
	return check_fleet(o, err);
}
