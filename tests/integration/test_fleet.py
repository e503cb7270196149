"""test_fleet — the agent in heartbeat mode against the real server (issue 4).

A real fleetprof-server (serverlib) and the real fleetprof-agent as root with BPF, profiling the
3:1 split workload on request:
- request -> the agent profiles -> the profile is queryable with the workload's functions in the
  right share and order -> completion reported -> host_status shows it completed;
- a continuous run survives the server being killed and restarted: every snapshot arrives once;
- kill -9 of the agent right after it started a command, then restart: not run again, and the
  command is reported failed with the reason;
- a stop with nothing running; a command for another host is not run here;
- idle RSS of the plain (non-sanitizer) build, and RSS back near idle after a run.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import spawn_workload  # noqa: E402
from serverlib import (AGENT_TOKEN, free_port, BUILD, ROOT, Skip, Suite, TestFailure, iso,  # noqa: E402
                       parse_collapsed)

AGENT = os.path.join(BUILD, "fleetprof-agent")
PLAIN_BUILD = os.environ.get("FLEETPROF_PLAIN_BUILD", "build")
if not os.path.isabs(PLAIN_BUILD):
    PLAIN_BUILD = os.path.join(ROOT, PLAIN_BUILD)
PLAIN_AGENT = os.path.join(PLAIN_BUILD, "fleetprof-agent")
SPLIT = os.path.join(BUILD, "tests", "workloads", "split")
HOST = socket.gethostname()
SAN = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")

procs = []




def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise TestFailure("timed out after %ds waiting for %s" % (timeout, what))


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root (BPF)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise Skip("kernel has no BTF")
    for p in (AGENT, SPLIT):
        if not os.path.exists(p):
            raise TestFailure("missing %s (make test builds it)" % p)


class Agent:
    def __init__(self, t, srv, service, binary=AGENT, interval=1):
        self.state = os.path.join(t.tmp, "agent-%s-%d" % (service, len(procs)))
        os.makedirs(self.state, exist_ok=True)
        self.log_path = os.path.join(self.state, "agent.log")
        self.binary = binary
        self.args = ["--enable-heartbeat-server", "--server-host", "http://127.0.0.1:%d" % srv.port,
                     "--token", AGENT_TOKEN, "--service-name", service, "--state-dir", self.state,
                     "--heartbeat-interval", str(interval), "--perf-mode", "bpf", "-v"]
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log_offset = self.size()
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary] + self.args, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log.close()
        procs.append(self.proc)
        return self

    def size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since_start=False):
        with open(self.log_path, "rb") as f:
            if since_start:
                f.seek(self.log_offset)
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def mem_kb(self, field):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return -1

    def check_clean(self):
        bad = SAN.search(self.log())
        if bad:
            raise TestFailure("sanitizer report in the agent log: %s" % self.log()[bad.start():][:1500])


def workload(seconds):
    p, pid = spawn_workload(SPLIT, seconds)
    procs.append(p)
    return pid


def command(srv, cid):
    st, body = srv.commands(hostname=HOST, limit=200)
    for c in (body or {}).get("commands", []):
        if c["command_id"] == cid:
            return c
    return None


def status_is(srv, cid, *want):
    c = command(srv, cid)
    return c if c and c["status"] in want else None


def request(srv, service, **kw):
    st, body = srv.profile_request(service, **kw)
    if st != 200 or not body.get("command_ids"):
        raise TestFailure("profile_request: %s %s" % (st, body))
    return body["command_ids"][0]


def heard(srv, service):
    st, body = srv.host_status(service=service)
    return st == 200 and any(h["hostname"] == HOST for h in body["hosts"])


def split_share(text):
    a = b = 0
    order_ok = True
    for frames, count in parse_collapsed(text).items():
        frames = frames.split(";")
        if not frames or frames[0] != "split":
            continue
        for i, f in enumerate(frames):
            if f in ("hot_a", "hot_b"):
                if f == "hot_a":
                    a += count
                else:
                    b += count
                if frames[i - 1] != "worker":
                    order_ok = False
                break
    return a, b, order_ok


def main():
    with Suite("fleet") as t:
        srv = t.server(args=["--port", str(free_port())])
        try:
            run(t, srv)
        finally:
            for p in procs:
                if p.poll() is None:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p.wait()


def run(t, srv):
    try:
        need_root()
    except Skip as e:
        for name in ("request_profile_completion", "continuous_survives_server_restart",
                     "kill9_not_rerun", "stop_idle_and_other_host", "idle_rss"):
            with t.case(name):
                raise e
        return

    pid = workload(120)
    agent = Agent(t, srv, "svc-a").start()

    with t.case("request_profile_completion"):
        wait_for(lambda: heard(srv, "svc-a"), 20, "the agent's first heartbeat")
        t0 = time.time()
        cid = request(srv, "svc-a", targets={HOST: [pid]}, duration=4, frequency=199,
                      continuous=False)
        c = wait_for(lambda: status_is(srv, cid, "completed", "failed"), 40, "completion of " + cid)
        t.eq(c["status"], "completed", "command status (error: %s)" % c.get("error_message"))
        text = srv.flamegraph("svc-a", t0 - 120, time.time() + 60, fmt="collapsed_file",
                              hostname=HOST).text()
        a, b = split_share(text)[:2]
        t.true(a + b >= 400, "only %d hot samples uploaded: %s" % (a + b, text[:500]))
        share = 100.0 * a / (a + b)
        t.true(abs(share - 75.0) <= 5.0, "hot_a share %.1f%% (a=%d b=%d), want 75 +- 5" % (share, a, b))
        t.true(split_share(text)[2], "hot_a/hot_b not called by worker: %s" % text[:500])
        st, hs = srv.host_status(service="svc-a", hostname=HOST)
        t.eq(hs["hosts"][0]["command_id"], cid, "host_status command id")
        t.eq(hs["hosts"][0]["command_status"], "completed", "host_status command status")
        t.eq(hs["hosts"][0]["status"], "active", "host status")

    with t.case("continuous_survives_server_restart"):
        wide = (time.time() - 3600, time.time() + 3600)

        def on_server():
            st, m = srv.query("/api/v1/metrics", "svc-a", wide[0], wide[1], hostname=HOST)
            fg = srv.flamegraph("svc-a", wide[0], wide[1], hostname=HOST).json()
            return len(m["metrics"]), fg["value"]
        n0, v0 = wait_for(lambda: on_server() if on_server()[0] == 1 else None, 20,
                          "the first run's profile on the server")
        cid = request(srv, "svc-a", targets={HOST: [pid]}, duration=2, frequency=99, continuous=True)
        wait_for(lambda: status_is(srv, cid, "sent"), 20, "delivery of " + cid)
        time.sleep(5)
        srv.kill()                   # SIGKILL: the agent's uploads and heartbeats start failing
        time.sleep(7)                # about three snapshots go to the spool meanwhile
        srv.start()
        wait_for(lambda: heard(srv, "svc-a"), 30, "heartbeats after the restart")
        sid = request(srv, "svc-a", request_type="stop", targets={HOST: None})
        wait_for(lambda: status_is(srv, sid, "completed"), 40, "completion of stop " + sid)
        wait_for(lambda: status_is(srv, cid, "completed"), 40, "completion of continuous " + cid)
        # every snapshot the agent took must be on the server exactly once
        log = agent.log()
        snaps = [int(m) for m in re.findall(r"snapshot: (\d+) samples", log)]
        first_request_snaps = 1      # the 4 s ad-hoc run above took one snapshot
        cont = snaps[first_request_snaps:]
        t.true(len(cont) >= 5, "only %d continuous snapshots in the agent log" % len(cont))

        wait_for(lambda: on_server()[0] >= n0 + len(cont), 60,
                 "%d uploads after the outage" % len(cont))
        time.sleep(1)                # a duplicate would arrive about now
        n1, v1 = on_server()
        t.eq(n1 - n0, len(cont), "profiles on the server (one per snapshot, none twice)")
        t.eq(v1 - v0, sum(cont), "samples on the server vs samples the agent took")
        st, m = srv.query("/api/v1/metrics", "svc-a", wide[0], wide[1], hostname=HOST)
        times = [x["time"] for x in m["metrics"]]
        t.eq(len(set(times)), len(times), "distinct profile times")

    with t.case("kill9_not_rerun"):
        cid = request(srv, "svc-a", targets={HOST: [pid]}, duration=30, frequency=49,
                      continuous=False)
        wait_for(lambda: ("command %s: profiling" % cid) in agent.log(), 20, "the agent to start " + cid)
        agent.stop(signal.SIGKILL)
        agent.start()
        c = wait_for(lambda: status_is(srv, cid, "completed", "failed"), 30, "a report for " + cid)
        t.eq(c["status"], "failed", "status of the interrupted command")
        t.true("agent restarted" in (c.get("error_message") or ""), "reason: %r" % c.get("error_message"))
        time.sleep(2)                # a few more heartbeats: the server no longer delivers it
        t.true(("command %s: profiling" % cid) not in agent.log(since_start=True),
               "the command ran again after the restart")

    with t.case("stop_idle_and_other_host"):
        sid = request(srv, "svc-a", request_type="stop", targets={HOST: None})
        c = wait_for(lambda: status_is(srv, sid, "completed", "failed"), 20, "stop " + sid)
        t.eq(c["status"], "completed", "stop with nothing running")
        other = request(srv, "svc-a", targets={"some-other-host": None}, duration=5)
        time.sleep(3)
        t.true(other not in agent.log(), "this agent acted on another host's command")
        t.eq(command(srv, other), None, "another host's command listed for this host")

    with t.case("sighup_reopens_log"):
        # what logrotate does: move the file away, then SIGHUP; the agent starts a new one
        logf = os.path.join(t.tmp, "rotated.log")
        rot = Agent(t, srv, "svc-log")
        rot.args += ["--log-file", logf]
        rot.start()
        wait_for(lambda: os.path.exists(logf) and "heartbeat mode" in open(logf).read(), 20,
                 "the agent's log file")
        os.rename(logf, logf + ".1")
        rot.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(logf) and "log file reopened" in open(logf).read(), 10,
                 "a new log file after SIGHUP")
        t.true("log file reopened" not in open(logf + ".1").read(), "wrote into the moved file")
        t.eq(rot.stop(), 0, "exit status after SIGTERM")

    agent.stop()
    with t.case("agent_exit_and_sanitizers"):
        t.eq(agent.proc.returncode, 0, "agent exit status after SIGTERM")
        agent.check_clean()

    with t.case("idle_rss"):
        if not os.path.exists(PLAIN_AGENT):
            raise TestFailure("no plain build at %s (make test builds it)" % PLAIN_AGENT)
        plain = Agent(t, srv, "svc-rss", binary=PLAIN_AGENT).start()
        wait_for(lambda: heard(srv, "svc-rss"), 20, "the plain agent's heartbeat")
        time.sleep(2)
        # The agent's own memory is its anonymous RSS. VmRSS adds the pages of shared libraries:
        # linking Debian's libcurl alone (with OpenSSL, GnuTLS, Kerberos under it) costs ~8.6 MB
        # of those in any process (10.7 MB VmRSS in all, seen). 12 MB still catches a heavy
        # library linked again (libstdc++ was 1.3 MB before it became a dlopen).
        idle = plain.mem_kb("RssAnon")
        vm = plain.mem_kb("VmRSS")
        t.true(idle <= 10 * 1024, "idle anonymous RSS %d kB > 10 MB" % idle)
        t.true(vm <= 12 * 1024, "idle VmRSS %d kB > 12 MB" % vm)
        cid = request(srv, "svc-rss", targets={HOST: None}, duration=3, frequency=99,
                      continuous=False)
        wait_for(lambda: status_is(srv, cid, "completed"), 40, "completion of " + cid)
        time.sleep(1.5)
        after = plain.mem_kb("RssAnon")
        print("# idle: anonymous RSS %d kB, VmRSS %d kB; after a system-wide run: anonymous %d kB,"
              " VmRSS %d kB" % (idle, vm, after, plain.mem_kb("VmRSS")), flush=True)
        t.true(after - idle <= 2 * 1024, "anonymous RSS after the run %d kB, idle %d kB: not "
               "within 2 MB" % (after, idle))
        plain.stop()


if __name__ == "__main__":
    main()
