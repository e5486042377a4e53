#include "sync.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../lib/cleanup.h"

#define SYNC_MAX (64 * 1024)

int oci_sync_send(int sock, enum oci_sync_type type, const char *text, int fd, berr *e)
{
	uint32_t t = (uint32_t)type;
	struct iovec iov[2] = {{&t, sizeof t}, {(void *)(text ? text : ""), text ? strlen(text) : 0}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	if (fd >= 0) {
		memset(&u, 0, sizeof u);
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berr_sys(e, "sending to the container init");
	return 0;
}

int oci_sync_recv(int sock, enum oci_sync_type *type, char **text, int *fd, berr *e)
{
	_cleanup_free_ char *buf = malloc(SYNC_MAX + 1);
	if (!buf)
		return berr_set(e, ENOMEM, "receiving from the container init");
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, SYNC_MAX};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berr_sys(e, "receiving from the container init");
	if (n < (ssize_t)sizeof(uint32_t))
		return berr_set(e, EPIPE, "the container init exited before it was ready");
	uint32_t t;
	memcpy(&t, buf, sizeof t);
	*type = (enum oci_sync_type)t;
	int got_fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&got_fd, CMSG_DATA(c), sizeof got_fd);
	if (fd)
		*fd = got_fd;
	else if (got_fd >= 0)
		close(got_fd);
	if (text) {
		size_t len = (size_t)n - sizeof t;
		memmove(buf, buf + sizeof t, len);
		buf[len] = '\0';
		*text = steal_ptr(buf);
	}
	return 0;
}

int oci_sync_expect(int sock, enum oci_sync_type want, char **text, int *fd, berr *e)
{
	enum oci_sync_type got;
	_cleanup_free_ char *t = NULL;
	int f = -1;
	if (oci_sync_recv(sock, &got, &t, &f, e) < 0)
		return -1;
	if (got == OCI_SYNC_ERROR) {
		if (f >= 0)
			close(f);
		return berr_set(e, 0, "%s", t && *t ? t : "the container init failed");
	}
	if (got != want) {
		if (f >= 0)
			close(f);
		return berr_set(e, EPROTO, "unexpected message %d from the container init (wanted %d)", got, want);
	}
	if (fd)
		*fd = f;
	else if (f >= 0)
		close(f);
	if (text)
		*text = steal_ptr(t);
	return 0;
}

void oci_sync_send_error(int sock, const berr *err)
{
	oci_sync_send(sock, OCI_SYNC_ERROR, berr_msg(err), -1, NULL);
}

int oci_send_fd(int sock, int fd, const char *name, berr *e)
{
	struct iovec iov = {(void *)name, strlen(name)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return berr_sys(e, "sending the terminal to the console socket");
	return 0;
}
