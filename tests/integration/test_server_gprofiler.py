#!/usr/bin/env python3
"""gProfiler's own agent code paths against our real server (issue 9, points 1 to 4).

The classes below do what gProfiler's agent does on the wire, step for step as its code does it
(pinterest/gprofiler: gprofiler/client.py ProfilerAPIClient, gprofiler/dynamic_profiling_management
heartbeat.py HeartbeatClient and DynamicGProfilerManager, command_control.py CommandManager,
merge.py for the profile text). They are written from reading that code, not copied from it.
Where gProfiler's agent would fail, or would do the wrong thing with our answer, the case fails.

Also from Performance Studio (pinterest/gprofiler-performance-studio): its request models
(ProfilingRequest, ProfilingResponse) and validators, for what a control client may send.
"""
import datetime
import gzip
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serverlib import Suite, TestFailure, need_server_binary, parse_collapsed, quote  # noqa: E402

need_server_binary()


class APIError(Exception):
    """gProfiler's exceptions.APIError: a 4xx answer's "message" (or a stand-in)."""


def utc_iso(t=None):
    """gProfiler's get_iso8601_format_time: naive UTC, no microseconds."""
    dt = datetime.datetime.utcfromtimestamp(time.time() if t is None else t)
    return dt.replace(microsecond=0).isoformat()


class ProfilerAPIClient:
    """client.py: the session carries GPROFILER-API-KEY and GPROFILER-SERVICE-NAME; every
    request carries ?key=&service=&hostname=&timestamp=; POST bodies are gzip JSON; a 4xx raises
    APIError with the answer's "message"; the constructor checks the health endpoint."""

    def __init__(self, srv, token, service, hostname):
        self.srv, self.key, self.service, self.hostname = srv, token, service, hostname
        self.get_health()   # _init_session: "Raises on failure"

    def _request(self, method, path, data=None, params=None):
        q = [("key", self.key), ("service", self.service), ("hostname", self.hostname),
             ("timestamp", utc_iso())] + list((params or {}).items())
        url = path + "?" + "&".join("%s=%s" % (k, quote(str(v))) for k, v in q)
        headers = {"GPROFILER-API-KEY": self.key, "GPROFILER-SERVICE-NAME": self.service}
        body = None
        if method != "GET":
            headers["Content-Encoding"] = "gzip"
            headers["Content-type"] = "application/json"
            body = gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"))
        r = self.srv.request(method, url, body, headers=headers, token=None)
        if 400 <= r.status < 500:
            try:
                raise APIError(r.json().get("message", "(no message in response)"))
            except ValueError:
                raise APIError(r.text())
        if r.status >= 500:
            raise TestFailure("HTTP %d from %s: %s" % (r.status, path, r.text()))
        return r.json()

    def get_health(self):
        return self._request("GET", "/api/v1/health_check")

    def submit_profile(self, start, end, profile, gpid, cpu=12.5, mem=40.0):
        return self._request("POST", "/api/v2/profiles", {
            "start_time": utc_iso(start), "end_time": utc_iso(end), "hostname": self.hostname,
            "profile": profile, "cpu_avg": cpu, "mem_avg": mem, "spawn_time": utc_iso(start - 5),
            "gpid": gpid}, params={"version": "1.40.0"})


class HeartbeatClient:
    """heartbeat.py: Authorization: Bearer, JSON (not gzip) bodies; a command is taken only
    when success and profiling_command are both set."""

    def __init__(self, srv, token, service, hostname, ip="10.1.2.3"):
        self.srv, self.token, self.service, self.hostname, self.ip = (srv, token, service,
                                                                      hostname, ip)
        self.last_command_id = None
        self.received, self.executed = [], []

    def _post(self, path, body):
        return self.srv.request("POST", path, json.dumps(body),
                                headers={"Content-Type": "application/json"}, token=self.token)

    def send_heartbeat(self):
        r = self._post("/api/metrics/heartbeat", {
            "ip_address": self.ip, "hostname": self.hostname, "service_name": self.service,
            "last_command_id": self.last_command_id, "status": "active",
            "timestamp": datetime.datetime.now().isoformat(),
            "received_command_ids": list(self.received),
            "executed_command_ids": list(self.executed),
            "perf_supported_events": ["cycles", "instructions"]})
        if r.status != 200:
            raise TestFailure("heartbeat: HTTP %d %s" % (r.status, r.text()))
        result = r.json()
        if result.get("success") and result.get("profiling_command"):
            return result
        return None

    def send_command_completion(self, command_id, status, execution_time=0, error_message=None):
        r = self._post("/api/metrics/command_completion", {
            "command_id": command_id, "hostname": self.hostname, "status": status,
            "execution_time": execution_time, "error_message": error_message,
            "results_path": None})
        return r.status == 200


