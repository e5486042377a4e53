/*
 * `docker cp` into a container: a tar extracted into an existing directory with the same entry
 * rules as layer unpacking (unpack_tree.c), owners reset unless asked to keep them.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/unpack_internal.h"
#include "lib/cleanup.h"
#include "lib/libarchive_lazy.h"

#define READ_BLOCK (1 << 16)

static int read_fail(struct archive *a, const char *what, berr *e)
{
	/* Damaged or truncated input is the sender's fault (a 400), unless the disk is full. */
	int err = archive_errno(a) == ENOSPC || archive_errno(a) == ENOMEM ? archive_errno(a) : EINVAL;
	const char *msg = archive_error_string(a);
	return berr_plain(e, err, "%s: %s", what, msg ? msg : "not a tar archive");
}

/* Would the entry replace a directory by a non-directory, or the reverse? */
static bool kind_clash(int dirfd, struct archive_entry *ent)
{
	_cleanup_free_ char *path = img_unpack_clean_path(archive_entry_pathname(ent));
	if (!path || !*path)
		return false;
	struct stat st;
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	bool new_dir = archive_entry_filetype(ent) == AE_IFDIR && !archive_entry_hardlink(ent);
	return new_dir != S_ISDIR(st.st_mode);
}

static int extract_in_locale(int dirfd, int in_fd, const struct img_extract_opts *o, berr *e)
{
	_cleanup_lazy_release_ struct lazy_lib *held = lazy_lib_held(&libarchive_lib, e);
	if (!held)
		return -1;
	struct archive *a = archive_read_new();
	if (!a)
		return berr_set(e, ENOMEM, "reading the archive");
	struct img_unpack_tree *t = img_unpack_tree_new(dirfd);
	int ret = -1;
	if (!t) {
		berr_set(e, ENOMEM, "reading the archive");
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_fd(a, in_fd, READ_BLOCK) != ARCHIVE_OK) {
		read_fail(a, "reading the archive", e);
		goto out;
	}
	for (;;) {
		struct archive_entry *ent;
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN && archive_errno(a) == EILSEQ)
			r = ARCHIVE_OK; /* a name that is not UTF-8: kept as the bytes it is */
		if (r != ARCHIVE_OK) {
			read_fail(a, "reading the archive", e);
			goto out;
		}
		if (!o->keep_owners) {
			archive_entry_set_uid(ent, 0);
			archive_entry_set_gid(ent, 0);
		}
		if (o->no_overwrite_dir_non_dir && kind_clash(dirfd, ent)) {
			berr_invalid(e, "cannot overwrite a directory with a non-directory or the reverse: \"%s\"",
				     archive_entry_pathname(ent));
			goto out;
		}
		if (img_unpack_tree_apply(t, a, ent, e) < 0)
			goto out;
	}
	if (img_unpack_tree_finish(t, e) < 0)
		goto out;
	ret = 0;
out:
	img_unpack_tree_free(t);
	archive_read_free(a);
	return ret;
}

int img_tar_extract(int dirfd, int in_fd, const struct img_extract_opts *o, berr *e)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
	int r = extract_in_locale(dirfd, in_fd, o, e);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	if (r < 0)
		return berr_wrap(e, "extracting");
	return 0;
}
