/*
 * A container's endpoints on user networks. The record's "BerthNetworks" holds, by network name,
 * what the container asked for (NetworkID, Aliases, IPAMConfig: kept while it is stopped, as
 * Docker keeps NetworkSettings.Networks) and, while it runs, what it holds (IPAddress, MacAddress,
 * EndpointID, IfName, the host end's Veth). An endpoint is a veth pair from the network's bridge
 * made with its peer directly inside the container's namespace, an address leased in the
 * network (net_leases, by network ID) and the embedded DNS's names.
 */
#include "engine/net_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/events.h"
#include "lib/cleanup.h"

static const char *const runtime_fields[] = {"IPAddress",  "IPPrefixLen", "Gateway", "MacAddress",
					     "EndpointID", "IfName",      "Veth"};

static json_t *endpoints(const struct ctr *c)
{
	return json_object_get(c->doc, "BerthNetworks");
}

/* The user network of an endpoint entry: by its NetworkID (a network of the same name made since is another). */
static struct eng_unet *unet_of(struct eng *eng, const char *key, json_t *ep)
{
	const char *id = json_string_value(json_object_get(ep, "NetworkID"));
	for (size_t i = 0; i < eng->net->n_unets; i++)
		if (id ? strcmp(eng->net->unets[i]->id, id) == 0 : strcmp(eng->net->unets[i]->name, key) == 0)
			return eng->net->unets[i];
	return NULL;
}

static void ep_event(struct eng *eng, const struct ctr *c, const struct eng_unet *u, const char *action)
{
	eng_event(eng, "network", action, u->id,
		  json_pack("{s:s, s:s, s:s}", "container", c->id, "name", u->name, "type", "bridge"));
}

/* EndpointConfig's IPAMConfig.IPv4Address and Aliases checked against u (Docker's words). */
static int endpoint_config_check(const struct eng_unet *u, json_t *epc, berr *e)
{
	if (!epc || json_is_null(epc))
		return 0;
	if (!json_is_object(epc))
		return berr_invalid(e, "EndpointConfig of network %s: expected an object", u->name);
	json_t *aliases = json_object_get(epc, "Aliases");
	size_t i;
	json_t *a;
	if (aliases && !json_is_null(aliases) && !json_is_array(aliases))
		return berr_invalid(e, "Aliases: expected an array of strings");
	json_array_foreach (aliases, i, a)
		if (!json_is_string(a) || !*json_string_value(a))
			return berr_invalid(e, "Aliases: expected an array of names");
	json_t *ipam = json_object_get(epc, "IPAMConfig");
	const char *want = json_string_value(json_object_get(ipam, "IPv4Address"));
	uint32_t ip;
	if (want && *want) {
		if (!net_ip_parse(want, &ip))
			return berr_invalid(e, "invalid IPv4 address: %s", want);
		if (!net_subnet_contains(&u->subnet, ip) || ip == u->subnet.addr || ip == u->gateway)
			return berr_invalid(e, "no configured subnet or ip-range contain the IP address %s", want);
	}
	const char *v6 = json_string_value(json_object_get(ipam, "IPv6Address"));
	if (v6 && *v6)
		return berr_plain(e, ENOTSUP, "IPv6 addresses are not supported yet by berthd");
	return 0;
}

/* The entry of a new endpoint: what the container asks for on u. */
static json_t *endpoint_entry(const struct eng_unet *u, json_t *epc)
{
	json_t *aliases = json_object_get(epc, "Aliases");
	json_t *ipam = json_object_get(epc, "IPAMConfig");
	const char *want = json_string_value(json_object_get(ipam, "IPv4Address"));
	return json_pack("{s:s, s:o, s:o}", "NetworkID", u->id, "Aliases",
			 json_is_array(aliases) && json_array_size(aliases) ? json_deep_copy(aliases) : json_null(),
			 "IPAMConfig", want && *want ? json_pack("{s:s}", "IPv4Address", want) : json_null());
}

int ctr_net_check_mac(json_t *config, berr *e)
{
	const char *want = json_string_value(json_object_get(config, "MacAddress"));
	uint8_t mac[6];
	if (want && *want && !net_mac_parse(want, mac))
		return berr_invalid(e, "invalid MAC address: %s", want);
	return 0;
}

