/* The default bridge at daemon start, and a container's place on it from its start to its stop. */
#include "engine/net_attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "engine/events.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

const char *const eng_net_names[ENG_NET_COUNT] = {"bridge", "host", "none"};

int eng_net_mode_network(const char *mode)
{
	if (!mode || !*mode || strcmp(mode, "default") == 0 || strcmp(mode, "bridge") == 0)
		return ENG_NET_BRIDGE;
	if (strcmp(mode, "host") == 0)
		return ENG_NET_HOST;
	if (strcmp(mode, "none") == 0)
		return ENG_NET_NONE;
	return -1;
}

static const char *mode_of(const struct ctr *c)
{
	return json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
}

/* The bridge's address: --bip, else the one it has, else the first pool's subnet no route uses. */
static int choose_address(struct eng_net *n, const struct eng_opts *o, bool exists, berr *e)
{
	struct net_pool *pools = n->pools;
	size_t n_pools = 0;
	for (size_t i = 0; i < o->n_address_pools && n_pools < ENG_NET_MAX_POOLS; i++)
		if (net_pool_parse(o->address_pools[i], &pools[n_pools++], e) < 0)
			return berr_wrap(e, "--default-address-pool");
	if (n_pools == 0)
		n_pools = net_pools_default(pools, ENG_NET_MAX_POOLS);
	n->n_pools = n_pools;
	_cleanup_free_ struct net_subnet *routes = NULL;
	size_t n_routes = 0;
	if (net_routes_list(n->nl, exists ? n->bridge_index : 0, &routes, &n_routes, e) < 0)
		return -1;
	struct net_subnet have[4];
	uint32_t have_ips[4];
	size_t n_have = 0;
	if (exists && net_addr_list(n->nl, n->bridge_index, have, have_ips, 4, &n_have, e) < 0)
		return -1;
	if (o->bip && *o->bip) {
		if (net_cidr_parse(o->bip, &n->gateway, &n->subnet, e) < 0)
			return berr_wrap(e, "--bip");
		if (n->gateway == n->subnet.addr || n->subnet.prefix > 30)
			return berr_invalid(
			    e, "--bip %s: expected the bridge's own address in a subnet, as 172.17.0.1/16", o->bip);
		for (size_t i = 0; i < n_routes; i++) {
			if (net_subnets_overlap(&n->subnet, &routes[i])) {
				char r[24];
				net_subnet_format(&routes[i], r, sizeof r);
				return berr_invalid(e, "--bip %s overlaps with the host's route to %s", o->bip, r);
			}
		}
		return 0;
	}
	if (n_have > 0) {
		n->subnet = have[0];
		n->gateway = have_ips[0];
		return 0;
	}
	if (net_pools_pick(pools, n_pools, routes, n_routes, &n->subnet, e) < 0)
		return berr_wrap(e, "bridge %s", n->bridge);
	n->gateway = n->subnet.addr + 1;
	return 0;
}

int eng_bridge_ensure(struct net_nl *nl, const char *name, uint32_t gateway, int prefix, int mtu, int *index, berr *e)
{
	int r = net_link_index(nl, name, index, e);
	if (r < 0 && e->errnum != ENOENT)
		return -1;
	if (r < 0) {
		berr_clear(e);
		uint8_t mac[6] = {0x02, 0x42};
		if (getrandom(mac + 2, 4, 0) != 4)
			return berr_sys(e, "bridge %s: a MAC address", name);
		if (net_bridge_create(nl, name, mac, e) < 0 || net_link_index(nl, name, index, e) < 0)
			return -1;
	}
	struct net_subnet have[8];
	uint32_t have_ips[8];
	size_t n_have = 0;
	bool present = false;
	if (net_addr_list(nl, *index, have, have_ips, 8, &n_have, e) < 0)
		return -1;
	for (size_t i = 0; i < n_have; i++) {
		if (have_ips[i] == gateway && have[i].prefix == prefix)
			present = true;
		else if (net_addr_del(nl, *index, have_ips[i], have[i].prefix, e) < 0)
			return -1;
	}
	if (!present && net_addr_add(nl, *index, gateway, prefix, e) < 0)
		return -1;
	/* Set here, not at its creation: only an MTU changed on a bridge stays when its ports go. */
	if (net_link_up(nl, *index, mtu, e) < 0)
		return berr_wrap(e, "bridge %s", name);
	/* route_localnet so that 127.0.0.1 reaches published ports. */
	_cleanup_free_ char *localnet = NULL;
	if (asprintf(&localnet, "net/ipv4/conf/%s/route_localnet", name) < 0)
		return berr_set(e, ENOMEM, "bridge %s", name);
	return net_sysctl_set(localnet, "1", e);
}

