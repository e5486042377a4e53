"""Restart policies, log rotation and drivers, rename and prune: a real berthd driven by the Docker
SDK and the docker CLI, with Docker's behaviour and words as the reference."""

import glob
import json
import os
import signal
import time

import docker
import pytest

from conftest import pid_alive, wait_until
from daemon_util import Daemon, busybox_daemon, load_busybox


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "rl")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


def state(client, name):
    return client.api.inspect_container(name)["State"]


def inspect(client, name):
    return client.api.inspect_container(name)


# ---------- restart policies ----------

def test_on_failure_retries_then_stays_exited(daemon, client):
    cid = daemon.cli("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3",
                     check=True).stdout.decode().strip()
    wait_until(lambda: inspect(client, cid)["RestartCount"] == 2 and state(client, cid)["Status"] == "exited",
               timeout=15, what="two restarts, then exited")
    time.sleep(1.0)  # the back-off after the 2nd retry would be 400 ms: nothing more comes
    doc = inspect(client, cid)
    assert doc["RestartCount"] == 2
    assert doc["State"]["Status"] == "exited" and doc["State"]["ExitCode"] == 3
    assert not doc["State"]["Restarting"] and not doc["State"]["Running"]
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    # A success is not a failure: on-failure leaves it alone.
    ok = client.containers.run("busybox", ["true"], detach=True, restart_policy={"Name": "on-failure"})
    wait_until(lambda: state(client, ok.id)["Status"] == "exited", what="the first exit")
    time.sleep(0.5)
    assert inspect(client, ok.id)["RestartCount"] == 0


def test_always_restarts_and_stop_or_kill_ends_it(daemon, client):
    c = client.containers.run("busybox", ["sh", "-c", "echo run; sleep 0.3"], detach=True,
                              restart_policy={"Name": "always"})
    wait_until(lambda: inspect(client, c.id)["RestartCount"] >= 2, timeout=15, what="restarts")
    wait_until(lambda: state(client, c.id)["Status"] == "running", what="running again")
    # Each run wrote to the same log.
    assert c.logs().decode().count("run\n") >= 3
    # docker ps lists it while it runs or restarts.
    assert c.id in [x["Id"] for x in client.api.containers()]
    daemon.cli("stop", "-t", "0", c.id, check=True)
    count = inspect(client, c.id)["RestartCount"]
    time.sleep(1.0)
    assert state(client, c.id)["Status"] == "exited"
    assert inspect(client, c.id)["RestartCount"] == count
    # docker start begins afresh: the count goes back to 0.
    c.start()
    assert inspect(client, c.id)["RestartCount"] == 0
    wait_until(lambda: state(client, c.id)["Status"] == "running", what="running after start")
    daemon.cli("kill", c.id, check=True)
    wait_until(lambda: state(client, c.id)["Status"] == "exited", what="killed")
    time.sleep(1.0)
    assert state(client, c.id)["Status"] == "exited"


def wait_restarting(client, cid, min_count):
    """Wait for a crash-looping container to be in a back-off of several hundred milliseconds."""
    def ok():
        doc = inspect(client, cid)
        return doc["RestartCount"] >= min_count and doc["State"]["Status"] == "restarting"
    wait_until(ok, timeout=30, interval=0.01, what=f"restarting with RestartCount >= {min_count}")


def test_stop_and_remove_of_a_restarting_container(daemon, client):
    # Exits at once, so the back-off doubles: 100, 200, 400, 800, 1600 ms ...
    c = client.containers.run("busybox", ["false"], detach=True, restart_policy={"Name": "always"})
    wait_restarting(client, c.id, 4)
    doc = inspect(client, c.id)
    assert doc["State"]["Restarting"] and doc["State"]["Running"]  # Docker counts it as running
    ps = daemon.cli("ps", "--format", "{{.ID}} {{.Status}}", check=True).stdout.decode()
    assert f"{c.id[:12]} Restarting (1)" in ps
    # Starting it again is a no-op (304), pausing it a conflict, removing it without force a conflict.
    r = daemon.cli("start", c.id)
    assert r.returncode == 0
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.pause(c.id)
    assert ei.value.status_code == 409 and "is restarting" in str(ei.value)
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.remove_container(c.id)
    assert ei.value.status_code == 409 and "restarting container" in str(ei.value)
    # docker stop during the back-off cancels it.
    t0 = time.monotonic()
    daemon.cli("stop", c.id, check=True)
    assert time.monotonic() - t0 < 5
    count = inspect(client, c.id)["RestartCount"]
    assert state(client, c.id)["Status"] == "exited"
    time.sleep(2.0)
    assert state(client, c.id)["Status"] == "exited" and inspect(client, c.id)["RestartCount"] == count
    # remove -f of a restarting one.
    c2 = client.containers.run("busybox", ["false"], detach=True, restart_policy={"Name": "on-failure"})
    wait_restarting(client, c2.id, 3)
    daemon.cli("rm", "-f", c2.id, check=True)
    with pytest.raises(docker.errors.NotFound):
        client.api.inspect_container(c2.id)
    time.sleep(1.0)  # its timer fires into nothing: the daemon carries on
    assert client.ping()