void ctr_primary_mac(const struct ctr *c, uint32_t ip, uint8_t mac[6])
{
	const char *want = json_string_value(json_object_get(json_object_get(c->doc, "Config"), "MacAddress"));
	if (!want || !*want || !net_mac_parse(want, mac))
		net_mac_from_ip(ip, mac);
}

int ctr_net_check(struct eng *eng, json_t *host_config, json_t *networking_config, berr *e)
{
	json_t *jm = json_object_get(host_config, "NetworkMode");
	if (jm && !json_is_string(jm) && !json_is_null(jm))
		return berr_invalid(e, "HostConfig.NetworkMode: expected a string");
	const char *mode = json_string_value(jm);
	struct eng_unet *u = NULL;
	if (mode && strncmp(mode, "container:", 10) == 0) {
		struct ctr *target;
		if (ctr_find(eng, mode + 10, &target, e) < 0)
			return -1;
		ctr_put(eng, target);
	} else if (eng_net_mode_network(mode) < 0 && eng_unet_find(eng, mode, &u, e) < 0) {
		return -1;
	}
	json_t *epcs = json_object_get(networking_config, "EndpointsConfig");
	if (networking_config && !json_is_null(networking_config) && !json_is_object(networking_config))
		return berr_invalid(e, "NetworkingConfig: expected an object");
	if (epcs && !json_is_null(epcs) && !json_is_object(epcs))
		return berr_invalid(e, "NetworkingConfig.EndpointsConfig: expected an object");
	const char *key;
	json_t *epc;
	json_object_foreach (epcs, key, epc) {
		struct eng_unet *on = NULL;
		if (eng_net_mode_network(key) >= 0 && eng_net_mode_network(key) != ENG_NET_BRIDGE)
			continue;
		if (eng_net_mode_network(key) == ENG_NET_BRIDGE) {
			const char *ip =
			    json_string_value(json_object_get(json_object_get(epc, "IPAMConfig"), "IPv4Address"));
			if (ip && *ip)
				return berr_invalid(
				    e, "user specified IP address is supported on user defined networks only");
			if (json_array_size(json_object_get(epc, "Aliases")) > 0)
				return berr_invalid(
				    e,
				    "network-scoped alias is supported only for containers in user defined networks");
			continue;
		}
		if (eng_unet_find(eng, key, &on, e) < 0 || endpoint_config_check(on, epc, e) < 0)
			return -1;
		if (mode && (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0))
			return berr_invalid(e, "container cannot be connected to network %s in network mode %s", key,
					    mode);
	}
	/* Legacy links name containers that exist (Docker's words). */
	size_t i;
	json_t *v;
	json_t *links = json_object_get(host_config, "Links");
	if (links && !json_is_null(links) && !json_is_array(links))
		return berr_invalid(e, "HostConfig.Links: expected an array of strings");
	json_array_foreach (links, i, v) {
		const char *link = json_string_value(v);
		if (!link)
			return berr_invalid(e, "HostConfig.Links: expected an array of strings");
		_cleanup_free_ char *name = strndup(link, strcspn(link, ":"));
		struct ctr *target;
		if (!name)
			return berr_set(e, ENOMEM, "links");
		if (ctr_find(eng, name[0] == '/' ? name + 1 : name, &target, e) < 0) {
			berr_clear(e);
			return berr_invalid(e, "could not get container for %s", name[0] == '/' ? name + 1 : name);
		}
		ctr_put(eng, target);
	}
	return eng_ports_check(host_config, e);
}

