"""deploylib — helpers for the install, package and deployment tests (Python 3 stdlib only).

test_install.py (make install, units, man pages, the agent under its unit's sandbox),
test_deb.py (make deb, lintian, install/upgrade/purge in a Debian chroot) and test_deploy.py
(container images, Kubernetes manifests) share these. They print ok/FAIL/skip lines through
agentlib's Suite.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

from agentlib import Skip, TestFailure, check  # noqa: F401 (re-exported)

ROOT = os.environ.get("FLEETPROF_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
# make install and the packages use the plain build (sanitizer builds are not installed)
PLAIN = os.environ.get("FLEETPROF_PLAIN_BUILD", "build")
PLAIN_ABS = PLAIN if os.path.isabs(PLAIN) else os.path.join(ROOT, PLAIN)
WORKLOADS = os.path.join(PLAIN_ABS, "tests", "workloads")


def _scratch_root():
    """Scratch space outside /tmp, /var/tmp, /home and /root: the units' PrivateTmp= and
    ProtectHome= hide those from a sandboxed program, which must see its binary and files."""
    if os.environ.get("FLEETPROF_SCRATCH"):
        return os.environ["FLEETPROF_SCRATCH"]
    cand = os.path.join(ROOT, "build", "test-deploy")
    hidden = ("/tmp/", "/var/tmp/", "/home/", "/root/", "/run/user/")
    if not any(os.path.realpath(cand).startswith(h) for h in hidden):
        return cand
    return "/var/lib/fleetprof-test"   # the checkout is where a sandbox cannot see it


SCRATCH = _scratch_root()


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            raise Skip("%s is not installed (make deps installs it)" % t)


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root")


def run(argv, timeout=600, check_rc=True, **kw):
    """subprocess.run with text output; a failure raises TestFailure with the output's tail."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    try:
        r = subprocess.run(argv, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s: timed out after %ss" % (" ".join(argv)[:200], timeout))
    if check_rc and r.returncode != 0:
        raise TestFailure("%s: exit %d\n%s\n%s" % (" ".join(argv)[:300], r.returncode,
                                                  (r.stdout or "")[-1500:], (r.stderr or "")[-2500:]))
    return r


def scratch(name):
    """A fresh directory below build/test-deploy/."""
    d = os.path.join(SCRATCH, name)
    if os.path.exists(d):
        subprocess.run(["umount", "-R", "-l", d], stderr=subprocess.DEVNULL)
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def tree_files(top):
    """Every file and symlink below top, as paths relative to it, sorted."""
    out = []
    for d, dirs, files in os.walk(top):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), top))
        for s in dirs:
            p = os.path.join(d, s)
            if os.path.islink(p):
                out.append(os.path.relpath(p, top))
    return sorted(out)


def source_files(sub):
    """Files of the checkout's web/ or schema/ (what make install copies), relative to ROOT."""
    return [os.path.join(sub, f) for f in tree_files(os.path.join(ROOT, sub))]


def expected_install(prefix="/usr/local", sysconfdir="/etc", unitdir=None, programs=("server", "agent")):
    """The files `make install` must produce (absolute paths without DESTDIR)."""
    unitdir = unitdir or prefix + "/lib/systemd/system"
    out = []
    if "server" in programs:
        out += [prefix + "/sbin/fleetprof-server",
                unitdir + "/fleetprof-server.service",
                prefix + "/lib/sysusers.d/fleetprof.conf",
                prefix + "/share/man/man8/fleetprof-server.8",
                prefix + "/share/doc/fleetprof/examples/server.env.example",
                sysconfdir + "/fleetprof/server.env"]
        out += [prefix + "/share/fleetprof/" + f for f in source_files("web") + source_files("schema")]
    if "agent" in programs:
        out += [prefix + "/sbin/fleetprof-agent",
                unitdir + "/fleetprof-agent.service",
                prefix + "/share/man/man8/fleetprof-agent.8",
                prefix + "/share/doc/fleetprof/examples/agent.conf.example",
                sysconfdir + "/fleetprof/agent.conf"]
    return sorted(out)


def make(*args, timeout=900):
    return run(["make", "--no-print-directory", "-C", ROOT] + list(args), timeout=timeout)


def help_flags(binary):
    """The --long flags a program's --help names."""
    out = run([binary, "--help"]).stdout
    flags = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]+)", out))
    return sorted(flags - {"flag"})   # the server's usage line: "[--flag value | --flag=value]"


def version_of(binary):
    return run([binary, "--version"]).stdout.split()[-1]


def http_get(url, timeout=5, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


class Proc:
    """A started server: its Popen and the port it printed."""

    def __init__(self, argv, **kw):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True, **kw)
        self.port = None
        self.err = b""
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.p.stderr.readline()
            if not line:
                break
            self.err += line
            m = re.search(rb"listening on https?://\S*?:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise TestFailure("server did not start: %s" % self.err.decode(errors="replace")[-1500:])

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
        try:
            _, err = self.p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            _, err = self.p.communicate()
        self.err += err or b""
        return self.p.returncode


def parse_collapsed(path):
    """-> (header, [(frames, count)]); frames include appid, container and comm."""
    header, stacks = None, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f):
            line = line.rstrip("\n")
            if i == 0 and line.startswith("# "):
                header = json.loads(line[2:])
                continue
            if not line:
                continue
            st, _, c = line.rpartition(" ")
            stacks.append((st.split(";"), int(c)))
    return header, stacks


def share_named(stacks, comm, names):
    """(samples of comm, samples of comm whose stack holds one of names)."""
    total = hit = 0
    for frames, c in stacks:
        if len(frames) > 2 and frames[2] == comm:
            total += c
            if any(f in names for f in frames[3:]):
                hit += c
    return total, hit


def kernel_frames(stacks):
    """(named kernel frames, unnamed kernel frames) over all samples."""
    named = unnamed = 0
    for frames, c in stacks:
        for f in frames[3:]:
            if f.endswith("_[k]"):
                if f.startswith("[") or f.startswith("0x"):
                    unnamed += c
                else:
                    named += c
    return named, unnamed


def host_mirrors():
    """mmdebstrap's MIRROR arguments: this host's Debian sources (what apt reaches here), else
    mmdebstrap's default (deb.debian.org)."""
    for f in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        if os.path.exists(f) and "debian" in open(f).read():
            return [f]
    return []
