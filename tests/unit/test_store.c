/* Content store: verified, atomic, crash-safe blobs under blobs/sha256. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/store.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fs.h"

/* Checks inside a forked child: report on stderr and exit non-zero (never run cmocka there). */
#define CHILD_CHECK(cond)                                                                                            \
	do {                                                                                                         \
		if (!(cond)) {                                                                                       \
			dprintf(2, "child: %s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			_exit(1);                                                                                    \
		}                                                                                                    \
	} while (0)

struct fixture {
	char *root;
	struct img_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	char tmpl[] = "/tmp/berth-test-store-XXXXXX";
	if (!mkdtemp(tmpl) || !(f->root = strdup(tmpl))) {
		free(f);
		return -1;
	}
	berr e = {0};
	if (img_store_open(f->root, &f->s, &e) < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
		b_remove_tree(f->root, &e);
		berr_clear(&e);
		free(f->root);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	img_store_close(f->s);
	int r = b_remove_tree(f->root, &e);
	berr_clear(&e);
	free(f->root);
	free(f);
	return r;
}

/* Entries (other than . and ..) in <root>/<sub>; -1 when it cannot be read. */
static int count_entries(const char *root, const char *sub)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", root, sub) < 0)
		return -1;
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	return n;
}

static void assert_store_empty(const char *root)
{
	assert_int_equal(count_entries(root, "blobs/sha256"), 0);
	assert_int_equal(count_entries(root, "blobs/ingest"), 0);
}

/* The error happened and its message holds needle. */
static void assert_err_has(berr *e, const char *needle)
{
	if (!strstr(berr_msg(e), needle))
		fail_msg("error \"%s\" does not contain \"%s\"", berr_msg(e), needle);
	berr_clear(e);
}

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	const char *data = "{\"schemaVersion\":2}";
	size_t len = strlen(data);
	char want[B_DIGEST_LEN + 1], got[B_DIGEST_LEN + 1];
	b_sha256_of(data, len, want);

	assert_false(img_store_has(f->s, want));
	assert_int_equal(img_store_put(f->s, data, len, want, got, &e), 0);
	assert_string_equal(got, want);
	assert_true(img_store_has(f->s, want));
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 0);

	/* Same content again, with and without the expected digest: fine, still one blob. */
	assert_int_equal(img_store_put(f->s, data, len, NULL, got, &e), 0);
	assert_string_equal(got, want);
	assert_int_equal(img_store_put(f->s, data, len, want, NULL, &e), 0);
	assert_int_equal(count_entries(f->root, "blobs/sha256"), 1);

	char *out = NULL;
	size_t outlen = 0;
	assert_int_equal(img_store_read(f->s, want, 1024, true, &out, &outlen, &e), 0);
	assert_int_equal(outlen, len);
	assert_memory_equal(out, data, len);
	assert_int_equal(out[len], '\0');
	free(out);

	int fd = -1;
	int64_t size = -1;
	assert_int_equal(img_store_open_blob(f->s, want, &fd, &size, &e), 0);
	assert_int_equal(size, (int64_t)len);
	int fl = fcntl(fd, F_GETFD);
	assert_true(fl >= 0 && (fl & FD_CLOEXEC));
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	char buf[64];
	assert_int_equal(read(fd, buf, sizeof buf), (ssize_t)len);
	assert_memory_equal(buf, data, len);
	close(fd);

	_cleanup_free_ char *path = img_store_blob_path(f->s, want);
	_cleanup_free_ char *expect_path = NULL;
	assert_true(asprintf(&expect_path, "%s/blobs/sha256/%s", f->root, want + 7) > 0);
	assert_string_equal(path, expect_path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0222, 0); /* blobs are read-only */

	/* The empty blob is a blob too. */
	assert_int_equal(img_store_put(f->s, "", 0, NULL, got, &e), 0);
	assert_string_equal(got, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(img_store_read(f->s, got, 0, true, &out, &outlen, &e), 0);
	assert_int_equal(outlen, 0);
	free(out);

	_cleanup_strv_ char **list = NULL;
	size_t n = 0;
	assert_int_equal(img_store_list(f->s, &list, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(list[0], list[1]) < 0);
	assert_true(!strcmp(list[0], want) || !strcmp(list[1], want));
	assert_true(!strcmp(list[0], got) || !strcmp(list[1], got));
	assert_null(list[2]);

	assert_int_equal(img_store_delete(f->s, want, &e), 0);
	assert_false(img_store_has(f->s, want));
	assert_int_equal(img_store_delete(f->s, want, &e), 0); /* missing is fine */
	assert_int_equal(img_store_open_blob(f->s, want, &fd, &size, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	char msg[128];
	snprintf(msg, sizeof msg, "blob %s not found", want);
	assert_string_equal(berr_msg(&e), msg);
	berr_clear(&e);
	assert_int_equal(img_store_read(f->s, want, 1024, false, &out, &outlen, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	berr_clear(&e);
}

static void test_list_sorted(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char d[20][B_DIGEST_LEN + 1];
	for (int i = 0; i < 20; i++) {
		unsigned char buf[100];
		fill(buf, sizeof buf, (uint64_t)i);
		assert_int_equal(img_store_put(f->s, buf, sizeof buf, NULL, d[i], &e), 0);
	}
	/* Something that is not a blob in blobs/sha256 is not listed. */
	_cleanup_free_ char *stray = NULL;
	assert_true(asprintf(&stray, "%s/blobs/sha256/README", f->root) > 0);
	assert_int_equal(b_write_file(stray, "x", 1, 0600, &e), 0);

	_cleanup_strv_ char **list = NULL;
	size_t n = 0;
	assert_int_equal(img_store_list(f->s, &list, &n, &e), 0);
	assert_int_equal(n, 20);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(list[i - 1], list[i]) < 0);
	for (int i = 0; i < 20; i++) {
		bool found = false;
		for (size_t j = 0; j < n; j++)
			found |= !strcmp(list[j], d[i]);
		assert_true(found);
	}
}

static void test_wrong_digest(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char other[B_DIGEST_LEN + 1], actual[B_DIGEST_LEN + 1];
	b_sha256_of("other", 5, other);
	b_sha256_of("payload", 7, actual);

	assert_int_equal(img_store_put(f->s, "payload", 7, other, NULL, &e), -1);
	/* Both digests in the message. */
	assert_non_null(strstr(berr_msg(&e), other));
	assert_err_has(&e, actual);
	assert_store_empty(f->root);
	assert_false(img_store_has(f->s, other));
	assert_false(img_store_has(f->s, actual));

	/* Through the streaming writer too. */
	struct img_blob_writer *w = NULL;
	assert_int_equal(img_blob_writer_new(f->s, other, 7, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "pay", 3, &e), 0);
	assert_int_equal(img_blob_write(w, "load", 4, &e), 0);
	char got[B_DIGEST_LEN + 1] = "";
	assert_int_equal(img_blob_writer_commit(w, got, &e), -1);
	assert_err_has(&e, "content has digest");
	assert_string_equal(got, "");
	assert_store_empty(f->root);
}

static void test_wrong_size(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char d[B_DIGEST_LEN + 1];
	b_sha256_of("0123456789", 10, d);

	/* Too few bytes. */
	struct img_blob_writer *w = NULL;
	assert_int_equal(img_blob_writer_new(f->s, d, 12, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "0123456789", 10, &e), 0);
	assert_int_equal(img_blob_writer_commit(w, NULL, &e), -1);
	char msg[160];
	snprintf(msg, sizeof msg, "blob %s: size 10 does not match the expected 12", d);
	assert_string_equal(berr_msg(&e), msg);
	berr_clear(&e);
	assert_store_empty(f->root);

	/* Unknown digest, known size: the message names the blob by what arrived. */
	assert_int_equal(img_blob_writer_new(f->s, NULL, 11, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "0123456789", 10, &e), 0);
	assert_int_equal(img_blob_writer_commit(w, NULL, &e), -1);
	snprintf(msg, sizeof msg, "blob %s: size 10 does not match the expected 11", d);
	assert_string_equal(berr_msg(&e), msg);
	berr_clear(&e);
	assert_store_empty(f->root);

	/* A negative size other than -1 is refused. */
	assert_int_equal(img_blob_writer_new(f->s, d, -2, &w, &e), -1);
	assert_err_has(&e, "invalid expected size -2");
	assert_store_empty(f->root);
}

static void test_too_many_bytes(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char d[B_DIGEST_LEN + 1];
	b_sha256_of("abcd", 4, d);

	struct img_blob_writer *w = NULL;
	assert_int_equal(img_blob_writer_new(f->s, d, 4, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "ab", 2, &e), 0);
	/* The third byte past the limit fails at once, before anything is written. */
	assert_int_equal(img_blob_write(w, "cdefgh", 6, &e), -1);
	assert_err_has(&e, "more than the expected 4 bytes");
	/* The writer stays failed: a later write or commit does not pretend otherwise. */
	assert_int_equal(img_blob_write(w, "cd", 2, &e), -1);
	assert_err_has(&e, "an earlier write failed");
	assert_int_equal(img_blob_writer_commit(w, NULL, &e), -1);
	assert_err_has(&e, "an earlier write failed");
	assert_store_empty(f->root);

	/* Same with abort. */
	assert_int_equal(img_blob_writer_new(f->s, NULL, 4, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "abcde", 5, &e), -1);
	assert_err_has(&e, "more than the expected 4 bytes");
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 1);
	img_blob_writer_abort(w);
	assert_store_empty(f->root);

	/* Exactly the expected size is fine. */
	assert_int_equal(img_blob_writer_new(f->s, d, 4, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "abcd", 4, &e), 0);
	assert_int_equal(img_blob_write(w, "", 0, &e), 0);
	assert_int_equal(img_blob_writer_commit(w, NULL, &e), 0);
	assert_true(img_store_has(f->s, d));
}

static void test_not_visible_before_commit(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	size_t len = 1 << 20;
	_cleanup_free_ unsigned char *buf = malloc(len);
	assert_non_null(buf);
	fill(buf, len, 7);
	char d[B_DIGEST_LEN + 1], got[B_DIGEST_LEN + 1];
	b_sha256_of(buf, len, d);

	struct img_blob_writer *w = NULL;
	assert_int_equal(img_blob_writer_new(f->s, d, (int64_t)len, &w, &e), 0);
	for (size_t off = 0; off < len; off += 4096) {
		assert_int_equal(img_blob_write(w, buf + off, 4096, &e), 0);
		if (off % (256 * 1024) == 0) {
			assert_false(img_store_has(f->s, d));
			assert_int_equal(count_entries(f->root, "blobs/sha256"), 0);
			assert_int_equal(count_entries(f->root, "blobs/ingest"), 1);
		}
	}
	/* All bytes are in, still not visible. */
	assert_false(img_store_has(f->s, d));
	assert_int_equal(count_entries(f->root, "blobs/sha256"), 0);
	assert_int_equal(img_blob_writer_commit(w, got, &e), 0);
	assert_string_equal(got, d);
	assert_true(img_store_has(f->s, d));
	assert_int_equal(count_entries(f->root, "blobs/sha256"), 1);
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 0);

	/* An aborted writer leaves nothing either. */
	assert_int_equal(img_blob_writer_new(f->s, NULL, -1, &w, &e), 0);
	assert_int_equal(img_blob_write(w, "xyz", 3, &e), 0);
	img_blob_writer_abort(w);
	img_blob_writer_abort(NULL);
	assert_int_equal(count_entries(f->root, "blobs/sha256"), 1);
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 0);
}

/* Two processes write the same blob at the same time; both commit, one blob remains. */
static void test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	size_t len = 512 * 1024;
	_cleanup_free_ unsigned char *buf = malloc(len);
	assert_non_null(buf);

	for (int round = 0; round < 8; round++) {
		fill(buf, len, 100 + (uint64_t)round);
		char d[B_DIGEST_LEN + 1];
		b_sha256_of(buf, len, d);
		int go[2];
		assert_int_equal(pipe2(go, O_CLOEXEC), 0);
		pid_t pids[2];
		fflush(NULL);
		for (int c = 0; c < 2; c++) {
			pids[c] = fork();
			assert_true(pids[c] >= 0);
			if (pids[c] == 0) {
				close(go[1]);
				/* Its own store, as another process would (and its open cleans ingest). */
				struct img_store *s = NULL;
				berr ce = {0};
				CHILD_CHECK(img_store_open(f->root, &s, &ce) == 0);
				struct img_blob_writer *w = NULL;
				CHILD_CHECK(img_blob_writer_new(s, d, (int64_t)len, &w, &ce) == 0);
				for (size_t off = 0; off < len / 2; off += 8192)
					CHILD_CHECK(img_blob_write(w, buf + off, 8192, &ce) == 0);
				char x;
				CHILD_CHECK(read(go[0], &x, 1) == 0); /* both start the second half together */
				for (size_t off = len / 2; off < len; off += 8192)
					CHILD_CHECK(img_blob_write(w, buf + off, 8192, &ce) == 0);
				char got[B_DIGEST_LEN + 1];
				if (img_blob_writer_commit(w, got, &ce) < 0) {
					dprintf(2, "child: %s\n", berr_msg(&ce));
					_exit(1);
				}
				CHILD_CHECK(strcmp(got, d) == 0);
				img_store_close(s);
				_exit(0);
			}
		}
		close(go[0]);
		usleep(20000);
		close(go[1]);
		for (int c = 0; c < 2; c++) {
			int status;
			assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail_msg("writer %d of round %d failed (status %#x)", c, round, status);
		}
		assert_int_equal(count_entries(f->root, "blobs/sha256"), round + 1);
		assert_int_equal(count_entries(f->root, "blobs/ingest"), 0);
		char *out = NULL;
		size_t outlen = 0;
		assert_int_equal(img_store_read(f->s, d, len, true, &out, &outlen, &e), 0);
		assert_int_equal(outlen, len);
		free(out);
	}
}

/* A writer killed half-way leaves an ingest file and nothing else; the next open removes it. */
static void test_crash_leftover(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	unsigned char buf[64 * 1024];
	fill(buf, sizeof buf, 3);
	char d[B_DIGEST_LEN + 1];
	b_sha256_of(buf, sizeof buf, d);

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct img_store *s = NULL;
		berr ce = {0};
		CHILD_CHECK(img_store_open(f->root, &s, &ce) == 0);
		struct img_blob_writer *w = NULL;
		CHILD_CHECK(img_blob_writer_new(s, d, sizeof buf, &w, &ce) == 0);
		CHILD_CHECK(img_blob_write(w, buf, sizeof buf / 2, &ce) == 0);
		_exit(0); /* the crash: no commit, no abort, no close */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(count_entries(f->root, "blobs/sha256"), 0);
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 1);
	assert_false(img_store_has(f->s, d));

	/* A live writer in this process while the store is opened again: its file stays. */
	struct img_blob_writer *live = NULL;
	assert_int_equal(img_blob_writer_new(f->s, d, sizeof buf, &live, &e), 0);
	assert_int_equal(img_blob_write(live, buf, 1000, &e), 0);
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 2);

	struct img_store *s2 = NULL;
	assert_int_equal(img_store_open(f->root, &s2, &e), 0);
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 1); /* the leftover went, the live one stayed */
	assert_int_equal(count_entries(f->root, "blobs/sha256"), 0);

	assert_int_equal(img_blob_write(live, buf + 1000, sizeof buf - 1000, &e), 0);
	assert_int_equal(img_blob_writer_commit(live, NULL, &e), 0);
	assert_true(img_store_has(s2, d));
	assert_int_equal(count_entries(f->root, "blobs/ingest"), 0);
	img_store_close(s2);
}