int ctr_net_record(struct eng *eng, struct ctr *c, json_t *networking_config, berr *e)
{
	const char *mode = json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
	json_t *epcs = json_object_get(networking_config, "EndpointsConfig");
	json_t *eps = json_object();
	struct eng_unet *primary = NULL;
	berr ignored = {0};
	if (eng_net_kind_of(c) == ENG_KIND_USER && eng_unet_find(eng, mode, &primary, &ignored) == 0) {
		/* Its config may be keyed by the name or the ID NetworkMode gives. */
		json_t *epc = json_object_get(epcs, mode);
		if (!epc)
			epc = json_object_get(epcs, primary->name);
		json_object_set_new(eps, primary->name, endpoint_entry(primary, epc));
	}
	berr_clear(&ignored);
	const char *key;
	json_t *epc;
	json_object_foreach (epcs, key, epc) {
		struct eng_unet *u;
		if (eng_net_mode_network(key) >= 0 || eng_unet_find(eng, key, &u, &ignored) < 0 || u == primary) {
			berr_clear(&ignored);
			continue;
		}
		json_object_set_new(eps, u->name, endpoint_entry(u, epc));
	}
	if (!eps)
		return berr_set(e, ENOMEM, "container %s: networks", c->id);
	json_object_set_new(c->doc, "BerthNetworks", eps);
	return 0;
}

/* The lowest ethN no endpoint of c uses (the bridge's eth0 included). */
static int free_ifnum(const struct ctr *c)
{
	for (int k = eng_net_kind_of(c) == ENG_KIND_BRIDGE ? 1 : 0;; k++) {
		char name[16];
		snprintf(name, sizeof name, "eth%d", k);
		bool used = false;
		const char *key;
		json_t *ep;
		json_object_foreach (endpoints(c), key, ep)
			used = used || strcmp(json_string_value(json_object_get(ep, "IfName")) ?: "", name) == 0;
		const char *extra = json_string_value(json_object_get(ctr_bridge_extra(c), "IfName"));
		used = used || (extra && strcmp(extra, name) == 0);
		if (!used)
			return k;
	}
}

/* One endpoint: lease, veth into the namespace as eth<ifnum>, address, route; its fields into ep. */
static int endpoint_attach(struct eng *eng, struct ctr *c, int netns_fd, struct eng_unet *u, json_t *ep, int ifnum,
			   bool default_route, uint32_t *ip_out, berr *e)
{
	struct eng_net *n = eng->net;
	uint32_t ip;
	const char *want = json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
	if (want && *want) {
		if (!net_ip_parse(want, &ip))
			return berr_invalid(e, "invalid IPv4 address: %s", want);
		if (net_ipam_lease_at(n->ipam, u->id, ip, c->id, e) < 0)
			return berr_wrap(e, "network %s: address %s", u->name, want);
	} else if (net_ipam_lease(n->ipam, u->id, &u->range, u->gateway, c->id, &ip, e) < 0) {
		return berr_wrap(e, "network %s", u->name);
	}
	char veth[16] = "veth", ifname[16], endpoint[65], ip_s[NET_IP_LEN], gw_s[NET_IP_LEN], mac_s[18];
	uint8_t mac[6];
	if (default_route) /* the first network's interface: --mac-address is for it */
		ctr_primary_mac(c, ip, mac);
	else
		net_mac_from_ip(ip, mac);
	net_mac_format(mac, mac_s);
	net_ip_format(ip, ip_s);
	net_ip_format(u->gateway, gw_s);
	snprintf(ifname, sizeof ifname, "eth%d", ifnum);
	eng_net_random_hex(endpoint, 64);
	int bridge_index, r = net_link_index(n->nl, u->bridge, &bridge_index, e);
	for (int tries = 0; r == 0 && tries < 4; tries++) {
		eng_net_random_hex(veth + 4, 7);
		berr_clear(e);
		if ((r = net_veth_create(n->nl, veth, bridge_index, netns_fd, ifname, mac, u->mtu, e)) == 0 ||
		    e->errnum != EEXIST)
			break;
	}
	bool made = r == 0;
	if (r == 0)
		r = eng_net_inside_setup(netns_fd, ifname, ip, u->subnet.prefix,
					 default_route && !u->internal ? u->gateway : 0, e);
	if (r < 0) {
		berr ignored = {0};
		if (made)
			net_link_delete(n->nl, veth, &ignored);
		berr_clear(&ignored);
		net_ipam_release(n->ipam, u->id, c->id, &ignored);
		berr_clear(&ignored);
		return berr_wrap(e, "network %s", u->name);
	}
	json_object_set_new(ep, "IPAddress", json_string(ip_s));
	json_object_set_new(ep, "IPPrefixLen", json_integer(u->subnet.prefix));
	json_object_set_new(ep, "Gateway", json_string(gw_s));
	json_object_set_new(ep, "MacAddress", json_string(mac_s));
	json_object_set_new(ep, "EndpointID", json_string(endpoint));
	json_object_set_new(ep, "IfName", json_string(ifname));
	json_object_set_new(ep, "Veth", json_string(veth));
	ep_event(eng, c, u, "connect");
	if (ip_out)
		*ip_out = ip;
	return 0;
}

