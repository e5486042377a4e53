"""podman driving berth-runtime (`podman --runtime <abs path>`), as a user of podman
would: run, exit codes, a terminal, env/workdir/user, read-only root, capabilities,
memory/pids/cpu limits that podman sets through the runtime, networks, exec, stop,
kill, pause, rm.

Everything podman keeps lives under a temp dir (its own --root, --runroot, --tmpdir,
network config, containers.conf and storage.conf); /run, /var/lib, /var/cache and
/var/tmp are private tmpfs (conftest.private_system_dirs), so the machine's podman
storage is never touched. No --runtime-flag: the runtime keeps its state in its
default --root under /run, which is that private tmpfs (podman's exit command, which
cleans up after a container, would not pass a --runtime-flag on anyway).
"""

import itertools
import json
import os
import pty
import select
import shutil
import subprocess
import time

import pytest

from conftest import (SCRIPTS, Result, cgroup_is_v1, cgroup_of_pid, leftover_processes,
                      new_id, pid_alive, read_file, remove_cgroup, remove_tree, umount_below,
                      wait_until)

IMAGE = "busybox"
TIMEOUT = 60

pytestmark = pytest.mark.skipif(shutil.which("podman") is None,
                                reason="podman is not installed (Debian package podman)")


class Podman:
    def __init__(self, base, env, cgroup_parent, token, cwd):
        self.base = base
        self.cwd = cwd  # conmon leaves files (an "oom" marker) in its working directory
        self.env = env
        self.cgroup_parent = cgroup_parent
        self.token = token
        self.names = itertools.count(1)

    def argv(self, *args):
        return self.base + [str(a) for a in args]

    def __call__(self, *args, input=None, timeout=TIMEOUT):
        try:
            p = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                               env=self.env, timeout=timeout, cwd=self.cwd)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"podman {' '.join(map(str, args))}: no exit after {timeout}s\n"
                        f"{e.stdout}\n{e.stderr}")
        return Result(p.returncode, p.stdout, p.stderr)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, f"podman {' '.join(map(str, args))}: exit {r.rc}\n{r.err}{r.out}"
        return r

    def name(self):
        return f"p{os.getpid()}-{next(self.names)}"

    def run(self, *args, **kw):
        """podman run --rm with our cgroup parent; args are options then image and cmd."""
        return self("run", "--rm", "--cgroup-parent", self.cgroup_parent, *args, **kw)

    def detached(self, *args):
        """podman run -d --name N ... ; returns (name, host pid of the container)."""
        name = self.name()
        self.ok("run", "-d", "--name", name, "--cgroup-parent", self.cgroup_parent, *args)
        return name, self.pid(name)

    def pid(self, name):
        return int(self.ok("inspect", "--format", "{{.State.Pid}}", name).out.strip())

    def status(self, name):
        return self.ok("inspect", "--format", "{{.State.Status}}", name).out.strip()


