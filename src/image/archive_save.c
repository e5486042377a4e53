/*
 * `docker save`: images as a tar, in docker save form or as an OCI image layout (layers without
 * their original blob are made again by img_layer_tar, layer_tar.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <jansson.h>

#include "image/archive_internal.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/tar_write.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/fs.h"
#include "lib/libarchive_lazy.h"

#define MANIFEST_MAX (4 << 20)

#define ANNOTATION_REF_NAME        "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

/* ---- which images, with which names ---- */

struct simg {
	struct img_db_image img;
	struct img_strv tags; /* canonical */
	char **layer_blobs;   /* n_layers: the blob each layer is saved as; NULL: made */
	char **layer_types;   /* n_layers: OCI media types */
	int *layer_fds;       /* n_layers: temp files of made layers, else -1 */
	int64_t *layer_sizes; /* n_layers */
	int64_t config_size;
	char *manifest; /* the OCI manifest to write (stored or made) */
	size_t manifest_len;
	char manifest_digest[B_DIGEST_LEN + 1];
};

struct save {
	struct img_env *env;
	struct simg *imgs;
	size_t n;
};

static void save_free(struct save *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct simg *g = &s->imgs[i];
		for (size_t j = 0; j < g->img.n_layers; j++) {
			if (g->layer_blobs)
				free(g->layer_blobs[j]);
			if (g->layer_types)
				free(g->layer_types[j]);
			if (g->layer_fds && g->layer_fds[j] >= 0)
				close(g->layer_fds[j]);
		}
		free(g->layer_blobs);
		free(g->layer_types);
		free(g->layer_fds);
		free(g->layer_sizes);
		free(g->manifest);
		img_strv_free(&g->tags);
		img_db_image_free(&g->img);
	}
	free(s->imgs);
}

static struct simg *simg_get(struct save *s, const char *id, berr *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->imgs[i].img.id, id) == 0)
			return &s->imgs[i];
	struct simg *imgs = realloc(s->imgs, (s->n + 1) * sizeof *imgs);
	if (!imgs) {
		oom(e);
		return NULL;
	}
	s->imgs = imgs;
	struct simg *g = &s->imgs[s->n];
	*g = (struct simg){0};
	if (img_db_image_get(s->env->db, id, &g->img, e) < 0)
		return NULL;
	s->n++;
	return g;
}

/* Every tag of repository repo (canonical, "docker.io/library/busybox"), with its image. */
static int repo_tags(struct save *s, const char *repo, size_t *found, berr *e)
{
	struct img_db_image *all = NULL;
	size_t n = 0;
	*found = 0;
	if (img_db_list(s->env->db, true, &all, &n, e) < 0)
		return -1;
	int ret = 0;
	size_t rl = strlen(repo);
	for (size_t i = 0; i < n && ret == 0; i++)
		for (char **t = all[i].tags; t && *t && ret == 0; t++) {
			if (strncmp(*t, repo, rl) != 0 || (*t)[rl] != ':')
				continue;
			struct simg *g = simg_get(s, all[i].id, e);
			if (!g || img_strv_add_unique(&g->tags, *t, e) < 0)
				ret = -1;
			(*found)++;
		}
	img_db_images_free(all, n);
	return ret;
}

/* What a name given to save stands for, as Docker reads it. */
static int add_name(struct save *s, const char *name, berr *e)
{
	struct img_ref ref = {0};
	berr ignored = {0};
	if (img_ref_parse_name(name, &ref, &ignored) == 0 && !ref.tag && !ref.digest) {
		/* A bare repository: all its tags (and when it has none, maybe it is an ID prefix). */
		_cleanup_free_ char *repo = img_ref_repository(&ref);
		img_ref_free(&ref);
		if (!repo)
			return oom(e);
		size_t found = 0;
		if (repo_tags(s, repo, &found, e) < 0)
			return -1;
		if (found)
			return 0;
	}
	img_ref_free(&ref);
	berr_clear(&ignored);
	_cleanup_free_ char *id = NULL;
	if (img_db_resolve(s->env->db, name, &id, e) < 0)
		return -1;
	struct simg *g = simg_get(s, id, e);
	if (!g)
		return -1;
	/* A reference with a tag names that tag; an ID (or a digest reference) no tag. */
	if (img_ref_parse_name(name, &ref, &ignored) == 0 && ref.tag) {
		struct img_ref tagged = {.domain = ref.domain, .path = ref.path, .tag = ref.tag};
		_cleanup_free_ char *canon = img_ref_string(&tagged);
		img_ref_free(&ref);
		if (!canon)
			return oom(e);
		/* Only a tag the image has (the name may have resolved some other way). */
		for (char **t = g->img.tags; t && *t; t++)
			if (strcmp(*t, canon) == 0)
				return img_strv_add_unique(&g->tags, canon, e);
		return 0;
	}
	img_ref_free(&ref);
	berr_clear(&ignored);
	return 0;
}

