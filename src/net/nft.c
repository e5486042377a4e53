/*
 * NAT and published ports in nftables (libnftables), in a table (family ip) that is berth's alone:
 *
 *   prerouting, output (nat): traffic to a local address jumps to "ports"
 *   ports: one DNAT rule per published port, its comment the owner's ID
 *   postrouting (nat): the subnet masqueraded out of other interfaces; traffic DNATed to the
 *     bridge from 127.0.0.0/8 (localhost access, with route_localnet on the bridge) or from the
 *     subnet itself (hairpin) masqueraded too, so that replies come back through the host.
 *
 *   netpost (from postrouting): the same masquerades for each user network (none out of an internal one)
 *   isolate (from forward, filter): traffic between two of berth's bridges dropped, and any traffic
 *     in or out of an internal network's bridge that does not stay on it
 *
 * Every change is one transaction of libnftables; nothing outside the table is read or touched.
 * Each transaction holds libnftables (loaded at first use, unloaded when the daemon is quiet) and
 * has a context of its own: one kept between them held ~0.5 MB of libnftables' parser and cache
 * state for the daemon's life, and a new one costs ~60 µs.
 */
#include "net/net.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/cleanup.h"
#include "net/libnftables_lazy.h"

struct net_nft {
	char *table, *bridge;
	struct net_subnet subnet;
	struct net_nft_network *nets; /* the other networks' (net_nft_networks), bridge names owned */
	size_t n_nets;
};

static void nets_free(struct net_nft_network *nets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)nets[i].bridge);
	free(nets);
}

void net_nft_close(struct net_nft *n)
{
	if (!n)
		return;
	free(n->table);
	free(n->bridge);
	nets_free(n->nets, n->n_nets);
	free(n);
}

int net_nft_open(const char *table, const char *bridge, const struct net_subnet *subnet, struct net_nft **out, berr *e)
{
	struct net_nft *n = calloc(1, sizeof *n);
	if (!n)
		return berr_set(e, ENOMEM, "nftables");
	n->subnet = *subnet;
	n->table = strdup(table);
	n->bridge = strdup(bridge);
	if (!n->table || !n->bridge) {
		net_nft_close(n);
		return berr_set(e, ENOMEM, "nftables");
	}
	*out = n;
	return 0;
}

/*
 * Run a batch of commands as one transaction. With listing, the output is read as JSON (with
 * the rules' handles) into *listing.
 */
static int run_listing(struct net_nft *n, const char *cmds, const char *what, json_t **listing, berr *e)
{
	_cleanup_lazy_release_ struct lazy_lib *held = lazy_lib_held(&libnftables_lib, e);
	if (!held)
		return berr_wrap(e, "nftables table %s: %s", n->table, what);
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx || nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		if (ctx)
			nft_ctx_free(ctx);
		return berr_set(e, ENOMEM, "nftables: a context");
	}
	if (listing)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	int r = 0;
	if (nft_run_cmd_from_buffer(ctx, cmds) != 0) {
		const char *err = nft_ctx_get_error_buffer(ctx);
		_cleanup_free_ char *first = strndup(err ? err : "", strcspn(err ? err : "", "\n"));
		r = berr_plain(e, EIO, "nftables table %s: %s: %s", n->table, what, first && *first ? first : "failed");
	} else if (listing) {
		json_error_t jerr;
		if (!(*listing = json_loads(nft_ctx_get_output_buffer(ctx), 0, &jerr)))
			r = berr_plain(e, EIO, "nftables table %s: %s: %s", n->table, what, jerr.text);
	}
	nft_ctx_free(ctx);
	return r;
}

static int run(struct net_nft *n, const char *cmds, const char *what, berr *e)
{
	return run_listing(n, cmds, what, NULL, e);
}

