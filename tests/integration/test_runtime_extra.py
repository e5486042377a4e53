"""berth-runtime corners the engines use: the seccomp notify listener, --preserve-fds,
--no-pivot, rootfsPropagation, kill --all without a pid namespace, the log in JSON, and
the default spec. Must pass with BERTH_RUNTIME=/usr/bin/runc as well, unless marked."""

import array
import json
import os
import socket
import threading

from conftest import read_file, wait_until


def ok(r):
    assert r.rc == 0, f"exit {r.rc}\nstdout: {r.out}\nstderr: {r.err}"
    return r.out


def test_seccomp_notify_fd_reaches_the_listener(run, make_bundle, workdir):
    """SCMP_ACT_NOTIFY: the runtime hands the notify fd with the container state to
    linux.seccomp.listenerPath; once the listener closes it, the syscall fails."""
    path = os.path.join(workdir, "listener.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = {}

    def serve():
        conn, _ = srv.accept()
        fds = array.array("i")
        msg, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_LEN(4 * fds.itemsize))
        for _level, _type, data in anc:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        got["state"] = json.loads(msg)
        got["fds"] = list(fds)
        for fd in fds:
            os.close(fd)
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    b = make_bundle(["sh", "-c", "mkdir /tmp/x; echo rc=$?"],
                    linux={"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                                       "listenerPath": path, "listenerMetadata": "m1",
                                       "syscalls": [{"names": ["mkdir", "mkdirat"],
                                                     "action": "SCMP_ACT_NOTIFY"}]}})
    out = ok(run("run", "--bundle", b.path, b.id))
    t.join(5)
    srv.close()
    assert "rc=1" in out
    assert not os.path.exists(b.host_path("/tmp/x"))
    st = got["state"]
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "m1"
    assert st["state"]["id"] == b.id and st["pid"] > 0
    assert len(got["fds"]) == 1


