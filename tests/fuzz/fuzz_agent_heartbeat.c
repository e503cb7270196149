/* fuzz_agent_heartbeat.c — libFuzzer target for the heartbeat answer parser
 * (fleet/heartbeat.h): the server's answer decides what the agent runs, so a malformed or
 * hostile one must be refused cleanly. Never crashes; an accepted command has a valid id, a
 * known type, values within the documented ranges and at most HB_MAX_PIDS positive pids; a
 * refusal says why. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/heartbeat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hb_command c;   /* large (pids): not on the fuzzer's stack */
	char err[256];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = hb_parse_response((const char *)data, size, "seedhost", &c, err, sizeof(err));
	if (rc == -EINVAL) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return 0;
	}
	if (rc == 0)
		return 0;
	if (rc != 1)
		abort();
	if (!cmdstate_valid_id(c.id) || (c.type != HB_CMD_START && c.type != HB_CMD_STOP) ||
	    c.duration < 0 || c.duration > 86400 || c.frequency < 0 || c.frequency > 10000 ||
	    c.n_pids > HB_MAX_PIDS || !memchr(c.profiling_mode, '\0', sizeof(c.profiling_mode)) ||
	    !memchr(c.stop_level, '\0', sizeof(c.stop_level)))
		abort();
	for (size_t i = 0; i < c.n_pids; i++)
		if (c.pids[i] <= 0)
			abort();
	return 0;
}
