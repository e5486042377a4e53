/*
 * The image metadata database: images, their ordered layers, tags, the unpacked layers, and which
 * containers use which image, in the SQLite file berth.db (shared with the engine's own tables).
 *
 * Durability. The database is in WAL mode with synchronous=FULL: every commit appends the
 * transaction to the WAL and fsyncs it before COMMIT returns. A kill -9 of the process at any
 * instant cannot lose a committed transaction (WAL + NORMAL would already guarantee that, as the
 * frames are in the page cache), and with FULL a power cut or kernel crash cannot either, so the
 * database never forgets an image whose blobs and layers (fsynced before it is recorded) are on
 * disk. Image writes are rare (pull, tag, rmi): the fsync per commit (0.2-0.35 ms measured here,
 * against 0.03 ms with NORMAL) is cheap next to the work it records. synchronous is a
 * per-connection setting: the engine's own handle may choose NORMAL for its hot paths.
 * An interrupted transaction leaves no trace: SQLite ignores uncommitted WAL frames on recovery.
 *
 * Every public write runs in one transaction (BEGIN IMMEDIATE: the write lock is taken first, so a
 * writer waits for another instead of failing half-way); inside img_db_tx it becomes a savepoint
 * of the caller's transaction. Other processes may open the same file: a writer waits up to
 * IMG_DB_BUSY_TIMEOUT_MS for the lock, then fails with errnum EBUSY. Reads see one snapshot.
 *
 * A handle is not thread-safe (it caches prepared statements); use one per thread. A child of
 * fork() must neither use the parent's handle nor open the database itself while an inherited
 * handle exists (SQLite keeps per-process lock bookkeeping that fork copies but the kernel's
 * locks do not follow): fork to exec, or fork while no handle is open. The database files are
 * opened O_CLOEXEC and created mode 0600.
 *
 * Errors: errnum ENOENT for what does not exist ("No such image: busybox:latest"), EBUSY for
 * Docker's conflicts (HTTP 409), EINVAL for bad input, and the SQLite cause otherwise (EBUSY for
 * a lock that was not released in time, ENOSPC, EIO ...).
 *
 * IDs are "sha256:<64 hex>" (the config digest, as Docker's image IDs); wherever an image ID is
 * taken, the bare 64 hex digits are accepted too. References are stored in their canonical form
 * ("docker.io/library/busybox:latest", "docker.io/library/busybox@sha256:...").
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define IMG_DB_SCHEMA_VERSION  1     /* the image tables' version this code writes */
#define IMG_DB_BUSY_TIMEOUT_MS 10000 /* how long a writer waits for another process's lock */

struct img_db;

/*
 * Open (creating when missing) the database at path and bring the image tables to
 * IMG_DB_SCHEMA_VERSION. A database written by a newer berth (a higher version) is refused.
 */
int img_db_open(const char *path, struct img_db **out, berr *e);
/* NULL is fine. */
void img_db_close(struct img_db *db);

/*
 * Run fn inside one transaction: BEGIN IMMEDIATE, then COMMIT when fn returns 0, ROLLBACK (nothing
 * of fn's writes remains) when it returns < 0 or the commit fails. Nested calls (fn calling
 * img_db_tx or any img_db_ write) become savepoints: an inner failure undoes only the inner part.
 */
int img_db_tx(struct img_db *db, int (*fn)(struct img_db *db, void *arg, berr *e), void *arg, berr *e);

struct img_db_image {
	char *id;      /* "sha256:..." = config digest */
	char *created; /* RFC 3339 from the config; may be NULL */
	int64_t size;  /* sum of the layers' uncompressed sizes; put: negative = compute it */
	char *config_digest;
	char *manifest_digest; /* the manifest we hold (push, save); may be NULL */
	char *manifest_media_type;
	char *os, *architecture, *variant; /* may be NULL */
	char *parent_id;                   /* commit/build history; may be NULL */
	int64_t added_at;                  /* unix nanoseconds; put: 0 = now (or kept, when replacing) */
	char **chain_ids;                  /* n_layers, bottom first; get: also NULL-terminated */
	char **diff_ids;                   /* n_layers, bottom first; get: also NULL-terminated */
	size_t n_layers;
	char **tags; /* NULL-terminated canonical references, sorted; put: added (moved here), may be NULL */
};

