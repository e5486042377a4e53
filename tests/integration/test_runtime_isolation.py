"""What a container started by berth-runtime can and cannot see and do:
namespaces, mounts, devices, masked and read-only paths, users, capabilities,
seccomp, rlimits, cgroup limits that bite, and security regressions.

Run against runc too: BERTH_RUNTIME=/usr/bin/runc /usr/bin/python3 -m pytest tests/integration
"""

import hashlib
import json
import os
import pty
import select
import shutil
import subprocess
import time

import pytest

from conftest import (MS_BIND, MS_SHARED, PATH_ENV, RuntimeCLI, cgroup_is_v1, is_runc,
                      read_file, sys_mount, wait_until)

SLEEP = ["sleep", "1000"]

CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
        "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
        "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
        "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
        "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
        "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]
CAP_NUM = {"CAP_" + n: i for i, n in enumerate(CAPS)}
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
               "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
               "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def caps(names):
    """A capabilities object with the same set in bounding/effective/permitted."""
    return {k: list(names) for k in ("bounding", "effective", "permitted")}


def host_caps():
    """The capabilities in our bounding set (this host lacks CAP_SYS_RESOURCE)."""
    bnd = int(host_status("CapBnd"), 16)
    return [n for n, i in CAP_NUM.items() if bnd & (1 << i)]


def cap_mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NUM[n]
    return m


def host_status(field, pid="self"):
    for line in read_file(f"/proc/{pid}/status").splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(field)


def status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(f"{field} not in {text!r}")


@pytest.fixture
def sh(run, make_bundle):
    """sh(script, **changes) -> Result of `run` of `sh -c script` in a fresh bundle."""
    def go(script, timeout=15, **changes):
        b = make_bundle(["sh", "-c", script], **changes)
        return run("run", "--bundle", b.path, b.id, timeout=timeout)
    return go


def ok(r):
    assert r.rc == 0, f"exit {r.rc}\nstdout: {r.out}\nstderr: {r.err}"
    return r.out


def detached(run, b):
    run.ok("run", "--detach", "--bundle", b.path, b.id)
    return run.state(b.id)["pid"]


# ---------------------------------------------------------------- namespaces


def test_pid_namespace(sh):
    out = ok(sh("echo $$; ps -o pid,comm"))
    lines = out.split("\n")
    assert lines[0] == "1"
    pids = sorted(int(ln.split()[0]) for ln in lines[2:] if ln.strip())
    assert pids[0] == 1 and len(pids) <= 3, out


def test_uts_namespace(sh, runtime):
    host = os.uname().nodename
    out = ok(sh("hostname; cat /proc/sys/kernel/domainname",
                hostname="box.berth", domainname="berth.test"))
    lines = out.split("\n")
    assert lines[0] == "box.berth"
    if not is_runc(runtime):  # runc 1.1 predates domainname (runtime-spec 1.1)
        assert lines[1] == "berth.test"
    assert os.uname().nodename == host


def test_ipc_namespace(sh):
    out = ok(sh("readlink /proc/self/ns/ipc"))
    assert out.strip() != os.readlink("/proc/self/ns/ipc")


def test_net_namespace_has_only_lo(sh):
    out = ok(sh("ip -o link; readlink /proc/self/ns/net"))
    lines = out.strip().split("\n")
    links = [ln.split(":")[1].strip() for ln in lines[:-1]]
    assert links == ["lo"], out
    assert lines[-1] != os.readlink("/proc/self/ns/net")


def test_no_net_namespace_shares_the_host_one(sh):
    out = ok(sh("readlink /proc/self/ns/net",
                edit=lambda c: c["linux"]["namespaces"].remove({"type": "network"})))
    assert out.strip() == os.readlink("/proc/self/ns/net")


def test_user_namespace(run, make_bundle):
    maps = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b = make_bundle(["sh", "-c", "id; touch /tmp/owned; cat /proc/self/uid_map; exec sleep 1000"],
                    edit=lambda c: c["linux"]["namespaces"].append({"type": "user"}),
                    linux={"uidMappings": maps, "gidMappings": maps})
    out_path = os.path.join(b.path, "out")
    with open(out_path, "w") as out:
        run.ok("run", "--detach", "--bundle", b.path, b.id, stdout=out)
    pid = run.state(b.id)["pid"]
    assert read_file(f"/proc/{pid}/uid_map").split() == ["0", "100000", "65536"]
    assert read_file(f"/proc/{pid}/gid_map").split() == ["0", "100000", "65536"]
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    wait_until(lambda: os.path.exists(b.host_path("/tmp/owned")), 5, what="the container")
    st = os.stat(b.host_path("/tmp/owned"))
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    assert host_status("Uid", pid).split()[0] == "100000"
    out = wait_until(lambda: read_file(out_path).count("\n") >= 2 and read_file(out_path),
                     5, what="output")
    assert out.startswith("uid=0(root) gid=0(root)"), out
    assert out.split("\n")[1].split() == ["0", "100000", "65536"]


