/* agent_fixtures.c — see agent_fixtures.h. */
#include "agent_fixtures.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

void fixture_rmtree(const char *dir)
{
	char cmd[512];
	if (!dir || !dir[0] || strchr(dir, '\''))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

int fixture_tmpdir(char *dir, size_t n, const char *prefix)
{
	fixture_rmtree(dir);
	if ((size_t)snprintf(dir, n, "/tmp/%sXXXXXX", prefix) >= n || !mkdtemp(dir)) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

int fixture_spawn(struct fixture_child *c, char *const argv[])
{
	int in[2], out[2];
	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->in_fd = -1;
	if (pipe(in))
		return -1;
	if (pipe(out)) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	c->pid = fork();
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in_fd = in[1];
	c->out = fdopen(out[0], "r");
	if (!c->out)
		close(out[0]);
	return c->pid > 0 && c->out ? 0 : -1;
}

void fixture_child_end(struct fixture_child *c, int grace_ms)
{
	int st;
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = -1;
	if (c->pid > 0) {
		for (int ms = 0; ms < grace_ms && waitpid(c->pid, &st, WNOHANG) == 0; ms++)
			usleep(1000);
		if (waitpid(c->pid, &st, WNOHANG) == 0)
			kill(c->pid, SIGKILL);
		waitpid(c->pid, &st, 0);
	}
	c->pid = -1;
	if (c->out)
		fclose(c->out);
	c->out = NULL;
}
