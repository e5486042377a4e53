"""berthd over the Docker Engine API: the Docker SDK for Python and the docker CLI drive a real
daemon on a temporary root; containers run for real (busybox image built offline)."""

import json
import os
import signal
import socket
import subprocess
import time

import docker
import pytest

from conftest import pid_alive, wait_until
from daemon_util import Daemon, busybox_daemon, load_busybox


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "m")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


def raw_request(sock_path, text):
    """Send a raw HTTP request, return (status, headers, body)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(text.encode() if isinstance(text, str) else text)
    data = b""
    s.settimeout(10)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return status, headers, body


# ---------- system ----------

def test_ping_version_info(daemon):
    api = daemon.api()
    assert api.ping()
    v = api.version()
    assert v["ApiVersion"] == "1.43" and v["MinAPIVersion"] == "1.24" and v["Os"] == "linux"
    info = api.info()
    for key in ("Containers", "ContainersRunning", "Images", "Driver", "KernelVersion", "NCPU", "MemTotal"):
        assert key in info
    assert info["Images"] >= 1
    status, headers, body = raw_request(daemon.sock, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and body == b"OK" and headers["api-version"] == "1.43"


def test_version_prefixes(daemon):
    for path in ("/version", "/v1.24/version", "/v1.43/version"):
        status, _, body = raw_request(daemon.sock, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200, path
    status, _, body = raw_request(daemon.sock, "GET /v1.99/version HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400 and b"is too new" in body
    status, _, body = raw_request(daemon.sock, "GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400 and b"is too old" in body
    status, _, body = raw_request(daemon.sock, "GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 404 and json.loads(body)["message"]


def test_docker_cli_version(daemon):
    r = daemon.cli("version", "--format", "{{.Server.APIVersion}}", check=True)
    assert r.stdout.decode().strip() == "1.43"


# ---------- containers through the SDK ----------

def test_run_output_and_exit_code(client):
    out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], stderr=True, remove=True)
    assert b"out\n" in out and b"err\n" in out
    with pytest.raises(docker.errors.ContainerError) as ei:
        client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    assert ei.value.exit_status == 3


def test_create_start_wait_inspect(client):
    c = client.containers.create("busybox", ["sh", "-c", "echo $FOO; hostname"], environment={"FOO": "bar"},
                                 name="insp", labels={"k": "v"})
    assert c.name == "insp" and c.status == "created"
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 0
    c.reload()
    st = c.attrs["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 0 and not st["Running"]
    assert st["StartedAt"] != "0001-01-01T00:00:00Z" and st["FinishedAt"] != "0001-01-01T00:00:00Z"
    assert c.attrs["Config"]["Labels"] == {"k": "v"} and c.attrs["Name"] == "/insp"
    assert c.attrs["Path"] == "sh" and c.attrs["Args"][0] == "-c"
    logs = c.logs().decode().split()
    assert logs == ["bar", c.id[:12]]


def test_logs_streams_and_options(client, daemon):
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4; do echo o$i; echo e$i >&2; done"],
                              detach=True)
    c.wait(timeout=30)
    assert c.logs(stdout=True, stderr=False).decode().split() == ["o1", "o2", "o3", "o4"]
    assert c.logs(stdout=False, stderr=True).decode().split() == ["e1", "e2", "e3", "e4"]
    only_out = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4; do echo $i; done"], detach=True)
    only_out.wait(timeout=30)
    assert only_out.logs(tail=2).decode().split() == ["3", "4"]
    assert only_out.logs(tail=0) == b""
    stamped = c.logs(stderr=False, timestamps=True).decode().splitlines()
    assert stamped[0].endswith(" o1") and stamped[0][:4].isdigit() and "T" in stamped[0]
    # The docker CLI splits the streams the same way.
    r = daemon.cli("logs", c.id, check=True)
    assert r.stdout.decode().split() == ["o1", "o2", "o3", "o4"]
    assert r.stderr.decode().split() == ["e1", "e2", "e3", "e4"]


def test_logs_follow_until_exit(client):
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"], detach=True)
    got = b"".join(c.logs(stream=True, follow=True))
    assert got.split() == [b"1", b"2", b"3"]


def test_stop_uses_sigterm_then_sigkill(client):
    trap = client.containers.run("busybox", ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"],
                                 detach=True)
    wait_until(lambda: trap.reload() or trap.status == "running")
    time.sleep(0.3)
    trap.stop(timeout=5)
    assert trap.wait(timeout=10)["StatusCode"] == 7
    stubborn = client.containers.run("busybox", ["sleep", "60"], detach=True)
    t = time.monotonic()
    stubborn.stop(timeout=1)
    assert time.monotonic() - t < 10
    stubborn.reload()
    assert stubborn.attrs["State"]["ExitCode"] == 137


def test_kill_pause_restart(client):
    c = client.containers.run("busybox", ["sleep", "60"], detach=True)
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    c.reload()
    assert c.status == "running"
    pid1 = c.attrs["State"]["Pid"]
    c.restart(timeout=0)
    c.reload()
    assert c.status == "running" and c.attrs["State"]["Pid"] != pid1
    c.kill()
    assert c.wait(timeout=10)["StatusCode"] == 137
    # A signal by name reaches the container's own handler (PID 1 ignores what it does not handle).
    t = client.containers.run("busybox", ["sh", "-c", "trap 'exit 12' USR1; while true; do sleep 0.1; done"],
                              detach=True)
    time.sleep(0.3)
    t.kill(signal="SIGUSR1")
    assert t.wait(timeout=10)["StatusCode"] == 12
    with pytest.raises(docker.errors.APIError) as ei:
        c.kill()
    assert ei.value.status_code == 409


def test_list_and_filters(client):
    a = client.containers.run("busybox", ["sleep", "60"], detach=True, name="lista", labels={"role": "a"})
    b = client.containers.create("busybox", ["true"], name="listb", labels={"role": "b"})
    names = [c.name for c in client.containers.list()]
    assert "lista" in names and "listb" not in names
    names = [c.name for c in client.containers.list(all=True)]
    assert names[:2] == ["listb", "lista"]  # newest first
    assert [c.name for c in client.containers.list(all=True, filters={"label": "role=b"})] == ["listb"]
    assert [c.name for c in client.containers.list(all=True, filters={"status": "created"})] == ["listb"]
    assert [c.name for c in client.containers.list(all=True, filters={"name": "lista"})] == ["lista"]
    assert [c.name for c in client.containers.list(all=True, filters={"id": b.id[:10]})] == ["listb"]
    with pytest.raises(docker.errors.APIError) as ei:
        client.containers.list(filters={"bogus": "x"})
    assert ei.value.status_code == 400
    a.remove(force=True)


def test_list_rows_follow_every_change(client, daemon):
    """GET /containers/json keeps rows per container: each change of state, name, network or
    limits shows in the next list, in the same shape as a row made afresh (after a restart)."""
    api = client.api

    def row(cid):
        rows = [r for r in api.containers(all=True) if r["Id"] == cid]
        assert len(rows) == 1, rows
        return rows[0]

    c = api.create_container("busybox", ["sh", "-c", "sleep 60"], name="rowa", labels={"k": "v"})
    cid = c["Id"]
    r = row(cid)
    assert r["State"] == "created" and r["Status"] == "Created" and r["Names"] == ["/rowa"]
    assert r["Labels"] == {"k": "v"} and r["Command"] == "sh -c 'sleep 60'"  # Docker's quotes
    api.start(cid)
    r = row(cid)
    assert r["State"] == "running" and r["Status"].startswith("Up ")
    api.pause(cid)
    assert row(cid)["State"] == "paused" and row(cid)["Status"].endswith("(Paused)")
    api.unpause(cid)
    assert row(cid)["State"] == "running" and not row(cid)["Status"].endswith("(Paused)")
    api.rename(cid, "rowb")
    assert row(cid)["Names"] == ["/rowb"]
    net = api.create_network("rownet")
    try:
        api.connect_container_to_network(cid, net["Id"])
        assert "rownet" in row(cid)["NetworkSettings"]["Networks"]
        api.disconnect_container_from_network(cid, net["Id"])
        assert "rownet" not in row(cid)["NetworkSettings"]["Networks"]
    finally:
        api.remove_network(net["Id"])
    api.kill(cid)
    api.wait(cid)
    r = row(cid)
    assert r["State"] == "exited" and r["Status"].startswith("Exited (137) ")
    api.start(cid)
    assert row(cid)["State"] == "running"
    api.remove_container(cid, force=True)
    assert not [x for x in api.containers(all=True) if x["Id"] == cid]


def test_remove_rules(client):
    c = client.containers.run("busybox", ["sleep", "60"], detach=True)
    with pytest.raises(docker.errors.APIError) as ei:
        c.remove()
    assert ei.value.status_code == 409 and "You cannot remove a running container" in str(ei.value)
    c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        c.reload()


def test_auto_remove(client):
    c = client.containers.run("busybox", ["true"], detach=True, auto_remove=True)
    api = client.api
    wait_until(lambda: not api.containers(all=True, filters={"id": c.id}), what="auto-removal")


def test_bad_requests_leave_daemon_intact(client, daemon):
    keep = client.containers.run("busybox", ["sleep", "60"], detach=True, name="keeper")
    api = daemon.api()
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("nosuchimage", ["true"])
    with pytest.raises(docker.errors.APIError) as ei:
        client.containers.create("busybox", ["true"], name="bad name!")
    assert ei.value.status_code == 400 and "Invalid container name" in str(ei.value)
    with pytest.raises(docker.errors.APIError) as ei:
        client.containers.create("busybox", ["true"], name="keeper")
    assert ei.value.status_code == 409 and "is already in use" in str(ei.value)
    with pytest.raises(docker.errors.NotFound):
        api.start("nosuchcontainer")
    body = b'{"Image": "busybox", "Cmd": ['
    status, _, resp = raw_request(daemon.sock, b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert status == 400 and b"invalid JSON" in resp
    status, _, resp = raw_request(daemon.sock, b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: 2\r\n\r\n{}")
    assert status == 400
    with pytest.raises(docker.errors.APIError) as ei:
        api.wait(keep.id, condition="bogus")
    assert ei.value.status_code == 400
    c = client.containers.create("busybox", ["/no/such/binary"])
    with pytest.raises(docker.errors.APIError) as ei:
        c.start()
    assert ei.value.status_code == 400 and "no/such/binary" in str(ei.value)
    c.reload()
    assert c.attrs["State"]["ExitCode"] == 127
    keep.reload()
    assert keep.status == "running"
    assert daemon.api().ping()


def test_mounts(client, session_dir):
    host_dir = os.path.join(session_dir, "bind-src")
    os.makedirs(host_dir, exist_ok=True)
    with open(os.path.join(host_dir, "f"), "w") as f:
        f.write("from host\n")
    missing = os.path.join(session_dir, "bind-missing", "sub")
    out = client.containers.run(
        "busybox", ["sh", "-c", "cat /h/f; echo v > /vol/x; cat /vol/x; touch /new/y && echo made; "
                    "mount | grep ' /t ' | grep -c tmpfs"],
        volumes={host_dir: {"bind": "/h", "mode": "ro"}, "namedvol": {"bind": "/vol", "mode": "rw"},
                 missing: {"bind": "/new", "mode": "rw"}},
        tmpfs={"/t": "size=1m"}, remove=True)
    assert out.decode().split("\n")[:4] == ["from host", "v", "made", "1"]
    assert os.path.isdir(missing)  # a -v source that is missing is made, as Docker does
    # The named volume keeps its content for the next container.
    out = client.containers.run("busybox", ["cat", "/vol/x"], volumes={"namedvol": {"bind": "/vol"}}, remove=True)
    assert out == b"v\n"


# ---------- the docker CLI ----------

def test_cli_run_attach_and_exit_codes(daemon):
    r = daemon.cli("run", "--rm", "busybox", "sh", "-c", "echo hello from berth; echo oops >&2; exit 5")
    assert r.returncode == 5
    assert r.stdout == b"hello from berth\n" and r.stderr == b"oops\n"
    r = daemon.cli("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input=b"piped stdin\n")
    assert r.returncode == 0 and r.stdout == b"PIPED STDIN\n"
    r = daemon.cli("run", "--rm", "busybox", "nosuchcommand")
    assert r.returncode == 127 and b"executable file not found" in r.stderr


def test_cli_lifecycle(daemon):
    cid = daemon.cli("run", "-d", "--name", "clil", "busybox", "sleep", "60", check=True).stdout.decode().strip()
    assert len(cid) == 64
    ps = daemon.cli("ps", "--format", "{{.Names}} {{.Status}}", check=True).stdout.decode()
    assert "clil Up" in ps
    assert daemon.cli("inspect", "-f", "{{.State.Status}}", "clil", check=True).stdout.strip() == b"running"
    daemon.cli("stop", "-t", "1", "clil", check=True)
    assert daemon.cli("inspect", "-f", "{{.State.ExitCode}}", "clil", check=True).stdout.strip() == b"137"
    daemon.cli("start", "clil", check=True)
    daemon.cli("kill", "clil", check=True)
    assert daemon.cli("wait", "clil", check=True).stdout.strip() == b"137"
    daemon.cli("rm", "clil", check=True)
    r = daemon.cli("rm", "clil")
    assert r.returncode != 0 and b"No such container: clil" in r.stderr


# ---------- nothing lost ----------

def test_live_restore_and_kill_9(session_dir, cgroup_parent):
    d = Daemon(session_dir, cgroup_parent, "r").start()
    try:
        load_busybox(d, session_dir)
        c = d.client()
        long = c.containers.run("busybox", ["sh", "-c", "echo before; sleep 2; echo after; exit 9"], detach=True,
                                name="survivor")
        pid = c.containers.get("survivor").attrs["State"]["Pid"]
        # A clean stop leaves it running; a new daemon adopts it and sees its end.
        assert d.stop() == 0
        assert pid_alive(pid)
        d.start()
        c = d.client()
        assert c.containers.get("survivor").status == "running"
        assert c.containers.get("survivor").wait(timeout=30)["StatusCode"] == 9
        assert c.containers.get("survivor").logs().split() == [b"before", b"after"]
        # kill -9 of the daemon: the monitor records the exit while no daemon watches.
        c.containers.run("busybox", ["sh", "-c", "sleep 1; exit 4"], detach=True, name="orphan")
        d.stop(signal.SIGKILL)
        time.sleep(2)
        d.start()
        c = d.client()
        o = c.containers.get("orphan")
        wait_until(lambda: o.reload() or o.status == "exited", what="orphan to be seen exited")
        assert o.attrs["State"]["ExitCode"] == 4
        assert [x.name for x in c.containers.list(all=True)] == ["orphan", "survivor"]
    finally:
        assert d.cleanup() == 0, d.read_log()


def test_wait_holds_an_autoremoved_container(daemon, client):
    """A wait begun before the start of an --rm container gives its exit code, however fast it
    ends and is removed (the docker CLI's `run --rm` waits so)."""
    api = daemon.api()
    for _ in range(20):
        cid = api.create_container("busybox", ["sh", "-c", "exit 3"],
                                   host_config=api.create_host_config(auto_remove=True))["Id"]
        s = socket.socket(socket.AF_UNIX)
        s.connect(daemon.sock)
        s.sendall(f"POST /v1.41/containers/{cid}/wait?condition=removed HTTP/1.1\r\n"
                  "Host: x\r\nContent-Length: 0\r\n\r\n".encode())
        s.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert b" 200 " in head.split(b"\r\n")[0]
        api.start(cid)
        body = head.partition(b"\r\n\r\n")[2]
        while b"StatusCode" not in body or b"}" not in body.partition(b"StatusCode")[2]:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        s.close()
        assert b'"StatusCode":3' in body, body
    api.close()


def test_init_reaps_and_forwards_signals(daemon, client):
    """--init: berth-init is PID 1, the command its child; orphans are reaped and a stop's
    SIGTERM reaches the command (exit 143, where a bare `sleep` as PID 1 would need SIGKILL)."""
    out = client.containers.run("busybox", ["sh", "-c", "(sleep 0.2 &); sleep 1; ps -o pid,stat,comm"],
                                init=True, remove=True).decode()
    rows = [line.split() for line in out.splitlines()[1:]]
    assert ["1", "S", "docker-init"] in [r[:3] for r in rows], out
    assert not any("Z" in r[1] for r in rows), out
    c = client.containers.run("busybox", ["sleep", "100"], init=True, detach=True)
    c.stop(timeout=30)
    assert c.wait()["StatusCode"] == 143
    assert c.attrs["HostConfig"]["Init"] is True
    r = daemon.cli("run", "--rm", "--init", "busybox", "sh", "-c", "exit 4")
    assert r.returncode == 4


def test_attach_registered_before_the_start(daemon):
    """The docker CLI attaches, then starts at once: the attach is registered before its 101, so
    that a start that comes first on the wire still sends the output to it."""
    for _ in range(25):
        r = daemon.cli("run", "--rm", "busybox", "echo", "hi")
        assert (r.returncode, r.stdout) == (0, b"hi\n"), r


def raw_attach(daemon, cid, query):
    """What an attach sends after its 101, read to the end on a raw connection (the SDK's
    reader keeps the bytes that follow the 101 to itself)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.sock)
    s.settimeout(20)
    s.sendall(f"POST /v1.41/containers/{cid}/attach?{query} HTTP/1.1\r\nHost: berth\r\n"
              "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    got = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return body


def test_attach_with_logs(daemon, client):
    """attach logs=1: the container's log so far first, then (stream=1) its live output; with
    stream=0 the log alone, also of a container that has stopped."""
    c = client.containers.run("busybox", ["sh", "-c", "echo early; echo oops >&2; read x; echo late"],
                              detach=True, stdin_open=True)
    wait_until(lambda: b"oops" in c.logs(), what="the first lines")
    assert raw_attach(daemon, c.id, "stdout=1&logs=1") == b"\1\0\0\0\0\0\0\6early\n"
    # A raw connection: the SDK's reader would keep the bytes that follow the 101 to itself.
    raw = socket.socket(socket.AF_UNIX)
    raw.connect(daemon.sock)
    raw.settimeout(20)
    raw.sendall(f"POST /v1.41/containers/{c.id}/attach?stdin=1&stdout=1&stderr=1&stream=1&logs=1 HTTP/1.1\r\n"
                "Host: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    got, said_go = b"", False
    while b"late" not in got:
        chunk = raw.recv(4096)
        if not chunk:
            break
        got += chunk
        if b"oops" in got and not said_go:  # the log is in: now the live part
            raw.sendall(b"go\n")
            said_go = True
    raw.close()
    head, _, got = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    frames = []
    while len(got) >= 8:
        size = int.from_bytes(got[4:8], "big")
        frames.append((got[0], got[8:8 + size]))
        got = got[8 + size:]
    assert frames == [(1, b"early\n"), (2, b"oops\n"), (1, b"late\n")], frames
    assert c.wait(timeout=20)["StatusCode"] == 0
    out = raw_attach(daemon, c.id, "stdout=1&stderr=1&logs=1")
    assert out == b"\1\0\0\0\0\0\0\6early\n\2\0\0\0\0\0\0\5oops\n\1\0\0\0\0\0\0\5late\n", out
    r = daemon.cli("attach", "--no-stdin", c.id)
    assert r.returncode == 1 and b"You cannot attach to a stopped container" in r.stderr, r
    c.remove()


def test_blkio_weight_without_a_weighing_scheduler(daemon, client):
    """BlkioWeight on a host whose cgroups cannot weigh I/O (no BFQ under v1's blkio, no v2 io
    controller): created and run without it, with Docker's warning; where the host can, the
    weight reaches the container's cgroup."""
    can = any(os.path.exists(f"/sys/fs/cgroup/blkio/{n}") for n in ("blkio.weight", "blkio.bfq.weight"))
    if not os.path.exists("/sys/fs/cgroup/blkio"):
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            can = "io" in f.read().split()
    r = client.api.create_container("busybox", ["sh", "-c", "echo ran"],
                                    host_config=client.api.create_host_config(blkio_weight=300))
    c = client.containers.get(r["Id"])
    if can:
        assert r["Warnings"] in ([], None), r
        assert c.attrs["HostConfig"]["BlkioWeight"] == 300
    else:
        assert r["Warnings"] == ["Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                                 "Weight discarded."], r
        assert c.attrs["HostConfig"]["BlkioWeight"] == 0
    c.start()
    assert c.wait(timeout=20)["StatusCode"] == 0 and c.logs() == b"ran\n"
    c.remove()
    # The docker CLI prints the warning and runs the container.
    out = daemon.cli("run", "--rm", "--blkio-weight", "300", "busybox", "echo", "ran")
    assert out.returncode == 0 and out.stdout == b"ran\n", out
    if not can:
        assert b"Weight discarded" in out.stderr, out
    # Docker discards first, then checks the range: out of range is an error only where it weighs.
    bad = daemon.cli("run", "--rm", "--blkio-weight", "5", "busybox", "true")
    if can:
        assert bad.returncode == 125 and b"Range of blkio weight is from 10 to 1000" in bad.stderr, bad
    else:
        assert bad.returncode == 0 and b"Weight discarded" in bad.stderr, bad


def test_update_resources_and_restart_policy(daemon, client):
    """docker update: new limits reach a running container's cgroup and its record; bad values
    are refused with Docker's words and change nothing."""
    c = client.containers.run("busybox", ["sleep", "100"], detach=True, mem_limit="64m", pids_limit=20)
    c.update(mem_limit="96m", memswap_limit="192m", cpu_shares=512,
             restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    daemon.cli("update", "--pids-limit", "30", c.id, check=True)
    c.reload()
    hc = c.attrs["HostConfig"]
    assert (hc["Memory"], hc["PidsLimit"], hc["CpuShares"]) == (96 << 20, 30, 512)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    stats = c.stats(stream=False)
    assert stats["memory_stats"]["limit"] == 96 << 20
    assert stats["pids_stats"]["limit"] == 30
    r = daemon.cli("update", "--memory", "4m", c.id)
    assert r.returncode != 0 and b"Minimum memory limit allowed is 6MB" in r.stderr
    c.reload()
    assert c.attrs["HostConfig"]["Memory"] == 96 << 20
    r = daemon.cli("update", "--pids-limit", "40", c.id, check=True)
    c.reload()
    assert c.attrs["HostConfig"]["PidsLimit"] == 40
    with pytest.raises(docker.errors.NotFound):
        client.api.update_container("no-such-container", mem_limit="64m")
    c.remove(force=True)


def test_oom_kill_is_reported(daemon, client):
    """A container the kernel's OOM killer ends: exit 137, State.OOMKilled, an `oom` event."""
    since = int(time.time()) - 1
    c = client.containers.run("busybox", ["sh", "-c", "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived"],
                              detach=True, mem_limit="32m", memswap_limit="32m")
    assert c.wait(timeout=60)["StatusCode"] == 137
    c.reload()
    assert c.attrs["State"]["OOMKilled"] is True
    events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                           filters={"container": c.id})
    assert "oom" in [ev.get("Action") for ev in events]
    ok = client.containers.run("busybox", "true", detach=True, mem_limit="32m")
    ok.wait()
    ok.reload()
    assert ok.attrs["State"]["OOMKilled"] is False


def container_processes(daemon, cid):
    """The PIDs in the container's cgroup (v1's pids controller, or the unified hierarchy)."""
    rel = f"{daemon.cgroup_parent.lstrip('/')}/berth-{cid}/cgroup.procs"
    for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        try:
            with open(os.path.join(root, rel)) as f:
                return [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            continue
    return []


def test_start_never_recorded_is_ended_at_restart(session_dir, cgroup_parent):
    """A kill -9 between the monitor's go and the record of the start: the container runs while
    its record says created. Made here by starting a container, killing the daemon and putting
    the record back as it was before the start. The next daemon ends that container (its start
    was never acknowledged) and the record stays created; it starts again cleanly."""
    import sqlite3
    d = Daemon(session_dir, cgroup_parent, "g").start()
    try:
        load_busybox(d, session_dir)
        api = d.api()
        cid = api.create_container("busybox", ["sleep", "300"], name="unrecorded")["Id"]
        db = os.path.join(d.data_root, "berth.db")
        con = sqlite3.connect(db)
        (created,) = con.execute("SELECT doc FROM engine_containers WHERE id = ?", (cid,)).fetchone()
        con.close()
        api.start(cid)
        pid = api.inspect_container(cid)["State"]["Pid"]
        assert pid_alive(pid)
        api.close()
        d.stop(signal.SIGKILL)
        con = sqlite3.connect(db)
        con.execute("UPDATE engine_containers SET doc = ? WHERE id = ?", (created, cid))
        con.commit()
        con.close()
        d.start()
        api = d.api()
        assert api.inspect_container(cid)["State"]["Status"] == "created"
        wait_until(lambda: not pid_alive(pid), what="the unacknowledged container to end")
        assert not container_processes(d, cid)
        api.start(cid)
        assert api.inspect_container(cid)["State"]["Status"] == "running"
        api.remove_container(cid, force=True)
        api.close()
    finally:
        assert d.cleanup() == 0, d.read_log()


def test_kill_9_during_50_concurrent_runs(session_dir, cgroup_parent):
    """kill -9 of berthd while 50 `run -d` are under way: after a restart every container is
    whole (running with its monitor, or created or exited), the containers whose start was
    acknowledged are running, nothing is mounted or on disk for a container that is not there,
    and the running ones end with their own exit codes; a container that is not running has no
    process left (a start cut between the monitor's go and its record is ended)."""
    import threading
    d = Daemon(session_dir, cgroup_parent, "k").start()
    try:
        load_busybox(d, session_dir)
        started, lock = [], threading.Lock()
        cmd = ["sh", "-c", "trap 'exit 7' TERM; sleep 300 & wait"]

        def run_one(i):
            api = d.api()
            try:
                cid = api.create_container("busybox", cmd, name=f"crash{i}")["Id"]
                api.start(cid)
                with lock:
                    started.append(cid)
            except Exception:
                pass  # the daemon died under it: whatever it left must be whole
            finally:
                api.close()

        threads = [threading.Thread(target=run_one, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        wait_until(lambda: len(started) >= 10, timeout=60, what="10 starts")
        d.stop(signal.SIGKILL)
        for t in threads:
            t.join(timeout=60)
        d.start()
        api = d.api()
        listed = api.containers(all=True)
        ids = {c["Id"] for c in listed}
        assert set(started) <= ids
        for c in listed:
            st = api.inspect_container(c["Id"])["State"]
            if c["Id"] in started:
                assert st["Status"] == "running", (c["Id"], st)
            assert st["Status"] in ("running", "created", "exited"), st
            if st["Status"] == "running":
                assert pid_alive(st["Pid"])
        # Nothing on disk or mounted for a container the daemon does not know.
        on_disk = set(os.listdir(os.path.join(d.data_root, "containers")))
        assert on_disk <= ids, on_disk - ids
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        ctr_dir = os.path.join(d.data_root, "containers") + "/"
        mounted = {m[len(ctr_dir):].split("/")[0] for m in mounts if m.startswith(ctr_dir)}
        assert mounted <= ids, mounted - ids
        running = [c["Id"] for c in listed if api.inspect_container(c["Id"])["State"]["Status"] == "running"]
        for cid in ids - set(running):
            assert not container_processes(d, cid), (cid, api.inspect_container(cid)["State"])
        # The running ones end with their own codes.
        for cid in running:
            api.stop(cid, timeout=20)
            assert api.inspect_container(cid)["State"]["ExitCode"] == 7
        api.close()
    finally:
        assert d.cleanup() == 0, d.read_log()
