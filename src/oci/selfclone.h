/* Run the runtime from a sealed in-memory copy of itself (CVE-2019-5736). */
#pragma once
#include <stdbool.h>

#include "../lib/err.h"

/*
 * A process in a container can reach the runtime binary through
 * /proc/PID/exe while the runtime works inside it, and write to it once it
 * exits. Re-executing from a sealed memfd copy leaves nothing on disk to
 * write to. Returns only if we already run from such a copy, or on failure.
 */
int oci_selfclone_ensure(char **argv, berr *e);

/*
 * A sealed in-memory copy of the executable open at fd, named name (in /proc/PID/exe): a new
 * O_CLOEXEC memfd, or -1. Processes executed from one copy share its pages.
 */
int oci_sealed_copy(int fd, const char *name, berr *e);

/* Is fd a sealed copy made by oci_sealed_copy? */
bool oci_is_sealed_copy(int fd);
