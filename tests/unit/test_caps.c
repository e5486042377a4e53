/* Capabilities: names, held set, JSON lists, and applying sets in a forked child. */
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/caps.h"

#define BIT(c) (UINT64_C(1) << (c))

/* Checks inside a forked child: report on stderr and exit non-zero (never run cmocka there). */
#define CHILD_CHECK(cond)                                                                                            \
	do {                                                                                                         \
		if (!(cond)) {                                                                                       \
			dprintf(2, "child: %s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			_exit(1);                                                                                    \
		}                                                                                                    \
	} while (0)

/* Run fn in a child; assert it exited 0. */
static void run_in_child(void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0); /* _exit: no LeakSanitizer pass in the child */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x)", status);
}

/* A "CapXxx:" line of /proc/self/status as a mask. */
static uint64_t status_caps(const char *key)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	char line[256];
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			return strtoull(line + klen + 1, NULL, 16);
	return 0;
}

static void test_cap_from_name(void **state)
{
	assert_int_equal(oci_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(oci_cap_from_name("CAP_DAC_OVERRIDE"), 1);
	assert_int_equal(oci_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(oci_cap_from_name("CAP_SYS_RESOURCE"), 24);
	assert_int_equal(oci_cap_from_name("CAP_AUDIT_WRITE"), 29);
	assert_int_equal(oci_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	/* Only the spec's spelling. */
	assert_int_equal(oci_cap_from_name("cap_chown"), -1);
	assert_int_equal(oci_cap_from_name("Cap_Chown"), -1);
	assert_int_equal(oci_cap_from_name("CHOWN"), -1);
	assert_int_equal(oci_cap_from_name("12"), -1);
	assert_int_equal(oci_cap_from_name("CAP_12"), -1);
	assert_int_equal(oci_cap_from_name("CAP_"), -1);
	assert_int_equal(oci_cap_from_name("CAP_FOO"), -1);
	assert_int_equal(oci_cap_from_name(""), -1);
	assert_int_equal(oci_cap_from_name(NULL), -1);
}

static void test_cap_last(void **state)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	assert_non_null(f);
	int want = -1;
	assert_int_equal(fscanf(f, "%d", &want), 1);
	assert_int_equal(oci_cap_last(), want);
	assert_int_equal(oci_cap_last(), want); /* cached */
}

static void test_caps_held(void **state)
{
	uint64_t bnd = status_caps("CapBnd"), prm = status_caps("CapPrm");
	uint64_t held = oci_caps_held();
	assert_int_equal(held, bnd & prm);
	/* Whatever the machine withholds (CAP_SYS_RESOURCE here), we do not claim to hold. */
	if (!(bnd & BIT(24)))
		assert_false(held & BIT(24));
	assert_false(held & ~(BIT(oci_cap_last() + 1) - 1));
	print_message("held capabilities: %#" PRIx64 " (bounding %#" PRIx64 ", permitted %#" PRIx64 ")\n", held, bnd,
		      prm);
}

static void test_parse_list(void **state)
{
	berr e = {0};
	uint64_t mask = 123;
	json_t *arr = json_pack("[sss]", "CAP_CHOWN", "CAP_KILL", "CAP_CHOWN");
	assert_int_equal(oci_caps_parse_list(arr, "process.capabilities.bounding", &mask, &e), 0);
	assert_int_equal(mask, BIT(0) | BIT(5));
	json_decref(arr);

	arr = json_pack("[sss]", "CAP_CHOWN", "CAP_KILL", "CAP_FOO");
	assert_int_equal(oci_caps_parse_list(arr, "process.capabilities.bounding", &mask, &e), -1);
	assert_string_equal(berr_msg(&e), "process.capabilities.bounding[2]: unknown capability \"CAP_FOO\"");
	assert_int_equal(mask, 0);
	json_decref(arr);

	arr = json_pack("[si]", "CAP_CHOWN", 3);
	assert_int_equal(oci_caps_parse_list(arr, "process.capabilities.ambient", &mask, &e), -1);
	assert_string_equal(berr_msg(&e), "process.capabilities.ambient[1]: expected a string");
	json_decref(arr);

	arr = json_string("CAP_CHOWN");
	assert_int_equal(oci_caps_parse_list(arr, "process.capabilities.effective", &mask, &e), -1);
	assert_string_equal(berr_msg(&e), "process.capabilities.effective: expected an array of capability names");
	json_decref(arr);

	arr = json_array();
	mask = 7;
	assert_int_equal(oci_caps_parse_list(arr, "x", &mask, &e), 0);
	assert_int_equal(mask, 0);
	json_decref(arr);

	mask = 7;
	assert_int_equal(oci_caps_parse_list(NULL, "x", &mask, &e), 0);
	assert_int_equal(mask, 0);
	berr_clear(&e);
}

static void test_to_names(void **state)
{
	_cleanup_strv_ char **v = oci_caps_to_names(BIT(0) | BIT(5) | BIT(40) | BIT(63));
	assert_non_null(v);
	assert_string_equal(v[0], "CAP_CHOWN");
	assert_string_equal(v[1], "CAP_KILL");
	assert_string_equal(v[2], "CAP_CHECKPOINT_RESTORE");
	assert_null(v[3]); /* bit 63 has no name */

	_cleanup_strv_ char **none = oci_caps_to_names(0);
	assert_non_null(none);
	assert_null(none[0]);

	/* Every named capability survives the round trip. */
	_cleanup_strv_ char **all = oci_caps_to_names(UINT64_MAX);
	assert_non_null(all);
	json_t *arr = json_array();
	uint64_t want = 0;
	for (size_t i = 0; all[i]; i++) {
		int c = oci_cap_from_name(all[i]);
		assert_true(c >= 0);
		want |= BIT(c);
		json_array_append_new(arr, json_string(all[i]));
	}
	assert_true(want & BIT(21));
	berr e = {0};
	uint64_t mask;
	assert_int_equal(oci_caps_parse_list(arr, "x", &mask, &e), 0);
	assert_int_equal(mask, want);
	json_decref(arr);
}

/* Docker's default set. */
static uint64_t docker_default_caps(void)
{
	static const char *const names[] = {
	    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
	    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
	    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	    "CAP_KILL",    "CAP_AUDIT_WRITE",
	};
	uint64_t m = 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		m |= BIT(oci_cap_from_name(names[i]));
	return m;
}

static char tmpfile_path[64];

static void make_tmpfile(void)
{
	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/berth-test-caps-XXXXXX");
	int fd = mkstemp(tmpfile_path);
	assert_true(fd >= 0);
	close(fd);
}

static void child_drop_chown(void *arg)
{
	uint64_t all = oci_caps_held() & ~BIT(0);
	struct oci_capabilities c = {all, all, all, all, 0};
	berr e = {0};
	int rc = oci_caps_drop_bounding(&c, &e);
	if (rc < 0)
		dprintf(2, "child: %s\n", berr_msg(&e));
	CHILD_CHECK(rc == 0);
	rc = oci_caps_apply(&c, &e);
	if (rc < 0)
		dprintf(2, "child: %s\n", berr_msg(&e));
	CHILD_CHECK(rc == 0);
	CHILD_CHECK(prctl(PR_CAPBSET_READ, 0, 0, 0, 0) == 0);
	CHILD_CHECK(status_caps("CapEff") == all);
	CHILD_CHECK(status_caps("CapPrm") == all);
	CHILD_CHECK(status_caps("CapInh") == all);
	CHILD_CHECK(chown(tmpfile_path, 1234, 1234) == -1 && errno == EPERM);
	/* Other capabilities still work: CAP_FOWNER lets us chmod as if we owned it. */
	CHILD_CHECK(chmod(tmpfile_path, 0640) == 0);
}

static void test_apply_without_chown(void **state)
{
	make_tmpfile();
	run_in_child(child_drop_chown, NULL);
	/* The parent keeps CAP_CHOWN. */
	assert_int_equal(chown(tmpfile_path, 1234, 1234), 0);
	unlink(tmpfile_path);
}

/* The runtime's sequence for a non-root user: bounding, KEEPCAPS, setuid, apply. */
static void child_setuid_ambient(void *arg)
{
	uint64_t def = docker_default_caps();
	struct oci_capabilities c = {
	    .bounding = def,
	    .effective = def,
	    .permitted = def,
	    .inheritable = BIT(0),                /* CAP_CHOWN */
	    .ambient = BIT(0) | BIT(5) | BIT(21), /* CAP_KILL: not inheritable; CAP_SYS_ADMIN: not held */
	};
	berr e = {0};
	uint64_t bnd0 = status_caps("CapBnd");
	CHILD_CHECK(oci_caps_drop_bounding(&c, &e) == 0);
	CHILD_CHECK(status_caps("CapBnd") == (def & bnd0));
	CHILD_CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
	CHILD_CHECK(setresgid(1000, 1000, 1000) == 0);
	CHILD_CHECK(setresuid(1000, 1000, 1000) == 0);
	CHILD_CHECK(status_caps("CapEff") == 0); /* setuid cleared it */
	int rc = oci_caps_apply(&c, &e);
	if (rc < 0)
		dprintf(2, "child: %s\n", berr_msg(&e));
	CHILD_CHECK(rc == 0);
	CHILD_CHECK(status_caps("CapEff") == (def & bnd0));
	CHILD_CHECK(status_caps("CapPrm") == (def & bnd0));
	CHILD_CHECK(status_caps("CapInh") == BIT(0));
	CHILD_CHECK(status_caps("CapAmb") == BIT(0));
	CHILD_CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0) == 1);
	CHILD_CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 5, 0, 0) == 0);
	/* uid 1000 with CAP_CHOWN in effect may give root's file away. */
	CHILD_CHECK(chown(tmpfile_path, 1234, 1234) == 0);
}

