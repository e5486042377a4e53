"""berthd maps its heavy libraries only while it uses them (src/lib/lazy_lib.h): an idle daemon
has none of libarchive, libcurl, ldns, libnftables or OpenSSL's libcrypto mapped; a load maps
libarchive, and once the daemon has been quiet for a second it is unmapped again, and loaded
anew by the next use. Memory figures: docs/daemon.md, bench/engine."""

import io
import os
import subprocess
import tarfile

import pytest

from conftest import wait_until
from daemon_util import Daemon, berthd_path, load_busybox

ON_USE = ("libarchive.so", "libcurl.so", "libldns.so", "libnftables.so", "libcrypto.so")


def mapped(pid):
    """The on-use libraries that pid has mapped."""
    with open(f"/proc/{pid}/maps") as f:
        names = {os.path.basename(line.split()[-1]) for line in f if "/" in line}
    return {lib for lib in ON_USE for n in names if n.startswith(lib)}


def linked(path):
    """DT_NEEDED of a binary, from its dynamic section as the loader reads it."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return {line.split("[")[1].split("]")[0] for line in out.splitlines() if "(NEEDED)" in line}


@pytest.fixture
def daemon(session_dir, cgroup_parent):
    d = Daemon(session_dir, cgroup_parent, "mem").start()
    yield d
    rc = d.cleanup()
    assert rc == 0, f"berthd exited with {rc}: {d.read_log()}"


def test_berthd_links_none_of_them():
    needed = linked(berthd_path())
    assert not {n for n in needed for lib in ON_USE if n.startswith(lib)}, needed


def test_libraries_mapped_while_used(daemon, session_dir):
    pid = daemon.proc.pid
    # The start set up the bridge's rules with libnftables: gone once quiet.
    wait_until(lambda: not mapped(pid), timeout=10, what="an idle daemon without on-use libraries")

    load_busybox(daemon, session_dir)
    assert "libarchive.so" in mapped(pid)  # the daemon is not quiet yet: still loaded
    wait_until(lambda: "libarchive.so" not in mapped(pid), timeout=10, what="libarchive unloaded")
    assert not mapped(pid)

    # Loaded again for the next tar, which comes out whole.
    data = b"".join(daemon.api().get_image("busybox"))
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert "manifest.json" in t.getnames()
    r = daemon.cli("run", "--rm", "--network", "none", "busybox", "echo", "still here")
    assert r.stdout == b"still here\n", r.stderr
    wait_until(lambda: not mapped(pid), timeout=10, what="libarchive unloaded again")