/* An endpoint's lease given back and its runtime fields cleared (with its link when delete_link). */
static void endpoint_release(struct eng *eng, struct ctr *c, struct eng_unet *u, json_t *ep, bool delete_link)
{
	struct eng_net *n = eng->net;
	berr err = {0};
	const char *veth = json_string_value(json_object_get(ep, "Veth"));
	if (delete_link && veth && net_link_delete(n->nl, veth, &err) < 0 && err.errnum != ENODEV)
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&err));
	berr_clear(&err);
	if (u && net_ipam_release(n->ipam, u->id, c->id, &err) < 0)
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&err));
	berr_clear(&err);
	if (u && json_object_get(ep, "IPAddress"))
		ep_event(eng, c, u, "disconnect");
	for (size_t i = 0; i < sizeof runtime_fields / sizeof *runtime_fields; i++)
		json_object_del(ep, runtime_fields[i]);
}

int ctr_endpoints_attach(struct eng *eng, struct ctr *c, int netns_fd, int first_if, bool default_route,
			 uint32_t *primary_ip, berr *e)
{
	*primary_ip = 0;
	int ifnum = first_if;
	const char *key;
	json_t *ep;
	json_object_foreach (endpoints(c), key, ep) {
		struct eng_unet *u = unet_of(eng, key, ep);
		if (!u)
			return berr_plain(e, ENOENT, "network %s not found", key);
		uint32_t ip;
		if (endpoint_attach(eng, c, netns_fd, u, ep, ifnum++, default_route, &ip, e) < 0)
			return -1;
		if (default_route && !u->internal)
			default_route = false;
		if (!*primary_ip)
			*primary_ip = ip;
	}
	return 0;
}

void ctr_endpoints_release(struct eng *eng, struct ctr *c)
{
	const char *key;
	json_t *ep;
	json_object_foreach (endpoints(c), key, ep)
		endpoint_release(eng, c, unet_of(eng, key, ep), ep, false);
}

void eng_endpoints_reconcile(struct eng *eng)
{
	struct eng_net *n = eng->net;
	for (size_t k = 0; k < n->n_unets; k++) {
		struct eng_unet *u = n->unets[k];
		char **owners = NULL;
		uint32_t *addrs = NULL;
		size_t count = 0;
		berr err = {0};
		if (net_ipam_leases(n->ipam, u->id, &owners, &addrs, &count, &err) < 0)
			fprintf(stderr, "berthd: network %s: %s\n", u->name, berr_msg(&err));
		berr_clear(&err);
		for (size_t i = 0; i < count; i++) {
			bool keep = false;
			for (struct ctr *c = eng->ctrs; c && !keep; c = c->next)
				keep = strcmp(c->id, owners[i]) == 0 && ctr_net_endpoint_on(c, u);
			if (!keep && net_ipam_release(n->ipam, u->id, owners[i], &err) < 0)
				fprintf(stderr, "berthd: network %s: %s\n", u->name, berr_msg(&err));
			berr_clear(&err);
			free(owners[i]);
		}
		free(owners);
		free(addrs);
	}
	/* A container that stopped while no daemon watched keeps no runtime fields. */
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		if (ctr_running(c))
			continue;
		const char *key;
		json_t *ep;
		json_object_foreach (endpoints(c), key, ep)
			for (size_t i = 0; i < sizeof runtime_fields / sizeof *runtime_fields; i++)
				json_object_del(ep, runtime_fields[i]);
		ctr_bridge_extra_forget(c);
	}
}

