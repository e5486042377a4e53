/*
 * The image side of a data root under one handle: the content store (root/blobs), the unpacked
 * layers (root/layers/<chain-id hex>/diff, overlay lower dirs) and the metadata database
 * (root/berth.db); and what works on all three at once: loading and saving image archives
 * (`docker load` / `docker save`), the lower dirs of an image, removing an image with its layers.
 *
 * Writers of layers and of the blob set (load, remove) take an exclusive flock on root/layers for
 * their whole run, readers of layer dirs (save, rootfs) a shared one: a load never sees a layer
 * directory half removed, a save never loses a layer under it. The lock is per open file, so two
 * handles on the same root, in one process or several, exclude each other as they should.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "image/imagedb.h"
#include "image/store.h"
#include "lib/digest.h"
#include "lib/err.h"

struct img_env {
	char *root;       /* the data root */
	char *layers_dir; /* <root>/layers */
	struct img_store *store;
	struct img_db *db;
	int lock_fd; /* <root>/layers, for flock */
};

/*
 * Open (creating what is missing: root 0700, root/blobs, root/layers, root/berth.db) and remove
 * what a crash left in the middle of a layer unpack. Free with img_env_close.
 */
int img_env_open(const char *root, struct img_env **out, berr *e);
/* NULL is fine. */
void img_env_close(struct img_env *env);

/*
 * Take the lock of the layers (exclusive: adding or removing layers or blobs; shared: reading layer
 * dirs, e.g. while a container's overlay is mounted over them); img_env_unlock lets it go. Not
 * recursive: load, save and remove take it themselves, img_rootfs_dirs leaves it to its caller.
 */
int img_env_lock(struct img_env *env, bool exclusive, berr *e);
void img_env_unlock(struct img_env *env);

/* "<root>/layers/<hex of chain_id>/diff" (malloc'd), or NULL for an invalid chain ID or no memory. */
char *img_env_layer_dir(struct img_env *env, const char *chain_id);

/*
 * The lower dirs of an image for overlayfs, top-most first (NULL-terminated, malloc'd; *n may be
 * NULL): name is resolved as img_db_resolve does. A layer whose directory is missing is an error.
 */
int img_rootfs_dirs(struct img_env *env, const char *name, char ***dirs, size_t *n, berr *e);

/*
 * `docker rmi [-f] name`: img_db_image_remove, then the directories of the layers nothing uses any
 * more, then the blobs nothing refers to any more. *out (may be NULL) as img_db_image_remove fills it.
 */
int img_remove(struct img_env *env, const char *name, bool force, struct img_db_removal *out, berr *e);

/*
 * Load an image archive from fd (read to its end): a tar, plain or gzip/zstd/xz compressed, in
 * `docker save` form (manifest.json; configs and layers at the paths it names, "<id>/layer.tar"
 * or "blobs/sha256/<hex>") or as an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>).
 * Members may come in any order. Every image of the archive is loaded with its tags (docker:
 * RepoTags; OCI: the io.containerd.image.name annotation, else an org.opencontainers.image.ref.name
 * that is a whole reference; a bare tag such as "latest" names no repository and is not used); a
 * multi-platform index gives the host's platform. Layers not present yet are unpacked and
 * checked against the config's rootfs.diff_ids; then all images are recorded in one transaction.
 * An image of a docker save archive has no manifest: it gets an OCI manifest made of its config
 * and layer blobs (as Docker's containerd store and podman do), so that a save finds the same
 * blobs again; an image loaded before keeps the manifest it has.
 * On failure nothing is recorded and what the load added (layer dirs, blobs) is removed again;
 * the error names the archive member ("loading archive: manifest.json: Layers[2]: blobs/sha256/..:
 * not in the archive").
 *
 * *loaded (may be NULL) gets what docker prints, NULL-terminated: "Loaded image: busybox:latest"
 * for each tag, "Loaded image ID: sha256:<hex>" for an image without one.
 */
int img_load_archive(struct img_env *env, int fd, char ***loaded, berr *e);

enum img_archive_format {
	IMG_ARCHIVE_DOCKER, /* manifest.json, repositories, <config hex>.json, <id>/layer.tar (+ VERSION, json) */
	IMG_ARCHIVE_OCI,    /* oci-layout, index.json, blobs/sha256/<hex> */
};

/*
 * Write a tar of the named images to out_fd (a plain tar, not compressed). names are resolved as
 * img_db_resolve does; a name with a tag ("busybox:1") saves that tag, a bare repository name
 * ("busybox") every tag of the repository, an ID the image without tags. Configs and layers come
 * from the store where the image has them (their digests stay those of the pull or load); a layer
 * without its blob is made again from its directory (img_layer_tar) and must match its diff ID.
 * The OCI form names each tag in index.json with org.opencontainers.image.ref.name (the tag) and
 * io.containerd.image.name (the full reference), as Docker does; an image's OCI manifest is reused
 * as stored, others are written afresh.
 */
int img_save_archive(struct img_env *env, char *const *names, size_t n, enum img_archive_format fmt, int out_fd,
		     berr *e);

