#!/usr/bin/python3
"""Kubernetes manifests and container images.

Manifests (deploy/kubernetes/*.yaml): validated offline against the Kubernetes API's schemas
and field names with tests/deploy/validate.mjs (npm: kubernetes-models, @kubernetes/client-node),
which also checks the references between them and is shown to catch a misspelt field and a
wrong type; and kept in step with the rest: the DaemonSet adds exactly the agent unit's
capabilities, every FLEETPROF_* variable they set is a flag of the program, the server's
uid and paths are the image's, the image tags are the programs' version.

Images (deploy/docker/Dockerfile.*): built with podman from a debian:12-slim made with
mmdebstrap (no registry is reachable here), then run as Kubernetes would run them: the agent
with the host's PID namespace and only the DaemonSet's capabilities profiles a workload, the
server as its uid serves the dashboard. The first build downloads the build dependencies
into the image (minutes); FLEETPROF_TEST_IMAGES=1 runs it, else it is skipped with the reason.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unitsandbox  # noqa: E402
from agentlib import Suite, Skip, check  # noqa: E402
from deploylib import (ROOT, PLAIN_ABS, WORKLOADS, SCRATCH, need, need_root, run, scratch,  # noqa: E402
                       help_flags, version_of, http_get, parse_collapsed, share_named, host_mirrors)

K8S = os.path.join(ROOT, "deploy", "kubernetes")
VALIDATE = os.path.join(ROOT, "tests", "deploy", "validate.mjs")
CACHE = os.environ.get("FLEETPROF_CACHE", "/var/tmp/fleetprof-test-cache")


def manifests():
    return sorted(glob.glob(os.path.join(K8S, "*.yaml")))


def need_validator():
    need("node")
    if not os.path.isdir(os.path.join(ROOT, "tests", "deploy", "node_modules", "kubernetes-models")):
        raise Skip("tests/deploy/node_modules missing (make deps runs tests/deploy/setup.sh)")


def validate(files):
    return run(["node", VALIDATE] + files, check_rc=False, cwd=os.path.join(ROOT, "tests", "deploy"),
               timeout=120)


def load_docs():
    """The manifests as Python objects, through the validator's YAML parser (no PyYAML needed)."""
    script = ("import fs from 'node:fs'; import {parseAllDocuments} from 'yaml';"
              "const out=[]; for (const f of process.argv.slice(1)) for (const d of "
              "parseAllDocuments(fs.readFileSync(f,'utf8'))) { const j=d.toJS(); if (j) out.push(j); }"
              "console.log(JSON.stringify(out));")
    r = run(["node", "--input-type=module", "-e", script] + manifests(),
            cwd=os.path.join(ROOT, "tests", "deploy"))
    return json.loads(r.stdout)


def test_manifests_validate(s):
    need_validator()
    r = validate(manifests())
    check(r.returncode == 0, "validate.mjs:\n%s%s" % (r.stdout, r.stderr[-1000:]))
    for f in manifests():
        check("ok %s" % f in r.stdout, "no verdict for %s: %s" % (f, r.stdout))


def test_validator_catches_mistakes(s):
    """A misspelt field (which Kubernetes would ignore), a wrong type and a dangling Secret
    reference are each reported."""
    need_validator()
    d = scratch("k8s-bad")
    agent = open(os.path.join(K8S, "agent.yaml")).read()
    cases = {
        "misspelt": (agent.replace("hostPID: true", "hostPid: true"), "unknown field spec.template.spec.hostPid"),
        "type": (agent.replace("maxUnavailable: 10%", "maxUnavailable: [1]"), "maxUnavailable"),
        "secret": (agent.replace("name: fleetprof-tokens", "name: fleetprof-tokenz"), "Secret fleetprof-tokenz"),
    }
    for name, (text, needle) in cases.items():
        check(text != agent, "case %s changed nothing" % name)
        path = os.path.join(d, name + ".yaml")
        open(path, "w").write(text)
        r = validate([os.path.join(K8S, "namespace.yaml"), os.path.join(K8S, "secret.yaml"), path])
        check(r.returncode == 1 and needle in r.stdout, "%s not caught: %s" % (name, r.stdout[-600:]))
    shutil.rmtree(d, ignore_errors=True)


