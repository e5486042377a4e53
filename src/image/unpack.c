/*
 * Layer unpacking: the stream (read, hash, decompress, hash) and the temp dir that becomes the
 * layer. The bytes pass once: a read callback hashes them as read (compressed digest), libarchive's
 * "raw" format decompresses them, and the decompressed blocks are hashed (diff_id) on their way
 * into a second libarchive reader that parses the tar. The entries go to unpack_tree.c.
 */
#include "image/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "lib/cleanup.h"
#include "lib/libarchive_lazy.h"

#define READ_SIZE (1 << 20)

/* ---- the stream: fd -> compressed digest -> decompression -> diff_id ---- */

/*
 * Two threads: the decoder reads, hashes and decompresses into a ring of buffers; the caller's
 * thread parses the tar from them and writes the files. Reading and decompressing overlap with
 * the system calls of extraction, as in `tar -xzf` with its gzip process.
 */
#define NBUF 4

struct decoder {
	int fd;
	bool fd_poll; /* a pipe or socket: wait for it with poll, so that a stop is heard */
	unsigned char *rbuf;
	size_t rpending; /* bytes read ahead to sniff the format, handed out first */
	bool fd_eof;
	struct b_sha256 *hc, *hu;
	uint64_t csize, usize;
	struct archive *outer; /* NULL: the layer is a plain tar */
	const char *compression;
	const unsigned char *rest; /* what is left of the last decompressed block */
	size_t rest_len;
	bool outer_eof;
	bool failed;
	char *err; /* why the stream failed (NULL if even that message could not be made) */
	int errnum;
	bool reported; /* the tar reader got that failure (set on its side) */

	/* The ring: buffers are filled in order and handed out in order. */
	pthread_mutex_t mu;
	pthread_cond_t cv_full, cv_free;
	unsigned char *bufs[NBUF];
	size_t lens[NBUF];
	uint64_t produced, consumed, released;
	bool held; /* the tar reader holds bufs[(consumed - 1) % NBUF] */
	bool done; /* the decoder has finished (end or error) */
	bool stop; /* the tar reader wants nothing more */
	int wakefd;
	bool started;
	pthread_t thread;
};

__attribute__((format(printf, 3, 4))) static void decoder_fail(struct decoder *d, int errnum, const char *fmt, ...)
{
	if (d->failed)
		return;
	d->failed = true;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&d->err, fmt, ap) < 0)
		d->err = NULL;
	va_end(ap);
	d->errnum = errnum;
}

static const char *decoder_msg(const struct decoder *d)
{
	return d->err ? d->err : "reading the layer: out of memory";
}

static bool decoder_stopped(struct decoder *d)
{
	pthread_mutex_lock(&d->mu);
	bool stop = d->stop;
	pthread_mutex_unlock(&d->mu);
	return stop;
}

/* read() that a stop interrupts while it waits on a pipe. -2: stopped. */
static ssize_t read_fd(struct decoder *d, void *buf, size_t len)
{
	for (;;) {
		if (d->fd_poll) {
			struct pollfd p[2] = {{.fd = d->fd, .events = POLLIN}, {.fd = d->wakefd, .events = POLLIN}};
			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (p[1].revents)
				return -2;
		}
		ssize_t n = read(d->fd, buf, len);
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			return n;
		if (errno == EAGAIN && !d->fd_poll)
			d->fd_poll = true;
	}
}

