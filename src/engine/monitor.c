#include "engine/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/exec.h"
#include "engine/logs.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/fs.h"
#include "lib/proc.h"
#include "lib/timefmt.h"
#include "oci/cgroup.h"
#include "oci/container.h"
#include "oci/state.h"
#include "oci/selfclone.h"

enum { STATUS_FD = 3, GO_FD = 4, EXE_FD = 5 };

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* One line from the status pipe (without its '\n'), malloc'd; NULL at its end. */
static char *read_status_line(int fd)
{
	char *line = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 2 > cap) {
			char *p = realloc(line, cap = cap ? cap * 2 : 256);
			if (!p) {
				free(line);
				return NULL;
			}
			line = p;
		}
		ssize_t n = read(fd, line + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || line[len] == '\n')
			break;
		len++;
	}
	if (len == 0) {
		free(line);
		return NULL;
	}
	line[len] = '\0';
	return line;
}

int eng_monitor_image_open(berr *e)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return berr_sys(e, "reading /proc/self/exe");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%.*s/%s", slash ? (int)(slash - self) : 1, slash ? self : ".", ENG_MONITOR_ARGV0) < 0)
		return berr_set(e, ENOMEM, "finding %s", ENG_MONITOR_ARGV0);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "opening the container monitor %s (it is built next to berthd)", path);
	int copy = oci_sealed_copy(fd, ENG_MONITOR_ARGV0, e);
	return copy < 0 ? berr_wrap(e, "preparing the container monitor %s", path) : copy;
}

int eng_monitor_spawn(const struct eng_monitor_args *a, pid_t *monitor, pid_t *pid, berr *e)
{
	int status[2], go[2];
	if (pipe2(status, O_CLOEXEC) < 0)
		return berr_sys(e, "creating the monitor's status pipe");
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(status[0]);
		close(status[1]);
		return berr_sys(e, "creating the monitor's start pipe");
	}
	char max_size[24], max_files[12];
	snprintf(max_size, sizeof max_size, "%lld", a->log_max_size > 0 ? a->log_max_size : 0);
	snprintf(max_files, sizeof max_files, "%d", a->log_max_files > 0 ? a->log_max_files : 1);
	char *argv[] = {ENG_MONITOR_ARGV0,
			(char *)a->dir,
			(char *)a->runtime_root,
			(char *)a->id,
			(char *)(a->log_path ? a->log_path : ""),
			a->open_stdin ? "1" : "0",
			a->stdin_once ? "1" : "0",
			a->exec ? "exec" : "run",
			max_size,
			max_files,
			NULL};
	/*
	 * posix_spawn (a vfork, not a fork): copying the daemon's page tables for a child that
	 * executes at once cost milliseconds per start. The child gets the status pipe on 3, the go
	 * pipe on 4 and the executable on 5 (the monitor closes it), /dev/null on 0 and 1, our stderr
	 * for its own errors, nothing else, an empty signal mask and a session of its own. The sources
	 * are first moved above 5, so that no dup2 clobbers another's source.
	 */
	int from[3] = {-1, -1, -1}, src[3] = {status[1], go[0], a->exe_fd};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	pid_t child = -1;
	int err = posix_spawn_file_actions_init(&fa);
	if (!err)
		err = posix_spawnattr_init(&attr);
	for (int i = 0; i < 3 && !err; i++)
		if ((from[i] = fcntl(src[i], F_DUPFD_CLOEXEC, EXE_FD + 1)) < 0)
			err = errno;
	err = err ?: posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	err = err ?: posix_spawn_file_actions_adddup2(&fa, 0, 1);
	err = err ?: posix_spawn_file_actions_adddup2(&fa, from[0], STATUS_FD);
	err = err ?: posix_spawn_file_actions_adddup2(&fa, from[1], GO_FD);
	err = err ?: posix_spawn_file_actions_adddup2(&fa, from[2], EXE_FD);
	err = err ?: posix_spawn_file_actions_addclosefrom_np(&fa, EXE_FD + 1);
	err = err ?: posix_spawnattr_setsigmask(&attr, &none);
	err = err ?: posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
	char exe[32];
	snprintf(exe, sizeof exe, "/proc/self/fd/%d", EXE_FD);
	extern char **environ;
	err = err ?: posix_spawn(&child, exe, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 3; i++)
		if (from[i] >= 0)
			close(from[i]);
	if (err) {
		berr_set(e, err, "starting the monitor");
		close(status[0]);
		close(status[1]);
		close(go[0]);
		close(go[1]);
		return -1;
	}
	close(status[1]);
	close(go[0]);
	*monitor = child;
	char *line = read_status_line(status[0]);
	json_t *doc = line ? json_loads(line, 0, NULL) : NULL;
	free(line);
	if (json_is_true(json_object_get(doc, "Ready"))) {
		/* Attach connections waiting for the start connect now, then the container starts. */
		if (a->on_ready)
			a->on_ready(a->on_ready_arg);
		if (write(go[1], "g", 1) < 0) {
			/* the monitor is gone: its status says why */
		}
		json_decref(doc);
		line = read_status_line(status[0]);
		doc = line ? json_loads(line, 0, NULL) : NULL;
		free(line);
	}
	close(go[1]);
	close(status[0]);
	json_t *jpid = json_object_get(doc, "Pid");
	if (json_is_integer(jpid)) {
		*pid = (pid_t)json_integer_value(jpid);
		json_decref(doc);
		return 0;
	}
	const char *msg = json_string_value(json_object_get(doc, "Error"));
	int errnum = (int)json_integer_value(json_object_get(doc, "Errno"));
	berr_plain(e, errnum ? errnum : EIO, "%s", msg ? msg : "the monitor exited before the container started");
	json_decref(doc);
	/* It has exited or is about to: reap it here, the caller never sees it. */
	waitpid(child, NULL, 0);
	return -1;
}

