"""Pull and push against a real registry: Debian's docker-registry (the distribution registry)
on 127.0.0.1 inside the test's network namespace, with its own config and storage, started and
stopped by PID. Driven by the Docker SDK and the docker CLI; skopeo reads what berth pushed.
A registry that breaks in the middle of a layer leaves the store as it was."""

import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import docker
import pytest

from conftest import remove_tree, wait_until
from daemon_util import Daemon, busybox_archive, busybox_daemon, load_busybox

REGISTRY = "/usr/bin/docker-registry"

pytestmark = pytest.mark.skipif(not os.access(REGISTRY, os.X_OK),
                                reason="docker-registry is not installed (apt-get install docker-registry)")


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Registry:
    """docker-registry serving plain HTTP on host:port, its storage in a temp dir. users
    ({name: password}) turns on basic auth (htpasswd, bcrypt); tls=(cert, key) serves HTTPS;
    log_level "info" logs every request."""

    def __init__(self, base_dir, host="127.0.0.1", users=None, tls=None, log_level="warn"):
        self.dir = tempfile.mkdtemp(prefix="registry-", dir=base_dir)
        self.host = host
        self.port = free_port(host)
        self.addr = f"{host}:{self.port}"
        self.config = os.path.join(self.dir, "config.yml")
        self.users = users
        self.tls = tls
        auth = tls_conf = ""
        if users:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt
            with open(os.path.join(self.dir, "htpasswd"), "w") as f:
                for name, password in users.items():
                    f.write(f"{name}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
            auth = f"auth:\n  htpasswd:\n    realm: test-registry\n    path: {self.dir}/htpasswd\n"
        if tls:
            tls_conf = f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n"
        with open(self.config, "w") as f:
            f.write(f"""version: 0.1
log:
  level: {log_level}
storage:
  filesystem:
    rootdirectory: {self.dir}/data
  delete:
    enabled: true
http:
  addr: {self.addr}
""" + tls_conf + auth)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "registry.log"), "ab")
        self.proc = subprocess.Popen([REGISTRY, "serve", self.config], stdout=self.log, stderr=self.log)
        wait_until(self._answers, timeout=20, what="the registry to answer")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"docker-registry exited with {self.proc.returncode}: {self.read_log()}")
        ctx = ssl._create_unverified_context()
        scheme = "https" if self.tls else "http"
        try:
            with urllib.request.urlopen(f"{scheme}://{self.addr}/v2/", timeout=2, context=ctx) as r:
                return r.status == 200
        except urllib.error.HTTPError as err:
            return err.code == 401
        except OSError:
            return False

    def kill(self):
        """SIGKILL by PID, as a crash would end it; start() brings it back on the same port."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        self.proc = None

    def read_log(self):
        with open(os.path.join(self.dir, "registry.log"), errors="replace") as f:
            return f.read()

    def manifest_digest(self, repo, tag):
        req = urllib.request.Request(
            f"http://{self.addr}/v2/{repo}/manifests/{tag}", method="HEAD",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                               "application/vnd.docker.distribution.manifest.v2+json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.headers["Docker-Content-Digest"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        remove_tree(self.dir)


class Proxy:
    """A registry in front of the real one, for GET and HEAD; blobs are streamed through in
    64 KiB pieces, `delay` seconds apart. mode "truncate": every blob answer of more than `cut`
    bytes is cut short (the whole Content-Length announced, half of the body sent, then the
    connection closed; Range is not passed on); "cut-once": only the first answer for each blob
    is cut so, and Range is passed on (a resumed download completes); "corrupt": one byte in
    the middle of every blob of more than `cut` bytes is changed; "slow": nothing but the delay; "bearer": a request
    without the token gets a Bearer challenge whose realm (/token here) hands the token out;
    "basic": a request without u:p gets a Basic challenge. A registry that is gone: 502."""

    TOKEN = "t0k3n"
    BASIC = "Basic " + base64.b64encode(b"u:p").decode()

    def __init__(self, target, mode="truncate", cut=64 * 1024, delay=0):
        self.target = target
        self.mode = mode
        self.cut = cut
        self.delay = delay
        self.seen = set()
        self.ranges = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.cuts = 0
        self.token_requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn, method, status, headers, body):
        out = [f"HTTP/1.1 {status} X\r\n"]
        out += [f"{k}: {v}\r\n" for k, v in headers.items()]
        out.append(f"Content-Length: {len(body)}\r\n\r\n")
        conn.sendall("".join(out).encode() + (b"" if method == "HEAD" else body))

    def _challenge(self, conn, method, scheme):
        realm = f'realm="http://{self.addr}/token",service="test-registry"' if scheme == "Bearer" else 'realm="t"'
        self._answer(conn, method, 401, {"WWW-Authenticate": f"{scheme} {realm}",
                                         "Content-Type": "application/json"},
                     b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')

    def _handle(self, conn):
        try:
            f = conn.makefile("rb")
            while True:
                line = f.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers = {}
                while True:
                    h = f.readline().decode()
                    if h in ("\r\n", "\n", ""):
                        break
                    k, v = h.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                auth = headers.get("authorization", "")
                if path.startswith("/token"):
                    self.token_requests.append((path, auth))
                    self._answer(conn, method, 200, {"Content-Type": "application/json"},
                                 json.dumps({"token": self.TOKEN}).encode())
                    continue
                if self.mode == "bearer" and auth != f"Bearer {self.TOKEN}":
                    self._challenge(conn, method, "Bearer")
                    continue
                if self.mode == "basic" and auth != self.BASIC:
                    self._challenge(conn, method, "Basic")
                    continue
                fwd = {"Accept": headers.get("accept", "*/*")}
                if "range" in headers:
                    self.ranges.append(headers["range"])
                    if self.mode != "truncate":
                        fwd["Range"] = headers["range"]
                req = urllib.request.Request(f"http://{self.target}{path}", method=method, headers=fwd)
                try:
                    r = urllib.request.urlopen(req, timeout=10)
                    status, rh = r.status, r.headers
                except urllib.error.HTTPError as err:
                    r, status, rh = err, err.code, err.headers
                except OSError:
                    self._answer(conn, method, 502, {}, b"")
                    continue
                keep = {k: rh[k] for k in ("Content-Type", "Docker-Content-Digest", "Content-Range") if rh.get(k)}
                if not (method == "GET" and "/blobs/" in path and status in (200, 206)):
                    self._answer(conn, method, status, keep, r.read())
                    continue
                if not self._stream_blob(conn, path, status, keep, r, int(rh["Content-Length"])):
                    return
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            conn.close()

    def _stream_blob(self, conn, path, status, keep, upstream, length):
        """Pass a blob on as the mode says; False when the connection was cut."""
        cut = None
        if length > self.cut and (self.mode == "truncate" or (self.mode == "cut-once" and path not in self.seen)):
            cut = length // 2
            self.cuts += 1
        self.seen.add(path)
        head = [f"HTTP/1.1 {status} X\r\n"] + [f"{k}: {v}\r\n" for k, v in keep.items()]
        head.append(f"Content-Length: {length}\r\n\r\n")
        conn.sendall("".join(head).encode())
        sent = 0
        while sent < length:
            chunk = upstream.read(min(65536, length - sent))
            if not chunk:
                return False  # the registry went away: so does this answer
            if self.mode == "corrupt" and length > self.cut and sent <= length // 2 < sent + len(chunk):
                i = length // 2 - sent
                chunk = chunk[:i] + bytes([chunk[i] ^ 0xff]) + chunk[i + 1:]
            if cut is not None and sent + len(chunk) >= cut:
                conn.sendall(chunk[:cut - sent])
                return False
            conn.sendall(chunk)
            sent += len(chunk)
            if self.delay:
                time.sleep(self.delay)
        return True

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def registry(session_dir):
    r = Registry(session_dir).start()
    yield r
    r.cleanup()


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "reg")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


def store_state(daemon):
    root = daemon.data_root
    return (sorted(os.listdir(os.path.join(root, "blobs", "sha256"))),
            sorted(os.listdir(os.path.join(root, "layers"))))


def remove_all_but_busybox(client):
    for img in client.images.list(all=True):
        if "busybox:latest" in img.tags:
            for t in img.tags:
                if t != "busybox:latest":
                    client.images.remove(t)
        else:
            client.images.remove(img.id, force=True)


def push_lines(api, repo, tag):
    lines = list(api.push(repo, tag=tag, stream=True, decode=True))
    errors = [l for l in lines if "error" in l]
    assert not errors, lines
    return lines


def test_push_with_the_sdk_then_pull_back_and_run(client, daemon, registry):
    repo = f"{registry.addr}/busybox"
    image = client.images.get("busybox")
    image.tag(repo, "t")
    api = daemon.api()
    lines = push_lines(api, repo, "t")
    assert lines[0] == {"status": f"The push refers to repository [{repo}]"}, lines
    assert any(l.get("status") == "Pushed" for l in lines), lines
    aux = [l["aux"] for l in lines if "aux" in l]
    assert len(aux) == 1 and aux[0]["Tag"] == "t", lines
    digest = aux[0]["Digest"]
    assert registry.manifest_digest("busybox", "t") == digest
    # A second push finds everything there.
    again = push_lines(api, repo, "t")
    assert any(l.get("status") == "Layer already exists" for l in again), again
    assert not any(l.get("status") == "Pushed" for l in again), again

    client.images.remove(f"{repo}:t")
    client.images.remove("busybox:latest")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(image.id)

    pulled = client.images.pull(repo, tag="t")
    assert pulled.id == image.id
    assert f"{repo}:t" in pulled.tags
    assert f"{repo}@{digest}" in pulled.attrs["RepoDigests"]
    out = client.containers.run(f"{repo}:t", ["echo", "pulled"], remove=True)
    assert out == b"pulled\n"
    # Pulled again: nothing to fetch.
    lines = list(api.pull(repo, tag="t", stream=True, decode=True))
    assert {"status": f"Status: Image is up to date for {repo}:t"} in lines, lines
    assert {"status": f"Digest: {digest}"} in lines, lines
    api.close()
    client.images.get(image.id).tag("busybox", "latest")
    remove_all_but_busybox(client)


def test_pull_stream_in_dockers_shape(client, daemon, registry):
    repo = f"{registry.addr}/shape"
    client.images.get("busybox").tag(repo, "v1")
    api = daemon.api()
    push_lines(api, repo, "v1")
    client.images.remove(f"{repo}:v1")
    client.images.remove("busybox:latest")
    lines = list(api.pull(repo, tag="v1", stream=True, decode=True))
    api.close()
    statuses = [l.get("status") for l in lines]
    assert lines[0] == {"status": "Pulling from shape", "id": "v1"}, lines
    for word in ("Pulling fs layer", "Download complete", "Pull complete"):
        assert word in statuses, lines
    assert statuses[-1] == f"Status: Downloaded newer image for {repo}:v1", lines
    assert statuses[-2].startswith("Digest: sha256:"), lines
    client.images.get(f"{repo}:v1").tag("busybox", "latest")
    remove_all_but_busybox(client)


def test_docker_cli_push_and_pull(client, daemon, registry):
    ref = f"{registry.addr}/cli:t"
    daemon.cli("tag", "busybox", ref, check=True)
    r = daemon.cli("push", ref, check=True)
    out = r.stdout.decode()
    assert "t: digest: sha256:" in out, out
    digest = out.split("digest: ")[1].split()[0]
    assert registry.manifest_digest("cli", "t") == digest
    daemon.cli("rmi", ref, check=True)
    r = daemon.cli("pull", ref, check=True)
    out = r.stdout.decode()
    assert f"Digest: {digest}" in out, out
    assert f"Status: Downloaded newer image for {ref}" in out, out
    r = daemon.cli("run", "--name", "from-cli", ref, "echo", "from-cli", check=True)
    assert r.stdout == b"from-cli\n"
    daemon.cli("rm", "from-cli", check=True)
    remove_all_but_busybox(client)


def test_pull_by_digest(client, daemon, registry):
    repo = f"{registry.addr}/bydigest"
    client.images.get("busybox").tag(repo, "x")
    api = daemon.api()
    digest = [l for l in push_lines(api, repo, "x") if "aux" in l][0]["aux"]["Digest"]
    api.close()
    client.images.remove(f"{repo}:x")
    client.images.remove("busybox:latest")
    r = daemon.cli("pull", f"{repo}@{digest}", check=True)
    assert f"Status: Downloaded newer image for {repo}@{digest}" in r.stdout.decode()
    img = client.images.get(f"{repo}@{digest}")
    assert img.attrs["RepoDigests"] == [f"{repo}@{digest}"]
    assert img.tags == []
    img.tag("busybox", "latest")
    remove_all_but_busybox(client)


def test_missing_tag_and_bad_reference(client, daemon, registry):
    before = store_state(daemon)
    with pytest.raises(docker.errors.NotFound) as err:
        client.images.pull(f"{registry.addr}/busybox", tag="nope")
    assert (f"manifest for {registry.addr}/busybox:nope not found: manifest unknown"
            in str(err.value)), str(err.value)
    r = daemon.cli("pull", f"{registry.addr}/nothere:latest")
    assert r.returncode == 1
    assert "not found" in r.stderr.decode(), r.stderr
    with pytest.raises(docker.errors.APIError) as err:
        client.api.pull("Bad//Name", tag="x")
    assert err.value.status_code == 400, err.value
    assert "invalid reference format" in str(err.value)
    with pytest.raises(docker.errors.NotFound) as err:
        client.images.push(f"{registry.addr}/notlocal", tag="t")
    assert "An image does not exist locally with the tag" in str(err.value)
    assert store_state(daemon) == before


def test_registry_that_breaks_mid_layer_leaves_the_store_as_it_was(client, daemon, registry):
    repo = f"{registry.addr}/broken"
    image = client.images.get("busybox")
    image.tag(repo, "t")
    api = daemon.api()
    push_lines(api, repo, "t")
    client.images.remove(image.id, force=True)  # every reference: its layer goes too
    before = store_state(daemon)
    images_before = sorted(i.id for i in client.images.list(all=True))
    proxy = Proxy(registry.addr)
    try:
        lines = list(api.pull(f"{proxy.addr}/broken", tag="t", stream=True, decode=True))
    finally:
        proxy.close()
    assert proxy.cuts >= 1
    assert "error" in lines[-1], lines
    assert lines[-1]["errorDetail"]["message"] == lines[-1]["error"]
    assert store_state(daemon) == before
    assert sorted(i.id for i in client.images.list(all=True)) == images_before
    # The same pull from the registry itself completes.
    lines = list(api.pull(repo, tag="t", stream=True, decode=True))
    api.close()
    assert not [l for l in lines if "error" in l], lines
    client.images.get(f"{repo}:t").tag("busybox", "latest")
    remove_all_but_busybox(client)


def test_registry_gone_before_the_pull(client, daemon, session_dir):
    gone = Registry(session_dir).start()
    gone.stop()
    before = store_state(daemon)
    with pytest.raises(docker.errors.APIError) as err:
        client.images.pull(f"{gone.addr}/busybox", tag="t")
    assert err.value.status_code == 500
    assert gone.addr in str(err.value)
    assert store_state(daemon) == before
    gone.cleanup()


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
def test_skopeo_reads_what_berth_pushed(client, daemon, registry, session_dir):
    repo = f"{registry.addr}/forskopeo"
    client.images.get("busybox").tag(repo, "t")
    api = daemon.api()
    digest = [l for l in push_lines(api, repo, "t") if "aux" in l][0]["aux"]["Digest"]
    api.close()
    r = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{repo}:t"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["Digest"] == digest
    assert info["Layers"] and all(d.startswith("sha256:") for d in info["Layers"])
    work = tempfile.mkdtemp(dir=session_dir)
    policy = os.path.join(work, "policy.json")
    with open(policy, "w") as f:
        f.write('{"default": [{"type": "insecureAcceptAnything"}]}\n')
    r = subprocess.run(["skopeo", "--policy", policy, "copy", "--preserve-digests", "--src-tls-verify=false",
                        f"docker://{repo}:t", f"oci:{work}/layout:t"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(work, "layout", "index.json")) as f:
        index = json.load(f)
    assert index["manifests"][0]["digest"] == digest
    remove_tree(work)
    client.images.remove(f"{repo}:t")


def test_insecure_registry_flag(session_dir, cgroup_parent):
    """A registry that is not on loopback is reached over HTTPS unless named insecure."""
    subprocess.run(["ip", "addr", "add", "10.213.0.1/32", "dev", "lo"], check=True)
    reg = Registry(session_dir, host="10.213.0.1").start()
    plain = Daemon(session_dir, cgroup_parent, "sec").start()
    insecure = Daemon(session_dir, cgroup_parent, "insec").start("--insecure-registry", reg.addr)
    try:
        load_busybox(insecure, session_dir)
        c = insecure.client()
        c.images.get("busybox").tag(f"{reg.addr}/x", "t")
        lines = list(c.api.push(f"{reg.addr}/x", tag="t", stream=True, decode=True))
        assert not [l for l in lines if "error" in l], lines
        c.close()
        p = plain.client()
        with pytest.raises(docker.errors.APIError) as err:
            p.images.pull(f"{reg.addr}/x", tag="t")
        assert f"https://{reg.addr}/v2/x/manifests/t" in str(err.value), str(err.value)
        p.close()
    finally:
        rcs = (plain.cleanup(), insecure.cleanup())
        reg.cleanup()
        subprocess.run(["ip", "addr", "del", "10.213.0.1/32", "dev", "lo"])
    assert rcs == (0, 0), (plain.last_log, insecure.last_log)


def test_bearer_token_and_basic_auth(client, daemon, registry):
    repo = f"{registry.addr}/authed"
    image = client.images.get("busybox")
    image.tag(repo, "t")
    api = daemon.api()
    push_lines(api, repo, "t")
    api.close()
    client.images.remove(image.id, force=True)

    bearer = Proxy(registry.addr, mode="bearer")
    try:
        img = client.images.pull(f"{bearer.addr}/authed", tag="t")
    finally:
        bearer.close()
    assert img.id == image.id
    # One token for the whole pull, asked for this repository's pull scope and the service.
    assert len(bearer.token_requests) == 1, bearer.token_requests
    path, auth = bearer.token_requests[0]
    assert "service=test-registry" in path and "scope=repository%3Aauthed%3Apull" in path, path
    assert auth == ""

    basic = Proxy(registry.addr, mode="basic")
    try:
        with pytest.raises(docker.errors.APIError) as err:
            client.images.pull(f"{basic.addr}/authed", tag="t")
        assert "unauthorized" in str(err.value), str(err.value)
        img = client.images.pull(f"{basic.addr}/authed", tag="t", auth_config={"username": "u", "password": "p"})
        assert img.id == image.id
        # The credentials also go to a token realm.
        bearer = Proxy(registry.addr, mode="bearer")
        client.images.pull(f"{bearer.addr}/authed", tag="t", auth_config={"username": "u", "password": "p"})
        assert bearer.token_requests[0][1] == Proxy.BASIC
        bearer.close()
    finally:
        basic.close()
    client.images.get(image.id).tag("busybox", "latest")
    remove_all_but_busybox(client)


def big_image(client, repo, tag, megabytes):
    """busybox and a layer of random bytes (that no compression shrinks)."""
    ct = client.containers.run("busybox", ["sh", "-c", f"head -c {megabytes * 1000000} /dev/urandom > /big"],
                               detach=True)
    ct.wait()
    image = ct.commit(repo, tag)
    ct.remove()
    return image


def ingest_files(daemon):
    d = os.path.join(daemon.data_root, "blobs", "ingest")
    return os.listdir(d) if os.path.isdir(d) else []


def push_then_forget(client, daemon, repo, megabytes):
    """A pushed image whose own layer the store no longer has; its ID."""
    image = big_image(client, repo, "t", megabytes)
    api = daemon.api()
    push_lines(api, repo, "t")
    api.close()
    client.images.remove(f"{repo}:t")
    return image.id


def test_broken_download_resumes_where_it_broke(client, daemon, registry):
    image_id = push_then_forget(client, daemon, f"{registry.addr}/resume", 4)
    proxy = Proxy(registry.addr, mode="cut-once")
    api = daemon.api()
    try:
        lines = list(api.pull(f"{proxy.addr}/resume", tag="t", stream=True, decode=True))
    finally:
        proxy.close()
        api.close()
    assert not [l for l in lines if "error" in l], lines
    assert proxy.cuts >= 1
    assert [r for r in proxy.ranges if r.startswith("bytes=") and r != "bytes=0-"], proxy.ranges
    assert "Retrying in 1 second" in [l.get("status") for l in lines], lines
    assert client.images.get(f"{proxy.addr}/resume:t").id == image_id
    assert ingest_files(daemon) == []
    remove_all_but_busybox(client)


def test_registry_killed_mid_pull_then_pulled_again(client, daemon, registry):
    image_id = push_then_forget(client, daemon, f"{registry.addr}/killed", 8)
    before = store_state(daemon)
    proxy = Proxy(registry.addr, mode="slow", delay=0.02)  # ~2.5 s for the big layer
    api = daemon.api()
    lines, killed = [], False
    try:
        for line in api.pull(f"{proxy.addr}/killed", tag="t", stream=True, decode=True):
            lines.append(line)
            if (not killed and line.get("status") == "Downloading"
                    and line["progressDetail"].get("current", 0) > 1000000):
                registry.kill()
                killed = True
        assert killed, lines
        assert "error" in lines[-1], lines
        assert store_state(daemon) == before  # no partial layer, no blob nothing refers to
        assert ingest_files(daemon) == []
        registry.start()
        lines = list(api.pull(f"{proxy.addr}/killed", tag="t", stream=True, decode=True))
        assert not [l for l in lines if "error" in l], lines
        assert client.images.get(f"{proxy.addr}/killed:t").id == image_id
    finally:
        if registry.proc is None:
            registry.start()
        proxy.close()
        api.close()
    assert ingest_files(daemon) == []
    remove_all_but_busybox(client)


def test_blob_with_a_wrong_digest_is_refused_with_nothing_kept(client, daemon, registry):
    push_then_forget(client, daemon, f"{registry.addr}/corrupt", 1)
    before = store_state(daemon)
    images_before = sorted(i.id for i in client.images.list(all=True))
    proxy = Proxy(registry.addr, mode="corrupt")
    api = daemon.api()
    try:
        lines = list(api.pull(f"{proxy.addr}/corrupt", tag="t", stream=True, decode=True))
    finally:
        proxy.close()
        api.close()
    assert "error" in lines[-1], lines
    assert "filesystem layer verification failed for digest sha256:" in lines[-1]["error"], lines[-1]
    assert store_state(daemon) == before
    assert ingest_files(daemon) == []
    assert sorted(i.id for i in client.images.list(all=True)) == images_before


def request_methods(registry, path_part):
    """The methods of the requests the registry logged (log_level "info") on paths with path_part."""
    out = []
    for line in registry.read_log().splitlines():
        if "response completed" in line and path_part in line:
            for field in line.split():
                if field.startswith("http.request.method="):
                    out.append(field.split("=", 1)[1])
    return out


def test_large_blob_goes_up_in_chunks_and_a_known_one_is_mounted(client, daemon, session_dir):
    reg = Registry(session_dir, log_level="info").start()
    try:
        repo = f"{reg.addr}/chunked"
        image = big_image(client, repo, "t", 40)  # 40 MB: three PATCHes of at most 16 MiB
        api = daemon.api()
        lines = push_lines(api, repo, "t")
        digest = [l for l in lines if "aux" in l][0]["aux"]["Digest"]
        assert reg.manifest_digest("chunked", "t") == digest
        methods = request_methods(reg, "/v2/chunked/blobs/uploads/")
        assert methods.count("PATCH") == 3, methods
        # The same layers for another repository of that registry: mounted, not sent again.
        image.tag(f"{reg.addr}/other", "t")
        lines = push_lines(api, f"{reg.addr}/other", "t")
        assert any(l.get("status") == "Mounted from chunked" for l in lines), lines
        assert request_methods(reg, "/v2/other/blobs/uploads/").count("PATCH") == 0
        api.close()
        client.images.remove(f"{reg.addr}/other:t")
        client.images.remove(f"{repo}:t")
        pulled = client.images.pull(repo, tag="t")
        assert pulled.id == image.id
    finally:
        reg.cleanup()
    remove_all_but_busybox(client)


def skopeo(session_dir, *args):
    policy = os.path.join(session_dir, "skopeo-policy.json")
    with open(policy, "w") as f:
        f.write('{"default": [{"type": "insecureAcceptAnything"}]}\n')
    r = subprocess.run(["skopeo", "--policy", policy, *args], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def registry_get(registry, path, accept=None):
    req = urllib.request.Request(f"http://{registry.addr}{path}", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read(), r.headers


def registry_put_blob(registry, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(f"http://{registry.addr}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as r:
        location = r.headers["Location"]
    if location.startswith("/"):
        location = f"http://{registry.addr}{location}"
    sep = "&" if "?" in location else "?"
    req = urllib.request.Request(f"{location}{sep}digest={digest}", method="PUT", data=data,
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req, timeout=10).close()
    return digest


def registry_put_manifest(registry, repo, tag, media_type, doc):
    body = json.dumps(doc).encode()
    req = urllib.request.Request(f"http://{registry.addr}/v2/{repo}/manifests/{tag}", method="PUT", data=body,
                                 headers={"Content-Type": media_type})
    urllib.request.urlopen(req, timeout=10).close()
    return "sha256:" + hashlib.sha256(body).hexdigest(), len(body)


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
@pytest.mark.parametrize("fmt,media_type", [("oci", OCI_MANIFEST), ("v2s2", DOCKER_MANIFEST)])
def test_image_pushed_by_skopeo_pulls_and_runs(client, daemon, registry, session_dir, fmt, media_type):
    repo = f"{registry.addr}/byskopeo"
    skopeo(session_dir, "copy", "--format", fmt, "--dest-tls-verify=false",
           f"docker-archive:{busybox_archive(session_dir)}", f"docker://{repo}:{fmt}")
    body, headers = registry_get(registry, f"/v2/byskopeo/manifests/{fmt}", f"{OCI_MANIFEST}, {DOCKER_MANIFEST}")
    assert json.loads(body)["mediaType"] == media_type
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    lines = list(client.api.pull(repo, tag=fmt, stream=True, decode=True))
    assert {"status": f"Digest: {digest}"} in lines, lines
    assert f"{repo}@{digest}" in client.images.get(f"{repo}:{fmt}").attrs["RepoDigests"]
    out = client.containers.run(f"{repo}:{fmt}", ["echo", "from", fmt], remove=True)
    assert out == f"from {fmt}\n".encode()
    client.images.remove(f"{repo}:{fmt}")


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
def test_multi_platform_index_pulls_the_platform_asked_for(client, daemon, registry, session_dir):
    """An OCI index of linux/amd64 (runs here) and linux/arm64/v8 (the same layers, its own config)."""
    repo = f"{registry.addr}/multi"
    skopeo(session_dir, "copy", "--format", "oci", "--dest-tls-verify=false",
           f"docker-archive:{busybox_archive(session_dir)}", f"docker://{repo}:amd64")
    body, _ = registry_get(registry, "/v2/multi/manifests/amd64", OCI_MANIFEST)
    amd64 = json.loads(body)
    config, _ = registry_get(registry, f"/v2/multi/blobs/{amd64['config']['digest']}")
    arm_config = json.loads(config)
    arm_config.update(architecture="arm64", variant="v8")
    arm_config_bytes = json.dumps(arm_config).encode()
    arm64 = dict(amd64, config=dict(amd64["config"], digest=registry_put_blob(registry, "multi", arm_config_bytes),
                                    size=len(arm_config_bytes)))
    arm_digest, arm_size = registry_put_manifest(registry, "multi", "arm64", OCI_MANIFEST, arm64)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": arm_digest, "size": arm_size,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": OCI_MANIFEST, "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body),
         "platform": {"os": "linux", "architecture": "amd64"}}]}
    index_digest, _ = registry_put_manifest(registry, "multi", "both", OCI_INDEX, index)

    lines = list(client.api.pull(repo, tag="both", stream=True, decode=True))
    assert {"status": f"Digest: {index_digest}"} in lines, lines
    img = client.images.get(f"{repo}:both")
    assert img.id == amd64["config"]["digest"] and img.attrs["Architecture"] == "amd64"
    assert client.containers.run(f"{repo}:both", ["echo", "native"], remove=True) == b"native\n"
    client.images.remove(f"{repo}:both")
    lines = list(client.api.pull(repo, tag="both", platform="linux/arm64", stream=True, decode=True))
    assert not [l for l in lines if "error" in l], lines
    img = client.images.get(f"{repo}:both")
    assert img.id == "sha256:" + hashlib.sha256(arm_config_bytes).hexdigest()
    assert img.attrs["Architecture"] == "arm64" and img.attrs.get("Variant") == "v8", img.attrs
    client.images.remove(f"{repo}:both")
    with pytest.raises(docker.errors.APIError) as err:
        client.images.pull(repo, tag="both", platform="linux/s390x")
    assert "s390x" in str(err.value), str(err.value)
    remove_all_but_busybox(client)


def test_docker_hub_images_come_from_a_mirror_first(client, daemon, registry, session_dir, cgroup_parent):
    """--registry-mirror: docker.io images asked of the mirror first, Docker Hub (out of this
    test's reach) when the mirror lacks them; daemon.json's registry-mirrors the same."""
    image = client.images.get("busybox")
    image.tag(f"{registry.addr}/library/mirrored", "t")
    push_lines(client.api, f"{registry.addr}/library/mirrored", "t")
    client.images.remove(f"{registry.addr}/library/mirrored:t")
    mirrored = Daemon(session_dir, cgroup_parent, "mirror").start("--registry-mirror", f"http://{registry.addr}/")
    try:
        c = mirrored.client()
        lines = list(c.api.pull("mirrored", tag="t", stream=True, decode=True))
        assert {"status": "Status: Downloaded newer image for mirrored:t"} in lines, lines
        img = c.images.get("mirrored:t")
        assert img.id == image.id and "docker.io/library/mirrored:t" not in img.tags, img.tags
        assert c.containers.run("mirrored:t", ["echo", "mirrored"], remove=True) == b"mirrored\n"
        with pytest.raises(docker.errors.APIError) as err:
            c.images.pull("notmirrored", tag="t")
        assert "registry-1.docker.io" in str(err.value), str(err.value)
        c.close()
    finally:
        rc = mirrored.cleanup()
    assert rc == 0, mirrored.last_log
    # Without a mirror, then with one from daemon.json after a SIGHUP.
    later = Daemon(session_dir, cgroup_parent, "hupmirror").start()
    try:
        c = later.client()
        with pytest.raises(docker.errors.APIError) as err:
            c.images.pull("mirrored", tag="t")
        assert "registry-1.docker.io" in str(err.value), str(err.value)
        with open(os.path.join(later.dir, "daemon.json"), "w") as f:
            json.dump({"registry-mirrors": [f"http://{registry.addr}"]}, f)
        later.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in later.read_log(), what="the reload")
        assert c.images.pull("mirrored", tag="t").id == image.id
        c.close()
    finally:
        rc = later.cleanup()
    assert rc == 0, later.last_log
    bad = Daemon(session_dir, cgroup_parent, "badmirror")
    with open(os.path.join(bad.dir, "daemon.json"), "w") as f:
        json.dump({"registry-mirrors": ["ftp://mirror.example"]}, f)
    with pytest.raises(AssertionError) as err:
        bad.start()
    assert "invalid mirror: unsupported scheme" in bad.read_log(), bad.read_log()
    remove_tree(bad.dir)
    remove_tree(bad.exec_root)
