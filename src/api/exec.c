/*
 * Exec over the Engine API: POST /containers/{id}/exec, POST /exec/{id}/start (hijacked as attach
 * is, or a plain 200 stream for a client that asks for no upgrade), GET /exec/{id}/json and POST
 * /exec/{id}/resize.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/attach.h"
#include "engine/exec.h"
#include "lib/cleanup.h"
#include "lib/detach_keys.h"
#include "lib/fd.h"
#include "lib/json.h"

static void create(struct api_request *r)
{
	json_t *body;
	if (!api_body_json(r, false, &body))
		return;
	char *id = NULL;
	berr e = {0};
	if (eng_exec_create(r->eng, r->params[0], body, &id, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 201, json_pack("{s:s}", "Id", id));
	json_decref(body);
	free(id);
	berr_clear(&e);
}

/* The start's options: Detach, Tty (the exec's own Tty decides), ConsoleSize [height, width]. */
static bool start_options(struct api_request *r, bool *detach, int *height, int *width)
{
	json_t *body;
	if (!api_body_json(r, true, &body))
		return false;
	*detach = false;
	*height = *width = 0;
	if (!body)
		return true;
	if (json_is_object(body)) {
		static const char *const names[] = {"Detach", "Tty", "ConsoleSize", NULL};
		json_t *folded = b_json_fold_keys(body, names);
		json_decref(body);
		body = folded;
	}
	bool ok = false;
	json_t *d = json_object_get(body, "Detach"), *t = json_object_get(body, "Tty"),
	       *size = json_object_get(body, "ConsoleSize");
	if (!json_is_object(body))
		api_reply_message(r, 400, "exec start: expected a JSON object, got %s", b_json_type_name(body));
	else if (d && !json_is_boolean(d) && !json_is_null(d))
		api_reply_message(r, 400, "exec start: Detach: expected a boolean, got %s", b_json_type_name(d));
	else if (t && !json_is_boolean(t) && !json_is_null(t))
		api_reply_message(r, 400, "exec start: Tty: expected a boolean, got %s", b_json_type_name(t));
	else if (size && !json_is_null(size) &&
		 (json_array_size(size) != 2 || !json_is_integer(json_array_get(size, 0)) ||
		  !json_is_integer(json_array_get(size, 1)) || json_integer_value(json_array_get(size, 0)) < 0 ||
		  json_integer_value(json_array_get(size, 1)) < 0 ||
		  json_integer_value(json_array_get(size, 0)) > 65535 ||
		  json_integer_value(json_array_get(size, 1)) > 65535))
		api_reply_message(r, 400, "exec start: ConsoleSize: expected [height, width]");
	else
		ok = true;
	if (ok) {
		*detach = json_is_true(d);
		if (json_array_size(size) == 2) {
			*height = (int)json_integer_value(json_array_get(size, 0));
			*width = (int)json_integer_value(json_array_get(size, 1));
		}
	}
	json_decref(body);
	return ok;
}

/* A stream that says only why the process could not run, as Docker writes it: on stdout, then the end. */
static int failure_stream(const char *msg, bool tty)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	size_t len = strlen(msg) + 2;
	unsigned char header[8] = {1,
				   0,
				   0,
				   0,
				   (unsigned char)(len >> 24),
				   (unsigned char)(len >> 16),
				   (unsigned char)(len >> 8),
				   (unsigned char)len};
	if (!tty)
		b_write_all(sp[1], header, sizeof header);
	b_write_all(sp[1], msg, strlen(msg));
	b_write_all(sp[1], "\r\n", 2);
	close(sp[1]);
	return sp[0];
}

