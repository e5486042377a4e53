/*
 * When no daemon answers on the default socket, start berthd ourselves (as root): detached in a
 * session of its own, its output in a log file we name, then wait for its socket to answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/fd.h"

#define DAEMON_LOG       "/run/berth/berthd.log"
#define START_TIMEOUT_MS 15000

bool cli_daemon_answers(const struct cli *c)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->sock_path);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* berthd next to our own binary (a build tree, /usr/bin), else the one on PATH. */
static char *find_berthd(void)
{
	const char *env = getenv("BERTHD");
	if (env && *env)
		return strdup(env);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			struct cli_buf p = {0};
			cli_buf_add(&p, "%.*s/berthd", (int)(slash - self), self);
			if (access(p.s, X_OK) == 0)
				return p.s;
			cli_buf_free(&p);
		}
	}
	return strdup("berthd");
}

/* Fork twice so berthd is nobody's child and in no terminal's session; returns its pid or -1. */
static pid_t spawn(const char *berthd, berr *e)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return berr_sys(e, "creating a pipe");
	pid_t child = fork();
	if (child < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return berr_sys(e, "fork");
	}
	if (child == 0) {
		setsid();
		pid_t grandchild = fork();
		if (grandchild != 0) {
			if (write(pipefd[1], &grandchild, sizeof grandchild) < 0)
				_exit(1);
			_exit(grandchild < 0);
		}
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int log = open(DAEMON_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(127);
		b_close_fds_except(3, NULL, 0);
		signal(SIGPIPE, SIG_DFL);
		execlp(berthd, "berthd", (char *)NULL);
		dprintf(2, "berth: starting %s: %s\n", berthd, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	pid_t pid = -1;
	if (read(pipefd[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
		pid = -1;
	close(pipefd[0]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (pid <= 0)
		return berr_plain(e, ECHILD, "starting %s: fork failed", berthd);
	return pid;
}

void cli_daemon_ensure(struct cli *c)
{
	if (cli_daemon_answers(c))
		return;
	if (geteuid() != 0) {
		fprintf(stderr, "berth: no daemon answers on %s, and starting berthd needs root\n", c->host);
		return;
	}
	if (mkdir("/run/berth", 0711) < 0 && errno != EEXIST) {
		fprintf(stderr, "berth: no daemon answers on %s; cannot start berthd: mkdir /run/berth: %s\n", c->host,
			strerror(errno));
		return;
	}
	char *berthd = find_berthd();
	berr e = {0};
	pid_t pid = spawn(berthd, &e);
	if (pid < 0) {
		fprintf(stderr, "berth: no daemon answers on %s; cannot start berthd: %s\n", c->host, berr_msg(&e));
		berr_clear(&e);
		free(berthd);
		return;
	}
	fprintf(stderr, "berth: no daemon answered on %s: started %s (pid %d, log %s)\n", c->host, berthd, (int)pid,
		DAEMON_LOG);
	free(berthd);
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		if (cli_daemon_answers(c))
			return;
		/* A daemon that died (a second one refused, a bad config) will never answer. */
		if (kill(pid, 0) < 0 && errno == ESRCH)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	fprintf(stderr, "berth: berthd (pid %d) did not come up; see %s\n", (int)pid, DAEMON_LOG);
}