def test_wait_sees_each_exit(client):
    c = client.containers.run("busybox", ["sh", "-c", "sleep 0.3; exit 2"], detach=True,
                              restart_policy={"Name": "on-failure", "MaximumRetryCount": 1})
    assert c.wait(timeout=30)["StatusCode"] == 2
    wait_until(lambda: inspect(client, c.id)["RestartCount"] == 1 and state(client, c.id)["Status"] == "exited",
               what="the retry to end")


def test_bad_restart_policies(client):
    bad = [
        ({"Name": "sometimes"}, False,
         "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or "
         "'unless-stopped'"),
        ({"Name": "on-failure", "MaximumRetryCount": -1}, False,
         "invalid restart policy: maximum retry count cannot be negative"),
        ({"Name": "always", "MaximumRetryCount": 3}, False,
         "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
        ({"Name": "always"}, True, "can't create 'AutoRemove' container with restart policy"),
    ]
    before = len(client.api.containers(all=True))
    for policy, auto_remove, msg in bad:
        hc = client.api.create_host_config(restart_policy=policy, auto_remove=auto_remove)
        with pytest.raises(docker.errors.APIError) as ei:
            client.api.create_container("busybox", ["true"], host_config=hc)
        assert ei.value.status_code == 400, policy
        assert ei.value.explanation == msg
    assert len(client.api.containers(all=True)) == before


def test_cli_restart_conflicts_with_rm(daemon):
    r = daemon.cli("run", "--rm", "--restart", "always", "busybox", "true")
    assert r.returncode != 0 and b"restart" in r.stderr


def test_policies_across_daemon_restarts(session_dir, cgroup_parent):
    d = Daemon(session_dir, cgroup_parent, "rp").start()
    try:
        load_busybox(d, session_dir)
        d.cli("run", "-d", "--name", "always-stopped", "--restart", "always", "busybox", "sleep", "1000", check=True)
        d.cli("run", "-d", "--name", "unless-stopped", "--restart", "unless-stopped", "busybox", "sleep", "1000",
              check=True)
        d.cli("run", "-d", "--name", "unless-running", "--restart", "unless-stopped", "busybox", "sleep", "1000",
              check=True)
        d.cli("run", "-d", "--name", "always-dies", "--restart", "always", "busybox", "sleep", "1000", check=True)
        d.cli("run", "-d", "--name", "no-policy", "busybox", "sleep", "1000", check=True)
        d.cli("stop", "-t", "0", "always-stopped", "unless-stopped", check=True)
        d.cli("rename", "no-policy", "renamed", check=True)
        c = d.client()
        dies_pid = c.api.inspect_container("always-dies")["State"]["Pid"]
        keep_pid = c.api.inspect_container("unless-running")["State"]["Pid"]
        c.close()
        # The daemon goes; meanwhile one container ends (as after a crash or a reboot).
        assert d.stop() == 0
        os.kill(dies_pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(dies_pid), what="the container to die")
        d.start()
        c = d.client()

        def status(name):
            return c.api.inspect_container(name)["State"]["Status"]

        wait_until(lambda: status("always-stopped") == "running", what="always to come back")
        wait_until(lambda: status("always-dies") == "running", what="always to come back after its end")
        assert status("unless-stopped") == "exited"
        assert status("unless-running") == "running"
        assert c.api.inspect_container("unless-running")["State"]["Pid"] == keep_pid  # adopted, not restarted
        assert status("renamed") == "running"
        assert c.api.inspect_container("always-stopped")["RestartCount"] == 0
    finally:
        assert d.cleanup() == 0, d.read_log()


# ---------- logs: rotation and drivers ----------

def log_files(daemon, cid):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(daemon.data_root, "containers", cid,
                                                                      cid + "-json.log*")))


