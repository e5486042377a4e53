/* Volumes over the Docker API's verbs, and the volumes of containers: made on use, filled from the image, removed with
 * -v. */
#include "engine/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "engine/events.h"
#include "engine/names.h"
#include "engine/volume_store.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/fs.h"
#include "lib/tree.h"

static void lock(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
}

static void unlock(struct eng *eng)
{
	pthread_mutex_unlock(&eng->lock);
}

/* ---------- who uses a volume ---------- */

static bool mounts_volume(const struct ctr *c, const char *name)
{
	json_t *arr = json_object_get(c->doc, "Mounts"), *m;
	size_t i;
	json_array_foreach (arr, i, m) {
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *vname = json_string_value(json_object_get(m, "Name"));
		if (type && !strcmp(type, "volume") && vname && !strcmp(vname, name))
			return true;
	}
	return false;
}

/* The IDs of the containers (but except) that use name. */
static json_t *users_of(struct eng *eng, const char *name, const struct ctr *except)
{
	json_t *ids = json_array();
	for (struct ctr *c = eng->ctrs; c && ids; c = c->next)
		if (c != except && !c->removed && mounts_volume(c, name))
			json_array_append_new(ids, json_string(c->id));
	return ids;
}

static bool anonymous(json_t *vol)
{
	return json_object_get(json_object_get(vol, "Labels"), ENG_VOLUME_ANONYMOUS_LABEL) != NULL;
}

static int64_t volume_size(const char *mountpoint)
{
	_cleanup_close_ int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int64_t bytes = -1;
	berr e = {0};
	if (fd >= 0 && b_tree_size(fd, &bytes, &e) < 0)
		bytes = -1;
	berr_clear(&e);
	return bytes;
}

/* A volume's event as Docker's daemon reports it: the driver, and extra attributes (stolen). */
static void volume_event(struct eng *eng, const char *action, const char *name, json_t *extra)
{
	json_t *attrs = extra ? extra : json_object();
	json_object_set_new(attrs, "driver", json_string("local"));
	eng_event(eng, "volume", action, name, attrs);
}

/* ---------- filters (lib/filters.h) ---------- */

struct bool_filter {
	bool set, value;
	const char *bad;
};

static bool bool_value(const char *v, void *arg)
{
	struct bool_filter *b = arg;
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		b->value = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		b->value = false;
	else if (!b->bad)
		b->bad = v;
	b->set |= !b->bad;
	return false; /* look at every value */
}

/* A boolean filter ("true", "1", "false", "0"); *set false when it is absent. */
static int filter_bool(json_t *filters, const char *key, bool *set, bool *value, berr *e)
{
	struct bool_filter b = {0};
	b_filter_any(filters, key, bool_value, &b);
	if (b.bad)
		return berr_invalid(e, "invalid filter '%s=%s'", key, b.bad);
	*set = b.set;
	*value = b.value;
	return 0;
}

/* Docker's Args.Match: the value itself, or a regular expression found in it. */
static bool matches(const char *pattern, void *arg)
{
	const char *s = arg;
	if (!strcmp(pattern, s))
		return true;
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	bool hit = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return hit;
}

static bool label_missing(const char *filter, void *labels)
{
	return !b_labels_match(labels, filter);
}

static bool label_present(const char *filter, void *labels)
{
	return b_labels_match(labels, filter);
}

/* Every `label` filter matches (Docker's MatchKVList) and no `label!` one does. */
static bool labels_pass(json_t *filters, json_t *labels)
{
	if (b_filter_given(filters, "label") && b_filter_any(filters, "label", label_missing, labels))
		return false;
	return !b_filter_given(filters, "label!") || !b_filter_any(filters, "label!", label_present, labels);
}

/* ---------- the API's verbs ---------- */

