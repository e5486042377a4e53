"""Volumes in berthd as Docker has them (local driver): create, list with filters, inspect, remove,
prune; volumes that containers name or make anonymously; the image's content copied into a new
volume; and volumes surviving a daemon restart and a kill -9. Driven by the Docker SDK for Python and
the docker CLI against a real daemon on a temporary root."""

import json
import os
import re
import signal
import stat
import subprocess

import docker
import pytest

from conftest import wait_until
from daemon_util import Daemon, busybox_daemon, load_busybox

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ANON = "com.docker.volume.anonymous"


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "v")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    for v in c.volumes.list():
        v.remove(force=True)
    c.close()


def api_error(fn, *args, **kw):
    with pytest.raises(docker.errors.APIError) as ei:
        fn(*args, **kw)
    return ei.value.status_code, ei.value.explanation


def cli_run(daemon, *args):
    """`docker run -d ARGS`, `docker wait`, `docker logs`, `docker rm` (without -v): the exit code and output.
    Detached, so that what is checked is the volume, not how an attached run streams its output."""
    name = "clirun-" + os.urandom(6).hex()
    r = daemon.cli("run", "-d", "--name", name, *args)
    assert r.returncode == 0, r.stderr
    code = int(daemon.cli("wait", name, check=True).stdout)
    logs = daemon.cli("logs", name, check=True)
    daemon.cli("rm", "-f", name, check=True)
    return subprocess.CompletedProcess(args, code, logs.stdout, logs.stderr)


# ---------- the volume verbs ----------

