"""top, stats and events of berthd, through the Docker SDK and the docker CLI, against a real daemon
on a temporary root (memory limits and pids counted by the container's real cgroup)."""

import json
import signal
import threading
import time

import docker
import pytest

from daemon_util import busybox_daemon

ZERO_TIME = "0001-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "tse")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


def sleepers(client, name, **kw):
    """A container with three known processes: sleep 300, sleep 301 and (its PID 1) sleep 302."""
    return client.containers.run("busybox", ["sh", "-c", "sleep 300 & sleep 301 & exec sleep 302"], name=name,
                                 detach=True, **kw)


def wait_pids(container, n, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = container.top(ps_args="-o pid,args")["Processes"]
        if len(procs) >= n:
            return procs
        time.sleep(0.05)
    raise AssertionError(f"{container.name}: fewer than {n} processes: {procs}")


# ---------- top ----------

def test_top_lists_the_containers_processes_only(client):
    c = sleepers(client, "top1")
    wait_pids(c, 3)
    out = c.top()
    assert out["Titles"][:2] == ["UID", "PID"] and out["Titles"][-1] == "CMD"
    cmds = sorted(p[-1] for p in out["Processes"])
    assert cmds == ["sleep 300", "sleep 301", "sleep 302"], out
    assert all(len(p) == len(out["Titles"]) for p in out["Processes"])
    # ps options of the caller's choosing; the last column keeps its spaces.
    out = c.top(ps_args="-o pid,comm,args")
    assert out["Titles"] == ["PID", "COMMAND", "COMMAND"]
    assert sorted(p[2] for p in out["Processes"]) == ["sleep 300", "sleep 301", "sleep 302"]
    assert all(p[1] == "sleep" and int(p[0]) > 0 for p in out["Processes"])
    # Options that refuse ps's -q still work (ps runs without it, we filter).
    out = c.top(ps_args="axf")
    assert len(out["Processes"]) == 3


def test_top_errors(client, daemon):
    api = daemon.api()
    with pytest.raises(docker.errors.NotFound) as ei:
        api.top("no-such-container")
    assert "No such container: no-such-container" in str(ei.value)
    created = client.containers.create("busybox", ["true"], name="top-created")
    with pytest.raises(docker.errors.APIError) as ei:
        created.top()
    assert ei.value.status_code == 409 and "is not running" in str(ei.value)
    c = sleepers(client, "top-errors")
    with pytest.raises(docker.errors.APIError) as ei:
        c.top(ps_args="--no-such-option")
    assert ei.value.status_code == 500 and "ps: " in ei.value.explanation
    with pytest.raises(docker.errors.APIError) as ei:
        c.top(ps_args="-o pid,user=PID")
    assert ei.value.status_code == 400 and 'specifying "pid,user=PID" is not allowed' in ei.value.explanation
    # The daemon and the container are as they were.
    assert len(c.top()["Processes"]) == 3


def test_top_cli(client, daemon):
    c = sleepers(client, "top-cli")
    wait_pids(c, 3)
    out = daemon.cli("top", "top-cli", check=True).stdout.decode()
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"] and len(lines) == 4, out
    assert "sleep 302" in out
    r = daemon.cli("top", "top-cli", "-o", "pid,comm", check=True)
    assert r.stdout.decode().split()[:2] == ["PID", "COMMAND"]


# ---------- stats ----------

def check_cpu(cpu):
    assert cpu["cpu_usage"]["total_usage"] > 0
    assert {"usage_in_kernelmode", "usage_in_usermode"} <= cpu["cpu_usage"].keys()
    assert cpu["system_cpu_usage"] > 0 and cpu["online_cpus"] >= 1
    assert cpu["throttling_data"].keys() == {"periods", "throttled_periods", "throttled_time"}


def test_stats_one_sample(client):
    c = sleepers(client, "stats1", mem_limit="64m", pids_limit=50)
    wait_pids(c, 3)
    s = c.stats(stream=False)
    assert s["name"] == "/stats1" and s["id"] == c.id
    assert s["read"] != ZERO_TIME and s["preread"] != ZERO_TIME and s["read"] > s["preread"]
    assert s["memory_stats"]["limit"] == 64 << 20
    assert 0 < s["memory_stats"]["usage"] <= 64 << 20
    assert isinstance(s["memory_stats"]["stats"], dict) and s["memory_stats"]["stats"]
    assert s["pids_stats"] == {"current": 3, "limit": 50}
    check_cpu(s["cpu_stats"])
    check_cpu(s["precpu_stats"])  # the first of the two samples
    assert s["cpu_stats"]["system_cpu_usage"] > s["precpu_stats"]["system_cpu_usage"]
    assert "io_service_bytes_recursive" in s["blkio_stats"]
    # one-shot: at once, without the second sample.
    t0 = time.monotonic()
    s = client.api.get(client.api._url("/containers/{0}/stats", c.id), params={"stream": 0, "one-shot": 1}).json()
    assert time.monotonic() - t0 < 0.9
    assert s["memory_stats"]["limit"] == 64 << 20 and s["preread"] == ZERO_TIME
    assert s["precpu_stats"]["cpu_usage"]["total_usage"] == 0


def test_stats_without_a_limit_shows_the_machines_memory(client):
    c = sleepers(client, "stats-nolimit")
    s = c.stats(stream=False)
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    assert abs(s["memory_stats"]["limit"] - total_kb * 1024) < 1 << 20
    assert "limit" not in s["pids_stats"] and s["pids_stats"]["current"] == 3


def test_stats_stream_two_samples(client, daemon):
    c = sleepers(client, "stats-stream")
    api = daemon.api()
    stream = api.stats(c.id, decode=True, stream=True)
    first = next(stream)
    second = next(stream)
    stream.close() if hasattr(stream, "close") else None
    assert first["preread"] == ZERO_TIME and first["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert second["preread"] == first["read"]
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
    assert second["cpu_stats"]["system_cpu_usage"] >= first["cpu_stats"]["system_cpu_usage"]


def test_stats_of_a_stopped_container_are_zeros(client):
    c = client.containers.create("busybox", ["true"], name="stats-stopped")
    s = c.stats(stream=False)
    assert s["read"] == ZERO_TIME and s["name"] == "/stats-stopped" and s["id"] == c.id
    assert s["memory_stats"] == {} and s["pids_stats"] == {}
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert s["blkio_stats"]["io_service_bytes_recursive"] is None


def test_stats_networks_of_the_containers_namespace(client):
    # An interface of the container's own: its counters appear under "networks" (lo does not).
    c = client.containers.run("busybox", ["sh", "-c", "ip link add br0 type bridge && ip link set br0 up && "
                                          "sleep 300"], cap_add=["NET_ADMIN"], detach=True, name="stats-net")
    deadline = time.monotonic() + 10
    while True:
        s = c.stats(stream=False)
        if "br0" in s.get("networks", {}) or time.monotonic() > deadline:
            break
    # br0, and eth0 where the default network gives the container one; never lo.
    assert "br0" in s["networks"] and "lo" not in s["networks"], s.get("networks")
    assert {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
            "tx_dropped"} == set(s["networks"]["br0"])
    host = client.containers.run("busybox", ["sleep", "300"], network_mode="host", detach=True, name="stats-host")
    assert "networks" not in host.stats(stream=False)


def test_stats_errors(daemon):
    api = daemon.api()
    with pytest.raises(docker.errors.NotFound):
        api.stats("no-such-container", stream=False)
    r = api.get(api._url("/containers/{0}/stats", "x"), params={"stream": 1, "one-shot": 1})
    assert r.status_code == 400 and "one-shot" in r.json()["message"]


def test_stats_cli(client, daemon):
    sleepers(client, "stats-cli", mem_limit="64m")
    r = daemon.cli("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}",
                   "stats-cli", check=True)
    name, mem, pids, cpu = r.stdout.decode().strip().split("|")
    assert name == "stats-cli" and mem.endswith("/ 64MiB") and pids == "3" and cpu.endswith("%"), r.stdout
    # Without names: every running container (the CLI follows them through /events).
    r = daemon.cli("stats", "--no-stream", "--format", "{{.Name}}", check=True)
    assert "stats-cli" in r.stdout.decode().split()


# ---------- events ----------

def events_between(client, since, until, **kw):
    return list(client.events(since=since, until=until, decode=True, **kw))


def test_container_events_in_docker_shapes(client):
    since = time.time()
    # sh as PID 1 ends on SIGTERM only through a trap
    c = client.containers.create("busybox", ["sh", "-c", "trap 'exit 143' TERM; sleep 300 & wait"], name="ev1",
                                 labels={"team": "blue"})
    c.start()
    c.pause()
    c.unpause()
    c.restart(timeout=10)
    c.kill(signal="TERM")
    c.wait(timeout=30)
    c.remove()
    time.sleep(0.05)
    until = time.time()
    evs = events_between(client, since, until, filters={"container": "ev1"})
    actions = [e["Action"] for e in evs]
    assert actions == ["create", "start", "pause", "unpause", "kill", "die", "stop", "start", "restart", "kill",
                       "die", "destroy"], actions
    for e in evs:
        assert e["Type"] == "container" and e["scope"] == "local"
        assert e["Actor"]["ID"] == c.id and e["id"] == c.id and e["status"] == e["Action"]
        assert e["from"] == "busybox" and e["Actor"]["Attributes"]["image"] == "busybox"
        assert e["Actor"]["Attributes"]["name"] == "ev1" and e["Actor"]["Attributes"]["team"] == "blue"
        assert int(since) <= e["time"] <= until and e["timeNano"] // 10**9 == e["time"]
    kills = [e["Actor"]["Attributes"]["signal"] for e in evs if e["Action"] == "kill"]
    assert kills == ["15", "15"]
    dies = [e["Actor"]["Attributes"]["exitCode"] for e in evs if e["Action"] == "die"]
    assert dies == ["143", "143"]
    times = [e["timeNano"] for e in evs]
    assert times == sorted(times)


def test_event_filters(client):
    since = time.time()
    a = client.containers.run("busybox", ["sh", "-c", "exit 3"], name="ev-a", labels={"k": "v"}, detach=True)
    b = client.containers.run("busybox", ["true"], name="ev-b", detach=True)
    a.wait(timeout=30)
    b.wait(timeout=30)
    image_id = a.attrs["Image"]
    client.api.tag("busybox", "evtest", "one")
    client.api.remove_image("evtest:one")
    time.sleep(0.05)
    until = time.time()
    dies = events_between(client, since, until, filters={"event": "die"})
    assert sorted((e["Actor"]["Attributes"]["name"], e["Actor"]["Attributes"]["exitCode"]) for e in dies) == [
        ("ev-a", "3"), ("ev-b", "0")]
    labelled = events_between(client, since, until, filters={"label": "k=v"})
    assert {e["Actor"]["Attributes"]["name"] for e in labelled} == {"ev-a"}
    assert events_between(client, since, until, filters={"label": "k=other"}) == []
    by_id_prefix = events_between(client, since, until, filters={"container": b.id[:10], "event": "start"})
    assert [e["Actor"]["ID"] for e in by_id_prefix] == [b.id]
    images = events_between(client, since, until, filters={"type": "image"})
    assert [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in images] == [
        ("tag", "evtest:one"), ("untag", "evtest:one")]
    assert all(e["Actor"]["ID"] == image_id and e["id"] == image_id and "from" not in e for e in images)
    # image= matches the image events and the events of containers made from it.
    by_image = events_between(client, since, until, filters={"image": "busybox", "event": "create"})
    assert {e["Actor"]["Attributes"]["name"] for e in by_image} == {"ev-a", "ev-b"}


def test_events_since_only_past_and_rfc3339(client, daemon):
    since = time.time()
    client.containers.create("busybox", ["true"], name="ev-past")
    time.sleep(0.05)
    until = time.time()
    api = daemon.api()
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%09dZ" % int((t % 1) * 1e9)
    r = api.get(api._url("/events"), params={"since": stamp(since), "until": stamp(until),
                                              "filters": json.dumps({"container": ["ev-past"]})})
    assert r.status_code == 200
    assert [json.loads(l)["Action"] for l in r.text.splitlines()] == ["create"]
    # An `until` in the future: the stream ends then, with what came meanwhile.
    t0 = time.monotonic()
    evs = list(client.events(since=since, until=time.time() + 1.0, decode=True, filters={"container": "ev-past"}))
    assert 0.5 < time.monotonic() - t0 < 5 and [e["Action"] for e in evs] == ["create"]


def test_events_live_stream(client, daemon):
    got = []
    stream = client.events(decode=True, filters={"type": "container", "event": ["create", "destroy"]})

    def read():
        for e in stream:
            got.append(e)
            if e["Action"] == "destroy":
                return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    c = client.containers.create("busybox", ["true"], name="ev-live")
    c.remove()
    t.join(timeout=10)
    stream.close()
    assert [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in got] == [("create", "ev-live"),
                                                                              ("destroy", "ev-live")]


def test_events_errors(daemon):
    api = daemon.api()
    url = api._url("/events")
    for params, words in [({"filters": "{not json"}, "invalid filter"),
                          ({"filters": json.dumps({"colour": ["red"]})}, "invalid filter 'colour'"),
                          ({"since": "yesterday"}, "invalid value for since"),
                          ({"since": "200", "until": "100"}, "cannot be after `until`")]:
        r = api.get(url, params=params)
        assert r.status_code == 400 and words in r.json()["message"], (params, r.text)
    assert api.ping()


def test_events_cli(client, daemon):
    since = int(time.time())
    c = client.containers.run("busybox", ["true"], name="ev-cli", detach=True)
    c.wait(timeout=30)
    time.sleep(0.05)
    until = str(time.time() + 0.5)
    r = daemon.cli("events", "--since", str(since), "--until", until, "--filter", "container=ev-cli",
                   "--filter", "event=start", "--filter", "event=die", "--format", "{{.Action}} {{.Actor.ID}}",
                   check=True)
    assert r.stdout.decode().split("\n")[:2] == [f"start {c.id}", f"die {c.id}"], r.stdout
    r = daemon.cli("events", "--since", str(since), "--until", until, "--filter", "type=container",
                   "--filter", "container=ev-cli", "--filter", "event=die", check=True)
    line = r.stdout.decode().strip()
    assert f"container die {c.id} (exitCode=0, image=busybox, name=ev-cli)" in line, line


def test_daemon_reload_event(client, daemon):
    since = time.time()
    daemon.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reloaded" not in daemon.read_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    evs = events_between(client, since, time.time(), filters={"type": "daemon"})
    assert [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in evs] == [("daemon", "reload", "berth")], evs
    assert "status" not in evs[0] and evs[0]["Actor"]["Attributes"]["name"]
    assert events_between(client, since, time.time(), filters={"daemon": "berth", "type": "daemon"}) == evs


def test_image_import_and_prune_events(client):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    since = time.time()
    client.api.import_image_from_data(buf.getvalue())  # no name: a dangling image, for prune
    client.api.prune_images()
    time.sleep(0.05)
    evs = events_between(client, since, time.time(), filters={"type": "image"})
    assert [e["Action"] for e in evs] == ["import", "delete"], evs
    assert evs[0]["Actor"]["ID"].startswith("sha256:") and evs[1]["Actor"]["ID"] == evs[0]["Actor"]["ID"]
