/* Exec records in berth.db, one JSON document per exec, each write one transaction. */
#include "engine/exec_internal.h"

#include <errno.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "lib/cleanup.h"
#include "lib/sqlite_db.h"

struct exec_db {
	sqlite3 *h;
};

int exec_db_open(const char *path, struct exec_db **out, berr *e)
{
	struct exec_db *db = calloc(1, sizeof *db);
	if (!db)
		return berr_set(e, ENOMEM, "opening %s", path);
	const char *schema = "CREATE TABLE IF NOT EXISTS engine_execs ("
			     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " id TEXT NOT NULL UNIQUE,"
			     " container TEXT NOT NULL,"
			     " doc TEXT NOT NULL);"
			     "CREATE INDEX IF NOT EXISTS engine_execs_container ON engine_execs (container);";
	if (b_sqlite_open(path, B_SQLITE_DURABLE, schema, &db->h, e) < 0) {
		exec_db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void exec_db_close(struct exec_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	free(db);
}

int exec_db_put(struct exec_db *db, const char *id, const char *container_id, json_t *doc, berr *e)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return berr_set(e, ENOMEM, "recording exec %s", id);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h,
				    "INSERT INTO engine_execs (id, container, doc) VALUES (?1, ?2, ?3)"
				    " ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "recording an exec");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, container_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : b_sqlite_fail(db->h, rc, e, "recording an exec");
}

int exec_db_delete_container(struct exec_db *db, const char *container_id, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "DELETE FROM engine_execs WHERE container = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "forgetting a container's execs");
	sqlite3_bind_text(st, 1, container_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : b_sqlite_fail(db->h, rc, e, "forgetting a container's execs");
}

int exec_db_each(struct exec_db *db, int (*fn)(void *arg, json_t *doc, berr *e), void *arg, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "SELECT id, doc FROM engine_execs ORDER BY seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "reading the execs");
	int r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		json_error_t jerr;
		json_t *doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, &jerr);
		if (!doc) {
			r = berr_invalid(e, "exec %s: its record is not JSON: %s", id, jerr.text);
			break;
		}
		r = fn(arg, doc, e);
		json_decref(doc);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = b_sqlite_fail(db->h, rc, e, "reading the execs");
	sqlite3_finalize(st);
	return r;
}
