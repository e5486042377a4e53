/*
 * Tar entries applied to a layer's directory tree, in overlayfs form. Every parent directory is
 * opened with openat2 inside the root with no symlink allowed on the way (a layer never writes
 * through a symlink, not even one it made itself), and every last component is created with *at()
 * calls that never follow one. Directory metadata waits for img_unpack_tree_finish: the entries
 * that go in a directory change its mtime, and its mode (setgid) or default ACL would leak into
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "lib/cleanup.h"

/* ---- a small string-keyed hash map (open addressing) ---- */

struct slot {
	char *key;
	void *val;
	uint64_t hash;
};

struct strmap {
	struct slot *slots;
	size_t cap, len; /* cap is 0 or a power of two */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct slot *strmap_find(const struct strmap *m, const char *key, uint64_t h)
{
	if (!m->cap)
		return NULL;
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct slot *s = &m->slots[i];
		if (!s->key)
			return s;
		if (s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
}

static void *strmap_get(const struct strmap *m, const char *key)
{
	struct slot *s = strmap_find(m, key, str_hash(key));
	return s && s->key ? s->val : NULL;
}

static int strmap_grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return -1;
	struct strmap n = {.slots = slots, .cap = cap, .len = m->len};
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*strmap_find(&n, m->slots[i].key, m->slots[i].hash) = m->slots[i];
	free(m->slots);
	*m = n;
	return 0;
}

/* Set key to val; *old gets the value it replaces (NULL if none). -1 (ENOMEM) leaves the map as it was. */
static int strmap_put(struct strmap *m, const char *key, void *val, void **old)
{
	*old = NULL;
	if ((m->len + 1) * 10 > m->cap * 7 && strmap_grow(m) < 0)
		return -1;
	uint64_t h = str_hash(key);
	struct slot *s = strmap_find(m, key, h);
	if (s->key) {
		*old = s->val;
		s->val = val;
		return 0;
	}
	if (!(s->key = strdup(key)))
		return -1;
	s->val = val;
	s->hash = h;
	m->len++;
	return 0;
}

static void strmap_free(struct strmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		free(m->slots[i].key);
		if (free_val)
			free_val(m->slots[i].val);
	}
	free(m->slots);
	*m = (struct strmap){0};
}

/* ---- the tree ---- */

struct xattr {
	char *name;
	void *value;
	size_t size;
};

/* What a directory gets once everything is in it. */
struct dir_meta {
	bool implicit; /* made as a parent nobody named: 0755, owned by us, no times */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool has_times;
	struct timespec ts[2];
	struct xattr *xattrs;
	size_t nxattrs;
};

struct img_unpack_tree {
	int rootfd;
	uid_t euid;
	gid_t egid;
	struct strmap dirs;      /* path -> struct dir_meta */
	struct strmap whiteouts; /* paths this layer whited out */
	/* The last parent directory opened: entries come grouped by directory. */
	char *cache_path;
	int cache_fd;
};

/* An entry's metadata from its header. */
struct meta {
	mode_t perm; /* incl. setuid, setgid, sticky */
	uid_t uid;
	gid_t gid;
	struct timespec ts[2]; /* atime, mtime */
};

static void dir_meta_free(void *p)
{
	struct dir_meta *d = p;
	if (!d)
		return;
	for (size_t i = 0; i < d->nxattrs; i++) {
		free(d->xattrs[i].name);
		free(d->xattrs[i].value);
	}
	free(d->xattrs);
	free(d);
}

struct img_unpack_tree *img_unpack_tree_new(int rootfd)
{
	struct img_unpack_tree *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->rootfd = rootfd;
	t->euid = geteuid();
	t->egid = getegid();
	t->cache_fd = -1;
	/* The root is 0755 unless the layer has an entry for it. */
	struct dir_meta *d = calloc(1, sizeof *d);
	void *old;
	if (!d || strmap_put(&t->dirs, "", d, &old) < 0) {
		free(d);
		img_unpack_tree_free(t);
		return NULL;
	}
	d->implicit = true;
	d->mode = 0755;
	return t;
}

static void cache_drop(struct img_unpack_tree *t)
{
	free(t->cache_path);
	t->cache_path = NULL;
	if (t->cache_fd >= 0)
		close(t->cache_fd);
	t->cache_fd = -1;
}

