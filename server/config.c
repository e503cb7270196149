/* config.c — flags and FLEETPROF_* environment variables. See config.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "config.h"

enum opt_type { OPT_STR, OPT_INT, OPT_BIND, OPT_LEVEL };

struct opt {
	const char *name;       /* flag without "--"; the variable is FLEETPROF_ + upper(name) */
	enum opt_type type;
	size_t off;
	size_t size;            /* for strings: the field's size */
	long min, max;          /* for ints */
	const char *def;        /* shown in --help */
	const char *help;
};

#define STR(f) OPT_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0
#define INT(f, lo, hi) OPT_INT, offsetof(struct config, f), sizeof(int), lo, hi

static const struct opt opts[] = {
	{ "port", INT(port, 0, 65535), "8080", "TCP port; 0 picks a free one (printed on stderr)" },
	{ "bind", OPT_BIND, offsetof(struct config, bind), sizeof(((struct config *)0)->bind), 0, 0,
	  "0.0.0.0", "address to listen on (numeric IPv4 or IPv6)" },
	{ "db", STR(db), "data/fleetprof.db", "SQLite database file (its directory is created)" },
	{ "web", STR(web), "web/", "directory served at /" },
	{ "schema", STR(schema), "schema/", "directory of SQL migrations" },
	{ "agent-token", STR(agent_token), "(token file)",
	  "token agents present (Bearer or GPROFILER-API-KEY)" },
	{ "admin-token", STR(admin_token), "(token file)", "token for control and query endpoints" },
	{ "retention-days", INT(retention_days, 1, 36500), "30", "delete samples older than this" },
	{ "max-upload-mb", INT(max_upload_mb, 1, 1024), "64",
	  "largest compressed profile upload (decompressed: 8x, at most 1 GiB)" },
	{ "heartbeat-interval", INT(heartbeat_interval, 1, 86400), "30",
	  "agents' heartbeat period in seconds; offline after 3 missed" },
	{ "threads", INT(threads, 1, 1024), "2 x CPUs", "HTTP worker threads" },
	{ "tls-cert", STR(tls_cert), "(none)", "PEM certificate: serve HTTPS (needs --tls-key)" },
	{ "tls-key", STR(tls_key), "(none)", "PEM private key for --tls-cert" },
	{ "log-level", OPT_LEVEL, offsetof(struct config, log_level), sizeof(enum log_level), 0, 0,
	  "info", "debug, info, warn or error" },
};
#define N_OPTS ARRAY_SIZE(opts)

static void env_name(const struct opt *o, char *out, size_t n)
{
	size_t i, j = (size_t)snprintf(out, n, "FLEETPROF_");

	for (i = 0; o->name[i] && j + 1 < n; i++, j++)
		out[j] = o->name[i] == '-' ? '_' : (char)toupper((unsigned char)o->name[i]);
	out[j] = 0;
}

