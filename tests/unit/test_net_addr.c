/* The network layer's pure logic: CIDRs, Docker's MACs, address pools and picking a free subnet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/net.h"

static void test_cidr(void **state)
{
	uint32_t ip;
	struct net_subnet s;
	berr e = {0};
	char buf[24];
	assert_int_equal(net_cidr_parse("172.17.0.1/16", &ip, &s, &e), 0);
	assert_int_equal(ip, 0xac110001u);
	assert_int_equal(s.addr, 0xac110000u);
	assert_int_equal(s.prefix, 16);
	net_subnet_format(&s, buf, sizeof buf);
	assert_string_equal(buf, "172.17.0.0/16");
	assert_true(net_subnet_contains(&s, 0xac11ff01u));
	assert_false(net_subnet_contains(&s, 0xac120001u));
	const char *bad[] = {"",    "172.17.0.1", "172.17.0.1/", "172.17.0.1/33", "172.17.0/16",
			     "x/8", "/8",         "1.2.3.4/8x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(net_cidr_parse(bad[i], &ip, &s, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		berr_clear(&e);
	}
	struct net_subnet a = {0x0a000000u, 8}, b = {0x0a010000u, 16}, c = {0x0b000000u, 16};
	assert_true(net_subnets_overlap(&a, &b));
	assert_true(net_subnets_overlap(&b, &a));
	assert_false(net_subnets_overlap(&a, &c));
	assert_int_equal(net_subnet_mask(0), 0);
	assert_int_equal(net_subnet_mask(32), 0xffffffffu);
	assert_int_equal(net_subnet_mask(20), 0xfffff000u);
}

static void test_mac(void **state)
{
	uint8_t mac[6];
	char buf[18];
	net_mac_from_ip(0xac110002u, mac);
	net_mac_format(mac, buf);
	assert_string_equal(buf, "02:42:ac:11:00:02");
	char ip[NET_IP_LEN];
	net_ip_format(0xc0a8ff0au, ip);
	assert_string_equal(ip, "192.168.255.10");
}

static void test_pools(void **state)
{
	struct net_pool pools[32], p;
	berr e = {0};
	size_t n = net_pools_default(pools, 32);
	assert_int_equal(n, 16); /* 172.17-31 as /16s, 192.168/16 as /20s */
	struct net_subnet out;
	char buf[24];
	/* Nothing taken: Docker's 172.17.0.0/16. */
	assert_int_equal(net_pools_pick(pools, n, NULL, 0, &out, &e), 0);
	net_subnet_format(&out, buf, sizeof buf);
	assert_string_equal(buf, "172.17.0.0/16");
	/* A route inside 172.17/16 and another over 172.18-19: the next free /16. */
	struct net_subnet taken[] = {{0xac110500u, 24}, {0xac120000u, 15}};
	assert_int_equal(net_pools_pick(pools, n, taken, 2, &out, &e), 0);
	net_subnet_format(&out, buf, sizeof buf);
	assert_string_equal(buf, "172.20.0.0/16");
	/* Every 172.16/12 subnet taken: 192.168.0.0/20. */
	struct net_subnet wide = {0xac100000u, 12};
	assert_int_equal(net_pools_pick(pools, n, &wide, 1, &out, &e), 0);
	net_subnet_format(&out, buf, sizeof buf);
	assert_string_equal(buf, "192.168.0.0/20");
	/* A pool of our own, and none left. */
	assert_int_equal(net_pool_parse("base=10.10.0.0/16,size=24", &p, &e), 0);
	assert_int_equal(p.base.addr, 0x0a0a0000u);
	assert_int_equal(p.size, 24);
	struct net_subnet all = {0x0a0a0000u, 16};
	assert_int_equal(net_pools_pick(&p, 1, &all, 1, &out, &e), -1);
	assert_int_equal(e.errnum, ENOSPC);
	berr_clear(&e);
	const char *bad[] = {"",
			     "base=10.0.0.0/8",
			     "size=24",
			     "base=10.0.0.0/16,size=8",
			     "base=x,size=24",
			     "base=10.0.0.0/16,size=24,y=1",
			     "base=10.0.0.0/16,size=33"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(net_pool_parse(bad[i], &p, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		berr_clear(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_mac),
	    cmocka_unit_test(test_pools),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