void img_unpack_tree_free(struct img_unpack_tree *t)
{
	if (!t)
		return;
	cache_drop(t);
	strmap_free(&t->dirs, dir_meta_free);
	strmap_free(&t->whiteouts, NULL);
	free(t);
}

/* ---- errors ---- */

/* A refusal: the message alone, errnum EINVAL. */
#define refuse(e, raw, fmt, ...) berr_invalid((e), "entry \"%s\": " fmt, (raw), ##__VA_ARGS__)
/* A failed system call on an entry: the message and strerror(errno). */
#define entry_sys(e, raw, fmt, ...) berr_sys((e), "entry \"%s\": " fmt, (raw), ##__VA_ARGS__)

/* Why a path inside the layer could not be opened. */
static int path_error(berr *e, int err, const char *raw, const char *path)
{
	switch (err) {
	case ELOOP: return refuse(e, raw, "\"%s\" goes through a symlink (writing through symlinks is refused)", path);
	case ENOTDIR: return refuse(e, raw, "\"%s\" is not a directory", path);
	case EXDEV: return refuse(e, raw, "\"%s\" crosses a mount point", path);
	default: return berr_set(e, err, "entry \"%s\": opening \"%s\"", raw, path);
	}
}

/* ---- paths ---- */

char *img_unpack_clean_path(const char *name)
{
	size_t n = strlen(name);
	char *out = malloc(n + 1);
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	size_t len = 0;
	const char *p = name;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		if (clen == 0 || (clen == 1 && p[0] == '.')) {
			/* empty or "." */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (len == 0) {
				free(out);
				errno = EINVAL;
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash */
		} else {
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, clen);
			len += clen;
		}
		p = *end ? end + 1 : end;
	}
	out[len] = '\0';
	return out;
}

/* openat2 below dirfd: never through a symlink (not even one inside), a magic link or a mount. */
static int open_in(int dirfd, const char *path, int flags)
{
	/* No O_NOFOLLOW: RESOLVE_NO_SYMLINKS covers the last component too, and says ELOOP for it. */
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
	};
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		/* EAGAIN: a rename raced with the lookup; the tree is ours, so that is rare. */
		if (fd >= 0 || errno != EAGAIN || tries == 8)
			return fd;
	}
}

static bool whited_out(const struct img_unpack_tree *t, const char *path)
{
	return strmap_get(&t->whiteouts, path) != NULL;
}

static int note_whiteout(struct img_unpack_tree *t, const char *path, const char *raw, berr *e)
{
	void *old;
	if (strmap_put(&t->whiteouts, path, (void *)1, &old) < 0)
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	return 0;
}

static int note_dir(struct img_unpack_tree *t, const char *path, struct dir_meta *d, const char *raw, berr *e)
{
	void *old;
	if (strmap_put(&t->dirs, path, d, &old) < 0) {
		dir_meta_free(d);
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	}
	dir_meta_free(old);
	return 0;
}

static int note_implicit_dir(struct img_unpack_tree *t, const char *path, const char *raw, berr *e)
{
	struct dir_meta *d = calloc(1, sizeof *d);
	if (!d)
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	d->implicit = true;
	d->mode = 0755;
	return note_dir(t, path, d, raw, e);
}

/*
 * Make room for a new entry called base in pfd: what is there goes, except a directory when
 * keep_dir (a directory over a directory merges). 1: a directory was kept; 0: the name is free.
 */
static int clear_name(int pfd, const char *base, bool keep_dir)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (keep_dir && S_ISDIR(st.st_mode))
		return 1;
	return img_unpack_remove_tree_at(pfd, base);
}

/*
 * Create the directories of parent that are missing (0755, like tar) and open it. A component that
 * this layer whited out becomes a new directory that is opaque: the layer deleted the lower one and
 * then put things under that name.
 */
