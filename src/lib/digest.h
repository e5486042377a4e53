/* sha256 digests as OCI writes them ("sha256:<64 hex>"), computed while data streams. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define B_DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct b_sha256; /* opaque streaming state */

struct b_sha256 *b_sha256_new(void);
void b_sha256_update(struct b_sha256 *h, const void *data, size_t len);
/* Finish into out ("sha256:..." NUL-terminated) and free h. */
void b_sha256_final(struct b_sha256 *h, char out[B_DIGEST_LEN + 1]);
void b_sha256_free(struct b_sha256 *h);
/* One-shot digest of a buffer. */
void b_sha256_of(const void *data, size_t len, char out[B_DIGEST_LEN + 1]);
/* "sha256:<64 lowercase hex>"? Other algorithms are refused (the store holds sha256 only). */
bool b_digest_valid(const char *digest);
/* The hex part of a valid digest. */
const char *b_digest_hex(const char *digest);
