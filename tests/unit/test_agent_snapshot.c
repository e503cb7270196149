/* test_agent_snapshot.c — samples -> collapsed lines and header, with a fake namer; the flame
 * graph page (the dashboard's, embedded) and its escaping; output files, symlinks and rotation.
 * FLEETPROF_FLAMEGRAPH_OUT=FILE also writes the flame graph test's page there (the browser test
 * draws it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <jansson.h>

#include "t.h"
#include "agent_fixtures.h"
#include "snapshot.h"
#include "hostinfo.h"
#include "output.h"
#include "flamegraph_html.h"
#include "jsonstr.h"

static int kcalls, ucalls;

static int fake_kernel(void *ctx, uint64_t addr, char *out, size_t n)
{
	(void)ctx;
	kcalls++;
	snprintf(out, n, "k%llx_[k]", (unsigned long long)addr);
	return 0;
}

static int fake_user(void *ctx, uint32_t tgid, uint64_t addr, char *out, size_t n)
{
	(void)ctx;
	ucalls++;
	if (addr == 0xdead)
		snprintf(out, n, "bad;name\nx");   /* must be sanitized */
	else
		snprintf(out, n, "u%u_%llx", tgid, (unsigned long long)addr);
	return 0;
}

static struct snapshot *new_snap(size_t max_stacks)
{
	struct snapshot_config cfg = { 0 };
	cfg.namer.kernel = fake_kernel;
	cfg.namer.user = fake_user;
	cfg.proc_root = "/nonexistent-proc";
	cfg.max_stacks = max_stacks;
	return snapshot_new(&cfg);
}

struct collect {
	char text[4096];
};

static int collect_fn(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct collect *c = ctx;
	size_t used = strlen(c->text);
	snprintf(c->text + used, sizeof(c->text) - used, "%.*s %llu\n", (int)len, stack,
		 (unsigned long long)count);
	return 0;
}

T_TEST(order_user_root_first_then_kernel)
{
	struct snapshot *s = new_snap(0);
	/* leaf first as the kernel records them; non-leaf ips are return addresses (named at -1) */
	uint64_t user[] = { 0x1000, 0x2001, 0x3001 };   /* leaf, caller, root */
	uint64_t kern[] = { 0xa000, 0xb001 };           /* leaf, entry */
	struct sample_stack st = { .tgid = 7, .pid = 8, .comm = "work", .count = 5,
				   .nkern = 2, .nuser = 3, .kern = kern, .user = user };
	struct collect c = { "" };
	T_CHECK(s && snapshot_begin(s) == 0);
	T_CHECK(snapshot_add(s, &st) == 0);
	T_CHECK(col_agg_foreach(snapshot_stacks(s), true, collect_fn, &c) == 0);
	T_CHECKF(strcmp(c.text, "0;;work;u7_3000;u7_2000;u7_1000;kb000_[k];ka000_[k] 5\n") == 0,
		 "got '%s'", c.text);
	snapshot_free(s);
}

/* A Kubernetes container name longer than the 127 bytes container names once had (long pod
 * names are common; the kubelet's log link name, at most 255 bytes, bounds them) reaches every
 * stack of the process whole. */