/* The bridge up with the chosen address (and no other IPv4 one), forwarding on. */
static int bridge_setup(struct eng_net *n, const struct eng_opts *o, berr *e)
{
	int r = net_link_index(n->nl, n->bridge, &n->bridge_index, e);
	bool exists = r == 0;
	if (r < 0 && e->errnum != ENOENT)
		return -1;
	berr_clear(e);
	if (choose_address(n, o, exists, e) < 0 ||
	    eng_bridge_ensure(n->nl, n->bridge, n->gateway, n->subnet.prefix, n->mtu, &n->bridge_index, e) < 0)
		return -1;
	return net_sysctl_set("net/ipv4/ip_forward", "1", e);
}

int eng_net_open(struct eng *eng, const struct eng_opts *o, const char *db_path, berr *e)
{
	struct eng_net *n = calloc(1, sizeof *n);
	if (!n)
		return berr_set(e, ENOMEM, "networks");
	eng->net = n;
	const char *bridge = o->bridge && *o->bridge ? o->bridge : "berth0";
	if (strlen(bridge) >= 16)
		return berr_invalid(e, "bridge name %s: at most 15 characters", bridge);
	/* The default bridge's table is "berth"; another bridge's has its own, so that two daemons can coexist. */
	n->next_port = 32768;
	n->mtu = o->mtu ? o->mtu : ENG_NET_DEFAULT_MTU;
	if (n->mtu < ENG_NET_MIN_MTU || n->mtu > ENG_NET_MAX_MTU)
		return berr_invalid(e, "invalid MTU %d: expected %d to %d", n->mtu, ENG_NET_MIN_MTU, ENG_NET_MAX_MTU);
	if (!(n->bridge = strdup(bridge)) || asprintf(&n->netns_dir, "%s/netns", eng->exec_root) < 0 ||
	    (strcmp(bridge, "berth0") == 0 ? !(n->table = strdup("berth"))
					   : asprintf(&n->table, "berth_%s", bridge) < 0))
		return berr_set(e, ENOMEM, "networks");
	if (b_mkdir_p(n->netns_dir, 0700, e) < 0 || net_nl_open(-1, &n->nl, e) < 0)
		return -1;
	if (bridge_setup(n, o, e) < 0)
		return berr_wrap(e, "setting up the default bridge %s", n->bridge);
	if (net_dns_open(&n->dns, e) < 0 || net_ipam_open(db_path, &n->ipam, e) < 0 ||
	    net_nft_open(n->table, n->bridge, &n->subnet, &n->nft, e) < 0)
		return -1;
	for (int i = 0; i < ENG_NET_COUNT; i++)
		if (net_ipam_network_id(n->ipam, eng_net_names[i], &n->ids[i], &n->created[i], e) < 0)
			return -1;
	return eng_unets_open(eng, db_path, e) < 0 ? berr_wrap(e, "user networks") : 0;
}

void eng_net_close(struct eng *eng)
{
	struct eng_net *n = eng->net;
	if (!n)
		return;
	net_dns_close(n->dns);
	eng_ports_unhold(eng, NULL);
	eng_unets_close(eng);
	net_nl_close(n->nl);
	net_ipam_close(n->ipam);
	net_nft_close(n->nft);
	for (int i = 0; i < ENG_NET_COUNT; i++) {
		free(n->ids[i]);
		free(n->created[i]);
	}
	free(n->bridge);
	free(n->table);
	free(n->netns_dir);
	free(n);
	eng->net = NULL;
}

