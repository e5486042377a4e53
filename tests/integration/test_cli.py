"""The berth CLI ($BERTH_BUILD/berth) against a real berthd on a temporary root: docker's verbs,
flags, output layouts, exit codes and messages; -it through a pty (Python's pty module)."""

import fcntl
import json
import os
import pty
import select
import signal
import stat
import struct
import subprocess
import termios
import time

import re

import pytest

from conftest import REPO, cgroup_mounts, pid_alive, remove_cgroup, umount_below, wait_until
from daemon_util import busybox_daemon


def berth_path():
    build = os.environ.get("BERTH_BUILD", "build")
    path = os.path.join(REPO, build, "berth")
    assert os.access(path, os.X_OK), f"{path} not found: run `make`"
    return path


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "cli")


class Berth:
    def __init__(self, daemon):
        self.daemon = daemon
        self.env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST", "DOCKER_HOST")}
        self.env["DOCKER_HOST"] = daemon.host

    def __call__(self, *args, input=None, env=None, timeout=60):
        e = dict(self.env, **(env or {}))
        e = {k: v for k, v in e.items() if v is not None}
        r = subprocess.run([berth_path(), *args], input=input, capture_output=True, timeout=timeout, env=e)
        r.out = r.stdout.decode(errors="replace")
        r.err = r.stderr.decode(errors="replace")
        return r

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, f"berth {args}: {r.returncode}\n{r.err}{r.out}"
        return r


@pytest.fixture
def berth(daemon):
    b = Berth(daemon)
    yield b
    api = daemon.api()
    for c in api.containers(all=True):
        api.remove_container(c["Id"], force=True)
    api.close()


# ---------- run and exit codes ----------

def test_run_output_and_exit_codes(berth):
    r = berth("run", "--rm", "busybox", "echo", "hello from berth")
    assert r.returncode == 0 and r.out == "hello from berth\n" and r.err == ""
    r = berth("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert r.returncode == 5 and r.out == "out\n" and r.err == "err\n"
    r = berth("run", "--rm", "busybox", "nosuchcommand")
    assert r.returncode == 127 and "executable file not found" in r.err and r.err.startswith("berth: ")
    r = berth("run", "--rm", "busybox", "/etc")
    assert r.returncode == 126, r.err
    r = berth("run", "--rm", "--pull", "never", "nosuchimage")
    assert r.returncode == 125
    assert "Unable to find image 'nosuchimage:latest' locally" in r.err and "No such image" in r.err
    # Without --pull never it asks Docker Hub, which this test's network cannot reach.
    r = berth("run", "--rm", "nosuchimage")
    assert r.returncode == 125 and "registry-1.docker.io" in r.err, r.err
    assert berth.ok("ps", "-aq").out == ""


def test_run_flags_reach_the_container(berth, workdir):
    env_file = os.path.join(workdir, "env")
    with open(env_file, "w") as f:
        f.write("# a comment\n\nFROM_FILE=yes\nFROM_HOST\n")
    r = berth.ok("run", "--rm", "-e", "A=1", "--env=B=2", "-e", "FROM_HOST", "--env-file", env_file,
                 "-w", "/tmp", "-u", "1000:1000", "-h", "box", "--label", "k=v", "busybox",
                 "sh", "-c", "echo $A $B $FROM_FILE $FROM_HOST; pwd; id -u; id -g; hostname",
                 env={"FROM_HOST": "host-value"})
    assert r.out == "1 2 yes host-value\n/tmp\n1000\n1000\nbox\n"
    # --flag=value, combined shorthands and `--`.
    r = berth.ok("run", "--rm", "-ie", "X=7", "--workdir=/etc", "--", "busybox", "sh", "-c", "echo $X; pwd",
                 input=b"")
    assert r.out == "7\n/etc\n"
    # Flags after the image belong to the command.
    assert berth.ok("run", "--rm", "busybox", "echo", "--help", "-d").out == "--help -d\n"
    cid = berth.ok("run", "-d", "--name", "opts", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50",
                   "--cap-drop", "NET_RAW", "--read-only", "--tmpfs", "/run:size=1m", "--ulimit", "nofile=100:200",
                   "--stop-signal", "SIGUSR1", "--stop-timeout", "3", "--shm-size", "8m", "--sysctl",
                   "net.ipv4.ip_forward=0", "--restart", "on-failure:2", "busybox", "sleep", "30").out.strip()
    info = json.loads(berth.ok("inspect", cid).out)[0]
    hc = info["HostConfig"]
    assert hc["Memory"] == 64 << 20 and hc["NanoCpus"] == 500000000 and hc["PidsLimit"] == 50
    assert hc["CapDrop"] == ["NET_RAW"] and hc["ReadonlyRootfs"] is True and hc["Tmpfs"] == {"/run": "size=1m"}
    assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 100, "Hard": 200}] and hc["ShmSize"] == 8 << 20
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert hc["Sysctls"] == {"net.ipv4.ip_forward": "0"}
    assert info["Config"]["StopSignal"] == "SIGUSR1" and info["Config"]["StopTimeout"] == 3


def test_run_rm_and_piped_stdin(berth):
    r = berth("run", "--rm", "--name", "gone", "-i", "busybox", "sh", "-c", "tr a-z A-Z; exit 3", input=b"piped\n")
    assert r.returncode == 3 and r.out == "PIPED\n"
    assert "gone" not in berth.ok("ps", "-a", "--format", "{{.Names}}").out
    # Without -i the container's stdin is not ours.
    assert berth.ok("run", "--rm", "busybox", "cat", input=b"not read\n").out == ""


def test_detached_ps_and_formats(berth, daemon):
    cid = berth.ok("run", "-d", "--name", "web", "busybox", "sleep", "60").out.strip()
    assert len(cid) == 64
    ps = berth.ok("ps").out.splitlines()
    assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert ps[1].startswith(cid[:12] + "   busybox   \"sleep 60\"") and ps[1].endswith("web")
    assert berth.ok("ps", "-q").out == cid[:12] + "\n"
    assert berth.ok("ps", "-q", "--no-trunc").out == cid + "\n"
    assert berth.ok("ps", "--format", "{{.Names}} {{.Status}}").out.startswith("web Up ")
    row = json.loads(berth.ok("ps", "--format", "{{json .}}").out)
    assert row["ID"] == cid[:12] and row["Names"] == "web" and row["State"] == "running"
    table = berth.ok("ps", "--format", "table {{.ID}}\\t{{.Names}}").out
    assert table == f"CONTAINER ID   NAMES\n{cid[:12]}   web\n"
    berth.ok("run", "--name", "done", "busybox", "true")
    assert "done" not in berth.ok("ps").out and "done" in berth.ok("ps", "-a").out
    assert berth.ok("ps", "-a", "--filter", "name=done", "--format", "{{.Names}}").out == "done\n"
    assert berth.ok("ps", "-n", "1", "--format", "{{.Names}}").out == "done\n"
    # The same table as the docker CLI prints against the same daemon.
    fmt = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}\t{{.State}}"
    assert berth.ok("ps", "-a", "--format", fmt).out == daemon.cli("ps", "-a", "--format", fmt, check=True).stdout.decode()
    for f in ("{{.State.Status}} {{.Config.Cmd}} {{json .Config.Env}}", "{{.Name}} {{.HostConfig.NetworkMode}}"):
        assert berth.ok("inspect", "-f", f, "web").out == daemon.cli("inspect", "-f", f, "web", check=True).stdout.decode()


