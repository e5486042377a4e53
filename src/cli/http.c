/*
 * Requests to berthd: HTTP/1.1 on its unix socket, a connection for each, written here (a few
 * hundred lines) rather than through libcurl, whose dependencies cost more to load than the
 * whole request takes (bench/cli).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli_internal.h"

#define DEFAULT_HOST "unix:///run/berth/berth.sock"

int cli_host_resolve(struct cli *c, const char *flag_host, berr *e)
{
	const char *host = flag_host;
	if (!host || !*host)
		host = getenv("BERTH_HOST");
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host) {
		host = DEFAULT_HOST;
		c->default_host = true;
	}
	if (strncmp(host, "unix://", 7) != 0 || !host[7])
		return berr_invalid(e, "host %s: only unix:// sockets are supported", host);
	if (strlen(host + 7) >= 108)
		return berr_invalid(e, "host %s: the socket path is longer than a unix socket allows", host);
	if (!(c->host = strdup(host)) || !(c->sock_path = strdup(host + 7)))
		return berr_set(e, ENOMEM, "host");
	return 0;
}

/* ---------- growing strings ---------- */

void cli_buf_add(struct cli_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort(); /* out of memory in a short-lived client */
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 64);
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			abort();
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, (size_t)n + 1);
	b->len += (size_t)n;
	free(s);
}

char *cli_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1);
	if (!out)
		abort();
	char *p = out;
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-' ||
		    *q == '_' || *q == '.' || *q == '~') {
			*p++ = (char)*q;
		} else {
			*p++ = '%';
			*p++ = hex[*q >> 4];
			*p++ = hex[*q & 15];
		}
	}
	*p = '\0';
	return out;
}

void cli_buf_query(struct cli_buf *b, const char *key, const char *value)
{
	char *v = cli_escape(value);
	cli_buf_add(b, "%c%s=%s", b->s && strchr(b->s, '?') ? '&' : '?', key, v);
	free(v);
}

void cli_buf_free(struct cli_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

/* ---------- requests: HTTP/1.1 over the unix socket, one connection each ---------- */

struct collect {
	char *buf;
	size_t len, cap;
};

static int collect_add(struct collect *c, const char *data, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + n + 1)
			cap *= 2;
		char *nb = realloc(c->buf, cap);
		if (!nb)
			return -1;
		c->buf = nb;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, data, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return 0;
}

/* The reply's body as it arrives: to the sink (2xx), else collected for its error message. */
struct reply {
	const struct cli_stream_req *req;
	long status;
	struct collect err;
	int sink_failed;
	/* chunked transfer: the size line being read, the data left in the chunk, its CRLF */
	bool chunked, done;
	char line[32];
	size_t line_len;
	unsigned long long left; /* chunk or Content-Length bytes left */
	int crlf_left;
	bool has_length;
};

static int deliver(struct reply *r, const char *data, size_t n)
{
	if (!n)
		return 0;
	if (r->status >= 300 || !r->req->sink)
		return collect_add(&r->err, data, n);
	if (r->req->sink(r->req->sink_arg, data, n) < 0) {
		r->sink_failed = 1;
		return -1;
	}
	if (r->req->progress)
		r->req->progress(r->req->progress_arg, n);
	return 0;
}

/* Feed raw body bytes (any cut); decodes chunked transfer and stops at Content-Length. */
static int feed(struct reply *r, const char *p, size_t n)
{
	if (!r->chunked) {
		if (r->has_length) {
			if (n > r->left)
				n = (size_t)r->left;
			r->left -= n;
			r->done = r->left == 0;
		}
		return deliver(r, p, n);
	}
	while (n && !r->done) {
		if (r->crlf_left) {
			r->crlf_left--;
			p++;
			n--;
		} else if (r->left) {
			size_t k = n < r->left ? n : (size_t)r->left;
			if (deliver(r, p, k) < 0)
				return -1;
			r->left -= k;
			p += k;
			n -= k;
			if (!r->left)
				r->crlf_left = 2;
		} else {
			char ch = *p++;
			n--;
			if (ch != '\n') {
				if (r->line_len < sizeof r->line - 1)
					r->line[r->line_len++] = ch;
				continue;
			}
			r->line[r->line_len] = '\0';
			r->line_len = 0;
			r->left = strtoull(r->line, NULL, 16);
			if (!r->left)
				r->done = true; /* the last chunk: trailers are not ours */
		}
	}
	return 0;
}