static int make_parents(struct img_unpack_tree *t, const char *parent, const char *raw, berr *e)
{
	_cleanup_free_ char *p = strdup(parent);
	if (!p)
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	_cleanup_close_ int cur = -1;
	char *s = p;
	for (;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		int dir = cur >= 0 ? cur : t->rootfd;
		int fd = open_in(dir, s, O_RDONLY | O_DIRECTORY);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
			bool opaque = false;
			if (errno == ENOTDIR) {
				struct stat st;
				if (fstatat(dir, s, &st, AT_SYMLINK_NOFOLLOW) < 0 || !img_whiteout_is(&st) ||
				    !whited_out(t, p))
					return path_error(e, ENOTDIR, raw, p);
				if (unlinkat(dir, s, 0) < 0)
					return entry_sys(e, raw, "removing the whiteout \"%s\"", p);
				opaque = true;
			}
			if (mkdirat(dir, s, 0755) < 0)
				return entry_sys(e, raw, "creating directory \"%s\"", p);
			if (note_implicit_dir(t, p, raw, e) < 0)
				return -1;
			fd = open_in(dir, s, O_RDONLY | O_DIRECTORY);
			if (fd >= 0 && opaque && img_whiteout_set_opaque(fd) < 0) {
				close(fd);
				return entry_sys(e, raw, "marking \"%s\" opaque", p);
			}
		}
		if (fd < 0)
			return path_error(e, errno, raw, p);
		if (cur >= 0)
			close(cur);
		cur = fd;
		if (!slash)
			break;
		*slash = '/';
		s = slash + 1;
	}
	return steal_fd(cur);
}

/* The parent directory of an entry, created if missing; the fd stays owned by the tree. */
static int parent_fd(struct img_unpack_tree *t, const char *parent, const char *raw, berr *e)
{
	if (!*parent)
		return t->rootfd;
	if (t->cache_path && strcmp(t->cache_path, parent) == 0)
		return t->cache_fd;
	cache_drop(t);
	int fd = open_in(t->rootfd, parent, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return path_error(e, errno, raw, parent);
		if ((fd = make_parents(t, parent, raw, e)) < 0)
			return -1;
	}
	if (!(t->cache_path = strdup(parent))) {
		close(fd);
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	}
	t->cache_fd = fd;
	return fd;
}

/* ---- metadata ---- */

static int entry_meta(struct archive_entry *ent, struct meta *m, const char *raw, berr *e)
{
	la_int64_t uid = archive_entry_uid(ent), gid = archive_entry_gid(ent);
	/* (uid_t)-1 would mean "leave unchanged" to chown. */
	if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
		return refuse(e, raw, "invalid owner %lld:%lld", (long long)uid, (long long)gid);
	m->uid = (uid_t)uid;
	m->gid = (gid_t)gid;
	m->perm = archive_entry_perm(ent) & 07777;
	m->ts[1].tv_sec = archive_entry_mtime(ent);
	m->ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
	if (archive_entry_atime_is_set(ent)) {
		m->ts[0].tv_sec = archive_entry_atime(ent);
		m->ts[0].tv_nsec = archive_entry_atime_nsec(ent);
	} else {
		m->ts[0] = m->ts[1];
	}
	for (int i = 0; i < 2; i++)
		if (m->ts[i].tv_nsec < 0 || m->ts[i].tv_nsec >= 1000000000)
			m->ts[i].tv_nsec = 0;
	return 0;
}

/*
 * Xattrs that stay out: trusted.overlay.* would change how overlayfs reads the layer (redirects,
 * metacopy, opacity), which only whiteout entries may do.
 */
static bool xattr_dropped(const char *name)
{
	return strncmp(name, "trusted.overlay.", strlen("trusted.overlay.")) == 0;
}

/*
 * Can a refused xattr be skipped? security.capability whatever the reason (the kernel checks and
 * may convert it); like Docker, anything the filesystem cannot hold (EOPNOTSUPP) or that we may not
 * set (EPERM). Anything else fails the layer.
 */
static bool xattr_refusal_ok(const char *name, int err)
{
	return strcmp(name, "security.capability") == 0 || err == EOPNOTSUPP || err == EPERM;
}

/* Set one xattr on fd, or (fd < 0) on path without following it. */
static int set_xattr(int fd, const char *path, const char *name, const void *value, size_t size)
{
	int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(path, name, value, size, 0);
	if (r < 0 && xattr_refusal_ok(name, errno))
		return 0;
	return r;
}

/* The entry's xattrs on fd, or (fd < 0) on base in pfd, not followed. */
static int entry_xattrs(struct archive_entry *ent, int fd, int pfd, const char *base, const char *raw, berr *e)
{
	if (archive_entry_xattr_reset(ent) == 0)
		return 0;
	_cleanup_free_ char *path = NULL;
	if (fd < 0 && asprintf(&path, "/proc/self/fd/%d/%s", pfd, base) < 0)
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	const char *name;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(ent, &name, &value, &size) == ARCHIVE_OK) {
		if (xattr_dropped(name))
			continue;
		if (set_xattr(fd, path, name, value, size) < 0)
			return entry_sys(e, raw, "setting xattr %s", name);
	}
	return 0;
}

