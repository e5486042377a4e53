"""The default bridge network as Docker has it: containers on berth0 with an address, a default route
and /etc/hosts; published ports (-p, -P) reachable on 127.0.0.1 and the bridge's address through
berth's own nftables table; NetworkSettings and the /networks API in Docker's shapes; addresses and
rules given back at stop and reconciled after a daemon restart or kill -9; --bip and the address
pools. Every test runs in the test run's own network namespace: bridges and tables made here touch
nothing of the host, and traffic goes only to loopback and to the containers made here."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import docker
import pytest

from conftest import pid_alive, wait_until
from daemon_util import Daemon, busybox_daemon, load_busybox

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HTTPD = "mkdir -p /www && echo hello-from-{} > /www/index.html && exec httpd -f -p 80 -h /www"


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "n")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    c.close()


def api_error(fn, *args, **kw):
    with pytest.raises(docker.errors.APIError) as ei:
        fn(*args, **kw)
    return ei.value.status_code, ei.value.explanation


def nft_table(name="berth", must=True):
    r = subprocess.run(["nft", "list", "table", "ip", name], capture_output=True, text=True)
    assert r.returncode == 0 or not must, r.stderr
    return r.stdout


def fetch(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def wait_fetch(url, what):
    def ok():
        try:
            return fetch(url, timeout=1)
        except OSError:
            return None
    return wait_until(ok, timeout=15, interval=0.1, what=what)


def bridge_of(client):
    net = client.api.inspect_network("bridge")
    cfg = net["IPAM"]["Config"][0]
    return cfg["Subnet"], cfg["Gateway"]


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


def can_listen(port):
    """Can a host process listen on 0.0.0.0:port (as servers do, with SO_REUSEADDR)?"""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def up(c):
    """A container that run(detach=True) started, with attrs from after its start."""
    c.reload()
    return c


def httpd(client, tag, **kw):
    return up(client.containers.run("busybox", ["sh", "-c", HTTPD.format(tag)], detach=True, **kw))


# ---------- the networks API ----------

def test_networks_list_and_inspect(client, daemon):
    nets = client.api.networks()
    assert [n["Name"] for n in nets] == ["bridge", "host", "none"]
    assert [n["Driver"] for n in nets] == ["bridge", "host", "null"]
    for n in nets:
        assert HEX64.match(n["Id"]) and n["Scope"] == "local" and n["Containers"] == {}
    bridge = client.api.inspect_network("bridge")
    assert bridge["IPAM"]["Driver"] == "default"
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert bridge["Options"]["com.docker.network.bridge.name"] == "berth0"
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    assert client.api.inspect_network("host")["IPAM"]["Config"] == []
    # By ID and by unique ID prefix; filters.
    assert client.api.inspect_network(bridge["Id"])["Name"] == "bridge"
    assert client.api.inspect_network(bridge["Id"][:12])["Name"] == "bridge"
    assert [n["Name"] for n in client.api.networks(names=["host"])] == ["host"]
    assert [n["Name"] for n in client.api.networks(filters={"driver": "null"})] == ["none"]
    assert client.api.networks(filters={"type": "custom"}) == []
    # The IDs survive a daemon restart.
    daemon.stop()
    daemon.start()
    again = daemon.client()
    assert again.api.inspect_network("bridge")["Id"] == bridge["Id"]
    again.close()
    # The docker CLI sees them too.
    r = daemon.cli("network", "ls", "--format", "{{.Name}} {{.Driver}}", check=True)
    assert r.stdout.decode().split("\n")[:3] == ["bridge bridge", "host host", "none null"]


def test_networks_errors(client, daemon):
    status, msg = api_error(client.api.inspect_network, "nosuch")
    assert status == 404 and "network nosuch not found" in msg
    status, msg = api_error(client.api.remove_network, "bridge")
    assert status == 403 and "bridge is a pre-defined network and cannot be removed" in msg
    assert client.api.prune_networks() == {"NetworksDeleted": None}
    # A container on a network that does not exist: Docker's 404 at create.
    status, msg = api_error(client.containers.create, "busybox", "true", network_mode="nosuchnet")
    assert status == 404 and "network nosuchnet not found" in msg


# ---------- containers on the bridge ----------

def test_inspect_network_settings(client):
    subnet, gateway = bridge_of(client)
    c = up(client.containers.run("busybox", ["sleep", "60"], detach=True))
    ns = c.attrs["NetworkSettings"]
    ip = ns["IPAddress"]
    assert ip.startswith("172.17.") and ip != gateway
    assert ns["Gateway"] == gateway and ns["IPPrefixLen"] == 16
    octets = [int(x) for x in ip.split(".")]
    assert ns["MacAddress"] == "02:42:" + ":".join(f"{o:02x}" for o in octets)
    assert HEX64.match(ns["EndpointID"]) and HEX64.match(ns["SandboxID"])
    assert ns["Ports"] == {}
    b = ns["Networks"]["bridge"]
    bridge = client.api.inspect_network("bridge")
    assert b["NetworkID"] == bridge["Id"] and b["IPAddress"] == ip and b["Gateway"] == gateway
    assert b["MacAddress"] == ns["MacAddress"] and b["EndpointID"] == ns["EndpointID"] and b["IPPrefixLen"] == 16
    # The network lists it while it runs.
    entry = bridge["Containers"][c.id]
    assert entry["IPv4Address"] == f"{ip}/16" and entry["Name"] == c.name and entry["MacAddress"] == ns["MacAddress"]
    # Inside: eth0 with the address, the default route via the bridge, /etc/hosts with its name.
    out = c.exec_run(["sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts; cat /sys/class/net/eth0/address"])
    text = out.output.decode()
    assert f"inet {ip}/16" in text and f"default via {gateway} dev eth0" in text
    assert f"{ip}\t{c.attrs['Config']['Hostname']}" in text and ns["MacAddress"] in text
    # --network none: loopback only; host: none of our addresses.
    none = client.containers.run("busybox", ["ip", "-o", "link"], network_mode="none", detach=True)
    none.wait(timeout=30)
    none.reload()
    links = none.logs().decode()
    assert "lo:" in links and "eth0" not in links
    assert none.attrs["NetworkSettings"]["Networks"]["none"]["IPAddress"] == ""


def link_mtu(dev):
    r = subprocess.run(["ip", "-o", "link", "show", "dev", dev], capture_output=True, text=True, check=True)
    return int(r.stdout.split(" mtu ")[1].split()[0])


def test_mtu_of_the_bridge_and_veths(client):
    """berth's default MTU is 65535 (bench/README.md, network), on the bridge and both veth ends."""
    assert client.api.inspect_network("bridge")["Options"]["com.docker.network.driver.mtu"] == "65535"
    assert link_mtu("berth0") == 65535
    c = up(client.containers.run("busybox", ["sleep", "60"], detach=True))
    r = c.exec_run(["cat", "/sys/class/net/eth0/mtu"])
    assert r.output.decode().strip() == "65535"
    ports = subprocess.run(["ip", "-o", "link", "show", "master", "berth0"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert ports and all(" mtu 65535 " in line for line in ports)


def test_no_ipv6_on_eth0(client):
    """As Docker since 26.0.2: an interface with only an IPv4 address from us has IPv6 off; lo keeps ::1."""
    c = up(client.containers.run("busybox", ["sleep", "60"], detach=True))
    r = c.exec_run(["sh", "-c", "cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6; ip -6 -o addr"])
    lines = r.output.decode().split("\n")
    assert lines[0] == "1" and "eth0" not in r.output.decode() and "::1/128" in r.output.decode(), r.output


def test_mac_address(client):
    """--mac-address sets the MAC of the container's interface on its first network, in inspect and
    inside; a bad one is refused at create with nothing made."""
    mac = "02:42:ac:11:fe:01"
    c = client.containers.run("busybox", ["sleep", "60"], detach=True, mac_address=mac)
    try:
        c.reload()
        assert c.attrs["NetworkSettings"]["MacAddress"] == mac
        assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["MacAddress"] == mac
        code, out = c.exec_run(["cat", "/sys/class/net/eth0/address"])
        assert code == 0 and out.decode().strip() == mac
    finally:
        c.remove(force=True)
    before = len(client.containers.list(all=True))
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.create("busybox", ["true"], mac_address="02:42:zz:00:00:01")
    assert err.value.status_code == 400 and "invalid MAC address: 02:42:zz:00:00:01" in str(err.value)
    assert len(client.containers.list(all=True)) == before


def test_two_containers_ping_each_other(client):
    a = up(client.containers.run("busybox", ["sleep", "60"], detach=True))
    b = up(client.containers.run("busybox", ["sleep", "60"], detach=True))
    ip_a, ip_b = a.attrs["NetworkSettings"]["IPAddress"], b.attrs["NetworkSettings"]["IPAddress"]
    assert ip_a != ip_b
    r = b.exec_run(["ping", "-c", "1", "-W", "3", ip_a])
    assert r.exit_code == 0, r.output
    r = a.exec_run(["ping", "-c", "1", "-W", "3", ip_b])
    assert r.exit_code == 0, r.output


def test_container_reaches_server_on_gateway(client):
    _, gateway = bridge_of(client)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((gateway, 0))
    srv.listen(1)
    srv.settimeout(20)
    port = srv.getsockname()[1]
    got = {}

    def serve():
        try:
            conn, peer = srv.accept()
            got["peer"] = peer[0]
            conn.sendall(b"hello-from-the-host\n")
            conn.close()
        except OSError as e:
            got["error"] = e

    t = threading.Thread(target=serve)
    t.start()
    try:
        out = client.containers.run("busybox", ["sh", "-c", f"nc {gateway} {port} </dev/null"], remove=True)
    finally:
        t.join(timeout=30)
        srv.close()
    assert out == b"hello-from-the-host\n"
    assert got["peer"].startswith("172.17.")


def test_outgoing_nat_to_a_fake_outside_host(client, session_dir):
    """A namespace of the test's own stands for the outside world, behind a veth: a container's
    connection reaches it with the host's address as its source (masquerade)."""
    outside = "berthout"
    srv_py = os.path.join(session_dir, "outside_server.py")
    with open(srv_py, "w") as f:
        f.write("import socket\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('198.51.100.2', 7777)); s.listen(1); s.settimeout(30); print('ready', flush=True)\n"
                "c, peer = s.accept(); c.sendall(('peer=' + peer[0] + '\\n').encode()); c.close()\n")
    ip("netns", "add", outside)
    try:
        ip("link", "add", "berthout0", "type", "veth", "peer", "name", "eth0", "netns", outside)
        ip("addr", "add", "198.51.100.1/24", "dev", "berthout0")
        ip("link", "set", "berthout0", "up")
        ip("-n", outside, "addr", "add", "198.51.100.2/24", "dev", "eth0")
        ip("-n", outside, "link", "set", "eth0", "up")
        ip("-n", outside, "link", "set", "lo", "up")
        srv = subprocess.Popen(["ip", "netns", "exec", outside, "/usr/bin/python3", srv_py], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        try:
            assert srv.stdout.readline().strip() == "ready", srv.stderr.read()
            out = client.containers.run("busybox", ["sh", "-c", "nc 198.51.100.2 7777 </dev/null"], remove=True)
            assert out == b"peer=198.51.100.1\n"
        finally:
            srv.kill()
            srv.wait()
    finally:
        subprocess.run(["ip", "link", "del", "berthout0"], capture_output=True)
        subprocess.run(["ip", "netns", "del", outside], capture_output=True)


def test_published_port(client, daemon):
    _, gateway = bridge_of(client)
    r = daemon.cli("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c", HTTPD.format("web"))
    assert r.returncode == 0, r.stderr
    assert wait_fetch("http://127.0.0.1:8080/", "httpd on 127.0.0.1:8080") == "hello-from-web\n"
    assert fetch(f"http://{gateway}:8080/") == "hello-from-web\n"
    c = client.containers.get("web")
    assert c.attrs["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    assert daemon.cli("port", "web", check=True).stdout.decode().strip() == "80/tcp -> 0.0.0.0:8080"
    ps = daemon.cli("ps", "--format", "{{.Ports}}", check=True).stdout.decode()
    assert "0.0.0.0:8080->80/tcp" in ps
    assert f'comment "{c.id}"' in nft_table()
    # From another container, through the host's address (hairpin).
    out = client.containers.run("busybox", ["wget", "-q", "-O", "-", f"http://{gateway}:8080/"], remove=True)
    assert out == b"hello-from-web\n"
    # The CLI's ip:host:container form.
    r = daemon.cli("run", "-d", "--name", "weblo", "-p", "127.0.0.1:8082:80", "busybox", "sh", "-c", HTTPD.format("cli"))
    assert r.returncode == 0, r.stderr
    assert wait_fetch("http://127.0.0.1:8082/", "httpd on 127.0.0.1:8082") == "hello-from-cli\n"
    assert daemon.cli("port", "weblo", check=True).stdout.decode().strip() == "80/tcp -> 127.0.0.1:8082"
    # Bound to one address: reachable there only.
    d = httpd(client, "lo", ports={"80/tcp": ("127.0.0.1", 8081)})
    assert wait_fetch("http://127.0.0.1:8081/", "httpd on 127.0.0.1:8081") == "hello-from-lo\n"
    with pytest.raises(OSError):
        fetch(f"http://{gateway}:8081/", timeout=1)
    assert d.attrs["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"}]}


def test_publish_all_ports(client, daemon):
    r = daemon.cli("run", "-d", "--name", "webp", "-P", "--expose", "80", "--expose", "81/udp", "busybox", "sh", "-c",
                   HTTPD.format("p"))
    assert r.returncode == 0, r.stderr
    ports = client.containers.get("webp").attrs["NetworkSettings"]["Ports"]
    assert set(ports) == {"80/tcp", "81/udp"}
    host_port = int(ports["80/tcp"][0]["HostPort"])
    assert 32768 <= host_port <= 60999 and ports["80/tcp"][0]["HostIp"] == "0.0.0.0"
    assert 32768 <= int(ports["81/udp"][0]["HostPort"]) <= 60999
    out = daemon.cli("port", "webp", "80/tcp", check=True).stdout.decode().strip()
    assert out == f"0.0.0.0:{host_port}"
    assert wait_fetch(f"http://127.0.0.1:{host_port}/", "httpd on the picked port") == "hello-from-p\n"
    # An exposed port that is not published shows as null.
    cid = client.api.create_container("busybox", ["sleep", "60"], ports=[90])["Id"]
    client.api.start(cid)
    assert client.api.inspect_container(cid)["NetworkSettings"]["Ports"] == {"90/tcp": None}


def test_stop_frees_address_and_rules(client):
    c = httpd(client, "s", ports={"80/tcp": 8085})
    ip = c.attrs["NetworkSettings"]["IPAddress"]
    netns = c.attrs["NetworkSettings"]["SandboxKey"]
    assert os.path.exists(netns)
    assert c.id in nft_table()
    # The daemon holds the published port: no host process takes it meanwhile.
    assert not can_listen(8085)
    c.stop(timeout=1)
    assert can_listen(8085)
    c.reload()
    assert c.attrs["NetworkSettings"]["IPAddress"] == "" and c.attrs["NetworkSettings"]["Ports"] == {}
    assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    assert c.id not in nft_table()
    assert not os.path.exists(netns)
    assert c.id not in client.api.inspect_network("bridge")["Containers"]
    # Docker's network events for it: connect at start, disconnect at stop.
    events = [json.loads(line) for line in client.api.events(since=0, until=int(time.time()) + 1,
                                                              filters={"type": "network"})]
    mine = [(ev["Action"], ev["Actor"]["ID"]) for ev in events if ev["Actor"]["Attributes"].get("container") == c.id]
    bridge_id = client.api.inspect_network("bridge")["Id"]
    assert mine == [("connect", bridge_id), ("disconnect", bridge_id)]
    # Its address is free again: the next container gets it (the lowest free one).
    d = up(client.containers.run("busybox", ["sleep", "60"], detach=True))
    assert d.attrs["NetworkSettings"]["IPAddress"] == ip
    # A restart gets an address and its port again.
    d.remove(force=True)
    c.start()
    c.reload()
    assert c.attrs["NetworkSettings"]["IPAddress"] == ip
    assert wait_fetch("http://127.0.0.1:8085/", "httpd after a restart") == "hello-from-s\n"


def test_bad_port_specs(client):
    for ports, words in [({"abc/tcp": 8080}, 'invalid port specification: "abc"'),
                         ({"80/xyz": 8080}, "invalid proto: xyz"),
                         ({"0/tcp": 8080}, 'invalid port specification: "0"'),
                         ({"80/tcp": 99999}, 'invalid port specification: "99999"'),
                         ({"80/tcp": ("not-an-ip", 8080)}, "invalid IP address: not-an-ip")]:
        status, msg = api_error(client.containers.create, "busybox", "true", ports=ports)
        assert status == 400 and words in msg, (ports, msg)
    # A range of container ports needs a host range of the same size.
    status, msg = api_error(client.api.create_container, "busybox", "true", host_config=client.api.create_host_config(
        port_bindings={"80-81/tcp": [{"HostIp": "", "HostPort": "9000-9002"}]}))
    assert status == 400 and "Invalid ranges specified for container and host Ports" in msg
    assert client.containers.list(all=True) == []


def test_taken_host_port(client):
    a = httpd(client, "a", ports={"80/tcp": 8090})
    b = client.containers.create("busybox", ["sh", "-c", HTTPD.format("b")], ports={"80/tcp": 8090}, name="second")
    status, msg = api_error(b.start)
    assert status == 500
    assert re.fullmatch(r"driver failed programming external connectivity on endpoint second \([0-9a-f]{64}\): "
                        r"Bind for 0\.0\.0\.0:8090 failed: port is already allocated", msg), msg
    b.reload()
    assert b.status == "created" and b.attrs["NetworkSettings"]["IPAddress"] == ""
    assert b.attrs["State"]["Error"] == msg and b.attrs["State"]["ExitCode"] == 128
    # Nothing of it stayed behind, and the first one still serves.
    assert b.id not in nft_table()
    assert wait_fetch("http://127.0.0.1:8090/", "the first httpd") == "hello-from-a\n"
    # A port a host process holds.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8091))
    s.listen(1)
    try:
        c = client.containers.create("busybox", ["sleep", "60"], ports={"80/tcp": 8091})
        status, msg = api_error(c.start)
        assert status == 500 and "failed to bind host port for 0.0.0.0:8091:" in msg and "address already in use" in msg
    finally:
        s.close()
    a.stop(timeout=1)
    b.start()  # the port is free again
    assert wait_fetch("http://127.0.0.1:8090/", "the second httpd") == "hello-from-b\n"


def test_daemon_kill_9_and_restart_keeps_networks_consistent(client, daemon):
    keep = httpd(client, "keep", ports={"80/tcp": 8095})
    dies = httpd(client, "dies", ports={"80/tcp": 8096})
    keep_ip = keep.attrs["NetworkSettings"]["IPAddress"]
    dies_ip = dies.attrs["NetworkSettings"]["IPAddress"]
    dies_pid = dies.attrs["State"]["Pid"]
    dies_netns = dies.attrs["NetworkSettings"]["SandboxKey"]
    wait_fetch("http://127.0.0.1:8096/", "the second httpd")
    daemon.stop(signal.SIGKILL)
    # While no daemon watches, one container dies; the other goes on serving.
    os.kill(dies_pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(dies_pid), what="the container's end")
    assert fetch("http://127.0.0.1:8095/") == "hello-from-keep\n"
    daemon.start()
    c = daemon.client()
    try:
        k = c.containers.get(keep.id)
        assert k.status == "running" and k.attrs["NetworkSettings"]["IPAddress"] == keep_ip
        assert k.attrs["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8095"}]}
        assert not can_listen(8095)
        d = c.containers.get(dies.id)
        wait_until(lambda: d.reload() or d.status == "exited", what="the dead one seen exited")
        table = nft_table()
        assert keep.id in table and dies.id not in table
        assert not os.path.exists(dies_netns)
        assert fetch("http://127.0.0.1:8095/") == "hello-from-keep\n"
        # The dead one's address and port are free; the running one's are not.
        n = httpd(c, "new", ports={"80/tcp": 8096})
        assert n.attrs["NetworkSettings"]["IPAddress"] == dies_ip
        assert wait_fetch("http://127.0.0.1:8096/", "the new httpd") == "hello-from-new\n"
        status, _ = api_error(c.containers.run, "busybox", "true", detach=True, ports={"80/tcp": 8095})
        assert status == 500
    finally:
        c.close()


