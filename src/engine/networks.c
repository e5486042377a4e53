/* Networks in Docker's shapes: list, inspect, create, remove, prune, connect; containers' NetworkSettings. */
#include "engine/networks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/net_attach.h"
#include "lib/filters.h"
#include "lib/timefmt.h"

static const char *const drivers[ENG_NET_COUNT] = {"bridge", "host", "null"};

/* A container's endpoint on network: its fields from BerthNetwork while it runs on the bridge. */
static json_t *endpoint_doc(struct eng *eng, int network, json_t *bn)
{
	json_t *jlen = json_object_get(bn, "IPPrefixLen");
	return json_pack(
	    "{s:n, s:n, s:n, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:n}", "IPAMConfig", "Links", "Aliases",
	    "MacAddress", json_string_value(json_object_get(bn, "MacAddress")) ?: "", "DriverOpts", "NetworkID",
	    eng->net->ids[network], "EndpointID", json_string_value(json_object_get(bn, "EndpointID")) ?: "", "Gateway",
	    json_string_value(json_object_get(bn, "Gateway")) ?: "", "IPAddress",
	    json_string_value(json_object_get(bn, "IPAddress")) ?: "", "IPPrefixLen", (int)json_integer_value(jlen),
	    "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
}

json_t *ctr_net_settings(struct eng *eng, const struct ctr *c)
{
	const char *mode = json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
	int network = eng_net_mode_network(mode);
	json_t *bn = ctr_running(c) ? json_object_get(c->doc, "BerthNetwork") : NULL;
	json_t *ports = json_object_get(bn, "Ports");
	json_t *networks = json_object();
	if (network >= 0 && eng->net)
		json_object_set_new(networks, eng_net_names[network], endpoint_doc(eng, network, bn));
	else if (eng->net && ctr_bridge_extra(c))
		json_object_set_new(networks, eng_net_names[ENG_NET_BRIDGE],
				    endpoint_doc(eng, ENG_NET_BRIDGE, ctr_running(c) ? ctr_bridge_extra(c) : NULL));
	if (eng->net)
		ctr_endpoints_settings(eng, c, networks);
	const char *ip = json_string_value(json_object_get(bn, "IPAddress")) ?: "";
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:i, s:o, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:o}",
			 "Bridge", "", "SandboxID", json_string_value(json_object_get(bn, "SandboxID")) ?: "",
			 "SandboxKey", json_string_value(json_object_get(bn, "SandboxKey")) ?: "", "HairpinMode", 0,
			 "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0, "Ports",
			 ports ? json_incref(ports) : json_object(), "SecondaryIPAddresses", "SecondaryIPv6Addresses",
			 "EndpointID", json_string_value(json_object_get(bn, "EndpointID")) ?: "", "Gateway",
			 json_string_value(json_object_get(bn, "Gateway")) ?: "", "GlobalIPv6Address", "",
			 "GlobalIPv6PrefixLen", 0, "IPAddress", ip, "IPPrefixLen",
			 (int)json_integer_value(json_object_get(bn, "IPPrefixLen")), "IPv6Gateway", "", "MacAddress",
			 json_string_value(json_object_get(bn, "MacAddress")) ?: "", "Networks", networks);
}

void ctr_net_list_fields(struct eng *eng, const struct ctr *c, json_t *row)
{
	json_t *settings = ctr_net_settings(eng, c), *ports = json_array();
	const char *key;
	json_t *list;
	json_object_foreach (json_object_get(settings, "Ports"), key, list) {
		const char *slash = strchr(key, '/');
		json_int_t private_port = (json_int_t)strtol(key, NULL, 10);
		const char *type = slash ? slash + 1 : "tcp";
		if (json_array_size(list) == 0)
			json_array_append_new(ports,
					      json_pack("{s:I, s:s}", "PrivatePort", private_port, "Type", type));
		size_t i;
		json_t *b;
		json_array_foreach (list, i, b)
			json_array_append_new(
			    ports,
			    json_pack(
				"{s:s, s:I, s:I, s:s}", "IP", json_string_value(json_object_get(b, "HostIp")) ?: "",
				"PrivatePort", private_port, "PublicPort",
				(json_int_t)strtol(json_string_value(json_object_get(b, "HostPort")) ?: "0", NULL, 10),
				"Type", type));
	}
	json_object_set_new(row, "Ports", ports);
	json_object_set_new(row, "NetworkSettings",
			    json_pack("{s:O}", "Networks", json_object_get(settings, "Networks")));
	json_decref(settings);
}

