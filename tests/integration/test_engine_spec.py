"""The engine's spec building end to end: a create request's Config and HostConfig (and an
image config) go through tests/tools/spectool (eng_config_merge, eng_mounts_parse,
eng_spec_build), and the config.json it writes is run by the runtime under test
($BERTH_RUNTIME), in the busybox rootfs. What Docker's defaults and options promise is
then checked from inside the container and from the host's cgroup files.

The spectool used is <repo>/$BERTH_BUILD/tests/tools/spectool (build by default).
"""

import json
import os
import secrets
import subprocess

import pytest

from conftest import (REPO, Bundle, cgroup_is_v1, new_id, read_file, wait_until)

BUILD = os.environ.get("BERTH_BUILD", "build")
SPECTOOL = os.path.join(REPO, BUILD, "tests", "tools", "spectool")

# Docker's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
DOCKER_CAP_BITS = (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31)
DOCKER_CAPS = sum(1 << b for b in DOCKER_CAP_BITS)
CAP_CHOWN, CAP_NET_ADMIN = 0, 12


def status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(f"{field} not in {text!r}")


def host_status(field):
    return status_field(read_file("/proc/self/status"), field)


def ok(r):
    assert r.rc == 0, f"exit {r.rc}\nstdout: {r.out}\nstderr: {r.err}"
    return r.out


@pytest.fixture(scope="session")
def spectool():
    if not (os.path.isfile(SPECTOOL) and os.access(SPECTOOL, os.X_OK)):
        pytest.fail(f"{SPECTOOL} not found: run `make` (BERTH_BUILD={BUILD})", pytrace=False)
    return SPECTOOL


@pytest.fixture
def engine_bundle(spectool, _containers, workdir, rootfs_template, cgroup_parent):
    """engine_bundle(config, host_config=None, image=None) -> Bundle whose config.json
    spectool built; engine_bundle.fails(config, host_config, image) -> spectool's stderr."""

    def call(config, host_config, image):
        cid = new_id("es")
        path = os.path.join(workdir, "bundle-" + cid)
        os.mkdir(path)
        rootfs = os.path.join(path, "rootfs")
        subprocess.run(["cp", "-a", rootfs_template, rootfs], check=True)
        config = dict(config)
        # The container's processes carry the test token, so leftovers can be found.
        if isinstance(config.get("Env"), list) or config.get("Env") is None:
            config["Env"] = list(config.get("Env") or []) + ["BERTH_TEST_TOKEN=" + _containers.cli.token]
        request = {"Config": config, "HostConfig": host_config, "Image": image,
                   "Id": secrets.token_hex(32), "CgroupParent": cgroup_parent}
        r = subprocess.run([spectool, path, rootfs], input=json.dumps(request),
                           capture_output=True, text=True, timeout=30)
        return cid, path, r

    def make(config, host_config=None, image=None):
        cid, path, r = call(config, host_config, image)
        assert r.returncode == 0, f"spectool: {r.stderr}"
        with open(os.path.join(path, "config.json")) as f:
            spec = json.load(f)
        b = Bundle(path, cid, spec["linux"]["cgroupsPath"], spec)
        _containers.bundles.append(b)
        return b

    def fails(config, host_config=None, image=None):
        _cid, _path, r = call(config, host_config, image)
        assert r.returncode != 0, "spectool accepted the request"
        return r.stderr

    make.fails = fails
    return make


@pytest.fixture
def sh(engine_bundle, run):
    """sh(script, host_config=None, image=None, **config) -> Result of running `sh -c script`."""

    def go(script, host_config=None, image=None, **config):
        config.setdefault("Cmd", ["sh", "-c", script])
        b = engine_bundle(config, host_config, image)
        return run("run", "--bundle", b.path, b.id)

    return go


def mountinfo(text):
    """{mount point: (mount options, super options)} of /proc/self/mountinfo text."""
    found = {}
    for line in text.splitlines():
        left, right = line.split(" - ", 1)
        fields = left.split()
        found[fields[4]] = (fields[5], right.split()[2] if len(right.split()) > 2 else "")
    return found


