/* create and run: from a bundle to an init process waiting (or not) for start. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fd.h"
#include "../lib/fs.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "cgroup.h"
#include "clone.h"
#include "devices.h"
#include "hooks.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp.h"
#include "seccomp_cache.h"
#include "seccomp_listener.h"
#include "spec.h"
#include "sync.h"
#include "validate.h"

struct create_ctx {
	const struct oci_create_opts *o;
	struct oci_spec *spec;
	char *bundle, *rootfs, *state_dir;
	int state_dirfd;
	struct oci_cgroup *cg;
	struct oci_seccomp_filter *seccomp;
	int sync_parent, sync_child;
	int start_listen;  /* create: `start` connects here */
	int console_sock;  /* connected console socket, or -1 */
	int listener_sock; /* connected seccomp listener socket, or -1 */
	bool internal_pty; /* foreground run with a terminal and no console socket */
	int ns_fds[OCI_NS_COUNT];
	bool waits_for_start_socket;
	bool in_cgroup; /* init side: the runtime has moved us into the container's cgroup */
	bool staged;    /* namespaces joined first, then made one by one (see needs_staging) */
	pid_t pid;
	struct oci_state st;
};

/* ---------- the container's init (child side) ---------- */

static int join_namespaces(struct create_ctx *c, berr *e)
{
	/* The user namespace first: it owns the others. The pid namespace was joined by the parent. */
	static const enum oci_ns_type order[] = {OCI_NS_USER,   OCI_NS_IPC,  OCI_NS_UTS,  OCI_NS_NETWORK,
						 OCI_NS_CGROUP, OCI_NS_TIME, OCI_NS_MOUNT};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum oci_ns_type t = order[i];
		if (c->ns_fds[t] < 0)
			continue;
		if (setns(c->ns_fds[t], oci_ns_clone_flag(t)) < 0)
			return berr_sys(e, "joining %s namespace %s", oci_ns_name(t),
					c->spec->linux_.namespaces[t].path);
	}
	return 0;
}

static int setup_terminal(struct create_ctx *c, berr *e)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return berr_sys(e, "opening /dev/ptmx in the container");
	if (unlockpt(master) < 0)
		return berr_sys(e, "unlocking the pty");
	char name[PATH_MAX];
	if (ptsname_r(master, name, sizeof name) != 0)
		return berr_sys(e, "naming the pty");
	_cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return berr_sys(e, "opening %s", name);
	const struct oci_process *p = &c->spec->process;
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_size.height,
				     .ws_col = (unsigned short)p->console_size.width};
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (c->console_sock >= 0) {
		if (oci_send_fd(c->console_sock, master, "/dev/ptmx", e) < 0)
			return -1;
	} else if (oci_sync_send(c->sync_child, OCI_SYNC_PTY, NULL, master, e) < 0) {
		return -1;
	}
	if (oci_rootfs_bind_console(name, e) < 0)
		return -1;
	if (setsid() < 0)
		return berr_sys(e, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return berr_sys(e, "making %s the controlling terminal", name);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return berr_sys(e, "dup2 of the terminal");
	return 0;
}

static void exit_on_signal(int sig)
{
	_exit(128 + sig);
}

/* Block until `start` says go; returns the channel to report late errors on. */
static int wait_for_start(struct create_ctx *c, berr *e)
{
	/* As pid 1 of its namespace the init ignores signals it has no handler for; `kill` of a created container must
	 * work. Handlers reset to default at execve. */
	struct sigaction sa = {.sa_handler = exit_on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (!c->waits_for_start_socket) {
		if (oci_sync_expect(c->sync_child, OCI_SYNC_START, NULL, NULL, e) < 0)
			return -1;
		return fcntl(c->sync_child, F_DUPFD_CLOEXEC, 3);
	}
	for (;;) {
		int conn = accept4(c->start_listen, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR)
				continue;
			return berr_sys(e, "waiting for start");
		}
		char go;
		if (read(conn, &go, 1) == 1 && go == 's')
			return conn;
		close(conn);
	}
}

static void report(int fd, bool sync_protocol, const berr *err)
{
	if (fd < 0)
		return;
	if (sync_protocol) {
		oci_sync_send_error(fd, err);
	} else {
		const char *m = berr_msg(err);
		ssize_t w = write(fd, m, strlen(m));
		(void)w;
	}
}

