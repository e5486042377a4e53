"""Registry credentials: POST /auth against a docker-registry with basic auth (htpasswd),
X-Registry-Auth on pull and push, `docker login`/`logout` and `berth login`/`logout` with
config.json, and the berth CLI's pull and push (plain lines off a terminal, bars on one) and
`run --pull`."""

import json
import os
import pty
import select
import stat
import subprocess
import tempfile

import docker
import pytest

from conftest import remove_tree
from daemon_util import busybox_daemon
from test_cli import berth_path
from test_registry import REGISTRY, Proxy, Registry, remove_all_but_busybox

pytestmark = pytest.mark.skipif(not os.access(REGISTRY, os.X_OK),
                                reason="docker-registry is not installed (apt-get install docker-registry)")

USER, PASSWORD = "alice", "s3cret-pw"


@pytest.fixture(scope="module")
def registry(session_dir):
    r = Registry(session_dir, users={USER: PASSWORD}).start()
    yield r
    r.cleanup()


@pytest.fixture(scope="module")
def open_registry(session_dir):
    r = Registry(session_dir).start()
    yield r
    r.cleanup()


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "regauth")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    remove_all_but_busybox(c)
    c.close()


@pytest.fixture
def config_dir(session_dir):
    d = tempfile.mkdtemp(prefix="docker-config-", dir=session_dir)
    yield d
    remove_tree(d)


def berth(daemon, config_dir, *args, input=None):
    env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST", "DOCKER_HOST")}
    env.update(DOCKER_HOST=daemon.host, DOCKER_CONFIG=config_dir)
    r = subprocess.run([berth_path(), *args], input=input, capture_output=True, timeout=120, env=env)
    r.out, r.err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    return r


def docker_cli(daemon, config_dir, *args, input=None):
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=config_dir)
    r = subprocess.run(["docker", *args], input=input, capture_output=True, timeout=120, env=env)
    r.out, r.err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    return r


def stored_auths(config_dir):
    with open(os.path.join(config_dir, "config.json")) as f:
        return json.load(f).get("auths", {})


def test_auth_endpoint_checks_the_credentials(client, registry, session_dir):
    answer = client.login(USER, PASSWORD, registry=registry.addr, reauth=True)
    assert answer == {"Status": "Login Succeeded", "IdentityToken": ""}, answer
    with pytest.raises(docker.errors.APIError) as err:
        client.login(USER, "wrong", registry=f"http://{registry.addr}", reauth=True)
    assert err.value.status_code == 401, err.value
    assert (f"login attempt to http://{registry.addr}/v2/ failed with status: 401 Unauthorized"
            in str(err.value)), str(err.value)
    gone = Registry(session_dir)
    with pytest.raises(docker.errors.APIError) as err:
        client.login(USER, PASSWORD, registry=gone.addr, reauth=True)
    assert err.value.status_code == 500 and gone.addr in str(err.value), str(err.value)
    gone.cleanup()
    resp = client.api._post_json(client.api._url("/auth"), data={"serveraddress": registry.addr})
    assert resp.status_code == 400 and "username" in resp.json()["message"], resp.text


def test_login_through_a_token_server(client, open_registry):
    """A Bearer challenge on /v2/: the credentials go to the realm, which must hand out a token
    (for no repository), and the token is then taken by /v2/."""
    proxy = Proxy(open_registry.addr, mode="bearer")
    try:
        answer = client.login("u", "p", registry=proxy.addr, reauth=True)
    finally:
        proxy.close()
    assert answer["Status"] == "Login Succeeded", answer
    assert len(proxy.token_requests) == 1, proxy.token_requests
    path, auth = proxy.token_requests[0]
    assert path == "/token?service=test-registry", path
    assert auth == Proxy.BASIC


def test_x_registry_auth_is_honoured_on_push_and_pull(client, daemon, registry):
    repo = f"{registry.addr}/sdk"
    client.images.get("busybox").tag(repo, "t")
    lines = list(client.api.push(repo, tag="t", stream=True, decode=True))
    assert "error" in lines[-1] and "unauthorized" in lines[-1]["error"], lines
    creds = {"username": USER, "password": PASSWORD}
    lines = list(client.api.push(repo, tag="t", stream=True, decode=True, auth_config=creds))
    assert not [l for l in lines if "error" in l], lines
    client.images.remove(f"{repo}:t")
    with pytest.raises(docker.errors.APIError) as err:
        client.images.pull(repo, tag="t")
    assert "unauthorized" in str(err.value)
    img = client.images.pull(repo, tag="t", auth_config=creds)
    assert f"{repo}:t" in img.tags


