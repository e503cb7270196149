"""unitsandbox — run a command inside the sandbox that a systemd unit's [Service] section
describes, without systemd: PID 1 here is not systemd, so `systemd-run -p ...` cannot be used.
The tests run the real agent under the real unit file's settings with it (Python 3 stdlib +
Debian's python3-seccomp; util-linux's unshare and setpriv).

    argv = unitsandbox.command("deploy/fleetprof-agent.service", [agent, "-d", "3", ...],
                               scratch="/some/dir/outside/tmp", rw=[outdir])
    subprocess.run(argv)

What is emulated, as systemd 252 does it (src/core/namespace.c, seccomp-util.c):
  - CapabilityBoundingSet (the set root's uid keeps), AmbientCapabilities, User/Group (an
    existing user), NoNewPrivileges, UMask, LimitMEMLOCK, Nice — via setpriv and the process;
  - ProtectSystem=strict (the whole tree read-only but /dev, /proc, /sys), ReadWritePaths,
    StateDirectory/LogsDirectory (below `scratch` instead of /var/lib, /var/log), ReadOnlyPaths,
    InaccessiblePaths ('-' prefix: may be missing), ProtectHome=yes, PrivateTmp,
    PrivateDevices (a /dev of null zero full random urandom tty), ProtectKernelTunables
    (systemd's table: /proc/sys & co read-only, /proc/kallsyms and /proc/kcore inaccessible,
    /sys read-only), ProtectKernelModules, ProtectKernelLogs, ProtectControlGroups,
    ProtectProc/ProcSubset (a procfs mounted with hidepid=/subset=) — in a mount namespace;
  - SystemCallFilter (allow-list, groups expanded by `systemd-analyze syscall-filter`, later
    ~lists removing), SystemCallErrorNumber, SystemCallArchitectures=native,
    RestrictAddressFamilies, RestrictNamespaces=yes, MemoryDenyWriteExecute, LockPersonality —
    as one seccomp filter with systemd's argument rules.
Not emulated (no effect on whether the program works, or needing cgroups): MemoryMax,
PrivateUsers, RemoveIPC, ProtectClock/ProtectHostname/RestrictRealtime/RestrictSUIDSGID beyond
the system calls the allow-list already refuses, DevicePolicy, KeyringMode.
"""
import ctypes
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile

SELF = os.path.abspath(__file__)
PY = "/usr/bin/python3"


class Unsupported(Exception):
    pass


# ---- unit file ----------------------------------------------------------------------------------

def parse_unit(path):
    """[Service] settings -> {key: [values]} (a setting given twice accumulates; an empty one
    resets, as systemd does for list settings)."""
    props, section, buf = {}, None, ""
    with open(path) as f:
        lines = f.read().splitlines()
    for raw in lines:
        line = raw.rstrip()
        if buf:
            line = buf + " " + line.strip()
            buf = ""
        if line.endswith("\\"):
            buf = line[:-1]
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            section = s.strip("[]")
            continue
        if section != "Service" or "=" not in s:
            continue
        k, v = s.split("=", 1)
        k, v = k.strip(), v.strip()
        if v == "":
            props[k] = []
        else:
            props.setdefault(k, []).append(v)
    return props


def _bool(props, key, default=False):
    v = props.get(key)
    if not v:
        return default
    return v[-1].lower() in ("1", "yes", "true", "on")


def _words(props, key):
    out = []
    for v in props.get(key, []):
        out += v.split()
    return out


def exec_start(props):
    """The ExecStart= command line as a list (prefixes like '-' or '+' are not supported)."""
    v = props.get("ExecStart", [])
    if len(v) != 1 or v[0][:1] in "-+!@:":
        raise Unsupported("ExecStart=%r" % v)
    return shlex.split(v[0])


