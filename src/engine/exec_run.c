/* The exec monitor's side: the runtime's exec of process.json, its terminal taken over a console socket. */
#include "engine/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "oci/container.h"

#define PROCESS_FILE   "process.json"
#define PID_FILE       "exec.pid"
#define CONSOLE_SOCKET "console.sock"

static int listen_console(berr *e)
{
	unlink(CONSOLE_SOCKET);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = CONSOLE_SOCKET};
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
		berr_sys(e, "listening on the exec's console socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The pty master the exec's process sent: it is in the socket already, the exec being done. */
static int receive_master(int listen_fd, berr *e)
{
	struct pollfd p = {.fd = listen_fd, .events = POLLIN};
	if (poll(&p, 1, 5000) <= 0)
		return berr_set(e, ETIMEDOUT, "waiting for the exec's terminal");
	_cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return berr_sys(e, "accepting the exec's terminal");
	char name[256];
	struct iovec iov = {name, sizeof name};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n;
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return berr_set(e, EPROTO, "receiving the exec's terminal: no descriptor came");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

static bool wants_terminal(berr *e, int *r)
{
	_cleanup_free_ char *text = NULL;
	*r = b_read_file(PROCESS_FILE, &text, NULL, e);
	if (*r < 0)
		return false;
	json_t *doc = json_loads(text, 0, NULL);
	bool tty = json_is_true(json_object_get(doc, "terminal"));
	json_decref(doc);
	return tty;
}

int eng_exec_run(const char *runtime_root, const char *id, pid_t *pid, int *pty, berr *e)
{
	*pty = -1;
	int r;
	bool tty = wants_terminal(e, &r);
	if (r < 0)
		return berr_wrap(e, "reading the exec's %s", PROCESS_FILE);
	_cleanup_close_ int console = tty ? listen_console(e) : -1;
	if (tty && console < 0)
		return -1;
	unlink(PID_FILE);
	/* Detached: the runtime returns once the process runs; it is our child, we wait for it. */
	struct oci_exec_opts o = {.root = runtime_root,
				  .id = id,
				  .process_file = PROCESS_FILE,
				  .detach = true,
				  .pid_file = PID_FILE,
				  .console_socket = tty ? CONSOLE_SOCKET : NULL};
	int unused_code;
	if (oci_container_exec(&o, &unused_code, e) < 0)
		return -1;
	_cleanup_free_ char *text = NULL;
	if (b_read_file(PID_FILE, &text, NULL, e) < 0)
		return berr_wrap(e, "the exec's pid");
	*pid = (pid_t)atoi(text);
	if (tty) {
		*pty = receive_master(console, e);
		if (*pty < 0)
			return -1;
		unlink(CONSOLE_SOCKET);
	}
	return 0;
}