/* Owner, mode, xattrs, times of a non-directory, in that order: chown clears setuid bits and capabilities. */
static int meta_at(struct img_unpack_tree *t, struct archive_entry *ent, int pfd, const char *base, bool is_link,
		   const struct meta *m, const char *raw, berr *e)
{
	if ((m->uid != t->euid || m->gid != t->egid) && fchownat(pfd, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_sys(e, raw, "changing its owner");
	if (!is_link && fchmodat(pfd, base, m->perm, 0) < 0)
		return entry_sys(e, raw, "changing its mode");
	if (entry_xattrs(ent, -1, pfd, base, raw, e) < 0)
		return -1;
	if (utimensat(pfd, base, m->ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_sys(e, raw, "setting its times");
	return 0;
}

/* ---- entry types ---- */

static int pwrite_all(int fd, const char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/* The entry's data into fd (sparse entries come as blocks with offsets). */
static int write_data(struct archive *a, struct archive_entry *ent, int fd, const char *raw, berr *e)
{
	int64_t end = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			berr_invalid(e, "entry \"%s\": reading its data: %s", raw, archive_error_string(a));
			if (archive_errno(a) > 0)
				e->errnum = archive_errno(a);
			return -1;
		}
		if (off < 0)
			return refuse(e, raw, "data at a negative offset");
		if (len > 0 && pwrite_all(fd, buf, len, off) < 0)
			return entry_sys(e, raw, "writing its data");
		if (off + (int64_t)len > end)
			end = off + (int64_t)len;
	}
	int64_t size = archive_entry_size(ent);
	if (size > end && ftruncate(fd, size) < 0)
		return entry_sys(e, raw, "setting its size");
	return 0;
}

static int apply_file(struct img_unpack_tree *t, struct archive *a, struct archive_entry *ent, int pfd,
		      const char *base, const struct meta *m, const char *raw, berr *e)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	_cleanup_close_ int fd = openat(pfd, base, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		if (clear_name(pfd, base, false) < 0)
			return entry_sys(e, raw, "replacing what was there");
		fd = openat(pfd, base, flags, 0600);
	}
	if (fd < 0)
		return entry_sys(e, raw, "creating it");
	if (write_data(a, ent, fd, raw, e) < 0)
		return -1;
	if ((m->uid != t->euid || m->gid != t->egid) && fchown(fd, m->uid, m->gid) < 0)
		return entry_sys(e, raw, "changing its owner");
	if (fchmod(fd, m->perm) < 0)
		return entry_sys(e, raw, "changing its mode");
	if (entry_xattrs(ent, fd, pfd, base, raw, e) < 0)
		return -1;
	if (futimens(fd, m->ts) < 0)
		return entry_sys(e, raw, "setting its times");
	if (close(steal_fd(fd)) < 0)
		return entry_sys(e, raw, "writing its data");
	return 0;
}

static int apply_dir(struct img_unpack_tree *t, struct archive_entry *ent, const char *path, int pfd, const char *base,
		     const struct meta *m, const char *raw, berr *e)
{
	/* 0700 while it fills; its own mode comes at the end. The root is there already. */
	int kept = *path ? 0 : 1;
	if (!kept && mkdirat(pfd, base, 0700) < 0) {
		if (errno != EEXIST)
			return entry_sys(e, raw, "creating it");
		if ((kept = clear_name(pfd, base, true)) < 0)
			return entry_sys(e, raw, "replacing what was there");
		if (!kept && mkdirat(pfd, base, 0700) < 0)
			return entry_sys(e, raw, "creating it");
	}
	/* A new directory where this layer put a whiteout replaces the lower one: no merging with it. */
	if (!kept && whited_out(t, path)) {
		_cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || img_whiteout_set_opaque(fd) < 0)
			return entry_sys(e, raw, "marking it opaque");
	}
	struct dir_meta *d = calloc(1, sizeof *d);
	if (!d)
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	d->mode = m->perm;
	d->uid = m->uid;
	d->gid = m->gid;
	d->has_times = true;
	d->ts[0] = m->ts[0];
	d->ts[1] = m->ts[1];
	int n = archive_entry_xattr_reset(ent);
	if (n > 0 && !(d->xattrs = calloc((size_t)n, sizeof *d->xattrs))) {
		dir_meta_free(d);
		return berr_set(e, ENOMEM, "entry \"%s\"", raw);
	}
	const char *name;
	const void *value;
	size_t size;
	while (n > 0 && archive_entry_xattr_next(ent, &name, &value, &size) == ARCHIVE_OK && d->nxattrs < (size_t)n) {
		if (xattr_dropped(name))
			continue;
		struct xattr *x = &d->xattrs[d->nxattrs];
		x->name = strdup(name);
		x->value = malloc(size ? size : 1);
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			dir_meta_free(d);
			return berr_set(e, ENOMEM, "entry \"%s\"", raw);
		}
		memcpy(x->value, value, size);
		x->size = size;
		d->nxattrs++;
	}
	return note_dir(t, path, d, raw, e);
}