T_TEST(long_kubernetes_container_name)
{
	char dir[] = "/tmp/fp-snapk-XXXXXX", path[1200], target[1200], pod[121], want[600];
	const char *id = "3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
	const char *uid = "0b6c1a52-3e3f-4bd4-9a55-1c2d3e4f5a6b";
	struct snapshot_config cfg = { 0 };
	struct snapshot *s;
	struct collect c = { "" };
	uint64_t user[] = { 0x1000 }, user2[] = { 0x2000 };
	struct sample_stack a = { .tgid = 42, .pid = 42, .comm = "app", .count = 1, .nuser = 1, .user = user };
	struct sample_stack b = { .tgid = 42, .pid = 43, .comm = "app", .count = 2, .nuser = 1, .user = user2 };
	FILE *f;

	if (!mkdtemp(dir))
		T_SKIP("mkdtemp failed");
	memset(pod, 'p', 120);
	pod[120] = '\0';
	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/42", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/42/cgroup", dir);
	f = fopen(path, "w");
	T_REQUIRE(f != NULL);
	fprintf(f, "0::/kubepods/burstable/pod%s/%s\n", uid, id);
	fclose(f);
	snprintf(path, sizeof(path), "%s/log", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/log/containers", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/log/containers/%s_team-a_server-%s.log", dir, pod, id);
	snprintf(target, sizeof(target), "/var/log/pods/team-a_%s_%s/server/3.log", pod, uid);
	T_CHECK(symlink(target, path) == 0);
	snprintf(want, sizeof(want), "0;k8s_server_%s_team-a_%s_3;app;", pod, uid);

	cfg.namer.kernel = fake_kernel;
	cfg.namer.user = fake_user;
	snprintf(path, sizeof(path), "%s/proc", dir);
	cfg.proc_root = path;
	snprintf(target, sizeof(target), "%s/log", dir);
	cfg.containers.kube_logs = target;
	s = snapshot_new(&cfg);
	T_CHECK(s && snapshot_begin(s) == 0);
	T_CHECK(snapshot_add(s, &a) == 0 && snapshot_add(s, &b) == 0);
	T_CHECK(col_agg_foreach(snapshot_stacks(s), true, collect_fn, &c) == 0);
	T_CHECKF(strlen(want) > 160 && strncmp(c.text, want, strlen(want)) == 0, "got '%.120s...'", c.text);
	T_CHECKF(strstr(strchr(c.text, '\n') + 1, want) != NULL, "second stack '%s'", c.text);
	snapshot_free(s);
	fixture_rmtree(dir);
}

T_TEST(kernel_only_and_user_only_and_empty)
{
	struct snapshot *s = new_snap(0);
	uint64_t kern[] = { 0xa000 };
	uint64_t user[] = { 0x1000 };
	struct sample_stack k = { .tgid = 2, .pid = 2, .comm = "kworker/0:1", .count = 1,
				  .nkern = 1, .kern = kern };
	struct sample_stack u = { .tgid = 3, .pid = 4, .comm = "a;b", .count = 2,
				  .nuser = 1, .user = user };
	struct sample_stack e = { .tgid = 5, .pid = 5, .comm = "", .count = 3 };
	struct collect c = { "" };
	T_CHECK(s && snapshot_begin(s) == 0);
	T_CHECK(snapshot_add(s, &k) == 0 && snapshot_add(s, &u) == 0 && snapshot_add(s, &e) == 0);
	T_CHECK(col_agg_foreach(snapshot_stacks(s), true, collect_fn, &c) == 0);
	T_CHECKF(strcmp(c.text, "0;;[unknown] 3\n0;;a:b;u3_1000 2\n0;;kworker/0:1;ka000_[k] 1\n") == 0,
		 "got '%s'", c.text);
	T_CHECK(snapshot_total(s) == 6);
	snapshot_free(s);
}

T_TEST(memo_names_each_address_once_per_snapshot)
{
	struct snapshot *s = new_snap(0);
	uint64_t user[] = { 0x1000, 0x2001 };
	uint64_t kern[] = { 0xa000 };
	struct sample_stack a = { .tgid = 9, .pid = 9, .comm = "x", .count = 1,
				  .nkern = 1, .nuser = 2, .kern = kern, .user = user };
	struct sample_stack b = a;
	b.pid = 10;          /* another thread: same names */
	T_CHECK(s && snapshot_begin(s) == 0);
	kcalls = ucalls = 0;
	T_CHECK(snapshot_add(s, &a) == 0 && snapshot_add(s, &b) == 0);
	T_CHECKF(kcalls == 1 && ucalls == 2, "kernel %d user %d calls", kcalls, ucalls);
	b.tgid = 11;         /* another process: user addresses named again, kernel shared */
	T_CHECK(snapshot_add(s, &b) == 0);
	T_CHECKF(kcalls == 1 && ucalls == 4, "kernel %d user %d calls", kcalls, ucalls);
	T_CHECK(snapshot_begin(s) == 0); /* new snapshot: forgotten */
	T_CHECK(snapshot_add(s, &a) == 0);
	T_CHECKF(kcalls == 2 && ucalls == 6, "kernel %d user %d calls", kcalls, ucalls);
	T_CHECK(snapshot_total(s) == 1);
	snapshot_free(s);
}

