/* start, kill, delete, pause/resume and ps of an existing container. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fs.h"
#include "../lib/log.h"
#include "cgroup.h"
#include "hooks.h"
#include "spec.h"

int oci_write_pid_file(const char *path, pid_t pid, berr *e)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%d", (int)pid);
	if (b_write_file_atomic(path, buf, (size_t)n, 0644, e) < 0)
		return berr_wrap(e, "writing pid file");
	return 0;
}

int oci_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* The container's config as it was at create time. */
static int load_config(const char *root, const char *id, struct oci_spec **spec, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s/" OCI_CONFIG_COPY, root, id) < 0)
		return berr_set(e, ENOMEM, "config of %s", id);
	return oci_spec_load(path, spec, e);
}

int oci_container_start(const char *root, const char *id, berr *e)
{
	struct oci_state st;
	if (oci_state_load(root, id, &st, e) < 0)
		return -1;
	enum oci_status status = oci_state_status(root, &st);
	if (status != OCI_STATUS_CREATED) {
		berr_invalid(e, "cannot start a container that has %s",
			     status == OCI_STATUS_STOPPED ? "stopped" : "already started");
		oci_state_free(&st);
		return -1;
	}
	_cleanup_close_ int dirfd = -1;
	_cleanup_close_ int sock = -1;
	_cleanup_free_ char *dir = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[4096];
	size_t len = 0;
	struct oci_spec *spec = NULL;
	berr he = {0};
	int r = -1;
	if (oci_state_dir(root, id, &dir, e) < 0)
		goto out;
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dirfd < 0 || sock < 0) {
		berr_sys(e, "starting %s", id);
		goto out;
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" OCI_START_SOCKET, dirfd);
	if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
		berr_sys(e, "starting %s: connecting to its init", id);
		goto out;
	}
	/* One start only: the socket's name goes first, so the state reads "running" from now on. */
	unlinkat(dirfd, OCI_START_SOCKET, 0);
	if (send(sock, "s", 1, MSG_NOSIGNAL) != 1) {
		berr_sys(e, "starting %s", id);
		goto out;
	}
	/* The init closes the connection on exec; anything it writes first is an error. */
	for (;;) {
		ssize_t n = read(sock, msg + len, sizeof msg - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof msg - 1)
			break;
	}
	msg[len] = '\0';
	if (len) {
		berr_set(e, 0, "%s", msg);
		goto out;
	}
	r = 0;
	if (load_config(root, id, &spec, &he) == 0 && spec->hooks.n_poststart) {
		_cleanup_free_ char *json = oci_state_to_json(&st, OCI_STATUS_RUNNING, false);
		if (oci_hooks_run(spec->hooks.poststart, spec->hooks.n_poststart, "poststart", json, &he) < 0)
			b_warn("%s", berr_msg(&he));
	}
	berr_clear(&he);
	oci_spec_free(spec);
out:
	oci_state_free(&st);
	return r;
}

int oci_container_kill(const char *root, const char *id, int sig, bool all, berr *e)
{
	struct oci_state st;
	if (oci_state_load(root, id, &st, e) < 0)
		return -1;
	int r = 0;
	enum oci_status status = oci_state_status(root, &st);
	if (all) {
		struct oci_cgroup *cg = NULL;
		r = oci_cgroup_open(st.cgroup_path, id, false, NULL, &cg, e);
		if (r == 0) {
			/* A frozen process cannot act on a signal: thaw after signalling. */
			r = oci_cgroup_kill_all(cg, sig, e);
			if (status == OCI_STATUS_PAUSED && (sig == SIGKILL || sig == SIGTERM))
				oci_cgroup_freeze(cg, false, NULL);
			oci_cgroup_free(cg);
		}
	} else if (status == OCI_STATUS_STOPPED) {
		r = berr_set(e, ESRCH, "container not running");
	} else if (kill(st.pid, sig) < 0) {
		r = berr_sys(e, "signalling container %s (pid %d)", id, (int)st.pid);
	}
	oci_state_free(&st);
	return r;
}

/* Wait up to timeout_ms for a process that is not our child to go away. */
static bool wait_gone(const struct oci_state *st, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (fd >= 0) {
		if (oci_pid_start_time(st->pid) != st->pid_start_time) {
			close(fd);
			return true;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, timeout_ms);
		close(fd);
	}
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		if (oci_pid_start_time(st->pid) != st->pid_start_time)
			return true;
		usleep(5000);
	}
	return oci_pid_start_time(st->pid) != st->pid_start_time;
}