/* A running container's place on the bridge, or NULL. */
static json_t *held(const struct ctr *c)
{
	return ctr_running(c) ? json_object_get(c->doc, "BerthNetwork") : NULL;
}

int eng_net_reconcile(struct eng *eng, berr *e)
{
	struct eng_net *n = eng->net;
	/* nftables: the table again from what the running containers hold, in one transaction. */
	size_t count = 0;
	for (struct ctr *c = eng->ctrs; c; c = c->next)
		count++;
	struct net_nft_owner *owners = calloc(count ? count : 1, sizeof *owners);
	if (!owners)
		return berr_set(e, ENOMEM, "networks");
	size_t k = 0;
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		json_t *bn = held(c);
		uint32_t ip;
		const char *addr = json_string_value(json_object_get(bn, "IPAddress"))
				       ?: json_string_value(json_object_get(bn, "PortsAddress"));
		if (!bn || !net_ip_parse(addr, &ip))
			continue;
		struct net_port_rule *rules = NULL;
		size_t nr = 0;
		if (eng_ports_rules(json_object_get(bn, "Ports"), ip, &rules, &nr, e) < 0)
			break;
		owners[k++] = (struct net_nft_owner){c->id, rules, nr};
		eng_ports_hold(eng, c->id, json_object_get(bn, "Ports"));
	}
	int r = e->msg ? -1 : net_nft_rebuild(n->nft, owners, k, e);
	for (size_t i = 0; i < k; i++)
		free((void *)owners[i].rules);
	free(owners);
	if (r < 0)
		return -1;

	/* Leases whose container is not running (or is gone) are free again. */
	char **lease_owners = NULL;
	uint32_t *addrs = NULL;
	size_t n_leases = 0;
	if (net_ipam_leases(n->ipam, eng_net_names[ENG_NET_BRIDGE], &lease_owners, &addrs, &n_leases, e) < 0)
		return -1;
	for (size_t i = 0; i < n_leases; i++) {
		bool keep = false;
		for (struct ctr *c = eng->ctrs; c && !keep; c = c->next)
			keep = strcmp(c->id, lease_owners[i]) == 0 && held(c);
		berr ignored = {0};
		if (!keep && net_ipam_release(n->ipam, eng_net_names[ENG_NET_BRIDGE], lease_owners[i], &ignored) < 0)
			fprintf(stderr, "berthd: %s\n", berr_msg(&ignored));
		berr_clear(&ignored);
		free(lease_owners[i]);
	}
	free(lease_owners);
	free(addrs);
	eng_endpoints_reconcile(eng);

	/* The DNS servers of the running containers on user networks, made again in their namespaces. */
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		json_t *bn = held(c);
		const char *key = json_string_value(json_object_get(bn, "SandboxKey"));
		if (!key || json_object_size(json_object_get(c->doc, "BerthNetworks")) == 0)
			continue;
		int fd = open(key, O_RDONLY | O_CLOEXEC);
		berr err = {0};
		if (fd < 0 || ctr_dns_attach(eng, c, fd, &err) < 0)
			fprintf(stderr, "berthd: container %s: its DNS server: %s\n", c->id,
				fd < 0 ? strerror(errno) : berr_msg(&err));
		berr_clear(&err);
		if (fd >= 0)
			close(fd);
	}

	/* Namespaces kept for containers that no longer run. */
	_cleanup_closedir_ DIR *d = opendir(n->netns_dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		bool keep = false;
		for (struct ctr *c = eng->ctrs; c && !keep; c = c->next)
			keep = strcmp(c->id, de->d_name) == 0 && held(c);
		_cleanup_free_ char *path = NULL;
		berr ignored = {0};
		if (!keep && asprintf(&path, "%s/%s", n->netns_dir, de->d_name) >= 0 &&
		    net_netns_remove(path, &ignored) < 0)
			fprintf(stderr, "berthd: %s\n", berr_msg(&ignored));
		berr_clear(&ignored);
	}
	return 0;
}