/* Docker's DNSNames of an endpoint: the container's name, its aliases, its short ID. */
json_t *ctr_endpoint_dns_names(const struct ctr *c, json_t *ep)
{
	json_t *names = json_pack("[s]", c->name + 1);
	size_t i;
	json_t *a;
	json_array_foreach (json_object_get(ep, "Aliases"), i, a)
		json_array_append(names, a);
	json_array_append_new(names, json_stringn(c->id, 12));
	return names;
}

void ctr_endpoints_settings(struct eng *eng, const struct ctr *c, json_t *networks)
{
	(void)eng;
	bool running = ctr_running(c);
	const char *key;
	json_t *ep;
	json_object_foreach (endpoints(c), key, ep) {
		const char *ip = running ? json_string_value(json_object_get(ep, "IPAddress")) : NULL;
		bool up = ip && *ip;
		json_t *ipam = json_object_get(ep, "IPAMConfig");
		json_object_set_new(
		    networks, key,
		    json_pack("{s:O, s:n, s:O, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:o}", "IPAMConfig",
			      ipam ? ipam : json_null(), "Links", "Aliases",
			      json_object_get(ep, "Aliases") ?: json_null(), "MacAddress",
			      up ? json_string_value(json_object_get(ep, "MacAddress")) : "", "DriverOpts", "NetworkID",
			      json_string_value(json_object_get(ep, "NetworkID")) ?: "", "EndpointID",
			      up ? json_string_value(json_object_get(ep, "EndpointID")) : "", "Gateway",
			      up ? json_string_value(json_object_get(ep, "Gateway")) : "", "IPAddress", up ? ip : "",
			      "IPPrefixLen", up ? (int)json_integer_value(json_object_get(ep, "IPPrefixLen")) : 0,
			      "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames",
			      up ? ctr_endpoint_dns_names(c, ep) : json_null()));
	}
}

/* A running container's namespace, opened. */
static int sandbox_open(struct ctr *c, int *fd, berr *e)
{
	const char *key = json_string_value(json_object_get(json_object_get(c->doc, "BerthNetwork"), "SandboxKey"));
	if (!key)
		return berr_plain(e, EIO, "container %s: its network namespace is not known", c->id);
	if ((*fd = open(key, O_RDONLY | O_CLOEXEC)) < 0)
		return berr_sys(e, "container %s: opening %s", c->id, key);
	return 0;
}

int ctr_net_connect(struct eng *eng, struct ctr *c, struct eng_unet *u, json_t *epc, berr *e)
{
	enum eng_net_kind kind = eng_net_kind_of(c);
	if (kind == ENG_KIND_HOST)
		return berr_plain(e, EPERM,
				  "container cannot be disconnected from host network or connected to host network");
	if (kind == ENG_KIND_NONE)
		return berr_plain(
		    e, EPERM,
		    "container cannot be connected to multiple networks with one of the networks in private "
		    "(none) mode");
	if (kind == ENG_KIND_CONTAINER)
		return berr_plain(
		    e, EPERM,
		    "container sharing network namespace with another container or host cannot be connected "
		    "to any other network");
	if (c->removing)
		return berr_plain(e, EBUSY, "container %s is marked for removal", c->id);
	const char *key;
	json_t *ep;
	json_object_foreach (endpoints(c), key, ep)
		if (unet_of(eng, key, ep) == u)
			return berr_plain(e, EPERM, "endpoint with name %s already exists in network %s", c->name + 1,
					  u->name);
	if (endpoint_config_check(u, epc, e) < 0)
		return -1;
	json_t *entry = endpoint_entry(u, epc);
	if (!endpoints(c))
		json_object_set_new(c->doc, "BerthNetworks", json_object());
	if (ctr_running(c) && json_object_get(c->doc, "BerthNetwork")) {
		int fd;
		if (sandbox_open(c, &fd, e) < 0) {
			json_decref(entry);
			return -1;
		}
		/* Connected while running: no default route taken from the container's first network. */
		int r = endpoint_attach(eng, c, fd, u, entry, free_ifnum(c), false, NULL, e);
		if (r == 0) {
			json_object_set(endpoints(c), u->name, entry);
			r = ctr_dns_attach(eng, c, fd, e);
		}
		close(fd);
		if (r < 0) {
			if (json_object_get(endpoints(c), u->name) == entry) {
				endpoint_release(eng, c, u, entry, true);
				json_object_del(endpoints(c), u->name);
			}
			json_decref(entry);
			return -1;
		}
	} else {
		json_object_set(endpoints(c), u->name, entry);
	}
	json_decref(entry);
	return ctr_save(eng, c, e);
}

