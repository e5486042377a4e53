/*
 * Tars of directory trees: the canonical tar of an unpacked layer (overlay form, for layers whose
 * original blob the store no longer holds, and for commit) and the plain tar of a container's
 * filesystem (export).
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/image.h"
#include "image/tar_write.h"
#include "lib/cleanup.h"

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct layer_walk {
	struct archive *a;
	struct img_tar_sink *s;
	bool layer_form;
	struct link_seen *links;
	size_t nlinks, caplinks;
};

static int cmp_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in a directory, sorted bytewise (NULL-terminated). */
static int dir_names(int dirfd, const char *shown, char ***out, berr *e)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "%s", shown);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_sys(e, "%s", shown);
	}
	_cleanup_img_strv_ struct img_strv names = {0};
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (img_strv_add(&names, de->d_name, e) < 0)
			return -1;
	}
	if (errno)
		return berr_sys(e, "reading %s", shown);
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, cmp_name);
	if (!(*out = img_strv_steal(&names)))
		return oom(e);
	return 0;
}

static struct archive_entry *entry_for(const char *name, const struct stat *st)
{
	struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return NULL;
	archive_entry_copy_pathname(ent, name);
	archive_entry_set_uid(ent, st->st_uid);
	archive_entry_set_gid(ent, st->st_gid);
	archive_entry_set_perm(ent, st->st_mode & 07777);
	archive_entry_set_mtime(ent, st->st_mtim.tv_sec, 0);
	return ent;
}

/*
 * The metadata of whiteout and opaque marker entries: none (mode 0, owner 0, time 0). Unpacking
 * does not keep any (a whiteout is made 0/0, mode 0, at the time of the unpack), so a tar made
 * again from an unpacked layer must not depend on it.
 */
static const struct stat marker = {.st_mode = 0};

/* security.capability, the one xattr a layer carries (as Docker's tars do). */
static int add_caps(struct archive_entry *ent, int fd, const char *shown, berr *e)
{
	char value[256];
	ssize_t n = fgetxattr(fd, "security.capability", value, sizeof value);
	if (n < 0) {
		if (errno == ENODATA || errno == EOPNOTSUPP)
			return 0;
		return berr_sys(e, "%s: reading security.capability", shown);
	}
	archive_entry_xattr_add_entry(ent, "security.capability", value, (size_t)n);
	return 0;
}

static int walk_dir(struct layer_walk *w, int dirfd, const char *prefix, berr *e);

/* The entry name in dirfd, written as prefix + as (as: name itself when NULL), and what is below it. */
static int walk_entry(struct layer_walk *w, int dirfd, const char *prefix, const char *name, const char *as, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s%s", prefix, as ? as : name) < 0)
		return oom(e);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "%s", path);
	_cleanup_tar_entry_ struct archive_entry *ent = NULL;
	if (w->layer_form && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		/* An overlay whiteout: the OCI ".wh.<name>" file (no metadata of its own: see marker). */
		_cleanup_free_ char *wh = NULL;
		if (asprintf(&wh, "%s.wh.%s", prefix, name) < 0 || !(ent = entry_for(wh, &marker)))
			return oom(e);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_size(ent, 0);
		return img_tar_header(w->a, w->s, ent, e);
	}
	if (S_ISSOCK(st.st_mode))
		return 0; /* not something a tar holds; Docker leaves sockets out too */
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return berr_sys(e, "%s", path);
		_cleanup_free_ char *dname = NULL;
		if (asprintf(&dname, "%s/", path) < 0 || !(ent = entry_for(dname, &st)))
			return oom(e);
		archive_entry_set_filetype(ent, AE_IFDIR);
		if (add_caps(ent, fd, path, e) < 0 || img_tar_header(w->a, w->s, ent, e) < 0)
			return -1;
		char opq[2];
		ssize_t n = w->layer_form ? fgetxattr(fd, "trusted.overlay.opaque", opq, sizeof opq) : 0;
		if (n == 1 && opq[0] == 'y') {
			_cleanup_tar_entry_ struct archive_entry *o = NULL;
			_cleanup_free_ char *oname = NULL;
			if (asprintf(&oname, "%s.wh..wh..opq", dname) < 0 || !(o = entry_for(oname, &marker)))
				return oom(e);
			archive_entry_set_filetype(o, AE_IFREG);
			archive_entry_set_size(o, 0);
			if (img_tar_header(w->a, w->s, o, e) < 0)
				return -1;
		} else if (n < 0 && errno != ENODATA && errno != EOPNOTSUPP) {
			return berr_sys(e, "%s: reading trusted.overlay.opaque", path);
		}
		return walk_dir(w, fd, dname, e);
	}
	if (!(ent = entry_for(path, &st)))
		return oom(e);
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		for (size_t i = 0; i < w->nlinks; i++)
			if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino) {
				archive_entry_set_filetype(ent, AE_IFREG);
				archive_entry_copy_hardlink(ent, w->links[i].path);
				archive_entry_set_size(ent, 0);
				return img_tar_header(w->a, w->s, ent, e);
			}
		if (w->nlinks == w->caplinks) {
			size_t cap = w->caplinks ? w->caplinks * 2 : 16;
			struct link_seen *l = realloc(w->links, cap * sizeof *l);
			if (!l)
				return oom(e);
			w->links = l;
			w->caplinks = cap;
		}
		w->links[w->nlinks] = (struct link_seen){.dev = st.st_dev, .ino = st.st_ino, .path = strdup(path)};
		if (!w->links[w->nlinks].path)
			return oom(e);
		w->nlinks++;
	}
	if (S_ISLNK(st.st_mode)) {
		_cleanup_free_ char *target = malloc((size_t)st.st_size + 2);
		if (!target)
			return oom(e);
		ssize_t n = readlinkat(dirfd, name, target, (size_t)st.st_size + 1);
		if (n < 0)
			return berr_sys(e, "%s: reading the link", path);
		if (n > st.st_size)
			return berr_plain(e, EAGAIN, "%s: the link changed while it was read", path);
		target[n] = '\0';
		archive_entry_set_filetype(ent, AE_IFLNK);
		archive_entry_copy_symlink(ent, target);
		return img_tar_header(w->a, w->s, ent, e);
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
		archive_entry_set_filetype(ent, S_ISCHR(st.st_mode)   ? AE_IFCHR
						: S_ISBLK(st.st_mode) ? AE_IFBLK
								      : AE_IFIFO);
		if (!S_ISFIFO(st.st_mode))
			archive_entry_set_rdev(ent, st.st_rdev);
		return img_tar_header(w->a, w->s, ent, e);
	}
	if (!S_ISREG(st.st_mode))
		return berr_plain(e, EINVAL, "%s: a file of unknown type", path);
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "%s", path);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_size(ent, st.st_size);
	if (add_caps(ent, fd, path, e) < 0 || img_tar_header(w->a, w->s, ent, e) < 0)
		return -1;
	return img_tar_copy(w->a, w->s, fd, st.st_size, path, e);
}

