#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct b_sha256 {
	EVP_MD_CTX *ctx;
};

struct b_sha256 *b_sha256_new(void)
{
	struct b_sha256 *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		b_sha256_free(h);
		return NULL;
	}
	return h;
}

void b_sha256_update(struct b_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void b_sha256_final(struct b_sha256 *h, char out[B_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	b_sha256_free(h);
}

void b_sha256_free(struct b_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
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