enum eng_net_kind eng_net_kind_of(const struct ctr *c)
{
	const char *mode = mode_of(c);
	switch (eng_net_mode_network(mode)) {
	case ENG_NET_BRIDGE: return ENG_KIND_BRIDGE;
	case ENG_NET_HOST: return ENG_KIND_HOST;
	case ENG_NET_NONE: return ENG_KIND_NONE;
	}
	return strncmp(mode, "container:", 10) == 0 ? ENG_KIND_CONTAINER : ENG_KIND_USER;
}

bool ctr_net_has_sandbox(const struct ctr *c)
{
	enum eng_net_kind k = eng_net_kind_of(c);
	return k == ENG_KIND_BRIDGE || k == ENG_KIND_USER;
}

/* The container that container:<id> names, with a reference; NULL when there is none. */
static struct ctr *joined(struct eng *eng, const struct ctr *c)
{
	struct ctr *target = NULL;
	berr ignored = {0};
	if (eng_net_kind_of(c) != ENG_KIND_CONTAINER || ctr_find(eng, mode_of(c) + 10, &target, &ignored) < 0) {
		berr_clear(&ignored);
		return NULL;
	}
	return target;
}

char *ctr_net_netns_path(struct eng *eng, const struct ctr *c)
{
	char *path = NULL;
	if (ctr_net_has_sandbox(c)) {
		if (asprintf(&path, "%s/%s", eng->net->netns_dir, c->id) < 0)
			return NULL;
		return path;
	}
	/*
	 * container:<id>: the other container's namespace, its file when berthd made it, else its
	 * init's. One that does not run gets the path its namespace would have: the start stops at
	 * ctr_net_attach with Docker's words.
	 */
	struct ctr *target = joined(eng, c);
	if (!target)
		return NULL;
	const char *key =
	    json_string_value(json_object_get(json_object_get(target->doc, "BerthNetwork"), "SandboxKey"));
	int pid = (int)json_integer_value(json_object_get(json_object_get(target->doc, "State"), "Pid"));
	int r = key || !ctr_running(target) || pid <= 0 ? asprintf(&path, "%s/%s", eng->net->netns_dir, target->id)
							: asprintf(&path, "/proc/%d/ns/net", pid);
	if (r < 0)
		path = NULL;
	ctr_put(eng, target);
	return path;
}

