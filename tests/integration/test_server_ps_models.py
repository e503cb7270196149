#!/usr/bin/env python3
"""Our agent against Performance Studio's backend (issue 9, point 5).

The real fleetprof-agent, in heartbeat mode, profiles a workload on request and stops on request,
talking to our real server through a recording proxy. Every request it sent is then checked
against a schema written from Performance Studio's own code (backend/models/metrics_models.py,
profiles_models.py, gprofiler_dev/postgres/schemas.py, the PostgreSQL columns the values are cast
to, and the indexer's reading of the profile header and line prefix in callstacks.go):

- heartbeat          HeartbeatRequest; ip_address a valid inet, command ids UUIDs, status a HostStatus
- command_completion CommandCompletionRequest; execution_time an integer column
- profile upload     GPROFILER-API-KEY and GPROFILER-SERVICE-NAME headers (both Header(...)),
                     AgentData {start_time, profile, gpid}; the header line's metadata as
                     AgentMetadata (public_ip and instance_type are filled in by the backend);
                     the header as the indexer's FileInfo; each line's prefix as the header's
                     application_metadata_enabled says.

Pydantic v1 is what Performance Studio runs (it uses @validator/@root_validator), so its
coercions are the ones applied: an int field takes a float (truncated), a datetime field takes an
ISO 8601 string or a number. Strings are required to be JSON strings.

A check our agent does not pass yet is reported as a skip naming every violation when it is in
AGENT_GAPS below (the agent's side of issue 9 point 5); anything else is a failure.
"""
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import spawn_workload  # noqa: E402
from serverlib import (AGENT_TOKEN, BUILD, RecordingProxy, Skip, Suite, TestFailure,  # noqa: E402
                       need_server_binary, wait_for)

need_server_binary()

AGENT = os.path.join(BUILD, "fleetprof-agent")
SPLIT = os.path.join(BUILD, "tests", "workloads", "split")
HOST = socket.gethostname()
SVC = "svc-ps-models"

# Checks the agent is known not to pass yet, with what the agent has to change.
AGENT_GAPS = {
    "ps_upload_agent_metadata":
        "agent side: the profile header's metadata lacks fields AgentMetadata requires, so "
        "Performance Studio answers 400 'Failed to parse v2 metadata'",
    "ps_indexer_header_and_lines":
        "agent side: metadata.run_arguments is a string (the indexer's FileInfo wants an "
        "object: the whole file is dropped), and application_metadata_enabled is false while "
        "every line starts with the appid (the indexer would take '0' as the container)",
}

ISO_RE = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")


# ---- a small schema language: (type, required) per field ------------------------------------

def is_str(v):
    return isinstance(v, str)


def is_int(v):   # pydantic v1 int: an int, or a float it truncates (not a bool)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_datetime(v):   # pydantic v1 datetime: ISO 8601 text, or a number (epoch seconds)
    return (isinstance(v, str) and ISO_RE.match(v) is not None) or is_int(v)


def is_uuid(v):
    try:
        uuid.UUID(v)
        return True
    except (ValueError, TypeError, AttributeError):
        return False


def is_inet(v):
    try:
        ipaddress.ip_address(v)
        return True
    except (ValueError, TypeError):
        return False


def list_of(pred):
    return lambda v: isinstance(v, list) and all(pred(x) for x in v)


def one_of(*values):
    return lambda v: v in values


def is_dict(v):
    return isinstance(v, dict)


def is_bool(v):
    return isinstance(v, bool)


def check(obj, schema, where):
    """Violations of obj against {field: (pred, required, note)}; unknown fields are allowed
    (pydantic v1 ignores extra fields by default)."""
    bad = []
    if not isinstance(obj, dict):
        return ["%s: not a JSON object" % where]
    for field, (pred, required, note) in schema.items():
        if field not in obj or obj[field] is None:
            if required:
                bad.append("%s: '%s' is missing (%s)" % (where, field, note))
            continue
        if not pred(obj[field]):
            bad.append("%s: '%s' = %r is not %s" % (where, field, obj[field], note))
    return bad


# HeartbeatRequest (metrics_models.py) + the HostHeartbeats columns the values are cast to.
HEARTBEAT = {
    "ip_address": (is_inet, True, "str, cast to inet"),
    "hostname": (is_str, True, "str"),
    "service_name": (is_str, True, "str"),
    "agent_version": (is_str, False, "Optional[str]"),
    "run_mode": (is_str, False, "Optional[str]"),
    "namespace": (is_str, False, "Optional[str]"),
    "pod_name": (is_str, False, "Optional[str]"),
    "containers": (list_of(is_dict), False, "Optional[List[HeartbeatContainerInfo]]"),
    "last_command_id": (is_uuid, False, "Optional[str], cast to uuid"),
    "received_command_ids": (list_of(is_uuid), False, "Optional[List[str]], cast to uuid[]"),
    "executed_command_ids": (list_of(is_uuid), False, "Optional[List[str]], cast to uuid[]"),
    "status": (one_of("active", "idle", "error", "offline"), False, "HostStatus"),
    "timestamp": (is_datetime, False, "Optional[datetime]"),
    "perf_supported_events": (list_of(is_str), False, "Optional[List[str]]"),
}