static void test_apply_setuid_ambient(void **state)
{
	make_tmpfile();
	run_in_child(child_setuid_ambient, NULL);
	struct stat st;
	assert_int_equal(stat(tmpfile_path, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	unlink(tmpfile_path);
}

/* A privileged container asks for every capability: it gets all we hold, not an error. */
static void child_all(void *arg)
{
	struct oci_capabilities c = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
	uint64_t held = oci_caps_held();
	berr e = {0};
	CHILD_CHECK(oci_caps_drop_bounding(&c, &e) == 0);
	int rc = oci_caps_apply(&c, &e);
	if (rc < 0)
		dprintf(2, "child: %s\n", berr_msg(&e));
	CHILD_CHECK(rc == 0);
	CHILD_CHECK(status_caps("CapEff") == held);
	CHILD_CHECK(status_caps("CapAmb") == held);
}

static void test_apply_all(void **state)
{
	run_in_child(child_all, NULL);
}

static void child_effective_not_permitted(void *arg)
{
	struct oci_capabilities c = {.effective = BIT(0) | BIT(5), .permitted = BIT(0)};
	berr e = {0};
	CHILD_CHECK(oci_caps_apply(&c, &e) == -1);
	CHILD_CHECK(strcmp(berr_msg(&e), "process.capabilities.effective: CAP_KILL is not in the permitted set") == 0);
	berr_clear(&e);
}

static void test_apply_effective_not_permitted(void **state)
{
	run_in_child(child_effective_not_permitted, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_from_name),
	    cmocka_unit_test(test_cap_last),
	    cmocka_unit_test(test_caps_held),
	    cmocka_unit_test(test_parse_list),
	    cmocka_unit_test(test_to_names),
	    cmocka_unit_test(test_apply_without_chown),
	    cmocka_unit_test(test_apply_setuid_ambient),
	    cmocka_unit_test(test_apply_all),
	    cmocka_unit_test(test_apply_effective_not_permitted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
