/* Address leases in berth.db: the lowest free address, a fixed one, a range, release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net.h"

static char dir[] = "/tmp/berth-ipam-XXXXXX";
static char db[64];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof db, "%s/berth.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[96];
	const char *suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
		unlink(path);
	}
	return rmdir(dir);
}

static uint32_t ip(const char *s)
{
	uint32_t v = 0;
	assert_true(net_ip_parse(s, &v));
	return v;
}

static void test_leases(void **state)
{
	(void)state;
	struct net_ipam *ipam;
	berr e = {0};
	assert_int_equal(net_ipam_open(db, &ipam, &e), 0);
	struct net_subnet subnet = {ip("10.1.0.0"), 24}, range = {ip("10.1.0.128"), 25};
	uint32_t got;
	/* The gateway is never leased; an owner keeps its address. */
	assert_int_equal(net_ipam_lease(ipam, "n1", &subnet, ip("10.1.0.1"), "a", &got, &e), 0);
	assert_int_equal(got, ip("10.1.0.2"));
	assert_int_equal(net_ipam_lease(ipam, "n1", &subnet, ip("10.1.0.1"), "a", &got, &e), 0);
	assert_int_equal(got, ip("10.1.0.2"));
	/* A fixed address: taken by another owner is EEXIST; its own is fine. */
	assert_int_equal(net_ipam_lease_at(ipam, "n1", ip("10.1.0.50"), "b", &e), 0);
	assert_int_equal(net_ipam_lease_at(ipam, "n1", ip("10.1.0.50"), "b", &e), 0);
	assert_int_equal(net_ipam_lease_at(ipam, "n1", ip("10.1.0.50"), "c", &e), -1);
	assert_int_equal(e.errnum, EEXIST);
	assert_string_equal(berr_msg(&e), "Address already in use");
	berr_clear(&e);
	/* The same address on another network is another lease. */
	assert_int_equal(net_ipam_lease_at(ipam, "n2", ip("10.1.0.50"), "c", &e), 0);
	/* A range: leases start there. */
	assert_int_equal(net_ipam_lease(ipam, "n3", &range, ip("10.1.0.1"), "d", &got, &e), 0);
	assert_int_equal(got, ip("10.1.0.129"));
	/* Releasing a network frees all of its leases and no other's. */
	assert_int_equal(net_ipam_release_all(ipam, "n1", &e), 0);
	char **owners;
	uint32_t *addrs;
	size_t n;
	assert_int_equal(net_ipam_leases(ipam, "n1", &owners, &addrs, &n, &e), 0);
	assert_int_equal(n, 0);
	free(owners);
	free(addrs);
	assert_int_equal(net_ipam_leases(ipam, "n2", &owners, &addrs, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(owners[0], "c");
	free(owners[0]);
	free(owners);
	free(addrs);
	assert_int_equal(net_ipam_lease_at(ipam, "n1", ip("10.1.0.50"), "c", &e), 0);
	net_ipam_close(ipam);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leases),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
