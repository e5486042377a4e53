/* Networks in Docker's shapes: list and inspect of the predefined ones, and containers' NetworkSettings. */
#include "engine/networks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/net_attach.h"
#include "lib/filters.h"

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

/* Docker's Network object; with_containers: the running containers on it (inspect). Under the lock. */
static json_t *network_doc(struct eng *eng, int network, bool with_containers)
{
	struct eng_net *n = eng->net;
	json_t *config = json_array(), *options = json_object(), *containers = json_object();
	if (network == ENG_NET_BRIDGE) {
		char subnet[24], gw[NET_IP_LEN];
		net_subnet_format(&n->subnet, subnet, sizeof subnet);
		net_ip_format(n->gateway, gw);
		json_array_append_new(config, json_pack("{s:s, s:s}", "Subnet", subnet, "Gateway", gw));
		json_object_set_new(options, "com.docker.network.bridge.default_bridge", json_string("true"));
		json_object_set_new(options, "com.docker.network.bridge.enable_icc", json_string("true"));
		json_object_set_new(options, "com.docker.network.bridge.enable_ip_masquerade", json_string("true"));
		json_object_set_new(options, "com.docker.network.bridge.host_binding_ipv4", json_string("0.0.0.0"));
		json_object_set_new(options, "com.docker.network.bridge.name", json_string(n->bridge));
		json_object_set_new(options, "com.docker.network.driver.mtu", json_string("1500"));
	}
	for (struct ctr *c = eng->ctrs; with_containers && c; c = c->next) {
		const char *mode =
		    json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
		if (!ctr_running(c) || eng_net_mode_network(mode) != network)
			continue;
		json_t *bn = json_object_get(c->doc, "BerthNetwork");
		char v4[32] = "";
		const char *ip = json_string_value(json_object_get(bn, "IPAddress"));
		if (ip && *ip)
			snprintf(v4, sizeof v4, "%s/%d", ip,
				 (int)json_integer_value(json_object_get(bn, "IPPrefixLen")));
		json_object_set_new(containers, c->id,
				    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c->name + 1, "EndpointID",
					      json_string_value(json_object_get(bn, "EndpointID")) ?: "", "MacAddress",
					      json_string_value(json_object_get(bn, "MacAddress")) ?: "", "IPv4Address",
					      v4, "IPv6Address", ""));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:o, "
			 "s:{}}",
			 "Name", eng_net_names[network], "Id", n->ids[network], "Created", n->created[network], "Scope",
			 "local", "Driver", drivers[network], "EnableIPv6", 0, "IPAM", "Driver", "default", "Options",
			 "Config", config, "Internal", 0, "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "",
			 "ConfigOnly", 0, "Containers", containers, "Options", options, "Labels");
}

/* The predefined network a name, ID or unique ID prefix names; ENOENT with Docker's words. */
static int network_find(struct eng *eng, const char *name, int *out, berr *e)
{
	struct eng_net *n = eng->net;
	int found = -1;
	for (int i = 0; i < ENG_NET_COUNT && found < 0; i++)
		if (strcmp(name, eng_net_names[i]) == 0 || strcmp(name, n->ids[i]) == 0)
			found = i;
	for (int i = 0; i < ENG_NET_COUNT && found < 0 && *name; i++) {
		if (strncmp(n->ids[i], name, strlen(name)) != 0)
			continue;
		for (int j = i + 1; j < ENG_NET_COUNT; j++)
			if (strncmp(n->ids[j], name, strlen(name)) == 0)
				return berr_plain(e, EINVAL, "network %s is ambiguous (%d matches found on name)", name,
						  2);
		found = i;
	}
	if (found < 0)
		return berr_plain(e, ENOENT, "network %s not found", name);
	*out = found;
	return 0;
}

struct match_ctx {
	struct eng *eng;
	int network;
};

static bool match_name(const char *v, void *arg)
{
	struct match_ctx *m = arg;
	return strstr(eng_net_names[m->network], v) != NULL;
}

static bool match_id(const char *v, void *arg)
{
	struct match_ctx *m = arg;
	return strncmp(m->eng->net->ids[m->network], v, strlen(v)) == 0;
}

static bool match_driver(const char *v, void *arg)
{
	return strcmp(drivers[((struct match_ctx *)arg)->network], v) == 0;
}

static bool match_type(const char *v, void *arg)
{
	(void)arg;
	return strcmp(v, "builtin") == 0;
}

static bool match_scope(const char *v, void *arg)
{
	(void)arg;
	return strcmp(v, "local") == 0;
}

static bool match_label(const char *v, void *arg)
{
	(void)arg;
	return b_labels_match(NULL, v);
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
		struct match_ctx m = {eng, i};
		/* dangling=true: networks no container uses; the predefined ones never are. */
		if (!b_filter_any(filters, "name", match_name, &m) || !b_filter_any(filters, "id", match_id, &m) ||
		    !b_filter_any(filters, "driver", match_driver, &m) ||
		    !b_filter_any(filters, "type", match_type, &m) ||
		    !b_filter_any(filters, "scope", match_scope, &m) ||
		    !b_filter_any(filters, "label", match_label, &m) || b_filter_given(filters, "dangling"))
			continue;
		json_array_append_new(arr, network_doc(eng, i, false));
	}
	pthread_mutex_unlock(&eng->lock);
	*out = arr;
	return 0;
}

int eng_network_inspect(struct eng *eng, const char *name, json_t **out, berr *e)
{
	int network;
	pthread_mutex_lock(&eng->lock);
	int r = network_find(eng, name, &network, e);
	if (r == 0 && !(*out = network_doc(eng, network, true)))
		r = berr_set(e, ENOMEM, "network %s", name);
	pthread_mutex_unlock(&eng->lock);
	return r;
}

int eng_network_remove(struct eng *eng, const char *name, berr *e)
{
	int network;
	pthread_mutex_lock(&eng->lock);
	int r = network_find(eng, name, &network, e);
	if (r == 0)
		r = berr_plain(e, EPERM, "%s is a pre-defined network and cannot be removed", eng_net_names[network]);
	pthread_mutex_unlock(&eng->lock);
	return r;
}
