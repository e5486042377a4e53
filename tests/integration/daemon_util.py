"""A berthd for tests: its own data root, exec root and socket, a cgroup parent below the
session's, started and stopped by PID, with everything it made removed afterwards."""

import os
import signal
import socket
import subprocess
import tempfile
import time

import docker

from conftest import REPO, SCRIPTS, remove_cgroup, remove_tree, umount_below, wait_until


def berthd_path():
    build = os.environ.get("BERTH_BUILD", "build")
    path = os.path.abspath(os.environ.get("BERTHD", os.path.join(REPO, build, "berthd")))
    assert os.access(path, os.X_OK), f"{path} not found: run `make`"
    return path


class Daemon:
    def __init__(self, base_dir, cgroup_parent, name="d", berthd=None):
        self.berthd = berthd  # None: the build's
        self.dir = tempfile.mkdtemp(prefix=f"berthd-{name}-", dir=base_dir)
        os.chmod(self.dir, 0o755)
        self.data_root = os.path.join(self.dir, "root")
        # Sockets need short paths (sun_path is 108 bytes): the exec root lives in /tmp.
        self.exec_root = tempfile.mkdtemp(prefix="bd-", dir="/tmp")
        self.sock = os.path.join(self.exec_root, "berth.sock")
        self.host = "unix://" + self.sock
        self.cgroup_parent = f"{cgroup_parent}/{name}-{os.getpid()}"
        self.log_path = os.path.join(self.dir, "berthd.log")
        self.proc = None
        with open(os.path.join(self.dir, "daemon.json"), "w") as f:
            f.write("{}\n")

    def start(self, *extra):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.berthd or berthd_path(), "--data-root", self.data_root, "--exec-root", self.exec_root, "-H", self.host,
             "--config-file", os.path.join(self.dir, "daemon.json"), "--cgroup-parent", self.cgroup_parent,
             *extra],
            stdout=self.log, stderr=self.log)
        wait_until(self._answers, timeout=15, what="berthd to listen")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"berthd exited with {self.proc.returncode}: {self.read_log()}")
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def read_log(self):
        if not os.path.exists(self.log_path):
            return getattr(self, "last_log", "")
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def client(self, **kw):
        return docker.DockerClient(base_url=self.host, version="1.41", timeout=60, **kw)

    def api(self):
        return docker.APIClient(base_url=self.host, version="1.41", timeout=60)

    def cli(self, *args, input=None, timeout=60, check=False):
        env = dict(os.environ, DOCKER_HOST=self.host, DOCKER_CONFIG=os.path.join(self.dir, "docker-config"))
        r = subprocess.run(["docker", *args], input=input, capture_output=True, timeout=timeout, env=env)
        if check:
            assert r.returncode == 0, f"docker {args}: {r.returncode}: {r.stderr.decode()}"
        return r

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        rc = self.proc.returncode if self.proc else 0
        if self.proc:
            self.log.close()
        self.proc = None
        return rc

    def cleanup(self):
        """Remove every container (through a daemon), stop it, unmount and delete its roots."""
        if self.proc is None:
            self.start()
        api = self.api()
        for c in api.containers(all=True):
            try:
                api.remove_container(c["Id"], force=True)
            except docker.errors.APIError:
                pass
        api.close()
        rc = self.stop()
        self.last_log = self.read_log()
        umount_below(self.dir)
        remove_cgroup(self.cgroup_parent)
        remove_tree(self.dir)
        remove_tree(self.exec_root)
        return rc


def busybox_archive(session_dir):
    path = os.path.join(session_dir, "busybox-docker.tar")
    if not os.path.exists(path):
        subprocess.run([os.path.join(SCRIPTS, "make-busybox-image"), path, "--format", "docker"],
                       check=True, capture_output=True)
    return path


def load_busybox(daemon, session_dir):
    with open(busybox_archive(session_dir), "rb") as f:
        out = list(daemon.api().load_image(f.read()))
    assert {"stream": "Loaded image: busybox:latest\n"} in out, out


def busybox_daemon(session_dir, cgroup_parent, name):
    """A test module's berthd: started, busybox loaded, and after the module cleaned up and
    checked to have exited cleanly. Use as `yield from busybox_daemon(...)` in a fixture."""
    d = Daemon(session_dir, cgroup_parent, name).start()
    load_busybox(d, session_dir)
    yield d
    rc = d.cleanup()
    assert rc == 0, f"berthd exited with {rc}: {d.read_log()}"
