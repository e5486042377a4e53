/*
 * Containers on networks (engine side of net/): the default bridge made at daemon start, a
 * container's network namespace, veth, address and published ports at its start, all given back
 * when it stops. What a running container holds is in its record under "BerthNetwork" (address,
 * gateway, MAC, endpoint, the Ports object in Docker's shape), and its address lease in berth.db
 * (net_leases): a restarted daemon rebuilds its nftables table from the running containers and
 * frees the leases of those that died meanwhile. Under the engine lock unless said otherwise.
 */
#pragma once
#include <stdint.h>

#include <jansson.h>

#include "engine/engine_internal.h"
#include "engine/network_db.h"
#include "net/net.h"

/* A user network (user_networks.c): its record and its bridge. */
struct eng_unet {
	char *id, *name;
	json_t *doc;     /* Docker's Network object without Containers, as recorded in berth.db */
	char bridge[16]; /* "br-" and the ID's first 12 digits, as Docker names them */
	struct net_subnet subnet;
	struct net_subnet range; /* where addresses are leased: IPAM's IPRange, else the subnet */
	uint32_t gateway;
	int mtu; /* its bridge's and veths': com.docker.network.driver.mtu, else the daemon's */
	bool internal;
};

enum { ENG_NET_MAX_POOLS = 64 };

/*
 * berth's default MTU of its bridges and veths, where Docker has 1500. Traffic between containers
 * and the host never leaves the machine, so it costs nothing, and it is what makes a published port
 * as fast as loopback (whose MTU is 65536; bench/README.md, network). Traffic out of the host is
 * still sized by its own links: TCP by the peer's MSS, and the host itself sends the ICMP "need to
 * frag" that path MTU discovery needs (nothing can filter it on the way). --mtu 1500 gives Docker's.
 */
enum { ENG_NET_DEFAULT_MTU = 65535 };
/* A valid MTU: what Linux takes for an Ethernet link and a veth. */
enum { ENG_NET_MIN_MTU = 68, ENG_NET_MAX_MTU = 65535 };

/* The default bridge and what serves it (struct eng's net). */
struct eng_net {
	char *bridge, *table, *netns_dir;
	struct net_subnet subnet;
	uint32_t gateway;
	int bridge_index;
	int mtu; /* the default bridge's and its veths'; user networks' default */
	struct net_nl *nl;
	struct net_ipam *ipam;
	struct net_nft *nft;
	char *ids[3], *created[3];   /* of bridge, host, none */
	unsigned next_port;          /* where the search for a free ephemeral port goes on */
	struct eng_port_hold *holds; /* net_ports.c: a bound socket per published port */
	size_t n_holds, cap_holds;
	struct net_pool pools[ENG_NET_MAX_POOLS]; /* where subnets are taken from */
	size_t n_pools;
	struct net_db *db;       /* network_db.h: the user networks' records */
	struct eng_unet **unets; /* in creation order */
	size_t n_unets;
	struct net_dns *dns; /* the embedded DNS server of user networks */
};

/* A published host port held by a socket bound to it, so that no host process takes it meanwhile. */
struct eng_port_hold {
	char owner[65];
	int fd;
};

/* The predefined networks, in Docker's order of `network ls`. */
enum { ENG_NET_BRIDGE, ENG_NET_HOST, ENG_NET_NONE, ENG_NET_COUNT };
extern const char *const eng_net_names[ENG_NET_COUNT];

/* At daemon start, before containers are adopted: the bridge (made or taken over), the tables. */
int eng_net_open(struct eng *eng, const struct eng_opts *o, const char *db_path, berr *e);
/* After adoption: the nftables table rebuilt for the running containers, stale leases and namespaces freed. */
int eng_net_reconcile(struct eng *eng, berr *e);
void eng_net_close(struct eng *eng);

/* Which predefined network a NetworkMode means: "default" and "bridge" the bridge; -1 for others. */
int eng_net_mode_network(const char *mode);

/* What a NetworkMode asks for. */
enum eng_net_kind { ENG_KIND_BRIDGE, ENG_KIND_HOST, ENG_KIND_NONE, ENG_KIND_CONTAINER, ENG_KIND_USER };
enum eng_net_kind eng_net_kind_of(const struct ctr *c);
/* Does the container have a namespace of its own that berthd makes (the bridge, a user network)? */
bool ctr_net_has_sandbox(const struct ctr *c);