def test_rotation_keeps_the_last_lines_in_order(daemon, client):
    cid = daemon.cli("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
                     "for i in $(seq 1 200); do echo line $i; done", check=True).stdout.decode().strip()
    assert daemon.cli("wait", cid, check=True).stdout.strip() == b"0"
    assert log_files(daemon, cid) == [f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"]
    for name in log_files(daemon, cid):
        size = os.path.getsize(os.path.join(daemon.data_root, "containers", cid, name))
        assert size < 1000 + 200, (name, size)  # full at 1k: one entry more at most
    lines = daemon.cli("logs", cid, check=True).stdout.decode().split("\n")[:-1]
    nums = [int(l.split()[1]) for l in lines]
    assert nums == list(range(nums[0], 201)) and 20 < len(nums) < 60, nums
    tail = daemon.cli("logs", "--tail", "5", cid, check=True).stdout.decode().split("\n")[:-1]
    assert tail == [f"line {i}" for i in range(196, 201)]
    # A tail longer than the newest file reaches into the rotated ones.
    tail = daemon.cli("logs", "--tail", "25", cid, check=True).stdout.decode().split("\n")[:-1]
    assert tail == [f"line {i}" for i in range(176, 201)]
    doc = inspect(client, cid)
    assert doc["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}}
    # since: only what came at or after a time of the newest entries
    ts = daemon.cli("logs", "-t", "--tail", "1", cid, check=True).stdout.decode().split()[0]
    since = daemon.cli("logs", "--since", ts, cid, check=True).stdout.decode().split("\n")[:-1]
    assert since and since[-1] == "line 200"


def test_follow_across_rotations(daemon, client):
    import subprocess
    c = client.containers.run("busybox", ["sh", "-c", "sleep 1; for i in $(seq 1 80); do echo line $i; "
                                          "usleep 10000; done"], detach=True,
                              log_config={"Type": "json-file", "Config": {"max-size": "1k", "max-file": "10"}})
    env = dict(os.environ, DOCKER_HOST=daemon.host)
    p = subprocess.run(["docker", "logs", "-f", c.id], capture_output=True, timeout=60, env=env)
    assert p.returncode == 0
    assert p.stdout.decode().split("\n")[:-1] == [f"line {i}" for i in range(1, 81)]
    assert len(log_files(daemon, c.id)) > 3


def test_log_driver_none(daemon, client):
    # Attached clients still get the output. (Up to 3 tries: an attach made just before the start
    # misses a command this short about once in 30 runs under ASan, whatever the driver.)
    for _ in range(3):
        r = daemon.cli("run", "--rm", "--log-driver", "none", "busybox", "echo", "attached output")
        if r.stdout:
            break
    assert r.returncode == 0 and r.stdout == b"attached output\n"
    cid = daemon.cli("run", "-d", "--log-driver", "none", "busybox", "echo", "hi", check=True).stdout.decode().strip()
    daemon.cli("wait", cid, check=True)
    r = daemon.cli("logs", cid)
    assert r.returncode != 0 and b"configured logging driver does not support reading" in r.stderr
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.logs(cid)
    assert ei.value.status_code == 501
    assert inspect(client, cid)["LogPath"] == ""
    assert log_files(daemon, cid) == []


def test_log_driver_local(daemon, client):
    c = client.containers.run("busybox", ["echo", "kept locally"], log_config={"Type": "local", "Config": {}},
                              detach=True, name="local-log")
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs() == b"kept locally\n"
    assert daemon.cli("logs", "local-log", check=True).stdout == b"kept locally\n"
    assert inspect(client, "local-log")["HostConfig"]["LogConfig"]["Type"] == "local"


def test_bad_log_configs(daemon, client):
    bad = [
        ({"Type": "json-file", "Config": {"max-size": "abc"}}, 400, "invalid size: 'abc'"),
        ({"Type": "json-file", "Config": {"max-size": "-1"}}, 400, "invalid size: '-1'"),
        ({"Type": "json-file", "Config": {"max-file": "0"}}, 400, "max-file cannot be less than 1"),
        ({"Type": "json-file", "Config": {"nope": "1"}}, 400, "unknown log opt 'nope' for json-file log driver"),
        ({"Type": "bogus", "Config": {}}, 400, "logger: no log driver named 'bogus' is registered"),
        ({"Type": "syslog", "Config": {}}, 501, "logging driver syslog is not supported yet"),
    ]
    before = len(client.api.containers(all=True))
    for lc, status, msg in bad:
        with pytest.raises(docker.errors.APIError) as ei:
            client.api.create_container("busybox", ["true"], host_config=client.api.create_host_config(
                log_config=docker.types.LogConfig(type=lc["Type"], config=lc["Config"])))
        assert ei.value.status_code == status, lc
        assert msg in ei.value.explanation, (lc, ei.value.explanation)
    assert len(client.api.containers(all=True)) == before
    r = daemon.cli("run", "--log-opt", "max-size=lots", "busybox", "true")
    assert r.returncode != 0 and b"invalid size: 'lots'" in r.stderr


# ---------- rename ----------

def test_rename(daemon, client):
    a = client.containers.run("busybox", ["sleep", "60"], detach=True, name="first")
    client.containers.create("busybox", ["true"], name="taken")
    since = time.time() - 1
    daemon.cli("rename", "first", "second", check=True)
    assert inspect(client, a.id)["Name"] == "/second"
    events = list(client.api.events(since=since, until=time.time() + 1, decode=True,
                                    filters={"type": "container", "event": "rename"}))
    assert [(e["Actor"]["ID"], e["Actor"]["Attributes"]["name"], e["Actor"]["Attributes"]["oldName"])
            for e in events] == [(a.id, "second", "/first")]
    assert "second" in daemon.cli("ps", "--format", "{{.Names}}", check=True).stdout.decode().split()
    with pytest.raises(docker.errors.NotFound):
        client.api.inspect_container("first")
    # The old name is free again.
    client.containers.create("busybox", ["true"], name="first")
    r = daemon.cli("rename", "second", "taken")
    assert r.returncode != 0 and b"is already in use by container" in r.stderr
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.rename(a.id, "taken")
    assert ei.value.status_code == 409
    for bad, msg in (("bad name!", "Invalid container name (bad name!)"),
                     ("second", "Renaming a container with the same name as its current name"),
                     ("", "Neither old nor new names may be empty")):
        with pytest.raises(docker.errors.APIError) as ei:
            client.api.rename(a.id, bad)
        assert ei.value.status_code == 400 and msg in ei.value.explanation, bad
    with pytest.raises(docker.errors.NotFound):
        client.api.rename("nosuchcontainer", "x1")
    assert inspect(client, a.id)["Name"] == "/second" and state(client, a.id)["Running"]


# ---------- prune ----------

def test_prune(daemon, client):
    running = client.containers.run("busybox", ["sleep", "60"], detach=True, name="prune-running")
    created = client.containers.create("busybox", ["true"], name="prune-created", labels={"keep": "no"})
    exited = client.containers.run("busybox", ["sh", "-c", "head -c 100000 /dev/zero > /big"], detach=True,
                                   name="prune-exited", labels={"keep": "yes"})
    exited.wait(timeout=30)
    # until: only containers created before that time go; none here was created 10 minutes ago.
    assert client.api.prune_containers(filters={"until": "10m"}) == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    report = client.api.prune_containers(filters={"label": "keep=no"})
    assert report["ContainersDeleted"] == [created.id]
    report = client.api.prune_containers(filters={"label!": "keep=no"})
    assert report["ContainersDeleted"] == [exited.id] and report["SpaceReclaimed"] >= 100000
    again = client.containers.create("busybox", ["true"], name="prune-cli")
    r = daemon.cli("container", "prune", "-f", check=True)
    assert again.id in r.stdout.decode() and b"Total reclaimed space" in r.stdout
    assert [c["Id"] for c in client.api.containers(all=True)] == [running.id]
    pruned = list(client.api.events(since=int(time.time()) - 60, until=time.time() + 1, decode=True,
                                    filters={"type": "container", "event": "prune"}))
    assert len(pruned) == 4 and int(pruned[2]["Actor"]["Attributes"]["reclaimed"]) >= 100000
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.prune_containers(filters={"color": "red"})
    assert ei.value.status_code == 400 and "invalid filter 'color'" in ei.value.explanation
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.prune_containers(filters={"until": "soon"})
    assert ei.value.status_code == 400
    assert client.containers.get("prune-running").status == "running"
