/* The HTTP side: libmicrohttpd on the socket, version prefixes, routing, bodies, replies. */
#include "api/server.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/json.h"

enum { BODY_MAX = 32 << 20 };

struct api_server {
	struct MHD_Daemon *mhd;
	struct eng *eng;
	atomic_ulong requests_done;
};

static const struct api_route *const route_tables[] = {
    api_top_routes,   api_stats_routes,        api_event_routes,     api_system_routes,
    api_exec_routes,  api_container_fs_routes, api_container_routes, api_image_registry_routes,
    api_image_routes, api_volume_routes,       api_network_routes,   api_system_df_routes};

/* ---------- replies ---------- */

static void add_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Api-Version", API_VERSION);
	MHD_add_response_header(resp, "Docker-Experimental", "false");
	MHD_add_response_header(resp, "Ostype", "linux");
	MHD_add_response_header(resp, "Server", "berth/" API_VERSION " (linux)");
}

static void set_reply(struct api_request *r, unsigned status, struct MHD_Response *resp, const char *content_type)
{
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = status;
	if (!resp)
		return;
	add_common_headers(resp);
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
}

void api_reply_text(struct api_request *r, unsigned status, const char *content_type, const char *text)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	set_reply(r, status, resp, content_type);
}

void api_reply_json(struct api_request *r, unsigned status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		api_reply_text(r, 500, "application/json", "{\"message\":\"out of memory\"}\n");
		return;
	}
	size_t len = strlen(text);
	char *with_nl = realloc(text, len + 2);
	if (with_nl) {
		text = with_nl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	set_reply(r, status, resp, "application/json");
}

void api_reply_json_text(struct api_request *r, unsigned status, char *text, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	set_reply(r, status, resp, "application/json");
}

void api_reply_empty(struct api_request *r, unsigned status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	set_reply(r, status, resp, NULL);
}

void api_reply_message(struct api_request *r, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	api_reply_json(r, status, json_pack("{s:s}", "message", msg ? msg : "out of memory"));
	free(msg);
}

static unsigned status_of(int errnum)
{
	switch (errnum) {
	case ENOENT: return 404;
	case EEXIST:
	case EBUSY: return 409;
	case EINVAL:
	case EPROTO: return 400;
	case ENOTSUP:
	case ENOSYS: return 501;
	case EALREADY: return 304;
	default: return 500;
	}
}

void api_reply_error(struct api_request *r, const berr *e)
{
	unsigned status = status_of(e->errnum);
	if (status == 304) {
		api_reply_empty(r, status);
		return;
	}
	api_reply_message(r, status, "%s", berr_msg(e));
}

void api_reply_stream(struct api_request *r, unsigned status, const char *content_type,
		      MHD_ContentReaderCallback reader, void *cls, MHD_ContentReaderFreeCallback free_cb)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reader, cls, free_cb);
	set_reply(r, status, resp, content_type);
}

/* A producer thread writing into a pipe, the reply reading from it. */
struct produced {
	int (*fn)(void *arg, int fd, berr *e);
	void *arg;
	void (*free_arg)(void *arg);
	int write_fd, read_fd;
	pthread_t thread;
	berr err;
	int result;
	bool joined;
};

static void *producer_main(void *p)
{
	struct produced *pr = p;
	pr->result = pr->fn(pr->arg, pr->write_fd, &pr->err);
	close(pr->write_fd);
	pr->write_fd = -1;
	return NULL;
}

