/* exec: a new process inside a running container's namespaces, cgroup and security settings. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fd.h"
#include "../lib/fs.h"
#include "../lib/log.h"
#include "../lib/json.h"
#include "caps.h"
#include "cgroup.h"
#include "clone.h"
#include "process.h"
#include "seccomp.h"
#include "seccomp_cache.h"
#include "seccomp_listener.h"
#include "spec.h"
#include "sync.h"

static int strv_append(char ***v, const char *s)
{
	size_t n = b_strv_len(*v);
	char **g = realloc(*v, (n + 2) * sizeof *g);
	if (!g)
		return -1;
	g[n] = strdup(s);
	g[n + 1] = NULL;
	*v = g;
	return g[n] ? 0 : -1;
}

/* Replace K=V in env when K is there, else append. */
static int env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (char **p = *env; p && *p; p++) {
		if (!strncmp(*p, kv, klen) && (*p)[klen] == '=') {
			char *d = strdup(kv);
			if (!d)
				return -1;
			free(*p);
			*p = d;
			return 0;
		}
	}
	return strv_append(env, kv);
}

/* Build the process to run from --process or from the container's own plus the flags. */
static int build_process(const struct oci_exec_opts *o, struct oci_spec *spec, struct oci_process *out, berr *e)
{
	if (o->process_file) {
		_cleanup_free_ char *text = NULL;
		if (b_read_file(o->process_file, &text, NULL, e) < 0)
			return -1;
		if (oci_process_parse(text, out, e) < 0)
			return berr_wrap(e, "--process %s", o->process_file);
		return 0;
	}
	*out = spec->process;
	memset(&spec->process, 0, sizeof spec->process); /* moved */
	if (!o->args || !o->args[0])
		return berr_invalid(e, "exec: no command given");
	b_strv_free(out->args);
	out->args = NULL;
	for (char **a = o->args; *a; a++)
		if (strv_append(&out->args, *a) < 0)
			return berr_set(e, ENOMEM, "exec");
	for (char **v = o->env; v && *v; v++)
		if (env_set(&out->env, *v) < 0)
			return berr_set(e, ENOMEM, "exec");
	if (o->cwd) {
		free(out->cwd);
		out->cwd = strdup(o->cwd);
	}
	if (o->user) {
		char *end;
		errno = 0;
		unsigned long uid = strtoul(o->user, &end, 10);
		if (errno || end == o->user || (*end && *end != ':'))
			return berr_invalid(e, "--user %s: expected uid[:gid]", o->user);
		out->user.uid = (uid_t)uid;
		if (*end == ':') {
			const char *g = end + 1;
			unsigned long gid = strtoul(g, &end, 10);
			if (end == g || *end)
				return berr_invalid(e, "--user %s: expected uid[:gid]", o->user);
			out->user.gid = (gid_t)gid;
		}
	}
	for (char **g = o->additional_gids; g && *g; g++) {
		gid_t *n = realloc(out->user.additional_gids, (out->user.n_additional_gids + 1) * sizeof *n);
		if (!n)
			return berr_set(e, ENOMEM, "exec");
		n[out->user.n_additional_gids++] = (gid_t)strtoul(*g, NULL, 10);
		out->user.additional_gids = n;
	}
	for (char **c = o->caps; c && *c; c++) {
		int cap = oci_cap_from_name(*c);
		if (cap < 0)
			return berr_invalid(e, "--cap %s: unknown capability", *c);
		uint64_t bit = 1ULL << cap;
		out->has_capabilities = true;
		out->capabilities.bounding |= bit;
		out->capabilities.effective |= bit;
		out->capabilities.permitted |= bit;
		out->capabilities.inheritable |= bit;
	}
	out->terminal = o->tty;
	if (o->no_new_privs)
		out->no_new_privileges = true;
	return 0;
}

struct exec_ctx {
	struct oci_process proc;
	struct oci_seccomp_filter *seccomp;
	int ns_fds[OCI_NS_COUNT];
	int sync_parent, sync_child;
	int console_sock;
	int listener_sock;
	char *listener_msg;
	int preserve_fds;
	const char *personality;
};

