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
#include "lib/base64.h"
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

static void test_server_domain(void **state)
{
	const char *cases[][2] = {
	    {"", "docker.io"},
	    {"https://index.docker.io/v1/", "docker.io"},
	    {"docker.io", "docker.io"},
	    {"127.0.0.1:5000", "127.0.0.1:5000"},
	    {"http://127.0.0.1:5000/", "127.0.0.1:5000"},
	    {"https://reg.example:443/v2/x", "reg.example:443"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *d = img_registry_server_domain(cases[i][0]);
		assert_string_equal(d, cases[i][1]);
		free(d);
	}
}

/* lib/base64: both alphabets, with and without padding, round trips of every length mod 3. */
static void test_base64(void **state)
{
	const char *plain[] = {"", "u", "u:", "u:p", "alice:s3cret?>", "\xff\xfe\xfd\xfc"};
	const char *std[] = {"", "dQ==", "dTo=", "dTpw", "YWxpY2U6czNjcmV0Pz4=", "//79/A=="};
	const char *url[] = {"", "dQ", "dTo", "dTpw", "YWxpY2U6czNjcmV0Pz4", "__79_A"};
	for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
		char *s = b_base64_encode(plain[i], strlen(plain[i]), false),
		     *u = b_base64_encode(plain[i], strlen(plain[i]), true);
		assert_string_equal(s, std[i]);
		assert_string_equal(u, url[i]);
		size_t n = 0;
		char *back = b_base64_decode(s, &n), *back_u = b_base64_decode(u, NULL);
		assert_int_equal(n, strlen(plain[i]));
		assert_string_equal(back, plain[i]);
		assert_string_equal(back_u, plain[i]);
		free(s);
		free(u);
		free(back);
		free(back_u);
	}
	assert_null(b_base64_decode("a", NULL));
	assert_null(b_base64_decode("ab!d", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),         cmocka_unit_test(test_credentials), cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_server_domain), cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
