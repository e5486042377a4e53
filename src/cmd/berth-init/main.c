/*
 * berth-init: the small init that `docker run --init` puts at PID 1 (bind-mounted at
 * /sbin/docker-init). It starts the command as its only child, forwards the signals it gets to
 * that child, reaps every zombie (orphans end up with PID 1), and exits with the child's status
 * (128 + the signal when the child was killed), as Docker's own init does. Linked statically: it
 * runs inside any image.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: docker-init [--] COMMAND [ARG...]\n");
}

/* Signals the init keeps for itself: the ones that stop or break a process rather than ask it to end. */
static bool forwarded(int sig)
{
	return sig != SIGCHLD && sig != SIGFPE && sig != SIGILL && sig != SIGSEGV && sig != SIGBUS && sig != SIGABRT &&
	       sig != SIGTRAP && sig != SIGSYS && sig != SIGTTIN && sig != SIGTTOU;
}

int main(int argc, char **argv)
{
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	if (first >= argc) {
		usage();
		return 1;
	}
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);

	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);

	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "docker-init: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[first], argv + first);
		int err = errno;
		fprintf(stderr, "docker-init: exec %s: %s\n", argv[first], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "docker-init: sigwaitinfo: %s\n", strerror(errno));
			return 1;
		}
		if (sig != SIGCHLD) {
			if (forwarded(sig))
				kill(child, sig);
			continue;
		}
		/* Reap everything that has ended; the child's end is ours. */
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			if (pid <= 0)
				break;
			if (pid == child)
				return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	}
}
