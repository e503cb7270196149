#!/usr/bin/env python3
"""Server end to end: bad input. Malformed JSON, wrong types, missing fields, unknown enums ->
400 naming the field; big bodies, big uploads and gzip bombs -> 413; malformed profiles -> 400 and
nothing stored; bad dates -> 400; static-file path traversal never leaves web/. After all of it
the stored data is exactly what it was and the server is alive."""
import base64
import gzip
import json
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import Suite, need_server_binary, make_profile, parse_collapsed, iso  # noqa: E402

need_server_binary()

SVC = "svc-bad"
BASE = (int(time.time()) // 3600) * 3600 - 2 * 3600
T1 = BASE + 300
GOOD = {"0;;app;main;work": 60, "0;ctr;app;main;idle": 40}
SECRET = "SECRET-MARKER-7f3a"
INDEX = "INDEX-MARKER-91bc"


def snapshot(srv):
    """What must not change: merged stacks of the service and the command history."""
    r = srv.flamegraph(SVC, BASE, BASE + 3600, fmt="collapsed_file")
    st, cmds = srv.commands(limit=100)
    st2, hosts = srv.host_status()
    return (r.status, parse_collapsed(r.text()) if r.status == 200 else None, st,
            [(c["command_id"], c["status"]) for c in cmds["commands"]], st2,
            sorted((h["hostname"], h["service_name"]) for h in hosts["hosts"]))


def expect_400(t, resp, field, what):
    st, body = resp
    t.eq(st, 400, "%s: status (%s)" % (what, body))
    t.true(isinstance(body, dict) and body.get("success") is False, "%s: JSON error %s" % (what, body))
    if field:
        t.true(field in (body.get("message") or ""),
               "%s: message names %r: %r" % (what, field, body.get("message")))


def raw_http(srv, data, read=True, timeout=5):
    """Send raw bytes on a fresh connection; return what comes back (may be b'')."""
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                break   # the status line and headers are all we look at
        return out
    finally:
        s.close()


with Suite("server_badinput") as t:
    web = os.path.join(t.tmp, "site", "web")
    os.makedirs(os.path.join(web, "sub"))
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("<html><body>%s</body></html>\n" % INDEX)
    with open(os.path.join(web, "sub", "app.js"), "w") as f:
        f.write("console.log('sub');\n")
    with open(os.path.join(t.tmp, "site", "secret.txt"), "w") as f:
        f.write(SECRET + "\n")
    os.symlink(os.path.join(t.tmp, "site", "secret.txt"), os.path.join(web, "link.txt"))
    os.symlink("..", os.path.join(web, "up"))

    srv = t.server(args=["--max-upload-mb", "1"], web=web)

    with t.case("setup_baseline"):
        r = srv.upload(SVC, "b1", make_profile(GOOD), T1)
        t.eq(r.status, 200, "baseline upload (%s)" % r)
        st, _ = srv.heartbeat("b1", SVC)
        t.eq(st, 200, "heartbeat")
        st, body = srv.profile_request(SVC, "start", {"b1": None})
        t.eq(st, 200, "request (%s)" % body)
    before = snapshot(srv)

    with t.case("baseline_snapshot_sane"):
        t.eq(before[1], {"app;main;work": 60, "app;main;idle": 40}, "stored profile")
        t.eq(len(before[3]), 1, "one command")

    # ---- JSON bodies ----
    with t.case("malformed_json_400"):
        for body in (b"{not json", b"", b"[]", b"null", b"\"str\"", b"{\"hostname\": \"x\"",
                     b"\xff\xfe{}"):
            st, resp = srv.json("POST", "/api/metrics/heartbeat", body, token="agent")
            t.eq(st, 400, "heartbeat body %r (%s)" % (body[:20], resp))
            t.true(isinstance(resp, dict) and resp.get("success") is False, "JSON error %r" % resp)
        st, resp = srv.json("POST", "/api/metrics/profile_request", b"{,}", token="admin")
        t.eq(st, 400, "profile_request malformed")

    with t.case("heartbeat_field_errors_400"):
        hb = {"ip_address": "1.2.3.4", "hostname": "bx", "service_name": SVC,
              "received_command_ids": [], "executed_command_ids": []}
        for field, val in (("hostname", 123), ("hostname", None), ("service_name", ["a"]),
                           ("service_name", ""), ("executed_command_ids", "abc"),
                           ("received_command_ids", {"a": 1})):
            b = dict(hb)
            if val is None:
                del b[field]
            else:
                b[field] = val
            expect_400(t, srv.json("POST", "/api/metrics/heartbeat", b, token="agent"), field,
                       "heartbeat %s=%r" % (field, val))
        b = dict(hb, executed_command_ids=[1, 2])
        expect_400(t, srv.json("POST", "/api/metrics/heartbeat", b, token="agent"),
                   "executed_command_ids", "executed ids not strings")

    with t.case("profile_request_field_errors_400"):
        cases = [("request_type", {"request_type": "pause"}),
                 ("request_type", {"request_type": 1}),
                 ("duration", {"duration": "sixty"}),
                 ("duration", {"duration": -5}),
                 ("frequency", {"frequency": "fast"}),
                 ("continuous", {"continuous": "yes"}),
                 ("target_hosts", {"target_hosts": ["b1"]}),
                 ("target_hosts", {"target_hosts": {"b1": "all"}}),
                 ("target_hosts", {"target_hosts": {"b1": ["x"]}})]
        for field, over in cases:
            expect_400(t, srv.profile_request(SVC, **dict({"targets": {"b1": None}}, **over)),
                       field, "profile_request %s" % over)
        st, body = srv.json("POST", "/api/metrics/profile_request",
                            {"request_type": "start", "target_hosts": {"b1": None}})
        expect_400(t, (st, body), "service_name", "profile_request without service_name")
        st, body = srv.json("POST", "/api/metrics/profile_request",
                            {"service_name": SVC, "target_hosts": {"b1": None}})
        expect_400(t, (st, body), "request_type", "profile_request without request_type")

    with t.case("command_completion_field_errors_400"):
        ok = {"command_id": before[3][0][0], "hostname": "b1", "status": "completed",
              "execution_time": 1}
        for field, val in (("status", "done"), ("status", None), ("command_id", None),
                           ("command_id", 5), ("hostname", None), ("execution_time", "slow")):
            b = dict(ok)
            if val is None:
                del b[field]
            else:
                b[field] = val
            expect_400(t, srv.json("POST", "/api/metrics/command_completion", b, token="agent"),
                       field, "completion %s=%r" % (field, val))

    with t.case("json_body_over_1mib_413"):
        big = {"hostname": "bx", "service_name": SVC, "pad": "x" * (1024 * 1024 + 10)}
        st, body = srv.json("POST", "/api/metrics/heartbeat", big, token="agent")
        t.eq(st, 413, "1 MiB+ heartbeat (%s)" % body)
        st, body = srv.json("POST", "/api/metrics/profile_request",
                            {"service_name": SVC, "request_type": "start",
                             "pad": "y" * (2 * 1024 * 1024)})
        t.eq(st, 413, "2 MiB profile_request")

    with t.case("chunked_body_over_1mib_413"):
        # no Content-Length: the server must count while reading
        head = ("POST /api/metrics/heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                % srv.agent_token).encode()
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        try:
            out = raw_http(srv, head + body)
        except (BrokenPipeError, ConnectionResetError):
            out = b"(reset)"
        t.true(out.startswith(b"HTTP/1.1 413") or out == b"(reset)",
               "chunked 1.25 MiB body: 413 or a reset, got %r" % out[:80])
        t.true(srv.alive(), "server alive")

    # ---- uploads ----
    def gz_json(doc):
        return gzip.compress(json.dumps(doc).encode(), 6)

    def upload_doc(profile, **over):
        d = {"start_time": iso(T1), "end_time": iso(T1 + 60), "hostname": "b1",
             "profile": profile, "cpu_avg": 1.0, "mem_avg": 2.0, "gpid": ""}
        d.update(over)
        return d

    with t.case("upload_over_max_upload_mb_413"):
        rnd = random.Random(7)
        noise = base64.b64encode(rnd.randbytes(1_200_000)).decode()
        raw = gz_json(upload_doc(make_profile({"0;;a;" + noise[:200]: 1}) + "#" + noise))
        t.true(len(raw) > 1024 * 1024, "fixture is over 1 MiB compressed (%d)" % len(raw))
        r = srv.upload(SVC, "b1", None, T1, raw=raw)
        t.eq(r.status, 413, "upload of %d bytes with --max-upload-mb 1 (%s)" % (len(raw), r))

    with t.case("gzip_bomb_413"):
        # ~20 KB of gzip that inflates to 24 MiB (cap: 8 x 1 MiB)
        inner = b'{"start_time":"%s","hostname":"b1","profile":"' % iso(T1).encode()
        inner += b"0;;a;b 1\\n" * (24 * 1024 * 1024 // 10) + b'"}'
        raw = gzip.compress(inner, 9)
        t.true(len(raw) < 200 * 1024, "bomb is small (%d)" % len(raw))
        r = srv.upload(SVC, "b1", None, T1, raw=raw)
        t.eq(r.status, 413, "gzip bomb (%s)" % r)

    with t.case("corrupt_gzip_400"):
        raw = gz_json(upload_doc(make_profile(GOOD)))
        r = srv.upload(SVC, "b1", None, T1, raw=raw[:len(raw) // 2])
        t.eq(r.status, 400, "truncated gzip (%s)" % r)
        r = srv.upload(SVC, "b1", None, T1, raw=b"\x1f\x8b\x08\x00garbage-garbage-garbage")
        t.eq(r.status, 400, "garbage after the gzip magic (%s)" % r)

    with t.case("malformed_profile_400_nothing_stored"):
        for prof in ("0;;app;main;work notanumber\n",
                     "0;;app;main;work 5\n0;;app;main;bad xx\n",         # good line then bad
                     "0;;app;main;work 5\n0;;app;;empty 3\n",             # empty frame
                     "0;;app;main;work -4\n",
                     "0;;app;main;work 5\n0;;app;a\x00b 1\n",
                     "0;;app;main;work 5\n" + "0;;app;" + "f;" * 5000 + "leaf 1\n"):
            r = srv.upload(SVC, "b1", None, T1,
                           raw=gz_json(upload_doc('# {"metadata": {}}\n' + prof)))
            t.eq(r.status, 400, "profile %r (%s)" % (prof[:40], r))
            t.true("line" in r.json().get("message", ""), "refused for its line: %s" % r)
            t.eq(r.json().get("success"), False, "JSON error")
        t.eq(snapshot(srv), before, "nothing stored")

    with t.case("upload_field_errors_400"):
        for over, field in (({"start_time": "yesterday"}, "start_time"),
                            ({"start_time": "2026-02-30T00:00:00Z"}, "start_time"),
                            ({"start_time": None}, "start_time"),
                            ({"profile": 42}, "profile"),
                            ({"profile": None}, "profile"),
                            ({"cpu_avg": "high"}, "cpu_avg")):
            doc = upload_doc(make_profile(GOOD))
            for k, v in over.items():
                if v is None:
                    del doc[k]
                else:
                    doc[k] = v
            r = srv.upload(SVC, "b1", None, T1, raw=gz_json(doc))
            body = r.json() if r.body[:1] == b"{" else {}
            t.eq(r.status, 400, "upload %s (%s)" % (over, r))
            t.true(field in (body.get("message") or ""), "message names %s: %s" % (field, body))
        r = srv.upload(SVC, "b1", None, T1, raw=gzip.compress(b"[1,2,3]"))
        t.eq(r.status, 400, "upload body not an object")
        r = srv.request("POST", "/api/v2/profiles?hostname=b1", gz_json(upload_doc("0;;a;b 1\n")),
                        headers={"GPROFILER-API-KEY": srv.agent_token, "Content-Encoding": "gzip"})
        t.eq(r.status, 400, "upload without service (%s)" % r)
        t.eq(snapshot(srv), before, "nothing stored")

    # ---- query parameters ----
    with t.case("query_param_errors_400"):
        good = "service=%s&start_datetime=%s&end_datetime=%s" % (SVC, iso(BASE), iso(BASE + 3600))
        bad = [("start_datetime", "service=%s&start_datetime=2026-13-45T00:00:00Z&end_datetime=%s"
                % (SVC, iso(BASE + 3600))),
               ("end_datetime", "service=%s&start_datetime=%s&end_datetime=tomorrow"
                % (SVC, iso(BASE))),
               ("end_datetime", "service=%s&start_datetime=%s&end_datetime=%s"
                % (SVC, iso(BASE + 3600), iso(BASE))),         # end before start
               ("service", "start_datetime=%s&end_datetime=%s" % (iso(BASE), iso(BASE + 3600))),
               ("format", good + "&format=svg")]
        for field, q in bad:
            st, body = srv.json("GET", "/api/v1/flamegraph?" + q)
            t.eq(st, 400, "flamegraph %s (%s)" % (q, body))
            t.true(field in ((body or {}).get("message") or ""),
                   "message names %s: %s" % (field, body))
        for ep in ("/api/v1/top_functions", "/api/v1/metrics"):
            st, body = srv.json("GET", ep + "?service=%s&start_datetime=nope" % SVC)
            t.eq(st, 400, "%s bad start (%s)" % (ep, body))
        st, body = srv.json("GET", "/api/metrics/commands?limit=-3")
        t.eq(st, 400, "commands limit=-3 (%s)" % body)
        st, body = srv.json("GET", "/api/metrics/commands?limit=abc")
        t.eq(st, 400, "commands limit=abc (%s)" % body)

    # ---- static files ----
    with t.case("static_index_served"):
        for p in ("/", "/index.html"):
            r = srv.request("GET", p)
            t.eq(r.status, 200, "GET %s" % p)
            t.true(INDEX in r.text(), "index content for %s" % p)
            t.true(r.headers.get("content-type", "").startswith("text/html"),
                   "content type %s" % r.headers.get("content-type"))
        r = srv.request("GET", "/sub/app.js")
        t.eq((r.status, r.text()), (200, "console.log('sub');\n"), "nested file")
        r = srv.request("GET", "/nope.html")
        t.eq(r.status, 404, "missing file")

    with t.case("static_path_traversal"):
        paths = ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                 "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/sub/../../secret.txt",
                 "/sub/%2e%2e/%2e%2e/secret.txt", "/index.html/../../secret.txt",
                 "/%252e%252e/secret.txt", "/..\\secret.txt", "/.%2e/secret.txt",
                 "/link.txt", "/up/secret.txt", "/up/../secret.txt", "/sub/..%00/secret.txt",
                 "/" + "../" * 20 + "etc/passwd", "/%2e%2e/" * 10 + "etc/passwd",
                 "//etc/passwd", "/" + "a" * 5000]
        for p in paths:
            r = srv.request("GET", p)
            t.true(SECRET not in r.text() and "root:x:0:0" not in r.text(),
                   "GET %s leaked a file outside web/ (%d)" % (p, r.status))
            t.true(r.status in (400, 403, 404, 414, 431), "GET %s -> %d" % (p, r.status))
        t.true(srv.alive(), "server alive")

    with t.case("garbage_requests_survived"):
        for data in (b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"POST /api/metrics/heartbeat HTTP/1.1\r\nContent-Length: 99999999999999999999"
                     b"\r\n\r\n{}", b"POST /api/metrics/heartbeat HTTP/1.1\r\nContent-Length: 10"
                     b"\r\n\r\n{}"):
            try:
                raw_http(srv, data, timeout=2)
            except OSError:
                pass
        r = srv.request("GET", "/api/v1/health_check")
        t.eq(r.status, 200, "health after garbage")

    with t.case("stored_data_unchanged"):
        t.eq(snapshot(srv), before, "flamegraph totals, commands and hosts as before")
        t.true(srv.alive(), "server alive")
