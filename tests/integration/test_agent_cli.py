#!/usr/bin/python3
"""The agent's command line and process behaviour: --help names every flag, --version, bad
values exit 2, --pids with only missing PIDs exits 1 with a message, a missing PID among valid
ones is reported and skipped, SIGINT ends a one-shot run early with its profile written, the
agent never samples itself, --perf-mode disabled writes an empty profile, no -o prints the
profile on stdout, and the flame graph embeds the stacks."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import (AGENT, Suite, Skip, check, finish, need_root_bpf, parse_profile, parse_profile_text,
                      split_attribution, agent_env, WORKLOADS)

FLAGS = ["--profiling-duration", "--profiling-frequency", "--continuous", "--output-dir", "--no-flamegraph",
         "--rotating-output", "--pids", "--perf-mode", "--verbose", "--log-file", "--help", "--version",
         "-d,", "-f,", "-c,", "-o,", "-v,"]


def run(args, timeout=30):
    if not os.path.exists(AGENT):
        raise Skip("agent binary missing: %s" % AGENT)
    r = subprocess.run([AGENT] + args, capture_output=True, timeout=timeout, env=agent_env())
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_help_names_every_flag(s):
    rc, out, _ = run(["--help"])
    check(rc == 0, "rc %d" % rc)
    for f in FLAGS:
        check(f in out, "--help does not mention %s" % f)
    for mode in ("auto", "bpf", "perf", "disabled"):
        check(re.search(r"\b%s\b" % mode, out), "--help does not explain perf mode %s" % mode)


def test_version(s):
    rc, out, _ = run(["--version"])
    check(rc == 0 and re.match(r"fleetprof-agent \d+\.\d+\.\d+\n$", out), "version output %r" % out)


def test_bad_values_exit_2(s):
    for args in (["-f", "0"], ["-f", "abc"], ["-d", "-1"], ["--perf-mode", "dwarf"], ["--pids", "1,,2"],
                 ["--pids", "x"], ["--bogus"], ["extra"], ["-d"]):
        rc, _, err = run(args)
        check(rc == 2, "%s: rc %d" % (args, rc))
        check("fleetprof-agent:" in err, "%s: no message: %r" % (args, err))


def test_missing_pids_exit_1(s):
    need_root_bpf()
    rc, _, err = run(["--pids", "999999999,999999998", "-d", "1"])
    check(rc == 1, "rc %d" % rc)
    check("999999999 does not exist" in err and "999999998 does not exist" in err, "stderr %r" % err[-500:])
    check("none of the given processes" in err, "stderr %r" % err[-500:])


def test_missing_pid_skipped_among_valid(s):
    need_root_bpf()
    _, pid = s.workload(os.path.join(WORKLOADS, "split"), 6)
    out = s.tmpdir()
    rc, _, err = run(["--pids", "999999999,%d" % pid, "-d", "2", "-f", "99", "-o", out])
    check(rc == 0, "rc %d: %s" % (rc, err[-800:]))
    check("999999999 does not exist" in err, "missing pid not reported")
    h, stacks = parse_profile(os.path.join(out, "last_profile.col"))
    comms = {f[2] for f, _ in stacks}
    check(comms == {"split"}, "comms %s" % comms)


def test_sigint_ends_one_shot_with_profile(s):
    need_root_bpf()
    s.workload(os.path.join(WORKLOADS, "split"), 8)
    out = s.tmpdir()
    p = s.agent(["-d", "60", "-f", "99", "-o", out])
    time.sleep(2.0)
    t = time.time()
    p.send_signal(signal.SIGINT)
    rc, _, err = finish(p, 20)
    check(rc == 0, "rc %d: %s" % (rc, err[-800:]))
    check(time.time() - t < 5, "took %.1f s to stop" % (time.time() - t))
    h, stacks = parse_profile(os.path.join(out, "last_profile.col"))
    a, b, total, _ = split_attribution(stacks, "split")
    check(total > 50, "flushed profile has only %d workload samples" % total)


def test_process_exiting_mid_snapshot_keeps_names(s):
    """A process that exits before the drain is normal: its samples keep their names (resolved
    while it lived), in both modes."""
    need_root_bpf()
    for mode in ("bpf", "perf"):
        wl, pid = s.workload(os.path.join(WORKLOADS, "split"), 2.5, threads=2)
        out = s.tmpdir()
        rc, _, err = run(["--pids", str(pid), "-d", "4", "-f", "199", "--perf-mode", mode, "--no-flamegraph", "-o", out])
        check(rc == 0, "%s: rc %d: %s" % (mode, rc, err[-800:]))
        check(wl.poll() is not None, "workload still running after the snapshot")
        h, stacks = parse_profile(os.path.join(out, "last_profile.col"))
        a, b, total, errors = split_attribution(stacks, "split")
        check(a + b >= 150, "%s: only %d named hot samples of %d" % (mode, a + b, total))
        unknown = sum(c for f, c in stacks if any(x.startswith("[unknown]") and not x.endswith("_[k]") for x in f))
        check(unknown <= total * 0.02, "%s: %d of %d samples have unnamed user frames" % (mode, unknown, total))
        check(abs(100.0 * a / (a + b) - 75) <= 8, "%s: share %.1f" % (mode, 100.0 * a / (a + b)))


def test_agent_excludes_itself(s):
    need_root_bpf()
    out = s.tmpdir()
    for mode in ("bpf", "perf"):
        rc, _, err = run(["-d", "2", "-f", "499", "--perf-mode", mode, "--no-flamegraph", "-o", out])
        check(rc == 0, "rc %d: %s" % (rc, err[-800:]))
        h, stacks = parse_profile(os.path.join(out, "last_profile.col"))
        own = sum(c for f, c in stacks if f[2] == "fleetprof-agen" or f[2].startswith("fleetprof-agent"))
        check(own == 0, "%s: %d samples of the agent itself" % (mode, own))


def test_perf_mode_disabled_writes_empty_profile(s):
    out = s.tmpdir()
    rc, _, err = run(["-d", "1", "--perf-mode", "disabled", "-o", out])
    check(rc == 0, "rc %d: %s" % (rc, err[-800:]))
    h, stacks = parse_profile(os.path.join(out, "last_profile.col"))
    check(stacks == [] and h["metadata"]["perf_mode"] == "disabled", "stacks %s mode %s" % (stacks[:3], h["metadata"]["perf_mode"]))


def test_stdout_without_output_dir(s):
    need_root_bpf()
    _, pid = s.workload(os.path.join(WORKLOADS, "split"), 5)
    rc, out, err = run(["-d", "2", "-f", "99", "--pids", str(pid)])
    check(rc == 0, "rc %d: %s" % (rc, err[-800:]))
    h, stacks = parse_profile_text(out)
    check(h is not None and stacks, "stdout is not a profile: %r" % out[:200])


def test_flamegraph_embeds_stacks(s):
    need_root_bpf()
    _, pid = s.workload(os.path.join(WORKLOADS, "split_pie"), 5)
    out = s.tmpdir()
    rc, _, err = run(["-d", "2", "-f", "99", "--pids", str(pid), "-o", out])
    check(rc == 0, "rc %d: %s" % (rc, err[-800:]))
    html = open(os.path.join(out, "last_flamegraph.html"), encoding="utf-8").read()
    h, stacks = parse_profile(os.path.join(out, "last_profile.col"))
    m = re.search(r'<script type="application/json" id="fleetprof-data">(.*?)</script>', html, re.S)
    check(m, "no data element in the flame graph")
    data = json.loads(m.group(1))

    def norm(stack):  # the page drops the appid and an empty container, as the dashboard does
        parts = stack.split(";")
        if parts and parts[0].isdigit():
            parts = parts[1:]
        if parts and parts[0] == "":
            parts = parts[1:]
        return ";".join(parts)
    embedded = {}
    for line in data["collapsed"].splitlines():
        st, _, c = line.rpartition(" ")
        embedded[st] = embedded.get(st, 0) + int(c)
    check(embedded == {norm(";".join(f)): c for f, c in stacks},
          "flame graph stacks differ from the profile")
    check(html.count("</script>") == 2 and "http://" not in html and "https://" not in html,
          "not self-contained or script broken out")


if __name__ == "__main__":
    Suite().run([test_help_names_every_flag, test_version, test_bad_values_exit_2, test_missing_pids_exit_1,
                 test_missing_pid_skipped_among_valid, test_sigint_ends_one_shot_with_profile,
                 test_process_exiting_mid_snapshot_keeps_names, test_agent_excludes_itself, test_perf_mode_disabled_writes_empty_profile,
                 test_stdout_without_output_dir, test_flamegraph_embeds_stacks])