def test_create_inspect_list_remove(client, daemon):
    v = client.volumes.create("data1", labels={"team": "a", "tier": "db"})
    a = v.attrs
    assert a["Name"] == "data1" and a["Driver"] == "local" and a["Scope"] == "local"
    assert a["Labels"] == {"team": "a", "tier": "db"} and a["Options"] is None
    assert a["Mountpoint"] == os.path.join(daemon.data_root, "volumes", "data1", "_data")
    assert os.path.isdir(a["Mountpoint"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", a["CreatedAt"])
    # Create is idempotent: the same volume comes back, its labels untouched.
    again = client.volumes.create("data1", labels={"other": "x"})
    assert again.attrs == a
    assert client.volumes.get("data1").attrs == a
    client.volumes.create("data2", labels={"team": "b"})
    client.volumes.create("other3")

    def names(**filters):
        return sorted(v.name for v in client.volumes.list(filters=filters))

    assert names() == ["data1", "data2", "other3"]
    assert names(name="data") == ["data1", "data2"]
    assert names(name="^other") == ["other3"]
    assert names(label="team") == ["data1", "data2"]
    assert names(label="team=a") == ["data1"]
    assert names(label=["team=a", "tier=db"]) == ["data1"]
    assert names(label=["team=b", "tier=db"]) == []
    assert names(driver="local") == ["data1", "data2", "other3"]
    assert names(driver="nfs") == []
    c = client.containers.create("busybox", ["true"], volumes={"data2": {"bind": "/d"}})
    assert names(dangling="true") == ["data1", "other3"]
    assert names(dangling="false") == ["data2"]
    c.remove()
    assert names(dangling="1") == ["data1", "data2", "other3"]
    # The raw reply's shape.
    raw = daemon.api().get(daemon.api()._url("/volumes")).json()
    assert set(raw) == {"Volumes", "Warnings"} and raw["Warnings"] == []
    client.volumes.get("data1").remove()
    assert api_error(client.volumes.get, "data1") == (404, "get data1: no such volume")
    assert names() == ["data2", "other3"]


def test_generated_name_and_errors(client, daemon):
    v = client.volumes.create()
    assert HEX64.match(v.name), v.name
    assert v.attrs["Labels"] in (None, {})
    api = daemon.api()
    # Docker's name rule, on the API and for -v.
    status, msg = api_error(client.volumes.create, "a")
    assert status == 400 and "volume name is too short" in msg
    for bad in ("-lead", "has space", "sl/ash", "semi;colon"):
        status, msg = api_error(client.volumes.create, bad)
        assert status == 400 and "includes invalid characters for a local volume name" in msg, (bad, msg)
    status, msg = api_error(client.containers.create, "busybox", ["true"], volumes={"-x": {"bind": "/d"}})
    assert status == 400 and "includes invalid characters" in msg
    # A driver other than local: not found, as Docker answers for a missing plugin.
    status, msg = api_error(client.volumes.create, "x1", driver="nosuch")
    assert status == 404 and 'plugin "nosuch" not found' in msg
    # The local driver's options.
    status, msg = api_error(client.volumes.create, "x2", driver_opts={"color": "red"})
    assert status == 400 and msg == 'create x2: invalid option: "color"'
    status, msg = api_error(client.volumes.create, "x3", driver_opts={"type": "tmpfs"})
    assert status == 400 and 'missing required option: "device"' in msg
    status, msg = api_error(client.volumes.create, "x4", driver_opts={"device": "/dev/sda1"})
    assert status == 400 and 'missing required option: "type"' in msg
    status, msg = api_error(client.volumes.create, "x5", driver_opts={"type": "nfs", "device": ":/export",
                                                                      "o": "addr=10.0.0.1"})
    assert status == 501 and "not supported by berthd" in msg
    status, msg = api_error(client.volumes.create, "x6", driver_opts={"type": "none", "device": "relative",
                                                                      "o": "bind"})
    assert status == 400 and "absolute path" in msg
    # Bad JSON and bad filters.
    r = api.post(api._url("/volumes/create"), data="{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = api.get(api._url("/volumes"), params={"filters": json.dumps({"colour": ["x"]})})
    assert r.status_code == 400 and r.json()["message"] == "invalid filter 'colour'"
    r = api.get(api._url("/volumes"), params={"filters": json.dumps({"dangling": ["maybe"]})})
    assert r.status_code == 400 and "dangling=maybe" in r.json()["message"]
    # Unknown volumes.
    assert api_error(client.volumes.get, "nosuchvol")[0] == 404
    r = api.delete(api._url("/volumes/nosuchvol"))
    assert r.status_code == 404 and r.json()["message"] == "get nosuchvol: no such volume"
    assert api.delete(api._url("/volumes/nosuchvol"), params={"force": "1"}).status_code == 204
    # None of that left anything behind.
    assert [x.name for x in client.volumes.list()] == [v.name]
    assert sorted(os.listdir(os.path.join(daemon.data_root, "volumes"))) == [v.name]
    assert api.ping()


def test_in_use_conflict(client):
    client.volumes.create("busy")
    stopped = client.containers.create("busybox", ["true"], volumes={"busy": {"bind": "/d"}})
    running = client.containers.run("busybox", ["sleep", "60"], volumes=["busy:/e"], detach=True)
    status, msg = api_error(client.volumes.get("busy").remove)
    assert status == 409 and msg.startswith("remove busy: volume is in use - [")
    assert stopped.id in msg and running.id in msg
    status, msg = api_error(client.volumes.get("busy").remove, force=True)
    assert status == 409
    running.remove(force=True)
    status, msg = api_error(client.volumes.get("busy").remove)
    assert status == 409 and msg == f"remove busy: volume is in use - [{stopped.id}]"
    stopped.remove()
    client.volumes.get("busy").remove()
    assert client.volumes.list() == []


def test_data_persists_across_containers(client):
    out = client.containers.run("busybox", ["sh", "-c", "echo kept > /data/f; chown 123:45 /data/f"],
                                volumes={"keep": {"bind": "/data"}}, remove=True)
    assert out == b""
    v = client.volumes.get("keep")
    assert v.attrs["Labels"] is None  # made by the container, named: not anonymous
    out = client.containers.run("busybox", ["sh", "-c", "cat /data/f; stat -c %u:%g /data/f"],
                                mounts=[docker.types.Mount("/data", "keep", type="volume", read_only=True)],
                                remove=True)
    assert out == b"kept\n123:45\n"
    with open(os.path.join(v.attrs["Mountpoint"], "f")) as f:
        assert f.read() == "kept\n"


def test_anonymous_volumes_and_rm_v(client, daemon):
    c = client.containers.create("busybox", ["true"], volumes=["/anon", "named1:/named"])
    mounts = {m["Destination"]: m for m in c.attrs["Mounts"]}
    anon = mounts["/anon"]["Name"]
    assert HEX64.match(anon) and mounts["/anon"]["Driver"] == "local" and mounts["/anon"]["Type"] == "volume"
    assert mounts["/named"]["Name"] == "named1"
    assert mounts["/anon"]["Source"] == client.volumes.get(anon).attrs["Mountpoint"]
    assert client.volumes.get(anon).attrs["Labels"] == {ANON: ""}
    # docker rm -v: the anonymous volume goes, the named one stays.
    r = daemon.cli("rm", "-v", c.id)
    assert r.returncode == 0, r.stderr
    names = [v.name for v in client.volumes.list()]
    assert names == ["named1"]
    assert not os.path.exists(os.path.join(daemon.data_root, "volumes", anon))
    # Without -v, both stay; an anonymous volume another container still uses stays with -v too.
    c = client.containers.create("busybox", ["true"], volumes=["/anon"])
    anon = c.attrs["Mounts"][0]["Name"]
    c.remove()
    assert sorted(v.name for v in client.volumes.list()) == sorted([anon, "named1"])
    user1 = client.containers.create("busybox", ["true"], mounts=[docker.types.Mount("/x", anon)])
    user2 = client.containers.create("busybox", ["true"], mounts=[docker.types.Mount("/y", anon)])
    user1.remove(v=True)
    assert anon in [v.name for v in client.volumes.list()]
    user2.remove(v=True)
    assert anon not in [v.name for v in client.volumes.list()]


def test_run_rm_removes_anonymous_volumes(client, daemon):
    # AutoRemove (`docker run --rm`) removes the container's anonymous volumes with it.
    client.containers.run("busybox", ["sh", "-c", "echo x > /scratch/y"], volumes=["/scratch", "stays:/s"],
                          auto_remove=True, detach=True)
    wait_until(lambda: [v.name for v in client.volumes.list()] == ["stays"], what="the anonymous volume to go")


def test_prune(client, daemon):
    client.volumes.create("keepme", labels={"keep": "yes"})
    client.volumes.create("dropme", labels={"keep": "no"})
    client.volumes.create("used")
    c = client.containers.create("busybox", ["true"], volumes=["used:/u", "/anonused"])
    gone = client.containers.create("busybox", ["sh"], volumes=["/anonfree"])
    anon_free = gone.attrs["Mounts"][0]["Name"]
    gone.remove()
    with open(os.path.join(client.volumes.get(anon_free).attrs["Mountpoint"], "blob"), "wb") as f:
        f.write(b"z" * 5000)
    api = daemon.api()
    # API 1.43: only anonymous volumes unless all=true.
    r = api.post(f"http+docker://localhost/v1.43/volumes/prune")
    assert r.status_code == 200, r.text
    assert r.json() == {"VolumesDeleted": [anon_free], "SpaceReclaimed": 5000}
    # Filters: label, label!, all.
    r = api.post("http+docker://localhost/v1.43/volumes/prune",
                 params={"filters": json.dumps({"all": ["true"], "label!": ["keep=yes"]})})
    assert sorted(r.json()["VolumesDeleted"]) == ["dropme"]
    r = api.post("http+docker://localhost/v1.43/volumes/prune", params={"filters": json.dumps({"bogus": ["1"]})})
    assert r.status_code == 400 and r.json()["message"] == "invalid filter 'bogus'"
    # The SDK speaks 1.41: every unused volume, named too, that matches.
    out = client.volumes.prune(filters={"label": "keep=yes"})
    assert out["VolumesDeleted"] == ["keepme"]
    left = sorted(v.name for v in client.volumes.list())
    assert "used" in left and len(left) == 2  # used, and c's anonymous volume
    c.remove(v=True)
    assert [v.name for v in client.volumes.list()] == ["used"]


def test_cli_volume_commands(daemon, client):
    assert daemon.cli("volume", "create", "--label", "a=b", "clivol", check=True).stdout == b"clivol\n"
    out = daemon.cli("volume", "ls", "--format", "{{.Driver}} {{.Name}}", check=True).stdout.decode()
    assert "local clivol" in out.splitlines()
    out = daemon.cli("volume", "ls", "-q", "--filter", "label=a=b", check=True).stdout.decode()
    assert out.split() == ["clivol"]
    info = json.loads(daemon.cli("volume", "inspect", "clivol", check=True).stdout)
    assert info[0]["Name"] == "clivol" and info[0]["Labels"] == {"a": "b"} and info[0]["Scope"] == "local"
    r = cli_run(daemon, "-v", "clivol:/data", "busybox", "sh", "-c", "echo hi > /data/x")
    assert r.returncode == 0, r.stderr
    r = cli_run(daemon, "-v", "clivol:/data:ro", "busybox", "sh", "-c", "cat /data/x; touch /data/y")
    assert r.stdout == b"hi\n" and r.returncode != 0 and b"Read-only file system" in r.stderr
    cid = daemon.cli("create", "-v", "clivol:/data", "busybox", "true", check=True).stdout.decode().strip()
    r = daemon.cli("volume", "rm", "clivol")
    assert r.returncode != 0 and b"volume is in use" in r.stderr and cid.encode() in r.stderr
    daemon.cli("rm", cid, check=True)
    r = daemon.cli("volume", "inspect", "nosuch")
    assert r.returncode != 0 and b"no such volume" in r.stderr
    r = daemon.cli("volume", "create", "bad/name")
    assert r.returncode != 0 and b"includes invalid characters" in r.stderr
    r = daemon.cli("volume", "create", "-d", "nosuchdriver", "dv")
    assert r.returncode != 0 and b"not found" in r.stderr
    daemon.cli("volume", "create", "cliother", check=True)
    # No labels and no options: null, as Docker shows them.
    info = json.loads(daemon.cli("volume", "inspect", "cliother", check=True).stdout)[0]
    assert info["Labels"] is None and info["Options"] is None, info
    client.containers.run("busybox", ["true"], volumes=["/anon1"], auto_remove=True, detach=True)  # goes with it
    wait_until(lambda: not [v for v in client.volumes.list() if HEX64.match(v.name)], what="anon1 to go")
    daemon.cli("create", "-v", "/anon2", "busybox", "true", check=True)
    anon2 = [v.name for v in client.volumes.list() if HEX64.match(v.name)]
    assert len(anon2) == 1
    for c in client.containers.list(all=True):
        c.remove()
    # CLI 28 speaks API 1.43: a plain prune takes anonymous volumes only, -a the named ones too.
    out = daemon.cli("volume", "prune", "-f", check=True).stdout.decode()
    assert anon2[0] in out and "clivol" not in out
    out = daemon.cli("volume", "prune", "-a", "-f", check=True).stdout.decode()
    assert "clivol" in out and "cliother" in out
    assert daemon.cli("volume", "ls", "-q", check=True).stdout == b""
    daemon.cli("volume", "create", "rmme", check=True)
    assert daemon.cli("volume", "rm", "rmme", check=True).stdout == b"rmme\n"


def test_volume_events(client, daemon):
    import time
    since = time.time() - 1
    client.volumes.create("evvol")
    c = client.containers.run("busybox", ["true"], volumes=["evvol:/e:ro", "/evanon"], detach=True)
    c.wait(timeout=30)
    anon = [m["Name"] for m in c.attrs["Mounts"] if m["Destination"] == "/evanon"][0]
    c.remove(v=True)
    client.volumes.get("evvol").remove()
    api = daemon.api()
    r = api.post("http+docker://localhost/v1.43/volumes/prune")
    assert r.status_code == 200
    until = time.time() + 1
    events = list(client.events(since=since, until=until, filters={"type": "volume"}, decode=True))
    # (`since` counts in seconds: the tests before may show up too.)
    mine = [e for e in events if e["Actor"]["ID"] in ("evvol", anon)]
    seen = [(e["Action"], e["Actor"]["ID"]) for e in mine]
    assert seen == [("create", "evvol"), ("create", anon), ("mount", "evvol"), ("mount", anon),
                    ("destroy", anon), ("destroy", "evvol")], seen
    assert mine[2]["Actor"]["Attributes"] == {"container": c.id, "destination": "/e", "driver": "local",
                                              "propagation": "", "read/write": "false"}
    assert mine[0]["Actor"]["Attributes"] == {"driver": "local"}
    assert (events[-1]["Action"], events[-1]["Actor"]["Attributes"]) == ("prune", {"reclaimed": "0"})


# ---------- local driver options ----------

def test_tmpfs_and_bind_options(client, session_dir):
    client.volumes.create("tv", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=2m,uid=1000"})
    assert client.volumes.get("tv").attrs["Options"] == {"type": "tmpfs", "device": "tmpfs",
                                                          "o": "size=2m,uid=1000"}
    out = client.containers.run("busybox", ["sh", "-c", "grep ' /t ' /proc/mounts; stat -c %u /t; echo a > /t/f"],
                                volumes={"tv": {"bind": "/t"}}, remove=True).decode()
    assert "tmpfs /t tmpfs" in out and "size=2048k" in out and out.splitlines()[1] == "1000"
    out = client.containers.run("busybox", ["cat", "/t/f"], volumes={"tv": {"bind": "/t"}}, remove=True)
    assert out == b"a\n"
    client.volumes.get("tv").remove()
    host_dir = os.path.join(session_dir, "bind-volume-src")
    os.makedirs(host_dir, exist_ok=True)
    with open(os.path.join(host_dir, "h"), "w") as f:
        f.write("host\n")
    client.volumes.create("bv", driver_opts={"type": "none", "device": host_dir, "o": "bind"})
    out = client.containers.run("busybox", ["sh", "-c", "cat /b/h; echo c > /b/c"], volumes={"bv": {"bind": "/b"}},
                                remove=True)
    assert out == b"host\n"
    with open(os.path.join(host_dir, "c")) as f:
        assert f.read() == "c\n"
    # A read-only bind volume.
    client.volumes.create("bvro", driver_opts={"type": "none", "device": host_dir, "o": "bind,ro"})
    out = client.containers.run("busybox", ["sh", "-c", "touch /b/x 2>&1; cat /b/h"],
                                volumes={"bvro": {"bind": "/b"}}, remove=True)
    assert b"Read-only file system" in out and out.endswith(b"host\n")
    client.volumes.get("bv").remove()
    client.volumes.get("bvro").remove()
    # Removing the volume unmounted it and left the host's directory alone.
    assert sorted(os.listdir(host_dir)) == ["c", "h"]


def test_mount_volume_options(client, daemon):
    """--mount's volume-driver, volume-opt and volume-label make the volume as /volumes/create would."""
    r = cli_run(daemon, "--mount", "type=volume,src=mv,dst=/m,volume-driver=local,volume-opt=type=tmpfs,"
                "volume-opt=device=tmpfs,volume-opt=o=size=1m,volume-label=team=x", "busybox", "grep", " /m ",
                "/proc/mounts")
    assert r.returncode == 0 and r.stdout.startswith(b"tmpfs /m tmpfs"), (r.stdout, r.stderr)
    a = client.volumes.get("mv").attrs
    assert a["Labels"] == {"team": "x"}
    assert a["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    # An anonymous one keeps Docker's label besides the mount's.
    c = client.containers.create("busybox", ["true"], mounts=[docker.types.Mount("/a", None, type="volume",
                                                                                labels={"k": "v"})])
    anon = c.attrs["Mounts"][0]["Name"]
    assert client.volumes.get(anon).attrs["Labels"] == {"k": "v", ANON: ""}
    c.remove(v=True)
    # A driver other than local, options the local driver does not know: nothing is made.
    # (A 404, as Docker's: the docker CLI then takes it for a missing image and tries a pull.)
    status, msg = api_error(client.containers.create, "busybox", ["true"], mounts=[
        docker.types.Mount("/m", "mv2", driver_config=docker.types.DriverConfig("nosuch"))])
    assert status == 404 and msg == 'error looking up volume plugin nosuch: plugin "nosuch" not found', msg
    status, msg = api_error(client.containers.create, "busybox", ["true"], mounts=[
        docker.types.Mount("/m", "mv3", driver_config=docker.types.DriverConfig("local", {"colour": "red"}))])
    assert status == 400 and msg == 'create mv3: invalid option: "colour"', msg
    assert sorted(v.name for v in client.volumes.list()) == ["mv"]
    assert client.containers.list(all=True) == []


# ---------- copy-up from the image ----------

def test_copy_up_from_image(client, daemon):
    # busybox's /etc into a new named volume: what the image has, with its modes.
    r = cli_run(daemon, "-v", "etcvol:/etc", "busybox", "sh", "-c", "cat /etc/passwd | head -1")
    assert r.returncode == 0 and r.stdout.startswith(b"root:"), r.stderr
    mp = client.volumes.get("etcvol").attrs["Mountpoint"]
    c = client.containers.create("busybox", ["true"])
    image_etc = sorted(x for x in os.listdir(os.path.join(c.attrs["GraphDriver"]["Data"]["MergedDir"], "etc"))
                       if x not in ("hostname", "hosts", "resolv.conf")) \
        if os.path.isdir(c.attrs["GraphDriver"]["Data"].get("MergedDir", "/nonexistent")) else None
    c.remove()
    assert "passwd" in os.listdir(mp) and "group" in os.listdir(mp)
    if image_etc is not None:
        assert set(image_etc) <= set(os.listdir(mp))
    st = os.stat(os.path.join(mp, "passwd"))
    assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == 0
    # A volume that is not empty is not filled again; a changed file stays changed.
    with open(os.path.join(mp, "passwd"), "w") as f:
        f.write("changed\n")
    out = client.containers.run("busybox", ["cat", "/etc/passwd"], volumes={"etcvol": {"bind": "/etc"}},
                                remove=True)
    assert out == b"changed\n"
    # nocopy: the new volume stays empty.
    # (The runtime makes the mount points of /etc/hostname, /etc/hosts and /etc/resolv.conf in it, as
    # Docker's does.)
    made = b"hostname\nhosts\nresolv.conf\n"
    r = cli_run(daemon, "-v", "etcnocopy:/etc:nocopy", "busybox", "ls", "-A", "/etc")
    assert r.returncode == 0 and r.stdout == made, r.stdout
    r = cli_run(daemon, "--mount", "type=volume,src=etcnocopy2,dst=/etc,volume-nocopy", "busybox", "ls",
                   "-A", "/etc")
    assert r.returncode == 0 and r.stdout == made
    # An anonymous volume is filled too; a path the image does not have gives an empty volume.
    out = client.containers.run("busybox", ["sh", "-c", "ls /etc/passwd; ls -A /nothere | wc -l"],
                                volumes=["/etc", "/nothere"], remove=True)
    assert out == b"/etc/passwd\n0\n"


def test_copy_up_keeps_owners_modes_links_xattrs(client):
    """Everything a file carries, from the container's root at the mount point into the volume."""
    c = client.containers.create("busybox", ["true"], volumes={"rich": {"bind": "/seed"}})
    upper = c.attrs["GraphDriver"]["Data"]["UpperDir"]
    seed = os.path.join(upper, "seed")
    os.makedirs(os.path.join(seed, "sub", "deeper"))
    os.chown(seed, 321, 654)
    os.chmod(seed, 0o750)
    with open(os.path.join(seed, "sub", "file"), "w") as f:
        f.write("content\n")
    os.chown(os.path.join(seed, "sub", "file"), 1000, 2000)
    os.chmod(os.path.join(seed, "sub", "file"), 0o4755)
    os.link(os.path.join(seed, "sub", "file"), os.path.join(seed, "hard"))
    os.symlink("/etc/shadow-outside", os.path.join(seed, "abs-link"))
    os.symlink("sub/file", os.path.join(seed, "rel-link"))
    os.lchown(os.path.join(seed, "rel-link"), 7, 8)
    os.mkfifo(os.path.join(seed, "fifo"), 0o640)
    os.chmod(os.path.join(seed, "sub", "deeper"), 0o1777)
    os.setxattr(os.path.join(seed, "sub", "file"), "user.color", b"blue")
    os.setxattr(os.path.join(seed, "sub", "file"), "trusted.secret", b"s3")
    os.utime(os.path.join(seed, "sub", "file"), (1000000000, 1000000000))
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 0
    mp = client.volumes.get("rich").attrs["Mountpoint"]
    root = os.stat(mp)
    assert (root.st_uid, root.st_gid, stat.S_IMODE(root.st_mode)) == (321, 654, 0o750)
    f = os.lstat(os.path.join(mp, "sub", "file"))
    assert (f.st_uid, f.st_gid, stat.S_IMODE(f.st_mode)) == (1000, 2000, 0o4755)
    assert f.st_mtime == 1000000000
    assert os.getxattr(os.path.join(mp, "sub", "file"), "user.color") == b"blue"
    assert os.getxattr(os.path.join(mp, "sub", "file"), "trusted.secret") == b"s3"
    h = os.lstat(os.path.join(mp, "hard"))
    assert h.st_ino == f.st_ino and f.st_nlink == 2
    assert os.readlink(os.path.join(mp, "abs-link")) == "/etc/shadow-outside"
    assert os.readlink(os.path.join(mp, "rel-link")) == "sub/file"
    rl = os.lstat(os.path.join(mp, "rel-link"))
    assert (rl.st_uid, rl.st_gid) == (7, 8)
    assert stat.S_ISFIFO(os.lstat(os.path.join(mp, "fifo")).st_mode)
    assert stat.S_IMODE(os.lstat(os.path.join(mp, "fifo")).st_mode) == 0o640
    assert stat.S_IMODE(os.lstat(os.path.join(mp, "sub", "deeper")).st_mode) == 0o1777
    with open(os.path.join(mp, "hard")) as fh:
        assert fh.read() == "content\n"
    # Inside the container, the same.
    out = client.containers.run("busybox", ["sh", "-c", "stat -c '%u:%g %a' /seed/sub/file; cat /seed/rel-link"],
                                volumes={"rich": {"bind": "/seed"}}, remove=True)
    assert out == b"1000:2000 4755\ncontent\n"


# ---------- system df ----------

def test_system_df(client, daemon):
    v = client.volumes.create("dfvol")
    with open(os.path.join(v.attrs["Mountpoint"], "f"), "wb") as f:
        f.write(b"x" * 12345)
    c = client.containers.create("busybox", ["true"], volumes=["dfvol:/d"])
    df = daemon.api().df()
    vols = {x["Name"]: x for x in df["Volumes"]}
    assert vols["dfvol"]["UsageData"] == {"Size": 12345, "RefCount": 1}
    assert any(x["Id"] == c.id for x in df["Containers"])
    # One image: all of its layers are its own, and the container counts as its user.
    (busybox,) = [i for i in df["Images"] if "busybox:latest" in i["RepoTags"]]
    assert busybox["Size"] == df["LayersSize"] > 0 and busybox["SharedSize"] == 0
    assert busybox["Containers"] == 1
    r = daemon.cli("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}} {{.Reclaimable}}")
    assert r.returncode == 0, r.stderr
    rows = r.stdout.decode().splitlines()
    assert "Images 1 1 0B (0%)" in rows and "Local Volumes 1 1 0B (0%)" in rows, rows
    assert daemon.api().get(daemon.api()._url("/system/df"), params={"type": "nope"}).status_code == 400
    c.remove()


# ---------- nothing lost ----------

def test_volumes_survive_restart_and_kill_9(session_dir, cgroup_parent):
    d = Daemon(session_dir, cgroup_parent, "vr").start()
    try:
        load_busybox(d, session_dir)
        c = d.client()
        c.volumes.create("durable", labels={"k": "v"})
        c.containers.run("busybox", ["sh", "-c", "echo 1 > /d/one"], volumes={"durable": {"bind": "/d"}},
                         remove=True)
        anon_user = c.containers.create("busybox", ["true"], volumes=["/anon"])
        anon = anon_user.attrs["Mounts"][0]["Name"]
        before = {v.name: v.attrs for v in c.volumes.list()}
        assert d.stop() == 0
        d.start()
        c = d.client()
        assert {v.name: v.attrs for v in c.volumes.list()} == before
        # kill -9 right after a create and a remove were acknowledged: both are as answered.
        c.volumes.create("fresh")
        c.volumes.create("doomed")
        c.volumes.get("doomed").remove()
        d.stop(signal.SIGKILL)
        d.start()
        c = d.client()
        names = sorted(v.name for v in c.volumes.list())
        assert names == sorted(["durable", "fresh", anon])
        out = c.containers.run("busybox", ["cat", "/d/one"], volumes={"durable": {"bind": "/d"}}, remove=True)
        assert out == b"1\n"
        assert c.volumes.get("durable").attrs["Labels"] == {"k": "v"}
        c.containers.get(anon_user.id).remove(v=True)
        assert sorted(v.name for v in c.volumes.list()) == ["durable", "fresh"]
        assert sorted(os.listdir(os.path.join(d.data_root, "volumes"))) == ["durable", "fresh"]
    finally:
        assert d.cleanup() == 0, d.read_log()


def test_interrupted_create_and_remove_are_finished_at_start(session_dir, cgroup_parent):
    """What a crash leaves between the steps of a create or a remove is completed or undone."""
    d = Daemon(session_dir, cgroup_parent, "vc").start()
    try:
        c = d.client()
        c.volumes.create("whole")
        c.volumes.create("halfgone")
        vols = os.path.join(d.data_root, "volumes")
        db = os.path.join(d.data_root, "berth.db")
        d.stop(signal.SIGKILL)

        def sql(q):
            return subprocess.run(["sqlite3", db, q], capture_output=True, text=True, check=True).stdout.strip()

        # A create that crashed before its record: a staging directory only.
        os.makedirs(os.path.join(vols, "._new-00112233445566778899aabbccddeeff", "_data"))
        # A create that crashed after its record, before the rename.
        inst = sql("SELECT instance FROM engine_volumes WHERE name = 'whole'")
        os.rename(os.path.join(vols, "whole"), os.path.join(vols, "._new-" + inst))
        # A remove that crashed after the rename, before forgetting the record.
        inst = sql("SELECT instance FROM engine_volumes WHERE name = 'halfgone'")
        os.rename(os.path.join(vols, "halfgone"), os.path.join(vols, "._gone-" + inst))
        d.start()
        c = d.client()
        assert [v.name for v in c.volumes.list()] == ["whole"]
        assert sorted(os.listdir(vols)) == ["whole"]
    finally:
        assert d.cleanup() == 0, d.read_log()


def test_kill_9_during_concurrent_creates_and_removes(session_dir, cgroup_parent):
    """A kill -9 while volumes are being made and removed: every acknowledged create is there,
    every acknowledged remove is gone, and each volume is whole (record and directory)."""
    import threading
    d = Daemon(session_dir, cgroup_parent, "vk").start()
    try:
        load_busybox(d, session_dir)
        for i in range(10):
            d.client().volumes.create(f"old{i}")
        created, removed, stop = set(), set(), threading.Event()

        def creator(k):
            c = docker.DockerClient(base_url=d.host, version="1.41", timeout=10)
            i = 0
            while not stop.is_set():
                name = f"w{k}-{i}"
                i += 1
                try:
                    c.volumes.create(name, labels={"k": str(k)})
                    created.add(name)
                except Exception:
                    return

        def remover():
            c = docker.DockerClient(base_url=d.host, version="1.41", timeout=10)
            for i in range(10):
                try:
                    c.volumes.get(f"old{i}").remove()
                    removed.add(f"old{i}")
                except Exception:
                    return

        threads = [threading.Thread(target=creator, args=(k,)) for k in range(4)] + [threading.Thread(target=remover)]
        for t in threads:
            t.start()
        wait_until(lambda: len(created) >= 20, timeout=30, what="some creates")
        d.stop(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        d.start()
        c = d.client()
        names = {v.name for v in c.volumes.list()}
        assert created <= names, created - names
        assert not (removed & names), removed & names
        vols = os.path.join(d.data_root, "volumes")
        assert sorted(os.listdir(vols)) == sorted(names)
        for n in names:
            assert os.path.isdir(os.path.join(vols, n, "_data"))
        # Every one of them works and goes.
        out = c.containers.run("busybox", ["sh", "-c", "echo ok > /v/f; cat /v/f"],
                               volumes={sorted(names)[0]: {"bind": "/v"}}, remove=True)
        assert out == b"ok\n"
        for n in names:
            c.volumes.get(n).remove()
        assert os.listdir(vols) == []
    finally:
        assert d.cleanup() == 0, d.read_log()