/*
 * Insert or replace the image row and its layer list (tags already pointing at the image stay;
 * those in img->tags are added or moved to it). Checked first: the digests are valid, config_digest
 * (when NULL, the ID) equals the ID, each chain ID follows from the diff IDs
 * (chain[0] = diff[0], chain[i] = sha256(chain[i-1] + " " + diff[i])), and every layer was
 * registered with img_db_layer_put, is ready, and has that diff ID.
 */
int img_db_image_put(struct img_db *db, const struct img_db_image *img, berr *e);
/* Fill *out (zeroed first; free with img_db_image_free). Missing: ENOENT, "No such image: <id>". */
int img_db_image_get(struct img_db *db, const char *id, struct img_db_image *out, berr *e);
/* Free the fields and zero *img; NULL and zeroed structs are fine. */
void img_db_image_free(struct img_db_image *img);

/*
 * What the user typed -> image ID (malloc'd), the way Docker's daemon resolves it:
 *   - "sha256:<64 hex>" or 64 hex: that ID, nothing else;
 *   - a reference, normalised by img_ref_parse ("busybox" -> docker.io/library/busybox:latest):
 *     its tag; name@digest: the stored "name@digest" reference, else an image whose
 *     manifest_digest is the digest and that has a reference in the same repository
 *     (name:tag@digest is looked up as name@digest, as Docker does);
 *   - failing that, an ID prefix ("abc", "sha256:abc", at least 1 hex digit) matching one ID.
 * Not found: ENOENT with Docker's message, "No such image: busybox:latest" (the familiar form with
 * the default tag for a name; "sha256:<hex>" for a full ID). A prefix matching several IDs: ENOENT
 * (Docker answers 404 too), "image ID prefix abc is ambiguous: it matches several images". Neither
 * a reference nor an ID: EINVAL with img_ref_parse's message ("invalid reference format").
 */
int img_db_resolve(struct img_db *db, const char *name, char **image_id, berr *e);

/*
 * Point reference at image_id (moving it from another image). reference is normalised: "busybox"
 * is docker.io/library/busybox:latest; "name@digest" is accepted (what a pull by digest records);
 * "name:tag@digest" is refused like Docker ("refusing to create a tag with a digest reference").
 * Missing image: ENOENT.
 */
int img_db_tag(struct img_db *db, const char *image_id, const char *reference, berr *e);
/* Remove a reference ("busybox" = busybox:latest). Missing: ENOENT, "No such image: busybox:latest". */
int img_db_untag(struct img_db *db, const char *reference, berr *e);

/*
 * Every image, newest first (by the config's created time, then by added_at), each filled as by
 * img_db_image_get. Without include_dangling, only images with at least one reference. *out is
 * an array of *n (free with img_db_images_free).
 */
int img_db_list(struct img_db *db, bool include_dangling, struct img_db_image **out, size_t *n, berr *e);
void img_db_images_free(struct img_db_image *imgs, size_t n);

/*
 * Delete an image by ID, as `docker rmi <id>` does (without pruning parents):
 *   - an image with children (images whose parent_id it is) is refused, even with force:
 *     "conflict: unable to delete <id12> (cannot be forced) - image has dependent child images";
 *   - when its references are all in one repository with at most one tag (Docker's "single
 *     reference"), they are removed with it; otherwise, without force: "conflict: unable to delete
 *     <id12> (must be forced) - image is referenced in multiple repositories";
 *   - an image a container uses (img_db_container_use), without force: "conflict: unable to delete
 *     <id12> (must be forced) - image is being used by stopped container <ctr12>". The database
 *     does not know whether the container runs: Docker refuses a running container's image even
 *     with force ("cannot be forced"); the engine checks that itself before calling.
 * All conflicts: errnum EBUSY. On success the image row, its tags and its layer list are gone, and
 * *unused_chain_ids (may be NULL; NULL-terminated, top layer first) gets the layers that no other
 * image nor any container uses any more; they are marked 'deleting' (img_db_layer_exists is false
 * for them) and stay registered until the caller has removed their directories and calls
 * img_db_layer_delete, so that a crash in between is finished by img_db_layers_unused at restart.
 * A force-deleted image's layers stay as long as a container that used it does.
 */
