/* X-Registry-Auth as the docker CLI and the SDKs send it: base64url or base64, padded or not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/registry.h"
#include "lib/err.h"

static void parse_ok(const char *header, const char *user, const char *password)
{
	struct img_registry_auth a;
	berr e = {0};
	assert_int_equal(img_registry_auth_parse(header, &a, &e), 0);
	if (user)
		assert_string_equal(a.username, user);
	else
		assert_null(a.username);
	if (password)
		assert_string_equal(a.password, password);
	else
		assert_null(a.password);
	img_registry_auth_free(&a);
}

static void test_empty(void **state)
{
	parse_ok(NULL, NULL, NULL);
	parse_ok("", NULL, NULL);
	parse_ok("e30", NULL, NULL);  /* {} as the docker CLI sends it, unpadded */
	parse_ok("e30=", NULL, NULL); /* padded */
}

static void test_credentials(void **state)
{
	/* {"username":"u","password":"p"} */
	parse_ok("eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ==", "u", "p");
	parse_ok("eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ", "u", "p");
	/* {"username":"?>?","password":"~~~"}: characters where base64url and base64 differ */
	parse_ok("eyJ1c2VybmFtZSI6Ij8-PyIsInBhc3N3b3JkIjoifn5-In0", "?>?", "~~~");
	parse_ok("eyJ1c2VybmFtZSI6Ij8+PyIsInBhc3N3b3JkIjoifn5+In0=", "?>?", "~~~");
}

static void test_bad(void **state)
{
	const char *bad[] = {
	    "!!!!",        /* not base64 */
	    "W10",         /* [] */
	    "bm90IGpzb24", /* "not json" */
	    "e",           /* one character: no byte */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct img_registry_auth a;
		berr e = {0};
		assert_int_equal(img_registry_auth_parse(bad[i], &a, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		assert_non_null(strstr(berr_msg(&e), "X-Registry-Auth"));
		assert_null(a.username);
		berr_clear(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_credentials),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