int eng_monitor_connect(const char *dir, const char *header, berr *e)
{
	/* Through /proc/self/fd: a deep data root does not fit in sun_path. */
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "opening %s", dir);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "connecting to the monitor in %s", dir);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || b_write_all(fd, header, strlen(header)) < 0) {
		berr_sys(e, "connecting to the monitor in %s", dir);
		close(fd);
		return -1;
	}
	return fd;
}

static void report(json_t *doc, bool last)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	if (text) {
		b_write_all(STATUS_FD, text, strlen(text));
		b_write_all(STATUS_FD, "\n", 1);
		free(text);
	}
	json_decref(doc);
	if (last)
		close(STATUS_FD);
}

static int fail(berr *e)
{
	report(json_pack("{s:s, s:i}", "Error", berr_msg(e), "Errno", e->errnum), true);
	berr_clear(e);
	return 1;
}

/*
 * Did the kernel's OOM killer kill a process of the container? Its memory cgroup counts them
 * ("oom_kill N" in v1's memory.oom_control, v2's memory.events); read before the cgroup goes.
 */
static bool oom_killed(const char *runtime_root, const char *id)
{
	struct oci_state st;
	berr e = {0};
	bool killed = false;
	if (oci_state_load(runtime_root, id, &st, &e) < 0) {
		berr_clear(&e);
		return false;
	}
	struct oci_cgroup *cg = NULL;
	if (oci_cgroup_open(st.cgroup_path, id, false, NULL, &cg, &e) == 0) {
		const char *dir = oci_cgroup_controller_dir(cg, "memory");
		const char *unified = oci_cgroup_controller_dir(cg, "unified");
		const char *files[][2] = {{dir, "memory.oom_control"}, {unified, "memory.events"}};
		for (size_t i = 0; i < 2 && !killed; i++) {
			_cleanup_free_ char *path = NULL, *text = NULL;
			if (!files[i][0] || asprintf(&path, "%s/%s", files[i][0], files[i][1]) < 0)
				continue;
			if (b_read_file(path, &text, NULL, &e) < 0) {
				berr_clear(&e);
				continue;
			}
			const char *k = strstr(text, "oom_kill ");
			killed = k && strtoull(k + 9, NULL, 10) > 0;
		}
		oci_cgroup_free(cg);
	}
	berr_clear(&e);
	oci_state_free(&st);
	return killed;
}

static int write_exit_file(const char *dir, int code, bool oom, berr *e)
{
	char finished[B_TIME_LEN];
	b_time_now(finished);
	json_t *doc = json_pack("{s:i, s:s, s:b}", "ExitCode", code, "FinishedAt", finished, "OOMKilled", oom);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return berr_set(e, ENOMEM, "recording the exit");
	_cleanup_free_ char *path = NULL;
	int r = asprintf(&path, "%s/exit.json", dir) < 0 ? berr_set(e, ENOMEM, "recording the exit")
							 : b_write_file_atomic(path, text, strlen(text), 0600, e);
	free(text);
	return r;
}

