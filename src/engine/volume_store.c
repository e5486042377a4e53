/* The local volume driver: records in berth.db, directories under volumes/, tmpfs and bind options mounted. */
#include "engine/volume_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "engine/names.h"
#include "lib/cleanup.h"
#include "lib/sqlite_db.h"
#include "lib/fs.h"

#define STAGING_PREFIX "._new-"  /* a volume being made: ._new-<instance> */
#define TRASH_PREFIX   "._gone-" /* a volume being removed: ._gone-<instance> */

struct vol_store {
	sqlite3 *h;
	char *dir;
	int dirfd;
};

/* ---------- names and options ---------- */

int vol_name_check(const char *name, berr *e)
{
	if (strlen(name) == 1)
		return berr_invalid(e,
				    "volume name is too short, names should be at least two alphanumeric characters");
	bool ok = (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
		  (name[0] >= '0' && name[0] <= '9');
	for (const char *p = name + 1; *p && ok; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		     *p == '.' || *p == '-';
	if (!ok)
		return berr_invalid(e,
				    "\"%s\" includes invalid characters for a local volume name, only "
				    "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
				    "directory, use absolute path",
				    name);
	return 0;
}

/* What mount(2) takes from the "o" option (Docker's mount.ParseOptions). */
struct mount_opts {
	unsigned long flags, propagation;
	char *data; /* what is not a flag, comma-separated */
	bool bind;
};

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_flags[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int mount_opts_parse(const char *o, struct mount_opts *m, berr *e)
{
	memset(m, 0, sizeof *m);
	_cleanup_free_ char *copy = strdup(o ? o : "");
	size_t cap = strlen(copy) + 1;
	m->data = calloc(1, cap);
	if (!copy || !m->data)
		return berr_set(e, ENOMEM, "volume options");
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(mount_flags) && !known; i++) {
			if (strcmp(tok, mount_flags[i].name) != 0)
				continue;
			known = true;
			if (mount_flags[i].clear)
				m->flags &= ~mount_flags[i].flag;
			else
				m->flags |= mount_flags[i].flag;
		}
		for (size_t i = 0; i < ARRAY_SIZE(propagation_flags) && !known; i++) {
			if (strcmp(tok, propagation_flags[i].name) == 0) {
				known = true;
				m->propagation = propagation_flags[i].flag;
			}
		}
		if (!strcmp(tok, "remount"))
			return berr_invalid(e, "invalid option: o=remount is not allowed for a volume");
		if (known)
			continue;
		if (*m->data)
			strcat(m->data, ",");
		strcat(m->data, tok);
	}
	m->bind = (m->flags & MS_BIND) != 0;
	return 0;
}

static const char *opt_str(json_t *options, const char *key)
{
	const char *v = json_string_value(json_object_get(options, key));
	return v && *v ? v : NULL;
}

/* Docker's local driver's checks, then what berthd can mount. */
static int options_check(json_t *options, berr *e)
{
	if (!options || json_is_null(options))
		return 0;
	if (!json_is_object(options))
		return berr_invalid(e, "DriverOpts: expected an object, got %s",
				    json_is_array(options) ? "an array" : "a scalar");
	const char *k;
	json_t *v;
	json_object_foreach (options, k, v) {
		if (strcmp(k, "type") != 0 && strcmp(k, "device") != 0 && strcmp(k, "o") != 0 && strcmp(k, "size") != 0)
			return berr_invalid(e, "invalid option: \"%s\"", k);
		if (!json_is_string(v))
			return berr_invalid(e, "invalid option: \"%s\": expected a string", k);
	}
	if (json_object_get(options, "size"))
		return berr_invalid(e, "quota size requested but no quota support");
	const char *type = opt_str(options, "type"), *device = opt_str(options, "device"), *o = opt_str(options, "o");
	if (!type && !device && !o)
		return 0;
	if (!type)
		return berr_invalid(e, "missing required option: \"type\"");
	if (!device)
		return berr_invalid(e, "missing required option: \"device\"");
	struct mount_opts m;
	int r = mount_opts_parse(o, &m, e);
	free(m.data);
	if (r < 0)
		return -1;
	if (m.bind) {
		struct stat st;
		if (device[0] != '/')
			return berr_invalid(e, "invalid device for a bind volume: \"%s\" is not an absolute path",
					    device);
		if (stat(device, &st) < 0)
			return berr_set(e, errno == ENOENT ? EINVAL : errno, "bind volume device %s", device);
		return 0;
	}
	if (!strcmp(type, "tmpfs"))
		return 0;
	return berr_plain(
	    e, ENOTSUP, "volume type \"%s\" of the local driver is not supported by berthd: type=tmpfs and o=bind are",
	    type);
}

/* ---------- records ---------- */

/* The record of name (*doc, *instance); 1 when there is none. */
static int rec_get(struct vol_store *s, const char *name, json_t **doc, char **instance, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->h, "SELECT doc, instance FROM engine_volumes WHERE name = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(s->h, rc, e, "reading a volume");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	int r = 1;
	if (rc == SQLITE_ROW) {
		json_error_t jerr;
		json_t *d = json_loads((const char *)sqlite3_column_text(st, 0), 0, &jerr);
		if (!d) {
			r = berr_plain(e, EIO, "volume %s: its record is not JSON: %s", name, jerr.text);
		} else {
			r = 0;
			*doc = d;
			if (instance && !(*instance = strdup((const char *)sqlite3_column_text(st, 1)))) {
				json_decref(d);
				r = berr_set(e, ENOMEM, "volume %s", name);
			}
		}
	} else if (rc != SQLITE_DONE) {
		r = b_sqlite_fail(s->h, rc, e, "reading a volume");
	}
	sqlite3_finalize(st);
	return r;
}

static int exec_name(struct vol_store *s, const char *sql, const char *a, const char *b, const char *c, berr *e,
		     const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(s->h, rc, e, what);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return b_sqlite_fail(s->h, rc, e, what);
	return 0;
}

/* The name recorded with instance (malloc'd), or NULL. */
static char *name_of_instance(struct vol_store *s, const char *instance)
{
	sqlite3_stmt *st = NULL;
	char *name = NULL;
	if (sqlite3_prepare_v2(s->h, "SELECT name FROM engine_volumes WHERE instance = ?1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		name = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return name;
}

/* The record as the API shows it: with its Mountpoint. */
static json_t *public_doc(struct vol_store *s, json_t *rec)
{
	char *mp = NULL;
	const char *name = json_string_value(json_object_get(rec, "Name"));
	if (asprintf(&mp, "%s/%s/_data", s->dir, name ? name : "") < 0)
		return NULL;
	json_object_set_new(rec, "Mountpoint", json_string(mp));
	free(mp);
	return rec;
}

/* ---------- directories and mounts ---------- */

static char *data_path(struct vol_store *s, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s/_data", s->dir, name) < 0)
		return NULL;
	return p;
}

static bool is_mount_root(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Take down whatever is mounted on path (a tmpfs or bind volume, maybe mounted twice). */
static int unmount_all(const char *path, berr *e)
{
	for (int i = 0; i < 16 && is_mount_root(path); i++)
		if (umount2(path, MNT_DETACH) < 0)
			return berr_sys(e, "unmounting %s", path);
	return 0;
}

static int mount_options(json_t *options, const char *path, berr *e)
{
	const char *type = opt_str(options, "type"), *device = opt_str(options, "device"), *o = opt_str(options, "o");
	struct mount_opts m;
	if (mount_opts_parse(o, &m, e) < 0) {
		free(m.data);
		return -1;
	}
	int r = 0;
	if (m.bind) {
		if (mount(device, path, NULL, m.flags & (MS_BIND | MS_REC), NULL) < 0)
			r = berr_sys(e, "bind-mounting %s on %s", device, path);
		/* The other flags of a bind mount only take with a remount. */
		unsigned long rest = m.flags & ~(MS_BIND | MS_REC);
		if (r == 0 && rest && mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | rest, NULL) < 0) {
			r = berr_sys(e, "remounting %s with its options", path);
			umount2(path, MNT_DETACH);
		}
	} else if (mount(device, path, type, m.flags, *m.data ? m.data : NULL) < 0) {
		r = berr_sys(e, "mounting %s (type %s, options \"%s\") on %s", device, type, o ? o : "", path);
	}
	if (r == 0 && m.propagation && mount(NULL, path, NULL, m.propagation, NULL) < 0) {
		r = berr_sys(e, "setting the propagation of %s", path);
		umount2(path, MNT_DETACH);
	}
	free(m.data);
	return r;
}

/* ---------- opening: finish or undo what a crash interrupted ---------- */

static void recover_entry(struct vol_store *s, const char *entry)
{
	berr e = {0};
	bool staging = !strncmp(entry, STAGING_PREFIX, strlen(STAGING_PREFIX));
	const char *instance = entry + strlen(staging ? STAGING_PREFIX : TRASH_PREFIX);
	_cleanup_free_ char *name = name_of_instance(s, instance);
	struct stat st;
	if (staging && name && fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
	    renameat(s->dirfd, entry, s->dirfd, name) == 0)
		return; /* recorded but not yet in place: the creation completes */
	if (!staging && name &&
	    exec_name(s, "DELETE FROM engine_volumes WHERE instance = ?1", instance, NULL, NULL, &e,
		      "forgetting a removed volume") < 0) {
		fprintf(stderr, "berthd: volume %s: %s\n", name, berr_msg(&e));
		berr_clear(&e);
		return;
	}
	_cleanup_free_ char *path = NULL, *data = NULL;
	if (asprintf(&path, "%s/%s", s->dir, entry) < 0 || asprintf(&data, "%s/_data", path) < 0)
		return;
	if (unmount_all(data, &e) < 0 || b_remove_tree(path, &e) < 0) {
		fprintf(stderr, "berthd: cleaning up %s: %s\n", path, berr_msg(&e));
		berr_clear(&e);
	}
}

static int recover(struct vol_store *s, berr *e)
{
	int fd = dup(s->dirfd);
	if (fd < 0)
		return berr_sys(e, "reading %s", s->dir);
	_cleanup_closedir_ DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return berr_sys(e, "reading %s", s->dir);
	}
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!strncmp(de->d_name, STAGING_PREFIX, strlen(STAGING_PREFIX)) ||
		    !strncmp(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)))
			recover_entry(s, de->d_name);
	}
	/* A record whose directory is missing (deleted by hand, or a crash before the rename): made again. */
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->h, "SELECT name FROM engine_volumes", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(s->h, rc, e, "reading the volumes");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		_cleanup_free_ char *data = data_path(s, (const char *)sqlite3_column_text(st, 0));
		berr ignored = {0};
		if (data && !b_path_exists(data) && b_mkdir_p(data, 0755, &ignored) < 0) {
			fprintf(stderr, "berthd: volume directory %s: %s\n", data, berr_msg(&ignored));
			berr_clear(&ignored);
		}
	}
	sqlite3_finalize(st);
	return 0;
}