/* The endpoint of c on user network u while it runs there, or NULL. */
json_t *ctr_net_endpoint_on(const struct ctr *c, const struct eng_unet *u)
{
	if (!ctr_running(c))
		return NULL;
	const char *key;
	json_t *ep;
	json_object_foreach (json_object_get(c->doc, "BerthNetworks"), key, ep) {
		const char *ip = json_string_value(json_object_get(ep, "IPAddress"));
		if (ip && *ip && strcmp(json_string_value(json_object_get(ep, "NetworkID")) ?: "", u->id) == 0)
			return ep;
	}
	return NULL;
}

/* A Containers entry of network inspect. */
static json_t *container_entry(const struct ctr *c, json_t *ep)
{
	char v4[32] = "";
	const char *ip = json_string_value(json_object_get(ep, "IPAddress"));
	if (ip && *ip)
		snprintf(v4, sizeof v4, "%s/%d", ip, (int)json_integer_value(json_object_get(ep, "IPPrefixLen")));
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c->name + 1, "EndpointID",
			 json_string_value(json_object_get(ep, "EndpointID")) ?: "", "MacAddress",
			 json_string_value(json_object_get(ep, "MacAddress")) ?: "", "IPv4Address", v4, "IPv6Address",
			 "");
}

/* Docker's Network object of a predefined network; with_containers: the running containers on it. */
static json_t *network_doc(struct eng *eng, int network, bool with_containers)
{
	struct eng_net *n = eng->net;
	json_t *config = json_array(), *options = json_object(), *containers = json_object();
	if (network == ENG_NET_BRIDGE) {
		char subnet[24], gw[NET_IP_LEN], mtu[12];
		snprintf(mtu, sizeof mtu, "%d", n->mtu);
		net_subnet_format(&n->subnet, subnet, sizeof subnet);
		net_ip_format(n->gateway, gw);
		json_array_append_new(config, json_pack("{s:s, s:s}", "Subnet", subnet, "Gateway", gw));
		json_object_set_new(options, "com.docker.network.bridge.default_bridge", json_string("true"));
		json_object_set_new(options, "com.docker.network.bridge.enable_icc", json_string("true"));
		json_object_set_new(options, "com.docker.network.bridge.enable_ip_masquerade", json_string("true"));
		json_object_set_new(options, "com.docker.network.bridge.host_binding_ipv4", json_string("0.0.0.0"));
		json_object_set_new(options, "com.docker.network.bridge.name", json_string(n->bridge));
		json_object_set_new(options, "com.docker.network.driver.mtu", json_string(mtu));
	}
	for (struct ctr *c = eng->ctrs; with_containers && c; c = c->next) {
		const char *mode =
		    json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
		json_t *extra = network == ENG_NET_BRIDGE ? ctr_bridge_extra(c) : NULL;
		if (ctr_running(c) && extra && json_object_get(extra, "IPAddress"))
			json_object_set_new(containers, c->id, container_entry(c, extra));
		if (!ctr_running(c) || eng_net_mode_network(mode) != network)
			continue;
		json_object_set_new(containers, c->id, container_entry(c, json_object_get(c->doc, "BerthNetwork")));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:o, "
			 "s:{}}",
			 "Name", eng_net_names[network], "Id", n->ids[network], "Created", n->created[network], "Scope",
			 "local", "Driver", drivers[network], "EnableIPv6", 0, "IPAM", "Driver", "default", "Options",
			 "Config", config, "Internal", 0, "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "",
			 "ConfigOnly", 0, "Containers", containers, "Options", options, "Labels");
}

/* A user network's object: its record and the running containers on it. */
static json_t *unet_doc(struct eng *eng, const struct eng_unet *u)
{
	json_t *doc = json_deep_copy(u->doc), *containers = json_object();
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		json_t *ep = ctr_net_endpoint_on(c, u);
		if (ep)
			json_object_set_new(containers, c->id, container_entry(c, ep));
	}
	json_object_set_new(doc, "Containers", containers);
	return doc;
}

/* Does any running container use u? */
static bool unet_in_use(struct eng *eng, const struct eng_unet *u)
{
	for (struct ctr *c = eng->ctrs; c; c = c->next)
		if (ctr_net_endpoint_on(c, u))
			return true;
	return false;
}

