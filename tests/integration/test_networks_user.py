"""User networks as Docker has them: created with their own bridge and subnet (given or taken from
the pools), listed with filters, inspected in Docker's shape, removed and pruned, kept in berth.db
and made again after a kill -9; containers on them by --network, connect and disconnect, isolated
from other networks, finding each other by name and alias through the embedded DNS server. Every
test runs in the test run's own network namespace: traffic goes only to loopback and to the
containers made here."""

import json
import re
import signal
import subprocess

import docker
import pytest

from conftest import wait_until
from daemon_util import busybox_daemon

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def daemon(session_dir, cgroup_parent):
    yield from busybox_daemon(session_dir, cgroup_parent, "u")


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    for ct in c.containers.list(all=True):
        ct.remove(force=True)
    for n in c.networks.list():
        if n.name not in ("bridge", "host", "none"):
            n.remove()
    c.close()


def api_error(fn, *args, **kw):
    with pytest.raises(docker.errors.APIError) as ei:
        fn(*args, **kw)
    return ei.value.status_code, ei.value.explanation


def links():
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    return [line.split(":")[1].strip().split("@")[0] for line in r.stdout.splitlines()]


def addrs(dev):
    r = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", dev], capture_output=True, text=True, check=True)
    return [line.split()[3] for line in r.stdout.splitlines()]


def nft_table():
    r = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True, check=True)
    return r.stdout


def bridge_name(net_id):
    return "br-" + net_id[:12]


# ---------- the network objects ----------

def test_create_inspect_list_remove(client, daemon):
    api = client.api
    res = api.create_network("front", driver="bridge", labels={"tier": "web"},
                             ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
                                 subnet="10.77.0.0/24", gateway="10.77.0.254", iprange="10.77.0.128/25")]))
    assert HEX64.match(res["Id"]) and res["Warning"] == ""
    net = api.inspect_network("front")
    assert net["Name"] == "front" and net["Id"] == res["Id"] and net["Driver"] == "bridge"
    assert net["Scope"] == "local" and net["Internal"] is False and net["EnableIPv6"] is False
    assert net["IPAM"]["Driver"] == "default"
    assert net["IPAM"]["Config"] == [{"Subnet": "10.77.0.0/24", "Gateway": "10.77.0.254", "IPRange": "10.77.0.128/25"}]
    assert net["Labels"] == {"tier": "web"} and net["Containers"] == {} and net["Options"] == {}
    assert api.inspect_network(res["Id"][:10])["Name"] == "front"
    # Its own bridge, with the gateway's address, and its rules in berth's table.
    br = bridge_name(res["Id"])
    assert br in links() and addrs(br) == ["10.77.0.254/24"]
    table = nft_table()
    assert f'oifname != "{br}" ip saddr 10.77.0.0/24 masquerade' in table
    # A subnet from the pools when none is given; internal; listed with filters.
    back = api.create_network("back", internal=True, labels={"tier": "db"})
    bnet = api.inspect_network(back["Id"])
    sub = bnet["IPAM"]["Config"][0]["Subnet"]
    assert sub.startswith("172.") and sub != "172.17.0.0/16" and bnet["Internal"] is True
    assert f'saddr {sub} masquerade' not in nft_table().replace("ct status dnat masquerade", "")
    names = lambda **kw: sorted(n["Name"] for n in api.networks(**kw))
    assert names() == ["back", "bridge", "front", "host", "none"]
    assert names(filters={"type": "custom"}) == ["back", "front"]
    assert names(filters={"type": "builtin"}) == ["bridge", "host", "none"]
    assert names(filters={"label": "tier=db"}) == ["back"]
    assert names(filters={"label": "tier"}) == ["back", "front"]
    assert names(filters={"label": ["tier", "tier=db"]}) == ["back"]  # every label filter must hold
    assert names(names=["fro"]) == ["front"]
    assert names(ids=[back["Id"][:8]]) == ["back"]
    assert names(filters={"driver": "bridge"}) == ["back", "bridge", "front"]
    assert names(filters={"dangling": "true"}) == ["back", "front"]
    # The docker CLI.
    api.remove_network(api.create_network("x")["Id"])  # one character is a name
    r = daemon.cli("network", "create", "--subnet", "10.78.0.0/16", "cli-net", check=True)
    cli_id = r.stdout.decode().strip()
    r = daemon.cli("network", "inspect", "-f", "{{.Name}} {{(index .IPAM.Config 0).Subnet}}", "cli-net", check=True)
    assert r.stdout.decode().strip() == "cli-net 10.78.0.0/16"
    daemon.cli("network", "rm", "cli-net", check=True)
    assert bridge_name(cli_id) not in links()
    # Remove: bridge and rules gone.
    api.remove_network("front")
    assert br not in links() and "10.77.0.0/24" not in nft_table()
    status, msg = api_error(api.inspect_network, "front")
    assert status == 404 and "network front not found" in msg


