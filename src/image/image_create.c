/*
 * New images of one more layer: `docker import` (a root filesystem tar becomes a one-layer image)
 * and `docker commit` (a container's writable layer on top of its image). Both store the layer's
 * blob, unpack it once its chain ID is known, write the config and record everything in one
 * transaction; a failure takes back what was added.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "image/archive_internal.h"
#include "image/config.h"
#include "image/image.h"
#include "image/manifest.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/timefmt.h"

#define COPY_SIZE  (1 << 20)
#define CONFIG_MAX (32 << 20)

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

/* fd to its end into the store; digest gets the blob's. */
static int store_stream(struct img_env *env, int fd, char digest[B_DIGEST_LEN + 1], berr *e)
{
	struct img_blob_writer *w = NULL;
	if (img_blob_writer_new(env->store, NULL, -1, &w, e) < 0)
		return -1;
	_cleanup_free_ char *buf = malloc(COPY_SIZE);
	if (!buf) {
		img_blob_writer_abort(w);
		return oom(e);
	}
	for (;;) {
		ssize_t n = read(fd, buf, COPY_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			img_blob_writer_abort(w);
			return berr_sys(e, "reading the tar");
		}
		if (n == 0)
			break;
		if (img_blob_write(w, buf, (size_t)n, e) < 0) {
			img_blob_writer_abort(w);
			return -1;
		}
	}
	return img_blob_writer_commit(w, digest, e);
}

/* What a new image adds, to be recorded or taken back. */
struct new_image {
	struct img_new_layer layer;
	bool has_layer;
	struct img_db_image img;
	const char *reference;
	char blobs[2][B_DIGEST_LEN + 1]; /* the layer's and the config's, pruned on failure */
	size_t n_blobs;
};

static int record_fn(struct img_db *db, void *arg, berr *e)
{
	struct new_image *ni = arg;
	const struct img_new_layer *l = &ni->layer;
	if (ni->has_layer && !img_db_layer_exists(db, l->chain_id) &&
	    img_db_layer_put(db, l->chain_id, l->diff_id, l->parent[0] ? l->parent : NULL, l->size, l->blob,
			     l->blob_size, e) < 0)
		return -1;
	if (img_db_image_put(db, &ni->img, e) < 0)
		return -1;
	if (ni->reference && img_db_tag(db, ni->img.id, ni->reference, e) < 0)
		return -1;
	return 0;
}

/* Store cfg as the image's config and record the image (layers: base's plus the new one). */
static int finish(struct img_env *env, struct new_image *ni, struct img_config *cfg, const struct img_db_image *base,
		  const char *parent_id, char id[B_DIGEST_LEN + 1], berr *e)
{
	_cleanup_free_ char *json = img_config_to_json(cfg);
	if (!json)
		return oom(e);
	if (img_store_put(env->store, json, strlen(json), NULL, id, e) < 0)
		return -1;
	memcpy(ni->blobs[ni->n_blobs++], id, B_DIGEST_LEN + 1);

	size_t n = (base ? base->n_layers : 0) + (ni->has_layer ? 1 : 0);
	_cleanup_free_ char **chains = calloc(n + 1, sizeof *chains);
	if (!chains)
		return oom(e);
	for (size_t i = 0; base && i < base->n_layers; i++)
		chains[i] = base->chain_ids[i];
	if (ni->has_layer)
		chains[n - 1] = ni->layer.chain_id;
	ni->img = (struct img_db_image){
	    .id = id,
	    .created = cfg->created,
	    .size = -1,
	    .config_digest = id,
	    .os = cfg->os,
	    .architecture = cfg->architecture,
	    .variant = cfg->variant,
	    .parent_id = (char *)parent_id,
	    .chain_ids = chains,
	    .diff_ids = cfg->diff_ids,
	    .n_layers = n,
	};
	return img_db_tx(env->db, record_fn, ni, e);
}

/* Take back what a failed import or commit added (under the lock). */
static void undo(struct img_env *env, struct new_image *ni)
{
	berr ignored = {0};
	if (ni->layer.made && b_remove_tree(ni->layer.made, &ignored) < 0)
		berr_clear(&ignored);
	char *blobs[2] = {ni->blobs[0], ni->blobs[1]};
	if (img_env_prune_blobs(env, blobs, ni->n_blobs, &ignored) < 0)
		berr_clear(&ignored);
}

