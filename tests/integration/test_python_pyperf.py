#!/usr/bin/python3
"""Ground truth for Python frames walked in BPF (issue 5, --python-mode pyperf/auto):
- split_3_1 (every installed CPython 3.8-3.13, two at a time, 6 s at 99 Hz, pyperf mode): the log
  says each process is served by BPF; hot_a gets 75% +- 5 points of worker()'s samples, worker
  is the caller of hot_a/hot_b, no native samples kept for the process;
- kernel_below_python: a function that reads /dev/zero in a loop shows its kernel frames below
  its Python frames ("...;kread (file)_[p];<kernel>_[k]...") and no Python frame ever follows a
  kernel frame;
- exit_mid_run: a process that exits 3 s into a 5 s profile keeps its samples (hot_a share
  within 75 +- 10 points on the smaller sample), the agent exits 0 without ERROR lines;
- fallback_per_process: FLEETPROF_PYBPF_MAX_PROCS=1 with two interpreters: in auto mode one is
  walked in BPF, the other read from user space, both with the 3:1 split; in pyperf mode the
  second is left to native sampling (no _[p] frames, native frames kept);
- own_pid_namespace: a process under unshare --pid (its thread state holds a namespace tid,
  which is 1) is walked in BPF with worker's 3:1 split;
- skip_pyperf_above: --python-skip-pyperf-profiler-above 1 with two interpreters in pyperf mode
  reads both from user space (log line), both with the 3:1 split."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import Suite, check, finish, need_root_bpf, agent_env, cpu_ticks, CLK_TCK
from test_python import pythons, load, check_split, suite_tests, SPLIT

FREQ = 199
DUR = 12   # enough samples (about 1,200+ per process) that +-5 points is about 4 sigma

KREAD = r'''
import os, sys, time
def kread(fd):
    for _ in range(50):
        os.read(fd, 1 << 16)
def loop(end):
    fd = os.open("/dev/zero", os.O_RDONLY)
    while time.time() < end:
        kread(fd)
loop(time.time() + float(sys.argv[1]))
'''


CHURN = r'''
import sys, threading, time
def churn(end):
    x = 0
    while time.time() < end:
        x += 1
def main(secs, life):
    stop = time.time() + secs
    while time.time() < stop:
        t = threading.Thread(target=churn, args=(time.time() + life,))
        t.start()
        t.join()
main(float(sys.argv[1]), float(sys.argv[2]))
'''


def spawn_split(s, exe, secs, extra=()):
    return s.spawn([exe, SPLIT, str(secs)] + list(extra), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def run_agent(s, pids, mode, dur=DUR, extra=(), env=None):
    out = s.tmpdir()
    ag = s.agent(["-d", str(dur), "-f", str(FREQ), "--no-flamegraph", "--no-progress",
                  "--python-mode", mode, "--min-profiling-duration", "0"] + list(extra) +
                 ["--pids", ",".join(str(p) for p in pids), "-o", out],
                 env=env or agent_env())
    rc, _, err = finish(ag, dur + 40)
    check(rc == 0, "agent exited %d: %s" % (rc, err[-1500:]))
    check("ERROR" not in err, "errors logged: %s" % [l for l in err.splitlines() if "ERROR" in l])
    return load(os.path.join(out, "last_profile.col")), err


def bpf_line(err, pid):
    return any("python: process %d " % pid in l and "frames walked in BPF" in l
               for l in err.splitlines())


def run_pair(s, vers, exes):
    need_root_bpf()
    procs = {m: spawn_split(s, exes[m], DUR + 10) for m in vers}
    time.sleep(0.5)
    stacks, err = run_agent(s, [p.pid for p in procs.values()], "pyperf")
    for m in vers:
        check(bpf_line(err, procs[m].pid), "3.%d: not served by BPF: %s" % (m, err[-800:]))
        check_split(stacks, "python3.%d" % m, "3.%d pyperf" % m)


def kernel_below_python(s, exes):
    need_root_bpf()
    exe = exes[max(exes)]
    script = os.path.join(s.tmpdir(), "kread.py")
    with open(script, "w") as f:
        f.write(KREAD)
    p = s.spawn([exe, script, "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    stacks, err = run_agent(s, [p.pid], "pyperf", dur=4)
    comm = os.path.basename(exe)
    leaf = "kread (%s)_[p]" % script
    with_kernel = total = 0
    for k, v in stacks.items():
        fr = k.split(";")
        if fr[2] != comm:
            continue
        total += v
        kidx = [i for i, f in enumerate(fr) if f.endswith("_[k]")]
        pidx = [i for i, f in enumerate(fr) if f.endswith("_[p]")]
        check(pidx, "a sample without Python frames: %s" % k)
        if kidx:
            check(min(kidx) > max(pidx), "Python frame below a kernel frame: %s" % k)
            check(fr[max(pidx)] == leaf and min(kidx) == max(pidx) + 1,
                  "kernel frames not right below kread: %s" % k)
            with_kernel += v
    check(total >= 200, "only %d samples: %s" % (total, list(stacks.items())[:3]))
    check(with_kernel >= total // 2, "only %d of %d samples with kernel frames" % (
        with_kernel, total))
    print("# kernel frames under kread in %d of %d samples" % (with_kernel, total))


def exit_mid_run(s, exes):
    need_root_bpf()
    m = min(exes)
    stay = max(exes)
    ex = spawn_split(s, exes[m], 3.5)
    other = spawn_split(s, exes[stay], 20)
    time.sleep(0.5)
    stacks, err = run_agent(s, [ex.pid, other.pid], "pyperf", dur=8)
    check(ex.poll() is not None, "the exiting process still runs")
    check_split(stacks, "python3.%d" % m, "3.%d exited mid-run" % m, tol=10, min_samples=150)
    check_split(stacks, "python3.%d" % stay, "3.%d alongside" % stay)


def fallback_per_process(s, exes):
    need_root_bpf()
    vers = sorted(exes)[-2:]
    if len(vers) < 2:
        raise Exception("needs two CPython versions")
    env = agent_env()
    env["FLEETPROF_PYBPF_MAX_PROCS"] = "1"
    procs = {m: spawn_split(s, exes[m], 30) for m in vers}
    time.sleep(0.5)
    pids = [procs[m].pid for m in vers]
    stacks, err = run_agent(s, pids, "auto", env=env)
    served = [m for m in vers if bpf_line(err, procs[m].pid)]
    check(len(served) == 1, "want exactly one process in BPF, got %s: %s" % (served, err[-800:]))
    other = [m for m in vers if m not in served][0]
    check(any("process %d " % procs[other].pid in l and "reading it from user space" in l
              for l in err.splitlines()), "no fallback line for %d" % procs[other].pid)
    for m in vers:
        check_split(stacks, "python3.%d" % m, "auto 3.%d (%s)" % (
            m, "bpf" if m in served else "user space"))
    # pyperf: BPF only, the other process keeps native stacks
    stacks, err = run_agent(s, pids, "pyperf", env=env, dur=3)
    served = [m for m in vers if bpf_line(err, procs[m].pid)]
    check(len(served) == 1, "pyperf: want one process in BPF, got %s" % served)
    other = [m for m in vers if m not in served][0]
    check(any("process %d " % procs[other].pid in l and "left to native sampling" in l
              for l in err.splitlines()), "pyperf: no native fallback line")
    rows = [(k, v) for k, v in stacks.items() if k.split(";")[2] == "python3.%d" % other]
    check(rows and not any("_[p]" in k for k, _ in rows) and sum(v for _, v in rows) > 100,
          "pyperf: want native stacks only for 3.%d: %s" % (other, rows[:3]))
    check_split(stacks, "python3.%d" % served[0], "pyperf 3.%d" % served[0], min_samples=150)


def own_pid_namespace(s, exes, mode="pyperf"):
    need_root_bpf()
    m = 11 if 11 in exes else max(exes)
    u = s.spawn(["unshare", "--pid", "--fork", "--kill-child", exes[m], SPLIT, "30"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child = None
    for _ in range(50):
        time.sleep(0.1)
        try:
            with open("/proc/%d/task/%d/children" % (u.pid, u.pid)) as f:
                kids = f.read().split()
        except OSError:
            kids = []
        if kids:
            child = int(kids[0])
            break
    check(child, "unshare started no child")
    with open("/proc/%d/status" % child) as f:
        nspid = [l for l in f if l.startswith("NSpid:")][0].split()[1:]
    check(len(nspid) == 2, "not in its own PID namespace: NSpid %s" % nspid)
    time.sleep(0.5)
    stacks, err = run_agent(s, [child], mode)
    if mode == "pyperf":
        check(bpf_line(err, child), "not served by BPF: %s" % err[-800:])
    else:
        check(not bpf_line(err, child), "pyspy mode went to BPF: %s" % err[-800:])
    comm = "python3.%d" % m
    check_split(stacks, comm, "3.%d in its own PID namespace (%s)" % (m, mode))


def own_pid_namespace_pyspy(s, exes):
    # the user-space reader checks whether a thread runs in /proc by its host tid: the thread
    # state holds the namespace's (before this, the process vanished from the profile)
    own_pid_namespace(s, exes, "pyspy")


def skip_pyperf_above(s, exes):
    need_root_bpf()
    vers = sorted(exes)[:2]
    procs = {m: spawn_split(s, exes[m], 20) for m in vers}
    time.sleep(0.5)
    stacks, err = run_agent(s, [p.pid for p in procs.values()], "pyperf",
                            extra=["--python-skip-pyperf-profiler-above", "1"])
    check("reading them from user space" in err, "no user-space switch line: %s" % err[-800:])
    check(not any(bpf_line(err, p.pid) for p in procs.values()), "a process went to BPF")
    for m in vers:
        check_split(stacks, "python3.%d" % m, "3.%d above the pyperf limit" % m)


def new_threads(s, exes):
    """Every 0.4 s a new thread does all the work. The thread table used to be re-read once a
    second, and the samples of a thread it did not know yet were dropped: about 20% of the
    CPU time of such a process was left. A sample of an unknown thread now makes the agent
    read the threads at once."""
    need_root_bpf()
    vers = sorted({min(exes), max(exes)})
    procs = {m: s.spawn([exes[m], "-c", CHURN, "30", "0.4"], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL) for m in vers}
    time.sleep(0.5)
    t0 = {m: cpu_ticks(procs[m].pid) for m in vers}
    stacks, err = run_agent(s, [p.pid for p in procs.values()], "pyperf", dur=6)
    for m in vers:
        cpu_s = (cpu_ticks(procs[m].pid) - t0[m]) / CLK_TCK
        check(bpf_line(err, procs[m].pid), "3.%d not served by BPF: %s" % (m, err[-800:]))
        rows = [(k, v) for k, v in stacks.items() if k.split(";")[2] == "python3.%d" % m]
        total = sum(v for _, v in rows)
        named = sum(v for k, v in rows if "churn (<string>)_[p]" in k)
        # the CPU-time window also holds the agent's start (BPF load), which a loaded machine
        # stretches; /proc reads low under load. 60% still tells 93% (seen) from 20% (before).
        check(total >= 0.6 * cpu_s * FREQ, "3.%d: %d samples for %.2f CPU-seconds at %d Hz: "
              "the new threads' samples were lost; top: %s" % (m, total, cpu_s, FREQ, rows[:3]))
        check(named >= 0.9 * total, "3.%d: %d of %d samples of short-lived threads have their "
              "Python frames (want 90%%); top: %s" % (m, named, total,
                                                     sorted(rows, key=lambda kv: -kv[1])[:3]))
        print("# 3.%d: %d samples for %.2f CPU-seconds, %d of them named" % (m, total, cpu_s, named))


SPIN_C = r'''
#include <pthread.h>
static volatile unsigned long n;
__attribute__((noinline)) void native_spin_inner(void)
{
	for (int i = 0; i < 1000; i++)
		n++;
}
static void *spin(void *arg)
{
	for (;;)
		native_spin_inner();
	return arg;
}
int spin_start(void)
{
	pthread_t t;
	return pthread_create(&t, NULL, spin, NULL);
}
'''

PYLOOP = r'''
import ctypes, sys, time
ctypes.CDLL(sys.argv[1]).spin_start()
def pyloop(end):
    x = 0
    while time.time() < end:
        x += 1
pyloop(time.time() + float(sys.argv[2]))
'''


def thread_ticks(pid):
    """{tid: utime+stime} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[int(tid)] = int(fields[11]) + int(fields[12])
    return out


