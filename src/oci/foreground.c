/* A foreground run or exec: wait for the process, pass signals on, or drive its terminal. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fd.h"

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP};

static int block_signals(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
	return sigprocmask(SIG_BLOCK, set, old);
}

static bool reap(pid_t pid, int *status)
{
	pid_t r = waitpid(pid, status, WNOHANG);
	return r == pid;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* After the process is gone its last output may still sit in the pty: copy all of it. */
static void drain(int master)
{
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	char buf[8192];
	for (;;) {
		ssize_t got = read(master, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (b_write_all(STDOUT_FILENO, buf, (size_t)got) < 0)
			return;
	}
}

static int loop(int master, pid_t pid, int *status, berr *e)
{
	sigset_t set, old;
	if (block_signals(&set, &old) < 0)
		return berr_sys(e, "blocking signals");
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return berr_sys(e, "signalfd");
	}
	struct termios saved;
	bool raw = false;
	if (master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		copy_winsize(STDIN_FILENO, master);
	}
	bool stdin_open = master >= 0;
	int r = 0;
	for (;;) {
		if (reap(pid, status)) {
			if (master >= 0)
				drain(master);
			break;
		}
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
				      {.fd = master, .events = POLLIN},
				      {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		int n = poll(p, master >= 0 ? 3 : 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = berr_sys(e, "waiting for the container");
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD) {
				if (si.ssi_signo == SIGWINCH && master >= 0)
					copy_winsize(STDIN_FILENO, master);
				else
					kill(pid, (int)si.ssi_signo);
			}
		}
		char buf[8192];
		if (master >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t got = read(master, buf, sizeof buf);
			if (got > 0) {
				b_write_all(STDOUT_FILENO, buf, (size_t)got);
			} else if (got < 0 && errno != EINTR && errno != EAGAIN) {
				/* EIO: every slave fd is closed; the process is about to be reaped. */
				while (waitpid(pid, status, 0) < 0 && errno == EINTR)
					;
				break;
			}
		}
		if (stdin_open && (p[2].revents & (POLLIN | POLLHUP))) {
			ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
			if (got > 0) {
				b_write_all(master, buf, (size_t)got);
			} else {
				stdin_open = false;
			}
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int oci_wait_forwarding(pid_t pid, int *status, berr *e)
{
	return loop(-1, pid, status, e);
}

int oci_tty_proxy(int master, pid_t pid, int *status, berr *e)
{
	return loop(master, pid, status, e);
}