/*
 * Moving a process between v1 cgroups waits for an RCU grace period (several
 * ms), so the runtime does it while we set up mounts; we wait for it only here,
 * where the cgroup namespace must be made (its root is our cgroup then).
 */
static int enter_cgroup_namespace(void *arg, berr *e)
{
	struct create_ctx *c = arg;
	if (c->in_cgroup)
		return 0;
	if (oci_sync_expect(c->sync_child, OCI_SYNC_CGROUP, NULL, NULL, e) < 0)
		return -1;
	c->in_cgroup = true;
	const struct oci_namespace *ns = &c->spec->linux_.namespaces[OCI_NS_CGROUP];
	if (ns->present && !ns->path && unshare(CLONE_NEWCGROUP) < 0)
		return berr_sys(e, "creating the cgroup namespace");
	return 0;
}

/*
 * Namespaces are normally all made by the clone(2) that starts the init. When a
 * user namespace is joined, or a new one must own namespaces next to joined
 * ones, the order matters: join first, then make the user namespace, then the
 * others (owned by it), and a new pid namespace needs one more fork.
 */
static bool needs_staging(const struct oci_linux *l)
{
	if (!l->namespaces[OCI_NS_USER].present)
		return false;
	if (l->namespaces[OCI_NS_USER].path)
		return true;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		if (t != OCI_NS_USER && t != OCI_NS_PID && l->namespaces[t].path)
			return true;
	return false;
}

static unsigned long new_namespace_flags(const struct oci_linux *l, unsigned long except)
{
	unsigned long flags = 0;
	for (int t = 0; t < OCI_NS_COUNT; t++)
		if (l->namespaces[t].present && !l->namespaces[t].path)
			flags |= (unsigned long)oci_ns_clone_flag(t);
	return flags & ~except;
}

/* The staged order; returns in the process that goes on as the init. */
static int staged_namespaces(struct create_ctx *c, bool new_userns, berr *e)
{
	const struct oci_linux *l = &c->spec->linux_;
	if (join_namespaces(c, e) < 0)
		return -1;
	if (new_userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			return berr_sys(e, "creating the user namespace");
		if (oci_sync_send(c->sync_child, OCI_SYNC_USERMAP, NULL, -1, e) < 0)
			return -1;
	}
	if (oci_sync_expect(c->sync_child, OCI_SYNC_GO, NULL, NULL, e) < 0)
		return -1;
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return berr_sys(e, "becoming root in the user namespace (is uid/gid 0 mapped?)");
	unsigned long flags = new_namespace_flags(l, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWCGROUP);
	if (flags && unshare((int)flags) < 0)
		return berr_sys(e, "creating the container's namespaces");
	if (!l->namespaces[OCI_NS_PID].present || l->namespaces[OCI_NS_PID].path)
		return 0;
	/* The child of a new pid namespace must be born in our cgroup: wait for it first. */
	if (enter_cgroup_namespace(c, e) < 0)
		return -1;
	if (unshare(CLONE_NEWPID) < 0)
		return berr_sys(e, "creating the pid namespace");
	pid_t init = fork();
	if (init < 0)
		return berr_sys(e, "forking the container init");
	if (init > 0) {
		char text[32];
		snprintf(text, sizeof text, "%d", (int)init);
		oci_sync_send(c->sync_child, OCI_SYNC_PID, text, -1, NULL);
		_exit(0);
	}
	return 0;
}

