/*
 * POST /containers/{id}/attach and /resize: the connection is upgraded (101, "Upgrade: tcp") and
 * becomes a byte pipe to the container's monitor, both ways, until the container's output ends.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/attach.h"
#include "api/logs_stream.h"
#include "lib/cleanup.h"
#include "lib/detach_keys.h"
#include "lib/fd.h"

struct relay {
	struct eng *eng;
	struct eng_attach *attach; /* the container's stdio, registered before the 101, unless open gives the stream */
	/* Another stream (exec): opened in the relay's thread, once the client has the 101; an fd or -1. */
	int (*open)(void *arg);
	void *open_arg;
	void (*open_arg_free)(void *arg);
	bool in, out, err;
	char *logs_of;             /* logs=1: the container whose log goes first; NULL: none */
	bool stream;               /* false: the log only, no live stream */
	struct b_detach_keys keys; /* with a terminal and stdin: the client's input ends the session at these */
	MHD_socket client;
	struct MHD_UpgradeResponseHandle *urh;
	char *extra;
	size_t extra_len;
};

static void relay_free(struct relay *r)
{
	if (r->open_arg_free)
		r->open_arg_free(r->open_arg);
	eng_container_attach_cancel(r->attach);
	free(r->logs_of);
	free(r->extra);
	free(r);
}

/* The client's input to the monitor; false when that ends the session (detach keys, or a broken stream). */
static bool forward_input(struct relay *r, int mon, const char *buf, size_t n)
{
	if (!r->in)
		return true;
	char out[65536 + B_DETACH_KEYS_MAX];
	while (n > 0) {
		size_t chunk = n < 65536 ? n : 65536, len = 0;
		bool detach = b_detach_keys_filter(&r->keys, buf, chunk, out, &len);
		if (len && b_write_all(mon, out, len) < 0)
			return false;
		if (detach)
			return false;
		buf += chunk;
		n -= chunk;
	}
	return true;
}

/* Copy both ways; the monitor's end of output ends the session, and so do the detach keys. */
static void relay_copy(struct relay *r, int mon)
{
	if (r->extra_len && !forward_input(r, mon, r->extra, r->extra_len))
		return;
	bool client_open = true;
	char buf[65536];
	for (;;) {
		struct pollfd p[2] = {{.fd = mon, .events = POLLIN},
				      {.fd = client_open ? r->client : -1, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(mon, buf, sizeof buf);
			if (n <= 0)
				return;
			if (b_write_all(r->client, buf, (size_t)n) < 0)
				return;
		}
		if (client_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(r->client, buf, sizeof buf);
			if (n <= 0) {
				/* The client is done writing (CloseWrite): pass the end of its input on. */
				client_open = false;
				shutdown(mon, SHUT_WR);
				if (!r->out && !r->err)
					return;
				continue;
			}
			if (!forward_input(r, mon, buf, (size_t)n))
				return;
		}
	}
}

static void *relay_main(void *p)
{
	struct relay *r = p;
	int mon = -1;
	berr e = {0};
	struct eng_attach *a = steal_ptr(r->attach);
	/* The live stream is registered (begin) before the log is read: output in between may come
	 * twice, never not at all. */
	bool log_sent = !r->logs_of || api_logs_replay(r->eng, r->logs_of, r->out, r->err, r->client) == 0;
	if (!r->stream || !log_sent)
		eng_container_attach_cancel(a);
	else if (r->open ? (mon = r->open(r->open_arg)) >= 0 : eng_container_attach_finish(a, &mon, &e) == 0) {
		relay_copy(r, mon);
		close(mon);
	}
	berr_clear(&e);
	MHD_upgrade_action(r->urh, MHD_UPGRADE_ACTION_CLOSE);
	relay_free(r);
	return NULL;
}

static void upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in, size_t extra_in_size,
		     MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct relay *r = cls;
	r->client = sock;
	r->urh = urh;
	if (extra_in_size && (r->extra = malloc(extra_in_size))) {
		memcpy(r->extra, extra_in, extra_in_size);
		r->extra_len = extra_in_size;
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, relay_main, r) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		relay_free(r);
	}
	pthread_attr_destroy(&attr);
}

/* The 101 reply whose upgraded connection rel relays; rel is the reply's from here on. */
static void reply_upgrade(struct api_request *r, struct relay *rel, bool tty)
{
	struct MHD_Response *resp = MHD_create_response_for_upgrade(upgraded, rel);
	if (!resp) {
		relay_free(rel);
		api_reply_message(r, 500, "cannot upgrade the connection");
		return;
	}
	MHD_add_response_header(resp, "Upgrade", "tcp");
	MHD_add_response_header(resp, "Content-Type",
				tty ? "application/vnd.docker.raw-stream"
				    : "application/vnd.docker.multiplexed-stream");
	MHD_add_response_header(resp, "Api-Version", "1.43");
	r->resp = resp;
	r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
}

void api_hijack(struct api_request *r, int (*open)(void *arg), void *arg, void (*arg_free)(void *arg), bool in,
		bool out, bool err, bool tty, const struct b_detach_keys *keys)
{
	struct relay *rel = calloc(1, sizeof *rel);
	if (!rel) {
		if (arg_free)
			arg_free(arg);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	rel->eng = r->eng;
	rel->open = open;
	rel->open_arg = arg;
	rel->open_arg_free = arg_free;
	rel->in = in;
	rel->out = out;
	rel->err = err;
	rel->stream = true;
	if (keys && tty && in)
		rel->keys = *keys;
	reply_upgrade(r, rel, tty);
}

void api_container_attach(struct api_request *r)
{
	json_t *probe;
	berr e = {0};
	if (eng_container_inspect(r->eng, r->params[0], &probe, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	bool tty = json_is_true(json_object_get(json_object_get(probe, "Config"), "Tty"));
	json_decref(probe);
	bool stream = api_query_bool(r, "stream", false), logs = api_query_bool(r, "logs", false);
	const char *keys_text = api_query(r, "detachKeys");
	struct b_detach_keys keys;
	if (b_detach_keys_parse(keys_text && *keys_text ? keys_text : B_DETACH_KEYS_DEFAULT, &keys, &e) < 0) {
		berr_clear(&e);
		api_reply_message(r, 400, "Invalid detach keys (%s) provided", keys_text);
		return;
	}
	struct relay *rel = calloc(1, sizeof *rel);
	if (!rel) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	rel->eng = r->eng;
	rel->in = api_query_bool(r, "stdin", false);
	rel->out = api_query_bool(r, "stdout", false);
	rel->err = api_query_bool(r, "stderr", false);
	rel->stream = stream;
	if (logs && !(rel->logs_of = strdup(r->params[0]))) {
		relay_free(rel);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	if (stream &&
	    eng_container_attach_begin(r->eng, r->params[0], rel->in, rel->out, rel->err, &rel->attach, &e) < 0) {
		relay_free(rel);
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	if (tty && rel->in)
		rel->keys = keys;
	reply_upgrade(r, rel, tty);
}

void api_container_resize(struct api_request *r)
{
	long long h, w;
	if (!api_query_int(r, "h", 0, &h) || !api_query_int(r, "w", 0, &w))
		return;
	berr e = {0};
	if (eng_container_resize(r->eng, r->params[0], (int)h, (int)w, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_empty(r, 200);
	berr_clear(&e);
}
