"""What the benchmarks share: private namespaces, podman on temp paths, mounts, statistics.

Python 3 standard library only.
"""

import ctypes
import ctypes.util
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

# Where engines keep state whatever their --root says: a private tmpfs in our namespace.
SYSTEM_DIRS = ("/run", "/var/lib", "/var/cache", "/var/tmp")


def sys_mount(source, target, fstype=None, flags=0, data=None):
    """mount(2) itself: mount(8) would write its utab into the host's /run."""
    enc = (lambda v: v.encode() if v is not None else None)
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {source} on {target}: {os.strerror(e)}")


def enter_private_namespaces():
    """New mount and network namespaces (lo up), and fresh tmpfs over SYSTEM_DIRS in them:
    nothing an engine writes there reaches the host, and no traffic leaves the machine."""
    if _libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare(CLONE_NEWNS|CLONE_NEWNET): {os.strerror(e)}")
    sys_mount("none", "/", None, MS_REC | MS_PRIVATE)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for d in SYSTEM_DIRS:
        sys_mount("berth-bench", d, "tmpfs", 0, "mode=0755")
    os.chmod("/var/tmp", 0o1777)
    os.makedirs("/run/lock", exist_ok=True)


def var_tmp_on(path):
    """/var/tmp (where podman unpacks an archive to look into it) on path's filesystem, as on a
    machine where it is on disk, instead of the tmpfs of enter_private_namespaces."""
    os.makedirs(path, mode=0o1777, exist_ok=True)
    os.chmod(path, 0o1777)
    sys_mount(path, "/var/tmp", None, MS_BIND)


def under_system_dirs(path):
    path = os.path.realpath(path)
    return any(path == d or path.startswith(d + "/") for d in SYSTEM_DIRS)


def filesystem_of(path):
    """(type, source) of the mount that holds path, from /proc/self/mountinfo."""
    path = os.path.realpath(path)
    best = ("", "?", "?")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mnt = left.split()[4].encode().decode("unicode_escape")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                fstype, source = right.split()[:2]
                best = (mnt, fstype, source)
    return best[1], best[2]


def umount_below(path):
    """Detach every mount at or below path (deepest first)."""
    path = os.path.realpath(path)
    mounts = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].encode().decode("unicode_escape")
            if mnt == path or mnt.startswith(path + "/"):
                mounts.add(mnt)
    for mnt in sorted(mounts, key=len, reverse=True):
        _libc.umount2(mnt.encode(), MNT_DETACH)


def remove_tree(path):
    umount_below(path)
    shutil.rmtree(path, ignore_errors=True)
    if os.path.lexists(path):
        time.sleep(0.1)  # busy for a moment after an engine's exit
        umount_below(path)
        shutil.rmtree(path, ignore_errors=True)


def cgroup_mountpoints():
    mounts = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] in ("cgroup", "cgroup2"):
                mounts.add(left.split()[4])
    return mounts


def remove_cgroup_tree(rel):
    """Remove the cgroup rel (and below) from every hierarchy; what is still busy stays."""
    for mnt in cgroup_mountpoints():
        top = os.path.join(mnt, rel.lstrip("/"))
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, _files in os.walk(top, topdown=False):
            try:
                os.rmdir(dirpath)
            except OSError as e:
                print(f"warning: cannot remove {dirpath}: {e}", file=sys.stderr)


def podman_setup(top, runtime=None):
    """podman with everything it keeps under top (on top's filesystem, no tmpfs): its own root,
    runroot, tmpdir, image-copy temp dir, network config, containers.conf and storage.conf.
    Returns (argv prefix, env). The machine's podman storage is never touched."""
    d = {k: os.path.join(top, k) for k in ("root", "runroot", "tmp", "networks", "copytmp")}
    for p in d.values():
        os.makedirs(p, exist_ok=True)
    conf = os.path.join(top, "containers.conf")
    with open(conf, "w") as f:
        f.write(f"""[containers]
# Raising RLIMIT_NOFILE fails where the bounding set lacks CAP_SYS_RESOURCE.
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{top}/events.log"
volume_path = "{top}/volumes"
image_copy_tmp_dir = "{d['copytmp']}"

[network]
network_config_dir = "{d['networks']}"
""")
    storage = os.path.join(top, "storage.conf")
    with open(storage, "w") as f:
        f.write(f"""[storage]
driver = "overlay"
runroot = "{d['runroot']}"
graphroot = "{d['root']}"
""")
    registries = os.path.join(top, "registries.conf")
    with open(registries, "w") as f:
        f.write('unqualified-search-registries = []\nshort-name-mode = "permissive"\n')
    env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage,
               CONTAINERS_REGISTRIES_CONF=registries, TMPDIR=d["copytmp"])
    argv = [shutil.which("podman") or "podman", "--root", d["root"], "--runroot", d["runroot"],
            "--tmpdir", d["tmp"], "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "--network-config-dir", d["networks"]]
    if runtime:
        argv += ["--runtime", runtime]
    return argv, env


def p90(values):
    s = sorted(values)
    return s[max(0, -(-len(s) * 9 // 10) - 1)]


def summary(values):
    return {"median": statistics.median(values), "p90": p90(values), "min": min(values),
            "runs": len(values)}
