/* Layer unpacking: overlay form, metadata, refusals that leave nothing behind, digests, cleanup, speed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define LIBARCHIVE_DIRECT /* linked with libarchive: the test writes its tars itself */
#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "image/unpack.h"
#include "image/unpack_internal.h"
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

#define T0 1600000000 /* a fixed mtime */

struct fixture {
	char *root;   /* the test's temp dir */
	char *layers; /* <root>/layers: where layers are unpacked */
	char *canary; /* <root>/canary: an outside dir that malicious layers aim at */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	char tmpl[] = "/tmp/berth-test-unpack-XXXXXX";
	if (!mkdtemp(tmpl) || !(f->root = strdup(tmpl)) || asprintf(&f->layers, "%s/layers", tmpl) < 0 ||
	    asprintf(&f->canary, "%s/canary", tmpl) < 0 || mkdir(f->layers, 0700) < 0 || mkdir(f->canary, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	int r = b_remove_tree(f->root, &e);
	berr_clear(&e);
	free(f->root);
	free(f->layers);
	free(f->canary);
	free(f);
	return r;
}

/* ---- helpers ---- */

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	return s;
}

/* Entries in dir (other than . and ..), -1 when it cannot be read. */
static int count_entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	return n;
}

static void assert_err_has(berr *e, const char *needle)
{
	if (!strstr(berr_msg(e), needle))
		fail_msg("error \"%s\" does not contain \"%s\"", berr_msg(e), needle);
	berr_clear(e);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One tar entry to write. */
struct tent {
	const char *name;
	char type;        /* f file, d dir, l symlink, h hard link, c/b device, p fifo */
	const char *data; /* file content; link target */
	size_t len;       /* of data, for a file; 0: strlen(data) */
	mode_t mode;      /* 0: 0644 for files, 0755 for dirs, 0777 for symlinks */
	int uid, gid;
	time_t mtime; /* 0: T0 */
	long nsec;
	unsigned major, minor;
	const char *xname; /* one xattr */
	const char *xval;
	size_t xlen; /* 0: strlen(xval) */
};

/* Write a pax tar of ents to path, through filter (ARCHIVE_FILTER_NONE, _GZIP, _ZSTD). */
static void write_layer(const char *path, int filter, const struct tent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (filter == ARCHIVE_FILTER_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	else if (filter == ARCHIVE_FILTER_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct tent *t = &ents[i];
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, t->name);
		archive_entry_set_uid(ent, t->uid);
		archive_entry_set_gid(ent, t->gid);
		archive_entry_set_mtime(ent, t->mtime ? t->mtime : T0, t->nsec);
		size_t size = 0;
		switch (t->type) {
		case 'f':
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_perm(ent, t->mode ? t->mode : 0644);
			size = t->len ? t->len : t->data ? strlen(t->data) : 0;
			break;
		case 'd':
			archive_entry_set_filetype(ent, AE_IFDIR);
			archive_entry_set_perm(ent, t->mode ? t->mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(ent, AE_IFLNK);
			archive_entry_set_perm(ent, 0777);
			archive_entry_set_symlink(ent, t->data);
			break;
		case 'h':
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_perm(ent, t->mode ? t->mode : 0644);
			archive_entry_set_hardlink(ent, t->data);
			break;
		case 'c':
		case 'b':
			archive_entry_set_filetype(ent, t->type == 'c' ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_perm(ent, t->mode ? t->mode : 0600);
			archive_entry_set_rdevmajor(ent, t->major);
			archive_entry_set_rdevminor(ent, t->minor);
			break;
		case 'p':
			archive_entry_set_filetype(ent, AE_IFIFO);
			archive_entry_set_perm(ent, t->mode ? t->mode : 0644);
			break;
		default: fail_msg("bad type %c", t->type);
		}
		archive_entry_set_size(ent, (la_int64_t)size);
		if (t->xname)
			archive_entry_xattr_add_entry(ent, t->xname, t->xval, t->xlen ? t->xlen : strlen(t->xval));
		/* ARCHIVE_WARN: a name the C locale cannot convert, written as bytes (hdrcharset=BINARY) */
		int r = archive_write_header(a, ent);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			fail_msg("writing %s: %s", t->name, archive_error_string(a));
		if (size)
			assert_int_equal(archive_write_data(a, t->data, size), (la_ssize_t)size);
		archive_entry_free(ent);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Unpack the file at layer into <layers>/<name>. */
static int unpack_file(struct fixture *f, const char *layer, const char *name, const char *want_c,
		       const char *want_diff, struct img_unpack_result *res, berr *e)
{
	_cleanup_close_ int fd = open(layer, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	_cleanup_free_ char *dest = pathf("%s/%s", f->layers, name);
	return img_layer_unpack(fd, dest, want_c, want_diff, res, e);
}

/* Write ents as a layer and unpack it into <layers>/<name>. */
static int unpack_ents(struct fixture *f, const char *name, const struct tent *ents, size_t n, berr *e)
{
	_cleanup_free_ char *layer = pathf("%s/%s.tar", f->root, name);
	write_layer(layer, ARCHIVE_FILTER_NONE, ents, n);
	int r = unpack_file(f, layer, name, NULL, NULL, NULL, e);
	unlink(layer);
	return r;
}

/* The layer was refused with a message holding needle, and nothing of it is on disk or outside. */
static void assert_refused(struct fixture *f, const char *name, const struct tent *ents, size_t n, const char *needle)
{
	berr e = {0};
	if (unpack_ents(f, name, ents, n, &e) == 0)
		fail_msg("layer %s was not refused", name);
	assert_err_has(&e, needle);
	assert_int_equal(count_entries(f->layers), 0);
	assert_int_equal(count_entries(f->canary), 0);
}

static struct stat lstat_at(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	struct stat st;
	if (lstat(p, &st) < 0)
		fail_msg("lstat %s: %s", p, strerror(errno));
	return st;
}

static bool exists_at(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	struct stat st;
	return lstat(p, &st) == 0;
}

static void assert_meta(const char *dir, const char *rel, mode_t type, mode_t perm, uid_t uid, gid_t gid, time_t mtime)
{
	struct stat st = lstat_at(dir, rel);
	if ((st.st_mode & S_IFMT) != type)
		fail_msg("%s: type 0%o, want 0%o", rel, st.st_mode & S_IFMT, type);
	if (type != S_IFLNK && (st.st_mode & 07777) != perm)
		fail_msg("%s: mode 0%o, want 0%o", rel, st.st_mode & 07777, perm);
	if (st.st_uid != uid || st.st_gid != gid)
		fail_msg("%s: owner %u:%u, want %u:%u", rel, st.st_uid, st.st_gid, uid, gid);
	if (mtime && st.st_mtim.tv_sec != mtime)
		fail_msg("%s: mtime %ld, want %ld", rel, (long)st.st_mtim.tv_sec, (long)mtime);
}

static void assert_whiteout(const char *dir, const char *rel)
{
	struct stat st = lstat_at(dir, rel);
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(0, 0))
		fail_msg("%s: not a whiteout (mode 0%o rdev %u:%u)", rel, st.st_mode, major(st.st_rdev),
			 minor(st.st_rdev));
}

/* The xattr's value (NUL-terminated, malloc'd), or NULL when absent. */
static char *xattr_at(const char *dir, const char *rel, const char *name)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	char buf[256];
	ssize_t n = lgetxattr(p, name, buf, sizeof buf - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

static void assert_xattr(const char *dir, const char *rel, const char *name, const char *want)
{
	_cleanup_free_ char *v = xattr_at(dir, rel, name);
	if (!want && v)
		fail_msg("%s: xattr %s is \"%s\", want none", rel, name, v);
	if (want && (!v || strcmp(v, want) != 0))
		fail_msg("%s: xattr %s is \"%s\", want \"%s\"", rel, name, v ? v : "(none)", want);
}

static void assert_content(const char *dir, const char *rel, const char *want)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	_cleanup_free_ char *data = NULL;
	berr e = {0};
	if (b_read_file(p, &data, NULL, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_string_equal(data, want);
}

/* stdout of a shell command, trimmed to its first word. */
static char *run_word(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char buf[256] = {0};
	char *r = fgets(buf, sizeof buf, p);
	assert_int_equal(pclose(p), 0);
	assert_non_null(r);
	buf[strcspn(buf, " \n")] = '\0';
	return strdup(buf);
}

/* ---- pure logic ---- */

static void test_clean_path(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"a", "a"},           {"./a/b", "a/b"}, {"/a//b/", "a/b"},  {"a/./b", "a/b"},   {"a/../b", "b"},
	    {"a/b/../../c", "c"}, {".", ""},        {"./", ""},         {"/", ""},          {"", ""},
	    {"a/b/..", "a"},      {"///x", "x"},    {".wh.x", ".wh.x"}, {"a/...", "a/..."}, {"..a/b..", "..a/b.."},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		_cleanup_free_ char *p = img_unpack_clean_path(ok[i].in);
		assert_non_null(p);
		assert_string_equal(p, ok[i].out);
	}
	static const char *bad[] = {"..", "../a", "a/../..", "a/../../b", "/..", "/../etc", "./../x", "a/b/../../../c"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		assert_null(img_unpack_clean_path(bad[i]));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_whiteout_kind(void **state)
{
	const char *t = NULL;
	assert_int_equal(img_whiteout_kind("foo", &t), IMG_WH_NONE);
	assert_int_equal(img_whiteout_kind(".wh", &t), IMG_WH_NONE);
	assert_int_equal(img_whiteout_kind(".wh.foo", &t), IMG_WH_FILE);
	assert_string_equal(t, "foo");
	assert_int_equal(img_whiteout_kind(".wh..foo", &t), IMG_WH_FILE);
	assert_string_equal(t, ".foo");
	assert_int_equal(img_whiteout_kind(".wh..wh..opq", &t), IMG_WH_OPAQUE);
	assert_int_equal(img_whiteout_kind(".wh.", &t), IMG_WH_INVALID);
	assert_int_equal(img_whiteout_kind(".wh..", &t), IMG_WH_INVALID);
	assert_int_equal(img_whiteout_kind(".wh...", &t), IMG_WH_INVALID);
	assert_int_equal(img_whiteout_kind(".wh..wh.plnk", &t), IMG_WH_INVALID);
}

/* ---- a sequence of three layers ---- */

/* security.capability v2 granting cap_net_bind_service (effective, permitted). */
static const unsigned char fcaps[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static const struct tent layer1[] = {
    {.name = "./", .type = 'd', .mode = 0755},
    {.name = "bin/", .type = 'd', .mode = 0755, .mtime = T0 + 1},
    {.name = "bin/sh", .type = 'f', .data = "#!shell\n", .mode = 04755, .mtime = T0 + 2, .nsec = 123456789},
    {.name = "bin/ping",
     .type = 'f',
     .data = "ping",
     .mode = 0755,
     .xname = "security.capability",
     .xval = (const char *)fcaps,
     .xlen = sizeof fcaps},
    {.name = "bin/sh2", .type = 'h', .data = "bin/sh", .mode = 04755, .mtime = T0 + 2},
    {.name = "etc/", .type = 'd', .mode = 0750, .uid = 0, .gid = 42, .mtime = T0 + 3, .xname = "user.dir", .xval = "d"},
    {.name = "etc/passwd", .type = 'f', .data = "root:x:0:0\n", .mode = 0644, .xname = "user.k", .xval = "v"},
    {.name = "etc/shadow", .type = 'f', .data = "secret\n", .mode = 0640, .uid = 0, .gid = 42},
    {.name = "etc/old", .type = 'f', .data = "old\n"},
    {.name = "etc/alt", .type = 'l', .data = "/etc/passwd", .uid = 1001, .gid = 1002, .mtime = T0 + 4},
    {.name = "tmp/", .type = 'd', .mode = 01777},
    {.name = "srv/", .type = 'd', .mode = 02775, .uid = 1000, .gid = 1000},
    {.name = "srv/data", .type = 'f', .data = "data", .uid = 1000, .gid = 1000, .mode = 0600},
    {.name = "dev/", .type = 'd'},
    {.name = "dev/null", .type = 'c', .major = 1, .minor = 3, .mode = 0666},
    {.name = "dev/loop0", .type = 'b', .major = 7, .minor = 0, .mode = 0660, .gid = 6},
    {.name = "dev/fifo", .type = 'p', .mode = 0620},
    {.name = "var/", .type = 'd'},
    {.name = "var/lib/", .type = 'd'},
    {.name = "var/lib/a", .type = 'f', .data = "a"},
    {.name = "var/lib/b", .type = 'f', .data = "b"},
    {.name = "opt/", .type = 'd'},
    {.name = "opt/x", .type = 'f', .data = "x"},
    {.name = "usr/", .type = 'd'},
    {.name = "usr/share/", .type = 'd'},
    {.name = "usr/share/doc", .type = 'f', .data = "doc"},
};

static const struct tent layer2[] = {
    {.name = "etc/", .type = 'd', .mode = 0755, .mtime = T0 + 10},
    {.name = "etc/passwd", .type = 'f', .data = "root:x:0:0\nme:x:1000:1000\n", .mtime = T0 + 11},
    {.name = "etc/.wh.old", .type = 'f'},
    /* a directory replaced by a file */
    {.name = "opt", .type = 'f', .data = "now a file", .mtime = T0 + 12},
    /* an opaque directory with new content (the marker after the content: order must not matter) */
    {.name = "var/lib/", .type = 'd', .mode = 0700, .mtime = T0 + 13},
    {.name = "var/lib/c", .type = 'f', .data = "c"},
    {.name = "var/lib/.wh..wh..opq", .type = 'f'},
    /* a file before its parent directory */
    {.name = "home/me/notes", .type = 'f', .data = "n", .uid = 1000, .gid = 1000},
    {.name = "home/me/", .type = 'd', .mode = 0700, .uid = 1000, .gid = 1000, .mtime = T0 + 14},
};

static const struct tent layer3[] = {
    /* a whole directory deleted, a file deleted, a deleted file back */
    {.name = ".wh.usr", .type = 'f'},
    {.name = "home/me/.wh.notes", .type = 'f'},
    {.name = "etc/old", .type = 'f', .data = "new old\n"},
    /* a file replaced by a directory: a new directory is opaque by nature (nothing lower below it) */
    {.name = "opt/", .type = 'd', .mtime = T0 + 20},
    {.name = "opt/y", .type = 'f', .data = "y"},
    /* a later entry replaces an earlier one in the same layer */
    {.name = "tmp2", .type = 'f', .data = "first"},
    {.name = "tmp2", .type = 'f', .data = "second"},
    {.name = "d2/", .type = 'd', .mode = 0700},
    {.name = "d2/keep", .type = 'f', .data = "k"},
    {.name = "d2/", .type = 'd', .mode = 0711, .mtime = T0 + 21}, /* dir over dir: merges */
    {.name = "gone/", .type = 'd'},
    {.name = "gone/x", .type = 'f', .data = "x"},
    {.name = "gone", .type = 'l', .data = "/nowhere"}, /* dir replaced by a symlink */
};

/* Mount the three layers with overlayfs in a private mount namespace and check the merged view. */
static void check_overlay(struct fixture *f, const char *l1, const char *l2, const char *l3)
{
	_cleanup_free_ char *merged = pathf("%s/merged", f->root);
	assert_int_equal(mkdir(merged, 0755), 0);
	_cleanup_free_ char *opts = pathf("lowerdir=%s:%s:%s", l3, l2, l1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		if (mount("overlay", merged, "overlay", MS_RDONLY, opts) < 0) {
			dprintf(2, "overlayfs not available (%s): merged view not checked\n", strerror(errno));
			_exit(77);
		}
		struct stat st;
		_cleanup_free_ char *p = NULL;
#define M(rel) (free(p), p = pathf("%s/%s", merged, rel))
		CHILD_CHECK(lstat(M("etc/old"), &st) == 0 && st.st_size == 8);     /* deleted, then back */
		CHILD_CHECK(lstat(M("etc/passwd"), &st) == 0 && st.st_size == 26); /* changed */
		CHILD_CHECK(lstat(M("usr"), &st) < 0 && errno == ENOENT);          /* deleted dir */
		CHILD_CHECK(lstat(M("home/me/notes"), &st) < 0 && errno == ENOENT);
		CHILD_CHECK(lstat(M("var/lib/c"), &st) == 0);                   /* opaque dir: new content */
		CHILD_CHECK(lstat(M("var/lib/a"), &st) < 0 && errno == ENOENT); /* ... and not the lower one */
		CHILD_CHECK(lstat(M("opt/y"), &st) == 0);
		CHILD_CHECK(lstat(M("opt/x"), &st) < 0 && errno == ENOENT);
		CHILD_CHECK(lstat(M("bin/sh"), &st) == 0 && (st.st_mode & 07777) == 04755);
		CHILD_CHECK(lstat(M("gone"), &st) == 0 && S_ISLNK(st.st_mode));
		_exit(0);
#undef M
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return;
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_three_layers(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct img_unpack_result r;
	_cleanup_free_ char *t1 = pathf("%s/l1.tar.gz", f->root), *t2 = pathf("%s/l2.tar.zst", f->root),
			    *t3 = pathf("%s/l3.tar", f->root);
	write_layer(t1, ARCHIVE_FILTER_GZIP, layer1, ARRAY_SIZE(layer1));
	write_layer(t2, ARCHIVE_FILTER_ZSTD, layer2, ARRAY_SIZE(layer2));
	write_layer(t3, ARCHIVE_FILTER_NONE, layer3, ARRAY_SIZE(layer3));
	_cleanup_free_ char *l1 = pathf("%s/l1", f->layers), *l2 = pathf("%s/l2", f->layers),
			    *l3 = pathf("%s/l3", f->layers);

	/* Layer 1: every kind of entry, with its metadata. */
	if (unpack_file(f, t1, "l1", NULL, NULL, &r, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_int_equal(r.entries, ARRAY_SIZE(layer1));
	assert_meta(l1, ".", S_IFDIR, 0755, 0, 0, T0);
	assert_meta(l1, "bin", S_IFDIR, 0755, 0, 0, T0 + 1);
	assert_meta(l1, "bin/sh", S_IFREG, 04755, 0, 0, T0 + 2);
	assert_int_equal(lstat_at(l1, "bin/sh").st_mtim.tv_nsec, 123456789);
	assert_content(l1, "bin/sh", "#!shell\n");
	struct stat sh = lstat_at(l1, "bin/sh"), sh2 = lstat_at(l1, "bin/sh2");
	assert_int_equal(sh.st_ino, sh2.st_ino);
	assert_int_equal(sh.st_nlink, 2);
	{
		_cleanup_free_ char *p = pathf("%s/bin/ping", l1);
		unsigned char caps[64];
		ssize_t n = lgetxattr(p, "security.capability", caps, sizeof caps);
		if (n < 0)
			printf("note: security.capability refused by the kernel here (%s): skipped\n", strerror(errno));
		else
			assert_memory_equal(caps, fcaps, sizeof fcaps);
	}
	assert_meta(l1, "etc", S_IFDIR, 0750, 0, 42, T0 + 3);
	assert_xattr(l1, "etc", "user.dir", "d");
	assert_meta(l1, "etc/passwd", S_IFREG, 0644, 0, 0, T0);
	assert_xattr(l1, "etc/passwd", "user.k", "v");
	assert_meta(l1, "etc/shadow", S_IFREG, 0640, 0, 42, T0);
	assert_meta(l1, "etc/alt", S_IFLNK, 0, 1001, 1002, T0 + 4);
	char target[64] = {0};
	_cleanup_free_ char *alt = pathf("%s/etc/alt", l1);
	assert_int_equal(readlink(alt, target, sizeof target - 1), 11);
	assert_string_equal(target, "/etc/passwd");
	assert_meta(l1, "tmp", S_IFDIR, 01777, 0, 0, T0);
	assert_meta(l1, "srv", S_IFDIR, 02775, 1000, 1000, T0);
	assert_meta(l1, "srv/data", S_IFREG, 0600, 1000, 1000, T0);
	assert_meta(l1, "dev/null", S_IFCHR, 0666, 0, 0, T0);
	assert_int_equal(lstat_at(l1, "dev/null").st_rdev, makedev(1, 3));
	assert_meta(l1, "dev/loop0", S_IFBLK, 0660, 0, 6, T0);
	assert_int_equal(lstat_at(l1, "dev/loop0").st_rdev, makedev(7, 0));
	assert_meta(l1, "dev/fifo", S_IFIFO, 0620, 0, 0, T0);
	assert_int_equal(count_entries(f->layers), 1); /* no temp dir left */

	/* Layer 2: change, delete, a dir replaced by a file, an opaque dir, a file before its dir. */
	if (unpack_file(f, t2, "l2", NULL, NULL, &r, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_int_equal(r.entries, ARRAY_SIZE(layer2));
	assert_meta(l2, ".", S_IFDIR, 0755, 0, 0, 0); /* no entry for the root: 0755 */
	assert_meta(l2, "etc", S_IFDIR, 0755, 0, 0, T0 + 10);
	assert_content(l2, "etc/passwd", "root:x:0:0\nme:x:1000:1000\n");
	assert_whiteout(l2, "etc/old");
	assert_false(exists_at(l2, "etc/.wh.old"));
	assert_meta(l2, "opt", S_IFREG, 0644, 0, 0, T0 + 12);
	assert_meta(l2, "var/lib", S_IFDIR, 0700, 0, 0, T0 + 13);
	assert_xattr(l2, "var/lib", "trusted.overlay.opaque", "y");
	assert_xattr(l2, "var", "trusted.overlay.opaque", NULL);
	assert_false(exists_at(l2, "var/lib/.wh..wh..opq"));
	assert_meta(l2, "var", S_IFDIR, 0755, 0, 0, 0); /* implicit parent */
	assert_meta(l2, "home", S_IFDIR, 0755, 0, 0, 0);
	assert_meta(l2, "home/me", S_IFDIR, 0700, 1000, 1000, T0 + 14);
	assert_meta(l2, "home/me/notes", S_IFREG, 0644, 1000, 1000, T0);

	/* Layer 3: a deleted dir, a deleted file, a file back, a file replaced by a dir, replacements. */
	if (unpack_file(f, t3, "l3", NULL, NULL, &r, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_whiteout(l3, "usr");
	assert_whiteout(l3, "home/me/notes");
	assert_meta(l3, "home", S_IFDIR, 0755, 0, 0, 0);
	assert_content(l3, "etc/old", "new old\n");
	assert_meta(l3, "opt", S_IFDIR, 0755, 0, 0, T0 + 20);
	assert_content(l3, "tmp2", "second");
	assert_meta(l3, "d2", S_IFDIR, 0711, 0, 0, T0 + 21);
	assert_content(l3, "d2/keep", "k");
	assert_meta(l3, "gone", S_IFLNK, 0, 0, 0, T0);
	assert_int_equal(count_entries(f->layers), 3);

	check_overlay(f, l1, l2, l3);
}

/* ---- other semantics ---- */

static void test_whiteout_same_layer(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* A whiteout of a name the layer also holds: the entry stays (the whiteout hides lower layers). */
	const struct tent ents[] = {
	    {.name = "file", .type = 'f', .data = "f"},
	    {.name = ".wh.file", .type = 'f'},
	    {.name = "dir/", .type = 'd'},
	    {.name = "dir/x", .type = 'f', .data = "x"},
	    {.name = ".wh.dir", .type = 'f'},
	    {.name = ".wh.later", .type = 'f'},
	    {.name = "later/", .type = 'd'},
	    {.name = ".wh.twice", .type = 'f'},
	    {.name = ".wh.twice", .type = 'f'},
	    {.name = ".wh.under", .type = 'f'},
	    {.name = "under/y", .type = 'f', .data = "y"},
	    {.name = "a/b/.wh..wh..opq", .type = 'f'},
	};
	if (unpack_ents(f, "l", ents, ARRAY_SIZE(ents), &e) < 0)
		fail_msg("%s", berr_msg(&e));
	_cleanup_free_ char *l = pathf("%s/l", f->layers);
	assert_content(l, "file", "f");
	assert_content(l, "dir/x", "x");
	assert_xattr(l, "dir", "trusted.overlay.opaque", "y");
	assert_meta(l, "later", S_IFDIR, 0755, 0, 0, T0);
	assert_xattr(l, "later", "trusted.overlay.opaque", "y");
	assert_whiteout(l, "twice");
	assert_content(l, "under/y", "y");
	assert_xattr(l, "under", "trusted.overlay.opaque", "y");
	assert_meta(l, "a/b", S_IFDIR, 0755, 0, 0, 0);
	assert_xattr(l, "a/b", "trusted.overlay.opaque", "y");
}

static void test_misc_entries(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char longname[400];
	memset(longname, 'n', sizeof longname);
	memcpy(longname, "deep/", 5);
	longname[200] = '/';
	longname[sizeof longname - 1] = '\0';
	const struct tent ents[] = {
	    /* a leading "/" is dropped, as tar and Docker do */
	    {.name = "/abs/file", .type = 'f', .data = "abs"},
	    {.name = "a/../dotdot", .type = 'f', .data = "dd"},
	    {.name = longname, .type = 'f', .data = "long"},
	    {.name = "caf\xc3\xa9/\xe2\x98\x83", .type = 'f', .data = "utf8"},
	    {.name = "ovl", .type = 'f', .data = "o", .xname = "trusted.overlay.redirect", .xval = "/x"},
	    {.name = "tr", .type = 'f', .data = "t", .xname = "trusted.t", .xval = "tv"},
	    {.name = "lnk", .type = 'l', .data = "tr", .xname = "trusted.l", .xval = "lv"},
	    {.name = "empty", .type = 'f'},
	    {.name = "h1", .type = 'f', .data = "shared", .uid = 5, .gid = 6, .mode = 0600},
	    {.name = "sub/h2", .type = 'h', .data = "./h1", .uid = 5, .gid = 6, .mode = 0600},
	    {.name = "lnk2", .type = 'h', .data = "lnk"}, /* a hard link to a symlink */
	};
	if (unpack_ents(f, "l", ents, ARRAY_SIZE(ents), &e) < 0)
		fail_msg("%s", berr_msg(&e));
	_cleanup_free_ char *l = pathf("%s/l", f->layers);
	assert_content(l, "abs/file", "abs");
	/* a directory replaced by a file and then by a new directory: no trace of the first */
	const struct tent again[] = {
	    {.name = "d/a", .type = 'f', .data = "a"},
	    {.name = "d", .type = 'f', .data = "file"},
	    {.name = "d/", .type = 'd', .mode = 0750},
	    {.name = "d/b", .type = 'f', .data = "b"},
	    {.name = "e/x/y", .type = 'f', .data = "y"},
	    {.name = "e/x", .type = 'l', .data = "/"},
	    {.name = "e/x/", .type = 'd'},
	    {.name = "e/x/z", .type = 'f', .data = "z"},
	};
	if (unpack_ents(f, "m", again, ARRAY_SIZE(again), &e) < 0)
		fail_msg("%s", berr_msg(&e));
	_cleanup_free_ char *m = pathf("%s/m", f->layers);
	assert_meta(m, "d", S_IFDIR, 0750, 0, 0, T0);
	assert_int_equal(count_entries(m), 2);
	_cleanup_free_ char *md = pathf("%s/d", m), *mex = pathf("%s/e/x", m);
	assert_int_equal(count_entries(md), 1);
	assert_content(m, "d/b", "b");
	assert_int_equal(count_entries(mex), 1);
	assert_content(m, "e/x/z", "z");
	assert_content(l, "dotdot", "dd");
	assert_content(l, longname, "long");
	assert_content(l, "caf\xc3\xa9/\xe2\x98\x83", "utf8");
	assert_xattr(l, "ovl", "trusted.overlay.redirect", NULL); /* dropped */
	assert_xattr(l, "tr", "trusted.t", "tv");
	assert_xattr(l, "lnk", "trusted.l", "lv");
	assert_int_equal(lstat_at(l, "empty").st_size, 0);
	struct stat h1 = lstat_at(l, "h1"), h2 = lstat_at(l, "sub/h2"), s1 = lstat_at(l, "lnk"),
		    s2 = lstat_at(l, "lnk2");
	assert_int_equal(h1.st_ino, h2.st_ino);
	assert_meta(l, "h1", S_IFREG, 0600, 5, 6, T0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_true(S_ISLNK(s2.st_mode));
}

/* A 512-byte tar header (ustar) for name, typeflag and size, with its checksum. */
static void tar_header(char h[512], const char *name, char type, size_t size)
{
	memset(h, 0, 512);
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011o", (unsigned)size);
	snprintf(h + 136, 12, "%011o", T0);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
}

/* Names are bytes: a pax path that is not UTF-8 (Go writes such) and one that is, kept as they are. */
static void test_name_bytes(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	_cleanup_free_ char *layer = pathf("%s/raw.tar", f->root);
	FILE *out = fopen(layer, "w");
	assert_non_null(out);
	static const char *names[] = {"latin\xe9-\xff", "caf\xc3\xa9"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char rec[64], h[512], pad[512] = {0};
		/* "<len> path=<name>\n", len counting itself */
		size_t body = strlen(" path=\n") + strlen(names[i]);
		size_t len = body + 2;
		snprintf(rec, sizeof rec, "%zu path=%s\n", len, names[i]);
		assert_int_equal(strlen(rec), len);
		tar_header(h, "PaxHeaders/x", 'x', len);
		assert_int_equal(fwrite(h, 1, 512, out), 512);
		assert_int_equal(fwrite(rec, 1, len, out), len);
		assert_int_equal(fwrite(pad, 1, 512 - len, out), 512 - len);
		tar_header(h, "placeholder", '0', 1);
		assert_int_equal(fwrite(h, 1, 512, out), 512);
		pad[0] = 'z';
		assert_int_equal(fwrite(pad, 1, 512, out), 512);
	}
	char zero[1024] = {0};
	assert_int_equal(fwrite(zero, 1, sizeof zero, out), sizeof zero);
	assert_int_equal(fclose(out), 0);
	if (unpack_file(f, layer, "l", NULL, NULL, NULL, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	_cleanup_free_ char *l = pathf("%s/l", f->layers);
	assert_content(l, "latin\xe9-\xff", "z");
	assert_content(l, "caf\xc3\xa9", "z");
	assert_int_equal(count_entries(l), 2);
}

/* What GNU tar writes: SCHILY.xattr records with binary values, sparse files (pax and GNU), long names. */
static void test_gnu_tar_layer(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	_cleanup_free_ char *src = pathf("%s/src", f->root);
	_cleanup_free_ char *sub = pathf("%s/dir/sub", src);
	assert_int_equal(b_mkdir_p(sub, 0755, &e), 0);
	_cleanup_free_ char *bin = pathf("%s/dir/bin", src), *sparse = pathf("%s/sparse", src);
	assert_int_equal(b_write_file(bin, "bin", 3, 0755, &e), 0);
	assert_int_equal(setxattr(bin, "security.capability", fcaps, sizeof fcaps, 0), 0);
	assert_int_equal(setxattr(bin, "user.bin", "a\0b\0c", 5, 0), 0);
	_cleanup_free_ char *dir = pathf("%s/dir", src);
	assert_int_equal(setxattr(dir, "user.d", "dv", 2, 0), 0);
	{
		_cleanup_close_ int fd = open(sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "middle", 6, 5 << 20), 6);
		assert_int_equal(ftruncate(fd, 10 << 20), 0);
	}
	char longname[240];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	_cleanup_free_ char *prep =
	    pathf("cd %s && echo long > dir/%s && ln dir/bin dir/sub/bin2 && chown -h 7:8 dir/sub "
		  "&& touch -h -d @%d dir/bin dir/sub dir sparse",
		  src, longname, T0);
	assert_int_equal(system(prep), 0);
	static const char *formats[] = {"--format=posix --xattrs --xattrs-include='*'", "--format=gnu"};
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		_cleanup_free_ char *cmd = pathf("cd %s && tar %s --sparse -cf ../gnu%zu.tar .", src, formats[i], i);
		assert_int_equal(system(cmd), 0);
		_cleanup_free_ char *layer = pathf("%s/gnu%zu.tar", f->root, i);
		_cleanup_free_ char *name = pathf("l%zu", i);
		if (unpack_file(f, layer, name, NULL, NULL, NULL, &e) < 0)
			fail_msg("%s", berr_msg(&e));
		_cleanup_free_ char *l = pathf("%s/%s", f->layers, name);
		if (i == 0) {
			unsigned char caps[64];
			_cleanup_free_ char *lbin = pathf("%s/dir/bin", l);
			assert_int_equal(lgetxattr(lbin, "security.capability", caps, sizeof caps), sizeof fcaps);
			assert_memory_equal(caps, fcaps, sizeof fcaps);
			char v[16];
			assert_int_equal(lgetxattr(lbin, "user.bin", v, sizeof v), 5);
			assert_memory_equal(v, "a\0b\0c", 5);
			assert_xattr(l, "dir", "user.d", "dv");
		}
		assert_meta(l, "dir", S_IFDIR, 0755, 0, 0, T0);
		assert_meta(l, "dir/sub", S_IFDIR, 0755, 7, 8, T0);
		assert_meta(l, "dir/bin", S_IFREG, 0755, 0, 0, T0);
		assert_int_equal(lstat_at(l, "dir/bin").st_ino, lstat_at(l, "dir/sub/bin2").st_ino);
		_cleanup_free_ char *lname = pathf("dir/%s", longname);
		assert_content(l, lname, "long\n");
		struct stat sp = lstat_at(l, "sparse");
		assert_int_equal(sp.st_size, 10 << 20);
		assert_true(sp.st_blocks * 512 < (1 << 20)); /* the holes stay holes */
		_cleanup_free_ char *lsparse = pathf("%s/sparse", l);
		_cleanup_close_ int fd = open(lsparse, O_RDONLY | O_CLOEXEC);
		char mid[6];
		assert_int_equal(pread(fd, mid, 6, 5 << 20), 6);
		assert_memory_equal(mid, "middle", 6);
		assert_int_equal(pread(fd, mid, 6, 0), 6);
		assert_memory_equal(mid, "\0\0\0\0\0\0", 6);
	}
}

/* Directories nested as deep as a path allows: replaced, and refused, without leaving any of it. */
static void test_deep_tree(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	const int depth = 1500; /* "d/" x 1500: about 3000 bytes, under PATH_MAX */
	_cleanup_free_ char *deep = malloc((size_t)depth * 2 + 8);
	assert_non_null(deep);
	for (int i = 0; i < depth; i++)
		memcpy(deep + 2 * i, "d/", 2);
	strcpy(deep + 2 * depth, "f");
	struct tent ents[] = {
	    {.name = deep, .type = 'f', .data = "deep"},
	    {.name = "d", .type = 'f', .data = "flat"}, /* the whole tree goes */
	};
	struct tent bad[] = {
	    {.name = deep, .type = 'f', .data = "deep"},
	    {.name = "../out", .type = 'f', .data = "x"}, /* the layer is refused: its temp dir goes */
	};
	/* at most a few hundred descriptors, or the removal would run out of them */
	struct rlimit old, low = {.rlim_cur = 256};
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = unpack_ents(f, "ok", ents, ARRAY_SIZE(ents), &e);
	if (r < 0)
		fail_msg("%s", berr_msg(&e));
	_cleanup_free_ char *ok = pathf("%s/ok", f->layers);
	assert_content(ok, "d", "flat");
	assert_int_equal(count_entries(ok), 1);
	assert_int_equal(unpack_ents(f, "bad", bad, ARRAY_SIZE(bad), &e), -1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_err_has(&e, "leaves the layer root");
	assert_int_equal(count_entries(f->layers), 1);
}

static void test_dest_rules(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	const struct tent ents[] = {{.name = "x", .type = 'f', .data = "x"}};
	assert_int_equal(unpack_ents(f, "l", ents, 1, &e), 0);
	/* dest exists: refused, the existing one untouched */
	assert_int_equal(unpack_ents(f, "l", ents, 1, &e), -1);
	assert_int_equal(e.errnum, EEXIST);
	berr_clear(&e);
	assert_int_equal(count_entries(f->layers), 1);
	/* invalid expected digests are refused before anything happens */
	_cleanup_free_ char *dest = pathf("%s/m", f->layers);
	assert_int_equal(img_layer_unpack(0, dest, "md5:abc", NULL, NULL, &e), -1);
	assert_err_has(&e, "invalid expected digest");
	/* layers/<id>/diff: <id> is made when missing, and goes again when the unpack fails */
	_cleanup_free_ char *layer = pathf("%s/x.tar", f->root);
	write_layer(layer, ARCHIVE_FILTER_NONE, ents, 1);
	_cleanup_free_ char *nested = pathf("%s/id/diff", f->layers);
	{
		_cleanup_close_ int lfd = open(layer, O_RDONLY | O_CLOEXEC);
		assert_int_equal(img_layer_unpack(lfd, nested, NULL, NULL, NULL, &e), 0);
	}
	assert_content(nested, "x", "x");
	_cleanup_free_ char *nested2 = pathf("%s/id2/diff", f->layers);
	{
		_cleanup_close_ int lfd = open(layer, O_RDONLY | O_CLOEXEC);
		const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
		assert_int_equal(img_layer_unpack(lfd, nested2, wrong, NULL, NULL, &e), -1);
		berr_clear(&e);
	}
	assert_int_equal(count_entries(f->layers), 2); /* l and id */
	/* but not deeper */
	_cleanup_free_ char *deeper = pathf("%s/a/b/diff", f->layers);
	assert_int_equal(img_layer_unpack(0, deeper, NULL, NULL, NULL, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	berr_clear(&e);
	assert_int_equal(count_entries(f->layers), 2);
}

/* ---- refusals ---- */

static void test_refuse_escapes(void **state)
{
	struct fixture *f = *state;
	const struct tent dotdot[] = {{.name = "ok", .type = 'f', .data = "x"},
				      {.name = "../evil", .type = 'f', .data = "x"}};
	assert_refused(f, "l", dotdot, ARRAY_SIZE(dotdot), "entry \"../evil\": the name leaves the layer root");
	const struct tent dotdot2[] = {{.name = "a/../../canary/evil", .type = 'f', .data = "x"}};
	assert_refused(f, "l", dotdot2, 1, "leaves the layer root");
	const struct tent dotdot3[] = {{.name = "/../../canary/x", .type = 'd'}};
	assert_refused(f, "l", dotdot3, 1, "leaves the layer root");
}

static void test_refuse_symlink_writes(void **state)
{
	struct fixture *f = *state;
	/* absolute symlink out, then a write through it */
	const struct tent abs[] = {{.name = "evil", .type = 'l', .data = f->canary},
				   {.name = "evil/passwd", .type = 'f', .data = "pwned"}};
	assert_refused(f, "l", abs, 2, "entry \"evil/passwd\": \"evil\" goes through a symlink");
	/* relative symlinks, even ones that stay inside */
	_cleanup_free_ char *rel = pathf("../../%s/canary", f->root + 1);
	const struct tent relout[] = {{.name = "d/", .type = 'd'},
				      {.name = "d/evil", .type = 'l', .data = rel},
				      {.name = "d/evil/x/y", .type = 'f', .data = "pwned"}};
	assert_refused(f, "l", relout, 3, "goes through a symlink");
	/* a directory the writes went into, replaced by a symlink: the next write is refused */
	const struct tent swap[] = {{.name = "d/a", .type = 'f', .data = "a"},
				    {.name = "d", .type = 'l', .data = f->canary},
				    {.name = "d/b", .type = 'f', .data = "pwned"}};
	assert_refused(f, "l", swap, 3, "entry \"d/b\": \"d\" goes through a symlink");
	const struct tent inside[] = {{.name = "real/", .type = 'd'},
				      {.name = "alias", .type = 'l', .data = "real"},
				      {.name = "alias/x", .type = 'f', .data = "x"}};
	assert_refused(f, "l", inside, 3, "entry \"alias/x\": \"alias\" goes through a symlink");
	/* a directory entry through a symlink, and a whiteout through one */
	const struct tent dir[] = {{.name = "evil", .type = 'l', .data = f->canary},
				   {.name = "evil/sub/", .type = 'd'}};
	assert_refused(f, "l", dir, 2, "goes through a symlink");
	const struct tent wh[] = {{.name = "evil", .type = 'l', .data = f->canary},
				  {.name = "evil/.wh.x", .type = 'f'}};
	assert_refused(f, "l", wh, 2, "goes through a symlink");
	const struct tent opq[] = {{.name = "evil", .type = 'l', .data = f->canary},
				   {.name = "evil/.wh..wh..opq", .type = 'f'}};
	assert_refused(f, "l", opq, 2, "goes through a symlink");
	/* the symlink's own name is replaced, never followed */
	_cleanup_free_ char *canary_file = pathf("%s/file", f->canary);
	const struct tent over[] = {{.name = "evil", .type = 'l', .data = canary_file},
				    {.name = "evil", .type = 'f', .data = "replaced"}};
	berr e = {0};
	if (unpack_ents(f, "ok", over, 2, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	_cleanup_free_ char *ok = pathf("%s/ok", f->layers);
	assert_meta(ok, "evil", S_IFREG, 0644, 0, 0, T0);
	assert_int_equal(count_entries(f->canary), 0);
}

static void test_refuse_hardlinks(void **state)
{
	struct fixture *f = *state;
	const struct tent out[] = {{.name = "h", .type = 'h', .data = "../../../../etc/passwd"}};
	assert_refused(f, "l", out, 1, "entry \"h\": hard link target \"../../../../etc/passwd\" is outside the layer");
	const struct tent abs[] = {{.name = "h", .type = 'h', .data = "/etc/passwd"}};
	assert_refused(f, "l", abs, 1, "hard link target \"/etc/passwd\" is not in the layer");
	const struct tent missing[] = {{.name = "a", .type = 'f', .data = "a"},
				       {.name = "h", .type = 'h', .data = "b"}};
	assert_refused(f, "l", missing, 2, "hard link target \"b\" is not in the layer");
	const struct tent later[] = {{.name = "h", .type = 'h', .data = "a"}, {.name = "a", .type = 'f', .data = "a"}};
	assert_refused(f, "l", later, 2, "is not in the layer");
	_cleanup_free_ char *canary_file = pathf("%s/file", f->canary);
	const struct tent viasym[] = {{.name = "evil", .type = 'l', .data = f->canary},
				      {.name = "h", .type = 'h', .data = "evil/file"}};
	assert_int_equal(b_write_file(canary_file, "c", 1, 0644, &(berr){0}), 0);
	berr e = {0};
	assert_int_equal(unpack_ents(f, "l", viasym, 2, &e), -1);
	assert_err_has(&e, "goes through a symlink");
	assert_int_equal(count_entries(f->layers), 0);
	assert_int_equal(lstat(canary_file, &(struct stat){0}), 0);
	assert_int_equal(unlink(canary_file), 0);
	const struct tent todir[] = {{.name = "d/", .type = 'd'}, {.name = "h", .type = 'h', .data = "d"}};
	assert_refused(f, "l", todir, 2, "hard link to the directory \"d\"");
	const struct tent towh[] = {{.name = ".wh.w", .type = 'f'}, {.name = "h", .type = 'h', .data = "w"}};
	assert_refused(f, "l", towh, 2, "(a whiteout)");
	const struct tent self[] = {{.name = "h", .type = 'h', .data = "./h"}};
	assert_refused(f, "l", self, 1, "hard link to itself");
}

static void test_refuse_whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct tent dot[] = {{.name = "d/.wh..", .type = 'f'}};
	assert_refused(f, "l", dot, 1, "entry \"d/.wh..\": an invalid whiteout name");
	const struct tent dotdot[] = {{.name = "d/.wh...", .type = 'f'}};
	assert_refused(f, "l", dotdot, 1, "an invalid whiteout name");
	const struct tent empty[] = {{.name = ".wh.", .type = 'f'}};
	assert_refused(f, "l", empty, 1, "an invalid whiteout name");
	const struct tent slash[] = {{.name = "a/.wh.b/c", .type = 'f'}};
	assert_refused(f, "l", slash, 1, "entry \"a/.wh.b/c\": a whiteout name used as a directory");
	const struct tent dev_after[] = {{.name = ".wh.null", .type = 'f'},
					 {.name = "null", .type = 'c', .major = 1, .minor = 3}};
	assert_refused(f, "l", dev_after, 2, "entry \"null\": a device node where this layer has a whiteout");
	const struct tent dev_before[] = {{.name = "d/null", .type = 'c', .major = 1, .minor = 3},
					  {.name = "d/.wh.null", .type = 'f'}};
	assert_refused(f, "l", dev_before, 2, "a whiteout where this layer has the device node \"null\"");
	const struct tent zero_dev[] = {{.name = ".wh.z", .type = 'f'}, {.name = "z", .type = 'c'}};
	assert_refused(f, "l", zero_dev, 2, "a device node where this layer has a whiteout");
	const struct tent blk[] = {{.name = "b", .type = 'b', .major = 7}, {.name = ".wh.b", .type = 'f'}};
	assert_refused(f, "l", blk, 2, "device node \"b\"");
	const struct tent root[] = {{.name = ".", .type = 'f', .data = "x"}};
	assert_refused(f, "l", root, 1, "replaces the layer root");
}

/* ---- digests and damaged streams ---- */

static void check_digests(struct fixture *f, int filter, const char *name, const char *decompress)
{
	berr e = {0};
	_cleanup_free_ char *layer = pathf("%s/%s", f->root, name);
	write_layer(layer, filter, layer1, ARRAY_SIZE(layer1));
	_cleanup_free_ char *cmd_c = pathf("sha256sum %s", layer);
	_cleanup_free_ char *cmd_u = pathf("%s %s | sha256sum", decompress, layer);
	_cleanup_free_ char *cmd_n = pathf("%s %s | wc -c", decompress, layer);
	_cleanup_free_ char *want_c = run_word(cmd_c), *want_u = run_word(cmd_u), *want_n = run_word(cmd_n);
	struct img_unpack_result r;
	_cleanup_free_ char *dc = pathf("sha256:%s", want_c), *du = pathf("sha256:%s", want_u);
	if (unpack_file(f, layer, name, dc, du, &r, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_string_equal(r.compressed_digest, dc);
	assert_string_equal(r.diff_id, du);
	struct stat st;
	assert_int_equal(stat(layer, &st), 0);
	assert_int_equal(r.compressed_size, (uint64_t)st.st_size);
	assert_int_equal(r.uncompressed_size, strtoull(want_n, NULL, 10));
	assert_int_equal(r.entries, ARRAY_SIZE(layer1));
}

static void test_digests(void **state)
{
	struct fixture *f = *state;
	check_digests(f, ARCHIVE_FILTER_GZIP, "l.tar.gz", "gzip -dc");
	check_digests(f, ARCHIVE_FILTER_ZSTD, "l.tar.zst", "zstd -dc");
	check_digests(f, ARCHIVE_FILTER_NONE, "l.tar", "cat");
	/* xz too, as Docker reads it */
	if (system("command -v xz >/dev/null") != 0) {
		printf("note: no xz here: xz layers not tried\n");
		return;
	}
	berr e = {0};
	_cleanup_free_ char *cmd =
	    pathf("cd %s && tar -cf - -C %s/l.tar.gz . 2>/dev/null | xz -c > x.tar.xz", f->root, f->layers);
	assert_int_equal(system(cmd), 0);
	_cleanup_free_ char *xz = pathf("%s/x.tar.xz", f->root);
	if (unpack_file(f, xz, "x", NULL, NULL, NULL, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_int_equal(count_entries(f->layers), 4);
}

static void test_wrong_digest(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	_cleanup_free_ char *layer = pathf("%s/l.tar.gz", f->root);
	write_layer(layer, ARCHIVE_FILTER_GZIP, layer1, ARRAY_SIZE(layer1));
	const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct img_unpack_result r;
	assert_int_equal(unpack_file(f, layer, "l", NULL, NULL, &r, &e), 0);
	assert_int_equal(unpack_file(f, layer, "c", wrong, NULL, NULL, &e), -1);
	assert_int_equal(e.errnum, EIO);
	assert_err_has(&e, "compressed digest mismatch: expected sha256:0000");
	assert_int_equal(unpack_file(f, layer, "d", r.compressed_digest, wrong, NULL, &e), -1);
	assert_int_equal(e.errnum, EIO);
	assert_err_has(&e, "diff_id mismatch");
	assert_int_equal(unpack_file(f, layer, "e", r.diff_id, r.compressed_digest, NULL, &e), -1);
	berr_clear(&e);
	assert_int_equal(count_entries(f->layers), 1);
	assert_int_equal(unpack_file(f, layer, "g", r.compressed_digest, r.diff_id, NULL, &e), 0);
}

static void test_damaged_streams(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* a layer big enough that a cut lands in the middle of deflate data */
	char big[200000];
	uint64_t x = 7;
	for (size_t i = 0; i < sizeof big - 1; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		big[i] = (char)('a' + x % 26);
	}
	big[sizeof big - 1] = '\0';
	const struct tent ents[] = {{.name = "a", .type = 'f', .data = "a"},
				    {.name = "big", .type = 'f', .data = big},
				    {.name = "z", .type = 'f', .data = "z"}};
	static const int filters[] = {ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD, ARCHIVE_FILTER_NONE};
	for (size_t fi = 0; fi < ARRAY_SIZE(filters); fi++) {
		_cleanup_free_ char *layer = pathf("%s/l", f->root);
		write_layer(layer, filters[fi], ents, ARRAY_SIZE(ents));
		struct stat st;
		assert_int_equal(stat(layer, &st), 0);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		assert_int_equal(b_read_file(layer, &data, &len, &e), 0);
		/* cut in the middle, in the last few bytes (the gzip trailer), and a flipped byte */
		off_t cuts[] = {st.st_size / 2, st.st_size - 4, st.st_size / 100};
		for (size_t c = 0; c < ARRAY_SIZE(cuts); c++) {
			if (filters[fi] == ARCHIVE_FILTER_NONE && c == 1)
				continue; /* a plain tar cut in its zero padding is still whole */
			_cleanup_free_ char *cut = pathf("%s/cut", f->root);
			assert_int_equal(b_write_file(cut, data, (size_t)cuts[c], 0644, &e), 0);
			if (unpack_file(f, cut, "l", NULL, NULL, NULL, &e) == 0)
				fail_msg("filter %d cut at %lld/%lld: not refused", filters[fi], (long long)cuts[c],
					 (long long)st.st_size);
			berr_clear(&e);
			assert_int_equal(count_entries(f->layers), 0);
		}
		if (filters[fi] == ARCHIVE_FILTER_GZIP) { /* zstd as written here has no checksum */
			data[len / 2] ^= 0x55;
			_cleanup_free_ char *bad = pathf("%s/bad", f->root);
			assert_int_equal(b_write_file(bad, data, len, 0644, &e), 0);
			assert_int_equal(unpack_file(f, bad, "l", NULL, NULL, NULL, &e), -1);
			berr_clear(&e);
			assert_int_equal(count_entries(f->layers), 0);
		}
	}
	/* not a tar at all */
	_cleanup_free_ char *junk = pathf("%s/junk", f->root);
	assert_int_equal(b_write_file(junk, "this is not a tar archive, not at all, no.........", 50, 0644, &e), 0);
	assert_int_equal(unpack_file(f, junk, "l", NULL, NULL, NULL, &e), -1);
	berr_clear(&e);
	assert_int_equal(count_entries(f->layers), 0);
	/* empty input: an empty layer */
	_cleanup_free_ char *empty = pathf("%s/empty", f->root);
	assert_int_equal(b_write_file(empty, "", 0, 0644, &e), 0);
	struct img_unpack_result r;
	if (unpack_file(f, empty, "l", NULL, NULL, &r, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	assert_string_equal(r.diff_id, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(r.entries, 0);
}

/* From a pipe; a refusal while the writer still holds the pipe open returns at once. */
static void test_pipe(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* a bad entry first, then data the writer is still pushing when the layer is refused */
	size_t padlen = 3u << 20;
	_cleanup_free_ char *pad = malloc(padlen);
	assert_non_null(pad);
	uint64_t x = 42;
	for (size_t i = 0; i < padlen; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pad[i] = (char)x;
	}
	const struct tent evil[] = {{.name = "../x", .type = 'f', .data = "x"},
				    {.name = "pad", .type = 'f', .data = pad, .len = padlen}};
	static const int filters[] = {ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_NONE};
	for (int bad = 0; bad < 2; bad++) {
		for (size_t fi = 0; fi < ARRAY_SIZE(filters); fi++) {
			_cleanup_free_ char *layer = pathf("%s/layer", f->root);
			if (bad)
				write_layer(layer, filters[fi], evil, ARRAY_SIZE(evil));
			else
				write_layer(layer, filters[fi], layer1, ARRAY_SIZE(layer1));
			_cleanup_free_ char *data = NULL;
			size_t len = 0;
			assert_int_equal(b_read_file(layer, &data, &len, &e), 0);
			int p[2];
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
			pid_t pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				close(p[0]);
				CHILD_CHECK(write(p[1], data, len) == (ssize_t)len);
				if (bad)
					sleep(30); /* the pipe stays open: no EOF */
				_exit(0);
			}
			close(p[1]);
			_cleanup_free_ char *dest = pathf("%s/p%d-%zu", f->layers, bad, fi);
			double t0 = now_s();
			int r = img_layer_unpack(p[0], dest, NULL, NULL, NULL, &e);
			double took = now_s() - t0;
			close(p[0]);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			if (!bad && r < 0)
				fail_msg("%s", berr_msg(&e));
			if (bad) {
				assert_int_equal(r, -1);
				assert_err_has(&e, "entry \"../x\": the name leaves the layer root");
				if (took > 5)
					fail_msg("a refusal took %.1f s while the writer held the pipe", took);
			}
		}
	}
	assert_int_equal(count_entries(f->layers), 2);
}

/* ---- cleanup after a crash ---- */

static void test_cleanup(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* what a crash leaves: temp dirs beside layers/<id>/diff and beside layers/<id> */
	_cleanup_free_ char *id = pathf("%s/abc", f->layers);
	_cleanup_free_ char *t1 = pathf("%s/" IMG_UNPACK_TMP_PREFIX "diff-0123456789abcdef", id);
	_cleanup_free_ char *t2 = pathf("%s/" IMG_UNPACK_TMP_PREFIX "abc-0123456789abcdef", f->layers);
	_cleanup_free_ char *live = pathf("%s/" IMG_UNPACK_TMP_PREFIX "live-0123456789abcdef", f->layers);
	_cleanup_free_ char *diff = pathf("%s/diff", id);
	assert_int_equal(b_mkdir_p(diff, 0755, &e), 0);
	for (int i = 0; i < 3; i++) {
		const char *t = i == 0 ? t1 : i == 1 ? t2 : live;
		_cleanup_free_ char *sub = pathf("%s/usr/bin", t);
		assert_int_equal(b_mkdir_p(sub, 0755, &e), 0);
		_cleanup_free_ char *file = pathf("%s/usr/bin/x", t);
		assert_int_equal(b_write_file(file, "x", 1, 0755, &e), 0);
		assert_int_equal(chmod(sub, 0), 0);
	}
	/* one is still being written by a live unpack (it holds the lock) */
	_cleanup_close_ int lock = open(live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX), 0);

	assert_int_equal(img_layer_unpack_cleanup(f->layers, &e), 0);
	assert_false(b_path_exists(t1));
	assert_false(b_path_exists(t2));
	assert_true(b_path_exists(live));
	assert_true(b_path_exists(diff));
	close(steal_fd(lock));
	assert_int_equal(img_layer_unpack_cleanup(f->layers, &e), 0);
	assert_false(b_path_exists(live));
	assert_int_equal(count_entries(f->layers), 1);
	/* a missing layers dir is fine */
	_cleanup_free_ char *none = pathf("%s/none", f->root);
	assert_int_equal(img_layer_unpack_cleanup(none, &e), 0);
}

/* ---- speed ---- */

/* A tree of about total bytes: many small files, some large ones, text that compresses like code. */
static void make_tree(const char *dir, size_t total)
{
	static const char *words[] = {"static", "int",  "return", "if",    "else",   "for", "while",
				      "struct", "char", "void",   "const", "size_t", "0",   "1",
				      "(",      ")",    "{",      "}",     ";",      "\n",  "\t",
				      "buf",    "len",  "error",  "NULL",  "=",      "==",  "+"};
	uint64_t x = 88172645463325252ULL;
	size_t written = 0;
	_cleanup_free_ char *buf = malloc(8 << 20);
	assert_non_null(buf);
	for (unsigned i = 0; written < total; i++) {
		_cleanup_free_ char *sub = pathf("%s/d%02u/e%02u", dir, i % 37, (i / 37) % 11);
		berr e = {0};
		assert_int_equal(b_mkdir_p(sub, 0755, &e), 0);
		/* one file in 200 is big (1-8 MiB); the others 100 B - 64 KiB */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t size = i % 200 == 199 ? (1u << 20) + x % (7u << 20) : 100 + x % (64u << 10);
		size_t n = 0;
		while (n < size) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (x % 16 == 0) { /* some incompressible bytes too */
				for (int k = 0; k < 8 && n < size; k++)
					buf[n++] = (char)(x >> (8 * k));
				continue;
			}
			const char *w = words[x % ARRAY_SIZE(words)];
			size_t wl = strlen(w);
			if (n + wl + 1 > size)
				break;
			memcpy(buf + n, w, wl);
			n += wl;
			buf[n++] = ' ';
		}
		_cleanup_free_ char *file = pathf("%s/f%u.c", sub, i);
		assert_int_equal(b_write_file(file, buf, n, 0644, &e), 0);
		written += n;
	}
}

static void test_throughput(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	_cleanup_free_ char *src = pathf("%s/src", f->root);
	make_tree(src, 100u << 20);
	static const struct {
		const char *ext, *flags;
	} kinds[] = {{"tar.gz", "-z"}, {"tar.zst", "--zstd"}, {"tar", ""}};
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		_cleanup_free_ char *layer = pathf("%s/layer.%s", f->root, kinds[k].ext);
		_cleanup_free_ char *mk = pathf("tar %s -cf %s -C %s .", kinds[k].flags, layer, src);
		assert_int_equal(system(mk), 0);
		sync();

		struct img_unpack_result r;
		double t0 = now_s();
		if (unpack_file(f, layer, kinds[k].ext, NULL, NULL, &r, &e) < 0)
			fail_msg("%s", berr_msg(&e));
		double ours = now_s() - t0;

		_cleanup_free_ char *out = pathf("%s/tar-%s", f->root, kinds[k].ext);
		assert_int_equal(mkdir(out, 0755), 0);
		_cleanup_free_ char *cmd = pathf("tar %s -xf %s -C %s", kinds[k].flags, layer, out);
		t0 = now_s();
		assert_int_equal(system(cmd), 0);
		double tar = now_s() - t0;
		sync();
		double tar_sync = now_s() - t0;

		double mb = (double)r.uncompressed_size / 1e6;
		printf("unpack %-7s %.0f MB (%.0f MB as read, %" PRIu64 " entries): berth %.2f s = %.0f MB/s "
		       "(syncfs included); tar %s -xf %.2f s = %.0f MB/s, %.2f s with sync\n",
		       kinds[k].ext, mb, (double)r.compressed_size / 1e6, r.entries, ours, mb / ours, kinds[k].flags,
		       tar, mb / tar, tar_sync);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_path),
	    cmocka_unit_test(test_whiteout_kind),
	    cmocka_unit_test_setup_teardown(test_three_layers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_whiteout_same_layer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_misc_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_name_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gnu_tar_layer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dest_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuse_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuse_symlink_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuse_hardlinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuse_whiteouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_digests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_digest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cleanup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