def test_logs(berth):
    berth.ok("run", "--name", "talk", "busybox", "sh", "-c", "echo one; echo two >&2; echo three")
    r = berth.ok("logs", "talk")
    assert r.out == "one\nthree\n" and r.err == "two\n"
    # (stdout and stderr are two pipes: their order in the log is not fixed, so tail one stream)
    berth.ok("run", "--name", "count", "busybox", "sh", "-c", "echo one; echo two; echo three")
    assert berth.ok("logs", "--tail", "1", "count").out == "three\n"
    line = berth.ok("logs", "-t", "-n", "1", "count").out
    assert line.endswith(" three\n") and line[4] == "-" and "T" in line.split()[0]
    assert berth.ok("logs", "--since", "1h", "talk").out == "one\nthree\n"
    assert berth.ok("logs", "--until", "1h", "talk").out == ""
    # -f on a running container ends when it does.
    berth.ok("run", "-d", "--name", "slow", "busybox", "sh", "-c", "echo a; sleep 1; echo b")
    assert berth.ok("logs", "-f", "slow", timeout=20).out == "a\nb\n"
    r = berth("logs", "nosuch")
    assert r.returncode == 1 and "No such container: nosuch" in r.err


def test_lifecycle_verbs(berth):
    berth.ok("run", "-d", "--name", "life", "busybox", "sh", "-c",
             "trap 'exit 9' USR1; while true; do sleep 0.1; done")
    assert berth.ok("inspect", "-f", "{{.State.Status}}", "life").out == "running\n"
    assert berth.ok("pause", "life").out == "life\n"
    assert berth.ok("inspect", "--format={{.State.Status}}", "life").out == "paused\n"
    assert berth.ok("unpause", "life").out == "life\n"
    assert berth.ok("stop", "-t", "1", "life").out == "life\n"
    assert berth.ok("inspect", "-f", "{{.State.ExitCode}}", "life").out == "137\n"
    assert berth.ok("start", "life").out == "life\n"
    assert berth.ok("restart", "-t", "1", "life").out == "life\n"
    assert berth.ok("kill", "-s", "USR1", "life").out == "life\n"
    assert berth.ok("wait", "life").out == "9\n"
    r = berth("rm", "life", "nosuch")
    assert r.returncode == 1 and r.out == "life\n" and "No such container: nosuch" in r.err
    berth.ok("run", "-d", "--name", "busy", "busybox", "sleep", "60")
    r = berth("rm", "busy")
    assert r.returncode == 1 and r.err.startswith("Error response from daemon: ")
    assert berth.ok("rm", "-f", "busy").out == "busy\n"
    assert berth.ok("ps", "-aq").out == ""
    r = berth("inspect", "nosuch")
    assert r.returncode == 1 and r.out == "[]\n" and r.err == "Error: No such object: nosuch\n"


def test_create_and_start_attach(berth):
    cid = berth.ok("create", "--name", "later", "busybox", "sh", "-c", "echo started; exit 4").out.strip()
    assert len(cid) == 64
    assert berth.ok("inspect", "-f", "{{.State.Status}}", "later").out == "created\n"
    r = berth("start", "-a", "later")
    assert r.returncode == 4 and r.out == "started\n"
    berth.ok("create", "--name", "broken", "busybox", "nosuchcommand")
    r = berth("start", "broken")
    assert r.returncode == 1 and "executable file not found" in r.err
    assert "failed to start containers: broken" in r.err


