/* /containers: create, start, stop, restart, kill, pause, unpause, wait, delete, list, inspect, logs. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/attach.h"
#include "api/logs_stream.h"
#include "lib/cleanup.h"

static void create(struct api_request *r)
{
	json_t *body;
	if (!api_body_json(r, false, &body))
		return;
	berr e = {0};
	_cleanup_free_ char *id = NULL;
	json_t *warnings = json_array();
	if (eng_container_create(r->eng, api_query(r, "name"), body, warnings, &id, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 201, json_pack("{s:s, s:O}", "Id", id, "Warnings", warnings));
	json_decref(warnings);
	json_decref(body);
	berr_clear(&e);
}

static void reply_done(struct api_request *r, int rc, berr *e)
{
	if (rc < 0)
		api_reply_error(r, e);
	else
		api_reply_empty(r, 204);
	berr_clear(e);
}

static void start(struct api_request *r)
{
	berr e = {0};
	reply_done(r, eng_container_start(r->eng, r->params[0], &e), &e);
}

static void stop_or_restart(struct api_request *r, bool restart)
{
	long long t;
	if (!api_query_int(r, "t", -1, &t))
		return;
	berr e = {0};
	const char *sig = api_query(r, "signal");
	int rc = restart ? eng_container_restart(r->eng, r->params[0], (int)t, sig, &e)
			 : eng_container_stop(r->eng, r->params[0], (int)t, sig, &e);
	reply_done(r, rc, &e);
}

static void stop(struct api_request *r)
{
	stop_or_restart(r, false);
}

static void restart(struct api_request *r)
{
	stop_or_restart(r, true);
}

static void kill_(struct api_request *r)
{
	berr e = {0};
	reply_done(r, eng_container_kill(r->eng, r->params[0], api_query(r, "signal"), &e), &e);
}

static void pause_(struct api_request *r)
{
	berr e = {0};
	reply_done(r, eng_container_pause(r->eng, r->params[0], true, &e), &e);
}

static void unpause(struct api_request *r)
{
	berr e = {0};
	reply_done(r, eng_container_pause(r->eng, r->params[0], false, &e), &e);
}

static void remove_(struct api_request *r)
{
	if (api_query_bool(r, "link", false)) {
		api_reply_message(r, 501, "removing links is not supported yet");
		return;
	}
	berr e = {0};
	reply_done(r,
		   eng_container_remove(r->eng, r->params[0], api_query_bool(r, "force", false),
					api_query_bool(r, "v", false), &e),
		   &e);
}

static void list(struct api_request *r)
{
	long long limit;
	json_t *filters;
	if (!api_query_int(r, "limit", -1, &limit) || !api_query_filters(r, &filters))
		return;
	berr e = {0};
	char *text;
	size_t len;
	if (eng_container_list_text(r->eng, api_query_bool(r, "all", false), limit <= 0 ? -1 : (int)limit, filters,
				    &text, &len, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json_text(r, 200, text, len);
	json_decref(filters);
	berr_clear(&e);
}

static void inspect(struct api_request *r)
{
	berr e = {0};
	json_t *out;
	if (eng_container_inspect(r->eng, r->params[0], &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	berr_clear(&e);
}

/* wait: the headers go out at once (the docker CLI waits for them before it starts the container). */
struct wait_ctx {
	struct eng *eng;
	struct MHD_Connection *conn;
	struct eng_wait *wait;
	bool done;
};

static ssize_t wait_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct wait_ctx *w = cls;
	if (w->done)
		return MHD_CONTENT_READER_END_OF_STREAM;
	int code = 0;
	berr e = {0};
	json_t *doc;
	for (;;) {
		int r = eng_container_wait_step(w->wait, 500, &code, &e);
		if (r == 0) {
			doc = json_pack("{s:i, s:n}", "StatusCode", code, "Error");
			break;
		}
		if (e.errnum == ETIMEDOUT && !api_client_gone(w->conn)) {
			berr_clear(&e);
			continue;
		}
		if (e.errnum == ETIMEDOUT || e.errnum == ESHUTDOWN) {
			berr_clear(&e);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		doc = json_pack("{s:i, s:{s:s}}", "StatusCode", -1, "Error", "Message", berr_msg(&e));
		break;
	}
	berr_clear(&e);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	w->done = true;
	if (!text)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = (size_t)snprintf(buf, max, "%s\n", text);
	free(text);
	return (ssize_t)(n < max ? n : max);
}

static void wait_free(void *cls)
{
	struct wait_ctx *w = cls;
	eng_container_wait_end(w->wait);
	free(w);
}

static void wait_(struct api_request *r)
{
	/*
	 * The container is found and held before the headers go: an unknown one or a bad condition
	 * is a proper error, and one that ends and is removed (--rm) before the stream is read is
	 * not lost.
	 */
	struct wait_ctx *w = calloc(1, sizeof *w);
	if (!w) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	berr e = {0};
	if (eng_container_wait_begin(r->eng, r->params[0], api_query(r, "condition"), &w->wait, &e) < 0) {
		free(w);
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	w->eng = r->eng;
	w->conn = r->conn;
	api_reply_stream(r, 200, "application/json", wait_read, w, wait_free);
}

static void rename_(struct api_request *r)
{
	berr e = {0};
	reply_done(r, eng_container_rename(r->eng, r->params[0], api_query(r, "name"), &e), &e);
}

static void prune(struct api_request *r)
{
	json_t *filters, *report;
	if (!api_query_filters(r, &filters))
		return;
	berr e = {0};
	if (eng_container_prune(r->eng, filters, &report, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, report);
	json_decref(filters);
	berr_clear(&e);
}

static void update(struct api_request *r)
{
	json_t *body = NULL;
	if (!api_body_json(r, false, &body))
		return;
	berr e = {0};
	int rc = eng_container_update(r->eng, r->params[0], body, &e);
	json_decref(body);
	if (rc < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	api_reply_json(r, 200, json_pack("{s:[]}", "Warnings"));
}

static void not_yet(struct api_request *r)
{
	api_reply_message(r, 501, "%s %s is not supported yet by berthd", r->method, r->path);
}

const struct api_route api_container_routes[] = {
    {"POST", "/containers/create", create, 0},
    {"GET", "/containers/json", list, 0},
    {"GET", "/containers/*/json", inspect, 0},
    {"POST", "/containers/*/start", start, 0},
    {"POST", "/containers/*/stop", stop, 0},
    {"POST", "/containers/*/restart", restart, 0},
    {"POST", "/containers/*/kill", kill_, 0},
    {"POST", "/containers/*/pause", pause_, 0},
    {"POST", "/containers/*/unpause", unpause, 0},
    {"POST", "/containers/*/wait", wait_, 0},
    {"DELETE", "/containers/*", remove_, 0},
    {"GET", "/containers/*/logs", api_container_logs, 0},
    {"POST", "/containers/*/attach", api_container_attach, 0},
    {"GET", "/containers/*/attach/ws", not_yet, 0},
    {"POST", "/containers/*/resize", api_container_resize, 0},
    {"POST", "/containers/*/update", update, 0},
    {"POST", "/containers/*/rename", rename_, 0},
    {"POST", "/containers/prune", prune, 0},
    {0},
};
