"""serverlib — start a real fleetprof-server and talk to it (Python 3 stdlib only).

Used by tests/integration/test_server_*.py and bench/server/*.py.

    with Suite("server_api") as t:                # prints ok/FAIL/skip lines, exits 1 on failure
        srv = t.server()                          # started on an ephemeral port in a temp dir,
                                                  # SIGTERMed + checked for ASan/UBSan at the end
        st, body = srv.json("GET", "/api/v1/health_check")
        with t.case("health_open"):
            t.eq(st, 200, "status")

Environment: FLEETPROF_BUILD (binary dir, default build/san), FLEETPROF_ROOT (repo root, default:
two levels above this file).
"""
import contextlib
import gzip
import http.client
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.environ.get("FLEETPROF_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("FLEETPROF_BUILD", "build/san")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
SERVER_BIN = os.path.join(BUILD, "fleetprof-server")

AGENT_TOKEN = "agent-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-fedcba9876543210"

# Lines in the server's stderr that mean a sanitizer found something.
SAN_PATTERNS = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"WARNING: ThreadSanitizer|SUMMARY: (Address|Undefined|Leak)Sanitizer)")
LISTEN_RE = re.compile(r"listening on https?://([^\s:/]+|\[[^\]]+\]):(\d+)")


class TestFailure(Exception):
    pass


# ---- time helpers ------------------------------------------------------------------------------

def iso(sec):
    """Seconds since the epoch -> '2026-11-27T13:00:00Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sec)))


def minute_floor(sec):
    return int(sec) // 60 * 60


# ---- collapsed text ----------------------------------------------------------------------------

def parse_collapsed(text):
    """Collapsed text -> {stack: count}. Skips '#' lines and blank lines; sums repeats."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        stack, _, count = line.rpartition(" ")
        if not stack:
            raise ValueError("bad collapsed line %r" % line)
        out[stack] = out.get(stack, 0) + int(count)
    return out


def make_profile(stacks, header=None):
    """{ 'appid;container;comm;f1;f2': count } -> gProfiler collapsed text with a '# {json}' header."""
    if header is None:
        header = {"metadata": {"hostname": "x", "agent_version": "test"}, "metrics": {}}
    lines = ["# " + json.dumps(header, separators=(",", ":"))]
    for s, c in stacks.items():
        lines.append("%s %d" % (s, c))
    return "\n".join(lines) + "\n"


def server_stacks(stacks, container=None):
    """What the server should answer for uploaded stacks: 'appid;container;comm;...' ->
    'comm;...' (container dropped from the stack), summed, optionally only one container."""
    out = {}
    for s, c in stacks.items():
        parts = s.split(";")
        if container is not None and parts[1] != container:
            continue
        key = ";".join(parts[2:])
        out[key] = out.get(key, 0) + c
    return out