/* The plain (not upgraded) form: the output as the reply's body; there is no way in for input. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	int fd = (int)(intptr_t)cls;
	for (;;) {
		ssize_t n = read(fd, buf, max);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			return n;
		return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void stream_free(void *cls)
{
	close((int)(intptr_t)cls);
}

struct launch {
	struct eng *eng;
	char *id;
	bool tty;
	bool launched;
};

static void launch_free(void *arg)
{
	struct launch *l = arg;
	if (!l->launched)
		eng_exec_unclaim(l->eng, l->id);
	free(l->id);
	free(l);
}

/* The exec's stream, or one that says why it did not run (Docker writes that into the stream too). */
static int launch_open(void *arg)
{
	struct launch *l = arg;
	struct eng_exec_started s;
	berr e = {0};
	int fd;
	l->launched = true;
	if (eng_exec_launch(l->eng, l->id, false, &s, &e) < 0)
		fd = failure_stream(berr_msg(&e), l->tty);
	else if (s.failed)
		fd = failure_stream(s.failed, l->tty);
	else
		fd = steal_fd(s.fd);
	berr_clear(&e);
	eng_exec_started_free(&s);
	return fd;
}

/* The exec's DetachKeys (checked at create), Docker's ctrl-p,ctrl-q when it has none. */
static void detach_keys_of(struct api_request *r, struct b_detach_keys *keys)
{
	json_t *doc = NULL;
	berr e = {0};
	const char *text = NULL;
	if (eng_exec_inspect(r->eng, r->params[0], &doc, &e) == 0)
		text = json_string_value(json_object_get(doc, "DetachKeys"));
	if (b_detach_keys_parse(text && *text ? text : B_DETACH_KEYS_DEFAULT, keys, &e) < 0)
		b_detach_keys_parse(B_DETACH_KEYS_DEFAULT, keys, NULL);
	berr_clear(&e);
	json_decref(doc);
}

static void start(struct api_request *r)
{
	bool detach, tty, in;
	int height, width;
	berr e = {0};
	if (!start_options(r, &detach, &height, &width))
		return;
	if (eng_exec_claim(r->eng, r->params[0], height, width, &tty, &in, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	if (detach) {
		struct eng_exec_started s;
		if (eng_exec_launch(r->eng, r->params[0], true, &s, &e) < 0)
			api_reply_error(r, &e);
		else
			api_reply_empty(r, 200);
		eng_exec_started_free(&s);
		berr_clear(&e);
		return;
	}
	struct launch *l = calloc(1, sizeof *l);
	if (!l || !(l->id = strdup(r->params[0]))) {
		free(l);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	l->eng = r->eng;
	l->tty = tty;
	const char *upgrade = api_header(r, "Upgrade");
	if (upgrade && *upgrade) {
		/* The process starts once the client has the 101: none of its output can come before. */
		struct b_detach_keys keys;
		detach_keys_of(r, &keys);
		api_hijack(r, launch_open, l, launch_free, in, true, true, tty, &keys);
		return;
	}
	/* An old client without the upgrade: the output as the reply's body, no input (stdin ends now). */
	int fd = launch_open(l);
	launch_free(l);
	if (fd < 0) {
		api_reply_message(r, 500, "exec %s: creating its stream: %s", r->params[0], strerror(errno));
		return;
	}
	shutdown(fd, SHUT_WR);
	api_reply_stream(r, 200,
			 tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
			 stream_read, (void *)(intptr_t)fd, stream_free);
}

static void inspect(struct api_request *r)
{
	json_t *doc;
	berr e = {0};
	if (eng_exec_inspect(r->eng, r->params[0], &doc, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, doc);
	berr_clear(&e);
}

static void resize(struct api_request *r)
{
	long long h, w;
	if (!api_query_int(r, "h", 0, &h) || !api_query_int(r, "w", 0, &w))
		return;
	berr e = {0};
	if (h < 0 || w < 0 || h > 65535 || w > 65535)
		api_reply_message(r, 400, "invalid terminal size %lldx%lld", h, w);
	else if (eng_exec_resize(r->eng, r->params[0], (int)h, (int)w, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_empty(r, 200);
	berr_clear(&e);
}

const struct api_route api_exec_routes[] = {
    {"POST", "/containers/*/exec", create, 0},
    {"POST", "/exec/*/start", start, 0},
    {"GET", "/exec/*/json", inspect, 0},
    {"POST", "/exec/*/resize", resize, 0},
    {0},
};
