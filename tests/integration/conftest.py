"""Fixtures for the berth-runtime integration tests.

The runtime under test is $BERTH_RUNTIME (an absolute path), by default
<repo>/build/berth-runtime. Every test must also pass with BERTH_RUNTIME=/usr/bin/runc.

The whole pytest process moves into its own mount and network namespace at start
(pytest_configure), so mounts and network devices the tests make never reach the
host, whether or not the caller already ran us under `unshare --net --mount`.

Fixtures:
  runtime          absolute path of the runtime binary (fails clearly when missing)
  runtime_root     a fresh --root directory for the test
  rootfs_template  (session) a busybox rootfs made once by scripts/make-busybox-rootfs
  cgroup_parent    (session) "/berth-test-<pid>": every container's cgroupsPath is below it
  make_bundle      factory: make_bundle(args=[...], **changes) -> Bundle (alias: bundle)
  run              run("create", "--bundle", b.path, b.id) -> Result(rc, out, err);
                   also run.ok(...), run.state(id), run.status(id), run.wait_status(id, s)
  workdir          a temp dir for the test, removed (mounts included) afterwards
  private_system_dirs  (session) tmpfs over /run, /var/lib, /var/cache, /var/tmp

After each test every container `run` created is deleted with `delete --force`, its
cgroups are removed from every hierarchy (killing leftovers by PID), and any process
the runtime forked for the test that is still alive (found by BERTH_TEST_TOKEN in its
environment) is killed and reported as an error of that test.

Temp dirs go under $BERTH_TEST_TMPDIR (default /tmp); $BERTH_TEST_TIMEOUT caps each
runtime command (default 15 s).
"""

import collections
import ctypes
import ctypes.util
import errno
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(REPO, "scripts")
DEFAULT_RUNTIME = os.path.join(REPO, "build", "berth-runtime")
# Seconds a runtime command may take (runc needs well under 2): a hung runtime
# fails its test quickly instead of stalling the suite.
CALL_TIMEOUT = float(os.environ.get("BERTH_TEST_TIMEOUT", "15"))
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
MNT_DETACH = 2


def sys_mount(source, target, fstype=None, flags=0, data=None):
    """mount(2) itself: mount(8) would also write its lock and utab files into the
    host's /run, which a private mount namespace does not keep private."""
    enc = (lambda v: v.encode() if v is not None else None)
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {source} on {target}: {os.strerror(e)}")


# --------------------------------------------------------------------------
# private namespaces for the whole run


def _enter_private_namespaces():
    if os.geteuid() != 0:
        raise pytest.UsageError("the berth-runtime integration tests need root")
    if _libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise pytest.UsageError(f"unshare(CLONE_NEWNS|CLONE_NEWNET): {os.strerror(e)}")
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        e = ctypes.get_errno()
        raise pytest.UsageError(f"making / rprivate: {os.strerror(e)}")


def pytest_configure(config):
    # Only once per process, also when several conftests or reruns call us.
    if not getattr(pytest_configure, "done", False):
        _enter_private_namespaces()
        pytest_configure.done = True


@pytest.fixture(scope="session", autouse=True)
def loopback_up():
    """The fresh network namespace starts with lo down."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


# --------------------------------------------------------------------------
# small helpers the test files import


def wait_until(pred, timeout=10.0, interval=0.02, what="condition"):
    """Poll pred() until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cgroup_mounts():
    """{controller or name: mountpoint} of every cgroup v1 hierarchy, plus
    "unified" for the cgroup2 mount (hybrid hosts) or for a pure v2 host."""
    found = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mnt = left.split()[4]
            fstype, _source, opts = right.split()[:3]
            if fstype == "cgroup2":
                found.setdefault("unified", mnt)
            elif fstype == "cgroup":
                for o in opts.split(","):
                    if o in ("rw", "ro") or o.startswith("relatime") or o in (
                            "nosuid", "nodev", "noexec", "clone_children", "noprefix",
                            "xattr", "cpuset_v2_mode", "favordynmods"):
                        continue
                    if o.startswith("release_agent="):
                        continue
                    found.setdefault(o, mnt)
    return found


def cgroup_is_v1():
    return "memory" in cgroup_mounts()


