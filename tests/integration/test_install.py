#!/usr/bin/python3
"""make install and what it installs: the expected files for the default prefix and for /usr
(DESTDIR), settings never overwritten, units that name the prefix's paths and pass
systemd-analyze verify, man pages that render without warnings and describe every flag of
--help, an installed server that serves the installed dashboard with the unit's command line,
and the agent and the server running under their units' sandboxes (emulated by unitsandbox.py:
PID 1 here is not systemd). The agent's capability set is shown minimal: without each
capability of the unit, something the agent names is lost."""
import glob
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unitsandbox  # noqa: E402
from agentlib import Suite, Skip, check  # noqa: E402
from deploylib import (ROOT, PLAIN, PLAIN_ABS, WORKLOADS, SCRATCH, need, need_root, run, scratch,  # noqa: E402
                       tree_files, expected_install, make, help_flags, version_of, http_get, Proc,
                       parse_collapsed, share_named, kernel_frames)

AGENT = os.path.join(PLAIN_ABS, "fleetprof-agent")
SERVER = os.path.join(PLAIN_ABS, "fleetprof-server")
AGENT_UNIT = os.path.join(ROOT, "deploy", "fleetprof-agent.service")
SERVER_UNIT = os.path.join(ROOT, "deploy", "fleetprof-server.service")


def need_programs():
    for b in (AGENT, SERVER):
        if not os.path.exists(b):
            raise Skip("%s missing (make builds it)" % b)


# ---- make install -------------------------------------------------------------------------------

def test_install_default_prefix(s):
    need_programs()
    dest = scratch("destdir-local")
    make("-s", "install", "B=" + PLAIN, "DESTDIR=" + dest)
    got = ["/" + f for f in tree_files(dest)]
    want = expected_install("/usr/local")
    check(got == want, "files differ from the expected ones:\n  extra %s\n  missing %s" % (
        sorted(set(got) - set(want)), sorted(set(want) - set(got))))
    for prog in ("agent", "server"):
        st = os.stat(dest + "/usr/local/sbin/fleetprof-" + prog)
        check(stat.S_IMODE(st.st_mode) == 0o755, "fleetprof-%s mode %o" % (prog, st.st_mode))
    for conf in ("agent.conf", "server.env"):
        st = os.stat(dest + "/etc/fleetprof/" + conf)
        check(stat.S_IMODE(st.st_mode) == 0o600, "%s mode %o (holds tokens: 0600)" % (conf, st.st_mode))
    unit = open(dest + "/usr/local/lib/systemd/system/fleetprof-server.service").read()
    check("ExecStart=/usr/local/sbin/fleetprof-server" in unit and
          "--web /usr/local/share/fleetprof/web" in unit and
          "--schema /usr/local/share/fleetprof/schema" in unit, "server unit paths:\n" + unit)


def test_install_usr_prefix_keeps_settings(s):
    need_programs()
    dest = scratch("destdir-usr")
    make("-s", "install", "B=" + PLAIN, "DESTDIR=" + dest, "PREFIX=/usr")
    got = ["/" + f for f in tree_files(dest)]
    want = expected_install("/usr")
    check(got == want, "files differ:\n  extra %s\n  missing %s" % (
        sorted(set(got) - set(want)), sorted(set(want) - set(got))))
    for prog, needle in (("agent", "ExecStart=/usr/sbin/fleetprof-agent "),
                         ("server", "--web /usr/share/fleetprof/web")):
        unit = open("%s/usr/lib/systemd/system/fleetprof-%s.service" % (dest, prog)).read()
        check(needle in unit and "/usr/local" not in unit.split("[Unit]")[1],
              "%s unit not rewritten for /usr:\n%s" % (prog, unit))
    # an administrator's settings survive a second install
    conf = dest + "/etc/fleetprof/agent.conf"
    with open(conf, "a") as f:
        f.write("service-name = edited\n")
    r = make("install", "B=" + PLAIN, "DESTDIR=" + dest, "PREFIX=/usr")
    check("service-name = edited" in open(conf).read(), "make install overwrote agent.conf")
    check("keep" in r.stdout, "no 'keep' line for the existing settings: %s" % r.stdout[-500:])
    for d in (dest, SCRATCH + "/destdir-local"):
        shutil.rmtree(d, ignore_errors=True)