/*
 * At create: NetworkMode names a network we have (or a container, for container:<id>),
 * NetworkingConfig.EndpointsConfig is well formed and names networks we have, PortBindings are
 * well formed (Docker's words).
 */
int ctr_net_check(struct eng *eng, json_t *host_config, json_t *networking_config, berr *e);
/* Config.MacAddress (`--mac-address`), when set, must be a MAC: EINVAL else. */
int ctr_net_check_mac(json_t *config, berr *e);
/* The MAC of c's first network's interface: its Config.MacAddress, else one made from ip. */
void ctr_primary_mac(const struct ctr *c, uint32_t ip, uint8_t mac[6]);
/* At create, once checked: the user networks the container is to be on ("BerthNetworks" of its record). */
int ctr_net_record(struct eng *eng, struct ctr *c, json_t *networking_config, berr *e);
/* The network namespace the container joins (exec-root/netns/<id>), or NULL when the runtime makes or shares one. */
char *ctr_net_netns_path(struct eng *eng, const struct ctr *c);
/* At start, before the monitor: namespace, address, veth, routes, published ports, /etc/hosts. */
int ctr_net_attach(struct eng *eng, struct ctr *c, berr *e);
/* At stop (or a failed start): all of it given back. Nothing to give back is fine. */
void ctr_net_release(struct eng *eng, struct ctr *c);
/* A running container's address: on the default bridge, else on its first user network; NULL when none. */
const char *ctr_net_address(const struct ctr *c);
/* Inspect's NetworkSettings in Docker's shape. */
json_t *ctr_net_settings(struct eng *eng, const struct ctr *c);
/* A `ps` row's Ports ([{IP, PrivatePort, PublicPort, Type}]) and NetworkSettings.Networks. */
void ctr_net_list_fields(struct eng *eng, const struct ctr *c, json_t *row);

/*
 * The default bridge as a further network of a container on user networks (docker network connect
 * bridge): the record's "BerthBridge", {} while stopped, with the bridge endpoint's fields while it
 * runs (IPAddress, IPPrefixLen, Gateway, MacAddress, EndpointID, IfName, Veth).
 */
json_t *ctr_bridge_extra(const struct ctr *c);
/* Its interface ifnum made in netns_fd, its address leased on the bridge (nothing to do without it). */
int ctr_bridge_extra_attach(struct eng *eng, struct ctr *c, int netns_fd, int ifnum, berr *e);
/* Its lease given back and its fields cleared (with the host end of its veth when delete_link). */
void ctr_bridge_extra_release(struct eng *eng, struct ctr *c, bool delete_link);
/* Its fields cleared only (a container that stopped while no daemon watched). */
void ctr_bridge_extra_forget(struct ctr *c);

/* ---------- endpoints on user networks (net_endpoints.c) ---------- */

/*
 * At start, inside the namespace netns_fd: an interface on each user network of "BerthNetworks"
 * (eth<first_if>, eth<first_if+1> ...), the default route through the first one that is not
 * internal when default_route. *primary_ip: the first one's address (0 when none).
 */
int ctr_endpoints_attach(struct eng *eng, struct ctr *c, int netns_fd, int first_if, bool default_route,
			 uint32_t *primary_ip, berr *e);
/* At stop: leases given back and the endpoints' runtime fields cleared (the interfaces go with the namespace). */
void ctr_endpoints_release(struct eng *eng, struct ctr *c);
/* Leases of user networks that no running container holds given back (daemon start). */
void eng_endpoints_reconcile(struct eng *eng);
/* NetworkSettings.Networks entries of the user networks (Docker's EndpointSettings) added to networks. */
void ctr_endpoints_settings(struct eng *eng, const struct ctr *c, json_t *networks);

/* Docker's DNSNames of an endpoint: the container's name, its aliases, its short ID (a new array). */
json_t *ctr_endpoint_dns_names(const struct ctr *c, json_t *ep);

