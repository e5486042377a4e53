/* Overlay root filesystems: real mounts in a private mount namespace, under a temp dir in /tmp. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "storage/overlay.h"

static bool privileged;
static char *troot; /* /tmp/berth-test-overlay-XXXXXX */

#define OK(call)                                                        \
	do {                                                            \
		if ((call) < 0)                                         \
			fail_msg("%s failed: %s", #call, berr_msg(&e)); \
	} while (0)

/* Mounting needs root (CI runs as root); an unprivileged run skips rather than fails. */
#define NEED_ROOT()              \
	do {                     \
		if (!privileged) \
			skip();  \
	} while (0)

/* ---------- fixtures on disk ---------- */

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

static void mkdirs(const char *path)
{
	berr e = {0};
	OK(b_mkdir_p(path, 0755, &e));
}

static void mkparent(const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	assert_non_null(p);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdirs(p);
}

static void put(const char *dir, const char *rel, const char *content)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	mkparent(p);
	berr e = {0};
	OK(b_write_file(p, content, strlen(content), 0644, &e));
}

static void whiteout(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	mkparent(p);
	assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
}

static void opaque_dir(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	mkdirs(p);
	assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
}

static char *slurp(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s/%s", dir, rel);
	char *s = NULL;
	berr e = {0};
	if (b_read_file(p, &s, NULL, &e) < 0) {
		berr_clear(&e);
		return NULL;
	}
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per entry below dir, depth-first in name order: "d /x", "f /x/y=content", "c /w 0/0", "l /l->t". */
static void list_rec(FILE *out, const char *dir, const char *rel)
{
	_cleanup_free_ char *p = pathf("%s%s", dir, rel);
	DIR *d = opendir(p);
	assert_non_null(d);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *r = pathf("%s/%s", rel, names[i]);
		_cleanup_free_ char *full = pathf("%s%s", dir, r);
		struct stat st;
		assert_int_equal(lstat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			fprintf(out, "d %s\n", r);
			list_rec(out, dir, r);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_free_ char *c = slurp(dir, r);
			fprintf(out, "f %s=%s\n", r, c ? c : "?");
		} else if (S_ISCHR(st.st_mode)) {
			fprintf(out, "c %s %u/%u\n", r, major(st.st_rdev), minor(st.st_rdev));
		} else if (S_ISLNK(st.st_mode)) {
			char t[256] = "";
			ssize_t k = readlink(full, t, sizeof t - 1);
			t[k > 0 ? k : 0] = '\0';
			fprintf(out, "l %s->%s\n", r, t);
		} else {
			fprintf(out, "? %s\n", r);
		}
		free(names[i]);
	}
	free(names);
}

static char *listing(const char *dir)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	list_rec(out, dir, "");
	fclose(out);
	return buf;
}

/* Mount points in our namespace at or below prefix. */
static int mounts_at_or_below(const char *prefix)
{
	_cleanup_free_ char *info = NULL;
	berr e = {0};
	OK(b_read_file("/proc/self/mountinfo", &info, NULL, &e));
	int count = 0;
	size_t plen = strlen(prefix);
	char *save = NULL;
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		if (!strncmp(mp, prefix, plen) && (mp[plen] == '\0' || mp[plen] == '/'))
			count++;
	}
	return count;
}

/* The mountinfo line of the (top-most) mount at mp, or NULL. */
static char *mountinfo_of(const char *mp)
{
	_cleanup_free_ char *info = NULL;
	berr e = {0};
	OK(b_read_file("/proc/self/mountinfo", &info, NULL, &e));
	char *found = NULL;
	char *save = NULL;
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char m[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", m) == 1 && !strcmp(m, mp)) {
			free(found);
			found = strdup(line);
		}
	}
	return found;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A fresh directory for one test: <troot>/<name>. */
static char *testdir(const char *name)
{
	char *d = pathf("%s/%s", troot, name);
	berr e = {0};
	OK(b_remove_tree(d, &e));
	mkdirs(d);
	return d;
}

/*
 * Three layers, bottom to top:
 *   l1: bin/sh etc/{passwd,hostname,group} opt/old/{a,b} var/log/x
 *   l2: etc/passwd changed, usr/added added, etc/hostname deleted (whiteout)
 *   l3: opt/old replaced by an opaque dir holding c, etc/motd added, etc/group deleted
 * lowers[] gets them top-most first.
 */
