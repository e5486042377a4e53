/* Docker's detach keys: parsing "ctrl-p,ctrl-q" and finding the sequence in a client's input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/detach_keys.h"

static void test_parse(void **state)
{
	struct b_detach_keys k;
	berr e = {0};
	assert_int_equal(b_detach_keys_parse(B_DETACH_KEYS_DEFAULT, &k, &e), 0);
	assert_int_equal(k.len, 2);
	assert_int_equal(k.seq[0], 16);
	assert_int_equal(k.seq[1], 17);
	assert_int_equal(b_detach_keys_parse("ctrl-@,ctrl-[,CTRL-\\,ctrl-],ctrl-^,ctrl-_,ctrl-Z,x", &k, &e), 0);
	const unsigned char want[] = {0, 27, 28, 29, 30, 31, 26, 'x'};
	assert_int_equal(k.len, sizeof want);
	assert_memory_equal(k.seq, want, sizeof want);
	const char *bad[] = {"", "ctrl-", "ctrl-1", "ab", "ctrl-p,", "alt-p"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(b_detach_keys_parse(bad[i], &k, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		berr_clear(&e);
	}
}

static void test_filter(void **state)
{
	struct b_detach_keys k;
	berr e = {0};
	assert_int_equal(b_detach_keys_parse("ctrl-p,ctrl-q", &k, &e), 0);
	char out[64];
	size_t n;
	/* Plain input goes through. */
	assert_false(b_detach_keys_filter(&k, "ab", 2, out, &n));
	assert_int_equal(n, 2);
	assert_memory_equal(out, "ab", 2);
	/* A partial match is held back, then given on when the next byte is not the sequence. */
	assert_false(b_detach_keys_filter(&k, "c\x10", 2, out, &n));
	assert_int_equal(n, 1);
	assert_false(b_detach_keys_filter(&k, "d", 1, out, &n));
	assert_int_equal(n, 2);
	assert_memory_equal(out,
			    "\x10"
			    "d",
			    2);
	/* A held byte that starts the sequence again. */
	assert_false(b_detach_keys_filter(&k, "\x10\x10", 2, out, &n));
	assert_int_equal(n, 1);
	/* The whole sequence across two reads: detach, what follows is dropped. */
	assert_true(b_detach_keys_filter(&k, "\x11zz", 3, out, &n));
	assert_int_equal(n, 0);
	assert_false(b_detach_keys_filter(&k, "e\x10", 2, out, &n));
	assert_true(b_detach_keys_filter(&k, "\x11", 1, out, &n));
	/* No keys: everything goes through. */
	struct b_detach_keys none = {0};
	assert_false(b_detach_keys_filter(&none, "\x10\x11", 2, out, &n));
	assert_int_equal(n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
