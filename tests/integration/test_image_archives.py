"""Image archives: `docker load` and `docker save` in berth's image layer, driven
through tests/tools/imgtool (a test driver over img_load_archive / img_save_archive),
and checked against the tools of the field: podman load/save, skopeo inspect/copy,
umoci unpack.

Every data root is a temp dir of the test. podman keeps everything under its own
--root/--runroot/--tmpdir in a temp dir, with tmpfs over /run and /var/lib
(conftest.private_system_dirs), so the machine's podman storage is never touched.

The imgtool used is <repo>/$BERTH_BUILD/tests/tools/imgtool (build by default).
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import REPO, SCRIPTS, Result, remove_tree, sys_mount, umount_below

TIMEOUT = 120
BUILD = os.environ.get("BERTH_BUILD", "build")
IMGTOOL = os.path.join(REPO, BUILD, "tests", "tools", "imgtool")

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


# --------------------------------------------------------------------------
# helpers


def run(argv, input=None, cwd=None, env=None, timeout=TIMEOUT):
    p = subprocess.run([str(a) for a in argv], input=input, capture_output=True,
                       cwd=cwd, env=env, timeout=timeout)
    return Result(p.returncode, p.stdout.decode(errors="replace"),
                  p.stderr.decode(errors="replace"))


def ok(argv, **kw):
    r = run(argv, **kw)
    assert r.rc == 0, f"{' '.join(map(str, argv))}: exit {r.rc}\n{r.err}{r.out}"
    return r


class Tool:
    """imgtool over one data root."""

    def __init__(self, root):
        self.root = root

    def __call__(self, *args, input=None):
        return run([IMGTOOL, "--root", self.root, *args], input=input)

    def ok(self, *args, input=None):
        r = self(*args, input=input)
        assert r.rc == 0, f"imgtool {' '.join(map(str, args))}: exit {r.rc}\n{r.err}{r.out}"
        return r

    def load(self, path):
        return self.ok("load", "-i", path).out.splitlines()

    def images(self):
        """[(repository, tag, full id)] sorted."""
        lines = self.ok("images", "--no-trunc").out.splitlines()
        assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID"], lines
        return sorted(tuple(ln.split()) for ln in lines[1:])

    def inspect(self, name):
        return json.loads(self.ok("inspect", name).out)

    def rootfs(self, name):
        return self.ok("rootfs", name).out.splitlines()

    def layer_dirs(self):
        return sorted(os.listdir(os.path.join(self.root, "layers")))

    def blobs(self):
        return sorted(os.listdir(os.path.join(self.root, "blobs", "sha256")))

    def state(self):
        """What a failed load must leave as it was."""
        return self.images(), self.layer_dirs(), self.blobs()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def jbytes(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def tar_bytes(entries):
    """A layer tar from [(name, kind, data)]: kind "f" (data bytes, optional mode via
    (bytes, mode)), "d", "l" (symlink, data = target), "h" (hard link, data = target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1000
            info.uname = info.gname = ""
            if kind == "d":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "l":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                info.mode = 0o777
                tar.addfile(info)
            elif kind == "h":
                info.type = tarfile.LNKTYPE
                info.linkname = data
                info.mode = 0o644
                tar.addfile(info)
            else:
                mode = 0o644
                if isinstance(data, tuple):
                    data, mode = data
                info.size = len(data)
                info.mode = mode
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_config(diff_ids, created="2024-01-02T03:04:05Z"):
    return jbytes({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    })


class Image:
    """An image made by the test: layers as tar bytes (maybe compressed: blobs) and
    their uncompressed diff IDs."""

    def __init__(self, layers, tags=(), gzip_layers=(), created="2024-01-02T03:04:05Z",
                 config=None, diff_ids=None):
        self.tars = layers
        self.blobs = [gzip.compress(t, mtime=0) if i in gzip_layers else t
                      for i, t in enumerate(layers)]
        self.diff_ids = diff_ids if diff_ids is not None else [sha256(t) for t in layers]
        self.config = config if config is not None else image_config(self.diff_ids, created)
        self.id = sha256(self.config)
        self.tags = list(tags)


def write_tar(path, files, gz=False):
    """files: [(name, bytes or None for a directory)], in the order given."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)


def docker_archive(path, images, layout="v1", order="manifest-last", gz=False, drop=(),
                   extra=(), manifest=None):
    """A docker save archive. layout "v1": <hex>.json + <id>/layer.tar; "blobs": Docker
    25's blobs/sha256/<hex>. drop: member names left out; manifest: bytes instead of the
    real manifest.json."""
    files, entries, seen = [], [], set()
    for img in images:
        hexc = img.id.split(":")[1]
        cname = f"{hexc}.json" if layout == "v1" else f"blobs/sha256/{hexc}"
        layers = []
        for blob in img.blobs:
            h = hashlib.sha256(blob).hexdigest()
            lname = f"{h}/layer.tar" if layout == "v1" else f"blobs/sha256/{h}"
            layers.append(lname)
            if lname not in seen:
                seen.add(lname)
                if layout == "v1":
                    files += [(f"{h}/", None), (f"{h}/VERSION", b"1.0"),
                              (f"{h}/json", jbytes({"id": h}))]
                files.append((lname, blob))
        if cname not in seen:
            seen.add(cname)
            files.append((cname, img.config))
        entries.append({"Config": cname, "RepoTags": img.tags or None, "Layers": layers})
    meta = [("manifest.json", manifest if manifest is not None else jbytes(entries))]
    files = [f for f in files if f[0] not in drop] + list(extra)
    files = meta + files if order == "manifest-first" else files + meta
    write_tar(path, files, gz=gz)


def oci_archive(path, images, annotations=None, order="index-last", corrupt=None, drop=()):
    """An OCI layout archive; annotations(img) -> dict for its index entry (default: the
    containerd name and the tag as ref.name, one entry per tag). corrupt: a blob (bytes)
    whose content is replaced while its name stays."""
    blobs, index = {}, []
    for img in images:
        layers = []
        for i, blob in enumerate(img.blobs):
            blobs[sha256(blob)] = blob
            mt = MT_OCI_LAYER_GZIP if blob[:2] == b"\x1f\x8b" else MT_OCI_LAYER
            layers.append({"mediaType": mt, "digest": sha256(blob), "size": len(blob)})
        blobs[img.id] = img.config
        manifest = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                           "config": {"mediaType": MT_OCI_CONFIG, "digest": img.id,
                                      "size": len(img.config)},
                           "layers": layers})
        blobs[sha256(manifest)] = manifest
        desc = {"mediaType": MT_OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest)}
        if annotations is not None:
            index.append(dict(desc, annotations=annotations(img)))
        elif img.tags:
            for t in img.tags:
                name, _, tag = t.rpartition(":")
                full = name if "/" in name else "docker.io/library/" + name
                index.append(dict(desc, annotations={
                    "org.opencontainers.image.ref.name": tag,
                    "io.containerd.image.name": f"{full}:{tag}"}))
        else:
            index.append(desc)
    files = [("blobs/", None), ("blobs/sha256/", None)]
    for digest, data in blobs.items():
        if corrupt is not None and data == corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        files.append(("blobs/sha256/" + digest.split(":")[1], data))
    files = [f for f in files if f[0] not in drop]
    meta = [("index.json", jbytes({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                                   "manifests": index})),
            ("oci-layout", jbytes({"imageLayoutVersion": "1.0.0"}))]
    write_tar(path, meta + files if order == "index-first" else files + meta)


def tree(root):
    """{relpath: ("d", mode) | ("f", content, mode) | ("l", target)} of a directory."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    out[rel] = ("f", f.read(), stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("?", st.st_mode, st.st_rdev)
    return out


class Overlay:
    """Overlay mounts of lower dirs (top-most first), unmounted at the end."""

    def __init__(self, base):
        self.base = base
        self.n = 0
        self.mounts = []

    def mount(self, lowers):
        self.n += 1
        d = os.path.join(self.base, f"ovl{self.n}")
        for sub in ("upper", "work", "merged"):
            os.makedirs(os.path.join(d, sub))
        opts = (f"lowerdir={':'.join(lowers)},upperdir={d}/upper,workdir={d}/work")
        sys_mount("overlay", f"{d}/merged", "overlay", 0, opts)
        self.mounts.append(f"{d}/merged")
        return f"{d}/merged"

    def close(self):
        for m in reversed(self.mounts):
            umount_below(m)


@pytest.fixture
def overlay(workdir):
    o = Overlay(workdir)
    yield o
    o.close()


@pytest.fixture(scope="session")
def imgtool():
    if not os.access(IMGTOOL, os.X_OK):
        pytest.fail(f"{IMGTOOL} not found: run `make` (BERTH_BUILD={BUILD})", pytrace=False)
    return IMGTOOL


@pytest.fixture
def tool(imgtool, workdir):
    return Tool(os.path.join(workdir, "root"))


@pytest.fixture
def tool2(imgtool, workdir):
    return Tool(os.path.join(workdir, "root2"))


@pytest.fixture(scope="session")
def busybox(session_dir):
    """{"docker": path, "oci": path, "id": image ID} of the busybox archives."""
    d = os.path.join(session_dir, "busybox-archives")
    os.mkdir(d)
    out = {}
    for fmt in ("docker", "oci"):
        path = os.path.join(d, f"busybox-{fmt}.tar")
        r = ok([os.path.join(SCRIPTS, "make-busybox-image"), path, "--format", fmt,
                "--tag", "busybox:latest"])
        out[fmt] = path
        out["id"] = r.out.strip()
    return out


def three_layer_image(tags=("three:v1",), gzip_layers=(1,)):
    """Adds, changes and deletes files, replaces a dir by a file and a file by a dir,
    makes a dir opaque, and deletes a whole dir."""
    l1 = tar_bytes([
        ("bin/", "d", None), ("bin/tool", "f", (b"#!/bin/sh\n", 0o755)),
        ("etc/", "d", None), ("etc/keep", "f", b"keep\n"), ("etc/change", "f", b"v1\n"),
        ("etc/hard", "h", "etc/keep"),
        ("del/", "d", None), ("del/gone", "f", b"bye"), ("del/stay", "f", b"stay"),
        ("d/", "d", None), ("d/x", "f", b"x"), ("d/sub/", "d", None), ("d/sub/y", "f", b"y"),
        ("opq/", "d", None), ("opq/old1", "f", b"o1"), ("opq/old2", "f", b"o2"),
        ("gone-dir/", "d", None), ("gone-dir/f", "f", b"f"),
        ("f2d", "f", b"a file first"),
        ("link", "l", "etc/keep"),
    ])
    l2 = tar_bytes([
        ("etc/", "d", None), ("etc/change", "f", b"v2\n"), ("etc/new", "f", b"new\n"),
        ("del/", "d", None), ("del/.wh.gone", "f", b""),
        ("d", "f", b"now a file\n"),
        ("opq/", "d", None), ("opq/.wh..wh..opq", "f", b""), ("opq/new1", "f", b"n1"),
    ])
    l3 = tar_bytes([
        ("etc/", "d", None), ("etc/.wh.new", "f", b""),
        (".wh.gone-dir", "f", b""),
        ("f2d/", "d", None), ("f2d/inner", "f", b"inner"),
        ("z/", "d", None), ("z/deep/", "d", None), ("z/deep/file", "f", b"deep"),
        ("link2", "l", "d"),
    ])
    return Image([l1, l2, l3], tags=tags, gzip_layers=gzip_layers)


THREE_EXPECTED = {
    "bin": ("d", 0o755), "bin/tool": ("f", b"#!/bin/sh\n", 0o755),
    "d": ("f", b"now a file\n", 0o644),
    "del": ("d", 0o755), "del/stay": ("f", b"stay", 0o644),
    "etc": ("d", 0o755), "etc/keep": ("f", b"keep\n", 0o644),
    "etc/change": ("f", b"v2\n", 0o644), "etc/hard": ("f", b"keep\n", 0o644),
    "f2d": ("d", 0o755), "f2d/inner": ("f", b"inner", 0o644),
    "link": ("l", "etc/keep"), "link2": ("l", "d"),
    "opq": ("d", 0o755), "opq/new1": ("f", b"n1", 0o644),
    "z": ("d", 0o755), "z/deep": ("d", 0o755), "z/deep/file": ("f", b"deep", 0o644),
}


# --------------------------------------------------------------------------
# load


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_load_busybox(tool, busybox, overlay, fmt):
    t0 = time.monotonic()
    out = tool.load(busybox[fmt])
    elapsed = time.monotonic() - t0
    print(f"\nload of the busybox {fmt} archive: {elapsed * 1000:.1f} ms")
    assert out == ["Loaded image: busybox:latest"]
    assert tool.images() == [("busybox", "latest", busybox["id"])]
    info = tool.inspect("busybox")
    assert info["Id"] == busybox["id"]
    assert len(info["DiffIds"]) == 1 and info["ChainIds"] == info["DiffIds"]
    dirs = tool.rootfs("busybox")
    assert dirs == [os.path.join(tool.root, "layers", info["ChainIds"][0].split(":")[1], "diff")]
    merged = overlay.mount(dirs)
    st = os.stat(os.path.join(merged, "bin", "busybox"))
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o111
    assert os.path.islink(os.path.join(merged, "bin", "sh"))
    # Loading again finds everything in place and changes nothing.
    before = tool.state()
    assert tool.load(busybox[fmt]) == ["Loaded image: busybox:latest"]
    assert tool.state() == before


def test_both_formats_give_one_image(tool, busybox):
    tool.load(busybox["docker"])
    tool.load(busybox["oci"])
    assert tool.images() == [("busybox", "latest", busybox["id"])]
    assert len(tool.layer_dirs()) == 1
    # The OCI load brought the manifest: the image has it now.
    assert tool.inspect("busybox")["ManifestDigest"].startswith("sha256:")


def test_rootfs_mount_by_imgtool(tool, busybox, workdir):
    tool.load(busybox["docker"])
    target = os.path.join(workdir, "mnt")
    os.mkdir(target)
    try:
        r = tool.ok("rootfs", "busybox", target)
        assert len(r.out.splitlines()) == 1
        assert os.path.isfile(os.path.join(target, "bin", "busybox"))
    finally:
        umount_below(target)


@pytest.mark.parametrize("fmt", ["docker", "docker-blobs", "oci"])
def test_three_layers_merged_view(tool, workdir, overlay, fmt):
    img = three_layer_image()
    path = os.path.join(workdir, "three.tar")
    if fmt == "oci":
        oci_archive(path, [img])
    else:
        docker_archive(path, [img], layout="v1" if fmt == "docker" else "blobs")
    assert tool.load(path) == ["Loaded image: three:v1"]
    info = tool.inspect("three:v1")
    assert info["Id"] == img.id
    assert info["DiffIds"] == img.diff_ids
    dirs = tool.rootfs("three:v1")
    assert len(dirs) == 3
    merged = overlay.mount(dirs)
    got = tree(merged)
    assert got == THREE_EXPECTED
    # The layers are in overlay form: whiteouts are 0/0 devices, opq/ is opaque.
    l2 = dirs[1]
    st = os.lstat(os.path.join(l2, "del", "gone"))
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(os.path.join(l2, "opq"), "trusted.overlay.opaque") == b"y"
    # A hard link stays one.
    l1 = dirs[2]
    assert os.stat(os.path.join(l1, "etc", "hard")).st_ino == \
        os.stat(os.path.join(l1, "etc", "keep")).st_ino


def test_member_order_does_not_matter(tool, tool2, workdir):
    img = three_layer_image()
    a = os.path.join(workdir, "docker-first.tar")
    b = os.path.join(workdir, "oci-first.tar")
    docker_archive(a, [img], order="manifest-first")
    oci_archive(b, [img], order="index-first")
    assert tool.load(a) == ["Loaded image: three:v1"]
    assert tool2.load(b) == ["Loaded image: three:v1"]
    assert tool.inspect("three:v1")["DiffIds"] == tool2.inspect("three:v1")["DiffIds"]


def test_gzip_archive(tool, busybox, workdir):
    path = os.path.join(workdir, "busybox.tar.gz")
    with open(busybox["docker"], "rb") as f, open(path, "wb") as g:
        g.write(gzip.compress(f.read()))
    assert tool.load(path) == ["Loaded image: busybox:latest"]
    # ... and from stdin
    with open(path, "rb") as f:
        data = f.read()
    r = tool.ok("load", input=data)
    assert r.out.splitlines() == ["Loaded image: busybox:latest"]


def test_several_images_and_tags(tool, busybox, workdir):
    three = three_layer_image(tags=("three:v1", "three:latest", "reg.example:5000/ns/three:x"))
    untagged = Image([tar_bytes([("only", "f", b"untagged")])])
    path = os.path.join(workdir, "multi.tar")
    docker_archive(path, [three, untagged])
    out = tool.load(path)
    assert out == ["Loaded image: three:v1", "Loaded image: three:latest",
                   "Loaded image: reg.example:5000/ns/three:x",
                   f"Loaded image ID: {untagged.id}"]
    assert tool.images() == sorted([
        ("three", "v1", three.id), ("three", "latest", three.id),
        ("reg.example:5000/ns/three", "x", three.id), ("<none>", "<none>", untagged.id)])
    # OCI: one entry per tag, names from the containerd annotation or a whole ref.name;
    # a bare ref.name names no repository.
    oci = os.path.join(workdir, "multi-oci.tar")
    names = {three.id: {"io.containerd.image.name": "docker.io/library/three:oci",
                        "org.opencontainers.image.ref.name": "oci"},
             untagged.id: {"org.opencontainers.image.ref.name": "quay.io/x/untagged:full"}}
    oci_archive(oci, [three, untagged], annotations=lambda img: names[img.id])
    out = tool.load(oci)
    assert out == ["Loaded image: three:oci", "Loaded image: quay.io/x/untagged:full"]
    bare = Image([tar_bytes([("bare", "f", b"bare")])])
    oci2 = os.path.join(workdir, "bare.tar")
    oci_archive(oci2, [bare], annotations=lambda img: {"org.opencontainers.image.ref.name": "v1"})
    assert tool.load(oci2) == [f"Loaded image ID: {bare.id}"]


def test_docker25_archive_names_its_manifest(tool, workdir):
    """Docker 25+ writes an OCI layout beside manifest.json: the image gets that manifest."""
    img = three_layer_image()
    layers = [{"mediaType": MT_OCI_LAYER_GZIP if b[:2] == b"\x1f\x8b" else MT_OCI_LAYER,
               "digest": sha256(b), "size": len(b)} for b in img.blobs]
    manifest = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                       "config": {"mediaType": MT_OCI_CONFIG, "digest": img.id,
                                  "size": len(img.config)}, "layers": layers})
    index = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": MT_OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
         "annotations": {"io.containerd.image.name": "docker.io/library/three:v1",
                         "org.opencontainers.image.ref.name": "v1"}}]})
    path = os.path.join(workdir, "docker25.tar")
    docker_archive(path, [img], layout="blobs", extra=[
        ("blobs/sha256/" + sha256(manifest)[7:], manifest), ("index.json", index),
        ("oci-layout", jbytes({"imageLayoutVersion": "1.0.0"}))])
    assert tool.load(path) == ["Loaded image: three:v1"]
    assert tool.inspect("three:v1")["ManifestDigest"] == sha256(manifest)
    # Saved as OCI, that manifest is kept as it is.
    out = os.path.join(workdir, "saved.tar")
    tool.ok("save", "-o", out, "--format", "oci", "three:v1")
    idx = json.loads(members(out)["index.json"])
    assert [e["digest"] for e in idx["manifests"]] == [sha256(manifest)]


