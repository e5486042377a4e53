#include "lib/strbuf.h"

#include <stdlib.h>
#include <string.h>

void b_strbuf_putn(struct b_strbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void b_strbuf_puts(struct b_strbuf *b, const char *s)
{
	b_strbuf_putn(b, s, strlen(s));
}

void b_strbuf_putc(struct b_strbuf *b, char c)
{
	b_strbuf_putn(b, &c, 1);
}

char *b_strbuf_steal(struct b_strbuf *b)
{
	char *s = b->failed ? NULL : b->p ? b->p : strdup("");
	if (b->failed)
		free(b->p);
	memset(b, 0, sizeof *b);
	return s;
}
