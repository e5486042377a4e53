#include "image/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/fs.h"

/* Blobs never change once written: read-only for everyone who can reach them (the root is 0700). */
#define BLOB_MODE 0444

struct img_store {
	char *blobs_dir;  /* <root>/blobs/sha256 */
	char *ingest_dir; /* <root>/blobs/ingest */
	int blobs_fd;
	int ingest_fd;
};

struct img_blob_writer {
	struct img_store *s;
	int fd;
	char name[17]; /* temp file in ingest_dir: 16 random hex digits */
	char *label;   /* "blob sha256:..." or, with no digest expected yet, the temp file */
	char *expected_digest;
	int64_t expected_size;
	uint64_t written;
	struct b_sha256 *hash;
	bool failed;
	bool published; /* the temp file is now the blob: nothing to remove */
};

static int check_digest(const char *digest, berr *e)
{
	if (b_digest_valid(digest))
		return 0;
	return berr_invalid(e, "invalid blob digest \"%s\": the store takes sha256:<64 lowercase hex digits>",
			    digest ? digest : "(null)");
}

static int open_dir(const char *path, berr *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "opening %s", path);
	return fd;
}

/*
 * Remove the ingest files nobody writes. A writer holds an flock on its temp file from creation to
 * the end; we unlink only what we could lock, while holding the lock, so a writer that locks its
 * file after we did finds it unlinked (st_nlink 0) and starts over with a new one.
 */
static int clean_ingest(struct img_store *s, berr *e)
{
	int dfd = openat(s->ingest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "opening %s", s->ingest_dir);
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return berr_sys(e, "opening %s", s->ingest_dir);
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				return berr_sys(e, "reading %s", s->ingest_dir);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_close_ int fd =
		    openat(s->ingest_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			/* Not something a writer of ours made (a symlink, a socket ...): it goes too. */
			if (unlinkat(s->ingest_fd, de->d_name, 0) < 0 && errno != ENOENT)
				return berr_sys(e, "removing %s/%s", s->ingest_dir, de->d_name);
			continue;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				continue; /* a live writer */
			return berr_sys(e, "locking %s/%s", s->ingest_dir, de->d_name);
		}
		struct stat st;
		if (fstat(fd, &st) < 0)
			return berr_sys(e, "inspecting %s/%s", s->ingest_dir, de->d_name);
		if (S_ISDIR(st.st_mode)) {
			/* Nothing of ours makes directories here; do not let one block the store. */
			_cleanup_free_ char *path = NULL;
			if (asprintf(&path, "%s/%s", s->ingest_dir, de->d_name) < 0)
				return berr_set(e, ENOMEM, "cleaning %s", s->ingest_dir);
			if (b_remove_tree(path, e) < 0)
				return -1;
			continue;
		}
		if (unlinkat(s->ingest_fd, de->d_name, 0) < 0 && errno != ENOENT)
			return berr_sys(e, "removing %s/%s", s->ingest_dir, de->d_name);
	}
	return 0;
}

int img_store_open(const char *root, struct img_store **out, berr *e)
{
	struct img_store *s = calloc(1, sizeof *s);
	if (!s)
		return berr_set(e, ENOMEM, "opening content store %s", root);
	s->blobs_fd = s->ingest_fd = -1;
	if (asprintf(&s->blobs_dir, "%s/blobs/sha256", root) < 0 ||
	    asprintf(&s->ingest_dir, "%s/blobs/ingest", root) < 0) {
		img_store_close(s);
		return berr_set(e, ENOMEM, "opening content store %s", root);
	}
	if (b_mkdir_p(s->blobs_dir, 0700, e) < 0 || b_mkdir_p(s->ingest_dir, 0700, e) < 0 ||
	    (s->blobs_fd = open_dir(s->blobs_dir, e)) < 0 || (s->ingest_fd = open_dir(s->ingest_dir, e)) < 0 ||
	    clean_ingest(s, e) < 0) {
		img_store_close(s);
		return berr_wrap(e, "opening content store %s", root);
	}
	*out = s;
	return 0;
}

