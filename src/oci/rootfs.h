/* The container's root filesystem: mounts, /dev, pivot_root, masked and read-only paths. */
#pragma once
#include <stdbool.h>

#include "../lib/err.h"
#include "spec.h"

/*
 * In the container's new mount namespace, before pivot_root: set the
 * propagation of "/", make the rootfs a mount point, perform every mount of
 * the config (destinations resolved inside the rootfs) and populate /dev.
 * before_cgroup_mount (may be NULL) runs once, before the first cgroup mount:
 * the container must sit in its cgroup namespace by then.
 */
int oci_rootfs_prepare(const struct oci_spec *s, const char *rootfs, bool in_userns,
		       int (*before_cgroup_mount)(void *arg, berr *e), void *arg, berr *e);
/* Make rootfs the new "/" (pivot_root, or MS_MOVE + chroot with no_pivot). */
int oci_rootfs_pivot(const char *rootfs, bool no_pivot, berr *e);
/* After pivot_root: sysctls, masked paths, read-only paths, root.readonly. */
int oci_rootfs_finalize(const struct oci_spec *s, berr *e);
/* Bind the pty slave at /dev/console (after pivot_root). */
int oci_rootfs_bind_console(const char *slave_path, berr *e);