static int add_history(struct img_config *cfg, const char *created, const char *created_by, const char *author,
		       const char *comment, bool empty, berr *e)
{
	struct img_history *h = realloc(cfg->history, (cfg->n_history + 1) * sizeof *h);
	if (!h)
		return oom(e);
	cfg->history = h;
	h = &cfg->history[cfg->n_history];
	*h = (struct img_history){.empty_layer = empty};
	if ((created && !(h->created = strdup(created))) || (created_by && !(h->created_by = strdup(created_by))) ||
	    (author && *author && !(h->author = strdup(author))) ||
	    (comment && *comment && !(h->comment = strdup(comment)))) {
		free(h->created);
		free(h->created_by);
		free(h->author);
		return oom(e);
	}
	cfg->n_history++;
	return 0;
}

static int add_diff_id(struct img_config *cfg, const char *diff_id, berr *e)
{
	char **v = realloc(cfg->diff_ids, (cfg->n_diff_ids + 2) * sizeof *v);
	if (!v)
		return oom(e);
	cfg->diff_ids = v;
	if (!(v[cfg->n_diff_ids] = strdup(diff_id)))
		return oom(e);
	v[++cfg->n_diff_ids] = NULL;
	return 0;
}

static int set_str(char **field, const char *value, berr *e)
{
	free(*field);
	*field = NULL;
	if (value && !(*field = strdup(value)))
		return oom(e);
	return 0;
}

/* ---- import ---- */

static int import_locked(struct img_env *env, int fd, const struct img_import_opts *o, struct new_image *ni,
			 char id[B_DIGEST_LEN + 1], berr *e)
{
	struct img_platform plat = {0};
	if (img_platform_parse(o->platform, &plat, e) < 0)
		return -1;
	struct img_config cfg = {0};
	int ret = -1;
	char blob[B_DIGEST_LEN + 1], now[B_TIME_LEN];
	_cleanup_free_ char *msg = NULL;
	if (store_stream(env, fd, blob, e) < 0)
		goto out;
	memcpy(ni->blobs[ni->n_blobs++], blob, sizeof blob);
	if (img_layer_add_from_blob(env, blob, NULL, &ni->layer, e) < 0)
		goto out;
	ni->has_layer = true;

	b_time_now(now);
	if (o->message && *o->message)
		msg = strdup(o->message);
	else if (asprintf(&msg, "Imported from %s", o->source ? o->source : "-") < 0)
		msg = NULL;
	if (!msg) {
		oom(e);
		goto out;
	}
	/* Docker keeps the message as the image's comment too. */
	if (!(cfg.raw = json_pack("{s:s}", "comment", msg))) {
		oom(e);
		goto out;
	}
	if (set_str(&cfg.os, plat.os, e) < 0 || set_str(&cfg.architecture, plat.architecture, e) < 0 ||
	    set_str(&cfg.variant, plat.variant, e) < 0 || set_str(&cfg.created, now, e) < 0 ||
	    img_config_apply_changes(&cfg, o->changes, o->n_changes, e) < 0 ||
	    add_diff_id(&cfg, ni->layer.diff_id, e) < 0 || add_history(&cfg, now, NULL, NULL, msg, false, e) < 0)
		goto out;
	ret = finish(env, ni, &cfg, NULL, NULL, id, e);
out:
	img_config_free(&cfg);
	img_platform_free(&plat);
	return ret;
}

int img_import(struct img_env *env, int fd, const struct img_import_opts *o, char id[B_DIGEST_LEN + 1], berr *e)
{
	if (img_env_lock(env, true, e) < 0)
		return berr_wrap(e, "importing");
	struct new_image ni = {.reference = o->reference};
	int r = import_locked(env, fd, o, &ni, id, e);
	if (r < 0)
		undo(env, &ni);
	img_env_unlock(env);
	free(ni.layer.made);
	if (r < 0)
		return berr_wrap(e, "importing");
	return 0;
}

/* ---- commit ---- */