# ---------- the bridge's address ----------

def test_bip_and_address_pools(session_dir, cgroup_parent):
    # --bip on a bridge of another name (its own nftables table).
    d = Daemon(session_dir, cgroup_parent, "bip")
    try:
        d.start("--bridge", "berthtest1", "--bip", "10.123.0.1/24")
        load_busybox(d, session_dir)
        c = d.client()
        net = c.api.inspect_network("bridge")
        assert net["IPAM"]["Config"] == [{"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.1"}]
        assert net["Options"]["com.docker.network.bridge.name"] == "berthtest1"
        ct = up(c.containers.run("busybox", ["sleep", "60"], detach=True, ports={"80/tcp": 8099}))
        assert ct.attrs["NetworkSettings"]["IPAddress"] == "10.123.0.2"
        assert ct.attrs["NetworkSettings"]["IPPrefixLen"] == 24
        assert ct.id in nft_table("berth_berthtest1")
        assert ct.id not in nft_table("berth", must=False)
        c.close()
    finally:
        assert d.cleanup() == 0, d.read_log()
    # The same from daemon.json.
    d = Daemon(session_dir, cgroup_parent, "json")
    try:
        with open(os.path.join(d.dir, "daemon.json"), "w") as f:
            json.dump({"bridge": "berthtest4", "bip": "10.124.0.1/24", "mtu": 1500}, f)
        d.start()
        net = d.client().api.inspect_network("bridge")
        assert net["IPAM"]["Config"] == [{"Subnet": "10.124.0.0/24", "Gateway": "10.124.0.1"}]
        assert net["Options"]["com.docker.network.bridge.name"] == "berthtest4"
        assert net["Options"]["com.docker.network.driver.mtu"] == "1500" and link_mtu("berthtest4") == 1500
    finally:
        assert d.cleanup() == 0, d.read_log()
    # Routes on the host take subnets out of the pools: the next free one is chosen.
    ip("link", "add", "berthdummy1", "type", "veth", "peer", "name", "berthdummy2")
    ip("addr", "add", "10.200.0.1/16", "dev", "berthdummy1")
    ip("link", "set", "berthdummy1", "up")
    d = Daemon(session_dir, cgroup_parent, "pool")
    try:
        d.start("--bridge", "berthtest2", "--default-address-pool", "base=10.200.0.0/15,size=16")
        net = d.client().api.inspect_network("bridge")
        assert net["IPAM"]["Config"] == [{"Subnet": "10.201.0.0/16", "Gateway": "10.201.0.1"}]
    finally:
        assert d.cleanup() == 0, d.read_log()
    # A --bip that collides with a route is refused, with the reason.
    subprocess.run(["ip", "link", "del", "berthtest2"], capture_output=True)
    d = Daemon(session_dir, cgroup_parent, "clash")
    try:
        with pytest.raises(AssertionError, match="overlaps with the host's route to 10.200.0.0/16"):
            d.start("--bridge", "berthtest3", "--bip", "10.200.5.1/24")
    finally:
        d.proc = None
        ip("link", "del", "berthdummy1")
        for br in ("berthtest1", "berthtest2", "berthtest3", "berthtest4"):
            subprocess.run(["ip", "link", "del", br], capture_output=True)
            subprocess.run(["nft", "delete", "table", "ip", "berth_" + br], capture_output=True)
