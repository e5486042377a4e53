#include "engine/container_db.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/cleanup.h"
#include "lib/sqlite_db.h"

struct eng_db {
	sqlite3 *h;
};

int eng_db_open(const char *path, struct eng_db **out, berr *e)
{
	struct eng_db *db = calloc(1, sizeof *db);
	if (!db)
		return berr_set(e, ENOMEM, "opening %s", path);
	const char *schema = "CREATE TABLE IF NOT EXISTS engine_containers ("
			     " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
			     " id TEXT NOT NULL UNIQUE,"
			     " name TEXT NOT NULL UNIQUE,"
			     " doc TEXT NOT NULL);";
	if (b_sqlite_open(path, B_SQLITE_DURABLE, schema, &db->h, e) < 0) {
		eng_db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void eng_db_close(struct eng_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	free(db);
}

int eng_db_put(struct eng_db *db, const char *id, const char *name, json_t *doc, berr *e)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return berr_set(e, ENOMEM, "recording container %s", id);
	sqlite3_stmt *st = NULL;
	/* An upsert keeps the row's seq, so the creation order survives updates. */
	int rc = sqlite3_prepare_v2(db->h,
				    "INSERT INTO engine_containers (id, name, doc) VALUES (?1, ?2, ?3)"
				    " ON CONFLICT(id) DO UPDATE SET name = excluded.name, doc = excluded.doc",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "recording a container");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return berr_plain(e, EEXIST, "the container name \"%s\" is already in use", name);
	if (rc != SQLITE_DONE)
		return b_sqlite_fail(db->h, rc, e, "recording a container");
	return 0;
}

int eng_db_delete(struct eng_db *db, const char *id, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "DELETE FROM engine_containers WHERE id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "forgetting a container");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return b_sqlite_fail(db->h, rc, e, "forgetting a container");
	return 0;
}

int eng_db_each(struct eng_db *db, int (*fn)(void *arg, const char *id, json_t *doc, berr *e), void *arg, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "SELECT id, doc FROM engine_containers ORDER BY seq", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(db->h, rc, e, "reading the containers");
	int r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);
		json_error_t jerr;
		json_t *doc = json_loads(text, 0, &jerr);
		if (!doc) {
			r = berr_invalid(e, "container %s: its record is not JSON: %s", id, jerr.text);
			break;
		}
		r = fn(arg, id, doc, e);
		json_decref(doc);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = b_sqlite_fail(db->h, rc, e, "reading the containers");
	sqlite3_finalize(st);
	return r;
}
