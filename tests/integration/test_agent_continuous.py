#!/usr/bin/python3
"""Continuous mode: -c -d 2 at 199 Hz on a 2-thread workload (--pids), SIGTERM after ~7 s.
Snapshots follow each other without gaps (end_time of one = start_time of the next, to the
second), the last one is flushed on SIGTERM, and across all snapshots the workload's samples
match its CPU time (199 per CPU-second, -20%/+5%): nothing lost or counted twice at the swaps.
Also --rotating-output keeps only the newest profile and flame graph, symlinks pointing at it."""
import glob
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import (Suite, check, cpu_ticks, finish, need_root_bpf, parse_profile, split_attribution,
                      CLK_TCK, WORKLOADS)

FREQ = 199


def test_continuous_snapshots_no_loss_no_double_count(s):
    need_root_bpf()
    _, pid = s.workload(os.path.join(WORKLOADS, "split"), 20, threads=2)
    out = s.tmpdir()
    t0 = cpu_ticks(pid)
    p = s.agent(["-c", "-d", "2", "-f", str(FREQ), "--pids", str(pid), "--no-flamegraph", "-o", out])
    time.sleep(7.0)
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p, 30)
    cpu_s = (cpu_ticks(pid) - t0) / CLK_TCK
    check(rc == 0, "agent exited %d after SIGTERM: %s" % (rc, err[-1500:]))
    files = sorted(glob.glob(os.path.join(out, "profile_*.col")))
    check(len(files) == 4, "want 3 full snapshots + the flushed one, got %d: %s" % (len(files), files))
    total = 0
    prev_end = None
    for f in files:
        h, stacks = parse_profile(f)
        md = h["metadata"]
        n = sum(c for _, c in stacks)
        check(md["samples"] == n, "%s: header samples %d != stacks %d" % (f, md["samples"], n))
        check(md["lost_samples"] == 0, "%s: lost %d" % (f, md["lost_samples"]))
        if prev_end:
            check(md["start_time"] == prev_end, "gap: %s starts %s, previous ended %s" % (f, md["start_time"], prev_end))
        prev_end = md["end_time"]
        a, b, t, _ = split_attribution(stacks, "split")
        total += t
    # the last (flushed) snapshot is partial: about 1 s of the 7
    h_last, st_last = parse_profile(files[-1])
    check(0 < sum(c for _, c in st_last) < 2 * FREQ * 2 * 0.8,
          "flushed snapshot holds %d samples, want a partial one" % sum(c for _, c in st_last))
    want = cpu_s * FREQ
    check(0.80 * want <= total <= 1.05 * want,
          "%d samples over all snapshots for %.2f CPU-s at %d Hz (want ~%.0f)" % (total, cpu_s, FREQ, want))
    check(os.path.realpath(os.path.join(out, "last_profile.col")) == os.path.realpath(files[-1]),
          "last_profile.col does not point at the newest profile")


def test_rotating_output_keeps_newest(s):
    need_root_bpf()
    _, pid = s.workload(os.path.join(WORKLOADS, "split"), 10, threads=1)
    out = s.tmpdir()
    p = s.agent(["-c", "-d", "1", "-f", "99", "--pids", str(pid), "--rotating-output", "-o", out])
    time.sleep(3.5)
    p.send_signal(signal.SIGINT)
    rc, _, err = finish(p, 30)
    check(rc == 0, "agent exited %d: %s" % (rc, err[-1000:]))
    names = sorted(os.listdir(out))
    cols = [n for n in names if n.endswith(".col") and n.startswith("profile_")]
    htmls = [n for n in names if n.endswith(".html") and n.startswith("profile_")]
    check(len(cols) == 1 and len(htmls) == 1, "want one profile and one flame graph, got %s" % names)
    check(os.readlink(os.path.join(out, "last_profile.col")) == cols[0], "last_profile.col -> %s" % os.readlink(os.path.join(out, "last_profile.col")))
    check(os.readlink(os.path.join(out, "last_flamegraph.html")) == htmls[0], "last_flamegraph.html dangling")
    check(set(names) == set(cols + htmls + ["last_profile.col", "last_flamegraph.html"]), "stray files: %s" % names)
    wrote = err.count("output: wrote")
    check(wrote >= 3, "only %d snapshots written in 3.5 s at -d 1" % wrote)


if __name__ == "__main__":
    Suite().run([test_continuous_snapshots_no_loss_no_double_count, test_rotating_output_keeps_newest])
