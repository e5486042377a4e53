"""berthd maps its heavy libraries only while it uses them (src/lib/lazy_lib.h): an idle daemon
has none of libarchive, libcurl, ldns, libnftables or OpenSSL's libcrypto mapped; a load maps
libarchive, and once the daemon has been quiet for a second it is unmapped again, and loaded
anew by the next use; libcurl likewise for registry clients. Memory figures: docs/daemon.md,
bench/engine."""

import io
import os
import subprocess
import tarfile

import pytest

from conftest import wait_until
from daemon_util import Daemon, berthd_path, load_busybox
from test_registry import REGISTRY, Registry

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


@pytest.mark.skipif(not os.path.exists(REGISTRY), reason="docker-registry is not installed")
def test_libcurl_held_by_registry_clients_only(daemon, session_dir):
    pid = daemon.proc.pid
    load_busybox(daemon, session_dir)
    reg = Registry(session_dir).start()
    try:
        api = daemon.api()
        repo = f"{reg.addr}/busybox"
        api.tag("busybox", repo, "t")
        assert not [l for l in api.push(repo, tag="t", stream=True, decode=True) if "error" in l]
        api.remove_image(f"{repo}:t")
        lines = list(api.pull(repo, tag="t", stream=True, decode=True))
        assert lines[-1] == {"status": f"Status: Downloaded newer image for {repo}:t"}, lines
        assert "libcurl.so" in mapped(pid)
        # OpenSSL's libcrypto, which libcurl brought, stays: it forbids its own unloading.
        wait_until(lambda: not mapped(pid) - {"libcrypto.so"}, timeout=10, what="libcurl unloaded")
    finally:
        reg.cleanup()