static void test_invalid_digests(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* A victim where "../x" from blobs/sha256 would land. */
	_cleanup_free_ char *victim = NULL;
	assert_true(asprintf(&victim, "%s/blobs/x", f->root) > 0);
	assert_int_equal(b_write_file(victim, "keep", 4, 0600, &e), 0);

	const char *bad[] = {
	    "sha256:../../x",
	    "sha256:../x",
	    "md5:d41d8cd98f00b204e9800998ecf8427e",
	    "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",   /* 63 hex */
	    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", /* 65 hex */
	    "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8/5",
	    "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *d = bad[i];
		struct img_blob_writer *w = NULL;
		assert_int_equal(img_blob_writer_new(f->s, d, -1, &w, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		assert_err_has(&e, d);
		assert_int_equal(img_store_put(f->s, "", 0, d, NULL, &e), -1);
		assert_err_has(&e, "invalid blob digest");
		assert_false(img_store_has(f->s, d));
		int fd = -1;
		assert_int_equal(img_store_open_blob(f->s, d, &fd, NULL, &e), -1);
		assert_int_equal(fd, -1);
		assert_err_has(&e, d);
		char *out = NULL;
		size_t len = 0;
		assert_int_equal(img_store_read(f->s, d, 100, true, &out, &len, &e), -1);
		assert_null(out);
		assert_err_has(&e, d);
		assert_null(img_store_blob_path(f->s, d));
		assert_int_equal(img_store_delete(f->s, d, &e), -1);
		assert_err_has(&e, d);
	}
	assert_false(img_store_has(f->s, NULL));
	assert_null(img_store_blob_path(f->s, NULL));
	struct img_blob_writer *w = NULL;
	assert_int_equal(img_store_delete(f->s, NULL, &e), -1);
	assert_err_has(&e, "invalid blob digest");
	assert_int_equal(img_blob_writer_new(f->s, "sha256:../../x", -1, &w, &e), -1);
	assert_string_equal(berr_msg(&e),
			    "invalid blob digest \"sha256:../../x\": the store takes sha256:<64 lowercase hex digits>");
	berr_clear(&e);

	assert_true(b_path_exists(victim));
	assert_store_empty(f->root);
}

struct keep_set {
	const char **digests;
	size_t n;
	size_t calls;
};

static bool keep_listed(const char *digest, void *arg)
{
	struct keep_set *k = arg;
	k->calls++;
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->digests[i], digest))
			return true;
	return false;
}

