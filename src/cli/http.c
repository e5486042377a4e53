/* Requests to berthd with libcurl over its unix socket (CURLOPT_UNIX_SOCKET_PATH). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

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

/* ---------- requests ---------- */

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

static CURL *handle(struct cli *c, berr *e)
{
	static bool global_done;
	if (!global_done) {
		curl_global_init(CURL_GLOBAL_NOTHING);
		global_done = true;
	}
	if (!c->curl && !(c->curl = curl_easy_init())) {
		berr_plain(e, ENOMEM, "starting libcurl");
		return NULL;
	}
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->sock_path);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "berth-cli/" CLI_VERSION);
	return c->curl;
}

struct stream_state {
	CURL *curl;
	const struct cli_stream_req *req;
	struct collect err; /* the body of an error reply */
	int sink_failed;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *p)
{
	struct stream_state *st = p;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300 || !st->req->sink)
		return collect_add(&st->err, data, n) < 0 ? 0 : n;
	if (st->req->sink(st->req->sink_arg, data, n) < 0) {
		st->sink_failed = 1;
		return 0;
	}
	if (st->req->progress)
		st->req->progress(st->req->progress_arg, n);
	return n;
}

/* Keep the one header the request asked for; set before the first body byte reaches the sink. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct stream_state *st = p;
	size_t n = size * nmemb, name_len = strlen(st->req->header_name);
	if (n > name_len && data[name_len] == ':' && strncasecmp(data, st->req->header_name, name_len) == 0) {
		const char *v = data + name_len + 1, *end = data + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		free(*st->req->header_value);
		*st->req->header_value = strndup(v, (size_t)(end - v));
	}
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *p)
{
	struct stream_state *st = p;
	for (;;) {
		ssize_t n = read(st->req->upload_fd, buf, size * nmemb);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && st->req->progress)
			st->req->progress(st->req->progress_arg, (size_t)n);
		return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
	}
}

static int perform(struct cli *c, CURL *h, struct cli_resp *out, berr *e)
{
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		if (rc == CURLE_COULDNT_CONNECT)
			return berr_plain(e, ECONNREFUSED, "connecting to %s: %s", c->host, curl_easy_strerror(rc));
		return berr_plain(e, EIO, "talking to %s: %s", c->host, curl_easy_strerror(rc));
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	return 0;
}

int cli_http_stream(struct cli *c, const struct cli_stream_req *req, struct cli_resp *out, berr *e)
{
	memset(out, 0, sizeof *out);
	CURL *h = handle(c, e);
	if (!h)
		return -1;
	struct cli_buf url = {0};
	cli_buf_add(&url, "http://localhost%s", req->path);
	struct stream_state st = {.curl = h, .req = req};
	struct curl_slist *headers = NULL;
	int upload_fd = req->upload_fd;
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
	if (req->header_name) {
		*req->header_value = NULL;
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
	}
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (upload_fd >= 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(h, CURLOPT_READDATA, &st);
		/* UPLOAD means PUT to curl: the method stays ours through CUSTOMREQUEST. */
		headers = curl_slist_append(headers, "Expect:");
		if (req->content_type) {
			struct cli_buf ct = {0};
			cli_buf_add(&ct, "Content-Type: %s", req->content_type);
			headers = curl_slist_append(headers, ct.s);
			cli_buf_free(&ct);
		}
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	int r = perform(c, h, out, e);
	curl_slist_free_all(headers);
	cli_buf_free(&url);
	if (r == 0 && st.sink_failed)
		r = berr_sys(e, "writing the output");
	out->body = st.err.buf ? st.err.buf : strdup("");
	out->len = st.err.len;
	if (r < 0)
		cli_resp_free(out); /* no reply: nothing for the caller to free */
	return r;
}

int cli_http(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *out, berr *e)
{
	memset(out, 0, sizeof *out);
	CURL *h = handle(c, e);
	if (!h)
		return -1;
	struct cli_buf url = {0};
	cli_buf_add(&url, "http://localhost%s", path);
	struct collect got = {0};
	struct curl_slist *headers = NULL;
	char *text = NULL;
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	struct stream_state st = {.curl = h, .req = &(struct cli_stream_req){0}};
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			cli_buf_free(&url);
			return berr_set(e, ENOMEM, "encoding the request");
		}
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	int r = perform(c, h, out, e);
	curl_slist_free_all(headers);
	free(text);
	cli_buf_free(&url);
	got = st.err;
	out->body = got.buf ? got.buf : strdup("");
	out->len = got.len;
	if (r < 0)
		cli_resp_free(out);
	return r;
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
