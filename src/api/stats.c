/*
 * GET /containers/{id}/stats: Docker's stats JSON, one object a second while the client reads
 * (stream, the default), or one object: after a second sample, so that precpu_stats is filled as
 * the docker CLI needs for its CPU %, or at once with one-shot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "engine/stats.h"

enum { STATS_INTERVAL_MS = 1000, STATS_NAP_MS = 100 };

struct stats_ctx {
	struct eng *eng;
	struct MHD_Connection *conn;
	char *name;
	bool stream;
	json_t *prev;
	char *pending; /* the JSON line being sent */
	size_t pending_len, pending_off;
	bool ended;
};

static void stats_free(void *cls)
{
	struct stats_ctx *s = cls;
	json_decref(s->prev);
	free(s->pending);
	free(s->name);
	free(s);
}

static void nap(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Wait for the next sample's time; false when the client went away or the daemon stops meanwhile. */
static bool wait_interval(struct stats_ctx *s)
{
	for (long waited = 0; waited < STATS_INTERVAL_MS; waited += STATS_NAP_MS) {
		if (api_client_gone(s->conn) || eng_shutting_down(s->eng))
			return false;
		nap(STATS_NAP_MS);
	}
	return true;
}

/* The next sample into s->pending; false when the stream ends. */
static bool next_sample(struct stats_ctx *s, berr *e)
{
	json_t *doc = NULL;
	if (eng_container_stats(s->eng, s->name, s->prev, &doc, e) < 0)
		return false;
	json_decref(s->prev);
	s->prev = doc;
	char *text = json_dumps(doc, JSON_COMPACT);
	free(s->pending);
	s->pending = NULL;
	if (!text || asprintf(&s->pending, "%s\n", text) < 0) {
		free(text);
		s->pending = NULL;
		return berr_set(e, ENOMEM, "stats") == 0;
	}
	free(text);
	s->pending_len = strlen(s->pending);
	s->pending_off = 0;
	return true;
}

static ssize_t stats_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stats_ctx *s = cls;
	if (s->pending_off == s->pending_len) {
		if (s->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		berr e = {0};
		bool more = wait_interval(s) && next_sample(s, &e);
		berr_clear(&e);
		if (!more)
			return pos == 0 ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
		if (!s->stream)
			s->ended = true;
	}
	size_t n = s->pending_len - s->pending_off;
	if (n > max)
		n = max;
	memcpy(buf, s->pending + s->pending_off, n);
	s->pending_off += n;
	return (ssize_t)n;
}

static void stats(struct api_request *r)
{
	bool stream = api_query_bool(r, "stream", true), one_shot = api_query_bool(r, "one-shot", false);
	if (stream && one_shot) {
		api_reply_message(r, 400, "cannot have stream=true and one-shot=true");
		return;
	}
	/* The first sample now: an unknown container is a 404, not an empty stream. */
	berr e = {0};
	json_t *first;
	if (eng_container_stats(r->eng, r->params[0], NULL, &first, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	struct stats_ctx *s = calloc(1, sizeof *s);
	if (!s || !(s->name = strdup(r->params[0]))) {
		free(s);
		json_decref(first);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	s->eng = r->eng;
	s->conn = r->conn;
	s->stream = stream;
	s->prev = first;
	bool running = strcmp(json_string_value(json_object_get(first, "read")), "0001-01-01T00:00:00Z") != 0;
	if (!stream && (one_shot || !running)) {
		/* One sample as it is: one-shot asked for no second one; a stopped container has nothing to compare. */
		s->prev = NULL;
		stats_free(s);
		api_reply_json(r, 200, first);
		return;
	}
	if (stream) {
		/* The first object goes out at once, with empty precpu_stats, as Docker's first one has. */
		char *text = json_dumps(first, JSON_COMPACT);
		if (!text || asprintf(&s->pending, "%s\n", text) < 0)
			s->pending = NULL;
		free(text);
		s->pending_len = s->pending ? strlen(s->pending) : 0;
	}
	api_reply_stream(r, 200, "application/json", stats_read, s, stats_free);
}

const struct api_route api_stats_routes[] = {
    {"GET", "/containers/*/stats", stats, 0},
    {0},
};
