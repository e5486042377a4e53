#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fd.h"
#include "../lib/fs.h"
#include "../lib/json.h"
#include "caps.h"
#include "seccomp_listener.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int oci_process_find_executable(const struct oci_process *p, char **path, berr *e)
{
	const char *name = p->args[0];
	if (strchr(name, '/')) {
		struct stat st;
		if (stat(name, &st) < 0)
			return berr_sys(e, "exec: \"%s\"", name);
		if (S_ISDIR(st.st_mode))
			return berr_set(e, EACCES, "exec: \"%s\": is a directory", name);
		if (access(name, X_OK) < 0)
			return berr_sys(e, "exec: \"%s\"", name);
		*path = strdup(name);
		return *path ? 0 : berr_set(e, ENOMEM, "exec: \"%s\"", name);
	}
	const char *search = env_get(p->env, "PATH");
	if (!search)
		search = DEFAULT_PATH;
	_cleanup_free_ char *copy = strdup(search);
	if (!copy)
		return berr_set(e, ENOMEM, "exec: \"%s\"", name);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = NULL;
		if (asprintf(&cand, "%s/%s", *dir ? dir : ".", name) < 0)
			return berr_set(e, ENOMEM, "exec: \"%s\"", name);
		if (is_executable_file(cand)) {
			*path = steal_ptr(cand);
			return 0;
		}
	}
	return berr_set(e, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

int oci_process_enter_cwd(const struct oci_process *p, bool create, berr *e)
{
	if (create && access(p->cwd, F_OK) < 0 && errno == ENOENT) {
		_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int made = root < 0 ? -1 : b_mkpath_in_root(root, p->cwd, 0755, false, e);
		if (made < 0)
			return berr_wrap(e, "process.cwd");
	}
	if (chdir(p->cwd) < 0)
		return berr_sys(e, "process.cwd %s", p->cwd);
	/* A cwd reached through a leaked outside reference reads back as "(unreachable)" (glibc: ENOENT). */
	_cleanup_free_ char *buf = getcwd(NULL, 0);
	if (!buf && errno != ENAMETOOLONG)
		return berr_invalid(e, "process.cwd %s: resolves outside the container", p->cwd);
	return 0;
}

static int apply_rlimits(const struct oci_process *p, berr *e)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return berr_sys(e, "setting %s to %llu/%llu", p->rlimits[i].type,
					(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	}
	return 0;
}

static int apply_oom_score_adj(const struct oci_process *p, berr *e)
{
	if (!p->has_oom_score_adj)
		return 0;
	char v[16];
	snprintf(v, sizeof v, "%d", p->oom_score_adj);
	if (b_write_knob("/proc/self/oom_score_adj", v, e) < 0)
		return berr_wrap(e, "process.oomScoreAdj");
	return 0;
}

static int apply_user(const struct oci_process *p, berr *e)
{
	const struct oci_user *u = &p->user;
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0 && !(errno == EPERM && !u->n_additional_gids))
		return berr_sys(e, "setting additional groups of the process");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return berr_sys(e, "setting gid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return berr_sys(e, "setting uid %u", (unsigned)u->uid);
	return 0;
}

/* HOME from the container's /etc/passwd when the config does not set it, as runc does. */
static char **env_with_home(const struct oci_process *p)
{
	if (env_get(p->env, "HOME"))
		return NULL;
	const char *home = "/";
	_cleanup_free_ char *passwd = NULL;
	_cleanup_free_ char *found = NULL;
	if (b_read_file("/etc/passwd", &passwd, NULL, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(passwd, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *f[7] = {0};
			int n = 0;
			for (char *s = line; n < 7; n++) {
				f[n] = s;
				s = strchr(s, ':');
				if (!s)
					break;
				*s++ = '\0';
			}
			if (n >= 5 && f[2] && (uid_t)strtoul(f[2], NULL, 10) == p->user.uid && f[5] && *f[5]) {
				found = strdup(f[5]);
				break;
			}
		}
	}
	if (found)
		home = found;
	size_t n = b_strv_len(p->env);
	char **env = calloc(n + 2, sizeof *env);
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		env[i] = p->env[i];
	if (asprintf(&env[n], "HOME=%s", home) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static int load_seccomp(const struct oci_exec_security *sec, berr *e)
{
	int notify_fd = -1;
	if (oci_seccomp_load(sec->seccomp, &notify_fd, e) < 0)
		return berr_wrap(e, "loading the seccomp filter");
	if (notify_fd < 0)
		return 0;
	int r = 0;
	if (sec->listener_sock < 0)
		r = berr_invalid(e, "linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
	else
		r = oci_seccomp_listener_send(sec->listener_sock, sec->listener_message ? sec->listener_message : "{}",
					      notify_fd, e);
	close(notify_fd);
	return r;
}

int oci_process_exec(const struct oci_process *p, const char *exe_path, const struct oci_exec_security *sec, berr *e)
{
	struct oci_seccomp_filter *seccomp = sec->seccomp;
	const char *personality_domain = sec->personality;
	int preserve_fds = sec->preserve_fds;
	if (apply_rlimits(p, e) < 0 || apply_oom_score_adj(p, e) < 0)
		return -1;
	if (personality_domain && !strcmp(personality_domain, "LINUX32") && personality(PER_LINUX32) < 0)
		return berr_sys(e, "setting personality LINUX32");
	if (p->user.has_umask)
		umask(p->user.umask);
	else
		umask(022);
	char **env = env_with_home(p);
	/* Nothing of ours may reach the container; done before seccomp, which may not allow it. */
	if (b_cloexec_from(3 + preserve_fds) < 0)
		return berr_sys(e, "marking descriptors close-on-exec");
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we still hold it. */
	if (seccomp && !p->no_new_privileges && load_seccomp(sec, e) < 0)
		return -1;
	if (p->has_capabilities) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return berr_sys(e, "prctl(PR_SET_KEEPCAPS)");
		if (oci_caps_drop_bounding(&p->capabilities, e) < 0)
			return -1;
	}
	if (apply_user(p, e) < 0)
		return -1;
	if (p->has_capabilities) {
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			return berr_sys(e, "prctl(PR_SET_KEEPCAPS)");
		if (oci_caps_apply(&p->capabilities, e) < 0)
			return -1;
	}
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return berr_sys(e, "setting no_new_privs");
	if (seccomp && p->no_new_privileges && load_seccomp(sec, e) < 0)
		return -1;
	execve(exe_path, p->args, env ? env : p->env);
	return berr_sys(e, "exec: \"%s\"", p->args[0]);
}
