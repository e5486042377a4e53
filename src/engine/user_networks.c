/*
 * User networks: checked at create as Docker checks them, recorded in berth.db (network_db.c), each
 * with a Linux bridge of its own ("br-" and 12 digits of its ID) and its rules in berth's nftables
 * table (masquerade unless internal; no traffic between two networks). A network is recorded before
 * its bridge is made and its bridge deleted before its record, so a kill -9 at any point leaves at
 * worst a record whose bridge the next start makes again, never a bridge nobody knows.
 */
#include "engine/net_attach.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "engine/events.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"

static void unet_free(struct eng_unet *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->name);
	json_decref(u->doc);
	free(u);
}

/* Docker's com.docker.network.driver.mtu of options: *mtu that, or fallback when it is absent or 0. EINVAL else. */
static int option_mtu(json_t *options, int fallback, int *mtu, berr *e)
{
	const char *s = json_string_value(json_object_get(options, "com.docker.network.driver.mtu"));
	*mtu = fallback;
	if (!s)
		return 0;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || (v != 0 && (v < ENG_NET_MIN_MTU || v > ENG_NET_MAX_MTU)))
		return berr_invalid(e, "invalid MTU \"%s\" in option com.docker.network.driver.mtu: expected %d to %d",
				    s, ENG_NET_MIN_MTU, ENG_NET_MAX_MTU);
	if (v)
		*mtu = (int)v;
	return 0;
}

/* The in-memory network of a record; EINVAL when the record makes no sense. default_mtu: the daemon's. */
static int unet_from_doc(json_t *doc, int default_mtu, struct eng_unet **out, berr *e)
{
	const char *id = json_string_value(json_object_get(doc, "Id"));
	const char *name = json_string_value(json_object_get(doc, "Name"));
	json_t *cfg = json_array_get(json_object_get(json_object_get(doc, "IPAM"), "Config"), 0);
	const char *subnet = json_string_value(json_object_get(cfg, "Subnet"));
	const char *gateway = json_string_value(json_object_get(cfg, "Gateway"));
	const char *range = json_string_value(json_object_get(cfg, "IPRange"));
	if (!id || strlen(id) < 12 || !name || !subnet || !gateway)
		return berr_invalid(e, "network record %s: incomplete", id ? id : "?");
	struct eng_unet *u = calloc(1, sizeof *u);
	if (!u || !(u->id = strdup(id)) || !(u->name = strdup(name))) {
		unet_free(u);
		return berr_set(e, ENOMEM, "network %s", name);
	}
	u->doc = json_incref(doc);
	snprintf(u->bridge, sizeof u->bridge, "br-%.12s", id);
	u->internal = json_is_true(json_object_get(doc, "Internal"));
	if (option_mtu(json_object_get(doc, "Options"), default_mtu, &u->mtu, e) < 0) {
		unet_free(u);
		return berr_wrap(e, "network record %s", name);
	}
	if (net_cidr_parse(subnet, NULL, &u->subnet, e) < 0 || !net_ip_parse(gateway, &u->gateway) ||
	    (range && *range && net_cidr_parse(range, NULL, &u->range, e) < 0)) {
		unet_free(u);
		return berr_invalid(e, "network record %s: bad address", name);
	}
	if (!range || !*range)
		u->range = u->subnet;
	*out = u;
	return 0;
}

static int unets_append(struct eng_net *n, struct eng_unet *u, berr *e)
{
	struct eng_unet **grown = realloc(n->unets, (n->n_unets + 1) * sizeof *grown);
	if (!grown)
		return berr_set(e, ENOMEM, "network %s", u->name);
	n->unets = grown;
	n->unets[n->n_unets++] = u;
	return 0;
}

int eng_unets_rules(struct eng *eng, berr *e)
{
	struct eng_net *n = eng->net;
	struct net_nft_network *nets = calloc(n->n_unets ? n->n_unets : 1, sizeof *nets);
	if (!nets)
		return berr_set(e, ENOMEM, "network rules");
	for (size_t i = 0; i < n->n_unets; i++)
		nets[i] = (struct net_nft_network){n->unets[i]->bridge, n->unets[i]->subnet, n->unets[i]->internal};
	int r = net_nft_networks(n->nft, nets, n->n_unets, e);
	free(nets);
	return r;
}

static int load_one(void *arg, json_t *doc, berr *e)
{
	struct eng *eng = arg;
	struct eng_unet *u;
	if (unet_from_doc(doc, eng->net->mtu, &u, e) < 0)
		return -1;
	if (unets_append(eng->net, u, e) < 0) {
		unet_free(u);
		return -1;
	}
	int index;
	if (eng_bridge_ensure(eng->net->nl, u->bridge, u->gateway, u->subnet.prefix, u->mtu, &index, e) < 0)
		return berr_wrap(e, "network %s: bridge %s", u->name, u->bridge);
	return 0;
}