def test_units_verify(s):
    """systemd-analyze verify on the installed units, with the binaries and man pages they
    name present (installed to a real prefix)."""
    need("systemd-analyze")
    need_programs()
    prefix = scratch("prefix-verify")
    make("-s", "install", "B=" + PLAIN, "PREFIX=" + prefix, "SYSCONFDIR=" + prefix + "/etc")
    env = dict(os.environ, MANPATH=prefix + "/share/man")
    for prog in ("server", "agent"):
        unit = "%s/lib/systemd/system/fleetprof-%s.service" % (prefix, prog)
        r = run(["systemd-analyze", "verify", unit], check_rc=False, env=env)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out, "verify %s: exit %d: %s" % (prog, r.returncode, out))
    # the units in deploy/ name /usr/local: verify them too, for everything but the binary path
    for unit in (AGENT_UNIT, SERVER_UNIT):
        r = run(["systemd-analyze", "verify", "--man=no", unit], check_rc=False)
        lines = [l for l in (r.stdout + r.stderr).splitlines()
                 if "is not executable: No such file or directory" not in l]
        check(not lines, "verify %s: %s" % (os.path.basename(unit), lines))
    shutil.rmtree(prefix, ignore_errors=True)


def test_man_pages(s):
    """Each man page renders without groff warnings, names the version the program prints,
    and describes every --flag its --help names."""
    need("man", "groff")
    need_programs()
    for prog, binary in (("agent", AGENT), ("server", SERVER)):
        page = os.path.join(ROOT, "docs", "man", "fleetprof-%s.8" % prog)
        r = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page],
                env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
        check(not r.stderr.strip(), "%s: groff warnings: %s" % (page, r.stderr[-800:]))
        src = open(page).read()
        th = [l for l in src.splitlines() if l.startswith(".TH ")]
        check(th and ('"fleetprof %s"' % version_of(binary)) in th[0],
              "%s: .TH does not name version %s: %s" % (page, version_of(binary), th))
        text = src.replace("\\-", "-")
        missing = [f for f in help_flags(binary) if "--" + f not in text]
        check(not missing, "fleetprof-%s.8 does not describe %s" % (prog, missing))


def test_installed_server_serves_dashboard(s):
    """The server started with the installed unit's command line finds the installed web/ and
    schema/, and generates its tokens (0600) on the first start."""
    need_programs()
    prefix = scratch("prefix-server")
    make("-s", "install-server", "B=" + PLAIN, "PREFIX=" + prefix, "SYSCONFDIR=" + prefix + "/etc")
    props = unitsandbox.parse_unit(prefix + "/lib/systemd/system/fleetprof-server.service")
    argv = unitsandbox.exec_start(props)
    check(argv[0] == prefix + "/sbin/fleetprof-server", "ExecStart %s" % argv)
    state = os.path.join(prefix, "state")
    argv += ["--db", state + "/fleetprof.db", "--port", "0", "--bind", "127.0.0.1"]
    srv = Proc(argv, cwd="/")   # not the checkout: web/ and schema/ must come from the prefix
    try:
        st, body = http_get("http://127.0.0.1:%d/" % srv.port)
        check(st == 200 and b"<html" in body.lower(), "GET / -> %d %r" % (st, body[:100]))
        want = open(prefix + "/share/fleetprof/web/index.html", "rb").read()
        check(body == want, "GET / is not the installed index.html")
        st, _ = http_get("http://127.0.0.1:%d/api/v1/health_check" % srv.port)
        check(st == 200, "health %d" % st)
        tok = os.stat(state + "/tokens")
        check(stat.S_IMODE(tok.st_mode) == 0o600, "tokens mode %o" % tok.st_mode)
    finally:
        rc = srv.stop()
    check(rc == 0, "server exit %s: %s" % (rc, srv.err.decode(errors="replace")[-800:]))
    shutil.rmtree(prefix, ignore_errors=True)