def test_docker_cli_login_push_pull_logout(client, daemon, registry, config_dir):
    ref = f"{registry.addr}/dockercli:t"
    r = docker_cli(daemon, config_dir, "login", "-u", USER, "--password-stdin", registry.addr, input=b"wrong\n")
    assert r.returncode == 1 and "401 Unauthorized" in r.err, r.err
    r = docker_cli(daemon, config_dir, "login", "-u", USER, "--password-stdin", registry.addr,
                   input=PASSWORD.encode() + b"\n")
    assert r.returncode == 0 and "Login Succeeded" in r.out, (r.out, r.err)
    assert registry.addr in stored_auths(config_dir)
    docker_cli(daemon, config_dir, "tag", "busybox", ref)
    r = docker_cli(daemon, config_dir, "push", ref)
    assert r.returncode == 0 and "t: digest: sha256:" in r.out, (r.out, r.err)
    docker_cli(daemon, config_dir, "rmi", ref)
    r = docker_cli(daemon, config_dir, "pull", ref)
    assert r.returncode == 0 and f"Status: Downloaded newer image for {ref}" in r.out, (r.out, r.err)
    r = docker_cli(daemon, config_dir, "logout", registry.addr)
    assert r.returncode == 0 and f"Removing login credentials for {registry.addr}" in r.out, r.out
    assert registry.addr not in stored_auths(config_dir)
    docker_cli(daemon, config_dir, "rmi", ref)
    r = docker_cli(daemon, config_dir, "pull", ref)
    assert r.returncode == 1 and "unauthorized" in r.err, r.err


