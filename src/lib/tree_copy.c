/* Copying a directory tree with everything a file carries: owners, modes, xattrs, times, hard links. */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

/* An inode with several links, copied once: its copy's path below the destination's root. */
struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct copy {
	int dst_root;
	struct link_seen *links;
	size_t n_links, cap_links;
};

static const char *link_path(const struct copy *cp, const struct stat *st)
{
	for (size_t i = 0; i < cp->n_links; i++)
		if (cp->links[i].dev == st->st_dev && cp->links[i].ino == st->st_ino)
			return cp->links[i].path;
	return NULL;
}

static int link_remember(struct copy *cp, const struct stat *st, const char *path, berr *e)
{
	if (cp->n_links == cp->cap_links) {
		size_t cap = cp->cap_links ? 2 * cp->cap_links : 16;
		struct link_seen *grown = realloc(cp->links, cap * sizeof *grown);
		if (!grown)
			return berr_set(e, ENOMEM, "copying %s", path);
		cp->links = grown;
		cp->cap_links = cap;
	}
	char *dup = strdup(path);
	if (!dup)
		return berr_set(e, ENOMEM, "copying %s", path);
	cp->links[cp->n_links++] = (struct link_seen){st->st_dev, st->st_ino, dup};
	return 0;
}

/*
 * Link name in dst to the copy at first (below the destination's root). The way there is resolved
 * without symbolic links: someone else using the destination meanwhile cannot point it elsewhere.
 */
static int link_again(struct copy *cp, const char *first, int dst, const char *name, const char *path, berr *e)
{
	_cleanup_free_ char *dir = strdup(first);
	if (!dir)
		return berr_set(e, ENOMEM, "copying %s", path);
	char *slash = strrchr(dir, '/');
	const char *base = first;
	if (slash) {
		*slash = '\0';
		base = first + (slash - dir) + 1;
	}
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int parent = (int)syscall(SYS_openat2, cp->dst_root, slash ? dir : ".", &how, sizeof how);
	if (parent < 0)
		return berr_sys(e, "linking %s to %s", path, first);
	if (linkat(parent, base, dst, name, 0) < 0)
		return berr_sys(e, "linking %s to %s", path, first);
	return 0;
}

/* Extended attributes from one open file to another; a file system without them is no error. */
static int copy_xattrs(int src, int dst, const char *path, berr *e)
{
	ssize_t len = flistxattr(src, NULL, 0);
	if (len < 0)
		return errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : berr_sys(e, "listing the xattrs of %s", path);
	if (len == 0)
		return 0;
	_cleanup_free_ char *names = malloc((size_t)len);
	if (!names)
		return berr_set(e, ENOMEM, "xattrs of %s", path);
	len = flistxattr(src, names, (size_t)len);
	if (len < 0)
		return berr_sys(e, "listing the xattrs of %s", path);
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		ssize_t vlen = fgetxattr(src, n, NULL, 0);
		if (vlen < 0)
			return berr_sys(e, "reading xattr %s of %s", n, path);
		_cleanup_free_ char *value = malloc(vlen ? (size_t)vlen : 1);
		if (!value)
			return berr_set(e, ENOMEM, "xattrs of %s", path);
		vlen = fgetxattr(src, n, value, (size_t)vlen);
		if (vlen < 0)
			return berr_sys(e, "reading xattr %s of %s", n, path);
		if (fsetxattr(dst, n, value, (size_t)vlen, 0) < 0 && errno != ENOTSUP && errno != EOPNOTSUPP)
			return berr_sys(e, "setting xattr %s on %s", n, path);
	}
	return 0;
}

/* Owner, then mode (a chown clears set-id bits), then xattrs (a chown drops file capabilities), then times. */
static int copy_attrs_fd(int src, int dst, const struct stat *st, const char *path, berr *e)
{
	if (fchown(dst, st->st_uid, st->st_gid) < 0)
		return berr_sys(e, "chown %s", path);
	if (fchmod(dst, st->st_mode & 07777) < 0)
		return berr_sys(e, "chmod %s", path);
	if (copy_xattrs(src, dst, path, e) < 0)
		return -1;
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (futimens(dst, times) < 0)
		return berr_sys(e, "setting the times of %s", path);
	return 0;
}

