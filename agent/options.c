/* options.c — see options.h. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

static const char usage_text[] =
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
"Output:\n"
"  -o, --output-dir DIR              write profile_<UTC time>.col (symlink last_profile.col)\n"
"                                    and profile_<UTC time>.html (symlink\n"
"                                    last_flamegraph.html) into DIR, created if missing\n"
"      --no-flamegraph               do not write the HTML flame graph\n"
"      --rotating-output             keep only the newest profile (and flame graph) in DIR\n"
"      --no-progress                 no progress line, even on a terminal\n"
"\n"
"Logging:\n"
"  -v, --verbose                     debug logging\n"
"      --log-file PATH               log to PATH (rotated at 10 MB) instead of stderr\n"
"\n"
"  -h, --help                        this text\n"
"  -V, --version                     print the version\n"
"\n"
"Exit status: 0 on success (also after SIGINT/SIGTERM), 1 on a runtime error, 2 on bad usage.\n";

enum { O_NO_FG = 256, O_ROT, O_PIDS, O_PERF_MODE, O_LOG_FILE, O_IDLE, O_NO_PROGRESS };

static const struct option longopts[] = {
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
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char *const mode_names[] = { "auto", "bpf", "perf", "disabled" };

const char *options_perf_mode_name(enum perf_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_pids(struct options *o, const char *s)
{
	const char *p = s;
	while (*p) {
		size_t len = strcspn(p, ",");
		char tok[16];
		unsigned v;
		if (len == 0 || len >= sizeof(tok))
			return -EINVAL;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (parse_uint(tok, 1, INT_MAX, &v))
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
		int n = snprintf(o->run_arguments + used, sizeof(o->run_arguments) - used, "%s%s",
				 i > 1 ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(o->run_arguments) - used)
			break;
		used += (size_t)n;
	}
}

enum opt_result options_parse(struct options *o, int argc, char **argv, FILE *out, FILE *err)
{
	int c;
	memset(o, 0, sizeof(*o));
	o->duration = 60;
	o->frequency = 11;
	o->flamegraph = true;
	o->progress = true;
	join_args(o, argc, argv);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:f:co:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_uint(optarg, 1, OPT_MAX_DURATION, &o->duration)) {
				fprintf(err, "fleetprof-agent: --profiling-duration must be 1..%d seconds, got '%s'\n",
					OPT_MAX_DURATION, optarg);
				return OPT_EXIT_USAGE;
			}
			break;
		case 'f':
			if (parse_uint(optarg, 1, OPT_MAX_FREQUENCY, &o->frequency)) {
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
			size_t i, n = sizeof(mode_names) / sizeof(mode_names[0]);
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
		case 'h': fputs(usage_text, out); return OPT_EXIT_OK;
		case 'V': fprintf(out, "fleetprof-agent %s\n", FLEETPROF_VERSION); return OPT_EXIT_OK;
		case ':':
			fprintf(err, "fleetprof-agent: option '%s' needs a value\n", argv[optind - 1]);
			return OPT_EXIT_USAGE;
		default:
			fprintf(err, "fleetprof-agent: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return OPT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(err, "fleetprof-agent: unexpected argument '%s' (see --help)\n", argv[optind]);
		return OPT_EXIT_USAGE;
	}
	return OPT_RUN;
}
