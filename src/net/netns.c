/* Network namespaces that outlive the thread that made them: bind-mounted on a file, as `ip netns` keeps them. */
#include "net/net.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/fs.h"

int net_netns_create(const char *path, berr *e)
{
	/* A file left by a daemon that died here: its mount (if any) goes first. */
	umount2(path, MNT_DETACH);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_sys(e, "creating %s", path);
	close(fd);
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return berr_sys(e, "opening this thread's network namespace");
	/* Only this thread moves (a network namespace is per thread); it comes back below. */
	if (unshare(CLONE_NEWNET) < 0)
		return berr_sys(e, "creating a network namespace");
	int r = mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* a daemon thread left in a container's namespace would misroute everything after */
	if (r < 0) {
		errno = saved;
		berr_sys(e, "bind-mounting a network namespace on %s", path);
		unlink(path);
		return -1;
	}
	return 0;
}

int net_netns_remove(const char *path, berr *e)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return berr_sys(e, "unmounting %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return berr_sys(e, "removing %s", path);
	return 0;
}

int net_sysctl_set_in(int netns_fd, const char *key, const char *value, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/proc/sys/%s", key) < 0)
		return berr_set(e, ENOMEM, "sysctl %s", key);
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0)
		return berr_sys(e, "entering a network namespace for sysctl %s", key);
	/* /proc/sys/net is the namespace of the thread that opens it: opened there, written from here. */
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* a daemon thread left in a container's namespace would misroute everything after */
	if (fd < 0) {
		errno = saved;
		return berr_sys(e, "opening %s in a container's network namespace", path);
	}
	if (b_write_all(fd, value, strlen(value)) < 0)
		return berr_sys(e, "writing \"%s\" to %s in a container's network namespace", value, path);
	return 0;
}

int net_sysctl_set(const char *key, const char *value, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "/proc/sys/%s", key) < 0)
		return berr_set(e, ENOMEM, "sysctl %s", key);
	return b_write_knob(path, value, e);
}
