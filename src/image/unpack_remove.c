/*
 * Removing a tree that a layer built: the temp dir of a failed unpack, or what a later entry
 * replaces. A layer can nest directories as deep as PATH_MAX allows; holding a descriptor per level
 * would run out of them (and leave the tree behind), so a directory deeper than RM_MAX_DEPTH is
 * moved up beside the tree's root and removed from there afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "lib/cleanup.h"

#define RM_MAX_DEPTH 32

struct rm {
	int topfd; /* where directories that are too deep are moved */
	dev_t dev; /* never cross into another filesystem */
	char (*moved)[64];
	size_t nmoved, cap;
};

static atomic_uint rm_counter;

/* Move the directory name (in fd) beside the root, under a name of our own, for later. */
static int move_up(struct rm *r, int fd, const char *name)
{
	if (r->nmoved == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		char(*m)[64] = realloc(r->moved, cap * sizeof *m);
		if (!m) {
			errno = ENOMEM;
			return -1;
		}
		r->moved = m;
		r->cap = cap;
	}
	for (;;) {
		char *tmp = r->moved[r->nmoved];
		snprintf(tmp, 64, IMG_UNPACK_TMP_PREFIX "rm-%d-%u", (int)getpid(), atomic_fetch_add(&rm_counter, 1));
		if (renameat2(fd, name, r->topfd, tmp, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	r->nmoved++;
	return 0;
}

/* Remove everything in the directory fd. */
static int empty_dir(struct rm *r, int fd, int depth)
{
	int dfd = dup(fd);
	if (dfd < 0)
		return -1;
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR)
			return -1;
		if (depth >= RM_MAX_DEPTH) {
			if (move_up(r, fd, de->d_name) < 0)
				return -1;
			continue;
		}
		_cleanup_close_ int child = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (child < 0 || fstat(child, &st) < 0)
			return -1;
		if (st.st_dev != r->dev) {
			errno = EXDEV;
			return -1;
		}
		if (empty_dir(r, child, depth + 1) < 0)
			return -1;
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return -1;
	}
	return errno ? -1 : 0;
}

/* Remove the directory name in dirfd, whole. */
static int remove_dir(struct rm *r, int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (empty_dir(r, fd, 0) < 0)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int img_unpack_remove_tree_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	struct rm r = {.topfd = dirfd, .dev = st.st_dev};
	int ret = remove_dir(&r, dirfd, name);
	/* What was moved up, including what moving up found deeper still. */
	for (size_t i = 0; ret == 0 && i < r.nmoved; i++)
		ret = remove_dir(&r, dirfd, r.moved[i]);
	int err = errno;
	free(r.moved);
	errno = err;
	return ret;
}