static int copy_data(int src, int dst, const char *path, berr *e)
{
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return berr_sys(e, "copying %s", path);
		break;
	}
	/* copy_file_range cannot serve this pair: plain reads and writes. */
	char buf[65536];
	for (;;) {
		ssize_t n = read(src, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "reading %s", path);
		if (n == 0)
			return 0;
		if (b_write_all(dst, buf, (size_t)n) < 0)
			return berr_sys(e, "writing %s", path);
	}
}

static int copy_dir(struct copy *cp, int src, int dst, const char *rel, berr *e);

static int copy_entry(struct copy *cp, int src, int dst, const char *name, const char *path, berr *e)
{
	struct stat st;
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "stat %s", path);
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		const char *first = link_path(cp, &st);
		if (first)
			return link_again(cp, first, dst, name, path, e);
		if (link_remember(cp, &st, path, e) < 0)
			return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst, name, 0700) < 0)
			return berr_sys(e, "mkdir %s", path);
		_cleanup_close_ int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return berr_sys(e, "opening %s", path);
		if (copy_dir(cp, s, d, path, e) < 0)
			return -1;
		return copy_attrs_fd(s, d, &st, path, e);
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return berr_sys(e, "opening %s", path);
		_cleanup_close_ int d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (d < 0)
			return berr_sys(e, "creating %s", path);
		if (copy_data(s, d, path, e) < 0)
			return -1;
		return copy_attrs_fd(s, d, &st, path, e);
	}
	if (S_ISLNK(st.st_mode)) {
		size_t cap = (size_t)st.st_size + 1;
		_cleanup_free_ char *target = malloc(cap);
		if (!target)
			return berr_set(e, ENOMEM, "copying %s", path);
		ssize_t n = readlinkat(src, name, target, cap);
		if (n < 0)
			return berr_sys(e, "readlink %s", path);
		if ((size_t)n >= cap)
			return berr_plain(e, EAGAIN, "copying %s: the link changed while it was read", path);
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return berr_sys(e, "symlink %s", path);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		if (mknodat(dst, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0)
			return berr_sys(e, "mknod %s", path);
	} else {
		return 0;
	}
	/* Links and special files: by name, never through them. */
	if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "chown %s", path);
	if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
		return berr_sys(e, "chmod %s", path);
	struct timespec times[2] = {st.st_atim, st.st_mtim};
	if (utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "setting the times of %s", path);
	return 0;
}

static int copy_dir(struct copy *cp, int src, int dst, const char *rel, berr *e)
{
	int dfd = dup(src);
	if (dfd < 0)
		return berr_sys(e, "reading %s", *rel ? rel : ".");
	_cleanup_closedir_ DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return berr_sys(e, "reading %s", *rel ? rel : ".");
	}
	rewinddir(dir);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(dir);
		if (!de) {
			if (errno)
				return berr_sys(e, "reading %s", *rel ? rel : ".");
			return 0;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0)
			return berr_set(e, ENOMEM, "copying %s", de->d_name);
		if (copy_entry(cp, src, dst, de->d_name, path, e) < 0)
			return -1;
	}
}

int b_tree_copy(int src_fd, int dst_fd, berr *e)
{
	struct copy cp = {.dst_root = dst_fd};
	int r = copy_dir(&cp, src_fd, dst_fd, "", e);
	for (size_t i = 0; i < cp.n_links; i++)
		free(cp.links[i].path);
	free(cp.links);
	if (r < 0)
		return -1;
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return berr_sys(e, "stat of the source directory");
	if (fchown(dst_fd, st.st_uid, st.st_gid) < 0 || fchmod(dst_fd, st.st_mode & 07777) < 0)
		return berr_sys(e, "giving the copy its source's owner and mode");
	return 0;
}