/*
 * The canonical tar of an unpacked layer dir (overlay form) to out_fd: entries depth-first with
 * names sorted bytewise, a directory before its entries, relative names ("bin/", "bin/sh"), numeric
 * owners only, times in whole seconds, hard links kept, the xattr security.capability kept; overlay
 * whiteouts (0/0 character devices) become empty ".wh.<name>" files and an opaque directory gets a
 * ".wh..wh..opq" entry right after its own, both with mode 0, owner 0 and time 0. The same
 * directory always gives the same bytes, and so does the directory img_layer_unpack makes of them:
 * a layer stored as this tar can be made again when its blob is gone.
 * diff_id (may be NULL) gets the sha256 of what was written, *size (may be NULL) its length.
 */
int img_layer_tar(const char *layer_dir, int out_fd, char diff_id[B_DIGEST_LEN + 1], uint64_t *size, berr *e);

/*
 * `docker export`: a plain tar of the tree at dir (a container's mounted root filesystem) to
 * out_fd, in the same order and form as img_layer_tar but with nothing read as overlay markers:
 * character devices are devices, no opaque entries. Sockets are left out.
 */
int img_tree_tar(const char *dir, int out_fd, berr *e);

/*
 * `docker cp` out of a container: the entry name of dirfd (a file, link, device or a directory with
 * everything below it; never followed) as a plain tar whose top entry is called as ("etc" ->
 * "etc/", "etc/passwd" ...). name NULL, "" or ".": the whole of dirfd, without a top entry.
 */
int img_entry_tar(int dirfd, const char *name, const char *as, int out_fd, berr *e);

struct img_extract_opts {
	bool keep_owners;              /* owners from the tar (docker cp -a); else root's (0:0) */
	bool no_overwrite_dir_non_dir; /* refuse to replace a directory by a non-directory or the reverse */
};

/*
 * `docker cp` into a container: the tar read from in_fd (plain or compressed) extracted into the
 * directory dirfd with the checks of layer unpacking (nothing lands outside dirfd, never through a
 * symlink, never across a mount); existing files are replaced, directories merged. An entry that
 * breaks a rule stops the extraction with an error naming it (what was written before it stays, as
 * with tar).
 */
int img_tar_extract(int dirfd, int in_fd, const struct img_extract_opts *o, berr *e);

struct img_import_opts {
	char *const *changes; /* Dockerfile instructions (img_config_apply_changes) */
	size_t n_changes;
	const char *message;   /* the history's comment; NULL or "": "Imported from <source>" */
	const char *source;    /* where the tar came from, for that message ("-": a stream); NULL: "-" */
	const char *reference; /* "repo[:tag]" to tag the new image with; NULL: none */
	const char *platform;  /* "os[/arch[/variant]]" the image says it is for; NULL: the host's */
};

/*
 * `docker import`: the tar read from fd (to its end; plain or compressed, a root filesystem)
 * becomes a one-layer image whose config holds only what the changes set, the platform, the
 * creation time and a history entry. The tar is stored as it came (its blob) and unpacked with
 * the same checks as any layer. id gets the new image's ID. On failure nothing stays.
 */
int img_import(struct img_env *env, int fd, const struct img_import_opts *o, char id[B_DIGEST_LEN + 1], berr *e);

struct img_commit_opts {
	const char *upper_dir; /* the container's writable layer, in overlay form */
	const char *image;     /* the image the container was made from (a name or ID) */
	json_t *config; /* the container's Config (Docker's shape): the new image's "config"; NULL: the image's */
	json_t *container_config; /* kept as "container_config" (may be NULL) */
	char *const *changes;     /* applied over config (img_config_apply_changes) */
	size_t n_changes;
	const char *author, *comment, *container_id, *created_by; /* may be NULL */
	const char *reference; /* "repo[:tag]" to tag the new image with; NULL: none */
};

/*
 * `docker commit`: a new image made of the image's layers plus the container's changes as one
 * more layer (its upper dir as a canonical tar: deletions become whiteouts, replaced directories
 * opaque ones). A container without changes adds no layer, only a history entry marked
 * empty_layer, as Docker does. The caller keeps the container from writing meanwhile (pause).
 * The new image's parent is the container's image. id gets the new image's ID.
 */
int img_commit(struct img_env *env, const struct img_commit_opts *o, char id[B_DIGEST_LEN + 1], berr *e);

/* GET /images/{name}/json: the image in Docker's shape (Id, RepoTags, RepoDigests, Config, RootFS ...). */
int img_inspect_json(struct img_env *env, const char *name, json_t **out, berr *e);
/* GET /images/{name}/history: one row per history entry, newest first; the top one has the image's ID and tags. */
int img_history_json(struct img_env *env, const char *name, json_t **out, berr *e);
/*
 * GET /images/json: image summaries, newest first; without all, untagged images that are the parent
 * of another are left out. filters (may be NULL): dangling, label, reference (glob on "repo" or
 * "repo:tag"), before, since (an image), until (a time); another name: EINVAL "invalid filter 'x'".
 * "Containers" is -1 (not counted), as Docker answers without the shared-size option.
 */
int img_list_json(struct img_env *env, bool all, json_t *filters, json_t **out, berr *e);