# CommandCompletionRequest + ProfilingCommands.execution_time integer.
COMPLETION = {
    "command_id": (is_uuid, True, "str, a command's uuid"),
    "hostname": (is_str, True, "str"),
    "status": (one_of("completed", "failed"), True, "'completed' or 'failed'"),
    "execution_time": (is_int, False, "Optional[int]"),
    "error_message": (is_str, False, "Optional[str]"),
    "results_path": (is_str, False, "Optional[str]"),
}

# AgentData (profiles_models.py): end_time, cpu_avg, ... are extra fields it ignores.
AGENT_DATA = {
    "start_time": (is_datetime, True, "datetime"),
    "profile": (is_str, True, "str"),
    "gpid": (lambda v: is_str(v) or (is_int(v) and not isinstance(v, float)), True,
             "Union[str, int], no default"),
}

# AgentMetadata (gprofiler_dev/postgres/schemas.py), less public_ip and instance_type which the
# backend sets before validating.
AGENT_METADATA = {
    "current_time": (is_datetime, True, "datetime"),
    "spawn_time": (is_datetime, True, "datetime"),
    "spawn_uptime_ms": (is_int, True, "int"),
    "private_ip": (is_str, True, "str"),
    "hostname": (is_str, True, "str"),
    "cloud_provider": (lambda v: is_str(v) and v.lower() in ("aws", "gcp", "azure", "unknown"),
                       True, "CloudProvider (AWS, GCP, Azure, Unknown)"),
    "processors": (is_int, True, "int"),
    "memory_capacity_mb": (is_int, True, "int"),
    "system_name": (is_str, True, "str"),
    "os_name": (is_str, True, "str"),
    "os_release": (is_str, True, "str"),
    "kernel_release": (is_str, True, "str"),
    "kernel_version": (is_str, True, "str"),
    "hardware_type": (is_str, True, "str"),
    "cloud_info": (is_dict, False, "Dict"),
    "pid": (is_int, True, "int"),
    "mac_address": (is_str, True, "str"),
    "agent_version": (lambda v: is_str(v) and re.match(r"^\d+(\.\d+)*", v) is not None, True,
                      "str, a version (cmp_version.VersionString)"),
    "libc_type": (is_str, True, "str"),
    "libc_version": (is_str, True, "str"),
    "python_version": (is_str, True, "str"),
    "run_mode": (is_str, True, "str"),
    "deployment_type": (is_str, True, "str"),
    "run_arguments": (is_dict, True, "Dict"),
    "big_data": (is_dict, False, "Dict"),
}

# The indexer's FileInfo (callstacks.go): json.Unmarshal fails the whole file on a type mismatch.
INDEXER_HEADER = {
    "metadata": (is_dict, False, "object"),
    "metrics": (is_dict, False, "object {cpu_avg, mem_avg: numbers}"),
    "application_metadata_enabled": (is_bool, False, "bool"),
    "htmlblob": (is_str, False, "string"),
    "flamegraph_html": (is_str, False, "string"),
}
INDEXER_METADATA = {
    "hostname": (is_str, False, "string"),
    "continuous": (is_bool, False, "bool"),
    "cloud_info": (is_dict, False, "object"),
    "run_arguments": (is_dict, False, "object {service_name, profile_api_version, perf_events,"
                      " perf_mode: strings}"),
}


def heartbeat_violations(rec):
    return check(rec.json(), HEARTBEAT, "heartbeat")


def completion_violations(rec):
    return check(rec.json(), COMPLETION, "command_completion")


def upload_request_violations(rec):
    bad = []
    for h in ("gprofiler-api-key", "gprofiler-service-name"):
        if not rec.headers.get(h):
            bad.append("upload: header %s missing (Header(...) in the route)" % h.upper())
    if rec.headers.get("gprofiler-api-key") and rec.headers["gprofiler-api-key"] != AGENT_TOKEN:
        bad.append("upload: GPROFILER-API-KEY is not the agent's token")
    body = rec.json()
    bad += check(body, AGENT_DATA, "upload body")
    return bad