static int walk_dir(struct layer_walk *w, int dirfd, const char *prefix, berr *e)
{
	_cleanup_strv_ char **names = NULL;
	if (dir_names(dirfd, *prefix ? prefix : ".", &names, e) < 0)
		return -1;
	for (char **n = names; *n; n++)
		if (walk_entry(w, dirfd, prefix, *n, NULL, e) < 0)
			return -1;
	return 0;
}

/* A layer whose root is opaque (it hides everything below it) starts with "./.wh..wh..opq". */
static int root_opaque(struct layer_walk *w, int root, const char *shown, berr *e)
{
	if (!w->layer_form)
		return 0;
	char opq[2];
	ssize_t n = fgetxattr(root, "trusted.overlay.opaque", opq, sizeof opq);
	if (n < 0 && errno != ENODATA && errno != EOPNOTSUPP)
		return berr_sys(e, "%s: reading trusted.overlay.opaque", shown);
	if (n != 1 || opq[0] != 'y')
		return 0;
	_cleanup_tar_entry_ struct archive_entry *ent = entry_for(".wh..wh..opq", &marker);
	if (!ent)
		return oom(e);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_size(ent, 0);
	return img_tar_header(w->a, w->s, ent, e);
}

/* What to put in a tar: the whole of dirfd (name NULL), or its entry name written as as. */
struct tar_job {
	int dirfd;
	const char *name, *as;
	bool layer_form;
};

static int tar_in_locale(const struct tar_job *j, int out_fd, char diff_id[B_DIGEST_LEN + 1], uint64_t *size,
			 const char *shown, berr *e)
{
	struct img_tar_sink s = {.fd = out_fd, .hash = b_sha256_new()};
	if (!s.hash)
		return oom(e);
	struct layer_walk w = {.s = &s, .layer_form = j->layer_form};
	int ret = -1;
	_cleanup_tar_writer_ struct archive *a = img_tar_open(&s, e);
	if (!a)
		goto out;
	w.a = a;
	if (j->name) {
		if (walk_entry(&w, j->dirfd, "", j->name, j->as, e) < 0)
			goto out;
	} else if (root_opaque(&w, j->dirfd, shown, e) < 0 || walk_dir(&w, j->dirfd, "", e) < 0) {
		goto out;
	}
	if (img_tar_close(a, &s, e) < 0)
		goto out;
	char digest[B_DIGEST_LEN + 1];
	b_sha256_final(steal_ptr(s.hash), digest);
	if (diff_id)
		memcpy(diff_id, digest, sizeof digest);
	if (size)
		*size = s.size;
	ret = 0;
out:
	b_sha256_free(s.hash);
	for (size_t i = 0; i < w.nlinks; i++)
		free(w.links[i].path);
	free(w.links);
	return ret;
}

static int run_job(const struct tar_job *j, int out_fd, char diff_id[B_DIGEST_LEN + 1], uint64_t *size,
		   const char *shown, berr *e)
{
	/* Names as UTF-8 whatever the process's locale (as unpacking reads them). */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
	int r = tar_in_locale(j, out_fd, diff_id, size, shown, e);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	if (r < 0)
		return berr_wrap(e, "making the tar of %s", shown);
	return 0;
}

static int tree_tar(const char *dir, bool layer_form, int out_fd, char diff_id[B_DIGEST_LEN + 1], uint64_t *size,
		    berr *e)
{
	_cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berr_sys(e, "opening %s", dir);
	struct tar_job j = {.dirfd = root, .layer_form = layer_form};
	return run_job(&j, out_fd, diff_id, size, dir, e);
}

int img_layer_tar(const char *layer_dir, int out_fd, char diff_id[B_DIGEST_LEN + 1], uint64_t *size, berr *e)
{
	return tree_tar(layer_dir, true, out_fd, diff_id, size, e);
}

int img_tree_tar(const char *dir, int out_fd, berr *e)
{
	return tree_tar(dir, false, out_fd, NULL, NULL, e);
}

int img_entry_tar(int dirfd, const char *name, const char *as, int out_fd, berr *e)
{
	struct tar_job j = {.dirfd = dirfd, .name = name, .as = as};
	if (!name || !*name || strcmp(name, ".") == 0) {
		j.name = NULL;
		return run_job(&j, out_fd, NULL, NULL, "/", e);
	}
	return run_job(&j, out_fd, NULL, NULL, as, e);
}