static int apply_symlink(struct img_unpack_tree *t, struct archive_entry *ent, int pfd, const char *base,
			 const struct meta *m, const char *raw, berr *e)
{
	const char *target = archive_entry_symlink(ent);
	if (!target || !*target)
		return refuse(e, raw, "symlink without a target");
	if (symlinkat(target, pfd, base) < 0) {
		if (errno != EEXIST)
			return entry_sys(e, raw, "creating it");
		if (clear_name(pfd, base, false) < 0)
			return entry_sys(e, raw, "replacing what was there");
		if (symlinkat(target, pfd, base) < 0)
			return entry_sys(e, raw, "creating it");
	}
	return meta_at(t, ent, pfd, base, true, m, raw, e);
}

static int apply_node(struct img_unpack_tree *t, struct archive_entry *ent, const char *path, int pfd, const char *base,
		      mode_t type, const struct meta *m, const char *raw, berr *e)
{
	dev_t rdev = 0;
	if (type == S_IFCHR || type == S_IFBLK) {
		/* In overlay form a whiteout is a device node: the two cannot share a name. */
		if (whited_out(t, path))
			return refuse(e, raw, "a device node where this layer has a whiteout");
		rdev = archive_entry_rdev(ent);
	}
	if (mknodat(pfd, base, type | 0600, rdev) < 0) {
		if (errno != EEXIST)
			return entry_sys(e, raw, "creating it");
		if (clear_name(pfd, base, false) < 0)
			return entry_sys(e, raw, "replacing what was there");
		if (mknodat(pfd, base, type | 0600, rdev) < 0)
			return entry_sys(e, raw, "creating it");
	}
	return meta_at(t, ent, pfd, base, false, m, raw, e);
}

