/* config.h — the server's settings: command-line flags, each also an environment variable
 * FLEETPROF_<NAME> (the flag wins over the variable, the variable over the default).
 */
#ifndef FP_CONFIG_H
#define FP_CONFIG_H

#include <stdio.h>
#include "log.h"

#ifndef FLEETPROF_VERSION
#define FLEETPROF_VERSION "0.1.0"
#endif

#define CONFIG_PATH_MAX  1024
#define CONFIG_TOKEN_MAX 256

struct config {
	char bind[64];
	int port;                       /* 0 = ephemeral */
	char db[CONFIG_PATH_MAX];
	char web[CONFIG_PATH_MAX];
	char schema[CONFIG_PATH_MAX];
	char agent_token[CONFIG_TOKEN_MAX];   /* "" = from the token file */
	char admin_token[CONFIG_TOKEN_MAX];
	int retention_days;
	int max_upload_mb;              /* compressed upload cap */
	int heartbeat_interval;         /* seconds; active = heard within 3 intervals */
	int threads;                    /* worker pool size */
	char tls_cert[CONFIG_PATH_MAX];
	char tls_key[CONFIG_PATH_MAX];
	enum log_level log_level;
};

enum config_result { CONFIG_RUN = 0, CONFIG_HELP = 1, CONFIG_VERSION = 2 };

/* Defaults, then env (an environ-style NULL-terminated "NAME=value" array; NULL = none), then
 * argv (--name value or --name=value). Returns CONFIG_RUN/HELP/VERSION, or -EINVAL with a
 * message naming the flag or variable in err. */
int config_parse(struct config *c, int argc, char *const argv[], char *const env[], char *err,
		 size_t errlen);

/* Upload caps in bytes: compressed (--max-upload-mb) and decompressed (8x, at most 1 GiB). */
size_t config_upload_max(const struct config *c);
size_t config_decompressed_max(const struct config *c);

/* Print --help text: every flag, its variable and default. */
void config_usage(FILE *out);

#endif
