/* Messages between the runtime and the container's init over a SOCK_SEQPACKET pair. */
#pragma once
#include <stddef.h>

#include "../lib/err.h"

enum oci_sync_type {
	OCI_SYNC_GO = 1,  /* runtime -> init: set-up done on the runtime side, go on */
	OCI_SYNC_USERMAP, /* init -> runtime: new user namespace exists, write its id maps */
	OCI_SYNC_HOOKS,   /* init -> runtime: mounts done, run prestart/createRuntime hooks */
	OCI_SYNC_READY,   /* init -> runtime: waiting for start */
	OCI_SYNC_START,   /* runtime -> init: exec the process now */
	OCI_SYNC_ERROR,   /* either way: text is the error message */
	OCI_SYNC_STATE,   /* runtime -> init: text is the state JSON for in-container hooks */
	OCI_SYNC_PTY,     /* init -> runtime: the pty master travels as SCM_RIGHTS */
	OCI_SYNC_CGROUP,  /* runtime -> init: you are in your cgroup now */
	OCI_SYNC_PID,     /* init -> runtime: text is the pid of the real init (staged start) */
};

/* Send a message, with optional text and one optional fd (-1 for none). */
int oci_sync_send(int sock, enum oci_sync_type type, const char *text, int fd, berr *e);
/* Receive one message; *text (malloc'd, may be NULL) and *fd (-1 if none) when given. EOF is an error. */
int oci_sync_recv(int sock, enum oci_sync_type *type, char **text, int *fd, berr *e);
/* Receive and require a type; an OCI_SYNC_ERROR becomes the error, its text the message. */
int oci_sync_expect(int sock, enum oci_sync_type want, char **text, int *fd, berr *e);
/* Send an error as a message (best effort; used on the way out of the init). */
void oci_sync_send_error(int sock, const berr *err);

/* Send one fd over a connected unix socket (console socket protocol). */
int oci_send_fd(int sock, int fd, const char *name, berr *e);
