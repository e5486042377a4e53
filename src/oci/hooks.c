#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/cleanup.h"

extern char **environ;

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int run_one(const struct oci_hook *h, const char *kind, const char *state_json, berr *e)
{
	/* A socket rather than a pipe: MSG_NOSIGNAL spares us SIGPIPE without touching signal dispositions. */
	int in[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
		return berr_sys(e, "%s hook %s: pipe", kind, h->path);
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return berr_sys(e, "%s hook %s: fork", kind, h->path);
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		char *default_args[] = {h->path, NULL};
		execve(h->path, h->args && h->args[0] ? h->args : default_args, h->env ? h->env : environ);
		dprintf(STDERR_FILENO, "%s hook %s: %s\n", kind, h->path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	size_t len = strlen(state_json);
	for (size_t off = 0; off < len;) {
		ssize_t w = send(in[1], state_json + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);

	int status = 0;
	if (h->has_timeout) {
		_cleanup_close_ int pfd = pidfd_open_(pid);
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int r = pfd >= 0 ? poll(&p, 1, h->timeout * 1000) : 1;
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return berr_set(e, ETIMEDOUT, "%s hook %s timed out after %d s", kind, h->path, h->timeout);
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return berr_sys(e, "%s hook %s: waiting", kind, h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return berr_set(e, 0, "%s hook %s was killed by signal %d", kind, h->path, WTERMSIG(status));
	return berr_set(e, 0, "%s hook %s exited with status %d", kind, h->path, WEXITSTATUS(status));
}

int oci_hooks_run(const struct oci_hook *hooks, size_t n, const char *kind, const char *state_json, berr *e)
{
	for (size_t i = 0; i < n; i++)
		if (run_one(&hooks[i], kind, state_json, e) < 0)
			return -1;
	return 0;
}
