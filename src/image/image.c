/* The data root's image side under one handle: store, layers, database; lock, rootfs dirs, removal. */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/manifest.h"
#include "image/unpack.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

/* ---- string lists ---- */

int img_strv_take(struct img_strv *s, char *str, berr *e)
{
	if (!str)
		return berr_set(e, ENOMEM, "out of memory");
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v) {
			free(str);
			return berr_set(e, ENOMEM, "out of memory");
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int img_strv_add(struct img_strv *s, const char *str, berr *e)
{
	return img_strv_take(s, strdup(str), e);
}

bool img_strv_has(const struct img_strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

int img_strv_add_unique(struct img_strv *s, const char *str, berr *e)
{
	return img_strv_has(s, str) ? 0 : img_strv_add(s, str, e);
}

void img_strv_free(struct img_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct img_strv){0};
}

char **img_strv_steal(struct img_strv *s)
{
	char **v = s->v;
	if (!v)
		v = calloc(1, sizeof *v);
	*s = (struct img_strv){0};
	return v;
}

/* ---- the handle ---- */

int img_env_open(const char *root, struct img_env **out, berr *e)
{
	struct img_env *env = calloc(1, sizeof *env);
	if (!env)
		return berr_set(e, ENOMEM, "opening data root %s", root);
	env->lock_fd = -1;
	_cleanup_free_ char *db_path = NULL;
	if (!(env->root = strdup(root)) || asprintf(&env->layers_dir, "%s/layers", root) < 0 ||
	    asprintf(&db_path, "%s/berth.db", root) < 0) {
		env->layers_dir = NULL;
		img_env_close(env);
		return berr_set(e, ENOMEM, "opening data root %s", root);
	}
	if (b_mkdir_p(root, 0700, e) < 0 || img_store_open(root, &env->store, e) < 0 ||
	    b_mkdir_p(env->layers_dir, 0700, e) < 0)
		goto fail;
	env->lock_fd = open(env->layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (env->lock_fd < 0) {
		berr_sys(e, "opening %s", env->layers_dir);
		goto fail;
	}
	if (img_db_open(db_path, &env->db, e) < 0 || img_layer_unpack_cleanup(env->layers_dir, e) < 0)
		goto fail;
	*out = env;
	return 0;
fail:
	img_env_close(env);
	return berr_wrap(e, "opening data root %s", root);
}

void img_env_close(struct img_env *env)
{
	if (!env)
		return;
	img_db_close(env->db);
	img_store_close(env->store);
	if (env->lock_fd >= 0)
		close(env->lock_fd);
	free(env->layers_dir);
	free(env->root);
	free(env);
}

int img_env_lock(struct img_env *env, bool exclusive, berr *e)
{
	while (flock(env->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		if (errno != EINTR)
			return berr_sys(e, "locking %s", env->layers_dir);
	return 0;
}

void img_env_unlock(struct img_env *env)
{
	flock(env->lock_fd, LOCK_UN);
}

char *img_env_layer_dir(struct img_env *env, const char *chain_id)
{
	if (!b_digest_valid(chain_id))
		return NULL;
	char *p = NULL;
	if (asprintf(&p, "%s/%s/diff", env->layers_dir, b_digest_hex(chain_id)) < 0)
		return NULL;
	return p;
}

/* ---- what an image is made of ---- */

int img_rootfs_dirs(struct img_env *env, const char *name, char ***dirs, size_t *n, berr *e)
{
	_cleanup_free_ char *id = NULL;
	if (img_db_resolve(env->db, name, &id, e) < 0)
		return -1;
	struct img_db_image img = {0};
	if (img_db_image_get(env->db, id, &img, e) < 0)
		return -1;
	_cleanup_img_strv_ struct img_strv out = {0};
	int ret = -1;
	for (size_t i = img.n_layers; i-- > 0;) {
		char *dir = img_env_layer_dir(env, img.chain_ids[i]);
		if (img_strv_take(&out, dir, e) < 0)
			goto done;
		struct stat st;
		int err = stat(dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (err) {
			berr_set(e, err, "image %s: layer %s: %s", id, img.chain_ids[i], dir);
			goto done;
		}
	}
	if (n)
		*n = out.n;
	if (!(*dirs = img_strv_steal(&out))) {
		berr_set(e, ENOMEM, "image %s", id);
		goto done;
	}
	ret = 0;
done:
	img_db_image_free(&img);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int img_env_prune_blobs(struct img_env *env, char *const *candidates, size_t n, berr *e)
{
	if (!n)
		return 0;
	_cleanup_strv_ char **refs = NULL;
	size_t nrefs = 0;
	if (img_db_referenced_blobs(env->db, &refs, &nrefs, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (nrefs && bsearch(&candidates[i], refs, nrefs, sizeof *refs, cmp_str))
			continue;
		if (img_store_delete(env->store, candidates[i], e) < 0)
			return -1;
	}
	return 0;
}

int img_blob_layer_type(struct img_env *env, const char *digest, const char **mt, berr *e)
{
	_cleanup_close_ int fd = -1;
	if (img_store_open_blob(env->store, digest, &fd, NULL, e) < 0)
		return -1;
	unsigned char head[6] = {0};
	ssize_t n = pread(fd, head, sizeof head, 0);
	if (n < 0)
		return berr_sys(e, "blob %s", digest);
	static const unsigned char xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
	if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		*mt = IMG_MT_OCI_LAYER_GZIP;
	else if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
		*mt = IMG_MT_OCI_LAYER_ZSTD;
	else if ((n >= 6 && memcmp(head, xz, 6) == 0) || (n >= 3 && memcmp(head, "BZh", 3) == 0))
		*mt = NULL;
	else
		*mt = IMG_MT_OCI_LAYER;
	return 0;
}

/* The blobs an image holds: config, manifest, the manifest's layers, layers stored uncompressed. */
static int image_blobs(struct img_env *env, const char *id, struct img_strv *out, berr *e)
{
	struct img_db_image img = {0};
	if (img_db_image_get(env->db, id, &img, e) < 0)
		return -1;
	int ret = -1;
	if (img_strv_add_unique(out, img.config_digest, e) < 0)
		goto done;
	for (size_t i = 0; i < img.n_layers; i++)
		if (img_strv_add_unique(out, img.diff_ids[i], e) < 0)
			goto done;
	if (img.manifest_digest && img_store_has(env->store, img.manifest_digest)) {
		if (img_strv_add_unique(out, img.manifest_digest, e) < 0)
			goto done;
		_cleanup_free_ char *json = NULL;
		size_t len = 0;
		struct img_manifest m = {0};
		berr ignored = {0};
		/* A manifest we cannot read names no blob to remove; the removal goes on. */
		if (img_store_read(env->store, img.manifest_digest, 4 << 20, false, &json, &len, &ignored) == 0 &&
		    img_manifest_parse(json, len, &m, &ignored) == 0) {
			for (size_t i = 0; i < m.n_layers; i++)
				if (img_strv_add_unique(out, m.layers[i].digest, e) < 0) {
					img_manifest_free(&m);
					goto done;
				}
			img_manifest_free(&m);
		}
		berr_clear(&ignored);
	}
	ret = 0;
done:
	img_db_image_free(&img);
	return ret;
}

static int remove_locked(struct img_env *env, const char *name, bool force, struct img_db_removal *out, berr *e)
{
	_cleanup_free_ char *id = NULL;
	if (img_db_resolve(env->db, name, &id, e) < 0)
		return -1;
	_cleanup_img_strv_ struct img_strv blobs = {0};
	if (image_blobs(env, id, &blobs, e) < 0)
		return -1;
	struct img_db_removal r = {0};
	if (img_db_image_remove(env->db, name, force, true, &r, e) < 0)
		return -1;
	int ret = -1;
	for (char **c = r.unused_chain_ids; *c; c++) {
		_cleanup_free_ char *dir = NULL;
		if (asprintf(&dir, "%s/%s", env->layers_dir, b_digest_hex(*c)) < 0) {
			berr_set(e, ENOMEM, "removing layer %s", *c);
			goto done;
		}
		if (b_remove_tree(dir, e) < 0 || img_db_layer_delete(env->db, *c, e) < 0) {
			berr_wrap(e, "removing layer %s", *c);
			goto done;
		}
	}
	if (img_env_prune_blobs(env, blobs.v, blobs.n, e) < 0)
		goto done;
	ret = 0;
done:
	if (ret == 0 && out)
		*out = r;
	else
		img_db_removal_free(&r);
	return ret;
}

int img_remove(struct img_env *env, const char *name, bool force, struct img_db_removal *out, berr *e)
{
	if (img_env_lock(env, true, e) < 0)
		return -1;
	int r = remove_locked(env, name, force, out, e);
	img_env_unlock(env);
	return r;
}
