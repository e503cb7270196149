#!/usr/bin/python3
"""Ground truth for the agent's sampling: a frame-pointer workload splitting CPU 3:1 between
hot_a and hot_b (both called by worker(), called by main() on the main thread) is profiled by
three agents at once — BPF with --pids, BPF system-wide, and the perf_event fallback — at 199 Hz.
Each must attribute 75% +- 3 points to hot_a, put callers before callees, and count as many
samples as the workload's own CPU time says (199 per CPU-second, +-12%)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import (Suite, check, check_split, cpu_ticks, finish, need_root_bpf, parse_profile,
                      split_attribution, CLK_TCK, WORKLOADS)

FREQ = 199
DUR = 6
results = {}


def run_three(s):
    need_root_bpf()
    if results:
        return results
    wl, pid = s.workload(os.path.join(WORKLOADS, "split"), DUR + 8, threads=2)
    outs = {k: s.tmpdir() for k in ("pids", "system", "perf")}
    common = ["-d", str(DUR), "-f", str(FREQ), "--no-flamegraph", "--no-progress"]
    t0 = cpu_ticks(pid)
    agents = {
        "pids": s.agent(common + ["--pids", str(pid), "-o", outs["pids"]]),
        "system": s.agent(common + ["--perf-mode", "bpf", "-o", outs["system"]]),
        "perf": s.agent(common + ["--perf-mode", "perf", "-o", outs["perf"]]),
    }
    for k, p in agents.items():
        rc, out, err = finish(p, DUR + 40, "agent (%s)" % k)
        check(rc == 0, "agent %s exited %d: %s" % (k, rc, err[-1500:]))
        results[k] = parse_profile(os.path.join(outs[k], "last_profile.col"))
    results["cpu_s"] = (cpu_ticks(pid) - t0) / CLK_TCK
    results["pid"] = pid
    return results


def test_pids_mode_share_and_order(s):
    r = run_three(s)
    header, stacks = r["pids"]
    check_split(stacks, "split")
    comms = {f[2] for f, _ in stacks}
    check(comms == {"split"}, "--pids profile holds other processes: %s" % sorted(comms))
    check(header["metadata"]["perf_mode"] == "bpf", "mode %s" % header["metadata"]["perf_mode"])


def test_pids_mode_sample_count_matches_cpu_time(s):
    r = run_three(s)
    header, stacks = r["pids"]
    total = sum(c for _, c in stacks)
    check(header["metadata"]["samples"] == total,
          "header samples %d != sum of stack counts %d" % (header["metadata"]["samples"], total))
    # the agents ran a little shorter than the CPU-time window; at most 2 CPUs were busy.
    # /proc's utime+stime are tick-sampled and read up to ~15% low on a loaded machine (seen:
    # 850 samples for 3.58 s), while double counting across map sets would read ~2x: 1.15 keeps
    # that failure visible without failing on load.
    want = r["cpu_s"] * FREQ
    check(0.80 * want <= total <= 1.15 * want,
          "%d samples for %.2f CPU-seconds at %d Hz (want about %.0f)" % (total, r["cpu_s"], FREQ, want))


def test_system_wide_share_and_order(s):
    r = run_three(s)
    header, stacks = r["system"]
    check_split(stacks, "split")
    comms = {f[2] for f, _ in stacks}
    check("split" in comms, "workload missing")
    check(header["metadata"]["samples"] >= sum(c for f, c in stacks if f[2] == "split"), "header samples too low")


def test_perf_fallback_share_and_order(s):
    r = run_three(s)
    header, stacks = r["perf"]
    check(header["metadata"]["perf_mode"] == "perf", "mode %s" % header["metadata"]["perf_mode"])
    check_split(stacks, "split")
    check(header["metadata"]["lost_samples"] == 0, "lost %d" % header["metadata"]["lost_samples"])


def test_prologue_keeps_caller(s):
    """tiny() is so short that a large share of its samples land on push %rbp, mov %rsp,%rbp or
    ret, where a bare frame-pointer chain skips worker(). Both BPF and perf_event modes must
    still put worker right below tiny and main right below worker, in every sample."""
    need_root_bpf()
    dur = 4
    wl, pid = s.workload(os.path.join(WORKLOADS, "prologue"), dur + 6)
    outs = {k: s.tmpdir() for k in ("bpf", "perf")}
    common = ["-d", str(dur), "-f", str(FREQ), "--no-flamegraph", "--no-progress", "--pids", str(pid)]
    agents = {"bpf": s.agent(common + ["--perf-mode", "bpf", "-o", outs["bpf"]]),
              "perf": s.agent(common + ["--perf-mode", "perf", "-o", outs["perf"]])}
    for k, p in agents.items():
        rc, out, err = finish(p, dur + 40, "agent (%s)" % k)
        check(rc == 0, "agent %s exited %d: %s" % (k, rc, err[-1500:]))
        _, stacks = parse_profile(os.path.join(outs[k], "last_profile.col"))
        tiny = [(f, c) for f, c in stacks if f[-1] == "tiny"]
        n = sum(c for _, c in tiny)
        bad = [(";".join(f), c) for f, c in tiny if f[-3:] != ["main", "worker", "tiny"]]
        check(n >= 200, "%s: only %d samples in tiny; stacks: %s" % (k, n, stacks[:5]))
        check(not bad, "%s: %d of %d samples in tiny lost their callers: %s"
              % (k, sum(c for _, c in bad), n, bad[:3]))


def test_modes_agree_on_counts(s):
    r = run_three(s)
    counts = {}
    for k in ("pids", "system", "perf"):
        a, b, total, _ = split_attribution(r[k][1], "split")
        counts[k] = total
    lo, hi = min(counts.values()), max(counts.values())
    check(hi <= lo * 1.15, "workload samples differ across modes: %s" % counts)


def test_header_fields(s):
    r = run_three(s)
    h = r["pids"][0]
    md = h["metadata"]
    for key in ("hostname", "kernel_release", "processors", "cpu_model_name", "memory_capacity_mb",
                "agent_version", "run_arguments", "perf_mode", "frequency", "duration", "start_time",
                "end_time", "samples", "lost_samples", "stack_collisions"):
        check(key in md, "metadata lacks %s" % key)
    check(md["hostname"] == os.uname().nodename, "hostname %r" % md["hostname"])
    check(md["kernel_release"] == os.uname().release, "kernel %r" % md["kernel_release"])
    check(md["processors"] == os.cpu_count(), "processors %r" % md["processors"])
    check(md["frequency"] == FREQ and md["duration"] == DUR, "freq/duration %r/%r" % (md["frequency"], md["duration"]))
    check("--pids %d" % r["pid"] in md["run_arguments"], "run_arguments %r" % md["run_arguments"])
    check(0 < h["metrics"]["cpu_avg"] <= 100 and 0 < h["metrics"]["mem_avg"] < 100, "metrics %r" % h["metrics"])
    check(h["metrics"]["cpu_avg"] >= 50, "2 busy threads on %d CPUs but cpu_avg %.1f" % (os.cpu_count(), h["metrics"]["cpu_avg"]))
    check(h["application_metadata"] == [None], "application_metadata %r" % h["application_metadata"])
    check(md["end_time"] > md["start_time"], "times %s..%s" % (md["start_time"], md["end_time"]))


if __name__ == "__main__":
    Suite().run([test_pids_mode_share_and_order, test_pids_mode_sample_count_matches_cpu_time,
                 test_system_wide_share_and_order, test_perf_fallback_share_and_order,
                 test_prologue_keeps_caller, test_modes_agree_on_counts, test_header_fields])
