/*
 * A container's filesystem: its root filesystem mounted (an init layer over the image's layers,
 * under its writable layer), and what is read from it: `docker diff` (changes), `docker export`
 * and `docker commit`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine_internal.h"
#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "oci/container.h"
#include "storage/overlay.h"

static void lock(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
}

static void unlock(struct eng *eng)
{
	pthread_mutex_unlock(&eng->lock);
}

/* The lower dirs, top-most first: the init layer (when the container has one) over the image's layers. */
static int lower_dirs(struct img_env *env, const char *ctr_dir, const char *image_id, char ***out, size_t *n, berr *e)
{
	_cleanup_strv_ char **dirs = NULL;
	size_t n_dirs = 0;
	if (img_rootfs_dirs(env, image_id, &dirs, &n_dirs, e) < 0)
		return -1;
	_cleanup_free_ char *init = NULL;
	if (asprintf(&init, "%s/init", ctr_dir) < 0)
		return berr_set(e, ENOMEM, "container %s", ctr_dir);
	struct stat st;
	bool has_init = stat(init, &st) == 0 && S_ISDIR(st.st_mode);
	char **v = calloc(n_dirs + 2, sizeof *v);
	if (!v)
		return berr_set(e, ENOMEM, "container %s", ctr_dir);
	size_t k = 0;
	if (has_init)
		v[k++] = steal_ptr(init);
	for (size_t i = 0; i < n_dirs; i++)
		v[k++] = steal_ptr(dirs[i]);
	*out = v;
	*n = k;
	return 0;
}

int ctr_rootfs_mount(struct eng *eng, const char *id, const char *image_id, bool make_init, char **rootfs, berr *e)
{
	_cleanup_free_ char *dir = NULL, *init = NULL;
	_cleanup_strv_ char **dirs = NULL;
	size_t n = 0;
	if (asprintf(&dir, "%s/%s", eng->containers_dir, id) < 0 || asprintf(&init, "%s/init", dir) < 0)
		return berr_set(e, ENOMEM, "container %s", id);
	if (make_init) {
		if (mkdir(dir, 0700) < 0)
			return berr_sys(e, "creating %s", dir);
		if (stor_init_layer_create(init, e) < 0)
			goto fail;
	}
	if (lower_dirs(eng->img, dir, image_id, &dirs, &n, e) < 0 ||
	    stor_rootfs_create(eng->containers_dir, id, dirs, n, rootfs, e) < 0)
		goto fail;
	return 0;
fail:
	if (make_init) {
		berr ignored = {0};
		stor_rootfs_remove(eng->containers_dir, id, &ignored);
		berr_clear(&ignored);
	}
	return -1;
}

/* What the filesystem operations need of a container, copied out under the lock. */
struct ctr_fs {
	char id[65];
	char *dir, *image_id, *rootfs;
	json_t *config;
	bool running, paused;
};

static void ctr_fs_free(struct ctr_fs *f)
{
	free(f->dir);
	free(f->image_id);
	free(f->rootfs);
	json_decref(f->config);
}

static int ctr_fs_get(struct eng *eng, const char *name, struct ctr_fs *f, berr *e)
{
	*f = (struct ctr_fs){0};
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		memcpy(f->id, c->id, sizeof f->id);
		const char *image = json_string_value(json_object_get(c->doc, "Image"));
		const char *rootfs = json_string_value(json_object_get(c->doc, "Rootfs"));
		f->running = ctr_running(c);
		f->paused = strcmp(ctr_status(c), "paused") == 0;
		f->config = json_deep_copy(json_object_get(c->doc, "Config"));
		if (asprintf(&f->dir, "%s/%s", eng->containers_dir, c->id) < 0)
			f->dir = NULL;
		f->image_id = image ? strdup(image) : NULL;
		f->rootfs = rootfs ? strdup(rootfs) : NULL;
		if (!f->dir || !f->image_id || !f->rootfs || !f->config)
			r = berr_set(e, ENOMEM, "container %s", c->id);
		/* A rootfs not mounted (after a reboot) is mounted again, as start does. */
		_cleanup_free_ char *mounted = NULL;
		if (r == 0 && img_env_lock(eng->img, false, e) == 0) {
			r = ctr_rootfs_mount(eng, c->id, f->image_id, false, &mounted, e);
			img_env_unlock(eng->img);
		} else if (r == 0) {
			r = -1;
		}
		ctr_put(eng, c);
	}
	unlock(eng);
	if (r < 0)
		ctr_fs_free(f);
	return r;
}

/* ---- docker diff ---- */

struct changes_ctx {
	json_t *list;
};

static int add_change(enum stor_change kind, const char *path, void *arg)
{
	struct changes_ctx *c = arg;
	/* Docker's kinds: 0 modified, 1 added, 2 deleted. */
	int k = kind == STOR_CHANGED ? 0 : kind == STOR_ADDED ? 1 : 2;
	return json_array_append_new(c->list, json_pack("{s:s, s:i}", "Path", path, "Kind", k)) < 0 ? -1 : 0;
}