def test_cgroup_namespace(sh):
    out = ok(sh("cat /proc/self/cgroup",
                edit=lambda c: c["linux"]["namespaces"].append({"type": "cgroup"})))
    for line in out.strip().split("\n"):
        assert line.rsplit(":", 1)[1] == "/", out


def test_without_cgroup_namespace_cgroup_is_the_configured_path(run, make_bundle):
    b = make_bundle(["cat", "/proc/self/cgroup"])
    r = run("run", "--bundle", b.path, b.id)
    out = ok(r)
    paths = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in out.strip().split("\n")}
    for ctrl in ("memory", "pids", "cpu,cpuacct", "cpu", "freezer", "devices"):
        if ctrl in paths:
            assert paths[ctrl] == b.cgroups_path, out
    assert b.cgroups_path in paths.values(), out


def test_mount_namespace(run, make_bundle):
    b = make_bundle(SLEEP)
    pid = detached(run, b)
    assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    rootfs = os.path.realpath(b.rootfs)
    with open("/proc/self/mountinfo") as f:
        leaked = [ln for ln in f if f" {rootfs}/" in ln or f" {rootfs} " in ln]
    assert not leaked, f"container mounts visible on the host: {leaked}"
    mounts = run.ok("exec", b.id, "cat", "/proc/self/mountinfo").out
    dests = [ln.split()[4] for ln in mounts.strip().split("\n")]
    assert "/" in dests and "/proc" in dests and "/dev" in dests
    assert not any(d.startswith(rootfs) for d in dests), dests