class DynamicManager:
    """DynamicGProfilerManager + CommandManager, reduced to what reaches the wire: a new
    command id is marked received (a repeat is skipped), queued stop > ad-hoc > continuous, and
    on processing marked executed and reported completed. The profiles it would take are
    recorded in .ran as (command_type, combined_config)."""

    def __init__(self, hb):
        self.hb = hb
        self.queue = []
        self.ran = []

    def tick(self):
        resp = self.hb.send_heartbeat()
        if resp:
            cid = resp["command_id"]
            if cid not in self.hb.received:
                self.hb.received.append(cid)
                self.hb.last_command_id = cid
                self.queue.append((cid, resp["profiling_command"]))
        if self.queue:
            order = {"stop": 0}
            self.queue.sort(key=lambda c: order.get(c[1].get("command_type", "start"),
                                                    1 if not c[1].get("combined_config", {})
                                                    .get("continuous") else 2))
            cid, cmd = self.queue.pop(0)
            if cmd.get("command_type") == "stop":
                self.queue.clear()
            self.ran.append((cmd.get("command_type"), cmd.get("combined_config", {})))
            self.hb.executed.append(cid)
            self.hb.send_command_completion(cid, "completed", execution_time=0)
            return cid
        return None


def gprofiler_profile(stacks, hostname, app_metadata=True, containers=()):
    """The text merge.py's concatenate_profiles writes: a "# " JSON header, then one line per
    stack: "<appid index>;<container>;<stack> <count>" with application metadata on,
    "<container>;<stack> <count>" with it off (--disable-application-metadata)."""
    header = {"containers": list(containers), "container_names_enabled": True,
              "metadata": {"hostname": hostname, "agent_version": "1.40.0",
                           "run_arguments": {"application_metadata": app_metadata}},
              "metrics": {"cpu_avg": 12.5, "mem_avg": 40.0},
              "application_metadata": [None], "application_metadata_enabled": app_metadata,
              "profiling_mode": "cpu", "hwmetrics": None, "htmlblob": None,
              "flamegraph_html": None}
    lines = ["# " + json.dumps(header)]
    for (container, stack), count in stacks.items():
        prefix = ("0;" if app_metadata else "") + container + ";"
        lines.append("%s%s %d" % (prefix, stack, count))
    return "\n".join(lines)


def collapsed(srv, service, start, end, **kw):
    r = srv.flamegraph(service, start, end, fmt="collapsed_file", **kw)
    if r.status != 200:
        raise TestFailure("flamegraph: HTTP %d %s" % (r.status, r.text()))
    return parse_collapsed(r.text())


