#include "storage/overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
/* fsconfig(2) copies at most 255 bytes of a string value: longer paths are passed as /proc/self/fd/N. */
#define FSCONFIG_VALUE_MAX 255
/* Busy unmounts: tries, sleeping 1, 2, 4 ... ms in between (about 130 ms in all). */
#define UNMOUNT_TRIES 8
/* Mounts stacked at a rootfs that stor_rootfs_remove takes off before it gives up. */
#define ROOTFS_MAX_STACKED 16
/* Directory streams kept open while removing a tree; deeper levels are reopened through "..". */
#define REMOVE_OPEN_LEVELS 64

/* ---------- whether overlayfs takes "lowerdir+" ---------- */

enum { PROBE_UNKNOWN, PROBE_YES, PROBE_NO };
static int probe_state = PROBE_UNKNOWN;
static bool legacy_forced;

static int probe_lowerdir_plus(void)
{
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		/* Out of descriptors or memory says nothing about the kernel: ask again next time. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			return PROBE_UNKNOWN;
		return PROBE_NO; /* no new mount API (before 5.2), or no overlayfs */
	}
	/*
	 * An overlayfs still on the legacy mount interface (before 6.5, e.g. Debian 12's 6.1) accepts any
	 * key here and fails only at FSCONFIG_CMD_CREATE, so "lowerdir+" alone proves nothing there; one
	 * that parses its parameters refuses an unknown key at once.
	 */
	if (fsconfig(fs, FSCONFIG_SET_FLAG, "berth-probe-unknown-key", NULL, 0) == 0)
		return PROBE_NO;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", "/", 0) < 0)
		return PROBE_NO; /* 6.5 to 6.7: new interface, no "lowerdir+" yet */
	return PROBE_YES;
}

bool stor_overlay_has_lowerdir_plus(void)
{
	if (__atomic_load_n(&legacy_forced, __ATOMIC_RELAXED))
		return false;
	int s = __atomic_load_n(&probe_state, __ATOMIC_ACQUIRE);
	if (s == PROBE_UNKNOWN) {
		s = probe_lowerdir_plus();
		if (s != PROBE_UNKNOWN)
			__atomic_store_n(&probe_state, s, __ATOMIC_RELEASE);
	}
	return s == PROBE_YES;
}

void stor_overlay_force_legacy(bool on)
{
	__atomic_store_n(&legacy_forced, on, __ATOMIC_RELAXED);
	if (!on)
		__atomic_store_n(&probe_state, PROBE_UNKNOWN, __ATOMIC_RELEASE);
}

/* ---------- small helpers ---------- */

/* mkdir path with exactly mode (not less the umask); missing parents as mkdir -p makes them. */
static int ensure_dir(const char *path, mode_t mode, berr *e)
{
	int r = mkdir(path, mode);
	if (r < 0 && errno == ENOENT) {
		_cleanup_free_ char *parent = strdup(path);
		if (!parent)
			return berr_set(e, ENOMEM, "creating %s", path);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			if (b_mkdir_p(parent, 0755, e) < 0)
				return -1;
		}
		r = mkdir(path, mode);
	}
	if (r == 0) {
		if (chmod(path, mode) < 0)
			return berr_sys(e, "setting the mode of %s", path);
		return 0;
	}
	if (errno != EEXIST)
		return berr_sys(e, "creating %s", path);
	struct stat st;
	if (stat(path, &st) < 0)
		return berr_sys(e, "checking %s", path);
	if (!S_ISDIR(st.st_mode))
		return berr_set(e, ENOTDIR, "%s", path);
	return 0;
}

/* mkdirat with exactly mode; an existing directory (not a symlink) is fine. */
static int ensure_dirat(int dirfd, const char *name, const char *shown, mode_t mode, berr *e)
{
	if (mkdirat(dirfd, name, mode) == 0) {
		if (fchmodat(dirfd, name, mode, 0) < 0)
			return berr_sys(e, "setting the mode of %s", shown);
		return 0;
	}
	if (errno != EEXIST)
		return berr_sys(e, "creating %s", shown);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "checking %s", shown);
	if (!S_ISDIR(st.st_mode))
		return berr_set(e, ENOTDIR, "%s", shown);
	return 0;
}

/* 1 when name (a last symlink not followed) is the root of a mount, 0 when not or missing, -1 (errno). */
static int is_mount_root_at(int dirfd, const char *name)
{
	struct statx stx;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &stx) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
		errno = ENOTSUP; /* before Linux 5.8 */
		return -1;
	}
	return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

/* The mount an open file lives on: its mount id (Linux 5.8+), else its device. */
static int mount_of(int fd, uint64_t *out)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return -1;
	if (stx.stx_mask & STATX_MNT_ID)
		*out = stx.stx_mnt_id;
	else
		*out = (uint64_t)stx.stx_dev_major << 32 | stx.stx_dev_minor;
	return 0;
}