@pytest.fixture
def netns_holder():
    """A sleeping process in a new network namespace with a veth pair in it."""
    procs = []

    def make():
        p = subprocess.Popen(["unshare", "--net", "sh", "-c",
                              "ip link add berth0 type veth peer name berth1 && "
                              "ip link set lo up && echo ready && exec sleep 1000"],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline() == "ready\n"
        return p.pid

    yield make
    for p in procs:
        p.kill()
        p.wait()


def test_join_network_namespace_by_path(sh, netns_holder):
    pid = netns_holder()
    path = f"/proc/{pid}/ns/net"

    def edit(c):
        c["linux"]["namespaces"] = [ns for ns in c["linux"]["namespaces"]
                                    if ns["type"] != "network"]
        c["linux"]["namespaces"].append({"type": "network", "path": path})

    out = ok(sh("readlink /proc/self/ns/net; ip -o link | cut -d: -f2 | cut -d@ -f1", edit=edit))
    lines = [ln.strip() for ln in out.strip().split("\n")]
    assert lines[0] == os.readlink(path)
    assert sorted(lines[1:]) == ["berth0", "berth1", "lo"]


def test_join_missing_namespace_path_fails(run, make_bundle):
    def edit(c):
        c["linux"]["namespaces"] = [ns for ns in c["linux"]["namespaces"]
                                    if ns["type"] != "network"]
        c["linux"]["namespaces"].append({"type": "network", "path": "/proc/999999999/ns/net"})
    b = make_bundle(["true"], edit=edit)
    r = run("run", "--bundle", b.path, b.id)
    assert r.rc != 0
    assert "/proc/999999999/ns/net" in r.err, r.err


# ---------------------------------------------------------------- mounts


def proc_mount(mounts_text, dest):
    """The /proc/mounts line for dest (the last one: the top of the stack)."""
    found = [ln.split() for ln in mounts_text.strip().split("\n")
             if len(ln.split()) >= 4 and ln.split()[1] == dest]
    assert found, f"{dest} not mounted:\n{mounts_text}"
    return found[-1]


def test_bind_mounts_ro_and_rw(sh, workdir):
    ro = os.path.join(workdir, "ro-src")
    rw = os.path.join(workdir, "rw-src")
    os.mkdir(ro)
    os.mkdir(rw)
    with open(os.path.join(ro, "hello"), "w") as f:
        f.write("from-host\n")
    r = sh("cat /ro/hello; touch /ro/new && echo ro-writable; echo x > /rw/new; "
           "grep -E ' /(ro|rw) ' /proc/mounts",
           edit=lambda c: c["mounts"].extend([
               {"destination": "/ro", "type": "bind", "source": ro, "options": ["rbind", "ro"]},
               {"destination": "/rw", "type": "bind", "source": rw, "options": ["rbind", "rw"]},
           ]))
    out = ok(r)
    assert out.startswith("from-host\n")
    assert "ro-writable" not in out
    assert "Read-only file system" in r.err
    assert not os.path.exists(os.path.join(ro, "new"))
    assert read_file(os.path.join(rw, "new")) == "x\n"
    assert "ro" in proc_mount(out, "/ro")[3].split(",")
    assert "rw" in proc_mount(out, "/rw")[3].split(",")


def test_bind_mount_of_a_file(sh, workdir):
    src = os.path.join(workdir, "file-src")
    with open(src, "w") as f:
        f.write("just-a-file\n")
    out = ok(sh("cat /etc/berth-file",
                edit=lambda c: c["mounts"].append(
                    {"destination": "/etc/berth-file", "type": "bind", "source": src,
                     "options": ["bind", "ro"]})))
    assert out == "just-a-file\n"


def test_tmpfs_options(sh):
    r = sh("grep ' /scratch ' /proc/mounts; stat -c %a /scratch; "
           "head -c 2000000 /dev/zero > /scratch/big || echo full",
           edit=lambda c: c["mounts"].append(
               {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1770"]}))
    out = ok(r)
    line = out.split("\n")[0].split()
    assert line[2] == "tmpfs"
    opts = line[3].split(",")
    for o in ("nosuid", "nodev", "noexec", "size=1024k", "mode=1770"):
        assert o in opts, f"{o} not in {opts}"
    assert out.split("\n")[1] == "1770"
    assert "full" in out, "wrote 2 MB into a 1 MB tmpfs"


def test_noexec_is_enforced(sh):
    r = sh("cp /bin/busybox /x/bb && /x/bb true && echo exec-allowed",
           edit=lambda c: c["mounts"].append(
               {"destination": "/x", "type": "tmpfs", "source": "tmpfs",
                "options": ["noexec"]}))
    assert "exec-allowed" not in r.out
    assert "Permission denied" in r.err


def test_mount_propagation(run, make_bundle, workdir):
    """A slave bind sees mounts made later on the host side; a private one does not."""
    shared = os.path.join(workdir, "shared")
    os.makedirs(os.path.join(shared, "sub"))
    sys_mount(shared, shared, None, MS_BIND)
    sys_mount("none", shared, None, MS_SHARED)
    b = make_bundle(SLEEP, edit=lambda c: c["mounts"].extend([
        {"destination": "/slave", "type": "bind", "source": shared,
         "options": ["rbind", "rslave"]},
        {"destination": "/private", "type": "bind", "source": shared,
         "options": ["rbind", "rprivate"]},
    ]))
    detached(run, b)
    sys_mount("late", os.path.join(shared, "sub"), "tmpfs", 0, "size=1m")
    mounts = run.ok("exec", b.id, "cat", "/proc/mounts").out
    dests = {ln.split()[1] for ln in mounts.strip().split("\n")}
    assert "/slave/sub" in dests, "the rslave bind did not receive the host's new mount"
    assert "/private/sub" not in dests, "the rprivate bind received the host's new mount"
    info = run.ok("exec", b.id, "cat", "/proc/self/mountinfo").out
    slave = [ln for ln in info.split("\n") if ln.split()[4:5] == ["/slave"]]
    assert slave and "master:" in slave[0], slave


def test_mount_destination_through_symlink_stays_in_rootfs(run, make_bundle, workdir):
    hostdir = os.path.join(workdir, "hostdir")
    os.mkdir(hostdir)
    b = make_bundle(["sh", "-c", "echo pwned > /etc/evil/x; touch /done; exec sleep 1000"],
                    edit=lambda c: c["mounts"].append(
                        {"destination": "/etc/evil", "type": "tmpfs", "source": "tmpfs",
                         "options": ["size=1m"]}))
    os.symlink(hostdir, os.path.join(b.rootfs, "etc", "evil"))
    r = run("run", "--detach", "--bundle", b.path, b.id)
    if r.rc != 0:
        # Refusing the mount is as good as resolving it inside the rootfs.
        assert not os.listdir(hostdir)
        return
    wait_until(lambda: os.path.exists(b.host_path("/done")), 5, what="the container")
    assert not os.listdir(hostdir), "the container wrote through the symlink to the host"
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if ln.split()[4] == hostdir], "mounted over a host dir"
    # The mount is inside the rootfs, under the symlink's target path.
    out = run.ok("exec", b.id, "cat", "/etc/evil/x").out
    assert out == "pwned\n"


# ---------------------------------------------------------------- /dev


def test_default_devices(sh):
    script = ("for d in null zero full random urandom tty; do "
              "stat -c '%n|%F|%t:%T' /dev/$d; done; "
              "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; "
              "test -d /dev/pts && echo pts; test -d /dev/shm && echo shm; "
              "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; "
              "head -c 4 /dev/urandom | wc -c; test -e /dev/console || echo no-console; "
              "echo > /dev/full || echo full-ok")
    r = sh(script)
    lines = r.out.split("\n")
    want = [("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"),
            ("urandom", "1:9"), ("tty", "5:0")]
    for line, (name, majmin) in zip(lines, want):
        path, kind, mm = line.split("|")
        assert path == "/dev/" + name, line
        assert kind == "character special file", line
        assert ":".join(str(int(x, 16)) for x in mm.split(":")) == majmin, line
    assert lines[6:11] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                           "/proc/self/fd/2", "pts/ptmx"], lines[6:11]
    rest = lines[11:]
    # No terminal, so no /dev/console; /dev/full refuses writes (ENOSPC).
    for w in ("pts", "shm", "null-ok", "4", "no-console", "full-ok"):
        assert w in rest, f"{w} missing in {rest}"


def test_dev_is_not_the_host_dev(sh):
    out = ok(sh("ls /dev"))
    names = set(out.split())
    for host_only in ("vda", "kmsg", "mem", "net"):
        assert host_only not in names, f"/dev/{host_only} in the container: {sorted(names)}"


def test_config_devices_and_device_cgroup(sh):
    """Config devices appear with their major:minor and mode; the device cgroup lets
    through only what resources.devices allows (tun), not the rest (fuse)."""
    def edit(c):
        c["linux"]["devices"] = [
            {"path": "/dev/berth-null", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o666, "uid": 0, "gid": 0},
            {"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
             "fileMode": 0o600, "uid": 0, "gid": 0},
            {"path": "/dev/berth-fuse", "type": "c", "major": 10, "minor": 229,
             "fileMode": 0o600, "uid": 0, "gid": 0},
        ]
        c["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"})
    r = sh("stat -c '%n %F %t:%T %a' /dev/berth-null /dev/net/tun /dev/berth-fuse; "
           "echo x > /dev/berth-null && echo null-ok; "
           "cat /dev/net/tun 2>&1 | head -1; "
           "cat /dev/berth-fuse 2>&1 | head -1", edit=edit)
    out = ok(r).split("\n")
    assert out[0] == "/dev/berth-null character special file 1:3 666", out
    assert out[1] == "/dev/net/tun character special file a:c8 600", out
    assert out[2] == "/dev/berth-fuse character special file a:e5 600", out
    assert out[3] == "null-ok"
    # tun is allowed: opening works (reading without an interface gives EBADFD).
    assert "Operation not permitted" not in out[4], out[4]
    # fuse is not in the allow list: the device cgroup refuses the open.
    assert "Operation not permitted" in out[5], out[5]


# ---------------------------------------------------------------- masked / read-only


def test_masked_paths(sh):
    # Only the masked paths this kernel has (no /proc/kcore here, for one).
    files = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                         "/proc/latency_stats", "/proc/timer_stats") if os.path.exists(p)]
    dirs = [p for p in ("/sys/firmware", "/proc/acpi", "/proc/scsi", "/proc/asound")
            if os.path.isdir(p)]
    assert "/sys/firmware" in dirs and "/proc/keys" in files
    script = "; ".join([f"echo {p} $(cat {p} | wc -c)" for p in files] +
                       [f"echo {p} $(ls -A {p} | wc -l)" for p in dirs] +
                       ["cat /proc/mounts"])
    r = sh(script)
    out = ok(r)
    for p in files + dirs:
        assert f"{p} 0\n" in out, f"{p} is not masked:\n{out}"
    mounted = {ln.split()[1] for ln in out.split("\n") if len(ln.split()) >= 4}
    for p in files + dirs:
        assert p in mounted, f"{p}: no mask mount"


