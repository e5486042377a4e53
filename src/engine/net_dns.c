/*
 * A container's names and resolver. On a user network its /etc/resolv.conf names 127.0.0.11, where
 * berthd's DNS server (net/dns.c) listens inside the container's namespace and answers the names
 * of the container's networks (its name, aliases and short ID on each), forwarding the rest to
 * HostConfig.Dns or the host's name servers. Elsewhere resolv.conf is the host's with --dns,
 * --dns-search and --dns-option in place of its own lines. Under the engine lock.
 */
#include "engine/net_attach.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

/* The host's resolv.conf: name servers (loopback ones too when with_loopback), search and options lines. */
struct resolv {
	char *servers, *search; /* "nameserver x\n...", "search x\n" */
	char *options;          /* the options alone, each after a space, on one line */
	uint32_t up[8];
	size_t n_up;
};

static void resolv_free(struct resolv *r)
{
	free(r->servers);
	free(r->search);
	free(r->options);
}

/* A list of strings (Dns, DnsSearch, DnsOptions) of HostConfig; NULL when absent or empty. */
static json_t *host_list(const struct ctr *c, const char *key)
{
	json_t *v = json_object_get(json_object_get(c->doc, "HostConfig"), key);
	return json_array_size(v) > 0 ? v : NULL;
}

/* Append "prefix v1 v2 ...\n" of a list. */
static void put_list(FILE *f, const char *prefix, json_t *list)
{
	size_t i;
	json_t *v;
	fputs(prefix, f);
	json_array_foreach (list, i, v)
		fprintf(f, "%s%s", i ? " " : "", json_string_value(v) ?: "");
	fputc('\n', f);
}

/* The host's lines, with the container's own in their place. */
static int resolv_read(const struct ctr *c, struct resolv *r, bool with_loopback, berr *e)
{
	_cleanup_free_ char *text = NULL;
	berr ignored = {0};
	if (b_read_file("/etc/resolv.conf", &text, NULL, &ignored) < 0)
		text = NULL;
	berr_clear(&ignored);
	size_t ls = 0, lq = 0, lo = 0;
	FILE *servers = open_memstream(&r->servers, &ls), *search = open_memstream(&r->search, &lq),
	     *options = open_memstream(&r->options, &lo);
	if (!servers || !search || !options) {
		if (servers)
			fclose(servers);
		if (search)
			fclose(search);
		if (options)
			fclose(options);
		return berr_sys(e, "container %s: resolv.conf", c->id);
	}
	json_t *dns = host_list(c, "Dns"), *dns_search = host_list(c, "DnsSearch"),
	       *dns_options = host_list(c, "DnsOptions");
	char *save = NULL;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char word[16] = "", value[256] = "";
		if (sscanf(line, "%15s %255s", word, value) < 1)
			continue;
		if (strcmp(word, "nameserver") == 0 && !dns) {
			uint32_t ip;
			bool v4 = net_ip_parse(value, &ip);
			if (v4 && r->n_up < 8)
				r->up[r->n_up++] = ip;
			if (with_loopback || !(strncmp(value, "127.", 4) == 0 || strcmp(value, "::1") == 0))
				fprintf(servers, "%s\n", line);
		} else if ((strcmp(word, "search") == 0 || strcmp(word, "domain") == 0) && !dns_search) {
			fprintf(search, "%s\n", line);
		} else if (strcmp(word, "options") == 0 && !dns_options) {
			fprintf(options, " %s", line + strspn(line + 7, " \t") + 7);
		}
	}
	size_t i;
	json_t *v;
	json_array_foreach (dns, i, v) {
		uint32_t ip;
		if (net_ip_parse(json_string_value(v) ?: "", &ip) && r->n_up < 8)
			r->up[r->n_up++] = ip;
		fprintf(servers, "nameserver %s\n", json_string_value(v) ?: "");
	}
	if (dns_search)
		put_list(search, "search ", dns_search);
	json_array_foreach (dns_options, i, v)
		fprintf(options, " %s", json_string_value(v) ?: "");
	int bad = fclose(servers) | fclose(search) | fclose(options);
	return bad ? berr_set(e, ENOMEM, "container %s: resolv.conf", c->id) : 0;
}

