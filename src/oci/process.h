/* The last steps before a container process runs: credentials, limits, capabilities, seccomp, exec. */
#pragma once
#include <stdbool.h>

#include "../lib/err.h"
#include "seccomp.h"
#include "spec.h"

/* Find args[0] in the current root: a path with '/' as it is, else through the process's PATH. */
int oci_process_find_executable(const struct oci_process *p, char **path, berr *e);
/* chdir to process.cwd; the current root is the container's, so it resolves inside it. With create, a missing cwd is
 * made first (runc does). */
int oci_process_enter_cwd(const struct oci_process *p, bool create, berr *e);
/* What the last step needs besides the process itself. */
struct oci_exec_security {
	struct oci_seccomp_filter *seccomp; /* NULL: none */
	int listener_sock;                  /* connected to linux.seccomp.listenerPath, or -1 */
	const char *listener_message;       /* sent with the notify fd (oci_seccomp_listener_message) */
	const char *personality;            /* linux.personality.domain or NULL */
	int preserve_fds;
};

/*
 * Apply rlimits, oomScoreAdj, personality, umask, user and groups,
 * capabilities, no_new_privs and seccomp in the order the kernel needs, mark
 * every fd above 2 + preserve_fds close-on-exec, then execve. Returns only on
 * failure.
 */
int oci_process_exec(const struct oci_process *p, const char *exe_path, const struct oci_exec_security *sec, berr *e);