def test_create_errors_change_nothing(client, daemon):
    api = client.api
    api.create_network("one", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.80.0.0/16")]))
    before_links, before_table = links(), nft_table()
    before = sorted(n["Id"] for n in api.networks())
    cases = [
        (dict(name="one"), 409, "network with name one already exists"),
        (dict(name="bridge"), 409, "network with name bridge already exists"),
        (dict(name="two", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.80.5.0/24")])),
         403, "Pool overlaps with other one on this address space"),
        (dict(name="two", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="172.17.0.0/24")])),
         403, "Pool overlaps with other one on this address space"),
        (dict(name="two", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.81.0.0/16",
                                                                                            gateway="10.82.0.1")])),
         400, "no matching subnet for gateway 10.82.0.1"),
        (dict(name="two", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.81.0.0/33")])),
         400, "invalid subnet"),
        (dict(name="two", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.81.0.1/16")])),
         400, "invalid subnet 10.81.0.1/16 : it should be 10.81.0.0/16"),
        (dict(name="two", driver="overlay"), 501, "network driver overlay is not supported"),
        (dict(name="bad name!"), 400, "invalid network name"),
    ]
    for kw, status, words in cases:
        got, msg = api_error(api.create_network, **kw)
        assert (got, words) == (status, words) and words in msg, (kw, got, msg)
    # A route of the host is refused too.
    subprocess.run(["ip", "link", "add", "dummy-u", "type", "veth", "peer", "name", "dummy-v"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "10.90.1.1/24", "dev", "dummy-u"], check=True)
        subprocess.run(["ip", "link", "set", "dummy-u", "up"], check=True)
        got, msg = api_error(api.create_network, "two",
                             ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.90.0.0/16")]))
        assert got == 403 and "host's route to 10.90.1.0/24" in msg
    finally:
        subprocess.run(["ip", "link", "del", "dummy-u"], check=True)
    assert sorted(n["Id"] for n in api.networks()) == before
    assert links() == before_links and nft_table() == before_table
    status, msg = api_error(api.remove_network, "nosuch")
    assert status == 404 and "network nosuch not found" in msg
    status, msg = api_error(api.remove_network, "none")
    assert status == 403 and "pre-defined" in msg


def test_prune(client):
    api = client.api
    api.create_network("keep", labels={"keep": "1"})
    api.create_network("drop1")
    api.create_network("drop2")
    out = api.prune_networks(filters={"label!": "keep"})
    assert sorted(out["NetworksDeleted"]) == ["drop1", "drop2"]
    assert sorted(n["Name"] for n in api.networks(filters={"type": "custom"})) == ["keep"]
    assert api.prune_networks() == {"NetworksDeleted": ["keep"]}
    assert api.prune_networks() == {"NetworksDeleted": None}


def test_networks_survive_kill_9(client, daemon):
    api = client.api
    net = api.create_network("lasting", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.83.0.0/24")]))
    br = bridge_name(net["Id"])
    daemon.stop(signal.SIGKILL)
    # The bridge gone meanwhile (as after a reboot): the next start makes it again.
    subprocess.run(["ip", "link", "del", br], check=True)
    daemon.start()
    c = daemon.client()
    assert c.api.inspect_network("lasting")["Id"] == net["Id"]
    assert br in links() and addrs(br) == ["10.83.0.1/24"]
    assert "10.83.0.0/24" in nft_table()
    c.close()


# ---------- containers on user networks ----------

def run(client, net, name, **kw):
    c = client.containers.run("busybox", ["sleep", "300"], name=name, network=net, detach=True, **kw)
    c.reload()
    return c


def net_ip(c, net):
    c.reload()
    return c.attrs["NetworkSettings"]["Networks"][net]["IPAddress"]


def test_mtu_option(client):
    """com.docker.network.driver.mtu sets the network's bridge and veths; without it, the daemon's (65535)."""
    api = client.api
    mtu_of = "cat /sys/class/net/eth0/mtu"
    api.create_network("small", options={"com.docker.network.driver.mtu": "1400"})
    api.create_network("plain")
    for net, want in (("small", "1400"), ("plain", "65535")):
        c = run(client, net, "mtu-" + net)
        assert c.exec_run(["sh", "-c", mtu_of]).output.decode().strip() == want
        br = bridge_name(api.inspect_network(net)["Id"])
        r = subprocess.run(["ip", "-o", "link", "show", "dev", br], capture_output=True, text=True, check=True)
        assert f" mtu {want} " in r.stdout
    before = sorted(n["Id"] for n in api.networks())
    for bad in ("abc", "20", "70000", ""):
        status, msg = api_error(api.create_network, "bad", options={"com.docker.network.driver.mtu": bad})
        assert status == 400 and "invalid MTU" in msg, (bad, msg)
    assert sorted(n["Id"] for n in api.networks()) == before


def test_containers_on_a_user_network(client, daemon):
    api = client.api
    net = api.create_network("app", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.84.0.0/24")]))
    a = run(client, "app", "ua")
    ns = a.attrs["NetworkSettings"]
    ep = ns["Networks"]["app"]
    assert list(ns["Networks"]) == ["app"] and ns["IPAddress"] == ""
    assert ep["NetworkID"] == net["Id"] and HEX64.match(ep["EndpointID"])
    assert ep["IPAddress"] == "10.84.0.2" and ep["Gateway"] == "10.84.0.1" and ep["IPPrefixLen"] == 24
    assert ep["MacAddress"] == "02:42:0a:54:00:02"
    assert ep["DNSNames"] == ["ua", a.id[:12]]
    out = a.exec_run(["sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts"]).output.decode()
    assert "inet 10.84.0.2/24" in out and "default via 10.84.0.1 dev eth0" in out
    assert f"10.84.0.2\t{a.attrs['Config']['Hostname']}" in out
    # A fixed address and aliases through NetworkingConfig (the docker CLI's --ip, --network-alias).
    r = daemon.cli("run", "-d", "--name", "ub", "--network", "app", "--ip", "10.84.0.50", "--network-alias", "web",
                   "busybox", "sleep", "300", check=True)
    b = client.containers.get("ub")
    assert net_ip(b, "app") == "10.84.0.50"
    assert b.attrs["NetworkSettings"]["Networks"]["app"]["Aliases"] == ["web"]
    assert a.exec_run(["ping", "-c", "1", "-W", "3", "10.84.0.50"]).exit_code == 0
    # The network lists both.
    inspected = api.inspect_network("app")["Containers"]
    assert inspected[a.id]["IPv4Address"] == "10.84.0.2/24" and inspected[b.id]["Name"] == "ub"
    # In use: 403, nothing changes.
    status, msg = api_error(api.remove_network, "app")
    assert status == 403 and "has active endpoints" in msg
    assert net_ip(a, "app") == "10.84.0.2"
    # The same fixed address again: refused at start, the container stays created.
    c = client.containers.get(api.create_container(
        "busybox", ["sleep", "300"], name="uc",
        networking_config=api.create_networking_config({"app": api.create_endpoint_config(ipv4_address="10.84.0.50")}),
        host_config=api.create_host_config(network_mode="app"))["Id"])
    status, msg = api_error(c.start)
    assert "Address already in use" in msg
    c.reload()
    assert c.status == "created"
    # Stopped: no address; the network keeps it for the next start.
    b.stop(timeout=1)
    b.reload()
    assert b.attrs["NetworkSettings"]["Networks"]["app"]["IPAddress"] == ""
    assert b.id not in api.inspect_network("app")["Containers"]
    b.start()
    assert net_ip(b, "app") == "10.84.0.50"
    # Bad input at create: Docker's words, nothing made.
    status, msg = api_error(client.containers.create, "busybox", "true", network="nosuch")
    assert status == 404 and "network nosuch not found" in msg
    status, msg = api_error(api.create_container, "busybox", "true", host_config=api.create_host_config(network_mode="app"),
                            networking_config=api.create_networking_config(
                                {"app": api.create_endpoint_config(ipv4_address="10.99.0.5")}))
    assert status == 400 and "no configured subnet or ip-range contain the IP address 10.99.0.5" in msg
    status, msg = api_error(api.create_container, "busybox", "true",
                            networking_config=api.create_networking_config(
                                {"bridge": api.create_endpoint_config(aliases=["x"])}))
    assert status == 400 and "network-scoped alias is supported only for containers in user defined networks" in msg


def test_published_port_and_internal_network(client, daemon):
    import urllib.request
    api = client.api
    api.create_network("pub", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.92.0.0/24")]))
    client.containers.run("busybox", ["sh", "-c", HTTPD.format("pub")], name="pubweb", network="pub",
                          ports={"80/tcp": ("127.0.0.1", 18080)}, detach=True)

    def fetch():
        try:
            with urllib.request.urlopen("http://127.0.0.1:18080/", timeout=1) as r:
                return r.read().decode().strip()
        except OSError:
            return None
    assert wait_until(fetch, timeout=15, what="the published port") == "hello-from-pub"
    r = daemon.cli("port", "pubweb", check=True)
    assert r.stdout.decode().strip() == "80/tcp -> 127.0.0.1:18080"
    # Internal: no default route, nothing leaves its bridge; its members still reach each other.
    api.create_network("closed", internal=True,
                       ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.92.1.0/24")]))
    a = run(client, "closed", "closed1", cap_add=["NET_ADMIN"])
    b = run(client, "closed", "closed2")
    routes = a.exec_run(["ip", "route"]).output.decode()
    assert "default" not in routes and "10.92.1.0/24 dev eth0" in routes
    assert a.exec_run(["ping", "-c", "1", "-W", "2", net_ip(b, "closed")]).exit_code == 0
    assert a.exec_run(["ping", "-c", "1", "-W", "2", "closed2"]).exit_code == 0
    pub_ip = net_ip(client.containers.get("pubweb"), "pub")
    # Even with a route of its own, the rules drop what leaves the internal network's bridge.
    assert a.exec_run(["ip", "route", "add", "default", "via", "10.92.1.1"]).exit_code == 0
    assert a.exec_run(["ping", "-c", "1", "-W", "2", pub_ip]).exit_code != 0
    assert a.exec_run(["ping", "-c", "1", "-W", "2", "10.92.1.1"]).exit_code == 0


def test_two_networks_are_isolated(client):
    api = client.api
    api.create_network("iso1", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.85.1.0/24")]))
    api.create_network("iso2", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.85.2.0/24")]))
    a1 = run(client, "iso1", "i1a")
    a2 = run(client, "iso1", "i1b")
    b1 = run(client, "iso2", "i2a")
    d = client.containers.run("busybox", ["sleep", "300"], detach=True)
    d.reload()
    ip_a2, ip_b1 = net_ip(a2, "iso1"), net_ip(b1, "iso2")
    assert a1.exec_run(["ping", "-c", "1", "-W", "2", ip_a2]).exit_code == 0
    assert a1.exec_run(["ping", "-c", "1", "-W", "2", ip_b1]).exit_code != 0
    assert b1.exec_run(["ping", "-c", "1", "-W", "2", ip_a2]).exit_code != 0
    # The default bridge is isolated from them too.
    assert d.exec_run(["ping", "-c", "1", "-W", "2", ip_a2]).exit_code != 0
    # Both still reach their gateway (the host).
    assert b1.exec_run(["ping", "-c", "1", "-W", "2", "10.85.2.1"]).exit_code == 0


def test_connect_and_disconnect(client, daemon):
    api = client.api
    api.create_network("cn1", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.86.1.0/24")]))
    api.create_network("cn2", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.86.2.0/24")]))
    a = run(client, "cn1", "ca")
    b = run(client, "cn2", "cb")
    ip_b = net_ip(b, "cn2")
    assert a.exec_run(["ping", "-c", "1", "-W", "2", ip_b]).exit_code != 0
    # Connect the running container: eth1 on cn2 at once.
    api.connect_container_to_network(a.id, "cn2", aliases=["extra"])
    a.reload()
    ep = a.attrs["NetworkSettings"]["Networks"]["cn2"]
    assert ep["IPAddress"].startswith("10.86.2.") and ep["Aliases"] == ["extra"]
    out = a.exec_run(["ip", "-o", "-4", "addr"]).output.decode()
    assert f"eth1    inet {ep['IPAddress']}/24" in out.replace("\\", " ") or f"inet {ep['IPAddress']}/24" in out
    assert a.exec_run(["ping", "-c", "1", "-W", "2", ip_b]).exit_code == 0
    assert a.id in api.inspect_network("cn2")["Containers"]
    # Twice: Docker's 403; an unknown container 404.
    status, msg = api_error(api.connect_container_to_network, a.id, "cn2")
    assert status == 403 and "already exists in network cn2" in msg
    status, msg = api_error(api.connect_container_to_network, "nosuch", "cn2")
    assert status == 404
    status, msg = api_error(api.connect_container_to_network, a.id, "nosuchnet")
    assert status == 404 and "network nosuchnet not found" in msg
    # Disconnect: the interface goes, the lease is free.
    daemon.cli("network", "disconnect", "cn2", "ca", check=True)
    a.reload()
    assert "cn2" not in a.attrs["NetworkSettings"]["Networks"]
    assert "eth1" not in a.exec_run(["ip", "-o", "link"]).output.decode()
    assert a.exec_run(["ping", "-c", "1", "-W", "2", ip_b]).exit_code != 0
    status, msg = api_error(api.disconnect_container_from_network, a.id, "cn2")
    assert status == 403 and "is not connected to network cn2" in msg
    # A stopped container: connected at its next start.
    c = client.containers.create("busybox", ["sleep", "300"], name="cc", network="cn1")
    daemon.cli("network", "connect", "--ip", "10.86.2.77", "cn2", "cc", check=True)
    c.start()
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"]["cn2"]["IPAddress"] == "10.86.2.77"
    assert c.exec_run(["ping", "-c", "1", "-W", "2", ip_b]).exit_code == 0
    # Host-mode containers cannot be connected.
    h = client.containers.create("busybox", "true", network_mode="host")
    status, msg = api_error(api.connect_container_to_network, h.id, "cn1")
    assert status == 403


def test_connect_to_the_default_bridge(client, daemon):
    api = client.api
    api.create_network("cb1", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.86.5.0/24")]))
    plain = client.containers.run("busybox", ["sleep", "300"], detach=True)
    plain.reload()
    ip_plain = plain.attrs["NetworkSettings"]["IPAddress"]
    a = run(client, "cb1", "ba")
    assert a.exec_run(["ping", "-c", "1", "-W", "2", ip_plain]).exit_code != 0
    # Running: an interface on berth0 at once, after its user network's eth0; its default route stays.
    daemon.cli("network", "connect", "bridge", "ba", check=True)
    a.reload()
    ep = a.attrs["NetworkSettings"]["Networks"]["bridge"]
    bridge = api.inspect_network("bridge")
    assert ep["IPAddress"].startswith("172.17.") and ep["NetworkID"] == bridge["Id"] and ep["IPPrefixLen"] == 16
    assert a.attrs["NetworkSettings"]["Networks"]["cb1"]["IPAddress"].startswith("10.86.5.")
    assert bridge["Containers"][a.id]["IPv4Address"] == ep["IPAddress"] + "/16"
    out = a.exec_run(["sh", "-c", "ip -o -4 addr show eth1; ip route"]).output.decode()
    assert f"inet {ep['IPAddress']}/16" in out and "default via 10.86.5.1 dev eth0" in out, out
    assert a.exec_run(["ping", "-c", "1", "-W", "2", ip_plain]).exit_code == 0
    status, msg = api_error(api.connect_container_to_network, a.id, "bridge")
    assert status == 403 and "already exists in network bridge" in msg
    # Disconnect: the interface and the lease go.
    daemon.cli("network", "disconnect", "bridge", "ba", check=True)
    a.reload()
    assert "bridge" not in a.attrs["NetworkSettings"]["Networks"]
    assert "eth1" not in a.exec_run(["ip", "-o", "link"]).output.decode()
    assert a.id not in api.inspect_network("bridge")["Containers"]
    status, msg = api_error(api.disconnect_container_from_network, a.id, "bridge")
    assert status == 403 and "is not connected to network bridge" in msg
    # Stopped: connected at its next start, released at its stop.
    c = client.containers.create("busybox", ["sleep", "300"], name="bc", network="cb1")
    api.connect_container_to_network(c.id, "bridge")
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    c.start()
    c.reload()
    ip_c = c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    assert ip_c.startswith("172.17.") and plain.exec_run(["ping", "-c", "1", "-W", "2", ip_c]).exit_code == 0
    c.stop(timeout=1)
    assert c.id not in api.inspect_network("bridge")["Containers"]
    c.start()
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ip_c
    # none: Docker's 403.
    n = client.containers.create("busybox", "true", network_mode="none")
    status, msg = api_error(api.connect_container_to_network, n.id, "bridge")
    assert status == 403 and "private (none) mode" in msg


def leases(daemon):
    import sqlite3
    db = sqlite3.connect(f"file:{daemon.data_root}/berth.db?mode=ro", uri=True)
    try:
        return sorted(db.execute("SELECT network, address, owner FROM net_leases").fetchall())
    finally:
        db.close()


def host_veths():
    return sorted(name for name in links() if name.startswith("veth"))


def test_kill_9_with_containers_on_three_networks(client, daemon):
    api = client.api
    nets = {}
    for i in range(3):
        nets[f"k{i}"] = api.create_network(f"k{i}", ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=f"10.87.{i}.0/24")]))["Id"]
    ctrs = [run(client, f"k{i % 3}", f"kc{i}", ports={"80/tcp": None}) for i in range(20)]
    api.connect_container_to_network("kc0", "k1", aliases=["zero"])
    victim = ctrs[6]
    before = {}
    for c in ctrs:
        c.reload()
        before[c.name] = {k: v["IPAddress"] for k, v in c.attrs["NetworkSettings"]["Networks"].items()}
    assert len(host_veths()) == 21
    # kill -9 the daemon; one container dies while no daemon watches.
    daemon.stop(signal.SIGKILL)
    import os
    os.kill(victim.attrs["State"]["Pid"], signal.SIGKILL)
    daemon.start()
    c2 = daemon.client()
    try:
        wait_until(lambda: c2.containers.get("kc6").status == "exited", timeout=15, what="kc6 to be seen exited")
        for c in ctrs[:6] + ctrs[7:]:
            got = c2.containers.get(c.name)
            assert got.status == "running"
            assert {k: v["IPAddress"] for k, v in got.attrs["NetworkSettings"]["Networks"].items()} == before[c.name]
        # Leases: exactly the running containers' endpoints.
        want = sorted((nets[net], ip, c2.containers.get(name).id)
                      for name, eps in before.items() if name != "kc6" for net, ip in eps.items())
        wait_until(lambda: len(host_veths()) == 20, timeout=15, what="the dead container's veth to go")
        assert leases(daemon) == want
        # Published ports: a rule for each running container, none for the dead one.
        table = nft_table()
        assert victim.id not in table and all(c.id in table for c in ctrs[:6] + ctrs[7:])
        # They still reach each other, and connect/disconnect still work after the restart.
        a = c2.containers.get("kc3")
        assert a.exec_run(["ping", "-c", "1", "-W", "2", before["kc0"]["k0"]]).exit_code == 0
        # Names too: the DNS servers are back in the containers' namespaces; the dead one's name is gone.
        r = a.exec_run(["nslookup", "kc0", "127.0.0.11"])
        assert r.exit_code == 0 and before["kc0"]["k0"] in r.output.decode(), r.output
        r = c2.containers.get("kc4").exec_run(["nslookup", "zero", "127.0.0.11"])
        assert r.exit_code == 0 and before["kc0"]["k1"] in r.output.decode(), r.output
        assert a.exec_run(["nslookup", "kc6", "127.0.0.11"]).exit_code != 0
        c2.api.disconnect_container_from_network("kc0", "k1")
        assert len(host_veths()) == 19
        assert c2.containers.get("kc4").exec_run(["nslookup", "zero", "127.0.0.11"]).exit_code != 0
    finally:
        c2.close()


# ---------- names: the embedded DNS ----------

HTTPD = "mkdir -p /www && echo hello-from-{} > /www/index.html && exec httpd -f -p 80 -h /www"


class FakeUpstream:
    """A name server on 127.0.0.1:53 of the test's namespace that answers every A query with
    192.0.2.7: the 'host's resolver' the embedded server forwards to."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        self.sock.settimeout(0.2)
        self.queries = []
        self.done = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import struct
        while not self.done:
            try:
                q, addr = self.sock.recvfrom(512)
            except OSError:
                continue
            end = 12
            while q[end] != 0:
                end += q[end] + 1
            question = q[12:end + 5]
            name = []
            i = 12
            while q[i]:
                name.append(q[i + 1:i + 1 + q[i]].decode())
                i += q[i] + 1
            self.queries.append(".".join(name))
            header = q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0)
            answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
            self.sock.sendto(header + question + answer, addr)

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


def test_names_on_a_user_network(client, daemon):
    api = client.api
    api.create_network("dnsnet", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.88.0.0/24")]))
    web = client.containers.run("busybox", ["sh", "-c", HTTPD.format("web")], name="web", detach=True,
                                network="dnsnet")
    daemon.cli("run", "-d", "--name", "api1", "--network", "dnsnet", "--network-alias", "backend",
               "--dns-search", "example.test", "--dns-option", "timeout:1", "busybox", "sleep", "300", check=True)
    cli = client.containers.get("api1")
    web_ip = net_ip(web, "dnsnet")
    cli_ip = net_ip(cli, "dnsnet")
    resolv = cli.exec_run(["cat", "/etc/resolv.conf"]).output.decode()
    assert resolv.splitlines()[0] == "nameserver 127.0.0.11"
    assert resolv.splitlines()[1:] == ["search example.test", "options ndots:0 timeout:1"]
    # By name, alias and short ID; PTR back to the name.
    for name, ip in (("web", web_ip), ("backend", cli_ip), ("api1", cli_ip), (web.id[:12], web_ip)):
        r = cli.exec_run(["nslookup", name, "127.0.0.11"])
        out = r.output.decode()
        assert r.exit_code == 0 and f"Address: {ip}" in out.replace("Address 1: ", "Address: "), (name, out)
    r = web.exec_run(["nslookup", cli_ip])
    assert r.exit_code == 0 and "api1" in r.output.decode(), r.output
    # AAAA of a name it knows: an empty NOERROR answer (no IPv6 address), never NXDOMAIN or an outside answer.
    r = cli.exec_run(["nslookup", "-type=AAAA", "web", "127.0.0.11"])
    out = r.output.decode()
    assert r.exit_code == 0 and "can't find" not in out and "Address" not in out.split("127.0.0.11")[-1], out
    # By the container's own resolver (resolv.conf): ping by name and alias. Busybox's static
    # wget crashes in glibc's getaddrinfo without NSS modules, so it fetches from the address
    # nslookup gives.
    assert cli.exec_run(["ping", "-c", "1", "-W", "2", "backend"]).exit_code == 0
    assert web.exec_run(["ping", "-c", "1", "-W", "2", "api1"]).exit_code == 0
    fetch = "wget -q -O - http://$(nslookup web 127.0.0.11 | awk '/^Address: /{print $2}' | tail -n 1)/"
    wait_until(lambda: cli.exec_run(["sh", "-c", fetch]).output.decode().strip() == "hello-from-web",
               timeout=15, what="wget from web")
    # Another network's names are not visible; a name of nobody goes to the upstream servers.
    api.create_network("othernet", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.88.1.0/24")]))
    other = run(client, "othernet", "other")
    assert other.exec_run(["nslookup", "web", "127.0.0.11"]).exit_code != 0
    # The default bridge keeps today's behaviour: no names.
    plain = client.containers.run("busybox", ["sleep", "300"], detach=True)
    assert "127.0.0.11" not in plain.exec_run(["cat", "/etc/resolv.conf"]).output.decode()
    # A stopped container's name goes; it comes back with its start.
    web.stop(timeout=1)
    assert cli.exec_run(["nslookup", "web", "127.0.0.11"]).exit_code != 0
    web.start()
    web_ip = net_ip(web, "dnsnet")
    r = cli.exec_run(["nslookup", "web", "127.0.0.11"])
    assert r.exit_code == 0 and web_ip in r.output.decode()
    # A rename: the new name answers, the old one no more.
    cli.rename("api2")
    assert web.exec_run(["nslookup", "api2", "127.0.0.11"]).exit_code == 0
    assert web.exec_run(["nslookup", "api1", "127.0.0.11"]).exit_code != 0
    # Connect gives the names of the new network, disconnect takes them away.
    api.connect_container_to_network("other", "dnsnet", aliases=["late"])
    assert cli.exec_run(["nslookup", "late", "127.0.0.11"]).exit_code == 0
    assert other.exec_run(["nslookup", "web", "127.0.0.11"]).exit_code == 0
    api.disconnect_container_from_network("other", "dnsnet")
    assert cli.exec_run(["nslookup", "late", "127.0.0.11"]).exit_code != 0


def test_forwarding_to_upstream(client, daemon):
    api = client.api
    api.create_network("fwd", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.89.0.0/24")]))
    up = FakeUpstream()
    try:
        c = client.containers.run("busybox", ["sleep", "300"], name="asker", network="fwd", dns=["127.0.0.1"],
                                  detach=True)
        r = c.exec_run(["nslookup", "outside.example", "127.0.0.11"])
        assert r.exit_code == 0 and "192.0.2.7" in r.output.decode(), r.output
        assert "outside.example" in up.queries
        # Names of the network never go out.
        n = len(up.queries)
        assert c.exec_run(["nslookup", "asker", "127.0.0.11"]).exit_code == 0
        assert all(not q.startswith("asker") for q in up.queries[n:])
        # A container on internal networks only: its names answer, nothing is forwarded.
        api.create_network("fwd-int", internal=True,
                           ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.89.1.0/24")]))
        i = client.containers.run("busybox", ["sleep", "300"], name="inner", network="fwd-int", dns=["127.0.0.1"],
                                  detach=True)
        n = len(up.queries)
        assert i.exec_run(["nslookup", "inner", "127.0.0.11"]).exit_code == 0
        assert i.exec_run(["nslookup", "other.example", "127.0.0.11"]).exit_code != 0
        assert up.queries[n:] == []
    finally:
        up.close()
    # No upstream answering: SERVFAIL, quickly.
    r = c.exec_run(["nslookup", "outside.example", "127.0.0.11"])
    assert r.exit_code != 0


# ---------- container:<id>, --add-host, --link ----------

def test_container_network_mode(client, daemon):
    api = client.api
    api.create_network("shared", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.91.0.0/24")]))
    owner = client.containers.run("busybox", ["sh", "-c", HTTPD.format("owner").replace("-p 80", "-p 127.0.0.1:8080")],
                                  name="owner", network="shared", dns_search=["inner.test"], detach=True)
    ip = net_ip(owner, "shared")
    r = daemon.cli("run", "--rm", "--network", "container:owner", "busybox", "sh", "-c",
                   "ip -o -4 addr show eth0; cat /etc/resolv.conf; wget -q -O - http://127.0.0.1:8080/", check=True)
    out = r.stdout.decode()
    assert f"inet {ip}/24" in out and "nameserver 127.0.0.11" in out and "search inner.test" in out
    assert "hello-from-owner" in out
    # Its names are the owner's: the embedded DNS answers inside the shared namespace.
    joiner = client.containers.run("busybox", ["sleep", "300"], network_mode=f"container:{owner.id[:12]}", detach=True)
    joiner.reload()
    assert joiner.attrs["NetworkSettings"]["Networks"] == {}
    assert joiner.exec_run(["nslookup", "owner", "127.0.0.11"]).exit_code == 0
    # Nothing of the owner's network goes with the joiner.
    joiner.remove(force=True)
    assert owner.exec_run(["nslookup", "owner", "127.0.0.11"]).exit_code == 0
    assert net_ip(owner, "shared") == ip
    # A container that is not there, or does not run.
    status, msg = api_error(client.containers.create, "busybox", "true", network_mode="container:nosuch")
    assert status == 404
    stopped = client.containers.create("busybox", ["sleep", "300"], name="stopped")
    c = client.containers.create("busybox", "true", network_mode="container:stopped")
    status, msg = api_error(c.start)
    assert status == 409 and "cannot join network of a non running container: stopped" in msg
    stopped.remove()


def test_add_host_and_links(client, daemon):
    r = daemon.cli("run", "--rm", "--add-host", "db.example:10.1.2.3", "--add-host", "gw:host-gateway", "busybox",
                   "cat", "/etc/hosts", check=True)
    hosts = r.stdout.decode()
    gateway = client.api.inspect_network("bridge")["IPAM"]["Config"][0]["Gateway"]
    assert "10.1.2.3\tdb.example\n" in hosts and f"{gateway}\tgw\n" in hosts
    r = daemon.cli("run", "--rm", "--network", "host", "--add-host", "h.example:10.9.9.9", "busybox", "cat",
                   "/etc/hosts", check=True)
    assert "10.9.9.9\th.example" in r.stdout.decode()
    target = client.containers.run("busybox", ["sleep", "300"], name="linked", detach=True)
    target.reload()
    tip = target.attrs["NetworkSettings"]["IPAddress"]
    r = daemon.cli("run", "--rm", "--link", "linked:db", "busybox", "sh", "-c", "cat /etc/hosts; ping -c 1 -W 2 db",
                   check=True)
    out = r.stdout.decode()
    assert f"{tip}\tdb linked\n" in out and "1 packets received" in out
    status, msg = api_error(client.api.create_container, "busybox", "true",
                            host_config=client.api.create_host_config(links={"nosuch": "db"}))
    assert status == 400 and "could not get container for nosuch" in msg


# ---------- docker-compose ----------

COMPOSE = """version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
  front:
    image: busybox
    command: ["sleep", "300"]
"""


def test_compose_project(client, daemon, tmp_path):
    import os
    import shutil
    exe = shutil.which("docker-compose")
    if not exe:
        pytest.skip("docker-compose is not installed (scripts/install-deps installs it)")
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    env = dict(os.environ, DOCKER_HOST=daemon.host, COMPOSE_INTERACTIVE_NO_CLI="1")

    def compose(*args):
        r = subprocess.run([exe, "-p", "proj", *args], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        assert r.returncode == 0, f"docker-compose {args}: {r.stderr.decode()}"
        return r.stdout.decode()

    compose("up", "-d")
    net = client.api.inspect_network("proj_default")
    assert net["Labels"]["com.docker.compose.project"] == "proj"
    front = client.containers.get("proj_front_1")
    web = client.containers.get("proj_web_1")
    assert set(front.attrs["NetworkSettings"]["Networks"]) == {"proj_default"}
    # The front fetches from the web service by its service name.
    fetch = "wget -q -O - http://$(nslookup web 127.0.0.11 | awk '/^Address: /{print $2}' | tail -n 1)/"
    got = wait_until(lambda: front.exec_run(["sh", "-c", fetch]).output.decode().strip(), timeout=20,
                     what="the front to fetch from web")
    assert got == web.attrs["Config"]["Hostname"]
    assert front.exec_run(["ping", "-c", "1", "-W", "2", "web"]).exit_code == 0
    # Scaled to two: the service name gives both addresses.
    compose("up", "-d", "--scale", "web=2")
    assert client.containers.get("proj_front_1").id == front.id  # only web changed
    ips = sorted(c.attrs["NetworkSettings"]["Networks"]["proj_default"]["IPAddress"]
                 for c in client.containers.list(filters={"label": "com.docker.compose.service=web"}))
    assert len(ips) == 2
    out = front.exec_run(["nslookup", "web", "127.0.0.11"]).output.decode()
    assert all(ip in out for ip in ips), out
    # down: containers and the network gone, with its bridge and rules.
    compose("down")
    assert client.containers.list(all=True, filters={"label": "com.docker.compose.project=proj"}) == []
    assert [n for n in client.api.networks() if n["Name"] == "proj_default"] == []
    assert bridge_name(net["Id"]) not in links() and bridge_name(net["Id"]) not in nft_table()