def spec_of(props, scratch, rw=(), user=None):
    """The sandbox as plain data (passed to the inner process as JSON)."""
    known = {"Type", "User", "Group", "EnvironmentFile", "Environment", "ExecStart", "ExecReload",
             "StateDirectory", "StateDirectoryMode", "LogsDirectory", "LogsDirectoryMode",
             "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "UMask", "Restart",
             "RestartSec", "RestartPreventExitStatus", "KillSignal", "TimeoutStopSec", "MemoryMax",
             "Nice", "LimitMEMLOCK", "LimitNOFILE", "CapabilityBoundingSet", "AmbientCapabilities",
             "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
             "PrivateUsers", "ProtectHostname", "ProtectClock", "ProtectKernelTunables",
             "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc",
             "ProcSubset", "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime",
             "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RemoveIPC",
             "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "DynamicUser",
             "PrivateMounts"}   # PrivateMounts: the emulation always has its own mount namespace
    unknown = sorted(set(props) - known)
    if unknown:
        raise Unsupported("settings not emulated: %s" % ", ".join(unknown))
    if _bool(props, "DynamicUser"):
        raise Unsupported("DynamicUser=")
    ps = props.get("ProtectSystem", ["no"])[-1]
    if ps not in ("no", "strict"):
        raise Unsupported("ProtectSystem=%s" % ps)
    ph = props.get("ProtectHome", ["no"])[-1]
    if ph not in ("no", "yes"):
        raise Unsupported("ProtectHome=%s" % ph)

    caps = None
    if "CapabilityBoundingSet" in props:
        caps = set()
        for w in _words(props, "CapabilityBoundingSet"):
            if w.startswith("~"):
                raise Unsupported("CapabilityBoundingSet=~")
            caps.add(w.upper())
    drop = set()
    if _bool(props, "PrivateDevices"):
        drop |= {"CAP_MKNOD", "CAP_SYS_RAWIO"}
    if _bool(props, "ProtectKernelModules"):
        drop |= {"CAP_SYS_MODULE"}
    if _bool(props, "ProtectKernelLogs"):
        drop |= {"CAP_SYSLOG"}
    if _bool(props, "ProtectClock"):
        drop |= {"CAP_SYS_TIME", "CAP_WAKE_ALARM"}
    if caps is None:
        caps = {"ALL"}
    caps = sorted(caps - drop) if "ALL" not in caps else ["ALL"] + ["-" + c for c in sorted(drop)]

    state = []
    for key, base in (("StateDirectory", "var/lib"), ("LogsDirectory", "var/log")):
        for d in _words(props, key):
            state.append({"real": "/%s/%s" % (base, d), "here": os.path.join(scratch, base, d),
                          "mode": int(props.get(key + "Mode", ["0755"])[-1], 8)})

    def paths(key):
        out = []
        for w in _words(props, key):
            optional = w.startswith("-")
            out.append({"path": w.lstrip("-+"), "optional": optional})
        return out

    filters = []   # (allow: bool, names)
    for v in props.get("SystemCallFilter", []):
        deny = v.startswith("~")
        filters.append((not deny, v.lstrip("~").split()))
    errno_name = props.get("SystemCallErrorNumber", ["EPERM"])[-1]
    return {
        "scratch": scratch,
        "user": user or props.get("User", [None])[-1],
        "caps": caps,
        "ambient": sorted(w.upper() for w in _words(props, "AmbientCapabilities")),
        "nnp": _bool(props, "NoNewPrivileges"),
        "umask": int(props.get("UMask", ["0022"])[-1], 8),
        "memlock": props.get("LimitMEMLOCK", [None])[-1],
        "nice": int(props.get("Nice", ["0"])[-1]),
        "strict": ps == "strict",
        "rw": [{"path": p, "optional": False} for p in rw] +
              [p for p in paths("ReadWritePaths") if not any(p["path"] == s["real"] for s in state)],
        "ro": paths("ReadOnlyPaths"),
        "inaccessible": paths("InaccessiblePaths"),
        "state": state,
        "protect_home": ph == "yes",
        "private_tmp": _bool(props, "PrivateTmp"),
        "private_devices": _bool(props, "PrivateDevices"),
        "kernel_tunables": _bool(props, "ProtectKernelTunables"),
        "kernel_modules": _bool(props, "ProtectKernelModules"),
        "kernel_logs": _bool(props, "ProtectKernelLogs"),
        "control_groups": _bool(props, "ProtectControlGroups"),
        "protect_proc": props.get("ProtectProc", ["default"])[-1],
        "proc_subset": props.get("ProcSubset", ["all"])[-1],
        "filters": filters,
        "errno": errno_name,
        "native_only": props.get("SystemCallArchitectures", [""])[-1] == "native",
        "families": _words(props, "RestrictAddressFamilies"),
        "restrict_ns": _bool(props, "RestrictNamespaces"),
        "mdwe": _bool(props, "MemoryDenyWriteExecute"),
        "lock_personality": _bool(props, "LockPersonality"),
    }


