/* test_agent_container.c — cgroup path -> container id / name, table-driven. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "t.h"
#include "agent_fixtures.h"
#include "container.h"
#include "util.h"

#define ID "3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"

static const struct {
	const char *name, *text;
	enum container_kind kind;
	const char *id, *pod;
} cases[] = {
	{ "host_v2", "0::/user.slice/user-0.slice/session-3.scope\n", CONTAINER_NONE, "", "" },
	{ "host_v1", "12:cpu,cpuacct:/\n11:memory:/system.slice/sshd.service\n", CONTAINER_NONE, "", "" },
	{ "docker_cgroupfs_v1", "12:cpu,cpuacct:/docker/" ID "\n11:memory:/docker/" ID "\n",
	  CONTAINER_DOCKER, ID, "" },
	{ "docker_cgroupfs_v2", "0::/docker/" ID "\n", CONTAINER_DOCKER, ID, "" },
	{ "docker_systemd", "0::/system.slice/docker-" ID ".scope\n", CONTAINER_DOCKER, ID, "" },
	{ "containerd_k8s_systemd",
	  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
	  "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-" ID ".scope\n",
	  CONTAINER_CONTAINERD, ID, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901" },
	{ "crio_k8s", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
	  "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/crio-" ID ".scope\n",
	  CONTAINER_CRIO, ID, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901" },
	{ "k8s_cgroupfs_v1", "4:memory:/kubepods/burstable/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/" ID "\n",
	  CONTAINER_OTHER, ID, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901" },
	{ "podman", "0::/machine.slice/libpod-" ID ".scope/container\n", CONTAINER_PODMAN, ID, "" },
	{ "containerd_namespace", "0::/default/" ID "\n", CONTAINER_OTHER, ID, "" },
	{ "crio_conmon_not_container", "0::/machine.slice/crio-conmon-" ID ".scope\n", CONTAINER_NONE, "", "" },
	{ "short_hex_not_id", "0::/docker/abc123\n", CONTAINER_NONE, "", "" },
	{ "uppercase_not_id", "0::/docker/3F4E1C2B9A8D7E6F5A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F\n",
	  CONTAINER_NONE, "", "" },
	{ "empty", "", CONTAINER_NONE, "", "" },
	{ "garbage", "no colons here\n::\n", CONTAINER_NONE, "", "" },
};

T_TEST(parse_cgroup_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct container_info info;
		int found = container_parse_cgroup(cases[i].text, &info);
		T_CHECKF(found == (cases[i].kind != CONTAINER_NONE), "%s: found %d", cases[i].name, found);
		T_CHECKF(info.kind == cases[i].kind, "%s: kind %d want %d", cases[i].name, info.kind,
			 cases[i].kind);
		T_CHECKF(strcmp(info.id, cases[i].id) == 0, "%s: id '%s'", cases[i].name, info.id);
		T_CHECKF(strcmp(info.pod_uid, cases[i].pod) == 0, "%s: pod '%s'", cases[i].name,
			 info.pod_uid);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* dir/proc/<pid>/cgroup holding cgroup */
static void fake_proc(const char *dir, int pid, const char *cgroup)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d", dir, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d/cgroup", dir, pid);
	write_file(path, cgroup);
}

T_TEST(name_of_pid_short_id_and_docker_name)
{
	char dir[] = "/tmp/fp-cont-XXXXXX", path[512], name[128];
	if (!mkdtemp(dir))
		T_SKIP("mkdtemp failed");
	fake_proc(dir, 42, "0::/system.slice/docker-" ID ".scope\n");
	fake_proc(dir, 43, "0::/user.slice\n");

	snprintf(path, sizeof(path), "%s/proc", dir);
	T_CHECK(container_name_of_pid(path, NULL, 42, name, sizeof(name)) == 1);
	T_CHECKF(strcmp(name, "3f4e1c2b9a8d") == 0, "short id '%s'", name);
	T_CHECK(container_name_of_pid(path, NULL, 43, name, sizeof(name)) == 0 && name[0] == '\0');
	T_CHECK(container_name_of_pid(path, NULL, 44, name, sizeof(name)) == 0 && name[0] == '\0');

	{
		char droot[512], cdir[600], cfg[700];
		snprintf(droot, sizeof(droot), "%s/docker", dir);
		mkdir(droot, 0755);
		snprintf(cdir, sizeof(cdir), "%s/containers", droot);
		mkdir(cdir, 0755);
		snprintf(cdir, sizeof(cdir), "%s/containers/" ID, droot);
		mkdir(cdir, 0755);
		snprintf(cfg, sizeof(cfg), "%s/config.v2.json", cdir);
		write_file(cfg, "{\"ID\":\"" ID "\",\"Name\":\"/web;frontend\",\"State\":{}}");
		struct container_roots roots = { .docker = droot };
		T_CHECK(container_name_of_pid(path, &roots, 42, name, sizeof(name)) == 1);
		T_CHECKF(strcmp(name, "web_frontend") == 0, "docker name '%s'", name);
		unlink(cfg);
		rmdir(cdir);
		snprintf(cdir, sizeof(cdir), "%s/containers", droot);
		rmdir(cdir);
		rmdir(droot);
	}
	fixture_rmtree(dir);
}

