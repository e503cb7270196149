"""test_agent_upload — -u/--upload-results against the real server (issue 4).

- a one-shot profile of the 3:1 workload arrives on the server with the right split;
- with the server down the profile stays in the spool; the next agent start delivers it, once;
- a wrong token (401) is logged with the server's message and the profile dropped, not retried;
- HTTPS: verified with --tls-ca-bundle; refused without it (the profile stays spooled);
  --no-verify gets through;
- the token never appears in the uploaded header or the agent's log.
"""
import http.client
import json
import os
import signal
import re
import socket
import ssl
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import spawn_workload  # noqa: E402
from serverlib import ADMIN_TOKEN, AGENT_TOKEN, BUILD, Skip, Suite, TestFailure, free_port  # noqa: E402

AGENT = os.path.join(BUILD, "fleetprof-agent")
SPLIT = os.path.join(BUILD, "tests", "workloads", "split")
HOST = socket.gethostname()
procs = []




def workload(seconds):
    p, pid = spawn_workload(SPLIT, seconds)
    procs.append(p)
    return pid


def agent(url, state, service, pid, extra=(), token=AGENT_TOKEN, timeout=60):
    """One 2 s profile of pid, uploaded; returns (rc, log text)."""
    os.makedirs(state, exist_ok=True)
    log = os.path.join(state, "agent.log")
    cmd = [AGENT, "-d", "2", "-f", "199", "--pids", str(pid), "-u", "--server-host", url,
           "--token", token, "--service-name", service, "--state-dir", state,
           "--log-file", log, "--perf-mode", "bpf"] + list(extra)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, timeout=timeout)
    with open(log, errors="replace") as f:
        text = f.read()
    if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", text + p.stdout.decode()):
        raise TestFailure("sanitizer report: %s" % (text + p.stdout.decode())[-1500:])
    return p.returncode, text


def spooled(state):
    d = os.path.join(state, "spool")
    return sorted(f for f in os.listdir(d) if f.endswith(".spool")) if os.path.isdir(d) else []


def profiles(srv, service):
    now = time.time()
    st, m = srv.query("/api/v1/metrics", service, now - 3600, now + 3600)
    return len(m["metrics"]) if st == 200 else -1


def tls_profiles(port, crt, service):
    """profiles() for a server that speaks HTTPS, verified with its own certificate."""
    now = time.time()
    ctx = ssl.create_default_context(cafile=crt)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request("GET", "/api/v1/metrics?service=%s&start_datetime=%d&end_datetime=%d"
              % (service, now - 3600, now + 3600), headers={"Authorization": "Bearer " + ADMIN_TOKEN})
    r = c.getresponse()
    body = json.loads(r.read())
    c.close()
    return len(body["metrics"]) if r.status == 200 else -1


def split_of(srv, service):
    now = time.time()
    text = srv.flamegraph(service, now - 3600, now + 3600, fmt="collapsed_file").text()
    a = b = 0
    for line in text.splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        if "hot_a" in frames:
            a += int(count)
        elif "hot_b" in frames:
            b += int(count)
    return a, b


def make_cert(d):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return crt, key


def main():
    with Suite("agent_upload") as t:
        try:
            run(t)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