def header_and_lines(rec):
    text = rec.json().get("profile") or ""
    first, _, rest = text.partition("\n")
    if not first.startswith("#"):
        return None, [], ["profile: no '#' header line (the backend asserts one)"]
    try:
        return json.loads(first[1:]), [ln for ln in rest.split("\n") if ln.strip()], []
    except ValueError as e:
        return None, [], ["profile: the header line is not JSON: %s" % e]


def metadata_violations(rec):
    hdr, _, bad = header_and_lines(rec)
    if bad:
        return bad
    if "metadata" not in hdr:
        return ["profile header: no 'metadata' (\"Agent metadata is missing\")"]
    return check(hdr["metadata"], AGENT_METADATA, "profile header metadata")


def indexer_violations(rec):
    hdr, lines, bad = header_and_lines(rec)
    if bad:
        return bad
    bad = check(hdr, INDEXER_HEADER, "profile header")
    md = hdr.get("metadata") or {}
    bad += check(md, INDEXER_METADATA, "profile header metadata")
    metrics = hdr.get("metrics") or {}
    for k in ("cpu_avg", "mem_avg"):
        if k in metrics and metrics[k] is not None and not is_int(metrics[k]):
            bad.append("profile header metrics: '%s' is not a number" % k)
    # the line prefix: appid;container;comm with application metadata on, container;comm off
    with_appid = hdr.get("application_metadata_enabled") is True
    appmeta = hdr.get("application_metadata") or []
    for ln in lines[:2000]:
        stack = ln.rsplit(" ", 1)[0]
        fields = stack.split(";")
        if with_appid:
            ok = len(fields) >= 3 and fields[0].isdigit() and int(fields[0]) < max(len(appmeta), 1)
            want = "<appid index>;<container>;<comm>;..."
        else:
            ok = len(fields) >= 2 and fields[1] != "" and not (
                fields[0].isdigit() and len(fields) >= 3)
            want = "<container>;<comm>;... (application_metadata_enabled is %r)" % (
                hdr.get("application_metadata_enabled"),)
        if not ok:
            bad.append("profile line %r: the indexer reads it as %s" % (ln[:100], want))
            break
    return bad


# ---- driving the agent ------------------------------------------------------------------------

def command_status(srv, cid):
    st, body = srv.commands(hostname=HOST, limit=100)
    for c in (body or {}).get("commands", []):
        if c["command_id"] == cid:
            return c["status"]
    return None