# ------------------------------------------------------------------ Docker's defaults


def test_default_capabilities_seccomp_and_hostname(sh, engine_bundle):
    r = sh("grep Cap /proc/self/status; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; "
           "hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start")
    out = ok(r)
    for field in ("CapBnd", "CapEff", "CapPrm"):
        assert int(status_field(out, field), 16) == DOCKER_CAPS, f"{field}: {out}"
    assert int(status_field(out, "CapInh"), 16) == 0
    assert int(status_field(out, "CapAmb"), 16) == 0
    assert status_field(out, "Seccomp") == "2"
    assert status_field(out, "NoNewPrivs") == "0"
    lines = out.splitlines()
    # The hostname is the first 12 hex digits of the ID; ports below 1024 are free.
    assert len(lines[-2]) == 12 and all(c in "0123456789abcdef" for c in lines[-2]), lines
    assert lines[-1] == "0"


def test_seccomp_blocks_what_docker_blocks(sh):
    # unshare(2) needs CAP_SYS_ADMIN in Docker's profile: refused with EPERM by the filter.
    r = sh("unshare -U true && echo unshared; mkdir /tmp/ok && echo mkdir-ok")
    assert "unshared" not in r.out
    assert "Operation not permitted" in r.err, r.err
    assert "mkdir-ok" in r.out
    # The same call without the filter goes through: it was the filter that refused it.
    r = sh("unshare -U true && echo unshared", {"SecurityOpt": ["seccomp=unconfined"]})
    if r.rc == 0:
        assert "unshared" in r.out
        assert "Seccomp:\t0" in ok(sh("grep Seccomp: /proc/self/status",
                                      {"SecurityOpt": ["seccomp=unconfined"]}))


def test_masked_and_readonly_paths(sh):
    out = ok(sh("cat /proc/self/mountinfo; echo ---; cat /proc/keys 2>/dev/null | wc -c; "
                "echo 1 > /proc/sysrq-trigger || echo sysrq-refused"))
    info_text, rest = out.split("---\n", 1)
    info = mountinfo(info_text)
    for p in ("/proc/keys", "/proc/timer_list", "/proc/acpi"):
        if os.path.exists(p):
            assert p in info, f"{p} not masked: {sorted(info)}"
    for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"):
        if os.path.exists(p):
            assert "ro" in info[p][0].split(","), f"{p}: {info.get(p)}"
    assert rest.splitlines()[0].strip() == "0"  # /proc/keys reads empty
    assert "sysrq-refused" in rest
    # /sys and the cgroup tree are read-only.
    assert "ro" in info["/sys"][0].split(",")


def test_default_namespaces_and_mounts(sh):
    out = ok(sh("ls -l /proc/self/ns | sed 's/.*-> //'; echo ---; cat /proc/self/mountinfo; echo ---; "
                "ls /dev"))
    ns_text, info_text, dev = out.split("---\n")
    own = {os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "net", "mnt", "uts", "ipc")}
    inside = set(ns_text.split())
    assert not own & inside, f"shares namespaces with the host: {own & inside}"
    info = mountinfo(info_text)
    for m in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hostname",
              "/etc/hosts", "/etc/resolv.conf"):
        assert m in info, f"{m} not mounted: {sorted(info)}"
    assert "size=65536k" in info["/dev/shm"][1]
    for d in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm"):
        assert d in dev.split(), dev


# ------------------------------------------------------------------ Config


def test_hostname_env_cwd_user(sh):
    out = ok(sh("hostname; env; pwd; id; grep CapEff /proc/self/status",
                {"GroupAdd": ["nogroup"]},
                Hostname="web", Env=["FOO=bar", "PATH=/bin:/usr/bin"], WorkingDir="/home/tester/work",
                User="tester"))
    lines = out.splitlines()
    assert lines[0] == "web"
    env = set(lines[1:-3])
    assert {"FOO=bar", "PATH=/bin:/usr/bin", "HOSTNAME=web", "HOME=/home/tester"} <= env, env
    assert lines[-3] == "/home/tester/work"
    assert lines[-2] == "uid=1000(tester) gid=1000(tester) groups=1000(tester),65534(nogroup)"
    # A non-root user keeps no effective capabilities.
    assert int(status_field(lines[-1], "CapEff"), 16) == 0