int eng_volume_create(struct eng *eng, json_t *body, json_t **out, berr *e)
{
	if (body && !json_is_object(body))
		return berr_invalid(e, "the request body must be a JSON object");
	json_t *jname = json_object_get(body, "Name"), *jdriver = json_object_get(body, "Driver");
	json_t *labels = json_object_get(body, "Labels"), *opts = json_object_get(body, "DriverOpts");
	if ((jname && !json_is_null(jname) && !json_is_string(jname)) ||
	    (jdriver && !json_is_null(jdriver) && !json_is_string(jdriver)))
		return berr_invalid(e, "Name and Driver must be strings");
	if (labels && !json_is_null(labels) && !json_is_object(labels))
		return berr_invalid(e, "Labels: expected an object");
	if (opts && !json_is_null(opts) && !json_is_object(opts))
		return berr_invalid(e, "DriverOpts: expected an object");
	const char *name = json_string_value(jname), *driver = json_string_value(jdriver);
	char generated[65];
	if (!name || !*name) {
		eng_id_generate(generated);
		name = generated;
	}
	if (driver && *driver && strcmp(driver, "local") != 0)
		return berr_plain(e, ENOENT, "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
				  name, driver, driver);
	bool created;
	lock(eng);
	int r = vol_store_create(eng->vols, name, labels, opts, out, &created, e);
	if (r == 0 && created)
		volume_event(eng, "create", name, NULL);
	unlock(eng);
	if (r < 0 && strncmp(berr_msg(e), "create ", 7) != 0)
		berr_wrap(e, "create %s", name);
	return r;
}

int eng_volume_inspect(struct eng *eng, const char *name, json_t **out, berr *e)
{
	lock(eng);
	int r = vol_store_get(eng->vols, name, out, e);
	unlock(eng);
	return r;
}

static const char *const list_filters[] = {"name", "label", "dangling", "driver", NULL};

int eng_volume_list(struct eng *eng, json_t *filters, json_t **out, berr *e)
{
	bool dangling_set = false, dangling = false;
	if (b_filters_check(filters, list_filters, e) < 0 ||
	    filter_bool(filters, "dangling", &dangling_set, &dangling, e) < 0)
		return -1;
	json_t *all = NULL;
	lock(eng);
	int r = vol_store_list(eng->vols, &all, e);
	json_t *kept = json_array();
	json_t *v;
	size_t i;
	json_array_foreach (all, i, v) {
		const char *name = json_string_value(json_object_get(v, "Name"));
		if (!b_filter_any(filters, "name", matches, (void *)name) ||
		    !b_filter_any(filters, "driver", matches, (void *)"local") ||
		    !labels_pass(filters, json_object_get(v, "Labels")))
			continue;
		if (dangling_set) {
			json_t *users = users_of(eng, name, NULL);
			bool unused = json_array_size(users) == 0;
			json_decref(users);
			if (unused != dangling)
				continue;
		}
		json_array_append(kept, v);
	}
	unlock(eng);
	json_decref(all);
	if (r < 0) {
		json_decref(kept);
		return -1;
	}
	*out = kept;
	return 0;
}

/* "[id1, id2]" as Docker writes the users of a volume. */
static char *ids_text(json_t *ids)
{
	size_t n = json_array_size(ids);
	char *s = calloc(1, n * 67 + 3);
	if (!s)
		return NULL;
	strcat(s, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, json_string_value(json_array_get(ids, i)));
	}
	strcat(s, "]");
	return s;
}

static int remove_locked(struct eng *eng, const char *name, const struct ctr *except, berr *e)
{
	json_t *vol = NULL;
	if (vol_store_get(eng->vols, name, &vol, e) < 0)
		return -1;
	json_decref(vol);
	json_t *users = users_of(eng, name, except);
	if (json_array_size(users)) {
		_cleanup_free_ char *text = ids_text(users);
		json_decref(users);
		return berr_plain(e, EBUSY, "remove %s: volume is in use - %s", name, text ? text : "[]");
	}
	json_decref(users);
	if (vol_store_remove(eng->vols, name, e) < 0)
		return -1;
	volume_event(eng, "destroy", name, NULL);
	return 0;
}

