/* Writing tars with libarchive over a file descriptor (tar_write.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "image/tar_write.h"
#include "lib/cleanup.h"
#include "lib/fd.h"

#define COPY_SIZE (1 << 20)

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct img_tar_sink *s = ud;
	if (b_write_all(s->fd, buf, len) < 0) {
		s->err = errno;
		archive_set_error(a, errno, "writing: %s", strerror(errno));
		return -1;
	}
	if (s->hash)
		b_sha256_update(s->hash, buf, len);
	s->size += len;
	return (la_ssize_t)len;
}

struct archive *img_tar_open(struct img_tar_sink *s, berr *e)
{
	/* Held until img_tar_free. */
	if (lazy_lib_hold(&libarchive_lib, e) < 0)
		return NULL;
	struct archive *a = archive_write_new();
	if (!a) {
		lazy_lib_release(&libarchive_lib);
		berr_set(e, ENOMEM, "starting a tar");
		return NULL;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, s, NULL, sink_write, NULL) != ARCHIVE_OK) {
		berr_plain(e, EIO, "starting a tar: %s", archive_error_string(a));
		img_tar_free(a);
		return NULL;
	}
	return a;
}

void img_tar_free(struct archive *a)
{
	archive_write_free(a);
	lazy_lib_release(&libarchive_lib);
}

int img_tar_error(struct archive *a, struct img_tar_sink *s, const char *what, berr *e)
{
	if (s->err)
		return berr_set(e, s->err, "%s", what);
	int err = archive_errno(a) > 0 ? archive_errno(a) : EIO;
	return berr_plain(e, err, "%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "tar error");
}

int img_tar_header(struct archive *a, struct img_tar_sink *s, struct archive_entry *ent, berr *e)
{
	int r = archive_write_header(a, ent);
	/* WARN: a name that is not UTF-8, written as the bytes it is (hdrcharset=BINARY). */
	if (r < ARCHIVE_WARN)
		return img_tar_error(a, s, archive_entry_pathname(ent), e);
	return 0;
}

int img_tar_copy(struct archive *a, struct img_tar_sink *s, int fd, int64_t size, const char *what, berr *e)
{
	_cleanup_free_ char *buf = malloc(COPY_SIZE);
	if (!buf)
		return berr_set(e, ENOMEM, "%s", what);
	int64_t left = size;
	while (left > 0) {
		size_t want = left < COPY_SIZE ? (size_t)left : COPY_SIZE;
		ssize_t n = read(fd, buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return berr_sys(e, "%s: reading", what);
		}
		if (n == 0)
			return berr_plain(e, EIO, "%s: the file ended %lld bytes early", what, (long long)left);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return img_tar_error(a, s, what, e);
		left -= n;
	}
	return 0;
}

int img_tar_close(struct archive *a, struct img_tar_sink *s, berr *e)
{
	if (archive_write_close(a) != ARCHIVE_OK)
		return img_tar_error(a, s, "finishing the tar", e);
	return 0;
}