def test_berth_login_stores_credentials_as_docker_does(client, daemon, registry, config_dir):
    with open(os.path.join(config_dir, "config.json"), "w") as f:
        json.dump({"auths": {"other.example:5000": {"auth": "eDp5"}}, "psFormat": "{{.ID}}"}, f)
    os.chmod(os.path.join(config_dir, "config.json"), 0o644)
    r = berth(daemon, config_dir, "login", "-u", USER, "--password-stdin", registry.addr, input=b"nope\n")
    assert r.returncode == 1, r.err
    assert (f"Error response from daemon: login attempt to http://{registry.addr}/v2/ failed with status: "
            "401 Unauthorized") in r.err, r.err
    assert registry.addr not in stored_auths(config_dir)
    r = berth(daemon, config_dir, "login", "-u", USER, "--password-stdin", f"http://{registry.addr}/",
              input=PASSWORD.encode() + b"\n")
    assert r.returncode == 0 and r.out == "Login Succeeded\n", (r.out, r.err)
    path = os.path.join(config_dir, "config.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        doc = json.load(f)
    assert doc["psFormat"] == "{{.ID}}" and "other.example:5000" in doc["auths"], doc
    import base64
    assert base64.b64decode(doc["auths"][registry.addr]["auth"]).decode() == f"{USER}:{PASSWORD}"
    # No username, no terminal: docker's message.
    r = berth(daemon, config_dir, "login", registry.addr, input=b"")
    assert r.returncode == 0 and "existing credentials" in r.err, r.err
    r = berth(daemon, config_dir, "login", "--password-stdin", registry.addr, input=b"x\n")
    assert r.returncode == 1 and "Must provide --username with --password-stdin" in r.err

    # berth push and pull send the stored credentials; the docker CLI reads the same file.
    ref = f"{registry.addr}/berthcli:t"
    berth(daemon, config_dir, "tag", "busybox", ref)
    r = berth(daemon, config_dir, "push", ref)
    assert r.returncode == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == f"The push refers to repository [{registry.addr}/berthcli]", lines
    assert any(l.endswith(": Pushed") for l in lines), lines
    assert lines[-1].startswith("t: digest: sha256:") and " size: " in lines[-1], lines
    assert "\x1b[" not in r.out
    berth(daemon, config_dir, "rmi", ref)
    r = berth(daemon, config_dir, "pull", ref)
    assert r.returncode == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "t: Pulling from berthcli", lines
    assert any(l.endswith(": Already exists") for l in lines), lines  # busybox's layer
    assert lines[-3].startswith("Digest: sha256:"), lines
    assert lines[-2:] == [f"Status: Downloaded newer image for {ref}", ref], lines
    assert not any("Downloading" in l for l in lines), lines  # no byte counts off a terminal
    r = docker_cli(daemon, config_dir, "pull", ref)
    assert r.returncode == 0 and f"Status: Image is up to date for {ref}" in r.out, (r.out, r.err)

    r = berth(daemon, config_dir, "logout", registry.addr)
    assert r.returncode == 0 and r.out == f"Removing login credentials for {registry.addr}\n", r.out
    assert registry.addr not in stored_auths(config_dir)
    assert "other.example:5000" in stored_auths(config_dir)
    r = berth(daemon, config_dir, "logout", registry.addr)
    assert r.returncode == 0 and r.out == f"Not logged in to {registry.addr}\n", r.out
    berth(daemon, config_dir, "rmi", ref)
    r = berth(daemon, config_dir, "pull", ref)
    assert r.returncode == 1 and "unauthorized" in r.err, (r.out, r.err)


def test_berth_pull_on_a_terminal_draws_progress_bars(client, daemon, open_registry, config_dir):
    ref = f"{open_registry.addr}/tty:t"
    ct = client.containers.run("busybox", ["sh", "-c", "head -c 3000000 /dev/urandom > /big"], detach=True)
    ct.wait()
    ct.commit(f"{open_registry.addr}/tty", "t")
    ct.remove()
    assert berth(daemon, config_dir, "push", ref).returncode == 0
    client.images.remove(ref)  # its own layer goes with it
    env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST", "DOCKER_HOST")}
    env.update(DOCKER_HOST=daemon.host, DOCKER_CONFIG=config_dir)
    master, slave = pty.openpty()
    p = subprocess.Popen([berth_path(), "pull", ref], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(timeout=60) == 0, out
    text = out.decode(errors="replace")
    assert "\x1b[2K" in text and "\x1b[1A" in text, text  # lines rewritten in place
    assert "Downloading [" in text and "=>" in text and "MB/3." in text, text
    assert "Pull complete" in text and f"Status: Downloaded newer image for {ref}" in text, text


def test_run_pulls_a_missing_image_by_its_pull_policy(client, daemon, open_registry, config_dir):
    ref = f"{open_registry.addr}/runpull:t"
    client.images.get("busybox").tag(ref)
    assert berth(daemon, config_dir, "push", ref).returncode == 0
    client.images.remove(ref)
    r = berth(daemon, config_dir, "run", "--rm", "--pull", "never", ref, "echo", "hi")
    assert r.returncode == 125 and "No such image" in r.err, r.err
    r = berth(daemon, config_dir, "run", "--rm", "--pull", "sometimes", ref, "echo", "hi")
    assert r.returncode == 125 and "invalid pull option: 'sometimes'" in r.err, r.err
    r = berth(daemon, config_dir, "run", "--rm", ref, "echo", "hi")
    assert r.returncode == 0 and r.out == "hi\n", (r.out, r.err)
    assert f"Unable to find image '{ref}' locally" in r.err, r.err
    assert f"Status: Downloaded newer image for {ref}" in r.err, r.err
    r = berth(daemon, config_dir, "run", "--rm", "--pull", "always", ref, "echo", "again")
    assert r.returncode == 0 and r.out == "again\n", (r.out, r.err)
    assert f"Status: Image is up to date for {ref}" in r.err, r.err
    r = berth(daemon, config_dir, "create", "--pull", "always", "-q", ref)
    assert r.returncode == 0 and len(r.out.strip()) == 64, (r.out, r.err)
    # The docker CLI pulls a missing image through berthd too.
    client.images.remove(ref)
    r = docker_cli(daemon, config_dir, "run", "--rm", ref, "echo", "docker")
    assert r.returncode == 0 and r.out == "docker\n", (r.out, r.err)