int vol_store_open(const char *db_path, const char *volumes_dir, struct vol_store **out, berr *e)
{
	struct vol_store *s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(volumes_dir))) {
		free(s);
		return berr_set(e, ENOMEM, "opening the volumes");
	}
	s->dirfd = open(volumes_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		berr_sys(e, "opening %s", volumes_dir);
		vol_store_close(s);
		return -1;
	}
	const char *schema = "CREATE TABLE IF NOT EXISTS engine_volumes ("
			     " name TEXT PRIMARY KEY,"
			     " instance TEXT NOT NULL UNIQUE,"
			     " doc TEXT NOT NULL);";
	if (b_sqlite_open(db_path, B_SQLITE_DURABLE, schema, &s->h, e) < 0) {
		vol_store_close(s);
		return -1;
	}
	if (recover(s, e) < 0) {
		vol_store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void vol_store_close(struct vol_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->h);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

/* ---------- the verbs ---------- */

int vol_store_get(struct vol_store *s, const char *name, json_t **doc, berr *e)
{
	json_t *rec = NULL;
	int r = rec_get(s, name, &rec, NULL, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return berr_plain(e, ENOENT, "get %s: no such volume", name);
	if (!public_doc(s, rec)) {
		json_decref(rec);
		return berr_set(e, ENOMEM, "volume %s", name);
	}
	*doc = rec;
	return 0;
}

int vol_store_create(struct vol_store *s, const char *name, json_t *labels, json_t *options, json_t **doc,
		     bool *created, berr *e)
{
	*created = false;
	if (vol_name_check(name, e) < 0)
		return -1;
	json_t *rec = NULL;
	int r = rec_get(s, name, &rec, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		*doc = public_doc(s, rec);
		return *doc ? 0 : berr_set(e, ENOMEM, "volume %s", name);
	}
	if (labels && !json_is_null(labels) && !json_is_object(labels))
		return berr_invalid(e, "Labels: expected an object");
	const char *k;
	json_t *v;
	json_object_foreach (labels, k, v)
		if (!json_is_string(v))
			return berr_invalid(e, "Labels.%s: expected a string", k);
	if (options_check(options, e) < 0)
		return -1;

	char id[65], instance[33];
	eng_id_generate(id);
	memcpy(instance, id, 32);
	instance[32] = '\0';
	char created_at[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(created_at, sizeof created_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Labels and Options as the request gave them: {} stays {} (the docker CLI's), absent is null. */
	rec = json_pack("{s:s, s:s, s:s, s:O, s:s, s:O}", "Name", name, "Driver", "local", "CreatedAt", created_at,
			"Labels", labels && json_is_object(labels) ? labels : json_null(), "Scope", "local", "Options",
			json_is_object(options) ? options : json_null());
	_cleanup_free_ char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	_cleanup_free_ char *staging = NULL, *staging_data = NULL;
	if (!text || asprintf(&staging, STAGING_PREFIX "%s", instance) < 0 ||
	    asprintf(&staging_data, "%s/_data", staging) < 0) {
		json_decref(rec);
		return berr_set(e, ENOMEM, "create %s", name);
	}
	/* 1: the directory under a staging name; 2: the record (the commit); 3: the directory takes its name. */
	if (mkdirat(s->dirfd, staging, 0755) < 0 || mkdirat(s->dirfd, staging_data, 0755) < 0 ||
	    fchmodat(s->dirfd, staging_data, 0755, 0) < 0) {
		berr_sys(e, "create %s: making its directory", name);
		goto undo_dir;
	}
	if (exec_name(s, "INSERT INTO engine_volumes (name, instance, doc) VALUES (?1, ?2, ?3)", name, instance, text,
		      e, "recording a volume") < 0) {
		berr_wrap(e, "create %s", name);
		goto undo_dir;
	}
	if (renameat(s->dirfd, staging, s->dirfd, name) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			berr_sys(e, "create %s: renaming its directory", name);
			berr ignored = {0};
			exec_name(s, "DELETE FROM engine_volumes WHERE instance = ?1", instance, NULL, NULL, &ignored,
				  "forgetting a volume");
			berr_clear(&ignored);
			goto undo_dir;
		}
		/* A directory of that name and no record: a volume made before volumes were recorded, kept. */
		_cleanup_free_ char *data = data_path(s, name);
		berr ignored = {0};
		if (data)
			b_mkdir_p(data, 0755, &ignored);
		berr_clear(&ignored);
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s/%s", s->dir, staging) > 0)
			b_remove_tree(path, &ignored);
		berr_clear(&ignored);
	}
	*doc = public_doc(s, rec);
	*created = true;
	return 0;
undo_dir:;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", s->dir, staging) > 0) {
		berr ignored = {0};
		b_remove_tree(path, &ignored);
		berr_clear(&ignored);
	}
	json_decref(rec);
	return -1;
}

int vol_store_list(struct vol_store *s, json_t **arr, berr *e)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->h, "SELECT doc FROM engine_volumes ORDER BY name", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return b_sqlite_fail(s->h, rc, e, "reading the volumes");
	json_t *out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *rec = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		if (rec && public_doc(s, rec))
			json_array_append_new(out, rec);
		else
			json_decref(rec);
	}
	int r = rc == SQLITE_DONE ? 0 : b_sqlite_fail(s->h, rc, e, "reading the volumes");
	sqlite3_finalize(st);
	if (r < 0 || !out) {
		json_decref(out);
		return r < 0 ? -1 : berr_set(e, ENOMEM, "listing the volumes");
	}
	*arr = out;
	return 0;
}

int vol_store_remove(struct vol_store *s, const char *name, berr *e)
{
	json_t *rec = NULL;
	_cleanup_free_ char *instance = NULL;
	int r = rec_get(s, name, &rec, &instance, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return berr_plain(e, ENOENT, "get %s: no such volume", name);
	json_decref(rec);
	_cleanup_free_ char *data = data_path(s, name), *trash = NULL, *trash_path = NULL;
	if (!data || asprintf(&trash, TRASH_PREFIX "%s", instance) < 0 ||
	    asprintf(&trash_path, "%s/%s", s->dir, trash) < 0)
		return berr_set(e, ENOMEM, "remove %s", name);
	if (unmount_all(data, e) < 0)
		return berr_wrap(e, "remove %s", name);
	/* The rename decides: from here on the volume is gone, whatever happens next. */
	if (renameat(s->dirfd, name, s->dirfd, trash) < 0 && errno != ENOENT)
		return berr_sys(e, "remove %s: renaming its directory", name);
	/* On disk before the record goes: a power cut must not bring the directory back without it. */
	if (fsync(s->dirfd) < 0)
		return berr_sys(e, "remove %s: syncing %s", name, s->dir);
	if (exec_name(s, "DELETE FROM engine_volumes WHERE instance = ?1", instance, NULL, NULL, e,
		      "forgetting a volume") < 0)
		return berr_wrap(e, "remove %s", name);
	berr ignored = {0};
	if (b_remove_tree(trash_path, &ignored) < 0)
		fprintf(stderr, "berthd: remove %s: %s\n", name, berr_msg(&ignored));
	berr_clear(&ignored);
	return 0;
}

int vol_store_mount(struct vol_store *s, const char *name, char **path, berr *e)
{
	json_t *rec = NULL;
	int r = rec_get(s, name, &rec, NULL, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return berr_plain(e, ENOENT, "get %s: no such volume", name);
	_cleanup_free_ char *data = data_path(s, name);
	if (!data) {
		json_decref(rec);
		return berr_set(e, ENOMEM, "volume %s", name);
	}
	json_t *options = json_object_get(rec, "Options");
	r = b_mkdir_p(data, 0755, e);
	if (r == 0 && opt_str(options, "type") && !is_mount_root(data))
		r = mount_options(options, data, e);
	json_decref(rec);
	if (r < 0)
		return berr_wrap(e, "mounting volume %s", name);
	if (path)
		*path = steal_ptr(data);
	return 0;
}

int vol_store_empty(struct vol_store *s, const char *name, bool *empty, berr *e)
{
	_cleanup_free_ char *data = data_path(s, name);
	if (!data)
		return berr_set(e, ENOMEM, "volume %s", name);
	_cleanup_closedir_ DIR *dir = opendir(data);
	if (!dir)
		return berr_sys(e, "reading volume %s", name);
	*empty = true;
	struct dirent *de;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			*empty = false;
	return 0;
}