void eng_net_random_hex(char *out, size_t n_digits)
{
	unsigned char raw[32];
	size_t bytes = (n_digits + 1) / 2;
	if (getrandom(raw, bytes, 0) != (ssize_t)bytes)
		for (size_t i = 0; i < bytes; i++)
			raw[i] = (unsigned char)rand();
	for (size_t i = 0; i < n_digits; i++)
		out[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[n_digits] = '\0';
}

/* Docker's network event for the container's endpoint on the bridge: connect, disconnect. */
static void net_event(struct eng *eng, const struct ctr *c, const char *action)
{
	eng_event(
	    eng, "network", action, eng->net->ids[ENG_NET_BRIDGE],
	    json_pack("{s:s, s:s, s:s}", "container", c->id, "name", eng_net_names[ENG_NET_BRIDGE], "type", "bridge"));
}

const char *ctr_net_address(const struct ctr *c)
{
	if (!ctr_running(c))
		return NULL;
	const char *ip = json_string_value(json_object_get(json_object_get(c->doc, "BerthNetwork"), "IPAddress"));
	if (ip && *ip)
		return ip;
	const char *key;
	json_t *ep;
	json_object_foreach (json_object_get(c->doc, "BerthNetworks"), key, ep)
		if ((ip = json_string_value(json_object_get(ep, "IPAddress"))) && *ip)
			return ip;
	return NULL;
}

/* HostConfig.ExtraHosts ("name:ip", Docker's --add-host) and Links as hosts lines; "host-gateway" is the bridge's
 * address. */
static int extra_hosts(struct eng *eng, const struct ctr *c, char **out, berr *e)
{
	json_t *list = json_object_get(json_object_get(c->doc, "HostConfig"), "ExtraHosts");
	size_t i, len = 0;
	json_t *v;
	char *text = NULL;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return berr_sys(e, "container %s: hosts", c->id);
	json_array_foreach (list, i, v) {
		const char *entry = json_string_value(v) ?: "";
		const char *sep = strchr(entry, ':');
		if (!sep)
			continue;
		const char *addr = sep + 1;
		char gw[NET_IP_LEN];
		if (strcmp(addr, "host-gateway") == 0) {
			net_ip_format(eng->net->gateway, gw);
			addr = gw;
		}
		fprintf(f, "%s\t%.*s\n", addr, (int)(sep - entry), entry);
	}
	/* Legacy links ("name:alias"): the other container's address under the alias and its name. */
	json_array_foreach (json_object_get(json_object_get(c->doc, "HostConfig"), "Links"), i, v) {
		const char *link = json_string_value(v) ?: "";
		const char *colon = strchr(link, ':');
		_cleanup_free_ char *name = strndup(link, colon ? (size_t)(colon - link) : strlen(link));
		const char *alias = colon ? colon + 1 : name;
		struct ctr *target = NULL;
		berr ignored = {0};
		if (name && ctr_find(eng, name[0] == '/' ? name + 1 : name, &target, &ignored) == 0) {
			const char *ip = ctr_net_address(target);
			if (ip && *ip)
				fprintf(f, "%s\t%s %s\n", ip, strrchr(alias, '/') ? strrchr(alias, '/') + 1 : alias,
					target->name + 1);
			ctr_put(eng, target);
		}
		berr_clear(&ignored);
	}
	if (fclose(f) != 0) {
		free(text);
		return berr_set(e, ENOMEM, "container %s: hosts", c->id);
	}
	*out = text;
	return 0;
}

/* /etc/hosts with the container's address (when it has one) and name, and ExtraHosts, as Docker writes it. */
static int write_hosts(struct eng *eng, struct ctr *c, const char *ip, berr *e)
{
	_cleanup_free_ char *path = ctr_path(eng, c, "hosts"), *text = NULL, *self = NULL, *extra = NULL;
	json_t *config = json_object_get(c->doc, "Config");
	const char *hostname = json_string_value(json_object_get(config, "Hostname")) ?: "";
	const char *domain = json_string_value(json_object_get(config, "Domainname")) ?: "";
	char short_id[13];
	memcpy(short_id, c->id, 12);
	short_id[12] = '\0';
	if (!*hostname)
		hostname = short_id;
	if (extra_hosts(eng, c, &extra, e) < 0)
		return -1;
	int r = !ip || !*ip ? asprintf(&self, "%s", "")
		: *domain   ? asprintf(&self, "%s\t%s.%s %s\n", ip, hostname, domain, hostname)
			    : asprintf(&self, "%s\t%s\n", ip, hostname);
	if (r >= 0)
		r = asprintf(&text,
			     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
			     "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n%s%s",
			     extra, self);
	if (!path || r < 0)
		return berr_set(e, ENOMEM, "container %s: hosts", c->id);
	/* In place, not renamed over: the file is bind-mounted into a container that may run already. */
	return b_write_file(path, text, strlen(text), 0644, e);
}

/*
 * No IPv6 on an interface that has only an IPv4 address from us, as Docker since 26.0.2
 * (CVE-2024-32473: else it takes a link-local address and any SLAAC prefix a router on the
 * bridge announces). Set while it is down, so that it never starts IPv6 (DAD, MLD, router
 * solicitations). A kernel without IPv6 has nothing to disable.
 */
static int disable_ipv6(int netns_fd, const char *ifname, berr *e)
{
	_cleanup_free_ char *key = NULL;
	if (asprintf(&key, "net/ipv6/conf/%s/disable_ipv6", ifname) < 0)
		return berr_set(e, ENOMEM, "interface %s", ifname);
	if (net_sysctl_set_in(netns_fd, key, "1", e) < 0 && e->errnum != ENOENT)
		return -1;
	berr_clear(e);
	return 0;
}

int eng_net_inside_setup(int netns_fd, const char *ifname, uint32_t ip, int prefix, uint32_t gateway, berr *e)
{
	struct net_nl *nl = NULL;
	if (net_nl_open(netns_fd, &nl, e) < 0)
		return -1;
	int lo, link;
	int r = net_link_index(nl, "lo", &lo, e);
	if (r == 0)
		r = net_link_up(nl, lo, 0, e);
	if (r == 0)
		r = net_link_index(nl, ifname, &link, e);
	if (r == 0)
		r = disable_ipv6(netns_fd, ifname, e);
	if (r == 0)
		r = net_addr_add(nl, link, ip, prefix, e);
	if (r == 0)
		r = net_link_up(nl, link, 0, e);
	if (r == 0 && gateway)
		r = net_route_default_add(nl, link, gateway, e);
	net_nl_close(nl);
	return r;
}

/* container:<id>: the other container's hosts and resolv.conf, as Docker shares them. */
static int join_files(struct eng *eng, struct ctr *c, berr *e)
{
	struct ctr *target = joined(eng, c);
	if (!target || !ctr_running(target)) {
		if (target)
			ctr_put(eng, target);
		return berr_plain(e, EBUSY, "cannot join network of a non running container: %s", mode_of(c) + 10);
	}
	static const char *const files[] = {"hosts", "resolv.conf"};
	int r = 0;
	for (size_t i = 0; i < 2 && r == 0; i++) {
		_cleanup_free_ char *from = ctr_path(eng, target, files[i]), *to = ctr_path(eng, c, files[i]),
				    *text = NULL;
		size_t len = 0;
		if (!from || !to)
			r = berr_set(e, ENOMEM, "container %s", c->id);
		else if ((r = b_read_file(from, &text, &len, e)) == 0)
			r = b_write_file(to, text, len, 0644, e);
	}
	ctr_put(eng, target);
	return r;
}

/* ---------- the default bridge as a further network of a container on user networks ---------- */

static const char *const extra_fields[] = {"IPAddress",  "IPPrefixLen", "Gateway", "MacAddress",
					   "EndpointID", "IfName",      "Veth"};

json_t *ctr_bridge_extra(const struct ctr *c)
{
	return json_object_get(c->doc, "BerthBridge");
}

int ctr_bridge_extra_attach(struct eng *eng, struct ctr *c, int netns_fd, int ifnum, berr *e)
{
	struct eng_net *n = eng->net;
	json_t *ep = ctr_bridge_extra(c);
	uint32_t ip;
	if (!ep)
		return 0;
	if (net_ipam_lease(n->ipam, eng_net_names[ENG_NET_BRIDGE], &n->subnet, n->gateway, c->id, &ip, e) < 0)
		return berr_wrap(e, "network bridge");
	char veth[16] = "veth", ifname[16], endpoint[65], ip_s[NET_IP_LEN], gw_s[NET_IP_LEN], mac_s[18];
	uint8_t mac[6];
	net_mac_from_ip(ip, mac);
	net_mac_format(mac, mac_s);
	net_ip_format(ip, ip_s);
	net_ip_format(n->gateway, gw_s);
	snprintf(ifname, sizeof ifname, "eth%d", ifnum);
	eng_net_random_hex(endpoint, 64);
	int r = -1;
	for (int tries = 0; tries < 4; tries++) {
		eng_net_random_hex(veth + 4, 7);
		berr_clear(e);
		if ((r = net_veth_create(n->nl, veth, n->bridge_index, netns_fd, ifname, mac, n->mtu, e)) == 0 ||
		    e->errnum != EEXIST)
			break;
	}
	bool made = r == 0;
	/* No default route: the container keeps the one of its first user network. */
	if (r == 0)
		r = eng_net_inside_setup(netns_fd, ifname, ip, n->subnet.prefix, 0, e);
	if (r < 0) {
		berr ignored = {0};
		if (made)
			net_link_delete(n->nl, veth, &ignored);
		berr_clear(&ignored);
		net_ipam_release(n->ipam, eng_net_names[ENG_NET_BRIDGE], c->id, &ignored);
		berr_clear(&ignored);
		return berr_wrap(e, "network bridge");
	}
	json_t *fields =
	    json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "IPAddress", ip_s, "IPPrefixLen", n->subnet.prefix,
		      "Gateway", gw_s, "MacAddress", mac_s, "EndpointID", endpoint, "IfName", ifname, "Veth", veth);
	json_object_update(ep, fields);
	json_decref(fields);
	net_event(eng, c, "connect");
	return 0;
}