def command(unit, argv, scratch, rw=(), user=None, patch=None):
    """The argv that runs argv inside unit's sandbox. patch: {key: [values]} to change settings
    (e.g. drop a capability) before building the sandbox."""
    props = parse_unit(unit)
    for k, v in (patch or {}).items():
        props[k] = list(v)
    spec = spec_of(props, scratch, rw, user)
    # the sandbox runs a copy of this file: the checkout may be where it hides (/tmp, /root)
    os.makedirs(scratch, exist_ok=True)
    me = os.path.join(scratch, "unitsandbox.py")
    shutil.copy(SELF, me)
    os.chmod(me, 0o755)
    os.chmod(scratch, 0o755)
    return ["unshare", "--mount", "--propagation", "private", "--", PY, me, "--inside",
            json.dumps(spec), "--"] + list(argv)


def state_dir(unit, scratch, name):
    """Where StateDirectory=name of unit lives in this emulation."""
    return os.path.join(scratch, "var/lib", name)


# ---- inside the new mount namespace ---------------------------------------------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
MOUNT_ATTR_RDONLY = 0x1
AT_RECURSIVE = 0x8000
NR_MOUNT_SETATTR = 442   # x86-64 and arm64 (the unified syscall table)

libc = ctypes.CDLL(None, use_errno=True)


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def mount(src, target, fstype, flags, data=None):
    _check(libc.mount(src.encode() if src else None, target.encode(),
                      fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                      data.encode() if data else None), "mount %s" % target)


def set_ro(path, ro=True, recursive=True):
    a = MountAttr(MOUNT_ATTR_RDONLY if ro else 0, 0 if ro else MOUNT_ATTR_RDONLY, 0, 0)
    _check(libc.syscall(NR_MOUNT_SETATTR, -100, path.encode(), AT_RECURSIVE if recursive else 0,
                        ctypes.byref(a), ctypes.sizeof(a)), "mount_setattr %s" % path)


def bind_self(path):
    mount(path, path, None, MS_BIND | MS_REC)


# ProtectKernelTunables=, as systemd 252's protect_kernel_tunables_{proc,sys}_table
TUNABLES_RO = ["/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
               "/proc/latency_stats", "/proc/mtrr", "/proc/scsi", "/proc/sys", "/proc/sysrq-trigger",
               "/proc/timer_stats", "/sys"]
TUNABLES_INACCESSIBLE = ["/proc/kallsyms", "/proc/kcore"]


