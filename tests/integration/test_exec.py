"""exec in berthd: create, start (hijacked, detached, with a terminal), inspect and resize through
the Docker SDK for Python, raw requests and the docker CLI, against a real daemon."""

import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time

import docker
import pytest

from conftest import pid_alive, wait_until
from daemon_util import Daemon, berthd_path, busybox_daemon, load_busybox
from test_daemon import raw_request


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "x")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


@pytest.fixture
def ctr(client):
    return client.containers.run("busybox", ["sleep", "300"], detach=True, environment={"FROM_CTR": "yes"},
                                 name="target")


def read_frames(sock):
    """Read a multiplexed stream to its end: (stdout, stderr)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    out = {1: b"", 2: b""}
    while data:
        kind, size = struct.unpack(">BxxxL", data[:8])
        out[kind] += data[8:8 + size]
        data = data[8 + size:]
    return out[1], out[2]


def raw_socket(sock):
    """The socket under the SDK's hijacked response."""
    return getattr(sock, "_sock", sock)


def wait_exec_done(api, exec_id, timeout=30):
    """Until it has run and ended (a start launches the process a moment after its 101)."""
    def done():
        doc = api.exec_inspect(exec_id)
        return not doc["Running"] and doc["ExitCode"] is not None
    wait_until(done, timeout=timeout, what="the exec to end")
    return api.exec_inspect(exec_id)


# ---------- the SDK ----------

def test_exec_run_output_and_exit_code(ctr):
    r = ctr.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"], demux=True)
    assert r.exit_code == 3
    assert r.output == (b"out\n", b"err\n")
    r = ctr.exec_run("echo hello")
    assert r.exit_code == 0 and r.output == b"hello\n"


def test_exec_environment_workdir_user(ctr):
    env = ctr.exec_run("env", environment={"FOO": "bar", "FROM_CTR": "exec"}).output.decode().split("\n")
    assert "FOO=bar" in env and "FROM_CTR=exec" in env
    assert any(line.startswith("PATH=") for line in env) and any(line.startswith("HOSTNAME=") for line in env)
    assert not any(line.startswith("TERM=") for line in env)
    env = ctr.exec_run("env").output.decode().split("\n")
    assert "FROM_CTR=yes" in env and "HOME=/root" in env
    assert ctr.exec_run("pwd", workdir="/tmp").output == b"/tmp\n"
    assert ctr.exec_run("pwd").output == b"/\n"
    assert ctr.exec_run("id -u -n", user="nobody").output == b"nobody\n"
    assert ctr.exec_run(["sh", "-c", "echo $(id -u):$(id -g) $HOME"], user="1234:1001").output == b"1234:1001 /\n"
    with pytest.raises(docker.errors.APIError) as err:
        ctr.exec_run("id", user="nosuchuser")
    assert err.value.status_code == 400
    assert "unable to find user nosuchuser: no matching entries in passwd file" in err.value.explanation


def test_exec_privileged_gets_all_capabilities(ctr):
    def cap_eff(**kw):
        status = ctr.exec_run("cat /proc/self/status", **kw).output.decode()
        return int([l for l in status.split("\n") if l.startswith("CapEff:")][0].split()[1], 16)
    default, privileged = cap_eff(), cap_eff(privileged=True)
    assert default == 0xa80425fb  # Docker's default set, as the container's own process has it
    assert privileged & default == default and privileged > default


def test_exec_exit_codes_of_docker(ctr):
    assert ctr.exec_run("true").exit_code == 0
    r = ctr.exec_run("nosuchbinary")
    assert r.exit_code == 127 and b"executable file not found" in r.output
    assert ctr.exec_run("/etc/passwd").exit_code == 126
    assert ctr.exec_run(["sh", "-c", "exit 3"]).exit_code == 3