int eng_unets_open(struct eng *eng, const char *db_path, berr *e)
{
	struct eng_net *n = eng->net;
	if (net_db_open(db_path, &n->db, e) < 0 || net_db_each(n->db, load_one, eng, e) < 0)
		return -1;
	/* Stored only: the table is rebuilt with them once the containers are adopted. */
	return eng_unets_rules(eng, e);
}

void eng_unets_close(struct eng *eng)
{
	struct eng_net *n = eng->net;
	for (size_t i = 0; i < n->n_unets; i++)
		unet_free(n->unets[i]);
	free(n->unets);
	n->unets = NULL;
	n->n_unets = 0;
	net_db_close(n->db);
	n->db = NULL;
}

int eng_unet_find(struct eng *eng, const char *name, struct eng_unet **out, berr *e)
{
	struct eng_net *n = eng->net;
	for (size_t i = 0; i < n->n_unets; i++) {
		if (strcmp(n->unets[i]->name, name) == 0 || strcmp(n->unets[i]->id, name) == 0) {
			*out = n->unets[i];
			return 0;
		}
	}
	struct eng_unet *found = NULL;
	size_t len = strlen(name), matches = 0;
	for (size_t i = 0; i < n->n_unets && len > 0; i++) {
		if (strncmp(n->unets[i]->id, name, len) == 0) {
			found = n->unets[i];
			matches++;
		}
	}
	if (matches > 1)
		return berr_invalid(e, "network %s is ambiguous (%zu matches found based on ID prefix)", name, matches);
	if (!found)
		return berr_plain(e, ENOENT, "network %s not found", name);
	*out = found;
	return 0;
}

/* [a-zA-Z0-9][a-zA-Z0-9_.-]*: a container's characters, one of them enough (Docker takes "a"). */
static bool network_name_valid(const char *name)
{
	if (!isalnum((unsigned char)name[0]) || strlen(name) > 255)
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

/* A string field of the body, or NULL; EINVAL when it is there and not a string. */
static int body_str(json_t *obj, const char *where, const char *key, const char **out, berr *e)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return berr_invalid(e, "%s%s: expected a string", where, key);
	*out = json_string_value(v);
	return 0;
}

/* An object of strings (Labels, Options), or NULL. */
static int body_strings(json_t *obj, const char *key, json_t **out, berr *e)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	const char *k;
	json_t *x;
	if (!json_is_object(v))
		return berr_invalid(e, "%s: expected an object of strings", key);
	json_object_foreach (v, k, x)
		if (!json_is_string(x))
			return berr_invalid(e, "%s.%s: expected a string", key, k);
	*out = v;
	return 0;
}

/* Does subnet overlap a network of ours or a route of the host? EPERM (Docker's 403) naming which. */
static int check_overlap(struct eng *eng, const struct net_subnet *s, berr *e)
{
	struct eng_net *n = eng->net;
	if (net_subnets_overlap(s, &n->subnet))
		return berr_plain(e, EPERM, "Pool overlaps with other one on this address space");
	for (size_t i = 0; i < n->n_unets; i++)
		if (net_subnets_overlap(s, &n->unets[i]->subnet))
			return berr_plain(e, EPERM, "Pool overlaps with other one on this address space");
	_cleanup_free_ struct net_subnet *routes = NULL;
	size_t n_routes = 0;
	if (net_routes_list(n->nl, 0, &routes, &n_routes, e) < 0)
		return -1;
	for (size_t i = 0; i < n_routes; i++) {
		if (net_subnets_overlap(s, &routes[i])) {
			char a[24], b[24];
			net_subnet_format(s, a, sizeof a);
			net_subnet_format(&routes[i], b, sizeof b);
			return berr_plain(e, EPERM,
					  "Pool overlaps with other one on this address space: %s overlaps with the "
					  "host's route to %s",
					  a, b);
		}
	}
	return 0;
}

/* A free subnet of the pools: none of ours, no route of the host. */
static int pick_subnet(struct eng *eng, struct net_subnet *out, berr *e)
{
	struct eng_net *n = eng->net;
	_cleanup_free_ struct net_subnet *routes = NULL;
	size_t n_routes = 0;
	if (net_routes_list(n->nl, 0, &routes, &n_routes, e) < 0)
		return -1;
	struct net_subnet *taken = realloc(routes, (n_routes + n->n_unets + 1) * sizeof *taken);
	if (!taken)
		return berr_set(e, ENOMEM, "a subnet");
	routes = taken;
	taken[n_routes++] = n->subnet;
	for (size_t i = 0; i < n->n_unets; i++)
		taken[n_routes++] = n->unets[i]->subnet;
	if (net_pools_pick(n->pools, n->n_pools, taken, n_routes, out, e) < 0) {
		berr_clear(e);
		return berr_plain(e, ENOSPC,
				  "could not find an available, non-overlapping IPv4 address pool among the defaults "
				  "to assign to the network");
	}
	return 0;
}

