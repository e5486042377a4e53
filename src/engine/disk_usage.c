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

static int images_usage(struct eng *eng, json_t **out, berr *e)
{
	struct img_env *img = NULL;
	if (eng_image_env(eng, &img, e) < 0)
		return -1;
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	int r = img_db_list(img->db, true, &imgs, &n, e);
	img_env_close(img);
	if (r < 0)
		return -1;
	json_t *counts = containers_per_image(eng), *arr = json_array();
	for (size_t i = 0; i < n && arr; i++) {
		struct timespec created = {0};
		if (imgs[i].created)
			b_time_parse(imgs[i].created, &created);
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:o, s:[], s:I, s:I, s:i, s:I, s:{}, s:I}", "Id", imgs[i].id, "ParentId",
				   imgs[i].parent_id ? imgs[i].parent_id : "", "RepoTags", familiar_tags(imgs[i].tags),
				   "RepoDigests", "Created", (json_int_t)created.tv_sec, "Size",
				   (json_int_t)imgs[i].size, "SharedSize", -1, "VirtualSize", (json_int_t)imgs[i].size,
				   "Labels", "Containers", json_integer_value(json_object_get(counts, imgs[i].id))));
	}
	img_db_images_free(imgs, n);
	json_decref(counts);
	if (!arr)
		return berr_set(e, ENOMEM, "listing the images");
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
		_cleanup_free_ char *layers = NULL;
		if (asprintf(&layers, "%s/layers", eng_data_root(eng)) > 0) {
			int64_t size = dir_size(layers);
			json_object_set_new(doc, "LayersSize", json_integer(size < 0 ? 0 : size));
		}
		if (images_usage(eng, &part, e) < 0)
			goto fail;
		json_object_set_new(doc, "Images", part);
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
