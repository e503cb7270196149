/* container.h — the container a process runs in, from its cgroup path (/proc/PID/cgroup):
 * Docker (cgroupfs "/docker/<id>" and systemd "docker-<id>.scope"), containerd
 * ("cri-containerd-<id>.scope", "/<namespace>/<id>"), CRI-O ("crio-<id>.scope"), Podman
 * ("libpod-<id>.scope") and Kubernetes pods ("/kubepods/.../pod<uid>/<id>",
 * "kubepods-...-pod<uid>.slice/..."), cgroup v1 and v2.
 *
 * The name is the Docker container name when /var/lib/docker/containers/<id>/config.v2.json
 * says it; else, for Kubernetes pods on any runtime (containerd, CRI-O), the name dockershim
 * used (k8s_<container>_<pod>_<namespace>_<pod uid>_<restarts>, as gProfiler reports it), read
 * from the kubelet's log link /var/log/containers/<pod>_<namespace>_<container>-<id>.log; else
 * the first 12 hex digits of the container id (what `docker ps` shows).
 * Host processes have no container: the name is "".
 */
#ifndef FP_CONTAINER_H
#define FP_CONTAINER_H

#include <stddef.h>
#include <sys/types.h>

#define CONTAINER_ID_LEN 64

enum container_kind {
	CONTAINER_NONE = 0,
	CONTAINER_DOCKER,
	CONTAINER_CONTAINERD,
	CONTAINER_CRIO,
	CONTAINER_PODMAN,
	CONTAINER_OTHER,     /* a 64-hex id under kubepods or elsewhere, runtime unknown */
};

struct container_info {
	enum container_kind kind;
	char id[CONTAINER_ID_LEN + 1];   /* full id, "" when none */
	char pod_uid[40];                /* Kubernetes pod uid (dashes), "" when none */
};

/* Parse the text of a /proc/PID/cgroup file. Returns 1 when a container was found, 0 when
 * the process is on the host (info->kind = CONTAINER_NONE). Pure; never fails. */
int container_parse_cgroup(const char *text, struct container_info *info);

/* Where container names are looked up; NULL members (or roots) skip that look-up. */
struct container_roots {
	const char *docker;      /* "/var/lib/docker": containers/<id>/config.v2.json */
	const char *kube_logs;   /* "/var/log": the kubelet's containers/<pod>_<ns>_<ctr>-<id>.log */
};

/* Name of pid's container into out ("" for host processes or when /proc is unreadable).
 * Returns 1 (container), 0 (host or unknown). */
int container_name_of_pid(const char *proc_root, const struct container_roots *roots, pid_t pid,
			  char *out, size_t n);

/* The name of a Kubernetes container from the target of its kubelet log link
 * (".../pods/<namespace>_<pod>_<uid>/<container>/<restart>.log"), built as dockershim did and
 * gProfiler does for CRI runtimes: k8s_<container>_<pod>_<namespace>_<uid>_<restart>.
 * 0, or -EINVAL (not such a path) / -ENAMETOOLONG (out[0] = '\0'). Exposed for tests. */
int container_kube_name(const char *link_target, char *out, size_t n);

#endif