/* Reap every child; the init's status into *status once it is seen. */
static bool reap(pid_t init, int *status)
{
	bool done = false;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p <= 0)
			return done;
		if (p == init) {
			*status = st;
			done = true;
		}
	}
}

enum { MAX_CLIENTS = 64 };

struct client {
	int fd;
	bool in, out, err, in_eof;
};

struct mon {
	const char *dir;
	struct eng_log_file log; /* log.fd -1: no log */
	bool tty, stdin_once;
	int out_fd, err_fd; /* the container's stdout and stderr (the pty master for both with a terminal) */
	int in_fd;          /* the container's stdin: a pipe's write end, the pty master, or -1 */
	int listen_fd;
	struct client clients[MAX_CLIENTS];
	size_t n_clients;
	struct eng_log_splitter so, se;
};

static void drop_client(struct mon *m, size_t i)
{
	close(m->clients[i].fd);
	m->clients[i] = m->clients[--m->n_clients];
}

/* Send output to every client that asked for the stream: raw with a terminal, else in Docker's frames. */
static void fan_out(struct mon *m, enum eng_log_stream stream, const char *data, size_t len)
{
	unsigned char header[8] = {(unsigned char)stream,
				   0,
				   0,
				   0,
				   (unsigned char)(len >> 24),
				   (unsigned char)(len >> 16),
				   (unsigned char)(len >> 8),
				   (unsigned char)len};
	for (size_t i = 0; i < m->n_clients;) {
		struct client *c = &m->clients[i];
		bool wants = stream == ENG_LOG_STDOUT ? c->out : c->err;
		if (wants &&
		    ((!m->tty && b_write_all(c->fd, header, sizeof header) < 0) || b_write_all(c->fd, data, len) < 0)) {
			drop_client(m, i);
			continue;
		}
		i++;
	}
}

/* Copy what fd has to the log and the clients; false once it is at its end (or broken). */
static bool pump(struct mon *m, int fd, enum eng_log_stream stream)
{
	char buf[16384]; /* every page of it stays in the monitor's memory once touched */
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		berr e = {0};
		struct eng_log_splitter *s = stream == ENG_LOG_STDERR ? &m->se : &m->so;
		if (m->log.fd >= 0 && eng_log_splitter_feed(s, &m->log, buf, (size_t)n, &e) < 0)
			berr_clear(&e); /* a full disk must not stop the container: the log loses it */
		fan_out(m, stream, buf, (size_t)n);
		if (fcntl(fd, F_GETFL) & O_NONBLOCK)
			continue;
		return true;
	}
}

/*
 * A new attach connection: one JSON line says what it wants, {"Stdin":true,"Stdout":true,"Stderr":true},
 * or {"Resize":[height,width]} for the terminal's size.
 */
