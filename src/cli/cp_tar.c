/*
 * `berth cp`'s local side: pack a local file or tree into a tar, and unpack a tar into a local
 * directory without ever writing outside it. Both rename the archive's top entry as docker's
 * cp does (RebaseArchiveEntries): "src/..." becomes "dst/...".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli/cp_tar.h"
#include "lib/libarchive_lazy.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

/* name with its first component `from` replaced by `to` (caller frees); a copy when it is not. */
static char *rebase(const char *name, const char *from, const char *to)
{
	size_t n = from ? strlen(from) : 0;
	if (!from || !to || strncmp(name, from, n) != 0 || (name[n] && name[n] != '/'))
		return strdup(name);
	size_t len = strlen(to) + strlen(name + n) + 1;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%s%s", to, name + n);
	return out;
}

/* ---------- packing ---------- */

struct pack_sink {
	int fd;
	const struct cli_tar_progress *progress;
};

static la_ssize_t pack_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct pack_sink *s = arg;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(s->fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "writing the archive");
			return -1;
		}
		done += (size_t)n;
	}
	if (s->progress)
		s->progress->add(s->progress->arg, len);
	return (la_ssize_t)len;
}

int cli_tar_pack(const char *path, const char *name, bool follow_top, int fd, const struct cli_tar_progress *progress,
		 berr *e)
{
	if (lazy_lib_pin(&libarchive_lib, e) < 0)
		return -1;
	struct archive *disk = archive_read_disk_new();
	struct archive *w = archive_write_new();
	struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
	struct archive_entry *entry = NULL;
	struct pack_sink sink = {fd, progress};
	size_t root_len = strlen(path);
	int rc = -1;
	if (!disk || !w || !links) {
		berr_plain(e, ENOMEM, "packing %s", path);
		goto out;
	}
	if (follow_top)
		archive_read_disk_set_symlink_hybrid(disk);
	else
		archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_standard_lookup(disk);
	archive_write_set_format_pax_restricted(w);
	/* A stream, not a tape: no padding past the end-of-archive blocks (as docker's own tars). */
	archive_write_set_bytes_in_last_block(w, 1);
	archive_entry_linkresolver_set_strategy(links, archive_format(w));
	if (archive_read_disk_open(disk, path) != ARCHIVE_OK) {
		berr_plain(e, archive_errno(disk) ? archive_errno(disk) : EIO, "%s", archive_error_string(disk));
		goto out;
	}
	if (archive_write_open(w, &sink, NULL, pack_write, NULL) != ARCHIVE_OK) {
		berr_plain(e, EIO, "packing %s: %s", path, archive_error_string(w));
		goto out;
	}
	for (;;) {
		entry = archive_entry_new();
		int r = archive_read_next_header2(disk, entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			berr_plain(e, archive_errno(disk) ? archive_errno(disk) : EIO, "%s",
				   archive_error_string(disk));
			goto out;
		}
		archive_read_disk_descend(disk);
		const char *src = archive_entry_pathname(entry);
		size_t len = strlen(name) + strlen(src + root_len) + 1;
		_cleanup_free_ char *dst = malloc(len);
		if (!dst) {
			berr_plain(e, ENOMEM, "packing %s", path);
			goto out;
		}
		snprintf(dst, len, "%s%s", name, src + root_len);
		archive_entry_set_pathname(entry, dst);
		struct archive_entry *sparse = NULL;
		archive_entry_linkify(links, &entry, &sparse);
		if (!entry)
			continue;
		if (archive_write_header(w, entry) < ARCHIVE_WARN) {
			berr_plain(e, EIO, "packing %s: %s", src, archive_error_string(w));
			goto out;
		}
		if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
			char buf[65536];
			la_ssize_t n;
			while ((n = archive_read_data(disk, buf, sizeof buf)) > 0)
				if (archive_write_data(w, buf, (size_t)n) < 0) {
					berr_plain(e, EIO, "packing %s: %s", src, archive_error_string(w));
					goto out;
				}
			if (n < 0) {
				berr_plain(e, EIO, "reading %s: %s", src, archive_error_string(disk));
				goto out;
			}
		}
		archive_entry_free(entry);
		entry = NULL;
	}
	if (archive_write_close(w) != ARCHIVE_OK) {
		berr_plain(e, EIO, "packing %s: %s", path, archive_error_string(w));
		goto out;
	}
	rc = 0;