/* Undo mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* The mount points strictly below dir in this mount namespace, ", "-separated ("" for none); NULL on failure. */
static char *mounts_below(const char *dir)
{
	_cleanup_free_ char *canon = realpath(dir, NULL);
	_cleanup_free_ char *info = NULL;
	berr e = {0};
	if (!canon || b_read_file("/proc/self/mountinfo", &info, NULL, &e) < 0) {
		berr_clear(&e);
		return NULL;
	}
	size_t clen = strlen(canon);
	char *out = strdup("");
	char *save = NULL;
	for (char *line = strtok_r(info, "\n", &save); line && out; line = strtok_r(NULL, "\n", &save)) {
		/* "36 35 98:0 /root /mnt/point rw ...": the mount point is the fifth field. */
		char *f = line;
		for (int i = 0; i < 4 && f; i++) {
			f = strchr(f, ' ');
			if (f)
				f++;
		}
		if (!f)
			continue;
		char *end = strchr(f, ' ');
		if (end)
			*end = '\0';
		unescape_mountinfo(f);
		if (strncmp(f, canon, clen) != 0 || f[clen] != '/')
			continue;
		char *n = NULL;
		if (asprintf(&n, "%s%s%s", out, *out ? ", " : "", f) < 0)
			n = NULL;
		free(out);
		out = n;
	}
	return out;
}

/* ---------- mounting ---------- */

/* A directory of the mount, named by its path or, where that does not fit, by an O_PATH descriptor. */
struct dir_ref {
	const char *path;
	const char *what; /* "lower layer 3 of 5", "upper dir", "work dir" */
	char *what_buf;
	int fd;
	char fdpath[32];
};

static void dir_refs_free(struct dir_ref **refs)
{
	if (!*refs)
		return;
	for (struct dir_ref *r = *refs; r->path; r++) {
		if (r->fd >= 0)
			close(r->fd);
		free(r->what_buf);
	}
	free(*refs);
}

static int dir_ref_open(struct dir_ref *r, berr *e)
{
	if (r->fd >= 0)
		return 0;
	r->fd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return berr_sys(e, "opening %s %s", r->what, r->path);
	b_fd_path(r->fd, r->fdpath);
	return 0;
}

static const char *dir_ref_name(const struct dir_ref *r)
{
	return r->fd >= 0 ? r->fdpath : r->path;
}