/* The predefined network a name, ID or unique ID prefix names (*out -1 when none), else the user network. */
static int network_find(struct eng *eng, const char *name, int *out, struct eng_unet **unet, berr *e)
{
	struct eng_net *n = eng->net;
	*out = -1;
	*unet = NULL;
	for (int i = 0; i < ENG_NET_COUNT; i++) {
		if (strcmp(name, eng_net_names[i]) == 0 || strcmp(name, n->ids[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	for (size_t i = 0; i < n->n_unets; i++) {
		if (strcmp(name, n->unets[i]->name) == 0 || strcmp(name, n->unets[i]->id) == 0) {
			*unet = n->unets[i];
			return 0;
		}
	}
	size_t len = strlen(name), matches = 0;
	for (int i = 0; i < ENG_NET_COUNT && len > 0; i++) {
		if (strncmp(n->ids[i], name, len) == 0) {
			*out = i;
			matches++;
		}
	}
	for (size_t i = 0; i < n->n_unets && len > 0; i++) {
		if (strncmp(n->unets[i]->id, name, len) == 0) {
			*unet = n->unets[i];
			matches++;
		}
	}
	if (matches > 1)
		return berr_invalid(e, "network %s is ambiguous (%zu matches found based on ID prefix)", name, matches);
	if (matches == 0)
		return berr_plain(e, ENOENT, "network %s not found", name);
	return 0;
}

struct match_ctx {
	json_t *doc;
	bool builtin;
};

static bool match_name(const char *v, void *arg)
{
	return strstr(json_string_value(json_object_get(((struct match_ctx *)arg)->doc, "Name")), v) != NULL;
}

static bool match_id(const char *v, void *arg)
{
	return strncmp(json_string_value(json_object_get(((struct match_ctx *)arg)->doc, "Id")), v, strlen(v)) == 0;
}

static bool match_driver(const char *v, void *arg)
{
	return strcmp(json_string_value(json_object_get(((struct match_ctx *)arg)->doc, "Driver")), v) == 0;
}

static bool match_type(const char *v, void *arg)
{
	return strcmp(v, ((struct match_ctx *)arg)->builtin ? "builtin" : "custom") == 0;
}

static bool match_scope(const char *v, void *arg)
{
	(void)arg;
	return strcmp(v, "local") == 0;
}

static bool match_label(const char *v, void *arg)
{
	return b_labels_match(json_object_get(((struct match_ctx *)arg)->doc, "Labels"), v);
}

/* Label filters must all hold (Docker's AND). */
static bool label_missing(const char *v, void *arg)
{
	return !match_label(v, arg);
}

static bool match_dangling(const char *v, void *arg)
{
	struct match_ctx *m = arg;
	bool dangling = !m->builtin && json_object_size(json_object_get(m->doc, "Containers")) == 0;
	return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ? dangling : !dangling;
}

static bool network_matches(json_t *filters, json_t *doc, bool builtin)
{
	struct match_ctx m = {doc, builtin};
	return b_filter_any(filters, "name", match_name, &m) && b_filter_any(filters, "id", match_id, &m) &&
	       b_filter_any(filters, "driver", match_driver, &m) && b_filter_any(filters, "type", match_type, &m) &&
	       b_filter_any(filters, "scope", match_scope, &m) &&
	       (!b_filter_given(filters, "label") || !b_filter_any(filters, "label", label_missing, &m)) &&
	       b_filter_any(filters, "dangling", match_dangling, &m);
}

int eng_network_list(struct eng *eng, json_t *filters, json_t **out, berr *e)
{
	static const char *const known[] = {"name", "id", "driver", "type", "scope", "label", "dangling", NULL};
	if (b_filters_check(filters, known, e) < 0)
		return -1;
	json_t *arr = json_array();
	if (!arr)
		return berr_set(e, ENOMEM, "networks");
	pthread_mutex_lock(&eng->lock);
	for (int i = 0; i < ENG_NET_COUNT; i++) {
		json_t *doc = network_doc(eng, i, true);
		if (network_matches(filters, doc, true))
			json_array_append(arr, doc);
		json_decref(doc);
	}
	for (size_t i = 0; i < eng->net->n_unets; i++) {
		json_t *doc = unet_doc(eng, eng->net->unets[i]);
		if (network_matches(filters, doc, false))
			json_array_append(arr, doc);
		json_decref(doc);
	}
	pthread_mutex_unlock(&eng->lock);
	/* Docker's list leaves Containers empty; inspect fills it. */
	size_t i;
	json_t *doc;
	json_array_foreach (arr, i, doc)
		json_object_set_new(doc, "Containers", json_object());
	*out = arr;
	return 0;
}

int eng_network_inspect(struct eng *eng, const char *name, json_t **out, berr *e)
{
	int network;
	struct eng_unet *u;
	pthread_mutex_lock(&eng->lock);
	int r = network_find(eng, name, &network, &u, e);
	if (r == 0 && !(*out = u ? unet_doc(eng, u) : network_doc(eng, network, true)))
		r = berr_set(e, ENOMEM, "network %s", name);
	pthread_mutex_unlock(&eng->lock);
	return r;
}

int eng_network_create(struct eng *eng, json_t *body, char **id, berr *e)
{
	pthread_mutex_lock(&eng->lock);
	int r = eng_unet_create(eng, body, id, e);
	pthread_mutex_unlock(&eng->lock);
	return r;
}

/* Remove u unless a running container uses it (EPERM, Docker's 403 and words). Under the lock. */
static int unet_remove_checked(struct eng *eng, struct eng_unet *u, berr *e)
{
	if (unet_in_use(eng, u))
		return berr_plain(e, EPERM, "error while removing network: network %s id %s has active endpoints",
				  u->name, u->id);
	return eng_unet_remove(eng, u, e);
}

int eng_network_remove(struct eng *eng, const char *name, berr *e)
{
	int network;
	struct eng_unet *u;
	pthread_mutex_lock(&eng->lock);
	int r = network_find(eng, name, &network, &u, e);
	if (r == 0 && !u)
		r = berr_plain(e, EPERM, "%s is a pre-defined network and cannot be removed", eng_net_names[network]);
	else if (r == 0)
		r = unet_remove_checked(eng, u, e);
	pthread_mutex_unlock(&eng->lock);
	return r;
}

int eng_network_prune(struct eng *eng, json_t *filters, json_t **out, berr *e)
{
	static const char *const known[] = {"label", "label!", "until", NULL};
	if (b_filters_check(filters, known, e) < 0)
		return -1;
	struct timespec until = {0}, now;
	json_t *until_v = json_object_get(filters, "until");
	if (until_v) {
		/* {"until":["1h"]}, or the docker CLI's {"until":{"1h":true}} */
		const char *v = json_is_object(until_v) ? json_object_iter_key(json_object_iter(until_v))
							: json_string_value(json_array_get(until_v, 0));
		clock_gettime(CLOCK_REALTIME, &now);
		if (!v || !b_time_parse_ago(v, &now, &until))
			return berr_invalid(e, "invalid filter 'until=%s'", v ? v : "");
	}
	json_t *deleted = json_array();
	pthread_mutex_lock(&eng->lock);
	for (size_t i = eng->net->n_unets; i-- > 0;) {
		struct eng_unet *u = eng->net->unets[i];
		struct match_ctx m = {u->doc, false};
		struct timespec created;
		if (unet_in_use(eng, u) ||
		    (b_filter_given(filters, "label") && b_filter_any(filters, "label", label_missing, &m)))
			continue;
		json_t *neg = json_object_get(filters, "label!");
		bool excluded = false;
		size_t k;
		json_t *v;
		json_array_foreach (neg, k, v)
			excluded = excluded || match_label(json_string_value(v) ?: "", &m);
		if (excluded ||
		    (until_v && b_time_parse(json_string_value(json_object_get(u->doc, "Created")), &created) &&
		     created.tv_sec >= until.tv_sec))
			continue;
		json_t *name = json_string(u->name);
		berr err = {0};
		if (eng_unet_remove(eng, u, &err) == 0)
			json_array_insert(deleted, 0, name);
		else
			fprintf(stderr, "berthd: pruning networks: %s\n", berr_msg(&err));
		json_decref(name);
		berr_clear(&err);
	}
	pthread_mutex_unlock(&eng->lock);
	*out = json_pack("{s:o}", "NetworksDeleted",
			 json_array_size(deleted) ? deleted : (json_decref(deleted), json_null()));
	return 0;
}

int eng_network_connect(struct eng *eng, const char *name, json_t *body, bool connect, berr *e)
{
	if (!json_is_object(body))
		return berr_invalid(e, "the request's body must be an object with Container");
	const char *container = json_string_value(json_object_get(body, "Container"));
	if (!container || !*container)
		return berr_invalid(e, "Container: expected a container's name or ID");
	json_t *epc = json_object_get(body, "EndpointConfig");
	if (epc && !json_is_null(epc) && !json_is_object(epc))
		return berr_invalid(e, "EndpointConfig: expected an object");
	int network;
	struct eng_unet *u;
	struct ctr *c = NULL;
	pthread_mutex_lock(&eng->lock);
	int r = network_find(eng, name, &network, &u, e);
	if (r == 0)
		r = ctr_find(eng, container, &c, e);
	if (r == 0 && !u)
		r = connect ? ctr_net_connect_predefined(eng, c, network, e)
			    : ctr_net_disconnect_predefined(eng, c, network, e);
	else if (r == 0)
		r = connect ? ctr_net_connect(eng, c, u, json_is_object(epc) ? epc : NULL, e)
			    : ctr_net_disconnect(eng, c, u, json_is_true(json_object_get(body, "Force")), e);
	if (c)
		ctr_put(eng, c);
	pthread_mutex_unlock(&eng->lock);
	return r;
}