int eng_volume_remove(struct eng *eng, const char *name, bool force, berr *e)
{
	lock(eng);
	int r = remove_locked(eng, name, NULL, e);
	unlock(eng);
	if (r < 0 && force && e->errnum == ENOENT) {
		berr_clear(e);
		return 0;
	}
	return r;
}

static const char *const prune_filters[] = {"label", "label!", "all", NULL};

int eng_volume_prune(struct eng *eng, json_t *filters, bool all_volumes, json_t **out, berr *e)
{
	bool all_set = false, all = false;
	if (b_filters_check(filters, prune_filters, e) < 0 || filter_bool(filters, "all", &all_set, &all, e) < 0)
		return -1;
	if (all_set)
		all_volumes = all;
	json_t *vols = NULL, *deleted = json_array();
	int64_t reclaimed = 0;
	lock(eng);
	int r = vol_store_list(eng->vols, &vols, e);
	json_t *v;
	size_t i;
	json_array_foreach (vols, i, v) {
		const char *name = json_string_value(json_object_get(v, "Name"));
		if ((!all_volumes && !anonymous(v)) || !labels_pass(filters, json_object_get(v, "Labels")))
			continue;
		json_t *users = users_of(eng, name, NULL);
		bool used = json_array_size(users) > 0;
		json_decref(users);
		if (used)
			continue;
		int64_t size = volume_size(json_string_value(json_object_get(v, "Mountpoint")));
		berr why = {0};
		if (vol_store_remove(eng->vols, name, &why) < 0) {
			fprintf(stderr, "berthd: pruning volume %s: %s\n", name, berr_msg(&why));
			berr_clear(&why);
			continue;
		}
		volume_event(eng, "destroy", name, NULL);
		json_array_append_new(deleted, json_string(name));
		if (size > 0)
			reclaimed += size;
	}
	if (r == 0)
		eng_event(eng, "volume", "prune", "", eng_event_number("reclaimed", (long long)reclaimed));
	unlock(eng);
	json_decref(vols);
	if (r < 0) {
		json_decref(deleted);
		return -1;
	}
	*out = json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
	return *out ? 0 : berr_set(e, ENOMEM, "pruning volumes");
}

int eng_volume_usage(struct eng *eng, json_t **out, berr *e)
{
	json_t *vols = NULL;
	lock(eng);
	int r = vol_store_list(eng->vols, &vols, e);
	json_t *v;
	size_t i;
	json_array_foreach (vols, i, v) {
		json_t *users = users_of(eng, json_string_value(json_object_get(v, "Name")), NULL);
		int64_t size = volume_size(json_string_value(json_object_get(v, "Mountpoint")));
		json_object_set_new(
		    v, "UsageData",
		    json_pack("{s:I, s:I}", "Size", (json_int_t)size, "RefCount", (json_int_t)json_array_size(users)));
		json_decref(users);
	}
	unlock(eng);
	if (r < 0)
		return -1;
	*out = vols;
	return 0;
}

/* ---------- containers' volumes ---------- */

int eng_volume_attach_locked(struct eng *eng, struct eng_mount *m, json_t *entry, berr *e)
{
	/* A volume the mount makes gets the mount's VolumeOptions (labels, the local driver's options). */
	json_t *labels = m->volume_labels ? json_deep_copy(m->volume_labels) : NULL;
	if (!m->source || !*m->source) {
		char name[65];
		eng_id_generate(name);
		free(m->source);
		if (!(m->source = strdup(name))) {
			json_decref(labels);
			return berr_set(e, ENOMEM, "anonymous volume");
		}
		if (!labels)
			labels = json_object();
		json_object_set_new(labels, ENG_VOLUME_ANONYMOUS_LABEL, json_string(""));
	}
	json_t *vol = NULL;
	bool created;
	int r = vol_store_create(eng->vols, m->source, labels, m->volume_options, &vol, &created, e);
	json_decref(labels);
	if (r < 0)
		return strncmp(berr_msg(e), "create ", 7) != 0 ? berr_wrap(e, "create %s", m->source) : -1;
	if (created)
		volume_event(eng, "create", m->source, NULL);
	json_object_set_new(entry, "Name", json_string(m->source));
	json_object_set_new(entry, "Driver", json_string("local"));
	json_object_set(entry, "Source", json_object_get(vol, "Mountpoint"));
	if (m->no_copy)
		json_object_set_new(entry, "BerthNoCopy", json_true());
	json_decref(vol);
	return 0;
}