T_TEST(names_sanitized)
{
	struct snapshot *s = new_snap(0);
	uint64_t user[] = { 0xdead };
	struct sample_stack a = { .tgid = 1, .pid = 1, .comm = "x", .count = 1, .nuser = 1, .user = user };
	struct collect c = { "" };
	T_CHECK(s && snapshot_begin(s) == 0 && snapshot_add(s, &a) == 0);
	T_CHECK(col_agg_foreach(snapshot_stacks(s), true, collect_fn, &c) == 0);
	T_CHECKF(strcmp(c.text, "0;;x;bad:name x 1\n") == 0, "got '%s'", c.text);
	snapshot_free(s);
}

T_TEST(lost_stacks_marked_not_misattributed)
{
	struct snapshot *s = new_snap(0);
	uint64_t kern[] = { 0xa000 };
	struct sample_stack a = { .tgid = 1, .pid = 1, .comm = "x", .count = 2, .nkern = 1,
				  .kern = kern, .user_lost = true };
	struct sample_stack b = { .tgid = 1, .pid = 1, .comm = "x", .count = 1, .kern_lost = true,
				  .user_lost = true };
	struct collect c = { "" };
	T_CHECK(s && snapshot_begin(s) == 0 && snapshot_add(s, &a) == 0 && snapshot_add(s, &b) == 0);
	T_CHECK(col_agg_foreach(snapshot_stacks(s), true, collect_fn, &c) == 0);
	T_CHECKF(strcmp(c.text, "0;;x;[lost stack];[lost stack]_[k] 1\n0;;x;[lost stack];ka000_[k] 2\n") == 0,
		 "got '%s'", c.text);
	snapshot_free(s);
}

T_TEST(stack_bound_counts_dropped)
{
	struct snapshot *s = new_snap(2);
	uint64_t user[1];
	T_CHECK(s && snapshot_begin(s) == 0);
	for (int i = 0; i < 5; i++) {
		struct sample_stack a = { .tgid = 1, .pid = 1, .comm = "x", .count = 10, .nuser = 1, .user = user };
		user[0] = 0x100 * (uint64_t)(i + 1);
		T_CHECK(snapshot_add(s, &a) == 0);
	}
	T_CHECK(col_agg_size(snapshot_stacks(s)) == 2);
	T_CHECK(col_agg_dropped(snapshot_stacks(s)) == 30);
	snapshot_free(s);
}

T_TEST(header_shape)
{
	struct snapshot *s = new_snap(0);
	struct hostinfo h;
	struct snapshot_meta m = { 0 };
	struct buf out;
	json_t *hdr, *md;
	uint64_t user[] = { 0x1 };
	struct sample_stack a = { .tgid = 1, .pid = 1, .comm = "x", .count = 4, .nuser = 1, .user = user };
	hostinfo_read(&h, "/proc");
	m.host = &h;
	m.agent_version = "9.9.9";
	m.run_arguments = "-d 5";
	m.mode = "bpf";
	m.frequency = 11;
	m.duration = 5;
	m.start_ms = 1795784400000; /* 2026-11-27T13:00:00Z */
	m.end_ms = 1795784405000;
	m.counts.samples = 4;
	m.counts.lost = 1;
	m.counts.collisions = 2;
	m.cpu_avg = 12.5;
	m.mem_avg = 40.25;
	T_CHECK(s && snapshot_begin(s) == 0 && snapshot_add(s, &a) == 0);
	hdr = snapshot_header(s, &m);
	T_CHECK(hdr != NULL);
	md = json_object_get(hdr, "metadata");
	T_CHECK(json_is_object(md));
	T_CHECK(strcmp(json_string_value(json_object_get(md, "start_time")), "2026-11-27T13:00:00Z") == 0);
	T_CHECK(strcmp(json_string_value(json_object_get(md, "end_time")), "2026-11-27T13:00:05Z") == 0);
	T_CHECK(json_integer_value(json_object_get(md, "samples")) == 4);
	T_CHECK(json_integer_value(json_object_get(md, "lost_samples")) == 1);
	T_CHECK(json_integer_value(json_object_get(md, "stack_collisions")) == 2);
	T_CHECK(json_integer_value(json_object_get(md, "frequency")) == 11);
	T_CHECK(strcmp(json_string_value(json_object_get(md, "perf_mode")), "bpf") == 0);
	T_CHECK(strcmp(json_string_value(json_object_get(md, "agent_version")), "9.9.9") == 0);
	T_CHECK(json_integer_value(json_object_get(md, "processors")) == hostinfo_online_cpus(NULL, 0));
	T_CHECK(json_real_value(json_object_get(json_object_get(hdr, "metrics"), "cpu_avg")) == 12.5);
	T_CHECK(json_real_value(json_object_get(json_object_get(hdr, "metrics"), "mem_avg")) == 40.25);
	T_CHECK(json_array_size(json_object_get(hdr, "application_metadata")) == 1 &&
		json_is_null(json_array_get(json_object_get(hdr, "application_metadata"), 0)));
	json_decref(hdr);
	buf_init(&out, 1 << 20);
	T_CHECK(snapshot_render(s, &m, &out) == 0);
	T_CHECK(strncmp(buf_cstr(&out), "# {", 3) == 0);
	T_CHECKF(strstr(buf_cstr(&out), "}\n0;;x;u1_1 4\n") != NULL, "render '%s'", buf_cstr(&out));
	buf_release(&out);
	snapshot_free(s);
}