def cgroup_file(cgroups_path, controller, name):
    """Host path of a cgroup file for a container's cgroupsPath (absolute)."""
    mounts = cgroup_mounts()
    if controller in mounts:
        return os.path.join(mounts[controller], cgroups_path.lstrip("/"), name)
    return os.path.join(mounts["unified"], cgroups_path.lstrip("/"), name)


def is_runc(runtime):
    """The reference runtime; a few checks make room for its known gaps."""
    return os.path.basename(os.path.realpath(runtime)) == "runc"


def read_file(path):
    with open(path) as f:
        return f.read()


def _kill_cgroup_tree(path):
    """Kill (by PID) whatever is left in a cgroup dir and below, then rmdir it all."""
    if not os.path.isdir(path):
        return
    for dirpath, dirnames, _files in os.walk(path, topdown=False):
        freezer = os.path.join(dirpath, "freezer.state")
        if os.path.exists(freezer):
            try:
                with open(freezer, "w") as f:
                    f.write("THAWED")
            except OSError:
                pass
        procs = os.path.join(dirpath, "cgroup.procs")

        def pids():
            try:
                with open(procs) as f:
                    return [int(p) for p in f.read().split()]
            except OSError:
                return []

        deadline = time.monotonic() + 10
        while True:
            left = pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in left:
                # A killed child of ours stays a zombie in the cgroup until reaped.
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def remove_cgroup(cgroups_path):
    """Remove a cgroupsPath (and anything below it) from every hierarchy."""
    errors = []
    for mnt in set(cgroup_mounts().values()):
        try:
            _kill_cgroup_tree(os.path.join(mnt, cgroups_path.lstrip("/")))
        except OSError as e:
            errors.append(f"{mnt}: {e}")
    return errors


def cgroup_leftovers(cgroups_path):
    """Hierarchies in which cgroupsPath still exists."""
    return sorted(m for m in set(cgroup_mounts().values())
                  if os.path.isdir(os.path.join(m, cgroups_path.lstrip("/"))))


def umount_below(path):
    """Detach every mount at or below path (deepest first)."""
    path = os.path.realpath(path)
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].encode().decode("unicode_escape")
            if mnt == path or mnt.startswith(path + "/"):
                mounts.append(mnt)
    for mnt in sorted(set(mounts), key=len, reverse=True):
        _libc.umount2(mnt.encode(), MNT_DETACH)


def remove_tree(path):
    umount_below(path)
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        # Immutable or busy leftovers: try once more after a moment.
        time.sleep(0.1)
        umount_below(path)
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------
# the runtime


@pytest.fixture(scope="session")
def runtime():
    path = os.path.abspath(os.environ.get("BERTH_RUNTIME", DEFAULT_RUNTIME))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"runtime {path} not found or not executable: run `make` "
                    f"or set BERTH_RUNTIME to an OCI runtime (e.g. /usr/bin/runc)",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="berth-it-", dir=os.environ.get("BERTH_TEST_TMPDIR"))
    os.chmod(d, 0o755)
    yield d
    remove_tree(d)


@pytest.fixture
def workdir(session_dir, request):
    d = tempfile.mkdtemp(prefix=request.node.name[:40].replace("/", "_") + "-", dir=session_dir)
    os.chmod(d, 0o755)
    yield d
    remove_tree(d)


@pytest.fixture
def runtime_root(workdir):
    d = os.path.join(workdir, "state")
    os.mkdir(d, 0o700)
    return d


@pytest.fixture(scope="session")
def private_system_dirs():
    """Fresh tmpfs over /run, /var/lib, /var/cache and /var/tmp in our private mount
    namespace, for engines (podman, containerd) that write state, caches, locks and
    network namespaces there whatever their --root says; the host's stay untouched."""
    dirs = ["/run", "/var/lib", "/var/cache", "/var/tmp"]
    for d in dirs:
        sys_mount("berth-test", d, "tmpfs", 0, "mode=0755")
    os.chmod("/var/tmp", 0o1777)
    os.makedirs("/run/lock", exist_ok=True)
    yield dirs
    for d in reversed(dirs):
        umount_below(d)


