"""Image operations through berthd: import (with --change), export, commit (deletions as
whiteouts, read back by podman), diff, history, inspect and list in Docker's shapes, prune; and
bad input that leaves everything as it was. Driven by the Docker SDK and the docker CLI."""

import io
import json
import os
import tarfile

import docker
import pytest

from daemon_util import busybox_daemon
from test_image_archives import podman  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "img")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    for img in c.images.list(all=True):
        if "busybox:latest" not in img.tags:
            try:
                c.images.remove(img.id, force=True)
            except docker.errors.APIError:
                pass
    c.close()


def tar_of(files):
    """A tar (bytes) of {name: bytes | None (a directory) | ("link", target)}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            elif isinstance(data, tuple):
                info.type = tarfile.SYMTYPE
                info.linkname = data[1]
                t.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_rootfs(client):
    """The busybox image's files as a tar, through export of a container of it."""
    c = client.containers.create("busybox", "true")
    data = b"".join(c.export())
    c.remove()
    return data


def run_out(client, image, cmd):
    return client.containers.run(image, cmd, remove=True).decode()


def store_state(daemon):
    root = daemon.data_root
    return (sorted(os.listdir(os.path.join(root, "blobs", "sha256"))),
            sorted(os.listdir(os.path.join(root, "layers"))))


# ---------------------------------------------------------------- export


def test_export_is_the_container_filesystem(client):
    c = client.containers.run("busybox", ["sh", "-c", "echo hi > /made-here; rm /bin/true"], detach=True)
    c.wait()
    data = b"".join(c.export())
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        names = set(m.name.rstrip("/") for m in t.getmembers())
        assert t.extractfile("made-here").read() == b"hi\n"
    assert "bin/busybox" in names and "bin/sh" in names
    assert "bin/true" not in names
    # The mount points the runtime needs are there, as in Docker's export.
    assert {"proc", "sys", "dev", "etc/hostname", "etc/resolv.conf", "etc/hosts"} <= names
    assert not any(n.split("/")[-1].startswith(".wh.") for n in names)


def test_export_unknown_container_is_404(daemon):
    r = daemon.cli("export", "-o", os.path.join(daemon.dir, "nope.tar"), "nope")
    assert r.returncode != 0
    assert b"No such container: nope" in r.stderr


# ---------------------------------------------------------------- import


def test_import_with_changes_runs(client, daemon, workdir):
    rootfs = busybox_rootfs(client)
    path = os.path.join(workdir, "rootfs.tar")
    with open(path, "wb") as f:
        f.write(rootfs)
    r = daemon.cli("import", "--change", "ENV GREETING=hello", "--change", "WORKDIR /tmp",
                   "--change", 'CMD ["sh", "-c", "echo $GREETING from $(pwd)"]',
                   "-m", "from a test", path, "imported:v1", check=True)
    image_id = r.stdout.decode().strip()
    assert image_id.startswith("sha256:")
    img = client.images.get("imported:v1")
    assert img.id == image_id
    assert img.attrs["Config"]["Env"] == ["GREETING=hello"]
    assert img.attrs["Config"]["WorkingDir"] == "/tmp"
    assert img.attrs["Comment"] == "from a test"
    assert len(img.attrs["RootFS"]["Layers"]) == 1
    assert run_out(client, "imported:v1", None) == "hello from /tmp\n"
    hist = img.history()
    assert len(hist) == 1 and hist[0]["Comment"] == "from a test" and hist[0]["Id"] == image_id


def test_import_by_sdk_gzip_stream(client):
    raw = tar_of({"bin": None, "hello.txt": b"hello\n"})
    buf = io.BytesIO()
    import gzip
    with gzip.GzipFile(fileobj=buf, mode="wb") as g:
        g.write(raw)
    out = client.api.import_image_from_data(buf.getvalue(), repository="tiny", tag="gz",
                                            changes=["LABEL a=b"])
    assert "sha256:" in out, out
    img = client.images.get("tiny:gz")
    assert img.labels == {"a": "b"}
    assert img.attrs["Os"] == "linux" and img.attrs["Architecture"]
    assert img.attrs["History"] if "History" in img.attrs else True


