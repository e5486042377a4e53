/* The seccomp disk cache: round trips, and every kind of bad file read as a miss. */
#include <fcntl.h>
#include <linux/filter.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "oci/seccomp_cache.h"

static const char key[] = "libseccomp 2.5.4 api 6\nprofile bytes";
static const struct sock_filter prog[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0x7fff0000),
};

struct fixture {
	char root[64];
	char dir[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->root, sizeof f->root, "/tmp/berth-scache-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/@seccomp", f->root);
	oci_seccomp_cache_use_root(f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
	if (system(cmd) != 0)
		return -1;
	oci_seccomp_cache_use_root(NULL);
	free(f);
	return 0;
}

/* The one file in the cache directory. */
static char *only_file(const struct fixture *f)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "ls '%s'", f->dir);
	FILE *p = popen(cmd, "r");
	char name[128] = "";
	assert_non_null(fgets(name, sizeof name, p));
	pclose(p);
	name[strcspn(name, "\n")] = '\0';
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", f->dir, name) > 0);
	return path;
}

static bool load(const char *k, size_t n, struct sock_filter **insns, unsigned short *len, bool *notify)
{
	*insns = NULL;
	return oci_seccomp_cache_load(k, n, insns, len, notify);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct sock_filter *insns;
	unsigned short len;
	bool notify;
	assert_false(load(key, sizeof key, &insns, &len, &notify));
	oci_seccomp_cache_store(key, sizeof key, prog, 4, true);
	struct stat st;
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(load(key, sizeof key, &insns, &len, &notify));
	assert_int_equal(len, 4);
	assert_true(notify);
	assert_memory_equal(insns, prog, sizeof prog);
	free(insns);
	/* Another key is a miss, and so is the same key with no cache directory. */
	assert_false(load("other", 5, &insns, &len, &notify));
	oci_seccomp_cache_use_root(NULL);
	assert_false(load(key, sizeof key, &insns, &len, &notify));
}

/* Change the stored file with fn, then expect a miss. */
static void expect_miss_after(struct fixture *f, void (*fn)(int fd, off_t size))
{
	oci_seccomp_cache_store(key, sizeof key, prog, 4, false);
	_cleanup_free_ char *path = only_file(f);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	fn(fd, st.st_size);
	close(fd);
	struct sock_filter *insns;
	unsigned short len;
	bool notify;
	assert_false(load(key, sizeof key, &insns, &len, &notify));
	assert_null(insns);
	unlink(path);
}

static void truncate_last(int fd, off_t size)
{
	assert_int_equal(ftruncate(fd, size - 1), 0);
}

static void bad_magic(int fd, off_t size)
{
	assert_int_equal(pwrite(fd, "X", 1, 0), 1);
}

static void other_key_bytes(int fd, off_t size)
{
	/* The key follows the 16-byte header: a collision of the file name is a miss. */
	assert_int_equal(pwrite(fd, "L", 1, 16), 1);
}

static void longer(int fd, off_t size)
{
	assert_int_equal(pwrite(fd, "\0\0\0\0\0\0\0\0", 8, size), 8);
}

static void test_bad_files_are_misses(void **state)
{
	struct fixture *f = *state;
	expect_miss_after(f, truncate_last);
	expect_miss_after(f, bad_magic);
	expect_miss_after(f, other_key_bytes);
	expect_miss_after(f, longer);
}

static void test_symlink_is_not_followed(void **state)
{
	struct fixture *f = *state;
	oci_seccomp_cache_store(key, sizeof key, prog, 4, false);
	_cleanup_free_ char *path = only_file(f);
	char real[160];
	snprintf(real, sizeof real, "%s/elsewhere", f->root);
	assert_int_equal(rename(path, real), 0);
	assert_int_equal(symlink(real, path), 0);
	struct sock_filter *insns;
	unsigned short len;
	bool notify;
	assert_false(load(key, sizeof key, &insns, &len, &notify));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_files_are_misses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_is_not_followed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
