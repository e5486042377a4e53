"""`docker cp` through berthd (GET/HEAD/PUT /containers/{id}/archive): files both ways, for
running and stopped containers, resolved inside the container's root: a symlink the container
made never takes a copy out of it. Driven by the Docker SDK and the docker CLI."""

import io
import os
import tarfile

import docker
import pytest

from daemon_util import busybox_daemon


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "cp")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


def one_file_tar(name, data, mode=0o644):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        info.uid = info.gid = 1234
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read_archive(container, path):
    stream, stat = container.get_archive(path)
    data = b"".join(stream)
    return tarfile.open(fileobj=io.BytesIO(data)), stat


def sleeper(client, **kw):
    return client.containers.run("busybox", ["sleep", "300"], detach=True, **kw)


def test_copy_out_of_a_running_container(client, daemon, workdir):
    c = sleeper(client)
    t, stat = read_archive(c, "/etc/passwd")
    assert t.getnames() == ["passwd"]
    assert t.extractfile("passwd").read().startswith(b"root:")
    assert stat["name"] == "passwd" and stat["size"] > 0 and stat["linkTarget"] == ""
    t, stat = read_archive(c, "/etc")
    assert "etc/passwd" in t.getnames() and t.getnames()[0] == "etc"
    assert stat["mode"] & (1 << 31)  # Go's ModeDir
    dest = os.path.join(workdir, "passwd.out")
    daemon.cli("cp", f"{c.id}:/etc/passwd", dest, check=True)
    with open(dest, "rb") as f:
        assert f.read().startswith(b"root:")


def test_copy_in_and_see_it_inside(client, daemon, workdir):
    c = sleeper(client)
    assert c.put_archive("/tmp", one_file_tar("hello.txt", b"hi there\n"))
    assert c.exec_run(["cat", "/tmp/hello.txt"]).output == b"hi there\n"
    # Owners are root's unless asked to keep them (docker cp -a).
    assert c.exec_run(["stat", "-c", "%u:%g", "/tmp/hello.txt"]).output == b"0:0\n"
    src = os.path.join(workdir, "dir-in")
    os.makedirs(os.path.join(src, "sub"))
    with open(os.path.join(src, "sub", "f"), "w") as f:
        f.write("nested\n")
    daemon.cli("cp", src, f"{c.id}:/tmp", check=True)
    assert c.exec_run(["cat", "/tmp/dir-in/sub/f"]).output == b"nested\n"
    # To a path that does not exist yet: the directory is made under that name, as docker does.
    daemon.cli("cp", src, f"{c.id}:/opt", check=True)
    assert c.exec_run(["cat", "/opt/sub/f"]).output == b"nested\n"


def test_copy_into_a_stopped_container(client):
    c = client.containers.create("busybox", ["cat", "/root/note"])
    c.put_archive("/root", one_file_tar("note", b"before start\n"))
    c.start()
    c.wait()
    assert c.logs() == b"before start\n"
    t, _ = read_archive(c, "/root/note")
    assert t.extractfile("note").read() == b"before start\n"


def test_symlinks_never_lead_out(client, daemon, workdir):
    outside = os.path.join(workdir, "host-side")
    os.makedirs(outside)
    c = sleeper(client)
    c.exec_run(["ln", "-s", outside, "/evil"])
    c.exec_run(["ln", "-s", "../../../../../../" + outside.lstrip("/"), "/tmp/evil2"])
    c.exec_run(["mkdir", "-p", outside])  # the same path inside the container
    c.put_archive("/evil", one_file_tar("planted", b"x"))
    c.put_archive("/tmp/evil2", one_file_tar("planted2", b"x"))
    assert os.listdir(outside) == []
    # Both landed at that path inside the container instead.
    assert c.exec_run(["ls", outside]).output.split() == [b"planted", b"planted2"]
    # A tar that climbs out is refused and writes nothing outside.
    with pytest.raises(docker.errors.APIError) as exc:
        c.put_archive("/tmp", one_file_tar("../../../../" + outside.lstrip("/") + "/climbed", b"x"))
    assert exc.value.status_code == 400, exc.value
    assert os.listdir(outside) == []
    # A link is copied as the link, not what it points at.
    t, stat = read_archive(c, "/evil")
    assert stat["linkTarget"] == outside
    assert t.getmembers()[0].issym()


def test_volumes_are_seen_where_the_container_sees_them(client):
    client.volumes.create("cpvol")
    c = sleeper(client, volumes={"cpvol": {"bind": "/data", "mode": "rw"}})
    c.put_archive("/data", one_file_tar("in-volume", b"vol\n"))
    out = client.containers.run("busybox", ["cat", "/data/in-volume"], remove=True,
                                volumes={"cpvol": {"bind": "/data", "mode": "rw"}})
    assert out == b"vol\n"


def test_errors(client, daemon):
    c = sleeper(client)
    with pytest.raises(docker.errors.NotFound) as exc:
        c.get_archive("/no/such/file")
    assert "Could not find the file /no/such/file" in str(exc.value)
    with pytest.raises(docker.errors.APIError) as exc:
        c.put_archive("/etc/passwd", one_file_tar("x", b"x"))
    assert exc.value.status_code == 400
    with pytest.raises(docker.errors.NotFound):
        client.api.get_archive("no-such-container", "/etc")
    with pytest.raises(docker.errors.APIError) as exc:
        c.put_archive("/tmp", b"this is not a tar archive" * 40)
    assert exc.value.status_code == 400
    ro = sleeper(client, read_only=True)
    with pytest.raises(docker.errors.APIError) as exc:
        ro.put_archive("/tmp", one_file_tar("x", b"x"))
    assert exc.value.status_code == 403
    # The daemon is fine afterwards.
    assert c.exec_run(["true"]).exit_code == 0