def test_notify_without_listener_is_an_error(run, make_bundle):
    b = make_bundle(["true"], linux={"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}})
    r = run("run", "--bundle", b.path, b.id)
    assert r.rc != 0


def test_preserve_fds_passes_exactly_those(run, make_bundle, workdir):
    import shlex
    import subprocess
    b = make_bundle(["sh", "-c", "cat <&3; cat <&4 && echo fd4-leaked"])
    data = os.path.join(workdir, "data")
    with open(data, "w") as f:
        f.write("through fd 3\n")
    # The shell opens fd 3 and 4 for the runtime; only 3 is preserved.
    argv = " ".join(map(shlex.quote, run.argv("run", "--preserve-fds", "1", "--bundle", b.path, b.id)))
    run.track(b.id)
    p = subprocess.run(["sh", "-c", f"exec 3<{shlex.quote(data)} 4<{shlex.quote(data)}; exec {argv}"],
                       env=run.env, capture_output=True, text=True, timeout=30)
    assert "through fd 3" in p.stdout, p.stderr
    assert "fd4-leaked" not in p.stdout


def test_no_pivot(run, make_bundle):
    b = make_bundle(["sh", "-c", "cat /proc/1/mountinfo | wc -l; ls /"])
    out = ok(run("run", "--no-pivot", "--bundle", b.path, b.id))
    assert "bin" in out and "etc" in out


def test_rootfs_propagation_private(run, make_bundle):
    b = make_bundle(["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"],
                    linux={"rootfsPropagation": "rprivate"})
    out = ok(run("run", "--bundle", b.path, b.id))
    assert "shared:" not in out


def test_kill_all_without_pid_namespace(run, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"],
                    edit=lambda c: c["linux"]["namespaces"].remove({"type": "pid"}))
    ok(run("run", "--detach", "--bundle", b.path, b.id))
    wait_until(lambda: len(json.loads(ok(run("ps", "--format", "json", b.id)))) >= 3, 5,
               what="three processes")
    pids = json.loads(ok(run("ps", "--format", "json", b.id)))
    ok(run("kill", "--all", b.id, "KILL"))
    wait_until(lambda: all(not os.path.exists(f"/proc/{p}/status") or
                           "State:\tZ" in read_file(f"/proc/{p}/status") for p in pids), 5,
               what="every process to die")
    ok(run("delete", "--force", b.id))


def test_error_goes_to_the_json_log(run, make_bundle, workdir):
    b = make_bundle(["/no/such/binary"])
    log = os.path.join(workdir, "log.json")
    r = run("create", "--bundle", b.path, b.id, global_args=("--log", log, "--log-format", "json"))
    assert r.rc != 0
    lines = [json.loads(ln) for ln in read_file(log).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln["level"] == "error"]
    assert errors and "/no/such/binary" in errors[-1]["msg"]
    assert {"level", "msg", "time"} <= set(errors[-1])


def test_default_spec_runs_with_a_terminal_off(run, workdir, rootfs_template, runtime):
    import shutil
    import subprocess
    bundle = os.path.join(workdir, "specb")
    os.mkdir(bundle)
    subprocess.run(["cp", "-a", rootfs_template, os.path.join(bundle, "rootfs")], check=True)
    ok(run("spec", "--bundle", bundle))
    r = run("spec", "--bundle", bundle)
    assert r.rc != 0 and "exists" in (r.err + r.out)
    cfg = json.load(open(os.path.join(bundle, "config.json")))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["echo", "spec works"]
    cfg["linux"]["cgroupsPath"] = f"/berth-test-{os.getpid()}/spec-{os.path.basename(workdir)}"
    json.dump(cfg, open(os.path.join(bundle, "config.json"), "w"))
    cid = "spec" + str(os.getpid())
    out = ok(run("run", "--bundle", bundle, cid))
    assert "spec works" in out
    shutil.rmtree(bundle, ignore_errors=True)


def test_rshared_rootfs_on_its_own_shared_mount(run, make_bundle, workdir):
    """rootfsPropagation rshared with the rootfs on a shared mount of its own: the
    container's mounts must not appear outside it, and pivot_root must work."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    b = make_bundle(["sh", "-c", "echo inside"], linux={"rootfsPropagation": "rshared"})
    # Make the bundle dir a shared mount point of its own (bind onto itself).
    assert libc.mount(b.path.encode(), b.path.encode(), None, 4096 | 16384, None) == 0  # MS_BIND|MS_REC
    assert libc.mount(None, b.path.encode(), None, 1 << 20, None) == 0  # MS_SHARED
    try:
        before = read_file("/proc/self/mountinfo").count("\n")
        out = ok(run("run", "--bundle", b.path, b.id))
        assert "inside" in out
        after = read_file("/proc/self/mountinfo").count("\n")
        assert after == before, "container mounts leaked into the caller's namespace"
    finally:
        libc.umount2(b.path.encode(), 2)


def test_kill_of_a_created_container(run, make_bundle):
    b = make_bundle(["true"])
    ok(run("create", "--bundle", b.path, b.id))
    ok(run("kill", b.id, "TERM"))
    wait_until(lambda: run.status(b.id) == "stopped", 5, what="the created container to stop")
    ok(run("delete", b.id))


def test_missing_cwd_is_created(run, make_bundle):
    b = make_bundle(["pwd"], process={"cwd": "/does/not/exist"})
    assert ok(run("run", "--bundle", b.path, b.id)).strip() == "/does/not/exist"


def test_rro_makes_submounts_read_only(run, make_bundle, workdir):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    src = os.path.join(workdir, "tree")
    sub = os.path.join(src, "sub")
    os.makedirs(sub)
    assert libc.mount(b"tmpfs", sub.encode(), b"tmpfs", 0, None) == 0
    try:
        b = make_bundle(["sh", "-c", "touch /mnt/a 2>/dev/null && echo top-rw; "
                                     "touch /mnt/sub/b 2>/dev/null && echo sub-rw; echo done"],
                        mounts=default_mounts_plus({"destination": "/mnt", "type": "bind", "source": src,
                                                    "options": ["rbind", "rro"]}))
        out = ok(run("run", "--bundle", b.path, b.id))
        assert "done" in out and "top-rw" not in out and "sub-rw" not in out, out
    finally:
        libc.umount2(sub.encode(), 2)


def default_mounts_plus(extra):
    from conftest import default_config
    return default_config(["true"], "/x")["mounts"] + [extra]


def test_delete_force_of_a_half_created_container(run, runtime_root):
    os.mkdir(os.path.join(runtime_root, "half"))
    ok(run("delete", "--force", "half"))
    assert not os.path.exists(os.path.join(runtime_root, "half"))


def _holder(*unshare_args):
    """A sleeping process in namespaces of its own, to join by path; killed by PID after."""
    import subprocess
    p = subprocess.Popen(["unshare", *unshare_args, "sleep", "1000"])
    wait_until(lambda: os.readlink(f"/proc/{p.pid}/exe").endswith("sleep"), 5, what="the holder")
    return p


def test_new_userns_next_to_a_joined_netns(run, make_bundle):
    """podman --userns with netavark: the network namespace is the host user's, the
    user namespace is new: join first, then make the user namespace."""
    holder = _holder("--net")
    try:
        net = f"/proc/{holder.pid}/ns/net"
        b = make_bundle(["sh", "-c", "readlink /proc/self/ns/net; cat /proc/self/uid_map"], edit=lambda c: (
            c["linux"]["namespaces"].remove({"type": "network"}),
            c["linux"]["namespaces"].append({"type": "network", "path": net}),
            c["linux"]["namespaces"].append({"type": "user"}),
            c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}],
                              gidMappings=[{"containerID": 0, "hostID": 100000, "size": 65536}])))
        r = run("run", "--bundle", b.path, b.id)
        if os.path.basename(run.binary) == "runc":
            return  # runc 1.1 mounts a fresh sysfs there and fails with EPERM
        out = ok(r)
        assert os.readlink(net) in out
        assert "100000" in out
    finally:
        holder.kill()
        holder.wait()


def test_joined_user_namespace(run, make_bundle):
    """Kubernetes user-namespace pods: the user namespace exists; the container's other
    namespaces must be made inside it."""
    import ctypes
    import subprocess
    libc = ctypes.CDLL(None, use_errno=True)
    holder = subprocess.Popen(["sleep", "1000"], preexec_fn=lambda: libc.unshare(0x10000000))  # CLONE_NEWUSER
    try:
        wait_until(lambda: os.readlink(f"/proc/{holder.pid}/ns/user") != os.readlink("/proc/self/ns/user"), 5,
                   what="the holder's user namespace")
        for f in ("uid_map", "gid_map"):
            with open(f"/proc/{holder.pid}/{f}", "w") as m:
                m.write("0 100000 65536\n")
        user = f"/proc/{holder.pid}/ns/user"
        b = make_bundle(["sh", "-c", "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; hostname"],
                        edit=lambda c: c["linux"]["namespaces"].append({"type": "user", "path": user}))
        r = run("run", "--bundle", b.path, b.id)
        if os.path.basename(run.binary) == "runc":
            return  # runc 1.1 wants uid mappings in the config even for a joined namespace
        out = ok(r)
        assert os.readlink(user) in out
        assert "100000" in out and "berth" in out
    finally:
        holder.kill()
        holder.wait()
