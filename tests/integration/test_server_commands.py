#!/usr/bin/env python3
"""Server end to end: health, auth, 404/405, and the command life cycle over the wire
(heartbeat -> profile_request -> delivery -> completion -> host_status), supersede and stop
precedence, executed_command_ids, requests without target hosts."""
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import Suite, need_server_binary  # noqa: E402

need_server_binary()


def cmd_by_id(srv, hostname, cid):
    st, body = srv.commands(hostname=hostname, limit=100)
    Suite.eq(st, 200, "commands status (%s)" % body)
    for c in body["commands"]:
        if c["command_id"] == cid:
            return c
    raise AssertionError("command %s not in history of %s: %s" % (cid, hostname, body))


def host_entry(srv, service, hostname):
    st, body = srv.host_status(service=service, hostname=hostname)
    Suite.eq(st, 200, "host_status status (%s)" % body)
    hosts = [h for h in body["hosts"] if h["hostname"] == hostname]
    Suite.eq(len(hosts), 1, "host_status entries for %s (%s)" % (hostname, body))
    return hosts[0], body


def only_command(resp, what):
    st, body = resp
    Suite.eq(st, 200, "%s status (%s)" % (what, body))
    Suite.eq(body.get("success"), True, "%s success" % what)
    ids = body.get("command_ids")
    Suite.eq(isinstance(ids, list) and len(ids) == 1, True, "%s command_ids one id: %s" % (what, body))
    Suite.true(isinstance(body.get("request_id"), str) and body["request_id"], "%s request_id" % what)
    return ids[0]


def delivered(resp):
    """(command_id, command_type, combined_config) of a heartbeat answer, or None."""
    st, body = resp
    Suite.eq(st, 200, "heartbeat status (%s)" % body)
    Suite.eq(body.get("success"), True, "heartbeat success")
    pc = body.get("profiling_command")
    if pc is None:
        Suite.true(not body.get("command_id"), "command_id without profiling_command: %s" % body)
        return None
    return body["command_id"], pc["command_type"], pc["combined_config"]


