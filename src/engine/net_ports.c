/* Published ports: HostConfig.PortBindings and PublishAllPorts checked, resolved to free host ports, and as DNAT rules.
 */
#include "engine/net_attach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"

enum { EPHEMERAL_LO = 32768, EPHEMERAL_HI = 60999 };

/* "80" or "8000-8010": false when it is neither (or out of 1-65535, or backwards). */
static bool range_parse(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return false;
	unsigned long a = strtoul(s, &end, 10), b = a;
	if (*end == '-') {
		const char *second = end + 1;
		if (!*second || *second == '-' || *second == '+')
			return false;
		b = strtoul(second, &end, 10);
	}
	if (*end || a < 1 || a > 65535 || b < a || b > 65535)
		return false;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return true;
}

/* "80/tcp" -> 80-80 tcp; "80" is tcp. */
static int key_parse(const char *key, unsigned *lo, unsigned *hi, char proto[5], berr *e)
{
	const char *slash = strchr(key, '/');
	_cleanup_free_ char *port = strndup(key, slash ? (size_t)(slash - key) : strlen(key));
	const char *p = slash ? slash + 1 : "tcp";
	if (!port)
		return berr_set(e, ENOMEM, "ports");
	if (!range_parse(port, lo, hi))
		return berr_invalid(e, "invalid port specification: \"%s\"", port);
	if (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "sctp"))
		return berr_invalid(e, "invalid proto: %s", p);
	snprintf(proto, 5, "%s", p);
	return 0;
}

/* What the container asks for: a container port, where on the host (lo 0: any free port). */
struct want {
	char proto[5];
	unsigned ctr_port;
	uint32_t host_ip;
	unsigned lo, hi;
};

struct wants {
	struct want *v;
	size_t n, cap;
};

static int want_add(struct wants *w, const struct want *one, berr *e)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct want *v = realloc(w->v, cap * sizeof *v);
		if (!v)
			return berr_set(e, ENOMEM, "ports");
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = *one;
	return 0;
}

/* One PortBindings entry: its bindings, in w (NULL: only checked). */
static int binding_parse(const char *key, json_t *entry, struct wants *w, berr *e)
{
	unsigned clo, chi;
	char proto[5];
	if (key_parse(key, &clo, &chi, proto, e) < 0)
		return -1;
	if (!json_is_object(entry))
		return berr_invalid(e, "PortBindings.%s: expected an object, got %s", key, b_json_type_name(entry));
	json_t *jip = json_object_get(entry, "HostIp"), *jport = json_object_get(entry, "HostPort");
	if ((jip && !json_is_string(jip) && !json_is_null(jip)) ||
	    (jport && !json_is_string(jport) && !json_is_null(jport)))
		return berr_invalid(e, "PortBindings.%s: HostIp and HostPort must be strings", key);
	const char *ip = json_string_value(jip) ?: "", *hp = json_string_value(jport) ?: "";
	uint32_t host_ip = 0;
	if (*ip && !net_ip_parse(ip, &host_ip)) {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, ip, &a6) == 1)
			return berr_plain(e, ENOTSUP, "publishing on IPv6 address %s is not supported yet", ip);
		return berr_invalid(e, "invalid IP address: %s", ip);
	}
	unsigned hlo = 0, hhi = 0;
	if (*hp && strcmp(hp, "0") != 0 && !range_parse(hp, &hlo, &hhi))
		return berr_invalid(e, "invalid port specification: \"%s\"", hp);
	unsigned count = chi - clo + 1;
	if (count > 1 && hlo && hhi - hlo + 1 != count)
		return berr_invalid(e, "Invalid ranges specified for container and host Ports: %s and %s", key, hp);
	for (unsigned i = 0; w && i < count; i++) {
		struct want one = {.ctr_port = clo + i, .host_ip = host_ip};
		memcpy(one.proto, proto, sizeof one.proto);
		if (hlo && count > 1)
			one.lo = one.hi = hlo + i;
		else
			one.lo = hlo, one.hi = hhi;
		if (want_add(w, &one, e) < 0)
			return -1;
	}
	return 0;
}

