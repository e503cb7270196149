#!/usr/bin/python3
"""Agent benchmark: system-wide sampling for DURATION s at 11 Hz and 99 Hz with 40 busy
processes, fleetprof-agent vs the pipeline gProfiler runs (`perf record -a -g` followed by
`perf script`). CPU time (user+sys, from wait4's rusage of each child) and peak RSS (ru_maxrss,
i.e. VmHWM) side by side. Writes the "Agent" section of bench/RESULTS.md.

  bench.py BUILD_DIR [DURATION]
"""
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import json

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
DURATION = int(sys.argv[2]) if len(sys.argv) > 2 else 20
BUSY = 40
PERF = shutil.which("perf") or "/usr/bin/perf"


def measured(argv, **kw):
    """Run argv to completion; (user+sys seconds, max RSS MiB, wall seconds)."""
    t = time.time()
    p = subprocess.Popen(argv, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("%s exited %d" % (argv[0], p.returncode))
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, time.time() - t


def bpf_cost(into):
    """Run time per invocation of the agent's perf_event program ("sample"), from the kernel's
    BPF statistics (kernel.bpf_stats_enabled), read while the agent still runs."""
    try:
        progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                          text=True, timeout=10).stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return
    for p in progs:
        if p.get("name") == "sample" and p.get("run_cnt"):
            into["bpf_us"] = p["run_time_ns"] / p["run_cnt"] / 1000.0
            into["bpf_cnt"] = p["run_cnt"]


def run_case(freq, tmp):
    out = os.path.join(tmp, "agent-%d" % freq)
    cost = {}
    timer = threading.Timer(max(DURATION - 3, 1), bpf_cost, args=(cost,))
    timer.start()
    a_cpu, a_rss, _ = measured([os.path.join(BUILD, "fleetprof-agent"), "-d", str(DURATION), "-f", str(freq),
                                "--no-progress", "-o", out], stderr=subprocess.DEVNULL)
    timer.join()
    prof = open(os.path.join(out, "last_profile.col")).read()
    samples = int(re.search(r'"samples":(\d+)', prof).group(1))
    data = os.path.join(tmp, "perf-%d.data" % freq)
    r_cpu, r_rss, _ = measured([PERF, "record", "-a", "-g", "-F", str(freq), "-o", data, "--", "sleep", str(DURATION)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(tmp, "perf-%d.txt" % freq), "w") as f:
        s_cpu, s_rss, _ = measured([PERF, "script", "-i", data], stdout=f, stderr=subprocess.DEVNULL)
    return {"freq": freq, "agent_cpu": a_cpu, "agent_rss": a_rss, "samples": samples,
            "bpf_us": cost.get("bpf_us"),
            "perf_cpu": r_cpu + s_cpu, "perf_rss": max(r_rss, s_rss), "record_cpu": r_cpu, "script_cpu": s_cpu,
            "record_rss": r_rss, "script_rss": s_rss}


def main():
    if os.geteuid() != 0:
        print("bench/agent: needs root, skipped")
        return 0
    wl = os.path.join(BUILD, "tests", "workloads", "split")
    for p in (wl, os.path.join(BUILD, "fleetprof-agent"), PERF):
        if not os.path.exists(p):
            print("bench/agent: missing %s" % p)
            return 1
    tmp = tempfile.mkdtemp(prefix="fp-bench-agent-")
    busy = [subprocess.Popen([wl, "0", "1"], stdout=subprocess.DEVNULL, start_new_session=True) for _ in range(BUSY)]
    rows = []
    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    stats_was = open(stats_path).read().strip() if os.path.exists(stats_path) else None
    try:
        if stats_was is not None:
            with open(stats_path, "w") as f:
                f.write("1")
        time.sleep(1)
        for freq in (11, 99):
            rows.append(run_case(freq, tmp))
    finally:
        if stats_was is not None:
            with open(stats_path, "w") as f:
                f.write(stats_was)
        for p in busy:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    cpu = "unknown"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
    except Exception:
        pass
    lines = ["## Agent", "",
             "`bench/agent/run.sh`: system-wide, %d s, %d busy processes (tests/workloads/split), agent "
             "(BPF mode, -O2, no sanitizers) vs `perf record -a -g -F HZ` + `perf script` (gProfiler's pipeline). "
             "CPU = user+sys of the process(es) from wait4; RSS = peak (ru_maxrss). In-kernel sampling work (the BPF "
             "program, perf's callchain copy) runs in the sampled tasks' context and is in neither CPU column; "
             "the BPF program's own time per sample is read from the kernel's BPF statistics "
             "(kernel.bpf_stats_enabled) while the agent runs." % (DURATION, BUSY), "",
             "Machine: %s, %d CPUs, kernel %s; %s UTC." % (cpu, os.cpu_count(), platform.release(),
                                                          datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")), "",
             "| Hz | agent CPU s | agent peak RSS MiB | samples | BPF program per sample | perf record+script CPU s | perf peak RSS MiB | agent/perf CPU |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        bpf = "%.1f µs" % r["bpf_us"] if r.get("bpf_us") else "n/a"
        lines.append("| %d | %.3f | %.1f | %d | %s | %.3f (%.3f + %.3f) | %.1f (record %.1f, script %.1f) | %.0f%% |" % (
            r["freq"], r["agent_cpu"], r["agent_rss"], r["samples"], bpf, r["perf_cpu"], r["record_cpu"], r["script_cpu"],
            r["perf_rss"], r["record_rss"], r["script_rss"], 100.0 * r["agent_cpu"] / r["perf_cpu"] if r["perf_cpu"] else 0))
    lines += ["", "Targets: agent CPU <= 50% of perf's, agent RSS <= 30 MiB."]
    section = "\n".join(lines)
    print(section)
    ok = all(r["agent_cpu"] <= 0.5 * r["perf_cpu"] and r["agent_rss"] <= 30 for r in rows)
    print("targets met" if ok else "TARGETS MISSED")

    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# fleetprof benchmark results\n"
    block = "<!-- agent:begin -->\n%s\n<!-- agent:end -->" % section
    if "<!-- agent:begin -->" in text:
        text = re.sub(r"<!-- agent:begin -->.*?<!-- agent:end -->", lambda m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
