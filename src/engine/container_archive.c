/*
 * `docker cp` (GET, HEAD and PUT /containers/{id}/archive): paths resolved inside the container's
 * root, never through a symlink or ".." out of it. A running container is seen through its init's
 * /proc/<pid>/root, so its volumes and other mounts are where the container sees them; a stopped
 * one through its root filesystem (its mounts are not there: see docs/daemon.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "image/image.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"

static void lock(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
}

static void unlock(struct eng *eng)
{
	pthread_mutex_unlock(&eng->lock);
}

/* The container's root as a directory fd, and whether its root filesystem is read-only. */
static int container_root(struct eng *eng, const char *name, int *rootfd, bool *readonly, berr *e)
{
	_cleanup_free_ char *rootfs = NULL;
	pid_t pid = 0;
	char id[65];
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		memcpy(id, c->id, sizeof id);
		if (ctr_running(c))
			pid = (pid_t)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "Pid"));
		const char *p = json_string_value(json_object_get(c->doc, "Rootfs"));
		json_t *hc = json_object_get(c->doc, "HostConfig");
		*readonly = json_is_true(json_object_get(hc, "ReadonlyRootfs"));
		if (!p || !(rootfs = strdup(p)))
			r = berr_set(e, ENOMEM, "container %s", c->id);
		/* A stopped container's rootfs is mounted again if a reboot took it. */
		_cleanup_free_ char *mounted = NULL;
		const char *image = json_string_value(json_object_get(c->doc, "Image"));
		if (r == 0 && pid <= 0 && (r = img_env_lock(eng->img, false, e)) == 0) {
			r = ctr_rootfs_mount(eng, c->id, image, false, &mounted, e);
			img_env_unlock(eng->img);
		}
		ctr_put(eng, c);
	}
	unlock(eng);
	if (r < 0)
		return -1;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/%d/root", (int)pid);
	const char *where = pid > 0 ? proc : rootfs;
	*rootfd = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return berr_sys(e, "container %s: opening its root %s", id, where);
	return 0;
}

/* Resolve path beneath rootfd as the container would, never leaving it. */
static int open_in_root(int rootfd, const char *path, int flags, bool follow)
{
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : "/", &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN || tries == 8)
			return fd;
	}
}

static int not_found(berr *e, const char *path, const char *name)
{
	return berr_plain(e, ENOENT, "Could not find the file %s in container %s", path, name);
}

/* Split path into its directory and last component ("/etc/passwd" -> "/etc", "passwd"; "/" -> "/", ""). */
static int split_path(const char *path, char **dir, char **base, berr *e)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return berr_set(e, ENOMEM, "path %s", path);
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	char *slash = strrchr(p, '/');
	if (!slash) {
		*dir = strdup("/");
		*base = strdup(p);
	} else {
		*base = strdup(slash + 1);
		*slash = '\0';
		*dir = strdup(*p ? p : "/");
	}
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		return berr_set(e, ENOMEM, "path %s", path);
	}
	return 0;
}

/* Go's os.FileMode of st: permission bits with Go's type and special bits. */
static uint32_t go_mode(const struct stat *st)
{
	uint32_t m = st->st_mode & 0777;
	if (S_ISDIR(st->st_mode))
		m |= 1u << 31;
	else if (S_ISLNK(st->st_mode))
		m |= 1u << 27;
	else if (S_ISBLK(st->st_mode))
		m |= 1u << 26;
	else if (S_ISFIFO(st->st_mode))
		m |= 1u << 25;
	else if (S_ISSOCK(st->st_mode))
		m |= 1u << 24;
	else if (S_ISCHR(st->st_mode))
		m |= (1u << 26) | (1u << 21);
	if (st->st_mode & S_ISUID)
		m |= 1u << 23;
	if (st->st_mode & S_ISGID)
		m |= 1u << 22;
	if (st->st_mode & S_ISVTX)
		m |= 1u << 20;
	return m;
}

int eng_container_path_stat(struct eng *eng, const char *name, const char *path, json_t **out, berr *e)
{
	if (!path || !*path)
		return berr_invalid(e, "path is required");
	_cleanup_close_ int rootfd = -1;
	bool ro = false;
	if (container_root(eng, name, &rootfd, &ro, e) < 0)
		return -1;
	_cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH, false);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? not_found(e, path, name) : berr_sys(e, "%s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "%s", path);
	char target[4096] = "";
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
		target[n > 0 ? n : 0] = '\0';
	}
	_cleanup_free_ char *dir = NULL, *base = NULL;
	if (split_path(path, &dir, &base, e) < 0)
		return -1;
	char mtime[B_TIME_LEN];
	b_time_format(&st.st_mtim, mtime);
	*out = json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", *base ? base : "/", "size", (json_int_t)st.st_size,
			 "mode", (json_int_t)go_mode(&st), "mtime", mtime, "linkTarget", target);
	if (!*out)
		return berr_set(e, ENOMEM, "path %s", path);
	return 0;
}

int eng_container_archive_get(struct eng *eng, const char *name, const char *path, int out_fd, berr *e)
{
	_cleanup_close_ int rootfd = -1;
	bool ro = false;
	if (container_root(eng, name, &rootfd, &ro, e) < 0)
		return -1;
	_cleanup_free_ char *dir = NULL, *base = NULL;
	if (split_path(path, &dir, &base, e) < 0)
		return -1;
	_cleanup_close_ int dirfd = open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY, true);
	if (dirfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? not_found(e, path, name) : berr_sys(e, "%s", path);
	struct stat st;
	if (*base && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? not_found(e, path, name) : berr_sys(e, "%s", path);
	return img_entry_tar(dirfd, base, base, out_fd, e);
}

int eng_container_archive_put(struct eng *eng, const char *name, const char *path, int in_fd,
			      const struct img_extract_opts *o, berr *e)
{
	if (!path || !*path)
		return berr_invalid(e, "path is required");
	_cleanup_close_ int rootfd = -1;
	bool ro = false;
	if (container_root(eng, name, &rootfd, &ro, e) < 0)
		return -1;
	if (ro)
		return berr_plain(e, EROFS, "container rootfs is marked read-only");
	_cleanup_close_ int dirfd = open_in_root(rootfd, path, O_RDONLY | O_DIRECTORY, true);
	if (dirfd < 0) {
		if (errno == ENOENT)
			return not_found(e, path, name);
		if (errno == ENOTDIR)
			return berr_invalid(e, "extraction point is not a directory");
		return berr_sys(e, "%s", path);
	}
	if (img_tar_extract(dirfd, in_fd, o, e) < 0)
		return berr_wrap(e, "copying to %s in container %s", path, name);
	return 0;
}
