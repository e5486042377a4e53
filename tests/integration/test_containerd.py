"""containerd's runc shim (io.containerd.runc.v2) driving berth-runtime as its
runc binary: `ctr run --runc-binary <abs runtime>`.

containerd runs from a temp dir with its own config, --root, --state and socket;
/run, /var/lib, ... are private tmpfs (conftest.private_system_dirs) for the shim
sockets (/run/containerd/s) and the shim's runtime root (/run/containerd/runc).
"""

import itertools
import os
import signal
import shutil
import socket
import subprocess
import time

import pytest

from conftest import (SCRIPTS, Result, leftover_processes, new_id, remove_cgroup, remove_tree,
                      umount_below, wait_until)

NS = "berth-test"
IMAGE = "docker.io/library/busybox:latest"
TIMEOUT = 60

pytestmark = pytest.mark.skipif(shutil.which("containerd") is None or
                                shutil.which("ctr") is None,
                                reason="containerd is not installed (Debian package containerd)")

# Plugins `ctr image import` and `ctr run` do not need. (The tasks service needs the
# v1 runtime and the cgroups monitor plugins, so they stay.)
DISABLED = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.native",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
]


def socket_answers(path):
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Ctr:
    def __init__(self, address, runtime, env, cgroup_parent):
        self.address = address
        self.runtime = runtime
        self.env = env
        self.cgroup_parent = cgroup_parent
        self.ids = itertools.count(1)

    def __call__(self, *args, input=None, timeout=TIMEOUT):
        argv = ["ctr", "--address", self.address, "--namespace", NS, *map(str, args)]
        try:
            p = subprocess.run(argv, input=input, capture_output=True, text=True,
                               env=self.env, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"{' '.join(argv)}: no exit after {timeout}s\n{e.stdout}\n{e.stderr}")
        return Result(p.returncode, p.stdout, p.stderr)

    def new_id(self):
        return f"c{os.getpid()}-{next(self.ids)}"

    def run(self, *cmd, opts=(), **kw):
        cid = self.new_id()
        return self("run", "--rm", "--runc-binary", self.runtime,
                    "--cgroup", f"{self.cgroup_parent}/{cid}", *opts, IMAGE, cid, *cmd, **kw)


@pytest.fixture(scope="module")
def containerd(runtime, session_dir, private_system_dirs, cgroup_parent):
    top = os.path.join(session_dir, "containerd")
    for sub in ("root", "state", "opt", "image"):
        os.makedirs(os.path.join(top, sub))
    address = os.path.join(top, "containerd.sock")
    config = os.path.join(top, "config.toml")
    with open(config, "w") as f:
        f.write(f"""version = 2
root = "{top}/root"
state = "{top}/state"
disabled_plugins = {DISABLED!r}

[grpc]
  address = "{address}"

[ttrpc]
  address = "{address}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{top}/opt"
""".replace("'", '"'))
    token = new_id("containerd")
    env = dict(os.environ, BERTH_TEST_TOKEN=token)
    log = open(os.path.join(top, "containerd.log"), "w")
    proc = subprocess.Popen(["containerd", "--config", config, "--root", f"{top}/root",
                             "--state", f"{top}/state", "--address", address],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    ctr = Ctr(address, runtime, env, f"{cgroup_parent}/containerd")
    try:
        deadline = time.monotonic() + 30
        while not socket_answers(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("containerd did not start:\n" +
                            open(os.path.join(top, "containerd.log")).read()[-3000:])
            time.sleep(0.02)

        archive = os.path.join(top, "image", "busybox.tar")
        subprocess.run([os.path.join(SCRIPTS, "make-busybox-image"), archive,
                        "--format", "docker", "--tag", "busybox:latest"],
                       check=True, stdout=subprocess.DEVNULL)
        r = ctr("image", "import", archive)
        assert r.rc == 0, f"ctr image import: {r.err}{r.out}"
        yield ctr
    finally:
        # Containers first (a running shim outlives containerd), then containerd by PID.
        for cid in ctr("containers", "list", "--quiet").out.split() if proc.poll() is None else []:
            ctr("task", "kill", "--signal", "KILL", cid, timeout=20)
            ctr("task", "delete", "--force", cid, timeout=20)
            ctr("containers", "delete", cid, timeout=20)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        for pid in leftover_processes(token):  # shims and whatever they left
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        remove_cgroup(ctr.cgroup_parent)
        umount_below(top)  # snapshots and task rootfs mounts
        remove_tree(top)


def test_image_imported(containerd):
    r = containerd("image", "list", "--quiet")
    assert IMAGE in r.out.split(), r.out


def test_import_oci_archive(containerd, session_dir):
    archive = os.path.join(session_dir, "containerd", "image", "busybox-oci.tar")
    subprocess.run([os.path.join(SCRIPTS, "make-busybox-image"), archive, "--format", "oci",
                    "--tag", "busybox:oci"], check=True, stdout=subprocess.DEVNULL)
    r = containerd("image", "import", archive)
    assert r.rc == 0, r.err
    image = "docker.io/library/busybox:oci"
    assert image in containerd("image", "list", "--quiet").out.split()
    cid = containerd.new_id()
    r = containerd("run", "--rm", "--runc-binary", containerd.runtime,
                   "--cgroup", f"{containerd.cgroup_parent}/{cid}", image, cid, "echo", "oci")
    assert (r.rc, r.out) == (0, "oci\n"), r.err


def test_run_echo(containerd):
    r = containerd.run("echo", "hello")
    assert (r.rc, r.out) == (0, "hello\n"), r.err


@pytest.mark.parametrize("code", [3, 42])
def test_exit_code_passes_through(containerd, code):
    r = containerd.run("sh", "-c", f"exit {code}")
    assert r.rc == code, r.err


def test_container_namespaces_and_env(containerd):
    r = containerd.run("sh", "-c", "echo $$; ip -o link | wc -l; echo $PATH",
                       opts=["--env", "FOO=bar"])
    assert r.rc == 0, r.err
    pid, nlinks, path = r.out.split()
    assert pid == "1"
    assert nlinks == "1"  # a new network namespace: lo only
    assert path.startswith("/usr/local/sbin")


def test_run_detached_then_exec_and_kill(containerd):
    cid = containerd.new_id()
    r = containerd("run", "--detach", "--runc-binary", containerd.runtime,
                   "--cgroup", f"{containerd.cgroup_parent}/{cid}", IMAGE, cid, "sleep", "1000")
    assert r.rc == 0, r.err
    try:
        tasks = containerd("task", "list").out
        assert cid in tasks and "RUNNING" in tasks, tasks
        r = containerd("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo exec-ok; exit 5")
        assert r.rc == 5 and "exec-ok" in r.out, r
        r = containerd("task", "ps", cid)
        assert r.rc == 0 and len(r.out.strip().split("\n")) >= 2, r
        assert containerd("task", "kill", "--signal", "KILL", cid).rc == 0
        wait_until(lambda: "STOPPED" in containerd("task", "list").out, 20,
                   what="the task to stop")
    finally:
        containerd("task", "delete", "--force", cid)
        containerd("containers", "delete", cid)
    assert cid not in containerd("containers", "list", "--quiet").out.split()
