/* IPv4 addresses, subnets, Docker's MACs and address pools: pure logic. */
#include "net/net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

bool net_ip_parse(const char *s, uint32_t *ip)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*ip = ntohl(a.s_addr);
	return true;
}

void net_ip_format(uint32_t ip, char buf[NET_IP_LEN])
{
	snprintf(buf, NET_IP_LEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint32_t net_subnet_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int net_cidr_parse(const char *s, uint32_t *ip, struct net_subnet *subnet, berr *e)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || slash == s || slash - s >= NET_IP_LEN)
		return berr_invalid(e, "invalid CIDR address: %s", s ? s : "");
	char addr[NET_IP_LEN];
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	char *end;
	long prefix = strtol(slash + 1, &end, 10);
	uint32_t a;
	if (!net_ip_parse(addr, &a) || !slash[1] || *end || prefix < 0 || prefix > 32)
		return berr_invalid(e, "invalid CIDR address: %s", s);
	if (ip)
		*ip = a;
	subnet->prefix = (int)prefix;
	subnet->addr = a & net_subnet_mask((int)prefix);
	return 0;
}

void net_subnet_format(const struct net_subnet *s, char *buf, size_t size)
{
	char ip[NET_IP_LEN];
	net_ip_format(s->addr, ip);
	snprintf(buf, size, "%s/%d", ip, s->prefix);
}

bool net_subnet_contains(const struct net_subnet *s, uint32_t ip)
{
	return (ip & net_subnet_mask(s->prefix)) == s->addr;
}

bool net_subnets_overlap(const struct net_subnet *a, const struct net_subnet *b)
{
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;
	uint32_t m = net_subnet_mask(p);
	return (a->addr & m) == (b->addr & m);
}

void net_mac_from_ip(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	mac[2] = (uint8_t)(ip >> 24);
	mac[3] = (uint8_t)(ip >> 16);
	mac[4] = (uint8_t)(ip >> 8);
	mac[5] = (uint8_t)ip;
}

void net_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

bool net_mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return false;
		char byte[3] = {s[0], s[1], '\0'};
		mac[i] = (uint8_t)strtoul(byte, NULL, 16);
		s += 2;
		if (i < 5 && *s != ':' && *s != '-')
			return false;
		if (i < 5)
			s++;
	}
	return *s == '\0';
}

int net_pool_parse(const char *s, struct net_pool *out, berr *e)
{
	/* "base=10.10.0.0/16,size=24", the fields in either order. */
	_cleanup_free_ char *copy = strdup(s ? s : "");
	if (!copy)
		return berr_set(e, ENOMEM, "address pool");
	bool have_base = false, have_size = false;
	char *save = NULL;
	for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (strncmp(f, "base=", 5) == 0) {
			if (net_cidr_parse(f + 5, NULL, &out->base, e) < 0)
				return berr_wrap(e, "address pool %s", s);
			have_base = true;
		} else if (strncmp(f, "size=", 5) == 0) {
			char *end;
			long size = strtol(f + 5, &end, 10);
			if (!f[5] || *end || size < 1 || size > 32)
				return berr_invalid(e, "address pool %s: invalid size %s", s, f + 5);
			out->size = (int)size;
			have_size = true;
		} else {
			return berr_invalid(e, "address pool %s: unexpected field \"%s\" (base=CIDR,size=N)", s, f);
		}
	}
	if (!have_base || !have_size)
		return berr_invalid(e, "address pool %s: expected base=CIDR,size=N", s);
	if (out->size < out->base.prefix)
		return berr_invalid(e, "address pool %s: size %d is larger than the base's /%d", s, out->size,
				    out->base.prefix);
	return 0;
}

size_t net_pools_default(struct net_pool *out, size_t cap)
{
	size_t n = 0;
	if (n < cap)
		out[n++] = (struct net_pool){{0xac110000u, 16}, 16}; /* 172.17.0.0/16 first, as Docker */
	for (uint32_t b = 18; b <= 31 && n < cap; b++)
		out[n++] = (struct net_pool){{0xac000000u | (b << 16), 16}, 16};
	if (n < cap)
		out[n++] = (struct net_pool){{0xc0a80000u, 16}, 20};
	return n;
}

int net_pools_pick(const struct net_pool *pools, size_t n_pools, const struct net_subnet *taken, size_t n_taken,
		   struct net_subnet *out, berr *e)
{
	for (size_t p = 0; p < n_pools; p++) {
		uint64_t count = 1ull << (pools[p].size - pools[p].base.prefix);
		uint32_t step = pools[p].size >= 32 ? 1 : 1u << (32 - pools[p].size);
		for (uint64_t i = 0; i < count; i++) {
			struct net_subnet cand = {pools[p].base.addr + (uint32_t)i * step, pools[p].size};
			bool free_ = true;
			for (size_t t = 0; t < n_taken && free_; t++)
				free_ = !net_subnets_overlap(&cand, &taken[t]);
			if (free_) {
				*out = cand;
				return 0;
			}
		}
	}
	return berr_plain(e, ENOSPC,
			  "could not find an available, non-overlapping IPv4 address pool among the defaults to "
			  "assign to the network");
}
