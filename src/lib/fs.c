#include "fs.h"

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
#include <unistd.h>

#include "cleanup.h"
#include "fd.h"

int b_write_file(const char *path, const void *buf, size_t len, mode_t mode, berr *e)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return berr_sys(e, "opening %s", path);
	if (b_write_all(fd, buf, len) < 0)
		return berr_sys(e, "writing %s", path);
	return 0;
}

int b_write_knobat(int dirfd, const char *name, const char *value, berr *e)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "opening %s", name);
	if (b_write_all(fd, value, strlen(value)) < 0)
		return berr_sys(e, "writing \"%s\" to %s", value, name);
	return 0;
}

int b_write_knob(const char *path, const char *value, berr *e)
{
	return b_write_knobat(AT_FDCWD, path, value, e);
}

static int write_and_rename(const char *path, const void *buf, size_t len, mode_t mode, bool sync, berr *e)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return berr_set(e, ENOMEM, "writing %s", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return berr_sys(e, "creating %s", tmp);
	if (b_write_all(fd, buf, len) < 0 || (sync && fsync(fd) < 0)) {
		berr_sys(e, "writing %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		berr_sys(e, "renaming %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int b_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode, berr *e)
{
	return write_and_rename(path, buf, len, mode, true, e);
}

int b_write_file_replace(const char *path, const void *buf, size_t len, mode_t mode, berr *e)
{
	return write_and_rename(path, buf, len, mode, false, e);
}

int b_read_fileat(int dirfd, const char *name, char **out, size_t *len, berr *e)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "opening %s", name);
	size_t cap = 4096, used = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return berr_set(e, ENOMEM, "reading %s", name);
	for (;;) {
		if (used + 1 >= cap) {
			char *n = realloc(buf, cap * 2);
			if (!n)
				return berr_set(e, ENOMEM, "reading %s", name);
			buf = n;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + used, cap - used - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return berr_sys(e, "reading %s", name);
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = steal_ptr(buf);
	return 0;
}

int b_read_file(const char *path, char **out, size_t *len, berr *e)
{
	return b_read_fileat(AT_FDCWD, path, out, len, e);
}

int b_mkdir_p(const char *path, mode_t mode, berr *e)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return berr_set(e, ENOMEM, "creating %s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return berr_sys(e, "creating directory %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return berr_sys(e, "creating directory %s", p);
	return 0;
}

bool b_path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int remove_at(int parent, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if (st.st_dev != dev) {
		errno = EXDEV;
		return -1;
	}
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name, dev) < 0)
			return -1;
	}
	return unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int b_remove_tree(const char *path, berr *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "removing %s", path);
	if (remove_at(AT_FDCWD, path, st.st_dev) < 0)
		return berr_sys(e, "removing %s", path);
	return 0;
}

int b_open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC),
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

int b_mkpath_in_root(int rootfd, const char *path, mode_t mode, bool as_file, berr *e)
{
	int fd = b_open_in_root(rootfd, path, O_PATH, 0);
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0)
			return berr_sys(e, "resolving %s in the root", path);
		return fd;
	}
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return berr_set(e, ENOMEM, "resolving %s", path);
	/* Walk the components, creating what is missing; each prefix is resolved inside the root. */
	char *s = p;
	while (*s == '/')
		s++;
	for (;;) {
		char *slash = strchr(s, '/');
		bool last = false;
		if (slash)
			*slash = '\0';
		const char *rest = slash ? slash + 1 : "";
		while (*rest == '/')
			rest++;
		last = *rest == '\0';
		if (*s) {
			_cleanup_close_ int cur = b_open_in_root(rootfd, p, O_PATH, 0);
			if (cur < 0) {
				if (errno != ENOENT)
					return berr_sys(e, "resolving %s in the root", p);
				/* Create the component in its (already resolved) parent. */
				char *name = strrchr(p, '/');
				_cleanup_close_ int parent = -1;
				if (name) {
					*name = '\0';
					parent = b_open_in_root(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY, 0);
					*name = '/';
					name++;
				} else {
					parent = b_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
					name = p;
				}
				if (parent < 0)
					return berr_sys(e, "resolving the parent of %s in the root", p);
				int r;
				if (last && as_file) {
					r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
						   0644);
					if (r >= 0)
						close(r);
				} else {
					r = mkdirat(parent, name, mode);
				}
				if (r < 0 && errno != EEXIST)
					return berr_sys(e, "creating %s in the root", p);
			}
		}
		if (last)
			break;
		*slash = '/';
		s = slash + 1;
	}
	fd = b_open_in_root(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return berr_sys(e, "resolving %s in the root", path);
	return fd;
}

void b_fd_path(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}
