#!/usr/bin/python3
"""Symbol resolution across binary kinds, in one system-wide BPF run at 199 Hz: a PIE
executable, hot functions in a shared library, a stripped PIE (names only in .dynsym), a binary
deleted while it runs, and a binary on a tmpfs mounted in the process's own mount namespace
(unshare -m: the path does not exist on the host). Each must show worker;hot_a and worker;hot_b
with the 3:1 split (+-8 points: ~300 samples each), never an unknown or wrong name for them."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import (Suite, Skip, check, check_split, finish, need_root_bpf, parse_profile,
                      WORKLOADS)

FREQ = 199
DUR = 5
state = {}


def run_all(s):
    need_root_bpf()
    if state:
        return state
    tmp = s.tmpdir()
    # deleted: a private copy, removed once it runs
    deleted = os.path.join(tmp, "split_del")
    shutil.copy(os.path.join(WORKLOADS, "split"), deleted)
    s.workload(os.path.join(WORKLOADS, "split_pie"), DUR + 6)
    s.workload(os.path.join(WORKLOADS, "split_lib"), DUR + 6)
    s.workload(os.path.join(WORKLOADS, "split_strip"), DUR + 6)
    s.workload(deleted, DUR + 6)
    os.unlink(deleted)
    state["ns"] = False
    if shutil.which("unshare"):
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        script = ('mount -t tmpfs fpns "%s" && cp "%s" "%s/split_ns" && exec "%s/split_ns" "$@"'
                  % (mnt, os.path.join(WORKLOADS, "split"), mnt, mnt))
        s.workload("sh", DUR + 6, wrap=["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"])
        check(not os.path.exists(os.path.join(mnt, "split_ns")), "tmpfs leaked into the host namespace")
        state["ns"] = True
    out = s.tmpdir()
    p = s.agent(["-d", str(DUR), "-f", str(FREQ), "--perf-mode", "bpf", "--no-progress", "-o", out])
    rc, _, err = finish(p, DUR + 40)
    check(rc == 0, "agent exited %d: %s" % (rc, err[-1500:]))
    state["profile"] = parse_profile(os.path.join(out, "last_profile.col"))
    return state


def resolved(s, comm):
    st = run_all(s)
    _, stacks = st["profile"]
    check_split(stacks, comm, tolerance=8.0, min_samples=150)


def test_pie_executable(s):
    resolved(s, "split_pie")


def test_shared_library(s):
    resolved(s, "split_lib")


def test_stripped_dynsym_only(s):
    resolved(s, "split_strip")


def test_deleted_binary(s):
    resolved(s, "split_del")


def test_own_mount_namespace(s):
    st = run_all(s)
    if not st["ns"]:
        raise Skip("unshare not installed (util-linux)")
    resolved(s, "split_ns")


if __name__ == "__main__":
    Suite().run([test_pie_executable, test_shared_library, test_stripped_dynsym_only,
                 test_deleted_binary, test_own_mount_namespace])
