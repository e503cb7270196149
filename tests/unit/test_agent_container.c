/* test_agent_container.c — cgroup path -> container id / name, table-driven. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "t.h"
#include "container.h"

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
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
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

T_TEST(name_of_pid_short_id_and_docker_name)
{
	char dir[] = "/tmp/fp-cont-XXXXXX", path[512], name[128];
	if (!mkdtemp(dir))
		T_SKIP("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/42", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/42/cgroup", dir);
	write_file(path, "0::/system.slice/docker-" ID ".scope\n");
	snprintf(path, sizeof(path), "%s/proc/43", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/43/cgroup", dir);
	write_file(path, "0::/user.slice\n");

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
		T_CHECK(container_name_of_pid(path, droot, 42, name, sizeof(name)) == 1);
		T_CHECKF(strcmp(name, "web_frontend") == 0, "docker name '%s'", name);
		unlink(cfg);
		rmdir(cdir);
		snprintf(cdir, sizeof(cdir), "%s/containers", droot);
		rmdir(cdir);
		rmdir(droot);
	}
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	T_CHECK(system(path) == 0);
}

int main(void)
{
	T_RUN(parse_cgroup_table);
	T_RUN(name_of_pid_short_id_and_docker_name);
	return t_done();
}
