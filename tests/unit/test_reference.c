/* Image references: Docker's grammar, normalisation, familiar forms and error texts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "image/reference.h"

#define HEX   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define HEXUP "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define HEX32 "0123456789abcdef0123456789abcdef"

#define E_FORMAT "invalid reference format"

struct ref_case {
	const char *in;
	const char *canonical; /* img_ref_string; NULL when parsing must fail */
	const char *familiar;  /* img_ref_familiar */
	const char *err;       /* the exact message when parsing fails */
};

static const struct ref_case cases[] = {
    /* Docker Hub names */
    {"busybox", "docker.io/library/busybox:latest", "busybox:latest", NULL},
    {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", NULL},
    {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest", NULL},
    {"docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest", NULL},
    {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", NULL},
    {"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", NULL},
    {"index.docker.io/library/busybox:musl", "docker.io/library/busybox:musl", "busybox:musl", NULL},
    {"ns/x", "docker.io/ns/x:latest", "ns/x:latest", NULL},
    {"docker.io/ns/x:tag", "docker.io/ns/x:tag", "ns/x:tag", NULL},
    {"a/b/c/d", "docker.io/a/b/c/d:latest", "a/b/c/d:latest", NULL},
    /* "library/" is dropped only before a single component */
    {"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", NULL},
    {"ns/a.b_c__d---e", "docker.io/ns/a.b_c__d---e:latest", "ns/a.b_c__d---e:latest", NULL},
    {"0", "docker.io/library/0:latest", "0:latest", NULL},
    /* other registries */
    {"localhost/x", "localhost/x:latest", "localhost/x:latest", NULL},
    {"localhost", "docker.io/library/localhost:latest", "localhost:latest", NULL},
    {"localhost:5000/x/y:z", "localhost:5000/x/y:z", "localhost:5000/x/y:z", NULL},
    /* no '/': a name and a tag, not a host and a port (Docker's reading too) */
    {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", NULL},
    {"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest", NULL},
    {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest", NULL},
    {"[::1]/x", "[::1]/x:latest", "[::1]/x:latest", NULL},
    {"[2001:DB8::1]:443/a/b:v", "[2001:DB8::1]:443/a/b:v", "[2001:DB8::1]:443/a/b:v", NULL},
    {"example.com/a/b/c:v1.2", "example.com/a/b/c:v1.2", "example.com/a/b/c:v1.2", NULL},
    {"my-registry.example:5000/ns/app", "my-registry.example:5000/ns/app:latest",
     "my-registry.example:5000/ns/app:latest", NULL},
    {"Example.COM/a", "Example.COM/a:latest", "Example.COM/a:latest", NULL},
    /* an upper-case first component is a host name, never a namespace */
    {"Registry/x", "Registry/x:latest", "Registry/x:latest", NULL},
    /* tags */
    {"busybox:Latest_1.0-rc", "docker.io/library/busybox:Latest_1.0-rc", "busybox:Latest_1.0-rc", NULL},
    {"busybox:_x", "docker.io/library/busybox:_x", "busybox:_x", NULL},
    /* digests */
    {"name@sha256:" HEX, "docker.io/library/name@sha256:" HEX, "name@sha256:" HEX, NULL},
    {"name:tag@sha256:" HEX, "docker.io/library/name:tag@sha256:" HEX, "name:tag@sha256:" HEX, NULL},
    {"localhost:5000/x@sha256:" HEX, "localhost:5000/x@sha256:" HEX, "localhost:5000/x@sha256:" HEX, NULL},
    /* Docker reads these as names with a tag; callers try image IDs first */
    {"sha256:" HEX, "docker.io/library/sha256:" HEX, "sha256:" HEX, NULL},
    {HEX ":latest", "docker.io/library/" HEX ":latest", HEX ":latest", NULL},

    /* invalid */
    {"", NULL, NULL, E_FORMAT},
    {"Upper", NULL, NULL, "invalid reference format: repository name (library/Upper) must be lowercase"},
    {"ns/Upper:tag", NULL, NULL, "invalid reference format: repository name (ns/Upper) must be lowercase"},
    {"localhost:5000/Foo:tag", NULL, NULL, "invalid reference format: repository name (Foo) must be lowercase"},
    {"docker.io/Busybox", NULL, NULL, "invalid reference format: repository name (library/Busybox) must be lowercase"},
    /* upper case in a first component that is no valid host name */
    {"Foo_bar/x", NULL, NULL, "repository name must be lowercase"},
    {HEX, NULL, NULL, "invalid repository name (" HEX "), cannot specify 64-byte hexadecimal strings"},
    {"-bad", NULL, NULL, E_FORMAT},
    {"bad-", NULL, NULL, E_FORMAT},
    {"a//b", NULL, NULL, E_FORMAT},
    {"a..b", NULL, NULL, E_FORMAT},
    {"a___b", NULL, NULL, E_FORMAT},
    {"a_.b", NULL, NULL, E_FORMAT},
    {"a:", NULL, NULL, E_FORMAT},
    {":tag", NULL, NULL, E_FORMAT},
    {"name:tag:tag", NULL, NULL, E_FORMAT},
    {"busybox:.x", NULL, NULL, E_FORMAT},
    {"busybox:-x", NULL, NULL, E_FORMAT},
    {"busybox:a/b", NULL, NULL, E_FORMAT},
    {"foo bar", NULL, NULL, E_FORMAT},
    {"busybox ", NULL, NULL, E_FORMAT},
    {"x/", NULL, NULL, E_FORMAT},
    {"/x", NULL, NULL, E_FORMAT},
    {"localhost:5000/", NULL, NULL, E_FORMAT},
    {"docker.io/", NULL, NULL, E_FORMAT},
    {"host:port/x", NULL, NULL, E_FORMAT},
    {"host:/x", NULL, NULL, E_FORMAT},
    {"-host.com/x", NULL, NULL, E_FORMAT},
    {"[::1/x", NULL, NULL, E_FORMAT},
    {"[]/x", NULL, NULL, E_FORMAT},
    {"[::g]:5000/x", NULL, NULL, E_FORMAT},
    /* a first component that is no valid domain: Docker keeps it domain-less; refused here */
    {"a_b.com/x", NULL, NULL, E_FORMAT},
    {"@sha256:short", NULL, NULL, E_FORMAT},
    {"@sha256:" HEX, NULL, NULL, E_FORMAT},
    {"name@sha256:short", NULL, NULL, E_FORMAT},
    {"name@", NULL, NULL, E_FORMAT},
    {"name:tag@", NULL, NULL, E_FORMAT},
    {"name@sha256:" HEX "@sha256:" HEX, NULL, NULL, E_FORMAT},
    {"name@sha256:" HEX32 "xyz", NULL, NULL, E_FORMAT},
    {"name@1sha:" HEX, NULL, NULL, E_FORMAT},
    {"name@sha256:" HEX63, NULL, NULL, "invalid checksum digest length"},
    {"name@sha256:" HEX "0", NULL, NULL, "invalid checksum digest length"},
    {"name@sha256:" HEXUP, NULL, NULL, "invalid checksum digest format"},
    {"name@sha512:" HEX HEX, NULL, NULL, "unsupported digest algorithm"},
    {"name@md5:" HEX32, NULL, NULL, "unsupported digest algorithm"},
    {"name:tag@Sha256:" HEX, NULL, NULL, "invalid checksum digest format"},
    /* Docker checks the case of everything before the first ':' first */
    {"name@SHA256:" HEX, NULL, NULL,
     "invalid reference format: repository name (library/name@SHA256) must be lowercase"},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct ref_case *c = &cases[i];
		struct img_ref r;
		berr e = {0};
		int rc = img_ref_parse(c->in, &r, &e);
		if (c->canonical) {
			if (rc != 0)
				fail_msg("\"%s\": unexpected error: %s", c->in, berr_msg(&e));
			_cleanup_free_ char *canon = img_ref_string(&r);
			_cleanup_free_ char *fam = img_ref_familiar(&r);
			if (strcmp(canon, c->canonical) != 0)
				fail_msg("\"%s\": canonical \"%s\", want \"%s\"", c->in, canon, c->canonical);
			if (strcmp(fam, c->familiar) != 0)
				fail_msg("\"%s\": familiar \"%s\", want \"%s\"", c->in, fam, c->familiar);
			/* The canonical and the familiar form both parse back to the same reference. */
			struct img_ref again;
			assert_int_equal(img_ref_parse(canon, &again, &e), 0);
			_cleanup_free_ char *canon2 = img_ref_string(&again);
			assert_string_equal(canon2, canon);
			img_ref_free(&again);
			assert_int_equal(img_ref_parse(fam, &again, &e), 0);
			_cleanup_free_ char *canon3 = img_ref_string(&again);
			assert_string_equal(canon3, canon);
			img_ref_free(&again);
			img_ref_free(&r);
		} else {
			if (rc == 0) {
				_cleanup_free_ char *got = img_ref_string(&r);
				fail_msg("\"%s\": parsed as \"%s\", want error \"%s\"", c->in, got, c->err);
			}
			assert_int_equal(rc, -1);
			assert_int_equal(e.errnum, EINVAL);
			if (strcmp(berr_msg(&e), c->err) != 0)
				fail_msg("\"%s\": error \"%s\", want \"%s\"", c->in, berr_msg(&e), c->err);
			/* Nothing to free after a failure. */
			assert_null(r.domain);
			assert_null(r.path);
			assert_null(r.tag);
			assert_null(r.digest);
		}
		berr_clear(&e);
	}
}

static void test_fields(void **state)
{
	struct img_ref r;
	berr e = {0};

	assert_int_equal(img_ref_parse("localhost:5000/x/y:z", &r, &e), 0);
	assert_string_equal(r.domain, "localhost:5000");
	assert_string_equal(r.path, "x/y");
	assert_string_equal(r.tag, "z");
	assert_null(r.digest);
	img_ref_free(&r);

	assert_int_equal(img_ref_parse("busybox", &r, &e), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.path, "library/busybox");
	assert_string_equal(r.tag, "latest");
	assert_null(r.digest);
	img_ref_free(&r);

	assert_int_equal(img_ref_parse("name@sha256:" HEX, &r, &e), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.path, "library/name");
	assert_null(r.tag);
	assert_string_equal(r.digest, "sha256:" HEX);
	img_ref_free(&r);

	assert_int_equal(img_ref_parse("[::1]:5000/a/b:t@sha256:" HEX, &r, &e), 0);
	assert_string_equal(r.domain, "[::1]:5000");
	assert_string_equal(r.path, "a/b");
	assert_string_equal(r.tag, "t");
	assert_string_equal(r.digest, "sha256:" HEX);
	img_ref_free(&r);
	/* Freeing twice, or a zeroed reference, or NULL, is harmless. */
	img_ref_free(&r);
	img_ref_free(NULL);

	assert_int_equal(img_ref_parse(NULL, &r, &e), -1);
	assert_string_equal(berr_msg(&e), E_FORMAT);
	berr_clear(&e);
	/* A NULL error object is allowed. */
	assert_int_equal(img_ref_parse("Bad", &r, NULL), -1);
}

static void test_parse_name(void **state)
{
	struct img_ref r;
	berr e = {0};

	assert_int_equal(img_ref_parse_name("busybox", &r, &e), 0);
	assert_null(r.tag);
	assert_null(r.digest);
	_cleanup_free_ char *s1 = img_ref_string(&r);
	_cleanup_free_ char *f1 = img_ref_familiar(&r);
	assert_string_equal(s1, "docker.io/library/busybox");
	assert_string_equal(f1, "busybox");
	img_ref_free(&r);

	assert_int_equal(img_ref_parse_name("ns/x:1.0", &r, &e), 0);
	assert_string_equal(r.tag, "1.0");
	_cleanup_free_ char *f2 = img_ref_familiar(&r);
	assert_string_equal(f2, "ns/x:1.0");
	img_ref_free(&r);

	assert_int_equal(img_ref_parse_name("localhost:5000/x@sha256:" HEX, &r, &e), 0);
	assert_null(r.tag);
	assert_string_equal(r.digest, "sha256:" HEX);
	img_ref_free(&r);

	assert_int_equal(img_ref_parse_name("Upper", &r, &e), -1);
	assert_string_equal(berr_msg(&e),
			    "invalid reference format: repository name (library/Upper) must be lowercase");
	assert_int_equal(img_ref_parse_name(HEX, &r, &e), -1);
	assert_int_equal(img_ref_parse_name("a:", &r, &e), -1);
	assert_string_equal(berr_msg(&e), E_FORMAT);
	berr_clear(&e);
}

static void test_repository(void **state)
{
	static const struct {
		const char *in, *repo, *familiar_repo;
	} rows[] = {
	    {"busybox:1.36", "docker.io/library/busybox", "busybox"},
	    {"ns/x@sha256:" HEX, "docker.io/ns/x", "ns/x"},
	    {"library/a/b", "docker.io/library/a/b", "library/a/b"},
	    {"localhost:5000/x:tag", "localhost:5000/x", "localhost:5000/x"},
	    {"example.com/library/x", "example.com/library/x", "example.com/library/x"},
	    {"[::1]/x", "[::1]/x", "[::1]/x"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct img_ref r;
		berr e = {0};
		assert_int_equal(img_ref_parse(rows[i].in, &r, &e), 0);
		_cleanup_free_ char *repo = img_ref_repository(&r);
		_cleanup_free_ char *frepo = img_ref_familiar_repository(&r);
		assert_string_equal(repo, rows[i].repo);
		assert_string_equal(frepo, rows[i].familiar_repo);
		img_ref_free(&r);
	}

	/* A reference built by hand without a domain prints as its path. */
	struct img_ref hand = {.path = (char *)"x/y", .tag = (char *)"t"};
	_cleanup_free_ char *s = img_ref_string(&hand);
	_cleanup_free_ char *f = img_ref_familiar(&hand);
	assert_string_equal(s, "x/y:t");
	assert_string_equal(f, "x/y:t");
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static int parse_joined(const char *prefix, const char *body, const char *suffix, struct img_ref *r, berr *e)
{
	_cleanup_free_ char *s = NULL;
	assert_true(asprintf(&s, "%s%s%s", prefix, body, suffix) >= 0);
	return img_ref_parse(s, r, e);
}

static void test_lengths(void **state)
{
	struct img_ref r;
	berr e = {0};
	const char *too_long = "repository name must not be more than 255 characters";

	/* The limit is on the path, "library/" included, the domain not. */
	_cleanup_free_ char *n247 = repeat('a', 247);
	_cleanup_free_ char *n248 = repeat('a', 248);
	_cleanup_free_ char *n255 = repeat('a', 255);
	_cleanup_free_ char *n256 = repeat('a', 256);
	_cleanup_free_ char *n300 = repeat('a', 300);
	assert_int_equal(parse_joined("", n247, "", &r, &e), 0);
	assert_int_equal(strlen(r.path), 255);
	img_ref_free(&r);
	assert_int_equal(parse_joined("", n248, "", &r, &e), -1);
	assert_string_equal(berr_msg(&e), too_long);
	assert_int_equal(parse_joined("", n300, ":tag", &r, &e), -1);
	assert_string_equal(berr_msg(&e), too_long);
	assert_int_equal(parse_joined("example.com/", n255, "", &r, &e), 0);
	img_ref_free(&r);
	assert_int_equal(parse_joined("example.com/", n256, "", &r, &e), -1);
	assert_string_equal(berr_msg(&e), too_long);

	/* Tags: 1..128 characters. */
	_cleanup_free_ char *t128 = repeat('t', 128);
	_cleanup_free_ char *t129 = repeat('t', 129);
	assert_int_equal(parse_joined("busybox:", t128, "", &r, &e), 0);
	assert_int_equal(strlen(r.tag), 128);
	img_ref_free(&r);
	assert_int_equal(parse_joined("busybox:", t129, "", &r, &e), -1);
	assert_string_equal(berr_msg(&e), E_FORMAT);
	berr_clear(&e);
}

static void test_is_id_prefix(void **state)
{
	assert_true(img_ref_is_id_prefix("a"));
	assert_true(img_ref_is_id_prefix("0123ab"));
	assert_true(img_ref_is_id_prefix(HEX));
	assert_true(img_ref_is_id_prefix("sha256:" HEX));
	assert_true(img_ref_is_id_prefix("sha256:ab"));
	assert_false(img_ref_is_id_prefix(""));
	assert_false(img_ref_is_id_prefix("sha256:"));
	assert_false(img_ref_is_id_prefix(HEX "0"));
	assert_false(img_ref_is_id_prefix("ABCDEF"));
	assert_false(img_ref_is_id_prefix("busybox"));
	assert_false(img_ref_is_id_prefix("abc:latest"));
	assert_false(img_ref_is_id_prefix("sha512:ab"));
	assert_false(img_ref_is_id_prefix(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),      cmocka_unit_test(test_fields),  cmocka_unit_test(test_parse_name),
	    cmocka_unit_test(test_repository), cmocka_unit_test(test_lengths), cmocka_unit_test(test_is_id_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
