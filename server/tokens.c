/* tokens.c — agent/admin tokens and the token file. See tokens.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokens.h"
#include "log.h"

#define TOKEN_BYTES 32
#define FILE_MAX    4096

bool tokens_equal(const char *presented, const char *expected)
{
	size_t n, m, i;
	unsigned char diff;

	if (!presented || !expected || !expected[0])
		return false;
	n = strlen(expected);
	m = strnlen(presented, TOKEN_MAX);
	diff = (unsigned char)(n != m);
	/* walk the expected token's length; read presented only while it lasts */
	for (i = 0; i < n; i++) {
		unsigned char p = i < m ? (unsigned char)presented[i] : 0;

		diff |= p ^ (unsigned char)expected[i];
	}
	return diff == 0;
}

int tokens_path_for_db(const char *db, char *out, size_t n)
{
	const char *slash = strrchr(db, '/');
	int w;

	if (!slash)
		w = snprintf(out, n, "tokens");
	else if (slash == db)
		w = snprintf(out, n, "/tokens");
	else
		w = snprintf(out, n, "%.*s/tokens", (int)(slash - db), db);
	return (w < 0 || (size_t)w >= n) ? -ENAMETOOLONG : 0;
}

static int random_token(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_BYTES];
	size_t got = 0;

	if (n < 2 * TOKEN_BYTES + 1)
		return -ENOSPC;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * TOKEN_BYTES] = 0;
	return 0;
}

static bool token_ok(const char *s, size_t len)
{
	if (len == 0 || len >= TOKEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Parse "agent_token=...\nadmin_token=...\n" (any order, blank lines and # comments ok). */
static int parse_file(const char *text, char *agent, char *admin)
{
	const char *p = text;

	agent[0] = admin[0] = 0;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char *dst = NULL;

		if (len && p[len - 1] == '\r')
			len--;
		if (len && p[0] != '#') {
			if (!eq)
				return -EINVAL;
			if ((size_t)(eq - p) == 11 && memcmp(p, "agent_token", 11) == 0)
				dst = agent;
			else if ((size_t)(eq - p) == 11 && memcmp(p, "admin_token", 11) == 0)
				dst = admin;
			if (dst) {
				size_t vlen = len - (size_t)(eq + 1 - p);

				if (!token_ok(eq + 1, vlen))
					return -EINVAL;
				memcpy(dst, eq + 1, vlen);
				dst[vlen] = 0;
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return (agent[0] && admin[0]) ? 0 : -EINVAL;
}

static int read_file(const char *path, char *agent, char *admin)
{
	char text[FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		log_warn("token file %s is readable by others (mode %03o); setting it to 0600", path,
			 (unsigned)(st.st_mode & 0777));
		if (fchmod(fd, 0600) != 0)
			log_warn("chmod %s: %s", path, strerror(errno));
	}
	n = read(fd, text, FILE_MAX);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc || n < 0 || n > FILE_MAX)
		return rc ? rc : -EIO;
	text[(size_t)n] = 0;
	if (strlen(text) != (size_t)n)
		return -EINVAL;
	return parse_file(text, agent, admin);
}

static int create_file(const char *path, const char *agent, const char *admin)
{
	char text[2 * TOKEN_MAX + 32];
	int fd, w, rc = 0;

	w = snprintf(text, sizeof(text), "agent_token=%s\nadmin_token=%s\n", agent, admin);
	if (w < 0 || (size_t)w >= sizeof(text))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) != 0 || write(fd, text, (size_t)w) != w || fsync(fd) != 0)
		rc = errno ? -errno : -EIO;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (rc)
		unlink(path);
	return rc;
}

int tokens_load(struct tokens *t, const char *path, const char *agent, const char *admin)
{
	char fa[TOKEN_MAX], fd[TOKEN_MAX];
	int rc;

	memset(t, 0, sizeof(*t));
	if (agent && agent[0] && !token_ok(agent, strlen(agent)))
		return -EINVAL;
	if (admin && admin[0] && !token_ok(admin, strlen(admin)))
		return -EINVAL;
	if (agent && agent[0] && admin && admin[0]) {
		snprintf(t->agent, sizeof(t->agent), "%s", agent);
		snprintf(t->admin, sizeof(t->admin), "%s", admin);
		return 0;
	}
	if (snprintf(t->path, sizeof(t->path), "%s", path) >= (int)sizeof(t->path))
		return -ENAMETOOLONG;
	rc = read_file(path, fa, fd);
	if (rc == -ENOENT) {
		rc = random_token(fa, sizeof(fa));
		if (!rc)
			rc = random_token(fd, sizeof(fd));
		if (!rc)
			rc = create_file(path, fa, fd);
		if (rc == -EEXIST)   /* another server created it meanwhile */
			rc = read_file(path, fa, fd);
		else if (!rc)
			t->created = true;
	}
	if (rc)
		return rc;
	snprintf(t->agent, sizeof(t->agent), "%s", agent && agent[0] ? agent : fa);
	snprintf(t->admin, sizeof(t->admin), "%s", admin && admin[0] ? admin : fd);
	return 0;
}
