/*
 * User networks in berth.db (table engine_networks): one row per network, its Docker Network object
 * (without Containers) as JSON. Every write is one transaction. Under the engine lock.
 */
#pragma once
#include <jansson.h>

#include "lib/err.h"

struct net_db;

int net_db_open(const char *path, struct net_db **out, berr *e);
void net_db_close(struct net_db *db);
/* Record a new network; a name another one has: EEXIST. */
int net_db_put(struct net_db *db, const char *id, const char *name, json_t *doc, berr *e);
int net_db_delete(struct net_db *db, const char *id, berr *e);
/* Every record, in creation order; fn's failure stops and is returned. */
int net_db_each(struct net_db *db, int (*fn)(void *arg, json_t *doc, berr *e), void *arg, berr *e);
