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
    assert names(names=["fro"]) == ["front"]
    assert names(ids=[back["Id"][:8]]) == ["back"]
    assert names(filters={"driver": "bridge"}) == ["back", "bridge", "front"]
    assert names(filters={"dangling": "true"}) == ["back", "front"]
    # The docker CLI.
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
