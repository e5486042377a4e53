/* User networks in berth.db, one JSON document per network, each write one transaction. */
#include "engine/network_db.h"

#include <errno.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "lib/cleanup.h"
#include "lib/sqlite_db.h"

struct net_db {
	sqlite3 *h;
};

int net_db_open(const char *path, struct net_db **out, berr *e)
{
	struct net_db *db = calloc(1, sizeof *db);
	if (!db)
		return berr_set(e, ENOMEM, "opening %s", path);
	const char *schema = "CREATE TABLE IF NOT EXISTS engine_networks ("
			     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " id TEXT NOT NULL UNIQUE,"
			     " name TEXT NOT NULL UNIQUE,"
			     " doc TEXT NOT NULL);";
	if (b_sqlite_open(path, B_SQLITE_DURABLE, schema, &db->h, e) < 0) {
		net_db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void net_db_close(struct net_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	free(db);
}

int net_db_put(struct net_db *db, const char *id, const char *name, json_t *doc, berr *e)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return berr_set(e, ENOMEM, "recording network %s", name);
	sqlite3_stmt *st = NULL;
	int rc =
	    sqlite3_prepare_v2(db->h, "INSERT INTO engine_networks (id, name, doc) VALUES (?1, ?2, ?3)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "recording a network");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return berr_plain(e, EEXIST, "network with name %s already exists", name);
	return rc == SQLITE_DONE ? 0 : b_sqlite_fail(db->h, rc, e, "recording a network");
}

int net_db_delete(struct net_db *db, const char *id, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "DELETE FROM engine_networks WHERE id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "forgetting a network");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : b_sqlite_fail(db->h, rc, e, "forgetting a network");
}

int net_db_each(struct net_db *db, int (*fn)(void *arg, json_t *doc, berr *e), void *arg, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "SELECT id, doc FROM engine_networks ORDER BY seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "reading the networks");
	int r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		json_error_t jerr;
		json_t *doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, &jerr);
		if (!doc) {
			r = berr_invalid(e, "network %s: its record is not JSON: %s", id, jerr.text);
			break;
		}
		r = fn(arg, doc, e);
		json_decref(doc);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = b_sqlite_fail(db->h, rc, e, "reading the networks");
	sqlite3_finalize(st);
	return r;
}