static int apply_hardlink(struct img_unpack_tree *t, struct archive *a, struct archive_entry *ent, const char *path,
			  int pfd, const char *base, const struct meta *m, const char *raw, berr *e)
{
	const char *lraw = archive_entry_hardlink(ent);
	_cleanup_free_ char *target = img_unpack_clean_path(lraw);
	if (!target) {
		if (errno == ENOMEM)
			return berr_set(e, ENOMEM, "entry \"%s\"", raw);
		return refuse(e, raw, "hard link target \"%s\" is outside the layer", lraw);
	}
	if (!*target)
		return refuse(e, raw, "hard link to the layer root");
	if (strcmp(target, path) == 0)
		return refuse(e, raw, "hard link to itself");
	/* Look the target up in its parent (no symlink on the way); it must be there already. */
	char *slash = strrchr(target, '/');
	const char *tbase = slash ? slash + 1 : target;
	_cleanup_close_ int tpfd = -1;
	if (slash) {
		*slash = '\0';
		tpfd = open_in(t->rootfd, target, O_PATH | O_DIRECTORY);
		int err = errno;
		*slash = '/';
		if (tpfd < 0 && (err == ENOENT || err == ENOTDIR))
			return refuse(e, raw, "hard link target \"%s\" is not in the layer", lraw);
		if (tpfd < 0)
			return path_error(e, err, raw, lraw);
	}
	int tdir = slash ? tpfd : t->rootfd;
	struct stat tst;
	if (fstatat(tdir, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return refuse(e, raw, "hard link target \"%s\" is not in the layer", lraw);
		return entry_sys(e, raw, "looking up hard link target \"%s\"", lraw);
	}
	if (S_ISDIR(tst.st_mode))
		return refuse(e, raw, "hard link to the directory \"%s\"", lraw);
	if (img_whiteout_is(&tst) && whited_out(t, target))
		return refuse(e, raw, "hard link target \"%s\" is not in the layer (a whiteout)", lraw);
	if (linkat(tdir, tbase, pfd, base, 0) < 0) {
		if (errno != EEXIST)
			return entry_sys(e, raw, "linking it to \"%s\"", lraw);
		struct stat st;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return entry_sys(e, raw, "replacing what was there");
		if (st.st_dev != tst.st_dev || st.st_ino != tst.st_ino) {
			if (clear_name(pfd, base, false) < 0)
				return entry_sys(e, raw, "replacing what was there");
			if (linkat(tdir, tbase, pfd, base, 0) < 0)
				return entry_sys(e, raw, "linking it to \"%s\"", lraw);
		}
	}
	/*
	 * A hard link names an inode that has its metadata already: like tar, leave it. Old tar
	 * writers can give a hard link data of its own; then it is a file's entry, metadata included.
	 */
	if (!archive_entry_size_is_set(ent) || archive_entry_size(ent) <= 0 || !S_ISREG(tst.st_mode))
		return 0;
	_cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return entry_sys(e, raw, "opening it to write its data");
	if (write_data(a, ent, fd, raw, e) < 0)
		return -1;
	if ((m->uid != tst.st_uid || m->gid != tst.st_gid) && fchown(fd, m->uid, m->gid) < 0)
		return entry_sys(e, raw, "changing its owner");
	if (fchmod(fd, m->perm) < 0)
		return entry_sys(e, raw, "changing its mode");
	if (entry_xattrs(ent, fd, pfd, base, raw, e) < 0)
		return -1;
	if (futimens(fd, m->ts) < 0)
		return entry_sys(e, raw, "setting its times");
	return 0;
}

/* ".wh.<name>": <name> is deleted from the layers below. */
static int apply_whiteout(struct img_unpack_tree *t, const char *path, int pfd, const char *name, const char *raw,
			  berr *e)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return entry_sys(e, raw, "looking up \"%s\"", name);
		if (img_whiteout_make(pfd, name) < 0)
			return entry_sys(e, raw, "creating the whiteout \"%s\"", name);
		return note_whiteout(t, path, raw, e);
	}
	if (whited_out(t, path) && img_whiteout_is(&st))
		return 0; /* the same whiteout twice */
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return refuse(e, raw, "a whiteout where this layer has the device node \"%s\"", name);
	/*
	 * The name is in this layer too. A whiteout only hides what lower layers hold (OCI layer spec),
	 * so the entry stays; being here already hides a lower file, and a directory must not merge
	 * with the lower one: it becomes opaque.
	 */
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || img_whiteout_set_opaque(fd) < 0)
			return entry_sys(e, raw, "marking \"%s\" opaque", name);
	}
	return note_whiteout(t, path, raw, e);
}