def test_exec_detach_and_inspect(client, ctr):
    api = client.api
    r = ctr.exec_run(["sh", "-c", "sleep 1; echo done > /tmp/detached; exit 5"], detach=True)
    assert r.exit_code is None
    exec_id = api.exec_create(ctr.id, ["sh", "-c", "sleep 1; exit 4"], stdin=True, tty=False)["Id"]
    before = api.exec_inspect(exec_id)
    assert before["Running"] is False and before["ExitCode"] is None and before["Pid"] == 0
    assert before["ContainerID"] == ctr.id and before["OpenStdin"] is True and before["CanRemove"] is False
    assert before["ProcessConfig"] == {"tty": False, "entrypoint": "sh", "arguments": ["-c", "sleep 1; exit 4"],
                                       "privileged": False, "user": ""}
    t0 = time.monotonic()
    assert api.exec_start(exec_id, detach=True) == ""
    assert time.monotonic() - t0 < 1
    running = api.exec_inspect(exec_id)
    assert running["Running"] is True and running["Pid"] > 0 and running["ExitCode"] is None
    done = wait_exec_done(api, exec_id)
    assert done["ExitCode"] == 4 and done["Pid"] == 0
    wait_until(lambda: ctr.exec_run("cat /tmp/detached").output == b"done\n", what="the detached exec's file")
    # Started once only.
    with pytest.raises(docker.errors.APIError) as err:
        api.exec_start(exec_id, detach=True)
    assert err.value.status_code == 409 and "has already run" in err.value.explanation


def test_exec_stdin_over_a_socket(client, ctr):
    api = client.api
    exec_id = api.exec_create(ctr.id, ["sh", "-c", "tr a-z A-Z; echo bye >&2"], stdin=True)["Id"]
    sock = raw_socket(api.exec_start(exec_id, socket=True))
    sock.sendall(b"hello exec\n")
    sock.shutdown(socket.SHUT_WR)
    out, err = read_frames(sock)
    sock.close()
    assert out == b"HELLO EXEC\n" and err == b"bye\n"
    assert wait_exec_done(api, exec_id)["ExitCode"] == 0


def test_exec_outlives_the_connection_that_started_it(daemon, client, ctr):
    api = client.api
    # Detached, on a connection closed at once.
    detached = api.exec_create(ctr.id, ["sh", "-c", "sleep 1; echo one > /tmp/one"])["Id"]
    body = '{"Detach":true}'
    status, _, _ = raw_request(daemon.sock, (
        f"POST /v1.41/exec/{detached}/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"))
    assert status == 200
    # Attached, the client gone before the process ends.
    attached = api.exec_create(ctr.id, ["sh", "-c", "sleep 1; echo two > /tmp/two; echo lost"])["Id"]
    raw_socket(api.exec_start(attached, socket=True)).close()
    assert wait_exec_done(api, detached)["ExitCode"] == 0
    assert wait_exec_done(api, attached)["ExitCode"] == 0
    assert ctr.exec_run("cat /tmp/one /tmp/two").output == b"one\ntwo\n"


def test_exec_tty_and_resize(client, ctr):
    api = client.api
    r = ctr.exec_run("tty", tty=True)
    assert r.exit_code == 0 and r.output.startswith(b"/dev/pts/")
    assert b"TERM=xterm" in ctr.exec_run("env", tty=True).output
    exec_id = api.exec_create(ctr.id, ["sh", "-c", "sleep 1; stty size"], tty=True)["Id"]
    sock = raw_socket(api.exec_start(exec_id, tty=True, socket=True))
    api.exec_resize(exec_id, height=33, width=101)
    data = b""
    sock.settimeout(20)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data == b"33 101\r\n"  # raw: no frames with a terminal
    assert wait_exec_done(api, exec_id)["ProcessConfig"]["tty"] is True


def read_until(sock, want, timeout=20):
    sock.settimeout(timeout)
    data = b""
    while want not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_to_end(sock, timeout=20):
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_exec_detach_keys_leave_the_process_running(client, ctr):
    api = client.api
    # Docker's default keys, ctrl-p ctrl-q, with a terminal.
    exec_id = api.exec_create(ctr.id, ["cat"], stdin=True, tty=True)["Id"]
    sock = raw_socket(api.exec_start(exec_id, tty=True, socket=True))
    sock.sendall(b"ping\n")
    assert b"ping" in read_until(sock, b"ping\r\nping")
    sock.sendall(b"\x10\x11")
    read_to_end(sock)  # the daemon ends the session
    sock.close()
    assert api.exec_inspect(exec_id)["Running"] is True
    # Keys of its own: ctrl-p ctrl-q go through, ctrl-x detaches.
    exec_id = api.exec_create(ctr.id, ["cat"], stdin=True, tty=True, detach_keys="ctrl-x")["Id"]
    sock = raw_socket(api.exec_start(exec_id, tty=True, socket=True))
    sock.sendall(b"\x10\x11pong\n")
    data = b""
    while data.count(b"pong") < 2:  # the terminal's echo, then cat's
        more = read_until(sock, b"pong")
        assert more, data
        data += more
    sock.sendall(b"\x18")
    read_to_end(sock)
    sock.close()
    assert api.exec_inspect(exec_id)["Running"] is True
    with pytest.raises(docker.errors.APIError) as err:
        api.exec_create(ctr.id, ["cat"], detach_keys="ctrl-1")
    assert err.value.status_code == 400 and "Invalid escape keys (ctrl-1) provided" in err.value.explanation