static void three_layers(const char *base, char *lowers[3])
{
	char *l1 = pathf("%s/l1", base), *l2 = pathf("%s/l2", base), *l3 = pathf("%s/l3", base);
	put(l1, "bin/sh", "sh-v1");
	put(l1, "etc/passwd", "root-v1");
	put(l1, "etc/hostname", "h1");
	put(l1, "etc/group", "g1");
	put(l1, "opt/old/a", "a");
	put(l1, "opt/old/b", "b");
	put(l1, "var/log/x", "");
	put(l2, "etc/passwd", "root-v2");
	put(l2, "usr/added", "new");
	whiteout(l2, "etc/hostname");
	opaque_dir(l3, "opt/old");
	put(l3, "opt/old/c", "c");
	put(l3, "etc/motd", "hello");
	whiteout(l3, "etc/group");
	lowers[0] = l3;
	lowers[1] = l2;
	lowers[2] = l1;
}

static const char three_merged[] = "d /bin\n"
				   "f /bin/sh=sh-v1\n"
				   "d /etc\n"
				   "f /etc/motd=hello\n"
				   "f /etc/passwd=root-v2\n"
				   "d /opt\n"
				   "d /opt/old\n"
				   "f /opt/old/c=c\n"
				   "d /usr\n"
				   "f /usr/added=new\n"
				   "d /var\n"
				   "d /var/log\n"
				   "f /var/log/x=\n";

/* ---------- tests ---------- */

