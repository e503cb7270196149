"""agentlib — helpers for the agent's integration tests (Python 3 stdlib only).

Runs the real build/<dir>/fleetprof-agent as root against the ground-truth workloads of
tests/workloads (built into $FLEETPROF_BUILD/tests/workloads), parses the profiles it writes and
computes attributions. Every process and temp dir started here is cleaned up by Suite.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("FLEETPROF_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.join(ROOT, os.environ.get("FLEETPROF_BUILD", "build/san"))
AGENT = os.path.join(BUILD, "fleetprof-agent")
WORKLOADS = os.path.join(BUILD, "tests", "workloads")


class Skip(Exception):
    pass


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def need_root_bpf():
    if os.geteuid() != 0:
        raise Skip("needs root (perf_event_open and BPF)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise Skip("kernel has no BTF (/sys/kernel/btf/vmlinux)")
    if not os.path.exists(AGENT):
        raise Skip("agent binary missing: %s" % AGENT)
    if not os.path.exists(os.path.join(WORKLOADS, "split")):
        raise Skip("workloads missing: %s" % WORKLOADS)


def agent_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


class Suite:
    """Runs test functions, prints ok/FAIL/skip lines, cleans up processes and dirs."""

    def __init__(self):
        self.procs = []
        self.dirs = []
        self.failed = 0

    def tmpdir(self, prefix="fp-agent-"):
        d = tempfile.mkdtemp(prefix=prefix)
        self.dirs.append(d)
        return d

    def spawn(self, argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def workload(self, path, seconds, threads=1, argv0=None, wrap=None):
        """Start a workload; returns (Popen, pid of the workload process) once it runs."""
        argv = [path, str(seconds), str(threads)]
        if wrap:
            argv = wrap + argv
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline().decode()
        check(line.startswith("ready "), "workload %s did not start: %r" % (path, line))
        return p, int(line.split()[1])

    def agent(self, args, **kw):
        kw.setdefault("env", agent_env())
        return self.spawn([AGENT] + list(args), **kw)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=10)
            except Exception:
                pass
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        self.procs = []
        for d in self.dirs:
            subprocess.run(["umount", "-l", d], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            shutil.rmtree(d, ignore_errors=True)
        self.dirs = []

    def run(self, tests):
        for fn in tests:
            name = fn.__name__
            try:
                fn(self)
                print("ok %s" % name)
            except Skip as e:
                print("skip %s: %s" % (name, e))
            except TestFailure as e:
                self.failed += 1
                print("FAIL %s: %s" % (name, e))
            except Exception as e:  # a bug in the test or a crash: still one FAIL line
                self.failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            sys.stdout.flush()
        self.cleanup()
        sys.exit(1 if self.failed else 0)


def spawn_workload(path, seconds, threads=1):
    """Start a tests/workloads program in its own session; returns (Popen, pid) once it printed
    "ready <pid>". The caller kills it (os.killpg) when done."""
    p = subprocess.Popen([path, str(seconds), str(threads)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    line = p.stdout.readline().decode()
    if not line.startswith("ready "):
        p.kill()
        p.wait()
        raise TestFailure("workload %s did not start: %r" % (path, line))
    return p, int(line.split()[1])


def finish(p, timeout, what="agent"):
    """Wait for p; returns (rc, stdout, stderr). Kills and fails on timeout."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise TestFailure("%s did not finish in %ss; stderr: %s" % (what, timeout, err.decode()[-800:]))
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def parse_profile_text(text):
    """-> (header dict or None, [(frames list, count)]). Frames include appid, container, comm."""
    header = None
    stacks = []
    for i, line in enumerate(text.splitlines()):
        if i == 0 and line.startswith("# "):
            header = json.loads(line[2:])
            continue
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return header, stacks


def parse_profile(path):
    with open(path, encoding="utf-8") as f:
        return parse_profile_text(f.read())


def cpu_ticks(pid):
    """utime+stime of a whole process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


CLK_TCK = os.sysconf("SC_CLK_TCK")


def split_attribution(stacks, comm):
    """For one workload comm: (hot_a, hot_b, total, errors) where errors lists stacks whose
    hot frame is not called by worker (wrong order or a lost caller)."""
    a = b = total = 0
    errors = []
    for frames, count in stacks:
        if len(frames) < 3 or frames[2] != comm:
            continue
        total += count
        hot = [i for i, f in enumerate(frames) if f in ("hot_a", "hot_b")]
        if not hot:
            continue
        i = hot[0]
        if frames[i] == "hot_a":
            a += count
        else:
            b += count
        if frames[i - 1] != "worker":
            errors.append(";".join(frames))
        elif "main" in frames and frames.index("main") != i - 2:
            errors.append(";".join(frames))
    return a, b, total, errors


def top_stacks(stacks, comm, n=4):
    mine = sorted(((c, ";".join(f)) for f, c in stacks if len(f) > 2 and f[2] == comm), reverse=True)
    return " | ".join("%s %d" % (st, c) for c, st in mine[:n])


def check_split(stacks, comm, tolerance=3.0, min_samples=300):
    a, b, total, errors = split_attribution(stacks, comm)
    check(a + b >= min_samples, "%s: only %d hot samples (hot_a %d, hot_b %d, all %d); top: %s"
          % (comm, a + b, a, b, total, top_stacks(stacks, comm)))
    share = 100.0 * a / (a + b)
    check(abs(share - 75.0) <= tolerance,
          "%s: hot_a share %.1f%% (hot_a %d, hot_b %d), want 75 +- %.0f; top: %s"
          % (comm, share, a, b, tolerance, top_stacks(stacks, comm)))
    check(not errors[:1], "%s: hot frame not called by worker (main before it): %s" % (comm, errors[:3]))
    return share, a, b