/* Raw bytes from fd, hashed as they pass, into buf (or, for buf NULL, d->rbuf: *out). >0, 0 at the end, -1. */
static ssize_t read_raw(struct decoder *d, unsigned char *buf, size_t len, const void **out)
{
	if (d->rpending) {
		ssize_t n = (ssize_t)d->rpending;
		d->rpending = 0;
		if (buf)
			memcpy(buf, d->rbuf, (size_t)n); /* n <= READ_SIZE, the size of every buffer */
		else
			*out = d->rbuf;
		return n;
	}
	if (d->fd_eof)
		return 0;
	unsigned char *dst = buf ? buf : d->rbuf;
	ssize_t n = read_fd(d, dst, buf ? len : READ_SIZE);
	if (n == -2) {
		decoder_fail(d, ECANCELED, "reading the layer: stopped");
		return -1;
	}
	if (n < 0) {
		decoder_fail(d, errno, "reading the layer: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		d->fd_eof = true;
	b_sha256_update(d->hc, dst, (size_t)n);
	d->csize += (uint64_t)n;
	if (!buf)
		*out = d->rbuf;
	return n;
}

static la_ssize_t outer_read(struct archive *a, void *ud, const void **buf)
{
	struct decoder *d = ud;
	ssize_t n = read_raw(d, NULL, 0, buf);
	if (n < 0)
		archive_set_error(a, d->errnum, "%s", decoder_msg(d));
	return n;
}

/* Read ahead until the compression can be told from the first bytes (or the stream ends). */
static int sniff(struct decoder *d)
{
	while (d->rpending < 6 && !d->fd_eof) {
		ssize_t n = read_fd(d, d->rbuf + d->rpending, READ_SIZE - d->rpending);
		if (n < 0) {
			decoder_fail(d, errno, "reading the layer: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			d->fd_eof = true;
		b_sha256_update(d->hc, d->rbuf + d->rpending, (size_t)n);
		d->csize += (uint64_t)n;
		d->rpending += (size_t)n;
	}
	static const struct {
		const char *name;
		int filter;
		size_t len;
		unsigned char magic[6];
	} magics[] = {
	    {"gzip", ARCHIVE_FILTER_GZIP, 2, {0x1f, 0x8b}},
	    {"zstd", ARCHIVE_FILTER_ZSTD, 4, {0x28, 0xb5, 0x2f, 0xfd}},
	    {"xz", ARCHIVE_FILTER_XZ, 6, {0xfd, '7', 'z', 'X', 'Z', 0x00}},
	    {"bzip2", ARCHIVE_FILTER_BZIP2, 3, {'B', 'Z', 'h'}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(magics); i++) {
		if (d->rpending < magics[i].len || memcmp(d->rbuf, magics[i].magic, magics[i].len) != 0)
			continue;
		d->compression = magics[i].name;
		d->outer = archive_read_new();
		if (!d->outer) {
			decoder_fail(d, ENOMEM, "decompressing the layer: out of memory");
			return -1;
		}
		/*
		 * One filter named explicitly: no bidding, so no stacking of filters and no external
		 * program. ARCHIVE_WARN would mean the filter runs a program: the engine never shells out.
		 */
		if (archive_read_support_format_raw(d->outer) != ARCHIVE_OK ||
		    archive_read_append_filter(d->outer, magics[i].filter) != ARCHIVE_OK) {
			decoder_fail(d, ENOTSUP, "%s layers are not supported by this libarchive", magics[i].name);
			return -1;
		}
		struct archive_entry *ent;
		if (archive_read_open(d->outer, d, NULL, outer_read, NULL) != ARCHIVE_OK ||
		    archive_read_next_header(d->outer, &ent) != ARCHIVE_OK) {
			decoder_fail(d, EINVAL, "decompressing the layer (%s): %s", d->compression,
				     archive_error_string(d->outer));
			return -1;
		}
		return 0;
	}
	d->compression = "none";
	return 0;
}

/* Fill buf with the next bytes of the uncompressed tar. >0, 0 at the end, -1 on error. */
static ssize_t decode(struct decoder *d, unsigned char *buf, size_t cap)
{
	if (!d->outer)
		return read_raw(d, buf, cap, NULL); /* plain: the diff_id is the compressed digest */
	size_t len = 0;
	while (len < cap) {
		if (!d->rest_len) {
			if (d->outer_eof)
				break;
			const void *p;
			size_t n;
			la_int64_t off;
			int r = archive_read_data_block(d->outer, &p, &n, &off);
			if (r == ARCHIVE_EOF) {
				d->outer_eof = true;
				break;
			}
			if (r != ARCHIVE_OK) {
				decoder_fail(d, archive_errno(d->outer) > 0 ? archive_errno(d->outer) : EINVAL,
					     "decompressing the layer (%s): %s", d->compression,
					     archive_error_string(d->outer));
				return -1;
			}
			d->rest = p;
			d->rest_len = n;
		}
		size_t take = d->rest_len < cap - len ? d->rest_len : cap - len;
		memcpy(buf + len, d->rest, take);
		d->rest += take;
		d->rest_len -= take;
		len += take;
	}
	b_sha256_update(d->hu, buf, len);
	d->usize += len;
	return (ssize_t)len;
}

static void *decoder_main(void *arg)
{
	struct decoder *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->mu);
		while (!d->stop && d->produced - d->released == NBUF)
			pthread_cond_wait(&d->cv_free, &d->mu);
		bool stop = d->stop;
		unsigned char *buf = d->bufs[d->produced % NBUF];
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		ssize_t n = decode(d, buf, READ_SIZE);
		if (n <= 0) {
			/* Both digests cover everything: read what follows the compressed stream too. */
			const void *p;
			while (n == 0 && !decoder_stopped(d) && (n = read_raw(d, NULL, 0, &p)) > 0)
				n = 0;
			break;
		}
		pthread_mutex_lock(&d->mu);
		d->lens[d->produced % NBUF] = (size_t)n;
		d->produced++;
		pthread_cond_signal(&d->cv_full);
		pthread_mutex_unlock(&d->mu);
	}
	pthread_mutex_lock(&d->mu);
	d->done = true;
	pthread_cond_signal(&d->cv_full);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* Start the decoder thread (signals stay with the caller's threads). */
static int decoder_start(struct decoder *d)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&d->thread, NULL, decoder_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		decoder_fail(d, r, "starting the decoder: %s", strerror(r));
		return -1;
	}
	d->started = true;
	return 0;
}

/* Stop the decoder thread and wait for it. */
static void decoder_join(struct decoder *d)
{
	if (!d->started)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv_free);
	pthread_mutex_unlock(&d->mu);
	uint64_t one = 1;
	if (write(d->wakefd, &one, sizeof one) < 0) {
		/* an eventfd write only fails on overflow: it is readable then anyway */
	}
	pthread_join(d->thread, NULL);
	d->started = false;
}

/* The next block for the tar reader (the previous one goes back). >0, 0 at the end, -1 on error. */
static ssize_t decoder_next(struct decoder *d, const void **buf)
{
	pthread_mutex_lock(&d->mu);
	if (d->held) {
		d->released++;
		d->held = false;
		pthread_cond_signal(&d->cv_free);
	}
	while (d->consumed == d->produced && !d->done)
		pthread_cond_wait(&d->cv_full, &d->mu);
	ssize_t n = 0;
	if (d->consumed < d->produced) {
		unsigned i = (unsigned)(d->consumed % NBUF);
		*buf = d->bufs[i];
		n = (ssize_t)d->lens[i];
		d->consumed++;
		d->held = true;
	} else if (d->failed) {
		n = -1;
	}
	pthread_mutex_unlock(&d->mu);
	return n;
}

/* Read what the tar reader left (padding, trailing bytes): both digests cover everything. */
static int decoder_drain(struct decoder *d)
{
	const void *buf;
	ssize_t n;
	while ((n = decoder_next(d, &buf)) > 0)
		;
	if (n < 0)
		d->reported = true;
	return n < 0 ? -1 : 0;
}

static la_ssize_t inner_read(struct archive *a, void *ud, const void **buf)
{
	struct decoder *d = ud;
	ssize_t n = decoder_next(d, buf);
	if (n < 0) {
		d->reported = true;
		archive_set_error(a, d->errnum, "%s", decoder_msg(d));
	}
	return n;
}

static int decoder_init(struct decoder *d, int fd)
{
	*d = (struct decoder){.fd = fd, .wakefd = -1};
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	d->fd_poll = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		errno = ENOMEM;
		return -1;
	}
	pthread_cond_init(&d->cv_full, NULL);
	pthread_cond_init(&d->cv_free, NULL);
	if ((d->wakefd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -1;
	d->hc = b_sha256_new();
	d->hu = b_sha256_new();
	d->rbuf = malloc(READ_SIZE);
	if (!d->hc || !d->hu || !d->rbuf) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < NBUF; i++) {
		if (!(d->bufs[i] = malloc(READ_SIZE))) {
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

static void decoder_free(struct decoder *d)
{
	decoder_join(d);
	if (d->outer)
		archive_read_free(d->outer);
	b_sha256_free(d->hc);
	b_sha256_free(d->hu);
	free(d->rbuf);
	for (size_t i = 0; i < NBUF; i++)
		free(d->bufs[i]);
	if (d->wakefd >= 0)
		close(d->wakefd);
	pthread_cond_destroy(&d->cv_full);
	pthread_cond_destroy(&d->cv_free);
	pthread_mutex_destroy(&d->mu);
	free(d->err);
}

/* ---- extraction ---- */

/* The stream's error when the tar reader failed for it, else the tar reader's own. */
static int archive_fail(berr *e, struct decoder *d, struct archive *a, const char *what)
{
	decoder_join(d);
	if (d->reported && d->failed) {
		berr_invalid(e, "%s", decoder_msg(d));
		e->errnum = d->errnum;
		return -1;
	}
	berr_invalid(e, "%s: %s", what, archive_error_string(a));
	if (archive_errno(a) > 0)
		e->errnum = archive_errno(a);
	return -1;
}

/* Stream the layer from d into the tree at rootfd. */
static int extract_in_locale(struct decoder *d, int rootfd, uint64_t *entries, berr *e)
{
	struct archive *a = archive_read_new();
	if (!a)
		return berr_set(e, ENOMEM, "reading the layer");
	struct img_unpack_tree *t = img_unpack_tree_new(rootfd);
	int ret = -1;
	if (!t) {
		berr_set(e, ENOMEM, "reading the layer");
		goto out;
	}
	/* Tar only (ustar, pax, GNU); an empty stream is an empty layer. */
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open(a, d, NULL, inner_read, NULL) != ARCHIVE_OK) {
		archive_fail(e, d, a, "reading the layer");
		goto out;
	}
	for (;;) {
		struct archive_entry *ent;
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		/*
		 * Names are bytes, as Docker sees them. A pax name that is not UTF-8 cannot be
		 * converted to the locale's charset: libarchive warns and keeps the bytes as they
		 * are, which is what we want. Any other warning (a damaged header): refused.
		 */
		if (r == ARCHIVE_WARN && archive_errno(a) == EILSEQ &&
		    strstr(archive_error_string(a) ? archive_error_string(a) : "", "can't be converted"))
			r = ARCHIVE_OK;
		if (r != ARCHIVE_OK) {
			archive_fail(e, d, a, "reading the layer");
			goto out;
		}
		(*entries)++;
		if (img_unpack_tree_apply(t, a, ent, e) < 0)
			goto out;
	}
	if (decoder_drain(d) < 0) {
		archive_fail(e, d, a, "reading the layer");
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

/*
 * Pax names are UTF-8 and libarchive converts them to the locale's charset: in the "C" locale of a
 * daemon every non-ASCII name would fail to convert. This thread reads them in C.UTF-8, where the
 * conversion is a copy.
 */
static int extract(struct decoder *d, int rootfd, uint64_t *entries, berr *e)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
	int r = extract_in_locale(d, rootfd, entries, e);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return r;
}

/* ---- the temp dir and the public face ---- */

/* Create the temp dir <prefix><base>-<random> in parentfd, locked, ours alone; return its fd. */
static int make_temp_dir(int parentfd, const char *base, char **name, berr *e)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
			return berr_sys(e, "creating a temp dir");
		free(*name);
		if (asprintf(name, IMG_UNPACK_TMP_PREFIX "%.64s-%016llx", base, (unsigned long long)rnd) < 0) {
			*name = NULL;
			return berr_set(e, ENOMEM, "creating a temp dir");
		}
		if (mkdirat(parentfd, *name, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return berr_sys(e, "creating temp dir %s", *name);
		}
		_cleanup_close_ int fd = openat(parentfd, *name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0) {
			berr_sys(e, "opening temp dir %s", *name);
			img_unpack_remove_tree_at(parentfd, *name);
			return -1;
		}
		/* A cleanup may have taken it between mkdir and flock: then it is gone; try another. */
		struct stat a, b;
		if (fstat(fd, &a) < 0 || fstatat(parentfd, *name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			continue;
		/*
		 * Nothing inherited from the parent: no setgid group, no default ACL that would give
		 * every entry an ACL of its own.
		 */
		if (fchown(fd, geteuid(), getegid()) < 0 || fchmod(fd, 0700) < 0) {
			berr_sys(e, "preparing temp dir %s", *name);
			img_unpack_remove_tree_at(parentfd, *name);
			return -1;
		}
		for (size_t i = 0; i < 2; i++) {
			const char *acl = i ? "system.posix_acl_default" : "system.posix_acl_access";
			if (fremovexattr(fd, acl) < 0 && errno != ENODATA && errno != EOPNOTSUPP) {
				berr_sys(e, "preparing temp dir %s", *name);
				img_unpack_remove_tree_at(parentfd, *name);
				return -1;
			}
		}
		return steal_fd(fd);
	}
	return berr_set(e, EEXIST, "creating a temp dir");
}

static int check_digest(const char *what, const char *expected, const char *got, berr *e)
{
	if (expected && strcmp(expected, got) != 0)
		return berr_plain(e, EIO, "%s mismatch: expected %s, got %s", what, expected, got);
	return 0;
}

static int unpack(int fd, int parentfd, const char *base, const char *expected_compressed, const char *expected_diff_id,
		  struct img_unpack_result *res, berr *e)
{
	_cleanup_lazy_release_ struct lazy_lib *held = lazy_lib_held(&libarchive_lib, e);
	if (!held)
		return -1;
	struct stat st;
	if (fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return berr_set(e, EEXIST, "checking the destination");
	if (errno != ENOENT)
		return berr_sys(e, "checking the destination");

	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int rootfd = make_temp_dir(parentfd, base, &tmp, e);
	if (rootfd < 0)
		return -1;

	struct decoder d;
	struct img_unpack_result r = {0};
	int ret = -1, rr;
	if (decoder_init(&d, fd) < 0) {
		berr_sys(e, "reading the layer");
		goto out;
	}
	if (sniff(&d) < 0 || decoder_start(&d) < 0) {
		berr_invalid(e, "%s", decoder_msg(&d));
		e->errnum = d.errnum;
		goto out;
	}
	if (extract(&d, rootfd, &r.entries, e) < 0)
		goto out;
	decoder_join(&d);
	r.compressed_size = d.csize;
	r.uncompressed_size = d.outer ? d.usize : d.csize;
	b_sha256_final(steal_ptr(d.hc), r.compressed_digest);
	if (d.outer)
		b_sha256_final(steal_ptr(d.hu), r.diff_id);
	else
		memcpy(r.diff_id, r.compressed_digest, sizeof r.diff_id);
	if (check_digest("compressed digest", expected_compressed, r.compressed_digest, e) < 0 ||
	    check_digest("diff_id", expected_diff_id, r.diff_id, e) < 0)
		goto out;

	/* One sync for the whole layer, then it appears whole or not at all. */
	if (syncfs(rootfd) < 0) {
		berr_sys(e, "syncing the layer");
		goto out;
	}
	rr = renameat2(parentfd, tmp, parentfd, base, RENAME_NOREPLACE);
	if (rr < 0 && errno == EINVAL) {
		/* A filesystem without RENAME_NOREPLACE: check, then rename (an empty dir there would go). */
		if (fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
			errno = EEXIST;
		else
			rr = renameat(parentfd, tmp, parentfd, base);
	}
	if (rr < 0) {
		berr_sys(e, "renaming %s into place", tmp);
		goto out;
	}
	if (fsync(parentfd) < 0) {
		/* The layer is in place; only its name's durability is in doubt. Take it back. */
		berr_sys(e, "syncing the layer's directory");
		img_unpack_remove_tree_at(parentfd, base);
		goto out_done;
	}
	if (res)
		*res = r;
	ret = 0;
	goto out_done;
out:
	img_unpack_remove_tree_at(parentfd, tmp);
out_done:
	decoder_free(&d);
	return ret;
}

int img_layer_unpack(int fd, const char *dest, const char *expected_compressed_digest, const char *expected_diff_id,
		     struct img_unpack_result *res, berr *e)
{
	if (expected_compressed_digest && !b_digest_valid(expected_compressed_digest))
		return berr_invalid(e, "unpacking layer to %s: invalid expected digest \"%s\"", dest,
				    expected_compressed_digest);
	if (expected_diff_id && !b_digest_valid(expected_diff_id))
		return berr_invalid(e, "unpacking layer to %s: invalid expected diff_id \"%s\"", dest,
				    expected_diff_id);
	/* Split dest into its parent and its name (trailing slashes dropped). */
	_cleanup_free_ char *path = strdup(dest);
	if (!path)
		return berr_set(e, ENOMEM, "unpacking layer to %s", dest);
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *parent = slash ? (slash == path ? "/" : path) : ".";
	if (slash)
		*slash = '\0';
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return berr_invalid(e, "unpacking layer to %s: not a name for a new directory", dest);
	/* layers/<id>/diff: layers/<id> is made if missing (and goes again if the unpack fails). */
	bool made_parent = false;
	_cleanup_close_ int parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd < 0 && errno == ENOENT && mkdir(parent, 0700) == 0) {
		made_parent = true;
		parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (parentfd < 0) {
		berr_sys(e, "unpacking layer to %s: opening %s", dest, parent);
		if (made_parent)
			rmdir(parent);
		return -1;
	}
	if (unpack(fd, parentfd, base, expected_compressed_digest, expected_diff_id, res, e) < 0) {
		if (made_parent)
			rmdir(parent); /* fails if another unpack works in it now: then it stays */
		return berr_wrap(e, "unpacking layer to %s", dest);
	}
	return 0;
}

/* Remove name in dirfd if it is a temp dir nobody holds. */
static int remove_stale(int dirfd, const char *name, const char *where, berr *e)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
			   ? 0
			   : berr_sys(e, "opening %s/%s", where, name);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : berr_sys(e, "locking %s/%s", where, name);
	if (img_unpack_remove_tree_at(dirfd, name) < 0)
		return berr_sys(e, "removing %s/%s", where, name);
	return 0;
}

static int cleanup_dir(int dirfd, const char *where, bool descend, berr *e)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return berr_sys(e, "reading %s", where);
	_cleanup_closedir_ DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return berr_sys(e, "reading %s", where);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (strncmp(de->d_name, IMG_UNPACK_TMP_PREFIX, strlen(IMG_UNPACK_TMP_PREFIX)) == 0) {
			if (remove_stale(dirfd, de->d_name, where, e) < 0)
				return -1;
			continue;
		}
		if (!descend)
			continue;
		_cleanup_close_ int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			return berr_sys(e, "opening %s/%s", where, de->d_name);
		}
		_cleanup_free_ char *subwhere = NULL;
		if (asprintf(&subwhere, "%s/%s", where, de->d_name) < 0)
			return berr_set(e, ENOMEM, "reading %s", where);
		if (cleanup_dir(sub, subwhere, false, e) < 0)
			return -1;
	}
	if (errno)
		return berr_sys(e, "reading %s", where);
	return 0;
}

int img_layer_unpack_cleanup(const char *layers_dir, berr *e)
{
	_cleanup_close_ int fd = open(layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "cleaning up %s", layers_dir);
	if (cleanup_dir(fd, layers_dir, true, e) < 0)
		return berr_wrap(e, "cleaning up %s", layers_dir);
	return 0;
}