def run_agent(t, srv, proxy):
    """Heartbeats, a start on the workload, its upload and completion, a stop."""
    if os.geteuid() != 0:
        raise Skip("needs root (BPF)")
    for p in (AGENT, SPLIT):
        if not os.path.exists(p):
            raise TestFailure("missing %s (make test builds it)" % p)
    state = os.path.join(t.tmp, "agent")
    os.makedirs(state, exist_ok=True)
    log = open(os.path.join(state, "agent.log"), "wb")
    work, pid = spawn_workload(SPLIT, 60)
    agent = subprocess.Popen(
        [AGENT, "--enable-heartbeat-server", "--server-host", "http://127.0.0.1:%d" % proxy.port,
         "--token", AGENT_TOKEN, "--service-name", SVC, "--state-dir", state,
         "--heartbeat-interval", "1", "--perf-mode", "bpf", "-v"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: proxy.taken("/api/metrics/heartbeat"), 60, "a heartbeat")
        st, body = srv.profile_request(SVC, "start", {HOST: [pid]}, duration=3, frequency=99)
        if st != 200:
            raise TestFailure("start request: %d %s" % (st, body))
        start = body["command_ids"][0]
        wait_for(lambda: proxy.taken("/api/v2/profiles"), 90, "the profile upload")
        wait_for(lambda: command_status(srv, start) == "completed", 60, "the start's completion")
        st, body = srv.profile_request(SVC, "stop", {HOST: None}, stop_level="host")
        if st != 200:
            raise TestFailure("stop request: %d %s" % (st, body))
        stop = body["command_ids"][0]
        wait_for(lambda: command_status(srv, stop) == "completed", 60, "the stop's completion")
        wait_for(lambda: len(proxy.taken("/api/metrics/command_completion")) >= 2, 30,
                 "two completion reports")
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        os.killpg(work.pid, signal.SIGKILL)
        work.wait()
        log.close()


def verdict(t, name, records, fn):
    with t.case(name):
        if not records:
            raise TestFailure("the agent sent no such request")
        bad = []
        for r in records:
            for v in fn(r):
                if v not in bad:
                    bad.append(v)
        if bad and name in AGENT_GAPS:
            raise Skip("%s; %s" % (AGENT_GAPS[name], " | ".join(bad[:12])))
        if bad:
            raise TestFailure(" | ".join(bad[:12]))


def schema_self_check(t):
    """The schema takes what gProfiler's own agent sends and refuses what its backend would."""
    from serverlib import Recorded
    gid = str(uuid.uuid4())
    hb = {"ip_address": "10.0.0.5", "hostname": "h", "service_name": "s", "last_command_id": gid,
          "status": "active", "timestamp": "2026-11-27T13:00:00.123456",
          "received_command_ids": [gid], "executed_command_ids": [],
          "perf_supported_events": ["cycles"]}
    meta = {"current_time": "2026-11-27T13:00:00", "spawn_time": "2026-11-27T12:00:00",
            "spawn_uptime_ms": 1218241.6, "private_ip": "10.0.0.5", "hostname": "h",
            "cloud_provider": "aws", "processors": 2, "memory_capacity_mb": 3904,
            "system_name": "Linux", "os_name": "Ubuntu", "os_release": "22.04",
            "kernel_release": "6.2.0", "kernel_version": "#15", "hardware_type": "x86_64",
            "pid": 525326, "mac_address": "0E:D7:21:85:5E:17", "agent_version": "1.35.0",
            "libc_type": "glibc", "libc_version": "2.35", "python_version": "3.8.10",
            "run_mode": "container", "deployment_type": "containers",
            "run_arguments": {"service_name": "s", "profile_api_version": None}}
    hdr = {"containers": [], "container_names_enabled": True, "metadata": meta,
           "metrics": {"cpu_avg": 8.8, "mem_avg": 39.8}, "application_metadata": [None],
           "application_metadata_enabled": True, "profiling_mode": "cpu"}
    up = {"start_time": "2026-11-27T13:00:00", "end_time": "2026-11-27T13:01:00",
          "hostname": "h", "profile": "# " + json.dumps(hdr) + "\n0;;python3;main_[p] 5\n",
          "cpu_avg": 8.8, "mem_avg": 39.8, "spawn_time": "2026-11-27T12:00:00", "gpid": ""}
    hdrs = {"gprofiler-api-key": AGENT_TOKEN, "gprofiler-service-name": "s"}

    def rec(body, headers=None):
        return Recorded("POST", "/x", headers or {}, json.dumps(body).encode(), 200, b"{}")

    with t.case("schema_takes_gprofiler_requests"):
        for what, fn, r in (("heartbeat", heartbeat_violations, rec(hb)),
                            ("upload", upload_request_violations, rec(up, hdrs)),
                            ("metadata", metadata_violations, rec(up)),
                            ("indexer", indexer_violations, rec(up))):
            t.eq(fn(r), [], "gProfiler's %s" % what)
    with t.case("schema_refuses_what_the_backend_refuses"):
        t.true(heartbeat_violations(rec(dict(hb, ip_address="not-an-ip"))), "a bad inet")
        t.true(heartbeat_violations(rec(dict(hb, received_command_ids=["x"]))), "a bad uuid")
        t.true(upload_request_violations(rec({k: v for k, v in up.items() if k != "gpid"},
                                             hdrs)), "no gpid")
        t.true(upload_request_violations(rec(up)), "no GPROFILER-API-KEY header")
        bad = dict(up, profile=up["profile"].replace("0;;python3", ";python3"))
        t.true(indexer_violations(rec(bad)), "a line without the appid the header announces")


with Suite("server_ps_models") as t:
    schema_self_check(t)
    srv = t.server()
    with RecordingProxy(srv) as proxy:
        ran = False
        with t.case("agent_cycle_through_proxy"):
            run_agent(t, srv, proxy)
            ran = True
        if ran:
            if os.environ.get("FLEETPROF_CAPTURE_DIR"):
                # keep what the agent sent (the fuzz seeds come from such a run)
                d = os.environ["FLEETPROF_CAPTURE_DIR"]
                os.makedirs(d, exist_ok=True)
                for i, r in enumerate(proxy.taken()):
                    name = "%02d_%s" % (i, r.route().strip("/").replace("/", "_"))
                    with open(os.path.join(d, name), "wb") as f:
                        f.write(r.body)
            verdict(t, "ps_heartbeat_model", proxy.taken("/api/metrics/heartbeat"),
                    heartbeat_violations)
            verdict(t, "ps_completion_model", proxy.taken("/api/metrics/command_completion"),
                    completion_violations)
            uploads = proxy.taken("/api/v2/profiles")
            verdict(t, "ps_upload_request", uploads, upload_request_violations)
            verdict(t, "ps_upload_agent_metadata", uploads, metadata_violations)
            verdict(t, "ps_indexer_header_and_lines", uploads, indexer_violations)