int img_unpack_tree_apply(struct img_unpack_tree *t, struct archive *a, struct archive_entry *ent, berr *e)
{
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		return berr_invalid(e, "an entry without a name");
	_cleanup_free_ char *path = img_unpack_clean_path(raw);
	if (!path) {
		if (errno == ENOMEM)
			return berr_set(e, ENOMEM, "entry \"%s\"", raw);
		return refuse(e, raw, "the name leaves the layer root");
	}
	/* AUFS metadata (".wh..wh.plnk/..." and the like): Docker skips it too. */
	if (strncmp(path, ".wh..wh.", 8) == 0 && strcmp(path, ".wh..wh..opq") != 0)
		return 0;
	/*
	 * The entry may replace a directory (a file over it): the cached parent must not outlive it
	 * when it is that directory or below it.
	 */
	size_t len = strlen(path);
	if (t->cache_path && strncmp(t->cache_path, path, len) == 0 &&
	    (t->cache_path[len] == '\0' || t->cache_path[len] == '/'))
		cache_drop(t);
	struct meta m;
	if (entry_meta(ent, &m, raw, e) < 0)
		return -1;
	mode_t type = archive_entry_filetype(ent);
	const char *hardlink = archive_entry_hardlink(ent);
	/* Old tars mark directories with a trailing slash only (libarchive fixes it unless it warned). */
	if (type == AE_IFREG && !hardlink && raw[0] && raw[strlen(raw) - 1] == '/')
		type = AE_IFDIR;

	if (!*path) {
		if (hardlink || type != AE_IFDIR)
			return refuse(e, raw, "replaces the layer root with a non-directory");
		return apply_dir(t, ent, "", -1, NULL, &m, raw, e);
	}

	/* Split into parent and base; a ".wh." name cannot be a directory in overlay form. */
	char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash) {
		*slash = '\0';
		for (const char *c = path;; c++) {
			if (img_whiteout_name(c))
				return refuse(e, raw, "a whiteout name used as a directory");
			if (!(c = strchr(c, '/')))
				break;
		}
	}
	int pfd = parent_fd(t, slash ? path : "", raw, e);
	if (slash)
		*slash = '/';
	if (pfd < 0)
		return -1;

	const char *target = NULL;
	switch (img_whiteout_kind(base, &target)) {
	case IMG_WH_NONE: break;
	case IMG_WH_OPAQUE:
		if (img_whiteout_set_opaque(pfd) < 0)
			return entry_sys(e, raw, "marking its directory opaque");
		return 0;
	case IMG_WH_FILE: {
		/* The whiteout's path: the deleted name in the same directory. */
		size_t plen = slash ? (size_t)(slash - path) + 1 : 0;
		_cleanup_free_ char *wpath = malloc(plen + strlen(target) + 1);
		if (!wpath)
			return berr_set(e, ENOMEM, "entry \"%s\"", raw);
		memcpy(wpath, path, plen);
		strcpy(wpath + plen, target);
		return apply_whiteout(t, wpath, pfd, target, raw, e);
	}
	case IMG_WH_INVALID: return refuse(e, raw, "an invalid whiteout name");
	}

	if (hardlink)
		return apply_hardlink(t, a, ent, path, pfd, base, &m, raw, e);
	switch (type) {
	case AE_IFREG: return apply_file(t, a, ent, pfd, base, &m, raw, e);
	case AE_IFDIR: return apply_dir(t, ent, path, pfd, base, &m, raw, e);
	case AE_IFLNK: return apply_symlink(t, ent, pfd, base, &m, raw, e);
	case AE_IFCHR: return apply_node(t, ent, path, pfd, base, S_IFCHR, &m, raw, e);
	case AE_IFBLK: return apply_node(t, ent, path, pfd, base, S_IFBLK, &m, raw, e);
	case AE_IFIFO: return apply_node(t, ent, path, pfd, base, S_IFIFO, &m, raw, e);
	default: return refuse(e, raw, "unsupported file type 0%o", (unsigned)type);
	}
}

static int finish_dir(struct img_unpack_tree *t, const char *path, const struct dir_meta *d, berr *e)
{
	const char *shown = *path ? path : "/";
	_cleanup_close_ int fd = open_in(t->rootfd, *path ? path : ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		/* Replaced by a non-directory, or removed with its parent, after it was made. */
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		return berr_sys(e, "directory \"%s\": opening it", shown);
	}
	if (!d->implicit && (d->uid != t->euid || d->gid != t->egid) && fchown(fd, d->uid, d->gid) < 0)
		return berr_sys(e, "directory \"%s\": changing its owner", shown);
	if (fchmod(fd, d->mode) < 0)
		return berr_sys(e, "directory \"%s\": changing its mode", shown);
	for (size_t i = 0; i < d->nxattrs; i++)
		if (set_xattr(fd, NULL, d->xattrs[i].name, d->xattrs[i].value, d->xattrs[i].size) < 0)
			return berr_sys(e, "directory \"%s\": setting xattr %s", shown, d->xattrs[i].name);
	if (d->has_times && futimens(fd, d->ts) < 0)
		return berr_sys(e, "directory \"%s\": setting its times", shown);
	return 0;
}

int img_unpack_tree_finish(struct img_unpack_tree *t, berr *e)
{
	cache_drop(t);
	for (size_t i = 0; i < t->dirs.cap; i++) {
		struct slot *s = &t->dirs.slots[i];
		if (s->key && finish_dir(t, s->key, s->val, e) < 0)
			return -1;
	}
	return 0;
}