out:
	archive_entry_free(entry);
	archive_entry_linkresolver_free(links);
	archive_read_free(disk);
	archive_write_free(w);
	return rc;
}

/* ---------- unpacking ---------- */

struct unpack_source {
	int fd;
	const char *head; /* bytes read before the archive was opened */
	size_t head_len;
	const struct cli_tar_progress *progress;
	char buf[65536];
};

static la_ssize_t unpack_read(struct archive *a, void *arg, const void **out)
{
	struct unpack_source *s = arg;
	if (s->head_len) {
		*out = s->head;
		la_ssize_t n = (la_ssize_t)s->head_len;
		s->head_len = 0;
		return n;
	}
	for (;;) {
		ssize_t n = read(s->fd, s->buf, sizeof s->buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "reading the archive");
			return -1;
		}
		if (s->progress && n > 0)
			s->progress->add(s->progress->arg, (size_t)n);
		*out = s->buf;
		return n;
	}
}

/* Remove what is at parent/base unless both it and the entry are directories (docker's rules). */
static int clear_place(int parent, const char *base, const char *name, bool entry_is_dir, bool *is_dir, berr *e)
{
	struct stat st;
	*is_dir = false;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "lstat %s", name);
	if (S_ISDIR(st.st_mode) && !entry_is_dir)
		return berr_plain(e, EISDIR, "cannot overwrite directory \"%s\" with non-directory", name);
	if (!S_ISDIR(st.st_mode) && entry_is_dir)
		return berr_plain(e, ENOTDIR, "cannot overwrite non-directory \"%s\" with directory", name);
	if (S_ISDIR(st.st_mode)) {
		*is_dir = true;
		return 0;
	}
	if (unlinkat(parent, base, 0) < 0)
		return berr_sys(e, "removing %s", name);
	return 0;
}

/* The entry's name made relative and clean: no leading "/" or "./", no trailing "/". */
static char *clean_name(const char *raw, const char *from, const char *to)
{
	char *name = rebase(raw, from, to);
	if (!name)
		return NULL;
	char *p = name;
	for (;;) {
		while (*p == '/')
			p++;
		if (p[0] == '.' && p[1] == '/')
			p += 2;
		else
			break;
	}
	memmove(name, p, strlen(p) + 1);
	size_t len = strlen(name);
	while (len > 1 && name[len - 1] == '/')
		name[--len] = '\0';
	return name;
}

/* Open the directory that holds name, inside the root (made when missing); *base points into name. */
static int open_parent(int root, char *name, const char **base, berr *e)
{
	char *slash = strrchr(name, '/');
	if (!slash) {
		*base = name;
		int fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? berr_sys(e, "opening the destination") : fd;
	}
	*slash = '\0';
	*base = slash + 1;
	int fd = b_open_in_root(root, name, O_PATH | O_DIRECTORY, 0);
	if (fd < 0 && errno == ENOENT) {
		int made = b_mkpath_in_root(root, name, 0755, false, e);
		if (made < 0) {
			*slash = '/';
			return -1;
		}
		fd = made;
	}
	if (fd < 0)
		berr_sys(e, "opening %s", name);
	*slash = '/';
	return fd;
}

