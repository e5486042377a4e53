/* Base64 (RFC 4648): the standard and the URL-safe alphabets. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* data as base64 (url: '-' and '_', no padding), NUL-terminated; NULL when out of memory. */
char *b_base64_encode(const void *data, size_t len, bool url);
/*
 * Either alphabet, padding optional, to bytes (NUL-terminated; *out_len excludes the NUL); NULL
 * when text is not base64 or memory ran out.
 */
char *b_base64_decode(const char *text, size_t *out_len);
