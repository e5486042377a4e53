/* Image archives, inside: what load, save and image.c share. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "lib/err.h"

/* A growable list of owned strings, NULL-terminated whenever it is not empty. */
struct img_strv {
	char **v;
	size_t n, cap;
};

/* Append a copy of str. */
int img_strv_add(struct img_strv *s, const char *str, berr *e);
/* Append str itself (freed on failure). */
int img_strv_take(struct img_strv *s, char *str, berr *e);
/* Append a copy of str unless it is there already. */
int img_strv_add_unique(struct img_strv *s, const char *str, berr *e);
bool img_strv_has(const struct img_strv *s, const char *str);
void img_strv_free(struct img_strv *s);
/* The list as a NULL-terminated array (an empty one when nothing was added); s is left empty. NULL: no memory. */
char **img_strv_steal(struct img_strv *s);
static inline void img_strv_freep(struct img_strv *s)
{
	img_strv_free(s);
}
#define _cleanup_img_strv_ __attribute__((cleanup(img_strv_freep)))

/* Delete those of the blobs that the database does not refer to (nothing else may write meanwhile). */
int img_env_prune_blobs(struct img_env *env, char *const *candidates, size_t n, berr *e);

/*
 * The OCI media type of a stored layer blob, from its first bytes: tar, tar+gzip or tar+zstd;
 * *mt NULL for another compression (xz, bzip2), which OCI has no type for.
 */
int img_blob_layer_type(struct img_env *env, const char *digest, const char **mt, berr *e);

/* A layer made from a stored blob whose diff ID was not known in advance (import, commit). */
struct img_new_layer {
	char chain_id[B_DIGEST_LEN + 1], diff_id[B_DIGEST_LEN + 1], parent[B_DIGEST_LEN + 1];
	char blob[B_DIGEST_LEN + 1];
	int64_t size, blob_size;
	char *made; /* layers/<hex> when this call put it there (remove it if the caller fails), else NULL */
};

/*
 * Unpack the stored blob as a layer over parent_chain (NULL: a base layer) and put it at
 * layers/<chain hex>/diff, unless that layer is there already. The caller holds the exclusive lock
 * of the layers and registers the layer (img_db_layer_put) in its transaction. Free out->made.
 */
int img_layer_add_from_blob(struct img_env *env, const char *blob, const char *parent_chain, struct img_new_layer *out,
			    berr *e);