def native_thread(s, exes, mode="pyperf"):
    """A Python process whose second thread is native only (a C library's worker, as BLAS
    pools are): it has no thread state, so no Python frame walk sees it. Its samples keep
    their native stacks, and the Python thread's native samples are still dropped; before,
    the native thread's CPU time vanished from the profile. In both modes."""
    need_root_bpf()
    if shutil.which("cc") is None:
        raise Exception("needs cc")
    m = max(exes)
    tmp = s.tmpdir()
    src, lib = os.path.join(tmp, "spin.c"), os.path.join(tmp, "libspin.so")
    with open(src, "w") as f:
        f.write(SPIN_C)
    subprocess.run(["cc", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC", "-o", lib, src,
                    "-lpthread"], check=True)
    proc = s.spawn([exes[m], "-c", PYLOOP, lib, "30"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    t0 = thread_ticks(proc.pid)
    stacks, err = run_agent(s, [proc.pid], mode, dur=5)
    t1 = thread_ticks(proc.pid)
    cpu = {tid: (t1[tid] - t0.get(tid, 0)) / CLK_TCK for tid in t1}
    main_cpu = cpu.get(proc.pid, 0)
    spin_cpu = sum(c for tid, c in cpu.items() if tid != proc.pid)
    rows = [(k, v) for k, v in stacks.items() if k.split(";")[2] == "python3.%d" % m]
    py = sum(v for k, v in rows if "pyloop (<string>)_[p]" in k)
    spin = sum(v for k, v in rows if "native_spin_inner" in k or ";spin" in k)
    other = [(k, v) for k, v in rows if "_[p]" not in k and "spin" not in k]
    print("# 3.%d %s: Python thread %d samples for %.2f CPU-s, native thread %d for %.2f CPU-s"
          % (m, mode, py, main_cpu, spin, spin_cpu))
    check(bpf_line(err, proc.pid) == (mode == "pyperf"), "BPF served it in %s mode? %s" % (
        mode, err[-800:]))
    # 60%: the CPU-time window also holds the agent's start (seen: 97-100% now, 0 before)
    check(spin >= 0.6 * spin_cpu * FREQ, "native thread: %d samples for %.2f CPU-seconds at "
          "%d Hz; top: %s" % (spin, spin_cpu, FREQ, sorted(rows, key=lambda kv: -kv[1])[:3]))
    check(py >= 0.6 * main_cpu * FREQ, "Python thread: %d samples for %.2f CPU-seconds" % (
        py, main_cpu))
    check(sum(v for _, v in other) <= 0.02 * (py + spin), "native stacks of the Python thread "
          "kept (counted twice): %s" % sorted(other, key=lambda kv: -kv[1])[:3])


def native_thread_pyspy(s, exes):
    native_thread(s, exes, "pyspy")


def make_tests():
    return suite_tests(pythons(), run_pair,
                       (kernel_below_python, exit_mid_run, fallback_per_process, own_pid_namespace,
                        own_pid_namespace_pyspy, skip_pyperf_above, new_threads, native_thread,
                        native_thread_pyspy), prefix="pyperf_")


if __name__ == "__main__":
    Suite().run(make_tests())