@pytest.fixture(scope="module")
def podman(runtime, session_dir, private_system_dirs, cgroup_parent):
    top = os.path.join(session_dir, "podman")
    os.mkdir(top)
    d = {k: os.path.join(top, k) for k in
         ("root", "runroot", "tmp", "networks", "image")}
    for p in d.values():
        os.mkdir(p)
    conf = os.path.join(top, "containers.conf")
    with open(conf, "w") as f:
        f.write(f"""[containers]
# This host's bounding set lacks CAP_SYS_RESOURCE: raising RLIMIT_NOFILE fails.
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{top}/events.log"
volume_path = "{top}/volumes"

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
    token = new_id("podman")
    env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage,
               CONTAINERS_REGISTRIES_CONF=registries, BERTH_TEST_TOKEN=token)
    base = ["podman", "--root", d["root"], "--runroot", d["runroot"], "--tmpdir", d["tmp"],
            "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "--network-config-dir", d["networks"],
            "--runtime", runtime]
    pm = Podman(base, env, f"{cgroup_parent}/podman", token, top)

    archive = os.path.join(d["image"], "busybox.tar")
    subprocess.run([os.path.join(SCRIPTS, "make-busybox-image"), archive, "--format", "docker",
                    "--tag", "busybox:latest"], check=True, stdout=subprocess.DEVNULL)
    pm.ok("load", "-q", "-i", archive)
    try:
        yield pm
    finally:
        pm("rm", "--all", "--force", "--time", "0")
        for pid in leftover_processes(token):  # conmon and anything else podman left
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        remove_cgroup(pm.cgroup_parent)
        umount_below(top)
        remove_tree(top)


def test_run_echo(podman):
    r = podman.run(IMAGE, "echo", "hi")
    assert (r.rc, r.out) == (0, "hi\n"), r.err


def test_podman_uses_the_runtime(podman, runtime):
    name, _pid = podman.detached(IMAGE, "sleep", "1000")
    oci = podman.ok("inspect", "--format", "{{.OCIRuntime}}", name).out.strip()
    assert oci in (runtime, os.path.basename(runtime)), oci
    podman.ok("rm", "-f", "-t", "0", name)


def test_image_loaded(podman):
    images = json.loads(podman.ok("images", "--format", "json").out)
    names = [n for img in images for n in (img.get("Names") or [])]
    assert "localhost/busybox:latest" in names, names


def test_load_oci_archive(podman, session_dir):
    archive = os.path.join(session_dir, "podman", "image", "busybox-oci.tar")
    subprocess.run([os.path.join(SCRIPTS, "make-busybox-image"), archive, "--format", "oci",
                    "--tag", "busybox:oci"], check=True, stdout=subprocess.DEVNULL)
    r = podman.ok("load", "-i", archive)
    assert "busybox:oci" in r.out, r.out
    r = podman.run("busybox:oci", "echo", "oci")
    assert (r.rc, r.out) == (0, "oci\n"), r.err


@pytest.mark.parametrize("code", [0, 7, 255])
def test_exit_code(podman, code):
    r = podman.run(IMAGE, "sh", "-c", f"exit {code}")
    assert r.rc == code, r.err


def test_command_not_found(podman):
    r = podman.run(IMAGE, "no-such-command")
    assert r.rc in (126, 127), r
    assert "no-such-command" in r.err


def test_stdin_and_stderr(podman):
    r = podman.run("-i", IMAGE, "sh", "-c", "cat; echo oops >&2", input="piped\n")
    assert r.rc == 0, r.err
    assert r.out == "piped\n"
    assert "oops" in r.err


def test_interactive_tty(podman):
    master, slave = pty.openpty()
    p = subprocess.Popen(podman.argv("run", "-it", "--rm", "--cgroup-parent",
                                     podman.cgroup_parent, IMAGE, "sh"),
                         stdin=slave, stdout=slave, stderr=slave, env=podman.env,
                         start_new_session=True, cwd=podman.cwd)
    os.close(slave)
    out = b""
    sent = False
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if not sent and b"# " in out:
                os.write(master, b"echo $((6*7)); tty; exit\r")
                sent = True
            if p.poll() is not None and not r:
                break
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert sent, f"no prompt: {text!r}"
    assert rc == 0, text
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    assert "42" in lines, text
    assert any(ln.startswith("/dev/pts/") for ln in lines), text


def test_env_workdir_user(podman):
    r = podman.run("-e", "FOO=bar", "-w", "/tmp", "-u", "1000", IMAGE,
                   "sh", "-c", "echo $FOO; pwd; id -u")
    assert (r.rc, r.out) == (0, "bar\n/tmp\n1000\n"), r.err


def test_read_only(podman):
    r = podman.run("--read-only", IMAGE, "touch", "/x")
    assert r.rc != 0
    assert "Read-only file system" in r.err
    assert podman.run("--read-only", IMAGE, "touch", "/tmp/x").rc == 0  # podman's tmpfs


def cap_eff(podman, *opts):
    r = podman.run(*opts, IMAGE, "grep", "CapEff", "/proc/self/status")
    assert r.rc == 0, r.err
    return int(r.out.split()[1], 16)


def test_cap_drop(podman):
    default = cap_eff(podman)
    assert default & 1 and default & (1 << 5), hex(default)  # CHOWN, KILL
    assert not default & (1 << 21), "CAP_SYS_ADMIN by default"
    assert cap_eff(podman, "--cap-drop", "ALL") == 0
    assert cap_eff(podman, "--cap-drop", "CHOWN") == default & ~1
    r = podman.run("--cap-drop", "CHOWN", IMAGE, "chown", "1000", "/tmp")
    assert r.rc != 0 and "Operation not permitted" in r.err


def test_memory_limit(podman):
    name, pid = podman.detached("--memory", "64m", IMAGE, "sleep", "1000")
    ctrl = "memory" if cgroup_is_v1() else "unified"
    fname = "memory.limit_in_bytes" if cgroup_is_v1() else "memory.max"
    path = cgroup_of_pid(pid, ctrl, fname)
    assert path.startswith("/sys/fs/cgroup/") and podman.cgroup_parent in path, path
    assert read_file(path).strip() == str(64 * 1024 * 1024)
    podman.ok("rm", "-f", "-t", "0", name)


def test_memory_hog_is_oom_killed(podman):
    r = podman.run("--memory", "32m", IMAGE, "sh", "-c",
                   "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived")
    assert r.rc == 137, f"exit {r.rc}: {r.err}"
    assert "survived" not in r.out


def test_pids_limit(podman):
    name, pid = podman.detached("--pids-limit", "30", IMAGE, "sleep", "1000")
    ctrl = "pids" if cgroup_is_v1() else "unified"
    assert read_file(cgroup_of_pid(pid, ctrl, "pids.max")).strip() == "30"
    # The shell gives up at the first refused fork; the container's init stays.
    r = podman("exec", name, "sh", "-c",
               "n=0; while [ $n -lt 60 ]; do sleep 1000 & n=$((n+1)); done; echo forked-all")
    assert "forked-all" not in r.out
    current = int(read_file(cgroup_of_pid(pid, ctrl, "pids.current")))
    assert current <= 30, current
    events = read_file(cgroup_of_pid(pid, ctrl, "pids.events")).split()
    assert int(events[1]) > 0, f"no fork was refused: {events}"
    podman.ok("rm", "-f", "-t", "0", name)


def test_cpus(podman):
    name, pid = podman.detached("--cpus", "0.5", IMAGE, "sleep", "1000")
    if cgroup_is_v1():
        assert read_file(cgroup_of_pid(pid, "cpu", "cpu.cfs_quota_us")).strip() == "50000"
        assert read_file(cgroup_of_pid(pid, "cpu", "cpu.cfs_period_us")).strip() == "100000"
    else:
        assert read_file(cgroup_of_pid(pid, "unified", "cpu.max")).split() == \
            ["50000", "100000"]
    podman.ok("rm", "-f", "-t", "0", name)


def links(out):
    return sorted(ln.split(":")[1].strip().split("@")[0]
                  for ln in out.strip().split("\n") if ln.strip())


def test_network_none(podman):
    r = podman.run("--network", "none", IMAGE, "ip", "-o", "link")
    assert r.rc == 0, r.err
    assert links(r.out) == ["lo"]


def test_default_network(podman):
    r = podman.run(IMAGE, "sh", "-c", "ip -o link; echo ==; ip -o -4 addr show eth0")
    assert r.rc == 0, r.err
    link_out, addr_out = r.out.split("==\n")
    assert links(link_out) == ["eth0", "lo"]
    assert " inet " in addr_out, addr_out
    addr = addr_out.split(" inet ")[1].split()[0]
    assert addr.startswith("10.88."), addr


def test_exec(podman):
    name, _pid = podman.detached(IMAGE, "sleep", "1000")
    r = podman("exec", name, "sh", "-c", "echo in-$(hostname); exit 3")
    assert r.rc == 3
    assert r.out.startswith("in-")
    r = podman("exec", "-u", "1000", "-w", "/tmp", "-e", "A=b", name, "sh", "-c",
               "id -u; pwd; echo $A")
    assert (r.rc, r.out) == (0, "1000\n/tmp\nb\n"), r.err
    r = podman("exec", "-i", name, "cat", input="through-exec\n")
    assert r.out == "through-exec\n"
    podman.ok("rm", "-f", "-t", "0", name)


def test_stop(podman):
    name, pid = podman.detached(IMAGE, "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait")
    t0 = time.monotonic()
    podman.ok("stop", "-t", "20", name)
    assert time.monotonic() - t0 < 15, "stop waited for the timeout: TERM was not delivered"
    assert podman.status(name) == "exited"
    assert podman.ok("inspect", "--format", "{{.State.ExitCode}}", name).out.strip() == "0"
    assert not pid_alive(pid)
    podman.ok("rm", name)


def test_stop_timeout_kills(podman):
    name, pid = podman.detached(IMAGE, "sleep", "1000")  # PID 1 ignores TERM
    podman.ok("stop", "-t", "1", name)
    assert podman.status(name) == "exited"
    assert not pid_alive(pid)
    podman.ok("rm", name)


def test_kill(podman):
    name, pid = podman.detached(IMAGE, "sleep", "1000")
    podman.ok("kill", name)
    wait_until(lambda: podman.status(name) == "exited", 20, what="the container to exit")
    assert podman.ok("inspect", "--format", "{{.State.ExitCode}}", name).out.strip() == "137"
    assert not pid_alive(pid)
    name, pid = podman.detached(IMAGE, "sh", "-c", "trap 'exit 12' USR1; sleep 1000 & wait")
    podman.ok("kill", "--signal", "USR1", name)
    wait_until(lambda: podman.status(name) == "exited", 20, what="the container to exit")
    assert podman.ok("inspect", "--format", "{{.State.ExitCode}}", name).out.strip() == "12"
    podman.ok("rm", "-a", "-f", "-t", "0")


def test_pause_unpause(podman):
    name, pid = podman.detached(IMAGE, "sleep", "1000")
    podman.ok("pause", name)
    assert podman.status(name) == "paused"
    if cgroup_is_v1():
        assert read_file(cgroup_of_pid(pid, "freezer", "freezer.state")).strip() == "FROZEN"
    podman.ok("unpause", name)
    assert podman.status(name) == "running"
    if cgroup_is_v1():
        assert read_file(cgroup_of_pid(pid, "freezer", "freezer.state")).strip() == "THAWED"
    assert podman("exec", name, "true").rc == 0
    podman.ok("rm", "-f", "-t", "0", name)


def test_rm_force(podman):
    name, pid = podman.detached(IMAGE, "sleep", "1000")
    podman.ok("rm", "-f", "-t", "0", name)
    assert name not in podman.ok("ps", "-a", "--format", "{{.Names}}").out.split()
    wait_until(lambda: not pid_alive(pid), 10, what="the container process to die")
    assert podman("inspect", name).rc != 0
