#!/usr/bin/env python3
"""Server end to end under concurrency: many client threads heartbeating, uploading, receiving
and completing commands at once. Every count must come out exact (no lost or doubled update),
and the sanitizer build must stay clean."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import Suite, need_server_binary, make_profile, parse_collapsed  # noqa: E402

need_server_binary()

SVC = "svc-conc"
THREADS = 6
HOSTS = 40          # per thread
UPLOADS = 10        # per thread
BASE = (int(time.time()) // 3600) * 3600 - 2 * 3600
T = BASE + 1200


def run_threads(fn):
    errors = []
    results = [None] * THREADS

    def wrap(k):
        try:
            results[k] = fn(k)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("thread %d: %s: %s" % (k, type(e).__name__, e))

    ths = [threading.Thread(target=wrap, args=(k,)) for k in range(THREADS)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    if errors:
        raise AssertionError("; ".join(errors[:3]))
    return results


def host(k, i):
    return "c-%d-%02d" % (k, i)


with Suite("server_concurrency") as t:
    srv = t.server(args=["--threads", "4"])

    with t.case("parallel_heartbeats_and_uploads_exact"):
        def work(k):
            bad = []
            for i in range(HOSTS):
                st, _ = srv.heartbeat(host(k, i), SVC)
                if st != 200:
                    bad.append(("hb", st))
                if i % (HOSTS // UPLOADS) == 0:
                    r = srv.upload(SVC, host(k, 0), make_profile(
                        {"0;;w;a;b": k + 1, "0;ct%d;w;c" % (k % 2): 1}), T)
                    if r.status != 200:
                        bad.append(("up", r.status))
            return bad

        res = run_threads(work)
        t.eq([b for r in res for b in r], [], "non-200 answers")
        st, body = srv.host_status(service=SVC)
        t.eq((body["total_count"], body["active_count"]), (THREADS * HOSTS,) * 2, "hosts recorded")
        r = srv.flamegraph(SVC, BASE, BASE + 3600, fmt="collapsed_file")
        want = {"w;a;b": UPLOADS * sum(k + 1 for k in range(THREADS)), "w;c": UPLOADS * THREADS}
        t.eq(parse_collapsed(r.text()), want, "merged samples")
        r = srv.flamegraph(SVC, BASE, BASE + 3600, container="ct1")
        t.eq(r.json()["value"], UPLOADS * (THREADS // 2), "container ct1 samples")

    ids = set()
    with t.case("parallel_delivery_once_per_host"):
        st, body = srv.profile_request(SVC, "start")
        t.eq(st, 200, "request for every recent host (%s)" % str(body)[:200])
        ids = set(body["command_ids"])
        t.eq(len(ids), THREADS * HOSTS, "one command per host")

        def deliver(k):
            got = {}
            for rnd in range(2):
                for i in range(HOSTS):
                    st, b = srv.heartbeat(host(k, i), SVC)
                    if st != 200 or not b.get("command_id"):
                        raise AssertionError("%s round %d: %d %s" % (host(k, i), rnd, st, b))
                    if rnd == 0:
                        got[host(k, i)] = b["command_id"]
                    elif got[host(k, i)] != b["command_id"]:
                        raise AssertionError("%s: a different command on redelivery" % host(k, i))
            return got

        res = run_threads(deliver)
        delivered = {}
        for r in res:
            delivered.update(r)
        t.eq(len(delivered), THREADS * HOSTS, "every host got a command")
        t.eq(set(delivered.values()), ids, "each command delivered to exactly one host")
        st, body = srv.commands(service=SVC, limit=1000)
        t.eq(body["total"], THREADS * HOSTS, "history total")
        t.eq({c["status"] for c in body["commands"]}, {"sent"}, "all sent")
        t.eq({c["command_id"]: c["hostname"] for c in body["commands"]},
             {v: k for k, v in delivered.items()}, "history maps ids to the right hosts")

    with t.case("parallel_duplicate_completions"):
        st, body = srv.commands(service=SVC, limit=1000)
        todo = sorted((c["command_id"], c["hostname"]) for c in body["commands"])

        def complete(k):
            # threads k and k+THREADS/2 report the same half of the commands (duplicates race)
            part = todo[(k % (THREADS // 2))::THREADS // 2]
            bad = []
            for cid, h in part:
                st, b = srv.complete(cid, h, execution_time=float(k % (THREADS // 2)))
                if st != 200:
                    bad.append((cid, st, b))
            return bad

        res = run_threads(complete)
        t.eq([b for r in res for b in r], [], "every (duplicate) completion answered 200")
        st, body = srv.commands(service=SVC, limit=1000)
        t.eq({c["status"] for c in body["commands"]}, {"completed"}, "all completed")
        t.eq(body["total"], THREADS * HOSTS, "no command added")
        st, body = srv.host_status(service=SVC)
        t.eq({h["command_status"] for h in body["hosts"]}, {"completed"}, "host_status")
