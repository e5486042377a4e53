/* Image references ("busybox", "localhost:5000/ns/app:v1", "name@sha256:...") parsed and normalised as Docker does. */
#pragma once
#include <stdbool.h>

#include "lib/err.h"

#define IMG_REF_DEFAULT_DOMAIN "docker.io"
#define IMG_REF_DEFAULT_TAG    "latest"
#define IMG_REF_NAME_MAX       255 /* longest path (without the domain) */

/*
 * A normalised reference. Every field is owned (free with img_ref_free).
 * domain and path are always set by a successful parse.
 */
struct img_ref {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
	char *path;   /* "library/busybox", "ns/sub/name" */
	char *tag;    /* "latest" when neither tag nor digest was given; NULL when only a digest was given */
	char *digest; /* "sha256:<64 lowercase hex>" or NULL */
};

/*
 * Parse and normalise s like `docker pull` (distribution/reference ParseNormalizedNamed, then
 * the default tag):
 *   "busybox"                 -> docker.io/library/busybox:latest
 *   "ns/x"                    -> docker.io/ns/x:latest
 *   "index.docker.io/busybox" -> docker.io/library/busybox:latest
 *   "localhost:5000/x/y:z"    -> localhost:5000/x/y:z
 *   "name@sha256:<hex>"       -> docker.io/library/name@sha256:<hex> (tag NULL)
 *   "name:tag@sha256:<hex>"   -> both kept
 * The first '/'-separated component is a domain when it contains '.' or ':', is "localhost",
 * or contains an upper-case letter (Docker's rule: namespaces are lower case); otherwise the
 * domain is docker.io, and a single-component path on docker.io gets the "library/" prefix.
 *
 * On failure *out is left zeroed, *e is set (errnum EINVAL, ENOMEM when out of memory) and
 * -1 is returned. The messages are Docker's:
 *   "invalid reference format"                     anything not in the grammar, "" included
 *   "invalid reference format: repository name (library/Upper) must be lowercase"
 *                                                  upper case in the repository path
 *   "repository name must be lowercase"            only lower-casing makes it valid elsewhere
 *   "repository name must not be more than 255 characters"   path (without domain) too long
 *   "invalid repository name (<hex>), cannot specify 64-byte hexadecimal strings"
 *                                                  s is 64 lowercase hex: an image ID, not a name
 *   "invalid checksum digest length"               sha256 digest with other than 64 hex digits
 *   "invalid checksum digest format"               sha256 digest with upper-case hex, or a
 *                                                  malformed algorithm name
 *   "unsupported digest algorithm"                 a well-formed digest of another algorithm
 *                                                  (Docker also takes sha384/sha512; we do not)
 */
int img_ref_parse(const char *s, struct img_ref *out, berr *e);
/* The same, without the default ":latest": tag stays NULL when none was given (name filters, untag). */
int img_ref_parse_name(const char *s, struct img_ref *out, berr *e);

/* Canonical form: "docker.io/library/busybox:latest", "host:5000/a/b@sha256:...", "n:tag@sha256:...".
 * Returns a malloc'd string, or NULL when out of memory. */
char *img_ref_string(const struct img_ref *r);
/* What docker prints: "busybox:latest", "ns/x:tag", "localhost:5000/x:tag" (docker.io and a
 * single-level "library/" dropped). NULL when out of memory. */
char *img_ref_familiar(const struct img_ref *r);
/* The repository without tag or digest: "docker.io/library/busybox". NULL when out of memory. */
char *img_ref_repository(const struct img_ref *r);
/* The familiar repository: "busybox", "ns/x", "localhost:5000/x". NULL when out of memory. */
char *img_ref_familiar_repository(const struct img_ref *r);

/* Could s be (a prefix of) an image ID? 1..64 lowercase hex digits, optionally after "sha256:". */
bool img_ref_is_id_prefix(const char *s);

/* Free the fields and zero *r; safe on a zeroed or already freed reference and on NULL. */
void img_ref_free(struct img_ref *r);
