#!/usr/bin/python3
"""make deb and the packages it builds: the expected files and conffiles, Depends that are
exactly the libraries each program links (the agent none of the server's), lintian without
errors (and only the warnings listed below), and a whole life in a Debian chroot made with
mmdebstrap: dpkg -i (system user, state directory, units enabled but nothing started, every
library present), the server run as the unit runs it (tokens generated on the first start,
the installed dashboard served), the packaged agent profiling and uploading to it, an upgrade
to a second version (settings edited by the administrator, the database and the tokens kept),
remove, and purge leaving nothing behind but the system user (Debian's practice).

The second version is the first one repacked with a higher version (dpkg-deb -R/-b): the
upgrade path of dpkg and the maintainer scripts is the same, and it saves a second build.
FLEETPROF_DEB_FULL=1 builds it with `make deb DEB_VERSION=...` instead.
The chroot's base (minbase plus the packages' Depends) is kept as a tarball in
$FLEETPROF_CACHE (default /var/tmp/fleetprof-test-cache); making it takes ~80 s once."""
import glob
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentlib import Suite, Skip, TestFailure, check  # noqa: E402
from deploylib import (ROOT, WORKLOADS, SCRATCH, need, need_root, run, scratch,  # noqa: E402
                       expected_install, make, http_get, Proc, parse_collapsed, share_named, host_mirrors)
import unitsandbox  # noqa: E402

OUT = os.path.join(SCRATCH, "deb")
CACHE = os.environ.get("FLEETPROF_CACHE", "/var/tmp/fleetprof-test-cache")
FULL = os.environ.get("FLEETPROF_DEB_FULL") == "1"
UPGRADE_VERSION_SUFFIX = "+upgradetest1"

# lintian tags allowed at warning level, and why
LINTIAN_WARNINGS_OK = {
    # the settings hold the agent and admin tokens: only root may read them
    "non-standard-file-perm": {"etc/fleetprof/agent.conf", "etc/fleetprof/server.env"},
}

state = {}


def debs():
    return {os.path.basename(p).split("_")[0]: p for p in glob.glob(OUT + "/*.deb")}


def deb_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


def deb_files(deb):
    """Regular files and symlinks in a .deb, as absolute paths."""
    out = []
    for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        if line.startswith("d"):
            continue
        path = line.split(None, 5)[5].split(" -> ")[0]
        out.append(path[1:])
    return sorted(out)


def package_of_lib(soname):
    """The Debian package shipping a library the dynamic linker finds by soname."""
    for line in run(["ldconfig", "-p"]).stdout.splitlines():
        m = re.match(r"\s*(\S+) \((libc6,x86-64|libc6,AArch64)[^)]*\) => (\S+)", line)
        if m and m.group(1) == soname:
            path = os.path.realpath(m.group(3))
            for cand in (path, m.group(3), path.replace("/usr/lib", "/lib", 1)):
                r = run(["dpkg", "-S", cand], check_rc=False)
                if r.returncode == 0:
                    return r.stdout.split(":")[0]
    raise TestFailure("no package ships %s" % soname)