@pytest.mark.parametrize("case", ["dotdot", "absolute-link-write", "not-a-tar", "bad-change"])
def test_import_bad_input_leaves_nothing(client, daemon, case):
    before = store_state(daemon)
    images_before = sorted(i.id for i in client.images.list(all=True))
    changes = None
    if case == "dotdot":
        data, words = tar_of({"ok": b"ok", "../evil": b"evil"}), "../evil"
    elif case == "absolute-link-write":
        data, words = tar_of({"link": ("link", "/etc"), "link/passwd": b"x"}), "link/passwd"
    elif case == "not-a-tar":
        data, words = b"this is no tar\n" * 100, "importing"
    else:
        data, words = tar_of({"f": b"x"}), "unknown instruction: FROBNICATE"
        changes = ["FROBNICATE now"]
    with pytest.raises(docker.errors.APIError) as exc:
        client.api.import_image_from_data(data, repository="bad", tag=case, changes=changes)
    assert exc.value.status_code == 400, exc.value
    assert words in str(exc.value), str(exc.value)
    assert store_state(daemon) == before
    assert sorted(i.id for i in client.images.list(all=True)) == images_before
    assert not os.path.exists(os.path.join(daemon.data_root, "evil"))


def test_import_bad_reference_is_400(client):
    with pytest.raises(docker.errors.APIError) as exc:
        client.api.import_image_from_data(tar_of({"f": b"x"}), repository="Bad Name")
    assert exc.value.status_code == 400
    assert "invalid reference format" in str(exc.value)


# ---------------------------------------------------------------- diff and commit

CHANGE_SCRIPT = ("mkdir -p /data/sub && echo one > /data/sub/file && echo new > /added; "
                 "rm /bin/true; echo changed >> /etc/passwd; rm -rf /usr; mkdir -p /usr/fresh; "
                 "echo x > /usr/fresh/only")