static int connect_socket(struct cli *c, berr *e)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int saved = errno;
		close(fd);
		return berr_plain(e, ECONNREFUSED, "connecting to %s: %s", c->host, strerror(saved));
	}
	return fd;
}

/* write(2) without SIGPIPE: a daemon that closed the connection is an error, not a signal. */
static int send_all(int sock, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(sock, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Has the daemon already said something (an early error reply while we upload)? */
static bool reply_waiting(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

/* The upload as chunks, until its end or until the daemon replies (it will not read the rest). */
static int send_upload(int sock, const struct cli_stream_req *req, berr *e)
{
	char buf[65536], head[32];
	for (;;) {
		if (reply_waiting(sock))
			return 0;
		ssize_t n = read(req->upload_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berr_sys(e, "reading what to send");
		if (n > 0 && req->progress)
			req->progress(req->progress_arg, (size_t)n);
		int hl = snprintf(head, sizeof head, "%zx\r\n", (size_t)n);
		if (send_all(sock, head, (size_t)hl) < 0 || (n && send_all(sock, buf, (size_t)n) < 0) ||
		    send_all(sock, "\r\n", 2) < 0)
			return errno == EPIPE || errno == ECONNRESET ? 0 : berr_sys(e, "sending the request");
		if (n == 0)
			return 0;
	}
}

static int request(struct cli *c, const struct cli_stream_req *req, const char *json_body, struct cli_resp *out,
		   berr *e)
{
	memset(out, 0, sizeof *out);
	int sock = connect_socket(c, e);
	if (sock < 0)
		return -1;
	struct cli_buf head = {0};
	cli_buf_add(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth-cli/%s\r\nConnection: close\r\n",
		    req->method, req->path, CLI_VERSION);
	if (req->header)
		cli_buf_add(&head, "%s\r\n", req->header);
	if (json_body)
		cli_buf_add(&head, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(json_body),
			    json_body);
	else if (req->upload_fd >= 0)
		cli_buf_add(&head, "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
			    req->content_type ? req->content_type : "application/octet-stream");
	else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0)
		cli_buf_add(&head, "Content-Length: 0\r\n\r\n");
	else
		cli_buf_add(&head, "\r\n");
	int rc = send_all(sock, head.s, head.len) < 0 ? berr_sys(e, "sending %s %s", req->method, req->path) : 0;
	cli_buf_free(&head);
	if (rc == 0 && req->upload_fd >= 0)
		rc = send_upload(sock, req, e);
	/* The reply's head, then its body through feed(). */
	struct reply r = {.req = req};
	struct collect in = {0};
	char buf[65536];
	char *end = NULL;
	while (rc == 0 && !end) {
		ssize_t n = read(sock, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = berr_plain(e, EPROTO, "talking to %s: the connection closed before a reply", c->host);
			break;
		}
		if (collect_add(&in, buf, (size_t)n) < 0)
			rc = berr_set(e, ENOMEM, "reading a reply");
		else
			end = strstr(in.buf, "\r\n\r\n");
	}
	if (rc == 0) {
		const char *sp = strchr(in.buf, ' ');
		r.status = out->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		size_t head_len = (size_t)(end - in.buf) + 4;
		in.buf[head_len - 2] = '\0'; /* the head's lines, each ending in \r\n */
		for (char *line = strstr(in.buf, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
			char *l = line + 2, *colon = strchr(l, ':'), *eol = strstr(l, "\r\n");
			if (!colon || (eol && colon > eol))
				continue;
			size_t name_len = (size_t)(colon - l);
			char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vlen = eol ? (size_t)(eol - v) : strlen(v);
			if (name_len == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0 &&
			    strncasecmp(v, "chunked", 7) == 0)
				r.chunked = true;
			else if (name_len == 14 && strncasecmp(l, "Content-Length", 14) == 0) {
				r.has_length = true;
				r.left = strtoull(v, NULL, 10);
			}
			if (req->header_name && strlen(req->header_name) == name_len &&
			    strncasecmp(l, req->header_name, name_len) == 0) {
				free(*req->header_value);
				*req->header_value = strndup(v, vlen);
			}
		}
		bool no_body = strcmp(req->method, "HEAD") == 0 || r.status == 204 || r.status == 304 ||
			       (r.has_length && r.left == 0);
		if (no_body)
			r.done = true;
		else if (feed(&r, in.buf + head_len, in.len - head_len) < 0)
			rc = r.sink_failed ? berr_sys(e, "writing the output") : berr_set(e, ENOMEM, "reading a reply");
		while (rc == 0 && !r.done) {
			ssize_t n = read(sock, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = berr_sys(e, "talking to %s", c->host);
				break;
			}
			if (n == 0)
				break; /* the end of a body without length, or a daemon gone mid-stream */
			if (feed(&r, buf, (size_t)n) < 0)
				rc = r.sink_failed ? berr_sys(e, "writing the output")
						   : berr_set(e, ENOMEM, "reading a reply");
		}
	}
	close(sock);
	free(in.buf);
	out->body = r.err.buf ? r.err.buf : strdup("");
	out->len = r.err.len;
	if (rc < 0)
		cli_resp_free(out); /* no reply: nothing for the caller to free */
	return rc;
}

int cli_http_stream(struct cli *c, const struct cli_stream_req *req, struct cli_resp *out, berr *e)
{
	if (req->header_name)
		*req->header_value = NULL;
	return request(c, req, NULL, out, e);
}

int cli_http(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *out, berr *e)
{
	char *text = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		memset(out, 0, sizeof *out);
		return berr_set(e, ENOMEM, "encoding the request");
	}
	struct cli_stream_req req = {.method = method, .path = path, .upload_fd = -1};
	int rc = request(c, &req, text, out, e);
	free(text);
	return rc;
}

void cli_resp_free(struct cli_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

const char *cli_resp_message(const struct cli_resp *r)
{
	static char msg[4096];
	json_t *doc = json_loads(r->body ? r->body : "", 0, NULL);
	const char *m = doc ? json_string_value(json_object_get(doc, "message")) : NULL;
	if (m) {
		snprintf(msg, sizeof msg, "%s", m);
	} else {
		size_t n = r->len;
		while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
			n--;
		if (n == 0)
			snprintf(msg, sizeof msg, "HTTP status %ld", r->status);
		else
			snprintf(msg, sizeof msg, "%.*s", (int)n, r->body);
	}
	json_decref(doc);
	return msg;
}

json_t *cli_resp_json(const struct cli_resp *r, berr *e)
{
	json_error_t je;
	json_t *doc = json_loadb(r->body ? r->body : "", r->len, 0, &je);
	if (!doc)
		berr_plain(e, EPROTO, "reading berthd's reply: %s", je.text);
	return doc;
}

void cli_print_daemon_error(const char *prefix, const struct cli_resp *r)
{
	fprintf(stderr, "%sError response from daemon: %s\n", prefix ? prefix : "", cli_resp_message(r));
}

void cli_print_connect_error(const struct cli *c, const char *prefix, const berr *e)
{
	if (e->errnum == ECONNREFUSED)
		fprintf(stderr, "%sCannot connect to the berth daemon at %s. Is the berth daemon running?\n",
			prefix ? prefix : "", c->host);
	else
		fprintf(stderr, "%s%s\n", prefix ? prefix : "", berr_msg(e));
}