int eng_container_changes(struct eng *eng, const char *name, json_t **out, berr *e)
{
	struct ctr_fs f;
	if (ctr_fs_get(eng, name, &f, e) < 0)
		return -1;
	struct img_env *env = NULL;
	_cleanup_strv_ char **dirs = NULL;
	_cleanup_free_ char *upper = NULL;
	size_t n = 0;
	int r = -1;
	struct changes_ctx ctx = {.list = json_array()};
	if (asprintf(&upper, "%s/upper", f.dir) < 0) {
		upper = NULL;
		berr_set(e, ENOMEM, "container %s", f.id);
		goto out;
	}
	if (eng_image_env(eng, &env, e) < 0 || img_env_lock(env, false, e) < 0)
		goto out;
	r = lower_dirs(env, f.dir, f.image_id, &dirs, &n, e);
	if (r == 0) {
		r = stor_changes(upper, dirs, n, add_change, &ctx, e);
		if (r > 0)
			r = berr_set(e, ENOMEM, "container %s: listing changes", f.id);
	}
	img_env_unlock(env);
	if (r == 0)
		*out = steal_ptr(ctx.list);
out:
	json_decref(ctx.list);
	img_env_close(env);
	ctr_fs_free(&f);
	return r;
}

/* ---- docker export ---- */

int eng_container_export(struct eng *eng, const char *name, int fd, berr *e)
{
	struct ctr_fs f;
	if (ctr_fs_get(eng, name, &f, e) < 0)
		return -1;
	int r = img_tree_tar(f.rootfs, fd, e);
	if (r < 0)
		berr_wrap(e, "exporting container %s", f.id);
	ctr_fs_free(&f);
	return r;
}

int eng_container_check(struct eng *eng, const char *name, berr *e)
{
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0)
		ctr_put(eng, c);
	unlock(eng);
	return r;
}

/* ---- docker commit ---- */

/* The request's config over the container's: a field the request leaves empty keeps the container's. */
static json_t *merged_config(json_t *container, json_t *request)
{
	json_t *c = json_deep_copy(container);
	if (!c || !json_is_object(request))
		return c;
	const char *k;
	json_t *v;
	json_object_foreach (request, k, v) {
		bool empty = json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
			     (json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)) ||
			     json_is_false(v);
		if (!empty)
			json_object_set(c, k, v);
	}
	return c;
}

static char *joined(json_t *arr)
{
	size_t len = 1, i;
	json_t *v;
	json_array_foreach (arr, i, v)
		len += strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
	char *s = calloc(1, len);
	if (!s)
		return NULL;
	json_array_foreach (arr, i, v) {
		if (i)
			strcat(s, " ");
		strcat(s, json_string_value(v) ? json_string_value(v) : "");
	}
	return s;
}

/* Freeze (or thaw) a running container for the commit, without recording it as paused. */
static int freeze(struct eng *eng, const char *id, bool on, berr *e)
{
	lock(eng);
	int r = oci_container_pause(eng->runtime_root, id, on, e);
	unlock(eng);
	return r;
}

int eng_container_commit(struct eng *eng, const char *name, const struct eng_commit_opts *o, char id[B_DIGEST_LEN + 1],
			 berr *e)
{
	struct ctr_fs f;
	if (ctr_fs_get(eng, name, &f, e) < 0)
		return -1;
	_cleanup_free_ char *upper = NULL, *created_by = joined(json_object_get(f.config, "Cmd"));
	json_t *config = merged_config(f.config, o->config);
	struct img_env *env = NULL;
	int r = -1;
	bool frozen = false;
	struct img_commit_opts co = {0};
	if (asprintf(&upper, "%s/upper", f.dir) < 0 || !config || !created_by) {
		upper = NULL;
		berr_set(e, ENOMEM, "committing container %s", f.id);
		goto out;
	}
	if (o->pause && f.running && !f.paused) {
		if (freeze(eng, f.id, true, e) < 0)
			goto out;
		frozen = true;
	}
	co = (struct img_commit_opts){
	    .upper_dir = upper,
	    .image = f.image_id,
	    .config = config,
	    .container_config = f.config,
	    .changes = o->changes,
	    .n_changes = o->n_changes,
	    .author = o->author,
	    .comment = o->comment,
	    .container_id = f.id,
	    .created_by = created_by,
	    .reference = o->reference,
	};
	if (eng_image_env(eng, &env, e) < 0)
		goto out;
	r = img_commit(env, &co, id, e);
out:
	if (frozen) {
		berr ignored = {0};
		if (freeze(eng, f.id, false, &ignored) < 0)
			berr_clear(&ignored);
	}
	img_env_close(env);
	json_decref(config);
	ctr_fs_free(&f);
	return r;
}
