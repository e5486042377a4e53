/* A container's life as runc's verbs see it: create, start, run, state, kill, delete, pause, ps, exec. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "../lib/err.h"
#include "state.h"

struct oci_create_opts {
	const char *root; /* state root (--root) */
	const char *id;
	const char *bundle; /* directory with config.json; NULL = cwd */
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	bool no_pivot;
	bool no_new_keyring;
};

/* create: the init waits for `start`. */
int oci_container_create(const struct oci_create_opts *o, berr *e);
/* run: create and start; detach returns at once, otherwise waits and gives the exit code (128+sig if killed). */
int oci_container_run(const struct oci_create_opts *o, bool detach, int *exit_code, berr *e);
/*
 * run for a supervisor that waits itself: create and start; the init stays our child (or, when
 * namespaces are staged, comes back to us as a subreaper's orphan). *pid gets it; *pty_master the
 * terminal's master when process.terminal is set and there is no console socket, else -1.
 */
int oci_container_run_child(const struct oci_create_opts *o, pid_t *pid, int *pty_master, berr *e);
int oci_container_start(const char *root, const char *id, berr *e);
int oci_container_kill(const char *root, const char *id, int sig, bool all, berr *e);
int oci_container_delete(const char *root, const char *id, bool force, berr *e);
int oci_container_pause(const char *root, const char *id, bool pause, berr *e);
int oci_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, berr *e);

struct oci_exec_opts {
	const char *root;
	const char *id;
	const char *process_file; /* --process, or NULL to build from the fields below */
	char **args;
	char **env; /* added to the container's */
	const char *cwd;
	const char *user; /* "uid[:gid]" */
	char **caps;      /* added capabilities */
	char **additional_gids;
	bool tty;
	bool detach;
	bool no_new_privs;
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
};
int oci_container_exec(const struct oci_exec_opts *o, int *exit_code, berr *e);

/* The pty of a foreground run/exec without a console socket: copy between it and our stdio until pid exits. */
int oci_tty_proxy(int master, pid_t pid, int *status, berr *e);
/* Wait for our child pid, forwarding the usual signals to it; returns its wait status. */
int oci_wait_forwarding(pid_t pid, int *status, berr *e);
int oci_exit_code(int wait_status);
/* Write a pid file atomically, as runc does. */
int oci_write_pid_file(const char *path, pid_t pid, berr *e);
