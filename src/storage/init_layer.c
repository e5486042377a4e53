/*
 * A container's init layer: the mount points the runtime needs in every root filesystem (/proc,
 * /sys, /dev and the files that /etc/hostname, /etc/hosts and /etc/resolv.conf are bound over),
 * made once at create as a lower dir above the image's layers, so that they never land in the
 * container's own writable layer: `docker diff` and `docker commit` see only what the container
 * did, as with Docker's own init layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "storage/overlay.h"

static const char *const init_dirs[] = {"dev", "proc", "sys", "etc"};
static const char *const init_files[] = {"etc/hostname", "etc/hosts", "etc/resolv.conf"};

int stor_init_layer_create(const char *dir, berr *e)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return berr_sys(e, "creating init layer %s", dir);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "opening init layer %s", dir);
	/* Modes as given, whatever the umask. */
	if (fchmod(fd, 0755) < 0)
		return berr_sys(e, "init layer %s", dir);
	for (size_t i = 0; i < ARRAY_SIZE(init_dirs); i++)
		if ((mkdirat(fd, init_dirs[i], 0755) < 0 && errno != EEXIST) || fchmodat(fd, init_dirs[i], 0755, 0) < 0)
			return berr_sys(e, "init layer %s: %s", dir, init_dirs[i]);
	for (size_t i = 0; i < ARRAY_SIZE(init_files); i++) {
		int f = openat(fd, init_files[i], O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0)
			return berr_sys(e, "init layer %s: %s", dir, init_files[i]);
		int r = fchmod(f, 0644);
		close(f);
		if (r < 0)
			return berr_sys(e, "init layer %s: %s", dir, init_files[i]);
	}
	if (syncfs(fd) < 0)
		return berr_sys(e, "syncing init layer %s", dir);
	return 0;
}