/* ---- where each layer comes from ---- */

/* A layer media type as OCI names it (Docker's types have OCI twins). */
static const char *oci_layer_type(const char *mt)
{
	static const struct {
		const char *docker, *oci;
	} map[] = {
	    {IMG_MT_DOCKER_LAYER, IMG_MT_OCI_LAYER},
	    {IMG_MT_DOCKER_LAYER_GZIP, IMG_MT_OCI_LAYER_GZIP},
	    {IMG_MT_DOCKER_LAYER_FOREIGN_GZIP, IMG_MT_OCI_LAYER_NONDIST_GZIP},
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcmp(mt, map[i].docker) == 0)
			return map[i].oci;
	return mt;
}

/* The stored manifest of an image, when it is there and describes these layers. */
static int stored_manifest(struct img_env *env, const struct img_db_image *img, struct img_manifest *m, char **json,
			   size_t *len)
{
	if (!img->manifest_digest || !img_store_has(env->store, img->manifest_digest))
		return -1;
	berr ignored = {0};
	int r = -1;
	if (img_store_read(env->store, img->manifest_digest, MANIFEST_MAX, false, json, len, &ignored) == 0 &&
	    img_manifest_parse(*json, *len, m, &ignored) == 0) {
		if (m->n_layers == img->n_layers && strcmp(m->config.digest, img->config_digest) == 0)
			r = 0;
		else
			img_manifest_free(m);
	}
	if (r < 0) {
		free(*json);
		*json = NULL;
	}
	berr_clear(&ignored);
	return r;
}

/* Make layer j's tar from its directory into a temp file; it must be the diff ID. */
static int make_layer(struct img_env *env, struct simg *g, size_t j, berr *e)
{
	_cleanup_free_ char *dir = img_env_layer_dir(env, g->img.chain_ids[j]);
	if (!dir)
		return oom(e);
	_cleanup_close_ int fd = open(env->root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EOPNOTSUPP) {
		/* A filesystem without O_TMPFILE: a named temp file, unlinked at once. */
		_cleanup_free_ char *tmp = NULL;
		if (asprintf(&tmp, "%s/.save-XXXXXX", env->root) < 0)
			return oom(e);
		if ((fd = mkostemp(tmp, O_CLOEXEC)) >= 0)
			unlink(tmp);
	}
	if (fd < 0)
		return berr_sys(e, "layer %zu: a temp file in %s", j, env->root);
	char digest[B_DIGEST_LEN + 1];
	uint64_t size = 0;
	if (img_layer_tar(dir, fd, digest, &size, e) < 0)
		return berr_wrap(e, "layer %zu (no blob in the store)", j);
	if (strcmp(digest, g->img.diff_ids[j]) != 0)
		return berr_plain(e, EIO,
				  "layer %zu: its blob is not in the store, and the tar made from %s has digest %s, "
				  "not the diff ID %s",
				  j, dir, digest, g->img.diff_ids[j]);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return berr_sys(e, "layer %zu: rewinding the temp file", j);
	g->layer_fds[j] = steal_fd(fd);
	g->layer_sizes[j] = (int64_t)size;
	if (!(g->layer_types[j] = strdup(IMG_MT_OCI_LAYER)))
		return oom(e);
	return 0;
}