def inside(spec, argv):
    scratch = spec["scratch"]
    os.makedirs(scratch, exist_ok=True)
    # systemd's "inaccessible" nodes: an empty file and an empty directory, mode 000
    inacc = tempfile.mkdtemp(prefix="inaccessible-", dir=scratch)
    mount("tmpfs", inacc, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755")
    os.mkdir(inacc + "/dir", 0)
    os.close(os.open(inacc + "/reg", os.O_CREAT | os.O_WRONLY, 0))
    os.chmod(inacc + "/dir", 0)

    def inaccessible(path):
        src = inacc + ("/dir" if os.path.isdir(path) else "/reg")
        mount(src, path, None, MS_BIND)
        set_ro(path, True, False)

    for s in spec["state"]:
        os.makedirs(s["here"], exist_ok=True)
        os.chmod(s["here"], s["mode"])
        if spec["user"] and spec["user"] != "root":   # systemd hands the directory to User=
            import pwd
            pw = pwd.getpwnam(spec["user"])
            os.chown(s["here"], pw.pw_uid, pw.pw_gid)
    rw = [p["path"] for p in spec["rw"]] + [s["here"] for s in spec["state"]]
    for p in rw:
        bind_self(p)
    if spec["strict"]:
        set_ro("/", True)
        for api in ("/dev", "/proc", "/sys"):
            set_ro(api, False)
        for p in rw:
            set_ro(p, False)
    if spec["protect_proc"] != "default" or spec["proc_subset"] != "all":
        opts = []
        if spec["protect_proc"] != "default":
            opts.append("hidepid=" + spec["protect_proc"])
        if spec["proc_subset"] != "all":
            opts.append("subset=" + spec["proc_subset"])
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, ",".join(opts))
    if spec["private_devices"]:
        mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
        for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                                   ("urandom", 1, 9), ("tty", 5, 0)):
            os.mknod("/dev/" + name, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod("/dev/" + name, 0o666)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, "/dev/" + name)
        os.mkdir("/dev/shm")
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    if spec["protect_home"]:
        for h in ("/home", "/root", "/run/user"):
            if os.path.isdir(h):
                inaccessible(h)
    if spec["kernel_tunables"]:
        for p in TUNABLES_RO:
            if os.path.exists(p):
                if p != "/sys":
                    bind_self(p)
                set_ro(p, True)
        for p in TUNABLES_INACCESSIBLE:
            if os.path.exists(p):
                inaccessible(p)
    if spec["kernel_modules"]:
        for p in ("/usr/lib/modules", "/lib/modules"):
            if os.path.isdir(p) and not os.path.islink(p):
                inaccessible(p)
    if spec["kernel_logs"]:
        for p in ("/proc/kmsg", "/dev/kmsg"):
            if os.path.exists(p):
                inaccessible(p)
    if spec["control_groups"] and os.path.isdir("/sys/fs/cgroup"):
        set_ro("/sys/fs/cgroup", True)
    for p in spec["ro"]:
        if not os.path.exists(p["path"]):
            if p["optional"]:
                continue
            raise FileNotFoundError(p["path"])
        if p["path"] not in ("/sys", "/proc", "/dev"):
            bind_self(p["path"])
        set_ro(p["path"], True)
    for p in spec["inaccessible"]:
        if not os.path.exists(p["path"]):
            if p["optional"]:
                continue
            raise FileNotFoundError(p["path"])
        inaccessible(p["path"])
    if spec["private_tmp"]:   # last: what was bound from below /tmp stays bound
        for t in ("/tmp", "/var/tmp"):
            mount("tmpfs", t, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")

    os.umask(spec["umask"])
    if spec["memlock"]:
        v = resource.RLIM_INFINITY if spec["memlock"] == "infinity" else int(spec["memlock"])
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (v, v))
        except (ValueError, OSError):   # no CAP_SYS_RESOURCE here; kernels >= 5.11 ignore it
            print("unitsandbox: LimitMEMLOCK=%s not applied (no CAP_SYS_RESOURCE)" % spec["memlock"],
                  file=sys.stderr)
    if spec["nice"]:
        os.nice(spec["nice"])

    priv = ["/usr/bin/setpriv"]
    if spec["nnp"]:
        priv.append("--no-new-privs")
    caps = spec["caps"]
    if caps == ["ALL"] or (caps and caps[0] == "ALL"):
        bset = "+all" + "".join("," + c.replace("CAP_", "-").lower() for c in caps[1:])
    else:
        bset = "-all" + "".join(",+" + c[4:].lower() for c in caps)
    ambient = "".join(",+" + c[4:].lower() for c in spec["ambient"])
    priv += ["--bounding-set", bset]
    nonroot = spec["user"] and spec["user"] != "root"
    if ambient or not nonroot:   # a new uid without ambient capabilities has none to inherit
        priv += ["--inh-caps", "-all" + ambient]
    if nonroot:
        import pwd
        pw = pwd.getpwnam(spec["user"])   # the user's own group stands in for Group=
        priv += ["--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--init-groups"]
        if ambient:
            priv += ["--ambient-caps", "-all" + ambient]
    priv.append("--")
    # systemd installs the seccomp filter last, after the uid and capability changes (which
    # use capset, setresuid...): so does a last stage here, run by setpriv.
    stage3 = [PY, "-I", SELF, "--seccomp", json.dumps(spec), "--"]
    os.execv(priv[0], priv + stage3 + argv)