def test_server_under_unit_sandbox(s):
    """The server under its unit's sandbox (no capabilities, ProcSubset=pid, ProtectProc=
    invisible, ~@privileged @resources, ...) as an unprivileged user serves the dashboard."""
    need_root()
    need("unshare", "setpriv", "systemd-analyze")
    need_programs()
    try:
        import seccomp  # noqa: F401 (only whether it is there)
    except ImportError:
        raise Skip("python3-seccomp is not installed (make deps installs it)")
    prefix = scratch("prefix-server-sbx")
    os.chmod(SCRATCH, 0o755)
    make("-s", "install-server", "B=" + PLAIN, "PREFIX=" + prefix, "SYSCONFDIR=" + prefix + "/etc")
    unit = prefix + "/lib/systemd/system/fleetprof-server.service"
    sbx = os.path.join(prefix, "sandbox")
    argv = unitsandbox.exec_start(unitsandbox.parse_unit(unit))
    state = unitsandbox.state_dir(unit, sbx, "fleetprof-server")
    argv += ["--db", state + "/fleetprof.db", "--port", "0", "--bind", "127.0.0.1"]
    # the unit's User=fleetprof may not exist here: nobody stands in for it
    srv = Proc(unitsandbox.command(unit, argv, scratch=sbx, user="nobody"), cwd="/")
    try:
        st, body = http_get("http://127.0.0.1:%d/" % srv.port)
        check(st == 200 and b"<html" in body.lower(), "GET / -> %d" % st)
        tok = os.stat(state + "/tokens")
        check(tok.st_uid == pwd.getpwnam("nobody").pw_uid and stat.S_IMODE(tok.st_mode) == 0o600,
              "tokens owned by %d mode %o" % (tok.st_uid, tok.st_mode))
    finally:
        rc = srv.stop()
    check(rc == 0, "server exit %s: %s" % (rc, srv.err.decode(errors="replace")[-1500:]))
    subprocess.run(["umount", "-R", "-l", sbx], stderr=subprocess.DEVNULL)
    shutil.rmtree(prefix, ignore_errors=True)


# ---- the agent under its unit's sandbox; the capability set ------------------------------------