/* Where each layer of g comes from; *reuse goes false when m (may be NULL) cannot be kept. */
static int prepare_layers(struct img_env *env, struct simg *g, const struct img_manifest *m, bool *reuse, berr *e)
{
	for (size_t j = 0; j < g->img.n_layers; j++) {
		const char *blob = NULL, *mt = NULL;
		if (m && img_store_has(env->store, m->layers[j].digest)) {
			blob = m->layers[j].digest;
			mt = oci_layer_type(m->layers[j].media_type);
		} else if (img_store_has(env->store, g->img.diff_ids[j])) {
			blob = g->img.diff_ids[j]; /* stored as it was loaded: the uncompressed tar */
			*reuse = false;
		}
		if (!blob) {
			*reuse = false;
			if (make_layer(env, g, j, e) < 0)
				return -1;
			continue;
		}
		if (!(g->layer_blobs[j] = strdup(blob)))
			return oom(e);
		if (mt) {
			if (!(g->layer_types[j] = strdup(mt)))
				return oom(e);
		} else {
			const char *t = NULL;
			if (img_blob_layer_type(env, blob, &t, e) < 0)
				return -1;
			if (!(g->layer_types[j] = strdup(t ? t : IMG_MT_OCI_LAYER)))
				return oom(e);
		}
		_cleanup_close_ int fd = -1;
		if (img_store_open_blob(env->store, blob, &fd, &g->layer_sizes[j], e) < 0)
			return berr_wrap(e, "layer %zu", j);
	}
	return 0;
}

/* An OCI manifest written afresh for g: OCI media types, the blobs prepare_layers chose. */
static int make_manifest(struct simg *g, berr *e)
{
	size_t n = g->img.n_layers;
	struct img_descriptor *ls = calloc(n + 1, sizeof *ls);
	if (!ls)
		return oom(e);
	for (size_t j = 0; j < n; j++)
		ls[j] = (struct img_descriptor){
		    .media_type = g->layer_types[j],
		    .digest = g->layer_blobs[j] ? g->layer_blobs[j] : g->img.diff_ids[j],
		    .size = g->layer_sizes[j],
		};
	struct img_manifest out = {
	    .media_type = IMG_MT_OCI_MANIFEST,
	    .schema_version = 2,
	    .config = {.media_type = IMG_MT_OCI_CONFIG, .digest = g->img.config_digest, .size = g->config_size},
	    .layers = ls,
	    .n_layers = n,
	};
	g->manifest = img_manifest_to_json(&out);
	free(ls);
	if (!g->manifest)
		return oom(e);
	g->manifest_len = strlen(g->manifest);
	b_sha256_of(g->manifest, g->manifest_len, g->manifest_digest);
	return 0;
}

/* Config, layers and (for OCI) the manifest of an image, found or made. */
static int prepare(struct img_env *env, struct simg *g, bool oci, berr *e)
{
	size_t n = g->img.n_layers;
	_cleanup_close_ int cfd = -1;
	if (img_store_open_blob(env->store, g->img.config_digest, &cfd, &g->config_size, e) < 0)
		return berr_wrap(e, "config");
	if (!(g->layer_blobs = calloc(n + 1, sizeof *g->layer_blobs)) ||
	    !(g->layer_types = calloc(n + 1, sizeof *g->layer_types)) ||
	    !(g->layer_fds = malloc((n + 1) * sizeof *g->layer_fds)) ||
	    !(g->layer_sizes = calloc(n + 1, sizeof *g->layer_sizes)))
		return oom(e);
	for (size_t j = 0; j <= n; j++)
		g->layer_fds[j] = -1;
	struct img_manifest m = {0};
	_cleanup_free_ char *mjson = NULL;
	size_t mlen = 0;
	bool have_m = stored_manifest(env, &g->img, &m, &mjson, &mlen) == 0;
	bool reuse = have_m && strcmp(m.media_type, IMG_MT_OCI_MANIFEST) == 0;
	int r = prepare_layers(env, g, have_m ? &m : NULL, &reuse, e);
	img_manifest_free(&m);
	if (r < 0 || !oci)
		return r;
	if (!reuse)
		return make_manifest(g, e);
	g->manifest = steal_ptr(mjson);
	g->manifest_len = mlen;
	memcpy(g->manifest_digest, g->img.manifest_digest, B_DIGEST_LEN + 1);
	return 0;
}

/* ---- writing ---- */