def test_signals_are_proxied(berth):
    p = subprocess.Popen([berth_path(), "run", "--rm", "--name", "sig", "busybox", "sh", "-c",
                          "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=berth.env)
    try:
        # The log, not our pipe: a read of the pipe must not hang the suite if the stream broke.
        wait_until(lambda: "ready" in berth("logs", "sig").out, timeout=15, what="the container to be ready")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 7, err
    assert out == b"ready\ngot TERM\n", err


def test_exec(berth):
    berth.ok("run", "-d", "--name", "target", "busybox", "sleep", "60")
    r = berth("exec", "target", "sh", "-c", "echo out; echo err >&2; exit 6")
    assert r.returncode == 6 and r.out == "out\n" and r.err == "err\n"
    assert berth.ok("exec", "-i", "target", "tr", "a-z", "A-Z", input=b"via exec\n").out == "VIA EXEC\n"
    r = berth.ok("exec", "-e", "A=1", "-w", "/tmp", "-u", "1000", "target", "sh", "-c", "echo $A $(pwd) $(id -u)")
    assert r.out == "1 /tmp 1000\n"
    r = berth("exec", "target", "nosuchcommand")
    assert r.returncode == 127 and "executable file not found" in r.out + r.err
    assert berth.ok("exec", "-d", "target", "sh", "-c", "echo detached > /tmp/mark").out == ""
    wait_until(lambda: berth("exec", "target", "cat", "/tmp/mark").out == "detached\n", timeout=10,
               what="the detached exec")
    r = berth("exec", "nosuch", "true")
    assert r.returncode == 1 and "No such container: nosuch" in r.err
    r = berth("exec", "target")
    assert r.returncode == 125 and "requires at least 2 arguments" in r.err


def test_top_diff_rename_export(berth, workdir):
    berth.ok("run", "-d", "--name", "fs", "busybox", "sh", "-c", "echo x > /newfile; exec sleep 60")
    wait_until(lambda: "newfile" in berth("exec", "fs", "ls", "/").out, timeout=10, what="the file")
    r = berth("top", "fs")
    lines = r.out.splitlines()
    assert r.returncode == 0 and lines[0].split()[:3] == ["UID", "PID", "PPID"] and "sleep 60" in lines[1]
    r = berth("diff", "fs")
    assert r.returncode == 0 and "A /newfile\n" in r.out
    r = berth("rename", "fs", "fs2")
    assert r.returncode == 0 and berth.ok("ps", "--format", "{{.Names}}").out == "fs2\n"
    out = os.path.join(workdir, "fs.tar")
    r = berth("export", "-o", out, "fs2")
    assert r.returncode == 0
    names = subprocess.run(["tar", "tf", out], capture_output=True, check=True).stdout.decode().split()
    assert "newfile" in names or "./newfile" in names
    r = berth("top", "nosuch")
    assert r.returncode == 1 and "No such container: nosuch" in r.err


def test_history_and_volumes(berth):
    r = berth("history", "busybox")
    assert r.returncode == 0 and r.out.splitlines()[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE",
                                                                   "COMMENT"]
    r = berth("volume", "create", "vol1")
    assert r.returncode == 0 and r.out == "vol1\n"
    ls = berth.ok("volume", "ls").out.splitlines()
    assert ls[0].split() == ["DRIVER", "VOLUME", "NAME"] and "local     vol1" in ls
    assert berth.ok("volume", "ls", "-q").out == "vol1\n"
    assert berth.ok("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "vol1").out == "vol1 local\n"
    assert json.loads(berth.ok("volume", "inspect", "vol1").out)[0]["Name"] == "vol1"
    assert berth.ok("run", "--rm", "-v", "vol1:/data", "busybox", "sh", "-c", "echo kept > /data/f").returncode == 0
    assert berth.ok("run", "--rm", "-v", "vol1:/data", "busybox", "cat", "/data/f").out == "kept\n"
    assert berth.ok("volume", "rm", "vol1").out == "vol1\n"
    r = berth("volume", "rm", "vol1")
    assert r.returncode == 1 and "Error response from daemon" in r.err
    r = berth("volume", "nosuch")
    assert r.returncode == 125 and "'nosuch' is not a berth volume command" in r.err


# ---------- a terminal ----------

def run_in_pty(berth, args, script, rows=33, cols=101, client=None):
    """Run berth (or client, another program with docker's command line) on a fresh pty of the
    given size, typing script; returns (exit code, output, terminal attributes before, after)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([client or berth_path(), *args], stdin=slave, stdout=slave, stderr=slave, env=berth.env,
                         start_new_session=True)
    out = b""

    def read_for(seconds, until=None):
        nonlocal out
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    return
            if until and until in out:
                return

    read_for(10, b"# ")
    for line in script:  # bytes typed, or (bytes, what to wait for after them)
        line, until = line if isinstance(line, tuple) else (line, b"# ")
        os.write(master, line)
        read_for(2, until)
    code = p.wait(timeout=20)
    read_for(0.2)
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    return code, out, before, after


def test_tty_raw_mode_size_and_restore(berth):
    code, out, before, after = run_in_pty(
        berth, ["run", "--rm", "-it", "busybox", "sh"], [b"stty size; echo sum=$((40+2))\r", b"exit 3\r"])
    assert code == 3, out
    assert b"33 101\r\n" in out and b"sum=42\r\n" in out
    assert before == after, "the terminal's mode was not restored"


def test_exec_tty(berth):
    berth.ok("run", "-d", "--name", "shell", "busybox", "sleep", "60")
    code, out, before, after = run_in_pty(berth, ["exec", "-it", "shell", "sh"],
                                          [b"stty size; tty\r", b"exit 4\r"], rows=20, cols=70)
    assert code == 4, out
    assert b"20 70\r\n" in out and b"/dev/pts/" in out
    assert before == after


@pytest.mark.parametrize("client", ["berth", "docker"])
def test_detach_keys_leave_the_container_running(berth, client):
    """ctrl-p ctrl-q (and --detach-keys) end the session with exit 0 (exec and attach: 1 and "read
    escape sequence"), restore the terminal, and leave the container running; berth does what the docker
    CLI does on the same berthd."""
    exe = None if client == "berth" else "docker"
    for name, extra, keys in (("detached1", [], b"\x10\x11"), ("detached2", ["--detach-keys", "ctrl-x,y"], b"\x18y")):
        code, out, before, after = run_in_pty(berth, ["run", "-it", "--name", name, *extra, "busybox", "sh"],
                                              [(b"echo in=$((6*7))\r", b"in=42"), keys], client=exe)
        assert code == 0, out
        assert b"in=42" in out and before == after, out
        assert berth.ok("inspect", "-f", "{{.State.Running}}", name).out == "true\n"
    berth.ok("exec", "detached1", "sh", "-c", "echo exec-ran > /tmp/mark")
    code, out, before, after = run_in_pty(berth, ["exec", "-it", "--detach-keys", "ctrl-a,b", "detached1", "sh"],
                                          [(b"echo x=$((7*6))\r", b"x=42"), b"\x01b"], client=exe)
    assert code == 1 and out.endswith(b"read escape sequence\r\n") and before == after, out  # docker's words
    code, out, before, after = run_in_pty(berth, ["attach", "detached2"], [(b"echo y=$((3*3))\r", b"y=9"), b"\x10\x11"],
                                          client=exe)
    assert code == 1 and out.endswith(b"read escape sequence\r\n") and before == after, out
    assert berth.ok("inspect", "-f", "{{.State.Running}}", "detached2").out == "true\n"


def test_tty_container_killed_restores_terminal(berth):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([berth_path(), "run", "--rm", "-it", "--name", "killed", "busybox", "sh"],
                         stdin=slave, stdout=slave, stderr=slave, env=berth.env, start_new_session=True)
    wait_until(lambda: "killed" in berth.ok("ps", "--format", "{{.Names}}").out, timeout=10,
               what="the container to run")
    berth.ok("kill", "killed")
    assert p.wait(timeout=20) == 137
    assert termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)


# ---------- errors and help ----------

def test_usage_errors(berth):
    r = berth("nosuchverb")
    assert r.returncode == 125 and r.err == "berth: 'nosuchverb' is not a berth command.\nSee 'berth --help'.\n"
    r = berth("run", "--foo", "busybox")
    assert r.returncode == 125 and r.err == "unknown flag: --foo\nSee 'berth run --help'.\n"
    r = berth("ps", "-x")
    assert r.returncode == 125 and r.err.startswith("unknown shorthand flag: 'x' in -x\n")
    r = berth("run")
    assert r.returncode == 125 and "'berth run' requires at least 1 argument" in r.err
    r = berth("run", "--memory", "lots", "busybox")
    assert r.returncode == 125 and 'invalid argument "lots" for "-m, --memory" flag' in r.err
    r = berth("stop", "-t", "soon", "x")
    assert r.returncode == 125 and 'invalid argument "soon" for "-t, --time" flag' in r.err
    r = berth("run", "--rm", "--restart", "always", "busybox")
    assert r.returncode == 125 and "Conflicting options: --restart and --rm" in r.err
    r = berth("run", "--name")
    assert r.returncode == 125 and "flag needs an argument: --name" in r.err
    assert berth.ok("ps", "-aq").out == ""


def test_help(berth):
    r = berth.ok("--help")
    assert "Usage:  berth [OPTIONS] COMMAND" in r.out and "  run " in r.out and "exec" in r.out
    for verb in ("run", "create", "start", "stop", "restart", "kill", "pause", "unpause", "wait", "rm", "ps",
                 "logs", "attach", "inspect", "load", "save", "tag", "rmi", "images", "version", "info"):
        r = berth.ok(verb, "--help")
        assert r.out.startswith(f"\nUsage:  berth {verb} "), verb
    out = berth.ok("run", "--help").out
    assert "  -e, --env list" in out and "      --rm " in out and "-h, --hostname string" in out
    assert "not supported yet" in berth.ok("build", "--help").out


def test_unsupported_verbs(berth):
    for verb in ("build", "compose"):
        r = berth(verb, "x")
        assert r.returncode == 125 and "not supported yet" in r.err, verb


# ---------- images ----------

def test_save_load_tag_rmi(berth, workdir):
    berth.ok("tag", "busybox", "copy:1")
    archive = os.path.join(workdir, "copy.tar")
    berth.ok("save", "-o", archive, "copy:1")
    assert os.path.getsize(archive) > 100000
    r = berth.ok("rmi", "copy:1")
    assert r.out.startswith("Untagged: copy:1")
    r = berth.ok("load", "-i", archive)
    assert r.out == "Loaded image: copy:1\n"
    assert berth.ok("run", "--rm", "copy:1", "echo", "from the copy").out == "from the copy\n"
    # Through pipes, as `save | load` is used.
    data = berth.ok("save", "copy:1").stdout
    berth.ok("rmi", "copy:1")
    assert berth.ok("load", input=data).out == "Loaded image: copy:1\n"
    berth.ok("rmi", "copy:1")
    r = berth("rmi", "copy:1")
    assert r.returncode == 1 and "Error response from daemon" in r.err
    r = berth("save", "nosuch:9", "-o", os.path.join(workdir, "none.tar"))
    assert r.returncode == 1 and not os.path.exists(os.path.join(workdir, "none.tar"))


def test_images(berth):
    r = berth("images")
    if r.returncode != 0:
        # Until berthd lists images, its own error shows.
        assert r.returncode == 1 and "not supported yet" in r.err
        return
    lines = r.out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(l.startswith("busybox ") for l in lines[1:])


def test_version_info(berth):
    r = berth.ok("version")
    assert r.out.startswith("Client:\n Version:") and "API version:      1.43 (minimum version 1.24)" in r.out
    assert berth.ok("version", "--format", "{{.Server.APIVersion}}").out == "1.43\n"
    r = berth.ok("info")
    assert " Containers: " in r.out and " Storage Driver: overlay2" in r.out
    assert berth.ok("info", "-f", "{{.OSType}}").out == "linux\n"


# ---------- where the daemon is ----------

def test_hosts(berth, daemon):
    assert berth.ok("version", "--format", "{{.Server.Os}}").out == "linux\n"
    gone = "unix:///tmp/berth-cli-nosuch.sock"
    r = berth("ps", env={"DOCKER_HOST": gone})
    assert r.returncode == 1 and f"Cannot connect to the berth daemon at {gone}" in r.err
    r = berth("run", "--rm", "busybox", "true", env={"DOCKER_HOST": gone})
    assert r.returncode == 125 and "Cannot connect" in r.err
    assert berth.ok("-H", daemon.host, "ps", "-q", env={"DOCKER_HOST": gone}).returncode == 0
    assert berth.ok("--host=" + daemon.host, "ps", env={"DOCKER_HOST": gone}).returncode == 0
    assert berth.ok("ps", env={"DOCKER_HOST": gone, "BERTH_HOST": daemon.host}).returncode == 0
    r = berth("-H", "tcp://127.0.0.1:1", "ps")
    assert r.returncode == 125 and "only unix:// sockets are supported" in r.err


def test_starts_berthd_when_none_answers(private_system_dirs):
    """No -H and no daemon on the default socket: berth starts berthd (our /run and /var/lib are
    private tmpfs here), names its log, and goes on; a named host is never started."""
    env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST", "DOCKER_HOST", "BERTHD")}
    cgroup_existed = any(os.path.isdir(os.path.join(m, "berth")) for m in set(cgroup_mounts().values()))
    r = subprocess.run([berth_path(), "-H", "unix:///run/berth/berth.sock", "ps"], capture_output=True, env=env,
                       timeout=30)
    assert r.returncode == 1 and b"Cannot connect" in r.stderr and not os.path.exists("/run/berth/berthd.pid")
    r = subprocess.run([berth_path(), "version", "--format", "{{.Server.Os}}"], capture_output=True, env=env,
                       timeout=60)
    pid = None
    try:
        assert r.returncode == 0 and r.stdout == b"linux\n", r.stderr
        assert b"started " in r.stderr and b"log /run/berth/berthd.log" in r.stderr
        with open("/run/berth/berthd.pid") as f:
            pid = int(f.read().split()[0])
        r = subprocess.run([berth_path(), "ps", "-q"], capture_output=True, env=env, timeout=30)
        assert r.returncode == 0 and r.stderr == b""
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(pid), timeout=30, what="the started berthd to stop")
        umount_below("/var/lib/berth")
        if not cgroup_existed:
            remove_cgroup("/berth")


def test_quickstart(workdir):
    """The README's first command on this machine, as a new user runs it: no daemon answers, so
    berth starts berthd, loads the busybox image it made and runs the container. Its own mount
    namespace with tmpfs over /run and /var/lib/berth keeps the host's untouched."""
    cgroup_existed = any(os.path.isdir(os.path.join(m, "berth")) for m in set(cgroup_mounts().values()))
    env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST", "DOCKER_HOST", "BERTHD")}
    env["BERTH_DEMO_IMAGE"] = os.path.join(workdir, "quickstart-busybox.tar")
    # The session's private_system_dirs may hide the machine's /var/lib (dpkg's state): not here.
    script = """
        for d in /run /var/lib /var/cache /var/tmp; do
            [ "$(findmnt -n -o SOURCE "$d")" = berth-test ] && umount -l "$d"
        done
        mount -t tmpfs quickstart /run && mkdir -p /var/lib/berth && mount -t tmpfs quickstart /var/lib/berth
        ./scripts/quickstart; rc=$?
        if [ -f /run/berth/berthd.pid ]; then
            pid=$(cat /run/berth/berthd.pid); kill "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        exit $rc
    """
    try:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], cwd=REPO,
                           capture_output=True, env=env, timeout=600)
        assert r.returncode == 0 and r.stdout.endswith(b"hello from berth\n"), r.stdout + r.stderr
        assert b"started " in r.stderr and b"log /run/berth/berthd.log" in r.stderr
    finally:
        if not cgroup_existed:
            remove_cgroup("/berth")


def test_bash_completion(berth, workdir):
    script = os.path.join(workdir, "berth.bash")
    with open(script, "wb") as f:
        f.write(berth.ok("completion", "bash").stdout)
    berth.ok("run", "-d", "--name", "completeme", "busybox", "sleep", "60")
    env = dict(berth.env, PATH=os.path.dirname(berth_path()) + ":" + os.environ["PATH"])

    def complete(*words):
        words = ["berth", *words]
        line = " ".join(f"'{w}'" for w in words)
        r = subprocess.run(["bash", "-c", f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
                            "_berth; echo \"${COMPREPLY[@]}\""], capture_output=True, env=env, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode().split()

    assert complete("ru") == ["run"]
    assert complete("run", "--re") == ["--read-only", "--restart"]
    assert complete("stop", "comp") == ["completeme"]
    assert complete("run", "busy") == ["busybox:latest"] or berth("images").returncode != 0
    assert complete("volume", "r") == ["rm"]
    r = berth("completion", "zsh")
    assert r.returncode == 125 and "only bash" in r.err


# ---------- cp ----------

def local_tree(root):
    """Every path below root: its type, permissions and content (files) or target (links)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", oct(st.st_mode & 0o7777))
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", oct(st.st_mode & 0o7777), f.read())
    return out


def fresh_dest(root):
    os.makedirs(os.path.join(root, "dir"))
    with open(os.path.join(root, "file"), "w") as f:
        f.write("old\n")
    os.symlink("dir", os.path.join(root, "dirlink"))
    return root


CP_FROM_CASES = [
    ("/d/a", "new"), ("/d/a", "dir"), ("/d/a", "file"), ("/d/a", "nodir/"), ("/d/a", "dirlink"),
    ("/d", "new"), ("/d", "dir"), ("/d/.", "dir"), ("/d/.", "new"), ("/d", "file"), ("/d/", "dir/"),
    ("/d/link", "new"), ("/d/abs", "dir"), ("/nosuch", "new"), ("/d/a", "missing/x"), ("d/sub/b", "dir"),
]


def test_cp_from_container_as_docker(berth, daemon, workdir):
    """Each path rule as docker's cp applies it: the same tree, exit code and message."""
    berth.ok("run", "-d", "--name", "cpsrc", "busybox", "sh", "-c",
             "mkdir -p /d/sub && echo one > /d/a && echo two > /d/sub/b && chmod 640 /d/a && ln -s a /d/link && "
             "ln -s /etc /d/abs && ln /d/a /d/hard && touch /ready && exec sleep 600")
    wait_until(lambda: berth("exec", "cpsrc", "test", "-e", "/ready").returncode == 0, timeout=10, what="files")
    differences = []
    for follow in ([], ["-L"]):
        for n, (src, dst) in enumerate(CP_FROM_CASES):
            results = []
            for who, run in (("berth", berth), ("docker", daemon.cli)):
                root = fresh_dest(os.path.join(workdir, f"{who}-{n}-{len(follow)}"))
                r = run("cp", *follow, "cpsrc:" + src, os.path.join(root, dst))
                err = r.stderr.decode(errors="replace").replace(root, "<root>")
                results.append((r.returncode, err, local_tree(root)))
            if results[0] != results[1]:
                differences.append(f"cp {follow} {src} {dst}: berth {results[0]} / docker {results[1]}")
    assert not differences, "\n".join(differences)
    r = berth("cp", "nosuch:/d", workdir)
    assert r.returncode == 1 and "No such container" in r.err


def test_cp_to_container_as_docker(berth, daemon, workdir):
    src = os.path.join(workdir, "src")
    os.makedirs(os.path.join(src, "d", "sub"))
    with open(os.path.join(src, "d", "a"), "w") as f:
        f.write("one\n")
    os.chmod(os.path.join(src, "d", "a"), 0o640)
    with open(os.path.join(src, "d", "sub", "b"), "w") as f:
        f.write("two\n")
    os.symlink("a", os.path.join(src, "d", "link"))
    os.link(os.path.join(src, "d", "a"), os.path.join(src, "d", "hard"))
    os.chown(os.path.join(src, "d", "sub", "b"), 1234, 1234)
    setup = "mkdir -p /t/dir && echo old > /t/file && ln -s dir /t/dirlink && touch /ready && exec sleep 600"
    for who in ("berth", "docker"):
        berth.ok("run", "-d", "--name", "cpdst-" + who, "busybox", "sh", "-c", setup)
    for who in ("berth", "docker"):
        wait_until(lambda: berth("exec", "cpdst-" + who, "test", "-e", "/ready").returncode == 0, timeout=10,
                   what="setup")
    cases = [("d/a", "/t/new"), ("d/a", "/t/dir"), ("d/a", "/t/file"), ("d/a", "/t/nodir/"), ("d/a", "/t/dirlink"),
             ("d", "/t/newdir"), ("d", "/t/dir"), ("d/.", "/t/dir"), ("d", "/t/file"), ("d/link", "/t/dir"),
             ("nosuch", "/t/x")]
    differences = []
    for flags in ([], ["-a"], ["-L"]):
        for local, dest in cases:
            results = []
            for who, run in (("berth", berth), ("docker", daemon.cli)):
                berth.ok("exec", "cpdst-" + who, "sh", "-c", "rm -rf /t && " + setup.split(" && touch")[0])
                r = run("cp", *flags, os.path.join(src, local), f"cpdst-{who}:{dest}")
                err = r.stderr.decode(errors="replace").replace("cpdst-" + who, "<ctr>")
                # docker's own complaint that its packer's pipe closed after the error
                err = "".join(l for l in err.splitlines(True) if not l.startswith("time="))
                listing = berth.ok("exec", "cpdst-" + who, "sh", "-c",
                                   "find /t | sort | xargs stat -c '%n %F %a %u:%g %s %N'").out
                results.append((r.returncode, err, listing))
            if results[0] != results[1]:
                differences.append(f"cp {flags} {local} {dest}: berth {results[0]} / docker {results[1]}")
    assert not differences, "\n".join(differences)


def test_cp_streams_and_errors(berth, daemon, workdir):
    berth.ok("run", "-d", "--name", "cpio", "busybox", "sh", "-c", "mkdir /in && echo hi > /in/f && exec sleep 600")
    wait_until(lambda: berth("exec", "cpio", "test", "-e", "/in/f").returncode == 0, timeout=10, what="files")
    # A tar on stdout and the same tar back on stdin.
    data = berth.ok("cp", "cpio:/in", "-").stdout
    assert data == daemon.cli("cp", "cpio:/in", "-", check=True).stdout or len(data) > 1024
    berth.ok("exec", "cpio", "mkdir", "/back")
    berth.ok("cp", "-", "cpio:/back", input=data)
    assert berth.ok("exec", "cpio", "cat", "/back/in/f").out == "hi\n"
    r = berth("cp", "-", "cpio:/in/f", input=data)
    assert r.returncode == 1 and r.err == 'destination "cpio:/in/f" must be a directory\n'
    # Usage errors, as docker words them.
    for argv in (["cp", "a", "b"], ["cp", "x:/a", "y:/b"], ["cp", "x:", "/tmp"]):
        b, d = berth(*argv), daemon.cli(*argv)
        assert (b.returncode, b.err.replace("berth", "docker")) == (d.returncode, d.stderr.decode()), argv
    r = berth("cp", "x")
    assert r.returncode == 125 and "'berth cp' requires exactly 2 arguments" in r.err
    # Nothing is written outside the destination: an archive's links resolve inside it.
    out = os.path.join(workdir, "out")
    os.makedirs(out)
    berth.ok("exec", "cpio", "sh", "-c", "mkdir /esc && ln -s ../../../../.. /esc/up && ln -s / /esc/root")
    berth.ok("cp", "cpio:/esc", out)
    assert os.readlink(os.path.join(out, "esc", "up")) == "../../../../.."
    assert os.readlink(os.path.join(out, "esc", "root")) == "/"


def on_terminal(argv, env):
    """Run argv with stdout and stderr on a fresh pty; its exit code and what the terminal got."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        try:
            chunk = os.read(master, 65536) if r else b""
        except OSError:
            chunk = b""
        if not chunk:
            break
        out += chunk
    code = p.wait(timeout=30)
    os.close(master)
    return code, out.decode(errors="replace")


def test_cp_progress_on_a_terminal(berth, daemon, workdir):
    berth.ok("run", "-d", "--name", "cptty", "busybox", "sh", "-c", "echo hello > /f && exec sleep 600")
    wait_until(lambda: berth("exec", "cptty", "test", "-e", "/f").returncode == 0, timeout=10, what="the file")
    env = dict(os.environ, DOCKER_HOST=daemon.host, DOCKER_CONFIG=os.path.join(daemon.dir, "docker-config"))
    for who, argv0 in (("berth", berth_path()), ("docker", "docker")):
        code, out = on_terminal([argv0, "cp", "cptty:/f", os.path.join(workdir, who)], env)
        assert code == 0, out
        assert out.endswith(f"Successfully copied 2.05kB to {os.path.join(workdir, who)}\r\n"), (who, out)
        code, out = on_terminal([argv0, "cp", os.path.join(workdir, who), "cptty:/" + who], env)
        assert code == 0 and out.endswith(f"Successfully copied 2.05kB to cptty:/{who}\r\n"), (who, out)
        code, out = on_terminal([argv0, "cp", "-q", "cptty:/f", os.path.join(workdir, who + "-q")], env)
        assert code == 0 and out == "", (who, out)


def test_load_and_save_progress_on_a_terminal(berth, daemon, workdir):
    archive = os.path.join(workdir, "bb.tar")
    env = dict(os.environ, DOCKER_HOST=daemon.host)
    code, out = on_terminal([berth_path(), "save", "-o", archive, "busybox"], env)
    assert code == 0 and "Saving  " in out and re.search(r"\d(\.\d+)?[kM]B", out), out
    assert out.endswith("\r\x1b[2K"), out  # the line is gone at the end, as docker leaves nothing
    berth.ok("tag", "busybox", "progress:1")
    code, out = on_terminal([berth_path(), "save", "-o", archive, "progress:1"], env)
    berth.ok("rmi", "progress:1")
    code, out = on_terminal([berth_path(), "load", "-i", archive], env)
    assert code == 0 and "Loading archive  " in out and out.endswith("\r\x1b[2KLoaded image: progress:1\r\n"), out
    size = os.path.getsize(archive)
    human = f"{size / 1e6:.4g}MB"
    assert f"/{human}" in out, (human, out)
    code, out = on_terminal([berth_path(), "load", "-q", "-i", archive], env)
    assert code == 0 and out == "Loaded image: progress:1\r\n", out
    # Not on a terminal: the plain line only.
    assert berth.ok("load", "-i", archive).out == "Loaded image: progress:1\n"
    berth.ok("rmi", "progress:1")


def test_cp_never_writes_outside_dest(workdir, tmp_path_factory):
    """A hostile daemon's archive (a link out, then a file through it; "../" names) lands inside the
    destination or nowhere."""
    import io
    import socketserver
    import tarfile
    import threading
    from http.server import BaseHTTPRequestHandler

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        def add(name, kind, data=b"", target=""):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size, info.mode = kind, target, len(data), 0o644
            t.addfile(info, io.BytesIO(data))
        add("x", tarfile.DIRTYPE)
        add("x/up", tarfile.SYMTYPE, target="../../../..")
        add("x/up/escaped", tarfile.REGTYPE, b"bad")
        add("x/root", tarfile.SYMTYPE, target="/")
        add("x/root/rooted", tarfile.REGTYPE, b"bad")
        add("../../dotdot", tarfile.REGTYPE, b"bad")
    tar = buf.getvalue()
    stat_json = json.dumps({"name": "x", "size": 0, "mode": 0o755 | (1 << 31), "mtime": "2024-01-01T00:00:00Z",
                            "linkTarget": ""}).encode()
    import base64

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("X-Docker-Container-Path-Stat", base64.b64encode(stat_json).decode())
            self.send_header("Content-Length", str(len(tar)))
            self.end_headers()
            self.wfile.write(tar)

        def log_message(self, *a):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

        def get_request(self):
            req, _ = super().get_request()
            return req, ("local", 0)

    sock = os.path.join(workdir, "hostile.sock")
    server = Server(sock, Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    top = os.path.join(workdir, "a", "b", "c")
    dest = os.path.join(top, "dest")
    os.makedirs(dest)
    before = set(os.listdir(workdir))
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST",)}
        env["DOCKER_HOST"] = "unix://" + sock
        r = subprocess.run([berth_path(), "cp", "evil:/x", dest], capture_output=True, env=env, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert r.returncode == 0, r.stderr
    assert set(os.listdir(workdir)) == before and os.listdir(top) == ["dest"]
    assert not os.path.exists("/rooted") and not os.path.exists("/escaped")
    with open(os.path.join(dest, "rooted"), "rb") as f:
        assert f.read() == b"bad"  # "/" resolved as the destination itself
    assert os.path.exists(os.path.join(dest, "escaped")) and os.path.exists(os.path.join(dest, "dotdot"))


# ---------- stats ----------

def test_stats_no_stream_table_and_formats(berth, daemon):
    berth.ok("run", "-d", "--name", "st-one", "--memory", "64m", "busybox", "sleep", "600")
    berth.ok("run", "-d", "--name", "st-two", "busybox", "sleep", "600")
    berth.ok("create", "--name", "st-made", "busybox", "true")
    r = berth.ok("stats", "--no-stream")
    lines = r.out.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                                              "BLOCK I/O", "PIDS"]
    assert sorted(re.split(r"\s{2,}", l)[1] for l in lines[1:]) == ["st-one", "st-two"]
    one = next(l for l in lines if "st-one" in l)
    cols = re.split(r"\s{2,}", one)
    assert re.fullmatch(r"[0-9a-f]{12}", cols[0]) and re.fullmatch(r"\d+\.\d\d%", cols[2]), one
    assert re.fullmatch(r"[\d.]+(B|KiB|MiB) / 64MiB", cols[3]) and cols[7] == "1", one
    r = berth.ok("stats", "--no-stream", "-a", "--format", "{{.Name}}")
    assert sorted(r.out.split()) == ["st-made", "st-one", "st-two"]
    r = berth.ok("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}} {{.Container}}", "st-one")
    full = berth.ok("inspect", "-f", "{{.Id}}", "st-one").out.strip()
    assert r.out == f"{full} st-one\n"
    r = berth.ok("stats", "--no-stream", "--format", "table {{.Name}}\t{{.MemUsage}}", "st-one")
    assert r.out.splitlines()[0].split() == ["NAME", "MEM", "USAGE", "/", "LIMIT"]
    # The same figures as docker's CLI computes from the same JSON (MEM limit and PIDs do not move).
    fmt = "{{.Name}} {{.PIDs}} {{.MemUsage}}"
    b = berth.ok("stats", "--no-stream", "--format", fmt, "st-one").out.split(" / ")[1]
    d = daemon.cli("stats", "--no-stream", "--format", fmt, "st-one", check=True).stdout.decode().split(" / ")[1]
    assert b == d
    r = berth("stats", "--no-stream", "nosuch")
    assert r.returncode == 1 and "No such container: nosuch" in r.err


def test_stats_stream_prints_blocks(berth):
    berth.ok("run", "-d", "--name", "st-live", "busybox", "sleep", "600")
    p = subprocess.Popen([berth_path(), "stats", "--format", "{{.Name}} {{.PIDs}}", "st-live"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=berth.env)
    time.sleep(3.5)
    p.terminate()
    out, err = p.communicate(timeout=10)
    lines = out.decode().splitlines()
    assert len(lines) >= 3 and set(lines) == {"st-live 1"}, (out, err)
    # On a terminal: redrawn in place.
    master, slave = pty.openpty()
    p = subprocess.Popen([berth_path(), "stats", "st-live"], stdout=slave, stderr=slave, env=berth.env,
                         start_new_session=True)
    os.close(slave)
    time.sleep(2.5)
    p.terminate()
    p.wait(timeout=10)
    got = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    assert got.startswith(b"\x1b[2J") and got.count(b"\x1b[H") >= 2 and b"CONTAINER ID" in got, got
    # Without arguments it follows: containers that start join, those that stop leave.
    p = subprocess.Popen([berth_path(), "stats", "--format", "{{.Name}}"], stdout=subprocess.PIPE, env=berth.env)
    time.sleep(1.5)
    berth.ok("run", "-d", "--name", "st-later", "busybox", "sleep", "600")
    time.sleep(2)
    berth.ok("stop", "-t", "0", "st-live")
    time.sleep(2)
    p.terminate()
    out = p.communicate(timeout=10)[0].decode().splitlines()
    assert out[0] == "st-live" and out[-1] == "st-later", out
    assert "st-later" in out and out.index("st-later") < len(out) - 1 - out[::-1].index("st-live"), out


# ---------- events and system ----------

def test_events_since_until_as_docker(berth, daemon):
    start = time.time()
    berth.ok("run", "--name", "ev-one", "--label", "k=v", "busybox", "true")
    berth.ok("rm", "ev-one")
    time.sleep(1.1)
    since, until = f"{start - 1:.0f}", f"{time.time():.0f}"
    r = berth.ok("events", "--since", since, "--until", until)
    d = daemon.cli("events", "--since", since, "--until", until, check=True)
    assert r.out == d.stdout.decode() and r.out
    line = next(l for l in r.out.splitlines() if " container start " in l and "ev-one" in l)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container start [0-9a-f]{64} "
                        r"\(image=busybox, k=v, name=ev-one\)", line), line
    for argv in (["--filter", "event=start"], ["-f", "type=container", "-f", "event=destroy"],
                 ["--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"], ["--format", "{{json .}}"],
                 ["--since", "10m", "--until", "0s", "--filter", "container=ev-one", "--format", "{{.Action}}"]):
        args = ["events", "--since", since, "--until", until, *argv] if "10m" not in argv else ["events", *argv]
        r, d = berth.ok(*args), daemon.cli(*args, check=True)
        assert r.out == d.stdout.decode() and r.out, (argv, r.out, d.stdout)
    assert berth.ok("system", "events", "--since", since, "--until", until).out == \
        berth.ok("events", "--since", since, "--until", until).out
    r = berth("events", "--filter", "nonsense")
    assert r.returncode == 125 and "bad format of filter" in r.err
    # Without --until it follows until interrupted.
    p = subprocess.Popen([berth_path(), "events", "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
                         stdout=subprocess.PIPE, env=berth.env)
    time.sleep(0.5)
    berth.ok("run", "--rm", "--name", "ev-live", "busybox", "true")
    time.sleep(0.5)
    p.terminate()
    out = p.communicate(timeout=10)[0].decode()
    assert "start ev-live" in out and "destroy ev-live" in out


def test_system_df_and_prune(berth, daemon):
    berth.ok("run", "--name", "df-done", "busybox", "sh", "-c", "echo x > /f")
    berth.ok("run", "-d", "--name", "df-run", "-v", "dfvol:/v", "busybox", "sleep", "600")
    berth.ok("volume", "create", "dfloose")
    r = berth.ok("system", "df")
    assert r.out == daemon.cli("system", "df", check=True).stdout.decode()
    lines = r.out.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [l.split("  ")[0] for l in lines[1:]] == ["Images", "Containers", "Local Volumes", "Build Cache"]
    assert re.match(r"Containers\s+2\s+1\s+", lines[2]) and re.match(r"Local Volumes\s+2\s+1\s+", lines[3])
    fmt = "{{.Type}}: {{.TotalCount}} {{.Active}} {{.Reclaimable}}"
    assert berth.ok("system", "df", "--format", fmt).out == daemon.cli("system", "df", "--format", fmt).stdout.decode()
    r = berth.ok("system", "df", "-v")
    for part in ("Images space usage:\n\nREPOSITORY", "\nContainers space usage:\n\nCONTAINER ID",
                 "\nLocal Volumes space usage:\n\nVOLUME NAME", "\nBuild cache usage: 0B\n\nCACHE ID"):
        assert part in r.out, r.out
    d = daemon.cli("system", "df", "-v").stdout
    assert same(r.stdout) == same(d), (r.out, d.decode())
    # Without -f: docker's warning and question; "n" keeps everything.
    r = berth("system", "prune", input=b"n\n")
    assert (r.returncode, r.out) == (0, daemon.cli("system", "prune", input=b"n\n").stdout.decode())
    assert r.out.startswith("WARNING! This will remove:\n  - all stopped containers\n")
    assert r.out.endswith("Are you sure you want to continue? [y/N] ")
    assert "df-done" in berth.ok("ps", "-a", "--format", "{{.Names}}").out
    # Each prune's prompt: docker 28 takes only "y" (any case) for yes.
    for verb, answer in ((v, a) for v in ("volume", "network", "container", "image") for a in (b"n\n", b"", b"yes\n")):
        b, d = berth(verb, "prune", input=answer), daemon.cli(verb, "prune", input=answer)
        assert (b.returncode, b.out, b.err) == (d.returncode, d.stdout.decode(), d.stderr.decode()), verb
    r = berth.ok("system", "prune", "--volumes", input=b"y\n")
    assert "  - all anonymous volumes not used by at least one container\n" in r.out
    assert "Deleted Containers:\n" in r.out and r.out.splitlines()[-1].startswith("Total reclaimed space: ")
    assert berth.ok("ps", "-a", "--format", "{{.Names}}").out == "df-run\n"
    # docker's own prune stops at POST /build/prune, which berthd does not serve; berth has no build cache.
    assert berth.ok("system", "prune", "-f").out == "Total reclaimed space: 0B\n"
    r = berth("system", "prune", "--volumes", "-f", "--filter", "until=1h")
    d = daemon.cli("system", "prune", "--volumes", "-f", "--filter", "until=1h")
    assert (r.returncode, r.err) == (d.returncode, d.stderr.decode()) == (1, 'ERROR: The "until" filter is not '
                                                                          'supported with "--volumes"\n')
    r = berth.ok("system", "prune", "-a", "-f", "--filter", "until=1h")
    assert r.out.endswith("Total reclaimed space: 0B\n")
    assert "busybox" in berth.ok("images", "--format", "{{.Repository}}").out  # in use by df-run
    r = berth("system", "nosuch")
    assert r.returncode == 125 and "'nosuch' is not a berth system command" in r.err
    assert berth.ok("system", "info", "-f", "{{.OSType}}").out == "linux\n"
    # "y": the report, as docker prints it (the IDs differ: one stopped container each).
    reports = []
    berth.ok("container", "prune", "-f")
    for client in (berth, daemon.cli):
        cid = berth.ok("create", "busybox", "true").out.strip()
        r = client("container", "prune", input=b"y\n")
        out = r.stdout if isinstance(r.stdout, bytes) else r.stdout.encode()
        assert r.returncode == 0 and cid.encode() in out, out
        reports.append(out.replace(cid.encode(), b"<id>"))
        assert berth("inspect", cid).returncode == 1
    assert reports[0] == reports[1], reports
    assert reports[0].endswith(b"Deleted Containers:\n<id>\n\nTotal reclaimed space: 0B\n")
    out = berth.ok("image", "prune", "-a", "-f", "--filter", "label=nosuch=1").out
    assert out == daemon.cli("image", "prune", "-a", "-f", "--filter", "label=nosuch=1").stdout.decode()


# ---------- update and port ----------

def test_update(berth, daemon):
    berth.ok("run", "-d", "--name", "up-one", "busybox", "sleep", "600")
    berth.ok("run", "-d", "--name", "up-two", "busybox", "sleep", "600")
    r = berth.ok("update", "--memory", "64m", "--memory-swap", "128m", "--memory-reservation", "32m", "--cpus", "0.5",
                 "--cpu-shares", "512", "--pids-limit", "50", "--restart", "on-failure:3", "--cpuset-cpus", "0",
                 "up-one", "up-two")
    assert r.out == "up-one\nup-two\n"
    fmt = ("{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} "
           "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}} "
           "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} "
           "{{.HostConfig.CpusetCpus}}")
    want = "67108864 134217728 33554432 500000000 512 50 on-failure:3 0\n"
    assert berth.ok("inspect", "-f", fmt, "up-two").out == want
    berth.ok("update", "--cpu-period", "100000", "--cpu-quota", "20000", "up-one")
    assert berth.ok("inspect", "-f", "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}", "up-one").out == \
        "100000 20000\n"
    # The same words as docker for what fails.
    for argv in (["update", "--memory", "64m", "nosuch", "up-one"], ["update", "up-one"],
                 ["update", "--memory", "lots", "up-one"], ["update", "--restart", "sometimes", "up-one"]):
        b, d = berth(*argv), daemon.cli(*argv)
        # The first line: docker 28 follows a bad flag value with its usage, berth with the older hint.
        assert (b.returncode, b.out, b.err.replace("berth", "docker").split("\n")[0]) == \
            (d.returncode, d.stdout.decode(), d.stderr.decode().split("\n")[0]), argv


def test_port(berth, daemon):
    daemon.cli("run", "-d", "--name", "pt", "-p", "8080:80", "-p", "127.0.0.1:8443:443", "-p", "9000:9000/udp",
               "busybox", "sleep", "600", check=True)
    berth.ok("run", "-d", "--name", "pt-none", "busybox", "sleep", "600")
    for argv in (["port", "pt"], ["port", "pt", "80"], ["port", "pt", "80/tcp"], ["port", "pt", "9000/udp"],
                 ["port", "pt", "443"], ["port", "pt", "81/tcp"], ["port", "pt", "81"], ["port", "pt-none"],
                 ["port", "pt", "http"], ["port", "nosuch"]):
        b, d = berth(*argv), daemon.cli(*argv)
        assert (b.returncode, b.out, b.err) == (d.returncode, d.stdout.decode(), d.stderr.decode()), argv
    assert berth("port", "pt", "81/tcp").err == "Error: No public port '81/tcp' published for pt\n"
    assert "80/tcp -> 0.0.0.0:8080\n" in berth.ok("port", "pt").out
    # ps's default table (written straight from the list) shows the ports as docker's does:
    # runs on one IP and protocol grouped, mappings to another number after them.
    daemon.cli("run", "-d", "--name", "pt-range", "-p", "9100-9101:9100-9101/udp", "-p", "127.0.0.1:9300:93",
               "--expose", "7000-7001", "--expose", "7003", "busybox", "sleep", "600", check=True)
    for argv in (["ps"], ["ps", "--no-trunc"], ["ps", "--format", "table"]):
        b, d = berth(*argv), daemon.cli(*argv)
        assert (b.returncode, same(b.stdout)) == (d.returncode, same(d.stdout)), argv
    assert "0.0.0.0:9000->9000/udp, 0.0.0.0:8080->80/tcp, 127.0.0.1:8443->443/tcp" in berth.ok("ps").out


# ---------- the same as docker ----------

SAME_AS_DOCKER = [
    # (argv, input, compare stderr too)
    (["ps"], None, True),
    (["ps", "-a"], None, True),
    (["ps", "-q"], None, True),
    (["ps", "-aq", "--no-trunc"], None, True),
    (["ps", "--format", "{{.Names}}"], None, True),
    (["ps", "-a", "--format", "table {{.Names}}\t{{.Image}}\t{{.Command}}"], None, True),
    (["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"], None, True),
    (["ps", "-n", "1", "--format", "{{.Names}} {{.State}}"], None, True),
    (["ps", "-a", "--format", "{{json .Names}}"], None, True),
    (["inspect", "-f", "{{.State.Status}}", "cmp-run"], None, True),
    (["inspect", "-f", "{{.Config.Cmd}} {{.Config.Image}}", "cmp-run"], None, True),
    (["inspect", "-f", "{{json .Config.Labels}}", "cmp-run"], None, True),
    (["inspect", "--format", "{{.Name}}", "cmp-run", "cmp-done"], None, True),
    (["inspect", "-f", "{{.State.ExitCode}}", "cmp-done"], None, True),
    (["inspect", "nosuch"], None, True),
    (["logs", "cmp-done"], None, True),
    (["logs", "--tail", "1", "cmp-done"], None, True),
    (["logs", "nosuch"], None, True),
    (["run", "--rm", "busybox", "echo", "hi"], None, True),
    (["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"], None, True),
    (["run", "--rm", "busybox", "nosuchcommand"], None, False),
    (["run", "--rm", "-e", "A=b", "-w", "/tmp", "-u", "1000", "busybox", "sh", "-c", "echo $A $(pwd) $(id -u)"],
     None, True),
    (["run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z"], b"piped\n", True),
    (["exec", "cmp-run", "echo", "hi"], None, True),
    (["exec", "cmp-run", "sh", "-c", "exit 4"], None, True),
    (["exec", "-i", "cmp-run", "cat"], b"into exec\n", True),
    (["wait", "cmp-done"], None, True),
    (["start", "cmp-run"], None, True),
    (["stop", "nosuch"], None, True),
    (["kill", "nosuch"], None, True),
    (["rm", "nosuch"], None, True),
    (["diff", "cmp-run"], None, True),
    (["top", "cmp-run"], None, True),
    (["images", "--format", "{{.Repository}}:{{.Tag}}"], None, True),
    (["images", "-q"], None, True),
    (["volume", "ls", "-q"], None, True),
    (["version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}}"], None, True),
    (["info", "--format", "{{.Containers}} {{.Images}}"], None, True),
    (["run", "--foo", "busybox"], None, False),
    (["cp", "cmp-run:/made", "-"], None, True),
    (["cp", "cmp-run:/nosuch", "-"], None, True),
    (["cp", "-", "cmp-run:/made"], b"", True),
    (["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "cmp-run"], None, True),
    (["stats", "--no-stream", "-a", "--format", "{{.Name}}"], None, True),
    (["stats", "--no-stream", "nosuch"], None, True),
    (["events", "--since", "1h", "--until", "1s", "--filter", "container=cmp-done"], None, True),
    (["events", "--since", "1h", "--until", "1s", "-f", "container=cmp-done", "--format", "{{json .}}"], None, True),
    (["system", "df"], None, True),
    (["system", "df", "--format", "{{.Type}}: {{.TotalCount}} {{.Active}}"], None, True),
    (["update", "--memory", "64m", "--pids-limit", "100", "cmp-run"], None, True),
    (["update", "--cpus", "0.5", "nosuch"], None, True),
    (["port", "cmp-run"], None, True),
    (["port", "cmp-run", "80/tcp"], None, True),
]


def same(out):
    """Output up to times ("1 second ago", "Up Less than a second"), which tick between the two runs,
    and the padding that follows their width."""
    text = re.sub(r"(Less than a second|About an? \w+|\d+ (second|minute|hour|day|week|month|year)s?)",
                  "<time>", out.decode(errors="replace"))
    return re.sub(r" {2,}", "  ", text)


def test_same_as_docker(berth, daemon):
    """Each command through berth and through the docker CLI on the same berthd: the same exit code
    and the same output."""
    berth.ok("run", "-d", "--name", "cmp-run", "--label", "a=b", "busybox", "sh", "-c", "touch /made; exec sleep 60")
    berth("run", "--name", "cmp-done", "busybox", "sh", "-c", "echo one; echo two; exit 2")
    wait_until(lambda: "made" in berth("exec", "cmp-run", "ls", "/").out, timeout=10, what="the file")
    differences = []
    for argv, stdin, with_stderr in SAME_AS_DOCKER:
        b = berth(*argv, input=stdin)
        d = daemon.cli(*argv, input=stdin)
        if b.returncode != d.returncode or same(b.stdout) != same(d.stdout) or \
                (with_stderr and same(b.stderr) != same(d.stderr)):
            differences.append(f"{argv}: berth {b.returncode} {b.stdout!r} {b.stderr!r} / "
                               f"docker {d.returncode} {d.stdout!r} {d.stderr!r}")
    assert not differences, "\n".join(differences)


def test_network_flags_send_what_docker_sends(berth, daemon):
    """run/create's -p, -P, --expose, --dns, --dns-search, --dns-option, --add-host, --ip and
    --network-alias: berth's create gives the same record as the docker CLI's on the same
    berthd; bad port specs are refused with docker's words."""
    net = "cli-flags-net"
    daemon.cli("network", "create", "--subnet", "10.231.7.0/24", net, check=True)
    flags = ["-p", "127.0.0.1:18080:80", "-p", "9000-9001:7000-7001/udp", "-p", "53", "-P", "--expose", "6000-6001",
             "--dns", "10.231.7.53", "--dns-search", "example.test", "--dns-option", "ndots:2",
             "--add-host", "db.test:10.231.7.9", "--network", net, "--ip", "10.231.7.20",
             "--network-alias", "web", "busybox", "true"]
    keys = [("HostConfig", "PortBindings"), ("HostConfig", "PublishAllPorts"), ("Config", "ExposedPorts"),
            ("HostConfig", "Dns"), ("HostConfig", "DnsSearch"), ("HostConfig", "DnsOptions"),
            ("HostConfig", "ExtraHosts"), ("HostConfig", "NetworkMode")]
    try:
        records = []
        for name, create in (("flags-berth", berth), ("flags-docker", daemon.cli)):
            r = create("create", "--name", name, *flags)
            assert r.returncode == 0, r
            doc = json.loads(berth.ok("inspect", name).out)[0]
            records.append({f"{a}.{b}": doc[a].get(b) for a, b in keys})
            ep = doc["NetworkSettings"]["Networks"][net]
            records[-1]["endpoint"] = (ep["IPAMConfig"], sorted(ep["Aliases"] or [])[:1])
        assert records[0] == records[1], records
        assert records[0]["HostConfig.PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18080"}]
        # --mac-address goes as Config.MacAddress, API 1.43's form (the docker CLI 28 sends it per
        # network, which needs API 1.44).
        berth.ok("create", "--name", "mac-berth", "--mac-address", "02:42:0a:e7:07:99", "busybox", "true")
        assert berth.ok("inspect", "-f", "{{.Config.MacAddress}}", "mac-berth").out == "02:42:0a:e7:07:99\n"
        for bad, why in (("-p", "Invalid containerPort: x"), ("-p", "invalid proto")):
            spec = "80:x" if "containerPort" in why else "80/ip"
            r = berth("create", bad, spec, "busybox")
            assert r.returncode == 125 and why in r.err, r
    finally:
        berth("rm", "-f", "flags-berth", "flags-docker", "mac-berth")
        daemon.cli("network", "rm", net)


def test_network_verbs(berth, daemon):
    """berth network create|ls|inspect|connect|disconnect|rm|prune, against the docker CLI on the
    same berthd where their output can be the same."""
    net = "cli-net-a"
    nid = berth.ok("network", "create", "--subnet", "10.231.8.0/24", "--gateway", "10.231.8.1",
                   "--label", "k=v", net).out.strip()
    assert len(nid) == 64
    r = berth("network", "create", "--subnet", "10.231.8.0/25", "cli-net-b")
    assert r.returncode == 1 and "Pool overlaps" in r.err, r
    for argv in (["network", "ls", "--format", "{{.Name}} {{.Driver}}"], ["network", "ls", "-q"],
                 ["network", "ls", "--filter", "label=k=v", "--format", "{{.Name}}"],
                 ["network", "inspect", "-f", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", net],
                 ["network", "inspect", "nosuchnet"], ["network", "rm", "nosuchnet"]):
        b, d = berth(*argv), daemon.cli(*argv)
        assert (b.returncode, b.out) == (d.returncode, d.stdout.decode()), (argv, b, d)
    assert f"{nid[:12]}   {net}" in berth.ok("network", "ls").out.replace("  ", "   ").replace("    ", "   ")
    berth.ok("run", "-d", "--name", "netc", "busybox", "sleep", "60")
    berth.ok("network", "connect", "--ip", "10.231.8.40", "--alias", "svc", net, "netc")
    doc = json.loads(berth.ok("inspect", "netc").out)[0]
    assert doc["NetworkSettings"]["Networks"][net]["IPAddress"] == "10.231.8.40"
    r = berth("network", "rm", net)
    assert r.returncode == 1, r
    berth.ok("network", "disconnect", net, "netc")
    assert net not in json.loads(berth.ok("inspect", "netc").out)[0]["NetworkSettings"]["Networks"]
    assert berth.ok("network", "rm", net).out == net + "\n"
    berth.ok("network", "create", "cli-net-c")
    out = berth.ok("network", "prune", "-f").out
    assert "Deleted Networks:\ncli-net-c\n" in out, out
    assert "connect" in berth.ok("network", "--help").out
    berth("rm", "-f", "netc")
