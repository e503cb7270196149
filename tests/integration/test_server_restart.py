#!/usr/bin/env python3
"""Server end to end: SIGTERM during traffic exits 0 and loses nothing it acknowledged; a restart
on the same database finds commands and profiles intact; generated tokens are written once
(mode 0600) and reused; a database from a newer schema is refused; hosts go offline."""
import http.client
import os
import re
import sqlite3
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import ROOT, Suite, Server, TestFailure, need_server_binary, make_profile, \
    parse_collapsed  # noqa: E402

need_server_binary()

SVC = "svc-rs"
BASE = (int(time.time()) // 3600) * 3600 - 2 * 3600
T1 = BASE + 600
P = {"0;;app;main;a": 70, "0;c1;app;main;b": 30}
TRAFFIC = {"0;;load;x;y": 3}


def traffic(srv, stop, stats, idx):
    """Heartbeats and uploads until stop is set or the server goes away."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            if n % 2:
                st, _ = srv.heartbeat("load-%d-%d" % (idx, n % 50), "svc-load")
                stats["hb_" + str(st)] = stats.get("hb_" + str(st), 0) + 1
            else:
                stats["up_try"] = stats.get("up_try", 0) + 1
                r = srv.upload(SVC, "load-%d" % idx, make_profile(TRAFFIC), T1 + 60)
                stats["up_" + str(r.status)] = stats.get("up_" + str(r.status), 0) + 1
        except (OSError, http.client.HTTPException):
            stats["conn_err"] = stats.get("conn_err", 0) + 1
            if stats["conn_err"] > 3:
                return
            time.sleep(0.01)


with Suite("server_restart") as t:
    srv = t.server()
    state = {}

    with t.case("setup_commands_and_profile"):
        t.eq(srv.heartbeat("r1", SVC)[0], 200, "heartbeat r1")
        t.eq(srv.heartbeat("r2", SVC)[0], 200, "heartbeat r2")
        st, b = srv.profile_request(SVC, "start", {"r1": [11]}, duration=33)
        state["sent"] = b["command_ids"][0]
        st, b = srv.heartbeat("r1", SVC)
        t.eq(b["command_id"], state["sent"], "delivered")
        st, b = srv.profile_request(SVC, "start", {"r2": None}, duration=44)
        state["done"] = b["command_ids"][0]
        srv.heartbeat("r2", SVC)
        t.eq(srv.complete(state["done"], "r2")[0], 200, "completed")
        st, b = srv.profile_request(SVC, "stop", {"r2": None}, stop_level="host")
        state["pending"] = b["command_ids"][0]
        r = srv.upload(SVC, "r1", make_profile(P), T1)
        t.eq(r.status, 200, "upload (%s)" % r)
        st, b = srv.commands(service=SVC)
        state["history"] = [(c["command_id"], c["status"], c["hostname"], c["command_type"])
                            for c in b["commands"]]
        t.eq(len(state["history"]), 3, "three commands")

    stats = [dict() for _ in range(4)]
    with t.case("sigterm_during_traffic_exits_0"):
        stop = threading.Event()
        ths = [threading.Thread(target=traffic, args=(srv, stop, stats[i], i)) for i in range(4)]
        for th in ths:
            th.start()
        time.sleep(1.0)
        t0 = time.time()
        try:
            rc = srv.stop()
        finally:
            stop.set()
            for th in ths:
                th.join(30)
        took = time.time() - t0
        t.eq(rc, 0, "exit code after SIGTERM")
        t.true(took < 10, "shutdown took %.1fs" % took)
        total = {}
        for s in stats:
            for k, v in s.items():
                total[k] = total.get(k, 0) + v
        state["traffic"] = total
        bad = {k: v for k, v in total.items() if k.startswith(("hb_", "up_")) and k not in
               ("hb_200", "up_200", "up_try", "hb_503", "up_503")}
        t.eq(bad, {}, "answers during shutdown are 200 (or 503): %s" % total)
        t.true(total.get("hb_200", 0) > 10 and total.get("up_200", 0) > 3,
               "traffic really flowed before the signal: %s" % total)
        log = srv.output()
        t.true("checkpoint" in log.lower() or rc == 0, "log")

    with t.case("restart_keeps_commands_and_profiles"):
        srv.start()
        st, b = srv.commands(service=SVC)
        t.eq(st, 200, "commands after restart")
        got = [(c["command_id"], c["status"], c["hostname"], c["command_type"])
               for c in b["commands"]]
        t.eq(got, state["history"], "command history")
        st, b = srv.heartbeat("r2", SVC)
        t.eq(b["command_id"], state["pending"], "pending stop still delivered after restart")
        st, b = srv.heartbeat("r1", SVC)
        t.eq(b["command_id"], state["sent"], "sent start still re-delivered after restart")
        t.eq(b["profiling_command"]["combined_config"]["duration"], 33, "its config")
        r = srv.flamegraph(SVC, BASE, BASE + 3600, fmt="collapsed_file", hostname="r1")
        t.eq(parse_collapsed(r.text()), {"app;main;a": 70, "app;main;b": 30}, "profile intact")
        # every upload acknowledged before SIGTERM is stored (unacknowledged ones may be too)
        ok, tried = state["traffic"].get("up_200", 0), state["traffic"].get("up_try", 0)
        r = srv.flamegraph(SVC, BASE, BASE + 3600)
        load = r.json()["value"] - 100
        t.true(ok * 3 <= load <= tried * 3,
               "traffic samples %d within [%d acknowledged, %d tried] x 3" % (load, ok, tried))
        st, b = srv.host_status(service="svc-load")
        t.true(b["total_count"] >= 1, "traffic hosts recorded")

    with t.case("newer_schema_refused"):
        rc = srv.stop()
        t.eq(rc, 0, "clean stop")
        con = sqlite3.connect(srv.db)
        known = con.execute("PRAGMA user_version").fetchone()[0]
        t.true(known >= 1, "the server recorded a schema version (user_version=%d)" % known)
        con.execute("PRAGMA user_version=%d" % (known + 7))
        con.commit()
        con.close()
        rc = srv.start(expect_listen=False)
        t.true(rc not in (0, None), "exit code %r" % rc)
        out = srv.output()
        t.true(re.search(r"newer", out) and str(known + 7) in out and str(known) in out,
               "message names both versions: %s" % out[-400:])
        con = sqlite3.connect(srv.db)
        t.eq(con.execute("PRAGMA user_version").fetchone()[0], known + 7, "DB left alone")
        n = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        con.close()
        t.true(n > 0, "tables still there")

    with t.case("generated_tokens_file_0600_reused"):
        auto = t.server(start=False, agent_token=None, admin_token=None)
        auto.start()
        tokfile = os.path.join(os.path.dirname(auto.db), "tokens")
        t.true(os.path.exists(tokfile), "token file beside the DB: %s" % os.listdir(
            os.path.dirname(auto.db)))
        mode = stat.S_IMODE(os.stat(tokfile).st_mode)
        t.eq(oct(mode), oct(0o600), "token file mode")
        text = open(tokfile).read()
        kv = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
        t.true(len(kv.get("agent_token", "")) >= 32 and len(kv.get("admin_token", "")) >= 32,
               "tokens in file: %s" % list(kv))
        t.true(kv["agent_token"] != kv["admin_token"], "agent and admin tokens differ")
        t.true(tokfile in auto.output(), "the log says where the tokens are")
        t.true(kv["admin_token"] not in auto.output(), "the log does not print the admin token")
        auto.agent_token, auto.admin_token = kv["agent_token"], kv["admin_token"]
        t.eq(auto.heartbeat("tk1", "svc-tk")[0], 200, "agent token from the file works")
        t.eq(auto.host_status()[0], 200, "admin token from the file works")
        t.eq(auto.heartbeat("tk1", "svc-tk", token=kv["admin_token"][::-1])[0], 401, "wrong token")
        t.eq(auto.stop(), 0, "stop")
        # second start: the same file, unchanged
        saved = (auto.agent_token, auto.admin_token)
        auto.agent_token = auto.admin_token = None
        auto.extra_args = ["--heartbeat-interval", "1"]
        auto.start()
        t.eq(open(tokfile).read(), text, "token file reused unchanged")
        t.eq(oct(stat.S_IMODE(os.stat(tokfile).st_mode)), oct(0o600), "mode still 0600")
        auto.agent_token, auto.admin_token = saved
        t.eq(auto.host_status()[0], 200, "same admin token after restart")
        state["auto"] = auto

    with t.case("host_goes_offline"):
        auto = state.get("auto")
        if auto is None or not auto.alive():
            raise TestFailure("needs the previous case's server")
        t.eq(auto.heartbeat("off1", "svc-off")[0], 200, "heartbeat")
        st, b = auto.host_status(service="svc-off")
        t.eq((b["hosts"][0]["status"], b["active_count"]), ("active", 1), "active at first")
        # --heartbeat-interval 1: offline once more than 3 whole seconds have passed; the server
        # keeps seconds, so a heartbeat at X.0 is still active at X+3.99
        time.sleep(4.1)
        st, b = auto.host_status(service="svc-off")
        t.eq((b["hosts"][0]["status"], b["active_count"], b["total_count"]), ("offline", 0, 1),
             "offline after 3 intervals")
        auto.heartbeat("off1", "svc-off")
        st, b = auto.host_status(service="svc-off")
        t.eq(b["hosts"][0]["status"], "active", "active again")

    with t.case("retention_deletes_old_samples"):
        auto = state.get("auto")
        if auto is None or not auto.alive():
            raise TestFailure("needs the previous case's server")
        now = (int(time.time()) // 60) * 60
        old, mid = now - 40 * 86400, now - 10 * 86400

        def total(at):
            r = auto.flamegraph("svc-ret", at - 3600, at + 3600)
            t.eq(r.status, 200, "query (%s)" % r)
            return r.json()["value"]

        for at, n in ((old, 5), (mid, 7)):
            r = auto.upload("svc-ret", "ret1", make_profile({"0;;r;x": n}), at)
            t.eq(r.status, 200, "upload at now-%dd (%s)" % ((now - at) // 86400, r))
        t.eq((total(old), total(mid)), (5, 7), "both stored")
        t.eq(auto.stop(), 0, "stop")
        auto.extra_args = ["--retention-days", "30"]
        auto.start()
        deadline = time.time() + 10
        while total(old) != 0 and time.time() < deadline:
            time.sleep(0.1)   # the retention pass runs at start, maybe in the background
        t.eq((total(old), total(mid)), (0, 7), "40-day-old samples gone, 10-day-old kept")
        t.eq(auto.stop(), 0, "stop")
        auto.extra_args = ["--retention-days", "5"]
        auto.start()
        deadline = time.time() + 10
        while total(mid) != 0 and time.time() < deadline:
            time.sleep(0.1)
        t.eq(total(mid), 0, "--retention-days 5 removes the 10-day-old samples")
        st, b = auto.host_status(service="svc-tk")
        t.eq(b["total_count"], 1, "retention leaves hosts alone")

    with t.case("bad_flags_exit_2"):
        bad = Server(t.tmp, args=["--port", "notaport"])
        t.servers.append(bad)
        rc = bad.start(expect_listen=False)
        t.eq(rc, 2, "exit code for --port notaport: %s" % bad.output()[-300:])
        t.true("port" in bad.output(), "message names the flag")

    with t.case("upgrade_from_schema_1_in_place"):
        # A database as the server before schema 2 wrote it: main's schema/001_init.sql (never
        # changed since), its hosts keyed by hostname alone, commands pending and sent, samples.
        wd = os.path.join(t.tmp, "upgrade")
        os.makedirs(os.path.join(wd, "data"))
        db = os.path.join(wd, "data", "fleetprof.db")
        con = sqlite3.connect(db)
        con.executescript(open(os.path.join(ROOT, "schema", "001_init.sql")).read())
        con.executescript("""
            PRAGMA user_version = 1;
            INSERT INTO hosts VALUES ('up1', 'svc-up', '10.9.9.9', '0.9', 'OK', NULL, %(t)d, %(t)d);
            INSERT INTO hosts VALUES ('up2', 'svc-up', NULL, NULL, NULL, NULL, %(t)d, %(t)d);
            INSERT INTO requests VALUES ('req-up', 'svc-up', 'start', '{}', %(t)d);
            INSERT INTO commands (command_id, request_id, hostname, service_name, command_type,
                                  status, combined_config, created_at)
              VALUES ('11111111-1111-4111-8111-111111111111', 'req-up', 'up1', 'svc-up', 'start',
                      'pending', '{"duration":17,"frequency":11}', %(t)d);
            """ % {"t": int(time.time()) - 30})
        con.commit()
        con.close()
        up = Server(wd, db=db)
        t.servers.append(up)
        up.start()
        t.true(re.search(r"applied migration 002_", up.output()), "migration 002 applied: %s"
               % up.output()[-500:])
        con = sqlite3.connect(db)
        t.true(con.execute("PRAGMA user_version").fetchone()[0] >= 2, "schema version")
        con.close()
        st, b = up.host_status(service="svc-up")
        t.eq(sorted((h["hostname"], h["ip_address"], h["command_status"]) for h in b["hosts"]),
             [("up1", "10.9.9.9", "pending"), ("up2", None, None)], "hosts kept")
        st, b = up.heartbeat("up1", "svc-elsewhere")
        t.eq((st, b["command_id"]), (200, None), "the host under another service gets nothing")
        st, b = up.heartbeat("up1", "svc-up")
        t.eq((b["command_id"], b["profiling_command"]["combined_config"]["duration"]),
             ("11111111-1111-4111-8111-111111111111", 17), "the pending command is delivered")
        t.eq(up.stop(), 0, "stop")