static int add_bytes(struct archive *a, struct img_tar_sink *s, const char *name, const void *data, size_t len, berr *e)
{
	_cleanup_tar_entry_ struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return oom(e);
	archive_entry_copy_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)len);
	archive_entry_set_mtime(ent, 0, 0);
	if (img_tar_header(a, s, ent, e) < 0)
		return -1;
	if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		return img_tar_error(a, s, name, e);
	return 0;
}

static int add_dir(struct archive *a, struct img_tar_sink *s, const char *name, berr *e)
{
	_cleanup_tar_entry_ struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return oom(e);
	archive_entry_copy_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFDIR);
	archive_entry_set_perm(ent, 0755);
	archive_entry_set_mtime(ent, 0, 0);
	return img_tar_header(a, s, ent, e);
}

/* A file of size bytes from fd (read from where it stands). */
static int add_fd(struct archive *a, struct img_tar_sink *s, const char *name, int fd, int64_t size, berr *e)
{
	_cleanup_tar_entry_ struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return oom(e);
	archive_entry_copy_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, size);
	archive_entry_set_mtime(ent, 0, 0);
	if (img_tar_header(a, s, ent, e) < 0)
		return -1;
	return img_tar_copy(a, s, fd, size, name, e);
}

static int add_blob(struct img_env *env, struct archive *a, struct img_tar_sink *s, const char *name,
		    const char *digest, berr *e)
{
	_cleanup_close_ int fd = -1;
	int64_t size = 0;
	if (img_store_open_blob(env->store, digest, &fd, &size, e) < 0)
		return -1;
	return add_fd(a, s, name, fd, size, e);
}

/* Layer j of g into the tar as name. */
static int add_layer(struct img_env *env, struct archive *a, struct img_tar_sink *s, struct simg *g, size_t j,
		     const char *name, berr *e)
{
	if (g->layer_blobs[j])
		return add_blob(env, a, s, name, g->layer_blobs[j], e);
	/* A made layer may go out twice (two names, two images): read it from the start each time. */
	if (lseek(g->layer_fds[j], 0, SEEK_SET) < 0)
		return berr_sys(e, "%s: rewinding", name);
	return add_fd(a, s, name, g->layer_fds[j], g->layer_sizes[j], e);
}

static char *familiar(const char *canonical)
{
	struct img_ref ref = {0};
	berr ignored = {0};
	if (img_ref_parse(canonical, &ref, &ignored) < 0) {
		berr_clear(&ignored);
		return NULL;
	}
	char *f = img_ref_familiar(&ref);
	img_ref_free(&ref);
	return f;
}

/* The v1 layer directory of docker save ("<id>/layer.tar"): one per chain ID, named by its hex. */
static void v1_id(const char *chain, char out[65])
{
	memcpy(out, b_digest_hex(chain), 64);
	out[64] = '\0';
}

/* Layer j of g as <id>/ with VERSION, json and layer.tar, unless an earlier image wrote it. */
static int docker_layer(struct save *sv, struct archive *a, struct img_tar_sink *s, struct simg *g, size_t j,
			struct img_strv *done, berr *e)
{
	char id[65], parent[65] = "", name[96];
	v1_id(g->img.chain_ids[j], id);
	if (j)
		v1_id(g->img.chain_ids[j - 1], parent);
	if (img_strv_has(done, id))
		return 0;
	if (img_strv_add(done, id, e) < 0)
		return -1;
	json_t *v1 = json_pack("{s:s, s:s}", "id", id, "created", "1970-01-01T00:00:00Z");
	if (!v1 || (*parent && json_object_set_new(v1, "parent", json_string(parent)) < 0)) {
		json_decref(v1);
		return oom(e);
	}
	_cleanup_free_ char *text = json_dumps(v1, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v1);
	if (!text)
		return oom(e);
	snprintf(name, sizeof name, "%s/", id);
	if (add_dir(a, s, name, e) < 0)
		return -1;
	snprintf(name, sizeof name, "%s/VERSION", id);
	if (add_bytes(a, s, name, "1.0", 3, e) < 0)
		return -1;
	snprintf(name, sizeof name, "%s/json", id);
	if (add_bytes(a, s, name, text, strlen(text), e) < 0)
		return -1;
	snprintf(name, sizeof name, "%s/layer.tar", id);
	return add_layer(sv->env, a, s, g, j, name, e);
}