def test_readonly_paths(sh):
    r = sh("echo changed > /proc/sys/kernel/hostname && echo wrote; "
           "echo 1 > /proc/sysrq-trigger && echo wrote-sysrq; "
           "grep -E ' /proc/sys ' /proc/mounts",
           hostname="before")
    assert "wrote" not in r.out
    assert "Read-only file system" in r.err
    line = proc_mount(r.out, "/proc/sys")
    assert "ro" in line[3].split(",")


def test_readonly_root(sh):
    r = sh("touch /newfile && echo root-writable; touch /tmp/x && echo tmp-writable; "
           "touch /dev/shm/x && echo shm-ok; grep ' / ' /proc/mounts",
           root={"readonly": True})
    assert "root-writable" not in r.out and "tmp-writable" not in r.out
    assert "shm-ok" in r.out
    assert "Read-only file system" in r.err
    assert "ro" in proc_mount(r.out, "/")[3].split(",")


# ---------------------------------------------------------------- process


def test_sysctl_in_new_netns(sh):
    before = read_file("/proc/sys/net/ipv4/ip_forward")
    out = ok(sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax",
                linux={"sysctl": {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}}))
    assert out == "1\n12345\n"
    assert read_file("/proc/sys/net/ipv4/ip_forward") == before


def test_sysctl_of_host_netns_is_refused(run, make_bundle):
    b = make_bundle(["true"], linux={"sysctl": {"net.ipv4.ip_forward": "1"}},
                    edit=lambda c: c["linux"]["namespaces"].remove({"type": "network"}))
    before = read_file("/proc/sys/net/ipv4/ip_forward")
    r = run("run", "--bundle", b.path, b.id)
    assert r.rc != 0
    assert "net.ipv4.ip_forward" in r.err, r.err
    assert read_file("/proc/sys/net/ipv4/ip_forward") == before


