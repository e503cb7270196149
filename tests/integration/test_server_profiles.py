#!/usr/bin/env python3
"""Server end to end: gzip profile uploads -> flame graph JSON / collapsed / top functions /
metrics / services, with exact totals, host, container and time-range filters."""
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import (Suite, quote, need_server_binary, parse_collapsed, make_profile,  # noqa: E402
                       server_stacks, merge, tree_from_stacks, tree_from_json,
                       top_functions_expected, iso)

need_server_binary()

# Three uploads (appid;container;comm;frames... count). Appids differ on purpose: the server strips
# them, and the container too, so 1;web-1;nginx;... and 2;web-2;nginx;... merge in the tree.
P1 = {
    "0;;python;main_[p];work_[p];compute_[p]": 300,
    "0;;python;main_[p];work_[p];io_[p];read_[k]": 100,
    "1;web-1;nginx;main;handle;parse": 50,
    "1;web-1;nginx;main;handle": 25,
    "0;;python;main_[p];rec_[p];rec_[p];rec_[p]": 40,
}
P2 = {
    "0;;python;main_[p];work_[p];compute_[p]": 200,
    "2;web-2;nginx;main;handle;parse": 30,
    "0;;python;gc_[pn]": 7,
}
P3 = {
    "0;;python;main_[p];work_[p];compute_[p]": 11,
    "1;web-1;nginx;main;idle": 3,
}