/* IPAM.Config checked: subnet, gateway and range of the new network into cfg_out (Docker's shape). */
static int ipam_config(struct eng *eng, json_t *body, json_t **cfg_out, berr *e)
{
	json_t *ipam = json_object_get(body, "IPAM");
	if (ipam && !json_is_null(ipam) && !json_is_object(ipam))
		return berr_invalid(e, "IPAM: expected an object");
	const char *driver;
	if (body_str(ipam, "IPAM.", "Driver", &driver, e) < 0)
		return -1;
	if (driver && *driver && strcmp(driver, "default") != 0)
		return berr_plain(e, ENOTSUP, "IPAM driver %s is not supported by berthd (only default)", driver);
	json_t *configs = json_object_get(ipam, "Config");
	if (configs && !json_is_null(configs) && !json_is_array(configs))
		return berr_invalid(e, "IPAM.Config: expected an array");
	if (json_array_size(configs) > 1)
		return berr_plain(e, ENOTSUP,
				  "more than one IPAM config (IPv6, several subnets) is not supported by berthd");
	json_t *c = json_array_get(configs, 0);
	const char *subnet_s = NULL, *gateway_s = NULL, *range_s = NULL;
	if (c && (body_str(c, "IPAM.Config.", "Subnet", &subnet_s, e) < 0 ||
		  body_str(c, "IPAM.Config.", "Gateway", &gateway_s, e) < 0 ||
		  body_str(c, "IPAM.Config.", "IPRange", &range_s, e) < 0))
		return -1;
	struct net_subnet subnet, range;
	uint32_t gateway;
	if (subnet_s && *subnet_s) {
		uint32_t ip;
		if (net_cidr_parse(subnet_s, &ip, &subnet, e) < 0)
			return berr_wrap(e, "invalid subnet");
		if (ip != subnet.addr) {
			char want[24];
			net_subnet_format(&subnet, want, sizeof want);
			return berr_invalid(e, "invalid subnet %s : it should be %s", subnet_s, want);
		}
		if (subnet.prefix > 30)
			return berr_invalid(e, "invalid subnet %s: too small for a gateway and a container", subnet_s);
		if (check_overlap(eng, &subnet, e) < 0)
			return -1;
	} else {
		if ((gateway_s && *gateway_s) || (range_s && *range_s))
			return berr_invalid(e, "a gateway or an IP range needs a subnet (IPAM.Config.Subnet)");
		if (pick_subnet(eng, &subnet, e) < 0)
			return -1;
	}
	if (gateway_s && *gateway_s) {
		if (!net_ip_parse(gateway_s, &gateway))
			return berr_invalid(e, "invalid gateway address %s", gateway_s);
		if (!net_subnet_contains(&subnet, gateway) || gateway == subnet.addr)
			return berr_invalid(e, "no matching subnet for gateway %s", gateway_s);
	} else {
		gateway = subnet.addr + 1;
	}
	if (range_s && *range_s) {
		uint32_t ip;
		if (net_cidr_parse(range_s, &ip, &range, e) < 0)
			return berr_wrap(e, "invalid ip range");
		if (!net_subnet_contains(&subnet, range.addr) || range.prefix < subnet.prefix)
			return berr_invalid(e, "no matching subnet for range %s", range_s);
	}
	char sub[24], gw[NET_IP_LEN];
	net_subnet_format(&subnet, sub, sizeof sub);
	net_ip_format(gateway, gw);
	*cfg_out = json_pack("{s:s, s:s}", "Subnet", sub, "Gateway", gw);
	if (range_s && *range_s) {
		char r[24];
		net_subnet_format(&range, r, sizeof r);
		json_object_set_new(*cfg_out, "IPRange", json_string(r));
	}
	return 0;
}

