/* The image metadata database: images, layers, tags and their users, in SQLite (WAL). */
#include "image/imagedb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/digest.h"

#define SCHEMA_COMPONENT "image" /* our row in schema_versions; the engine's tables have their own */

/* Every statement the module runs, prepared once per handle on first use. */
enum st {
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_SCHEMA_HAS_TABLE,
	ST_SCHEMA_VERSION,
	ST_SCHEMA_SET,
	ST_IMAGE_UPSERT,
	ST_IMAGE_GET,
	ST_IMAGE_EXISTS,
	ST_IMAGE_PARENT,
	ST_IMAGE_DELETE,
	ST_IMAGE_CHILD,
	ST_IMAGE_PREFIX,
	ST_IMAGE_BY_MANIFEST,
	ST_IMAGES_ALL,
	ST_IMAGES_TAGGED,
	ST_IMAGE_LAYERS,
	ST_IMAGE_LAYERS_CLEAR,
	ST_IMAGE_LAYER_ADD,
	ST_IMAGE_TAGS,
	ST_TAG_GET,
	ST_TAG_SET,
	ST_TAG_DELETE,
	ST_LAYER_UPSERT,
	ST_LAYER_BLOB_ADD,
	ST_LAYER_GET,
	ST_LAYER_READY,
	ST_LAYER_IMAGE_USER,
	ST_LAYER_CONTAINER_USER,
	ST_LAYER_MARK_DELETING,
	ST_LAYER_DELETE,
	ST_LAYERS_UNUSED,
	ST_CONTAINER_OF_IMAGE,
	ST_CONTAINER_USE,
	ST_CONTAINER_LAYERS_CLEAR,
	ST_CONTAINER_LAYERS_ADD,
	ST_CONTAINER_FORGET,
	ST_BLOBS,
	ST__COUNT
};

static const char *const st_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT img_db",
    [ST_RELEASE] = "RELEASE img_db",
    [ST_ROLLBACK_TO] = "ROLLBACK TO img_db",
    [ST_SCHEMA_HAS_TABLE] = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'",
    [ST_SCHEMA_VERSION] = "SELECT version FROM schema_versions WHERE component = ?1",
    [ST_SCHEMA_SET] = "INSERT INTO schema_versions (component, version) VALUES (?1, ?2) "
		      "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
    [ST_IMAGE_UPSERT] =
	"INSERT INTO images (id, created, size, config_digest, manifest_digest, manifest_media_type, os, "
	"architecture, variant, parent_id, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
	"ON CONFLICT (id) DO UPDATE SET created = excluded.created, size = excluded.size, "
	"config_digest = excluded.config_digest, "
	"manifest_media_type = CASE WHEN excluded.manifest_digest IS NULL THEN images.manifest_media_type "
	"ELSE excluded.manifest_media_type END, "
	"manifest_digest = coalesce(excluded.manifest_digest, images.manifest_digest), os = excluded.os, "
	"architecture = excluded.architecture, variant = excluded.variant, parent_id = excluded.parent_id, "
	"added_at = CASE WHEN ?12 THEN excluded.added_at ELSE images.added_at END",
    [ST_IMAGE_GET] = "SELECT id, created, size, config_digest, manifest_digest, manifest_media_type, os, "
		     "architecture, variant, parent_id, added_at FROM images WHERE id = ?1",
    [ST_IMAGE_EXISTS] = "SELECT 1 FROM images WHERE id = ?1",
    [ST_IMAGE_PARENT] = "SELECT parent_id FROM images WHERE id = ?1",
    [ST_IMAGE_DELETE] = "DELETE FROM images WHERE id = ?1",
    [ST_IMAGE_CHILD] = "SELECT id FROM images WHERE parent_id = ?1 LIMIT 1",
    [ST_IMAGE_PREFIX] = "SELECT id FROM images WHERE id GLOB ?1 ORDER BY id LIMIT 2",
    [ST_IMAGE_BY_MANIFEST] = "SELECT t.image_id, t.reference FROM tags t JOIN images i ON i.id = t.image_id "
			     "WHERE i.manifest_digest = ?1 ORDER BY i.added_at DESC, t.reference",
    [ST_IMAGES_ALL] = "SELECT id FROM images ORDER BY julianday(created) DESC, added_at DESC, id",
    [ST_IMAGES_TAGGED] = "SELECT id FROM images WHERE EXISTS (SELECT 1 FROM tags WHERE tags.image_id = images.id) "
			 "ORDER BY julianday(created) DESC, added_at DESC, id",
    [ST_IMAGE_LAYERS] = "SELECT chain_id, diff_id FROM image_layers WHERE image_id = ?1 ORDER BY position",
    [ST_IMAGE_LAYERS_CLEAR] = "DELETE FROM image_layers WHERE image_id = ?1",
    [ST_IMAGE_LAYER_ADD] = "INSERT INTO image_layers (image_id, position, chain_id, diff_id) VALUES (?1, ?2, ?3, ?4)",
    [ST_IMAGE_TAGS] = "SELECT reference FROM tags WHERE image_id = ?1 ORDER BY reference",
    [ST_TAG_GET] = "SELECT image_id FROM tags WHERE reference = ?1",
    [ST_TAG_SET] = "INSERT INTO tags (reference, image_id) VALUES (?1, ?2) "
		   "ON CONFLICT (reference) DO UPDATE SET image_id = excluded.image_id",
    [ST_TAG_DELETE] = "DELETE FROM tags WHERE reference = ?1",
    [ST_LAYER_UPSERT] =
	"INSERT INTO layers (chain_id, diff_id, parent_chain_id, size, compressed_digest, compressed_size, state) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ready') ON CONFLICT (chain_id) DO UPDATE SET state = 'ready', "
	"compressed_size = CASE WHEN layers.compressed_digest IS NULL THEN excluded.compressed_size "
	"ELSE layers.compressed_size END, "
	"compressed_digest = coalesce(layers.compressed_digest, excluded.compressed_digest)",
    [ST_LAYER_BLOB_ADD] = "INSERT OR IGNORE INTO layer_blobs (chain_id, digest, size) VALUES (?1, ?2, ?3)",
    [ST_LAYER_GET] = "SELECT diff_id, state, size FROM layers WHERE chain_id = ?1",
    [ST_LAYER_READY] = "SELECT 1 FROM layers WHERE chain_id = ?1 AND state = 'ready'",
    [ST_LAYER_IMAGE_USER] = "SELECT image_id FROM image_layers WHERE chain_id = ?1 ORDER BY image_id LIMIT 1",
    [ST_LAYER_CONTAINER_USER] =
	"SELECT container_id FROM container_layers WHERE chain_id = ?1 ORDER BY container_id LIMIT 1",
    [ST_LAYER_MARK_DELETING] = "UPDATE layers SET state = 'deleting' WHERE chain_id = ?1",
    [ST_LAYER_DELETE] = "DELETE FROM layers WHERE chain_id = ?1",
    [ST_LAYERS_UNUSED] = "SELECT chain_id FROM layers l WHERE "
			 "NOT EXISTS (SELECT 1 FROM image_layers il WHERE il.chain_id = l.chain_id) AND "
			 "NOT EXISTS (SELECT 1 FROM container_layers cl WHERE cl.chain_id = l.chain_id) "
			 "ORDER BY chain_id",
    [ST_CONTAINER_OF_IMAGE] =
	"SELECT container_id FROM containers_using_images WHERE image_id = ?1 ORDER BY container_id LIMIT 1",
    [ST_CONTAINER_USE] = "INSERT INTO containers_using_images (container_id, image_id) VALUES (?1, ?2) "
			 "ON CONFLICT (container_id) DO UPDATE SET image_id = excluded.image_id",
    [ST_CONTAINER_LAYERS_CLEAR] = "DELETE FROM container_layers WHERE container_id = ?1",
    [ST_CONTAINER_LAYERS_ADD] = "INSERT OR IGNORE INTO container_layers (container_id, chain_id) "
				"SELECT ?1, chain_id FROM image_layers WHERE image_id = ?2",
    [ST_CONTAINER_FORGET] = "DELETE FROM containers_using_images WHERE container_id = ?1",
    [ST_BLOBS] = "SELECT config_digest FROM images "
		 "UNION SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL "
		 "UNION SELECT compressed_digest FROM layers WHERE compressed_digest IS NOT NULL "
		 "UNION SELECT digest FROM layer_blobs ORDER BY 1",
};