static int child_setup(struct create_ctx *c, berr *e)
{
	struct oci_spec *s = c->spec;
	struct oci_linux *l = &s->linux_;
	bool new_userns = l->namespaces[OCI_NS_USER].present && !l->namespaces[OCI_NS_USER].path;

	if (c->staged) {
		if (staged_namespaces(c, new_userns, e) < 0)
			return -1;
	} else {
		if (new_userns && oci_sync_send(c->sync_child, OCI_SYNC_USERMAP, NULL, -1, e) < 0)
			return -1;
		if (oci_sync_expect(c->sync_child, OCI_SYNC_GO, NULL, NULL, e) < 0)
			return -1;
		if (join_namespaces(c, e) < 0)
			return -1;
		if (new_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			return berr_sys(e, "becoming root in the user namespace (is uid/gid 0 mapped?)");
	}
	if (s->hostname && *s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return berr_sys(e, "setting hostname \"%s\"", s->hostname);
	if (s->domainname && *s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return berr_sys(e, "setting domainname \"%s\"", s->domainname);
	if (!c->o->no_new_keyring) {
		/* A fresh session keyring keeps the container out of ours (runc names it after the id). */
		syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, c->o->id);
	}
	if (oci_rootfs_prepare(s, c->rootfs, l->namespaces[OCI_NS_USER].present, enter_cgroup_namespace, c, e) < 0 ||
	    enter_cgroup_namespace(c, e) < 0)
		return -1;

	/* prestart/createRuntime hooks run on the runtime side; then ours, before pivot_root. */
	_cleanup_free_ char *state_json = NULL;
	if (oci_sync_send(c->sync_child, OCI_SYNC_HOOKS, NULL, -1, e) < 0 ||
	    oci_sync_expect(c->sync_child, OCI_SYNC_STATE, &state_json, NULL, e) < 0)
		return -1;
	if (oci_hooks_run(s->hooks.create_container, s->hooks.n_create_container, "createContainer", state_json, e) < 0)
		return -1;

	if (oci_rootfs_pivot(c->rootfs, c->o->no_pivot, e) < 0)
		return -1;
	if (s->process.terminal && setup_terminal(c, e) < 0)
		return -1;
	if (oci_rootfs_finalize(s, e) < 0)
		return -1;
	/* Nothing of the host may stay reachable through an fd (CVE-2024-21626): keep only what we use. */
	{
		int keep[] = {c->sync_child, c->start_listen, c->console_sock, c->listener_sock, b_log_fd()};
		/* Ours may sit among the preserved numbers when the caller passed fewer fds than it said. */
		if (c->state_dirfd >= 0)
			close(c->state_dirfd);
		c->state_dirfd = -1;
		for (int t = 0; t < OCI_NS_COUNT; t++) {
			if (c->ns_fds[t] >= 0)
				close(c->ns_fds[t]);
			c->ns_fds[t] = -1;
		}
		b_close_fds_except(3 + c->o->preserve_fds, keep, ARRAY_SIZE(keep));
	}
	if (oci_process_enter_cwd(&s->process, true, e) < 0)
		return -1;
	_cleanup_free_ char *exe = NULL;
	if (oci_process_find_executable(&s->process, &exe, e) < 0)
		return -1;
	/* From here on the init outlives the runtime process (create, run -d). */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (oci_sync_send(c->sync_child, OCI_SYNC_READY, NULL, -1, e) < 0)
		return -1;

	int channel = wait_for_start(c, e);
	if (channel < 0)
		return -1;
	bool sync_protocol = !c->waits_for_start_socket;
	berr late = {0};
	if (oci_hooks_run(s->hooks.start_container, s->hooks.n_start_container, "startContainer", state_json, &late) ==
	    0) {
		_cleanup_free_ char *listener_msg =
		    c->listener_sock >= 0 ? oci_seccomp_listener_message(state_json, l->seccomp->listener_metadata)
					  : NULL;
		struct oci_exec_security sec = {c->seccomp, c->listener_sock, listener_msg, l->personality_domain,
						c->o->preserve_fds};
		oci_process_exec(&s->process, exe, &sec, &late);
	}
	report(channel, sync_protocol, &late);
	berr_clear(&late);
	_exit(1);
}

static void child_main(struct create_ctx *c)
{
	berr e = {0};
	close(c->sync_parent);
	/* Until exec, this process runs the runtime's code: keep other processes off its memory and /proc entry. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (child_setup(c, &e) < 0)
		oci_sync_send_error(c->sync_child, &e);
	_exit(1);
}

/* ---------- the runtime side ---------- */

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n, berr *e)
{
	if (!n)
		return 0;
	size_t cap = n * 40 + 1, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return berr_set(e, ENOMEM, "writing %s", file);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	return b_write_knob(path, buf, e);
}

static int open_namespaces(struct create_ctx *c, berr *e)
{
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		c->ns_fds[t] = -1;
		const char *path = c->spec->linux_.namespaces[t].path;
		if (!path)
			continue;
		c->ns_fds[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (c->ns_fds[t] < 0)
			return berr_sys(e, "linux.namespaces: opening %s namespace %s", oci_ns_name(t), path);
	}
	return 0;
}

static int listen_for_start(struct create_ctx *c, berr *e)
{
	c->start_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->start_listen < 0)
		return berr_sys(e, "creating the start socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* Through the directory fd: the state path may be longer than sun_path allows. */
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" OCI_START_SOCKET, c->state_dirfd);
	if (bind(c->start_listen, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(c->start_listen, 4) < 0)
		return berr_sys(e, "binding the start socket in %s", c->state_dir);
	return 0;
}

static int connect_console(struct create_ctx *c, berr *e)
{
	c->console_sock = -1;
	if (!c->spec->process.terminal)
		return 0;
	if (!c->o->console_socket) {
		if (c->waits_for_start_socket)
			return berr_set(
			    e, EINVAL, "cannot allocate tty if the runtime will detach without setting console socket");
		c->internal_pty = true;
		return 0;
	}
	c->console_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->console_sock < 0)
		return berr_sys(e, "creating the console socket");
	_cleanup_free_ char *abs = realpath(c->o->console_socket, NULL);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int dirfd = -1;
	const char *path = abs ? abs : c->o->console_socket;
	if (strlen(path) >= sizeof sa.sun_path) {
		/* Long paths: connect through the directory's fd. */
		_cleanup_free_ char *dir = strdup(path);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (!slash)
			return berr_set(e, ENAMETOOLONG, "console socket %s", path);
		*slash = '\0';
		dirfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, slash + 1);
	} else {
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	}
	if (connect(c->console_sock, (struct sockaddr *)&sa, sizeof sa) < 0)
		return berr_sys(e, "connecting to the console socket %s", c->o->console_socket);
	return 0;
}

static int state_init(struct create_ctx *c, berr *e)
{
	char created[64];
	oci_now_rfc3339(created, sizeof created);
	c->st.id = strdup(c->o->id);
	c->st.bundle = strdup(c->bundle);
	c->st.rootfs = strdup(c->rootfs);
	c->st.created = strdup(created);
	c->st.owner = strdup("");
	c->st.cgroup_path = strdup(oci_cgroup_path(c->cg));
	size_t n = b_strv_len(c->spec->annotations);
	c->st.annotations = calloc(n + 1, sizeof(char *));
	if (!c->st.id || !c->st.bundle || !c->st.rootfs || !c->st.created || !c->st.owner || !c->st.cgroup_path ||
	    !c->st.annotations)
		return berr_set(e, ENOMEM, "container state");
	for (size_t i = 0; i < n; i++)
		if (!(c->st.annotations[i] = strdup(c->spec->annotations[i])))
			return berr_set(e, ENOMEM, "container state");
	return 0;
}

static int run_parent_hooks(struct create_ctx *c, berr *e)
{
	_cleanup_free_ char *creating = oci_state_to_json(&c->st, OCI_STATUS_CREATING, false);
	if (!creating)
		return berr_set(e, ENOMEM, "state for hooks");
	const struct oci_hooks *h = &c->spec->hooks;
	if (oci_hooks_run(h->prestart, h->n_prestart, "prestart", creating, e) < 0 ||
	    oci_hooks_run(h->create_runtime, h->n_create_runtime, "createRuntime", creating, e) < 0)
		return -1;
	return 0;
}

/*
 * When the init fails early, our next send or receive may see EPIPE or
 * ECONNRESET before the error message it queued: fetch that message instead.
 */
static int init_error(struct create_ctx *c, berr *e)
{
	if (!e || (e->errnum != EPIPE && e->errnum != ECONNRESET))
		return -1;
	enum oci_sync_type t;
	_cleanup_free_ char *text = NULL;
	for (int tries = 0; tries < 4; tries++) {
		if (oci_sync_recv(c->sync_parent, &t, &text, NULL, NULL) < 0)
			return -1;
		if (t == OCI_SYNC_ERROR)
			return berr_set(e, 0, "%s", text);
		free(text);
		text = NULL;
	}
	return -1;
}

static int parent_setup_steps(struct create_ctx *c, int *pty_master, berr *e);

/* Drive the init through its set-up; on return it waits for start. */
static int parent_setup(struct create_ctx *c, int *pty_master, berr *e)
{
	if (parent_setup_steps(c, pty_master, e) < 0)
		return init_error(c, e);
	return 0;
}

static int parent_setup_steps(struct create_ctx *c, int *pty_master, berr *e)
{
	struct oci_linux *l = &c->spec->linux_;
	if (l->namespaces[OCI_NS_USER].present && !l->namespaces[OCI_NS_USER].path) {
		if (oci_sync_expect(c->sync_parent, OCI_SYNC_USERMAP, NULL, NULL, e) < 0)
			return -1;
		if (write_id_map(c->pid, "uid_map", l->uid_mappings, l->n_uid_mappings, e) < 0 ||
		    write_id_map(c->pid, "gid_map", l->gid_mappings, l->n_gid_mappings, e) < 0)
			return berr_wrap(e, "user namespace");
	}
	c->st.pid = c->pid;
	c->st.pid_start_time = oci_pid_start_time(c->pid);
	if (oci_sync_send(c->sync_parent, OCI_SYNC_GO, NULL, -1, e) < 0)
		return -1;
	/* The init prepares its mounts meanwhile (see enter_cgroup_namespace). */
	if (oci_cgroup_enter(c->cg, c->pid, e) < 0 || oci_sync_send(c->sync_parent, OCI_SYNC_CGROUP, NULL, -1, e) < 0)
		return -1;
	for (;;) {
		enum oci_sync_type t;
		_cleanup_free_ char *text = NULL;
		int fd = -1;
		if (oci_sync_recv(c->sync_parent, &t, &text, &fd, e) < 0)
			return -1;
		switch (t) {
		case OCI_SYNC_HOOKS: {
			if (run_parent_hooks(c, e) < 0)
				return -1;
			_cleanup_free_ char *created = oci_state_to_json(&c->st, OCI_STATUS_CREATED, false);
			if (oci_sync_send(c->sync_parent, OCI_SYNC_STATE, created, -1, e) < 0)
				return -1;
			break;
		}
		case OCI_SYNC_PID: {
			/* Staged start: the process we cloned forked the init and exits. */
			pid_t init = (pid_t)atoi(text ? text : "0");
			if (init <= 0)
				return berr_set(e, EPROTO, "bad init pid from the container set-up");
			waitpid(c->pid, NULL, 0);
			c->pid = init;
			c->st.pid = init;
			c->st.pid_start_time = oci_pid_start_time(init);
			break;
		}
		case OCI_SYNC_PTY:
			if (pty_master)
				*pty_master = fd;
			else if (fd >= 0)
				close(fd);
			break;
		case OCI_SYNC_READY: return 0;
		case OCI_SYNC_ERROR: return berr_set(e, 0, "%s", text);
		default: return berr_set(e, EPROTO, "unexpected message %d from the container init", t);
		}
	}
}

static void ctx_free(struct create_ctx *c)
{
	oci_spec_free(c->spec);
	free(c->bundle);
	free(c->rootfs);
	free(c->state_dir);
	if (c->state_dirfd >= 0)
		close(c->state_dirfd);
	oci_cgroup_free(c->cg);
	oci_seccomp_filter_free(c->seccomp);
	for (int i = 0; i < OCI_NS_COUNT; i++)
		if (c->ns_fds[i] >= 0)
			close(c->ns_fds[i]);
	if (c->sync_parent >= 0)
		close(c->sync_parent);
	if (c->sync_child >= 0)
		close(c->sync_child);
	if (c->start_listen >= 0)
		close(c->start_listen);
	if (c->console_sock >= 0)
		close(c->console_sock);
	if (c->listener_sock >= 0)
		close(c->listener_sock);
	oci_state_free(&c->st);
}

/* Undo a failed create: the init, its cgroup, the state directory. */
static void create_rollback(struct create_ctx *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->cg) {
		oci_cgroup_kill_all(c->cg, SIGKILL, NULL);
		oci_cgroup_destroy(c->cg, NULL);
	}
	if (c->state_dir)
		b_remove_tree(c->state_dir, NULL);
}