int oci_container_delete(const char *root, const char *id, bool force, berr *e)
{
	struct oci_state st;
	if (oci_state_load(root, id, &st, e) < 0) {
		if (force && e && e->errnum == ENOENT) {
			/* A create killed half-way leaves a directory without state.json. */
			_cleanup_free_ char *half = NULL;
			berr_clear(e);
			if (oci_state_dir(root, id, &half, NULL) == 0)
				b_remove_tree(half, NULL);
			return 0;
		}
		return -1;
	}
	int r = -1;
	enum oci_status status = oci_state_status(root, &st);
	struct oci_cgroup *cg = NULL;
	struct oci_spec *spec = NULL;
	berr he = {0};
	_cleanup_free_ char *dir = NULL;
	oci_cgroup_open(st.cgroup_path, id, false, NULL, &cg, NULL);
	if ((status == OCI_STATUS_RUNNING || status == OCI_STATUS_PAUSED) && !force) {
		berr_set(e, EBUSY, "cannot delete container %s that is not stopped: %s", id, oci_status_name(status));
		goto out;
	}
	if (status != OCI_STATUS_STOPPED) {
		kill(st.pid, SIGKILL);
		if (cg && status == OCI_STATUS_PAUSED)
			oci_cgroup_freeze(cg, false, NULL);
		if (!wait_gone(&st, 10000)) {
			berr_set(e, ETIMEDOUT, "container %s (pid %d) did not die after SIGKILL", id, (int)st.pid);
			goto out;
		}
	}
	if (cg) {
		/* Without a pid namespace of its own, the init's death leaves the rest running. */
		pid_t *pids = NULL;
		size_t n = 0;
		for (int tries = 0; tries < 100 && oci_cgroup_pids(cg, &pids, &n, NULL) == 0 && n; tries++) {
			free(pids);
			pids = NULL;
			oci_cgroup_kill_all(cg, SIGKILL, NULL);
			usleep(2000);
		}
		free(pids);
		if (oci_cgroup_destroy(cg, e) < 0) {
			berr_wrap(e, "deleting container %s", id);
			goto out;
		}
	}
	if (load_config(root, id, &spec, &he) == 0 && spec->hooks.n_poststop) {
		_cleanup_free_ char *json = oci_state_to_json(&st, OCI_STATUS_STOPPED, false);
		if (oci_hooks_run(spec->hooks.poststop, spec->hooks.n_poststop, "poststop", json, &he) < 0)
			b_warn("%s", berr_msg(&he));
	}
	berr_clear(&he);
	oci_spec_free(spec);
	spec = NULL;
	if (oci_state_dir(root, id, &dir, e) < 0 || b_remove_tree(dir, e) < 0)
		goto out;
	r = 0;
out:
	oci_cgroup_free(cg);
	oci_state_free(&st);
	return r;
}

int oci_container_pause(const char *root, const char *id, bool pause, berr *e)
{
	struct oci_state st;
	if (oci_state_load(root, id, &st, e) < 0)
		return -1;
	int r = -1;
	enum oci_status status = oci_state_status(root, &st);
	struct oci_cgroup *cg = NULL;
	if (pause && status != OCI_STATUS_RUNNING && status != OCI_STATUS_CREATED) {
		berr_invalid(e, "container %s is not running", id);
	} else if (!pause && status != OCI_STATUS_PAUSED) {
		berr_invalid(e, "container %s is not paused", id);
	} else if (oci_cgroup_open(st.cgroup_path, id, false, NULL, &cg, e) == 0) {
		r = oci_cgroup_freeze(cg, pause, e);
	}
	oci_cgroup_free(cg);
	oci_state_free(&st);
	return r;
}

int oci_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, berr *e)
{
	struct oci_state st;
	if (oci_state_load(root, id, &st, e) < 0)
		return -1;
	struct oci_cgroup *cg = NULL;
	int r = oci_cgroup_open(st.cgroup_path, id, false, NULL, &cg, e);
	if (r == 0)
		r = oci_cgroup_pids(cg, pids, n, e);
	oci_cgroup_free(cg);
	oci_state_free(&st);
	return r;
}
