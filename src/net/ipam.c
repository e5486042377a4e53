/* Networks' IDs and address leases in berth.db: tables net_networks and net_leases. */
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <sqlite3.h>

#include "lib/cleanup.h"
#include "lib/sqlite_db.h"
#include "lib/timefmt.h"

struct net_ipam {
	sqlite3 *h;
};

static int db_fail(struct net_ipam *ip, berr *e, const char *what)
{
	return b_sqlite_fail(ip->h, sqlite3_errcode(ip->h), e, what);
}

int net_ipam_open(const char *db_path, struct net_ipam **out, berr *e)
{
	struct net_ipam *ip = calloc(1, sizeof *ip);
	if (!ip)
		return berr_set(e, ENOMEM, "opening %s", db_path);
	/*
	 * Commits not flushed to the disk (two fdatasyncs fewer per container start and stop), yet
	 * they survive a crash of the daemon (WAL). What a crash of the machine loses needs no
	 * keeping: no container runs after it, and the daemon's start frees the leases of those that
	 * do not run.
	 */
	const char *schema = "CREATE TABLE IF NOT EXISTS net_networks ("
			     " name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, created TEXT NOT NULL);"
			     "CREATE TABLE IF NOT EXISTS net_leases ("
			     " network TEXT NOT NULL, address TEXT NOT NULL, owner TEXT NOT NULL,"
			     " PRIMARY KEY (network, address));";
	if (b_sqlite_open(db_path, B_SQLITE_DAEMON_CRASH_SAFE, schema, &ip->h, e) < 0) {
		net_ipam_close(ip);
		return -1;
	}
	*out = ip;
	return 0;
}

void net_ipam_close(struct net_ipam *ip)
{
	if (!ip)
		return;
	sqlite3_close(ip->h);
	free(ip);
}

static int network_get(struct net_ipam *ip, const char *name, char **id, char **created, bool *found, berr *e)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	if (sqlite3_prepare_v2(ip->h, "SELECT id, created FROM net_networks WHERE name = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(ip, e, "reading the networks");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = strdup((const char *)sqlite3_column_text(st, 0));
		*created = strdup((const char *)sqlite3_column_text(st, 1));
		*found = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(ip, e, "reading the networks");
	if (*found && (!*id || !*created))
		return berr_set(e, ENOMEM, "network %s", name);
	return 0;
}

int net_ipam_network_id(struct net_ipam *ip, const char *name, char **id, char **created, berr *e)
{
	bool found;
	*id = *created = NULL;
	if (network_get(ip, name, id, created, &found, e) < 0)
		return -1;
	if (found)
		return 0;
	unsigned char raw[32];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return berr_sys(e, "network %s: a random ID", name);
	char hex[65], when[B_TIME_LEN];
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	b_time_now(when);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ip->h, "INSERT OR IGNORE INTO net_networks (name, id, created) VALUES (?1, ?2, ?3)", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ip, e, "recording a network");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ip, e, "recording a network");
	return network_get(ip, name, id, created, &found, e);
}

int net_ipam_leases(struct net_ipam *ip, const char *network, char ***owners, uint32_t **addrs, size_t *n, berr *e)
{
	*owners = NULL;
	*addrs = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ip->h, "SELECT address, owner FROM net_leases WHERE network = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(ip, e, "reading the address leases");
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			char **o = realloc(*owners, cap * sizeof *o);
			if (o)
				*owners = o;
			uint32_t *a = realloc(*addrs, cap * sizeof *a);
			if (a)
				*addrs = a;
			if (!o || !a)
				break;
		}
		uint32_t addr;
		if (!net_ip_parse((const char *)sqlite3_column_text(st, 0), &addr))
			continue; /* not ours to understand: leave it */
		(*addrs)[*n] = addr;
		(*owners)[*n] = strdup((const char *)sqlite3_column_text(st, 1));
		(*owners)[++*n] = NULL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < *n; i++)
			free((*owners)[i]);
		free(*owners);
		free(*addrs);
		*owners = NULL;
		*addrs = NULL;
		*n = 0;
		return rc == SQLITE_ROW ? berr_set(e, ENOMEM, "reading the address leases")
					: db_fail(ip, e, "reading the address leases");
	}
	return 0;
}

static void leases_free(char **owners, uint32_t *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(owners[i]);
	free(owners);
	free(addrs);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int net_ipam_lease(struct net_ipam *ip, const char *network, const struct net_subnet *subnet, uint32_t gateway,
		   const char *owner, uint32_t *out, berr *e)
{
	char **owners;
	uint32_t *addrs;
	size_t n;
	if (net_ipam_leases(ip, network, &owners, &addrs, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(owners[i], owner) == 0 && net_subnet_contains(subnet, addrs[i])) {
			*out = addrs[i];
			leases_free(owners, addrs, n);
			return 0;
		}
	}
	if (n > 0)
		qsort(addrs, n, sizeof *addrs, cmp_u32);
	/* The lowest free host address: not the network's, not the broadcast, not the gateway's. */
	uint32_t first = subnet->addr + 1, last = subnet->addr | ~net_subnet_mask(subnet->prefix);
	if (subnet->prefix < 31)
		last--;
	uint32_t cand = first;
	size_t i = 0;
	bool found = false;
	while (cand <= last && cand >= first) {
		while (i < n && addrs[i] < cand)
			i++;
		if (cand != gateway && (i == n || addrs[i] != cand)) {
			found = true;
			break;
		}
		cand++;
	}
	leases_free(owners, addrs, n);
	char net[24];
	net_subnet_format(subnet, net, sizeof net);
	if (!found)
		return berr_plain(e, ENOSPC, "no available IPv4 addresses on this network's address pools: %s (%s)",
				  network, net);
	char s[NET_IP_LEN];
	net_ip_format(cand, s);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ip->h, "INSERT INTO net_leases (network, address, owner) VALUES (?1, ?2, ?3)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ip, e, "recording an address lease");
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ip, e, "recording an address lease");
	*out = cand;
	return 0;
}

int net_ipam_release(struct net_ipam *ip, const char *network, const char *owner, berr *e)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ip->h, "DELETE FROM net_leases WHERE network = ?1 AND owner = ?2", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(ip, e, "releasing an address lease");
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ip, e, "releasing an address lease");
	return 0;
}

int net_ipam_lease_at(struct net_ipam *ip, const char *network, uint32_t addr, const char *owner, berr *e)
{
	char s[NET_IP_LEN];
	net_ip_format(addr, s);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ip->h, "SELECT owner FROM net_leases WHERE network = ?1 AND address = ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ip, e, "reading the address leases");
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	bool mine = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), owner) == 0;
	bool taken = rc == SQLITE_ROW && !mine;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(ip, e, "reading the address leases");
	if (taken)
		return berr_plain(e, EEXIST, "Address already in use");
	if (mine)
		return 0;
	if (sqlite3_prepare_v2(ip->h, "INSERT INTO net_leases (network, address, owner) VALUES (?1, ?2, ?3)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ip, e, "recording an address lease");
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ip, e, "recording an address lease");
	return 0;
}

int net_ipam_release_all(struct net_ipam *ip, const char *network, berr *e)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(ip->h, "DELETE FROM net_leases WHERE network = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(ip, e, "releasing the address leases");
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ip, e, "releasing the address leases");
	return 0;
}
