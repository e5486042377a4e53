/*
 * Writing tars with libarchive over a file descriptor, hashing what goes out: what `docker save`,
 * the canonical layer tars, commit and export share.
 */
#pragma once
#include <stdint.h>

#include "lib/digest.h"
#include "lib/err.h"
#include "lib/libarchive_lazy.h"

/* Where a tar goes: fd, hashed on the way when hash is set. */
struct img_tar_sink {
	int fd;
	struct b_sha256 *hash; /* NULL: not hashed */
	uint64_t size;         /* bytes written */
	int err;               /* errno of a failed write */
};

/* A pax (ustar where it can) writer into s that ends right after the end-of-archive blocks. */
struct archive *img_tar_open(struct img_tar_sink *s, berr *e);
/* The error of a failed libarchive call on a, about what. */
int img_tar_error(struct archive *a, struct img_tar_sink *s, const char *what, berr *e);
/* Write an entry's header (a name that is not UTF-8 is written as the bytes it is). */
int img_tar_header(struct archive *a, struct img_tar_sink *s, struct archive_entry *ent, berr *e);
/* The rest of fd (size bytes) as the data of the entry just written; what names it in errors. */
int img_tar_copy(struct archive *a, struct img_tar_sink *s, int fd, int64_t size, const char *what, berr *e);
/* The end-of-archive blocks. */
int img_tar_close(struct archive *a, struct img_tar_sink *s, berr *e);

/* Free a writer of img_tar_open (libarchive is held while one is open). */
void img_tar_free(struct archive *a);
static inline void img_tar_writer_freep(struct archive **a)
{
	if (*a)
		img_tar_free(*a);
}
#define _cleanup_tar_writer_ __attribute__((cleanup(img_tar_writer_freep)))

static inline void img_tar_entry_freep(struct archive_entry **ent)
{
	if (*ent)
		archive_entry_free(*ent);
}
#define _cleanup_tar_entry_ __attribute__((cleanup(img_tar_entry_freep)))
