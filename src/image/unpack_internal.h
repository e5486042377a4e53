/* Layer unpacking, inside: tar entries applied to a directory tree (unpack_tree.c, whiteout.c). */
#pragma once
#include <stdbool.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/libarchive_lazy.h"

/* Name prefix of the temp dirs img_layer_unpack extracts into (next to dest). */
#define IMG_UNPACK_TMP_PREFIX ".berth-unpack-"

/*
 * A tar entry name as a path relative to the layer root: leading "/" and "./" dropped, "." and
 * empty components dropped, ".." applied lexically. "" names the root. NULL with errno EINVAL when
 * a ".." would leave the root, ENOMEM when out of memory.
 */
char *img_unpack_clean_path(const char *name);

/* The tree being extracted: a root dir and what the layer did to it so far. */
struct img_unpack_tree;

struct img_unpack_tree *img_unpack_tree_new(int rootfd);
void img_unpack_tree_free(struct img_unpack_tree *t);
/* Apply one entry (its data read from a); the error names the entry. */
int img_unpack_tree_apply(struct img_unpack_tree *t, struct archive *a, struct archive_entry *ent, berr *e);
/* Remove name (a whole tree for a directory) from dirfd without crossing mounts; missing is fine. -1 with errno. */
int img_unpack_remove_tree_at(int dirfd, const char *name);
/* Give directories their metadata (owner, mode, xattrs, times) now that nothing more goes in them. */
int img_unpack_tree_finish(struct img_unpack_tree *t, berr *e);

/* What an entry's last path component means as a whiteout. */
enum img_whiteout_kind {
	IMG_WH_NONE,    /* an ordinary name */
	IMG_WH_FILE,    /* ".wh.<name>": <name> is deleted */
	IMG_WH_OPAQUE,  /* ".wh..wh..opq": the directory hides what lower layers hold */
	IMG_WH_INVALID, /* ".wh." with no name, ".wh..", ".wh...", or ".wh..wh.<other>" */
};
/* Classify a last component; for IMG_WH_FILE *target points at the deleted name inside base. */
enum img_whiteout_kind img_whiteout_kind(const char *base, const char **target);
/* Is this component a whiteout name (".wh." prefix)? Such names never exist in overlay form. */
bool img_whiteout_name(const char *component);
/* An overlay whiteout: a character device 0/0. */
bool img_whiteout_is(const struct stat *st);
/* Create the whiteout <name> in dirfd. */
int img_whiteout_make(int dirfd, const char *name);
/* Mark the directory opaque (trusted.overlay.opaque = "y"). dirfd must be a real (not O_PATH) fd. */
int img_whiteout_set_opaque(int dirfd);
