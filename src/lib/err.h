/* Errors that carry errno and a message, wrapped with context as they travel up. */
#pragma once
#include <errno.h>
#include <stdarg.h>

typedef struct berr {
	int errnum; /* errno of the root cause, 0 if none */
	char *msg;  /* "what failed: on which object: cause" */
} berr;

/* Set *e to "fmt: strerror(errnum)" (no suffix when errnum is 0). Returns -1. */
int berr_set(berr *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The message alone (no strerror tail), with errnum for callers to act on. Returns -1. */
int berr_plain(berr *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Bad input: berr_plain with EINVAL. Returns -1. */
#define berr_invalid(e, ...) berr_plain((e), EINVAL, __VA_ARGS__)
/* Set *e from errno. Returns -1. */
#define berr_sys(e, ...) berr_set((e), errno, __VA_ARGS__)
/* Prefix the message in *e with context: "context: old message". Returns -1. */
int berr_wrap(berr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berr_clear(berr *e);
/* The message, or "unknown error" when none was set. */
const char *berr_msg(const berr *e);
