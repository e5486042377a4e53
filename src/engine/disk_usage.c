/* /system/df: sizes of layers, images, containers' writable layers and volumes. */
#include "engine/disk_usage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "engine/volumes.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"
#include "lib/tree.h"

/* What a directory tree holds; -1 when it cannot be measured. */
static int64_t dir_size(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int64_t bytes = -1;
	berr e = {0};
	if (fd >= 0 && b_tree_size(fd, &bytes, &e) < 0)
		bytes = -1;
	berr_clear(&e);
	return bytes;
}

/* How many containers use each image: {"sha256:...": n}. */
static json_t *containers_per_image(struct eng *eng)
{
	json_t *counts = json_object();
	pthread_mutex_lock(&eng->lock);
	for (struct ctr *c = eng->ctrs; c && counts; c = c->next) {
		const char *image = json_string_value(json_object_get(c->doc, "Image"));
		if (!image || c->removed)
			continue;
		json_int_t n = json_integer_value(json_object_get(counts, image));
		json_object_set_new(counts, image, json_integer(n + 1));
	}
	pthread_mutex_unlock(&eng->lock);
	return counts;
}

static json_t *familiar_tags(char **tags)
{
	json_t *out = json_array();
	for (char **t = tags; t && *t && out; t++) {
		struct img_ref ref = {0};
		berr e = {0};
		char *name = NULL;
		if (img_ref_parse(*t, &ref, &e) == 0)
			name = img_ref_familiar(&ref);
		img_ref_free(&ref);
		berr_clear(&e);
		json_array_append_new(out, json_string(name ? name : *t));
		free(name);
	}
	return out;
}

/* How many images use each layer: {"sha256:...": n}. */
static json_t *images_per_layer(const struct img_db_image *imgs, size_t n)
{
	json_t *uses = json_object();
	for (size_t i = 0; i < n && uses; i++)
		for (size_t l = 0; l < imgs[i].n_layers; l++) {
			json_int_t k = json_integer_value(json_object_get(uses, imgs[i].chain_ids[l]));
			json_object_set_new(uses, imgs[i].chain_ids[l], json_integer(k + 1));
		}
	return uses;
}

/* Each layer's unpacked size, measured once: {"sha256:...": bytes}. */
static json_t *layer_sizes(struct img_env *img, json_t *uses, int64_t *total)
{
	json_t *sizes = json_object(), *v;
	const char *chain;
	*total = 0;
	json_object_foreach (uses, chain, v) {
		_cleanup_free_ char *dir = img_env_layer_dir(img, chain);
		int64_t size = dir ? dir_size(dir) : -1;
		if (size < 0)
			size = 0;
		*total += size;
		json_object_set_new(sizes, chain, json_integer(size));
	}
	return sizes;
}

/*
 * Docker's image summaries for df: Size is what the image's layers take unpacked, SharedSize the
 * part in layers other images use too (so that `docker system df` can tell what a prune frees).
 */
static int images_usage(struct eng *eng, json_t **out, int64_t *layers_size, berr *e)
{
	struct img_env *img = NULL;
	if (eng_image_env(eng, &img, e) < 0)
		return -1;
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	if (img_db_list(img->db, true, &imgs, &n, e) < 0) {
		img_env_close(img);
		return -1;
	}
	json_t *uses = images_per_layer(imgs, n), *sizes = NULL;
	/* The layers stay while they are measured. */
	if (img_env_lock(img, false, e) == 0) {
		sizes = layer_sizes(img, uses, layers_size);
		img_env_unlock(img);
	}
	img_env_close(img);
	json_t *counts = containers_per_image(eng), *arr = sizes ? json_array() : NULL;
	for (size_t i = 0; i < n && arr; i++) {
		struct timespec created = {0};
		if (imgs[i].created)
			b_time_parse(imgs[i].created, &created);
		json_int_t size = 0, shared = 0;
		for (size_t l = 0; l < imgs[i].n_layers; l++) {
			json_int_t ls = json_integer_value(json_object_get(sizes, imgs[i].chain_ids[l]));
			size += ls;
			if (json_integer_value(json_object_get(uses, imgs[i].chain_ids[l])) > 1)
				shared += ls;
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:[], s:I, s:I, s:I, s:I, s:{}, s:I}", "Id",
						     imgs[i].id, "ParentId", imgs[i].parent_id ? imgs[i].parent_id : "",
						     "RepoTags", familiar_tags(imgs[i].tags), "RepoDigests", "Created",
						     (json_int_t)created.tv_sec, "Size", size, "SharedSize", shared,
						     "VirtualSize", size, "Labels", "Containers",
						     json_integer_value(json_object_get(counts, imgs[i].id))));
	}
	img_db_images_free(imgs, n);
	json_decref(counts);
	json_decref(uses);
	json_decref(sizes);
	if (!arr)
		return sizes ? berr_set(e, ENOMEM, "listing the images") : -1;
	*out = arr;
	return 0;
}

/* Each container as the list shows it, with the size of its writable layer. */
static int containers_usage(struct eng *eng, json_t **out, berr *e)
{
	json_t *arr = NULL, *c;
	size_t i;
	if (eng_container_list(eng, true, -1, NULL, &arr, e) < 0)
		return -1;
	json_array_foreach (arr, i, c) {
		_cleanup_free_ char *upper = NULL;
		const char *id = json_string_value(json_object_get(c, "Id"));
		if (!id || asprintf(&upper, "%s/containers/%s/upper", eng_data_root(eng), id) < 0)
			continue;
		int64_t rw = dir_size(upper);
		json_object_set_new(c, "SizeRw", json_integer(rw < 0 ? 0 : rw));
		json_object_set_new(c, "SizeRootFs", json_integer(rw < 0 ? 0 : rw));
	}
	*out = arr;
	return 0;
}

int eng_disk_usage(struct eng *eng, const struct eng_df_parts *parts, json_t **out, berr *e)
{
	bool all = !parts->images && !parts->containers && !parts->volumes;
	json_t *doc = json_pack("{s:I, s:[], s:[], s:[], s:[]}", "LayersSize", (json_int_t)0, "Images", "Containers",
				"Volumes", "BuildCache");
	if (!doc)
		return berr_set(e, ENOMEM, "disk usage");
	json_t *part = NULL;
	if (all || parts->images) {
		int64_t layers = 0;
		if (images_usage(eng, &part, &layers, e) < 0)
			goto fail;
		json_object_set_new(doc, "Images", part);
		json_object_set_new(doc, "LayersSize", json_integer(layers));
	}
	if (all || parts->containers) {
		if (containers_usage(eng, &part, e) < 0)
			goto fail;
		json_object_set_new(doc, "Containers", part);
	}
	if (all || parts->volumes) {
		if (eng_volume_usage(eng, &part, e) < 0)
			goto fail;
		json_object_set_new(doc, "Volumes", part);
	}
	*out = doc;
	return 0;
fail:
	json_decref(doc);
	return -1;
}