static ssize_t produced_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct produced *pr = cls;
	for (;;) {
		ssize_t n = read(pr->read_fd, buf, max);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			return n;
		/* The producer's failure midway cannot change the status any more: cut the stream short. */
		return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void produced_free(void *cls)
{
	struct produced *pr = cls;
	close(pr->read_fd); /* a producer still writing gets EPIPE and stops */
	if (!pr->joined)
		pthread_join(pr->thread, NULL);
	if (pr->free_arg)
		pr->free_arg(pr->arg);
	berr_clear(&pr->err);
	free(pr);
}

void api_reply_produced(struct api_request *r, const char *content_type, int (*fn)(void *arg, int fd, berr *e),
			void *arg, void (*free_arg)(void *arg))
{
	struct produced *pr = calloc(1, sizeof *pr);
	int p[2];
	if (!pr || pipe2(p, O_CLOEXEC) < 0) {
		free(pr);
		if (free_arg)
			free_arg(arg);
		api_reply_message(r, 500, "creating a pipe: %s", strerror(errno));
		return;
	}
	pr->fn = fn;
	pr->arg = arg;
	pr->free_arg = free_arg;
	pr->read_fd = p[0];
	pr->write_fd = p[1];
	if (pthread_create(&pr->thread, NULL, producer_main, pr) != 0) {
		close(p[0]);
		close(p[1]);
		if (free_arg)
			free_arg(arg);
		free(pr);
		api_reply_message(r, 500, "starting a thread: %s", strerror(errno));
		return;
	}
	/* Wait for the first bytes or the end: an early failure still gets a proper error status. */
	struct pollfd pfd = {.fd = pr->read_fd, .events = POLLIN};
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	int avail = 0;
	if (ioctl(pr->read_fd, FIONREAD, &avail) == 0 && avail == 0) {
		/* End of the pipe: the producer is done, its result decides the status. */
		pthread_join(pr->thread, NULL);
		pr->joined = true;
		if (pr->result < 0) {
			api_reply_error(r, &pr->err);
			produced_free(pr);
			return;
		}
	}
	api_reply_stream(r, 200, content_type, produced_read, pr, produced_free);
}

/* ---------- requests ---------- */

bool api_client_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return true;
	struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

const char *api_query(struct api_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct query_all {
	const char *key;
	char **v;
	size_t n;
	bool failed;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_all *q = cls;
	if (strcmp(key, q->key) != 0 || !value)
		return MHD_YES;
	char **v = realloc(q->v, (q->n + 2) * sizeof *v);
	if (!v) {
		q->failed = true;
		return MHD_NO;
	}
	q->v = v;
	if (!(q->v[q->n] = strdup(value))) {
		q->failed = true;
		return MHD_NO;
	}
	q->v[++q->n] = NULL;
	return MHD_YES;
}

bool api_query_all(struct api_request *r, const char *key, char ***out, size_t *n)
{
	struct query_all q = {.key = key};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
	if (q.failed) {
		b_strv_free(q.v);
		api_reply_message(r, 500, "out of memory");
		return false;
	}
	*out = q.v;
	*n = q.n;
	return true;
}

const char *api_header(struct api_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool api_query_bool(struct api_request *r, const char *key, bool dflt)
{
	const char *v = api_query(r, key);
	if (!v)
		return dflt;
	/* Docker's boolValue: anything but "", "0", "no", "false", "none" is true. */
	return !(strcmp(v, "") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
		 strcasecmp(v, "none") == 0);
}

bool api_query_int(struct api_request *r, const char *key, long long dflt, long long *out)
{
	const char *v = api_query(r, key);
	if (!v || !*v) {
		*out = dflt;
		return true;
	}
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*end || errno) {
		api_reply_message(r, 400, "invalid value for %s: \"%s\": not an integer", key, v);
		return false;
	}
	*out = n;
	return true;
}

bool api_query_filters(struct api_request *r, json_t **out)
{
	*out = NULL;
	const char *v = api_query(r, "filters");
	if (!v || !*v)
		return true;
	json_error_t jerr;
	json_t *doc = json_loads(v, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_reply_message(r, 400, "invalid filter: %s", doc ? "expected a JSON object" : jerr.text);
		return false;
	}
	*out = doc;
	return true;
}

bool api_body_json(struct api_request *r, bool allow_empty, json_t **out)
{
	*out = NULL;
	size_t i = 0;
	while (i < r->body_len && isspace((unsigned char)r->body[i]))
		i++;
	if (i == r->body_len) {
		if (allow_empty)
			return true;
		api_reply_message(r, 400, "request body is empty: a JSON object is expected");
		return false;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(r->body, r->body_len, 0, &jerr);
	if (!doc) {
		api_reply_message(r, 400, "invalid JSON in the request body: %s (line %d, column %d)", jerr.text,
				  jerr.line, jerr.column);
		return false;
	}
	*out = doc;
	return true;
}

/* "/v1.41/containers/json" -> "/containers/json", minor 41; false with an error reply for a bad version. */
static bool strip_version(struct api_request *r, const char *url)
{
	r->api_minor = 0;
	if (url[0] == '/' && url[1] == 'v' && isdigit((unsigned char)url[2])) {
		char *end;
		long major = strtol(url + 2, &end, 10);
		if (*end == '.' && isdigit((unsigned char)end[1])) {
			long minor = strtol(end + 1, &end, 10);
			if (*end == '/' || *end == '\0') {
				int max_minor = atoi(strchr(API_VERSION, '.') + 1);
				int min_minor = atoi(strchr(API_MIN_VERSION, '.') + 1);
				r->path = strdup(*end ? end : "/");
				if (major != 1 || minor > max_minor) {
					api_reply_message(r, 400,
							  "client version %ld.%ld is too new. Maximum supported API "
							  "version is " API_VERSION,
							  major, minor);
					return false;
				}
				if (minor < min_minor) {
					api_reply_message(r, 400,
							  "client version %ld.%ld is too old. Minimum supported API "
							  "version is " API_MIN_VERSION
							  ", please upgrade your client to a newer version",
							  major, minor);
					return false;
				}
				r->api_minor = (int)minor;
				return true;
			}
		}
	}
	r->path = strdup(url);
	return true;
}

/* Does path match pattern? Captures the '*' and '**' parts into r->params. */
static bool match_route(struct api_request *r, const char *pattern, const char *path)
{
	int n = 0;
	while (*pattern && *path) {
		if (pattern[0] == '*' && pattern[1] == '*') {
			/* One or more segments: as long as the rest of the pattern matches the end of the path. */
			const char *rest = pattern + 2;
			size_t rest_len = strlen(rest), path_len = strlen(path);
			if (path_len <= rest_len || strcmp(path + path_len - rest_len, rest) != 0 ||
			    n >= API_MAX_PARAMS)
				return false;
			r->params[n++] = strndup(path, path_len - rest_len);
			return true;
		}
		if (pattern[0] == '*') {
			const char *slash = strchr(path, '/');
			size_t len = slash ? (size_t)(slash - path) : strlen(path);
			if (len == 0 || n >= API_MAX_PARAMS)
				return false;
			r->params[n++] = strndup(path, len);
			pattern++;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	/* A trailing slash is the same path. */
	if (*path == '/' && path[1] == '\0')
		path++;
	return *pattern == '\0' && *path == '\0';
}

static void clear_params(struct api_request *r)
{
	for (int i = 0; i < API_MAX_PARAMS; i++) {
		free(r->params[i]);
		r->params[i] = NULL;
	}
}

/* The route for the request; NULL with a 404 or 405 reply set. */
static const struct api_route *find_route(struct api_request *r)
{
	bool path_known = false;
	for (size_t t = 0; t < ARRAY_SIZE(route_tables); t++) {
		for (const struct api_route *rt = route_tables[t]; rt->pattern; rt++) {
			if (!match_route(r, rt->pattern, r->path)) {
				clear_params(r);
				continue;
			}
			if (strcmp(rt->method, r->method) == 0 ||
			    (strcmp(rt->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0))
				return rt;
			path_known = true;
			clear_params(r);
		}
	}
	if (path_known)
		api_reply_message(r, 405, "method %s not allowed on %s", r->method, r->path);
	else
		api_reply_message(r, 404, "page not found");
	return NULL;
}

static void *stream_worker(void *p)
{
	struct api_request *r = p;
	r->route->handler(r);
	/* Whatever the handler left unread is drained by the access handler's writes failing. */
	close(r->body_fd);
	r->body_fd = -1;
	return NULL;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				      const char *version, const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct api_server *srv = cls;
	struct api_request *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->conn = conn;
		r->eng = srv->eng;
		r->method = method;
		r->body_fd = r->pipe_w = -1;
		if (strip_version(r, url) && r->path)
			r->route = find_route(r);
		else if (!r->path)
			return MHD_NO;
		if (r->route && (r->route->flags & API_STREAM_BODY)) {
			int p[2];
			if (pipe2(p, O_CLOEXEC) < 0) {
				api_reply_message(r, 500, "creating a pipe: %s", strerror(errno));
				r->route = NULL;
				return MHD_YES;
			}
			r->body_fd = p[0];
			r->pipe_w = p[1];
			if (pthread_create(&r->worker, NULL, stream_worker, r) != 0) {
				api_reply_message(r, 500, "starting a thread: %s", strerror(errno));
				close(p[0]);
				close(p[1]);
				r->body_fd = r->pipe_w = -1;
				r->route = NULL;
				return MHD_YES;
			}
			r->worker_started = true;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->pipe_w >= 0) {
			if (b_write_all(r->pipe_w, upload_data, n) < 0) {
				/* The handler stopped reading (it failed): drop the rest of the body. */
				close(r->pipe_w);
				r->pipe_w = -1;
			}
		} else if (r->route && !(r->route->flags & API_STREAM_BODY) && !r->body_too_big) {
			if (r->body_len + n > BODY_MAX) {
				r->body_too_big = true;
			} else {
				if (r->body_len + n + 1 > r->body_cap) {
					size_t cap = r->body_cap ? r->body_cap : 4096;
					while (cap < r->body_len + n + 1)
						cap *= 2;
					char *b = realloc(r->body, cap);
					if (!b)
						return MHD_NO;
					r->body = b;
					r->body_cap = cap;
				}
				memcpy(r->body + r->body_len, upload_data, n);
				r->body_len += n;
				r->body[r->body_len] = '\0';
			}
		}
		return MHD_YES;
	}
	/* The whole request is in: answer it. */
	if (r->worker_started) {
		if (r->pipe_w >= 0) {
			close(r->pipe_w);
			r->pipe_w = -1;
		}
		pthread_join(r->worker, NULL);
		r->worker_started = false;
	} else if (r->route) {
		if (r->body_too_big)
			api_reply_message(r, 413, "request body larger than %d bytes", BODY_MAX);
		else
			r->route->handler(r);
	}
	if (!r->resp)
		api_reply_message(r, 500, "no reply for %s %s", method, url);
	if (!r->resp)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ret;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct api_request *r = *con_cls;
	if (!r)
		return;
	struct api_server *s = cls;
	atomic_fetch_add_explicit(&s->requests_done, 1, memory_order_relaxed);
	if (r->pipe_w >= 0)
		close(r->pipe_w);
	if (r->worker_started)
		pthread_join(r->worker, NULL);
	if (r->body_fd >= 0)
		close(r->body_fd);
	if (r->resp)
		MHD_destroy_response(r->resp);
	clear_params(r);
	free(r->path);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fputs("berthd: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

int api_server_start(struct eng *eng, int listen_fd, struct api_server **out, berr *e)
{
	struct api_server *s = calloc(1, sizeof *s);
	if (!s) {
		close(listen_fd);
		return berr_set(e, ENOMEM, "starting the API server");
	}
	s->eng = eng;
	/* A client that goes away must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				      MHD_ALLOW_UPGRADE | MHD_USE_ITC,
				  0, NULL, NULL, access_handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				  MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED, request_completed,
				  s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
	if (!s->mhd) {
		close(listen_fd);
		free(s);
		return berr_set(e, EIO, "starting the API server (libmicrohttpd)");
	}
	*out = s;
	return 0;
}

unsigned long api_server_requests_done(struct api_server *s)
{
	return atomic_load_explicit(&s->requests_done, memory_order_relaxed);
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
