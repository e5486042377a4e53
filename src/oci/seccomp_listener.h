/* Handing the seccomp notify fd to linux.seccomp.listenerPath (runtime-spec "ContainerProcessState"). */
#pragma once
#include "../lib/err.h"

/* Connect to the listener's unix socket (before pivot_root: the path is the host's). */
int oci_seccomp_listener_connect(const char *path, berr *e);
/* {"ociVersion","fds":["seccompFd"],"pid","metadata","state"} from a container state JSON. */
char *oci_seccomp_listener_message(const char *state_json, const char *metadata);
/* Send the message with the notify fd; closes nothing. */
int oci_seccomp_listener_send(int sock, const char *message, int notify_fd, berr *e);