static int bindings_parse(json_t *host_config, struct wants *w, berr *e)
{
	json_t *pb = json_object_get(host_config, "PortBindings");
	if (!pb || json_is_null(pb))
		return 0;
	if (!json_is_object(pb))
		return berr_invalid(e, "HostConfig.PortBindings: expected an object, got %s", b_json_type_name(pb));
	const char *key;
	json_t *list;
	json_object_foreach (pb, key, list) {
		unsigned lo, hi;
		char proto[5];
		if (key_parse(key, &lo, &hi, proto, e) < 0)
			return -1;
		if (json_is_null(list))
			continue;
		if (!json_is_array(list))
			return berr_invalid(e, "PortBindings.%s: expected an array, got %s", key,
					    b_json_type_name(list));
		size_t i;
		json_t *entry;
		json_array_foreach (list, i, entry)
			if (binding_parse(key, entry, w, e) < 0)
				return -1;
	}
	return 0;
}

int eng_ports_check(json_t *host_config, berr *e)
{
	json_t *pa = json_object_get(host_config, "PublishAllPorts");
	if (pa && !json_is_boolean(pa) && !json_is_null(pa))
		return berr_invalid(e, "HostConfig.PublishAllPorts: expected a boolean, got %s", b_json_type_name(pa));
	return bindings_parse(host_config, NULL, e);
}

static void port_key(char *buf, size_t size, unsigned port, const char *proto)
{
	snprintf(buf, size, "%u/%s", port, proto);
}

/* Does a Ports object hold proto ip:port (an address of 0 or 0.0.0.0 is every address)? */
static bool ports_hold(json_t *ports, const char *proto, uint32_t ip, unsigned port)
{
	char hp[8];
	snprintf(hp, sizeof hp, "%u", port);
	const char *key;
	json_t *list;
	json_object_foreach (ports, key, list) {
		const char *slash = strchr(key, '/');
		if (!slash || strcmp(slash + 1, proto) != 0)
			continue;
		size_t i;
		json_t *b;
		json_array_foreach (list, i, b) {
			uint32_t other = 0;
			net_ip_parse(json_string_value(json_object_get(b, "HostIp")), &other);
			if (strcmp(json_string_value(json_object_get(b, "HostPort")) ?: "", hp) == 0 &&
			    (!ip || !other || ip == other))
				return true;
		}
	}
	return false;
}

/* Is proto ip:port held by a running container other than self, or already in mine? */
static bool port_held(struct eng *eng, const struct ctr *self, json_t *mine, const char *proto, uint32_t ip,
		      unsigned port)
{
	if (ports_hold(mine, proto, ip, port))
		return true;
	for (const struct ctr *c = eng->ctrs; c; c = c->next)
		if (c != self && ctr_running(c) &&
		    ports_hold(json_object_get(json_object_get(c->doc, "BerthNetwork"), "Ports"), proto, ip, port))
			return true;
	return false;
}

/*
 * Bind proto ip:port on the host: 0 with *fd the bound socket (-1 for sctp: not every kernel has
 * SCTP sockets, the rule alone decides), or the errno of the bind (EADDRINUSE: someone has it).
 */
static int port_open(const char *proto, uint32_t ip, unsigned port, int *fd)
{
	*fd = -1;
	if (strcmp(proto, "sctp") == 0)
		return 0;
	bool tcp = strcmp(proto, "udp") != 0;
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(ip)};
	/*
	 * Without SO_REUSEADDR first: then no host process can bind (and listen on) the port while we
	 * hold it. A TCP port that only connections in TIME_WAIT still name is free all the same: bound
	 * again with SO_REUSEADDR.
	 */
	for (int reuse = 0; reuse <= (tcp ? 1 : 0); reuse++) {
		int s = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		if (s < 0)
			return errno;
		if (reuse)
			setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
		if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
			*fd = s;
			return 0;
		}
		int err = errno;
		close(s);
		if (err != EADDRINUSE || reuse)
			return err;
	}
	return EADDRINUSE;
}