class Workloads:
    """Processes whose functions the agent must name, each needing something of the agent:
      fpcap_user   another user's program in a directory only that user may enter (under /home:
                   ProtectHome= must not hide it)   -> CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH
      fpcap_del    another user's program whose file was deleted   -> CAP_CHECKPOINT_RESTORE
      fpcap_root   root's program with every capability   -> CAP_SYS_PTRACE even for one uid
      python3.11   another user's Python, read with process_vm_readv (--python-mode pyspy)
      dd           a process that lives in the kernel (zeroes copied to /dev/null), so that
                   every run has kernel samples to name, however quiet the machine
    """

    def __init__(self, s):
        self.s = s
        base = "/home" if os.path.isdir("/home") else SCRATCH
        self.top = tempfile.mkdtemp(prefix="fleetprof-caps-", dir=base)
        s.dirs.append(self.top)
        priv = os.path.join(self.top, "priv")
        os.mkdir(priv)
        shutil.copy(os.path.join(WORKLOADS, "split_pie"), priv + "/fpcap_user")
        shutil.copy(os.path.join(WORKLOADS, "split"), priv + "/fpcap_del")
        shutil.copy(os.path.join(ROOT, "tests", "workloads", "py", "split.py"), priv + "/split.py")
        self.python = None
        for exe in ["/usr/bin/python3.11"] + sorted(glob.glob("/usr/bin/python3.[0-9]*")):
            if os.path.exists(exe) and os.path.basename(exe) != "python3.11-config":
                self.python = os.path.basename(exe)
                shutil.copy(exe, priv + "/" + self.python)
                break
        subprocess.run(["chown", "-R", "nobody:nogroup", priv], check=True)
        os.chmod(priv, 0o700)
        os.chmod(self.top, 0o755)
        shutil.copy(os.path.join(WORKLOADS, "split"), self.top + "/fpcap_root")
        nobody = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
        for argv in ([priv + "/fpcap_user", "0"], [priv + "/fpcap_del", "0"]):
            p = s.spawn(nobody + argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            check(p.stdout.readline().startswith(b"ready"), "workload %s did not start" % argv[0])
        os.unlink(priv + "/fpcap_del")
        p = s.spawn([self.top + "/fpcap_root", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        check(p.stdout.readline().startswith(b"ready"), "root workload did not start")
        if self.python:
            s.spawn(nobody + [priv + "/" + self.python, priv + "/split.py", "3600"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s.spawn(nobody + ["dd", "if=/dev/zero", "of=/dev/null", "bs=1M"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)

    def stop(self):
        for p in self.s.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)


_installed = {}


def installed_agent():
    """The agent installed below the scratch directory (make install-agent), where the sandbox
    sees it whichever directory the checkout is in."""
    if "agent" not in _installed:
        prefix = scratch("prefix-agent")
        os.chmod(SCRATCH, 0o755)
        make("-s", "install-agent", "B=" + PLAIN, "PREFIX=" + prefix, "SYSCONFDIR=" + prefix + "/etc")
        _installed["agent"] = prefix + "/sbin/fleetprof-agent"
    return _installed["agent"]


def agent_run(s, name, patch=None, extra=(), sandbox=True):
    """One 3-second system-wide profile under the agent unit's sandbox (patched). Returns
    (exit status, stderr, header, stacks)."""
    sbx = os.path.join(SCRATCH, "agent-sbx")
    out = os.path.join(sbx, "out-" + name)
    os.makedirs(out, exist_ok=True)
    argv = [installed_agent(), "-d", "3", "-f", "99", "-o", out, "--no-flamegraph", "--no-progress",
            "--min-profiling-duration", "0", "--python-mode", "pyspy",
            "--state-dir", unitsandbox.state_dir(AGENT_UNIT, sbx, "fleetprof")] + list(extra)
    if sandbox:
        argv = unitsandbox.command(AGENT_UNIT, argv, scratch=sbx, rw=[out], patch=patch)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    path = os.path.join(out, "last_profile.col")
    if r.returncode != 0 or not os.path.exists(path):
        return r.returncode, r.stderr, None, []
    h, st = parse_collapsed(path)
    return r.returncode, r.stderr, h, st


def named(stacks, comm, names=("hot_a", "hot_b")):
    total, hit = share_named(stacks, comm, set(names))
    return total, hit


def py_named(stacks, comm):
    total = hit = 0
    for frames, c in stacks:
        if len(frames) > 2 and frames[2] == comm:
            total += c
            if any(f.startswith("hot_a (") and f.endswith("_[p]") for f in frames):
                hit += c
    return total, hit


def need_agent_sandbox():
    need_root()
    need("unshare", "setpriv", "systemd-analyze")
    need_programs()
    if not os.path.exists(os.path.join(WORKLOADS, "split_pie")):
        raise Skip("workloads missing: %s" % WORKLOADS)
    try:
        import seccomp  # noqa: F401 (only whether it is there)
    except ImportError:
        raise Skip("python3-seccomp is not installed (make deps installs it)")


# Samples a workload must have for a verdict: 3 s at 99 Hz gives ~300 on an idle CPU, and still
# tens on this 2-CPU machine shared by many (load 15-20).
MIN_SAMPLES = 10
PARANOID = int(open("/proc/sys/kernel/perf_event_paranoid").read())
UNIT_CAPS = unitsandbox.parse_unit(AGENT_UNIT).get("CapabilityBoundingSet", [""])[-1].split()


def check_full(stacks, header, w, what):
    for comm in ("fpcap_user", "fpcap_del", "fpcap_root"):
        total, hit = named(stacks, comm)
        check(total >= MIN_SAMPLES and hit >= 0.8 * total,
              "%s: %s: %d of %d samples name hot_a/hot_b" % (what, comm, hit, total))
    if w.python:
        total, hit = py_named(stacks, w.python)
        check(total >= MIN_SAMPLES and hit >= 0.4 * total,
              "%s: %s: %d of %d samples name hot_a (split.py)_[p]" % (what, w.python, hit, total))
    kn, ku = kernel_frames(stacks)
    check(kn > 0 and ku <= kn // 10, "%s: kernel frames: %d named, %d not" % (what, kn, ku))


def test_agent_under_unit_sandbox(s):
    """The agent under deploy/fleetprof-agent.service's sandbox (its capabilities, read-only
    system, private /tmp and /dev, home directories hidden, the seccomp filter) samples the
    whole system with BPF and names other users' native and Python functions and the kernel's;
    with --perf-mode perf (the fallback) too."""
    need_agent_sandbox()
    w = Workloads(s)
    try:
        rc, err, h, st = agent_run(s, "unit")
        check(rc == 0 and h, "agent exit %d: %s" % (rc, err[-1500:]))
        check(h["metadata"]["perf_mode"] == "bpf", "mode %s: %s" % (h["metadata"]["perf_mode"], err[-800:]))
        check_full(st, h, w, "unit sandbox")
        rc, err, h, st = agent_run(s, "unit-perf", extra=["--perf-mode", "perf"])
        check(rc == 0 and h and h["metadata"]["perf_mode"] == "perf", "perf mode: exit %d: %s" % (rc, err[-800:]))
        check_full(st, h, w, "unit sandbox, --perf-mode perf")
    finally:
        w.stop()


def test_unit_sandbox_emulation_bites(s):
    """The emulation is not a no-op: ProtectKernelTunables=yes (which hides /proc/kallsyms, and
    which the unit therefore does not set) leaves kernel frames unnamed."""
    need_agent_sandbox()
    w = Workloads(s)
    try:
        rc, err, h, st = agent_run(s, "tunables", patch={"ProtectKernelTunables": ["yes"]})
        check(rc == 0 and h, "agent exit %d: %s" % (rc, err[-1000:]))
        kn, ku = kernel_frames(st)
        check(kn == 0 and ku > 0, "with ProtectKernelTunables: %d kernel frames named, %d not" % (kn, ku))
    finally:
        w.stop()


def test_agent_capabilities_minimal(s):
    """Each capability of the unit is needed: the agent runs without each in turn and loses
    what it is for (see fleetprof-agent(8), PRIVILEGES)."""
    need_agent_sandbox()
    check(sorted(UNIT_CAPS) == sorted(["CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_SYSLOG",
                                       "CAP_DAC_READ_SEARCH", "CAP_CHECKPOINT_RESTORE"]),
          "the unit's set changed (%s): update this test and the man page" % UNIT_CAPS)
    w = Workloads(s)
    try:
        for cap in UNIT_CAPS:
            rest = " ".join(c for c in UNIT_CAPS if c != cap)
            rc, err, h, st = agent_run(s, "no-" + cap, patch={"CapabilityBoundingSet": [rest]})
            what = "without %s" % cap
            if cap == "CAP_PERFMON":
                check(rc == 1 and "Permission denied" in err, "%s: exit %d: %s" % (what, rc, err[-600:]))
                continue
            check(rc == 0 and h, "%s: exit %d: %s" % (what, rc, err[-600:]))
            if cap == "CAP_BPF":
                check(h["metadata"]["perf_mode"] == "perf", "%s: mode %s" % (what, h["metadata"]["perf_mode"]))
                check_full(st, h, w, what)   # the fallback still names everything
            elif cap == "CAP_SYS_PTRACE":
                for comm in ("fpcap_user", "fpcap_del", "fpcap_root"):
                    total, hit = named(st, comm)
                    check(total >= MIN_SAMPLES and hit == 0, "%s: %s named %d of %d" % (what, comm, hit, total))
                if w.python:
                    total, hit = py_named(st, w.python)
                    check(hit == 0, "%s: Python named %d of %d" % (what, hit, total))
            elif cap == "CAP_SYSLOG":
                kn, ku = kernel_frames(st)
                if PARANOID > 1:
                    check(kn == 0 and ku > 0, "%s: kernel frames %d named, %d not" % (what, kn, ku))
            elif cap == "CAP_DAC_READ_SEARCH":
                total, hit = named(st, "fpcap_user")
                check(total >= MIN_SAMPLES and hit == 0, "%s: private-directory program named %d of %d" % (what, hit, total))
                total, hit = named(st, "fpcap_root")
                check(total >= MIN_SAMPLES and hit >= 0.8 * total, "%s: root's program named %d of %d" % (what, hit, total))
            elif cap == "CAP_CHECKPOINT_RESTORE":
                total, hit = named(st, "fpcap_del")
                check(total >= MIN_SAMPLES and hit == 0, "%s: deleted program named %d of %d" % (what, hit, total))
                total, hit = named(st, "fpcap_user")
                check(total >= MIN_SAMPLES and hit >= 0.8 * total, "%s: present program named %d of %d" % (what, hit, total))
    finally:
        w.stop()


if __name__ == "__main__":
    suite = Suite()
    if not SCRATCH.startswith(ROOT + "/"):   # outside the checkout: leave nothing behind
        suite.dirs.append(SCRATCH)
    suite.run([test_install_default_prefix, test_install_usr_prefix_keeps_settings,
               test_units_verify, test_man_pages, test_installed_server_serves_dashboard,
               test_server_under_unit_sandbox, test_agent_under_unit_sandbox,
               test_unit_sandbox_emulation_bites, test_agent_capabilities_minimal])