/*
 * Schema v1. layers are the unpacked layer directories (a chain ID names the whole stack up to it);
 * image_layers lists an image's stack; layer_blobs the compressed blobs known for a layer (a layer
 * pulled as gzip from one registry and zstd from another has two); container_layers keeps the
 * layers of a container's image alive when the image is force-deleted under it.
 */
static const char schema_v1_sql[] =
    "CREATE TABLE images ("
    " id TEXT PRIMARY KEY,"
    " created TEXT,"
    " size INTEGER NOT NULL DEFAULT 0,"
    " config_digest TEXT NOT NULL,"
    " manifest_digest TEXT,"
    " manifest_media_type TEXT,"
    " os TEXT,"
    " architecture TEXT,"
    " variant TEXT,"
    " parent_id TEXT,"
    " added_at INTEGER NOT NULL);"
    "CREATE INDEX images_manifest_digest ON images (manifest_digest);"
    "CREATE INDEX images_parent_id ON images (parent_id);"
    "CREATE TABLE layers ("
    " chain_id TEXT PRIMARY KEY,"
    " diff_id TEXT NOT NULL,"
    " parent_chain_id TEXT,"
    " size INTEGER NOT NULL,"
    " compressed_digest TEXT,"
    " compressed_size INTEGER,"
    " state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'deleting'))) WITHOUT ROWID;"
    "CREATE TABLE layer_blobs ("
    " chain_id TEXT NOT NULL REFERENCES layers (chain_id) ON DELETE CASCADE,"
    " digest TEXT NOT NULL,"
    " size INTEGER,"
    " PRIMARY KEY (chain_id, digest)) WITHOUT ROWID;"
    "CREATE TABLE image_layers ("
    " image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
    " position INTEGER NOT NULL,"
    " chain_id TEXT NOT NULL REFERENCES layers (chain_id),"
    " diff_id TEXT NOT NULL,"
    " PRIMARY KEY (image_id, position)) WITHOUT ROWID;"
    "CREATE INDEX image_layers_chain_id ON image_layers (chain_id);"
    "CREATE TABLE tags ("
    " reference TEXT PRIMARY KEY,"
    " image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE) WITHOUT ROWID;"
    "CREATE INDEX tags_image_id ON tags (image_id);"
    /* No foreign key to images: a force-deleted image's containers keep pointing at its ID, as in Docker. */
    "CREATE TABLE containers_using_images ("
    " container_id TEXT PRIMARY KEY,"
    " image_id TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX containers_using_images_image_id ON containers_using_images (image_id);"
    "CREATE TABLE container_layers ("
    " container_id TEXT NOT NULL REFERENCES containers_using_images (container_id) ON DELETE CASCADE,"
    " chain_id TEXT NOT NULL REFERENCES layers (chain_id),"
    " PRIMARY KEY (container_id, chain_id)) WITHOUT ROWID;"
    "CREATE INDEX container_layers_chain_id ON container_layers (chain_id);";

struct img_db {
	sqlite3 *sql;
	char *path;
	sqlite3_stmt *stmts[ST__COUNT];
	int depth;    /* transactions and savepoints open */
	bool aborted; /* SQLite rolled the transaction back on its own; the rest of it must fail */
};

typedef int (*tx_fn)(struct img_db *db, void *arg, berr *e);

/* --- errors ------------------------------------------------------------------------------------ */

static int oom(berr *e)
{
	return berr_plain(e, ENOMEM, "out of memory");
}

static int sql_errno(struct img_db *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return EBUSY;
	case SQLITE_NOMEM: return ENOMEM;
	case SQLITE_FULL: return ENOSPC;
	case SQLITE_READONLY: return EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH: return EACCES;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG: return EINVAL;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN: {
		int sys = db && db->sql ? sqlite3_system_errno(db->sql) : 0;
		return sys ? sys : EIO;
	}
	default: return EIO;
	}
}

/* *e = SQLite's message for rc, with the matching errno; callers wrap it with what they were doing. */
static int sql_err(struct img_db *db, berr *e, int rc)
{
	const char *why = sqlite3_errstr(rc);
	/* The connection's message is more precise ("UNIQUE constraint failed: ..."), when it is about rc. */
	if (db && db->sql && (sqlite3_extended_errcode(db->sql) & 0xff) == (rc & 0xff))
		why = sqlite3_errmsg(db->sql);
	return berr_plain(e, sql_errno(db, rc), "%s", why);
}

/* An ID without its algorithm prefix; printed with %.12s, Docker's stringid.TruncateID. */
static const char *short_id(const char *id)
{
	const char *colon = strchr(id, ':');
	return colon ? colon + 1 : id;
}

/* --- small helpers ----------------------------------------------------------------------------- */

static void stmt_resetp(sqlite3_stmt **st)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}
#define _cleanup_reset_ __attribute__((cleanup(stmt_resetp)))

static void img_ref_freep(struct img_ref *r)
{
	img_ref_free(r);
}
#define _cleanup_ref_ __attribute__((cleanup(img_ref_freep)))

/* A growing NULL-terminated string array. */
struct strv {
	char **v;
	size_t n, cap;
};

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
#define _cleanup_strvbuf_ __attribute__((cleanup(strv_free)))

/* Append str (owned by the array from now on, freed on failure). */
static int strv_take(struct strv *s, char *str, berr *e)
{
	if (!str)
		return oom(e);
	if (s->n + 1 >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			free(str);
			return oom(e);
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

static int strv_add(struct strv *s, const char *str, berr *e)
{
	return strv_take(s, strdup(str), e);
}

static bool strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], str))
			return true;
	return false;
}

/* Hand the array on; an empty one is an allocated { NULL }. */
static int strv_steal(struct strv *s, char ***out, size_t *n, berr *e)
{
	if (!s->v) {
		s->v = calloc(1, sizeof(char *));
		if (!s->v)
			return oom(e);
		s->cap = 1;
	}
	if (n)
		*n = s->n;
	*out = s->v;
	memset(s, 0, sizeof(*s));
	return 0;
}

static void strv_freep_raw(char **v)
{
	b_strv_freep(&v);
}

