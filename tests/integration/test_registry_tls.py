"""A registry over HTTPS with a certificate the test makes (openssl): trusted through
certs.d/<host:port>/ca.crt beside berthd's daemon.json or in /etc/docker/certs.d, refused with a
clear error when not trusted, the store left as it was."""

import os
import shutil
import subprocess

import docker
import pytest

from conftest import remove_tree, sys_mount, umount_below
from daemon_util import Daemon, load_busybox
from test_registry import REGISTRY, Registry, store_state

pytestmark = pytest.mark.skipif(not os.access(REGISTRY, os.X_OK) or not shutil.which("openssl"),
                                reason="docker-registry or openssl is not installed")

ADDR = "10.213.0.2"  # not loopback, which is plain HTTP by default; on lo of the test's namespace
USER, PASSWORD = "bob", "tls-pw"


def make_certs(d):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=berth test CA")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={ADDR}")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write(f"subjectAltName=IP:{ADDR}\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    return os.path.join(d, "ca.crt"), os.path.join(d, "server.crt"), os.path.join(d, "server.key")


@pytest.fixture(scope="module")
def tls_registry(session_dir):
    subprocess.run(["ip", "addr", "add", f"{ADDR}/32", "dev", "lo"], check=True)
    certs = os.path.join(session_dir, "tls-certs")
    os.makedirs(certs, exist_ok=True)
    ca, cert, key = make_certs(certs)
    reg = Registry(session_dir, host=ADDR, users={USER: PASSWORD}, tls=(cert, key)).start()
    reg.ca, reg.cert, reg.key = ca, cert, key
    yield reg
    reg.cleanup()
    remove_tree(certs)
    subprocess.run(["ip", "addr", "del", f"{ADDR}/32", "dev", "lo"])


@pytest.fixture(scope="module")
def daemons(session_dir, cgroup_parent, tls_registry):
    trusting = Daemon(session_dir, cgroup_parent, "tls")
    own = os.path.join(trusting.dir, "certs.d", tls_registry.addr)
    os.makedirs(own)
    shutil.copy(tls_registry.ca, os.path.join(own, "ca.crt"))
    trusting.start()
    plain = Daemon(session_dir, cgroup_parent, "notls").start()
    load_busybox(trusting, session_dir)
    yield trusting, plain
    rcs = (trusting.cleanup(), plain.cleanup())
    assert rcs == (0, 0), (trusting.last_log, plain.last_log)


def test_trusted_through_berths_own_certs_d(daemons, tls_registry):
    trusting, _ = daemons
    c = trusting.client()
    assert c.login(USER, PASSWORD, registry=tls_registry.addr, reauth=True)["Status"] == "Login Succeeded"
    with pytest.raises(docker.errors.APIError) as err:
        c.login(USER, "wrong", registry=tls_registry.addr, reauth=True)
    assert err.value.status_code == 401 and f"https://{tls_registry.addr}/v2/" in str(err.value)
    repo = f"{tls_registry.addr}/secure"
    image = c.images.get("busybox")
    image.tag(repo, "t")
    creds = {"username": USER, "password": PASSWORD}
    lines = list(c.api.push(repo, tag="t", stream=True, decode=True, auth_config=creds))
    assert not [l for l in lines if "error" in l], lines
    c.images.remove(f"{repo}:t")
    pulled = c.images.pull(repo, tag="t", auth_config=creds)
    assert pulled.id == image.id
    c.close()


def test_untrusted_certificate_is_refused_until_etc_docker_trusts_it(daemons, tls_registry):
    _, plain = daemons
    c = plain.client()
    creds = {"username": USER, "password": PASSWORD}
    before = store_state(plain)
    with pytest.raises(docker.errors.APIError) as err:
        c.images.pull(f"{tls_registry.addr}/secure", tag="t", auth_config=creds)
    msg = str(err.value)
    assert "certificate is not trusted" in msg and f"certs.d/{tls_registry.addr}/ca.crt" in msg, msg
    with pytest.raises(docker.errors.APIError) as err:
        c.login(USER, PASSWORD, registry=tls_registry.addr, reauth=True)
    assert "certificate is not trusted" in str(err.value)
    assert store_state(plain) == before
    # /etc/docker/certs.d, in this test's own mount namespace (a tmpfs over /etc/docker).
    os.makedirs("/etc/docker", exist_ok=True)
    sys_mount("tmpfs", "/etc/docker", "tmpfs")
    try:
        os.makedirs(f"/etc/docker/certs.d/{tls_registry.addr}")
        shutil.copy(tls_registry.ca, f"/etc/docker/certs.d/{tls_registry.addr}/ca.crt")
        img = c.images.pull(f"{tls_registry.addr}/secure", tag="t", auth_config=creds)
        assert f"{tls_registry.addr}/secure:t" in img.tags
    finally:
        umount_below("/etc/docker")
    c.close()


def test_loopback_registry_over_https_is_insecure_as_dockers(daemons, tls_registry, session_dir):
    """On 127.0.0.1 a registry that speaks HTTPS is used without checking its certificate
    (its name is 10.213.0.2, its CA unknown), as dockerd does; plain HTTP ones fall back."""
    _, plain = daemons
    reg = Registry(session_dir, tls=(tls_registry.cert, tls_registry.key)).start()
    try:
        load_busybox(plain, session_dir)
        c = plain.client()
        repo = f"{reg.addr}/loopback"
        image = c.images.get("busybox")
        image.tag(repo, "t")
        lines = list(c.api.push(repo, tag="t", stream=True, decode=True))
        assert not [l for l in lines if "error" in l], lines
        c.images.remove(f"{repo}:t")
        c.images.remove("busybox:latest")
        assert c.images.pull(repo, tag="t").id == image.id
        c.close()
    finally:
        reg.cleanup()
