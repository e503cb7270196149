#!/usr/bin/python3
"""Python profiling cost, side by side per mode (issue 5): the agent profiles N busy CPython
processes (tests/workloads/py/split.py) at F Hz for D s (20 at 11 Hz for 20 s, then 2 at 199 Hz
for 10 s, where per-sample costs dominate the fixed ones) with only Python sampling on
(--perf-mode disabled --python-mode MODE), and we report
  - agent CPU (user+sys of the agent process, from wait4), per second and per Python sample;
  - in pyperf mode the BPF program's own time (kernel.bpf_stats_enabled: run_time_ns/run_cnt of
    py_sample, read just before the agent exits), which runs in the sampled tasks' context and
    is not in the agent's CPU;
  - Python samples in the profile (stacks with _[p] frames).
Usage: bench.py [BUILD_DIR] (default build: optimized, no sanitizers)."""
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
PY = "/root/.pyenv/versions/3.12.1/bin/python3.12"
SPLIT = os.path.join(ROOT, "tests", "workloads", "py", "split.py")


def bpf_prog_stats(name):
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True).stdout
    for p in json.loads(out or "[]"):
        if p.get("name") == name:
            return p.get("run_time_ns", 0), p.get("run_cnt", 0)
    return 0, 0


def run(mode, NPROC, FREQ, DUR):
    tmp = tempfile.mkdtemp(prefix="fp-pybench-")
    procs = [subprocess.Popen([PY, SPLIT, str(DUR + 30)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(NPROC)]
    stats = {}
    try:
        time.sleep(1)
        ag = subprocess.Popen([os.path.join(BUILD, "fleetprof-agent"), "-d", str(DUR), "-f",
                               str(FREQ), "--no-flamegraph", "--no-progress", "--perf-mode",
                               "disabled", "--python-mode", mode, "--min-profiling-duration",
                               "0", "--pids", ",".join(str(p.pid) for p in procs), "-o", tmp],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def probe():
            time.sleep(DUR - 0.3)   # just before the snapshot ends (the agent exits right after)
            stats["bpf"] = bpf_prog_stats("py_sample")
        th = threading.Thread(target=probe)
        th.start()
        _, status, ru = os.wait4(ag.pid, 0)
        ag.returncode = os.waitstatus_to_exitcode(status)
        th.join()
        err = ag.stderr.read().decode(errors="replace")
        if ag.returncode != 0:
            raise SystemExit("agent failed: %s" % err[-1000:])
        samples = 0
        with open(os.path.join(tmp, "last_profile.col")) as f:
            for line in f:
                if line.startswith("#") or "_[p]" not in line:
                    continue
                samples += int(line.rsplit(" ", 1)[1])
        cpu = ru.ru_utime + ru.ru_stime
        return {"mode": mode, "agent_cpu_s": cpu, "samples": samples,
                "bpf_ns": stats.get("bpf", (0, 0))[0], "bpf_runs": stats.get("bpf", (0, 0))[1]}
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["rm", "-rf", tmp])


def main():
    for nproc, freq, dur in ((20, 11, 20), (2, 199, 10)):
        scenario(nproc, freq, dur)


def scenario(NPROC, FREQ, DUR):
    old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        rows = [run(m, NPROC, FREQ, DUR) for m in ("pyperf", "pyspy")]
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    print("%d busy CPython 3.12 processes, %d Hz, %d s, %d CPUs, --perf-mode disabled" % (
        NPROC, FREQ, DUR, os.cpu_count()))
    print("| mode | agent CPU (s) | agent CPU % of one core | Python samples | agent us/sample |"
          " BPF us/sample (in the sampled task) | total us/sample |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        per = 1e6 * r["agent_cpu_s"] / max(r["samples"], 1)
        bpf = r["bpf_ns"] / 1e3 / r["bpf_runs"] if r["bpf_runs"] else 0.0
        print("| %s | %.2f | %.2f%% | %d | %.1f | %s | %.1f |" % (
            r["mode"], r["agent_cpu_s"], 100 * r["agent_cpu_s"] / DUR, r["samples"], per,
            "%.1f (%d runs)" % (bpf, r["bpf_runs"]) if r["bpf_runs"] else "-", per + bpf))
    print()


if __name__ == "__main__":
    main()