static int do_create(struct create_ctx *c, const struct oci_create_opts *o, bool started_by_us, int *pty_master,
		     berr *e)
{
	memset(c, 0, sizeof *c);
	c->o = o;
	c->state_dirfd = c->sync_parent = c->sync_child = c->start_listen = c->console_sock = c->listener_sock = -1;
	for (int i = 0; i < OCI_NS_COUNT; i++)
		c->ns_fds[i] = -1;
	c->waits_for_start_socket = !started_by_us;

	if (oci_id_validate(o->id, e) < 0)
		return -1;
	const char *bundle = o->bundle ? o->bundle : ".";
	c->bundle = realpath(bundle, NULL);
	if (!c->bundle)
		return berr_sys(e, "bundle %s", bundle);
	if (chdir(c->bundle) < 0)
		return berr_sys(e, "entering bundle %s", c->bundle);
	if (oci_spec_load("config.json", &c->spec, e) < 0)
		return berr_wrap(e, "bundle %s", c->bundle);
	if (!c->spec->has_process)
		return berr_invalid(e, "config.json: process: required to create a container");
	c->rootfs = realpath(c->spec->root_path, NULL);
	if (!c->rootfs)
		return berr_sys(e, "root.path %s", c->spec->root_path);
	if (oci_spec_validate_for_create(c->spec, e) < 0 || open_namespaces(c, e) < 0)
		return -1;
	oci_seccomp_cache_use_root(o->root);
	if (c->spec->linux_.seccomp && oci_seccomp_prepare(c->spec->linux_.seccomp, &c->seccomp, e) < 0)
		return -1;

	if (b_mkdir_p(o->root, 0700, e) < 0)
		return -1;
	if (oci_state_dir(o->root, o->id, &c->state_dir, e) < 0)
		return -1;
	if (mkdir(c->state_dir, 0700) < 0) {
		int err = errno;
		free(c->state_dir);
		c->state_dir = NULL; /* not ours: never roll it back */
		if (err == EEXIST)
			return berr_set(e, EEXIST, "container with id exists: %s", o->id);
		return berr_set(e, err, "creating state directory for %s", o->id);
	}
	c->state_dirfd = open(c->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->state_dirfd < 0)
		return berr_sys(e, "opening %s", c->state_dir);
	/* Keep the config as created: exec and delete read it, even if the bundle changes. */
	_cleanup_free_ char *cfg = NULL;
	size_t cfg_len = 0;
	_cleanup_free_ char *copy = NULL;
	if (b_read_file("config.json", &cfg, &cfg_len, e) < 0 ||
	    asprintf(&copy, "%s/" OCI_CONFIG_COPY, c->state_dir) < 0 || b_write_file(copy, cfg, cfg_len, 0600, e) < 0)
		return -1;

	struct oci_resources res = c->spec->linux_.resources;
	_cleanup_free_ struct oci_device_cgroup *rules = NULL;
	if (oci_devices_effective_rules(c->spec, &rules, &res.n_devices, e) < 0)
		return -1;
	res.devices = rules;
	if (oci_cgroup_open(c->spec->linux_.cgroups_path, o->id, true, &res, &c->cg, e) < 0)
		return berr_wrap(e, "cgroup");
	if (state_init(c, e) < 0)
		return -1;
	if (c->waits_for_start_socket && listen_for_start(c, e) < 0)
		return -1;
	if (connect_console(c, e) < 0)
		return -1;
	const struct oci_seccomp *sc = c->spec->linux_.seccomp;
	if (sc && sc->listener_path && (c->listener_sock = oci_seccomp_listener_connect(sc->listener_path, e)) < 0)
		return -1;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return berr_sys(e, "creating the sync socket");
	c->sync_parent = sp[0];
	c->sync_child = sp[1];

	c->staged = needs_staging(&c->spec->linux_);
	unsigned long flags = c->staged ? 0 : new_namespace_flags(&c->spec->linux_, CLONE_NEWCGROUP);
	/* A staged run's init is a grandchild: have it come back to us when its parent exits. */
	if (c->staged && started_by_us && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return berr_sys(e, "becoming a subreaper");
	c->pid = oci_clone(flags, c->ns_fds[OCI_NS_PID], e);
	if (c->pid < 0)
		return -1;
	if (c->pid == 0)
		child_main(c);
	close(c->sync_child);
	c->sync_child = -1;
	if (c->start_listen >= 0) {
		close(c->start_listen);
		c->start_listen = -1;
	}
	if (parent_setup(c, pty_master, e) < 0)
		return -1;
	if (oci_state_save(c->state_dir, &c->st, e) < 0)
		return -1;
	if (o->pid_file && oci_write_pid_file(o->pid_file, c->pid, e) < 0)
		return -1;
	return 0;
}

int oci_container_create(const struct oci_create_opts *o, berr *e)
{
	struct create_ctx c;
	int r = do_create(&c, o, false, NULL, e);
	if (r < 0)
		create_rollback(&c);
	ctx_free(&c);
	return r;
}

/* Tell our own init to go and wait until it has exec'd (the sync socket closes on exec). */
static int start_own_init(struct create_ctx *c, berr *e)
{
	if (oci_sync_send(c->sync_parent, OCI_SYNC_START, NULL, -1, e) < 0)
		return -1;
	enum oci_sync_type t;
	_cleanup_free_ char *text = NULL;
	berr eof = {0};
	if (oci_sync_recv(c->sync_parent, &t, &text, NULL, &eof) < 0) {
		berr_clear(&eof);
		return 0; /* closed on exec: started */
	}
	if (t == OCI_SYNC_ERROR)
		return berr_set(e, 0, "%s", text);
	return berr_set(e, EPROTO, "unexpected message %d from the container init", t);
}

int oci_container_run_child(const struct oci_create_opts *o, pid_t *pid, int *pty_master, berr *e)
{
	struct create_ctx c;
	*pty_master = -1;
	if (do_create(&c, o, true, pty_master, e) < 0 || start_own_init(&c, e) < 0) {
		create_rollback(&c);
		ctx_free(&c);
		if (*pty_master >= 0)
			close(*pty_master);
		*pty_master = -1;
		return -1;
	}
	_cleanup_free_ char *running = oci_state_to_json(&c.st, OCI_STATUS_RUNNING, false);
	berr hook_err = {0};
	if (oci_hooks_run(c.spec->hooks.poststart, c.spec->hooks.n_poststart, "poststart", running, &hook_err) < 0)
		b_warn("%s", berr_msg(&hook_err));
	berr_clear(&hook_err);
	*pid = c.pid;
	c.pid = -1; /* the caller's now */
	ctx_free(&c);
	return 0;
}

int oci_container_run(const struct oci_create_opts *o, bool detach, int *exit_code, berr *e)
{
	struct create_ctx c;
	int pty_master = -1;
	*exit_code = 0;
	if (do_create(&c, o, true, &pty_master, e) < 0 || start_own_init(&c, e) < 0) {
		create_rollback(&c);
		ctx_free(&c);
		if (pty_master >= 0)
			close(pty_master);
		return -1;
	}
	_cleanup_free_ char *running = oci_state_to_json(&c.st, OCI_STATUS_RUNNING, false);
	berr hook_err = {0};
	if (oci_hooks_run(c.spec->hooks.poststart, c.spec->hooks.n_poststart, "poststart", running, &hook_err) < 0)
		b_warn("%s", berr_msg(&hook_err));
	berr_clear(&hook_err);
	if (detach) {
		if (pty_master >= 0)
			close(pty_master);
		ctx_free(&c);
		return 0;
	}
	int status = 0, r;
	if (pty_master >= 0) {
		r = oci_tty_proxy(pty_master, c.pid, &status, e);
		close(pty_master);
	} else {
		r = oci_wait_forwarding(c.pid, &status, e);
	}
	*exit_code = oci_exit_code(status);
	pid_t pid = c.pid;
	c.pid = -1; /* reaped */
	(void)pid;
	ctx_free(&c);
	berr de = {0};
	if (oci_container_delete(o->root, o->id, true, &de) < 0)
		b_warn("deleting %s after it exited: %s", o->id, berr_msg(&de));
	berr_clear(&de);
	return r;
}