/* resolv.conf written in place (it is bind-mounted into a container that may run): embedded or the host's. */
static int resolv_write(struct eng *eng, struct ctr *c, const struct resolv *r, bool embedded, berr *e)
{
	_cleanup_free_ char *path = ctr_path(eng, c, "resolv.conf"), *text = NULL;
	/* Docker's ndots:0 first: a short name is a container's, asked as it is before any search domain. */
	bool opts = strspn(r->options, " \n") < strlen(r->options);
	int n = embedded ? asprintf(&text, "nameserver 127.0.0.11\n%soptions ndots:0%s\n", r->search, r->options)
			 : asprintf(&text, "%s%s%s%s%s", r->servers, r->search, opts ? "options" : "",
				    opts ? r->options : "", opts ? "\n" : "");
	if (!path || n < 0)
		return berr_set(e, ENOMEM, "container %s: resolv.conf", c->id);
	return b_write_file(path, text, strlen(text), 0644, e);
}

int ctr_dns_attach(struct eng *eng, struct ctr *c, int netns_fd, berr *e)
{
	struct eng_net *n = eng->net;
	net_dns_names_drop(n->dns, c->id);
	const char *scope[64];
	size_t n_scope = 0;
	/* Only internal networks: no way out, not even for names (Docker's embedded DNS does not forward then). */
	bool external = eng_net_kind_of(c) == ENG_KIND_BRIDGE;
	const char *key;
	json_t *ep;
	json_object_foreach (json_object_get(c->doc, "BerthNetworks"), key, ep) {
		uint32_t ip;
		struct eng_unet *u = NULL;
		const char *id = json_string_value(json_object_get(ep, "NetworkID")) ?: "";
		for (size_t i = 0; i < n->n_unets && !u; i++)
			if (strcmp(n->unets[i]->id, id) == 0)
				u = n->unets[i];
		if (!u || !net_ip_parse(json_string_value(json_object_get(ep, "IPAddress")) ?: "", &ip) ||
		    n_scope == 64)
			continue;
		json_t *names = ctr_endpoint_dns_names(c, ep);
		const char *list[64];
		size_t n_names = 0, i;
		json_t *v;
		json_array_foreach (names, i, v)
			if (n_names < 64)
				list[n_names++] = json_string_value(v);
		int r = net_dns_names_set(n->dns, u->id, c->id, list, n_names, ip, e);
		json_decref(names);
		if (r < 0)
			return -1;
		scope[n_scope++] = u->id;
		external = external || !u->internal;
	}
	struct resolv rv = {0};
	int r = resolv_read(c, &rv, n_scope > 0, e);
	if (r == 0 && n_scope > 0)
		r = net_dns_serve(n->dns, c->id, netns_fd, scope, n_scope, rv.up, external ? rv.n_up : 0, e);
	else if (r == 0)
		net_dns_stop(n->dns, c->id);
	/* The bridge's containers keep the host's resolv.conf unless they ask for their own. */
	bool own = n_scope > 0 || host_list(c, "Dns") || host_list(c, "DnsSearch") || host_list(c, "DnsOptions");
	if (r == 0 && (own || eng_net_kind_of(c) == ENG_KIND_BRIDGE || eng_net_kind_of(c) == ENG_KIND_USER))
		r = resolv_write(eng, c, &rv, n_scope > 0, e);
	resolv_free(&rv);
	return r;
}

int ctr_dns_plain(struct eng *eng, struct ctr *c, berr *e)
{
	if (!host_list(c, "Dns") && !host_list(c, "DnsSearch") && !host_list(c, "DnsOptions"))
		return 0;
	struct resolv rv = {0};
	int r = resolv_read(c, &rv, eng_net_kind_of(c) == ENG_KIND_HOST, e);
	if (r == 0)
		r = resolv_write(eng, c, &rv, false, e);
	resolv_free(&rv);
	return r;
}

void ctr_net_renamed(struct eng *eng, struct ctr *c)
{
	const char *key = json_string_value(json_object_get(json_object_get(c->doc, "BerthNetwork"), "SandboxKey"));
	if (!ctr_running(c) || !key || json_object_size(json_object_get(c->doc, "BerthNetworks")) == 0)
		return;
	berr e = {0};
	int fd = open(key, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		berr_sys(&e, "opening %s", key);
	if (fd < 0 || ctr_dns_attach(eng, c, fd, &e) < 0)
		fprintf(stderr, "berthd: container %s: its names: %s\n", c->id, berr_msg(&e));
	if (fd >= 0)
		close(fd);
	berr_clear(&e);
}

void ctr_dns_release(struct eng *eng, struct ctr *c)
{
	if (!eng->net->dns)
		return;
	net_dns_names_drop(eng->net->dns, c->id);
	net_dns_stop(eng->net->dns, c->id);
}