def cgroup_of_pid(pid, controller, name):
    """Host path of a cgroup file of a process, from /proc/<pid>/cgroup."""
    mounts = cgroup_mounts()
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if (controller in ctrls.split(",") and controller in mounts) or \
                    (ctrls == "" and controller not in mounts):
                mnt = mounts[controller] if controller in mounts else mounts["unified"]
                return os.path.join(mnt, path.lstrip("/"), name)
    raise KeyError(f"pid {pid} has no {controller} cgroup")


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    d = os.path.join(session_dir, "rootfs-template")
    subprocess.run([os.path.join(SCRIPTS, "make-busybox-rootfs"), d], check=True)
    return d


@pytest.fixture(scope="session")
def cgroup_parent():
    parent = f"/berth-test-{os.getpid()}"
    yield parent
    errors = remove_cgroup(parent)
    assert not errors, f"cleaning up cgroup {parent}: {errors}"


_ids = itertools.count(1)


def new_id(prefix="t"):
    return f"{prefix}{os.getpid()}-{next(_ids)}"


def default_config(args, cgroups_path, hostname="berth"):
    """The shape `runc spec` writes (spec 1.0.2), written out here so that a bug in
    the runtime's own `spec` cannot hide others; not a terminal, root writable."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [PATH_ENV, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(caps) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
            ],
        },
    }


def deep_merge(base, changes):
    """Merge changes into base: dicts recurse, None deletes, anything else replaces."""
    for k, v in changes.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = v
    return base


class Bundle:
    """An OCI bundle in a temp dir: config (a dict, write() to save) and rootfs."""

    def __init__(self, path, cid, cgroups_path, config):
        self.path = path
        self.id = cid
        self.cgroups_path = cgroups_path
        self.config = config

    @property
    def rootfs(self):
        return os.path.join(self.path, self.config.get("root", {}).get("path", "rootfs"))

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def write(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1)

    def host_path(self, path_in_container):
        """Where a file the container writes in its rootfs shows up on the host."""
        return os.path.join(self.path, "rootfs", path_in_container.lstrip("/"))

    def cgroup_file(self, controller, name):
        return cgroup_file(self.cgroups_path, controller, name)


class _TestContainers:
    """What one test made: the runtime CLI (which knows the containers it created)
    and the bundles (which know their cgroups). Cleaned up in that order."""

    def __init__(self, cli):
        self.cli = cli
        self.bundles = []

    def cleanup(self):
        problems = self.cli.cleanup()
        for b in self.bundles:
            problems += remove_cgroup(b.cgroups_path)
        # Whatever the runtime forked for this test and left running: kill by PID.
        left = leftover_processes(self.cli.token)
        for pid in left:
            try:
                problems.append(f"left running: pid {pid} "
                                f"{read_file(f'/proc/{pid}/cmdline').replace(chr(0), ' ')}")
                os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        return problems


@pytest.fixture
def _containers(runtime, runtime_root):
    reg = _TestContainers(RuntimeCLI(runtime, runtime_root, new_id("tok")))
    yield reg
    problems = reg.cleanup()
    assert not problems, problems


@pytest.fixture
def make_bundle(_containers, workdir, rootfs_template, cgroup_parent):
    """make_bundle(args=[...], **changes): a bundle with a copy of the busybox rootfs
    and config.json of default_config() deep-merged with changes (None deletes a
    key); edit=callable(config) for anything else. A fresh id and cgroupsPath each."""

    def make(args=("sh",), edit=None, **changes):
        cid = new_id()
        path = os.path.join(workdir, "bundle-" + cid)
        os.mkdir(path)
        subprocess.run(["cp", "-a", rootfs_template, os.path.join(path, "rootfs")], check=True)
        cgroups_path = f"{cgroup_parent}/{cid}"
        config = default_config(args, cgroups_path)
        # The container's processes carry the token too (see leftover_processes).
        config["process"]["env"].append("BERTH_TEST_TOKEN=" + _containers.cli.token)
        config = deep_merge(config, changes)
        if edit is not None:
            edit(config)
        b = Bundle(path, cid, cgroups_path, config)
        b.write()
        _containers.bundles.append(b)
        return b

    return make


@pytest.fixture
def bundle(make_bundle):
    """The same factory as make_bundle, by the other name."""
    return make_bundle


Result = collections.namedtuple("Result", "rc out err")


class RuntimeCLI:
    """Calls the runtime with --root; output goes through temp files, not pipes,
    so a detached container holding the descriptors cannot make us wait."""

    def __init__(self, binary, root, token):
        self.binary = binary
        self.root = root
        self.token = token
        self.containers = []
        # Every process the runtime forks inherits this, so leftovers can be found.
        self.env = dict(os.environ, BERTH_TEST_TOKEN=token)

    def argv(self, *args, global_args=()):
        return [self.binary, "--root", self.root, *global_args, *map(str, args)]

    def track(self, cid):
        if cid not in self.containers:
            self.containers.append(cid)

    def __call__(self, *args, timeout=CALL_TIMEOUT, input=None, stdin=None, stdout=None,
                 stderr=None, global_args=(), env=None, cwd=None):
        args = [str(a) for a in args]
        if args and args[0] in ("run", "create") and len(args) > 1:
            self.track(args[-1])
        argv = self.argv(*args, global_args=global_args)
        with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
            if input is not None:
                stdin_f = tempfile.TemporaryFile()
                stdin_f.write(input.encode() if isinstance(input, str) else input)
                stdin_f.seek(0)
            else:
                stdin_f = stdin if stdin is not None else subprocess.DEVNULL
            p = subprocess.Popen(argv, stdin=stdin_f,
                                 stdout=stdout if stdout is not None else out_f,
                                 stderr=stderr if stderr is not None else err_f,
                                 env=env if env is not None else self.env, cwd=cwd)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                out_f.seek(0)
                err_f.seek(0)
                pytest.fail(f"{' '.join(argv)}: no exit after {timeout}s\n"
                            f"stdout: {out_f.read().decode(errors='replace')}\n"
                            f"stderr: {err_f.read().decode(errors='replace')}")
            finally:
                if input is not None:
                    stdin_f.close()
            out_f.seek(0)
            err_f.seek(0)
            return Result(rc, out_f.read().decode(errors="replace"),
                          err_f.read().decode(errors="replace"))

    def ok(self, *args, **kw):
        """Like calling, but the command must succeed."""
        r = self(*args, **kw)
        assert r.rc == 0, f"{' '.join(map(str, args))}: exit {r.rc}\n{r.err}{r.out}"
        return r

    def state(self, cid):
        return json.loads(self.ok("state", cid).out)

    def status(self, cid):
        r = self("state", cid)
        if r.rc != 0:
            return None
        return json.loads(r.out)["status"]

    def wait_status(self, cid, status, timeout=10.0):
        wait_until(lambda: self.status(cid) == status, timeout,
                   what=f"container {cid} to be {status}")
        return self.state(cid)

    def cleanup(self):
        problems = []
        for cid in self.containers:
            try:
                r = self("delete", "--force", cid)
                if r.rc != 0 and self("state", cid).rc == 0:
                    problems.append(f"delete --force {cid}: {r.err.strip()}")
            except pytest.fail.Exception as e:  # a hung runtime must not stop the cleanup
                problems.append(f"delete --force {cid}: {e}")
        return problems


@pytest.fixture
def run(_containers):
    """run(*argv) -> Result(rc, out, err) of `runtime --root <tmp> argv...`;
    containers it creates are deleted with `delete --force` afterwards."""
    return _containers.cli


def state_dir_entries(root):
    """What a runtime left in its --root (container state dirs)."""
    try:
        return sorted(e for e in os.listdir(root) if not e.startswith("."))
    except FileNotFoundError:
        return []


def leftover_processes(token):
    """PIDs of live processes (other than us) whose environment holds the token:
    anything the runtime forked for the test, or a container process."""
    needle = f"BERTH_TEST_TOKEN={token}".encode()
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            with open(f"/proc/{e}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env and pid_alive(int(e)):
            found.append(int(e))
    return found


def assert_nothing_left(cli, bundle):
    """After a failed create/run: no state, no state dir, no cgroup, no process."""
    r = cli("state", bundle.id)
    assert r.rc != 0, f"state of {bundle.id} still answers after a failed create: {r.out}"
    assert bundle.id not in state_dir_entries(cli.root), \
        f"state dir of {bundle.id} left in {cli.root}"
    # The runtime may still be tearing down for a moment after it exited.
    deadline = time.monotonic() + 5
    while True:
        left = cgroup_leftovers(bundle.cgroups_path)
        procs = leftover_processes(cli.token)
        if not left and not procs:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{bundle.id}: left behind cgroups in {left}, processes {procs}")
        time.sleep(0.02)
