/* OCI hooks: run each with the container state on stdin, within its timeout. */
#pragma once
#include <stddef.h>

#include "../lib/err.h"
#include "spec.h"

/* Run hooks in order; the first failure stops and is returned ("hook /x exited with status 2"). */
int oci_hooks_run(const struct oci_hook *hooks, size_t n, const char *kind, const char *state_json, berr *e);
