/*
 * Raw HTTP/1.1 on a socket of our own, for the two requests a request/reply model does not fit: attach (the connection
 * is upgraded to a two-way byte stream, and we must half-close it when our stdin ends) and wait (sent before start,
 * read after the container is done).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/cleanup.h"
#include "lib/fd.h"

enum { HEAD_MAX = 64 * 1024 };

static int connect_unix(const char *path, berr *e)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int saved = errno;
		close(fd);
		return berr_plain(e, ECONNREFUSED, "connecting to unix://%s: %s", path, strerror(saved));
	}
	return fd;
}

int cli_conn_request(struct cli *c, const char *method, const char *path, const char *extra_headers,
		     const char *json_body, struct cli_conn *out, berr *e)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	int fd = connect_unix(c->sock_path, e);
	if (fd < 0)
		return -1;
	struct cli_buf req = {0};
	cli_buf_add(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth-cli/%s\r\n%s", method, path,
		    CLI_VERSION, extra_headers ? extra_headers : "");
	if (json_body)
		cli_buf_add(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(json_body),
			    json_body);
	else
		cli_buf_add(&req, "Content-Length: 0\r\n\r\n");
	if (b_write_all(fd, req.s, req.len) < 0) {
		cli_buf_free(&req);
		close(fd);
		return berr_sys(e, "sending %s %s", method, path);
	}
	cli_buf_free(&req);
	/* Read up to the blank line; whatever follows already belongs to the body or stream. */
	char *buf = malloc(HEAD_MAX + 1);
	size_t len = 0;
	char *end = NULL;
	if (!buf) {
		close(fd);
		return berr_set(e, ENOMEM, "reading a reply");
	}
	while (!end) {
		if (len == HEAD_MAX) {
			free(buf);
			close(fd);
			return berr_plain(e, EPROTO, "%s %s: reply headers too long", method, path);
		}
		ssize_t n = read(fd, buf + len, HEAD_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = n < 0 ? errno : 0;
			free(buf);
			close(fd);
			return berr_plain(e, EPROTO, "%s %s: connection closed before a reply%s%s", method, path,
					  saved ? ": " : "", saved ? strerror(saved) : "");
		}
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	size_t head_len = (size_t)(end - buf) + 4;
	out->fd = fd;
	out->status = strtol(strchr(buf, ' ') ? strchr(buf, ' ') + 1 : "0", NULL, 10);
	out->head = strndup(buf, head_len);
	out->extra_len = len - head_len;
	out->extra = malloc(out->extra_len + 1);
	if (!out->head || !out->extra) {
		free(buf);
		cli_conn_close(out);
		return berr_set(e, ENOMEM, "reading a reply");
	}
	memcpy(out->extra, buf + head_len, out->extra_len);
	free(buf);
	return 0;
}

char *cli_conn_header(const struct cli_conn *cn, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *line = strstr(cn->head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		const char *l = line + 2;
		if (strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
			const char *v = l + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *eol = strstr(v, "\r\n");
			return strndup(v, eol ? (size_t)(eol - v) : strlen(v));
		}
	}
	return NULL;
}

static int read_all(struct cli_conn *cn, struct cli_buf *raw, berr *e)
{
	if (cn->extra_len)
		cli_buf_add(raw, "%.*s", (int)cn->extra_len, cn->extra);
	char buf[16384];
	for (;;) {
		ssize_t n = read(cn->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "reading a reply");
		if (n == 0)
			return 0;
		cli_buf_add(raw, "%.*s", (int)n, buf);
	}
}

int cli_conn_read_body(struct cli_conn *cn, char **body, size_t *len, berr *e)
{
	struct cli_buf raw = {0};
	cli_buf_add(&raw, "%s", "");
	if (read_all(cn, &raw, e) < 0) {
		cli_buf_free(&raw);
		return -1;
	}
	_cleanup_free_ char *te = cli_conn_header(cn, "Transfer-Encoding");
	if (!te || strcasecmp(te, "chunked") != 0) {
		*body = raw.s;
		*len = raw.len;
		return 0;
	}
	/* Chunked: "<hex>\r\n<data>\r\n" ... "0\r\n\r\n". */
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	const char *p = raw.s, *end = raw.s + raw.len;
	while (p < end) {
		char *after;
		unsigned long n = strtoul(p, &after, 16);
		const char *data = strstr(after, "\r\n");
		if (!data || n == 0)
			break;
		data += 2;
		if ((size_t)(end - data) < n)
			n = (unsigned long)(end - data);
		cli_buf_add(&out, "%.*s", (int)n, data);
		p = data + n + 2;
	}
	cli_buf_free(&raw);
	*body = out.s;
	*len = out.len;
	return 0;
}

void cli_conn_close(struct cli_conn *cn)
{
	if (cn->fd >= 0)
		close(cn->fd);
	free(cn->head);
	free(cn->extra);
	memset(cn, 0, sizeof *cn);
	cn->fd = -1;
}