int eng_unet_create(struct eng *eng, json_t *body, char **id_out, berr *e)
{
	struct eng_net *n = eng->net;
	if (!json_is_object(body))
		return berr_invalid(e, "the request's body must be a network config object");
	const char *name, *driver;
	json_t *labels, *options;
	if (body_str(body, "", "Name", &name, e) < 0 || body_str(body, "", "Driver", &driver, e) < 0 ||
	    body_strings(body, "Labels", &labels, e) < 0 || body_strings(body, "Options", &options, e) < 0)
		return -1;
	if (!name || !*name)
		return berr_invalid(e, "invalid name: name is empty");
	if (!network_name_valid(name))
		return berr_invalid(e, "invalid network name %s: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (driver && *driver && strcmp(driver, "bridge") != 0) {
		if (strcmp(driver, "host") == 0 || strcmp(driver, "null") == 0)
			return berr_plain(e, EPERM, "only one instance of \"%s\" network is allowed", driver);
		return berr_plain(e, ENOTSUP, "network driver %s is not supported by berthd (only bridge)", driver);
	}
	if (json_is_true(json_object_get(body, "EnableIPv6")))
		return berr_plain(e, ENOTSUP, "IPv6 networks (EnableIPv6) are not supported yet by berthd");
	for (int i = 0; i < ENG_NET_COUNT; i++)
		if (strcmp(name, eng_net_names[i]) == 0)
			return berr_plain(e, EEXIST, "network with name %s already exists", name);
	for (size_t i = 0; i < n->n_unets; i++)
		if (strcmp(name, n->unets[i]->name) == 0)
			return berr_plain(e, EEXIST, "network with name %s already exists", name);
	int mtu;
	if (option_mtu(options, n->mtu, &mtu, e) < 0)
		return -1;
	json_t *cfg = NULL;
	if (ipam_config(eng, body, &cfg, e) < 0)
		return -1;

	unsigned char raw[32];
	char id[65], when[B_TIME_LEN];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		json_decref(cfg);
		return berr_sys(e, "network %s: a random ID", name);
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	b_time_now(when);
	json_t *ipam_opts = json_object_get(json_object_get(body, "IPAM"), "Options");
	json_t *doc = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:o, s:[o]}, s:b, s:b, s:b, s:{s:s}, s:b, "
	    "s:o, s:o}",
	    "Name", name, "Id", id, "Created", when, "Scope", "local", "Driver", "bridge", "EnableIPv6", 0, "IPAM",
	    "Driver", "default", "Options", json_is_object(ipam_opts) ? json_incref(ipam_opts) : json_null(), "Config",
	    cfg, "Internal", json_is_true(json_object_get(body, "Internal")), "Attachable",
	    json_is_true(json_object_get(body, "Attachable")), "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly",
	    0, "Options", options ? json_incref(options) : json_object(), "Labels",
	    labels ? json_incref(labels) : json_object());
	struct eng_unet *u = NULL;
	if (!doc)
		return berr_set(e, ENOMEM, "network %s", name);
	int r = unet_from_doc(doc, n->mtu, &u, e);
	json_decref(doc);
	if (r < 0)
		return -1;
	if (net_db_put(n->db, u->id, u->name, u->doc, e) < 0) {
		unet_free(u);
		return -1;
	}
	int index;
	if (unets_append(n, u, e) < 0 ||
	    eng_bridge_ensure(n->nl, u->bridge, u->gateway, u->subnet.prefix, u->mtu, &index, e) < 0 ||
	    eng_unets_rules(eng, e) < 0) {
		berr_wrap(e, "network %s", name);
		berr ignored = {0};
		if (n->n_unets > 0 && n->unets[n->n_unets - 1] == u)
			n->n_unets--;
		net_link_delete(n->nl, u->bridge, &ignored);
		berr_clear(&ignored);
		net_db_delete(n->db, u->id, &ignored);
		berr_clear(&ignored);
		eng_unets_rules(eng, &ignored);
		berr_clear(&ignored);
		unet_free(u);
		return -1;
	}
	eng_event(eng, "network", "create", u->id, json_pack("{s:s, s:s}", "name", u->name, "type", "bridge"));
	if (!(*id_out = strdup(u->id)))
		return berr_set(e, ENOMEM, "network %s", name);
	return 0;
}

int eng_unet_remove(struct eng *eng, struct eng_unet *u, berr *e)
{
	struct eng_net *n = eng->net;
	if (net_link_delete(n->nl, u->bridge, e) < 0 && e->errnum != ENODEV && e->errnum != ENOENT)
		return berr_wrap(e, "network %s", u->name);
	berr_clear(e);
	if (net_ipam_release_all(n->ipam, u->id, e) < 0 || net_db_delete(n->db, u->id, e) < 0)
		return berr_wrap(e, "network %s", u->name);
	size_t i = 0;
	while (i < n->n_unets && n->unets[i] != u)
		i++;
	if (i < n->n_unets) {
		memmove(&n->unets[i], &n->unets[i + 1], (n->n_unets - i - 1) * sizeof *n->unets);
		n->n_unets--;
	}
	eng_event(eng, "network", "destroy", u->id, json_pack("{s:s, s:s}", "name", u->name, "type", "bridge"));
	unet_free(u);
	berr ignored = {0};
	if (eng_unets_rules(eng, &ignored) < 0)
		fprintf(stderr, "berthd: %s\n", berr_msg(&ignored));
	berr_clear(&ignored);
	return 0;
}