void ctr_bridge_extra_release(struct eng *eng, struct ctr *c, bool delete_link)
{
	struct eng_net *n = eng->net;
	json_t *ep = ctr_bridge_extra(c);
	if (!ep || !json_object_get(ep, "IPAddress"))
		return;
	berr err = {0};
	const char *veth = json_string_value(json_object_get(ep, "Veth"));
	if (delete_link && veth && net_link_delete(n->nl, veth, &err) < 0 && err.errnum != ENODEV)
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&err));
	berr_clear(&err);
	if (net_ipam_release(n->ipam, eng_net_names[ENG_NET_BRIDGE], c->id, &err) < 0)
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&err));
	berr_clear(&err);
	net_event(eng, c, "disconnect");
	ctr_bridge_extra_forget(c);
}

void ctr_bridge_extra_forget(struct ctr *c)
{
	json_t *ep = ctr_bridge_extra(c);
	for (size_t i = 0; ep && i < sizeof extra_fields / sizeof *extra_fields; i++)
		json_object_del(ep, extra_fields[i]);
}

int ctr_net_attach(struct eng *eng, struct ctr *c, berr *e)
{
	enum eng_net_kind kind = eng_net_kind_of(c);
	if (kind == ENG_KIND_CONTAINER)
		return join_files(eng, c, e);
	if (!ctr_net_has_sandbox(c)) {
		/* host, none: ExtraHosts and the resolver options to add. */
		json_t *hc = json_object_get(c->doc, "HostConfig");
		if (json_array_size(json_object_get(hc, "ExtraHosts")) + json_array_size(json_object_get(hc, "Links")) >
			0 &&
		    write_hosts(eng, c, NULL, e) < 0)
			return -1;
		return ctr_dns_plain(eng, c, e);
	}
	struct eng_net *n = eng->net;
	bool bridge = kind == ENG_KIND_BRIDGE;
	ctr_net_release(eng, c); /* what a crash may have left */
	_cleanup_free_ char *netns = ctr_net_netns_path(eng, c);
	if (!netns)
		return berr_set(e, ENOMEM, "container %s: network", c->id);
	char endpoint[65] = "", sandbox[65], veth[16] = "veth", ip_s[NET_IP_LEN] = "", gw_s[NET_IP_LEN] = "",
	     mac_s[18] = "";
	eng_net_random_hex(sandbox, 64);
	uint32_t ip = 0;
	uint8_t mac[6];
	json_t *ports = NULL;
	struct net_port_rule *rules = NULL;
	size_t n_rules = 0;
	int fd = -1, r = -1;
	bool wrap = false; /* Docker's port errors stand as they are */
	uint32_t primary = 0;
	json_t *bn = NULL;
	if (bridge) {
		eng_net_random_hex(endpoint, 64);
		if (net_ipam_lease(n->ipam, eng_net_names[ENG_NET_BRIDGE], &n->subnet, n->gateway, c->id, &ip, e) < 0)
			return berr_wrap(e, "container %s: an address", c->id);
		ctr_primary_mac(c, ip, mac);
		net_mac_format(mac, mac_s);
		net_ip_format(ip, ip_s);
		net_ip_format(n->gateway, gw_s);
		if (eng_ports_bind(eng, c, endpoint, ip, &ports, e) < 0)
			goto fail;
	}
	wrap = true;
	/* The record says what is held from here on, so that a failure below gives all of it back. */
	json_object_set_new(
	    c->doc, "BerthNetwork",
	    json_pack("{s:s, s:s, s:s}", "SandboxID", sandbox, "SandboxKey", netns, "EndpointID", endpoint));
	if (net_netns_create(netns, e) < 0)
		goto fail;
	fd = open(netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		berr_sys(e, "opening %s", netns);
		goto fail;
	}
	if (bridge) {
		/* The host end's name is random: a stopped container's may linger while its namespace is torn down. */
		for (int tries = 0; tries < 4; tries++) {
			eng_net_random_hex(veth + 4, 7);
			berr_clear(e);
			if ((r = net_veth_create(n->nl, veth, n->bridge_index, fd, "eth0", mac, n->mtu, e)) == 0 ||
			    e->errnum != EEXIST)
				break;
		}
		if (r < 0 || (r = eng_net_inside_setup(fd, "eth0", ip, n->subnet.prefix, n->gateway, e)) < 0)
			goto fail;
	}
	if ((r = ctr_endpoints_attach(eng, c, fd, bridge ? 1 : 0, !bridge, &primary, e)) < 0)
		goto fail;
	/* Connected to the default bridge too: the interface after its user networks'. */
	if (!bridge && (r = ctr_bridge_extra_attach(
			    eng, c, fd, (int)json_object_size(json_object_get(c->doc, "BerthNetworks")), e)) < 0)
		goto fail;
	if (!bridge && primary) {
		/* On a user network the published ports lead to the address on the first one. */
		ip = primary;
		net_ip_format(ip, ip_s);
		wrap = false;
		if ((r = eng_ports_bind(eng, c, "", ip, &ports, e)) < 0)
			goto fail;
		wrap = true;
	}
	if (ports && ((r = eng_ports_rules(ports, ip, &rules, &n_rules, e)) < 0 ||
		      (r = net_nft_add(n->nft, c->id, rules, n_rules, e)) < 0))
		goto fail;
	if ((r = write_hosts(eng, c, ip_s, e)) < 0 || (r = ctr_dns_attach(eng, c, fd, e)) < 0)
		goto fail;
	close(fd);
	free(rules);
	bn = json_object_get(c->doc, "BerthNetwork");
	if (bridge) {
		json_t *fields = json_pack("{s:s, s:s, s:i, s:s, s:s}", "IPAddress", ip_s, "Gateway", gw_s,
					   "IPPrefixLen", n->subnet.prefix, "MacAddress", mac_s, "Veth", veth);
		json_object_update(bn, fields);
		json_decref(fields);
		net_event(eng, c, "connect");
	} else if (ip) {
		json_object_set_new(bn, "PortsAddress", json_string(ip_s));
	}
	json_object_set_new(bn, "Ports", ports ? ports : json_object());
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(rules);
	json_decref(ports);
	{
		/* Ports are removed by the owner's comment even before the record names them. */
		berr ignored = {0};
		eng_ports_unhold(eng, c->id);
		net_nft_remove(n->nft, c->id, &ignored);
		berr_clear(&ignored);
		ctr_net_release(eng, c);
		/* The bridge's lease, even when the record never said so. */
		net_ipam_release(n->ipam, eng_net_names[ENG_NET_BRIDGE], c->id, &ignored);
		berr_clear(&ignored);
		net_netns_remove(netns, &ignored);
		berr_clear(&ignored);
	}
	return wrap ? berr_wrap(e, "container %s: network", c->id) : -1;
}