static int set_opt(struct config *c, const struct opt *o, const char *v, const char *what,
		   char *err, size_t errlen)
{
	char *field = (char *)c + o->off;

	switch (o->type) {
	case OPT_STR:
		if (strlen(v) >= o->size) {
			snprintf(err, errlen, "%s: value too long (at most %zu bytes)", what,
				 o->size - 1);
			return -EINVAL;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case OPT_BIND: {
		unsigned char tmp[sizeof(struct in6_addr)];

		if (strlen(v) >= o->size || (inet_pton(AF_INET, v, tmp) != 1 &&
					     inet_pton(AF_INET6, v, tmp) != 1)) {
			snprintf(err, errlen, "%s: '%s' is not a numeric IPv4 or IPv6 address", what,
				 v);
			return -EINVAL;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	}
	case OPT_INT: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < o->min || n > o->max) {
			snprintf(err, errlen, "%s: '%s' is not an integer in [%ld, %ld]", what, v,
				 o->min, o->max);
			return -EINVAL;
		}
		*(int *)(void *)field = (int)n;
		return 0;
	}
	case OPT_LEVEL:
		if (log_parse_level(v, (enum log_level *)(void *)field) != 0) {
			snprintf(err, errlen, "%s: '%s' is not one of debug, info, warn, error",
				 what, v);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

static void defaults(struct config *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	snprintf(c->bind, sizeof(c->bind), "0.0.0.0");
	c->port = 8080;
	snprintf(c->db, sizeof(c->db), "data/fleetprof.db");
	snprintf(c->web, sizeof(c->web), "web/");
	snprintf(c->schema, sizeof(c->schema), "schema/");
	c->retention_days = 30;
	c->max_upload_mb = 64;
	c->heartbeat_interval = 30;
	c->threads = (int)(cpus > 0 && cpus < 512 ? 2 * cpus : 2);
	c->log_level = LOG_INFO;
}

int config_parse(struct config *c, int argc, char *const argv[], char *const env[], char *err,
		 size_t errlen)
{
	char name[64];
	size_t i;
	int rc, a;

	defaults(c);
	err[0] = 0;
	for (i = 0; i < N_OPTS; i++) {
		size_t nl;

		env_name(&opts[i], name, sizeof(name));
		nl = strlen(name);
		for (char *const *e = env; e && *e; e++) {
			if (strncmp(*e, name, nl) != 0 || (*e)[nl] != '=')
				continue;
			rc = set_opt(c, &opts[i], *e + nl + 1, name, err, errlen);
			if (rc)
				return rc;
		}
	}
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *val = NULL, *eq;
		size_t alen;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return CONFIG_HELP;
		if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
			return CONFIG_VERSION;
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' (see --help)", arg);
			return -EINVAL;
		}
		arg += 2;
		eq = strchr(arg, '=');
		alen = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < N_OPTS; i++)
			if (strlen(opts[i].name) == alen && strncmp(opts[i].name, arg, alen) == 0)
				break;
		if (i == N_OPTS) {
			snprintf(err, errlen, "unknown flag '--%.*s' (see --help)", (int)alen, arg);
			return -EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else if (a + 1 < argc) {
			val = argv[++a];
		} else {
			snprintf(err, errlen, "--%s needs a value", opts[i].name);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "--%s", opts[i].name);
		rc = set_opt(c, &opts[i], val, name, err, errlen);
		if (rc)
			return rc;
	}
	if (!c->db[0] || !c->web[0] || !c->schema[0]) {
		snprintf(err, errlen, "--db, --web and --schema must not be empty");
		return -EINVAL;
	}
	if (!c->tls_cert[0] != !c->tls_key[0]) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together");
		return -EINVAL;
	}
	return CONFIG_RUN;
}

size_t config_upload_max(const struct config *c)
{
	return (size_t)c->max_upload_mb * 1024u * 1024u;
}

size_t config_decompressed_max(const struct config *c)
{
	uint64_t n = (uint64_t)config_upload_max(c) * 8u;
	uint64_t cap = 1024ull * 1024u * 1024u;

	return (size_t)(n < cap ? n : cap);
}

void config_usage(FILE *out)
{
	char name[64];

	fprintf(out,
		"usage: fleetprof-server [--flag value | --flag=value]...\n"
		"\n"
		"fleetprof's control server: agents heartbeat and upload profiles here; people and\n"
		"automation start/stop profiling and query flame graphs. Every flag can also be set\n"
		"with the environment variable shown; the flag wins.\n\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		env_name(&opts[i], name, sizeof(name));
		fprintf(out, "  --%-20s %-30s %s (default: %s)\n", opts[i].name, name, opts[i].help,
			opts[i].def);
	}
	fprintf(out,
		"  --%-20s %-30s %s\n  --%-20s %-30s %s\n\n"
		"Without --agent-token/--admin-token, the first start writes random tokens to a file\n"
		"'tokens' beside the database (mode 0600) and later starts reuse it.\n"
		"Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime error, 2 on bad flags.\n",
		"help", "", "this text", "version", "", "print the version");
}
