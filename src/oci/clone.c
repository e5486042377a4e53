#include "clone.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/cleanup.h"

pid_t oci_clone(unsigned long flags, int pidns_fd, berr *e)
{
	_cleanup_close_ int own = -1;
	if (pidns_fd >= 0) {
		own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own < 0)
			return berr_sys(e, "opening our pid namespace");
		if (setns(pidns_fd, CLONE_NEWPID) < 0)
			return berr_sys(e, "joining the container's pid namespace");
	}
	/* The child goes on with a copy of our stack, as after fork(). */
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		berr_sys(e, "creating the container process");
		if (own >= 0)
			setns(own, CLONE_NEWPID);
		return -1;
	}
	if (pid > 0 && own >= 0 && setns(own, CLONE_NEWPID) < 0) {
		int err = errno;
		kill(pid, SIGKILL);
		return berr_set(e, err, "returning to our pid namespace");
	}
	return pid;
}
