#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int berr_set(berr *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *what = vformat(fmt, ap);
	va_end(ap);
	free(e->msg);
	e->msg = NULL;
	e->errnum = errnum;
	if (!what)
		return -1;
	if (errnum) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", what, strerror(errnum)) >= 0) {
			free(what);
			what = full;
		}
	}
	e->msg = what;
	return -1;
}

int berr_plain(berr *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *what = vformat(fmt, ap);
	va_end(ap);
	free(e->msg);
	e->msg = what;
	e->errnum = errnum;
	return -1;
}

int berr_wrap(berr *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = vformat(fmt, ap);
	va_end(ap);
	if (!ctx)
		return -1;
	char *full = NULL;
	if (asprintf(&full, "%s: %s", ctx, berr_msg(e)) >= 0) {
		free(e->msg);
		e->msg = full;
	}
	free(ctx);
	return -1;
}

void berr_clear(berr *e)
{
	free(e->msg);
	e->msg = NULL;
	e->errnum = 0;
}

const char *berr_msg(const berr *e)
{
	return e && e->msg ? e->msg : "unknown error";
}