def test_rlimits(sh):
    out = ok(sh("ulimit -n; ulimit -Hn; ulimit -u",
                process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
                                     {"type": "RLIMIT_NPROC", "soft": 777, "hard": 777}]}))
    assert out.split() == ["512", "1024", "777"]
    out = ok(sh("ulimit -n; ulimit -Hn"))  # the default config: 1024/1024
    assert out.split() == ["1024", "1024"]


def test_user_groups_umask(sh):
    out = ok(sh("id; umask; touch /tmp/f; stat -c %a /tmp/f",
                process={"user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20],
                                  "umask": 0o027}}))
    lines = out.split("\n")
    assert lines[0].startswith("uid=1000(tester) gid=1000(tester) groups="), lines[0]
    groups = lines[0].split("groups=")[1]
    assert "10" in groups and "20" in groups, groups
    assert lines[1] == "0027"
    assert lines[2] == "640"


def test_user_without_additional_gids_has_no_host_groups(sh):
    out = ok(sh("id -G", process={"user": {"uid": 65534, "gid": 65534}}))
    assert out.split() == ["65534"]


def test_cwd_and_env(sh):
    out = ok(sh("pwd; echo $FOO; echo $HOME; env | grep -c .",
                process={"cwd": "/home/tester",
                         "env": [PATH_ENV, "FOO=bar baz", "HOME=/home/tester"]}))
    lines = out.split("\n")
    assert lines[:3] == ["/home/tester", "bar baz", "/home/tester"]


def test_env_is_exactly_the_config(sh):
    out = ok(sh("env", process={"env": ["PATH=/bin", "ONLY=this"]}))
    got = sorted(ln.split("=", 1)[0] for ln in out.strip().split("\n"))
    # A shell adds PWD (and SHLVL); runtimes add HOME when it is missing.
    assert set(got) - {"PWD", "SHLVL", "HOME"} == {"PATH", "ONLY"}, got


def test_path_lookup_uses_the_config_path(run, make_bundle):
    b = make_bundle(["hello"], process={"env": ["PATH=/opt/bin:/bin"]})
    os.makedirs(os.path.join(b.rootfs, "opt", "bin"))
    hello = os.path.join(b.rootfs, "opt", "bin", "hello")
    with open(hello, "w") as f:
        f.write("#!/bin/sh\necho hello from $0\n")
    os.chmod(hello, 0o755)
    r = run("run", "--bundle", b.path, b.id)
    assert (r.rc, r.out) == (0, "hello from /opt/bin/hello\n"), r.err

    b2 = make_bundle(["hello"], process={"env": ["PATH=/bin"]})
    os.makedirs(os.path.join(b2.rootfs, "opt", "bin"))
    shutil.copy(hello, os.path.join(b2.rootfs, "opt", "bin", "hello"))
    r = run("run", "--bundle", b2.path, b2.id)
    assert r.rc != 0 and "hello" in r.err


@pytest.mark.parametrize("names", [
    ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    DOCKER_CAPS,
    "host",  # all the host has
    [],
], ids=["three", "docker", "all", "none"])
def test_capabilities(sh, names):
    if names == "host":
        names = host_caps()
    out = ok(sh("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status",
                process={"capabilities": caps(names)}))
    host_bnd = int(host_status("CapBnd"), 16)
    want = cap_mask(names) & host_bnd
    assert int(status_field(out, "CapBnd"), 16) == want
    assert int(status_field(out, "CapEff"), 16) == want
    assert int(status_field(out, "CapPrm"), 16) == want
    assert int(status_field(out, "CapAmb"), 16) == 0


def test_capabilities_bite(sh):
    r = sh("hostname other && echo hostname-changed; chown 1000 /tmp && echo chowned",
           process={"capabilities": caps(["CAP_CHOWN"])})
    assert "hostname-changed" not in r.out
    assert "chowned" in r.out


def test_ambient_capabilities_for_non_root(sh):
    c = caps(["CAP_NET_BIND_SERVICE", "CAP_KILL"])
    c["ambient"] = ["CAP_NET_BIND_SERVICE"]
    c["inheritable"] = ["CAP_NET_BIND_SERVICE"]
    out = ok(sh("grep -E '^Cap(Eff|Amb)' /proc/self/status",
                process={"user": {"uid": 1000, "gid": 1000}, "capabilities": c}))
    bit = cap_mask(["CAP_NET_BIND_SERVICE"])
    assert int(status_field(out, "CapAmb"), 16) == bit
    assert int(status_field(out, "CapEff"), 16) == bit


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(sh, nnp):
    out = ok(sh("grep NoNewPrivs /proc/self/status", process={"noNewPrivileges": nnp}))
    assert out.split() == ["NoNewPrivs:", "1" if nnp else "0"]


