/*
 * Root filesystems of containers over overlayfs: the image's layers (layers/<chain-id>/diff, read-only)
 * as lower dirs, the container's writable upper and overlay's work dir in containers/<id>/, merged at
 * containers/<id>/rootfs. Mounts use the new mount API with overlayfs' "lowerdir+" (Linux 6.8+: no
 * limit on the length of the layer list); older kernels (Debian 12's 6.1) get mount(2), whose options
 * are limited to one page, with the layers named by short /proc/self/fd paths when their own paths are
 * too long. No process is ever run.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/*
 * Mount an overlay at target (an existing directory, not a symlink): lower_dirs top-most first (as
 * overlayfs wants them), upper and work created if missing (mode 0755 and 0700, whatever the umask;
 * missing parents as mkdir -p makes them). With no lower dir, upper is bind-mounted at target instead
 * (a container of an empty image). A mount already at target is stacked on, as mount(2) does.
 */
int stor_overlay_mount(char *const *lower_dirs, size_t n_lower, const char *upper, const char *work, const char *target,
		       berr *e);

/*
 * Unmount the mount at target (one of them, when several are stacked). A busy mount is retried for
 * about a tenth of a second, then refused with EBUSY and a message naming the mounts still below
 * target, or saying that a process has a file open (or its working directory) inside; it is never
 * detached lazily. Nothing mounted at target (or no target) is not an error.
 */
int stor_overlay_unmount(const char *target, berr *e);

/*
 * Make containers_dir/<id>/ (0700) with upper/ (0755), work/ (0700) and rootfs/, and mount the overlay
 * of lower_dirs at rootfs. Existing directories are reused (a stopped container keeps its upper across
 * a reboot); a rootfs that is already mounted is left as it is. *rootfs_path (malloc'd) gets
 * "<containers_dir>/<id>/rootfs". id is one path component: not empty, ".", "..", nor containing '/'.
 * On failure a containers_dir/<id> made by this call is removed again.
 */
int stor_rootfs_create(const char *containers_dir, const char *id, char *const *lower_dirs, size_t n_lower,
		       char **rootfs_path, berr *e);

/*
 * Unmount containers_dir/<id>/rootfs (every mount stacked there) and delete containers_dir/<id> whole.
 * Symlinks are removed, never followed; a mount found inside the tree (a bind mount, even of the same
 * filesystem) stops the removal with EXDEV and its path, and nothing beyond it is touched. Trees of any
 * depth are removed with a bounded number of open descriptors. A missing containers_dir/<id> is fine.
 */
int stor_rootfs_remove(const char *containers_dir, const char *id, berr *e);

/*
 * Make dir (and nothing above it) as a container's init layer: the directories dev, proc, sys, etc
 * (0755) and the empty files etc/hostname, etc/hosts, etc/resolv.conf (0644), owned by the caller.
 * It goes over the image's layers as the top-most lower dir, so that the runtime's mount points
 * are never made in the container's writable layer. An existing dir is completed.
 */
int stor_init_layer_create(const char *dir, berr *e);

enum stor_change { STOR_ADDED = 'A', STOR_CHANGED = 'C', STOR_DELETED = 'D' };

/*
 * The changes an upper dir makes to its lower dirs (top-most first), as `docker diff` reports them:
 *  - D: a whiteout (char device 0/0); an opaque directory (trusted.overlay.opaque "y") that hides a
 *    path of the lower layers (its lower content is gone), whose entries then follow as A;
 *  - C: a path that exists in the lower layers, except a directory whose size, mode and mtime are
 *    those of its lower version (overlay's copy-up keeps them), which is reported only when one of
 *    its entries is added or deleted (Docker's rule: a modified entry alone does not make it C);
 *  - A: anything else.
 * "Exists in the lower layers" is overlay's own lookup: whiteouts and opaque directories of lower
 * layers hide what is below them, and symlinks are never followed. Paths are absolute inside the
 * container ("/etc/passwd"), reported in Docker's order: depth-first, names sorted bytewise, a
 * directory before its entries. cb returns 0 to go on; anything else stops the walk and is returned.
 */
int stor_changes(const char *upper, char *const *lower_dirs, size_t n_lower,
		 int (*cb)(enum stor_change kind, const char *path, void *arg), void *arg, berr *e);

/*
 * Whether mounts use the new mount API with "lowerdir+" (probed once per process, on the first mount):
 * false on kernels before 6.8, or when forced off.
 */
bool stor_overlay_has_lowerdir_plus(void);
/* Tests and diagnostics: force the mount(2) path even where "lowerdir+" exists (false: probe again). */
void stor_overlay_force_legacy(bool on);