/* "sha256:<hex>" or bare 64 hex -> "sha256:<hex>"; false for anything else. */
static bool full_id(const char *s, char out[B_DIGEST_LEN + 1])
{
	if (!s)
		return false;
	if (strlen(s) == B_DIGEST_LEN - 7 && !strchr(s, ':'))
		snprintf(out, B_DIGEST_LEN + 1, "sha256:%s", s);
	else if (strlen(s) == B_DIGEST_LEN)
		memcpy(out, s, B_DIGEST_LEN + 1);
	else
		return false;
	return b_digest_valid(out);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The familiar form ("busybox:latest") of a canonical reference, or a copy of it. NULL: no memory. */
static char *familiar_of(const char *canonical)
{
	_cleanup_ref_ struct img_ref r = {0};
	berr pe = {0};
	if (img_ref_parse_name(canonical, &r, &pe) < 0) {
		berr_clear(&pe);
		return strdup(canonical);
	}
	return img_ref_familiar(&r);
}

/* Is canonical a reference in repository repo ("docker.io/library/busybox")? */
static bool in_repository(const char *canonical, const char *repo)
{
	size_t len = strlen(repo);
	/* Paths hold neither ':' nor '@': what follows the repository is the tag or the digest. */
	return !strncmp(canonical, repo, len) && (canonical[len] == ':' || canonical[len] == '@');
}

/* Repository of a canonical reference and whether it is a digest reference. */
static int ref_split(const char *canonical, char **repo, bool *is_digest, berr *e)
{
	_cleanup_ref_ struct img_ref r = {0};
	if (img_ref_parse_name(canonical, &r, e) < 0)
		return berr_wrap(e, "stored reference %s", canonical);
	*is_digest = r.digest != NULL;
	*repo = img_ref_repository(&r);
	return *repo ? 0 : oom(e);
}

/* --- statements and transactions --------------------------------------------------------------- */

/*
 * The cached statement id, reset, with its parameters bound from fmt: 't' text (NULL binds NULL),
 * 'i' int64_t, 'n' int64_t with negative binding NULL. NULL on failure (*e set).
 */
static sqlite3_stmt *query(struct img_db *db, berr *e, enum st id, const char *fmt, ...)
{
	if (db->depth > 0 && sqlite3_get_autocommit(db->sql)) {
		/* Without this the rest of a transaction SQLite abandoned would run, and commit, piecemeal. */
		db->aborted = true;
		berr_plain(e, EIO, "the transaction was rolled back by an earlier error");
		return NULL;
	}
	sqlite3_stmt **slot = &db->stmts[id];
	int rc;
	if (!*slot) {
		rc = sqlite3_prepare_v3(db->sql, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (rc != SQLITE_OK) {
			sql_err(db, e, rc);
			berr_wrap(e, "preparing \"%s\"", st_sql[id]);
			sqlite3_finalize(*slot);
			*slot = NULL;
			return NULL;
		}
	}
	sqlite3_stmt *st = *slot;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	va_list ap;
	va_start(ap, fmt);
	rc = SQLITE_OK;
	for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
		if (fmt[i] == 't') {
			rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
		} else {
			int64_t v = va_arg(ap, int64_t);
			rc = fmt[i] == 'n' && v < 0 ? sqlite3_bind_null(st, i + 1) : sqlite3_bind_int64(st, i + 1, v);
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sql_err(db, e, rc);
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

/* Step a statement that returns no rows (or whose rows do not matter) to its end, then reset it. */
static int run(struct img_db *db, sqlite3_stmt *st, berr *e)
{
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		sql_err(db, e, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The first column of the first row as a string: 1 found (*out malloc'd, NULL for SQL NULL), 0 no row. */
static int first_str(struct img_db *db, sqlite3_stmt *stmt, char **out, berr *e)
{
	_cleanup_reset_ sqlite3_stmt *st = stmt;
	*out = NULL;
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sql_err(db, e, rc);
	if (out && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (!t || !(*out = strdup(t)))
			return oom(e);
	}
	return 1;
}

/* Does the query return a row? 1 yes, 0 no. */
static int has_row(struct img_db *db, sqlite3_stmt *stmt, berr *e)
{
	_cleanup_reset_ sqlite3_stmt *st = stmt;
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_err(db, e, rc);
}

/* Every row's first column (non-NULL) appended to out. */
static int all_str(struct img_db *db, sqlite3_stmt *stmt, struct strv *out, berr *e)
{
	_cleanup_reset_ sqlite3_stmt *st = stmt;
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			continue;
		if (!t)
			return oom(e);
		if (strv_add(out, t, e) < 0)
			return -1;
	}
	return rc == SQLITE_DONE ? 0 : sql_err(db, e, rc);
}

static int col_str(sqlite3_stmt *st, int i, char **out, berr *e)
{
	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	const char *t = (const char *)sqlite3_column_text(st, i);
	if (!t || !(*out = strdup(t)))
		return oom(e);
	return 0;
}

/* BEGIN, COMMIT and friends. */
static int simple(struct img_db *db, enum st id, berr *e)
{
	return run(db, query(db, e, id, ""), e);
}

/* Undo what can be undone after a failure, keeping the failure's message. */
static void undo(struct img_db *db, bool outer)
{
	berr ignored = {0};
	if (!sqlite3_get_autocommit(db->sql)) {
		if (outer) {
			simple(db, ST_ROLLBACK, &ignored);
		} else {
			simple(db, ST_ROLLBACK_TO, &ignored);
			simple(db, ST_RELEASE, &ignored);
		}
	}
	berr_clear(&ignored);
}

/* Run fn in a transaction (write: BEGIN IMMEDIATE), or in a savepoint when one is already open. */
static int tx_run(struct img_db *db, bool write, tx_fn fn, void *arg, berr *e)
{
	bool outer = db->depth == 0;
	if (!outer && db->aborted)
		return berr_plain(e, EIO, "the transaction was rolled back by an earlier error");
	if (outer) {
		if (simple(db, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN, e) < 0)
			return berr_wrap(e, "starting a transaction on %s", db->path);
		db->aborted = false;
	} else if (simple(db, ST_SAVEPOINT, e) < 0) {
		return berr_wrap(e, "starting a savepoint on %s", db->path);
	}
	db->depth++;
	int r = fn(db, arg, e);
	db->depth--;
	if (r < 0 && e && !e->msg)
		berr_plain(e, EIO, "transaction failed");

	if (sqlite3_get_autocommit(db->sql)) {
		/* SQLite rolled everything back on its own (I/O error, disk full, out of memory). */
		if (!outer)
			db->aborted = true;
		return r < 0 ? -1 : berr_plain(e, EIO, "the transaction was rolled back by an earlier error");
	}
	if (r == 0 && !db->aborted) {
		if (simple(db, outer ? ST_COMMIT : ST_RELEASE, e) == 0)
			return 0;
		berr_wrap(e, "committing to %s", db->path);
	} else if (r == 0) {
		berr_plain(e, EIO, "the transaction was rolled back by an earlier error");
	}
	undo(db, outer);
	return -1;
}

int img_db_tx(struct img_db *db, int (*fn)(struct img_db *db, void *arg, berr *e), void *arg, berr *e)
{
	if (!fn)
		return berr_invalid(e, "img_db_tx: no function to run");
	return tx_run(db, true, fn, arg, e);
}

/* --- schema ------------------------------------------------------------------------------------ */

static int schema_v1(struct img_db *db, berr *e)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->sql, schema_v1_sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		berr_plain(e, sql_errno(db, rc), "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Step i brings the image tables from version i to i + 1. */
static int (*const migrations[])(struct img_db *db, berr *e) = {schema_v1};
_Static_assert(ARRAY_SIZE(migrations) == IMG_DB_SCHEMA_VERSION, "one migration step per schema version");

static int schema_version(struct img_db *db, int *version, berr *e)
{
	*version = 0;
	_cleanup_reset_ sqlite3_stmt *has = query(db, e, ST_SCHEMA_HAS_TABLE, "");
	if (!has)
		return -1;
	int rc = sqlite3_step(has);
	if (rc != SQLITE_ROW)
		return sql_err(db, e, rc);
	if (sqlite3_column_int(has, 0) == 0)
		return 0;
	_cleanup_reset_ sqlite3_stmt *st = query(db, e, ST_SCHEMA_VERSION, "t", SCHEMA_COMPONENT);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE)
		return sql_err(db, e, rc);
	return 0;
}

static int check_version(struct img_db *db, int version, berr *e)
{
	if (version > IMG_DB_SCHEMA_VERSION)
		return berr_plain(
		    e, ENOTSUP,
		    "the image tables are at schema version %d, newer than this berth's %d (downgrade refused)",
		    version, IMG_DB_SCHEMA_VERSION);
	return 0;
}

static int read_version_fn(struct img_db *db, void *arg, berr *e)
{
	return schema_version(db, arg, e);
}

static int migrate_fn(struct img_db *db, void *arg, berr *e)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->sql,
			      "CREATE TABLE IF NOT EXISTS schema_versions ("
			      " component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID",
			      NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		berr_plain(e, sql_errno(db, rc), "creating schema_versions: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	int version;
	/* Again, under the write lock: another process may have migrated meanwhile. */
	if (schema_version(db, &version, e) < 0 || check_version(db, version, e) < 0)
		return -1;
	for (; version < IMG_DB_SCHEMA_VERSION; version++) {
		if (migrations[version](db, e) < 0)
			return berr_wrap(e, "migrating the image tables to version %d", version + 1);
		if (run(db, query(db, e, ST_SCHEMA_SET, "ti", SCHEMA_COMPONENT, (int64_t)version + 1), e) < 0)
			return berr_wrap(e, "recording schema version %d", version + 1);
	}
	return 0;
}

static int migrate(struct img_db *db, berr *e)
{
	int version;
	/* The usual case, nothing to do, takes no write lock. */
	if (tx_run(db, false, read_version_fn, &version, e) < 0)
		return berr_wrap(e, "reading the schema version");
	if (check_version(db, version, e) < 0)
		return -1;
	if (version == IMG_DB_SCHEMA_VERSION)
		return 0;
	return tx_run(db, true, migrate_fn, NULL, e);
}

/* --- open and close ---------------------------------------------------------------------------- */

static int exec_sql(struct img_db *db, const char *sql, berr *e)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	berr_plain(e, sql_errno(db, rc), "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return -1;
}

static int setup(struct img_db *db, berr *e)
{
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, IMG_DB_BUSY_TIMEOUT_MS);
	/* No schema tricks through SQL, no double-quoted string literals (they hide typos). */
	sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	if (exec_sql(db, "PRAGMA foreign_keys = ON", e) < 0 || exec_sql(db, "PRAGMA synchronous = FULL", e) < 0 ||
	    exec_sql(db, "PRAGMA trusted_schema = OFF", e) < 0)
		return -1;

	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sql_err(db, e, rc);
		sqlite3_finalize(st);
		return berr_wrap(e, "switching to WAL mode");
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	bool wal = mode && !strcmp(mode, "wal");
	if (!wal)
		berr_plain(e, ENOTSUP, "switching to WAL mode: the journal mode stayed \"%s\"", mode ? mode : "?");
	sqlite3_finalize(st);
	return wal ? 0 : -1;
}

int img_db_open(const char *path, struct img_db **out, berr *e)
{
	*out = NULL;
	/*
	 * Created here so that the mode is ours (SQLite gives the -wal and -shm files the same one), and
	 * closed at once: closing any descriptor of the file later would drop the locks SQLite holds on it.
	 */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return berr_sys(e, "opening image database %s", path);
	close(fd);

	struct img_db *db = calloc(1, sizeof(*db));
	if (!db || !(db->path = strdup(path))) {
		free(db);
		return oom(e);
	}
	int rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		if (db->sql)
			sql_err(db, e, rc);
		else
			oom(e);
		img_db_close(db);
		return berr_wrap(e, "opening image database %s", path);
	}
	if (setup(db, e) < 0 || migrate(db, e) < 0) {
		img_db_close(db);
		return berr_wrap(e, "opening image database %s", path);
	}
	*out = db;
	return 0;
}

void img_db_close(struct img_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(db->stmts[i]);
	if (db->sql && db->depth == 0 && !sqlite3_get_autocommit(db->sql))
		sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close_v2(db->sql);
	free(db->path);
	free(db);
}

/* --- images ------------------------------------------------------------------------------------ */

void img_db_image_free(struct img_db_image *img)
{
	if (!img)
		return;
	free(img->id);
	free(img->created);
	free(img->config_digest);
	free(img->manifest_digest);
	free(img->manifest_media_type);
	free(img->os);
	free(img->architecture);
	free(img->variant);
	free(img->parent_id);
	for (size_t i = 0; i < img->n_layers; i++) {
		if (img->chain_ids)
			free(img->chain_ids[i]);
		if (img->diff_ids)
			free(img->diff_ids[i]);
	}
	free(img->chain_ids);
	free(img->diff_ids);
	b_strv_freep(&img->tags);
	memset(img, 0, sizeof(*img));
}

void img_db_images_free(struct img_db_image *imgs, size_t n)
{
	if (!imgs)
		return;
	for (size_t i = 0; i < n; i++)
		img_db_image_free(&imgs[i]);
	free(imgs);
}

static void image_freep(struct img_db_image *img)
{
	img_db_image_free(img);
}
#define _cleanup_image_ __attribute__((cleanup(image_freep)))

static int image_exists(struct img_db *db, const char *id, berr *e)
{
	return has_row(db, query(db, e, ST_IMAGE_EXISTS, "t", id), e);
}

static int image_tags(struct img_db *db, const char *id, struct strv *tags, berr *e)
{
	return all_str(db, query(db, e, ST_IMAGE_TAGS, "t", id), tags, e);
}

static int no_such_image(berr *e, const char *name)
{
	return berr_plain(e, ENOENT, "No such image: %s", name);
}

/* Fill *out from the database; ENOENT when id is not there. */
static int image_load(struct img_db *db, const char *id, struct img_db_image *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	_cleanup_image_ struct img_db_image img = {0};
	{
		_cleanup_reset_ sqlite3_stmt *st = query(db, e, ST_IMAGE_GET, "t", id);
		if (!st)
			return -1;
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return no_such_image(e, id);
		if (rc != SQLITE_ROW)
			return sql_err(db, e, rc);
		if (col_str(st, 0, &img.id, e) < 0 || col_str(st, 1, &img.created, e) < 0 ||
		    col_str(st, 3, &img.config_digest, e) < 0 || col_str(st, 4, &img.manifest_digest, e) < 0 ||
		    col_str(st, 5, &img.manifest_media_type, e) < 0 || col_str(st, 6, &img.os, e) < 0 ||
		    col_str(st, 7, &img.architecture, e) < 0 || col_str(st, 8, &img.variant, e) < 0 ||
		    col_str(st, 9, &img.parent_id, e) < 0)
			return -1;
		img.size = sqlite3_column_int64(st, 2);
		img.added_at = sqlite3_column_int64(st, 10);
	}
	{
		_cleanup_strvbuf_ struct strv chains = {0};
		_cleanup_strvbuf_ struct strv diffs = {0};
		_cleanup_reset_ sqlite3_stmt *st = query(db, e, ST_IMAGE_LAYERS, "t", id);
		if (!st)
			return -1;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			char *chain, *diff;
			if (col_str(st, 0, &chain, e) < 0 || strv_take(&chains, chain, e) < 0)
				return -1;
			if (col_str(st, 1, &diff, e) < 0 || strv_take(&diffs, diff, e) < 0)
				return -1;
		}
		if (rc != SQLITE_DONE)
			return sql_err(db, e, rc);
		size_t n = chains.n;
		if (strv_steal(&chains, &img.chain_ids, NULL, e) < 0)
			return -1;
		img.n_layers = n;
		if (strv_steal(&diffs, &img.diff_ids, NULL, e) < 0)
			return -1;
	}
	_cleanup_strvbuf_ struct strv tags = {0};
	if (image_tags(db, id, &tags, e) < 0 || strv_steal(&tags, &img.tags, NULL, e) < 0)
		return -1;
	*out = img;
	memset(&img, 0, sizeof(img));
	return 0;
}

struct get_arg {
	const char *id;
	struct img_db_image *out;
};

static int get_fn(struct img_db *db, void *arg, berr *e)
{
	struct get_arg *a = arg;
	return image_load(db, a->id, a->out, e);
}

int img_db_image_get(struct img_db *db, const char *id, struct img_db_image *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	char full[B_DIGEST_LEN + 1];
	if (!full_id(id, full))
		return no_such_image(e, id ? id : "");
	struct get_arg a = {full, out};
	return tx_run(db, false, get_fn, &a, e);
}

/* The chain ID that follows parent with diff: sha256(parent + " " + diff), or diff at the bottom. */
static void chain_of(const char *parent, const char *diff, char out[B_DIGEST_LEN + 1])
{
	if (!parent) {
		snprintf(out, B_DIGEST_LEN + 1, "%s", diff);
		return;
	}
	char buf[2 * B_DIGEST_LEN + 2];
	int len = snprintf(buf, sizeof(buf), "%s %s", parent, diff);
	if (len < 0 || (size_t)len >= sizeof(buf)) {
		out[0] = '\0'; /* not two digests: matches no chain ID */
		return;
	}
	b_sha256_of(buf, (size_t)len, out);
}

static int valid_or_null(const char *what, const char *digest, berr *e)
{
	if (digest && !b_digest_valid(digest))
		return berr_invalid(e, "invalid %s \"%s\": not a sha256 digest", what, digest);
	return 0;
}

/* Reference as stored: canonical; for tags, name:tag@digest is refused; for lookups it is name@digest. */
static int canonical_ref(const char *s, bool for_tag, struct img_ref *ref, char **out, berr *e)
{
	*out = NULL;
	if (img_ref_parse(s, ref, e) < 0)
		return -1;
	if (ref->tag && ref->digest) {
		if (for_tag)
			return berr_invalid(e, "refusing to create a tag with a digest reference");
		struct img_ref plain = *ref;
		plain.tag = NULL;
		*out = img_ref_string(&plain);
	} else {
		*out = img_ref_string(ref);
	}
	return *out ? 0 : oom(e);
}

static int tag_set(struct img_db *db, const char *id, const char *reference, berr *e)
{
	_cleanup_ref_ struct img_ref ref = {0};
	_cleanup_free_ char *canonical = NULL;
	if (canonical_ref(reference, true, &ref, &canonical, e) < 0)
		return -1;
	if (run(db, query(db, e, ST_TAG_SET, "tt", canonical, id), e) < 0)
		return berr_wrap(e, "tagging %s as %s", id, canonical);
	return 0;
}

struct put_arg {
	const struct img_db_image *img;
	const char *id, *parent; /* normalised */
};

static int put_fn(struct img_db *db, void *arg, berr *e)
{
	const struct img_db_image *img = ((struct put_arg *)arg)->img;
	const char *id = ((struct put_arg *)arg)->id;
	const char *parent = ((struct put_arg *)arg)->parent;
	int64_t size = 0;
	for (size_t i = 0; i < img->n_layers; i++) {
		_cleanup_reset_ sqlite3_stmt *st = query(db, e, ST_LAYER_GET, "t", img->chain_ids[i]);
		if (!st)
			return -1;
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return berr_plain(e, ENOENT, "image %s: layer %s is not registered", id, img->chain_ids[i]);
		if (rc != SQLITE_ROW)
			return sql_err(db, e, rc);
		const char *diff = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 1);
		if (!diff || !state)
			return oom(e);
		if (strcmp(state, "ready"))
			return berr_plain(e, EBUSY, "image %s: layer %s is being deleted", id, img->chain_ids[i]);
		if (strcmp(diff, img->diff_ids[i]))
			return berr_invalid(e, "image %s: layer %s has diff ID %s, not %s", id, img->chain_ids[i], diff,
					    img->diff_ids[i]);
		size += sqlite3_column_int64(st, 2);
	}
	if (img->size >= 0)
		size = img->size;
	int64_t added = img->added_at > 0 ? img->added_at : now_ns();
	if (run(db,
		query(db, e, ST_IMAGE_UPSERT, "ttitttttttii", id, img->created, size, id, img->manifest_digest,
		      img->manifest_media_type, img->os, img->architecture, img->variant, parent, added,
		      (int64_t)(img->added_at > 0)),
		e) < 0)
		return berr_wrap(e, "storing image %s", id);
	if (run(db, query(db, e, ST_IMAGE_LAYERS_CLEAR, "t", id), e) < 0)
		return berr_wrap(e, "storing the layers of image %s", id);
	for (size_t i = 0; i < img->n_layers; i++)
		if (run(db,
			query(db, e, ST_IMAGE_LAYER_ADD, "titt", id, (int64_t)i, img->chain_ids[i], img->diff_ids[i]),
			e) < 0)
			return berr_wrap(e, "storing the layers of image %s", id);
	for (char **t = img->tags; t && *t; t++)
		if (tag_set(db, id, *t, e) < 0)
			return -1;
	return 0;
}

int img_db_image_put(struct img_db *db, const struct img_db_image *img, berr *e)
{
	char id[B_DIGEST_LEN + 1], parent[B_DIGEST_LEN + 1];
	if (!full_id(img->id, id))
		return berr_invalid(e, "invalid image ID \"%s\"", img->id ? img->id : "");
	if (img->config_digest && strcmp(img->config_digest, id))
		return berr_invalid(e, "image %s: the config digest %s is not the image ID", id, img->config_digest);
	if (valid_or_null("manifest digest", img->manifest_digest, e) < 0)
		return berr_wrap(e, "image %s", id);
	if (img->parent_id && !full_id(img->parent_id, parent))
		return berr_invalid(e, "image %s: invalid parent ID \"%s\"", id, img->parent_id);
	if (img->n_layers && (!img->chain_ids || !img->diff_ids))
		return berr_invalid(e, "image %s: %zu layers without their IDs", id, img->n_layers);
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *chain = img->chain_ids[i], *diff = img->diff_ids[i];
		if (!chain || !b_digest_valid(chain) || !diff || !b_digest_valid(diff))
			return berr_invalid(e, "image %s: layer %zu: invalid chain ID or diff ID", id, i);
		char want[B_DIGEST_LEN + 1];
		chain_of(i ? img->chain_ids[i - 1] : NULL, diff, want);
		if (strcmp(want, chain))
			return berr_invalid(e,
					    "image %s: layer %zu: chain ID %s does not follow from the diff IDs (%s)",
					    id, i, chain, want);
	}
	struct put_arg a = {img, id, img->parent_id ? parent : NULL};
	return tx_run(db, true, put_fn, &a, e);
}

/* --- resolving names --------------------------------------------------------------------------- */

static int tag_get(struct img_db *db, const char *canonical, char **id, berr *e)
{
	return first_str(db, query(db, e, ST_TAG_GET, "t", canonical), id, e);
}

/* A reference -> image ID: 1 found, 0 not. */
static int lookup_ref(struct img_db *db, const struct img_ref *ref, char **id, berr *e)
{
	*id = NULL;
	/* name:tag@digest is looked up as name@digest, as Docker's reference store does. */
	struct img_ref key_ref = *ref;
	if (ref->digest)
		key_ref.tag = NULL;
	_cleanup_free_ char *key = img_ref_string(&key_ref);
	if (!key)
		return oom(e);
	int r = tag_get(db, key, id, e);
	if (r != 0 || !ref->digest)
		return r;

	/* Pulled by tag: the image whose manifest has this digest, known in the same repository. */
	_cleanup_free_ char *repo = img_ref_repository(ref);
	if (!repo)
		return oom(e);
	_cleanup_reset_ sqlite3_stmt *st = query(db, e, ST_IMAGE_BY_MANIFEST, "t", ref->digest);
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *reference = (const char *)sqlite3_column_text(st, 1);
		if (reference && in_repository(reference, repo))
			return col_str(st, 0, id, e) < 0 ? -1 : 1;
	}
	return rc == SQLITE_DONE ? 0 : sql_err(db, e, rc);
}