/* A growing command text. */
struct text {
	char *s;
	size_t len, cap;
	bool nomem;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *piece = NULL;
	int len = vasprintf(&piece, fmt, ap);
	va_end(ap);
	if (len < 0) {
		t->nomem = true;
		return;
	}
	if (t->len + (size_t)len + 1 > t->cap) {
		size_t cap = (t->len + (size_t)len + 1) * 2;
		char *s = realloc(t->s, cap);
		if (!s) {
			free(piece);
			t->nomem = true;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	memcpy(t->s + t->len, piece, (size_t)len + 1);
	t->len += (size_t)len;
	free(piece);
}

static void add_rules(struct net_nft *n, struct text *t, const char *owner, const struct net_port_rule *rules,
		      size_t n_rules)
{
	for (size_t i = 0; i < n_rules; i++) {
		const struct net_port_rule *r = &rules[i];
		char host[NET_IP_LEN], ctr[NET_IP_LEN];
		net_ip_format(r->host_ip, host);
		net_ip_format(r->ctr_ip, ctr);
		text_add(t, "add rule ip %s ports %s%s%s %s dport %u dnat to %s:%u comment \"%s\"\n", n->table,
			 r->host_ip ? "ip daddr " : "", r->host_ip ? host : "", r->host_ip ? "" : "", r->proto,
			 r->host_port, ctr, r->ctr_port, owner);
	}
}

/* The user networks' chains, flushed and filled again. */
static void add_networks(struct net_nft *n, struct text *t)
{
	/* "add" first: on the first start the table does not exist yet (a rebuild follows). */
	text_add(t,
		 "add table ip %1$s\nadd chain ip %1$s netpost\nadd chain ip %1$s isolate\n"
		 "flush chain ip %1$s netpost\nflush chain ip %1$s isolate\n",
		 n->table);
	for (size_t i = 0; i < n->n_nets; i++) {
		const struct net_nft_network *net = &n->nets[i];
		char subnet[24];
		net_subnet_format(&net->subnet, subnet, sizeof subnet);
		if (!net->internal)
			text_add(t, "add rule ip %s netpost oifname != \"%s\" ip saddr %s masquerade\n", n->table,
				 net->bridge, subnet);
		text_add(t,
			 "add rule ip %1$s netpost oifname \"%2$s\" ip saddr 127.0.0.0/8 masquerade\n"
			 "add rule ip %1$s netpost oifname \"%2$s\" ip saddr %3$s ct status dnat masquerade\n",
			 n->table, net->bridge, subnet);
		if (net->internal)
			text_add(t,
				 "add rule ip %1$s isolate iifname \"%2$s\" oifname != \"%2$s\" drop\n"
				 "add rule ip %1$s isolate oifname \"%2$s\" iifname != \"%2$s\" drop\n",
				 n->table, net->bridge);
	}
	/* Each bridge (the default one too) against every other one. */
	for (size_t i = 0; i <= n->n_nets && n->n_nets > 0; i++) {
		const char *from = i < n->n_nets ? n->nets[i].bridge : n->bridge;
		text_add(t, "add rule ip %s isolate iifname \"%s\" oifname { ", n->table, from);
		bool first = true;
		for (size_t j = 0; j <= n->n_nets; j++) {
			const char *to = j < n->n_nets ? n->nets[j].bridge : n->bridge;
			if (strcmp(to, from) == 0)
				continue;
			text_add(t, "%s\"%s\"", first ? "" : ", ", to);
			first = false;
		}
		text_add(t, " } drop\n");
	}
}

int net_nft_rebuild(struct net_nft *n, const struct net_nft_owner *owners, size_t n_owners, berr *e)
{
	char subnet[24];
	net_subnet_format(&n->subnet, subnet, sizeof subnet);
	struct text t = {0};
	/* "add" first so that "delete" finds a table even on the first start. */
	text_add(&t,
		 "add table ip %1$s\n"
		 "delete table ip %1$s\n"
		 "add table ip %1$s\n"
		 "add chain ip %1$s ports\n"
		 "add chain ip %1$s prerouting { type nat hook prerouting priority -100; policy accept; }\n"
		 "add chain ip %1$s output { type nat hook output priority -100; policy accept; }\n"
		 "add chain ip %1$s postrouting { type nat hook postrouting priority 100; policy accept; }\n"
		 "add rule ip %1$s prerouting fib daddr type local jump ports\n"
		 "add rule ip %1$s output fib daddr type local jump ports\n"
		 "add rule ip %1$s postrouting oifname != \"%2$s\" ip saddr %3$s masquerade\n"
		 "add rule ip %1$s postrouting oifname \"%2$s\" ip saddr 127.0.0.0/8 masquerade\n"
		 "add rule ip %1$s postrouting oifname \"%2$s\" ip saddr %3$s ct status dnat masquerade\n"
		 "add chain ip %1$s netpost\n"
		 "add chain ip %1$s isolate\n"
		 "add chain ip %1$s forward { type filter hook forward priority 0; policy accept; }\n"
		 "add rule ip %1$s postrouting jump netpost\n"
		 "add rule ip %1$s forward jump isolate\n",
		 n->table, n->bridge, subnet);
	add_networks(n, &t);
	for (size_t i = 0; i < n_owners; i++)
		add_rules(n, &t, owners[i].owner, owners[i].rules, owners[i].n_rules);
	int r = t.nomem ? berr_set(e, ENOMEM, "nftables rules") : run(n, t.s, "setting up", e);
	free(t.s);
	return r;
}

int net_nft_networks(struct net_nft *n, const struct net_nft_network *nets, size_t count, berr *e)
{
	struct net_nft_network *copy = calloc(count ? count : 1, sizeof *copy);
	if (!copy)
		return berr_set(e, ENOMEM, "nftables rules");
	for (size_t i = 0; i < count; i++) {
		copy[i] = nets[i];
		if (!(copy[i].bridge = strdup(nets[i].bridge))) {
			nets_free(copy, i);
			return berr_set(e, ENOMEM, "nftables rules");
		}
	}
	nets_free(n->nets, n->n_nets);
	n->nets = copy;
	n->n_nets = count;
	struct text t = {0};
	add_networks(n, &t);
	int r = t.nomem ? berr_set(e, ENOMEM, "nftables rules") : run(n, t.s, "setting up the networks", e);
	free(t.s);
	return r;
}

int net_nft_add(struct net_nft *n, const char *owner, const struct net_port_rule *rules, size_t n_rules, berr *e)
{
	if (n_rules == 0)
		return 0;
	struct text t = {0};
	add_rules(n, &t, owner, rules, n_rules);
	int r = t.nomem ? berr_set(e, ENOMEM, "nftables rules") : run(n, t.s, "publishing ports", e);
	free(t.s);
	return r;
}

int net_nft_remove(struct net_nft *n, const char *owner, berr *e)
{
	/* The owner's rules by their comment, then each deleted by its handle. */
	_cleanup_free_ char *cmd = NULL;
	if (asprintf(&cmd, "list chain ip %s ports", n->table) < 0)
		return berr_set(e, ENOMEM, "nftables");
	json_t *doc = NULL;
	if (run_listing(n, cmd, "listing the published ports", &doc, e) < 0)
		return -1;
	struct text t = {0};
	size_t i;
	json_t *item;
	json_array_foreach (json_object_get(doc, "nftables"), i, item) {
		json_t *rule = json_object_get(item, "rule");
		const char *comment = json_string_value(json_object_get(rule, "comment"));
		json_t *handle = json_object_get(rule, "handle");
		if (comment && strcmp(comment, owner) == 0 && json_is_integer(handle))
			text_add(&t, "delete rule ip %s ports handle %lld\n", n->table,
				 (long long)json_integer_value(handle));
	}
	json_decref(doc);
	int r = t.nomem ? berr_set(e, ENOMEM, "nftables rules") : t.s ? run(n, t.s, "unpublishing ports", e) : 0;
	free(t.s);
	return r;
}