void ctr_net_release(struct eng *eng, struct ctr *c)
{
	struct eng_net *n = eng->net;
	if (!n || !ctr_net_has_sandbox(c))
		return;
	json_t *bn = json_object_get(c->doc, "BerthNetwork");
	bool bridge = eng_net_kind_of(c) == ENG_KIND_BRIDGE;
	if (bn && bridge && json_object_get(bn, "IPAddress"))
		net_event(eng, c, "disconnect");
	berr e = {0};
	ctr_dns_release(eng, c);
	eng_ports_unhold(eng, c->id);
	if (json_object_size(json_object_get(bn, "Ports")) > 0 && net_nft_remove(n->nft, c->id, &e) < 0) {
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&e));
		berr_clear(&e);
	}
	if (bridge && net_ipam_release(n->ipam, eng_net_names[ENG_NET_BRIDGE], c->id, &e) < 0) {
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&e));
		berr_clear(&e);
	}
	ctr_endpoints_release(eng, c);
	ctr_bridge_extra_release(eng, c, false);
	/* The namespace goes with its last process, and its veths with it: no synchronous delete. */
	_cleanup_free_ char *netns = ctr_net_netns_path(eng, c);
	if (netns && net_netns_remove(netns, &e) < 0) {
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&e));
		berr_clear(&e);
	}
	json_object_del(c->doc, "BerthNetwork");
}