static void check_three_layers(bool legacy)
{
	stor_overlay_force_legacy(legacy);
	_cleanup_free_ char *base = testdir(legacy ? "three-legacy" : "three");
	char *lowers[3];
	three_layers(base, lowers);
	_cleanup_free_ char *upper = pathf("%s/c/upper", base), *work = pathf("%s/c/work", base),
			    *merged = pathf("%s/merged", base);
	mkdirs(merged);
	berr e = {0};
	OK(stor_overlay_mount(lowers, 3, upper, work, merged, &e));

	_cleanup_free_ char *info = mountinfo_of(merged);
	assert_non_null(info);
	assert_non_null(strstr(info, " - overlay overlay "));
	/* The new API shows one lowerdir+ per layer; mount(2) the list, here short enough for plain paths. */
	assert_non_null(strstr(info, legacy ? ",lowerdir=" : "lowerdir+="));
	assert_non_null(strstr(info, lowers[2]));

	_cleanup_free_ char *view = listing(merged);
	assert_string_equal(view, three_merged);

	/* Writes land in upper: a change, an addition, a deletion (a whiteout), a new dir. */
	put(merged, "etc/passwd", "root-v3");
	put(merged, "new", "n");
	_cleanup_free_ char *sh = pathf("%s/bin/sh", merged), *dir = pathf("%s/etc/dir", merged);
	assert_int_equal(unlink(sh), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	_cleanup_free_ char *up = listing(upper);
	assert_string_equal(up, "d /bin\n"
				"c /bin/sh 0/0\n"
				"d /etc\n"
				"d /etc/dir\n"
				"f /etc/passwd=root-v3\n"
				"f /new=n\n");
	_cleanup_free_ char *l2p = slurp(lowers[1], "etc/passwd"), *l1sh = slurp(lowers[2], "bin/sh");
	assert_string_equal(l2p, "root-v2");
	assert_string_equal(l1sh, "sh-v1");
	struct stat st;
	assert_int_equal(stat(upper, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(work, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	OK(stor_overlay_unmount(merged, &e));
	assert_int_equal(mounts_at_or_below(merged), 0);
	/* Unmounting what is not mounted is fine. */
	OK(stor_overlay_unmount(merged, &e));
	_cleanup_free_ char *gone = pathf("%s/nonexistent", base);
	OK(stor_overlay_unmount(gone, &e));
	for (int i = 0; i < 3; i++)
		free(lowers[i]);
	stor_overlay_force_legacy(false);
}

static void test_three_layers(void **state)
{
	NEED_ROOT();
	if (!stor_overlay_has_lowerdir_plus())
		skip(); /* the new mount API path needs Linux 6.8+; older kernels test the mount(2) path only */
	check_three_layers(false);
}

static void test_three_layers_legacy(void **state)
{
	NEED_ROOT();
	check_three_layers(true);
}

/* n layers whose paths are about 80 bytes long; layer k (0 = bottom) has f = "k" and only-k. Top-most first. */
static char **many_layers(const char *base, size_t n)
{
	char **lowers = calloc(n, sizeof *lowers);
	assert_non_null(lowers);
	size_t prefix = strlen(base) + strlen("/layer-000-") + strlen("/diff");
	int pad = prefix < 80 ? (int)(80 - prefix) : 1;
	for (size_t k = 0; k < n; k++) {
		char *l = pathf("%s/layer-%03zu-%.*s/diff", base, k, pad,
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		char num[24], only[40];
		snprintf(num, sizeof num, "%zu", k);
		snprintf(only, sizeof only, "only-%03zu", k);
		put(l, "f", num);
		put(l, only, num);
		lowers[n - 1 - k] = l;
	}
	return lowers;
}

static void free_layers(char **lowers, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lowers[i]);
	free(lowers);
}

static void check_many_layers(bool legacy)
{
	stor_overlay_force_legacy(legacy);
	_cleanup_free_ char *base = testdir(legacy ? "many-legacy" : "many");
	const size_t n = 150;
	char **lowers = many_layers(base, n);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(lowers[i]) + 1;
	/* The point of the test: the plain list is beyond two pages of mount(2) options. */
	assert_true(total > 2 * 4096);
	assert_true(strlen(lowers[0]) >= 75);

	_cleanup_free_ char *upper = pathf("%s/upper", base), *work = pathf("%s/work", base),
			    *merged = pathf("%s/merged", base);
	mkdirs(merged);
	berr e = {0};
	OK(stor_overlay_mount(lowers, n, upper, work, merged, &e));
	_cleanup_free_ char *f = slurp(merged, "f"), *bottom = slurp(merged, "only-000"),
			    *top = slurp(merged, "only-149");
	assert_string_equal(f, "149");
	assert_string_equal(bottom, "0");
	assert_string_equal(top, "149");
	_cleanup_free_ char *info = mountinfo_of(merged);
	assert_non_null(info);
	if (legacy)
		assert_non_null(strstr(info, "lowerdir=/proc/self/fd/"));
	else
		assert_non_null(strstr(info, "lowerdir+="));
	put(merged, "f", "written");
	_cleanup_free_ char *uf = slurp(upper, "f"), *tf = slurp(lowers[0], "f");
	assert_string_equal(uf, "written");
	assert_string_equal(tf, "149");
	OK(stor_overlay_unmount(merged, &e));
	assert_int_equal(mounts_at_or_below(merged), 0);
	free_layers(lowers, n);
	stor_overlay_force_legacy(false);
}

static void test_many_layers(void **state)
{
	NEED_ROOT();
	if (!stor_overlay_has_lowerdir_plus())
		skip(); /* the new mount API path needs Linux 6.8+; older kernels test the mount(2) path only */
	check_many_layers(false);
}

static void test_many_layers_legacy(void **state)
{
	NEED_ROOT();
	check_many_layers(true);
}

/* 300 layers do not fit in mount(2)'s page even by descriptor: a clear error; the new API takes them. */
static void test_too_many_layers_legacy(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("toomany");
	const size_t n = 300;
	char **lowers = many_layers(base, n);
	_cleanup_free_ char *upper = pathf("%s/upper", base), *work = pathf("%s/work", base),
			    *merged = pathf("%s/merged", base);
	mkdirs(merged);
	berr e = {0};
	stor_overlay_force_legacy(true);
	assert_int_equal(stor_overlay_mount(lowers, n, upper, work, merged, &e), -1);
	assert_int_equal(e.errnum, E2BIG);
	assert_non_null(strstr(e.msg, "300 lower layers do not fit"));
	assert_non_null(strstr(e.msg, merged));
	berr_clear(&e);
	assert_int_equal(mounts_at_or_below(merged), 0);
	stor_overlay_force_legacy(false);
	if (stor_overlay_has_lowerdir_plus()) {
		OK(stor_overlay_mount(lowers, n, upper, work, merged, &e));
		_cleanup_free_ char *f = slurp(merged, "f");
		assert_string_equal(f, "299");
		OK(stor_overlay_unmount(merged, &e));
	}
	free_layers(lowers, n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void time_mounts(const char *label, char **lowers, size_t n, const char *base)
{
	enum { RUNS = 21 };
	double m[RUNS], u[RUNS];
	_cleanup_free_ char *upper = pathf("%s/t-upper", base), *work = pathf("%s/t-work", base),
			    *merged = pathf("%s/t-merged", base);
	mkdirs(merged);
	berr e = {0};
	for (int i = 0; i < RUNS; i++) {
		double t0 = now_ms();
		OK(stor_overlay_mount(lowers, n, upper, work, merged, &e));
		double t1 = now_ms();
		OK(stor_overlay_unmount(merged, &e));
		double t2 = now_ms();
		m[i] = t1 - t0;
		u[i] = t2 - t1;
	}
	qsort(m, RUNS, sizeof m[0], cmp_double);
	qsort(u, RUNS, sizeof u[0], cmp_double);
	printf("[ TIMING   ] %-26s %3zu layers: mount %.3f ms, unmount %.3f ms (medians of %d)\n", label, n,
	       m[RUNS / 2], u[RUNS / 2], RUNS);
}

static void test_timing(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("timing");
	_cleanup_free_ char *b3 = pathf("%s/three", base), *b150 = pathf("%s/many", base);
	mkdirs(b3);
	mkdirs(b150);
	char *three[3];
	three_layers(b3, three);
	char **many = many_layers(b150, 150);
	for (int legacy = 0; legacy < 2; legacy++) {
		stor_overlay_force_legacy(legacy);
		if (!legacy && !stor_overlay_has_lowerdir_plus())
			continue;
		const char *label = legacy ? "mount(2)" : "fsconfig lowerdir+";
		time_mounts(label, three, 3, base);
		time_mounts(label, many, 150, base);
	}
	stor_overlay_force_legacy(false);
	for (int i = 0; i < 3; i++)
		free(three[i]);
	free_layers(many, 150);
}

/* Paths longer than fsconfig's 255-byte values (and than short mount(2) entries) still mount. */
static void check_long_paths(bool legacy)
{
	stor_overlay_force_legacy(legacy);
	_cleanup_free_ char *base = testdir(legacy ? "long-legacy" : "long");
	char seg[101];
	memset(seg, 's', 100);
	seg[100] = '\0';
	_cleanup_free_ char *deep = pathf("%s/%s/%s/%s", base, seg, seg, seg);
	_cleanup_free_ char *l1 = pathf("%s/lower-one", deep), *l2 = pathf("%s/lower-two", deep),
			    *upper = pathf("%s/upper", deep), *work = pathf("%s/work", deep),
			    *merged = pathf("%s/m", base);
	assert_true(strlen(l1) > 300);
	put(l1, "f", "one");
	put(l2, "f", "two");
	put(l2, "g", "g");
	mkdirs(merged);
	char *lowers[] = {l1, l2};
	berr e = {0};
	OK(stor_overlay_mount(lowers, 2, upper, work, merged, &e));
	_cleanup_free_ char *view = listing(merged);
	assert_string_equal(view, "f /f=one\nf /g=g\n");
	put(merged, "h", "h");
	_cleanup_free_ char *h = slurp(upper, "h");
	assert_string_equal(h, "h");
	OK(stor_overlay_unmount(merged, &e));
	stor_overlay_force_legacy(false);
}

static void test_long_paths(void **state)
{
	NEED_ROOT();
	if (!stor_overlay_has_lowerdir_plus())
		skip(); /* the new mount API path needs Linux 6.8+; older kernels test the mount(2) path only */
	check_long_paths(false);
}

static void test_long_paths_legacy(void **state)
{
	NEED_ROOT();
	check_long_paths(true);
}

/* No lower layer: upper itself is bind-mounted. */
static void test_no_lower(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("nolower");
	_cleanup_free_ char *upper = pathf("%s/upper", base), *work = pathf("%s/work", base),
			    *merged = pathf("%s/merged", base);
	mkdirs(merged);
	berr e = {0};
	OK(stor_overlay_mount(NULL, 0, upper, work, merged, &e));
	_cleanup_free_ char *info = mountinfo_of(merged);
	assert_non_null(info);
	put(merged, "etc/hosts", "h");
	_cleanup_free_ char *h = slurp(upper, "etc/hosts");
	assert_string_equal(h, "h");
	OK(stor_overlay_unmount(merged, &e));
	assert_int_equal(mounts_at_or_below(merged), 0);
}

/* The mount point must be a directory, not a symlink to one. */
static void test_mount_refuses_symlink_target(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("symtarget");
	char *lowers[3];
	three_layers(base, lowers);
	_cleanup_free_ char *real = pathf("%s/real", base), *link = pathf("%s/link", base),
			    *upper = pathf("%s/upper", base), *work = pathf("%s/work", base);
	mkdirs(real);
	assert_int_equal(symlink(real, link), 0);
	berr e = {0};
	assert_int_equal(stor_overlay_mount(lowers, 3, upper, work, link, &e), -1);
	assert_non_null(strstr(e.msg, link));
	berr_clear(&e);
	assert_int_equal(mounts_at_or_below(real), 0);
	for (int i = 0; i < 3; i++)
		free(lowers[i]);
}

static void test_rootfs_create_remove(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("rootfs");
	char *lowers[3];
	three_layers(base, lowers);
	_cleanup_free_ char *containers = pathf("%s/containers", base), *cdir = pathf("%s/abc123", containers);
	mkdirs(containers);
	berr e = {0};
	mode_t old = umask(077); /* the modes must not depend on the daemon's umask */
	_cleanup_free_ char *rootfs = NULL;
	OK(stor_rootfs_create(containers, "abc123", lowers, 3, &rootfs, &e));
	umask(old);
	_cleanup_free_ char *want = pathf("%s/rootfs", cdir);
	assert_string_equal(rootfs, want);
	assert_int_equal(mounts_at_or_below(cdir), 1);
	struct stat st;
	_cleanup_free_ char *upper = pathf("%s/upper", cdir), *work = pathf("%s/work", cdir);
	assert_int_equal(stat(cdir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(upper, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(work, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* The root directory of the container is upper's: 0755, whatever the umask. */
	assert_int_equal(stat(rootfs, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	_cleanup_free_ char *view = listing(rootfs);
	assert_string_equal(view, three_merged);
	put(rootfs, "etc/passwd", "changed");
	put(rootfs, "deep/er/file", "x");

	/* Again: the mounted rootfs is left as it is. */
	_cleanup_free_ char *again = NULL;
	OK(stor_rootfs_create(containers, "abc123", lowers, 3, &again, &e));
	assert_string_equal(again, rootfs);
	assert_int_equal(mounts_at_or_below(cdir), 1);

	/* After an unmount (a reboot), the container's changes come back. */
	OK(stor_overlay_unmount(rootfs, &e));
	_cleanup_free_ char *third = NULL;
	OK(stor_rootfs_create(containers, "abc123", lowers, 3, &third, &e));
	_cleanup_free_ char *pw = slurp(rootfs, "etc/passwd");
	assert_string_equal(pw, "changed");

	OK(stor_rootfs_remove(containers, "abc123", &e));
	assert_int_equal(mounts_at_or_below(cdir), 0);
	assert_false(b_path_exists(cdir));
	/* Removing what is gone is fine. */
	OK(stor_rootfs_remove(containers, "abc123", &e));

	/* A failed mount leaves nothing behind. */
	char *bad[] = {"/nonexistent/layer"};
	_cleanup_free_ char *none = NULL;
	assert_int_equal(stor_rootfs_create(containers, "failing", bad, 1, &none, &e), -1);
	assert_non_null(strstr(e.msg, "container failing"));
	assert_non_null(strstr(e.msg, "/nonexistent/layer"));
	berr_clear(&e);
	_cleanup_free_ char *fdir = pathf("%s/failing", containers);
	assert_false(b_path_exists(fdir));

	/* Ids are one path component. */
	const char *ids[] = {"", ".", "..", "../escape", "a/b"};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		char *p = NULL;
		assert_int_equal(stor_rootfs_create(containers, ids[i], lowers, 3, &p, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		berr_clear(&e);
		assert_int_equal(stor_rootfs_remove(containers, ids[i], &e), -1);
		berr_clear(&e);
	}
	DIR *d = opendir(containers);
	assert_non_null(d);
	int entries = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	assert_int_equal(entries, 0);

	/* A container of an empty image. */
	_cleanup_free_ char *empty = NULL;
	OK(stor_rootfs_create(containers, "empty", NULL, 0, &empty, &e));
	put(empty, "x", "y");
	OK(stor_rootfs_remove(containers, "empty", &e));
	_cleanup_free_ char *edir = pathf("%s/empty", containers);
	assert_false(b_path_exists(edir));
	assert_int_equal(mounts_at_or_below(containers), 0);
	for (int i = 0; i < 3; i++)
		free(lowers[i]);
}

/* Removal never follows a symlink out, never crosses a mount (even of the same filesystem), any depth. */
static void test_rootfs_remove_safety(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("rmsafe");
	_cleanup_free_ char *containers = pathf("%s/containers", base), *precious = pathf("%s/precious", base);
	put(precious, "keep", "k");
	mkdirs(containers);
	berr e = {0};

	/* A symlink inside the tree to a directory outside. */
	_cleanup_free_ char *sdir = pathf("%s/sym/upper", containers), *slink = pathf("%s/link", sdir),
			    *sdir2 = pathf("%s/sym/upper/d", containers),
			    *slink2 = pathf("%s/sym/upper/d/l", containers);
	mkdirs(sdir2);
	assert_int_equal(symlink(precious, slink), 0);
	assert_int_equal(symlink("../../../../precious", slink2), 0);
	OK(stor_rootfs_remove(containers, "sym", &e));
	_cleanup_free_ char *k = slurp(precious, "keep");
	assert_string_equal(k, "k");
	_cleanup_free_ char *symdir = pathf("%s/sym", containers);
	assert_false(b_path_exists(symdir));

	/* containers/<id> itself a symlink: refused, the target untouched. */
	_cleanup_free_ char *lid = pathf("%s/linked", containers);
	assert_int_equal(symlink(precious, lid), 0);
	assert_int_equal(stor_rootfs_remove(containers, "linked", &e), -1);
	berr_clear(&e);
	_cleanup_free_ char *k2 = slurp(precious, "keep");
	assert_string_equal(k2, "k");
	assert_int_equal(unlink(lid), 0);

	/* A bind mount of the same filesystem inside the tree. */
	_cleanup_free_ char *mp = pathf("%s/bound/upper/mnt", containers), *bdir = pathf("%s/bound", containers);
	mkdirs(mp);
	put(bdir, "upper/other", "o");
	assert_int_equal(mount(precious, mp, NULL, MS_BIND, NULL), 0);
	assert_int_equal(stor_rootfs_remove(containers, "bound", &e), -1);
	assert_int_equal(e.errnum, EXDEV);
	assert_non_null(strstr(e.msg, mp));
	berr_clear(&e);
	_cleanup_free_ char *k3 = slurp(precious, "keep");
	assert_string_equal(k3, "k");
	assert_int_equal(umount2(mp, 0), 0);
	OK(stor_rootfs_remove(containers, "bound", &e));
	assert_false(b_path_exists(bdir));

	/* Deeper than PATH_MAX and than the descriptors kept open, with files at many levels. */
	_cleanup_free_ char *ddir = pathf("%s/deep/upper", containers);
	mkdirs(ddir);
	int fd = open(ddir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < 2100; i++) {
		assert_int_equal(mkdirat(fd, "dd", 0755), 0);
		if (i % 100 == 0) {
			int f = openat(fd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			assert_true(f >= 0);
			close(f);
			assert_int_equal(symlinkat("/", fd, "root-link"), 0);
		}
		int next = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	close(fd);
	OK(stor_rootfs_remove(containers, "deep", &e));
	_cleanup_free_ char *deepdir = pathf("%s/deep", containers);
	assert_false(b_path_exists(deepdir));
}

static void test_unmount_busy(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("busy");
	char *lowers[3];
	three_layers(base, lowers);
	_cleanup_free_ char *upper = pathf("%s/upper", base), *work = pathf("%s/work", base),
			    *merged = pathf("%s/merged", base), *file = pathf("%s/merged/etc/passwd", base),
			    *sub = pathf("%s/merged/var", base);
	mkdirs(merged);
	berr e = {0};
	OK(stor_overlay_mount(lowers, 3, upper, work, merged, &e));

	/* An open file: refused with EBUSY and the reason, still mounted; fine once it is closed. */
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(stor_overlay_unmount(merged, &e), -1);
	assert_int_equal(e.errnum, EBUSY);
	assert_non_null(strstr(e.msg, merged));
	assert_non_null(strstr(e.msg, "file open"));
	printf("[ MESSAGE  ] %s\n", e.msg);
	berr_clear(&e);
	assert_int_equal(mounts_at_or_below(merged), 1);
	close(fd);
	OK(stor_overlay_unmount(merged, &e));
	assert_int_equal(mounts_at_or_below(merged), 0);

	/* A file that is closed while the unmount is retrying. */
	OK(stor_overlay_mount(lowers, 3, upper, work, merged, &e));
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int held = open(file, O_RDONLY | O_CLOEXEC);
		if (write(pfd[1], "x", 1) != 1 || held < 0)
			_exit(1);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
		_exit(0);
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	OK(stor_overlay_unmount(merged, &e));
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(mounts_at_or_below(merged), 0);

	/* A mount below it: named in the error. */
	OK(stor_overlay_mount(lowers, 3, upper, work, merged, &e));
	assert_int_equal(mount("tmpfs", sub, "tmpfs", 0, "size=1m"), 0);
	assert_int_equal(stor_overlay_unmount(merged, &e), -1);
	assert_int_equal(e.errnum, EBUSY);
	assert_non_null(strstr(e.msg, "still mounted below it"));
	assert_non_null(strstr(e.msg, sub));
	printf("[ MESSAGE  ] %s\n", e.msg);
	berr_clear(&e);
	assert_int_equal(umount2(sub, 0), 0);
	OK(stor_overlay_unmount(merged, &e));
	assert_int_equal(mounts_at_or_below(merged), 0);
	for (int i = 0; i < 3; i++)
		free(lowers[i]);
}

/* ---------- changes ---------- */

struct collected {
	FILE *out;
	int calls;
	int stop_at;
};

static int collect(enum stor_change kind, const char *path, void *arg)
{
	struct collected *c = arg;
	c->calls++;
	fprintf(c->out, "%c %s\n", (char)kind, path);
	return c->stop_at && c->calls == c->stop_at ? 7 : 0;
}

static char *changes_of(const char *upper, char **lowers, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	struct collected c = {.out = open_memstream(&buf, &len)};
	assert_non_null(c.out);
	berr e = {0};
	OK(stor_changes(upper, lowers, n, collect, &c, &e));
	fclose(c.out);
	return buf;
}

/* Changes made through a real overlay mount, so the whiteouts and opaque dirs are the kernel's own. */
static void test_changes(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("changes");
	_cleanup_free_ char *l1 = pathf("%s/l1", base), *l2 = pathf("%s/l2", base);
	put(l1, "etc/passwd", "p");
	put(l1, "etc/hostname", "h");
	put(l1, "etc/group", "g");
	put(l1, "usr/bin/tool", "t1");
	put(l1, "opt/app/a", "a");
	put(l1, "opt/app/b", "b");
	put(l1, "var/cache/c", "c");
	put(l1, "home/u/.profile", "pr");
	whiteout(l2, "etc/group"); /* deleted by the image itself */
	put(l2, "usr/bin/extra", "x");
	char *lowers[] = {l2, l1};
	_cleanup_free_ char *upper = pathf("%s/upper", base), *work = pathf("%s/work", base),
			    *m = pathf("%s/merged", base);
	mkdirs(m);
	berr e = {0};
	OK(stor_overlay_mount(lowers, 2, upper, work, m, &e));
	/* Added, modified, deleted files; a replaced and a deleted directory; a new tree. */
	put(m, "etc/newfile", "n");
	put(m, "usr/bin/tool", "t2");
	_cleanup_free_ char *hostname = pathf("%s/etc/hostname", m), *app = pathf("%s/opt/app", m),
			    *cache = pathf("%s/var/cache", m), *profile = pathf("%s/home/u/.profile", m);
	assert_int_equal(unlink(hostname), 0);
	OK(b_remove_tree(app, &e));
	put(m, "opt/app/new", "new");
	OK(b_remove_tree(cache, &e));
	put(m, "srv/data/file", "f");
	put(m, "etc/group", "g2"); /* hidden in the image by l2's whiteout: added, not changed */
	assert_int_equal(chmod(profile, 0600), 0);
	OK(stor_overlay_unmount(m, &e));

	_cleanup_free_ char *got = changes_of(upper, lowers, 2);
	/*
	 * /etc, /opt and /var had entries added or deleted (their mtimes changed); /usr, /usr/bin, /home
	 * and /home/u were only copied up (overlay keeps their size, mode and mtime) for a modified entry,
	 * which Docker does not report.
	 */
	assert_string_equal(got, "C /etc\n"
				 "A /etc/group\n"
				 "D /etc/hostname\n"
				 "A /etc/newfile\n"
				 "C /home/u/.profile\n"
				 "C /opt\n"
				 "D /opt/app\n"
				 "A /opt/app/new\n"
				 "A /srv\n"
				 "A /srv/data\n"
				 "A /srv/data/file\n"
				 "C /usr/bin/tool\n"
				 "C /var\n"
				 "D /var/cache\n");

	/* The callback can stop the walk; its value comes back. */
	struct collected c = {.out = fopen("/dev/null", "we"), .stop_at = 2};
	assert_non_null(c.out);
	assert_int_equal(stor_changes(upper, lowers, 2, collect, &c, &e), 7);
	assert_int_equal(c.calls, 2);
	fclose(c.out);

	/* Against no lower layer at all, everything is added. */
	_cleanup_free_ char *all = changes_of(upper, NULL, 0);
	assert_non_null(strstr(all, "A /etc\n"));
	assert_non_null(strstr(all, "D /etc/hostname\n"));
	assert_null(strstr(all, "C "));
}

/* Docker's rule for a directory equal to its lower version, on a hand-made upper. */
static void test_changes_unchanged_dirs(void **state)
{
	NEED_ROOT();
	_cleanup_free_ char *base = testdir("changes-dirs");
	_cleanup_free_ char *low = pathf("%s/low", base), *up = pathf("%s/up", base);
	put(low, "d/x", "x");
	put(low, "d/y", "y");
	put(low, "d2/y", "y");
	put(low, "d3/z", "z");
	whiteout(up, "d/x");
	put(up, "d2/y", "changed");
	put(up, "d3/sub/new", "n");
	put(up, "d-x", "sorting");
	/* Make up's d, d2 and d3 look exactly like low's: same mode, size (one block) and mtime. */
	const char *dirs[] = {"d", "d2", "d3"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *lp = pathf("%s/%s", low, dirs[i]), *upp = pathf("%s/%s", up, dirs[i]);
		struct stat st;
		assert_int_equal(stat(lp, &st), 0);
		assert_int_equal(chmod(upp, st.st_mode & 07777), 0);
		struct timespec ts[2] = {st.st_atim, st.st_mtim};
		assert_int_equal(utimensat(AT_FDCWD, upp, ts, 0), 0);
	}
	char *lowers[] = {low};
	_cleanup_free_ char *got = changes_of(up, lowers, 1);
	/*
	 * d: a deleted entry makes it C (before its entries); d2: a modified entry alone does not; d3: the
	 * added subdir does (it is d3's direct entry). Depth-first order puts /d/x before /d-x, although
	 * '-' sorts before '/'.
	 */
	assert_string_equal(got, "C /d\n"
				 "D /d/x\n"
				 "A /d-x\n"
				 "C /d2/y\n"
				 "C /d3\n"
				 "A /d3/sub\n"
				 "A /d3/sub/new\n");
}

static int group_setup(void **state)
{
	char tmpl[] = "/tmp/berth-test-overlay-XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	troot = strdup(tmpl);
	return troot ? 0 : -1;
}

static int group_teardown(void **state)
{
	berr e = {0};
	int r = 0;
	if (mounts_at_or_below(troot) != 0) {
		fprintf(stderr, "test_overlay: mounts left under %s\n", troot);
		r = -1;
	}
	if (b_remove_tree(troot, &e) < 0) {
		fprintf(stderr, "test_overlay: %s\n", berr_msg(&e));
		r = -1;
	}
	berr_clear(&e);
	free(troot);
	return r;
}

int main(void)
{
	/* Our mounts stay in a private mount namespace: none of them reaches the host. */
	privileged = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	if (!privileged)
		fprintf(stderr, "test_overlay: no private mount namespace (%s): mount tests skipped\n",
			strerror(errno));
	else
		printf("[ INFO     ] overlayfs \"lowerdir+\": %s\n", stor_overlay_has_lowerdir_plus() ? "yes" : "no");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_three_layers),
	    cmocka_unit_test(test_three_layers_legacy),
	    cmocka_unit_test(test_many_layers),
	    cmocka_unit_test(test_many_layers_legacy),
	    cmocka_unit_test(test_too_many_layers_legacy),
	    cmocka_unit_test(test_long_paths),
	    cmocka_unit_test(test_long_paths_legacy),
	    cmocka_unit_test(test_no_lower),
	    cmocka_unit_test(test_mount_refuses_symlink_target),
	    cmocka_unit_test(test_rootfs_create_remove),
	    cmocka_unit_test(test_rootfs_remove_safety),
	    cmocka_unit_test(test_unmount_busy),
	    cmocka_unit_test(test_changes),
	    cmocka_unit_test(test_changes_unchanged_dirs),
	    cmocka_unit_test(test_timing),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
