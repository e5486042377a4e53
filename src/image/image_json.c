/*
 * Images as the Docker Engine API shows them: GET /images/json (list), /images/{name}/json
 * (inspect) and /images/{name}/history.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "image/archive_internal.h"
#include "image/image.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/json.h"
#include "lib/timefmt.h"

#define CONFIG_MAX (32 << 20)

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

static void image_freep(struct img_db_image *img)
{
	img_db_image_free(img);
}
#define _cleanup_image_ __attribute__((cleanup(image_freep)))

/* The image's config document as stored. */
static json_t *config_doc(struct img_env *env, const struct img_db_image *img, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (img_store_read(env->store, img->config_digest ? img->config_digest : img->id, CONFIG_MAX, false, &text,
			   &len, e) < 0)
		return NULL;
	return b_json_parse(text, "the image's config", e);
}

static int64_t unix_time(const char *rfc3339)
{
	struct timespec ts;
	return rfc3339 && b_time_parse(rfc3339, &ts) ? (int64_t)ts.tv_sec : 0;
}

/* RepoTags and RepoDigests: the familiar forms of the image's references. */
static int repo_names(const struct img_db_image *img, json_t **tags, json_t **digests, berr *e)
{
	*tags = json_array();
	*digests = json_array();
	if (!*tags || !*digests)
		return oom(e);
	for (char **t = img->tags; t && *t; t++) {
		struct img_ref ref = {0};
		berr ignored = {0};
		if (img_ref_parse(*t, &ref, &ignored) < 0) {
			berr_clear(&ignored);
			continue;
		}
		char *fam = img_ref_familiar(&ref);
		bool digest = ref.digest != NULL;
		img_ref_free(&ref);
		if (!fam || json_array_append_new(digest ? *digests : *tags, json_string(fam)) < 0) {
			free(fam);
			return oom(e);
		}
		free(fam);
	}
	return 0;
}

/* Docker's Config object: the config's "config" with every field Docker always shows. */
static json_t *full_config(json_t *config)
{
	json_t *c = json_is_object(config) ? json_deep_copy(config) : json_object();
	if (!c)
		return NULL;
	static const char *const empty_strings[] = {"Hostname", "Domainname", "User", "Image", "WorkingDir"};
	static const char *const falses[] = {"AttachStdin", "AttachStdout", "AttachStderr",
					     "Tty",         "OpenStdin",    "StdinOnce"};
	static const char *const nulls[] = {"Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels"};
	for (size_t i = 0; i < ARRAY_SIZE(empty_strings); i++)
		if (!json_object_get(c, empty_strings[i]))
			json_object_set_new(c, empty_strings[i], json_string(""));
	for (size_t i = 0; i < ARRAY_SIZE(falses); i++)
		if (!json_object_get(c, falses[i]))
			json_object_set_new(c, falses[i], json_false());
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!json_object_get(c, nulls[i]))
			json_object_set_new(c, nulls[i], json_null());
	return c;
}

static const char *doc_str(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));
	return s ? s : "";
}

/* GraphDriver.Data: the layer dirs as overlay2 would name them (top layer as UpperDir). */
static json_t *graph_driver(struct img_env *env, const struct img_db_image *img)
{
	json_t *data = json_object();
	if (img->n_layers) {
		_cleanup_free_ char *upper = img_env_layer_dir(env, img->chain_ids[img->n_layers - 1]);
		size_t len = 1;
		for (size_t i = 0; i + 1 < img->n_layers; i++)
			len += strlen(env->layers_dir) + B_DIGEST_LEN + 8;
		_cleanup_free_ char *lower = calloc(1, len);
		for (size_t i = img->n_layers - 1; lower && i-- > 0;) {
			_cleanup_free_ char *d = img_env_layer_dir(env, img->chain_ids[i]);
			if (d) {
				if (*lower)
					strcat(lower, ":");
				strcat(lower, d);
			}
		}
		if (lower && *lower)
			json_object_set_new(data, "LowerDir", json_string(lower));
		if (upper)
			json_object_set_new(data, "UpperDir", json_string(upper));
	}
	return json_pack("{s:o, s:s}", "Data", data, "Name", "overlay2");
}

