/*
 * Layer unpacking: one image layer (a tar stream, gzip/zstd/xz/bzip2 compressed or plain) into a
 * directory in overlayfs form, ready to be a lower dir. OCI whiteouts become overlay whiteouts
 * (".wh.<name>" -> a 0/0 character device <name>; ".wh..wh..opq" -> trusted.overlay.opaque="y" on
 * its directory). Every path is resolved inside the layer's root; a layer that tries to leave it,
 * to write through a symlink it made, or to hard-link to something it does not hold is refused
 * whole. The result is either complete and verified, or absent.
 */
#pragma once
#include <stdint.h>

#include "lib/digest.h"
#include "lib/err.h"

struct img_unpack_result {
	char compressed_digest[B_DIGEST_LEN + 1]; /* sha256 of the bytes as read */
	char diff_id[B_DIGEST_LEN + 1];           /* sha256 of the uncompressed tar */
	uint64_t compressed_size, uncompressed_size;
	uint64_t entries; /* tar entries read, whiteouts included */
};

/*
 * Read a layer from fd (gzip, zstd or plain tar, detected from the data; xz and bzip2 too) to its
 * end, and create dest (which must not exist) holding its files in overlayfs form: extraction goes
 * into a sibling temp dir that is renamed to dest only once everything is written, synced (one
 * syncfs) and both digests match what was expected (NULL: not checked). dest's parent is made if
 * missing (layers/<id> for layers/<id>/diff), not the parent's parent. On any failure nothing of it
 * stays on disk (a parent it made goes too); the error names the offending entry, and a digest
 * mismatch fails with errnum EIO, an existing dest with EEXIST. res may be NULL.
 */
int img_layer_unpack(int fd, const char *dest, const char *expected_compressed_digest, const char *expected_diff_id,
		     struct img_unpack_result *res, berr *e);

/*
 * Remove the temp dirs that a crash left in layers_dir or one level below it (layers/<id>/), i.e.
 * the names img_layer_unpack uses. Temp dirs of unpacks still running (in this process or
 * another) are locked and left alone.
 */
int img_layer_unpack_cleanup(const char *layers_dir, berr *e);