/* An ID prefix -> image ID: 1 found, 0 none; several: ENOENT. */
static int lookup_prefix(struct img_db *db, const char *prefix, char **id, berr *e)
{
	*id = NULL;
	const char *hex = prefix;
	if (!strncmp(hex, "sha256:", 7))
		hex += 7;
	_cleanup_free_ char *pattern = NULL;
	/* img_ref_is_id_prefix let only lower-case hex through: no GLOB metacharacters. */
	if (asprintf(&pattern, "sha256:%s*", hex) < 0)
		return oom(e);
	_cleanup_strvbuf_ struct strv ids = {0};
	if (all_str(db, query(db, e, ST_IMAGE_PREFIX, "t", pattern), &ids, e) < 0)
		return -1;
	if (ids.n > 1)
		return berr_plain(e, ENOENT, "image ID prefix %s is ambiguous: it matches several images", prefix);
	if (ids.n == 0)
		return 0;
	*id = steal_ptr(ids.v[0]);
	return 1;
}

static int resolve_in(struct img_db *db, const char *name, char **id, berr *e)
{
	*id = NULL;
	char full[B_DIGEST_LEN + 1];
	if (full_id(name, full)) {
		int r = image_exists(db, full, e);
		if (r < 0)
			return -1;
		if (r == 0)
			return no_such_image(e, full);
		*id = strdup(full);
		return *id ? 0 : oom(e);
	}
	_cleanup_ref_ struct img_ref ref = {0};
	berr pe = {0};
	bool parsed = img_ref_parse(name ? name : "", &ref, &pe) == 0;
	bool prefix = img_ref_is_id_prefix(name);
	if (!parsed && !prefix) {
		berr_clear(e);
		*e = pe;
		return -1;
	}
	berr_clear(&pe);
	if (parsed) {
		int r = lookup_ref(db, &ref, id, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (prefix) {
		int r = lookup_prefix(db, name, id, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (!parsed)
		return no_such_image(e, name);
	_cleanup_free_ char *familiar = img_ref_familiar(&ref);
	return familiar ? no_such_image(e, familiar) : oom(e);
}

struct resolve_arg {
	const char *name;
	char *id;
};

static int resolve_fn(struct img_db *db, void *arg, berr *e)
{
	struct resolve_arg *a = arg;
	return resolve_in(db, a->name, &a->id, e);
}

int img_db_resolve(struct img_db *db, const char *name, char **image_id, berr *e)
{
	struct resolve_arg a = {name, NULL};
	*image_id = NULL;
	if (tx_run(db, false, resolve_fn, &a, e) < 0) {
		free(a.id);
		return -1;
	}
	*image_id = a.id;
	return 0;
}

/* --- tags -------------------------------------------------------------------------------------- */

struct tag_arg {
	const char *id;
	const char *reference;
};

static int tag_fn(struct img_db *db, void *arg, berr *e)
{
	struct tag_arg *a = arg;
	int r = image_exists(db, a->id, e);
	if (r <= 0)
		return r < 0 ? -1 : no_such_image(e, a->id);
	return tag_set(db, a->id, a->reference, e);
}

int img_db_tag(struct img_db *db, const char *image_id, const char *reference, berr *e)
{
	char id[B_DIGEST_LEN + 1];
	if (!full_id(image_id, id))
		return no_such_image(e, image_id ? image_id : "");
	struct tag_arg a = {id, reference};
	return tx_run(db, true, tag_fn, &a, e);
}

/* Remove a stored reference: 1 removed, 0 there was none. */
static int tag_delete(struct img_db *db, const char *canonical, berr *e)
{
	if (run(db, query(db, e, ST_TAG_DELETE, "t", canonical), e) < 0)
		return berr_wrap(e, "removing reference %s", canonical);
	return sqlite3_changes(db->sql) > 0;
}

static int untag_fn(struct img_db *db, void *arg, berr *e)
{
	const char *reference = arg;
	_cleanup_ref_ struct img_ref ref = {0};
	_cleanup_free_ char *canonical = NULL;
	if (canonical_ref(reference, false, &ref, &canonical, e) < 0)
		return -1;
	int r = tag_delete(db, canonical, e);
	if (r != 0)
		return r < 0 ? -1 : 0;
	_cleanup_free_ char *familiar = img_ref_familiar(&ref);
	return familiar ? no_such_image(e, familiar) : oom(e);
}

int img_db_untag(struct img_db *db, const char *reference, berr *e)
{
	return tx_run(db, true, untag_fn, (void *)reference, e);
}

/* --- listing ----------------------------------------------------------------------------------- */

struct list_arg {
	bool dangling;
	struct img_db_image *imgs;
	size_t n;
};

static int list_fn(struct img_db *db, void *arg, berr *e)
{
	struct list_arg *a = arg;
	_cleanup_strvbuf_ struct strv ids = {0};
	if (all_str(db, query(db, e, a->dangling ? ST_IMAGES_ALL : ST_IMAGES_TAGGED, ""), &ids, e) < 0)
		return -1;
	a->imgs = calloc(ids.n ? ids.n : 1, sizeof(*a->imgs));
	if (!a->imgs)
		return oom(e);
	for (size_t i = 0; i < ids.n; i++) {
		if (image_load(db, ids.v[i], &a->imgs[i], e) < 0)
			return berr_wrap(e, "listing images");
		a->n = i + 1;
	}
	return 0;
}

int img_db_list(struct img_db *db, bool include_dangling, struct img_db_image **out, size_t *n, berr *e)
{
	struct list_arg a = {include_dangling, NULL, 0};
	*out = NULL;
	*n = 0;
	if (tx_run(db, false, list_fn, &a, e) < 0) {
		img_db_images_free(a.imgs, a.n);
		return -1;
	}
	*out = a.imgs;
	*n = a.n;
	return 0;
}

/* --- deleting images --------------------------------------------------------------------------- */

struct removal {
	struct strv untagged, deleted, unused;
};

static void removal_clear(struct removal *rm)
{
	strv_free(&rm->untagged);
	strv_free(&rm->deleted);
	strv_free(&rm->unused);
}

/* Remove a stored reference and record it as untagged: 1 removed, 0 there was none. */
static int untag_record(struct img_db *db, const char *canonical, struct removal *rm, berr *e)
{
	int r = tag_delete(db, canonical, e);
	if (r <= 0)
		return r;
	return strv_take(&rm->untagged, familiar_of(canonical), e) < 0 ? -1 : 1;
}

/* Docker's isSingleReference: one reference, or one tag plus digest references, all in one repository. */
static int single_reference(const struct strv *refs, bool *single, berr *e)
{
	*single = refs->n == 1;
	if (refs->n <= 1)
		return 0;
	_cleanup_free_ char *tag_repo = NULL;
	_cleanup_free_ char *digest_repo = NULL;
	_cleanup_free_ char *first_repo = NULL;
	for (size_t i = 0; i < refs->n; i++) {
		_cleanup_free_ char *repo = NULL;
		bool is_digest = false;
		if (ref_split(refs->v[i], &repo, &is_digest, e) < 0)
			return -1;
		if (!first_repo && !(first_repo = strdup(repo)))
			return oom(e);
		if (is_digest) {
			if (digest_repo && strcmp(digest_repo, repo))
				return 0; /* digest references in two repositories */
			if (!digest_repo)
				digest_repo = steal_ptr(repo);
		} else if (tag_repo) {
			return 0; /* two tags */
		} else {
			tag_repo = steal_ptr(repo);
		}
	}
	const char *the_repo = tag_repo ? tag_repo : first_repo;
	*single = digest_repo && !strcmp(digest_repo, the_repo);
	return 0;
}

enum conflict {
	CONFLICT_CHILD = 1 << 0,     /* hard: other images name it as their parent */
	CONFLICT_REFERENCE = 1 << 1, /* soft: references remain */
	CONFLICT_CONTAINER = 1 << 2, /* soft: a container uses it */
};

/* The first of Docker's conflicts in mask, in Docker's order: 1 (and *e says which), 0 none. */
static int find_conflict(struct img_db *db, const char *id, unsigned mask, berr *e)
{
	const char *sid = short_id(id);
	if (mask & CONFLICT_CHILD) {
		_cleanup_free_ char *child = NULL;
		int r = first_str(db, query(db, e, ST_IMAGE_CHILD, "t", id), &child, e);
		if (r < 0)
			return -1;
		if (r > 0) {
			berr_plain(
			    e, EBUSY,
			    "conflict: unable to delete %.12s (cannot be forced) - image has dependent child images",
			    sid);
			return 1;
		}
	}
	if (mask & CONFLICT_REFERENCE) {
		_cleanup_strvbuf_ struct strv refs = {0};
		if (image_tags(db, id, &refs, e) < 0)
			return -1;
		if (refs.n > 0) {
			berr_plain(
			    e, EBUSY,
			    "conflict: unable to delete %.12s (must be forced) - image is referenced in multiple "
			    "repositories",
			    sid);
			return 1;
		}
	}
	if (mask & CONFLICT_CONTAINER) {
		_cleanup_free_ char *ctr = NULL;
		int r = first_str(db, query(db, e, ST_CONTAINER_OF_IMAGE, "t", id), &ctr, e);
		if (r < 0)
			return -1;
		if (r > 0) {
			berr_plain(e, EBUSY,
				   "conflict: unable to delete %.12s (must be forced) - image is being used by stopped "
				   "container %.12s",
				   sid, short_id(ctr));
			return 1;
		}
	}
	return 0;
}

static int remove_all_refs(struct img_db *db, const char *id, struct removal *rm, berr *e)
{
	_cleanup_strvbuf_ struct strv refs = {0};
	if (image_tags(db, id, &refs, e) < 0)
		return -1;
	for (size_t i = 0; i < refs.n; i++)
		if (untag_record(db, refs.v[i], rm, e) < 0)
			return -1;
	return 0;
}

static int layer_in_use(struct img_db *db, const char *chain, berr *e)
{
	int r = has_row(db, query(db, e, ST_LAYER_IMAGE_USER, "t", chain), e);
	if (r != 0)
		return r;
	return has_row(db, query(db, e, ST_LAYER_CONTAINER_USER, "t", chain), e);
}

/*
 * Docker's imageDeleteHelper: check the conflicts (only the hard one with force), remove the
 * references, the image and its layer list, and mark the layers nothing uses any more. 1 deleted
 * (*parent gets its parent ID or NULL), 0 kept because of a conflict and quiet, -1 error.
 */
static int delete_one(struct img_db *db, const char *id, bool force, bool quiet, struct removal *rm, char **parent,
		      berr *e)
{
	*parent = NULL;
	unsigned mask = CONFLICT_CHILD | (force ? 0 : CONFLICT_REFERENCE | CONFLICT_CONTAINER);
	int r = find_conflict(db, id, mask, e);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (!quiet)
			return -1;
		berr_clear(e);
		return 0;
	}
	_cleanup_free_ char *parent_id = NULL;
	if (first_str(db, query(db, e, ST_IMAGE_PARENT, "t", id), &parent_id, e) < 0)
		return -1;
	_cleanup_strvbuf_ struct strv chains = {0};
	if (all_str(db, query(db, e, ST_IMAGE_LAYERS, "t", id), &chains, e) < 0)
		return -1;
	if (remove_all_refs(db, id, rm, e) < 0)
		return -1;
	if (run(db, query(db, e, ST_IMAGE_DELETE, "t", id), e) < 0)
		return berr_wrap(e, "deleting image %s", id);
	if (strv_add(&rm->deleted, id, e) < 0)
		return -1;
	/* Top layer first: a caller removing directories in this order never leaves a hole under a layer. */
	for (size_t i = chains.n; i-- > 0;) {
		const char *chain = chains.v[i];
		r = layer_in_use(db, chain, e);
		if (r < 0)
			return -1;
		if (r > 0 || strv_has(&rm->unused, chain))
			continue;
		if (run(db, query(db, e, ST_LAYER_MARK_DELETING, "t", chain), e) < 0)
			return berr_wrap(e, "marking layer %s for deletion", chain);
		if (strv_add(&rm->unused, chain, e) < 0)
			return -1;
	}
	*parent = steal_ptr(parent_id);
	return 1;
}

/* Delete untagged parents up the chain while nothing else needs them (Docker's prune, quiet). */
static int prune_parents(struct img_db *db, char *parent_id, struct removal *rm, berr *e)
{
	_cleanup_free_ char *parent = parent_id;
	while (parent) {
		int r = image_exists(db, parent, e);
		if (r <= 0)
			return r;
		_cleanup_strvbuf_ struct strv refs = {0};
		if (image_tags(db, parent, &refs, e) < 0)
			return -1;
		if (refs.n > 0)
			return 0;
		_cleanup_free_ char *next = NULL;
		r = delete_one(db, parent, false, true, rm, &next, e);
		if (r <= 0)
			return r;
		free(parent);
		parent = steal_ptr(next);
	}
	return 0;
}

/* `docker rmi <id>`: Docker's path for a name that is (a prefix of) the ID. */
static int delete_by_id(struct img_db *db, const char *id, bool force, bool prune, struct removal *rm, berr *e)
{
	_cleanup_strvbuf_ struct strv refs = {0};
	bool single;
	if (image_tags(db, id, &refs, e) < 0 || single_reference(&refs, &single, e) < 0)
		return -1;
	if (single) {
		int r = find_conflict(db, id, CONFLICT_CHILD | (force ? 0 : CONFLICT_CONTAINER), e);
		if (r != 0)
			return -1;
		if (remove_all_refs(db, id, rm, e) < 0)
			return -1;
	}
	_cleanup_free_ char *parent = NULL;
	if (delete_one(db, id, force, false, rm, &parent, e) < 0)
		return -1;
	return prune ? prune_parents(db, steal_ptr(parent), rm, e) : 0;
}

/* `docker rmi <reference>`. */
static int delete_by_ref(struct img_db *db, const char *name, const char *id, bool force, bool prune,
			 struct removal *rm, berr *e)
{
	_cleanup_ref_ struct img_ref ref = {0};
	_cleanup_free_ char *canonical = NULL;
	if (canonical_ref(name, false, &ref, &canonical, e) < 0)
		return -1;
	_cleanup_strvbuf_ struct strv refs = {0};
	bool single;
	if (image_tags(db, id, &refs, e) < 0 || single_reference(&refs, &single, e) < 0)
		return -1;
	if (!force && single) {
		_cleanup_free_ char *ctr = NULL;
		int r = first_str(db, query(db, e, ST_CONTAINER_OF_IMAGE, "t", id), &ctr, e);
		if (r < 0)
			return -1;
		/* Untagging would leave a dangling image under a container: Docker wants that forced. */
		if (r > 0)
			return berr_plain(
			    e, EBUSY,
			    "conflict: unable to remove repository reference \"%s\" (must force) - container "
			    "%.12s is using its referenced image %.12s",
			    name, short_id(ctr), short_id(id));
	}
	if (untag_record(db, canonical, rm, e) < 0)
		return -1;

	strv_free(&refs);
	if (image_tags(db, id, &refs, e) < 0)
		return -1;
	if (!ref.digest) {
		/* No tag of this repository left: its digest references go too, as in Docker. */
		_cleanup_free_ char *repo = img_ref_repository(&ref);
		if (!repo)
			return oom(e);
		bool tag_left = false;
		for (size_t i = 0; i < refs.n && !tag_left; i++)
			tag_left = in_repository(refs.v[i], repo) && !strchr(refs.v[i] + strlen(repo), '@');
		if (!tag_left) {
			for (size_t i = 0; i < refs.n; i++)
				if (in_repository(refs.v[i], repo) && untag_record(db, refs.v[i], rm, e) < 0)
					return -1;
			strv_free(&refs);
			if (image_tags(db, id, &refs, e) < 0)
				return -1;
		}
	}
	if (refs.n > 0)
		return 0;
	_cleanup_free_ char *parent = NULL;
	int r = delete_one(db, id, force, true, rm, &parent, e);
	if (r <= 0)
		return r;
	return prune ? prune_parents(db, steal_ptr(parent), rm, e) : 0;
}

struct delete_arg {
	const char *name; /* remove: what the user typed; delete: the ID */
	bool by_name;
	bool force, prune;
	struct removal rm;
};

static int delete_fn(struct img_db *db, void *arg, berr *e)
{
	struct delete_arg *a = arg;
	_cleanup_free_ char *id = NULL;
	if (a->by_name) {
		if (resolve_in(db, a->name, &id, e) < 0)
			return -1;
	} else {
		int r = image_exists(db, a->name, e);
		if (r <= 0)
			return r < 0 ? -1 : no_such_image(e, a->name);
		if (!(id = strdup(a->name)))
			return oom(e);
	}
	/* Docker's isImageIDPrefix: the name is the ID, or its start, with or without "sha256:". */
	size_t len = strlen(a->name);
	bool id_path = !a->by_name || !strncmp(id, a->name, len) || !strncmp(short_id(id), a->name, len);
	if (id_path)
		return delete_by_id(db, id, a->force, a->prune, &a->rm, e);
	return delete_by_ref(db, a->name, id, a->force, a->prune, &a->rm, e);
}

int img_db_image_delete(struct img_db *db, const char *image_id, bool force, char ***unused_chain_ids, berr *e)
{
	if (unused_chain_ids)
		*unused_chain_ids = NULL;
	char id[B_DIGEST_LEN + 1];
	if (!full_id(image_id, id))
		return no_such_image(e, image_id ? image_id : "");
	struct delete_arg a = {.name = id, .by_name = false, .force = force, .prune = false};
	int r = tx_run(db, true, delete_fn, &a, e);
	if (r == 0 && unused_chain_ids)
		r = strv_steal(&a.rm.unused, unused_chain_ids, NULL, e);
	removal_clear(&a.rm);
	return r;
}

int img_db_image_remove(struct img_db *db, const char *name, bool force, bool prune, struct img_db_removal *out,
			berr *e)
{
	memset(out, 0, sizeof(*out));
	if (!name)
		return berr_invalid(e, "invalid reference format");
	struct delete_arg a = {.name = name, .by_name = true, .force = force, .prune = prune};
	int r = tx_run(db, true, delete_fn, &a, e);
	if (r == 0 && (strv_steal(&a.rm.untagged, &out->untagged, NULL, e) < 0 ||
		       strv_steal(&a.rm.deleted, &out->deleted, NULL, e) < 0 ||
		       strv_steal(&a.rm.unused, &out->unused_chain_ids, NULL, e) < 0)) {
		img_db_removal_free(out);
		r = -1;
	}
	removal_clear(&a.rm);
	return r;
}

void img_db_removal_free(struct img_db_removal *r)
{
	if (!r)
		return;
	strv_freep_raw(r->untagged);
	strv_freep_raw(r->deleted);
	strv_freep_raw(r->unused_chain_ids);
	memset(r, 0, sizeof(*r));
}

/* --- layers ------------------------------------------------------------------------------------ */

struct layer_arg {
	const char *chain, *diff, *parent, *compressed;
	int64_t size, compressed_size;
};

static int layer_put_fn(struct img_db *db, void *arg, berr *e)
{
	struct layer_arg *a = arg;
	if (run(db,
		query(db, e, ST_LAYER_UPSERT, "tttitn", a->chain, a->diff, a->parent, a->size, a->compressed,
		      a->compressed ? a->compressed_size : (int64_t)-1),
		e) < 0)
		return berr_wrap(e, "registering layer %s", a->chain);
	if (a->compressed &&
	    run(db, query(db, e, ST_LAYER_BLOB_ADD, "ttn", a->chain, a->compressed, a->compressed_size), e) < 0)
		return berr_wrap(e, "registering blob %s of layer %s", a->compressed, a->chain);
	return 0;
}

int img_db_layer_put(struct img_db *db, const char *chain_id, const char *diff_id, const char *parent_chain_id,
		     int64_t size, const char *compressed_digest, int64_t compressed_size, berr *e)
{
	if (!chain_id || !b_digest_valid(chain_id))
		return berr_invalid(e, "invalid chain ID \"%s\"", chain_id ? chain_id : "");
	if (!diff_id || !b_digest_valid(diff_id))
		return berr_invalid(e, "layer %s: invalid diff ID \"%s\"", chain_id, diff_id ? diff_id : "");
	if (valid_or_null("parent chain ID", parent_chain_id, e) < 0 ||
	    valid_or_null("compressed digest", compressed_digest, e) < 0)
		return berr_wrap(e, "layer %s", chain_id);
	char want[B_DIGEST_LEN + 1];
	chain_of(parent_chain_id, diff_id, want);
	if (strcmp(want, chain_id))
		return berr_invalid(e, "layer %s: the chain ID does not follow from parent %s and diff ID %s (%s)",
				    chain_id, parent_chain_id ? parent_chain_id : "(none)", diff_id, want);
	if (size < 0)
		return berr_invalid(e, "layer %s: invalid size %" PRId64, chain_id, size);
	struct layer_arg a = {chain_id, diff_id, parent_chain_id, compressed_digest, size, compressed_size};
	return tx_run(db, true, layer_put_fn, &a, e);
}

int img_db_layer_size(struct img_db *db, const char *chain_id, int64_t *size, berr *e)
{
	_cleanup_reset_ sqlite3_stmt *st = query(db, e, ST_LAYER_GET, "t", chain_id);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return berr_plain(e, ENOENT, "no such layer: %s", chain_id);
	if (rc != SQLITE_ROW)
		return sql_err(db, e, rc);
	*size = sqlite3_column_int64(st, 2);
	return 0;
}

bool img_db_layer_exists(struct img_db *db, const char *chain_id)
{
	berr e = {0};
	int r = chain_id ? has_row(db, query(db, &e, ST_LAYER_READY, "t", chain_id), &e) : 0;
	berr_clear(&e);
	return r > 0;
}

static int layer_delete_fn(struct img_db *db, void *arg, berr *e)
{
	const char *chain = arg;
	_cleanup_free_ char *user = NULL;
	int r = first_str(db, query(db, e, ST_LAYER_IMAGE_USER, "t", chain), &user, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return berr_plain(e, EBUSY, "layer %s is in use by image %s", chain, user);
	r = first_str(db, query(db, e, ST_LAYER_CONTAINER_USER, "t", chain), &user, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return berr_plain(e, EBUSY, "layer %s is in use by container %s", chain, user);
	if (run(db, query(db, e, ST_LAYER_DELETE, "t", chain), e) < 0)
		return berr_wrap(e, "unregistering layer %s", chain);
	return 0;
}

int img_db_layer_delete(struct img_db *db, const char *chain_id, berr *e)
{
	if (!chain_id || !b_digest_valid(chain_id))
		return berr_invalid(e, "invalid chain ID \"%s\"", chain_id ? chain_id : "");
	return tx_run(db, true, layer_delete_fn, (void *)chain_id, e);
}

struct strv_arg {
	enum st st;
	struct strv out;
};

static int strv_query_fn(struct img_db *db, void *arg, berr *e)
{
	struct strv_arg *a = arg;
	return all_str(db, query(db, e, a->st, ""), &a->out, e);
}

/* A whole-column query's rows as a NULL-terminated array. */
static int strv_query(struct img_db *db, enum st st, char ***out, size_t *n, berr *e)
{
	struct strv_arg a = {st, {0}};
	*out = NULL;
	if (n)
		*n = 0;
	int r = tx_run(db, false, strv_query_fn, &a, e);
	if (r == 0)
		r = strv_steal(&a.out, out, n, e);
	strv_free(&a.out);
	return r;
}

int img_db_layers_unused(struct img_db *db, char ***chain_ids, size_t *n, berr *e)
{
	if (strv_query(db, ST_LAYERS_UNUSED, chain_ids, n, e) < 0)
		return berr_wrap(e, "listing unused layers");
	return 0;
}

/* --- containers -------------------------------------------------------------------------------- */

struct use_arg {
	const char *container, *image;
};

static int use_fn(struct img_db *db, void *arg, berr *e)
{
	struct use_arg *a = arg;
	if (!a->image) {
		if (run(db, query(db, e, ST_CONTAINER_FORGET, "t", a->container), e) < 0)
			return berr_wrap(e, "forgetting container %s", a->container);
		return 0;
	}
	int r = image_exists(db, a->image, e);
	if (r <= 0)
		return r < 0 ? -1 : no_such_image(e, a->image);
	if (run(db, query(db, e, ST_CONTAINER_USE, "tt", a->container, a->image), e) < 0 ||
	    run(db, query(db, e, ST_CONTAINER_LAYERS_CLEAR, "t", a->container), e) < 0 ||
	    run(db, query(db, e, ST_CONTAINER_LAYERS_ADD, "tt", a->container, a->image), e) < 0)
		return berr_wrap(e, "recording that container %s uses image %s", a->container, a->image);
	return 0;
}

int img_db_container_use(struct img_db *db, const char *container_id, const char *image_id, bool in_use, berr *e)
{
	if (!container_id || !*container_id)
		return berr_invalid(e, "empty container ID");
	char id[B_DIGEST_LEN + 1];
	if (in_use && !full_id(image_id, id))
		return no_such_image(e, image_id ? image_id : "");
	struct use_arg a = {container_id, in_use ? id : NULL};
	return tx_run(db, true, use_fn, &a, e);
}

int img_db_referenced_blobs(struct img_db *db, char ***digests, size_t *n, berr *e)
{
	if (strv_query(db, ST_BLOBS, digests, n, e) < 0)
		return berr_wrap(e, "listing referenced blobs");
	return 0;
}

/* --- checks ------------------------------------------------------------------------------------ */

int img_db_check(struct img_db *db, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->sql, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sql_err(db, e, rc);
		sqlite3_finalize(st);
		return berr_wrap(e, "checking %s", db->path);
	}
	const char *first = (const char *)sqlite3_column_text(st, 0);
	if (!first || strcmp(first, "ok")) {
		berr_plain(e, EIO, "%s is damaged: %s", db->path, first ? first : "?");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);

	rc = sqlite3_prepare_v2(db->sql, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);
		const char *parent = (const char *)sqlite3_column_text(st, 2);
		berr_plain(e, EIO, "%s is damaged: a row of %s points to a missing row of %s", db->path,
			   table ? table : "?", parent ? parent : "?");
		sqlite3_finalize(st);
		return -1;
	}
	if (rc != SQLITE_DONE) {
		sql_err(db, e, rc);
		sqlite3_finalize(st);
		return berr_wrap(e, "checking %s", db->path);
	}
	sqlite3_finalize(st);
	return 0;
}