with Suite("server_commands") as t:
    srv = t.server()

    # ---- open, auth, routing ----
    with t.case("health_check_open"):
        r = srv.request("GET", "/api/v1/health_check")
        t.eq(r.status, 200, "health_check without a token")

    with t.case("auth_agent_endpoints"):
        for token, what in ((None, "no token"), ("wrong-token", "wrong token")):
            st, body = srv.heartbeat("h-auth", "svc-auth", token=token)
            t.eq(st, 401, "heartbeat with %s" % what)
            t.eq(body and body.get("success"), False, "401 body is JSON success:false (%s)" % body)
            st, _ = srv.complete(str(uuid.uuid4()), "h-auth", token=token)
            t.eq(st, 401, "command_completion with %s" % what)
        r = srv.upload("svc-auth", "h-auth", "0;;c;f 1\n", 1_700_000_000, key="wrong-key")
        t.eq(r.status, 401, "upload with a wrong GPROFILER-API-KEY")
        r = srv.upload("svc-auth", "h-auth", "0;;c;f 1\n", 1_700_000_000, key="")
        t.eq(r.status, 401, "upload with an empty GPROFILER-API-KEY")
        # the agent token never opens admin endpoints
        st, _ = srv.profile_request("svc-auth", targets={"h-auth": None}, token="agent")
        t.eq(st, 401, "profile_request with the agent token")

    with t.case("auth_admin_endpoints"):
        paths = ["/api/metrics/profiling/host_status", "/api/v1/services",
                 "/api/metrics/commands",
                 "/api/v1/flamegraph?service=s&start_datetime=2026-01-01T00:00:00Z"
                 "&end_datetime=2026-01-01T01:00:00Z",
                 "/api/v1/top_functions?service=s", "/api/v1/metrics?service=s"]
        for p in paths:
            for token in (None, "wrong-token", "agent"):
                st, body = srv.json("GET", p, token=token)
                t.eq(st, 401, "GET %s with token %r" % (p, token))
        st, _ = srv.profile_request("svc-auth", targets={"h-auth": None}, token=None)
        t.eq(st, 401, "profile_request without a token")
        # nothing was created by the refused request
        st, body = srv.commands(hostname="h-auth")
        t.eq((st, body["total"]), (200, 0), "no command from refused requests")

    with t.case("not_found_and_method"):
        r = srv.request("GET", "/api/v1/no_such_endpoint", token="admin")
        t.eq(r.status, 404, "unknown api path")
        r = srv.request("GET", "/api/metrics/heartbeat", token="agent")
        t.eq(r.status, 405, "GET on heartbeat")
        t.true("POST" in r.headers.get("allow", ""), "405 names POST in Allow: %s" % r.headers)
        r = srv.request("DELETE", "/api/v1/health_check")
        t.eq(r.status, 405, "DELETE on health_check")
        r = srv.request("POST", "/api/metrics/profiling/host_status", "{}", token="admin")
        t.eq(r.status, 405, "POST on host_status")

    # ---- the basic life cycle ----
    svc = "svc-a"
    with t.case("heartbeat_registers_host"):
        dv = delivered(srv.heartbeat("h1", svc, ip="10.1.2.3", version="agent-7.1"))
        t.eq(dv, None, "no command for a new host")
        h, body = host_entry(srv, svc, "h1")
        t.eq((h["service_name"], h["ip_address"], h["agent_version"], h["status"]),
             (svc, "10.1.2.3", "agent-7.1", "active"), "host_status fields")
        t.eq((body["total_count"], body["active_count"]), (1, 1), "counts for service filter")
        t.true(isinstance(h["last_heartbeat"], str) and h["last_heartbeat"][:2] == "20",
               "last_heartbeat is ISO: %r" % h["last_heartbeat"])

    cid = None
    with t.case("request_creates_pending_command"):
        cid = only_command(srv.profile_request(svc, "start", {"h1": [123, 456]}, duration=45,
                                               frequency=19, continuous=True), "start")
        uuid.UUID(cid)
        h, _ = host_entry(srv, svc, "h1")
        t.eq((h["command_id"], h["command_type"], h["command_status"]), (cid, "start", "pending"),
             "host_status before delivery")

    with t.case("heartbeat_delivers_command"):
        dv = delivered(srv.heartbeat("h1", svc))
        t.true(dv is not None, "a command is delivered")
        got_id, ctype, cfg = dv
        t.eq((got_id, ctype), (cid, "start"), "delivered id and type")
        t.eq((cfg.get("duration"), cfg.get("frequency"), cfg.get("continuous"),
              cfg.get("profiling_mode"), sorted(cfg.get("pids") or [])),
             (45, 19, True, "cpu", [123, 456]), "combined_config %s" % cfg)
        h, _ = host_entry(srv, svc, "h1")
        t.eq((h["command_id"], h["command_status"]), (cid, "sent"), "host_status after delivery")

    with t.case("sent_command_redelivered_until_completed"):
        dv = delivered(srv.heartbeat("h1", svc, received=[cid]))
        t.eq(dv and dv[0], cid, "same command on the next heartbeat")

    with t.case("completion_marks_completed"):
        st, body = srv.complete(cid, "h1")
        t.eq(st, 200, "command_completion (%s)" % body)
        h, _ = host_entry(srv, svc, "h1")
        t.eq((h["command_id"], h["command_status"]), (cid, "completed"), "host_status completed")
        t.eq(delivered(srv.heartbeat("h1", svc)), None, "nothing delivered after completion")
        c = cmd_by_id(srv, "h1", cid)
        t.eq((c["status"], c["command_type"], c["service_name"]), ("completed", "start", svc),
             "history entry")
        t.eq(c["execution_time"], 1.5, "execution_time recorded")

    with t.case("completion_idempotent"):
        st, body = srv.complete(cid, "h1")
        t.eq(st, 200, "repeated identical completion (%s)" % body)
        st, body = srv.complete(cid, "h1", status="failed", error_message="late")
        t.true(st in (200, 409), "a conflicting late report is 200 or 409, got %d" % st)
        c = cmd_by_id(srv, "h1", cid)
        t.eq((c["status"], c.get("error_message")), ("completed", None),
             "first report kept: %s" % c)

    with t.case("completion_unknown_id_404"):
        st, body = srv.complete(str(uuid.uuid4()), "h1")
        t.eq(st, 404, "unknown command id (%s)" % body)
        t.eq(body and body.get("success"), False, "JSON error body")

    with t.case("completion_wrong_host_refused"):
        cid2 = only_command(srv.profile_request(svc, "start", {"h1": None}), "start")
        st, body = srv.complete(cid2, "some-other-host")
        t.true(400 <= st < 500, "completion for another host is 4xx, got %d %s" % (st, body))
        t.eq(cmd_by_id(srv, "h1", cid2)["status"], "pending", "command untouched")
        st, _ = srv.complete(cid2, "h1", status="failed", error_message="no such pid")
        t.eq(st, 200, "failed report")
        c = cmd_by_id(srv, "h1", cid2)
        t.eq((c["status"], c["error_message"]), ("failed", "no such pid"), "failed recorded")
        t.eq(delivered(srv.heartbeat("h1", svc)), None, "failed command not delivered")

    # ---- supersede and stop precedence ----
    with t.case("supersede_newer_start_wins"):
        delivered(srv.heartbeat("h2", svc))
        ca = only_command(srv.profile_request(svc, "start", {"h2": None}, duration=10), "A")
        cb = only_command(srv.profile_request(svc, "start", {"h2": None}, duration=20), "B")
        dv = delivered(srv.heartbeat("h2", svc))
        t.eq((dv[0], dv[1], dv[2]["duration"]), (cb, "start", 20), "newer start delivered")
        a = cmd_by_id(srv, "h2", ca)
        t.eq(a["status"], "failed", "older start failed")
        t.true((a.get("error_message") or "").startswith("superseded") and cb in a["error_message"],
               "older error_message names the newer: %r" % a.get("error_message"))
        st, body = srv.commands(hostname="h2")
        t.eq([c["command_id"] for c in body["commands"]], [cb, ca], "history newest first")
        t.eq(body["total"], 2, "history total")
        st, body = srv.json("GET", "/api/metrics/commands?hostname=h2&limit=1&offset=1")
        t.eq((st, [c["command_id"] for c in body["commands"]], body["total"]), (200, [ca], 2),
             "second page of one")
        st, body = srv.json("GET", "/api/metrics/commands?hostname=h2&limit=1&offset=5")
        t.eq((st, body["commands"], body["total"]), (200, [], 2), "page past the end")
        srv.complete(cb, "h2")

    with t.case("sent_command_not_superseded"):
        # a delivered (sent) command is not superseded by a newer one: it stays sent and the
        # newer one (pending) is delivered next
        c1 = only_command(srv.profile_request(svc, "start", {"h2": None}, duration=30), "c1")
        t.eq(delivered(srv.heartbeat("h2", svc))[0], c1, "c1 delivered")
        c2 = only_command(srv.profile_request(svc, "start", {"h2": None}, duration=31), "c2")
        t.eq(cmd_by_id(srv, "h2", c1)["status"], "sent", "c1 still sent")
        t.eq(delivered(srv.heartbeat("h2", svc))[0], c2, "pending c2 delivered next")
        srv.complete(c1, "h2")
        srv.complete(c2, "h2")

    with t.case("stop_after_start_supersedes"):
        delivered(srv.heartbeat("h4", svc))
        cp = only_command(srv.profile_request(svc, "start", {"h4": None}), "start")
        cq = only_command(srv.profile_request(svc, "stop", {"h4": None}, stop_level="host"), "stop")
        dv = delivered(srv.heartbeat("h4", svc))
        t.eq((dv[0], dv[1]), (cq, "stop"), "stop delivered")
        t.eq(cmd_by_id(srv, "h4", cp)["status"], "failed", "start superseded by the stop")
        srv.complete(cq, "h4")
        t.eq(delivered(srv.heartbeat("h4", svc)), None, "nothing after the stop completes")

    with t.case("stop_wins_over_later_start"):
        delivered(srv.heartbeat("h3", svc))
        cs = only_command(srv.profile_request(svc, "stop", {"h3": None}, stop_level="host"), "stop")
        ct = only_command(srv.profile_request(svc, "start", {"h3": None}, duration=7), "start")
        t.eq(cmd_by_id(srv, "h3", cs)["status"], "pending", "pending stop kept")
        dv = delivered(srv.heartbeat("h3", svc))
        t.eq((dv[0], dv[1]), (cs, "stop"), "the stop is delivered first")
        t.eq(cmd_by_id(srv, "h3", ct)["status"], "pending", "start waits")
        st, _ = srv.complete(cs, "h3")
        t.eq(st, 200, "stop completion")
        dv = delivered(srv.heartbeat("h3", svc))
        t.eq((dv[0], dv[1], dv[2]["duration"]), (ct, "start", 7), "then the start")

    with t.case("executed_ids_complete_commands"):
        delivered(srv.heartbeat("h5", svc))
        ce = only_command(srv.profile_request(svc, "start", {"h5": None}), "start")
        t.eq(delivered(srv.heartbeat("h5", svc))[0], ce, "delivered")
        dv = delivered(srv.heartbeat("h5", svc, received=[ce], executed=[ce]))
        t.eq(dv, None, "executed command not delivered again")
        t.eq(cmd_by_id(srv, "h5", ce)["status"], "completed", "executed -> completed")
        h, _ = host_entry(srv, svc, "h5")
        t.eq(h["command_status"], "completed", "host_status")
        # executed ids of unknown commands and of another host's commands are ignored
        dv = delivered(srv.heartbeat("h5", svc, executed=[str(uuid.uuid4()), "not-a-uuid"]))
        t.eq(dv, None, "unknown executed ids are harmless")

    with t.case("request_without_targets_uses_recent_hosts"):
        svc_b = "svc-b"
        delivered(srv.heartbeat("hb1", svc_b))
        delivered(srv.heartbeat("hb2", svc_b))
        st, body = srv.profile_request(svc_b, "start")
        t.eq((st, body.get("success")), (200, True), "request (%s)" % body)
        t.eq(len(body["command_ids"]), 2, "one command per recent host of the service")
        got = {delivered(srv.heartbeat(h, svc_b))[0] for h in ("hb1", "hb2")}
        t.eq(got, set(body["command_ids"]), "each host gets its own command")
        # hosts of other services were not targeted
        t.eq(delivered(srv.heartbeat("h1", svc)), None, "h1 (svc-a) untouched")

    with t.case("request_without_targets_no_hosts"):
        st, body = srv.profile_request("svc-nobody", "start")
        t.true(400 <= st < 500, "no recent host -> 4xx, got %d %s" % (st, body))
        t.eq(body and body.get("success"), False, "JSON error body")
        st, body = srv.commands(service="svc-nobody")
        t.eq(body["total"], 0, "nothing created")

    with t.case("host_status_filters"):
        st, body = srv.host_status(service=svc)
        names = sorted(h["hostname"] for h in body["hosts"])
        t.eq(names, ["h1", "h2", "h3", "h4", "h5"], "hosts of svc-a")
        t.eq((body["total_count"], body["active_count"]), (5, 5), "counts")
        st, body = srv.host_status()
        t.eq(body["total_count"], 7, "all hosts")
        st, body = srv.host_status(hostname="hb2")
        t.eq([h["service_name"] for h in body["hosts"]], ["svc-b"], "hostname filter")

    with t.case("services_list"):
        st, body = srv.json("GET", "/api/v1/services")
        t.eq(st, 200, "services status")
        got = {s["service_name"]: s["hosts"] for s in body["services"]}
        t.eq(got.get("svc-a"), 5, "svc-a hosts (%s)" % body)
        t.eq(got.get("svc-b"), 2, "svc-b hosts")