def run(t):
    names = ["one_shot_upload", "server_down_then_back", "wrong_token_dropped",
             "tls_ca_bundle", "full_output_disk_keeps_uploading", "token_not_leaked"]
    if os.geteuid() != 0 or not os.path.exists("/sys/kernel/btf/vmlinux"):
        for n in names:
            with t.case(n):
                raise Skip("needs root and BTF")
        return
    pid = workload(120)
    port = free_port()
    srv = t.server(args=["--port", str(port)])
    url = "http://127.0.0.1:%d" % port

    with t.case("one_shot_upload"):
        state = os.path.join(t.tmp, "s1")
        rc, log = agent(url, state, "up-a", pid)
        t.eq(rc, 0, "agent exit status (log: %s)" % log[-800:])
        t.eq(spooled(state), [], "spool after a successful upload")
        t.eq(profiles(srv, "up-a"), 1, "profiles on the server")
        a, b = split_of(srv, "up-a")
        t.true(a + b >= 200, "hot samples %d" % (a + b))
        t.true(abs(100.0 * a / (a + b) - 75) <= 5, "hot_a share %.1f%%" % (100.0 * a / (a + b)))

    with t.case("server_down_then_back"):
        srv.stop()
        state = os.path.join(t.tmp, "s2")
        rc, log = agent(url, state, "up-b", pid)
        t.eq(rc, 0, "agent exit status with the server down")
        t.eq(len(spooled(state)), 1, "profiles kept in the spool")
        t.true("stay spooled" in log, "log says the profile stays spooled: %s" % log[-600:])
        srv.start()
        rc, log = agent(url, state, "up-b", pid)  # the next run sends the old one, then its own
        t.eq(rc, 0, "second run")
        t.eq(spooled(state), [], "spool drained")
        t.eq(profiles(srv, "up-b"), 2, "both profiles on the server, none twice")

    with t.case("wrong_token_dropped"):
        state = os.path.join(t.tmp, "s3")
        rc, log = agent(url, state, "up-c", pid, token="not-the-token")
        t.true("refused the profile with 401" in log, "401 logged: %s" % log[-600:])
        t.eq(spooled(state), [], "a refused profile is not kept for retry")
        t.eq(profiles(srv, "up-c"), 0, "nothing stored")

    with t.case("tls_ca_bundle"):
        d = os.path.join(t.tmp, "tls")
        os.makedirs(d)
        crt, key = make_cert(d)
        tport = free_port()
        t.server(args=["--port", str(tport), "--tls-cert", crt, "--tls-key", key])
        turl = "https://127.0.0.1:%d" % tport
        state = os.path.join(t.tmp, "s4")
        rc, log = agent(turl, state, "up-tls", pid, timeout=90)
        t.eq(len(spooled(state)), 1, "unverifiable server: the profile stays spooled")
        rc, log = agent(turl, state, "up-tls", pid, extra=["--tls-ca-bundle", crt])
        t.eq(rc, 0, "agent with the CA bundle")
        t.eq(spooled(state), [], "spool drained over verified TLS")
        t.eq(tls_profiles(tport, crt, "up-tls"), 2, "profiles over TLS")
        state = os.path.join(t.tmp, "s5")
        rc, log = agent(turl, state, "up-tls2", pid, extra=["--no-verify"])
        t.eq(tls_profiles(tport, crt, "up-tls2"), 1, "--no-verify gets through")

    with t.case("full_output_disk_keeps_uploading"):
        d = os.path.join(t.tmp, "full")
        os.makedirs(d)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], check=True)
        try:
            subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(d, "fill"), "bs=4k"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            state = os.path.join(t.tmp, "s6")
            os.makedirs(state)
            log = os.path.join(state, "agent.log")
            p = subprocess.Popen([AGENT, "-c", "-d", "1", "-f", "99", "--pids", str(pid), "-o", d,
                                  "-u", "--server-host", url, "--token", AGENT_TOKEN,
                                  "--service-name", "up-full", "--state-dir", state,
                                  "--log-file", log, "--perf-mode", "bpf"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            procs.append(p)
            time.sleep(4.5)
            t.eq(p.poll(), None, "the agent stopped when the output disk filled up")
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
            with open(log, errors="replace") as f:
                text = f.read()
            t.true("profiling goes on" in text, "log: %s" % text[-800:])
            t.true(profiles(srv, "up-full") >= 4, "uploads while the disk was full: %d"
                   % profiles(srv, "up-full"))
        finally:
            subprocess.run(["umount", "-l", d])

    with t.case("token_not_leaked"):
        for root, _, files in os.walk(t.tmp):
            for f in files:
                if f == "agent.log":
                    with open(os.path.join(root, f), errors="replace") as fh:
                        t.true(AGENT_TOKEN not in fh.read(), "token in %s" % os.path.join(root, f))
        # every uploaded header carries the run arguments: the token must be masked there
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        headers = [h for (h,) in db.execute("SELECT header FROM profiles") if h]
        db.close()
        t.true(len(headers) >= 3, "headers stored: %d" % len(headers))
        for h in headers:
            args = json.loads(h)["metadata"].get("run_arguments", "")
            t.true("--token ***" in args, "run arguments without the masked token: %r" % args)
            t.true(AGENT_TOKEN not in h, "token in a stored header")


if __name__ == "__main__":
    main()