def test_multi_platform_index(tool, workdir):
    """An index.json entry that is an index: the host's platform (amd64 here) is loaded."""
    amd = Image([tar_bytes([("amd", "f", b"amd64")])])
    arm = Image([tar_bytes([("arm", "f", b"arm64")])],
                config=jbytes({"architecture": "arm64", "os": "linux",
                               "rootfs": {"type": "layers",
                                          "diff_ids": [sha256(tar_bytes([("arm", "f", b"arm64")]))]}}))
    blobs = {}
    entries = []
    for img, arch in ((amd, "amd64"), (arm, "arm64")):
        blob = img.blobs[0]
        m = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                    "config": {"mediaType": MT_OCI_CONFIG, "digest": img.id, "size": len(img.config)},
                    "layers": [{"mediaType": MT_OCI_LAYER, "digest": sha256(blob), "size": len(blob)}]})
        blobs.update({img.id: img.config, sha256(blob): blob, sha256(m): m})
        entries.append({"mediaType": MT_OCI_MANIFEST, "digest": sha256(m), "size": len(m),
                        "platform": {"os": "linux", "architecture": arch}})
    idx = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": entries})
    blobs[sha256(idx)] = idx
    top = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": MT_OCI_INDEX, "digest": sha256(idx), "size": len(idx),
         "annotations": {"io.containerd.image.name": "docker.io/library/multi:latest"}}]})
    path = os.path.join(workdir, "multi-platform.tar")
    write_tar(path, [("blobs/sha256/" + d.split(":")[1], b) for d, b in blobs.items()] +
              [("index.json", top), ("oci-layout", jbytes({"imageLayoutVersion": "1.0.0"}))])
    if os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the archive's platforms are amd64 and arm64")
    assert tool.load(path) == ["Loaded image: multi:latest"]
    assert tool.images() == [("multi", "latest", amd.id)]
    # The other platform's blobs do not stay in the store.
    assert arm.id.split(":")[1] not in tool.blobs()