/* Does dir hold nothing at all? */
static int dir_empty(const char *dir, bool *empty, berr *e)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return berr_sys(e, "opening %s", dir);
	struct dirent *de;
	*empty = true;
	while ((errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			*empty = false;
			break;
		}
	if (errno)
		return berr_sys(e, "reading %s", dir);
	return 0;
}

/* The container's changes as a layer blob: the canonical tar of its upper dir, stored. */
static int store_upper(struct img_env *env, const char *upper, char blob[B_DIGEST_LEN + 1], berr *e)
{
	_cleanup_close_ int fd = open(env->root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_sys(e, "creating a temp file in %s", env->root);
	if (img_layer_tar(upper, fd, NULL, NULL, e) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return berr_sys(e, "rewinding the layer's tar");
	return store_stream(env, fd, blob, e);
}

/* The parent's config with "config" replaced by the container's, and the commit's own fields. */
static int commit_config(struct img_env *env, const struct img_commit_opts *o, const struct img_db_image *base,
			 const char *now, struct img_config *cfg, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (img_store_read(env->store, base->config_digest ? base->config_digest : base->id, CONFIG_MAX, false, &text,
			   &len, e) < 0)
		return -1;
	json_t *doc = b_json_parse(text, "the image's config", e);
	if (!doc)
		return -1;
	int r = 0;
	if (o->config)
		r |= json_object_set(doc, "config", o->config);
	if (o->container_config)
		r |= json_object_set(doc, "container_config", o->container_config);
	if (o->container_id)
		r |= json_object_set_new(doc, "container", json_string(o->container_id));
	r |= json_object_set_new(doc, "created", json_string(now));
	if (o->author && *o->author)
		r |= json_object_set_new(doc, "author", json_string(o->author));
	else
		json_object_del(doc, "author");
	if (o->comment && *o->comment)
		r |= json_object_set_new(doc, "comment", json_string(o->comment));
	else
		json_object_del(doc, "comment");
	_cleanup_free_ char *out = r ? NULL : json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!out)
		return oom(e);
	if (img_config_parse(out, strlen(out), cfg, e) < 0)
		return berr_wrap(e, "the committed config");
	return img_config_apply_changes(cfg, o->changes, o->n_changes, e);
}

static int commit_locked(struct img_env *env, const struct img_commit_opts *o, struct new_image *ni,
			 char id[B_DIGEST_LEN + 1], berr *e)
{
	_cleanup_free_ char *parent_id = NULL;
	struct img_db_image base = {0};
	struct img_config cfg = {0};
	char now[B_TIME_LEN];
	int ret = -1;
	bool empty = false;
	if (img_db_resolve(env->db, o->image, &parent_id, e) < 0 || img_db_image_get(env->db, parent_id, &base, e) < 0)
		goto out;
	b_time_now(now);
	if (commit_config(env, o, &base, now, &cfg, e) < 0 || dir_empty(o->upper_dir, &empty, e) < 0)
		goto out;
	if (!empty) {
		char blob[B_DIGEST_LEN + 1];
		if (store_upper(env, o->upper_dir, blob, e) < 0)
			goto out;
		memcpy(ni->blobs[ni->n_blobs++], blob, sizeof blob);
		if (img_layer_add_from_blob(env, blob, base.n_layers ? base.chain_ids[base.n_layers - 1] : NULL,
					    &ni->layer, e) < 0 ||
		    add_diff_id(&cfg, ni->layer.diff_id, e) < 0)
			goto out;
		ni->has_layer = true;
	}
	if (add_history(&cfg, now, o->created_by, o->author, o->comment, empty, e) < 0)
		goto out;
	ret = finish(env, ni, &cfg, &base, parent_id, id, e);
out:
	img_config_free(&cfg);
	img_db_image_free(&base);
	return ret;
}

int img_commit(struct img_env *env, const struct img_commit_opts *o, char id[B_DIGEST_LEN + 1], berr *e)
{
	if (img_env_lock(env, true, e) < 0)
		return berr_wrap(e, "committing");
	struct new_image ni = {.reference = o->reference};
	int r = commit_locked(env, o, &ni, id, e);
	if (r < 0)
		undo(env, &ni);
	img_env_unlock(env);
	free(ni.layer.made);
	if (r < 0)
		return berr_wrap(e, "committing");
	return 0;
}