static int unpack_entry(struct archive *a, struct archive_entry *entry, int root, const char *from, const char *to,
			berr *e)
{
	_cleanup_free_ char *name = clean_name(archive_entry_pathname(entry), from, to);
	if (!name)
		return berr_plain(e, ENOMEM, "unpacking");
	if (!*name || strcmp(name, ".") == 0)
		return 0; /* the destination itself: it exists */
	const char *base;
	_cleanup_close_ int parent = open_parent(root, name, &base, e);
	if (parent < 0)
		return -1;
	if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
		return berr_invalid(e, "invalid name in the archive: %s", archive_entry_pathname(entry));
	mode_t mode = archive_entry_perm(entry);
	const char *hardlink = archive_entry_hardlink(entry);
	mode_t type = archive_entry_filetype(entry);
	bool is_dir = false;
	if (clear_place(parent, base, name, type == AE_IFDIR && !hardlink, &is_dir, e) < 0)
		return -1;
	if (hardlink) {
		_cleanup_free_ char *target = clean_name(hardlink, from, to);
		if (!target)
			return berr_plain(e, ENOMEM, "unpacking");
		const char *target_base;
		_cleanup_close_ int target_parent = open_parent(root, target, &target_base, e);
		if (target_parent < 0)
			return -1;
		if (linkat(target_parent, target_base, parent, base, 0) < 0)
			return berr_sys(e, "linking %s to %s", name, target);
		return 0;
	}
	switch (type) {
	case AE_IFDIR:
		if (!is_dir && mkdirat(parent, base, 0700) < 0)
			return berr_sys(e, "making %s", name);
		break;
	case AE_IFREG: {
		_cleanup_close_ int fd =
		    openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return berr_sys(e, "creating %s", name);
		if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK)
			return berr_plain(e, EIO, "writing %s: %s", name, archive_error_string(a));
		break;
	}
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(entry), parent, base) < 0)
			return berr_sys(e, "making the link %s", name);
		break;
	case AE_IFIFO:
	case AE_IFCHR:
	case AE_IFBLK:
		if (mknodat(parent, base, type | mode, archive_entry_rdev(entry)) < 0)
			return berr_sys(e, "making %s", name);
		break;
	default: return 0; /* sockets and the unknown: nothing to make */
	}
	if (type != AE_IFLNK && fchmodat(parent, base, mode, 0) < 0)
		return berr_sys(e, "chmod %s", name);
	struct timespec times[2] = {
	    {archive_entry_atime(entry), archive_entry_atime_nsec(entry)},
	    {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)},
	};
	if (!archive_entry_atime_is_set(entry))
		times[0] = times[1];
	utimensat(parent, base, times, AT_SYMLINK_NOFOLLOW); /* best effort, as docker's */
	return 0;
}

int cli_tar_unpack(int fd, const char *head, size_t head_len, const char *dir, const char *from, const char *to,
		   const struct cli_tar_progress *progress, berr *e)
{
	if (lazy_lib_pin(&libarchive_lib, e) < 0)
		return -1;
	_cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berr_sys(e, "opening %s", dir);
	struct archive *a = archive_read_new();
	if (!a)
		return berr_plain(e, ENOMEM, "unpacking into %s", dir);
	archive_read_support_format_tar(a); /* plain tar: what the daemon sends */
	struct unpack_source *src = calloc(1, sizeof *src);
	int rc = -1;
	if (!src) {
		berr_plain(e, ENOMEM, "unpacking into %s", dir);
		goto out;
	}
	*src = (struct unpack_source){.fd = fd, .head = head, .head_len = head_len, .progress = progress};
	if (archive_read_open(a, src, NULL, unpack_read, NULL) != ARCHIVE_OK) {
		berr_plain(e, EIO, "reading the archive: %s", archive_error_string(a));
		goto out;
	}
	struct archive_entry *entry;
	int r;
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN)
		if (unpack_entry(a, entry, root, from, to, e) < 0)
			goto out;
	if (r != ARCHIVE_EOF) {
		berr_plain(e, EIO, "reading the archive: %s", archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	archive_read_free(a);
	free(src);
	return rc;
}