/* Remove what a failed copy left, so that the next start tries again on an empty volume. */
static void empty_dir(const char *path)
{
	_cleanup_closedir_ DIR *dir = opendir(path);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = NULL;
		berr ignored = {0};
		if (asprintf(&child, "%s/%s", path, de->d_name) > 0)
			b_remove_tree(child, &ignored);
		berr_clear(&ignored);
	}
}

/* Docker's copy-up: the image's content at dest into the (empty) volume at data. */
static int copy_up(int rootfd, const char *dest, const char *data, const char *name, berr *e)
{
	_cleanup_close_ int src = b_open_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY, 0);
	if (src < 0) {
		/* Nothing there, or not a directory: nothing to copy. */
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return berr_sys(e, "volume %s: opening %s in the container", name, dest);
	}
	_cleanup_close_ int dst = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return berr_sys(e, "volume %s: opening %s", name, data);
	if (b_tree_copy(src, dst, e) < 0) {
		empty_dir(data);
		return berr_wrap(e, "volume %s: copying the image's %s", name, dest);
	}
	return 0;
}

int eng_volumes_prepare_locked(struct eng *eng, json_t *doc, const char *rootfs, berr *e)
{
	json_t *arr = json_object_get(doc, "Mounts"), *m;
	size_t i;
	_cleanup_close_ int rootfd = -1;
	json_array_foreach (arr, i, m) {
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *name = json_string_value(json_object_get(m, "Name"));
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		if (!type || strcmp(type, "volume") != 0 || !name || !dest)
			continue;
		/* A container older than the volume store: its volume is recorded now, its data kept. */
		json_t *vol = NULL;
		bool created;
		if (vol_store_create(eng->vols, name, NULL, NULL, &vol, &created, e) < 0)
			return -1;
		json_decref(vol);
		if (created)
			volume_event(eng, "create", name, NULL);
		_cleanup_free_ char *data = NULL;
		if (vol_store_mount(eng->vols, name, &data, e) < 0)
			return -1;
		const char *id = json_string_value(json_object_get(doc, "Id"));
		const char *prop = json_string_value(json_object_get(m, "Propagation"));
		volume_event(eng, "mount", name,
			     json_pack("{s:s, s:s, s:s, s:s}", "container", id ? id : "", "destination", dest,
				       "propagation", prop ? prop : "", "read/write",
				       json_is_false(json_object_get(m, "RW")) ? "false" : "true"));
		bool empty = false;
		if (json_is_true(json_object_get(m, "BerthNoCopy")))
			continue;
		if (vol_store_empty(eng->vols, name, &empty, e) < 0)
			return -1;
		if (!empty)
			continue;
		if (rootfd < 0 && (rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return berr_sys(e, "opening %s", rootfs);
		if (copy_up(rootfd, dest, data, name, e) < 0)
			return -1;
	}
	return 0;
}

void eng_volumes_remove_anonymous_locked(struct eng *eng, struct ctr *c)
{
	json_t *arr = json_object_get(c->doc, "Mounts"), *m;
	size_t i;
	json_array_foreach (arr, i, m) {
		const char *name = json_string_value(json_object_get(m, "Name"));
		const char *type = json_string_value(json_object_get(m, "Type"));
		if (!name || !type || strcmp(type, "volume") != 0)
			continue;
		json_t *vol = NULL;
		berr e = {0};
		if (vol_store_get(eng->vols, name, &vol, &e) == 0 && anonymous(vol) &&
		    remove_locked(eng, name, c, &e) < 0 && e.errnum != EBUSY)
			fprintf(stderr, "berthd: removing volume %s of %s: %s\n", name, c->id, berr_msg(&e));
		berr_clear(&e);
		json_decref(vol);
	}
}
