/*
 * The content store: blobs (manifests, configs, compressed layers) under <root>/blobs/sha256/<hex>,
 * named by the sha256 of their content and verified on the way in. A blob is written to a temp file
 * in <root>/blobs/ingest, checked, fsynced and renamed into place: it is either whole or absent.
 * Only "sha256:<64 lowercase hex>" digests are accepted; anything else is refused before it can
 * become part of a path.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/digest.h"
#include "lib/err.h"

struct img_store;

/*
 * Open the store under root (creating root, blobs/sha256 and blobs/ingest, mode 0700) and remove
 * the ingest files of writers that are gone (a crash); files of live writers, in this process or
 * another, are left alone.
 */
int img_store_open(const char *root, struct img_store **out, berr *e);
void img_store_close(struct img_store *s);

/*
 * Streaming writer. Bytes are hashed as they are written to a temp file in blobs/ingest. Commit
 * checks the size and digest against what was expected (when given), fsyncs the file, renames it
 * to blobs/sha256/<hex> (a blob that is already there with the same content is fine) and fsyncs
 * the directory. On a mismatch the temp file is deleted and the error gives both digests.
 */
struct img_blob_writer;
/* expected_digest NULL: unknown; expected_size -1: unknown. */
int img_blob_writer_new(struct img_store *s, const char *expected_digest, int64_t expected_size,
			struct img_blob_writer **out, berr *e);
/* Fails as soon as more than expected_size bytes arrive; after a failure only abort or commit (which fails). */
int img_blob_write(struct img_blob_writer *w, const void *data, size_t len, berr *e);
/* digest (may be NULL) gets the blob's digest. Frees w whatever happens. */
int img_blob_writer_commit(struct img_blob_writer *w, char digest[B_DIGEST_LEN + 1], berr *e);
/* Delete the temp file and free w (NULL is fine). */
void img_blob_writer_abort(struct img_blob_writer *w);

/* Store a whole buffer; expected_digest may be NULL; digest (may be NULL) gets the blob's digest. */
int img_store_put(struct img_store *s, const void *data, size_t len, const char *expected_digest,
		  char digest[B_DIGEST_LEN + 1], berr *e);
/* Is the blob in the store? False for an invalid digest. */
bool img_store_has(struct img_store *s, const char *digest);
/* Open a blob for reading (O_RDONLY|O_CLOEXEC); size may be NULL. A missing blob fails with errnum ENOENT. */
int img_store_open_blob(struct img_store *s, const char *digest, int *fd, int64_t *size, berr *e);
/*
 * Read a small blob (manifest, config) whole: *data is NUL-terminated, *len excludes the NUL. A blob
 * larger than max fails with errnum EFBIG; with verify its content is hashed again and a blob that
 * does not match its name fails with errnum EIO.
 */
int img_store_read(struct img_store *s, const char *digest, size_t max, bool verify, char **data, size_t *len, berr *e);
/* "<root>/blobs/sha256/<hex>" (malloc'd), or NULL for an invalid digest or no memory. */
char *img_store_blob_path(struct img_store *s, const char *digest);
/* Remove a blob; a missing one is fine. */
int img_store_delete(struct img_store *s, const char *digest, berr *e);
/* Every blob digest in the store, sorted: a NULL-terminated array (free with b_strv_freep / _cleanup_strv_). */
int img_store_list(struct img_store *s, char ***digests, size_t *n, berr *e);
/* Delete every blob for which keep(digest, arg) is false; *freed (may be NULL) gets the bytes removed. */
int img_store_prune(struct img_store *s, bool (*keep)(const char *digest, void *arg), void *arg, uint64_t *freed,
		    berr *e);