static int hold_add(struct eng_net *n, const char *owner, int fd)
{
	if (fd < 0)
		return 0;
	if (n->n_holds == n->cap_holds) {
		size_t cap = n->cap_holds ? n->cap_holds * 2 : 16;
		struct eng_port_hold *v = realloc(n->holds, cap * sizeof *v);
		if (!v) {
			close(fd);
			return -1;
		}
		n->holds = v;
		n->cap_holds = cap;
	}
	snprintf(n->holds[n->n_holds].owner, sizeof n->holds[n->n_holds].owner, "%s", owner);
	n->holds[n->n_holds++].fd = fd;
	return 0;
}

void eng_ports_unhold(struct eng *eng, const char *owner)
{
	struct eng_net *n = eng->net;
	size_t k = 0;
	for (size_t i = 0; i < n->n_holds; i++) {
		if (!owner || strcmp(n->holds[i].owner, owner) == 0)
			close(n->holds[i].fd);
		else
			n->holds[k++] = n->holds[i];
	}
	n->n_holds = k;
	if (!owner) {
		free(n->holds);
		n->holds = NULL;
		n->cap_holds = 0;
	}
}

void eng_ports_hold(struct eng *eng, const char *owner, json_t *ports)
{
	const char *key;
	json_t *list;
	json_object_foreach (ports, key, list) {
		const char *slash = strchr(key, '/');
		size_t i;
		json_t *b;
		json_array_foreach (list, i, b) {
			uint32_t ip = 0;
			const char *hp = json_string_value(json_object_get(b, "HostPort")) ?: "0";
			net_ip_parse(json_string_value(json_object_get(b, "HostIp")), &ip);
			int fd, err = port_open(slash ? slash + 1 : "tcp", ip, (unsigned)strtoul(hp, NULL, 10), &fd);
			if (err)
				fprintf(stderr, "berthd: container %s: holding host port %s for %s: %s\n", owner, hp,
					key, strerror(err));
			else if (hold_add(eng->net, owner, fd) < 0)
				fprintf(stderr, "berthd: container %s: holding host port %s: out of memory\n", owner,
					hp);
		}
	}
}

static int bind_one(struct eng *eng, const struct ctr *c, const char *endpoint_id, uint32_t ctr_ip, json_t *ports,
		    const struct want *w, berr *e)
{
	char ip[NET_IP_LEN], cip[NET_IP_LEN], key[16];
	net_ip_format(w->host_ip, ip);
	net_ip_format(ctr_ip, cip);
	const char *name = c->name + 1;
	unsigned lo = w->lo, hi = w->hi;
	bool dynamic = lo == 0;
	if (dynamic)
		lo = EPHEMERAL_LO, hi = EPHEMERAL_HI;
	unsigned span = hi - lo + 1, start = lo;
	if (dynamic && eng->net->next_port >= lo && eng->net->next_port <= hi)
		start = eng->net->next_port;
	int last_err = 0;
	for (unsigned i = 0; i < span; i++) {
		unsigned port = lo + (start - lo + i) % span;
		if (port_held(eng, c, ports, w->proto, w->host_ip, port)) {
			last_err = EADDRINUSE;
			if (!dynamic && span == 1)
				return berr_plain(
				    e, EADDRINUSE,
				    "driver failed programming external connectivity on endpoint %s (%s): "
				    "Bind for %s:%u failed: port is already allocated",
				    name, endpoint_id, ip, port);
			continue;
		}
		int fd, err = port_open(w->proto, w->host_ip, port, &fd);
		if (err == EADDRINUSE) {
			last_err = err;
			continue;
		}
		if (err)
			return berr_plain(e, err,
					  "driver failed programming external connectivity on endpoint %s (%s): failed "
					  "to bind host port for %s:%u:%s:%u/%s: %s",
					  name, endpoint_id, ip, port, cip, w->ctr_port, w->proto, strerror(err));
		if (hold_add(eng->net, c->id, fd) < 0)
			return berr_set(e, ENOMEM, "holding host port %u", port);
		if (dynamic)
			eng->net->next_port = port + 1;
		port_key(key, sizeof key, w->ctr_port, w->proto);
		json_t *list = json_object_get(ports, key);
		if (!json_is_array(list))
			json_object_set_new(ports, key, list = json_array());
		char hp[8];
		snprintf(hp, sizeof hp, "%u", port);
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hp));
		return 0;
	}
	if (dynamic)
		return berr_plain(e, EADDRINUSE,
				  "driver failed programming external connectivity on endpoint %s (%s): no free host "
				  "port in %u-%u for %u/%s",
				  name, endpoint_id, lo, hi, w->ctr_port, w->proto);
	return berr_plain(e, last_err ?: EADDRINUSE,
			  "driver failed programming external connectivity on endpoint %s (%s): failed to bind host "
			  "port for %s:%u%s%.0u:%s:%u/%s: address already in use",
			  name, endpoint_id, ip, lo, hi > lo ? "-" : "", hi > lo ? hi : 0, cip, w->ctr_port, w->proto);
}