int img_db_image_delete(struct img_db *db, const char *image_id, bool force, char ***unused_chain_ids, berr *e);

/* The outcome of img_db_image_remove, in the order of Docker's DELETE /images/{name} answer. */
struct img_db_removal {
	char **untagged;         /* references removed, familiar form ("busybox:latest"); NULL-terminated */
	char **deleted;          /* IDs of the images deleted: the image, then pruned parents; NULL-terminated */
	char **unused_chain_ids; /* as img_db_image_delete's, for all deleted images; NULL-terminated */
};

/*
 * `docker rmi [-f] [--no-prune] name` in one transaction (all or nothing):
 *   - name resolved as img_db_resolve does;
 *   - name a reference (not a prefix of the ID): when it is the image's single reference and a
 *     container uses the image, without force: "conflict: unable to remove repository reference
 *     \"<name>\" (must force) - container <ctr12> is using its referenced image <id12>" (EBUSY).
 *     Otherwise the reference is removed (and, when no tag of that repository is left, the digest
 *     references of the repository too). If references remain, that is all; if not, the image is
 *     deleted unless something still needs it (children, a container without force): then it
 *     stays, untagged, as Docker leaves it;
 *   - name an ID: as img_db_image_delete;
 *   - with prune, the deleted image's parent is deleted too when it has no reference, no other
 *     child and no container, and so on up the chain.
 * *out is filled (all three arrays non-NULL) only on success; free with img_db_removal_free.
 */
int img_db_image_remove(struct img_db *db, const char *name, bool force, bool prune, struct img_db_removal *out,
			berr *e);
void img_db_removal_free(struct img_db_removal *r);

/*
 * Register an unpacked layer (state 'ready'), or make an existing one ready again. diff_id,
 * parent_chain_id, size are the first registration's (a chain ID determines them). A compressed
 * digest (may be NULL; compressed_size -1 when unknown) is remembered as one of the layer's blobs
 * for img_db_referenced_blobs; the first becomes the layer's compressed_digest.
 */
int img_db_layer_put(struct img_db *db, const char *chain_id, const char *diff_id, const char *parent_chain_id,
		     int64_t size, const char *compressed_digest, int64_t compressed_size, berr *e);
/* The uncompressed size of a registered layer; missing: ENOENT. */
int img_db_layer_size(struct img_db *db, const char *chain_id, int64_t *size, berr *e);
/* Registered and ready? False on any error. */
bool img_db_layer_exists(struct img_db *db, const char *chain_id);
/* Unregister a layer. One an image or container still uses: EBUSY. A missing one is fine. */
int img_db_layer_delete(struct img_db *db, const char *chain_id, berr *e);
/*
 * Registered layers no image and no container uses (sorted, NULL-terminated; may be empty): what
 * a crash left between an image delete and the removal of its layer directories. A layer that was
 * registered for an image not stored yet is also listed: call this when no pull is under way
 * (at daemon start).
 */
int img_db_layers_unused(struct img_db *db, char ***chain_ids, size_t *n, berr *e);

/*
 * Record (in_use) or forget (!in_use; image_id is then ignored and may be NULL) that a container
 * uses an image, and so its layers. A container uses one image: recording again replaces.
 * Recording for a missing image: ENOENT. After forgetting, img_db_layers_unused lists the layers
 * of a force-deleted image that nothing uses any more.
 */
int img_db_container_use(struct img_db *db, const char *container_id, const char *image_id, bool in_use, berr *e);

/*
 * Blob digests the database still refers to: image configs, manifests, compressed layers. Sorted,
 * unique, NULL-terminated. A pull writes blobs before it records them: the content store's prune
 * must not run while one is under way.
 */
int img_db_referenced_blobs(struct img_db *db, char ***digests, size_t *n, berr *e);

/* PRAGMA integrity_check and foreign_key_check; a problem: EIO with SQLite's first complaint. */
int img_db_check(struct img_db *db, berr *e);
