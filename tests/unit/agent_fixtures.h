/* agent_fixtures.h — what several agent unit tests set up the same way: a fresh temporary
 * directory, and a child process talking through pipes. The Makefile links every helper file of
 * tests/unit into every unit test, so this uses libc only. */
#ifndef FP_AGENT_FIXTURES_H
#define FP_AGENT_FIXTURES_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Remove the directory dir names (when dir[0]) with everything in it, then make a new one,
 * /tmp/<prefix>XXXXXX, into dir (n bytes). 0, or -1 with dir[0] = '\0'. */
int fixture_tmpdir(char *dir, size_t n, const char *prefix);

/* rm -rf dir; "" is a no-op. */
void fixture_rmtree(const char *dir);

/* A child whose stdin and stdout are pipes to us. */
struct fixture_child {
	pid_t pid;        /* -1: not started */
	int in_fd;        /* its stdin: closing it ends children that read it */
	FILE *out;        /* its stdout */
};

/* Start argv[0] (execvp) with argv. 0, or -1 (c->pid -1 when it could not fork). */
int fixture_spawn(struct fixture_child *c, char *const argv[]);

/* Close its stdin, give it grace_ms to exit (0: none), SIGKILL it if it has not, reap it and
 * close its stdout. Safe on a child that never started, and twice. */
void fixture_child_end(struct fixture_child *c, int grace_ms);

#endif