# --------------------------------------------------------------------------
# malformed archives: a message, and nothing changed


def bad_archives(workdir):
    """{case: (path, words the error must contain)}."""
    good = three_layer_image(tags=("bad:v1",))
    out = {}

    def p(name):
        return os.path.join(workdir, name + ".tar")

    h = hashlib.sha256(good.blobs[2]).hexdigest()
    docker_archive(p("missing-layer"), [good], layout="blobs", drop=(f"blobs/sha256/{h}",))
    out["missing-layer"] = (p("missing-layer"),
                            ["manifest.json: Layers[2]: blobs/sha256/" + h, "not in the archive"])
    oci_archive(p("wrong-digest"), [good], corrupt=good.blobs[0])
    out["wrong-digest"] = (p("wrong-digest"), ["blobs/sha256/" + sha256(good.blobs[0])[7:],
                                               "content has digest"])
    docker_archive(p("bad-json"), [good], manifest=b'[{"Config": ')
    out["bad-json"] = (p("bad-json"), ["manifest.json", "invalid JSON"])
    evil = Image(good.tars[:2] + [tar_bytes([("ok", "f", b"ok"), ("../evil", "f", b"evil")])],
                 tags=("bad:evil",))
    docker_archive(p("dotdot"), [evil])
    out["dotdot"] = (p("dotdot"), ["Layers[2]", "../evil"])
    wrong_diff = Image(good.tars, tags=("bad:diff",),
                       diff_ids=good.diff_ids[:2] + [sha256(b"something else")])
    docker_archive(p("wrong-diff-id"), [wrong_diff])
    out["wrong-diff-id"] = (p("wrong-diff-id"), ["Layers[2]", "diff_id mismatch"])
    # Whiteouts that name the directory itself or its parent: ".wh.." and ".wh..." would delete
    # "." or ".." of the directory they are in.
    wh_parent = Image(good.tars[:2] + [tar_bytes([("etc/", "d", None), ("etc/.wh...", "f", b"")])],
                      tags=("bad:whparent",))
    docker_archive(p("whiteout-dotdot"), [wh_parent])
    out["whiteout-dotdot"] = (p("whiteout-dotdot"), ["Layers[2]", "etc/.wh..."])
    wh_self = Image(good.tars[:2] + [tar_bytes([("etc/", "d", None), ("etc/.wh..", "f", b"")])],
                    tags=("bad:whself",))
    docker_archive(p("whiteout-dot"), [wh_self])
    out["whiteout-dot"] = (p("whiteout-dot"), ["Layers[2]", "etc/.wh.."])
    wh_root = Image(good.tars[:2] + [tar_bytes([(".wh...", "f", b"")])], tags=("bad:whroot",))
    docker_archive(p("whiteout-root-parent"), [wh_root])
    out["whiteout-root-parent"] = (p("whiteout-root-parent"), ["Layers[2]", ".wh..."])
    fewer = Image(good.tars, tags=("bad:fewer",), diff_ids=good.diff_ids[:2])
    docker_archive(p("layer-count"), [fewer])
    out["layer-count"] = (p("layer-count"), ["manifest.json: Layers", "diff_ids"])
    # A first image that is fine, a second that is not: nothing of the first may stay.
    second = Image([tar_bytes([("x", "f", b"x")])], tags=("bad:second",),
                   diff_ids=[sha256(b"not it")])
    docker_archive(p("second-image-bad"), [good, second])
    out["second-image-bad"] = (p("second-image-bad"), ["manifest.json: [1]: Layers[0]",
                                                       "diff_id mismatch"])
    docker_archive(p("whole"), [good])
    with open(p("whole"), "rb") as f:
        whole = f.read()
    with open(p("truncated"), "wb") as f:
        f.write(whole[:len(whole) * 2 // 3])
    out["truncated"] = (p("truncated"), ["reading the archive", "Truncated tar archive"])
    with open(p("not-a-tar"), "wb") as f:
        f.write(b"this is not a tar archive\n" * 100)
    out["not-a-tar"] = (p("not-a-tar"), ["loading archive"])
    write_tar(p("empty"), [("README", b"nothing here")])
    out["empty"] = (p("empty"), ["neither manifest.json", "index.json"])
    return out


BAD_CASES = ["missing-layer", "wrong-digest", "bad-json", "dotdot", "whiteout-dotdot", "whiteout-dot",
             "whiteout-root-parent", "wrong-diff-id",
             "layer-count", "second-image-bad", "truncated", "not-a-tar", "empty"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_malformed_archive(tool, busybox, workdir, case):
    tool.load(busybox["docker"])
    before = tool.state()
    path, words = bad_archives(workdir)[case]
    r = tool("load", "-i", path)
    assert r.rc != 0, r.out
    assert r.out == ""
    for w in words:
        assert w in r.err, f"{w!r} not in {r.err!r}"
    assert r.err.startswith("imgtool: loading archive: "), r.err
    assert tool.state() == before
    # No temp dirs of unpacks left either.
    for d in tool.layer_dirs():
        assert os.listdir(os.path.join(tool.root, "layers", d)) == ["diff"], d
    assert not os.path.exists(os.path.join(workdir, "evil"))
    assert os.listdir(os.path.join(tool.root, "blobs", "ingest")) == []


# --------------------------------------------------------------------------
# save


def members(path):
    with tarfile.open(path) as tar:
        return {m.name.rstrip("/"): (tar.extractfile(m).read() if m.isfile() else None)
                for m in tar.getmembers()}


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_load_round_trip(tool, tool2, busybox, workdir, overlay, fmt):
    tool.load(busybox["docker"])
    three = three_layer_image(tags=("three:v1", "three:v2"))
    src = os.path.join(workdir, "three.tar")
    oci_archive(src, [three])
    tool.load(src)
    out = os.path.join(workdir, f"saved-{fmt}.tar")
    tool.ok("save", "-o", out, "--format", fmt, "busybox:latest", "three")
    m = members(out)
    # The original blobs: the same digests (the gzip layer stays gzip).
    blob_digests = {sha256(b) for b in m.values() if b is not None}
    for blob in three.blobs:
        assert sha256(blob) in blob_digests
    assert three.id in blob_digests
    if fmt == "docker":
        manifest = json.loads(m["manifest.json"])
        assert [e["RepoTags"] for e in manifest] == [["busybox:latest"],
                                                     ["three:v1", "three:v2"]]
        assert json.loads(m["repositories"]).keys() == {"busybox", "three"}
    else:
        index = json.loads(m["index.json"])
        names = [e["annotations"]["io.containerd.image.name"] for e in index["manifests"]]
        assert names == ["docker.io/library/busybox:latest", "docker.io/library/three:v1",
                         "docker.io/library/three:v2"]
        assert json.loads(m["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    out_lines = tool2.load(out)
    assert sorted(out_lines) == ["Loaded image: busybox:latest", "Loaded image: three:v1",
                                 "Loaded image: three:v2"]
    assert tool2.images() == tool.images()
    for name in ("busybox", "three:v1"):
        a, b = tool.inspect(name), tool2.inspect(name)
        assert (a["Id"], a["DiffIds"], a["ChainIds"]) == (b["Id"], b["DiffIds"], b["ChainIds"])
    assert tree(overlay.mount(tool2.rootfs("three:v1"))) == THREE_EXPECTED
    # Saving again gives the same bytes.
    again = os.path.join(workdir, f"saved-{fmt}-2.tar")
    tool2.ok("save", "-o", again, "--format", fmt, "busybox:latest", "three")
    with open(out, "rb") as f1, open(again, "rb") as f2:
        assert f1.read() == f2.read()


def test_save_names(tool, busybox, workdir):
    tool.load(busybox["docker"])
    three = three_layer_image(tags=("three:v1", "three:v2", "other:x"))
    src = os.path.join(workdir, "three.tar")
    docker_archive(src, [three])
    tool.load(src)

    def saved(*names):
        out = os.path.join(workdir, "names.tar")
        tool.ok("save", "-o", out, *names)
        return [e["RepoTags"] for e in json.loads(members(out)["manifest.json"])]

    assert saved("three:v1") == [["three:v1"]]
    assert saved("three") == [["three:v1", "three:v2"]]          # every tag of the repository
    assert saved(three.id) == [None]                              # an ID: no tags
    assert saved(three.id[7:19]) == [None]                        # an ID prefix
    assert saved("other:x", "three:v2") == [["other:x", "three:v2"]]
    r = tool("save", "-o", os.path.join(workdir, "x.tar"), "nosuch:tag")
    assert r.rc != 0 and "No such image: nosuch:tag" in r.err
    assert not os.path.exists(os.path.join(workdir, "x.tar"))


def test_layer_made_again_without_its_blob(tool, tool2, workdir, overlay):
    """A layer whose blob the store lost is made again from its directory: the canonical
    tar (img_layer_tar) must be the diff ID, so an image whose layers are canonical tars
    saves whole without blobs; one whose layers are not fails with a clear message."""
    three = three_layer_image(gzip_layers=())
    src = os.path.join(workdir, "three.tar")
    docker_archive(src, [three])
    tool.load(src)
    # The canonical tars of the three layer dirs, and what they hold.
    canon = []
    for d in reversed(tool.rootfs("three:v1")):
        r = subprocess.run([IMGTOOL, "layer-tar", d], capture_output=True, check=True)
        assert r.stderr.decode().strip() == sha256(r.stdout)
        canon.append(r.stdout)
    with tarfile.open(fileobj=io.BytesIO(canon[1])) as t:
        names = [m.name + ("/" if m.isdir() else "") for m in t.getmembers()]
    assert names == ["d", "del/", "del/.wh.gone", "etc/", "etc/change", "etc/new",
                     "opq/", "opq/.wh..wh..opq", "opq/new1"]
    with tarfile.open(fileobj=io.BytesIO(canon[0])) as t:
        # The first name in walk order holds the data, the later ones link to it.
        keep = t.getmember("etc/keep")
        assert keep.islnk() and keep.linkname == "etc/hard"
    # An image made of canonical tars, its blobs removed after the load. A second later:
    # what unpacking makes at its own time (whiteouts) must not show in the tar.
    time.sleep(1.1)
    img = Image(canon, tags=("canon:v1",))
    src2 = os.path.join(workdir, "canon.tar")
    docker_archive(src2, [img])
    tool2.load(src2)
    for b in img.blobs:
        os.unlink(os.path.join(tool2.root, "blobs", "sha256", sha256(b)[7:]))
    for fmt in ("docker", "oci"):
        out = os.path.join(workdir, f"canon-{fmt}.tar")
        tool2.ok("save", "-o", out, "--format", fmt, "canon:v1")
        digests = {sha256(b) for b in members(out).values() if b is not None}
        assert set(img.diff_ids) <= digests
    # A layer that is not canonical cannot be made again: refused, not faked.
    for b in three.blobs:
        os.unlink(os.path.join(tool.root, "blobs", "sha256", sha256(b)[7:]))
    r = tool("save", "-o", os.path.join(workdir, "x.tar"), "three:v1")
    assert r.rc != 0
    assert "not the diff ID" in r.err and "its blob is not in the store" in r.err, r.err
    # The saved canonical image loads to the same tree.
    tool3 = Tool(os.path.join(workdir, "root3"))
    tool3.load(os.path.join(workdir, "canon-oci.tar"))
    assert tree(overlay.mount(tool3.rootfs("canon:v1"))) == THREE_EXPECTED


def test_rmi(tool, busybox, workdir):
    tool.load(busybox["docker"])
    three = three_layer_image(tags=("three:v1",))
    src = os.path.join(workdir, "three.tar")
    docker_archive(src, [three])
    tool.load(src)
    assert len(tool.layer_dirs()) == 4
    r = tool.ok("rmi", "three:v1")
    assert r.out.splitlines() == ["Untagged: three:v1", f"Deleted: {three.id}"]
    assert tool.images() == [("busybox", "latest", busybox["id"])]
    assert len(tool.layer_dirs()) == 1
    assert three.id[7:] not in tool.blobs()
    assert all(sha256(b)[7:] not in tool.blobs() for b in three.blobs)
    r = tool("rmi", "three:v1")
    assert r.rc != 0 and "No such image" in r.err


# --------------------------------------------------------------------------
# the tools of the field


class Podman:
    def __init__(self, top):
        d = {k: os.path.join(top, k) for k in ("root", "runroot", "tmp", "cwd")}
        for p in d.values():
            os.makedirs(p)
        conf = os.path.join(top, "containers.conf")
        with open(conf, "w") as f:
            f.write(f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                    f'events_logfile_path = "{top}/events.log"\n')
        storage = os.path.join(top, "storage.conf")
        with open(storage, "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\nrunroot = "{d["runroot"]}"\n'
                    f'graphroot = "{d["root"]}"\n')
        registries = os.path.join(top, "registries.conf")
        with open(registries, "w") as f:
            f.write('unqualified-search-registries = []\nshort-name-mode = "permissive"\n')
        self.policy = os.path.join(top, "policy.json")
        with open(self.policy, "w") as f:
            f.write('{"default": [{"type": "insecureAcceptAnything"}]}\n')
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage,
                        CONTAINERS_REGISTRIES_CONF=registries, TMPDIR=d["tmp"])
        self.cwd = d["cwd"]
        self.base = ["podman", "--root", d["root"], "--runroot", d["runroot"], "--tmpdir",
                     d["tmp"], "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file"]

    def __call__(self, *args):
        return run(self.base + list(args), cwd=self.cwd, env=self.env)

    def ok(self, *args):
        r = self(*args)
        assert r.rc == 0, f"podman {' '.join(map(str, args))}: exit {r.rc}\n{r.err}{r.out}"
        return r

    def tool(self, *argv):
        """skopeo/umoci with podman's environment and a policy that takes anything."""
        if argv[0] == "skopeo":
            argv = ["skopeo", "--policy", self.policy, *argv[1:]]
        return ok(argv, cwd=self.cwd, env=self.env)

    def diff_ids(self, name):
        return json.loads(self.ok("image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                  name).out)


@pytest.fixture
def podman(session_dir, private_system_dirs):
    for exe in ("podman", "skopeo", "umoci"):
        if shutil.which(exe) is None:
            pytest.skip(f"{exe} is not installed")
    # Short: podman refuses a runroot path longer than 50 characters.
    top = tempfile.mkdtemp(prefix="pm-", dir=session_dir)
    pm = Podman(top)
    yield pm
    pm("rmi", "--all", "--force")
    umount_below(top)
    remove_tree(top)


@pytest.fixture
def saved_three(tool, busybox, workdir):
    """busybox and the three-layer image in tool's root."""
    tool.load(busybox["docker"])
    three = three_layer_image(tags=("three:v1",))
    src = os.path.join(workdir, "three-src.tar")
    oci_archive(src, [three])
    tool.load(src)
    return three


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_podman_loads_our_save(tool, podman, saved_three, busybox, workdir, fmt):
    out = os.path.join(workdir, f"for-podman-{fmt}.tar")
    tool.ok("save", "-o", out, "--format", fmt, "three:v1")
    r = podman.ok("load", "-i", out)
    assert "three:v1" in r.out, r.out
    name = [ln.split(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("Loaded image")][0]
    assert podman.diff_ids(name) == saved_three.diff_ids
    iid = podman.ok("image", "inspect", "--format", "{{.Id}}", name).out.strip()
    assert "sha256:" + iid == saved_three.id
    # podman reads the whole image back: its own save of it loads here too.
    back = os.path.join(workdir, "back.tar")
    podman.ok("save", "--format", "docker-archive", "-o", back, name)
    tool2 = Tool(os.path.join(workdir, "root-back"))
    tool2.load(back)
    assert tool2.inspect(name)["DiffIds"] == saved_three.diff_ids


def test_skopeo_reads_our_save(tool, podman, saved_three, workdir):
    d = os.path.join(workdir, "saved-docker.tar")
    o = os.path.join(workdir, "saved-oci.tar")
    tool.ok("save", "-o", d, "three:v1", "busybox")
    tool.ok("save", "-o", o, "--format", "oci", "three:v1")
    info = json.loads(podman.tool("skopeo", "inspect", f"docker-archive:{d}:three:v1").out)
    assert info["Layers"] == saved_three.diff_ids  # docker-archive: by diff ID
    info = json.loads(podman.tool("skopeo", "inspect", f"oci-archive:{o}").out)
    assert info["Layers"] == [sha256(b) for b in saved_three.blobs]
    raw = json.loads(podman.tool("skopeo", "inspect", "--config", f"oci-archive:{o}").out)
    assert raw["rootfs"]["diff_ids"] == saved_three.diff_ids


def test_umoci_unpacks_our_oci_layout(tool, podman, saved_three, busybox, workdir):
    o = os.path.join(workdir, "saved-oci.tar")
    tool.ok("save", "-o", o, "--format", "oci", "busybox")
    layout = os.path.join(workdir, "layout")
    os.mkdir(layout)
    with tarfile.open(o) as t:
        t.extractall(layout)
    bundle = os.path.join(workdir, "bundle")
    podman.tool("umoci", "unpack", "--image", f"{layout}:latest", bundle)
    assert os.path.isfile(os.path.join(bundle, "rootfs", "bin", "busybox"))
    # The three-layer image too (whiteouts, opaque dir, a dir replaced by a file).
    o3 = os.path.join(workdir, "saved-three.tar")
    tool.ok("save", "-o", o3, "--format", "oci", "three:v1")
    layout3 = os.path.join(workdir, "layout3")
    os.mkdir(layout3)
    with tarfile.open(o3) as t:
        t.extractall(layout3)
    bundle3 = os.path.join(workdir, "bundle3")
    podman.tool("umoci", "unpack", "--image", f"{layout3}:v1", bundle3)
    got = tree(os.path.join(bundle3, "rootfs"))
    assert {k: v[0] for k, v in got.items()} == {k: v[0] for k, v in THREE_EXPECTED.items()}


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_we_load_podman_save(tool, podman, busybox, workdir, fmt):
    podman.ok("load", "-i", busybox["docker"])
    out = os.path.join(workdir, f"podman-{fmt}.tar")
    podman.ok("save", "--format", fmt, "-o", out, "busybox:latest")
    lines = tool.load(out)
    assert lines == ["Loaded image: localhost/busybox:latest"], lines
    info = tool.inspect("localhost/busybox:latest")
    assert info["DiffIds"] == podman.diff_ids("busybox:latest")
    merged_dirs = tool.rootfs("localhost/busybox:latest")
    assert os.path.isfile(os.path.join(merged_dirs[0], "bin", "busybox"))


@pytest.mark.parametrize("dest", ["docker-archive", "oci-archive"])
def test_we_load_skopeo_copy(tool, podman, busybox, workdir, dest):
    out = os.path.join(workdir, f"skopeo-{dest}.tar")
    ref = f"{dest}:{out}:" + ("busybox:sk" if dest == "docker-archive" else "docker.io/library/busybox:sk")
    podman.tool("skopeo", "copy", f"docker-archive:{busybox['docker']}", ref)
    assert tool.load(out) == ["Loaded image: busybox:sk"]
    info = tool.inspect("busybox:sk")
    src = Tool(os.path.join(workdir, "root-src"))
    src.load(busybox["docker"])
    assert info["DiffIds"] == src.inspect("busybox")["DiffIds"]