def test_manifests_match_programs(s):
    need_validator()
    docs = load_docs()
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs if "metadata" in d}
    ds = by[("DaemonSet", "fleetprof-agent")]
    pod = ds["spec"]["template"]["spec"]
    check(pod.get("hostPID") is True, "the agent's pod needs hostPID")
    c = pod["containers"][0]
    added = sorted("CAP_" + x for x in c["securityContext"]["capabilities"]["add"])
    unit = unitsandbox.parse_unit(os.path.join(ROOT, "deploy", "fleetprof-agent.service"))
    unit_caps = sorted(unit["CapabilityBoundingSet"][-1].split())
    check(added == unit_caps, "DaemonSet adds %s, the unit allows %s" % (added, unit_caps))
    check(c["securityContext"]["capabilities"]["drop"] == ["ALL"], "the DaemonSet keeps default capabilities")
    check(c["securityContext"].get("privileged") is not True, "the agent's pod is privileged")

    agent_bin = os.path.join(PLAIN_ABS, "fleetprof-agent")
    server_bin = os.path.join(PLAIN_ABS, "fleetprof-server")
    if not (os.path.exists(agent_bin) and os.path.exists(server_bin)):
        raise Skip("programs not built in %s" % PLAIN_ABS)
    for kind, name, binary in (("DaemonSet", "fleetprof-agent", agent_bin),
                               ("Deployment", "fleetprof-server", server_bin)):
        flags = set(help_flags(binary))
        cont = by[(kind, name)]["spec"]["template"]["spec"]["containers"][0]
        for e in cont.get("env", []):
            flag = e["name"][len("FLEETPROF_"):].lower().replace("_", "-")
            check(e["name"].startswith("FLEETPROF_") and flag in flags,
                  "%s sets %s, which is no flag of %s" % (name, e["name"], os.path.basename(binary)))
        for a in cont.get("args", []):
            if a.startswith("--"):
                check(a[2:].split("=")[0] in flags, "%s passes unknown %s" % (name, a))
        version = version_of(binary)
        check(cont["image"] == "%s:%s" % (name, version), "%s image %s, version %s" % (name, cont["image"], version))

    dep = by[("Deployment", "fleetprof-server")]["spec"]["template"]["spec"]
    dockerfile = open(os.path.join(ROOT, "deploy", "docker", "Dockerfile.server")).read()
    m = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    check(m and dep["securityContext"]["runAsUser"] == int(m.group(1)),
          "server runAsUser %s, image USER %s" % (dep["securityContext"].get("runAsUser"), m and m.group(0)))
    mounts = {v["mountPath"] for v in dep["containers"][0]["volumeMounts"]}
    db = dep["containers"][0]["args"][dep["containers"][0]["args"].index("--db") + 1]
    check(os.path.dirname(db) in mounts, "the database %s is not on a volume (%s)" % (db, mounts))
    for path in ("/usr/share/fleetprof/web", "/usr/share/fleetprof/schema"):
        check(path in dockerfile, "Dockerfile.server does not pass %s" % path)


# ---- images ------------------------------------------------------------------------------------

def podman_runtime():
    """crun cannot run containers on a host with hybrid cgroups (as here); runc can."""
    for rt in ("crun", "runc"):
        if shutil.which(rt):
            r = run(["podman", "--runtime", rt, "run", "--rm", "--network=none"] + ulimits() +
                    ["debian:12-slim", "true"], check_rc=False, timeout=120)
            if r.returncode == 0:
                return rt
    raise Skip("podman cannot run containers here (crun and runc both failed)")


def ulimits():
    """podman asks for nofile/nproc limits of 1048576 by default, above this machine's hard
    limits (and no CAP_SYS_RESOURCE to raise them): ask for what the services need."""
    import resource
    out = []
    for name, res, want in (("nofile", resource.RLIMIT_NOFILE, 16384),
                            ("nproc", resource.RLIMIT_NPROC, 16384)):
        hard = resource.getrlimit(res)[1]
        v = want if hard == resource.RLIM_INFINITY else min(hard, want)
        out += ["--ulimit", "%s=%d:%d" % (name, v, v)]
    return out


def base_image():
    """debian:12-slim from an mmdebstrap minbase root (no registry is reachable)."""
    r = run(["podman", "image", "exists", "docker.io/library/debian:12-slim"], check_rc=False)
    if r.returncode == 0:
        return
    tar = os.path.join(CACHE, "bookworm-minbase-image.tar")
    if not os.path.exists(tar):
        os.makedirs(CACHE, exist_ok=True)
        r = run(["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", "--quiet", "bookworm",
                 tar + ".tmp"] + host_mirrors(), check_rc=False, timeout=900)
        if r.returncode != 0:
            raise Skip("mmdebstrap failed: %s" % r.stderr[-500:])
        os.rename(tar + ".tmp", tar)
    run(["podman", "import", tar, "docker.io/library/debian:12-slim"], timeout=600)