static void test_prune(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char d[6][B_DIGEST_LEN + 1];
	uint64_t dropped = 0;
	for (int i = 0; i < 6; i++) {
		size_t len = 1000 * (size_t)(i + 1);
		_cleanup_free_ unsigned char *buf = malloc(len);
		assert_non_null(buf);
		fill(buf, len, 50 + (uint64_t)i);
		assert_int_equal(img_store_put(f->s, buf, len, NULL, d[i], &e), 0);
		if (i % 2)
			dropped += len;
	}
	const char *kept[] = {d[0], d[2], d[4]};
	struct keep_set k = {kept, 3, 0};
	uint64_t freed = 12345;
	assert_int_equal(img_store_prune(f->s, keep_listed, &k, &freed, &e), 0);
	assert_int_equal(k.calls, 6);
	assert_int_equal(freed, dropped);
	for (int i = 0; i < 6; i++)
		assert_int_equal(img_store_has(f->s, d[i]), i % 2 == 0);

	_cleanup_strv_ char **list = NULL;
	size_t n = 0;
	assert_int_equal(img_store_list(f->s, &list, &n, &e), 0);
	assert_int_equal(n, 3);

	/* Nothing more to drop: freed is 0. */
	k.calls = 0;
	assert_int_equal(img_store_prune(f->s, keep_listed, &k, &freed, &e), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(k.calls, 3);
	/* Drop everything, freed may be NULL. */
	k.n = 0;
	assert_int_equal(img_store_prune(f->s, keep_listed, &k, NULL, &e), 0);
	assert_store_empty(f->root);
}

static void test_read_limits_and_corruption(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	const char *data = "0123456789abcdef";
	char d[B_DIGEST_LEN + 1];
	assert_int_equal(img_store_put(f->s, data, 16, NULL, d, &e), 0);

	char *out = NULL;
	size_t len = 0;
	assert_int_equal(img_store_read(f->s, d, 15, true, &out, &len, &e), -1);
	assert_null(out);
	assert_int_equal(e.errnum, EFBIG);
	assert_non_null(strstr(berr_msg(&e), d));
	assert_err_has(&e, "size 16 is more than the limit of 15 bytes");
	assert_int_equal(img_store_read(f->s, d, 16, true, &out, &len, &e), 0);
	free(out);

	/* Flip a byte behind the store's back: verify catches it, a plain read does not look. */
	_cleanup_free_ char *path = img_store_blob_path(f->s, d);
	assert_non_null(path);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(b_write_file(path, "0123456789abcdeF", 16, 0644, &e), 0);
	char actual[B_DIGEST_LEN + 1];
	b_sha256_of("0123456789abcdeF", 16, actual);
	assert_int_equal(img_store_read(f->s, d, 100, true, &out, &len, &e), -1);
	assert_int_equal(e.errnum, EIO);
	assert_non_null(strstr(berr_msg(&e), d));
	assert_err_has(&e, actual);
	assert_int_equal(img_store_read(f->s, d, 100, false, &out, &len, &e), 0);
	assert_string_equal(out, "0123456789abcdeF");
	free(out);

	/* Putting the right content again repairs a blob whose size differs (truncated behind our back). */
	assert_int_equal(b_write_file(path, "0123", 4, 0644, &e), 0);
	assert_int_equal(img_store_put(f->s, data, 16, d, NULL, &e), 0);
	assert_int_equal(img_store_read(f->s, d, 100, true, &out, &len, &e), 0);
	assert_string_equal(out, data);
	free(out);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* A root that is a file. */
	_cleanup_free_ char *file = NULL;
	assert_true(asprintf(&file, "%s/afile", f->root) > 0);
	assert_int_equal(b_write_file(file, "x", 1, 0600, &e), 0);
	struct img_store *s = NULL;
	assert_int_equal(img_store_open(file, &s, &e), -1);
	assert_err_has(&e, file);

	/* A fresh root is made with mode 0700 all the way down. */
	_cleanup_free_ char *fresh = NULL;
	assert_true(asprintf(&fresh, "%s/new/root", f->root) > 0);
	assert_int_equal(img_store_open(fresh, &s, &e), 0);
	img_store_close(s);
	const char *subs[] = {"", "/blobs", "/blobs/sha256", "/blobs/ingest"};
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		_cleanup_free_ char *p = NULL;
		assert_true(asprintf(&p, "%s%s", fresh, subs[i]) > 0);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	img_store_close(NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 64 MiB streamed in 64 KiB chunks: hashing, writing, fsync and rename, timed end to end. */
static void test_throughput(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	const size_t total = 64u << 20, chunk = 64u << 10;
	_cleanup_free_ unsigned char *buf = malloc(total);
	assert_non_null(buf);
	fill(buf, total, 99);
	char d[B_DIGEST_LEN + 1], got[B_DIGEST_LEN + 1];

	double t0 = now_s();
	b_sha256_of(buf, total, d);
	double hash_s = now_s() - t0;

	t0 = now_s();
	struct img_blob_writer *w = NULL;
	assert_int_equal(img_blob_writer_new(f->s, d, (int64_t)total, &w, &e), 0);
	for (size_t off = 0; off < total; off += chunk)
		assert_int_equal(img_blob_write(w, buf + off, chunk, &e), 0);
	assert_int_equal(img_blob_writer_commit(w, got, &e), 0);
	double store_s = now_s() - t0;
	assert_string_equal(got, d);

	int fd = -1;
	int64_t size = 0;
	assert_int_equal(img_store_open_blob(f->s, d, &fd, &size, &e), 0);
	close(fd);
	assert_int_equal(size, (int64_t)total);

	double mib = (double)total / (1 << 20);
	printf("store: 64 MiB in 64 KiB chunks: %.0f ms, %.0f MiB/s (sha256 alone: %.0f MiB/s)\n", store_s * 1e3,
	       mib / store_s, mib / hash_s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_sorted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_digest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_visible_before_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_leftover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_digests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_limits_and_corruption, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