/* Shared by net_attach.c and net_endpoints.c. */
void eng_net_random_hex(char *out, size_t n_digits);
/* Inside netns_fd: lo up, ifname with ip/prefix and up, the default route via gateway (unless 0). */
int eng_net_inside_setup(int netns_fd, const char *ifname, uint32_t ip, int prefix, uint32_t gateway, berr *e);
/* The embedded DNS of user networks for a running container (net_dns.c): its server, names and resolv.conf. */
int ctr_dns_attach(struct eng *eng, struct ctr *c, int netns_fd, berr *e);
void ctr_dns_release(struct eng *eng, struct ctr *c);
/* After a rename: a running container's names on its user networks are the new ones (failures logged). */
void ctr_net_renamed(struct eng *eng, struct ctr *c);
/* host and none: resolv.conf with --dns, --dns-search, --dns-option when given. */
int ctr_dns_plain(struct eng *eng, struct ctr *c, berr *e);

/* The endpoint of c on user network u while it runs there, or NULL (networks.c). */
json_t *ctr_net_endpoint_on(const struct ctr *c, const struct eng_unet *u);
/*
 * POST /networks/{id}/connect and /disconnect: a running container's interface added or removed at
 * once, a stopped one's network list changed for its next start; Docker's 403 (EPERM) for what it
 * forbids. epc: the request's EndpointConfig (IPAMConfig.IPv4Address, Aliases), or NULL.
 */
int ctr_net_connect(struct eng *eng, struct ctr *c, struct eng_unet *u, json_t *epc, berr *e);
int ctr_net_disconnect(struct eng *eng, struct ctr *c, struct eng_unet *u, bool force, berr *e);
/* The same for the predefined networks (what Docker forbids, and what berthd cannot do yet). */
int ctr_net_connect_predefined(struct eng *eng, struct ctr *c, int network, berr *e);
int ctr_net_disconnect_predefined(struct eng *eng, struct ctr *c, int network, berr *e);

/* ---------- user networks (user_networks.c) ---------- */

/* At daemon start (after eng_net_open): the records loaded, their bridges made where missing. */
int eng_unets_open(struct eng *eng, const char *db_path, berr *e);
void eng_unets_close(struct eng *eng);
/* The user network a name, ID or unique ID prefix names; ENOENT "network X not found". */
int eng_unet_find(struct eng *eng, const char *name, struct eng_unet **out, berr *e);
/* POST /networks/create's body checked and the network made (record, bridge, rules); *id malloc'd. */
int eng_unet_create(struct eng *eng, json_t *body, char **id, berr *e);
/* The network, its bridge, rules and leases removed (the caller checked that no container uses it). */
int eng_unet_remove(struct eng *eng, struct eng_unet *u, berr *e);
/* The bridge name up with gateway/prefix as its only IPv4 address and mtu (made when missing); *index its link. */
int eng_bridge_ensure(struct net_nl *nl, const char *name, uint32_t gateway, int prefix, int mtu, int *index, berr *e);
/* The user networks' masquerade and isolation rules set again. */
int eng_unets_rules(struct eng *eng, berr *e);

/* ---------- published ports (net_ports.c) ---------- */

/* HostConfig.PortBindings as Docker checks them at create: EINVAL with its words. */
int eng_ports_check(json_t *host_config, berr *e);
/*
 * The Ports object of a start: every exposed port of the container (Config.ExposedPorts and the
 * bound ones), those bound with their host addresses and ports ("" and ranges resolved to free
 * ports, PublishAllPorts from 32768-60999). A port taken by another container or on the host:
 * Docker's error naming endpoint (the container's name) and endpoint_id.
 */
int eng_ports_bind(struct eng *eng, const struct ctr *c, const char *endpoint_id, uint32_t ctr_ip, json_t **ports,
		   berr *e);
/* Hold the host ports of a Ports object for owner again (after a daemon restart); failures are logged. */
void eng_ports_hold(struct eng *eng, const char *owner, json_t *ports);
/* Close the sockets that hold owner's ports (all of them with owner NULL). */
void eng_ports_unhold(struct eng *eng, const char *owner);
/* The DNAT rules of a Ports object for a container at ctr_ip (*rules malloc'd). */
int eng_ports_rules(json_t *ports, uint32_t ctr_ip, struct net_port_rule **rules, size_t *n, berr *e);