def test_diff_lists_only_what_the_container_did(client, daemon):
    c = client.containers.run("busybox", ["sh", "-c", CHANGE_SCRIPT], detach=True)
    assert c.wait()["StatusCode"] == 0
    changes = {(ch["Path"], ch["Kind"]) for ch in c.diff()}
    assert ("/added", 1) in changes
    assert ("/bin/true", 2) in changes
    assert ("/etc/passwd", 0) in changes
    assert ("/data/sub/file", 1) in changes
    # Nothing of the runtime's own mount points.
    paths = {p for p, _ in changes}
    assert not paths & {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc", "/sys", "/dev"}
    r = daemon.cli("diff", c.id, check=True)
    lines = r.stdout.decode().splitlines()
    assert "A /added" in lines and "D /bin/true" in lines and "C /etc/passwd" in lines


def test_commit_shows_exactly_the_changes(client, daemon):
    c = client.containers.run("busybox", ["sh", "-c", CHANGE_SCRIPT], detach=True)
    c.wait()
    img = c.commit(repository="committed", tag="v1", message="a commit", author="someone",
                   changes=["ENV FROM_COMMIT=1", 'CMD ["sh"]'])
    attrs = client.images.get("committed:v1").attrs
    assert attrs["Id"] == img.id
    assert attrs["Author"] == "someone" and attrs["Comment"] == "a commit"
    assert "FROM_COMMIT=1" in attrs["Config"]["Env"]
    assert attrs["Config"]["Cmd"] == ["sh"]
    assert attrs["Parent"] == client.images.get("busybox").id
    assert attrs["Container"] == c.id
    busybox_layers = client.images.get("busybox").attrs["RootFS"]["Layers"]
    assert attrs["RootFS"]["Layers"][:-1] == busybox_layers
    assert len(attrs["RootFS"]["Layers"]) == len(busybox_layers) + 1
    out = run_out(client, "committed:v1",
                  ["sh", "-c", "cat /added /data/sub/file; ls /usr; cat /usr/fresh/only; "
                               "test -e /bin/true && echo true-there; tail -1 /etc/passwd"])
    assert out == "new\none\nfresh\nx\nchanged\n", out
    hist = client.images.get("committed:v1").history()
    assert hist[0]["Id"] == img.id and hist[0]["Comment"] == "a commit"
    assert "committed:v1" in hist[0]["Tags"]
    assert hist[0]["CreatedBy"].startswith("sh -c")
    assert hist[0]["Size"] > 0


def test_commit_without_changes_adds_no_layer(client):
    c = client.containers.create("busybox", "true")
    img = c.commit(repository="nochange")
    layers = client.images.get(img.id).attrs["RootFS"]["Layers"]
    assert layers == client.images.get("busybox").attrs["RootFS"]["Layers"]
    assert img.history()[0]["Size"] == 0


def test_commit_of_a_running_container(client, daemon):
    c = client.containers.run("busybox", ["sh", "-c", "echo live > /live; sleep 100"], detach=True)
    try:
        for _ in range(100):
            if c.diff():
                break
        r = daemon.cli("commit", "-c", "LABEL x=y", c.id, "running:snap", check=True)
        assert r.stdout.decode().strip().startswith("sha256:")
        c.reload()
        assert c.status == "running"  # paused for the commit only
        assert run_out(client, "running:snap", ["cat", "/live"]) == "live\n"
        assert client.images.get("running:snap").labels == {"x": "y"}
    finally:
        c.remove(force=True)


def test_commit_errors(client, daemon):
    with pytest.raises(docker.errors.NotFound):
        client.api.commit("no-such-container")
    c = client.containers.create("busybox", "true")
    with pytest.raises(docker.errors.APIError) as exc:
        client.api.commit(c.id, repository="Bad Repo")
    assert exc.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as exc:
        client.api.commit(c.id, changes=["RUN echo no"])
    assert exc.value.status_code == 400
    assert "RUN is not a valid change command" in str(exc.value) or "run is not" in str(exc.value).lower()
    before = store_state(daemon)
    assert store_state(daemon) == before


def test_podman_reads_a_committed_layer_the_same_way(client, daemon, podman, workdir):
    c = client.containers.run("busybox", ["sh", "-c", CHANGE_SCRIPT], detach=True)
    c.wait()
    c.commit(repository="forpodman", tag="v1")
    path = os.path.join(workdir, "committed.tar")
    with open(path, "wb") as f:
        for chunk in client.images.get("forpodman:v1").save(named=True):
            f.write(chunk)
    podman.ok("load", "-i", path)
    # The merged tree as podman mounts it equals the one berth runs.
    script = "find / -xdev | sort | grep -v -e '^/proc' -e '^/sys' -e '^/dev' -e '^/etc/hostname' " \
             "-e '^/etc/hosts' -e '^/etc/resolv.conf' -e '^/run'"
    mnt = podman.ok("image", "mount", "forpodman:v1").out.strip()
    try:
        theirs = []
        for dirpath, dirnames, filenames in os.walk(mnt):
            for n in dirnames + filenames:
                theirs.append("/" + os.path.relpath(os.path.join(dirpath, n), mnt))
    finally:
        podman("image", "unmount", "forpodman:v1")
    ours = run_out(client, "forpodman:v1", ["sh", "-c", script]).split()
    ignore = ("/proc", "/sys", "/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/run")
    theirs = sorted(p for p in theirs if not p.startswith(ignore))
    ours = sorted(p for p in ours if p != "/" and not p.startswith(ignore))
    assert ours == theirs
    assert "/bin/true" not in theirs and "/added" in theirs and "/usr/fresh/only" in theirs
    assert not any(p.startswith("/usr/bin") or p.startswith("/usr/sbin") for p in theirs)


# ---------------------------------------------------------------- list, inspect, history, prune


def test_inspect_in_dockers_shape(client, daemon):
    attrs = client.images.get("busybox").attrs
    for key in ("Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Container",
                "ContainerConfig", "DockerVersion", "Author", "Config", "Architecture", "Os", "Size",
                "VirtualSize", "GraphDriver", "RootFS", "Metadata"):
        assert key in attrs, key
    assert attrs["RepoTags"] == ["busybox:latest"]
    assert attrs["RootFS"]["Type"] == "layers"
    assert attrs["GraphDriver"]["Name"] == "overlay2"
    assert attrs["Config"]["Cmd"] == ["sh"]
    r = daemon.cli("image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{json .RepoTags}}", "busybox",
                   check=True)
    assert r.stdout.decode().strip().endswith('["busybox:latest"]')
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nope:nope")


def test_list_and_filters(client, daemon):
    c = client.containers.create("busybox", "true")
    c.commit(repository="listed", tag="one", changes=["LABEL tier=gold"])
    c.commit()  # dangling: no tag
    tags = {t for i in client.images.list() for t in i.tags}
    assert {"busybox:latest", "listed:one"} <= tags
    gold = client.images.list(filters={"label": "tier=gold"})
    assert [i.tags for i in gold] == [["listed:one"]]
    dangling = client.images.list(filters={"dangling": True})
    assert len(dangling) == 1 and dangling[0].tags == []
    assert [i.tags for i in client.images.list(name="listed")] == [["listed:one"]]
    r = daemon.cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=True)
    lines = r.stdout.decode().split()
    assert "busybox:latest" in lines and "listed:one" in lines and "<none>:<none>" in lines
    r = daemon.cli("images", "-f", "bogus=1")
    assert r.returncode != 0 and b"invalid filter 'bogus'" in r.stderr