int ctr_net_disconnect(struct eng *eng, struct ctr *c, struct eng_unet *u, bool force, berr *e)
{
	(void)force;
	const char *key, *found = NULL;
	json_t *ep, *entry = NULL;
	json_object_foreach (endpoints(c), key, ep) {
		if (unet_of(eng, key, ep) == u) {
			found = key;
			entry = ep;
		}
	}
	if (!entry)
		return berr_plain(e, EPERM, "container %s is not connected to network %s", c->id, u->name);
	json_incref(entry);
	_cleanup_free_ char *name = strdup(found);
	if (!name) {
		json_decref(entry);
		return berr_set(e, ENOMEM, "container %s", c->id);
	}
	json_object_del(endpoints(c), name);
	if (ctr_running(c)) {
		endpoint_release(eng, c, u, entry, true);
		int fd;
		berr err = {0};
		if (sandbox_open(c, &fd, &err) == 0) {
			if (ctr_dns_attach(eng, c, fd, &err) < 0)
				fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&err));
			close(fd);
		}
		berr_clear(&err);
	}
	json_decref(entry);
	return ctr_save(eng, c, e);
}

int ctr_net_connect_predefined(struct eng *eng, struct ctr *c, int network, berr *e)
{
	enum eng_net_kind kind = eng_net_kind_of(c);
	if (network != ENG_NET_BRIDGE || kind == ENG_KIND_HOST)
		return berr_plain(e, EPERM,
				  "container cannot be disconnected from host network or connected to host network");
	if (kind == ENG_KIND_BRIDGE || ctr_bridge_extra(c))
		return berr_plain(e, EPERM, "endpoint with name %s already exists in network bridge", c->name + 1);
	if (kind == ENG_KIND_NONE)
		return berr_plain(
		    e, EPERM,
		    "container cannot be connected to multiple networks with one of the networks in private "
		    "(none) mode");
	if (kind == ENG_KIND_CONTAINER)
		return berr_plain(
		    e, EPERM,
		    "container sharing network namespace with another container or host cannot be connected "
		    "to any other network");
	if (c->removing)
		return berr_plain(e, EBUSY, "container %s is marked for removal", c->id);
	json_object_set_new(c->doc, "BerthBridge", json_object());
	if (ctr_running(c) && json_object_get(c->doc, "BerthNetwork")) {
		int fd;
		int r = sandbox_open(c, &fd, e);
		if (r == 0) {
			r = ctr_bridge_extra_attach(eng, c, fd, free_ifnum(c), e);
			close(fd);
		}
		if (r < 0) {
			json_object_del(c->doc, "BerthBridge");
			return -1;
		}
	}
	return ctr_save(eng, c, e);
}

int ctr_net_disconnect_predefined(struct eng *eng, struct ctr *c, int network, berr *e)
{
	enum eng_net_kind kind = eng_net_kind_of(c);
	if (network != ENG_NET_BRIDGE || kind == ENG_KIND_HOST)
		return berr_plain(e, EPERM,
				  "container cannot be disconnected from host network or connected to host network");
	if (kind == ENG_KIND_BRIDGE)
		return berr_plain(e, ENOTSUP,
				  "disconnecting a container from the default bridge network it was started on is not "
				  "supported yet by berthd");
	if (!ctr_bridge_extra(c))
		return berr_plain(e, EPERM, "container %s is not connected to network bridge", c->id);
	if (ctr_running(c))
		ctr_bridge_extra_release(eng, c, true);
	json_object_del(c->doc, "BerthBridge");
	return ctr_save(eng, c, e);
}
