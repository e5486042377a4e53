/*
 * The engine's table in berth.db: one row per container, its record as a JSON document (Docker's
 * inspect shape plus what the engine keeps for itself). Every write is one transaction.
 * Not thread-safe: the engine calls it under its lock.
 */
#pragma once
#include <jansson.h>

#include "lib/err.h"

struct eng_db;

int eng_db_open(const char *path, struct eng_db **out, berr *e);
void eng_db_close(struct eng_db *db);
/* Insert or replace. A name another container has: EEXIST. */
int eng_db_put(struct eng_db *db, const char *id, const char *name, json_t *doc, berr *e);
int eng_db_delete(struct eng_db *db, const char *id, berr *e);
/* Every record, in creation order; fn's failure stops and is returned. */
int eng_db_each(struct eng_db *db, int (*fn)(void *arg, const char *id, json_t *doc, berr *e), void *arg, berr *e);