def test_images(s):
    need_root()
    need("podman", "mmdebstrap")
    if os.environ.get("FLEETPROF_TEST_IMAGES") != "1":
        raise Skip("set FLEETPROF_TEST_IMAGES=1 to build and run the images (the first build "
                   "downloads the build dependencies: minutes)")
    agent_bin = os.path.join(PLAIN_ABS, "fleetprof-agent")
    if not os.path.exists(agent_bin) or not os.path.exists(os.path.join(WORKLOADS, "split")):
        raise Skip("programs or workloads not built in %s" % PLAIN_ABS)
    version = version_of(agent_bin)
    base_image()
    rt = podman_runtime()
    times = {}
    for prog in ("server", "agent"):
        t0 = time.time()
        # chroot isolation: RUN steps need no OCI runtime (crun fails on hybrid cgroups)
        run(["podman", "build", "--isolation=chroot"] + ulimits() +
            ["--ignorefile", os.path.join(ROOT, "deploy", "docker", "Dockerfile.%s.dockerignore" % prog),
             "-f", os.path.join(ROOT, "deploy", "docker", "Dockerfile." + prog),
             "-t", "fleetprof-%s:%s" % (prog, version), ROOT], timeout=3600)
        times[prog] = time.time() - t0

    # the agent as the DaemonSet runs it
    docs_caps = ["BPF", "PERFMON", "SYS_PTRACE", "SYSLOG", "DAC_READ_SEARCH", "CHECKPOINT_RESTORE"]
    out = scratch("image-agent-out")
    wl = s.spawn([os.path.join(WORKLOADS, "split"), "30"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = wl.stdout.readline().decode()
    check(line.startswith("ready "), "workload: %r" % line)
    pid = line.split()[1]
    argv = ["podman", "--runtime", rt, "run", "--rm", "--pid=host", "--network=host", "--cap-drop=ALL"]
    argv += sum((["--cap-add", c] for c in docs_caps), [])
    argv += ["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
             "--read-only", "-v", "%s:/out" % out, "-v", "%s:/var/lib/fleetprof" % scratch("image-agent-state")] + ulimits()
    argv += ["-e", "FLEETPROF_ENABLE_HEARTBEAT_SERVER=false", "fleetprof-agent:%s" % version,
             "-d", "3", "-f", "99", "--pids", pid, "-o", "/out", "--no-flamegraph"]
    r = run(argv, check_rc=False, timeout=300)
    check(r.returncode == 0, "agent container exit %d: %s" % (r.returncode, r.stderr[-1500:]))
    _, stacks = parse_collapsed(os.path.join(out, "last_profile.col"))
    total, hit = share_named(stacks, "split", {"hot_a", "hot_b"})
    check(total >= 10 and hit >= 0.8 * total, "the agent image named %d of %d samples" % (hit, total))

    # the server as its Deployment runs it
    name = "fleetprof-test-server-%d" % os.getpid()
    r = run(["podman", "--runtime", rt, "run", "-d", "--name", name, "--network=host", "--read-only",
             "--user", "10001:10001", "--cap-drop=ALL", "--tmpfs", "/tmp"] + ulimits() +
            ["fleetprof-server:%s" % version, "--db", "/var/lib/fleetprof-server/fleetprof.db",
             "--port", "0", "--bind", "127.0.0.1"], timeout=120)
    try:
        port = None
        for _ in range(100):
            logs = run(["podman", "logs", name], check_rc=False).stderr
            m = re.search(r"listening on http://\S*?:(\d+)", logs)
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.2)
        check(port, "the server container did not start: %s" % logs[-1000:])
        st, body = http_get("http://127.0.0.1:%d/" % port)
        check(st == 200 and b"<html" in body.lower(), "GET / -> %d" % st)
    finally:
        run(["podman", "rm", "-f", name], check_rc=False)
    print("# image builds: server %.0f s, agent %.0f s" % (times["server"], times["agent"]))


if __name__ == "__main__":
    suite = Suite()
    if not SCRATCH.startswith(ROOT + "/"):   # outside the checkout: leave nothing behind
        suite.dirs.append(SCRATCH)
    suite.run([test_manifests_validate, test_validator_catches_mistakes, test_manifests_match_programs,
               test_images])
