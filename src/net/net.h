/*
 * The network layer: IPv4 addresses and subnets, netlink (links, addresses, routes, bridge, veth,
 * through libmnl), network namespaces bind-mounted on a file, address leases (IPAM, kept in
 * berth.db), and NAT and published ports in nftables (libnftables, in a table of berth's own).
 * It knows nothing of containers or the daemon: callers name owners by an opaque string.
 * Nothing here is thread-safe: the engine calls it under its lock.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* ---------- addresses (addr.c) ---------- */

/* An IPv4 subnet, host byte order; addr has no host bits set. */
struct net_subnet {
	uint32_t addr;
	int prefix;
};

#define NET_IP_LEN 16 /* "255.255.255.255" and its NUL */

/* "10.1.2.3" -> host byte order. false when it is no dotted IPv4 address. */
bool net_ip_parse(const char *s, uint32_t *ip);
void net_ip_format(uint32_t ip, char buf[NET_IP_LEN]);
/* "10.1.0.1/16" -> *ip 10.1.0.1 and *subnet 10.1.0.0/16 (ip may be NULL). EINVAL naming s. */
int net_cidr_parse(const char *s, uint32_t *ip, struct net_subnet *subnet, berr *e);
/* "10.1.0.0/16" into buf (at least 20 bytes). */
void net_subnet_format(const struct net_subnet *s, char *buf, size_t size);
uint32_t net_subnet_mask(int prefix);
bool net_subnet_contains(const struct net_subnet *s, uint32_t ip);
bool net_subnets_overlap(const struct net_subnet *a, const struct net_subnet *b);
/* Docker's MAC for an address: 02:42 then the four bytes of the address. */
void net_mac_from_ip(uint32_t ip, uint8_t mac[6]);
void net_mac_format(const uint8_t mac[6], char buf[18]);
/* "02:42:ac:11:00:02" (or '-' between the bytes); false for anything else. */
bool net_mac_parse(const char *s, uint8_t mac[6]);

/* A pool networks are carved from: base split into subnets of size bits (Docker's --default-address-pool). */
struct net_pool {
	struct net_subnet base;
	int size;
};
/* "base=10.10.0.0/16,size=24" (Docker's syntax). EINVAL with the reason. */
int net_pool_parse(const char *s, struct net_pool *out, berr *e);
/* Docker's default pools: 172.17.0.0/16 .. 172.31.0.0/16 as /16s, then 192.168.0.0/16 as /20s. */
size_t net_pools_default(struct net_pool *out, size_t cap);
/* The first subnet of the pools (in order) that overlaps none of taken[]. ENOSPC when none is free. */
int net_pools_pick(const struct net_pool *pools, size_t n_pools, const struct net_subnet *taken, size_t n_taken,
		   struct net_subnet *out, berr *e);

/* ---------- netlink (netlink.c) ---------- */

/* A route netlink socket in the calling thread's network namespace, or in the one netns_fd names. */
struct net_nl;
int net_nl_open(int netns_fd, struct net_nl **out, berr *e);
void net_nl_close(struct net_nl *nl);

/* The link's index; ENOENT when there is none. */
int net_link_index(struct net_nl *nl, const char *name, int *index, berr *e);
/* A bridge named name, up, with mac; EEXIST when a link of that name is there already. */
int net_bridge_create(struct net_nl *nl, const char *name, const uint8_t mac[6], berr *e);
/*
 * The link up, with mtu unless it is 0. A bridge keeps an MTU set this way (one given at its
 * creation it forgets when its last port goes: it falls back to 1500 then).
 */
int net_link_up(struct net_nl *nl, int index, int mtu, berr *e);
int net_link_delete(struct net_nl *nl, const char *name, berr *e);
/* The IPv4 addresses of a link (at most cap). */
int net_addr_list(struct net_nl *nl, int index, struct net_subnet *subnets, uint32_t *ips, size_t cap, size_t *n,
		  berr *e);
int net_addr_add(struct net_nl *nl, int index, uint32_t ip, int prefix, berr *e);
int net_addr_del(struct net_nl *nl, int index, uint32_t ip, int prefix, berr *e);
/* The destinations of the main table's IPv4 routes, but the default route and those through skip_index. */
int net_routes_list(struct net_nl *nl, int skip_index, struct net_subnet **out, size_t *n, berr *e);
int net_route_default_add(struct net_nl *nl, int index, uint32_t gateway, berr *e);
/*
 * A veth pair: host_name on the bridge master_index, up; its peer created directly inside the
 * namespace netns_fd as peer_name with peer_mac, down (one message: no move afterwards). Both ends
 * get mtu (0: the kernel's).
 */
int net_veth_create(struct net_nl *nl, const char *host_name, int master_index, int netns_fd, const char *peer_name,
		    const uint8_t peer_mac[6], int mtu, berr *e);

/* ---------- network namespaces (netns.c) ---------- */

