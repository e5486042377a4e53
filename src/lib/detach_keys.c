#include "lib/detach_keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

static int ctrl_code(const char *key)
{
	if (strncasecmp(key, "ctrl-", 5) != 0 || strlen(key) != 6)
		return -1;
	char c = (char)tolower((unsigned char)key[5]);
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 1;
	const char *others = "@[\\]^_";
	const char *p = strchr(others, c);
	if (!p)
		return -1;
	return p == others ? 0 : 26 + (int)(p - others);
}

int b_detach_keys_parse(const char *keys, struct b_detach_keys *out, berr *e)
{
	memset(out, 0, sizeof *out);
	_cleanup_free_ char *copy = strdup(keys);
	if (!copy)
		return berr_set(e, ENOMEM, "detach keys");
	char *rest = copy;
	for (;;) {
		char *key = strsep(&rest, ",");
		if (!key)
			break;
		int code = strlen(key) == 1 ? (unsigned char)key[0] : ctrl_code(key);
		if (code < 0)
			return berr_invalid(e, "Unknown character: '%s'", key);
		if (out->len == B_DETACH_KEYS_MAX)
			return berr_invalid(e, "more than %d detach keys", B_DETACH_KEYS_MAX);
		out->seq[out->len++] = (unsigned char)code;
	}
	return 0;
}

bool b_detach_keys_filter(struct b_detach_keys *k, const char *in, size_t len, char *out, size_t *out_len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (k->len && c == k->seq[k->matched]) {
			if (++k->matched == k->len) {
				k->matched = 0;
				*out_len = n;
				return true;
			}
			continue;
		}
		/* Not the sequence after all: what was held back goes on, then this byte (which may start it again). */
		memcpy(out + n, k->seq, k->matched);
		n += k->matched;
		k->matched = 0;
		if (k->len && c == k->seq[0])
			k->matched = 1;
		else
			out[n++] = (char)c;
	}
	*out_len = n;
	return false;
}