/* g's entry of manifest.json, and its tags in repositories ({"busybox": {"latest": "<top v1 id>"}}). */
static int docker_entry(struct simg *g, json_t *manifest, json_t *repos, berr *e)
{
	json_t *entry = json_object(), *layers = json_array(), *tags = g->tags.n ? json_array() : json_null();
	if (!entry || json_array_append_new(manifest, entry) < 0) {
		json_decref(entry);
		json_decref(layers);
		json_decref(tags);
		return oom(e);
	}
	if (json_object_set_new(entry, "Config", json_sprintf("%s.json", b_digest_hex(g->img.id))) < 0 ||
	    json_object_set_new(entry, "RepoTags", tags) < 0 || json_object_set_new(entry, "Layers", layers) < 0)
		return oom(e);
	char id[65] = "";
	for (size_t j = 0; j < g->img.n_layers; j++) {
		v1_id(g->img.chain_ids[j], id);
		if (json_array_append_new(layers, json_sprintf("%s/layer.tar", id)) < 0)
			return oom(e);
	}
	for (size_t t = 0; t < g->tags.n; t++) {
		_cleanup_free_ char *fam = familiar(g->tags.v[t]);
		if (!fam || json_array_append_new(tags, json_string(fam)) < 0)
			return oom(e);
		char *colon = strrchr(fam, ':');
		if (!colon || !*id)
			continue;
		*colon = '\0';
		json_t *repo = json_object_get(repos, fam);
		if (!repo && (!(repo = json_object()) || json_object_set_new(repos, fam, repo) < 0))
			return oom(e);
		if (json_object_set_new(repo, colon + 1, json_string(id)) < 0)
			return oom(e);
	}
	return 0;
}

static int write_docker_json(json_t *manifest, json_t *repos, struct archive *a, struct img_tar_sink *s, berr *e)
{
	_cleanup_free_ char *mtext = json_dumps(manifest, JSON_COMPACT);
	_cleanup_free_ char *rtext = json_dumps(repos, JSON_COMPACT | JSON_SORT_KEYS);
	if (!mtext || !rtext)
		return oom(e);
	if (add_bytes(a, s, "manifest.json", mtext, strlen(mtext), e) < 0 ||
	    add_bytes(a, s, "repositories", rtext, strlen(rtext), e) < 0)
		return -1;
	return 0;
}

static int write_docker(struct save *sv, struct archive *a, struct img_tar_sink *s, berr *e)
{
	_cleanup_img_strv_ struct img_strv done = {0};
	json_t *manifest = json_array(), *repos = json_object();
	int ret = -1;
	if (!manifest || !repos) {
		oom(e);
		goto out;
	}
	for (size_t i = 0; i < sv->n; i++) {
		struct simg *g = &sv->imgs[i];
		for (size_t j = 0; j < g->img.n_layers; j++)
			if (docker_layer(sv, a, s, g, j, &done, e) < 0)
				goto out;
		char cname[80];
		snprintf(cname, sizeof cname, "%s.json", b_digest_hex(g->img.id));
		if (!img_strv_has(&done, cname) &&
		    (img_strv_add(&done, cname, e) < 0 || add_blob(sv->env, a, s, cname, g->img.config_digest, e) < 0))
			goto out;
		if (docker_entry(g, manifest, repos, e) < 0)
			goto out;
	}
	ret = write_docker_json(manifest, repos, a, s, e);
out:
	json_decref(manifest);
	json_decref(repos);
	return ret;
}