def test_prune_removes_only_dangling_unused(client):
    c = client.containers.create("busybox", "true")
    keep = c.commit(repository="kept")
    gone = c.commit()
    out = client.images.prune()
    deleted = [d.get("Deleted") for d in out["ImagesDeleted"] or []]
    assert gone.id in deleted
    assert keep.id not in deleted
    client.images.get("kept")
    client.images.get("busybox")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(gone.id)


def test_history_of_a_loaded_image(client, daemon):
    hist = client.images.get("busybox").history()
    assert hist[0]["Id"] == client.images.get("busybox").id
    assert all(h["Id"] == "<missing>" for h in hist[1:])
    r = daemon.cli("history", "--no-trunc", "busybox", check=True)
    assert b"IMAGE" in r.stdout and b"CREATED BY" in r.stdout


def test_berth_cli_commit_and_import(client, daemon, workdir):
    """`berth commit` and `berth import` print the new image's ID, as docker does."""
    import subprocess
    from test_cli import berth_path
    env = dict(os.environ, BERTH_HOST=daemon.host)

    def berth(*args):
        return subprocess.run([berth_path(), *args], capture_output=True, env=env, timeout=120)

    c = client.containers.run("busybox", ["sh", "-c", "echo made > /made"], detach=True)
    c.wait()
    r = berth("commit", "-c", "ENV BY=berth", "-m", "from the cli", c.id, "clicommit:v1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == client.images.get("clicommit:v1").id
    attrs = client.images.get("clicommit:v1").attrs
    assert "BY=berth" in attrs["Config"]["Env"] and attrs["Comment"] == "from the cli"
    path = os.path.join(workdir, "rootfs.tar")
    with open(path, "wb") as f:
        f.write(busybox_rootfs(client))
    r = berth("import", "-c", "CMD [\"cat\", \"/etc/passwd\"]", path, "cliimport:v1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == client.images.get("cliimport:v1").id
    assert run_out(client, "cliimport:v1", None).startswith("root:")
    r = berth("commit", "no-such-container")
    assert r.returncode == 1 and b"No such container" in r.stderr
