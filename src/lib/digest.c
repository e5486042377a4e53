#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Nettle rather than OpenSSL's EVP: berthd has nettle mapped anyway (gnutls, under the HTTP
 * server), hashes as fast with it (SHA-NI in both), and EVP's provider set-up alone kept ~2 MB
 * of libcrypto resident after the first image load.
 */
#include <nettle/sha2.h>

struct b_sha256 {
	struct sha256_ctx ctx;
};

struct b_sha256 *b_sha256_new(void)
{
	struct b_sha256 *h = malloc(sizeof *h);
	if (h)
		sha256_init(&h->ctx);
	return h;
}

void b_sha256_update(struct b_sha256 *h, const void *data, size_t len)
{
	sha256_update(&h->ctx, len, data);
}

void b_sha256_final(struct b_sha256 *h, char out[B_DIGEST_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_SIZE];
	sha256_digest(&h->ctx, sizeof md, md);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < sizeof md; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	b_sha256_free(h);
}

void b_sha256_free(struct b_sha256 *h)
{
	free(h);
}

void b_sha256_of(const void *data, size_t len, char out[B_DIGEST_LEN + 1])
{
	struct b_sha256 *h = b_sha256_new();
	if (!h) {
		out[0] = '\0';
		return;
	}
	b_sha256_update(h, data, len);
	b_sha256_final(h, out);
}

bool b_digest_valid(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != B_DIGEST_LEN)
		return false;
	for (const char *p = digest + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

const char *b_digest_hex(const char *digest)
{
	return digest + 7;
}