/* The blobs of g under blobs/sha256/, those not written yet. */
static int oci_blobs(struct save *sv, struct archive *a, struct img_tar_sink *s, struct simg *g, struct img_strv *done,
		     berr *e)
{
	char name[96];
	for (size_t j = 0; j <= g->img.n_layers + 1; j++) {
		const char *digest = j < g->img.n_layers ? (g->layer_blobs[j] ? g->layer_blobs[j] : g->img.diff_ids[j])
				     : j == g->img.n_layers ? g->img.config_digest
							    : g->manifest_digest;
		if (img_strv_has(done, digest))
			continue;
		if (img_strv_add(done, digest, e) < 0)
			return -1;
		snprintf(name, sizeof name, "blobs/sha256/%s", b_digest_hex(digest));
		int r = j < g->img.n_layers    ? add_layer(sv->env, a, s, g, j, name, e)
			: j == g->img.n_layers ? add_blob(sv->env, a, s, name, digest, e)
					       : add_bytes(a, s, name, g->manifest, g->manifest_len, e);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int write_oci(struct save *sv, struct archive *a, struct img_tar_sink *s, berr *e)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (add_bytes(a, s, "oci-layout", layout, strlen(layout), e) < 0 || add_dir(a, s, "blobs/", e) < 0 ||
	    add_dir(a, s, "blobs/sha256/", e) < 0)
		return -1;
	_cleanup_img_strv_ struct img_strv done = {0};
	size_t n = 0;
	for (size_t i = 0; i < sv->n; i++) {
		if (oci_blobs(sv, a, s, &sv->imgs[i], &done, e) < 0)
			return -1;
		n += sv->imgs[i].tags.n ? sv->imgs[i].tags.n : 1;
	}
	/* One index entry per tag (one without annotations for an image without tags). */
	_cleanup_free_ struct img_descriptor *entries = calloc(n + 1, sizeof *entries);
	_cleanup_free_ char **ann = calloc(5 * (n + 1), sizeof *ann);
	if (!entries || !ann)
		return oom(e);
	size_t k = 0;
	for (size_t i = 0; i < sv->n; i++) {
		struct simg *g = &sv->imgs[i];
		for (size_t t = 0; t < (g->tags.n ? g->tags.n : 1); t++, k++) {
			entries[k] = (struct img_descriptor){.media_type = IMG_MT_OCI_MANIFEST,
							     .digest = g->manifest_digest,
							     .size = (int64_t)g->manifest_len};
			if (!g->tags.n)
				continue;
			char **a4 = &ann[5 * k];
			const char *canon = g->tags.v[t], *colon = strrchr(canon, ':');
			a4[0] = ANNOTATION_CONTAINERD_NAME;
			a4[1] = (char *)canon;
			a4[2] = ANNOTATION_REF_NAME;
			a4[3] = (char *)(colon ? colon + 1 : canon);
			entries[k].annotations = a4;
		}
	}
	struct img_index idx = {
	    .media_type = IMG_MT_OCI_INDEX, .schema_version = 2, .manifests = entries, .n_manifests = n};
	_cleanup_free_ char *text = img_index_to_json(&idx);
	if (!text)
		return oom(e);
	return add_bytes(a, s, "index.json", text, strlen(text), e);
}

static int save_locked(struct save *sv, char *const *names, size_t n, enum img_archive_format fmt, int out_fd, berr *e)
{
	if (!n)
		return berr_invalid(e, "no image named");
	for (size_t i = 0; i < n; i++)
		if (add_name(sv, names[i], e) < 0)
			return berr_wrap(e, "%s", names[i]);
	for (size_t i = 0; i < sv->n; i++)
		if (prepare(sv->env, &sv->imgs[i], fmt == IMG_ARCHIVE_OCI, e) < 0)
			return berr_wrap(e, "image %s", sv->imgs[i].img.id);
	struct img_tar_sink s = {.fd = out_fd};
	_cleanup_tar_writer_ struct archive *a = img_tar_open(&s, e);
	if (!a)
		return -1;
	if ((fmt == IMG_ARCHIVE_OCI ? write_oci(sv, a, &s, e) : write_docker(sv, a, &s, e)) < 0)
		return -1;
	return img_tar_close(a, &s, e);
}

int img_save_archive(struct img_env *env, char *const *names, size_t n, enum img_archive_format fmt, int out_fd,
		     berr *e)
{
	if (img_env_lock(env, false, e) < 0)
		return berr_wrap(e, "saving");
	struct save sv = {.env = env};
	int r = save_locked(&sv, names, n, fmt, out_fd, e);
	img_env_unlock(env);
	save_free(&sv);
	if (r < 0)
		return berr_wrap(e, "saving");
	return 0;
}