static int open_container_namespaces(const struct oci_spec *spec, pid_t pid, int fds[OCI_NS_COUNT], berr *e)
{
	for (int t = 0; t < OCI_NS_COUNT; t++) {
		fds[t] = -1;
		if (!spec->linux_.namespaces[t].present)
			continue;
		char path[64], self[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, oci_ns_proc_name(t));
		snprintf(self, sizeof self, "/proc/self/ns/%s", oci_ns_proc_name(t));
		struct stat a, b;
		if (stat(path, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue; /* already ours (setns into our own user namespace would fail) */
		fds[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[t] < 0)
			return berr_sys(e, "opening %s", path);
	}
	return 0;
}

static int exec_terminal(struct exec_ctx *x, berr *e)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return berr_sys(e, "opening /dev/ptmx in the container");
	char name[PATH_MAX];
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
		return berr_sys(e, "setting up the pty");
	_cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return berr_sys(e, "opening %s", name);
	if (x->proc.has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)x->proc.console_size.height,
				     .ws_col = (unsigned short)x->proc.console_size.width};
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (x->console_sock >= 0) {
		if (oci_send_fd(x->console_sock, master, "/dev/ptmx", e) < 0)
			return -1;
	} else if (oci_sync_send(x->sync_child, OCI_SYNC_PTY, NULL, master, e) < 0) {
		return -1;
	}
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		return berr_sys(e, "making %s the controlling terminal", name);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return berr_sys(e, "dup2 of the terminal");
	return 0;
}