SVC = "svc-prof"
BASE = (int(time.time()) // 3600) * 3600 - 3 * 3600   # an hour boundary, 2-3 h ago
T1, T2, T3 = BASE + 600, BASE + 720, BASE + 1800      # minute-aligned upload start times
END = BASE + 3600


def check_flamegraph(t, srv, expected, what, **kw):
    start = kw.pop("start", BASE)
    end = kw.pop("end", END)
    r = srv.flamegraph(SVC, start, end, **kw)
    t.eq(r.status, 200, "%s: flamegraph status (%s)" % (what, r))
    body = r.json()
    t.eq(body.get("value"), sum(expected.values()), "%s: root value" % what)
    t.eq(tree_from_json(body), tree_from_stacks(expected), "%s: tree" % what)
    r = srv.flamegraph(SVC, start, end, fmt="collapsed_file", **kw)
    t.eq(r.status, 200, "%s: collapsed status (%s)" % (what, r))
    text = r.text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    t.eq(len(lines), len(expected), "%s: one line per distinct stack:\n%s" % (what, text))
    t.eq(parse_collapsed(text), expected, "%s: collapsed content" % what)


with Suite("server_profiles") as t:
    srv = t.server()

    with t.case("upload_gzip_answers_gpid"):
        r = srv.upload(SVC, "p1", make_profile(P1), T1, cpu=10.0, mem=20.0)
        t.eq(r.status, 200, "upload 1 (%s)" % r)
        body = r.json()
        t.true(isinstance(body.get("gpid"), int) and body["gpid"] > 0,
               "a new gpid is answered: %s" % body)
        t.true(isinstance(body.get("message"), str), "message: %s" % body)
        r = srv.upload(SVC, "p2", make_profile(P2), T2, cpu=30.0, mem=40.0, gpid=77)
        t.eq(r.status, 200, "upload 2 (%s)" % r)
        t.eq(r.json().get("gpid"), 77, "the agent's gpid is kept")
        r = srv.upload(SVC, "p1", make_profile(P3), T3, cpu=50.5, mem=60.25)
        t.eq(r.status, 200, "upload 3 (%s)" % r)

    ALL = merge(server_stacks(P1), server_stacks(P2), server_stacks(P3))

    with t.case("flamegraph_all_exact"):
        t.eq(sum(ALL.values()), 766, "fixture total")
        check_flamegraph(t, srv, ALL, "all")

    with t.case("flamegraph_hostname_filter"):
        check_flamegraph(t, srv, server_stacks(P2), "p2", hostname="p2")
        check_flamegraph(t, srv, merge(server_stacks(P1), server_stacks(P3)), "p1", hostname="p1")

    with t.case("flamegraph_container_filter"):
        web1 = merge(server_stacks(P1, "web-1"), server_stacks(P3, "web-1"))
        t.eq(sum(web1.values()), 78, "fixture web-1 total")
        check_flamegraph(t, srv, web1, "web-1", container="web-1")
        check_flamegraph(t, srv, server_stacks(P2, "web-2"), "web-2", container="web-2")
        check_flamegraph(t, srv, server_stacks(P2, "web-2"), "web-2+p2", container="web-2",
                         hostname="p2")
        check_flamegraph(t, srv, {}, "web-2+p1", container="web-2", hostname="p1")

    with t.case("flamegraph_time_ranges"):
        check_flamegraph(t, srv, server_stacks(P3), "second half hour", start=BASE + 1800)
        check_flamegraph(t, srv, merge(server_stacks(P1), server_stacks(P2)), "first half hour",
                         end=BASE + 1800)
        # [T1+60, ...) starts one minute after upload 1: it is out, upload 2 (T1+120) is in
        check_flamegraph(t, srv, merge(server_stacks(P2), server_stacks(P3)), "from T1+60",
                         start=T1 + 60)
        check_flamegraph(t, srv, {}, "after everything", start=END, end=END + 3600)
        check_flamegraph(t, srv, {}, "before everything", start=BASE - 7200, end=BASE)

    with t.case("flamegraph_timezone_offsets"):
        # the same instants written with a +02:00 offset
        s = time.strftime("%Y-%m-%dT%H:%M:%S+02:00", time.gmtime(BASE + 1800 + 7200))
        e = time.strftime("%Y-%m-%dT%H:%M:%S+02:00", time.gmtime(END + 7200))
        r = srv.request("GET", "/api/v1/flamegraph?service=%s&start_datetime=%s&end_datetime=%s"
                        % (SVC, s.replace("+", "%2B"), e.replace("+", "%2B")), token="admin")
        t.eq(r.status, 200, "status (%s)" % r)
        t.eq(r.json()["value"], sum(server_stacks(P3).values()), "root value with offsets")

    with t.case("flamegraph_other_service_empty"):
        r = srv.flamegraph("svc-none", BASE, END)
        t.eq(r.status, 200, "status (%s)" % r)
        body = r.json()
        t.eq((body["value"], body.get("children") or []), (0, []), "empty tree")

    with t.case("top_functions_exact"):
        st, body = srv.query("/api/v1/top_functions", SVC, BASE, END, limit=1000)
        t.eq(st, 200, "status (%s)" % body)
        t.eq(body.get("total_samples"), 766, "total_samples")
        got = {f["name"]: (f["self"], f["total"]) for f in body["functions"]}
        want = top_functions_expected(ALL)
        for name, (se, to) in want.items():
            if name in ("python", "nginx") and name not in got:
                continue  # process names may or may not be listed as functions
            t.eq(got.get(name), (se, to), "self,total of %s" % name)
        for name in got:
            t.true(name in want, "unexpected function %r" % name)
        t.eq(got["rec_[p]"], (40, 40), "recursion counted once per stack")
        selfs = [f["self"] for f in body["functions"]]
        totals = [f["total"] for f in body["functions"]]
        t.true(selfs == sorted(selfs, reverse=True) or totals == sorted(totals, reverse=True),
               "ordered by self or by total, descending: %s" % body["functions"])

    with t.case("top_functions_limit_and_filter"):
        st, body = srv.query("/api/v1/top_functions", SVC, BASE, END, limit=2, hostname="p2")
        t.eq(st, 200, "status (%s)" % body)
        t.eq(len(body["functions"]), 2, "limit=2")
        t.eq(body["total_samples"], 237, "p2 total_samples")
        names = [f["name"] for f in body["functions"]]
        t.true("compute_[p]" in names, "compute_[p] (self 200 of 237) is in the top 2: %s" % names)

    with t.case("metrics_cpu_mem"):
        st, body = srv.query("/api/v1/metrics", SVC, BASE, END)
        t.eq(st, 200, "status (%s)" % body)
        got = [(m["hostname"], m["cpu_avg"], m["mem_avg"]) for m in body["metrics"]]
        t.eq(got, [("p1", 10.0, 20.0), ("p2", 30.0, 40.0), ("p1", 50.5, 60.25)],
             "metrics in time order")
        t.eq([m["time"][:16] for m in body["metrics"]], [iso(x)[:16] for x in (T1, T2, T3)],
             "metric times are the profiles' start times")
        st, body = srv.query("/api/v1/metrics", SVC, BASE, END, hostname="p2")
        t.eq([(m["hostname"], m["cpu_avg"]) for m in body["metrics"]], [("p2", 30.0)],
             "hostname filter")

    with t.case("services_after_upload"):
        st, body = srv.json("GET", "/api/v1/services")
        t.eq(st, 200, "status")
        s = [x for x in body["services"] if x["service_name"] == SVC]
        t.eq(len(s), 1, "service listed (%s)" % body)
        t.true(s[0].get("last_profile"), "last_profile set: %s" % s[0])

    with t.case("upload_plain_json_and_bearer"):
        # an uncompressed body (no Content-Encoding) with the token as Bearer is accepted too
        stacks = {"0;;sh;main;loop": 5}
        r = srv.upload("svc-plain", "q1", make_profile(stacks), T1, compress=False, key="",
                       headers={"Authorization": "Bearer " + srv.agent_token})
        t.eq(r.status, 200, "plain upload (%s)" % r)
        r = srv.flamegraph("svc-plain", BASE, END)
        t.eq(r.json()["value"], 5, "stored")

    with t.case("upload_without_header_line_refused"):
        # as Performance Studio: an upload's profile starts with the agent's "# {json}" header
        r = srv.upload("svc-nohdr", "q2", "0;;sh;a;b 4\n0;;sh;a 6\n", T1)
        t.eq(r.status, 400, "upload (%s)" % r)
        t.true("profile" in r.json()["message"], "the message names the field: %s" % r)
        r = srv.flamegraph("svc-nohdr", BASE, END, fmt="collapsed_file")
        t.eq(parse_collapsed(r.text()), {}, "nothing stored")

    with t.case("many_uploads_sum_exactly"):
        # 30 uploads into the same minute from 3 hosts: counts add up in one bucket
        for i in range(30):
            r = srv.upload("svc-sum", "s%d" % (i % 3), make_profile({"0;;w;a;b": i + 1,
                                                                      "0;c%d;w;a" % (i % 2): 2}),
                           T2)
            t.eq(r.status, 200, "upload %d" % i)
        r = srv.flamegraph("svc-sum", BASE, END, fmt="collapsed_file")
        t.eq(parse_collapsed(r.text()), {"w;a;b": 465, "w;a": 60}, "merged")
        r = srv.flamegraph("svc-sum", BASE, END, hostname="s1", container="c1")
        # hosts s1 get i = 1,4,...,28; container c1 gets odd i: i in {1,7,13,19,25} -> 5 x 2
        t.eq(r.json()["value"], 10, "s1/c1 total")

    with t.case("large_answers_gzipped_when_accepted"):
        stacks = {"0;;big;main;module_%03d;function_with_a_long_name_%04d" % (i % 50, i): i + 1
                  for i in range(2000)}
        t.eq(srv.upload("svc-gz", "g1", make_profile(stacks), T2).status, 200, "upload")
        path = "/api/v1/flamegraph?service=svc-gz&start_datetime=%s&end_datetime=%s" \
               "&format=collapsed_file" % (quote(iso(BASE)), quote(iso(END)))
        plain = srv.request("GET", path, token="admin")
        gz = srv.request("GET", path, token="admin", headers={"Accept-Encoding": "gzip, br"})
        t.eq(plain.headers.get("content-encoding"), None, "no gzip unless asked")
        t.eq(gz.headers.get("content-encoding"), "gzip", "gzip when accepted")
        t.eq(gz.headers.get("vary"), "Accept-Encoding", "Vary header")
        t.true(len(gz.body) * 4 < len(plain.body), "compressed %d of %d bytes" % (len(gz.body), len(plain.body)))
        t.eq(gzip.decompress(gz.body), plain.body, "same bytes once decompressed")
        small = srv.request("GET", "/api/v1/services", token="admin", headers={"Accept-Encoding": "gzip"})
        t.eq(small.headers.get("content-encoding"), None, "small answers are sent as they are")