def merge(*dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def tree_from_stacks(stacks):
    """Expected flame graph: {name: {'value': n, 'children': {...}}} keyed by frame name."""
    root = {"value": 0, "children": {}}
    for s, c in stacks.items():
        root["value"] += c
        node = root
        for f in s.split(";"):
            node = node["children"].setdefault(f, {"value": 0, "children": {}})
            node["value"] += c
    return root


def tree_from_json(node):
    """Server tree {name, value, children[]} -> the same keyed shape as tree_from_stacks.
    Raises ValueError on duplicate sibling names (a merge bug)."""
    kids = {}
    for ch in node.get("children") or []:
        if ch["name"] in kids:
            raise ValueError("duplicate sibling %r under %r" % (ch["name"], node.get("name")))
        kids[ch["name"]] = tree_from_json(ch)
    return {"value": node["value"], "children": kids}


def top_functions_expected(stacks):
    """{frame: (self, total)}: self = samples with the frame as leaf, total = samples of stacks
    containing the frame (once per stack, so recursion does not double count). The first element
    (the process comm) counts like any frame."""
    out = {}
    for s, c in stacks.items():
        frames = s.split(";")
        for f in set(frames):
            se, to = out.get(f, (0, 0))
            out[f] = (se, to + c)
        se, to = out[frames[-1]]
        out[frames[-1]] = (se + c, to)
    return out


# ---- HTTP --------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:300])


class Server:
    """A fleetprof-server process on an ephemeral port, its database in a temp dir."""

    def __init__(self, workdir, args=None, agent_token=AGENT_TOKEN, admin_token=ADMIN_TOKEN,
                 db=None, web=None, env=None):
        self.workdir = workdir
        self.db = db or os.path.join(workdir, "data", "fleetprof.db")
        self.web = web
        self.agent_token = agent_token
        self.admin_token = admin_token
        self.extra_args = list(args or [])
        self.extra_env = env or {}
        self.proc = None
        self.host = None
        self.port = None
        self.log_path = None
        self.returncode = None
        self.starts = 0

    # -- lifecycle --
    def cmdline(self):
        cmd = [SERVER_BIN, "--port", "0", "--bind", "127.0.0.1", "--db", self.db,
               "--schema", os.path.join(ROOT, "schema")]
        if self.web:
            cmd += ["--web", self.web]
        else:
            cmd += ["--web", os.path.join(ROOT, "web")]
        if self.agent_token:
            cmd += ["--agent-token", self.agent_token]
        if self.admin_token:
            cmd += ["--admin-token", self.admin_token]
        return cmd + self.extra_args

    def start(self, timeout=20, expect_listen=True):
        """Start and wait for the 'listening on' line. With expect_listen=False, wait for the
        process to exit instead and return its exit code (for refusal tests)."""
        if not os.path.exists(SERVER_BIN):
            raise TestFailure("no server binary at %s (build it first)" % SERVER_BIN)
        self.starts += 1
        self.log_path = os.path.join(self.workdir, "server-%d.log" % self.starts)
        env = dict(os.environ)
        # Our own settings win over anything inherited.
        for k in list(env):
            if k.startswith("FLEETPROF_") and k not in ("FLEETPROF_BUILD", "FLEETPROF_ROOT"):
                del env[k]
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env.update(self.extra_env)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmdline(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir, env=env)
        self.returncode = None
        deadline = time.time() + timeout
        while time.time() < deadline:
            rc = self.proc.poll()
            out = self.output()
            if expect_listen:
                m = LISTEN_RE.search(out)
                if m:
                    self.host = m.group(1).strip("[]")
                    if self.host in ("0.0.0.0", "::"):
                        self.host = "127.0.0.1"
                    self.port = int(m.group(2))
                    if self.port == 0:
                        raise TestFailure("server printed port 0: %s" % out[-500:])
                    return self
                if rc is not None:
                    self.returncode = rc
                    self.proc = None
                    self.log.close()
                    raise TestFailure("server exited with %d before listening:\n%s"
                                      % (rc, out[-2000:]))
            elif rc is not None:
                self.returncode = rc
                self.proc = None
                self.log.close()
                return rc
            time.sleep(0.02)
        self.kill()
        raise TestFailure("server did not %s within %ds:\n%s"
                          % ("listen" if expect_listen else "exit", timeout, self.output()[-2000:]))

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the server and wait; returns its exit code (kills it after timeout)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = -9
                self.proc = None
                self.log.close()
                raise TestFailure("server did not exit within %ds of signal %d" % (timeout, sig))
        self.returncode = self.proc.returncode
        self.proc = None
        self.log.close()
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.returncode = self.proc.returncode
            self.proc = None
            self.log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def sanitizer_reports(self):
        """Lines of every log of this server that look like sanitizer reports."""
        found = []
        for i in range(1, self.starts + 1):
            p = os.path.join(self.workdir, "server-%d.log" % i)
            try:
                with open(p, "rb") as f:
                    for line in f.read().decode("utf-8", "replace").splitlines():
                        if SAN_PATTERNS.search(line):
                            found.append("%s: %s" % (os.path.basename(p), line.strip()))
            except OSError:
                pass
        return found

    # -- HTTP --
    def request(self, method, path, body=None, headers=None, token=None, timeout=30):
        """Raw request; token: 'agent', 'admin', None or a literal string. Returns Response."""
        h = {}
        if token == "agent":
            h["Authorization"] = "Bearer " + self.agent_token
        elif token == "admin":
            h["Authorization"] = "Bearer " + self.admin_token
        elif token:
            h["Authorization"] = "Bearer " + token
        if headers:
            h.update(headers)
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in h.items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may answer 413 and close before reading it all
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def json(self, method, path, obj=None, token="admin", headers=None):
        """JSON request; returns (status, parsed body or None when the body is not JSON)."""
        body = None
        h = {}
        if obj is not None:
            body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        r = self.request(method, path, body, headers=h, token=token)
        try:
            return r.status, r.json()
        except ValueError:
            return r.status, None

    # -- protocol helpers --
    def heartbeat(self, hostname, service, received=(), executed=(), ip="10.0.0.1",
                  version="test-1.0", token="agent", **extra):
        body = {"ip_address": ip, "hostname": hostname, "service_name": service,
                "last_command_id": extra.pop("last_command_id", None), "status": "OK",
                "timestamp": iso(time.time()), "received_command_ids": list(received),
                "executed_command_ids": list(executed), "agent_version": version}
        body.update(extra)
        return self.json("POST", "/api/metrics/heartbeat", body, token=token)

    def profile_request(self, service, request_type="start", targets=None, token="admin", **kw):
        body = {"service_name": service, "request_type": request_type, "continuous": False,
                "duration": 60, "frequency": 11, "profiling_mode": "cpu"}
        if targets is not None:
            body["target_hosts"] = targets
        body.update(kw)
        return self.json("POST", "/api/metrics/profile_request", body, token=token)

    def complete(self, command_id, hostname, status="completed", token="agent", **kw):
        body = {"command_id": command_id, "hostname": hostname, "status": status,
                "execution_time": 1.5, "error_message": None, "results_path": None}
        body.update(kw)
        return self.json("POST", "/api/metrics/command_completion", body, token=token)

    def host_status(self, service=None, hostname=None):
        q = []
        if service:
            q.append("service_name=" + quote(service))
        if hostname:
            q.append("hostname=" + quote(hostname))
        return self.json("GET", "/api/metrics/profiling/host_status" + ("?" + "&".join(q) if q else ""))

    def commands(self, hostname=None, service=None, limit=None):
        q = []
        if hostname:
            q.append("hostname=" + quote(hostname))
        if service:
            q.append("service_name=" + quote(service))
        if limit:
            q.append("limit=%d" % limit)
        return self.json("GET", "/api/metrics/commands" + ("?" + "&".join(q) if q else ""))

    def upload(self, service, hostname, text, start, end=None, cpu=12.5, mem=40.25, gpid=0,
               compress=True, key=None, raw=None, headers=None):
        """Upload a profile the way gProfiler's agent does (gzip JSON, GPROFILER-API-KEY).
        raw: bytes to send as the body instead of building one. Returns Response."""
        if end is None:
            end = start + 60
        if raw is None:
            doc = {"start_time": iso(start), "end_time": iso(end), "hostname": hostname,
                   "profile": text, "cpu_avg": cpu, "mem_avg": mem, "spawn_time": iso(start - 5),
                   "gpid": gpid}
            raw = json.dumps(doc).encode()
            if compress:
                raw = gzip.compress(raw, 6)
        h = {"GPROFILER-API-KEY": self.agent_token if key is None else key,
             "Content-Type": "application/json", "GPROFILER-SERVICE-NAME": service}
        if compress:
            h["Content-Encoding"] = "gzip"
        if headers:
            h.update(headers)
        path = "/api/v2/profiles?service=%s&hostname=%s&timestamp=%s&version=test-1.0" % (
            quote(service), quote(hostname), quote(iso(start)))
        return self.request("POST", path, raw, headers=h, token=None)

    def flamegraph(self, service, start, end, fmt="flamegraph", hostname=None, container=None,
                   extra=""):
        q = "service=%s&start_datetime=%s&end_datetime=%s&format=%s" % (
            quote(service), quote(iso(start)), quote(iso(end)), fmt)
        if hostname is not None:
            q += "&hostname=" + quote(hostname)
        if container is not None:
            q += "&container=" + quote(container)
        return self.request("GET", "/api/v1/flamegraph?" + q + extra, token="admin")

    def query(self, endpoint, service, start, end, **kw):
        q = "service=%s&start_datetime=%s&end_datetime=%s" % (
            quote(service), quote(iso(start)), quote(iso(end)))
        for k, v in kw.items():
            q += "&%s=%s" % (k, quote(str(v)))
        return self.json("GET", "%s?%s" % (endpoint, q))


def wait_for(cond, timeout, what, every=0.2):
    """Poll cond() until it returns something true (returned), or fail after timeout seconds."""
    end = time.time() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.time() >= end:
            raise TestFailure("no %s within %ds" % (what, timeout))
        time.sleep(every)


def free_port():
    """A TCP port free on 127.0.0.1 right now (for a server that must keep its port across a
    restart, which --port 0 would not)."""
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def quote(s):
    from urllib.parse import quote as q
    return q(s, safe="")


# ---- the test harness --------------------------------------------------------------------------

class Suite:
    """One test program. Each case prints exactly one line. Servers started through
    suite.server() are stopped (SIGTERM), their logs scanned for sanitizer reports, and the temp
    dir removed when the suite ends, whatever happened."""

    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0
        self.skipped = 0
        self.servers = []
        self.tmp = tempfile.mkdtemp(prefix="fleetprof-%s-" % name)
        self.t0 = time.time()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None and not issubclass(et, SystemExit):
            self.failed += 1
            print("FAIL %s_harness: %s: %s" % (self.name, et.__name__, ev), flush=True)
            traceback.print_exception(et, ev, tb, file=sys.stderr)
        for s in self.servers:
            try:
                if s.proc is not None and s.proc.poll() is not None:
                    rc = s.proc.returncode
                    s.kill()
                    self._fail("%s_server_died" % self.name,
                               "server exited on its own with %s during the tests" % rc, s)
                elif s.alive():
                    rc = s.stop()
                    if rc != 0:
                        self._fail("%s_server_exit" % self.name,
                                   "server exited with %s on SIGTERM" % rc, s)
            except Exception as e:  # noqa: BLE001 - clean up whatever happens
                self._fail("%s_server_exit" % self.name, str(e), s)
                s.kill()
        reports = []
        for s in self.servers:
            reports += s.sanitizer_reports()
        if reports:
            self._fail("%s_sanitizers" % self.name, "; ".join(reports[:5]))
        elif self.servers:
            print("ok %s_sanitizers" % self.name, flush=True)
            self.passed += 1
        if self.failed and os.environ.get("FLEETPROF_KEEP_TMP"):
            print("kept %s" % self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        print("# %s: %d ok, %d failed, %d skipped in %.1fs" % (
            self.name, self.passed, self.failed, self.skipped, time.time() - self.t0),
            file=sys.stderr, flush=True)
        sys.exit(1 if self.failed else 0)

    def _fail(self, name, why, srv=None):
        self.failed += 1
        print("FAIL %s: %s" % (name, why.replace("\n", " | ")[:1500]), flush=True)
        if srv is not None:
            sys.stderr.write("--- server log tail ---\n%s\n" % srv.output()[-3000:])

    def server(self, args=None, start=True, **kw):
        wd = tempfile.mkdtemp(prefix="srv-", dir=self.tmp)
        s = Server(wd, args=args, **kw)
        self.servers.append(s)
        if start:
            s.start()
        return s

    @contextlib.contextmanager
    def case(self, name):
        """with suite.case('name'): ... — assertion failures become one FAIL line; the rest of
        the suite goes on. Raise Skip('why') to skip."""
        try:
            yield
        except Skip as e:
            self.skipped += 1
            print("skip %s: %s" % (name, e), flush=True)
        except TestFailure as e:
            self._fail(name, str(e))
        except Exception as e:  # noqa: BLE001 - an unexpected error is a failure of this case
            self._fail(name, "%s: %s" % (type(e).__name__, e))
            traceback.print_exc(file=sys.stderr)
        else:
            self.passed += 1
            print("ok %s" % name, flush=True)

    # assertions
    @staticmethod
    def eq(got, want, what):
        if got != want:
            raise TestFailure("%s: got %r, want %r" % (what, got, want))

    @staticmethod
    def true(cond, what):
        if not cond:
            raise TestFailure(what)


class Skip(Exception):
    pass


def need_server_binary():
    """Print one skip line and exit 0 when the binary is missing? No: a missing build is a
    failure (make test builds it first). Returns the path."""
    if not os.path.exists(SERVER_BIN):
        print("FAIL server_binary: %s does not exist (build it with make SAN=1)" % SERVER_BIN)
        sys.exit(1)
    return SERVER_BIN


# ---- a recording proxy -------------------------------------------------------------------------

class Recorded:
    """One request that went through a RecordingProxy, and the server's answer."""

    def __init__(self, method, path, headers, body, status, answer):
        self.method = method
        self.path = path              # with the query string
        self.headers = headers        # {lower-case name: value}
        self.body = body              # bytes as sent (gzip when the agent compressed)
        self.status = status
        self.answer = answer          # bytes

    def plain_body(self):
        """The body decompressed when it is gzip."""
        if self.body[:2] == b"\x1f\x8b":
            return gzip.decompress(self.body)
        return self.body

    def json(self):
        return json.loads(self.plain_body().decode("utf-8"))

    def query(self):
        from urllib.parse import parse_qs, urlsplit
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query,
                                             keep_blank_values=True).items()}

    def route(self):
        return self.path.split("?", 1)[0]


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 in front of a Server that keeps every request it passes on
    (for checking what a real agent sends). Use as a context manager; .port, .records."""

    def __init__(self, srv):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.srv = srv
        self.records = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # noqa: A003 - quiet
                pass

            def relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                fwd = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "connection", "content-length")}
                r = proxy.srv.request(self.command, self.path, body if n else None, headers=fwd)
                with proxy.lock:
                    proxy.records.append(Recorded(self.command, self.path, hdrs, body, r.status,
                                                  r.body))
                self.send_response(r.status)
                for k, v in r.headers.items():
                    if k not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.body)))
                self.end_headers()
                self.wfile.write(r.body)

            do_GET = do_POST = do_PUT = do_DELETE = relay

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def taken(self, route=None):
        """The records so far (of one route when given)."""
        with self.lock:
            return [r for r in self.records if route is None or r.route() == route]