int eng_ports_bind(struct eng *eng, const struct ctr *c, const char *endpoint_id, uint32_t ctr_ip, json_t **out,
		   berr *e)
{
	json_t *hc = json_object_get(c->doc, "HostConfig"), *config = json_object_get(c->doc, "Config");
	struct wants w = {0};
	json_t *ports = json_object();
	if (!ports)
		return berr_set(e, ENOMEM, "ports");
	/* Every exposed port is listed, null until bound. */
	const char *key;
	json_t *v;
	json_object_foreach (json_object_get(config, "ExposedPorts"), key, v) {
		unsigned lo, hi;
		char proto[5], k[16];
		berr ignored = {0};
		if (key_parse(key, &lo, &hi, proto, &ignored) < 0) {
			berr_clear(&ignored);
			continue; /* an image's odd entry is no reason to fail */
		}
		for (unsigned p = lo; p <= hi; p++) {
			port_key(k, sizeof k, p, proto);
			json_object_set_new(ports, k, json_null());
		}
	}
	int r = bindings_parse(hc, &w, e);
	/* PublishAllPorts: each exposed port without a binding of its own gets a free one. */
	if (r == 0 && json_is_true(json_object_get(hc, "PublishAllPorts"))) {
		json_object_foreach (ports, key, v) {
			unsigned port = (unsigned)strtoul(key, NULL, 10);
			const char *proto = strchr(key, '/') + 1;
			bool bound = false;
			for (size_t i = 0; i < w.n && !bound; i++)
				bound = w.v[i].ctr_port == port && strcmp(w.v[i].proto, proto) == 0;
			struct want one = {.ctr_port = port};
			snprintf(one.proto, sizeof one.proto, "%s", proto);
			if (!bound && (r = want_add(&w, &one, e)) < 0)
				break;
		}
	}
	for (size_t i = 0; r == 0 && i < w.n; i++)
		r = bind_one(eng, c, endpoint_id, ctr_ip, ports, &w.v[i], e);
	free(w.v);
	if (r < 0) {
		json_decref(ports);
		return -1;
	}
	*out = ports;
	return 0;
}

int eng_ports_rules(json_t *ports, uint32_t ctr_ip, struct net_port_rule **rules, size_t *n, berr *e)
{
	size_t count = 0, k = 0;
	const char *key;
	json_t *list;
	json_object_foreach (ports, key, list)
		count += json_array_size(list);
	*rules = calloc(count ? count : 1, sizeof **rules);
	if (!*rules)
		return berr_set(e, ENOMEM, "ports");
	json_object_foreach (ports, key, list) {
		const char *slash = strchr(key, '/');
		size_t i;
		json_t *b;
		json_array_foreach (list, i, b) {
			struct net_port_rule *r = &(*rules)[k];
			snprintf(r->proto, sizeof r->proto, "%s", slash ? slash + 1 : "tcp");
			r->ctr_port = (uint16_t)strtoul(key, NULL, 10);
			r->ctr_ip = ctr_ip;
			r->host_ip = 0;
			net_ip_parse(json_string_value(json_object_get(b, "HostIp")), &r->host_ip);
			r->host_port =
			    (uint16_t)strtoul(json_string_value(json_object_get(b, "HostPort")) ?: "0", NULL, 10);
			if (r->host_port && r->ctr_port)
				k++;
		}
	}
	*n = k;
	return 0;
}
