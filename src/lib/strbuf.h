/* A growing string for building text byte by byte; an allocation failure latches in failed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct b_strbuf {
	char *p; /* NUL-terminated once anything was put; NULL before */
	size_t len, cap;
	bool failed;
};

void b_strbuf_putn(struct b_strbuf *b, const char *s, size_t n);
void b_strbuf_puts(struct b_strbuf *b, const char *s);
void b_strbuf_putc(struct b_strbuf *b, char c);
/* The string ("" when nothing was put; NULL after a failure) for the caller to free; b is left empty. */
char *b_strbuf_steal(struct b_strbuf *b);