T_TEST(kube_name_from_log_link)
{
	char out[160];
	T_CHECK(container_kube_name("/var/log/pods/default_web-7d4f9c_0b6c1a52-3e3f-4bd4-9a55-1c2d3e4f5a6b/nginx/2.log",
				    out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "k8s_nginx_web-7d4f9c_default_0b6c1a52-3e3f-4bd4-9a55-1c2d3e4f5a6b_2") == 0,
		 "'%s'", out);
	/* relative targets, as some kubelets write them */
	T_CHECK(container_kube_name("../pods/kube-system_coredns-abc_11111111-2222-3333-4444-555555555555/coredns/0.log",
				    out, sizeof(out)) == 0);
	T_CHECKF(strcmp(out, "k8s_coredns_coredns-abc_kube-system_11111111-2222-3333-4444-555555555555_0") == 0,
		 "'%s'", out);
	/* not a pod log path: refused, never half a name */
	T_CHECK(container_kube_name("/var/log/pods/nounderscore/ctr/0.log", out, sizeof(out)) == -EINVAL);
	T_CHECK(container_kube_name("/var/log/pods/ns_pod_uid/ctr/zero.log", out, sizeof(out)) == -EINVAL);
	T_CHECK(container_kube_name("/var/log/pods/ns_pod_uid/ctr/0.txt", out, sizeof(out)) == -EINVAL);
	T_CHECK(container_kube_name("ctr/0.log", out, sizeof(out)) == -EINVAL);
	T_CHECK(container_kube_name("/ns__uid/ctr/0.log", out, sizeof(out)) == -EINVAL);
	T_CHECK(container_kube_name("", out, sizeof(out)) == -EINVAL);
	T_CHECK(container_kube_name("/p/ns_pod_uid/ctr/0.log", out, 10) == -ENAMETOOLONG && out[0] == '\0');
}

T_TEST(name_of_pid_kubernetes_containerd)
{
	char dir[] = "/tmp/fp-kube-XXXXXX", path[512], name[160], link[700], proc[600];
	struct container_roots roots;
	if (!mkdtemp(dir))
		T_SKIP("mkdtemp failed");
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	fake_proc(dir, 42, "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b6c1a52_3e3f_4bd4_9a55_1c2d3e4f5a6b.slice/cri-containerd-" ID ".scope\n");
	snprintf(path, sizeof(path), "%s/log", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/log/containers", dir);
	mkdir(path, 0755);
	/* another container's link first, one whose id only ends like ours */
	snprintf(link, sizeof(link), "%s/log/containers/other_default_side-aa" ID ".log", dir);
	T_CHECK(symlink("/var/log/pods/default_other_x/side/0.log", link) == 0);
	snprintf(link, sizeof(link), "%s/log/containers/web-7d4f9c_default_nginx-" ID ".log", dir);
	T_CHECK(symlink("/var/log/pods/default_web-7d4f9c_0b6c1a52-3e3f-4bd4-9a55-1c2d3e4f5a6b/nginx/1.log", link) == 0);
	snprintf(path, sizeof(path), "%s/log", dir);
	roots = (struct container_roots){ .docker = NULL, .kube_logs = path };
	T_CHECK(container_name_of_pid(proc, &roots, 42, name, sizeof(name)) == 1);
	T_CHECKF(strcmp(name, "k8s_nginx_web-7d4f9c_default_0b6c1a52-3e3f-4bd4-9a55-1c2d3e4f5a6b_1") == 0, "'%s'", name);
	/* a link naming another pod than the cgroup path does: not trusted, the short id */
	unlink(link);
	T_CHECK(symlink("/var/log/pods/default_web-7d4f9c_99999999-3e3f-4bd4-9a55-1c2d3e4f5a6b/nginx/1.log", link) == 0);
	T_CHECK(container_name_of_pid(proc, &roots, 42, name, sizeof(name)) == 1);
	T_CHECKF(strcmp(name, "3f4e1c2b9a8d") == 0, "'%s'", name);
	/* no kubelet logs (not Kubernetes, or not mounted): the short id */
	roots.kube_logs = "/nonexistent";
	T_CHECK(container_name_of_pid(proc, &roots, 42, name, sizeof(name)) == 1);
	T_CHECKF(strcmp(name, "3f4e1c2b9a8d") == 0, "'%s'", name);
	fixture_rmtree(dir);
}

int main(void)
{
	T_RUN(parse_cgroup_table);
	T_RUN(name_of_pid_short_id_and_docker_name);
	T_RUN(kube_name_from_log_link);
	T_RUN(name_of_pid_kubernetes_containerd);
	return t_done();
}