static int exec_child(struct exec_ctx *x, berr *e)
{
	if (oci_sync_expect(x->sync_child, OCI_SYNC_GO, NULL, NULL, e) < 0)
		return -1;
	static const enum oci_ns_type order[] = {OCI_NS_USER,   OCI_NS_IPC,  OCI_NS_UTS,  OCI_NS_NETWORK,
						 OCI_NS_CGROUP, OCI_NS_TIME, OCI_NS_MOUNT};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum oci_ns_type t = order[i];
		if (x->ns_fds[t] >= 0 && setns(x->ns_fds[t], oci_ns_clone_flag(t)) < 0)
			return berr_sys(e, "joining the container's %s namespace", oci_ns_name(t));
	}
	if (x->ns_fds[OCI_NS_USER] >= 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return berr_sys(e, "becoming root in the container's user namespace");
	if (x->proc.terminal && exec_terminal(x, e) < 0)
		return -1;
	{
		int keep[] = {x->sync_child, x->console_sock, x->listener_sock, b_log_fd()};
		b_close_fds_except(3 + x->preserve_fds, keep, ARRAY_SIZE(keep));
		for (int t = 0; t < OCI_NS_COUNT; t++)
			x->ns_fds[t] = -1;
	}
	if (oci_process_enter_cwd(&x->proc, false, e) < 0)
		return -1;
	_cleanup_free_ char *exe = NULL;
	if (oci_process_find_executable(&x->proc, &exe, e) < 0)
		return -1;
	/* The process outlives `exec -d`: only the set-up dies with the runtime. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	struct oci_exec_security sec = {x->seccomp, x->listener_sock, x->listener_msg, x->personality, x->preserve_fds};
	return oci_process_exec(&x->proc, exe, &sec, e);
}

static int connect_socket(const char *path, berr *e)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "console socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		close(fd);
		return berr_set(e, ENAMETOOLONG, "console socket %s", path);
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		berr_sys(e, "connecting to the console socket %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int oci_container_exec(const struct oci_exec_opts *o, int *exit_code, berr *e)
{
	*exit_code = 0;
	struct oci_state st;
	if (oci_state_load(o->root, o->id, &st, e) < 0)
		return -1;
	struct oci_spec *spec = NULL;
	struct oci_cgroup *cg = NULL;
	struct exec_ctx x = {.sync_parent = -1,
			     .sync_child = -1,
			     .console_sock = -1,
			     .listener_sock = -1,
			     .preserve_fds = o->preserve_fds};
	for (int i = 0; i < OCI_NS_COUNT; i++)
		x.ns_fds[i] = -1;
	int r = -1, pty = -1, wstatus = 0;
	int sp[2];
	pid_t pid = -1;
	_cleanup_free_ char *cfg = NULL;

	enum oci_status status = oci_state_status(o->root, &st);
	if (status == OCI_STATUS_STOPPED || status == OCI_STATUS_PAUSED) {
		berr_invalid(e, "cannot exec in a %s container", oci_status_name(status));
		goto out;
	}
	if (asprintf(&cfg, "%s/%s/" OCI_CONFIG_COPY, o->root, o->id) < 0 || oci_spec_load(cfg, &spec, e) < 0)
		goto out;
	if (build_process(o, spec, &x.proc, e) < 0)
		goto out;
	x.personality = spec->linux_.personality_domain;
	oci_seccomp_cache_use_root(o->root);
	if (spec->linux_.seccomp && oci_seccomp_prepare(spec->linux_.seccomp, &x.seccomp, e) < 0)
		goto out;
	if (open_container_namespaces(spec, st.pid, x.ns_fds, e) < 0)
		goto out;
	if (spec->linux_.seccomp && spec->linux_.seccomp->listener_path) {
		_cleanup_free_ char *state_json = oci_state_to_json(&st, status, false);
		x.listener_msg = state_json
				     ? oci_seccomp_listener_message(state_json, spec->linux_.seccomp->listener_metadata)
				     : NULL;
		if ((x.listener_sock = oci_seccomp_listener_connect(spec->linux_.seccomp->listener_path, e)) < 0)
			goto out;
	}
	if (oci_cgroup_open(st.cgroup_path, o->id, false, NULL, &cg, e) < 0)
		goto out;
	if (x.proc.terminal) {
		if (o->console_socket) {
			if ((x.console_sock = connect_socket(o->console_socket, e)) < 0)
				goto out;
		} else if (o->detach) {
			berr_invalid(e,
				     "cannot allocate tty if the runtime will detach without setting console socket");
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		berr_sys(e, "creating the sync socket");
		goto out;
	}
	x.sync_parent = sp[0];
	x.sync_child = sp[1];
	pid = oci_clone(0, x.ns_fds[OCI_NS_PID], e);
	if (pid < 0)
		goto out;
	if (pid == 0) {
		berr ce = {0};
		close(x.sync_parent);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		exec_child(&x, &ce);
		oci_sync_send_error(x.sync_child, &ce);
		_exit(127);
	}
	close(x.sync_child);
	x.sync_child = -1;
	if (oci_cgroup_enter(cg, pid, e) < 0 || oci_sync_send(x.sync_parent, OCI_SYNC_GO, NULL, -1, e) < 0)
		goto fail_child;
	/* Until exec: maybe the pty, then EOF (exec done) or an error. */
	for (;;) {
		enum oci_sync_type t;
		_cleanup_free_ char *text = NULL;
		int fd = -1;
		berr eof = {0};
		if (oci_sync_recv(x.sync_parent, &t, &text, &fd, &eof) < 0) {
			berr_clear(&eof);
			break;
		}
		if (t == OCI_SYNC_PTY) {
			pty = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		berr_set(e, 0, "%s", t == OCI_SYNC_ERROR ? text : "unexpected message from the exec process");
		goto fail_child;
	}
	if (o->pid_file && oci_write_pid_file(o->pid_file, pid, e) < 0)
		goto fail_child;
	if (o->detach) {
		r = 0;
		goto out;
	}
	r = pty >= 0 ? oci_tty_proxy(pty, pid, &wstatus, e) : oci_wait_forwarding(pid, &wstatus, e);
	*exit_code = oci_exit_code(wstatus);
	goto out;

fail_child:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	if (pty >= 0)
		close(pty);
	oci_process_free(&x.proc);
	oci_seccomp_filter_free(x.seccomp);
	for (int i = 0; i < OCI_NS_COUNT; i++)
		if (x.ns_fds[i] >= 0)
			close(x.ns_fds[i]);
	if (x.sync_parent >= 0)
		close(x.sync_parent);
	if (x.console_sock >= 0)
		close(x.console_sock);
	if (x.listener_sock >= 0)
		close(x.listener_sock);
	free(x.listener_msg);
	oci_cgroup_free(cg);
	oci_spec_free(spec);
	oci_state_free(&st);
	return r;
}
