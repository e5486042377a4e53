/* Base64 (RFC 4648) for credentials in config.json and X-Registry-Auth. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *b_base64_encode(const void *data, size_t len, bool url)
{
	const unsigned char *in = data;
	const char *abc = url ? URL : STD;
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;
	if (!out)
		return NULL;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
		*p++ = abc[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		if (i + 1 < len)
			*p++ = abc[v >> 6 & 63];
		else if (!url)
			*p++ = '=';
		if (!url)
			*p++ = '=';
	}
	*p = '\0';
	return out;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

char *b_base64_decode(const char *text, size_t *out_len)
{
	size_t n = strlen(text);
	while (n && text[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	char *out = malloc(n / 4 * 3 + 3), *p = out;
	if (!out)
		return NULL;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int s = sextet(text[i]);
		if (s < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)s;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*p++ = (char)(acc >> bits & 0xff);
		}
	}
	*p = '\0';
	if (out_len)
		*out_len = (size_t)(p - out);
	return out;
}
