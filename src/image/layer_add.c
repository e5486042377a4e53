/*
 * Layers whose diff ID is learnt by unpacking them (import, commit): unpacked into a locked temp
 * dir next to the layers, then renamed to their chain ID once it is known.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/unpack.h"
#include "image/unpack_internal.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

/* layers/<prefix>add-<random>, made and locked (so that a cleanup leaves it alone); its fd. */
static int make_locked_temp(struct img_env *env, char **path, berr *e)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
			return berr_sys(e, "creating a temp dir in %s", env->layers_dir);
		free(*path);
		if (asprintf(path, "%s/" IMG_UNPACK_TMP_PREFIX "add-%016llx", env->layers_dir,
			     (unsigned long long)rnd) < 0) {
			*path = NULL;
			return berr_set(e, ENOMEM, "creating a temp dir");
		}
		if (mkdir(*path, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return berr_sys(e, "creating %s", *path);
		}
		int fd = open(*path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0) {
			berr_sys(e, "locking %s", *path);
			if (fd >= 0)
				close(fd);
			rmdir(*path);
			return -1;
		}
		return fd;
	}
	return berr_set(e, EEXIST, "creating a temp dir in %s", env->layers_dir);
}

static void chain_of(const char *parent, const char *diff_id, char out[B_DIGEST_LEN + 1])
{
	if (!parent) {
		memcpy(out, diff_id, B_DIGEST_LEN + 1);
		return;
	}
	char buf[2 * B_DIGEST_LEN + 2];
	int n = snprintf(buf, sizeof buf, "%s %s", parent, diff_id);
	b_sha256_of(buf, (size_t)n, out);
}

static int add_locked(struct img_env *env, const char *blob, const char *parent_chain, struct img_new_layer *out,
		      const char *tmp, berr *e)
{
	_cleanup_close_ int fd = -1;
	if (img_store_open_blob(env->store, blob, &fd, &out->blob_size, e) < 0)
		return -1;
	_cleanup_free_ char *tmp_diff = NULL, *top = NULL, *diff = NULL;
	if (asprintf(&tmp_diff, "%s/diff", tmp) < 0)
		return berr_set(e, ENOMEM, "unpacking layer %s", blob);
	struct img_unpack_result res;
	if (img_layer_unpack(fd, tmp_diff, blob, NULL, &res, e) < 0)
		return -1;
	memcpy(out->blob, blob, B_DIGEST_LEN + 1);
	memcpy(out->diff_id, res.diff_id, B_DIGEST_LEN + 1);
	out->size = (int64_t)res.uncompressed_size;
	if (parent_chain)
		memcpy(out->parent, parent_chain, B_DIGEST_LEN + 1);
	chain_of(parent_chain, res.diff_id, out->chain_id);

	if (asprintf(&top, "%s/%s", env->layers_dir, b_digest_hex(out->chain_id)) < 0 ||
	    asprintf(&diff, "%s/diff", top) < 0)
		return berr_set(e, ENOMEM, "unpacking layer %s", blob);
	struct stat st;
	if (img_db_layer_exists(env->db, out->chain_id) && stat(diff, &st) == 0 && S_ISDIR(st.st_mode))
		return 0; /* the same layer is there already: ours goes with the temp dir */
	/* Not registered (or not ready): a leftover of a crash. Under the lock nobody else works on it. */
	if (b_remove_tree(top, e) < 0)
		return -1;
	if (rename(tmp, top) < 0)
		return berr_sys(e, "renaming %s to %s", tmp, top);
	_cleanup_close_ int dirfd = open(env->layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || fsync(dirfd) < 0) {
		berr_sys(e, "syncing %s", env->layers_dir);
		berr ignored = {0};
		b_remove_tree(top, &ignored);
		berr_clear(&ignored);
		return -1;
	}
	out->made = steal_ptr(top);
	return 0;
}

int img_layer_add_from_blob(struct img_env *env, const char *blob, const char *parent_chain, struct img_new_layer *out,
			    berr *e)
{
	*out = (struct img_new_layer){.size = 0};
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int lockfd = make_locked_temp(env, &tmp, e);
	if (lockfd < 0)
		return berr_wrap(e, "adding layer %s", blob);
	int r = add_locked(env, blob, parent_chain, out, tmp, e);
	/* Whatever is left at the temp name (all of it on failure, or a duplicate) goes. */
	berr ignored = {0};
	if (b_remove_tree(tmp, &ignored) < 0)
		berr_clear(&ignored);
	if (r < 0)
		return berr_wrap(e, "adding layer %s", blob);
	return 0;
}
