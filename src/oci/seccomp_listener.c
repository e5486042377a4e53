#include "seccomp_listener.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "state.h"
#include "sync.h"

int oci_seccomp_listener_connect(const char *path, berr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return berr_invalid(e, "linux.seccomp.listenerPath %s: path too long for a unix socket", path);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "linux.seccomp.listenerPath: socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		berr_sys(e, "linux.seccomp.listenerPath: connecting to %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

char *oci_seccomp_listener_message(const char *state_json, const char *metadata)
{
	json_t *state = json_loads(state_json, 0, NULL);
	if (!state)
		return NULL;
	json_t *pid = json_object_get(state, "pid");
	json_t *msg = json_pack("{s:s, s:[s], s:I, s:s, s:o}", "ociVersion", OCI_VERSION, "fds", "seccompFd", "pid",
				(json_int_t)(pid ? json_integer_value(pid) : 0), "metadata", metadata ? metadata : "",
				"state", state);
	if (!msg)
		return NULL;
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	return text;
}

int oci_seccomp_listener_send(int sock, const char *message, int notify_fd, berr *e)
{
	if (oci_send_fd(sock, notify_fd, message, e) < 0)
		return berr_wrap(e, "handing the seccomp notify fd to the listener");
	return 0;
}
