/* Libraries loaded at first use: the error when one is missing, holding, unloading, loading again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "lib/lazy_lib.h"

static void test_missing_library_names_its_package(void **state)
{
	static void *fn;
	static const struct lazy_sym syms[] = {{"nothing_here", &fn}};
	static struct lazy_lib lib = {
	    .soname = "libberth-absent.so.9", .package = "libberth-absent9", .syms = syms, .nsyms = 1};
	berr e = {0};
	assert_int_equal(lazy_lib_hold(&lib, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	assert_non_null(strstr(e.msg, "loading libberth-absent.so.9 (Debian package libberth-absent9): "));
	berr_clear(&e);
	assert_null(lazy_lib_held(&lib, &e));
	berr_clear(&e);
	assert_int_equal(lazy_lib_pin(&lib, &e), -1);
	berr_clear(&e);
}

static __typeof__(zlibVersion) *version_fn;
static __typeof__(crc32) *crc32_fn;
static const struct lazy_sym zlib_syms[] = {{"zlibVersion", (void **)&version_fn}, {"crc32", (void **)&crc32_fn}};
static struct lazy_lib zlib = {.soname = "libz.so.1", .package = "zlib1g", .syms = zlib_syms, .nsyms = 2};

static void test_missing_function(void **state)
{
	static void *fn;
	static const struct lazy_sym syms[] = {{"zlibVersion", &fn}, {"no_such_function_in_zlib", &fn}};
	static struct lazy_lib lib = {.soname = "libz.so.1", .package = "zlib1g", .syms = syms, .nsyms = 2};
	berr e = {0};
	assert_int_equal(lazy_lib_hold(&lib, &e), -1);
	assert_string_equal(e.msg, "loading libz.so.1 (Debian package zlib1g): it has no no_such_function_in_zlib");
	assert_null(fn);
	berr_clear(&e);
}

static void test_hold_release_unload(void **state)
{
	berr e = {0};
	assert_int_equal(lazy_lib_hold(&zlib, &e), 0);
	assert_int_equal(lazy_lib_hold(&zlib, &e), 0);
	assert_string_equal(version_fn(), ZLIB_VERSION);
	lazy_lib_release(&zlib);
	lazy_lib_unload_unused(); /* still held once */
	assert_non_null(version_fn);
	assert_int_equal(crc32_fn(0, (const unsigned char *)"berth", 5), 0x76673da7);
	lazy_lib_release(&zlib);
	lazy_lib_unload_unused();
	assert_null(version_fn); /* the table is cleared: a call without a hold fails at once */
	/* Loaded again by the next hold. */
	_cleanup_lazy_release_ struct lazy_lib *held = lazy_lib_held(&zlib, &e);
	assert_non_null(held);
	assert_string_equal(version_fn(), ZLIB_VERSION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_library_names_its_package),
	    cmocka_unit_test(test_missing_function),
	    cmocka_unit_test(test_hold_release_unload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