with Suite("server_gprofiler") as t:
    srv = t.server()
    AGENT, ADMIN = srv.agent_token, srv.admin_token
    NOW = int(time.time()) // 60 * 60

    # ---- point 3: a wrong key fails the agent at start, not at its first upload ----
    with t.case("health_check_wrong_key_fails_agent_start"):
        try:
            ProfilerAPIClient(srv, "not-the-token", "svc-h", "host-h")
        except APIError as e:
            t.eq(str(e), "Invalid API key", "the agent's start error")
        else:
            raise TestFailure("a client with a wrong key started (health check passed)")
        r = srv.request("GET", "/api/v1/health_check?key=wrong-one")
        t.eq(r.status, 400, "a wrong ?key= alone")
        r = srv.request("GET", "/api/v1/health_check", headers={"GPROFILER-API-KEY": "x"})
        t.eq((r.status, r.json().get("success"), r.json().get("message")),
             (400, False, "Invalid API key"), "a wrong GPROFILER-API-KEY")

    with t.case("health_check_right_key_or_none"):
        ProfilerAPIClient(srv, AGENT, "svc-h", "host-h")
        ProfilerAPIClient(srv, ADMIN, "svc-h", "host-h")
        r = srv.request("GET", "/api/v1/health_check")
        t.eq(r.status, 200, "no key: still open")

    # ---- point 1: the line prefix follows the header's application_metadata_enabled ----
    STACKS = {("", "python3;main_[p];handle_[p]"): 7, ("web-1", "java;Main.run_[j];Ctx.work_[j]"): 3,
              ("web-1", "java;Main.run_[j];GC_[j]"): 2}
    WANT = {"python3;main_[p];handle_[p]": 7, "java;Main.run_[j];Ctx.work_[j]": 3,
            "java;Main.run_[j];GC_[j]": 2}
    for on in (True, False):
        with t.case("upload_application_metadata_%s" % ("on" if on else "off")):
            svc = "svc-appmeta-%s" % ("on" if on else "off")
            client = ProfilerAPIClient(srv, AGENT, svc, "host-a")
            ans = client.submit_profile(NOW - 120, NOW - 60,
                                        gprofiler_profile(STACKS, "host-a", on, ["web-1"]), "")
            t.true(str(ans.get("gpid", "")).isdigit(), "a gpid answered: %s" % ans)
            t.eq(collapsed(srv, svc, NOW - 600, NOW), WANT, "the stacks, process name first")
            t.eq(collapsed(srv, svc, NOW - 600, NOW, container="web-1"),
                 {k: v for k, v in WANT.items() if k.startswith("java")}, "the container filter")
            st, body = srv.query("/api/v1/containers", svc, NOW - 600, NOW)
            t.eq(sorted((c["name"], c["samples"]) for c in body["containers"]),
                 [("", 7), ("web-1", 5)], "containers")

    with t.case("upload_fleetprof_0_1_header"):
        # fleetprof-agent 0.1.0 says application_metadata_enabled: false but writes the appid
        # field (always "0", application_metadata [null]): read as it was meant
        text = gprofiler_profile(STACKS, "host-b", True, ["web-1"]).replace(
            '"application_metadata_enabled": true', '"application_metadata_enabled": false')
        client = ProfilerAPIClient(srv, AGENT, "svc-appmeta-legacy", "host-b")
        client.submit_profile(NOW - 120, NOW - 60, text, "")
        t.eq(collapsed(srv, "svc-appmeta-legacy", NOW - 600, NOW), WANT, "the stacks")

    with t.case("upload_application_metadata_off_needs_a_process"):
        client = ProfilerAPIClient(srv, AGENT, "svc-appmeta-bad", "host-c")
        try:
            client.submit_profile(NOW - 120, NOW - 60, gprofiler_profile(
                {("web-1", ""): 1}, "host-c", False).replace("web-1; 1", "web-1 1"), "")
        except APIError as e:
            t.true("profile" in str(e), "the message names the field: %s" % e)
        else:
            raise TestFailure("a line with no process name was accepted")

    # ---- point 2: hosts are (service, hostname); a command needs both to match ----
    with t.case("command_reaches_only_its_service"):
        a = DynamicManager(HeartbeatClient(srv, AGENT, "svc-key-a", "shared-host"))
        b = DynamicManager(HeartbeatClient(srv, AGENT, "svc-key-b", "shared-host"))
        t.eq((a.tick(), b.tick()), (None, None), "nothing to do yet")
        st, body = srv.profile_request("svc-key-b", "start", {"shared-host": None}, duration=30)
        t.eq(st, 200, "request for B (%s)" % body)
        cid = body["command_ids"][0]
        t.eq(a.tick(), None, "the host as service A gets nothing")
        t.eq(b.tick(), cid, "the host as service B runs it")
        t.eq(a.ran, [], "A ran nothing")
        # A's executed ids never complete B's commands
        st, body = srv.profile_request("svc-key-b", "start", {"shared-host": None}, duration=31)
        cid2 = body["command_ids"][0]
        a.hb.executed.append(cid2)
        a.tick()
        st, hist = srv.commands(hostname="shared-host")
        status = {c["command_id"]: (c["status"], c["service_name"]) for c in hist["commands"]}
        t.eq(status[cid2], ("pending", "svc-key-b"), "B's command after A's heartbeat")
        t.eq(b.tick(), cid2, "B runs it")

    with t.case("host_status_lists_each_service"):
        st, body = srv.host_status(hostname="shared-host")
        t.eq(sorted(h["service_name"] for h in body["hosts"]), ["svc-key-a", "svc-key-b"],
             "both (service, hostname) hosts")
        st, body = srv.host_status(service="svc-key-a")
        t.eq([(h["hostname"], h["command_id"]) for h in body["hosts"]], [("shared-host", None)],
             "A's host has no command")

    with t.case("request_without_targets_by_service"):
        st, body = srv.profile_request("svc-key-a", "start", duration=20)
        t.eq((st, len(body.get("command_ids", []))), (200, 1), "one host of A (%s)" % body)
        a = DynamicManager(HeartbeatClient(srv, AGENT, "svc-key-a", "shared-host"))
        b = DynamicManager(HeartbeatClient(srv, AGENT, "svc-key-b", "shared-host"))
        t.eq(b.tick(), None, "not the host of B")
        t.eq(a.tick(), body["command_ids"][0], "the host of A")
        t.eq(a.ran[0][1].get("duration"), 20, "with its config")

    # ---- point 4: validation as Performance Studio's models do it ----
    def refused(body, field, what):
        st, ans = srv.json("POST", "/api/metrics/profile_request", body)
        t.eq(st, 400, "%s: status (%s)" % (what, ans))
        t.eq(ans.get("success"), False, "%s: JSON error" % what)
        t.true(field in ans.get("message", ""), "%s: the message names %s: %r"
               % (what, field, ans.get("message")))

    srv.heartbeat("val-host", "svc-val")
    BASE = {"service_name": "svc-val", "continuous": False, "duration": 60, "frequency": 11,
            "profiling_mode": "cpu"}

    with t.case("stop_process_level_needs_pids"):
        # ProfilingRequest.validate_profile_request: stop + stop_level "process" needs a pid
        refused(dict(BASE, request_type="stop", stop_level="process",
                     target_hosts={"val-host": None}), "stop_level", "process stop, no pids")
        # ... and a host-level stop takes none
        refused(dict(BASE, request_type="stop", stop_level="host",
                     target_hosts={"val-host": [42]}), "stop_level", "host stop with pids")
        st, ans = srv.profile_request("svc-val", "stop", {"val-host": [42]}, stop_level="process")
        t.eq(st, 200, "a process stop with pids (%s)" % ans)

    with t.case("empty_target_hosts_refused"):
        # ProfilingRequest.validate_target_hosts: "target_hosts cannot be empty"
        refused(dict(BASE, request_type="start", target_hosts={}), "target_hosts", "{}")

    with t.case("unknown_profiler_setting_refused"):
        # validate_async_profiler_config, and the values gProfiler's agent knows
        # (dynamic_profiling_management/__init__.py _apply_profiler_configs)
        for cfg, field in (
                ({"async_profiler": {"enabled": True, "time": "bogus"}},
                 "additional_args.profiler_configs.async_profiler.time"),
                ({"async_profiler": {"time": "alloc"}},
                 "additional_args.profiler_configs.async_profiler.alloc_interval"),
                ({"async_profiler": {"time": "alloc", "alloc_interval": "lots"}},
                 "additional_args.profiler_configs.async_profiler.alloc_interval"),
                ({"perf": "turbo"}, "additional_args.profiler_configs.perf"),
                ({"perf": {"mode": "enabled_aggressive", "events": [3]}},
                 "additional_args.profiler_configs.perf.events"),
                ({"pyspy": "sometimes"}, "additional_args.profiler_configs.pyspy"),
                ({"rbspy": True}, "additional_args.profiler_configs.rbspy")):
            refused(dict(BASE, request_type="start", target_hosts={"val-host": None},
                         additional_args={"profiler_configs": cfg}), field, "%s" % cfg)
        # what Performance Studio's console sends is taken, and reaches the agent as it is
        good = {"perf": {"mode": "enabled_restricted", "events": ["cycles"]}, "pyperf": "enabled",
                "pyspy": "enabled_fallback", "phpspy": "disabled", "nodejs_perf": "disabled",
                "async_profiler": {"enabled": True, "time": "alloc", "alloc_interval": "512KiB"},
                "some_future_profiler": {"anything": 1}}
        st, ans = srv.profile_request("svc-val", "start", {"val-host": None},
                                      additional_args={"profiler_configs": good,
                                                       "max_processes": 10})
        t.eq(st, 200, "the console's settings (%s)" % ans)
        m = DynamicManager(HeartbeatClient(srv, AGENT, "svc-val", "val-host"))
        while m.tick():
            pass
        t.eq(m.ran[-1][1].get("profiler_configs"), good, "profiler_configs delivered")

    with t.case("upload_needs_header_and_gpid"):
        client = ProfilerAPIClient(srv, AGENT, "svc-val", "val-host")
        good = gprofiler_profile(STACKS, "val-host")
        for profile, gpid, field in ((good.split("\n", 1)[1], "", "profile"),
                                     ("# [1]\n" + good.split("\n", 1)[1], "", "profile"),
                                     ("# {\"metrics\": {}}\n" + good.split("\n", 1)[1], "",
                                      "metadata"),
                                     (good, None, "gpid")):
            try:
                if gpid is None:   # AgentData.gpid has no default
                    client._request("POST", "/api/v2/profiles", {
                        "start_time": utc_iso(NOW - 60), "end_time": utc_iso(NOW),
                        "hostname": "val-host", "profile": profile})
                else:
                    client.submit_profile(NOW - 60, NOW, profile, gpid)
            except APIError as e:
                t.true(field in str(e), "the message names %s: %s" % (field, e))
            else:
                raise TestFailure("accepted an upload without %s" % field)
        # AgentData has no end_time: it is optional
        ans = client._request("POST", "/api/v2/profiles", {
            "start_time": utc_iso(NOW - 60), "hostname": "val-host", "profile": good, "gpid": 7})
        t.eq(ans.get("gpid"), 7, "an upload without end_time")

    with t.case("estimated_completion_time"):
        # ProfilingResponse.estimated_completion_time: now + duration for a start, null for a stop
        t0 = time.time()
        st, ans = srv.profile_request("svc-val", "start", {"val-host": None}, duration=120)
        t.eq(st, 200, "start (%s)" % ans)
        est = datetime.datetime.strptime(ans.get("estimated_completion_time") or "",
                                         "%Y-%m-%dT%H:%M:%SZ")
        est = est.replace(tzinfo=datetime.timezone.utc).timestamp()
        t.true(t0 + 118 <= est <= time.time() + 122, "start: %r" % ans["estimated_completion_time"])
        st, ans = srv.profile_request("svc-val", "stop", {"val-host": None}, stop_level="host")
        t.true("estimated_completion_time" in ans and ans["estimated_completion_time"] is None,
               "stop: %s" % ans)

    with t.case("start_after_pending_stop_keeps_the_stop"):
        # Performance Studio replaces a pending stop with a newer start (one command row per
        # host); fleetprof delivers the stop first, then the start (README, API differences)
        m = DynamicManager(HeartbeatClient(srv, AGENT, "svc-val", "val-host"))
        while m.tick():
            pass
        srv.profile_request("svc-val", "stop", {"val-host": None}, stop_level="host")
        st, ans = srv.profile_request("svc-val", "start", {"val-host": None}, duration=9,
                                      continuous=True)
        ran_before = len(m.ran)
        while m.tick():
            pass
        t.eq([c[0] for c in m.ran[ran_before:]], ["stop", "start"], "the agent runs")
        t.eq(m.ran[-1][1].get("duration"), 9, "the start after the stop")

    with t.case("dry_run_creates_nothing"):
        # ProfilingRequest.dry_run: validated, answered, nothing created
        st, before = srv.commands(service="svc-val")
        st, ans = srv.profile_request("svc-val", "start", {"val-host": None}, dry_run=True)
        t.eq((st, ans.get("success"), ans.get("command_ids"), ans.get("request_id")),
             (200, True, [], None), "dry run answer (%s)" % ans)
        st, after = srv.commands(service="svc-val")
        t.eq(after["total"], before["total"], "no command created")
        refused(dict(BASE, request_type="stop", stop_level="process", dry_run=True,
                     target_hosts={"val-host": None}), "stop_level", "a bad dry run")

    with t.case("workload_targets_refused"):
        # target_scope/target_entities (workload-level) are not resolved here: refused, never
        # silently widened to whole hosts
        refused(dict(BASE, request_type="start", target_scope="pod",
                     target_entities=[{"pod_name": "web-1"}]), "target_scope", "pod scope")
        refused(dict(BASE, request_type="start", target_hosts={"val-host": None},
                     target_entities=[{"hostname": "val-host", "pid": 4}]), "target_entities",
                "entities")
        st, ans = srv.profile_request("svc-val", "start", {"val-host": None}, target_scope="host")
        t.eq(st, 200, "scope host is fine (%s)" % ans)