static int inspect_image(struct img_env *env, const struct img_db_image *img, json_t **out, berr *e)
{
	json_t *doc = config_doc(env, img, e);
	if (!doc)
		return -1;
	json_t *tags = NULL, *digests = NULL;
	if (repo_names(img, &tags, &digests, e) < 0) {
		json_decref(tags);
		json_decref(digests);
		json_decref(doc);
		return -1;
	}
	json_t *layers = json_array();
	for (size_t i = 0; layers && i < img->n_layers; i++)
		json_array_append_new(layers, json_string(img->diff_ids[i]));
	char tagged[B_TIME_LEN] = "0001-01-01T00:00:00Z";
	if (img->added_at > 0) {
		struct timespec ts = {.tv_sec = img->added_at / 1000000000, .tv_nsec = img->added_at % 1000000000};
		b_time_format(&ts, tagged);
	}
	json_t *o = json_pack(
	    "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:o, s:{s:s, s:o}, s:{s:s}}",
	    "Id", img->id, "RepoTags", tags, "RepoDigests", digests, "Parent", img->parent_id ? img->parent_id : "",
	    "Comment", doc_str(doc, "comment"), "Created", doc_str(doc, "created"), "Container",
	    doc_str(doc, "container"), "ContainerConfig", full_config(json_object_get(doc, "container_config")),
	    "DockerVersion", doc_str(doc, "docker_version"), "Author", doc_str(doc, "author"), "Config",
	    full_config(json_object_get(doc, "config")), "Architecture", doc_str(doc, "architecture"), "Os",
	    doc_str(doc, "os"), "Size", (json_int_t)img->size, "VirtualSize", (json_int_t)img->size, "GraphDriver",
	    graph_driver(env, img), "RootFS", "Type", "layers", "Layers", layers, "Metadata", "LastTagTime", tagged);
	if (o && json_string_value(json_object_get(doc, "variant")))
		json_object_set(o, "Variant", json_object_get(doc, "variant"));
	json_decref(doc);
	if (!o)
		return oom(e);
	*out = o;
	return 0;
}

int img_inspect_json(struct img_env *env, const char *name, json_t **out, berr *e)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_image_ struct img_db_image img = {0};
	if (img_db_resolve(env->db, name, &id, e) < 0 || img_db_image_get(env->db, id, &img, e) < 0)
		return -1;
	return inspect_image(env, &img, out, e);
}

/* ---- history ---- */

static json_t *history_entry(const char *id, json_t *tags, int64_t created, const char *created_by, int64_t size,
			     const char *comment)
{
	return json_pack("{s:s, s:I, s:s, s:o, s:I, s:s}", "Id", id, "Created", (json_int_t)created, "CreatedBy",
			 created_by ? created_by : "", "Tags", tags ? tags : json_null(), "Size", (json_int_t)size,
			 "Comment", comment ? comment : "");
}

int img_history_json(struct img_env *env, const char *name, json_t **out, berr *e)
{
	_cleanup_free_ char *id = NULL;
	_cleanup_image_ struct img_db_image img = {0};
	if (img_db_resolve(env->db, name, &id, e) < 0 || img_db_image_get(env->db, id, &img, e) < 0)
		return -1;
	json_t *doc = config_doc(env, &img, e);
	if (!doc)
		return -1;
	json_t *hist = json_object_get(doc, "history");
	json_t *rows = json_array();
	size_t layer = 0, n = json_array_size(hist);
	int ret = -1;
	/* Without a history, one row per layer (as Docker shows such images). */
	size_t rows_n = n ? n : img.n_layers;
	for (size_t i = 0; i < rows_n; i++) {
		json_t *h = n ? json_array_get(hist, i) : NULL;
		int64_t size = 0;
		if (!json_is_true(json_object_get(h, "empty_layer")) && layer < img.n_layers) {
			if (img_db_layer_size(env->db, img.chain_ids[layer], &size, e) < 0)
				goto out;
			layer++;
		}
		bool top = i + 1 == rows_n;
		json_t *tags = NULL, *digests = NULL;
		if (top && img.tags && img.tags[0] && repo_names(&img, &tags, &digests, e) < 0)
			goto out;
		json_decref(digests);
		json_t *row = history_entry(top ? img.id : "<missing>", tags,
					    unix_time(n ? json_string_value(json_object_get(h, "created"))
							: json_string_value(json_object_get(doc, "created"))),
					    json_string_value(json_object_get(h, "created_by")), size,
					    json_string_value(json_object_get(h, "comment")));
		if (!row || json_array_insert_new(rows, 0, row) < 0) {
			oom(e);
			goto out;
		}
	}
	*out = steal_ptr(rows);
	ret = 0;
out:
	json_decref(rows);
	json_decref(doc);
	return ret;
}

/* ---- list ---- */

static const char *const list_filters[] = {"dangling", "label", "before", "since", "reference", "until", NULL};

struct list_ctx {
	struct img_env *env;
	const struct img_db_image *img;
	json_t *labels;
	int64_t created;
	int64_t before, since; /* created times of the before/since images; -1: none */
};

static bool match_dangling(const char *v, void *arg)
{
	const struct img_db_image *img = ((struct list_ctx *)arg)->img;
	bool dangling = !img->tags || !img->tags[0];
	return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ? dangling : !dangling;
}

static bool match_label(const char *v, void *arg)
{
	return b_labels_match(((struct list_ctx *)arg)->labels, v);
}

