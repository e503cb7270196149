/* Persisted command ids: forward-only states, survival across reopen, the cap, bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet/cmdstate.h"
#include "t.h"
#include "agent_fixtures.h"

static char dir[64];

static void fresh_dir(void)
{
	fixture_tmpdir(dir, sizeof(dir), "fp-cmdstate-");
}

T_TEST(forward_only_and_persisted)
{
	fresh_dir();
	struct cmdstate *cs = cmdstate_open(dir, 10);
	T_REQUIRE(cs != NULL);
	T_CHECK(cmdstate_get(cs, "a") == CMD_UNKNOWN);
	T_CHECK(cmdstate_set(cs, "a", CMD_RECEIVED) == 0);
	T_CHECK(cmdstate_set(cs, "a", CMD_EXECUTED) == 0);
	T_CHECK(cmdstate_set(cs, "a", CMD_RECEIVED) == 0);   /* backwards: ignored */
	T_CHECK(cmdstate_get(cs, "a") == CMD_EXECUTED);
	T_CHECK(cmdstate_set(cs, "b", CMD_RECEIVED) == 0);
	cmdstate_free(cs);

	cs = cmdstate_open(dir, 10);   /* as after kill -9 + restart */
	T_REQUIRE(cs != NULL);
	T_CHECK(cmdstate_get(cs, "a") == CMD_EXECUTED);
	T_CHECK(cmdstate_get(cs, "b") == CMD_RECEIVED);
	T_CHECK(cmdstate_count(cs) == 2);
	const char *ids[4];
	T_CHECK(cmdstate_list(cs, CMD_RECEIVED, 1, ids, 4) == 2);
	T_CHECK(strcmp(ids[0], "a") == 0 && strcmp(ids[1], "b") == 0);
	T_CHECK(cmdstate_list(cs, CMD_EXECUTED, 0, ids, 4) == 1 && strcmp(ids[0], "a") == 0);
	cmdstate_free(cs);
}

T_TEST(cap_keeps_newest)
{
	fresh_dir();
	struct cmdstate *cs = cmdstate_open(dir, 3);
	char id[16];
	T_REQUIRE(cs != NULL);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		T_CHECK(cmdstate_set(cs, id, CMD_EXECUTED) == 0);
	}
	T_CHECK(cmdstate_count(cs) == 3);
	T_CHECK(cmdstate_get(cs, "id-1") == CMD_UNKNOWN);
	T_CHECK(cmdstate_get(cs, "id-2") == CMD_EXECUTED);
	const char *ids[2];
	T_CHECK(cmdstate_list(cs, CMD_EXECUTED, 0, ids, 2) == 2);
	T_CHECK(strcmp(ids[0], "id-3") == 0 && strcmp(ids[1], "id-4") == 0);
	cmdstate_free(cs);
	cs = cmdstate_open(dir, 3);
	T_CHECK(cs && cmdstate_count(cs) == 3 && cmdstate_get(cs, "id-4") == CMD_EXECUTED);
	cmdstate_free(cs);
}

T_TEST(bad_ids_and_malformed_file)
{
	fresh_dir();
	struct cmdstate *cs = cmdstate_open(dir, 10);
	char path[128], longid[100];
	T_REQUIRE(cs != NULL);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	T_CHECK(cmdstate_set(cs, "", CMD_RECEIVED) == -EINVAL);
	T_CHECK(cmdstate_set(cs, "a b", CMD_RECEIVED) == -EINVAL);
	T_CHECK(cmdstate_set(cs, "a\nE b", CMD_RECEIVED) == -EINVAL);
	T_CHECK(cmdstate_set(cs, longid, CMD_RECEIVED) == -EINVAL);
	T_CHECK(cmdstate_count(cs) == 0);
	cmdstate_free(cs);

	snprintf(path, sizeof(path), "%s/commands.state", dir);
	FILE *f = fopen(path, "w");
	T_REQUIRE(f != NULL);
	fputs("fleetprof-commands 1\nE good-1\ngarbage\nX bad\nR good-2\nC good-1\nR bad id\n", f);
	fclose(f);
	cs = cmdstate_open(dir, 10);
	T_REQUIRE(cs != NULL);
	T_CHECK(cmdstate_count(cs) == 2);
	T_CHECK(cmdstate_get(cs, "good-1") == CMD_REPORTED);
	T_CHECK(cmdstate_get(cs, "good-2") == CMD_RECEIVED);
	cmdstate_free(cs);
	T_CHECK(cmdstate_open(dir, 0) == NULL && errno == EINVAL);
}

T_TEST(failed_write_keeps_memory_state)
{
	/* a directory that does not exist: loading finds nothing, every write fails (even as root) */
	struct cmdstate *cs = cmdstate_open("/nonexistent-fleetprof-dir/x", 2);
	T_REQUIRE(cs != NULL);
	T_CHECK(cmdstate_set(cs, "x", CMD_RECEIVED) == -ENOENT);
	T_CHECK(cmdstate_get(cs, "x") == CMD_UNKNOWN);
	T_CHECK(cmdstate_count(cs) == 0);
	cmdstate_free(cs);
}

int main(void)
{
	T_RUN(forward_only_and_persisted);
	T_RUN(cap_keeps_newest);
	T_RUN(bad_ids_and_malformed_file);
	T_RUN(failed_write_keeps_memory_state);
	fresh_dir();   /* removes the last one */
	rmdir(dir);
	return t_done();
}