void img_store_close(struct img_store *s)
{
	if (!s)
		return;
	if (s->blobs_fd >= 0)
		close(s->blobs_fd);
	if (s->ingest_fd >= 0)
		close(s->ingest_fd);
	free(s->blobs_dir);
	free(s->ingest_dir);
	free(s);
}

/* Create, lock and return a fresh temp file in the ingest directory; its name goes to name. */
static int ingest_create(struct img_store *s, char name[17], berr *e)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t r;
		if (getrandom(&r, sizeof r, 0) != sizeof r)
			return berr_sys(e, "naming a temp file in %s", s->ingest_dir);
		snprintf(name, 17, "%016" PRIx64, r);
		_cleanup_close_ int fd =
		    openat(s->ingest_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, BLOB_MODE);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return berr_sys(e, "creating a temp file in %s", s->ingest_dir);
		}
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return berr_sys(e, "locking %s/%s", s->ingest_dir, name);
		struct stat st;
		if (fstat(fd, &st) < 0)
			return berr_sys(e, "inspecting %s/%s", s->ingest_dir, name);
		if (st.st_nlink == 0)
			continue; /* img_store_open elsewhere took it for a crashed writer's leftover */
		return steal_fd(fd);
	}
	return berr_set(e, EEXIST, "creating a temp file in %s", s->ingest_dir);
}

int img_blob_writer_new(struct img_store *s, const char *expected_digest, int64_t expected_size,
			struct img_blob_writer **out, berr *e)
{
	if (expected_digest && check_digest(expected_digest, e) < 0)
		return -1;
	if (expected_size < -1)
		return berr_invalid(e, "blob %s: invalid expected size %" PRId64,
				    expected_digest ? expected_digest : "(unknown digest)", expected_size);
	const char *sep = expected_digest ? " " : "", *what = expected_digest ? expected_digest : "";
	struct img_blob_writer *w = calloc(1, sizeof *w);
	if (!w)
		return berr_set(e, ENOMEM, "writing blob%s%s", sep, what);
	w->s = s;
	w->expected_size = expected_size;
	w->fd = ingest_create(s, w->name, e);
	if (w->fd < 0) {
		free(w);
		return berr_wrap(e, "writing blob%s%s", sep, what);
	}
	int r = expected_digest ? asprintf(&w->label, "blob %s", expected_digest)
				: asprintf(&w->label, "blob being written to %s/%s", s->ingest_dir, w->name);
	if (r < 0)
		w->label = NULL;
	if (!w->label || (expected_digest && !(w->expected_digest = strdup(expected_digest))) ||
	    !(w->hash = b_sha256_new())) {
		img_blob_writer_abort(w);
		return berr_set(e, ENOMEM, "writing blob%s%s", sep, what);
	}
	*out = w;
	return 0;
}

int img_blob_write(struct img_blob_writer *w, const void *data, size_t len, berr *e)
{
	if (w->failed)
		return berr_plain(e, EINVAL, "%s: an earlier write failed", w->label);
	if (len == 0)
		return 0;
	if (w->expected_size >= 0 && len > (uint64_t)w->expected_size - w->written) {
		w->failed = true;
		return berr_plain(e, EINVAL, "%s: more than the expected %" PRId64 " bytes", w->label,
				  w->expected_size);
	}
	if (b_write_all(w->fd, data, len) < 0) {
		w->failed = true;
		return berr_sys(e, "%s: writing %s/%s", w->label, w->s->ingest_dir, w->name);
	}
	b_sha256_update(w->hash, data, len);
	w->written += len;
	return 0;
}

void img_blob_writer_abort(struct img_blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		/* Unlink while the lock is held, then let go. */
		if (!w->published)
			unlinkat(w->s->ingest_fd, w->name, 0);
		close(w->fd);
	}
	b_sha256_free(w->hash);
	free(w->expected_digest);
	free(w->label);
	free(w);
}