/* reference=pattern: a glob over "repo" or "repo:tag" in familiar form, as Docker matches it. */
static bool match_reference(const char *v, void *arg)
{
	const struct img_db_image *img = ((struct list_ctx *)arg)->img;
	for (char **t = img->tags; t && *t; t++) {
		struct img_ref ref = {0};
		berr ignored = {0};
		if (img_ref_parse(*t, &ref, &ignored) < 0) {
			berr_clear(&ignored);
			continue;
		}
		_cleanup_free_ char *fam = img_ref_familiar(&ref), *repo = img_ref_familiar_repository(&ref);
		img_ref_free(&ref);
		if ((fam && fnmatch(v, fam, 0) == 0) || (repo && fnmatch(v, repo, 0) == 0))
			return true;
	}
	return false;
}

static bool match_until(const char *v, void *arg)
{
	struct timespec ts;
	return b_time_parse(v, &ts) && ((struct list_ctx *)arg)->created < (int64_t)ts.tv_sec;
}

/* The created time of the image a before/since filter names; EINVAL/ENOENT as Docker. */
static int filter_image_time(struct img_env *env, json_t *filters, const char *key, int64_t *out, berr *e)
{
	*out = -1;
	json_t *v = json_object_get(filters, key);
	const char *name = json_is_array(v) ? json_string_value(json_array_get(v, 0)) : NULL;
	if (!name && json_is_object(v) && json_object_size(v))
		name = json_object_iter_key(json_object_iter(v));
	if (!name)
		return 0;
	_cleanup_free_ char *id = NULL;
	_cleanup_image_ struct img_db_image img = {0};
	if (img_db_resolve(env->db, name, &id, e) < 0 || img_db_image_get(env->db, id, &img, e) < 0)
		return -1;
	*out = unix_time(img.created);
	return 0;
}

static bool is_parent_of_any(const struct img_db_image *imgs, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (imgs[i].parent_id && strcmp(imgs[i].parent_id, id) == 0)
			return true;
	return false;
}

static json_t *summary(struct img_env *env, const struct img_db_image *img, json_t *labels, int64_t created, berr *e)
{
	json_t *tags = NULL, *digests = NULL;
	if (repo_names(img, &tags, &digests, e) < 0) {
		json_decref(tags);
		json_decref(digests);
		return NULL;
	}
	json_t *o =
	    json_pack("{s:i, s:I, s:s, s:o, s:s, s:o, s:o, s:i, s:I, s:I}", "Containers", -1, "Created",
		      (json_int_t)created, "Id", img->id, "Labels", labels ? json_incref(labels) : json_object(),
		      "ParentId", img->parent_id ? img->parent_id : "", "RepoDigests", digests, "RepoTags", tags,
		      "SharedSize", -1, "Size", (json_int_t)img->size, "VirtualSize", (json_int_t)img->size);
	if (!o)
		oom(e);
	(void)env;
	return o;
}

int img_list_json(struct img_env *env, bool all, json_t *filters, json_t **out, berr *e)
{
	if (filters && b_filters_check(filters, list_filters, e) < 0)
		return -1;
	struct list_ctx ctx = {.env = env};
	if (filter_image_time(env, filters, "before", &ctx.before, e) < 0 ||
	    filter_image_time(env, filters, "since", &ctx.since, e) < 0)
		return -1;
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	if (img_db_list(env->db, true, &imgs, &n, e) < 0)
		return -1;
	json_t *list = json_array();
	int ret = -1;
	for (size_t i = 0; i < n; i++) {
		const struct img_db_image *img = &imgs[i];
		bool tagged = img->tags && img->tags[0];
		/* Untagged parents of other images are intermediate layers: shown only with all. */
		if (!all && !tagged && is_parent_of_any(imgs, n, img->id))
			continue;
		json_t *doc = config_doc(env, img, e);
		if (!doc)
			goto out;
		ctx.img = img;
		ctx.labels = json_object_get(json_object_get(doc, "config"), "Labels");
		ctx.created = unix_time(img->created);
		bool keep = b_filter_any(filters, "dangling", match_dangling, &ctx) &&
			    b_filter_any(filters, "label", match_label, &ctx) &&
			    b_filter_any(filters, "reference", match_reference, &ctx) &&
			    b_filter_any(filters, "until", match_until, &ctx) &&
			    (ctx.before < 0 || ctx.created < ctx.before) && (ctx.since < 0 || ctx.created > ctx.since);
		json_t *row =
		    keep ? summary(env, img, json_is_object(ctx.labels) ? ctx.labels : NULL, ctx.created, e) : NULL;
		json_decref(doc);
		if (keep && (!row || json_array_append_new(list, row) < 0))
			goto out;
	}
	*out = steal_ptr(list);
	ret = 0;
out:
	json_decref(list);
	img_db_images_free(imgs, n);
	return ret;
}
