/* test_server_config.c — flags vs environment, bad values, token file creation and reuse. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "t.h"
#include "config.h"
#include "tokens.h"


static int parse(struct config *c, int argc, char *const argv[], char *const env[], char *err)
{
	return config_parse(c, argc, argv, env, err, 256);
}

T_TEST(defaults)
{
	struct config c;
	char err[256];
	char *const argv[] = { "fleetprof-server", NULL };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	T_CHECK(parse(&c, 1, argv, NULL, err) == CONFIG_RUN);
	T_CHECK(c.port == 8080);
	T_CHECK(strcmp(c.bind, "0.0.0.0") == 0);
	T_CHECK(strcmp(c.db, "data/fleetprof.db") == 0);
	T_CHECK(strcmp(c.web, "web/") == 0);
	T_CHECK(strcmp(c.schema, "schema/") == 0);
	T_CHECK(c.agent_token[0] == 0 && c.admin_token[0] == 0);
	T_CHECK(c.retention_days == 30);
	T_CHECK(c.max_upload_mb == 64);
	T_CHECK(c.heartbeat_interval == 30);
	T_CHECKF(c.threads == 2 * cpus, "threads %d cpus %ld", c.threads, cpus);
	T_CHECK(c.log_level == LOG_INFO);
	T_CHECK(c.tls_cert[0] == 0 && c.tls_key[0] == 0);
	T_CHECK(config_upload_max(&c) == 64u << 20);
	T_CHECK(config_decompressed_max(&c) == 512u << 20);
}

T_TEST(env_then_flags)
{
	struct config c;
	char err[256];
	char *const env[] = { "PATH=/bin", "FLEETPROF_PORT=9000", "FLEETPROF_DB=/tmp/x.db",
			      "FLEETPROF_ADMIN_TOKEN=adm", "FLEETPROF_MAX_UPLOAD_MB=1024",
			      "FLEETPROF_LOG_LEVEL=debug", "FLEETPROF_PORTX=1", NULL };
	char *const argv[] = { "fleetprof-server", "--port", "9100", "--bind=127.0.0.1",
			       "--heartbeat-interval", "5", "--threads=3", "--agent-token", "ag",
			       NULL };

	T_CHECK(parse(&c, 9, argv, env, err) == CONFIG_RUN);
	T_CHECKF(c.port == 9100, "flag wins: %d", c.port);
	T_CHECK(strcmp(c.db, "/tmp/x.db") == 0);
	T_CHECK(strcmp(c.bind, "127.0.0.1") == 0);
	T_CHECK(strcmp(c.admin_token, "adm") == 0 && strcmp(c.agent_token, "ag") == 0);
	T_CHECK(c.heartbeat_interval == 5 && c.threads == 3);
	T_CHECK(c.log_level == LOG_DEBUG);
	T_CHECK(config_upload_max(&c) == 1024u << 20);
	T_CHECKF(config_decompressed_max(&c) == 1024u << 20, "capped at 1 GiB: %zu",
		 config_decompressed_max(&c));
	/* env alone */
	{
		char *const a1[] = { "fleetprof-server", NULL };

		T_CHECK(parse(&c, 1, a1, env, err) == CONFIG_RUN && c.port == 9000);
	}
}

T_TEST(bad_values)
{
	static const struct {
		const char *a1, *a2, *env, *want;
	} cases[] = {
		{ "--port", "70000", NULL, "--port" },
		{ "--port", "12ab", NULL, "--port" },
		{ "--port=", NULL, NULL, "--port" },
		{ "--retention-days", "0", NULL, "--retention-days" },
		{ "--max-upload-mb", "2048", NULL, "--max-upload-mb" },
		{ "--threads", "-1", NULL, "--threads" },
		{ "--bind", "999.1.1.1", NULL, "--bind" },
		{ "--bind", "localhost", NULL, "--bind" },
		{ "--log-level", "loud", NULL, "--log-level" },
		{ "--bogus", "1", NULL, "unknown flag '--bogus'" },
		{ "--port", NULL, NULL, "--port needs a value" },
		{ "stray", NULL, NULL, "unexpected argument 'stray'" },
		{ "--tls-cert", "/x.pem", NULL, "--tls-key" },
		{ NULL, NULL, "FLEETPROF_RETENTION_DAYS=abc", "FLEETPROF_RETENTION_DAYS" },
		{ NULL, NULL, "FLEETPROF_HEARTBEAT_INTERVAL=0", "FLEETPROF_HEARTBEAT_INTERVAL" },
		{ NULL, NULL, "FLEETPROF_BIND=::zz", "FLEETPROF_BIND" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[4] = { "fleetprof-server", NULL, NULL, NULL };
		char *env[2] = { (char *)cases[i].env, NULL };
		struct config c;
		char err[256];
		int argc = 1, rc;

		if (cases[i].a1)
			argv[argc++] = (char *)cases[i].a1;
		if (cases[i].a2)
			argv[argc++] = (char *)cases[i].a2;
		rc = parse(&c, argc, argv, env, err);
		T_CHECKF(rc == -EINVAL, "case %zu (%s %s %s): rc %d", i, cases[i].a1,
			 cases[i].a2, cases[i].env, rc);
		T_CHECKF(strstr(err, cases[i].want) != NULL, "case %zu: message '%s' lacks '%s'", i,
			 err, cases[i].want);
	}
}

T_TEST(help_version_ipv6)
{
	struct config c;
	char err[256];
	char *const h[] = { "fleetprof-server", "--port", "1", "--help", NULL };
	char *const v[] = { "fleetprof-server", "--version", NULL };
	char *const six[] = { "fleetprof-server", "--bind", "::1", "--port", "0", NULL };
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	T_CHECK(parse(&c, 4, h, NULL, err) == CONFIG_HELP);
	T_CHECK(parse(&c, 2, v, NULL, err) == CONFIG_VERSION);
	T_CHECK(parse(&c, 5, six, NULL, err) == CONFIG_RUN && strcmp(c.bind, "::1") == 0 &&
		c.port == 0);
	m = open_memstream(&text, &len);
	T_REQUIRE(m != NULL);
	config_usage(m);
	fclose(m);
	static const char *const vars[] = {
		"FLEETPROF_PORT", "FLEETPROF_BIND", "FLEETPROF_DB", "FLEETPROF_WEB",
		"FLEETPROF_SCHEMA", "FLEETPROF_AGENT_TOKEN", "FLEETPROF_ADMIN_TOKEN",
		"FLEETPROF_RETENTION_DAYS", "FLEETPROF_MAX_UPLOAD_MB",
		"FLEETPROF_HEARTBEAT_INTERVAL", "FLEETPROF_THREADS", "FLEETPROF_TLS_CERT",
		"FLEETPROF_TLS_KEY", "FLEETPROF_LOG_LEVEL", "--help", "--version",
	};
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		T_CHECKF(strstr(text, vars[i]) != NULL, "--help lacks %s", vars[i]);
	free(text);
}

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	return strspn(s, "0123456789abcdef") == 64;
}