def test_user_with_group_and_numeric_ids(sh):
    assert ok(sh("id", User="nobody:tester")).strip() == \
        "uid=65534(nobody) gid=1000(tester) groups=1000(tester)"
    assert ok(sh("id -u; id -g", User="4242")).split() == ["4242", "0"]


def test_image_config_is_merged(sh):
    image = {"config": {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo from-image $IMG"],
                        "Env": ["PATH=/bin", "IMG=image", "OVER=image"], "WorkingDir": "/tmp",
                        "User": "nobody"}}
    assert ok(sh(None, image=image, Cmd=None)).strip() == "from-image image"
    out = ok(sh(None, image=image, Cmd=["echo $IMG $OVER $(id -u) $(pwd)"], Env=["OVER=mine"]))
    assert out.strip() == "image mine 65534 /tmp"
    # An Entrypoint of [""] resets the image's; the request's Cmd runs alone.
    out = ok(sh(None, image=image, Entrypoint=[""], Cmd=["echo", "plain"]))
    assert out.strip() == "plain"


# ------------------------------------------------------------------ HostConfig


def test_memory_cpu_and_pids_limits(engine_bundle, run):
    b = engine_bundle({"Cmd": ["sleep", "1000"]},
                      {"Memory": 64 << 20, "PidsLimit": 50, "NanoCpus": 500000000, "CpuShares": 512,
                       "MemoryReservation": 32 << 20})
    run.ok("run", "--detach", "--bundle", b.path, b.id)
    f = b.cgroup_file
    if cgroup_is_v1():
        assert read_file(f("memory", "memory.limit_in_bytes")).strip() == str(64 << 20)
        memsw = f("memory", "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            assert read_file(memsw).strip() == str(128 << 20)  # Docker's default: twice the memory
        assert read_file(f("memory", "memory.soft_limit_in_bytes")).strip() == str(32 << 20)
        assert read_file(f("pids", "pids.max")).strip() == "50"
        assert read_file(f("cpu", "cpu.cfs_quota_us")).strip() == "50000"
        assert read_file(f("cpu", "cpu.cfs_period_us")).strip() == "100000"
        assert read_file(f("cpu", "cpu.shares")).strip() == "512"
    else:
        assert read_file(f("unified", "memory.max")).strip() == str(64 << 20)
        assert read_file(f("unified", "pids.max")).strip() == "50"
        assert read_file(f("unified", "cpu.max")).split() == ["50000", "100000"]
    # The container sees its own limit through its cgroup mount.
    inside = run.ok("exec", b.id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes") \
        if cgroup_is_v1() else run.ok("exec", b.id, "cat", "/sys/fs/cgroup/memory.max")
    assert inside.out.strip() == str(64 << 20)
    run.ok("kill", b.id, "KILL")
    run.wait_status(b.id, "stopped")


def test_readonly_rootfs(sh):
    r = sh("touch /newfile && echo wrote-root; touch /dev/shm/x && echo wrote-shm; "
           "echo x >> /etc/hosts && echo wrote-hosts", {"ReadonlyRootfs": True})
    assert "wrote-root" not in r.out
    assert "Read-only file system" in r.err
    assert "wrote-shm" in r.out
    assert "wrote-hosts" not in r.out


def test_tmpfs_binds_and_volumes(sh, workdir):
    rw = os.path.join(workdir, "rw")
    ro = os.path.join(workdir, "ro")
    os.mkdir(rw)
    os.mkdir(ro)
    with open(os.path.join(ro, "given"), "w") as f:
        f.write("from the host\n")
    missing = os.path.join(workdir, "made", "by", "docker")
    script = ("cat /proc/self/mountinfo; echo ---; echo hi > /data/out && echo wrote-data; "
              "cat /ro/given; touch /ro/x && echo wrote-ro; "
              "cp /bin/busybox /run/bb && /run/bb true && echo exec-run; "
              "cp /bin/busybox /t/bb && /t/bb true && echo exec-t; "
              "echo v > /vol/file && echo wrote-vol; ls -d /made && echo made-visible")
    r = sh(script,
           {"Binds": [f"{rw}:/data", f"{ro}:/ro:ro", f"{missing}:/made"],
            "Tmpfs": {"/run": "size=1m"},
            "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 2 << 20}}]},
           Volumes={"/vol": {}})
    info_text, out = r.out.split("---\n", 1)
    info = mountinfo(info_text)
    assert "size=1024k" in info["/run"][1], info["/run"]
    assert "size=2048k" in info["/t"][1], info["/t"]
    assert "noexec" in info["/run"][0].split(",")
    assert "ro" in info["/ro"][0].split(",")
    assert "wrote-data" in out
    assert read_file(os.path.join(rw, "out")) == "hi\n"
    assert "from the host" in out
    assert "wrote-ro" not in out
    assert "exec-run" not in out and "exec-t" not in out  # Docker's tmpfs is noexec
    assert "wrote-vol" in out
    assert "made-visible" in out and os.path.isdir(missing)


def test_cap_add_and_drop(sh):
    r = sh("grep CapEff /proc/self/status; touch /tmp/f; chown nobody /tmp/f && echo chowned",
           {"CapAdd": ["NET_ADMIN"], "CapDrop": ["chown"]})
    eff = int(status_field(r.out, "CapEff"), 16)
    assert eff == (DOCKER_CAPS | 1 << CAP_NET_ADMIN) & ~(1 << CAP_CHOWN), hex(eff)
    assert "chowned" not in r.out
    assert "Operation not permitted" in r.err


def test_no_new_privileges(sh):
    out = ok(sh("grep NoNewPrivs: /proc/self/status", {"SecurityOpt": ["no-new-privileges"]}))
    assert status_field(out, "NoNewPrivs") == "1"


def test_privileged(sh):
    out = ok(sh("grep -E '^(CapBnd|CapEff|Seccomp):' /proc/self/status; echo ---; cat /proc/self/mountinfo; "
                "echo ---; mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo mounted; ls /dev",
                {"Privileged": True}))
    status, info_text, rest = out.split("---\n")
    host_bnd = int(host_status("CapBnd"), 16)
    # Every capability this process holds: on this host that is without CAP_SYS_RESOURCE.
    assert int(status_field(status, "CapBnd"), 16) == host_bnd
    assert int(status_field(status, "CapEff"), 16) == host_bnd
    assert status_field(status, "Seccomp") == "0"
    info = mountinfo(info_text)
    assert "/proc/keys" not in info
    assert "rw" in info["/sys"][0].split(",")
    assert "mounted" in rest
    # The host's devices are there.
    for d in ("kmsg", "loop-control", "mem"):
        if os.path.exists(f"/dev/{d}"):
            assert d in rest.split(), f"/dev/{d} missing"


# ------------------------------------------------------------------ Docker's refusals


def test_refusals_carry_dockers_words(engine_bundle):
    fails = engine_bundle.fails
    assert "Minimum memory limit allowed is 6MB" in fails({"Cmd": ["true"]}, {"Memory": 1 << 20})
    assert "unable to find user xyz: no matching entries in passwd file" in \
        fails({"Cmd": ["true"], "User": "xyz"})
    assert "invalid volume specification: '/a:b'" in fails({"Cmd": ["true"]}, {"Binds": ["/a:b"]})
    assert "Duplicate mount point: /data" in \
        fails({"Cmd": ["true"]}, {"Binds": ["/tmp:/data", "/srv:/data"]})
    assert "unknown capability: \"CAP_NOPE\"" in fails({"Cmd": ["true"]}, {"CapAdd": ["nope"]})
    assert "Config.Env: expected an array, got a string" in fails({"Cmd": ["true"], "Env": "A=1"})
