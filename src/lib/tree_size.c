/* The size of a directory tree as `du --apparent-size` counts it, links never followed. */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

struct inode_seen {
	dev_t dev;
	ino_t ino;
};

struct sizing {
	struct inode_seen *seen;
	size_t n, cap;
	int64_t bytes;
};

/* true the first time a multiply-linked inode shows up. */
static bool first_sight(struct sizing *sz, const struct stat *st)
{
	for (size_t i = 0; i < sz->n; i++)
		if (sz->seen[i].dev == st->st_dev && sz->seen[i].ino == st->st_ino)
			return false;
	if (sz->n == sz->cap) {
		size_t cap = sz->cap ? 2 * sz->cap : 16;
		struct inode_seen *grown = realloc(sz->seen, cap * sizeof *grown);
		if (!grown)
			return true; /* counted twice rather than not at all */
		sz->seen = grown;
		sz->cap = cap;
	}
	sz->seen[sz->n++] = (struct inode_seen){st->st_dev, st->st_ino};
	return true;
}

static int size_dir(struct sizing *sz, int fd, berr *e)
{
	int dfd = dup(fd);
	if (dfd < 0)
		return berr_sys(e, "measuring a directory");
	_cleanup_closedir_ DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return berr_sys(e, "measuring a directory");
	}
	rewinddir(dir);
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed meanwhile */
			return berr_sys(e, "stat %s", de->d_name);
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub =
			    openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				return berr_sys(e, "opening %s", de->d_name);
			}
			if (size_dir(sz, sub, e) < 0)
				return berr_wrap(e, "%s", de->d_name);
			continue;
		}
		if (st.st_nlink > 1 && !first_sight(sz, &st))
			continue;
		sz->bytes += st.st_size;
	}
	if (errno)
		return berr_sys(e, "reading a directory");
	return 0;
}

int b_tree_size(int dir_fd, int64_t *bytes, berr *e)
{
	struct sizing sz = {0};
	int r = size_dir(&sz, dir_fd, e);
	free(sz.seen);
	*bytes = sz.bytes;
	return r;
}