static void accept_client(struct mon *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	char line[512];
	size_t len = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (len < sizeof line - 1 && poll(&p, 1, 2000) > 0) {
		ssize_t n = read(fd, line + len, 1);
		if (n <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	json_t *doc = json_loads(line, 0, NULL);
	json_t *resize = json_object_get(doc, "Resize");
	if (json_is_array(resize)) {
		struct winsize ws = {.ws_row = (unsigned short)json_integer_value(json_array_get(resize, 0)),
				     .ws_col = (unsigned short)json_integer_value(json_array_get(resize, 1))};
		if (m->tty)
			ioctl(m->out_fd, TIOCSWINSZ, &ws);
		json_decref(doc);
		close(fd);
		return;
	}
	if (!json_is_object(doc) || m->n_clients == MAX_CLIENTS) {
		json_decref(doc);
		close(fd);
		return;
	}
	struct client *c = &m->clients[m->n_clients++];
	c->fd = fd;
	c->in = json_is_true(json_object_get(doc, "Stdin")); /* its stdin exists once it starts */
	c->out = json_is_true(json_object_get(doc, "Stdout"));
	c->err = json_is_true(json_object_get(doc, "Stderr"));
	c->in_eof = !c->in;
	json_decref(doc);
}

/* Input from a client: to the container's stdin. Its end closes a StdinOnce container's stdin. */
static void client_input(struct mon *m, size_t i)
{
	struct client *c = &m->clients[i];
	char buf[16384];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && errno == EINTR)
		return;
	if (n > 0) {
		if (c->in && m->in_fd >= 0 && b_write_all(m->in_fd, buf, (size_t)n) < 0 && !m->tty) {
			close(m->in_fd);
			m->in_fd = -1;
		}
		return;
	}
	c->in_eof = true;
	if (c->in && m->stdin_once && m->in_fd >= 0 && !m->tty) {
		close(m->in_fd);
		m->in_fd = -1;
	}
	if (!c->out && !c->err)
		drop_client(m, i);
}

static int listen_attach(berr *e)
{
	/* Relative to our cwd, the container's directory: no sun_path length limit on deep data roots. */
	unlink("attach.sock");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "attach.sock"};
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, MAX_CLIENTS) < 0) {
		berr_sys(e, "listening for attach connections");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int eng_monitor_main(int argc, char **argv)
{
	/* MODE "exec": an exec's process in the running container ID, described by DIR/process.json. */
	if (argc != 10) {
		fprintf(stderr,
			"usage: %s DIR RUNTIME_ROOT ID LOG_PATH OPEN_STDIN STDIN_ONCE MODE MAX_SIZE MAX_FILES\n",
			ENG_MONITOR_ARGV0);
		return 2;
	}
	close(EXE_FD); /* berthd's copy of our executable, which we run from already */
	const char *dir = argv[1], *runtime_root = argv[2], *id = argv[3], *log_path = argv[4];
	bool exec_mode = strcmp(argv[7], "exec") == 0;
	bool open_stdin = strcmp(argv[5], "1") == 0;
	berr e = {0};
	/* Run from a sealed copy of ourselves: the container must not reach our binary (CVE-2019-5736).
	 * berthd's copy is one already; this makes another only when someone else started us. */
	if (!getenv("BERTH_RUNTIME_NO_SELFCLONE") && oci_selfclone_ensure(argv, &e) < 0)
		return fail(&e);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	struct mon m = {.dir = dir,
			.stdin_once = strcmp(argv[6], "1") == 0,
			.in_fd = -1,
			.err_fd = -1,
			.so = {.stream = ENG_LOG_STDOUT},
			.se = {.stream = ENG_LOG_STDERR}};
	if (chdir(dir) < 0) {
		berr_sys(&e, "entering %s", dir);
		return fail(&e);
	}
	/* Who we are, before the daemon says go: a daemon that dies before it records the start finds
	 * us by this file when it comes back, and ends the start it never acknowledged. */
	char who[64];
	snprintf(who, sizeof who, "{\"Pid\":%d,\"StartTime\":%llu}", (int)getpid(), b_proc_start_time(getpid()));
	if (!exec_mode && b_write_file(ENG_MONITOR_FILE, who, strlen(who), 0600, &e) < 0)
		return fail(&e);
	/* An empty LOG_PATH: no log (an exec's output goes only to its client, as Docker's). */
	m.log.fd = -1;
	if (*log_path && eng_log_file_open(&m.log, log_path, strtoll(argv[8], NULL, 10), atoi(argv[9]), &e) < 0)
		return fail(&e);
	if ((m.listen_fd = listen_attach(&e)) < 0)
		return fail(&e);
	/* Attach connections made before the start get all of the output: wait for the daemon's go. */
	report(json_pack("{s:b}", "Ready", 1), false);
	char go;
	ssize_t got;
	while ((got = read(GO_FD, &go, 1)) < 0 && errno == EINTR)
		;
	close(GO_FD);
	if (got != 1) {
		/* The daemon went away before it said go: the start was never acknowledged, start nothing. */
		unlink("attach.sock");
		if (!exec_mode)
			unlink(ENG_MONITOR_FILE);
		return 1;
	}
	fcntl(m.listen_fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		size_t before = m.n_clients;
		accept_client(&m);
		if (m.n_clients == before && errno == EAGAIN)
			break;
		if (m.n_clients == before)
			break;
	}

	/* The container's stdio: pipes, or a terminal (the runtime gives us its master). */
	int out[2], err[2], in[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || (open_stdin && pipe2(in, O_CLOEXEC) < 0)) {
		berr_sys(&e, "creating the container's stdio pipes");
		return fail(&e);
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(open_stdin ? in[0] : null, 0);
	dup2(out[1], 1);
	dup2(err[1], 2);

	struct oci_create_opts o = {.root = runtime_root, .id = id, .bundle = dir};
	pid_t pid = -1;
	int pty = -1;
	int r =
	    exec_mode ? eng_exec_run(runtime_root, id, &pid, &pty, &e) : oci_container_run_child(&o, &pid, &pty, &e);
	/* Our own stdio goes nowhere from now on; the pipes' other ends live only in the container. */
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	close(out[1]);
	close(err[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (r < 0)
		return fail(&e);
	report(json_pack("{s:i}", "Pid", (int)pid), true);
	/* Starting took a megabyte of heap (the spec, the seccomp filter), all freed by now: give its
	 * pages back, since the monitor lives as long as the container. */
	malloc_trim(0);

	if (pty >= 0) {
		m.tty = true;
		m.out_fd = m.in_fd = pty;
		close(out[0]);
		close(err[0]);
		if (in[1] >= 0)
			close(in[1]);
	} else {
		m.out_fd = out[0];
		m.err_fd = err[0];
		m.in_fd = in[1];
	}
	for (size_t i = 0; i < m.n_clients; i++) {
		m.clients[i].in = m.clients[i].in && m.in_fd >= 0;
		m.clients[i].in_eof = !m.clients[i].in;
	}
	int pidfd = pidfd_open_(pid);
	int status = 0;
	bool exited = false;
	while (!(exited && m.out_fd < 0 && m.err_fd < 0)) {
		struct pollfd p[4 + MAX_CLIENTS];
		p[0] = (struct pollfd){.fd = m.out_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = m.err_fd, .events = POLLIN};
		p[2] = (struct pollfd){.fd = exited ? -1 : pidfd, .events = POLLIN};
		p[3] = (struct pollfd){.fd = m.listen_fd, .events = POLLIN};
		size_t n_clients = m.n_clients;
		for (size_t i = 0; i < n_clients; i++)
			p[4 + i] = (struct pollfd){.fd = m.clients[i].in_eof ? -1 : m.clients[i].fd, .events = POLLIN};
		if (poll(p, 4 + n_clients, pidfd < 0 ? 200 : -1) < 0 && errno != EINTR)
			break;
		if (m.out_fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !pump(&m, m.out_fd, ENG_LOG_STDOUT)) {
			if (m.in_fd == m.out_fd)
				m.in_fd = -1;
			close(m.out_fd);
			m.out_fd = -1;
		}
		if (m.err_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !pump(&m, m.err_fd, ENG_LOG_STDERR)) {
			close(m.err_fd);
			m.err_fd = -1;
		}
		if (p[3].revents & POLLIN)
			accept_client(&m);
		/* Clients from the back: dropping one moves the last into its place. */
		for (size_t i = n_clients; i-- > 0;)
			if (i < m.n_clients && (p[4 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				client_input(&m, i);
		if (!exited && (pidfd < 0 || (p[2].revents & POLLIN))) {
			exited = reap(pid, &status);
			if (exited) {
				/* Whatever is still buffered in the pipes is the container's last words: keep them. */
				int *fds[2] = {&m.out_fd, &m.err_fd};
				for (int i = 0; i < 2; i++) {
					if (*fds[i] >= 0) {
						fcntl(*fds[i], F_SETFL, O_NONBLOCK);
						pump(&m, *fds[i], i == 0 ? ENG_LOG_STDOUT : ENG_LOG_STDERR);
						close(*fds[i]);
						*fds[i] = -1;
					}
				}
			}
		}
	}
	if (m.log.fd >= 0) {
		eng_log_splitter_flush(&m.so, &m.log, &e);
		eng_log_splitter_flush(&m.se, &m.log, &e);
	}
	berr_clear(&e);
	reap(-1, &status);
	if (write_exit_file(dir, oci_exit_code(status), !exec_mode && oom_killed(runtime_root, id), &e) < 0)
		berr_clear(&e);
	/* The attached clients see the end of the stream only now: exit.json is there when they ask. */
	while (m.n_clients > 0)
		drop_client(&m, 0);
	close(m.listen_fd);
	unlink("attach.sock");
	if (!exec_mode)
		unlink(ENG_MONITOR_FILE);
	if (!exec_mode && oci_container_delete(runtime_root, id, true, &e) < 0)
		berr_clear(&e);
	return 0;
}
