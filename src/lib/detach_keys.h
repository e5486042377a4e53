/*
 * Docker's detach keys ("ctrl-p,ctrl-q"): the bytes a client types on an attached terminal to
 * leave it without stopping anything, and the filter that finds them in its input.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

enum { B_DETACH_KEYS_MAX = 16 };
#define B_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"

struct b_detach_keys {
	unsigned char seq[B_DETACH_KEYS_MAX];
	size_t len;     /* 0: no detaching */
	size_t matched; /* how much of seq the input ended with, held back until it matches or not */
};

/*
 * Docker's term.ToBytes: comma-separated keys, each one character or "ctrl-X" (X one of a-z @ [ \ ]
 * ^ _, any case). A bad one: EINVAL "Unknown character: 'x'".
 */
int b_detach_keys_parse(const char *keys, struct b_detach_keys *out, berr *e);

/*
 * Pass input through: out gets what goes on (at most len + B_DETACH_KEYS_MAX bytes), a partial
 * match is held back until the next bytes decide; true when the whole sequence came (the bytes
 * after it are dropped), as Docker's copyEscapable.
 */
bool b_detach_keys_filter(struct b_detach_keys *k, const char *in, size_t len, char *out, size_t *out_len);
