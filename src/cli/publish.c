/*
 * run/create's network flags: -p/--publish ([ip:][hostPort:]containerPort[/proto], ports or
 * ranges, as docker's nat.ParsePortSpec reads them), -P, --expose, --ip, --network-alias, --dns,
 * --dns-search, --dns-option, --add-host, into Config and HostConfig as the docker CLI sends them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

/* "80" or "8000-8010" -> [*lo, *hi]; false when not ports. */
static bool port_range(const char *s, size_t n, unsigned *lo, unsigned *hi)
{
	char buf[32];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	unsigned long a = strtoul(buf, &end, 10), b = a;
	if (end == buf)
		return false;
	if (*end == '-') {
		char *start = end + 1;
		b = strtoul(start, &end, 10);
		if (end == start)
			return false;
	}
	if (*end || a == 0 || a > 65535 || b > 65535 || b < a)
		return false;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return true;
}

static void expose(json_t *cfg, unsigned port, const char *proto)
{
	json_t *exposed = json_object_get(cfg, "ExposedPorts");
	if (!exposed)
		json_object_set_new(cfg, "ExposedPorts", exposed = json_object());
	char key[32];
	snprintf(key, sizeof key, "%u/%s", port, proto);
	json_object_set_new(exposed, key, json_object());
}

/* One -p value into ExposedPorts and PortBindings. */
static int publish_one(struct cli_args *a, const char *spec, json_t *cfg, json_t *host, berr *e)
{
	char *copy = strdup(spec);
	if (!copy)
		return berr_set(e, ENOMEM, "-p");
	const char *proto = "tcp";
	char *slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
	}
	/* The last two colons split ip, host port and container port; an IPv6 ip is in brackets. */
	char *ip = NULL, *host_port = NULL, *ctr_port = copy;
	char *last = strrchr(copy, ':');
	if (last) {
		*last = '\0';
		ctr_port = last + 1;
		host_port = copy;
		char *prev = strrchr(copy, ':');
		if (prev && !strchr(copy, ']')) {
			*prev = '\0';
			ip = copy;
			host_port = prev + 1;
		} else if (copy[0] == '[') {
			char *close = strchr(copy, ']');
			if (close && close[1] == ':') {
				*close = '\0';
				ip = copy + 1;
				host_port = close + 2;
			}
		}
	}
	unsigned clo, chi, hlo = 0, hhi = 0;
	int r = 0;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")) {
		r = -1;
		cli_bad_flag_value(a, "publish", spec, "invalid proto");
	} else if (!port_range(ctr_port, strlen(ctr_port), &clo, &chi)) {
		r = -1;
		char why[96];
		snprintf(why, sizeof why, "Invalid containerPort: %s", ctr_port);
		cli_bad_flag_value(a, "publish", spec, why);
	} else if (host_port && *host_port && !port_range(host_port, strlen(host_port), &hlo, &hhi)) {
		r = -1;
		char why[96];
		snprintf(why, sizeof why, "Invalid hostPort: %s", host_port);
		cli_bad_flag_value(a, "publish", spec, why);
	} else if (hlo && hlo != hhi && chi != clo && hhi - hlo != chi - clo) {
		r = -1;
		cli_bad_flag_value(a, "publish", spec, "port ranges don't match");
	}
	if (r < 0) {
		free(copy);
		return berr_plain(e, EINVAL, "%s", "");
	}
	json_t *bindings = json_object_get(host, "PortBindings");
	if (!bindings)
		json_object_set_new(host, "PortBindings", bindings = json_object());
	for (unsigned p = clo; p <= chi; p++) {
		expose(cfg, p, proto);
		char key[32], hp[16] = "";
		snprintf(key, sizeof key, "%u/%s", p, proto);
		/* A host range for one container port: the daemon picks one in it. */
		if (hlo && hlo == hhi)
			snprintf(hp, sizeof hp, "%u", hlo);
		else if (hlo && chi == clo)
			snprintf(hp, sizeof hp, "%u-%u", hlo, hhi);
		else if (hlo)
			snprintf(hp, sizeof hp, "%u", hlo + (p - clo));
		json_t *list = json_object_get(bindings, key);
		if (!list)
			json_object_set_new(bindings, key, list = json_array());
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", ip ? ip : "", "HostPort", hp));
	}
	free(copy);
	return 0;
}

static json_t *strings(char *const *v)
{
	json_t *arr = json_array();
	for (; *v; v++)
		json_array_append_new(arr, json_string(*v));
	return arr;
}

int cli_network_flags(struct cli_args *a, json_t *cfg, json_t *host, berr *e)
{
	for (char *const *p = cli_arg_list(a, "publish"); *p; p++)
		if (publish_one(a, *p, cfg, host, e) < 0)
			return -1;
	for (char *const *p = cli_arg_list(a, "expose"); *p; p++) {
		const char *slash = strchr(*p, '/');
		unsigned lo, hi;
		if (!port_range(*p, slash ? (size_t)(slash - *p) : strlen(*p), &lo, &hi)) {
			cli_bad_flag_value(a, "expose", *p, "invalid range format for --expose");
			return berr_plain(e, EINVAL, "%s", "");
		}
		for (unsigned port = lo; port <= hi; port++)
			expose(cfg, port, slash ? slash + 1 : "tcp");
	}
	if (cli_arg_bool(a, "publish-all"))
		json_object_set_new(host, "PublishAllPorts", json_true());
	if (*cli_arg_list(a, "dns"))
		json_object_set_new(host, "Dns", strings(cli_arg_list(a, "dns")));
	if (*cli_arg_list(a, "dns-search"))
		json_object_set_new(host, "DnsSearch", strings(cli_arg_list(a, "dns-search")));
	if (*cli_arg_list(a, "dns-option"))
		json_object_set_new(host, "DnsOptions", strings(cli_arg_list(a, "dns-option")));
	for (char *const *p = cli_arg_list(a, "add-host"); *p; p++)
		if (!strchr(*p, ':') && !strchr(*p, '=')) {
			cli_bad_flag_value(a, "add-host", *p, "bad format for add-host");
			return berr_plain(e, EINVAL, "%s", "");
		}
	if (*cli_arg_list(a, "add-host"))
		json_object_set_new(host, "ExtraHosts", strings(cli_arg_list(a, "add-host")));
	/* --ip and --network-alias go with the network named by --network, as docker sends them. */
	const char *ip = cli_arg_str(a, "ip"), *net = cli_arg_str(a, "network");
	char *const *aliases = cli_arg_list(a, "network-alias");
	if ((ip && *ip) || *aliases) {
		json_t *ep = json_object();
		if (ip && *ip)
			json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
		if (*aliases)
			json_object_set_new(ep, "Aliases", strings(aliases));
		json_object_set_new(cfg, "NetworkingConfig",
				    json_pack("{s:{s:o}}", "EndpointsConfig", net && *net ? net : "default", ep));
	}
	return 0;
}