def test_seccomp_errno(sh):
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
        ],
    }
    r = sh("grep Seccomp: /proc/self/status; mkdir /tmp/d && echo made; "
           "rmdir /tmp && echo removed; touch /tmp/f && echo touched",
           linux={"seccomp": profile})
    assert r.out.split("\n")[0].split() == ["Seccomp:", "2"]
    assert "made" not in r.out
    assert "No message of desired type" in r.err, r.err  # errno 42, ENOMSG
    assert "removed" not in r.out
    assert "Operation not permitted" in r.err, r.err  # the default errno: EPERM
    assert "touched" in r.out


def test_seccomp_args_filter(sh):
    # chmod to 0777 is refused, any other mode is allowed.
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["chmod", "fchmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 2, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
        ],
    }
    r = sh("touch /tmp/f; chmod 700 /tmp/f && echo 700-ok; chmod 777 /tmp/f && echo 777-ok",
           linux={"seccomp": profile})
    assert "700-ok" in r.out
    assert "777-ok" not in r.out


def test_oom_score_adj(sh):
    out = ok(sh("cat /proc/self/oom_score_adj", process={"oomScoreAdj": 500}))
    assert out == "500\n"


# ---------------------------------------------------------------- cgroups


def blkio_weight_supported():
    """Block I/O weights need the BFQ (or old CFQ) scheduler; hosts with none have no weight file."""
    roots = ("/sys/fs/cgroup/blkio", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")
    names = ("blkio.weight", "blkio.bfq.weight", "io.weight", "io.bfq.weight")
    return any(os.path.exists(os.path.join(r, n)) for r in roots for n in names)


def test_cgroup_files_hold_the_limits(run, make_bundle):
    resources = {
        "memory": {"limit": 64 * 1024 * 1024, "reservation": 32 * 1024 * 1024},
        "pids": {"limit": 123},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
    }
    if blkio_weight_supported():
        resources["blockIO"] = {"weight": 300}
    b = make_bundle(SLEEP, linux={"resources": resources})
    detached(run, b)
    v1 = cgroup_is_v1()
    if not v1:
        f = b.cgroup_file
        assert read_file(f("unified", "memory.max")).strip() == str(64 << 20)
        assert read_file(f("unified", "pids.max")).strip() == "123"
        assert read_file(f("unified", "cpu.max")).split() == ["50000", "100000"]
        assert read_file(f("unified", "cpuset.cpus")).strip() == "0"
        return
    f = b.cgroup_file
    assert read_file(f("memory", "memory.limit_in_bytes")).strip() == str(64 << 20)
    assert read_file(f("memory", "memory.soft_limit_in_bytes")).strip() == str(32 << 20)
    assert read_file(f("pids", "pids.max")).strip() == "123"
    assert read_file(f("cpu", "cpu.shares")).strip() == "512"
    assert read_file(f("cpu", "cpu.cfs_quota_us")).strip() == "50000"
    assert read_file(f("cpu", "cpu.cfs_period_us")).strip() == "100000"
    assert read_file(f("cpuset", "cpuset.cpus")).strip() == "0"
    assert read_file(f("cpuset", "cpuset.mems")).strip() == "0"
    for name in ("blkio.weight", "blkio.bfq.weight"):
        path = f("blkio", name)
        if os.path.exists(path):
            assert read_file(path).split()[-1] == "300", f"{name}: {read_file(path)}"
            break
    # The container's processes are in those cgroups.
    pid = run.state(b.id)["pid"]
    assert str(pid) in read_file(f("memory", "cgroup.procs")).split()
    assert str(pid) in read_file(f("pids", "cgroup.procs")).split()
    assert str(pid) in read_file(f("cpu", "cgroup.procs")).split()
    assert str(pid) in read_file(f("freezer", "cgroup.procs")).split()
    assert str(pid) in read_file(f("devices", "cgroup.procs")).split()


def test_memory_limit_oom_kills(run, make_bundle):
    b = make_bundle(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
                    linux={"resources": {"memory": {"limit": 32 * 1024 * 1024}}})
    run.ok("create", "--bundle", b.path, b.id)
    run.ok("start", b.id)
    run.wait_status(b.id, "stopped", timeout=60)
    if cgroup_is_v1():
        assert read_file(b.cgroup_file("memory", "memory.limit_in_bytes")).strip() == \
            str(32 << 20)
        oom = dict(ln.split() for ln in
                   read_file(b.cgroup_file("memory", "memory.oom_control")).splitlines())
        assert int(oom.get("oom_kill", "1")) >= 1, oom
        assert int(read_file(b.cgroup_file("memory", "memory.failcnt"))) > 0
    else:
        ev = dict(ln.split() for ln in
                  read_file(b.cgroup_file("unified", "memory.events")).splitlines())
        assert int(ev["oom_kill"]) >= 1, ev


def test_memory_limit_exit_code(run, make_bundle):
    b = make_bundle(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
                    linux={"resources": {"memory": {"limit": 32 * 1024 * 1024}}})
    r = run("run", "--bundle", b.path, b.id, timeout=60)
    assert r.rc == 137, f"exit {r.rc}: {r.err}"
    assert "survived" not in r.out


def test_pids_limit(run, make_bundle):
    b = make_bundle(["sh", "-c", "n=0; while [ $n -lt 40 ]; do sleep 1000 & n=$((n+1)); done; "
                                 "touch /forked; wait"],
                    linux={"resources": {"pids": {"limit": 20}}})
    detached(run, b)
    wait_until(lambda: os.path.exists(b.host_path("/forked")) or run.status(b.id) != "running",
               15, what="the fork loop")
    if cgroup_is_v1() or os.path.exists(b.cgroup_file("pids", "pids.max")):
        assert read_file(b.cgroup_file("pids", "pids.max")).strip() == "20"
        assert int(read_file(b.cgroup_file("pids", "pids.current"))) <= 20
        events = read_file(b.cgroup_file("pids", "pids.events")).split()
        assert events[0] == "max" and int(events[1]) > 0, events
    if run.status(b.id) == "running":
        pids = set()
        for _ in range(3):
            pids.update(json.loads(run.ok("ps", "--format", "json", b.id).out))
        assert len(pids) <= 20, len(pids)


def test_cpu_quota_throttles(run, make_bundle):
    # busybox timeout takes whole seconds.
    b = make_bundle(["timeout", "-s", "KILL", "1", "sh", "-c", "while :; do :; done"],
                    edit=lambda c: c["linux"]["namespaces"].remove({"type": "pid"}),
                    linux={"resources": {"cpu": {"quota": 20000, "period": 100000}}})
    t0 = time.monotonic()
    run.ok("create", "--bundle", b.path, b.id)
    run.ok("start", b.id)
    run.wait_status(b.id, "stopped", timeout=20)
    wall = time.monotonic() - t0
    if cgroup_is_v1():
        assert read_file(b.cgroup_file("cpu", "cpu.cfs_quota_us")).strip() == "20000"
        usage = int(read_file(b.cgroup_file("cpuacct", "cpuacct.usage"))) / 1e9
        stat_ = dict(ln.split() for ln in read_file(b.cgroup_file("cpu", "cpu.stat")).splitlines())
    else:
        stat_ = dict(ln.split() for ln in
                     read_file(b.cgroup_file("unified", "cpu.stat")).splitlines())
        usage = int(stat_["usage_usec"]) / 1e6
    assert int(stat_["nr_throttled"]) > 0, stat_
    assert wall >= 0.9
    assert usage < 0.5 * wall, f"used {usage:.2f}s of CPU in {wall:.2f}s with a 0.2 CPU quota"


# ---------------------------------------------------------------- security regressions


@pytest.fixture
def outside_marker(workdir):
    """A file outside every rootfs whose content must never show in a container."""
    path = os.path.join(workdir, "outside-marker")
    with open(path, "w") as f:
        f.write("HOST-SECRET-%d\n" % os.getpid())
    return path


def escape_script(marker):
    ups = "../" * 12
    return (f"cat {ups}{marker.lstrip('/')} 2>/dev/null; cat .{marker} 2>/dev/null; "
            "readlink /proc/self/cwd; ls -a")


def test_cwd_through_symlink_stays_inside(run, make_bundle, outside_marker):
    b = make_bundle(["sh", "-c", escape_script(outside_marker)],
                    process={"cwd": "/evil"})
    os.symlink("../../../../../../../../../../", os.path.join(b.rootfs, "evil"))
    with open(os.path.join(b.rootfs, "inside-marker"), "w"):
        pass
    r = run("run", "--bundle", b.path, b.id)
    assert "HOST-SECRET" not in r.out
    if r.rc == 0:
        lines = r.out.split()
        assert lines[0] == "/", f"cwd is {lines[0]}"
        assert "inside-marker" in lines


@pytest.mark.parametrize("fd", range(3, 9))
def test_cwd_through_leaked_fd_is_refused(run, make_bundle, outside_marker, fd):
    """CVE-2024-21626: cwd /proc/self/fd/N reaching a descriptor the runtime leaked."""
    b = make_bundle(["sh", "-c", escape_script(outside_marker) + "; ls ../../../sys/fs/cgroup"],
                    process={"cwd": f"/proc/self/fd/{fd}"})
    r = run("run", "--bundle", b.path, b.id)
    assert "HOST-SECRET" not in r.out
    if r.rc == 0:
        cwd = r.out.split("\n")[0]
        assert not cwd.startswith("/sys/fs/cgroup") and cwd.startswith("/"), r.out


def parse_fds(ls_out):
    fds = {}
    for line in ls_out.strip().split("\n"):
        if "->" in line:
            left, target = line.split(" -> ", 1)
            fds[int(left.split()[-1])] = target
    return fds


def test_no_leaked_fds_in_container(run, make_bundle):
    b = make_bundle(["sh", "-c", "ls -l /proc/self/fd; echo ==; ls -l /proc/1/fd; "
                                 "exec sleep 1000"])
    out_path = os.path.join(b.path, "out")
    with open(out_path, "w") as out:
        run.ok("run", "--detach", "--bundle", b.path, b.id, stdout=out)
    text = wait_until(lambda: "==" in read_file(out_path) and
                      read_file(out_path).count("\n") >= 6 and read_file(out_path), 5,
                      what="ls output")
    own, init = text.split("==\n")
    fds = parse_fds(own)
    extra = {n: t for n, t in fds.items() if n > 2 and not t.endswith("/fd")}
    assert not extra, f"descriptors leaked into the container: {extra}"
    assert len([n for n in fds if n > 2]) <= 1, fds
    init_fds = parse_fds(init)
    assert set(init_fds) <= {0, 1, 2}, f"container init holds {init_fds}"

    # The same for a process started by exec.
    r = run.ok("exec", b.id, "ls", "-l", "/proc/self/fd")
    fds = parse_fds(r.out)
    extra = {n: t for n, t in fds.items() if n > 2 and not t.endswith("/fd")}
    assert not extra, f"descriptors leaked into the exec'd process: {extra}"


ATTACK = r"""
printf '#!/proc/self/exe\n' > /bin/evil
chmod +x /bin/evil
attack() {
    exec 3<"$1/exe" || exit 0
    n=0
    while [ $n -lt 300 ]; do
        if echo pwned 2>/dev/null >/proc/self/fd/3; then echo "WROTE $1 via fd"; exit 0; fi
        if echo pwned 2>/dev/null >"$1/exe"; then echo "WROTE $1"; exit 0; fi
        n=$((n+1))
    done
}
touch /ready
while [ ! -e /stop ]; do
    for p in /proc/[0-9]*; do
        case "$p" in /proc/1|/proc/$$) continue ;; esac
        [ -e "$p/.seen" ] && continue
        ( attack "$p" ) 2>/dev/null &
    done
done
wait
echo attack-done
"""


def test_runtime_binary_not_writable_from_container(runtime, runtime_root, make_bundle,
                                                    workdir, _containers):
    """CVE-2019-5736: a container must not reach the runtime binary through
    /proc/<pid>/exe while `exec` runs. Runs on a copy of the runtime."""
    copy_dir = os.path.join(workdir, "runtime-copy")
    os.mkdir(copy_dir)
    binary = os.path.join(copy_dir, os.path.basename(runtime))
    shutil.copy2(os.path.realpath(runtime), binary)
    before = hashlib.sha256(open(binary, "rb").read()).hexdigest()
    cli = RuntimeCLI(binary, runtime_root, _containers.cli.token)
    caps_all = caps(host_caps())
    b = make_bundle(["sh", "-c", ATTACK], process={"capabilities": caps_all})
    out_path = os.path.join(b.path, "out")
    try:
        with open(out_path, "w") as out:
            r = cli("run", "--detach", "--bundle", b.path, b.id, stdout=out, stderr=out)
            assert r.rc == 0, read_file(out_path)
        wait_until(lambda: os.path.exists(b.host_path("/ready")), 5, what="the attacker")
        for _ in range(10):
            # The interpreter of /bin/evil is /proc/self/exe: whatever the runtime
            # execs from. Both may fail; only the binary matters.
            cli("exec", b.id, "/bin/evil", timeout=20)
            cli("exec", b.id, "true", timeout=20)
        open(b.host_path("/stop"), "w").close()
        wait_until(lambda: "attack-done" in read_file(out_path) or
                   cli.status(b.id) != "running", 20, what="the attacker to stop")
    finally:
        cli("delete", "--force", b.id)
    after = hashlib.sha256(open(binary, "rb").read()).hexdigest()
    assert after == before, "the runtime binary was overwritten from inside the container"
    assert "WROTE" not in read_file(out_path), read_file(out_path)


# ---------------------------------------------------------------- terminal


def run_in_pty(argv, env, timeout=20, cwd=None):
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                         start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
            elif p.poll() is not None:
                break
        rc = p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    return rc, out.decode(errors="replace").replace("\r\n", "\n")


def test_terminal_and_console(run, make_bundle):
    b = make_bundle(["sh", "-c", "tty; stat -c '%F' /dev/console; test -t 0 && echo stdin-tty; "
                                 "echo $((6*7))"],
                    process={"terminal": True})
    run.track(b.id)
    rc, out = run_in_pty(run.argv("run", "--bundle", b.path, b.id), run.env)
    assert rc == 0, out
    lines = out.strip().split("\n")
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "character special file"
    assert "stdin-tty" in lines and "42" in lines