T_TEST(js_string_escapes_script_breakouts)
{
	struct buf b;
	const char in[] = "a\"b\\c</script><!--&\n\xe2\x80\xa8z";
	buf_init(&b, 4096);
	T_CHECK(json_str(&b, in, sizeof(in) - 1, JSONSTR_HTML) == 0);
	T_CHECKF(strcmp(buf_cstr(&b),
			"\"a\\\"b\\\\c\\u003c/script\\u003e\\u003c!--\\u0026\\n\\u2028z\"") == 0,
		 "got %s", buf_cstr(&b));
	buf_release(&b);
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A profile whose processes are named like Object.prototype's members: the page must draw them
 * (a renderer keyed on plain objects would not). The browser test draws this very page. */
static const char fg_prof[] =
	"# {\"metadata\":{\"hostname\":\"h</script><!--\",\"start_time\":\"2026-11-27T13:00:00Z\"}}\n"
	"0;;__proto__;main;f 3\n0;;__proto__;main 1\n0;;constructor;run 2\n"
	"0;web-1;hasOwnProperty;loop;x</script>y 4\n";

T_TEST(flamegraph_page_is_the_dashboards)
{
	struct buf b;
	const char *html, *env = getenv("FLEETPROF_FLAMEGRAPH_OUT");
	buf_init(&b, 1 << 20);
	T_REQUIRE(flamegraph_html_render(fg_prof, sizeof(fg_prof) - 1, &b) == 0);
	html = buf_cstr(&b);
	/* the data: appid and an empty container dropped, a container kept as the top frame */
	T_CHECKF(strstr(html, "\"collapsed\":\"__proto__;main;f 3\\n__proto__;main 1\\n"
			"constructor;run 2\\nweb-1;hasOwnProperty;loop;x\\u003c/script\\u003ey 4\\n\"}")
		 != NULL, "data not found in %.300s", strstr(html, "\"collapsed\"") ?
		 strstr(html, "\"collapsed\"") : "(none)");
	T_CHECK(strstr(html, "\"header\":\"{\\\"metadata\\\":") != NULL);
	/* one renderer: the dashboard's flame.js is inlined, with its page's bootstrap */
	T_CHECK(strstr(html, "export class FlameGraph") != NULL);
	T_CHECK(strstr(html, "export function buildTree") != NULL);
	T_CHECK(strstr(html, "window.fleetprofExport") != NULL);
	T_CHECK(strstr(html, "{{DATA}}") == NULL && strstr(html, "{{FLAME_JS}}") == NULL);
	/* nothing breaks out of a script element: only the page's own two close tags */
	T_CHECKF(count_of(html, "</script") == 2, "%d </script", count_of(html, "</script"));
	T_CHECK(count_of(html, "<!--") == 1);   /* the template's own comment */
	if (env && *env) {
		FILE *f = fopen(env, "w");
		T_CHECK(f && fwrite(html, 1, b.len, f) == b.len);
		if (f)
			fclose(f);
	}
	buf_release(&b);
}

T_TEST(flamegraph_render_bounds_and_errors)
{
	struct buf b;
	buf_init(&b, 4096);   /* too small for the page: bounded, no partial success */
	T_CHECK(flamegraph_html_render(fg_prof, sizeof(fg_prof) - 1, &b) == -ENOSPC);
	buf_release(&b);
	buf_init(&b, 1 << 20);
	T_CHECK(flamegraph_html_render("x;y notanumber\n", 15, &b) == -EINVAL);
	buf_release(&b);
	buf_init(&b, 1 << 20);   /* no header, no stacks: still a page */
	T_CHECK(flamegraph_html_render("", 0, &b) == 0);
	T_CHECK(strstr(buf_cstr(&b), "{\"title\":null,\"header\":null,\"collapsed\":\"\"}") != NULL);
	buf_release(&b);
}

static int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (strncmp(e->d_name, "profile_", 8) == 0 && l > sl && strcmp(e->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

T_TEST(output_files_symlinks_rotation)
{
	char dir[] = "/tmp/fp-out-XXXXXX", sub[64], link[128], target[128];
	const char prof[] = "# {}\n0;;x;main 1\n";
	struct output *o;
	ssize_t n;
	if (!mkdtemp(dir))
		T_SKIP("mkdtemp failed");
	snprintf(sub, sizeof(sub), "%s/out", dir);
	o = output_new(sub, true, false);
	T_CHECK(o != NULL);
	T_CHECK(output_write(o, 1795784400, prof, sizeof(prof) - 1) == 0);
	T_CHECK(output_write(o, 1795784400, prof, sizeof(prof) - 1) == 0);   /* same second */
	T_CHECK(output_write(o, 1795784401, prof, sizeof(prof) - 1) == 0);
	T_CHECK(count_files(sub, ".col") == 3 && count_files(sub, ".html") == 3);
	snprintf(link, sizeof(link), "%s/last_profile.col", sub);
	n = readlink(link, target, sizeof(target) - 1);
	T_CHECK(n > 0);
	target[n > 0 ? n : 0] = '\0';
	T_CHECKF(strcmp(target, "profile_2026-11-27T13-00-01Z.col") == 0, "link -> %s", target);
	T_CHECK(strstr(output_last_path(o), "profile_2026-11-27T13-00-01Z.col") != NULL);
	output_free(o);

	o = output_new(sub, true, true);   /* rotating: deletes what it wrote before */
	T_CHECK(output_write(o, 1795784500, prof, sizeof(prof) - 1) == 0);
	T_CHECK(output_write(o, 1795784501, prof, sizeof(prof) - 1) == 0);
	T_CHECK(count_files(sub, ".col") == 4 && count_files(sub, ".html") == 4);
	snprintf(link, sizeof(link), "%s/last_flamegraph.html", sub);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	T_CHECKF(strcmp(target, "profile_2026-11-27T13-01-41Z.html") == 0, "link -> %s", target);
	output_free(o);
	fixture_rmtree(dir);
	T_CHECK(output_new("/proc/nonexistent/dir", true, false) == NULL);
}

int main(void)
{
	T_RUN(order_user_root_first_then_kernel);
	T_RUN(long_kubernetes_container_name);
	T_RUN(kernel_only_and_user_only_and_empty);
	T_RUN(memo_names_each_address_once_per_snapshot);
	T_RUN(names_sanitized);
	T_RUN(lost_stacks_marked_not_misattributed);
	T_RUN(stack_bound_counts_dropped);
	T_RUN(header_shape);
	T_RUN(js_string_escapes_script_breakouts);
	T_RUN(flamegraph_page_is_the_dashboards);
	T_RUN(flamegraph_render_bounds_and_errors);
	T_RUN(output_files_symlinks_rotation);
	return t_done();
}