T_TEST(token_file_created_0600_and_reused)
{
	char dir[] = "/tmp/fp-tok-XXXXXX", path[256], text[512];
	struct tokens t1, t2, t3;
	struct stat st;
	ssize_t n;
	int fd;

	T_REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/tokens", dir);
	T_CHECK(tokens_load(&t1, path, "", NULL) == 0);
	T_CHECK(t1.created);
	T_CHECK(strcmp(t1.path, path) == 0);
	T_CHECK(is_hex64(t1.agent) && is_hex64(t1.admin) && strcmp(t1.agent, t1.admin) != 0);
	T_CHECK(stat(path, &st) == 0);
	T_CHECKF((st.st_mode & 0777) == 0600, "mode %o", (unsigned)(st.st_mode & 0777));
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	T_CHECK(n == 154);
	if (n > 0) {
		char want[512];

		text[n] = 0;
		snprintf(want, sizeof(want), "agent_token=%s\nadmin_token=%s\n", t1.agent, t1.admin);
		T_CHECKF(strcmp(text, want) == 0, "file: %s", text);
	}
	/* reused */
	T_CHECK(tokens_load(&t2, path, NULL, NULL) == 0);
	T_CHECK(!t2.created && strcmp(t1.agent, t2.agent) == 0 && strcmp(t1.admin, t2.admin) == 0);
	/* one given: it wins, the other still from the file */
	T_CHECK(tokens_load(&t3, path, "mine", NULL) == 0);
	T_CHECK(strcmp(t3.agent, "mine") == 0 && strcmp(t3.admin, t1.admin) == 0);
	/* a too-open file is tightened */
	T_CHECK(chmod(path, 0644) == 0);
	T_CHECK(tokens_load(&t3, path, NULL, NULL) == 0);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* both given: no file needed */
	T_CHECK(tokens_load(&t3, "/nonexistent/dir/tokens", "a1", "b2") == 0);
	T_CHECK(t3.path[0] == 0 && strcmp(t3.agent, "a1") == 0 && strcmp(t3.admin, "b2") == 0);
	/* bad token values */
	T_CHECK(tokens_load(&t3, path, "has space", NULL) == -EINVAL);
	/* malformed file */
	fd = open(path, O_WRONLY | O_TRUNC);
	T_CHECK(fd >= 0 && write(fd, "agent_token=x\n", 14) == 14);
	if (fd >= 0)
		close(fd);
	T_CHECK(tokens_load(&t3, path, NULL, NULL) == -EINVAL);
	unlink(path);
	/* unwritable place */
	T_CHECK(tokens_load(&t3, "/nonexistent/dir/tokens", NULL, NULL) == -ENOENT);
	rmdir(dir);
}

T_TEST(token_compare_and_path)
{
	char p[64];

	T_CHECK(tokens_equal("abc", "abc"));
	T_CHECK(!tokens_equal("abd", "abc"));
	T_CHECK(!tokens_equal("ab", "abc"));
	T_CHECK(!tokens_equal("abcd", "abc"));
	T_CHECK(!tokens_equal("", "abc"));
	T_CHECK(!tokens_equal(NULL, "abc"));
	T_CHECK(!tokens_equal("", ""));
	T_CHECK(!tokens_equal("x", NULL));
	T_CHECK(tokens_path_for_db("data/fleetprof.db", p, sizeof(p)) == 0 &&
		strcmp(p, "data/tokens") == 0);
	T_CHECK(tokens_path_for_db("fp.db", p, sizeof(p)) == 0 && strcmp(p, "tokens") == 0);
	T_CHECK(tokens_path_for_db("/fp.db", p, sizeof(p)) == 0 && strcmp(p, "/tokens") == 0);
	T_CHECK(tokens_path_for_db("/a/b/c.db", p, 5) == -ENAMETOOLONG);
}

int main(void)
{
	T_RUN(defaults);
	T_RUN(env_then_flags);
	T_RUN(bad_values);
	T_RUN(help_version_ipv6);
	T_RUN(token_file_created_0600_and_reused);
	T_RUN(token_compare_and_path);
	return t_done();
}
