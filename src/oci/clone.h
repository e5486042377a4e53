/* Starting the container's processes: a fork with namespace flags, optionally in a pid namespace. */
#pragma once
#include <sys/types.h>

#include "../lib/err.h"

/*
 * Like fork(), with CLONE_NEW* flags, the child born in the pid namespace
 * pidns_fd (-1: ours). Our own later children stay in our pid namespace (the
 * sanitizer's leak checker, hooks). Returns the pid in the parent, 0 in the
 * child, -1 on error.
 */
pid_t oci_clone(unsigned long flags, int pidns_fd, berr *e);