/* Fail with the messages the kernel left in the filesystem context ("overlay: ...") after what failed. */
static int fs_fail(berr *e, int fs, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fs_fail(berr *e, int fs, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	char *what = NULL;
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	char *log = NULL;
	char buf[1024];
	ssize_t n;
	while ((n = read(fs, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		while (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		/* Each message starts with its level: "e ", "w " or "i ". */
		const char *msg = n > 2 && buf[1] == ' ' ? buf + 2 : buf;
		char *joined = NULL;
		if (asprintf(&joined, "%s%s%s", log ? log : "", log ? "; " : "", msg) < 0)
			break;
		free(log);
		log = joined;
	}
	berr_set(e, err, "%s%s%s", what ? what : "mounting", log ? ": " : "", log ? log : "");
	free(what);
	free(log);
	return -1;
}

static int fs_set_dir(int fs, const char *key, struct dir_ref *r, berr *e)
{
	/* A path fsconfig cannot take whole is passed as /proc/self/fd/N, which it resolves alike. */
	if (strlen(r->path) > FSCONFIG_VALUE_MAX && dir_ref_open(r, e) < 0)
		return -1;
	if (fsconfig(fs, FSCONFIG_SET_STRING, key, dir_ref_name(r), 0) < 0)
		return fs_fail(e, fs, "%s %s", r->what, r->path);
	return 0;
}

/* overlayfs answers ELOOP, often with nothing in its log, when one of its directories is inside another. */
static const char *overlap_hint(int err)
{
	return err == ELOOP ? " (overlapping directories: a layer, upper or work dir inside another?)" : "";
}

/* After a failed mount(2), which says no more than errno: the first directory that is missing or not one. */
static int name_bad_dir(const struct dir_ref *refs, size_t n_lower, berr *e)
{
	int err = errno;
	for (size_t i = 0; i < n_lower + 2; i++) {
		struct stat st;
		if (stat(refs[i].path, &st) < 0)
			return berr_sys(e, "%s %s", refs[i].what, refs[i].path);
		if (!S_ISDIR(st.st_mode))
			return berr_set(e, ENOTDIR, "%s %s", refs[i].what, refs[i].path);
	}
	return berr_set(e, err, "mount(2) of an overlay of %zu lower layer%s%s", n_lower, n_lower == 1 ? "" : "s",
			err == ELOOP ? overlap_hint(err) : " (the kernel log says why)");
}

/* The new mount API: one fsconfig "lowerdir+" per layer, so no limit on the length of the list. */
static int mount_lowerdir_plus(struct dir_ref *refs, size_t n_lower, int target_fd, berr *e)
{
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return berr_sys(e, "fsopen(overlay)");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
		return fs_fail(e, fs, "setting the source");
	for (size_t i = 0; i < n_lower; i++)
		if (fs_set_dir(fs, "lowerdir+", &refs[i], e) < 0)
			return -1;
	if (fs_set_dir(fs, "upperdir", &refs[n_lower], e) < 0 || fs_set_dir(fs, "workdir", &refs[n_lower + 1], e) < 0)
		return -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_fail(e, fs, "creating an overlay of %zu lower layer%s%s", n_lower, n_lower == 1 ? "" : "s",
			       overlap_hint(errno));
	_cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return fs_fail(e, fs, "fsmount");
	/* The mount descriptor pins the mount: it is closed on return, before anyone can unmount. */
	if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return berr_sys(e, "move_mount");
	return 0;
}

/* overlayfs' option syntax escapes these with a backslash; paths holding them go by descriptor instead. */
static bool needs_escape(const char *path)
{
	return strpbrk(path, ",:\\") != NULL;
}

/* "lowerdir=A:B,upperdir=U,workdir=W" with each directory as dir_ref_name() names it. */
static char *legacy_options(const struct dir_ref *refs, size_t n_lower)
{
	size_t len = strlen("lowerdir=") + strlen(",upperdir=") + strlen(",workdir=") + 1;
	for (size_t i = 0; i < n_lower + 2; i++)
		len += strlen(dir_ref_name(&refs[i])) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	char *p = stpcpy(s, "lowerdir=");
	for (size_t i = 0; i < n_lower; i++) {
		if (i)
			*p++ = ':';
		p = stpcpy(p, dir_ref_name(&refs[i]));
	}
	p = stpcpy(stpcpy(p, ",upperdir="), dir_ref_name(&refs[n_lower]));
	stpcpy(stpcpy(p, ",workdir="), dir_ref_name(&refs[n_lower + 1]));
	return s;
}

/*
 * mount(2): the kernel copies at most one page of options. When the paths do not fit (or would need
 * escaping), every directory is named by /proc/self/fd/N of an O_PATH descriptor instead: about 18
 * bytes a layer whatever its path, and nothing process-wide (such as the working directory of a
 * multi-threaded daemon) changes.
 */
static int mount_legacy(struct dir_ref *refs, size_t n_lower, int target_fd, berr *e)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t limit = (page > 0 ? (size_t)page : 4096) - 1;
	bool plain = true;
	for (size_t i = 0; i < n_lower + 2; i++)
		plain = plain && !needs_escape(refs[i].path);
	_cleanup_free_ char *opts = plain ? legacy_options(refs, n_lower) : NULL;
	if (plain && !opts)
		return berr_set(e, ENOMEM, "mount options");
	if (!opts || strlen(opts) > limit) {
		for (size_t i = 0; i < n_lower + 2; i++)
			if (dir_ref_open(&refs[i], e) < 0)
				return -1;
		free(opts);
		opts = legacy_options(refs, n_lower);
		if (!opts)
			return berr_set(e, ENOMEM, "mount options");
		if (strlen(opts) > limit)
			return berr_set(e, E2BIG,
					"%zu lower layers do not fit in the %zu bytes of mount(2) options (%zu needed "
					"even with the layers named by descriptor); this kernel's overlayfs lacks "
					"\"lowerdir+\" (Linux 6.8), which has no such limit",
					n_lower, limit, strlen(opts));
	}
	char target[32];
	b_fd_path(target_fd, target);
	if (mount("overlay", target, "overlay", 0, opts) < 0)
		return name_bad_dir(refs, n_lower, e);
	return 0;
}

int stor_overlay_mount(char *const *lower_dirs, size_t n_lower, const char *upper, const char *work, const char *target,
		       berr *e)
{
	if (!upper || !work || !target || (n_lower && !lower_dirs))
		return berr_invalid(e, "mounting an overlay: missing upper dir, work dir, target or lower dirs");
	for (size_t i = 0; i < n_lower; i++)
		if (!lower_dirs[i] || !*lower_dirs[i])
			return berr_invalid(e, "mounting overlay at %s: lower layer %zu has no path", target, i + 1);
	if (ensure_dir(upper, 0755, e) < 0 || ensure_dir(work, 0700, e) < 0)
		return berr_wrap(e, "mounting overlay at %s", target);
	/* The mount point is opened without following a symlink there, and named by descriptor from then on. */
	_cleanup_close_ int tfd = open(target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return berr_sys(e, "mounting overlay at %s: opening the mount point", target);

	if (n_lower == 0) {
		char tpath[32];
		b_fd_path(tfd, tpath);
		if (mount(upper, tpath, NULL, MS_BIND, NULL) < 0)
			return berr_sys(e, "bind-mounting %s at %s (no lower layers)", upper, target);
		return 0;
	}

	__attribute__((cleanup(dir_refs_free))) struct dir_ref *refs = calloc(n_lower + 3, sizeof *refs);
	if (!refs)
		return berr_set(e, ENOMEM, "mounting overlay at %s", target);
	for (size_t i = 0; i < n_lower + 2; i++) {
		refs[i].fd = -1;
		refs[i].path = i < n_lower ? lower_dirs[i] : i == n_lower ? upper : work;
		refs[i].what = i < n_lower ? NULL : i == n_lower ? "upper dir" : "work dir";
		if (i < n_lower) {
			if (asprintf(&refs[i].what_buf, "lower layer %zu of %zu", i + 1, n_lower) < 0) {
				refs[i].what_buf = NULL;
				return berr_set(e, ENOMEM, "mounting overlay at %s", target);
			}
			refs[i].what = refs[i].what_buf;
		}
	}
	int r = stor_overlay_has_lowerdir_plus() ? mount_lowerdir_plus(refs, n_lower, tfd, e)
						 : mount_legacy(refs, n_lower, tfd, e);
	if (r < 0)
		return berr_wrap(e, "mounting overlay at %s", target);
	return 0;
}

int stor_overlay_unmount(const char *target, berr *e)
{
	unsigned delay_ms = 1, waited_ms = 0;
	for (int attempt = 1;; attempt++) {
		if (umount2(target, UMOUNT_NOFOLLOW) == 0)
			return 0;
		if (errno == ENOENT)
			return 0;
		if (errno == EINVAL) {
			int m = is_mount_root_at(AT_FDCWD, target);
			if (m == 0)
				return 0; /* nothing mounted there */
			return berr_set(e, m < 0 ? errno : EINVAL, "unmounting %s", target);
		}
		if (errno != EBUSY)
			return berr_sys(e, "unmounting %s", target);
		if (attempt == UNMOUNT_TRIES)
			break;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)delay_ms * 1000000L};
		nanosleep(&ts, NULL);
		waited_ms += delay_ms;
		delay_ms *= 2;
	}
	_cleanup_free_ char *below = mounts_below(target);
	if (below && *below)
		return berr_set(e, EBUSY, "unmounting %s: still mounted below it: %s", target, below);
	return berr_set(e, EBUSY,
			"unmounting %s: still in use after %d tries over %u ms (a process has a file open or its "
			"working directory inside)",
			target, UNMOUNT_TRIES, waited_ms);
}

/* ---------- containers/<id> ---------- */

static int check_id(const char *id, berr *e)
{
	if (!id || !*id || !strcmp(id, ".") || !strcmp(id, "..") || strchr(id, '/') || strlen(id) > NAME_MAX)
		return berr_invalid(e, "invalid container id \"%s\": must be one path component", id ? id : "");
	return 0;
}

struct rm_level {
	DIR *d;     /* open stream, or NULL while closed to bound the descriptors of deep trees */
	char *name; /* name in the level above */
	dev_t dev;
	ino_t ino;
};

struct rm_walk {
	struct rm_level *lv;
	size_t depth, cap; /* lv[0 .. depth] are in use */
	const char *base;  /* the directory the tree hangs in, for messages */
};

static void rm_walk_free(struct rm_walk *w)
{
	if (!w->lv)
		return;
	for (size_t i = 0; i <= w->depth; i++) {
		if (w->lv[i].d)
			closedir(w->lv[i].d);
		free(w->lv[i].name);
	}
	free(w->lv);
}

/* "<base>/<level names...>[/<leaf>]" for messages. */
static char *rm_path(const struct rm_walk *w, const char *leaf)
{
	size_t len = strlen(w->base) + (leaf ? strlen(leaf) + 1 : 0) + 1;
	for (size_t i = 0; i <= w->depth; i++)
		len += strlen(w->lv[i].name) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	char *p = stpcpy(s, w->base);
	for (size_t i = 0; i <= w->depth; i++)
		p = stpcpy(stpcpy(p, "/"), w->lv[i].name);
	if (leaf)
		stpcpy(stpcpy(p, "/"), leaf);
	return s;
}

static int rm_fail(berr *e, const struct rm_walk *w, const char *leaf, int err, const char *what)
{
	_cleanup_free_ char *p = rm_path(w, leaf);
	return berr_set(e, err, "%s %s", what, p ? p : w->base);
}

/* Push the directory fd (owned from here on) as a new deepest level. */
static int rm_push(struct rm_walk *w, int fd, const char *name)
{
	if (w->lv && w->depth + 1 >= w->cap) {
		size_t ncap = w->cap * 2;
		struct rm_level *n = realloc(w->lv, ncap * sizeof *n);
		if (!n) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		w->lv = n;
		w->cap = ncap;
	}
	struct stat st;
	DIR *d = fstat(fd, &st) == 0 ? fdopendir(fd) : NULL;
	char *copy = d ? strdup(name) : NULL;
	if (!copy) {
		int err = errno ? errno : ENOMEM;
		if (d)
			closedir(d);
		else
			close(fd);
		errno = err;
		return -1;
	}
	size_t at = w->lv[0].name ? w->depth + 1 : 0;
	w->lv[at] = (struct rm_level){.d = d, .name = copy, .dev = st.st_dev, .ino = st.st_ino};
	w->depth = at;
	if (at >= REMOVE_OPEN_LEVELS && w->lv[at - REMOVE_OPEN_LEVELS].d) {
		closedir(w->lv[at - REMOVE_OPEN_LEVELS].d);
		w->lv[at - REMOVE_OPEN_LEVELS].d = NULL;
	}
	return 0;
}

/*
 * rm -rf of parent/name: symlinks are unlinked, never followed; a directory on another mount (even a
 * bind mount of the same filesystem, which st_dev does not tell apart) stops everything with EXDEV.
 * Depth costs heap, not descriptors: only the deepest REMOVE_OPEN_LEVELS levels stay open.
 */
static int remove_tree_at(int parent, const char *name, const char *base, berr *e)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return berr_sys(e, "opening %s/%s", base, name);
	}
	uint64_t top_mnt, parent_mnt;
	if (mount_of(fd, &top_mnt) < 0 || mount_of(parent, &parent_mnt) < 0) {
		berr_sys(e, "checking the mount of %s/%s", base, name);
		close(fd);
		return -1;
	}
	if (top_mnt != parent_mnt) {
		close(fd);
		return berr_set(e, EXDEV, "%s/%s is a mount point; not removing it", base, name);
	}
	__attribute__((cleanup(rm_walk_free))) struct rm_walk w = {
	    .lv = calloc(16, sizeof(struct rm_level)), .cap = 16, .base = base};
	if (!w.lv) {
		close(fd);
		return berr_set(e, ENOMEM, "removing %s/%s", base, name);
	}
	if (rm_push(&w, fd, name) < 0)
		return berr_sys(e, "opening %s/%s", base, name);

	for (;;) {
		struct rm_level *cur = &w.lv[w.depth];
		errno = 0;
		struct dirent *de = readdir(cur->d);
		if (de) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			int dfd = dirfd(cur->d);
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
				if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
					return rm_fail(e, &w, de->d_name, errno, "removing");
				continue;
			}
			int child = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (child < 0) {
				if (errno == ENOENT)
					continue;
				if (errno != ENOTDIR && errno != ELOOP)
					return rm_fail(e, &w, de->d_name, errno, "opening");
				if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
					return rm_fail(e, &w, de->d_name, errno, "removing");
				continue;
			}
			uint64_t mnt = 0;
			if (mount_of(child, &mnt) < 0) {
				int err = errno;
				close(child);
				return rm_fail(e, &w, de->d_name, err, "checking the mount of");
			}
			if (mnt != top_mnt) {
				close(child);
				_cleanup_free_ char *p = rm_path(&w, de->d_name);
				return berr_set(e, EXDEV, "%s is a mount point; not removing across it",
						p ? p : de->d_name);
			}
			if (rm_push(&w, child, de->d_name) < 0)
				return rm_fail(e, &w, de->d_name, errno, "opening");
			continue;
		}
		if (errno)
			return rm_fail(e, &w, NULL, errno, "reading");
		/* This level is empty: go up (reopening the level above if it was closed) and rmdir it. */
		if (w.depth == 0) {
			closedir(cur->d);
			cur->d = NULL;
			if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				return rm_fail(e, &w, NULL, errno, "removing");
			return 0;
		}
		struct rm_level *up = &w.lv[w.depth - 1];
		if (!up->d) {
			int ufd = openat(dirfd(cur->d), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			struct stat st;
			if (ufd < 0 || fstat(ufd, &st) < 0) {
				int err = errno;
				if (ufd >= 0)
					close(ufd);
				return rm_fail(e, &w, NULL, err, "opening the parent of");
			}
			if (st.st_dev != up->dev || st.st_ino != up->ino) {
				close(ufd);
				return rm_fail(e, &w, NULL, ESTALE, "directory moved while removing");
			}
			up->d = fdopendir(ufd);
			if (!up->d) {
				int err = errno;
				close(ufd);
				return rm_fail(e, &w, NULL, err, "opening the parent of");
			}
		}
		closedir(cur->d);
		cur->d = NULL;
		if (unlinkat(dirfd(up->d), cur->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return rm_fail(e, &w, NULL, errno, "removing");
		free(cur->name);
		cur->name = NULL;
		w.depth--;
	}
}

int stor_rootfs_create(const char *containers_dir, const char *id, char *const *lower_dirs, size_t n_lower,
		       char **rootfs_path, berr *e)
{
	if (check_id(id, e) < 0)
		return -1;
	_cleanup_free_ char *dir = NULL, *upper = NULL, *work = NULL, *rootfs = NULL;
	if (asprintf(&dir, "%s/%s", containers_dir, id) < 0 || asprintf(&upper, "%s/upper", dir) < 0 ||
	    asprintf(&work, "%s/work", dir) < 0 || asprintf(&rootfs, "%s/rootfs", dir) < 0)
		return berr_set(e, ENOMEM, "creating the root filesystem of container %s", id);
	_cleanup_close_ int cfd = open(containers_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0)
		return berr_sys(e, "creating the root filesystem of container %s: opening %s", id, containers_dir);
	int r = 0;
	bool made = mkdirat(cfd, id, 0700) == 0;
	if (made && fchmodat(cfd, id, 0700, 0) < 0)
		r = berr_sys(e, "setting the mode of %s", dir);
	else if (!made && errno != EEXIST)
		r = berr_sys(e, "creating %s", dir);
	_cleanup_close_ int idfd = -1;
	if (r == 0) {
		idfd = openat(cfd, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (idfd < 0)
			r = berr_sys(e, "opening %s (a directory, not a symlink)", dir);
	}
	if (r == 0)
		r = ensure_dirat(idfd, "upper", upper, 0755, e);
	if (r == 0)
		r = ensure_dirat(idfd, "work", work, 0700, e);
	if (r == 0)
		r = ensure_dirat(idfd, "rootfs", rootfs, 0755, e);
	int mounted = 0;
	if (r == 0) {
		mounted = is_mount_root_at(idfd, "rootfs");
		if (mounted < 0)
			r = berr_sys(e, "checking whether %s is mounted", rootfs);
	}
	if (r == 0 && !mounted)
		r = stor_overlay_mount(lower_dirs, n_lower, upper, work, rootfs, e);
	if (r < 0) {
		if (made) {
			berr ignored = {0};
			remove_tree_at(cfd, id, containers_dir, &ignored);
			berr_clear(&ignored);
		}
		return berr_wrap(e, "creating the root filesystem of container %s", id);
	}
	*rootfs_path = steal_ptr(rootfs);
	return 0;
}

int stor_rootfs_remove(const char *containers_dir, const char *id, berr *e)
{
	if (check_id(id, e) < 0)
		return -1;
	_cleanup_close_ int cfd = open(containers_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		if (errno == ENOENT)
			return 0;
		return berr_sys(e, "removing container %s: opening %s", id, containers_dir);
	}
	_cleanup_free_ char *rootfs = NULL;
	if (asprintf(&rootfs, "%s/%s/rootfs", containers_dir, id) < 0)
		return berr_set(e, ENOMEM, "removing container %s", id);
	{
		_cleanup_close_ int idfd = openat(cfd, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (idfd < 0) {
			if (errno == ENOENT)
				return 0;
			return berr_sys(e, "removing container %s: opening %s/%s (a directory, not a symlink)", id,
					containers_dir, id);
		}
		for (int n = 0;; n++) {
			int m = is_mount_root_at(idfd, "rootfs");
			if (m < 0)
				return berr_sys(e, "removing container %s: checking whether %s is mounted", id, rootfs);
			if (!m)
				break;
			if (n == ROOTFS_MAX_STACKED)
				return berr_set(e, EBUSY, "removing container %s: %s still mounted after %d unmounts",
						id, rootfs, n);
			if (stor_overlay_unmount(rootfs, e) < 0)
				return berr_wrap(e, "removing container %s", id);
		}
	}
	if (remove_tree_at(cfd, id, containers_dir, e) < 0)
		return berr_wrap(e, "removing container %s", id);
	return 0;
}

/* ---------- changes ---------- */

/* The layers a directory of the lower view is merged from: indexes into the lower dirs, top-most first. */
struct lower_view {
	size_t *idx;
	size_t n;
};

struct chg_ctx {
	char *const *lowers;
	size_t n_lower;
	const char *upper;
	int (*cb)(enum stor_change kind, const char *path, void *arg);
	void *arg;
	int cb_rc;  /* what the callback returned when it stopped the walk */
	char *path; /* the current path inside the container; "" for the root */
	size_t len, cap;
	berr *e;
};

struct chg_child {
	char *name;
	struct stat st;
	char kind; /* 'A', 'C', 'D', or 0 for a directory equal to its lower version */
	struct lower_view lower;
};

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

/* 1 if the directory at path (a last symlink not followed) is opaque, 0 if not, -1 (errno). */
static int is_opaque(const char *path)
{
	char v[2];
	ssize_t n = lgetxattr(path, OPAQUE_XATTR, v, sizeof v);
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP || errno == ERANGE ? 0 : -1;
	return n == 1 && v[0] == 'y';
}

/* Docker's test for an unchanged directory: same size and mode, same mtime (or same second when one lacks ns). */
static bool same_dir(const struct stat *a, const struct stat *b)
{
	if (a->st_size != b->st_size || a->st_mode != b->st_mode)
		return false;
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return false;
	return a->st_mtim.tv_nsec == b->st_mtim.tv_nsec || a->st_mtim.tv_nsec == 0 || b->st_mtim.tv_nsec == 0;
}

static int path_push(struct chg_ctx *c, const char *name)
{
	size_t need = c->len + 1 + strlen(name) + 1;
	if (need > c->cap) {
		size_t ncap = c->cap ? c->cap : 256;
		while (ncap < need)
			ncap *= 2;
		char *n = realloc(c->path, ncap);
		if (!n)
			return berr_set(c->e, ENOMEM, "listing changes");
		c->path = n;
		c->cap = ncap;
	}
	c->path[c->len] = '/';
	strcpy(c->path + c->len + 1, name);
	c->len = need - 1;
	return 0;
}

/*
 * overlayfs' lookup of the current path in the lower layers, given the lower view of its directory:
 * the top-most version (*found, *st), and for a directory the layers it is merged from (*sub). A
 * whiteout hides the layers below it, a non-directory hides what lies below it, an opaque directory
 * ends the merge.
 */
static int lower_lookup(struct chg_ctx *c, const struct lower_view *dir, bool *found, struct stat *st,
			struct lower_view *sub)
{
	*found = false;
	sub->n = 0;
	sub->idx = NULL;
	for (size_t k = 0; k < dir->n; k++) {
		size_t i = dir->idx[k];
		_cleanup_free_ char *full = NULL;
		if (asprintf(&full, "%s%s", c->lowers[i], c->path) < 0)
			return berr_set(c->e, ENOMEM, "listing changes");
		struct stat ls;
		/* Every directory on the way is a real directory of layer i (it is in dir's view): no symlink is
		 * followed. */
		if (lstat(full, &ls) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return berr_sys(c->e, "looking up %s", full);
		}
		if (is_whiteout(&ls))
			break;
		if (!*found) {
			*found = true;
			*st = ls;
		}
		if (!S_ISDIR(ls.st_mode))
			break;
		if (!sub->idx) {
			sub->idx = malloc(dir->n * sizeof *sub->idx);
			if (!sub->idx)
				return berr_set(c->e, ENOMEM, "listing changes");
		}
		sub->idx[sub->n++] = i;
		int o = is_opaque(full);
		if (o < 0)
			return berr_sys(c->e, "reading %s of %s", OPAQUE_XATTR, full);
		if (o)
			break;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void children_free(struct chg_child *ch, size_t n)
{
	if (!ch)
		return;
	for (size_t i = 0; i < n; i++) {
		free(ch[i].name);
		free(ch[i].lower.idx);
	}
	free(ch);
}

static int emit(struct chg_ctx *c, char kind)
{
	int rc = c->cb((enum stor_change)kind, c->path, c->arg);
	if (rc) {
		c->cb_rc = rc;
		return 1;
	}
	return 0;
}

/* Sorted names of the entries of d; -1 with errno. */
static int read_names(DIR *d, char ***out, size_t *n_out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			err = errno;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof *nn);
			if (!nn) {
				err = ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name))) {
			err = ENOMEM;
			break;
		}
		n++;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		errno = err;
		return -1;
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	*out = names;
	*n_out = n;
	return 0;
}

/*
 * The entries of the upper directory d (at c->path) against its lower view. pending: the directory
 * itself was not reported (equal to its lower version); it is, as C, when an entry is added or deleted.
 * Returns 0, 1 when the callback stopped the walk, -1 on error.
 */
static int visit_dir(struct chg_ctx *c, DIR *d, const struct lower_view *lower, bool pending)
{
	char **names = NULL;
	size_t n = 0;
	if (read_names(d, &names, &n) < 0)
		return berr_sys(c->e, "reading %s%s", c->upper, c->path);
	struct chg_child *ch = calloc(n ? n : 1, sizeof *ch);
	if (!ch) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return berr_set(c->e, ENOMEM, "listing changes");
	}
	for (size_t i = 0; i < n; i++)
		ch[i].name = names[i];
	free(names);

	size_t base = c->len;
	int r = 0;
	bool added_or_deleted = false;
	/* First what each entry is, since a pending directory must come before its entries. */
	for (size_t i = 0; i < n && r == 0; i++) {
		struct chg_child *x = &ch[i];
		if (fstatat(dirfd(d), x->name, &x->st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = berr_sys(c->e, "reading %s%s/%s", c->upper, c->path, x->name);
			break;
		}
		if (is_whiteout(&x->st)) {
			x->kind = 'D';
			added_or_deleted = true;
			continue;
		}
		if (path_push(c, x->name) < 0) {
			r = -1;
			break;
		}
		bool found = false;
		struct stat lst;
		r = lower_lookup(c, lower, &found, &lst, &x->lower);
		int opaque = 0;
		if (r == 0 && S_ISDIR(x->st.st_mode)) {
			/* By descriptor: the upper path of a deep entry may be longer than PATH_MAX. */
			_cleanup_free_ char *full = NULL;
			if (asprintf(&full, "/proc/self/fd/%d/%s", dirfd(d), x->name) < 0)
				r = berr_set(c->e, ENOMEM, "listing changes");
			else if ((opaque = is_opaque(full)) < 0)
				r = berr_sys(c->e, "reading %s of %s%s", OPAQUE_XATTR, c->upper, c->path);
		}
		c->len = base;
		c->path[base] = '\0';
		if (r < 0)
			break;
		if (opaque) {
			/* The lower directory is gone: what the opaque one holds is all new. */
			x->kind = found ? 'D' : 'A';
			free(x->lower.idx);
			x->lower = (struct lower_view){0};
		} else if (found) {
			x->kind = S_ISDIR(x->st.st_mode) && S_ISDIR(lst.st_mode) && same_dir(&x->st, &lst) ? 0 : 'C';
		} else {
			x->kind = 'A';
		}
		if (!S_ISDIR(x->st.st_mode)) {
			free(x->lower.idx);
			x->lower = (struct lower_view){0};
		}
		if (x->kind == 'A' || x->kind == 'D')
			added_or_deleted = true;
	}
	if (r == 0 && pending && added_or_deleted && c->len)
		r = emit(c, 'C');
	for (size_t i = 0; i < n && r == 0; i++) {
		struct chg_child *x = &ch[i];
		if (path_push(c, x->name) < 0) {
			r = -1;
			break;
		}
		if (x->kind)
			r = emit(c, x->kind);
		if (r == 0 && S_ISDIR(x->st.st_mode)) {
			int fd = openat(dirfd(d), x->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
			if (!sub) {
				r = berr_sys(c->e, "opening %s%s", c->upper, c->path);
				if (fd >= 0)
					close(fd);
			} else {
				r = visit_dir(c, sub, &x->lower, x->kind == 0);
				closedir(sub);
			}
		}
		c->len = base;
		c->path[base] = '\0';
	}
	children_free(ch, n);
	return r;
}

int stor_changes(const char *upper, char *const *lower_dirs, size_t n_lower,
		 int (*cb)(enum stor_change kind, const char *path, void *arg), void *arg, berr *e)
{
	if (!upper || !cb || (n_lower && !lower_dirs))
		return berr_invalid(e, "listing changes: missing upper dir, callback or lower dirs");
	for (size_t i = 0; i < n_lower; i++) {
		struct stat st;
		if (stat(lower_dirs[i], &st) < 0)
			return berr_sys(e, "listing changes of %s: lower layer %s", upper, lower_dirs[i]);
		if (!S_ISDIR(st.st_mode))
			return berr_set(e, ENOTDIR, "listing changes of %s: lower layer %s", upper, lower_dirs[i]);
	}
	_cleanup_free_ size_t *all = calloc(n_lower ? n_lower : 1, sizeof *all);
	if (!all)
		return berr_set(e, ENOMEM, "listing changes of %s", upper);
	for (size_t i = 0; i < n_lower; i++)
		all[i] = i;
	struct lower_view root = {.idx = all, .n = n_lower};
	struct chg_ctx c = {.lowers = lower_dirs, .n_lower = n_lower, .upper = upper, .cb = cb, .arg = arg, .e = e};
	c.path = calloc(1, 256);
	if (!c.path)
		return berr_set(e, ENOMEM, "listing changes of %s", upper);
	c.cap = 256;
	int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int r;
	if (!d) {
		r = berr_sys(e, "listing changes: opening %s", upper);
		if (fd >= 0)
			close(fd);
	} else {
		r = visit_dir(&c, d, &root, false);
		closedir(d);
	}
	free(c.path);
	if (r < 0)
		return -1;
	return r > 0 ? c.cb_rc : 0;
}