def needed(binary):
    out = run(["readelf", "-d", binary]).stdout
    return sorted(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


def depends_names(deb):
    names = []
    for alt in deb_field(deb, "Depends").split(","):
        names.append(alt.strip().split()[0])
    return sorted(names)


# ---- build and static checks ---------------------------------------------------------------------

def test_make_deb(s):
    need("dpkg-buildpackage", "dh", "bpftool", "clang")
    t0 = time.time()
    make("deb", "DEB_OUTDIR=" + OUT, timeout=1200)
    state["build_s"] = time.time() - t0
    d = debs()
    check(sorted(d) == ["fleetprof-agent", "fleetprof-agent-dbgsym", "fleetprof-server",
                        "fleetprof-server-dbgsym"], "built %s" % sorted(d))
    state["debs"] = d
    version = deb_field(d["fleetprof-server"], "Version")
    state["version"] = version
    check(deb_field(d["fleetprof-agent"], "Version") == version, "versions differ")

    # the files: what make install gives for /usr (units in /lib), docs per package, man gz
    for prog in ("server", "agent"):
        pkg = "fleetprof-" + prog
        want = []
        for f in expected_install("/usr", unitdir="/lib/systemd/system", programs=(prog,)):
            if f.endswith(".8"):
                f += ".gz"
            f = f.replace("/usr/share/doc/fleetprof/", "/usr/share/doc/%s/" % pkg)
            want.append(f)
        want += ["/usr/share/doc/%s/copyright" % pkg, "/usr/share/doc/%s/changelog.gz" % pkg]
        got = deb_files(d[pkg])
        check(sorted(want) == got, "%s files:\n  extra %s\n  missing %s" % (
            pkg, sorted(set(got) - set(want)), sorted(set(want) - set(got))))
        ctl = os.path.join(SCRATCH, "ctl-" + prog)
        shutil.rmtree(ctl, ignore_errors=True)
        run(["dpkg-deb", "-e", d[pkg], ctl])
        conff = open(ctl + "/conffiles").read().split()
        check(conff == ["/etc/fleetprof/%s" % ("server.env" if prog == "server" else "agent.conf")],
              "%s conffiles %s" % (pkg, conff))
        postinst = open(ctl + "/postinst").read()
        check("deb-systemd-helper enable" in postinst, "%s postinst does not enable the unit" % pkg)
        check(not re.search(r"deb-systemd-invoke (start|restart)", postinst),
              "%s postinst starts the unit:\n%s" % (pkg, postinst))
        check("deb-systemd-invoke try-restart" in postinst,
              "%s postinst does not restart a running service after an upgrade" % pkg)
        check(not os.path.exists(ctl + "/preinst") or "deb-systemd-invoke stop" not in open(ctl + "/preinst").read(),
              "%s preinst stops the service before an upgrade (and nothing starts it again)" % pkg)
        prerm = open(ctl + "/prerm").read() if os.path.exists(ctl + "/prerm") else ""
        check(re.search(r'"\$1" = remove .*\n\s*deb-systemd-invoke stop', prerm),
              "%s prerm does not stop the service on remove:\n%s" % (pkg, prerm))
        shutil.rmtree(ctl)


def test_depends_are_what_is_linked(s):
    """Each package depends on the packages of the libraries its program links, and nothing
    else (adduser for the server's postinst); the agent on none of the server's libraries."""
    need("readelf", "dpkg-deb")
    if "debs" not in state:
        raise Skip("make deb did not run")
    d = state["debs"]
    for prog, extra in (("agent", set()), ("server", {"adduser"})):
        pkg = "fleetprof-" + prog
        unpacked = os.path.join(SCRATCH, "x-" + prog)
        shutil.rmtree(unpacked, ignore_errors=True)
        run(["dpkg-deb", "-x", d[pkg], unpacked])
        libs = needed(unpacked + "/usr/sbin/" + pkg)
        want = {package_of_lib(l) for l in libs} | extra
        got = set(depends_names(d[pkg]))
        check(got == want, "%s: Depends %s, links %s (%s)" % (pkg, sorted(got), sorted(want), libs))
        shutil.rmtree(unpacked)
    agent_deps = set(depends_names(d["fleetprof-agent"]))
    for server_only in ("libmicrohttpd12", "libsqlite3-0", "libuuid1", "adduser"):
        check(server_only not in agent_deps, "the agent depends on %s" % server_only)
    check(deb_field(d["fleetprof-agent"], "Recommends") == "libstdc++6",
          "the agent loads libstdc++ only to demangle C++: Recommends, got %r" %
          deb_field(d["fleetprof-agent"], "Recommends"))


def test_lintian(s):
    need("lintian")
    if "debs" not in state:
        raise Skip("make deb did not run")
    changes = glob.glob(OUT + "/*.changes")
    check(len(changes) == 1, "changes files %s" % changes)
    t0 = time.time()
    r = run(["lintian", "--pedantic", "--display-info", "--tag-display-limit", "0", changes[0]],
            check_rc=False, timeout=600)
    state["lintian_s"] = time.time() - t0
    lines = [l for l in (r.stdout + r.stderr).splitlines()
             if re.match(r"^[EWIPX]: ", l)]
    for l in lines:
        print("# lintian: " + l)
    errors = [l for l in lines if l.startswith("E: ")]
    check(not errors, "lintian errors:\n" + "\n".join(errors))
    bad = []
    for l in lines:
        if not l.startswith("W: "):
            continue
        m = re.match(r"W: \S+: (\S+) .*\[(.*)\]$", l)
        if not m or m.group(2) not in LINTIAN_WARNINGS_OK.get(m.group(1), ()):
            bad.append(l)
    check(not bad, "lintian warnings not justified in test_deb.py:\n" + "\n".join(bad))
    check(r.returncode == 0, "lintian exit %d: %s" % (r.returncode, r.stderr[-500:]))


# ---- the chroot -------------------------------------------------------------------------------------

class Chroot:
    def __init__(self, root):
        self.root = root
        self.mounts = []

    def mount(self):
        for src, dst, fs in (("proc", "proc", "proc"), ("/sys", "sys", None), ("/dev", "dev", None)):
            target = os.path.join(self.root, dst)
            os.makedirs(target, exist_ok=True)
            if fs:
                run(["mount", "-t", fs, src, target])
            else:
                run(["mount", "--rbind", src, target])
                run(["mount", "--make-rslave", target])
            self.mounts.append(target)

    def umount(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-R", "-l", m], stderr=subprocess.DEVNULL)
        self.mounts = []

    def env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root",
                "DEBIAN_FRONTEND": "noninteractive"}

    def sh(self, script, check_rc=True, timeout=300):
        return run(["chroot", self.root, "/bin/sh", "-ec", script], check_rc=check_rc,
                   timeout=timeout, env=self.env())

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def files(self):
        out = set()
        skip = {self.path(p) for p in ("proc", "sys", "dev", "tmp", "run")}
        for d, dirs, files in os.walk(self.root):
            dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
            for f in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
                out.add("/" + os.path.relpath(os.path.join(d, f), self.root))
        return out


def base_tarball(packages):
    """minbase of this host's Debian release plus packages, made once with mmdebstrap."""
    codename = ""
    for line in open("/etc/os-release"):
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip().strip('"')
    check(codename, "no VERSION_CODENAME in /etc/os-release")
    key = hashlib.sha256((codename + " " + ",".join(sorted(packages))).encode()).hexdigest()[:12]
    tar = os.path.join(CACHE, "%s-minbase-%s.tar" % (codename, key))
    if not os.path.exists(tar):
        os.makedirs(CACHE, exist_ok=True)
        t0 = time.time()
        r = run(["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", "--quiet",
                 "--include=" + ",".join(sorted(packages)), codename, tar + ".tmp"] + host_mirrors(),
                check_rc=False, timeout=900)
        if r.returncode != 0:
            raise Skip("mmdebstrap could not make a %s root (is the Debian archive reachable?): %s"
                       % (codename, (r.stderr or r.stdout)[-600:]))
        os.rename(tar + ".tmp", tar)
        state["mmdebstrap_s"] = time.time() - t0
    return tar


def second_version(v1):
    """The packages of a higher version: repacked (default) or built (FLEETPROF_DEB_FULL=1)."""
    v2 = state["version"] + UPGRADE_VERSION_SUFFIX
    out = os.path.join(SCRATCH, "deb-v2")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    if FULL:
        make("deb", "DEB_OUTDIR=" + out, "DEB_VERSION=" + v2, timeout=1200)
        return v2, {p: glob.glob("%s/%s_*.deb" % (out, p))[0] for p in v1}
    res = {}
    for pkg, deb in v1.items():
        tree = os.path.join(out, pkg)
        run(["dpkg-deb", "-R", deb, tree])
        ctl = os.path.join(tree, "DEBIAN", "control")
        text = re.sub(r"(?m)^Version: .*$", "Version: " + v2, open(ctl).read())
        open(ctl, "w").write(text)
        res[pkg] = os.path.join(out, "%s_%s.deb" % (pkg, v2))
        run(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", tree, res[pkg]])
        shutil.rmtree(tree)
    return v2, res


def start_server(c, extra=()):
    props = unitsandbox.parse_unit(c.path("/lib/systemd/system/fleetprof-server.service"))
    argv = unitsandbox.exec_start(props)
    return Proc(["chroot", "--userspec=fleetprof:fleetprof", c.root] + argv +
                ["--port", "0", "--bind", "127.0.0.1"] + list(extra), env=c.env(), cwd="/")


def read_tokens(c):
    toks = {}
    for line in open(c.path("/var/lib/fleetprof-server/tokens")):
        k, _, v = line.strip().partition("=")
        toks[k] = v
    return toks


def test_chroot_install_upgrade_purge(s):
    need_root()
    need("mmdebstrap", "chroot", "dpkg-deb")
    if "debs" not in state:
        raise Skip("make deb did not run")
    if not os.path.exists(os.path.join(WORKLOADS, "split")):
        raise Skip("workloads missing: %s" % WORKLOADS)
    t_start = time.time()
    v1 = {p: state["debs"][p] for p in ("fleetprof-server", "fleetprof-agent")}
    deps = set()
    for deb in v1.values():
        deps |= set(depends_names(deb))
    tar = base_tarball(deps)
    t_base = time.time()
    root = scratch("chroot")
    run(["tar", "-xf", tar, "-C", root])
    c = Chroot(root)
    try:
        c.mount()
        lifecycle(s, c, v1)
    finally:
        c.umount()
    state["chroot_s"] = time.time() - t_base
    state["chroot_base_s"] = t_base - t_start
    shutil.rmtree(root, ignore_errors=True)
    print("# timings: make deb %.0f s, lintian %.0f s, chroot base %.0f s%s, chroot life %.0f s" % (
        state.get("build_s", 0), state.get("lintian_s", 0), state["chroot_base_s"],
        " (mmdebstrap %.0f s)" % state["mmdebstrap_s"] if "mmdebstrap_s" in state else " (cached)",
        state["chroot_s"]))


def lifecycle(s, c, v1):
    os.makedirs(c.path("/tmp/debs/v1"))
    for deb in v1.values():
        shutil.copy(deb, c.path("/tmp/debs/v1/"))
    before = c.files()

    # ---- install
    c.sh("dpkg -i /tmp/debs/v1/*.deb")
    st = c.sh("dpkg-query -W -f='${Package} ${Status} ${Version}\\n' fleetprof-server fleetprof-agent").stdout
    for pkg in v1:
        check("%s install ok installed %s" % (pkg, state["version"]) in st, "status: %s" % st)
    pw = c.sh("getent passwd fleetprof").stdout.strip().split(":")
    check(len(pw) == 7 and pw[5] == "/var/lib/fleetprof-server" and pw[6].endswith("nologin"),
          "user fleetprof: %s" % pw)
    sd = os.stat(c.path("/var/lib/fleetprof-server"))
    check(sd.st_uid == int(pw[2]) and stat.S_IMODE(sd.st_mode) == 0o750,
          "state directory uid %d mode %o" % (sd.st_uid, sd.st_mode))
    for prog in ("server", "agent"):
        link = c.path("/etc/systemd/system/multi-user.target.wants/fleetprof-%s.service" % prog)
        check(os.path.islink(link) and os.readlink(link) == "/lib/systemd/system/fleetprof-%s.service" % prog,
              "fleetprof-%s.service not enabled" % prog)
        ldd = c.sh("ldd /usr/sbin/fleetprof-%s" % prog).stdout
        check("not found" not in ldd, "fleetprof-%s misses libraries in the chroot:\n%s" % (prog, ldd))
    for conf in ("agent.conf", "server.env"):
        m = os.stat(c.path("/etc/fleetprof/" + conf)).st_mode
        check(stat.S_IMODE(m) == 0o600, "%s mode %o" % (conf, m))
    check(not os.path.exists(c.path("/var/lib/fleetprof-server/tokens")), "tokens before the first start")

    # ---- the server as its unit runs it: tokens on the first start, the installed dashboard
    srv = start_server(c)
    try:
        st_, body = http_get("http://127.0.0.1:%d/" % srv.port)
        check(st_ == 200 and body == open(c.path("/usr/share/fleetprof/web/index.html"), "rb").read(),
              "GET / does not serve the installed dashboard")
        tok = os.stat(c.path("/var/lib/fleetprof-server/tokens"))
        check(tok.st_uid == int(pw[2]) and stat.S_IMODE(tok.st_mode) == 0o600,
              "tokens uid %d mode %o" % (tok.st_uid, tok.st_mode))
        toks = read_tokens(c)
        check(len(toks.get("agent_token", "")) >= 32 and len(toks.get("admin_token", "")) >= 32,
              "tokens file: %s" % sorted(toks))

        # ---- the packaged agent: an administrator sets agent.conf, the agent profiles a
        # workload and uploads; it maps the libraries of every package it depends on
        with open(c.path("/etc/fleetprof/agent.conf"), "a") as f:
            f.write("\nserver-host = http://127.0.0.1:%d\ntoken = %s\nservice-name = chroot-test\n"
                    % (srv.port, toks["agent_token"]))
        wl = s.spawn([os.path.join(WORKLOADS, "split"), "30"], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
        line = wl.stdout.readline().decode()
        check(line.startswith("ready "), "workload: %r" % line)
        pid = int(line.split()[1])
        agent = subprocess.Popen(["chroot", c.root, "/usr/sbin/fleetprof-agent", "-d", "3", "-f", "99",
                                  "--pids", str(pid), "-u", "-o", "/tmp/agent-out", "--no-progress",
                                  "--state-dir", "/tmp/agent-state"],
                                 env=c.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        maps = open("/proc/%d/maps" % agent.pid).read() if agent.poll() is None else ""
        out, err = agent.communicate(timeout=60)
        check(agent.returncode == 0, "agent exit %d: %s" % (agent.returncode, err.decode()[-1000:]))
        _, stacks = parse_collapsed(c.path("/tmp/agent-out/last_profile.col"))
        total, hit = share_named(stacks, "split", {"hot_a", "hot_b"})
        check(total >= 10 and hit >= 0.8 * total, "packaged agent named %d of %d samples" % (hit, total))
        # maps names files as this process sees them: below the chroot's directory
        libs = sorted(set("/" + os.path.relpath(m.split()[-1], c.root) for m in maps.splitlines()
                          if ".so" in m.split()[-1] and m.split()[-1].startswith(c.root + "/")))
        owners = set()
        for lib in libs:
            r = c.sh("dpkg -S %s 2>/dev/null || dpkg -S %s" % (lib, lib.replace("/usr/lib/", "/lib/", 1)),
                     check_rc=False)
            if r.returncode == 0:
                owners.add(r.stdout.split(":")[0])
        unloaded = set(depends_names(v1["fleetprof-agent"])) - owners
        check(maps and not unloaded, "the agent depends on %s but does not load it (maps: %s)" % (
            sorted(unloaded), libs))
        st_, body = http_get("http://127.0.0.1:%d/api/v1/services" % srv.port,
                             headers={"Authorization": "Bearer " + toks["admin_token"]})
        check(st_ == 200 and b"chroot-test" in body, "the upload did not reach the server: %r" % body[:300])
    finally:
        rc = srv.stop()
    check(rc == 0, "server exit %s: %s" % (rc, srv.err.decode(errors="replace")[-800:]))

    # ---- upgrade to a second version
    v2, v2debs = second_version(v1)
    os.makedirs(c.path("/tmp/debs/v2"))
    for deb in v2debs.values():
        shutil.copy(deb, c.path("/tmp/debs/v2/"))
    c.sh("dpkg -i /tmp/debs/v2/*.deb")
    st = c.sh("dpkg-query -W -f='${Package} ${Status} ${Version}\\n' fleetprof-server fleetprof-agent").stdout
    for pkg in v1:
        check("%s install ok installed %s" % (pkg, v2) in st, "after the upgrade: %s" % st)
    check("service-name = chroot-test" in open(c.path("/etc/fleetprof/agent.conf")).read(),
          "the upgrade lost the administrator's agent.conf")
    check(read_tokens(c) == toks, "the upgrade changed the tokens")
    for prog in ("server", "agent"):
        check(os.path.islink(c.path("/etc/systemd/system/multi-user.target.wants/fleetprof-%s.service" % prog)),
              "fleetprof-%s.service not enabled after the upgrade" % prog)
    srv = start_server(c)
    try:
        st_, body = http_get("http://127.0.0.1:%d/api/v1/services" % srv.port,
                             headers={"Authorization": "Bearer " + toks["admin_token"]})
        check(st_ == 200 and b"chroot-test" in body, "the database did not survive the upgrade: %r" % body[:300])
    finally:
        rc = srv.stop()
    check(rc == 0, "server exit %s after the upgrade" % rc)

    # ---- remove keeps settings and state; purge removes them
    c.sh("dpkg -r fleetprof-server fleetprof-agent")
    check(not os.path.exists(c.path("/usr/sbin/fleetprof-server")), "binary left after remove")
    check(os.path.exists(c.path("/etc/fleetprof/agent.conf")) and
          os.path.exists(c.path("/var/lib/fleetprof-server/fleetprof.db")), "remove took settings or state")
    c.sh("dpkg -P fleetprof-server fleetprof-agent")
    st = c.sh("dpkg-query -W -f='${Status}\\n' fleetprof-server fleetprof-agent", check_rc=False).stdout
    check("installed" not in st, "after purge: %s" % st)
    after = c.files()
    allowed = re.compile(r"^/(etc/(passwd|group|shadow|gshadow)-?$|var/lib/dpkg/|var/log/|var/cache/debconf/)")
    print("# after purge, besides dpkg's own records: %s" % sorted(
        f for f in after ^ before if allowed.match(f) and not f.startswith(("/var/lib/dpkg/", "/var/log/"))))
    left = sorted(f for f in after - before if not allowed.match(f))
    check(not left, "purge left: %s" % left[:30])
    gone = sorted(f for f in before - after if not allowed.match(f))
    check(not gone, "install/purge removed files it does not own: %s" % gone[:30])
    check(not os.path.exists(c.path("/etc/fleetprof")), "/etc/fleetprof left after purge")


if __name__ == "__main__":
    suite = Suite()
    if not SCRATCH.startswith(ROOT + "/"):   # outside the checkout: leave nothing behind
        suite.dirs.append(SCRATCH)
    suite.run([test_make_deb, test_depends_are_what_is_linked, test_lintian,
               test_chroot_install_upgrade_purge])