# ---- seccomp ------------------------------------------------------------------------------------

_groups = {}


def expand(name):
    """A syscall name, or every syscall of an @group (recursively), via systemd-analyze."""
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                             text=True, check=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            names |= expand(s)
        _groups[name] = names
    return _groups[name]


def load_seccomp(spec):
    import errno
    import seccomp
    if not spec["filters"]:
        if spec["mdwe"] or spec["families"] or spec["restrict_ns"] or spec["lock_personality"]:
            raise Unsupported("argument filters without a SystemCallFilter allow-list")
        return
    if not spec["filters"][0][0]:
        raise Unsupported("SystemCallFilter= that starts with a deny-list")
    allowed = set()
    for allow, names in spec["filters"]:
        s = set()
        for n in names:
            s |= expand(n)
        allowed = allowed | s if allow else allowed - s
    # always permitted by systemd
    allowed |= {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}
    err = getattr(errno, spec["errno"])
    f = seccomp.SyscallFilter(seccomp.ERRNO(err))
    A = seccomp.Arg
    special = {}
    if spec["families"]:
        import socket
        fams = [getattr(socket, f_) for f_ in spec["families"]]
        special["socket"] = [[A(0, seccomp.EQ, fam)] for fam in fams]
    if spec["mdwe"]:
        W, X = 2, 4
        special["mmap"] = [[A(2, seccomp.MASKED_EQ, W | X, v)] for v in (0, W, X)]
        special["mprotect"] = [[A(2, seccomp.MASKED_EQ, X, 0)]]
        special["pkey_mprotect"] = [[A(2, seccomp.MASKED_EQ, X, 0)]]
        special["shmat"] = [[A(2, seccomp.MASKED_EQ, 0o100000, 0)]]   # SHM_EXEC
    if spec["restrict_ns"]:
        ns = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | \
            0x40000000 | 0x00000080   # NEWNS UTS IPC USER PID NET CGROUP TIME
        special["clone"] = [[A(0, seccomp.MASKED_EQ, ns, 0)]]
        for n in ("unshare", "setns"):
            allowed.discard(n)
        allowed.discard("clone3")
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")   # as systemd: glibc falls back to clone
    if spec["lock_personality"]:
        special["personality"] = [[A(0, seccomp.EQ, 0)], [A(0, seccomp.EQ, 0xffffffff)]]
    for name in sorted(allowed):
        try:
            nr = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        except Exception:
            nr = -1
        if nr < 0:
            continue   # not a system call of this architecture
        if name in special:
            for conds in special[name]:
                f.add_rule(seccomp.ALLOW, name, *conds)
        else:
            f.add_rule(seccomp.ALLOW, name)
    f.load()


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("--inside", "--seccomp") or sys.argv[3] != "--":
        sys.exit("usage: unitsandbox.py --inside|--seccomp SPEC -- COMMAND...")
    spec, argv = json.loads(sys.argv[2]), sys.argv[4:]
    if sys.argv[1] == "--inside":
        inside(spec, argv)
    else:
        load_seccomp(spec)
        os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
