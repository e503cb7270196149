/* tokens.h — the agent and admin tokens: given on the command line, or generated once and kept
 * in a file beside the database ("agent_token=...\nadmin_token=...\n", mode 0600).
 */
#ifndef FP_TOKENS_H
#define FP_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_MAX 256

struct tokens {
	char agent[TOKEN_MAX];
	char admin[TOKEN_MAX];
	char path[1024];          /* the token file used, "" when both came from the config */
	bool created;             /* the file was created by this call */
};

/* Fill t. Given tokens (non-empty) are used as they are; a missing one comes from the file at
 * path (read if it exists, otherwise created with fresh random tokens: 32 bytes of getrandom as
 * 64 hex digits). 0 or -errno (-EINVAL for a malformed file). */
int tokens_load(struct tokens *t, const char *path, const char *agent, const char *admin)
	__attribute__((warn_unused_result));

/* The token file path for a database path: "<dir of db>/tokens". 0 or -ENAMETOOLONG. */
int tokens_path_for_db(const char *db, char *out, size_t n);

/* Constant-time comparison of a presented token against the expected one (the time depends only
 * on the expected token's length). false when either is NULL or expected is empty. */
bool tokens_equal(const char *presented, const char *expected);

#endif