def test_attach_detach_keys(client):
    api = client.api
    c = client.containers.run("busybox", ["cat"], detach=True, tty=True, stdin_open=True)
    sock = raw_socket(api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stream": 1}))
    sock.sendall(b"attached\n")
    assert b"attached" in read_until(sock, b"attached\r\nattached")
    sock.sendall(b"\x10\x11")
    read_to_end(sock)
    sock.close()
    c.reload()
    assert c.status == "running"
    with pytest.raises(docker.errors.APIError) as err:
        api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stream": 1, "detachKeys": "ctrl-"})
    assert err.value.status_code == 400 and "Invalid detach keys (ctrl-) provided" in err.value.explanation


def test_exec_events(client, ctr):
    api = client.api
    since = int(time.time()) - 1
    r = ctr.exec_run(["sh", "-c", "exit 2"])
    assert r.exit_code == 2
    until = int(time.time()) + 1
    events = [e for e in api.events(since=since, until=until, decode=True, filters={"container": ctr.id})
              if e["Action"].startswith("exec_")]
    assert [e["Action"] for e in events] == ["exec_create: sh -c exit 2", "exec_start: sh -c exit 2", "exec_die"]
    assert len({e["Actor"]["Attributes"]["execID"] for e in events}) == 1
    assert events[2]["Actor"]["Attributes"]["exitCode"] == "2"
    assert all(e["Type"] == "container" and e["Actor"]["ID"] == ctr.id for e in events)


def test_exec_console_size_from_create_or_start(daemon, client, ctr):
    def create(body):
        text = json.dumps(body)
        status, _, resp = raw_request(daemon.sock, (
            f"POST /v1.43/containers/{ctr.id}/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(text)}\r\n\r\n{text}"))
        assert status == 201, resp
        return json.loads(resp)["Id"]

    def output(exec_id):
        return read_to_end(raw_socket(client.api.exec_start(exec_id, tty=True, socket=True)))

    assert output(create({"Cmd": ["stty", "size"], "Tty": True, "AttachStdout": True,
                          "ConsoleSize": [20, 70]})) == b"20 70\r\n"
    # The start's size wins (docker-py sends none; a raw start does).
    exec_id = create({"Cmd": ["stty", "size"], "Tty": True, "AttachStdout": True, "ConsoleSize": [20, 70]})
    body = '{"Tty":true,"ConsoleSize":[30,90]}'
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.sock)
    s.sendall((f"POST /v1.43/exec/{exec_id}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
    data = read_to_end(s)
    s.close()
    assert data.startswith(b"HTTP/1.1 101") and data.endswith(b"\r\n\r\n30 90\r\n"), data
    bad = '{"Cmd":["true"],"ConsoleSize":[1,2,3]}'
    status, _, resp = raw_request(daemon.sock, (
        f"POST /v1.43/containers/{ctr.id}/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(bad)}\r\n\r\n{bad}"))
    assert status == 400 and b"ConsoleSize" in resp


def test_exec_in_pid_namespace_without_daemon_fds(ctr):
    ps = ctr.exec_run("ps -o pid,comm").output.decode().split("\n")
    assert any(line.split() == ["1", "sleep"] for line in ps), ps
    # The shell's own descriptors (`; true` keeps it from exec'ing ls in its place).
    fds = ctr.exec_run(["sh", "-c", "ls /proc/$$/fd; true"]).output.decode().split()
    assert sorted(fds) == ["0", "1", "2"], fds
    # With a terminal too.
    fds = ctr.exec_run(["sh", "-c", "ls /proc/$$/fd; true"], tty=True).output.decode().split()
    assert sorted(fds) == ["0", "1", "2"], fds


# ---------- errors ----------

def test_exec_into_stopped_or_paused_container_is_409(client, ctr):
    api = client.api
    pending = api.exec_create(ctr.id, "true")["Id"]
    ctr.pause()
    try:
        with pytest.raises(docker.errors.APIError) as err:
            api.exec_create(ctr.id, "true")
        assert err.value.status_code == 409 and "is paused" in err.value.explanation
        with pytest.raises(docker.errors.APIError) as err:
            api.exec_start(pending, detach=True)
        assert err.value.status_code == 409
    finally:
        ctr.unpause()
    ctr.kill()
    ctr.wait(timeout=10)
    with pytest.raises(docker.errors.APIError) as err:
        api.exec_create(ctr.id, "true")
    assert err.value.status_code == 409 and f"Container {ctr.id} is not running" in err.value.explanation
    with pytest.raises(docker.errors.APIError) as err:
        api.exec_start(pending)
    assert err.value.status_code == 409 and "is not running" in err.value.explanation


def test_exec_into_a_restarting_container_is_409(client):
    c = client.containers.run("busybox", ["sh", "-c", "exit 1"], detach=True,
                              restart_policy={"Name": "on-failure", "MaximumRetryCount": 50})
    # Its back-off doubles at each exit: soon it waits long enough to be caught waiting.
    wait_until(lambda: c.reload() or (c.attrs["State"]["Restarting"] and c.attrs["RestartCount"] >= 3),
               what="the container to wait for its restart")
    with pytest.raises(docker.errors.APIError) as err:
        client.api.exec_create(c.id, "true")
    assert err.value.status_code == 409 and "is restarting" in err.value.explanation
    c.remove(force=True)


def test_unknown_exec_is_404(client, ctr):
    api = client.api
    for call in (lambda: api.exec_inspect("nosuchexec"), lambda: api.exec_start("nosuchexec", detach=True),
                 lambda: api.exec_resize("nosuchexec", height=10, width=10)):
        with pytest.raises(docker.errors.NotFound) as err:
            call()
        assert "No such exec instance: nosuchexec" in err.value.explanation
    with pytest.raises(docker.errors.NotFound):
        api.exec_create("nosuchcontainer", "true")


def test_bad_exec_bodies_are_400(daemon, client, ctr):
    def post(path, body):
        text = body if isinstance(body, str) else json.dumps(body)
        req = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(text)}\r\n\r\n{text}")
        status, _, resp = raw_request(daemon.sock, req)
        return status, json.loads(resp or b"{}").get("message", "")
    path = f"/v1.41/containers/{ctr.id}/exec"
    assert post(path, "{not json")[0] == 400
    assert post(path, "")[0] == 400
    assert post(path, {"Cmd": "echo"}) == (400, "exec config: Cmd: expected an array of strings, got a string")
    assert post(path, {"Cmd": []}) == (400, "No exec command specified")
    assert post(path, {"Cmd": ["true"], "Tty": "yes"})[0] == 400
    assert post(path, {"Cmd": ["true"], "Env": [1]})[0] == 400
    assert post(path, {"Cmd": ["pwd"], "WorkingDir": "relative"})[0] == 400
    assert post(path, {"Cmd": ["true"], "DetachKeys": "ctrl-"})[0] == 400
    status, _, body = raw_request(daemon.sock, (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
        '{"Cmd":["true"]}'))
    assert status == 201
    exec_id = json.loads(body)["Id"]
    assert post(f"/exec/{exec_id}/start", "[")[0] == 400
    assert post(f"/exec/{exec_id}/start", {"Detach": "no"})[0] == 400
    assert post(f"/exec/{exec_id}/start", {"ConsoleSize": [1]})[0] == 400
    assert post(f"/exec/{exec_id}/resize?h=x&w=1", "")[0] == 400
    # Nothing was started by the bad requests; the daemon goes on.
    assert client.api.exec_inspect(exec_id)["Running"] is False
    assert post(f"/exec/{exec_id}/start", {"Detach": True})[0] == 200
    assert wait_exec_done(client.api, exec_id)["ExitCode"] == 0
    assert ctr.exec_run("echo still").output == b"still\n"


def test_plain_200_stream_without_upgrade(daemon, ctr, client):
    exec_id = client.api.exec_create(ctr.id, ["sh", "-c", "echo plain; echo e >&2"])["Id"]
    body = '{"Detach":false,"Tty":false}'
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.sock)
    s.sendall((f"POST /v1.41/exec/{exec_id}/start HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
    data = b""
    s.settimeout(20)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == b"200"
    assert b"application/vnd.docker.multiplexed-stream" in head
    assert payload == b"\x01\x00\x00\x00\x00\x00\x00\x06plain\n\x02\x00\x00\x00\x00\x00\x00\x02e\n"


# ---------- lifetime ----------

def test_exec_records_live_until_the_container_is_removed(client, ctr):
    api = client.api
    finished = api.exec_create(ctr.id, "true")["Id"]
    api.exec_start(finished)
    running = api.exec_create(ctr.id, "sleep 100")["Id"]
    api.exec_start(running, detach=True)
    ctr.stop(timeout=1)
    # The container stopped: its execs are still there, the running one ended with it.
    assert api.exec_inspect(finished)["ExitCode"] == 0
    assert wait_exec_done(api, running)["ExitCode"] == 137
    ctr.remove()
    for exec_id in (finished, running):
        with pytest.raises(docker.errors.NotFound):
            api.exec_inspect(exec_id)


def test_exec_ends_with_a_container_sharing_the_hosts_pid_namespace(client):
    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True, pid_mode="host")
    api = client.api
    exec_id = api.exec_create(ctr.id, ["sleep", "300"])["Id"]
    api.exec_start(exec_id, detach=True)
    pid = api.exec_inspect(exec_id)["Pid"]
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    ctr.stop(timeout=1)
    # No pid namespace takes it down with the init: the container's cgroup is emptied.
    assert wait_exec_done(api, exec_id)["ExitCode"] == 137


def test_exec_survives_daemon_restart(session_dir, cgroup_parent):
    d = Daemon(session_dir, cgroup_parent, "xr").start()
    try:
        load_busybox(d, session_dir)
        c = d.client()
        ctr = c.containers.run("busybox", ["sleep", "300"], detach=True)
        api = c.api
        # Each waits for a file the test makes, so that it ends when the test says.
        execs = {}
        for name, code in (("one", 6), ("two", 7)):
            execs[name] = api.exec_create(ctr.id, ["sh", "-c", f"while [ ! -e /tmp/go-{name} ]; do sleep 0.1; done; "
                                                   f"echo {name} > /tmp/{name}; exit {code}"])["Id"]
            api.exec_start(execs[name], detach=True)
        pid_two = api.exec_inspect(execs["two"])["Pid"]
        c.close()
        # A clean stop: the execs go on, the next daemon adopts them; "one" ends under it.
        assert d.stop() == 0
        d.start()
        api = d.client().api
        assert api.exec_inspect(execs["one"])["Running"] is True
        ctr = d.client().containers.get(ctr.id)
        ctr.exec_run("touch /tmp/go-one")
        assert wait_exec_done(api, execs["one"])["ExitCode"] == 6
        # kill -9 of the daemon: "two" ends while no daemon watches; the next one reads how.
        d.stop(signal.SIGKILL)
        # The container's root, as the daemon mounted it (the test shares its mount namespace).
        open(os.path.join(ctr.attrs["GraphDriver"]["Data"]["MergedDir"], "tmp", "go-two"), "w").close()
        wait_until(lambda: not pid_alive(pid_two), what="the exec to end")
        d.start()
        api = d.client().api
        assert wait_exec_done(api, execs["two"])["ExitCode"] == 7
        assert d.client().containers.get(ctr.id).exec_run("cat /tmp/one").output == b"one\n"
    finally:
        assert d.cleanup() == 0, d.read_log()


def test_monitor_binary_not_writable_from_container(session_dir, cgroup_parent):
    """CVE-2019-5736 through berthd: a container whose /bin/evil names /proc/self/exe as its
    interpreter makes every exec run the binary the exec's process came from, and tries to write
    to it through /proc/PID/exe. The daemon runs from copies of berthd and berth-monitor here:
    neither may change, and nothing is written."""
    from test_runtime_isolation import ATTACK
    copies = os.path.join(session_dir, "binaries-attacked")
    os.makedirs(copies, exist_ok=True)
    build = os.path.dirname(os.path.realpath(berthd_path()))
    for name in ("berthd", "berth-monitor", "berth-init"):
        shutil.copy2(os.path.join(build, name), copies)
    digests = {name: file_digest(os.path.join(copies, name)) for name in ("berthd", "berth-monitor")}
    d = Daemon(session_dir, cgroup_parent, "xa", berthd=os.path.join(copies, "berthd")).start()
    try:
        load_busybox(d, session_dir)
        c = d.client()
        ctr = c.containers.run("busybox", ["sh", "-c", ATTACK], detach=True, privileged=True)
        wait_until(lambda: ctr.exec_run("test -e /ready").exit_code == 0, what="the attacker")
        for _ in range(10):
            ctr.exec_run("/bin/evil")  # may fail: only the binaries matter
            ctr.exec_run("true")
        ctr.exec_run("touch /stop")
        wait_until(lambda: b"attack-done" in ctr.logs(), timeout=30, what="the attacker to stop")
        assert b"WROTE" not in ctr.logs(), ctr.logs()
        c.close()
    finally:
        assert d.cleanup() == 0, d.read_log()
    for name, digest in digests.items():
        assert file_digest(os.path.join(copies, name)) == digest, f"{name} was overwritten from a container"


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------- the docker CLI ----------

def test_cli_exec(daemon, ctr):
    r = daemon.cli("exec", "target", "sh", "-c", "echo hi; echo oops >&2")
    assert r.returncode == 0 and r.stdout == b"hi\n" and r.stderr == b"oops\n"
    r = daemon.cli("exec", "-e", "A=b", "-w", "/tmp", "-u", "nobody", "target", "sh", "-c", 'echo $A $(pwd) $(id -u)')
    assert r.returncode == 0 and r.stdout == b"b /tmp 65534\n"
    r = daemon.cli("exec", "-i", "target", "tr", "a-z", "A-Z", input=b"piped stdin\n")
    assert r.returncode == 0 and r.stdout == b"PIPED STDIN\n"
    assert daemon.cli("exec", "target", "sh", "-c", "exit 3").returncode == 3
    r = daemon.cli("exec", "target", "nosuchbinary")
    assert r.returncode == 127 and b"executable file not found" in r.stdout + r.stderr
    assert daemon.cli("exec", "target", "/etc/passwd").returncode == 126
    r = daemon.cli("exec", "-d", "target", "sh", "-c", "echo d > /tmp/cli-d")
    assert r.returncode == 0
    wait_until(lambda: daemon.cli("exec", "target", "cat", "/tmp/cli-d").stdout == b"d\n",
               what="the detached exec's file")
    r = daemon.cli("exec", "nosuchcontainer", "true")
    assert r.returncode != 0 and b"No such container: nosuchcontainer" in r.stderr


def test_cli_exec_with_a_terminal(daemon, ctr):
    r = daemon.cli("exec", "-t", "target", "tty")
    assert r.returncode == 0 and r.stdout == b"/dev/pts/0\r\n"
    if not shutil.which("script"):
        pytest.skip("script(1) is needed for a terminal on the CLI's side")
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=os.path.join(daemon.dir, "docker-config"))
    # The CLI sizes the exec's terminal as its own (40x120), input goes through it, the exit code comes back.
    r = subprocess.run(["script", "-qec", "stty rows 40 cols 120; docker exec -it target sh", "/dev/null"],
                       input=b"stty size; echo in-tty $((6*7))\nexit 7\n", capture_output=True, env=env, timeout=60)
    assert r.returncode == 7, r
    assert b"40 120\r\n" in r.stdout and b"in-tty 42\r\n" in r.stdout


def test_cli_exec_stopped_container(daemon, ctr):
    ctr.kill()
    ctr.wait(timeout=10)
    r = daemon.cli("exec", "target", "true")
    assert r.returncode != 0 and b"is not running" in r.stderr