/* A new network namespace kept alive by a bind mount on path (a file, made here). */
int net_netns_create(const char *path, berr *e);
/* Unmount and remove path; the namespace goes with its last process. A missing path is fine. */
int net_netns_remove(const char *path, berr *e);
/* Write a sysctl of the calling thread's namespace: "net/ipv4/ip_forward" -> "1". */
int net_sysctl_set(const char *key, const char *value, berr *e);
/* The same in the namespace netns_fd; ENOENT when it has no such key. */
int net_sysctl_set_in(int netns_fd, const char *key, const char *value, berr *e);

/* ---------- address leases (ipam.c) ---------- */

/*
 * Networks and address leases in berth.db (tables net_networks and net_leases, a connection of
 * their own). A lease names its owner; leasing for an owner that has one gives the same address.
 */
struct net_ipam;
int net_ipam_open(const char *db_path, struct net_ipam **out, berr *e);
void net_ipam_close(struct net_ipam *ip);
/* The ID of network name, made (64 random hex digits) and recorded the first time. *id is malloc'd. */
int net_ipam_network_id(struct net_ipam *ip, const char *name, char **id, char **created, berr *e);
/* An address of subnet for owner: its lease when it has one, else the lowest free one but gateway. */
int net_ipam_lease(struct net_ipam *ip, const char *network, const struct net_subnet *subnet, uint32_t gateway,
		   const char *owner, uint32_t *out, berr *e);
/* The address ip of subnet for owner (its own lease when it has it); EEXIST when another owner has it. */
int net_ipam_lease_at(struct net_ipam *ip, const char *network, uint32_t addr, const char *owner, berr *e);
/* Free every lease of network. */
int net_ipam_release_all(struct net_ipam *ip, const char *network, berr *e);
/* Free the owner's leases in network (none is fine). */
int net_ipam_release(struct net_ipam *ip, const char *network, const char *owner, berr *e);
/* Every lease of network: owners and addresses (malloc'd; free owners with their strings). */
int net_ipam_leases(struct net_ipam *ip, const char *network, char ***owners, uint32_t **addrs, size_t *n, berr *e);

/* ---------- NAT and published ports (nft.c) ---------- */

/* A published port: traffic to host_ip (0: any local address):host_port goes to ctr_ip:ctr_port. */
struct net_port_rule {
	char proto[5]; /* tcp, udp, sctp */
	uint32_t host_ip;
	uint16_t host_port;
	uint32_t ctr_ip;
	uint16_t ctr_port;
};

/* A published port's owner and rules, for net_nft_rebuild. */
struct net_nft_owner {
	const char *owner;
	const struct net_port_rule *rules;
	size_t n_rules;
};

struct net_nft;
/* table: the nftables table (family ip) that is ours alone; bridge and subnet: what to masquerade. */
int net_nft_open(const char *table, const char *bridge, const struct net_subnet *subnet, struct net_nft **out, berr *e);
void net_nft_close(struct net_nft *n);
/*
 * Replace the whole table, in one transaction, with the base chains (masquerade of the subnet out
 * of other interfaces, localhost and hairpin masquerade, port dispatch) and the owners' rules.
 */
int net_nft_rebuild(struct net_nft *n, const struct net_nft_owner *owners, size_t n_owners, berr *e);
/* A user network: its bridge and subnet; an internal one has no way out (no masquerade, no forwarding off its bridge).
 */
struct net_nft_network {
	const char *bridge;
	struct net_subnet subnet;
	bool internal;
};
/*
 * The user networks' masquerade and isolation rules replaced by those of nets (one transaction);
 * kept for later rebuilds. Traffic between two of berth's bridges (the default one too) is dropped.
 */
int net_nft_networks(struct net_nft *n, const struct net_nft_network *nets, size_t count, berr *e);
/* Add an owner's port rules (one transaction). */
int net_nft_add(struct net_nft *n, const char *owner, const struct net_port_rule *rules, size_t n_rules, berr *e);
/* Remove every rule of owner (found by its comment; one transaction). */
int net_nft_remove(struct net_nft *n, const char *owner, berr *e);

/* ---------- embedded DNS of user networks (dns.c) ---------- */

/*
 * One thread answers every container's queries. A container's server is a UDP socket bound to
 * 127.0.0.11:53 inside its own network namespace; it answers the names of its scope networks
 * (A, and PTR of their addresses) and forwards everything else to upstream (IPv4, port 53) from
 * the daemon's namespace, SERVFAIL when none answers. Thread-safe.
 */
struct net_dns;
int net_dns_open(struct net_dns **out, berr *e);
void net_dns_close(struct net_dns *d);
/* owner's server (made in netns_fd the first time, kept after), with its scope and upstreams set. */
int net_dns_serve(struct net_dns *d, const char *owner, int netns_fd, const char *const *scope, size_t n_scope,
		  const uint32_t *upstream, size_t n_upstream, berr *e);
/* owner's server closed (none is fine). */
void net_dns_stop(struct net_dns *d, const char *owner);
/* owner's names on network at ip, added to those it has. */
int net_dns_names_set(struct net_dns *d, const char *network, const char *owner, const char *const *names,
		      size_t n_names, uint32_t ip, berr *e);
/* Every name of owner, on every network, dropped. */
void net_dns_names_drop(struct net_dns *d, const char *owner);