/* Move the verified temp file of w to blobs/sha256/<hex> and make that durable. */
static int publish(struct img_blob_writer *w, const char *digest, berr *e)
{
	struct img_store *s = w->s;
	const char *hex = b_digest_hex(digest);
	struct stat st;
	/* Already there (an earlier or concurrent writer): it was fsynced before it became visible. */
	bool present = fstatat(s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		       (uint64_t)st.st_size == w->written;
	if (!present) {
		if (fsync(w->fd) < 0)
			return berr_sys(e, "blob %s: syncing %s/%s", digest, s->ingest_dir, w->name);
		if (renameat(s->ingest_fd, w->name, s->blobs_fd, hex) < 0)
			return berr_sys(e, "blob %s: renaming %s/%s into %s", digest, s->ingest_dir, w->name,
					s->blobs_dir);
		w->published = true;
	}
	/* When present, the writer that renamed it may not have synced the directory yet: do it here. */
	if (fsync(s->blobs_fd) < 0)
		return berr_sys(e, "blob %s: syncing %s", digest, s->blobs_dir);
	return 0;
}

int img_blob_writer_commit(struct img_blob_writer *w, char digest[B_DIGEST_LEN + 1], berr *e)
{
	if (w->failed) {
		berr_plain(e, EINVAL, "%s: an earlier write failed", w->label);
		img_blob_writer_abort(w);
		return -1;
	}
	char actual[B_DIGEST_LEN + 1];
	b_sha256_final(steal_ptr(w->hash), actual);
	int r = 0;
	if (w->expected_size >= 0 && w->written != (uint64_t)w->expected_size)
		r = berr_plain(e, EINVAL, "blob %s: size %" PRIu64 " does not match the expected %" PRId64,
			       w->expected_digest ? w->expected_digest : actual, w->written, w->expected_size);
	else if (w->expected_digest && strcmp(actual, w->expected_digest))
		r = berr_plain(e, EINVAL, "blob %s: content has digest %s", w->expected_digest, actual);
	else
		r = publish(w, actual, e);
	img_blob_writer_abort(w); /* frees w; removes the temp file unless it became the blob */
	if (r < 0)
		return -1;
	if (digest)
		memcpy(digest, actual, sizeof actual);
	return 0;
}

int img_store_put(struct img_store *s, const void *data, size_t len, const char *expected_digest,
		  char digest[B_DIGEST_LEN + 1], berr *e)
{
	struct img_blob_writer *w = NULL;
	if (img_blob_writer_new(s, expected_digest, -1, &w, e) < 0)
		return -1;
	if (img_blob_write(w, data, len, e) < 0) {
		img_blob_writer_abort(w);
		return -1;
	}
	return img_blob_writer_commit(w, digest, e);
}

bool img_store_has(struct img_store *s, const char *digest)
{
	struct stat st;
	return b_digest_valid(digest) && fstatat(s->blobs_fd, b_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

int img_store_open_blob(struct img_store *s, const char *digest, int *fd, int64_t *size, berr *e)
{
	if (check_digest(digest, e) < 0)
		return -1;
	_cleanup_close_ int f = openat(s->blobs_fd, b_digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT)
			return berr_plain(e, ENOENT, "blob %s not found", digest);
		return berr_sys(e, "blob %s: opening %s/%s", digest, s->blobs_dir, b_digest_hex(digest));
	}
	struct stat st;
	if (fstat(f, &st) < 0)
		return berr_sys(e, "blob %s: inspecting %s/%s", digest, s->blobs_dir, b_digest_hex(digest));
	if (!S_ISREG(st.st_mode))
		return berr_plain(e, EIO, "blob %s: %s/%s is not a regular file", digest, s->blobs_dir,
				  b_digest_hex(digest));
	if (size)
		*size = st.st_size;
	*fd = steal_fd(f);
	return 0;
}

int img_store_read(struct img_store *s, const char *digest, size_t max, bool verify, char **data, size_t *len, berr *e)
{
	_cleanup_close_ int fd = -1;
	int64_t size = 0;
	if (img_store_open_blob(s, digest, &fd, &size, e) < 0)
		return -1;
	if ((uint64_t)size > max || (uint64_t)size >= SIZE_MAX)
		return berr_plain(e, EFBIG, "blob %s: size %" PRId64 " is more than the limit of %zu bytes", digest,
				  size, max);
	size_t want = (size_t)size;
	_cleanup_free_ char *buf = malloc(want + 1);
	if (!buf)
		return berr_set(e, ENOMEM, "blob %s: reading %zu bytes", digest, want);
	size_t used = 0;
	while (used < want) {
		ssize_t r = read(fd, buf + used, want - used);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return berr_sys(e, "blob %s: reading %s/%s", digest, s->blobs_dir, b_digest_hex(digest));
		}
		if (r == 0)
			return berr_plain(e, EIO, "blob %s: file ended after %zu of %zu bytes", digest, used, want);
		used += (size_t)r;
	}
	buf[used] = '\0';
	if (verify) {
		char actual[B_DIGEST_LEN + 1];
		b_sha256_of(buf, used, actual);
		if (strcmp(actual, digest))
			return berr_plain(e, EIO, "blob %s: corrupt in the store: content has digest %s", digest,
					  actual[0] ? actual : "(none: out of memory)");
	}
	if (len)
		*len = used;
	*data = steal_ptr(buf);
	return 0;
}

char *img_store_blob_path(struct img_store *s, const char *digest)
{
	if (!b_digest_valid(digest))
		return NULL;
	char *p = NULL;
	if (asprintf(&p, "%s/%s", s->blobs_dir, b_digest_hex(digest)) < 0)
		return NULL;
	return p;
}

int img_store_delete(struct img_store *s, const char *digest, berr *e)
{
	if (check_digest(digest, e) < 0)
		return -1;
	if (unlinkat(s->blobs_fd, b_digest_hex(digest), 0) < 0 && errno != ENOENT)
		return berr_sys(e, "deleting blob %s", digest);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int img_store_list(struct img_store *s, char ***digests, size_t *n, berr *e)
{
	int dfd = openat(s->blobs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "listing %s", s->blobs_dir);
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return berr_sys(e, "listing %s", s->blobs_dir);
	}
	_cleanup_strv_ char **v = calloc(1, sizeof *v);
	size_t count = 0, cap = 1; /* cap counts the NULL slot */
	if (!v)
		return berr_set(e, ENOMEM, "listing %s", s->blobs_dir);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				return berr_sys(e, "listing %s", s->blobs_dir);
			break;
		}
		char digest[B_DIGEST_LEN + 1] = "sha256:";
		if (strlen(de->d_name) != B_DIGEST_LEN - 7)
			continue;
		memcpy(digest + 7, de->d_name, B_DIGEST_LEN - 7 + 1);
		if (!b_digest_valid(digest))
			continue; /* not a blob (nothing of ours puts other names here) */
		if (de->d_type != DT_REG) {
			struct stat st;
			if (de->d_type != DT_UNKNOWN ||
			    fstatat(s->blobs_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
				continue;
		}
		if (count + 1 == cap) {
			char **nv = reallocarray(v, cap * 2, sizeof *v);
			if (!nv)
				return berr_set(e, ENOMEM, "listing %s", s->blobs_dir);
			v = nv;
			cap *= 2;
		}
		if (!(v[count] = strdup(digest)))
			return berr_set(e, ENOMEM, "listing %s", s->blobs_dir);
		v[++count] = NULL;
	}
	qsort(v, count, sizeof *v, cmp_str);
	*digests = steal_ptr(v);
	if (n)
		*n = count;
	return 0;
}

int img_store_prune(struct img_store *s, bool (*keep)(const char *digest, void *arg), void *arg, uint64_t *freed,
		    berr *e)
{
	_cleanup_strv_ char **all = NULL;
	size_t n = 0;
	if (freed)
		*freed = 0;
	if (img_store_list(s, &all, &n, e) < 0)
		return berr_wrap(e, "pruning the content store");
	for (size_t i = 0; i < n; i++) {
		if (keep(all[i], arg))
			continue;
		const char *hex = b_digest_hex(all[i]);
		struct stat st;
		if (fstatat(s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return berr_sys(e, "pruning blob %s", all[i]);
		}
		if (unlinkat(s->blobs_fd, hex, 0) < 0) {
			if (errno == ENOENT)
				continue;
			return berr_sys(e, "pruning blob %s", all[i]);
		}
		if (freed)
			*freed += (uint64_t)st.st_size;
	}
	if (fsync(s->blobs_fd) < 0)
		return berr_sys(e, "pruning the content store: syncing %s", s->blobs_dir);
	return 0;
}
